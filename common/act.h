/* SPDX-License-Identifier: Apache-2.0 */
/* What an activation request and its completion carry through the queue.
 * A payload is one line of JSON metadata, a newline, then the JSON value
 * (request: the action's parameters; completion: the action's result),
 * byte for byte as received. The invoker parses only the small metadata
 * line and splices the value into the /run body without re-encoding it, so
 * a 1 MiB payload is never parsed or printed on the way.
 *
 * Request metadata: {"activationId","transactionId","namespace" (invoking),
 *   "action":{"path" (namespace[/package]),"name","version","rev","kind",
 *             "image","main","binary","code" or "codeFile","env"{init params},
 *             "limits":{"timeout" ms,"memory" MB,"logs" MB}},
 *   "apiKey" (optional),"arrival" (epoch ms at the controller)}
 * The controller sends "codeFile" (a file under state_dir it wrote once per
 * action revision) rather than the code, so warm invocations carry no code
 * at all and code size is not bound by the queue's payload limit.
 * Completion metadata: {"statusCode" 0-3,"start","end","waitTime","initTime"
 *   (only when /init ran),"timeout" (bool),"container","logs":[...]}, plus
 *   "partial": true on an early result (logs follow) and "logsOnly": true
 *   on the completion that carries only the logs. */
#ifndef EW_ACT_H
#define EW_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/json.h"

/* The payload budget, one rule for both directions. A queue payload
 * carries the value (parameters or result) plus its metadata line; the
 * queue's payload size is the largest parameters a request may have
 * (limits.payload_bytes, queue.max_payload_bytes) plus ACT_META_HEADROOM
 * for the metadata. A result may use all but ACT_RESULT_META_RESERVE of
 * the parameter size (and at most ACT_RESULT_MAX, OpenWhisk's limit): the
 * completion's metadata and logs share the rest, logs cut to fit. */
#define ACT_META_HEADROOM (64u * 1024)
#define ACT_RESULT_META_RESERVE (16u * 1024)
#define ACT_RESULT_MAX (1024u * 1024)

struct act_budget {
	uint32_t queue_payload;      /* bytes a queue payload may hold (queue_params.max_payload) */
	uint32_t result_max;         /* bytes an action's result may have */
};

/* The budget for parameters of at most max_value_bytes. -EINVAL when the
 * queue payload would not fit in 32 bits. */
int act_budget_of(uint64_t max_value_bytes, struct act_budget *b) __attribute__((warn_unused_result));

enum act_status {
	ACT_SUCCESS = 0,
	ACT_APPLICATION_ERROR = 1,
	ACT_DEVELOPER_ERROR = 2,
	ACT_WHISK_ERROR = 3,
};

struct act_request {
	cJSON *meta;                 /* owned; every string below borrows from it */
	const char *activation_id;
	const char *transaction_id;
	const char *namespace;       /* invoking namespace */
	const char *path;            /* action's namespace[/package] */
	const char *name;
	const char *version;
	const char *rev;
	const char *kind;
	const char *image;
	const char *main;
	const char *code;            /* inline code, or NULL */
	const char *code_file;       /* or a file holding it, read at /init only */
	const char *api_key;         /* may be NULL */
	bool binary;
	const cJSON *env;            /* init parameters, object or NULL */
	uint64_t timeout_ms, memory_mb, logs_mb;
	uint64_t arrival_ms;
	const char *value;           /* points into the payload, not NUL-terminated */
	size_t value_len;
};

/* Encode a request from r's fields (r->meta and the value are not read):
 * the metadata line, then '\n', then value[0..value_len) as it is.
 * Optional fields (transaction_id, rev, main, code or code_file, env,
 * api_key) are left out when NULL, arrival when 0. malloc'd payload of
 * *len_out bytes (NUL after it), or NULL on ENOMEM. */
char *act_request_encode(const struct act_request *r, const char *value, size_t value_len,
			 size_t *len_out);

/* Just the metadata line of act_request_encode (no newline), for a caller
 * that frames it into its own buffer with act_payload_write. */
char *act_request_meta_encode(const struct act_request *r, size_t *len_out);

/* Framing: a payload is meta, '\n', value. act_payload_len is its size;
 * act_payload_write writes it to dst (act_payload_len bytes, no NUL). */
size_t act_payload_len(size_t meta_len, size_t value_len);
void act_payload_write(char *dst, const char *meta, size_t meta_len, const char *value,
		       size_t value_len);

/* Parse a request payload. -EINVAL with the reason for a missing or mistyped
 * field. The payload must outlive the request (value points into it). */
int act_request_parse(const char *payload, size_t len, struct act_request *r, struct err *e)
	__attribute__((warn_unused_result));
void act_request_fini(struct act_request *r);

/* The pool key of the request's action: "path/name@version#rev". */
int act_request_key(const struct act_request *r, char *buf, size_t size);

/* Split a payload at the first newline into metadata and value. -EINVAL
 * when there is no newline. */
int act_payload_split(const char *payload, size_t len, size_t *meta_len, const char **value,
		      size_t *value_len);

/* A completion being built by the invoker or read by the controller. */
struct act_result {
	enum act_status status;
	uint64_t start_ms, end_ms, wait_ms, init_ms;
	bool has_init, timeout;
	bool partial;                /* early result: the logs follow in a second completion */
	bool logs_only;              /* the second completion: only logs count */
	char container[128];         /* container name ("" when none ran) */
	cJSON *logs;                 /* array of strings; owned by whoever built/parsed it */
	const char *result;          /* JSON object text, not NUL-terminated */
	size_t result_len;
};

/* Encode: malloc'd payload (*len_out). NULL on ENOMEM. */
char *act_result_encode(const struct act_result *r, size_t *len_out);

/* Encode within max bytes: when the logs make the payload larger, keep as
 * many first lines as fit (O(log n) encodings) and a last line saying the
 * rest was cut; r->logs is replaced by the kept lines (r owns them as
 * before). NULL with -EMSGSIZE in *rc when even no logs do not fit,
 * -ENOMEM. */
char *act_result_encode_within(struct act_result *r, size_t max, size_t *len_out, int *rc);

/* Decode a completion payload; r->logs is the caller's (act_result_fini),
 * r->result points into the payload. */
int act_result_parse(const char *payload, size_t len, struct act_result *r, struct err *e)
	__attribute__((warn_unused_result));
void act_result_fini(struct act_result *r);

#endif
