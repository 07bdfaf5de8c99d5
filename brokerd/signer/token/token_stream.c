/*
 * Streamed inputs (job.h): a begin, updates, and a final or an abort,
 * on one worker.  An HMAC stream has a PKCS#11 session of its own,
 * opened at the begin and closed at the end, so that the worker's own
 * session stays free for other jobs between the parts: a stream that
 * waits for its client holds a session, never a worker.  A signature
 * needs no token state until the final: the message is hashed here
 * (ECDSA, RSA) or, for Ed25519, kept whole, because PKCS#11 has no
 * multi-part EdDSA (SoftHSM2 refuses C_SignUpdate for CKM_EDDSA); the
 * front bounds it by max-input and counts it in its memory budget.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "crypto.h"
#include "log.h"
#include "token_int.h"

/* What Ed25519 may keep whole, at most (max-input is at most this). */
#define STREAM_WHOLE_MAX	(1024UL * 1024 * 1024)

struct token_stream {
	int			 used;
	uint16_t		 sid;
	int			 key;
	enum p11b_op		 op;
	enum p11b_alg		 alg;
	int			 flags;
	int			 salt_set;	/* RSA-PSS salt given */
	unsigned int		 salt_len;
	CK_SESSION_HANDLE	 h;		/* HMAC: the stream's session */
	int			 have_session;
	EVP_MD_CTX		*md;		/* ECDSA, RSA: the digest */
	struct buf		 whole;		/* Ed25519: the message */
};

static void
stream_close(struct token_session *sess, struct token_stream *st)
{
	/* Closing the session ends an unfinished C_SignUpdate too. */
	if (st->have_session)
		(void)sess->tok->f->C_CloseSession(st->h);
	EVP_MD_CTX_free(st->md);
	buf_wipe_free(&st->whole);
	memset(st, 0, sizeof(*st));
}

void
token_streams_close(struct token_session *sess)
{
	size_t i;

	if (sess->streams == NULL)
		return;
	for (i = 0; i < TOKEN_STREAMS_MAX; i++)
		if (sess->streams[i].used)
			stream_close(sess, &sess->streams[i]);
	free(sess->streams);
	sess->streams = NULL;
}

static struct token_stream *
stream_find(struct token_session *sess, uint16_t sid)
{
	size_t i;

	if (sess->streams == NULL)
		return NULL;
	for (i = 0; i < TOKEN_STREAMS_MAX; i++)
		if (sess->streams[i].used && sess->streams[i].sid == sid)
			return &sess->streams[i];
	return NULL;
}

static struct token_stream *
stream_slot(struct token_session *sess)
{
	size_t i;

	if (sess->streams == NULL && (sess->streams =
	    calloc(TOKEN_STREAMS_MAX, sizeof(*sess->streams))) == NULL)
		return NULL;
	for (i = 0; i < TOKEN_STREAMS_MAX; i++)
		if (!sess->streams[i].used)
			return &sess->streams[i];
	return NULL;
}

/* HMAC: a session of its own, the MAC started on it. */
static int
stream_hmac_begin(struct token_session *sess, struct token_stream *st,
    struct job_result *res)
{
	struct token *tok = sess->tok;
	const struct alg_info *ai = alg_info(st->alg);
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_RV rv;

	if (ai == NULL || ai->family != ALG_FAMILY_HMAC) {
		token_result_set(res, P11B_BAD_REQUEST, "not an HMAC "
		    "algorithm");
		return -1;
	}
	rv = tok->f->C_OpenSession(tok->slotid, CKF_SERIAL_SESSION, NULL,
	    NULL, &st->h);
	if (rv != CKR_OK) {
		token_result_ckr(sess, res, "C_OpenSession", rv);
		return -1;
	}
	st->have_session = 1;
	mech.mechanism = ai->mechanism;
	rv = tok->f->C_SignInit(st->h, &mech,
	    tok->keys->handles[st->key].obj);
	if (rv != CKR_OK) {
		token_result_ckr(sess, res, "C_SignInit", rv);
		return -1;
	}
	return 0;
}

/* A signature: the digest started, or the message kept whole. */
static int
stream_sign_begin(struct token_stream *st, struct job_result *res)
{
	const struct alg_info *ai = alg_info(st->alg);

	if (ai == NULL || ai->family == ALG_FAMILY_HMAC ||
	    (st->flags & P11B_SIGN_DIGEST)) {
		token_result_set(res, P11B_BAD_REQUEST, "a stream signs a "
		    "message, not a digest");
		return -1;
	}
	if (ai->family == ALG_FAMILY_EDDSA)
		return 0;
	if ((st->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(st->md, crypto_alg_md(st->alg), NULL) != 1) {
		token_result_set(res, P11B_INTERNAL, "digest failed");
		return -1;
	}
	return 0;
}

static int
stream_update(struct token_session *sess, struct token_stream *st,
    const struct job *job, struct job_result *res)
{
	CK_RV rv;

	if (job->inlen == 0)
		return 0;
	if (st->op != P11B_OP_SIGN) {
		rv = sess->tok->f->C_SignUpdate(st->h, job->in, job->inlen);
		if (rv != CKR_OK) {
			token_result_ckr(sess, res, "C_SignUpdate", rv);
			return -1;
		}
		return 0;
	}
	if (st->md != NULL) {
		if (EVP_DigestUpdate(st->md, job->in, job->inlen) != 1) {
			token_result_set(res, P11B_INTERNAL, "digest failed");
			return -1;
		}
		return 0;
	}
	if (job->inlen > STREAM_WHOLE_MAX - st->whole.len) {
		token_result_set(res, P11B_TOO_LARGE, "input over the limit");
		return -1;
	}
	if (buf_append(&st->whole, job->in, job->inlen) != 0) {
		token_result_set(res, P11B_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

static void
stream_hmac_final(struct token_session *sess, struct token_stream *st,
    const struct job *job, struct job_result *res)
{
	CK_ULONG outlen = CRYPTO_MAX_DIGEST;
	CK_RV rv;

	if ((res->out = malloc(CRYPTO_MAX_DIGEST)) == NULL) {
		token_result_set(res, P11B_INTERNAL, "out of memory");
		return;
	}
	rv = sess->tok->f->C_SignFinal(st->h, res->out, &outlen);
	if (rv != CKR_OK) {
		token_result_ckr(sess, res, "C_SignFinal", rv);
		return;
	}
	res->outlen = outlen;
	if (outlen != alg_info(st->alg)->digest_len) {
		token_result_set(res, P11B_INTERNAL, "token returned a MAC of "
		    "the wrong length");
		return;
	}
	if (job->op == P11B_OP_HMAC_VERIFY) {
		/* The caller learns valid or not, never the MAC. */
		res->valid = job->maclen == outlen &&
		    crypto_equal(res->out, job->mac, outlen);
		freezero(res->out, CRYPTO_MAX_DIGEST);
		res->out = NULL;
		res->outlen = 0;
	}
	token_result_set(res, P11B_OK, "");
}

/* The signature over what came, by the whole-input code on our session. */
static void
stream_sign_final(struct token_session *sess, struct token_stream *st,
    struct job_result *res)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	struct job whole;

	memset(&whole, 0, sizeof(whole));
	whole.key = st->key;
	whole.op = P11B_OP_SIGN;
	whole.alg = st->alg;
	whole.flags = st->flags;
	whole.salt_set = st->salt_set;
	whole.salt_len = st->salt_len;
	if (st->md != NULL) {
		if (EVP_DigestFinal_ex(st->md, digest, &dlen) != 1) {
			token_result_set(res, P11B_INTERNAL, "digest failed");
			return;
		}
		whole.flags |= P11B_SIGN_DIGEST;
		whole.in = digest;
		whole.inlen = dlen;
	} else {
		whole.in = st->whole.p;
		whole.inlen = st->whole.len;
	}
	token_do_sign(sess, &whole, res);
	explicit_bzero(digest, sizeof(digest));
}

static void
stream_begin(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	struct token_stream *st;
	int r;

	if (stream_find(sess, job->sid) != NULL) {
		token_result_set(res, P11B_BAD_REQUEST, "stream id in use");
		return;
	}
	if ((st = stream_slot(sess)) == NULL) {
		token_result_set(res, P11B_RATE_LIMITED, "too many streams on "
		    "this worker");
		return;
	}
	st->used = 1;
	st->sid = job->sid;
	st->key = job->key;
	st->op = job->op;
	st->salt_set = job->salt_set;
	st->salt_len = job->salt_len;
	st->alg = job->alg;
	st->flags = job->flags;
	if (st->op == P11B_OP_SIGN)
		r = stream_sign_begin(st, res);
	else
		r = stream_hmac_begin(sess, st, res);
	if (r != 0 || stream_update(sess, st, job, res) != 0) {
		stream_close(sess, st);
		return;
	}
	token_result_set(res, P11B_OK, "");
}

void
token_stream_execute(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	struct token_stream *st;

	if (job->stream == JOB_STREAM_BEGIN) {
		stream_begin(sess, job, res);
		return;
	}
	st = stream_find(sess, job->sid);
	if (job->stream == JOB_STREAM_ABORT) {
		if (st != NULL)
			stream_close(sess, st);
		token_result_set(res, P11B_OK, "");
		return;
	}
	if (st == NULL || st->key != job->key || st->op != job->op ||
	    st->alg != job->alg || st->flags != job->flags) {
		token_result_set(res, P11B_BAD_REQUEST, "no such stream");
		return;
	}
	if (stream_update(sess, st, job, res) != 0) {
		stream_close(sess, st);
		return;
	}
	if (job->stream == JOB_STREAM_UPDATE) {
		token_result_set(res, P11B_OK, "");
		return;
	}
	if (st->op == P11B_OP_SIGN)
		stream_sign_final(sess, st, res);
	else
		stream_hmac_final(sess, st, job, res);
	stream_close(sess, st);
}
