/*
 * Unit tests for the audit log: JSON escaping, line building and the
 * hash chain (checked with OpenSSL's SHA-256, not the broker's), the
 * verifier's line parser against lines the broker builds, the audit
 * config statement, and the group-commit state machine (fail closed,
 * recovery, fail open, continuing an existing file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "audit_conf.h"
#include "audit_int.h"
#include "auditlog.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_audit.XXXXXX";

static void
build_str(const char *in, char *out, size_t outlen)
{
	struct audit_buf ab;

	memset(&ab, 0, sizeof(ab));
	audit_json_string(&ab, in);
	snprintf(out, outlen, "%.*s", (int)ab.len, ab.p);
	audit_buf_free(&ab);
}

static void
test_escape(void)
{
	char out[256];

	build_str("dns-zsk_1.x", out, sizeof(out));
	is_str(out, "\"dns-zsk_1.x\"", "key name passes unchanged");
	build_str("a\"b\\c", out, sizeof(out));
	is_str(out, "\"a\\\"b\\\\c\"", "quote and backslash escaped");
	build_str("l1\nl2\tx\r", out, sizeof(out));
	is_str(out, "\"l1\\nl2\\tx\\u000d\"", "newline, tab, CR escaped");
	build_str("\x01\x1f\x7f", out, sizeof(out));
	is_str(out, "\"\\u0001\\u001f\\u007f\"", "controls and DEL as \\u");
	build_str("caf\xc3\xa9\xff", out, sizeof(out));
	is_str(out, "\"caf\\u00c3\\u00a9\\u00ff\"",
	    "bytes over 0x7f as \\u00XX: every line is ASCII");
	build_str("", out, sizeof(out));
	is_str(out, "\"\"", "empty string");
}

static void
test_time(void)
{
	struct timespec ts;
	char out[AUDIT_TIME_LEN + 1];

	ts.tv_sec = 0;
	ts.tv_nsec = 123456789;
	audit_format_time(&ts, out);
	is_str(out, "1970-01-01T00:00:00.123456Z", "epoch, microseconds");
	ts.tv_sec = 1764102087;
	ts.tv_nsec = 999999999;
	audit_format_time(&ts, out);
	is_str(out, "2025-11-25T20:21:27.999999Z", "RFC 3339 UTC");
}

/* The line starting at off, without its newline. */
static size_t
line_at(const struct audit_buf *ab, size_t off)
{
	const char *nl = memchr(ab->p + off, '\n', ab->len - off);

	return nl == NULL ? 0 : (size_t)(nl - ab->p) - off;
}

static void
hex_of(const uint8_t *bin, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", bin[i]);
}

static void
test_chain(void)
{
	struct audit_buf ab;
	struct audit_chain ch;
	struct auditlog_rec r;
	struct timespec ts = { 1764102087, 5000 };
	uint8_t h[SHA256_DIGEST_LENGTH];
	char want[512], hex[65], text[1024];
	const char *why;
	size_t len1, len2;

	memset(&ab, 0, sizeof(ab));
	memset(&ch, 0, sizeof(ch));
	audit_line_begin(&ab, &ch, &ts, "decision");
	audit_line_num(&ab, "uid", 108);
	audit_line_str(&ab, "key", "dns-zsk");
	audit_line_bool(&ab, "valid", 0);
	ok(audit_line_end(&ab, &ch) == 0, "first line built");
	snprintf(want, sizeof(want), "{\"seq\":1,\"time\":"
	    "\"2025-11-25T20:21:27.000005Z\",\"type\":\"decision\","
	    "\"uid\":108,\"key\":\"dns-zsk\",\"valid\":false,\"prev\":\"%064d"
	    "\"}\n", 0);
	snprintf(text, sizeof(text), "%.*s", (int)ab.len, ab.p);
	is_str(text, want, "first line: fields in order, prev is zeros");
	is_int(ch.seq, 1, "chain at seq 1");
	len1 = line_at(&ab, 0);
	SHA256((const uint8_t *)ab.p, len1, h);
	is_mem(ch.head, 32, h, 32, "head = SHA-256 of the line w/o newline");

	audit_line_begin(&ab, &ch, &ts, "event");
	audit_line_str(&ab, "event", "stop");
	ok(audit_line_end(&ab, &ch) == 0, "second line built");
	len2 = line_at(&ab, len1 + 1);
	hex_of(h, sizeof(h), hex);
	snprintf(text, sizeof(text), "%.*s", (int)len2, ab.p + len1 + 1);
	ok(len2 > 0 && strstr(text, hex) != NULL,
	    "second line's prev is the first line's hash");
	ok(auditlog_parse(ab.p + len1 + 1, len2, &r, &why) == 0,
	    "the verifier parses the broker's line");
	is_int(r.seq, 2, "parsed seq");
	is_int(r.type, AUDITLOG_EVENT, "parsed type");
	is_mem(r.prev, 32, h, 32, "parsed prev");
	ok(auditlog_parse(ab.p, len1, &r, &why) == 0 &&
	    r.type == AUDITLOG_DECISION, "first line parses as a decision");
	audit_buf_free(&ab);
}

static void
test_checkpoint_message(void)
{
	uint8_t head[32];
	char a[AUDIT_CHECKPOINT_MSG_MAX], b[AUDIT_CHECKPOINT_MSG_MAX];
	char want[160];
	size_t la, lb;
	int i;

	for (i = 0; i < 32; i++)
		head[i] = (uint8_t)(i * 7 + 1);
	la = audit_checkpoint_message(42, head, a, sizeof(a));
	lb = audit_checkpoint_message(42, head, b, 20);
	is_int(lb, 0, "a buffer too small gives no message");
	strlcpy(want, "p11broker-audit-checkpoint v1 seq=42 head=",
	    sizeof(want));
	for (i = 0; i < 32; i++)
		snprintf(want + strlen(want), 3, "%02x", head[i]);
	is_str(a, want, "message text");
	is_int(la, strlen(want), "no newline, no NUL in the message");
}

static void
expect_bad(const char *line, const char *why_part, const char *what)
{
	struct auditlog_rec r;
	const char *why = "";
	int rc;

	rc = auditlog_parse(line, strlen(line), &r, &why);
	ok(rc == -1 && strstr(why, why_part) != NULL, "rejects %s", what);
	if (rc != -1 || strstr(why, why_part) == NULL)
		printf("#   why \"%s\", want \"%s\"\n", rc ? why : "(ok)",
		    why_part);
}

#define Z64 "0000000000000000000000000000000000000000000000000000000000000000"
#define GOOD "\"seq\":3,\"time\":\"t\",\"type\":\"event\",\"prev\":\"" Z64 "\""

static void
test_parser(void)
{
	struct auditlog_rec r;
	const char *why;
	const char *cp = "{\"seq\":9,\"time\":\"t\",\"type\":\"checkpoint\","
	    "\"covers_seq\":8,\"covers_head\":\"" Z64 "\",\"key\":\"k\","
	    "\"alg\":\"ed25519\",\"sig\":\"AAEC\",\"prev\":\"" Z64 "\"}";
	const char *spaced = "{ \"x\" : [1, -2.5e3, {\"y\":null}, true], "
	    GOOD " , \"event\":\"rotate\" }";

	ok(auditlog_parse(cp, strlen(cp), &r, &why) == 0 &&
	    r.type == AUDITLOG_CHECKPOINT && r.covers_seq == 8 &&
	    r.siglen == 3 && r.sig[2] == 2 && strcmp(r.alg, "ed25519") == 0,
	    "checkpoint fields");
	ok(auditlog_parse(spaced, strlen(spaced), &r, &why) == 0 &&
	    r.seq == 3 && r.rotate, "spaces, nested values, rotate event");
	expect_bad("{" GOOD ",\"k\":\"caf\xc3\xa9\"}", "ASCII",
	    "a byte over 0x7f");
	expect_bad("{" GOOD ",\"k\":\"a\x01\"}", "ASCII", "a control byte");
	expect_bad("{" GOOD ",\"seq\":4}", "twice", "a duplicate seq");
	expect_bad("{" GOOD "}x", "after", "text after the object");
	expect_bad("{" GOOD, "JSON", "a missing brace");
	expect_bad("{\"seq\":3,\"type\":\"event\",\"prev\":\"" Z64 "\"}",
	    "missing", "a missing time");
	expect_bad("{\"seq\":0,\"time\":\"t\",\"type\":\"event\",\"prev\":\""
	    Z64 "\"}", "seq 0", "seq 0");
	expect_bad("{\"seq\":3,\"time\":\"t\",\"type\":\"event\",\"prev\":\"00"
	    "\"}", "64 hex", "a short hash");
	expect_bad("{\"seq\":3,\"time\":\"t\",\"type\":\"other\",\"prev\":\""
	    Z64 "\"}", "unknown type", "an unknown type");
	expect_bad("{\"seq\":3.5,\"time\":\"t\",\"type\":\"event\",\"prev\":\""
	    Z64 "\"}", "whole", "a fractional seq");
	expect_bad("{" GOOD ",\"k\":\"\\q\"}", "escape", "a bad escape");
	expect_bad("{" GOOD ",\"k\":[[[[[[[[[[1]]]]]]]]]]}", "deep",
	    "deep nesting");
	expect_bad("{" GOOD ",\"k\":01}", "leading zero", "a leading zero");
	expect_bad("{\"seq\":9,\"time\":\"t\",\"type\":\"checkpoint\","
	    "\"prev\":\"" Z64 "\"}", "checkpoint without",
	    "a checkpoint without a signature");
	expect_bad("", "JSON", "an empty line");
}

/* --- the audit config statement ------------------------------------------ */

static const char conf_head[] =
    "socket \"/run/p11b.sock\"\n"
    "policy \"policy.conf\"\n"
    "token {\n\tmodule \"/m.so\"\n\tlabel \"t\"\n\tpin-env \"P\"\n}\n"
    "key sig label \"s\"\n";

static struct config *
parse_conf(const char *extra, char *err, size_t errlen)
{
	struct config *c = NULL;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s\n", conf_head, extra);
	if (config_parse("/etc/p11broker/t.conf", text, strlen(text), &c, err,
	    errlen) != 0)
		return NULL;
	return c;
}

static void
conf_error(const char *extra, const char *want, const char *what)
{
	char err[512] = "";
	struct config *c = parse_conf(extra, err, sizeof(err));

	ok(c == NULL && strstr(err, want) != NULL, "config: %s", what);
	if (c != NULL || strstr(err, want) == NULL)
		printf("#   error \"%s\", want \"%s\"\n", err, want);
	config_free(c);
}

static void
test_config(void)
{
	struct config *c;
	char err[512];

	c = parse_conf("audit \"log/audit.log\" checkpoint-key sig "
	    "checkpoint-lines 10 checkpoint-seconds 5 on-failure open", err,
	    sizeof(err));
	ok(c != NULL, "audit statement parses (%s)", c ? "" : err);
	if (c != NULL) {
		is_str(c->audit_path, "/etc/p11broker/log/audit.log",
		    "relative path resolved against the config's directory");
		is_str(c->audit_key, "sig", "checkpoint key");
		is_int(c->audit_lines, 10, "checkpoint-lines");
		is_int(c->audit_seconds, 5, "checkpoint-seconds");
		is_int(c->audit_fail_open, 1, "on-failure open");
		is_int(c->audit_line, 9, "line of the statement");
	}
	config_free(c);
	c = parse_conf("audit /a checkpoint-key sig", err, sizeof(err));
	ok(c != NULL && c->audit_lines == 1000 && c->audit_seconds == 60 &&
	    !c->audit_fail_open, "defaults: 1000 lines, 60 s, fail closed");
	config_free(c);
	c = parse_conf("", err, sizeof(err));
	ok(c != NULL && c->audit_path == NULL, "no audit statement: none");
	config_free(c);
	conf_error("audit /a", "t.conf:9: audit: checkpoint-key KEY is "
	    "required", "checkpoint-key is required");
	conf_error("audit /a checkpoint-key nope",
	    "t.conf:9: audit: checkpoint-key \"nope\" is not a key",
	    "an undefined key");
	conf_error("audit /a checkpoint-key sig frob 1",
	    "t.conf:9: audit: unknown option \"frob\"", "an unknown option");
	conf_error("audit /a checkpoint-key sig on-failure maybe",
	    "expected closed or open", "on-failure maybe");
	conf_error("audit /a checkpoint-key sig checkpoint-lines 0",
	    "from 1 to 1000000", "checkpoint-lines 0");
	conf_error("audit /a checkpoint-key sig\naudit /b checkpoint-key sig",
	    "t.conf:10: only one audit statement", "two audit statements");
}

/*
 * The signer's hello says which public key each name has: a second name
 * with the checkpoint key's public key is refused (the signer refuses
 * the same token object before that).
 */
static void
test_alias(void)
{
	struct config *c;
	struct key_info keys[2];
	uint8_t spki[2][4] = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } };
	char err[512] = "";

	c = parse_conf("key archive label \"a\"\n"
	    "audit /a checkpoint-key sig", err, sizeof(err));
	ok(c != NULL, "two keys and an audit statement parse (%s)", err);
	if (c == NULL)
		return;
	memset(keys, 0, sizeof(keys));
	strlcpy(keys[0].name, "sig", sizeof(keys[0].name));
	strlcpy(keys[1].name, "archive", sizeof(keys[1].name));
	keys[0].type = keys[1].type = P11B_KEY_EC_P256;
	keys[0].spki = spki[0];
	keys[1].spki = spki[1];
	keys[0].spkilen = keys[1].spkilen = sizeof(spki[0]);
	is_int(audit_config_check(c, keys, 2, err, sizeof(err)), 0,
	    "another key pair under another name: fine");
	keys[1].spki = spki[0];
	err[0] = '\0';
	ok(audit_config_check(c, keys, 2, err, sizeof(err)) == -1 &&
	    strstr(err, "key archive is the same key pair as the "
	    "checkpoint-key sig") != NULL,
	    "the checkpoint key's public key under a second name: refused");
	if (strstr(err, "same key pair") == NULL)
		printf("#   error \"%s\"\n", err);
	keys[0].spki = NULL;
	is_int(audit_config_check(c, keys, 2, err, sizeof(err)), 0,
	    "no public key in the hello: left to the signer's check");
	config_free(c);
}

/* --- writing: group commit, fail closed, recovery ----------------------- */

struct fixture {
	struct broker	 b;
	struct key_info	 keys[1];
	char		 path[256];
};

static int
fixture_init(struct fixture *f, const char *name, const char *opts)
{
	char extra[512], err[512];

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s/%s", tmpdir, name);
	snprintf(extra, sizeof(extra), "audit \"%s\" checkpoint-key sig %s",
	    f->path, opts);
	if ((f->b.conf = parse_conf(extra, err, sizeof(err))) == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	strlcpy(f->keys[0].name, "sig", sizeof(f->keys[0].name));
	f->keys[0].type = P11B_KEY_EC_P256;
	f->b.keys = f->keys;
	f->b.nkeys = 1;
	return 0;
}

static int
decide(struct audit *a, int status)
{
	struct peer_cred peer;
	struct request_ctx rq;
	struct wire_response resp;

	memset(&peer, 0, sizeof(peer));
	peer.uid = 108;
	peer.gid = 117;
	peer.pid = 4242;
	memset(&rq, 0, sizeof(rq));
	rq.op = P11B_OP_SIGN;
	strlcpy(rq.key, "dns-zsk", sizeof(rq.key));
	rq.alg = P11B_ALG_ECDSA_P256_SHA256;
	rq.data = (const uint8_t *)"abc";
	rq.datalen = 3;
	audit_request_init(a, &rq);
	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.message = status ? "not permitted" : NULL;
	return audit_decision(a, &peer, &rq, &resp, 0);
}

/* Read the file and check every link with OpenSSL; returns the lines. */
static int
file_chain_ok(const char *path, int *lines, char *all, size_t allsize)
{
	FILE *fp;
	char line[4096];
	uint8_t prev[32] = { 0 };
	struct auditlog_rec r;
	const char *why;
	size_t len;
	int n = 0, good = 1;

	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	all[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		strlcat(all, line, allsize);
		len = strcspn(line, "\n");
		if (auditlog_parse(line, len, &r, &why) != 0 ||
		    (n > 0 && memcmp(r.prev, prev, 32) != 0) ||
		    (n > 0 && r.seq != (uint64_t)n + 1))
			good = 0;
		SHA256((uint8_t *)line, len, prev);
		n++;
	}
	fclose(fp);
	*lines = n;
	return good;
}

static void
test_commit(void)
{
	struct fixture f;
	struct audit *a;
	struct audit_counters ac;
	char err[512], all[16384];
	int n, fd;

	if (fixture_init(&f, "commit.log", "") != 0 ||
	    audit_open(&f.b, &a, err, sizeof(err)) != 0) {
		ok(0, "audit_open (%s)", err);
		return;
	}
	f.b.audit = a;
	ok(audit_start(a, err, sizeof(err)) == 0, "start lines written");
	is_int(decide(a, P11B_OK), 0, "an allowed decision is logged");
	is_int(decide(a, P11B_DENIED), 0, "a denied decision is logged");
	is_int(audit_commit(a), 0, "commit: answers may leave");
	ok(file_chain_ok(f.path, &n, all, sizeof(all)) && n == 4,
	    "4 lines on disk, chain intact (%d)", n);
	ok(strstr(all, "\"uid\":108,\"gid\":117,\"pid\":4242,\"op\":\"sign\","
	    "\"key\":\"dns-zsk\",\"alg\":\"ecdsa-p256-sha256\",\"input_len\":3,"
	    "\"input_sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a39617"
	    "7a9cb410ff61f20015ad\",\"status\":\"ok\",\"latency_us\":") != NULL,
	    "decision fields; input as SHA-256 only");
	ok(strstr(all, "\"status\":\"denied\",\"message\":\"not permitted\"")
	    != NULL, "denial with its reason");
	audit_counters(a, &ac);
	is_int(ac.lines, 4, "lines written counted");

	/* The disk is full: the answers of this turn must not leave. */
	fd = a->fd;
	a->fd = open("/dev/full", O_WRONLY);
	is_int(decide(a, P11B_OK), 0, "decision appended");
	is_int(audit_commit(a), -1, "write fails: commit says hold");
	is_int(audit_refusing(a), 1, "fail closed: refusing");
	is_int(audit_commit(a), -1, "still held until the server closed them");
	audit_release(a);
	is_int(audit_commit(a), 0, "nothing new: refusals may leave");
	is_int(decide(a, P11B_OK), -1, "decisions while failed: refuse");
	close(a->fd);
	a->fd = fd;
	a->tried = 0;		/* it tries again once a second */
	is_int(audit_commit(a), 0, "the file takes lines again");
	is_int(audit_refusing(a), 0, "serving again");
	ok(file_chain_ok(f.path, &n, all, sizeof(all)) && n == 6,
	    "held line and the recovery line written, chain intact (%d)", n);
	ok(strstr(all, "\"event\":\"audit-recovered\",\"refused\":1,") !=
	    NULL, "recovery line counts the refused request");
	ok(strstr(all, "\"seq\":5,") != NULL && strstr(strstr(all,
	    "\"seq\":5,"), "\"status\":\"ok\",\"dropped\":true,"
	    "\"withheld\":true,\"latency_us\":") != NULL,
	    "the held answer's line says it was withheld, not just ok");
	audit_free(a);

	/* A restart goes on with the chain of the file. */
	if (audit_open(&f.b, &a, err, sizeof(err)) != 0) {
		ok(0, "audit_open again (%s)", err);
		config_free(f.b.conf);
		return;
	}
	f.b.audit = a;
	is_int(a->chain.seq, 6, "reopened: continues after seq 6");
	(void)decide(a, P11B_OK);
	(void)audit_commit(a);
	ok(file_chain_ok(f.path, &n, all, sizeof(all)) && n == 7,
	    "the chain goes on across the restart");
	audit_free(a);

	/* A cut-off last line is for the operator to look at. */
	fd = open(f.path, O_WRONLY | O_APPEND);
	(void)write(fd, "{\"seq\":8,", 9);
	close(fd);
	ok(audit_open(&f.b, &a, err, sizeof(err)) == -1 &&
	    strstr(err, "incomplete line") != NULL,
	    "a log ending in half a line is refused at start");
	config_free(f.b.conf);
}

static void
test_fail_open(void)
{
	struct fixture f;
	struct audit *a;
	char err[512];

	if (fixture_init(&f, "open.log", "on-failure open") != 0 ||
	    audit_open(&f.b, &a, err, sizeof(err)) != 0) {
		ok(0, "audit_open (%s)", err);
		return;
	}
	f.b.audit = a;
	close(a->fd);
	a->fd = open("/dev/full", O_WRONLY);
	is_int(decide(a, P11B_OK), 0, "fail open: decision accepted");
	is_int(audit_commit(a), 0, "fail open: answers leave anyway");
	is_int(audit_refusing(a), 0, "fail open: not refusing");
	is_int(decide(a, P11B_OK), 0, "fail open: still logging to memory");
	audit_free(a);
	config_free(f.b.conf);
}

static void
remove_file(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_escape();
	test_time();
	test_chain();
	test_checkpoint_message();
	test_parser();
	test_config();
	test_alias();
	test_commit();
	test_fail_open();
	remove_file("commit.log");
	remove_file("open.log");
	rmdir(tmpdir);
	return tap_done();
}
