/*
 * Growing byte buffers, for the daemon and the client side alike.  A
 * buffer may hold a secret (a request, a signature, a message to sign),
 * so it never moves with realloc(): growing copies the bytes and wipes
 * the old storage, consuming wipes what it drops, and freeing wipes all.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_MIN		4096	/* the first allocation, at least */

/* Empty is all zero: struct buf b = { NULL, 0, 0 }. */
struct buf {
	uint8_t	*p;
	size_t	 len;		/* bytes in use, from p */
	size_t	 cap;		/* bytes allocated */
};

/*
 * Room for extra more bytes.  A buffer that has to grow gets twice its
 * capacity, or what it needs if that is more.  -1 when the size
 * overflows or memory runs out; the buffer is then unchanged.
 */
int	buf_reserve(struct buf *b, size_t extra);
/* Append n bytes (reserving room first); -1 as buf_reserve. */
int	buf_append(struct buf *b, const void *data, size_t n);
/* Drop the first n bytes (all, if n is more) and wipe the freed tail. */
void	buf_consume(struct buf *b, size_t n);
/* Wipe and free the storage; the buffer is empty again. */
void	buf_wipe_free(struct buf *b);

/*
 * Framed input: a header of hdrlen bytes that gives the length of the
 * body after it.  body_len returns that length, or a negative value
 * when the header is refused.
 */
typedef long	(*buf_body_len_fn)(const uint8_t *hdr, void *arg);

/*
 * The whole size of the frame that starts at off (header and body): the
 * frame is complete when b->len - off is at least that.  hdrlen while
 * the header is incomplete; body_len's negative value as it is.
 */
long	buf_frame_need(const struct buf *b, size_t off, size_t hdrlen,
	    buf_body_len_fn body_len, void *arg);

/*
 * Room for one more element in an array of *capp elements of size
 * bytes, by buf_reserve()'s rule: the new array (with *capp updated),
 * or NULL with the array unchanged.
 */
void	*buf_array_grow(void *array, size_t *capp, size_t size);

#endif /* BUF_H */
