/*
 * Fuzz target for what the daemon runs on client bytes: the input is a
 * stream of frames (4-byte big-endian length, then the body), read the
 * way the front reads a connection.  Every body that decodes must satisfy
 * the decoder's promises, and encoding it again must give a frame that
 * decodes to the same request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static int
same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int
op_takes_key(enum p11b_op op)
{
	return op == P11B_OP_SIGN || op == P11B_OP_HMAC ||
	    op == P11B_OP_HMAC_VERIFY || op == P11B_OP_SECRET ||
	    op == P11B_OP_PUBKEY;
}

static int
op_takes_alg(enum p11b_op op)
{
	return op == P11B_OP_SIGN || op == P11B_OP_HMAC ||
	    op == P11B_OP_HMAC_VERIFY;
}

/* What wire_request_decode() promises about a request it accepted. */
static void
check_request(const struct wire_request *req)
{
	if (req->stream == WIRE_STREAM_DATA) {
		/* A stream's part: data, the last flag, a MAC at the last. */
		FUZZ_ASSERT(req->op == P11B_OP_NONE && req->key[0] == '\0' &&
		    req->alg == P11B_ALG_NONE && req->flags == 0);
		FUZZ_ASSERT(req->maclen == 0 || req->last);
		FUZZ_ASSERT(!req->cancel || (req->datalen == 0 &&
		    req->maclen == 0 && !req->last));
		FUZZ_ASSERT(req->datalen == 0 || req->data != NULL);
		FUZZ_ASSERT(req->msg != NULL);
		return;
	}
	FUZZ_ASSERT(!req->last && !req->cancel);
	FUZZ_ASSERT(req->stream == WIRE_STREAM_NONE || op_takes_alg(req->op));
	FUZZ_ASSERT(req->stream == WIRE_STREAM_BEGIN || req->total_length == 0);
	FUZZ_ASSERT(req->op > P11B_OP_NONE && req->op < P11B_OP_COUNT);
	if (op_takes_key(req->op))
		FUZZ_ASSERT(wire_key_name_valid(req->key,
		    strnlen(req->key, sizeof(req->key))));
	else
		FUZZ_ASSERT(req->key[0] == '\0');
	if (op_takes_alg(req->op))
		FUZZ_ASSERT(req->alg > P11B_ALG_NONE &&
		    req->alg < P11B_ALG_COUNT);
	else
		FUZZ_ASSERT(req->alg == P11B_ALG_NONE);
	FUZZ_ASSERT((req->flags & ~(P11B_SIGN_DIGEST | P11B_SIGN_RAW)) == 0);
	FUZZ_ASSERT(req->op == P11B_OP_SIGN || req->flags == 0);
	FUZZ_ASSERT(req->op == P11B_OP_SIGN || !req->salt_set);
	FUZZ_ASSERT(req->salt_set || req->salt_len == 0);
	FUZZ_ASSERT(req->datalen == 0 || req->data != NULL);
	FUZZ_ASSERT(req->maclen == 0 || req->mac != NULL);
	FUZZ_ASSERT(req->op == P11B_OP_HMAC_VERIFY || req->maclen == 0);
	FUZZ_ASSERT(req->op == P11B_OP_RANDOM || req->random_len == 0);
	FUZZ_ASSERT(req->identitylen == 0 ||
	    req->identitylen == P11B_IDENTITY_LEN);
	FUZZ_ASSERT(req->identitylen == 0 || req->op == P11B_OP_SIGN ||
	    req->op == P11B_OP_HMAC || req->op == P11B_OP_HMAC_VERIFY);
	FUZZ_ASSERT(req->msg != NULL);
}

static void
round_trip(const struct wire_request *req)
{
	struct wire_request again;
	uint8_t *frame = NULL;
	size_t len;

	FUZZ_ASSERT(wire_request_encode(req, &frame, &len) == 0);
	FUZZ_ASSERT(len > WIRE_HDR_LEN);
	FUZZ_ASSERT(wire_frame_len(frame, len) == (long)(len - WIRE_HDR_LEN));
	FUZZ_ASSERT(wire_request_decode(frame + WIRE_HDR_LEN,
	    len - WIRE_HDR_LEN, &again) == 0);
	FUZZ_ASSERT(again.id == req->id);
	FUZZ_ASSERT(again.op == req->op);
	FUZZ_ASSERT(strcmp(again.key, req->key) == 0);
	FUZZ_ASSERT(again.alg == req->alg);
	FUZZ_ASSERT(again.flags == req->flags);
	FUZZ_ASSERT(same_bytes(again.data, again.datalen, req->data,
	    req->datalen));
	FUZZ_ASSERT(same_bytes(again.mac, again.maclen, req->mac,
	    req->maclen));
	FUZZ_ASSERT(again.random_len == req->random_len);
	FUZZ_ASSERT(same_bytes(again.identity, again.identitylen,
	    req->identity, req->identitylen));
	FUZZ_ASSERT(again.stream == req->stream);
	FUZZ_ASSERT(again.total_length == req->total_length);
	FUZZ_ASSERT(again.last == req->last && again.cancel == req->cancel);
	wire_request_free(&again);
	free(frame);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_request req;
	size_t off = 0;
	long n;

	while (size - off >= WIRE_HDR_LEN) {
		/* The daemon closes the connection on a bad header. */
		n = wire_frame_len(data + off, WIRE_DEFAULT_MAX_FRAME);
		if (n < 0)
			break;
		FUZZ_ASSERT(n > 0 && n <= WIRE_DEFAULT_MAX_FRAME);
		off += WIRE_HDR_LEN;
		if ((size_t)n > size - off)
			break;		/* the client hung up mid-frame */
		if (wire_request_decode(data + off, n, &req) == 0) {
			check_request(&req);
			round_trip(&req);
		}
		wire_request_free(&req);
		FUZZ_ASSERT(req.msg == NULL);
		off += n;
	}
	return 0;
}
