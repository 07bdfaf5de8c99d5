/* Unit tests for proto/: framing limits and request/response round trips. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wire.h"

static void
test_frame_len(void)
{
	uint8_t hdr[WIRE_HDR_LEN];

	wire_put_len(hdr, 0);
	is_int(wire_frame_len(hdr, 65536), WIRE_ERR_EMPTY, "zero length");
	wire_put_len(hdr, 1);
	is_int(wire_frame_len(hdr, 65536), 1, "one byte");
	wire_put_len(hdr, 65536);
	is_int(wire_frame_len(hdr, 65536), 65536, "exactly the limit");
	wire_put_len(hdr, 65537);
	is_int(wire_frame_len(hdr, 65536), WIRE_ERR_TOO_LARGE,
	    "one over the limit");
	wire_put_len(hdr, 0xffffffffU);
	is_int(wire_frame_len(hdr, 65536), WIRE_ERR_TOO_LARGE, "4 GiB");
	ok(hdr[0] == 0xff && hdr[3] == 0xff, "big-endian header");
	wire_put_len(hdr, 0x01020304);
	ok(hdr[0] == 1 && hdr[1] == 2 && hdr[2] == 3 && hdr[3] == 4,
	    "byte order");
}

static void
test_key_names(void)
{
	char longname[P11B_KEY_NAME_MAX + 2];

	ok(wire_key_name_valid("dns-zsk_2026.v1", 15), "ordinary name");
	ok(!wire_key_name_valid("", 0), "empty name");
	ok(!wire_key_name_valid("a b", 3), "space");
	ok(!wire_key_name_valid("a/b", 3), "slash");
	ok(!wire_key_name_valid("a\0b", 3), "NUL inside");
	memset(longname, 'k', sizeof(longname));
	ok(wire_key_name_valid(longname, P11B_KEY_NAME_MAX), "64 bytes");
	ok(!wire_key_name_valid(longname, P11B_KEY_NAME_MAX + 1), "65 bytes");
}

static int
round_trip(const struct wire_request *in, struct wire_request *out)
{
	uint8_t *frame;
	size_t len;
	int r;

	if (wire_request_encode(in, &frame, &len) != 0)
		return -1;
	if (wire_frame_len(frame, WIRE_DEFAULT_MAX_FRAME) !=
	    (long)(len - WIRE_HDR_LEN)) {
		free(frame);
		return -1;
	}
	r = wire_request_decode(frame + WIRE_HDR_LEN, len - WIRE_HDR_LEN, out);
	free(frame);
	return r;
}

static void
test_request_round_trip(void)
{
	struct wire_request in, out;
	const uint8_t data[] = "message", mac[32] = { 1, 2, 3 };

	memset(&in, 0, sizeof(in));
	in.id = 0x1122334455667788ULL;
	in.op = P11B_OP_SIGN;
	strlcpy(in.key, "ca-root", sizeof(in.key));
	in.alg = P11B_ALG_RSA_PSS_SHA384;
	in.flags = P11B_SIGN_DIGEST | P11B_SIGN_RAW;
	in.data = data;
	in.datalen = sizeof(data);
	is_int(round_trip(&in, &out), 0, "sign request decodes");
	ok(out.id == in.id, "id kept (64 bits)");
	is_int(out.op, P11B_OP_SIGN, "op kept");
	is_str(out.key, "ca-root", "key kept");
	is_int(out.alg, P11B_ALG_RSA_PSS_SHA384, "algorithm kept");
	is_int(out.flags, P11B_SIGN_DIGEST | P11B_SIGN_RAW, "flags kept");
	is_mem(out.data, out.datalen, data, sizeof(data), "data kept");
	ok(!out.salt_set && out.salt_len == 0, "no salt length unless set");
	wire_request_free(&out);

	/* Salt 0 is a salt length, not "none": the flag tells them apart. */
	in.salt_set = 1;
	in.salt_len = 0;
	is_int(round_trip(&in, &out), 0, "sign request with salt 0 decodes");
	ok(out.salt_set && out.salt_len == 0, "salt 0 kept");
	wire_request_free(&out);
	in.salt_len = 222;
	is_int(round_trip(&in, &out), 0, "sign request with salt 222 decodes");
	ok(out.salt_set && out.salt_len == 222, "salt 222 kept");
	wire_request_free(&out);
	in.salt_set = 0;
	in.salt_len = 0;

	in.op = P11B_OP_HMAC_VERIFY;
	in.alg = P11B_ALG_HMAC_SHA256;
	in.flags = 0;
	in.mac = mac;
	in.maclen = sizeof(mac);
	is_int(round_trip(&in, &out), 0, "hmac-verify decodes");
	is_mem(out.mac, out.maclen, mac, sizeof(mac), "mac kept");
	wire_request_free(&out);

	/* The identity the client expects: none, or exactly 16 bytes. */
	in.identity = mac;
	in.identitylen = P11B_IDENTITY_LEN;
	is_int(round_trip(&in, &out), 0, "hmac-verify with identity decodes");
	is_mem(out.identity, out.identitylen, mac, P11B_IDENTITY_LEN,
	    "identity kept");
	wire_request_free(&out);
	in.op = P11B_OP_SIGN;
	in.identitylen = P11B_IDENTITY_LEN - 1;
	is_int(round_trip(&in, &out), WIRE_ERR_INVALID,
	    "an identity of 15 bytes refused");
	wire_request_free(&out);
	in.identity = NULL;
	in.identitylen = 0;

	memset(&in, 0, sizeof(in));
	in.id = 7;
	in.op = P11B_OP_RANDOM;
	in.random_len = 4096;
	is_int(round_trip(&in, &out), 0, "random decodes");
	is_int(out.random_len, 4096, "random length kept");
	wire_request_free(&out);
}

/* Streams: the opening request's fields and a part's. */
static void
test_stream_requests(void)
{
	struct wire_request in, out;
	static const uint8_t data[] = "part", mac[32] = { 1 };

	memset(&in, 0, sizeof(in));
	in.id = 5;
	in.op = P11B_OP_HMAC_VERIFY;
	strlcpy(in.key, "mac", sizeof(in.key));
	in.alg = P11B_ALG_HMAC_SHA256;
	in.data = data;
	in.datalen = 4;
	in.stream = WIRE_STREAM_BEGIN;
	in.total_length = 1ULL << 33;
	is_int(round_trip(&in, &out), 0, "a stream's first frame decodes");
	ok(out.stream == WIRE_STREAM_BEGIN && out.total_length == 1ULL << 33 &&
	    out.op == P11B_OP_HMAC_VERIFY && out.maclen == 0,
	    "more and total_length kept");
	wire_request_free(&out);
	in.op = P11B_OP_SIGN;
	in.alg = P11B_ALG_ED25519;
	is_int(round_trip(&in, &out), 0, "a sign stream decodes");
	ok(out.stream == WIRE_STREAM_BEGIN, "sign: more kept");
	wire_request_free(&out);
	in.stream = WIRE_STREAM_NONE;
	is_int(round_trip(&in, &out), 0, "a whole sign decodes");
	ok(out.stream == WIRE_STREAM_NONE && out.total_length == 0,
	    "no stream without more (total_length dropped)");
	wire_request_free(&out);

	memset(&in, 0, sizeof(in));
	in.id = 5;
	in.stream = WIRE_STREAM_DATA;
	in.data = data;
	in.datalen = 4;
	is_int(round_trip(&in, &out), 0, "a part decodes");
	ok(out.stream == WIRE_STREAM_DATA && out.op == P11B_OP_NONE &&
	    out.datalen == 4 && !out.last && !out.cancel, "a part's fields");
	wire_request_free(&out);
	in.last = 1;
	in.mac = mac;
	in.maclen = sizeof(mac);
	is_int(round_trip(&in, &out), 0, "the last part with a MAC decodes");
	ok(out.last && out.maclen == sizeof(mac), "last and MAC kept");
	wire_request_free(&out);
	in.last = 0;
	is_int(round_trip(&in, &out), WIRE_ERR_INVALID,
	    "a MAC before the last part is invalid");
	wire_request_free(&out);
	in.mac = NULL;
	in.maclen = 0;
	in.cancel = 1;
	is_int(round_trip(&in, &out), WIRE_ERR_INVALID,
	    "a cancel with data is invalid");
	wire_request_free(&out);
	in.datalen = 0;
	is_int(round_trip(&in, &out), 0, "an empty cancel decodes");
	ok(out.cancel, "cancel kept");
	wire_request_free(&out);
}

static void
test_request_invalid(void)
{
	struct wire_request req;
	/* id=5, sign { key="" } */
	const uint8_t empty_key[] = { 0x08, 0x05, 0x52, 0x00 };
	/* id=5, sign { key="k", algorithm=99 } */
	const uint8_t bad_alg[] = { 0x08, 0x05, 0x52, 0x05, 0x0a, 0x01, 'k',
	    0x10, 0x63 };
	/* id=5, no op */
	const uint8_t no_op[] = { 0x08, 0x05 };
	/* truncated varint */
	const uint8_t garbage[] = { 0x08, 0xff, 0xff };
	/* id=5, sign { key="k", algorithm=1, format=7 } */
	const uint8_t bad_format[] = { 0x08, 0x05, 0x52, 0x07, 0x0a, 0x01,
	    'k', 0x10, 0x01, 0x28, 0x07 };

	is_int(wire_request_decode(empty_key, sizeof(empty_key), &req),
	    WIRE_ERR_INVALID, "empty key name is invalid");
	is_int((int)req.id, 5, "id still known for the error answer");
	wire_request_free(&req);
	is_int(wire_request_decode(bad_alg, sizeof(bad_alg), &req),
	    WIRE_ERR_INVALID, "unknown algorithm value is invalid");
	wire_request_free(&req);
	is_int(wire_request_decode(no_op, sizeof(no_op), &req),
	    WIRE_ERR_INVALID, "request without operation is invalid");
	wire_request_free(&req);
	is_int(wire_request_decode(garbage, sizeof(garbage), &req),
	    WIRE_ERR_DECODE, "truncated varint does not decode");
	wire_request_free(&req);
	is_int(wire_request_decode(bad_format, sizeof(bad_format), &req),
	    WIRE_ERR_INVALID, "unknown signature format is invalid");
	wire_request_free(&req);
}

static void
test_response_round_trip(void)
{
	struct wire_response in, out;
	struct p11b_key_info keys[2];
	uint8_t *frame;
	size_t len;
	const uint8_t sig[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02 };

	memset(&in, 0, sizeof(in));
	in.id = 42;
	in.status = P11B_OK;
	in.op = P11B_OP_SIGN;
	in.out = sig;
	in.outlen = sizeof(sig);
	is_int(wire_response_encode(&in, &frame, &len), 0, "encode sign");
	is_int(wire_response_decode(frame + 4, len - 4, &out), 0,
	    "decode sign");
	is_int(out.status, P11B_OK, "status ok");
	is_mem(out.out, out.outlen, sig, sizeof(sig), "signature kept");
	wire_response_free(&out);
	free(frame);

	memset(keys, 0, sizeof(keys));
	strlcpy(keys[0].name, "a", sizeof(keys[0].name));
	keys[0].type = P11B_KEY_EC_P256;
	keys[0].bits = 256;
	keys[0].ops = 1U << P11B_OP_SIGN | 1U << P11B_OP_PUBKEY;
	keys[0].algs = 1U << P11B_ALG_ECDSA_P256_SHA256;
	keys[0].id[0] = 0x20;
	keys[0].id[1] = 0x26;
	keys[0].idlen = 2;
	strlcpy(keys[0].label, "dnszsk-2026", sizeof(keys[0].label));
	keys[0].local = 1;
	memset(keys[0].identity, 0x5a, P11B_IDENTITY_LEN);
	keys[0].identitylen = P11B_IDENTITY_LEN;
	strlcpy(keys[1].name, "b", sizeof(keys[1].name));
	keys[1].type = P11B_KEY_SECRET;
	keys[1].ops = 1U << P11B_OP_SECRET;
	in.op = P11B_OP_LIST;
	in.keys = keys;
	in.nkeys = 2;
	is_int(wire_response_encode(&in, &frame, &len), 0, "encode list");
	is_int(wire_response_decode(frame + 4, len - 4, &out), 0,
	    "decode list");
	is_int(out.nkeys, 2, "two keys");
	ok(out.nkeys == 2 && out.keys[0].ops == keys[0].ops &&
	    out.keys[0].algs == keys[0].algs && out.keys[1].type ==
	    P11B_KEY_SECRET, "key info kept");
	ok(out.nkeys == 2 && out.keys[0].idlen == 2 &&
	    memcmp(out.keys[0].id, keys[0].id, 2) == 0 &&
	    strcmp(out.keys[0].label, "dnszsk-2026") == 0 &&
	    out.keys[0].local == 1 &&
	    out.keys[0].identitylen == P11B_IDENTITY_LEN &&
	    memcmp(out.keys[0].identity, keys[0].identity,
	    P11B_IDENTITY_LEN) == 0 && out.keys[1].idlen == 0 &&
	    out.keys[1].identitylen == 0, "CKA_ID, label, local, identity kept");
	wire_response_free(&out);
	free(frame);

	/* A public key with its identity and a chain of two certificates. */
	{
		static const uint8_t spki[] = { 0x30, 0x02, 0x05, 0x00 };
		static const uint8_t chain[] = { 0x30, 0x01, 0x01,
		    0x30, 0x81, 0x02, 0x04, 0x05 };
		uint8_t ident[P11B_IDENTITY_LEN];

		memset(ident, 7, sizeof(ident));
		memset(&in, 0, sizeof(in));
		in.id = 5;
		in.status = P11B_OK;
		in.op = P11B_OP_PUBKEY;
		in.out = spki;
		in.outlen = sizeof(spki);
		in.chain = chain;
		in.chainlen = sizeof(chain);
		in.identity = ident;
		in.identitylen = sizeof(ident);
		is_int(wire_response_encode(&in, &frame, &len), 0,
		    "encode pubkey with a chain");
		is_int(wire_response_decode(frame + 4, len - 4, &out), 0,
		    "decode pubkey with a chain");
		is_mem(out.chain, out.chainlen, chain, sizeof(chain),
		    "chain kept, certificate by certificate");
		is_mem(out.identity, out.identitylen, ident, sizeof(ident),
		    "identity kept");
		wire_response_free(&out);
		free(frame);
		in.chainlen = sizeof(chain) - 1;
		is_int(wire_response_encode(&in, &frame, &len),
		    WIRE_ERR_INVALID, "a chain cut mid-certificate refused");
	}

	memset(&in, 0, sizeof(in));
	in.id = 9;
	in.status = P11B_DENIED;
	in.message = "not permitted";
	in.op = P11B_OP_SIGN;		/* ignored: errors carry no result */
	is_int(wire_response_encode(&in, &frame, &len), 0, "encode denial");
	is_int(wire_response_decode(frame + 4, len - 4, &out), 0,
	    "decode denial");
	is_int(out.status, P11B_DENIED, "denied");
	is_int(out.op, P11B_OP_NONE, "no result with an error");
	is_str(out.message, "not permitted", "message kept");
	wire_response_free(&out);
	free(frame);
}

static void
test_response_invalid(void)
{
	struct wire_response out;
	/* id=1, status=OK, no result: OK must carry a result */
	const uint8_t ok_empty[] = { 0x08, 0x01, 0x10, 0x01 };
	/* id=1, no status */
	const uint8_t no_status[] = { 0x08, 0x01 };
	/* id=1, status=42 */
	const uint8_t bad_status[] = { 0x08, 0x01, 0x10, 0x2a };

	is_int(wire_response_decode(ok_empty, sizeof(ok_empty), &out),
	    WIRE_ERR_INVALID, "OK without a result is invalid");
	wire_response_free(&out);
	is_int(wire_response_decode(no_status, sizeof(no_status), &out),
	    WIRE_ERR_INVALID, "missing status is invalid");
	wire_response_free(&out);
	is_int(wire_response_decode(bad_status, sizeof(bad_status), &out),
	    WIRE_ERR_INVALID, "unknown status is invalid");
	wire_response_free(&out);
}

/* GENERATE_KEY: the request's fields, and the answer's one key and SPKI. */
static void
test_generate(void)
{
	static const uint8_t id[] = { 0x0a, 0x0b };
	static const uint8_t spki[] = { 0x30, 0x02, 0x05, 0x00 };
	struct wire_request req, got;
	struct wire_response in, out;
	struct p11b_key_info key;
	uint8_t *frame;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.id = 9;
	req.op = P11B_OP_GENERATE;
	strlcpy(req.key, "knot-1", sizeof(req.key));
	req.gen_type = P11B_KEY_RSA;
	req.gen_bits = 3072;
	req.gen_id = id;
	req.gen_idlen = sizeof(id);
	is_int(wire_request_encode(&req, &frame, &len), 0, "encode generate");
	is_int(wire_request_decode(frame + 4, len - 4, &got), 0,
	    "decode generate");
	ok(got.op == P11B_OP_GENERATE && strcmp(got.key, "knot-1") == 0 &&
	    got.gen_type == P11B_KEY_RSA && got.gen_bits == 3072 &&
	    got.gen_idlen == sizeof(id) &&
	    memcmp(got.gen_id, id, sizeof(id)) == 0, "generate fields kept");
	wire_request_free(&got);
	free(frame);

	req.gen_type = P11B_KEY_DATA;
	is_int(wire_request_encode(&req, &frame, &len), 0,
	    "encode generate of a data object");
	is_int(wire_request_decode(frame + 4, len - 4, &got), WIRE_ERR_INVALID,
	    "a data object cannot be generated");
	wire_request_free(&got);
	free(frame);

	memset(&key, 0, sizeof(key));
	strlcpy(key.name, "knot-1", sizeof(key.name));
	key.type = P11B_KEY_EC_P256;
	key.bits = 256;
	key.ops = 1U << P11B_OP_SIGN;
	memcpy(key.id, id, sizeof(id));
	key.idlen = sizeof(id);
	memset(&in, 0, sizeof(in));
	in.status = P11B_OK;
	in.op = P11B_OP_GENERATE;
	in.keys = &key;
	in.nkeys = 1;
	in.out = spki;
	in.outlen = sizeof(spki);
	is_int(wire_response_encode(&in, &frame, &len), 0,
	    "encode generate answer");
	is_int(wire_response_decode(frame + 4, len - 4, &out), 0,
	    "decode generate answer");
	ok(out.op == P11B_OP_GENERATE && out.nkeys == 1 &&
	    strcmp(out.keys[0].name, "knot-1") == 0 &&
	    out.keys[0].idlen == sizeof(id) && out.outlen == sizeof(spki) &&
	    memcmp(out.out, spki, sizeof(spki)) == 0,
	    "generate answer: the key and its SPKI");
	wire_response_free(&out);
	free(frame);
}

static void
test_names(void)
{
	int a;

	for (a = 1; a < P11B_ALG_COUNT; a++)
		if ((int)p11b_alg_from_name(p11b_alg_name(a)) != a)
			break;
	is_int(a, P11B_ALG_COUNT, "every algorithm name maps back");
	is_int(p11b_alg_from_name("ECDSA-P256-SHA256"), P11B_ALG_NONE,
	    "names are case sensitive");
	is_int(p11b_op_from_name("hmac-verify"), P11B_OP_HMAC_VERIFY,
	    "op name");
	is_str(p11b_status_name(P11B_NO_SUCH_KEY), "no-such-key",
	    "status name");
	is_int(p11b_alg_digest_len(P11B_ALG_ECDSA_P521_SHA512), 64,
	    "P-521 uses SHA-512");
	is_int(p11b_alg_digest_len(P11B_ALG_ED25519), 0, "Ed25519: none");
}

/* Health and stats carry the signers: configured, up, per slot. */
static void
test_signer_fields(void)
{
	struct wire_response in, out;
	uint8_t *frame;
	size_t len;

	memset(&in, 0, sizeof(in));
	in.id = 7;
	in.status = P11B_OK;
	in.op = P11B_OP_HEALTH;
	in.health.token_ready = 1;
	in.health.workers = 6;
	in.health.signers = 3;
	in.health.signers_up = 2;
	is_int(wire_response_encode(&in, &frame, &len), 0, "encode health");
	is_int(wire_response_decode(frame + 4, len - 4, &out), 0,
	    "decode health");
	ok(out.health.workers == 6 && out.health.signers == 3 &&
	    out.health.signers_up == 2, "health: workers, signers, up kept");
	wire_response_free(&out);
	free(frame);

	memset(&in, 0, sizeof(in));
	in.id = 8;
	in.status = P11B_OK;
	in.op = P11B_OP_STATS;
	in.stats.signers = 2;
	in.stats.signers_up = 1;
	in.stats.nsigner_slots = 2;
	in.stats.signer_slots[0] = (struct p11b_signer_slot){ 0, 1, 0, 4, 3,
	    2, 0 };
	in.stats.signer_slots[1] = (struct p11b_signer_slot){ 1, 0, 1, 9, 8,
	    0, 0 };
	is_int(wire_response_encode(&in, &frame, &len), 0, "encode stats");
	is_int(wire_response_decode(frame + 4, len - 4, &out), 0,
	    "decode stats");
	ok(out.stats.signers == 2 && out.stats.signers_up == 1 &&
	    out.stats.nsigner_slots == 2, "stats: signers, up, two slots");
	ok(out.stats.signer_slots[0].up == 1 &&
	    out.stats.signer_slots[0].starts == 4 &&
	    out.stats.signer_slots[0].restarts == 3 &&
	    out.stats.signer_slots[0].busy == 2 &&
	    out.stats.signer_slots[1].slot == 1 &&
	    out.stats.signer_slots[1].looping == 1 &&
	    out.stats.signer_slots[1].up == 0 &&
	    out.stats.signer_slots[1].starts == 9, "stats: slot fields kept");
	wire_response_free(&out);
	free(frame);
}

/* A public key answer whose version is no key name is refused. */
static void
test_pubkey_bad_version(void)
{
	struct wire_response out;
	/* id=1, status=OK, get_public_key { version: "a b" } */
	const uint8_t bad[] = { 0x08, 0x01, 0x10, 0x01, 0x72, 0x05, 0x2a, 0x03,
	    'a', ' ', 'b' };
	/* The same with version "v2" */
	const uint8_t good[] = { 0x08, 0x01, 0x10, 0x01, 0x72, 0x04, 0x2a, 0x02,
	    'v', '2' };

	is_int(wire_response_decode(good, sizeof(good), &out), 0,
	    "pubkey with version v2 decodes");
	is_str(out.version, "v2", "pubkey version kept");
	wire_response_free(&out);
	is_int(wire_response_decode(bad, sizeof(bad), &out), WIRE_ERR_INVALID,
	    "pubkey with version \"a b\" is invalid");
	wire_response_free(&out);
}

int
main(void)
{
	test_frame_len();
	test_key_names();
	test_request_round_trip();
	test_request_invalid();
	test_stream_requests();
	test_response_round_trip();
	test_response_invalid();
	test_generate();
	test_names();
	test_signer_fields();
	test_pubkey_bad_version();
	return tap_done();
}
