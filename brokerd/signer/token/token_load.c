/*
 * Cold path: load the module, initialise it once, find the token, log in
 * once.  One function list, ours, for everything: no second library
 * initialises another instance of the module behind it (p11-kit-client,
 * like many vendor client libraries, makes a new instance for every
 * C_GetFunctionList, and an instance nobody initialised answers
 * CKR_CRYPTOKI_NOT_INITIALIZED).  We log in with C_Login ourselves and
 * the PIN is wiped after use.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secret.h"
#include "token_int.h"

/* A blank-padded PKCS#11 text field as a C string (at most dstlen - 1). */
static void
padded_text(char *dst, size_t dstlen, const unsigned char *src, size_t len)
{
	while (len > 0 && (src[len - 1] == ' ' || src[len - 1] == '\0'))
		len--;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int
token_matches(const struct token_conf *conf, CK_SLOT_ID slot,
    const char *label, const char *serial)
{
	switch (conf->token_by) {
	case TOKEN_BY_LABEL:
		return strcmp(label, conf->token_label) == 0;
	case TOKEN_BY_SERIAL:
		return strcmp(serial, conf->token_label) == 0;
	case TOKEN_BY_SLOT:
		return slot == conf->token_slot;
	}
	return 0;
}

static int
find_slot(struct token *tok, const struct token_conf *conf, char *errbuf,
    size_t errlen)
{
	char label[33], serial[17], maker[33];
	CK_SLOT_ID *slots = NULL;
	CK_TOKEN_INFO ti;
	CK_ULONG i, n = 0;
	CK_RV rv;

	if ((rv = tok->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK ||
	    (n > 0 && (slots = calloc(n, sizeof(*slots))) == NULL) ||
	    (n > 0 && (rv = tok->f->C_GetSlotList(CK_TRUE, slots, &n)) !=
	    CKR_OK)) {
		snprintf(errbuf, errlen, "%s: cannot list slots: %s",
		    conf->module, token_ckr_name(rv));
		free(slots);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (tok->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		padded_text(label, sizeof(label), ti.label, sizeof(ti.label));
		padded_text(serial, sizeof(serial), ti.serialNumber,
		    sizeof(ti.serialNumber));
		if (!token_matches(conf, slots[i], label, serial))
			continue;
		padded_text(maker, sizeof(maker), ti.manufacturerID,
		    sizeof(ti.manufacturerID));
		tok->slotid = slots[i];
		snprintf(tok->desc, sizeof(tok->desc), "token \"%s\" serial %s "
		    "slot %lu (%s)", label, serial, (unsigned long)slots[i],
		    maker);
		free(slots);
		return 0;
	}
	free(slots);
	if (conf->token_by == TOKEN_BY_SLOT)
		snprintf(errbuf, errlen, "%s: no initialized token in slot "
		    "%lu", conf->module, conf->token_slot);
	else
		snprintf(errbuf, errlen, "%s: no token with %s \"%s\" "
		    "(%lu slots)", conf->module, conf->token_by ==
		    TOKEN_BY_LABEL ? "label" : "serial", conf->token_label,
		    (unsigned long)n);
	return -1;
}

static int
load_module(struct token *tok, const struct token_conf *conf, char *errbuf,
    size_t errlen)
{
	CK_C_INITIALIZE_ARGS args;
	CK_C_GetFunctionList getfl;
	CK_RV rv;

	/*
	 * RTLD_NODELETE keeps the module mapped until exit, so leak
	 * checkers can still name its own allocations.
	 */
	if ((tok->dl = dlopen(conf->module, RTLD_NOW | RTLD_LOCAL |
	    RTLD_NODELETE)) == NULL) {
		snprintf(errbuf, errlen, "%s: cannot load PKCS#11 module: %s",
		    conf->module, dlerror());
		return -1;
	}
	if ((getfl = (CK_C_GetFunctionList)dlsym(tok->dl,
	    "C_GetFunctionList")) == NULL || getfl(&tok->f) != CKR_OK ||
	    tok->f == NULL) {
		snprintf(errbuf, errlen, "%s: no C_GetFunctionList",
		    conf->module);
		return -1;
	}
	/* Our worker threads call it at once: the OS's locks. */
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = tok->f->C_Initialize(&args);
	if (rv == CKR_CANT_LOCK) {
		snprintf(errbuf, errlen, "%s: C_Initialize: the module cannot "
		    "use the OS's locks (CKR_CANT_LOCK)", conf->module);
		return -1;
	}
	if (rv != CKR_OK) {
		snprintf(errbuf, errlen, "%s: C_Initialize: %s", conf->module,
		    token_ckr_name(rv));
		return -1;
	}
	tok->initialized = 1;
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
	if (tok->initialized)
		(void)tok->f->C_Finalize(NULL);
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
	token_streams_close(sess);
	if (sess->open)
		(void)sess->tok->f->C_CloseSession(sess->h);
	free(sess);
}
