/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: what the API derives from a request line and its headers
 * before touching any state: the URI's route (route_parse), its query
 * parameters (every typed getter the handlers use) and the Authorization
 * header (route_auth against the default guest key). The input is used
 * whole as the URI and as the header value; invariants of a successful
 * parse are checked, not just "no crash". */
#include "tests/fuzz/fuzz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "controller/route.h"

static const char *const query_keys[] = {
	"limit", "skip", "count", "docs", "since", "upto", "name", "blocking", "result",
	"timeout", "overwrite", "code", "",
};

static void check_route(const struct route *r)
{
	/* Fields are NUL-terminated within their arrays and hold valid names
	 * (activation ids are 32 hex chars, also valid names). */
	if (!memchr(r->ns, '\0', sizeof(r->ns)) || !memchr(r->package, '\0', sizeof(r->package)) ||
	    !memchr(r->name, '\0', sizeof(r->name)))
		abort();
	if (r->kind == ROUTE_NONE && (r->ns[0] || r->package[0] || r->name[0]))
		abort();
	if (r->name[0] && !name_is_valid(r->name))
		abort();
	if (r->package[0] && !name_is_valid(r->package))
		abort();
	if (r->package[0] && strcmp(r->package, "default") == 0)
		abort();
	/* A gateway route: a tenant that is a name but not the API's "v1",
	 * and a path that begins with '/'. */
	if (r->kind == ROUTE_GATEWAY &&
	    (!name_is_valid(r->ns) || strcmp(r->ns, "v1") == 0 || !r->web_path ||
	     r->web_path_len < 2 || r->web_path[0] != '/'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg c;
	static bool init;
	struct route r;
	struct err e = { 0 };
	char buf[NAME_SIZE * 2];
	char *s;

	if (!init) {
		cfg_defaults(&c);
		init = true;
	}
	s = fuzz_cstr(data, size);
	if (!s)
		return 0;
	if (route_parse(s, &r, &e) == 0)
		check_route(&r);
	else if (e.code >= 0 || !e.msg[0])
		abort(); /* a failure always carries its message */
	for (size_t i = 0; i < sizeof(query_keys) / sizeof(query_keys[0]); i++) {
		uint64_t u = 0;
		bool b = false;
		int rc = route_query_get(s, query_keys[i], buf, sizeof(buf));

		if (rc == 0 && !memchr(buf, '\0', sizeof(buf)))
			abort();
		(void)!route_query_u64(s, query_keys[i], 7, 0, 200, &u);
		if (u != 7 && u > 200)
			abort();
		(void)!route_query_bool(s, query_keys[i], false, &b);
	}
	(void)name_is_valid(s);
	{
		int k = route_auth(&c, s);

		if (k >= (int)c.key_count)
			abort();
	}
	free(s);
	return 0;
}
