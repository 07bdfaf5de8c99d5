/*
 * Unit tests for libp11broker against a scripted fake broker: a thread in
 * this process that listens on a temporary Unix socket and answers (or
 * misbehaves) as each test needs.  Checks pipelining with out-of-order
 * responses, failure of every waiter when the stream breaks (and which
 * calls are repeated on a new socket), the frame length limit,
 * reassembly of partial frames and argument validation.  A fake serves
 * one connection: a client that reconnects finds nobody listening and
 * gets P11B_ERR_CONNECT at once.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p11broker.h"
#include "wire.h"
#include "tap.h"

#define FAKE_MAX_FRAME		(16 * 1024 * 1024)
#define PIPE_THREADS		8
#define PIPE_REQUESTS		200
#define WAITERS			4
#define BIG_CERT_LEN		(1000 * 1000)

struct fake {
	char		 dir[64];
	char		 path[128];
	int		 lfd;
	int		 fd;
	pthread_t	 thread;
	void		(*script)(struct fake *);
	atomic_int	 nreq;
	int		 reordered;	/* batches answered out of order */
	int		 mode;		/* script-specific */
	double		 closed_at;	/* when the fake hung up */
};

static uint8_t *big_cert;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
read_full(int fd, uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
write_full(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The fake's half of the wire: read one request. */
static int
fake_read(struct fake *f, struct wire_request *req)
{
	uint8_t hdr[WIRE_HDR_LEN], *body;
	long len;
	int r;

	memset(req, 0, sizeof(*req));
	if (read_full(f->fd, hdr, sizeof(hdr)) == -1 ||
	    (len = wire_frame_len(hdr, FAKE_MAX_FRAME)) < 0)
		return -1;
	if ((body = malloc(len)) == NULL)
		return -1;
	if ((r = read_full(f->fd, body, len)) == 0)
		r = wire_request_decode(body, len, req);
	free(body);
	if (r != 0) {
		wire_request_free(req);
		return -1;
	}
	atomic_fetch_add(&f->nreq, 1);
	return 0;
}

/* What the fake signs: the data reversed and XORed, easy to check. */
static void
fake_transform(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = in[len - 1 - i] ^ 0x5a;
}

struct answer {
	struct wire_response	 resp;
	uint8_t			 buf[512];
	char			 msg[128];
	struct p11b_key_info	 keys[2];
};

static void
answer_keys(struct answer *a)
{
	memset(a->keys, 0, sizeof(a->keys));
	strlcpy(a->keys[0].name, "ec256", sizeof(a->keys[0].name));
	a->keys[0].type = P11B_KEY_EC_P256;
	a->keys[0].bits = 256;
	a->keys[0].ops = 1U << P11B_OP_SIGN | 1U << P11B_OP_PUBKEY;
	a->keys[0].algs = 1U << P11B_ALG_ECDSA_P256_SHA256;
	strlcpy(a->keys[1].name, "api-token", sizeof(a->keys[1].name));
	a->keys[1].type = P11B_KEY_SECRET;
	a->keys[1].bits = 256;
	a->keys[1].ops = 1U << P11B_OP_SECRET;
	a->resp.keys = a->keys;
	a->resp.nkeys = 2;
}

static void
answer_data(const struct wire_request *req, struct answer *a)
{
	switch (req->op) {
	case P11B_OP_SIGN:
	case P11B_OP_HMAC:
		fake_transform(req->data, req->datalen, a->buf);
		a->resp.outlen = req->datalen;
		break;
	case P11B_OP_HMAC_VERIFY:
		fake_transform(req->data, req->datalen, a->buf);
		a->resp.valid = req->maclen == req->datalen &&
		    memcmp(req->mac, a->buf, req->datalen) == 0;
		break;
	case P11B_OP_SECRET:
		a->resp.outlen = snprintf((char *)a->buf, sizeof(a->buf),
		    "secret-of-%s", req->key);
		break;
	case P11B_OP_PUBKEY:
		a->resp.outlen = snprintf((char *)a->buf, sizeof(a->buf),
		    "spki-of-%s", req->key);
		if (strcmp(req->key, "bigcert") == 0) {
			a->resp.cert = big_cert;
			a->resp.certlen = BIG_CERT_LEN;
		}
		break;
	case P11B_OP_RANDOM:
		memset(a->buf, 0x42, req->random_len);
		a->resp.outlen = req->random_len;
		break;
	case P11B_OP_LIST:
		answer_keys(a);
		break;
	case P11B_OP_HEALTH:
		strlcpy(a->resp.health.version, "1.2.3",
		    sizeof(a->resp.health.version));
		a->resp.health.token_ready = 1;
		a->resp.health.uptime_seconds = 42;
		a->resp.health.workers = 4;
		break;
	case P11B_OP_STATS:
		a->resp.stats.workers = 4;
		a->resp.stats.policy_generation = 7;
		break;
	case P11B_OP_GENERATE:		/* not faked */
	case P11B_OP_NONE:
		break;
	}
}

/* The canned answer; keys named deny-* are refused with their name. */
static void
fake_answer(const struct wire_request *req, struct answer *a)
{
	memset(&a->resp, 0, sizeof(a->resp));
	a->resp.id = req->id;
	a->resp.message = "";
	if (strncmp(req->key, "deny-", 5) == 0) {
		snprintf(a->msg, sizeof(a->msg), "not permitted: %s",
		    req->key);
		a->resp.status = P11B_DENIED;
		a->resp.message = a->msg;
		return;
	}
	if (req->datalen > sizeof(a->buf) || req->random_len > sizeof(a->buf)) {
		a->resp.status = P11B_TOO_LARGE;
		return;
	}
	a->resp.status = P11B_OK;
	a->resp.op = req->op;
	a->resp.out = a->buf;
	answer_data(req, a);
}

static int
fake_encode(const struct wire_request *req, uint8_t **framep, size_t *lenp)
{
	struct answer a;

	fake_answer(req, &a);
	return wire_response_encode(&a.resp, framep, lenp);
}

/* Read, answer, repeat until the client hangs up. */
static void
script_serve(struct fake *f)
{
	struct wire_request req;
	uint8_t *frame;
	size_t len;

	while (fake_read(f, &req) == 0) {
		if (fake_encode(&req, &frame, &len) == 0) {
			write_full(f->fd, frame, len);
			free(frame);
		}
		wire_request_free(&req);
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;

	if ((f->fd = accept(f->lfd, NULL, NULL)) == -1)
		return NULL;
	close(f->lfd);
	f->lfd = -1;
	f->script(f);
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	return NULL;
}

static int
fake_start(struct fake *f, void (*script)(struct fake *), int mode)
{
	struct sockaddr_un sun;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->script = script;
	f->mode = mode;
	strlcpy(f->dir, "/tmp/test_client.XXXXXX", sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, f->path, sizeof(sun.sun_path));
	if ((f->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(f->lfd, 4) == -1)
		return -1;
	return pthread_create(&f->thread, NULL, fake_main, f) == 0 ? 0 : -1;
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	if (f->lfd != -1)
		close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
}

/* Connect a client to a fresh fake running script. */
static struct p11b_conn *
start(struct fake *f, void (*script)(struct fake *), int mode)
{
	struct p11b_conn *conn = NULL;

	if (fake_start(f, script, mode) == -1 ||
	    p11b_connect(f->path, &conn) != P11B_OK) {
		printf("Bail out! cannot start the fake broker\n");
		exit(1);
	}
	return conn;
}

static void
test_ops(void)
{
	struct fake f;
	struct p11b_conn *conn = NULL;
	struct p11b_key_info *keys = NULL;
	struct p11b_health h;
	uint8_t msg[] = "hello", want[5], *out = NULL, *cert = NULL;
	size_t len = 0, certlen = 0, nkeys = 0;
	int valid = -1;

	fake_start(&f, script_serve, 0);
	setenv("P11BROKER_SOCKET", f.path, 1);
	is_int(p11b_connect(NULL, &conn), P11B_OK,
	    "connect via $P11BROKER_SOCKET");
	unsetenv("P11BROKER_SOCKET");
	if (conn == NULL) {
		printf("Bail out! no connection\n");
		exit(1);
	}
	fake_transform(msg, 5, want);
	is_int(p11b_sign(conn, "ec256", P11B_ALG_ECDSA_P256_SHA256, 0, msg, 5,
	    &out, &len), P11B_OK, "sign");
	is_mem(out, len, want, 5, "sign: the broker's signature");
	free(out);
	is_int(p11b_hmac(conn, "mac", P11B_ALG_HMAC_SHA256, msg, 5, &out,
	    &len), P11B_OK, "hmac");
	is_mem(out, len, want, 5, "hmac: the broker's MAC");
	free(out);
	is_int(p11b_hmac_verify(conn, "mac", P11B_ALG_HMAC_SHA256, msg, 5,
	    want, 5, &valid), P11B_OK, "hmac-verify");
	is_int(valid, 1, "hmac-verify: valid");
	is_int(p11b_hmac_verify(conn, "mac", P11B_ALG_HMAC_SHA256, msg, 5,
	    msg, 5, &valid), P11B_OK, "hmac-verify, wrong MAC");
	is_int(valid, 0, "hmac-verify: invalid");
	is_int(p11b_get_secret(conn, "api-token", &out, &len), P11B_OK,
	    "get-secret");
	is_mem(out, len, "secret-of-api-token", 19, "get-secret: bytes");
	p11b_free_secret(out, len);
	p11b_free_secret(NULL, 0);
	is_int(p11b_get_public_key(conn, "ec256", &out, &len, &cert,
	    &certlen), P11B_OK, "get-public-key");
	is_mem(out, len, "spki-of-ec256", 13, "get-public-key: SPKI");
	ok(cert == NULL && certlen == 0, "get-public-key: no certificate");
	free(out);
	is_int(p11b_random(conn, 16, &out), P11B_OK, "random");
	ok(out != NULL && out[0] == 0x42 && out[15] == 0x42, "random: bytes");
	free(out);
	is_int(p11b_list_keys(conn, &keys, &nkeys), P11B_OK, "list");
	is_int(nkeys, 2, "list: two keys");
	if (nkeys == 2) {
		is_str(keys[0].name, "ec256", "list: first name");
		is_int(keys[0].ops, 1U << P11B_OP_SIGN | 1U << P11B_OP_PUBKEY,
		    "list: first ops");
		is_int(keys[1].type, P11B_KEY_SECRET, "list: second type");
	}
	free(keys);
	is_int(p11b_health(conn, &h), P11B_OK, "health");
	ok(strcmp(h.version, "1.2.3") == 0 && h.token_ready &&
	    h.uptime_seconds == 42 && h.workers == 4, "health: fields");
	is_int(p11b_sign(conn, "deny-me", P11B_ALG_ECDSA_P256_SHA256, 0, msg,
	    5, &out, &len), P11B_DENIED, "denied status");
	ok(out == NULL && len == 0, "denied: no output");
	is_str(p11b_last_message(), "not permitted: deny-me",
	    "denied: the broker's message");
	p11b_close(conn);
	fake_stop(&f);
}

static void
test_big_frame(void)
{
	struct fake f;
	struct p11b_conn *conn;
	uint8_t *spki = NULL, *cert = NULL;
	size_t spkilen = 0, certlen = 0, i;

	if ((big_cert = malloc(BIG_CERT_LEN)) == NULL)
		exit(1);
	for (i = 0; i < BIG_CERT_LEN; i++)
		big_cert[i] = (uint8_t)(i * 7);
	conn = start(&f, script_serve, 0);
	is_int(p11b_get_public_key(conn, "bigcert", &spki, &spkilen, &cert,
	    &certlen), P11B_OK, "a response of about 1 MB");
	is_mem(cert, certlen, big_cert, BIG_CERT_LEN, "the large "
	    "certificate arrives whole");
	free(spki);
	free(cert);
	is_int(p11b_health(conn, &(struct p11b_health){ 0 }), P11B_OK,
	    "the stream is in step after a large frame");
	p11b_close(conn);
	fake_stop(&f);
	free(big_cert);
	big_cert = NULL;
}

/* Does another frame start within 20 ms? */
static int
fake_more(struct fake *f)
{
	struct pollfd pfd = { f->fd, POLLIN, 0 };

	return poll(&pfd, 1, 20) == 1;
}

static int
pipe_write_batch(struct fake *f, uint8_t **frames, size_t *lens, int n)
{
	uint8_t *all;
	size_t total = 0, off = 0;
	int i, r = 0;

	/* Odd batches go out in one write, even ones frame by frame. */
	if (f->reordered % 2 == 0) {
		for (i = n - 1; i >= 0 && r == 0; i--)
			r = write_full(f->fd, frames[i], lens[i]);
		return r;
	}
	for (i = 0; i < n; i++)
		total += lens[i];
	if ((all = malloc(total)) == NULL)
		return -1;
	for (i = n - 1; i >= 0; i--) {
		memcpy(all + off, frames[i], lens[i]);
		off += lens[i];
	}
	r = write_full(f->fd, all, total);
	free(all);
	return r;
}

/* Collect up to PIPE_THREADS requests, answer them in reverse order. */
static void
script_reverse(struct fake *f)
{
	struct wire_request req;
	uint8_t *frames[PIPE_THREADS];
	size_t lens[PIPE_THREADS];
	int n, i, r = 0;

	while (r == 0) {
		for (n = 0; n < PIPE_THREADS; n++) {
			if ((n > 0 && !fake_more(f)) ||
			    fake_read(f, &req) == -1)
				break;
			r = fake_encode(&req, &frames[n], &lens[n]);
			wire_request_free(&req);
			if (r != 0)
				break;
		}
		if (n == 0)
			break;
		if (n > 1)
			f->reordered++;
		r = pipe_write_batch(f, frames, lens, n);
		for (i = 0; i < n; i++)
			free(frames[i]);
	}
}

struct pipe_client {
	pthread_t		 thread;
	struct p11b_conn	*conn;
	int			 index;
	int			 ok;		/* right answers */
	int			 wrong;
};

static void *
pipe_client_main(void *arg)
{
	struct pipe_client *c = arg;
	uint8_t data[64], want[64], *sig;
	size_t len, siglen;
	int i, r;

	for (i = 0; i < PIPE_REQUESTS; i++) {
		len = (size_t)snprintf((char *)data, sizeof(data),
		    "thread %d request %d", c->index, i);
		fake_transform(data, len, want);
		r = p11b_sign(c->conn, "ec256", P11B_ALG_ED25519, 0, data,
		    len, &sig, &siglen);
		if (r == P11B_OK && siglen == len &&
		    memcmp(sig, want, len) == 0)
			c->ok++;
		else
			c->wrong++;
		free(sig);
	}
	return NULL;
}

static void
test_pipeline(void)
{
	struct fake f;
	struct pipe_client c[PIPE_THREADS];
	struct p11b_conn *conn;
	int i, right = 0, wrong = 0;

	conn = start(&f, script_reverse, 0);
	for (i = 0; i < PIPE_THREADS; i++) {
		c[i] = (struct pipe_client){ .conn = conn, .index = i };
		pthread_create(&c[i].thread, NULL, pipe_client_main, &c[i]);
	}
	for (i = 0; i < PIPE_THREADS; i++) {
		pthread_join(c[i].thread, NULL);
		right += c[i].ok;
		wrong += c[i].wrong;
	}
	p11b_close(conn);
	fake_stop(&f);
	is_int(right, PIPE_THREADS * PIPE_REQUESTS, "pipelined: every "
	    "thread got its own answers");
	is_int(wrong, 0, "pipelined: no wrong answer");
	is_int(atomic_load(&f.nreq), PIPE_THREADS * PIPE_REQUESTS,
	    "pipelined: one request per call");
	ok(f.reordered > PIPE_REQUESTS / 4, "pipelined: %d batches came "
	    "back in reverse order", f.reordered);
}

/* Take WAITERS requests, answer f->mode of them, then hang up. */
static void
script_hangup(struct fake *f)
{
	struct wire_request req[WAITERS];
	uint8_t *frame;
	size_t len;
	int i, n;

	for (n = 0; n < WAITERS; n++)
		if (fake_read(f, &req[n]) == -1)
			break;
	for (i = 0; i < n; i++) {
		if (i < f->mode && fake_encode(&req[i], &frame, &len) == 0) {
			write_full(f->fd, frame, len);
			free(frame);
		}
		wire_request_free(&req[i]);
	}
	msleep(100);
	f->closed_at = now();
	close(f->fd);
	f->fd = -1;
}

struct wait_client {
	pthread_t		 thread;
	struct p11b_conn	*conn;
	int			 secret;	/* get-secret, not random */
	int			 rc;
	int			 too_large_said;	/* in the message */
	double			 returned;
};

static void *
wait_client_main(void *arg)
{
	struct wait_client *c = arg;
	uint8_t *out = NULL;
	size_t len = 0;

	if (c->secret)
		c->rc = p11b_get_secret(c->conn, "api-token", &out, &len);
	else
		c->rc = p11b_random(c->conn, 8, &out);
	c->returned = now();
	c->too_large_said = strstr(p11b_last_message(), "too-large") != NULL;
	free(out);
	return NULL;
}

/*
 * The broker answers some requests and hangs up on the rest.  Random
 * requests it hung up on are repeated on a new socket: with nobody
 * listening any more they fail with P11B_ERR_CONNECT.  A secret it may
 * have read is not asked for twice: P11B_ERR_IO.
 */
static void
test_hangup(int answered, int secret)
{
	struct fake f;
	struct wait_client c[WAITERS];
	struct p11b_conn *conn;
	uint8_t *out = NULL;
	double t, slowest = 0;
	int i, nok = 0, nfail = 0, want = secret ? P11B_ERR_IO :
	    P11B_ERR_CONNECT;

	conn = start(&f, script_hangup, answered);
	for (i = 0; i < WAITERS; i++) {
		c[i] = (struct wait_client){ .conn = conn, .secret = secret };
		pthread_create(&c[i].thread, NULL, wait_client_main, &c[i]);
	}
	for (i = 0; i < WAITERS; i++)
		pthread_join(c[i].thread, NULL);
	fake_stop(&f);
	for (i = 0; i < WAITERS; i++) {
		if (c[i].rc == P11B_OK)
			nok++;
		else if (c[i].rc == want) {
			nfail++;
			if (c[i].returned - f.closed_at > slowest)
				slowest = c[i].returned - f.closed_at;
		}
	}
	is_int(nok, answered, "hang-up after %d answers: those succeed",
	    answered);
	is_int(nfail, WAITERS - answered, "hang-up: every other %s waiter "
	    "gets %s", secret ? "get-secret" : "random", p11b_strerror(want));
	ok(slowest < 1.0, "hang-up: waiters return within 1 s (%.3f s)",
	    slowest);
	t = now();
	is_int(p11b_random(conn, 8, &out), P11B_ERR_CONNECT, "hang-up: a "
	    "later call tries a new socket, and finds no broker");
	ok(now() - t < 0.1, "hang-up: ... at once");
	ok(out == NULL, "hang-up: no output");
	p11b_close(conn);
}

/*
 * A broker that never answers: mode 0 reads (and drops) every request,
 * mode 1 reads nothing; both until the client hangs up.
 */
static void
script_silent(struct fake *f)
{
	struct wire_request req;
	struct pollfd pfd = { f->fd, POLLRDHUP, 0 };

	if (f->mode == 0) {
		while (fake_read(f, &req) == 0)
			wire_request_free(&req);
		return;
	}
	while (poll(&pfd, 1, -1) == 1 && !(pfd.revents &
	    (POLLRDHUP | POLLHUP | POLLERR)))
		;
}

static void
test_timeout(void)
{
	struct fake f;
	struct wait_client c[WAITERS];
	struct p11b_conn *conn;
	uint8_t *out = NULL, *big, *sig = NULL;
	size_t siglen = 0;
	int i, ntimeout = 0;

	/* One call, the timeout from the environment. */
	setenv("P11BROKER_TIMEOUT", "0.2", 1);
	conn = start(&f, script_silent, 0);
	unsetenv("P11BROKER_TIMEOUT");
	is_int(p11b_random(conn, 8, &out), P11B_ERR_TIMEOUT,
	    "silent broker: the call times out ($P11BROKER_TIMEOUT)");
	ok(strstr(p11b_last_message(), "no answer from the broker within "
	    "0.200 s") != NULL, "timeout: the message says so (%s)",
	    p11b_last_message());
	ok(out == NULL, "timeout: no output");
	is_int(p11b_random(conn, 8, &out), P11B_ERR_CONNECT,
	    "timeout: the next call tries a new socket (none here)");
	is_int(P11B_ERR_TIMEOUT, -6, "P11B_ERR_TIMEOUT is -6");
	ok(strcmp(p11b_status_name(P11B_ERR_TIMEOUT), "timeout") == 0,
	    "status name: timeout");
	p11b_close(conn);
	fake_stop(&f);

	/* Several waiters: the leader and the others all time out. */
	conn = start(&f, script_silent, 0);
	p11b_set_timeout(conn, 200);
	for (i = 0; i < WAITERS; i++) {
		c[i] = (struct wait_client){ .conn = conn };
		pthread_create(&c[i].thread, NULL, wait_client_main, &c[i]);
	}
	for (i = 0; i < WAITERS; i++) {
		pthread_join(c[i].thread, NULL);
		ntimeout += c[i].rc == P11B_ERR_TIMEOUT;
	}
	is_int(ntimeout, WAITERS, "silent broker: every waiter times out");
	p11b_close(conn);
	fake_stop(&f);

	/* A broker that reads nothing: the write gives up. */
	conn = start(&f, script_silent, 1);
	p11b_set_timeout(conn, 200);
	if ((big = calloc(1, 4 * 1024 * 1024)) == NULL)
		exit(1);
	is_int(p11b_sign(conn, "k", P11B_ALG_ED25519, 0, big, 4 * 1024 * 1024,
	    &sig, &siglen), P11B_ERR_TIMEOUT,
	    "broker not reading: the write times out");
	ok(strstr(p11b_last_message(), "did not read our request") != NULL,
	    "write timeout: the message says so (%s)", p11b_last_message());
	free(big);
	p11b_close(conn);
	fake_stop(&f);
}

enum bad_reply {
	BAD_OVER_LIMIT,
	BAD_EMPTY,
	BAD_GARBAGE,
	BAD_UNKNOWN_ID,
	BAD_NO_STATUS,
};

static void
bad_reply(struct fake *f, const struct wire_request *req)
{
	struct wire_response resp = { .status = P11B_TOO_LARGE,
	    .message = "frame too large" };
	uint8_t hdr[WIRE_HDR_LEN], garbage[8], *frame;
	size_t len;

	switch (f->mode) {
	case BAD_OVER_LIMIT:
	case BAD_EMPTY:
		wire_put_len(hdr, f->mode == BAD_EMPTY ? 0 :
		    WIRE_CLIENT_MAX_FRAME + 1);
		write_full(f->fd, hdr, sizeof(hdr));
		return;
	case BAD_GARBAGE:
		memset(garbage, 0xff, sizeof(garbage));
		wire_put_len(hdr, sizeof(garbage));
		write_full(f->fd, hdr, sizeof(hdr));
		write_full(f->fd, garbage, sizeof(garbage));
		return;
	case BAD_NO_STATUS:
		/* A status-less response: the field's zero value. */
		wire_put_len(hdr, 2);
		write_full(f->fd, hdr, sizeof(hdr));
		write_full(f->fd, (const uint8_t *)"\x08\x01", 2);
		return;
	}
	resp.id = req->id + 1000;
	if (wire_response_encode(&resp, &frame, &len) == 0) {
		write_full(f->fd, frame, len);
		free(frame);
	}
}

/* Answer the first request badly, then wait for the client to go. */
static void
script_bad(struct fake *f)
{
	struct wire_request req;
	uint8_t c;

	if (fake_read(f, &req) == -1)
		return;
	bad_reply(f, &req);
	wire_request_free(&req);
	/* No body follows: a client waiting for one would hang here. */
	while (read(f->fd, &c, 1) > 0)
		;
}

static void
test_bad_response(int mode, const char *what)
{
	struct fake f;
	struct p11b_conn *conn;
	struct p11b_health h;

	conn = start(&f, script_bad, mode);
	is_int(p11b_health(conn, &h), P11B_ERR_PROTOCOL, "%s: protocol "
	    "error", what);
	is_int(p11b_health(conn, &h), P11B_ERR_CONNECT, "%s: connection "
	    "failed, the next call tries a new socket", what);
	fake_stop(&f);
	p11b_close(conn);
}

/*
 * Like the broker with a frame it cannot read: read f->mode whole
 * requests (0: only the first header), answer with id 0 and hang up.
 */
static void
script_refuse(struct fake *f)
{
	struct wire_request req;
	struct wire_response resp = { .status = P11B_TOO_LARGE,
	    .message = "frame over the size limit" };
	uint8_t hdr[WIRE_HDR_LEN], *frame;
	size_t len;
	int i;

	if (f->mode == 0 && read_full(f->fd, hdr, sizeof(hdr)) == -1)
		return;
	for (i = 0; i < f->mode; i++) {
		if (fake_read(f, &req) == -1)
			return;
		wire_request_free(&req);
	}
	if (wire_response_encode(&resp, &frame, &len) == 0) {
		write_full(f->fd, frame, len);
		free(frame);
	}
}

static void
test_refused_one(void)
{
	struct fake f;
	struct p11b_conn *conn;
	struct p11b_health h;

	conn = start(&f, script_refuse, 1);
	is_int(p11b_health(conn, &h), P11B_TOO_LARGE, "id 0 with one "
	    "request outstanding: the broker's status is its answer");
	is_str(p11b_last_message(), "frame over the size limit",
	    "... with the broker's message");
	is_int(p11b_health(conn, &h), P11B_ERR_CONNECT, "... and the "
	    "connection has failed: the next call tries a new socket");
	fake_stop(&f);
	p11b_close(conn);
}

static void
test_refused_many(void)
{
	struct fake f;
	struct wait_client c[2];
	struct p11b_conn *conn;
	int i;

	conn = start(&f, script_refuse, 2);
	for (i = 0; i < 2; i++) {
		c[i] = (struct wait_client){ .conn = conn };
		pthread_create(&c[i].thread, NULL, wait_client_main, &c[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(c[i].thread, NULL);
	fake_stop(&f);
	ok(c[0].rc == P11B_ERR_PROTOCOL && c[1].rc == P11B_ERR_PROTOCOL,
	    "id 0 with two requests outstanding: both get a protocol error");
	ok(c[0].too_large_said && c[1].too_large_said,
	    "... and the broker's status in the message");
	p11b_close(conn);
}

/* The broker answers after the header; the rest of the write fails. */
static void
test_refused_big_write(void)
{
	struct fake f;
	struct p11b_conn *conn;
	uint8_t *data, *out = NULL;
	size_t len = 0, datalen = 4 * 1024 * 1024;

	if ((data = calloc(1, datalen)) == NULL)
		exit(1);
	conn = start(&f, script_refuse, 0);
	is_int(p11b_sign(conn, "k", P11B_ALG_ED25519, 0, data, datalen, &out,
	    &len), P11B_TOO_LARGE, "a write cut short by the broker's "
	    "hang-up still gets the broker's answer");
	fake_stop(&f);
	p11b_close(conn);
	free(data);
}

/* Answer a health request with a list result. */
static void
script_wrong_kind(struct fake *f)
{
	struct wire_request req;
	struct answer a;
	uint8_t *frame;
	size_t len;

	while (fake_read(f, &req) == 0) {
		fake_answer(&req, &a);
		if (a.resp.op == P11B_OP_HEALTH && f->mode++ == 0) {
			a.resp.op = P11B_OP_RANDOM;
			memset(a.buf, 0x42, 3);
			a.resp.outlen = 3;
		}
		if (wire_response_encode(&a.resp, &frame, &len) == 0) {
			write_full(f->fd, frame, len);
			free(frame);
		}
		wire_request_free(&req);
	}
}

static void
test_wrong_kind(void)
{
	struct fake f;
	struct p11b_conn *conn;
	struct p11b_health h;

	conn = start(&f, script_wrong_kind, 0);
	is_int(p11b_health(conn, &h), P11B_ERR_PROTOCOL, "a result of the "
	    "wrong kind is a protocol error");
	is_int(p11b_health(conn, &h), P11B_OK, "... and the stream stays "
	    "usable");
	p11b_close(conn);
	fake_stop(&f);
}

/* Serve, but write every response one byte at a time. */
static void
script_trickle(struct fake *f)
{
	struct wire_request req;
	uint8_t *frame;
	size_t len, i;

	while (fake_read(f, &req) == 0) {
		if (fake_encode(&req, &frame, &len) == 0) {
			for (i = 0; i < len; i++) {
				write_full(f->fd, frame + i, 1);
				msleep(1);
			}
			free(frame);
		}
		wire_request_free(&req);
	}
}

static void
test_partial(void)
{
	struct fake f;
	struct p11b_conn *conn;
	struct p11b_key_info *keys = NULL;
	uint8_t *out = NULL;
	size_t nkeys = 0;

	conn = start(&f, script_trickle, 0);
	is_int(p11b_list_keys(conn, &keys, &nkeys), P11B_OK, "a response "
	    "written byte by byte");
	ok(nkeys == 2 && strcmp(keys[1].name, "api-token") == 0,
	    "... is reassembled");
	free(keys);
	is_int(p11b_random(conn, 100, &out), P11B_OK, "a second one");
	ok(out != NULL && out[99] == 0x42, "... arrives whole too");
	free(out);
	p11b_close(conn);
	fake_stop(&f);
}

static void
test_invalid(void)
{
	struct fake f;
	struct p11b_conn *conn;
	struct p11b_health h;
	char longname[P11B_KEY_NAME_MAX + 2];
	uint8_t d[32] = { 0 }, *out = NULL;
	size_t len;
	int valid;

	memset(longname, 'k', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	conn = start(&f, script_serve, 0);
	is_int(p11b_sign(conn, "bad key", P11B_ALG_ED25519, 0, d, 4, &out,
	    &len), P11B_ERR_INVALID, "key name with a space");
	is_str(p11b_last_message(), "invalid key name", "... says why");
	is_int(p11b_sign(conn, "", P11B_ALG_ED25519, 0, d, 4, &out, &len),
	    P11B_ERR_INVALID, "empty key name");
	is_int(p11b_hmac(conn, NULL, P11B_ALG_HMAC_SHA256, d, 4, &out, &len),
	    P11B_ERR_INVALID, "NULL key name");
	is_int(p11b_get_secret(conn, longname, &out, &len), P11B_ERR_INVALID,
	    "key name of %d bytes", P11B_KEY_NAME_MAX + 1);
	is_int(p11b_get_public_key(conn, "k/../x", &out, &len, NULL, NULL),
	    P11B_ERR_INVALID, "key name with a slash");
	is_int(p11b_sign(conn, "k", P11B_ALG_NONE, 0, d, 4, &out, &len),
	    P11B_ERR_INVALID, "no algorithm");
	is_int(p11b_sign(conn, "k", (enum p11b_alg)99, 0, d, 4, &out, &len),
	    P11B_ERR_INVALID, "algorithm out of range");
	is_int(p11b_sign(conn, "k", P11B_ALG_ECDSA_P256_SHA256,
	    P11B_SIGN_DIGEST, d, 31, &out, &len), P11B_ERR_INVALID,
	    "P-256 digest of 31 bytes");
	is_int(p11b_sign(conn, "k", P11B_ALG_RSA_PSS_SHA384, P11B_SIGN_DIGEST,
	    d, 32, &out, &len), P11B_ERR_INVALID, "SHA-384 digest of 32 bytes");
	is_int(p11b_sign(conn, "k", P11B_ALG_ED25519, 0x80, d, 4, &out, &len),
	    P11B_ERR_INVALID, "unknown sign flag");
	is_int(p11b_hmac(conn, "k", P11B_ALG_HMAC_SHA256, NULL, 4, &out,
	    &len), P11B_ERR_INVALID, "NULL input with a length");
	is_int(p11b_hmac_verify(conn, "k", P11B_ALG_HMAC_SHA256, d, 4, NULL,
	    4, &valid), P11B_ERR_INVALID, "NULL MAC with a length");
	is_int(p11b_random(conn, 0, &out), P11B_ERR_INVALID, "random 0");
	is_int(p11b_random(conn, P11B_RANDOM_MAX + 1, &out), P11B_ERR_INVALID,
	    "random %d", P11B_RANDOM_MAX + 1);
	is_int(p11b_health(NULL, &h), P11B_ERR_INVALID, "no connection");
	ok(out == NULL, "no output after invalid calls");
	is_int(p11b_health(conn, &h), P11B_OK, "a valid call afterwards");
	is_int(atomic_load(&f.nreq), 1, "only the valid call was sent");
	p11b_close(conn);
	fake_stop(&f);
}

/* Hang up at once: the client's write must fail without SIGPIPE. */
static void
script_close(struct fake *f)
{
	close(f->fd);
	f->fd = -1;
}

static void
test_sigpipe(void)
{
	struct fake f;
	struct p11b_conn *conn;
	uint8_t *data, *out = NULL;
	/* One whole request (a longer input would go as a stream). */
	size_t len = 0, datalen = 32 * 1024;
	int r;

	if ((data = calloc(1, datalen)) == NULL)
		exit(1);
	conn = start(&f, script_close, 0);
	fake_stop(&f);
	r = p11b_sign(conn, "k", P11B_ALG_ED25519, 0, data, datalen, &out,
	    &len);
	ok(r == P11B_ERR_CONNECT, "write to a closed broker: no SIGPIPE, and "
	    "the request that never left is tried on a new socket: "
	    "P11B_ERR_CONNECT (%s)", p11b_status_name(r));
	p11b_close(conn);
	free(data);
}

static void
test_connect(void)
{
	struct p11b_conn *conn = NULL;
	char path[200];

	is_int(p11b_connect("/nonexistent/p11broker.sock", &conn),
	    P11B_ERR_CONNECT, "connect to a missing socket");
	ok(conn == NULL, "... leaves no connection");
	ok(strstr(p11b_last_message(), "/nonexistent/p11broker.sock") != NULL,
	    "... and names the socket");
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	is_int(p11b_connect(path, &conn), P11B_ERR_CONNECT,
	    "connect to a path too long for sun_path");
	is_int(p11b_connect("/tmp", NULL), P11B_ERR_INVALID,
	    "connect without a result pointer");
	p11b_close(NULL);
}

/*
 * p11b_last_message() is about the last call: set by a failure, empty
 * after a success.  A child after fork() is refused the parent's
 * connection, and nothing of it is touched (the parent's calls go on).
 */
static void
test_last_message_fork(void)
{
	struct fake f;
	struct p11b_conn *conn;
	struct p11b_health h;
	uint8_t *out = NULL, msg[] = "m";
	size_t len = 0;
	pid_t pid;
	int status = -1;

	conn = start(&f, script_serve, 0);
	is_int(p11b_sign(conn, "deny-me", P11B_ALG_ED25519, 0, msg, 1, &out,
	    &len), P11B_DENIED, "a refused call");
	ok(p11b_last_message()[0] != '\0', "... sets the last message (%s)",
	    p11b_last_message());
	is_int(p11b_health(conn, &h), P11B_OK, "a call that succeeds");
	is_str(p11b_last_message(), "", "... clears it");
	is_int(p11b_random(conn, 0, &out), P11B_ERR_INVALID, "a bad argument");
	ok(p11b_last_message()[0] != '\0', "... sets it");
	is_int(p11b_health(conn, &h), P11B_OK, "and a success");
	is_str(p11b_last_message(), "", "... clears it again");
	fflush(stdout);
	if ((pid = fork()) == 0) {
		/* Exit status: 0 refused as it should be. */
		_exit(p11b_health(conn, &h) == P11B_ERR_INVALID &&
		    strstr(p11b_last_message(), "fork") != NULL ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a forked child is refused the parent's connection");
	is_int(p11b_health(conn, &h), P11B_OK, "the parent's goes on");
	p11b_close(conn);
	fake_stop(&f);
}

static void
test_names(void)
{
	is_str(p11b_status_name(P11B_DENIED), "denied", "status name");
	is_str(p11b_status_name(P11B_ERR_IO), "connection-lost",
	    "local error name");
	is_int(p11b_alg_from_name("ecdsa-p384-sha384"),
	    P11B_ALG_ECDSA_P384_SHA384, "algorithm by name");
}

int
main(void)
{
	/* A deadlock fails the test instead of hanging the suite. */
	alarm(120);
	test_connect();
	test_names();
	test_ops();
	test_big_frame();
	test_invalid();
	test_pipeline();
	test_hangup(0, 0);
	test_hangup(2, 0);
	test_hangup(0, 1);
	test_hangup(2, 1);
	test_timeout();
	test_bad_response(BAD_OVER_LIMIT, "response length over the limit");
	test_bad_response(BAD_EMPTY, "zero-length response");
	test_bad_response(BAD_GARBAGE, "undecodable response");
	test_bad_response(BAD_NO_STATUS, "response without a status");
	test_refused_one();
	test_refused_many();
	test_refused_big_write();
	test_bad_response(BAD_UNKNOWN_ID, "response to an unknown id");
	test_wrong_kind();
	test_partial();
	test_sigpipe();
	test_last_message_fork();
	return tap_done();
}
