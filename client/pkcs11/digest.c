/*
 * Operation input: the *_SHA* mechanisms hash here (libcrypto), so the
 * broker only ever sees a digest and a multi-part message needs no
 * buffering; the other mechanisms keep their multi-part input until the
 * final call, within MODULE_MULTIPART_MAX.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "module.h"

const EVP_MD *
digest_md(const char *hash)
{
	if (hash == NULL)
		return NULL;
	if (strcmp(hash, "SHA256") == 0)
		return EVP_sha256();
	if (strcmp(hash, "SHA384") == 0)
		return EVP_sha384();
	if (strcmp(hash, "SHA512") == 0)
		return EVP_sha512();
	if (strcmp(hash, "SHA224") == 0)
		return EVP_sha224();
	if (strcmp(hash, "SHA1") == 0)
		return EVP_sha1();
	return NULL;
}

CK_RV
digest_oneshot(const char *hash, const uint8_t *in, size_t len,
    uint8_t *out, size_t *outlenp)
{
	unsigned int n = 0;

	if (EVP_Digest(in, len, out, &n, digest_md(hash), NULL) != 1)
		return CKR_FUNCTION_FAILED;
	*outlenp = n;
	return CKR_OK;
}

/* The input may be secret: the buf module leaves no copies behind. */
static CK_RV
op_buffer(struct op *op, const uint8_t *in, size_t len)
{
	if (len > MODULE_MULTIPART_MAX - op->in.len)
		return CKR_DATA_LEN_RANGE;
	if (buf_append(&op->in, in, len) != 0)
		return CKR_HOST_MEMORY;
	return CKR_OK;
}

/* C_SignUpdate / C_VerifyUpdate */
CK_RV
op_append(struct op *op, const uint8_t *in, size_t len)
{
	if (op->hash == NULL)
		return op_buffer(op, in, len);
	if (op->md == NULL) {
		if ((op->md = EVP_MD_CTX_new()) == NULL)
			return CKR_HOST_MEMORY;
		if (EVP_DigestInit_ex(op->md, digest_md(op->hash), NULL) != 1)
			return CKR_FUNCTION_FAILED;
	}
	if (len > 0 && EVP_DigestUpdate(op->md, in, len) != 1)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}

/*
 * The operation's whole input: the single-part data or what the updates
 * gave, hashed here when the mechanism says so (into digest, which holds
 * EVP_MAX_MD_SIZE bytes).
 */
CK_RV
op_input(struct op *op, const uint8_t *in, size_t len, uint8_t *digest,
    const uint8_t **datap, size_t *lenp)
{
	unsigned int n = 0;
	CK_RV rv;

	if (op->state != OP_MULTI) {
		if (op->hash == NULL) {
			*datap = in;
			*lenp = len;
			return CKR_OK;
		}
		if ((rv = digest_oneshot(op->hash, in, len, digest, lenp)) !=
		    CKR_OK)
			return rv;
		*datap = digest;
		return CKR_OK;
	}
	if (op->hash == NULL) {
		*datap = op->in.p;
		*lenp = op->in.len;
		return CKR_OK;
	}
	if (op->md == NULL && (rv = op_append(op, NULL, 0)) != CKR_OK)
		return rv;
	if (EVP_DigestFinal_ex(op->md, digest, &n) != 1)
		return CKR_FUNCTION_FAILED;
	*datap = digest;
	*lenp = n;
	return CKR_OK;
}
