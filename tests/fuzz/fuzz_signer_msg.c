/*
 * Fuzz target for the front <-> signer codec (brokerd/common/signer_msg.c): the
 * input is a stream of internal messages (16-byte header, then the body),
 * read the way either end reads a link.  Every body goes through all
 * three body decoders, the job decoder with several key counts.  What
 * decodes must satisfy the decoder's promises, encode again to the very
 * same bytes, and decode again to the same values.  The other way round,
 * the input's text (a token or key label may hold any bytes) goes through
 * the encoders as a description, object and message, and what they make
 * of it must decode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "fuzz.h"
#include "signer_msg.h"
#include "signer_batch.h"
#include "wire.h"

static const size_t fuzz_nkeys[] = { 0, 1, 4, SMSG_KEYS_MAX };

static int
same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int
printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* An encoded message: a good header of this type and id, then body. */
static void
check_encoded(const uint8_t *msg, size_t len, enum smsg_type type,
    uint64_t id, const uint8_t *body, size_t bodylen)
{
	struct smsg_hdr h;

	FUZZ_ASSERT(len >= SMSG_HDR_LEN);
	FUZZ_ASSERT(smsg_hdr_decode(msg, &h) == SMSG_OK);
	FUZZ_ASSERT(h.type == type && h.id == id && h.zero == 0);
	FUZZ_ASSERT(h.len == len - SMSG_HDR_LEN);
	FUZZ_ASSERT(same_bytes(msg + SMSG_HDR_LEN, h.len, body, bodylen));
}

/* What smsg_job_decode() promises about a job it accepted. */
static void
check_job(const struct job *job, const uint8_t *body, size_t len,
    size_t nkeys)
{
	FUZZ_ASSERT(job->op == P11B_OP_SIGN || job->op == P11B_OP_HMAC ||
	    job->op == P11B_OP_HMAC_VERIFY || job->op == P11B_OP_SECRET ||
	    job->op == P11B_OP_RANDOM);
	FUZZ_ASSERT((unsigned int)job->alg < P11B_ALG_COUNT);
	FUZZ_ASSERT((job->flags & ~(P11B_SIGN_DIGEST | P11B_SIGN_RAW)) == 0);
	FUZZ_ASSERT(job->op == P11B_OP_SIGN || !job->salt_set);
	FUZZ_ASSERT(job->salt_set || job->salt_len == 0);
	FUZZ_ASSERT(job->salt_len <= 0xffff);
	if (job->op == P11B_OP_RANDOM) {
		FUZZ_ASSERT(job->key == -1);
		FUZZ_ASSERT(job->random_len > 0 &&
		    job->random_len <= P11B_RANDOM_MAX);
		FUZZ_ASSERT(job->inlen == 0 && job->maclen == 0);
	} else {
		FUZZ_ASSERT(job->key >= 0 && (size_t)job->key < nkeys);
		FUZZ_ASSERT(job->random_len == 0);
	}
	FUZZ_ASSERT(job->op == P11B_OP_HMAC_VERIFY || job->maclen == 0);
	FUZZ_ASSERT(SMSG_JOB_FIXED + job->inlen + job->maclen == len);
	FUZZ_ASSERT(job->inlen == 0 ? job->in == NULL :
	    job->in == body + SMSG_JOB_FIXED);
	FUZZ_ASSERT(job->maclen == 0 ? job->mac == NULL :
	    job->mac == body + SMSG_JOB_FIXED + job->inlen);
}

static void
job_round_trip(uint64_t id, const struct job *job, const uint8_t *body,
    size_t len, size_t nkeys)
{
	struct job again;
	uint8_t *msg = NULL;
	size_t msglen;

	FUZZ_ASSERT(smsg_job_encode(id, job, &msg, &msglen) == SMSG_OK);
	check_encoded(msg, msglen, SMSG_JOB, id, body, len);
	FUZZ_ASSERT(smsg_job_decode(msg + SMSG_HDR_LEN, msglen - SMSG_HDR_LEN,
	    nkeys, &again) == SMSG_OK);
	FUZZ_ASSERT(again.key == job->key && again.op == job->op &&
	    again.alg == job->alg && again.flags == job->flags &&
	    again.random_len == job->random_len);
	FUZZ_ASSERT(same_bytes(again.in, again.inlen, job->in, job->inlen));
	FUZZ_ASSERT(same_bytes(again.mac, again.maclen, job->mac,
	    job->maclen));
	free(msg);
}

static void
fuzz_job(uint64_t id, const uint8_t *body, size_t len)
{
	struct job job;
	size_t i;
	int accepted = 0;

	for (i = 0; i < sizeof(fuzz_nkeys) / sizeof(fuzz_nkeys[0]); i++) {
		if (smsg_job_decode(body, len, fuzz_nkeys[i], &job) !=
		    SMSG_OK) {
			/* More keys never make a job invalid. */
			FUZZ_ASSERT(!accepted);
			continue;
		}
		accepted = 1;
		check_job(&job, body, len, fuzz_nkeys[i]);
		job_round_trip(id, &job, body, len, fuzz_nkeys[i]);
	}
}

/* What smsg_result_decode() promises about a result it accepted. */
static void
check_result(const struct job_result *res, const char *msgbuf,
    size_t msgbuflen, size_t len)
{
	size_t msglen = res->message == NULL ? 0 : strlen(res->message);

	FUZZ_ASSERT(res->status >= 0 && res->status < P11B_STATUS_COUNT);
	FUZZ_ASSERT(res->valid == 0 || res->valid == 1);
	FUZZ_ASSERT(res->secret == 0 || res->secret == 1);
	FUZZ_ASSERT(res->message == NULL || res->message == msgbuf);
	FUZZ_ASSERT(res->message == NULL || msglen > 0);
	FUZZ_ASSERT(msglen <= SMSG_TEXT_MAX && msglen < msgbuflen);
	FUZZ_ASSERT(res->message == NULL ||
	    printable(res->message, SMSG_TEXT_MAX));
	FUZZ_ASSERT((res->outlen == 0) == (res->out == NULL));
	FUZZ_ASSERT(SMSG_RES_FIXED + msglen + res->outlen == len);
}

static void
result_round_trip(uint64_t id, const struct job_result *res,
    const uint8_t *body, size_t len)
{
	struct job_result again;
	char msgbuf[SMSG_TEXT_MAX + 1];
	uint8_t *msg = NULL;
	size_t msglen;

	FUZZ_ASSERT(smsg_result_encode(id, res, &msg, &msglen) == SMSG_OK);
	check_encoded(msg, msglen, SMSG_RESULT, id, body, len);
	FUZZ_ASSERT(smsg_result_decode(msg + SMSG_HDR_LEN,
	    msglen - SMSG_HDR_LEN, &again, msgbuf, sizeof(msgbuf)) == SMSG_OK);
	FUZZ_ASSERT(again.status == res->status && again.valid == res->valid &&
	    again.secret == res->secret);
	FUZZ_ASSERT((again.message == NULL) == (res->message == NULL));
	FUZZ_ASSERT(again.message == NULL ||
	    strcmp(again.message, res->message) == 0);
	FUZZ_ASSERT(same_bytes(again.out, again.outlen, res->out,
	    res->outlen));
	free(again.out);
	free(msg);
}

static void
fuzz_result(uint64_t id, const uint8_t *body, size_t len)
{
	struct job_result res, small;
	char msgbuf[SMSG_TEXT_MAX + 1], smallbuf[8];
	int r;

	r = smsg_result_decode(body, len, &res, msgbuf, sizeof(msgbuf));
	/* A caller's smaller buffer: the same verdict unless it is short. */
	if (smsg_result_decode(body, len, &small, smallbuf,
	    sizeof(smallbuf)) == SMSG_OK) {
		FUZZ_ASSERT(r == SMSG_OK);
		check_result(&small, smallbuf, sizeof(smallbuf), len);
		free(small.out);
	} else if (r == SMSG_OK)
		FUZZ_ASSERT(res.message != NULL &&
		    strlen(res.message) >= sizeof(smallbuf));
	if (r != SMSG_OK)
		return;
	check_result(&res, msgbuf, sizeof(msgbuf), len);
	result_round_trip(id, &res, body, len);
	free(res.out);
}

/* What smsg_hello_decode() promises about a hello it accepted. */
static void
check_hello(const struct smsg_hello *hello)
{
	const struct key_info *k;
	size_t i, j;

	FUZZ_ASSERT(hello->workers > 0 && hello->workers <= 1024);
	FUZZ_ASSERT(hello->nkeys <= SMSG_KEYS_MAX);
	FUZZ_ASSERT(hello->nkeys == 0 || hello->keys != NULL);
	FUZZ_ASSERT(printable(hello->desc, SMSG_TEXT_MAX));
	for (i = 0; i < hello->nkeys; i++) {
		k = &hello->keys[i];
		FUZZ_ASSERT(wire_key_name_valid(k->name,
		    strnlen(k->name, sizeof(k->name))));
		FUZZ_ASSERT(k->type > P11B_KEY_NONE &&
		    k->type < P11B_KEY_TYPE_COUNT);
		FUZZ_ASSERT(k->extractable == 0 || k->extractable == 1);
		FUZZ_ASSERT(k->bits <= 65536);
		FUZZ_ASSERT((k->algs & ~alg_key_algs(k->type)) == 0);
		FUZZ_ASSERT(printable(k->object, SMSG_TEXT_MAX));
		FUZZ_ASSERT((k->spkilen == 0) == (k->spki == NULL));
		FUZZ_ASSERT((k->certlen == 0) == (k->cert == NULL));
		FUZZ_ASSERT((k->chainlen == 0) == (k->chain == NULL));
		FUZZ_ASSERT(k->idlen <= P11B_ID_MAX);
		FUZZ_ASSERT(strlen(k->label) <= P11B_LABEL_MAX);
		FUZZ_ASSERT(k->local == 0 || k->local == 1);
		/* A name repeats only as a run (a key's versions). */
		if (i > 0 && strcmp(k->name, hello->keys[i - 1].name) == 0)
			continue;
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(k->name, hello->keys[j].name) != 0);
	}
}

static void
compare_hello(const struct smsg_hello *a, const struct smsg_hello *b)
{
	const struct key_info *ka, *kb;
	size_t i;

	FUZZ_ASSERT(strcmp(a->desc, b->desc) == 0);
	FUZZ_ASSERT(a->workers == b->workers && a->nkeys == b->nkeys);
	for (i = 0; i < a->nkeys; i++) {
		ka = &a->keys[i];
		kb = &b->keys[i];
		FUZZ_ASSERT(strcmp(ka->name, kb->name) == 0);
		FUZZ_ASSERT(ka->type == kb->type && ka->bits == kb->bits &&
		    ka->extractable == kb->extractable &&
		    ka->algs == kb->algs);
		FUZZ_ASSERT(strcmp(ka->object, kb->object) == 0);
		FUZZ_ASSERT(same_bytes(ka->spki, ka->spkilen, kb->spki,
		    kb->spkilen));
		FUZZ_ASSERT(same_bytes(ka->cert, ka->certlen, kb->cert,
		    kb->certlen));
		FUZZ_ASSERT(same_bytes(ka->chain, ka->chainlen, kb->chain,
		    kb->chainlen));
		FUZZ_ASSERT(same_bytes(ka->id, ka->idlen, kb->id, kb->idlen));
		FUZZ_ASSERT(strcmp(ka->label, kb->label) == 0);
		FUZZ_ASSERT(ka->local == kb->local && memcmp(ka->identity,
		    kb->identity, P11B_IDENTITY_LEN) == 0);
	}
}

static void
fuzz_hello(const uint8_t *body, size_t len)
{
	struct smsg_hello hello, again;
	uint8_t *msg = NULL;
	size_t msglen;

	if (smsg_hello_decode(body, len, &hello) != SMSG_OK) {
		FUZZ_ASSERT(hello.keys == NULL && hello.nkeys == 0);
		return;
	}
	check_hello(&hello);
	FUZZ_ASSERT(smsg_hello_encode(hello.desc, hello.workers, hello.keys,
	    hello.nkeys, &msg, &msglen) == SMSG_OK);
	/* The signer sends its hello with id 0. */
	check_encoded(msg, msglen, SMSG_HELLO, 0, body, len);
	FUZZ_ASSERT(smsg_hello_decode(msg + SMSG_HDR_LEN,
	    msglen - SMSG_HDR_LEN, &again) == SMSG_OK);
	compare_hello(&hello, &again);
	smsg_hello_free(&again);
	smsg_hello_free(&hello);
	FUZZ_ASSERT(hello.keys == NULL && hello.nkeys == 0);
	free(msg);
}

/* The text as the receiver must see it: cut, non-printable bytes '?'. */
static int
same_text(const char *got, const char *sent)
{
	size_t i, n = strnlen(sent, SMSG_TEXT_MAX);

	if (strlen(got) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (got[i] != (sent[i] >= 0x20 && sent[i] <= 0x7e ? sent[i] :
		    '?'))
			return 0;
	return 1;
}

/* The input, up to its first NUL, as a description, object and message. */
static void
fuzz_text(const uint8_t *data, size_t size)
{
	struct job_result res, got;
	struct smsg_hello hello;
	struct key_info key;
	char text[SMSG_TEXT_MAX + 40], msgbuf[SMSG_TEXT_MAX + 1];
	uint8_t *msg = NULL;
	size_t len, n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = '\0';
	memset(&key, 0, sizeof(key));
	strlcpy(key.name, "k", sizeof(key.name));
	key.type = P11B_KEY_SECRET;
	strlcpy(key.object, text, sizeof(key.object));
	FUZZ_ASSERT(smsg_hello_encode(text, 1, &key, 1, &msg, &len) ==
	    SMSG_OK);
	FUZZ_ASSERT(smsg_hello_decode(msg + SMSG_HDR_LEN, len - SMSG_HDR_LEN,
	    &hello) == SMSG_OK);
	FUZZ_ASSERT(same_text(hello.desc, text));
	FUZZ_ASSERT(same_text(hello.keys[0].object, key.object));
	smsg_hello_free(&hello);
	free(msg);

	memset(&res, 0, sizeof(res));
	res.status = P11B_INTERNAL;
	res.message = text;
	FUZZ_ASSERT(smsg_result_encode(1, &res, &msg, &len) == SMSG_OK);
	FUZZ_ASSERT(smsg_result_decode(msg + SMSG_HDR_LEN, len - SMSG_HDR_LEN,
	    &got, msgbuf, sizeof(msgbuf)) == SMSG_OK);
	FUZZ_ASSERT(same_text(got.message == NULL ? "" : got.message, text));
	free(msg);
}

/*
 * A batch job (signer_batch.h): what the decoder promises, and the same
 * bytes again from what it decoded.
 */
static void
fuzz_batch(uint64_t id, const uint8_t *body, size_t len)
{
	struct smsg_batch_item *items, *again;
	struct job tmpl, tmpl2;
	uint8_t *msg = NULL;
	size_t i, k, n, n2, msglen;

	for (k = 0; k < sizeof(fuzz_nkeys) / sizeof(fuzz_nkeys[0]); k++) {
		if (smsg_batch_decode(body, len, fuzz_nkeys[k], &tmpl, &items,
		    &n) != SMSG_OK) {
			FUZZ_ASSERT(items == NULL && n == 0);
			continue;
		}
		FUZZ_ASSERT(n > 0 && n <= SMSG_BATCH_MAX);
		FUZZ_ASSERT(tmpl.key >= 0 && (size_t)tmpl.key < fuzz_nkeys[k]);
		FUZZ_ASSERT(tmpl.op == P11B_OP_SIGN || tmpl.op == P11B_OP_HMAC ||
		    tmpl.op == P11B_OP_HMAC_VERIFY);
		FUZZ_ASSERT(tmpl.alg != P11B_ALG_NONE &&
		    (unsigned int)tmpl.alg < P11B_ALG_COUNT);
		FUZZ_ASSERT(tmpl.op == P11B_OP_SIGN || (tmpl.flags == 0 &&
		    !tmpl.salt_set));
		for (i = 0; i < n; i++) {
			FUZZ_ASSERT(items[i].in == NULL ? items[i].inlen == 0 :
			    items[i].in >= body && items[i].in +
			    items[i].inlen <= body + len);
			FUZZ_ASSERT(tmpl.op == P11B_OP_HMAC_VERIFY ||
			    items[i].maclen == 0);
		}
		FUZZ_ASSERT(smsg_batch_encode(id, &tmpl, items, n, &msg,
		    &msglen) == SMSG_OK);
		check_encoded(msg, msglen, SMSG_BATCH_JOB, id, body, len);
		FUZZ_ASSERT(smsg_batch_decode(msg + SMSG_HDR_LEN, msglen -
		    SMSG_HDR_LEN, fuzz_nkeys[k], &tmpl2, &again, &n2) ==
		    SMSG_OK && n2 == n);
		free(again);
		free(msg);
		free(items);
	}
}

/* A batch result: exactly its n results, the same bytes again. */
static void
fuzz_batch_result(uint64_t id, const uint8_t *body, size_t len)
{
	struct smsg_batch b;
	uint8_t *msg = NULL;
	size_t i, msglen, n;

	n = len >= 4 ? (size_t)body[0] | (size_t)body[1] << 8 : 1;
	memset(&b, 0, sizeof(b));
	b.n = n;
	if (smsg_batch_result_decode(body, len, n, &b) != SMSG_OK) {
		FUZZ_ASSERT(b.res == NULL && b.msgs == NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(b.res[i].status >= 0 &&
		    b.res[i].status < P11B_STATUS_COUNT);
		FUZZ_ASSERT(b.res[i].status == P11B_OK ||
		    (b.res[i].outlen == 0 && !b.res[i].valid));
		FUZZ_ASSERT(b.res[i].message == NULL ||
		    printable(b.res[i].message, SMSG_TEXT_MAX));
	}
	FUZZ_ASSERT(smsg_batch_result_encode(id, b.res, n, &msg, &msglen) ==
	    SMSG_OK);
	check_encoded(msg, msglen, SMSG_BATCH_RESULT, id, body, len);
	free(msg);
	smsg_batch_clear(&b);
}

/*
 * The keyspace messages (signer_msg_gen.c): a decoded job names a valid
 * label and at most P11B_ID_MAX id bytes, has no key index yet, and
 * encodes back to a message that decodes to the same.
 */
static void
fuzz_work(uint64_t id, enum smsg_type type, const uint8_t *body, size_t len)
{
	struct job job, again;
	uint8_t *msg;
	size_t msglen;
	struct smsg_hdr h;

	if (smsg_work_decode(type, body, len, 4, &job) != SMSG_OK)
		return;
	FUZZ_ASSERT(job.by_label && job.key == -1);
	FUZZ_ASSERT(job.kidlen <= P11B_ID_MAX);
	FUZZ_ASSERT(wire_key_name_valid(job.label, strlen(job.label)));
	FUZZ_ASSERT((type == SMSG_GENERATE) == (job.op == P11B_OP_GENERATE));
	FUZZ_ASSERT(smsg_work_encode(id, &job, &msg, &msglen) == SMSG_OK);
	FUZZ_ASSERT(smsg_hdr_decode(msg, &h) == SMSG_OK && h.type == type &&
	    h.len == msglen - SMSG_HDR_LEN);
	FUZZ_ASSERT(smsg_work_decode(type, msg + SMSG_HDR_LEN, h.len, 4,
	    &again) == SMSG_OK);
	FUZZ_ASSERT(strcmp(again.label, job.label) == 0 &&
	    same_bytes(again.kid, again.kidlen, job.kid, job.kidlen) &&
	    again.op == job.op && again.gen_type == job.gen_type &&
	    again.gen_bits == job.gen_bits && again.inlen == job.inlen);
	freezero(msg, msglen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smsg_hdr h;
	uint8_t again[SMSG_HDR_LEN];
	size_t off = 0;

	fuzz_text(data, size);
	while (size - off >= SMSG_HDR_LEN) {
		/* Either end stops reading the link at a bad header. */
		if (smsg_hdr_decode(data + off, &h) != SMSG_OK)
			break;
		FUZZ_ASSERT(h.zero == 0 && h.len <= SMSG_BODY_MAX);
		FUZZ_ASSERT(h.type == SMSG_JOB || h.type == SMSG_RESULT ||
		    h.type == SMSG_HELLO || h.type == SMSG_BATCH_JOB ||
		    h.type == SMSG_BATCH_RESULT || h.type == SMSG_GENERATE ||
		    h.type == SMSG_JOB_LABEL);
		smsg_hdr_encode(again, &h);
		FUZZ_ASSERT(memcmp(again, data + off, SMSG_HDR_LEN) == 0);
		off += SMSG_HDR_LEN;
		if (h.len > size - off)
			break;		/* the sibling died mid-message */
		/* Every decoder on every body, whatever the type says. */
		fuzz_job(h.id, data + off, h.len);
		fuzz_result(h.id, data + off, h.len);
		fuzz_hello(data + off, h.len);
		fuzz_batch(h.id, data + off, h.len);
		fuzz_batch_result(h.id, data + off, h.len);
		fuzz_work(h.id, SMSG_JOB_LABEL, data + off, h.len);
		fuzz_work(h.id, SMSG_GENERATE, data + off, h.len);
		off += h.len;
	}
	return 0;
}
