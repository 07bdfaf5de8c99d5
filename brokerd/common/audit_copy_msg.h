/*
 * The copy of the audit lines the front sends the monitor, for syslog and
 * the anchor (brokerd/front/audit_copy.c writes it, brokerd/monitor/
 * auditcopy.c reads it): one SOCK_SEQPACKET message per batch of whole
 * lines, each with its newline, at most AUDIT_COPY_MAX bytes.
 */
#ifndef AUDIT_COPY_MSG_H
#define AUDIT_COPY_MSG_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_COPY_MAX		(32 * 1024)

/* Is this audit line (without its newline) a checkpoint? */
int	audit_copy_is_checkpoint(const char *line, size_t len);
/*
 * Read a message: whole lines of printable ASCII, each ending in a
 * newline.  Calls each(arg, line, len) for every line (without its
 * newline) and points *ckpt at the last checkpoint line (NULL: none).
 * -1, with no call made, for a malformed message.
 */
int	audit_copy_scan(const char *msg, size_t len,
	    void (*each)(void *, const char *, size_t), void *arg,
	    const char **ckpt, size_t *ckptlen);
/* The seq an audit line starts with ({"seq":N,...}); 0 if none. */
uint64_t audit_copy_line_seq(const char *line, size_t len);

#endif /* AUDIT_COPY_MSG_H */
