/*
 * The front's side of the signer: one stream link per signer worker,
 * jobs sent as fixed-layout messages (signer_msg.h), results matched in
 * order.  The event loop sees a single descriptor that is readable when
 * results are waiting, as it did with in-process workers.
 *
 * A signer "generation" is one signer process.  A restart or a reload
 * makes a new one current; jobs already sent to the old one finish there
 * (reload) or fail with TOKEN_UNAVAILABLE (the old one died).
 */
#ifndef JOBLINK_H
#define JOBLINK_H

#include <sys/queue.h>

#include <stdint.h>

#include "clock.h"
#include "signer_msg.h"
#include "signer_batch.h"
#include "job.h"
#include "keygen.h"

struct slink;

struct work {
	TAILQ_ENTRY(work)	 entry;
	struct job		 job;
	struct job_result	 res;
	struct keygen		*gen;		/* the keys job.key indexes */
	/* A batch job (front/batch.c): job is its template; NULL: single. */
	struct smsg_batch	*batch;
	/* The submitter's: called once with the result (or the failure)
	 * by joblink_complete(), whoever runs it; arg is for it. */
	void			(*done)(struct work *w);
	void			*arg;
	/* the link's */
	struct slink		*link;
	uint64_t		 id;
	uint64_t		 sent_ms;	/* CLOCK_MONOTONIC */
	size_t			 nbatch;	/* results a batch awaits */
	char			 msgbuf[SMSG_TEXT_MAX + 1];
};

TAILQ_HEAD(workq, work);

struct joblink;
struct joblink_gen;

int	joblink_new(struct joblink **sp);
void	joblink_free(struct joblink *s);
/* Readable when results are waiting. */
int	joblink_fd(const struct joblink *s);

/*
 * Take a new signer's links (the first carries its hello, read here);
 * they are ours from now on, closed on failure too.
 * On success *genp is not in use yet: joblink_use() makes it current,
 * joblink_discard() closes it.
 */
int	joblink_gen_open(struct joblink *s, int *fds, int nfds,
	    struct joblink_gen **genp, struct smsg_hello *hello, char *errbuf,
	    size_t errlen);
void	joblink_use(struct joblink *s, struct joblink_gen *gen);
void	joblink_discard(struct joblink *s, struct joblink_gen *gen);

/* Queue a job for the current signer, or fail it at once. */
void	joblink_submit(struct joblink *s, struct work *w);
/* Write the queued jobs (once per loop turn: one write per link). */
void	joblink_flush(struct joblink *s);
/* Take every finished job (call when joblink_fd() became readable). */
void	joblink_collect(struct joblink *s, struct workq *done);
/* Collect the finished jobs and run each one's done(). */
void	joblink_complete(struct joblink *s);

/*
 * Streams (job.h): a stream is bound to one worker of the current
 * signer, which then stays (after a reload too) until the stream is
 * closed.  joblink_stream_submit() sets the job's stream id and queues
 * it there, or fails it at once when that signer is gone.
 */
struct jstream;
int	joblink_stream_open(struct joblink *s, struct jstream **jsp);
void	joblink_stream_submit(struct joblink *s, struct jstream *js,
	    struct work *w);
void	joblink_stream_close(struct joblink *s, struct jstream *js);

/* The current signer is up (and not every worker is stuck). */
int	joblink_ready(const struct joblink *s);
/* The current signer has answered a job with OK. */
int	joblink_served(const struct joblink *s);
/* Jobs with the current signer's workers, at most one per worker. */
int	joblink_busy(const struct joblink *s);

/*
 * Once a second: answer jobs waiting longer than timeout_ms with
 * TOKEN_UNAVAILABLE and stop using their workers.  Returns 1 when every
 * worker of the current signer is stuck (it should be restarted).
 */
int	joblink_sweep(struct joblink *s, uint64_t timeout_ms);


#endif /* JOBLINK_H */
