/*
 * The control channel between the monitor and the front: a stream
 * socketpair carrying small typed messages, with descriptors passed
 * alongside (SCM_RIGHTS).  The monitor sends new signer links, reloaded
 * files and reopened audit logs; the front answers reloads and asks for
 * a signer restart when every worker is stuck.  The monitor's watchdog
 * pings the front, which answers from its event loop.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_FDS	65		/* workers + an audit log */
#define CTL_BODY_MAX	(4U * 1024 * 1024)

enum ctl_type {
	CTL_SIGNER = 1,		/* m->f: links of a (re)started signer */
	CTL_RELOAD,		/* m->f: files, names, links, audit fd */
	CTL_RELOAD_FAILED,	/* m->f: the monitor rejected the files */
	CTL_AUDIT_FD,		/* m->f: the audit log, reopened */
	CTL_SIGNER_DOWN,	/* m->f: the signer will not be restarted */
	CTL_RELOAD_DONE,	/* f->m: body "ok" or why not */
	CTL_RESTART_SIGNER,	/* f->m: every worker is stuck */
	CTL_READY,		/* f->m: body "ok" or why it cannot start */
	CTL_PING,		/* m->f: the watchdog's heartbeat */
	CTL_PONG,		/* f->m: the answer, from the event loop */
};

struct ctl_msg {
	enum ctl_type	 type;
	uint8_t		*body;		/* malloc'd, NUL-terminated */
	size_t		 len;
	int		 fds[CTL_MAX_FDS];
	int		 nfds;
};

int	ctl_send(int fd, enum ctl_type type, const void *body, size_t len,
	    const int *fds, int nfds);
/* Blocking; 0, or -1 on end of file or a malformed message. */
int	ctl_recv(int fd, struct ctl_msg *msg);
void	ctl_msg_free(struct ctl_msg *msg);

/* A body of length-prefixed parts (the reload's files). */
int	ctl_parts_pack(const void *const *parts, const size_t *lens, int n,
	    uint8_t **bodyp, size_t *lenp);
int	ctl_parts_unpack(const uint8_t *body, size_t len, const uint8_t **parts,
	    size_t *lens, int n);

#endif /* CTL_H */
