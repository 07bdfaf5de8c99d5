/*
 * p11broker audit verify LOGFILE... --pubkey PEM: check an audit log
 * offline with only the checkpoint key's public key.
 *
 * Lines are read in order across the files.  A checkpoint with a good
 * signature vouches for the line it covers (its hash is the signed head)
 * and, through the prev links, for every line before it back to the last
 * vouched-for line.  Once a checkpoint has vouched for a stretch, the
 * stretch is checked in order (seq one up, prev = hash of the line
 * before); the first fault is reported as FILE:LINE.  Knowing which
 * lines a checkpoint covers tells an edited line (its hash is wrong)
 * from the genuine line after it (whose prev no longer matches).  Lines
 * after the last covered one can have been cut or changed freely, so
 * they are a failure unless --allow-open-tail.  A discontinuity line
 * (the broker found the log cut at a restart) is always a failure.
 *
 * --anchor names a copy of the last checkpoint line kept outside the
 * log (the broker's anchor file, or what syslog received): the log must
 * hold that very line, so a log cut right after an earlier checkpoint,
 * which verifies on its own, fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "audit_msg.h"
#include "auditlog.h"
#include "buf.h"
#include "cli.h"

struct entry {
	const char	*file;
	unsigned long	 line;
	char		*error;		/* the first fault found in it */
	int		 ok;		/* parsed */
	uint64_t	 seq;
	int		 checkpoint;	/* with a good signature */
	int		 rotate;
	int		 covered;	/* vouched for by a checkpoint */
	uint8_t		 hash[AUDITLOG_HASH_LEN];
	uint8_t		 prev[AUDITLOG_HASH_LEN];
};

struct verifier {
	EVP_PKEY	*pkey;
	const EVP_MD	*md;		/* NULL for Ed25519 */
	const char	*alg;		/* what the checkpoints must say */
	struct entry	*w;		/* unchecked lines and 2 before */
	size_t		 n;
	size_t		 cap;
	size_t		 checked;	/* w[0 .. checked) passed */
	long		 last_covered;	/* index of the last covered line */
	int		 started;	/* the first line was checked */
	uint64_t	 first_seq;	/* of the first line read */
	unsigned long	 lines;
	unsigned long	 checkpoints;
	int		 allow_open_tail;
	int		 failed;
	uint64_t	 last_seq;	/* of the last line read */
	/* --anchor: the checkpoint line kept outside the log */
	const char	*anchor_file;
	uint64_t	 anchor_seq;	/* 0: no anchor */
	uint8_t		 anchor_hash[AUDITLOG_HASH_LEN];
	int		 anchor_found;	/* the log has that very line */
};

static int
report(struct verifier *v, const struct entry *e, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static int
report(struct verifier *v, const struct entry *e, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "p11broker: audit verify: %s:%lu: ", e->file,
	    e->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	v->failed = 1;
	return -1;
}

/* Note the first fault of a line, to report when its turn comes. */
static void
set_error(struct entry *e, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
set_error(struct entry *e, const char *fmt, ...)
{
	va_list ap;

	if (e->error != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&e->error, fmt, ap) == -1) {
		fprintf(stderr, "p11broker: audit verify: out of memory\n");
		exit(CLI_EXIT_LOCAL_IO);
	}
	va_end(ap);
}

/* --- the public key ---------------------------------------------------- */

static int
load_pubkey(struct verifier *v, const struct cli *cli, const char *path)
{
	FILE *f;
	int bits;

	if ((f = fopen(path, "r")) == NULL) {
		cli_warnx(cli, "%s: %s", path, strerror(errno));
		return CLI_EXIT_LOCAL_IO;
	}
	v->pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (v->pkey == NULL) {
		cli_warnx(cli, "%s: not a PEM public key", path);
		return CLI_EXIT_LOCAL_IO;
	}
	if (EVP_PKEY_get_base_id(v->pkey) == EVP_PKEY_ED25519) {
		v->alg = "ed25519";
		return CLI_EXIT_OK;
	}
	bits = EVP_PKEY_get_bits(v->pkey);
	if (EVP_PKEY_get_base_id(v->pkey) == EVP_PKEY_EC && bits == 256) {
		v->alg = "ecdsa-p256-sha256";
		v->md = EVP_sha256();
	} else if (EVP_PKEY_get_base_id(v->pkey) == EVP_PKEY_EC &&
	    bits == 384) {
		v->alg = "ecdsa-p384-sha384";
		v->md = EVP_sha384();
	} else if (EVP_PKEY_get_base_id(v->pkey) == EVP_PKEY_EC &&
	    bits == 521) {
		v->alg = "ecdsa-p521-sha512";
		v->md = EVP_sha512();
	} else {
		cli_warnx(cli, "%s: not a P-256, P-384, P-521 or Ed25519 key",
		    path);
		return CLI_EXIT_LOCAL_IO;
	}
	return CLI_EXIT_OK;
}

static int
signature_ok(const struct verifier *v, const struct auditlog_rec *r)
{
	char msg[160];
	size_t len;
	EVP_MD_CTX *ctx;
	int ok;

	len = audit_checkpoint_message(r->covers_seq, r->covers_head, msg,
	    sizeof(msg));
	if (len == 0 || (ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, v->md, NULL, v->pkey) == 1 &&
	    EVP_DigestVerify(ctx, r->sig, r->siglen, (const uint8_t *)msg,
	    len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* --- the anchor --------------------------------------------------------- */

/*
 * The last checkpoint line in the anchor file.  A line may carry a
 * prefix (a syslog export): the JSON is from its first '{' to its last
 * '}'.  Its signature must verify with the public key.
 */
static int
load_anchor(struct verifier *v, const struct cli *cli, const char *path)
{
	struct auditlog_rec r;
	FILE *f;
	char *line = NULL, *open, *close;
	size_t cap = 0, len;
	ssize_t n;
	const char *why;
	int bad = 0;

	if ((f = fopen(path, "r")) == NULL) {
		cli_warnx(cli, "%s: %s", path, strerror(errno));
		return CLI_EXIT_LOCAL_IO;
	}
	v->anchor_file = path;
	while ((n = getline(&line, &cap, f)) > 0) {
		if ((open = memchr(line, '{', (size_t)n)) == NULL ||
		    (close = memrchr(line, '}', (size_t)n)) == NULL ||
		    close < open)
			continue;
		len = (size_t)(close + 1 - open);
		if (auditlog_parse(open, len, &r, &why) != 0 ||
		    r.type != AUDITLOG_CHECKPOINT)
			continue;
		if (strcmp(r.alg, v->alg) != 0 || !signature_ok(v, &r)) {
			bad = 1;
			continue;
		}
		bad = 0;
		if (r.seq > v->anchor_seq) {
			v->anchor_seq = r.seq;
			crypto_hash_sha256(v->anchor_hash, (uint8_t *)open,
			    len);
		}
	}
	free(line);
	fclose(f);
	if (bad) {
		fprintf(stderr, "p11broker: audit verify: %s: the last "
		    "checkpoint line's signature does not verify with the "
		    "public key\n", path);
		v->failed = 1;
		return CLI_EXIT_MISMATCH;
	}
	if (v->anchor_seq == 0) {
		cli_warnx(cli, "%s: no checkpoint line", path);
		return CLI_EXIT_LOCAL_IO;
	}
	return CLI_EXIT_OK;
}

/* Was the anchored checkpoint line among the lines read? */
static int
check_anchor(struct verifier *v)
{
	const char *p = "p11broker: audit verify";
	unsigned long long aseq = (unsigned long long)v->anchor_seq;

	if (v->anchor_seq == 0 || v->anchor_found)
		return 0;
	v->failed = 1;
	if (v->anchor_seq > v->last_seq)
		fprintf(stderr, "%s: the log ends at seq %llu, before the "
		    "anchored checkpoint (seq %llu in %s): lines were cut off "
		    "the end\n", p, (unsigned long long)v->last_seq, aseq,
		    v->anchor_file);
	else if (v->anchor_seq < v->first_seq)
		fprintf(stderr, "%s: the anchored checkpoint (seq %llu in %s) "
		    "is before the first line given (seq %llu): give the "
		    "files from the one that holds it on\n", p, aseq,
		    v->anchor_file, (unsigned long long)v->first_seq);
	else
		fprintf(stderr, "%s: the log has no line seq %llu, the "
		    "anchored checkpoint (in %s)\n", p, aseq, v->anchor_file);
	return -1;
}

/* --- checking in order ------------------------------------------------- */

static const uint8_t zero_hash[AUDITLOG_HASH_LEN];

static int
check_start(struct verifier *v, const struct entry *e)
{
	if (e->seq == 1 && memcmp(e->prev, zero_hash, sizeof(zero_hash)) == 0)
		return 0;
	if (e->rotate) {
		fprintf(stderr, "p11broker: audit verify: note: %s starts "
		    "after a rotation; lines before it are not checked\n",
		    e->file);
		return 0;
	}
	return report(v, e, "the log does not start here (seq %llu is not "
	    "the first line of a chain nor a rotation): give the earlier "
	    "files first", (unsigned long long)e->seq);
}

/* Line i against the line before it (w[i - 1] exists). */
static int
check_link(struct verifier *v, size_t i)
{
	const struct entry *e = &v->w[i], *p = &v->w[i - 1];

	if (e->seq != p->seq + 1) {
		if (memcmp(e->hash, p->hash, AUDITLOG_HASH_LEN) == 0)
			return report(v, e, "repeated line");
		/* A forged line with a plausible seq and prev before e. */
		if (i >= 2 && e->seq == v->w[i - 2].seq + 1 &&
		    memcmp(e->prev, v->w[i - 2].hash, AUDITLOG_HASH_LEN) == 0)
			return report(v, p, "inserted line (the next line "
			    "follows the line before this one)");
		return report(v, e, "seq %llu after seq %llu: a line was "
		    "dropped, inserted or moved here", (unsigned long long)
		    e->seq, (unsigned long long)p->seq);
	}
	if (memcmp(e->prev, p->hash, AUDITLOG_HASH_LEN) != 0) {
		if (e->covered)
			return report(v, p, "edited line (its hash is not the "
			    "prev of the next line, which a checkpoint "
			    "covers)");
		return report(v, e, "prev is not the hash of the line before: "
		    "this line or the one before it was edited");
	}
	return 0;
}

/* Check w[checked .. upto] in order. */
static int
check_upto(struct verifier *v, size_t upto)
{
	struct entry *e;

	for (; v->checked <= upto && v->checked < v->n; v->checked++) {
		e = &v->w[v->checked];
		if (e->error != NULL)
			return report(v, e, "%s", e->error);
		if (!v->started) {
			v->started = 1;
			v->first_seq = e->seq;
			if (check_start(v, e) != 0)
				return -1;
		} else if (v->checked > 0 && check_link(v, v->checked) != 0)
			return -1;
	}
	return 0;
}

/* Keep two checked lines before the unchecked ones. */
static void
compact(struct verifier *v)
{
	size_t drop, k;

	if (v->checked <= 2)
		return;
	drop = v->checked - 2;
	for (k = 0; k < drop; k++)
		free(v->w[k].error);
	memmove(v->w, v->w + drop, (v->n - drop) * sizeof(*v->w));
	v->n -= drop;
	v->checked -= drop;
	v->last_covered -= (long)drop;
}

/*
 * A good checkpoint covers line j: j and every line before it that
 * hashes to the prev of the line after it.
 */
static int
cover(struct verifier *v, size_t j)
{
	const uint8_t *want;
	long k;

	v->w[j].covered = 1;
	want = v->w[j].prev;
	for (k = (long)j - 1; k >= 0 && !v->w[k].covered; k--) {
		if (memcmp(v->w[k].hash, want, AUDITLOG_HASH_LEN) != 0)
			break;
		v->w[k].covered = 1;
		want = v->w[k].prev;
	}
	v->last_covered = (long)j;
	if (check_upto(v, j) != 0)
		return -1;
	compact(v);
	return 0;
}

static int
find_seq(const struct verifier *v, size_t before, uint64_t seq)
{
	size_t k;

	for (k = before; k-- > 0;)
		if (v->w[k].ok && v->w[k].seq == seq)
			return (int)k;
	return -1;
}

/* A checkpoint line, the last in the window. */
static int
checkpoint(struct verifier *v, const struct auditlog_rec *r)
{
	struct entry *e = &v->w[v->n - 1];
	int j;

	if (strcmp(r->alg, v->alg) != 0) {
		set_error(e, "checkpoint algorithm %s does not fit the public "
		    "key (%s)", r->alg, v->alg);
		return 0;
	}
	if (!signature_ok(v, r)) {
		set_error(e, "checkpoint signature does not verify");
		return 0;
	}
	e->checkpoint = 1;
	v->checkpoints++;
	if (r->covers_seq < v->first_seq)
		return 0;	/* in an earlier file, not given */
	if ((j = find_seq(v, v->n - 1, r->covers_seq)) < 0) {
		set_error(e, "checkpoint covers seq %llu, which is not among "
		    "the lines before it", (unsigned long long)r->covers_seq);
		return 0;
	}
	if (memcmp(v->w[j].hash, r->covers_head, AUDITLOG_HASH_LEN) != 0) {
		if ((size_t)j < v->checked)
			return report(v, &v->w[j], "edited line (its hash is "
			    "not the head signed by the checkpoint at %s:%lu)",
			    e->file, e->line);
		set_error(&v->w[j], "edited line (its hash is not the head "
		    "signed by the checkpoint at %s:%lu)", e->file, e->line);
		return 0;
	}
	return cover(v, (size_t)j);
}

/* --- reading ----------------------------------------------------------- */

static struct entry *
new_entry(struct verifier *v, const char *file, unsigned long line)
{
	struct entry *nw;

	if (v->n == v->cap) {
		if ((nw = buf_array_grow(v->w, &v->cap, sizeof(*nw))) == NULL)
			return NULL;
		v->w = nw;
	}
	nw = &v->w[v->n++];
	memset(nw, 0, sizeof(*nw));
	nw->file = file;
	nw->line = line;
	return nw;
}

static int
add_line(struct verifier *v, const char *file, unsigned long lineno,
    char *line, size_t len)
{
	struct auditlog_rec r;
	struct entry *e;
	const char *why;

	if ((e = new_entry(v, file, lineno)) == NULL)
		return -1;
	v->lines++;
	if (line[len - 1] == '\n')
		len--;
	else
		set_error(e, "incomplete last line (no newline): the log was "
		    "cut here");
	crypto_hash_sha256(e->hash, (uint8_t *)line, len);
	if (e->error != NULL)
		return 0;
	if (auditlog_parse(line, len, &r, &why) != 0) {
		set_error(e, "not an audit line: %s", why);
		return 0;
	}
	/*
	 * The broker found the log cut or changed at a restart: whatever
	 * the lines around it say, lines before it are missing or changed.
	 */
	if (r.type == AUDITLOG_EVENT && r.discontinuity) {
		(void)report(v, e, "discontinuity: at a restart the broker "
		    "found the log cut or changed after seq %llu (where it "
		    "had left it); lines before this one are missing or "
		    "changed", (unsigned long long)(r.seq - 1));
		return 0;
	}
	e->ok = 1;
	if (v->lines == 1)
		v->first_seq = r.seq;
	v->last_seq = r.seq;
	if (v->anchor_seq != 0 && r.seq == v->anchor_seq) {
		if (memcmp(e->hash, v->anchor_hash, AUDITLOG_HASH_LEN) != 0) {
			(void)report(v, e, "not the anchored checkpoint line "
			    "(in %s) with this seq: the log was changed here",
			    v->anchor_file);
			return 0;
		}
		v->anchor_found = 1;
	}
	e->seq = r.seq;
	e->rotate = r.type == AUDITLOG_EVENT && r.rotate;
	memcpy(e->prev, r.prev, sizeof(e->prev));
	if (r.type == AUDITLOG_CHECKPOINT)
		(void)checkpoint(v, &r);	/* sets v->failed */
	return 0;
}

static int
read_file(struct verifier *v, const struct cli *cli, const char *path)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int r = CLI_EXIT_OK;

	if ((f = fopen(path, "r")) == NULL) {
		cli_warnx(cli, "%s: %s", path, strerror(errno));
		return CLI_EXIT_LOCAL_IO;
	}
	while (!v->failed && (n = getline(&line, &cap, f)) > 0) {
		if (add_line(v, path, ++lineno, line, (size_t)n) != 0) {
			cli_warnx(cli, "out of memory");
			r = CLI_EXIT_LOCAL_IO;
			break;
		}
	}
	if (r == CLI_EXIT_OK && ferror(f)) {
		cli_warnx(cli, "%s: %s", path, strerror(errno));
		r = CLI_EXIT_LOCAL_IO;
	}
	free(line);
	fclose(f);
	return r;
}

/* Lines after the last covered one, other than good checkpoints. */
static int
check_tail(struct verifier *v)
{
	const struct entry *first = NULL;
	unsigned long open = 0;
	size_t k;

	for (k = (size_t)(v->last_covered + 1); k < v->n; k++)
		if (!v->w[k].checkpoint && open++ == 0)
			first = &v->w[k];
	if (open == 0)
		return 0;
	if (v->allow_open_tail) {
		fprintf(stderr, "p11broker: audit verify: note: the last %lu "
		    "lines (from %s:%lu) are not covered by a checkpoint\n",
		    open, first->file, first->line);
		return 0;
	}
	return report(v, first, "log ends %lu line%s after the last "
	    "checkpoint (cut, or broker still running)", open,
	    open == 1 ? "" : "s");
}

static void
free_entries(struct verifier *v)
{
	size_t k;

	for (k = 0; k < v->n; k++)
		free(v->w[k].error);
	free(v->w);
}

int
cmd_audit(struct cli *cli)
{
	struct verifier v;
	int i, r;

	if (strcmp(cli->operands[0], "verify") != 0)
		return cli_usage(cli, "unknown subcommand \"%s\"",
		    cli->operands[0]);
	if (cli->args.pubkey == NULL)
		return cli_usage(cli, "--pubkey PEMFILE is required");
	memset(&v, 0, sizeof(v));
	v.last_covered = -1;
	v.allow_open_tail = cli->args.allow_open_tail;
	if ((r = load_pubkey(&v, cli, cli->args.pubkey)) != CLI_EXIT_OK)
		goto out;
	if (cli->args.anchor != NULL &&
	    (r = load_anchor(&v, cli, cli->args.anchor)) != CLI_EXIT_OK)
		goto out;
	for (i = 1; i < cli->noperands && r == CLI_EXIT_OK && !v.failed; i++)
		r = read_file(&v, cli, cli->operands[i]);
	if (r == CLI_EXIT_OK && !v.failed && v.lines == 0) {
		cli_warnx(cli, "no lines to verify");
		r = CLI_EXIT_MISMATCH;
	}
	if (r == CLI_EXIT_OK && !v.failed &&
	    check_upto(&v, v.n == 0 ? 0 : v.n - 1) == 0 &&
	    check_tail(&v) == 0 && check_anchor(&v) == 0) {
		printf("verified: %lu lines in %d file%s, %lu checkpoints\n",
		    v.lines, cli->noperands - 1, cli->noperands == 2 ? "" : "s",
		    v.checkpoints);
		if (v.anchor_seq != 0)
			printf("anchor: the log holds the anchored checkpoint "
			    "(seq %llu)\n", (unsigned long long)v.anchor_seq);
	}
	if (r == CLI_EXIT_OK && v.failed)
		r = CLI_EXIT_MISMATCH;
 out:
	free_entries(&v);
	EVP_PKEY_free(v.pkey);
	return r;
}
