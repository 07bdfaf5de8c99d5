/*
 * The token rows of the Health and Stats answers (proto/README.md, "Token
 * rows"): one per token block of the broker's config, and in Stats the
 * token each signer slot belongs to.  Rows come from the broker, so the
 * decoder bounds them: at most P11B_TOKENS_MAX, names of the key name
 * charset and unique (they become metric labels), slot indexes in range.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "p11broker.pb-c.h"
#include "wire.h"

#define PB(x)	P11broker__V1__##x		/* types */
#define PBF(x)	p11broker__v1__##x		/* functions */

/* What an encoder points the protobuf message at, freed after packing. */
struct wire_token_store {
	PB(TokenHealth)	 rows[P11B_TOKENS_MAX];
	PB(TokenHealth)	*ptrs[P11B_TOKENS_MAX];
};

/* Rows beyond P11B_TOKENS_MAX are not sent: a decoder would refuse them. */
static int
encode_rows(const struct p11b_token_health *th, size_t n, size_t *np,
    PB(TokenHealth) ***ptrsp, struct wire_token_store **storep)
{
	struct wire_token_store *st;
	size_t i;

	*storep = NULL;
	*np = 0;
	*ptrsp = NULL;
	if (n == 0)
		return 0;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return WIRE_ERR_NOMEM;
	for (i = 0; i < n && i < P11B_TOKENS_MAX; i++) {
		PBF(token_health__init)(&st->rows[i]);
		st->rows[i].name = (char *)th[i].name;
		st->rows[i].ready = th[i].ready != 0;
		st->rows[i].signers = th[i].signers;
		st->rows[i].signers_up = th[i].signers_up;
		st->rows[i].pin_refused = th[i].pin_refused != 0;
		st->rows[i].failovers = th[i].failovers;
		st->ptrs[i] = &st->rows[i];
	}
	*np = i;
	*ptrsp = st->ptrs;
	*storep = st;
	return 0;
}

static int
decode_rows(PB(TokenHealth) *const *rows, size_t n,
    struct p11b_token_health *th, size_t *np)
{
	const char *name;
	size_t i, j, len;

	if (n > P11B_TOKENS_MAX)
		return WIRE_ERR_INVALID;
	for (i = 0; i < n; i++) {
		name = rows[i]->name != NULL ? rows[i]->name : "";
		len = strlen(name);
		if (!wire_key_name_valid(name, len))
			return WIRE_ERR_INVALID;
		for (j = 0; j < i; j++)
			if (strcmp(th[j].name, name) == 0)
				return WIRE_ERR_INVALID;
		memcpy(th[i].name, name, len + 1);
		th[i].ready = rows[i]->ready != 0;
		th[i].signers = rows[i]->signers;
		th[i].signers_up = rows[i]->signers_up;
		th[i].pin_refused = rows[i]->pin_refused != 0;
		th[i].failovers = rows[i]->failovers;
	}
	*np = n;
	return 0;
}

int
wire_health_tokens_encode(const struct p11b_health *h, void *pbhealth,
    struct wire_token_store **storep)
{
	PB(HealthResponse) *m = pbhealth;

	return encode_rows(h->tokens, h->ntokens, &m->n_tokens, &m->tokens,
	    storep);
}

int
wire_stats_tokens_encode(const struct p11b_stats *st, void *pbstats,
    struct wire_token_store **storep)
{
	PB(StatsResponse) *m = pbstats;

	return encode_rows(st->tokens, st->ntokens, &m->n_tokens, &m->tokens,
	    storep);
}

int
wire_health_tokens_decode(const void *pbhealth, struct p11b_health *h)
{
	const PB(HealthResponse) *m = pbhealth;

	return decode_rows(m->tokens, m->n_tokens, h->tokens, &h->ntokens);
}

/*
 * After the slots: each names its token by index into the rows; without
 * rows (one token, an older broker) the index is 0.
 */
int
wire_stats_tokens_decode(const void *pbstats, struct p11b_stats *st)
{
	const PB(StatsResponse) *m = pbstats;
	size_t i;
	int r;

	if ((r = decode_rows(m->tokens, m->n_tokens, st->tokens,
	    &st->ntokens)) != 0)
		return r;
	for (i = 0; i < st->nsigner_slots; i++)
		if (st->ntokens > 0 ? st->signer_slots[i].token >= st->ntokens :
		    st->signer_slots[i].token != 0)
			return WIRE_ERR_INVALID;
	return 0;
}

void
wire_token_store_free(struct wire_token_store *st)
{
	free(st);
}
