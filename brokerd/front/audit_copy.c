/*
 * The audit lines' copy for the monitor.  The front cannot open sockets
 * or files (its seccomp allowlist), so what must live outside the log
 * file goes over a SOCK_SEQPACKET pair the monitor made: one message per
 * batch of whole lines.  The log file is the record; the copy is best
 * effort and never blocks the event loop, except that the latest
 * checkpoint line (the anchor) is kept until the monitor has it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_conf.h"
#include "audit_copy.h"
#include "log.h"

/* One message; 0 sent, -1 the channel is full or gone. */
static int
send_msg(struct audit_copy *c, const char *p, size_t len)
{
	ssize_t n;

	do
		n = write(c->fd, p, len);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

static void
keep_checkpoint(struct audit_copy *c, const char *line, size_t len)
{
	char *nw;

	if ((nw = realloc(c->ckpt, len)) == NULL)
		return;		/* the next checkpoint will do */
	memcpy(nw, line, len);
	c->ckpt = nw;
	c->ckptlen = len;
}

void
audit_copy_lines(struct audit_copy *c, const struct config *conf,
    const char *p, size_t len, int midline)
{
	const char *nl, *ckpt;
	size_t end, linelen, ckptlen, nlines;

	if (c->fd == -1 || !audit_copy_wanted(conf))
		return;
	if (c->ckpt != NULL && send_msg(c, c->ckpt, c->ckptlen) == 0) {
		free(c->ckpt);
		c->ckpt = NULL;
		c->sent++;
	}
	if (midline) {
		if ((nl = memchr(p, '\n', len)) == NULL)
			return;
		len -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	while (len > 0) {
		end = nlines = ckptlen = 0;
		ckpt = NULL;
		while (end < len &&
		    (nl = memchr(p + end, '\n', len - end)) != NULL) {
			linelen = (size_t)(nl + 1 - (p + end));
			if (end + linelen > AUDIT_COPY_MAX)
				break;
			if (audit_copy_is_checkpoint(p + end, linelen)) {
				ckpt = p + end;
				ckptlen = linelen;
			}
			end += linelen;
			nlines++;
		}
		if (end == 0) {
			/* A line longer than a message, or no whole line. */
			if ((nl = memchr(p, '\n', len)) == NULL)
				return;
			c->dropped++;
			len -= (size_t)(nl + 1 - p);
			p = nl + 1;
			continue;
		}
		if (send_msg(c, p, end) == 0) {
			c->sent += nlines;
			if (ckpt != NULL) {
				free(c->ckpt);
				c->ckpt = NULL;
			}
		} else {
			if (c->dropped == 0)
				log_warnx("audit: the monitor does not take "
				    "the copy of the audit lines (syslog, "
				    "anchor): lines are dropped from the copy "
				    "(counted in stats), the log has them");
			c->dropped += nlines;
			if (ckpt != NULL)
				keep_checkpoint(c, ckpt, ckptlen);
		}
		p += end;
		len -= end;
	}
}

void
audit_copy_free(struct audit_copy *c)
{
	free(c->ckpt);
	c->ckpt = NULL;
}
