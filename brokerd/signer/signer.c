/*
 * The signer process: the only process that loads the PKCS#11 module.
 * It logs in once, opens one session per worker, announces its keys on
 * the first link, drops privileges, confines itself (Landlock, seccomp)
 * and then serves: each worker thread reads jobs from its own link,
 * runs them on its session and writes the result back.  It never sees a
 * client, the policy or the socket, and it exits when the front closes
 * its links.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "io.h"
#include "log.h"
#include "sandbox.h"
#include "secret.h"
#include "signer.h"
#include "signer_msg.h"
#include "token.h"

struct sworker {
	pthread_t		 thread;
	struct token		*tok;
	struct token_session	*sess;
	int			 fd;
};

#define INBUF_MIN	4096

/* What a worker has read from its link and not yet served. */
struct inbuf {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
};

/*
 * The next complete job message: one read usually brings the header and
 * the body together (and any jobs queued behind it).  -1: the front hung
 * up.
 */
static int
next_job(struct sworker *wk, struct inbuf *in, struct smsg_hdr *h)
{
	uint8_t *nb;
	size_t need, ncap;
	ssize_t n;

	for (;;) {
		need = SMSG_HDR_LEN;
		if (in->len >= SMSG_HDR_LEN) {
			if (smsg_hdr_decode(in->buf, h) != SMSG_OK ||
			    h->type != SMSG_JOB)
				fatalx("malformed message header from the "
				    "front");
			need += h->len;
			if (in->len >= need)
				return 0;
		}
		if (need > in->cap || in->cap - in->len < INBUF_MIN / 2) {
			ncap = in->cap == 0 ? INBUF_MIN : in->cap;
			while (ncap < need || ncap - in->len < INBUF_MIN / 2)
				ncap *= 2;
			if ((nb = malloc(ncap)) == NULL)
				fatalx("out of memory");
			if (in->len > 0)
				memcpy(nb, in->buf, in->len);
			freezero(in->buf, in->cap);
			in->buf = nb;
			in->cap = ncap;
		}
		n = read(wk->fd, in->buf + in->len, in->cap - in->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		in->len += (size_t)n;
	}
}

/* Drop a served message, wiping its bytes. */
static void
consume(struct inbuf *in, size_t n)
{
	memmove(in->buf, in->buf + n, in->len - n);
	explicit_bzero(in->buf + in->len - n, n);
	in->len -= n;
}

#define OUT_BATCH	(64 * 1024)	/* results held back at most */

/* Results not yet written: sent together while jobs are queued. */
struct outbuf {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
};

static void
outbuf_add(struct outbuf *ob, const uint8_t *p, size_t len)
{
	uint8_t *nb;
	size_t ncap;

	if (ob->len + len > ob->cap) {
		ncap = ob->cap == 0 ? 4096 : ob->cap;
		while (ncap < ob->len + len)
			ncap *= 2;
		if ((nb = malloc(ncap)) == NULL)
			fatalx("out of memory");
		if (ob->len > 0)
			memcpy(nb, ob->buf, ob->len);
		freezero(ob->buf, ob->cap);
		ob->buf = nb;
		ob->cap = ncap;
	}
	memcpy(ob->buf + ob->len, p, len);
	ob->len += len;
}

/* 0, or -1 when the front hung up. */
static int
outbuf_flush(struct sworker *wk, struct outbuf *ob)
{
	int r;

	if (ob->len == 0)
		return 0;
	r = io_write_full(wk->fd, ob->buf, ob->len);
	explicit_bzero(ob->buf, ob->len);
	ob->len = 0;
	return r;
}

/* Another whole job is already read (pipelined behind this one). */
static int
job_waiting(const struct inbuf *in)
{
	struct smsg_hdr h;

	return in->len >= SMSG_HDR_LEN &&
	    smsg_hdr_decode(in->buf, &h) == SMSG_OK &&
	    in->len >= SMSG_HDR_LEN + h.len;
}

/*
 * One job: read, check, run, answer.  While more jobs are queued behind
 * it the answer waits in ob, so that a busy link carries several results
 * per write (and wakes the front once).  0: go on; 1: the front hung up.
 */
static int
serve_one(struct sworker *wk, struct inbuf *in, struct outbuf *ob)
{
	uint8_t *out = NULL;
	struct job_result res;
	struct job job;
	struct smsg_hdr h;
	size_t outlen, nkeys;

	if (next_job(wk, in, &h) != 0)
		return 1;
	(void)token_keyset_info(token_current_keys(wk->tok), &nkeys);
	if (smsg_job_decode(in->buf + SMSG_HDR_LEN, h.len, nkeys, &job) !=
	    SMSG_OK)
		fatalx("malformed job from the front");
	memset(&res, 0, sizeof(res));
	token_execute(wk->sess, &job, &res);
	consume(in, SMSG_HDR_LEN + h.len);
	if (smsg_result_encode(h.id, &res, &out, &outlen) != SMSG_OK)
		fatalx("cannot encode a result");
	job_result_clear(&res);
	outbuf_add(ob, out, outlen);
	freezero(out, outlen);
	if (token_session_faulted(wk->sess)) {
		(void)outbuf_flush(wk, ob);
		log_warnx("the token is unhealthy; starting over (new "
		    "sessions, a new login)");
		_exit(SIGNER_EXIT_RETRY);
	}
	if ((!job_waiting(in) || ob->len >= OUT_BATCH) &&
	    outbuf_flush(wk, ob) != 0)
		return 1;
	return 0;
}

/* Every worker has run its thread start-up before the filter goes on. */
static pthread_barrier_t started;

static void *
worker_main(void *arg)
{
	struct sworker *wk = arg;
	struct inbuf in = { NULL, 0, 0 };
	struct outbuf ob = { NULL, 0, 0 };

	(void)pthread_barrier_wait(&started);
	while (serve_one(wk, &in, &ob) == 0)
		;
	freezero(in.buf, in.cap);
	freezero(ob.buf, ob.cap);
	return NULL;
}

static void
report(int status_fd, const char *msg)
{
	(void)io_write_full(status_fd, (const uint8_t *)msg, strlen(msg));
}

static void __attribute__((noreturn))
fail(int status_fd, int code, const char *msg)
{
	log_warnx("%s", msg);
	report(status_fd, msg);
	_exit(code);
}

static void
send_hello(struct token *tok, int fd, int nworkers, int status_fd)
{
	const struct key_info *keys;
	uint8_t *msg;
	size_t len, nkeys;

	keys = token_keyset_info(token_current_keys(tok), &nkeys);
	if (smsg_hello_encode(token_description(tok), (unsigned int)nworkers,
	    keys, nkeys, &msg, &len) != SMSG_OK)
		fail(status_fd, SIGNER_EXIT_RETRY, "cannot encode the hello");
	if (io_write_full(fd, msg, len) != 0)
		fail(status_fd, SIGNER_EXIT_RETRY, "cannot send the hello");
	free(msg);
}

/* Kept reachable to the end: the signer exits without tearing down. */
static struct sworker *wk;
static struct token *tok;

void
signer_main(const struct config *conf, struct secret *pin, int *links,
    int nlinks, int status_fd)
{
	char err[1024];
	sigset_t none;
	int i, r;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	log_set_name("p11brokerd[signer]");
	(void)prctl(PR_SET_NAME, "p11b-signer", 0, 0, 0);
	if ((wk = calloc(nlinks, sizeof(*wk))) == NULL)
		fail(status_fd, SIGNER_EXIT_RETRY, "out of memory");
	r = token_open(conf, pin, &tok, err, sizeof(err));
	secret_free(pin);		/* wiped: logged in once, for good */
	if (r != 0)
		fail(status_fd, r == TOKEN_ERR_PIN ? SIGNER_EXIT_PIN :
		    SIGNER_EXIT_RETRY, err);
	for (i = 0; i < nlinks; i++) {
		wk[i].tok = tok;
		wk[i].fd = links[i];
		if (token_session_open(tok, &wk[i].sess) != 0)
			fail(status_fd, SIGNER_EXIT_RETRY, "cannot open a "
			    "session for every worker");
	}
	send_hello(tok, links[0], nlinks, status_fd);
	if (crypto_init() != 0)
		fail(status_fd, SIGNER_EXIT_RETRY, "cannot initialise OpenSSL");
	if (sandbox_harden(conf, err, sizeof(err)) != 0 ||
	    sandbox_landlock(conf, err, sizeof(err)) != 0)
		fail(status_fd, SIGNER_EXIT_RETRY, err);
	if (pthread_barrier_init(&started, NULL, (unsigned int)nlinks + 1) !=
	    0)
		fail(status_fd, SIGNER_EXIT_RETRY, "cannot start the worker "
		    "threads");
	for (i = 0; i < nlinks; i++)
		if (pthread_create(&wk[i].thread, NULL, worker_main,
		    &wk[i]) != 0)
			fail(status_fd, SIGNER_EXIT_RETRY, "cannot start the "
			    "worker threads");
	(void)pthread_barrier_wait(&started);
	/* Every thread runs: the filter covers them all (TSYNC). */
	if (sandbox_seccomp(SANDBOX_SIGNER, conf, err, sizeof(err)) != 0)
		fail(status_fd, SIGNER_EXIT_RETRY, err);
	report(status_fd, "ok");
	close(status_fd);
	for (i = 0; i < nlinks; i++)
		pthread_join(wk[i].thread, NULL);
	/*
	 * The front is gone.  Leave without C_Finalize: the module's
	 * teardown is not in the allowlist, and the process ends anyway.
	 */
	_exit(0);
}
