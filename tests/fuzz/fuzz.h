/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the fuzz targets and their replay runner: each target defines
 * libFuzzer's entry point. Built by clang with -fsanitize=fuzzer for
 * `make fuzz`, and by gcc with replay.c (no libFuzzer) so `make test`
 * replays the checked-in corpus through the same code. */
#ifndef EW_TESTS_FUZZ_H
#define EW_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated heap copy of the input (the APIs under test take C
 * strings); NULL on ENOMEM, which a target treats as "nothing to do". */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif
