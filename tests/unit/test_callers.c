/*
 * White-box tests of brokerd/front/callers.c: the per-uid entries, the
 * token bucket of callers the policy does not know, and the intervals of
 * their refusals (the audit line is recorded by a stand-in).
 */
#include <stdint.h>

#include "../../brokerd/front/callers.c"
#include "tap.h"

static int nsummaries;
static uint32_t last_uid;
static uint64_t last_count;

void
audit_refusals(struct audit *a, uint32_t uid, uint64_t count, time_t since,
    time_t until)
{
	(void)a;
	(void)since;
	(void)until;
	nsummaries++;
	last_uid = uid;
	last_count = count;
}

static void
test_entries(void)
{
	struct callerlist list;
	struct caller *a, *b;

	TAILQ_INIT(&list);
	a = caller_get(&list, 1000);
	ok(a != NULL && a->uid == 1000, "an entry for uid 1000");
	a->nconns++;
	b = caller_get(&list, 1000);
	ok(a == b, "the same entry for the same uid");
	b->nconns++;
	caller_put(&list, a);
	ok(TAILQ_FIRST(&list) == a, "kept while a connection is open");
	caller_put(&list, a);
	ok(TAILQ_EMPTY(&list), "gone with the last connection");
}

static void
test_bucket(void)
{
	struct callerlist list;
	struct caller *c;
	uint64_t t = 1000000000ULL;
	int i, n = 0;

	TAILQ_INIT(&list);
	c = caller_get(&list, 65534);
	for (i = 0; i < 100; i++)
		n += caller_take(c, 5, t);
	is_int(n, 5, "rate 5: a burst of 5 at once");
	is_int(caller_take(c, 5, t + 100000000ULL), 0,
	    "100 ms later: none yet");
	is_int(caller_take(c, 5, t + 200000000ULL), 1,
	    "200 ms later: one more");
	for (i = 0, n = 0; i < 100; i++)
		n += caller_take(c, 5, t + 60000000000ULL);
	is_int(n, 5, "a minute later: still only a burst of 5");
	c->nconns = 1;
	caller_put(&list, c);
}

static void
test_intervals(void)
{
	struct callerlist list;
	struct caller *c;
	int i, full = 0;

	TAILQ_INIT(&list);
	c = caller_get(&list, 65534);
	c->nconns = 1;
	for (i = 0; i < 1000; i++)
		full += caller_refused(c, 100);
	is_int(full, 1, "1000 refusals: the first logged in full");
	callers_sweep(&list, NULL, 60, 159, 0);
	is_int(nsummaries, 0, "no summary before the interval ends");
	callers_sweep(&list, NULL, 60, 160, 0);
	ok(nsummaries == 1 && last_uid == 65534 && last_count == 999,
	    "one summary line with the other 999");
	is_int(caller_refused(c, 161), 1, "the next refusal opens a new one");
	callers_sweep(&list, NULL, 60, 221, 0);
	is_int(nsummaries, 1, "an interval with one refusal: no summary");
	caller_refused(c, 300);
	caller_refused(c, 300);
	caller_put(&list, c);
	ok(!TAILQ_EMPTY(&list), "closed, but kept until its summary");
	callers_sweep(&list, NULL, 60, 301, 1);
	ok(nsummaries == 2 && last_count == 1, "at stop: the summary of 1");
	ok(TAILQ_EMPTY(&list), "then the entry goes");
}

int
main(void)
{
	test_entries();
	test_bucket();
	test_intervals();
	return tap_done();
}
