/*
 * Process confinement: privilege drop and hardening, Landlock for the
 * signer's file reads, and one seccomp allowlist per process.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "sandbox_mode.h"

enum sandbox_role {
	SANDBOX_FRONT,
	SANDBOX_SIGNER,
};

/*
 * The few configured values confinement needs, handed over by the daemon
 * (brokerd/common/sandbox_conf.c) so that this layer does not read the
 * config language.
 */
struct sandbox_conf {
	const char	 *config_path;	/* for messages */
	const char	 *user;		/* NULL: stay who we are */
	uid_t		  uid;
	gid_t		  gid;
	enum sandbox_mode mode;
	char *const	 *allow;	/* extra system calls (signer) */
	size_t		  nallow;
	char *const	 *read;		/* the signer's readable paths */
	size_t		  nread;
	char *const	 *write;	/* and writable ones (Landlock) */
	size_t		  nwrite;
	char *const	 *connect;	/* TCP ports it may connect to */
	size_t		  nconnect;
	char *const	 *unix_paths;	/* Unix sockets it connects to */
	size_t		  nunix;
	const char	 *module;	/* the PKCS#11 module's path */
};

/*
 * Become the configured user (when started as root), for good: the
 * groups, gid and uid are set and checked to be unrecoverable.  Then
 * PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0 and RLIMIT_CORE 0.
 */
int	sandbox_harden(const struct sandbox_conf *conf, char *errbuf, size_t errlen);
/* No new privileges, not dumpable, no core: for the monitor. */
int	sandbox_no_dumps(char *errbuf, size_t errlen);
/*
 * The monitor after start-up: only the capabilities it still uses
 * (monitor.c says which, and why), the others dropped from the bounding
 * set too; and a filter refusing calls it never needs (EPERM; logged in
 * "sandbox log" mode; none with "sandbox off").
 */
int	sandbox_monitor(const struct sandbox_conf *conf, char *errbuf,
	    size_t errlen);

/*
 * Signer only: file reads beneath the configured paths, no writes.  A
 * kernel without Landlock gets a logged notice, not an error.
 */
int	sandbox_landlock(const struct sandbox_conf *conf, char *errbuf,
	    size_t errlen);

/* Install the role's allowlist (conf->mode; conf->allow for the signer). */
int	sandbox_seccomp(enum sandbox_role role, const struct sandbox_conf *conf,
	    char *errbuf, size_t errlen);

/*
 * The signer's filter traps a refused call (enforce mode): the SIGSYS
 * handler writes a record of SANDBOX_TRAP_RECORD bytes to fd and exits
 * with status (trap.c).  Install before sandbox_seccomp.
 */
#define SANDBOX_TRAP_RECORD	20

struct sandbox_trap {
	int		nr;		/* the system call's number */
	uint32_t	arch;		/* AUDIT_ARCH_* */
	uint64_t	arg0;		/* its first argument */
};

int	sandbox_trap_init(int fd, int status);
void	sandbox_trap_encode(const struct sandbox_trap *t, uint8_t *rec);
int	sandbox_trap_decode(const uint8_t *rec, size_t len,
	    struct sandbox_trap *t);
/* The call's name for the architecture, or "unknown". */
void	sandbox_trap_name(const struct sandbox_trap *t, char *name,
	    size_t namelen);
/* "socket (41, family AF_INET); the config line that allows it: ..." */
void	sandbox_trap_describe(const struct sandbox_trap *t, char *buf,
	    size_t len);

/* The allowlists, for the tests: name of every call in the table. */
const char *const *sandbox_syscalls(enum sandbox_role role, size_t *n);

#endif /* SANDBOX_H */
