/*
 * Opening files by name in a privileged process (fcheck.h).  A name in
 * a directory that another user can write may be swapped at any time,
 * so every check is made on the opened descriptor (fstat), never only
 * on the name: O_NOFOLLOW refuses a symbolic link in the last
 * component, O_NONBLOCK keeps a FIFO from blocking the open, and the
 * fstat that follows refuses anything but a regular file.  An lstat
 * before the open keeps devices from being opened at all (an open can
 * have effects); the fstat after it is what decides.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fcheck.h"

static const char *
kind_name(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

static int
not_regular(const char *path, mode_t mode, char *errbuf, size_t errlen)
{
	snprintf(errbuf, errlen, "%s: not a regular file (%s); refusing it",
	    path, kind_name(mode));
	return -1;
}

/* Nothing but a regular file (or nothing) at path, before opening it. */
static int
precheck(const char *path, char *errbuf, size_t errlen)
{
	struct stat lst;

	if (lstat(path, &lst) == 0 && !S_ISREG(lst.st_mode))
		return not_regular(path, lst.st_mode, errbuf, errlen);
	return 0;
}

static int
open_error(const char *path, char *errbuf, size_t errlen)
{
	if (errno == ELOOP)
		snprintf(errbuf, errlen, "%s: not a regular file (a symbolic "
		    "link); refusing it", path);
	else
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

/*
 * Like sshd's StrictModes: a file that someone other than root or us can
 * change could grant that someone any key.  The file and its directory
 * must belong to root or to us and not be writable by group or others
 * (a sticky directory such as /tmp is allowed).
 */
static int
check_owner_mode(const char *path, const struct stat *st, int is_dir,
    char *errbuf, size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(errbuf, errlen, "%s: owned by uid %u, not by root or "
		    "the broker's user; refusing it", path,
		    (unsigned int)st->st_uid);
		return -1;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(is_dir && (st->st_mode & S_ISVTX))) {
		snprintf(errbuf, errlen, "%s: writable by group or others "
		    "(mode %04o); refusing it", path,
		    (unsigned int)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

int
fcheck_parent(const char *path, char *errbuf, size_t errlen)
{
	struct stat dst;
	char dir[4096], *slash;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return 0;
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &dst) == -1)
		return 0;
	return check_owner_mode(dir, &dst, 1, errbuf, errlen);
}

static int
check_strict(const char *path, const struct stat *st, char *errbuf,
    size_t errlen)
{
	if (check_owner_mode(path, st, 0, errbuf, errlen) != 0)
		return -1;
	return fcheck_parent(path, errbuf, errlen);
}

/*
 * Open path with flags, never through a symbolic link or into a FIFO or
 * device: a regular file, its fstat in st, or -1 with errbuf set.
 */
static int
open_regular(const char *path, int flags, struct stat *st, char *errbuf,
    size_t errlen)
{
	int fd;

	if (precheck(path, errbuf, errlen) != 0)
		return -1;
	if ((fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
	    O_NONBLOCK, 0640)) == -1)
		return open_error(path, errbuf, errlen);
	if (fstat(fd, st) == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		(void)not_regular(path, st->st_mode, errbuf, errlen);
		close(fd);
		return -1;
	}
	return fd;
}

int
fcheck_open_read(const char *path, enum fcheck_kind kind, struct stat *st,
    char *errbuf, size_t errlen)
{
	int fd;

	if ((fd = open_regular(path, O_RDONLY, st, errbuf, errlen)) == -1)
		return -1;
	if (check_strict(path, st, errbuf, errlen) != 0)
		goto fail;
	if (kind == FCHECK_SECRET && (st->st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(errbuf, errlen, "%s: mode %04o is readable by group "
		    "or others; use 0600 or 0400", path,
		    (unsigned int)(st->st_mode & 07777));
		goto fail;
	}
	return fd;
 fail:
	close(fd);
	return -1;
}

int
fcheck_open_log(const char *path, uid_t owner, char *errbuf, size_t errlen)
{
	struct stat st;
	int fd, fl;

	if ((fd = open_regular(path, O_RDWR | O_APPEND | O_CREAT, &st,
	    errbuf, errlen)) == -1)
		return -1;
	/* A second name could be a file we were never meant to write. */
	if (st.st_nlink != 1) {
		snprintf(errbuf, errlen, "%s: has %lu hard links; refusing it",
		    path, (unsigned long)st.st_nlink);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != owner) {
		snprintf(errbuf, errlen, "%s: owned by uid %u, not by root or "
		    "the broker's user; refusing it", path,
		    (unsigned int)st.st_uid);
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
 fail:
	close(fd);
	return -1;
}

int
fcheck_log_named(int fd, const char *path, const char **why)
{
	struct stat st, lst;

	*why = NULL;
	if (fstat(fd, &st) == -1)
		return 1;	/* nothing to say about it */
	if (st.st_nlink == 0)
		*why = "removed";
	else if (lstat(path, &lst) == -1)
		*why = "renamed";
	else if (lst.st_dev != st.st_dev || lst.st_ino != st.st_ino)
		*why = "replaced";
	return *why == NULL;
}
