/*
 * Guarded memory for the PIN and other secrets.  sodium_malloc puts the
 * buffer between guard pages and mlocks it; sodium_free wipes it.  Where
 * the kernel supports it, the pages are also excluded from core dumps.
 */
#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secret.h"

int
secret_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

struct secret *
secret_new(size_t cap)
{
	struct secret *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->buf = sodium_malloc(cap)) == NULL) {
		free(s);
		return NULL;
	}
	sodium_memzero(s->buf, cap);
	(void)madvise((void *)((uintptr_t)s->buf & ~(uintptr_t)4095), 4096,
	    MADV_DONTDUMP);
	s->cap = cap;
	return s;
}

struct secret *
secret_dup(const struct secret *s)
{
	struct secret *d;

	if ((d = secret_new(s->cap)) == NULL)
		return NULL;
	memcpy(d->buf, s->buf, s->len);
	d->len = s->len;
	return d;
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	sodium_free(s->buf);		/* wipes before unmapping */
	free(s);
}

void
secret_chomp(struct secret *s)
{
	while (s->len > 0 && (s->buf[s->len - 1] == '\n' ||
	    s->buf[s->len - 1] == '\r'))
		s->buf[--s->len] = '\0';
}

/* No access at all while kept (the monitor's PIN between signer starts). */
int
secret_seal(struct secret *s)
{
	return sodium_mprotect_noaccess(s->buf);
}

int
secret_unseal(struct secret *s)
{
	return sodium_mprotect_readonly(s->buf);
}
