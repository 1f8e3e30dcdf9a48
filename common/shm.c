/* SPDX-License-Identifier: Apache-2.0 */
/* shm_open + mmap wrappers (see shm.h). */
#include "common/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int shm_region_create(const char *name, size_t bytes, void **base_out, struct err *e)
{
	void *base;
	int fd, rc;

	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, -errno, "create shared memory %s: %m", name);
	if (ftruncate(fd, (off_t)bytes) < 0) {
		rc = err_set(e, -errno, "size shared memory %s to %zu bytes: %m", name, bytes);
		goto err_unlink;
	}
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = err_set(e, -errno, "map shared memory %s (%zu bytes): %m", name, bytes);
		goto err_unlink;
	}
	close(fd);
	*base_out = base;
	return 0;

err_unlink:
	close(fd);
	shm_unlink(name);
	return rc;
}

int shm_region_attach(const char *name, size_t min_bytes, void **base_out, size_t *bytes_out,
		      struct err *e)
{
	struct stat st;
	void *base;
	int fd, rc;

	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, -errno, "open shared memory %s: %m", name);
	if (fstat(fd, &st) < 0) {
		rc = err_set(e, -errno, "stat shared memory %s: %m", name);
		goto out;
	}
	if ((size_t)st.st_size < min_bytes) {
		rc = err_set(e, -EPROTO, "shared memory %s is %lld bytes, smaller than a queue header (%zu)",
			     name, (long long)st.st_size, min_bytes);
		goto out;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = err_set(e, -errno, "map shared memory %s: %m", name);
		goto out;
	}
	*base_out = base;
	*bytes_out = (size_t)st.st_size;
	rc = 0;
out:
	close(fd);
	return rc;
}

void shm_region_unmap(void *base, size_t bytes)
{
	if (base)
		munmap(base, bytes);
}

int shm_region_unlink(const char *name)
{
	return shm_unlink(name) < 0 ? -errno : 0;
}
