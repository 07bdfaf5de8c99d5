/*
 * The audit log: one JSON line per decision and per event, hash-chained,
 * with checkpoints signed by a key on the token.  Lines are written once
 * per event-loop turn, before that turn's answers leave.  Every function
 * takes a NULL audit (auditing off) and then does nothing.  The format is
 * in p11broker-audit(5).
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct audit;
struct broker;
struct config;
struct key_info;
struct peer_cred;
struct request_ctx;
struct wire_response;
struct work;

/*
 * For a reload: the same, and auditing cannot be switched on or off
 * without a restart.
 */
int	audit_reload_check(const struct audit *a, const struct config *conf,
	    const struct key_info *keys, size_t nkeys, char *err,
	    size_t errlen);

/*
 * Open the log named by b->conf (NULL *ap when there is none) and
 * continue the chain of the lines already in it.
 */
int	audit_open(struct broker *b, struct audit **ap, char *err,
	    size_t errlen);
/* Once the workers run: the start and policy-load lines, written now. */
int	audit_start(struct audit *a, char *err, size_t errlen);
/*
 * After server_run() returned, with the workers still running: the stop
 * line and a final checkpoint over it, waited for and written.
 */
void	audit_stop(struct audit *a);
void	audit_free(struct audit *a);

/* Hash the request's input at arrival (the frame is gone later). */
void	audit_request_init(struct audit *a, struct request_ctx *rq);
/*
 * The decision line for an answer.  -1 when it cannot be logged and the
 * log fails closed: the answer must become a refusal (INTERNAL).
 * dropped: the caller hung up before the answer.
 */
int	audit_decision(struct audit *a, const struct peer_cred *peer,
	    const struct request_ctx *rq, const struct wire_response *resp,
	    int dropped);
/*
 * audit_refusals.c: count refusals of uid (a caller the policy does not
 * know) in the seconds from since to until, after the first one's line.
 */
void	audit_refusals(struct audit *a, uint32_t uid, uint64_t count,
	    time_t since, time_t until);
/* An event line: NULL-terminated name, value string pairs. */
void	audit_event(struct audit *a, const char *event, ...)
	    __attribute__((__sentinel__));
/*
 * After a reload: error NULL when the new files are in force (their
 * SHA-256 is logged, a changed path is opened), else why they were
 * rejected.  Either way a checkpoint follows.  fd and state_fd: the
 * log at the new path and its head file (-1: none), from the monitor.
 */
void	audit_reload(struct audit *a, const char *error, int fd,
	    int state_fd);

/*
 * Group commit.  Write every pending line; 0 when answers may be sent,
 * -1 when a write failed and the log fails closed: the connections with
 * unsent answers must be closed, then audit_release() called.
 */
int	audit_commit(struct audit *a);
void	audit_release(struct audit *a);
/* Fail closed: refuse every request before any token work. */
int	audit_refusing(const struct audit *a);
#define AUDIT_UNAVAILABLE	"audit log unavailable"

/* SIGUSR1: reopen the file (it was renamed) and go on with the chain. */
void	audit_reopen(struct audit *a, int fd);

/* Is this key the checkpoint key (clients may only fetch its pubkey)? */
int	audit_key_reserved(const struct audit *a, const char *key);
/*
 * audit_batch.c: a batch's one decision line, every item in it (as
 * audit_decision(), for a batch answered OK); and an item's input hash
 * for it (zeros without an audit log).
 */
struct audit_item;
int	audit_batch(struct audit *a, const struct peer_cred *peer,
	    const struct request_ctx *rq, const struct audit_item *items,
	    size_t n, int dropped);
void	audit_hash_input(struct audit *a, const uint8_t *in, size_t len,
	    uint8_t out[32]);

/* For Stats: all 0 without an audit log. */
struct audit_counters {
	uint64_t	 lines;			/* written */
	uint64_t	 write_failures;
	uint64_t	 copies_dropped;	/* not sent to the monitor */
	uint64_t	 checkpoint_time;	/* of the last, Unix seconds */
};
void	audit_counters(const struct audit *a, struct audit_counters *ac);

#endif /* AUDIT_H */
