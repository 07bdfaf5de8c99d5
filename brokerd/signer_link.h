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
#ifndef SIGNER_LINK_H
#define SIGNER_LINK_H

#include <sys/queue.h>

#include <stdint.h>

#include "signer_msg.h"
#include "token.h"

struct slink;

struct work {
	TAILQ_ENTRY(work)	 entry;
	struct token_job	 job;
	struct token_result	 res;
	void			*arg;		/* the submitter's */
	/* the link's */
	struct slink		*link;
	uint64_t		 id;
	uint64_t		 sent_ms;	/* CLOCK_MONOTONIC */
	char			 msgbuf[SMSG_TEXT_MAX + 1];
};

TAILQ_HEAD(workq, work);

struct signer;
struct signer_gen;

int	signer_new(struct signer **sp);
void	signer_free(struct signer *s);
/* Readable when results are waiting. */
int	signer_fd(const struct signer *s);

/*
 * Take a new signer's links (the first carries its hello, read here);
 * they are ours from now on, closed on failure too.
 * On success *genp is not in use yet: signer_use() makes it current,
 * signer_discard() closes it.
 */
int	signer_gen_open(struct signer *s, int *fds, int nfds,
	    struct signer_gen **genp, struct smsg_hello *hello, char *errbuf,
	    size_t errlen);
void	signer_use(struct signer *s, struct signer_gen *gen);
void	signer_discard(struct signer *s, struct signer_gen *gen);

/* Queue a job for the current signer, or fail it at once. */
void	signer_submit(struct signer *s, struct work *w);
/* Write the queued jobs (once per loop turn: one write per link). */
void	signer_flush(struct signer *s);
/* Take every finished job (call when signer_fd() became readable). */
void	signer_collect(struct signer *s, struct workq *done);

/* The current signer is up (and not every worker is stuck). */
int	signer_ready(const struct signer *s);
/* Jobs with the current signer's workers, at most one per worker. */
int	signer_busy(const struct signer *s);

/*
 * Once a second: answer jobs waiting longer than timeout_ms with
 * TOKEN_UNAVAILABLE and stop using their workers.  Returns 1 when every
 * worker of the current signer is stuck (it should be restarted).
 */
int	signer_sweep(struct signer *s, uint64_t timeout_ms);

uint64_t signer_now_ms(void);

#endif /* SIGNER_LINK_H */
