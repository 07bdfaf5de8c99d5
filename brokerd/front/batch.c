/*
 * Batches: one frame with many inputs for one key, one algorithm and one
 * operation (sign, hmac, hmac-verify).  What concerns the key is decided
 * once, by the same checks as a single request (dispatch.c's, passed in);
 * what concerns an input is decided item by item: its length for the
 * algorithm, the policy's max-input, and the rate, which counts items.
 * The items that pass go to one signer worker as one job and run back to
 * back on its session; the answer has a result per item, in order, and
 * the audit log one line with every item (audit_batch.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "answer.h"
#include "audit.h"
#include "audit_line.h"
#include "batch.h"
#include "clock.h"
#include "conn_ops.h"
#include "signer_batch.h"

#define ITEM_ANSWER_ROOM	(512 + SMSG_TEXT_MAX)	/* a signature */
#define NOT_SENT		((size_t)-1)

struct batch_item_state {
	int		 status;	/* OK: sent (or to be) */
	const char	*message;
	size_t		 sent;		/* index in the job, or NOT_SENT */
	struct audit_item audit;
};

struct batch_pending {
	struct work		 work;	/* first: work.arg points here too */
	struct broker		*b;
	struct conn		*conn;
	struct request_ctx	 rq;
	size_t			 n;
	struct batch_item_state	*items;
	struct smsg_batch	 job;	/* the items sent */
	uint8_t			*copy;	/* their bytes */
	size_t			 copylen;
	size_t			 held;	/* conn_hold() */
};

static void	batch_done(struct work *work);

static void
pending_free(struct batch_pending *p)
{
	smsg_batch_clear(&p->job);
	free(p->copy);		/* inputs to sign: not secret */
	free(p->items);
	free(p);
}

/*
 * The checks dispatch.c makes on a single request's lengths, per item:
 * a digest of the algorithm's length, raw PKCS#1 within the key, a MAC
 * of the algorithm's length.
 */
static const char *
item_length_error(const struct broker *b, const struct request_ctx *rq,
    const struct wire_request *req, const struct wire_batch_item *it)
{
	const struct key_info *ki = &b->keys[rq->key_index];
	size_t dlen = p11b_alg_digest_len(req->alg);

	if (req->op == P11B_OP_SIGN && (req->flags & P11B_SIGN_DIGEST) &&
	    it->datalen != dlen)
		return "digest length does not match the algorithm";
	if (req->alg == P11B_ALG_RSA_PKCS1_RAW && (it->datalen == 0 ||
	    it->datalen > alg_rsa_raw_max(ki->bits)))
		return "raw PKCS#1 input must be 1 to modulus bytes - 11 bytes";
	if (req->op == P11B_OP_HMAC_VERIFY && it->maclen != dlen)
		return "MAC length does not match the algorithm";
	return NULL;
}

/* Each item: its length, then the policy (max-input, rate: one each). */
static size_t
decide_items(struct batch_pending *p, struct conn *c,
    const struct wire_request *req, size_t *denied, const char **why)
{
	struct broker *b = p->b;
	struct policy_request pr;
	const struct wire_batch_item *it;
	struct batch_item_state *st;
	size_t i, nsent = 0;

	*denied = 0;
	for (i = 0; i < p->n; i++) {
		it = &req->batch->items[i];
		st = &p->items[i];
		st->sent = NOT_SENT;
		st->audit.input_len = it->datalen;
		audit_hash_input(b->audit, it->data, it->datalen,
		    st->audit.input_sha256);
		if ((st->message = item_length_error(b, &p->rq, req, it)) !=
		    NULL) {
			st->status = P11B_BAD_REQUEST;
			continue;
		}
		memset(&pr, 0, sizeof(pr));
		pr.op = req->op;
		pr.key = p->rq.key_index;
		pr.alg = req->alg;
		pr.inlen = it->datalen;
		pr.now_ns = clock_ns();
		st->status = policy_check(b->policy, conn_peer(c), &pr,
		    &st->message);
		if (st->status == P11B_DENIED) {
			(*denied)++;
			*why = st->message;
		}
		if (st->status != P11B_OK)
			continue;
		st->message = NULL;
		st->sent = nsent++;
		p->copylen += it->datalen + it->maclen;
	}
	return nsent;
}

/* One buffer for the inputs (and MACs) that go to the signer. */
static int
build_job(struct batch_pending *p, const struct wire_request *req,
    size_t nsent)
{
	const struct wire_batch_item *it;
	struct smsg_batch_item *si;
	uint8_t *w;
	size_t i;

	if ((p->job.items = calloc(nsent, sizeof(*p->job.items))) == NULL ||
	    (p->copylen > 0 && (p->copy = malloc(p->copylen)) == NULL))
		return -1;
	p->job.n = nsent;
	w = p->copy;
	for (i = 0; i < p->n; i++) {
		if (p->items[i].sent == NOT_SENT)
			continue;
		it = &req->batch->items[i];
		si = &p->job.items[p->items[i].sent];
		if (it->datalen > 0)
			memcpy(w, it->data, it->datalen);
		si->in = it->datalen > 0 ? w : NULL;
		si->inlen = it->datalen;
		w += it->datalen;
		if (it->maclen > 0)
			memcpy(w, it->mac, it->maclen);
		si->mac = it->maclen > 0 ? w : NULL;
		si->maclen = it->maclen;
		w += it->maclen;
	}
	p->work.job.key = p->rq.key_index;
	p->work.job.op = req->op;
	p->work.job.alg = req->alg;
	p->work.job.flags = req->flags;
	p->work.job.salt_set = req->salt_set;
	p->work.job.salt_len = req->salt_len;
	p->work.batch = &p->job;
	return 0;
}

/* Each item's final status: its own, or its job's result. */
static void
settle_items(struct batch_pending *p, struct wire_batch_result *res,
    struct audit_item *ai, int *status)
{
	struct batch_item_state *st;
	const struct job_result *jr;
	size_t i;

	for (i = 0; i < p->n; i++) {
		st = &p->items[i];
		if (st->sent != NOT_SENT) {
			/* The whole job failed, or this item's result. */
			jr = p->job.res != NULL ? &p->job.res[st->sent] :
			    &p->work.res;
			st->status = jr->status;
			st->message = jr->message;
			if (p->job.res != NULL) {
				res[i].out = jr->out;
				res[i].outlen = jr->outlen;
				res[i].valid = jr->valid;
			}
			st->audit.has_valid = p->rq.op == P11B_OP_HMAC_VERIFY &&
			    jr->status == P11B_OK;
			st->audit.valid = jr->valid;
		}
		st->audit.status = p11b_status_name(st->status);
		st->audit.message = st->status != P11B_OK ? st->message : NULL;
		ai[i] = st->audit;
		res[i].status = st->status;
		res[i].message = st->message;
		status[i] = st->status;
	}
}

/*
 * The answer: a result per item, one audit line for all of them, each
 * item counted by its status and the batch's latency once.  connected:
 * the caller is still there (else only the line, marked dropped).
 */
static void
batch_answer(struct batch_pending *p, const struct peer_cred *peer,
    int connected)
{
	struct broker *b = p->b;
	struct wire_batch_result *res;
	struct audit_item *ai;
	struct wire_batch wb;
	struct wire_response resp;
	int *status, logged;
	size_t i;

	res = calloc(p->n, sizeof(*res));
	ai = calloc(p->n, sizeof(*ai));
	status = calloc(p->n, sizeof(*status));
	if (res == NULL || ai == NULL || status == NULL) {
		if (connected)
			answer_refuse(b, p->conn, &p->rq, P11B_INTERNAL,
			    "out of memory");
		goto out;
	}
	settle_items(p, res, ai, status);
	logged = audit_batch(b->audit, peer, &p->rq, ai, p->n, !connected);
	if (!connected)
		goto out;
	if (logged != 0) {
		/* Not in the log (it fails closed): only a refusal leaves. */
		answer_refuse(b, p->conn, &p->rq, P11B_INTERNAL,
		    AUDIT_UNAVAILABLE);
		goto out;
	}
	metrics_count_batch(b->metrics, p->rq.op, p->rq.key_index, status,
	    p->n, (clock_ns() - p->rq.received_ns) / 1000);
	for (i = 0; i < p->n; i++)
		metrics_count_caller(b->metrics, peer->uid,
		    conn_known(p->conn), status[i]);
	memset(&wb, 0, sizeof(wb));
	wb.n = p->n;
	wb.results = res;
	memset(&resp, 0, sizeof(resp));
	resp.id = p->rq.id;
	resp.status = P11B_OK;
	resp.op = p->rq.op;
	resp.batch = &wb;
	conn_reply(p->conn, &resp);
 out:
	free(res);
	free(ai);
	free(status);
}

void
batch_handle(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req, batch_check_fn check_keyed)
{
	struct batch_pending *p;
	struct wire_request tmpl;
	size_t nsent, denied, dlen = p11b_alg_digest_len(req->alg);
	const char *why = "not permitted";
	char msg[96];

	rq->input_hashed = 0;		/* the items are hashed one by one */
	rq->data = NULL;
	rq->datalen = 0;
	/* The key, identity and algorithm once; lengths are per item. */
	tmpl = *req;
	tmpl.batch = NULL;
	tmpl.data = NULL;
	tmpl.datalen = (req->flags & P11B_SIGN_DIGEST) ? dlen :
	    req->alg == P11B_ALG_RSA_PKCS1_RAW ? 1 : 0;
	tmpl.maclen = req->op == P11B_OP_HMAC_VERIFY ? dlen : 0;
	if (check_keyed(b, c, rq, &tmpl) != 0)
		return;
	/*
	 * A keyspace key goes to the signer by label, one request at a time
	 * (signer/README.md); a batch names keys by index.
	 */
	if (b->keys[rq->key_index].space >= 0) {
		answer_refuse(b, c, rq, P11B_UNSUPPORTED, "keyspace keys take "
		    "single requests only (no batches)");
		return;
	}
	/* After the key: a caller who may not use it learns nothing. */
	if (req->batch->n > b->conf->max_batch) {
		snprintf(msg, sizeof(msg), "batch of %zu items over max-batch "
		    "%u", req->batch->n, b->conf->max_batch);
		answer_refuse(b, c, rq, P11B_TOO_LARGE, msg);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->items = calloc(req->batch->n, sizeof(*p->items))) == NULL) {
		free(p);
		answer_refuse(b, c, rq, P11B_INTERNAL, "out of memory");
		return;
	}
	p->b = b;
	p->conn = c;
	p->rq = *rq;
	p->n = req->batch->n;
	nsent = decide_items(p, c, req, &denied, &why);
	/* Denied for every item: the caller may not do this at all. */
	if (denied == p->n) {
		pending_free(p);
		answer_refuse(b, c, rq, P11B_DENIED, why);
		return;
	}
	if (nsent == 0) {
		batch_answer(p, conn_peer(c), 1);
		pending_free(p);
		return;
	}
	if (build_job(p, req, nsent) != 0) {
		pending_free(p);
		answer_refuse(b, c, rq, P11B_INTERNAL, "out of memory");
		return;
	}
	p->work.gen = b->keyset;
	p->work.done = batch_done;
	p->work.arg = p;
	p->held = sizeof(*p) + p->n * (sizeof(*p->items) + ITEM_ANSWER_ROOM) +
	    4 * p->copylen;
	keygen_hold(b->keyset);		/* a reload may make a new one */
	conn_hold(c, p->held);
	joblink_submit(b->jobs, &p->work);
}

/* The job's result (or its failure): the answer, then it is gone. */
static void
batch_done(struct work *work)
{
	struct batch_pending *p = work->arg;
	struct broker *b = p->b;
	/* conn_release() may free the connection (and its groups) */
	struct peer_cred peer = *conn_peer(p->conn);

	peer.groups = NULL;
	peer.ngroups = 0;
	/* Started before a reload: count it under the key's new index. */
	if (work->gen != b->keyset && p->rq.key_index >= 0)
		p->rq.key_index = config_key_index(b->conf, p->rq.key);
	batch_answer(p, &peer, conn_release(p->conn, p->held));
	job_result_clear(&work->res);
	keygen_release(work->gen);
	pending_free(p);
}
