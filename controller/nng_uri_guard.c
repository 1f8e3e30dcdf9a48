/* SPDX-License-Identifier: Apache-2.0 */
/* Guard against a heap overflow in libnng 1.5.2's HTTP server (Debian 12's
 * libnng1 1.5.2-2): http_sconn_rxdone copies the request URI with strncpy
 * into a buffer of exactly strlen + 1 bytes and http_uri_canonify then
 * percent-decodes it in place, but after a valid "%XX" it advances one
 * byte too far. When an escape ends the path ("/a%2e", "/a%41?x") it steps
 * over the terminating NUL and keeps reading and writing past the buffer:
 * any unauthenticated client can corrupt the controller's heap (found by
 * tests/integration/test_malformed.sh; valgrind shows the invalid writes
 * in libnng).
 *
 * That strncpy is the only one in libnng, and the copy it makes is used
 * only to pick a handler (ours is one tree handler on "/"; handlers read
 * the untouched URI from the request). So this file interposes strncpy in
 * the controller executable: it copies exactly as strncpy does and, when
 * the caller is libnng, turns each '%' of the copy's path into '_', so the
 * decoder finds nothing to decode and cannot overrun. Routing is
 * unchanged: the path still starts with '/' or does not. Linked into the
 * controller binary directly (not only via libcontroller.a, where nothing
 * would pull it in). Harmless with a fixed libnng. */

/* No <string.h>: with _FORTIFY_SOURCE it defines strncpy inline. */
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/nng_uri_guard.h"

/* The loop must stay a loop: the compiler may not turn it into a call to
 * the very function it implements. */
char *strncpy(char *restrict dst, const char *restrict src, size_t n)
	__attribute__((optimize("no-tree-loop-distribute-patterns")));

/* The last return address found in libnng and the last found elsewhere:
 * libnng calls strncpy from one place once per request, and dladdr costs
 * a walk of the loaded objects (about 2% of the controller's CPU per
 * request in a profile). Relaxed: each word is a hint checked whole. */
static _Atomic(uintptr_t) last_yes, last_no;

int nng_caller_is_libnng(const void *ret)
{
	uintptr_t r = (uintptr_t)ret;
	Dl_info info;
	const char *f, *p;
	int yes;

	if (!ret)
		return 0;
	if (r == atomic_load_explicit(&last_yes, memory_order_relaxed))
		return 1;
	if (r == atomic_load_explicit(&last_no, memory_order_relaxed))
		return 0;
	if (!dladdr(ret, &info) || !info.dli_fname)
		return 0;
	f = info.dli_fname;
	for (p = f; *p; p++)
		if (*p == '/')
			f = p + 1;
	yes = f[0] == 'l' && f[1] == 'i' && f[2] == 'b' && f[3] == 'n' && f[4] == 'n' &&
	      f[5] == 'g' && (f[6] == '.' || f[6] == '\0');
	atomic_store_explicit(yes ? &last_yes : &last_no, r, memory_order_relaxed);
	return yes;
}

char *strncpy(char *restrict dst, const char *restrict src, size_t n)
{
	size_t i = 0;

	for (; i < n && src[i]; i++)
		dst[i] = src[i];
	for (size_t j = i; j < n; j++)
		dst[j] = '\0';
	if (nng_caller_is_libnng(__builtin_return_address(0))) {
		/* Up to the query: canonify cuts the copy there. */
		for (size_t j = 0; j < i && dst[j] != '?'; j++)
			if (dst[j] == '%')
				dst[j] = '_';
	}
	return dst;
}

int nng_uri_guard_active(void)
{
	return 1;
}
