/*
 * libp11broker streams: an HMAC, an HMAC check or a signature over input
 * given in parts (p11broker.h).  The input goes out in frames of
 * STREAM_PART bytes as it comes, so that neither side holds it whole; an
 * input that ends within one part is sent as one ordinary request.  The
 * broker answers once, after the last part, or at once when it refuses
 * (then the parts not yet sent are not sent).
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "p11broker.h"
#include "wire.h"
#include "client.h"

/* Bytes per frame: well within the broker's smallest useful max-frame. */
#define STREAM_PART	(32 * 1024)

struct p11b_stream {
	struct p11b_conn	*conn;
	enum p11b_op		 op;
	char			 key[P11B_KEY_NAME_MAX + 1];
	enum p11b_alg		 alg;
	int			 flags;
	uint8_t			 identity[P11B_IDENTITY_LEN];
	size_t			 identitylen;	/* 0: no check */
	long			 salt;		/* RSA-PSS salt, or -1 */
	struct conn_stream	*cs;		/* NULL until a part is sent */
	int			 rc;		/* the first failure, or 0 */
	int			 answered;	/* the broker said why early */
	size_t			 len;		/* bytes in part */
	uint8_t			 part[STREAM_PART];
};

static int
stream_invalid(const char *why)
{
	conn_set_message(why);
	return P11B_ERR_INVALID;
}

static int
stream_new(struct p11b_conn *conn, enum p11b_op op, const char *key,
    enum p11b_alg alg, int flags, struct p11b_stream **sp)
{
	struct p11b_stream *s;
	size_t len;

	if (sp == NULL)
		return stream_invalid("no stream pointer");
	*sp = NULL;
	if (conn == NULL)
		return stream_invalid("no connection");
	if (key == NULL)
		return stream_invalid("no key name");
	len = strnlen(key, P11B_KEY_NAME_MAX + 1);
	if (!wire_key_name_valid(key, len))
		return stream_invalid("invalid key name");
	if (alg <= P11B_ALG_NONE || alg >= P11B_ALG_COUNT)
		return stream_invalid("invalid algorithm");
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		conn_set_message("out of memory");
		return P11B_ERR_NOMEM;
	}
	s->conn = conn;
	s->op = op;
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->alg = alg;
	s->flags = flags;
	s->salt = -1;
	*sp = s;
	return P11B_OK;
}

int
p11b_hmac_init(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    struct p11b_stream **sp)
{
	return stream_new(conn, P11B_OP_HMAC, key, alg, 0, sp);
}

int
p11b_hmac_verify_init(struct p11b_conn *conn, const char *key,
    enum p11b_alg alg, struct p11b_stream **sp)
{
	return stream_new(conn, P11B_OP_HMAC_VERIFY, key, alg, 0, sp);
}

int
p11b_stream_expect(struct p11b_stream *s, const uint8_t *identity,
    size_t identitylen)
{
	if (s == NULL)
		return stream_invalid("no stream");
	if (s->cs != NULL || s->rc != 0)
		return stream_invalid("the stream has begun");
	if (identitylen == 0) {
		s->identitylen = 0;
		return P11B_OK;
	}
	if (identity == NULL || identitylen != P11B_IDENTITY_LEN)
		return stream_invalid("invalid key identity");
	memcpy(s->identity, identity, P11B_IDENTITY_LEN);
	s->identitylen = P11B_IDENTITY_LEN;
	return P11B_OK;
}

int
p11b_sign_init(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
    int flags, struct p11b_stream **sp)
{
	/* A stream is the message: never a digest. */
	if ((flags & ~P11B_SIGN_RAW) != 0)
		return stream_invalid("invalid sign flags for a stream");
	return stream_new(conn, P11B_OP_SIGN, key, alg, flags, sp);
}

/* The request that opens the stream, or the whole request. */
static void
stream_request(const struct p11b_stream *s, struct wire_request *req,
    const uint8_t *data, size_t len)
{
	memset(req, 0, sizeof(*req));
	req->op = s->op;
	memcpy(req->key, s->key, sizeof(req->key));
	req->alg = s->alg;
	req->flags = s->flags;
	req->data = data;
	req->datalen = len;
	if (s->identitylen > 0) {
		req->identity = s->identity;
		req->identitylen = s->identitylen;
	}
	if (s->salt >= 0) {
		req->salt_set = 1;
		req->salt_len = (uint32_t)s->salt;
	}
}

/* One part out: the first opens the stream. */
static int
stream_send(struct p11b_stream *s, const uint8_t *data, size_t len)
{
	struct wire_request req;
	int r;

	if (s->cs == NULL) {
		stream_request(s, &req, data, len);
		req.stream = WIRE_STREAM_BEGIN;
		r = conn_stream_open(s->conn, &req, &s->cs);
	} else {
		memset(&req, 0, sizeof(req));
		req.stream = WIRE_STREAM_DATA;
		req.data = data;
		req.datalen = len;
		if ((r = conn_stream_send(s->conn, s->cs, &req)) == 1) {
			s->answered = 1;	/* finish() says why */
			r = 0;
		}
	}
	return r;
}

int
p11b_stream_update(struct p11b_stream *s, const uint8_t *in, size_t len)
{
	size_t n;
	int r;

	if (s == NULL || (in == NULL && len != 0))
		return stream_invalid("no stream or no input");
	if (s->rc != 0 || s->answered)
		return s->rc;
	while (len > 0 && !s->answered) {
		/* Whole parts straight from the caller's buffer. */
		if (s->len == 0 && len >= STREAM_PART) {
			n = STREAM_PART;
			r = stream_send(s, in, n);
		} else {
			n = STREAM_PART - s->len < len ? STREAM_PART - s->len :
			    len;
			memcpy(s->part + s->len, in, n);
			s->len += n;
			r = 0;
			if (s->len == STREAM_PART) {
				r = stream_send(s, s->part, s->len);
				explicit_bzero(s->part, s->len);
				s->len = 0;
			}
		}
		if (r != 0)
			return s->rc = r;
		in += n;
		len -= n;
	}
	return 0;
}

void
p11b_stream_abort(struct p11b_stream *s)
{
	struct wire_request req;
	struct wire_response resp;

	if (s == NULL)
		return;
	if (s->cs != NULL) {
		/* The broker answers a cancel; its answer must find us. */
		memset(&req, 0, sizeof(req));
		req.stream = WIRE_STREAM_DATA;
		req.cancel = 1;
		(void)conn_stream_send(s->conn, s->cs, &req);
		if (conn_stream_finish(s->conn, s->cs, &resp) == 0)
			wire_response_free(&resp);
	}
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/*
 * The last part (with the MAC to check) and the answer, checked to be
 * of the stream's kind; the stream is freed.
 */
static int
stream_finish(struct p11b_stream *s, const uint8_t *mac, size_t maclen,
    struct wire_response *resp)
{
	struct wire_request req;
	int r = s->rc;

	memset(resp, 0, sizeof(*resp));
	if (r == 0 && s->cs == NULL) {
		/* It all fits one request. */
		stream_request(s, &req, s->part, s->len);
		req.mac = mac;
		req.maclen = maclen;
		r = conn_call(s->conn, &req, resp);
	} else if (s->cs != NULL) {
		if (r == 0 && !s->answered) {
			memset(&req, 0, sizeof(req));
			req.stream = WIRE_STREAM_DATA;
			req.last = 1;
			req.data = s->part;
			req.datalen = s->len;
			req.mac = mac;
			req.maclen = maclen;
			(void)conn_stream_send(s->conn, s->cs, &req);
		}
		/* Whatever happened, the answer (or the failure) is there. */
		r = conn_stream_finish(s->conn, s->cs, resp);
	}
	explicit_bzero(s, sizeof(*s));
	free(s);
	if (r != 0)
		return r;
	if (resp->status != P11B_OK) {
		conn_set_message(resp->message);
		r = resp->status;
		wire_response_free(resp);
		return r;
	}
	client_note_version(resp);
	return 0;
}

static int
stream_copy(struct wire_response *resp, uint8_t **outp, size_t *lenp)
{
	uint8_t *out;

	if (resp->outlen == 0 || (out = malloc(resp->outlen)) == NULL) {
		wire_response_free(resp);
		conn_set_message(resp->outlen == 0 ? "empty result" :
		    "out of memory");
		return resp->outlen == 0 ? P11B_ERR_PROTOCOL : P11B_ERR_NOMEM;
	}
	memcpy(out, resp->out, resp->outlen);
	*outp = out;
	*lenp = resp->outlen;
	wire_response_free(resp);
	return 0;
}

/* A final for another kind of stream: the stream is aborted. */
static int
stream_wrong_final(struct p11b_stream *s)
{
	p11b_stream_abort(s);
	return stream_invalid("final of another operation");
}

int
p11b_hmac_final(struct p11b_stream *s, uint8_t **macp, size_t *maclenp)
{
	struct wire_response resp;
	int r;

	if (s == NULL || macp == NULL || maclenp == NULL) {
		p11b_stream_abort(s);
		return stream_invalid("no stream or no output pointer");
	}
	*macp = NULL;
	*maclenp = 0;
	if (s->op != P11B_OP_HMAC)
		return stream_wrong_final(s);
	if ((r = stream_finish(s, NULL, 0, &resp)) != 0)
		return r;
	if (resp.op != P11B_OP_HMAC) {
		wire_response_free(&resp);
		conn_set_message("response of the wrong kind");
		return P11B_ERR_PROTOCOL;
	}
	return stream_copy(&resp, macp, maclenp);
}

int
p11b_sign_final(struct p11b_stream *s, uint8_t **sigp, size_t *siglenp)
{
	struct wire_response resp;
	int r;

	if (s == NULL || sigp == NULL || siglenp == NULL) {
		p11b_stream_abort(s);
		return stream_invalid("no stream or no output pointer");
	}
	*sigp = NULL;
	*siglenp = 0;
	if (s->op != P11B_OP_SIGN)
		return stream_wrong_final(s);
	if ((r = stream_finish(s, NULL, 0, &resp)) != 0)
		return r;
	if (resp.op != P11B_OP_SIGN) {
		wire_response_free(&resp);
		conn_set_message("response of the wrong kind");
		return P11B_ERR_PROTOCOL;
	}
	return stream_copy(&resp, sigp, siglenp);
}

int
p11b_hmac_verify_final(struct p11b_stream *s, const uint8_t *mac,
    size_t maclen, int *validp)
{
	struct wire_response resp;
	int r;

	if (s == NULL || validp == NULL || (mac == NULL && maclen != 0)) {
		p11b_stream_abort(s);
		return stream_invalid("no stream, MAC or output pointer");
	}
	*validp = 0;
	if (s->op != P11B_OP_HMAC_VERIFY)
		return stream_wrong_final(s);
	if ((r = stream_finish(s, mac, maclen, &resp)) != 0)
		return r;
	if (resp.op != P11B_OP_HMAC_VERIFY) {
		wire_response_free(&resp);
		conn_set_message("response of the wrong kind");
		return P11B_ERR_PROTOCOL;
	}
	*validp = resp.valid != 0;
	wire_response_free(&resp);
	return 0;
}

/* p11b_sign/p11b_hmac/p11b_hmac_verify over an input past one frame. */
int
stream_whole(struct p11b_conn *conn, enum p11b_op op, const char *key,
    enum p11b_alg alg, int flags, const struct stream_opts *opts,
    const uint8_t *in, size_t inlen, const uint8_t *mac, size_t maclen,
    uint8_t **outp, size_t *outlenp, int *validp)
{
	struct p11b_stream *s;
	int r;

	if ((r = stream_new(conn, op, key, alg, flags, &s)) != 0)
		return r;
	if (opts != NULL && opts->identitylen == P11B_IDENTITY_LEN &&
	    opts->identity != NULL)
		(void)p11b_stream_expect(s, opts->identity, opts->identitylen);
	if (opts != NULL)
		s->salt = opts->salt;
	if ((r = p11b_stream_update(s, in, inlen)) != 0) {
		p11b_stream_abort(s);
		return r;
	}
	switch (op) {
	case P11B_OP_HMAC:
		return p11b_hmac_final(s, outp, outlenp);
	case P11B_OP_HMAC_VERIFY:
		return p11b_hmac_verify_final(s, mac, maclen, validp);
	default:
		return p11b_sign_final(s, outp, outlenp);
	}
}
