/* SPDX-License-Identifier: Apache-2.0 */
/* edgewhisk configuration: one plain struct filled from defaults, then from
 * the YAML file (config/edgewhisk.yaml documents every key), then checked by
 * cfg_validate. Read once at start and passed as const afterwards. The only
 * user of libyaml. */
#ifndef EW_CFG_H
#define EW_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define CFG_MAX_KEYS 16      /* auth keys */
#define CFG_MAX_CPUS 64      /* entries of invokers.cpus */
#define CFG_MAX_KINDS 32     /* runtime kinds */
#define CFG_NAME_MAX 64
#define CFG_PATH_MAX 256

struct cfg_auth_key {
	char uuid[37];               /* 36-char RFC 4122 UUID */
	char key[65];                /* exactly 64 alphanumerics */
	char namespace[CFG_NAME_MAX];
};

struct cfg_kind {
	char name[CFG_NAME_MAX];     /* "nodejs:20" */
	char image[CFG_PATH_MAX];    /* "edgewhisk/action-nodejs:1" */
	bool is_default;             /* the family's ":default" resolves here */
	uint32_t prewarm;            /* stem cells kept per invoker */
};

struct cfg_limit {                   /* one limit: default and bounds */
	uint64_t def, min, max;
};

struct cfg {
	struct {
		char address[CFG_NAME_MAX];   /* default "127.0.0.1" */
		uint16_t port;                /* default 3233 */
		uint64_t inflight_body_bytes; /* request bodies read at once; default 32 MiB */
	} api;
	struct cfg_auth_key keys[CFG_MAX_KEYS];
	uint32_t key_count;                   /* default: the guest key */
	char state_dir[CFG_PATH_MAX];         /* default "/var/lib/edgewhisk" */
	char log_level[16];                   /* default "info" */
	struct {
		char name[CFG_NAME_MAX];      /* shm name, default "/edgewhisk-act-v1" */
		uint32_t slots;               /* per ring, power of two, default 1024 */
		uint64_t max_payload_bytes;   /* default 1 MiB */
	} queue;
	struct {
		uint32_t count;               /* 0 = auto (online cores) */
		uint32_t cpus[CFG_MAX_CPUS];  /* pin list; empty = cpu i for invoker i */
		uint32_t cpu_count;
		uint64_t user_memory_mb;      /* per invoker, default 1024 */
	} invokers;
	struct {
		char socket[CFG_PATH_MAX];    /* default "/var/run/docker.sock" */
	} docker;
	struct {
		uint32_t pause_grace_ms;      /* pause an idle warm container after, default 500; 0 = never */
		uint32_t idle_timeout_ms;     /* remove an idle container after, default 600000; 0 = never */
		char network[CFG_NAME_MAX];   /* Docker network: "bridge" (default), "none", a user network */
		uint32_t pids_limit;          /* per container, default 1024 */
		uint32_t nofile;              /* RLIMIT_NOFILE per container, default 1024 */
	} containers;
	struct {
		/* Group commit of activation records: a transaction at most
		 * this long after the first record waits, default 1000 ms
		 * [0, 10000]; 0 = one transaction per record (and an
		 * unfinished row per activation, not the acknowledgement log). */
		uint32_t commit_window_ms;
		uint32_t commit_max_records;  /* or at this many, default 256 [1, 65536] */
	} store;
	struct {
		uint32_t max_count;           /* activation records kept, default 10000; 0 = no limit */
		uint32_t max_age_hours;       /* records older are deleted, default 168; 0 = no limit */
	} activations;
	struct {
		/* A scheduled fire missed while the controller was down is
		 * made once at start-up when at most this old, default 300;
		 * 0 = never. */
		uint32_t missed_grace_s;
		/* An MQTT message larger than this is dropped with a log
		 * line (default 1 MiB, at most 64 MiB). */
		uint64_t mqtt_max_payload;
		/* How long a refused fire of an MQTT message is retried
		 * before the message is offered again (ms, default 2000). */
		uint32_t mqtt_hold_ms;
	} feeds;
	struct cfg_kind kinds[CFG_MAX_KINDS];
	uint32_t kind_count;
	struct {
		struct cfg_limit timeout_ms;  /* 60000 [100, 300000] */
		struct cfg_limit memory_mb;   /* 256 [128, 512] */
		struct cfg_limit logs_mb;     /* 10 [0, 10] */
		struct cfg_limit payload_bytes; /* 1 MiB [0, 1 MiB]; max <= queue.max_payload */
		/* Per namespace (OpenWhisk's throttles; 0 = no limit). */
		uint32_t invocations_per_minute; /* default 60000 */
		uint32_t fires_per_minute;       /* trigger fires, default 60000 */
		uint32_t concurrent_invocations;   /* running + queued, default 1000 */
	} limits;
};

/* Fill *c with the default of every key. Never fails. */
void cfg_defaults(struct cfg *c);

/* Load `path` over the current contents of *c (call cfg_defaults first), then
 * validate. Errors: -ENOENT/-EACCES (file; any -errno of open/read, -EISDIR
 * for a directory, -EFBIG over 1 MiB), -ENOMEM, -EINVAL for YAML syntax,
 * unknown or duplicate keys, wrong types or out-of-range values, with e->msg
 * "file:line:col: key: what is wrong" (1-based line and column of the
 * offending node; a cross-key failure points at the failing key, or at the
 * related key when the failing one kept its default). `auth`, `runtimes` and
 * `invokers.cpus` replace the current lists; other keys override one by one.
 * config/edgewhisk.yaml documents the schema. On error *c may hold a partial
 * load; do not use it. Not thread-safe (start-up only). */
int cfg_load(struct cfg *c, const char *path, struct err *e)
	__attribute__((warn_unused_result));

/* Same as cfg_load but from a NUL-terminated string; `name` is used in
 * messages in place of the file name. */
int cfg_load_string(struct cfg *c, const char *yaml, const char *name, struct err *e)
	__attribute__((warn_unused_result));

/* Cross-key checks (payload max <= queue max, slots power of two, default
 * within [min, max], at most one default per kind family...). Also:
 * limits.memory.max <= invokers.user_memory, at least one auth key with a
 * unique well-formed uuid, absolute state_dir and docker.socket, and counts
 * within the arrays. -EINVAL with "key: what is wrong". */
int cfg_validate(const struct cfg *c, struct err *e)
	__attribute__((warn_unused_result));

/* Parse a size like "1024m", "1g", "512k", "1048576" (bytes when no unit;
 * k/m/g are powers of 1024, case-insensitive, optional trailing "b").
 * -EINVAL when malformed or overflowing. */
int cfg_size_parse(const char *s, uint64_t *bytes_out);

/* Invoker count after resolving "auto" against the online cores. */
uint32_t cfg_invoker_count(const struct cfg *c);

/* CPU for invoker `id`: invokers.cpus[id % cpu_count], or id % online cores. */
uint32_t cfg_invoker_cpu(const struct cfg *c, uint32_t id);

#endif
