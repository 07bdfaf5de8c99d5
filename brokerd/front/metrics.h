/*
 * Counters for the Stats request: requests by operation, key and status,
 * and a latency histogram.  Only the event loop touches them.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"

struct p11b_stats;	/* the Stats answer, proto/wire.h */

struct metrics;

struct metrics *metrics_new(const struct key_info *keys, size_t nkeys);
/* Re-key after a reload: counts of keys that keep their name are kept. */
int	metrics_rekey(struct metrics *m, const struct key_info *keys,
	    size_t nkeys);
void	metrics_free(struct metrics *m);
/* key: index into the current keys, -1 for none. */
void	metrics_count(struct metrics *m, enum p11b_op op, int key,
	    int status, uint64_t latency_us);
/* A batch: each item counted by its own status, its latency once. */
void	metrics_count_batch(struct metrics *m, enum p11b_op op, int key,
	    const int *status, size_t n, uint64_t latency_us);
/*
 * Why a refusal, which the client cannot tell (no-such-key or denied
 * either way): the policy said no (a hidden key included), or the key
 * does not exist.  Only Stats shows it, and without the key's name.
 */
enum metrics_refusal {
	METRICS_REFUSED_BY_POLICY,
	METRICS_REFUSED_NO_KEY,
	METRICS_REFUSAL_COUNT
};
void	metrics_count_refusal(struct metrics *m, enum metrics_refusal why);
/*
 * A request's caller: its uid's row when the policy names it (known),
 * else the row of all unknown callers.
 */
void	metrics_count_caller(struct metrics *m, uint32_t uid, int known,
	    int status);
/*
 * The one place daemon counters become the wire's Stats answer: fill its
 * counter part (requests is malloc'd).
 */
int	metrics_export(const struct metrics *m, struct p11b_stats *st);

#endif /* METRICS_H */
