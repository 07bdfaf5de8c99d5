/*
 * The audit log's head, kept outside the log: where the broker left the
 * log (the last line's seq and SHA-256, the file's size and inode).  At
 * start a log that does not end there was cut or replaced while the
 * broker was stopped.  One fixed-length text line, rewritten in place:
 *
 *   p11broker-audit-head v1 seq=N size=N ino=N head=HEX\n
 *
 * with each N in 20 decimal digits and HEX 64 lower-case hex digits.
 */
#ifndef AUDIT_STATE_H
#define AUDIT_STATE_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_STATE_LEN		(23 + 25 + 26 + 25 + 6 + 64 + 1)

struct audit_state {
	uint64_t	 seq;		/* of the last line written */
	uint64_t	 size;		/* of the file after it */
	uint64_t	 ino;		/* of the file */
	uint8_t		 head[32];	/* SHA-256 of the last line */
};

/* The line for st, AUDIT_STATE_LEN bytes (no NUL) into out. */
void	audit_state_format(const struct audit_state *st,
	    char out[AUDIT_STATE_LEN]);
/* Exactly one such line, len bytes; -1 for anything else. */
int	audit_state_parse(const char *in, size_t len, struct audit_state *st);

#endif /* AUDIT_STATE_H */
