/* SPDX-License-Identifier: Apache-2.0 */
/* Non-recursive JSON validator and object walker (see jscan.h). The value
 * scanner keeps an explicit stack of open containers in a fixed array, which
 * bounds both stack use and work per byte. */
#include "common/jscan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/codec.h"

static size_t skip_ws(const char *s, size_t len, size_t p)
{
	while (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r'))
		p++;
	return p;
}

/* Does any byte of the word equal '"' or '\\', or fall below 0x20? (The
 * classic "has zero byte" bit trick, three times.) */
static bool word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs;
}

/* The value of the 4 hex digits at s, or -1. */
static int hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int h = codec_hex_value((unsigned char)s[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* The escape at s[p] (just past a backslash, s[p] == 'u') into dst: a
 * surrogate without its pair becomes \ufffd, the same length, because
 * cJSON (which reads the stored records back) refuses lone ones. Returns
 * the bytes consumed and written (both the same). */
static size_t copy_u_escape(const char *s, size_t len, size_t p, char *dst)
{
	int u = p + 5 <= len ? hex4(s + p + 1) : -1;
	bool lone = false;

	if (u >= 0xd800 && u <= 0xdbff) {
		int lo = p + 11 <= len && s[p + 5] == '\\' && s[p + 6] == 'u' ? hex4(s + p + 7) : -1;

		if (lo >= 0xdc00 && lo <= 0xdfff) {
			memcpy(dst, s + p, 11);
			return 11;
		}
		lone = true;
	} else if (u >= 0xdc00 && u <= 0xdfff) {
		lone = true;
	}
	if (lone) {
		static const char fffd[5] = { 'u', 'f', 'f', 'f', 'd' }; /* no NUL: mid-string */

		memcpy(dst, fffd, sizeof(fffd));
		return sizeof(fffd);
	}
	dst[0] = s[p];
	return 1;
}

size_t jscan_copy_compact(const char *s, size_t len, char *dst)
{
	size_t p = 0, o = 0;

	while (p < len) {
		char c = s[p];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			p++;
			continue;
		}
		dst[o++] = c;
		p++;
		if (c != '"')
			continue;
		/* A string, through its closing quote, as it is. */
		while (p < len) {
			uint64_t w;

			if (p + 8 <= len) {
				memcpy(&w, s + p, 8);
				if (!word_special(w)) {
					memcpy(dst + o, &w, 8);
					o += 8;
					p += 8;
					continue;
				}
			}
			c = s[p++];
			dst[o++] = c;
			if (c == '\\' && p < len && s[p] == 'u') {
				size_t k = copy_u_escape(s, len, p, dst + o);

				p += k;
				o += k;
			} else if (c == '\\' && p < len) {
				dst[o++] = s[p++];
			} else if (c == '"') {
				break;
			}
		}
	}
	return o;
}

/* s[p] is '"'; returns the index just past the closing quote, or 0 on error
 * (0 can never be a valid end because a string takes at least 2 bytes). */
static size_t scan_string(const char *s, size_t len, size_t p)
{
	p++;
	while (p < len) {
		unsigned char c;
		uint64_t w;

		/* Plain text (the bulk of a large payload) eight bytes a step. */
		if (p + 8 <= len) {
			memcpy(&w, s + p, 8);
			if (!word_special(w)) {
				p += 8;
				continue;
			}
		}
		c = (unsigned char)s[p];
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (p + 1 >= len)
				return 0;
			char e = s[p + 1];
			if (e == 'u') {
				if (p + 5 >= len)
					return 0;
				for (int i = 2; i < 6; i++)
					if (codec_hex_value((unsigned char)s[p + i]) < 0)
						return 0;
				p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || e == '\0')
				return 0;
			p += 2;
			continue;
		}
		p++;
	}
	return 0;
}

static size_t scan_digits(const char *s, size_t len, size_t p)
{
	while (p < len && s[p] >= '0' && s[p] <= '9')
		p++;
	return p;
}

/* Returns the index past the number, or 0 on error. */
static size_t scan_number(const char *s, size_t len, size_t p)
{
	size_t start = p;
	if (p < len && s[p] == '-')
		p++;
	if (p >= len)
		return 0;
	if (s[p] == '0') {
		p++;
	} else if (s[p] >= '1' && s[p] <= '9') {
		p = scan_digits(s, len, p);
	} else {
		return 0;
	}
	if (p < len && s[p] == '.') {
		size_t q = scan_digits(s, len, p + 1);
		if (q == p + 1)
			return 0;
		p = q;
	}
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		size_t q = scan_digits(s, len, p);
		if (q == p)
			return 0;
		p = q;
	}
	return p > start ? p : 0;
}

static size_t scan_literal(const char *s, size_t len, size_t p, const char *lit)
{
	size_t n = strlen(lit);
	if (len - p < n || memcmp(s + p, lit, n) != 0)
		return 0;
	return p + n;
}

/* jscan_skip_value, counting the values it passes and the deepest
 * nesting (when count is not NULL): what a tree of the text would hold. */
static int skip_counted(const char *s, size_t len, size_t *pos, size_t *count, size_t *deepest)
{
	char stack[JSCAN_MAX_DEPTH];
	size_t depth = 0, n = 0, max = 0;
	size_t p = skip_ws(s, len, *pos);
	size_t q;

value:
	n++;
	if (p >= len)
		return -EINVAL;
	switch (s[p]) {
	case '{':
		if (depth == JSCAN_MAX_DEPTH)
			return -EINVAL;
		stack[depth++] = '{';
		max = depth > max ? depth : max;
		p = skip_ws(s, len, p + 1);
		if (p < len && s[p] == '}') {
			depth--;
			p++;
			goto after;
		}
		goto key;
	case '[':
		if (depth == JSCAN_MAX_DEPTH)
			return -EINVAL;
		stack[depth++] = '[';
		max = depth > max ? depth : max;
		p = skip_ws(s, len, p + 1);
		if (p < len && s[p] == ']') {
			depth--;
			p++;
			goto after;
		}
		goto value;
	case '"':
		q = scan_string(s, len, p);
		break;
	case 't':
		q = scan_literal(s, len, p, "true");
		break;
	case 'f':
		q = scan_literal(s, len, p, "false");
		break;
	case 'n':
		q = scan_literal(s, len, p, "null");
		break;
	default:
		q = scan_number(s, len, p);
		break;
	}
	if (q == 0)
		return -EINVAL;
	p = q;

after:
	if (depth == 0) {
		*pos = p;
		if (count)
			*count = n;
		if (deepest)
			*deepest = max;
		return 0;
	}
	p = skip_ws(s, len, p);
	if (p >= len)
		return -EINVAL;
	if (s[p] == ',') {
		p = skip_ws(s, len, p + 1);
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
	if (s[p] == (stack[depth - 1] == '{' ? '}' : ']')) {
		depth--;
		p++;
		goto after;
	}
	return -EINVAL;

key:
	if (p >= len || s[p] != '"')
		return -EINVAL;
	q = scan_string(s, len, p);
	if (q == 0)
		return -EINVAL;
	p = skip_ws(s, len, q);
	if (p >= len || s[p] != ':')
		return -EINVAL;
	p = skip_ws(s, len, p + 1);
	goto value;
}

int jscan_skip_value(const char *s, size_t len, size_t *pos)
{
	return skip_counted(s, len, pos, NULL, NULL);
}

int jscan_measure(const char *s, size_t len, size_t *count, size_t *depth)
{
	size_t p = 0, n = 0, d = 0;

	if (skip_counted(s, len, &p, &n, &d) < 0 || skip_ws(s, len, p) != len)
		return -EINVAL;
	if (count)
		*count = n;
	if (depth)
		*depth = d;
	return 0;
}

int jscan_count_values(const char *s, size_t len, size_t *count)
{
	return jscan_measure(s, len, count, NULL);
}

bool jscan_is_object_or_array(const char *s, size_t len)
{
	size_t p = skip_ws(s, len, 0);
	if (p >= len || (s[p] != '{' && s[p] != '['))
		return false;
	if (jscan_skip_value(s, len, &p) < 0)
		return false;
	return skip_ws(s, len, p) == len;
}

int jscan_object_begin(struct jscan_iter *it, const char *s, size_t len)
{
	size_t p = skip_ws(s, len, 0);
	size_t end = p;
	if (p >= len || s[p] != '{')
		return -EINVAL;
	if (jscan_skip_value(s, len, &end) < 0 || skip_ws(s, len, end) != len)
		return -EINVAL;
	it->s = s;
	it->len = end;
	it->pos = p + 1;
	it->state = 0;
	return 0;
}

int jscan_object_walk(struct jscan_iter *it, const char *s, size_t len)
{
	size_t p = skip_ws(s, len, 0), end = len;

	while (end > p && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r' ||
			   s[end - 1] == '\n'))
		end--;
	if (p >= end || s[p] != '{')
		return -EINVAL;
	it->s = s;
	it->len = end;
	it->pos = p + 1;
	it->state = 0;
	return 0;
}

int jscan_object_next(struct jscan_iter *it, struct jscan_member *m)
{
	const char *s = it->s;
	size_t p = skip_ws(s, it->len, it->pos);

	if (it->state == 2)
		return 0;
	if (p >= it->len)
		return -EINVAL;
	if (s[p] == '}') {
		it->state = 2;
		it->pos = p + 1;
		return 0;
	}
	if (it->state == 1) {
		if (s[p] != ',')
			return -EINVAL;
		p = skip_ws(s, it->len, p + 1);
	}
	if (p >= it->len || s[p] != '"')
		return -EINVAL;
	size_t kend = scan_string(s, it->len, p);
	if (kend == 0)
		return -EINVAL;
	m->key = s + p + 1;
	m->key_len = kend - p - 2;
	p = skip_ws(s, it->len, kend);
	if (p >= it->len || s[p] != ':')
		return -EINVAL;
	p = skip_ws(s, it->len, p + 1);
	size_t vend = p;
	if (jscan_skip_value(s, it->len, &vend) < 0)
		return -EINVAL;
	m->val = s + p;
	m->val_len = vend - p;
	it->pos = vend;
	it->state = 1;
	return 1;
}

/* Compare a raw (escaped) key with a plain C string. Keys are short, so a
 * bounded stack copy for the rare escaped key is enough. */
static bool key_equals(const char *raw, size_t raw_len, const char *key)
{
	size_t klen = strlen(key);
	if (!memchr(raw, '\\', raw_len))
		return raw_len == klen && memcmp(raw, key, klen) == 0;
	char tmp[256];
	size_t n;
	if (raw_len > sizeof(tmp) || jscan_string_decode(raw, raw_len, tmp, &n) < 0)
		return false;
	return n == klen && memcmp(tmp, key, klen) == 0;
}

int jscan_object_find(const char *s, size_t len, const char *key, struct jscan_member *m)
{
	struct jscan_iter it;
	struct jscan_member cur;
	int found = 0, r;

	if (jscan_object_begin(&it, s, len) < 0)
		return -EINVAL;
	while ((r = jscan_object_next(&it, &cur)) == 1) {
		if (key_equals(cur.key, cur.key_len, key)) {
			*m = cur;
			found = 1;
		}
	}
	return r < 0 ? r : found;
}

bool jscan_is_string(const char *val, size_t val_len)
{
	return val_len >= 2 && val[0] == '"';
}

static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xC0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xE0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static int read_u4(const char *p, size_t avail, uint32_t *out)
{
	uint32_t v = 0;
	if (avail < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		int h = codec_hex_value((unsigned char)p[i]);
		if (h < 0)
			return -EINVAL;
		v = (v << 4) | (uint32_t)h;
	}
	*out = v;
	return 0;
}

int jscan_string_decode(const char *raw, size_t raw_len, char *dst, size_t *out_len)
{
	size_t i = 0, o = 0;

	/* Output never overtakes input: every escape shrinks (\uXXXX, 6 bytes,
	 * yields at most 3; a 12-byte surrogate pair yields 4), so in place is
	 * safe. */
	while (i < raw_len) {
		char c = raw[i];
		if (c != '\\') {
			dst[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= raw_len)
			return -EINVAL;
		char e = raw[i + 1];
		i += 2;
		switch (e) {
		case '"': dst[o++] = '"'; break;
		case '\\': dst[o++] = '\\'; break;
		case '/': dst[o++] = '/'; break;
		case 'b': dst[o++] = '\b'; break;
		case 'f': dst[o++] = '\f'; break;
		case 'n': dst[o++] = '\n'; break;
		case 'r': dst[o++] = '\r'; break;
		case 't': dst[o++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (read_u4(raw + i, raw_len - i, &cp) < 0)
				return -EINVAL;
			i += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (i + 6 <= raw_len && raw[i] == '\\' && raw[i + 1] == 'u' &&
				    read_u4(raw + i + 2, raw_len - i - 2, &lo) == 0 &&
				    lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				} else {
					cp = 0xFFFD;
				}
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				cp = 0xFFFD;
			}
			o += put_utf8(dst + o, cp);
			break;
		}
		default:
			return -EINVAL;
		}
	}
	*out_len = o;
	return 0;
}

int jscan_quote(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int r = buf_reserve(b, n + 2);
	if (r < 0)
		return r;
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t el = 0;
		switch (c) {
		case '"': esc[0] = '\\'; esc[1] = '"'; el = 2; break;
		case '\\': esc[0] = '\\'; esc[1] = '\\'; el = 2; break;
		case '\n': esc[0] = '\\'; esc[1] = 'n'; el = 2; break;
		case '\r': esc[0] = '\\'; esc[1] = 'r'; el = 2; break;
		case '\t': esc[0] = '\\'; esc[1] = 't'; el = 2; break;
		default:
			if (c < 0x20 || c == 0x7F) {
				esc[0] = '\\';
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				el = 6;
			}
			break;
		}
		if (el == 0) {
			r = buf_append(b, &s[i], 1);
		} else {
			r = buf_append(b, esc, el);
		}
		if (r < 0)
			return r;
	}
	return buf_append(b, "\"", 1);
}
