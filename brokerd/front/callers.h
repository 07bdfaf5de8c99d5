/*
 * What the front keeps per calling uid: its connections (for the per-uid
 * limit), and for callers the policy does not know a token bucket (their
 * requests are throttled) and the count of refusals not yet summed up in
 * the audit log (one line per caller and interval, p11broker-audit(5)).
 */
#ifndef CALLERS_H
#define CALLERS_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <time.h>

struct audit;

struct caller {
	TAILQ_ENTRY(caller)	 entry;
	uid_t			 uid;
	int			 nconns;	/* open now */
	size_t			 buffered;	/* bytes its connections hold */
	double			 tokens;	/* unknown callers: requests */
	uint64_t		 last_ns;	/* tokens added up to then */
	time_t			 since;		/* interval open; 0: none */
	uint64_t		 counted;	/* refusals not logged alone */
};

TAILQ_HEAD(callerlist, caller);

/* The entry of uid, made when there is none; NULL when out of memory. */
struct caller *caller_get(struct callerlist *list, uid_t uid);
/* A connection of the caller closed; the entry goes once nothing is left. */
void	caller_put(struct callerlist *list, struct caller *cl);
/* An unknown caller's request may be read now (rate per second). */
int	caller_take(struct caller *cl, unsigned int rate, uint64_t now_ns);
/*
 * An unknown caller is refused: 1 when this refusal opens an interval
 * and is logged in full, 0 when it is only counted.
 */
int	caller_refused(struct caller *cl, time_t now);
/*
 * Sum up the intervals that ended (all of them when final): one audit
 * line per caller with refusals counted.
 */
void	callers_sweep(struct callerlist *list, struct audit *a,
	    unsigned int interval, time_t now, int final);

#endif /* CALLERS_H */
