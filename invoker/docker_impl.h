/* SPDX-License-Identifier: Apache-2.0 */
/* The Docker client's insides, shared by the files of this module only:
 * docker.c (the calls the invoker makes) and docker_extra.c (calls for
 * tests, benchmarks and diagnostics). libcurl stays behind these two. */
#ifndef EW_DOCKER_IMPL_H
#define EW_DOCKER_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "common/err.h"
#include "common/json.h"
#include "invoker/docker.h"
#include "invoker/docker_extra.h"

#define DOCKER_BASE_URL "http://localhost/" DOCKER_API_VERSION
#define DOCKER_RESP_MAX ((size_t)8 << 20)
/* A buffer grown past this by one big answer is dropped before the next
 * request, so a single 8 MiB listing does not stay resident. */
#define DOCKER_BUF_KEEP ((size_t)256 << 10)
#define DOCKER_CONNECT_TIMEOUT_MS 5000L
#define DOCKER_TIMEOUT_MS 60000L
/* Pause/unpause sit on the warm path; a freezer that takes longer than this
 * is wedged, and the caller should give up on the container. */
#define DOCKER_PAUSE_TIMEOUT_MS 10000L
#define DOCKER_URL_MAX 2048
#define DOCKER_WHAT_MAX 600
#define DOCKER_REF_MAX 255
#define DOCKER_IMAGE_MAX 512
#define DOCKER_SYSERR_MAX 256

enum body_mode {
	BODY_BUFFER,    /* keep the body in d->buf */
	BODY_LOGS,      /* logs request, HTTP status not seen yet */
	BODY_DEMUX,     /* logs request with a 2xx status: feed the demuxer */
};

struct docker {
	CURL *curl;
	char *socket_path;
	struct curl_slist *json_headers;
	char curl_err[CURL_ERROR_SIZE];

	/* The current response (BODY_BUFFER, or a logs error body). */
	char *buf;
	size_t len, cap;
	bool too_big, oom;

	/* Log streaming state of the current request. */
	enum body_mode mode;
	struct docker_log_demux demux;
	docker_log_fn log_cb;
	void *log_arg;
	int stream_rc;          /* what stopped the stream (demux or consumer) */
	int user_rc;            /* the consumer's own non-zero return */
	char syserr[DOCKER_SYSERR_MAX];
	size_t syserr_len;

	bool warned;            /* create warnings logged once per handle */
};

struct request {
	const char *method;     /* "GET", "POST" or "DELETE" */
	const char *url;
	const char *body;       /* JSON for POST; NULL sends an empty body */
	size_t body_len;
	long timeout_ms;
	bool logs;              /* stream a 2xx body through the log demuxer */
};

static inline void curl_freep(char **p)
{
	if (*p)
		curl_free(*p);
}
#define _cleanup_curl_str_ __attribute__((cleanup(curl_freep)))

static inline void json_strp(char **p)
{
	json_free(*p);
}
#define _cleanup_json_str_ __attribute__((cleanup(json_strp)))

/* One request on the handle; the body lands in d->buf (or the demuxer for
 * a logs request). *status_out is the HTTP status. Transport errors. */
int docker_perform(struct docker *d, const struct request *r, long *status_out, struct err *e);
/* Fail with Docker's message from the body: "<what>: docker <status>: msg". */
int docker_status_fail(struct docker *d, int code, long status, const char *what, struct err *e);
/* errno of an HTTP status (404 -ENOENT, 409 `conflict`, ...). */
int docker_status_errno(long status, int conflict);
bool docker_status_ok(long status);
/* Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]* for ids and names. */
bool docker_ref_is_valid(const char *ref);
int docker_url_build(char *url, size_t size, const char *what, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* curl-escaped copy (curl_free). NULL on ENOMEM. */
char *docker_url_escape(struct docker *d, const char *s);
/* POST /containers/{id}/{verb}[?query]. */
int docker_container_post(struct docker *d, const char *id, const char *verb, const char *query,
			  long timeout_ms, const char *what, long *status, struct err *e);
void docker_copy_message(char *msg, size_t msg_size, const char *src, size_t n);

#endif
