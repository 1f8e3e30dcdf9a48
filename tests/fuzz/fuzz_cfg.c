/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the configuration loader (cfg_load_string; cfg_load reads
 * the file into the same buffer path). Any YAML is loaded over the
 * defaults; an accepted configuration must pass cfg_validate again and
 * give sane derived values, a rejected one must say why. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

#include "common/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c = malloc(sizeof(*c));
	struct err e = { 0 };
	char *s;

	if (!c)
		return 0;
	s = fuzz_cstr(data, size);
	if (!s) {
		free(c);
		return 0;
	}
	cfg_defaults(c);
	if (cfg_load_string(c, s, "fuzz.yaml", &e) == 0) {
		if (cfg_validate(c, &e) != 0 || c->key_count == 0 || c->key_count > CFG_MAX_KEYS ||
		    c->kind_count > CFG_MAX_KINDS || c->invokers.cpu_count > CFG_MAX_CPUS)
			abort();
		if (cfg_invoker_count(c) == 0)
			abort();
		(void)cfg_invoker_cpu(c, 0);
		(void)cfg_invoker_cpu(c, 12345);
	} else if (e.code >= 0 || !e.msg[0]) {
		abort();
	}
	{
		uint64_t b;

		(void)!cfg_size_parse(s, &b);
	}
	free(s);
	free(c);
	return 0;
}
