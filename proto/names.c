/*
 * Names of algorithms, operations, key types and statuses: the spelling
 * used on the command line, in the policy file and in logs.
 */
#include <stddef.h>
#include <string.h>

#include "p11broker.h"

static const char *alg_names[P11B_ALG_COUNT] = {
	[P11B_ALG_NONE] = "none",
	[P11B_ALG_ECDSA_P256_SHA256] = "ecdsa-p256-sha256",
	[P11B_ALG_ECDSA_P384_SHA384] = "ecdsa-p384-sha384",
	[P11B_ALG_ECDSA_P521_SHA512] = "ecdsa-p521-sha512",
	[P11B_ALG_RSA_PKCS1_SHA256] = "rsa-pkcs1-sha256",
	[P11B_ALG_RSA_PKCS1_SHA384] = "rsa-pkcs1-sha384",
	[P11B_ALG_RSA_PKCS1_SHA512] = "rsa-pkcs1-sha512",
	[P11B_ALG_RSA_PSS_SHA256] = "rsa-pss-sha256",
	[P11B_ALG_RSA_PSS_SHA384] = "rsa-pss-sha384",
	[P11B_ALG_RSA_PSS_SHA512] = "rsa-pss-sha512",
	[P11B_ALG_ED25519] = "ed25519",
	[P11B_ALG_HMAC_SHA256] = "hmac-sha256",
	[P11B_ALG_HMAC_SHA384] = "hmac-sha384",
	[P11B_ALG_HMAC_SHA512] = "hmac-sha512",
};

static const size_t alg_digest_len[P11B_ALG_COUNT] = {
	[P11B_ALG_ECDSA_P256_SHA256] = 32,
	[P11B_ALG_ECDSA_P384_SHA384] = 48,
	[P11B_ALG_ECDSA_P521_SHA512] = 64,
	[P11B_ALG_RSA_PKCS1_SHA256] = 32,
	[P11B_ALG_RSA_PKCS1_SHA384] = 48,
	[P11B_ALG_RSA_PKCS1_SHA512] = 64,
	[P11B_ALG_RSA_PSS_SHA256] = 32,
	[P11B_ALG_RSA_PSS_SHA384] = 48,
	[P11B_ALG_RSA_PSS_SHA512] = 64,
	[P11B_ALG_HMAC_SHA256] = 32,
	[P11B_ALG_HMAC_SHA384] = 48,
	[P11B_ALG_HMAC_SHA512] = 64,
};

static const char *op_names[P11B_OP_COUNT] = {
	[P11B_OP_NONE] = "none",
	[P11B_OP_SIGN] = "sign",
	[P11B_OP_HMAC] = "hmac",
	[P11B_OP_HMAC_VERIFY] = "hmac-verify",
	[P11B_OP_SECRET] = "secret",
	[P11B_OP_PUBKEY] = "pubkey",
	[P11B_OP_RANDOM] = "random",
	[P11B_OP_LIST] = "list",
	[P11B_OP_HEALTH] = "health",
	[P11B_OP_STATS] = "stats",
};

static const char *key_type_names[P11B_KEY_TYPE_COUNT] = {
	[P11B_KEY_NONE] = "none",
	[P11B_KEY_EC_P256] = "ec-p256",
	[P11B_KEY_EC_P384] = "ec-p384",
	[P11B_KEY_EC_P521] = "ec-p521",
	[P11B_KEY_RSA] = "rsa",
	[P11B_KEY_ED25519] = "ed25519",
	[P11B_KEY_SECRET] = "secret",
	[P11B_KEY_DATA] = "data",
};

static const char *status_names[P11B_STATUS_COUNT] = {
	[P11B_OK] = "ok",
	[P11B_DENIED] = "denied",
	[P11B_NO_SUCH_KEY] = "no-such-key",
	[P11B_BAD_REQUEST] = "bad-request",
	[P11B_UNSUPPORTED] = "unsupported",
	[P11B_TOO_LARGE] = "too-large",
	[P11B_RATE_LIMITED] = "rate-limited",
	[P11B_TOKEN_UNAVAILABLE] = "token-unavailable",
	[P11B_INTERNAL] = "internal",
};

static const char *status_text[P11B_STATUS_COUNT] = {
	[P11B_OK] = "success",
	[P11B_DENIED] = "denied by policy",
	[P11B_NO_SUCH_KEY] = "no such key",
	[P11B_BAD_REQUEST] = "bad request",
	[P11B_UNSUPPORTED] = "unsupported",
	[P11B_TOO_LARGE] = "input too large",
	[P11B_RATE_LIMITED] = "rate limited",
	[P11B_TOKEN_UNAVAILABLE] = "token unavailable",
	[P11B_INTERNAL] = "internal broker error",
};

static int
lookup(const char **names, int count, const char *name)
{
	int i;

	if (name == NULL)
		return 0;
	for (i = 1; i < count; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return 0;
}

const char *
p11b_alg_name(enum p11b_alg alg)
{
	if ((unsigned int)alg >= P11B_ALG_COUNT)
		return "unknown";
	return alg_names[alg];
}

enum p11b_alg
p11b_alg_from_name(const char *name)
{
	return lookup(alg_names, P11B_ALG_COUNT, name);
}

size_t
p11b_alg_digest_len(enum p11b_alg alg)
{
	if ((unsigned int)alg >= P11B_ALG_COUNT)
		return 0;
	return alg_digest_len[alg];
}

const char *
p11b_op_name(enum p11b_op op)
{
	if ((unsigned int)op >= P11B_OP_COUNT)
		return "unknown";
	return op_names[op];
}

enum p11b_op
p11b_op_from_name(const char *name)
{
	return lookup(op_names, P11B_OP_COUNT, name);
}

const char *
p11b_key_type_name(enum p11b_key_type type)
{
	if ((unsigned int)type >= P11B_KEY_TYPE_COUNT)
		return "unknown";
	return key_type_names[type];
}

const char *
p11b_status_name(int rc)
{
	if (rc >= 0 && rc < P11B_STATUS_COUNT)
		return status_names[rc];
	switch (rc) {
	case P11B_ERR_CONNECT:
		return "connect-failed";
	case P11B_ERR_IO:
		return "connection-lost";
	case P11B_ERR_PROTOCOL:
		return "protocol-error";
	case P11B_ERR_NOMEM:
		return "out-of-memory";
	case P11B_ERR_INVALID:
		return "invalid-argument";
	}
	return "unknown";
}

const char *
p11b_strerror(int rc)
{
	if (rc >= 0 && rc < P11B_STATUS_COUNT)
		return status_text[rc];
	switch (rc) {
	case P11B_ERR_CONNECT:
		return "cannot connect to the broker";
	case P11B_ERR_IO:
		return "connection to the broker lost";
	case P11B_ERR_PROTOCOL:
		return "malformed response from the broker";
	case P11B_ERR_NOMEM:
		return "out of memory";
	case P11B_ERR_INVALID:
		return "invalid argument";
	}
	return "unknown error";
}
