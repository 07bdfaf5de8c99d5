/*
 * Names of algorithms, operations, key types and statuses: the spelling
 * used on the command line, in the policy file and in logs.
 */
#include <stddef.h>
#include <string.h>

#include "algs.h"
#include "p11broker_vocab.h"

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
	[P11B_OP_GENERATE] = "generate",
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
	const struct alg_info *ai = alg_info(alg);

	if (ai != NULL)
		return ai->name;
	return alg == P11B_ALG_NONE ? "none" : "unknown";
}

enum p11b_alg
p11b_alg_from_name(const char *name)
{
	const struct alg_info *ai;
	int a;

	for (a = 1; name != NULL && a < P11B_ALG_COUNT; a++)
		if ((ai = alg_info(a)) != NULL && strcmp(ai->name, name) == 0)
			return a;
	return P11B_ALG_NONE;
}

size_t
p11b_alg_digest_len(enum p11b_alg alg)
{
	const struct alg_info *ai = alg_info(alg);

	return ai != NULL ? ai->digest_len : 0;
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
	case P11B_ERR_TIMEOUT:
		return "timeout";
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
	case P11B_ERR_TIMEOUT:
		return "no answer from the broker in time";
	}
	return "unknown error";
}
