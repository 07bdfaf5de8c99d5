/*
 * Pure helpers around the algorithms: which algorithm fits which key,
 * message digests, PKCS#1 DigestInfo, ECDSA signature encoding and
 * SubjectPublicKeyInfo for Ed25519.  No PKCS#11 here.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "algs.h"
#include "p11broker_vocab.h"

#define CRYPTO_MAX_DIGEST	64
#define CRYPTO_MAX_DIGESTINFO	(ALG_DIGESTINFO_MAX + CRYPTO_MAX_DIGEST)
#define CRYPTO_ED25519_SPKI_LEN	44

/* Algorithm facts come from the one table, proto/algs.h. */
/* Bit mask (1 << op) of what a key type supports. */
uint32_t	crypto_key_ops(enum p11b_key_type type, int extractable);

/* Hash a message with the algorithm's digest; returns 0 or -1. */
/* crypto_verify.c: a public key (EVP_PKEY) from a DER SPKI. */
void	*crypto_pubkey_load(const uint8_t *spki, size_t len);
void	 crypto_pubkey_free(void *pkey);
/*
 * 1 when sig is a valid signature by pkey over tbs (the digest, the
 * message for Ed25519, the input for raw PKCS#1; ECDSA as r||s), 0 when
 * not, -1 on error.  salt_len: RSA-PSS salt bytes, -1 the digest length.
 */
int	crypto_verify(void *pkey, enum p11b_alg alg, int salt_len,
	    const uint8_t *tbs, size_t tbslen, const uint8_t *sig,
	    size_t siglen);
/* ECDSA r||s: make s <= n/2.  1 changed, 0 already low, -1 error. */
int	crypto_ecdsa_low_s(enum p11b_key_type type, uint8_t *raw,
	    size_t rawlen);

/* The algorithm's digest (an EVP_MD), NULL for none. */
const void *crypto_alg_md(enum p11b_alg alg);
/* Before the sandbox: OpenSSL's config and providers, loaded now. */
int	crypto_init(void);
int	crypto_digest(enum p11b_alg alg, const uint8_t *in, size_t inlen,
	    uint8_t *out, size_t *outlen);
/* DigestInfo(alg, digest) for RSA PKCS#1 v1.5; returns 0 or -1. */
int	crypto_digestinfo(enum p11b_alg alg, const uint8_t *digest,
	    size_t dlen, uint8_t *out, size_t *outlen);
/*
 * ECDSA r||s (each half the input) to DER SEQUENCE { INTEGER r, INTEGER s }.
 * out must hold rawlen + 9 bytes.  Returns 0 or -1.
 */
int	crypto_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen,
	    uint8_t *out, size_t outsize, size_t *outlen);
/* SPKI DER for a 32-byte Ed25519 public key. */
void	crypto_ed25519_spki(const uint8_t pub[32],
	    uint8_t out[CRYPTO_ED25519_SPKI_LEN]);
/* Constant-time comparison: 1 when equal. */
int	crypto_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif /* CRYPTO_H */
