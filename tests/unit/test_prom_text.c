/*
 * Unit tests for client/prom_text.c (compiled in): the per-token families
 * with two token rows, line for line, and none at all without rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_text.h"
#include "tap.h"

/* The Stats answer written out; malloc'd text. */
static char *
render(const struct p11b_stats *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int r;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	r = prom_write_stats(fp, st);
	if (fclose(fp) != 0 || r != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The lines of text starting with prefix, joined; "" if none. */
static void
lines_with(const char *text, const char *prefix, char *out, size_t outlen)
{
	const char *p, *nl;
	size_t plen = strlen(prefix), n, used = 0;

	out[0] = '\0';
	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		n = (size_t)(nl - p) + 1;
		if (strncmp(p, prefix, plen) == 0 && used + n < outlen) {
			memcpy(out + used, p, n);
			used += n;
			out[used] = '\0';
		}
	}
}

static void
fill(struct p11b_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->token_ready = 1;
	st->signers = 3;
	st->signers_up = 2;
	st->nsigner_slots = 1;
	st->signer_slots[0].up = 1;
}

static void
test_two_tokens(void)
{
	struct p11b_stats st;
	char got[2048], *text;

	fill(&st);
	st.ntokens = 2;
	strlcpy(st.tokens[0].name, "hsm-a", sizeof(st.tokens[0].name));
	st.tokens[0].ready = 1;
	st.tokens[0].signers = 2;
	st.tokens[0].signers_up = 2;
	st.tokens[0].failovers = 0;
	strlcpy(st.tokens[1].name, "backup.hsm_2",
	    sizeof(st.tokens[1].name));
	st.tokens[1].ready = 0;
	st.tokens[1].signers = 1;
	st.tokens[1].signers_up = 0;
	st.tokens[1].pin_refused = 1;
	st.tokens[1].failovers = UINT64_C(18446744073709551615);
	if ((text = render(&st)) == NULL) {
		ok(0, "render two tokens");
		return;
	}
	ok(1, "render two tokens");

	lines_with(text, "p11broker_token_up", got, sizeof(got));
	is_str(got, "p11broker_token_up{token=\"hsm-a\"} 1\n"
	    "p11broker_token_up{token=\"backup.hsm_2\"} 0\n", "token_up");
	lines_with(text, "p11broker_token_signers{", got, sizeof(got));
	is_str(got, "p11broker_token_signers{token=\"hsm-a\"} 2\n"
	    "p11broker_token_signers{token=\"backup.hsm_2\"} 1\n",
	    "token_signers");
	lines_with(text, "p11broker_token_signers_up", got, sizeof(got));
	is_str(got, "p11broker_token_signers_up{token=\"hsm-a\"} 2\n"
	    "p11broker_token_signers_up{token=\"backup.hsm_2\"} 0\n",
	    "token_signers_up");
	lines_with(text, "p11broker_token_pin_refused", got, sizeof(got));
	is_str(got, "p11broker_token_pin_refused{token=\"hsm-a\"} 0\n"
	    "p11broker_token_pin_refused{token=\"backup.hsm_2\"} 1\n",
	    "token_pin_refused");
	lines_with(text, "p11broker_token_failovers_total", got, sizeof(got));
	is_str(got, "p11broker_token_failovers_total{token=\"hsm-a\"} 0\n"
	    "p11broker_token_failovers_total{token=\"backup.hsm_2\"} "
	    "18446744073709551615\n", "token_failovers_total (2^64-1)");

	lines_with(text, "# TYPE p11broker_token_", got, sizeof(got));
	is_str(got, "# TYPE p11broker_token_ready gauge\n"
	    "# TYPE p11broker_token_up gauge\n"
	    "# TYPE p11broker_token_signers gauge\n"
	    "# TYPE p11broker_token_signers_up gauge\n"
	    "# TYPE p11broker_token_pin_refused gauge\n"
	    "# TYPE p11broker_token_failovers_total counter\n",
	    "TYPE lines, once each");
	lines_with(text, "# HELP p11broker_token_up ", got, sizeof(got));
	ok(strchr(got, '\n') == got + strlen(got) - 1,
	    "token_up: one HELP line");
	lines_with(text, "p11broker_signer_up", got, sizeof(got));
	is_str(got, "p11broker_signer_up{slot=\"0\"} 1\n",
	    "the slot series as before");
	free(text);
}

static void
test_no_tokens(void)
{
	struct p11b_stats st;
	char got[2048], *text;

	fill(&st);
	if ((text = render(&st)) == NULL) {
		ok(0, "render without tokens");
		return;
	}
	ok(1, "render without tokens");
	ok(strstr(text, "p11broker_token_up") == NULL &&
	    strstr(text, "p11broker_token_signers") == NULL &&
	    strstr(text, "p11broker_token_pin_refused") == NULL &&
	    strstr(text, "p11broker_token_failovers") == NULL,
	    "no token rows: no per-token family, not even HELP/TYPE");
	lines_with(text, "p11broker_token_ready", got, sizeof(got));
	is_str(got, "p11broker_token_ready 1\n", "token_ready as before");
	free(text);
}

int
main(void)
{
	test_two_tokens();
	test_no_tokens();
	return tap_done();
}
