/*
 * The listening socket: created with the configured mode (the umask at
 * bind, so it is never reachable with other permissions and no name is
 * ever chmod'ed), owner and group, replacing a stale socket but never
 * another kind of file, in a directory only root or we can write in
 * (or a sticky one), so that nobody can swap the new socket for a link
 * between bind() and chown().
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcheck.h"
#include "listen.h"

#define LISTEN_BACKLOG	512

/* Does something accept connections on this socket? */
static int
socket_is_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, live;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

static int
remove_stale(const char *path, char *errbuf, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(errbuf, errlen, "socket %s: exists and is not a "
		    "socket; not replacing it", path);
		return -1;
	}
	if (socket_is_live(path)) {
		snprintf(errbuf, errlen, "socket %s: another broker is "
		    "listening on it", path);
		return -1;
	}
	if (unlink(path) == -1) {
		snprintf(errbuf, errlen, "socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* What bind() made is what the config asks for, at the name. */
static int
check_bound(const struct config *conf, char *errbuf, size_t errlen)
{
	struct stat st;

	if (lstat(conf->socket_path, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		snprintf(errbuf, errlen, "socket %s: no longer the socket "
		    "just created (replaced?); refusing it", conf->socket_path);
		return -1;
	}
	/* A default ACL on the directory overrides the umask. */
	if ((st.st_mode & 07777) != (conf->socket_mode & 0777) ||
	    (conf->socket_owner != (uid_t)-1 &&
	    st.st_uid != conf->socket_owner) ||
	    (conf->socket_group != (gid_t)-1 &&
	    st.st_gid != conf->socket_group)) {
		snprintf(errbuf, errlen, "socket %s: made with mode %04o, "
		    "owner %u, group %u, not as configured (a default ACL on "
		    "its directory?); refusing it", conf->socket_path,
		    (unsigned int)(st.st_mode & 07777),
		    (unsigned int)st.st_uid, (unsigned int)st.st_gid);
		return -1;
	}
	return 0;
}

/*
 * systemd socket activation: one listening Unix stream socket in fd 3,
 * LISTEN_PID naming us.  The variables are removed so that nothing we
 * start inherits them.  Returns the fd, -1 when none was passed, -2 on
 * a descriptor that is not what the config asks for.
 */
static int
inherited_socket(const struct config *conf, char *errbuf, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int type = 0, listening = 0;
	socklen_t tlen = sizeof(type), llen = sizeof(listening);

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1") != 0) {
		snprintf(errbuf, errlen, "socket activation: expected one "
		    "socket, LISTEN_FDS=%s", fds);
		return -2;
	}
	memset(&sun, 0, sizeof(sun));
	if (getsockname(3, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX ||
	    getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_STREAM ||
	    getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &llen) ==
	    -1 || !listening) {
		snprintf(errbuf, errlen, "socket activation: fd 3 is not a "
		    "listening Unix stream socket");
		return -2;
	}
	if (strcmp(sun.sun_path, conf->socket_path) != 0) {
		snprintf(errbuf, errlen, "socket activation: got %s, the "
		    "config says %s", sun.sun_path, conf->socket_path);
		return -2;
	}
	if (fcntl(3, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(errbuf, errlen, "socket activation: %s",
		    strerror(errno));
		return -2;
	}
	return 3;
}

int
listen_open(const struct config *conf, int *inherited, char *errbuf,
    size_t errlen)
{
	struct sockaddr_un sun;
	char why[512];
	mode_t old;
	int fd;

	*inherited = 0;
	if ((fd = inherited_socket(conf, errbuf, errlen)) != -1) {
		*inherited = fd >= 0;
		return fd >= 0 ? fd : -1;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, conf->socket_path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "socket %s: path too long",
		    conf->socket_path);
		return -1;
	}
	if (fcheck_parent(conf->socket_path, why, sizeof(why)) != 0) {
		snprintf(errbuf, errlen, "socket %s: %s", conf->socket_path,
		    why);
		return -1;
	}
	if (remove_stale(conf->socket_path, errbuf, errlen) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * The mode is the umask's at bind(): nothing is ever chmod'ed by
	 * name (fchmod on a socket's fd changes the socket inode, not the
	 * name's).  The owner and group are set by name, without following
	 * a link, in a directory no one else can rename in (checked).
	 */
	old = umask(~conf->socket_mode & 0777);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(errbuf, errlen, "socket %s: bind: %s",
		    conf->socket_path, strerror(errno));
		goto fail;
	}
	umask(old);
	if ((conf->socket_owner != (uid_t)-1 ||
	    conf->socket_group != (gid_t)-1) && fchownat(AT_FDCWD,
	    conf->socket_path, conf->socket_owner, conf->socket_group,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		snprintf(errbuf, errlen, "socket %s: chown: %s",
		    conf->socket_path, strerror(errno));
		goto fail;
	}
	if (check_bound(conf, errbuf, errlen) != 0)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(errbuf, errlen, "socket %s: %s", conf->socket_path,
		    strerror(errno));
		goto fail;
	}
	return fd;
 fail:
	close(fd);
	unlink(conf->socket_path);
	return -1;
}
