/*
 * The vocabulary the broker and its clients share: limits, statuses,
 * local error codes, algorithms, operations, key types, sign flags and
 * their names.  The daemon, the policy language, the wire codec, the CLI
 * and the client library all take these from here; client/p11broker.h
 * builds the public API on top.  Installed beside p11broker.h.
 */
#ifndef P11BROKER_VOCAB_H
#define P11BROKER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define P11B_KEY_NAME_MAX	64	/* bytes, [A-Za-z0-9._-] */
#define P11B_RANDOM_MAX		4096	/* bytes per Random request */

/* Broker statuses (the wire Status enum). */
enum p11b_status {
	P11B_OK = 0,
	P11B_DENIED = 1,
	P11B_NO_SUCH_KEY = 2,
	P11B_BAD_REQUEST = 3,
	P11B_UNSUPPORTED = 4,
	P11B_TOO_LARGE = 5,
	P11B_RATE_LIMITED = 6,
	P11B_TOKEN_UNAVAILABLE = 7,
	P11B_INTERNAL = 8,
};
#define P11B_STATUS_COUNT	9

/* Local errors: the request did not get a broker answer. */
#define P11B_ERR_CONNECT	(-1)	/* cannot reach the socket */
#define P11B_ERR_IO		(-2)	/* connection lost */
#define P11B_ERR_PROTOCOL	(-3)	/* malformed or unexpected response */
#define P11B_ERR_NOMEM		(-4)
#define P11B_ERR_INVALID	(-5)	/* bad argument, nothing was sent */
#define P11B_ERR_TIMEOUT	(-6)	/* no answer in time; connection failed */

enum p11b_alg {
	P11B_ALG_NONE = 0,
	P11B_ALG_ECDSA_P256_SHA256,
	P11B_ALG_ECDSA_P384_SHA384,
	P11B_ALG_ECDSA_P521_SHA512,
	P11B_ALG_RSA_PKCS1_SHA256,
	P11B_ALG_RSA_PKCS1_SHA384,
	P11B_ALG_RSA_PKCS1_SHA512,
	P11B_ALG_RSA_PSS_SHA256,
	P11B_ALG_RSA_PSS_SHA384,
	P11B_ALG_RSA_PSS_SHA512,
	P11B_ALG_ED25519,
	P11B_ALG_HMAC_SHA256,
	P11B_ALG_HMAC_SHA384,
	P11B_ALG_HMAC_SHA512,
	P11B_ALG_RSA_PKCS1_SHA224,
	P11B_ALG_RSA_PSS_SHA224,
	P11B_ALG_RSA_PKCS1_SHA1,	/* weak: only where a policy names it */
	P11B_ALG_RSA_PSS_SHA1,		/* weak */
	P11B_ALG_RSA_PKCS1_RAW,		/* weak: PKCS#1 v1.5 over the input */
};
#define P11B_ALG_COUNT		19

enum p11b_op {
	P11B_OP_NONE = 0,
	P11B_OP_SIGN,
	P11B_OP_HMAC,
	P11B_OP_HMAC_VERIFY,
	P11B_OP_SECRET,
	P11B_OP_PUBKEY,
	P11B_OP_RANDOM,
	P11B_OP_LIST,
	P11B_OP_HEALTH,
	P11B_OP_STATS,
	P11B_OP_GENERATE,	/* a key in a keyspace (GENERATE_KEY) */
};
#define P11B_OP_COUNT		11

enum p11b_key_type {
	P11B_KEY_NONE = 0,
	P11B_KEY_EC_P256,
	P11B_KEY_EC_P384,
	P11B_KEY_EC_P521,
	P11B_KEY_RSA,
	P11B_KEY_ED25519,
	P11B_KEY_SECRET,
	P11B_KEY_DATA,
};
#define P11B_KEY_TYPE_COUNT	8

/* p11b_sign() flags */
#define P11B_SIGN_DIGEST	0x01	/* input is a digest, not the message */
#define P11B_SIGN_RAW		0x02	/* ECDSA r||s instead of DER */

const char	*p11b_strerror(int rc);
const char	*p11b_status_name(int rc);	/* "denied", "no-such-key", ... */
const char	*p11b_alg_name(enum p11b_alg alg);
enum p11b_alg	 p11b_alg_from_name(const char *name);
const char	*p11b_op_name(enum p11b_op op);
enum p11b_op	 p11b_op_from_name(const char *name);
const char	*p11b_key_type_name(enum p11b_key_type type);
/* Digest length of the algorithm's hash (Ed25519: 0). */
size_t		 p11b_alg_digest_len(enum p11b_alg alg);

#ifdef __cplusplus
}
#endif

#endif /* P11BROKER_VOCAB_H */
