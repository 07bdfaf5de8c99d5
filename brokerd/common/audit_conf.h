/*
 * The audit statement's checks and its file, shared by the monitor
 * (start-up, -n, SIGUSR1 reopen) and the front (start, reload): which
 * algorithm a checkpoint key signs with, whether the configured
 * checkpoint key can sign at all, and how the log file is opened.
 */
#ifndef AUDIT_CONF_H
#define AUDIT_CONF_H

#include <stddef.h>

#include "config.h"
#include "job.h"

/* The algorithm checkpoints are signed with; P11B_ALG_NONE: cannot. */
enum p11b_alg audit_key_alg(enum p11b_key_type type);
/*
 * The audit statement against the resolved keys: the checkpoint key must
 * be an EC or Ed25519 key pair.  -1 with "file:line: ..." in err.
 */
int	audit_config_check(const struct config *conf,
	    const struct key_info *keys, size_t nkeys, char *err,
	    size_t errlen);

/*
 * Open (create) the audit log for appending: a regular file reached
 * without a symbolic link, owned by root or the broker's user
 * (fcheck_open_log).  -1 with "path: why" in err.
 */
int	audit_file_open(const struct config *conf, const char *path,
	    char *err, size_t errlen);
/*
 * Open (create) the file beside the log at path that keeps its head
 * (path with ".head" appended): a regular file reached without a
 * symbolic link; -1 with errno.
 */
int	audit_state_open(const char *path);

/*
 * The copy of the audit lines the front sends the monitor (for syslog
 * and the anchor): messages of whole lines, each with its newline, of
 * at most AUDIT_COPY_MAX bytes.
 */
#define AUDIT_COPY_MAX		(32 * 1024)
/* Is this audit line (without its newline) a checkpoint? */
int	audit_copy_is_checkpoint(const char *line, size_t len);
/* Does the audit statement want a copy (syslog or an anchor)? */
int	audit_copy_wanted(const struct config *conf);

#endif /* AUDIT_CONF_H */
