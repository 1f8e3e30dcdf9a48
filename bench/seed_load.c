/* SPDX-License-Identifier: Apache-2.0 */
/* seed_load: closed-loop HTTP load client for bench/bench_seed.sh. CONC
 * client threads send exactly N POST requests (after W warm-up requests),
 * each waiting for its response before sending the next, over kept-alive
 * connections to 127.0.0.1, and record the latency of every request. It
 * prints one line: requests, errors, p50/p95/p99/mean/min/max in ms and
 * req/s over the measured phase.
 *
 * Why not wrk: the seed's experiments ask for a fixed number of requests
 * per run and per-request percentiles; wrk runs for a duration and corrects
 * its percentiles for coordinated omission. And the direct baseline needs
 * "c clients over N containers that each serve one request at a time": here
 * the connections form a pool (one per container port) that the client
 * threads borrow, so a client waits for a free container exactly as an
 * invocation waits for one in the platform, and that wait is in its latency.
 *
 *   seed_load [-c CONC] [-n N] [-w W] [-b BODYFILE] [-a USER:PASS] [-e TEXT]
 *             [-t TIMEOUT_MS] [-r RAWFILE] [-s] -p PATH PORT[,PORT...]
 *
 * Default: CONC connections to each port, used round robin (the
 * controller). -s: one connection per port, shared by the CONC threads
 * (warm containers, which serve one connection at a time). A
 * request is an error when the status is not 200, the body lacks TEXT
 * (-e), or the connection fails; errors are counted, the first is shown.
 * Responses are parsed with the invoker's http_parser (invoker/proxy.h).
 * Exit status: 0 when the run completed (errors are in the output line),
 * 1 when it could not run, 2 on a usage error. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "invoker/proxy.h"

#define MAX_PORTS 64
#define MAX_CONC 256
#define MAX_BODY_KEEP (4u << 20)

struct conn {
	uint16_t port;
	int fd;
	bool busy;
};

struct load {
	/* request */
	char *head;               /* request line + headers, built once */
	size_t head_len;
	const char *body;
	size_t body_len;
	const char *expect;
	int timeout_ms;
	/* connection pool */
	struct conn conns[MAX_CONC];
	size_t nconns;
	pthread_mutex_t mu;
	pthread_cond_t freed;
	/* run */
	atomic_long next;         /* next request index */
	long total;               /* requests in this phase */
	double *lat_ms;           /* per request, NULL in the warm-up */
	atomic_long errors;
	atomic_int first_error;   /* 0 until one thread claims the report */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int conn_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	/* Small requests must not sit in Nagle's buffer behind the headers. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request on c (connecting when needed). Returns 0 and fills *status
 * and *matched, or a negative errno; *reuse says whether the connection may
 * carry the next request. The start of an unexpected body goes to `snip`. */
static int do_request(struct load *l, struct conn *c, int *status, bool *matched, bool *reuse,
		      char *snip, size_t snip_len)
{
	struct http_parser p;
	char buf[65536];
	int r = 0, done = 0;
	uint64_t deadline = now_ns() + (uint64_t)l->timeout_ms * 1000000u;

	*reuse = false;
	if (c->fd < 0) {
		c->fd = conn_connect(c->port);
		if (c->fd < 0)
			return c->fd;
	}
	r = write_all(c->fd, l->head, l->head_len);
	if (r == 0 && l->body_len > 0)
		r = write_all(c->fd, l->body, l->body_len);
	if (r < 0)
		return r;
	http_parser_init(&p, MAX_BODY_KEEP);
	while (!done) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t t = now_ns();
		int left_ms = t >= deadline ? 0 : (int)((deadline - t) / 1000000u) + 1;
		ssize_t n;
		size_t used = 0;

		r = poll(&pfd, 1, left_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			r = r == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			r = http_parser_eof(&p) == 1 ? 0 : -ECONNABORTED;
			p.close = 1;
			done = 1;
			break;
		}
		r = http_parser_feed(&p, buf, (size_t)n, &used);
		if (r < 0)
			break;
		if (r == 1) {
			r = 0;
			done = 1;
		}
	}
	if (r == 0 && done) {
		*status = p.status;
		*matched = !l->expect || (p.body && strstr(p.body, l->expect));
		*reuse = !p.close;
		if ((p.status != 200 || !*matched) && p.body)
			snprintf(snip, snip_len, "%.*s", (int)(p.len < snip_len ? p.len : snip_len - 1),
				 p.body);
	}
	free(p.body);
	return r;
}

static struct conn *pool_take(struct load *l)
{
	struct conn *c = NULL;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		for (size_t i = 0; i < l->nconns && !c; i++)
			if (!l->conns[i].busy)
				c = &l->conns[i];
		if (c)
			break;
		pthread_cond_wait(&l->freed, &l->mu);
	}
	c->busy = true;
	pthread_mutex_unlock(&l->mu);
	return c;
}

static void pool_give(struct load *l, struct conn *c)
{
	pthread_mutex_lock(&l->mu);
	c->busy = false;
	pthread_cond_signal(&l->freed);
	pthread_mutex_unlock(&l->mu);
}

static void report_error(struct load *l, int r, int status, const char *snip)
{
	int zero = 0;

	atomic_fetch_add(&l->errors, 1);
	if (!atomic_compare_exchange_strong(&l->first_error, &zero, 1))
		return;
	if (r < 0)
		fprintf(stderr, "seed_load: first error: %s\n", strerror(-r));
	else
		fprintf(stderr, "seed_load: first error: HTTP %d%s: %s\n", status,
			status == 200 ? " without the expected text" : "", snip);
}

static void *client(void *arg)
{
	struct load *l = arg;

	for (;;) {
		long i = atomic_fetch_add(&l->next, 1);
		struct conn *c;
		uint64_t t0;
		int r, status = 0;
		bool matched = false, reuse = false;
		char snip[300] = "";

		if (i >= l->total)
			break;
		/* The clock starts before the wait for a free connection: with
		 * fewer containers than clients, that wait is part of what the
		 * client sees, as the platform's own queueing is. */
		t0 = now_ns();
		c = pool_take(l);
		r = do_request(l, c, &status, &matched, &reuse, snip, sizeof(snip));
		if (!reuse && c->fd >= 0) {
			close(c->fd);
			c->fd = -1;
		}
		pool_give(l, c);
		if (l->lat_ms)
			l->lat_ms[i] = (double)(now_ns() - t0) / 1e6;
		if (r < 0 || status != 200 || !matched)
			report_error(l, r, status, snip);
	}
	return NULL;
}

/* Runs `total` requests with `conc` threads; returns the wall time in s. */
static double run_phase(struct load *l, long total, int conc, double *lat)
{
	pthread_t th[MAX_CONC];
	uint64_t t0;
	int n = 0;

	atomic_store(&l->next, 0);
	l->total = total;
	l->lat_ms = lat;
	t0 = now_ns();
	for (int i = 0; i < conc; i++) {
		if (pthread_create(&th[i], NULL, client, l) != 0)
			break;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "seed_load: no client thread could start\n");
		exit(1);
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return (double)(now_ns() - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, long n, double q)
{
	long k = (long)(q / 100.0 * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long sz;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)sz + 1);
		if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
			free(b);
			b = NULL;
		}
		if (b) {
			b[sz] = '\0';
			*len = (size_t)sz;
		}
	}
	fclose(f);
	return b;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (uint32_t)(unsigned char)in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static long parse_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "seed_load: %s '%s': want %ld..%ld\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: seed_load [-c CONC] [-n N] [-w W] [-b BODYFILE] [-a USER:PASS] "
			"[-e TEXT] [-t TIMEOUT_MS] [-r RAWFILE] [-s] -p PATH PORT[,PORT...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct load l;
	const char *path = NULL, *bodyfile = NULL, *auth = NULL, *raw = NULL;
	char authhdr[512] = "", *ports, *tok, *save = NULL;
	uint16_t port_list[MAX_PORTS];
	size_t nports = 0, hcap;
	long n = 100, warm = 0;
	int conc = 1, opt;
	bool shared = false;
	double *lat, wall, sum = 0;

	l.timeout_ms = 90000;
	while ((opt = getopt(argc, argv, "c:n:w:b:a:e:t:r:p:s")) != -1) {
		switch (opt) {
		case 'c': conc = (int)parse_long(optarg, 1, MAX_CONC, "-c"); break;
		case 'n': n = parse_long(optarg, 1, 10000000, "-n"); break;
		case 'w': warm = parse_long(optarg, 0, 10000000, "-w"); break;
		case 'b': bodyfile = optarg; break;
		case 'a': auth = optarg; break;
		case 'e': l.expect = optarg; break;
		case 't': l.timeout_ms = (int)parse_long(optarg, 1, 3600000, "-t"); break;
		case 'r': raw = optarg; break;
		case 'p': path = optarg; break;
		case 's': shared = true; break;
		default: usage();
		}
	}
	if (!path || path[0] != '/' || optind != argc - 1)
		usage();
	ports = argv[optind];
	for (tok = strtok_r(ports, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nports == MAX_PORTS) {
			fprintf(stderr, "seed_load: at most %d ports\n", MAX_PORTS);
			return 2;
		}
		port_list[nports++] = (uint16_t)parse_long(tok, 1, 65535, "port");
	}
	if (nports == 0)
		usage();
	if (bodyfile) {
		l.body = read_file(bodyfile, &l.body_len);
		if (!l.body) {
			fprintf(stderr, "seed_load: cannot read %s: %s\n", bodyfile, strerror(errno));
			return 1;
		}
	}
	if (auth) {
		char enc[400];

		if (strlen(auth) > 280) {
			fprintf(stderr, "seed_load: -a too long\n");
			return 2;
		}
		base64(auth, enc, sizeof(enc));
		snprintf(authhdr, sizeof(authhdr), "Authorization: Basic %s\r\n", enc);
	}
	hcap = strlen(path) + strlen(authhdr) + 256;
	l.head = malloc(hcap);
	if (!l.head)
		return 1;
	l.head_len = (size_t)snprintf(l.head, hcap,
				      "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s"
				      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				      path, (unsigned)port_list[0], authhdr, l.body_len);
	if (l.head_len >= hcap)
		return 1;
	/* -s: one connection per port; else CONC per port. */
	l.nconns = shared ? nports : nports * (size_t)conc;
	if (l.nconns > MAX_CONC) {
		fprintf(stderr, "seed_load: at most %d connections\n", MAX_CONC);
		return 2;
	}
	for (size_t i = 0; i < l.nconns; i++) {
		l.conns[i].port = port_list[i % nports];
		l.conns[i].fd = -1;
	}
	pthread_mutex_init(&l.mu, NULL);
	pthread_cond_init(&l.freed, NULL);

	if (warm > 0)
		(void)run_phase(&l, warm, conc, NULL);
	atomic_store(&l.errors, 0);
	atomic_store(&l.first_error, 0);
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		return 1;
	wall = run_phase(&l, n, conc, lat);
	if (raw) {
		FILE *f = fopen(raw, "w");

		if (f) {
			for (long i = 0; i < n; i++)
				fprintf(f, "%.3f\n", lat[i]);
			fclose(f);
		}
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	for (long i = 0; i < n; i++)
		sum += lat[i];
	printf("requests=%ld errors=%ld p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f mean_ms=%.3f "
	       "min_ms=%.3f max_ms=%.3f rps=%.2f wall_s=%.3f\n",
	       n, atomic_load(&l.errors), pct(lat, n, 50), pct(lat, n, 95), pct(lat, n, 99),
	       sum / (double)n, lat[0], lat[n - 1], (double)n / wall, wall);
	for (size_t i = 0; i < l.nconns; i++)
		if (l.conns[i].fd >= 0)
			close(l.conns[i].fd);
	free(lat);
	free(l.head);
	free((void *)l.body);
	return 0;
}
