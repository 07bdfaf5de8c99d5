/*
 * Verification: HMACs go to the broker (the key never leaves it); public
 * key signatures are checked here with libcrypto against the SPKI the
 * broker gave, which costs the broker nothing.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "module.h"

/* PKCS#11 ECDSA signatures are r || s; libcrypto wants DER. */
static int
verify_ecdsa_der(const uint8_t *sig, size_t siglen, uint8_t **derp,
    int *derlenp)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	size_t half = siglen / 2;

	*derp = NULL;
	if ((es = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	*derlenp = i2d_ECDSA_SIG(es, derp);
	ECDSA_SIG_free(es);
	return *derlenp > 0 ? 0 : -1;
}

static int
verify_rsa_params(EVP_PKEY_CTX *ctx, const struct op *op)
{
	const EVP_MD *md;

	if (op->mech->kind == MECH_RSA_PKCS) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
			return -1;
		/* CKM_RSA_PKCS: the input is the DigestInfo itself. */
		if (op->hash != NULL && EVP_PKEY_CTX_set_signature_md(ctx,
		    digest_md(op->hash)) != 1)
			return -1;
		return 0;
	}
	md = digest_md(mech_alg_hash(op->alg));
	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, op->salt >= 0 ?
	    (int)op->salt : EVP_MD_get_size(md)) != 1)
		return -1;
	return 0;
}

static CK_RV
verify_eddsa(struct op *op, const uint8_t *data, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return CKR_HOST_MEMORY;
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, op->key->pub) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(md);
	return ok ? CKR_OK : CKR_SIGNATURE_INVALID;
}

static CK_RV
verify_public(struct op *op, const uint8_t *data, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *der = NULL;
	int derlen = 0, ok = 0;
	CK_RV rv = CKR_SIGNATURE_INVALID;

	if (siglen != op->siglen)
		return CKR_SIGNATURE_LEN_RANGE;
	if (op->key->pub == NULL)
		return CKR_KEY_HANDLE_INVALID;
	if (op->mech->kind == MECH_EDDSA)
		return verify_eddsa(op, data, len, sig, siglen);
	if (op->mech->kind == MECH_RSA_PSS &&
	    len != p11b_alg_digest_len(op->alg))
		return CKR_DATA_LEN_RANGE;
	if ((ctx = EVP_PKEY_CTX_new(op->key->pub, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (op->mech->kind == MECH_ECDSA) {
		if (verify_ecdsa_der(sig, siglen, &der, &derlen) != 0) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		ok = EVP_PKEY_verify(ctx, der, (size_t)derlen, data, len) == 1;
	} else {
		if (verify_rsa_params(ctx, op) != 0) {
			rv = CKR_FUNCTION_FAILED;
			goto out;
		}
		ok = EVP_PKEY_verify(ctx, sig, siglen, data, len) == 1;
	}
	rv = ok ? CKR_OK : CKR_SIGNATURE_INVALID;
 out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

/* Without hmac-verify: compute the MAC and compare in constant time. */
static int
verify_hmac_here(struct p11b_conn *conn, const struct op *op,
    const uint8_t *data, size_t len, const uint8_t *mac, size_t maclen,
    int *validp)
{
	uint8_t *mine = NULL;
	size_t minelen = 0;
	int r;

	r = p11b_hmac_expect(conn, op->key->name, op->key->identity,
	    op->key->identitylen, op->alg, data, len, &mine, &minelen);
	if (r == P11B_OK)
		*validp = minelen == maclen &&
		    CRYPTO_memcmp(mine, mac, maclen) == 0;
	freezero(mine, minelen);
	return r;
}

/* An HMAC check by the broker, or a MAC compared here if that is all. */
static CK_RV
verify_hmac(struct op *op, const uint8_t *data, size_t len,
    const uint8_t *mac, size_t maclen)
{
	struct link *l;
	int r, valid = 0, tries = 0;
	CK_RV rv;

	if (maclen != op->siglen)
		return CKR_SIGNATURE_LEN_RANGE;
	if ((rv = link_get(&l)) != CKR_OK)
		return rv;
	do {
		if (op->key->ops & (1U << P11B_OP_HMAC_VERIFY))
			r = p11b_hmac_verify_expect(link_conn(l),
			    op->key->name, op->key->identity,
			    op->key->identitylen, op->alg, data, len, mac,
			    maclen, &valid);
		else
			r = verify_hmac_here(link_conn(l), op, data, len, mac,
			    maclen, &valid);
	} while (link_again(&l, r, &tries));
	link_put(l, r);
	if (r == P11B_NO_SUCH_KEY)
		object_key_changed(op->key);
	if (r != P11B_OK)
		return link_ckr(r);
	return valid ? CKR_OK : CKR_SIGNATURE_INVALID;
}

static CK_RV
verify_finish(struct op *op, const CK_BYTE *data, CK_ULONG len,
    const CK_BYTE *sig, CK_ULONG siglen)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	const uint8_t *in;
	size_t inlen;
	CK_RV rv;

	if (op->state == OP_MULTI && op_streamed(op, 1))
		rv = op_stream_verify_final(op, sig, siglen);
	else if ((rv = op_input(op, data, len, digest, &in, &inlen)) ==
	    CKR_OK) {
		if (op->mech->kind == MECH_HMAC)
			rv = verify_hmac(op, in, inlen, sig, siglen);
		else
			rv = verify_public(op, in, inlen, sig, siglen);
	}
	op_reset(op);
	return rv;
}

CK_RV
C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
	return op_begin(h, 1, mech, key);
}

CK_RV
C_Verify(CK_SESSION_HANDLE h, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig,
    CK_ULONG siglen)
{
	struct session *s;
	struct op *op;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	op = &s->verify;
	if (op->state == OP_NONE)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (op->state == OP_MULTI)
		rv = CKR_OPERATION_ACTIVE;
	else if ((data == NULL && len != 0) || sig == NULL) {
		op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else
		rv = verify_finish(op, data, len, sig, siglen);
	session_put(s);
	return rv;
}

CK_RV
C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE *part, CK_ULONG len)
{
	return op_update(h, 1, part, len);
}

CK_RV
C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE *sig, CK_ULONG siglen)
{
	struct session *s;
	struct op *op;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	op = &s->verify;
	if (op->state == OP_NONE)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (sig == NULL) {
		op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else
		rv = verify_finish(op, NULL, 0, sig, siglen);
	session_put(s);
	return rv;
}

CK_RV
C_VerifyRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key)
{
	return session_refuse(h, CKR_MECHANISM_INVALID);
}

CK_RV
C_VerifyRecover(CK_SESSION_HANDLE h, CK_BYTE *sig, CK_ULONG siglen,
    CK_BYTE *data, CK_ULONG *lenp)
{
	return session_refuse(h, CKR_OPERATION_NOT_INITIALIZED);
}
