/*
 * Unit tests for policy/fcheck.c: what a privileged process may open by
 * name.  Each case is a file made in a fresh directory; owner cases need
 * root (chown) and are skipped otherwise.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcheck.h"
#include "tap.h"

static char dir[256];

/* dir/name, in one of two buffers: at() twice in one call is fine. */
static const char *
at(const char *name)
{
	static char path[2][PATH_MAX];
	static int i;

	i = !i;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	return path[i];
}

static void
make_file(const char *name, mode_t mode)
{
	int fd;

	if ((fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
		(void)write(fd, "1234\n", 5);
		close(fd);
	}
	(void)chmod(at(name), mode);
}

/* Open for reading with kind; expect success, or an error matching want. */
static void
read_case(const char *name, enum fcheck_kind kind, const char *want,
    const char *what)
{
	struct stat st;
	char err[512] = "";
	int fd;

	fd = fcheck_open_read(at(name), kind, &st, err, sizeof(err));
	if (want == NULL)
		ok(fd != -1, "%s: opened (%s)", what, err);
	else
		ok(fd == -1 && strstr(err, want) != NULL, "%s: refused (%s)",
		    what, err);
	if (fd != -1)
		close(fd);
}

static void
log_case(const char *name, uid_t owner, const char *want, const char *what)
{
	char err[512] = "";
	int fd;

	fd = fcheck_open_log(at(name), owner, err, sizeof(err));
	if (want == NULL)
		ok(fd != -1 && !(fcntl(fd, F_GETFL) & O_NONBLOCK) &&
		    (fcntl(fd, F_GETFL) & O_APPEND), "%s: opened, appending, "
		    "blocking (%s)", what, err);
	else
		ok(fd == -1 && strstr(err, want) != NULL, "%s: refused (%s)",
		    what, err);
	if (fd != -1)
		close(fd);
}

static void
test_read(void)
{
	make_file("conf", 0644);
	read_case("conf", FCHECK_GRANTS, NULL, "a 0644 config");
	read_case("conf", FCHECK_SECRET, "readable by group or others",
	    "a 0644 PIN file");
	make_file("pin", 0600);
	read_case("pin", FCHECK_SECRET, NULL, "a 0600 PIN file");
	make_file("gw", 0664);
	read_case("gw", FCHECK_GRANTS, "writable by group or others",
	    "a group-writable config");
	(void)symlink(at("pin"), at("link"));
	read_case("link", FCHECK_SECRET, "(a symbolic link)", "a link");
	(void)mkfifo(at("fifo"), 0600);
	read_case("fifo", FCHECK_SECRET, "(a FIFO)", "a FIFO (no hang)");
	(void)symlink("/dev/null", at("dev"));
	read_case("dev", FCHECK_GRANTS, "(a symbolic link)", "a link to a "
	    "device");
	read_case("missing", FCHECK_GRANTS, "No such file", "a missing file");
	if (geteuid() == 0) {
		make_file("theirs", 0600);
		(void)chown(at("theirs"), 65534, 65534);
		read_case("theirs", FCHECK_SECRET, "owned by uid 65534",
		    "another user's PIN file");
	}
}

static void
test_parent(void)
{
	char err[512] = "";

	(void)chmod(dir, 0777);
	read_case("pin", FCHECK_SECRET, "writable by group or others",
	    "a PIN file in a world-writable directory");
	ok(fcheck_parent(at("sock"), err, sizeof(err)) == -1,
	    "a socket in a world-writable directory: refused (%s)", err);
	(void)chmod(dir, 01777);
	read_case("pin", FCHECK_SECRET, NULL,
	    "a PIN file in a sticky world-writable directory");
	ok(fcheck_parent(at("sock"), err, sizeof(err)) == 0,
	    "a socket in a sticky directory: accepted");
	(void)chmod(dir, 0755);
}

static void
test_log(void)
{
	const char *why;
	int fd;
	char err[512];

	log_case("audit.log", (uid_t)-1, NULL, "a new log");
	log_case("audit.log", (uid_t)-1, NULL, "an existing log");
	log_case("link", (uid_t)-1, "(a symbolic link)", "a log that is a link");
	log_case("fifo", (uid_t)-1, "(a FIFO)", "a log that is a FIFO");
	(void)link(at("audit.log"), at("audit.hard"));
	log_case("audit.log", (uid_t)-1, "2 hard links", "a log with two "
	    "links");
	(void)unlink(at("audit.hard"));
	if (geteuid() == 0) {
		make_file("theirs.log", 0640);
		(void)chown(at("theirs.log"), 65534, 65534);
		log_case("theirs.log", (uid_t)-1, "owned by uid 65534",
		    "another user's log");
		log_case("theirs.log", 65534, NULL, "the broker's user's log");
	}

	fd = fcheck_open_log(at("w.log"), (uid_t)-1, err, sizeof(err));
	ok(fcheck_log_named(fd, at("w.log"), &why) == 1 && why == NULL,
	    "an open log still named by its path");
	(void)rename(at("w.log"), at("w.log.1"));
	ok(fcheck_log_named(fd, at("w.log"), &why) == 0 && why != NULL &&
	    strcmp(why, "renamed") == 0, "renamed: %s", why ? why : "-");
	make_file("w.log", 0640);
	ok(fcheck_log_named(fd, at("w.log"), &why) == 0 && why != NULL &&
	    strcmp(why, "replaced") == 0, "replaced: %s", why ? why : "-");
	(void)unlink(at("w.log.1"));
	ok(fcheck_log_named(fd, at("w.log"), &why) == 0 && why != NULL &&
	    strcmp(why, "removed") == 0, "removed: %s", why ? why : "-");
	close(fd);
}

int
main(void)
{
	char cmd[sizeof(dir) + 16];

	snprintf(dir, sizeof(dir), "%s/p11b-fcheck.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_read();
	test_parent();
	test_log();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
	return tap_done();
}
