/* SPDX-License-Identifier: Apache-2.0 */
/* A test's scratch directory: made under /tmp on first use, removed with
 * everything in it at exit. Header-only, like the harness. */
#ifndef EW_TESTS_TMPDIR_H
#define EW_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmpdir_root_path[64];

static int tmpdir_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

static void tmpdir_cleanup(void)
{
	/* FTW_MOUNT: never into a file system a test mounted there. */
	if (tmpdir_root_path[0])
		nftw(tmpdir_root_path, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* /tmp/<name>.XXXXXX, made once per process; exits when it cannot be. */
static const char *tmpdir_root(const char *name)
{
	if (!tmpdir_root_path[0]) {
		snprintf(tmpdir_root_path, sizeof(tmpdir_root_path), "/tmp/%s.XXXXXX", name);
		if (!mkdtemp(tmpdir_root_path)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(tmpdir_cleanup);
	}
	return tmpdir_root_path;
}

#endif
