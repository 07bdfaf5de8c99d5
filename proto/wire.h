/*
 * The wire module: framing and the conversion between protobuf messages
 * and plain structs.  Nothing outside proto/ sees a generated type.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "p11broker.h"

#define WIRE_HDR_LEN		4
#define WIRE_DEFAULT_MAX_FRAME	(64 * 1024)
/* Responses can carry a certificate chain or a key list; allow more. */
#define WIRE_CLIENT_MAX_FRAME	(1024 * 1024)

/* Wire module errors (negative), see wire_strerror(). */
#define WIRE_ERR_EMPTY		(-1)	/* zero-length frame */
#define WIRE_ERR_TOO_LARGE	(-2)	/* length over the limit */
#define WIRE_ERR_DECODE		(-3)	/* not a valid protobuf message */
#define WIRE_ERR_INVALID	(-4)	/* valid protobuf, invalid contents */
#define WIRE_ERR_NOMEM		(-5)

/* What a request frame does with a streamed input (proto/README.md). */
enum wire_stream {
	WIRE_STREAM_NONE = 0,	/* a whole request */
	WIRE_STREAM_BEGIN,	/* sign, hmac or hmac-verify with more */
	WIRE_STREAM_DATA,	/* StreamData: op is P11B_OP_NONE */
};

/*
 * A batch (proto/README.md, "Batches"): one item per input, and in a
 * response one result per item.  Requests point into the unpacked
 * message; a decoded response owns the struct (wire_response_free()).
 */
struct wire_batch_item {
	const uint8_t	*data;
	size_t		 datalen;
	const uint8_t	*mac;
	size_t		 maclen;
};

struct wire_batch_result {
	int		 status;	/* enum p11b_status */
	const char	*message;
	const uint8_t	*out;		/* signature or MAC */
	size_t		 outlen;
	int		 valid;		/* hmac-verify */
};

struct wire_batch {
	size_t				 n;
	struct wire_batch_item		*items;		/* requests */
	struct wire_batch_result	*results;	/* responses */
};

/* A decoded request.  Pointers point into the unpacked message in msg. */
struct wire_request {
	uint64_t	 id;
	enum p11b_op	 op;
	char		 key[P11B_KEY_NAME_MAX + 1];
	enum p11b_alg	 alg;
	int		 flags;		/* P11B_SIGN_* */
	int		 salt_set;	/* RSA-PSS salt_len given, else hLen */
	uint32_t	 salt_len;
	const uint8_t	*data;
	size_t		 datalen;
	const uint8_t	*mac;
	size_t		 maclen;
	uint32_t	 random_len;
	const uint8_t	*identity;	/* expected key identity, or NULL */
	size_t		 identitylen;
	enum wire_stream stream;
	uint64_t	 total_length;	/* BEGIN: declared, 0: unknown */
	int		 last;		/* DATA: the input is complete */
	int		 cancel;	/* DATA: the client gives up */
	/* GENERATE: key is the label; the type, its size and CKA_ID. */
	enum p11b_key_type gen_type;
	uint32_t	 gen_bits;
	const uint8_t	*gen_id;	/* NULL: the broker picks one */
	size_t		 gen_idlen;
	char		 version[P11B_KEY_NAME_MAX + 1]; /* pubkey; "": current */
	void		*msg;		/* owned protobuf message */
	struct wire_batch *batch;	/* a batch of op: items (owned) */
};

/* A KeyInfo's version (a list answer carries one per key, in order). */
struct wire_key_version {
	char		 version[P11B_KEY_NAME_MAX + 1];	/* "": none */
	int		 previous;	/* an older version */
};

/* A response to encode or a decoded one. */
struct wire_response {
	uint64_t		 id;
	int			 status;	/* enum p11b_status */
	const char		*message;
	enum p11b_op		 op;		/* which result, NONE for none */
	const uint8_t		*out;		/* signature, MAC, secret, SPKI, random */
	size_t			 outlen;
	const uint8_t		*cert;
	size_t			 certlen;
	const uint8_t		*chain;		/* concatenated DER (encode) */
	size_t			 chainlen;
	const uint8_t		*identity;	/* pubkey */
	size_t			 identitylen;
	int			 valid;		/* hmac-verify */
	const struct p11b_key_info *keys;	/* list; generate: one */
	size_t			 nkeys;
	struct p11b_health	 health;
	struct p11b_stats	 stats;		/* requests owned after decode */
	/* Key versions: the one used (sign, hmac, pubkey) or matched. */
	char			 version[P11B_KEY_NAME_MAX + 1];
	int			 previous;	/* hmac-verify: an older one */
	const struct wire_key_version *key_versions; /* list, or NULL */
	void			*msg;		/* owned protobuf message (decode) */
	struct wire_key_version	*key_versions_owned;	/* decode */
	struct p11b_key_info	*keys_owned;	/* decode */
	uint8_t			*chain_owned;	/* decode */
	const struct wire_batch	*batch;		/* OK: a batch's results */
	struct wire_batch	*batch_owned;	/* decode */
};

/*
 * Framing.  wire_frame_len() checks a 4-byte header against the limit
 * before anything is buffered: it returns the body length, or
 * WIRE_ERR_EMPTY / WIRE_ERR_TOO_LARGE.
 */
long	wire_frame_len(const uint8_t hdr[WIRE_HDR_LEN], size_t max_frame);
void	wire_put_len(uint8_t hdr[WIRE_HDR_LEN], uint32_t len);

/* Decode one frame body; on success the caller frees with _free(). */
int	wire_request_decode(const uint8_t *body, size_t len,
	    struct wire_request *req);
void	wire_request_free(struct wire_request *req);
int	wire_response_decode(const uint8_t *body, size_t len,
	    struct wire_response *resp);
void	wire_response_free(struct wire_response *resp);

/*
 * Encode a whole frame (header included) into a malloc'd buffer.  The
 * caller frees it with freezero() when it may hold a secret.
 */
int	wire_request_encode(const struct wire_request *req, uint8_t **framep,
	    size_t *lenp);
int	wire_response_encode(const struct wire_response *resp,
	    uint8_t **framep, size_t *lenp);

/* proto/wire_batch.c, for wire.c: the batch oneof both ways. */
struct wire_batch_store;
int	wire_batch_request_decode(const void *pbreq, struct wire_request *req);
int	wire_batch_request_encode(const struct wire_request *req,
	    void *pbreq, struct wire_batch_store **storep);
int	wire_batch_response_decode(const void *pbresp,
	    struct wire_response *resp);
int	wire_batch_response_encode(const struct wire_batch *batch,
	    void *pbresp, struct wire_batch_store **storep);
void	wire_batch_store_free(struct wire_batch_store *st);
void	wire_batch_free(struct wire_batch *batch);

/* proto/wire_tokens.c, for wire.c: Health's and Stats' token rows. */
struct wire_token_store;
int	wire_health_tokens_encode(const struct p11b_health *h,
	    void *pbhealth, struct wire_token_store **storep);
int	wire_stats_tokens_encode(const struct p11b_stats *st, void *pbstats,
	    struct wire_token_store **storep);
int	wire_health_tokens_decode(const void *pbhealth,
	    struct p11b_health *h);
int	wire_stats_tokens_decode(const void *pbstats, struct p11b_stats *st);
void	wire_token_store_free(struct wire_token_store *st);

/* Is this a valid logical key name? */
/* The length of the DER element at p, 0 if it does not fit in len. */
size_t	wire_der_len(const uint8_t *p, size_t len);
int	wire_key_name_valid(const char *name, size_t len);
const char *wire_strerror(int err);

#endif /* WIRE_H */
