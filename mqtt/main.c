/* SPDX-License-Identifier: Apache-2.0 */
/* edgewhisk-mqtt: one broker connection of the mqtt/subscribe feed, in a
 * process of its own so a misbehaving broker (garbage, 1 MB messages,
 * disconnect storms) or a fault of the client library takes down only
 * this connection; the controller restarts it (controller/mqttfeed.h).
 *
 * It talks to the controller over the socket on fd 3 (a socketpair):
 *   controller -> here, once: one line of JSON, the connection:
 *     {"uri","clientId","cleanSession","keepalive","username","password",
 *      "caFile","insecure","persist","subs":[{"topic","qos"}],
 *      "unsubs":[topic...],"end":bool,"maxPayload":bytes}
 *   here -> controller: state lines {"state":"up"|"down"|"refused"|
 *     "dropped"|"ended","message":...} and messages: a line
 *     {"seq","topic","qos","retain","dup","mid","at","len"} then len bytes
 *     of payload;
 *   controller -> here, per message: "ok <seq>\n" (fired: forget it) or
 *     "retry <seq>\n" (refused for now: keep it, offer it again).
 *
 * At least once: Eclipse Paho C stores a received QoS 1/2 message in its
 * file persistence (under "persist") before it acknowledges it to the
 * broker, and removes it only when messageArrived returns true, which it
 * does here only after "ok". A message acknowledged to the broker but not
 * yet fired survives this process's death in those files and is offered
 * again by the next process of the same client id. While the controller
 * says "retry", messageArrived offers the message again and does not
 * return: Paho reads one packet per message delivered, so the broker's
 * session, not this process's memory, holds a backlog. (Returning false
 * would not do: Paho offers a kept message again only when another packet
 * arrives, and the rest of a backlog would wait for keepalive pings.) A
 * wait longer than 1.5 keepalives makes the broker drop the connection;
 * the session and the kept message outlive that.
 *
 * With "end" it connects with a clean session (the broker and Paho drop
 * the session and its stored messages), disconnects and exits: the last
 * subscription of the client was deleted. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <MQTTClient.h>

#include "common/file.h"
#include "common/json.h"
#include "common/now.h"

#define CTL_FD 3
#define CONFIG_MAX (1024 * 1024)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define SUBS_MAX 64
#define STABLE_MS 30000
/* The controller answers a message within its hold time (seconds); past
 * this it is stuck or gone. */
#define ACK_TIMEOUT_MS 120000

static struct {
	pthread_mutex_t wlock;
	int lost_pipe[2];
	uint64_t seq;
	MQTTClient_message *offered;  /* the message last offered, until "ok" */
	int offered_mid;
	size_t max_payload;
	char ssl_err[256];
} g = { .wlock = PTHREAD_MUTEX_INITIALIZER };

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "edgewhisk-mqtt[%d]: %s\n", (int)getpid(), line);
}

static int write_all(const void *p, size_t n)
{
	return file_send_all(CTL_FD, p, n);
}

/* The controller is gone: so is this connection (the session stays with
 * the broker, the unfired messages in the persistence files). */
static void controller_gone(void) __attribute__((noreturn));
static void controller_gone(void)
{
	_exit(0);
}

static void state(const char *st, const char *msg)
{
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	char *text;
	size_t len;

	if (!o || !cJSON_AddStringToObject(o, "state", st) ||
	    (msg && !cJSON_AddStringToObject(o, "message", msg)))
		return;
	text = json_print(o, &len);
	if (!text)
		return;
	pthread_mutex_lock(&g.wlock);
	if (write_all(text, len) < 0 || write_all("\n", 1) < 0)
		controller_gone();
	pthread_mutex_unlock(&g.wlock);
	json_free(text);
}

/* One line from the controller into buf (without '\n'); -1 on EOF, an
 * error or a timeout. Bytes past the line are not read (one byte at a
 * time: acks are a few bytes, one per message). */
static int read_line(char *buf, size_t size, int timeout_ms)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = CTL_FD, .events = POLLIN };
		ssize_t r;

		if (timeout_ms >= 0 && poll(&p, 1, timeout_ms) <= 0)
			return -1;
		r = read(CTL_FD, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

static void on_lost(void *ctx, char *cause)
{
	char one = 1;

	(void)ctx;
	say("connection lost: %s", cause ? cause : "(no cause given)");
	if (write(g.lost_pipe[1], &one, 1) < 0) {
		/* A wake-up is pending already. */
	}
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTClient_message *m)
{
	_cleanup_json_ cJSON *h = cJSON_CreateObject();
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic), len = 0;
	char *text, ack[64], want[48];
	int ok;

	(void)ctx;
	if (m->payloadlen < 0 || (size_t)m->payloadlen > g.max_payload || strlen(topic) != tlen) {
		char msg[160];

		snprintf(msg, sizeof(msg), "a message on '%.64s' of %d bytes was dropped: %s", topic,
			 m->payloadlen,
			 strlen(topic) != tlen ? "its topic holds a NUL"
					       : "it is larger than feeds.mqtt_max_payload");
		state("dropped", msg);
		goto done;
	}
	/* The same message offered again after "retry" keeps its number, so
	 * the controller knows which of its triggers fired already. */
	if (m != g.offered || m->msgid != g.offered_mid) {
		g.seq++;
		g.offered = m;
		g.offered_mid = m->msgid;
	}
	if (!h || !json_add_u64(h, "seq", g.seq) || !cJSON_AddStringToObject(h, "topic", topic) ||
	    !cJSON_AddNumberToObject(h, "qos", m->qos) ||
	    !cJSON_AddBoolToObject(h, "retain", m->retained) ||
	    !cJSON_AddBoolToObject(h, "dup", m->dup) ||
	    !cJSON_AddNumberToObject(h, "mid", m->msgid) ||
	    !json_add_u64(h, "at", now_epoch_ms()) ||
	    !json_add_u64(h, "len", (uint64_t)m->payloadlen))
		return 0; /* out of memory: offered again */
	text = json_print(h, &len);
	if (!text)
		return 0;
	snprintf(want, sizeof(want), "ok %llu", (unsigned long long)g.seq);
	/* "retry": the controller held it for its hold time; offer it again
	 * (see the top: returning false here would stall a backlog). */
	do {
		pthread_mutex_lock(&g.wlock);
		ok = write_all(text, len) == 0 && write_all("\n", 1) == 0 &&
		     write_all(m->payload, (size_t)m->payloadlen) == 0;
		pthread_mutex_unlock(&g.wlock);
		if (!ok || read_line(ack, sizeof(ack), ACK_TIMEOUT_MS) < 0)
			controller_gone();
	} while (strcmp(ack, want) != 0);
	json_free(text);
done:
	g.offered = NULL;
	MQTTClient_freeMessage(&m);
	MQTTClient_free(topic);
	return 1;
}

static int on_ssl_error(const char *str, size_t len, void *u)
{
	(void)u;
	snprintf(g.ssl_err, sizeof(g.ssl_err), "%.*s", (int)(len > 200 ? 200 : len), str);
	return 0;
}

/* Sleep ms, or less when the controller goes. */
static void pause_ms(int ms)
{
	struct pollfd p = { .fd = CTL_FD, .events = POLLRDHUP };

	if (poll(&p, 1, ms) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		controller_gone();
}

static const char *connect_reason(int rc)
{
	switch (rc) {
	case 1: return "the broker refused the protocol version";
	case 2: return "the broker rejected the client id";
	case 3: return "the broker is unavailable";
	case 4: return "the broker refused the username or password";
	case 5: return "not authorized by the broker (check username and password)";
	default: return g.ssl_err[0] ? g.ssl_err : MQTTClient_strerror(rc);
	}
}

struct conf {
	cJSON *j;                     /* lives as long as the process */
	const char *uri, *client_id, *persist;
	char *topics[SUBS_MAX];
	int qos[SUBS_MAX], count;
	char *unsubs[SUBS_MAX];
	int unsub_count;
	bool end;
};

static int read_conf(struct conf *c)
{
	char *line = malloc(CONFIG_MAX);
	const cJSON *it;
	uint64_t maxp = 0;
	int rc = -1;

	if (!line || read_line(line, CONFIG_MAX, 30000) < 0)
		goto out;
	if (json_parse(line, strlen(line), &c->j, NULL) < 0)
		goto out;
	c->uri = json_get_string(c->j, "uri");
	c->client_id = json_get_string(c->j, "clientId");
	c->persist = json_get_string(c->j, "persist");
	c->end = json_get_bool(c->j, "end", false);
	if (json_get_u64(c->j, "maxPayload", &maxp) < 0 || !maxp)
		maxp = 1024 * 1024;
	g.max_payload = (size_t)maxp;
	cJSON_ArrayForEach(it, json_get_array(c->j, "subs")) {
		const char *t = json_get_string(it, "topic");
		uint64_t q = 0;

		if (!t || c->count == SUBS_MAX)
			goto out;
		(void)json_get_u64(it, "qos", &q);
		c->topics[c->count] = (char *)t;
		c->qos[c->count++] = q > 2 ? 2 : (int)q;
	}
	cJSON_ArrayForEach(it, json_get_array(c->j, "unsubs")) {
		if (cJSON_IsString(it) && c->unsub_count < SUBS_MAX)
			c->unsubs[c->unsub_count++] = it->valuestring;
	}
	rc = c->uri && c->client_id && c->persist && (c->count || c->end) ? 0 : -1;
out:
	free(line);
	return rc;
}

/* Subscribe (and drop what the controller no longer wants). 0, or -1 with
 * the refusal said. */
static int subscribe(MQTTClient cl, struct conf *c)
{
	int granted[SUBS_MAX], rc;
	char msg[400];

	if (c->unsub_count)
		(void)MQTTClient_unsubscribeMany(cl, c->unsub_count, c->unsubs);
	memcpy(granted, c->qos, sizeof(granted));
	rc = MQTTClient_subscribeMany(cl, c->count, c->topics, granted);
	if (rc != MQTTCLIENT_SUCCESS) {
		snprintf(msg, sizeof(msg), "subscribe: %s", MQTTClient_strerror(rc));
		state("down", msg);
		return 1;
	}
	for (int i = 0; i < c->count; i++)
		if (granted[i] == 0x80) {
			snprintf(msg, sizeof(msg), "the broker refused the subscription to '%.200s'",
				 c->topics[i]);
			state("refused", msg);
			return -1;
		}
	return 0;
}

int main(void)
{
	struct conf c = { 0 };
	MQTTClient cl;
	MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer;
	MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
	const char *ca;
	int backoff = BACKOFF_MIN_MS, rc;
	uint64_t up_at = 0;
	char msg[400];

	signal(SIGPIPE, SIG_IGN);
	/* The controller's death ends this process too. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1 || pipe(g.lost_pipe) < 0 || read_conf(&c) < 0) {
		say("no connection configuration on fd %d", CTL_FD);
		return 2;
	}
	rc = MQTTClient_create(&cl, c.uri, c.client_id, MQTTCLIENT_PERSISTENCE_DEFAULT,
			       (void *)c.persist);
	if (rc != MQTTCLIENT_SUCCESS) {
		snprintf(msg, sizeof(msg), "%s: %s", c.uri, MQTTClient_strerror(rc));
		state("refused", msg);
		return 3;
	}
	if (!c.end && MQTTClient_setCallbacks(cl, NULL, on_lost, on_message, NULL) !=
			      MQTTCLIENT_SUCCESS) {
		state("refused", "the client library refused its callbacks");
		return 3;
	}
	co.keepAliveInterval = 60;
	co.cleansession = c.end || json_get_bool(c.j, "cleanSession", false);
	co.connectTimeout = 5;
	co.username = json_get_string(c.j, "username");
	co.password = json_get_string(c.j, "password");
	{
		uint64_t ka = 0;

		if (json_get_u64(c.j, "keepalive", &ka) == 0 && ka > 0 && ka <= 65535)
			co.keepAliveInterval = (int)ka;
	}
	if (strncmp(c.uri, "ssl://", 6) == 0 || strncmp(c.uri, "wss://", 6) == 0) {
		bool insecure = json_get_bool(c.j, "insecure", false);

		ca = json_get_string(c.j, "caFile");
		ssl.trustStore = ca;
		ssl.enableServerCertAuth = !insecure;
		ssl.verify = !insecure;
		ssl.ssl_error_cb = on_ssl_error;
		co.ssl = &ssl;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = CTL_FD, .events = POLLRDHUP },
				       { .fd = g.lost_pipe[0], .events = POLLIN } };
		char drain[64];

		g.ssl_err[0] = '\0';
		rc = MQTTClient_connect(cl, &co);
		if (rc != MQTTCLIENT_SUCCESS) {
			snprintf(msg, sizeof(msg), "cannot connect to %s: %s", c.uri,
				 connect_reason(rc));
			state("down", msg);
			pause_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		if (c.end) {
			MQTTClient_disconnect(cl, 1000);
			state("ended", NULL);
			MQTTClient_destroy(&cl);
			return 0;
		}
		rc = subscribe(cl, &c);
		if (rc < 0) {
			MQTTClient_disconnect(cl, 1000);
			return 3;
		}
		if (rc > 0) {
			MQTTClient_disconnect(cl, 0);
			pause_ms(backoff);
			continue;
		}
		state("up", NULL);
		up_at = now_mono_ms();
		while (poll(p, 2, -1) < 0 && errno == EINTR)
			;
		if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
			controller_gone();
		if (read(g.lost_pipe[0], drain, sizeof(drain)) < 0) {
			/* Nothing to drain. */
		}
		state("down", "the connection to the broker was lost; reconnecting");
		/* A storm of disconnects is not a storm of connects: the
		 * backoff starts again only after a stable connection. */
		if (now_mono_ms() - up_at >= STABLE_MS)
			backoff = BACKOFF_MIN_MS;
		pause_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}
