/*
 * Fuzz target for the exporter's HTTP request parser (exporter/http.c):
 * the input is what a client sent.  Parsed at every length from 0 to the
 * whole input (as it arrives in pieces), the verdict may only move from
 * "incomplete" to a final one and then stay; a parsed request has a
 * method of capitals, an absolute path without '?' or spaces, version
 * 1.0 or 1.1; an input over the limit never stays incomplete.
 */
#include <string.h>

#include "fuzz.h"
#include "http.h"

static void
check_request(const struct http_request *req)
{
	size_t i, n;

	n = strlen(req->method);
	FUZZ_ASSERT(n >= 1 && n <= HTTP_METHOD_MAX);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(req->method[i] >= 'A' && req->method[i] <= 'Z');
	n = strlen(req->path);
	FUZZ_ASSERT(n >= 1 && n <= HTTP_PATH_MAX && req->path[0] == '/');
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(req->path[i] > ' ' && req->path[i] < 0x7f &&
		    req->path[i] != '?');
	FUZZ_ASSERT(req->minor == 0 || req->minor == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req, first;
	enum http_parse r, final = HTTP_INCOMPLETE;
	size_t len;

	for (len = 0; len <= size; len++) {
		memset(&req, 0xa5, sizeof(req));
		r = http_parse_request((const char *)data, len, &req);
		if (final != HTTP_INCOMPLETE) {
			/* once final, the same verdict on more bytes */
			FUZZ_ASSERT(r == final);
			if (r == HTTP_PARSED)
				FUZZ_ASSERT(memcmp(&req, &first,
				    sizeof(req)) == 0);
			continue;
		}
		if (len >= HTTP_REQUEST_MAX)
			FUZZ_ASSERT(r != HTTP_INCOMPLETE);
		if (r == HTTP_PARSED) {
			check_request(&req);
			first = req;
		}
		final = r;
	}
	return 0;
}
