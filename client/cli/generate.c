/*
 * p11broker generate LABEL TYPE: a key made on the token in a keyspace
 * (p11brokerd.conf(5)).  Prints what the broker answered, one
 * "field value" per line; the public key goes to -o FILE.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char		*name;
	enum p11b_key_type	 type;
	unsigned int		 bits;
} gen_types[] = {
	{ "ec-p256", P11B_KEY_EC_P256, 0 },
	{ "ec-p384", P11B_KEY_EC_P384, 0 },
	{ "ed25519", P11B_KEY_ED25519, 0 },
	{ "rsa-2048", P11B_KEY_RSA, 2048 },
	{ "rsa-3072", P11B_KEY_RSA, 3072 },
	{ "hmac-256", P11B_KEY_SECRET, 256 },
	{ "hmac-384", P11B_KEY_SECRET, 384 },
	{ "hmac-512", P11B_KEY_SECRET, 512 },
};

static int
parse_hex(const char *s, uint8_t *out, size_t max, size_t *lenp)
{
	size_t i, n = strlen(s);

	if (n == 0 || n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n; i += 2) {
		if (!isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1]))
			return -1;
		sscanf(s + i, "%2hhx", &out[i / 2]);
	}
	*lenp = n / 2;
	return 0;
}

static void
print_hex(const char *field, const uint8_t *p, size_t len)
{
	size_t i;

	printf("%s ", field);
	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
	printf("\n");
}

int
cmd_generate(struct cli *cli)
{
	struct p11b_key_info ki;
	uint8_t id[P11B_ID_MAX], *spki = NULL;
	char *pem = NULL;
	size_t i, idlen = 0, spkilen = 0, pemlen = 0;
	int r;

	for (i = 0; i < sizeof(gen_types) / sizeof(gen_types[0]); i++)
		if (strcmp(gen_types[i].name, cli->operands[1]) == 0)
			break;
	if (i == sizeof(gen_types) / sizeof(gen_types[0]))
		return cli_usage(cli, "TYPE: ec-p256, ec-p384, ed25519, "
		    "rsa-2048, rsa-3072, hmac-256, hmac-384 or hmac-512");
	if (cli->args.id != NULL && parse_hex(cli->args.id, id, sizeof(id),
	    &idlen) != 0)
		return cli_usage(cli, "--id: 1 to 64 bytes in hex");
	if ((r = cli_connect(cli)) != CLI_EXIT_OK)
		return r;
	if ((r = p11b_generate_key(cli->conn, cli->key, gen_types[i].type,
	    gen_types[i].bits, idlen > 0 ? id : NULL, idlen, &ki, &spki,
	    &spkilen)) != P11B_OK)
		return cli_fail(cli, r);
	printf("name %s\ntype %s\nbits %u\n", ki.name,
	    p11b_key_type_name(ki.type), ki.bits);
	print_hex("id", ki.id, ki.idlen);
	print_hex("identity", ki.identity, ki.identitylen);
	fflush(stdout);
	r = CLI_EXIT_OK;
	if (cli->args.out != NULL && spki != NULL) {
		if (cli->args.der)
			r = cli_write(cli, cli->args.out, spki, spkilen, 0);
		else if (io_pem("PUBLIC KEY", spki, spkilen, &pem,
		    &pemlen) == -1) {
			cli_warnx(cli, "cannot encode the public key");
			r = CLI_EXIT_STATUS + P11B_INTERNAL;
		} else
			r = cli_write(cli, cli->args.out, (uint8_t *)pem,
			    pemlen, 0);
	}
	free(pem);
	free(spki);
	return r;
}
