/*
 * The one slot and its one token.  The token is always present: whether
 * the broker answers shows at the first call that needs it.
 *
 * No login is required (the broker decides by the caller's uid, and no
 * PIN ever leaves this process), and the token says so; C_Login is still
 * accepted for callers that log in anyway, and
 * CKF_PROTECTED_AUTHENTICATION_PATH tells them not to ask for a PIN.
 * Every change (creating, copying, destroying objects, setting their
 * attributes, generating keys) is refused, and CKF_WRITE_PROTECTED says
 * so up front.  Read/write sessions are still opened, as before: programs
 * ask for them by habit and would fail for nothing.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

#ifdef P11B_SOCKET_PATH
#define SLOT_DEFAULT_SOCKET	P11B_SOCKET_PATH
#else
#define SLOT_DEFAULT_SOCKET	P11B_DEFAULT_SOCKET
#endif

#define SLOT_RANDOM_MAX		(1024 * 1024)

static CK_RV
slot_check(CK_SLOT_ID slot)
{
	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (slot != MODULE_SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	return CKR_OK;
}

CK_RV
C_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID *list, CK_ULONG *countp)
{
	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (countp == NULL)
		return CKR_ARGUMENTS_BAD;
	if (list == NULL) {
		*countp = 1;
		return CKR_OK;
	}
	if (*countp < 1) {
		*countp = 1;
		return CKR_BUFFER_TOO_SMALL;
	}
	list[0] = MODULE_SLOT_ID;
	*countp = 1;
	return CKR_OK;
}

CK_RV
C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO *info)
{
	CK_RV rv;

	if ((rv = slot_check(slot)) != CKR_OK)
		return rv;
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof(*info));
	pad_copy(info->slotDescription, sizeof(info->slotDescription),
	    "p11broker");
	pad_copy(info->manufacturerID, sizeof(info->manufacturerID),
	    MODULE_MANUFACTURER);
	info->flags = CKF_TOKEN_PRESENT;
	info->hardwareVersion.major = MODULE_VERSION_MAJOR;
	info->hardwareVersion.minor = MODULE_VERSION_MINOR;
	info->firmwareVersion = info->hardwareVersion;
	return CKR_OK;
}

/* A serial number that tells brokers (sockets) apart: FNV-1a of the path. */
static void
slot_serial(CK_UTF8CHAR *dst, size_t dstlen)
{
	const char *path = getenv("P11BROKER_SOCKET");
	uint64_t h = 0xcbf29ce484222325ULL;
	char buf[17];

	if (path == NULL || *path == '\0')
		path = SLOT_DEFAULT_SOCKET;
	for (; *path != '\0'; path++) {
		h ^= (unsigned char)*path;
		h *= 0x100000001b3ULL;
	}
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)h);
	pad_copy(dst, dstlen, buf);
}

CK_RV
C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	CK_RV rv;

	if ((rv = slot_check(slot)) != CKR_OK)
		return rv;
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof(*info));
	pad_copy(info->label, sizeof(info->label), module_token_label());
	pad_copy(info->manufacturerID, sizeof(info->manufacturerID),
	    MODULE_MANUFACTURER);
	pad_copy(info->model, sizeof(info->model), MODULE_MODEL);
	slot_serial(info->serialNumber, sizeof(info->serialNumber));
	info->flags = CKF_RNG | CKF_WRITE_PROTECTED | CKF_TOKEN_INITIALIZED |
	    CKF_USER_PIN_INITIALIZED | CKF_PROTECTED_AUTHENTICATION_PATH;
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = session_count(0);
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = session_count(1);
	info->ulMaxPinLen = 0;
	info->ulMinPinLen = 0;
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->hardwareVersion.major = MODULE_VERSION_MAJOR;
	info->hardwareVersion.minor = MODULE_VERSION_MINOR;
	info->firmwareVersion = info->hardwareVersion;
	/* No clock on this token: utcTime stays blank. */
	memset(info->utcTime, ' ', sizeof(info->utcTime));
	return CKR_OK;
}

CK_RV
C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE *list,
    CK_ULONG *countp)
{
	CK_RV rv;

	if ((rv = slot_check(slot)) != CKR_OK)
		return rv;
	if (countp == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = object_load(0)) != CKR_OK)
		return rv;
	return mech_list(list, countp);
}

CK_RV
C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO *info)
{
	CK_RV rv;

	if ((rv = slot_check(slot)) != CKR_OK)
		return rv;
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = object_load(0)) != CKR_OK)
		return rv;
	return mech_get_info(type, info);
}

CK_RV
C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID *slot, void *reserved)
{
	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (slot == NULL || reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	/* The token never comes or goes. */
	if (flags & CKF_DONT_BLOCK)
		return CKR_NO_EVENT;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV
C_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR *pin, CK_ULONG pinlen,
    CK_UTF8CHAR *label)
{
	CK_RV rv;

	if ((rv = slot_check(slot)) != CKR_OK)
		return rv;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV
C_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR *pin, CK_ULONG pinlen)
{
	return session_refuse(h, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
C_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR *oldpin, CK_ULONG oldlen,
    CK_UTF8CHAR *newpin, CK_ULONG newlen)
{
	return session_refuse(h, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE *seed, CK_ULONG len)
{
	return session_refuse(h, CKR_RANDOM_SEED_NOT_SUPPORTED);
}

/* The token's RNG, P11B_RANDOM_MAX bytes per request. */
CK_RV
C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE *out, CK_ULONG len)
{
	struct session *s;
	struct link *l;
	uint8_t *chunk;
	size_t done = 0, n;
	CK_RV rv;
	int r = P11B_OK, tries = 0;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	if (out == NULL && len != 0) {
		session_put(s);
		return CKR_ARGUMENTS_BAD;
	}
	if (len > SLOT_RANDOM_MAX) {
		session_put(s);
		return CKR_ARGUMENTS_BAD;
	}
	if ((rv = link_get(&l)) != CKR_OK) {
		session_put(s);
		return rv;
	}
	while (done < len) {
		n = len - done;
		if (n > P11B_RANDOM_MAX)
			n = P11B_RANDOM_MAX;
		do {
			r = p11b_random(link_conn(l), n, &chunk);
		} while (link_again(&l, r, &tries));
		if (r != P11B_OK)
			break;
		memcpy(out + done, chunk, n);
		freezero(chunk, n);
		done += n;
	}
	link_put(l, r);
	session_put(s);
	if (r == P11B_DENIED || r == P11B_NO_SUCH_KEY)
		return CKR_FUNCTION_FAILED;
	return link_ckr(r);
}
