/*
 * GENERATE_KEY: a key made on the token inside a keyspace the policy
 * grants the caller ("permit user U generate SPACE").  The label names
 * the keyspace (its prefix) and becomes the key's name; the type must be
 * one the keyspace holds.  The signer that makes it answers with the
 * new key, which joins the front's keys at once: a keyspace key's jobs
 * name it by label and CKA_ID, so every signer process can serve it
 * whether or not it made it (signer/token/token_gen.c).
 */
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "audit.h"
#include "broker.h"
#include "clock.h"
#include "conn_ops.h"
#include "crypto.h"
#include "dispatch.h"
#include "keyspace.h"
#include "log.h"
#include "signers.h"

#define MSG_OUTSIDE	"label outside every keyspace this caller may " \
			"generate in"

struct gen_pending {
	struct work		 work;	/* first */
	struct broker		*b;
	struct conn		*conn;
	struct request_ctx	 rq;
};

int
generate_policy_index(const struct broker *b, int key)
{
	if (key < 0 || (size_t)key >= b->nkeys || b->keys[key].space < 0)
		return key;
	return KEYSPACE_POLICY_INDEX(b->keys[key].space);
}

static int
name_taken(const struct broker *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nkeys; i++)
		if (strcmp(b->keys[i].name, name) == 0)
			return 1;
	return 0;
}

/* The new key joins the current keys (a new generation of them). */
static int
keys_add(struct broker *b, struct key_info *ki)
{
	char desc[SMSG_TEXT_MAX + 1];
	struct key_info *keys;
	struct keygen *kg;
	size_t n = b->nkeys;

	if (name_taken(b, ki->name))	/* known already: the same object */
		return 0;
	if ((keys = key_info_dup(b->keys, n, 1)) == NULL)
		return -1;
	keys[n] = *ki;
	memset(ki, 0, sizeof(*ki));	/* its buffers are the array's now */
	if (keys[n].space >= 0 && (size_t)keys[n].space < b->conf->nkeyspaces)
		keys[n].tokens = 1U << b->conf->keyspaces[keys[n].space].token;
	if ((kg = keygen_new(keys, n + 1)) == NULL) {
		key_info_free(keys, n + 1);
		return -1;
	}
	if (metrics_rekey(b->metrics, keys, n + 1) != 0) {
		keygen_release(kg);
		return -1;
	}
	strlcpy(desc, b->token_desc, sizeof(desc));
	front_use_keys(b, kg, desc);
	return 0;
}

/* What the caller gets: the key as list-keys shows it, and its SPKI. */
static void
answer_new(struct broker *b, struct gen_pending *p, struct wire_response *resp,
    struct p11b_key_info *out, const struct key_info *ki)
{
	int key = -1;
	size_t i;

	for (i = 0; i < b->nkeys; i++)
		if (strcmp(b->keys[i].name, ki->name) == 0)
			key = (int)i;
	memset(out, 0, sizeof(*out));
	strlcpy(out->name, ki->name, sizeof(out->name));
	out->type = ki->type;
	out->bits = ki->bits;
	out->ops = policy_key_ops(b->policy, conn_peer(p->conn),
	    generate_policy_index(b, key)) &
	    crypto_key_ops(ki->type, ki->extractable);
	out->algs = ki->algs & policy_key_algs(b->policy, conn_peer(p->conn),
	    generate_policy_index(b, key));
	memcpy(out->id, ki->id, ki->idlen);
	out->idlen = ki->idlen;
	strlcpy(out->label, ki->label, sizeof(out->label));
	out->local = ki->local;
	memcpy(out->identity, ki->identity, P11B_IDENTITY_LEN);
	out->identitylen = P11B_IDENTITY_LEN;
	resp->keys = out;
	resp->nkeys = 1;
	resp->out = ki->spki;
	resp->outlen = ki->spkilen;
}

static void
generate_done(struct work *work)
{
	struct gen_pending *p = work->arg;
	struct broker *b = p->b;
	struct job_result *res = &work->res;
	struct wire_response resp;
	struct p11b_key_info out;
	struct smsg_hello hello;
	struct peer_cred peer = *conn_peer(p->conn);
	int have = 0;

	peer.groups = NULL;
	peer.ngroups = 0;
	memset(&resp, 0, sizeof(resp));
	memset(&hello, 0, sizeof(hello));
	resp.status = res->status;
	resp.message = res->message;
	resp.op = P11B_OP_GENERATE;
	if (res->status == P11B_OK) {
		if (smsg_hello_decode(res->out, res->outlen, &hello) !=
		    SMSG_OK || hello.nkeys != 1 || hello.keys[0].space < 0 ||
		    strcmp(hello.keys[0].name, p->rq.key) != 0) {
			log_warnx("generate %s: the signer's answer is "
			    "malformed", p->rq.key);
			resp.status = P11B_INTERNAL;
			resp.message = "malformed answer from the signer";
		} else {
			have = 1;
			answer_new(b, p, &resp, &out, &hello.keys[0]);
		}
	}
	if (conn_release(p->conn, sizeof(*p)))
		answer_send(b, p->conn, &p->rq, &resp);
	else
		(void)audit_decision(b->audit, &peer, &p->rq, &resp, 1);
	/* Usable at once, whether or not the caller is still there. */
	if (have && keys_add(b, &hello.keys[0]) != 0)
		log_warnx("generate %s: out of memory; the key is usable "
		    "after a reload", p->rq.key);
	smsg_hello_free(&hello);
	job_result_clear(res);
	keygen_release(work->gen);
	free(p);
}

static int
check_request(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req, int *spacep)
{
	struct policy_request pr;
	const struct keyspace *ks;
	const char *why;
	int space, t, status;

	space = keyspace_of_label(b->conf->keyspaces, b->conf->nkeyspaces,
	    req->key);
	memset(&pr, 0, sizeof(pr));
	pr.op = P11B_OP_GENERATE;
	pr.key = space < 0 ? -1 : KEYSPACE_POLICY_INDEX(space);
	pr.now_ns = clock_ns();
	/* Outside every keyspace or outside the caller's: one answer. */
	status = space < 0 ? P11B_DENIED : policy_check(b->policy,
	    conn_peer(c), &pr, &why);
	if (status != P11B_OK) {
		answer_refuse(b, c, rq, status, status == P11B_DENIED ?
		    MSG_OUTSIDE : why);
		return -1;
	}
	ks = &b->conf->keyspaces[space];
	if ((t = keyspace_type_of(req->gen_type, req->gen_bits)) < 0) {
		answer_refuse(b, c, rq, P11B_BAD_REQUEST, "unsupported key "
		    "type or size (ec-p256, ec-p384, rsa 2048/3072, ed25519, "
		    "secret 256/384/512)");
		return -1;
	}
	rq->gen_what = keyspace_type_name(t);
	if (!(ks->types & (1U << t))) {
		answer_refuse(b, c, rq, P11B_DENIED, "key type not allowed in "
		    "this keyspace");
		return -1;
	}
	if (name_taken(b, req->key)) {
		answer_refuse(b, c, rq, P11B_BAD_REQUEST, "a key with this "
		    "label exists");
		return -1;
	}
	*spacep = space;
	return 0;
}

void
generate_handle(struct broker *b, struct conn *c, struct request_ctx *rq,
    const struct wire_request *req)
{
	struct gen_pending *p;
	struct job *job;
	int space;

	if (check_request(b, c, rq, req, &space) != 0)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		answer_refuse(b, c, rq, P11B_INTERNAL, "out of memory");
		return;
	}
	job = &p->work.job;
	job->op = P11B_OP_GENERATE;
	job->key = -1;
	job->by_label = 1;
	strlcpy(job->label, req->key, sizeof(job->label));
	if (req->gen_idlen > 0)		/* none: the signer picks one */
		memcpy(job->kid, req->gen_id, req->gen_idlen);
	job->kidlen = req->gen_idlen;
	job->gen_type = req->gen_type;
	job->gen_bits = req->gen_bits;
	/* Made on the keyspace's token block. */
	p->work.tokens = 1U << b->conf->keyspaces[space].token;
	p->work.gen = b->keyset;
	p->work.done = generate_done;
	p->work.arg = p;
	p->b = b;
	p->conn = c;
	p->rq = *rq;
	p->rq.data = NULL;
	keygen_hold(b->keyset);
	conn_hold(c, sizeof(*p));
	joblink_submit(b->jobs, &p->work);
}
