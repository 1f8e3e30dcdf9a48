/* SPDX-License-Identifier: Apache-2.0 */
/* Invocation arguments spliced as text (see args.h). */
#include "controller/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"

/* qsort has no context argument: the base being sorted. Sorting happens
 * once per builder, on the calling thread only. */
static _Thread_local const struct args_base *sorting;

static int by_key_cmp(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = strcmp(sorting[i].key, sorting[j].key);

	return c ? c : (i > j) - (i < j);
}

int args_begin(struct args *a, struct args_base *base, size_t n)
{
	memset(a, 0, sizeof(*a));
	a->base = base;
	a->n = n;
	if (n) {
		a->by_key = malloc(n * sizeof(*a->by_key));
		if (!a->by_key)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			a->by_key[i] = i;
		sorting = base;
		qsort(a->by_key, n, sizeof(*a->by_key), by_key_cmp);
		sorting = NULL;
	}
	return buf_append(&a->out, "{", 1);
}

int args_decode_key(struct args *a, const char *raw, size_t raw_len, const char **key,
		    size_t *key_len)
{
	if (raw_len + 1 > a->scratch_cap) {
		char *s = realloc(a->scratch, raw_len + 1);

		if (!s)
			return -ENOMEM;
		a->scratch = s;
		a->scratch_cap = raw_len + 1;
	}
	if (jscan_string_decode(raw, raw_len, a->scratch, key_len) < 0)
		return -EINVAL;
	a->scratch[*key_len] = '\0';
	*key = a->scratch;
	return 0;
}

int args_each(struct args *a, const char *body, size_t len, args_member_fn fn, void *ctx)
{
	struct jscan_iter it;
	struct jscan_member m;
	const char *key;
	size_t klen;
	int rc;

	/* Validated by the caller (args.h): walked, not scanned again. */
	if (jscan_object_walk(&it, body, len) < 0)
		return -EINVAL;
	while ((rc = jscan_object_next(&it, &m)) == 1) {
		rc = args_decode_key(a, m.key, m.key_len, &key, &klen);
		if (rc == 0)
			rc = fn(ctx, key, klen, &m);
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* strcmp of a NUL-terminated key against key[0..len), which may hold NUL
 * bytes (\u0000): a key with one never matches a parameter's. */
static int key_cmp(const char *k, const char *key, size_t len)
{
	size_t kl = strlen(k);
	int c = memcmp(k, key, kl < len ? kl : len);

	return c ? c : (kl > len) - (kl < len);
}

struct args_base *args_find(const struct args *a, const char *key, size_t key_len)
{
	size_t lo = 0, hi = a->n, found = a->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(a->base[a->by_key[mid]].key, key, key_len);

		if (c < 0) {
			lo = mid + 1;
		} else {
			if (c == 0)
				found = mid;
			hi = mid;
		}
	}
	if (found == a->n)
		return NULL;
	/* The last entry of equal keys: they sort by position. */
	while (found + 1 < a->n &&
	       key_cmp(a->base[a->by_key[found + 1]].key, key, key_len) == 0)
		found++;
	return &a->base[a->by_key[found]];
}

static int put_key(struct args *a, const char *key, size_t len, bool raw)
{
	int rc = a->any ? buf_append(&a->out, ",", 1) : 0;

	a->any = true;
	if (rc == 0 && raw) {
		rc = buf_append(&a->out, "\"", 1);
		if (rc == 0)
			rc = buf_append(&a->out, key, len);
		if (rc == 0)
			rc = buf_append(&a->out, "\"", 1);
	} else if (rc == 0) {
		rc = jscan_quote(&a->out, key, len);
	}
	return rc == 0 ? buf_append(&a->out, ":", 1) : rc;
}

int args_put(struct args *a, const char *key, const cJSON *value)
{
	char *text = value ? json_print(value, NULL) : NULL;
	int rc;

	if (value && !text)
		return -ENOMEM;
	rc = put_key(a, key, strlen(key), false);
	if (rc == 0)
		rc = text ? buf_puts(&a->out, text) : buf_puts(&a->out, "null");
	json_free(text);
	return rc;
}

int args_put_raw(struct args *a, const char *raw_key, size_t raw_len, const char *val,
		 size_t val_len)
{
	int rc = put_key(a, raw_key, raw_len, true);

	if (rc == 0)
		rc = buf_reserve(&a->out, val_len);
	if (rc == 0) {
		a->out.len += jscan_copy_compact(val, val_len, a->out.data + a->out.len);
		a->out.data[a->out.len] = '\0';
	}
	return rc;
}

int args_put_string(struct args *a, const char *key, const char *s, size_t n)
{
	int rc = put_key(a, key, strlen(key), false);

	return rc == 0 ? jscan_quote(&a->out, s, n) : rc;
}

int args_end(struct args *a, struct buf *out)
{
	int rc = buf_append(&a->out, "}", 1);

	if (rc < 0)
		return rc;
	*out = a->out;
	a->out = (struct buf)BUF_INIT;
	return 0;
}

void args_fini(struct args *a)
{
	free(a->by_key);
	free(a->scratch);
	buf_fini(&a->out);
	memset(a, 0, sizeof(*a));
}
