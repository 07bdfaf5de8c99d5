/*
 * The batch oneof (proto/README.md, "Batches") both ways: one key, one
 * algorithm, one operation, and an item per input; in the response a
 * result per item, in order.  wire.c checks the key name, the algorithm
 * and the identity; here the operation, the sign options and the items.
 * How many items a batch may hold is the daemon's business (max-batch).
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "p11broker.pb-c.h"
#include "wire.h"

#define PB(x)	P11broker__V1__##x		/* types */
#define PBC(x)	P11BROKER__V1__##x		/* constants */

/* What an encoder points the protobuf message at, freed after packing. */
struct wire_batch_store {
	PB(BatchRequest)	  req;
	PB(BatchResponse)	  resp;
	PB(BatchItem)		 *items;
	PB(BatchItem)		**iptrs;
	PB(BatchResult)		 *results;
	PB(BatchResult)		**rptrs;
};

static ProtobufCBinaryData
bin(const uint8_t *p, size_t len)
{
	ProtobufCBinaryData b;

	b.data = (uint8_t *)p;
	b.len = len;
	return b;
}

static int
op_of(int op, enum p11b_op *out)
{
	switch (op) {
	case PBC(OPERATION__SIGN):
		*out = P11B_OP_SIGN;
		return 0;
	case PBC(OPERATION__HMAC):
		*out = P11B_OP_HMAC;
		return 0;
	case PBC(OPERATION__HMAC_VERIFY):
		*out = P11B_OP_HMAC_VERIFY;
		return 0;
	}
	return WIRE_ERR_INVALID;
}

/* Sign options only for SIGN; a MAC only for HMAC_VERIFY. */
static int
decode_options(const PB(BatchRequest) *m, struct wire_request *req)
{
	if (req->op != P11B_OP_SIGN) {
		if (m->is_digest || m->format != PBC(SIGNATURE_FORMAT__DER) ||
		    m->salt_length_set || m->salt_length != 0)
			return WIRE_ERR_INVALID;
		return 0;
	}
	if (m->format == PBC(SIGNATURE_FORMAT__RAW))
		req->flags |= P11B_SIGN_RAW;
	else if (m->format != PBC(SIGNATURE_FORMAT__DER))
		return WIRE_ERR_INVALID;
	if (m->is_digest)
		req->flags |= P11B_SIGN_DIGEST;
	req->salt_set = m->salt_length_set;
	req->salt_len = m->salt_length;
	if (!req->salt_set && req->salt_len != 0)
		return WIRE_ERR_INVALID;
	return 0;
}

int
wire_batch_request_decode(const void *pbreq, struct wire_request *req)
{
	const PB(BatchRequest) *m = pbreq;
	struct wire_batch *b;
	size_t i;

	if (op_of(m->operation, &req->op) != 0 ||
	    decode_options(m, req) != 0 || m->n_items == 0)
		return WIRE_ERR_INVALID;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->items = calloc(m->n_items, sizeof(*b->items))) == NULL) {
		free(b);
		return WIRE_ERR_NOMEM;
	}
	req->batch = b;
	b->n = m->n_items;
	for (i = 0; i < m->n_items; i++) {
		if (m->items[i]->mac.len > 0 && req->op != P11B_OP_HMAC_VERIFY)
			return WIRE_ERR_INVALID;
		b->items[i].data = m->items[i]->data.data;
		b->items[i].datalen = m->items[i]->data.len;
		b->items[i].mac = m->items[i]->mac.data;
		b->items[i].maclen = m->items[i]->mac.len;
	}
	return 0;
}

void
wire_batch_store_free(struct wire_batch_store *st)
{
	if (st == NULL)
		return;
	free(st->items);
	free(st->iptrs);
	free(st->results);
	free(st->rptrs);
	free(st);
}

void
wire_batch_free(struct wire_batch *b)
{
	if (b == NULL)
		return;
	free(b->items);
	free(b->results);
	free(b);
}

int
wire_batch_request_encode(const struct wire_request *req, void *pbreq,
    struct wire_batch_store **storep)
{
	PB(Request) *m = pbreq;
	const struct wire_batch *b = req->batch;
	struct wire_batch_store *st;
	PB(BatchRequest) init = PBC(BATCH_REQUEST__INIT);
	PB(BatchItem) iinit = PBC(BATCH_ITEM__INIT);
	size_t i;

	*storep = NULL;
	if (b->n == 0 || (req->op != P11B_OP_SIGN && req->op != P11B_OP_HMAC &&
	    req->op != P11B_OP_HMAC_VERIFY))
		return WIRE_ERR_INVALID;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return WIRE_ERR_NOMEM;
	*storep = st;
	if ((st->items = calloc(b->n, sizeof(*st->items))) == NULL ||
	    (st->iptrs = calloc(b->n, sizeof(*st->iptrs))) == NULL)
		return WIRE_ERR_NOMEM;
	st->req = init;
	st->req.key = bin((const uint8_t *)req->key, strlen(req->key));
	st->req.algorithm = (PB(Algorithm))req->alg;
	st->req.operation = req->op == P11B_OP_SIGN ? PBC(OPERATION__SIGN) :
	    req->op == P11B_OP_HMAC ? PBC(OPERATION__HMAC) :
	    PBC(OPERATION__HMAC_VERIFY);
	st->req.identity = bin(req->identity, req->identitylen);
	st->req.is_digest = (req->flags & P11B_SIGN_DIGEST) != 0;
	st->req.format = (req->flags & P11B_SIGN_RAW) ?
	    PBC(SIGNATURE_FORMAT__RAW) : PBC(SIGNATURE_FORMAT__DER);
	st->req.salt_length_set = req->salt_set != 0;
	st->req.salt_length = req->salt_set ? req->salt_len : 0;
	for (i = 0; i < b->n; i++) {
		st->items[i] = iinit;
		st->items[i].data = bin(b->items[i].data, b->items[i].datalen);
		st->items[i].mac = bin(b->items[i].mac, b->items[i].maclen);
		st->iptrs[i] = &st->items[i];
	}
	st->req.n_items = b->n;
	st->req.items = st->iptrs;
	m->op_case = PBC(REQUEST__OP_BATCH);
	m->batch = &st->req;
	return 0;
}

int
wire_batch_response_encode(const struct wire_batch *b, void *pbresp,
    struct wire_batch_store **storep)
{
	PB(Response) *m = pbresp;
	struct wire_batch_store *st;
	PB(BatchResponse) init = PBC(BATCH_RESPONSE__INIT);
	PB(BatchResult) rinit = PBC(BATCH_RESULT__INIT);
	const struct wire_batch_result *r;
	size_t i;

	*storep = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return WIRE_ERR_NOMEM;
	*storep = st;
	if (b->n > 0 && ((st->results = calloc(b->n,
	    sizeof(*st->results))) == NULL ||
	    (st->rptrs = calloc(b->n, sizeof(*st->rptrs))) == NULL))
		return WIRE_ERR_NOMEM;
	st->resp = init;
	for (i = 0; i < b->n; i++) {
		r = &b->results[i];
		if (r->status < 0 || r->status >= P11B_STATUS_COUNT)
			return WIRE_ERR_INVALID;
		st->results[i] = rinit;
		st->results[i].status = (PB(Status))(r->status + 1);
		st->results[i].message = (char *)(r->message != NULL ?
		    r->message : "");
		if (r->status == P11B_OK) {
			st->results[i].output = bin(r->out, r->outlen);
			st->results[i].valid = r->valid != 0;
		}
		st->rptrs[i] = &st->results[i];
	}
	st->resp.n_results = b->n;
	st->resp.results = st->rptrs;
	m->result_case = PBC(RESPONSE__RESULT_BATCH);
	m->batch = &st->resp;
	return 0;
}

int
wire_batch_response_decode(const void *pbresp, struct wire_response *resp)
{
	const PB(BatchResponse) *m = pbresp;
	struct wire_batch *b;
	const PB(BatchResult) *r;
	size_t i;

	if ((b = calloc(1, sizeof(*b))) == NULL || (m->n_results > 0 &&
	    (b->results = calloc(m->n_results, sizeof(*b->results))) ==
	    NULL)) {
		free(b);
		return WIRE_ERR_NOMEM;
	}
	resp->batch_owned = b;
	resp->batch = b;
	b->n = m->n_results;
	for (i = 0; i < m->n_results; i++) {
		r = m->results[i];
		if (r->status <= 0 || r->status > P11B_STATUS_COUNT)
			return WIRE_ERR_INVALID;
		b->results[i].status = (int)r->status - 1;
		/* A result only comes with OK. */
		if (b->results[i].status != P11B_OK && (r->output.len > 0 ||
		    r->valid))
			return WIRE_ERR_INVALID;
		b->results[i].message = r->message != NULL ? r->message : "";
		b->results[i].out = r->output.data;
		b->results[i].outlen = r->output.len;
		b->results[i].valid = r->valid;
	}
	return 0;
}
