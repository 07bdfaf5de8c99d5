/*
 * The summary line of an unknown caller's refusals (callers.c): the
 * first refusal of an interval has its own decision line, the others of
 * the interval are counted and written here as one event line,
 * p11broker-audit(5).  A caller the policy does not know cannot fill
 * the disk with refusals.
 */
#include "audit_int.h"

void
audit_refusals(struct audit *a, uint32_t uid, uint64_t count, time_t since,
    time_t until)
{
	struct audit_buf *ab;

	if (a == NULL)
		return;
	ab = audit_begin(a, "event");
	audit_line_str(ab, "event", "refusals");
	audit_line_num(ab, "uid", uid);
	audit_line_num(ab, "count", count);
	audit_line_num(ab, "seconds", (uint64_t)(until > since ?
	    until - since : 0));
	(void)audit_end(a, 0);
}
