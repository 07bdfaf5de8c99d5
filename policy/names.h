/*
 * User and group names for the config and policy parsers.  Normally the
 * system's databases answer; the monitor records what a parse looked up,
 * and the sandboxed front (which may not open /etc/passwd) parses the same
 * files again answering only from that record.
 */
#ifndef NAMES_H
#define NAMES_H

#include <sys/types.h>

#include <stddef.h>

/* 0 and the ids, or -1 for an unknown name. */
int	names_user(const char *name, uid_t *uid, gid_t *gid);
int	names_group(const char *name, gid_t *gid);

/* Start recording every lookup (clears the record). */
void	names_record(void);
/* The record as text: one "u NAME UID GID" or "g NAME GID" per line. */
char	*names_export(size_t *lenp);
/* From now on answer only from this record; 0 if it parsed. */
int	names_replay(const char *buf, size_t len);

#endif /* NAMES_H */
