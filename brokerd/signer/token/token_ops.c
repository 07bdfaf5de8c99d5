/*
 * Hot path: one job on one worker's session, straight through the
 * module's function list on cached handles.  The job was validated by
 * the dispatcher; the checks here repeat the ones that protect the token
 * (key/algorithm fit, lengths), because this side must not trust the
 * other once they are separate processes.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "token_int.h"

#define MAX_SIGNATURE	1024		/* RSA-8192 */

/* Modules differ on (NULL, 0) input; an empty message is never NULL. */
static uint8_t empty_input[1];

static void
result_set(struct job_result *res, int status, const char *msg)
{
	res->status = status;
	res->message = msg;
}

/*
 * Map a failed call to a status.  Session, device and handle faults mark
 * the session faulted: the signer then exits and the monitor starts a
 * new one (module initialised, logged in, keys resolved again).
 */
static void
result_ckr(struct token_session *sess, struct job_result *res,
    const char *call, CK_RV rv)
{
	log_warnx("%s: %s", call, token_ckr_name(rv));
	switch (rv) {
	case CKR_DATA_INVALID:
	case CKR_DATA_LEN_RANGE:
		result_set(res, P11B_BAD_REQUEST, "input rejected by the token");
		return;
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_SIZE_RANGE:
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_ATTRIBUTE_SENSITIVE:
		result_set(res, P11B_UNSUPPORTED, "operation not permitted by "
		    "the token for this key");
		return;
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_MEMORY:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
		/* The token is unhealthy: the signer starts over. */
		sess->open = 0;
		sess->faulted = 1;
		result_set(res, P11B_TOKEN_UNAVAILABLE, "token unavailable");
		return;
	}
	result_set(res, P11B_INTERNAL, "token error");
}

static int
session_ensure(struct token_session *sess, struct job_result *res)
{
	struct token *tok = sess->tok;
	CK_RV rv;

	if (sess->open)
		return 0;
	(void)tok->f->C_CloseSession(sess->h);
	rv = tok->f->C_OpenSession(tok->slotid, CKF_SERIAL_SESSION, NULL,
	    NULL, &sess->h);
	if (rv != CKR_OK) {
		log_warnx("%s: C_OpenSession: %s", tok->desc,
		    token_ckr_name(rv));
		result_set(res, P11B_TOKEN_UNAVAILABLE, "token unavailable");
		return -1;
	}
	sess->open = 1;
	return 0;
}

/* C_SignInit + C_Sign into a fresh buffer. */
static int
sign_raw(struct token_session *sess, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key, const uint8_t *in, size_t inlen,
    struct job_result *res)
{
	CK_FUNCTION_LIST *f = sess->tok->f;
	CK_ULONG outlen = MAX_SIGNATURE;
	CK_RV rv;

	if ((res->out = malloc(MAX_SIGNATURE)) == NULL) {
		result_set(res, P11B_INTERNAL, "out of memory");
		return -1;
	}
	if ((rv = f->C_SignInit(sess->h, mech, key)) != CKR_OK) {
		result_ckr(sess, res, "C_SignInit", rv);
		return -1;
	}
	if (in == NULL)
		in = empty_input;
	if ((rv = f->C_Sign(sess->h, (CK_BYTE_PTR)in, inlen, res->out,
	    &outlen)) != CKR_OK) {
		result_ckr(sess, res, "C_Sign", rv);
		return -1;
	}
	res->outlen = outlen;
	return 0;
}

static int
ecdsa_to_der(const struct key_info *ki, struct job_result *res)
{
	uint8_t der[2 * 66 + 9];
	size_t len;

	if (res->outlen != 2 * alg_ec_field_len(ki->type) ||
	    crypto_ecdsa_raw_to_der(res->out, res->outlen, der, sizeof(der),
	    &len) != 0) {
		log_warnx("key %s: token returned a %zu-byte ECDSA signature",
		    ki->name, res->outlen);
		result_set(res, P11B_INTERNAL, "malformed signature from token");
		return -1;
	}
	memcpy(res->out, der, len);
	res->outlen = len;
	return 0;
}

/*
 * What the token signs for a job: the digest (ECDSA, PSS), the DigestInfo
 * (PKCS#1 v1.5), the message (Ed25519) or the input as given (raw PKCS#1
 * v1.5, which the dispatcher bounded by the key's k - 11).
 */
static int
sign_input(const struct job *job, const struct alg_info *ai,
    uint8_t digest[CRYPTO_MAX_DIGEST], uint8_t di[CRYPTO_MAX_DIGESTINFO],
    const uint8_t **tbsp, size_t *tbslenp, struct job_result *res)
{
	size_t dlen = ai->digest_len;

	if (ai->family == ALG_FAMILY_EDDSA || ai->family == ALG_FAMILY_RSA_RAW) {
		if (job->flags & P11B_SIGN_DIGEST) {
			result_set(res, P11B_BAD_REQUEST, "this algorithm "
			    "signs the input as given, not a digest");
			return -1;
		}
		*tbsp = job->in != NULL ? job->in : empty_input;
		*tbslenp = job->inlen;
		return 0;
	}
	if (job->flags & P11B_SIGN_DIGEST) {
		if (job->inlen != dlen) {
			result_set(res, P11B_BAD_REQUEST, "digest length does "
			    "not match the algorithm");
			return -1;
		}
		memcpy(digest, job->in, dlen);
	} else if (crypto_digest(job->alg, job->in, job->inlen, digest,
	    &dlen) != 0) {
		result_set(res, P11B_INTERNAL, "digest failed");
		return -1;
	}
	*tbsp = digest;
	*tbslenp = dlen;
	if (ai->family == ALG_FAMILY_RSA_PKCS1) {
		if (crypto_digestinfo(job->alg, digest, dlen, di,
		    tbslenp) != 0) {
			result_set(res, P11B_INTERNAL, "DigestInfo failed");
			return -1;
		}
		*tbsp = di;
	}
	return 0;
}

static void
do_sign(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	const struct key_info *ki = &sess->tok->keys->info[job->key];
	const struct key_handles *kh = &sess->tok->keys->handles[job->key];
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM mech = { 0, NULL, 0 };
	uint8_t digest[CRYPTO_MAX_DIGEST], di[CRYPTO_MAX_DIGESTINFO];
	const uint8_t *tbs;
	const struct alg_info *ai = alg_info(job->alg);
	size_t tbslen;
	enum alg_family fam;
	int salt = -1;

	if (ai == NULL || ai->family == ALG_FAMILY_HMAC) {
		result_set(res, P11B_BAD_REQUEST, "not a signature algorithm");
		return;
	}
	fam = ai->family;
	mech.mechanism = ai->mechanism;
	/* The dispatcher checked these; this side does not trust it. */
	if (job->salt_set && (fam != ALG_FAMILY_RSA_PSS ||
	    (long)job->salt_len > alg_pss_salt_max(job->alg, ki->bits))) {
		result_set(res, P11B_BAD_REQUEST, "salt length out of range");
		return;
	}
	if (fam == ALG_FAMILY_RSA_RAW && job->inlen > alg_rsa_raw_max(ki->bits)) {
		result_set(res, P11B_BAD_REQUEST, "input longer than the key "
		    "can pad");
		return;
	}
	if (sign_input(job, ai, digest, di, &tbs, &tbslen, res) != 0)
		return;
	if (fam == ALG_FAMILY_RSA_PSS) {
		salt = job->salt_set ? (int)job->salt_len : (int)tbslen;
		pss.hashAlg = ai->hash_mechanism;
		pss.mgf = ai->mgf;
		pss.sLen = (CK_ULONG)salt;
		mech.pParameter = &pss;
		mech.ulParameterLen = sizeof(pss);
	}
	if (sign_raw(sess, &mech, kh->obj, tbs, tbslen, res) != 0)
		return;
	if (kh->low_s && fam == ALG_FAMILY_ECDSA &&
	    crypto_ecdsa_low_s(ki->type, res->out, res->outlen) < 0) {
		result_set(res, P11B_INTERNAL, "cannot normalise the "
		    "signature");
		return;
	}
	/* The digest for ECDSA and RSA (not the DigestInfo), else tbs. */
	if (kh->verify && crypto_verify(kh->pubkey, job->alg, salt,
	    fam == ALG_FAMILY_RSA_PKCS1 ? digest : tbs, fam ==
	    ALG_FAMILY_RSA_PKCS1 ? ai->digest_len : tbslen, res->out,
	    res->outlen) != 1) {
		log_warnx("key %s: the token returned a signature that does "
		    "not verify; it was not passed on", ki->name);
		result_set(res, P11B_INTERNAL, "the token's signature did not "
		    "verify");
		return;
	}
	if (fam == ALG_FAMILY_ECDSA && !(job->flags & P11B_SIGN_RAW) &&
	    ecdsa_to_der(ki, res) != 0)
		return;
	result_set(res, P11B_OK, "");
}

static void
do_hmac(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	const struct alg_info *ai = alg_info(job->alg);
	CK_MECHANISM mech = { 0, NULL, 0 };
	uint8_t *mac;
	size_t len;

	if (ai == NULL || ai->family != ALG_FAMILY_HMAC) {
		result_set(res, P11B_BAD_REQUEST, "not an HMAC algorithm");
		return;
	}
	mech.mechanism = ai->mechanism;
	len = ai->digest_len;

	if (sign_raw(sess, &mech, sess->tok->keys->handles[job->key].obj,
	    job->in, job->inlen, res) != 0)
		return;
	if (res->outlen != len) {
		result_set(res, P11B_INTERNAL, "token returned a MAC of the "
		    "wrong length");
		return;
	}
	if (job->op == P11B_OP_HMAC_VERIFY) {
		mac = res->out;
		res->valid = job->maclen == len &&
		    crypto_equal(mac, job->mac, len);
		explicit_bzero(mac, len);
		free(mac);
		res->out = NULL;
		res->outlen = 0;
	}
	result_set(res, P11B_OK, "");
}

static void
do_secret(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	CK_RV rv;

	res->secret = 1;
	rv = token_get_attr(sess->tok, sess->h,
	    sess->tok->keys->handles[job->key].obj, CKA_VALUE, &res->out,
	    &res->outlen);
	if (rv != CKR_OK) {
		result_ckr(sess, res, "C_GetAttributeValue(CKA_VALUE)", rv);
		return;
	}
	result_set(res, P11B_OK, "");
}

static void
do_random(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	CK_RV rv;

	if (job->random_len == 0 || job->random_len > P11B_RANDOM_MAX) {
		result_set(res, P11B_BAD_REQUEST, "bad random length");
		return;
	}
	if ((res->out = malloc(job->random_len)) == NULL) {
		result_set(res, P11B_INTERNAL, "out of memory");
		return;
	}
	rv = sess->tok->f->C_GenerateRandom(sess->h, res->out,
	    job->random_len);
	if (rv != CKR_OK) {
		result_ckr(sess, res, "C_GenerateRandom", rv);
		return;
	}
	res->outlen = job->random_len;
	result_set(res, P11B_OK, "");
}

/* The checks that keep a confused caller from reaching the token. */
static int
job_valid(const struct token_keyset *ks, const struct job *job)
{
	const struct key_info *ki;

	if (job->op == P11B_OP_RANDOM)
		return job->key == -1;
	if (ks == NULL || job->key < 0 ||
	    (size_t)job->key >= token_keyset_count(ks))
		return 0;
	ki = &ks->info[job->key];
	if (!(crypto_key_ops(ki->type, ki->extractable) & (1U << job->op)))
		return 0;
	if (job->op == P11B_OP_SECRET)
		return 1;
	return alg_fits_key(job->alg, ki->type);
}

void
token_execute(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!job_valid(sess->tok->keys, job)) {
		result_set(res, P11B_BAD_REQUEST, "operation does not fit "
		    "the key");
		return;
	}
	if (session_ensure(sess, res) != 0)
		return;
	if (job->stream != JOB_WHOLE) {
		token_stream_execute(sess, job, res);
		if (res->status != P11B_OK)
			job_result_clear(res);
		return;
	}
	switch (job->op) {
	case P11B_OP_SIGN:
		do_sign(sess, job, res);
		break;
	case P11B_OP_HMAC:
	case P11B_OP_HMAC_VERIFY:
		do_hmac(sess, job, res);
		break;
	case P11B_OP_SECRET:
		do_secret(sess, job, res);
		break;
	case P11B_OP_RANDOM:
		do_random(sess, job, res);
		break;
	case P11B_OP_PUBKEY:
	case P11B_OP_LIST:
	case P11B_OP_HEALTH:
	case P11B_OP_STATS:
	case P11B_OP_GENERATE:		/* token_generate() */
	case P11B_OP_NONE:
		result_set(res, P11B_BAD_REQUEST, "not a token operation");
		break;
	}
	if (res->status != P11B_OK)
		job_result_clear(res);
}

/*
 * The algorithms of the key's type whose mechanism the token offers for
 * signing at the key's size: SoftHSM2, for one, refuses HMAC-SHA512 with
 * a 32-byte key (CKR_KEY_SIZE_RANGE), so the broker must not offer it.
 * Key sizes are bits, bytes for HMAC keys (as PKCS#11 counts them); a
 * range of 0..0 says nothing, nor does one for EdDSA (a curve, which
 * tokens count as 255, 256 or 456 bits).  A module that cannot answer
 * at all keeps every algorithm: the token then decides per request.
 */
uint32_t
token_key_algs(struct token *tok, const struct key_info *ki)
{
	const struct alg_info *ai;
	CK_MECHANISM_INFO mi;
	CK_ULONG size;
	uint32_t mask = 0;
	size_t i;
	CK_RV rv;

	for (i = 0; (ai = alg_row(i)) != NULL; i++) {
		if (ai->key != ki->type)
			continue;
		memset(&mi, 0, sizeof(mi));
		rv = tok->f->C_GetMechanismInfo(tok->slotid, ai->mechanism,
		    &mi);
		if (rv == CKR_MECHANISM_INVALID) {
			log_debug("key %s: %s: the token has no mechanism "
			    "0x%lx", ki->name, ai->name, ai->mechanism);
			continue;
		}
		if (rv != CKR_OK) {
			mask |= 1U << ai->alg;
			continue;
		}
		size = ai->family == ALG_FAMILY_HMAC ? ki->bits / 8 :
		    ki->bits;
		if (!(mi.flags & CKF_SIGN)) {
			log_info("key %s: %s not offered: the token's "
			    "mechanism 0x%lx does not sign", ki->name,
			    ai->name, ai->mechanism);
			continue;
		}
		if (ai->family != ALG_FAMILY_EDDSA && mi.ulMaxKeySize != 0 &&
		    (size < mi.ulMinKeySize || size > mi.ulMaxKeySize)) {
			log_info("key %s: %s not offered: the token signs "
			    "with it only for key sizes %lu..%lu", ki->name,
			    ai->name, mi.ulMinKeySize, mi.ulMaxKeySize);
			continue;
		}
		mask |= 1U << ai->alg;
	}
	return mask;
}

int
token_session_faulted(const struct token_session *sess)
{
	return sess->faulted;
}

/* For token_stream.c (token_int.h). */
void
token_result_set(struct job_result *res, int status, const char *msg)
{
	result_set(res, status, msg);
}

void
token_result_ckr(struct token_session *sess, struct job_result *res,
    const char *call, CK_RV rv)
{
	result_ckr(sess, res, call, rv);
}

void
token_do_sign(struct token_session *sess, const struct job *job,
    struct job_result *res)
{
	do_sign(sess, job, res);
}
