/*
 * Sessions: the table, open/close, login state.
 *
 * A call looks its session up under the table lock, takes a reference
 * and then the session's own lock for the length of the operation, so
 * that C_CloseSession from another thread never frees a session in use.
 * Different sessions never wait for each other.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "ck3.h"

TAILQ_HEAD(session_list, session);

static pthread_mutex_t		session_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct session_list	session_list =
    TAILQ_HEAD_INITIALIZER(session_list);
static CK_SESSION_HANDLE	session_next = 1;
static int			session_user;	/* logged in */

void
op_reset(struct op *op)
{
	op_stream_abort(op);
	EVP_MD_CTX_free(op->md);
	buf_wipe_free(&op->in);
	memset(op, 0, sizeof(*op));
}

static void
session_free(struct session *s)
{
	op_reset(&s->sign);
	op_reset(&s->verify);
	free(s->found);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

CK_RV
session_get(CK_SESSION_HANDLE h, struct session **sp)
{
	struct session *s;

	*sp = NULL;
	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	pthread_mutex_lock(&session_mutex);
	TAILQ_FOREACH(s, &session_list, entry)
		if (s->handle == h)
			break;
	if (s == NULL) {
		pthread_mutex_unlock(&session_mutex);
		return CKR_SESSION_HANDLE_INVALID;
	}
	s->refs++;
	pthread_mutex_unlock(&session_mutex);
	pthread_mutex_lock(&s->lock);
	if (s->closed) {
		/* Closed while we waited for it. */
		session_put(s);
		return CKR_SESSION_CLOSED;
	}
	*sp = s;
	return CKR_OK;
}

void
session_put(struct session *s)
{
	int last;

	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&session_mutex);
	last = --s->refs == 0 && s->closed;
	pthread_mutex_unlock(&session_mutex);
	if (last)
		session_free(s);
}

CK_ULONG
session_count(int rw)
{
	struct session *s;
	CK_ULONG n = 0;

	pthread_mutex_lock(&session_mutex);
	TAILQ_FOREACH(s, &session_list, entry)
		if (!rw || (s->flags & CKF_RW_SESSION))
			n++;
	pthread_mutex_unlock(&session_mutex);
	return n;
}

int
session_logged_in(void)
{
	int user;

	pthread_mutex_lock(&session_mutex);
	user = session_user;
	pthread_mutex_unlock(&session_mutex);
	return user;
}

/* Unlink (table lock held); freed by whoever drops the last reference. */
static int
session_unlink(struct session *s)
{
	TAILQ_REMOVE(&session_list, s, entry);
	s->closed = 1;
	if (TAILQ_EMPTY(&session_list))
		session_user = 0;
	return s->refs == 0;
}

void
session_close_all(void)
{
	struct session *s;

	pthread_mutex_lock(&session_mutex);
	while ((s = TAILQ_FIRST(&session_list)) != NULL)
		if (session_unlink(s))
			session_free(s);
	session_user = 0;
	pthread_mutex_unlock(&session_mutex);
}

/* Around fork(): the child gets the table in a consistent state. */
void
session_fork_lock(int lock)
{
	if (lock)
		pthread_mutex_lock(&session_mutex);
	else
		pthread_mutex_unlock(&session_mutex);
}

/*
 * In a child after fork(): sessions belong to the parent, whose other
 * threads may hold their locks; free them without touching those.
 */
void
session_forget(void)
{
	struct session *s;

	pthread_mutex_init(&session_mutex, NULL);
	while ((s = TAILQ_FIRST(&session_list)) != NULL) {
		TAILQ_REMOVE(&session_list, s, entry);
		op_reset(&s->sign);
		op_reset(&s->verify);
		free(s->found);
		free(s);
	}
	session_user = 0;
}

CK_RV
C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify,
    CK_SESSION_HANDLE *hp)
{
	struct session *s;

	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (slot != MODULE_SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	if (hp == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CKR_HOST_MEMORY;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return CKR_HOST_MEMORY;
	}
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
	pthread_mutex_lock(&session_mutex);
	s->handle = session_next++;
	if (session_next == CK_INVALID_HANDLE)
		session_next = 1;
	TAILQ_INSERT_TAIL(&session_list, s, entry);
	pthread_mutex_unlock(&session_mutex);
	*hp = s->handle;
	return CKR_OK;
}

CK_RV
C_CloseSession(CK_SESSION_HANDLE h)
{
	struct session *s;
	int last = 0;

	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	pthread_mutex_lock(&session_mutex);
	TAILQ_FOREACH(s, &session_list, entry)
		if (s->handle == h)
			break;
	if (s != NULL)
		last = session_unlink(s);
	pthread_mutex_unlock(&session_mutex);
	if (s == NULL)
		return CKR_SESSION_HANDLE_INVALID;
	if (last)
		session_free(s);
	return CKR_OK;
}

CK_RV
C_CloseAllSessions(CK_SLOT_ID slot)
{
	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (slot != MODULE_SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	session_close_all();
	return CKR_OK;
}

CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO *info)
{
	struct session *s;
	int rw, user;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	if (info == NULL) {
		session_put(s);
		return CKR_ARGUMENTS_BAD;
	}
	rw = (s->flags & CKF_RW_SESSION) != 0;
	user = session_logged_in();
	memset(info, 0, sizeof(*info));
	info->slotID = MODULE_SLOT_ID;
	info->flags = s->flags;
	if (user)
		info->state = rw ? CKS_RW_USER_FUNCTIONS :
		    CKS_RO_USER_FUNCTIONS;
	else
		info->state = rw ? CKS_RW_PUBLIC_SESSION :
		    CKS_RO_PUBLIC_SESSION;
	session_put(s);
	return CKR_OK;
}

/*
 * The PIN is ignored and goes nowhere: the broker authorises by the
 * caller's uid.  The login state is kept only so that the session states
 * and error codes are what callers expect.
 */
CK_RV
C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR *pin,
    CK_ULONG pinlen)
{
	struct session *s;
	CK_RV rv = CKR_OK;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	pthread_mutex_lock(&session_mutex);
	if (user == CKU_SO)
		rv = CKR_USER_TYPE_INVALID;
	else if (user == CKU_CONTEXT_SPECIFIC)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (user != CKU_USER)
		rv = CKR_USER_TYPE_INVALID;
	else if (session_user)
		rv = CKR_USER_ALREADY_LOGGED_IN;
	else
		session_user = 1;
	pthread_mutex_unlock(&session_mutex);
	session_put(s);
	return rv;
}

CK_RV
C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR *pin,
    CK_ULONG pinlen, CK_UTF8CHAR *username, CK_ULONG namelen)
{
	return C_Login(h, user, pin, pinlen);
}

CK_RV
C_Logout(CK_SESSION_HANDLE h)
{
	struct session *s;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	pthread_mutex_lock(&session_mutex);
	if (!session_user)
		rv = CKR_USER_NOT_LOGGED_IN;
	session_user = 0;
	pthread_mutex_unlock(&session_mutex);
	session_put(s);
	return rv;
}

CK_RV
C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
	struct session *s;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	if (flags & CKF_SIGN)
		op_reset(&s->sign);
	if (flags & CKF_VERIFY)
		op_reset(&s->verify);
	if (flags & CK3_FIND_OBJECTS) {
		free(s->found);
		s->found = NULL;
		s->nfound = s->foundpos = 0;
		s->find_active = 0;
	}
	session_put(s);
	return CKR_OK;
}

CK_RV
C_GetOperationState(CK_SESSION_HANDLE h, CK_BYTE *state, CK_ULONG *lenp)
{
	return session_refuse(h, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
C_SetOperationState(CK_SESSION_HANDLE h, CK_BYTE *state, CK_ULONG len,
    CK_OBJECT_HANDLE enckey, CK_OBJECT_HANDLE authkey)
{
	return session_refuse(h, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
session_refuse(CK_SESSION_HANDLE h, CK_RV rv)
{
	struct session *s;
	CK_RV srv;

	if ((srv = session_get(h, &s)) != CKR_OK)
		return srv;
	session_put(s);
	return rv;
}
