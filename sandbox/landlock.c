/*
 * Landlock for the signer: once the module is loaded and logged in, file
 * reads are allowed only beneath the paths the module needs and nothing
 * may be written, created or executed anywhere.  The paths come from
 * "sandbox read"; without it, for SoftHSM2 they are the token directory
 * and the configuration file SOFTHSM2_CONF names.  Kernels without
 * Landlock get a notice and run without it.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

#define MAX_PATHS	(SANDBOX_LIST_MAX + 2)

/* What the signer may do beneath a path: read files, list directories. */
#define READ_ACCESS	(LANDLOCK_ACCESS_FS_READ_FILE | \
			 LANDLOCK_ACCESS_FS_READ_DIR)

static void
notice(const char *msg)
{
	fprintf(stderr, "p11brokerd[signer]: %s\n", msg);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* SoftHSM2: its config file and the tokendir it names. */
static size_t
softhsm_paths(char paths[][4096], size_t max)
{
	const char *conf = getenv("SOFTHSM2_CONF");
	char line[4096], *k, *v;
	size_t n = 0;
	FILE *fp;

	if (conf == NULL)
		conf = "/etc/softhsm/softhsm2.conf";
	if (max < 2 || (fp = fopen(conf, "r")) == NULL)
		return 0;
	strlcpy(paths[n++], conf, 4096);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((v = strchr(line, '=')) == NULL || line[0] == '#')
			continue;
		*v++ = '\0';
		k = trim(line);
		if (strcmp(k, "directories.tokendir") == 0) {
			strlcpy(paths[n++], trim(v), 4096);
			break;
		}
	}
	fclose(fp);
	return n;
}

static int
is_softhsm(const char *module)
{
	return module != NULL && strstr(module, "softhsm") != NULL;
}

/* Read (and list) beneath a path, or, for a file, read it. */
#define WRITE_ACCESS	(READ_ACCESS | LANDLOCK_ACCESS_FS_WRITE_FILE | \
			 LANDLOCK_ACCESS_FS_REMOVE_FILE | \
			 LANDLOCK_ACCESS_FS_REMOVE_DIR | \
			 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR)
#define FILE_ACCESS	(LANDLOCK_ACCESS_FS_READ_FILE | \
			 LANDLOCK_ACCESS_FS_WRITE_FILE)

/* One path rule: a directory gets access, a file only its file rights. */
static int
add_path(int rfd, const char *path, uint64_t access, char *errbuf,
    size_t errlen)
{
	struct landlock_path_beneath_attr pb;
	int fd;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1 && errno == ENOENT) {
		/* Nothing there to open: a profile's optional path. */
		fprintf(stderr, "p11brokerd[signer]: landlock: %s does not "
		    "exist; no rule for it\n", path);
		return 0;
	}
	if (fd == -1) {
		snprintf(errbuf, errlen, "landlock: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = access;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) == -1) {
		pb.allowed_access = access & FILE_ACCESS;
		if (syscall(SYS_landlock_add_rule, rfd,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1) {
			snprintf(errbuf, errlen, "landlock: %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/*
 * Landlock ABI 4's network rules (Linux 6.7), which older kernel headers
 * lack: the same layout and values as <linux/landlock.h>.
 */
struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
};

struct ll_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
} __attribute__((packed));

#define LL_RULE_NET_PORT	2
#define LL_NET_BIND_TCP		(1ULL << 0)
#define LL_NET_CONNECT_TCP	(1ULL << 1)

/* "sandbox connect-port": TCP connects to those ports only (ABI 4). */
static int
add_ports(int rfd, const struct sandbox_conf *conf, char *errbuf,
    size_t errlen)
{
	struct ll_net_port_attr np;
	size_t i;

	for (i = 0; i < conf->nconnect; i++) {
		memset(&np, 0, sizeof(np));
		np.allowed_access = LL_NET_CONNECT_TCP;
		np.port = strtoul(conf->connect[i], NULL, 10);
		if (syscall(SYS_landlock_add_rule, rfd, LL_RULE_NET_PORT,
		    &np, 0) == -1) {
			snprintf(errbuf, errlen, "landlock: port %s: %s",
			    conf->connect[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
sandbox_landlock(const struct sandbox_conf *conf, char *errbuf, size_t errlen)
{
	static char paths[MAX_PATHS][4096];
	struct ll_ruleset_attr attr;
	size_t i, n = 0;
	int abi, rfd, net;

	if (conf->mode == SANDBOX_OFF)
		return 0;
	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		notice("this kernel has no Landlock; file reads are not "
		    "confined (seccomp still applies)");
		return 0;
	}
	for (i = 0; i < conf->nread && n < MAX_PATHS; i++)
		strlcpy(paths[n++], conf->read[i], sizeof(paths[0]));
	if (conf->nread == 0 && is_softhsm(conf->module))
		n = softhsm_paths(paths, MAX_PATHS);
	net = conf->nconnect > 0;
	if (net && abi < 4) {
		notice("this kernel's Landlock has no TCP rules (ABI < 4); "
		    "\"sandbox connect-port\" is not enforced");
		net = 0;
	}
	if (n == 0 && conf->nwrite == 0 && !net) {
		notice("no \"sandbox read\" paths for this module; file reads "
		    "are not confined");
		return 0;
	}
	/*
	 * Random numbers: OpenSSL and libraries that read /dev/urandom
	 * rather than call getrandom (opencryptoki's PSS does).
	 */
	if (n > 0 && n < MAX_PATHS)
		strlcpy(paths[n++], "/dev/urandom", sizeof(paths[0]));
	memset(&attr, 0, sizeof(attr));
	/* Handle (and so deny by default) every file access of ABI 1. */
	if (n > 0 || conf->nwrite > 0)
		attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE |
		    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		    LANDLOCK_ACCESS_FS_REMOVE_FILE |
		    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		    LANDLOCK_ACCESS_FS_MAKE_FIFO |
		    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
	/* Only TCP connect and bind are handled: no other network rule. */
	if (net)
		attr.handled_access_net = LL_NET_CONNECT_TCP | LL_NET_BIND_TCP;
	if ((rfd = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    abi >= 4 ? sizeof(attr) : offsetof(struct ll_ruleset_attr,
	    handled_access_net), 0)) == -1) {
		snprintf(errbuf, errlen, "landlock: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++)
		if (add_path(rfd, paths[i], READ_ACCESS, errbuf, errlen) != 0)
			goto fail;
	for (i = 0; i < conf->nwrite; i++)
		if (add_path(rfd, conf->write[i], WRITE_ACCESS, errbuf,
		    errlen) != 0)
			goto fail;
	if (net && add_ports(rfd, conf, errbuf, errlen) != 0)
		goto fail;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		snprintf(errbuf, errlen, "landlock: %s", strerror(errno));
		goto fail;
	}
	close(rfd);
	return 0;
 fail:
	close(rfd);
	return -1;
}
