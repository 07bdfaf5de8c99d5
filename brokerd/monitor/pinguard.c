/*
 * PINs the token refused (pinguard.h).  Only a hash is kept, keyed with
 * a random key of this process so that it is no help to whoever guesses
 * PINs offline; the PIN itself stays in its sealed buffer and is made
 * readable just for the hash.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "pin.h"
#include "pinguard.h"
#include "secret.h"

int
pin_guard_init(struct pin_guard *g)
{
	sodium_memzero(g, sizeof(*g));
	randombytes_buf(g->key, sizeof(g->key));
	return 0;
}

static int
pin_hash(const struct pin_guard *g, struct secret *pin,
    uint8_t out[crypto_generichash_BYTES])
{
	int r;

	if (secret_unseal(pin) != 0)
		return -1;
	r = crypto_generichash(out, crypto_generichash_BYTES, pin->buf,
	    pin->len, g->key, sizeof(g->key));
	if (secret_seal(pin) != 0)
		return -1;
	return r == 0 ? 0 : -1;
}

int
pin_guard_refuse(struct pin_guard *g, struct secret *pin)
{
	uint8_t h[crypto_generichash_BYTES];

	if (pin_hash(g, pin, h) != 0)
		return -1;
	if (pin_guard_refused(g, pin) == 1)
		return 0;
	memcpy(g->refused[g->next], h, sizeof(h));
	g->next = (g->next + 1) % PIN_GUARD_MAX;
	if (g->n < PIN_GUARD_MAX)
		g->n++;
	return 0;
}

int
pin_guard_refused(const struct pin_guard *g, struct secret *pin)
{
	uint8_t h[crypto_generichash_BYTES];
	size_t i;
	int found = 0;

	if (g->n == 0)
		return 0;
	if (pin_hash(g, pin, h) != 0)
		return -1;
	for (i = 0; i < g->n; i++)
		found |= sodium_memcmp(g->refused[i], h, sizeof(h)) == 0;
	return found;
}

int
pin_for_reload(const struct pin_guard *g, const struct config *conf,
    const struct token_block *tb, struct secret *current,
    struct secret **freshp, char *err, size_t errlen)
{
	struct secret *fresh = NULL;
	int r;

	*freshp = NULL;
	if (current == NULL) {		/* a block the reload adds */
		if (tb->pin_source == PIN_ENV) {
			snprintf(err, errlen, "token %s: pin-env %s was read "
			    "(and cleared) at start; a block a reload adds "
			    "needs pin-file or pin-credential, or the variable "
			    "of a block in force", tb->name, tb->pin_ref);
			return -1;
		}
		if ((fresh = pin_read(conf, tb, err, errlen)) == NULL)
			return -1;
		if (secret_seal(fresh) != 0) {
			secret_free(fresh);
			snprintf(err, errlen, "cannot seal the PIN in memory");
			return -1;
		}
	}
	/*
	 * An environment variable was cleared after the first read; a
	 * literal PIN was wiped after it (files_forget_pin), and a changed
	 * one needs a restart (files_same_pin).
	 */
	else if (tb->pin_source != PIN_ENV && tb->pin_source != PIN_LITERAL) {
		/* A PIN file removed after start is no reason to refuse. */
		if ((fresh = pin_read(conf, tb, err, errlen)) == NULL)
			log_warnx("reload: %s; the PIN read before stays", err);
		else if (secret_seal(fresh) != 0) {
			secret_free(fresh);
			snprintf(err, errlen, "cannot seal the PIN in memory");
			return -1;
		}
	}
	if ((r = pin_guard_refused(g, fresh != NULL ? fresh : current)) != 0) {
		secret_free(fresh);
		if (r == -1)
			snprintf(err, errlen, "cannot check the PIN");
		else
			snprintf(err, errlen, "the token refused this PIN "
			    "before (token %s); no signer is started with it "
			    "(%s)", tb->name, tb->pin_source == PIN_ENV ||
			    tb->pin_source == PIN_LITERAL ? "pin-env and a "
			    "literal pin are read once: restart the broker "
			    "with the right PIN" :
			    "put the right PIN in place and reload, or "
			    "restart");
		return -1;
	}
	*freshp = fresh;
	return 0;
}
