/*
 * White-box tests of brokerd/front/metrics.c's requests by caller: a row
 * per named uid up to P11B_CALLERS_MAX, then "other"; every unknown
 * caller in one row however many uids; results by status class; rows in
 * Stats in the order first seen, unknown and other last.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../brokerd/front/metrics.c"
#include "tap.h"

static const struct p11b_caller_count *
row_of(const struct p11b_stats *st, int kind, uint32_t uid)
{
	size_t i;

	for (i = 0; i < st->ncallers; i++)
		if (st->callers[i].kind == kind &&
		    (kind != P11B_CALLER_UID || st->callers[i].uid == uid))
			return &st->callers[i];
	return NULL;
}

static void
test_callers(void)
{
	struct metrics *m;
	struct p11b_stats st;
	const struct p11b_caller_count *cc;
	uint32_t uid;

	m = metrics_new(NULL, 0);
	ok(m != NULL, "metrics_new");
	if (m == NULL)
		return;
	metrics_count_caller(m, 1000, 1, P11B_OK);
	metrics_count_caller(m, 1000, 1, P11B_DENIED);
	metrics_count_caller(m, 1000, 1, P11B_NO_SUCH_KEY);
	metrics_count_caller(m, 1000, 1, P11B_RATE_LIMITED);
	metrics_count_caller(m, 1000, 1, P11B_TOO_LARGE);
	metrics_count_caller(m, 1000, 1, P11B_TOKEN_UNAVAILABLE);
	/* 10000 unknown uids: one row. */
	for (uid = 50000; uid < 60000; uid++)
		metrics_count_caller(m, uid, 0, P11B_NO_SUCH_KEY);
	/* Named uids past the bound go to "other". */
	for (uid = 1; uid <= P11B_CALLERS_MAX + 5; uid++)
		metrics_count_caller(m, uid + 2000, 1, P11B_OK);
	memset(&st, 0, sizeof(st));
	ok(metrics_export(m, &st) == 0, "export");
	is_int(st.ncallers, P11B_CALLERS_MAX + 2,
	    "rows: the bound of named uids, unknown, other");
	cc = row_of(&st, P11B_CALLER_UID, 1000);
	ok(cc != NULL && cc->ok == 1 && cc->refused == 3 && cc->failed == 2,
	    "uid 1000: ok 1, refused 3 (denied, no-such-key, rate-limited), "
	    "failed 2");
	ok(st.callers[0].kind == P11B_CALLER_UID && st.callers[0].uid == 1000,
	    "rows in the order first seen");
	cc = row_of(&st, P11B_CALLER_UNKNOWN, 0);
	ok(cc != NULL && cc->refused == 10000 && cc->ok == 0,
	    "10000 unknown uids: one row with 10000 refusals");
	cc = row_of(&st, P11B_CALLER_OTHER, 0);
	ok(cc != NULL && cc->ok == 6,
	    "named uids past the bound: 6 in \"other\"");
	ok(row_of(&st, P11B_CALLER_UID, 50000) == NULL,
	    "an unknown uid has no row of its own");
	free(st.requests);
	free(st.callers);
	metrics_free(m);
}

int
main(void)
{
	test_callers();
	return tap_done();
}
