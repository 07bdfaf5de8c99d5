/* Inside the audit log: shared by audit.c and audit_ckpt.c only. */
#ifndef AUDIT_INT_H
#define AUDIT_INT_H

#include <time.h>

#include "audit.h"
#include "audit_copy.h"
#include "audit_line.h"
#include "audit_state.h"
#include "broker.h"

/* The one checkpoint signature in flight, and when the next is due. */
struct audit_checkpoint {
	struct work		 work;
	int			 busy;		/* work is with the workers */
	uint64_t		 seq;		/* what it signs */
	uint8_t			 head[AUDIT_HASH_LEN];
	char			 key[P11B_KEY_NAME_MAX + 1];
	uint64_t		 since;		/* other lines since the last */
	time_t			 last;		/* when the last was asked */
	int			 wanted;	/* start, reload, rotation */
};

/* How a start goes on from where the last run left the log. */
enum audit_resume {
	AUDIT_RESUME_TAIL,	/* from the log's last line, as left */
	AUDIT_RESUME_NEW_FILE,	/* a new file: from the head, a rotation */
	AUDIT_RESUME_CUT,	/* cut or changed: from the head, marked */
};

struct audit {
	struct broker		*b;
	char			*path;
	int			 fd;
	int			 state_fd;	/* the head outside, or -1 */
	uint64_t		 size;		/* of the file, as written */
	uint64_t		 ino;
	enum audit_resume	 resume;
	uint64_t		 found_size;	/* AUDIT_RESUME_CUT */
	struct audit_state	 left;		/* where the last run left it */
	int			 state_warned;
	int			 midline;	/* a line is half written */
	struct audit_chain	 chain;		/* the last line appended */
	struct audit_buf	 buf;		/* lines not yet written */
	uint64_t		 written;	/* lines written */
	int			 fresh;		/* decisions since a commit */
	int			 failed;	/* the last write failed */
	int			 hold;		/* answers may not leave */
	time_t			 warned;
	time_t			 tried;		/* last write while failed */
	uint64_t		 refused;	/* while failed (closed) */
	uint64_t		 lost;		/* dropped (failing open) */
	struct audit_checkpoint	 ckpt;
	struct audit_copy	 copy;		/* for syslog and the anchor */
	uint64_t		 write_failures;
	time_t			 checkpoint_time; /* of the last line, or 0 */
};

/* audit.c */
struct audit_buf *audit_begin(struct audit *a, const char *type);
struct audit_buf *audit_decision_begin(struct audit *a,
	    const struct peer_cred *peer, const struct request_ctx *rq);
int	audit_end(struct audit *a, int is_checkpoint);

/* audit_ckpt.c */
void	audit_checkpoint_maybe(struct audit *a);
/* At stop: sign the head and wait, until nothing is left unsigned. */
void	audit_checkpoint_final(struct audit *a);
/* At free: a signature that never came back. */
void	audit_checkpoint_abandon(struct audit *a);

#endif /* AUDIT_INT_H */
