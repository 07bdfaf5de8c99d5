/*
 * Input and output of the p11broker tool: whole files or stdin/stdout,
 * binary and exact, and PEM for public keys.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define IO_CHUNK	(64 * 1024)
#define IO_PEM_LINE	64

static int
io_is_std(const char *path)
{
	return path == NULL || strcmp(path, "-") == 0;
}

/* Grow the buffer for the next read; past max the input is too large. */
static int
io_grow(uint8_t **bufp, size_t *capp, size_t max)
{
	uint8_t *nbuf;
	size_t ncap;

	if (*capp > max) {
		errno = EFBIG;
		return -1;
	}
	ncap = *capp == 0 ? IO_CHUNK : *capp * 2;
	if (ncap > max + 1)
		ncap = max + 1;
	if ((nbuf = realloc(*bufp, ncap)) == NULL)
		return -1;
	*bufp = nbuf;
	*capp = ncap;
	return 0;
}

/*
 * Read all of path ("-" or NULL: stdin), at most max bytes, into a
 * malloc'd buffer (never NULL, even when empty).  -1 and errno on error,
 * EFBIG for an input over max.
 */
int
io_read(const char *path, size_t max, uint8_t **bufp, size_t *lenp)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, saved, r = -1;

	fd = io_is_std(path) ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	for (;;) {
		if (len == cap && io_grow(&buf, &cap, max) == -1)
			goto out;
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		goto out;
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	r = 0;
 out:
	saved = errno;
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	errno = saved;
	return r;
}

static int
io_write_fd(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Prepare an output file.  A regular file is truncated only after its
 * mode is right: a secret never lands in a file others can read.
 */
static int
io_prepare(int fd, int secret)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (secret && (st.st_mode & 077) != 0 &&
	    fchmod(fd, st.st_mode & 0700) == -1)
		return -1;
	return ftruncate(fd, 0);
}

/*
 * Write exactly buf to path ("-" or NULL: stdout).  A new file gets mode
 * 0600 for a secret, else 0644 (less the umask).  -1 and errno on error.
 */
int
io_write(const char *path, const uint8_t *buf, size_t len, int secret)
{
	int fd, saved, r = -1;

	if (io_is_std(path))
		return io_write_fd(STDOUT_FILENO, buf, len);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC,
	    secret ? 0600 : 0644)) == -1)
		return -1;
	if (io_prepare(fd, secret) == -1 || io_write_fd(fd, buf, len) == -1)
		goto out;
	r = 0;
 out:
	saved = errno;
	if (close(fd) == -1 && r == 0) {
		saved = errno;
		r = -1;
	}
	errno = saved;
	return r;
}

/* PEM-encode der with the given label ("PUBLIC KEY"). */
int
io_pem(const char *label, const uint8_t *der, size_t len, char **pemp,
    size_t *pemlenp)
{
	FILE *f;
	char *b64, *pem = NULL;
	size_t b64len, off, n, pemlen = 0;
	int r = -1;

	b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64len)) == NULL)
		return -1;
	sodium_bin2base64(b64, b64len, der, len,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((f = open_memstream(&pem, &pemlen)) == NULL)
		goto out;
	fprintf(f, "-----BEGIN %s-----\n", label);
	for (off = 0; b64[off] != '\0'; off += n) {
		n = strnlen(b64 + off, IO_PEM_LINE);
		fprintf(f, "%.*s\n", (int)n, b64 + off);
	}
	fprintf(f, "-----END %s-----\n", label);
	if (ferror(f)) {
		fclose(f);
		goto out;
	}
	if (fclose(f) == EOF)
		goto out;
	*pemp = pem;
	*pemlenp = pemlen;
	pem = NULL;
	r = 0;
 out:
	free(pem);
	free(b64);
	return r;
}

static const char *
io_name(const char *path, const char *std)
{
	return io_is_std(path) ? std : path;
}

/* Read input for a command; reports errors, returns an exit code. */
int
cli_read(const struct cli *cli, const char *path, uint8_t **bufp,
    size_t *lenp)
{
	if (io_read(path, CLI_INPUT_MAX, bufp, lenp) == 0)
		return CLI_EXIT_OK;
	if (errno == EFBIG)
		cli_warnx(cli, "%s: input larger than %d MiB",
		    io_name(path, "stdin"), CLI_INPUT_MAX / (1024 * 1024));
	else
		cli_warnx(cli, "cannot read %s: %s", io_name(path, "stdin"),
		    strerror(errno));
	return CLI_EXIT_LOCAL_IO;
}

/* Write a command's output; reports errors, returns an exit code. */
int
cli_write(const struct cli *cli, const char *path, const uint8_t *buf,
    size_t len, int secret)
{
	if (io_write(path, buf, len, secret) == 0)
		return CLI_EXIT_OK;
	cli_warnx(cli, "cannot write %s: %s", io_name(path, "stdout"),
	    strerror(errno));
	return CLI_EXIT_LOCAL_IO;
}

/* Text output goes through stdio: check that all of it got out. */
int
cli_flush_stdout(const struct cli *cli)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	cli_warnx(cli, "cannot write stdout: %s", strerror(errno));
	return -1;
}
