/*
 * keepsign: keep one broker connection busy while something bad happens
 * to the broker, and say what the callers saw.  THREADS threads sign
 * with KEY (ECDSA P-256) on ONE shared connection for SECONDS; a broker
 * status is counted by name, a local error (the connection lost) ends
 * the run.  One line on stdout:
 *
 *   ok=N token-unavailable=N other=N lost=N ok-after-unavailable=N
 *   gap-ms=N
 *
 * gap-ms: from the first TOKEN_UNAVAILABLE to the first success after
 * the last one.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11broker.h"

static struct p11b_conn *conn;
static const char *key;
static uint64_t deadline_ms;
static _Atomic uint64_t n_ok, n_unavail, n_other, n_lost, n_ok_after;
static _Atomic uint64_t first_unavail_ms, last_unavail_ms, first_ok_after_ms;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *
run(void *arg)
{
	const uint8_t msg[] = "keepsign";
	uint8_t *sig;
	size_t siglen;
	uint64_t t, zero;
	int r;

	(void)arg;
	while ((t = now_ms()) < deadline_ms) {
		r = p11b_sign(conn, key, P11B_ALG_ECDSA_P256_SHA256, 0, msg,
		    sizeof(msg) - 1, &sig, &siglen);
		t = now_ms();
		if (r == P11B_OK) {
			free(sig);
			n_ok++;
			if (atomic_load(&n_unavail) > 0) {
				n_ok_after++;
				zero = 0;
				if (t > atomic_load(&last_unavail_ms))
					atomic_compare_exchange_strong(
					    &first_ok_after_ms, &zero, t);
			}
		} else if (r == P11B_TOKEN_UNAVAILABLE) {
			n_unavail++;
			zero = 0;
			atomic_compare_exchange_strong(&first_unavail_ms,
			    &zero, t);
			atomic_store(&last_unavail_ms, t);
			atomic_store(&first_ok_after_ms, 0);
		} else if (r < 0) {
			n_lost++;
			return NULL;
		} else
			n_other++;
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t th[64];
	int i, n;
	uint64_t gap = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: keepsign SOCKET KEY THREADS SECONDS\n");
		return 2;
	}
	key = argv[2];
	n = atoi(argv[3]);
	if (n < 1 || n > 64)
		return 2;
	if (p11b_connect(argv[1], &conn) != P11B_OK) {
		fprintf(stderr, "keepsign: cannot connect to %s\n", argv[1]);
		return 1;
	}
	deadline_ms = now_ms() + (uint64_t)(atof(argv[4]) * 1000);
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, run, NULL) != 0)
			return 1;
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (first_unavail_ms != 0 && first_ok_after_ms != 0)
		gap = first_ok_after_ms - first_unavail_ms;
	printf("ok=%llu token-unavailable=%llu other=%llu lost=%llu "
	    "ok-after-unavailable=%llu gap-ms=%llu\n",
	    (unsigned long long)n_ok, (unsigned long long)n_unavail,
	    (unsigned long long)n_other, (unsigned long long)n_lost,
	    (unsigned long long)n_ok_after, (unsigned long long)gap);
	p11b_close(conn);
	return 0;
}
