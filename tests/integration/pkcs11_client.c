/*
 * pkcs11_client: drives p11broker-pkcs11.so through dlopen() for the
 * integration tests, and prints one "ok - ..." or "not ok - ..." line per
 * check (tests/integration/pkcs11_*.sh turn them into TAP).
 *
 *   pkcs11_client MODULE api
 *	PKCS#11 semantics: interfaces, attributes, length idiom, multi-part,
 *	HMAC verify, parameter and mechanism errors.
 *   pkcs11_client MODULE kill PID GOFILE
 *	4 threads sign; SIGKILL PID; every thread must fail with
 *	CKR_DEVICE_ERROR (how long that took is printed, not judged).
 *	Then wait until GOFILE exists (the test restarted the broker) and
 *	sign again on the same module instance.
 *   pkcs11_client MODULE fork
 *	A child of an initialised process initialises and signs on its own
 *	connection; the parent's still works afterwards.
 *   pkcs11_client MODULE idle GOFILE
 *	Sign, then wait until GOFILE exists (the test saw the broker drop
 *	the idle connection), sign again.
 *   pkcs11_client MODULE random
 *	C_GenerateRandom once; prints its CK_RV ("rv 0x30"), exits 0 for
 *	CKR_OK (for a broker that does not answer: P11BROKER_TIMEOUT).
 *   pkcs11_client MODULE stream hmac|hmac-verify|ed25519|ed25519-multi
 *	FILE [MACHEX]
 *	Big inputs: CKM_SHA256_HMAC with hmac32 by C_SignUpdate over FILE
 *	read 1 MiB at a time (prints "out HEX"), the same with
 *	C_VerifyUpdate against MACHEX, CKM_EDDSA with ed25519 by one C_Sign
 *	over the whole file or by C_SignUpdate; prints "rv 0x..", exits 0
 *	for CKR_OK.
 *   pkcs11_client MODULE hmac-verify LABEL FILE MACHEX [multi]
 *	CKM_SHA256_HMAC C_Verify (or C_VerifyUpdate, 1 MiB at a time) with
 *	the secret key labelled LABEL (a key version: NAME@VERSION); prints
 *	"rv 0x..", exits 0 for CKR_OK.
 *
 * Every wait ends at P11B_HANG seconds (default 60): only a hang gets
 * there.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "../tools/check.h"

#define NTHREADS	4
#define WARMUP_OPS	20

static CK_FUNCTION_LIST *p11;


static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The one deadline of every wait (lib.sh's HANG). */
static double
hang_seconds(void)
{
	const char *s = getenv("P11B_HANG");
	double v = s != NULL ? atof(s) : 0;

	return v > 0 ? v : 60;
}

/* Wait until PATH exists (the test's go-ahead); -1 at the deadline. */
static int
wait_file(const char *path)
{
	double end;

	printf("# waiting for %s\n", path);
	fflush(stdout);
	end = now() + hang_seconds();
	while (access(path, F_OK) != 0) {
		if (now() >= end)
			return -1;
		usleep(20000);
	}
	return 0;
}

static void
load(const char *path)
{
	CK_RV (*get)(CK_FUNCTION_LIST **);
	void *h;

	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		exit(2);
	}
	if ((get = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(h,
	    "C_GetFunctionList")) == NULL || get(&p11) != CKR_OK) {
		fprintf(stderr, "C_GetFunctionList failed\n");
		exit(2);
	}
}

static CK_SESSION_HANDLE
open_session(void)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv;

	if ((rv = p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s)) !=
	    CKR_OK) {
		fprintf(stderr, "C_OpenSession: 0x%lx\n", (unsigned long)rv);
		exit(2);
	}
	return s;
}

static CK_OBJECT_HANDLE
find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS class, const char *label)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &class, sizeof(class) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	if (p11->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
		h = CK_INVALID_HANDLE;
	p11->C_FindObjectsFinal(s);
	return h;
}

static CK_RV
sign(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE m, CK_OBJECT_HANDLE k,
    const void *in, CK_ULONG inlen, CK_BYTE *sig, CK_ULONG *siglen)
{
	CK_MECHANISM mech = { m, NULL, 0 };
	CK_RV rv;

	if ((rv = p11->C_SignInit(s, &mech, k)) != CKR_OK)
		return rv;
	return p11->C_Sign(s, (CK_BYTE *)in, inlen, sig, siglen);
}

static CK_RV
verify(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE m, CK_OBJECT_HANDLE k,
    const void *in, CK_ULONG inlen, CK_BYTE *sig, CK_ULONG siglen)
{
	CK_MECHANISM mech = { m, NULL, 0 };
	CK_RV rv;

	if ((rv = p11->C_VerifyInit(s, &mech, k)) != CKR_OK)
		return rv;
	return p11->C_Verify(s, (CK_BYTE *)in, inlen, sig, siglen);
}

/* --- api ------------------------------------------------------------------ */

struct ck3_interface {
	CK_UTF8CHAR	*name;
	void		*list;
	CK_FLAGS	 flags;
};

static void
api_interfaces(const char *path)
{
	CK_RV (*getlist)(struct ck3_interface *, CK_ULONG *);
	CK_RV (*getif)(CK_UTF8CHAR *, CK_VERSION *, struct ck3_interface **,
	    CK_FLAGS);
	struct ck3_interface ifs[4], *iface = NULL;
	CK_VERSION v3 = { 3, 0 };
	CK_ULONG n = 0;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	getlist = (CK_RV (*)(struct ck3_interface *, CK_ULONG *))dlsym(h,
	    "C_GetInterfaceList");
	getif = (CK_RV (*)(CK_UTF8CHAR *, CK_VERSION *,
	    struct ck3_interface **, CK_FLAGS))dlsym(h, "C_GetInterface");
	check(getlist != NULL && getif != NULL, "3.0 entry points exported");
	if (getlist == NULL || getif == NULL)
		return;
	check(getlist(NULL, &n) == CKR_OK && n == 2, "two interfaces");
	n = 1;
	check(getlist(ifs, &n) == CKR_BUFFER_TOO_SMALL && n == 2,
	    "C_GetInterfaceList: short buffer");
	n = 4;
	check(getlist(ifs, &n) == CKR_OK &&
	    strcmp((char *)ifs[0].name, "PKCS 11") == 0, "interface names");
	check(getif((CK_UTF8CHAR *)"PKCS 11", &v3, &iface, 0) == CKR_OK &&
	    ((CK_FUNCTION_LIST *)iface->list)->version.major == 3,
	    "C_GetInterface 3.0");
	check(getif((CK_UTF8CHAR *)"Vendor", NULL, &iface, 0) ==
	    CKR_ARGUMENTS_BAD, "C_GetInterface: unknown name");
}

static void
api_attributes(CK_SESSION_HANDLE s)
{
	CK_OBJECT_HANDLE priv, pub, sec, sealed;
	CK_BYTE buf[256];
	CK_BBOOL b;
	CK_ATTRIBUTE a[3];
	CK_RV rv;

	priv = find(s, CKO_PRIVATE_KEY, "ec256");
	pub = find(s, CKO_PUBLIC_KEY, "ec256");
	sec = find(s, CKO_SECRET_KEY, "api-token");
	sealed = find(s, CKO_SECRET_KEY, "hmac64");
	check(priv && pub && sec && sealed, "objects found by class and label");

	a[0] = (CK_ATTRIBUTE){ CKA_VALUE, buf, sizeof(buf) };
	rv = p11->C_GetAttributeValue(s, priv, a, 1);
	check(rv == CKR_ATTRIBUTE_SENSITIVE &&
	    a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "private CKA_VALUE: CKR_ATTRIBUTE_SENSITIVE");
	a[0] = (CK_ATTRIBUTE){ CKA_EC_POINT, NULL, 0 };
	rv = p11->C_GetAttributeValue(s, pub, a, 1);
	check(rv == CKR_OK && a[0].ulValueLen == 67,
	    "EC_POINT length query: %lu", (unsigned long)a[0].ulValueLen);
	a[0].pValue = buf;
	a[0].ulValueLen = 10;
	rv = p11->C_GetAttributeValue(s, pub, a, 1);
	check(rv == CKR_BUFFER_TOO_SMALL &&
	    a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "short buffer: CKR_BUFFER_TOO_SMALL");
	a[0] = (CK_ATTRIBUTE){ CKA_MODULUS, buf, sizeof(buf) };
	a[1] = (CK_ATTRIBUTE){ CKA_VERIFY, &b, sizeof(b) };
	rv = p11->C_GetAttributeValue(s, pub, a, 2);
	check(rv == CKR_ATTRIBUTE_TYPE_INVALID &&
	    a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
	    a[1].ulValueLen == 1 && b == CK_TRUE,
	    "invalid type marked, the others still filled");
	a[0] = (CK_ATTRIBUTE){ CKA_VALUE, NULL, 0 };
	rv = p11->C_GetAttributeValue(s, sec, a, 1);
	check(rv == CKR_OK && a[0].ulValueLen == 48,
	    "extractable secret: CKA_VALUE length %lu",
	    (unsigned long)a[0].ulValueLen);
	a[0] = (CK_ATTRIBUTE){ CKA_VALUE, buf, sizeof(buf) };
	rv = p11->C_GetAttributeValue(s, sealed, a, 1);
	check(rv == CKR_ATTRIBUTE_SENSITIVE,
	    "secret without get-secret: CKR_ATTRIBUTE_SENSITIVE");
	check(p11->C_DestroyObject(s, priv) == CKR_ACTION_PROHIBITED,
	    "C_DestroyObject refused");
}

static void
api_sign(CK_SESSION_HANDLE s)
{
	CK_OBJECT_HANDLE priv, pub, rsa, hmac;
	CK_MECHANISM mech = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 223 };
	CK_BYTE sig[512], msg[100];
	CK_ULONG len;
	CK_RV rv;

	memset(msg, 'm', sizeof(msg));
	priv = find(s, CKO_PRIVATE_KEY, "ec256");
	pub = find(s, CKO_PUBLIC_KEY, "ec256");
	rsa = find(s, CKO_PRIVATE_KEY, "rsa2048");
	hmac = find(s, CKO_SECRET_KEY, "hmac32");

	check(p11->C_SignInit(s, &mech, priv) == CKR_OK, "C_SignInit");
	len = 0;
	rv = p11->C_Sign(s, msg, sizeof(msg), NULL, &len);
	check(rv == CKR_OK && len == 64, "length query: %lu", len);
	len = 10;
	rv = p11->C_Sign(s, msg, sizeof(msg), sig, &len);
	check(rv == CKR_BUFFER_TOO_SMALL && len == 64,
	    "short buffer keeps the operation");
	len = sizeof(sig);
	rv = p11->C_Sign(s, msg, sizeof(msg), sig, &len);
	check(rv == CKR_OK && len == 64, "then signs");
	check(verify(s, CKM_ECDSA_SHA256, pub, msg, sizeof(msg), sig, len) ==
	    CKR_OK, "C_Verify with the public key");
	sig[5] ^= 1;
	check(verify(s, CKM_ECDSA_SHA256, pub, msg, sizeof(msg), sig, len) ==
	    CKR_SIGNATURE_INVALID, "bad signature: CKR_SIGNATURE_INVALID");
	check(p11->C_Sign(s, msg, 1, sig, &len) ==
	    CKR_OPERATION_NOT_INITIALIZED, "operation ended");

	/* Multi-part equals single-part (verified against the key). */
	check(p11->C_SignInit(s, &mech, priv) == CKR_OK &&
	    p11->C_SignUpdate(s, msg, 30) == CKR_OK &&
	    p11->C_SignUpdate(s, msg + 30, 70) == CKR_OK &&
	    (len = sizeof(sig), p11->C_SignFinal(s, sig, &len)) == CKR_OK &&
	    verify(s, CKM_ECDSA_SHA256, pub, msg, sizeof(msg), sig, len) ==
	    CKR_OK, "SignUpdate/SignFinal");

	mech.mechanism = CKM_RSA_PKCS_PSS;
	mech.pParameter = &pss;
	mech.ulParameterLen = sizeof(pss);
	check(p11->C_SignInit(s, &mech, rsa) == CKR_MECHANISM_PARAM_INVALID,
	    "PSS salt over the key's maximum (256 - 32 - 2 = 222) refused");
	pss.sLen = 32;
	pss.mgf = CKG_MGF1_SHA384;
	check(p11->C_SignInit(s, &mech, rsa) == CKR_MECHANISM_PARAM_INVALID,
	    "PSS MGF hash != hash refused");
	pss.mgf = CKG_MGF1_SHA256;
	check(p11->C_SignInit(s, &mech, rsa) == CKR_OK,
	    "PSS with matching parameters");
	len = sizeof(sig);
	check(p11->C_Sign(s, msg, 20, sig, &len) == CKR_DATA_LEN_RANGE,
	    "PSS input must be a digest");
	mech = (CK_MECHANISM){ CKM_ECDSA, NULL, 0 };
	check(p11->C_SignInit(s, &mech, rsa) == CKR_KEY_TYPE_INCONSISTENT,
	    "ECDSA on an RSA key: CKR_KEY_TYPE_INCONSISTENT");
	mech.mechanism = CKM_SHA1_RSA_PKCS;
	check(p11->C_SignInit(s, &mech, rsa) ==
	    CKR_KEY_FUNCTION_NOT_PERMITTED, "SHA-1, which the policy does not "
	    "name: CKR_KEY_FUNCTION_NOT_PERMITTED");
	mech.mechanism = CKM_MD5_RSA_PKCS;
	check(p11->C_SignInit(s, &mech, rsa) == CKR_MECHANISM_INVALID,
	    "unsupported mechanism: CKR_MECHANISM_INVALID");
	check(p11->C_EncryptInit(s, &mech, rsa) == CKR_MECHANISM_INVALID,
	    "no encryption");

	len = sizeof(sig);
	check(sign(s, CKM_SHA256_HMAC, hmac, msg, sizeof(msg), sig, &len) ==
	    CKR_OK && len == 32, "HMAC-SHA256 sign");
	check(verify(s, CKM_SHA256_HMAC, hmac, msg, sizeof(msg), sig, len) ==
	    CKR_OK, "HMAC verify");
	sig[0] ^= 1;
	check(verify(s, CKM_SHA256_HMAC, hmac, msg, sizeof(msg), sig, len) ==
	    CKR_SIGNATURE_INVALID, "wrong MAC: CKR_SIGNATURE_INVALID");
	check(verify(s, CKM_SHA256_HMAC, hmac, msg, sizeof(msg), sig, 31) ==
	    CKR_SIGNATURE_LEN_RANGE, "short MAC: CKR_SIGNATURE_LEN_RANGE");
}

static void
api_misc(CK_SESSION_HANDLE s)
{
	CK_TOKEN_INFO ti;
	CK_BYTE rnd[6000];
	CK_SESSION_INFO si;

	check(p11->C_GetTokenInfo(0, &ti) == CKR_OK &&
	    !(ti.flags & CKF_LOGIN_REQUIRED) &&
	    (ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH),
	    "no login required, no PIN asked");
	check(p11->C_Login(s, CKU_USER, NULL, 0) == CKR_OK,
	    "C_Login without PIN");
	check(p11->C_Login(s, CKU_USER, NULL, 0) ==
	    CKR_USER_ALREADY_LOGGED_IN, "second C_Login");
	check(p11->C_GetSessionInfo(s, &si) == CKR_OK &&
	    si.state == CKS_RO_USER_FUNCTIONS, "session state after login");
	check(p11->C_Logout(s) == CKR_OK, "C_Logout");
	memset(rnd, 0, sizeof(rnd));
	check(p11->C_GenerateRandom(s, rnd, sizeof(rnd)) == CKR_OK &&
	    memcmp(rnd + 5000, rnd + 5500, 32) != 0, "C_GenerateRandom 6000");
	check(p11->C_GetSessionInfo(12345, &si) == CKR_SESSION_HANDLE_INVALID,
	    "bad session handle");
}

static int
run_api(const char *path)
{
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	CK_SESSION_HANDLE s;

	check(p11->C_Initialize(&args) == CKR_OK, "C_Initialize");
	check(p11->C_Initialize(NULL) == CKR_CRYPTOKI_ALREADY_INITIALIZED,
	    "second C_Initialize");
	api_interfaces(path);
	s = open_session();
	api_attributes(s);
	api_sign(s);
	api_misc(s);
	check(p11->C_Finalize(NULL) == CKR_OK, "C_Finalize");
	check(p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) ==
	    CKR_CRYPTOKI_NOT_INITIALIZED, "finalized");
	return check_failures != 0;
}

/* --- kill ----------------------------------------------------------------- */

struct worker {
	pthread_t		 thread;
	CK_SESSION_HANDLE	 s;
	CK_OBJECT_HANDLE	 key;
	volatile int		 ops;
	volatile int		 stop;
	volatile double		 failed_at;
	volatile CK_RV		 rv;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	CK_BYTE digest[32], sig[132];
	CK_ULONG len;
	CK_RV rv;

	memset(digest, 0x5a, sizeof(digest));
	while (!w->stop) {
		len = sizeof(sig);
		rv = sign(w->s, CKM_ECDSA, w->key, digest, sizeof(digest), sig,
		    &len);
		if (rv != CKR_OK) {
			w->rv = rv;
			w->failed_at = now();
			break;
		}
		w->ops++;
	}
	return NULL;
}

static void
start_workers(struct worker *w)
{
	int i;

	for (i = 0; i < NTHREADS; i++) {
		w[i].ops = 0;
		w[i].stop = 0;
		w[i].failed_at = 0;
		w[i].rv = CKR_OK;
		pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
	}
}

/* Wait until every worker has signed n times or one has failed. */
static int
warm_up(struct worker *w, int n, double limit)
{
	double end = now() + limit;
	int i, done;

	do {
		for (i = 0, done = 0; i < NTHREADS; i++) {
			if (w[i].failed_at != 0)
				return -1;
			done += w[i].ops >= n;
		}
		if (done == NTHREADS)
			return 0;
		usleep(1000);
	} while (now() < end);
	return -1;
}

static int
run_kill(pid_t pid, const char *gofile)
{
	struct worker w[NTHREADS];
	CK_SESSION_HANDLE s;
	double t0, worst = 0;
	int i, all;

	check(p11->C_Initialize(NULL) == CKR_OK, "C_Initialize");
	memset(w, 0, sizeof(w));
	s = open_session();
	for (i = 0; i < NTHREADS; i++) {
		w[i].s = open_session();
		w[i].key = find(s, CKO_PRIVATE_KEY, "ec256");
	}
	start_workers(w);
	check(warm_up(w, WARMUP_OPS, hang_seconds()) == 0,
	    "%d threads signing", NTHREADS);
	t0 = now();
	check(kill(pid, SIGKILL) == 0, "broker killed");
	while (now() < t0 + hang_seconds()) {
		for (i = 0, all = 1; i < NTHREADS; i++)
			all &= w[i].failed_at != 0;
		if (all)
			break;
		usleep(1000);
	}
	for (i = 0; i < NTHREADS; i++) {
		double dt = w[i].failed_at == 0 ? 99 : w[i].failed_at - t0;

		if (dt > worst)
			worst = dt;
		check(w[i].failed_at != 0 && w[i].rv == CKR_DEVICE_ERROR,
		    "thread %d: CKR_DEVICE_ERROR (CKR 0x%lx after %.3f s)",
		    i, (unsigned long)w[i].rv, dt);
	}
	if (worst > hang_seconds()) {
		/* A thread hangs in the module: nothing more to learn. */
		fflush(stdout);
		_exit(1);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(w[i].thread, NULL);
	printf("# worst %.3f s\n", worst);
	check(p11->C_GenerateRandom(s, (CK_BYTE *)&t0, sizeof(t0)) ==
	    CKR_DEVICE_ERROR, "broker down: CKR_DEVICE_ERROR at once");

	/* The test restarts the broker and then creates gofile. */
	check(wait_file(gofile) == 0, "the test restarted the broker");
	start_workers(w);
	check(warm_up(w, 5, hang_seconds()) == 0,
	    "after the restart all threads sign");
	for (i = 0; i < NTHREADS; i++) {
		w[i].stop = 1;
		pthread_join(w[i].thread, NULL);
	}
	check(p11->C_Finalize(NULL) == CKR_OK, "C_Finalize");
	return check_failures != 0;
}

/* --- fork ----------------------------------------------------------------- */

static int
sign_ok(const char *what)
{
	CK_SESSION_HANDLE s = open_session();
	CK_OBJECT_HANDLE k = find(s, CKO_PRIVATE_KEY, "ec256");
	CK_OBJECT_HANDLE pub = find(s, CKO_PUBLIC_KEY, "ec256");
	CK_BYTE digest[32], sig[64];
	CK_ULONG len = sizeof(sig);
	int ok;

	memset(digest, 1, sizeof(digest));
	ok = sign(s, CKM_ECDSA, k, digest, sizeof(digest), sig, &len) ==
	    CKR_OK && verify(s, CKM_ECDSA, pub, digest, sizeof(digest), sig,
	    len) == CKR_OK;
	p11->C_CloseSession(s);
	check(ok, "%s signs", what);
	return ok;
}

static int
run_fork(void)
{
	pid_t pid;
	int status;

	check(p11->C_Initialize(NULL) == CKR_OK, "parent C_Initialize");
	sign_ok("parent");
	fflush(stdout);
	if ((pid = fork()) == 0) {
		CK_SESSION_HANDLE s;

		check_failures = 0;
		check(p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL,
		    &s) == CKR_CRYPTOKI_NOT_INITIALIZED,
		    "child starts uninitialised");
		check(p11->C_Initialize(NULL) == CKR_OK, "child C_Initialize");
		sign_ok("child");
		p11->C_Finalize(NULL);
		fflush(stdout);
		_exit(check_failures != 0);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited 0");
	sign_ok("parent after the child");
	check(p11->C_Finalize(NULL) == CKR_OK, "C_Finalize");
	return check_failures != 0;
}

/* --- idle ----------------------------------------------------------------- */

static int
run_idle(const char *gofile)
{
	check(p11->C_Initialize(NULL) == CKR_OK, "C_Initialize");
	sign_ok("before the idle time");
	check(wait_file(gofile) == 0, "the broker closed the idle connection");
	sign_ok("after the broker closed the idle connection");
	check(p11->C_Finalize(NULL) == CKR_OK, "C_Finalize");
	return check_failures != 0;
}

/* --- random --------------------------------------------------------------- */

static int
run_random(void)
{
	CK_BYTE buf[16];
	CK_RV rv;

	check(p11->C_Initialize(NULL) == CKR_OK, "C_Initialize");
	rv = p11->C_GenerateRandom(open_session(), buf, sizeof(buf));
	printf("# rv 0x%lx\n", (unsigned long)rv);
	return rv == CKR_OK ? 0 : 1;
}

/* --- stream ------------------------------------------------------------- */

#define STREAM_READ	(1024 * 1024)

static void
print_hex(const char *what, const CK_BYTE *p, CK_ULONG n)
{
	CK_ULONG i;

	printf("%s ", what);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int
unhex(const char *hex, CK_BYTE *out, size_t max, CK_ULONG *lenp)
{
	size_t i, n = strlen(hex) / 2;
	unsigned int v;

	if (n > max)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (CK_BYTE)v;
	}
	*lenp = n;
	return 0;
}

/* C_SignUpdate or C_VerifyUpdate over the file, a read at a time. */
static CK_RV
stream_updates(CK_SESSION_HANDLE s, FILE *fp, int verify)
{
	static CK_BYTE buf[STREAM_READ];
	size_t n;
	CK_RV rv;

	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		rv = verify ? p11->C_VerifyUpdate(s, buf, n) :
		    p11->C_SignUpdate(s, buf, n);
		if (rv != CKR_OK)
			return rv;
	}
	return ferror(fp) ? CKR_FUNCTION_FAILED : CKR_OK;
}

/* The whole file, for one C_Sign. */
static CK_BYTE *
slurp(FILE *fp, CK_ULONG *lenp)
{
	CK_BYTE *p = NULL, *np;
	size_t len = 0, n;

	for (;;) {
		if ((np = realloc(p, len + STREAM_READ)) == NULL)
			exit(2);
		p = np;
		if ((n = fread(p + len, 1, STREAM_READ, fp)) == 0)
			break;
		len += n;
	}
	*lenp = len;
	return p;
}

static int
run_stream(const char *what, const char *file, const char *machex)
{
	CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };
	CK_MECHANISM eddsa = { CKM_EDDSA, NULL, 0 };
	CK_BYTE out[512], mac[64], *all;
	CK_ULONG outlen = sizeof(out), maclen = 0, len;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	FILE *fp;

	if ((fp = fopen(file, "rb")) == NULL) {
		perror(file);
		return 2;
	}
	check(p11->C_Initialize(NULL) == CKR_OK, "C_Initialize");
	s = open_session();
	if (strcmp(what, "hmac") == 0) {
		rv = p11->C_SignInit(s, &hmac, find(s, CKO_SECRET_KEY,
		    "hmac32"));
		if (rv == CKR_OK)
			rv = stream_updates(s, fp, 0);
		if (rv == CKR_OK)
			rv = p11->C_SignFinal(s, out, &outlen);
	} else if (strcmp(what, "hmac-verify") == 0) {
		if (machex == NULL || unhex(machex, mac, sizeof(mac),
		    &maclen) != 0)
			return 2;
		rv = p11->C_VerifyInit(s, &hmac, find(s, CKO_SECRET_KEY,
		    "hmac32"));
		if (rv == CKR_OK)
			rv = stream_updates(s, fp, 1);
		if (rv == CKR_OK)
			rv = p11->C_VerifyFinal(s, mac, maclen);
		outlen = 0;
	} else if (strcmp(what, "ed25519-multi") == 0) {
		rv = p11->C_SignInit(s, &eddsa, find(s, CKO_PRIVATE_KEY,
		    "ed25519"));
		if (rv == CKR_OK)
			rv = stream_updates(s, fp, 0);
		if (rv == CKR_OK)
			rv = p11->C_SignFinal(s, out, &outlen);
	} else {
		all = slurp(fp, &len);
		rv = sign(s, CKM_EDDSA, find(s, CKO_PRIVATE_KEY, "ed25519"),
		    all, len, out, &outlen);
		free(all);
	}
	fclose(fp);
	printf("rv 0x%lx\n", (unsigned long)rv);
	if (rv == CKR_OK && outlen > 0)
		print_hex("out", out, outlen);
	(void)p11->C_Finalize(NULL);
	return rv == CKR_OK ? 0 : 1;
}

static int
run_hmac_verify(const char *label, const char *file, const char *machex,
    int multi)
{
	CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };
	CK_BYTE mac[64], *all = NULL;
	CK_ULONG maclen = 0, len;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	FILE *fp;

	if (unhex(machex, mac, sizeof(mac), &maclen) != 0)
		return 2;
	if ((fp = fopen(file, "rb")) == NULL) {
		perror(file);
		return 2;
	}
	check(p11->C_Initialize(NULL) == CKR_OK, "C_Initialize");
	s = open_session();
	rv = p11->C_VerifyInit(s, &hmac, find(s, CKO_SECRET_KEY, label));
	if (rv == CKR_OK && multi)
		rv = stream_updates(s, fp, 1);
	if (rv == CKR_OK && multi)
		rv = p11->C_VerifyFinal(s, mac, maclen);
	else if (rv == CKR_OK) {
		all = slurp(fp, &len);
		rv = p11->C_Verify(s, all, len, mac, maclen);
		free(all);
	}
	fclose(fp);
	printf("rv 0x%lx\n", (unsigned long)rv);
	(void)p11->C_Finalize(NULL);
	return rv == CKR_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: pkcs11_client MODULE "
		    "api|kill|fork|idle|random\n");
		return 2;
	}
	load(argv[1]);
	if (strcmp(argv[2], "api") == 0)
		return run_api(argv[1]);
	if (strcmp(argv[2], "kill") == 0 && argc == 5)
		return run_kill((pid_t)atoi(argv[3]), argv[4]);
	if (strcmp(argv[2], "fork") == 0)
		return run_fork();
	if (strcmp(argv[2], "idle") == 0 && argc == 4)
		return run_idle(argv[3]);
	if (strcmp(argv[2], "random") == 0)
		return run_random();
	if (strcmp(argv[2], "stream") == 0 && argc >= 5)
		return run_stream(argv[3], argv[4], argc > 5 ? argv[5] : NULL);
	if (strcmp(argv[2], "hmac-verify") == 0 && argc >= 6)
		return run_hmac_verify(argv[3], argv[4], argv[5], argc > 6);
	fprintf(stderr, "pkcs11_client: bad arguments\n");
	return 2;
}
