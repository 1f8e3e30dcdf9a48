/* SPDX-License-Identifier: Apache-2.0 */
/* entity: action documents (validation, defaults, merge on update, the
 * server's annotations), invoke parameters and activation records, checked
 * as exact JSON text against the shapes of spec/openwhisk-compat.md. */
#include "controller/entity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"
#include <unistd.h>

#include "tests/harness.h"

#define NOW 1700000000000ULL
#define DEF_LIMITS "{\"timeout\":60000,\"memory\":256,\"logs\":10,\"concurrency\":1}"

/* Compare the compact print of a tree with the expected text. */
#define CHECK_JSON(tree, want)                                              \
	do {                                                                \
		char *check_json_s_ = (tree) ? json_print((tree), NULL) : NULL; \
		CHECK_STR_EQ(check_json_s_, (want));                        \
		json_free(check_json_s_);                                   \
	} while (0)

static struct cfg cfg;

static const struct cfg *config(void)
{
	cfg_defaults(&cfg);
	return &cfg;
}

static cJSON *parse(const char *s)
{
	cJSON *j = NULL;

	if (json_parse(s, strlen(s), &j, NULL) < 0) {
		fprintf(stderr, "  bad JSON in test: %s\n", s);
		return NULL;
	}
	return j;
}

/* Build from a body text (and an old document text or NULL). Returns the
 * code; *out only on success. */
static int build_text(const char *body, const char *old, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *b = body ? parse(body) : NULL;
	_cleanup_json_ cJSON *o = old ? parse(old) : NULL;

	err_clear(e);
	return entity_action_build(config(), "guest", "hello", b, o, NOW, out, e);
}

/* Build and expect -EINVAL (or another code) with exactly `want`. */
#define CHECK_BUILD_FAILS(body, old, code, want)                            \
	do {                                                                \
		cJSON *cbf_doc_ = NULL;                                     \
		struct err cbf_e_;                                          \
		CHECK_INT_EQ(build_text((body), (old), &cbf_doc_, &cbf_e_), (code)); \
		CHECK(cbf_doc_ == NULL);                                    \
		CHECK_STR_EQ(cbf_e_.msg, (want));                           \
		json_delete(cbf_doc_);                                      \
	} while (0)

static void test_create_minimal(void)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct err e;

	/* namespace/name in the body and the client's "binary" are ignored. */
	REQUIRE(build_text("{\"namespace\":\"evil\",\"name\":\"other\",\"exec\":{\"kind\":\"nodejs:20\","
			   "\"code\":\"function main(p){return p}\",\"binary\":true}}",
			   NULL, &doc, &e) == 0);
	CHECK_JSON(doc, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.1\","
			"\"publish\":false,\"exec\":{\"kind\":\"nodejs:20\","
			"\"code\":\"function main(p){return p}\",\"binary\":false},"
			"\"parameters\":[],\"limits\":" DEF_LIMITS ","
			"\"annotations\":[{\"key\":\"provide-api-key\",\"value\":false},"
			"{\"key\":\"exec\",\"value\":\"nodejs:20\"}],\"updated\":1700000000000}");
	CHECK_STR_EQ(entity_action_image(config(), doc), "edgewhisk/action-nodejs:1");
}

static void test_create_full(void)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct err e;

	/* Nulls count as absent; main kept; parameters normalised to
	 * {key, value[, init]}; a repeated key keeps its first place and its
	 * last value; the client's provide-api-key is not duplicated. */
	REQUIRE(build_text("{\"version\":\"01.2.3\",\"publish\":true,\"limits\":{\"memory\":128,"
			   "\"timeout\":null},\"exec\":{\"kind\":\"python:3.11\",\"code\":\"def main(a): "
			   "return a\",\"main\":\"entry\",\"image\":\"ignored\"},"
			   "\"parameters\":[{\"key\":\"a\",\"value\":1,\"x\":0},{\"key\":\"s\",\"value\":\"v\","
			   "\"init\":true},{\"key\":\"n\"},{\"key\":\"a\",\"value\":[2]}],"
			   "\"annotations\":[{\"key\":\"provide-api-key\",\"value\":true},"
			   "{\"key\":\"web-export\",\"value\":true}]}",
			   NULL, &doc, &e) == 0);
	CHECK_JSON(doc, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"1.2.3\","
			"\"publish\":true,\"exec\":{\"kind\":\"python:3.11\","
			"\"code\":\"def main(a): return a\",\"binary\":false,\"main\":\"entry\"},"
			"\"parameters\":[{\"key\":\"a\",\"value\":[2]},{\"key\":\"s\",\"value\":\"v\","
			"\"init\":true},{\"key\":\"n\",\"value\":null}],"
			"\"limits\":{\"timeout\":60000,\"memory\":128,\"logs\":10,\"concurrency\":1},"
			"\"annotations\":[{\"key\":\"provide-api-key\",\"value\":true},"
			"{\"key\":\"web-export\",\"value\":true},{\"key\":\"exec\",\"value\":\"python:3.11\"}],"
			"\"updated\":1700000000000}");
}

static const char *exec_kind_of(const cJSON *doc)
{
	return json_get_string(json_get_object(doc, "exec"), "kind");
}

static void test_kind_default(void)
{
	static const char *const cases[][2] = {
		{ "nodejs:default", "nodejs:20" },
		{ "python:default", "python:3.11" },
		{ "native:default", "native" },   /* a family of one */
		{ "native", "native" },
	};
	char body[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_json_ cJSON *doc = NULL;
		struct err e;
		const cJSON *ann;

		snprintf(body, sizeof(body), "{\"exec\":{\"kind\":\"%s\",\"code\":\"x\"}}", cases[i][0]);
		REQUIRE(build_text(body, NULL, &doc, &e) == 0);
		CHECK_STR_EQ(exec_kind_of(doc), cases[i][1]);
		ann = json_get_array(doc, "annotations");
		CHECK_STR_EQ(json_get_string(cJSON_GetArrayItem(ann, 1), "key"), "exec");
		CHECK_STR_EQ(json_get_string(cJSON_GetArrayItem(ann, 1), "value"), cases[i][1]);
	}
}

static void test_kind_unknown(void)
{
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"ruby:2.5\",\"code\":\"x\"}}", NULL, -EINVAL,
			  "The specified runtime 'ruby:2.5' is not supported by this platform. "
			  "Valid values are: 'nodejs:20', 'python:3.11', 'native', 'blackbox'.");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"go:default\",\"code\":\"x\"}}", NULL, -EINVAL,
			  "The specified runtime 'go:default' is not supported by this platform. "
			  "Valid values are: 'nodejs:20', 'python:3.11', 'native', 'blackbox'.");
	/* A prefix of a kind is not the kind. */
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"nodejs:2\",\"code\":\"x\"}}", NULL, -EINVAL,
			  "The specified runtime 'nodejs:2' is not supported by this platform. "
			  "Valid values are: 'nodejs:20', 'python:3.11', 'native', 'blackbox'.");
}


static void test_sequence_exec(void)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct err e;

	REQUIRE(build_text("{\"exec\":{\"kind\":\"sequence\",\"components\":[\"/_/a\",\"b\",\"p/c\","
			   "\"/other/d\",\"/other/q/e\"]}}",
			   NULL, &doc, &e) == 0);
	CHECK_JSON(json_get_object(doc, "exec"),
		   "{\"kind\":\"sequence\",\"components\":[\"/guest/a\",\"/guest/b\",\"/guest/p/c\","
		   "\"/other/d\",\"/other/q/e\"],\"binary\":false}");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"sequence\",\"components\":[]}}", NULL, -EINVAL,
			  "No component specified for the sequence.");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"sequence\"}}", NULL, -EINVAL,
			  "No component specified for the sequence.");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"sequence\",\"components\":[\"a/b/c\"]}}", NULL,
			  -EINVAL, "Sequence component 'a/b/c' is not a valid action name.");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"sequence\",\"components\":[1]}}", NULL, -EINVAL,
			  "Sequence component '?' is not a valid action name.");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"sequence\",\"components\":\"a\"}}", NULL, -EINVAL,
			  "exec.components must be an array of action names");
}

static void test_trigger_rule_package_docs(void)
{
	_cleanup_json_ cJSON *body = NULL, *doc = NULL, *upd = NULL, *rule = NULL, *pkg = NULL;
	struct err e = { 0 };

	body = parse("{\"parameters\":[{\"key\":\"a\",\"value\":1}],\"rules\":{\"x\":1},"
		     "\"annotations\":[{\"key\":\"feed\",\"value\":\"/whisk.system/alarms/alarm\"}]}");
	REQUIRE(entity_trigger_build("guest", "t", body, NULL, NOW, &doc, &e) == 0);
	CHECK_JSON(doc, "{\"namespace\":\"guest\",\"name\":\"t\",\"version\":\"0.0.1\","
			"\"publish\":false,\"parameters\":[{\"key\":\"a\",\"value\":1}],"
			"\"annotations\":[{\"key\":\"feed\",\"value\":\"/whisk.system/alarms/alarm\"}],"
			"\"limits\":{},\"updated\":1700000000000}");
	/* rules survive an update; the body never sets them */
	cJSON_AddItemToObject(doc, "rules", parse("{\"guest/r\":{\"status\":\"active\"}}"));
	json_delete(body);
	body = parse("{\"publish\":true}");
	REQUIRE(entity_trigger_build("guest", "t", body, doc, NOW + 1, &upd, &e) == 0);
	CHECK_STR_EQ(json_get_string(upd, "version"), "0.0.2");
	CHECK(json_get_bool(upd, "publish", false));
	CHECK_JSON(json_get_object(upd, "rules"), "{\"guest/r\":{\"status\":\"active\"}}");
	CHECK_JSON(json_get_array(upd, "parameters"), "[{\"key\":\"a\",\"value\":1}]");
	json_delete(body);
	body = parse("{\"annotations\":[{\"key\":\"feed\",\"value\":\"not a/valid/feed/name\"}]}");
	CHECK_INT_EQ(entity_trigger_build("guest", "t", body, NULL, NOW, &upd, &e), -EINVAL);
	CHECK_STR_EQ(e.msg, "Feed name is not valid");

	json_delete(body);
	body = parse("{\"trigger\":\"/_/t\",\"action\":\"pkg/hello\",\"status\":\"inactive\"}");
	REQUIRE(entity_rule_build("guest", "r", body, NULL, NOW, &rule, &e) == 0);
	CHECK_JSON(rule, "{\"namespace\":\"guest\",\"name\":\"r\",\"version\":\"0.0.1\","
			 "\"publish\":false,\"annotations\":[],\"status\":\"active\","
			 "\"trigger\":{\"path\":\"guest\",\"name\":\"t\"},"
			 "\"action\":{\"path\":\"guest/pkg\",\"name\":\"hello\"},\"updated\":1700000000000}");
	json_delete(body);
	body = parse("{\"action\":\"hello\"}");
	CHECK_INT_EQ(entity_rule_build("guest", "r", body, NULL, NOW, &upd, &e), -EINVAL);
	CHECK_STR_EQ(e.msg, "The rule needs a trigger.");
	json_delete(body);
	body = parse("{\"trigger\":\"p/t\",\"action\":\"hello\"}");
	CHECK_INT_EQ(entity_rule_build("guest", "r", body, NULL, NOW, &upd, &e), -EINVAL);
	CHECK_STR_EQ(e.msg, "The trigger name 'p/t' is not valid.");

	json_delete(body);
	body = parse("{\"binding\":{\"namespace\":\"_\",\"name\":\"utils\"},"
		     "\"parameters\":[{\"key\":\"k\",\"value\":\"v\"}]}");
	REQUIRE(entity_package_build("guest", "b", body, NULL, NOW, &pkg, &e) == 0);
	CHECK(entity_package_is_binding(pkg));
	CHECK_JSON(json_get_object(pkg, "binding"), "{\"namespace\":\"guest\",\"name\":\"utils\"}");
	{
		_cleanup_json_ cJSON *sum = entity_summary("packages", pkg);

		CHECK_JSON(sum, "{\"namespace\":\"guest\",\"name\":\"b\",\"version\":\"0.0.1\","
				"\"publish\":false,\"annotations\":[],\"updated\":1700000000000,"
				"\"binding\":{\"namespace\":\"guest\",\"name\":\"utils\"}}");
	}
	json_delete(body);
	body = parse("{\"binding\":{\"name\":\"utils\"}}");
	CHECK_INT_EQ(entity_package_build("guest", "b", body, NULL, NOW, &upd, &e), -EINVAL);
	json_delete(pkg);
	pkg = NULL;
	REQUIRE(entity_package_build("guest", "p", NULL, NULL, NOW, &pkg, &e) == 0);
	CHECK(!entity_package_is_binding(pkg));
	{
		_cleanup_json_ cJSON *sum = entity_summary("packages", pkg);

		CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(sum, "binding")));
	}
}

static void test_params_inherit(void)
{
	_cleanup_json_ cJSON *action = parse("{\"parameters\":[{\"key\":\"a\",\"value\":\"action\"}]}");
	_cleanup_json_ cJSON *binding = parse("[{\"key\":\"a\",\"value\":\"binding\"},"
					     "{\"key\":\"b\",\"value\":\"binding\"}]");
	_cleanup_json_ cJSON *package = parse("[{\"key\":\"b\",\"value\":\"package\"},"
					     "{\"key\":\"c\",\"value\":\"package\"}]");
	_cleanup_json_ cJSON *bare = parse("{}");

	REQUIRE(entity_params_inherit(action, binding) == 0);
	REQUIRE(entity_params_inherit(action, package) == 0);
	CHECK_JSON(json_get_array(action, "parameters"),
		   "[{\"key\":\"c\",\"value\":\"package\"},{\"key\":\"b\",\"value\":\"binding\"},"
		   "{\"key\":\"a\",\"value\":\"action\"}]");
	REQUIRE(entity_params_inherit(bare, package) == 0);
	CHECK_JSON(bare, "{\"parameters\":[{\"key\":\"b\",\"value\":\"package\"},"
			 "{\"key\":\"c\",\"value\":\"package\"}]}");
}

static void test_trigger_and_sequence_records(void)
{
	_cleanup_json_ cJSON *logs = parse("[\"{}\"]"), *rec = NULL;
	_cleanup_json_ cJSON *ids = parse("[\"a\",\"b\"]"), *resp = parse(
		"{\"status\":\"success\",\"statusCode\":0,\"success\":true,\"result\":{\"r\":2}}");
	struct entity_activation_info info = { .activation_id = "0123456789abcdef0123456789abcdef",
					       .ns = "guest", .path = "guest", .name = "seq",
					       .version = "0.0.1", .kind = "sequence",
					       .timeout_ms = 60000, .memory_mb = 256, .logs_mb = 10 };
	struct err e = { 0 };

	{
		struct entity_record tr;

		REQUIRE(entity_trigger_record("0123456789abcdef0123456789abcdef", "guest", "t",
					      "0.0.1", "{ \"x\": 1 }", 10, logs, NOW, &tr, &e) == 0);
		CHECK_STR_EQ(tr.text,
			     "{\"namespace\":\"guest\",\"name\":\"t\",\"version\":\"0.0.1\","
			     "\"subject\":\"guest\",\"publish\":false,"
			     "\"activationId\":\"0123456789abcdef0123456789abcdef\","
			     "\"start\":1700000000000,\"response\":{\"status\":\"success\","
			     "\"statusCode\":0,\"success\":true,\"result\":{\"x\":1}},"
			     "\"logs\":[\"{}\"],\"annotations\":[]}");
		entity_record_fini(&tr);
		REQUIRE(entity_trigger_record("0123456789abcdef0123456789abcdef", "guest", "t",
					      "0.0.1", NULL, 0, NULL, NOW, &tr, &e) == 0);
		CHECK(strstr(tr.text, "\"result\":{}},\"logs\":[],") != NULL);
		entity_record_fini(&tr);
	}
	REQUIRE(entity_sequence_record(&info, ids, resp, NOW, NOW + 9, 7, 1, &rec, &e) == 0);
	CHECK_JSON(rec, "{\"namespace\":\"guest\",\"name\":\"seq\",\"version\":\"0.0.1\","
			"\"subject\":\"guest\",\"publish\":false,"
			"\"activationId\":\"0123456789abcdef0123456789abcdef\",\"start\":1700000000000,"
			"\"end\":1700000000009,\"duration\":7,\"response\":{\"status\":\"success\","
			"\"statusCode\":0,\"success\":true,\"result\":{\"r\":2}},\"logs\":[\"a\",\"b\"],"
			"\"annotations\":[{\"key\":\"limits\",\"value\":{\"timeout\":60000,\"memory\":256,"
			"\"logs\":10,\"concurrency\":1}},{\"key\":\"path\",\"value\":\"guest/seq\"},"
			"{\"key\":\"kind\",\"value\":\"sequence\"},{\"key\":\"topmost\",\"value\":true},"
			"{\"key\":\"waitTime\",\"value\":1}]}");
	json_delete(rec);
	rec = NULL;
	info.cause = "fedcba9876543210fedcba9876543210";
	REQUIRE(entity_sequence_record(&info, ids, resp, NOW, NOW, 0, 0, &rec, &e) == 0);
	CHECK_STR_EQ(json_get_string(rec, "cause"), "fedcba9876543210fedcba9876543210");
	{
		const cJSON *last = cJSON_GetArrayItem(json_get_array(rec, "annotations"), 5);

		CHECK_STR_EQ(json_get_string(last, "key"), "causedBy");
		CHECK_STR_EQ(json_get_string(last, "value"), "sequence");
	}
}

static void test_blackbox(void)
{
	_cleanup_json_ cJSON *doc = NULL, *doc2 = NULL;
	struct err e;

	REQUIRE(build_text("{\"exec\":{\"kind\":\"blackbox\",\"image\":\"user/img:tag\"}}", NULL, &doc,
			   &e) == 0);
	CHECK_JSON(json_get_object(doc, "exec"),
		   "{\"kind\":\"blackbox\",\"binary\":false,\"image\":\"user/img:tag\"}");
	CHECK_STR_EQ(entity_action_image(config(), doc), "user/img:tag");
	CHECK_JSON(cJSON_GetArrayItem(json_get_array(doc, "annotations"), 1),
		   "{\"key\":\"exec\",\"value\":\"blackbox\"}");

	REQUIRE(build_text("{\"exec\":{\"kind\":\"blackbox\",\"image\":\"openwhisk/dockerskeleton\","
			   "\"code\":\"UEsDBAo=\",\"main\":\"run\"}}",
			   NULL, &doc2, &e) == 0);
	CHECK_JSON(json_get_object(doc2, "exec"),
		   "{\"kind\":\"blackbox\",\"code\":\"UEsDBAo=\",\"binary\":true,\"main\":\"run\","
		   "\"image\":\"openwhisk/dockerskeleton\"}");

	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"blackbox\"}}", NULL, -EINVAL,
			  "exec.image must be a non-empty string for 'blackbox' actions");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"blackbox\",\"image\":\"\"}}", NULL, -EINVAL,
			  "exec.image must be a non-empty string for 'blackbox' actions");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"blackbox\",\"image\":7}}", NULL, -EINVAL,
			  "exec.image must be a non-empty string for 'blackbox' actions");
	/* Docker's own "invalid reference format", told at create. */
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"blackbox\",\"image\":\"-v\"}}", NULL, -EINVAL,
			  "exec.image '-v' is not a valid image reference (name[:tag][@digest], "
			  "lower-case path, e.g. 'team/app:1.0').");
	CHECK_BUILD_FAILS("{\"exec\":{\"kind\":\"blackbox\",\"image\":\"My/Img\"}}", NULL, -EINVAL,
			  "exec.image 'My/Img' is not a valid image reference (name[:tag][@digest], "
			  "lower-case path, e.g. 'team/app:1.0').");
}

static void test_action_image(void)
{
	_cleanup_json_ cJSON *gone = parse("{\"exec\":{\"kind\":\"nodejs:14\",\"code\":\"x\"}}");
	_cleanup_json_ cJSON *py = parse("{\"exec\":{\"kind\":\"python:3.11\",\"code\":\"x\"}}");

	CHECK(entity_action_image(config(), gone) == NULL);
	CHECK(entity_action_image(config(), NULL) == NULL);
	CHECK_STR_EQ(entity_action_image(config(), py), "edgewhisk/action-python:1");
}

static int binary_of(const char *code_json)
{
	_cleanup_json_ cJSON *doc = NULL;
	char body[512];
	struct err e;

	snprintf(body, sizeof(body), "{\"exec\":{\"kind\":\"native\",\"code\":%s}}", code_json);
	if (build_text(body, NULL, &doc, &e) < 0)
		return -1;
	return json_get_bool(json_get_object(doc, "exec"), "binary", false) ? 1 : 0;
}

static void test_binary_detection(void)
{
	/* The start of a zip file, base64. */
	CHECK_INT_EQ(binary_of("\"UEsDBBQAAAAIAOdSaFeT0g7kCgAAAAgAAAAIABwAZXhlYw==\""), 1);
	CHECK_INT_EQ(binary_of("\"UEsDBBQAAAAI\""), 1);          /* no padding */
	CHECK_INT_EQ(binary_of("\"UEsDBBQ=\""), 1);              /* one '=' */
	CHECK_INT_EQ(binary_of("\"\\n  UEsDBBQAAAAI\\r\\n\\t\""), 1); /* trimmed */
	CHECK_INT_EQ(binary_of("\"function main(){}\""), 0);
	CHECK_INT_EQ(binary_of("\"function main(p) { return p }\""), 0);
	CHECK_INT_EQ(binary_of("\"UEsDB===\""), 0);              /* three '=' */
	CHECK_INT_EQ(binary_of("\"UEs=DBBQ\""), 0);              /* '=' inside */
	CHECK_INT_EQ(binary_of("\"=AAA\""), 0);
	CHECK_INT_EQ(binary_of("\"UEsDBBQ\""), 0);               /* length 7 */
	CHECK_INT_EQ(binary_of("\"UEsD BBQ\""), 0);              /* inner space */
	CHECK_INT_EQ(binary_of("\"UEsD-_Q=\""), 0);              /* url-safe alphabet */
	CHECK_INT_EQ(binary_of("\"\""), 0);
	CHECK_INT_EQ(binary_of("\"    \""), 0);
}

static void test_limit_messages(void)
{
	static const char *const cases[][2] = {
		{ "{\"timeout\":50}", "duration 50 milliseconds below allowed threshold of 100 milliseconds" },
		{ "{\"timeout\":400000}",
		  "duration 400000 milliseconds exceeds allowed threshold of 300000 milliseconds" },
		{ "{\"memory\":1024}", "memory size 1024 MB exceeds allowed threshold of 512 MB" },
		{ "{\"memory\":64}", "memory size 64 MB below allowed threshold of 128 MB" },
		{ "{\"memory\":-5}", "memory size -5 MB below allowed threshold of 128 MB" },
		{ "{\"logs\":20}", "log size 20 MB exceeds allowed threshold of 10 MB" },
		{ "{\"logs\":-1}", "log size -1 MB below allowed threshold of 0 MB" },
		{ "{\"concurrency\":2}", "concurrency 2 exceeds allowed threshold of 1" },
		{ "{\"concurrency\":0}", "concurrency 0 below allowed threshold of 1" },
		{ "{\"memory\":\"256\"}", "limits.memory must be a whole number" },
		{ "{\"timeout\":1.5}", "limits.timeout must be a whole number" },
		{ "{\"logs\":true}", "limits.logs must be a whole number" },
		{ "[]", "limits must be a JSON object" },
		{ "5", "limits must be a JSON object" },
	};
	static const char *const ok[][2] = {
		{ "{\"timeout\":100,\"memory\":128,\"logs\":0,\"concurrency\":1}",
		  "{\"timeout\":100,\"memory\":128,\"logs\":0,\"concurrency\":1}" },
		{ "{\"timeout\":300000,\"memory\":512,\"logs\":10}",
		  "{\"timeout\":300000,\"memory\":512,\"logs\":10,\"concurrency\":1}" },
		{ "{}", DEF_LIMITS },
		{ "{\"instances\":3}", DEF_LIMITS },   /* not supported: ignored */
	};
	char body[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"limits\":%s}", cases[i][0]);
		CHECK_BUILD_FAILS(body, NULL, -EINVAL, cases[i][1]);
	}
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		_cleanup_json_ cJSON *doc = NULL;
		struct err e;

		snprintf(body, sizeof(body),
			 "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"limits\":%s}", ok[i][0]);
		REQUIRE(build_text(body, NULL, &doc, &e) == 0);
		CHECK_JSON(json_get_object(doc, "limits"), ok[i][1]);
	}
}

static void test_limits_follow_config(void)
{
	_cleanup_json_ cJSON *body = parse("{\"exec\":{\"kind\":\"native\",\"code\":\"x\"},"
					   "\"limits\":{\"memory\":1024}}");
	_cleanup_json_ cJSON *body2 = parse("{\"exec\":{\"kind\":\"native\",\"code\":\"x\"}}");
	_cleanup_json_ cJSON *doc = NULL, *doc2 = NULL;
	struct cfg c;
	struct err e;

	cfg_defaults(&c);
	c.limits.memory_mb = (struct cfg_limit){ 512, 256, 2048 };
	c.limits.timeout_ms.def = 3000;
	REQUIRE(entity_action_build(&c, "guest", "x", body, NULL, NOW, &doc, &e) == 0);
	CHECK_JSON(json_get_object(doc, "limits"),
		   "{\"timeout\":3000,\"memory\":1024,\"logs\":10,\"concurrency\":1}");
	REQUIRE(entity_action_build(&c, "guest", "x", body2, NULL, NOW, &doc2, &e) == 0);
	CHECK_JSON(json_get_object(doc2, "limits"),
		   "{\"timeout\":3000,\"memory\":512,\"logs\":10,\"concurrency\":1}");
}

/* A stored document as entity_action_build would have left it. */
static const char old_doc[] =
	"{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.1\",\"publish\":false,"
	"\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){}\",\"binary\":false},"
	"\"parameters\":[{\"key\":\"p\",\"value\":1}],"
	"\"limits\":{\"timeout\":1000,\"memory\":512,\"logs\":10,\"concurrency\":1},"
	"\"annotations\":[{\"key\":\"a\",\"value\":1},{\"key\":\"provide-api-key\",\"value\":false},"
	"{\"key\":\"exec\",\"value\":\"nodejs:20\"}],\"updated\":1600000000000}";

static void test_update_keeps_and_merges(void)
{
	_cleanup_json_ cJSON *doc = NULL, *doc2 = NULL;
	struct err e;

	/* Empty body: everything kept, patch bumped, updated refreshed. */
	REQUIRE(build_text("{}", old_doc, &doc, &e) == 0);
	CHECK_JSON(doc, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.2\","
			"\"publish\":false,\"exec\":{\"kind\":\"nodejs:20\","
			"\"code\":\"function main(){}\",\"binary\":false},"
			"\"parameters\":[{\"key\":\"p\",\"value\":1}],"
			"\"limits\":{\"timeout\":1000,\"memory\":512,\"logs\":10,\"concurrency\":1},"
			"\"annotations\":[{\"key\":\"a\",\"value\":1},"
			"{\"key\":\"provide-api-key\",\"value\":false},"
			"{\"key\":\"exec\",\"value\":\"nodejs:20\"}],\"updated\":1700000000000}");

	/* Limits per field, parameters replaced, annotations by key,
	 * delAnnotations (also of a key just given), exec annotation follows
	 * a new kind, provide-api-key not re-added on update. */
	REQUIRE(build_text("{\"publish\":true,\"limits\":{\"logs\":5},"
			   "\"parameters\":[{\"key\":\"q\",\"value\":2}],"
			   "\"exec\":{\"kind\":\"python:default\",\"code\":\"def main(a): return a\"},"
			   "\"annotations\":[{\"key\":\"a\",\"value\":2},{\"key\":\"b\",\"value\":true},"
			   "{\"key\":\"gone\",\"value\":0},{\"key\":\"exec\",\"value\":\"forged\"}],"
			   "\"delAnnotations\":[\"provide-api-key\",\"gone\",\"never-there\"]}",
			   old_doc, &doc2, &e) == 0);
	CHECK_JSON(doc2, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.2\","
			 "\"publish\":true,\"exec\":{\"kind\":\"python:3.11\","
			 "\"code\":\"def main(a): return a\",\"binary\":false},"
			 "\"parameters\":[{\"key\":\"q\",\"value\":2}],"
			 "\"limits\":{\"timeout\":1000,\"memory\":512,\"logs\":5,\"concurrency\":1},"
			 "\"annotations\":[{\"key\":\"a\",\"value\":2},"
			 "{\"key\":\"exec\",\"value\":\"python:3.11\"},{\"key\":\"b\",\"value\":true}],"
			 "\"updated\":1700000000000}");
}

static void test_version(void)
{
	static const char *const bumps[][2] = {
		{ "0.0.1", "0.0.2" },
		{ "1.2.9", "1.2.10" },
		{ "3.0.2147483646", "3.0.2147483647" },
		{ "garbage", "0.0.1" },   /* an unreadable stored version restarts */
	};
	static const char *const bad[][2] = {
		{ "\"1.2\"", "version '1.2' is not a semantic version (major.minor.patch)" },
		{ "\"a.b.c\"", "version 'a.b.c' is not a semantic version (major.minor.patch)" },
		{ "\"1.2.3.4\"", "version '1.2.3.4' is not a semantic version (major.minor.patch)" },
		{ "\"1.-2.3\"", "version '1.-2.3' is not a semantic version (major.minor.patch)" },
		{ "\"1.2.3 \"", "version '1.2.3 ' is not a semantic version (major.minor.patch)" },
		{ "\"\"", "version '' is not a semantic version (major.minor.patch)" },
		{ "\"1.2.2147483648\"",
		  "version '1.2.2147483648' is not a semantic version (major.minor.patch)" },
		{ "123", "version must be a string \"major.minor.patch\"" },
	};
	char old[600], body[200];

	for (size_t i = 0; i < sizeof(bumps) / sizeof(bumps[0]); i++) {
		_cleanup_json_ cJSON *doc = NULL;
		struct err e;

		snprintf(old, sizeof(old),
			 "{\"version\":\"%s\",\"exec\":{\"kind\":\"native\",\"code\":\"x\",\"binary\":false}}",
			 bumps[i][0]);
		REQUIRE(build_text("{}", old, &doc, &e) == 0);
		CHECK_STR_EQ(json_get_string(doc, "version"), bumps[i][1]);
	}
	/* Given explicitly: kept (normalised), on create and on update. */
	{
		_cleanup_json_ cJSON *doc = NULL, *doc2 = NULL;
		struct err e;

		REQUIRE(build_text("{\"version\":\"2.0.0\"}", old_doc, &doc, &e) == 0);
		CHECK_STR_EQ(json_get_string(doc, "version"), "2.0.0");
		REQUIRE(build_text("{\"version\":\"0.10.007\",\"exec\":{\"kind\":\"native\",\"code\":\"\"}}",
				   NULL, &doc2, &e) == 0);
		CHECK_STR_EQ(json_get_string(doc2, "version"), "0.10.7");
	}
	CHECK_BUILD_FAILS("{}",
			  "{\"version\":\"0.0.2147483647\",\"exec\":{\"kind\":\"native\",\"code\":\"x\"}}",
			  -EINVAL, "version 0.0.2147483647 cannot be incremented; give one");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"version\":%s}", bad[i][0]);
		CHECK_BUILD_FAILS(body, old_doc, -EINVAL, bad[i][1]);
	}
}

static void test_wrong_types(void)
{
	static const char *const cases[][2] = {
		{ "[]", "request body must be a JSON object" },
		{ "\"x\"", "request body must be a JSON object" },
		{ "{}", "exec undefined" },
		{ "{\"exec\":null}", "exec undefined" },
		{ "{\"exec\":\"nodejs:20\"}", "exec must be a JSON object" },
		{ "{\"exec\":{\"code\":\"x\"}}", "exec.kind must be a string" },
		{ "{\"exec\":{\"kind\":20,\"code\":\"x\"}}", "exec.kind must be a string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\"}}",
		  "exec.code must be a string for 'nodejs:20' actions" },
		{ "{\"exec\":{\"kind\":\"nodejs:default\",\"code\":{}}}", "exec.code must be a string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\",\"main\":1}}",
		  "exec.main must be a string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"publish\":\"yes\"}",
		  "publish must be a boolean" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"parameters\":{\"a\":1}}",
		  "parameters must be an array of {\"key\": string, \"value\": any}" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},"
		  "\"parameters\":[{\"key\":\"a\",\"value\":1},{\"value\":2}]}",
		  "parameters[1]: key must be a non-empty string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"parameters\":[{\"key\":3}]}",
		  "parameters[0]: key must be a non-empty string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"parameters\":[\"a\"]}",
		  "parameters[0]: key must be a non-empty string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"parameters\":[{\"key\":\"\"}]}",
		  "parameters[0]: key must be a non-empty string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},"
		  "\"parameters\":[{\"key\":\"a\",\"init\":\"yes\"}]}",
		  "parameters[0]: init must be a boolean" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"annotations\":true}",
		  "annotations must be an array of {\"key\": string, \"value\": any}" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"annotations\":[{\"k\":1}]}",
		  "annotations[0]: key must be a non-empty string" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"delAnnotations\":\"a\"}",
		  "delAnnotations must be an array of strings" },
		{ "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"delAnnotations\":[\"a\",1]}",
		  "delAnnotations must be an array of strings" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_BUILD_FAILS(cases[i][0], NULL, -EINVAL, cases[i][1]);
	/* A NULL body is an empty one. */
	{
		cJSON *doc = NULL;
		struct err e;

		CHECK_INT_EQ(entity_action_build(config(), "guest", "x", NULL, NULL, NOW, &doc, &e),
			     -EINVAL);
		CHECK_STR_EQ(e.msg, "exec undefined");
		CHECK(doc == NULL);
	}
}

static void test_without_code_and_summary(void)
{
	_cleanup_json_ cJSON *old = parse(old_doc);
	_cleanup_json_ cJSON *nocode = NULL, *sum = NULL;

	REQUIRE(old);
	nocode = entity_action_without_code(old);
	CHECK_JSON(nocode, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.1\","
			   "\"publish\":false,\"exec\":{\"kind\":\"nodejs:20\",\"binary\":false},"
			   "\"parameters\":[{\"key\":\"p\",\"value\":1}],"
			   "\"limits\":{\"timeout\":1000,\"memory\":512,\"logs\":10,\"concurrency\":1},"
			   "\"annotations\":[{\"key\":\"a\",\"value\":1},"
			   "{\"key\":\"provide-api-key\",\"value\":false},"
			   "{\"key\":\"exec\",\"value\":\"nodejs:20\"}],\"updated\":1600000000000}");
	/* The original is untouched. */
	CHECK_STR_EQ(json_get_string(json_get_object(old, "exec"), "code"), "function main(){}");

	sum = entity_action_summary(old);
	CHECK_JSON(sum, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.1\","
			"\"publish\":false,\"annotations\":[{\"key\":\"a\",\"value\":1},"
			"{\"key\":\"provide-api-key\",\"value\":false},"
			"{\"key\":\"exec\",\"value\":\"nodejs:20\"}],"
			"\"limits\":{\"timeout\":1000,\"memory\":512,\"logs\":10,\"concurrency\":1},"
			"\"exec\":{\"binary\":false},\"updated\":1600000000000}");
	CHECK(entity_action_summary(NULL) == NULL);
	CHECK(entity_action_without_code(NULL) == NULL);
}

static void test_sizes(void)
{
	const size_t max = 48u * 1024 * 1024;
	char *code = malloc(max + 2);
	_cleanup_json_ cJSON *body = NULL, *doc = NULL;
	struct err e;
	cJSON *exec, *str;

	REQUIRE(code);
	memset(code, 'A', max + 1);
	code[max + 1] = '\0';
	body = cJSON_CreateObject();
	exec = cJSON_AddObjectToObject(body, "exec");
	REQUIRE(exec && cJSON_AddStringToObject(exec, "kind", "native"));
	/* A reference: the test need not hold two 48 MB copies. */
	str = cJSON_CreateStringReference(code);
	REQUIRE(str && cJSON_AddItemToObject(exec, "code", str));
	CHECK_INT_EQ(entity_action_build(config(), "guest", "big", body, NULL, NOW, &doc, &e), -E2BIG);
	CHECK_STR_EQ(e.msg, "exec larger than allowed: 50331649 > 50331648 bytes.");
	CHECK(doc == NULL);

	code[max] = '\0';   /* exactly 48 MB: accepted ('A' * 4n is "base64") */
	REQUIRE(entity_action_build(config(), "guest", "big", body, NULL, NOW, &doc, &e) == 0);
	CHECK(json_get_bool(json_get_object(doc, "exec"), "binary", false));
	CHECK_INT_EQ(strlen(json_get_string(json_get_object(doc, "exec"), "code")), max);
	json_delete(doc);
	doc = NULL;
	json_delete(body);
	body = NULL;
	free(code);

	/* Parameters and annotations: 1 MB each, measured as compact JSON. */
	for (int which = 0; which < 2; which++) {
		const char *field = which ? "annotations" : "parameters";
		const size_t vlen = 1024 * 1024 - 24;   /* [{"key":"k","value":"…"}] */
		char *v = malloc(vlen + 2);
		char want[128];
		cJSON *arr, *item;

		REQUIRE(v);
		memset(v, 'v', vlen + 1);
		v[vlen] = '\0';
		body = parse("{\"exec\":{\"kind\":\"native\",\"code\":\"x\"}}");
		REQUIRE(body);
		arr = cJSON_AddArrayToObject(body, field);
		item = cJSON_CreateObject();
		REQUIRE(arr && item && cJSON_AddItemToArray(arr, item));
		REQUIRE(cJSON_AddStringToObject(item, "key", "k"));
		str = cJSON_CreateStringReference(v);
		REQUIRE(str && cJSON_AddItemToObject(item, "value", str));
		if (which == 0) {
			/* 1048576 bytes exactly: fits. */
			CHECK_INT_EQ(entity_action_build(config(), "guest", "x", body, NULL, NOW, &doc, &e),
				     0);
			json_delete(doc);
			doc = NULL;
		}
		v[vlen] = 'v';   /* one byte more (annotations also gain the server's) */
		v[vlen + 1] = '\0';
		CHECK_INT_EQ(entity_action_build(config(), "guest", "x", body, NULL, NOW, &doc, &e),
			     -E2BIG);
		snprintf(want, sizeof(want), "%s larger than allowed: %zu > 1048576 bytes.", field,
			 which ? (size_t)1048577 + 40 + 32 : (size_t)1048577);
		CHECK_STR_EQ(e.msg, want);
		CHECK(doc == NULL);
		json_delete(body);
		body = NULL;
		free(v);
	}
}

static const char final_action[] =
	"{\"parameters\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":2},"
	"{\"key\":\"secret\",\"value\":\"s\",\"init\":true},{\"key\":\"open\",\"value\":null}],"
	"\"annotations\":[{\"key\":\"final\",\"value\":true}]}";

static void check_params(const char *action_text, const char *body_text, const char *want_params,
			 const char *want_env)
{
	_cleanup_json_ cJSON *action = parse(action_text);
	_cleanup_json_ cJSON *env = NULL;
	struct buf params = BUF_INIT;
	struct err e;

	REQUIRE(entity_invoke_args(action, body_text, body_text ? strlen(body_text) : 0, &params,
				   &env, &e) == 0);
	CHECK_STR_EQ(params.data, want_params);
	CHECK_JSON(env, want_env);
	buf_fini(&params);
}

static void test_invoke_params(void)
{
	static const char action[] =
		"{\"parameters\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":2},"
		"{\"key\":\"secret\",\"value\":\"s\",\"init\":true}],"
		"\"annotations\":[{\"key\":\"final\",\"value\":\"true\"}]}";   /* a string: not final */

	/* Parameters the body does not override, then the body's members as
	 * sent (compacted). */
	check_params(action, "{\"b\":3, \"c\":{ \"d\":[4]}}", "{\"a\":1,\"b\":3,\"c\":{\"d\":[4]}}",
		     "{\"secret\":\"s\"}");
	check_params(action, "{\"a\":3}", "{\"b\":2,\"a\":3}", "{\"secret\":\"s\"}");
	check_params(action, "{\"\\u0061\":3}", "{\"b\":2,\"\\u0061\":3}", "{\"secret\":\"s\"}");
	check_params(action, " null ", "{\"a\":1,\"b\":2}", "{\"secret\":\"s\"}");
	check_params(action, NULL, "{\"a\":1,\"b\":2}", "{\"secret\":\"s\"}");
	check_params(action, "null", "{\"a\":1,\"b\":2}", "{\"secret\":\"s\"}");
	/* A body value for an init parameter goes to the environment. */
	check_params(action, "{\"secret\":\"x\",\"z\":0}", "{\"a\":1,\"b\":2,\"z\":0}",
		     "{\"secret\":\"x\"}");
	check_params("{}", "{\"x\":1}", "{\"x\":1}", "{}");
	/* final: unbound and null-valued parameters stay settable. */
	check_params(final_action, "{\"c\":3,\"open\":4}", "{\"a\":1,\"b\":2,\"c\":3,\"open\":4}",
		     "{\"secret\":\"s\"}");
}

/* {"p":[[...]]} with `levels` arrays into buf; its length. */
static size_t nested_object(char *buf, int levels)
{
	size_t k = 0;

	memcpy(buf, "{\"p\":", 5);
	k = 5;
	for (int i = 0; i < levels; i++)
		buf[k++] = '[';
	for (int i = 0; i < levels; i++)
		buf[k++] = ']';
	buf[k++] = '}';
	return k;
}

static void test_invoke_params_errors(void)
{
	static const char *const bodies[] = { "{\"a\":9}", "{\"c\":1,\"b\":2}", "{\"secret\":\"x\"}" };
	_cleanup_json_ cJSON *action = parse(final_action);
	struct buf params = BUF_INIT;
	cJSON *env = NULL;
	struct err e;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		err_clear(&e);
		CHECK_INT_EQ(entity_invoke_args(action, bodies[i], strlen(bodies[i]), &params, &env,
						&e),
			     -EINVAL);
		CHECK_STR_EQ(e.msg, "Request defines parameters that are not allowed "
				    "(e.g., reserved properties).");
		CHECK(params.data == NULL && env == NULL);
	}
	CHECK_INT_EQ(entity_invoke_args(action, "[1]", 3, &params, &env, &e), -EINVAL);
	CHECK_STR_EQ(e.msg, "invoke parameters must be a JSON object");
	CHECK_INT_EQ(entity_invoke_args(action, "{\"a\":", 5, &params, &env, &e), -EINVAL);
	CHECK(params.data == NULL && env == NULL);
	/* Deeper than the envelopes leave room for: refused here, not by the
	 * runtime's proxy after the trip. {"p":[[...]]} is levels + 1 deep. */
	{
		char deep[1100];
		size_t k = nested_object(deep, JSCAN_MAX_DEPTH - 12);

		CHECK_INT_EQ(entity_invoke_args(action, deep, k, &params, &env, &e), -EINVAL);
		CHECK_STR_EQ(e.msg, "The arguments are nested too deeply: 501 levels, at most 500.");
		k = nested_object(deep, JSCAN_MAX_DEPTH - 13);
		REQUIRE(entity_invoke_args(action, deep, k, &params, &env, &e) == 0);
		buf_fini(&params);
		json_delete(env);
		env = NULL;
	}
}

/* Many keys must not be quadratic (this would take minutes if it were),
 * and the body's bytes go through as they are. */
static void test_invoke_params_many_keys(void)
{
	enum { N = 200000 };
	_cleanup_json_ cJSON *action = parse("{\"parameters\":[{\"key\":\"k7\",\"value\":\"bound\"},"
					     "{\"key\":\"z\",\"value\":1}]}");
	_cleanup_json_ cJSON *env = NULL, *params_tree = NULL;
	struct buf body = BUF_INIT, params = BUF_INIT;
	struct err e;

	REQUIRE(buf_puts(&body, "{") == 0);
	for (int i = 0; i < N; i++)
		REQUIRE(buf_printf(&body, "%s\"k%d\":%d", i ? "," : "", i, i) == 0);
	REQUIRE(buf_puts(&body, "}") == 0);
	REQUIRE(entity_invoke_args(action, body.data, body.len, &params, &env, &e) == 0);
	/* z stays, k7 is the body's: {"z":1,<the body's members>}. */
	CHECK_INT_EQ(params.len, body.len + 6);
	CHECK(memcmp(params.data, "{\"z\":1,", 7) == 0);
	CHECK(memcmp(params.data + 7, body.data + 1, body.len - 1) == 0);
	REQUIRE(json_parse(params.data, params.len, &params_tree, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(params_tree), N + 1);
	CHECK_INT_EQ(cJSON_GetObjectItem(params_tree, "k7")->valueint, 7);
	buf_fini(&body);
	buf_fini(&params);
}

static const struct entity_activation_info info = {
	.activation_id = "0123456789abcdef0123456789abcdef",
	.ns = "guest",
	.path = "guest/demo",
	.name = "hello",
	.version = "0.0.3",
	.kind = "nodejs:20",
	.timeout_ms = 60000,
	.memory_mb = 256,
	.logs_mb = 10,
	.concurrency = 1,
};

/* The printed record as a tree, after checking that the text is JSON
 * and that its result and logs slices are where the record says. */
static int record_tree(const struct entity_activation_info *i, const struct act_result *res,
		       cJSON **out, struct err *e)
{
	struct entity_record r;
	cJSON *tree = NULL;
	int rc = entity_record_print(i, res, &r, e);

	if (rc < 0)
		return rc;
	if (json_parse(r.text, r.len, &tree, e) < 0) {
		HARNESS_FAIL("record text is not JSON: %s", r.text);
		entity_record_fini(&r);
		return -EINVAL;
	}
	{
		const cJSON *resp = json_get_object(tree, "response");
		char *result = json_print(cJSON_GetObjectItemCaseSensitive(resp, "result"), NULL);
		char *logs = json_print(json_get_array(tree, "logs"), NULL);

		CHECK(result && strlen(result) == r.result_len &&
		      memcmp(r.text + r.result_at, result, r.result_len) == 0);
		CHECK(logs && strlen(logs) == r.logs_len &&
		      memcmp(r.text + r.logs_at, logs, r.logs_len) == 0);
		json_free(result);
		json_free(logs);
	}
	entity_record_fini(&r);
	*out = tree;
	return 0;
}

static cJSON *record_for(enum act_status st, const char *result, bool has_init)
{
	_cleanup_json_ cJSON *logs = parse("[\"2017-04-27T21:14:13.767813497Z stdout: hello\"]");
	struct act_result res = {
		.status = st,
		.start_ms = 1700000000000ULL,
		.end_ms = 1700000000042ULL,
		.wait_ms = 12,
		.init_ms = 35,
		.has_init = has_init,
		.timeout = st == ACT_DEVELOPER_ERROR,
		.logs = logs,
		.result = result,
		.result_len = result ? strlen(result) : 0,
	};
	cJSON *rec = NULL;
	struct err e;

	if (record_tree(&info, &res, &rec, &e) < 0)
		return NULL;
	return rec;
}

#define REC_HEAD                                                                    \
	"{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.3\",\"subject\":\"guest\"," \
	"\"publish\":false,\"activationId\":\"0123456789abcdef0123456789abcdef\","             \
	"\"start\":1700000000000,\"end\":1700000000042,\"duration\":42,"
#define REC_LOGS "\"logs\":[\"2017-04-27T21:14:13.767813497Z stdout: hello\"],"
#define REC_ANN(timeout)                                                                   \
	"\"annotations\":[{\"key\":\"limits\",\"value\":" DEF_LIMITS "},"                       \
	"{\"key\":\"path\",\"value\":\"guest/demo/hello\"},{\"key\":\"kind\",\"value\":\"nodejs:20\"}," \
	"{\"key\":\"timeout\",\"value\":" timeout "},{\"key\":\"waitTime\",\"value\":12}"

static void test_record_shapes(void)
{
	_cleanup_json_ cJSON *ok = record_for(ACT_SUCCESS, "{\"payload\":\"hi\"}", true);
	_cleanup_json_ cJSON *app = record_for(ACT_APPLICATION_ERROR, "{\"error\":\"boom\"}", false);
	_cleanup_json_ cJSON *dev = record_for(ACT_DEVELOPER_ERROR,
					       "{\"error\":\"The action exceeded its time limits of "
					       "60000 milliseconds.\"}", false);
	_cleanup_json_ cJSON *whisk = record_for(ACT_WHISK_ERROR,
						 "{\"error\":\"Failed to provision resources to run "
						 "the action.\"}", false);
	_cleanup_json_ cJSON *arr = record_for(ACT_SUCCESS, " [1, 2] ", false);

	CHECK_JSON(ok, REC_HEAD "\"response\":{\"status\":\"success\",\"statusCode\":0,\"success\":true,"
		       "\"result\":{\"payload\":\"hi\"},\"size\":16}," REC_LOGS REC_ANN("false")
		       ",{\"key\":\"initTime\",\"value\":35}]}");
	CHECK_JSON(app, REC_HEAD "\"response\":{\"status\":\"application error\",\"statusCode\":1,"
			"\"success\":false,\"result\":{\"error\":\"boom\"},\"size\":16}," REC_LOGS
			REC_ANN("false") "]}");
	CHECK_JSON(dev, REC_HEAD "\"response\":{\"status\":\"action developer error\","
			"\"statusCode\":2,\"success\":false,\"result\":{\"error\":\"The action exceeded "
			"its time limits of 60000 milliseconds.\"},\"size\":70}," REC_LOGS
			REC_ANN("true") "]}");
	CHECK_JSON(whisk, REC_HEAD "\"response\":{\"status\":\"whisk internal error\","
			  "\"statusCode\":3,\"success\":false,\"result\":{\"error\":\"Failed to "
			  "provision resources to run the action.\"},\"size\":60}," REC_LOGS
			  REC_ANN("false") "]}");
	CHECK_JSON(arr, REC_HEAD "\"response\":{\"status\":\"success\",\"statusCode\":0,\"success\":true,"
			"\"result\":[1,2],\"size\":8}," REC_LOGS REC_ANN("false") "]}");
}

static void test_record_unreadable_result(void)
{
	static const char *const bad[] = { "oops", "{\"a\":", "", NULL, "{} {}" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_json_ cJSON *rec = record_for(ACT_SUCCESS, bad[i], false);

		CHECK_JSON(json_get_object(rec, "response"),
			   "{\"status\":\"whisk internal error\",\"statusCode\":3,\"success\":false,"
			   "\"result\":{\"error\":\"The action's result could not be read.\"},"
			   "\"size\":50}");
	}
}

static void test_record_edges(void)
{
	_cleanup_json_ cJSON *rec = NULL;
	struct entity_activation_info i2 = info;
	struct act_result res = { .status = (enum act_status)7, .start_ms = 10, .end_ms = 5,
				  .result = "{}", .result_len = 2 };
	struct err e;

	/* No logs array -> [], end before start -> 0, unknown status -> 3. */
	REQUIRE(record_tree(&info, &res, &rec, &e) == 0);
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(rec, "logs"), "[]");
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(rec, "duration"), "0");
	CHECK_JSON(json_get_object(rec, "response"),
		   "{\"status\":\"whisk internal error\",\"statusCode\":3,\"success\":false,"
		   "\"result\":{},\"size\":2}");
	json_delete(rec);
	rec = NULL;
	i2.kind = NULL;
	CHECK_INT_EQ(record_tree(&i2, &res, &rec, &e), -EINVAL);
	CHECK(rec == NULL);
}

static void test_activation_summary(void)
{
	_cleanup_json_ cJSON *rec = record_for(ACT_APPLICATION_ERROR, "{\"error\":\"x\"}", true);
	_cleanup_json_ cJSON *sum = NULL, *sum2 = NULL, *sum3 = NULL;
	_cleanup_json_ cJSON *upstream = parse(
		"{\"namespace\":\"guest\",\"name\":\"t\",\"version\":\"0.0.1\",\"publish\":false,"
		"\"activationId\":\"aa\",\"start\":5,\"cause\":\"bb\","
		"\"response\":{\"status\":\"action developer error\",\"success\":false}}");

	REQUIRE(rec);
	sum = entity_activation_summary(rec);
	CHECK_JSON(sum, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.3\","
			"\"publish\":false," REC_ANN("false") ",{\"key\":\"initTime\",\"value\":35}],"
			"\"activationId\":\"0123456789abcdef0123456789abcdef\","
			"\"start\":1700000000000,\"end\":1700000000042,\"duration\":42,\"statusCode\":1}");
	/* cause kept; statusCode from the status string when the record lacks
	 * it; no end/duration for an unfinished record. */
	sum2 = entity_activation_summary(upstream);
	CHECK_JSON(sum2, "{\"namespace\":\"guest\",\"name\":\"t\",\"version\":\"0.0.1\","
			 "\"publish\":false,\"activationId\":\"aa\",\"start\":5,\"cause\":\"bb\","
			 "\"statusCode\":2}");
	cJSON_DeleteItemFromObjectCaseSensitive(upstream, "response");
	sum3 = entity_activation_summary(upstream);
	CHECK(cJSON_GetObjectItemCaseSensitive(sum3, "statusCode") == NULL);
	CHECK(entity_activation_summary(NULL) == NULL);
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void test_activation_id(void)
{
	char a[33], b[33];

	memset(a, 'X', sizeof(a));
	memset(b, 'X', sizeof(b));
	entity_activation_id(a);
	entity_activation_id(b);
	CHECK_INT_EQ(strlen(a), 32);
	CHECK_INT_EQ(strlen(b), 32);
	CHECK(is_lower_hex(a, 32));
	CHECK(is_lower_hex(b, 32));
	CHECK(strcmp(a, b) != 0);
	/* Made later (past the millisecond): sorts later. */
	usleep(2000);
	entity_activation_id(b);
	CHECK(strcmp(a, b) < 0);
	CHECK(strncmp(a, b, 8) == 0 || strncmp(a, b, 4) == 0); /* the time prefix, not random */
}

/* Logs filled in after an early result, and a tree printed the same way:
 * the result slice never moves, the text stays one JSON document. */
static void test_record_logs_later(void)
{
	static const char result[] = "{\"error\": \"x\\u0001\"}";
	struct act_result res = { .status = ACT_APPLICATION_ERROR, .start_ms = 1, .end_ms = 3,
				  .result = result, .result_len = sizeof(result) - 1 };
	_cleanup_json_ cJSON *logs = parse("[\"one\",\"two \\\"quoted\\\"\"]"), *tree = NULL;
	struct entity_record r, t;
	struct err e = { 0 };
	cJSON *back = NULL;

	REQUIRE(entity_record_print(&info, &res, &r, &e) == 0);
	CHECK_INT_EQ(r.status_code, 1);
	CHECK_INT_EQ(r.logs_len, 2);
	REQUIRE(entity_record_set_logs(&r, logs, &e) == 0);
	CHECK(memcmp(r.text + r.result_at, "{\"error\":\"x\\u0001\"}", r.result_len) == 0);
	CHECK(memcmp(r.text + r.logs_at, "[\"one\",\"two \\\"quoted\\\"\"]", r.logs_len) == 0);
	REQUIRE(json_parse(r.text, r.len, &tree, &e) == 0);
	CHECK_JSON(json_get_array(tree, "logs"), "[\"one\",\"two \\\"quoted\\\"\"]");
	CHECK_INT_EQ(r.start_ms, 1);
	CHECK_INT_EQ(r.end_ms, 3);
	/* entity_record_of: the tree is printed alike and left as it was. */
	REQUIRE(entity_record_of(tree, &t, &e) == 0);
	CHECK_INT_EQ(t.len, r.len);
	CHECK(memcmp(t.text, r.text, r.len) == 0);
	CHECK_INT_EQ(t.result_at, r.result_at);
	CHECK_INT_EQ(t.status_code, 1);
	REQUIRE(json_parse(t.text, t.len, &back, &e) == 0);
	CHECK(cJSON_Compare(back, tree, true));
	json_delete(back);
	entity_record_fini(&t);
	entity_record_fini(&r);
	json_delete(cJSON_DetachItemFromObjectCaseSensitive(tree, "logs"));
	CHECK_INT_EQ(entity_record_of(tree, &t, &e), -EINVAL);
}

HARNESS_MAIN("entity",
	     TEST_CASE(test_record_logs_later),
	     TEST_CASE(test_create_minimal),
	     TEST_CASE(test_create_full),
	     TEST_CASE(test_kind_default),
	     TEST_CASE(test_kind_unknown),
	     TEST_CASE(test_sequence_exec),
	     TEST_CASE(test_trigger_rule_package_docs),
	     TEST_CASE(test_params_inherit),
	     TEST_CASE(test_trigger_and_sequence_records),
	     TEST_CASE(test_blackbox),
	     TEST_CASE(test_action_image),
	     TEST_CASE(test_binary_detection),
	     TEST_CASE(test_limit_messages),
	     TEST_CASE(test_limits_follow_config),
	     TEST_CASE(test_update_keeps_and_merges),
	     TEST_CASE(test_version),
	     TEST_CASE(test_wrong_types),
	     TEST_CASE(test_without_code_and_summary),
	     TEST_CASE(test_sizes),
	     TEST_CASE(test_invoke_params),
	     TEST_CASE(test_invoke_params_errors),
	     TEST_CASE(test_invoke_params_many_keys),
	     TEST_CASE(test_record_shapes),
	     TEST_CASE(test_record_unreadable_result),
	     TEST_CASE(test_record_edges),
	     TEST_CASE(test_activation_summary),
	     TEST_CASE(test_activation_id))
