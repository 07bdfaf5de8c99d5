/*
 * Opening the files a privileged process reads or writes by name: never
 * through a symbolic link, never blocking on a FIFO, never a device, and
 * (for files that grant something) only when nobody but root or us can
 * change them.
 */
#ifndef FCHECK_H
#define FCHECK_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

/* What is read: a file that grants (config, policy) or a secret. */
enum fcheck_kind {
	FCHECK_GRANTS,		/* root's or ours, not writable by others */
	FCHECK_SECRET,		/* the same, and not readable by others */
};

/*
 * Open path read-only after the checks of kind (the file and its
 * directory).  Returns the fd (st filled in) or -1 with errbuf set.
 */
int	fcheck_open_read(const char *path, enum fcheck_kind kind,
	    struct stat *st, char *errbuf, size_t errlen);

/*
 * The directory that holds path: root's or ours, and not writable by
 * group or others unless sticky (nobody else can rename what we put
 * there).  0, or -1 with errbuf set.
 */
int	fcheck_parent(const char *path, char *errbuf, size_t errlen);

/*
 * Open (or create, mode 0640) a log for appending: a regular file with
 * one link, owned by root, us or owner (the broker's user, or -1).
 * Returns the fd or -1 with errbuf set.
 */
int	fcheck_open_log(const char *path, uid_t owner, char *errbuf,
	    size_t errlen);

/*
 * A log that was opened by path: 1 when it is still named by path, 0
 * when it was removed (no link left), renamed or replaced.
 */
int	fcheck_log_named(int fd, const char *path, const char **why);

#endif /* FCHECK_H */
