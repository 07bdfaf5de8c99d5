/*
 * The audit lines' copy, monitor side.  What arrives is the front's
 * (the process that parses client bytes), so it is treated as data: a
 * message is whole lines of printable ASCII or it is dropped, a line
 * goes to syslog as it is, and a checkpoint line goes to the anchor
 * only when its seq is beyond the anchored one.  Nothing here blocks on
 * the receiver: syslog is sent without waiting (a full syslog socket
 * drops lines, counted and warned about once a minute), the anchor is a
 * small local file replaced by rename.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "audit_conf.h"
#include "auditcopy.h"
#include "config.h"
#include "fcheck.h"
#include "log.h"

#define SYSLOG_DEFAULT	"/dev/log"
#define SYSLOG_IDENT	"p11broker-audit"
#define RETRY_SECONDS	1	/* connect to syslog again at most so often */
#define WARN_SECONDS	60
#define SNDBUF		(1024 * 1024)

void
auditcopy_init(struct auditcopy *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->fd = ac->sock = -1;
}

int
auditcopy_pair(struct auditcopy *ac, int *front_end)
{
	int sp[2], size = SNDBUF;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sp) == -1)
		return -1;
	/* As much room as the system allows (net.core.wmem_max). */
	(void)setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (ac->fd != -1)
		close(ac->fd);
	ac->fd = sp[0];
	*front_end = sp[1];
	return 0;
}

void
auditcopy_close(struct auditcopy *ac)
{
	if (ac->fd != -1)
		close(ac->fd);
	if (ac->sock != -1)
		close(ac->sock);
	ac->fd = ac->sock = -1;
}

/* --- syslog ------------------------------------------------------------ */

static int
syslog_connect(struct auditcopy *ac, const char *path)
{
	struct sockaddr_un sun;
	time_t now = time(NULL);

	if (ac->sock != -1 && strcmp(ac->sockpath, path) == 0)
		return 0;
	if (ac->sock != -1)
		close(ac->sock);
	ac->sock = -1;
	if (now - ac->sock_tried < RETRY_SECONDS)
		return -1;
	ac->sock_tried = now;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path) || (ac->sock = socket(AF_UNIX, SOCK_DGRAM |
	    SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(ac->sock, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(ac->sock);
		ac->sock = -1;
		return -1;
	}
	strlcpy(ac->sockpath, path, sizeof(ac->sockpath));
	return 0;
}

static void
syslog_lost(struct auditcopy *ac, const char *path, int err)
{
	time_t now = time(NULL);

	ac->syslog_dropped++;
	if (now - ac->syslog_warned < WARN_SECONDS)
		return;
	ac->syslog_warned = now;
	log_warnx("monitor: audit lines to syslog (%s): %s; %llu lines not "
	    "sent so far (the log file has them)", path, strerror(err),
	    (unsigned long long)ac->syslog_dropped);
}

/* One line (without its newline) as an RFC 3164 message. */
static void
syslog_line(struct auditcopy *ac, const struct config *conf,
    const char *line, size_t len)
{
	const char *path = conf->audit_syslog_socket != NULL ?
	    conf->audit_syslog_socket : SYSLOG_DEFAULT;
	char head[64], stamp[32];
	struct iovec iov[2];
	struct msghdr mh;
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (syslog_connect(ac, path) != 0) {
		syslog_lost(ac, path, errno != 0 ? errno : ENOTCONN);
		return;
	}
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	n = snprintf(head, sizeof(head), "<%d>%s %s[%d]: ",
	    conf->audit_syslog | LOG_INFO, stamp, SYSLOG_IDENT, (int)getpid());
	iov[0] = (struct iovec){ head, (size_t)n };
	iov[1] = (struct iovec){ (void *)line, len };
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (sendmsg(ac->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != -1)
		return;
	/* The receiver went away (restarted): connect again next time. */
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
		close(ac->sock);
		ac->sock = -1;
	}
	syslog_lost(ac, path, errno);
}

/* --- the anchor -------------------------------------------------------- */

int
auditcopy_check(const struct config *conf, char *err, size_t errlen)
{
	char dir[4096], why[512], *slash;
	struct stat st;

	if (conf->audit_anchor == NULL)
		return 0;
	if (strlcpy(dir, conf->audit_anchor, sizeof(dir)) >= sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL) {
		snprintf(err, errlen, "audit: anchor %s: not an absolute path",
		    conf->audit_anchor);
		return -1;
	}
	slash[slash == dir ? 1 : 0] = '\0';
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "audit: anchor %s: %s: %s",
		    conf->audit_anchor, dir, errno != 0 && !S_ISDIR(st.st_mode)
		    ? strerror(errno) : "not a directory");
		return -1;
	}
	if (fcheck_parent(conf->audit_anchor, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "audit: anchor %s: %s",
		    conf->audit_anchor, why);
		return -1;
	}
	return 0;
}

/* The seq a line starts with ({"seq":N,...), 0 if none. */
static uint64_t
line_seq(const char *line, size_t len)
{
	uint64_t seq = 0;
	size_t i;

	if (len < 9 || memcmp(line, "{\"seq\":", 7) != 0)
		return 0;
	for (i = 7; i < len && line[i] >= '0' && line[i] <= '9' && i < 27;
	    i++)
		seq = seq * 10 + (uint64_t)(line[i] - '0');
	return i < len && line[i] == ',' ? seq : 0;
}

static void
anchor_failed(struct auditcopy *ac, const char *path, const char *why)
{
	time_t now = time(NULL);

	if (now - ac->anchor_warned < WARN_SECONDS)
		return;
	ac->anchor_warned = now;
	log_warnx("monitor: audit anchor %s: %s", path, why);
}

/* Replace the anchor with this checkpoint line (and its newline). */
static void
anchor_line(struct auditcopy *ac, const struct config *conf,
    const char *line, size_t len)
{
	const char *path = conf->audit_anchor;
	char tmp[4096], err[512];
	struct stat st;
	uint64_t seq;
	ssize_t n;
	int fd;

	if ((seq = line_seq(line, len)) == 0 || seq <= ac->anchor_seq)
		return;
	if (auditcopy_check(conf, err, sizeof(err)) != 0) {
		anchor_failed(ac, path, err);
		return;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return;
	(void)unlink(tmp);	/* whatever is there: our directory */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK, 0640)) == -1) {
		anchor_failed(ac, tmp, strerror(errno));
		return;
	}
	do
		n = write(fd, line, len);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fstat(fd, &st) == -1 || close(fd) == -1) {
		anchor_failed(ac, tmp, n == -1 ? strerror(errno) :
		    "short write");
		(void)unlink(tmp);
		return;
	}
	if (rename(tmp, path) == -1) {
		anchor_failed(ac, path, strerror(errno));
		(void)unlink(tmp);
		return;
	}
	ac->anchor_seq = seq;
}

/* --- the front's messages ---------------------------------------------- */

/* Whole lines of printable ASCII, each ending in a newline. */
static int
well_formed(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || p[len - 1] != '\n' || p[0] != '{')
		return 0;
	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\n')
			return 0;
	return 1;
}

static void
take(struct auditcopy *ac, const struct config *conf, const char *p,
    size_t len)
{
	const char *nl, *ckpt = NULL;
	size_t ckptlen = 0, linelen;

	for (; len > 0; len -= linelen + 1, p += linelen + 1) {
		nl = memchr(p, '\n', len);
		linelen = (size_t)(nl - p);
		if (conf->audit_syslog != 0)
			syslog_line(ac, conf, p, linelen);
		if (audit_copy_is_checkpoint(p, linelen)) {
			ckpt = p;
			ckptlen = linelen;
		}
	}
	if (ckpt != NULL && conf->audit_anchor != NULL)
		anchor_line(ac, conf, ckpt, ckptlen);
}

void
auditcopy_read(struct auditcopy *ac, const struct config *conf)
{
	static char msg[AUDIT_COPY_MAX + 1];
	ssize_t n;
	int i;

	/* A bounded number per turn: the monitor has other work. */
	for (i = 0; i < 64 && ac->fd != -1; i++) {
		n = recv(ac->fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {		/* the front is gone */
			close(ac->fd);
			ac->fd = -1;
			return;
		}
		if ((size_t)n > AUDIT_COPY_MAX || !well_formed(msg, (size_t)n)) {
			log_warnx("monitor: a malformed audit copy from the "
			    "front (%zd bytes) dropped", n);
			continue;
		}
		take(ac, conf, msg, (size_t)n);
	}
}
