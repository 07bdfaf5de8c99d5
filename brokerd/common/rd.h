/*
 * A bounds-checked reader over one message body, for the front/signer
 * codecs (signer_msg.c, signer_batch.c): a read past the end yields NULL
 * or 0 and sets bad, which the decoder checks once at the end.
 * Numbers are in host order (both ends are this machine).
 */
#ifndef RD_H
#define RD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
	const uint8_t	*p;
	size_t		 left;
	int		 bad;
};

static inline const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || n > r->left) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static inline uint8_t
rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);

	return p == NULL ? 0 : p[0];
}

static inline uint16_t
rd_u16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);
	uint16_t v = 0;

	if (p != NULL)
		memcpy(&v, p, 2);
	return v;
}

static inline uint32_t
rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);
	uint32_t v = 0;

	if (p != NULL)
		memcpy(&v, p, 4);
	return v;
}

#endif /* RD_H */
