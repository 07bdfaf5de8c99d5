/*
 * faultdrive: signs with an EC key through a PKCS#11 module from several
 * threads at once, one session each, and prints the outcome of every
 * C_Sign, so that tests/integration/fault_module.sh can check what the
 * fault module did (after/count arithmetic under threads, hang, delay).
 *
 *	faultdrive MODULE TOKEN-LABEL KEY-LABEL COUNT [THREADS [INTERVAL-MS]]
 *
 * The user PIN comes from $FAULTDRIVE_PIN.  One line per signature:
 * "sign THREAD N 0xRV", then "done OK FAILED".  Set-up failures print
 * "setup FUNCTION 0xRV" and exit 1.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define MAX_THREADS	64

static CK_FUNCTION_LIST	*p11;
static CK_SLOT_ID	 slot;
static const char	*key_label;
static unsigned long	 count, interval_ms;
static pthread_mutex_t	 out_mtx = PTHREAD_MUTEX_INITIALIZER;
static unsigned long	 n_ok, n_failed;

static void
setup_fail(const char *what, CK_RV rv)
{
	printf("setup %s 0x%08lx\n", what, (unsigned long)rv);
	exit(1);
}

static void
find_slot(const char *label)
{
	CK_SLOT_ID slots[64];
	CK_TOKEN_INFO ti;
	CK_ULONG n = 64, i;
	size_t len = strlen(label);
	CK_RV rv;

	if ((rv = p11->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		setup_fail("C_GetSlotList", rv);
	for (i = 0; i < n; i++) {
		if ((rv = p11->C_GetTokenInfo(slots[i], &ti)) != CKR_OK)
			setup_fail("C_GetTokenInfo", rv);
		if (len <= sizeof(ti.label) &&
		    memcmp(ti.label, label, len) == 0 &&
		    (len == sizeof(ti.label) || ti.label[len] == ' ')) {
			slot = slots[i];
			return;
		}
	}
	setup_fail("no-such-token", CKR_TOKEN_NOT_PRESENT);
}

static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE s)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)key_label, strlen(key_label) },
	};
	CK_OBJECT_HANDLE obj;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = p11->C_FindObjectsInit(s, tmpl, 2)) != CKR_OK)
		setup_fail("C_FindObjectsInit", rv);
	if ((rv = p11->C_FindObjects(s, &obj, 1, &n)) != CKR_OK)
		setup_fail("C_FindObjects", rv);
	(void)p11->C_FindObjectsFinal(s);
	if (n != 1)
		setup_fail("no-such-key", CKR_OBJECT_HANDLE_INVALID);
	return obj;
}

static void *
signer(void *arg)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_BYTE digest[32], sig[512];
	CK_SESSION_HANDLE s = *(CK_SESSION_HANDLE *)arg;
	CK_OBJECT_HANDLE key;
	CK_ULONG siglen;
	struct timespec ts;
	unsigned long i;
	CK_RV rv;
	int thread = (int)(s & 0xffff);

	key = find_key(s);
	memset(digest, 0x5a, sizeof(digest));
	for (i = 0; i < count; i++) {
		siglen = sizeof(sig);
		if ((rv = p11->C_SignInit(s, &mech, key)) == CKR_OK)
			rv = p11->C_Sign(s, digest, sizeof(digest), sig,
			    &siglen);
		pthread_mutex_lock(&out_mtx);
		printf("sign %d %lu 0x%08lx\n", thread, i, (unsigned long)rv);
		fflush(stdout);
		if (rv == CKR_OK)
			n_ok++;
		else
			n_failed++;
		pthread_mutex_unlock(&out_mtx);
		if (interval_ms > 0) {
			ts.tv_sec = interval_ms / 1000;
			ts.tv_nsec = (long)(interval_ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	CK_C_INITIALIZE_ARGS init = { .flags = CKF_OS_LOCKING_OK };
	CK_SESSION_HANDLE sess[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	CK_C_GetFunctionList get;
	const char *pin = getenv("FAULTDRIVE_PIN");
	unsigned long nthreads = 1, i;
	void *h;
	CK_RV rv;

	if (argc < 5 || argc > 7 || pin == NULL) {
		fprintf(stderr, "usage: FAULTDRIVE_PIN=PIN faultdrive MODULE "
		    "TOKEN-LABEL KEY-LABEL COUNT [THREADS [INTERVAL-MS]]\n");
		return 2;
	}
	key_label = argv[3];
	count = strtoul(argv[4], NULL, 10);
	if (argc > 5)
		nthreads = strtoul(argv[5], NULL, 10);
	if (argc > 6)
		interval_ms = strtoul(argv[6], NULL, 10);
	if (nthreads < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "faultdrive: 1 to %d threads\n", MAX_THREADS);
		return 2;
	}
	if ((h = dlopen(argv[1], RTLD_NOW)) == NULL) {
		fprintf(stderr, "faultdrive: %s\n", dlerror());
		return 1;
	}
	if ((get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) ==
	    NULL || (rv = get(&p11)) != CKR_OK)
		setup_fail("C_GetFunctionList", CKR_GENERAL_ERROR);
	if ((rv = p11->C_Initialize(&init)) != CKR_OK)
		setup_fail("C_Initialize", rv);
	find_slot(argv[2]);
	for (i = 0; i < nthreads; i++)
		if ((rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL,
		    NULL, &sess[i])) != CKR_OK)
			setup_fail("C_OpenSession", rv);
	/* A login holds for every session of the application. */
	if ((rv = p11->C_Login(sess[0], CKU_USER, (CK_UTF8CHAR_PTR)pin,
	    strlen(pin))) != CKR_OK)
		setup_fail("C_Login", rv);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, signer, &sess[i]) != 0) {
			fprintf(stderr, "faultdrive: pthread_create failed\n");
			return 1;
		}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	printf("done %lu %lu\n", n_ok, n_failed);
	(void)p11->C_Logout(sess[0]);
	(void)p11->C_Finalize(NULL);
	return 0;
}
