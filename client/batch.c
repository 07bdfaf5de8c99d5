/*
 * libp11broker batches (p11broker.h, "Batches"): the items go in one
 * request frame and come back as one response with a result per item,
 * which must be exactly as many as were sent.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p11broker.h"
#include "wire.h"
#include "client.h"

static int
batch_invalid(const char *why)
{
	conn_set_message(why);
	return P11B_ERR_INVALID;
}

static int
batch_request(struct wire_request *req, struct wire_batch *wb,
    enum p11b_op op, const char *key, const uint8_t *identity,
    size_t identitylen, enum p11b_alg alg, int flags,
    const struct p11b_batch_item *items, size_t n)
{
	size_t i, len;

	memset(req, 0, sizeof(*req));
	if (op != P11B_OP_SIGN && op != P11B_OP_HMAC &&
	    op != P11B_OP_HMAC_VERIFY)
		return batch_invalid("a batch is of sign, hmac or hmac-verify");
	if (key == NULL || !wire_key_name_valid(key,
	    (len = strnlen(key, P11B_KEY_NAME_MAX + 1))))
		return batch_invalid("invalid key name");
	if (alg <= P11B_ALG_NONE || alg >= P11B_ALG_COUNT)
		return batch_invalid("invalid algorithm");
	if ((flags & ~(P11B_SIGN_DIGEST | P11B_SIGN_RAW)) != 0 ||
	    (flags != 0 && op != P11B_OP_SIGN))
		return batch_invalid("invalid sign flags");
	if (identitylen != 0 && (identity == NULL ||
	    identitylen != P11B_IDENTITY_LEN))
		return batch_invalid("invalid key identity");
	if (items == NULL || n == 0)
		return batch_invalid("no items");
	if ((wb->items = calloc(n, sizeof(*wb->items))) == NULL) {
		conn_set_message("out of memory");
		return P11B_ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if ((items[i].in == NULL && items[i].inlen != 0) ||
		    (items[i].mac == NULL && items[i].maclen != 0) ||
		    (items[i].maclen != 0 && op != P11B_OP_HMAC_VERIFY)) {
			free(wb->items);
			wb->items = NULL;
			return batch_invalid("an item without its buffer, or "
			    "a MAC not to verify");
		}
		wb->items[i].data = items[i].in;
		wb->items[i].datalen = items[i].inlen;
		wb->items[i].mac = items[i].mac;
		wb->items[i].maclen = items[i].maclen;
	}
	wb->n = n;
	memcpy(req->key, key, len);
	req->key[len] = '\0';
	req->op = op;
	req->alg = alg;
	req->flags = flags;
	req->identity = identitylen > 0 ? identity : NULL;
	req->identitylen = identitylen;
	req->batch = wb;
	return 0;
}

/* The results into the items; P11B_ERR_PROTOCOL if they do not fit. */
static int
batch_results(const struct wire_batch *wb, enum p11b_op op,
    struct p11b_batch_item *items, size_t n)
{
	const struct wire_batch_result *r;
	size_t i;

	if (wb == NULL || wb->n != n) {
		conn_set_message("a batch answer without a result per item");
		return P11B_ERR_PROTOCOL;
	}
	for (i = 0; i < n; i++) {
		r = &wb->results[i];
		if (r->status == P11B_OK && op != P11B_OP_HMAC_VERIFY &&
		    r->outlen == 0) {
			conn_set_message("an empty signature or MAC");
			goto fail;
		}
		items[i].status = r->status;
		items[i].valid = r->status == P11B_OK && r->valid;
		if (r->status != P11B_OK || r->outlen == 0)
			continue;
		if ((items[i].out = malloc(r->outlen)) == NULL) {
			conn_set_message("out of memory");
			p11b_batch_clear(items, n);
			return P11B_ERR_NOMEM;
		}
		memcpy(items[i].out, r->out, r->outlen);
		items[i].outlen = r->outlen;
	}
	return 0;
 fail:
	p11b_batch_clear(items, n);
	return P11B_ERR_PROTOCOL;
}

int
p11b_batch(struct p11b_conn *conn, enum p11b_op op, const char *key,
    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
    int flags, struct p11b_batch_item *items, size_t n)
{
	struct wire_request req;
	struct wire_response resp;
	struct wire_batch wb;
	size_t i;
	int r;

	memset(&wb, 0, sizeof(wb));
	for (i = 0; items != NULL && i < n; i++) {
		items[i].status = P11B_INTERNAL;
		items[i].out = NULL;
		items[i].outlen = 0;
		items[i].valid = 0;
	}
	if (conn == NULL)
		return batch_invalid("no connection");
	if ((r = batch_request(&req, &wb, op, key, identity, identitylen, alg,
	    flags, items, n)) != 0)
		return r;
	memset(&resp, 0, sizeof(resp));
	r = conn_call(conn, &req, &resp);
	free(wb.items);
	if (r != 0)
		return r;
	if (resp.status != P11B_OK) {
		conn_set_message(resp.message);
		r = resp.status;
	} else if ((r = batch_results(resp.batch, op, items, n)) == 0)
		conn_set_message("");
	wire_response_free(&resp);
	return r;
}

int
p11b_sign_batch(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    int flags, struct p11b_batch_item *items, size_t n)
{
	return p11b_batch(conn, P11B_OP_SIGN, key, NULL, 0, alg, flags, items,
	    n);
}

int
p11b_hmac_batch(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    struct p11b_batch_item *items, size_t n)
{
	return p11b_batch(conn, P11B_OP_HMAC, key, NULL, 0, alg, 0, items, n);
}

int
p11b_hmac_verify_batch(struct p11b_conn *conn, const char *key,
    enum p11b_alg alg, struct p11b_batch_item *items, size_t n)
{
	return p11b_batch(conn, P11B_OP_HMAC_VERIFY, key, NULL, 0, alg, 0,
	    items, n);
}

void
p11b_batch_clear(struct p11b_batch_item *items, size_t n)
{
	size_t i;

	for (i = 0; items != NULL && i < n; i++) {
		free(items[i].out);
		items[i].out = NULL;
		items[i].outlen = 0;
	}
}
