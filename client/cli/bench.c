/*
 * p11broker bench: N client threads, each on its own connection or all
 * pipelined on one shared connection, run one operation back to back for
 * a fixed time after a short warm-up.  One result line: ops, ops/s and
 * the p50/p99 latency of single calls.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
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
#define BENCH_HMAC_SIZE		64
#define BENCH_MESSAGE_SIZE	64	/* Ed25519 signs a message */
#define BENCH_MESSAGE_MAX	256

struct bench_conf {
	const char	*opname;	/* ecdsa, rsa, hmac */
	enum p11b_op	 op;		/* sign or hmac */
	const char	*key;
	enum p11b_alg	 alg;
	int		 flags;		/* P11B_SIGN_DIGEST for a digest */
	size_t		 size;
	unsigned int	 clients;
	double		 seconds;
	int		 shared;
	const char	*socket;
	uint8_t		*input;
};

/* What the clients and the timing thread share. */
struct bench_sync {
	pthread_barrier_t	 barrier;	/* all warmed up: go */
	atomic_int		 stop;
	atomic_int		 running;	/* clients still measuring */
};

struct bench_client {
	pthread_t			 thread;
	const struct bench_conf		*conf;
	struct bench_sync		*sync;
	struct p11b_conn		*conn;
	int				 own_conn;
	uint64_t			*lat;	/* nanoseconds */
	size_t				 nlat, caplat;
	unsigned long long		 errors;
	int				 first_error;
	char				 message[BENCH_MESSAGE_MAX];
	struct timespec			 end;
};

struct bench_default {
	const char	*opname;
	enum p11b_op	 op;
	const char	*key;
	enum p11b_alg	 alg;
};

static const struct bench_default bench_defaults[] = {
	{ "ecdsa", P11B_OP_SIGN, "ec256", P11B_ALG_ECDSA_P256_SHA256 },
	{ "rsa", P11B_OP_SIGN, "rsa2048", P11B_ALG_RSA_PKCS1_SHA256 },
	{ "hmac", P11B_OP_HMAC, "hmac32", P11B_ALG_HMAC_SHA256 },
};

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

static int
bench_call(struct bench_client *c)
{
	const struct bench_conf *conf = c->conf;
	uint8_t *out = NULL;
	size_t outlen = 0;
	int r;

	if (conf->op == P11B_OP_SIGN)
		r = p11b_sign(c->conn, conf->key, conf->alg, conf->flags,
		    conf->input, conf->size, &out, &outlen);
	else
		r = p11b_hmac(c->conn, conf->key, conf->alg, conf->input,
		    conf->size, &out, &outlen);
	free(out);
	return r;
}

static void
bench_error(struct bench_client *c, int r)
{
	c->errors++;
	if (c->first_error != 0)
		return;
	c->first_error = r;
	strlcpy(c->message, p11b_last_message(), sizeof(c->message));
}

static int
bench_record(struct bench_client *c, uint64_t ns)
{
	uint64_t *nlat;
	size_t ncap;

	if (c->nlat == c->caplat) {
		ncap = c->caplat == 0 ? 4096 : c->caplat * 2;
		if ((nlat = reallocarray(c->lat, ncap, sizeof(*nlat))) ==
		    NULL)
			return -1;
		c->lat = nlat;
		c->caplat = ncap;
	}
	c->lat[c->nlat++] = ns;
	return 0;
}

/* Until told to stop; a local error (connection lost) ends the client. */
static void
bench_loop(struct bench_client *c)
{
	uint64_t t0;
	int r;

	while (!atomic_load(&c->sync->stop)) {
		t0 = bench_now();
		r = bench_call(c);
		if (r < 0) {
			bench_error(c, r);
			break;
		}
		if (r != P11B_OK)
			bench_error(c, r);
		else if (bench_record(c, bench_now() - t0) == -1) {
			bench_error(c, P11B_ERR_NOMEM);
			break;
		}
	}
}

static void *
bench_client_main(void *arg)
{
	struct bench_client *c = arg;
	int i, r = P11B_OK;

	if (c->own_conn &&
	    (r = p11b_connect(c->conf->socket, &c->conn)) != P11B_OK)
		bench_error(c, r);
	for (i = 0; r == P11B_OK && i < BENCH_WARMUP_OPS; i++)
		if ((r = bench_call(c)) != P11B_OK)
			bench_error(c, r);
	pthread_barrier_wait(&c->sync->barrier);
	if (c->conn != NULL && r >= 0)
		bench_loop(c);
	clock_gettime(CLOCK_MONOTONIC, &c->end);
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

static int
bench_report(struct cli *cli, const struct bench_conf *conf,
    struct bench_client *clients, uint64_t start)
{
	uint64_t *all, end = start;
	unsigned long long errors = 0;
	size_t n = 0, i;
	double secs;
	int first = 0;
	const char *msg = "";

	for (i = 0; i < conf->clients; i++)
		n += clients[i].nlat;
	if ((all = calloc(n > 0 ? n : 1, sizeof(*all))) == NULL) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	for (n = 0, i = 0; i < conf->clients; i++) {
		memcpy(all + n, clients[i].lat, clients[i].nlat * sizeof(*all));
		n += clients[i].nlat;
		errors += clients[i].errors;
		if (bench_ns(&clients[i].end) > end)
			end = bench_ns(&clients[i].end);
		if (first == 0 && clients[i].first_error != 0) {
			first = clients[i].first_error;
			msg = clients[i].message;
		}
	}
	qsort(all, n, sizeof(*all), bench_cmp);
	secs = (double)(end - start) / 1e9;
	printf("op=%s key=%s clients=%u ops=%zu secs=%.2f ops_per_s=%.1f "
	    "p50_us=%.1f p99_us=%.1f errors=%llu\n", conf->opname, conf->key,
	    conf->clients, n, secs, secs > 0 ? (double)n / secs : 0.0,
	    bench_percentile(all, n, 50), bench_percentile(all, n, 99),
	    errors);
	free(all);
	if (first == 0)
		return CLI_EXIT_OK;
	fflush(stdout);
	cli_warnx(cli, "%s (%s)", cli_status_name(first),
	    *msg != '\0' ? msg : p11b_strerror(first));
	return cli_exit_code(first);
}

/* Sleep for the measured time, or until every client has given up. */
static void
bench_wait(struct bench_sync *sync, double seconds)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	uint64_t deadline;

	deadline = bench_now() + (uint64_t)(seconds * 1e9);
	while (bench_now() < deadline && atomic_load(&sync->running) > 0)
		nanosleep(&tick, NULL);
	atomic_store(&sync->stop, 1);
}

static int
bench_start(struct bench_client *clients, const struct bench_conf *conf,
    struct bench_sync *sync, struct p11b_conn *shared)
{
	unsigned int i;

	for (i = 0; i < conf->clients; i++) {
		clients[i].conf = conf;
		clients[i].sync = sync;
		clients[i].conn = shared;
		clients[i].own_conn = shared == NULL;
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
	uint64_t start;
	unsigned int i;
	int r;

	if ((clients = calloc(conf->clients, sizeof(*clients))) == NULL) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	atomic_init(&sync.stop, 0);
	atomic_init(&sync.running, (int)conf->clients);
	pthread_barrier_init(&sync.barrier, NULL, conf->clients + 1);
	if (bench_start(clients, conf, &sync,
	    conf->shared ? cli->conn : NULL) == -1) {
		/* Cannot happen short of resource exhaustion; no cleanup. */
		cli_warnx(cli, "cannot start client threads");
		exit(CLI_EXIT_STATUS + P11B_INTERNAL);
	}
	pthread_barrier_wait(&sync.barrier);
	start = bench_now();
	bench_wait(&sync, conf->seconds);
	for (i = 0; i < conf->clients; i++)
		pthread_join(clients[i].thread, NULL);
	r = bench_report(cli, conf, clients, start);
	for (i = 0; i < conf->clients; i++) {
		if (clients[i].own_conn)
			p11b_close(clients[i].conn);
		free(clients[i].lat);
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

static int
bench_op(struct cli *cli, struct bench_conf *conf)
{
	const char *name = cli->args.op != NULL ? cli->args.op : "ecdsa";
	size_t i;

	for (i = 0; i < sizeof(bench_defaults) / sizeof(bench_defaults[0]);
	    i++) {
		if (strcmp(bench_defaults[i].opname, name) != 0)
			continue;
		conf->opname = bench_defaults[i].opname;
		conf->op = bench_defaults[i].op;
		conf->key = cli->args.key != NULL ? cli->args.key :
		    bench_defaults[i].key;
		return cli_alg(cli, cli->args.alg, bench_defaults[i].alg,
		    &conf->alg);
	}
	return cli_usage(cli, "unknown --op \"%s\" (ecdsa, rsa or hmac)",
	    name);
}

/*
 * Without --size a signature is over a digest of the algorithm's length
 * (a message for Ed25519) and a MAC over 64 bytes; with --size the input
 * is a message of that many bytes.
 */
static int
bench_conf(struct cli *cli, struct bench_conf *conf)
{
	long long v;
	int r;

	memset(conf, 0, sizeof(*conf));
	conf->socket = cli->socket;
	conf->clients = 1;
	conf->seconds = 5.0;
	if ((r = bench_op(cli, conf)) != 0)
		return r;
	if (cli->args.clients != NULL) {
		if ((r = bench_number(cli, "--clients", cli->args.clients, 1,
		    BENCH_CLIENTS_MAX, &v)) != 0)
			return r;
		conf->clients = (unsigned int)v;
	}
	if (cli->args.seconds != NULL &&
	    (r = bench_seconds(cli, cli->args.seconds, &conf->seconds)) != 0)
		return r;
	if (cli->args.size != NULL) {
		if ((r = bench_number(cli, "--size", cli->args.size, 1,
		    CLI_INPUT_MAX, &v)) != 0)
			return r;
		conf->size = (size_t)v;
	} else if (conf->op == P11B_OP_HMAC)
		conf->size = BENCH_HMAC_SIZE;
	else if ((conf->size = p11b_alg_digest_len(conf->alg)) != 0)
		conf->flags = P11B_SIGN_DIGEST;
	else
		conf->size = BENCH_MESSAGE_SIZE;
	conf->shared = cli->args.shared;
	return CLI_EXIT_OK;
}

int
cmd_bench(struct cli *cli)
{
	struct bench_conf conf;
	size_t i;
	int r;

	if ((r = bench_conf(cli, &conf)) != CLI_EXIT_OK)
		return r;
	cli->key = conf.key;
	if ((conf.input = malloc(conf.size)) == NULL) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	for (i = 0; i < conf.size; i++)
		conf.input[i] = (uint8_t)(i * 31 + 7);
	/* Connect first also without --shared: fail early and clearly. */
	if ((r = cli_connect(cli)) == CLI_EXIT_OK) {
		if (!conf.shared) {
			p11b_close(cli->conn);
			cli->conn = NULL;
		}
		r = bench_run(cli, &conf);
	}
	free(conf.input);
	return r;
}
