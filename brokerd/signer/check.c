/*
 * p11brokerd -n: the token as a signer sees it, for the monitor's
 * configuration check (signer.h).
 */
#include "secret.h"
#include "signer.h"
#include "token.h"
#include "token_conf.h"

int
signer_check_token(const struct config *conf, int token, struct secret *pin,
    signer_check_fn check, void *arg, char *errbuf, size_t errlen)
{
	const struct key_info *keys;
	struct token_conf tc;
	struct token *tok;
	size_t nkeys;
	int r;

	if (signer_module_env(conf, token, errbuf, errlen) != 0) {
		secret_free(pin);
		return -1;
	}
	token_conf_of(conf, token, &tc);
	r = token_open(&tc, pin, &tok, errbuf, errlen);
	secret_free(pin);
	if (r != 0)
		return -1;
	keys = token_keyset_info(token_current_keys(tok), &nkeys);
	r = check(arg, token_description(tok), keys, nkeys);
	token_close(tok);
	return r;
}
