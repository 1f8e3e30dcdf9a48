/* SPDX-License-Identifier: Apache-2.0 */
/* nng_uri_guard: strncpy keeps its exact semantics for every caller but
 * libnng, and a real nng HTTP server (tree handler on "/", as the API)
 * serves URIs whose path ends in a %-escape -- the input that overruns
 * libnng 1.5.2's decoder -- with the handler seeing the URI untouched.
 * Without the guard these requests corrupt the heap (caught under
 * valgrind, and as glibc aborts in the controller). */
#include "controller/nng_uri_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "tests/harness.h"

static void test_strncpy_semantics(void)
{
	char buf[8];
	/* Through a volatile pointer: the compiler must call the function. */
	char *(*volatile fn)(char *, const char *, size_t) = strncpy;

	CHECK_INT_EQ(nng_uri_guard_active(), 1);
	memset(buf, 'x', sizeof(buf));
	fn(buf, "a%2e", sizeof(buf));
	CHECK(memcmp(buf, "a%2e\0\0\0\0", 8) == 0); /* padded, '%' kept */
	memset(buf, 'x', sizeof(buf));
	fn(buf, "abcdefghij", 4);
	CHECK(memcmp(buf, "abcdxxxx", 8) == 0);     /* no NUL when truncated */
	fn(buf, "", 0);
	CHECK(buf[0] == 'a');
}

static char seen[512];

static void handler(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_res *res = NULL;

	snprintf(seen, sizeof(seen), "%s", nng_http_req_get_uri(req));
	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_header(res, "Content-Length", "0");
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

/* One request on a fresh connection; the status, or -1. */
static int get(uint16_t port, const char *uri)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };
	char req[600], resp[256];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", uri);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, strlen(req)) == (ssize_t)strlen(req) &&
	    (n = read(fd, resp, sizeof(resp) - 1)) > 12) {
		resp[n] = '\0';
		status = (int)strtol(resp + 9, NULL, 10);
	}
	close(fd);
	return status;
}

static void test_server_survives_trailing_escapes(void)
{
	static const char *const uris[] = {
		"/a%2e", "/api/v1/namespaces/_/actions/%2e%2e", "/x%41?q=1", "/%2F",
		"/a%41b%42", "/%00", "/p%2e%2e%2f%2e%2e",
	};
	nng_http_server *srv = NULL;
	nng_http_handler *h = NULL;
	nng_url *url = NULL;
	nng_sockaddr sa;

	REQUIRE(nng_url_parse(&url, "http://127.0.0.1:0") == 0);
	REQUIRE(nng_http_server_hold(&srv, url) == 0);
	REQUIRE(nng_http_handler_alloc(&h, "/", handler) == 0);
	REQUIRE(nng_http_handler_set_method(h, NULL) == 0);
	REQUIRE(nng_http_handler_set_tree(h) == 0);
	REQUIRE(nng_http_server_add_handler(srv, h) == 0);
	REQUIRE(nng_http_server_start(srv) == 0);
	REQUIRE(nng_http_server_get_addr(srv, &sa) == 0);
	for (int round = 0; round < 50; round++)
		for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
			seen[0] = '\0';
			CHECK_INT_EQ(get(ntohs(sa.s_in.sa_port), uris[i]), 200);
			CHECK_STR_EQ(seen, uris[i]);
		}
	nng_http_server_stop(srv);
	nng_http_server_release(srv);
	nng_url_free(url);
}

HARNESS_MAIN("nng_uri_guard", TEST_CASE(test_strncpy_semantics),
	     TEST_CASE(test_server_survives_trailing_escapes))
