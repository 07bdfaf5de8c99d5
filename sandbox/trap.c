/*
 * Saying which system call the signer's filter stopped.  The signer's
 * filter traps (SECCOMP_RET_TRAP) instead of killing: the kernel never
 * runs the call and sends SIGSYS, whose siginfo holds the call's number
 * and architecture.  The handler below writes them, with the first
 * argument (the family, for socket), as one small record on a descriptor
 * the monitor reads, and ends the process with a status of its own.
 *
 * The record comes from a process that may be running hostile module
 * code: the monitor takes it as a hint for the operator, never as a
 * fact, and bounds what it keeps of it.  A module that changes the
 * handler before the filter is loaded only loses the report; the call
 * still does not run, and rt_sigaction is not in the allowlist after.
 */
#include <sys/socket.h>

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "sandbox.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP	1	/* si_code of a seccomp SIGSYS */
#endif

static int	trap_fd = -1;
static int	trap_status = 1;

/* The first argument of the trapped call, from the saved registers. */
static uint64_t
first_arg(const void *ctx)
{
	const ucontext_t *uc = ctx;

#if defined(__x86_64__)
	return (uint64_t)uc->uc_mcontext.gregs[REG_RDI];
#elif defined(__aarch64__)
	return (uint64_t)uc->uc_mcontext.regs[0];
#else
	(void)uc;
	return 0;
#endif
}

/* Only write(2) and _exit(2): both are in the allowlist. */
static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	struct sandbox_trap t;
	uint8_t rec[SANDBOX_TRAP_RECORD];
	ssize_t n;

	(void)sig;
	if (si->si_code == SYS_SECCOMP && trap_fd != -1) {
		t.nr = si->si_syscall;
		t.arch = si->si_arch;
		t.arg0 = first_arg(ctx);
		sandbox_trap_encode(&t, rec);
		do
			n = write(trap_fd, rec, sizeof(rec));
		while (n == -1 && errno == EINTR);
	}
	_exit(trap_status);
}

int
sandbox_trap_init(int fd, int status)
{
	struct sigaction sa;

	trap_fd = fd;
	trap_status = status;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL);
}

/*
 * The record: a fixed magic, then number, architecture and argument,
 * little-endian, so that a stray write is not mistaken for one.
 */
#define TRAP_MAGIC	0x70313162u	/* "p11b" */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
sandbox_trap_encode(const struct sandbox_trap *t, uint8_t *rec)
{
	put32(rec, TRAP_MAGIC);
	put32(rec + 4, (uint32_t)t->nr);
	put32(rec + 8, t->arch);
	put32(rec + 12, (uint32_t)t->arg0);
	put32(rec + 16, (uint32_t)(t->arg0 >> 32));
}

int
sandbox_trap_decode(const uint8_t *rec, size_t len, struct sandbox_trap *t)
{
	if (len != SANDBOX_TRAP_RECORD || get32(rec) != TRAP_MAGIC)
		return -1;
	t->nr = (int)get32(rec + 4);
	t->arch = get32(rec + 8);
	t->arg0 = (uint64_t)get32(rec + 12) | (uint64_t)get32(rec + 16) << 32;
	return 0;
}

static const char *
family_name(uint64_t af)
{
	switch (af) {
	case AF_UNIX:
		return "AF_UNIX";
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	case AF_NETLINK:
		return "AF_NETLINK";
	case AF_PACKET:
		return "AF_PACKET";
	default:
		return NULL;
	}
}

/*
 * The call's name as libseccomp knows it for the reported architecture,
 * or "unknown": a bounded vocabulary, whatever the record says.
 */
void
sandbox_trap_name(const struct sandbox_trap *t, char *name, size_t namelen)
{
	char *s = NULL;

	if (t->nr >= 0)
		s = seccomp_syscall_resolve_num_arch(t->arch, t->nr);
	strlcpy(name, s != NULL ? s : "unknown", namelen);
	free(s);
}

void
sandbox_trap_describe(const struct sandbox_trap *t, char *buf, size_t len)
{
	char name[64], arg[48] = "";
	const char *fam, *hint = NULL;

	sandbox_trap_name(t, name, sizeof(name));
	if (strcmp(name, "socket") == 0) {
		fam = family_name(t->arg0);
		if (fam != NULL)
			snprintf(arg, sizeof(arg), ", family %s", fam);
		else
			snprintf(arg, sizeof(arg), ", family %llu",
			    (unsigned long long)t->arg0);
		if (t->arg0 == AF_INET || t->arg0 == AF_INET6)
			hint = "sandbox allow socket inet";
	}
	if (strcmp(name, "unknown") == 0)
		snprintf(buf, len, "system call %d (arch 0x%x)", t->nr,
		    t->arch);
	else if (hint != NULL)
		snprintf(buf, len, "%s (%d%s); the config line that allows "
		    "it: \"%s\"", name, t->nr, arg, hint);
	else
		snprintf(buf, len, "%s (%d%s); the config line that allows "
		    "it: \"sandbox allow %s\"", name, t->nr, arg, name);
}
