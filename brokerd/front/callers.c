/* Per-uid state of the callers (callers.h). */
#include <stdlib.h>

#include "audit.h"
#include "callers.h"

struct caller *
caller_get(struct callerlist *list, uid_t uid)
{
	struct caller *cl;

	TAILQ_FOREACH(cl, list, entry)
		if (cl->uid == uid)
			return cl;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->uid = uid;
	cl->tokens = -1;		/* full at the first request */
	TAILQ_INSERT_TAIL(list, cl, entry);
	return cl;
}

static void
caller_gc(struct callerlist *list, struct caller *cl)
{
	if (cl->nconns > 0 || cl->since != 0)
		return;
	TAILQ_REMOVE(list, cl, entry);
	free(cl);
}

void
caller_put(struct callerlist *list, struct caller *cl)
{
	cl->nconns--;
	caller_gc(list, cl);
}

/*
 * A token bucket: rate requests a second, at most rate stored (a burst
 * of one second).  A caller that reconnects keeps its bucket as long as
 * one of its connections or its refusal interval lives.
 */
int
caller_take(struct caller *cl, unsigned int rate, uint64_t now_ns)
{
	if (cl->tokens < 0) {
		cl->tokens = rate;
		cl->last_ns = now_ns;
	}
	if (now_ns > cl->last_ns) {
		cl->tokens += (double)(now_ns - cl->last_ns) * rate / 1e9;
		if (cl->tokens > rate)
			cl->tokens = rate;
		cl->last_ns = now_ns;
	}
	if (cl->tokens < 1)
		return 0;
	cl->tokens -= 1;
	return 1;
}

int
caller_refused(struct caller *cl, time_t now)
{
	if (cl->since == 0) {
		cl->since = now;
		return 1;
	}
	cl->counted++;
	return 0;
}

void
callers_sweep(struct callerlist *list, struct audit *a,
    unsigned int interval, time_t now, int final)
{
	struct caller *cl, *next;

	for (cl = TAILQ_FIRST(list); cl != NULL; cl = next) {
		next = TAILQ_NEXT(cl, entry);
		if (cl->since == 0 ||
		    (!final && now - cl->since < (time_t)interval))
			continue;
		if (cl->counted > 0)
			audit_refusals(a, cl->uid, cl->counted, cl->since,
			    now);
		cl->since = 0;
		cl->counted = 0;
		caller_gc(list, cl);
	}
}
