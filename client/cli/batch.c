/*
 * p11broker batch OP KEY FILE...: one batch request with an item per
 * FILE (sign, hmac or hmac-verify), for scripts and tests.  Each result
 * is written beside its input (FILE.sig, FILE.mac; hmac-verify reads the
 * MAC from FILE.mac) and reported on a line "FILE STATUS [valid|invalid]"
 * on stdout, in order.  Exit 0 when every item is OK (and valid), else
 * the first failing item's code, as for a single request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11broker.h"
#include "cli.h"

static int
batch_op(const char *name, enum p11b_op *op)
{
	if (strcmp(name, "sign") == 0)
		*op = P11B_OP_SIGN;
	else if (strcmp(name, "hmac") == 0)
		*op = P11B_OP_HMAC;
	else if (strcmp(name, "hmac-verify") == 0)
		*op = P11B_OP_HMAC_VERIFY;
	else
		return -1;
	return 0;
}

/* Each FILE, and for hmac-verify FILE.mac. */
static int
batch_read(struct cli *cli, enum p11b_op op, struct p11b_batch_item *items,
    size_t n)
{
	char path[4096];
	uint8_t *buf;
	size_t i, len;
	int r;

	for (i = 0; i < n; i++) {
		if ((r = cli_read(cli, cli->operands[2 + i], &buf, &len)) != 0)
			return r;
		items[i].in = buf;
		items[i].inlen = len;
		if (op != P11B_OP_HMAC_VERIFY)
			continue;
		snprintf(path, sizeof(path), "%s.mac", cli->operands[2 + i]);
		if ((r = cli_read(cli, path, &buf, &len)) != 0)
			return r;
		items[i].mac = buf;
		items[i].maclen = len;
	}
	return 0;
}

static int
batch_report(struct cli *cli, enum p11b_op op,
    const struct p11b_batch_item *items, size_t n)
{
	char path[4096];
	size_t i;
	int r = CLI_EXIT_OK, w;

	for (i = 0; i < n; i++) {
		const char *file = cli->operands[2 + i];

		printf("%s %s", file, p11b_status_name(items[i].status));
		if (items[i].status == P11B_OK && op == P11B_OP_HMAC_VERIFY)
			printf(" %s", items[i].valid ? "valid" : "invalid");
		printf("\n");
		if (items[i].status != P11B_OK) {
			if (r == CLI_EXIT_OK)
				r = cli_exit_code(items[i].status);
			continue;
		}
		if (op == P11B_OP_HMAC_VERIFY) {
			if (!items[i].valid && r == CLI_EXIT_OK)
				r = CLI_EXIT_MISMATCH;
			continue;
		}
		snprintf(path, sizeof(path), "%s.%s", file,
		    op == P11B_OP_SIGN ? "sig" : "mac");
		if ((w = cli_write(cli, path, items[i].out, items[i].outlen,
		    0)) != 0)
			return w;
	}
	if ((w = cli_flush_stdout(cli)) != 0)
		return w;
	return r;
}

int
cmd_batch(struct cli *cli)
{
	struct p11b_batch_item *items = NULL;
	enum p11b_op op;
	enum p11b_alg alg;
	size_t i, n = (size_t)cli->noperands - 2;
	int flags = 0, r;

	if (batch_op(cli->operands[0], &op) != 0)
		return cli_usage(cli, "unknown batch operation \"%s\" (sign, "
		    "hmac or hmac-verify)", cli->operands[0]);
	cli->key = cli->operands[1];
	if (op == P11B_OP_SIGN && cli->args.alg == NULL)
		return cli_usage(cli, "sign needs an algorithm (-a ALG)");
	if ((cli->args.digest || cli->args.raw) && op != P11B_OP_SIGN)
		return cli_usage(cli, "--digest and --raw are for sign");
	flags = (cli->args.digest ? P11B_SIGN_DIGEST : 0) |
	    (cli->args.raw ? P11B_SIGN_RAW : 0);
	if ((r = cli_alg(cli, cli->args.alg, op == P11B_OP_SIGN ?
	    P11B_ALG_NONE : P11B_HMAC_DEFAULT_ALG, &alg)) != 0)
		return r;
	if ((items = calloc(n, sizeof(*items))) == NULL) {
		cli_warnx(cli, "out of memory");
		return CLI_EXIT_STATUS + P11B_INTERNAL;
	}
	if ((r = batch_read(cli, op, items, n)) != 0 ||
	    (r = cli_connect(cli)) != 0)
		goto out;
	if ((r = p11b_batch(cli->conn, op, cli->key, NULL, 0, alg, flags,
	    items, n)) != P11B_OK) {
		r = cli_fail(cli, r);
		goto out;
	}
	r = batch_report(cli, op, items, n);
 out:
	p11b_batch_clear(items, n);
	for (i = 0; i < n; i++) {
		free((void *)(uintptr_t)items[i].in);
		free((void *)(uintptr_t)items[i].mac);
	}
	free(items);
	return r;
}
