/*
 * A minimal TAP producer for unit tests: each check is one test point,
 * and the plan is printed at the end ("1..N").
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do {						\
	int ok_c_ = (cond) ? 1 : 0;					\
	tap_n++;							\
	if (!ok_c_)							\
		tap_failed++;						\
	printf("%sok %d - ", ok_c_ ? "" : "not ", tap_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_c_)							\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
} while (0)

#define is_int(got, want, ...) do {					\
	long long is_g_ = (long long)(got), is_w_ = (long long)(want);	\
	ok(is_g_ == is_w_, __VA_ARGS__);				\
	if (is_g_ != is_w_)						\
		printf("#   got %lld, want %lld\n", is_g_, is_w_);	\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *is_g_ = (got), *is_w_ = (want);			\
	int is_same_ = is_g_ != NULL && is_w_ != NULL &&		\
	    strcmp(is_g_, is_w_) == 0;					\
	ok(is_same_, __VA_ARGS__);					\
	if (!is_same_)							\
		printf("#   got \"%s\", want \"%s\"\n",		\
		    is_g_ ? is_g_ : "(null)", is_w_ ? is_w_ : "(null)");	\
} while (0)

#define is_mem(got, glen, want, wlen, ...) do {				\
	size_t is_gl_ = (glen), is_wl_ = (wlen);			\
	ok(is_gl_ == is_wl_ && memcmp((got), (want), is_wl_) == 0,	\
	    __VA_ARGS__);						\
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed == 0 ? 0 : 1;
}

#endif /* TAP_H */
