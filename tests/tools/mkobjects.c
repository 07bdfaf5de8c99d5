/*
 * mkobjects: create test objects with known values on a PKCS#11 token.
 *
 * pkcs11-tool cannot write a generic secret with chosen bytes, and its
 * --keygen makes keys without CKA_SIGN, so the integration tests create
 * their HMAC keys, secrets and data objects through this tool.
 *
 * usage: mkobjects -m MODULE -t TOKEN-LABEL OBJECT...
 *   OBJECT is one of
 *     secret LABEL ID-HEX FILE   extractable CKK_GENERIC_SECRET (sign, verify)
 *     sealed LABEL ID-HEX FILE   sensitive, non-extractable generic secret
 *     data   LABEL FILE          CKO_DATA object
 * The user PIN is read from the environment variable named by -p
 * (default P11_PIN); it is never taken from the command line.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define MAX_VALUE_LEN	65536
#define MAX_ID_LEN	64

static const char *progname = "mkobjects";

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const char *
rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
	case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
	case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY";
	case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
	case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED";
	case CKR_KEY_SIZE_RANGE: return "CKR_KEY_SIZE_RANGE";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
	case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
	case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
	case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
	case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
	case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
	case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
	case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
	case CKR_USER_PIN_NOT_INITIALIZED:
		return "CKR_USER_PIN_NOT_INITIALIZED";
	case CKR_USER_TYPE_INVALID: return "CKR_USER_TYPE_INVALID";
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return "CKR_CRYPTOKI_NOT_INITIALIZED";
	case CKR_CRYPTOKI_ALREADY_INITIALIZED:
		return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
	default: return NULL;
	}
}

static void
check_rv(const char *what, CK_RV rv)
{
	const char *name;

	if (rv == CKR_OK)
		return;
	if ((name = rv_name(rv)) != NULL)
		die("%s: %s", what, name);
	die("%s: CKR 0x%08lx", what, (unsigned long)rv);
}

static size_t
read_value(const char *path, unsigned char *buf, size_t bufsz)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		die("%s: %s", path, strerror(errno));
	n = fread(buf, 1, bufsz, f);
	if (ferror(f))
		die("%s: read error", path);
	if (!feof(f) && fgetc(f) != EOF)
		die("%s: longer than %zu bytes", path, bufsz);
	fclose(f);
	if (n == 0)
		die("%s: empty", path);
	return n;
}

static size_t
parse_hex(const char *hex, unsigned char *out, size_t outsz)
{
	size_t len = strlen(hex), i;
	unsigned int b;

	if (len == 0 || len % 2 != 0 || len / 2 > outsz)
		die("bad id \"%s\": want an even number of hex digits", hex);
	for (i = 0; i < len / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1 ||
		    strchr("0123456789abcdefABCDEF", hex[2 * i]) == NULL ||
		    strchr("0123456789abcdefABCDEF", hex[2 * i + 1]) == NULL)
			die("bad id \"%s\": not hex", hex);
		out[i] = (unsigned char)b;
	}
	return len / 2;
}

/* Labels in CK_TOKEN_INFO are blank padded, not NUL terminated. */
static int
label_matches(const CK_UTF8CHAR *field, size_t fieldlen, const char *want)
{
	size_t n = strlen(want), i;

	if (n > fieldlen || memcmp(field, want, n) != 0)
		return 0;
	for (i = n; i < fieldlen; i++)
		if (field[i] != ' ')
			return 0;
	return 1;
}

static CK_SLOT_ID
find_slot(CK_FUNCTION_LIST *p11, const char *label)
{
	CK_SLOT_ID *slots;
	CK_ULONG n = 0, i;
	CK_TOKEN_INFO ti;

	check_rv("C_GetSlotList", p11->C_GetSlotList(CK_TRUE, NULL, &n));
	if (n == 0)
		die("no token present");
	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		die("out of memory");
	check_rv("C_GetSlotList", p11->C_GetSlotList(CK_TRUE, slots, &n));
	for (i = 0; i < n; i++) {
		check_rv("C_GetTokenInfo", p11->C_GetTokenInfo(slots[i], &ti));
		if (label_matches(ti.label, sizeof(ti.label), label)) {
			CK_SLOT_ID s = slots[i];

			free(slots);
			return s;
		}
	}
	die("no token labelled \"%s\"", label);
	return 0;
}

static void
create_secret(CK_FUNCTION_LIST *p11, CK_SESSION_HANDLE s, const char *label,
    const char *idhex, const char *file, int sealed)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_BBOOL sensitive = sealed ? CK_TRUE : CK_FALSE;
	CK_BBOOL extractable = sealed ? CK_FALSE : CK_TRUE;
	static unsigned char value[MAX_VALUE_LEN];
	unsigned char id[MAX_ID_LEN];
	size_t vlen, idlen;
	CK_OBJECT_HANDLE h;
	char what[PATH_MAX + 64];

	vlen = read_value(file, value, sizeof(value));
	idlen = parse_hex(idhex, id, sizeof(id));
	{
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, &t, sizeof(t) },
			{ CKA_PRIVATE, &t, sizeof(t) },
			{ CKA_LABEL, (void *)label, strlen(label) },
			{ CKA_ID, id, idlen },
			{ CKA_VALUE, value, vlen },
			{ CKA_SIGN, &t, sizeof(t) },
			{ CKA_VERIFY, &t, sizeof(t) },
			{ CKA_ENCRYPT, &f, sizeof(f) },
			{ CKA_DECRYPT, &f, sizeof(f) },
			{ CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
			{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
		};

		snprintf(what, sizeof(what), "C_CreateObject(secret \"%s\")",
		    label);
		check_rv(what, p11->C_CreateObject(s, tmpl,
		    sizeof(tmpl) / sizeof(tmpl[0]), &h));
	}
	explicit_bzero(value, vlen);
	printf("created %s secret key \"%s\" id %s (%zu bytes)\n",
	    sealed ? "non-extractable" : "extractable", label, idhex, vlen);
}

static void
create_data(CK_FUNCTION_LIST *p11, CK_SESSION_HANDLE s, const char *label,
    const char *file)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL t = CK_TRUE;
	static unsigned char value[MAX_VALUE_LEN];
	size_t vlen;
	CK_OBJECT_HANDLE h;
	char what[PATH_MAX + 64];

	vlen = read_value(file, value, sizeof(value));
	{
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_TOKEN, &t, sizeof(t) },
			{ CKA_PRIVATE, &t, sizeof(t) },
			{ CKA_LABEL, (void *)label, strlen(label) },
			{ CKA_APPLICATION, (void *)"p11broker-test", 14 },
			{ CKA_VALUE, value, vlen },
		};

		snprintf(what, sizeof(what), "C_CreateObject(data \"%s\")",
		    label);
		check_rv(what, p11->C_CreateObject(s, tmpl,
		    sizeof(tmpl) / sizeof(tmpl[0]), &h));
	}
	printf("created data object \"%s\" (%zu bytes)\n", label, vlen);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s -m MODULE -t TOKEN-LABEL [-p PIN-ENV] OBJECT...\n"
	    "  OBJECT: secret LABEL ID-HEX FILE | sealed LABEL ID-HEX FILE |"
	    " data LABEL FILE\n"
	    "  the user PIN is read from $PIN-ENV (default P11_PIN)\n",
	    progname);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *module = NULL, *token = NULL, *pinenv = "P11_PIN";
	const char *pin;
	CK_C_GetFunctionList getfl;
	CK_FUNCTION_LIST *p11;
	CK_SESSION_HANDLE s;
	CK_SLOT_ID slot;
	void *dl;
	int ch, i;

	while ((ch = getopt(argc, argv, "m:t:p:")) != -1) {
		switch (ch) {
		case 'm':
			module = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'p':
			pinenv = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (module == NULL || token == NULL || argc == 0)
		usage();

	/* Check the object list before touching the token. */
	for (i = 0; i < argc; ) {
		if ((strcmp(argv[i], "secret") == 0 ||
		    strcmp(argv[i], "sealed") == 0) && i + 3 < argc)
			i += 4;
		else if (strcmp(argv[i], "data") == 0 && i + 2 < argc)
			i += 3;
		else
			usage();
	}
	if ((pin = getenv(pinenv)) == NULL || *pin == '\0')
		die("environment variable %s (user PIN) is not set", pinenv);

	if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL)
		die("dlopen %s: %s", module, dlerror());
	if ((getfl = (CK_C_GetFunctionList)dlsym(dl,
	    "C_GetFunctionList")) == NULL)
		die("%s: no C_GetFunctionList", module);
	check_rv("C_GetFunctionList", getfl(&p11));
	check_rv("C_Initialize", p11->C_Initialize(NULL));
	slot = find_slot(p11, token);
	check_rv("C_OpenSession", p11->C_OpenSession(slot,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	check_rv("C_Login", p11->C_Login(s, CKU_USER,
	    (CK_UTF8CHAR_PTR)pin, strlen(pin)));

	for (i = 0; i < argc; ) {
		if (strcmp(argv[i], "secret") == 0) {
			create_secret(p11, s, argv[i + 1], argv[i + 2],
			    argv[i + 3], 0);
			i += 4;
		} else if (strcmp(argv[i], "sealed") == 0) {
			create_secret(p11, s, argv[i + 1], argv[i + 2],
			    argv[i + 3], 1);
			i += 4;
		} else {
			create_data(p11, s, argv[i + 1], argv[i + 2]);
			i += 3;
		}
	}

	check_rv("C_Logout", p11->C_Logout(s));
	check_rv("C_CloseSession", p11->C_CloseSession(s));
	check_rv("C_Finalize", p11->C_Finalize(NULL));
	return 0;
}
