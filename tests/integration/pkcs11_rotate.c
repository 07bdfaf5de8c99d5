/*
 * pkcs11_rotate: a long-running PKCS#11 consumer that remembers its key
 * by CKA_ID and keeps the handle, as Knot DNS or a TLS server does.
 *
 *   pkcs11_rotate MODULE IDHEX GOFILE OUTDIR
 *	Find the private key whose CKA_ID is IDHEX, sign OUTDIR/msg with
 *	CKM_ECDSA_SHA256 into OUTDIR/before.sig (r || s), then wait until
 *	GOFILE exists (the test remapped the key's name and reloaded) and
 *	sign again with the same handle: that must be refused (the rv is
 *	printed; a signature would go to OUTDIR/after.sig), and a new search
 *	by the old id must find nothing.
 *
 * Prints "ok - ..." / "not ok - ..." lines; every wait ends at P11B_HANG.
 */
#include <sys/types.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "../tools/check.h"

static CK_FUNCTION_LIST *p11;


static int
wait_file(const char *path)
{
	const char *s = getenv("P11B_HANG");
	double hang = s != NULL && atof(s) > 0 ? atof(s) : 60;
	struct timespec ts;
	double end;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = ts.tv_sec + hang;
	printf("# waiting for %s\n", path);
	fflush(stdout);
	while (access(path, F_OK) != 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec >= end)
			return -1;
		usleep(20000);
	}
	return 0;
}

static size_t
unhex(const char *hex, CK_BYTE *out, size_t max)
{
	size_t n = 0;
	unsigned int v;

	while (hex[0] != '\0' && hex[1] != '\0' && n < max &&
	    sscanf(hex, "%2x", &v) == 1) {
		out[n++] = (CK_BYTE)v;
		hex += 2;
	}
	return n;
}

static CK_ULONG
find_by_id(CK_SESSION_HANDLE s, const CK_BYTE *id, size_t idlen,
    CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &class, sizeof(class) },
		{ CKA_ID, (void *)id, idlen },
	};
	CK_ULONG n = 0;

	*h = CK_INVALID_HANDLE;
	if (p11->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return 0;
	(void)p11->C_FindObjects(s, h, 1, &n);
	(void)p11->C_FindObjectsFinal(s);
	return n;
}

static CK_RV
sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const CK_BYTE *msg,
    size_t msglen, const char *path)
{
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_BYTE sig[512];
	CK_ULONG siglen = sizeof(sig);
	FILE *f;
	CK_RV rv;

	if ((rv = p11->C_SignInit(s, &m, h)) != CKR_OK)
		return rv;
	if ((rv = p11->C_Sign(s, (CK_BYTE *)msg, msglen, sig,
	    &siglen)) != CKR_OK)
		return rv;
	if ((f = fopen(path, "wb")) == NULL)
		return CKR_GENERAL_ERROR;
	fwrite(sig, 1, siglen, f);
	fclose(f);
	return CKR_OK;
}

int
main(int argc, char **argv)
{
	CK_RV (*get)(CK_FUNCTION_LIST **);
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h, h2;
	CK_BYTE id[64], msg[4096];
	char path[4096];
	size_t idlen, msglen;
	FILE *f;
	void *dl;
	CK_RV rv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5 || (idlen = unhex(argv[2], id, sizeof(id))) == 0) {
		fprintf(stderr, "usage: pkcs11_rotate MODULE IDHEX GOFILE "
		    "OUTDIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/msg", argv[4]);
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return 2;
	}
	msglen = fread(msg, 1, sizeof(msg), f);
	fclose(f);
	if ((dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (get = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(dl,
	    "C_GetFunctionList")) == NULL || get(&p11) != CKR_OK) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 2;
	}
	check(p11->C_Initialize(NULL) == CKR_OK, "C_Initialize");
	check(p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) ==
	    CKR_OK, "C_OpenSession");
	check(find_by_id(s, id, idlen, &h) == 1, "private key with CKA_ID %s",
	    argv[2]);
	snprintf(path, sizeof(path), "%s/before.sig", argv[4]);
	check(sign(s, h, msg, msglen, path) == CKR_OK, "signed before the "
	    "remap");
	check(wait_file(argv[3]) == 0, "the name was remapped");
	snprintf(path, sizeof(path), "%s/after.sig", argv[4]);
	rv = sign(s, h, msg, msglen, path);
	printf("# sign with the cached handle after the remap: rv 0x%lx\n",
	    (unsigned long)rv);
	check(rv == CKR_KEY_HANDLE_INVALID, "the cached handle is refused "
	    "(CKR_KEY_HANDLE_INVALID), not served by the new key");
	rv = sign(s, h, msg, msglen, path);
	check(rv == CKR_KEY_HANDLE_INVALID, "and stays refused");
	check(find_by_id(s, id, idlen, &h2) == 0, "a new search for CKA_ID "
	    "%s finds nothing", argv[2]);
	check(p11->C_Finalize(NULL) == CKR_OK, "C_Finalize");
	return check_failures != 0;
}
