/*
 * Per-function call counters in a text file (FAULT_PKCS11_COUNTS), one
 * line per function called so far:
 *
 *	C_Sign 12 3		(calls, calls on which a rule fired)
 *
 * The file is the counter: each call re-reads it, adds one and writes it
 * back under an fcntl lock, so that every process loading the module
 * (pkcs11-tool runs, a restarted signer) adds to the same numbers, and a
 * test resets them by truncating the file.  It is opened once, at load,
 * before any sandbox; later calls only use fcntl, lseek, read and write
 * on that descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

#define COUNTS_MAX	8192	/* bytes: FN_COUNT lines fit easily */

static struct counts {
	pthread_mutex_t	 mtx;	/* fcntl locks do not exclude threads */
	int		 fd;
} counts = { PTHREAD_MUTEX_INITIALIZER, -1 };

void
fault_counts_init(const char *path)
{
	pthread_mutex_lock(&counts.mtx);
	if (path != NULL && *path != '\0' && counts.fd == -1 &&
	    (counts.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		fault_log("%s: %s (no call counts)", path, strerror(errno));
	pthread_mutex_unlock(&counts.mtx);
}

static int
file_lock(int type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	while (fcntl(counts.fd, F_SETLKW, &fl) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

static ssize_t
read_all(char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	if (lseek(counts.fd, 0, SEEK_SET) == -1)
		return -1;
	while (len < cap) {
		n = read(counts.fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += n;
	}
	return len;
}

static void
parse_counts(char *buf, unsigned long long *calls,
    unsigned long long *faults)
{
	char name[64], *line, *next;
	unsigned long long c, f;
	int fn;

	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (sscanf(line, "%63s %llu %llu", name, &c, &f) != 3 ||
		    (fn = fault_fn_lookup(name)) < 0)
			continue;
		calls[fn] = c;
		faults[fn] = f;
	}
}

static void
write_all(const char *buf, size_t len)
{
	ssize_t n;

	if (lseek(counts.fd, 0, SEEK_SET) == -1)
		return;
	while (len > 0) {
		n = write(counts.fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

void
fault_counts_add(enum fault_fn fn, int faulted)
{
	unsigned long long calls[FN_COUNT] = { 0 }, faults[FN_COUNT] = { 0 };
	char in[COUNTS_MAX + 1], out[COUNTS_MAX];
	size_t off = 0;
	ssize_t inlen;
	int i;

	pthread_mutex_lock(&counts.mtx);
	if (counts.fd == -1 || file_lock(F_WRLCK) == -1)
		goto out;
	if ((inlen = read_all(in, COUNTS_MAX)) < 0)
		goto unlock;
	in[inlen] = '\0';
	parse_counts(in, calls, faults);
	calls[fn]++;
	faults[fn] += faulted != 0;
	for (i = 0; i < FN_COUNT; i++)
		if (calls[i] != 0 && off < sizeof(out))
			off += snprintf(out + off, sizeof(out) - off,
			    "%s %llu %llu\n", fault_fn_names[i], calls[i],
			    faults[i]);
	if (off > sizeof(out))
		off = sizeof(out);
	/*
	 * Counters only grow, so the text only grows: no ftruncate needed
	 * (not in the signer's allowlist).  Should the old text have been
	 * longer (junk a test wrote), blank lines cover the rest.
	 */
	while (off < (size_t)inlen && off < sizeof(out))
		out[off++] = '\n';
	write_all(out, off);
 unlock:
	(void)file_lock(F_UNLCK);
 out:
	pthread_mutex_unlock(&counts.mtx);
}
