/* SPDX-License-Identifier: Apache-2.0 */
/* Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without
 * libFuzzer, so gcc builds (and `make test SAN=1`) run the checked-in
 * corpus and every past crasher as regression tests. Arguments are files
 * or directories (one level). Prints "N passed, 0 failed" (a failing input
 * aborts, which tests/run-tests.sh counts as a failure). */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path, unsigned *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f) {
		fprintf(stderr, "replay: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (!nb) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	(*n)++;
	return 0;
}

static int replay_path(const char *path, unsigned *n)
{
	struct stat st;
	struct dirent **ents = NULL;
	int count, rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, n);
	/* Sorted, so a failing run names the same input every time. */
	count = scandir(path, &ents, NULL, alphasort);
	if (count < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < count; i++) {
		char full[4096];

		if (ents[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path, ents[i]->d_name);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && replay_file(full, n) < 0)
				rc = -1;
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	int bad = 0;

	if (argc < 2) {
		/* From `make test` (run at the repository root): the target's
		 * checked-in corpus, named after the binary (replay_<target>). */
		const char *base = strrchr(argv[0], '/');
		char dir[512];

		base = base ? base + 1 : argv[0];
		if (strncmp(base, "replay_", 7) != 0) {
			fprintf(stderr, "usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
			return 2;
		}
		snprintf(dir, sizeof(dir), "tests/fuzz/corpus/%s", base + 7);
		if (replay_path(dir, &n) < 0)
			bad++;
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &n) < 0)
			bad++;
	/* An empty corpus means a broken checkout, not a pass. */
	if (n == 0)
		bad++;
	printf("%s: replayed %u inputs\n", argv[0], n);
	printf("%u passed, %d failed\n", n, bad);
	return bad ? 1 : 0;
}
