/*
 * The worker pool: a fixed set of threads, each with its own PKCS#11
 * session, taking jobs from one queue and handing results back to the
 * event loop through an eventfd.
 */
#ifndef WORKERS_H
#define WORKERS_H

#include <sys/queue.h>

#include "token.h"

struct work {
	TAILQ_ENTRY(work)	 entry;
	struct token_job	 job;
	struct token_result	 res;
	void			*arg;		/* the submitter's */
};

TAILQ_HEAD(workq, work);

struct workers;

int	workers_start(struct token *tok, int n, struct workers **wp);
/* Readable when results are waiting. */
int	workers_fd(const struct workers *w);
void	workers_submit(struct workers *w, struct work *work);
/* Sessions in use right now. */
int	workers_busy(struct workers *w);
/* Take every finished job (call after workers_fd became readable). */
void	workers_collect(struct workers *w, struct workq *done);
void	workers_stop(struct workers *w);

#endif /* WORKERS_H */
