/* SPDX-License-Identifier: Apache-2.0 */
/* Docker Engine API client over the daemon's unix socket (libcurl with
 * CURLOPT_UNIX_SOCKET_PATH; the only user of libcurl). One struct docker per
 * thread: it keeps one curl handle, so the connection is reused between
 * calls. Errors carry Docker's own message: "create container ewk_0_3:
 * docker 409: Conflict. The container name ... is already in use".
 * Response parsing is split into docker_parse_* so it is tested without a
 * daemon. API version pinned to v1.41 (Debian 12's docker.io 20.10). */
#ifndef EW_DOCKER_H
#define EW_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define DOCKER_API_VERSION "v1.41"
#define DOCKER_ID_MAX 65        /* 64 hex + NUL */

struct docker;

/* Everything docker_container_create sets. Strings are borrowed. */
struct docker_create_opts {
	const char *name;                /* container name, e.g. "ewk_0_12_guest_hello" */
	const char *image;               /* "edgewhisk/action-nodejs:1" */
	const char *const *env;          /* NULL-terminated "KEY=VALUE" list, may be NULL */
	const char *const *labels;       /* NULL-terminated "key=value" list, may be NULL */
	uint64_t memory_bytes;           /* Memory and MemorySwap (no swap beyond it); 0 = none */
	uint32_t pids_limit;             /* 0 = none */
	uint32_t nofile;                 /* RLIMIT_NOFILE soft = hard; 0 = daemon default */
	uint32_t cpu_shares;             /* 0 = default */
	const char *network_mode;        /* "bridge" (default when NULL), "none" or a
					  * user-defined network; "host" and
					  * "container:..." are refused (-EINVAL) */
	uint16_t publish_port;           /* container TCP port published on 127.0.0.1 at a
					  * random host port; 0 = publish nothing */
};
/* Always set as well: CapDrop NET_RAW + NET_ADMIN, SecurityOpt
 * no-new-privileges, LogConfig json-file. The Docker socket is never
 * mounted: there are no mounts at all. */

enum docker_state {
	DOCKER_STATE_UNKNOWN = 0,
	DOCKER_STATE_CREATED,
	DOCKER_STATE_RUNNING,
	DOCKER_STATE_PAUSED,
	DOCKER_STATE_RESTARTING,
	DOCKER_STATE_EXITED,
	DOCKER_STATE_DEAD,
	DOCKER_STATE_REMOVING,
};

struct docker_inspect {
	char id[DOCKER_ID_MAX];
	enum docker_state state;
	bool oom_killed;
	int exit_code;
	int pid;                         /* of the container's init, 0 when not running */
	uint16_t host_port;              /* host port bound to publish_port on 127.0.0.1, 0 if none
					  * (docker_container_inspect: the TCP port bound on
					  * 127.0.0.1, i.e. the one create published) */
	char log_path[512];              /* json-file log of the container ("" if unknown) */
};

/* Open a client for the daemon at `socket_path`. Does not connect yet.
 * -ENOMEM. */
int docker_open(const char *socket_path, struct docker **out, struct err *e)
	__attribute__((warn_unused_result));
void docker_close(struct docker *d);

/* Every call below that talks to the daemon may also fail with: -ENOENT,
 * -ECONNREFUSED or -EACCES (connecting to the socket, 5 s timeout),
 * -ETIMEDOUT (no full answer within 60 s, 10 s for pause/unpause), -EPROTO
 * (connection dropped, answer over 8 MiB, unexpected status or body),
 * -ENOMEM; and -EINVAL before any request for a malformed id or name
 * (Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]*). Messages read "<what> <id>:
 * docker <status>: <Docker's message>". */

/* GET /_ping. 0 when the daemon answers OK; -ECONNREFUSED/-ENOENT when the
 * socket is not there; -EPROTO otherwise. */
int docker_ping(struct docker *d, struct err *e) __attribute__((warn_unused_result));


/* POST /containers/create. Writes the new id. -EEXIST (409 name in use),
 * -ENOENT (404 no such image), -EINVAL (400), -EPROTO (other). */
int docker_container_create(struct docker *d, const struct docker_create_opts *o,
			    char id_out[DOCKER_ID_MAX], struct err *e)
	__attribute__((warn_unused_result));

/* Lifecycle. -ENOENT when the container does not exist; start/unpause of a
 * running one and pause of a paused one are not errors (304/409 tolerated
 * where Docker means "already"). -EBUSY when its state forbids the call
 * (pause/unpause of a stopped one, start of a paused one). */
int docker_container_start(struct docker *d, const char *id, struct err *e)
	__attribute__((warn_unused_result));
int docker_container_pause(struct docker *d, const char *id, struct err *e)
	__attribute__((warn_unused_result));
int docker_container_unpause(struct docker *d, const char *id, struct err *e)
	__attribute__((warn_unused_result));
/* DELETE ?force=true&v=true. A container already gone (or whose removal is
 * already in progress) is not an error. */
int docker_container_remove(struct docker *d, const char *id, struct err *e)
	__attribute__((warn_unused_result));

/* GET /containers/{id}/json. */
int docker_container_inspect(struct docker *d, const char *id, struct docker_inspect *out,
			     struct err *e) __attribute__((warn_unused_result));

/* GET /containers/json?all=true&filters={"label":[label]}: ids of every
 * container (running or not) carrying `label` ("key=value" or "key").
 * *ids_out is a malloc'd array of *count_out ids; free with free(). */
int docker_container_list(struct docker *d, const char *label, char (**ids_out)[DOCKER_ID_MAX],
			  size_t *count_out, struct err *e) __attribute__((warn_unused_result));


/* A consumer of demultiplexed log bytes (docker_log_demux_feed,
 * docker_container_logs): stream 1 = stdout, 2 = stderr. */
typedef int (*docker_log_fn)(void *arg, int stream, const char *data, size_t len);

/* --- pure parsers (no I/O), for tests and fuzzing --- */

/* Inspect JSON -> struct. -EPROTO when it is not an inspect document (not
 * JSON, no string Id of 1..64 characters, no State object); other fields
 * missing or mistyped read as 0/""/UNKNOWN. published_port 0 = the TCP port
 * bound on 127.0.0.1. */
int docker_parse_inspect(const char *json, size_t len, uint16_t published_port,
			 struct docker_inspect *out) __attribute__((warn_unused_result));

/* {"message": "..."} error body -> message text (truncated to fit). Falls back
 * to the raw body (trimmed) when it is not that shape. */
void docker_parse_error(const char *body, size_t len, char *msg, size_t msg_size);

/* Feed raw multiplexed log bytes (state zeroed before the first call).
 * Calls cb for each frame's payload as it arrives: a frame split across
 * feeds gives several calls on the same stream, an empty frame none; a
 * split header is kept in *st for the next call. Streams are passed as
 * sent (0 stdin, 1 stdout, 2 stderr, 3 daemon error). Returns 0, -EPROTO
 * for a bad header (then stop feeding), or cb's first non-zero return.
 * cb may be NULL (discard). */
struct docker_log_demux {
	unsigned char hdr[8];
	size_t hdr_have;
	size_t frame_left;
	int stream;
};
int docker_log_demux_feed(struct docker_log_demux *st, const char *data, size_t len,
			  docker_log_fn cb, void *arg);

#endif
