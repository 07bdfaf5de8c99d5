/*
 * Audit checkpoints: the chain head signed by the checkpoint key on the
 * token, through the same worker pool as client requests.  The signed
 * message is plain ASCII,
 *
 *	p11broker-audit-checkpoint v1 seq=S head=H
 *
 * where H is the SHA-256 (hex) of line S, so that openssl can check it
 * with only the public key.  Answers keep flowing while a signature is
 * made: the checkpoint line lands a few lines after the line it covers.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit_conf.h"
#include "audit_int.h"
#include "log.h"

#define FINAL_ROUNDS	3	/* late answers may follow the stop line */
#define FINAL_WAIT	10	/* seconds for one signature at stop */
#define FINAL_POLL_MS	200	/* then look at the deadline again */

static void	checkpoint_done(struct work *w);

static void
submit(struct audit *a)
{
	struct broker *b = a->b;
	struct audit_checkpoint *cp = &a->ckpt;
	struct job *job = &cp->work.job;
	char msg[AUDIT_CHECKPOINT_MSG_MAX];
	size_t len;
	int key;

	key = config_key_index(b->conf, b->conf->audit_key);
	len = audit_checkpoint_message(a->chain.seq, a->chain.head, msg,
	    sizeof(msg));
	memset(&cp->work, 0, sizeof(cp->work));
	if (key < 0 || (size_t)key >= b->nkeys || len == 0 ||
	    (job->in = malloc(len)) == NULL) {
		log_warnx("audit: cannot ask for a checkpoint");
		return;
	}
	memcpy(job->in, msg, len);
	job->inlen = len;
	cp->work.gen = b->keyset;
	job->key = key;
	job->op = P11B_OP_SIGN;
	job->alg = audit_key_alg(b->keys[key].type);
	cp->work.done = checkpoint_done;
	cp->work.arg = a;
	cp->seq = a->chain.seq;
	memcpy(cp->head, a->chain.head, sizeof(cp->head));
	strlcpy(cp->key, b->conf->audit_key, sizeof(cp->key));
	cp->since = 0;
	cp->wanted = 0;
	cp->last = time(NULL);
	cp->busy = 1;
	keygen_hold(b->keyset);	/* a reload may make a new one */
	joblink_submit(b->jobs, &cp->work);
}

void
audit_checkpoint_maybe(struct audit *a)
{
	struct audit_checkpoint *cp = &a->ckpt;
	const struct config *conf = a->b->conf;

	if (cp->busy || cp->since == 0 || a->failed || a->b->jobs == NULL)
		return;
	if (cp->wanted || cp->since >= conf->audit_lines ||
	    time(NULL) - cp->last >= (time_t)conf->audit_seconds)
		submit(a);
}

static void
checkpoint_line(struct audit *a, const struct job_result *res)
{
	struct audit_checkpoint *cp = &a->ckpt;
	struct audit_buf *ab;
	size_t b64len;
	char *b64;

	b64len = sodium_base64_ENCODED_LEN(res->outlen,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64len)) == NULL) {
		log_warnx("audit: checkpoint: out of memory");
		return;
	}
	sodium_bin2base64(b64, b64len, res->out, res->outlen,
	    sodium_base64_VARIANT_ORIGINAL);
	ab = audit_begin(a, "checkpoint");
	audit_line_num(ab, "covers_seq", cp->seq);
	audit_line_hex(ab, "covers_head", cp->head, sizeof(cp->head));
	audit_line_str(ab, "key", cp->key);
	audit_line_str(ab, "alg", p11b_alg_name(cp->work.job.alg));
	audit_line_str(ab, "sig", b64);
	(void)audit_end(a, 1);
	a->checkpoint_time = time(NULL);
	free(b64);
}

static void
finish(struct audit *a)
{
	struct work *w = &a->ckpt.work;

	job_result_clear(&w->res);
	keygen_release(w->gen);
	free(w->job.in);
	w->job.in = NULL;
	a->ckpt.busy = 0;
}

/* The checkpoint signature is back (or failed). */
static void
checkpoint_done(struct work *w)
{
	struct audit *a = w->arg;
	struct job_result *res = &w->res;

	if (res->status == P11B_OK)
		checkpoint_line(a, res);
	else {
		log_warnx("audit: checkpoint signature with %s: %s",
		    a->ckpt.key, res->message != NULL ? res->message :
		    p11b_status_name(res->status));
		audit_event(a, "checkpoint-failed", "key", a->ckpt.key,
		    "status", p11b_status_name(res->status), "message",
		    res->message != NULL ? res->message : "", NULL);
	}
	finish(a);
}

/* Run the loop's share of finished work until our signature is back. */
static int
wait_signed(struct audit *a)
{
	struct pollfd pfd;
	time_t deadline = time(NULL) + FINAL_WAIT;

	while (a->ckpt.busy) {
		if (time(NULL) >= deadline) {
			log_warnx("audit: no checkpoint signature after %d "
			    "seconds", FINAL_WAIT);
			return -1;
		}
		joblink_flush(a->b->jobs);
		pfd.fd = joblink_fd(a->b->jobs);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, FINAL_POLL_MS) <= 0)
			continue;
		joblink_complete(a->b->jobs);
	}
	return 0;
}

void
audit_checkpoint_final(struct audit *a)
{
	int round;

	for (round = 0; round < FINAL_ROUNDS && !a->failed; round++) {
		if (wait_signed(a) != 0 || a->ckpt.since == 0)
			break;
		submit(a);
		if (wait_signed(a) != 0)
			break;
	}
	if (a->ckpt.since > 0)
		log_warnx("audit: the last %llu lines are not covered by a "
		    "checkpoint", (unsigned long long)a->ckpt.since);
}

void
audit_checkpoint_abandon(struct audit *a)
{
	if (a->ckpt.busy)
		finish(a);
}
