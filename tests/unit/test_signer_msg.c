/*
 * Unit tests for brokerd/common/signer_msg.c, the front <-> signer codec: round
 * trips of every message, and rejection of every malformed form.  The
 * malformed bodies are built by hand with the writer below, which is
 * first checked against the encoders' own output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer_msg.h"
#include "signer_batch.h"
#include "tap.h"

/* A body built field by field, in host byte order like the codec. */
struct body {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
};

static void
put(struct body *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
	}
	if (n > 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void
put8(struct body *b, unsigned int v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void
put16(struct body *b, unsigned int v)
{
	uint16_t x = (uint16_t)v;

	put(b, &x, 2);
}

static void
put32(struct body *b, uint32_t v)
{
	put(b, &v, 4);
}

static void
body_reset(struct body *b)
{
	b->len = 0;
}

static void	test_job_stream(void);

/* A job body; the length fields are given apart from the bytes. */
struct raw_job {
	unsigned int	 key, op, alg, flags, salt_set, salt_len, stream, sid;
	uint32_t	 random_len, inlen, maclen;
	const void	*data;		/* input, then MAC */
	size_t		 datalen;
};

static void
put_job(struct body *b, const struct raw_job *j)
{
	body_reset(b);
	put16(b, j->key);
	put8(b, j->op);
	put8(b, j->alg);
	put8(b, j->flags);
	put8(b, j->salt_set);
	put16(b, j->salt_len);
	put8(b, j->stream);
	put16(b, j->sid);
	put32(b, j->random_len);
	put32(b, j->inlen);
	put32(b, j->maclen);
	put(b, j->data, j->datalen);
}

struct raw_result {
	unsigned int	 status, valid, secret, msglen;
	uint32_t	 outlen;
	const void	*data;		/* message, then output */
	size_t		 datalen;
};

static void
put_result(struct body *b, const struct raw_result *r)
{
	body_reset(b);
	put8(b, r->status);
	put8(b, r->valid);
	put8(b, r->secret);
	put8(b, r->msglen);
	put32(b, r->outlen);
	put(b, r->data, r->datalen);
}

static void
put_hello_head(struct body *b, uint32_t nkeys, uint32_t workers,
    const char *desc, size_t dlen)
{
	body_reset(b);
	put32(b, nkeys);
	put32(b, workers);
	put8(b, (unsigned int)dlen);
	put(b, desc, dlen);
}

struct raw_key {
	const char	*name;
	size_t		 namelen;
	unsigned int	 type, extractable;
	uint32_t	 bits;
	uint32_t	 algs;
	const char	*obj;
	size_t		 objlen;
	const uint8_t	*spki, *cert;
	uint32_t	 spkilen, certlen;	/* as announced */
	size_t		 spkibytes, certbytes;	/* as present */
	/* The token object: chain, CKA_ID, CKA_LABEL, CKA_LOCAL, identity. */
	const uint8_t	*chain;
	uint32_t	 chainlen;
	const uint8_t	*id;
	unsigned int	 idlen;
	const char	*label;
	unsigned int	 labellen;
	unsigned int	 local;
	uint8_t		 identity[P11B_IDENTITY_LEN];
	unsigned int	 space;		/* keyspace, 0xff: none */
};

static void
put_key(struct body *b, const struct raw_key *k)
{
	put8(b, (unsigned int)k->namelen);
	put(b, k->name, k->namelen);
	put8(b, k->type);
	put8(b, k->extractable);
	put32(b, k->bits);
	put32(b, k->algs);
	put32(b, k->spkilen);
	put32(b, k->certlen);
	put8(b, (unsigned int)k->objlen);
	put(b, k->obj, k->objlen);
	put(b, k->spki, k->spkibytes);
	put(b, k->cert, k->certbytes);
	put32(b, k->chainlen);
	put(b, k->chain, k->chainlen);
	put8(b, k->idlen);
	put(b, k->id, k->idlen);
	put8(b, k->labellen);
	put(b, k->label, k->labellen);
	put8(b, k->local);
	put(b, k->identity, P11B_IDENTITY_LEN);
	put8(b, k->space);
}

/* A key with every field valid, to spoil one at a time. */
static struct raw_key
good_key(void)
{
	static const uint8_t spki[] = { 0x30, 0x59, 0x30, 0x13 };
	struct raw_key k;

	memset(&k, 0, sizeof(k));
	k.name = "dns-zsk";
	k.namelen = 7;
	k.type = P11B_KEY_EC_P256;
	k.bits = 256;
	k.algs = 1U << P11B_ALG_ECDSA_P256_SHA256;
	k.obj = "private key label=dns-zsk";
	k.objlen = strlen(k.obj);
	k.spki = spki;
	k.spkilen = k.spkibytes = sizeof(spki);
	k.space = 0xff;
	return k;
}

/* Decode a body copied into an exact-size buffer: ASan sees overreads. */
static int
job_decode(const struct body *b, size_t len, size_t nkeys,
    struct job *job)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	int r;

	memcpy(copy, b->p, len);
	r = smsg_job_decode(copy, len, nkeys, job);
	free(copy);
	return r;
}

static int
result_decode(const struct body *b, size_t len, struct job_result *res,
    char *msgbuf, size_t msgbuflen)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	int r;

	memcpy(copy, b->p, len);
	r = smsg_result_decode(copy, len, res, msgbuf, msgbuflen);
	free(copy);
	return r;
}

static int
hello_decode(const struct body *b, size_t len, struct smsg_hello *hello)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	int r;

	memcpy(copy, b->p, len);
	r = smsg_hello_decode(copy, len, hello);
	free(copy);
	return r;
}

/* A whole encoded message: its header, and its body as a struct body. */
static int
split(uint8_t *msg, size_t len, enum smsg_type type, uint64_t id,
    struct body *b)
{
	struct smsg_hdr h;

	if (len < SMSG_HDR_LEN || smsg_hdr_decode(msg, &h) != SMSG_OK ||
	    h.type != type || h.id != id || h.len != len - SMSG_HDR_LEN)
		return -1;
	body_reset(b);
	put(b, msg + SMSG_HDR_LEN, h.len);
	return 0;
}

static void
test_header(void)
{
	struct smsg_hdr h, out;
	uint8_t hdr[SMSG_HDR_LEN];
	unsigned int types[] = { 0, 8, 0x100, 0xffff };
	size_t i;
	uint16_t v;

	h.len = 1234;
	h.type = SMSG_RESULT;
	h.zero = 0x5555;	/* the encoder writes zero whatever this says */
	h.id = 0x8877665544332211ULL;
	smsg_hdr_encode(hdr, &h);
	is_int(smsg_hdr_decode(hdr, &out), SMSG_OK, "header round trip");
	ok(out.len == 1234 && out.type == SMSG_RESULT && out.zero == 0 &&
	    out.id == h.id, "header fields kept (64-bit id)");
	for (h.type = SMSG_JOB; h.type <= SMSG_HELLO; h.type++) {
		smsg_hdr_encode(hdr, &h);
		if (smsg_hdr_decode(hdr, &out) != SMSG_OK)
			break;
	}
	is_int(h.type, SMSG_HELLO + 1, "job, result and hello headers");

	h.type = SMSG_JOB;
	smsg_hdr_encode(hdr, &h);
	v = 1;
	memcpy(hdr + 6, &v, 2);
	is_int(smsg_hdr_decode(hdr, &out), SMSG_ERR, "nonzero pad rejected");
	v = 0x100;
	memcpy(hdr + 6, &v, 2);
	is_int(smsg_hdr_decode(hdr, &out), SMSG_ERR,
	    "nonzero pad (high byte) rejected");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		h.type = types[i];
		smsg_hdr_encode(hdr, &h);
		is_int(smsg_hdr_decode(hdr, &out), SMSG_ERR,
		    "unknown type %u rejected", types[i]);
	}
	h.type = SMSG_JOB;
	h.len = SMSG_BODY_MAX;
	smsg_hdr_encode(hdr, &h);
	is_int(smsg_hdr_decode(hdr, &out), SMSG_OK, "body at the limit");
	h.len = SMSG_BODY_MAX + 1;
	smsg_hdr_encode(hdr, &h);
	is_int(smsg_hdr_decode(hdr, &out), SMSG_ERR, "body one over the limit");
	h.len = 0xffffffffU;
	smsg_hdr_encode(hdr, &h);
	is_int(smsg_hdr_decode(hdr, &out), SMSG_ERR, "4 GiB body rejected");
}

/* Every strict prefix and one byte more are rejected; the whole is not. */
static void
job_truncations(const struct body *b, size_t nkeys, const char *what)
{
	struct job job;
	struct body more = { NULL, 0, 0 };
	size_t n;

	for (n = 0; n < b->len; n++)
		if (job_decode(b, n, nkeys, &job) != SMSG_ERR)
			break;
	ok(n == b->len, "%s: all %zu prefixes rejected", what, b->len);
	is_int(job_decode(b, b->len, nkeys, &job), SMSG_OK, "%s: whole decodes",
	    what);
	put(&more, b->p, b->len);
	put8(&more, 0);
	is_int(job_decode(&more, more.len, nkeys, &job), SMSG_ERR,
	    "%s: trailing byte rejected", what);
	free(more.p);
}

/* Encode, check the header, decode; the body stays in *b. */
static int
job_round_trip(uint64_t id, const struct job *in, size_t nkeys,
    struct body *b, struct job *out)
{
	uint8_t *msg = NULL;
	size_t len;
	int r = -1;

	if (smsg_job_encode(id, in, &msg, &len) != SMSG_OK ||
	    split(msg, len, SMSG_JOB, id, b) != 0 ||
	    len != SMSG_HDR_LEN + SMSG_JOB_FIXED + in->inlen + in->maclen)
		goto out;
	/* Decode in place: out points into b. */
	r = smsg_job_decode(b->p, b->len, nkeys, out);
 out:
	free(msg);
	return r;
}

/* The encoder's verdict alone. */
static int
job_encodes(const struct job *job)
{
	uint8_t *msg = NULL;
	size_t len;
	int r;

	r = smsg_job_encode(1, job, &msg, &len);
	free(msg);
	return r;
}

static int
same_job(const struct job *a, const struct job *b)
{
	return a->key == b->key && a->op == b->op && a->alg == b->alg &&
	    a->flags == b->flags && a->random_len == b->random_len &&
	    a->inlen == b->inlen && a->maclen == b->maclen &&
	    (a->inlen == 0 || memcmp(a->in, b->in, a->inlen) == 0) &&
	    (a->maclen == 0 || memcmp(a->mac, b->mac, a->maclen) == 0);
}

static void
test_job_round_trip(void)
{
	static uint8_t data[] = "the message to sign";
	static uint8_t mac[32] = { 0xde, 0xad, 0xbe, 0xef };
	struct body b = { NULL, 0, 0 }, raw = { NULL, 0, 0 };
	struct job in, out;
	struct raw_job rj;
	uint8_t *big;
	size_t biglen = 1024 * 1024, i;

	memset(&in, 0, sizeof(in));
	in.key = 2;
	in.op = P11B_OP_SIGN;
	in.alg = P11B_ALG_ECDSA_P256_SHA256;
	in.flags = P11B_SIGN_DIGEST | P11B_SIGN_RAW;
	in.in = data;
	in.inlen = sizeof(data);
	is_int(job_round_trip(0xfedcba9876543210ULL, &in, 3, &b, &out),
	    SMSG_OK, "sign job decodes");
	ok(same_job(&in, &out), "sign job kept (key, alg, flags, input)");
	ok(out.in == b.p + SMSG_JOB_FIXED && out.mac == NULL,
	    "input points into the body, no MAC");
	/* The hand writer agrees with the encoder. */
	memset(&rj, 0, sizeof(rj));
	rj.key = 2;
	rj.op = P11B_OP_SIGN;
	rj.alg = P11B_ALG_ECDSA_P256_SHA256;
	rj.flags = 3;
	rj.inlen = sizeof(data);
	rj.data = data;
	rj.datalen = sizeof(data);
	put_job(&raw, &rj);
	is_mem(raw.p, raw.len, b.p, b.len, "job layout as documented");
	job_truncations(&b, 3, "sign job");
	is_int(job_decode(&b, b.len, 2, &out), SMSG_ERR,
	    "key 2 of 2 rejected");

	in.key = 0;
	in.op = P11B_OP_HMAC;
	in.alg = P11B_ALG_HMAC_SHA512;
	in.flags = 0;
	is_int(job_round_trip(1, &in, 1, &b, &out), SMSG_OK,
	    "hmac job decodes");
	ok(same_job(&in, &out), "hmac job kept");

	in.op = P11B_OP_HMAC_VERIFY;
	in.alg = P11B_ALG_HMAC_SHA256;
	in.mac = mac;
	in.maclen = sizeof(mac);
	is_int(job_round_trip(2, &in, 1, &b, &out), SMSG_OK,
	    "hmac-verify job with MAC decodes");
	ok(same_job(&in, &out), "hmac-verify job kept (input and MAC)");
	ok(out.mac == b.p + SMSG_JOB_FIXED + sizeof(data),
	    "MAC follows the input");
	job_truncations(&b, 1, "hmac-verify job");

	in.in = NULL;
	in.inlen = 0;
	is_int(job_round_trip(3, &in, 1, &b, &out), SMSG_OK,
	    "hmac-verify with MAC and empty input decodes");
	ok(same_job(&in, &out) && out.in == NULL, "empty input, MAC kept");

	in.op = P11B_OP_SECRET;
	in.alg = P11B_ALG_NONE;
	in.mac = NULL;
	in.maclen = 0;
	is_int(job_round_trip(4, &in, 1, &b, &out), SMSG_OK,
	    "get-secret job decodes");
	ok(same_job(&in, &out) && out.in == NULL && out.mac == NULL,
	    "get-secret job kept");
	job_truncations(&b, 1, "get-secret job");

	in.op = P11B_OP_SIGN;
	in.alg = P11B_ALG_ED25519;
	is_int(job_round_trip(5, &in, 1, &b, &out), SMSG_OK,
	    "sign job with empty input decodes");
	ok(same_job(&in, &out) && out.in == NULL, "empty input kept");

	memset(&in, 0, sizeof(in));
	in.key = -1;
	in.op = P11B_OP_RANDOM;
	in.random_len = 1;
	is_int(job_round_trip(6, &in, 0, &b, &out), SMSG_OK,
	    "random job decodes without any key");
	ok(same_job(&in, &out), "random job kept (key -1)");
	ok(b.p[0] == 0xff && b.p[1] == 0xff, "random job: SMSG_NO_KEY");
	job_truncations(&b, 0, "random job");
	in.random_len = P11B_RANDOM_MAX;
	is_int(job_round_trip(7, &in, 4, &b, &out), SMSG_OK,
	    "random job at the limit decodes");
	is_int(out.random_len, P11B_RANDOM_MAX, "random length kept");

	if ((big = malloc(biglen)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	for (i = 0; i < biglen; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	memset(&in, 0, sizeof(in));
	in.key = 0;
	in.op = P11B_OP_SIGN;
	in.alg = P11B_ALG_RSA_PSS_SHA512;
	in.in = big;
	in.inlen = biglen;
	is_int(job_round_trip(8, &in, 1, &b, &out), SMSG_OK,
	    "1 MiB sign job decodes");
	ok(same_job(&in, &out), "1 MiB input kept");
	free(big);

	/* The largest body, and one byte more. */
	in.inlen = SMSG_BODY_MAX - SMSG_JOB_FIXED;
	if ((in.in = big = calloc(1, in.inlen + 1)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	is_int(job_round_trip(9, &in, 1, &b, &out), SMSG_OK,
	    "job with the largest body decodes");
	ok(out.inlen == in.inlen, "largest input kept");
	in.inlen++;
	is_int(job_encodes(&in), SMSG_ERR,
	    "job one byte over the body limit is not encoded");
	in.inlen = 1;
	in.maclen = SMSG_BODY_MAX;
	in.mac = big;
	is_int(job_encodes(&in), SMSG_ERR,
	    "input + MAC over the body limit is not encoded");
	free(big);

	memset(&in, 0, sizeof(in));
	in.op = P11B_OP_PUBKEY;
	is_int(job_encodes(&in), SMSG_ERR,
	    "pubkey job is not encoded");
	in.op = P11B_OP_NONE;
	is_int(job_encodes(&in), SMSG_ERR,
	    "job without op is not encoded");
	free(b.p);
	free(raw.p);
}

/* A valid job to spoil: hmac-verify on key 1 of 2, 5 input, 3 MAC bytes. */
static struct raw_job
good_job(void)
{
	static const uint8_t data[] = "inputMAC";
	struct raw_job j;

	memset(&j, 0, sizeof(j));
	j.key = 1;
	j.op = P11B_OP_HMAC_VERIFY;
	j.alg = P11B_ALG_HMAC_SHA256;
	j.inlen = 5;
	j.maclen = 3;
	j.data = data;
	j.datalen = 8;
	return j;
}

static int
raw_job_decode(const struct raw_job *j, size_t nkeys)
{
	struct body b = { NULL, 0, 0 };
	struct job job;
	int r;

	put_job(&b, j);
	r = job_decode(&b, b.len, nkeys, &job);
	free(b.p);
	return r;
}

static void
test_job_invalid(void)
{
	static const unsigned int bad_ops[] = { P11B_OP_NONE, P11B_OP_PUBKEY,
	    P11B_OP_LIST, P11B_OP_HEALTH, P11B_OP_STATS, P11B_OP_COUNT, 99,
	    255 };
	static const unsigned int good_ops[] = { P11B_OP_SIGN, P11B_OP_HMAC,
	    P11B_OP_SECRET };
	struct body b = { NULL, 0, 0 };
	struct job job;
	struct raw_job j, r;
	size_t i;

	j = good_job();
	is_int(raw_job_decode(&j, 2), SMSG_OK, "the valid job decodes");

	for (i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		j = good_job();
		j.op = bad_ops[i];
		j.inlen = 8;
		j.maclen = 0;
		is_int(raw_job_decode(&j, 2), SMSG_ERR, "op %u rejected",
		    bad_ops[i]);
	}
	j = good_job();
	j.alg = P11B_ALG_COUNT - 1;
	is_int(raw_job_decode(&j, 2), SMSG_OK, "last algorithm accepted");
	j.alg = P11B_ALG_COUNT;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "algorithm %d rejected",
	    P11B_ALG_COUNT);
	j.alg = 255;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "algorithm 255 rejected");
	j = good_job();
	j.op = P11B_OP_SIGN;
	j.alg = P11B_ALG_ECDSA_P256_SHA256;
	j.inlen = 8;
	j.maclen = 0;
	j.flags = P11B_SIGN_DIGEST | P11B_SIGN_RAW;
	is_int(raw_job_decode(&j, 2), SMSG_OK, "known flags accepted (sign)");
	j.op = P11B_OP_HMAC;
	j.alg = P11B_ALG_HMAC_SHA256;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "flags on hmac rejected");
	j.flags = 0;
	j.alg = P11B_ALG_NONE;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "hmac without an algorithm "
	    "rejected");
	j.op = P11B_OP_SECRET;
	j.alg = P11B_ALG_HMAC_SHA256;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "secret with an algorithm "
	    "rejected");
	j = good_job();
	j.op = P11B_OP_SIGN;
	j.alg = P11B_ALG_ECDSA_P256_SHA256;
	j.inlen = 8;
	j.maclen = 0;
	j.flags = P11B_SIGN_DIGEST | P11B_SIGN_RAW;
	for (i = 2; i < 8; i++) {
		j.flags = 1U << i;
		if (raw_job_decode(&j, 2) != SMSG_ERR)
			break;
	}
	is_int(i, 8, "each unknown flag bit rejected");
	j = good_job();
	j.salt_set = 1;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "salt on hmac-verify rejected");
	j = good_job();
	j.salt_len = 1;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "salt length without the "
	    "flag rejected");
	j.salt_len = 0x8000;
	is_int(raw_job_decode(&j, 2), SMSG_ERR,
	    "salt length (high bit) without the flag rejected");
	j = good_job();
	j.op = P11B_OP_SIGN;
	j.alg = P11B_ALG_RSA_PSS_SHA256;
	j.maclen = 0;
	j.inlen = 8;
	j.salt_set = 1;
	j.salt_len = 0xffff;
	is_int(raw_job_decode(&j, 2), SMSG_OK, "salt 65535 on sign accepted");
	j.salt_set = 2;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "salt flag 2 rejected");
	test_job_stream();

	j = good_job();
	is_int(raw_job_decode(&j, 1), SMSG_ERR, "key 1 of 1 rejected");
	is_int(raw_job_decode(&j, 0), SMSG_ERR, "key with no keys rejected");
	j.key = SMSG_NO_KEY;
	is_int(raw_job_decode(&j, SMSG_KEYS_MAX), SMSG_ERR,
	    "no key on a keyed op rejected");
	j = good_job();
	j.random_len = 16;
	is_int(raw_job_decode(&j, 2), SMSG_ERR,
	    "random length on a keyed op rejected");

	memset(&r, 0, sizeof(r));
	r.key = SMSG_NO_KEY;
	r.op = P11B_OP_RANDOM;
	r.random_len = 32;
	is_int(raw_job_decode(&r, 0), SMSG_OK, "the valid random job decodes");
	j = r;
	j.key = 0;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "random with a key rejected");
	j = r;
	j.random_len = 0;
	is_int(raw_job_decode(&j, 0), SMSG_ERR, "random of 0 bytes rejected");
	j.random_len = P11B_RANDOM_MAX + 1;
	is_int(raw_job_decode(&j, 0), SMSG_ERR,
	    "random of 4097 bytes rejected");
	j.random_len = 0xffffffffU;
	is_int(raw_job_decode(&j, 0), SMSG_ERR, "random of 4 GiB rejected");
	j = r;
	j.inlen = 4;
	j.data = "abcd";
	j.datalen = 4;
	is_int(raw_job_decode(&j, 0), SMSG_ERR, "random with input rejected");
	j.inlen = 0;
	j.maclen = 4;
	is_int(raw_job_decode(&j, 0), SMSG_ERR, "random with a MAC rejected");

	for (i = 0; i < sizeof(good_ops) / sizeof(good_ops[0]); i++) {
		j = good_job();
		j.op = good_ops[i];
		is_int(raw_job_decode(&j, 2), SMSG_ERR,
		    "MAC on %s rejected", p11b_op_name(good_ops[i]));
		j.inlen = 8;
		j.maclen = 0;
		if (good_ops[i] == P11B_OP_SECRET)
			j.alg = P11B_ALG_NONE;
		is_int(raw_job_decode(&j, 2), SMSG_OK,
		    "the same bytes as input to %s accepted",
		    p11b_op_name(good_ops[i]));
	}

	j = good_job();
	j.inlen = 6;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "input length + 1 rejected");
	j.inlen = 4;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "input length - 1 rejected");
	j.inlen = 9;
	j.maclen = 0;
	is_int(raw_job_decode(&j, 2), SMSG_ERR,
	    "input longer than the body rejected");
	j.inlen = 0xffffffffU;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "input of 4 GiB rejected");
	j = good_job();
	j.maclen = 4;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "MAC length + 1 rejected");
	j.maclen = 2;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "MAC length - 1 rejected");
	j.maclen = 0xffffffffU;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "MAC of 4 GiB rejected");
	/* inlen + maclen wraps around to the body length */
	j.inlen = 0xfffffffdU;
	j.maclen = 11;
	is_int(raw_job_decode(&j, 2), SMSG_ERR,
	    "lengths that wrap around rejected");
	j = good_job();
	j.datalen = 7;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "body one byte short rejected");
	j = good_job();
	j.datalen = 0;
	j.inlen = j.maclen = 0;
	is_int(raw_job_decode(&j, 2), SMSG_OK, "fixed part alone decodes");
	put_job(&b, &j);
	is_int(job_decode(&b, SMSG_JOB_FIXED - 1, 2, &job), SMSG_ERR,
	    "truncated fixed part rejected");
	free(b.p);
}

/* Encode, check the header, decode into msgbuf; the body stays in *b. */
static int
result_round_trip(uint64_t id, const struct job_result *in, struct body *b,
    struct job_result *out, char *msgbuf, size_t msgbuflen)
{
	uint8_t *msg = NULL;
	size_t len;
	int r = -1;

	if (smsg_result_encode(id, in, &msg, &len) != SMSG_OK ||
	    split(msg, len, SMSG_RESULT, id, b) != 0)
		goto out;
	r = result_decode(b, b->len, out, msgbuf, msgbuflen);
 out:
	free(msg);
	return r;
}

static int
result_encodes(const struct job_result *res)
{
	uint8_t *msg = NULL;
	size_t len;
	int r;

	r = smsg_result_encode(1, res, &msg, &len);
	free(msg);
	return r;
}

static void
result_truncations(const struct body *b, const char *what)
{
	struct job_result res;
	struct body more = { NULL, 0, 0 };
	char msgbuf[SMSG_TEXT_MAX + 1];
	size_t n;

	for (n = 0; n < b->len; n++) {
		if (result_decode(b, n, &res, msgbuf, sizeof(msgbuf)) !=
		    SMSG_ERR || res.out != NULL)
			break;
	}
	ok(n == b->len, "%s: all %zu prefixes rejected", what, b->len);
	put(&more, b->p, b->len);
	put8(&more, 'x');
	is_int(result_decode(&more, more.len, &res, msgbuf, sizeof(msgbuf)),
	    SMSG_ERR, "%s: trailing byte rejected", what);
	free(more.p);
}

static void
test_result_round_trip(void)
{
	static uint8_t sig[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01,
	    0x02 };
	struct body b = { NULL, 0, 0 }, raw = { NULL, 0, 0 };
	struct job_result in, out;
	struct raw_result rr;
	char msgbuf[SMSG_TEXT_MAX + 1], small[8], longmsg[300];
	int s;

	memset(&in, 0, sizeof(in));
	in.status = P11B_OK;
	in.out = sig;
	in.outlen = sizeof(sig);
	is_int(result_round_trip(77, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "result with output decodes");
	is_int(out.status, P11B_OK, "status kept");
	ok(out.message == NULL, "no message");
	is_mem(out.out, out.outlen, sig, sizeof(sig), "output kept");
	ok(out.out != NULL && out.out != sig &&
	    (out.out < b.p || out.out >= b.p + b.len), "output is a copy");
	ok(out.valid == 0 && out.secret == 0, "flags clear");
	free(out.out);
	memset(&rr, 0, sizeof(rr));
	rr.outlen = sizeof(sig);
	rr.data = sig;
	rr.datalen = sizeof(sig);
	put_result(&raw, &rr);
	is_mem(raw.p, raw.len, b.p, b.len, "result layout as documented");
	result_truncations(&b, "result with output");

	in.status = P11B_INTERNAL;
	in.message = "C_Sign: CKR_DEVICE_ERROR";
	in.out = NULL;
	in.outlen = 0;
	is_int(result_round_trip(78, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "result with message decodes");
	is_int(out.status, P11B_INTERNAL, "error status kept");
	is_str(out.message, "C_Sign: CKR_DEVICE_ERROR", "message kept");
	ok(out.message == msgbuf, "message in the caller's buffer");
	ok(out.out == NULL && out.outlen == 0, "no output");
	result_truncations(&b, "result with message");
	is_int(result_decode(&b, b.len, &out, small, sizeof(small)), SMSG_ERR,
	    "message longer than the caller's buffer rejected");

	in.status = P11B_OK;
	in.message = "printable ~ ok";
	in.out = sig;
	in.outlen = sizeof(sig);
	in.secret = 1;
	is_int(result_round_trip(79, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "result with message, output and secret flag decodes");
	ok(out.secret == 1 && out.valid == 0, "secret flag kept");
	is_str(out.message, "printable ~ ok", "message kept with output");
	is_mem(out.out, out.outlen, sig, sizeof(sig), "output kept after it");
	free(out.out);
	result_truncations(&b, "result with message and output");

	memset(&in, 0, sizeof(in));
	in.valid = 1;
	is_int(result_round_trip(80, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "hmac-verify result decodes");
	ok(out.valid == 1 && out.secret == 0 && out.out == NULL &&
	    out.message == NULL, "valid flag kept, nothing else");
	result_truncations(&b, "empty result");
	in.valid = 7;		/* any true value is sent as 1 */
	in.secret = -1;
	is_int(result_round_trip(81, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "true flags decode");
	ok(out.valid == 1 && out.secret == 1, "true flags sent as 1");

	in.message = "";
	is_int(result_round_trip(82, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "empty message decodes");
	ok(out.message == NULL, "empty message: none");
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	in.message = longmsg;
	is_int(result_round_trip(83, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "long message decodes");
	is_int(out.message == NULL ? 0 : strlen(out.message), SMSG_TEXT_MAX,
	    "long message cut to SMSG_TEXT_MAX");
	in.message = "1234567";
	is_int(result_round_trip(84, &in, &b, &out, small, sizeof(small)),
	    SMSG_OK, "message filling a small buffer decodes");
	is_str(out.message, "1234567", "message kept in the small buffer");

	in.message = "bad\nline\xff\x7f";
	is_int(result_round_trip(85, &in, &b, &out, msgbuf, sizeof(msgbuf)),
	    SMSG_OK, "message with control and non-ASCII bytes decodes");
	is_str(out.message, "bad?line??", "message: '?' for those bytes");

	in.message = NULL;
	for (s = 0; s < P11B_STATUS_COUNT; s++) {
		in.status = s;
		if (s != P11B_OK) {	/* a failure carries no output */
			in.out = NULL;
			in.outlen = 0;
			in.valid = 0;
			in.secret = 0;
		}
		if (result_round_trip(85, &in, &b, &out, msgbuf,
		    sizeof(msgbuf)) != SMSG_OK || out.status != s)
			break;
	}
	is_int(s, P11B_STATUS_COUNT, "every status kept");
	in.status = P11B_STATUS_COUNT;
	is_int(result_encodes(&in), SMSG_ERR,
	    "status out of range is not encoded");
	in.status = -1;
	is_int(result_encodes(&in), SMSG_ERR,
	    "negative status is not encoded");
	free(b.p);
	free(raw.p);
}

static int
raw_result_decode(const struct raw_result *rr, size_t msgbuflen)
{
	struct body b = { NULL, 0, 0 };
	struct job_result res;
	char msgbuf[256];
	int r;

	put_result(&b, rr);
	r = result_decode(&b, b.len, &res, msgbuf, msgbuflen);
	if (r == SMSG_OK)
		free(res.out);
	else if (res.out != NULL)
		r = 42;	/* a rejected result must not hold output */
	free(b.p);
	return r;
}

static void
test_result_invalid(void)
{
	static const uint8_t bad_bytes[] = { 0x00, 0x09, 0x0a, 0x1b, 0x1f, 0x7f,
	    0x80, 0xc3, 0xff };
	char data[300];
	struct raw_result g, r;
	size_t i;

	/* "error" then 3 output bytes */
	memcpy(data, "errorOUT", 8);
	memset(&g, 0, sizeof(g));
	g.status = P11B_OK;
	g.msglen = 5;
	g.outlen = 3;
	g.data = data;
	g.datalen = 8;
	is_int(raw_result_decode(&g, SMSG_TEXT_MAX + 1), SMSG_OK,
	    "the valid result decodes");
	r = g;
	r.status = P11B_DENIED;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "a failure with output rejected");
	r.outlen = 0;
	r.datalen = 5;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_OK,
	    "a failure with only a message accepted");
	r.valid = 1;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "a failure marked valid rejected");
	r.valid = 0;
	r.secret = 1;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "a failure marked secret rejected");

	r = g;
	r.status = P11B_STATUS_COUNT;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "status %d rejected", P11B_STATUS_COUNT);
	r.status = 255;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "status 255 rejected");
	r = g;
	r.valid = 2;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "valid 2 rejected");
	r.valid = 255;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "valid 255 rejected");
	r = g;
	r.secret = 2;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "secret 2 rejected");

	memset(data, 'a', sizeof(data));
	r = g;
	r.msglen = SMSG_TEXT_MAX;
	r.outlen = 0;
	r.datalen = SMSG_TEXT_MAX;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_OK,
	    "message of SMSG_TEXT_MAX accepted");
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX), SMSG_ERR,
	    "message as long as the caller's buffer rejected");
	is_int(raw_result_decode(&r, 256), SMSG_OK,
	    "... accepted with a larger buffer");
	r.msglen = SMSG_TEXT_MAX + 1;
	r.datalen = SMSG_TEXT_MAX + 1;
	is_int(raw_result_decode(&r, 256), SMSG_ERR,
	    "message of SMSG_TEXT_MAX + 1 rejected");
	r.msglen = 255;
	r.datalen = 255;
	is_int(raw_result_decode(&r, 256), SMSG_ERR,
	    "message of 255 bytes rejected");
	r = g;
	r.msglen = 0;
	r.outlen = 0;
	r.datalen = 0;
	is_int(raw_result_decode(&r, 1), SMSG_OK,
	    "no message, 1-byte buffer accepted");
	is_int(raw_result_decode(&r, 0), SMSG_ERR,
	    "no room for the NUL rejected");

	memcpy(data, "errorOUT", 8);
	r = g;
	data[0] = ' ';
	data[4] = '~';
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_OK,
	    "space and tilde accepted");
	for (i = 0; i < sizeof(bad_bytes); i++) {
		memcpy(data, "errorOUT", 8);
		data[2] = (char)bad_bytes[i];
		is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
		    "message byte 0x%02x rejected", bad_bytes[i]);
	}
	memcpy(data, "errorOUT", 8);
	data[4] = '\0';
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "NUL at the end of the message rejected");
	memcpy(data, "error\n\0\xff", 8);
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_OK,
	    "output bytes are not text");

	memcpy(data, "errorOUT", 8);
	r = g;
	r.outlen = 4;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "output length + 1 rejected");
	r.outlen = 2;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "output length - 1 rejected");
	r.outlen = 0xffffffffU;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "output of 4 GiB rejected");
	r.outlen = 0xfffffffcU;	/* msglen + outlen = 2^32 + 1 */
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "lengths past 2^32 rejected");
	r = g;
	r.msglen = 6;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "message length + 1 rejected");
	r.msglen = 4;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "message length - 1 rejected");
	r = g;
	r.datalen = 7;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "body one byte short rejected");
	r.datalen = 9;
	is_int(raw_result_decode(&r, SMSG_TEXT_MAX + 1), SMSG_ERR,
	    "body one byte long rejected");
}

static void
hello_truncations(const struct body *b, const char *what)
{
	struct smsg_hello hello;
	struct body more = { NULL, 0, 0 };
	size_t n;

	for (n = 0; n < b->len; n++)
		if (hello_decode(b, n, &hello) != SMSG_ERR ||
		    hello.keys != NULL || hello.nkeys != 0)
			break;
	ok(n == b->len, "%s: all %zu prefixes rejected", what, b->len);
	put(&more, b->p, b->len);
	put8(&more, 0);
	is_int(hello_decode(&more, more.len, &hello), SMSG_ERR,
	    "%s: trailing byte rejected", what);
	ok(hello.keys == NULL && hello.nkeys == 0, "%s: nothing kept", what);
	free(more.p);
}

/*
 * Several token blocks: a signer announces another block's key as a name
 * with type NONE (absent); the front merges the blocks' keys, taking an
 * absent one from the block that holds it, refusing the same name with
 * other material, and adding keyspace keys by name.
 */
static void
test_hello_absent_and_merge(void)
{
	static uint8_t spki[65] = { 4 };
	struct body b = { NULL, 0, 0 };
	struct key_info a[3], c[3], *m, *m2;
	struct smsg_hello hello;
	uint8_t *msg;
	size_t len, n, n2;
	char err[256];
	int changed;

	memset(a, 0, sizeof(a));
	memset(c, 0, sizeof(c));
	/* Block A: zsk present, api absent, one keyspace key. */
	strlcpy(a[0].name, "zsk", sizeof(a[0].name));
	a[0].type = P11B_KEY_EC_P256;
	a[0].bits = 256;
	a[0].spki = spki;
	a[0].spkilen = sizeof(spki);
	memset(a[0].identity, 0x11, P11B_IDENTITY_LEN);
	a[0].space = -1;
	strlcpy(a[1].name, "api", sizeof(a[1].name));
	a[1].type = P11B_KEY_NONE;
	a[1].absent = 1;
	a[1].space = -1;
	strlcpy(a[2].name, "knot-1", sizeof(a[2].name));
	a[2].type = P11B_KEY_EC_P256;
	a[2].space = 0;
	is_int(smsg_hello_encode("a", 1, a, 3, &msg, &len), SMSG_OK,
	    "a hello with an absent key encodes");
	is_int(split(msg, len, SMSG_HELLO, 0, &b), 0, "its header");
	free(msg);
	is_int(hello_decode(&b, b.len, &hello), SMSG_OK,
	    "a hello with an absent key decodes");
	ok(hello.nkeys == 3 && !hello.keys[0].absent && hello.keys[1].absent &&
	    hello.keys[1].type == P11B_KEY_NONE &&
	    strcmp(hello.keys[1].name, "api") == 0, "absent kept, by name");
	smsg_hello_free(&hello);
	/* A present key of type NONE, or an absent one with a key, is not. */
	a[1].absent = 0;
	is_int(smsg_hello_encode("a", 1, a, 2, &msg, &len), SMSG_OK,
	    "type NONE, not absent: encodes");
	(void)split(msg, len, SMSG_HELLO, 0, &b);
	free(msg);
	is_int(hello_decode(&b, b.len, &hello), SMSG_ERR,
	    "type NONE without the absent flag: refused");
	a[1].absent = 1;
	a[1].spki = spki;
	a[1].spkilen = sizeof(spki);
	(void)smsg_hello_encode("a", 1, a, 2, &msg, &len);
	(void)split(msg, len, SMSG_HELLO, 0, &b);
	free(msg);
	is_int(hello_decode(&b, b.len, &hello), SMSG_ERR,
	    "an absent key with a public key: refused");
	a[1].spki = NULL;
	a[1].spkilen = 0;

	/* Block C: zsk the same, api present. */
	c[0] = a[0];
	c[1] = a[1];
	c[1].absent = 0;
	c[1].type = P11B_KEY_SECRET;
	c[1].bits = 256;
	memset(c[1].identity, 0x22, P11B_IDENTITY_LEN);
	strlcpy(c[2].name, "knot-2", sizeof(c[2].name));
	c[2].type = P11B_KEY_EC_P256;
	c[2].space = 0;
	is_int(key_info_merge(a, 3, c, 3, 2, &m, &n, &changed, err,
	    sizeof(err)), 0, "merge: two blocks' keys");
	ok(changed && n == 4 && !m[1].absent && m[1].type == P11B_KEY_SECRET &&
	    m[1].identity[0] == 0x22, "merge: api taken from the block that "
	    "holds it");
	ok(m[0].spkilen == sizeof(spki) && m[0].spki != spki &&
	    memcmp(m[0].spki, spki, sizeof(spki)) == 0, "merge: a deep copy");
	ok(strcmp(m[2].name, "knot-1") == 0 && strcmp(m[3].name, "knot-2") ==
	    0, "merge: keyspace keys by name, the new one appended");
	is_int(key_info_merge(m, n, c, 3, 2, &m2, &n2, &changed, err,
	    sizeof(err)), 0, "merge again");
	ok(!changed && n2 == n, "merge: nothing new, nothing changed");
	key_info_free(m2, n2);
	c[0].identity[3] ^= 1;
	is_int(key_info_merge(m, n, c, 3, 2, &m2, &n2, &changed, err,
	    sizeof(err)), -1, "merge: zsk with other material refused");
	ok(strstr(err, "key zsk: the token blocks that hold it hold "
	    "different objects") != NULL, "merge: the message names the key "
	    "(%s)", err);
	key_info_free(m, n);
	free(b.p);
}

static void
test_hello_round_trip(void)
{
	static uint8_t spki0[91], spki1[294], cert1[700];
	struct body b = { NULL, 0, 0 }, raw = { NULL, 0, 0 };
	struct key_info keys[4];
	struct smsg_hello hello;
	struct raw_key rk;
	uint8_t *msg;
	size_t len, i;
	char name64[P11B_KEY_NAME_MAX + 1];

	for (i = 0; i < sizeof(spki0); i++)
		spki0[i] = (uint8_t)i;
	for (i = 0; i < sizeof(spki1); i++)
		spki1[i] = (uint8_t)(255 - i);
	for (i = 0; i < sizeof(cert1); i++)
		cert1[i] = (uint8_t)(i * 3);
	memset(keys, 0, sizeof(keys));
	strlcpy(keys[0].name, "dns-zsk", sizeof(keys[0].name));
	keys[0].type = P11B_KEY_EC_P256;
	keys[0].bits = 256;
	keys[0].spki = spki0;
	keys[0].spkilen = sizeof(spki0);
	strlcpy(keys[0].object, "private key label=dns-zsk id=01",
	    sizeof(keys[0].object));
	keys[0].id[0] = 0x01;
	keys[0].idlen = 1;
	strlcpy(keys[0].label, "dns-zsk \xc3\xa9", sizeof(keys[0].label));
	keys[0].local = 1;
	memset(keys[0].identity, 0xa5, P11B_IDENTITY_LEN);
	keys[1].chain = spki0;
	keys[1].chainlen = sizeof(spki0);
	strlcpy(keys[1].name, "ca.root_2026", sizeof(keys[1].name));
	keys[1].type = P11B_KEY_RSA;
	keys[1].bits = 65536;
	keys[1].algs = 1U << P11B_ALG_RSA_PSS_SHA224 |
	    1U << P11B_ALG_RSA_PKCS1_RAW;
	keys[1].spki = spki1;
	keys[1].spkilen = sizeof(spki1);
	keys[1].cert = cert1;
	keys[1].certlen = sizeof(cert1);
	memset(keys[1].object, 'o', sizeof(keys[1].object) - 1);
	strlcpy(keys[2].name, "hmac", sizeof(keys[2].name));
	keys[2].type = P11B_KEY_SECRET;
	keys[2].extractable = 1;
	keys[2].bits = 256;
	memset(name64, 'k', P11B_KEY_NAME_MAX);
	name64[P11B_KEY_NAME_MAX] = '\0';
	strlcpy(keys[3].name, name64, sizeof(keys[3].name));
	keys[3].type = P11B_KEY_DATA;
	keys[3].extractable = 5;	/* true: sent as 1 */

	is_int(smsg_hello_encode("SoftHSM slot 0 token=p11broker", 4, keys, 4,
	    &msg, &len), SMSG_OK, "hello with four keys encodes");
	is_int(split(msg, len, SMSG_HELLO, 0, &b), 0, "hello header, id 0");
	free(msg);
	is_int(hello_decode(&b, b.len, &hello), SMSG_OK, "hello decodes");
	is_str(hello.desc, "SoftHSM slot 0 token=p11broker",
	    "description kept");
	is_int(hello.workers, 4, "workers kept");
	is_int(hello.nkeys, 4, "four keys");
	if (hello.nkeys == 4) {
		is_str(hello.keys[0].name, "dns-zsk", "key 0 name");
		ok(hello.keys[0].type == P11B_KEY_EC_P256 &&
		    hello.keys[0].bits == 256 && hello.keys[0].extractable == 0,
		    "key 0 type, bits, not extractable");
		is_mem(hello.keys[0].spki, hello.keys[0].spkilen, spki0,
		    sizeof(spki0), "key 0 spki");
		ok(hello.keys[0].cert == NULL && hello.keys[0].certlen == 0,
		    "key 0 has no certificate");
		is_str(hello.keys[0].object, "private key label=dns-zsk id=01",
		    "key 0 object");
		ok(hello.keys[0].idlen == 1 && hello.keys[0].id[0] == 1 &&
		    hello.keys[0].local == 1 &&
		    hello.keys[0].identity[15] == 0xa5,
		    "key 0: CKA_ID, CKA_LOCAL, identity kept");
		is_str(hello.keys[0].label, "dns-zsk \xc3\xa9",
		    "key 0: a UTF-8 label kept");
		is_mem(hello.keys[1].chain, hello.keys[1].chainlen, spki0,
		    sizeof(spki0), "key 1: chain kept");
		is_str(hello.keys[1].name, "ca.root_2026", "key 1 name");
		ok(hello.keys[1].type == P11B_KEY_RSA &&
		    hello.keys[1].bits == 65536 && hello.keys[1].algs ==
		    keys[1].algs, "key 1 type, bits 65536, algorithms");
		is_mem(hello.keys[1].spki, hello.keys[1].spkilen, spki1,
		    sizeof(spki1), "key 1 spki");
		is_mem(hello.keys[1].cert, hello.keys[1].certlen, cert1,
		    sizeof(cert1), "key 1 certificate");
		is_int(strlen(hello.keys[1].object), SMSG_TEXT_MAX,
		    "key 1 object cut to SMSG_TEXT_MAX");
		ok(hello.keys[2].type == P11B_KEY_SECRET &&
		    hello.keys[2].extractable == 1 && hello.keys[2].spki ==
		    NULL && hello.keys[2].object[0] == '\0',
		    "key 2: extractable secret, no spki, no object");
		is_str(hello.keys[3].name, name64, "key 3: 64-byte name");
		is_int(hello.keys[3].extractable, 1, "key 3: true sent as 1");
	}
	smsg_hello_free(&hello);
	ok(hello.keys == NULL && hello.nkeys == 0, "hello freed");
	hello_truncations(&b, "hello with four keys");

	/* The hand writer agrees with the encoder. */
	put_hello_head(&raw, 1, 1024, "d", 1);
	rk = good_key();
	put_key(&raw, &rk);
	memset(keys, 0, sizeof(keys));
	strlcpy(keys[0].name, rk.name, sizeof(keys[0].name));
	keys[0].type = rk.type;
	keys[0].bits = rk.bits;
	keys[0].algs = rk.algs;
	strlcpy(keys[0].object, rk.obj, sizeof(keys[0].object));
	keys[0].spki = (uint8_t *)(uintptr_t)rk.spki;
	keys[0].spkilen = rk.spkilen;
	keys[0].space = -1;
	is_int(smsg_hello_encode("d", 1024, keys, 1, &msg, &len), SMSG_OK,
	    "hello with 1024 workers encodes");
	is_int(split(msg, len, SMSG_HELLO, 0, &b), 0, "one-key hello header");
	free(msg);
	is_mem(raw.p, raw.len, b.p, b.len, "hello layout as documented");
	is_int(hello_decode(&b, b.len, &hello), SMSG_OK,
	    "hello with 1024 workers decodes");
	smsg_hello_free(&hello);

	is_int(smsg_hello_encode("", 1, NULL, 0, &msg, &len), SMSG_OK,
	    "hello without keys encodes");
	is_int(split(msg, len, SMSG_HELLO, 0, &b), 0, "empty hello header");
	free(msg);
	is_int(hello_decode(&b, b.len, &hello), SMSG_OK,
	    "hello without keys decodes");
	ok(hello.nkeys == 0 && hello.keys == NULL && hello.desc[0] == '\0' &&
	    hello.workers == 1, "no keys, empty description, one worker");
	smsg_hello_free(&hello);
	hello_truncations(&b, "hello without keys");

	/* Labels may be UTF-8; the receiver takes printable ASCII only. */
	strlcpy(keys[0].object, "private key label=cl\xc3\xa9\tx",
	    sizeof(keys[0].object));
	is_int(smsg_hello_encode("token \"t\xc3\xb6k\"", 1, keys, 1, &msg,
	    &len), SMSG_OK, "hello with UTF-8 labels encodes");
	is_int(split(msg, len, SMSG_HELLO, 0, &b), 0, "UTF-8 hello header");
	free(msg);
	is_int(hello_decode(&b, b.len, &hello), SMSG_OK,
	    "hello with UTF-8 labels decodes");
	is_str(hello.desc, "token \"t??k\"", "description: '?' for non-ASCII");
	is_str(hello.nkeys == 1 ? hello.keys[0].object : NULL,
	    "private key label=cl???x", "object: '?' for non-ASCII and tab");
	smsg_hello_free(&hello);

	is_int(smsg_hello_encode("x", 1, keys, SMSG_KEYS_MAX + 1, &msg, &len),
	    SMSG_ERR, "hello with too many keys is not encoded");
	free(b.p);
	free(raw.p);
}

static int
raw_hello_decode(const struct body *b)
{
	struct smsg_hello hello;
	int r;

	r = hello_decode(b, b->len, &hello);
	if (r != SMSG_OK && (hello.keys != NULL || hello.nkeys != 0))
		r = 42;		/* a rejected hello must not hold keys */
	smsg_hello_free(&hello);
	return r;
}

/* A hello of two keys, the second one k. */
static int
hello_with(const struct raw_key *k)
{
	struct body b = { NULL, 0, 0 };
	struct raw_key g = good_key();
	int r;

	put_hello_head(&b, 2, 2, "token", 5);
	g.name = "first-key";		/* unique but for a key's versions */
	g.namelen = strlen(g.name);
	put_key(&b, &g);
	put_key(&b, k);
	r = raw_hello_decode(&b);
	free(b.p);
	return r;
}

/* A hello of three keys with these names. */
static int
hello_names(const char *n0, const char *n1, const char *n2)
{
	struct body b = { NULL, 0, 0 };
	struct raw_key k = good_key();
	const char *names[3] = { n0, n1, n2 };
	int i, r;

	put_hello_head(&b, 3, 2, "token", 5);
	for (i = 0; i < 3; i++) {
		k.name = names[i];
		k.namelen = strlen(names[i]);
		put_key(&b, &k);
	}
	r = raw_hello_decode(&b);
	free(b.p);
	return r;
}

static void
test_hello_invalid(void)
{
	static const char *bad_names[] = { "a b", "a/b", "a:b", "key\n",
	    "\xc3\xa9t\xc3\xa9", "a\tb" };
	static const uint8_t cert[] = { 1, 2, 3 };
	struct body b = { NULL, 0, 0 };
	struct raw_key k, g = good_key();
	char longname[P11B_KEY_NAME_MAX + 2], text[256];
	size_t i;
	int r;

	is_int(hello_with(&g), SMSG_OK, "the valid hello decodes");
	k = g;
	k.label = "a\nb";
	k.labellen = 3;
	is_int(hello_with(&k), SMSG_ERR, "a label with a newline rejected");
	k = g;
	k.local = 2;
	is_int(hello_with(&k), SMSG_ERR, "CKA_LOCAL 2 rejected");
	memset(text, 'i', sizeof(text));
	k = g;
	k.id = (const uint8_t *)text;
	k.idlen = P11B_ID_MAX + 1;
	is_int(hello_with(&k), SMSG_ERR, "a CKA_ID over P11B_ID_MAX rejected");
	k.idlen = P11B_ID_MAX;
	is_int(hello_with(&k), SMSG_OK, "a CKA_ID of P11B_ID_MAX accepted");
	k = g;
	k.name = "first-key";
	k.namelen = strlen(k.name);
	/* One name twice in a row: a key's versions (policy/versions.h). */
	is_int(hello_with(&k), SMSG_OK, "a key's two versions accepted");
	is_int(hello_names("a", "a", "a"), SMSG_OK,
	    "a key's three versions accepted");
	is_int(hello_names("a", "b", "a"), SMSG_ERR,
	    "one name again after another key rejected");
	is_int(hello_names("a", "a", "b"), SMSG_OK,
	    "versions, then another key");

	put_hello_head(&b, 0, 0, "", 0);
	is_int(raw_hello_decode(&b), SMSG_ERR, "0 workers rejected");
	put_hello_head(&b, 0, 1025, "", 0);
	is_int(raw_hello_decode(&b), SMSG_ERR, "1025 workers rejected");
	put_hello_head(&b, 0, 0xffffffffU, "", 0);
	is_int(raw_hello_decode(&b), SMSG_ERR, "2^32-1 workers rejected");

	/* SMSG_KEYS_MAX + 1 valid keys: only the count is wrong. */
	put_hello_head(&b, SMSG_KEYS_MAX, 1, "", 0);
	k = g;
	for (i = 0; i < SMSG_KEYS_MAX; i++) {
		snprintf(longname, sizeof(longname), "k%zu", i);
		k.name = longname;
		k.namelen = strlen(longname);
		put_key(&b, &k);
	}
	is_int(raw_hello_decode(&b), SMSG_OK, "SMSG_KEYS_MAX keys accepted");
	r = SMSG_KEYS_MAX + 1;
	memcpy(b.p, &r, 4);
	put_key(&b, &k);
	is_int(raw_hello_decode(&b), SMSG_ERR,
	    "SMSG_KEYS_MAX + 1 keys rejected");
	r = -1;
	memcpy(b.p, &r, 4);
	is_int(raw_hello_decode(&b), SMSG_ERR, "2^32-1 keys rejected");

	put_hello_head(&b, 3, 2, "token", 5);
	put_key(&b, &g);
	put_key(&b, &g);
	is_int(raw_hello_decode(&b), SMSG_ERR, "one key fewer than announced");
	put_hello_head(&b, 1, 2, "token", 5);
	put_key(&b, &g);
	put_key(&b, &g);
	is_int(raw_hello_decode(&b), SMSG_ERR, "one key more than announced");

	memset(text, 'd', sizeof(text));
	put_hello_head(&b, 0, 1, text, SMSG_TEXT_MAX);
	is_int(raw_hello_decode(&b), SMSG_OK,
	    "description of SMSG_TEXT_MAX accepted");
	put_hello_head(&b, 0, 1, text, SMSG_TEXT_MAX + 1);
	is_int(raw_hello_decode(&b), SMSG_ERR,
	    "description of SMSG_TEXT_MAX + 1 rejected");
	put_hello_head(&b, 0, 1, text, 255);
	is_int(raw_hello_decode(&b), SMSG_ERR,
	    "description of 255 bytes rejected");
	put_hello_head(&b, 0, 1, "tok\nen", 6);
	is_int(raw_hello_decode(&b), SMSG_ERR,
	    "description with a newline rejected");
	put_hello_head(&b, 0, 1, "tok\0en", 6);
	is_int(raw_hello_decode(&b), SMSG_ERR,
	    "description with a NUL rejected");
	put_hello_head(&b, 0, 1, "tok\x7f", 4);
	is_int(raw_hello_decode(&b), SMSG_ERR, "description with DEL rejected");

	k = g;
	k.name = "";
	k.namelen = 0;
	is_int(hello_with(&k), SMSG_ERR, "empty key name rejected");
	memset(longname, 'n', sizeof(longname));
	k.name = longname;
	k.namelen = P11B_KEY_NAME_MAX;
	is_int(hello_with(&k), SMSG_OK, "64-byte key name accepted");
	k.namelen = P11B_KEY_NAME_MAX + 1;
	is_int(hello_with(&k), SMSG_ERR, "65-byte key name rejected");
	memset(text, 'n', sizeof(text));
	k.name = text;
	k.namelen = 255;
	is_int(hello_with(&k), SMSG_ERR, "255-byte key name rejected");
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		k.name = bad_names[i];
		k.namelen = strlen(bad_names[i]);
		is_int(hello_with(&k), SMSG_ERR, "key name %zu with a bad "
		    "character rejected", i);
	}
	k.name = "a\0b";
	k.namelen = 3;
	is_int(hello_with(&k), SMSG_ERR, "key name with a NUL rejected");

	k = g;
	k.algs = 0;	/* none fits a data object */
	k.type = P11B_KEY_NONE;
	is_int(hello_with(&k), SMSG_ERR, "key type 0 rejected");
	k.type = P11B_KEY_TYPE_COUNT;
	is_int(hello_with(&k), SMSG_ERR, "key type %d rejected",
	    P11B_KEY_TYPE_COUNT);
	k.type = 255;
	is_int(hello_with(&k), SMSG_ERR, "key type 255 rejected");
	k.type = P11B_KEY_TYPE_COUNT - 1;
	is_int(hello_with(&k), SMSG_OK, "last key type accepted");
	k = g;
	k.extractable = 1;
	is_int(hello_with(&k), SMSG_OK, "extractable 1 accepted");
	k.extractable = 2;
	is_int(hello_with(&k), SMSG_ERR, "extractable 2 rejected");
	k.extractable = 255;
	is_int(hello_with(&k), SMSG_ERR, "extractable 255 rejected");
	k = g;
	k.algs = 1U << P11B_ALG_RSA_PSS_SHA256;
	is_int(hello_with(&k), SMSG_ERR, "an RSA algorithm on an EC key "
	    "rejected");
	k.algs = 0;
	is_int(hello_with(&k), SMSG_OK, "a key the token offers nothing for "
	    "accepted");
	k.algs = 1U << P11B_ALG_ECDSA_P256_SHA256;
	k.bits = 65536;
	is_int(hello_with(&k), SMSG_OK, "65536 bits accepted");
	k.bits = 65537;
	is_int(hello_with(&k), SMSG_ERR, "65537 bits rejected");
	k.bits = 0xffffffffU;
	is_int(hello_with(&k), SMSG_ERR, "2^32-1 bits rejected");

	k = g;
	memset(text, 'o', sizeof(text));
	k.obj = text;
	k.objlen = SMSG_TEXT_MAX;
	is_int(hello_with(&k), SMSG_OK, "object of SMSG_TEXT_MAX accepted");
	k.objlen = SMSG_TEXT_MAX + 1;
	is_int(hello_with(&k), SMSG_ERR,
	    "object of SMSG_TEXT_MAX + 1 rejected");
	k.objlen = 255;
	is_int(hello_with(&k), SMSG_ERR, "object of 255 bytes rejected");
	k.obj = "label=a\nb";
	k.objlen = 9;
	is_int(hello_with(&k), SMSG_ERR, "object with a newline rejected");
	k.obj = "label=\0";
	k.objlen = 7;
	is_int(hello_with(&k), SMSG_ERR, "object with a NUL rejected");
	k.obj = "label=\xff";
	k.objlen = 7;
	is_int(hello_with(&k), SMSG_ERR, "object with byte 0xff rejected");

	k = g;
	k.spkilen += 1;
	is_int(hello_with(&k), SMSG_ERR, "spki length + 1 rejected");
	k.spkilen = 0xffffffffU;
	is_int(hello_with(&k), SMSG_ERR, "spki of 4 GiB rejected");
	k = g;
	k.cert = cert;
	k.certlen = k.certbytes = sizeof(cert);
	is_int(hello_with(&k), SMSG_OK, "key with a certificate accepted");
	k.certlen = sizeof(cert) + 1;
	is_int(hello_with(&k), SMSG_ERR, "certificate length + 1 rejected");
	k.certlen = 0xffffffffU;
	is_int(hello_with(&k), SMSG_ERR, "certificate of 4 GiB rejected");

	put_hello_head(&b, 2, 2, "token", 5);
	put_key(&b, &g);
	put_key(&b, &g);
	put8(&b, 0);
	is_int(raw_hello_decode(&b), SMSG_ERR, "trailing byte rejected");
	b.len -= 2;
	is_int(raw_hello_decode(&b), SMSG_ERR, "truncated last key rejected");
	free(b.p);
}

static void
test_job_stream_round_trip(void)
{
	static uint8_t in[] = "part";
	struct job job, out;
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(&job, 0, sizeof(job));
	job.key = 1;
	job.op = P11B_OP_HMAC;
	job.alg = P11B_ALG_HMAC_SHA256;
	job.stream = JOB_STREAM_UPDATE;
	job.sid = 0xbeef;
	job.in = in;
	job.inlen = 4;
	ok(smsg_job_encode(3, &job, &buf, &len) == SMSG_OK &&
	    smsg_job_decode(buf + SMSG_HDR_LEN, len - SMSG_HDR_LEN, 2,
	    &out) == SMSG_OK && out.stream == JOB_STREAM_UPDATE &&
	    out.sid == 0xbeef && out.inlen == 4 &&
	    memcmp(out.in, "part", 4) == 0, "a stream part round-trips");
	free(buf);
}

/* Stream phases and ids (job.h): where each may appear. */
static void
test_job_stream(void)
{
	struct raw_job j;

	j = good_job();
	j.sid = 1;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "a stream id on a whole job "
	    "rejected");
	j.stream = JOB_STREAM_FINAL;
	j.sid = 0xffff;
	is_int(raw_job_decode(&j, 2), SMSG_OK, "a final with the MAC decodes");
	j.stream = JOB_STREAM_COUNT;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "stream phase %d rejected",
	    JOB_STREAM_COUNT);
	j.stream = 0xff;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "stream phase 255 rejected");
	j.stream = JOB_STREAM_UPDATE;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "a MAC on an update rejected");
	j.stream = JOB_STREAM_BEGIN;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "a MAC on a begin rejected");
	j.maclen = 0;
	j.inlen = 8;
	is_int(raw_job_decode(&j, 2), SMSG_OK, "a begin with input decodes");
	j.stream = JOB_STREAM_ABORT;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "an abort with input rejected");
	j.inlen = 0;
	j.datalen = 0;
	is_int(raw_job_decode(&j, 2), SMSG_OK, "an empty abort decodes");
	j = good_job();
	j.op = P11B_OP_SECRET;
	j.alg = P11B_ALG_NONE;
	j.inlen = 8;
	j.maclen = 0;
	j.stream = JOB_STREAM_BEGIN;
	is_int(raw_job_decode(&j, 2), SMSG_ERR, "a secret stream rejected");
	test_job_stream_round_trip();
}

/* A batch job and its result: the same items back; bad ones refused. */
static void
test_batch(void)
{
	struct smsg_batch_item items[3], *got;
	struct job tmpl, back;
	struct job_result res[3];
	struct smsg_batch b;
	struct smsg_hdr h;
	uint8_t *msg, mac[32];
	size_t len, n;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.key = 1;
	tmpl.op = P11B_OP_HMAC_VERIFY;
	tmpl.alg = P11B_ALG_HMAC_SHA256;
	memset(mac, 0xa5, sizeof(mac));
	memset(items, 0, sizeof(items));
	items[0].in = (const uint8_t *)"one";
	items[0].inlen = 3;
	items[0].mac = mac;
	items[0].maclen = 32;
	items[2].in = (const uint8_t *)"three";
	items[2].inlen = 5;
	items[2].mac = mac;
	items[2].maclen = 32;
	is_int(smsg_batch_encode(7, &tmpl, items, 3, &msg, &len), SMSG_OK,
	    "batch job encodes");
	is_int(smsg_hdr_decode(msg, &h), SMSG_OK, "batch header decodes");
	is_int(h.type, SMSG_BATCH_JOB, "batch header type 4");
	is_int(smsg_batch_decode(msg + SMSG_HDR_LEN, h.len, 2, &back, &got,
	    &n), SMSG_OK, "batch job decodes");
	is_int(n, 3, "three items");
	ok(back.op == P11B_OP_HMAC_VERIFY && back.key == 1 &&
	    back.alg == P11B_ALG_HMAC_SHA256, "template back");
	ok(got[0].inlen == 3 && memcmp(got[0].in, "one", 3) == 0 &&
	    got[0].maclen == 32 && got[1].inlen == 0 && got[1].in == NULL &&
	    got[2].inlen == 5 && memcmp(got[2].mac, mac, 32) == 0,
	    "items back, in order");
	free(got);
	is_int(smsg_batch_decode(msg + SMSG_HDR_LEN, h.len, 1, &back, &got,
	    &n), SMSG_ERR, "key index past the keys refused");
	is_int(smsg_batch_decode(msg + SMSG_HDR_LEN, h.len - 1, 2, &back,
	    &got, &n), SMSG_ERR, "truncated batch refused");
	ok(got == NULL && n == 0, "nothing left on refusal");
	free(msg);
	tmpl.op = P11B_OP_HMAC;
	is_int(smsg_batch_encode(7, &tmpl, items, 3, &msg, &len), SMSG_OK,
	    "an hmac batch with MACs encodes (the decoder decides)");
	is_int(smsg_batch_decode(msg + SMSG_HDR_LEN, len - SMSG_HDR_LEN, 2,
	    &back, &got, &n), SMSG_ERR, "a MAC on an hmac item refused");
	free(msg);
	tmpl.op = P11B_OP_SECRET;
	is_int(smsg_batch_encode(7, &tmpl, items, 3, &msg, &len), SMSG_ERR,
	    "a secret batch is not encoded");
	tmpl.op = P11B_OP_SIGN;
	is_int(smsg_batch_encode(7, &tmpl, items, 0, &msg, &len), SMSG_ERR,
	    "an empty batch is not encoded");

	memset(res, 0, sizeof(res));
	res[0].status = P11B_OK;
	res[0].out = (uint8_t *)"sig";
	res[0].outlen = 3;
	res[1].status = P11B_TOO_LARGE;
	res[1].message = "too\nlarge";
	res[2].status = P11B_OK;
	res[2].valid = 1;
	is_int(smsg_batch_result_encode(7, res, 3, &msg, &len), SMSG_OK,
	    "batch result encodes");
	memset(&b, 0, sizeof(b));
	b.n = 3;
	is_int(smsg_batch_result_decode(msg + SMSG_HDR_LEN, len - SMSG_HDR_LEN,
	    2, &b), SMSG_ERR, "a result count that is not the job's refused");
	is_int(smsg_batch_result_decode(msg + SMSG_HDR_LEN, len - SMSG_HDR_LEN,
	    3, &b), SMSG_OK, "batch result decodes");
	ok(b.res[0].status == P11B_OK && b.res[0].outlen == 3 &&
	    memcmp(b.res[0].out, "sig", 3) == 0, "item 1: its signature");
	ok(b.res[1].status == P11B_TOO_LARGE &&
	    strcmp(b.res[1].message, "too?large") == 0,
	    "item 2: its status, the message printable");
	ok(b.res[2].valid == 1 && b.res[2].outlen == 0, "item 3: valid");
	smsg_batch_clear(&b);
	free(msg);
}

int
main(void)
{
	test_header();
	test_job_round_trip();
	test_job_invalid();
	test_result_round_trip();
	test_result_invalid();
	test_hello_round_trip();
	test_hello_invalid();
	test_hello_absent_and_merge();
	test_batch();
	return tap_done();
}
