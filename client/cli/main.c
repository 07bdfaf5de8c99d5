/*
 * p11broker: command line client for p11brokerd.
 *
 * Global options come before the command, the command's own options and
 * operands after it.  Every failure is one line on stderr and a distinct
 * exit code (see usage() and p11broker(1)).
 */
#include <sys/types.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11broker.h"
#include "cli.h"

/* Option bits: which options a command accepts. */
#define O_ALG		0x0001
#define O_IN		0x0002
#define O_OUT		0x0004
#define O_MAC		0x0008
#define O_DIGEST	0x0010
#define O_RAW		0x0020
#define O_DER		0x0040
#define O_OP		0x0080
#define O_KEY		0x0100
#define O_CLIENTS	0x0200
#define O_SECONDS	0x0400
#define O_SIZE		0x0800
#define O_SHARED	0x1000
#define O_PROMETHEUS	0x2000
#define O_PUBKEY	0x4000
#define O_OPEN_TAIL	0x8000
#define O_MIX		0x10000
#define O_REQUESTS	0x20000
#define O_ANCHOR	0x40000
#define O_SALT		0x80000
#define O_BATCH		0x100000
#define O_ID		0x200000
#define O_VERSION	0x400000

/* getopt values of the long-only options */
enum {
	LONG_DIGEST = 256,
	LONG_RAW,
	LONG_DER,
	LONG_OP,
	LONG_KEY,
	LONG_CLIENTS,
	LONG_SECONDS,
	LONG_SIZE,
	LONG_SHARED,
	LONG_PROMETHEUS,
	LONG_PUBKEY,
	LONG_OPEN_TAIL,
	LONG_MIX,
	LONG_REQUESTS,
	LONG_ANCHOR,
	LONG_SALT,
	LONG_BATCH,
	LONG_ID,
	LONG_VERSION,
};

struct cli_command {
	const char	*name;
	int		(*run)(struct cli *);
	int		 noperands;	/* exactly this many; -n: at least n */
	int		 has_key;	/* operand 0 is a key name */
	int		 options;	/* O_* */
	const char	*usage;
};

static const struct cli_command commands[] = {
	{ "list", cmd_list, 0, 0, 0, "list" },
	{ "pubkey", cmd_pubkey, 1, 1, O_DER | O_OUT | O_VERSION,
	    "pubkey KEY [--version VERSION] [--der] [-o FILE]" },
	{ "sign", cmd_sign, 1, 1, O_ALG | O_DIGEST | O_RAW | O_IN | O_OUT |
	    O_SALT, "sign KEY -a ALG [--digest] [--raw] [--salt BYTES] "
	    "[-i FILE] [-o FILE]" },
	{ "hmac", cmd_hmac, 1, 1, O_ALG | O_IN | O_OUT,
	    "hmac KEY [-a ALG] [-i FILE] [-o FILE]" },
	{ "hmac-verify", cmd_hmac_verify, 1, 1, O_ALG | O_MAC | O_IN,
	    "hmac-verify KEY [-a ALG] -m MACFILE [-i FILE]" },
	{ "secret", cmd_secret, 1, 1, O_OUT, "secret KEY [-o FILE]" },
	{ "random", cmd_random, 1, 0, O_OUT, "random N [-o FILE]" },
	{ "health", cmd_health, 0, 0, 0, "health" },
	{ "stats", cmd_stats, 0, 0, O_PROMETHEUS, "stats [--prometheus]" },
	{ "bench", cmd_bench, 0, 0, O_OP | O_KEY | O_CLIENTS | O_SECONDS |
	    O_SIZE | O_ALG | O_SHARED | O_MIX | O_REQUESTS | O_BATCH,
	    "bench [--op OP] [--key KEY] [--alg ALG] [--size BYTES]\n"
	    "        [--mix OP[:KEY[:ALG]]=WEIGHT,...|default]\n"
	    "        [--clients N] [--seconds S | --requests N] [--shared]\n"
	    "        [--batch N]" },
	{ "batch", cmd_batch, -3, 0, O_ALG | O_DIGEST | O_RAW,
	    "batch sign|hmac|hmac-verify KEY FILE... [-a ALG] [--digest] "
	    "[--raw]" },
	{ "generate", cmd_generate, 2, 1, O_ID | O_OUT | O_DER,
	    "generate LABEL TYPE [--id HEX] [-o PUBKEYFILE] [--der]" },
	{ "audit", cmd_audit, -2, 0, O_PUBKEY | O_OPEN_TAIL | O_ANCHOR,
	    "audit verify LOGFILE... --pubkey PEMFILE [--anchor FILE]\n"
	    "        [--allow-open-tail]" },
};

static const struct option command_options[] = {
	{ "alg", required_argument, NULL, 'a' },
	{ "in", required_argument, NULL, 'i' },
	{ "out", required_argument, NULL, 'o' },
	{ "mac", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ "digest", no_argument, NULL, LONG_DIGEST },
	{ "raw", no_argument, NULL, LONG_RAW },
	{ "der", no_argument, NULL, LONG_DER },
	{ "op", required_argument, NULL, LONG_OP },
	{ "key", required_argument, NULL, LONG_KEY },
	{ "clients", required_argument, NULL, LONG_CLIENTS },
	{ "seconds", required_argument, NULL, LONG_SECONDS },
	{ "size", required_argument, NULL, LONG_SIZE },
	{ "shared", no_argument, NULL, LONG_SHARED },
	{ "prometheus", no_argument, NULL, LONG_PROMETHEUS },
	{ "pubkey", required_argument, NULL, LONG_PUBKEY },
	{ "allow-open-tail", no_argument, NULL, LONG_OPEN_TAIL },
	{ "mix", required_argument, NULL, LONG_MIX },
	{ "requests", required_argument, NULL, LONG_REQUESTS },
	{ "anchor", required_argument, NULL, LONG_ANCHOR },
	{ "salt", required_argument, NULL, LONG_SALT },
	{ "batch", required_argument, NULL, LONG_BATCH },
	{ "id", required_argument, NULL, LONG_ID },
	{ "version", required_argument, NULL, LONG_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char *help_text =
    "\n"
    "options:\n"
    "  -s SOCKET       broker socket (default: $P11BROKER_SOCKET, else\n"
    "                  " P11B_SOCKET_PATH ")\n"
    "  -h, --help      show this help\n"
    "  -V, --version   show the version\n"
    "  -a, --alg ALG   algorithm: ecdsa-p256-sha256, ecdsa-p384-sha384,\n"
    "                  ecdsa-p521-sha512, rsa-pkcs1-sha224|256|384|512,\n"
    "                  rsa-pss-sha224|256|384|512, ed25519,\n"
    "                  hmac-sha256|384|512; weak, where the policy names\n"
    "                  them: rsa-pkcs1-sha1, rsa-pss-sha1, rsa-pkcs1-raw\n"
    "  -i, --in FILE   input (default stdin), at most 16 MiB\n"
    "  -o, --out FILE  output (default stdout), exactly the bytes\n"
    "  -m, --mac FILE  the MAC to check\n"
    "  --digest        the input is a digest, not the message\n"
    "  --raw           ECDSA signature as r||s instead of DER\n"
    "  --salt BYTES    RSA-PSS salt length (default: the digest length)\n"
    "  --der           public key as DER instead of PEM\n"
    "  --id HEX        generate: the new key's CKA_ID (default: 16 random\n"
    "                  bytes)\n"
    "  --version V     pubkey: that version of the key (default: current)\n"
    "  --op OP         bench: ecdsa (default), rsa, hmac, or one of the\n"
    "                  --mix operations\n"
    "  --key KEY       bench: key (default ec256, rsa2048, hmac32)\n"
    "  --mix SPEC      bench: a weighted mix, OP[:KEY[:ALG]]=WEIGHT,...\n"
    "                  OP: sign-ec (ec256), sign-rsa (rsa2048),\n"
    "                  sign-ed25519 (ed25519), hmac, hmac-verify (hmac32),\n"
    "                  random; \"default\" is sign-ec=50,sign-rsa=10,\n"
    "                  hmac=30,hmac-verify=5,random=5\n"
    "  --clients N     bench: client threads (default 1)\n"
    "  --seconds S     bench: measured time (default 5); SIGINT or\n"
    "                  SIGTERM ends a run early, results still printed\n"
    "  --requests N    bench: N requests in all, split over the clients,\n"
    "                  instead of --seconds (no warm-up)\n"
    "  --size BYTES    bench: sign a message of BYTES, not a digest\n"
    "  --shared        bench: all clients on one pipelined connection\n"
    "  --batch N       bench: N inputs per request (a batch); ops count\n"
    "                  inputs, latencies are per batch\n"
    "  --prometheus    stats: Prometheus text exposition format\n"
    "  --pubkey PEM    audit verify: the checkpoint key's public key\n"
    "  --allow-open-tail  audit verify: accept lines after the last\n"
    "                  checkpoint (a running broker's log)\n"
    "  --anchor FILE   audit verify: the last checkpoint line kept outside\n"
    "                  the log (the broker's anchor file, or syslog's copy);\n"
    "                  the log must reach it\n"
    "\n"
    "random N takes 1 to 4096 bytes.  hmac-verify exits 1 for a MAC that\n"
    "does not match; audit verify exits 1 for a log that does not verify.\n"
    "For a key with versions, hmac-verify prints the version that matched\n"
    "(\"version=V current\" or \"version=V previous\") and list shows each\n"
    "version with its token CKA_ID.\n"
    "\n"
    "exit codes:\n"
    "  0 ok             4 denied            8 too-large\n"
    "  1 MAC mismatch   5 no-such-key       9 rate-limited\n"
    "  2 usage          6 bad-request      10 token-unavailable\n"
    "  3 connection     7 unsupported      11 internal\n"
    " 12 cannot read input or write output\n";

static void
usage(FILE *f, int full)
{
	size_t i;

	fprintf(f, "usage: p11broker [-hV] [-s SOCKET] COMMAND [ARGS]\n");
	if (!full) {
		fprintf(f, "       p11broker -h lists the commands\n");
		return;
	}
	fprintf(f, "\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fputs(help_text, f);
}

int
cli_exit_code(int rc)
{
	if (rc == P11B_OK)
		return CLI_EXIT_OK;
	if (rc > 0 && rc < P11B_STATUS_COUNT)
		return CLI_EXIT_STATUS + rc;
	switch (rc) {
	case P11B_ERR_CONNECT:
	case P11B_ERR_IO:
	case P11B_ERR_PROTOCOL:
	case P11B_ERR_TIMEOUT:
		return CLI_EXIT_CONNECTION;
	case P11B_ERR_INVALID:
		/* Refused before sending: what the broker would have said. */
		return CLI_EXIT_STATUS + P11B_BAD_REQUEST;
	}
	return CLI_EXIT_STATUS + P11B_INTERNAL;
}

/* The status named in messages; see cli_exit_code(). */
const char *
cli_status_name(int rc)
{
	if (rc == P11B_ERR_INVALID)
		rc = P11B_BAD_REQUEST;
	return p11b_status_name(rc);
}

static void
cli_prefix(const struct cli *cli)
{
	fprintf(stderr, "p11broker: %s%s%s: ", cli->cmd,
	    cli->key != NULL ? " " : "", cli->key != NULL ? cli->key : "");
}

/* Report a failed call: "p11broker: sign KEY: denied (message)". */
int
cli_fail(const struct cli *cli, int rc)
{
	const char *msg = p11b_last_message();

	if (*msg == '\0')
		msg = p11b_strerror(rc);
	cli_prefix(cli);
	fprintf(stderr, "%s (%s)\n", cli_status_name(rc), msg);
	return cli_exit_code(rc);
}

void
cli_warnx(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	cli_prefix(cli);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct cli_command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
cli_usage(const struct cli *cli, const char *fmt, ...)
{
	const struct cli_command *c = command_find(cli->cmd);
	va_list ap;

	fprintf(stderr, "p11broker: %s: ", cli->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: p11broker [-s SOCKET] %s\n",
	    c != NULL ? c->usage : cli->cmd);
	return CLI_EXIT_USAGE;
}

int
cli_connect(struct cli *cli)
{
	int rc;

	if ((rc = p11b_connect(cli->socket, &cli->conn)) != P11B_OK)
		return cli_fail(cli, rc);
	return CLI_EXIT_OK;
}

int
cli_alg(const struct cli *cli, const char *name, enum p11b_alg def,
    enum p11b_alg *algp)
{
	if (name == NULL) {
		if (def == P11B_ALG_NONE)
			return cli_usage(cli, "an algorithm (-a ALG) is "
			    "required");
		*algp = def;
		return CLI_EXIT_OK;
	}
	if ((*algp = p11b_alg_from_name(name)) == P11B_ALG_NONE)
		return cli_usage(cli, "unknown algorithm \"%s\"", name);
	return CLI_EXIT_OK;
}

/* Store one option; returns its O_* bit, or 0 for an unknown one. */
static int
option_set(struct cli_args *a, int ch, char *arg)
{
	switch (ch) {
	case 'a':
		a->alg = arg;
		return O_ALG;
	case 'i':
		a->in = arg;
		return O_IN;
	case 'o':
		a->out = arg;
		return O_OUT;
	case 'm':
		a->mac = arg;
		return O_MAC;
	case LONG_DIGEST:
		a->digest = 1;
		return O_DIGEST;
	case LONG_RAW:
		a->raw = 1;
		return O_RAW;
	case LONG_DER:
		a->der = 1;
		return O_DER;
	case LONG_OP:
		a->op = arg;
		return O_OP;
	case LONG_KEY:
		a->key = arg;
		return O_KEY;
	case LONG_CLIENTS:
		a->clients = arg;
		return O_CLIENTS;
	case LONG_SECONDS:
		a->seconds = arg;
		return O_SECONDS;
	case LONG_SIZE:
		a->size = arg;
		return O_SIZE;
	case LONG_SHARED:
		a->shared = 1;
		return O_SHARED;
	case LONG_PROMETHEUS:
		a->prometheus = 1;
		return O_PROMETHEUS;
	case LONG_PUBKEY:
		a->pubkey = arg;
		return O_PUBKEY;
	case LONG_OPEN_TAIL:
		a->allow_open_tail = 1;
		return O_OPEN_TAIL;
	case LONG_MIX:
		a->mix = arg;
		return O_MIX;
	case LONG_REQUESTS:
		a->requests = arg;
		return O_REQUESTS;
	case LONG_ANCHOR:
		a->anchor = arg;
		return O_ANCHOR;
	case LONG_SALT:
		a->salt = arg;
		return O_SALT;
	case LONG_BATCH:
		a->batch = arg;
		return O_BATCH;
	case LONG_ID:
		a->id = arg;
		return O_ID;
	case LONG_VERSION:
		a->version = arg;
		return O_VERSION;
	}
	return 0;
}

/*
 * Parse the command's options and operands (argv[0] is the command).
 * Returns -1 to go on, or an exit code.
 */
static int
command_parse(struct cli *cli, const struct cli_command *c, int argc,
    char **argv)
{
	int ch, bit;

	optind = 0;	/* glibc: start over on a new argv */
	while ((ch = getopt_long(argc, argv, ":a:i:o:m:h", command_options,
	    NULL)) != -1) {
		if (ch == 'h') {
			printf("usage: p11broker [-s SOCKET] %s\n", c->usage);
			return CLI_EXIT_OK;
		}
		if (ch == ':')
			return cli_usage(cli, "option %s needs an argument",
			    argv[optind - 1]);
		bit = option_set(&cli->args, ch, optarg);
		if (bit == 0 || (c->options & bit) == 0)
			return cli_usage(cli, "unknown option %s",
			    argv[optind - 1]);
	}
	cli->operands = argv + optind;
	cli->noperands = argc - optind;
	if (c->noperands < 0 ? cli->noperands < -c->noperands :
	    cli->noperands != c->noperands)
		return cli_usage(cli, "%s operands", cli->noperands <
		    abs(c->noperands) ? "missing" : "too many");
	if (c->has_key)
		cli->key = cli->operands[0];
	return -1;
}

static int
global_parse(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	/* "+": stop at the command, its options are its own. */
	while ((ch = getopt_long(argc, argv, "+s:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			cli->socket = optarg;
			break;
		case 'h':
			usage(stdout, 1);
			return CLI_EXIT_OK;
		case 'V':
			printf("p11broker %s\n", PACKAGE_VERSION);
			return CLI_EXIT_OK;
		default:
			usage(stderr, 0);
			return CLI_EXIT_USAGE;
		}
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	const struct cli_command *c;
	int r;

	memset(&cli, 0, sizeof(cli));
	if ((r = global_parse(&cli, argc, argv)) != -1)
		return r;
	if (optind >= argc) {
		fprintf(stderr, "p11broker: no command given\n");
		usage(stderr, 0);
		return CLI_EXIT_USAGE;
	}
	cli.cmd = argv[optind];
	if ((c = command_find(cli.cmd)) == NULL) {
		fprintf(stderr, "p11broker: unknown command \"%s\"\n",
		    cli.cmd);
		usage(stderr, 0);
		return CLI_EXIT_USAGE;
	}
	if ((r = command_parse(&cli, c, argc - optind, argv + optind)) != -1)
		return r;
	r = c->run(&cli);
	p11b_close(cli.conn);
	if (r == CLI_EXIT_OK || r == CLI_EXIT_MISMATCH)
		r = cli_flush_stdout(&cli) != 0 ? CLI_EXIT_LOCAL_IO : r;
	return r;
}
