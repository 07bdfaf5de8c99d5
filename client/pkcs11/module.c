/*
 * Module entry: C_GetFunctionList, the 3.0 interfaces, C_Initialize,
 * C_Finalize, C_GetInfo, and what happens to all that across fork().
 *
 * Everything the module knows (the connection, sessions, objects) is
 * per process.  A child after fork() starts uninitialised, as PKCS#11
 * asks: its C_Initialize opens a connection of its own, and nothing the
 * child does touches the parent's socket.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "ck3.h"

#define MODULE_LABEL_MAX	32

static pthread_mutex_t	module_mutex = PTHREAD_MUTEX_INITIALIZER;
static atomic_int	module_ready;
static int		module_debugging;	/* set by C_Initialize */
static char		module_label[MODULE_LABEL_MAX + 1];
static pthread_once_t	module_atfork_once = PTHREAD_ONCE_INIT;
static pthread_once_t	module_v3_once = PTHREAD_ONCE_INIT;

int
module_initialized(void)
{
	return atomic_load_explicit(&module_ready, memory_order_acquire);
}

void
module_lock(void)
{
	pthread_mutex_lock(&module_mutex);
}

void
module_unlock(void)
{
	pthread_mutex_unlock(&module_mutex);
}

const char *
module_token_label(void)
{
	return module_label;
}

/* Diagnostics go to stderr only when P11BROKER_PKCS11_DEBUG is set. */
void
module_debug(const char *fmt, ...)
{
	va_list ap;

	if (!module_debugging)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "p11broker-pkcs11: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* PKCS#11 text fields are blank padded, not NUL terminated. */
void
pad_copy(CK_UTF8CHAR *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src);

	if (len > dstlen)
		len = dstlen;
	memset(dst, ' ', dstlen);
	memcpy(dst, src, len);
}

static void
module_read_label(void)
{
	const char *env;
	size_t len;

	env = getenv("P11BROKER_TOKEN_LABEL");
	if (env == NULL || *env == '\0')
		env = MODULE_LABEL_DEFAULT;
	/* Cut at 32 bytes without splitting a UTF-8 sequence. */
	len = strlen(env);
	if (len > MODULE_LABEL_MAX) {
		len = MODULE_LABEL_MAX;
		while (len > 0 && ((unsigned char)env[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(module_label, env, len);
	module_label[len] = '\0';
}

/*
 * Around fork(), every table lock is taken (always in this order, and
 * never while holding another), so that the child inherits consistent
 * tables.  In the child, the parent's threads are gone and the
 * connections are the parent's: start over uninitialised, with fresh
 * locks, forgetting (never shutting down) what was inherited.
 */
static void
module_atfork_prepare(void)
{
	pthread_mutex_lock(&module_mutex);
	object_fork_lock(1);
	session_fork_lock(1);
	link_fork_lock(1);
}

static void
module_atfork_parent(void)
{
	link_fork_lock(0);
	session_fork_lock(0);
	object_fork_lock(0);
	pthread_mutex_unlock(&module_mutex);
}

static void
module_atfork_child(void)
{
	pthread_mutex_init(&module_mutex, NULL);
	atomic_store(&module_ready, 0);
	session_forget();
	link_forget();
	object_forget();
}

static void
module_register_atfork(void)
{
	if (pthread_atfork(module_atfork_prepare, module_atfork_parent,
	    module_atfork_child) != 0)
		module_debug("pthread_atfork failed");
}

static CK_RV
module_check_args(const CK_C_INITIALIZE_ARGS *args)
{
	int n;

	if (args == NULL)
		return CKR_OK;
	if (args->pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	n = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
	    (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
	if (n != 0 && n != 4)
		return CKR_ARGUMENTS_BAD;
	/*
	 * Application mutexes without CKF_OS_LOCKING_OK: we could only use
	 * theirs, and we use pthreads.
	 */
	if (n == 4 && !(args->flags & CKF_OS_LOCKING_OK))
		return CKR_CANT_LOCK;
	return CKR_OK;
}

CK_RV
C_Initialize(void *init_args)
{
	CK_RV rv;

	if ((rv = module_check_args(init_args)) != CKR_OK)
		return rv;
	pthread_once(&module_atfork_once, module_register_atfork);
	module_lock();
	if (module_initialized()) {
		module_unlock();
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	module_read_label();
	module_debugging = getenv("P11BROKER_PKCS11_DEBUG") != NULL;
	if ((rv = filter_init()) != CKR_OK) {
		module_unlock();
		return rv;
	}
	atomic_store_explicit(&module_ready, 1, memory_order_release);
	module_unlock();
	/* The broker is reached at the first call that needs it. */
	return CKR_OK;
}

CK_RV
C_Finalize(void *reserved)
{
	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	module_lock();
	if (!module_initialized()) {
		module_unlock();
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	atomic_store(&module_ready, 0);
	module_unlock();
	session_close_all();
	link_close();
	object_free_all();
	return CKR_OK;
}

CK_RV
C_GetInfo(CK_INFO *info)
{
	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = CRYPTOKI_VERSION_MAJOR;
	info->cryptokiVersion.minor = CRYPTOKI_VERSION_MINOR;
	pad_copy(info->manufacturerID, sizeof(info->manufacturerID),
	    MODULE_MANUFACTURER);
	pad_copy(info->libraryDescription, sizeof(info->libraryDescription),
	    "p11broker client module");
	info->libraryVersion.major = MODULE_VERSION_MAJOR;
	info->libraryVersion.minor = MODULE_VERSION_MINOR;
	return CKR_OK;
}

static const CK_FUNCTION_LIST module_functions = {
	.version = { CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR },
	.C_Initialize = C_Initialize,
	.C_Finalize = C_Finalize,
	.C_GetInfo = C_GetInfo,
	.C_GetFunctionList = C_GetFunctionList,
	.C_GetSlotList = C_GetSlotList,
	.C_GetSlotInfo = C_GetSlotInfo,
	.C_GetTokenInfo = C_GetTokenInfo,
	.C_GetMechanismList = C_GetMechanismList,
	.C_GetMechanismInfo = C_GetMechanismInfo,
	.C_InitToken = C_InitToken,
	.C_InitPIN = C_InitPIN,
	.C_SetPIN = C_SetPIN,
	.C_OpenSession = C_OpenSession,
	.C_CloseSession = C_CloseSession,
	.C_CloseAllSessions = C_CloseAllSessions,
	.C_GetSessionInfo = C_GetSessionInfo,
	.C_GetOperationState = C_GetOperationState,
	.C_SetOperationState = C_SetOperationState,
	.C_Login = C_Login,
	.C_Logout = C_Logout,
	.C_CreateObject = C_CreateObject,
	.C_CopyObject = C_CopyObject,
	.C_DestroyObject = C_DestroyObject,
	.C_GetObjectSize = C_GetObjectSize,
	.C_GetAttributeValue = C_GetAttributeValue,
	.C_SetAttributeValue = C_SetAttributeValue,
	.C_FindObjectsInit = C_FindObjectsInit,
	.C_FindObjects = C_FindObjects,
	.C_FindObjectsFinal = C_FindObjectsFinal,
	.C_EncryptInit = C_EncryptInit,
	.C_Encrypt = C_Encrypt,
	.C_EncryptUpdate = C_EncryptUpdate,
	.C_EncryptFinal = C_EncryptFinal,
	.C_DecryptInit = C_DecryptInit,
	.C_Decrypt = C_Decrypt,
	.C_DecryptUpdate = C_DecryptUpdate,
	.C_DecryptFinal = C_DecryptFinal,
	.C_DigestInit = C_DigestInit,
	.C_Digest = C_Digest,
	.C_DigestUpdate = C_DigestUpdate,
	.C_DigestKey = C_DigestKey,
	.C_DigestFinal = C_DigestFinal,
	.C_SignInit = C_SignInit,
	.C_Sign = C_Sign,
	.C_SignUpdate = C_SignUpdate,
	.C_SignFinal = C_SignFinal,
	.C_SignRecoverInit = C_SignRecoverInit,
	.C_SignRecover = C_SignRecover,
	.C_VerifyInit = C_VerifyInit,
	.C_Verify = C_Verify,
	.C_VerifyUpdate = C_VerifyUpdate,
	.C_VerifyFinal = C_VerifyFinal,
	.C_VerifyRecoverInit = C_VerifyRecoverInit,
	.C_VerifyRecover = C_VerifyRecover,
	.C_DigestEncryptUpdate = C_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = C_DecryptDigestUpdate,
	.C_SignEncryptUpdate = C_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = C_DecryptVerifyUpdate,
	.C_GenerateKey = C_GenerateKey,
	.C_GenerateKeyPair = C_GenerateKeyPair,
	.C_WrapKey = C_WrapKey,
	.C_UnwrapKey = C_UnwrapKey,
	.C_DeriveKey = C_DeriveKey,
	.C_SeedRandom = C_SeedRandom,
	.C_GenerateRandom = C_GenerateRandom,
	.C_GetFunctionStatus = C_GetFunctionStatus,
	.C_CancelFunction = C_CancelFunction,
	.C_WaitForSlotEvent = C_WaitForSlotEvent,
};

static struct ck3_function_list module_functions_v3;

static CK_UTF8CHAR module_interface_name[] = "PKCS 11";

/* The 3.0 interface first: C_GetInterface(NULL) returns it. */
static struct ck3_interface module_interfaces[] = {
	{ module_interface_name, &module_functions_v3,
	    CK3_INTERFACE_FORK_SAFE },
	{ module_interface_name, (void *)&module_functions,
	    CK3_INTERFACE_FORK_SAFE },
};
#define MODULE_NINTERFACES \
	(sizeof(module_interfaces) / sizeof(module_interfaces[0]))

static void
module_build_v3(void)
{
	struct ck3_function_list *fl = &module_functions_v3;

	fl->v2 = module_functions;
	fl->v2.version.major = 3;
	fl->v2.version.minor = 0;
	fl->C_GetInterfaceList = C_GetInterfaceList;
	fl->C_GetInterface = C_GetInterface;
	fl->C_LoginUser = C_LoginUser;
	fl->C_SessionCancel = C_SessionCancel;
	unsupported_message_functions(&fl->msg);
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR listp)
{
	if (listp == NULL)
		return CKR_ARGUMENTS_BAD;
	*listp = (CK_FUNCTION_LIST *)&module_functions;
	return CKR_OK;
}

CK_RV
C_GetInterfaceList(struct ck3_interface *list, CK_ULONG *countp)
{
	size_t i;

	if (countp == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&module_v3_once, module_build_v3);
	if (list == NULL) {
		*countp = MODULE_NINTERFACES;
		return CKR_OK;
	}
	if (*countp < MODULE_NINTERFACES) {
		*countp = MODULE_NINTERFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < MODULE_NINTERFACES; i++)
		list[i] = module_interfaces[i];
	*countp = MODULE_NINTERFACES;
	return CKR_OK;
}

static const CK_VERSION *
module_interface_version(const struct ck3_interface *iface)
{
	return &((const CK_FUNCTION_LIST *)iface->function_list)->
	    version;
}

CK_RV
C_GetInterface(CK_UTF8CHAR *name, CK_VERSION *version,
    struct ck3_interface **ifacep, CK_FLAGS flags)
{
	const CK_VERSION *v;
	size_t i;

	if (ifacep == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&module_v3_once, module_build_v3);
	if (name != NULL && strcmp((char *)name, "PKCS 11") != 0)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < MODULE_NINTERFACES; i++) {
		v = module_interface_version(&module_interfaces[i]);
		if (version != NULL && (version->major != v->major ||
		    version->minor != v->minor))
			continue;
		if ((module_interfaces[i].flags & flags) != flags)
			continue;
		*ifacep = &module_interfaces[i];
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
