/*
 * Dispatch: a decoded request is checked against the policy, then against
 * the key (operation, algorithm, sizes), and only then turned into a
 * token job.  Requests that need no token (pubkey, list, health) are
 * answered here.  The caller-visible rule: a key the caller may not use
 * at all looks exactly like a key that does not exist.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "audit.h"
#include "broker.h"
#include "conn_ops.h"
#include "dispatch.h"
#include "answer.h"
#include "keyver.h"
#include "log.h"
#include "stream.h"
#include "batch.h"

#define MSG_NO_SUCH_KEY	"no such key"
#define PENDING_ANSWER_ROOM	4096	/* a signature, a MAC, a secret */
#define STR(x)		#x
#define XSTR(x)		STR(x)

struct pending {
	struct work		 work;	/* first: work->arg points here too */
	struct broker		*b;
	struct conn		*conn;
	struct request_ctx	 rq;
};

static void	pending_done(struct work *work);

/* Every request ends in answer.c: its audit line, its count, its reply. */
static void
answer(struct broker *b, struct conn *c, const struct request_ctx *rq,
    struct wire_response *resp)
{
	answer_send(b, c, rq, resp);
}

static void
refuse(struct broker *b, struct conn *c, const struct request_ctx *rq,
    int status, const char *message)
{
	answer_refuse(b, c, rq, status, message);
}

void
dispatch_frame_error(struct broker *b, struct conn *c, int status,
    const char *message)
{
	struct request_ctx rq;

	memset(&rq, 0, sizeof(rq));
	rq.key_index = -1;
	rq.received_ns = clock_ns();
	refuse(b, c, &rq, status, message);
	conn_close_after_reply(c);
}

static void
request_ctx_init(struct broker *b, struct request_ctx *rq,
    const struct wire_request *req)
{
	memset(rq, 0, sizeof(*rq));
	rq->id = req->id;
	rq->op = req->op;
	strlcpy(rq->key, req->key, sizeof(rq->key));
	rq->key_index = -1;
	rq->alg = req->alg;
	rq->data = req->data;
	rq->datalen = req->datalen;
	rq->received_ns = clock_ns();
	audit_request_init(b->audit, rq);
}

/*
 * The index of a key name, or -1: every name is compared in full, with
 * no early exit, so that a key that exists costs what a missing one does.
 */
static int
key_lookup(const struct broker *b, const char *name)
{
	const char *kn;
	size_t i, j;
	int found = -1, diff, ended;
	char ch;

	for (i = 0; i < b->nkeys; i++) {
		kn = b->keys[i].name;
		diff = 0;
		ended = 0;
		for (j = 0; j <= P11B_KEY_NAME_MAX; j++) {
			ch = ended ? '\0' : kn[j];
			ended |= ch == '\0';
			diff |= ch ^ name[j];
		}
		/* The first: a key's current version (keyver.h). */
		if (diff == 0 && found == -1)
			found = (int)i;
	}
	return found;
}

/*
 * Policy first, so that nothing about a key leaks to a caller who may
 * not use it; then whether the key can do the operation at all.
 */
static int
check_key(struct broker *b, struct conn *c, struct request_ctx *rq)
{
	const struct key_info *ki;
	uint32_t ops;
	int key;

	key = key_lookup(b, rq->key);
	rq->key_index = key;
	/* Evaluated for a missing key (-1) too: the same work either way. */
	ops = policy_key_ops(b->policy, conn_peer(c),
	    generate_policy_index(b, key));
	if (ops == 0) {
		refuse(b, c, rq, P11B_NO_SUCH_KEY, MSG_NO_SUCH_KEY);
		return -1;
	}
	if (!(ops & (1U << rq->op))) {
		refuse(b, c, rq, P11B_DENIED, "operation not permitted on "
		    "this key");
		return -1;
	}
	/* A client signature with it could forge a checkpoint. */
	if (rq->op != P11B_OP_PUBKEY && audit_key_reserved(b->audit, rq->key)) {
		refuse(b, c, rq, P11B_DENIED, "key reserved for audit "
		    "checkpoints");
		return -1;
	}
	keyver_note(b, rq);
	ki = &b->keys[key];
	/* Its token blocks have not been heard from since the start. */
	if (ki->absent) {
		refuse(b, c, rq, P11B_TOKEN_UNAVAILABLE, "no token that holds "
		    "the key has started");
		return -1;
	}
	if (!(crypto_key_ops(ki->type, ki->extractable) & (1U << rq->op))) {
		refuse(b, c, rq, P11B_UNSUPPORTED, rq->op == P11B_OP_SECRET ?
		    "key value is not extractable" :
		    "key type does not support this operation");
		return -1;
	}
	return 0;
}

/* The policy's decision on the whole request, before any token work. */
static int
decide(struct broker *b, struct conn *c, const struct request_ctx *rq,
    size_t inlen, size_t *max_input)
{
	struct policy_request pr;
	const char *why;
	int status;

	pr.op = rq->op;
	pr.key = generate_policy_index(b, rq->key_index);
	pr.alg = rq->alg;
	pr.inlen = inlen;
	pr.now_ns = clock_ns();
	pr.max_input = 0;
	status = policy_check(b->policy, conn_peer(c), &pr, &why);
	if (status != P11B_OK) {
		refuse(b, c, rq, status, why);
		return -1;
	}
	if (max_input != NULL)
		*max_input = pr.max_input;
	return 0;
}

/* RSA-PSS salt within what the key allows; raw PKCS#1 within k - 11. */
static int
check_sign_params(struct broker *b, struct conn *c,
    const struct request_ctx *rq, const struct wire_request *req,
    const struct key_info *ki)
{
	if (req->salt_set && alg_family_of(req->alg) != ALG_FAMILY_RSA_PSS) {
		refuse(b, c, rq, P11B_BAD_REQUEST, "a salt length is for "
		    "RSA-PSS only");
		return -1;
	}
	if (req->salt_set &&
	    (long)req->salt_len > alg_pss_salt_max(req->alg, ki->bits)) {
		refuse(b, c, rq, P11B_BAD_REQUEST, "salt length over what "
		    "the key allows (modulus bytes - hash length - 2)");
		return -1;
	}
	if (req->alg == P11B_ALG_RSA_PKCS1_RAW &&
	    (req->datalen == 0 || req->datalen > alg_rsa_raw_max(ki->bits))) {
		refuse(b, c, rq, P11B_BAD_REQUEST, "raw PKCS#1 input must be "
		    "1 to modulus bytes - 11 bytes");
		return -1;
	}
	return 0;
}

static int
check_alg(struct broker *b, struct conn *c, const struct request_ctx *rq,
    const struct wire_request *req)
{
	const struct key_info *ki = &b->keys[rq->key_index];
	size_t dlen = p11b_alg_digest_len(req->alg);

	if (!alg_fits_key(req->alg, ki->type)) {
		refuse(b, c, rq, P11B_BAD_REQUEST, "algorithm does not fit "
		    "the key");
		return -1;
	}
	if (!(ki->algs & (1U << req->alg))) {
		refuse(b, c, rq, P11B_UNSUPPORTED, "the token does not offer "
		    "this algorithm for this key");
		return -1;
	}
	if (check_sign_params(b, c, rq, req, ki) != 0)
		return -1;
	if (req->op == P11B_OP_SIGN && (req->flags & P11B_SIGN_DIGEST)) {
		if (req->alg == P11B_ALG_ED25519 ||
		    req->alg == P11B_ALG_RSA_PKCS1_RAW) {
			refuse(b, c, rq, P11B_BAD_REQUEST, "this algorithm "
			    "signs the input as given, not a digest");
			return -1;
		}
		if (req->datalen != dlen) {
			refuse(b, c, rq, P11B_BAD_REQUEST, "digest length "
			    "does not match the algorithm");
			return -1;
		}
	}
	if ((req->flags & P11B_SIGN_RAW) &&
	    alg_family_of(req->alg) != ALG_FAMILY_ECDSA) {
		refuse(b, c, rq, P11B_BAD_REQUEST, "raw format is for ECDSA "
		    "only");
		return -1;
	}
	/* A stream may bring its MAC with its last part. */
	if (req->op == P11B_OP_HMAC_VERIFY && req->maclen != dlen &&
	    !(req->stream == WIRE_STREAM_BEGIN && req->maclen == 0)) {
		refuse(b, c, rq, P11B_BAD_REQUEST, "MAC length does not match "
		    "the algorithm");
		return -1;
	}
	return 0;
}

/*
 * What a job holds in the front until it is answered: its input, the
 * copy queued on the signer link (whose buffer may be twice what it
 * holds, three times while it grows), and room for the answer.
 */
static size_t
pending_bytes(const struct job *job)
{
	return sizeof(struct pending) + 4 * (job->inlen + job->maclen) +
	    PENDING_ANSWER_ROOM + job->random_len;
}

static void
submit(struct broker *b, struct conn *c, const struct request_ctx *rq,
    const struct wire_request *req)
{
	struct pending *p;
	struct job *job;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (req->datalen > 0 && (p->work.job.in = malloc(req->datalen)) ==
	    NULL) ||
	    (req->maclen > 0 && (p->work.job.mac = malloc(req->maclen)) ==
	    NULL)) {
		if (p != NULL) {
			free(p->work.job.in);
			free(p);
		}
		refuse(b, c, rq, P11B_INTERNAL, "out of memory");
		return;
	}
	job = &p->work.job;
	p->work.gen = b->keyset;
	job->key = rq->pinned ? rq->version_key : rq->key_index;
	/* A keyspace key: each signer finds it by its label and CKA_ID. */
	if (rq->key_index >= 0 && b->keys[rq->key_index].space >= 0) {
		p->work.tokens = b->keys[rq->key_index].tokens;
		job->key = -1;
		job->by_label = 1;
		strlcpy(job->label, b->keys[rq->key_index].name,
		    sizeof(job->label));
		memcpy(job->kid, b->keys[rq->key_index].id,
		    b->keys[rq->key_index].idlen);
		job->kidlen = b->keys[rq->key_index].idlen;
	}
	job->op = req->op;
	job->alg = req->alg;
	job->flags = req->flags;
	job->salt_set = req->salt_set;
	job->salt_len = req->salt_len;
	job->inlen = req->datalen;
	if (req->datalen > 0)
		memcpy(job->in, req->data, req->datalen);
	job->maclen = req->maclen;
	if (req->maclen > 0)
		memcpy(job->mac, req->mac, req->maclen);
	job->random_len = req->random_len;
	p->work.done = pending_done;
	p->work.arg = p;
	p->b = b;
	p->conn = c;
	p->rq = *rq;
	p->rq.data = NULL;		/* the frame is gone by completion */
	keygen_hold(b->keyset);	/* a reload may make a new one */
	conn_hold(c, pending_bytes(&p->work.job));
	joblink_submit(b->jobs, &p->work);
}

/*
 * A client that names the key material it expects (KeyInfo.identity)
 * is refused, as if the key were gone, when a reload has mapped the
 * name elsewhere: never served by another key under the old identity.
 */
static int
check_identity(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req)
{
	const struct key_info *ki = &b->keys[rq->key_index];

	if (req->identitylen == 0)
		return 0;
	/* An hmac-verify naming a version's material: that version only. */
	if (req->op == P11B_OP_HMAC_VERIFY && req->identitylen ==
	    P11B_IDENTITY_LEN && keyver_pin(b, rq, req->identity) == 0)
		return 0;
	if (req->identitylen == P11B_IDENTITY_LEN &&
	    memcmp(req->identity, ki->identity, P11B_IDENTITY_LEN) == 0)
		return 0;
	refuse(b, c, rq, P11B_NO_SUCH_KEY, "key changed: the name now "
	    "stands for another key");
	return -1;
}

/* For batch.c: a batch's key, identity and algorithm, checked once. */
static int
check_keyed(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req)
{
	if (check_key(b, c, rq) != 0 || check_identity(b, c, rq, req) != 0 ||
	    check_alg(b, c, rq, req) != 0)
		return -1;
	return 0;
}

static void
handle_keyed(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req)
{
	if (check_key(b, c, rq) != 0 || check_identity(b, c, rq, req) != 0 ||
	    decide(b, c, rq, req->datalen, NULL) != 0)
		return;
	if (req->op != P11B_OP_SECRET && check_alg(b, c, rq, req) != 0)
		return;
	submit(b, c, rq, req);
}

/*
 * The first frame of a stream: the same checks, the policy on the
 * declared length (or the first part's); stream.c takes it from there.
 */
static void
handle_stream(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req)
{
	size_t inlen, rule_max = 0;

	inlen = req->total_length != 0 ? (req->total_length > SIZE_MAX ?
	    SIZE_MAX : (size_t)req->total_length) : req->datalen;
	if (check_key(b, c, rq) != 0 || check_identity(b, c, rq, req) != 0 ||
	    decide(b, c, rq, inlen, &rule_max) != 0 ||
	    check_alg(b, c, rq, req) != 0) {
		stream_refused(b, c, rq->id);
		return;
	}
	if (b->keys[rq->key_index].space >= 0) {
		refuse(b, c, rq, P11B_UNSUPPORTED, "keyspace keys take whole "
		    "inputs only (no streams)");
		stream_refused(b, c, rq->id);
		return;
	}
	stream_begin(b, c, rq, req, rule_max);
}

static void
handle_random(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req)
{
	if (decide(b, c, rq, req->random_len, NULL) != 0)
		return;
	if (req->random_len == 0) {
		refuse(b, c, rq, P11B_BAD_REQUEST, "length must be at least 1");
		return;
	}
	if (req->random_len > P11B_RANDOM_MAX) {
		refuse(b, c, rq, P11B_TOO_LARGE, "length over the limit of "
		    XSTR(P11B_RANDOM_MAX) " bytes");
		return;
	}
	submit(b, c, rq, req);
}

static void
handle_pubkey(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req)
{
	struct wire_response resp;
	const struct key_info *ki;
	int i;

	if (check_key(b, c, rq) != 0 || decide(b, c, rq, 0, NULL) != 0)
		return;
	if ((i = keyver_select(b, rq, req->version)) == -1) {
		refuse(b, c, rq, P11B_NO_SUCH_KEY, "no such version of this "
		    "key");
		return;
	}
	ki = &b->keys[i];
	if (ki->spki == NULL) {
		refuse(b, c, rq, P11B_UNSUPPORTED, "the token has no public "
		    "key for this key");
		return;
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = P11B_OK;
	resp.op = P11B_OP_PUBKEY;
	resp.out = ki->spki;
	resp.outlen = ki->spkilen;
	resp.cert = ki->cert;
	resp.certlen = ki->certlen;
	resp.chain = ki->chain;
	resp.chainlen = ki->chainlen;
	resp.identity = ki->identity;
	resp.identitylen = P11B_IDENTITY_LEN;
	strlcpy(resp.version, rq->version, sizeof(resp.version));
	answer(b, c, rq, &resp);
}

static void
handle_list(struct broker *b, struct conn *c, struct request_ctx *rq)
{
	struct wire_response resp;
	struct p11b_key_info *out;
	struct wire_key_version *kv;
	const struct key_info *ki;
	uint32_t ops;
	size_t i, n = 0;

	if (decide(b, c, rq, 0, NULL) != 0)
		return;
	out = calloc(b->nkeys + 1, sizeof(*out));
	kv = calloc(b->nkeys + 1, sizeof(*kv));
	if (out == NULL || kv == NULL) {
		free(out);
		free(kv);
		refuse(b, c, rq, P11B_INTERNAL, "out of memory");
		return;
	}
	for (i = 0; i < b->nkeys; i++) {
		ki = &b->keys[i];
		ops = policy_key_ops(b->policy, conn_peer(c),
		    generate_policy_index(b, (int)i)) &
		    crypto_key_ops(ki->type, ki->extractable);
		keyver_list_entry(b, i, &kv[n], &ops);
		if (ops == 0)
			continue;
		strlcpy(out[n].name, ki->name, sizeof(out[n].name));
		out[n].type = ki->type;
		out[n].bits = ki->bits;
		out[n].ops = ops;
		memcpy(out[n].id, ki->id, ki->idlen);
		out[n].idlen = ki->idlen;
		strlcpy(out[n].label, ki->label, sizeof(out[n].label));
		out[n].local = ki->local;
		memcpy(out[n].identity, ki->identity, P11B_IDENTITY_LEN);
		out[n].identitylen = P11B_IDENTITY_LEN;
		if (ops & (1U << P11B_OP_SIGN | 1U << P11B_OP_HMAC |
		    1U << P11B_OP_HMAC_VERIFY))
			out[n].algs = ki->algs &
			    policy_key_algs(b->policy, conn_peer(c),
			    generate_policy_index(b, (int)i));
		n++;
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = P11B_OK;
	resp.op = P11B_OP_LIST;
	resp.keys = out;
	resp.key_versions = kv;
	resp.nkeys = n;
	answer(b, c, rq, &resp);
	free(out);
	free(kv);
}

/*
 * Ready: a signer is up, and unless the monitor counts the token
 * unavailable (signers dying over and over), it has done a job: a
 * restarted signer that dies on its first request is not "ready".
 */
static int
token_ready(const struct broker *b)
{
	return joblink_ready(b->jobs) && (!b->signer_stats.unavailable ||
	    joblink_served(b->jobs));
}

/* Signer processes serving now (the front's view: links alive). */
static unsigned int
signers_up(const struct broker *b)
{
	unsigned int n = 0;
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		n += joblink_slot_up(b->jobs, i) != 0;
	return n;
}

/*
 * With several token blocks, one row each (none with one: the totals
 * are its).  Ready as token_ready() is, for the block's own signers.
 */
static size_t
token_rows(const struct broker *b, struct p11b_token_health *rows)
{
	const struct ctl_signer_stats *ss = &b->signer_stats;
	const struct config *conf = b->conf;
	struct p11b_token_health *r;
	size_t t;
	int i;

	if (conf->ntokens < 2)
		return 0;
	for (t = 0; t < conf->ntokens && t < P11B_TOKENS_MAX; t++) {
		r = &rows[t];
		memset(r, 0, sizeof(*r));
		strlcpy(r->name, conf->tokens[t].name, sizeof(r->name));
		r->signers = (unsigned int)conf->tokens[t].signers;
		for (i = 0; i < conf->signers; i++)
			if (config_slot_token(conf, i) == (int)t)
				r->signers_up += joblink_slot_up(b->jobs, i) != 0;
		r->pin_refused = ss->ntokens == conf->ntokens &&
		    ss->tokens[t].pin_refused != 0;
		r->ready = joblink_token_ready(b->jobs, (int)t) &&
		    (ss->ntokens != conf->ntokens ||
		    !ss->tokens[t].unavailable ||
		    joblink_token_served(b->jobs, (int)t));
		r->failovers = joblink_failovers(b->jobs, (int)t);
	}
	return t;
}

/* The monitor's counts of signers, as Stats carries them. */
static void
signer_counts(const struct broker *b, struct p11b_stats *st)
{
	const struct ctl_signer_stats *ss = &b->signer_stats;
	struct p11b_signer_slot *sl;
	uint32_t i;

	st->signers = (unsigned int)b->conf->signers;
	st->signers_up = signers_up(b);
	for (i = 0; i < ss->nslots && i < P11B_SIGNERS_MAX; i++) {
		sl = &st->signer_slots[i];
		sl->slot = i;
		sl->up = joblink_slot_up(b->jobs, (int)i);
		sl->looping = ss->slots[i].looping != 0;
		sl->starts = ss->slots[i].starts;
		sl->restarts = ss->slots[i].restarts;
		sl->busy = (unsigned int)joblink_slot_busy(b->jobs, (int)i);
	}
	st->nsigner_slots = i;
	if ((st->ntokens = token_rows(b, st->tokens)) > 0)
		for (i = 0; i < st->nsigner_slots; i++)
			st->signer_slots[i].token = (unsigned int)
			    config_slot_token(b->conf, (int)i);

	st->signer_starts = ss->starts;
	st->signer_restarts = ss->restarts;
	st->login_failures = ss->login_failures;
	for (i = 0; i < ss->nkills && i < P11B_SANDBOX_KILLS_MAX; i++) {
		strlcpy(st->sandbox_kills[i].syscall, ss->kills[i].syscall,
		    sizeof(st->sandbox_kills[i].syscall));
		st->sandbox_kills[i].count = ss->kills[i].count;
	}
	st->nsandbox_kills = i;
}

static void
handle_health(struct broker *b, struct conn *c, struct request_ctx *rq)
{
	struct wire_response resp;

	if (decide(b, c, rq, 0, NULL) != 0)
		return;
	memset(&resp, 0, sizeof(resp));
	resp.status = P11B_OK;
	resp.op = P11B_OP_HEALTH;
	strlcpy(resp.health.version, BROKER_VERSION,
	    sizeof(resp.health.version));
	resp.health.token_ready = token_ready(b);
	resp.health.uptime_seconds = (uint64_t)(time(NULL) - b->started);
	resp.health.workers = (unsigned int)(b->conf->workers *
	    b->conf->signers);
	resp.health.signers = (unsigned int)b->conf->signers;
	resp.health.signers_up = signers_up(b);
	resp.health.ntokens = token_rows(b, resp.health.tokens);
	answer(b, c, rq, &resp);
}

static void
handle_stats(struct broker *b, struct conn *c, struct request_ctx *rq)
{
	struct wire_response resp;
	struct audit_counters ac;

	if (decide(b, c, rq, 0, NULL) != 0)
		return;
	memset(&resp, 0, sizeof(resp));
	if (metrics_export(b->metrics, &resp.stats) != 0) {
		refuse(b, c, rq, P11B_INTERNAL, "out of memory");
		return;
	}
	resp.status = P11B_OK;
	resp.op = P11B_OP_STATS;
	resp.stats.token_ready = token_ready(b);
	signer_counts(b, &resp.stats);
	resp.stats.workers = (unsigned int)(b->conf->workers *
	    b->conf->signers);
	resp.stats.workers_busy = (unsigned int)joblink_busy(b->jobs);
	resp.stats.connections = (unsigned int)connset_count(b->conns);
	resp.stats.policy_generation = b->policy_generation;
	audit_counters(b->audit, &ac);
	resp.stats.audit_lines = ac.lines;
	resp.stats.audit_write_failures = ac.write_failures;
	resp.stats.audit_copies_dropped = ac.copies_dropped;
	resp.stats.audit_checkpoint_time = ac.checkpoint_time;
	resp.stats.uptime_seconds = (uint64_t)(time(NULL) - b->started);
	answer(b, c, rq, &resp);
	free(resp.stats.requests);
	free(resp.stats.callers);
}

void
dispatch_frame(struct broker *b, struct conn *c, const uint8_t *body,
    size_t len)
{
	struct wire_request req;
	struct request_ctx rq;
	int r;

	r = wire_request_decode(body, len, &req);
	request_ctx_init(b, &rq, &req);
	if (r == WIRE_ERR_DECODE) {
		/*
		 * Bytes that are not protobuf mean a broken client: answer
		 * and hang up.  A well-formed request with bad fields (a
		 * newer client's enum value, say) only fails itself.
		 */
		wire_request_free(&req);
		dispatch_frame_error(b, c, P11B_BAD_REQUEST,
		    "malformed message");
		return;
	}
	if (r != 0 && req.stream == WIRE_STREAM_DATA) {
		stream_bad_part(b, c, req.id);
		wire_request_free(&req);
		return;
	}
	if (r != 0) {
		refuse(b, c, &rq, P11B_BAD_REQUEST, "invalid request fields");
		wire_request_free(&req);
		return;
	}
	/* The rest of a stream: decided at its first frame. */
	if (req.stream == WIRE_STREAM_DATA) {
		stream_data(b, c, &req);
		wire_request_free(&req);
		return;
	}
	if (audit_refusing(b->audit)) {
		refuse(b, c, &rq, P11B_INTERNAL, AUDIT_UNAVAILABLE);
		wire_request_free(&req);
		return;
	}
	if (req.stream == WIRE_STREAM_BEGIN) {
		handle_stream(b, c, &rq, &req);
		wire_request_free(&req);
		return;
	}
	if (req.batch != NULL) {
		batch_handle(b, c, &rq, &req, check_keyed);
		wire_request_free(&req);
		return;
	}
	switch (req.op) {
	case P11B_OP_SIGN:
	case P11B_OP_HMAC:
	case P11B_OP_HMAC_VERIFY:
	case P11B_OP_SECRET:
		handle_keyed(b, c, &rq, &req);
		break;
	case P11B_OP_PUBKEY:
		handle_pubkey(b, c, &rq, &req);
		break;
	case P11B_OP_RANDOM:
		handle_random(b, c, &rq, &req);
		break;
	case P11B_OP_LIST:
		handle_list(b, c, &rq);
		break;
	case P11B_OP_HEALTH:
		handle_health(b, c, &rq);
		break;
	case P11B_OP_STATS:
		handle_stats(b, c, &rq);
		break;
	case P11B_OP_GENERATE:
		generate_handle(b, c, &rq, &req);
		break;
	case P11B_OP_NONE:
		refuse(b, c, &rq, P11B_BAD_REQUEST, "no operation");
		break;
	}
	wire_request_free(&req);
}

/* A job's result (or its failure): the answer, then the job is gone. */
static void
pending_done(struct work *work)
{
	struct pending *p = work->arg;
	struct broker *b = p->b;
	struct job_result *res = &work->res;
	struct wire_response resp;
	/* conn_release() may free the connection (and its groups) */
	struct peer_cred peer = *conn_peer(p->conn);

	peer.groups = NULL;
	peer.ngroups = 0;
	if (keyver_verify_next(b, &p->rq, work))
		return;			/* on to an older version */

	/* Started before a reload: count it under the key's new index. */
	if (work->gen != b->keyset && p->rq.key_index >= 0)
		p->rq.key_index = config_key_index(b->conf, p->rq.key);
	memset(&resp, 0, sizeof(resp));
	resp.status = res->status;
	resp.message = res->message;
	resp.op = work->job.op;
	resp.out = res->out;
	resp.outlen = res->outlen;
	resp.valid = res->valid;
	if (resp.op != P11B_OP_HMAC_VERIFY || resp.valid) {
		strlcpy(resp.version, p->rq.version, sizeof(resp.version));
		resp.previous = keyver_previous(b, &p->rq);
	} else
		p->rq.version[0] = '\0';	/* no version matched */
	if (conn_release(p->conn, pending_bytes(&work->job)))
		answer(b, p->conn, &p->rq, &resp);
	else				/* the caller hung up */
		(void)audit_decision(b->audit, &peer, &p->rq, &resp, 1);
	job_result_clear(res);
	keygen_release(work->gen);
	freezero(work->job.in, work->job.inlen);
	free(work->job.mac);
	free(p);
}
