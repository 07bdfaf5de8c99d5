/*
 * Privilege drop and hardening.  Started as root, a process becomes the
 * configured user for good (supplementary groups, gid, uid, each checked
 * afterwards, and a check that root cannot be regained); started as the
 * service user (systemd's User=), there is nothing to drop.  Either way
 * it can gain nothing by exec (no new privileges), cannot be ptraced or
 * dumped by the same user, and writes no core file.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

int
sandbox_no_dumps(char *errbuf, size_t errlen)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(errbuf, errlen, "hardening: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
drop_to(uid_t uid, gid_t gid, char *errbuf, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(errbuf, errlen, "dropping privileges to uid %u: %s",
		    (unsigned)uid, strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) ==
	    -1 || ru != uid || eu != uid || su != uid || rg != gid ||
	    eg != gid || sg != gid) {
		snprintf(errbuf, errlen, "dropping privileges: ids did not "
		    "change");
		return -1;
	}
	/* Irreversible: going back must fail. */
	if (setuid(0) != -1 || setgid(0) != -1) {
		snprintf(errbuf, errlen, "dropping privileges: root could be "
		    "regained");
		return -1;
	}
	return 0;
}

int
sandbox_harden(const struct sandbox_conf *conf, char *errbuf, size_t errlen)
{
	if (geteuid() == 0) {
		if (conf->user == NULL) {
			snprintf(errbuf, errlen, "%s: started as root without "
			    "a \"user\" statement; the broker will not run "
			    "as root", conf->config_path);
			return -1;
		}
		if (drop_to(conf->uid, conf->gid, errbuf,
		    errlen) != 0)
			return -1;
	}
	return sandbox_no_dumps(errbuf, errlen);
}
