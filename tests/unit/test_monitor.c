/*
 * Unit tests for the monitor's helpers: the front watchdog's pace and
 * deadline (frontwatch.c), and the memory of refused PINs (pinguard.c),
 * with a reload's PIN read from a file.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "frontwatch.h"
#include "pinguard.h"
#include "secret.h"
#include "tap.h"

static int
ping_waiting(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct ctl_msg cm;
	int r;

	if (poll(&pfd, 1, 0) != 1)
		return 0;
	if (ctl_recv(fd, &cm) != 0)
		return -1;
	r = cm.type == CTL_PING;
	ctl_msg_free(&cm);
	return r;
}

static void
test_frontwatch(void)
{
	struct front_watch w;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1) {
		ok(0, "socketpair");
		return;
	}
	frontwatch_arm(&w, 2, 1000);
	is_int(frontwatch_wait(&w, 1000), 500, "deadline 2 s: first ping in "
	    "500 ms (a quarter)");
	is_int(frontwatch_tick(&w, sp[0], 1499), 0, "before: nothing");
	is_int(ping_waiting(sp[1]), 0, "... and no ping");
	is_int(frontwatch_tick(&w, sp[0], 1500), 0, "due: not late");
	is_int(ping_waiting(sp[1]), 1, "... a ping was sent");
	is_int(frontwatch_wait(&w, 1500), 2000, "then the deadline, 2 s on");
	is_int(frontwatch_tick(&w, sp[0], 3000), 0, "one ping at a time");
	is_int(ping_waiting(sp[1]), 0, "... no second ping");
	is_int(frontwatch_tick(&w, sp[0], 3500), 1, "unanswered 2 s: late");
	frontwatch_answered(&w, 3000);
	is_int(frontwatch_tick(&w, sp[0], 3400), 0, "answered: not late");
	is_int(frontwatch_wait(&w, 3000), 500, "answered: next ping 500 ms on");
	frontwatch_arm(&w, 0, 1000);
	is_int(frontwatch_wait(&w, 1000), -1, "front-watchdog 0: never");
	is_int(frontwatch_tick(&w, sp[0], 999999), 0, "... never late");
	is_int(ping_waiting(sp[1]), 0, "... never pings");
	frontwatch_arm(&w, 1, 0);
	is_int(frontwatch_wait(&w, 0), 250, "deadline 1 s: pings 250 ms apart");
	frontwatch_disarm(&w);
	is_int(frontwatch_wait(&w, 0), -1, "disarmed: nothing to do");
	close(sp[0]);
	close(sp[1]);
}

static struct secret *
pin(const char *s)
{
	struct secret *p;

	if ((p = secret_new(257)) == NULL)
		exit(1);
	memcpy(p->buf, s, strlen(s));
	p->len = strlen(s);
	if (secret_seal(p) != 0)
		exit(1);
	return p;
}

static void
test_pinguard(void)
{
	struct pin_guard g;
	struct secret *a = pin("1234"), *b = pin("5678"), *x;
	char s[16];
	int i;

	ok(pin_guard_init(&g) == 0, "guard set up");
	is_int(pin_guard_refused(&g, a), 0, "nothing refused yet");
	ok(pin_guard_refuse(&g, a) == 0, "refuse 1234");
	is_int(pin_guard_refused(&g, a), 1, "1234 refused");
	is_int(pin_guard_refused(&g, b), 0, "5678 not");
	ok(pin_guard_refuse(&g, a) == 0 && g.n == 1, "refused twice: kept once");
	for (i = 0; i < PIN_GUARD_MAX - 1; i++) {
		snprintf(s, sizeof(s), "x%d", i);
		x = pin(s);
		(void)pin_guard_refuse(&g, x);
		secret_free(x);
	}
	is_int(pin_guard_refused(&g, a), 1, "after 7 more: 1234 still kept");
	x = pin("one-more");
	(void)pin_guard_refuse(&g, x);
	secret_free(x);
	is_int(pin_guard_refused(&g, a), 0, "the 9th pushes out the oldest");
	secret_free(a);
	secret_free(b);
}

static struct config *
conf_with_pin_file(const char *path)
{
	struct config *c = NULL;
	char text[512], err[256];

	snprintf(text, sizeof(text), "socket \"/tmp/s\"\npolicy \"p\"\n"
	    "token {\n\tmodule \"/m.so\"\n\tlabel \"t\"\n\tpin-file \"%s\"\n"
	    "}\n", path);
	if (config_parse("/tmp/test.conf", text, strlen(text), &c, err,
	    sizeof(err)) != 0)
		printf("# %s\n", err);
	return c;
}

static void
write_pin(const char *path, const char *s)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		exit(1);
	close(fd);
}

static void
test_pin_for_reload(void)
{
	struct pin_guard g;
	struct config *c;
	struct secret *cur = pin("1234"), *fresh = NULL;
	char dir[] = "/tmp/test_monitor.XXXXXX", path[64], err[256];

	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(path, sizeof(path), "%s/pin", dir);
	write_pin(path, "1234\n");
	(void)pin_guard_init(&g);
	if ((c = conf_with_pin_file(path)) == NULL) {
		ok(0, "config with a pin-file");
		return;
	}
	ok(pin_for_reload(&g, c, &c->tokens[0], cur, &fresh, err,
	    sizeof(err)) == 0 &&
	    fresh != NULL, "reload: the PIN read again from the file");
	secret_free(fresh);
	(void)pin_guard_refuse(&g, cur);
	ok(pin_for_reload(&g, c, &c->tokens[0], cur, &fresh, err,
	    sizeof(err)) == -1 &&
	    fresh == NULL && strstr(err, "the token refused this PIN "
	    "before") != NULL, "reload: the same PIN, refused before: no");
	write_pin(path, "9999\n");
	ok(pin_for_reload(&g, c, &c->tokens[0], cur, &fresh, err,
	    sizeof(err)) == 0 &&
	    fresh != NULL && pin_guard_refused(&g, fresh) == 0,
	    "reload: a different PIN in the file: yes");
	secret_free(fresh);
	unlink(path);
	ok(pin_for_reload(&g, c, &c->tokens[0], cur, &fresh, err,
	    sizeof(err)) == -1,
	    "reload: the file gone, the refused PIN read before: no");
	write_pin(path, "1234\n");
	secret_free(cur);
	cur = pin("4321");
	unlink(path);
	ok(pin_for_reload(&g, c, &c->tokens[0], cur, &fresh, err,
	    sizeof(err)) == 0 &&
	    fresh == NULL, "reload: the file gone: the PIN read before stays");
	/* A token block the reload adds: its PIN must be read now. */
	ok(pin_for_reload(&g, c, &c->tokens[0], NULL, &fresh, err,
	    sizeof(err)) == -1 && fresh == NULL, "reload: a new block whose "
	    "PIN file is missing: refused");
	write_pin(path, "5555\n");
	ok(pin_for_reload(&g, c, &c->tokens[0], NULL, &fresh, err,
	    sizeof(err)) == 0 && fresh != NULL, "reload: a new block: its "
	    "PIN read");
	secret_free(fresh);
	unlink(path);
	rmdir(dir);
	config_free(c);
	secret_free(cur);
}

int
main(void)
{
	if (secret_init() != 0)
		return 1;
	test_frontwatch();
	test_pinguard();
	test_pin_for_reload();
	return tap_done();
}
