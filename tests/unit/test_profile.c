/*
 * Unit tests for the vendor profiles (policy/profile.c and "profile
 * NAME" in config.c): every shipped profile parses, its lines land in
 * the config, the operator's lines add to them and win for module-env,
 * ${NAME} comes from module-env.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "profile.h"
#include "tap.h"

static struct config *
parse(const char *text, char *err, size_t errlen)
{
	struct config *c = NULL;

	if (config_parse("/etc/p11broker/test.conf", text, strlen(text), &c,
	    err, errlen) != 0)
		return NULL;
	return c;
}

static int
has(char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* Each compiled-in profile, alone in a token block, makes a config. */
static void
test_every_profile(void)
{
	const struct profile_text *p;
	char text[512], err[512];
	struct config *c;
	int n = 0;

	for (p = profile_table; p->name != NULL; p++, n++) {
		snprintf(text, sizeof(text), "socket \"/s\"\npolicy \"p\"\ntoken {\n"
		    "\tprofile %s\n\tslot 0\n\tpin-env \"P\"\n}\n", p->name);
		c = parse(text, err, sizeof(err));
		ok(c != NULL && c->tokens[0].module != NULL, "profile %s parses and "
		    "names a module", p->name);
		if (c == NULL)
			printf("#   %s\n", err);
		config_free(c);
	}
	is_int(n, 11, "eleven profiles are compiled in");
}

static void
test_tpm2(void)
{
	static const char conf[] =
	    "socket \"/s\"\npolicy \"p\"\n"
	    "sandbox connect-port 4444\n"
	    "token {\n"
	    "\tprofile tpm2\n"
	    "\tmodule-env \"TPM2_PKCS11_STORE=/srv/tpm store\"\n"
	    "\tmodule-env \"TPM2_PKCS11_TCTI=swtpm:port=4444\"\n"
	    "\tlabel \"t\"\n\tpin-env \"P\"\n"
	    "}\n";
	char err[512];
	struct config *c;

	if ((c = parse(conf, err, sizeof(err))) == NULL) {
		ok(0, "tpm2 profile with operator lines: %s", err);
		return;
	}
	is_str(c->tokens[0].module, "/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1",
	    "tpm2: the profile's module");
	ok(has(c->sandbox_allow, c->nsandbox_allow, "socket:inet"),
	    "tpm2: socket inet from the profile");
	ok(has(c->sandbox_connect, c->nsandbox_connect, "2321") &&
	    has(c->sandbox_connect, c->nsandbox_connect, "4444"),
	    "tpm2: the profile's port and the operator's");
	ok(has(c->sandbox_read, c->nsandbox_read, "/srv/tpm store") &&
	    has(c->sandbox_write, c->nsandbox_write, "/srv/tpm store"),
	    "tpm2: the store from module-env TPM2_PKCS11_STORE");
	ok(!has(c->sandbox_read, c->nsandbox_read, "/var/lib/tpm2-pkcs11"),
	    "tpm2: not the default store");
	config_free(c);

	c = parse("socket \"/s\"\npolicy \"p\"\ntoken {\n\tprofile tpm2\n\tslot 1\n\tpin-env \"P\"\n}\n",
	    err, sizeof(err));
	ok(c != NULL && has(c->sandbox_read, c->nsandbox_read,
	    "/var/lib/tpm2-pkcs11"), "tpm2: the default store without "
	    "module-env");
	config_free(c);
}

/* The operator's module and module-env win over the profile's. */
static void
test_operator_wins(void)
{
	static const char conf[] =
	    "socket \"/s\"\npolicy \"p\"\n"
	    "token {\n"
	    "\tmodule \"/opt/my/module.so\"\n"
	    "\tmodule-env \"YUBIHSM_PKCS11_CONF=/etc/y.conf\"\n"
	    "\tprofile yubihsm2\n"
	    "\tslot 0\n\tpin-env \"P\"\n"
	    "}\n"
	    "sandbox read \"/opt/extra\"\n";
	char err[512];
	struct config *c;

	if ((c = parse(conf, err, sizeof(err))) == NULL) {
		ok(0, "yubihsm2 with operator lines: %s", err);
		return;
	}
	is_str(c->tokens[0].module, "/opt/my/module.so", "the token's module wins");
	ok(has(c->sandbox_read, c->nsandbox_read, "/etc/y.conf") &&
	    has(c->sandbox_read, c->nsandbox_read, "/opt/extra"),
	    "the profile's path from module-env, and the operator's path");
	is_int(c->tokens[0].nmodule_env, 1, "one module-env setting");
	config_free(c);
}

static void
expect_error(const char *text, const char *want, const char *what)
{
	char err[512];
	struct config *c;

	c = parse(text, err, sizeof(err));
	ok(c == NULL && strstr(err, want) != NULL, "%s", what);
	if (c != NULL || strstr(err, want) == NULL)
		printf("#   error was \"%s\", want \"%s\"\n", err, want);
	config_free(c);
}

static void
test_errors(void)
{
	char *out = NULL;
	char err[256];
	char *const env[] = { "A=x\"y", "B=/b" };
	int line;

	expect_error("socket \"/s\"\npolicy \"p\"\ntoken {\n\tprofile nosuch\n\tslot 0\n\tpin-env \"P\"\n}\n",
	    "test.conf:4: profile: no profile \"nosuch\" (this build has "
	    "softhsm2,", "an unknown profile names the known ones");
	expect_error("socket \"/s\"\npolicy \"p\"\ntoken {\n\tprofile tpm2\n\tprofile luna\n"
	    "}\n", "the token already has one", "two profiles");
	expect_error("socket \"/s\"\npolicy \"p\"\ntoken {\n\tprofile tpm2\n\tslot 0\n\tpin-env \"P\"\n"
	    "\tmodule-env \"TPM2_PKCS11_STORE=/a\\\"b\"\n}\n",
	    "profile tpm2:", "a store path with a quote is refused");
	ok(profile_expand("a ${B}\nb ${A:-z}\n", env, 2, &out, &line, err,
	    sizeof(err)) == -1 && line == 2 && strstr(err, "quote") != NULL,
	    "expand: a value with a quote, at line 2");
	ok(profile_expand("x ${C}\n", env, 2, &out, &line, err,
	    sizeof(err)) == -1 && strstr(err, "module-env \"C=") != NULL,
	    "expand: an unset name says to add module-env");
	ok(profile_expand("x ${C:-/d} ${B}\n", env, 2, &out, &line, err,
	    sizeof(err)) == 0 && strcmp(out, "x /d /b\n") == 0,
	    "expand: a default and a value");
	free(out);
	ok(profile_expand("x ${B\n}", env, 2, &out, &line, err,
	    sizeof(err)) == -1, "expand: an unterminated ${");
	ok(profile_expand("x ${B-y}", env, 2, &out, &line, err,
	    sizeof(err)) == -1, "expand: ${B-y} is not the syntax");
}

int
main(void)
{
	test_every_profile();
	test_tpm2();
	test_operator_wins();
	test_errors();
	return tap_done();
}
