/*
 * Checking what the token signed, before it leaves the signer (per-key
 * "verify-signatures"), and ECDSA low-S normalisation ("low-s").  HSMs
 * with a fault, and buggy tokens, do return signatures that do not
 * verify; a broker that checks never hands one on.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto.h"

void *
crypto_pubkey_load(const uint8_t *spki, size_t len)
{
	const unsigned char *p = spki;

	return d2i_PUBKEY(NULL, &p, (long)len);
}

void
crypto_pubkey_free(void *pkey)
{
	EVP_PKEY_free(pkey);
}

/* r||s -> DER, for OpenSSL's verifier. */
static int
raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t **derp, int *derlenp)
{
	ECDSA_SIG *sig;
	BIGNUM *r, *s;
	int ok = -1;

	if (rawlen == 0 || rawlen % 2 != 0 || (sig = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
	s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return -1;
	}
	*derp = NULL;
	if ((*derlenp = i2d_ECDSA_SIG(sig, derp)) > 0)
		ok = 0;
	ECDSA_SIG_free(sig);
	return ok;
}

int
crypto_verify(void *pubkey, enum p11b_alg alg, int salt_len,
    const uint8_t *tbs, size_t tbslen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pkey = pubkey;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	const EVP_MD *md = crypto_alg_md(alg);
	uint8_t *der = NULL;
	int derlen, r = -1;

	if (pkey == NULL)
		return -1;
	switch (alg_family_of(alg)) {
	case ALG_FAMILY_EDDSA:
		if ((mctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pkey) != 1)
			break;
		r = EVP_DigestVerify(mctx, sig, siglen, tbs, tbslen) == 1;
		break;
	case ALG_FAMILY_ECDSA:
		if (raw_to_der(sig, siglen, &der, &derlen) != 0 ||
		    (ctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
		    EVP_PKEY_verify_init(ctx) != 1)
			break;
		r = EVP_PKEY_verify(ctx, der, (size_t)derlen, tbs, tbslen) ==
		    1;
		break;
	case ALG_FAMILY_RSA_PKCS1:
	case ALG_FAMILY_RSA_PSS:
		if ((ctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
		    EVP_PKEY_verify_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
			break;
		if (alg_family_of(alg) == ALG_FAMILY_RSA_PSS) {
			if (EVP_PKEY_CTX_set_rsa_padding(ctx,
			    RSA_PKCS1_PSS_PADDING) != 1 ||
			    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
			    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt_len < 0 ?
			    (int)p11b_alg_digest_len(alg) : salt_len) != 1)
				break;
		} else if (EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING) != 1)
			break;
		r = EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen) == 1;
		break;
	case ALG_FAMILY_RSA_RAW:
		/* No digest: the padded block must hold exactly tbs. */
		if ((ctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
		    EVP_PKEY_verify_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
			break;
		r = EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen) == 1;
		break;
	case ALG_FAMILY_HMAC:
	case ALG_FAMILY_NONE:
		break;
	}
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(mctx);
	return r;
}

static int
curve_nid(enum p11b_key_type type)
{
	switch (type) {
	case P11B_KEY_EC_P256:
		return NID_X9_62_prime256v1;
	case P11B_KEY_EC_P384:
		return NID_secp384r1;
	case P11B_KEY_EC_P521:
		return NID_secp521r1;
	default:
		return NID_undef;
	}
}

int
crypto_ecdsa_low_s(enum p11b_key_type type, uint8_t *raw, size_t rawlen)
{
	EC_GROUP *group;
	const BIGNUM *n;
	BIGNUM *s = NULL, *half = NULL;
	size_t flen = rawlen / 2;
	int r = -1;

	if (rawlen == 0 || rawlen % 2 != 0 || curve_nid(type) == NID_undef ||
	    (group = EC_GROUP_new_by_curve_name(curve_nid(type))) == NULL)
		return -1;
	n = EC_GROUP_get0_order(group);
	if ((s = BN_bin2bn(raw + flen, (int)flen, NULL)) == NULL ||
	    (half = BN_dup(n)) == NULL || BN_rshift1(half, half) != 1)
		goto out;
	if (BN_cmp(s, half) > 0) {
		if (BN_sub(s, n, s) != 1 ||
		    BN_bn2binpad(s, raw + flen, (int)flen) != (int)flen)
			goto out;
		r = 1;
	} else
		r = 0;
 out:
	BN_free(s);
	BN_free(half);
	EC_GROUP_free(group);
	return r;
}
