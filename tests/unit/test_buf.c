/* Unit tests for proto/buf.c: growth, limits, consuming and wiping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

/* Are the n bytes at p all zero? */
static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
test_empty(void)
{
	struct buf b = { NULL, 0, 0 };

	buf_wipe_free(&b);
	ok(b.p == NULL && b.len == 0 && b.cap == 0, "free an empty buffer");
	buf_consume(&b, 10);
	ok(b.p == NULL && b.len == 0, "consume from an empty buffer");
	is_int(buf_append(&b, NULL, 0), 0, "append nothing");
	ok(b.p == NULL && b.cap == 0, "appending nothing allocates nothing");
	is_int(buf_reserve(&b, 0), 0, "reserve nothing");
	ok(b.p == NULL, "reserving nothing allocates nothing");
}

static void
test_growth(void)
{
	struct buf b = { NULL, 0, 0 };
	uint8_t chunk[BUF_MIN], *p;
	size_t i;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	is_int(buf_reserve(&b, 1), 0, "first reserve");
	is_int(b.cap, BUF_MIN, "starts at BUF_MIN");
	is_int(b.len, 0, "reserving adds no bytes");
	is_int(buf_append(&b, chunk, sizeof(chunk)), 0, "fill to capacity");
	is_int(b.cap, BUF_MIN, "a full buffer has not grown");
	p = b.p;
	is_int(buf_reserve(&b, 0), 0, "reserve within capacity");
	ok(b.p == p, "reserving within capacity does not move");
	is_int(buf_append(&b, "z", 1), 0, "one byte more");
	is_int(b.cap, 2 * BUF_MIN, "the capacity doubles");
	is_int(b.len, BUF_MIN + 1, "length after growing");
	is_mem(b.p, BUF_MIN, chunk, sizeof(chunk), "bytes kept over growth");
	ok(b.p[BUF_MIN] == 'z', "appended after them");
	is_int(buf_reserve(&b, 10 * BUF_MIN), 0, "reserve more than double");
	is_int(b.cap, BUF_MIN + 1 + 10 * BUF_MIN, "grows to what is needed");
	is_mem(b.p, BUF_MIN, chunk, sizeof(chunk), "bytes kept again");
	buf_wipe_free(&b);
	ok(b.p == NULL && b.len == 0 && b.cap == 0, "free a used buffer");
	is_int(buf_append(&b, "again", 5), 0, "usable after free");
	is_mem(b.p, b.len, "again", 5, "contents after reuse");
	buf_wipe_free(&b);
}

static void
test_overflow(void)
{
	struct buf b = { NULL, 0, 0 };
	uint8_t *p;
	size_t cap;

	(void)buf_append(&b, "keep", 4);
	p = b.p;
	cap = b.cap;
	is_int(buf_reserve(&b, SIZE_MAX), -1, "reserve SIZE_MAX refused");
	is_int(buf_reserve(&b, SIZE_MAX - 3), -1, "len + extra wraps");
	is_int(buf_append(&b, "x", SIZE_MAX - 2), -1, "huge append refused");
	ok(b.p == p && b.len == 4 && b.cap == cap, "buffer unchanged");
	is_mem(b.p, b.len, "keep", 4, "contents unchanged");
	buf_wipe_free(&b);
}

static void
test_order(void)
{
	struct buf b = { NULL, 0, 0 };

	(void)buf_append(&b, "abc", 3);
	(void)buf_append(&b, "def", 3);
	is_mem(b.p, b.len, "abcdef", 6, "appends in order");
	buf_consume(&b, 2);
	is_mem(b.p, b.len, "cdef", 4, "consume drops the front");
	(void)buf_append(&b, "gh", 2);
	is_mem(b.p, b.len, "cdefgh", 6, "append after consume");
	buf_consume(&b, 0);
	is_mem(b.p, b.len, "cdefgh", 6, "consume nothing");
	buf_consume(&b, 100);
	is_int(b.len, 0, "consume more than there is empties");
	buf_wipe_free(&b);
}

static void
test_wipe(void)
{
	struct buf b = { NULL, 0, 0 };
	uint8_t secret[100];

	memset(secret, 'x', sizeof(secret));
	secret[99] = 'y';
	(void)buf_append(&b, secret, sizeof(secret));
	buf_consume(&b, 30);
	is_int(b.len, 70, "70 bytes left");
	ok(b.p[0] == 'x' && b.p[69] == 'y', "the rest moved to the front");
	ok(all_zero(b.p + 70, 30), "the vacated tail is wiped");
	buf_consume(&b, 70);
	ok(all_zero(b.p, 100), "consuming all wipes all");
	ok(b.cap >= 100, "the storage is kept for reuse");
	buf_wipe_free(&b);
}

/* A 2-byte big-endian body length; 0xffff is refused with -7. */
static long
test_body_len(const uint8_t *hdr, void *arg)
{
	int *calls = arg;
	long n = (long)hdr[0] << 8 | hdr[1];

	(*calls)++;
	return n == 0xffff ? -7 : n;
}

static void
test_frames(void)
{
	struct buf b = { NULL, 0, 0 };
	const uint8_t two[] = { 0, 3, 'a', 'b', 'c', 0, 1, 'd' };
	const uint8_t bad[] = { 0xff, 0xff };
	int calls = 0;

	is_int(buf_frame_need(&b, 0, 2, test_body_len, &calls), 2,
	    "empty: the header is needed");
	(void)buf_append(&b, two, 1);
	is_int(buf_frame_need(&b, 0, 2, test_body_len, &calls), 2,
	    "half a header: the header is needed");
	is_int(calls, 0, "no decoding before the header is there");
	(void)buf_append(&b, two + 1, 2);
	is_int(buf_frame_need(&b, 0, 2, test_body_len, &calls), 5,
	    "header and body");
	(void)buf_append(&b, two + 3, sizeof(two) - 3);
	is_int(buf_frame_need(&b, 5, 2, test_body_len, &calls), 3,
	    "the frame at an offset");
	is_int(buf_frame_need(&b, 8, 2, test_body_len, &calls), 2,
	    "at the end: the next header is needed");
	is_int(buf_frame_need(&b, 9, 2, test_body_len, &calls), 2,
	    "past the end: the header is needed");
	(void)buf_append(&b, bad, sizeof(bad));
	is_int(buf_frame_need(&b, 8, 2, test_body_len, &calls), -7,
	    "a refused header: the decoder's value");
	buf_wipe_free(&b);
}

struct item {
	uint64_t	 a, b, c;
};

static void
test_array(void)
{
	struct item *items = NULL, *ni;
	size_t n = 0, cap = 0, i;

	for (i = 0; i < 1000; i++) {
		if (n == cap) {
			if ((ni = buf_array_grow(items, &cap,
			    sizeof(*items))) == NULL)
				break;
			items = ni;
		}
		items[n].a = i;
		items[n].b = 2 * i;
		items[n++].c = 3 * i;
	}
	is_int(n, 1000, "1000 elements added");
	ok(cap >= 1000 && cap < 2000, "capacity doubled along the way");
	for (i = 0; i < n; i++)
		if (items[i].a != i || items[i].b != 2 * i ||
		    items[i].c != 3 * i)
			break;
	is_int(i, 1000, "every element kept");
	free(items);
	items = NULL;
	cap = 0;
	ni = buf_array_grow(items, &cap, sizeof(*items));
	is_int(cap, BUF_MIN / sizeof(*items), "the first array fills BUF_MIN");
	free(ni);
}

int
main(void)
{
	test_empty();
	test_growth();
	test_overflow();
	test_order();
	test_wipe();
	test_frames();
	test_array();
	return tap_done();
}
