/* SPDX-License-Identifier: Apache-2.0 */
/* The mqtt/subscribe feed's registrations and connections (see
 * mqttfeed.h). Few of each on a board: lists under one mutex; one thread
 * per connection supervises its process and fires its messages. */
#include "controller/mqttfeed.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/log.h"
#include "common/now.h"
#include "controller/feedreg.h"
#include "controller/mqttsub.h"

#define WAIT_MS 10000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 30000
#define TARGETS_MAX 64
#define LINE_MAX_BYTES (512 * 1024)
#define SUBS_PER_CONN_MAX 64u

struct conn;

struct sub {
	struct feedreg b;
	struct mqttsub p;
	uint32_t id;
	struct conn *conn;
	struct sub *next;
};

enum conn_state { CS_CONNECTING, CS_UP, CS_DOWN, CS_REFUSED };

struct conn {
	struct mqttfeed *m;
	struct mqttsub opts;         /* the connection's options (topics unused) */
	uint32_t nsubs;
	uint32_t gen;                /* bumped when the process must start again */
	uint32_t run_gen;            /* the gen the running process was started for */
	uint32_t state_gen;          /* the gen of the process that set `state` */
	enum conn_state state;
	char msg[ERR_MSG_MAX];
	pid_t pid;
	bool ever_up, dead, finished, thread_started;
	pthread_t thread;
	/* The message being fired and the subscriptions it fired already. */
	uint64_t pend_seq;
	uint32_t done[TARGETS_MAX], ndone;
	cJSON *subscribed;           /* filters of the last process that was up */
	struct conn *next;
};

struct mqttfeed {
	const struct cfg *cfg;
	struct store *store;
	struct events *events;
	char client_path[PATH_MAX + 32];
	char persist_dir[PATH_MAX - 128];
	/* One lifecycle call at a time: CREATE and UPDATE wait for the broker
	 * with `lock` released, and nothing may take their registration. */
	pthread_mutex_t calls;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sub *subs;
	struct conn *conns;
	uint32_t next_id;
	bool started, stop;
	struct mqttfeed_stats st;
};

static const char *const state_names[] = { "connecting", "up", "down", "refused" };

/* --- small helpers --- */

static void sub_free(struct sub *s)
{
	if (!s)
		return;
	feedreg_fini(&s->b);
	mqttsub_fini(&s->p);
	free(s);
}

/* A deep copy of a subscription's parameters, through their stored form. */
static int sub_copy(const struct mqttsub *from, const char *ns, const char *name,
		    struct mqttsub *to)
{
	_cleanup_json_ cJSON *p = mqttsub_params(from, false);
	struct err e = { 0 };

	if (!p)
		return -ENOMEM;
	return mqttsub_parse(p, ns, name, to, &e);
}

static struct sub **sub_find(struct mqttfeed *m, const char *ns, const char *name)
{
	struct sub **p = &m->subs;

	for (; *p; p = &(*p)->next)
		if (strcmp((*p)->b.ns, ns) == 0 && strcmp((*p)->b.name, name) == 0)
			return p;
	return p;
}

static void timespec_in(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* The process must start again (new subscriptions, a new end). Caller
 * holds the lock. */
static void conn_restart(struct conn *c)
{
	c->gen++;
	if (c->pid > 0)
		kill(c->pid, SIGTERM);
	pthread_cond_broadcast(&c->m->cond);
}

/* --- the connection's process --- */

/* The process's configuration: one line. Caller holds the lock. */
static char *conn_config(struct conn *c, bool end, cJSON **topics_out)
{
	struct mqttfeed *m = c->m;
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON *subs = cJSON_CreateArray(), *unsubs = cJSON_CreateArray(), *it;
	char ca[PATH_MAX];
	size_t len;

	*topics_out = NULL;
	if (!o || !cJSON_AddItemToObject(o, "subs", subs) ||
	    !cJSON_AddItemToObject(o, "unsubs", unsubs)) {
		cJSON_Delete(subs);
		cJSON_Delete(unsubs);
		return NULL;
	}
	/* The union of the filters, each at the highest qos asked. */
	for (struct sub *s = m->subs; s && !end; s = s->next) {
		if (s->conn != c)
			continue;
		for (uint32_t i = 0; i < s->p.topic_count; i++) {
			cJSON *found = NULL;

			cJSON_ArrayForEach(it, subs)
				if (!strcmp(json_get_string(it, "topic"), s->p.topics[i]))
					found = it;
			if (found) {
				cJSON *q = cJSON_GetObjectItemCaseSensitive(found, "qos");

				if (q->valuedouble < s->p.qos)
					cJSON_SetNumberValue(q, s->p.qos);
				continue;
			}
			if (cJSON_GetArraySize(subs) == SUBS_PER_CONN_MAX)
				break;
			found = cJSON_CreateObject();
			if (!found || !cJSON_AddItemToArray(subs, found) ||
			    !cJSON_AddStringToObject(found, "topic", s->p.topics[i]) ||
			    !cJSON_AddNumberToObject(found, "qos", s->p.qos))
				return NULL;
		}
	}
	/* What the broker's session still holds for this client but nobody
	 * wants any more. */
	cJSON_ArrayForEach(it, c->subscribed) {
		const cJSON *w;
		bool wanted = false;

		cJSON_ArrayForEach(w, subs)
			wanted |= !strcmp(json_get_string(w, "topic"), it->valuestring);
		if (!wanted && !cJSON_AddItemToArray(unsubs, cJSON_CreateString(it->valuestring)))
			return NULL;
	}
	if (!cJSON_AddStringToObject(o, "uri", c->opts.uri) ||
	    !cJSON_AddStringToObject(o, "clientId", c->opts.client_id) ||
	    !cJSON_AddBoolToObject(o, "cleanSession", c->opts.clean) ||
	    !cJSON_AddNumberToObject(o, "keepalive", c->opts.keepalive_s) ||
	    !cJSON_AddBoolToObject(o, "insecure", c->opts.insecure) ||
	    !cJSON_AddStringToObject(o, "persist", m->persist_dir) ||
	    !cJSON_AddBoolToObject(o, "end", end) ||
	    !json_add_u64(o, "maxPayload", m->cfg->feeds.mqtt_max_payload) ||
	    (c->opts.username && !cJSON_AddStringToObject(o, "username", c->opts.username)) ||
	    (c->opts.password && !cJSON_AddStringToObject(o, "password", c->opts.password)))
		return NULL;
	if (c->opts.ca_cert) {
		snprintf(ca, sizeof(ca), "%s/%s.ca.pem", m->persist_dir, c->opts.client_id);
		if (file_write_atomic(ca, c->opts.ca_cert, strlen(c->opts.ca_cert), 0600) < 0)
			log_warn("mqtt", "%s: %s not written: %s", c->opts.client_id, ca,
				 strerror(errno));
		if (!cJSON_AddStringToObject(o, "caFile", ca))
			return NULL;
	}
	*topics_out = cJSON_Duplicate(subs, true);
	{
		char *t = json_print(o, &len), *line;

		if (!t)
			return NULL;
		line = malloc(len + 2);
		if (line) {
			memcpy(line, t, len);
			memcpy(line + len, "\n", 2);
		}
		json_free(t);
		return line;
	}
}

static int spawn(struct mqttfeed *m, int *fd_out, pid_t *pid_out)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		sigset_t none;

		/* Async-signal-safe calls only until exec. The controller's
		 * threads block SIGTERM for sigwait; the client must not. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (null >= 0)
			dup2(null, 0);
		if (sv[1] == 3)
			(void)fcntl(3, F_SETFD, 0);
		else
			dup2(sv[1], 3);
		execl(m->client_path, m->client_path, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*fd_out = sv[0];
	*pid_out = pid;
	return 0;
}

/* A buffered reader over the process's socket. */
struct rd {
	int fd;
	char *buf;
	size_t len, off, cap;
};

static int rd_fill(struct rd *r)
{
	ssize_t n;

	if (r->off) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == r->cap)
		return -1;
	do
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	r->len += (size_t)n;
	return 0;
}

/* The next line (NUL-terminated, valid until the next call), or NULL. */
static char *rd_line(struct rd *r)
{
	for (;;) {
		char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);

		if (nl) {
			char *line = r->buf + r->off;

			*nl = '\0';
			r->off = (size_t)(nl - r->buf) + 1;
			return line;
		}
		if (rd_fill(r) < 0)
			return NULL;
	}
}

static int rd_exact(struct rd *r, char *dst, size_t n)
{
	while (n) {
		size_t have = r->len - r->off, take = have < n ? have : n;

		memcpy(dst, r->buf + r->off, take);
		r->off += take;
		dst += take;
		n -= take;
		if (n && rd_fill(r) < 0)
			return -1;
	}
	return 0;
}

struct target {
	uint32_t id;
	char ns[NAME_SIZE], name[NAME_SIZE];
	int key;
	enum mqttsub_enc enc;
	bool done;
};

static bool is_done(const struct conn *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->ndone; i++)
		if (c->done[i] == id)
			return true;
	return false;
}

static void disable_sub(struct mqttfeed *m, uint32_t id, const char *msg)
{
	struct err e = { 0 };
	char reason[ERR_MSG_MAX + 32];

	snprintf(reason, sizeof(reason), "Automatically disabled: %s", msg);
	pthread_mutex_lock(&m->lock);
	for (struct sub *s = m->subs; s; s = s->next) {
		if (s->id != id)
			continue;
		feedreg_set_inactive(&s->b, "AUTO", 400, reason);
		if (feedreg_save(m->store, &s->b, mqttsub_params(&s->p, false), &e) < 0)
			log_warn("mqtt", "/%s/%s: status not stored: %s", s->b.ns, s->b.name, e.msg);
	}
	pthread_mutex_unlock(&m->lock);
}

/* Fire msg for every matching subscription of c not fired yet; true when
 * none is left refused for now. */
static bool fire_message(struct conn *c, uint64_t seq, const struct mqttsub_msg *msg)
{
	struct mqttfeed *m = c->m;
	struct target t[TARGETS_MAX];
	uint32_t n = 0, delay = 50;
	uint64_t deadline = now_mono_ms() + m->cfg->feeds.mqtt_hold_ms;
	bool refused;

	pthread_mutex_lock(&m->lock);
	if (seq != c->pend_seq) {
		c->pend_seq = seq;
		c->ndone = 0;
		m->st.messages++;
	}
	for (struct sub *s = m->subs; s && n < TARGETS_MAX; s = s->next) {
		if (s->conn != c || !s->b.active || is_done(c, s->id) ||
		    (msg->retain && s->p.skip_retained) ||
		    !mqttsub_matches(&s->p, msg->topic, msg->topic_len))
			continue;
		t[n].id = s->id;
		snprintf(t[n].ns, sizeof(t[n].ns), "%s", s->b.ns);
		snprintf(t[n].name, sizeof(t[n].name), "%s", s->b.name);
		t[n].key = s->b.key;
		t[n].enc = s->p.enc;
		t[n].done = false;
		n++;
	}
	pthread_mutex_unlock(&m->lock);

	for (;;) {
		refused = false;
		for (uint32_t i = 0; i < n; i++) {
			_cleanup_buf_ struct buf b = BUF_INIT;
			struct err e = { 0 };
			char id[33];
			int rc;

			if (t[i].done)
				continue;
			rc = mqttsub_fire_params(&b, msg, t[i].enc);
			if (rc == 0)
				rc = events_trigger_fire(m->events, t[i].ns, t[i].key, t[i].name, b.data,
							 b.len, id, &e);
			else
				err_set(&e, rc, "out of memory");
			if (rc == 0 || rc == -ENOENT) {
				t[i].done = true;
				if (rc == 0) {
					pthread_mutex_lock(&m->lock);
					m->st.fires++;
					pthread_mutex_unlock(&m->lock);
				}
			} else if (rc == -EAGAIN || rc == -EIO || rc == -ENOSPC || rc == -ENOMEM ||
				   rc == -EBUSY) {
				refused = true;
			} else {
				/* Not firable as it is (a final parameter...):
				 * the provider's rule for a 4xx. */
				log_warn("mqtt", "/%s/%s: fire refused: %s", t[i].ns, t[i].name, e.msg);
				disable_sub(m, t[i].id, e.msg);
				t[i].done = true;
			}
		}
		if (!refused || now_mono_ms() + delay > deadline)
			break;
		pthread_mutex_lock(&m->lock);
		m->st.retries++;
		if (m->stop) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		pthread_mutex_unlock(&m->lock);
		usleep(delay * 1000u);
		delay = delay * 2 > 1000 ? 1000 : delay * 2;
	}
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < n; i++)
		if (t[i].done && c->ndone < TARGETS_MAX)
			c->done[c->ndone++] = t[i].id;
	if (refused)
		m->st.offers++;
	pthread_mutex_unlock(&m->lock);
	return !refused;
}

static void set_state(struct conn *c, enum conn_state st, const char *msg)
{
	struct mqttfeed *m = c->m;

	pthread_mutex_lock(&m->lock);
	c->state = st;
	c->state_gen = c->run_gen;
	snprintf(c->msg, sizeof(c->msg), "%s", msg ? msg : "");
	if (st == CS_UP)
		c->ever_up = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* Read the process until it goes; true when it said "ended". */
static bool conn_run(struct conn *c, int fd, cJSON *topics)
{
	struct mqttfeed *m = c->m;
	struct rd r = { .fd = fd, .cap = LINE_MAX_BYTES };
	char *payload = NULL, *line;
	bool ended = false;

	r.buf = malloc(r.cap);
	if (!r.buf)
		return false;
	while ((line = rd_line(&r))) {
		_cleanup_json_ cJSON *j = NULL;
		const char *st, *topic;
		uint64_t seq = 0, len = 0, mid = 0, at = 0, qos = 0;
		char ack[48];
		bool ok;

		if (json_parse(line, strlen(line), &j, NULL) < 0)
			break;
		if ((st = json_get_string(j, "state"))) {
			const char *msg = json_get_string(j, "message");

			if (!strcmp(st, "up")) {
				set_state(c, CS_UP, NULL);
				pthread_mutex_lock(&m->lock);
				cJSON_Delete(c->subscribed);
				c->subscribed = cJSON_CreateArray();
				{
					const cJSON *it;

					cJSON_ArrayForEach(it, topics) {
						cJSON_AddItemToArray(c->subscribed, cJSON_CreateString(
							json_get_string(it, "topic")));
					}
				}
				pthread_mutex_unlock(&m->lock);
				log_info("mqtt", "%s: connected to %s", c->opts.client_id, c->opts.uri);
			} else if (!strcmp(st, "down")) {
				set_state(c, CS_DOWN, msg);
				log_warn("mqtt", "%s: %s", c->opts.client_id, msg ? msg : "down");
			} else if (!strcmp(st, "refused")) {
				set_state(c, CS_REFUSED, msg);
				log_warn("mqtt", "%s: %s", c->opts.client_id, msg ? msg : "refused");
			} else if (!strcmp(st, "dropped")) {
				pthread_mutex_lock(&m->lock);
				m->st.dropped++;
				pthread_mutex_unlock(&m->lock);
				log_warn("mqtt", "%s: %s", c->opts.client_id, msg ? msg : "dropped");
			} else if (!strcmp(st, "ended")) {
				ended = true;
			}
			continue;
		}
		topic = json_get_string(j, "topic");
		if (!topic || json_get_u64(j, "seq", &seq) < 0 || json_get_u64(j, "len", &len) < 0 ||
		    len > m->cfg->feeds.mqtt_max_payload)
			break;
		(void)json_get_u64(j, "mid", &mid);
		(void)json_get_u64(j, "at", &at);
		(void)json_get_u64(j, "qos", &qos);
		payload = malloc(len ? len : 1);
		if (!payload || rd_exact(&r, payload, len) < 0)
			break;
		{
			struct mqttsub_msg msg = { .topic = topic, .topic_len = strlen(topic),
						   .payload = payload, .payload_len = len,
						   .qos = (int)qos,
						   .retain = json_get_bool(j, "retain", false),
						   .dup = json_get_bool(j, "dup", false),
						   .message_id = (uint32_t)mid, .received_ms = at };

			ok = fire_message(c, seq, &msg);
		}
		free(payload);
		payload = NULL;
		snprintf(ack, sizeof(ack), "%s %llu\n", ok ? "ok" : "retry", (unsigned long long)seq);
		if (file_send_all(fd, ack, strlen(ack)) < 0)
			break;
	}
	free(payload);
	free(r.buf);
	return ended;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct mqttfeed *m = c->m;
	uint32_t backoff = BACKOFF_MIN_MS;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		_cleanup_json_ cJSON *topics = NULL;
		bool end, ended = false;
		char *config;
		int fd = -1, status = 0;
		pid_t pid = 0;
		uint64_t started;

		if (m->stop || (c->nsubs == 0 && c->dead))
			break;
		end = c->nsubs == 0;
		c->run_gen = c->gen;
		c->pend_seq = 0;
		c->ndone = 0;
		c->state = CS_CONNECTING;
		config = conn_config(c, end, &topics);
		pthread_mutex_unlock(&m->lock);

		started = now_mono_ms();
		if (config && spawn(m, &fd, &pid) == 0) {
			pthread_mutex_lock(&m->lock);
			c->pid = pid;
			if (m->stop || c->gen != c->run_gen)
				kill(pid, SIGTERM);
			pthread_mutex_unlock(&m->lock);
			if (file_send_all(fd, config, strlen(config)) == 0)
				ended = conn_run(c, fd, topics);
			close(fd);
			/* The invokers' supervisor may have reaped it already. */
			if (waitpid(pid, &status, 0) < 0)
				status = 0;
		} else {
			log_warn("mqtt", "%s: the client process could not be started",
				 c->opts.client_id);
		}
		free(config);

		pthread_mutex_lock(&m->lock);
		c->pid = 0;
		if (c->state_gen != c->run_gen || c->state == CS_UP || c->state == CS_CONNECTING) {
			/* It went without saying why. */
			c->state = CS_DOWN;
			c->state_gen = c->run_gen;
			snprintf(c->msg, sizeof(c->msg),
				 "the MQTT client process %s (status %d); it is started again",
				 pid ? "exited" : "could not be started", status);
			pthread_cond_broadcast(&m->cond);
		}
		if (m->stop || (end && ended && c->nsubs == 0))
			break;
		if (c->gen != c->run_gen) {
			backoff = BACKOFF_MIN_MS;
			continue;
		}
		m->st.restarts++;
		if (now_mono_ms() - started >= STABLE_MS)
			backoff = BACKOFF_MIN_MS;
		{
			struct timespec ts;
			uint32_t gen = c->gen;

			timespec_in(&ts, backoff);
			/* c->gen changes under the lock while this waits: a
			 * lifecycle call ends the backoff early. */
			/* cppcheck-suppress knownConditionTrueFalse */
			while (!m->stop && c->gen == gen &&
			       pthread_cond_timedwait(&m->cond, &m->lock, &ts) != ETIMEDOUT)
				;
		}
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	c->finished = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* --- connections and registrations (caller holds the lock) --- */

static int conn_start_thread(struct conn *c)
{
	pthread_attr_t a;
	int rc;

	pthread_attr_init(&a);
	/* The process's death signal follows the thread that forked it:
	 * this thread lives as long as the connection. */
	rc = pthread_create(&c->thread, &a, conn_main, c);
	pthread_attr_destroy(&a);
	if (rc != 0)
		return -EAGAIN;
	c->thread_started = true;
	return 0;
}

/* Free the connections whose thread has ended (joined), and those that
 * never had one and have no registration left. */
static void conns_reap(struct mqttfeed *m)
{
	struct conn **p = &m->conns;

	while (*p) {
		struct conn *c = *p;

		if (!c->finished && (c->thread_started || c->nsubs)) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		mqttsub_fini(&c->opts);
		cJSON_Delete(c->subscribed);
		free(c);
	}
}

/* Put s on a connection: a matching one, or a new one. -EEXIST with
 * msg when the client id is in use with other options. */
static int attach(struct mqttfeed *m, struct sub *s, struct conn **out, char *msg, size_t size)
{
	struct conn *c;

	conns_reap(m);
	for (c = m->conns; c; c = c->next) {
		if (c->finished || c->dead || !mqttsub_same_client(&c->opts, &s->p))
			continue;
		if (!mqttsub_same_connection(&c->opts, &s->p)) {
			struct mqttsub copy;

			if (c->nsubs) {
				snprintf(msg, size,
					 "clientId %s is connected to %s already with other options "
					 "(credentials, cleanSession, keepalive or TLS); give this "
					 "trigger another clientId.",
					 s->p.client_id, s->p.url);
				return -EEXIST;
			}
			/* Ending: it starts again with these options. */
			if (sub_copy(&s->p, s->b.ns, s->b.name, &copy) < 0)
				return -ENOMEM;
			mqttsub_fini(&c->opts);
			c->opts = copy;
		}
		break;
	}
	if (!c) {
		if (!(c = calloc(1, sizeof(*c))))
			return -ENOMEM;
		c->m = m;
		c->gen = 1;
		if (sub_copy(&s->p, s->b.ns, s->b.name, &c->opts) < 0) {
			free(c);
			return -ENOMEM;
		}
		c->next = m->conns;
		m->conns = c;
		if (m->started && conn_start_thread(c) < 0) {
			c->dead = c->finished = true;
			return -EAGAIN;
		}
	}
	if (c->nsubs >= SUBS_PER_CONN_MAX) {
		snprintf(msg, size, "clientId %s has %u subscriptions already.", s->p.client_id,
			 SUBS_PER_CONN_MAX);
		return -EEXIST;
	}
	s->conn = c;
	c->nsubs++;
	c->dead = false;
	conn_restart(c);
	*out = c;
	return 0;
}

static void detach(struct mqttfeed *m, struct sub *s)
{
	struct conn *c = s->conn;

	(void)m;
	if (!c)
		return;
	s->conn = NULL;
	c->nsubs--;
	/* Never connected: nothing to end at the broker. */
	if (!c->nsubs && !c->ever_up)
		c->dead = true;
	conn_restart(c);
}

/* Wait until c's process started for gen `gen` (or later) says whether
 * it is up. Caller holds the lock. 0, or -1 with msg. */
static int wait_up(struct mqttfeed *m, struct conn *c, char *msg, size_t size)
{
	uint32_t gen = c->gen;
	struct timespec ts;

	timespec_in(&ts, WAIT_MS);
	while (!m->stop && !c->finished && (c->state_gen < gen || c->state == CS_CONNECTING))
		if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) == ETIMEDOUT)
			break;
	if (c->state_gen >= gen && c->state == CS_UP)
		return 0;
	if (c->state_gen >= gen && c->msg[0])
		snprintf(msg, size, "%s", c->msg);
	else
		snprintf(msg, size, "no answer from %s within %d s.", c->opts.url, WAIT_MS / 1000);
	return -1;
}

/* --- the feed protocol --- */

static cJSON *lifecycle_create(struct mqttfeed *m, const char *ns, const char *name, int key,
			       const cJSON *args)
{
	struct sub *s = calloc(1, sizeof(*s));
	struct err e = { 0 };
	struct conn *c;
	char msg[ERR_MSG_MAX + 64];
	int rc;

	if (!s)
		return NULL;
	if (mqttsub_parse(args, ns, name, &s->p, &e) < 0) {
		free(s);
		return feedreg_error("%s", e.msg);
	}
	snprintf(s->b.ns, sizeof(s->b.ns), "%s", ns);
	snprintf(s->b.name, sizeof(s->b.name), "%s", name);
	snprintf(s->b.feed, sizeof(s->b.feed), "%s", MQTTFEED_NAME);
	snprintf(s->b.key_uuid, sizeof(s->b.key_uuid), "%s", m->cfg->keys[key].uuid);
	s->b.key = key;
	feedreg_set_active(&s->b);
	pthread_mutex_lock(&m->lock);
	if (*sub_find(m, ns, name)) {
		pthread_mutex_unlock(&m->lock);
		sub_free(s);
		return feedreg_error("A feed is already registered for trigger /%s/%s; delete it "
				     "first, or send UPDATE.", ns, name);
	}
	s->id = ++m->next_id;
	s->next = m->subs;
	m->subs = s;
	rc = attach(m, s, &c, msg, sizeof(msg));
	if (rc == 0)
		rc = wait_up(m, c, msg, sizeof(msg));
	else if (rc != -EEXIST)
		snprintf(msg, sizeof(msg), "%s", strerror(-rc));
	if (rc == 0)
		rc = feedreg_save(m->store, &s->b, mqttsub_params(&s->p, false), &e);
	if (rc < 0 && e.code)
		snprintf(msg, sizeof(msg), "The registration could not be stored: %s", e.msg);
	if (rc < 0) {
		detach(m, s);
		*sub_find(m, ns, name) = s->next;
		pthread_mutex_unlock(&m->lock);
		sub_free(s);
		return feedreg_error("%s", msg);
	}
	pthread_mutex_unlock(&m->lock);
	return feedreg_success();
}

static cJSON *lifecycle_read(struct sub *s)
{
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON *config = mqttsub_params(&s->p, true), *status, *conn;

	if (!o || !cJSON_AddItemToObject(o, "config", config)) {
		cJSON_Delete(config);
		return NULL;
	}
	status = feedreg_status(&s->b);
	if (!cJSON_AddStringToObject(config, "name", s->b.name) ||
	    !cJSON_AddStringToObject(config, "namespace", s->b.ns) || !status ||
	    !cJSON_AddItemToObject(o, "status", status))
		return cJSON_Delete(status), NULL;
	/* Beyond the alarms' shape: how its broker connection is doing. */
	conn = cJSON_AddObjectToObject(status, "connection");
	if (!conn || !cJSON_AddStringToObject(conn, "state",
					      s->conn ? state_names[s->conn->state] : "none") ||
	    (s->conn && s->conn->msg[0] && s->conn->state != CS_UP &&
	     !cJSON_AddStringToObject(conn, "message", s->conn->msg)))
		return NULL;
	return TAKE_PTR(o);
}

static cJSON *lifecycle_update(struct mqttfeed *m, struct sub *s, const cJSON *args)
{
	_cleanup_json_ cJSON *merged = mqttsub_params(&s->p, false);
	struct mqttsub next, old;
	struct err e = { 0 };
	struct conn *c;
	char msg[ERR_MSG_MAX], scratch[ERR_MSG_MAX];
	const cJSON *a;

	if (!merged)
		return NULL;
	cJSON_ArrayForEach(a, args) {
		cJSON_DeleteItemFromObjectCaseSensitive(merged, a->string);
		cJSON_AddItemToObject(merged, a->string, cJSON_Duplicate(a, true));
	}
	if (mqttsub_parse(merged, s->b.ns, s->b.name, &next, &e) < 0)
		return feedreg_error("%s", e.msg);
	old = s->p;
	detach(m, s);
	s->p = next;
	if (attach(m, s, &c, msg, sizeof(msg)) == 0 && wait_up(m, c, msg, sizeof(msg)) == 0) {
		mqttsub_fini(&old);
		feedreg_set_active(&s->b);
		if (feedreg_save(m->store, &s->b, mqttsub_params(&s->p, false), &e) < 0)
			return feedreg_error("The registration could not be stored: %s", e.msg);
		return feedreg_success();
	}
	/* Back to what it was. */
	detach(m, s);
	mqttsub_fini(&s->p);
	s->p = old;
	if (attach(m, s, &c, scratch, sizeof(scratch)) < 0)
		log_warn("mqtt", "/%s/%s: not back on its connection", s->b.ns, s->b.name);
	return feedreg_error("%s", msg);
}

static cJSON *lifecycle_pause(struct mqttfeed *m, struct sub *s, bool pause)
{
	struct err e = { 0 };

	if (pause)
		feedreg_set_inactive(&s->b, "USER", 0, "Paused by its owner.");
	else
		feedreg_set_active(&s->b);
	if (feedreg_save(m->store, &s->b, mqttsub_params(&s->p, false), &e) < 0)
		return feedreg_error("The registration could not be stored: %s", e.msg);
	return feedreg_success();
}

static cJSON *lifecycle(struct mqttfeed *m, const char *event, const char *ns,
			const char *name, int key, const cJSON *args)
{
	struct sub **p, *s;
	cJSON *res;

	if (strcasecmp(event, "CREATE") == 0)
		return lifecycle_create(m, ns, name, key, args);
	pthread_mutex_lock(&m->lock);
	p = sub_find(m, ns, name);
	s = *p;
	if (!s) {
		pthread_mutex_unlock(&m->lock);
		return feedreg_error("No feed is registered for trigger /%s/%s.", ns, name);
	}
	if (strcasecmp(event, "READ") == 0) {
		res = lifecycle_read(s);
	} else if (strcasecmp(event, "UPDATE") == 0) {
		res = lifecycle_update(m, s, args);
	} else if (strcasecmp(event, "DELETE") == 0) {
		*p = s->next;
		detach(m, s);
		res = feedreg_success();
	} else {
		res = lifecycle_pause(m, s, strcasecmp(event, "PAUSE") == 0);
	}
	pthread_mutex_unlock(&m->lock);
	if (strcasecmp(event, "DELETE") == 0) {
		feedreg_unstore(m->store, ns, name);
		sub_free(s);
	}
	return res;
}

cJSON *mqttfeed_lifecycle(struct mqttfeed *m, const char *event, const char *ns,
			  const char *name, int key, const cJSON *args)
{
	cJSON *res;

	pthread_mutex_lock(&m->calls);
	res = lifecycle(m, event, ns, name, key, args);
	pthread_mutex_unlock(&m->calls);
	return res;
}

void mqttfeed_trigger_deleted(struct mqttfeed *m, const char *ns, const char *name)
{
	struct sub **p, *s;

	pthread_mutex_lock(&m->calls);
	pthread_mutex_lock(&m->lock);
	p = sub_find(m, ns, name);
	s = *p;
	if (s) {
		*p = s->next;
		detach(m, s);
	}
	pthread_mutex_unlock(&m->lock);
	if (s) {
		feedreg_unstore(m->store, ns, name);
		sub_free(s);
	}
	pthread_mutex_unlock(&m->calls);
}

bool mqttfeed_has(struct mqttfeed *m, const char *ns, const char *name)
{
	bool has;

	pthread_mutex_lock(&m->lock);
	has = *sub_find(m, ns, name) != NULL;
	pthread_mutex_unlock(&m->lock);
	return has;
}

/* --- life --- */

int mqttfeed_new(const struct cfg *c, struct store *s, struct events *ev,
		 const char *client_path, struct mqttfeed **out, struct err *e)
{
	struct mqttfeed *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;

	if (!m)
		return err_set(e, -ENOMEM, "allocate the mqtt feed");
	m->cfg = c;
	m->store = s;
	m->events = ev;
	if (client_path) {
		snprintf(m->client_path, sizeof(m->client_path), "%s", client_path);
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		char *slash;

		self[n > 0 ? n : 0] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		snprintf(m->client_path, sizeof(m->client_path), "%s/edgewhisk-mqtt", self);
	}
	snprintf(m->persist_dir, sizeof(m->persist_dir), "%s/mqtt", c->state_dir);
	pthread_mutex_init(&m->calls, NULL);
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = m;
	return 0;
}

int mqttfeed_load(struct mqttfeed *m, const cJSON *doc)
{
	struct sub *s = calloc(1, sizeof(*s));
	const cJSON *params;
	struct err e = { 0 };
	struct conn *c;
	char msg[ERR_MSG_MAX];

	if (!s)
		return -ENOMEM;
	if (feedreg_from_doc(&s->b, doc, m->cfg, &params, &e) < 0 ||
	    mqttsub_parse(params, s->b.ns, s->b.name, &s->p, &e) < 0) {
		log_warn("mqtt", "a stored registration is skipped: %s", e.msg);
		sub_free(s);
		return 0;
	}
	pthread_mutex_lock(&m->lock);
	s->id = ++m->next_id;
	if (attach(m, s, &c, msg, sizeof(msg)) < 0) {
		pthread_mutex_unlock(&m->lock);
		log_warn("mqtt", "/%s/%s: skipped: %s", s->b.ns, s->b.name, msg);
		sub_free(s);
		return 0;
	}
	s->next = m->subs;
	m->subs = s;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int mqttfeed_start(struct mqttfeed *m, struct err *e)
{
	int rc = 0;

	if (mkdir(m->persist_dir, 0700) < 0 && errno != EEXIST)
		log_warn("mqtt", "%s: %s", m->persist_dir, strerror(errno));
	pthread_mutex_lock(&m->lock);
	m->started = true;
	for (struct conn *c = m->conns; c && rc == 0; c = c->next)
		if (!c->thread_started && conn_start_thread(c) < 0)
			rc = err_set(e, -EAGAIN, "start an MQTT connection thread");
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void mqttfeed_free(struct mqttfeed *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	for (struct conn *c = m->conns; c; c = c->next)
		if (c->pid > 0)
			kill(c->pid, SIGTERM);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	while (m->conns) {
		struct conn *c = m->conns;

		m->conns = c->next;
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		mqttsub_fini(&c->opts);
		cJSON_Delete(c->subscribed);
		free(c);
	}
	while (m->subs) {
		struct sub *s = m->subs;

		m->subs = s->next;
		sub_free(s);
	}
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->calls);
	free(m);
}

void mqttfeed_stats_get(struct mqttfeed *m, struct mqttfeed_stats *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->st;
	out->registrations = out->connections = out->connected = 0;
	for (const struct sub *s = m->subs; s; s = s->next)
		out->registrations++;
	for (const struct conn *c = m->conns; c; c = c->next) {
		out->connections += !c->finished;
		out->connected += c->state == CS_UP;
	}
	pthread_mutex_unlock(&m->lock);
}
