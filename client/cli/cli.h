/*
 * The p11broker command line tool: shared declarations.
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>
#include <stdint.h>

#include "p11broker.h"

/* configure passes these with -D; a plain compile still works. */
#ifndef P11B_SOCKET_PATH
#define P11B_SOCKET_PATH	P11B_DEFAULT_SOCKET
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION		"unknown"
#endif

#define CLI_INPUT_MAX		(16 * 1024 * 1024)	/* bytes read */
#define CLI_STREAM_READ		(64 * 1024)	/* a streamed input's reads */

/* Exit codes; a broker status s > 0 exits with CLI_EXIT_STATUS + s. */
#define CLI_EXIT_OK		0
#define CLI_EXIT_MISMATCH	1	/* hmac-verify: the MAC is invalid */
#define CLI_EXIT_USAGE		2
#define CLI_EXIT_CONNECTION	3	/* connect, connection lost, protocol */
#define CLI_EXIT_STATUS		3	/* 4 denied ... 11 internal */
#define CLI_EXIT_LOCAL_IO	12	/* cannot read input / write output */

/* Options after the command; which ones a command takes is in main.c. */
struct cli_args {
	const char	*alg;
	const char	*in;
	const char	*out;
	const char	*mac;
	const char	*op;		/* bench */
	const char	*key;		/* bench */
	const char	*clients;	/* bench */
	const char	*seconds;	/* bench */
	const char	*size;		/* bench */
	const char	*mix;		/* bench */
	const char	*requests;	/* bench */
	const char	*salt;		/* sign: RSA-PSS salt length */
	const char	*batch;		/* bench: items per request */
	int		 digest;
	int		 raw;
	int		 der;
	int		 shared;	/* bench */
	int		 prometheus;	/* stats */
	const char	*pubkey;	/* audit verify */
	int		 allow_open_tail; /* audit verify */
	const char	*anchor;	/* audit verify */
	const char	*id;		/* generate: CKA_ID, hex */
	const char	*version;	/* pubkey: a key version */
};

struct cli {
	const char		*socket;	/* NULL: library default */
	const char		*cmd;
	const char		*key;		/* KEY operand, for messages */
	char			**operands;
	int			 noperands;
	struct cli_args		 args;
	struct p11b_conn	*conn;
};

/* main.c */
int	cli_exit_code(int rc);
const char	*cli_status_name(int rc);
int	cli_fail(const struct cli *cli, int rc);
void	cli_warnx(const struct cli *cli, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
int	cli_usage(const struct cli *cli, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
int	cli_connect(struct cli *cli);
int	cli_alg(const struct cli *cli, const char *name, enum p11b_alg def,
	    enum p11b_alg *algp);

/* io.c */
int	io_read(const char *path, size_t max, uint8_t **bufp, size_t *lenp);
int	io_write(const char *path, const uint8_t *buf, size_t len,
	    int secret);
int	io_pem(const char *label, const uint8_t *der, size_t len,
	    char **pemp, size_t *pemlenp);
int	cli_read(const struct cli *cli, const char *path, uint8_t **bufp,
	    size_t *lenp);
int	cli_write(const struct cli *cli, const char *path, const uint8_t *buf,
	    size_t len, int secret);
int	cli_flush_stdout(const struct cli *cli);

/* cmds.c */
int	cmd_list(struct cli *cli);
int	cmd_pubkey(struct cli *cli);
int	cmd_generate(struct cli *cli);	/* generate.c */
int	cmd_sign(struct cli *cli);
int	cmd_hmac(struct cli *cli);
int	cmd_hmac_verify(struct cli *cli);
int	cmd_secret(struct cli *cli);
int	cmd_random(struct cli *cli);
int	cmd_health(struct cli *cli);
int	cmd_stats(struct cli *cli);

/* audit.c */
int	cmd_audit(struct cli *cli);

/* bench.c */
int	cmd_bench(struct cli *cli);

/* batch.c */
int	cmd_batch(struct cli *cli);

#endif /* CLI_H */
