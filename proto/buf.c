/*
 * Growing byte buffers that leave no copy of their bytes behind; see
 * buf.h.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int
buf_reserve(struct buf *b, size_t extra)
{
	uint8_t *np;
	size_t need, ncap;

	if (extra > SIZE_MAX - b->len)
		return -1;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	ncap = b->cap <= SIZE_MAX / 2 && 2 * b->cap > need ? 2 * b->cap :
	    need;
	if (ncap < BUF_MIN)
		ncap = BUF_MIN;
	if ((np = malloc(ncap)) == NULL)
		return -1;
	if (b->len > 0)
		memcpy(np, b->p, b->len);
	freezero(b->p, b->cap);
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	if (n == 0)
		return;
	memmove(b->p, b->p + n, b->len - n);
	explicit_bzero(b->p + b->len - n, n);
	b->len -= n;
}

void
buf_wipe_free(struct buf *b)
{
	freezero(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
}

long
buf_frame_need(const struct buf *b, size_t off, size_t hdrlen,
    buf_body_len_fn body_len, void *arg)
{
	long n;

	if (off > b->len || b->len - off < hdrlen)
		return (long)hdrlen;
	if ((n = body_len(b->p + off, arg)) < 0)
		return n;
	return (long)hdrlen + n;
}

/* An array is a full buffer of *capp * size bytes, lent to buf_reserve. */
void *
buf_array_grow(void *array, size_t *capp, size_t size)
{
	struct buf b = { array, 0, 0 };

	if (size == 0 || *capp > SIZE_MAX / size)
		return NULL;
	b.len = b.cap = *capp * size;
	if (buf_reserve(&b, size) != 0)
		return NULL;
	*capp = b.cap / size;
	return b.p;
}
