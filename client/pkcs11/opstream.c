/*
 * Multi-part HMAC and EdDSA through a broker stream (libp11broker's
 * p11b_*_init/p11b_stream_update/_final): each C_SignUpdate or
 * C_VerifyUpdate part goes on to the broker as it comes, so that a MAC
 * over a file of any size (within the broker's max-input) holds no more
 * than a frame here.  The stream keeps its connection from the first
 * part to the final; it is not tried again on a fresh connection (the
 * parts already sent are gone), a lost broker is CKR_DEVICE_ERROR.
 * Verifying an Ed25519 signature happens here and needs the whole
 * message (digest.c keeps it).
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "module.h"

/* The operation's input goes to the broker as a stream. */
int
op_streamed(const struct op *op, int verify)
{
	/*
	 * An older key version is checked only when its identity goes
	 * with the request (a stream here carries none): whole, and the
	 * library streams a long input itself, identity and all.
	 */
	if (op->key->previous)
		return 0;
	return op->mech->kind == MECH_HMAC ||
	    (op->mech->kind == MECH_EDDSA && !verify);
}

/*
 * Verifying with hmac-verify (the MAC goes at the end), or else with an
 * HMAC stream and a constant-time compare here.
 */
static int
op_stream_checks(const struct op *op, int verify)
{
	return verify && (op->key->ops & (1U << P11B_OP_HMAC_VERIFY));
}

static CK_RV
op_stream_open(struct op *op, int verify)
{
	struct p11b_conn *conn;
	CK_RV rv;
	int r;

	if ((rv = link_get(&op->link)) != CKR_OK)
		return rv;
	conn = link_conn(op->link);
	if (op->mech->kind == MECH_EDDSA)
		r = p11b_sign_init(conn, op->key->name, op->alg, 0,
		    &op->stream);
	else if (op_stream_checks(op, verify))
		r = p11b_hmac_verify_init(conn, op->key->name, op->alg,
		    &op->stream);
	else
		r = p11b_hmac_init(conn, op->key->name, op->alg, &op->stream);
	/* The key this session found, not whatever the name means now. */
	if (r == P11B_OK && op->key->identitylen > 0 &&
	    (r = p11b_stream_expect(op->stream, op->key->identity,
	    op->key->identitylen)) != P11B_OK) {
		p11b_stream_abort(op->stream);
		op->stream = NULL;
	}
	if (r != P11B_OK) {
		link_put(op->link, r);
		op->link = NULL;
		return link_ckr(r);
	}
	return CKR_OK;
}

CK_RV
op_stream_update(struct op *op, int verify, const uint8_t *in, size_t len)
{
	CK_RV rv;
	int r;

	if (op->stream == NULL && (rv = op_stream_open(op, verify)) != CKR_OK)
		return rv;
	if ((r = p11b_stream_update(op->stream, in, len)) != P11B_OK)
		return link_ckr(r);
	return CKR_OK;
}

/* The stream is over (freed by its final): its connection goes back. */
static CK_RV
op_stream_done(struct op *op, int r)
{
	op->stream = NULL;
	link_put(op->link, r);
	op->link = NULL;
	return link_ckr(r);
}

CK_RV
op_stream_sign_final(struct op *op, uint8_t *sig, CK_ULONG *siglenp)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	CK_RV rv;
	int r;

	if (op->stream == NULL && (rv = op_stream_open(op, 0)) != CKR_OK)
		return rv;
	if (op->mech->kind == MECH_EDDSA)
		r = p11b_sign_final(op->stream, &out, &outlen);
	else
		r = p11b_hmac_final(op->stream, &out, &outlen);
	if ((rv = op_stream_done(op, r)) != CKR_OK)
		return rv;
	if (outlen > *siglenp)
		rv = CKR_DEVICE_ERROR;	/* not what the key gives */
	else {
		memcpy(sig, out, outlen);
		*siglenp = outlen;
	}
	freezero(out, outlen);
	return rv;
}

CK_RV
op_stream_verify_final(struct op *op, const uint8_t *mac, size_t maclen)
{
	uint8_t *mine = NULL;
	size_t minelen = 0;
	int r, valid = 0;
	CK_RV rv;

	if (maclen != op->siglen) {
		op_stream_abort(op);
		return CKR_SIGNATURE_LEN_RANGE;
	}
	if (op->stream == NULL && (rv = op_stream_open(op, 1)) != CKR_OK)
		return rv;
	if (op_stream_checks(op, 1))
		r = p11b_hmac_verify_final(op->stream, mac, maclen, &valid);
	else {
		r = p11b_hmac_final(op->stream, &mine, &minelen);
		valid = r == P11B_OK && minelen == maclen &&
		    CRYPTO_memcmp(mine, mac, maclen) == 0;
		freezero(mine, minelen);
	}
	if ((rv = op_stream_done(op, r)) != CKR_OK)
		return rv;
	return valid ? CKR_OK : CKR_SIGNATURE_INVALID;
}

void
op_stream_abort(struct op *op)
{
	if (op->stream == NULL)
		return;
	p11b_stream_abort(op->stream);
	op->stream = NULL;
	link_put(op->link, P11B_OK);
	op->link = NULL;
}
