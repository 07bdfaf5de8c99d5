/*
 * The batch codec (signer_batch.h).  Host byte order, like signer_msg.c;
 * each length is checked against what is left before it is read, and
 * the body must be used up exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "signer_batch.h"
#include "wire.h"
#include "rd.h"

static uint8_t *
put(uint8_t *w, const void *src, size_t n)
{
	if (n > 0)
		memcpy(w, src, n);
	return w + n;
}

static uint8_t *
put_u(uint8_t *w, uint32_t v, size_t n)
{
	uint16_t v16 = (uint16_t)v;
	uint8_t v8 = (uint8_t)v;

	return put(w, n == 1 ? (const void *)&v8 : n == 2 ?
	    (const void *)&v16 : (const void *)&v, n);
}

static int
batch_op_ok(unsigned int op)
{
	return op == P11B_OP_SIGN || op == P11B_OP_HMAC ||
	    op == P11B_OP_HMAC_VERIFY;
}

int
smsg_batch_encode(uint64_t id, const struct job *tmpl,
    const struct smsg_batch_item *items, size_t n, uint8_t **bufp,
    size_t *lenp)
{
	uint8_t *w;
	size_t i, len = SMSG_BATCH_FIXED;

	if (!batch_op_ok(tmpl->op) || tmpl->key < 0 || n == 0 ||
	    n > SMSG_BATCH_MAX)
		return SMSG_ERR;
	for (i = 0; i < n; i++) {
		if (items[i].inlen > SMSG_BODY_MAX ||
		    items[i].maclen > SMSG_BODY_MAX)
			return SMSG_ERR;
		len += SMSG_BATCH_ITEM_FIXED + items[i].inlen +
		    items[i].maclen;
		if (len > SMSG_BODY_MAX)
			return SMSG_ERR;
	}
	if ((w = smsg_alloc(SMSG_BATCH_JOB, id, len, bufp, lenp)) == NULL)
		return SMSG_ERR;
	w = put_u(w, (uint32_t)tmpl->key, 2);
	w = put_u(w, (uint32_t)tmpl->op, 1);
	w = put_u(w, (uint32_t)tmpl->alg, 1);
	w = put_u(w, (uint32_t)tmpl->flags, 1);
	w = put_u(w, tmpl->salt_set ? 1 : 0, 1);
	w = put_u(w, tmpl->salt_set ? tmpl->salt_len : 0, 2);
	w = put_u(w, (uint32_t)n, 4);
	for (i = 0; i < n; i++) {
		w = put_u(w, (uint32_t)items[i].inlen, 4);
		w = put_u(w, (uint32_t)items[i].maclen, 4);
		w = put(w, items[i].in, items[i].inlen);
		w = put(w, items[i].mac, items[i].maclen);
	}
	return SMSG_OK;
}

int
smsg_batch_decode(const uint8_t *body, size_t len, size_t nkeys,
    struct job *tmpl, struct smsg_batch_item **itemsp, size_t *np)
{
	struct rd r = { body, len, 0 };
	struct smsg_batch_item *items;
	unsigned int key, op, alg, flags, salt_set, salt_len;
	uint32_t n, inlen, maclen, i;

	memset(tmpl, 0, sizeof(*tmpl));
	*itemsp = NULL;
	*np = 0;
	key = rd_u16(&r);
	op = rd_u8(&r);
	alg = rd_u8(&r);
	flags = rd_u8(&r);
	salt_set = rd_u8(&r);
	salt_len = rd_u16(&r);
	n = rd_u32(&r);
	if (r.bad || key >= nkeys || !batch_op_ok(op) ||
	    alg == P11B_ALG_NONE || alg >= P11B_ALG_COUNT ||
	    (flags & ~(P11B_SIGN_DIGEST | P11B_SIGN_RAW)) != 0 ||
	    (flags != 0 && op != P11B_OP_SIGN) || salt_set > 1 ||
	    (!salt_set && salt_len != 0) || (salt_set && op != P11B_OP_SIGN) ||
	    n == 0 || n > SMSG_BATCH_MAX ||
	    (size_t)n > r.left / SMSG_BATCH_ITEM_FIXED)
		return SMSG_ERR;
	if ((items = calloc(n, sizeof(*items))) == NULL)
		return SMSG_ERR;
	for (i = 0; i < n; i++) {
		inlen = rd_u32(&r);
		maclen = rd_u32(&r);
		if (r.bad || (maclen != 0 && op != P11B_OP_HMAC_VERIFY) ||
		    (size_t)inlen > r.left ||
		    (size_t)maclen > r.left - inlen)
			goto fail;
		items[i].inlen = inlen;
		items[i].in = inlen > 0 ? rd_take(&r, inlen) : NULL;
		items[i].maclen = maclen;
		items[i].mac = maclen > 0 ? rd_take(&r, maclen) : NULL;
	}
	if (r.bad || r.left != 0)
		goto fail;
	tmpl->key = (int)key;
	tmpl->op = (enum p11b_op)op;
	tmpl->alg = (enum p11b_alg)alg;
	tmpl->flags = (int)flags;
	tmpl->salt_set = (int)salt_set;
	tmpl->salt_len = salt_len;
	tmpl->stream = JOB_WHOLE;
	*itemsp = items;
	*np = n;
	return SMSG_OK;
 fail:
	free(items);
	return SMSG_ERR;
}

static size_t
msg_len(const struct job_result *res)
{
	size_t n = res->message == NULL || res->status == P11B_OK ? 0 :
	    strlen(res->message);

	return n > SMSG_TEXT_MAX ? SMSG_TEXT_MAX : n;
}

int
smsg_batch_result_encode(uint64_t id, const struct job_result *res,
    size_t n, uint8_t **bufp, size_t *lenp)
{
	uint8_t *w;
	size_t i, j, ml, len = SMSG_BRES_FIXED;

	if (n == 0 || n > SMSG_BATCH_MAX)
		return SMSG_ERR;
	for (i = 0; i < n; i++) {
		if (res[i].status < 0 || res[i].status >= P11B_STATUS_COUNT ||
		    res[i].secret || res[i].outlen > SMSG_BODY_MAX)
			return SMSG_ERR;
		len += SMSG_BRES_ITEM_FIXED + msg_len(&res[i]) +
		    (res[i].status == P11B_OK ? res[i].outlen : 0);
		if (len > SMSG_BODY_MAX)
			return SMSG_ERR;
	}
	if ((w = smsg_alloc(SMSG_BATCH_RESULT, id, len, bufp, lenp)) == NULL)
		return SMSG_ERR;
	w = put_u(w, (uint32_t)n, 4);
	for (i = 0; i < n; i++) {
		int ok = res[i].status == P11B_OK;

		ml = msg_len(&res[i]);
		w = put_u(w, (uint32_t)res[i].status, 1);
		w = put_u(w, ok && res[i].valid ? 1 : 0, 1);
		w = put_u(w, (uint32_t)ml, 1);
		w = put_u(w, ok ? (uint32_t)res[i].outlen : 0, 4);
		/* Only printable ASCII crosses: the front logs it. */
		for (j = 0; j < ml; j++, w++)
			*w = res[i].message[j] >= 0x20 &&
			    res[i].message[j] <= 0x7e ? res[i].message[j] : '?';
		if (ok)
			w = put(w, res[i].out, res[i].outlen);
	}
	return SMSG_OK;
}

int
smsg_batch_result_decode(const uint8_t *body, size_t len, size_t n,
    struct smsg_batch *b)
{
	struct rd r = { body, len, 0 };
	const uint8_t *msg, *out;
	unsigned int status, valid, ml;
	uint32_t outlen, count;
	size_t i, j;

	count = rd_u32(&r);
	if (r.bad || count != n || n == 0 || n > SMSG_BATCH_MAX)
		return SMSG_ERR;
	if ((b->res = calloc(n, sizeof(*b->res))) == NULL ||
	    (b->msgs = calloc(n, sizeof(*b->msgs))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		status = rd_u8(&r);
		valid = rd_u8(&r);
		ml = rd_u8(&r);
		outlen = rd_u32(&r);
		msg = rd_take(&r, ml);
		out = rd_take(&r, outlen);
		if (r.bad || status >= P11B_STATUS_COUNT || valid > 1 ||
		    ml > SMSG_TEXT_MAX || (status != P11B_OK &&
		    (valid != 0 || outlen != 0)) ||
		    (status == P11B_OK && ml != 0))
			goto fail;
		for (j = 0; j < ml; j++)
			if (msg[j] < 0x20 || msg[j] > 0x7e)
				goto fail;
		if (outlen > 0) {
			if ((b->res[i].out = malloc(outlen)) == NULL)
				goto fail;
			memcpy(b->res[i].out, out, outlen);
		}
		memcpy(b->msgs[i], msg, ml);
		b->msgs[i][ml] = '\0';
		b->res[i].message = ml > 0 ? b->msgs[i] : NULL;
		b->res[i].status = (int)status;
		b->res[i].valid = (int)valid;
		b->res[i].outlen = outlen;
	}
	if (r.left != 0)
		goto fail;
	return SMSG_OK;
 fail:
	if (b->res != NULL)
		for (i = 0; i < n; i++)
			job_result_clear(&b->res[i]);
	free(b->res);
	free(b->msgs);
	b->res = NULL;
	b->msgs = NULL;
	return SMSG_ERR;
}

void
smsg_batch_clear(struct smsg_batch *b)
{
	size_t i;

	if (b->res != NULL)
		for (i = 0; i < b->n; i++)
			job_result_clear(&b->res[i]);
	free(b->res);
	free(b->msgs);
	free(b->items);
	b->res = NULL;
	b->msgs = NULL;
	b->items = NULL;
}
