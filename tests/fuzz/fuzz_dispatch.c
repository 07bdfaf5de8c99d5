/*
 * Fuzz target for the front's decisions: the input's first byte picks a
 * caller (known to the policy by uid, by group, or not at all), the rest
 * is a stream of frames (4-byte big-endian length, then the body) that
 * the real dispatch code takes through decoding, the real policy, the
 * key checks and, for token work, the real job links, with no signer
 * behind them (so every job fails at once, as with the token away).
 * Only the connection is this file's: it records the answers.
 *
 * Properties: every frame gets exactly one answer, with its request's id
 * (id 0 for a frame that does not decode, which also ends the
 * connection); every job's hold on the connection is released; a caller
 * the policy does not know is never served, and for a keyed operation
 * always hears "no such key" (or "bad request" for bad fields), never
 * anything that tells a key exists; statuses are ones the protocol has.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "algs.h"
#include "broker.h"
#include "conn_ops.h"
#include "dispatch.h"
#include "fuzz.h"
#include "log.h"

/* --- the connection: this harness's, in place of the event loop -------- */

struct conn {
	struct peer_cred	 peer;
	int			 held;		/* jobs not yet answered */
	int			 closing;
	unsigned int		 answers;
	uint64_t		 last_id;
	int			 last_status;
	int			 served;	/* any OK answer */
	int			 leaked;	/* a keyed refusal that tells */
	int			 keyed;		/* the request is on a key */
};

void
conn_reply(struct conn *c, const struct wire_response *resp)
{
	FUZZ_ASSERT(resp->status >= P11B_OK && resp->status <
	    P11B_STATUS_COUNT);
	FUZZ_ASSERT(resp->status == P11B_OK || resp->message != NULL);
	c->answers++;
	c->last_id = resp->id;
	c->last_status = resp->status;
	if (resp->status == P11B_OK)
		c->served = 1;
	if (c->keyed && resp->status != P11B_NO_SUCH_KEY &&
	    resp->status != P11B_BAD_REQUEST)
		c->leaked = 1;
}

const struct peer_cred *
conn_peer(const struct conn *c)
{
	return &c->peer;
}

int
conn_known(const struct conn *c)
{
	(void)c;
	return 1;
}

int
connset_count(const struct connset *set)
{
	(void)set;
	return 1;
}

void
conn_close_after_reply(struct conn *c)
{
	c->closing = 1;
}

void
conn_hold(struct conn *c, size_t bytes)
{
	(void)bytes;
	c->held++;
}

void
conn_hold_frames(struct conn *c, int on)
{
	(void)c;
	(void)on;
}

void
conn_hold_bytes(struct conn *c, size_t add, size_t sub)
{
	(void)c;
	(void)add;
	(void)sub;
}

/* Every refusal gets its own line here (no caller is unknown). */
int
conn_refusal_counted(struct conn *c)
{
	(void)c;
	return 0;
}

int
conn_release(struct conn *c, size_t bytes)
{
	(void)bytes;
	FUZZ_ASSERT(c->held > 0);
	c->held--;
	return 1;
}

/* --- a broker with keys, a policy and job links but no signer ---------- */

#define FUZZ_UID	1000	/* "permit user 1000 ..." */
#define FUZZ_GID	2000	/* "permit group 2000 ..." */
#define FUZZ_STATS_UID	1001
#define FUZZ_NOBODY	65534	/* no rule at all */

static const char config_text[] =
    "socket \"/nonexistent/p11b.sock\" mode 0660\n"
    "policy \"policy.conf\"\n"
    "token {\n"
    "\tmodule \"/nonexistent/module.so\"\n"
    "\tlabel \"fuzz\"\n"
    "\tpin-env \"P11BROKER_PIN\"\n"
    "}\n"
    "key ec256 label \"ec256\"\n"
    "key ec384 label \"ec384\"\n"
    "key rsa2048 label \"rsa2048\"\n"
    "key ed25519 label \"ed25519\"\n"
    "key hmac32 label \"hmac32\"\n"
    "key api-token label \"api-token\"\n"
    "key sealed label \"sealed\"\n";

static const char policy_text[] =
    "permit user 1000 sign ec256 alg ecdsa-p256-sha256 max-input 1024\n"
    "permit user 1000 sign rsa2048,ed25519\n"
    "permit user 1000 pubkey ec256,rsa2048\n"
    "permit user 1000 hmac hmac32 rate 5/s\n"
    "permit user 1000 hmac-verify hmac32\n"
    "permit user 1000 random max-input 64\n"
    "permit user 1000 list\n"
    "permit group 2000 secret api-token,sealed,hmac32\n"
    "permit group 2000 health\n"
    "permit user 1001 stats\n";

static const struct {
	const char		*name;
	enum p11b_key_type	 type;
	unsigned int		 bits;
	int			 extractable;
} key_table[] = {
	{ "ec256", P11B_KEY_EC_P256, 256, 0 },
	{ "ec384", P11B_KEY_EC_P384, 384, 0 },
	{ "rsa2048", P11B_KEY_RSA, 2048, 0 },
	{ "ed25519", P11B_KEY_ED25519, 255, 0 },
	{ "hmac32", P11B_KEY_SECRET, 256, 1 },
	{ "api-token", P11B_KEY_DATA, 0, 1 },
	{ "sealed", P11B_KEY_SECRET, 256, 0 },
};
#define NKEYS	(sizeof(key_table) / sizeof(key_table[0]))

static struct broker broker;

static void
fuzz_setup(void)
{
	static const uint8_t spki[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	struct key_info *keys;
	char err[LOG_MSG_MAX];
	size_t i;

	log_init(1, 0);
	if (config_parse("fuzz.conf", config_text, sizeof(config_text) - 1,
	    &broker.conf, err, sizeof(err)) != 0 ||
	    policy_parse("policy.conf", policy_text, sizeof(policy_text) - 1,
	    broker.conf, &broker.policy, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_dispatch: %s\n", err);
		abort();
	}
	FUZZ_ASSERT(broker.conf->nkeys == NKEYS);
	keys = calloc(NKEYS, sizeof(*keys));
	FUZZ_ASSERT(keys != NULL);
	for (i = 0; i < NKEYS; i++) {
		strlcpy(keys[i].name, key_table[i].name, sizeof(keys[i].name));
		keys[i].type = key_table[i].type;
		keys[i].bits = key_table[i].bits;
		/* The token offers all but SHA-1 PSS: both answers are seen. */
		keys[i].algs = alg_key_algs(keys[i].type) &
		    ~(1U << P11B_ALG_RSA_PSS_SHA1);
		keys[i].extractable = key_table[i].extractable;
		if (i == 0 && (keys[i].spki = malloc(sizeof(spki))) != NULL) {
			memcpy(keys[i].spki, spki, sizeof(spki));
			keys[i].spkilen = sizeof(spki);
		}
	}
	broker.keyset = keygen_new(keys, NKEYS);
	FUZZ_ASSERT(broker.keyset != NULL);
	broker.keys = keygen_keys(broker.keyset, &broker.nkeys);
	broker.metrics = metrics_new(broker.keys, broker.nkeys);
	FUZZ_ASSERT(broker.metrics != NULL);
	FUZZ_ASSERT(joblink_new(&broker.jobs) == 0);
	broker.started = time(NULL);
	broker.policy_generation = 1;
}

static void
caller(uint8_t pick, struct peer_cred *peer)
{
	static gid_t group = FUZZ_GID;

	memset(peer, 0, sizeof(*peer));
	peer->pid = 4242;
	switch (pick % 4) {
	case 0:
		peer->uid = FUZZ_UID;
		peer->gid = FUZZ_UID;
		break;
	case 1:				/* by a supplementary group */
		peer->uid = 3000;
		peer->gid = 3000;
		peer->groups = &group;
		peer->ngroups = 1;
		break;
	case 2:
		peer->uid = FUZZ_STATS_UID;
		peer->gid = FUZZ_STATS_UID;
		break;
	default:
		peer->uid = FUZZ_NOBODY;
		peer->gid = FUZZ_NOBODY;
		break;
	}
}

/*
 * The request's id, whether it names a key, and whether it is a part of
 * a stream (answered at most once per id: no stream opens here, with no
 * signer, so a part is refused once and then dropped).
 */
static void
peek(const uint8_t *body, size_t len, uint64_t *idp, int *keyedp,
    int *partp)
{
	struct wire_request req;
	int r;

	r = wire_request_decode(body, len, &req);
	*idp = r == WIRE_ERR_DECODE ? 0 : req.id;
	*partp = r != WIRE_ERR_DECODE && req.stream == WIRE_STREAM_DATA;
	*keyedp = r == 0 && (req.op == P11B_OP_SIGN || req.op == P11B_OP_HMAC ||
	    req.op == P11B_OP_HMAC_VERIFY || req.op == P11B_OP_SECRET ||
	    req.op == P11B_OP_PUBKEY);
	wire_request_free(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn c;
	uint32_t n;
	uint64_t id;
	unsigned int before;
	int keyed, part;

	if (broker.conf == NULL)
		fuzz_setup();
	if (size < 1)
		return 0;
	memset(&c, 0, sizeof(c));
	caller(data[0], &c.peer);
	data++;
	size--;
	while (size >= 4 && !c.closing) {
		memcpy(&n, data, 4);
		n = ntohl(n);
		data += 4;
		size -= 4;
		if (n == 0 || n > size)
			break;
		peek(data, n, &id, &keyed, &part);
		c.keyed = keyed && c.peer.uid == FUZZ_NOBODY;
		before = c.answers;
		dispatch_frame(&broker, &c, data, n);
		joblink_complete(broker.jobs);	/* no signer: failed at once */
		FUZZ_ASSERT(c.answers == before + 1 ||
		    (part && c.answers == before));
		FUZZ_ASSERT(c.answers == before || (c.closing ?
		    c.last_id == 0 : c.last_id == id));
		FUZZ_ASSERT(c.held == 0);
		data += n;
		size -= n;
	}
	if (c.peer.uid == FUZZ_NOBODY) {
		FUZZ_ASSERT(!c.served);
		FUZZ_ASSERT(!c.leaked);
	}
	return 0;
}
