/*
 * Cold path: load the module with libp11, find the token, log in once,
 * and take the module's own function list for the hot path.
 *
 * libp11 and raw calls share the module (dlopen returns the same handle).
 * We log in with C_Login ourselves: libp11's PKCS11_login keeps a heap copy
 * of the PIN for its own re-login, and we want the PIN wiped after use.
 * libp11 is never torn down while serving: PKCS11_release_all_slots and
 * PKCS11_CTX_unload would close our sessions and finalize the module.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secret.h"
#include "token_int.h"

static int
find_slot(struct token *tok, const struct token_conf *conf, char *errbuf,
    size_t errlen)
{
	PKCS11_SLOT *s;
	unsigned int i;

	for (i = 0; i < tok->nslots; i++) {
		s = &tok->slots[i];
		if (s->token == NULL || !s->token->initialized)
			continue;
		if ((conf->token_by == TOKEN_BY_LABEL &&
		    strcmp(s->token->label, conf->token_label) == 0) ||
		    (conf->token_by == TOKEN_BY_SERIAL &&
		    strcmp(s->token->serialnr, conf->token_label) == 0) ||
		    (conf->token_by == TOKEN_BY_SLOT &&
		    PKCS11_get_slotid_from_slot(s) == conf->token_slot)) {
			tok->slot = s;
			tok->slotid = PKCS11_get_slotid_from_slot(s);
			snprintf(tok->desc, sizeof(tok->desc), "token \"%s\" "
			    "serial %s slot %lu (%s)", s->token->label,
			    s->token->serialnr, (unsigned long)tok->slotid,
			    s->token->manufacturer);
			return 0;
		}
	}
	if (conf->token_by == TOKEN_BY_SLOT)
		snprintf(errbuf, errlen, "%s: no initialized token in slot "
		    "%lu", conf->module, conf->token_slot);
	else
		snprintf(errbuf, errlen, "%s: no token with %s \"%s\" "
		    "(%u slots)", conf->module, conf->token_by ==
		    TOKEN_BY_LABEL ? "label" : "serial", conf->token_label,
		    tok->nslots);
	return -1;
}

static int
load_module(struct token *tok, const struct token_conf *conf, char *errbuf,
    size_t errlen)
{
	CK_C_GetFunctionList getfl;

	if ((tok->ctx = PKCS11_CTX_new()) == NULL) {
		snprintf(errbuf, errlen, "libp11: out of memory");
		return -1;
	}
	if (PKCS11_CTX_load(tok->ctx, conf->module) != 0) {
		snprintf(errbuf, errlen, "%s: cannot load PKCS#11 module",
		    conf->module);
		PKCS11_CTX_free(tok->ctx);
		tok->ctx = NULL;
		return -1;
	}
	/*
	 * The same module instance libp11 initialized (with OS locking).
	 * RTLD_NODELETE keeps it mapped until exit, so leak checkers can
	 * still name the module's own allocations.
	 */
	if ((tok->dl = dlopen(conf->module, RTLD_NOW | RTLD_LOCAL |
	    RTLD_NODELETE)) == NULL ||
	    (getfl = (CK_C_GetFunctionList)dlsym(tok->dl,
	    "C_GetFunctionList")) == NULL || getfl(&tok->f) != CKR_OK) {
		snprintf(errbuf, errlen, "%s: no C_GetFunctionList",
		    conf->module);
		return -1;
	}
	if (PKCS11_enumerate_slots(tok->ctx, &tok->slots, &tok->nslots) != 0) {
		snprintf(errbuf, errlen, "%s: cannot list slots",
		    conf->module);
		return -1;
	}
	return find_slot(tok, conf, errbuf, errlen);
}

/*
 * Log in exactly once.  CKR_PIN_INCORRECT and CKR_PIN_LOCKED are final:
 * retrying a wrong PIN would count down the token's retry counter and
 * lock it.
 */
static int
login(struct token *tok, struct secret *pin, char *errbuf, size_t errlen)
{
	CK_RV rv;

	rv = tok->f->C_OpenSession(tok->slotid, CKF_SERIAL_SESSION, NULL,
	    NULL, &tok->control);
	if (rv != CKR_OK) {
		snprintf(errbuf, errlen, "%s: C_OpenSession: %s", tok->desc,
		    token_ckr_name(rv));
		return -1;
	}
	tok->have_control = 1;
	rv = tok->f->C_Login(tok->control, CKU_USER, pin->buf, pin->len);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ||
	    rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE ||
	    rv == CKR_PIN_EXPIRED) {
		snprintf(errbuf, errlen, "%s: login failed: %s (the PIN is "
		    "wrong or locked; not retried, so as not to lock the "
		    "token)", tok->desc, token_ckr_name(rv));
		return TOKEN_ERR_PIN;
	}
	snprintf(errbuf, errlen, "%s: C_Login: %s", tok->desc,
	    token_ckr_name(rv));
	return -1;
}

int
token_open(const struct token_conf *conf, struct secret *pin,
    struct token **tokp, char *errbuf, size_t errlen)
{
	struct token_keyset *ks;
	struct token *tok;
	int r;

	if ((tok = calloc(1, sizeof(*tok))) == NULL) {
		snprintf(errbuf, errlen, "token: out of memory");
		return -1;
	}
	if ((r = load_module(tok, conf, errbuf, errlen)) != 0 ||
	    (r = login(tok, pin, errbuf, errlen)) != 0 ||
	    (r = token_keyset_load(tok, conf, &ks, errbuf, errlen)) != 0) {
		token_close(tok);
		return r < 0 ? r : -1;
	}
	token_use_keys(tok, ks);
	*tokp = tok;
	return 0;
}

void
token_close(struct token *tok)
{
	if (tok == NULL)
		return;
	if (tok->keys != NULL)
		token_keyset_release(tok->keys);
	if (tok->have_control) {
		(void)tok->f->C_Logout(tok->control);
		(void)tok->f->C_CloseSession(tok->control);
	}
	if (tok->ctx != NULL) {
		if (tok->slots != NULL)
			PKCS11_release_all_slots(tok->ctx, tok->slots,
			    tok->nslots);
		PKCS11_CTX_unload(tok->ctx);	/* C_Finalize */
		PKCS11_CTX_free(tok->ctx);
	}
	if (tok->dl != NULL)
		dlclose(tok->dl);
	free(tok);
}

const char *
token_description(const struct token *tok)
{
	return tok->desc;
}

int
token_session_open(struct token *tok, struct token_session **sessp)
{
	struct token_session *sess;
	CK_RV rv;

	if ((sess = calloc(1, sizeof(*sess))) == NULL)
		return -1;
	sess->tok = tok;
	rv = tok->f->C_OpenSession(tok->slotid, CKF_SERIAL_SESSION, NULL,
	    NULL, &sess->h);
	if (rv != CKR_OK) {
		log_warnx("%s: C_OpenSession: %s", tok->desc,
		    token_ckr_name(rv));
		free(sess);
		return -1;
	}
	sess->open = 1;
	*sessp = sess;
	return 0;
}

void
token_session_close(struct token_session *sess)
{
	if (sess == NULL)
		return;
	if (sess->open)
		(void)sess->tok->f->C_CloseSession(sess->h);
	free(sess);
}
