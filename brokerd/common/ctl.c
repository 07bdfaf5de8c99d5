/*
 * Control messages between the daemon's processes (ctl.h).  An 8-byte
 * header (type, descriptor count, body length) travels with the
 * descriptors; the body follows on the stream.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "io.h"

#define VERDICT_OK	"ok"

struct ctl_hdr {
	uint16_t	type;
	uint16_t	nfds;
	uint32_t	len;
};

int
ctl_send(int fd, enum ctl_type type, const void *body, size_t len,
    const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cm;
	struct ctl_hdr h;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;

	if (nfds < 0 || nfds > CTL_MAX_FDS || len > CTL_BODY_MAX)
		return -1;
	h.type = (uint16_t)type;
	h.nfds = (uint16_t)nfds;
	h.len = (uint32_t)len;
	if (nfds == 0) {	/* no descriptors: write(2) is enough */
		if (io_write_full(fd, (const uint8_t *)&h, sizeof(h)) != 0)
			return -1;
		return io_write_full(fd, body, len);
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &h;
	iov.iov_len = sizeof(h);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(&cm, 0, sizeof(cm));
	mh.msg_control = cm.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm.hdr.cmsg_level = SOL_SOCKET;
	cm.hdr.cmsg_type = SCM_RIGHTS;
	cm.hdr.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(&cm.hdr), fds, sizeof(int) * nfds);
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(h))
		return -1;
	return io_write_full(fd, body, len);
}

int
ctl_recv(int fd, struct ctl_msg *msg)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cm;
	struct cmsghdr *c;
	struct ctl_hdr h;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int i, got = 0;

	memset(msg, 0, sizeof(*msg));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &h;
	iov.iov_len = sizeof(h);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n == -1 && errno == EINTR);
	for (c = CMSG_FIRSTHDR(&mh); n > 0 && c != NULL;
	    c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		i = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (got + i > CTL_MAX_FDS)
			i = CTL_MAX_FDS - got;
		memcpy(msg->fds + got, CMSG_DATA(c), sizeof(int) * i);
		got += i;
	}
	msg->nfds = got;
	if (n != (ssize_t)sizeof(h) || (mh.msg_flags & MSG_CTRUNC) ||
	    h.nfds != got || h.len > CTL_BODY_MAX || h.type <
	    CTL_SIGNER || h.type > CTL_SIGNER_STATS)
		goto fail;
	msg->type = (enum ctl_type)h.type;
	msg->len = h.len;
	if ((msg->body = malloc(h.len + 1)) == NULL ||
	    io_read_full(fd, msg->body, h.len) != 0)
		goto fail;
	msg->body[h.len] = '\0';
	return 0;
 fail:
	ctl_msg_free(msg);
	return -1;
}

int
ctl_send_verdict(int fd, enum ctl_type type, const char *why)
{
	if (why == NULL)
		why = VERDICT_OK;
	return ctl_send(fd, type, why, strlen(why), NULL, 0);
}

int
ctl_verdict(const struct ctl_msg *msg, char *why, size_t whylen)
{
	if (strcmp((const char *)msg->body, VERDICT_OK) == 0) {
		why[0] = '\0';
		return 0;
	}
	strlcpy(why, (const char *)msg->body, whylen);
	return -1;
}

int
ctl_recv_verdict(int fd, char *why, size_t whylen)
{
	struct ctl_msg msg;
	int rc = -1;

	why[0] = '\0';
	if (ctl_recv(fd, &msg) != 0)
		return -1;
	if (msg.type == CTL_READY && msg.nfds == 0)
		rc = ctl_verdict(&msg, why, whylen);
	ctl_msg_free(&msg);
	return rc;
}

void
ctl_msg_free(struct ctl_msg *msg)
{
	int i;

	for (i = 0; i < msg->nfds; i++)
		if (msg->fds[i] != -1)
			close(msg->fds[i]);
	msg->nfds = 0;
	free(msg->body);
	msg->body = NULL;
}

int
ctl_parts_pack(const void *const *parts, const size_t *lens, int n,
    uint8_t **bodyp, size_t *lenp)
{
	size_t total = 0, off = 0;
	uint32_t l;
	int i;

	for (i = 0; i < n; i++)
		total += 4 + lens[i];
	if (total > CTL_BODY_MAX || (*bodyp = malloc(total + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		l = (uint32_t)lens[i];
		memcpy(*bodyp + off, &l, 4);
		if (lens[i] > 0)
			memcpy(*bodyp + off + 4, parts[i], lens[i]);
		off += 4 + lens[i];
	}
	*lenp = total;
	return 0;
}

int
ctl_parts_unpack(const uint8_t *body, size_t len, const uint8_t **parts,
    size_t *lens, int n)
{
	size_t off = 0;
	uint32_t l;
	int i;

	for (i = 0; i < n; i++) {
		if (len - off < 4)
			return -1;
		memcpy(&l, body + off, 4);
		if (l > len - off - 4)
			return -1;
		parts[i] = body + off + 4;
		lens[i] = l;
		off += 4 + l;
	}
	return off == len ? 0 : -1;
}
