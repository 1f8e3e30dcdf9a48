/* SPDX-License-Identifier: Apache-2.0 */
/* The built-in feeds (see feeds.h). Registrations are few (a board's
 * triggers): a list under one mutex, scanned for the earliest fire. */
#include "controller/feeds.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/log.h"
#include "common/now.h"
#include "controller/alarm.h"
#include "controller/feedreg.h"
#include "controller/mqttfeed.h"
#include "controller/name.h"
#include "controller/route.h"

#define RETRY_MAX 10u
#define DUE_BATCH 32

struct reg {
	struct feedreg b;
	struct alarm alarm;
	int64_t next_ms;             /* next scheduled fire, 0 = none */
	int64_t retry_ms;            /* a refused fire's next try, 0 = none */
	uint32_t retries;
	struct reg *next;
};

struct feeds {
	const struct cfg *cfg;
	struct store *store;
	struct events *events;
	struct mqttfeed *mqtt;
	pthread_mutex_t lock;
	struct reg *regs;
	int timer_fd, wake_fd;
	pthread_t thread;
	bool started, stop;
	struct feeds_stats st;
};

/* --- registrations --- */

static void reg_free(struct reg *r)
{
	if (!r)
		return;
	alarm_fini(&r->alarm);
	feedreg_fini(&r->b);
	free(r);
}

/* Caller holds the lock. */
static struct reg **reg_find(struct feeds *f, const char *ns, const char *name)
{
	struct reg **p = &f->regs;

	for (; *p; p = &(*p)->next)
		if (strcmp((*p)->b.ns, ns) == 0 && strcmp((*p)->b.name, name) == 0)
			return p;
	return p;
}

/* Store the registration as it is now. Caller holds the lock. */
static int reg_save(struct feeds *f, const struct reg *r, struct err *e)
{
	return feedreg_save(f->store, &r->b, alarm_params(&r->alarm, false), e);
}

static void set_inactive(struct reg *r, const char *kind, int status_code, const char *msg)
{
	feedreg_set_inactive(&r->b, kind, status_code, msg);
	r->next_ms = r->retry_ms = 0;
}

/* Plan the next fire strictly after `after`. Caller holds the lock. */
static void plan(struct reg *r, int64_t after)
{
	int64_t next;

	r->retry_ms = 0;
	r->retries = 0;
	r->next_ms = r->b.active && alarm_next(&r->alarm, after, &next) == 0 ? next : 0;
}

/* --- the scheduler --- */

static void wake(struct feeds *f)
{
	uint64_t one = 1;

	if (write(f->wake_fd, &one, sizeof(one)) < 0) {
		/* The counter is full: a wake is pending anyway. */
	}
}

static int64_t due_at(const struct reg *r)
{
	if (!r->b.active)
		return 0;
	return r->retry_ms ? r->retry_ms : r->next_ms;
}

struct due {
	char ns[NAME_SIZE], name[NAME_SIZE];
	char *payload;
	int key;
	int64_t scheduled;           /* the schedule's time (lateness, planning) */
	int rc;
	char msg[ERR_MSG_MAX];
};

/* What the fire's outcome means for the registration. Caller holds the
 * lock; *after_fire tells the caller to delete the trigger (once). */
static void fire_done(struct feeds *f, struct reg *r, const struct due *d, int64_t now,
		      enum alarm_after *after_fire)
{
	struct err e = { 0 };
	char msg[ERR_MSG_MAX + 64];

	*after_fire = ALARM_KEEP;
	if (d->rc == 0) {
		uint64_t late = now > d->scheduled ? (uint64_t)(now - d->scheduled) * 1000u : 0;

		f->st.fires++;
		f->st.late_us_sum += late;
		if (late > f->st.late_us_max)
			f->st.late_us_max = late;
		/* From the scheduled time, so a late fire does not shift the
		 * schedule; what is already past is skipped. */
		plan(r, d->scheduled);
		if (r->next_ms && r->next_ms <= now)
			plan(r, now);
		if (r->next_ms)
			return;
		if (r->alarm.kind == ALARM_ONCE && r->alarm.after != ALARM_KEEP) {
			*after_fire = r->alarm.after;
			return;
		}
		set_inactive(r, "AUTO", 0,
			     r->alarm.kind == ALARM_ONCE
				     ? "Automatically disabled after firing once."
				     : "Automatically disabled after reaching the stopDate.");
	} else if (d->rc == -EAGAIN || d->rc == -EIO || d->rc == -ENOSPC || d->rc == -ENOMEM ||
		   d->rc == -EBUSY) {
		uint64_t n = ++r->retries, delay = n * n * 1000u;

		if (n > RETRY_MAX) {
			snprintf(msg, sizeof(msg), "Automatically disabled after %u refused fires: %s",
				 RETRY_MAX, d->msg);
			set_inactive(r, "AUTO", d->rc == -EAGAIN ? 429 : 503, msg);
		} else {
			f->st.retries++;
			r->retry_ms = now + (int64_t)(delay < 1000 ? 1000 : delay);
			return;
		}
	} else {
		/* The trigger is not firable as it is (a final parameter,
		 * ...): the provider's rule, any other 4xx disables. */
		snprintf(msg, sizeof(msg), "Automatically disabled: %s", d->msg);
		set_inactive(r, "AUTO", 400, msg);
	}
	if (reg_save(f, r, &e) < 0)
		log_warn("feeds", "/%s/%s: status not stored: %s", r->b.ns, r->b.name, e.msg);
}

/* Fire what is due; returns how many fired (or were tried). */
static uint32_t fire_due(struct feeds *f)
{
	struct due d[DUE_BATCH];
	uint32_t n = 0;
	int64_t now = (int64_t)now_epoch_ms();

	memset(d, 0, sizeof(d));
	pthread_mutex_lock(&f->lock);
	for (struct reg *r = f->regs; r && n < DUE_BATCH; r = r->next) {
		int64_t at = due_at(r);

		if (!at || at > now)
			continue;
		snprintf(d[n].ns, sizeof(d[n].ns), "%s", r->b.ns);
		snprintf(d[n].name, sizeof(d[n].name), "%s", r->b.name);
		d[n].payload = strdup(r->alarm.payload);
		d[n].key = r->b.key;
		d[n].scheduled = r->next_ms;
		/* Taken: not due again until its outcome is in. */
		r->retry_ms = INT64_MAX;
		n++;
	}
	pthread_mutex_unlock(&f->lock);

	for (uint32_t i = 0; i < n; i++) {
		struct err e = { 0 };
		char id[33];

		d[i].rc = d[i].payload ? events_trigger_fire(f->events, d[i].ns, d[i].key, d[i].name,
							     d[i].payload, strlen(d[i].payload), id,
							     &e)
				       : -ENOMEM;
		free(d[i].payload);
		d[i].payload = NULL;
		snprintf(d[i].msg, sizeof(d[i].msg), "%s", e.msg);
		if (d[i].rc < 0)
			log_warn("feeds", "/%s/%s: fire refused: %s", d[i].ns, d[i].name, e.msg);
	}

	now = (int64_t)now_epoch_ms();
	for (uint32_t i = 0; i < n; i++) {
		enum alarm_after after = ALARM_KEEP;
		struct reg **p, *r;

		pthread_mutex_lock(&f->lock);
		p = reg_find(f, d[i].ns, d[i].name);
		r = *p;
		/* Deleted or changed by a lifecycle call meanwhile: theirs. */
		if (r && r->retry_ms == INT64_MAX) {
			r->retry_ms = 0;
			if (d[i].rc == -ENOENT) {
				/* The trigger went without the delete hook
				 * (another process's store): so does this. */
				*p = r->next;
				feedreg_unstore(f->store, r->b.ns, r->b.name);
				reg_free(r);
			} else {
				fire_done(f, r, &d[i], now, &after);
			}
		}
		pthread_mutex_unlock(&f->lock);
		if (after != ALARM_KEEP) {
			struct err e = { 0 };

			/* The delete hook removes the registration. */
			if (events_trigger_delete(f->events, d[i].ns, d[i].name,
						  after == ALARM_DELETE_RULES, NULL, NULL, &e) < 0)
				log_warn("feeds", "/%s/%s: not deleted after firing: %s", d[i].ns,
					 d[i].name, e.msg);
		}
	}
	return n;
}

/* The clock was set: every schedule from the new time, nothing fired for
 * what the jump skipped. */
static void replan_all(struct feeds *f)
{
	int64_t now = (int64_t)now_epoch_ms();

	pthread_mutex_lock(&f->lock);
	for (struct reg *r = f->regs; r; r = r->next)
		if (r->b.active && r->retry_ms != INT64_MAX)
			plan(r, now);
	f->st.replans++;
	pthread_mutex_unlock(&f->lock);
	log_info("feeds", "the clock was set: schedules planned again from now");
}

static void arm(struct feeds *f)
{
	struct itimerspec its = { 0 };
	int64_t first = 0;

	pthread_mutex_lock(&f->lock);
	for (const struct reg *r = f->regs; r; r = r->next) {
		int64_t at = due_at(r);

		if (at && at != INT64_MAX && (!first || at < first))
			first = at;
	}
	pthread_mutex_unlock(&f->lock);
	if (first) {
		its.it_value.tv_sec = (time_t)(first / 1000);
		its.it_value.tv_nsec = (long)(first % 1000) * 1000000L;
		/* 0 would disarm: a time long past is "now". */
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(f->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) <
	    0)
		log_warn("feeds", "timerfd_settime: %s", strerror(errno));
}

static void *scheduler_main(void *arg)
{
	struct feeds *f = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = f->timer_fd, .events = POLLIN },
				       { .fd = f->wake_fd, .events = POLLIN } };
		uint64_t v;
		bool stop;

		pthread_mutex_lock(&f->lock);
		stop = f->stop;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			break;
		while (fire_due(f) == DUE_BATCH)
			;
		arm(f);
		if (poll(p, 2, -1) < 0)
			continue;
		if ((p[1].revents & POLLIN) && read(f->wake_fd, &v, sizeof(v)) < 0) {
			/* Drained by someone else: nothing to do. */
		}
		if ((p[0].revents & POLLIN) && read(f->timer_fd, &v, sizeof(v)) < 0 &&
		    errno == ECANCELED)
			replan_all(f);
	}
	return NULL;
}

/* --- start-up --- */

/* The latest scheduled time in (now - grace, now], or 0. */
static int64_t missed_at(const struct alarm *a, int64_t now, int64_t grace_ms)
{
	int64_t t = now - grace_ms, last = 0, next;

	/* A seconds cron over the default grace is 300 steps. */
	for (uint32_t i = 0; i < 100000 && alarm_next(a, t, &next) == 0 && next <= now; i++) {
		last = next;
		t = next;
	}
	return last;
}

static int load_row(void *arg, const char *doc, size_t len)
{
	struct feeds *f = arg;
	_cleanup_json_ cJSON *j = NULL;
	struct reg *r = calloc(1, sizeof(*r));
	const cJSON *params;
	enum alarm_kind kind;
	struct err e = { 0 };

	if (!r)
		return -ENOMEM;
	if (json_parse(doc, len, &j, &e) < 0 || feedreg_from_doc(&r->b, j, f->cfg, &params, &e) < 0)
		goto skip;
	if (strcmp(r->b.feed, MQTTFEED_NAME) == 0) {
		reg_free(r);
		return mqttfeed_load(f->mqtt, j);
	}
	if (alarm_kind_of(r->b.feed, &kind) < 0) {
		err_set(&e, -EINVAL, "/%s/%s: unknown feed %s", r->b.ns, r->b.name, r->b.feed);
		goto skip;
	}
	/* Stored parameters were checked when they came: none is "fresh". */
	if (alarm_parse(kind, params, NULL, (int64_t)now_epoch_ms(), &r->alarm, &e) < 0)
		goto skip;
	r->next = f->regs;
	f->regs = r;
	return 0;
skip:
	log_warn("feeds", "a stored registration is skipped: %s", e.msg);
	reg_free(r);
	return 0;
}

/* Caller holds the lock (start-up: nobody else yet). */
static void plan_start(struct feeds *f, struct reg *r, int64_t now)
{
	int64_t grace = (int64_t)f->cfg->feeds.missed_grace_s * 1000;
	int64_t missed = r->b.active && grace ? missed_at(&r->alarm, now, grace) : 0;
	uint64_t fired = 0;
	struct err e = { 0 };

	plan(r, now);
	if (!missed)
		goto check_end;
	if (store_activation_count(f->store, r->b.ns, r->b.name, (uint64_t)missed, 0, &fired, &e) < 0)
		log_warn("feeds", "/%s/%s: %s", r->b.ns, r->b.name, e.msg);
	if (fired)
		goto check_end;
	log_info("feeds", "/%s/%s: firing the alarm of %lld missed while down", r->b.ns, r->b.name,
		 (long long)missed);
	f->st.missed_fired++;
	r->next_ms = missed;
	return;
check_end:
	/* A once alarm (or one past its stopDate) that nothing will fire. */
	if (r->b.active && !r->next_ms) {
		set_inactive(r, "AUTO", 0, "Its last fire fell due while the controller was down.");
		if (reg_save(f, r, &e) < 0)
			log_warn("feeds", "/%s/%s: status not stored: %s", r->b.ns, r->b.name, e.msg);
	}
}

/* --- the feed protocol --- */

static bool feeds_has_alarm(struct feeds *f, const char *ns, const char *name)
{
	bool has;

	pthread_mutex_lock(&f->lock);
	has = *reg_find(f, ns, name) != NULL;
	pthread_mutex_unlock(&f->lock);
	return has;
}

static void on_trigger_deleted(void *arg, const char *ns, const char *name)
{
	struct feeds *f = arg;
	struct reg **p, *r;

	mqttfeed_trigger_deleted(f->mqtt, ns, name);

	pthread_mutex_lock(&f->lock);
	p = reg_find(f, ns, name);
	r = *p;
	if (r)
		*p = r->next;
	pthread_mutex_unlock(&f->lock);
	if (!r)
		return;
	feedreg_unstore(f->store, ns, name);
	reg_free(r);
	wake(f);
}

/* The key an authKey parameter is, through the same constant-time check
 * as an Authorization header. */
static int key_of_auth(const struct cfg *c, const char *auth)
{
	size_t n = 0;
	char *b64 = codec_b64_encode(auth, strlen(auth), &n), *hdr;
	int k = -ENOMEM;

	if (b64 && (hdr = malloc(n + 7))) {
		snprintf(hdr, n + 7, "Basic %s", b64);
		k = route_auth(c, hdr);
		free(hdr);
	}
	free(b64);
	return k;
}

struct call {
	const char *event;
	struct name_fqn trig;
	int key;
	enum alarm_kind kind;
	const char *feed;
};

static cJSON *lifecycle_create(struct feeds *f, const struct call *c, const cJSON *args)
{
	struct reg *r = calloc(1, sizeof(*r));
	struct err e = { 0 };
	struct reg **p;
	int rc;

	if (!r)
		return NULL;
	rc = alarm_parse(c->kind, args, args, (int64_t)now_epoch_ms(), &r->alarm, &e);
	if (rc < 0) {
		reg_free(r);
		return feedreg_error("%s", e.msg);
	}
	snprintf(r->b.ns, sizeof(r->b.ns), "%s", c->trig.ns);
	snprintf(r->b.name, sizeof(r->b.name), "%s", c->trig.name);
	snprintf(r->b.feed, sizeof(r->b.feed), "%s", c->feed);
	snprintf(r->b.key_uuid, sizeof(r->b.key_uuid), "%s", f->cfg->keys[c->key].uuid);
	r->b.key = c->key;
	r->b.active = true;
	r->b.changed_ms = now_epoch_ms();
	plan(r, (int64_t)now_epoch_ms());
	pthread_mutex_lock(&f->lock);
	p = reg_find(f, r->b.ns, r->b.name);
	if (*p) {
		pthread_mutex_unlock(&f->lock);
		reg_free(r);
		return feedreg_error("A feed is already registered for trigger /%s/%s; delete it "
				    "first, or send UPDATE.", c->trig.ns, c->trig.name);
	}
	rc = reg_save(f, r, &e);
	if (rc == 0)
		*p = r;
	pthread_mutex_unlock(&f->lock);
	if (rc < 0) {
		reg_free(r);
		return feedreg_error("The registration could not be stored: %s", e.msg);
	}
	wake(f);
	return feedreg_success();
}

/* The stored parameters with the call's over them. */
static cJSON *merged_params(const struct reg *r, const cJSON *args)
{
	cJSON *m = alarm_params(&r->alarm, false);
	const cJSON *a;

	if (!m)
		return NULL;
	cJSON_ArrayForEach(a, args) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, a->string);
		cJSON_AddItemToObject(m, a->string, cJSON_Duplicate(a, true));
	}
	return m;
}

static cJSON *lifecycle_update(struct feeds *f, struct reg *r, const struct call *c,
			       const cJSON *args)
{
	_cleanup_json_ cJSON *m = NULL;
	struct alarm next, old;
	struct err e = { 0 };

	if (strcmp(r->b.feed, c->feed) != 0)
		return feedreg_error("Trigger /%s/%s is registered with another feed.", r->b.ns,
				    r->b.name);
	m = merged_params(r, args);
	if (!m)
		return NULL;
	if (alarm_parse(c->kind, m, args, (int64_t)now_epoch_ms(), &next, &e) < 0)
		return feedreg_error("%s", e.msg);
	old = r->alarm;
	r->alarm = next;
	r->b.active = true;
	r->b.changed_ms = now_epoch_ms();
	cJSON_Delete(r->b.reason);
	r->b.reason = NULL;
	plan(r, (int64_t)now_epoch_ms());
	if (reg_save(f, r, &e) < 0) {
		r->alarm = old;
		alarm_fini(&next);
		return feedreg_error("The registration could not be stored: %s", e.msg);
	}
	alarm_fini(&old);
	return feedreg_success();
}

static cJSON *lifecycle_read(const struct reg *r)
{
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON *config = alarm_params(&r->alarm, true);

	if (!o || !cJSON_AddItemToObject(o, "config", config)) {
		cJSON_Delete(config);
		return NULL;
	}
	if (!cJSON_AddStringToObject(config, "name", r->b.name) ||
	    !cJSON_AddStringToObject(config, "namespace", r->b.ns) ||
	    !cJSON_AddItemToObject(o, "status", feedreg_status(&r->b)))
		return NULL;
	return TAKE_PTR(o);
}

static cJSON *lifecycle_pause(struct feeds *f, struct reg *r, bool pause)
{
	struct err e = { 0 };

	if (pause) {
		set_inactive(r, "USER", 0, "Paused by its owner.");
	} else {
		r->b.active = true;
		r->b.changed_ms = now_epoch_ms();
		cJSON_Delete(r->b.reason);
		r->b.reason = NULL;
		plan(r, (int64_t)now_epoch_ms());
	}
	if (reg_save(f, r, &e) < 0)
		return feedreg_error("The registration could not be stored: %s", e.msg);
	return feedreg_success();
}

/* READ, UPDATE, DELETE, PAUSE, UNPAUSE: on the registration. */
static cJSON *lifecycle_existing(struct feeds *f, const struct call *c, const cJSON *args)
{
	struct reg **p, *r;
	cJSON *res;

	pthread_mutex_lock(&f->lock);
	p = reg_find(f, c->trig.ns, c->trig.name);
	r = *p;
	if (!r) {
		pthread_mutex_unlock(&f->lock);
		return feedreg_error("No feed is registered for trigger /%s/%s.", c->trig.ns,
				    c->trig.name);
	}
	if (strcasecmp(c->event, "READ") == 0) {
		res = lifecycle_read(r);
	} else if (strcasecmp(c->event, "UPDATE") == 0) {
		res = lifecycle_update(f, r, c, args);
	} else if (strcasecmp(c->event, "DELETE") == 0) {
		*p = r->next;
		res = feedreg_success();
	} else {
		res = lifecycle_pause(f, r, strcasecmp(c->event, "PAUSE") == 0);
	}
	pthread_mutex_unlock(&f->lock);
	if (strcasecmp(c->event, "DELETE") == 0) {
		feedreg_unstore(f->store, r->b.ns, r->b.name);
		reg_free(r);
	}
	wake(f);
	return res;
}

/* The call's own parameters are not the alarm's. */
static cJSON *alarm_args(const cJSON *args)
{
	static const char *const protocol[] = { "lifecycleEvent", "triggerName", "authKey",
						"apihost" };
	cJSON *a = cJSON_Duplicate(args, true);

	for (size_t i = 0; a && i < sizeof(protocol) / sizeof(protocol[0]); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(a, protocol[i]);
	return a;
}

bool feeds_builtin(void *arg, const char *full, const char *caller_ns, const cJSON *args,
		   cJSON **result)
{
	static const char *const events[] = { "CREATE", "READ", "UPDATE", "DELETE", "PAUSE",
					      "UNPAUSE" };
	struct feeds *f = arg;
	_cleanup_json_ cJSON *own = NULL;
	_cleanup_json_ cJSON *trigger = NULL;
	const char *auth = json_get_string(args, "authKey");
	const char *tname = json_get_string(args, "triggerName");
	struct call c = { .event = json_get_string(args, "lifecycleEvent"), .feed = full };
	bool is_mqtt = strcmp(full, MQTTFEED_NAME) == 0;
	struct err e = { 0 };
	size_t i;

	(void)caller_ns;
	*result = NULL;
	if (!is_mqtt && alarm_kind_of(full, &c.kind) < 0) {
		*result = feedreg_error("/whisk.system/%s is not a feed of this platform.", full);
		return false;
	}
	for (i = 0; c.event && i < sizeof(events) / sizeof(events[0]); i++)
		if (strcasecmp(c.event, events[i]) == 0)
			break;
	if (!c.event || i == sizeof(events) / sizeof(events[0])) {
		*result = feedreg_error("unsupported lifecycleEvent: expected CREATE, READ, UPDATE, "
				       "DELETE, PAUSE or UNPAUSE.");
		return false;
	}
	if (!auth || (c.key = key_of_auth(f->cfg, auth)) < 0) {
		*result = feedreg_error("The authKey parameter is missing or is not a valid key.");
		return false;
	}
	if (!tname || name_fqn_parse(tname, f->cfg->keys[c.key].namespace, &c.trig) < 0 ||
	    c.trig.pkg[0]) {
		*result = feedreg_error("triggerName must name a trigger as /namespace/name.");
		return false;
	}
	if (strcmp(c.trig.ns, f->cfg->keys[c.key].namespace) != 0) {
		*result = feedreg_error("The authKey is not authorized for trigger /%s/%s.", c.trig.ns,
				       c.trig.name);
		return false;
	}
	/* DELETE also when the trigger is already gone (the CLI deletes it
	 * right after). */
	if (strcasecmp(c.event, "DELETE") != 0 &&
	    store_entity_load(f->store, c.trig.ns, "triggers", c.trig.name, &trigger, &e) < 0) {
		*result = feedreg_error("Trigger /%s/%s does not exist.", c.trig.ns, c.trig.name);
		return false;
	}
	own = alarm_args(args);
	if (!own)
		return false;
	/* One feed per trigger: the other kind's registration is in the way. */
	if (strcasecmp(c.event, "CREATE") == 0 &&
	    (is_mqtt ? feeds_has_alarm(f, c.trig.ns, c.trig.name)
		     : mqttfeed_has(f->mqtt, c.trig.ns, c.trig.name))) {
		*result = feedreg_error("A feed is already registered for trigger /%s/%s; delete it "
					"first.", c.trig.ns, c.trig.name);
		return false;
	}
	if (is_mqtt)
		*result = mqttfeed_lifecycle(f->mqtt, c.event, c.trig.ns, c.trig.name, c.key, own);
	else
		*result = strcasecmp(c.event, "CREATE") == 0 ? lifecycle_create(f, &c, own)
						      : lifecycle_existing(f, &c, own);
	return *result && !cJSON_GetObjectItemCaseSensitive(*result, "error");
}

/* --- life --- */

int feeds_new(const struct cfg *c, struct store *s, struct events *ev, struct feeds **out,
	      struct err *e)
{
	struct feeds *f = calloc(1, sizeof(*f));

	if (!f)
		return err_set(e, -ENOMEM, "allocate feeds");
	f->cfg = c;
	f->store = s;
	f->events = ev;
	f->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->timer_fd < 0 || f->wake_fd < 0) {
		int rc = -errno;

		if (f->timer_fd >= 0)
			close(f->timer_fd);
		if (f->wake_fd >= 0)
			close(f->wake_fd);
		free(f);
		return err_set(e, rc, "feeds: timerfd/eventfd: %s", strerror(-rc));
	}
	if (mqttfeed_new(c, s, ev, NULL, &f->mqtt, e) < 0) {
		close(f->timer_fd);
		close(f->wake_fd);
		free(f);
		return e ? e->code : -ENOMEM;
	}
	pthread_mutex_init(&f->lock, NULL);
	events_on_trigger_delete(ev, on_trigger_deleted, f);
	*out = f;
	return 0;
}

int feeds_start(struct feeds *f, struct err *e)
{
	int64_t now = (int64_t)now_epoch_ms();
	int rc;

	/* Every namespace's: none is named "". */
	rc = store_entity_list_others(f->store, "", FEEDREG_COLL, load_row, f, e);
	if (rc < 0)
		return rc;
	for (struct reg *r = f->regs; r; r = r->next)
		plan_start(f, r, now);
	if (mqttfeed_start(f->mqtt, e) < 0)
		return e ? e->code : -EAGAIN;
	if (pthread_create(&f->thread, NULL, scheduler_main, f) != 0)
		return err_set(e, -EAGAIN, "start the feeds scheduler");
	f->started = true;
	return 0;
}

void feeds_free(struct feeds *f)
{
	if (!f)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_mutex_unlock(&f->lock);
		wake(f);
		pthread_join(f->thread, NULL);
	}
	events_on_trigger_delete(f->events, NULL, NULL);
	mqttfeed_free(f->mqtt);
	while (f->regs) {
		struct reg *r = f->regs;

		f->regs = r->next;
		reg_free(r);
	}
	close(f->timer_fd);
	close(f->wake_fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void feeds_stats_get(struct feeds *f, struct feeds_stats *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->st;
	out->registrations = out->active = 0;
	for (const struct reg *r = f->regs; r; r = r->next) {
		out->registrations++;
		out->active += r->b.active;
	}
	pthread_mutex_unlock(&f->lock);
}
