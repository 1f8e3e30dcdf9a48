/* SPDX-License-Identifier: Apache-2.0 */
/* Cron expressions and time zones (see cron.h). The next fire time is
 * searched in wall-clock time (seconds since the epoch as if the zone were
 * UTC, so gmtime_r splits it), one field at a time from the month down,
 * and each match is mapped back to UTC through the zone's offsets. */
#include "controller/cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/file.h"

#define ZONEINFO "/usr/share/zoneinfo/"
#define TZIF_MAX (1u << 20)
#define SEARCH_SECONDS (5LL * 366 * 86400)

struct field_spec {
	const char *name;
	int lo, hi;
	const char *const *names;    /* names[i] is value lo + i, or NULL */
};

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const day_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL };

static const struct field_spec specs[6] = {
	{ "second", 0, 59, NULL },  { "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },    { "day of month", 1, 31, NULL },
	{ "month", 1, 12, month_names }, { "day of week", 0, 7, day_names },
};

/* One value of a field: digits, or a name where the field has them. */
static int value_of(const struct field_spec *f, const char *s, size_t len, int *out)
{
	if (len && isdigit((unsigned char)s[0])) {
		int v = 0;

		for (size_t i = 0; i < len; i++) {
			if (!isdigit((unsigned char)s[i]) || v > 1000)
				return -1;
			v = v * 10 + (s[i] - '0');
		}
		*out = v;
		return 0;
	}
	for (int i = 0; f->names && f->names[i]; i++) {
		if (len == 3 && strncasecmp(s, f->names[i], 3) == 0) {
			*out = f->lo + i;
			return 0;
		}
	}
	return -1;
}

/* One field (a star, "1-5", "5/15", "MON,WED-FRI/2", a star with a step)
 * into bits. */
static int field_parse(const struct field_spec *f, const char *s, size_t len, uint64_t *bits,
		       bool *any, struct err *e)
{
	const char *end = s + len;

	*bits = 0;
	*any = len && (s[0] == '*' || s[0] == '?');
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *item_end = comma ? comma : end;
		const char *slash = memchr(s, '/', (size_t)(item_end - s));
		const char *range_end = slash ? slash : item_end;
		const char *dash = memchr(s, '-', (size_t)(range_end - s));
		int lo, hi, step = 1;

		if (s == item_end)
			return err_set(e, -EINVAL, "cron: the %s field has an empty item", f->name);
		if (range_end - s == 1 && (s[0] == '*' || s[0] == '?')) {
			lo = f->lo;
			hi = f->hi == 7 ? 6 : f->hi;
		} else if (dash) {
			if (value_of(f, s, (size_t)(dash - s), &lo) < 0 ||
			    value_of(f, dash + 1, (size_t)(range_end - dash - 1), &hi) < 0)
				return err_set(e, -EINVAL, "cron: the %s field '%.*s' is not a range",
					       f->name, (int)(item_end - s), s);
		} else {
			if (value_of(f, s, (size_t)(range_end - s), &lo) < 0)
				return err_set(e, -EINVAL, "cron: the %s field '%.*s' is not a value",
					       f->name, (int)(item_end - s), s);
			/* "5/15": from 5 to the end, every 15. */
			hi = slash ? (f->hi == 7 ? 6 : f->hi) : lo;
		}
		if (slash) {
			if (value_of(&specs[0], slash + 1, (size_t)(item_end - slash - 1), &step) < 0 ||
			    step < 1)
				return err_set(e, -EINVAL, "cron: the %s field '%.*s' has a bad step",
					       f->name, (int)(item_end - s), s);
		}
		if (lo < f->lo || hi > f->hi || lo > hi)
			return err_set(e, -EINVAL, "cron: the %s field '%.*s' is out of range %d-%d",
				       f->name, (int)(item_end - s), s, f->lo, f->hi);
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << (f->hi == 7 && v == 7 ? 0 : v);
		s = comma ? comma + 1 : end;
		if (comma && s == end)
			return err_set(e, -EINVAL, "cron: the %s field ends with ','", f->name);
	}
	return 0;
}

int cron_parse(const char *expr, struct cron *out, struct err *e)
{
	const char *tok[7];
	size_t len[7], n = 0;
	uint64_t bits[6];
	bool any[6];
	int first;

	if (!expr)
		return err_set(e, -EINVAL, "cron: no expression");
	for (const char *p = expr; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == 7)
			break;
		tok[n] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		len[n] = (size_t)(p - tok[n]);
		n++;
	}
	if (n != 5 && n != 6)
		return err_set(e, -EINVAL, "cron: '%.64s' has %zu fields, not 5 or 6", expr, n);
	first = n == 5 ? 1 : 0;
	bits[0] = 1;  /* 5 fields: second 0 */
	any[0] = false;
	for (size_t i = 0; i < n; i++) {
		int rc = field_parse(&specs[first + i], tok[i], len[i], &bits[first + i], &any[first + i], e);

		if (rc < 0)
			return rc;
	}
	*out = (struct cron){ .sec = bits[0], .min = bits[1], .hour = (uint32_t)bits[2],
			      .dom = (uint32_t)bits[3], .mon = (uint16_t)bits[4], .dow = (uint8_t)bits[5],
			      .dom_any = any[3], .dow_any = any[5] };
	return 0;
}

/* ---- zones ------------------------------------------------------------- */

struct tz {
	size_t n;           /* transitions */
	int64_t *at;        /* UTC seconds, ascending */
	int32_t *off;       /* offset from each transition on */
	int32_t off0;       /* before the first */
};

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->at);
	free(tz->off);
	free(tz);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

int tz_from_tzif(const void *data, size_t len, struct tz **out, struct err *e)
{
	const unsigned char *p = data, *end = p + len;
	uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
	size_t tsize = 4, block;
	struct tz *tz;

	for (int pass = 0; pass < 2; pass++) {
		if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4) != 0)
			return err_set(e, -EINVAL, "not a TZif zone file");
		isut = be32(p + 20);
		isstd = be32(p + 24);
		leap = be32(p + 28);
		timecnt = be32(p + 32);
		typecnt = be32(p + 36);
		charcnt = be32(p + 40);
		if (timecnt > 100000 || typecnt == 0 || typecnt > 255 || charcnt > 10000 ||
		    leap > 10000 || isut > typecnt || isstd > typecnt)
			return err_set(e, -EINVAL, "TZif counts out of range");
		block = timecnt * tsize + timecnt + typecnt * 6u + charcnt + leap * (tsize + 4) + isstd +
			isut;
		if ((size_t)(end - p) - 44 < block)
			return err_set(e, -EINVAL, "TZif file is short");
		/* Version 2 and later repeat the data with 64-bit times. */
		if (pass == 0 && p[4] >= '2') {
			p += 44 + block;
			tsize = 8;
			continue;
		}
		break;
	}
	p += 44;
	tz = calloc(1, sizeof(*tz));
	if (!tz || (timecnt && (!(tz->at = calloc(timecnt, sizeof(*tz->at))) ||
				!(tz->off = calloc(timecnt, sizeof(*tz->off)))))) {
		tz_free(tz);
		return err_set(e, -ENOMEM, "out of memory");
	}
	{
		const unsigned char *times = p, *idx = p + timecnt * tsize, *types = idx + timecnt;

		for (uint32_t i = 0; i < timecnt; i++) {
			if (idx[i] >= typecnt) {
				tz_free(tz);
				return err_set(e, -EINVAL, "TZif type index out of range");
			}
			tz->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
			tz->off[i] = (int32_t)be32(types + 6u * idx[i]);
			if (i && tz->at[i] <= tz->at[i - 1]) {
				tz_free(tz);
				return err_set(e, -EINVAL, "TZif transitions out of order");
			}
		}
		tz->off0 = (int32_t)be32(types);
		tz->n = timecnt;
	}
	*out = tz;
	return 0;
}

static bool zone_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= 128 || name[0] == '/' || strstr(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_+-/", name[i]))
			return false;
	return true;
}

int tz_load(const char *name, struct tz **out, struct err *e)
{
	char path[sizeof(ZONEINFO) + 128], *data = NULL;
	size_t len = 0;
	int rc;

	if (!name || !name[0] || strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 ||
	    strcmp(name, "GMT") == 0) {
		*out = calloc(1, sizeof(**out));
		return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
	}
	if (!zone_name_ok(name))
		return err_set(e, -EINVAL, "unknown timezone '%.64s'", name);
	snprintf(path, sizeof(path), ZONEINFO "%s", name);
	rc = file_read_all(path, TZIF_MAX, &data, &len);
	if (rc < 0)
		return rc == -ENOMEM ? err_set(e, rc, "out of memory")
				     : err_set(e, -EINVAL, "unknown timezone '%.64s'", name);
	rc = tz_from_tzif(data, len, out, e);
	free(data);
	if (rc == -EINVAL) {
		err_clear(e);
		return err_set(e, -EINVAL, "unknown timezone '%.64s'", name);
	}
	return rc;
}

int32_t tz_offset(const struct tz *tz, int64_t utc)
{
	size_t lo = 0, hi = tz->n;

	if (!tz->n || utc < tz->at[0])
		return tz->off0;
	/* The last transition at or before utc. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= utc)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[lo];
}

/* ---- the next time ----------------------------------------------------- */

static bool day_matches(const struct cron *c, const struct tm *t)
{
	bool dom = c->dom >> t->tm_mday & 1, dow = c->dow >> t->tm_wday & 1;

	return c->dom_any || c->dow_any ? dom && dow : dom || dow;
}

/* The first wall-clock second >= w that matches c, within the search. */
static int next_wall(const struct cron *c, int64_t w, int64_t limit, int64_t *out)
{
	while (w < limit) {
		time_t tt = (time_t)w;
		struct tm t;

		if (!gmtime_r(&tt, &t))
			return -ENOENT;
		if (!(c->mon >> (t.tm_mon + 1) & 1)) {
			/* The first second of the next month. */
			t.tm_mday = 1;
			t.tm_hour = t.tm_min = t.tm_sec = 0;
			t.tm_mon++;
			w = (int64_t)timegm(&t);
		} else if (!day_matches(c, &t)) {
			w += 86400 - (t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec);
		} else if (!(c->hour >> t.tm_hour & 1)) {
			w += 3600 - (t.tm_min * 60 + t.tm_sec);
		} else if (!(c->min >> t.tm_min & 1)) {
			w += 60 - t.tm_sec;
		} else if (!(c->sec >> t.tm_sec & 1)) {
			w++;
		} else {
			*out = w;
			return 0;
		}
	}
	return -ENOENT;
}

int cron_next(const struct cron *c, const struct tz *tz, int64_t after, int64_t *next)
{
	int64_t w = after + tz_offset(tz, after) + 1, limit = w + SEARCH_SECONDS;

	while (next_wall(c, w, limit, &w) == 0) {
		/* The UTC instants showing wall time w: one, none (a gap) or
		 * two (an overlap); the offsets a day either side cover any
		 * one transition near it. */
		const int32_t offs[3] = { tz_offset(tz, w - 86400 - 50400), tz_offset(tz, w),
					  tz_offset(tz, w + 86400 + 50400) };
		int64_t best = INT64_MAX;

		for (int i = 0; i < 3; i++) {
			int64_t u = w - offs[i];

			if (u > after && u + tz_offset(tz, u) == w && u < best)
				best = u;
		}
		if (best != INT64_MAX) {
			*next = best;
			return 0;
		}
		w++;
	}
	return -ENOENT;
}
