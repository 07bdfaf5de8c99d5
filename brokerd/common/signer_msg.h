/*
 * Messages between the front and the signer.  Each worker link is a
 * stream socket carrying fixed-layout messages: a 16-byte header (body
 * length, type, request id) and a body whose layout the type fixes.
 * Both sides check every field; a message that fails a check means the
 * sibling is broken or compromised, and the receiver stops talking to it.
 *
 * The signer offers exactly these: run a job (sign, HMAC, HMAC verify,
 * get-secret, random) on a configured key index, and announce its keys
 * once (hello).  Nothing else crosses.
 */
#ifndef SIGNER_MSG_H
#define SIGNER_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "job.h"

#define SMSG_HDR_LEN	16
#define SMSG_JOB_FIXED	23	/* job body before the input bytes */
#define SMSG_RES_FIXED	8	/* result body before message and output */
#define SMSG_TEXT_MAX	127	/* result messages, descriptions */
#define SMSG_SPACE_KEYS_MAX	1024	/* keyspace keys a signer holds */
#define SMSG_KEYS_MAX	(CONFIG_MAX_KEYS + SMSG_SPACE_KEYS_MAX)
#define SMSG_NO_KEY	0xffff	/* random */
/* Largest body: a job as large as the largest frame, or a data object. */
#define SMSG_BODY_MAX	(17U * 1024 * 1024)

enum smsg_type {
	SMSG_JOB = 1,		/* front -> signer */
	SMSG_RESULT = 2,	/* signer -> front, same id as the job */
	SMSG_HELLO = 3,		/* signer -> front, first on link 0 */
	SMSG_BATCH_JOB = 4,	/* front -> signer: signer_batch.h */
	SMSG_BATCH_RESULT = 5,	/* signer -> front, same id */
	SMSG_GENERATE = 6,	/* front -> signer: make a keyspace key */
	SMSG_JOB_LABEL = 7,	/* front -> signer: a job on a keyspace key */
};

struct smsg_hdr {
	uint32_t	len;	/* body bytes */
	uint16_t	type;
	uint16_t	zero;
	uint64_t	id;
};

#define SMSG_OK		0
#define SMSG_ERR	(-1)	/* malformed: fatal for the link */

/* The header; SMSG_ERR for an unknown type or a body over the limit. */
int	smsg_hdr_decode(const uint8_t hdr[SMSG_HDR_LEN], struct smsg_hdr *h);
void	smsg_hdr_encode(uint8_t hdr[SMSG_HDR_LEN], const struct smsg_hdr *h);
/*
 * A message of the type: *bufp is malloc'd header + room for len body
 * bytes (*lenp in all); returns where the body goes, NULL when len is
 * over the limit or memory is short.
 */
uint8_t	*smsg_alloc(enum smsg_type type, uint64_t id, size_t len,
	    uint8_t **bufp, size_t *lenp);
/*
 * For buf_frame_need(): decode the header into *(struct smsg_hdr *)hp
 * and give its body length; -1 for a header smsg_hdr_decode() refuses.
 */
long	smsg_body_len(const uint8_t *hdr, void *hp);

/*
 * A job: malloc'd header + body in *bufp.  The decoder fills job with
 * pointers into body (in, mac) and checks every field against nkeys.
 */
int	smsg_job_encode(uint64_t id, const struct job *job,
	    uint8_t **bufp, size_t *lenp);
int	smsg_job_decode(const uint8_t *body, size_t len, size_t nkeys,
	    struct job *job);

/* A result; the decoder copies the output (malloc'd) and the message. */
int	smsg_result_encode(uint64_t id, const struct job_result *res,
	    uint8_t **bufp, size_t *lenp);
int	smsg_result_decode(const uint8_t *body, size_t len,
	    struct job_result *res, char *msgbuf, size_t msglen);

/* What the signer found: the token and one entry per configured key. */
struct smsg_hello {
	char			 desc[SMSG_TEXT_MAX + 1];
	unsigned int		 workers;
	struct key_info		*keys;		/* malloc'd */
	size_t			 nkeys;
};

int	smsg_hello_encode(const char *desc, unsigned int workers,
	    const struct key_info *keys, size_t nkeys, uint8_t **bufp,
	    size_t *lenp);
int	smsg_hello_decode(const uint8_t *body, size_t len,
	    struct smsg_hello *hello);
void	smsg_hello_free(struct smsg_hello *hello);

/*
 * Keyspace keys (signer_msg_gen.c).  smsg_work_encode() picks the
 * message a job needs: SMSG_GENERATE (op GENERATE), SMSG_JOB_LABEL
 * (by_label: the label and CKA_ID before a job body whose key is 0) or
 * SMSG_JOB.  smsg_work_decode() takes any of the three; an SMSG_JOB's
 * key must be below nconf (configured keys only), the others have key -1
 * until the signer resolves them.  A GENERATE's result carries the new
 * key as a one-key hello body (smsg_hello_encode/decode).
 */
int	smsg_work_encode(uint64_t id, const struct job *job, uint8_t **bufp,
	    size_t *lenp);
int	smsg_work_decode(enum smsg_type type, const uint8_t *body, size_t len,
	    size_t nconf, struct job *job);

#endif /* SIGNER_MSG_H */
