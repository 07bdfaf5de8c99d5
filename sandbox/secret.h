/*
 * Secret memory: libsodium guarded allocations (guard pages, mlock'd,
 * excluded from core dumps where the kernel allows), wiped on free.
 */
#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>
#include <stdint.h>

struct secret {
	uint8_t		*buf;
	size_t		 len;		/* bytes in use */
	size_t		 cap;
};

int	secret_init(void);
struct secret *secret_new(size_t cap);
void	secret_free(struct secret *s);
/* A copy of s (which must not be sealed); NULL when out of memory. */
struct secret *secret_dup(const struct secret *s);
/* Drop trailing CR/LF (a PIN file usually ends with a newline). */
void	secret_chomp(struct secret *s);
/* Make the buffer inaccessible while it is kept, readable for a use. */
int	secret_seal(struct secret *s);
int	secret_unseal(struct secret *s);

#endif /* SECRET_H */
