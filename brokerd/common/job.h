/*
 * What the front and the signer exchange, and nothing of how either
 * does its part: a configured key as the front knows it, a job (copies,
 * never pointers into connection state) on a key index, and its result.
 * common/signer_msg.c puts them on the wire between the two processes.
 */
#ifndef JOB_H
#define JOB_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"		/* P11B_ID_MAX, P11B_LABEL_MAX, P11B_IDENTITY_LEN */

#define KEY_OBJECT_MAX	160	/* "private key label=... id=..." */

/* A configured key: what the signer found and tells the front. */
struct key_info {
	char			 name[P11B_KEY_NAME_MAX + 1];
	enum p11b_key_type	 type;
	unsigned int		 bits;
	int			 extractable;	/* get-secret possible */
	uint8_t			*spki;		/* public key, DER */
	size_t			 spkilen;
	uint8_t			*cert;		/* certificate, DER, if any */
	size_t			 certlen;
	uint8_t			*chain;		/* its issuers, DER, nearest */
	size_t			 chainlen;	/* first, concatenated */
	char			 object[KEY_OBJECT_MAX];
	uint32_t		 algs;		/* (1 << alg) the token can do */
	/* The token object: its attributes, and what names the material. */
	uint8_t			 id[P11B_ID_MAX];	/* CKA_ID */
	size_t			 idlen;
	char			 label[P11B_LABEL_MAX + 1];	/* CKA_LABEL */
	int			 local;			/* CKA_LOCAL */
	uint8_t			 identity[P11B_IDENTITY_LEN];
	int			 space;		/* keyspace index, -1: none */
	/*
	 * Not on this signer's token (another block holds it): a name and
	 * type P11B_KEY_NONE only.  In the front's keys: no block that
	 * holds it has been heard from yet.
	 */
	int			 absent;
	uint32_t		 tokens;	/* the front's: blocks that hold
						   it (config.h) */
};

/* Free each key's public key and certificate, then the array. */
void	key_info_free(struct key_info *keys, size_t nkeys);
/*
 * Does alg fit keys[key]?  The callback policy_check_algs() takes, with
 * the key_info array as its argument.
 */
int	key_info_alg_fits(enum p11b_alg alg, int key, void *keys);

/*
 * A streamed input (sign, hmac, hmac-verify) goes to one worker as a
 * begin, updates and a final (or an abort), all with its stream id; the
 * begin and updates are answered with an empty OK, the final with the
 * operation's result.
 */
enum job_stream {
	JOB_WHOLE = 0,		/* the whole input in one job */
	JOB_STREAM_BEGIN,
	JOB_STREAM_UPDATE,
	JOB_STREAM_FINAL,
	JOB_STREAM_ABORT,
};
#define JOB_STREAM_COUNT	5

/* One operation for a signer worker, on a key index. */
struct job {
	int		 key;		/* key index, -1: none (random) */
	enum p11b_op	 op;
	enum p11b_alg	 alg;
	int		 flags;		/* P11B_SIGN_* */
	int		 salt_set;	/* RSA-PSS salt_len given, else hLen */
	unsigned int	 salt_len;
	enum job_stream	 stream;
	uint16_t	 sid;		/* stream id on its link */
	uint8_t		*in;
	size_t		 inlen;
	uint8_t		*mac;
	size_t		 maclen;
	uint32_t	 random_len;
	/*
	 * A keyspace key goes by its token label and CKA_ID (key is -1):
	 * each signer process finds it on its own (signer/token/
	 * token_gen.c).  GENERATE makes the key of gen_type.
	 */
	int		 by_label;
	char		 label[P11B_KEY_NAME_MAX + 1];
	uint8_t		 kid[P11B_ID_MAX];
	size_t		 kidlen;
	enum p11b_key_type gen_type;
	uint32_t	 gen_bits;
};

struct job_result {
	int		 status;	/* enum p11b_status */
	const char	*message;	/* static string */
	uint8_t		*out;		/* malloc'd */
	size_t		 outlen;
	int		 valid;		/* hmac-verify */
	int		 secret;	/* out must be wiped */
};

/*
 * A deep copy of n keys and room zeroed entries more;
 * NULL when out of memory.
 */
struct key_info *key_info_dup(const struct key_info *keys, size_t n,
	    size_t room);
/* *dst (holding nothing) becomes a deep copy of *src; -1: no memory. */
int	key_info_copy(struct key_info *dst, const struct key_info *src);
/*
 * Several token blocks: one signer's keys (add, nadd) merged into the
 * keys known so far (have, nhave), into a new array *outp.  Of the nconf
 * configured keys, one still absent takes add's entry; one both hold
 * must be the same material (the same identity), or -1 with why in err.
 * Keyspace keys (past nconf) of add not known by name are appended.
 * *changed: 1 when anything was taken from add.
 */
int	key_info_merge(const struct key_info *have, size_t nhave,
	    const struct key_info *add, size_t nadd, size_t nconf,
	    struct key_info **outp, size_t *noutp, int *changed, char *err,
	    size_t errlen);

/* Wipe and free the output; status and message stay. */
void	job_result_clear(struct job_result *res);

#endif /* JOB_H */
