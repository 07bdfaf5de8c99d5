/*
 * The front's side of the signer: one stream link per signer worker,
 * jobs sent as fixed-layout messages (signer_msg.h), results matched in
 * order.  The event loop sees a single descriptor that is readable when
 * results are waiting, as it did with in-process workers.
 *
 * A signer "generation" is one signer process, current in its slot
 * (the monitor's).  The current ones serve together.  A restart makes a
 * new one current in its slot; a reload (joblink_new_set) replaces them
 * all.  Jobs already sent to an old one finish there (reload); when one
 * dies, its whole jobs go once more to another current signer, and fail
 * with TOKEN_UNAVAILABLE only when none is left (or for streams).
 *
 * Every signer serves one token block.  A job goes only to signers of a
 * block that holds its key (work.tokens).  A whole job that a token
 * answers TOKEN_UNAVAILABLE, or does not answer within the timeout, is
 * sent once to a signer of another block that holds the key, when one
 * is up (a failover, counted for the block it left).
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

#define JOBLINK_SLOTS	16	/* CTL_SIGNERS_MAX */
#define JOBLINK_TOKENS	8	/* CONFIG_MAX_TOKENS */

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
	/*
	 * The token blocks that may run it (bit i: block i; 0: any).  The
	 * submitter's, else joblink_submit() takes the key's (gen).
	 */
	uint32_t		 tokens;
	struct slink		*link;
	int			 retried;	/* sent a second time once */
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
/* Readable when results are waiting (not attached). */
int	joblink_fd(const struct joblink *s);
/*
 * The event loop's own epoll set (-1: back to the inner one): each link
 * is then watched there, its events tagged with JOBLINK_EV_TAG in the
 * low bit of data.u64 and handed to joblink_event(); joblink_wake_fd()
 * is readable when jobs failed at once (joblink_complete() takes them).
 * One epoll_wait per wake-up instead of two.
 */
#define JOBLINK_EV_TAG	1
void	joblink_attach(struct joblink *s, int epfd);
int	joblink_wake_fd(const struct joblink *s);
void	joblink_event(struct joblink *s, uint64_t data, uint32_t events);

/*
 * Take a new signer's links (the first carries its hello, read here);
 * they are ours from now on, closed on failure too.
 * On success *genp is not in use yet: joblink_use() makes it current,
 * joblink_discard() closes it.
 */
int	joblink_gen_open(struct joblink *s, int *fds, int nfds,
	    struct joblink_gen **genp, struct smsg_hello *hello, char *errbuf,
	    size_t errlen);
/*
 * A signer of token block token, current in its slot (the slot's old
 * one retires).
 */
void	joblink_use(struct joblink *s, struct joblink_gen *gen, int slot,
	    int token);
/* A start or reload: every current signer retires; joblink_use() next. */
void	joblink_new_set(struct joblink *s);
void	joblink_discard(struct joblink *s, struct joblink_gen *gen);

/* Queue a job for the least loaded current signer, or fail it at once. */
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
int	joblink_stream_open(struct joblink *s, uint32_t tokens,
	    struct jstream **jsp);
void	joblink_stream_submit(struct joblink *s, struct jstream *js,
	    struct work *w);
void	joblink_stream_close(struct joblink *s, struct jstream *js);

/* A current signer is up (and not every worker of it is stuck). */
int	joblink_ready(const struct joblink *s);
/* A current signer has answered a job with OK. */
int	joblink_served(const struct joblink *s);
/* Workers of the current signers with a job, at most one per worker. */
int	joblink_busy(const struct joblink *s);
/* The same for one slot; and whether a live signer serves in it. */
int	joblink_slot_busy(const struct joblink *s, int slot);
int	joblink_slot_up(const struct joblink *s, int slot);
/* A signer of token block token serves (not every worker stuck). */
int	joblink_token_ready(const struct joblink *s, int token);
/* A current signer of token block token has answered a job with OK. */
int	joblink_token_served(const struct joblink *s, int token);
/* Jobs moved from token block token to another since the start. */
uint64_t joblink_failovers(const struct joblink *s, int token);

/*
 * Once a second: answer jobs waiting longer than timeout_ms with
 * TOKEN_UNAVAILABLE and stop using their workers.  Returns the slots
 * (bit i: slot i) whose signer has every worker stuck (to restart).
 */
uint32_t joblink_sweep(struct joblink *s, uint64_t timeout_ms);


#endif /* JOBLINK_H */
