/*
 * The PKCS#11 3.0 additions the module needs: interfaces and the 3.0
 * function list.  p11-kit 0.24's pkcs11.h stops at 2.40; the names here
 * are our own so that a newer header cannot clash with them.
 */
#ifndef PKCS11_CK3_H
#define PKCS11_CK3_H

#include <p11-kit/pkcs11.h>

#define CK3_INTERFACE_FORK_SAFE	0x00000001UL
/* C_SessionCancel flag (pkcs11t.h 3.0) */
#define CK3_FIND_OBJECTS	0x00000040UL

struct ck3_interface {
	CK_UTF8CHAR	*name;		/* "PKCS 11" */
	void		*function_list;
	CK_FLAGS	 flags;
};

typedef CK_RV (*ck3_get_interface_list)(struct ck3_interface *,
    CK_ULONG *);
typedef CK_RV (*ck3_get_interface)(CK_UTF8CHAR *, CK_VERSION *,
    struct ck3_interface **, CK_FLAGS);
typedef CK_RV (*ck3_login_user)(CK_SESSION_HANDLE, CK_USER_TYPE,
    CK_UTF8CHAR *, CK_ULONG, CK_UTF8CHAR *, CK_ULONG);
typedef CK_RV (*ck3_session_cancel)(CK_SESSION_HANDLE, CK_FLAGS);
typedef CK_RV (*ck3_message_init)(CK_SESSION_HANDLE, CK_MECHANISM *,
    CK_OBJECT_HANDLE);
typedef CK_RV (*ck3_crypt_message)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
typedef CK_RV (*ck3_crypt_message_begin)(CK_SESSION_HANDLE, void *,
    CK_ULONG, CK_BYTE *, CK_ULONG);
typedef CK_RV (*ck3_crypt_message_next)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *, CK_FLAGS);
typedef CK_RV (*ck3_message_final)(CK_SESSION_HANDLE);
typedef CK_RV (*ck3_sign_message)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
typedef CK_RV (*ck3_message_begin)(CK_SESSION_HANDLE, void *, CK_ULONG);
typedef CK_RV (*ck3_verify_message)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG);

/* The 3.0 message-based functions, in the standard's order. */
struct ck3_message_functions {
	ck3_message_init		 C_MessageEncryptInit;
	ck3_crypt_message		 C_EncryptMessage;
	ck3_crypt_message_begin		 C_EncryptMessageBegin;
	ck3_crypt_message_next		 C_EncryptMessageNext;
	ck3_message_final		 C_MessageEncryptFinal;
	ck3_message_init		 C_MessageDecryptInit;
	ck3_crypt_message		 C_DecryptMessage;
	ck3_crypt_message_begin		 C_DecryptMessageBegin;
	ck3_crypt_message_next		 C_DecryptMessageNext;
	ck3_message_final		 C_MessageDecryptFinal;
	ck3_message_init		 C_MessageSignInit;
	ck3_sign_message		 C_SignMessage;
	ck3_message_begin		 C_SignMessageBegin;
	ck3_sign_message		 C_SignMessageNext;
	ck3_message_final		 C_MessageSignFinal;
	ck3_message_init		 C_MessageVerifyInit;
	ck3_verify_message		 C_VerifyMessage;
	ck3_message_begin		 C_VerifyMessageBegin;
	ck3_verify_message		 C_VerifyMessageNext;
	ck3_message_final		 C_MessageVerifyFinal;
};

/* Same layout as the standard's CK_FUNCTION_LIST_3_0. */
struct ck3_function_list {
	CK_FUNCTION_LIST		 v2;
	ck3_get_interface_list		 C_GetInterfaceList;
	ck3_get_interface		 C_GetInterface;
	ck3_login_user			 C_LoginUser;
	ck3_session_cancel		 C_SessionCancel;
	struct ck3_message_functions	 msg;
};

CK_RV	C_GetInterfaceList(struct ck3_interface *, CK_ULONG *);
CK_RV	C_GetInterface(CK_UTF8CHAR *, CK_VERSION *, struct ck3_interface **,
	    CK_FLAGS);
CK_RV	C_LoginUser(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR *, CK_ULONG,
	    CK_UTF8CHAR *, CK_ULONG);
CK_RV	C_SessionCancel(CK_SESSION_HANDLE, CK_FLAGS);

/* unsupported.c: the 3.0 message functions, all refused. */
void	unsupported_message_functions(struct ck3_message_functions *);

#endif /* PKCS11_CK3_H */
