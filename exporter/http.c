/*
 * The exporter's HTTP request parser (http.h): "METHOD SP TARGET SP
 * HTTP/1.x" then headers, which are skipped.  Anything else is a 400.
 */
#include <string.h>

#include "http.h"

/* Offset just past the blank line that ends the headers, or 0. */
static size_t
headers_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int
is_tchar(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* A visible ASCII character, as a request target may hold. */
static int
is_vchar(char c)
{
	return c > ' ' && c < 0x7f;
}

enum http_parse
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	const char *p, *end, *sp;
	size_t n, line, path;

	/* Headers that end past the limit are too large, like endless ones. */
	if (headers_end(buf, len < HTTP_REQUEST_MAX ? len :
	    HTTP_REQUEST_MAX) == 0)
		return len >= HTTP_REQUEST_MAX ? HTTP_TOO_LARGE :
		    HTTP_INCOMPLETE;
	if ((end = memchr(buf, '\n', len)) == NULL)
		return HTTP_BAD;
	line = (size_t)(end - buf);
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	memset(req, 0, sizeof(*req));
	/* the method */
	for (n = 0; n < line && is_tchar(buf[n]); n++)
		;
	if (n == 0 || n > HTTP_METHOD_MAX || n >= line || buf[n] != ' ')
		return HTTP_BAD;
	memcpy(req->method, buf, n);
	/* the target: an absolute path, the query cut off */
	p = buf + n + 1;
	if ((sp = memchr(p, ' ', line - (size_t)(p - buf))) == NULL || sp == p ||
	    *p != '/')
		return HTTP_BAD;
	for (n = 0; p + n < sp; n++)
		if (!is_vchar(p[n]))
			return HTTP_BAD;
	for (path = 0; path < n && p[path] != '?'; path++)
		;
	if (path > HTTP_PATH_MAX)
		return HTTP_BAD;
	memcpy(req->path, p, path);
	/* the version */
	p = sp + 1;
	if ((size_t)(buf + line - p) != 8 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1'))
		return HTTP_BAD;
	req->minor = p[7] - '0';
	return HTTP_PARSED;
}
