/*
 * libreconnect: one libp11broker connection across whatever the test
 * script does to the broker between two rounds of calls.
 *
 *   libreconnect DIR GOFILE        round 1, wait for GOFILE, round 2
 *   libreconnect DIR timeout STOPFILE GOFILE
 *   libreconnect DIR fork
 *
 * The socket comes from $P11BROKER_SOCKET.  Round 1 signs DIR/msg with
 * ec256 (DIR/sig.0).  Round 2 starts with four threads signing at once
 * on the connection the broker has closed (DIR/sig.t0..3), then makes
 * every other call: rsa2048 PSS (DIR/sig.rsa), HMAC with P11B_ALG_NONE
 * (DIR/mac), its verification, ec256's public key (DIR/ec256.der), list,
 * random, health, the api-token secret (DIR/secret).  Each call must
 * succeed and leave p11b_last_message() empty; the script checks the
 * outputs with openssl.
 *
 * "timeout": health, then after STOPFILE (the broker stopped with
 * SIGSTOP) a signature must fail with P11B_ERR_TIMEOUT; "timed out" is
 * printed and, after GOFILE (broker running again), health must succeed
 * on the same connection.
 *
 * "fork": a child must not use the parent's connection (P11B_ERR_INVALID
 * with a message), may release it and connect on its own; the parent's
 * connection still works.  Also the last-message rules: a failure sets
 * it, the next success clears it.
 *
 * Prints "ok ..." per call, "FAIL ..." and exit 1 at the first failure.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p11broker.h"

#define THREADS	4

static struct p11b_conn *conn;
static const char *dir;
static uint8_t msg[4096];
static size_t msglen;

static void
fail(const char *what, int rc)
{
	printf("FAIL %s: %s: %s\n", what, p11b_strerror(rc),
	    p11b_last_message());
	fflush(stdout);
	exit(1);
}

/* A successful call: rc 0 and no message left over. */
static void
check(const char *what, int rc)
{
	if (rc != P11B_OK)
		fail(what, rc);
	if (p11b_last_message()[0] != '\0') {
		printf("FAIL %s: succeeded but last message \"%s\"\n", what,
		    p11b_last_message());
		exit(1);
	}
	printf("ok %s\n", what);
	fflush(stdout);
}

static void
save(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		printf("FAIL cannot write %s\n", path);
		exit(1);
	}
}

static void
load_msg(void)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/msg", dir);
	if ((f = fopen(path, "rb")) == NULL) {
		printf("FAIL cannot read %s\n", path);
		exit(1);
	}
	msglen = fread(msg, 1, sizeof(msg), f);
	fclose(f);
}

static void
sign_to(const char *key, enum p11b_alg alg, const char *name)
{
	uint8_t *sig;
	size_t len;

	check(name, p11b_sign(conn, key, alg, 0, msg, msglen, &sig, &len));
	save(name, sig, len);
	free(sig);
}

static void *
sign_thread(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "sig.t%d", (int)(intptr_t)arg);
	sign_to("ec256", P11B_ALG_ECDSA_P256_SHA256, name);
	return NULL;
}

static void
wait_file(const char *path)
{
	struct timespec ms10 = { 0, 10000000 };
	struct stat st;

	printf("# waiting for %s\n", path);
	fflush(stdout);
	/* The script's timeout bounds this. */
	while (stat(path, &st) == -1)
		nanosleep(&ms10, NULL);
}

static void
round_two(void)
{
	pthread_t t[THREADS];
	struct p11b_key_info *keys;
	struct p11b_health h;
	uint8_t *out, *mac;
	size_t len, maclen, n;
	int i, valid;

	for (i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, sign_thread,
		    (void *)(intptr_t)i) != 0)
			fail("pthread_create", P11B_ERR_NOMEM);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	sign_to("rsa2048", P11B_ALG_RSA_PSS_SHA256, "sig.rsa");
	check("hmac ALG_NONE", p11b_hmac(conn, "hmac32", P11B_ALG_NONE, msg,
	    msglen, &mac, &maclen));
	save("mac", mac, maclen);
	check("hmac-verify ALG_NONE", p11b_hmac_verify(conn, "hmac32",
	    P11B_ALG_NONE, msg, msglen, mac, maclen, &valid));
	if (!valid)
		fail("hmac-verify: MAC not valid", P11B_OK);
	free(mac);
	check("pubkey", p11b_get_public_key(conn, "ec256", &out, &len, NULL,
	    NULL));
	save("ec256.der", out, len);
	free(out);
	check("list", p11b_list_keys(conn, &keys, &n));
	if (n == 0)
		fail("list: no keys", P11B_OK);
	free(keys);
	check("random", p11b_random(conn, 32, &out));
	free(out);
	check("health", p11b_health(conn, &h));
	check("secret", p11b_get_secret(conn, "api-token", &out, &len));
	save("secret", out, len);
	p11b_free_secret(out, len);
}

static int
run_timeout(const char *stopped, const char *go)
{
	struct p11b_health h;
	uint8_t *sig;
	size_t len;
	int rc;

	check("health before the stop", p11b_health(conn, &h));
	wait_file(stopped);
	rc = p11b_sign(conn, "ec256", P11B_ALG_ECDSA_P256_SHA256, 0, msg,
	    msglen, &sig, &len);
	if (rc != P11B_ERR_TIMEOUT)
		fail("sign to a stopped broker: want P11B_ERR_TIMEOUT", rc);
	printf("timed out: %s\n", p11b_last_message());
	fflush(stdout);
	wait_file(go);
	check("health after the timeout", p11b_health(conn, &h));
	return 0;
}

static int
run_fork(void)
{
	struct p11b_health h;
	uint8_t *out;
	size_t len;
	pid_t pid;
	int rc, status;

	/* A failure sets the message; the next success clears it. */
	rc = p11b_random(conn, 0, &out);
	if (rc != P11B_ERR_INVALID || p11b_last_message()[0] == '\0')
		fail("random 0 bytes: want P11B_ERR_INVALID and a message", rc);
	check("health after a local error", p11b_health(conn, &h));
	rc = p11b_sign(conn, "no-such-key", P11B_ALG_ECDSA_P256_SHA256, 0,
	    msg, msglen, &out, &len);
	if (rc != P11B_NO_SUCH_KEY || p11b_last_message()[0] == '\0')
		fail("sign no-such-key: want NO_SUCH_KEY and a message", rc);
	printf("ok no-such-key: %s\n", p11b_last_message());
	check("health after a broker refusal", p11b_health(conn, &h));

	fflush(stdout);
	if ((pid = fork()) == -1)
		fail("fork", P11B_ERR_NOMEM);
	if (pid == 0) {
		rc = p11b_health(conn, &h);
		if (rc != P11B_ERR_INVALID || p11b_last_message()[0] == '\0')
			fail("child on the parent's connection: want "
			    "P11B_ERR_INVALID and a message", rc);
		printf("ok child refused: %s\n", p11b_last_message());
		p11b_close_after_fork(conn);
		check("child connects", p11b_connect(NULL, &conn));
		check("child health", p11b_health(conn, &h));
		p11b_close(conn);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fail("child failed", P11B_OK);
	check("parent health after the child", p11b_health(conn, &h));
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: libreconnect DIR GOFILE | "
		    "DIR timeout STOPFILE GOFILE | DIR fork\n");
		return 2;
	}
	dir = argv[1];
	load_msg();
	check("connect", p11b_connect(NULL, &conn));
	if (strcmp(argv[2], "fork") == 0)
		return run_fork();
	if (strcmp(argv[2], "timeout") == 0 && argc == 5)
		return run_timeout(argv[3], argv[4]);
	sign_to("ec256", P11B_ALG_ECDSA_P256_SHA256, "sig.0");
	wait_file(argv[2]);
	round_two();
	p11b_close(conn);
	return 0;
}
