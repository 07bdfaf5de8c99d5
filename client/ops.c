/*
 * libp11broker operations: one function per request.  Each checks its
 * arguments before anything is sent, builds a wire request, and checks
 * that the broker answered with the result this request asks for.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "p11broker.h"
#include "wire.h"
#include "client.h"

static int
ops_invalid(const char *why)
{
	conn_set_message(why);
	return P11B_ERR_INVALID;
}

static int
ops_protocol(struct wire_response *resp, const char *why)
{
	wire_response_free(resp);
	conn_set_message(why);
	return P11B_ERR_PROTOCOL;
}

static void
ops_init(struct wire_request *req, enum p11b_op op)
{
	memset(req, 0, sizeof(*req));
	req->op = op;
}

static int
ops_key(struct wire_request *req, enum p11b_op op, const char *key)
{
	size_t len;

	ops_init(req, op);
	if (key == NULL)
		return ops_invalid("no key name");
	len = strnlen(key, P11B_KEY_NAME_MAX + 1);
	if (!wire_key_name_valid(key, len))
		return ops_invalid("invalid key name");
	memcpy(req->key, key, len);
	req->key[len] = '\0';
	return 0;
}

static int
ops_alg(struct wire_request *req, enum p11b_alg alg)
{
	if (alg <= P11B_ALG_NONE || alg >= P11B_ALG_COUNT)
		return ops_invalid("invalid algorithm");
	req->alg = alg;
	return 0;
}

/* P11B_ALG_NONE: the CLI's default, so that both MAC alike. */
static int
ops_hmac_alg(struct wire_request *req, enum p11b_alg alg)
{
	return ops_alg(req, alg == P11B_ALG_NONE ? P11B_HMAC_DEFAULT_ALG : alg);
}

static int
ops_data(struct wire_request *req, const uint8_t *in, size_t inlen)
{
	if (in == NULL && inlen != 0)
		return ops_invalid("no input buffer");
	req->data = in;
	req->datalen = inlen;
	return 0;
}

/*
 * Send the request and wait.  Returns 0 with an OK response of the
 * request's kind in *resp, a broker status, or a local error.
 */
static int
ops_exchange(struct p11b_conn *conn, struct wire_request *req,
    struct wire_response *resp)
{
	int r;

	memset(resp, 0, sizeof(*resp));
	if (conn == NULL)
		return ops_invalid("no connection");
	if ((r = conn_call(conn, req, resp)) != 0)
		return r;
	if (resp->status != P11B_OK) {
		conn_set_message(resp->message);
		r = resp->status;
		wire_response_free(resp);
		return r;
	}
	if (resp->op != req->op)
		return ops_protocol(resp, "response of the wrong kind");
	client_note_version(resp);
	return 0;
}

/* Copy a result out of the response into caller-owned memory. */
static int
ops_copy(const uint8_t *src, size_t len, uint8_t **dstp)
{
	uint8_t *dst;

	if ((dst = malloc(len > 0 ? len : 1)) == NULL) {
		conn_set_message("out of memory");
		return P11B_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(dst, src, len);
	*dstp = dst;
	return 0;
}

static int
ops_sign_check(enum p11b_alg alg, int flags, size_t inlen)
{
	if ((flags & ~(P11B_SIGN_DIGEST | P11B_SIGN_RAW)) != 0)
		return ops_invalid("invalid sign flags");
	/* Ed25519 always signs the whole message. */
	if ((flags & P11B_SIGN_DIGEST) && alg != P11B_ALG_ED25519 &&
	    inlen != p11b_alg_digest_len(alg))
		return ops_invalid("digest length does not match the "
		    "algorithm");
	return 0;
}

static int
ops_identity(struct wire_request *req, const uint8_t *identity,
    size_t identitylen)
{
	if (identitylen == 0)
		return 0;
	if (identity == NULL || identitylen != P11B_IDENTITY_LEN)
		return ops_invalid("invalid key identity");
	req->identity = identity;
	req->identitylen = identitylen;
	return 0;
}

/*
 * identity: the key the caller expects (or none); salt: an RSA-PSS salt
 * length, or -1 for the digest length.
 */
static int
ops_sign(struct p11b_conn *conn, const char *key, const uint8_t *identity,
    size_t identitylen, enum p11b_alg alg, int flags, long salt,
    const uint8_t *in, size_t inlen, uint8_t **sigp, size_t *siglenp)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (sigp == NULL || siglenp == NULL)
		return ops_invalid("no output pointer");
	*sigp = NULL;
	*siglenp = 0;
	if ((r = ops_key(&req, P11B_OP_SIGN, key)) != 0 ||
	    (r = ops_alg(&req, alg)) != 0 ||
	    (r = ops_data(&req, in, inlen)) != 0 ||
	    (r = ops_sign_check(alg, flags, inlen)) != 0 ||
	    (r = ops_identity(&req, identity, identitylen)) != 0)
		return r;
	if (salt >= 0 && (alg_family_of(alg) != ALG_FAMILY_RSA_PSS ||
	    salt > UINT16_MAX))
		return ops_invalid("a salt length is for RSA-PSS, at most "
		    "65535");
	if (inlen > CLIENT_WHOLE_MAX) {
		struct stream_opts so = { identity, identitylen, salt };

		return stream_whole(conn, P11B_OP_SIGN, key, alg, flags, &so,
		    in, inlen, NULL, 0, sigp, siglenp, NULL);
	}
	req.flags = flags;
	if (salt >= 0) {
		req.salt_set = 1;
		req.salt_len = (uint32_t)salt;
	}
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if (resp.outlen == 0)
		return ops_protocol(&resp, "empty signature");
	if ((r = ops_copy(resp.out, resp.outlen, sigp)) == 0)
		*siglenp = resp.outlen;
	wire_response_free(&resp);
	return r;
}

int
p11b_sign(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    int flags, const uint8_t *in, size_t inlen, uint8_t **sigp,
    size_t *siglenp)
{
	return ops_sign(conn, key, NULL, 0, alg, flags, -1, in, inlen, sigp,
	    siglenp);
}

int
p11b_sign_expect(struct p11b_conn *conn, const char *key,
    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
    int flags, const uint8_t *in, size_t inlen, uint8_t **sigp,
    size_t *siglenp)
{
	return ops_sign(conn, key, identity, identitylen, alg, flags, -1, in,
	    inlen, sigp, siglenp);
}

int
p11b_sign_pss(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    int flags, size_t salt_len, const uint8_t *in, size_t inlen,
    uint8_t **sigp, size_t *siglenp)
{
	return p11b_sign_pss_expect(conn, key, NULL, 0, alg, flags, salt_len,
	    in, inlen, sigp, siglenp);
}

int
p11b_sign_pss_expect(struct p11b_conn *conn, const char *key,
    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
    int flags, size_t salt_len, const uint8_t *in, size_t inlen,
    uint8_t **sigp, size_t *siglenp)
{
	if (salt_len > UINT16_MAX)
		return ops_invalid("salt length too long");
	return ops_sign(conn, key, identity, identitylen, alg, flags,
	    (long)salt_len, in, inlen, sigp, siglenp);
}

int
p11b_hmac(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    const uint8_t *in, size_t inlen, uint8_t **macp, size_t *maclenp)
{
	return p11b_hmac_expect(conn, key, NULL, 0, alg, in, inlen, macp,
	    maclenp);
}

int
p11b_hmac_expect(struct p11b_conn *conn, const char *key,
    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
    const uint8_t *in, size_t inlen, uint8_t **macp, size_t *maclenp)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (macp == NULL || maclenp == NULL)
		return ops_invalid("no output pointer");
	*macp = NULL;
	*maclenp = 0;
	if ((r = ops_key(&req, P11B_OP_HMAC, key)) != 0 ||
	    (r = ops_hmac_alg(&req, alg)) != 0 ||
	    (r = ops_data(&req, in, inlen)) != 0 ||
	    (r = ops_identity(&req, identity, identitylen)) != 0)
		return r;
	if (inlen > CLIENT_WHOLE_MAX) {
		struct stream_opts so = { identity, identitylen, -1 };

		return stream_whole(conn, P11B_OP_HMAC, key, alg, 0, &so, in,
		    inlen, NULL, 0, macp, maclenp, NULL);
	}
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if (resp.outlen == 0)
		return ops_protocol(&resp, "empty MAC");
	if ((r = ops_copy(resp.out, resp.outlen, macp)) == 0)
		*maclenp = resp.outlen;
	wire_response_free(&resp);
	return r;
}

int
p11b_hmac_verify(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    const uint8_t *in, size_t inlen, const uint8_t *mac, size_t maclen,
    int *validp)
{
	return p11b_hmac_verify_expect(conn, key, NULL, 0, alg, in, inlen,
	    mac, maclen, validp);
}

int
p11b_hmac_verify_expect(struct p11b_conn *conn, const char *key,
    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
    const uint8_t *in, size_t inlen, const uint8_t *mac, size_t maclen,
    int *validp)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (validp == NULL)
		return ops_invalid("no output pointer");
	*validp = 0;
	if ((r = ops_key(&req, P11B_OP_HMAC_VERIFY, key)) != 0 ||
	    (r = ops_hmac_alg(&req, alg)) != 0 ||
	    (r = ops_data(&req, in, inlen)) != 0 ||
	    (r = ops_identity(&req, identity, identitylen)) != 0)
		return r;
	if (mac == NULL && maclen != 0)
		return ops_invalid("no MAC buffer");
	if (inlen > CLIENT_WHOLE_MAX) {
		struct stream_opts so = { identity, identitylen, -1 };

		return stream_whole(conn, P11B_OP_HMAC_VERIFY, key, alg, 0, &so,
		    in, inlen, mac, maclen, NULL, NULL, validp);
	}
	req.mac = mac;
	req.maclen = maclen;
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	*validp = resp.valid != 0;
	wire_response_free(&resp);
	return 0;
}

int
p11b_get_secret_expect(struct p11b_conn *conn, const char *key,
    const uint8_t *identity, size_t identitylen, uint8_t **secretp,
    size_t *lenp)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (secretp == NULL || lenp == NULL)
		return ops_invalid("no output pointer");
	*secretp = NULL;
	*lenp = 0;
	if ((r = ops_key(&req, P11B_OP_SECRET, key)) != 0 ||
	    (r = ops_identity(&req, identity, identitylen)) != 0)
		return r;
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if ((r = ops_copy(resp.out, resp.outlen, secretp)) == 0)
		*lenp = resp.outlen;
	/* wire_response_free() wipes the secret in the decoded message. */
	wire_response_free(&resp);
	return r;
}

int
p11b_get_secret(struct p11b_conn *conn, const char *key, uint8_t **secretp,
    size_t *lenp)
{
	return p11b_get_secret_expect(conn, key, NULL, 0, secretp, lenp);
}

void
p11b_free_secret(uint8_t *secret, size_t len)
{
	freezero(secret, len);
}

static int
ops_pubkey_copy(struct wire_response *resp, uint8_t **spkip,
    size_t *spkilenp, uint8_t **certp, size_t *certlenp)
{
	int r;

	if ((r = ops_copy(resp->out, resp->outlen, spkip)) != 0)
		return r;
	*spkilenp = resp->outlen;
	if (certp == NULL || resp->certlen == 0)
		return 0;
	if ((r = ops_copy(resp->cert, resp->certlen, certp)) != 0) {
		free(*spkip);
		*spkip = NULL;
		*spkilenp = 0;
		return r;
	}
	*certlenp = resp->certlen;
	return 0;
}

int
p11b_get_public_key(struct p11b_conn *conn, const char *key, uint8_t **spkip,
    size_t *spkilenp, uint8_t **certp, size_t *certlenp)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (spkip == NULL || spkilenp == NULL ||
	    (certp == NULL) != (certlenp == NULL))
		return ops_invalid("no output pointer");
	*spkip = NULL;
	*spkilenp = 0;
	if (certp != NULL) {
		*certp = NULL;
		*certlenp = 0;
	}
	if ((r = ops_key(&req, P11B_OP_PUBKEY, key)) != 0)
		return r;
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if (resp.outlen == 0)
		return ops_protocol(&resp, "empty public key");
	r = ops_pubkey_copy(&resp, spkip, spkilenp, certp, certlenp);
	wire_response_free(&resp);
	return r;
}

void
p11b_public_key_free(struct p11b_public_key *pk)
{
	if (pk == NULL)
		return;
	free(pk->spki);
	free(pk->cert);
	free(pk->chain);
	memset(pk, 0, sizeof(*pk));
}

int
p11b_get_public_key_info(struct p11b_conn *conn, const char *key,
    struct p11b_public_key *pk)
{
	return p11b_get_public_key_version(conn, key, NULL, pk);
}

int
p11b_get_public_key_version(struct p11b_conn *conn, const char *key,
    const char *version, struct p11b_public_key *pk)
{
	struct wire_request req;
	struct wire_response resp;
	size_t vlen;
	int r;

	if (pk == NULL)
		return ops_invalid("no output pointer");
	memset(pk, 0, sizeof(*pk));
	if ((r = ops_key(&req, P11B_OP_PUBKEY, key)) != 0)
		return r;
	vlen = version == NULL ? 0 : strnlen(version, P11B_KEY_NAME_MAX + 1);
	if (vlen > 0 && !wire_key_name_valid(version, vlen))
		return ops_invalid("invalid key version name");
	if (vlen > 0)
		memcpy(req.version, version, vlen + 1);
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if (resp.outlen == 0)
		return ops_protocol(&resp, "empty public key");
	if ((r = ops_pubkey_copy(&resp, &pk->spki, &pk->spkilen, &pk->cert,
	    &pk->certlen)) == 0 && resp.chainlen > 0 &&
	    (r = ops_copy(resp.chain, resp.chainlen, &pk->chain)) == 0)
		pk->chainlen = resp.chainlen;
	if (resp.identitylen > 0) {
		memcpy(pk->identity, resp.identity, resp.identitylen);
		pk->identitylen = resp.identitylen;
	}
	wire_response_free(&resp);
	if (r != 0)
		p11b_public_key_free(pk);
	return r;
}

int
p11b_random(struct p11b_conn *conn, size_t len, uint8_t **outp)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (outp == NULL)
		return ops_invalid("no output pointer");
	*outp = NULL;
	if (len == 0 || len > P11B_RANDOM_MAX)
		return ops_invalid("random length out of range");
	ops_init(&req, P11B_OP_RANDOM);
	req.random_len = (uint32_t)len;
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if (resp.outlen != len)
		return ops_protocol(&resp, "random data of the wrong length");
	r = ops_copy(resp.out, len, outp);
	/* Random bytes often become keys: leave no copy behind. */
	explicit_bzero((void *)resp.out, resp.outlen);
	wire_response_free(&resp);
	return r;
}

int
p11b_list_keys(struct p11b_conn *conn, struct p11b_key_info **keysp,
    size_t *nkeysp)
{
	struct wire_request req;
	struct wire_response resp;
	struct p11b_key_info *keys = NULL;
	size_t i, n = 0;
	int r;

	if (keysp == NULL || nkeysp == NULL)
		return ops_invalid("no output pointer");
	*keysp = NULL;
	*nkeysp = 0;
	ops_init(&req, P11B_OP_LIST);
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if (resp.nkeys > 0) {
		if ((keys = calloc(resp.nkeys, sizeof(*keys))) == NULL) {
			wire_response_free(&resp);
			conn_set_message("out of memory");
			return P11B_ERR_NOMEM;
		}
		/* Older key versions: p11b_list_key_versions() only. */
		for (i = 0; i < resp.nkeys; i++)
			if (resp.key_versions == NULL ||
			    !resp.key_versions[i].previous)
				keys[n++] = resp.keys[i];
	}
	*keysp = keys;
	*nkeysp = n;
	wire_response_free(&resp);
	return 0;
}

int
p11b_health(struct p11b_conn *conn, struct p11b_health *health)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (health == NULL)
		return ops_invalid("no output pointer");
	memset(health, 0, sizeof(*health));
	ops_init(&req, P11B_OP_HEALTH);
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	*health = resp.health;
	health->version[sizeof(health->version) - 1] = '\0';
	wire_response_free(&resp);
	return 0;
}

int
p11b_stats(struct p11b_conn *conn, struct p11b_stats *stats)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (stats == NULL)
		return ops_invalid("no output pointer");
	memset(stats, 0, sizeof(*stats));
	ops_init(&req, P11B_OP_STATS);
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	/* Take the decoded counters over: resp no longer owns them. */
	*stats = resp.stats;
	resp.stats.requests = NULL;
	resp.stats.callers = NULL;
	wire_response_free(&resp);
	return 0;
}

void
p11b_stats_free(struct p11b_stats *stats)
{
	if (stats == NULL)
		return;
	free(stats->requests);
	free(stats->callers);
	memset(stats, 0, sizeof(*stats));
}

int
p11b_generate_key(struct p11b_conn *conn, const char *label,
    enum p11b_key_type type, unsigned int bits, const uint8_t *id,
    size_t idlen, struct p11b_key_info *key, uint8_t **spkip,
    size_t *spkilenp)
{
	struct wire_request req;
	struct wire_response resp;
	int r;

	if (key == NULL || spkip == NULL || spkilenp == NULL)
		return ops_invalid("no output pointer");
	memset(key, 0, sizeof(*key));
	*spkip = NULL;
	*spkilenp = 0;
	if ((id == NULL) != (idlen == 0) || idlen > P11B_ID_MAX)
		return ops_invalid("an id is 1 to 64 bytes, or none");
	if ((r = ops_key(&req, P11B_OP_GENERATE, label)) != 0)
		return r;
	req.gen_type = type;
	req.gen_bits = bits;
	req.gen_id = id;
	req.gen_idlen = idlen;
	if ((r = ops_exchange(conn, &req, &resp)) != 0)
		return r;
	if (resp.nkeys != 1)
		return ops_protocol(&resp, "no key in the answer");
	*key = resp.keys[0];
	if (resp.outlen > 0 && (r = ops_copy(resp.out, resp.outlen,
	    spkip)) != 0) {
		wire_response_free(&resp);
		return r;
	}
	*spkilenp = resp.outlen;
	wire_response_free(&resp);
	return 0;
}
