/*
 * The seccomp allowlists, one per process, with libseccomp.  Anything not
 * listed ends the process (SCMP_ACT_KILL_PROCESS): with an errno default,
 * glibc and vendor modules fail in stranger ways than a clean SIGSYS.
 * In "log" mode the default is SCMP_ACT_LOG, so the kernel's audit log
 * names every call that enforce would have killed.
 *
 * Each entry says why the call is there.  The signer's list is what its
 * worker threads and SoftHSM2 need in steady state, measured with strace:
 * on every C_SignInit SoftHSM2's file store re-reads the token's
 * generation and object files (openat read-only, fcntl locks, fstat,
 * read, lseek), OpenSSL reseeds its RNG with getrandom, and error paths
 * call syslog(), which lazily creates a socket (refused with EACCES
 * instead of killing, so a token error is not turned into a crash).
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "sandbox.h"

struct allow {
	const char	*name;
	const char	*why;
};

/* Calls both processes make. */
static const struct allow common[] = {
	{ "read",		"links, sockets, signalfd, eventfd" },
	{ "write",		"links, sockets, the log on stderr" },
	{ "readv",		"stdio" },
	{ "writev",		"stdio (the log)" },
	{ "close",		"closing connections and files" },
	{ "futex",		"locks in libc and the libraries" },
	{ "clock_gettime",	"timestamps, timeouts (if not in the vDSO)" },
	{ "clock_nanosleep",	"short pauses" },
	{ "nanosleep",		"short pauses" },
	{ "gettimeofday",	"time (if not in the vDSO)" },
	{ "getpid",		"log lines" },
	{ "gettid",		"libc internals" },
	{ "getrandom",		"libsodium and OpenSSL random numbers" },
	{ "brk",		"malloc" },
	{ "munmap",		"free" },
	{ "mremap",		"realloc of large blocks" },
	{ "madvise",		"malloc trimming, libsodium guarded memory" },
	{ "mlock",		"libsodium locks secret memory" },
	{ "munlock",		"libsodium unlocks secret memory when freeing" },
	{ "fstat",		"stdio checks its stream" },
	{ "newfstatat",		"stdio, SoftHSM2's file store" },
	{ "lseek",		"stdio; SoftHSM2 rewinds object files" },
	{ "rt_sigprocmask",	"libc blocks signals around some calls" },
	{ "rt_sigreturn",	"returning from a signal handler" },
	{ "restart_syscall",	"a call interrupted by a stop signal" },
	{ "exit",		"a thread ends" },
	{ "exit_group",		"the process ends" },
	{ "sched_yield",	"spinning locks" },
	{ "poll",		"waiting for a link or the audit signature" },
	{ "ppoll",		"the same, on newer libc" },
	{ NULL, NULL }
};

static const struct allow front_only[] = {
	{ "epoll_wait",		"the event loop" },
	{ "epoll_pwait",	"the event loop (libc may use this one)" },
	{ "epoll_ctl",		"arming connections and links" },
	{ "accept4",		"new clients" },
	{ "getsockopt",		"SO_PEERCRED and SO_PEERGROUPS of a client" },
	{ "shutdown",		"half-closing a retired signer's links" },
	{ "recvmsg",		"new signer links from the monitor (fds)" },
	{ "recvfrom",		"reading from sockets" },
	{ "sendto",		"writing to sockets" },
	{ "fsync",		"the audit log" },
	{ "fdatasync",		"the audit log" },
	{ "ftruncate",		"the audit log" },
	{ "pread64",		"the audit log's last line" },
	{ "pwrite64",		"the audit log's head, beside it" },
	{ NULL, NULL }
};

static const struct allow signer_only[] = {
	{ "getdents64",		"SoftHSM2 lists the token directory" },
	{ "pread64",		"module file reads" },
	{ "flock",		"module file locks" },
	{ "access",		"module checks its files" },
	{ "faccessat",		"the same" },
	{ "faccessat2",		"the same" },
	{ "statx",		"module file checks" },
	{ "getuid",		"module checks" },
	{ "geteuid",		"module checks" },
	{ "getppid",		"module checks" },
	{ "uname",		"OpenSSL and module checks" },
	{ "set_robust_list",	"a worker thread starting (the filter may "
				"beat it)" },
	{ "rseq",		"the same" },
	{ NULL, NULL }
};

const char *const *
sandbox_syscalls(enum sandbox_role role, size_t *n)
{
	static const char *names[128];
	const struct allow *lists[2] = { common, role == SANDBOX_FRONT ?
	    front_only : signer_only };
	size_t i, j, k = 0;

	for (i = 0; i < 2; i++)
		for (j = 0; lists[i][j].name != NULL && k < 128; j++)
			names[k++] = lists[i][j].name;
	*n = k;
	return names;
}

static int
add_list(scmp_filter_ctx ctx, const struct allow *list, char *errbuf,
    size_t errlen)
{
	int nr;

	for (; list->name != NULL; list++) {
		if ((nr = seccomp_syscall_resolve_name(list->name)) ==
		    __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
			snprintf(errbuf, errlen, "seccomp: cannot allow %s",
			    list->name);
			return -1;
		}
	}
	return 0;
}

/* Memory may be mapped and protected, never executable. */
static int
add_memory(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) != 0)
		return -1;
	return 0;
}

/* Only the fcntl commands non-blocking sockets and file locks need. */
static int
add_fcntl(scmp_filter_ctx ctx, int locks)
{
	static const int front_cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
	static const int lock_cmds[] = { F_SETLK, F_SETLKW, F_GETLK,
	    F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK };
	size_t i;

	for (i = 0; i < sizeof(front_cmds) / sizeof(front_cmds[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
		    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)front_cmds[i])) != 0)
			return -1;
	for (i = 0; locks && i < sizeof(lock_cmds) / sizeof(lock_cmds[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
		    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)lock_cmds[i])) != 0)
			return -1;
	return 0;
}

/*
 * openat: SoftHSM2 re-reads token files on every operation, read-only;
 * never create, truncate or write.
 */
static int
add_signer_rules(scmp_filter_ctx ctx, int unix_ok)
{
	const scmp_datum_t writes = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC |
	    O_APPEND;

	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, writes, 0)) != 0)
		return -1;
	/* syslog() from an error path: refuse the socket, do not kill. */
	if (!unix_ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) != 0)
		return -1;
	return 0;
}

/*
 * "sandbox connect-unix PATH": socket(AF_UNIX) and connect, for a module
 * that reconnects to a local daemon after start-up (libpcsclite to pcscd,
 * nShield to its hardserver).  Only the family is checked here: seccomp
 * cannot read the address connect() is given, and Landlock up to ABI 7
 * has no right for connecting to a pathname socket (ABI 6 scopes only
 * abstract sockets).  So the paths are not enforced by the kernel; the
 * docs say so (p11brokerd.conf(5)).
 */
static int
add_unix(scmp_filter_ctx ctx)
{
	static const char *const calls[] = { "connect", "getsockopt",
	    "setsockopt", "getsockname", "getpeername", "sendto", "recvfrom",
	    "sendmsg", "recvmsg", "shutdown", NULL };
	int i, nr;

	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) != 0)
		return -1;
	for (i = 0; calls[i] != NULL; i++)
		if ((nr = seccomp_syscall_resolve_name(calls[i])) !=
		    __NR_SCMP_ERROR && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    nr, 0) != 0)
			return -1;
	return 0;
}

/*
 * "sandbox allow socket inet": socket() for AF_INET and AF_INET6 only
 * (a network HSM's client), with connect and the calls a TCP client
 * makes on its socket.  Other families stay refused.
 */
static int
add_inet(scmp_filter_ctx ctx)
{
	static const char *const tcp[] = { "connect", "getsockname",
	    "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom",
	    "sendmsg", "recvmsg", "shutdown", NULL };
	int i, nr;

	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6)) != 0)
		return -1;
	for (i = 0; tcp[i] != NULL; i++)
		if ((nr = seccomp_syscall_resolve_name(tcp[i])) !=
		    __NR_SCMP_ERROR && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    nr, 0) != 0)
			return -1;
	return 0;
}

/*
 * "sandbox write PATH": openat for writing and what a store that writes
 * (an sqlite database, a file of objects) does.  Where is Landlock's
 * part: the filter cannot read a path.
 */
static int
add_writes(scmp_filter_ctx ctx)
{
	static const char *const calls[] = { "openat", "ftruncate", "fsync",
	    "fdatasync", "pwrite64", "unlinkat", "unlink", "rename",
	    "renameat", "renameat2", "mkdirat", "mkdir", "fchmod", "fchown",
	    NULL };
	int i, nr;

	for (i = 0; calls[i] != NULL; i++)
		if ((nr = seccomp_syscall_resolve_name(calls[i])) !=
		    __NR_SCMP_ERROR && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    nr, 0) != 0)
			return -1;
	return 0;
}

int
sandbox_seccomp(enum sandbox_role role, const struct sandbox_conf *conf,
    char *errbuf, size_t errlen)
{
	scmp_filter_ctx ctx;
	size_t i;
	int nr, r = -1;

	if (conf->mode == SANDBOX_OFF)
		return 0;
	/* localtime() reads /etc/localtime once; do it while we may. */
	tzset();
	ctx = seccomp_init(conf->mode == SANDBOX_LOG ? SCMP_ACT_LOG :
	    role == SANDBOX_SIGNER ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		snprintf(errbuf, errlen, "seccomp: cannot initialise");
		return -1;
	}
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) != 0) {
		snprintf(errbuf, errlen, "seccomp: cannot set attributes");
		goto out;
	}
	if (add_list(ctx, common, errbuf, errlen) != 0 ||
	    add_list(ctx, role == SANDBOX_FRONT ? front_only : signer_only,
	    errbuf, errlen) != 0)
		goto out;
	if (add_memory(ctx) != 0 || add_fcntl(ctx, role == SANDBOX_SIGNER) !=
	    0 || (role == SANDBOX_SIGNER &&
	    add_signer_rules(ctx, conf->nunix > 0) != 0)) {
		snprintf(errbuf, errlen, "seccomp: cannot add argument rules");
		goto out;
	}
	if (role == SANDBOX_SIGNER && conf->nwrite > 0 && add_writes(ctx) !=
	    0) {
		snprintf(errbuf, errlen, "sandbox write: refused by "
		    "libseccomp");
		goto out;
	}
	if (role == SANDBOX_SIGNER && conf->nunix > 0 && add_unix(ctx) != 0) {
		snprintf(errbuf, errlen, "sandbox connect-unix: refused by "
		    "libseccomp");
		goto out;
	}
	for (i = 0; role == SANDBOX_SIGNER && i < conf->nallow; i++) {
		if (strcmp(conf->allow[i], SANDBOX_ALLOW_INET) == 0) {
			if (add_inet(ctx) != 0) {
				snprintf(errbuf, errlen, "sandbox allow socket "
				    "inet: refused by libseccomp");
				goto out;
			}
			continue;
		}
		if ((nr = seccomp_syscall_resolve_name(conf->allow[i]))
		    == __NR_SCMP_ERROR) {
			snprintf(errbuf, errlen, "sandbox allow: unknown system "
			    "call \"%s\"", conf->allow[i]);
			goto out;
		}
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
			snprintf(errbuf, errlen, "sandbox allow %s: refused "
			    "by libseccomp", conf->allow[i]);
			goto out;
		}
	}
	if (getenv("P11B_SECCOMP_DUMP") != NULL)	/* for the curious */
		(void)seccomp_export_pfc(ctx, STDERR_FILENO);
	if (seccomp_load(ctx) != 0) {
		snprintf(errbuf, errlen, "seccomp: cannot load the filter");
		goto out;
	}
	r = 0;
 out:
	seccomp_release(ctx);
	return r;
}
