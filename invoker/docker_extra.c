/* SPDX-License-Identifier: Apache-2.0 */
/* Docker calls the invoker itself never makes (see docker_extra.h): for
 * tests, benchmarks and diagnostics. Not linked into edgewhisk-invoker. */
#include "invoker/docker_extra.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "invoker/docker_impl.h"

int docker_image_exists(struct docker *d, const char *image, struct err *e)
{
	char what[DOCKER_WHAT_MAX], url[DOCKER_URL_MAX];
	_cleanup_curl_str_ char *esc = NULL;
	struct request r = { "GET", url, NULL, 0, DOCKER_TIMEOUT_MS, false };
	long status;
	int rc;

	if (!image || !*image || strlen(image) > DOCKER_IMAGE_MAX)
		return err_set(e, -EINVAL, "inspect image: invalid image name");
	for (const char *p = image; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return err_set(e, -EINVAL, "inspect image: invalid image name");
	snprintf(what, sizeof(what), "inspect image %s", image);
	esc = docker_url_escape(d, image);
	if (!esc)
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	rc = docker_url_build(url, sizeof(url), what, e, DOCKER_BASE_URL "/images/%s/json", esc);
	if (rc < 0)
		return rc;
	rc = docker_perform(d, &r, &status, e);
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	if (status == 200)
		return 0;
	return docker_status_fail(d, docker_status_errno(status, -EPROTO), status, what, e);
}

int docker_container_kill(struct docker *d, const char *id, const char *signal, struct err *e)
{
	char what[DOCKER_WHAT_MAX], query[64];
	long status;
	int rc;

	snprintf(what, sizeof(what), "kill container %s with %s", id ? id : "(null)",
		 signal ? signal : "KILL");
	if (signal) {
		/* Names ("KILL", "SIGTERM") or numbers: nothing to escape. */
		size_t n = strlen(signal);

		if (n == 0 || n > 16)
			return err_set(e, -EINVAL, "%s: invalid signal", what);
		for (size_t i = 0; i < n; i++) {
			char c = signal[i];

			if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
			      c == '-'))
				return err_set(e, -EINVAL, "%s: invalid signal", what);
		}
	}
	snprintf(query, sizeof(query), "signal=%s", signal ? signal : "KILL");
	rc = docker_container_post(d, id, "kill", query, DOCKER_TIMEOUT_MS, what, &status, e);
	if (rc < 0)
		return rc;
	if (docker_status_ok(status))
		return 0;
	return docker_status_fail(d, docker_status_errno(status, -EBUSY), status, what, e);
}

int docker_container_logs(struct docker *d, const char *id, uint64_t since_s, docker_log_fn cb,
			  void *arg, struct err *e)
{
	char what[DOCKER_WHAT_MAX], url[DOCKER_URL_MAX], since[40] = "";
	_cleanup_curl_str_ char *esc = NULL;
	struct request r = { "GET", url, NULL, 0, DOCKER_TIMEOUT_MS, true };
	long status;
	int rc;

	snprintf(what, sizeof(what), "logs of container %s", id ? id : "(null)");
	if (!docker_ref_is_valid(id))
		return err_set(e, -EINVAL, "%s: invalid container id", what);
	if (!cb)
		return err_set(e, -EINVAL, "%s: no callback", what);
	esc = docker_url_escape(d, id);
	if (!esc)
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	if (since_s)
		snprintf(since, sizeof(since), "&since=%" PRIu64, since_s);
	rc = docker_url_build(url, sizeof(url), what, e,
		       DOCKER_BASE_URL "/containers/%s/logs?stdout=1&stderr=1&timestamps=1%s", esc,
		       since);
	if (rc < 0)
		return rc;
	d->log_cb = cb;
	d->log_arg = arg;
	rc = docker_perform(d, &r, &status, e);
	d->log_cb = NULL;
	d->log_arg = NULL;
	if (rc < 0)
		return err_wrap(e, rc, "%s", what);
	if (!docker_status_ok(status))
		return docker_status_fail(d, docker_status_errno(status, -EPROTO), status, what, e);
	if (d->syserr_len) {
		char msg[DOCKER_SYSERR_MAX];

		docker_copy_message(msg, sizeof(msg), d->syserr, d->syserr_len);
		return err_set(e, -EIO, "%s: docker: %s", what, msg);
	}
	if (d->demux.hdr_have || d->demux.frame_left)
		return err_set(e, -EPROTO, "%s: log stream ended inside a frame", what);
	return 0;
}
