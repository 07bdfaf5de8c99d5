/*
 * Which of the caller's keys this process is shown.  The broker's policy
 * decides what a uid may use; this narrows it further per process, read
 * once at C_Initialize from the environment:
 *
 *	P11BROKER_KEYS=tls-web,dns-*	key names (fnmatch(3) patterns)
 *	P11BROKER_KEY_TYPES=ec,rsa	key types (ec = any curve but Ed25519)
 *	P11BROKER_LABELS=token		CKA_LABEL is the token object's label
 *
 * A key hidden here has no objects at all: programs that fail on a key
 * type they cannot handle (libp11 0.4.12 on Ed25519) never see it.  This
 * is not a security boundary: the process could talk to the broker
 * directly.
 */
#include <sys/types.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

#define FILTER_MAX	4096

static char	filter_names[FILTER_MAX];	/* comma-separated, or "" */
static int	filter_have_names;
static uint32_t	filter_types;			/* 1 << type; 0: all */
static int	filter_labels;

/* The bits for one type word; 0 for an unknown one. */
static uint32_t
filter_type_bits(const char *word)
{
	int t;

	if (strcmp(word, "ec") == 0)
		return 1U << P11B_KEY_EC_P256 | 1U << P11B_KEY_EC_P384 |
		    1U << P11B_KEY_EC_P521;
	for (t = P11B_KEY_NONE + 1; t < P11B_KEY_TYPE_COUNT; t++)
		if (strcmp(word, p11b_key_type_name(t)) == 0)
			return 1U << t;
	return 0;
}

static CK_RV
filter_read_types(const char *env)
{
	char buf[256], *word, *next;
	uint32_t bits;

	if (strlcpy(buf, env, sizeof(buf)) >= sizeof(buf))
		goto bad;
	for (next = buf; (word = strsep(&next, ", ")) != NULL;) {
		if (*word == '\0')
			continue;
		if ((bits = filter_type_bits(word)) == 0)
			goto bad;
		filter_types |= bits;
	}
	if (filter_types != 0)
		return CKR_OK;
 bad:
	fprintf(stderr, "p11broker-pkcs11: P11BROKER_KEY_TYPES=\"%s\": "
	    "expected a list of ec, ec-p256, ec-p384, ec-p521, rsa, "
	    "ed25519, secret, data\n", env);
	return CKR_GENERAL_ERROR;
}

CK_RV
filter_init(void)
{
	const char *env;

	filter_free();
	if ((env = getenv("P11BROKER_KEYS")) != NULL && *env != '\0') {
		if (strlcpy(filter_names, env, sizeof(filter_names)) >=
		    sizeof(filter_names)) {
			fprintf(stderr, "p11broker-pkcs11: P11BROKER_KEYS is "
			    "longer than %d bytes\n", FILTER_MAX - 1);
			return CKR_GENERAL_ERROR;
		}
		filter_have_names = 1;
	}
	if ((env = getenv("P11BROKER_KEY_TYPES")) != NULL && *env != '\0' &&
	    filter_read_types(env) != CKR_OK)
		return CKR_GENERAL_ERROR;
	if ((env = getenv("P11BROKER_LABELS")) != NULL && *env != '\0') {
		if (strcmp(env, "token") == 0)
			filter_labels = 1;
		else if (strcmp(env, "name") != 0) {
			fprintf(stderr, "p11broker-pkcs11: P11BROKER_LABELS="
			    "\"%s\": expected name or token\n", env);
			return CKR_GENERAL_ERROR;
		}
	}
	return CKR_OK;
}

static int
filter_name_listed(const char *name)
{
	char pat[P11B_KEY_NAME_MAX + 2];
	const char *p, *end;
	size_t len;

	for (p = filter_names; *p != '\0'; p = *end == '\0' ? end : end + 1) {
		end = p + strcspn(p, ", ");
		len = (size_t)(end - p);
		if (len == 0 || len >= sizeof(pat))
			continue;
		memcpy(pat, p, len);
		pat[len] = '\0';
		if (fnmatch(pat, name, 0) == 0)
			return 1;
	}
	return 0;
}

int
filter_shows(const char *name, enum p11b_key_type type)
{
	if (filter_types != 0 && (type <= P11B_KEY_NONE ||
	    type >= P11B_KEY_TYPE_COUNT || !(filter_types & (1U << type))))
		return 0;
	return !filter_have_names || filter_name_listed(name);
}

int
filter_token_labels(void)
{
	return filter_labels;
}

void
filter_free(void)
{
	filter_names[0] = '\0';
	filter_have_names = 0;
	filter_types = 0;
	filter_labels = 0;
}
