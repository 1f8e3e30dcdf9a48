/* SPDX-License-Identifier: Apache-2.0 */
/* Work-around for libnng 1.5.2's URI decoder overrun (see
 * nng_uri_guard.c): the controller executable interposes strncpy so that
 * nng's routing copy of a request URI holds no '%' escapes. Nothing to
 * call; the function only lets a test or a binary pull the object in from
 * libcontroller.a. */
#ifndef EW_NNG_URI_GUARD_H
#define EW_NNG_URI_GUARD_H

/* Always 1: the guard is linked in. */
int nng_uri_guard_active(void);

/* Whether a return address lies in libnng (its file is libnng or
 * libnng.*): how the nng guards tell libnng's libc calls from others. */
int nng_caller_is_libnng(const void *ret);

#endif
