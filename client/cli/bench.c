/*
 * p11broker bench: N client threads, each on its own connection or all
 * pipelined on one shared connection, run one operation (--op) or a
 * weighted mix of operations (--mix) back to back, for a fixed time after
 * a short warm-up (--seconds) or for a fixed number of requests split
 * over the clients (--requests).  One result line: ops, ops/s and the
 * p50/p99 latency of single calls; with --mix also a line per operation,
 * the requests sent and the errors by status.  SIGINT or SIGTERM ends
 * the run early, and the results so far are reported as usual.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11broker.h"
#include "cli.h"

#define BENCH_WARMUP_OPS	20	/* per client, not measured */
#define BENCH_CLIENTS_MAX	1024
#define BENCH_SECONDS_MAX	3600.0
#define BENCH_REQUESTS_MAX	100000000LL	/* 8 bytes of latency each */
#define BENCH_OPS_MAX		16	/* entries in a mix */
#define BENCH_WEIGHT_MAX	1000000
#define BENCH_HMAC_SIZE		64
#define BENCH_MESSAGE_SIZE	64	/* Ed25519 signs a message */
#define BENCH_RANDOM_SIZE	32
#define BENCH_MESSAGE_MAX	256
#define BENCH_BATCH_MAX		1024	/* the broker's max-batch bound */

/* The mix "default": the load of a typical signing frontend. */
#define BENCH_MIX_DEFAULT	\
	"sign-ec=50,sign-rsa=10,hmac=30,hmac-verify=5,random=5"

/*
 * Outcomes counted per operation: the broker statuses, a MAC that did
 * not match (hmac-verify) and the local errors P11B_ERR_CONNECT (-1) to
 * P11B_ERR_INVALID (-5).
 */
#define BENCH_MISMATCH		P11B_STATUS_COUNT
#define BENCH_LOCAL_ERRORS	5
#define BENCH_NOUTCOMES		(P11B_STATUS_COUNT + 1 + BENCH_LOCAL_ERRORS)

enum bench_kind {
	BENCH_SIGN,
	BENCH_HMAC,
	BENCH_HMAC_VERIFY,
	BENCH_RANDOM,
};

struct bench_op {
	const char	*name;		/* ecdsa, sign-ec, hmac-verify, ... */
	enum bench_kind	 kind;
	const char	*key;		/* NULL for random */
	enum p11b_alg	 alg;
	int		 flags;		/* P11B_SIGN_DIGEST for a digest */
	uint8_t		*input;
	size_t		 size;		/* input, or random bytes asked */
	uint8_t		*mac;		/* hmac-verify: the MAC to check */
	size_t		 maclen;
	unsigned int	 weight;
	unsigned int	 upto;		/* cumulative weight, exclusive */
};

struct bench_conf {
	struct bench_op		 ops[BENCH_OPS_MAX];
	size_t			 nops;
	unsigned int		 total_weight;
	int			 mixed;		/* --mix: a line per op */
	unsigned int		 clients;
	double			 seconds;	/* 0 with --requests */
	unsigned long long	 requests;	/* 0: run for seconds */
	unsigned long long	 setup;		/* requests before the run */
	int			 shared;
	unsigned int		 batch;		/* items per request, 0: none */
	const char		*socket;
	char			*mixbuf;	/* --mix, split in place */
};

/* What the clients and the timing thread share. */
struct bench_sync {
	pthread_barrier_t	 barrier;	/* all warmed up: go */
	atomic_int		 stop;
	atomic_int		 running;	/* clients still measuring */
};

/* One client's counts for one operation of the mix. */
struct bench_stats {
	uint64_t		*lat;	/* nanoseconds, successful calls */
	size_t			 nlat, caplat;
	unsigned long long	 errors;
	unsigned long long	 outcome[BENCH_NOUTCOMES];
};

struct bench_client {
	pthread_t			 thread;
	const struct bench_conf		*conf;
	struct bench_sync		*sync;
	struct p11b_conn		*conn;
	int				 own_conn;
	struct bench_stats		 stats[BENCH_OPS_MAX];
	uint64_t			 rng;
	unsigned long long		 quota;	/* --requests: its share */
	unsigned long long		 warmup;	/* requests sent */
	unsigned long long		 sent;		/* measured, sent */
	int				 first_error;
	char				 message[BENCH_MESSAGE_MAX];
	uint64_t			 begin, end;	/* measured part */
};

/* The operations --op and --mix know, with their default key and alg. */
struct bench_default {
	const char	*name;
	enum bench_kind	 kind;
	const char	*key;
	enum p11b_alg	 alg;
};

static const struct bench_default bench_defaults[] = {
	{ "ecdsa", BENCH_SIGN, "ec256", P11B_ALG_ECDSA_P256_SHA256 },
	{ "rsa", BENCH_SIGN, "rsa2048", P11B_ALG_RSA_PKCS1_SHA256 },
	{ "hmac", BENCH_HMAC, "hmac32", P11B_ALG_HMAC_SHA256 },
	{ "sign-ec", BENCH_SIGN, "ec256", P11B_ALG_ECDSA_P256_SHA256 },
	{ "sign-rsa", BENCH_SIGN, "rsa2048", P11B_ALG_RSA_PKCS1_SHA256 },
	{ "sign-ed25519", BENCH_SIGN, "ed25519", P11B_ALG_ED25519 },
	{ "hmac-verify", BENCH_HMAC_VERIFY, "hmac32", P11B_ALG_HMAC_SHA256 },
	{ "random", BENCH_RANDOM, NULL, P11B_ALG_NONE },
};
#define BENCH_NDEFAULTS	(sizeof(bench_defaults) / sizeof(bench_defaults[0]))

static uint64_t
bench_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

static uint64_t
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return bench_ns(&ts);
}

/* xorshift64*: a fixed sequence per client, so runs repeat. */
static uint64_t
bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static size_t
bench_outcome_index(int r)
{
	if (r >= 0 && r <= BENCH_MISMATCH)
		return (size_t)r;
	if (r < 0 && r >= -BENCH_LOCAL_ERRORS)
		return (size_t)(BENCH_MISMATCH - r);
	return P11B_INTERNAL;
}

static const char *
bench_outcome_name(size_t i)
{
	if (i == BENCH_MISMATCH)
		return "mismatch";
	if (i > BENCH_MISMATCH)
		return p11b_status_name(BENCH_MISMATCH - (int)i);
	return p11b_status_name((int)i);
}

/* Calls count this many operations each: --batch N, else 1. */
static unsigned int bench_items = 1;

/*
 * A batch of conf->batch copies of the operation's input: OK only when
 * every item is, else the first item's failure.
 */
static int
bench_batch(struct bench_client *c, const struct bench_op *op)
{
	struct p11b_batch_item items[BENCH_BATCH_MAX];
	enum p11b_op kind = op->kind == BENCH_SIGN ? P11B_OP_SIGN :
	    op->kind == BENCH_HMAC ? P11B_OP_HMAC : P11B_OP_HMAC_VERIFY;
	size_t i, n = c->conf->batch;
	int r;

	memset(items, 0, n * sizeof(items[0]));
	for (i = 0; i < n; i++) {
		items[i].in = op->input;
		items[i].inlen = op->size;
		if (kind == P11B_OP_HMAC_VERIFY) {
			items[i].mac = op->mac;
			items[i].maclen = op->maclen;
		}
	}
	r = p11b_batch(c->conn, kind, op->key, NULL, 0, op->alg,
	    kind == P11B_OP_SIGN ? op->flags : 0, items, n);
	for (i = 0; r == P11B_OK && i < n; i++) {
		if (items[i].status != P11B_OK)
			r = items[i].status;
		else if (kind == P11B_OP_HMAC_VERIFY && !items[i].valid)
			r = BENCH_MISMATCH;
	}
	p11b_batch_clear(items, n);
	return r;
}

static int
bench_call(struct bench_client *c, const struct bench_op *op)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	int r = P11B_ERR_INVALID, valid = 0;

	if (c->conf->batch > 0)
		return bench_batch(c, op);
	switch (op->kind) {
	case BENCH_SIGN:
		r = p11b_sign(c->conn, op->key, op->alg, op->flags, op->input,
		    op->size, &out, &outlen);
		break;
	case BENCH_HMAC:
		r = p11b_hmac(c->conn, op->key, op->alg, op->input, op->size,
		    &out, &outlen);
		break;
	case BENCH_HMAC_VERIFY:
		r = p11b_hmac_verify(c->conn, op->key, op->alg, op->input,
		    op->size, op->mac, op->maclen, &valid);
		if (r == P11B_OK && !valid)
			r = BENCH_MISMATCH;
		break;
	case BENCH_RANDOM:
		r = p11b_random(c->conn, op->size, &out);
		break;
	}
	free(out);
	return r;
}

static void
bench_error(struct bench_client *c, struct bench_stats *st, int r)
{
	st->errors++;
	st->outcome[bench_outcome_index(r)]++;
	if (c->first_error != 0)
		return;
	c->first_error = r;
	if (r == BENCH_MISMATCH)
		strlcpy(c->message, "the MAC did not match",
		    sizeof(c->message));
	else
		strlcpy(c->message, p11b_last_message(), sizeof(c->message));
}

static int
bench_record(struct bench_stats *st, uint64_t ns)
{
	uint64_t *nlat;
	size_t ncap;

	if (st->nlat == st->caplat) {
		ncap = st->caplat == 0 ? 4096 : st->caplat * 2;
		if ((nlat = reallocarray(st->lat, ncap, sizeof(*nlat))) ==
		    NULL)
			return -1;
		st->lat = nlat;
		st->caplat = ncap;
	}
	st->lat[st->nlat++] = ns;
	return 0;
}

/* The next operation: weighted at random (one op: always that one). */
static size_t
bench_pick(struct bench_client *c)
{
	const struct bench_conf *conf = c->conf;
	unsigned int w;
	size_t i;

	if (conf->nops == 1)
		return 0;
	w = (unsigned int)(bench_rand(&c->rng) % conf->total_weight);
	for (i = 0; w >= conf->ops[i].upto; i++)
		;
	return i;
}

/*
 * One request; measured ones record their latency.  Returns the status
 * (BENCH_MISMATCH for a MAC that did not match) or a local error.
 */
static int
bench_one(struct bench_client *c, int measured)
{
	size_t i = bench_pick(c);
	struct bench_stats *st = &c->stats[i];
	uint64_t t0;
	int r;

	t0 = bench_now();
	r = bench_call(c, &c->conf->ops[i]);
	if (measured)
		c->sent++;
	else
		c->warmup++;
	if (r != P11B_OK)
		bench_error(c, st, r);
	else if (measured && bench_record(st, bench_now() - t0) == -1) {
		bench_error(c, st, P11B_ERR_NOMEM);
		r = P11B_ERR_NOMEM;
	}
	return r;
}

/*
 * Until told to stop (the time is up, or a signal), or until the
 * client's share of --requests is sent; a local error (connection lost)
 * ends the client.
 */
static void
bench_loop(struct bench_client *c)
{
	const struct bench_conf *conf = c->conf;

	for (;;) {
		if (atomic_load(&c->sync->stop) != 0 ||
		    (conf->requests != 0 && c->sent >= c->quota))
			break;
		if (bench_one(c, 1) < 0)
			break;
	}
}

static void *
bench_client_main(void *arg)
{
	struct bench_client *c = arg;
	int i, r = P11B_OK;

	if (c->own_conn &&
	    (r = p11b_connect(c->conf->socket, &c->conn)) != P11B_OK)
		bench_error(c, &c->stats[0], r);
	/* --requests sends exactly that many: no warm-up. */
	for (i = 0; r == P11B_OK && c->conf->requests == 0 &&
	    i < BENCH_WARMUP_OPS; i++)
		r = bench_one(c, 0);
	pthread_barrier_wait(&c->sync->barrier);
	c->begin = bench_now();
	if (c->conn != NULL && r >= 0)
		bench_loop(c);
	c->end = bench_now();
	atomic_fetch_sub(&c->sync->running, 1);
	return NULL;
}

static int
bench_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted latencies, in microseconds. */
static double
bench_percentile(const uint64_t *lat, size_t n, unsigned int pct)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	rank = (n * pct + 99) / 100;
	if (rank == 0)
		rank = 1;
	return (double)lat[rank - 1] / 1000.0;
}

/* The counts of one operation (op < nops) or of all, over the clients. */
struct bench_sum {
	uint64_t		*lat;	/* sorted */
	size_t			 n;
	unsigned long long	 errors;
	unsigned long long	 outcome[BENCH_NOUTCOMES];
};

static int
bench_sum(const struct bench_conf *conf, const struct bench_client *clients,
    size_t op, struct bench_sum *sum)
{
	const struct bench_stats *st;
	size_t i, j, k, n = 0;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < conf->clients; i++)
		for (j = 0; j < conf->nops; j++)
			if (op >= conf->nops || op == j)
				n += clients[i].stats[j].nlat;
	if ((sum->lat = calloc(n > 0 ? n : 1, sizeof(*sum->lat))) == NULL)
		return -1;
	for (i = 0; i < conf->clients; i++)
		for (j = 0; j < conf->nops; j++) {
			if (op < conf->nops && op != j)
				continue;
			st = &clients[i].stats[j];
			memcpy(sum->lat + sum->n, st->lat,
			    st->nlat * sizeof(*sum->lat));
			sum->n += st->nlat;
			sum->errors += st->errors;
			for (k = 0; k < BENCH_NOUTCOMES; k++)
				sum->outcome[k] += st->outcome[k];
		}
	qsort(sum->lat, sum->n, sizeof(*sum->lat), bench_cmp);
	return 0;
}

/* " denied=2 mismatch=1": the errors by status, or "" for none. */
static void
bench_print_outcomes(const struct bench_sum *sum)
{
	size_t k;

	for (k = 1; k < BENCH_NOUTCOMES; k++)
		if (sum->outcome[k] != 0)
			printf(" %s=%llu", bench_outcome_name(k),
			    sum->outcome[k]);
}

static void
bench_print_sum(const struct bench_sum *sum, double secs)
{
	size_t ops = sum->n * bench_items;

	if (bench_items > 1)
		printf("batch=%u ", bench_items);
	printf("ops=%zu secs=%.2f ops_per_s=%.1f p50_us=%.1f p99_us=%.1f "
	    "errors=%llu", ops, secs, secs > 0 ? (double)ops / secs :
	    0.0, bench_percentile(sum->lat, sum->n, 50),
	    bench_percentile(sum->lat, sum->n, 99), sum->errors);
}

/*
 * A line per operation of the mix, then what was sent: setup (the MACs
 * hmac-verify checks), warm-up and measured requests, and those a client
 * could not send after losing its connection.
 */
static int
bench_report_mix(const struct bench_conf *conf,
    const struct bench_client *clients, double secs)
{
	const struct bench_op *op;
	struct bench_sum sum;
	unsigned long long warmup = 0, sent = 0, unsent = 0;
	size_t i;

	for (i = 0; i < conf->nops; i++) {
		op = &conf->ops[i];
		if (bench_sum(conf, clients, i, &sum) == -1)
			return -1;
		printf("  op=%s key=%s alg=%s weight=%u ", op->name,
		    op->key != NULL ? op->key : "-", op->kind == BENCH_RANDOM ?
		    "-" : p11b_alg_name(op->alg), op->weight);
		bench_print_sum(&sum, secs);
		bench_print_outcomes(&sum);
		printf("\n");
		free(sum.lat);
	}
	for (i = 0; i < conf->clients; i++) {
		warmup += clients[i].warmup;
		sent += clients[i].sent;
		if (clients[i].sent < clients[i].quota)
			unsent += clients[i].quota - clients[i].sent;
	}
	printf("requests=%llu setup=%llu warmup=%llu measured=%llu "
	    "unsent=%llu\n", conf->setup + warmup + sent, conf->setup, warmup,
	    sent, unsent);
	return 0;
}

/* The time from the first client's start to the last client's end. */
static int
bench_report(struct cli *cli, const struct bench_conf *conf,
    struct bench_client *clients)
{
	struct bench_sum all;
	uint64_t start = clients[0].begin, end = clients[0].end;
	double secs;
	size_t i;
	int first = 0, r;
	const char *msg = "";

	for (i = 0; i < conf->clients; i++) {
		if (clients[i].begin < start)
			start = clients[i].begin;
		if (clients[i].end > end)
			end = clients[i].end;
		if (first == 0 && clients[i].first_error != 0) {
			first = clients[i].first_error;
			msg = clients[i].message;
		}
	}
	if (bench_sum(conf, clients, BENCH_OPS_MAX, &all) == -1) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	secs = (double)(end - start) / 1e9;
	printf("op=%s key=%s clients=%u ", conf->mixed ? "mix" :
	    conf->ops[0].name, conf->mixed ? "-" : conf->ops[0].key != NULL ?
	    conf->ops[0].key : "-", conf->clients);
	bench_print_sum(&all, secs);
	printf("\n");
	r = conf->mixed ? bench_report_mix(conf, clients, secs) : 0;
	if (all.errors != 0) {
		printf("errors by status:");
		bench_print_outcomes(&all);
		printf("\n");
	}
	free(all.lat);
	if (r == -1) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	if (first == 0)
		return CLI_EXIT_OK;
	fflush(stdout);
	if (first == BENCH_MISMATCH) {
		cli_warnx(cli, "mismatch (%s)", msg);
		return CLI_EXIT_MISMATCH;
	}
	cli_warnx(cli, "%s (%s)", cli_status_name(first),
	    *msg != '\0' ? msg : p11b_strerror(first));
	return cli_exit_code(first);
}

static volatile sig_atomic_t bench_interrupted;

static void
bench_on_signal(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

/*
 * While the clients run, SIGINT and SIGTERM end the run instead of the
 * process (a load that lasts "until I am done with it").  The client
 * threads block them, so that only the waiting thread takes them.
 */
static void
bench_catch_signals(int on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on ? bench_on_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

/*
 * Sleep for the measured time (no limit with --requests), until every
 * client has given up or finished, or until SIGINT/SIGTERM.
 */
static void
bench_wait(struct bench_sync *sync, double seconds)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	uint64_t deadline;

	deadline = bench_now() + (uint64_t)(seconds * 1e9);
	while ((seconds == 0 || bench_now() < deadline) &&
	    atomic_load(&sync->running) > 0 && !bench_interrupted)
		nanosleep(&tick, NULL);
	atomic_store(&sync->stop, 1);
}

static int
bench_start(struct bench_client *clients, const struct bench_conf *conf,
    struct bench_sync *sync, struct p11b_conn *shared)
{
	unsigned long long share;
	unsigned int i;

	share = conf->requests / conf->clients;
	for (i = 0; i < conf->clients; i++) {
		clients[i].conf = conf;
		clients[i].sync = sync;
		clients[i].conn = shared;
		clients[i].own_conn = shared == NULL;
		clients[i].rng = (i + 1) * 0x9E3779B97F4A7C15ULL;
		clients[i].quota = share +
		    (i < conf->requests % conf->clients ? 1 : 0);
		if (pthread_create(&clients[i].thread, NULL,
		    bench_client_main, &clients[i]) != 0)
			return -1;
	}
	return 0;
}

static int
bench_run(struct cli *cli, const struct bench_conf *conf)
{
	struct bench_client *clients;
	struct bench_sync sync;
	sigset_t block, old;
	unsigned int i;
	size_t j;
	int r;

	if ((clients = calloc(conf->clients, sizeof(*clients))) == NULL) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	atomic_init(&sync.stop, 0);
	atomic_init(&sync.running, (int)conf->clients);
	pthread_barrier_init(&sync.barrier, NULL, conf->clients + 1);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	bench_catch_signals(1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	r = bench_start(clients, conf, &sync, conf->shared ? cli->conn : NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == -1) {
		/* Cannot happen short of resource exhaustion; no cleanup. */
		cli_warnx(cli, "cannot start client threads");
		exit(CLI_EXIT_STATUS + P11B_INTERNAL);
	}
	pthread_barrier_wait(&sync.barrier);
	bench_wait(&sync, conf->seconds);
	for (i = 0; i < conf->clients; i++)
		pthread_join(clients[i].thread, NULL);
	bench_catch_signals(0);
	r = bench_report(cli, conf, clients);
	for (i = 0; i < conf->clients; i++) {
		if (clients[i].own_conn)
			p11b_close(clients[i].conn);
		for (j = 0; j < conf->nops; j++)
			free(clients[i].stats[j].lat);
	}
	pthread_barrier_destroy(&sync.barrier);
	free(clients);
	return r;
}

static int
bench_number(struct cli *cli, const char *opt, const char *s, long long min,
    long long max, long long *vp)
{
	const char *errstr;

	*vp = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		return cli_usage(cli, "%s \"%s\" is %s (%lld to %lld)", opt, s,
		    errstr, min, max);
	return CLI_EXIT_OK;
}

static int
bench_seconds(struct cli *cli, const char *s, double *vp)
{
	char *end;

	errno = 0;
	*vp = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(*vp >= 0.1) ||
	    *vp > BENCH_SECONDS_MAX)
		return cli_usage(cli, "--seconds \"%s\" must be 0.1 to %.0f",
		    s, BENCH_SECONDS_MAX);
	return CLI_EXIT_OK;
}

static const struct bench_default *
bench_default_find(const char *name)
{
	size_t i;

	for (i = 0; i < BENCH_NDEFAULTS; i++)
		if (strcmp(bench_defaults[i].name, name) == 0)
			return &bench_defaults[i];
	return NULL;
}

/*
 * The input of an operation.  Without a size a signature is over a
 * digest of the algorithm's length (a message for Ed25519) and a MAC over
 * 64 bytes; with a size the input is a message of that many bytes.
 */
static int
bench_input(struct bench_op *op, size_t size)
{
	size_t i;

	op->flags = 0;
	if (op->kind == BENCH_RANDOM) {
		op->size = BENCH_RANDOM_SIZE;
		return 0;
	}
	if (size != 0)
		op->size = size;
	else if (op->kind != BENCH_SIGN)
		op->size = BENCH_HMAC_SIZE;
	else if ((op->size = p11b_alg_digest_len(op->alg)) != 0)
		op->flags = P11B_SIGN_DIGEST;
	else
		op->size = BENCH_MESSAGE_SIZE;
	if ((op->input = malloc(op->size)) == NULL)
		return -1;
	for (i = 0; i < op->size; i++)
		op->input[i] = (uint8_t)(i * 31 + 7);
	return 0;
}

/* --op, --key, --alg, --size: a single operation. */
static int
bench_single(struct cli *cli, struct bench_conf *conf)
{
	const char *name = cli->args.op != NULL ? cli->args.op : "ecdsa";
	const struct bench_default *d;
	struct bench_op *op = &conf->ops[0];
	long long v = 0;
	int r;

	if ((d = bench_default_find(name)) == NULL)
		return cli_usage(cli, "unknown --op \"%s\" (ecdsa, rsa, hmac, "
		    "sign-ec, sign-rsa, sign-ed25519, hmac-verify or random)",
		    name);
	op->name = d->name;
	op->kind = d->kind;
	op->key = cli->args.key != NULL && d->kind != BENCH_RANDOM ?
	    cli->args.key : d->key;
	if (d->kind != BENCH_RANDOM &&
	    (r = cli_alg(cli, cli->args.alg, d->alg, &op->alg)) != 0)
		return r;
	if (cli->args.size != NULL && (r = bench_number(cli, "--size",
	    cli->args.size, 1, d->kind == BENCH_RANDOM ? P11B_RANDOM_MAX :
	    CLI_INPUT_MAX, &v)) != 0)
		return r;
	op->weight = op->upto = 1;
	conf->nops = 1;
	conf->total_weight = 1;
	if (bench_input(op, (size_t)v) == -1) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	if (op->kind == BENCH_RANDOM && v != 0)
		op->size = (size_t)v;
	return CLI_EXIT_OK;
}

/* One entry of --mix: OP[:KEY[:ALG]]=WEIGHT, split in place. */
static int
bench_mix_entry(struct cli *cli, struct bench_conf *conf, char *entry)
{
	const struct bench_default *d;
	struct bench_op *op;
	char *weight, *key, *alg;
	long long v;
	int r;

	if ((weight = strchr(entry, '=')) == NULL)
		return cli_usage(cli, "--mix entry \"%s\" needs =WEIGHT",
		    entry);
	*weight++ = '\0';
	if ((key = strchr(entry, ':')) != NULL)
		*key++ = '\0';
	if (key != NULL && (alg = strchr(key, ':')) != NULL)
		*alg++ = '\0';
	else
		alg = NULL;
	if ((d = bench_default_find(entry)) == NULL ||
	    d == &bench_defaults[0] || d == &bench_defaults[1])
		return cli_usage(cli, "unknown --mix operation \"%s\" "
		    "(sign-ec, sign-rsa, sign-ed25519, hmac, hmac-verify or "
		    "random)", entry);
	if (conf->nops == BENCH_OPS_MAX)
		return cli_usage(cli, "--mix: at most %d entries",
		    BENCH_OPS_MAX);
	if ((r = bench_number(cli, "--mix weight", weight, 0,
	    BENCH_WEIGHT_MAX, &v)) != 0)
		return r;
	op = &conf->ops[conf->nops++];
	op->name = d->name;
	op->kind = d->kind;
	op->key = d->key;
	op->alg = d->alg;
	op->weight = (unsigned int)v;
	if (key != NULL && *key != '\0') {
		if (d->kind == BENCH_RANDOM)
			return cli_usage(cli, "--mix: random takes no key");
		op->key = key;
	}
	if (alg != NULL && (r = cli_alg(cli, alg, d->alg, &op->alg)) != 0)
		return r;
	conf->total_weight += op->weight;
	op->upto = conf->total_weight;
	if (bench_input(op, 0) == -1) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	return CLI_EXIT_OK;
}

static int
bench_mix(struct cli *cli, struct bench_conf *conf)
{
	const char *spec = cli->args.mix;
	char *entry, *rest;
	int r;

	if (cli->args.op != NULL || cli->args.key != NULL ||
	    cli->args.alg != NULL || cli->args.size != NULL)
		return cli_usage(cli, "--mix takes keys and algorithms in its "
		    "entries (OP:KEY:ALG=WEIGHT), not --op, --key, --alg or "
		    "--size");
	if (strcmp(spec, "default") == 0)
		spec = BENCH_MIX_DEFAULT;
	if ((conf->mixbuf = strdup(spec)) == NULL) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	conf->mixed = 1;
	rest = conf->mixbuf;
	while ((entry = strsep(&rest, ",")) != NULL)
		if ((r = bench_mix_entry(cli, conf, entry)) != 0)
			return r;
	if (conf->total_weight == 0)
		return cli_usage(cli, "--mix: all weights are 0");
	return CLI_EXIT_OK;
}

static int
bench_conf(struct cli *cli, struct bench_conf *conf)
{
	long long v;
	size_t i;
	int r;

	memset(conf, 0, sizeof(*conf));
	conf->socket = cli->socket;
	conf->clients = 1;
	conf->seconds = 5.0;
	if ((r = cli->args.mix != NULL ? bench_mix(cli, conf) :
	    bench_single(cli, conf)) != 0)
		return r;
	if (cli->args.clients != NULL) {
		if ((r = bench_number(cli, "--clients", cli->args.clients, 1,
		    BENCH_CLIENTS_MAX, &v)) != 0)
			return r;
		conf->clients = (unsigned int)v;
	}
	if (cli->args.seconds != NULL && cli->args.requests != NULL)
		return cli_usage(cli, "give --seconds or --requests, not both");
	if (cli->args.seconds != NULL &&
	    (r = bench_seconds(cli, cli->args.seconds, &conf->seconds)) != 0)
		return r;
	if (cli->args.requests != NULL) {
		if ((r = bench_number(cli, "--requests", cli->args.requests,
		    1, BENCH_REQUESTS_MAX, &v)) != 0)
			return r;
		conf->requests = (unsigned long long)v;
		conf->seconds = 0;
	}
	conf->shared = cli->args.shared;
	if (cli->args.batch != NULL) {
		if ((r = bench_number(cli, "--batch", cli->args.batch, 1,
		    BENCH_BATCH_MAX, &v)) != 0)
			return r;
		for (i = 0; i < conf->nops; i++)
			if (conf->ops[i].kind == BENCH_RANDOM)
				return cli_usage(cli, "--batch: random has no "
				    "batches");
		conf->batch = (unsigned int)v;
		bench_items = conf->batch;
	}
	return CLI_EXIT_OK;
}

/* The MAC each hmac-verify checks: asked once, before the run. */
static int
bench_prepare(struct cli *cli, struct bench_conf *conf)
{
	struct bench_op *op;
	size_t i;
	int rc;

	for (i = 0; i < conf->nops; i++) {
		op = &conf->ops[i];
		if (op->kind != BENCH_HMAC_VERIFY || op->weight == 0)
			continue;
		conf->setup++;
		if ((rc = p11b_hmac(cli->conn, op->key, op->alg, op->input,
		    op->size, &op->mac, &op->maclen)) != P11B_OK) {
			cli->key = op->key;
			return cli_fail(cli, rc);
		}
	}
	return CLI_EXIT_OK;
}

static void
bench_conf_free(struct bench_conf *conf)
{
	size_t i;

	for (i = 0; i < BENCH_OPS_MAX; i++) {
		free(conf->ops[i].input);
		free(conf->ops[i].mac);
	}
	free(conf->mixbuf);
}

int
cmd_bench(struct cli *cli)
{
	struct bench_conf conf;
	int r;

	if ((r = bench_conf(cli, &conf)) == CLI_EXIT_OK) {
		cli->key = conf.mixed ? NULL : conf.ops[0].key;
		/* Connect first also without --shared: fail early, clearly. */
		r = cli_connect(cli);
	}
	if (r == CLI_EXIT_OK && (r = bench_prepare(cli, &conf)) ==
	    CLI_EXIT_OK) {
		if (!conf.shared) {
			p11b_close(cli->conn);
			cli->conn = NULL;
		}
		cli->key = conf.mixed ? NULL : conf.ops[0].key;
		r = bench_run(cli, &conf);
	}
	bench_conf_free(&conf);
	return r;
}
