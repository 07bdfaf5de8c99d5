/*
 * Algorithm helpers.  The algorithm is always the caller's choice, pinned
 * by policy; this file only says whether it fits the key, and prepares
 * what the token signs.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"

/* SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) } */
static const uint8_t ed25519_spki_prefix[] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
};

uint32_t
crypto_key_ops(enum p11b_key_type type, int extractable)
{
	uint32_t secret = extractable ? 1U << P11B_OP_SECRET : 0;

	switch (type) {
	case P11B_KEY_EC_P256:
	case P11B_KEY_EC_P384:
	case P11B_KEY_EC_P521:
	case P11B_KEY_RSA:
	case P11B_KEY_ED25519:
		return 1U << P11B_OP_SIGN | 1U << P11B_OP_PUBKEY;
	case P11B_KEY_SECRET:
		return 1U << P11B_OP_HMAC | 1U << P11B_OP_HMAC_VERIFY | secret;
	case P11B_KEY_DATA:
		return secret;
	case P11B_KEY_NONE:
		break;
	}
	return 0;
}

const void *
crypto_alg_md(enum p11b_alg alg)
{
	const struct alg_info *ai = alg_info(alg);

	switch (ai != NULL ? ai->hash : ALG_HASH_NONE) {
	case ALG_HASH_SHA256:
		return EVP_sha256();
	case ALG_HASH_SHA384:
		return EVP_sha384();
	case ALG_HASH_SHA512:
		return EVP_sha512();
	case ALG_HASH_SHA224:
		return EVP_sha224();
	case ALG_HASH_SHA1:
		return EVP_sha1();
	case ALG_HASH_NONE:
		break;
	}
	return NULL;
}

int
crypto_digest(enum p11b_alg alg, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen)
{
	const EVP_MD *md;
	unsigned int len;

	if ((md = crypto_alg_md(alg)) == NULL)
		return -1;
	if (EVP_Digest(in, inlen, out, &len, md, NULL) != 1)
		return -1;
	*outlen = len;
	return 0;
}

int
crypto_digestinfo(enum p11b_alg alg, const uint8_t *digest, size_t dlen,
    uint8_t *out, size_t *outlen)
{
	const struct alg_info *ai = alg_info(alg);

	if (ai == NULL || ai->digestinfo_len == 0 || dlen != ai->digest_len)
		return -1;
	memcpy(out, ai->digestinfo, ai->digestinfo_len);
	memcpy(out + ai->digestinfo_len, digest, dlen);
	*outlen = ai->digestinfo_len + dlen;
	return 0;
}

/* One DER INTEGER from a big-endian unsigned number; returns its length. */
static size_t
der_uint(const uint8_t *num, size_t len, uint8_t *out)
{
	size_t n = 0;

	while (len > 1 && num[0] == 0) {
		num++;
		len--;
	}
	out[n++] = 0x02;
	out[n++] = (uint8_t)(len + (num[0] & 0x80 ? 1 : 0));
	if (num[0] & 0x80)
		out[n++] = 0x00;
	memcpy(out + n, num, len);
	return n + len;
}

int
crypto_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *out,
    size_t outsize, size_t *outlen)
{
	uint8_t body[2 * (2 + 1 + 66)];
	size_t half, blen, n = 0;

	half = rawlen / 2;
	if (rawlen == 0 || rawlen % 2 != 0 || half > 66)
		return -1;
	blen = der_uint(raw, half, body);
	blen += der_uint(raw + half, half, body + blen);
	if (outsize < blen + 3)
		return -1;
	out[n++] = 0x30;
	if (blen >= 0x80)
		out[n++] = 0x81;
	out[n++] = (uint8_t)blen;
	memcpy(out + n, body, blen);
	*outlen = n + blen;
	return 0;
}

void
crypto_ed25519_spki(const uint8_t pub[32],
    uint8_t out[CRYPTO_ED25519_SPKI_LEN])
{
	memcpy(out, ed25519_spki_prefix, sizeof(ed25519_spki_prefix));
	memcpy(out + sizeof(ed25519_spki_prefix), pub, 32);
}

int
crypto_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/*
 * Load OpenSSL's configuration and providers and run each digest once,
 * while files may still be opened: after the sandbox goes on they are
 * needed but cannot be read.
 */
int
crypto_init(void)
{
	uint8_t d[64];
	size_t dlen;

	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		return -1;
	if (crypto_digest(P11B_ALG_ECDSA_P256_SHA256, d, 0, d, &dlen) != 0 ||
	    crypto_digest(P11B_ALG_ECDSA_P384_SHA384, d, 0, d, &dlen) != 0 ||
	    crypto_digest(P11B_ALG_ECDSA_P521_SHA512, d, 0, d, &dlen) != 0)
		return -1;
	return 0;
}
