/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/cfg: defaults, the example config, every error class
 * with its file:line:col: key prefix, size parsing and invoker placement.
 * Runs from the repo root (reads config/edgewhisk.yaml). */
#include "common/cfg.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"

#define EXAMPLE "config/edgewhisk.yaml"
#define GUEST_UUID "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
#define GUEST_KEY "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

/* Each config case gets a fresh heap struct so ASan sees any overrun. */
static struct cfg *cfg_fresh(void)
{
	struct cfg *c = malloc(sizeof(*c));

	if (c)
		cfg_defaults(c);
	return c;
}

static int load_str(struct cfg *c, const char *yaml, struct err *e)
{
	err_clear(e);
	return cfg_load_string(c, yaml, "t.yaml", e);
}

/* Load `yaml` over the defaults and expect -EINVAL with a message that
 * starts with `prefix` ("t.yaml:LINE:COL: key: ..."). */
static void expect_fail(const char *yaml, const char *prefix)
{
	struct cfg *c = cfg_fresh();
	struct err e;
	int r;

	REQUIRE(c != NULL);
	r = load_str(c, yaml, &e);
	CHECK_INT_EQ(r, -EINVAL);
	CHECK_INT_EQ(e.code, -EINVAL);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
		HARNESS_FAIL("message \"%s\" does not start with \"%s\"", e.msg, prefix);
	free(c);
}

static void expect_ok(const char *yaml)
{
	struct cfg *c = cfg_fresh();
	struct err e;
	int r;

	REQUIRE(c != NULL);
	r = load_str(c, yaml, &e);
	if (r != 0)
		HARNESS_FAIL("load failed (%d): %s", r, e.msg);
	free(c);
}

static void test_defaults(void)
{
	struct cfg c;
	struct err e;

	memset(&c, 0xa5, sizeof(c));
	cfg_defaults(&c);
	CHECK_STR_EQ(c.api.address, "127.0.0.1");
	CHECK_INT_EQ(c.api.port, 3233);
	CHECK_INT_EQ(c.key_count, 1);
	CHECK_STR_EQ(c.keys[0].uuid, GUEST_UUID);
	CHECK_STR_EQ(c.keys[0].key, GUEST_KEY);
	CHECK_STR_EQ(c.keys[0].namespace, "guest");
	CHECK_STR_EQ(c.state_dir, "/var/lib/edgewhisk");
	CHECK_STR_EQ(c.log_level, "info");
	CHECK_STR_EQ(c.queue.name, "/edgewhisk-act-v1");
	CHECK_INT_EQ(c.queue.slots, 1024);
	CHECK_INT_EQ(c.queue.max_payload_bytes, 1048576);
	CHECK_INT_EQ(c.invokers.count, 0);
	CHECK_INT_EQ(c.invokers.cpu_count, 0);
	CHECK_INT_EQ(c.invokers.user_memory_mb, 1024);
	CHECK_STR_EQ(c.docker.socket, "/var/run/docker.sock");
	REQUIRE(c.kind_count == 3);
	CHECK_STR_EQ(c.kinds[0].name, "nodejs:20");
	CHECK_STR_EQ(c.kinds[0].image, "edgewhisk/action-nodejs:1");
	CHECK(c.kinds[0].is_default);
	CHECK_INT_EQ(c.kinds[0].prewarm, 0);
	CHECK_STR_EQ(c.kinds[1].name, "python:3.11");
	CHECK_STR_EQ(c.kinds[1].image, "edgewhisk/action-python:1");
	CHECK(c.kinds[1].is_default);
	CHECK_INT_EQ(c.kinds[1].prewarm, 0);
	CHECK_STR_EQ(c.kinds[2].name, "native");
	CHECK_STR_EQ(c.kinds[2].image, "edgewhisk/action-native:1");
	CHECK(!c.kinds[2].is_default);
	CHECK_INT_EQ(c.kinds[2].prewarm, 1);
	CHECK_INT_EQ(c.limits.timeout_ms.def, 60000);
	CHECK_INT_EQ(c.limits.timeout_ms.min, 100);
	CHECK_INT_EQ(c.limits.timeout_ms.max, 300000);
	CHECK_INT_EQ(c.limits.memory_mb.def, 256);
	CHECK_INT_EQ(c.limits.memory_mb.min, 128);
	CHECK_INT_EQ(c.limits.memory_mb.max, 512);
	CHECK_INT_EQ(c.limits.logs_mb.def, 10);
	CHECK_INT_EQ(c.limits.logs_mb.min, 0);
	CHECK_INT_EQ(c.limits.logs_mb.max, 10);
	CHECK_INT_EQ(c.limits.payload_bytes.def, 1048576);
	CHECK_INT_EQ(c.limits.payload_bytes.min, 0);
	CHECK_INT_EQ(c.limits.payload_bytes.max, 1048576);
	CHECK_INT_EQ(c.limits.invocations_per_minute, 60000);
	CHECK_INT_EQ(c.limits.concurrent_invocations, 1000);
	err_clear(&e);
	CHECK_INT_EQ(cfg_validate(&c, &e), 0);
	CHECK_STR_EQ(e.msg, "");
}

static void test_example_file(void)
{
	struct cfg *c = cfg_fresh(), *d = cfg_fresh();
	struct err e;
	int r;

	REQUIRE(c != NULL && d != NULL);
	/* Start from garbage-free but non-default values to prove the file
	 * sets every key it shows. */
	c->api.port = 1;
	c->queue.slots = 16;
	c->invokers.count = 7;
	c->invokers.user_memory_mb = 4096;
	c->kind_count = 1;
	err_clear(&e);
	r = cfg_load(c, EXAMPLE, &e);
	if (r != 0)
		HARNESS_FAIL("cfg_load(%s) = %d: %s", EXAMPLE, r, e.msg);
	CHECK_STR_EQ(c->api.address, "127.0.0.1");
	CHECK_INT_EQ(c->api.port, 3233);
	CHECK_INT_EQ(c->key_count, 1);
	CHECK_STR_EQ(c->keys[0].uuid, GUEST_UUID);
	CHECK_STR_EQ(c->keys[0].key, GUEST_KEY);
	CHECK_STR_EQ(c->keys[0].namespace, "guest");
	CHECK_STR_EQ(c->state_dir, "/var/lib/edgewhisk");
	CHECK_STR_EQ(c->log_level, "info");
	CHECK_INT_EQ(c->queue.slots, 1024);
	CHECK_INT_EQ(c->queue.max_payload_bytes, 1048576);
	CHECK_INT_EQ(c->invokers.count, 0);
	CHECK_INT_EQ(c->invokers.cpu_count, 0);
	CHECK_INT_EQ(c->invokers.user_memory_mb, 1024);
	CHECK_INT_EQ(c->kind_count, 3);
	/* The example documents the defaults: loading it changes nothing. */
	CHECK(memcmp(c, d, sizeof(*c)) == 0);
	free(c);
	free(d);
}

static void test_overrides(void)
{
	struct cfg *c = cfg_fresh();
	struct err e;
	int r;

	REQUIRE(c != NULL);
	r = load_str(c,
		     "api: {address: 0.0.0.0, port: 8080}\n"
		     "auth:\n"
		     "  - uuid: 789C46B1-71F6-4ED5-8C54-816AA4F8C502\n"
		     "    key: abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP\n"
		     "    namespace: whisk.system\n"
		     "log_level: debug\n"
		     "queue: {slots: 16, max_payload: 4m}\n"
		     "invokers: {count: 3, cpus: [1, 2, 3], user_memory: 2g}\n"
		     "runtimes:\n"
		     "  go:1.21: {image: 'x/go:1', default: true, prewarm: 2}\n"
		     "limits:\n"
		     "  timeout: {max: 600000}\n"
		     "  memory: {max: 1g}\n"
		     "  payload: {default: 2m, max: 4m}\n"
		     "  invocations_per_minute: 60\n"
		     "  concurrent_invocations: 0\n",
		     &e);
	if (r != 0)
		HARNESS_FAIL("load failed (%d): %s", r, e.msg);
	CHECK_STR_EQ(c->api.address, "0.0.0.0");
	CHECK_INT_EQ(c->api.port, 8080);
	CHECK_INT_EQ(c->key_count, 1); /* replaced, not appended */
	CHECK_STR_EQ(c->keys[0].namespace, "whisk.system");
	CHECK_STR_EQ(c->log_level, "debug");
	CHECK_INT_EQ(c->queue.slots, 16);
	CHECK_INT_EQ(c->queue.max_payload_bytes, 4 << 20);
	CHECK_INT_EQ(c->invokers.count, 3);
	CHECK_INT_EQ(c->invokers.cpu_count, 3);
	CHECK_INT_EQ(c->invokers.user_memory_mb, 2048);
	REQUIRE(c->kind_count == 1); /* replaced, not appended */
	CHECK_STR_EQ(c->kinds[0].name, "go:1.21");
	CHECK_STR_EQ(c->kinds[0].image, "x/go:1");
	CHECK(c->kinds[0].is_default);
	CHECK_INT_EQ(c->kinds[0].prewarm, 2);
	CHECK_INT_EQ(c->limits.timeout_ms.def, 60000); /* untouched keys keep defaults */
	CHECK_INT_EQ(c->limits.timeout_ms.max, 600000);
	CHECK_INT_EQ(c->limits.memory_mb.max, 1024);
	CHECK_INT_EQ(c->limits.payload_bytes.def, 2 << 20);
	CHECK_INT_EQ(c->limits.payload_bytes.max, 4 << 20);
	CHECK_INT_EQ(c->limits.invocations_per_minute, 60);
	CHECK_INT_EQ(c->limits.concurrent_invocations, 0);
	free(c);
}

static void test_empty_inputs(void)
{
	expect_ok("");
	expect_ok("# only a comment\n");
	expect_ok("---\n");
	expect_ok("---\n...\n");
	expect_ok("invokers:\n  cpus: []\n");
}

static void test_unknown_key(void)
{
	expect_fail("api:\n  port: 80\nbogus: 1\n", "t.yaml:3:1: bogus: unknown key");
	expect_fail("api:\n  port: 80\n  bogus: x\n", "t.yaml:3:3: api.bogus: unknown key");
	expect_fail("limits:\n  timeout:\n    dflt: 5\n",
		    "t.yaml:3:5: limits.timeout.dflt: unknown key");
	expect_fail("auth:\n  - uuid: " GUEST_UUID "\n    secret: x\n",
		    "t.yaml:3:5: auth[0].secret: unknown key");
	expect_fail("runtimes:\n  native: {image: a, warm: 1}\n",
		    "t.yaml:2:22: runtimes.native.warm: unknown key");
	/* Control bytes in a key are escaped, not copied into the message. */
	expect_fail("\"b\\x01d\": 1\n", "t.yaml:1:1: b\\x01d: unknown key");
}

static void test_containers_section(void)
{
	struct cfg *c = cfg_fresh();
	struct err e;

	REQUIRE(c != NULL);
	CHECK_INT_EQ(c->containers.pause_grace_ms, 500);
	CHECK_STR_EQ(c->containers.network, "bridge");
	CHECK_INT_EQ(load_str(c, "containers:\n  pause_grace: 0\n  network: ewnet\n  nofile: 4096\n",
			      &e), 0);
	CHECK_INT_EQ(c->containers.pause_grace_ms, 0);
	CHECK_STR_EQ(c->containers.network, "ewnet");
	CHECK_INT_EQ(c->containers.nofile, 4096);
	CHECK_INT_EQ(c->containers.pids_limit, 1024);
	CHECK_INT_EQ(load_str(c, "containers:\n  network: none\n", &e), 0);
	CHECK_STR_EQ(c->containers.network, "none");
	free(c);
	expect_fail("containers:\n  network: host\n", "t.yaml:2:12: containers.network: \"host\" is not");
	expect_fail("containers:\n  network: container:x\n",
		    "t.yaml:2:12: containers.network: \"container:x\" is not");
	expect_fail("containers:\n  pids_limit: 3\n", "t.yaml:2:15: containers.pids_limit: 3 is out");
	expect_fail("containers:\n  idle: 3\n", "t.yaml:2:3: containers.idle: unknown key");
}

static void test_duplicate_key(void)
{
	expect_fail("api:\n  port: 80\n  port: 81\n",
		    "t.yaml:3:3: api.port: duplicate key (first at line 2)");
	expect_fail("runtimes:\n  a: {image: x}\n  a: {image: y}\n",
		    "t.yaml:3:3: runtimes.a: duplicate key");
}

static void test_wrong_type(void)
{
	expect_fail("api: [1]\n", "t.yaml:1:6: api: expected a mapping, got a sequence");
	expect_fail("api:\n  port: {a: 1}\n",
		    "t.yaml:2:9: api.port: expected a scalar, got a mapping");
	expect_fail("api:\n  port: abc\n", "t.yaml:2:9: api.port: \"abc\" is not a number");
	expect_fail("api:\n  port: -1\n", "t.yaml:2:9: api.port: \"-1\" is not a number");
	expect_fail("api:\n  port: ' 80'\n", "t.yaml:2:9: api.port: \" 80\" is not a number");
	expect_fail("state_dir: [a]\n", "t.yaml:1:12: state_dir: expected a scalar");
	expect_fail("auth: guest\n", "t.yaml:1:7: auth: expected a sequence");
	expect_fail("auth:\n  - x\n", "t.yaml:2:5: auth[0]: expected a mapping, got a scalar");
	expect_fail("invokers:\n  cpus: 3\n", "t.yaml:2:9: invokers.cpus: expected a sequence");
	expect_fail("invokers:\n  cpus: [0, x]\n",
		    "t.yaml:2:13: invokers.cpus[1]: \"x\" is not a number");
	expect_fail("runtimes:\n  native: {image: a, default: yes}\n",
		    "t.yaml:2:31: runtimes.native.default: \"yes\" is not true or false");
	expect_fail("[1, 2]\n", "t.yaml:1:1: expected a mapping, got a sequence");
	expect_fail("? [a]\n: 1\n", "t.yaml:1:3: keys must be scalars");
	expect_fail("state_dir: \"/a\\0b\"\n", "t.yaml:1:12: state_dir: contains a NUL byte");
}

static void test_range(void)
{
	expect_fail("api:\n  port: 70000\n",
		    "t.yaml:2:9: api.port: \"70000\" is too large (max 65535)");
	/* Port 0 passes the parser and is caught by the checks, which must
	 * still point at the line. */
	expect_fail("api: {port: 0}\n", "t.yaml:1:13: api.port: 0 is out of range [1, 65535]");
	expect_fail("invokers:\n  count: 0\n", "t.yaml:2:10: invokers.count: \"0\" is out of range");
	expect_fail("invokers:\n  count: 65\n", "t.yaml:2:10: invokers.count: \"65\" is out of range");
	expect_fail("invokers:\n  count: many\n",
		    "t.yaml:2:10: invokers.count: \"many\" is not auto or a number");
	expect_fail("invokers:\n  cpus: [1024]\n",
		    "t.yaml:2:10: invokers.cpus[0]: \"1024\" is too large");
	expect_fail("invokers:\n  user_memory: 64m\n",
		    "t.yaml:2:16: invokers.user_memory: 64m is out of range");
	expect_fail("queue:\n  max_payload: 1k\n",
		    "t.yaml:2:16: queue.max_payload: 1k is out of range [4k, 64m]");
	expect_fail("queue:\n  max_payload: 128m\n",
		    "t.yaml:2:16: queue.max_payload: 128m is out of range [4k, 64m]");
	expect_fail("limits:\n  timeout: {default: 50}\n",
		    "t.yaml:2:22: limits.timeout.default: 50 is outside [100, 300000]");
	expect_fail("limits:\n  timeout:\n    min: 400000\n",
		    "t.yaml:3:10: limits.timeout.min: 400000 is larger than limits.timeout.max");
	expect_fail("limits:\n  memory: {max: 2g}\n",
		    "t.yaml:2:17: limits.memory.max: 2048m is larger than invokers.user_memory");
	expect_fail("limits:\n  memory: {min: 4m}\n",
		    "t.yaml:2:17: limits.memory.min: 4m is out of range");
	expect_fail("runtimes:\n  native: {image: a, prewarm: 17}\n",
		    "t.yaml:2:31: runtimes.native.prewarm: 17 is out of range [0, 16]");
	expect_fail("log_level: verbose\n",
		    "t.yaml:1:12: log_level: \"verbose\" is not one of error, warn, info, debug");
	expect_fail("state_dir: var/lib\n", "t.yaml:1:12: state_dir: must be an absolute path");
	expect_fail("docker:\n  socket: ''\n", "t.yaml:2:11: docker.socket: must not be empty");
	expect_fail("queue:\n  name: /a/b\n", "t.yaml:2:9: queue.name: \"/a/b\" must be");
	expect_ok("invokers:\n  count: 64\n");
	expect_ok("invokers:\n  count: 1\n  cpus: [1023]\n");
}

static void test_too_long(void)
{
	char yaml[512];

	snprintf(yaml, sizeof(yaml), "api:\n  address: %0100d\n", 0);
	expect_fail(yaml, "t.yaml:2:12: api.address: longer than 63 bytes");
	expect_fail("runtimes:\n  native: {image: a}\n  "
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: {image: b}\n",
		    "t.yaml:3:3: runtimes.aaaaaaaaaaaa");
	expect_fail("runtimes:\n  'a b': {image: x}\n",
		    "t.yaml:2:3: runtimes.a b: not a valid kind name");
}

static void test_bad_size(void)
{
	expect_fail("invokers:\n  user_memory: 12x\n",
		    "t.yaml:2:16: invokers.user_memory: \"12x\" is not a size (use e.g. 256m, 1g)");
	expect_fail("queue:\n  max_payload: lots\n",
		    "t.yaml:2:16: queue.max_payload: \"lots\" is not a size");
	expect_fail("limits:\n  memory: {default: 1500k}\n",
		    "t.yaml:2:21: limits.memory.default: \"1500k\" is not a whole number of megabytes");
	expect_fail("limits:\n  logs: {max: 99999999999999999999999}\n",
		    "t.yaml:2:15: limits.logs.max: \"99999999999999999999999\" is not a size");
}

static void test_slots_power_of_two(void)
{
	expect_fail("queue:\n  slots: 1000\n",
		    "t.yaml:2:10: queue.slots: 1000 is not a power of two in [16, 65536]");
	expect_fail("queue:\n  slots: 8\n", "t.yaml:2:10: queue.slots: 8 is not a power of two");
	expect_fail("queue:\n  slots: 131072\n", "t.yaml:2:10: queue.slots: 131072");
	expect_fail("queue:\n  slots: 4294967296\n",
		    "t.yaml:2:10: queue.slots: \"4294967296\" is too large");
	expect_ok("queue:\n  slots: 65536\n");
	expect_ok("queue:\n  slots: 16\n");
}

static void test_auth_errors(void)
{
	struct cfg *c = cfg_fresh();
	struct err e;

	expect_fail("auth:\n  - uuid: not-a-uuid\n    key: " GUEST_KEY "\n    namespace: guest\n",
		    "t.yaml:2:11: auth[0].uuid: \"not-a-uuid\" is not a UUID");
	expect_fail("auth:\n  - uuid: 23bc46b1-71f6-4ed5-8c54-816aa4f8c50g\n    key: " GUEST_KEY
		    "\n    namespace: guest\n",
		    "t.yaml:2:11: auth[0].uuid: ");
	expect_fail("auth:\n  - uuid: 23bc46b1x71f6-4ed5-8c54-816aa4f8c502\n    key: " GUEST_KEY
		    "\n    namespace: guest\n",
		    "t.yaml:2:11: auth[0].uuid: ");
	expect_fail("auth:\n  - uuid: " GUEST_UUID "\n    key: short123\n    namespace: guest\n",
		    "t.yaml:3:10: auth[0].key: must be exactly 64 letters or digits (got 8 characters)");
	expect_fail("auth:\n  - uuid: " GUEST_UUID "\n    key: " GUEST_KEY "x\n    namespace: guest\n",
		    "t.yaml:3:10: auth[0].key: longer than 64 bytes");
	expect_fail("auth:\n  - uuid: " GUEST_UUID
		    "\n    key: 123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIw-\n"
		    "    namespace: guest\n",
		    "t.yaml:3:10: auth[0].key: must be exactly 64 letters or digits");
	expect_fail("auth:\n  - uuid: " GUEST_UUID "\n    key: " GUEST_KEY "\n",
		    "t.yaml:2:5: auth[0].namespace: missing");
	expect_fail("auth:\n  - uuid: " GUEST_UUID "\n    key: " GUEST_KEY "\n    namespace: 'a b '\n",
		    "t.yaml:4:16: auth[0].namespace: \"a b \" is not a valid namespace name");
	expect_fail("auth:\n"
		    "  - {uuid: " GUEST_UUID ", key: " GUEST_KEY ", namespace: a}\n"
		    "  - {uuid: " GUEST_UUID ", key: " GUEST_KEY ", namespace: b}\n",
		    "t.yaml:3:12: auth[1].uuid: \"" GUEST_UUID "\" is already used by auth[0]");
	expect_fail("auth: []\n", "t.yaml:1:7: auth: at least one key is needed");

	/* The secret never appears in a message. */
	REQUIRE(c != NULL);
	CHECK_INT_EQ(load_str(c, "auth:\n  - uuid: " GUEST_UUID "\n    key: sekrit\n"
			      "    namespace: guest\n", &e), -EINVAL);
	CHECK(strstr(e.msg, "sekrit") == NULL);
	free(c);
}

static void test_kind_errors(void)
{
	expect_fail("runtimes:\n  \"python:3.12\": {image: a, default: true}\n"
		    "  \"python:3.11\": {image: b, default: true}\n",
		    "t.yaml:3:38: runtimes.python:3.11.default: python:3.12 is already the default");
	expect_ok("runtimes:\n  \"python:3.12\": {image: a, default: true}\n"
		  "  \"python:3.11\": {image: b}\n  \"nodejs:20\": {image: c, default: true}\n");
	expect_fail("runtimes:\n  native: {prewarm: 1}\n", "t.yaml:2:11: runtimes.native.image: missing");
	expect_fail("runtimes:\n  blackbox: {image: a}\n", "t.yaml:2:13: runtimes.blackbox: blackbox is built in");
	expect_fail("runtimes:\n  'go:default': {image: a}\n",
		    "t.yaml:2:17: runtimes.go:default: \":default\" is reserved");
	expect_fail("runtimes: [a]\n", "t.yaml:1:11: runtimes: expected a mapping");
	expect_ok("runtimes: {}\n");
}

static void test_payload_vs_queue(void)
{
	/* The offending key is in the file: point at it. */
	expect_fail("limits:\n  payload:\n    max: 2m\n",
		    "t.yaml:3:10: limits.payload.max: 2m is larger than queue.max_payload (1m)");
	/* limits.payload.max kept its default: point at the queue key that
	 * made it too large. */
	expect_fail("queue:\n  max_payload: 64k\n",
		    "t.yaml:2:16: limits.payload.max: 1m is larger than queue.max_payload (64k)");
	expect_ok("queue:\n  max_payload: 64k\nlimits:\n  payload: {default: 64k, max: 64k}\n");
}

static void test_syntax_error(void)
{
	struct cfg *c = cfg_fresh();
	struct err e;
	size_t line = 0, col = 0;
	int r;

	expect_fail("a: b: c\n", "t.yaml:1:5: invalid YAML: mapping values are not allowed");
	expect_fail("api:\n  port: 1\n bad\n", "t.yaml:3:");
	expect_fail("api: {port: 1\n", "t.yaml:2:1: invalid YAML: ");
	expect_fail("x: *nope\n", "t.yaml:1:4: invalid YAML: found undefined alias");
	/* Invalid UTF-8 comes from the reader, which only knows an offset. */
	expect_fail("api:\n  address: \xff\n", "t.yaml:2:12: invalid YAML: invalid leading UTF-8 octet");
	expect_fail("api: {port: 1}\n---\napi: {port: 2}\n",
		    "t.yaml:3:1: only one YAML document is allowed");
	expect_fail("api: {port: 1}\n---\n[\n", "t.yaml:4:1: invalid YAML");

	REQUIRE(c != NULL);
	r = load_str(c, "limits:\n  timeout: [1,\n", &e);
	CHECK_INT_EQ(r, -EINVAL);
	CHECK(sscanf(e.msg, "t.yaml:%zu:%zu: invalid YAML", &line, &col) == 2);
	CHECK(line >= 2 && col >= 1);
	free(c);
}

static void test_missing_file(void)
{
	struct cfg *c = cfg_fresh();
	struct err e;

	REQUIRE(c != NULL);
	err_clear(&e);
	CHECK_INT_EQ(cfg_load(c, "config/does-not-exist.yaml", &e), -ENOENT);
	CHECK_INT_EQ(e.code, -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "config/does-not-exist.yaml");
	err_clear(&e);
	CHECK_INT_EQ(cfg_load(c, "config", &e), -EISDIR);
	CHECK_STR_CONTAINS(e.msg, "config");
	free(c);
}

static void test_validate_direct(void)
{
	struct cfg *c = cfg_fresh();
	struct err e;

	REQUIRE(c != NULL);
	c->queue.slots = 1000;
	err_clear(&e);
	CHECK_INT_EQ(cfg_validate(c, &e), -EINVAL);
	/* No file: the message starts at the key. */
	CHECK_STR_EQ(e.msg, "queue.slots: 1000 is not a power of two in [16, 65536]");

	cfg_defaults(c);
	c->limits.payload_bytes.max = 2 << 20;
	CHECK_INT_EQ(cfg_validate(c, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "limits.payload.max: 2m is larger than queue.max_payload (1m)");

	/* Counts past the arrays and unterminated strings are reported, not
	 * read out of bounds. */
	cfg_defaults(c);
	c->kind_count = CFG_MAX_KINDS + 1;
	CHECK_INT_EQ(cfg_validate(c, &e), -EINVAL);
	cfg_defaults(c);
	c->key_count = 1000;
	CHECK_INT_EQ(cfg_validate(c, &e), -EINVAL);
	cfg_defaults(c);
	c->invokers.cpu_count = CFG_MAX_CPUS + 1;
	CHECK_INT_EQ(cfg_validate(c, &e), -EINVAL);
	cfg_defaults(c);
	memset(c->state_dir, 'a', sizeof(c->state_dir));
	CHECK_INT_EQ(cfg_validate(c, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "state_dir: not NUL-terminated");
	cfg_defaults(c);
	c->kinds[1].is_default = true;
	c->kinds[0].name[0] = 'p'; /* "podejs:20" stays its own family */
	CHECK_INT_EQ(cfg_validate(c, &e), 0);
	CHECK_INT_EQ(cfg_validate(NULL, &e), -EINVAL);
	cfg_defaults(c);
	c->queue.slots = 3;
	CHECK_INT_EQ(cfg_validate(c, NULL), -EINVAL); /* NULL err is fine */
	free(c);
}

static void test_size_parse(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "1024m", 1024ull << 20 }, { "1g", 1ull << 30 }, { "512K", 512ull << 10 },
		{ "100", 100 }, { "1mb", 1ull << 20 }, { "1MB", 1ull << 20 }, { "4kB", 4096 },
		{ "0", 0 }, { "7b", 7 }, { "18446744073709551615", UINT64_MAX },
		{ "17179869183g", 17179869183ull << 30 },
	};
	static const char *const bad[] = {
		"", "m", "12x", "-1", "+1", " 1", "1 ", "1 m", "1.5g", "1mm", "1bb", "1t",
		"0x10", "18446744073709551616", "17179869184g", "99999999999999999999m",
		"1m\n",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		if (cfg_size_parse(good[i].s, &v) != 0 || v != good[i].v)
			HARNESS_FAIL("cfg_size_parse(\"%s\") -> %" PRIu64 ", want %" PRIu64,
				     good[i].s, v, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (cfg_size_parse(bad[i], &v) != -EINVAL || v != 12345)
			HARNESS_FAIL("cfg_size_parse(\"%s\") accepted or wrote %" PRIu64, bad[i], v);
	}
	CHECK_INT_EQ(cfg_size_parse(NULL, &v), -EINVAL);
	CHECK_INT_EQ(cfg_size_parse("1", NULL), -EINVAL);
}

static void test_invoker_count(void)
{
	struct cfg *c = cfg_fresh();
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t want;
	struct err e;

	REQUIRE(c != NULL);
	REQUIRE(online >= 1);
	want = online > 64 ? 64 : (uint32_t)online;
	CHECK_INT_EQ(cfg_invoker_count(c), want);
	CHECK_INT_EQ(load_str(c, "invokers:\n  count: 5\n", &e), 0);
	CHECK_INT_EQ(cfg_invoker_count(c), 5);
	CHECK_INT_EQ(load_str(c, "invokers:\n  count: auto\n", &e), 0);
	CHECK_INT_EQ(c->invokers.count, 0);
	CHECK_INT_EQ(cfg_invoker_count(c), want);
	free(c);
}

static void test_cpu_mapping(void)
{
	struct cfg *c = cfg_fresh();
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	struct err e;

	REQUIRE(c != NULL);
	REQUIRE(online >= 1);
	for (uint32_t id = 0; id < 130; id++)
		CHECK_INT_EQ(cfg_invoker_cpu(c, id), id % (uint32_t)online);
	CHECK_INT_EQ(load_str(c, "invokers:\n  cpus: [2, 3, 7]\n", &e), 0);
	CHECK_INT_EQ(c->invokers.cpu_count, 3);
	CHECK_INT_EQ(cfg_invoker_cpu(c, 0), 2);
	CHECK_INT_EQ(cfg_invoker_cpu(c, 1), 3);
	CHECK_INT_EQ(cfg_invoker_cpu(c, 2), 7);
	CHECK_INT_EQ(cfg_invoker_cpu(c, 3), 2);
	CHECK_INT_EQ(cfg_invoker_cpu(c, UINT32_MAX), UINT32_MAX % 3 == 0 ? 2 : UINT32_MAX % 3 == 1 ? 3 : 7);
	/* A later file's list replaces the earlier one. */
	CHECK_INT_EQ(load_str(c, "invokers:\n  cpus:\n    - 5\n", &e), 0);
	CHECK_INT_EQ(c->invokers.cpu_count, 1);
	CHECK_INT_EQ(cfg_invoker_cpu(c, 9), 5);
	free(c);
}

static void test_limits_caps(void)
{
	char yaml[1024];
	size_t o = 0;

	/* 64 CPUs fit, the 65th is refused at its own position. */
	o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "invokers:\n  cpus: [");
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "%s%d", i ? ", " : "", i);
	snprintf(yaml + o, sizeof(yaml) - o, "]\n");
	expect_fail(yaml, "t.yaml:2:");

	o = (size_t)snprintf(yaml, sizeof(yaml), "runtimes:\n");
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "  k%d: {image: x}\n", i);
	REQUIRE(o < sizeof(yaml));
	expect_fail(yaml, "t.yaml:34:3: runtimes: more than 32 kinds");
}

/* Deterministic mutations of the example file: every result must be either
 * success or an error with a message; ASan/UBSan catch the rest. */
static void test_mutations(void)
{
	FILE *f = fopen(EXAMPLE, "rb");
	char *orig = NULL, *buf = NULL;
	struct cfg *c = NULL;
	uint32_t seed = 12345;
	size_t len;
	long sz;

	REQUIRE(f != NULL);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	sz = ftell(f);
	rewind(f);
	REQUIRE(sz > 0);
	len = (size_t)sz;
	orig = malloc(len + 1);
	buf = malloc(len + 1);
	c = malloc(sizeof(*c));
	if (!orig || !buf || !c || fread(orig, 1, len, f) != len) {
		HARNESS_FAIL("setup failed");
		goto out;
	}
	orig[len] = '\0';
	for (int iter = 0; iter < 3000; iter++) {
		static const char pool[] = " \n\t:-[]{}&*!|>'\"#%@`,?0123456789abkmgx\\\x01\x80\xff";
		struct err e;
		int r, edits;

		memcpy(buf, orig, len + 1);
		seed = seed * 1103515245u + 12345u;
		edits = 1 + (int)((seed >> 16) % 4);
		for (int k = 0; k < edits; k++) {
			size_t pos;

			seed = seed * 1103515245u + 12345u;
			pos = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			buf[pos] = pool[(seed >> 16) % (sizeof(pool) - 1)];
		}
		cfg_defaults(c);
		err_clear(&e);
		r = cfg_load_string(c, buf, "m.yaml", &e);
		if (r != 0 && (e.code != r || e.msg[0] == '\0'))
			HARNESS_FAIL("iteration %d: %d without a message", iter, r);
		if (r == 0 && cfg_validate(c, &e) != 0)
			HARNESS_FAIL("iteration %d: loaded but invalid: %s", iter, e.msg);
	}
out:
	free(orig);
	free(buf);
	free(c);
	fclose(f);
}

HARNESS_MAIN("cfg",
	     TEST_CASE(test_containers_section),
	     TEST_CASE(test_defaults),
	     TEST_CASE(test_example_file),
	     TEST_CASE(test_overrides),
	     TEST_CASE(test_empty_inputs),
	     TEST_CASE(test_unknown_key),
	     TEST_CASE(test_duplicate_key),
	     TEST_CASE(test_wrong_type),
	     TEST_CASE(test_range),
	     TEST_CASE(test_too_long),
	     TEST_CASE(test_bad_size),
	     TEST_CASE(test_slots_power_of_two),
	     TEST_CASE(test_auth_errors),
	     TEST_CASE(test_kind_errors),
	     TEST_CASE(test_payload_vs_queue),
	     TEST_CASE(test_syntax_error),
	     TEST_CASE(test_missing_file),
	     TEST_CASE(test_validate_direct),
	     TEST_CASE(test_size_parse),
	     TEST_CASE(test_invoker_count),
	     TEST_CASE(test_cpu_mapping),
	     TEST_CASE(test_limits_caps),
	     TEST_CASE(test_mutations))
