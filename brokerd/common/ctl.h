/*
 * The one framing of the daemon's control channels: a stream socketpair
 * carrying small typed messages, with descriptors passed alongside
 * (SCM_RIGHTS).  Between the monitor and the front, the monitor sends new
 * signer links, reloaded files and reopened audit logs; the front answers
 * reloads and asks for a signer restart when every worker is stuck.  A
 * starting process (signer, front, the detached monitor) gives the one
 * waiting for it its verdict the same way.  The monitor's watchdog pings the
 * front, which answers from its event loop.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_FDS	66		/* every signer's links + an audit log +
					   its head (CONFIG_MAX_LINKS + 2) */
#define CTL_SIGNERS_MAX	16		/* CONFIG_MAX_SIGNERS */
#define CTL_BODY_MAX	(4U * 1024 * 1024)

enum ctl_type {
	CTL_SIGNER = 1,		/* m->f: links of a (re)started signer;
				   body: its slot (uint32_t) */
	CTL_RELOAD,		/* m->f: files, names, links, audit fd */
	CTL_RELOAD_FAILED,	/* m->f: the monitor rejected the files */
	CTL_AUDIT_FD,		/* m->f: the audit log, reopened */
	CTL_SIGNER_DOWN,	/* m->f: the signer will not be restarted */
	CTL_RELOAD_DONE,	/* f->m: body "ok" or why not */
	CTL_RESTART_SIGNER,	/* f->m: every worker of the signer in
				   the slot (uint32_t body) is stuck */
	CTL_READY,		/* a start-up verdict: "ok" or why not */
	CTL_PING,		/* m->f: the watchdog's heartbeat */
	CTL_PONG,		/* f->m: the answer, from the event loop */
	CTL_SIGNER_STATS,	/* m->f: struct ctl_signer_stats */
};

/*
 * The monitor's counts of signers, sent to the front whenever one
 * changes (and to every new front): the front only reports them.
 */
#define CTL_KILLS_MAX	16	/* syscall names kept; more count as "other" */
#define CTL_SYSCALL_MAX	32

struct ctl_signer_kill {
	char		syscall[CTL_SYSCALL_MAX];	/* NUL-terminated */
	uint64_t	count;
};

/* One signer slot's counts (since the broker started). */
struct ctl_signer_slot {
	uint64_t	starts;
	uint64_t	restarts;
	uint32_t	up;		/* 1: a signer serves in it */
	uint32_t	looping;	/* 1: dying over and over */
	uint32_t	token;		/* its token block */
};

/* One token block's state. */
#define CTL_TOKENS_MAX	8	/* CONFIG_MAX_TOKENS */

struct ctl_token_state {
	uint32_t	unavailable;	/* every slot looping, or refused */
	uint32_t	pin_refused;	/* the token refused the PIN */
};

struct ctl_signer_stats {
	uint64_t	starts;		/* signers forked */
	uint64_t	restarts;	/* of them, to replace one that died */
	uint64_t	login_failures;	/* the token refused the PIN */
	uint32_t	unavailable;	/* 1: down, or every slot dying over
					   and over */
	uint32_t	nkills;
	struct ctl_signer_kill kills[CTL_KILLS_MAX];	/* sandbox kills */
	uint32_t	nslots;		/* signers configured */
	struct ctl_signer_slot slots[CTL_SIGNERS_MAX];
	uint32_t	ntokens;	/* token blocks configured */
	struct ctl_token_state tokens[CTL_TOKENS_MAX];
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

/*
 * Verdicts: a body of "ok" or why not.  Start-up verdicts (signer ->
 * monitor, front -> monitor, detached monitor -> the parent waiting in
 * the foreground) are CTL_READY; reload verdicts CTL_RELOAD_DONE.  Sent
 * without descriptors, so with write(2) alone (the signer sends its
 * verdict under seccomp).
 */
int	ctl_send_verdict(int fd, enum ctl_type type, const char *why);
					/* why NULL: ok */
/* A received verdict: 0 ok, -1 with the reason in why. */
int	ctl_verdict(const struct ctl_msg *msg, char *why, size_t whylen);
/*
 * Blocking, for a start-up verdict.  0: ok.  -1: why holds the sender's
 * reason, or "" when it closed without one (it died) or sent another
 * message.
 */
int	ctl_recv_verdict(int fd, char *why, size_t whylen);

/* A body of length-prefixed parts (the reload's files). */
int	ctl_parts_pack(const void *const *parts, const size_t *lens, int n,
	    uint8_t **bodyp, size_t *lenp);
int	ctl_parts_unpack(const uint8_t *body, size_t len, const uint8_t **parts,
	    size_t *lens, int n);

#endif /* CTL_H */
