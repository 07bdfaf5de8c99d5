/*
 * The record outside the audit log: the front sends the monitor a copy
 * of every line it wrote; the monitor sends them on to syslog (audit
 * ... syslog FACILITY) and keeps the latest checkpoint line in the
 * anchor file (audit ... anchor PATH), where the broker's user cannot
 * write.  p11broker audit verify --anchor then catches a log cut after
 * its last checkpoint.
 */
#ifndef AUDITCOPY_H
#define AUDITCOPY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;

struct auditcopy {
	int		 fd;		/* the front's copies, or -1 */
	int		 sock;		/* to syslog, or -1 */
	char		 sockpath[108];	/* what sock is connected to */
	time_t		 sock_tried;
	uint64_t	 anchor_seq;	/* of the line in the anchor */
	uint64_t	 syslog_dropped;
	time_t		 syslog_warned;
	time_t		 anchor_warned;
};

void	auditcopy_init(struct auditcopy *ac);
/*
 * A new channel for a new front: the monitor keeps one end (an older
 * one is closed); *front_end is the front's, non-blocking.  -1 on error.
 */
int	auditcopy_pair(struct auditcopy *ac, int *front_end);
/* Take what the front sent and pass it on as conf says. */
void	auditcopy_read(struct auditcopy *ac, const struct config *conf);
/*
 * The anchor's directory: it must exist and be root's, not writable by
 * group or others (the broker's user must not be able to replace the
 * anchor).  0, or -1 with "anchor PATH: why" in err.
 */
int	auditcopy_check(const struct config *conf, char *err, size_t errlen);
void	auditcopy_close(struct auditcopy *ac);

#endif /* AUDITCOPY_H */
