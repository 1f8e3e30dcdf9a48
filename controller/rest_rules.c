/* SPDX-License-Identifier: Apache-2.0 */
/* Rules (spec §5; see rest.h): list, put, get (status from the trigger),
 * activate / deactivate (POST {"status"}), delete. The operations are
 * events.c's. */
#include "controller/rest.h"

void rest_rules_list(struct rest_req *q)
{
	rest_list(q, "rules");
}

void rest_rule(struct rest_req *q)
{
	struct events *ev = q->env->events;
	_cleanup_json_ cJSON *body = NULL, *doc = NULL;
	struct err e = { 0 };
	bool overwrite;
	int rc;

	if (rest_is(q, "PUT")) {
		if (rest_put_body(q, &overwrite, &body) < 0)
			return;
		rc = events_rule_put(ev, q->ns, q->r.name, body, overwrite, &doc, &e);
	} else if (rest_is(q, "POST")) {
		if (rest_body_object(q, &body) < 0)
			return;
		rc = events_rule_set_status(ev, q->ns, q->r.name, json_get_string(body, "status"),
					    &doc, &e);
	} else if (rest_is(q, "GET")) {
		rc = events_rule_get(ev, q->ns, q->r.name, &doc, &e);
	} else if (rest_is(q, "DELETE")) {
		rc = events_rule_delete(ev, q->ns, q->r.name, &doc, &e);
	} else {
		return rest_reply_method(q, "GET, PUT, POST, DELETE");
	}
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, doc, NULL);
}
