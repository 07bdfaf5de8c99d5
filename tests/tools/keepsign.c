/*
 * keepsign: keep one broker connection busy while something bad happens
 * to the broker, and say what the callers saw.  THREADS threads sign
 * with KEY (ECDSA P-256) on ONE shared connection until the broker has
 * failed them and then served them again: the run ends once callers
 * have seen TOKEN_UNAVAILABLE and then AFTER successes in a row, or a
 * local error (the connection lost), or after MAXSECONDS (a hang
 * deadline, never a measurement).
 *
 * Once THREADS x 10 signatures have succeeded, "signing" goes to
 * stdout (flushed), so that a test knows the load is on before it
 * strikes.  At the end, one line:
 *
 *   ok=N token-unavailable=N other=N lost=N ok-after-unavailable=N
 *   gap-ms=N
 *
 * gap-ms: from the first TOKEN_UNAVAILABLE to the first success after
 * the last one (information; tests/reliability/ reports such figures).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11broker.h"

#define KEEPSIGN_AFTER	20	/* successes in a row after the failure */

static struct p11b_conn *conn;
static const char *key;
static uint64_t deadline_ms;
static unsigned int nthreads;
static _Atomic uint64_t n_ok, n_unavail, n_other, n_lost, n_ok_after;
static _Atomic uint64_t ok_in_a_row;
static _Atomic uint64_t first_unavail_ms, last_unavail_ms, first_ok_after_ms;
static atomic_int said_signing, done;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
saw_ok(uint64_t t)
{
	uint64_t zero = 0;

	n_ok++;
	if (n_ok >= 10ULL * nthreads &&
	    atomic_exchange(&said_signing, 1) == 0) {
		printf("signing\n");
		fflush(stdout);
	}
	if (atomic_load(&n_unavail) == 0)
		return;
	n_ok_after++;
	if (t > atomic_load(&last_unavail_ms))
		atomic_compare_exchange_strong(&first_ok_after_ms, &zero, t);
	if (atomic_fetch_add(&ok_in_a_row, 1) + 1 >= KEEPSIGN_AFTER)
		atomic_store(&done, 1);
}

static void
saw_unavailable(uint64_t t)
{
	uint64_t zero = 0;

	n_unavail++;
	atomic_compare_exchange_strong(&first_unavail_ms, &zero, t);
	atomic_store(&last_unavail_ms, t);
	atomic_store(&first_ok_after_ms, 0);
	atomic_store(&ok_in_a_row, 0);
}

static void *
run(void *arg)
{
	const uint8_t msg[] = "keepsign";
	uint8_t *sig;
	size_t siglen;
	int r;

	(void)arg;
	while (!atomic_load(&done) && now_ms() < deadline_ms) {
		r = p11b_sign(conn, key, P11B_ALG_ECDSA_P256_SHA256, 0, msg,
		    sizeof(msg) - 1, &sig, &siglen);
		if (r == P11B_OK) {
			free(sig);
			saw_ok(now_ms());
		} else if (r == P11B_TOKEN_UNAVAILABLE)
			saw_unavailable(now_ms());
		else if (r < 0) {
			n_lost++;
			atomic_store(&done, 1);
		} else
			n_other++;
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t th[64];
	unsigned int i;
	uint64_t gap = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: keepsign SOCKET KEY THREADS "
		    "MAXSECONDS\n");
		return 2;
	}
	key = argv[2];
	nthreads = (unsigned int)atoi(argv[3]);
	if (nthreads < 1 || nthreads > 64)
		return 2;
	if (p11b_connect(argv[1], &conn) != P11B_OK) {
		fprintf(stderr, "keepsign: cannot connect to %s\n", argv[1]);
		return 1;
	}
	deadline_ms = now_ms() + (uint64_t)(atof(argv[4]) * 1000);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, run, NULL) != 0)
			return 1;
	for (i = 0; i < nthreads; i++)
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
