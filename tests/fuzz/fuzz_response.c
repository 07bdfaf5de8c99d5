/*
 * Fuzz target for what the client library runs on broker bytes: the input
 * is one Response frame body.  A response that decodes must satisfy the
 * decoder's promises, and encoding it again must give a frame that
 * decodes to the same response.
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

/* What wire_response_decode() promises about a response it accepted. */
static void
check_response(const struct wire_response *resp)
{
	size_t i;

	FUZZ_ASSERT(resp->status >= 0 && resp->status < P11B_STATUS_COUNT);
	FUZZ_ASSERT((resp->status == P11B_OK) == (resp->op != P11B_OP_NONE ||
	    resp->batch != NULL));
	FUZZ_ASSERT(resp->batch == NULL || (resp->op == P11B_OP_NONE &&
	    (resp->batch->n == 0 || resp->batch->results != NULL)));
	for (i = 0; resp->batch != NULL && i < resp->batch->n; i++) {
		const struct wire_batch_result *r = &resp->batch->results[i];

		FUZZ_ASSERT(r->status >= 0 && r->status < P11B_STATUS_COUNT);
		FUZZ_ASSERT(r->message != NULL);
		FUZZ_ASSERT(r->status == P11B_OK || (r->outlen == 0 &&
		    !r->valid));
	}
	FUZZ_ASSERT(resp->op >= P11B_OP_NONE && resp->op < P11B_OP_COUNT);
	FUZZ_ASSERT(resp->message != NULL);
	FUZZ_ASSERT(resp->outlen == 0 || resp->out != NULL);
	FUZZ_ASSERT(resp->certlen == 0 || resp->cert != NULL);
	FUZZ_ASSERT(resp->op == P11B_OP_PUBKEY || resp->certlen == 0);
	/* A generated key comes back as the one entry of the key list. */
	FUZZ_ASSERT(resp->op == P11B_OP_LIST || resp->nkeys == 0 ||
	    (resp->op == P11B_OP_GENERATE && resp->nkeys == 1));
	FUZZ_ASSERT(resp->nkeys == 0 || resp->keys != NULL);
	FUZZ_ASSERT(memchr(resp->health.version, '\0',
	    sizeof(resp->health.version)) != NULL);
	for (i = 0; i < resp->nkeys; i++) {
		const struct p11b_key_info *k = &resp->keys[i];

		FUZZ_ASSERT(wire_key_name_valid(k->name,
		    strnlen(k->name, sizeof(k->name))));
		FUZZ_ASSERT(k->type > P11B_KEY_NONE &&
		    k->type < P11B_KEY_TYPE_COUNT);
		FUZZ_ASSERT((k->ops & ~((1U << P11B_OP_COUNT) - 2)) == 0);
		FUZZ_ASSERT((k->algs & ~((1U << P11B_ALG_COUNT) - 2)) == 0);
		FUZZ_ASSERT(k->idlen <= P11B_ID_MAX);
		FUZZ_ASSERT(memchr(k->label, '\0', sizeof(k->label)) != NULL);
		FUZZ_ASSERT(k->identitylen == 0 ||
		    k->identitylen == P11B_IDENTITY_LEN);
	}
	FUZZ_ASSERT(resp->op == P11B_OP_PUBKEY || (resp->chainlen == 0 &&
	    resp->identitylen == 0));
	FUZZ_ASSERT(resp->identitylen == 0 ||
	    resp->identitylen == P11B_IDENTITY_LEN);
}

/* Token rows: bounded, names usable as labels, slot indexes in range. */
static void
check_tokens(const struct p11b_token_health *t, size_t n)
{
	size_t i, j;

	FUZZ_ASSERT(n <= P11B_TOKENS_MAX);
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(wire_key_name_valid(t[i].name,
		    strnlen(t[i].name, sizeof(t[i].name))));
		FUZZ_ASSERT(t[i].ready == 0 || t[i].ready == 1);
		FUZZ_ASSERT(t[i].pin_refused == 0 || t[i].pin_refused == 1);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(t[i].name, t[j].name) != 0);
	}
}

static void
check_stats_tokens(const struct wire_response *resp)
{
	const struct p11b_stats *st = &resp->stats;
	size_t i;

	check_tokens(resp->health.tokens, resp->health.ntokens);
	check_tokens(st->tokens, st->ntokens);
	FUZZ_ASSERT(resp->op == P11B_OP_HEALTH || resp->health.ntokens == 0);
	FUZZ_ASSERT(resp->op == P11B_OP_STATS || st->ntokens == 0);
	FUZZ_ASSERT(st->nsigner_slots <= P11B_SIGNERS_MAX);
	for (i = 0; i < st->nsigner_slots; i++)
		FUZZ_ASSERT(st->ntokens > 0 ?
		    st->signer_slots[i].token < st->ntokens :
		    st->signer_slots[i].token == 0);
}

static int
same_token(const struct p11b_token_health *a,
    const struct p11b_token_health *b)
{
	return strcmp(a->name, b->name) == 0 && a->ready == b->ready &&
	    a->signers == b->signers && a->signers_up == b->signers_up &&
	    a->pin_refused == b->pin_refused && a->failovers == b->failovers;
}

static void
compare_tokens(const struct wire_response *a, const struct wire_response *b)
{
	size_t i;

	FUZZ_ASSERT(a->health.ntokens == b->health.ntokens);
	for (i = 0; i < a->health.ntokens; i++)
		FUZZ_ASSERT(same_token(&a->health.tokens[i],
		    &b->health.tokens[i]));
	FUZZ_ASSERT(a->stats.ntokens == b->stats.ntokens);
	for (i = 0; i < a->stats.ntokens; i++)
		FUZZ_ASSERT(same_token(&a->stats.tokens[i],
		    &b->stats.tokens[i]));
	FUZZ_ASSERT(a->stats.nsigner_slots == b->stats.nsigner_slots);
	for (i = 0; i < a->stats.nsigner_slots; i++)
		FUZZ_ASSERT(a->stats.signer_slots[i].token ==
		    b->stats.signer_slots[i].token);
}

static void
compare_keys(const struct wire_response *a, const struct wire_response *b)
{
	size_t i;

	FUZZ_ASSERT(a->nkeys == b->nkeys);
	for (i = 0; i < a->nkeys; i++) {
		FUZZ_ASSERT(strcmp(a->keys[i].name, b->keys[i].name) == 0);
		FUZZ_ASSERT(a->keys[i].type == b->keys[i].type);
		FUZZ_ASSERT(a->keys[i].bits == b->keys[i].bits);
		FUZZ_ASSERT(a->keys[i].ops == b->keys[i].ops);
		FUZZ_ASSERT(a->keys[i].algs == b->keys[i].algs);
		FUZZ_ASSERT(same_bytes(a->keys[i].id, a->keys[i].idlen,
		    b->keys[i].id, b->keys[i].idlen));
		FUZZ_ASSERT(strcmp(a->keys[i].label, b->keys[i].label) == 0);
		FUZZ_ASSERT(a->keys[i].local == b->keys[i].local);
		FUZZ_ASSERT(same_bytes(a->keys[i].identity,
		    a->keys[i].identitylen, b->keys[i].identity,
		    b->keys[i].identitylen));
	}
}

static void
compare_batch(const struct wire_response *a, const struct wire_response *b)
{
	const struct wire_batch_result *ra, *rb;
	size_t i;

	FUZZ_ASSERT((a->batch == NULL) == (b->batch == NULL));
	if (a->batch == NULL)
		return;
	FUZZ_ASSERT(a->batch->n == b->batch->n);
	for (i = 0; i < a->batch->n; i++) {
		ra = &a->batch->results[i];
		rb = &b->batch->results[i];
		FUZZ_ASSERT(ra->status == rb->status && ra->valid == rb->valid);
		FUZZ_ASSERT(strcmp(ra->message, rb->message) == 0);
		FUZZ_ASSERT(same_bytes(ra->out, ra->outlen, rb->out,
		    rb->outlen));
	}
}

static void
round_trip(const struct wire_response *resp)
{
	struct wire_response again;
	uint8_t *frame = NULL;
	size_t len;

	FUZZ_ASSERT(wire_response_encode(resp, &frame, &len) == 0);
	FUZZ_ASSERT(len > WIRE_HDR_LEN);
	FUZZ_ASSERT(wire_frame_len(frame, len) == (long)(len - WIRE_HDR_LEN));
	FUZZ_ASSERT(wire_response_decode(frame + WIRE_HDR_LEN,
	    len - WIRE_HDR_LEN, &again) == 0);
	FUZZ_ASSERT(again.id == resp->id);
	FUZZ_ASSERT(again.status == resp->status);
	FUZZ_ASSERT(strcmp(again.message, resp->message) == 0);
	FUZZ_ASSERT(again.op == resp->op);
	FUZZ_ASSERT(same_bytes(again.out, again.outlen, resp->out,
	    resp->outlen));
	FUZZ_ASSERT(same_bytes(again.cert, again.certlen, resp->cert,
	    resp->certlen));
	FUZZ_ASSERT(same_bytes(again.chain, again.chainlen, resp->chain,
	    resp->chainlen));
	FUZZ_ASSERT(same_bytes(again.identity, again.identitylen,
	    resp->identity, resp->identitylen));
	FUZZ_ASSERT(again.valid == resp->valid);
	compare_keys(&again, resp);
	compare_batch(&again, resp);
	compare_tokens(&again, resp);
	FUZZ_ASSERT(strcmp(again.health.version, resp->health.version) == 0);
	FUZZ_ASSERT(again.health.token_ready == resp->health.token_ready);
	FUZZ_ASSERT(again.health.uptime_seconds ==
	    resp->health.uptime_seconds);
	FUZZ_ASSERT(again.health.workers == resp->health.workers);
	wire_response_free(&again);
	free(frame);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_response resp;

	/* The client reads at most this much and never an empty frame. */
	if (size == 0 || size > WIRE_CLIENT_MAX_FRAME)
		return 0;
	if (wire_response_decode(data, size, &resp) == 0) {
		check_response(&resp);
		check_stats_tokens(&resp);
		round_trip(&resp);
	}
	wire_response_free(&resp);
	FUZZ_ASSERT(resp.msg == NULL && resp.keys_owned == NULL &&
	    resp.chain_owned == NULL && resp.batch_owned == NULL);
	return 0;
}
