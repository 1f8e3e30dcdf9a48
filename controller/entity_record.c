/* SPDX-License-Identifier: Apache-2.0 */
/* Activation records (see entity.h): an action's record printed around
 * its result bytes, the logs spliced in later, trigger and sequence
 * records, list summaries, activation ids. */
#include "controller/entity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/jscan.h"
#include "common/now.h"

#include "controller/entity_impl.h"

/* ---- activations ---------------------------------------------------------- */

static const char *status_name(int code)
{
	switch (code) {
	case ACT_SUCCESS:
		return "success";
	case ACT_APPLICATION_ERROR:
		return "application error";
	case ACT_DEVELOPER_ERROR:
		return "action developer error";
	default:
		return "whisk internal error";
	}
}

/* Stand-ins printed where the result and the logs go: control bytes
 * never appear unescaped in JSON text, so each is found exactly once. */
#define RESULT_MARK "\x01"
#define LOGS_MARK "\x02"

static const char unreadable_result[] = "{\"error\":\"The action's result could not be read.\"}";

/* response without its result (a RESULT_MARK stands there); *result and
 * *result_len are what goes in its place. */
static int build_response(const struct act_result *res, cJSON **out, const char **result,
			  size_t *result_len, int *status_code, struct err *e)
{
	_cleanup_json_ cJSON *resp = NULL;
	int code = (int)res->status;

	if (code < ACT_SUCCESS || code > ACT_WHISK_ERROR)
		code = ACT_WHISK_ERROR;
	/* The result goes into the record as the bytes received: checked by
	 * the scanner, never parsed and printed again. */
	*result = res->result;
	*result_len = res->result_len;
	if (!res->result || !res->result_len || !json_is_value(res->result, res->result_len)) {
		/* The invoker sends JSON; anything else is our fault. */
		code = ACT_WHISK_ERROR;
		*result = unreadable_result;
		*result_len = sizeof(unreadable_result) - 1;
	}
	resp = cJSON_CreateObject();
	if (!resp || add_str(resp, "status", status_name(code)) < 0 ||
	    add_num(resp, "statusCode", code) < 0 || add_bool(resp, "success", code == 0) < 0 ||
	    add_item(resp, "result", cJSON_CreateRaw(RESULT_MARK)) < 0 ||
	    add_num(resp, "size", (double)*result_len) < 0)
		return enomem(e, "activation record");
	*status_code = code;
	*out = TAKE_PTR(resp);
	return 0;
}

/* Append {"key": key, "value": value}; takes `value` (NULL = ENOMEM). */
static int annotation_add(cJSON *arr, const char *key, cJSON *value)
{
	cJSON *it;

	if (!value)
		return -ENOMEM;
	it = cJSON_CreateObject();
	if (!it || add_str(it, "key", key) < 0) {
		cJSON_Delete(it);
		cJSON_Delete(value);
		return -ENOMEM;
	}
	if (add_item(it, "value", value) < 0) {
		cJSON_Delete(it);
		return -ENOMEM;
	}
	return arr_add(arr, it);
}

static int build_record_annotations(const struct entity_activation_info *info,
				    const struct act_result *res, cJSON **out)
{
	cJSON *arr = cJSON_CreateArray(), *limits = cJSON_CreateObject();
	size_t plen = strlen(info->path) + 1 + strlen(info->name) + 1;
	char *path = malloc(plen);
	int r = -ENOMEM;

	if (!arr || !limits || !path)
		goto out;
	snprintf(path, plen, "%s/%s", info->path, info->name);
	if (add_num(limits, "timeout", (double)info->timeout_ms) < 0 ||
	    add_num(limits, "memory", (double)info->memory_mb) < 0 ||
	    add_num(limits, "logs", (double)info->logs_mb) < 0 ||
	    add_num(limits, "concurrency", (double)info->concurrency) < 0)
		goto out;
	r = annotation_add(arr, "limits", limits);
	limits = NULL;   /* annotation_add owns it now, success or not */
	if (r < 0 || (r = annotation_add(arr, "path", cJSON_CreateString(path))) < 0 ||
	    (r = annotation_add(arr, "kind", cJSON_CreateString(info->kind))) < 0 ||
	    (r = annotation_add(arr, "timeout", cJSON_CreateBool(res->timeout))) < 0 ||
	    (r = annotation_add(arr, "waitTime", cJSON_CreateNumber((double)res->wait_ms))) < 0)
		goto out;
	if (res->has_init &&
	    (r = annotation_add(arr, "initTime", cJSON_CreateNumber((double)res->init_ms))) < 0)
		goto out;
	if (info->cause && (r = annotation_add(arr, "causedBy", cJSON_CreateString("sequence"))) < 0)
		goto out;
	*out = TAKE_PTR(arr);
	r = 0;
out:
	free(path);
	cJSON_Delete(limits);
	cJSON_Delete(arr);
	return r;
}

/* Print rec, which holds a RESULT_MARK and then a LOGS_MARK raw item,
 * with result (compacted) and logs in their places: skeleton | result |
 * skeleton | logs | skeleton. Sets the text and the two slices of *out. */
static int record_splice(const cJSON *rec, const char *result, size_t result_len, const char *logs,
		  size_t logs_len, struct entity_record *out, struct err *e)
{
	size_t skel_len = 0, o, mid, tail;
	char *skel = json_print(rec, &skel_len), *text = NULL;
	const char *rmark = skel ? memchr(skel, RESULT_MARK[0], skel_len) : NULL;
	const char *lmark = rmark ? memchr(rmark, LOGS_MARK[0], skel_len - (size_t)(rmark - skel))
				  : NULL;

	if (lmark)
		text = malloc(skel_len - 2 + result_len + logs_len + 1);
	if (!text) {
		json_free(skel);
		return enomem(e, "activation record");
	}
	o = (size_t)(rmark - skel);
	mid = (size_t)(lmark - rmark - 1);
	tail = skel_len - (size_t)(lmark + 1 - skel);
	memcpy(text, skel, o);
	out->result_at = o;
	out->result_len = jscan_copy_compact(result, result_len, text + o);
	o += out->result_len;
	memcpy(text + o, rmark + 1, mid);
	o += mid;
	out->logs_at = o;
	out->logs_len = logs_len;
	memcpy(text + o, logs, logs_len);
	o += logs_len;
	memcpy(text + o, lmark + 1, tail);
	o += tail;
	text[o] = '\0';
	json_free(skel);
	out->text = text;
	out->len = o;
	return 0;
}

int entity_record_print(const struct entity_activation_info *info, const struct act_result *res,
			struct entity_record *out, struct err *e)
{
	_cleanup_json_ cJSON *rec = NULL, *resp = NULL, *ann = NULL;
	const char *result, *logs = "[]";
	size_t result_len, logs_len = 2;
	char *printed = NULL;
	int r, code = ACT_WHISK_ERROR;

	memset(out, 0, sizeof(*out));
	if (!info->activation_id || !info->ns || !info->path || !info->name || !info->version ||
	    !info->kind)
		return err_set(e, -EINVAL, "activation record: activation info incomplete");
	r = build_response(res, &resp, &result, &result_len, &code, e);
	if (r < 0)
		return r;
	r = build_record_annotations(info, res, &ann);
	if (r < 0)
		return enomem(e, "activation record");
	rec = cJSON_CreateObject();
	if (!rec || add_str(rec, "namespace", info->ns) < 0 || add_str(rec, "name", info->name) < 0 ||
	    add_str(rec, "version", info->version) < 0 || add_str(rec, "subject", info->ns) < 0 ||
	    add_bool(rec, "publish", false) < 0 ||
	    add_str(rec, "activationId", info->activation_id) < 0 ||
	    add_num(rec, "start", (double)res->start_ms) < 0 ||
	    add_num(rec, "end", (double)res->end_ms) < 0 ||
	    add_num(rec, "duration",
		    res->end_ms > res->start_ms ? (double)(res->end_ms - res->start_ms) : 0) < 0 ||
	    (info->cause && add_str(rec, "cause", info->cause) < 0) ||
	    add_item(rec, "response", TAKE_PTR(resp)) < 0 ||
	    add_item(rec, "logs", cJSON_CreateRaw(LOGS_MARK)) < 0 ||
	    add_item(rec, "annotations", TAKE_PTR(ann)) < 0)
		return enomem(e, "activation record");
	if (cJSON_IsArray(res->logs)) {
		printed = json_print(res->logs, &logs_len);
		if (!printed)
			return enomem(e, "activation record");
		logs = printed;
	}
	r = record_splice(rec, result, result_len, logs, logs_len, out, e);
	json_free(printed);
	if (r < 0)
		return r;
	out->status_code = code;
	out->start_ms = res->start_ms;
	out->end_ms = res->end_ms;
	return 0;
}

/* While printing, an item stands in for its mark: its own content is set
 * aside and put back after, so the tree keeps its order and allocations. */
struct stand_in {
	cJSON *item;
	int type;
	char *valuestring;
	cJSON *child;
};

static void stand_in_set(struct stand_in *s, cJSON *item, const char *mark)
{
	s->item = item;
	s->type = item->type;
	s->valuestring = item->valuestring;
	s->child = item->child;
	item->type = cJSON_Raw | (item->type & cJSON_StringIsConst);
	item->valuestring = (char *)mark; /* read only while printing */
	item->child = NULL;
}

static void stand_in_undo(const struct stand_in *s)
{
	s->item->type = s->type;
	s->item->valuestring = s->valuestring;
	s->item->child = s->child;
}

int entity_record_of(cJSON *rec, struct entity_record *out, struct err *e)
{
	cJSON *resp = cJSON_GetObjectItemCaseSensitive(rec, "response");
	cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	cJSON *logs = cJSON_GetObjectItemCaseSensitive(rec, "logs");
	_cleanup_free_ char *rtext = NULL, *ltext = NULL;
	struct stand_in rs, ls;
	size_t rlen = 0, llen = 0;
	int64_t code = ACT_WHISK_ERROR;
	uint64_t start = 0, end = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(resp) || !result || !cJSON_IsArray(logs))
		return err_set(e, -EINVAL, "activation record: response.result or logs missing");
	(void)json_get_i64(resp, "statusCode", &code);
	(void)json_get_u64(rec, "start", &start);
	(void)json_get_u64(rec, "end", &end);
	rtext = json_print(result, &rlen);
	ltext = json_print(logs, &llen);
	if (!rtext || !ltext)
		return enomem(e, "activation record");
	stand_in_set(&rs, result, RESULT_MARK);
	stand_in_set(&ls, logs, LOGS_MARK);
	r = record_splice(rec, rtext, rlen, ltext, llen, out, e);
	stand_in_undo(&ls);
	stand_in_undo(&rs);
	if (r < 0)
		return r;
	out->status_code = code >= 0 && code <= ACT_WHISK_ERROR ? (int)code : ACT_WHISK_ERROR;
	out->start_ms = start;
	out->end_ms = end;
	return 0;
}

int entity_record_set_logs(struct entity_record *r, const cJSON *logs, struct err *e)
{
	_cleanup_free_ char *ltext = NULL;
	size_t llen = 0, tail;
	char *text;

	ltext = json_print(logs, &llen);
	if (!ltext)
		return enomem(e, "activation record logs");
	tail = r->len - r->logs_at - r->logs_len;
	text = malloc(r->logs_at + llen + tail + 1);
	if (!text)
		return enomem(e, "activation record logs");
	memcpy(text, r->text, r->logs_at);
	memcpy(text + r->logs_at, ltext, llen);
	memcpy(text + r->logs_at + llen, r->text + r->logs_at + r->logs_len, tail);
	text[r->logs_at + llen + tail] = '\0';
	free(r->text);
	r->text = text;
	r->len = r->logs_at + llen + tail;
	r->logs_len = llen;
	return 0;
}

void entity_record_fini(struct entity_record *r)
{
	if (!r)
		return;
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* statusCode of a record: response.statusCode, or from the status string
 * for records that do not carry it (upstream omits it). -1 = unknown. */
static int record_status_code(const cJSON *record)
{
	static const char *const names[] = { "success", "application error",
					     "action developer error", "whisk internal error" };
	const cJSON *resp = json_get_object(record, "response");
	const char *status = json_get_string(resp, "status");
	int64_t code;

	if (json_get_i64(resp, "statusCode", &code) == 0 && code >= 0 && code <= 3)
		return (int)code;
	for (int i = 0; status && i < 4; i++)
		if (strcmp(status, names[i]) == 0)
			return i;
	return -1;
}

cJSON *entity_activation_summary(const cJSON *record)
{
	static const char *const fields[] = { "namespace", "name", "version", "publish",
					      "annotations", "activationId", "start", "end",
					      "duration", "cause" };
	_cleanup_json_ cJSON *s = NULL;
	int code;

	if (!cJSON_IsObject(record))
		return NULL;
	s = cJSON_CreateObject();
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (copy_field(s, record, fields[i]) < 0)
			return NULL;
	code = record_status_code(record);
	if (code >= 0 && add_num(s, "statusCode", code) < 0)
		return NULL;
	return TAKE_PTR(s);
}

/* Last resort when the kernel gives no randomness: ids only need to be
 * unique, so mix the clock, the pid and a counter (splitmix64). */
static void weak_random(unsigned char *buf, size_t len)
{
	static unsigned counter;
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	x ^= (uint64_t)getpid() << 32 ^ (uint64_t)__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < len; i++) {
		uint64_t z;

		x += 0x9e3779b97f4a7c15ULL;
		z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		buf[i] = (unsigned char)(z ^ (z >> 31));
	}
}

static size_t urandom_fill(unsigned char *buf, size_t len)
{
	size_t got = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got;
}

void entity_activation_id(char out[33])
{
	unsigned char b[16];
	uint64_t ms = now_epoch_ms();
	size_t got = 6;

	/* The time first: records are keyed by id, and ids that grow with
	 * time append to the right edge of that index, so a batch of records
	 * shares its pages instead of touching one random page each. */
	for (int i = 5; i >= 0; i--, ms >>= 8)
		b[i] = (unsigned char)ms;
	/* GRND_NONBLOCK: early at boot (edge boards often lack entropy) the
	 * pool may not be ready; an id is not a key, /dev/urandom will do. */
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, GRND_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(b) && urandom_fill(b + 6, sizeof(b) - 6) < sizeof(b) - 6)
		weak_random(b + 6, sizeof(b) - 6);
	codec_hex_encode(b, sizeof(b), out);
}

/* ---- trigger and sequence activation records -------------------------------- */

static int record_head(cJSON *rec, const char *id, const char *ns, const char *name,
		       const char *version, uint64_t start)
{
	return add_str(rec, "namespace", ns) < 0 || add_str(rec, "name", name) < 0 ||
			       add_str(rec, "version", version ? version : "0.0.1") < 0 ||
			       add_str(rec, "subject", ns) < 0 || add_bool(rec, "publish", false) < 0 ||
			       add_str(rec, "activationId", id) < 0 ||
			       add_num(rec, "start", (double)start) < 0
		       ? -ENOMEM
		       : 0;
}

int entity_trigger_record(const char *id, const char *ns, const char *name, const char *version,
			  const char *payload, size_t payload_len, const cJSON *logs,
			  uint64_t start_ms, struct entity_record *out, struct err *e)
{
	_cleanup_json_ cJSON *rec = cJSON_CreateObject();
	cJSON *resp = cJSON_CreateObject();
	char *ltext = NULL;
	size_t llen = 2;
	int r;

	memset(out, 0, sizeof(*out));
	if (!rec || !resp || record_head(rec, id, ns, name, version, start_ms) < 0 ||
	    add_str(resp, "status", "success") < 0 || add_num(resp, "statusCode", 0) < 0 ||
	    add_bool(resp, "success", true) < 0 ||
	    add_item(resp, "result", cJSON_CreateRaw(RESULT_MARK)) < 0) {
		cJSON_Delete(resp);
		return enomem(e, "trigger activation");
	}
	if (add_item(rec, "response", resp) < 0 ||
	    add_item(rec, "logs", cJSON_CreateRaw(LOGS_MARK)) < 0 ||
	    add_item(rec, "annotations", cJSON_CreateArray()) < 0)
		return enomem(e, "trigger activation");
	if (logs && !(ltext = json_print(logs, &llen)))
		return enomem(e, "trigger activation");
	/* The payload goes in as the bytes received (checked by the caller). */
	if (!payload || !payload_len) {
		payload = "{}";
		payload_len = 2;
	}
	r = record_splice(rec, payload, payload_len, ltext ? ltext : "[]", llen, out, e);
	json_free(ltext);
	if (r == 0) {
		out->start_ms = out->end_ms = start_ms;
		out->status_code = 0;
	}
	return r;
}

int entity_sequence_record(const struct entity_activation_info *info, const cJSON *component_ids,
			   const cJSON *response, uint64_t start_ms, uint64_t end_ms,
			   uint64_t duration_ms, uint64_t wait_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *rec = cJSON_CreateObject(), *ann = cJSON_CreateArray();
	cJSON *limits = cJSON_CreateObject();
	size_t plen = strlen(info->path) + strlen(info->name) + 2;
	char *path = malloc(plen);
	int r = 0;

	if (!rec || !ann || !limits || !path) {
		cJSON_Delete(limits);
		free(path);
		return enomem(e, "sequence activation");
	}
	snprintf(path, plen, "%s/%s", info->path, info->name);
	if (add_num(limits, "timeout", (double)info->timeout_ms) < 0 ||
	    add_num(limits, "memory", (double)info->memory_mb) < 0 ||
	    add_num(limits, "logs", (double)info->logs_mb) < 0 ||
	    add_num(limits, "concurrency", 1) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = annotation_add(ann, "limits", limits);
	else
		cJSON_Delete(limits);
	if (r == 0)
		r = annotation_add(ann, "path", cJSON_CreateString(path));
	if (r == 0)
		r = annotation_add(ann, "kind", cJSON_CreateString(info->kind ? info->kind : "sequence"));
	if (r == 0)
		r = annotation_add(ann, "topmost", cJSON_CreateBool(!info->cause));
	if (r == 0)
		r = annotation_add(ann, "waitTime", cJSON_CreateNumber((double)wait_ms));
	if (r == 0 && info->cause)
		r = annotation_add(ann, "causedBy", cJSON_CreateString("sequence"));
	free(path);
	if (r < 0 || record_head(rec, info->activation_id, info->ns, info->name, info->version,
				 start_ms) < 0 ||
	    add_num(rec, "end", (double)end_ms) < 0 || add_num(rec, "duration", (double)duration_ms) < 0 ||
	    (info->cause && add_str(rec, "cause", info->cause) < 0) ||
	    add_item(rec, "response", cJSON_Duplicate(response, true)) < 0 ||
	    add_item(rec, "logs", cJSON_Duplicate(component_ids, true)) < 0 ||
	    add_item(rec, "annotations", TAKE_PTR(ann)) < 0)
		return enomem(e, "sequence activation");
	*out = TAKE_PTR(rec);
	return 0;
}
