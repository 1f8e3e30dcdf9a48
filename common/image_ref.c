/* SPDX-License-Identifier: Apache-2.0 */
/* Docker image reference grammar (see image_ref.h). */
#include "common/image_ref.h"

#include <string.h>

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool word(char c)
{
	return alnum(c) || c == '_';
}

/* A path component in s[0..n). */
static bool path_component(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = 0;

		while (i < n && lower_alnum(s[i]))
			i++, run++;
		if (run == 0)
			return false; /* empty, or a separator at an edge */
		if (i == n)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n)
			return false;
	}
	return false;
}

/* host [":" port] in s[0..n): dot-separated labels of letters, digits
 * and inner '-'. */
static bool domain(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n, i = 0;

	if (colon) {
		size_t pn = n - hn - 1;

		if (pn == 0 || strspn(colon + 1, "0123456789") < pn)
			return false;
	}
	while (i < hn) {
		size_t start = i;

		while (i < hn && (alnum(s[i]) || s[i] == '-'))
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		if (i < hn && s[i++] != '.')
			return false;
		if (i == hn && s[hn - 1] == '.')
			return false;
	}
	return hn > 0;
}

static bool tag(const char *s, size_t n)
{
	if (n == 0 || n > 128 || !word(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!word(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* algorithm ":" hex, algorithm components [A-Za-z][A-Za-z0-9]* joined by
 * one of "+.-_". */
static bool digest(const char *s)
{
	const char *colon = strchr(s, ':'), *p = s;
	size_t hex;

	if (!colon || colon == s)
		return false;
	while (p < colon) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
		while (p < colon && alnum(*p))
			p++;
		if (p < colon && (!strchr("+.-_", *p) || ++p == colon))
			return false;
	}
	hex = strspn(colon + 1, "0123456789abcdefABCDEF");
	return hex >= 32 && colon[1 + hex] == '\0';
}

bool image_ref_is_valid(const char *ref)
{
	const char *at, *name_end, *slash, *last_slash, *colon, *p;
	size_t n;

	if (!ref || !*ref)
		return false;
	at = strchr(ref, '@');
	if (at && !digest(at + 1))
		return false;
	name_end = at ? at : ref + strlen(ref);
	/* A tag's ':' comes after the last '/' (a domain's port before it). */
	last_slash = NULL;
	for (p = ref; p < name_end; p++)
		if (*p == '/')
			last_slash = p;
	colon = memchr(last_slash ? last_slash : ref, ':',
		       (size_t)(name_end - (last_slash ? last_slash : ref)));
	if (colon) {
		if (!tag(colon + 1, (size_t)(name_end - colon - 1)))
			return false;
		name_end = colon;
	}
	n = (size_t)(name_end - ref);
	if (n == 0 || n > IMAGE_REF_NAME_MAX)
		return false;
	p = ref;
	slash = memchr(p, '/', n);
	if (slash) {
		size_t fn = (size_t)(slash - p);

		bool upper = false;

		for (size_t i = 0; i < fn; i++)
			upper |= p[i] >= 'A' && p[i] <= 'Z';
		/* As Docker tells a registry host from a first path part. */
		if (memchr(p, '.', fn) || memchr(p, ':', fn) || upper ||
		    (fn == 9 && memcmp(p, "localhost", 9) == 0)) {
			if (!domain(p, fn))
				return false;
			p = slash + 1;
		}
	}
	while (p < name_end) {
		const char *e = memchr(p, '/', (size_t)(name_end - p));
		size_t cn = e ? (size_t)(e - p) : (size_t)(name_end - p);

		if (!path_component(p, cn))
			return false;
		if (!e)
			return true;
		p = e + 1;
		if (p == name_end)
			return false;
	}
	return false;
}
