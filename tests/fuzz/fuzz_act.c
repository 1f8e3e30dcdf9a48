/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: activation messages crossing the shared-memory queue. The
 * controller parses completions written by invokers (which run untrusted
 * actions' results through) and builds activation records from them; the
 * invoker parses requests. A crashed or compromised invoker must not take
 * the controller down, so both decoders and the record builder get
 * arbitrary payloads. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

#include "common/act.h"
#include "controller/entity.h"
#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct act_result res = { 0 };
	struct act_request rq = { 0 };
	struct err e = { 0 };

	if (act_result_parse(p, size, &res, &e) == 0) {
		const struct entity_activation_info info = {
			.activation_id = "0123456789abcdef0123456789abcdef",
			.ns = "guest", .path = "guest", .name = "a", .version = "0.0.1",
			.kind = "nodejs:20", .timeout_ms = 1000, .memory_mb = 256, .logs_mb = 10,
			.concurrency = 1,
		};
		struct entity_record r;
		cJSON *rec = NULL;

		if (res.result_len > size)
			abort();
		if (entity_record_print(&info, &res, &r, &e) == 0) {
			cJSON *sum;

			/* The spliced text must be one JSON document. */
			if (json_parse(r.text, r.len, &rec, &e) < 0 || !json_get_object(rec, "response"))
				abort();
			sum = entity_activation_summary(rec);
			json_delete(sum);
			json_delete(rec);
			entity_record_fini(&r);
		}
		act_result_fini(&res);
	}
	if (act_request_parse(p, size, &rq, &e) == 0) {
		char key[1024];

		if (rq.value_len > size)
			abort();
		(void)act_request_key(&rq, key, sizeof(key));
		act_request_fini(&rq);
	}
	return 0;
}
