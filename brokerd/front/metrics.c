/*
 * Request counters.  One row per key (row 0: no key), one cell per
 * (operation, status); a fixed latency histogram.  A reload maps rows by
 * key name, so counters survive a change of key order.  Requests by
 * caller: a row per uid the policy names, at most P11B_CALLERS_MAX (then
 * one "other" row), and one row for all callers it does not name, so
 * that a flood of unknown uids cannot grow the table.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "wire.h"

static const uint64_t bucket_us[] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 5000000
};
#define NBUCKETS	(sizeof(bucket_us) / sizeof(bucket_us[0]))

struct metrics_row {
	char		 key[P11B_KEY_NAME_MAX + 1];
	uint64_t	 n[P11B_OP_COUNT][P11B_STATUS_COUNT];
};

struct metrics_caller {
	uint32_t	 uid;
	uint64_t	 n[3];		/* ok, refused, failed */
};

struct metrics {
	struct metrics_row	*rows;		/* nrows = nkeys + 1 */
	size_t			 nrows;
	struct metrics_caller	 callers[P11B_CALLERS_MAX];
	size_t			 ncallers;
	struct metrics_caller	 unknown;	/* callers no rule names */
	struct metrics_caller	 other;		/* named, past the bound */
	uint64_t		 buckets[NBUCKETS + 1];
	uint64_t		 sum_us;
	uint64_t		 refusals[METRICS_REFUSAL_COUNT];
};

static struct metrics_row *
rows_new(const struct key_info *keys, size_t nkeys)
{
	struct metrics_row *rows;
	size_t i;

	if ((rows = calloc(nkeys + 1, sizeof(*rows))) == NULL)
		return NULL;
	/* A key's older versions (adjacent, same name) count as it does. */
	for (i = 0; i < nkeys; i++)
		if (i == 0 || strcmp(keys[i].name, keys[i - 1].name) != 0)
			strlcpy(rows[i + 1].key, keys[i].name,
			    sizeof(rows[i + 1].key));
	return rows;
}

struct metrics *
metrics_new(const struct key_info *keys, size_t nkeys)
{
	struct metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->rows = rows_new(keys, nkeys)) == NULL) {
		free(m);
		return NULL;
	}
	m->nrows = nkeys + 1;
	return m;
}

int
metrics_rekey(struct metrics *m, const struct key_info *keys, size_t nkeys)
{
	struct metrics_row *rows;
	size_t i, j;

	if ((rows = rows_new(keys, nkeys)) == NULL)
		return -1;
	memcpy(rows[0].n, m->rows[0].n, sizeof(rows[0].n));
	for (i = 1; i < nkeys + 1; i++)
		for (j = 1; j < m->nrows; j++)
			if (strcmp(rows[i].key, m->rows[j].key) == 0)
				memcpy(rows[i].n, m->rows[j].n,
				    sizeof(rows[i].n));
	free(m->rows);
	m->rows = rows;
	m->nrows = nkeys + 1;
	return 0;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->rows);
	free(m);
}

void
metrics_count(struct metrics *m, enum p11b_op op, int key, int status,
    uint64_t latency_us)
{
	size_t row = key < 0 ? 0 : (size_t)key + 1, b;

	if (row < m->nrows && (unsigned int)op < P11B_OP_COUNT &&
	    status >= 0 && status < P11B_STATUS_COUNT)
		m->rows[row].n[op][status]++;
	for (b = 0; b < NBUCKETS && latency_us > bucket_us[b]; b++)
		;
	m->buckets[b]++;
	m->sum_us += latency_us;
}

void
metrics_count_batch(struct metrics *m, enum p11b_op op, int key,
    const int *status, size_t n, uint64_t latency_us)
{
	size_t row = key < 0 ? 0 : (size_t)key + 1, b, i;

	for (i = 0; i < n; i++)
		if (row < m->nrows && (unsigned int)op < P11B_OP_COUNT &&
		    status[i] >= 0 && status[i] < P11B_STATUS_COUNT)
			m->rows[row].n[op][status[i]]++;
	for (b = 0; b < NBUCKETS && latency_us > bucket_us[b]; b++)
		;
	m->buckets[b]++;
	m->sum_us += latency_us;
}

void
metrics_count_caller(struct metrics *m, uint32_t uid, int known, int status)
{
	struct metrics_caller *row = NULL;
	size_t i;
	int cls;

	if (status == P11B_OK)
		cls = 0;
	else if (status == P11B_DENIED || status == P11B_NO_SUCH_KEY ||
	    status == P11B_RATE_LIMITED)
		cls = 1;
	else
		cls = 2;
	if (!known)
		row = &m->unknown;
	for (i = 0; row == NULL && i < m->ncallers; i++)
		if (m->callers[i].uid == uid)
			row = &m->callers[i];
	if (row == NULL && m->ncallers < P11B_CALLERS_MAX) {
		row = &m->callers[m->ncallers++];
		row->uid = uid;
	}
	if (row == NULL)
		row = &m->other;
	row->n[cls]++;
}

static void
export_caller(struct p11b_caller_count *cc, const struct metrics_caller *row,
    int kind)
{
	cc->uid = kind == P11B_CALLER_UID ? row->uid : 0;
	cc->kind = kind;
	cc->ok = row->n[0];
	cc->refused = row->n[1];
	cc->failed = row->n[2];
}

/* Named callers in the order first seen, then unknown and other. */
static int
export_callers(const struct metrics *m, struct p11b_stats *st)
{
	size_t i, n = 0;

	if ((st->callers = calloc(m->ncallers + 2, sizeof(*st->callers))) ==
	    NULL)
		return -1;
	for (i = 0; i < m->ncallers; i++)
		export_caller(&st->callers[n++], &m->callers[i],
		    P11B_CALLER_UID);
	export_caller(&st->callers[n++], &m->unknown, P11B_CALLER_UNKNOWN);
	export_caller(&st->callers[n++], &m->other, P11B_CALLER_OTHER);
	st->ncallers = n;
	return 0;
}

void
metrics_count_refusal(struct metrics *m, enum metrics_refusal why)
{
	if ((unsigned int)why < METRICS_REFUSAL_COUNT)
		m->refusals[why]++;
}

int
metrics_export(const struct metrics *m, struct p11b_stats *st)
{
	size_t r, n = 0, cap = 0;
	int op, status;

	for (r = 0; r < m->nrows; r++)
		for (op = 0; op < P11B_OP_COUNT; op++)
			for (status = 0; status < P11B_STATUS_COUNT; status++)
				cap += m->rows[r].n[op][status] != 0;
	if (cap > 0 && (st->requests = calloc(cap,
	    sizeof(*st->requests))) == NULL)
		return -1;
	for (r = 0; r < m->nrows; r++)
		for (op = 0; op < P11B_OP_COUNT; op++)
			for (status = 0; status < P11B_STATUS_COUNT; status++) {
				if (m->rows[r].n[op][status] == 0)
					continue;
				st->requests[n].op = op;
				strlcpy(st->requests[n].key, m->rows[r].key,
				    sizeof(st->requests[n].key));
				st->requests[n].status = status;
				st->requests[n].count =
				    m->rows[r].n[op][status];
				n++;
			}
	st->nrequests = n;
	st->nbuckets = NBUCKETS;
	memcpy(st->bucket_us, bucket_us, sizeof(bucket_us));
	memcpy(st->bucket_count, m->buckets, sizeof(m->buckets));
	st->latency_sum_us = m->sum_us;
	st->policy_refusals = m->refusals[METRICS_REFUSED_BY_POLICY];
	st->missing_key_refusals = m->refusals[METRICS_REFUSED_NO_KEY];
	if (export_callers(m, st) != 0) {
		free(st->requests);
		st->requests = NULL;
		return -1;
	}
	return 0;
}
