/* The signer process (signer.c) and how it tells the monitor it stopped. */
#ifndef SIGNER_H
#define SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "job.h"

struct secret;

#define SIGNER_EXIT_RETRY	1	/* start another after a pause */
#define SIGNER_EXIT_PIN		3	/* the token refused the PIN: never */
#define SIGNER_EXIT_SANDBOX	5	/* its filter trapped a call (a hint) */

/*
 * In the forked child, before any PKCS#11 call: open token block token
 * of conf, log in with pin (freed here), serve one worker per link until
 * the front closes them.  Sends its start-up verdict (ctl.h) on
 * status_fd.  Never returns.
 */
void	signer_main(const struct config *conf, int token, struct secret *pin,
	    int *links, int nlinks, int status_fd) __attribute__((noreturn));

/*
 * batch.c: run a batch job's body (SMSG_BATCH_JOB) on sess and encode
 * its one result message into *outp; -1 when it cannot be encoded.  A
 * malformed body is fatal, as for a single job.
 */
struct token;
struct token_session;
int	signer_batch_run(struct token *tok, struct token_session *sess,
	    uint64_t id, const uint8_t *body, size_t len, uint8_t **outp,
	    size_t *outlenp);

/* Token block token's module-env settings into the environment: 0/-1. */
int	signer_module_env(const struct config *conf, int token, char *errbuf,
	    size_t errlen);

/*
 * p11brokerd -n: open token block token as a signer would, in this
 * process (pin
 * is freed here), and hand its description and resolved keys to check
 * while it is open.  Returns check's result; -1 with errbuf set when the
 * token cannot be opened.
 */
typedef int (*signer_check_fn)(void *arg, const char *token_desc,
	    const struct key_info *keys, size_t nkeys);
int	signer_check_token(const struct config *conf, int token,
	    struct secret *pin,
	    signer_check_fn check, void *arg, char *errbuf, size_t errlen);

#endif /* SIGNER_H */
