/*
 * A copy of the audit lines for the monitor, which sends them on to
 * syslog and keeps the latest checkpoint line in the anchor file
 * (brokerd/monitor/auditcopy.c): the record that lives outside the log.
 */
#ifndef AUDIT_COPY_H
#define AUDIT_COPY_H

#include <stddef.h>
#include <stdint.h>

struct config;

struct audit_copy {
	int		 fd;		/* SOCK_SEQPACKET to the monitor, or -1 */
	char		*ckpt;		/* the latest checkpoint line not sent */
	size_t		 ckptlen;
	uint64_t	 dropped;	/* lines the channel had no room for */
	uint64_t	 sent;		/* lines handed to the monitor */
};

/*
 * The log file now has p[0 .. len) appended.  midline: the bytes before
 * p ended inside a line (its rest, up to the first newline, is not
 * copied: the monitor gets whole lines only).  Never blocks: lines the
 * channel has no room for are dropped and counted, except the latest
 * checkpoint line, which is kept and sent again at the next call.
 */
void	audit_copy_lines(struct audit_copy *c, const struct config *conf,
	    const char *p, size_t len, int midline);
/* The kept checkpoint line (the fd is the front's, not closed). */
void	audit_copy_free(struct audit_copy *c);

#endif /* AUDIT_COPY_H */
