/* SPDX-License-Identifier: Apache-2.0 */
/* OpenWhisk documents the controller builds: actions (PUT body -> stored
 * document, with OpenWhisk's validation, defaults, merge on overwrite and
 * server-added annotations) and activation records (from a completion).
 * Pure JSON logic through json.h, no I/O (unit-tested). */
#ifndef EW_ENTITY_H
#define EW_ENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/act.h"
#include "common/buf.h"
#include "common/cfg.h"
#include "common/err.h"
#include "common/json.h"
#include "controller/name.h"

/* Build the action document to store from a PUT body.
 *  ns: the real namespace ("guest", or "guest/pkg" for an action in a
 *      package), name: the action's short name.
 *  body: the parsed request body (an object; NULL = empty).
 *  old: the stored document when updating with overwrite=true, else NULL.
 * Rules (spec §2): exec required on create ("exec undefined"); kind must be
 * a configured kind, "<family>:default" resolves to the family's default,
 * "blackbox" needs "image"; "sequence" needs "components" (1 to
 * ENTITY_SEQUENCE_MAX names, stored fully qualified "/ns/[pkg/]name"
 * against the caller's namespace; existence is the caller's check);
 * `binary` computed from the code (base64 test), never taken from
 * the client; limits validated against cfg bounds with OpenWhisk's
 * messages and defaults filled; parameters/annotations must be arrays of
 * {"key": string, "value": any}; with `old`: absent fields keep old values,
 * limits merge per field, annotations merge by key, delAnnotations removes
 * keys, version = old version with patch + 1 unless given; new: version
 * "0.0.1", publish false. Server annotations: "provide-api-key": false on
 * create unless set by the client, "exec": <resolved kind> always.
 * `updated` = now_ms. Errors: -EINVAL with the message for the 400 body;
 * -E2BIG when exec code exceeds 48 MB or parameters/annotations exceed
 * 1 MB (message "<field> larger than allowed: <n> > <max> bytes.").
 * Details: a field that is JSON null counts as absent; given parameters
 * replace the old list whole (a repeated key: the last value wins, at the
 * first place); delAnnotations also drops keys given in the same body;
 * concurrency is fixed at 1 (max 1); versions are "major.minor.patch"
 * (decimal parts, stored normalised: "01.2.3" -> "1.2.3").
 * On success *out is the new document (caller frees). Pure and
 * thread-safe; body and old are not modified. */
int entity_action_build(const struct cfg *c, const char *ns, const char *name, const cJSON *body,
			const cJSON *old, uint64_t now_ms, cJSON **out, struct err *e)
	__attribute__((warn_unused_result));

/* The image of an action's kind: the configured image, or exec.image for
 * blackbox. NULL when the kind is not configured (any more). */
const char *entity_action_image(const struct cfg *c, const cJSON *action);

/* A copy of the document without exec.code (GET ?code=false). Caller
 * frees; NULL for a NULL action or on ENOMEM. */
cJSON *entity_action_without_code(const cJSON *action);

/* The summary shown in list responses (spec §2 List): namespace, name,
 * version, publish, annotations, limits, exec {"binary"}, updated. Caller
 * frees; NULL when action is not an object or on ENOMEM. */
cJSON *entity_action_summary(const cJSON *action);

/* Effective arguments of an invocation, as JSON text in *params: the
 * action's (or trigger's) parameters not marked "init": true, under the
 * body's members, which are copied as bytes (controller/args.h: no tree
 * of the body is built). Init parameters go to *init_env as a {"key":
 * value} object; as upstream, a body key naming an init parameter
 * overrides it there, not in *params. body NULL, empty or JSON null = {};
 * it must otherwise be one valid JSON object ("invoke parameters must be
 * a JSON object", -EINVAL) nested at most JSCAN_MAX_DEPTH - 12 levels,
 * so the envelopes it travels in stay within every hop's scanner ("The
 * arguments are nested too deeply: N levels, at most M.", -EINVAL). A body key that overrides a non-null
 * parameter of an action annotated "final": true (JSON true) -> -EINVAL
 * "Request defines parameters that are not allowed (e.g., reserved
 * properties).". -ENOMEM. Outputs are the caller's (buf_fini,
 * json_delete), written only on success. */
int entity_invoke_args(const cJSON *action, const char *body, size_t body_len,
		       struct buf *params, cJSON **init_env, struct err *e)
	__attribute__((warn_unused_result));

/* What the controller knows about an activation, to build its record. */
struct entity_activation_info {
	const char *activation_id;
	const char *ns;              /* invoking namespace (and subject) */
	const char *path;            /* action's namespace[/package] */
	const char *name;            /* action short name */
	const char *version;
	const char *kind;
	const char *cause;           /* the enclosing sequence's activation id, or NULL */
	uint64_t timeout_ms, memory_mb, logs_mb, concurrency;
};

/* An activation record as it is stored and answered: JSON text, and
 * where its result and its logs stand in it, so the result can be sent
 * alone and the logs filled in later without touching the result. */
struct entity_record {
	char *text;                  /* malloc'd, NUL-terminated; entity_record_fini */
	size_t len;
	size_t result_at, result_len; /* response.result within text */
	size_t logs_at, logs_len;    /* the "logs" array within text */
	int status_code;             /* response.statusCode */
	uint64_t start_ms, end_ms;
};

/* The activation record (spec §4) of a completion, printed. The result
 * (res->result, res->result_len) goes in as the bytes received, checked by
 * the scanner and compacted (never parsed into a tree): a non-JSON or empty
 * result becomes {"error": "The action's result could not be read."} with
 * statusCode 3. response.size is the result's byte length as received.
 * res->logs is printed (NULL -> []). -EINVAL when a string of info is
 * NULL; -ENOMEM. *out is written on success only. */
int entity_record_print(const struct entity_activation_info *info, const struct act_result *res,
			struct entity_record *out, struct err *e) __attribute__((warn_unused_result));

/* A record the controller built as a tree (a sequence's), printed the
 * same way. rec is changed while printing and restored. -EINVAL when
 * response.result or logs is missing, -ENOMEM. */
int entity_record_of(cJSON *rec, struct entity_record *out, struct err *e)
	__attribute__((warn_unused_result));

/* Put `logs` (an array) in place of the record's logs. -ENOMEM (the
 * record is unchanged). */
int entity_record_set_logs(struct entity_record *r, const cJSON *logs, struct err *e)
	__attribute__((warn_unused_result));

/* Free the text; accepts a zeroed record. */
void entity_record_fini(struct entity_record *r);

/* Activation list summary (docs=false, spec §4) of a full record, with a
 * top-level statusCode (from response.statusCode, else from
 * response.status). Caller frees; NULL when record is not an object or on
 * ENOMEM. */
cJSON *entity_activation_summary(const cJSON *record);

/* --- triggers, rules, packages, sequences (spec §5-§7) --- */

#define ENTITY_SEQUENCE_MAX 50      /* atomic actions in a sequence, nested ones inlined */

/* Documents from a PUT body (old = stored document when overwriting, else
 * NULL), sharing the action rules for version, publish, parameters,
 * annotations (no server annotations). Triggers: "limits": {}, the `rules`
 * map kept from old (never from the body), a "feed" annotation must be an
 * entity name ("Feed name is not valid"). Rules: "trigger" and "action"
 * strings (required on create, kept from old when absent) stored as
 * {"path": "ns[/pkg]", "name"}; a trigger cannot be in a package; "status"
 * is "active" (the body's status is ignored). Packages: "binding" {} or
 * {"namespace","name"} (kept from old when absent). -EINVAL with the
 * message, -E2BIG, -ENOMEM. */
int entity_trigger_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			 uint64_t now_ms, cJSON **out, struct err *e) __attribute__((warn_unused_result));
int entity_rule_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
		      uint64_t now_ms, cJSON **out, struct err *e) __attribute__((warn_unused_result));
int entity_package_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			 uint64_t now_ms, cJSON **out, struct err *e) __attribute__((warn_unused_result));
bool entity_package_is_binding(const cJSON *pkg);
/* Is annotation `key` of a document JSON true? */
bool entity_annotation_true(const cJSON *doc, const char *key);

/* List entry of a document of collection coll ("actions" "triggers"
 * "rules" "packages"): actions as entity_action_summary, rules whole,
 * others namespace/name/version/publish/annotations/updated, packages
 * with "binding": false or the binding. Caller frees; NULL on ENOMEM. */
cJSON *entity_summary(const char *coll, const cJSON *doc);

/* Add inherited parameters (a package's or a binding's, a parameters
 * array) to an action document in place, before its own: keys the action
 * already has are skipped. Call binding first, then package. -ENOMEM. */
int entity_params_inherit(cJSON *action, const cJSON *defaults) __attribute__((warn_unused_result));

/* The trigger activation record (spec §5), printed: response.result =
 * the payload, JSON object text spliced as bytes (compacted; NULL or
 * empty = {}), logs = one JSON string per rule (NULL = []), no
 * end/duration. -ENOMEM. *out is written on success only. */
int entity_trigger_record(const char *id, const char *ns, const char *name, const char *version,
			  const char *payload, size_t payload_len, const cJSON *logs,
			  uint64_t start_ms, struct entity_record *out, struct err *e)
	__attribute__((warn_unused_result));

/* The sequence activation record (spec §6): response = the last executed
 * component's response (copied), logs = the component ids, duration = the
 * sum of theirs, annotations limits/path/kind (info->kind, NULL =
 * "sequence")/topmost (no info->cause)/waitTime and causedBy when nested
 * (then "cause" too). A built-in action's record (invoke.h) is built the
 * same way, its kind "builtin", its logs its own lines. */
int entity_sequence_record(const struct entity_activation_info *info, const cJSON *component_ids,
			   const cJSON *response, uint64_t start_ms, uint64_t end_ms,
			   uint64_t duration_ms, uint64_t wait_ms, cJSON **out, struct err *e)
	__attribute__((warn_unused_result));

/* A new activation id: 32 lowercase hex characters (and a NUL), the
 * first 12 the time in milliseconds (so ids sort by creation, to the
 * millisecond), the other 20 from getrandom(GRND_NONBLOCK), falling back
 * to /dev/urandom. Never blocks on the entropy pool; thread-safe. */
void entity_activation_id(char out[33]);

#endif
