/*
 * Framing and conversion between protobuf-c messages and plain structs.
 * Structural checks live here (one op set, key name syntax, enum ranges);
 * whether a request makes sense for a key is the daemon's business.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "p11broker.pb-c.h"
#include "wire.h"

#define PB(x)	P11broker__V1__##x		/* types */
#define PBF(x)	p11broker__v1__##x		/* functions */
#define PBC(x)	P11BROKER__V1__##x		/* constants */

long
wire_frame_len(const uint8_t hdr[WIRE_HDR_LEN], size_t max_frame)
{
	uint32_t len;

	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
	if (len == 0)
		return WIRE_ERR_EMPTY;
	if (len > max_frame)
		return WIRE_ERR_TOO_LARGE;
	return (long)len;
}

void
wire_put_len(uint8_t hdr[WIRE_HDR_LEN], uint32_t len)
{
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
}

int
wire_key_name_valid(const char *name, size_t len)
{
	size_t i;
	char c;

	if (len == 0 || len > P11B_KEY_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

const char *
wire_strerror(int err)
{
	switch (err) {
	case WIRE_ERR_EMPTY:
		return "empty frame";
	case WIRE_ERR_TOO_LARGE:
		return "frame too large";
	case WIRE_ERR_DECODE:
		return "undecodable message";
	case WIRE_ERR_INVALID:
		return "invalid message";
	case WIRE_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown wire error";
}

/*
 * The key name as sent: its bytes and length, so that "ec256\0evil" is
 * refused instead of being read as "ec256".
 */
static int
set_key(struct wire_request *req, ProtobufCBinaryData key)
{
	if (key.len == 0 || key.len > P11B_KEY_NAME_MAX ||
	    !wire_key_name_valid((const char *)key.data, key.len))
		return WIRE_ERR_INVALID;
	memcpy(req->key, key.data, key.len);
	req->key[key.len] = '\0';
	return 0;
}

/* A key version's name: empty, or a valid key name. */
static int
set_version(char out[P11B_KEY_NAME_MAX + 1], const char *v)
{
	size_t len = v == NULL ? 0 : strlen(v);

	if (len > 0 && !wire_key_name_valid(v, len))
		return WIRE_ERR_INVALID;
	if (len > 0)
		memcpy(out, v, len);
	out[len] = '\0';
	return 0;
}

static int
set_alg(struct wire_request *req, int alg)
{
	if (alg <= 0 || alg >= P11B_ALG_COUNT)
		return WIRE_ERR_INVALID;
	req->alg = (enum p11b_alg)alg;
	return 0;
}

/* An expected identity: none, or exactly P11B_IDENTITY_LEN bytes. */
static int
set_identity(struct wire_request *req, ProtobufCBinaryData id)
{
	if (id.len != 0 && id.len != P11B_IDENTITY_LEN)
		return WIRE_ERR_INVALID;
	req->identity = id.len > 0 ? id.data : NULL;
	req->identitylen = id.len;
	return 0;
}

/* A request that opens a stream (more), or a whole one. */
static void
set_stream(struct wire_request *req, protobuf_c_boolean more,
    uint64_t total_length)
{
	req->stream = more ? WIRE_STREAM_BEGIN : WIRE_STREAM_NONE;
	req->total_length = more ? total_length : 0;
}

/* The label is the key's name; a type the broker can make; an id or none. */
static int
set_generate(struct wire_request *req, const PB(GenerateKeyRequest) *g)
{
	if (set_key(req, g->label) != 0 || g->id.len > P11B_ID_MAX)
		return WIRE_ERR_INVALID;
	switch (g->type) {
	case PBC(KEY_TYPE__EC_P256):
	case PBC(KEY_TYPE__EC_P384):
	case PBC(KEY_TYPE__RSA):
	case PBC(KEY_TYPE__EC_ED25519):
	case PBC(KEY_TYPE__SECRET):
		break;
	default:
		return WIRE_ERR_INVALID;
	}
	req->gen_type = (enum p11b_key_type)g->type;
	req->gen_bits = g->bits;
	req->gen_id = g->id.len > 0 ? g->id.data : NULL;
	req->gen_idlen = g->id.len;
	return 0;
}

int
wire_request_decode(const uint8_t *body, size_t len, struct wire_request *req)
{
	PB(Request) *m;
	int r = WIRE_ERR_INVALID;

	memset(req, 0, sizeof(*req));
	if ((m = PBF(request__unpack)(NULL, len, body)) == NULL)
		return WIRE_ERR_DECODE;
	req->msg = m;
	req->id = m->id;
	switch (m->op_case) {
	case PBC(REQUEST__OP_SIGN):
		req->op = P11B_OP_SIGN;
		if (set_key(req, m->sign->key) != 0 ||
		    set_alg(req, m->sign->algorithm) != 0)
			goto out;
		if (m->sign->format == PBC(SIGNATURE_FORMAT__RAW))
			req->flags |= P11B_SIGN_RAW;
		else if (m->sign->format != PBC(SIGNATURE_FORMAT__DER))
			goto out;
		if (m->sign->is_digest)
			req->flags |= P11B_SIGN_DIGEST;
		req->salt_set = m->sign->salt_length_set;
		req->salt_len = m->sign->salt_length;
		if (!req->salt_set && req->salt_len != 0)
			goto out;
		req->data = m->sign->data.data;
		req->datalen = m->sign->data.len;
		if (set_identity(req, m->sign->identity) != 0)
			goto out;
		set_stream(req, m->sign->more, m->sign->total_length);
		break;
	case PBC(REQUEST__OP_HMAC):
		req->op = P11B_OP_HMAC;
		if (set_key(req, m->hmac->key) != 0 ||
		    set_alg(req, m->hmac->algorithm) != 0)
			goto out;
		req->data = m->hmac->data.data;
		req->datalen = m->hmac->data.len;
		if (set_identity(req, m->hmac->identity) != 0)
			goto out;
		set_stream(req, m->hmac->more, m->hmac->total_length);
		break;
	case PBC(REQUEST__OP_HMAC_VERIFY):
		req->op = P11B_OP_HMAC_VERIFY;
		if (set_key(req, m->hmac_verify->key) != 0 ||
		    set_alg(req, m->hmac_verify->algorithm) != 0)
			goto out;
		req->data = m->hmac_verify->data.data;
		req->datalen = m->hmac_verify->data.len;
		req->mac = m->hmac_verify->mac.data;
		req->maclen = m->hmac_verify->mac.len;
		if (set_identity(req, m->hmac_verify->identity) != 0)
			goto out;
		set_stream(req, m->hmac_verify->more,
		    m->hmac_verify->total_length);
		break;
	case PBC(REQUEST__OP_GET_SECRET):
		req->op = P11B_OP_SECRET;
		if (set_key(req, m->get_secret->key) != 0 ||
		    set_identity(req, m->get_secret->identity) != 0)
			goto out;
		break;
	case PBC(REQUEST__OP_GET_PUBLIC_KEY):
		req->op = P11B_OP_PUBKEY;
		if (set_key(req, m->get_public_key->key) != 0 ||
		    set_version(req->version, m->get_public_key->version) != 0)
			goto out;
		break;
	case PBC(REQUEST__OP_RANDOM):
		req->op = P11B_OP_RANDOM;
		req->random_len = m->random->length;
		break;
	case PBC(REQUEST__OP_LIST_KEYS):
		req->op = P11B_OP_LIST;
		break;
	case PBC(REQUEST__OP_HEALTH):
		req->op = P11B_OP_HEALTH;
		break;
	case PBC(REQUEST__OP_STATS):
		req->op = P11B_OP_STATS;
		break;
	case PBC(REQUEST__OP_STREAM_DATA):
		req->stream = WIRE_STREAM_DATA;
		req->data = m->stream_data->data.data;
		req->datalen = m->stream_data->data.len;
		req->mac = m->stream_data->mac.data;
		req->maclen = m->stream_data->mac.len;
		req->last = m->stream_data->last;
		req->cancel = m->stream_data->cancel;
		/* A MAC only with the last part; a cancel carries nothing. */
		if ((req->maclen > 0 && !req->last) || (req->cancel &&
		    (req->datalen > 0 || req->maclen > 0 || req->last)))
			goto out;
		break;
	case PBC(REQUEST__OP_BATCH):
		if (set_key(req, m->batch->key) != 0 ||
		    set_alg(req, m->batch->algorithm) != 0 ||
		    set_identity(req, m->batch->identity) != 0 ||
		    (r = wire_batch_request_decode(m->batch, req)) != 0)
			goto out;
		break;
	case PBC(REQUEST__OP_GENERATE_KEY):
		req->op = P11B_OP_GENERATE;
		if (set_generate(req, m->generate_key) != 0)
			goto out;
		break;
	case PBC(REQUEST__OP__NOT_SET):
	case _P11BROKER__V1__REQUEST__OP__CASE_IS_INT_SIZE:
		goto out;
	}
	r = 0;
 out:
	return r;
}

void
wire_request_free(struct wire_request *req)
{
	wire_batch_free(req->batch);
	if (req->msg != NULL)
		PBF(request__free_unpacked)(req->msg, NULL);
	memset(req, 0, sizeof(*req));
}

static int
pack_frame(const ProtobufCMessage *m, uint8_t **framep, size_t *lenp)
{
	size_t len;
	uint8_t *frame;

	len = protobuf_c_message_get_packed_size(m);
	if (len > UINT32_MAX)
		return WIRE_ERR_TOO_LARGE;
	if ((frame = malloc(WIRE_HDR_LEN + len)) == NULL)
		return WIRE_ERR_NOMEM;
	wire_put_len(frame, (uint32_t)len);
	if (protobuf_c_message_pack(m, frame + WIRE_HDR_LEN) != len) {
		free(frame);
		return WIRE_ERR_INVALID;
	}
	*framep = frame;
	*lenp = WIRE_HDR_LEN + len;
	return 0;
}

static ProtobufCBinaryData
bin(const uint8_t *p, size_t len)
{
	ProtobufCBinaryData b;

	b.data = (uint8_t *)p;
	b.len = len;
	return b;
}

int
wire_request_encode(const struct wire_request *req, uint8_t **framep,
    size_t *lenp)
{
	PB(Request) m = PBC(REQUEST__INIT);
	PB(SignRequest) sign = PBC(SIGN_REQUEST__INIT);
	PB(HmacRequest) hmac = PBC(HMAC_REQUEST__INIT);
	PB(HmacVerifyRequest) hv = PBC(HMAC_VERIFY_REQUEST__INIT);
	PB(GetSecretRequest) sec = PBC(GET_SECRET_REQUEST__INIT);
	PB(GetPublicKeyRequest) pub = PBC(GET_PUBLIC_KEY_REQUEST__INIT);
	PB(RandomRequest) rnd = PBC(RANDOM_REQUEST__INIT);
	PB(ListKeysRequest) list = PBC(LIST_KEYS_REQUEST__INIT);
	PB(HealthRequest) health = PBC(HEALTH_REQUEST__INIT);
	PB(StatsRequest) stats = PBC(STATS_REQUEST__INIT);
	PB(StreamData) sd = PBC(STREAM_DATA__INIT);
	PB(GenerateKeyRequest) gen = PBC(GENERATE_KEY_REQUEST__INIT);
	protobuf_c_boolean more = req->stream == WIRE_STREAM_BEGIN;
	uint64_t total = more ? req->total_length : 0;
	ProtobufCBinaryData key = bin((const uint8_t *)req->key,
	    strlen(req->key));

	m.id = req->id;
	if (req->batch != NULL) {
		struct wire_batch_store *st;
		int r;

		if ((r = wire_batch_request_encode(req, &m, &st)) == 0)
			r = pack_frame(&m.base, framep, lenp);
		wire_batch_store_free(st);
		return r;
	}
	if (req->stream == WIRE_STREAM_DATA) {
		sd.data = bin(req->data, req->datalen);
		sd.mac = bin(req->mac, req->maclen);
		sd.last = req->last != 0;
		sd.cancel = req->cancel != 0;
		m.op_case = PBC(REQUEST__OP_STREAM_DATA);
		m.stream_data = &sd;
		return pack_frame(&m.base, framep, lenp);
	}
	switch (req->op) {
	case P11B_OP_SIGN:
		sign.key = key;
		sign.algorithm = (PB(Algorithm))req->alg;
		sign.data = bin(req->data, req->datalen);
		sign.is_digest = (req->flags & P11B_SIGN_DIGEST) != 0;
		sign.format = (req->flags & P11B_SIGN_RAW) ?
		    PBC(SIGNATURE_FORMAT__RAW) : PBC(SIGNATURE_FORMAT__DER);
		sign.salt_length_set = req->salt_set != 0;
		sign.salt_length = req->salt_set ? req->salt_len : 0;
		sign.identity = bin(req->identity, req->identitylen);
		sign.more = more;
		sign.total_length = total;
		m.op_case = PBC(REQUEST__OP_SIGN);
		m.sign = &sign;
		break;
	case P11B_OP_HMAC:
		hmac.key = key;
		hmac.algorithm = (PB(Algorithm))req->alg;
		hmac.data = bin(req->data, req->datalen);
		hmac.identity = bin(req->identity, req->identitylen);
		hmac.more = more;
		hmac.total_length = total;
		m.op_case = PBC(REQUEST__OP_HMAC);
		m.hmac = &hmac;
		break;
	case P11B_OP_HMAC_VERIFY:
		hv.key = key;
		hv.algorithm = (PB(Algorithm))req->alg;
		hv.data = bin(req->data, req->datalen);
		hv.mac = bin(req->mac, req->maclen);
		hv.identity = bin(req->identity, req->identitylen);
		hv.more = more;
		hv.total_length = total;
		m.op_case = PBC(REQUEST__OP_HMAC_VERIFY);
		m.hmac_verify = &hv;
		break;
	case P11B_OP_SECRET:
		sec.key = key;
		sec.identity = bin(req->identity, req->identitylen);
		m.op_case = PBC(REQUEST__OP_GET_SECRET);
		m.get_secret = &sec;
		break;
	case P11B_OP_PUBKEY:
		pub.key = key;
		pub.version = (char *)req->version;
		m.op_case = PBC(REQUEST__OP_GET_PUBLIC_KEY);
		m.get_public_key = &pub;
		break;
	case P11B_OP_RANDOM:
		rnd.length = req->random_len;
		m.op_case = PBC(REQUEST__OP_RANDOM);
		m.random = &rnd;
		break;
	case P11B_OP_LIST:
		m.op_case = PBC(REQUEST__OP_LIST_KEYS);
		m.list_keys = &list;
		break;
	case P11B_OP_HEALTH:
		m.op_case = PBC(REQUEST__OP_HEALTH);
		m.health = &health;
		break;
	case P11B_OP_STATS:
		m.op_case = PBC(REQUEST__OP_STATS);
		m.stats = &stats;
		break;
	case P11B_OP_GENERATE:
		gen.label = key;
		gen.type = (PB(KeyType))req->gen_type;
		gen.bits = req->gen_bits;
		gen.id = bin(req->gen_id, req->gen_idlen);
		m.op_case = PBC(REQUEST__OP_GENERATE_KEY);
		m.generate_key = &gen;
		break;
	case P11B_OP_NONE:
		return WIRE_ERR_INVALID;
	}
	return pack_frame(&m.base, framep, lenp);
}

/* Operations and algorithms as bit masks <-> repeated enums. */
static size_t
mask_to_enums(uint32_t mask, int count, int *out)
{
	size_t n = 0;
	int i;

	for (i = 1; i < count; i++)
		if (mask & (1U << i))
			out[n++] = i;
	return n;
}

static uint32_t
enums_to_mask(const int *in, size_t n, int count)
{
	uint32_t mask = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (in[i] > 0 && in[i] < count)
			mask |= 1U << in[i];
	return mask;
}

struct keyinfo_storage {
	PB(KeyInfo)	 info;
	int		 ops[P11B_OP_COUNT];
	int		 algs[P11B_ALG_COUNT];
};

static int
encode_keys(const struct wire_response *resp, PB(ListKeysResponse) *list,
    struct keyinfo_storage **storep, PB(KeyInfo) ***ptrsp)
{
	struct keyinfo_storage *store;
	PB(KeyInfo) **ptrs;
	size_t i;

	*storep = NULL;
	*ptrsp = NULL;
	if (resp->nkeys == 0)
		return 0;
	store = calloc(resp->nkeys, sizeof(*store));
	ptrs = calloc(resp->nkeys, sizeof(*ptrs));
	if (store == NULL || ptrs == NULL) {
		free(store);
		free(ptrs);
		return WIRE_ERR_NOMEM;
	}
	for (i = 0; i < resp->nkeys; i++) {
		PB(KeyInfo) *ki = &store[i].info;

		PBF(key_info__init)(ki);
		ki->name = (char *)resp->keys[i].name;
		ki->type = (PB(KeyType))resp->keys[i].type;
		ki->bits = resp->keys[i].bits;
		ki->n_operations = mask_to_enums(resp->keys[i].ops,
		    P11B_OP_COUNT, store[i].ops);
		ki->operations = (PB(Operation) *)store[i].ops;
		ki->n_algorithms = mask_to_enums(resp->keys[i].algs,
		    P11B_ALG_COUNT, store[i].algs);
		ki->algorithms = (PB(Algorithm) *)store[i].algs;
		ki->id = bin(resp->keys[i].id, resp->keys[i].idlen);
		ki->label = bin((const uint8_t *)resp->keys[i].label,
		    strlen(resp->keys[i].label));
		ki->local = resp->keys[i].local != 0;
		ki->identity = bin(resp->keys[i].identity,
		    resp->keys[i].identitylen);
		if (resp->key_versions != NULL) {
			ki->version = (char *)resp->key_versions[i].version;
			ki->previous = resp->key_versions[i].previous != 0;
		}
		ptrs[i] = ki;
	}
	list->n_keys = resp->nkeys;
	list->keys = ptrs;
	*storep = store;
	*ptrsp = ptrs;
	return 0;
}

/* The monitor's sandbox kills: at most P11B_SANDBOX_KILLS_MAX, held by the caller. */
static void
encode_kills(const struct p11b_stats *st, PB(StatsResponse) *m,
    PB(SignerSandboxKill) *kills, PB(SignerSandboxKill) **kptrs)
{
	size_t i;

	for (i = 0; i < st->nsandbox_kills && i < P11B_SANDBOX_KILLS_MAX;
	    i++) {
		PBF(signer_sandbox_kill__init)(&kills[i]);
		kills[i].syscall = (char *)st->sandbox_kills[i].syscall;
		kills[i].count = st->sandbox_kills[i].count;
		kptrs[i] = &kills[i];
	}
	m->n_sandbox_kills = i;
	m->sandbox_kills = kptrs;
	m->signer_starts = st->signer_starts;
	m->signer_restarts = st->signer_restarts;
	m->login_failures = st->login_failures;
}

/* The signer slots: at most P11B_SIGNERS_MAX, held by the caller. */
static void
encode_slots(const struct p11b_stats *st, PB(StatsResponse) *m,
    PB(SignerSlot) *slots, PB(SignerSlot) **sptrs)
{
	const struct p11b_signer_slot *ss;
	size_t i;

	for (i = 0; i < st->nsigner_slots && i < P11B_SIGNERS_MAX; i++) {
		ss = &st->signer_slots[i];
		PBF(signer_slot__init)(&slots[i]);
		slots[i].slot = ss->slot;
		slots[i].up = ss->up != 0;
		slots[i].looping = ss->looping != 0;
		slots[i].starts = ss->starts;
		slots[i].restarts = ss->restarts;
		slots[i].busy = ss->busy;
		slots[i].token = ss->token;
		sptrs[i] = &slots[i];
	}
	m->n_signer_slots = i;
	m->signer_slots = sptrs;
	m->signers = st->signers;
	m->signers_up = st->signers_up;
}

static int
decode_slots(const PB(StatsResponse) *m, struct p11b_stats *st)
{
	struct p11b_signer_slot *ss;
	size_t i;

	if (m->n_signer_slots > P11B_SIGNERS_MAX)
		return WIRE_ERR_INVALID;
	for (i = 0; i < m->n_signer_slots; i++) {
		ss = &st->signer_slots[i];
		ss->slot = m->signer_slots[i]->slot;
		ss->up = m->signer_slots[i]->up;
		ss->looping = m->signer_slots[i]->looping;
		ss->starts = m->signer_slots[i]->starts;
		ss->restarts = m->signer_slots[i]->restarts;
		ss->busy = m->signer_slots[i]->busy;
		ss->token = m->signer_slots[i]->token;
	}
	st->nsigner_slots = m->n_signer_slots;
	st->signers = m->signers;
	st->signers_up = m->signers_up;
	return 0;
}

/* A syscall label as a client takes it: [a-z0-9_], 1 to 31 characters. */
static int
syscall_label_valid(const char *s)
{
	size_t len = s == NULL ? 0 : strlen(s);

	if (len == 0 || len > P11B_SYSCALL_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	return 1;
}

static int
decode_kills(const PB(StatsResponse) *m, struct p11b_stats *st)
{
	size_t i;

	if (m->n_sandbox_kills > P11B_SANDBOX_KILLS_MAX)
		return WIRE_ERR_INVALID;
	for (i = 0; i < m->n_sandbox_kills; i++) {
		if (!syscall_label_valid(m->sandbox_kills[i]->syscall))
			return WIRE_ERR_INVALID;
		strlcpy(st->sandbox_kills[i].syscall,
		    m->sandbox_kills[i]->syscall,
		    sizeof(st->sandbox_kills[i].syscall));
		st->sandbox_kills[i].count = m->sandbox_kills[i]->count;
	}
	st->nsandbox_kills = m->n_sandbox_kills;
	st->signer_starts = m->signer_starts;
	st->signer_restarts = m->signer_restarts;
	st->login_failures = m->login_failures;
	return 0;
}

/* What an encoded Stats answer points into, freed after packing. */
struct stats_store {
	PB(RequestCount)	 *counts, **cptrs;
	PB(CallerCount)		 *callers, **kptrs;
};

static void
stats_store_free(struct stats_store *ss)
{
	free(ss->counts);
	free(ss->cptrs);
	free(ss->callers);
	free(ss->kptrs);
}

static int
encode_callers(const struct p11b_stats *st, PB(StatsResponse) *m,
    struct stats_store *ss)
{
	size_t i;

	if (st->ncallers == 0)
		return 0;
	if ((ss->callers = calloc(st->ncallers, sizeof(*ss->callers))) ==
	    NULL || (ss->kptrs = calloc(st->ncallers, sizeof(*ss->kptrs))) ==
	    NULL)
		return WIRE_ERR_NOMEM;
	for (i = 0; i < st->ncallers; i++) {
		PBF(caller_count__init)(&ss->callers[i]);
		ss->callers[i].uid = st->callers[i].uid;
		ss->callers[i].kind = (PB(CallerKind))st->callers[i].kind;
		ss->callers[i].ok = st->callers[i].ok;
		ss->callers[i].refused = st->callers[i].refused;
		ss->callers[i].failed = st->callers[i].failed;
		ss->kptrs[i] = &ss->callers[i];
	}
	m->n_callers = st->ncallers;
	m->callers = ss->kptrs;
	return 0;
}

static int
encode_stats(const struct p11b_stats *st, PB(StatsResponse) *m,
    struct stats_store *ss)
{
	PB(RequestCount) *counts = NULL, **ptrs = NULL;
	size_t i;

	if (st->nbuckets > P11B_LATENCY_BUCKETS)
		return WIRE_ERR_INVALID;
	if (st->nrequests > 0 &&
	    ((counts = calloc(st->nrequests, sizeof(*counts))) == NULL ||
	    (ptrs = calloc(st->nrequests, sizeof(*ptrs))) == NULL)) {
		free(counts);
		return WIRE_ERR_NOMEM;
	}
	for (i = 0; i < st->nrequests; i++) {
		PBF(request_count__init)(&counts[i]);
		counts[i].operation = (PB(Operation))st->requests[i].op;
		counts[i].key = (char *)st->requests[i].key;
		counts[i].status = (PB(Status))(st->requests[i].status + 1);
		counts[i].count = st->requests[i].count;
		ptrs[i] = &counts[i];
	}
	m->n_requests = st->nrequests;
	m->requests = ptrs;
	m->n_latency_bucket_us = st->nbuckets;
	m->latency_bucket_us = (uint64_t *)st->bucket_us;
	m->n_latency_count = st->nbuckets + 1;
	m->latency_count = (uint64_t *)st->bucket_count;
	m->latency_sum_us = st->latency_sum_us;
	m->token_state = st->token_ready ? PBC(TOKEN_STATE__READY) :
	    PBC(TOKEN_STATE__UNAVAILABLE);
	m->workers = st->workers;
	m->workers_busy = st->workers_busy;
	m->connections = st->connections;
	m->audit_lines = st->audit_lines;
	m->policy_generation = st->policy_generation;
	m->uptime_seconds = st->uptime_seconds;
	m->policy_refusals = st->policy_refusals;
	m->missing_key_refusals = st->missing_key_refusals;
	m->audit_write_failures = st->audit_write_failures;
	m->audit_copies_dropped = st->audit_copies_dropped;
	m->audit_checkpoint_time = st->audit_checkpoint_time;
	ss->counts = counts;
	ss->cptrs = ptrs;
	return encode_callers(st, m, ss);
}

static int
decode_stats(const PB(StatsResponse) *m, struct wire_response *resp)
{
	struct p11b_stats *st = &resp->stats;
	size_t i, len;

	if (m->n_latency_bucket_us > P11B_LATENCY_BUCKETS ||
	    m->n_latency_count != m->n_latency_bucket_us + 1)
		return WIRE_ERR_INVALID;
	st->nbuckets = m->n_latency_bucket_us;
	if (st->nbuckets > 0)	/* no buckets: the array may be NULL */
		memcpy(st->bucket_us, m->latency_bucket_us,
		    st->nbuckets * sizeof(uint64_t));
	memcpy(st->bucket_count, m->latency_count,
	    (st->nbuckets + 1) * sizeof(uint64_t));
	if (m->n_requests > 0 && (st->requests = calloc(m->n_requests,
	    sizeof(*st->requests))) == NULL)
		return WIRE_ERR_NOMEM;
	st->nrequests = m->n_requests;
	for (i = 0; i < m->n_requests; i++) {
		const PB(RequestCount) *rc = m->requests[i];

		len = rc->key == NULL ? 0 : strlen(rc->key);
		if ((len > 0 && !wire_key_name_valid(rc->key, len)) ||
		    rc->operation < 0 || rc->operation >= P11B_OP_COUNT ||
		    rc->status <= 0 || rc->status > P11B_STATUS_COUNT)
			return WIRE_ERR_INVALID;
		st->requests[i].op = (enum p11b_op)rc->operation;
		memcpy(st->requests[i].key, rc->key != NULL ? rc->key : "",
		    len + 1);
		st->requests[i].status = (int)rc->status - 1;
		st->requests[i].count = rc->count;
	}
	st->latency_sum_us = m->latency_sum_us;
	st->token_ready = m->token_state == PBC(TOKEN_STATE__READY);
	st->workers = m->workers;
	st->workers_busy = m->workers_busy;
	st->connections = m->connections;
	st->audit_lines = m->audit_lines;
	st->policy_generation = m->policy_generation;
	st->uptime_seconds = m->uptime_seconds;
	st->policy_refusals = m->policy_refusals;
	st->missing_key_refusals = m->missing_key_refusals;
	st->audit_write_failures = m->audit_write_failures;
	st->audit_copies_dropped = m->audit_copies_dropped;
	st->audit_checkpoint_time = m->audit_checkpoint_time;
	if (m->n_callers > P11B_CALLERS_MAX + 2)
		return WIRE_ERR_INVALID;
	if (m->n_callers > 0 && (st->callers = calloc(m->n_callers,
	    sizeof(*st->callers))) == NULL)
		return WIRE_ERR_NOMEM;
	st->ncallers = m->n_callers;
	for (i = 0; i < m->n_callers; i++) {
		const PB(CallerCount) *cc = m->callers[i];

		if (cc->kind < 0 || cc->kind > PBC(CALLER_KIND__CALLER_OTHER))
			return WIRE_ERR_INVALID;
		st->callers[i].uid = cc->uid;
		st->callers[i].kind = (int)cc->kind;
		st->callers[i].ok = cc->ok;
		st->callers[i].refused = cc->refused;
		st->callers[i].failed = cc->failed;
	}
	if (decode_slots(m, st) != 0 || wire_stats_tokens_decode(m, st) != 0)
		return WIRE_ERR_INVALID;
	return decode_kills(m, st);
}

/*
 * The length of the DER element at p (tag, definite length, contents),
 * or 0 when it does not fit in len.
 */
size_t
wire_der_len(const uint8_t *p, size_t len)
{
	size_t n, hdr, i;

	if (len < 2)
		return 0;
	if (p[1] < 0x80) {
		hdr = 2;
		n = p[1];
	} else {
		hdr = 2 + (p[1] & 0x7f);
		if ((p[1] & 0x7f) == 0 || (p[1] & 0x7f) > 4 || hdr > len)
			return 0;
		for (n = 0, i = 2; i < hdr; i++)
			n = n << 8 | p[i];
	}
	return n > len - hdr ? 0 : hdr + n;
}

/* The chain (concatenated DER) as repeated bytes, one per certificate. */
static int
encode_chain(const struct wire_response *resp,
    PB(GetPublicKeyResponse) *pub, ProtobufCBinaryData **chainp)
{
	ProtobufCBinaryData *chain;
	size_t off, n, count = 0;

	*chainp = NULL;
	for (off = 0; off < resp->chainlen; off += n, count++)
		if ((n = wire_der_len(resp->chain + off,
		    resp->chainlen - off)) == 0)
			return WIRE_ERR_INVALID;
	if (count == 0)
		return 0;
	if ((chain = calloc(count, sizeof(*chain))) == NULL)
		return WIRE_ERR_NOMEM;
	for (off = 0, count = 0; off < resp->chainlen; off += n, count++) {
		n = wire_der_len(resp->chain + off, resp->chainlen - off);
		chain[count] = bin(resp->chain + off, n);
	}
	pub->n_chain = count;
	pub->chain = chain;
	*chainp = chain;
	return 0;
}

int
wire_response_encode(const struct wire_response *resp, uint8_t **framep,
    size_t *lenp)
{
	PB(Response) m = PBC(RESPONSE__INIT);
	PB(SignResponse) sign = PBC(SIGN_RESPONSE__INIT);
	PB(HmacResponse) hmac = PBC(HMAC_RESPONSE__INIT);
	PB(HmacVerifyResponse) hv = PBC(HMAC_VERIFY_RESPONSE__INIT);
	PB(GetSecretResponse) sec = PBC(GET_SECRET_RESPONSE__INIT);
	PB(GetPublicKeyResponse) pub = PBC(GET_PUBLIC_KEY_RESPONSE__INIT);
	PB(RandomResponse) rnd = PBC(RANDOM_RESPONSE__INIT);
	PB(ListKeysResponse) list = PBC(LIST_KEYS_RESPONSE__INIT);
	PB(HealthResponse) health = PBC(HEALTH_RESPONSE__INIT);
	PB(StatsResponse) stats = PBC(STATS_RESPONSE__INIT);
	PB(GenerateKeyResponse) gen = PBC(GENERATE_KEY_RESPONSE__INIT);
	struct keyinfo_storage *store = NULL;
	PB(KeyInfo) **ptrs = NULL;
	struct stats_store ss = { NULL, NULL, NULL, NULL };
	PB(SignerSandboxKill) kills[P11B_SANDBOX_KILLS_MAX];
	PB(SignerSandboxKill) *kptrs[P11B_SANDBOX_KILLS_MAX];
	PB(SignerSlot) slots[P11B_SIGNERS_MAX];
	PB(SignerSlot) *sptrs[P11B_SIGNERS_MAX];
	ProtobufCBinaryData *chain = NULL;
	struct wire_batch_store *bst = NULL;
	struct wire_token_store *tst = NULL;
	int r;

	if (resp->status < 0 || resp->status >= P11B_STATUS_COUNT)
		return WIRE_ERR_INVALID;
	m.id = resp->id;
	m.status = (PB(Status))(resp->status + 1);
	m.message = (char *)(resp->message != NULL ? resp->message : "");
	if (resp->status == P11B_OK && resp->batch != NULL &&
	    (r = wire_batch_response_encode(resp->batch, &m, &bst)) != 0) {
		wire_batch_store_free(bst);
		return r;
	}
	switch (resp->status == P11B_OK && resp->batch == NULL ? resp->op :
	    P11B_OP_NONE) {
	case P11B_OP_SIGN:
		sign.signature = bin(resp->out, resp->outlen);
		sign.version = (char *)resp->version;
		m.result_case = PBC(RESPONSE__RESULT_SIGN);
		m.sign = &sign;
		break;
	case P11B_OP_HMAC:
		hmac.mac = bin(resp->out, resp->outlen);
		hmac.version = (char *)resp->version;
		m.result_case = PBC(RESPONSE__RESULT_HMAC);
		m.hmac = &hmac;
		break;
	case P11B_OP_HMAC_VERIFY:
		hv.valid = resp->valid != 0;
		hv.version = (char *)resp->version;
		hv.previous = resp->previous != 0;
		m.result_case = PBC(RESPONSE__RESULT_HMAC_VERIFY);
		m.hmac_verify = &hv;
		break;
	case P11B_OP_SECRET:
		sec.secret = bin(resp->out, resp->outlen);
		m.result_case = PBC(RESPONSE__RESULT_GET_SECRET);
		m.get_secret = &sec;
		break;
	case P11B_OP_PUBKEY:
		pub.spki = bin(resp->out, resp->outlen);
		pub.certificate = bin(resp->cert, resp->certlen);
		pub.identity = bin(resp->identity, resp->identitylen);
		pub.version = (char *)resp->version;
		if ((r = encode_chain(resp, &pub, &chain)) != 0)
			return r;
		m.result_case = PBC(RESPONSE__RESULT_GET_PUBLIC_KEY);
		m.get_public_key = &pub;
		break;
	case P11B_OP_RANDOM:
		rnd.data = bin(resp->out, resp->outlen);
		m.result_case = PBC(RESPONSE__RESULT_RANDOM);
		m.random = &rnd;
		break;
	case P11B_OP_LIST:
		if ((r = encode_keys(resp, &list, &store, &ptrs)) != 0)
			return r;
		m.result_case = PBC(RESPONSE__RESULT_LIST_KEYS);
		m.list_keys = &list;
		break;
	case P11B_OP_HEALTH:
		health.version = (char *)resp->health.version;
		health.token_state = resp->health.token_ready ?
		    PBC(TOKEN_STATE__READY) : PBC(TOKEN_STATE__UNAVAILABLE);
		health.uptime_seconds = resp->health.uptime_seconds;
		health.workers = resp->health.workers;
		health.signers = resp->health.signers;
		health.signers_up = resp->health.signers_up;
		if ((r = wire_health_tokens_encode(&resp->health, &health,
		    &tst)) != 0)
			goto out;
		m.result_case = PBC(RESPONSE__RESULT_HEALTH);
		m.health = &health;
		break;
	case P11B_OP_STATS:
		if ((r = encode_stats(&resp->stats, &stats, &ss)) != 0) {
			stats_store_free(&ss);
			return r;
		}
		encode_kills(&resp->stats, &stats, kills, kptrs);
		encode_slots(&resp->stats, &stats, slots, sptrs);
		if ((r = wire_stats_tokens_encode(&resp->stats, &stats,
		    &tst)) != 0)
			goto out;
		m.result_case = PBC(RESPONSE__RESULT_STATS);
		m.stats = &stats;
		break;
	case P11B_OP_GENERATE:
		if (resp->nkeys != 1)
			return WIRE_ERR_INVALID;
		if ((r = encode_keys(resp, &list, &store, &ptrs)) != 0)
			return r;
		gen.key = ptrs[0];
		gen.spki = bin(resp->out, resp->outlen);
		m.result_case = PBC(RESPONSE__RESULT_GENERATE_KEY);
		m.generate_key = &gen;
		break;
	case P11B_OP_NONE:
		break;
	}
	r = pack_frame(&m.base, framep, lenp);
 out:
	free(store);
	free(ptrs);
	stats_store_free(&ss);
	free(chain);
	wire_batch_store_free(bst);
	wire_token_store_free(tst);
	return r;
}

static int
copy_bin(const ProtobufCBinaryData *b, struct wire_response *resp)
{
	resp->out = b->data;
	resp->outlen = b->len;
	return 0;
}

/* The token object's attributes; a label is text without NUL. */
static int
decode_key_object(const PB(KeyInfo) *ki, struct p11b_key_info *key)
{
	if (ki->id.len > P11B_ID_MAX || ki->label.len > P11B_LABEL_MAX ||
	    (ki->label.len > 0 &&
	    memchr(ki->label.data, '\0', ki->label.len) != NULL) ||
	    (ki->identity.len != 0 && ki->identity.len != P11B_IDENTITY_LEN))
		return WIRE_ERR_INVALID;
	if (ki->id.len > 0)
		memcpy(key->id, ki->id.data, ki->id.len);
	key->idlen = ki->id.len;
	if (ki->label.len > 0)
		memcpy(key->label, ki->label.data, ki->label.len);
	key->label[ki->label.len] = '\0';
	key->local = ki->local;
	if (ki->identity.len > 0)
		memcpy(key->identity, ki->identity.data, ki->identity.len);
	key->identitylen = ki->identity.len;
	return 0;
}

static int
decode_keys(PB(KeyInfo) *const *list, size_t nlist,
    struct wire_response *resp)
{
	struct p11b_key_info *keys;
	struct wire_key_version *kv;
	size_t i, len;
	int r;

	if (nlist == 0)
		return 0;
	if ((keys = calloc(nlist, sizeof(*keys))) == NULL)
		return WIRE_ERR_NOMEM;
	resp->keys_owned = keys;
	if ((kv = calloc(nlist, sizeof(*kv))) == NULL)
		return WIRE_ERR_NOMEM;
	resp->key_versions_owned = kv;
	resp->key_versions = kv;
	resp->keys = keys;
	resp->nkeys = nlist;
	for (i = 0; i < nlist; i++) {
		const PB(KeyInfo) *ki = list[i];

		len = ki->name == NULL ? 0 : strlen(ki->name);
		if (!wire_key_name_valid(ki->name, len))
			return WIRE_ERR_INVALID;
		memcpy(keys[i].name, ki->name, len + 1);
		if (ki->type <= 0 || ki->type >= P11B_KEY_TYPE_COUNT)
			return WIRE_ERR_INVALID;
		keys[i].type = (enum p11b_key_type)ki->type;
		keys[i].bits = ki->bits;
		keys[i].ops = enums_to_mask((const int *)ki->operations,
		    ki->n_operations, P11B_OP_COUNT);
		keys[i].algs = enums_to_mask((const int *)ki->algorithms,
		    ki->n_algorithms, P11B_ALG_COUNT);
		if ((r = decode_key_object(ki, &keys[i])) != 0)
			return r;
		if (set_version(kv[i].version, ki->version) != 0)
			return WIRE_ERR_INVALID;
		kv[i].previous = ki->previous;
	}
	return 0;
}

/* Identity and chain; each chain entry one whole DER element. */
static int
decode_pubkey(const PB(GetPublicKeyResponse) *pub,
    struct wire_response *resp)
{
	uint8_t *chain;
	size_t i, len = 0;

	if (pub->identity.len != 0 && pub->identity.len != P11B_IDENTITY_LEN)
		return WIRE_ERR_INVALID;
	resp->identity = pub->identity.data;
	resp->identitylen = pub->identity.len;
	for (i = 0; i < pub->n_chain; i++) {
		if (pub->chain[i].len == 0 || wire_der_len(pub->chain[i].data,
		    pub->chain[i].len) != pub->chain[i].len)
			return WIRE_ERR_INVALID;
		len += pub->chain[i].len;
	}
	if (len == 0)
		return 0;
	if ((chain = malloc(len)) == NULL)
		return WIRE_ERR_NOMEM;
	for (len = 0, i = 0; i < pub->n_chain; i++) {
		memcpy(chain + len, pub->chain[i].data, pub->chain[i].len);
		len += pub->chain[i].len;
	}
	resp->chain_owned = chain;
	resp->chain = chain;
	resp->chainlen = len;
	return 0;
}

int
wire_response_decode(const uint8_t *body, size_t len,
    struct wire_response *resp)
{
	PB(Response) *m;
	int r = WIRE_ERR_INVALID;

	memset(resp, 0, sizeof(*resp));
	if ((m = PBF(response__unpack)(NULL, len, body)) == NULL)
		return WIRE_ERR_DECODE;
	resp->msg = m;
	resp->id = m->id;
	if (m->status <= 0 || m->status > P11B_STATUS_COUNT)
		goto out;
	resp->status = (int)m->status - 1;
	resp->message = m->message != NULL ? m->message : "";
	switch (m->result_case) {
	case PBC(RESPONSE__RESULT_SIGN):
		resp->op = P11B_OP_SIGN;
		copy_bin(&m->sign->signature, resp);
		if (set_version(resp->version, m->sign->version) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_HMAC):
		resp->op = P11B_OP_HMAC;
		copy_bin(&m->hmac->mac, resp);
		if (set_version(resp->version, m->hmac->version) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_HMAC_VERIFY):
		resp->op = P11B_OP_HMAC_VERIFY;
		resp->valid = m->hmac_verify->valid;
		resp->previous = m->hmac_verify->previous;
		if (set_version(resp->version, m->hmac_verify->version) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_GET_SECRET):
		resp->op = P11B_OP_SECRET;
		copy_bin(&m->get_secret->secret, resp);
		break;
	case PBC(RESPONSE__RESULT_GET_PUBLIC_KEY):
		resp->op = P11B_OP_PUBKEY;
		copy_bin(&m->get_public_key->spki, resp);
		resp->cert = m->get_public_key->certificate.data;
		resp->certlen = m->get_public_key->certificate.len;
		if ((r = decode_pubkey(m->get_public_key, resp)) != 0)
			goto out;
		/* r is 0 here: a bad version must not leave it so. */
		if ((r = set_version(resp->version,
		    m->get_public_key->version)) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_RANDOM):
		resp->op = P11B_OP_RANDOM;
		copy_bin(&m->random->data, resp);
		break;
	case PBC(RESPONSE__RESULT_LIST_KEYS):
		resp->op = P11B_OP_LIST;
		if ((r = decode_keys(m->list_keys->keys,
		    m->list_keys->n_keys, resp)) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_GENERATE_KEY):
		resp->op = P11B_OP_GENERATE;
		copy_bin(&m->generate_key->spki, resp);
		if (m->generate_key->key == NULL) {
			r = WIRE_ERR_INVALID;
			goto out;
		}
		if ((r = decode_keys(&m->generate_key->key, 1, resp)) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_HEALTH):
		resp->op = P11B_OP_HEALTH;
		if (m->health->version != NULL)
			strlcpy(resp->health.version, m->health->version,
			    sizeof(resp->health.version));
		resp->health.token_ready =
		    m->health->token_state == PBC(TOKEN_STATE__READY);
		resp->health.uptime_seconds = m->health->uptime_seconds;
		resp->health.workers = m->health->workers;
		resp->health.signers = m->health->signers;
		resp->health.signers_up = m->health->signers_up;
		if ((r = wire_health_tokens_decode(m->health,
		    &resp->health)) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_STATS):
		resp->op = P11B_OP_STATS;
		if ((r = decode_stats(m->stats, resp)) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT_BATCH):
		resp->op = P11B_OP_NONE;
		if ((r = wire_batch_response_decode(m->batch, resp)) != 0)
			goto out;
		break;
	case PBC(RESPONSE__RESULT__NOT_SET):
		resp->op = P11B_OP_NONE;
		break;
	case _P11BROKER__V1__RESPONSE__RESULT__CASE_IS_INT_SIZE:
		goto out;
	}
	/* A result only comes with OK, and OK always has one. */
	if ((resp->status == P11B_OK) != (resp->op != P11B_OP_NONE ||
	    resp->batch != NULL)) {
		r = WIRE_ERR_INVALID;
		goto out;
	}
	r = 0;
 out:
	return r;
}

void
wire_response_free(struct wire_response *resp)
{
	/* A secret must not linger in freed heap memory. */
	if (resp->op == P11B_OP_SECRET && resp->out != NULL)
		explicit_bzero((void *)resp->out, resp->outlen);
	if (resp->msg != NULL)
		PBF(response__free_unpacked)(resp->msg, NULL);
	free(resp->keys_owned);
	free(resp->key_versions_owned);
	free(resp->chain_owned);
	wire_batch_free(resp->batch_owned);
	free(resp->stats.requests);
	free(resp->stats.callers);
	memset(resp, 0, sizeof(*resp));
}
