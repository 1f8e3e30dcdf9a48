/* SPDX-License-Identifier: Apache-2.0 */
/* cJSON wrapper (see json.h). */
#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "common/jscan.h"

int json_parse_bounded(const char *buf, size_t len, cJSON **out, struct err *e)
{
	size_t n = 0;

	if (jscan_count_values(buf, len, &n) == 0 && n > JSON_TREE_VALUES_MAX(len))
		return err_set(e, -E2BIG, "too many JSON values: %zu for %zu bytes (at most %zu)", n,
			       len, JSON_TREE_VALUES_MAX(len));
	return json_parse(buf, len, out, e);
}

int json_parse(const char *buf, size_t len, cJSON **out, struct err *e)
{
	const char *end = NULL;
	cJSON *root;

	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		size_t pos = at && at >= buf && at <= buf + len ? (size_t)(at - buf) : 0;

		return err_set(e, -EINVAL, "invalid JSON at byte %zu", pos);
	}
	/* Only white space may follow the value. */
	while (end && end < buf + len && (*end == ' ' || *end == '\t' || *end == '\n' ||
					  *end == '\r' || *end == '\0'))
		end++;
	if (end && end < buf + len) {
		size_t pos = (size_t)(end - buf);

		cJSON_Delete(root);
		return err_set(e, -EINVAL, "invalid JSON at byte %zu: data after the value", pos);
	}
	*out = root;
	return 0;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *json_get_string(const cJSON *obj, const char *key)
{
	const cJSON *v = field(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *json_get_object(const cJSON *obj, const char *key)
{
	const cJSON *v = field(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *json_get_array(const cJSON *obj, const char *key)
{
	const cJSON *v = field(obj, key);

	return cJSON_IsArray(v) ? v : NULL;
}

int json_get_i64(const cJSON *obj, const char *key, int64_t *out)
{
	const cJSON *v = field(obj, key);
	double d;

	if (!v)
		return -ENOENT;
	if (!cJSON_IsNumber(v))
		return -EINVAL;
	d = v->valuedouble;
	/* Whole numbers only, within the range a double holds exactly. */
	if (!isfinite(d) || d != floor(d) || d < -9007199254740992.0 || d > 9007199254740992.0)
		return -EINVAL;
	*out = (int64_t)d;
	return 0;
}

bool json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char buf[21], *p = buf + sizeof(buf) - 1;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return cJSON_AddRawToObject(obj, key, p) != NULL;
}

int json_get_u64(const cJSON *obj, const char *key, uint64_t *out)
{
	int64_t v;
	int rc = json_get_i64(obj, key, &v);

	if (rc < 0)
		return rc;
	if (v < 0)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

bool json_get_bool(const cJSON *obj, const char *key, bool def)
{
	const cJSON *v = field(obj, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

char *json_print(const cJSON *item, size_t *len_out)
{
	char *s = cJSON_PrintUnformatted(item);

	if (s && len_out)
		*len_out = strlen(s);
	return s;
}

void json_free(void *p)
{
	if (p)
		cJSON_free(p);
}

void json_delete(cJSON *item)
{
	if (item)
		cJSON_Delete(item);
}

bool json_is_value(const char *text, size_t len)
{
	size_t pos = 0;

	if (!text || jscan_skip_value(text, len, &pos) < 0)
		return false;
	while (pos < len && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' ||
			     text[pos] == '\r'))
		pos++;
	return pos == len;
}

