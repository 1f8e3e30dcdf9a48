/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the JSON bodies the API accepts and the documents it builds
 * from them. The input is a request body: checked and parsed as the
 * handlers do (utf8_is_valid, json_parse), then, when it is an
 * object, validated as an action PUT
 * (entity_action_build, both on create and as an overwrite merged into a
 * stored action carrying parameters, annotations and limits) and as
 * invocation parameters (entity_invoke_args against that action,
 * annotated final). Whatever builds must print and parse back, and its
 * derived views (summary, without code, image) must not fail on it. The
 * same bytes are also read as a stored document (list summaries of actions
 * and activation records), since the store hands those back as text. */
#include "tests/fuzz/fuzz.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/cfg.h"
#include "controller/entity.h"
#include "common/jscan.h"
#include "common/json.h"
#include "common/utf8.h"

static const char old_doc[] =
	"{\"exec\":{\"kind\":\"nodejs:default\",\"code\":\"function main(a){return a}\"},"
	"\"parameters\":[{\"key\":\"a\",\"value\":1},{\"key\":\"secret\",\"value\":\"s\","
	"\"init\":true},{\"key\":\"n\",\"value\":null}],"
	"\"annotations\":[{\"key\":\"final\",\"value\":true},{\"key\":\"x\",\"value\":[1]}],"
	"\"limits\":{\"timeout\":1000,\"memory\":256,\"logs\":5},\"version\":\"1.2.3\"}";

static struct cfg c;
static cJSON *old;

static void setup(void)
{
	cJSON *body = NULL;

	cfg_defaults(&c);
	if (json_parse(old_doc, sizeof(old_doc) - 1, &body, NULL) < 0 ||
	    entity_action_build(&c, "guest", "old", body, NULL, 1, &old, NULL) < 0)
		abort();
	json_delete(body);
}

/* A built document is well-formed and its views work. */
static void check_doc(const cJSON *doc)
{
	size_t len = 0;
	char *text = json_print(doc, &len);
	cJSON *back = NULL, *v;

	if (!text)
		return; /* ENOMEM */
	if (json_parse(text, len, &back, NULL) < 0)
		abort();
	json_free(text);
	json_delete(back);
	if (!entity_action_image(&c, doc) && !json_get_object(doc, "exec"))
		abort();
	v = entity_action_summary(doc);
	json_delete(v);
	v = entity_action_without_code(doc);
	json_delete(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body = NULL, *doc = NULL, *env = NULL, *v;
	struct buf params = BUF_INIT;
	struct err e = { 0 };

	if (!old)
		setup();
	{
		/* The UTF-8 gate in front of json_parse: a rejection points
		 * inside the input and everything before it is valid. */
		size_t at = 0;

		if (!utf8_is_valid((const char *)data, size, &at) &&
		    (at >= size || !utf8_is_valid((const char *)data, at, NULL)))
			abort();
	}
	if (json_parse((const char *)data, size, &body, &e) < 0) {
		if (e.code >= 0 || !e.msg[0])
			abort();
		return 0;
	}
	if (cJSON_IsObject(body)) {
		if (entity_action_build(&c, "guest", "a", body, NULL, 2, &doc, &e) == 0) {
			check_doc(doc);
			json_delete(doc);
			doc = NULL;
		}
		if (entity_action_build(&c, "guest/pkg", "old", body, old, 3, &doc, &e) == 0) {
			check_doc(doc);
			json_delete(doc);
		}
	}
	/* Spliced arguments are one valid JSON object whatever the body. */
	if (entity_invoke_args(old, (const char *)data, size, &params, &env, &e) == 0) {
		if (!jscan_is_object_or_array(params.data, params.len) || params.data[0] != '{' ||
		    !json_is_value(params.data, params.len) || (env && !cJSON_IsObject(env)))
			abort();
		buf_fini(&params);
		json_delete(env);
	}
	/* As a stored document read back by a listing. */
	v = entity_action_summary(body);
	json_delete(v);
	v = entity_activation_summary(body);
	json_delete(v);
	(void)entity_action_image(&c, body);
	json_delete(body);
	return 0;
}
