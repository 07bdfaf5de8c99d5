/*
 * The front <-> signer codec.  Fixed layouts in host byte order (both
 * ends are the same binary on the same machine); every length is checked
 * against what is left before anything is read, and every enum against
 * its range.  See signer_msg.h.
 */
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "signer_msg.h"
#include "wire.h"
#include "rd.h"

/* A writer into a buffer sized exactly beforehand. */
struct wr {
	uint8_t		*p;
};

static void
wr_bytes(struct wr *w, const void *src, size_t n)
{
	if (n > 0)
		memcpy(w->p, src, n);
	w->p += n;
}

/*
 * Text the decoder checks (descriptions, object names, messages): a token
 * or key label may hold any UTF-8, and the receiver only takes printable
 * ASCII, so every other byte goes as '?'.
 */
static void
wr_text(struct wr *w, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		*w->p++ = src[i] >= 0x20 && src[i] <= 0x7e ? src[i] : '?';
}

static void
wr_u8(struct wr *w, uint8_t v)
{
	*w->p++ = v;
}

static void
wr_u16(struct wr *w, uint16_t v)
{
	wr_bytes(w, &v, 2);
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	wr_bytes(w, &v, 4);
}

long
smsg_body_len(const uint8_t *hdr, void *hp)
{
	struct smsg_hdr *h = hp;

	if (smsg_hdr_decode(hdr, h) != SMSG_OK)
		return -1;
	return (long)h->len;
}

int
smsg_hdr_decode(const uint8_t hdr[SMSG_HDR_LEN], struct smsg_hdr *h)
{
	memcpy(&h->len, hdr, 4);
	memcpy(&h->type, hdr + 4, 2);
	memcpy(&h->zero, hdr + 6, 2);
	memcpy(&h->id, hdr + 8, 8);
	if (h->zero != 0 || h->len > SMSG_BODY_MAX)
		return SMSG_ERR;
	if (h->type != SMSG_JOB && h->type != SMSG_RESULT &&
	    h->type != SMSG_HELLO && h->type != SMSG_BATCH_JOB &&
	    h->type != SMSG_BATCH_RESULT && h->type != SMSG_GENERATE &&
	    h->type != SMSG_JOB_LABEL)
		return SMSG_ERR;
	return SMSG_OK;
}

void
smsg_hdr_encode(uint8_t hdr[SMSG_HDR_LEN], const struct smsg_hdr *h)
{
	uint16_t zero = 0;

	memcpy(hdr, &h->len, 4);
	memcpy(hdr + 4, &h->type, 2);
	memcpy(hdr + 6, &zero, 2);
	memcpy(hdr + 8, &h->id, 8);
}

uint8_t *
smsg_alloc(enum smsg_type type, uint64_t id, size_t len, uint8_t **bufp,
    size_t *lenp)
{
	struct smsg_hdr h;

	if (len > SMSG_BODY_MAX || (*bufp = malloc(SMSG_HDR_LEN + len)) ==
	    NULL)
		return NULL;
	h.len = (uint32_t)len;
	h.type = type;
	h.zero = 0;
	h.id = id;
	smsg_hdr_encode(*bufp, &h);
	*lenp = SMSG_HDR_LEN + len;
	return *bufp + SMSG_HDR_LEN;
}

/* Header + room for a body of len bytes; the writer starts at the body. */
static int
msg_alloc(enum smsg_type type, uint64_t id, size_t len, uint8_t **bufp,
    size_t *lenp, struct wr *w)
{
	return (w->p = smsg_alloc(type, id, len, bufp, lenp)) == NULL ?
	    SMSG_ERR : SMSG_OK;
}

static int
job_op_ok(enum p11b_op op)
{
	return op == P11B_OP_SIGN || op == P11B_OP_HMAC ||
	    op == P11B_OP_HMAC_VERIFY || op == P11B_OP_SECRET ||
	    op == P11B_OP_RANDOM;
}

int
smsg_job_encode(uint64_t id, const struct job *job, uint8_t **bufp,
    size_t *lenp)
{
	struct wr w;
	size_t len = SMSG_JOB_FIXED + job->inlen + job->maclen;

	if (!job_op_ok(job->op) || job->inlen > SMSG_BODY_MAX ||
	    job->maclen > SMSG_BODY_MAX)
		return SMSG_ERR;
	if (msg_alloc(SMSG_JOB, id, len, bufp, lenp, &w) != SMSG_OK)
		return SMSG_ERR;
	wr_u16(&w, job->key < 0 ? SMSG_NO_KEY : (uint16_t)job->key);
	wr_u8(&w, (uint8_t)job->op);
	wr_u8(&w, (uint8_t)job->alg);
	wr_u8(&w, (uint8_t)job->flags);
	wr_u8(&w, job->salt_set ? 1 : 0);
	wr_u16(&w, job->salt_set ? (uint16_t)job->salt_len : 0);
	wr_u8(&w, (uint8_t)job->stream);
	wr_u16(&w, job->sid);
	wr_u32(&w, job->random_len);
	wr_u32(&w, (uint32_t)job->inlen);
	wr_u32(&w, (uint32_t)job->maclen);
	wr_bytes(&w, job->in, job->inlen);
	wr_bytes(&w, job->mac, job->maclen);
	return SMSG_OK;
}

int
smsg_job_decode(const uint8_t *body, size_t len, size_t nkeys,
    struct job *job)
{
	struct rd r = { body, len, 0 };
	unsigned int key, op, alg, flags, salt_set, salt_len, stream, sid;
	uint32_t inlen, maclen;

	memset(job, 0, sizeof(*job));
	key = rd_u16(&r);
	op = rd_u8(&r);
	alg = rd_u8(&r);
	flags = rd_u8(&r);
	salt_set = rd_u8(&r);
	salt_len = rd_u16(&r);
	stream = rd_u8(&r);
	sid = rd_u16(&r);
	job->random_len = rd_u32(&r);
	inlen = rd_u32(&r);
	maclen = rd_u32(&r);
	if (r.bad || salt_set > 1 || (!salt_set && salt_len != 0) ||
	    (salt_set && op != P11B_OP_SIGN) || stream >= JOB_STREAM_COUNT ||
	    (stream == JOB_WHOLE && sid != 0) || !job_op_ok(op) ||
	    alg >= P11B_ALG_COUNT || (flags & ~(P11B_SIGN_DIGEST |
	    P11B_SIGN_RAW)) != 0)
		return SMSG_ERR;
	if (op == P11B_OP_RANDOM) {
		if (key != SMSG_NO_KEY || job->random_len == 0 ||
		    job->random_len > P11B_RANDOM_MAX || inlen != 0 ||
		    maclen != 0)
			return SMSG_ERR;
		job->key = -1;
	} else {
		if (key >= nkeys || job->random_len != 0)
			return SMSG_ERR;
		job->key = (int)key;
	}
	if (maclen != 0 && op != P11B_OP_HMAC_VERIFY)
		return SMSG_ERR;
	/* Streams: sign, hmac, hmac-verify; a MAC only at the final. */
	if (stream != JOB_WHOLE && (op == P11B_OP_SECRET ||
	    op == P11B_OP_RANDOM || (maclen != 0 &&
	    stream != JOB_STREAM_FINAL) || (stream == JOB_STREAM_ABORT &&
	    inlen != 0)))
		return SMSG_ERR;
	/* An algorithm exactly where one is used; flags only to sign. */
	if ((alg == P11B_ALG_NONE) != (op == P11B_OP_SECRET ||
	    op == P11B_OP_RANDOM) || (flags != 0 && op != P11B_OP_SIGN))
		return SMSG_ERR;
	/* The rest is exactly the input and the MAC. */
	if ((size_t)inlen > r.left || (size_t)maclen != r.left - inlen)
		return SMSG_ERR;
	job->op = (enum p11b_op)op;
	job->alg = (enum p11b_alg)alg;
	job->flags = (int)flags;
	job->salt_set = (int)salt_set;
	job->salt_len = salt_len;
	job->stream = (enum job_stream)stream;
	job->sid = (uint16_t)sid;
	job->inlen = inlen;
	job->in = inlen > 0 ? (uint8_t *)(uintptr_t)rd_take(&r, inlen) : NULL;
	job->maclen = maclen;
	job->mac = maclen > 0 ? (uint8_t *)(uintptr_t)rd_take(&r, maclen) :
	    NULL;
	return SMSG_OK;
}

int
smsg_result_encode(uint64_t id, const struct job_result *res,
    uint8_t **bufp, size_t *lenp)
{
	struct wr w;
	size_t msglen = res->message == NULL ? 0 : strlen(res->message);
	size_t len;

	if (msglen > SMSG_TEXT_MAX)
		msglen = SMSG_TEXT_MAX;
	len = SMSG_RES_FIXED + msglen + res->outlen;
	if (res->status < 0 || res->status >= P11B_STATUS_COUNT ||
	    res->outlen > SMSG_BODY_MAX)
		return SMSG_ERR;
	if (msg_alloc(SMSG_RESULT, id, len, bufp, lenp, &w) != SMSG_OK)
		return SMSG_ERR;
	wr_u8(&w, (uint8_t)res->status);
	wr_u8(&w, res->valid ? 1 : 0);
	wr_u8(&w, res->secret ? 1 : 0);
	wr_u8(&w, (uint8_t)msglen);
	wr_u32(&w, (uint32_t)res->outlen);
	wr_text(&w, res->message, msglen);
	wr_bytes(&w, res->out, res->outlen);
	return SMSG_OK;
}

int
smsg_result_decode(const uint8_t *body, size_t len, struct job_result *res,
    char *msgbuf, size_t msgbuflen)
{
	struct rd r = { body, len, 0 };
	const uint8_t *msg, *out;
	unsigned int status, valid, secret, msglen;
	uint32_t outlen;
	size_t i;

	memset(res, 0, sizeof(*res));
	status = rd_u8(&r);
	valid = rd_u8(&r);
	secret = rd_u8(&r);
	msglen = rd_u8(&r);
	outlen = rd_u32(&r);
	if (r.bad || status >= P11B_STATUS_COUNT || valid > 1 || secret > 1 ||
	    msglen > SMSG_TEXT_MAX || msglen >= msgbuflen ||
	    (size_t)msglen + outlen != r.left)
		return SMSG_ERR;
	/* A failure carries nothing but its status and message. */
	if (status != P11B_OK && (valid != 0 || secret != 0 || outlen != 0))
		return SMSG_ERR;
	msg = rd_take(&r, msglen);
	out = rd_take(&r, outlen);
	for (i = 0; i < msglen; i++)	/* printable ASCII only: it is logged */
		if (msg[i] < 0x20 || msg[i] > 0x7e)
			return SMSG_ERR;
	if (outlen > 0) {
		if ((res->out = malloc(outlen)) == NULL)
			return SMSG_ERR;
		memcpy(res->out, out, outlen);
	}
	if (msglen > 0)
		memcpy(msgbuf, msg, msglen);
	msgbuf[msglen] = '\0';
	res->message = msglen > 0 ? msgbuf : NULL;
	res->status = (int)status;
	res->valid = (int)valid;
	res->secret = (int)secret;
	res->outlen = outlen;
	return SMSG_OK;
}

static size_t
text_len(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > max ? max : n;
}

int
smsg_hello_encode(const char *desc, unsigned int workers,
    const struct key_info *keys, size_t nkeys, uint8_t **bufp, size_t *lenp)
{
	struct wr w;
	size_t i, len, dlen = text_len(desc, SMSG_TEXT_MAX);

	if (nkeys > SMSG_KEYS_MAX)
		return SMSG_ERR;
	len = 4 + 4 + 1 + dlen;
	for (i = 0; i < nkeys; i++)
		len += 1 + strlen(keys[i].name) + 1 + 1 + 4 + 4 + 4 + 4 + 1 +
		    text_len(keys[i].object, SMSG_TEXT_MAX) + keys[i].spkilen +
		    keys[i].certlen + 4 + keys[i].chainlen + 1 +
		    keys[i].idlen + 1 + strlen(keys[i].label) + 1 +
		    P11B_IDENTITY_LEN + 1;
	if (msg_alloc(SMSG_HELLO, 0, len, bufp, lenp, &w) != SMSG_OK)
		return SMSG_ERR;
	wr_u32(&w, (uint32_t)nkeys);
	wr_u32(&w, workers);
	wr_u8(&w, (uint8_t)dlen);
	wr_text(&w, desc, dlen);
	for (i = 0; i < nkeys; i++) {
		wr_u8(&w, (uint8_t)strlen(keys[i].name));
		wr_bytes(&w, keys[i].name, strlen(keys[i].name));
		wr_u8(&w, (uint8_t)keys[i].type);
		wr_u8(&w, keys[i].extractable ? 1 : 0);
		wr_u32(&w, keys[i].bits);
		wr_u32(&w, keys[i].algs);
		wr_u32(&w, (uint32_t)keys[i].spkilen);
		wr_u32(&w, (uint32_t)keys[i].certlen);
		dlen = text_len(keys[i].object, SMSG_TEXT_MAX);
		wr_u8(&w, (uint8_t)dlen);
		wr_text(&w, keys[i].object, dlen);
		wr_bytes(&w, keys[i].spki, keys[i].spkilen);
		wr_bytes(&w, keys[i].cert, keys[i].certlen);
		wr_u32(&w, (uint32_t)keys[i].chainlen);
		wr_bytes(&w, keys[i].chain, keys[i].chainlen);
		wr_u8(&w, (uint8_t)keys[i].idlen);
		wr_bytes(&w, keys[i].id, keys[i].idlen);
		wr_u8(&w, (uint8_t)strlen(keys[i].label));
		wr_bytes(&w, keys[i].label, strlen(keys[i].label));
		wr_u8(&w, (keys[i].local ? 1 : 0) | (keys[i].absent ? 2 : 0));
		wr_bytes(&w, keys[i].identity, P11B_IDENTITY_LEN);
		wr_u8(&w, keys[i].space < 0 ? 0xff : (uint8_t)keys[i].space);
	}
	return SMSG_OK;
}

static int
text_ok(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * The token object's attributes and the key's chain.  A label is any
 * text but NUL and control characters (UTF-8 passes through).
 */
static int
hello_object(struct rd *r, struct key_info *ki)
{
	const uint8_t *chain, *id, *label, *identity;
	unsigned int idlen, labellen, local, space, i;
	uint32_t chainlen;

	chainlen = rd_u32(r);
	chain = rd_take(r, chainlen);
	idlen = rd_u8(r);
	id = rd_take(r, idlen);
	labellen = rd_u8(r);
	label = rd_take(r, labellen);
	local = rd_u8(r);
	identity = rd_take(r, P11B_IDENTITY_LEN);
	space = rd_u8(r);
	/* local: bit 0 CKA_LOCAL, bit 1 absent (key_info.absent) */
	if (r->bad || idlen > P11B_ID_MAX || labellen > P11B_LABEL_MAX ||
	    local > 3 || (space != 0xff && space >= CONFIG_MAX_KEYSPACES))
		return SMSG_ERR;
	ki->space = space == 0xff ? -1 : (int)space;
	for (i = 0; i < labellen; i++)
		if (label[i] < 0x20 || label[i] == 0x7f)
			return SMSG_ERR;
	if (chainlen > 0) {
		if ((ki->chain = malloc(chainlen)) == NULL)
			return SMSG_ERR;
		memcpy(ki->chain, chain, chainlen);
		ki->chainlen = chainlen;
	}
	memcpy(ki->id, id, idlen);
	ki->idlen = idlen;
	memcpy(ki->label, label, labellen);
	ki->label[labellen] = '\0';
	ki->local = (int)(local & 1);
	ki->absent = (int)(local >> 1);
	memcpy(ki->identity, identity, P11B_IDENTITY_LEN);
	/* An absent key is a name only; a present one has a type. */
	if ((ki->type == P11B_KEY_NONE) != (ki->absent != 0) ||
	    (ki->absent && (ki->algs != 0 || ki->spkilen != 0 ||
	    ki->certlen != 0 || chainlen != 0 || ki->space != -1)))
		return SMSG_ERR;
	return SMSG_OK;
}

static int
hello_key(struct rd *r, struct key_info *ki)
{
	const uint8_t *name, *obj, *spki, *cert;
	unsigned int namelen, type, extractable, objlen;
	uint32_t spkilen, certlen;

	namelen = rd_u8(r);
	name = rd_take(r, namelen);
	type = rd_u8(r);
	extractable = rd_u8(r);
	ki->bits = rd_u32(r);
	ki->algs = rd_u32(r);
	spkilen = rd_u32(r);
	certlen = rd_u32(r);
	objlen = rd_u8(r);
	obj = rd_take(r, objlen);
	spki = rd_take(r, spkilen);
	cert = rd_take(r, certlen);
	if (r->bad || namelen > P11B_KEY_NAME_MAX ||
	    !wire_key_name_valid((const char *)name, namelen) ||
	    type >= P11B_KEY_TYPE_COUNT ||
	    extractable > 1 || ki->bits > 65536 || objlen > SMSG_TEXT_MAX ||
	    (ki->algs & ~alg_key_algs((enum p11b_key_type)type)) != 0 ||
	    !text_ok(obj, objlen))
		return SMSG_ERR;
	memcpy(ki->name, name, namelen);
	ki->name[namelen] = '\0';
	ki->type = (enum p11b_key_type)type;
	ki->extractable = (int)extractable;
	memcpy(ki->object, obj, objlen);
	ki->object[objlen] = '\0';
	if ((spkilen > 0 && (ki->spki = malloc(spkilen)) == NULL) ||
	    (certlen > 0 && (ki->cert = malloc(certlen)) == NULL))
		return SMSG_ERR;
	if (spkilen > 0)
		memcpy(ki->spki, spki, spkilen);
	if (certlen > 0)
		memcpy(ki->cert, cert, certlen);
	ki->spkilen = spkilen;
	ki->certlen = certlen;
	return hello_object(r, ki);
}

int
smsg_hello_decode(const uint8_t *body, size_t len, struct smsg_hello *hello)
{
	struct rd r = { body, len, 0 };
	const uint8_t *desc;
	unsigned int dlen;
	uint32_t nkeys;
	size_t i, j;

	memset(hello, 0, sizeof(*hello));
	nkeys = rd_u32(&r);
	hello->workers = rd_u32(&r);
	dlen = rd_u8(&r);
	desc = rd_take(&r, dlen);
	if (r.bad || nkeys > SMSG_KEYS_MAX || hello->workers == 0 ||
	    hello->workers > 1024 || dlen > SMSG_TEXT_MAX ||
	    !text_ok(desc, dlen))
		return SMSG_ERR;
	memcpy(hello->desc, desc, dlen);
	hello->desc[dlen] = '\0';
	if (nkeys > 0 && (hello->keys = calloc(nkeys, sizeof(*hello->keys))) ==
	    NULL)
		return SMSG_ERR;
	for (i = 0; i < nkeys; i++) {
		hello->nkeys = i + 1;
		if (hello_key(&r, &hello->keys[i]) != SMSG_OK)
			goto fail;
		/*
		 * Names are unique but for a key's versions, which are
		 * adjacent (policy/versions.h).
		 */
		if (i > 0 && strcmp(hello->keys[i - 1].name,
		    hello->keys[i].name) == 0)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(hello->keys[j].name, hello->keys[i].name) ==
			    0)
				goto fail;
	}
	if (r.left != 0)
		goto fail;
	return SMSG_OK;
 fail:
	smsg_hello_free(hello);
	return SMSG_ERR;
}

void
smsg_hello_free(struct smsg_hello *hello)
{
	key_info_free(hello->keys, hello->nkeys);
	hello->keys = NULL;
	hello->nkeys = 0;
}
