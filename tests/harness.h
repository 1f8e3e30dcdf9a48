/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny test harness: TEST() defines a case, CHECK*() records a failure and
 * goes on, REQUIRE() stops the case. Each binary prints one "ok"/"not ok"
 * line per case (TAP-like) and closes with "N passed, M failed"; the exit
 * status is non-zero when anything failed. tests/run-tests.sh adds up all
 * binaries. Header-only so each test links only the module under test. */
#ifndef EW_TESTS_HARNESS_H
#define EW_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int harness_case_failed;

#define HARNESS_FAIL(...)                                                   \
	do {                                                                \
		harness_case_failed = 1;                                    \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);           \
		fprintf(stderr, __VA_ARGS__);                               \
		fputc('\n', stderr);                                        \
	} while (0)

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond))                                                \
			HARNESS_FAIL("CHECK(%s) failed", #cond);            \
	} while (0)

#define REQUIRE(cond)                                                       \
	do {                                                                \
		if (!(cond)) {                                              \
			HARNESS_FAIL("REQUIRE(%s) failed", #cond);          \
			return;                                             \
		}                                                           \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                  \
	do {                                                                \
		long long harness_a_ = (long long)(a), harness_b_ = (long long)(b); \
		if (harness_a_ != harness_b_)                               \
			HARNESS_FAIL("%s == %s: %lld != %lld", #a, #b,      \
				     harness_a_, harness_b_);               \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                  \
	do {                                                                \
		const char *harness_a_ = (a), *harness_b_ = (b);            \
		if (!harness_a_ || !harness_b_ || strcmp(harness_a_, harness_b_) != 0) \
			HARNESS_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,  \
				     harness_a_ ? harness_a_ : "(null)",    \
				     harness_b_ ? harness_b_ : "(null)");   \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                     \
	do {                                                                \
		const char *harness_h_ = (hay), *harness_n_ = (needle);     \
		if (!harness_h_ || !strstr(harness_h_, harness_n_))         \
			HARNESS_FAIL("\"%s\" does not contain \"%s\"",      \
				     harness_h_ ? harness_h_ : "(null)", harness_n_); \
	} while (0)

struct harness_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_CASE(fn) { #fn, fn }

static inline int harness_run(const char *suite, const struct harness_case *cases, size_t n)
{
	int passed = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		harness_case_failed = 0;
		cases[i].fn();
		if (harness_case_failed) {
			failed++;
			printf("not ok %zu - %s.%s\n", i + 1, suite, cases[i].name);
		} else {
			passed++;
			printf("ok %zu - %s.%s\n", i + 1, suite, cases[i].name);
		}
		fflush(stdout);
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed ? 1 : 0;
}

#define HARNESS_MAIN(suite, ...)                                            \
	int main(void)                                                      \
	{                                                                   \
		static const struct harness_case harness_cases_[] = { __VA_ARGS__ }; \
		return harness_run(suite, harness_cases_,                   \
				   sizeof(harness_cases_) / sizeof(harness_cases_[0])); \
	}

#endif
