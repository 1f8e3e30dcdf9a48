/* SPDX-License-Identifier: Apache-2.0 */
/* Triggers (spec §5; see rest.h): list, put, get, delete, and fire (POST),
 * which answers 202 with the trigger activation's id. The operations are
 * events.c's. */
#include "controller/rest.h"

#include <stdlib.h>

void rest_triggers_list(struct rest_req *q)
{
	rest_list(q, "triggers");
}

static void trigger_fire(struct rest_req *q)
{
	struct err e = { 0 };
	char id[33];
	int rc;

	if (rest_body_within_limit(q) < 0 || rest_body_object_text(q) < 0)
		return;
	rc = events_trigger_fire(q->env->events, q->ns, q->key, q->r.name, q->body, q->body_len, id,
				 &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_accepted(&q->reply, id);
}

static void trigger_put(struct rest_req *q)
{
	_cleanup_json_ cJSON *body = NULL, *doc = NULL;
	struct err e = { 0 };
	bool overwrite;
	int rc;

	if (rest_put_body(q, &overwrite, &body) < 0)
		return;
	rc = events_trigger_put(q->env->events, q->ns, q->r.name, body, overwrite, &doc, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, doc, NULL);
}

/* Through events, so a feed's registration ends with its trigger. */
static void trigger_delete(struct rest_req *q)
{
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc = events_trigger_delete(q->env->events, q->ns, q->r.name, false, &text, &len, &e);

	rest_reply_stored(q, rc, &e, text, len);
}

void rest_trigger(struct rest_req *q)
{
	if (rest_is(q, "POST"))
		return trigger_fire(q);
	if (rest_is(q, "PUT"))
		return trigger_put(q);
	if (rest_is(q, "GET"))
		return rest_entity_get_or_delete(q, "triggers");
	if (rest_is(q, "DELETE"))
		return trigger_delete(q);
	rest_reply_method(q, "GET, PUT, POST, DELETE");
}
