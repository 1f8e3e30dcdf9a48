/* SPDX-License-Identifier: Apache-2.0 */
/* Integration test of invoker/docker against the real daemon: one labelled
 * container (edgewhisk.test=docker_api) goes through create, start, inspect,
 * an HTTP GET on its 127.0.0.1 port, pause/unpause, logs, list, kill and
 * remove, plus the error paths. Cases run in order and share the container.
 * The test image is built in setup with the docker CLI (tests only): a
 * FROM-scratch image holding the host's static busybox.
 * Env: EW_TEST_IMAGE (default edgewhisk/test-busybox:1; when set and present
 * it is used as is), EW_DOCKER_SOCKET (default /var/run/docker.sock),
 * EW_DOCKER_CLI, EW_BUSYBOX. Exit 77 (skip) only when the socket is missing
 * and CI is not "true". Only loopback addresses are ever contacted. */
#include "invoker/docker.h"
#include "invoker/docker_extra.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "common/json.h"

#define TEST_LABEL "edgewhisk.test=docker_api"
#define DEFAULT_IMAGE "edgewhisk/test-busybox:1"
#define MISSING_IMAGE "edgewhisk/definitely-not-here:0"
#define INDEX_MARKER "edgewhisk-docker-api-index"
#define MEMORY_BYTES ((uint64_t)64 << 20)
#define PIDS_LIMIT 64
#define NOFILE 256
#define CPU_SHARES 512
#define PORT 8080

static struct {
	struct docker *d;
	const char *socket;
	const char *image;
	char name[64];
	char id[DOCKER_ID_MAX];
	uint16_t host_port;
	bool ready;       /* setup done */
	bool running;     /* the container is up */
} g;

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- helpers: CLI (setup and raw inspect only), files, loopback HTTP ----- */

static const char *docker_cli(void)
{
	const char *v = getenv("EW_DOCKER_CLI");

	if (v && *v)
		return v;
	return access("/usr/bin/docker", X_OK) == 0 ? "/usr/bin/docker" : "docker";
}

/* Run argv (no shell) with stdout into `out` (may be NULL) and stderr into
 * a temp log shown on failure. Returns the exit status, -1 on error. */
static int run_cmd(char *const argv[], char *out, size_t out_size)
{
	char logpath[] = "/tmp/ewk-docker-api-cmd-XXXXXX";
	int pipefd[2] = { -1, -1 };
	int logfd = mkstemp(logpath), status = -1;
	size_t have = 0;
	pid_t pid;

	if (logfd < 0 || pipe(pipefd) < 0) {
		perror("run_cmd");
		goto out;
	}
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(logfd, 2);
		close(pipefd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	for (;;) {
		char tmp[4096];
		ssize_t n = read(pipefd[0], tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && have + (size_t)n < out_size) {
			memcpy(out + have, tmp, (size_t)n);
			have += (size_t)n;
		}
	}
	if (out && out_size)
		out[have] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (status != 0) {
		char buf[2048];
		ssize_t n = pread(logfd, buf, sizeof(buf) - 1, 0);

		fprintf(stderr, "  %s exited %d: %.*s\n", argv[0], status, n > 0 ? (int)n : 0, buf);
	}
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (logfd >= 0) {
		close(logfd);
		unlink(logpath);
	}
	return status;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len, mode_t mode)
{
	char path[512];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -errno;
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	close(fd);
	return rc;
}

static int copy_file(const char *from, const char *dir, const char *name, mode_t mode)
{
	FILE *f = fopen(from, "rb");
	char *buf = NULL;
	long n;
	int rc = -EIO;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		rc = write_file(dir, name, buf, (size_t)n, mode);
	free(buf);
	fclose(f);
	return rc;
}

/* FROM scratch + static busybox; CMD prints one line to each stream, then
 * serves /www on 8080. EW_MODE=oom makes it eat memory first instead. */
static int build_image(const char *image)
{
	static const char dockerfile[] =
		"FROM scratch\n"
		"COPY busybox /bin/busybox\n"
		"COPY www /www\n"
		"CMD [\"/bin/busybox\", \"sh\", \"-c\", "
		"\"if [ \\\"$EW_MODE\\\" = oom ]; then x=$(/bin/busybox head -c 400000000 /dev/zero "
		"| /bin/busybox tr '\\\\0' a); echo ${#x}; fi; "
		"echo hello-from-container; echo to-stderr >&2; "
		"exec /bin/busybox httpd -f -p 8080 -h /www\"]\n";
	static const char index_html[] = "<p>" INDEX_MARKER "</p>\n";
	const char *busybox = env_or("EW_BUSYBOX", access("/bin/busybox", R_OK) == 0 ?
						   "/bin/busybox" : "/usr/bin/busybox");
	char dir[] = "/tmp/ewk-docker-api-XXXXXX", www[64], path[128];
	char *argv[] = { (char *)docker_cli(), "build", "-q", "-t", (char *)image, dir, NULL };
	int rc;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(www, sizeof(www), "%s/www", dir);
	rc = mkdir(www, 0755) < 0 ? -errno : 0;
	if (rc == 0)
		rc = copy_file(busybox, dir, "busybox", 0755);
	if (rc == 0)
		rc = write_file(www, "index.html", index_html, sizeof(index_html) - 1, 0644);
	if (rc == 0)
		rc = write_file(dir, "Dockerfile", dockerfile, sizeof(dockerfile) - 1, 0644);
	if (rc == 0 && run_cmd(argv, NULL, 0) != 0)
		rc = -EIO;
	snprintf(path, sizeof(path), "%s/www/index.html", dir);
	unlink(path);
	rmdir(www);
	snprintf(path, sizeof(path), "%s/busybox", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Dockerfile", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}

/* The container's whole inspect document, read by the CLI (not by the code
 * under test) to see what create really set. */
static cJSON *raw_inspect(const char *id)
{
	static char out[256 << 10];
	char *argv[] = { (char *)docker_cli(), "inspect", "--type", "container", "--format",
			 "{{json .}}", (char *)id, NULL };
	cJSON *root = NULL;

	if (run_cmd(argv, out, sizeof(out)) != 0 || json_parse(out, strlen(out), &root, NULL) < 0)
		return NULL;
	return root;
}

static int remove_labelled(struct err *e)
{
	char(*ids)[DOCKER_ID_MAX] = NULL;
	size_t n = 0;
	int rc = docker_container_list(g.d, TEST_LABEL, &ids, &n, e);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = docker_container_remove(g.d, ids[i], e);
	free(ids);
	return rc;
}

static int list_has(const char *label, const char *id, size_t *count)
{
	char(*ids)[DOCKER_ID_MAX] = NULL;
	struct err e = { 0 };
	size_t n = 0;
	int found = 0;

	if (docker_container_list(g.d, label, &ids, &n, &e) < 0) {
		fprintf(stderr, "  list: %s\n", e.msg);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			found = 1;
	if (count)
		*count = n;
	free(ids);
	return found;
}

/* One GET / to 127.0.0.1:port. Returns the bytes read (NUL-terminated in
 * buf) or -errno. */
static ssize_t http_get_once(uint16_t port, char *buf, size_t size)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	size_t have = 0;
	int fd, err;

	buf[0] = '\0';
	/* Loopback only, by construction: the address is a constant. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return -EIO;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, buf + have, size - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == size - 1)
			break;
	}
	buf[have] = '\0';
	close(fd);
	/* Docker's userland proxy accepts even when the container does not
	 * answer; an empty read means the server was not there. */
	return have ? (ssize_t)have : -ECONNRESET;
}

/* Retry for up to 5 s while the server in the container starts. */
static ssize_t http_get_loopback(uint16_t port, char *buf, size_t size)
{
	ssize_t n = -ECONNREFUSED;

	for (int i = 0; i < 50; i++) {
		n = http_get_once(port, buf, size);
		if (n > 0)
			break;
		sleep_ms(100);
	}
	return n;
}

static enum docker_state state_of(const char *id)
{
	struct docker_inspect in;
	struct err e = { 0 };

	if (docker_container_inspect(g.d, id, &in, &e) < 0) {
		fprintf(stderr, "  inspect %s: %s\n", id, e.msg);
		return DOCKER_STATE_UNKNOWN;
	}
	return in.state;
}

/* Wait up to timeout_ms for a container to leave RUNNING. */
static int wait_exit(const char *id, struct docker_inspect *in, long timeout_ms)
{
	struct err e = { 0 };

	for (long t = 0; t <= timeout_ms; t += 100) {
		int rc = docker_container_inspect(g.d, id, in, &e);

		if (rc < 0)
			return rc;
		if (in->state == DOCKER_STATE_EXITED || in->state == DOCKER_STATE_DEAD)
			return 0;
		sleep_ms(100);
	}
	return -ETIMEDOUT;
}

/* ---- cases ----------------------------------------------------------------- */

static void test_setup(void)
{
	struct err e = { 0 };
	struct stat st;
	const char *ci = getenv("CI");
	bool custom = getenv("EW_TEST_IMAGE") && *getenv("EW_TEST_IMAGE");

	g.socket = env_or("EW_DOCKER_SOCKET", "/var/run/docker.sock");
	g.image = env_or("EW_TEST_IMAGE", DEFAULT_IMAGE);
	snprintf(g.name, sizeof(g.name), "ewk_test_api_%d", (int)getpid());
	if (stat(g.socket, &st) < 0 && !(ci && strcmp(ci, "true") == 0)) {
		printf("# skip: no docker socket at %s\n", g.socket);
		fflush(stdout);
		exit(77);
	}
	/* The CLI talks to the same daemon as the code under test. */
	if (getenv("EW_DOCKER_SOCKET")) {
		char host[600];

		snprintf(host, sizeof(host), "unix://%s", g.socket);
		setenv("DOCKER_HOST", host, 1);
	}
	REQUIRE(docker_open(g.socket, &g.d, &e) == 0);
	if (docker_ping(g.d, &e) < 0) {
		HARNESS_FAIL("docker at %s: %s", g.socket, e.msg);
		return;
	}
	if (remove_labelled(&e) < 0)
		HARNESS_FAIL("remove leftovers: %s", e.msg);
	if (!custom || docker_image_exists(g.d, g.image, &e) < 0) {
		int rc = build_image(g.image);

		if (rc < 0) {
			HARNESS_FAIL("build image %s: %s", g.image, strerror(-rc));
			return;
		}
	}
	g.ready = true;
}

static void test_ping(void)
{
	struct docker *other = NULL;
	struct err e = { 0 };

	REQUIRE(g.ready);
	CHECK_INT_EQ(docker_ping(g.d, &e), 0);
	/* A socket that is not there. */
	REQUIRE(docker_open("/tmp/ewk-no-such-dir/docker.sock", &other, &e) == 0);
	CHECK_INT_EQ(docker_ping(other, &e), -ENOENT);
	CHECK_INT_EQ(e.code, -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "ping: docker socket /tmp/ewk-no-such-dir/docker.sock");
	docker_close(other);
}

/* One struct docker keeps one connection: the same sockets (inodes; curl
 * also holds a socketpair of its own) before and after many calls, so no
 * call opened a new connection and none was left behind. */
static int socket_inodes(unsigned long *inodes, int max)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		char path[300], target[64];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "socket:[", 8) == 0 && n < max)
			inodes[n++] = strtoul(target + 8, NULL, 10);
	}
	closedir(dir);
	return n;
}

static void test_connection_reused(void)
{
	struct err e = { 0 };
	unsigned long before[16], after[16];
	int n1, n2;

	REQUIRE(g.ready);
	REQUIRE(docker_ping(g.d, &e) == 0);
	n1 = socket_inodes(before, 16);
	for (int i = 0; i < 20; i++) {
		CHECK_INT_EQ(docker_ping(g.d, &e), 0);
		CHECK_INT_EQ(docker_image_exists(g.d, MISSING_IMAGE, &e), -ENOENT);
	}
	n2 = socket_inodes(after, 16);
	CHECK(n1 >= 1);
	CHECK_INT_EQ(n2, n1);
	for (int i = 0; i < n1 && i < n2; i++)
		CHECK_INT_EQ(after[i], before[i]);
}

static void test_image_exists(void)
{
	struct err e = { 0 };

	REQUIRE(g.ready);
	CHECK_INT_EQ(docker_image_exists(g.d, g.image, &e), 0);
	err_clear(&e);
	CHECK_INT_EQ(docker_image_exists(g.d, MISSING_IMAGE, &e), -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "inspect image " MISSING_IMAGE ": docker 404: ");
	CHECK_STR_CONTAINS(e.msg, "No such image");
	CHECK_INT_EQ(docker_image_exists(g.d, "", &e), -EINVAL);
	CHECK_INT_EQ(docker_image_exists(g.d, "bad image", &e), -EINVAL);
}

static void test_create_start_inspect(void)
{
	const char *env[] = { "EW_TEST=1", NULL };
	const char *labels[] = { TEST_LABEL, "edgewhisk.kind=test", NULL };
	struct docker_create_opts o = {
		.name = g.name,
		.image = g.image,
		.env = env,
		.labels = labels,
		.memory_bytes = MEMORY_BYTES,
		.pids_limit = PIDS_LIMIT,
		.nofile = NOFILE,
		.cpu_shares = CPU_SHARES,
		.network_mode = "bridge",
		.publish_port = PORT,
	};
	struct docker_inspect in;
	struct err e = { 0 };

	REQUIRE(g.ready);
	if (docker_container_create(g.d, &o, g.id, &e) < 0) {
		HARNESS_FAIL("create: %s", e.msg);
		return;
	}
	CHECK_INT_EQ(strlen(g.id), 64);
	CHECK_INT_EQ(strspn(g.id, "0123456789abcdef"), 64);
	CHECK_INT_EQ(docker_container_inspect(g.d, g.id, &in, &e), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_CREATED);
	CHECK_INT_EQ(in.host_port, 0);

	if (docker_container_start(g.d, g.id, &e) < 0) {
		HARNESS_FAIL("start: %s", e.msg);
		return;
	}
	/* Starting a running container is not an error (304). */
	CHECK_INT_EQ(docker_container_start(g.d, g.id, &e), 0);
	/* Both the id and the name work as references. */
	REQUIRE(docker_container_inspect(g.d, g.name, &in, &e) == 0);
	CHECK_STR_EQ(in.id, g.id);
	CHECK_INT_EQ(in.state, DOCKER_STATE_RUNNING);
	CHECK(in.pid > 0);
	CHECK(in.host_port != 0);
	CHECK_INT_EQ(in.oom_killed, 0);
	CHECK(in.log_path[0] == '/');
	CHECK_STR_CONTAINS(in.log_path, g.id);
	g.host_port = in.host_port;
	g.running = in.state == DOCKER_STATE_RUNNING && in.host_port != 0;
}

static bool has_string(const cJSON *arr, const char *a, const char *b)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, arr)
		if (cJSON_IsString(s) && (strcmp(s->valuestring, a) == 0 ||
					  (b && strcmp(s->valuestring, b) == 0)))
			return true;
	return false;
}

/* What create asked for is what Docker applied. */
static void test_create_options_applied(void)
{
	_cleanup_json_ cJSON *root = NULL;
	const cJSON *host, *cfg, *ul, *pb, *lc, *labels;
	uint64_t v = 0;
	char path[256];
	FILE *f;

	REQUIRE(g.running);
	root = raw_inspect(g.id);
	REQUIRE(root);
	host = json_get_object(root, "HostConfig");
	cfg = json_get_object(root, "Config");
	REQUIRE(host && cfg);
	CHECK(json_get_u64(host, "Memory", &v) == 0 && v == MEMORY_BYTES);
	CHECK(json_get_u64(host, "MemorySwap", &v) == 0 && v == MEMORY_BYTES);
	CHECK(json_get_u64(host, "PidsLimit", &v) == 0 && v == PIDS_LIMIT);
	CHECK(json_get_u64(host, "CpuShares", &v) == 0 && v == CPU_SHARES);
	CHECK_STR_EQ(json_get_string(host, "NetworkMode"), "bridge");
	CHECK(has_string(json_get_array(host, "CapDrop"), "NET_RAW", "CAP_NET_RAW"));
	CHECK(has_string(json_get_array(host, "CapDrop"), "NET_ADMIN", "CAP_NET_ADMIN"));
	CHECK(has_string(json_get_array(host, "SecurityOpt"), "no-new-privileges", NULL));
	CHECK(!json_get_bool(host, "Privileged", true));
	/* No Binds, no Mounts: nothing of the host inside. */
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(host, "Binds")));
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(root, "Mounts")), 0);
	CHECK(json_get_array(root, "Mounts") != NULL);
	ul = cJSON_GetArrayItem(json_get_array(host, "Ulimits"), 0);
	CHECK_STR_EQ(json_get_string(ul, "Name"), "nofile");
	CHECK(json_get_u64(ul, "Soft", &v) == 0 && v == NOFILE);
	CHECK(json_get_u64(ul, "Hard", &v) == 0 && v == NOFILE);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(host, "Ulimits")), 1);
	lc = json_get_object(host, "LogConfig");
	CHECK_STR_EQ(json_get_string(lc, "Type"), "json-file");
	pb = cJSON_GetArrayItem(json_get_array(json_get_object(host, "PortBindings"), "8080/tcp"), 0);
	CHECK_STR_EQ(json_get_string(pb, "HostIp"), "127.0.0.1");
	CHECK_STR_EQ(json_get_string(pb, "HostPort"), "");
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_object(host, "PortBindings")), 1);
	CHECK(json_get_object(json_get_object(cfg, "ExposedPorts"), "8080/tcp") != NULL);
	CHECK(has_string(json_get_array(cfg, "Env"), "EW_TEST=1", NULL));
	labels = json_get_object(cfg, "Labels");
	CHECK_STR_EQ(json_get_string(labels, "edgewhisk.test"), "docker_api");
	CHECK_STR_EQ(json_get_string(labels, "edgewhisk.kind"), "test");
	snprintf(path, sizeof(path), "/%s", g.name);
	CHECK_STR_EQ(json_get_string(root, "Name"), path);

	/* Every published address is loopback. */
	{
		const cJSON *ports = json_get_object(json_get_object(root, "NetworkSettings"), "Ports");
		const cJSON *list, *b;
		int n = 0;

		cJSON_ArrayForEach(list, ports)
			cJSON_ArrayForEach(b, list) {
				CHECK_STR_EQ(json_get_string(b, "HostIp"), "127.0.0.1");
				n++;
			}
		CHECK_INT_EQ(n, 1);
	}

	/* The kernel limits, where cgroup v1 (cgroupfs driver) shows them. */
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/docker/%s/memory.limit_in_bytes", g.id);
	f = fopen(path, "r");
	if (f) {
		unsigned long long lim = 0;

		CHECK(fscanf(f, "%llu", &lim) == 1);
		CHECK_INT_EQ(lim, MEMORY_BYTES);
		fclose(f);
	} else {
		printf("# cgroup v1 memory file not found, kernel limit not checked\n");
	}
	snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/docker/%s/pids.max", g.id);
	f = fopen(path, "r");
	if (f) {
		unsigned long long lim = 0;

		CHECK(fscanf(f, "%llu", &lim) == 1);
		CHECK_INT_EQ(lim, PIDS_LIMIT);
		fclose(f);
	}
}

static void test_http_on_loopback(void)
{
	char buf[4096];
	ssize_t n;

	REQUIRE(g.running);
	n = http_get_loopback(g.host_port, buf, sizeof(buf));
	if (n < 0) {
		HARNESS_FAIL("GET 127.0.0.1:%u: %s", g.host_port, strerror((int)-n));
		return;
	}
	CHECK(strncmp(buf, "HTTP/1.", 7) == 0);
	CHECK_STR_CONTAINS(buf, " 200 ");
	CHECK_STR_CONTAINS(buf, INDEX_MARKER);
}

static void test_pause_unpause(void)
{
	struct err e = { 0 };
	char buf[4096];

	REQUIRE(g.running);
	CHECK_INT_EQ(docker_container_pause(g.d, g.id, &e), 0);
	CHECK_INT_EQ(state_of(g.id), DOCKER_STATE_PAUSED);
	/* Pausing a paused container is not an error. */
	CHECK_INT_EQ(docker_container_pause(g.d, g.id, &e), 0);
	/* Nor is starting one an "already"; it is a state conflict. */
	CHECK_INT_EQ(docker_container_start(g.d, g.id, &e), -EBUSY);
	CHECK_STR_CONTAINS(e.msg, "start container ");
	CHECK_INT_EQ(docker_container_unpause(g.d, g.id, &e), 0);
	CHECK_INT_EQ(state_of(g.id), DOCKER_STATE_RUNNING);
	/* Unpausing a running container is not an error either. */
	err_clear(&e);
	CHECK_INT_EQ(docker_container_unpause(g.d, g.id, &e), 0);
	CHECK_INT_EQ(e.code, 0);
	CHECK_INT_EQ(state_of(g.id), DOCKER_STATE_RUNNING);
	CHECK(http_get_loopback(g.host_port, buf, sizeof(buf)) > 0);
	CHECK_STR_CONTAINS(buf, INDEX_MARKER);
}

struct logs {
	char out[8192], err[8192];
	size_t out_len, err_len;
	int calls, stop_with;
};

static int logs_cb(void *arg, int stream, const char *data, size_t len)
{
	struct logs *l = arg;
	char *dst = stream == 1 ? l->out : l->err;
	size_t *have = stream == 1 ? &l->out_len : &l->err_len;

	l->calls++;
	if (stream != 1 && stream != 2)
		return -EINVAL;
	if (*have + len < sizeof(l->out)) {
		memcpy(dst + *have, data, len);
		*have += len;
		dst[*have] = '\0';
	}
	return l->stop_with;
}

static void test_logs(void)
{
	struct err e = { 0 };
	struct logs *l;

	REQUIRE(g.running);
	l = calloc(1, sizeof(*l));
	REQUIRE(l);
	CHECK_INT_EQ(docker_container_logs(g.d, g.id, 0, logs_cb, l, &e), 0);
	CHECK_STR_CONTAINS(l->out, "Z hello-from-container\n");
	CHECK_STR_CONTAINS(l->err, "Z to-stderr\n");
	CHECK(strstr(l->out, "to-stderr") == NULL);
	CHECK(strstr(l->err, "hello-from-container") == NULL);
	/* timestamps=1: each line starts with an RFC 3339 time. */
	CHECK(strncmp(l->out, "20", 2) == 0 && l->out[4] == '-' && l->out[10] == 'T');

	/* Nothing since an hour from now. */
	memset(l, 0, sizeof(*l));
	CHECK_INT_EQ(docker_container_logs(g.d, g.id, (uint64_t)time(NULL) + 3600, logs_cb, l, &e),
		     0);
	CHECK_INT_EQ(l->calls, 0);

	/* The consumer can stop the stream; its code comes back. */
	memset(l, 0, sizeof(*l));
	l->stop_with = -EPIPE;
	CHECK_INT_EQ(docker_container_logs(g.d, g.id, 0, logs_cb, l, &e), -EPIPE);
	CHECK_INT_EQ(l->calls, 1);
	CHECK_STR_CONTAINS(e.msg, "logs of container ");
	/* ...and the handle still works afterwards. */
	CHECK_INT_EQ(docker_ping(g.d, &e), 0);
	free(l);
}

static void test_list_by_label(void)
{
	size_t n = 99;

	REQUIRE(g.running);
	CHECK_INT_EQ(list_has(TEST_LABEL, g.id, &n), 1);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(list_has("edgewhisk.test", g.id, NULL), 1);       /* key only */
	CHECK_INT_EQ(list_has("edgewhisk.kind=test", g.id, NULL), 1);
	/* Characters that need escaping in the filter. */
	CHECK_INT_EQ(list_has("edgewhisk.test=docker_api&x=\"y\" z", g.id, &n), 0);
	CHECK_INT_EQ(n, 0);
}

static void test_create_conflict(void)
{
	const char *labels[] = { TEST_LABEL, NULL };
	struct docker_create_opts o = { .name = g.name, .image = g.image, .labels = labels };
	char id[DOCKER_ID_MAX] = "untouched";
	char want[256];
	struct err e = { 0 };

	REQUIRE(g.running);
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EEXIST);
	CHECK_INT_EQ(e.code, -EEXIST);
	snprintf(want, sizeof(want), "create container %s: docker 409: Conflict. The container name "
		 "\"/%s\" is already in use", g.name, g.name);
	CHECK_STR_CONTAINS(e.msg, want);
	CHECK_STR_EQ(id, "untouched");
}

static void test_create_errors(void)
{
	const char *labels[] = { TEST_LABEL, NULL };
	const char *dup_labels[] = { TEST_LABEL, "edgewhisk.test=again", NULL };
	struct docker_create_opts o = { .image = MISSING_IMAGE, .labels = labels };
	char id[DOCKER_ID_MAX];
	struct err e = { 0 };

	REQUIRE(g.ready);
	o.name = "ewk_test_api_missing";
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "create container ewk_test_api_missing: docker 404: ");
	CHECK_STR_CONTAINS(e.msg, "No such image");

	o.image = g.image;
	o.name = "bad/name";
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EINVAL);
	o.name = "..";
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EINVAL);
	o.name = "ewk_test_api_net";
	o.network_mode = "host";
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "host");
	o.network_mode = "container:abc";
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EINVAL);
	o.network_mode = NULL;
	o.labels = dup_labels;
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EINVAL);
	o.labels = labels;
	/* Below Docker's 6 MiB floor: its 400 becomes -EINVAL with its text. */
	o.memory_bytes = 1 << 20;
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "docker 400: ");
	CHECK_STR_CONTAINS(e.msg, "emory");
	o.memory_bytes = 0;
	o.image = "";
	CHECK_INT_EQ(docker_container_create(g.d, &o, id, &e), -EINVAL);
	CHECK_INT_EQ(docker_container_create(g.d, NULL, id, &e), -EINVAL);
}

/* Memory limits are enforced: a container that allocates past 16 MiB is
 * OOM-killed with status 137 and inspect says so. */
static void test_oom_killed(void)
{
	const char *env[] = { "EW_MODE=oom", NULL };
	const char *labels[] = { TEST_LABEL, NULL };
	struct docker_create_opts o = {
		.name = "ewk_test_api_oom", .image = g.image, .env = env, .labels = labels,
		.memory_bytes = (uint64_t)16 << 20, .pids_limit = PIDS_LIMIT,
	};
	struct docker_inspect in;
	char id[DOCKER_ID_MAX];
	struct err e = { 0 };

	REQUIRE(g.ready);
	if (docker_container_create(g.d, &o, id, &e) < 0 ||
	    docker_container_start(g.d, id, &e) < 0) {
		HARNESS_FAIL("oom container: %s", e.msg);
		return;
	}
	CHECK_INT_EQ(wait_exit(id, &in, 20000), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_EXITED);
	CHECK_INT_EQ(in.oom_killed, 1);
	CHECK_INT_EQ(in.exit_code, 137);
	CHECK_INT_EQ(in.pid, 0);
	CHECK_INT_EQ(docker_container_remove(g.d, id, &e), 0);
}

static void test_kill_remove(void)
{
	struct docker_inspect in;
	struct err e = { 0 };
	struct logs *l;

	REQUIRE(g.running);
	CHECK_INT_EQ(docker_container_kill(g.d, g.id, "KILL", &e), 0);
	CHECK_INT_EQ(wait_exit(g.id, &in, 10000), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_EXITED);
	CHECK_INT_EQ(in.exit_code, 137);
	CHECK_INT_EQ(in.oom_killed, 0);
	CHECK_INT_EQ(in.host_port, 0);
	g.running = false;

	/* State conflicts on a stopped container. */
	CHECK_INT_EQ(docker_container_kill(g.d, g.id, "TERM", &e), -EBUSY);
	CHECK_STR_CONTAINS(e.msg, "is not running");
	CHECK_INT_EQ(docker_container_pause(g.d, g.id, &e), -EBUSY);
	CHECK_INT_EQ(docker_container_unpause(g.d, g.id, &e), -EBUSY);
	CHECK_INT_EQ(docker_container_kill(g.d, g.id, "KILL; rm", &e), -EINVAL);

	CHECK_INT_EQ(docker_container_remove(g.d, g.id, &e), 0);
	CHECK_INT_EQ(list_has(TEST_LABEL, g.id, NULL), 0);
	/* Gone already: not an error. */
	CHECK_INT_EQ(docker_container_remove(g.d, g.id, &e), 0);
	err_clear(&e);
	CHECK_INT_EQ(docker_container_inspect(g.d, g.id, &in, &e), -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "inspect container ");
	CHECK_STR_CONTAINS(e.msg, ": docker 404: No such container");
	CHECK_INT_EQ(docker_container_start(g.d, g.id, &e), -ENOENT);
	CHECK_INT_EQ(docker_container_pause(g.d, g.id, &e), -ENOENT);
	CHECK_INT_EQ(docker_container_unpause(g.d, g.id, &e), -ENOENT);
	CHECK_INT_EQ(docker_container_kill(g.d, g.id, "KILL", &e), -ENOENT);
	l = calloc(1, sizeof(*l));
	REQUIRE(l);
	CHECK_INT_EQ(docker_container_logs(g.d, g.id, 0, logs_cb, l, &e), -ENOENT);
	CHECK_INT_EQ(l->calls, 0);
	free(l);
	CHECK_INT_EQ(docker_container_inspect(g.d, "", &in, &e), -EINVAL);
	CHECK_INT_EQ(docker_container_inspect(g.d, "../images", &in, &e), -EINVAL);
}

static void test_teardown(void)
{
	struct err e = { 0 };
	size_t n = 99;
	char(*ids)[DOCKER_ID_MAX] = NULL;

	if (!g.d)
		return;
	if (remove_labelled(&e) < 0)
		HARNESS_FAIL("teardown: %s", e.msg);
	CHECK_INT_EQ(docker_container_list(g.d, TEST_LABEL, &ids, &n, &e), 0);
	CHECK_INT_EQ(n, 0);
	free(ids);
	docker_close(g.d);
	g.d = NULL;
}

HARNESS_MAIN("docker_api",
	     TEST_CASE(test_setup),
	     TEST_CASE(test_ping),
	     TEST_CASE(test_connection_reused),
	     TEST_CASE(test_image_exists),
	     TEST_CASE(test_create_start_inspect),
	     TEST_CASE(test_create_options_applied),
	     TEST_CASE(test_http_on_loopback),
	     TEST_CASE(test_pause_unpause),
	     TEST_CASE(test_logs),
	     TEST_CASE(test_list_by_label),
	     TEST_CASE(test_create_conflict),
	     TEST_CASE(test_create_errors),
	     TEST_CASE(test_oom_killed),
	     TEST_CASE(test_kill_remove),
	     TEST_CASE(test_teardown))
