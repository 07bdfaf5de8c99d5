/*
 * Unit tests for proto/wire_tokens.c: the token rows of Health and Stats
 * both ways, and what the decoder refuses.  Frames a well-behaved encoder
 * cannot make (too many rows, bad names, slot indexes out of range) are
 * packed with protobuf-c directly, as a hostile broker would send them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11broker.pb-c.h"
#include "tap.h"
#include "wire.h"

#define PB(x)	P11broker__V1__##x
#define PBF(x)	p11broker__v1__##x
#define PBC(x)	P11BROKER__V1__##x

static void
set_token(struct p11b_token_health *t, const char *name, int ready,
    unsigned int signers, unsigned int up, int pin_refused,
    uint64_t failovers)
{
	memset(t, 0, sizeof(*t));
	strlcpy(t->name, name, sizeof(t->name));
	t->ready = ready;
	t->signers = signers;
	t->signers_up = up;
	t->pin_refused = pin_refused;
	t->failovers = failovers;
}

/* Encode in, decode into out; 0 or the decoder's error. */
static int
round_trip(const struct wire_response *in, struct wire_response *out)
{
	uint8_t *frame;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = wire_response_encode(in, &frame, &len)) != 0)
		return r;
	r = wire_response_decode(frame + WIRE_HDR_LEN, len - WIRE_HDR_LEN,
	    out);
	free(frame);
	return r;
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
test_health_rows(void)
{
	struct wire_response in, out;

	memset(&in, 0, sizeof(in));
	in.id = 1;
	in.status = P11B_OK;
	in.op = P11B_OP_HEALTH;
	in.health.token_ready = 1;
	in.health.signers = 3;
	in.health.signers_up = 2;
	is_int(round_trip(&in, &out), 0, "health without rows");
	is_int((int)out.health.ntokens, 0, "no rows: ntokens 0");
	is_int((int)out.health.signers, 3, "no rows: signers kept");
	wire_response_free(&out);

	in.health.ntokens = 2;
	set_token(&in.health.tokens[0], "hsm-a", 1, 2, 2, 0, 0);
	set_token(&in.health.tokens[1], "hsm.b_2", 0, 1, 0, 1,
	    UINT64_C(18446744073709551615));
	is_int(round_trip(&in, &out), 0, "health with two rows");
	is_int((int)out.health.ntokens, 2, "two rows decoded");
	ok(same_token(&out.health.tokens[0], &in.health.tokens[0]),
	    "row 0: every field kept");
	ok(same_token(&out.health.tokens[1], &in.health.tokens[1]),
	    "row 1: every field kept (pin refused, failovers 2^64-1)");
	ok(out.health.signers == 3 && out.health.signers_up == 2 &&
	    out.health.token_ready == 1, "health's own fields kept");
	wire_response_free(&out);
}

static void
test_stats_rows(void)
{
	struct wire_response in, out;
	char name[16];
	size_t i;

	memset(&in, 0, sizeof(in));
	in.id = 2;
	in.status = P11B_OK;
	in.op = P11B_OP_STATS;
	in.stats.signers = 3;
	in.stats.signers_up = 3;
	in.stats.nsigner_slots = 3;
	in.stats.signer_slots[0] = (struct p11b_signer_slot){ 0, 1, 0, 1, 0,
	    0, 0 };
	in.stats.signer_slots[1] = (struct p11b_signer_slot){ 1, 1, 0, 1, 0,
	    1, 2 };
	in.stats.signer_slots[2] = (struct p11b_signer_slot){ 2, 1, 0, 5, 4,
	    0, 1 };
	in.stats.ntokens = 3;
	set_token(&in.stats.tokens[0], "primary", 1, 1, 1, 0, 7);
	set_token(&in.stats.tokens[1], "backup", 1, 1, 1, 0, 0);
	set_token(&in.stats.tokens[2], "cold", 0, 1, 0, 1, 0);
	is_int(round_trip(&in, &out), 0, "stats with three rows");
	is_int((int)out.stats.ntokens, 3, "three rows decoded");
	ok(same_token(&out.stats.tokens[0], &in.stats.tokens[0]) &&
	    same_token(&out.stats.tokens[1], &in.stats.tokens[1]) &&
	    same_token(&out.stats.tokens[2], &in.stats.tokens[2]),
	    "stats rows: every field kept");
	ok(out.stats.signer_slots[0].token == 0 &&
	    out.stats.signer_slots[1].token == 2 &&
	    out.stats.signer_slots[2].token == 1, "slot token indexes kept");
	ok(out.stats.signer_slots[2].starts == 5 &&
	    out.stats.signer_slots[2].restarts == 4 &&
	    out.stats.signer_slots[1].busy == 1, "slot fields still kept");
	wire_response_free(&out);

	/* The encoder sends no more than a decoder takes. */
	for (i = 3; i < P11B_TOKENS_MAX; i++) {
		snprintf(name, sizeof(name), "spare%zu", i);
		set_token(&in.stats.tokens[i], name, 1, 1, 1, 0, i);
	}
	in.stats.ntokens = 100;
	in.stats.signer_slots[1].token = 7;
	is_int(round_trip(&in, &out), 0, "ntokens over the bound: encoded");
	is_int((int)out.stats.ntokens, P11B_TOKENS_MAX,
	    "only P11B_TOKENS_MAX rows sent");
	ok(out.stats.signer_slots[1].token == 7 &&
	    strcmp(out.stats.tokens[7].name, "spare7") == 0 &&
	    out.stats.tokens[7].failovers == 7, "the last row and its slot");
	wire_response_free(&out);

	in.stats.ntokens = 0;
	in.stats.signer_slots[1].token = 0;
	in.stats.signer_slots[2].token = 0;
	is_int(round_trip(&in, &out), 0, "stats without rows");
	is_int((int)out.stats.ntokens, 0, "no rows: ntokens 0");
	wire_response_free(&out);
}

/* A hostile Health or Stats answer, packed by hand. */
struct hostile {
	PB(TokenHealth)	 rows[P11B_TOKENS_MAX + 2];
	PB(TokenHealth)	*ptrs[P11B_TOKENS_MAX + 2];
	char		 names[P11B_TOKENS_MAX + 2][16];
	PB(SignerSlot)	 slots[2];
	PB(SignerSlot)	*sptrs[2];
	PB(HealthResponse) health;
	PB(StatsResponse) stats;
	uint64_t	 count;		/* the one latency count */
};

static void
hostile_init(struct hostile *h, size_t nrows)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < P11B_TOKENS_MAX + 2; i++) {
		PBF(token_health__init)(&h->rows[i]);
		snprintf(h->names[i], sizeof(h->names[i]), "tok%zu", i);
		h->rows[i].name = h->names[i];
		h->ptrs[i] = &h->rows[i];
	}
	for (i = 0; i < 2; i++) {
		PBF(signer_slot__init)(&h->slots[i]);
		h->slots[i].slot = (uint32_t)i;
		h->sptrs[i] = &h->slots[i];
	}
	PBF(health_response__init)(&h->health);
	h->health.n_tokens = nrows;
	h->health.tokens = h->ptrs;
	PBF(stats_response__init)(&h->stats);
	h->stats.n_latency_count = 1;
	h->stats.latency_count = &h->count;
	h->stats.n_tokens = nrows;
	h->stats.tokens = h->ptrs;
	h->stats.n_signer_slots = 2;
	h->stats.signer_slots = h->sptrs;
}

/* Pack it as the answer to a health (stats 0) or stats request; decode. */
static int
hostile_decode(struct hostile *h, int stats)
{
	PB(Response) m = PBC(RESPONSE__INIT);
	struct wire_response out;
	uint8_t *buf;
	size_t len;
	int r;

	m.id = 9;
	m.status = PBC(STATUS__OK);
	if (stats) {
		m.result_case = PBC(RESPONSE__RESULT_STATS);
		m.stats = &h->stats;
	} else {
		m.result_case = PBC(RESPONSE__RESULT_HEALTH);
		m.health = &h->health;
	}
	len = PBF(response__get_packed_size)(&m);
	if ((buf = malloc(len)) == NULL)
		return -100;
	PBF(response__pack)(&m, buf);
	r = wire_response_decode(buf, len, &out);
	wire_response_free(&out);
	free(buf);
	return r;
}

static void
test_hostile(void)
{
	char longname[P11B_KEY_NAME_MAX + 2];
	struct hostile h;
	int stats;

	for (stats = 0; stats <= 1; stats++) {
		hostile_init(&h, P11B_TOKENS_MAX);
		is_int(hostile_decode(&h, stats), 0, "%s: %d rows taken",
		    stats ? "stats" : "health", P11B_TOKENS_MAX);
		hostile_init(&h, P11B_TOKENS_MAX + 1);
		is_int(hostile_decode(&h, stats), WIRE_ERR_INVALID,
		    "%s: %d rows refused", stats ? "stats" : "health",
		    P11B_TOKENS_MAX + 1);

		hostile_init(&h, 2);
		h.rows[1].name = "bad name";
		is_int(hostile_decode(&h, stats), WIRE_ERR_INVALID,
		    "%s: a name with a space refused",
		    stats ? "stats" : "health");
		h.rows[1].name = "";
		is_int(hostile_decode(&h, stats), WIRE_ERR_INVALID,
		    "%s: an empty name refused", stats ? "stats" : "health");
		h.rows[1].name = "a\"b";
		is_int(hostile_decode(&h, stats), WIRE_ERR_INVALID,
		    "%s: a quote (label injection) refused",
		    stats ? "stats" : "health");
		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		h.rows[1].name = longname;
		is_int(hostile_decode(&h, stats), WIRE_ERR_INVALID,
		    "%s: a name of %d bytes refused",
		    stats ? "stats" : "health", P11B_KEY_NAME_MAX + 1);
		longname[P11B_KEY_NAME_MAX] = '\0';
		is_int(hostile_decode(&h, stats), 0,
		    "%s: a name of %d bytes taken",
		    stats ? "stats" : "health", P11B_KEY_NAME_MAX);
		h.rows[1].name = "tok0";
		is_int(hostile_decode(&h, stats), WIRE_ERR_INVALID,
		    "%s: a name twice refused", stats ? "stats" : "health");
	}

	hostile_init(&h, 2);
	h.slots[1].token = 1;
	is_int(hostile_decode(&h, 1), 0, "slot token 1 of 2 taken");
	h.slots[1].token = 2;
	is_int(hostile_decode(&h, 1), WIRE_ERR_INVALID,
	    "slot token 2 of 2 refused");
	h.slots[1].token = UINT32_MAX;
	is_int(hostile_decode(&h, 1), WIRE_ERR_INVALID,
	    "slot token 2^32-1 refused");
	hostile_init(&h, 0);
	is_int(hostile_decode(&h, 1), 0, "no rows, slot tokens 0: taken");
	h.slots[0].token = 1;
	is_int(hostile_decode(&h, 1), WIRE_ERR_INVALID,
	    "no rows, slot token 1 refused");
}

int
main(void)
{
	test_health_rows();
	test_stats_rows();
	test_hostile();
	return tap_done();
}
