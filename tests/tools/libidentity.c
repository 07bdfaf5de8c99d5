/*
* libidentity: libp11broker's key identity checks, whole and streamed,
 * against the real broker.
 *
 *   libidentity SOCKET DIR
 *	DIR/small (100 bytes) and DIR/big (over one frame: the library
 *	streams it) are inputs.  With hmac32's and ed25519's identities from
 *	p11b_list_keys(): the MACs and signatures made with the right
 *	identity go to files in DIR (NAME.mac, ed25519.sig) for the script to check with
 *	openssl (the secret to DIR/secret.out, compared byte for byte); with
 *	a wrong one every path (whole, streamed by the library, streamed by
 *	the caller, the secret) must be refused P11B_NO_SUCH_KEY.
 *
 * Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11broker.h"
#include "check.h"



static uint8_t *
slurp(const char *dir, const char *name, size_t *lenp)
{
	char path[4096];
	uint8_t *buf;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc(len + 1)) == NULL ||
	    fread(buf, 1, len, f) != (size_t)len) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	*lenp = (size_t)len;
	return buf;
}

static void
spill(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

/* The caller's own stream: init, expect, three updates, final. */
static int
stream_mac(struct p11b_conn *conn, const uint8_t *id, size_t idlen,
    const uint8_t *in, size_t len, uint8_t **macp, size_t *maclenp)
{
	struct p11b_stream *s;
	size_t third = len / 3;
	int r;

	if ((r = p11b_hmac_init(conn, "hmac32", P11B_ALG_HMAC_SHA256,
	    &s)) != P11B_OK)
		return r;
	if ((r = p11b_stream_expect(s, id, idlen)) != P11B_OK ||
	    (r = p11b_stream_update(s, in, third)) != P11B_OK ||
	    (r = p11b_stream_update(s, in + third, third)) != P11B_OK ||
	    (r = p11b_stream_update(s, in + 2 * third, len - 2 * third)) !=
	    P11B_OK) {
		p11b_stream_abort(s);
		return r;
	}
	return p11b_hmac_final(s, macp, maclenp);
}

int
main(int argc, char **argv)
{
	struct p11b_key_info *keys = NULL;
	struct p11b_conn *conn;
	struct p11b_stream *s;
	uint8_t hid[P11B_IDENTITY_LEN], eid[P11B_IDENTITY_LEN];
	uint8_t bad[P11B_IDENTITY_LEN];
	uint8_t *small, *big, *out = NULL;
	size_t smalllen, biglen, outlen, nkeys = 0, i;
	int r, found = 0, valid = -1;

	if (argc != 3) {
		fprintf(stderr, "usage: libidentity SOCKET DIR\n");
		return 2;
	}
	small = slurp(argv[2], "small", &smalllen);
	big = slurp(argv[2], "big", &biglen);
	if (p11b_connect(argv[1], &conn) != P11B_OK) {
		fprintf(stderr, "connect: %s\n", p11b_last_message());
		return 2;
	}
	r = p11b_list_keys(conn, &keys, &nkeys);
	check(r == P11B_OK, "list keys");
	for (i = 0; i < nkeys; i++) {
		if (keys[i].identitylen != P11B_IDENTITY_LEN)
			continue;
		if (strcmp(keys[i].name, "hmac32") == 0) {
			memcpy(hid, keys[i].identity, sizeof(hid));
			found |= 1;
		}
		if (strcmp(keys[i].name, "ed25519") == 0) {
			memcpy(eid, keys[i].identity, sizeof(eid));
			found |= 2;
		}
	}
	free(keys);
	check(found == 3, "hmac32 and ed25519 have identities");
	if (found != 3)
		return 1;
	/* Another key's identity: what a remapped name would present. */
	memcpy(bad, hid, sizeof(bad));
	bad[0] ^= 0x01;

	r = p11b_hmac_expect(conn, "hmac32", hid, sizeof(hid),
	    P11B_ALG_HMAC_SHA256, small, smalllen, &out, &outlen);
	check(r == P11B_OK, "whole, right identity: %s", p11b_strerror(r));
	if (r == P11B_OK)
		spill(argv[2], "small.mac", out, outlen);
	free(out);
	out = NULL;
	r = p11b_hmac_expect(conn, "hmac32", bad, sizeof(bad),
	    P11B_ALG_HMAC_SHA256, small, smalllen, &out, &outlen);
	check(r == P11B_NO_SUCH_KEY && out == NULL,
	    "whole, wrong identity: no-such-key (%s)", p11b_strerror(r));

	r = p11b_hmac_expect(conn, "hmac32", hid, sizeof(hid),
	    P11B_ALG_HMAC_SHA256, big, biglen, &out, &outlen);
	check(r == P11B_OK, "streamed by the library, right identity: %s",
	    p11b_strerror(r));
	if (r == P11B_OK)
		spill(argv[2], "big.mac", out, outlen);
	free(out);
	out = NULL;
	r = p11b_hmac_expect(conn, "hmac32", bad, sizeof(bad),
	    P11B_ALG_HMAC_SHA256, big, biglen, &out, &outlen);
	check(r == P11B_NO_SUCH_KEY && out == NULL,
	    "streamed by the library, wrong identity: no-such-key (%s)",
	    p11b_strerror(r));
	r = p11b_hmac_verify_expect(conn, "hmac32", bad, sizeof(bad),
	    P11B_ALG_HMAC_SHA256, big, biglen, small, 32, &valid);
	check(r == P11B_NO_SUCH_KEY, "hmac-verify streamed by the library, "
	    "wrong identity: no-such-key (%s)", p11b_strerror(r));

	r = stream_mac(conn, hid, sizeof(hid), big, biglen, &out, &outlen);
	check(r == P11B_OK, "the caller's stream, right identity: %s",
	    p11b_strerror(r));
	if (r == P11B_OK)
		spill(argv[2], "stream.mac", out, outlen);
	free(out);
	out = NULL;
	r = stream_mac(conn, bad, sizeof(bad), big, biglen, &out, &outlen);
	check(r == P11B_NO_SUCH_KEY && out == NULL,
	    "the caller's stream, wrong identity: no-such-key (%s)",
	    p11b_strerror(r));

	r = p11b_get_secret_expect(conn, "hmac32", hid, sizeof(hid), &out,
	    &outlen);
	check(r == P11B_OK, "secret, right identity: %s", p11b_strerror(r));
	if (r == P11B_OK)
		spill(argv[2], "secret.out", out, outlen);
	p11b_free_secret(out, outlen);
	out = NULL;
	r = p11b_get_secret_expect(conn, "hmac32", bad, sizeof(bad), &out,
	    &outlen);
	check(r == P11B_NO_SUCH_KEY && out == NULL,
	    "secret, wrong identity: no-such-key (%s)", p11b_strerror(r));

	/* An identity once the stream has begun, or of the wrong size. */
	r = p11b_hmac_init(conn, "hmac32", P11B_ALG_HMAC_SHA256, &s);
	check(r == P11B_OK, "a stream opens");
	if (r == P11B_OK) {
		r = p11b_stream_expect(s, hid, sizeof(hid) - 1);
		check(r == P11B_ERR_INVALID, "an identity of 15 bytes: invalid");
		r = p11b_stream_update(s, big, biglen);
		check(r == P11B_OK, "a part is sent");
		r = p11b_stream_expect(s, hid, sizeof(hid));
		check(r == P11B_ERR_INVALID, "an identity after the first "
		    "part: invalid (%s)", p11b_last_message());
		p11b_stream_abort(s);
	}

	/* Ed25519 in parts, with its identity: the script verifies it. */
	r = p11b_sign_init(conn, "ed25519", P11B_ALG_ED25519, 0, &s);
	if (r == P11B_OK && (r = p11b_stream_expect(s, eid, sizeof(eid))) ==
	    P11B_OK && (r = p11b_stream_update(s, big, biglen / 2)) ==
	    P11B_OK && (r = p11b_stream_update(s, big + biglen / 2,
	    biglen - biglen / 2)) == P11B_OK)
		r = p11b_sign_final(s, &out, &outlen);
	else if (s != NULL)
		p11b_stream_abort(s);
	check(r == P11B_OK, "Ed25519 in parts with its identity: %s",
	    p11b_strerror(r));
	if (r == P11B_OK)
		spill(argv[2], "ed25519.sig", out, outlen);
	free(out);
	out = NULL;
	r = p11b_sign_init(conn, "ed25519", P11B_ALG_ED25519, 0, &s);
	if (r == P11B_OK && (r = p11b_stream_expect(s, hid, sizeof(hid))) ==
	    P11B_OK && (r = p11b_stream_update(s, big, biglen)) == P11B_OK)
		r = p11b_sign_final(s, &out, &outlen);
	else if (s != NULL)
		p11b_stream_abort(s);
	check(r == P11B_NO_SUCH_KEY && out == NULL, "Ed25519 in parts with "
	    "another key's identity: no-such-key (%s)", p11b_strerror(r));

	p11b_close(conn);
	free(small);
	free(big);
	return check_failures > 0;
}
