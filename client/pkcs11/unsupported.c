/*
 * What the broker does not offer: encryption, digests, key generation,
 * wrapping, derivation, the dual-function calls, the 3.0 message API.
 * Each still checks its session first, so a caller gets the error PKCS#11
 * ranks first (not initialised, bad session) and then the honest one: an
 * *Init refuses the mechanism, a continuation has no operation.
 */
#include <sys/types.h>

#include "module.h"
#include "ck3.h"

#define NO_MECH		CKR_MECHANISM_INVALID
#define NO_OP		CKR_OPERATION_NOT_INITIALIZED

CK_RV
C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k)
{
	return session_refuse(h, NO_MECH);
}

CK_RV
C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
    CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen,
    CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k)
{
	return session_refuse(h, NO_MECH);
}

CK_RV
C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
    CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen,
    CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM *m)
{
	return session_refuse(h, NO_MECH);
}

CK_RV
C_Digest(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
    CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen,
    CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen,
    CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen,
    CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE *in, CK_ULONG inlen,
    CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

CK_RV
C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE wk,
    CK_OBJECT_HANDLE k, CK_BYTE *out, CK_ULONG *outlenp)
{
	return session_refuse(h, NO_MECH);
}

CK_RV
C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE uk,
    CK_BYTE *in, CK_ULONG inlen, CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *kp)
{
	return session_refuse(h, NO_MECH);
}

CK_RV
C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE base,
    CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *kp)
{
	return session_refuse(h, NO_MECH);
}

/* Legacy parallel-function calls (PKCS#11 2.x section 11.16). */
CK_RV
C_GetFunctionStatus(CK_SESSION_HANDLE h)
{
	return session_refuse(h, CKR_FUNCTION_NOT_PARALLEL);
}

CK_RV
C_CancelFunction(CK_SESSION_HANDLE h)
{
	return session_refuse(h, CKR_FUNCTION_NOT_PARALLEL);
}

/* PKCS#11 3.0 message-based functions. */
static CK_RV
msg_init(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k)
{
	return session_refuse(h, NO_MECH);
}

static CK_RV
msg_crypt(CK_SESSION_HANDLE h, void *p, CK_ULONG plen, CK_BYTE *ad,
    CK_ULONG adlen, CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
    CK_ULONG *outlenp)
{
	return session_refuse(h, NO_OP);
}

static CK_RV
msg_crypt_begin(CK_SESSION_HANDLE h, void *p, CK_ULONG plen, CK_BYTE *ad,
    CK_ULONG adlen)
{
	return session_refuse(h, NO_OP);
}

static CK_RV
msg_crypt_next(CK_SESSION_HANDLE h, void *p, CK_ULONG plen, CK_BYTE *in,
    CK_ULONG inlen, CK_BYTE *out, CK_ULONG *outlenp, CK_FLAGS flags)
{
	return session_refuse(h, NO_OP);
}

static CK_RV
msg_final(CK_SESSION_HANDLE h)
{
	return session_refuse(h, NO_OP);
}

static CK_RV
msg_sign(CK_SESSION_HANDLE h, void *p, CK_ULONG plen, CK_BYTE *in,
    CK_ULONG inlen, CK_BYTE *sig, CK_ULONG *siglenp)
{
	return session_refuse(h, NO_OP);
}

static CK_RV
msg_begin(CK_SESSION_HANDLE h, void *p, CK_ULONG plen)
{
	return session_refuse(h, NO_OP);
}

static CK_RV
msg_verify(CK_SESSION_HANDLE h, void *p, CK_ULONG plen, CK_BYTE *in,
    CK_ULONG inlen, CK_BYTE *sig, CK_ULONG siglen)
{
	return session_refuse(h, NO_OP);
}

void
unsupported_message_functions(struct ck3_message_functions *f)
{
	f->C_MessageEncryptInit = msg_init;
	f->C_EncryptMessage = msg_crypt;
	f->C_EncryptMessageBegin = msg_crypt_begin;
	f->C_EncryptMessageNext = msg_crypt_next;
	f->C_MessageEncryptFinal = msg_final;
	f->C_MessageDecryptInit = msg_init;
	f->C_DecryptMessage = msg_crypt;
	f->C_DecryptMessageBegin = msg_crypt_begin;
	f->C_DecryptMessageNext = msg_crypt_next;
	f->C_MessageDecryptFinal = msg_final;
	f->C_MessageSignInit = msg_init;
	f->C_SignMessage = msg_sign;
	f->C_SignMessageBegin = msg_begin;
	f->C_SignMessageNext = msg_sign;
	f->C_MessageSignFinal = msg_final;
	f->C_MessageVerifyInit = msg_init;
	f->C_VerifyMessage = msg_verify;
	f->C_VerifyMessageBegin = msg_begin;
	f->C_VerifyMessageNext = msg_verify;
	f->C_MessageVerifyFinal = msg_final;
}
