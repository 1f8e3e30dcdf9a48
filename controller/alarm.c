/* SPDX-License-Identifier: Apache-2.0 */
/* Alarm schedules (see alarm.h). Parameter names, defaults and rules follow
 * apache/openwhisk-package-alarms (alarmWebAction.js); the code is ours. */
#include "controller/alarm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MINUTE_MS 60000LL

int alarm_kind_of(const char *full, enum alarm_kind *k)
{
	static const struct {
		const char *name;
		enum alarm_kind kind;
	} kinds[] = { { "alarms/alarm", ALARM_CRON },
		      { "alarms/once", ALARM_ONCE },
		      { "alarms/interval", ALARM_INTERVAL } };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(full, kinds[i].name) == 0) {
			*k = kinds[i].kind;
			return 0;
		}
	return -ENOENT;
}

/* n digits at *p into *v. */
static bool digits(const char **p, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return true;
}

static bool iso_zone(const char *p, int64_t *offset_s)
{
	int sign, hh, mm = 0;

	if (*p == '\0' || ((*p == 'Z' || *p == 'z') && p[1] == '\0')) {
		*offset_s = 0;
		return true;
	}
	if (*p != '+' && *p != '-')
		return false;
	sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, 2, &hh))
		return false;
	if (*p == ':')
		p++;
	if (*p && !digits(&p, 2, &mm))
		return false;
	if (*p || hh > 23 || mm > 59)
		return false;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return true;
}

static int iso_date(const char *s, int64_t *ms)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	int64_t off, t;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return -EINVAL;
			if (*p == '.') {
				int scale = 100;

				p++;
				if (!isdigit((unsigned char)*p))
					return -EINVAL;
				/* Milliseconds; finer digits are dropped. */
				for (; isdigit((unsigned char)*p); p++, scale /= 10)
					frac += (*p - '0') * scale;
			}
		}
	}
	if (!iso_zone(p, &off) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	/* timegm normalises 31 April into 1 May: refuse instead. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -EINVAL;
	*ms = (t - off) * 1000 + frac;
	return 0;
}

int alarm_date_of(const cJSON *v, int64_t *ms)
{
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d < 0 || d > 253402300799999.0 || d != (double)(int64_t)d)
			return -EINVAL;
		*ms = (int64_t)d;
		return 0;
	}
	if (cJSON_IsString(v))
		return iso_date(v->valuestring, ms);
	return -EINVAL;
}

/* A boolean parameter, also as the text "true" / "false" (wsk -p sends
 * what it parses). -EINVAL for anything else. */
static int bool_of(const cJSON *v, bool *out)
{
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	if (cJSON_IsString(v) && (strcmp(v->valuestring, "true") == 0 ||
				  strcmp(v->valuestring, "false") == 0)) {
		*out = v->valuestring[0] == 't';
		return 0;
	}
	return -EINVAL;
}

static const cJSON *param(const cJSON *params, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);

	return v && !cJSON_IsNull(v) ? v : NULL;
}

static int date_param(const cJSON *params, const cJSON *fresh, const char *key, int64_t now_ms,
		      int64_t *out, struct err *e)
{
	const cJSON *v = param(params, key);

	*out = 0;
	if (!v)
		return 0;
	if (alarm_date_of(v, out) < 0)
		return err_set(e, -EINVAL,
			       "%s must be a date: epoch milliseconds or ISO-8601 text (e.g. "
			       "\"2030-01-31T08:00:00Z\").",
			       key);
	if (param(fresh, key) && *out <= now_ms)
		return err_set(e, -EINVAL, "%s must be in the future.", key);
	return 0;
}

/* trigger_payload: an object is the fire's parameters, a string becomes
 * {"payload": "..."}. */
static int payload_param(const cJSON *params, char **out, struct err *e)
{
	const cJSON *v = param(params, "trigger_payload");
	_cleanup_json_ cJSON *wrap = NULL;

	if (!v) {
		*out = strdup("{}");
	} else if (cJSON_IsObject(v)) {
		*out = cJSON_PrintUnformatted(v);
	} else if (cJSON_IsString(v)) {
		wrap = cJSON_CreateObject();
		if (wrap && !cJSON_AddStringToObject(wrap, "payload", v->valuestring))
			return err_set(e, -ENOMEM, "out of memory");
		*out = wrap ? cJSON_PrintUnformatted(wrap) : NULL;
	} else {
		return err_set(e, -EINVAL, "trigger_payload must be an object or a string.");
	}
	return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
}

static int parse_cron(struct alarm *a, const cJSON *params, struct err *e)
{
	const cJSON *cron = param(params, "cron"), *tz = param(params, "timezone");
	const cJSON *strict = param(params, "strict");
	struct err ce = { 0 };

	if (!cJSON_IsString(cron))
		return err_set(e, -EINVAL, "alarms/alarm needs a cron parameter: a string such as "
					   "\"*/10 * * * * *\" or \"0 8 * * MON-FRI\".");
	if (strlen(cron->valuestring) >= sizeof(a->cron_text) ||
	    cron_parse(cron->valuestring, &a->cron, &ce) < 0)
		return err_set(e, -EINVAL, "cron pattern '%.127s' is not valid: %s", cron->valuestring,
			       ce.msg[0] ? ce.msg : "too long");
	snprintf(a->cron_text, sizeof(a->cron_text), "%s", cron->valuestring);
	if (tz && (!cJSON_IsString(tz) || strlen(tz->valuestring) >= sizeof(a->timezone)))
		return err_set(e, -EINVAL, "timezone must be an IANA time zone name, such as "
					   "\"Europe/Berlin\".");
	if (tz) {
		if (tz_load(tz->valuestring, &a->tz, &ce) < 0)
			return err_set(e, ce.code == -ENOMEM ? -ENOMEM : -EINVAL,
				       "timezone '%s' is not a known IANA time zone.", tz->valuestring);
		snprintf(a->timezone, sizeof(a->timezone), "%s", tz->valuestring);
	} else if (tz_load("UTC", &a->tz, &ce) < 0) {
		return err_set(e, ce.code, "%s", ce.msg);
	}
	if (strict && bool_of(strict, &a->strict) < 0)
		return err_set(e, -EINVAL, "strict must be true or false.");
	if (param(params, "maxTriggers") && param(params, "stopDate"))
		return err_set(e, -EINVAL, "maxTriggers is not allowed with stopDate.");
	return 0;
}

static int parse_once(struct alarm *a, const cJSON *params, const cJSON *fresh, int64_t now_ms,
		      struct err *e)
{
	const cJSON *after = param(params, "deleteAfterFire");
	bool b;
	int rc;

	if (!param(params, "date"))
		return err_set(e, -EINVAL, "alarms/once needs a date parameter: epoch milliseconds "
					   "or ISO-8601 text.");
	rc = date_param(params, fresh, "date", now_ms, &a->date_ms, e);
	if (rc < 0)
		return rc;
	a->after = ALARM_KEEP;
	if (cJSON_IsString(after) && strcmp(after->valuestring, "rules") == 0)
		a->after = ALARM_DELETE_RULES;
	else if (after && bool_of(after, &b) == 0)
		a->after = b ? ALARM_DELETE_TRIGGER : ALARM_KEEP;
	else if (after)
		return err_set(e, -EINVAL, "deleteAfterFire must be false, true or \"rules\".");
	return 0;
}

static int parse_interval(struct alarm *a, const cJSON *params, int64_t now_ms, struct err *e)
{
	const cJSON *m = param(params, "minutes");
	double v = 0;

	if (cJSON_IsNumber(m))
		v = m->valuedouble;
	else if (cJSON_IsString(m))
		v = strtod(m->valuestring, NULL);
	if (!m || v < 1 || v > 525600 * 10 || v != (double)(uint64_t)v)
		return err_set(e, -EINVAL, "minutes must be a whole number greater than 0.");
	if (param(params, "maxTriggers"))
		return err_set(e, -EINVAL, "maxTriggers is not allowed for alarms/interval.");
	a->minutes = (uint64_t)v;
	/* As the alarms package: the first fire 30 s after the call by default. */
	if (!a->start_ms)
		a->start_ms = now_ms + 30000;
	return 0;
}

int alarm_parse(enum alarm_kind k, const cJSON *params, const cJSON *fresh, int64_t now_ms,
		struct alarm *a, struct err *e)
{
	int64_t next;
	int rc;

	memset(a, 0, sizeof(*a));
	a->kind = k;
	if (params && !cJSON_IsObject(params))
		return err_set(e, -EINVAL, "the feed's parameters must be an object.");
	rc = payload_param(params, &a->payload, e);
	if (rc == 0 && k != ALARM_ONCE)
		rc = date_param(params, fresh, "startDate", now_ms, &a->start_ms, e);
	if (rc == 0 && k != ALARM_ONCE)
		rc = date_param(params, fresh, "stopDate", now_ms, &a->stop_ms, e);
	if (rc == 0 && a->stop_ms && a->stop_ms <= (a->start_ms ? a->start_ms : now_ms))
		rc = err_set(e, -EINVAL, "stopDate must be after startDate.");
	if (rc == 0)
		rc = k == ALARM_CRON ? parse_cron(a, params, e)
		     : k == ALARM_ONCE ? parse_once(a, params, fresh, now_ms, e)
					: parse_interval(a, params, now_ms, e);
	if (rc == 0 && k == ALARM_INTERVAL && a->stop_ms && a->stop_ms <= a->start_ms)
		rc = err_set(e, -EINVAL, "stopDate must be after startDate.");
	if (rc == 0 && k == ALARM_CRON && a->stop_ms &&
	    alarm_next(a, a->start_ms ? a->start_ms - 1 : now_ms, &next) < 0)
		rc = err_set(e, -EINVAL, "stopDate comes before the first fire of cron '%s'.",
			     a->cron_text);
	if (rc < 0)
		alarm_fini(a);
	return rc;
}

void alarm_fini(struct alarm *a)
{
	if (!a)
		return;
	tz_free(a->tz);
	free(a->payload);
	memset(a, 0, sizeof(*a));
}

int alarm_next(const struct alarm *a, int64_t after_ms, int64_t *next_ms)
{
	int64_t next = 0;

	switch (a->kind) {
	case ALARM_ONCE:
		if (a->date_ms <= after_ms)
			return -ENOENT;
		next = a->date_ms;
		break;
	case ALARM_INTERVAL: {
		int64_t period = (int64_t)a->minutes * MINUTE_MS;

		if (after_ms < a->start_ms)
			next = a->start_ms;
		else
			next = a->start_ms + ((after_ms - a->start_ms) / period + 1) * period;
		break;
	}
	case ALARM_CRON: {
		int64_t from = after_ms, s;

		if (a->start_ms && from < a->start_ms - 1)
			from = a->start_ms - 1;
		/* Floor to the second: the next whole second after it. */
		if (cron_next(&a->cron, a->tz, from >= 0 ? from / 1000 : (from - 999) / 1000, &s) < 0)
			return -ENOENT;
		next = s * 1000;
		break;
	}
	}
	if (a->stop_ms && next >= a->stop_ms)
		return -ENOENT;
	*next_ms = next;
	return 0;
}

static int add_date(cJSON *o, const char *key, int64_t ms)
{
	return ms && !cJSON_AddNumberToObject(o, key, (double)ms) ? -ENOMEM : 0;
}

cJSON *alarm_params(const struct alarm *a, bool read_view)
{
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON *payload = NULL;
	int rc = 0;

	if (!o || json_parse(a->payload, strlen(a->payload), &payload, NULL) < 0 ||
	    !cJSON_AddItemToObject(o, read_view ? "payload" : "trigger_payload", payload)) {
		cJSON_Delete(payload);
		return NULL;
	}
	switch (a->kind) {
	case ALARM_CRON:
		if (!cJSON_AddStringToObject(o, "cron", a->cron_text) ||
		    (a->timezone[0] && !cJSON_AddStringToObject(o, "timezone", a->timezone)) ||
		    !cJSON_AddBoolToObject(o, "strict", a->strict))
			rc = -ENOMEM;
		break;
	case ALARM_ONCE:
		if (add_date(o, "date", a->date_ms) < 0 ||
		    (a->after == ALARM_DELETE_RULES
			     ? !cJSON_AddStringToObject(o, "deleteAfterFire", "rules")
			     : !cJSON_AddBoolToObject(o, "deleteAfterFire",
						      a->after == ALARM_DELETE_TRIGGER)))
			rc = -ENOMEM;
		break;
	case ALARM_INTERVAL:
		if (!cJSON_AddNumberToObject(o, "minutes", (double)a->minutes))
			rc = -ENOMEM;
		break;
	}
	if (rc == 0)
		rc = add_date(o, "startDate", a->start_ms);
	if (rc == 0)
		rc = add_date(o, "stopDate", a->stop_ms);
	return rc == 0 ? TAKE_PTR(o) : NULL;
}
