/*
 * check(): one "ok - ..." or "not ok - ..." line on stdout for a test
 * program whose script relays them (relay_checks in
 * tests/integration/lib.sh); check_failures counts the "not ok"s.
 */
#ifndef TESTS_TOOLS_CHECK_H
#define TESTS_TOOLS_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int check_failures;

static void __attribute__((format(printf, 2, 3)))
check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		check_failures++;
}

#endif /* TESTS_TOOLS_CHECK_H */
