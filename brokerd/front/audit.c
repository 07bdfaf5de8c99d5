/*
 * The audit log.  Lines are appended to a pending buffer as decisions and
 * events happen and written with one write() per event-loop turn, before
 * the answers of that turn are sent (server.c calls audit_commit()).
 * When the write fails the log fails closed: the answers of that turn are
 * not sent and every request is refused until a write succeeds again
 * (on-failure open only warns).  Checkpoints (audit_ckpt.c) sign the chain
 * head with a key on the token.  The format is in p11broker-audit(5).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_conf.h"
#include "audit_int.h"
#include "clock.h"
#include "log.h"

#define TAIL_MAX		(64 * 1024)	/* longest line we continue */
#define PENDING_MAX		(8 * 1024 * 1024) /* fail open: then drop */
#define WARN_INTERVAL		60		/* seconds between warnings */

static const char line_prefix[] = "{\"seq\":";

/* --- checks and opening ---------------------------------------------- */

int
audit_reload_check(const struct audit *a, const struct config *conf,
    const struct key_info *keys, size_t nkeys, char *err, size_t errlen)
{
	if ((a != NULL) != (conf->audit_path != NULL)) {
		snprintf(err, errlen, "%s: the audit log is switched %s; that "
		    "needs a restart", conf->path, a != NULL ? "off" : "on");
		return -1;
	}
	return audit_config_check(conf, keys, nkeys, err, errlen);
}

/* The seq of one of our lines, or 0. */
static uint64_t
line_seq(const char *line, size_t len)
{
	const char *p = line + sizeof(line_prefix) - 1;
	uint64_t seq = 0;

	if (len < sizeof(line_prefix) + 2 ||
	    memcmp(line, line_prefix, sizeof(line_prefix) - 1) != 0 ||
	    line[len - 1] != '}')
		return 0;
	for (; p < line + len && *p >= '0' && *p <= '9'; p++) {
		if (seq > (UINT64_MAX - 9) / 10)
			return 0;
		seq = seq * 10 + (uint64_t)(*p - '0');
	}
	return p < line + len && *p == ',' ? seq : 0;
}

/*
 * Continue the chain of a log that already has lines: the next line
 * links to the last one.  A last line that is not ours, or cut short,
 * is for the operator to look at; we do not start a second chain in the
 * same file.
 */
static int
read_tail(struct audit *a, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL, *line;
	size_t n, len;
	int r = -1;

	if (fstat(a->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0)
		return 0;
	n = st.st_size < TAIL_MAX ? (size_t)st.st_size : TAIL_MAX;
	if ((buf = malloc(n)) == NULL ||
	    pread(a->fd, buf, n, st.st_size - (off_t)n) != (ssize_t)n) {
		snprintf(err, errlen, "audit: cannot read %s", a->path);
		goto out;
	}
	if (buf[n - 1] != '\n') {
		snprintf(err, errlen, "audit: %s ends with an incomplete line "
		    "(disk full or crash?); move it away to start a new log",
		    a->path);
		goto out;
	}
	for (line = buf + n - 1; line > buf && line[-1] != '\n'; line--)
		;
	len = buf + n - 1 - line;
	if ((line == buf && n < (size_t)st.st_size) ||
	    (a->chain.seq = line_seq(line, len)) == 0) {
		snprintf(err, errlen, "audit: the last line of %s is not an "
		    "audit line; move the file away to start a new log",
		    a->path);
		goto out;
	}
	audit_sha256(&a->buf.sha, line, len, a->chain.head);
	r = 0;
 out:
	free(buf);
	return r;
}

/* The file's size and inode, after opening or switching. */
static int
file_id(struct audit *a)
{
	struct stat st;

	if (fstat(a->fd, &st) == -1)
		return -1;
	a->size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	a->ino = (uint64_t)st.st_ino;
	return 0;
}

/* Does the line that ends at byte st->size have st's seq and hash? */
static int
ends_at(struct audit *a, const struct audit_state *st)
{
	uint8_t hash[AUDIT_HASH_LEN];
	char *buf, *line;
	size_t n, len;
	int r = -1;

	if (st->size > a->size || st->size > (uint64_t)INT64_MAX)
		return -1;
	n = st->size < TAIL_MAX ? (size_t)st->size : TAIL_MAX;
	if ((buf = malloc(n)) == NULL)
		return -1;
	if (pread(a->fd, buf, n, (off_t)(st->size - n)) != (ssize_t)n ||
	    buf[n - 1] != '\n')
		goto out;
	for (line = buf + n - 1; line > buf && line[-1] != '\n'; line--)
		;
	len = buf + n - 1 - line;
	if (line == buf && n < st->size)
		goto out;
	audit_sha256(&a->buf.sha, line, len, hash);
	if (line_seq(line, len) == st->seq &&
	    memcmp(hash, st->head, sizeof(hash)) == 0)
		r = 0;
 out:
	free(buf);
	return r;
}

/* Go on from where the last run left the log (not from the file). */
static void
resume_from(struct audit *a, enum audit_resume how)
{
	a->resume = how;
	a->chain.seq = a->left.seq;
	memcpy(a->chain.head, a->left.head, sizeof(a->chain.head));
}

/* A log cut in the middle of a line: the marker starts a line of its own. */
static int
end_line(struct audit *a)
{
	char last;

	if (a->size == 0 || pread(a->fd, &last, 1, (off_t)a->size - 1) != 1)
		return a->size == 0 ? 0 : -1;
	if (last == '\n')
		return 0;
	if (write(a->fd, "\n", 1) != 1)
		return -1;
	a->size++;
	return 0;
}

/*
 * Compare the log with the head kept beside it.  A log that still has
 * that line at that offset goes on from its own last line; a new empty
 * file (another inode: rotated or moved away) goes on from the head
 * with a rotate line; anything else was cut or changed while the broker
 * was stopped, and goes on from the head after a discontinuity line,
 * which audit verify reports.
 */
static int
check_head(struct audit *a, char *err, size_t errlen)
{
	char buf[AUDIT_STATE_LEN + 1];
	ssize_t n;

	if ((n = pread(a->state_fd, buf, sizeof(buf), 0)) == -1) {
		snprintf(err, errlen, "audit: cannot read %s.head: %s",
		    a->path, strerror(errno));
		return -1;
	}
	if (n == 0)
		return read_tail(a, err, errlen);	/* none kept yet */
	if (audit_state_parse(buf, (size_t)n, &a->left) != 0) {
		snprintf(err, errlen, "audit: %s.head is not an audit log "
		    "head; remove it to take %s as it is", a->path, a->path);
		return -1;
	}
	if (a->size == 0 && a->ino != a->left.ino) {
		resume_from(a, AUDIT_RESUME_NEW_FILE);
		return 0;
	}
	if (ends_at(a, &a->left) == 0)
		return read_tail(a, err, errlen);
	a->found_size = a->size;
	if (end_line(a) != 0) {
		snprintf(err, errlen, "audit: cannot write %s: %s", a->path,
		    strerror(errno));
		return -1;
	}
	resume_from(a, AUDIT_RESUME_CUT);
	return 0;
}

int
audit_open(struct broker *b, struct audit **ap, char *err, size_t errlen)
{
	struct audit *a;
	char why[LOG_MSG_MAX];

	*ap = NULL;
	if (b->conf->audit_path == NULL)
		return 0;
	if (audit_config_check(b->conf, b->keys, b->nkeys, err, errlen) != 0)
		return -1;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(b->conf->audit_path)) == NULL) {
		free(a);
		snprintf(err, errlen, "audit: out of memory");
		return -1;
	}
	a->b = b;
	a->fd = a->state_fd = -1;
	a->copy.fd = b->audit_copy_fd;
	if ((a->fd = audit_file_open(b->conf, a->path, why, sizeof(why))) ==
	    -1) {
		snprintf(err, errlen, "audit: %s", why);
		audit_free(a);
		return -1;
	}
	if (file_id(a) != 0) {
		snprintf(err, errlen, "audit: %s: %s", a->path,
		    strerror(errno));
		audit_free(a);
		return -1;
	}
	if ((a->state_fd = audit_state_open(a->path)) == -1) {
		snprintf(err, errlen, "audit: %s.head: %s", a->path,
		    strerror(errno));
		audit_free(a);
		return -1;
	}
	if (check_head(a, err, errlen) != 0) {
		audit_free(a);
		return -1;
	}
	*ap = a;
	return 0;
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	audit_checkpoint_abandon(a);
	audit_copy_free(&a->copy);
	if (a->fd != -1)
		close(a->fd);
	if (a->state_fd != -1)
		close(a->state_fd);
	audit_buf_free(&a->buf);
	free(a->path);
	free(a);
}

/* --- event lines (audit_event.c writes them) ------------------------- */

/* The config and policy files in force, with their SHA-256. */
static void
files_event(struct audit *a, const char *event, const char *result)
{
	const struct config *conf = a->b->conf;
	const char *paths[2] = { conf->path, conf->policy_path };
	const char *hexes[2] = { a->b->files_hex[0], a->b->files_hex[1] };
	struct audit_buf *ab;

	ab = audit_begin(a, "event");
	audit_line_str(ab, "event", event);
	if (result != NULL)
		audit_line_str(ab, "result", result);
	audit_line_files(ab, "files", paths, hexes, 2);
	(void)audit_end(a, 0);
}

void
audit_request_init(struct audit *a, struct request_ctx *rq)
{
	if (a == NULL || (rq->op != P11B_OP_SIGN && rq->op != P11B_OP_HMAC &&
	    rq->op != P11B_OP_HMAC_VERIFY))
		return;
	audit_sha256(&a->buf.sha, rq->data != NULL ? rq->data :
	    (const uint8_t *)"", rq->datalen, rq->input_sha256);
	rq->input_hashed = 1;
}

static uint64_t
latency_us(uint64_t received_ns)
{
	uint64_t now = clock_ns();

	return now > received_ns ? (now - received_ns) / 1000 : 0;
}

/* A decision line's first fields: who asked what of which key. */
struct audit_buf *
audit_decision_begin(struct audit *a, const struct peer_cred *peer,
    const struct request_ctx *rq)
{
	struct audit_buf *ab;

	ab = audit_begin(a, "decision");
	audit_line_num(ab, "id", rq->id);
	audit_line_num(ab, "uid", (uint64_t)peer->uid);
	audit_line_num(ab, "gid", (uint64_t)peer->gid);
	audit_line_num(ab, "pid", (uint64_t)(peer->pid > 0 ? peer->pid : 0));
	audit_line_str(ab, "op", p11b_op_name(rq->op));
	audit_line_str(ab, "key", rq->key);
	if (rq->version[0] != '\0')
		audit_line_str(ab, "version", rq->version);
	return ab;
}

int
audit_decision(struct audit *a, const struct peer_cred *peer,
    const struct request_ctx *rq, const struct wire_response *resp,
    int dropped)
{
	struct audit_buf *ab;

	if (a == NULL)
		return 0;
	if (audit_refusing(a)) {
		a->refused++;
		return -1;
	}
	ab = audit_decision_begin(a, peer, rq);
	if (rq->alg != P11B_ALG_NONE)
		audit_line_str(ab, "alg", p11b_alg_name(rq->alg));
	if (rq->input_hashed) {
		audit_line_num(ab, "input_len", rq->datalen);
		audit_line_hex(ab, "input_sha256", rq->input_sha256,
		    sizeof(rq->input_sha256));
	}
	audit_line_str(ab, "status", p11b_status_name(resp->status));
	if (resp->status != P11B_OK && resp->message != NULL)
		audit_line_str(ab, "message", resp->message);
	if (rq->op == P11B_OP_HMAC_VERIFY && resp->status == P11B_OK)
		audit_line_bool(ab, "valid", resp->valid);
	if (rq->op == P11B_OP_GENERATE && rq->gen_what != NULL)
		audit_line_str(ab, "key_type", rq->gen_what);
	if (rq->op == P11B_OP_GENERATE && resp->status == P11B_OK &&
	    resp->nkeys == 1)
		audit_line_hex(ab, "token_id", resp->keys[0].id,
		    resp->keys[0].idlen);
	if (dropped)
		audit_line_bool(ab, "dropped", 1);
	audit_line_num(ab, "latency_us", latency_us(rq->received_ns));
	if (audit_end(a, 0) != 0)
		return a->b->conf->audit_fail_open ? 0 : -1;
	a->fresh++;
	return 0;
}

/* --- writing ----------------------------------------------------------- */

/* Where the log now ends, beside it, for the next start to compare. */
static void
save_head(struct audit *a)
{
	struct audit_state st;
	char line[AUDIT_STATE_LEN];

	if (a->state_fd == -1 || a->chain.seq == 0)
		return;
	memset(&st, 0, sizeof(st));
	st.seq = a->chain.seq;
	st.size = a->size;
	st.ino = a->ino;
	memcpy(st.head, a->chain.head, sizeof(st.head));
	audit_state_format(&st, line);
	if (pwrite(a->state_fd, line, sizeof(line), 0) ==
	    (ssize_t)sizeof(line)) {
		a->state_warned = 0;
		return;
	}
	if (!a->state_warned)
		log_warn("audit: cannot write %s.head", a->path);
	a->state_warned = 1;
}

/* off bytes of the pending lines are in the file. */
static void
consumed(struct audit *a, size_t off)
{
	const char *p;

	if (off == 0)
		return;
	audit_copy_lines(&a->copy, a->b->conf, a->buf.p, off, a->midline);
	for (p = a->buf.p; (p = memchr(p, '\n', a->buf.p + off - p)) != NULL;
	    p++)
		a->written++;
	a->midline = a->buf.p[off - 1] != '\n';
	audit_buf_consume(&a->buf, off);
	a->size += off;
}

/*
 * A write that failed after writing part of the pending lines (a full
 * disk) takes that part back, so that no line of a batch whose answers
 * are then held is in the file as answered (mark_withheld marks them
 * all), and the file ends with a whole line.  If the file cannot be cut
 * back, the whole lines written stay.
 */
static size_t
take_back(struct audit *a, size_t off)
{
	struct stat st;
	const char *nl;
	size_t keep;
	off_t start;

	/* Where our bytes start, whoever else appended before them. */
	if (off == 0 || fstat(a->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)off)
		return off;
	start = st.st_size - (off_t)off;
	a->size = (uint64_t)start;
	if (ftruncate(a->fd, start) == 0)
		return 0;
	nl = memrchr(a->buf.p, '\n', off);
	keep = nl == NULL ? 0 : (size_t)(nl + 1 - a->buf.p);
	if (keep < off && ftruncate(a->fd, start + (off_t)keep) == -1)
		return off;
	return keep;
}

static int
write_pending(struct audit *a)
{
	size_t off = 0;
	ssize_t n;
	int saved;

	while (off < a->buf.len) {
		n = write(a->fd, a->buf.p + off, a->buf.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			saved = n == 0 ? EIO : errno;
			consumed(a, take_back(a, off));
			errno = saved;
			return -1;
		}
		off += (size_t)n;
	}
	consumed(a, off);
	if (off > 0)
		save_head(a);
	return 0;
}

static void
warn_failure(struct audit *a, int err)
{
	time_t now = time(NULL);

	if (!a->failed)
		log_warnx("audit: cannot write %s: %s; %s", a->path,
		    strerror(err), a->b->conf->audit_fail_open ?
		    "on-failure open: SERVING WITHOUT AN AUDIT TRAIL" :
		    "refusing every request until it can be written");
	else if (now - a->warned >= WARN_INTERVAL)
		log_warnx("audit: %s still cannot be written: %s (%zu bytes "
		    "pending, %llu requests refused%s)", a->path,
		    strerror(err), a->buf.len, (unsigned long long)a->refused,
		    a->b->conf->audit_fail_open ? "; serving WITHOUT AN AUDIT "
		    "TRAIL" : "");
	else
		return;
	a->warned = now;
}

/*
 * Failing open, lines pile up; past a limit they are dropped (the chain
 * then shows the gap).  The first line may be half written: it stays.
 */
static void
trim_pending(struct audit *a)
{
	char *nl, *p;

	if (a->buf.len <= PENDING_MAX ||
	    (nl = memchr(a->buf.p, '\n', a->buf.len)) == NULL)
		return;
	for (p = nl + 1; (p = memchr(p, '\n', a->buf.p + a->buf.len - p)) !=
	    NULL; p++)
		a->lost++;
	a->buf.len = a->buf.line_start = nl + 1 - a->buf.p;
	log_warnx("audit: %llu lines lost so far", (unsigned long long)a->lost);
}

/*
 * The answers of this turn will not leave (their connections are
 * closed): their lines, not written yet, must not say they were
 * answered.  Every decision line still pending is one of them: the
 * last commit wrote everything before, and while failing decisions are
 * refused without a line.
 */
static void
mark_withheld(struct audit *a)
{
	const char *nl;
	size_t from = 0;
	int n;

	if (a->midline) {
		if ((nl = memchr(a->buf.p, '\n', a->buf.len)) == NULL)
			return;
		from = nl + 1 - a->buf.p;
	}
	if ((n = audit_buf_withhold(&a->buf, from, &a->chain)) == -1)
		log_warnx("audit: out of memory: an answer withheld is "
		    "logged without \"withheld\"");
	else if (n > 0)
		log_warnx("audit: %d answers withheld (their connections "
		    "closed), logged as dropped", n);
}

static int
write_failed(struct audit *a)
{
	int fresh = a->fresh;

	warn_failure(a, errno);
	a->write_failures++;
	a->failed = 1;
	a->tried = time(NULL);
	a->fresh = 0;
	if (a->b->conf->audit_fail_open) {
		trim_pending(a);
		return 0;
	}
	/* Only lines whose answers never left: nothing to hold back. */
	if (fresh == 0)
		return 0;
	a->hold = 1;
	mark_withheld(a);
	return -1;
}

static void
recovered(struct audit *a)
{
	struct audit_buf *ab;

	a->failed = 0;
	log_info("audit: %s can be written again (%llu requests refused, "
	    "%llu lines lost meanwhile)", a->path,
	    (unsigned long long)a->refused, (unsigned long long)a->lost);
	ab = audit_begin(a, "event");
	audit_line_str(ab, "event", "audit-recovered");
	audit_line_num(ab, "refused", a->refused);
	audit_line_num(ab, "lost", a->lost);
	(void)audit_end(a, 0);
	a->refused = a->lost = 0;
	a->ckpt.wanted = 1;
}

int
audit_commit(struct audit *a)
{
	if (a == NULL)
		return 0;
	if (a->hold)
		return -1;
	/* While failing, try the disk once a second, not once a flush. */
	if (a->failed && time(NULL) == a->tried)
		return 0;
	if (a->buf.len > 0 && write_pending(a) != 0)
		return write_failed(a);
	if (a->failed) {
		recovered(a);
		if (write_pending(a) != 0)
			return write_failed(a);
	}
	a->fresh = 0;
	audit_checkpoint_maybe(a);
	return 0;
}

void
audit_release(struct audit *a)
{
	if (a != NULL)
		a->hold = 0;
}

int
audit_refusing(const struct audit *a)
{
	return a != NULL && a->failed && !a->b->conf->audit_fail_open;
}

/* --- start, stop, rotation, reload ----------------------------------- */

/*
 * The first line of a run that does not go on from the log's own last
 * line: a rotation (a new file), or the mark of a cut that audit verify
 * reports.
 */
static void
resume_line(struct audit *a)
{
	struct audit_buf *ab;

	if (a->resume == AUDIT_RESUME_NEW_FILE) {
		audit_event(a, "rotate", "reason", "restart", NULL);
		return;
	}
	if (a->resume != AUDIT_RESUME_CUT)
		return;
	log_warnx("audit: %s does not end where the broker left it (seq "
	    "%llu at %llu bytes; the file has %llu bytes): it was cut or "
	    "changed while the broker was stopped; a discontinuity line "
	    "marks it", a->path, (unsigned long long)a->left.seq,
	    (unsigned long long)a->left.size,
	    (unsigned long long)a->found_size);
	ab = audit_begin(a, "event");
	audit_line_str(ab, "event", "discontinuity");
	audit_line_num(ab, "left_seq", a->left.seq);
	audit_line_num(ab, "left_size", a->left.size);
	audit_line_num(ab, "found_size", a->found_size);
	(void)audit_end(a, 0);
}

int
audit_start(struct audit *a, char *err, size_t errlen)
{
	struct audit_buf *ab;

	if (a == NULL)
		return 0;
	resume_line(a);
	ab = audit_begin(a, "event");
	audit_line_str(ab, "event", "start");
	audit_line_str(ab, "version", BROKER_VERSION);
	audit_line_num(ab, "pid", (uint64_t)getpid());
	(void)audit_end(a, 0);
	files_event(a, "policy-load", NULL);
	if (write_pending(a) != 0) {
		snprintf(err, errlen, "audit: cannot write %s: %s", a->path,
		    strerror(errno));
		return -1;
	}
	/* The first checkpoint also covers what a crash left unsigned. */
	a->ckpt.wanted = 1;
	a->ckpt.last = time(NULL);
	return 0;
}

void
audit_stop(struct audit *a)
{
	if (a == NULL)
		return;
	audit_event(a, "stop", NULL);
	audit_checkpoint_final(a);
	if (write_pending(a) != 0)
		log_warn("audit: %s: the last lines could not be written",
		    a->path);
}

/*
 * Lines still pending go to the old file if it takes them; the new file
 * (opened by the monitor) then starts with the rotate line, whose prev is
 * the old file's head.
 */
static void
switch_file(struct audit *a, int fd, int state_fd, const char *path,
    const char *reason)
{
	char *npath;

	(void)write_pending(a);
	if ((npath = strdup(path)) == NULL) {
		log_warnx("audit: out of memory; still writing to %s",
		    a->path);
		close(fd);
		if (state_fd != -1)
			close(state_fd);
		return;
	}
	close(a->fd);
	a->fd = fd;
	if (strcmp(npath, a->path) != 0) {
		/* Another path: its own head file, if the monitor had one. */
		if (a->state_fd != -1)
			close(a->state_fd);
		a->state_fd = state_fd;
		if (state_fd == -1)
			log_warnx("audit: no %s.head; a cut in that log while "
			    "the broker is stopped will not be noticed", npath);
	} else if (state_fd != -1)
		close(state_fd);
	free(a->path);
	a->path = npath;
	if (file_id(a) != 0)
		log_warn("audit: fstat %s", a->path);
	audit_event(a, "rotate", "reason", reason, NULL);
	a->ckpt.wanted = 1;
	log_info("audit: writing to %s (%s)", a->path, reason);
}

void
audit_reopen(struct audit *a, int fd)
{
	if (a != NULL)
		switch_file(a, fd, -1, a->path, "SIGUSR1");
	else
		close(fd);
}

void
audit_reload(struct audit *a, const char *error, int fd, int state_fd)
{
	const char *path;

	if (a == NULL) {
		if (fd != -1)
			close(fd);
		if (state_fd != -1)
			close(state_fd);
		return;
	}
	if (error != NULL)
		audit_event(a, "reload", "result", "rejected", "error", error,
		    NULL);
	else {
		files_event(a, "reload", "accepted");
		path = a->b->conf->audit_path;
		if (path != NULL && strcmp(path, a->path) != 0 && fd != -1) {
			switch_file(a, fd, state_fd, path, "reload");
			fd = state_fd = -1;
		}
	}
	if (fd != -1)
		close(fd);
	if (state_fd != -1)
		close(state_fd);
	a->ckpt.wanted = 1;
}

int
audit_key_reserved(const struct audit *a, const char *key)
{
	return a != NULL && strcmp(a->b->conf->audit_key, key) == 0;
}

void
audit_counters(const struct audit *a, struct audit_counters *ac)
{
	memset(ac, 0, sizeof(*ac));
	if (a == NULL)
		return;
	ac->lines = a->written;
	ac->write_failures = a->write_failures;
	ac->copies_dropped = a->copy.dropped;
	ac->checkpoint_time = (uint64_t)a->checkpoint_time;
}
