/*
 * sandbox_probe: prove the broker's confinement bites.  In a child, it
 * installs the real allowlist of one process (the same sandbox_seccomp()
 * the daemon calls) and then makes one system call; the parent prints
 * how the child ended: "signal N" or "exit N".
 *
 *   sandbox_probe front|signer CALL
 *	CALL: allowed (getpid, then exit 0), execve, socket (AF_INET),
 *	open-write (openat O_WRONLY|O_CREAT), ptrace, mmap-exec
 *   sandbox_probe landlock DIR INSIDE OUTSIDE
 *	reads allowed beneath DIR only: prints "inside=ok outside=EACCES"
 *	(or the errno names), or "unsupported" without Landlock.
 */
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "sandbox.h"

static int
call(const char *what)
{
	char *argv[] = { "/bin/true", NULL };
	void *p;

	if (strcmp(what, "allowed") == 0)
		return getpid() > 0 ? 0 : 1;
	if (strcmp(what, "execve") == 0)
		return execve(argv[0], argv, NULL) == -1 ? 2 : 0;
	if (strcmp(what, "socket") == 0)
		return socket(AF_INET, SOCK_STREAM, 0) == -1 ? 2 : 0;
	if (strcmp(what, "open-write") == 0)
		return openat(AT_FDCWD, "/tmp/sandbox_probe.out",
		    O_WRONLY | O_CREAT, 0600) == -1 ? 2 : 0;
	if (strcmp(what, "ptrace") == 0)
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1 ? 2 : 0;
	if (strcmp(what, "mmap-exec") == 0) {
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
		    MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? 2 : 0;
	}
	fprintf(stderr, "sandbox_probe: unknown call %s\n", what);
	return 3;
}

static int
report(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) == -1) {
		perror("waitpid");
		return 1;
	}
	if (WIFSIGNALED(status))
		printf("signal %d\n", WTERMSIG(status));
	else
		printf("exit %d\n", WEXITSTATUS(status));
	return 0;
}

static const char *
open_result(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return errno == EACCES ? "EACCES" : strerror(errno);
	close(fd);
	return "ok";
}

static int
landlock(char *dir, const char *inside, const char *outside)
{
	struct sandbox_conf conf;
	char err[1024], *paths[1] = { dir };
	pid_t pid;

	if (syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION) < 1) {
		printf("unsupported\n");
		return 0;
	}
	memset(&conf, 0, sizeof(conf));
	conf.mode = SANDBOX_ENFORCE;
	conf.read = paths;
	conf.nread = 1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (sandbox_landlock(&conf, err, sizeof(err)) != 0) {
			printf("error %s\n", err);
			fflush(stdout);
			_exit(1);
		}
		printf("inside=%s ", open_result(inside));
		printf("outside=%s\n", open_result(outside));
		fflush(stdout);
		_exit(0);
	}
	return pid == -1 ? 1 : report(pid) != 0;
}

int
main(int argc, char *argv[])
{
	struct sandbox_conf conf;
	enum sandbox_role role;
	char err[1024];
	pid_t pid;

	if (argc == 5 && strcmp(argv[1], "landlock") == 0)
		return landlock(argv[2], argv[3], argv[4]);
	if (argc != 3) {
		fprintf(stderr, "usage: sandbox_probe front|signer CALL\n"
		    "       sandbox_probe landlock DIR INSIDE OUTSIDE\n");
		return 2;
	}
	if (strcmp(argv[1], "front") == 0)
		role = SANDBOX_FRONT;
	else if (strcmp(argv[1], "signer") == 0)
		role = SANDBOX_SIGNER;
	else
		return 2;
	memset(&conf, 0, sizeof(conf));
	conf.mode = SANDBOX_ENFORCE;
	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		if (sandbox_seccomp(role, &conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "sandbox_probe: %s\n", err);
			_exit(4);
		}
		_exit(call(argv[2]));
	}
	return report(pid);
}
