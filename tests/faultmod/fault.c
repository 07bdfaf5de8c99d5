/*
 * fault-pkcs11.so: the module's one exported symbol, C_GetFunctionList,
 * loads the real module (FAULT_PKCS11_MODULE, default SoftHSM2) and
 * hands out a function list whose every entry asks the rules first and
 * then forwards to the real module.  Environment, read once at load:
 *
 *	FAULT_PKCS11_MODULE	the real module
 *	FAULT_PKCS11_CONTROL	the control file (rules; need not exist)
 *	FAULT_PKCS11_COUNTS	the call-count file
 *	FAULT_PKCS11_VERBOSE	non-empty: log every rule that fires
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

#ifndef FAULT_DEFAULT_MODULE
#define FAULT_DEFAULT_MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#endif

static CK_FUNCTION_LIST	*real;
static CK_FUNCTION_LIST	 wrapper;
static pthread_once_t	 load_once = PTHREAD_ONCE_INIT;
static CK_RV		 load_rv = CKR_GENERAL_ERROR;

/*
 * The rules' verdict on a call.  The call is counted as soon as it is
 * entered, before a delay or hang holds it: a test that sees the count
 * go up knows the call is in progress.
 */
static int
enter(struct fault_call *fc, int has_output, CK_RV *rv)
{
	int fail;

	fail = fault_rules_decide(fc, has_output, rv);
	fault_counts_add(fc->fn, fc->faulted);
	fault_rules_wait(fc);
	return fail;
}

/*
 * A flipped low bit in the last byte: for an ECDSA DER signature that is
 * still well-formed DER (the last byte belongs to s), so only a real
 * verification notices.
 */
static void
flip_last_bit(CK_BYTE_PTR p, CK_ULONG len)
{
	if (p != NULL && len > 0 && len != CK_UNAVAILABLE_INFORMATION)
		p[len - 1] ^= 0x01;
}

#define WRAP(name, params, args)				\
static CK_RV							\
fw_##name params						\
{								\
	struct fault_call fc = { .fn = FN_##name };	\
	CK_RV rv;						\
								\
	if (enter(&fc, 0, &rv))					\
		return rv;					\
	return real->name args;					\
}
#define HANDWRITTEN(name, params, args)
FAULT_FUNCTIONS(WRAP, HANDWRITTEN)
#undef WRAP

/*
 * A real token ends the signing operation when C_Sign or C_SignFinal
 * fails (PKCS#11 2.40, 5.12), so an injected error ends the real
 * module's operation too, by finishing it into a scratch buffer; else
 * the next C_SignInit would get CKR_OPERATION_ACTIVE, which no token
 * returns after a failed C_Sign.  CKR_BUFFER_TOO_SMALL keeps it going.
 */
#define SCRATCH_MAX	8192

static CK_RV
fw_C_Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG datalen,
    CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	struct fault_call fc = { .fn = FN_C_Sign };
	CK_BYTE scratch[SCRATCH_MAX];
	CK_ULONG len = sizeof(scratch);
	CK_RV rv;

	if (enter(&fc, sig != NULL, &rv)) {
		if (rv != CKR_BUFFER_TOO_SMALL)
			(void)real->C_Sign(session, data, datalen, scratch,
			    &len);
		explicit_bzero(scratch, sizeof(scratch));
		return rv;
	}
	rv = real->C_Sign(session, data, datalen, sig, siglen);
	if (rv == CKR_OK && fc.corrupt && siglen != NULL)
		flip_last_bit(sig, *siglen);
	return rv;
}

static CK_RV
fw_C_SignFinal(CK_SESSION_HANDLE session, CK_BYTE_PTR sig,
    CK_ULONG_PTR siglen)
{
	struct fault_call fc = { .fn = FN_C_SignFinal };
	CK_BYTE scratch[SCRATCH_MAX];
	CK_ULONG len = sizeof(scratch);
	CK_RV rv;

	if (enter(&fc, sig != NULL, &rv)) {
		if (rv != CKR_BUFFER_TOO_SMALL)
			(void)real->C_SignFinal(session, scratch, &len);
		explicit_bzero(scratch, sizeof(scratch));
		return rv;
	}
	rv = real->C_SignFinal(session, sig, siglen);
	if (rv == CKR_OK && fc.corrupt && siglen != NULL)
		flip_last_bit(sig, *siglen);
	return rv;
}

/* C_Verify always ends the operation; its arguments are all inputs. */
static CK_RV
fw_C_Verify(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG datalen,
    CK_BYTE_PTR sig, CK_ULONG siglen)
{
	struct fault_call fc = { .fn = FN_C_Verify };
	CK_RV rv;

	if (enter(&fc, 0, &rv)) {
		(void)real->C_Verify(session, data, datalen, sig, siglen);
		return rv;
	}
	return real->C_Verify(session, data, datalen, sig, siglen);
}

static CK_RV
fw_C_GenerateRandom(CK_SESSION_HANDLE session, CK_BYTE_PTR out,
    CK_ULONG len)
{
	struct fault_call fc = { .fn = FN_C_GenerateRandom };
	CK_RV rv;

	if (enter(&fc, out != NULL && len > 0, &rv))
		return rv;
	rv = real->C_GenerateRandom(session, out, len);
	if (rv == CKR_OK && fc.corrupt)
		flip_last_bit(out, len);
	return rv;
}

/* Corrupts the first attribute value the call returned. */
static CK_RV
fw_C_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	struct fault_call fc = { .fn = FN_C_GetAttributeValue };
	CK_ULONG i;
	CK_RV rv;
	int has_output = 0;

	for (i = 0; tmpl != NULL && i < count; i++)
		if (tmpl[i].pValue != NULL)
			has_output = 1;
	if (enter(&fc, has_output, &rv))
		return rv;
	rv = real->C_GetAttributeValue(session, obj, tmpl, count);
	for (i = 0; rv == CKR_OK && fc.corrupt && i < count; i++)
		if (tmpl[i].pValue != NULL && tmpl[i].ulValueLen > 0 &&
		    tmpl[i].ulValueLen != CK_UNAVAILABLE_INFORMATION) {
			flip_last_bit(tmpl[i].pValue, tmpl[i].ulValueLen);
			break;
		}
	return rv;
}

static void
load(void)
{
	const char *path = getenv("FAULT_PKCS11_MODULE");
	const char *verbose = getenv("FAULT_PKCS11_VERBOSE");
	CK_C_GetFunctionList get;
	CK_RV rv;
	void *h;

	if (path == NULL || *path == '\0')
		path = FAULT_DEFAULT_MODULE;
	fault_rules_init(getenv("FAULT_PKCS11_CONTROL"),
	    verbose != NULL && *verbose != '\0');
	fault_counts_init(getenv("FAULT_PKCS11_COUNTS"));
	/* The real module is never unloaded: libp11 may still hold it. */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fault_log("dlopen %s: %s", path, dlerror());
		return;
	}
	if ((get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) ==
	    NULL) {
		fault_log("%s: no C_GetFunctionList", path);
		return;
	}
	if (get == C_GetFunctionList) {
		fault_log("%s: FAULT_PKCS11_MODULE names the fault module "
		    "itself", path);
		return;
	}
	if ((rv = get(&real)) != CKR_OK || real == NULL) {
		fault_log("%s: C_GetFunctionList: %s", path,
		    fault_rv_name(rv));
		real = NULL;
		return;
	}
	wrapper.version.major = CRYPTOKI_VERSION_MAJOR;
	wrapper.version.minor = CRYPTOKI_VERSION_MINOR;
	if (real->version.major < CRYPTOKI_VERSION_MAJOR ||
	    (real->version.major == CRYPTOKI_VERSION_MAJOR &&
	    real->version.minor < CRYPTOKI_VERSION_MINOR))
		wrapper.version = real->version;
#define ASSIGN(name, params, args)	wrapper.name = fw_##name;
	FAULT_FUNCTIONS(ASSIGN, ASSIGN)
#undef ASSIGN
	wrapper.C_GetFunctionList = C_GetFunctionList;
	load_rv = CKR_OK;
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	pthread_once(&load_once, load);
	if (load_rv != CKR_OK)
		return load_rv;
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	fault_counts_add(FN_C_GetFunctionList, 0);
	*list = &wrapper;
	return CKR_OK;
}
