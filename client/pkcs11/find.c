/*
 * Object functions: search, attribute values and object sizes.  The
 * token is read-only: creating, copying, changing or destroying objects
 * is refused.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "module.h"

static CK_RV
find_object(CK_OBJECT_HANDLE h, struct object **objp)
{
	struct object *obj;

	if ((obj = object_find(h)) == NULL || obj->gone)
		return CKR_OBJECT_HANDLE_INVALID;
	*objp = obj;
	return CKR_OK;
}

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE *templ, CK_ULONG count)
{
	struct session *s;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	if (templ == NULL && count != 0)
		rv = CKR_ARGUMENTS_BAD;
	else if (s->find_active)
		rv = CKR_OPERATION_ACTIVE;
	else if ((rv = object_load(1)) == CKR_OK &&
	    (rv = object_match(templ, count, &s->found, &s->nfound)) ==
	    CKR_OK) {
		s->foundpos = 0;
		s->find_active = 1;
	}
	session_put(s);
	return rv;
}

CK_RV
C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out, CK_ULONG max,
    CK_ULONG *countp)
{
	struct session *s;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	if (out == NULL || countp == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (!s->find_active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else {
		while (n < max && s->foundpos < s->nfound)
			out[n++] = s->found[s->foundpos++];
		*countp = n;
	}
	session_put(s);
	return rv;
}

CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
	struct session *s;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	if (!s->find_active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	free(s->found);
	s->found = NULL;
	s->nfound = s->foundpos = 0;
	s->find_active = 0;
	session_put(s);
	return rv;
}

/* Copy one value under the PKCS#11 rules for GetAttributeValue. */
static CK_RV
find_copy(CK_ATTRIBUTE *t, const void *value, CK_ULONG len)
{
	if (t->pValue == NULL) {
		t->ulValueLen = len;
		return CKR_OK;
	}
	if (t->ulValueLen < len) {
		t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (len > 0)
		memcpy(t->pValue, value, len);
	t->ulValueLen = len;
	return CKR_OK;
}

/*
 * A secret's bytes, fetched for this call only and wiped right after:
 * the module keeps no copy.
 */
static CK_RV
find_secret(const struct object *obj, CK_ATTRIBUTE *t)
{
	struct link *l;
	uint8_t *secret = NULL;
	size_t len = 0;
	CK_RV rv;
	int r;

	/* The length is known: no need to fetch the secret for it. */
	if (t->pValue == NULL && obj->key->bits > 0) {
		t->ulValueLen = obj->key->bits / 8;
		return CKR_OK;
	}
	if ((rv = link_get(&l)) != CKR_OK)
		return rv;
	/*
	 * Not tried again after a lost connection (link_again()): the
	 * library's rule for a read of a secret, so that the audit log and a
	 * rate limit count each read the application asked for once.
	 */
	r = p11b_get_secret_expect(link_conn(l), obj->key->name,
	    obj->key->identity, obj->key->identitylen, &secret, &len);
	link_put(l, r);
	if (r == P11B_DENIED || r == P11B_NO_SUCH_KEY) {
		t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return CKR_ATTRIBUTE_SENSITIVE;
	}
	if (r != P11B_OK) {
		t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return link_ckr(r);
	}
	rv = find_copy(t, secret, len);
	p11b_free_secret(secret, len);
	return rv;
}

/* Errors that end the call rather than mark one attribute. */
static int
find_fatal(CK_RV rv)
{
	return rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_BUFFER_TOO_SMALL;
}

CK_RV
C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh,
    CK_ATTRIBUTE *templ, CK_ULONG count)
{
	const struct attr *a;
	struct session *s;
	struct object *obj;
	CK_RV rv, one, result = CKR_OK;
	CK_ULONG i;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	/* Attribute reads need no session state: let other calls in. */
	session_put(s);
	if (templ == NULL && count != 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = find_object(oh, &obj)) != CKR_OK)
		return rv;
	for (i = 0; i < count; i++) {
		if ((a = object_attr(obj, templ[i].type)) == NULL) {
			templ[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			one = CKR_ATTRIBUTE_TYPE_INVALID;
		} else if (a->flags & ATTR_SENSITIVE) {
			templ[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			one = CKR_ATTRIBUTE_SENSITIVE;
		} else if (a->flags & ATTR_SECRET_VALUE)
			one = find_secret(obj, &templ[i]);
		else
			one = find_copy(&templ[i], a->value, a->len);
		if (find_fatal(one))
			return one;
		if (one != CKR_OK)
			result = one;
	}
	return result;
}

CK_RV
C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ULONG *sizep)
{
	struct session *s;
	struct object *obj;
	CK_ULONG size = 0;
	size_t i;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	session_put(s);
	if (sizep == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = find_object(oh, &obj)) != CKR_OK)
		return rv;
	for (i = 0; i < obj->nattrs; i++)
		size += obj->attrs[i].len;
	*sizep = size;
	return CKR_OK;
}

static CK_RV
find_read_only(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
	struct session *s;
	struct object *obj;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	session_put(s);
	if (oh != CK_INVALID_HANDLE &&
	    (rv = find_object(oh, &obj)) != CKR_OK)
		return rv;
	/* The broker's keys are the operator's, not the caller's. */
	return CKR_ACTION_PROHIBITED;
}

CK_RV
C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE *templ, CK_ULONG count,
    CK_OBJECT_HANDLE *ohp)
{
	return session_refuse(h, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE *templ,
    CK_ULONG count, CK_OBJECT_HANDLE *ohp)
{
	return find_read_only(h, oh);
}

CK_RV
C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
	return find_read_only(h, oh);
}

CK_RV
C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh,
    CK_ATTRIBUTE *templ, CK_ULONG count)
{
	return find_read_only(h, oh);
}
