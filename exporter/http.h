/*
 * The exporter's HTTP: one request per connection, only the request line
 * matters.  The parser reads untrusted bytes (anyone who can reach the
 * listening address); it has a libFuzzer target (tests/fuzz/fuzz_http.c).
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#define HTTP_REQUEST_MAX	4096	/* request line and headers */
#define HTTP_METHOD_MAX		7
#define HTTP_PATH_MAX		255

enum http_parse {
	HTTP_INCOMPLETE,	/* the headers have not ended yet */
	HTTP_PARSED,
	HTTP_BAD,		/* 400 */
	HTTP_TOO_LARGE,		/* 431 */
};

struct http_request {
	char	method[HTTP_METHOD_MAX + 1];
	char	path[HTTP_PATH_MAX + 1];	/* without ?query */
	int	minor;				/* HTTP/1.minor */
};

/*
 * buf holds the len bytes received so far.  HTTP_PARSED fills req once
 * the header block has ended (CRLF CRLF, or LF LF from a hand-typed
 * request); nothing of req is set otherwise.
 */
enum http_parse http_parse_request(const char *buf, size_t len,
	    struct http_request *req);

#endif /* HTTP_H */
