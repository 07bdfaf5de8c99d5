/*
 * The monitor's confinement.  Started as root, it keeps only what it
 * does after start-up:
 *   CAP_SETUID, CAP_SETGID	its children (signers restarted or started
 *				for a reload) drop to the broker's user;
 *   CAP_KILL			it signals those children (another uid);
 *   CAP_DAC_OVERRIDE		it re-reads the config, policy and PIN file
 *				on SIGHUP and reopens the audit log on
 *				SIGUSR1 in a directory that may belong to
 *				the broker's user (logrotate's layout), and
 *				a signer opens the token's files before it
 *				drops to the broker's user.
 * Everything else goes, from the bounding set too, so that nothing it
 * runs can get it back.  The socket (CAP_CHOWN) is made before this.
 *
 * Its seccomp filter is a list of refused calls, not an allowlist: the
 * filter is inherited by every child it forks, and a signer runs the
 * PKCS#11 module's C_Initialize and C_Login (any vendor's code, any
 * system call) before it installs its own allowlist.  What is refused
 * is what neither the monitor nor a module has business doing:
 * executing, tracing, loading kernel code, mounting, namespaces.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

static const int monitor_caps[] = {
	CAP_DAC_OVERRIDE, CAP_KILL, CAP_SETGID, CAP_SETUID,
};

static const char *const monitor_refused[] = {
	"execve", "execveat",			/* it never runs a program */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"pidfd_getfd",				/* other processes */
	"init_module", "finit_module", "delete_module", "kexec_load",
	"kexec_file_load", "bpf", "perf_event_open", "iopl", "ioperm",
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount",
	"fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
	"setns", "unshare",			/* namespaces */
	"open_by_handle_at", "name_to_handle_at",	/* past any path */
	"swapon", "swapoff", "reboot", "acct", "quotactl", "syslog",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname", "vhangup",
	"keyctl", "add_key", "request_key", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"capset",				/* nothing to add */
};

static uint64_t
cap_bit(int cap)
{
	return (uint64_t)1 << cap;
}

static int
drop_caps(char *errbuf, size_t errlen)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t have, keep = 0;
	size_t i;
	int cap;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == -1)
		goto fail;
	have = d[0].permitted | (uint64_t)d[1].permitted << 32;
	for (i = 0; i < sizeof(monitor_caps) / sizeof(monitor_caps[0]); i++)
		keep |= cap_bit(monitor_caps[i]);
	keep &= have;
	if (have & cap_bit(CAP_SETPCAP)) {
		for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
			if (!(keep & cap_bit(cap)) &&
			    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
				goto fail;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(d, 0, sizeof(d));
	d[0].permitted = d[0].effective = (uint32_t)keep;
	d[1].permitted = d[1].effective = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) == -1)
		goto fail;
	return 0;
 fail:
	snprintf(errbuf, errlen, "monitor: capabilities: %s", strerror(errno));
	return -1;
}

static int
refuse_calls(const struct sandbox_conf *conf, char *errbuf, size_t errlen)
{
	scmp_filter_ctx ctx;
	uint32_t act;
	size_t i;
	int nr, r = -1;

	if (conf->mode == SANDBOX_OFF)
		return 0;
	act = conf->mode == SANDBOX_LOG ? SCMP_ACT_LOG :
	    SCMP_ACT_ERRNO(EPERM);
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(errbuf, errlen, "monitor: seccomp: cannot initialise");
		return -1;
	}
	for (i = 0; i < sizeof(monitor_refused) / sizeof(monitor_refused[0]);
	    i++) {
		/* Calls this architecture does not have need no rule. */
		if ((nr = seccomp_syscall_resolve_name(monitor_refused[i])) ==
		    __NR_SCMP_ERROR || nr < 0)
			continue;
		if (seccomp_rule_add(ctx, act, nr, 0) != 0) {
			snprintf(errbuf, errlen, "monitor: seccomp: cannot "
			    "refuse %s", monitor_refused[i]);
			goto out;
		}
	}
	if (seccomp_load(ctx) != 0) {
		snprintf(errbuf, errlen, "monitor: seccomp: cannot load the "
		    "filter");
		goto out;
	}
	r = 0;
 out:
	seccomp_release(ctx);
	return r;
}

int
sandbox_monitor(const struct sandbox_conf *conf, char *errbuf, size_t errlen)
{
	if (drop_caps(errbuf, errlen) != 0 ||
	    refuse_calls(conf, errbuf, errlen) != 0)
		return -1;
	return 0;
}
