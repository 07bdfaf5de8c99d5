/*
 * Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput() over files
 * without libFuzzer, so that every build (gcc included) checks the seed
 * corpus and the inputs of past crashes.
 *
 *	replay_TARGET [-v] FILE|DIR ...
 *
 * Directories are read one level deep, in name order; names starting
 * with '.' are skipped.  A failed property aborts; otherwise the last
 * line on stdout is "replay: N inputs".
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static int verbose;

/* An exact-size buffer, so that ASan builds catch reads past the input. */
static int
read_input(const char *path, uint8_t **bufp, size_t *lenp)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(st.st_size > 0 ? st.st_size : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "replay: %s: short read\n", path);
			goto out;
		}
		len += n;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	r = 0;
 out:
	free(buf);
	close(fd);
	return r;
}

static int
replay_file(const char *path)
{
	uint8_t *buf;
	size_t len;

	if (read_input(path, &buf, &len) != 0)
		return -1;
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	(void)LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int
replay_entry(const char *dir, const char *name, int *countp)
{
	struct stat st;
	char *path;
	int r = 0;

	if (asprintf(&path, "%s/%s", dir, name) == -1) {
		fprintf(stderr, "replay: out of memory\n");
		return -1;
	}
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (r = replay_file(path)) == 0)
		(*countp)++;
	free(path);
	return r;
}

static int
replay_dir(const char *dir, int *countp)
{
	struct dirent **names;
	int i, n, r = 0;

	if ((n = scandir(dir, &names, skip_dot, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = replay_entry(dir, names[i]->d_name, countp);
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int ch, count = 0;

	while ((ch = getopt(argc, argv, "v")) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-v] file|dir ...\n",
			    argv[0]);
			return 2;
		}
	}
	for (; optind < argc; optind++) {
		if (stat(argv[optind], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[optind],
			    strerror(errno));
			return 2;
		}
		if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[optind], &count) != 0)
				return 2;
		} else if (replay_file(argv[optind]) == 0)
			count++;
		else
			return 2;
	}
	printf("replay: %d inputs\n", count);
	return 0;
}
