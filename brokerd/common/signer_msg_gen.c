/*
 * Keyspace messages between the front and the signer (signer_msg.h):
 * a job on a keyspace key names the token object (label, CKA_ID) rather
 * than an index, because each signer process learns keyspace keys on
 * its own and their indexes differ; a generate names the new key.
 */
#include <stdlib.h>
#include <string.h>

#include "signer_msg.h"
#include "wire.h"

/* The label and CKA_ID: u8 idlen, id, u8 labellen, label. */
static size_t
name_len(const struct job *job)
{
	return 1 + job->kidlen + 1 + strlen(job->label);
}

static int
name_put(uint8_t *p, const struct job *job)
{
	size_t n = strlen(job->label);

	if (job->kidlen > P11B_ID_MAX || n == 0 || n > P11B_KEY_NAME_MAX ||
	    !wire_key_name_valid(job->label, n))
		return SMSG_ERR;
	*p++ = (uint8_t)job->kidlen;
	memcpy(p, job->kid, job->kidlen);
	p += job->kidlen;
	*p++ = (uint8_t)n;
	memcpy(p, job->label, n);
	return SMSG_OK;
}

/* The name at body; its length in *used. */
static int
name_get(const uint8_t *body, size_t len, char *label, uint8_t *kid,
    size_t *kidlen, size_t *used)
{
	size_t il, ll;

	if (len < 1 || (il = body[0]) > P11B_ID_MAX || len < 2 + il)
		return SMSG_ERR;
	ll = body[1 + il];
	if (ll == 0 || ll > P11B_KEY_NAME_MAX || len < 2 + il + ll ||
	    !wire_key_name_valid((const char *)body + 2 + il, ll))
		return SMSG_ERR;
	memcpy(kid, body + 1, il);
	*kidlen = il;
	memcpy(label, body + 2 + il, ll);
	label[ll] = '\0';
	*used = 2 + il + ll;
	return SMSG_OK;
}

static int
header(enum smsg_type type, uint64_t id, size_t len, uint8_t **bufp,
    size_t *lenp)
{
	return smsg_alloc(type, id, len, bufp, lenp) == NULL ? SMSG_ERR :
	    SMSG_OK;
}

/* GENERATE: u8 type, u32 bits, then the name. */
static int
generate_encode(uint64_t id, const struct job *job, uint8_t **bufp,
    size_t *lenp)
{
	size_t len = 5 + name_len(job);
	uint32_t bits = job->gen_bits;
	uint8_t *p;

	if (job->gen_type <= P11B_KEY_NONE || job->gen_type >= P11B_KEY_DATA)
		return SMSG_ERR;
	if (header(SMSG_GENERATE, id, len, bufp, lenp) != SMSG_OK)
		return SMSG_ERR;
	p = *bufp + SMSG_HDR_LEN;
	p[0] = (uint8_t)job->gen_type;
	memcpy(p + 1, &bits, 4);
	if (name_put(p + 5, job) != SMSG_OK) {
		free(*bufp);
		return SMSG_ERR;
	}
	return SMSG_OK;
}

/* JOB_LABEL: the name, then a job body on key 0. */
static int
label_encode(uint64_t id, const struct job *job, uint8_t **bufp,
    size_t *lenp)
{
	struct job j = *job;
	uint8_t *inner, *p;
	size_t innerlen, nl = name_len(job);

	j.key = 0;
	if (smsg_job_encode(id, &j, &inner, &innerlen) != SMSG_OK)
		return SMSG_ERR;
	if (header(SMSG_JOB_LABEL, id, nl + innerlen - SMSG_HDR_LEN, bufp,
	    lenp) != SMSG_OK) {
		freezero(inner, innerlen);
		return SMSG_ERR;
	}
	p = *bufp + SMSG_HDR_LEN;
	if (name_put(p, job) != SMSG_OK) {
		freezero(inner, innerlen);
		free(*bufp);
		return SMSG_ERR;
	}
	memcpy(p + nl, inner + SMSG_HDR_LEN, innerlen - SMSG_HDR_LEN);
	freezero(inner, innerlen);
	return SMSG_OK;
}

int
smsg_work_encode(uint64_t id, const struct job *job, uint8_t **bufp,
    size_t *lenp)
{
	if (job->op == P11B_OP_GENERATE)
		return generate_encode(id, job, bufp, lenp);
	if (job->by_label)
		return label_encode(id, job, bufp, lenp);
	return smsg_job_encode(id, job, bufp, lenp);
}

int
smsg_work_decode(enum smsg_type type, const uint8_t *body, size_t len,
    size_t nconf, struct job *job)
{
	char label[P11B_KEY_NAME_MAX + 1];
	uint8_t kid[P11B_ID_MAX];
	size_t kidlen, used;
	uint32_t bits;

	switch (type) {
	case SMSG_JOB:
		return smsg_job_decode(body, len, nconf, job);
	case SMSG_JOB_LABEL:
		if (name_get(body, len, label, kid, &kidlen, &used) !=
		    SMSG_OK || smsg_job_decode(body + used, len - used, 1,
		    job) != SMSG_OK || job->op == P11B_OP_RANDOM)
			return SMSG_ERR;
		job->key = -1;
		break;
	case SMSG_GENERATE:
		if (len < 5 || body[0] <= P11B_KEY_NONE ||
		    body[0] >= P11B_KEY_DATA || name_get(body + 5, len - 5,
		    label, kid, &kidlen, &used) != SMSG_OK ||
		    used != len - 5)
			return SMSG_ERR;
		memset(job, 0, sizeof(*job));
		memcpy(&bits, body + 1, 4);
		job->op = P11B_OP_GENERATE;
		job->key = -1;
		job->gen_type = (enum p11b_key_type)body[0];
		job->gen_bits = bits;
		break;
	case SMSG_RESULT:
	case SMSG_HELLO:
	case SMSG_BATCH_JOB:		/* signer_batch.c */
	case SMSG_BATCH_RESULT:
		return SMSG_ERR;
	}
	job->by_label = 1;
	strlcpy(job->label, label, sizeof(job->label));
	memcpy(job->kid, kid, kidlen);
	job->kidlen = kidlen;
	return SMSG_OK;
}
