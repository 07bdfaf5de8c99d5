/*
 * Reading p11brokerd audit lines (p11broker-audit(5)) for
 * "p11broker audit verify": a strict JSON object parser that keeps the
 * fields the chain and the checkpoints need.
 */
#ifndef AUDITLOG_H
#define AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#define AUDITLOG_HASH_LEN	32
#define AUDITLOG_SIG_MAX	512

enum auditlog_type {
	AUDITLOG_DECISION = 1,
	AUDITLOG_EVENT,
	AUDITLOG_CHECKPOINT,
};

struct auditlog_rec {
	uint64_t		 seq;
	enum auditlog_type	 type;
	int			 rotate;	/* event "rotate" */
	int			 discontinuity;	/* event "discontinuity" */
	uint64_t		 batch;		/* a batch's size, */
	uint64_t		 nitems;	/* and its items */
	uint8_t			 prev[AUDITLOG_HASH_LEN];
	/* checkpoints */
	uint64_t		 covers_seq;
	uint8_t			 covers_head[AUDITLOG_HASH_LEN];
	char			 alg[32];
	uint8_t			 sig[AUDITLOG_SIG_MAX];
	size_t			 siglen;
};

/*
 * Parse one line (without its newline).  -1 with *why set when it is not
 * a well-formed audit line.
 */
int	auditlog_parse(const char *line, size_t len, struct auditlog_rec *r,
	    const char **why);

#endif /* AUDITLOG_H */
