/* SPDX-License-Identifier: Apache-2.0 */
/* ewproxy: the action proxy inside edgewhisk's runtime images. Serves
 * OpenWhisk's runtime protocol (POST /init, POST /run on :8080, spec section
 * 9) in one of two modes chosen by the image (spec section 10):
 *   actionloop  /init writes the code and starts EW_PROXY_LAUNCHER once; each
 *               /run is one line on its stdin and one result line on its fd 3;
 *   native      dockerskeleton: /init installs /action/exec, each /run spawns
 *               it with the value as argv[1] and stdin; last stdout line wins.
 * Invariants: one request at a time; at most one successful /init; the
 * sentinel pair is written after every /run and every failed /init, never
 * after a successful /init or a refused second one. Runs as PID 1, so it
 * reaps orphans and exits on SIGTERM (killing its children). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/buf.h"
#include "runtimes/proxy/child.h"
#include "runtimes/proxy/httpd.h"
#include "common/jscan.h"

extern char **environ;

#define PROXY_VERSION "edgewhisk-ewproxy-1"
#define SENTINEL "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n"
#define MSG_NOT_DICT "The action did not return a dictionary or array."
#define MSG_OOM "The action exhausted its memory and was aborted."
#define MSG_NO_BINARY "The action failed to generate or locate a binary. See logs for details."
#define MSG_REINIT "Cannot initialize the action more than once."
#define ARG_MAX_STRLEN 131071  /* MAX_ARG_STRLEN - 1 (linux/binfmts.h) */
#define KEEP_BYTES (256 * 1024)

enum proxy_mode { MODE_NATIVE, MODE_ACTIONLOOP };

/* A growable NULL-terminated "KEY=VALUE" vector (owned strings). */
struct envv {
	char **v;
	size_t n, cap;
};

struct proxy {
	enum proxy_mode mode;
	char action_dir[PATH_MAX];
	char exec_path[PATH_MAX];    /* native: <dir>/exec */
	const char *launcher_cmd;    /* actionloop: command line, split on blanks */
	const char *source_file;     /* actionloop: file name for plain-text code */
	const char *busybox;         /* for unzip */
	size_t max_body;
	size_t max_result;
	const char *wait_ack;        /* non-NULL: launcher must ack on fd 3 */
	int ack_timeout_ms;
	bool initialized;
	bool dead;                   /* actionloop: the launcher is gone */
	struct child launcher;
	struct buf res;              /* actionloop: bytes read from fd 3 */
	struct envv init_env;        /* from /init "env", stringified */
	long oom_kills;              /* the container cgroup's OOM kills at start */
};

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t kill_pgid_launcher;
static volatile sig_atomic_t kill_pgid_native;

static void plog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void plog(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "ewproxy: ");
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + ((size_t)m < sizeof(line) - (size_t)n - 1 ? (size_t)m : sizeof(line) - (size_t)n - 2);
	line[len++] = '\n';
	(void)child_write_all(STDERR_FILENO, line, len);
}

static void on_term(int sig)
{
	(void)sig;
	if (kill_pgid_launcher > 0)
		kill(-kill_pgid_launcher, SIGKILL);
	if (kill_pgid_native > 0)
		kill(-kill_pgid_native, SIGKILL);
	_exit(0);
}

/* ---- env vectors ---- */

static void envv_fini(struct envv *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

/* Set key=value (replacing an existing key). key/value need not be
 * NUL-terminated; entries whose key contains '=' or NUL, or whose value
 * contains NUL, are skipped (they cannot be represented). 0 or -ENOMEM. */
static int envv_setn(struct envv *e, const char *key, size_t klen, const char *val, size_t vlen)
{
	if (klen == 0 || memchr(key, '=', klen) || memchr(key, '\0', klen) || memchr(val, '\0', vlen))
		return 0;
	if (klen > SIZE_MAX / 2 || vlen > SIZE_MAX / 2)
		return -ENOMEM;
	char *s = malloc(klen + vlen + 2);
	if (!s)
		return -ENOMEM;
	memcpy(s, key, klen);
	s[klen] = '=';
	memcpy(s + klen + 1, val, vlen);
	s[klen + vlen + 1] = '\0';
	for (size_t i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], s, klen + 1) == 0) {
			free(e->v[i]);
			e->v[i] = s;
			return 0;
		}
	}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		char **v = realloc(e->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return 0;
}

static int envv_set(struct envv *e, const char *key, const char *val)
{
	return envv_setn(e, key, strlen(key), val, strlen(val));
}

/* Add "KEY=VALUE" strings (as in environ). */
static int envv_put(struct envv *e, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return 0;
	return envv_setn(e, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1));
}

static int envv_merge(struct envv *dst, const struct envv *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = envv_put(dst, src->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- small helpers ---- */

static void sentinels(void)
{
	(void)child_write_all(STDOUT_FILENO, SENTINEL, sizeof(SENTINEL) - 1);
	(void)child_write_all(STDERR_FILENO, SENTINEL, sizeof(SENTINEL) - 1);
}

static void reply(struct httpd_resp *resp, int status, const char *json)
{
	resp->status = status;
	buf_clear(&resp->body, 0);
	if (buf_puts(&resp->body, json) < 0)
		resp->status = 500;
}

static void reply_error(struct httpd_resp *resp, int status, const char *msg)
{
	resp->status = status;
	buf_clear(&resp->body, 0);
	if (buf_puts(&resp->body, "{\"error\":") < 0 ||
	    jscan_quote(&resp->body, msg, strlen(msg)) < 0 || buf_puts(&resp->body, "}") < 0) {
		buf_clear(&resp->body, 0);
		resp->status = 500;
	}
}

static void reply_errorf(struct httpd_resp *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_errorf(struct httpd_resp *resp, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(resp, status, msg);
}

/* Remove CR and LF in place: they can only be whitespace between tokens in
 * valid JSON (raw newlines are illegal inside strings), so the text keeps
 * its meaning and becomes one line. */
static size_t strip_newlines(char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\n' && s[i] != '\r')
			s[o++] = s[i];
	return o;
}

/* Decode a member's string value in place (the body is ours to modify) and
 * NUL-terminate it. Returns the decoded length via *out. */
static int member_string(const struct jscan_member *m, char **out, size_t *out_len)
{
	char *raw = (char *)m->val + 1;
	size_t n;
	if (!jscan_is_string(m->val, m->val_len))
		return -EINVAL;
	if (jscan_string_decode(raw, m->val_len - 2, raw, &n) < 0)
		return -EINVAL;
	raw[n] = '\0';  /* overwrites the closing quote or earlier: never past it */
	*out = raw;
	*out_len = n;
	return 0;
}

/* Decode a raw key into dst (size dst_size, NUL-terminated). */
static int key_decode(const struct jscan_member *m, char *dst, size_t dst_size, size_t *len)
{
	if (m->key_len >= dst_size || jscan_string_decode(m->key, m->key_len, dst, len) < 0)
		return -EINVAL;
	dst[*len] = '\0';
	return 0;
}

/* Environment value for a JSON value: strings decoded, the rest as text. */
static int env_value(const struct jscan_member *m, const char **val, size_t *vlen)
{
	if (jscan_is_string(m->val, m->val_len)) {
		char *s;
		if (member_string(m, &s, vlen) < 0)
			return -EINVAL;
		*val = s;
		return 0;
	}
	*val = m->val;
	*vlen = m->val_len;
	return 0;
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int r = child_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static bool is_zip(const char *d, size_t n)
{
	return n >= 4 && d[0] == 'P' && d[1] == 'K' &&
	       ((d[2] == 3 && d[3] == 4) || (d[2] == 5 && d[3] == 6));
}

/* Unpack zip bytes into the action directory with busybox unzip. */
static int unzip_into(struct proxy *px, const char *data, size_t len)
{
	char zip[PATH_MAX + 32];
	int r;

	snprintf(zip, sizeof(zip), "%s/.ew-action.zip", px->action_dir);
	if ((r = write_file(zip, data, len, 0600)) < 0) {
		plog("write %s: %s", zip, strerror(-r));
		return r;
	}
	char *argv[] = { (char *)"busybox", (char *)"unzip", (char *)"-o", (char *)"-q", zip,
			 (char *)"-d", px->action_dir, NULL };
	char *envp[] = { (char *)"PATH=/bin:/usr/bin", NULL };
	struct child c = CHILD_INIT;
	if ((r = child_spawn(px->busybox, argv, envp, px->action_dir, 0, &c)) < 0) {
		plog("spawn %s unzip: %s", px->busybox, strerror(-r));
		unlink(zip);
		return r;
	}
	int st = child_wait(&c);
	unlink(zip);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		plog("unzip of the action archive failed (status %d)", st);
		return -EINVAL;
	}
	return 0;
}

/* ---- /init ---- */

struct init_req {
	const char *name;
	const char *main;
	char *code;         /* decoded (and base64-decoded when binary), NULL if absent */
	size_t code_len;
	bool binary;
};

/* Parse an /init body: fills *ir and px->init_env. On failure replies. */
static int parse_init(struct proxy *px, struct httpd_req *req, struct init_req *ir,
		      struct httpd_resp *resp)
{
	struct jscan_member value, m;
	struct jscan_iter it;
	int r;

	memset(ir, 0, sizeof(*ir));
	ir->main = "main";
	ir->name = "";
	r = jscan_object_find(req->body, req->body_len, "value", &value);
	if (r < 0) {
		reply_error(resp, 400, "The /init body is not a valid JSON object.");
		return -EINVAL;
	}
	if (r == 0 || jscan_object_begin(&it, value.val, value.val_len) < 0) {
		reply_error(resp, 400, "The /init body has no \"value\" object.");
		return -EINVAL;
	}
	while ((r = jscan_object_next(&it, &m)) == 1) {
		char key[64];
		size_t kl;
		if (key_decode(&m, key, sizeof(key), &kl) < 0)
			continue;
		if (strcmp(key, "binary") == 0) {
			ir->binary = m.val_len == 4 && memcmp(m.val, "true", 4) == 0;
		} else if (strcmp(key, "main") == 0 || strcmp(key, "name") == 0 ||
			   strcmp(key, "code") == 0) {
			char *s;
			size_t n;
			if (!jscan_is_string(m.val, m.val_len)) {
				if (m.val_len == 4 && memcmp(m.val, "null", 4) == 0)
					continue;
				reply_errorf(resp, 400, "/init: \"%s\" must be a string.", key);
				return -EINVAL;
			}
			if (member_string(&m, &s, &n) < 0) {
				reply_errorf(resp, 400, "/init: bad string in \"%s\".", key);
				return -EINVAL;
			}
			if (key[0] == 'm') {
				if (n > 0 && !memchr(s, '\0', n))
					ir->main = s;
			} else if (key[0] == 'n') {
				ir->name = s;
			} else {
				ir->code = s;
				ir->code_len = n;
			}
		} else if (strcmp(key, "env") == 0) {
			struct jscan_iter ei;
			struct jscan_member em;
			if (m.val_len == 4 && memcmp(m.val, "null", 4) == 0)
				continue;
			if (jscan_object_begin(&ei, m.val, m.val_len) < 0) {
				reply_error(resp, 400, "/init: \"env\" must be an object.");
				return -EINVAL;
			}
			while ((r = jscan_object_next(&ei, &em)) == 1) {
				char ek[256];
				size_t ekl, vl;
				const char *v;
				if (key_decode(&em, ek, sizeof(ek), &ekl) < 0 ||
				    env_value(&em, &v, &vl) < 0)
					continue;
				if (envv_setn(&px->init_env, ek, ekl, v, vl) < 0) {
					reply_error(resp, 500, "out of memory");
					return -ENOMEM;
				}
			}
		}
	}
	if (ir->code && ir->binary) {
		size_t n;
		if (codec_b64_decode(ir->code, ir->code_len, ir->code, &n, CODEC_B64_LENIENT) < 0) {
			reply_error(resp, 502, "The action code is marked binary but is not valid base64.");
			return -EINVAL;
		}
		ir->code_len = n;
	}
	return 0;
}

static int init_native(struct proxy *px, const struct init_req *ir, struct httpd_resp *resp)
{
	int r = 0;

	if (!ir->code) {
		if (access(px->exec_path, X_OK) == 0)
			return 0;
		plog("no code in /init and no executable %s in the image", px->exec_path);
		reply_error(resp, 502, MSG_NO_BINARY);
		return -ENOENT;
	}
	if (ir->binary && is_zip(ir->code, ir->code_len)) {
		r = unzip_into(px, ir->code, ir->code_len);
		if (r == 0 && chmod(px->exec_path, 0755) < 0) {
			plog("the action archive has no top-level \"exec\" (%s): %s", px->exec_path,
			     strerror(errno));
			r = -ENOENT;
		}
	} else {
		r = write_file(px->exec_path, ir->code, ir->code_len, 0755);
		if (r < 0)
			plog("write %s: %s", px->exec_path, strerror(-r));
	}
	if (r < 0) {
		reply_error(resp, 502, MSG_NO_BINARY);
		return r;
	}
	return 0;
}

/* Environment for the launcher (spec section 10: only __OW_* variables and
 * the init env), plus PATH, the names listed in EW_PROXY_PASSENV, and the
 * EW_ACTION_* description of the code. EW_ACTION_BINARY=1 means the code was
 * a zip unpacked into EW_ACTION_DIR (EW_ACTION_FILE is then empty). */
static int launcher_env(struct proxy *px, const struct init_req *ir, const char *file,
			struct envv *e)
{
	const char *pass = getenv("EW_PROXY_PASSENV");
	const char *ee = getenv("OW_EXECUTION_ENV");
	int r = 0;

	for (char **p = environ; *p && r == 0; p++)
		if (strncmp(*p, "__OW_", 5) == 0)
			r = envv_put(e, *p);
	if (r == 0) {
		const char *path = getenv("PATH");
		r = envv_set(e, "PATH", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	}
	while (r == 0 && pass && *pass) {
		size_t n = strcspn(pass, " :,");
		char name[128];
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, pass, n);
			name[n] = '\0';
			const char *v = getenv(name);
			if (v)
				r = envv_set(e, name, v);
		}
		pass += n;
		pass += strspn(pass, " :,");
	}
	if (r == 0)
		r = envv_set(e, "__OW_PROXY_VERSION", PROXY_VERSION);
	if (r == 0 && ee && *ee)
		r = envv_set(e, "__OW_EXECUTION_ENV", ee);
	if (r == 0 && px->wait_ack)
		r = envv_set(e, "__OW_WAIT_FOR_ACK", px->wait_ack);
	if (r == 0)
		r = envv_merge(e, &px->init_env);
	if (r == 0)
		r = envv_set(e, "EW_ACTION_MAIN", ir->main);
	if (r == 0)
		r = envv_set(e, "EW_ACTION_NAME", ir->name);
	if (r == 0)
		r = envv_set(e, "EW_ACTION_DIR", px->action_dir);
	if (r == 0)
		r = envv_set(e, "EW_ACTION_FILE", file ? file : "");
	if (r == 0)
		r = envv_set(e, "EW_ACTION_BINARY", file ? "0" : "1");
	return r;
}

/* Sink for one line on fd 3. */
struct line_sink {
	size_t cap;
	size_t line_len;   /* set when a line is complete */
	bool overflow;     /* the line exceeded cap; its bytes were dropped */
};

enum { LINE_DONE = 1, LINE_EOF = 2 };

static int line_sink(void *ctx, struct buf *acc, size_t new_from, bool eof)
{
	struct line_sink *ls = ctx;
	if (eof)
		return LINE_EOF;
	char *nl = memchr(acc->data + new_from, '\n', acc->len - new_from);
	if (nl) {
		ls->line_len = (size_t)(nl - acc->data);
		return LINE_DONE;
	}
	if (acc->len > ls->cap) {
		ls->overflow = true;
		buf_clear(acc, KEEP_BYTES);
	}
	return 0;
}

static void launcher_gone(struct proxy *px)
{
	child_kill(&px->launcher);
	kill_pgid_launcher = 0;
	px->dead = true;
	buf_clear(&px->res, 0);
}

/* Split a command line on blanks (no quoting) into argv; storage is the
 * caller's copy of the string. Returns argc, 0 when empty. */
static size_t split_words(char *s, char **argv, size_t max)
{
	size_t n = 0;
	while (*s && n + 1 < max) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		argv[n++] = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = '\0';
	}
	argv[n] = NULL;
	return n;
}

/* Start the launcher and wait for its ack (or check it survives 5 ms). */
static int start_launcher(struct proxy *px, const struct init_req *ir, const char *file,
			  struct httpd_resp *resp)
{
	struct envv env = { 0 };
	char *argv[32];
	char *cmd = strdup(px->launcher_cmd);
	int r = -ENOMEM;

	if (!cmd || split_words(cmd, argv, 32) == 0) {
		plog("EW_PROXY_LAUNCHER is empty");
		reply_error(resp, 502, "The runtime image has no launcher configured.");
		goto out;
	}
	if ((r = launcher_env(px, ir, file, &env)) < 0) {
		reply_error(resp, 500, "out of memory");
		goto out;
	}
	r = child_spawn(argv[0], argv, env.v, px->action_dir, CHILD_PIPE_STDIN | CHILD_PIPE_FD3,
			&px->launcher);
	if (r < 0) {
		plog("start launcher %s: %s", argv[0], strerror(-r));
		reply_error(resp, 502, "The action failed to start its launcher. See logs for details.");
		goto out;
	}
	kill_pgid_launcher = px->launcher.pid;
	px->dead = false;

	if (px->wait_ack) {
		struct line_sink ls = { .cap = 64 * 1024 };
		int dummy = -1;
		r = child_exchange(&dummy, NULL, 0, false, px->launcher.res_fd, &px->res,
				   line_sink, &ls, px->ack_timeout_ms);
		if (r == LINE_DONE) {
			struct jscan_member ok;
			const char *line = px->res.data;
			if (!ls.overflow && jscan_object_find(line, ls.line_len, "ok", &ok) == 1 &&
			    ok.val_len == 4 && memcmp(ok.val, "true", 4) == 0) {
				buf_clear(&px->res, KEEP_BYTES);
				r = 0;
				goto out;
			}
			struct jscan_member em;
			char *msg;
			size_t ml;
			px->res.data[ls.line_len] = '\0';
			if (!ls.overflow && jscan_object_find(line, ls.line_len, "error", &em) == 1 &&
			    member_string(&em, &msg, &ml) == 0 && ml > 0) {
				reply_error(resp, 502, msg);
			} else {
				plog("launcher sent a bad acknowledgement: %.200s", line);
				reply_error(resp, 502, "The action failed to initialize: bad acknowledgement from the launcher.");
			}
		} else if (r == -ETIMEDOUT) {
			plog("launcher did not acknowledge within %d ms", px->ack_timeout_ms);
			reply_error(resp, 502, "The action did not initialize in time.");
		} else {
			reply_error(resp, 502, "The action failed to initialize: the launcher exited. See logs for details.");
		}
		launcher_gone(px);
		r = -EPROTO;
		goto out;
	}
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	int st;
	if (child_try_reap(&px->launcher, &st)) {
		plog("launcher exited at start (status %d)", st);
		reply_error(resp, 502, "The action failed to initialize: the launcher exited. See logs for details.");
		launcher_gone(px);
		r = -EPROTO;
		goto out;
	}
	r = 0;
out:
	envv_fini(&env);
	free(cmd);
	return r;
}

static int init_actionloop(struct proxy *px, const struct init_req *ir, struct httpd_resp *resp)
{
	char file[PATH_MAX + 64];
	const char *fp = file;
	int r;

	if (!ir->code) {
		reply_error(resp, 502, "Missing main/no code to execute.");
		return -ENOENT;
	}
	snprintf(file, sizeof(file), "%s/%s", px->action_dir, px->source_file);
	if (ir->binary && is_zip(ir->code, ir->code_len)) {
		fp = NULL;
		r = unzip_into(px, ir->code, ir->code_len);
	} else {
		r = write_file(file, ir->code, ir->code_len, 0644);
		if (r < 0)
			plog("write %s: %s", file, strerror(-r));
	}
	if (r < 0) {
		reply_error(resp, 502, "The action failed to unpack its code. See logs for details.");
		return r;
	}
	return start_launcher(px, ir, fp, resp);
}

static void handle_init(struct proxy *px, struct httpd_req *req, struct httpd_resp *resp)
{
	struct init_req ir;
	int r;

	if (px->initialized) {
		/* No sentinels: this container may be warm, and an extra pair
		 * would shift the log split of its next activation. */
		reply_error(resp, 403, MSG_REINIT);
		return;
	}
	envv_fini(&px->init_env);
	r = parse_init(px, req, &ir, resp);
	if (r == 0)
		r = px->mode == MODE_NATIVE ? init_native(px, &ir, resp)
					    : init_actionloop(px, &ir, resp);
	if (r < 0) {
		sentinels();
		return;
	}
	px->initialized = true;
	reply(resp, 200, "{\"ok\":true}");
}

/* OOM kills in this container's memory cgroup (Docker mounts the
 * container's own cgroup at /sys/fs/cgroup): cgroup v2 memory.events or v1
 * memory.oom_control, line "oom_kill N". -1 when neither is readable. The
 * kernel kills the action process, not this proxy, so Docker's own
 * OOMKilled flag stays false while the container runs: the proxy tells. */
static long cgroup_oom_kills(void)
{
	static const char *const files[] = { "/sys/fs/cgroup/memory.events",
					     "/sys/fs/cgroup/memory/memory.oom_control" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char line[128];
		FILE *f = fopen(files[i], "re");
		long n = -1;

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "oom_kill %ld", &n) == 1)
				break;
		fclose(f);
		if (n >= 0)
			return n;
	}
	return -1;
}

static bool oom_happened(const struct proxy *px)
{
	long now = cgroup_oom_kills();

	return now >= 0 && px->oom_kills >= 0 && now > px->oom_kills;
}

/* ---- /run ---- */

static void run_actionloop(struct proxy *px, struct httpd_req *req, struct httpd_resp *resp)
{
	struct line_sink ls = { .cap = px->max_result };
	int st;

	if (px->dead || child_try_reap(&px->launcher, &st)) {
		if (!px->dead)
			launcher_gone(px);
		reply_error(resp, 400, "command exited");
		return;
	}
	size_t n = strip_newlines(req->body, req->body_len);
	req->body[n] = '\n';  /* the body buffer always has room for its NUL */
	buf_clear(&px->res, KEEP_BYTES);  /* drop anything a launcher wrote out of turn */
	int r = child_exchange(&px->launcher.in_fd, req->body, n + 1, false, px->launcher.res_fd,
			       &px->res, line_sink, &ls, -1);
	if (r != LINE_DONE) {
		plog("launcher exited during /run");
		launcher_gone(px);
		if (oom_happened(px))
			reply_error(resp, 502, MSG_OOM);
		else
			reply_error(resp, 400, "command exited");
		return;
	}
	if (ls.overflow) {
		buf_clear(&px->res, KEEP_BYTES);
		reply_errorf(resp, 502, "The action returned a result larger than %zu bytes.",
			     px->max_result);
		return;
	}
	size_t len = ls.line_len;
	while (len > 0 && (px->res.data[len - 1] == '\r' || px->res.data[len - 1] == ' '))
		len--;
	if (!jscan_is_object_or_array(px->res.data, len)) {
		buf_clear(&px->res, KEEP_BYTES);
		reply_error(resp, 502, MSG_NOT_DICT);
		return;
	}
	/* Hand the buffer to the response instead of copying the result. */
	buf_fini(&resp->body);
	resp->body = px->res;
	resp->body.len = len;
	resp->body.data[len] = '\0';
	px->res = (struct buf)BUF_INIT;
	resp->status = 200;
}

/* Native stdout: every line but the last non-blank one is forwarded to our
 * stdout (the container log) as it arrives; the last is kept as the result.
 * A line longer than cap is forwarded too and remembered as too large. */
struct native_sink {
	size_t cap;
	bool in_long_line;   /* forwarding the rest of an over-long line */
	bool last_too_long;  /* the latest non-blank line was over-long */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void forward(struct buf *acc, size_t n)
{
	(void)child_write_all(STDOUT_FILENO, acc->data, n);
	buf_consume(acc, n);
}

static int native_sink(void *ctx, struct buf *acc, size_t new_from, bool eof)
{
	struct native_sink *ns = ctx;

	if (eof)
		return 1;
	if (ns->in_long_line) {
		char *nl = memchr(acc->data, '\n', acc->len);
		if (!nl) {
			forward(acc, acc->len);
			return 0;
		}
		forward(acc, (size_t)(nl - acc->data) + 1);
		ns->in_long_line = false;
		new_from = 0;
	}
	if (acc->len > new_from && memchr(acc->data + new_from, '\n', acc->len - new_from)) {
		size_t end = acc->len;
		while (end > 0 && is_blank(acc->data[end - 1]))
			end--;
		if (end == 0) {
			forward(acc, acc->len);
			return 0;
		}
		size_t start = end;
		while (start > 0 && acc->data[start - 1] != '\n')
			start--;
		if (start > 0)
			forward(acc, start);
		ns->last_too_long = false;
	}
	if (acc->len > ns->cap) {
		bool complete = memchr(acc->data, '\n', acc->len) != NULL;
		forward(acc, acc->len);
		ns->in_long_line = !complete;
		ns->last_too_long = true;
	}
	return 0;
}

/* Build argv[1]/stdin text and env for a native run from the /run body. */
static int native_prepare(struct httpd_req *req, struct envv *env, char **value_json,
			  size_t *value_len, struct httpd_resp *resp)
{
	struct jscan_iter it;
	struct jscan_member m;
	const char *val = "{}";
	size_t vlen = 2;
	int r;

	if (jscan_object_begin(&it, req->body, req->body_len) < 0) {
		reply_error(resp, 400, "The /run body is not a valid JSON object.");
		return -EINVAL;
	}
	for (char **p = environ; *p; p++)
		if (envv_put(env, *p) < 0)
			goto nomem;
	while ((r = jscan_object_next(&it, &m)) == 1) {
		char key[256];
		size_t kl;
		if (key_decode(&m, key, sizeof(key) - 5, &kl) < 0)
			continue;
		if (strcmp(key, "value") == 0) {
			val = m.val;
			vlen = m.val_len;
			continue;
		}
		/* __OW_<KEY>, values stringified (spec section 10). */
		char name[sizeof(key)];
		memcpy(name, "__OW_", 5);
		for (size_t i = 0; i <= kl; i++) {
			char c = key[i];
			name[5 + i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
		}
		const char *v;
		size_t vl;
		if (env_value(&m, &v, &vl) < 0)
			continue;
		if (envv_setn(env, name, 5 + kl, v, vl) < 0)
			goto nomem;
	}
	char *copy = malloc(vlen + 2);
	if (!copy)
		goto nomem;
	memcpy(copy, val, vlen);
	vlen = strip_newlines(copy, vlen);
	copy[vlen] = '\0';
	*value_json = copy;
	*value_len = vlen;
	return 0;
nomem:
	reply_error(resp, 500, "out of memory");
	return -ENOMEM;
}

static void run_native(struct proxy *px, struct httpd_req *req, struct httpd_resp *resp)
{
	struct envv env = { 0 };
	struct child c = CHILD_INIT;
	struct buf out = BUF_INIT;
	char *value = NULL;
	size_t vlen = 0;
	int r;

	if (native_prepare(req, &env, &value, &vlen, resp) < 0)
		goto done;
	/* Add the init env now (after the value was copied out of the body). */
	if (envv_merge(&env, &px->init_env) < 0) {
		reply_error(resp, 500, "out of memory");
		goto done;
	}
	char *argv[] = { px->exec_path, vlen <= ARG_MAX_STRLEN ? value : NULL, NULL };
	r = child_spawn(px->exec_path, argv, env.v, px->action_dir,
			CHILD_PIPE_STDIN | CHILD_PIPE_STDOUT, &c);
	if (r < 0) {
		plog("spawn %s: %s", px->exec_path, strerror(-r));
		reply_error(resp, 502, MSG_NO_BINARY);
		goto done;
	}
	kill_pgid_native = c.pid;
	value[vlen] = '\n';
	struct native_sink ns = { .cap = px->max_result };
	r = child_exchange(&c.in_fd, value, vlen + 1, true, c.out_fd, &out, native_sink, &ns, -1);
	int st = child_wait(&c);
	kill_pgid_native = 0;
	if (r != 1) {
		plog("reading the output of %s: %s", px->exec_path, strerror(-r));
		reply_error(resp, 502, MSG_NOT_DICT);
		goto done;
	}
	if (WIFSIGNALED(st)) {
		plog("%s was killed by signal %d", px->exec_path, WTERMSIG(st));
		if (oom_happened(px)) {
			reply_error(resp, 502, MSG_OOM);
			goto done;
		}
	}
	size_t end = out.len;
	while (end > 0 && is_blank(out.data[end - 1]))
		end--;
	if (end == 0 && ns.last_too_long) {
		reply_errorf(resp, 502, "The action returned a result larger than %zu bytes.",
			     px->max_result);
		goto done;
	}
	if (end == 0 || !jscan_is_object_or_array(out.data, end)) {
		if (end > 0)  /* keep what the action printed visible in its logs */
			forward(&out, out.len);
		reply_error(resp, 502, MSG_NOT_DICT);
		goto done;
	}
	buf_fini(&resp->body);
	out.len = end;
	out.data[end] = '\0';
	resp->body = out;
	out = (struct buf)BUF_INIT;
	resp->status = 200;
done:
	buf_fini(&out);
	free(value);
	envv_fini(&env);
}

static void handle_run(struct proxy *px, struct httpd_req *req, struct httpd_resp *resp)
{
	if (!px->initialized) {
		/* dockerskeleton: an image may ship its own /action/exec. */
		if (px->mode == MODE_NATIVE && access(px->exec_path, X_OK) == 0) {
			px->initialized = true;
		} else {
			reply_error(resp, 500, "no action defined yet");
			return;
		}
	}
	struct jscan_iter it;
	if (jscan_object_begin(&it, req->body, req->body_len) < 0) {
		reply_error(resp, 400, "The /run body is not a valid JSON object.");
		return;
	}
	if (px->mode == MODE_ACTIONLOOP)
		run_actionloop(px, req, resp);
	else
		run_native(px, req, resp);
}

/* ---- wiring ---- */

static void handle(void *ctx, struct httpd_req *req, struct httpd_resp *resp)
{
	struct proxy *px = ctx;
	bool is_init = strcmp(req->path, "/init") == 0;
	bool is_run = strcmp(req->path, "/run") == 0;

	if (!is_init && !is_run) {
		reply_error(resp, 404, "Not found. Use POST /init or POST /run.");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		reply_error(resp, 405, "Method not allowed. Use POST.");
		return;
	}
	if (is_init) {
		handle_init(px, req, resp);
		return;
	}
	handle_run(px, req, resp);
	/* The action's output is already flushed (native: the child exited;
	 * actionloop: launchers flush before answering on fd 3). */
	sentinels();
}

/* PID 1 inherits orphans: reap them, noticing if one was the launcher. */
static void tick(void *ctx)
{
	struct proxy *px = ctx;
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == px->launcher.pid) {
			px->launcher.pid = -1;
			plog("launcher exited (status %d)", st);
			launcher_gone(px);
		}
	}
}

/* An unsigned integer from the environment in [1, max], else dflt. */
static unsigned long env_uint(const char *name, unsigned long dflt, unsigned long max)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !*v)
		return dflt;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || *end || n == 0 || n > max) {
		plog("ignoring bad %s=%s (want 1..%lu)", name, v, max);
		return dflt;
	}
	return n;
}

static int proxy_configure(struct proxy *px)
{
	const char *mode = getenv("EW_PROXY_MODE");
	const char *dir = getenv("EW_ACTION_DIR");
	const char *ack = getenv("__OW_WAIT_FOR_ACK");

	memset(px, 0, sizeof(*px));
	px->launcher = (struct child)CHILD_INIT;
	if (!mode || !*mode || strcmp(mode, "native") == 0) {
		px->mode = MODE_NATIVE;
	} else if (strcmp(mode, "actionloop") == 0) {
		px->mode = MODE_ACTIONLOOP;
	} else {
		plog("unknown EW_PROXY_MODE=%s (want native or actionloop)", mode);
		return -EINVAL;
	}
	if (!dir || !*dir)
		dir = "/action";
	if ((size_t)snprintf(px->action_dir, sizeof(px->action_dir), "%s", dir) >= sizeof(px->action_dir) ||
	    (size_t)snprintf(px->exec_path, sizeof(px->exec_path), "%s/exec", dir) >= sizeof(px->exec_path)) {
		plog("EW_ACTION_DIR too long");
		return -ENAMETOOLONG;
	}
	if (!(px->launcher_cmd = getenv("EW_PROXY_LAUNCHER")) && px->mode == MODE_ACTIONLOOP) {
		plog("EW_PROXY_MODE=actionloop needs EW_PROXY_LAUNCHER");
		return -EINVAL;
	}
	px->source_file = getenv("EW_PROXY_SOURCE_FILE");
	if (!px->source_file || !*px->source_file || strchr(px->source_file, '/'))
		px->source_file = "main";
	px->busybox = getenv("EW_PROXY_BUSYBOX");
	if (!px->busybox || !*px->busybox)
		px->busybox = "/bin/busybox";
	if (!ack || !*ack)
		ack = getenv("OW_WAIT_FOR_ACK");
	px->wait_ack = ack && *ack ? ack : NULL;
	px->ack_timeout_ms = (int)env_uint("EW_PROXY_ACK_TIMEOUT_S", 120, 3600) * 1000;
	px->max_body = (size_t)env_uint("EW_PROXY_MAX_BODY_MB", 96, 4096) << 20;
	px->max_result = (size_t)env_uint("EW_PROXY_MAX_RESULT_MB", 8, 1024) << 20;
	px->oom_kills = cgroup_oom_kills();
	return 0;
}

int main(void)
{
	struct proxy px;
	int lfd = -1;
	const char *port_s = getenv("__OW_PROXY_PORT");
	unsigned long port = 8080;

	if (proxy_configure(&px) < 0)
		return 2;
	if (port_s && *port_s) {
		char *end;
		port = strtoul(port_s, &end, 10);
		if (*end || port == 0 || port > 65535) {
			plog("bad __OW_PROXY_PORT=%s", port_s);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int r = httpd_listen((uint16_t)port, &lfd);
	if (r < 0) {
		plog("listen on port %lu: %s", port, strerror(-r));
		return 1;
	}
	r = httpd_serve(lfd, px.max_body, handle, tick, &px, &stop_flag);
	child_kill(&px.launcher);
	envv_fini(&px.init_env);
	buf_fini(&px.res);
	close(lfd);
	return r < 0 ? 1 : 0;
}
