/* SPDX-License-Identifier: Apache-2.0 */
/* The pure parts of the /whisk.system/mqtt/subscribe feed: its parameters,
 * MQTT topic filters and the parameters of a fire. No I/O, no threads
 * (mqttfeed.h runs the connections).
 *
 * Parameters: url (mqtt://host[:1883], mqtts://host[:8883], ws://, wss://),
 * topic (a filter or an array of them; + and # as MQTT 3.1.1 §4.7 says),
 * qos 0/1/2 (default 1), clientId (default "ew-" and a hash of the
 * trigger, so it stays the same across restarts), cleanSession (default
 * false when qos > 0), username, password, keepalive (s, default 60),
 * caCert (PEM text), insecure (skip certificate checks), payloadEncoding
 * auto|utf8|base64|json (default auto), retained deliver|skip (default
 * deliver). Errors name the parameter. */
#ifndef EW_MQTTSUB_H
#define EW_MQTTSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"

#define MQTTSUB_TOPICS_MAX 16
#define MQTTSUB_FILTER_MAX 1024

enum mqttsub_enc { MQTTSUB_AUTO, MQTTSUB_UTF8, MQTTSUB_BASE64, MQTTSUB_JSON };

struct mqttsub {
	char *url;                   /* as given */
	char *uri;                   /* the client library's: tcp://, ssl://, ws://, wss:// */
	bool tls;
	char *topics[MQTTSUB_TOPICS_MAX];
	uint32_t topic_count;
	int qos;
	char *client_id;
	bool clean;
	char *username, *password;   /* NULL = none */
	uint32_t keepalive_s;
	char *ca_cert;               /* PEM, NULL = the system's CAs */
	bool insecure;
	enum mqttsub_enc enc;
	bool skip_retained;
};

/* Check and copy the parameters of trigger /ns/trigger into *out (the
 * caller's; mqttsub_fini). -EINVAL naming the parameter, -ENOMEM. */
int mqttsub_parse(const cJSON *params, const char *ns, const char *trigger, struct mqttsub *out,
		  struct err *e) __attribute__((warn_unused_result));

void mqttsub_fini(struct mqttsub *s);

/* The parameters as given back to mqttsub_parse (for_read false: all, to
 * store) or shown by READ (true: no password, caCert only as present). */
cJSON *mqttsub_params(const struct mqttsub *s, bool for_read);

/* Whether two subscriptions may share one broker connection: the same
 * broker, client id, credentials and session options. */
bool mqttsub_same_connection(const struct mqttsub *a, const struct mqttsub *b);

/* The same broker and client id (then they must share, or conflict). */
bool mqttsub_same_client(const struct mqttsub *a, const struct mqttsub *b);

/* A topic filter as MQTT allows it: 1..MQTTSUB_FILTER_MAX bytes of UTF-8
 * without NUL, '+' only as a whole level, '#' only as the whole last. */
bool mqttsub_filter_valid(const char *f);

/* Whether a received topic (no wildcards) matches filter. Topics starting
 * with '$' are not matched by a filter starting with a wildcard. */
bool mqttsub_match(const char *filter, const char *topic, size_t topic_len);

/* Whether any of s's filters matches. */
bool mqttsub_matches(const struct mqttsub *s, const char *topic, size_t topic_len);

struct mqttsub_msg {
	const char *topic;
	size_t topic_len;
	const void *payload;
	size_t payload_len;
	int qos;
	bool retain, dup;
	uint32_t message_id;
	uint64_t received_ms;
};

/* Append the fire's parameters to b as one JSON object: {topic, payload,
 * encoding, qos, retain, dup, messageId, receivedAt}. encoding "json"
 * splices the payload as it came, "utf8" quotes it, "base64" encodes it;
 * auto takes the first that fits. A payload that is not what a fixed
 * encoding asks for is sent as base64 (encoding says so). -ENOMEM. */
int mqttsub_fire_params(struct buf *b, const struct mqttsub_msg *m, enum mqttsub_enc enc)
	__attribute__((warn_unused_result));

#endif
