/* SPDX-License-Identifier: Apache-2.0 */
/* Docker image references (the grammar of the distribution project's
 * reference package), checked before an image name reaches the Engine
 * API: a blackbox action's "-v" or "a b" is the user's mistake, told at
 * create, not a 500 at its first invocation. libc only. */
#ifndef EW_IMAGE_REF_H
#define EW_IMAGE_REF_H

#include <stdbool.h>

#define IMAGE_REF_NAME_MAX 255 /* the name part, as Docker limits it */

/*   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 *   domain    := host [ ":" port ]   (a first component with '.' or ':',
 *                                     or "localhost")
 *   path-component := [a-z0-9]+ { separator [a-z0-9]+ },
 *                     separator := "." | "_" | "__" | "-"+
 *   tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest    := algorithm ":" hex{32,}
 * Bracketed IPv6 hosts are not taken. */
bool image_ref_is_valid(const char *ref);

#endif
