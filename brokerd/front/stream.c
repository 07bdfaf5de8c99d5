/*
 * Streamed inputs (stream.h).  A stream lives from its first frame to
 * its answer and the return of its last part from the signer; the
 * policy, the key and the algorithm are checked once, at the first
 * frame, before anything is sent to the signer.  Parts of a stream that
 * ended (answered early: refused, too large, timed out, cancelled) are
 * dropped unanswered, so that the client hears once, whatever it had
 * already sent.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "crypto.h"
#include "audit.h"
#include "broker.h"
#include "conn_ops.h"
#include "answer.h"
#include "log.h"
#include "stream.h"
#include "keyver.h"

struct stream {
	LIST_ENTRY(stream)	 entry;		/* b->streams.open */
	struct broker		*b;
	struct conn		*conn;
	uid_t			 uid;
	struct request_ctx	 rq;
	struct keygen		*gen;		/* the keys it was checked on */
	struct jstream		*js;		/* its signer worker */
	int			 flags;		/* P11B_SIGN_* */
	int			 salt_set;	/* RSA-PSS salt given */
	unsigned int		 salt_len;
	uint64_t		 total;		/* input bytes so far */
	uint64_t		 declared;	/* 0: not said */
	uint64_t		 limit;		/* max-input for it */
	uint8_t			 mac[CRYPTO_MAX_DIGEST];
	size_t			 maclen;
	size_t			 whole;		/* Ed25519: at the signer */
	int			 out;		/* parts at the signer */
	int			 ended;		/* answered, or caller gone */
	int			 gone;		/* the connection closed */
	int			 signer_done;	/* the signer holds no state */
	time_t			 started;
	time_t			 last;		/* a part came or was done */
	int			 hashing;	/* for the audit line */
	crypto_hash_sha256_state sha;
};

struct part {
	struct work		 work;		/* first: work.arg too */
	struct stream		*st;
	size_t			 held;
};

#define STREAM_ANSWER_ROOM	4096	/* a signature or a MAC */

static void	part_done(struct work *work);

static struct stream *
stream_find(struct broker *b, const struct conn *c, uint64_t id)
{
	struct stream *st;

	LIST_FOREACH(st, &b->streams.open, entry)
		if (st->conn == c && st->rq.id == id && !st->ended)
			return st;
	return NULL;
}

static int
stream_count_uid(struct broker *b, uid_t uid)
{
	struct stream *st;
	int n = 0;

	LIST_FOREACH(st, &b->streams.open, entry)
		n += !st->ended && st->uid == uid;
	return n;
}

static void
ended_add(struct broker *b, const struct conn *c, uint64_t id)
{
	struct stream_state *ss = &b->streams;

	ss->ended[ss->ended_next].conn = c;
	ss->ended[ss->ended_next].id = id;
	ss->ended_next = (ss->ended_next + 1) % BROKER_STREAMS_ENDED;
}

static int
ended_has(struct broker *b, const struct conn *c, uint64_t id)
{
	size_t i;

	for (i = 0; i < BROKER_STREAMS_ENDED; i++)
		if (b->streams.ended[i].conn == c &&
		    b->streams.ended[i].id == id)
			return 1;
	return 0;
}

/* One more (+1) or one less (-1) part at the signer. */
static void
stream_out(struct stream *st, int delta)
{
	int was = st->out >= STREAM_PARTS_OUT;

	st->out += delta;
	if (!st->gone && was != (st->out >= STREAM_PARTS_OUT))
		conn_hold_frames(st->conn, !was);
}

/*
 * What a part holds in the front until it is back: its copy, the one
 * queued on the signer link (up to three times while that buffer
 * grows), and its answer.
 */
static size_t
part_bytes(const struct job *job)
{
	return sizeof(struct part) + 4 * (job->inlen + job->maclen) +
	    STREAM_ANSWER_ROOM;
}

static void
part_submit(struct stream *st, enum job_stream phase, const uint8_t *data,
    size_t len, const uint8_t *mac, size_t maclen)
{
	struct broker *b = st->b;
	struct part *p;
	struct job *job;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (len > 0 && (p->work.job.in = malloc(len)) == NULL) ||
	    (maclen > 0 && (p->work.job.mac = malloc(maclen)) == NULL)) {
		if (p != NULL) {
			free(p->work.job.in);
			free(p);
		}
		fatalx("%s: out of memory", __func__);
	}
	job = &p->work.job;
	job->key = st->rq.pinned ? st->rq.version_key : st->rq.key_index;
	job->op = st->rq.op;
	job->alg = st->rq.alg;
	job->flags = st->flags;
	job->salt_set = st->salt_set;
	job->salt_len = st->salt_len;
	job->stream = phase;
	job->inlen = len;
	if (len > 0)
		memcpy(job->in, data, len);
	job->maclen = maclen;
	if (maclen > 0)
		memcpy(job->mac, mac, maclen);
	p->work.gen = st->gen;
	p->work.done = part_done;
	p->work.arg = p;
	p->st = st;
	p->held = part_bytes(job);
	conn_hold(st->conn, p->held);
	stream_out(st, 1);
	joblink_stream_submit(b->jobs, st->js, &p->work);
}

static void
stream_free(struct stream *st)
{
	struct broker *b = st->b;

	LIST_REMOVE(st, entry);
	b->streams.nopen--;
	joblink_stream_close(b->jobs, st->js);
	keygen_release(st->gen);
	/* The stream's own hold; the connection may go with it. */
	(void)conn_release(st->conn, sizeof(*st) + st->whole);
	explicit_bzero(st, sizeof(*st));
	free(st);
}

static void
stream_maybe_free(struct stream *st)
{
	if (st->ended && st->out == 0)
		stream_free(st);
}

/*
 * The stream's one decision: answered, or (its caller gone) only
 * audited.  The signer is told to drop what it holds for it.
 */
static void
stream_end(struct stream *st, struct wire_response *resp)
{
	struct broker *b = st->b;
	struct peer_cred peer;

	st->ended = 1;
	st->rq.datalen = st->total;
	if (st->hashing) {
		crypto_hash_sha256_final(&st->sha, st->rq.input_sha256);
		st->rq.input_hashed = 1;
	}
	/* Started before a reload: count it under the key's new index. */
	if (st->gen != b->keyset)
		st->rq.key_index = config_key_index(b->conf, st->rq.key);
	if (!st->gone)
		answer_send(b, st->conn, &st->rq, resp);
	else {
		peer = *conn_peer(st->conn);
		peer.groups = NULL;
		peer.ngroups = 0;
		(void)audit_decision(b->audit, &peer, &st->rq, resp, 1);
	}
	ended_add(b, st->conn, st->rq.id);
	if (!st->signer_done) {
		st->signer_done = 1;
		part_submit(st, JOB_STREAM_ABORT, NULL, 0, NULL, 0);
	}
}

static void
stream_fail(struct stream *st, int status, const char *message)
{
	struct wire_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.message = message;
	stream_end(st, &resp);
}

/* A part is back from the signer (or failed on the way). */
static void
part_done(struct work *work)
{
	struct part *p = work->arg;
	struct stream *st = p->st;
	struct job_result *res = &work->res;
	struct wire_response resp;
	enum job_stream phase = work->job.stream;

	(void)conn_release(st->conn, p->held);
	stream_out(st, -1);
	st->last = time(NULL);
	if (phase == JOB_STREAM_FINAL || res->status != P11B_OK)
		st->signer_done = 1;	/* the signer ended it */
	if (st->ended || phase == JOB_STREAM_ABORT)
		;
	else if (res->status != P11B_OK)
		stream_fail(st, res->status, res->message);
	else if (phase == JOB_STREAM_FINAL) {
		memset(&resp, 0, sizeof(resp));
		resp.status = P11B_OK;
		resp.message = res->message;
		resp.op = st->rq.op;
		resp.out = res->out;
		resp.outlen = res->outlen;
		resp.valid = res->valid;
		/* A stream is checked under one version only. */
		if (resp.op != P11B_OP_HMAC_VERIFY || resp.valid) {
			strlcpy(resp.version, st->rq.version,
			    sizeof(resp.version));
			resp.previous = keyver_previous(st->b, &st->rq);
		} else
			st->rq.version[0] = '\0';
		stream_end(st, &resp);
	}
	job_result_clear(res);
	freezero(work->job.in, work->job.inlen);
	free(work->job.mac);
	free(p);
	stream_maybe_free(st);
}

/* max-input for this stream: the key's or the global, and the rule's. */
static uint64_t
stream_limit(const struct broker *b, int key, size_t rule_max)
{
	uint64_t limit = b->conf->max_input;

	if (key >= 0 && (size_t)key < b->conf->nkeys &&
	    b->conf->keys[key].max_input != 0)
		limit = b->conf->keys[key].max_input;
	if (rule_max != 0 && rule_max < limit)
		limit = rule_max;
	return limit;
}

/* Checks of the first frame past the policy; -1 when refused. */
static int
stream_admit(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req, uint64_t limit)
{
	const char *why = NULL;
	int status = P11B_BAD_REQUEST;

	if (req->op == P11B_OP_SIGN && (req->flags & P11B_SIGN_DIGEST))
		why = "a stream carries a message, not a digest";
	else if (req->total_length > limit || req->datalen > limit) {
		status = P11B_TOO_LARGE;
		why = "input larger than max-input";
	} else if (req->total_length != 0 &&
	    req->datalen > req->total_length)
		why = "more input than declared";
	else if (stream_find(b, c, req->id) != NULL)
		why = "a stream with this id is open";
	else if (b->streams.nopen >= b->conf->max_streams ||
	    stream_count_uid(b, conn_peer(c)->uid) >=
	    b->conf->max_streams_per_uid) {
		status = P11B_RATE_LIMITED;
		why = "too many streams open";
	}
	if (why == NULL)
		return 0;
	answer_refuse(b, c, rq, status, why);
	return -1;
}

/* Ed25519: the signer keeps the message; the front counts its bytes. */
static void
stream_input(struct stream *st, const uint8_t *data, size_t len)
{
	st->total += len;
	if (st->hashing && len > 0)
		crypto_hash_sha256_update(&st->sha, data, len);
	if (st->rq.op == P11B_OP_SIGN && st->rq.alg == P11B_ALG_ED25519) {
		st->whole += len;
		conn_hold_bytes(st->conn, len, 0);
	}
}

/*
 * A stream refused at its first frame (answered): the parts the client
 * sent before it read the refusal are dropped, not answered again.
 */
void
stream_refused(struct broker *b, const struct conn *c, uint64_t id)
{
	if (!ended_has(b, c, id))
		ended_add(b, c, id);
}

void
stream_begin(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req, size_t rule_max)
{
	struct stream *st;
	uint64_t limit;

	limit = stream_limit(b, rq->key_index, rule_max);
	if (stream_admit(b, c, rq, req, limit) != 0) {
		stream_refused(b, c, rq->id);
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		answer_refuse(b, c, rq, P11B_INTERNAL, "out of memory");
		stream_refused(b, c, rq->id);
		return;
	}
	if (joblink_stream_open(b->jobs, rq->key_index >= 0 &&
	    (size_t)rq->key_index < b->nkeys ? b->keys[rq->key_index].tokens :
	    0, &st->js) != 0) {
		free(st);
		answer_refuse(b, c, rq, P11B_TOKEN_UNAVAILABLE, "the signer "
		    "is not running");
		stream_refused(b, c, rq->id);
		return;
	}
	st->b = b;
	st->conn = c;
	st->uid = conn_peer(c)->uid;
	st->rq = *rq;
	st->rq.data = NULL;		/* the frame is gone by the answer */
	st->flags = req->flags;
	st->salt_set = req->salt_set;
	st->salt_len = req->salt_len;
	st->declared = req->total_length;
	st->limit = limit;
	st->started = st->last = time(NULL);
	if (req->maclen > 0) {
		memcpy(st->mac, req->mac, req->maclen);
		st->maclen = req->maclen;
	}
	if ((st->hashing = b->audit != NULL))
		crypto_hash_sha256_init(&st->sha);
	st->gen = b->keyset;
	keygen_hold(st->gen);
	LIST_INSERT_HEAD(&b->streams.open, st, entry);
	b->streams.nopen++;
	conn_hold(c, sizeof(*st));
	stream_input(st, req->data, req->datalen);
	part_submit(st, JOB_STREAM_BEGIN, req->data, req->datalen, NULL, 0);
}

/* A part for an id with no open stream: said once, then dropped. */
static void
stream_unknown(struct broker *b, struct conn *c, uint64_t id)
{
	struct request_ctx rq;

	if (ended_has(b, c, id))
		return;
	ended_add(b, c, id);
	memset(&rq, 0, sizeof(rq));
	rq.id = id;
	rq.key_index = -1;
	rq.received_ns = clock_ns();
	answer_refuse(b, c, &rq, P11B_BAD_REQUEST, "no open stream with "
	    "this id");
}

/* The checks of a part; the reason to end the stream, or NULL. */
static const char *
part_check(struct stream *st, const struct wire_request *req, int *status)
{
	*status = P11B_BAD_REQUEST;
	if (req->cancel)
		return "cancelled by the client";
	if (req->datalen > st->limit - st->total) {
		*status = P11B_TOO_LARGE;
		return "input larger than max-input";
	}
	if (st->declared != 0 && req->datalen > st->declared - st->total)
		return "more input than declared";
	if (req->maclen > 0 && (st->rq.op != P11B_OP_HMAC_VERIFY ||
	    st->maclen != 0 || req->maclen != p11b_alg_digest_len(st->rq.alg)))
		return "MAC not expected, or not of the algorithm's length";
	if (!req->last)
		return NULL;
	if (st->declared != 0 && st->total + req->datalen != st->declared)
		return "less input than declared";
	if (st->rq.op == P11B_OP_HMAC_VERIFY && st->maclen == 0 &&
	    req->maclen == 0)
		return "no MAC to verify";
	return NULL;
}

void
stream_data(struct broker *b, struct conn *c, const struct wire_request *req)
{
	struct stream *st;
	const char *why;
	int status;

	if ((st = stream_find(b, c, req->id)) == NULL) {
		stream_unknown(b, c, req->id);
		return;
	}
	if ((why = part_check(st, req, &status)) != NULL) {
		stream_fail(st, status, why);
		stream_maybe_free(st);
		return;
	}
	if (req->maclen > 0) {
		memcpy(st->mac, req->mac, req->maclen);
		st->maclen = req->maclen;
	}
	stream_input(st, req->data, req->datalen);
	st->last = time(NULL);
	if (req->last) {
		st->signer_done = 1;	/* the final ends it there */
		part_submit(st, JOB_STREAM_FINAL, req->data, req->datalen,
		    st->maclen > 0 ? st->mac : NULL, st->maclen);
	} else if (req->datalen > 0)
		part_submit(st, JOB_STREAM_UPDATE, req->data, req->datalen,
		    NULL, 0);
}

void
stream_bad_part(struct broker *b, struct conn *c, uint64_t id)
{
	struct stream *st;

	if ((st = stream_find(b, c, id)) == NULL) {
		stream_unknown(b, c, id);
		return;
	}
	stream_fail(st, P11B_BAD_REQUEST, "invalid stream part");
	stream_maybe_free(st);
}

void
stream_conn_closed(struct broker *b, struct conn *c)
{
	struct stream *st, *next;

	for (st = LIST_FIRST(&b->streams.open); st != NULL; st = next) {
		next = LIST_NEXT(st, entry);
		if (st->conn != c)
			continue;
		if (st->out >= STREAM_PARTS_OUT)
			conn_hold_frames(c, 0);
		st->gone = 1;
		if (!st->ended)
			stream_fail(st, P11B_BAD_REQUEST, "the client hung up "
			    "during the stream");
		stream_maybe_free(st);
	}
}

/*
 * A stream whose client sends nothing for frame-timeout (while none of
 * its parts is at the signer) or that lasts longer than stream-timeout
 * ends: it holds a token session and a place among max-streams.
 */
void
stream_expire(struct broker *b, time_t now)
{
	struct stream *st, *next;

	for (st = LIST_FIRST(&b->streams.open); st != NULL; st = next) {
		next = LIST_NEXT(st, entry);
		if (st->ended)
			continue;
		if (now - st->started >= b->conf->stream_timeout)
			stream_fail(st, P11B_BAD_REQUEST, "stream longer than "
			    "stream-timeout");
		else if (st->out == 0 && now - st->last >=
		    b->conf->frame_timeout)
			stream_fail(st, P11B_BAD_REQUEST, "no part of the "
			    "stream within frame-timeout");
		else
			continue;
		log_info("stream of uid %u ended: %s", (unsigned)st->uid,
		    now - st->started >= b->conf->stream_timeout ?
		    "stream-timeout" : "frame-timeout");
		stream_maybe_free(st);
	}
}
