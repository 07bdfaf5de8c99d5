/*
 * p11broker-exporter: the broker's counters as a Prometheus scrape target.
 *
 * A separate, small process: it listens on a TCP address (loopback by
 * default), and for each GET /metrics asks the broker for its Stats over
 * the broker's socket, as any client with the "stats" permission would.
 * The broker's front keeps its sandbox (no sockets, no files); this
 * process holds no key, no PIN and no token.
 *
 * One thread, one poll loop, at most EXP_CLIENTS connections; each must
 * send its request within EXP_DEADLINE_MS, in at most HTTP_REQUEST_MAX
 * bytes, and gets one answer, then the connection is closed.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "p11broker.h"
#include "prom_text.h"
#include "sandbox.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION		"unknown"
#endif

#define EXP_LISTEN_DEFAULT	"127.0.0.1:9846"
#define EXP_CLIENTS		16
#define EXP_DEADLINE_MS		5000	/* to send a whole request */
#define EXP_SEND_TIMEOUT_S	5	/* to take the whole answer */

struct client {
	int		 fd;
	size_t		 len;
	long long	 deadline_ms;
	char		 buf[HTTP_REQUEST_MAX];
};

struct exporter {
	const char	*socket_path;	/* NULL: the library's default */
	int		 listen_fd;
	struct client	 clients[EXP_CLIENTS];
	int		 broker_up;	/* the last scrape reached it */
	unsigned long long scrapes;
	unsigned long long scrape_errors;
};

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: p11broker-exporter [-hV] [-l address:port] "
	    "[-s socket] [-u user]\n"
	    "  -l address:port  listen here (default %s; [::1]:port for "
	    "IPv6)\n"
	    "  -s socket        the broker's socket (default "
	    "$P11BROKER_SOCKET,\n"
	    "                   else %s)\n"
	    "  -u user          started as root: run as this user once "
	    "listening\n"
	    "  -h               this help\n"
	    "  -V               version\n"
	    "Serves GET /metrics (Prometheus text format 0.0.4).  The user "
	    "it runs as\nneeds the \"stats\" permission in the broker's "
	    "policy.\n", EXP_LISTEN_DEFAULT, P11B_DEFAULT_SOCKET);
}

/* "host:port", "[v6]:port".  The address is numeric: no name lookups. */
static int
listen_on(const char *spec)
{
	struct addrinfo hints, *ai;
	char host[INET6_ADDRSTRLEN + 2], *port;
	int fd, on = 1, r;

	if (strlcpy(host, spec, sizeof(host)) >= sizeof(host) ||
	    (port = strrchr(host, ':')) == NULL)
		fatalx("-l %s: not address:port", spec);
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host + 1) + 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((r = getaddrinfo(host, port, &hints, &ai)) != 0)
		fatalx("-l %s: %s", spec, gai_strerror(r));
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		fatal("socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		fatal("-l %s: bind", spec);
	freeaddrinfo(ai);
	if (listen(fd, EXP_CLIENTS) == -1)
		fatal("listen");
	return fd;
}

/* The address really bound (port 0 picks one): the tests wait for it. */
static void
log_listening(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN], serv[16];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		fatal("getsockname");
	log_info("listening on %s%s%s:%s", ss.ss_family == AF_INET6 ? "[" :
	    "", host, ss.ss_family == AF_INET6 ? "]" : "", serv);
}

static void
become(const char *user)
{
	struct sandbox_conf sc;
	struct passwd *pw;
	char err[LOG_MSG_MAX];

	if (geteuid() == 0 && user == NULL)
		fatalx("started as root: give -u USER to run as");
	memset(&sc, 0, sizeof(sc));
	sc.config_path = "p11broker-exporter";
	if (user != NULL) {
		if ((pw = getpwnam(user)) == NULL)
			fatalx("-u %s: no such user", user);
		sc.user = user;
		sc.uid = pw->pw_uid;
		sc.gid = pw->pw_gid;
	}
	if (sandbox_harden(&sc, err, sizeof(err)) != 0)
		fatalx("%s", err);
}

/* The body for /metrics: the broker's families and the exporter's own. */
static char *
scrape(struct exporter *e, size_t *lenp)
{
	struct p11b_conn *conn = NULL;
	struct p11b_stats st;
	char *body = NULL;
	FILE *fp;
	int r, up;

	if ((fp = open_memstream(&body, lenp)) == NULL)
		return NULL;
	e->scrapes++;
	memset(&st, 0, sizeof(st));
	if ((r = p11b_connect(e->socket_path, &conn)) == P11B_OK)
		r = p11b_stats(conn, &st);
	if (conn != NULL)
		p11b_close(conn);
	up = r == P11B_OK;
	if (up)
		(void)prom_write_stats(fp, &st);
	else
		e->scrape_errors++;
	if (up != e->broker_up && up)	/* log changes, not every scrape */
		log_info("the broker answers");
	else if (up != e->broker_up)
		log_warnx("the broker does not answer: %s (%s)",
		    p11b_strerror(r), p11b_last_message());
	e->broker_up = up;
	p11b_stats_free(&st);
	fprintf(fp, "# HELP p11broker_up 1 when the exporter's last Stats "
	    "request was answered.\n# TYPE p11broker_up gauge\n"
	    "p11broker_up %d\n", up);
	fprintf(fp, "# HELP p11broker_exporter_scrapes_total Scrapes "
	    "served, and those the broker did not answer.\n"
	    "# TYPE p11broker_exporter_scrapes_total counter\n"
	    "p11broker_exporter_scrapes_total{result=\"ok\"} %llu\n"
	    "p11broker_exporter_scrapes_total{result=\"error\"} %llu\n",
	    e->scrapes - e->scrape_errors, e->scrape_errors);
	if (fclose(fp) != 0) {
		free(body);
		return NULL;
	}
	return body;
}

static void
answer(int fd, int head_only, const char *status, const char *type,
    const char *extra, const char *body, size_t len)
{
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
	    type, len, extra);
	if (n < 0 || (size_t)n >= sizeof(hdr) ||
	    send(fd, hdr, (size_t)n, MSG_NOSIGNAL) != n)
		return;
	if (!head_only && len > 0)
		(void)send(fd, body, len, MSG_NOSIGNAL);
}

#define TEXT	"text/plain; charset=utf-8"

static void
serve(struct exporter *e, int fd, const struct http_request *req)
{
	int head = strcmp(req->method, "HEAD") == 0;
	const char *msg;
	char *body;
	size_t len;

	if (!head && strcmp(req->method, "GET") != 0) {
		msg = "only GET and HEAD\n";
		answer(fd, 0, "405 Method Not Allowed", TEXT,
		    "Allow: GET, HEAD\r\n", msg, strlen(msg));
	} else if (strcmp(req->path, "/metrics") == 0) {
		if ((body = scrape(e, &len)) == NULL) {
			msg = "out of memory\n";
			answer(fd, head, "500 Internal Server Error", TEXT, "",
			    msg, strlen(msg));
			return;
		}
		answer(fd, head, "200 OK",
		    "text/plain; version=0.0.4; charset=utf-8", "", body, len);
		free(body);
	} else if (strcmp(req->path, "/") == 0) {
		msg = "p11broker-exporter: the metrics are at /metrics\n";
		answer(fd, head, "200 OK", TEXT, "", msg, strlen(msg));
	} else {
		msg = "not found; the metrics are at /metrics\n";
		answer(fd, head, "404 Not Found", TEXT, "", msg, strlen(msg));
	}
}

static void
client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Bytes arrived: answer once the request is whole, or refuse it. */
static void
client_read(struct exporter *e, struct client *c)
{
	struct http_request req;
	struct timeval tv = { EXP_SEND_TIMEOUT_S, 0 };
	const char *msg;
	ssize_t n;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	switch (http_parse_request(c->buf, c->len, &req)) {
	case HTTP_INCOMPLETE:
		return;
	case HTTP_PARSED:
		/* The answer goes out blocking, bounded by SO_SNDTIMEO. */
		(void)fcntl(c->fd, F_SETFL, 0);
		(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv));
		serve(e, c->fd, &req);
		break;
	case HTTP_TOO_LARGE:
		msg = "request headers too large\n";
		answer(c->fd, 0, "431 Request Header Fields Too Large", TEXT,
		    "", msg, strlen(msg));
		break;
	case HTTP_BAD:
		msg = "bad request\n";
		answer(c->fd, 0, "400 Bad Request", TEXT, "", msg, strlen(msg));
		break;
	}
	client_close(c);
}

static void
accept_one(struct exporter *e)
{
	int fd, i;

	if ((fd = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) == -1)
		return;
	for (i = 0; i < EXP_CLIENTS; i++)
		if (e->clients[i].fd == -1) {
			e->clients[i].fd = fd;
			e->clients[i].len = 0;
			e->clients[i].deadline_ms = now_ms() + EXP_DEADLINE_MS;
			return;
		}
	close(fd);		/* not polled when full; cannot happen */
}

static void
run(struct exporter *e)
{
	struct pollfd pfd[EXP_CLIENTS + 1];
	int idx[EXP_CLIENTS + 1], i, n, busy;
	long long now, wait;

	while (!stopping) {
		n = busy = 0;
		now = now_ms();
		wait = EXP_DEADLINE_MS;
		for (i = 0; i < EXP_CLIENTS; i++) {
			if (e->clients[i].fd == -1)
				continue;
			if (e->clients[i].deadline_ms <= now) {
				client_close(&e->clients[i]);
				continue;
			}
			if (e->clients[i].deadline_ms - now < wait)
				wait = e->clients[i].deadline_ms - now;
			pfd[n] = (struct pollfd){ e->clients[i].fd, POLLIN, 0 };
			idx[n++] = i;
			busy++;
		}
		if (busy < EXP_CLIENTS) {	/* full: new ones wait */
			pfd[n] = (struct pollfd){ e->listen_fd, POLLIN, 0 };
			idx[n++] = -1;
		}
		if (poll(pfd, (nfds_t)n, (int)wait) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (idx[i] == -1)
				accept_one(e);
			else
				client_read(e, &e->clients[idx[i]]);
		}
	}
}

int
main(int argc, char *argv[])
{
	static struct exporter e;
	struct sigaction sa;
	const char *listen_spec = EXP_LISTEN_DEFAULT, *user = NULL;
	int ch, i;

	log_init(1, 0);
	log_set_name("p11broker-exporter");
	while ((ch = getopt(argc, argv, "hl:s:u:V")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'l':
			listen_spec = optarg;
			break;
		case 's':
			e.socket_path = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			printf("p11broker-exporter %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < EXP_CLIENTS; i++)
		e.clients[i].fd = -1;
	e.broker_up = -1;
	e.listen_fd = listen_on(listen_spec);
	become(user);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_listening(e.listen_fd);
	run(&e);
	log_info("stopped");
	return 0;
}
