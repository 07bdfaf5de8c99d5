/*
 * The p11broker commands that do one broker operation each.  Local input
 * is read and checked before connecting, so a usage or file error never
 * costs the broker anything.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11broker.h"
#include "cli.h"

static void
list_ops(uint32_t ops)
{
	const char *sep = "";
	int i;

	printf(" ops=");
	for (i = 1; i < P11B_OP_COUNT; i++) {
		if (ops & (1U << i)) {
			printf("%s%s", sep, p11b_op_name((enum p11b_op)i));
			sep = ",";
		}
	}
	if (*sep == '\0')
		putchar('-');
}

static void
list_algs(uint32_t algs)
{
	const char *sep = "";
	int i;

	printf(" algs=");
	for (i = 1; i < P11B_ALG_COUNT; i++) {
		if (algs & (1U << i)) {
			printf("%s%s", sep, p11b_alg_name((enum p11b_alg)i));
			sep = ",";
		}
	}
	if (*sep == '\0')
		putchar('-');
}

/* A key version: " version=V current|previous id=HEX". */
static void
list_version(const struct p11b_key_version *v)
{
	size_t i;

	if (v->version[0] == '\0')
		return;
	printf(" version=%s %s id=", v->version, v->previous ? "previous" :
	    "current");
	for (i = 0; i < v->key.idlen; i++)
		printf("%02x", v->key.id[i]);
	if (v->key.idlen == 0)
		putchar('-');
}

/* NAME TYPE BITS ops=sign,pubkey algs=ecdsa-p256-sha256 [version=...] */
int
cmd_list(struct cli *cli)
{
	struct p11b_key_version *keys = NULL;
	size_t i, nkeys = 0;
	int r;

	if ((r = cli_connect(cli)) != CLI_EXIT_OK)
		return r;
	if ((r = p11b_list_key_versions(cli->conn, &keys, &nkeys)) !=
	    P11B_OK)
		return cli_fail(cli, r);
	for (i = 0; i < nkeys; i++) {
		printf("%s %s %u", keys[i].key.name,
		    p11b_key_type_name(keys[i].key.type), keys[i].key.bits);
		list_ops(keys[i].key.ops);
		list_algs(keys[i].key.algs);
		list_version(&keys[i]);
		putchar('\n');
	}
	free(keys);
	return CLI_EXIT_OK;
}

int
cmd_pubkey(struct cli *cli)
{
	struct p11b_public_key pk;
	uint8_t *spki;
	char *pem = NULL;
	size_t spkilen, pemlen = 0;
	int r;

	if ((r = cli_connect(cli)) != CLI_EXIT_OK)
		return r;
	if ((r = p11b_get_public_key_version(cli->conn, cli->key,
	    cli->args.version, &pk)) != P11B_OK)
		return cli_fail(cli, r);
	spki = pk.spki;
	spkilen = pk.spkilen;
	if (cli->args.der)
		r = cli_write(cli, cli->args.out, spki, spkilen, 0);
	else if (io_pem("PUBLIC KEY", spki, spkilen, &pem, &pemlen) == -1) {
		cli_warnx(cli, "cannot encode the public key");
		r = CLI_EXIT_STATUS + P11B_INTERNAL;
	} else
		r = cli_write(cli, cli->args.out, (uint8_t *)pem, pemlen, 0);
	free(pem);
	p11b_public_key_free(&pk);
	return r;
}

/* --salt BYTES: a decimal number the wire can carry. */
static int
cli_salt(struct cli *cli, const char *arg, size_t *saltp)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end != '\0' || errno != 0 ||
	    v > 65535) {
		cli_usage(cli, "--salt: expected a length in bytes, 0 to 65535");
		return -1;
	}
	*saltp = (size_t)v;
	return 0;
}

static int
is_stdin(const char *path)
{
	return path == NULL || strcmp(path, "-") == 0;
}

/*
 * The input (a file, or stdin) through a stream, a read at a time: it is
 * never held whole here.  The stream is freed (aborted) on failure.
 */
static int
stream_input(struct cli *cli, struct p11b_stream *s)
{
	uint8_t buf[CLI_STREAM_READ];
	ssize_t n;
	int fd, r = CLI_EXIT_OK;

	fd = is_stdin(cli->args.in) ? STDIN_FILENO : open(cli->args.in,
	    O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		cli_warnx(cli, "cannot read %s: %s", cli->args.in,
		    strerror(errno));
		p11b_stream_abort(s);
		return CLI_EXIT_LOCAL_IO;
	}
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cli_warnx(cli, "cannot read %s: %s", is_stdin(
			    cli->args.in) ? "stdin" : cli->args.in,
			    strerror(errno));
			r = CLI_EXIT_LOCAL_IO;
			break;
		}
		if (n == 0)
			break;
		if ((n = p11b_stream_update(s, buf, (size_t)n)) != P11B_OK) {
			r = cli_fail(cli, (int)n);
			break;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	if (fd != STDIN_FILENO)
		close(fd);
	if (r != CLI_EXIT_OK)
		p11b_stream_abort(s);
	return r;
}


int
cmd_sign(struct cli *cli)
{
	struct p11b_stream *s = NULL;
	enum p11b_alg alg;
	uint8_t *in = NULL, *sig = NULL;
	size_t inlen = 0, siglen = 0, salt = 0;
	int flags = 0, r;

	if (cli->args.salt != NULL && cli_salt(cli, cli->args.salt,
	    &salt) != 0)
		return CLI_EXIT_USAGE;
	if ((r = cli_alg(cli, cli->args.alg, P11B_ALG_NONE, &alg)) != 0 ||
	    (r = cli_connect(cli)) != 0)
		goto out;
	if (cli->args.raw)
		flags |= P11B_SIGN_RAW;
	if (cli->args.digest)
		flags |= P11B_SIGN_DIGEST;
	if (cli->args.digest || cli->args.salt != NULL) {
		/*
		 * A digest, or a chosen salt: the input whole (the library
		 * streams a long message itself, salt and all).
		 */
		if ((r = cli_read(cli, cli->args.in, &in, &inlen)) != 0)
			goto out;
		if (cli->args.salt != NULL)
			r = p11b_sign_pss(cli->conn, cli->key, alg, flags, salt,
			    in, inlen, &sig, &siglen);
		else
			r = p11b_sign(cli->conn, cli->key, alg, flags, in,
			    inlen, &sig, &siglen);
		if (r != P11B_OK) {
			r = cli_fail(cli, r);
			goto out;
		}
	} else {
		if ((r = p11b_sign_init(cli->conn, cli->key, alg, flags,
		    &s)) != P11B_OK) {
			r = cli_fail(cli, r);
			goto out;
		}
		if ((r = stream_input(cli, s)) != 0)
			goto out;
		if ((r = p11b_sign_final(s, &sig, &siglen)) != P11B_OK) {
			r = cli_fail(cli, r);
			goto out;
		}
	}
	r = cli_write(cli, cli->args.out, sig, siglen, 0);
 out:
	free(in);
	free(sig);
	return r;
}

int
cmd_hmac(struct cli *cli)
{
	struct p11b_stream *s = NULL;
	enum p11b_alg alg;
	uint8_t *mac = NULL;
	size_t maclen = 0;
	int r;

	if ((r = cli_alg(cli, cli->args.alg, P11B_HMAC_DEFAULT_ALG,
	    &alg)) != 0 || (r = cli_connect(cli)) != 0)
		goto out;
	if ((r = p11b_hmac_init(cli->conn, cli->key, alg, &s)) != P11B_OK) {
		r = cli_fail(cli, r);
		goto out;
	}
	if ((r = stream_input(cli, s)) != 0)
		goto out;
	if ((r = p11b_hmac_final(s, &mac, &maclen)) != P11B_OK) {
		r = cli_fail(cli, r);
		goto out;
	}
	r = cli_write(cli, cli->args.out, mac, maclen, 0);
 out:
	free(mac);
	return r;
}


int
cmd_hmac_verify(struct cli *cli)
{
	struct p11b_stream *s = NULL;
	enum p11b_alg alg;
	uint8_t *mac = NULL;
	size_t maclen = 0;
	const char *version;
	int valid = 0, previous = 0, r;

	if (cli->args.mac == NULL)
		return cli_usage(cli, "the MAC file (-m MACFILE) is required");
	if (is_stdin(cli->args.mac) && is_stdin(cli->args.in))
		return cli_usage(cli, "the MAC and the input cannot both be "
		    "stdin");
	if ((r = cli_alg(cli, cli->args.alg, P11B_HMAC_DEFAULT_ALG,
	    &alg)) != 0 ||
	    (r = cli_read(cli, cli->args.mac, &mac, &maclen)) != 0 ||
	    (r = cli_connect(cli)) != 0)
		goto out;
	if ((r = p11b_hmac_verify_init(cli->conn, cli->key, alg,
	    &s)) != P11B_OK) {
		r = cli_fail(cli, r);
		goto out;
	}
	if ((r = stream_input(cli, s)) != 0)
		goto out;
	if ((r = p11b_hmac_verify_final(s, mac, maclen, &valid)) != P11B_OK) {
		r = cli_fail(cli, r);
		goto out;
	}
	if (valid) {
		version = p11b_last_version(&previous);
		if (version[0] != '\0')
			printf("version=%s %s\n", version, previous ?
			    "previous" : "current");
		r = cli_flush_stdout(cli) == 0 ? CLI_EXIT_OK :
		    CLI_EXIT_LOCAL_IO;
	} else {
		cli_warnx(cli, "MAC does not match");
		r = CLI_EXIT_MISMATCH;
	}
 out:
	free(mac);
	return r;
}

int
cmd_secret(struct cli *cli)
{
	uint8_t *secret = NULL;
	size_t len = 0;
	int r;

	if ((r = cli_connect(cli)) != CLI_EXIT_OK)
		return r;
	if ((r = p11b_get_secret(cli->conn, cli->key, &secret, &len)) !=
	    P11B_OK)
		return cli_fail(cli, r);
	r = cli_write(cli, cli->args.out, secret, len, 1);
	p11b_free_secret(secret, len);
	return r;
}

/*
 * One request, as the broker serves it.  A length over its limit is the
 * broker's too-large, said without asking it.
 */
int
cmd_random(struct cli *cli)
{
	uint8_t *buf = NULL;
	const char *errstr;
	long long len;
	int r;

	len = strtonum(cli->operands[0], 1, LLONG_MAX, &errstr);
	if (errstr != NULL && strcmp(errstr, "too large") != 0)
		return cli_usage(cli, "length \"%s\" is %s", cli->operands[0],
		    errstr);
	if (errstr != NULL || len > P11B_RANDOM_MAX) {
		cli_warnx(cli, "%s (at most %d bytes)",
		    p11b_status_name(P11B_TOO_LARGE), P11B_RANDOM_MAX);
		return CLI_EXIT_STATUS + P11B_TOO_LARGE;
	}
	if ((r = cli_connect(cli)) != CLI_EXIT_OK)
		return r;
	if ((r = p11b_random(cli->conn, (size_t)len, &buf)) != P11B_OK)
		return cli_fail(cli, r);
	r = cli_write(cli, cli->args.out, buf, (size_t)len, 0);
	/* Random bytes are often used as key material. */
	freezero(buf, (size_t)len);
	return r;
}

int
cmd_health(struct cli *cli)
{
	struct p11b_health h;
	size_t i;
	int r;

	if ((r = cli_connect(cli)) != CLI_EXIT_OK)
		return r;
	if ((r = p11b_health(cli->conn, &h)) != P11B_OK)
		return cli_fail(cli, r);
	/* The version is the broker's text: keep the line parseable. */
	for (i = 0; h.version[i] != '\0'; i++)
		if (h.version[i] <= ' ' || h.version[i] >= 0x7f)
			h.version[i] = '?';
	printf("version=%s token=%s uptime=%llu workers=%u signers=%u "
	    "signers-up=%u\n", h.version[0] != '\0' ? h.version : "-",
	    h.token_ready ? "ready" : "unavailable",
	    (unsigned long long)h.uptime_seconds, h.workers, h.signers,
	    h.signers_up);
	for (i = 0; i < h.ntokens; i++)
		printf("token %s ready=%s signers=%u signers-up=%u%s\n",
		    h.tokens[i].name, h.tokens[i].ready ? "yes" : "no",
		    h.tokens[i].signers, h.tokens[i].signers_up,
		    h.tokens[i].pin_refused ? " pin-refused" : "");
	return h.token_ready ? CLI_EXIT_OK :
	    CLI_EXIT_STATUS + P11B_TOKEN_UNAVAILABLE;
}
