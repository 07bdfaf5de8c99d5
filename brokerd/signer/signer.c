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

#include "buf.h"
#include "crypto.h"
#include "ctl.h"
#include "io.h"
#include "log.h"
#include "sandbox_conf.h"
#include "secret.h"
#include "signer.h"
#include "signer_msg.h"
#include "token.h"
#include "token_conf.h"

struct sworker {
	pthread_t		 thread;
	struct token		*tok;
	struct token_session	*sess;
	int			 fd;
};

#define READ_ROOM	2048	/* room for each read, at least */

/*
 * The next complete job message, at the start of in: one read usually
 * brings the header and the body together (and any jobs queued behind
 * it).  -1: the front hung up.
 */
static int
next_job(struct sworker *wk, struct buf *in, struct smsg_hdr *h)
{
	size_t room;
	long need;
	ssize_t n;

	for (;;) {
		need = buf_frame_need(in, 0, SMSG_HDR_LEN, smsg_body_len, h);
		if (need < 0 || (in->len >= SMSG_HDR_LEN &&
		    h->type != SMSG_JOB && h->type != SMSG_BATCH_JOB &&
		    h->type != SMSG_JOB_LABEL && h->type != SMSG_GENERATE))
			fatalx("malformed message header from the front");
		if (in->len >= (size_t)need)
			return 0;
		room = (size_t)need - in->len;
		if (buf_reserve(in, room > READ_ROOM ? room : READ_ROOM) != 0)
			fatalx("out of memory");
		n = read(wk->fd, in->p + in->len, in->cap - in->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		in->len += (size_t)n;
	}
}

#define OUT_BATCH	(64 * 1024)	/* results held back at most */

/* Results not yet written (ob): 0, or -1 when the front hung up. */
static int
outbuf_flush(struct sworker *wk, struct buf *ob)
{
	int r;

	if (ob->len == 0)
		return 0;
	r = io_write_full(wk->fd, ob->p, ob->len);
	buf_consume(ob, ob->len);
	return r;
}

/* Another whole job is already read (pipelined behind this one). */
static int
job_waiting(const struct buf *in)
{
	struct smsg_hdr h;

	return in->len >= SMSG_HDR_LEN &&
	    smsg_hdr_decode(in->p, &h) == SMSG_OK &&
	    in->len >= SMSG_HDR_LEN + h.len;
}

/* A new keyspace key, answered to the front as a one-key hello body. */
static void
generate(struct sworker *wk, const struct job *job, struct job_result *res)
{
	const struct key_info *ki;
	uint8_t *msg;
	size_t len;

	token_generate(wk->sess, job, res, &ki);
	if (res->status != P11B_OK)
		return;
	if (smsg_hello_encode("", 1, ki, 1, &msg, &len) != SMSG_OK ||
	    (res->out = malloc(len - SMSG_HDR_LEN)) == NULL) {
		res->status = P11B_INTERNAL;
		res->message = "out of memory";
		return;
	}
	memcpy(res->out, msg + SMSG_HDR_LEN, len - SMSG_HDR_LEN);
	res->outlen = len - SMSG_HDR_LEN;
	free(msg);
}

/*
 * One job: read, check, run, answer.  While more jobs are queued behind
 * it the answer waits in ob, so that a busy link carries several results
 * per write (and wakes the front once).  0: go on; 1: the front hung up.
 */
static int
serve_one(struct sworker *wk, struct buf *in, struct buf *ob)
{
	uint8_t *out = NULL;
	struct job_result res;
	struct job job;
	struct smsg_hdr h;
	size_t outlen;

	if (next_job(wk, in, &h) != 0)
		return 1;
	if (h.type == SMSG_BATCH_JOB) {
		if (signer_batch_run(wk->tok, wk->sess, h.id, in->p +
		    SMSG_HDR_LEN, h.len, &out, &outlen) != 0)
			fatalx("cannot encode a batch result");
		buf_consume(in, SMSG_HDR_LEN + h.len);	/* wiped */
		goto queue;
	}
	/* By index: the configured keys only; keyspace keys go by label. */
	if (smsg_work_decode(h.type, in->p + SMSG_HDR_LEN, h.len,
	    token_configured_keys(wk->tok), &job) != SMSG_OK)
		fatalx("malformed job from the front");
	memset(&res, 0, sizeof(res));
	if (job.op == P11B_OP_GENERATE)
		generate(wk, &job, &res);
	else if (!job.by_label || token_resolve_label(wk->sess, &job,
	    &res) == 0)
		token_execute(wk->sess, &job, &res);
	buf_consume(in, SMSG_HDR_LEN + h.len);	/* wiped */
	if (smsg_result_encode(h.id, &res, &out, &outlen) != SMSG_OK)
		fatalx("cannot encode a result");
	job_result_clear(&res);
 queue:
	if (buf_append(ob, out, outlen) != 0)
		fatalx("out of memory");
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
	struct buf in = { NULL, 0, 0 };	/* read, not yet served */
	struct buf ob = { NULL, 0, 0 };	/* results not yet written */

	(void)pthread_barrier_wait(&started);
	while (serve_one(wk, &in, &ob) == 0)
		;
	buf_wipe_free(&in);
	buf_wipe_free(&ob);
	return NULL;
}

static void __attribute__((noreturn))
fail(int status_fd, int code, const char *msg)
{
	log_warnx("%s", msg);
	(void)ctl_send_verdict(status_fd, CTL_READY, msg);
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

/*
 * The token's "module-env" settings, in this process's environment
 * before the module is loaded (a module reads its own variables when
 * loaded or initialised).  The values are never logged.
 */
int
signer_module_env(const struct config *conf, int token, char *errbuf,
    size_t errlen)
{
	const struct token_block *tb = &conf->tokens[token];
	char name[256];
	const char *eq;
	size_t i, len;

	for (i = 0; i < tb->nmodule_env; i++) {
		eq = strchr(tb->module_env[i], '=');
		len = (size_t)(eq - tb->module_env[i]);
		if (eq == NULL || len >= sizeof(name)) {
			snprintf(errbuf, errlen, "module-env: bad setting");
			return -1;
		}
		memcpy(name, tb->module_env[i], len);
		name[len] = '\0';
		if (setenv(name, eq + 1, 1) != 0) {
			snprintf(errbuf, errlen, "module-env %s: %s", name,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Kept reachable to the end: the signer exits without tearing down. */
static struct sworker *wk;
static struct token *tok;

void
signer_main(const struct config *conf, int token, struct secret *pin,
    int *links, int nlinks, int status_fd)
{
	static char logname[64 + P11B_KEY_NAME_MAX];
	char err[LOG_MSG_MAX];
	struct sandbox_conf sc;
	struct token_conf tc;
	sigset_t none;
	int i, r;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	/* With several tokens the lines say whose signer speaks. */
	if (conf->ntokens > 1)
		snprintf(logname, sizeof(logname), "p11brokerd[signer %s]",
		    conf->tokens[token].name);
	else
		strlcpy(logname, "p11brokerd[signer]", sizeof(logname));
	log_set_name(logname);
	(void)prctl(PR_SET_NAME, "p11b-signer", 0, 0, 0);
	if ((wk = calloc(nlinks, sizeof(*wk))) == NULL)
		fail(status_fd, SIGNER_EXIT_RETRY, "out of memory");
	if (signer_module_env(conf, token, err, sizeof(err)) != 0)
		fail(status_fd, SIGNER_EXIT_RETRY, err);
	token_conf_of(conf, token, &tc);
	r = token_open(&tc, pin, &tok, err, sizeof(err));
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
	sandbox_conf_of(conf, conf->tokens[token].module, &sc);
	if (sandbox_harden(&sc, err, sizeof(err)) != 0 ||
	    sandbox_landlock(&sc, err, sizeof(err)) != 0)
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
	/*
	 * Every thread runs: the filter covers them all (TSYNC).  A call it
	 * refuses is reported on the status channel, which stays open for
	 * that (the monitor reads it when it reaps us).
	 */
	if (sandbox_trap_init(status_fd, SIGNER_EXIT_SANDBOX) != 0 ||
	    sandbox_seccomp(SANDBOX_SIGNER, &sc, err, sizeof(err)) != 0)
		fail(status_fd, SIGNER_EXIT_RETRY, err);
	(void)ctl_send_verdict(status_fd, CTL_READY, NULL);
	for (i = 0; i < nlinks; i++)
		pthread_join(wk[i].thread, NULL);
	/*
	 * The front is gone (stop, reload, or it replaced us): close the
	 * sessions, log out and C_Finalize, so that a module holding
	 * state outside this process (a TPM's loaded keys and sessions, a
	 * network HSM's connection) is left clean for the next signer.
	 */
	for (i = 0; i < nlinks; i++)
		token_session_close(wk[i].sess);
	token_close(tok);
	_exit(0);
}
