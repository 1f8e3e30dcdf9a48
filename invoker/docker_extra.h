/* SPDX-License-Identifier: Apache-2.0 */
/* Docker Engine calls for tests, benchmarks and diagnostics, on the same
 * handle as docker.h's (errors as there). The invoker never makes them,
 * so they live apart from its own calls and out of its binary. */
#ifndef EW_DOCKER_EXTRA_H
#define EW_DOCKER_EXTRA_H

#include <stdint.h>

#include "common/err.h"
#include "invoker/docker.h"

/* Does the image exist locally? 0 = yes, -ENOENT = no (never pulls). */
int docker_image_exists(struct docker *d, const char *image, struct err *e)
	__attribute__((warn_unused_result));

/* POST /containers/{id}/kill?signal=S (`signal` "KILL", "TERM"; NULL =
 * "KILL"). -ENOENT, -EBUSY when the container is not running. */
int docker_container_kill(struct docker *d, const char *id, const char *signal, struct err *e)
	__attribute__((warn_unused_result));

/* GET /containers/{id}/logs?stdout=1&stderr=1&timestamps=1[&since=S]:
 * demultiplexed (the 8-byte frame headers stripped) into `cb`, one call per
 * frame (or per piece of a frame, as it arrives) with stream 1 = stdout,
 * 2 = stderr. since_s 0 = from the start. A non-zero return from `cb` stops
 * the transfer and is returned (-ECANCELED if it was positive). -EPROTO
 * when the stream is not multiplexed or ends inside a frame, -EIO with the
 * text of an error the daemon sent in-stream. */
int docker_container_logs(struct docker *d, const char *id, uint64_t since_s, docker_log_fn cb,
			  void *arg, struct err *e) __attribute__((warn_unused_result));

#endif
