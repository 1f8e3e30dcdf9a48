/* SPDX-License-Identifier: Apache-2.0 */
/* Docker Engine API client (see docker.h): one libcurl easy handle per
 * struct docker speaking HTTP/1.1 over the daemon's unix socket, reset but
 * never re-created between requests so its connection cache keeps the socket
 * open. Bodies are buffered up to DOCKER_RESP_MAX; logs stream through the
 * demuxer instead. The only file that knows libcurl. Not thread-safe: one
 * struct docker per thread. */
#include "invoker/docker.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/json.h"
#include "common/log.h"
#include "common/cleanup.h"

#include "invoker/docker_impl.h"

/* --- pure parsers --------------------------------------------------------- */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Copy src[0..n) into msg trimmed, control bytes as spaces (one log line),
 * truncated to fit without cutting a UTF-8 sequence in half. */
void docker_copy_message(char *msg, size_t msg_size, const char *src, size_t n)
{
	size_t i;

	while (n > 0 && is_space((unsigned char)src[0])) {
		src++;
		n--;
	}
	while (n > 0 && is_space((unsigned char)src[n - 1]))
		n--;
	if (n > msg_size - 1) {
		n = msg_size - 1;
		/* src[n] is the first byte left out; if it continues a
		 * sequence, leave out that sequence's start as well. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		msg[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	msg[n] = '\0';
}

void docker_parse_error(const char *body, size_t len, char *msg, size_t msg_size)
{
	_cleanup_json_ cJSON *root = NULL;
	const char *m;

	if (!msg || msg_size == 0)
		return;
	msg[0] = '\0';
	if (!body || len == 0)
		return;
	if (json_parse(body, len, &root, NULL) == 0 && (m = json_get_string(root, "message"))) {
		docker_copy_message(msg, msg_size, m, strlen(m));
		return;
	}
	docker_copy_message(msg, msg_size, body, len);
}

static enum docker_state state_parse(const cJSON *state)
{
	static const struct {
		const char *name;
		enum docker_state state;
	} names[] = {
		{ "created", DOCKER_STATE_CREATED },       { "running", DOCKER_STATE_RUNNING },
		{ "paused", DOCKER_STATE_PAUSED },         { "restarting", DOCKER_STATE_RESTARTING },
		{ "exited", DOCKER_STATE_EXITED },         { "dead", DOCKER_STATE_DEAD },
		{ "removing", DOCKER_STATE_REMOVING },
	};
	const char *status = json_get_string(state, "Status");

	if (status) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(status, names[i].name) == 0)
				return names[i].state;
		return DOCKER_STATE_UNKNOWN;
	}
	/* Daemons before API 1.21 had no Status, only the flags. A paused
	 * container is also Running, so Paused goes first. */
	if (json_get_bool(state, "Paused", false))
		return DOCKER_STATE_PAUSED;
	if (json_get_bool(state, "Restarting", false))
		return DOCKER_STATE_RESTARTING;
	if (json_get_bool(state, "Running", false))
		return DOCKER_STATE_RUNNING;
	if (json_get_bool(state, "Dead", false))
		return DOCKER_STATE_DEAD;
	return DOCKER_STATE_UNKNOWN;
}

/* "49153" -> 49153; 0 for anything that is not a port. */
static uint16_t port_parse(const char *s)
{
	unsigned v = 0;

	if (!s || !*s || strlen(s) > 5)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned)(*s - '0');
	}
	return v <= 65535 ? (uint16_t)v : 0;
}

static uint16_t loopback_port(const cJSON *list)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, list) {
		const char *ip = json_get_string(b, "HostIp");

		if (ip && strcmp(ip, "127.0.0.1") == 0)
			return port_parse(json_get_string(b, "HostPort"));
	}
	return 0;
}

/* NetworkSettings.Ports["<port>/tcp"]: the binding on 127.0.0.1, or the
 * only binding there is. Bridge mode on a dual-stack daemon lists 0.0.0.0
 * and :: separately; we never ask for those, so several bindings without a
 * loopback one are not ours to guess from. Port 0: the first TCP port bound
 * on 127.0.0.1, which is the one docker_container_create published. */
static uint16_t host_port_parse(const cJSON *root, uint16_t published_port)
{
	const cJSON *ports = json_get_object(json_get_object(root, "NetworkSettings"), "Ports");
	const cJSON *list;
	char key[16];
	uint16_t port;

	if (!ports)
		return 0;
	if (published_port == 0) {
		cJSON_ArrayForEach(list, ports) {
			size_t n = list->string ? strlen(list->string) : 0;

			if (n > 4 && strcmp(list->string + n - 4, "/tcp") == 0 &&
			    cJSON_IsArray(list) && (port = loopback_port(list)) != 0)
				return port;
		}
		return 0;
	}
	snprintf(key, sizeof(key), "%u/tcp", (unsigned)published_port);
	list = json_get_array(ports, key);
	if (!list)
		return 0;
	port = loopback_port(list);
	if (port != 0)
		return port;
	if (cJSON_GetArraySize(list) == 1)
		return port_parse(json_get_string(cJSON_GetArrayItem(list, 0), "HostPort"));
	return 0;
}

int docker_parse_inspect(const char *json, size_t len, uint16_t published_port,
			 struct docker_inspect *out)
{
	_cleanup_json_ cJSON *root = NULL;
	struct docker_inspect r;
	const cJSON *state;
	const char *id, *log_path;
	int64_t v;

	/* Valid JSON never holds a NUL byte; cJSON would take one inside a
	 * string and hand back the string cut there. */
	if (!json || !out || memchr(json, '\0', len) || json_parse(json, len, &root, NULL) < 0)
		return -EPROTO;
	id = json_get_string(root, "Id");
	state = json_get_object(root, "State");
	if (!id || !*id || strlen(id) >= DOCKER_ID_MAX || !state)
		return -EPROTO;

	memset(&r, 0, sizeof(r));
	memcpy(r.id, id, strlen(id) + 1);
	r.state = state_parse(state);
	r.oom_killed = json_get_bool(state, "OOMKilled", false);
	if (json_get_i64(state, "ExitCode", &v) == 0 && v >= INT_MIN && v <= INT_MAX)
		r.exit_code = (int)v;
	if (json_get_i64(state, "Pid", &v) == 0 && v > 0 && v <= INT_MAX)
		r.pid = (int)v;
	r.host_port = host_port_parse(root, published_port);
	/* A cut path would name another file: too long means unknown. */
	log_path = json_get_string(root, "LogPath");
	if (log_path && strlen(log_path) < sizeof(r.log_path))
		memcpy(r.log_path, log_path, strlen(log_path) + 1);
	*out = r;
	return 0;
}

int docker_log_demux_feed(struct docker_log_demux *st, const char *data, size_t len,
			  docker_log_fn cb, void *arg)
{
	while (len > 0) {
		size_t take;

		if (st->frame_left == 0) {
			take = sizeof(st->hdr) - st->hdr_have;
			if (take > len)
				take = len;
			memcpy(st->hdr + st->hdr_have, data, take);
			st->hdr_have += take;
			data += take;
			len -= take;
			if (st->hdr_have < sizeof(st->hdr))
				break;
			st->hdr_have = 0;
			/* stdin 0, stdout 1, stderr 2, daemon error 3; three
			 * zero bytes; big-endian length (moby pkg/stdcopy). */
			if (st->hdr[0] > 3 || st->hdr[1] || st->hdr[2] || st->hdr[3])
				return -EPROTO;
			st->stream = st->hdr[0];
			st->frame_left = (size_t)st->hdr[4] << 24 | (size_t)st->hdr[5] << 16 |
					 (size_t)st->hdr[6] << 8 | (size_t)st->hdr[7];
			continue;
		}
		take = st->frame_left < len ? st->frame_left : len;
		if (cb) {
			int rc = cb(arg, st->stream, data, take);

			if (rc != 0)
				return rc;
		}
		st->frame_left -= take;
		data += take;
		len -= take;
	}
	return 0;
}

/* --- transport ------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	/* Never cleaned up: other handles may live until exit. */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int docker_open(const char *socket_path, struct docker **out, struct err *e)
{
	struct docker *d;
	struct curl_slist *h;

	if (!socket_path || !*socket_path)
		return err_set(e, -EINVAL, "docker socket path is empty");
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return err_set(e, -ENOMEM, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
	d = calloc(1, sizeof(*d));
	if (!d)
		return err_set(e, -ENOMEM, "docker client: out of memory");
	d->socket_path = strdup(socket_path);
	d->curl = curl_easy_init();
	/* "Expect:" stops curl from waiting for 100-continue on big bodies. */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h) {
		struct curl_slist *h2 = curl_slist_append(h, "Expect:");

		if (!h2) {
			curl_slist_free_all(h);
			h = NULL;
		}
	}
	d->json_headers = h;
	if (!d->socket_path || !d->curl || !d->json_headers) {
		docker_close(d);
		return err_set(e, -ENOMEM, "docker client: out of memory");
	}
	*out = d;
	return 0;
}

void docker_close(struct docker *d)
{
	if (!d)
		return;
	if (d->curl)
		curl_easy_cleanup(d->curl);
	curl_slist_free_all(d->json_headers);
	free(d->socket_path);
	free(d->buf);
	free(d);
}

static int buf_append(struct docker *d, const char *p, size_t n)
{
	size_t cap;
	char *nb;

	if (n > DOCKER_RESP_MAX - d->len) {
		d->too_big = true;
		return -1;
	}
	if (d->len + n + 1 > d->cap) {
		cap = d->cap ? d->cap : 4096;
		while (cap < d->len + n + 1)
			cap *= 2;
		if (cap > DOCKER_RESP_MAX + 1)
			cap = DOCKER_RESP_MAX + 1;
		nb = realloc(d->buf, cap);
		if (!nb) {
			d->oom = true;
			return -1;
		}
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	d->buf[d->len] = '\0';
	return 0;
}

/* The daemon's stream 3 is an error it hit while sending logs (moby
 * stdcopy's Systemerr); keep its start for the error message. */
static int logs_frame(void *arg, int stream, const char *data, size_t len)
{
	struct docker *d = arg;
	int rc;

	if (stream == 3) {
		size_t room = sizeof(d->syserr) - 1 - d->syserr_len;

		if (len > room)
			len = room;
		memcpy(d->syserr + d->syserr_len, data, len);
		d->syserr_len += len;
		d->syserr[d->syserr_len] = '\0';
		return 0;
	}
	if (stream != 1 && stream != 2)
		return 0;
	rc = d->log_cb(d->log_arg, stream, data, len);
	if (rc != 0)
		d->user_rc = rc;
	return rc;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct docker *d = arg;
	size_t n = size * nmemb;
	int rc;

	if (d->mode == BODY_LOGS) {
		long status = 0;

		/* The status line is in by the first body byte; an error answer
		 * is plain JSON, not a multiplexed stream. */
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
		d->mode = status >= 200 && status < 300 ? BODY_DEMUX : BODY_BUFFER;
	}
	if (d->mode == BODY_DEMUX) {
		rc = docker_log_demux_feed(&d->demux, ptr, n, logs_frame, d);
		if (rc != 0) {
			d->stream_rc = rc;
			return 0;
		}
		return n;
	}
	return buf_append(d, ptr, n) < 0 ? 0 : n;
}

static int transport_error(struct docker *d, CURLcode cc, const struct request *r,
			   struct err *e)
{
	const char *detail = d->curl_err[0] ? d->curl_err : curl_easy_strerror(cc);
	long os_errno = 0;
	char eb[128];

	switch (cc) {
	case CURLE_WRITE_ERROR:
		if (d->user_rc)
			return err_set(e, d->user_rc < 0 ? d->user_rc : -ECANCELED,
				       "stopped by the log consumer (%d)", d->user_rc);
		if (d->stream_rc)
			return err_set(e, d->stream_rc < 0 ? d->stream_rc : -EPROTO,
				       "malformed multiplexed log stream");
		if (d->too_big)
			return err_set(e, -EPROTO, "docker answer larger than %zu bytes",
				       DOCKER_RESP_MAX);
		if (d->oom)
			return err_set(e, -ENOMEM, "out of memory reading the docker answer");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		return err_set(e, -ETIMEDOUT, "docker did not answer %s within %ld ms", r->method,
			       r->timeout_ms);
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &os_errno);
		if (os_errno <= 0 || os_errno > 4095)
			os_errno = ECONNREFUSED;
		return err_set(e, -(int)os_errno, "docker socket %s: %s", d->socket_path,
			       strerror_r((int)os_errno, eb, sizeof(eb)));
	case CURLE_OUT_OF_MEMORY:
		return err_set(e, -ENOMEM, "docker request: %s", detail);
	default:
		break;
	}
	return err_set(e, -EPROTO, "docker socket %s: %s", d->socket_path, detail);
}

/* Send one request. On 0 the status is in *status_out and the body (unless
 * streamed) NUL-terminated in d->buf/d->len, whatever the status; a failure
 * below HTTP (socket, timeout, size, memory) returns its errno with a
 * message the caller wraps with what it was doing. */
int docker_perform(struct docker *d, const struct request *r, long *status_out,
			  struct err *e)
{
	CURL *c = d->curl;
	CURLcode cc;
	long status = 0;
	bool bad = false;

	if (d->cap > DOCKER_BUF_KEEP) {
		free(d->buf);
		d->buf = NULL;
		d->cap = 0;
	}
	d->len = 0;
	if (d->buf)
		d->buf[0] = '\0';
	d->too_big = d->oom = false;
	d->mode = r->logs ? BODY_LOGS : BODY_BUFFER;
	memset(&d->demux, 0, sizeof(d->demux));
	d->stream_rc = d->user_rc = 0;
	d->syserr_len = 0;
	d->syserr[0] = '\0';
	d->curl_err[0] = '\0';

	/* Reset forgets options, not the connection cache. */
	curl_easy_reset(c);
	bad |= curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket_path) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_URL, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, DOCKER_CONNECT_TIMEOUT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_err) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, d) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "edgewhisk-invoker") != CURLE_OK;
	if (strcmp(r->method, "POST") == 0) {
		bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "") != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)(r->body ? r->body_len : 0)) != CURLE_OK;
		if (r->body)
			bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, d->json_headers) != CURLE_OK;
	} else if (strcmp(r->method, "GET") != 0) {
		bad |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method) != CURLE_OK;
	}
	if (bad)
		return err_set(e, -ENOMEM, "docker request %s %s: cannot set curl options",
			       r->method, r->url);

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		return transport_error(d, cc, r, e);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*status_out = status;
	return 0;
}

static const char *body_of(const struct docker *d)
{
	return d->buf ? d->buf : "";
}

/* Docker's answer as an error: "<what>: docker <status>: <message>". */
int docker_status_fail(struct docker *d, int code, long status, const char *what,
		       struct err *e)
{
	char msg[ERR_MSG_MAX];

	docker_parse_error(body_of(d), d->len, msg, sizeof(msg));
	return err_set(e, code, "%s: docker %ld: %s", what, status, msg[0] ? msg : "(empty body)");
}

/* 409 means different things per endpoint: name in use for create, a state
 * conflict ("is not running", "is paused") for the lifecycle calls. */
int docker_status_errno(long status, int conflict)
{
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return conflict;
	default:
		return -EPROTO;
	}
}

bool docker_status_ok(long status)
{
	return status >= 200 && status < 300;
}

/* Container names and ids as Docker allows them ([a-zA-Z0-9][a-zA-Z0-9_.-]*),
 * which also keeps "/", "." and ".." path tricks out of the URL. */
bool docker_ref_is_valid(const char *ref)
{
	size_t n;

	if (!ref || !*ref)
		return false;
	n = strlen(ref);
	if (n > DOCKER_REF_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = ref[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* snprintf into a URL buffer; -EINVAL when it does not fit. */
int docker_url_build(char *url, size_t size, const char *what, struct err *e,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int docker_url_build(char *url, size_t size, const char *what, struct err *e,
		     const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(url, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return err_set(e, -EINVAL, "%s: request URL longer than %zu bytes", what, size);
	return 0;
}

/* Escape `s` for a URL path segment or query value; NULL on ENOMEM. */
char *docker_url_escape(struct docker *d, const char *s)
{
	return curl_easy_escape(d->curl, s, 0);
}

/* --- API calls ------------------------------------------------------------ */

int docker_ping(struct docker *d, struct err *e)
{
	const struct request r = { "GET", DOCKER_BASE_URL "/_ping", NULL, 0, DOCKER_TIMEOUT_MS,
				   false };
	long status;
	int rc;

	rc = docker_perform(d, &r, &status, e);
	if (rc < 0)
		return err_wrap(e, rc, "ping");
	if (status != 200 || strcmp(body_of(d), "OK") != 0)
		return docker_status_fail(d, -EPROTO, status, "ping", e);
	return 0;
}

static bool add_ok(const cJSON *item)
{
	return item != NULL;
}

/* A new object appended to `arr`; NULL on ENOMEM. */
static cJSON *add_object_to_array(cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddItemToArray(arr, o)) {
		json_delete(o);
		return NULL;
	}
	return o;
}

static int add_labels(cJSON *root, const char *const *labels)
{
	cJSON *obj = cJSON_AddObjectToObject(root, "Labels");

	if (!obj)
		return -ENOMEM;
	for (; labels && *labels; labels++) {
		const char *eq = strchr(*labels, '=');
		size_t klen = eq ? (size_t)(eq - *labels) : strlen(*labels);
		_cleanup_free_ char *key = strndup(*labels, klen);

		if (!key)
			return -ENOMEM;
		if (klen == 0 || cJSON_GetObjectItemCaseSensitive(obj, key))
			return -EINVAL;
		if (!add_ok(cJSON_AddStringToObject(obj, key, eq ? eq + 1 : "")))
			return -ENOMEM;
	}
	return 0;
}

static int add_string_array(cJSON *obj, const char *key, const char *const *strs)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);

	if (!arr)
		return -ENOMEM;
	for (; strs && *strs; strs++) {
		cJSON *s = cJSON_CreateString(*strs);

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			json_delete(s);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The whole create body; see docker_create_opts for each field's meaning.
 * Never any Binds, Mounts, Devices or Privileged. */
static int create_body(const struct docker_create_opts *o, char **out, struct err *e)
{
	static const char *const cap_drop[] = { "NET_RAW", "NET_ADMIN", NULL };
	static const char *const sec_opt[] = { "no-new-privileges", NULL };
	_cleanup_json_ cJSON *root = cJSON_CreateObject();
	const char *net = o->network_mode ? o->network_mode : "bridge";
	char port_key[16];
	cJSON *host, *x;
	bool ok;
	int rc;

	/* "host" or another container's namespace would bypass the
	 * loopback-only publish and expose the host's interfaces. */
	if (!*net || strcmp(net, "host") == 0 || strncmp(net, "container:", 10) == 0)
		return err_set(e, -EINVAL, "network mode \"%s\" is not allowed", net);
	/* cJSON numbers are doubles: exact up to 2^53, far above any RAM. */
	if (o->memory_bytes > ((uint64_t)1 << 53))
		return err_set(e, -EINVAL, "memory limit %" PRIu64 " bytes is out of range",
			       o->memory_bytes);
	if (!root)
		return err_set(e, -ENOMEM, "out of memory");
	snprintf(port_key, sizeof(port_key), "%u/tcp", (unsigned)o->publish_port);

	ok = add_ok(cJSON_AddStringToObject(root, "Image", o->image));
	if (ok && o->env)
		ok = add_string_array(root, "Env", o->env) == 0;
	if (ok) {
		rc = add_labels(root, o->labels);
		if (rc == -EINVAL)
			return err_set(e, rc, "empty or duplicate label key");
		ok = rc == 0;
	}
	if (ok && o->publish_port)
		ok = add_ok(x = cJSON_AddObjectToObject(root, "ExposedPorts")) &&
		     add_ok(cJSON_AddObjectToObject(x, port_key));

	ok = ok && add_ok(host = cJSON_AddObjectToObject(root, "HostConfig"));
	if (ok && o->memory_bytes)
		ok = add_ok(cJSON_AddNumberToObject(host, "Memory", (double)o->memory_bytes)) &&
		     add_ok(cJSON_AddNumberToObject(host, "MemorySwap", (double)o->memory_bytes));
	if (ok && o->pids_limit)
		ok = add_ok(cJSON_AddNumberToObject(host, "PidsLimit", o->pids_limit));
	if (ok && o->cpu_shares)
		ok = add_ok(cJSON_AddNumberToObject(host, "CpuShares", o->cpu_shares));
	ok = ok && add_ok(cJSON_AddStringToObject(host, "NetworkMode", net));
	if (ok && o->publish_port) {
		cJSON *pb, *list, *bind;

		/* Empty HostPort = the daemon picks a free one; loopback only,
		 * so actions are never reachable from the network. */
		ok = add_ok(pb = cJSON_AddObjectToObject(host, "PortBindings")) &&
		     add_ok(list = cJSON_AddArrayToObject(pb, port_key)) &&
		     add_ok(bind = add_object_to_array(list)) &&
		     add_ok(cJSON_AddStringToObject(bind, "HostIp", "127.0.0.1")) &&
		     add_ok(cJSON_AddStringToObject(bind, "HostPort", ""));
	}
	ok = ok && add_string_array(host, "CapDrop", cap_drop) == 0 &&
	     add_string_array(host, "SecurityOpt", sec_opt) == 0;
	if (ok && o->nofile) {
		cJSON *ul, *u;

		ok = add_ok(ul = cJSON_AddArrayToObject(host, "Ulimits")) &&
		     add_ok(u = add_object_to_array(ul)) &&
		     add_ok(cJSON_AddStringToObject(u, "Name", "nofile")) &&
		     add_ok(cJSON_AddNumberToObject(u, "Soft", o->nofile)) &&
		     add_ok(cJSON_AddNumberToObject(u, "Hard", o->nofile));
	}
	if (ok) {
		cJSON *lc;

		ok = add_ok(lc = cJSON_AddObjectToObject(host, "LogConfig")) &&
		     add_ok(cJSON_AddStringToObject(lc, "Type", "json-file")) &&
		     add_ok(cJSON_AddObjectToObject(lc, "Config"));
	}
	if (!ok || !(*out = json_print(root, NULL)))
		return err_set(e, -ENOMEM, "out of memory");
	return 0;
}

static void create_warnings(struct docker *d, const cJSON *root, const char *what)
{
	const cJSON *w;

	/* e.g. "Your kernel does not support swap limit capabilities": the
	 * limit is then weaker than asked, which an operator should know. */
	cJSON_ArrayForEach(w, json_get_array(root, "Warnings")) {
		if (!cJSON_IsString(w) || !*w->valuestring)
			continue;
		if (!d->warned)
			log_warn("docker", "%s: docker warns: %s", what, w->valuestring);
		else
			log_debug("docker", "%s: docker warns: %s", what, w->valuestring);
	}
	if (cJSON_GetArraySize(json_get_array(root, "Warnings")) > 0)
		d->warned = true;
}

int docker_container_create(struct docker *d, const struct docker_create_opts *o,
			    char id_out[DOCKER_ID_MAX], struct err *e)
{
	char what[DOCKER_WHAT_MAX], url[DOCKER_URL_MAX];
	_cleanup_json_str_ char *body = NULL;
	_cleanup_curl_str_ char *esc = NULL;
	_cleanup_json_ cJSON *root = NULL;
	struct request r = { "POST", url, NULL, 0, DOCKER_TIMEOUT_MS, false };
	const char *id;
	long status;
	int rc;

	if (!o)
		return err_set(e, -EINVAL, "create container: no options");
	snprintf(what, sizeof(what), "create container %s", o->name ? o->name : "(unnamed)");
	if (o->name && !docker_ref_is_valid(o->name))
		return err_set(e, -EINVAL, "%s: invalid container name", what);
	if (!o->image || !*o->image)
		return err_set(e, -EINVAL, "%s: no image", what);
	rc = create_body(o, &body, e);
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	r.body = body;
	r.body_len = strlen(body);
	if (o->name) {
		esc = docker_url_escape(d, o->name);
		if (!esc)
			return err_set(e, -ENOMEM, "%s: out of memory", what);
		rc = docker_url_build(url, sizeof(url), what, e, DOCKER_BASE_URL "/containers/create?name=%s",
			       esc);
	} else {
		rc = docker_url_build(url, sizeof(url), what, e, DOCKER_BASE_URL "/containers/create");
	}
	if (rc < 0)
		return rc;

	rc = docker_perform(d, &r, &status, e);
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	if (!docker_status_ok(status))
		return docker_status_fail(d, docker_status_errno(status, -EEXIST), status, what, e);
	if (json_parse(body_of(d), d->len, &root, NULL) < 0 || !(id = json_get_string(root, "Id")) ||
	    !*id || strlen(id) >= DOCKER_ID_MAX)
		return err_set(e, -EPROTO, "%s: docker %ld: answer without an Id", what, status);
	create_warnings(d, root, what);
	memcpy(id_out, id, strlen(id) + 1);
	return 0;
}

/* POST /containers/{id}/<verb>[?query] with an empty body. */
int docker_container_post(struct docker *d, const char *id, const char *verb, const char *query,
			  long timeout_ms, const char *what, long *status, struct err *e)
{
	char url[DOCKER_URL_MAX];
	_cleanup_curl_str_ char *esc = NULL;
	struct request r = { "POST", url, NULL, 0, timeout_ms, false };
	int rc;

	if (!docker_ref_is_valid(id))
		return err_set(e, -EINVAL, "%s: invalid container id", what);
	esc = docker_url_escape(d, id);
	if (!esc)
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	rc = docker_url_build(url, sizeof(url), what, e, DOCKER_BASE_URL "/containers/%s/%s%s%s", esc,
		       verb, query ? "?" : "", query ? query : "");
	if (rc < 0)
		return rc;
	rc = docker_perform(d, &r, status, e);
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	return 0;
}

static bool body_has(const struct docker *d, const char *needle)
{
	return strstr(body_of(d), needle) != NULL;
}

int docker_container_start(struct docker *d, const char *id, struct err *e)
{
	char what[DOCKER_WHAT_MAX];
	long status;
	int rc;

	snprintf(what, sizeof(what), "start container %s", id ? id : "(null)");
	rc = docker_container_post(d, id, "start", NULL, DOCKER_TIMEOUT_MS, what, &status, e);
	if (rc < 0)
		return rc;
	/* 304: already started. */
	if (docker_status_ok(status) || status == 304)
		return 0;
	return docker_status_fail(d, docker_status_errno(status, -EBUSY), status, what, e);
}

int docker_container_pause(struct docker *d, const char *id, struct err *e)
{
	char what[DOCKER_WHAT_MAX];
	long status;
	int rc;

	snprintf(what, sizeof(what), "pause container %s", id ? id : "(null)");
	rc = docker_container_post(d, id, "pause", NULL, DOCKER_PAUSE_TIMEOUT_MS, what, &status, e);
	if (rc < 0)
		return rc;
	/* 409 "Container ... is already paused" (daemon/pause.go). */
	if (docker_status_ok(status) || (status == 409 && body_has(d, "already paused")))
		return 0;
	return docker_status_fail(d, docker_status_errno(status, -EBUSY), status, what, e);
}

int docker_container_unpause(struct docker *d, const char *id, struct err *e)
{
	char what[DOCKER_WHAT_MAX];
	struct docker_inspect st;
	struct err ie;
	long status;
	int rc;

	snprintf(what, sizeof(what), "unpause container %s", id ? id : "(null)");
	rc = docker_container_post(d, id, "unpause", NULL, DOCKER_PAUSE_TIMEOUT_MS, what, &status, e);
	if (rc < 0)
		return rc;
	if (docker_status_ok(status))
		return 0;
	/* 20.10 answers "Container ... is not paused" with a 500, and says
	 * the same of a stopped one; only a running one is "already". */
	if (status != 404 && body_has(d, "is not paused")) {
		int code = docker_status_fail(d, -EBUSY, status, what, e);

		rc = docker_container_inspect(d, id, &st, &ie);
		if (rc == 0 && st.state == DOCKER_STATE_RUNNING) {
			err_clear(e);
			return 0;
		}
		return code;
	}
	return docker_status_fail(d, docker_status_errno(status, -EBUSY), status, what, e);
}

int docker_container_remove(struct docker *d, const char *id, struct err *e)
{
	char what[DOCKER_WHAT_MAX], url[DOCKER_URL_MAX];
	_cleanup_curl_str_ char *esc = NULL;
	struct request r = { "DELETE", url, NULL, 0, DOCKER_TIMEOUT_MS, false };
	long status;
	int rc;

	snprintf(what, sizeof(what), "remove container %s", id ? id : "(null)");
	if (!docker_ref_is_valid(id))
		return err_set(e, -EINVAL, "%s: invalid container id", what);
	esc = docker_url_escape(d, id);
	if (!esc)
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	rc = docker_url_build(url, sizeof(url), what, e,
		       DOCKER_BASE_URL "/containers/%s?force=true&v=true", esc);
	if (rc < 0)
		return rc;
	rc = docker_perform(d, &r, &status, e);
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	/* Gone already, or someone else's removal is under way. */
	if (docker_status_ok(status) || status == 404 ||
	    (status == 409 && body_has(d, "already in progress")))
		return 0;
	return docker_status_fail(d, docker_status_errno(status, -EBUSY), status, what, e);
}

static int container_inspect(struct docker *d, const char *id, uint16_t published_port,
			     struct docker_inspect *out, struct err *e)
{
	char what[DOCKER_WHAT_MAX], url[DOCKER_URL_MAX];
	_cleanup_curl_str_ char *esc = NULL;
	struct request r = { "GET", url, NULL, 0, DOCKER_TIMEOUT_MS, false };
	long status;
	int rc;

	snprintf(what, sizeof(what), "inspect container %s", id ? id : "(null)");
	if (!docker_ref_is_valid(id))
		return err_set(e, -EINVAL, "%s: invalid container id", what);
	esc = docker_url_escape(d, id);
	if (!esc)
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	rc = docker_url_build(url, sizeof(url), what, e, DOCKER_BASE_URL "/containers/%s/json", esc);
	if (rc < 0)
		return rc;
	rc = docker_perform(d, &r, &status, e);
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	if (status != 200)
		return docker_status_fail(d, docker_status_errno(status, -EBUSY), status, what, e);
	if (docker_parse_inspect(body_of(d), d->len, published_port, out) < 0)
		return err_set(e, -EPROTO, "%s: docker 200: not an inspect document", what);
	return 0;
}

/* No published port in the signature: the loopback binding is the one
 * create made (see host_port_parse). */
int docker_container_inspect(struct docker *d, const char *id, struct docker_inspect *out,
			     struct err *e)
{
	return container_inspect(d, id, 0, out, e);
}

int docker_container_list(struct docker *d, const char *label, char (**ids_out)[DOCKER_ID_MAX],
			  size_t *count_out, struct err *e)
{
	char what[DOCKER_WHAT_MAX], url[DOCKER_URL_MAX];
	_cleanup_json_str_ char *filter = NULL;
	_cleanup_curl_str_ char *esc = NULL;
	_cleanup_json_ cJSON *froot = NULL, *root = NULL;
	_cleanup_free_ char(*ids)[DOCKER_ID_MAX] = NULL;
	struct request r = { "GET", url, NULL, 0, DOCKER_TIMEOUT_MS, false };
	cJSON *labels, *item;
	const cJSON *c;
	size_t n = 0;
	long status;
	int rc;

	snprintf(what, sizeof(what), "list containers with label %s", label ? label : "(null)");
	if (!label || !*label)
		return err_set(e, -EINVAL, "%s: empty label", what);
	froot = cJSON_CreateObject();
	labels = froot ? cJSON_AddArrayToObject(froot, "label") : NULL;
	item = labels ? cJSON_CreateString(label) : NULL;
	if (!item || !cJSON_AddItemToArray(labels, item)) {
		json_delete(item);
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	}
	filter = json_print(froot, NULL);
	esc = filter ? docker_url_escape(d, filter) : NULL;
	if (!esc)
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	rc = docker_url_build(url, sizeof(url), what, e,
		       DOCKER_BASE_URL "/containers/json?all=true&filters=%s", esc);
	if (rc < 0)
		return rc;
	rc = docker_perform(d, &r, &status, e);
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	if (status != 200)
		return docker_status_fail(d, docker_status_errno(status, -EPROTO), status, what, e);
	if (json_parse(body_of(d), d->len, &root, NULL) < 0 || !cJSON_IsArray(root))
		return err_set(e, -EPROTO, "%s: docker 200: not a container list", what);
	if (cJSON_GetArraySize(root) > 0) {
		ids = calloc((size_t)cJSON_GetArraySize(root), sizeof(*ids));
		if (!ids)
			return err_set(e, -ENOMEM, "%s: out of memory", what);
	}
	cJSON_ArrayForEach(c, root) {
		const char *id = json_get_string(c, "Id");

		if (!id || !*id || strlen(id) >= DOCKER_ID_MAX)
			return err_set(e, -EPROTO, "%s: docker 200: entry without an Id", what);
		memcpy(ids[n++], id, strlen(id) + 1);
	}
	*ids_out = ids;
	ids = NULL;
	*count_out = n;
	return 0;
}

