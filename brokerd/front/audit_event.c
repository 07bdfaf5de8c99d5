/*
 * Writing one audit line: begin (time, sequence, link to the previous
 * line), fields, end (the line's hash becomes the chain's head); and
 * the event lines built that way.  Decisions (audit.c) and checkpoints
 * (audit_ckpt.c) are written through these.
 */
#include <stdarg.h>
#include <time.h>

#include "audit_int.h"
#include "log.h"

struct audit_buf *
audit_begin(struct audit *a, const char *type)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	audit_line_begin(&a->buf, &a->chain, &now, type);
	return &a->buf;
}

int
audit_end(struct audit *a, int is_checkpoint)
{
	if (audit_line_end(&a->buf, &a->chain) != 0) {
		log_warnx("audit: out of memory, a line is lost");
		return -1;
	}
	if (!is_checkpoint)
		a->ckpt.since++;
	return 0;
}

void
audit_event(struct audit *a, const char *event, ...)
{
	struct audit_buf *ab;
	const char *name, *value;
	va_list ap;

	if (a == NULL)
		return;
	ab = audit_begin(a, "event");
	audit_line_str(ab, "event", event);
	va_start(ap, event);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		audit_line_str(ab, name, value != NULL ? value : "");
	}
	va_end(ap);
	(void)audit_end(a, 0);
}
