/*
 * Unit tests for brokerd/common/crypto.c: key/algorithm fit, DigestInfo and
 * ECDSA DER encoding, checked against OpenSSL's own decoder.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "tap.h"

static void
test_fit(void)
{
	ok(crypto_alg_fits_key(P11B_ALG_ECDSA_P256_SHA256, P11B_KEY_EC_P256),
	    "P-256 alg on P-256 key");
	ok(!crypto_alg_fits_key(P11B_ALG_ECDSA_P384_SHA384, P11B_KEY_EC_P256),
	    "P-384 alg on P-256 key refused");
	ok(!crypto_alg_fits_key(P11B_ALG_RSA_PSS_SHA256, P11B_KEY_EC_P256),
	    "RSA alg on EC key refused");
	ok(!crypto_alg_fits_key(P11B_ALG_ECDSA_P256_SHA256, P11B_KEY_RSA),
	    "EC alg on RSA key refused");
	ok(crypto_alg_fits_key(P11B_ALG_RSA_PKCS1_SHA512, P11B_KEY_RSA),
	    "PKCS#1 SHA-512 on RSA");
	ok(!crypto_alg_fits_key(P11B_ALG_HMAC_SHA256, P11B_KEY_DATA),
	    "HMAC on a data object refused");
	ok(!crypto_alg_fits_key(P11B_ALG_ED25519, P11B_KEY_SECRET),
	    "Ed25519 on a secret refused");
	ok(!crypto_alg_fits_key((enum p11b_alg)99, P11B_KEY_RSA),
	    "out-of-range algorithm refused");
	ok(!(crypto_key_ops(P11B_KEY_SECRET, 0) & (1U << P11B_OP_SECRET)),
	    "sealed secret cannot be read");
	ok(crypto_key_ops(P11B_KEY_SECRET, 1) & (1U << P11B_OP_SECRET),
	    "extractable secret can be read");
	ok(!(crypto_key_ops(P11B_KEY_EC_P256, 1) & (1U << P11B_OP_SECRET)),
	    "private keys are never secrets");
	is_int(crypto_alg_family(P11B_ALG_RSA_PSS_SHA384), ALG_FAMILY_RSA_PSS,
	    "family");
}

static void
test_digestinfo(void)
{
	uint8_t d[64], out[CRYPTO_MAX_DIGESTINFO];
	const uint8_t *p = out;
	X509_SIG *sig;
	const X509_ALGOR *alg;
	const ASN1_OCTET_STRING *digest;
	const ASN1_OBJECT *obj;
	size_t len;
	struct {
		enum p11b_alg	 alg;
		int		 nid;
		size_t		 dlen;
	} cases[] = {
		{ P11B_ALG_RSA_PKCS1_SHA256, NID_sha256, 32 },
		{ P11B_ALG_RSA_PKCS1_SHA384, NID_sha384, 48 },
		{ P11B_ALG_RSA_PKCS1_SHA512, NID_sha512, 64 },
	};
	size_t i;

	memset(d, 0xab, sizeof(d));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok(crypto_digestinfo(cases[i].alg, d, cases[i].dlen, out,
		    &len) == 0, "DigestInfo %s", p11b_alg_name(cases[i].alg));
		p = out;
		sig = d2i_X509_SIG(NULL, &p, len);
		ok(sig != NULL && p == out + len, "OpenSSL parses it whole");
		if (sig == NULL)
			continue;
		X509_SIG_get0(sig, &alg, &digest);
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		is_int(OBJ_obj2nid(obj), cases[i].nid, "hash OID");
		is_mem(ASN1_STRING_get0_data(digest), ASN1_STRING_length(digest),
		    d, cases[i].dlen, "digest bytes");
		X509_SIG_free(sig);
	}
	ok(crypto_digestinfo(P11B_ALG_RSA_PKCS1_SHA256, d, 31, out, &len) != 0,
	    "wrong digest length refused");
	ok(crypto_digestinfo(P11B_ALG_RSA_PSS_SHA256, d, 32, out, &len) != 0,
	    "no DigestInfo for PSS");
}

/* raw r||s -> DER, and OpenSSL must decode the same r and s. */
static void
check_der(const uint8_t *raw, size_t rawlen, const char *what)
{
	uint8_t der[2 * 66 + 9];
	const uint8_t *p = der;
	const BIGNUM *r, *s;
	BIGNUM *wr, *ws;
	ECDSA_SIG *sig;
	size_t len;

	ok(crypto_ecdsa_raw_to_der(raw, rawlen, der, sizeof(der), &len) == 0,
	    "%s: encodes", what);
	sig = d2i_ECDSA_SIG(NULL, &p, len);
	ok(sig != NULL && p == der + len, "%s: OpenSSL decodes it whole",
	    what);
	if (sig == NULL)
		return;
	ECDSA_SIG_get0(sig, &r, &s);
	wr = BN_bin2bn(raw, rawlen / 2, NULL);
	ws = BN_bin2bn(raw + rawlen / 2, rawlen / 2, NULL);
	ok(BN_cmp(r, wr) == 0 && BN_cmp(s, ws) == 0, "%s: same r and s",
	    what);
	BN_free(wr);
	BN_free(ws);
	ECDSA_SIG_free(sig);
}

static void
test_ecdsa_der(void)
{
	uint8_t raw[132], der[140];
	size_t len;

	memset(raw, 0x11, 64);
	check_der(raw, 64, "P-256 plain");
	memset(raw, 0xff, 64);
	check_der(raw, 64, "P-256 high bits (sign padding)");
	memset(raw, 0, 64);
	raw[31] = 1;
	raw[63] = 0x80;
	check_der(raw, 64, "P-256 leading zeros");
	memset(raw, 0x80, 96);
	check_der(raw, 96, "P-384");
	memset(raw, 0xfe, 132);
	raw[0] = raw[66] = 0x01;
	check_der(raw, 132, "P-521 (long form length)");
	ok(crypto_ecdsa_raw_to_der(raw, 63, der, sizeof(der), &len) != 0,
	    "odd length refused");
	ok(crypto_ecdsa_raw_to_der(raw, 64, der, 10, &len) != 0,
	    "short output buffer refused");
}

static void
test_ed25519_spki(void)
{
	uint8_t pub[32], spki[CRYPTO_ED25519_SPKI_LEN], out[32];
	const uint8_t *p = spki;
	EVP_PKEY *pk;
	size_t len = sizeof(out);
	int i;

	for (i = 0; i < 32; i++)
		pub[i] = (uint8_t)i;
	crypto_ed25519_spki(pub, spki);
	pk = d2i_PUBKEY(NULL, &p, sizeof(spki));
	ok(pk != NULL && EVP_PKEY_id(pk) == EVP_PKEY_ED25519,
	    "OpenSSL reads an Ed25519 SPKI");
	ok(pk != NULL && EVP_PKEY_get_raw_public_key(pk, out, &len) == 1 &&
	    len == 32 && memcmp(out, pub, 32) == 0, "same public key");
	EVP_PKEY_free(pk);
}

static void
test_digest(void)
{
	uint8_t out[64], want[64];
	unsigned int wlen;
	size_t len;

	ok(crypto_digest(P11B_ALG_ECDSA_P384_SHA384, (const uint8_t *)"abc",
	    3, out, &len) == 0, "SHA-384 digest");
	EVP_Digest("abc", 3, want, &wlen, EVP_sha384(), NULL);
	is_mem(out, len, want, wlen, "matches OpenSSL");
	ok(crypto_digest(P11B_ALG_ED25519, (const uint8_t *)"abc", 3, out,
	    &len) != 0, "no digest for Ed25519");
	ok(crypto_equal((const uint8_t *)"abcd", (const uint8_t *)"abcd", 4),
	    "equal");
	ok(!crypto_equal((const uint8_t *)"abcd", (const uint8_t *)"abce", 4),
	    "not equal");
}

int
main(void)
{
	test_fit();
	test_digestinfo();
	test_ecdsa_der();
	test_ed25519_spki();
	test_digest();
	return tap_done();
}
