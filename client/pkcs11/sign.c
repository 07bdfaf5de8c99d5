/*
 * Signing: C_SignInit, C_Sign, C_SignUpdate, C_SignFinal.  One operation
 * is one broker request; the signature length is known from the key, so
 * the length-query idiom (C_Sign with no buffer, then again) costs no
 * round trip.  Many threads sign at once on their own sessions; their
 * requests share the pipelined connection.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "module.h"

/*
 * Check a mechanism against a key and prepare the operation.  verify
 * selects the checks for C_VerifyInit.
 */
CK_RV
op_setup(struct op *op, const CK_MECHANISM *mech, struct object *obj,
    int verify)
{
	const struct mech_info *mi;
	struct key *key = obj->key;
	const char *pss_hash = NULL;
	const struct attr *a;
	enum p11b_alg alg = P11B_ALG_NONE;
	long salt = -1;
	CK_RV rv;

	if ((mi = mech_lookup(mech->mechanism)) == NULL)
		return CKR_MECHANISM_INVALID;
	if (!mech_fits_key(mi, key))
		return CKR_KEY_TYPE_INCONSISTENT;
	a = object_attr(obj, verify ? CKA_VERIFY : CKA_SIGN);
	if (a == NULL || a->len != 1 || *(CK_BBOOL *)a->value != CK_TRUE)
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (mi->kind == MECH_RSA_PSS) {
		if ((rv = mech_check_pss(mi, mech, key, &pss_hash,
		    &salt)) != CKR_OK)
			return rv;
	} else if (mech->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	switch (mi->kind) {
	case MECH_RSA_PKCS:
		/* CKM_RSA_PKCS: the DigestInfo names the hash. */
		alg = mech_alg_by_hash(P11B_ALG_RSA_PKCS1_SHA256, mi->hash);
		break;
	case MECH_RSA_PSS:
		alg = mech_alg_by_hash(P11B_ALG_RSA_PSS_SHA256, pss_hash);
		break;
	case MECH_HMAC:
		alg = mech_key_alg(key, mi->hash);
		break;
	case MECH_ECDSA:
	case MECH_EDDSA:
		alg = mech_key_alg(key, NULL);
		break;
	}
	/* Verifying with a public key happens here, whatever the policy. */
	if ((!verify || obj->class == CKO_SECRET_KEY) &&
	    alg != P11B_ALG_NONE && !(key->algs & (1U << alg)))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	op_reset(op);
	op->state = OP_INIT;
	op->mech = mi;
	op->key = key;
	op->alg = alg;
	op->salt = salt;
	/* HMAC mechanisms name a hash, but the broker computes the MAC. */
	op->hash = mi->kind == MECH_HMAC ? NULL : mi->hash;
	op->siglen = mech_sig_len(mi, key);
	return CKR_OK;
}

/*
 * CKM_RSA_PKCS input: a DigestInfo for a hash the key may sign with goes
 * to the broker as that digest; anything else (another DigestInfo, TLS
 * 1.0/1.1's MD5 || SHA-1) only as raw PKCS#1, where the policy names it.
 */
static CK_RV
sign_rsa_pkcs_input(const struct key *key, const uint8_t **datap,
    size_t *lenp, enum p11b_alg *algp)
{
	const uint8_t *digest;
	const char *hash;
	enum p11b_alg alg = P11B_ALG_NONE;
	CK_RV rv;

	rv = mech_parse_digest_info(*datap, *lenp, &hash, &digest);
	if (rv == CKR_OK)
		alg = mech_alg_by_hash(P11B_ALG_RSA_PKCS1_SHA256, hash);
	if (alg != P11B_ALG_NONE && (key->algs & (1U << alg))) {
		*lenp -= (size_t)(digest - *datap);
		*datap = digest;
		*algp = alg;
		return CKR_OK;
	}
	if (!(key->algs & (1U << P11B_ALG_RSA_PKCS1_RAW)))
		return rv == CKR_OK ? CKR_KEY_FUNCTION_NOT_PERMITTED : rv;
	if (*lenp == 0 || *lenp > alg_rsa_raw_max(key->bits))
		return CKR_DATA_LEN_RANGE;
	*algp = P11B_ALG_RSA_PKCS1_RAW;
	return CKR_OK;
}

/* The broker signature for a whole input, into sig (op->siglen bytes). */
CK_RV
sign_broker(struct op *op, const uint8_t *data, size_t len, uint8_t *sig,
    CK_ULONG *siglenp)
{
	uint8_t fitted[EVP_MAX_MD_SIZE];
	enum p11b_alg alg = op->alg;
	struct link *l;
	uint8_t *out = NULL;
	size_t outlen = 0;
	int r, flags = 0, tries = 0;
	CK_RV rv;

	switch (op->mech->kind) {
	case MECH_ECDSA:
		if ((rv = mech_fit_ecdsa_digest(op->key, data, len, fitted,
		    &len)) != CKR_OK)
			return rv;
		data = fitted;
		flags = P11B_SIGN_DIGEST | P11B_SIGN_RAW;
		break;
	case MECH_RSA_PKCS:
		if (alg == P11B_ALG_NONE) {
			if ((rv = sign_rsa_pkcs_input(op->key, &data, &len,
			    &alg)) != CKR_OK)
				return rv;
			if (alg == P11B_ALG_RSA_PKCS1_RAW)
				break;
		}
		/* FALLTHROUGH */
	case MECH_RSA_PSS:
		if (len != p11b_alg_digest_len(alg))
			return CKR_DATA_LEN_RANGE;
		flags = P11B_SIGN_DIGEST;
		break;
	case MECH_EDDSA:
	case MECH_HMAC:
		break;
	}
	if ((rv = link_get(&l)) != CKR_OK)
		return rv;
	do {
		/* The material we showed, or a refusal: never another. */
		if (op->mech->kind == MECH_HMAC)
			r = p11b_hmac_expect(link_conn(l), op->key->name,
			    op->key->identity, op->key->identitylen, alg,
			    data, len, &out, &outlen);
		else if (op->salt >= 0)
			r = p11b_sign_pss_expect(link_conn(l), op->key->name,
			    op->key->identity, op->key->identitylen, alg,
			    flags, (size_t)op->salt, data, len, &out, &outlen);
		else
			r = p11b_sign_expect(link_conn(l), op->key->name,
			    op->key->identity, op->key->identitylen, alg,
			    flags, data, len, &out, &outlen);
	} while (link_again(&l, r, &tries));
	link_put(l, r);
	if (r == P11B_NO_SUCH_KEY)
		object_key_changed(op->key);
	if (r != P11B_OK)
		return link_ckr(r);
	if (outlen > *siglenp) {
		rv = CKR_DEVICE_ERROR;	/* not what the key gives */
	} else {
		memcpy(sig, out, outlen);
		*siglenp = outlen;
		rv = CKR_OK;
	}
	freezero(out, outlen);
	return rv;
}

/*
 * Start a signing (verify 0: a private or secret key) or verifying
 * (verify 1: a public or secret key) operation.
 */
CK_RV
op_begin(CK_SESSION_HANDLE h, int verify, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key)
{
	struct session *s;
	struct object *obj;
	struct op *op;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	op = verify ? &s->verify : &s->sign;
	if (mech == NULL) {
		/* PKCS#11 3.0: a NULL mechanism ends the operation. */
		op_reset(op);
	} else if (op->state != OP_NONE)
		rv = CKR_OPERATION_ACTIVE;
	else if ((obj = object_find(key)) == NULL || obj->gone ||
	    (obj->class != (verify ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY) &&
	    obj->class != CKO_SECRET_KEY))
		rv = CKR_KEY_HANDLE_INVALID;
	else
		rv = op_setup(op, mech, obj, verify);
	session_put(s);
	return rv;
}

/* One more part of a multi-part operation. */
CK_RV
op_update(CK_SESSION_HANDLE h, int verify, CK_BYTE *part, CK_ULONG len)
{
	struct session *s;
	struct op *op;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	op = verify ? &s->verify : &s->sign;
	if (op->state == OP_NONE)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (op->state == OP_SINGLE)
		rv = CKR_OPERATION_ACTIVE;
	else if (part == NULL && len != 0) {
		op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else if ((rv = op_streamed(op, verify) ? op_stream_update(op,
	    verify, part, len) : op_append(op, part, len)) != CKR_OK)
		op_reset(op);
	else
		op->state = OP_MULTI;
	session_put(s);
	return rv;
}

CK_RV
C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
	return op_begin(h, 0, mech, key);
}

/*
 * The length idiom: no buffer asks for the length, a short buffer gets
 * CKR_BUFFER_TOO_SMALL; both leave the operation active.
 */
static CK_RV
sign_length(struct op *op, CK_BYTE *sig, CK_ULONG *siglenp, int *donep)
{
	*donep = 1;
	if (sig == NULL) {
		*siglenp = op->siglen;
		return CKR_OK;
	}
	if (*siglenp < op->siglen) {
		*siglenp = op->siglen;
		return CKR_BUFFER_TOO_SMALL;
	}
	*donep = 0;
	return CKR_OK;
}

static CK_RV
sign_finish(struct op *op, const CK_BYTE *data, CK_ULONG len, CK_BYTE *sig,
    CK_ULONG *siglenp)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	const uint8_t *in;
	size_t inlen;
	CK_RV rv;

	if (op->state == OP_MULTI && op_streamed(op, 0))
		rv = op_stream_sign_final(op, sig, siglenp);
	else if ((rv = op_input(op, data, len, digest, &in, &inlen)) ==
	    CKR_OK)
		rv = sign_broker(op, in, inlen, sig, siglenp);
	op_reset(op);
	return rv;
}

CK_RV
C_Sign(CK_SESSION_HANDLE h, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig,
    CK_ULONG *siglenp)
{
	struct session *s;
	struct op *op;
	CK_RV rv;
	int done;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	op = &s->sign;
	if (op->state == OP_NONE)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (op->state == OP_MULTI)
		rv = CKR_OPERATION_ACTIVE;
	else if (siglenp == NULL || (data == NULL && len != 0)) {
		op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else if ((rv = sign_length(op, sig, siglenp, &done)) != CKR_OK ||
	    done)
		op->state = OP_SINGLE;
	else
		rv = sign_finish(op, data, len, sig, siglenp);
	session_put(s);
	return rv;
}

CK_RV
C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE *part, CK_ULONG len)
{
	return op_update(h, 0, part, len);
}

CK_RV
C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE *sig, CK_ULONG *siglenp)
{
	struct session *s;
	struct op *op;
	CK_RV rv;
	int done;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	op = &s->sign;
	if (op->state == OP_NONE)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (siglenp == NULL) {
		op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else if ((rv = sign_length(op, sig, siglenp, &done)) == CKR_OK &&
	    !done)
		rv = sign_finish(op, NULL, 0, sig, siglenp);
	session_put(s);
	return rv;
}

CK_RV
C_SignRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key)
{
	return session_refuse(h, CKR_MECHANISM_INVALID);
}

CK_RV
C_SignRecover(CK_SESSION_HANDLE h, CK_BYTE *data, CK_ULONG len,
    CK_BYTE *sig, CK_ULONG *siglenp)
{
	return session_refuse(h, CKR_OPERATION_NOT_INITIALIZED);
}
