/*
 * Tokenizer for p11brokerd.conf and policy.conf.  Bare words are made of
 * letters, digits and "_-.:/,@+*"; anything else must be quoted.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcheck.h"
#include "lex.h"

void
lex_init(struct lex *lx, const char *file, const char *buf, size_t len,
    char *errbuf, size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	lx->file = file;
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
	lx->errbuf = errbuf;
	lx->errlen = errlen;
	if (errlen > 0)
		errbuf[0] = '\0';
}

int
lex_error(struct lex *lx, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (lx->failed++ || lx->errlen == 0)
		return -1;
	n = snprintf(lx->errbuf, lx->errlen, "%s:%d: ", lx->file, line);
	if (n < 0 || (size_t)n >= lx->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(lx->errbuf + n, lx->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_word_char(int c)
{
	/* Not NUL: strchr() finds the terminator of its own string. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("_-.:/,@+*", c) != NULL);
}

static int
lex_string(struct lex *lx, struct lex_token *tok)
{
	size_t n = 0;
	int c;

	tok->kind = LEX_STRING;
	lx->pos++;			/* opening quote */
	while (lx->pos < lx->len) {
		c = (unsigned char)lx->buf[lx->pos++];
		if (c == '"') {
			tok->text[n] = '\0';
			return 0;
		}
		if (c == '\n' || c == '\0')
			break;
		if (c == '\\' && lx->pos < lx->len &&
		    (lx->buf[lx->pos] == '"' || lx->buf[lx->pos] == '\\'))
			c = (unsigned char)lx->buf[lx->pos++];
		if (n + 1 >= sizeof(tok->text))
			return lex_error(lx, tok->line, "string too long");
		tok->text[n++] = (char)c;
	}
	return lex_error(lx, tok->line, "unterminated string");
}

static int
lex_scan(struct lex *lx, struct lex_token *tok)
{
	size_t n = 0;
	int c;

	for (;;) {
		if (lx->pos >= lx->len) {
			tok->kind = LEX_EOF;
			tok->line = lx->line;
			return 0;
		}
		c = (unsigned char)lx->buf[lx->pos];
		if (c == '#') {
			while (lx->pos < lx->len && lx->buf[lx->pos] != '\n')
				lx->pos++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			lx->pos++;
			continue;
		}
		break;
	}
	tok->line = lx->line;
	tok->start = lx->pos;
	tok->text[0] = '\0';
	switch (c) {
	case '\n':
		lx->pos++;
		lx->line++;
		tok->kind = LEX_EOL;
		return 0;
	case '{':
		lx->pos++;
		tok->kind = LEX_LBRACE;
		return 0;
	case '}':
		lx->pos++;
		tok->kind = LEX_RBRACE;
		return 0;
	case '"':
		return lex_string(lx, tok);
	}
	if (!is_word_char(c)) {
		lx->pos++;
		if (c >= 0x20 && c < 0x7f)
			return lex_error(lx, tok->line,
			    "unexpected character '%c'", c);
		return lex_error(lx, tok->line,
		    "unexpected byte 0x%02x", c);
	}
	tok->kind = LEX_WORD;
	while (lx->pos < lx->len && is_word_char(lx->buf[lx->pos])) {
		if (n + 1 >= sizeof(tok->text))
			return lex_error(lx, tok->line, "word too long");
		tok->text[n++] = lx->buf[lx->pos++];
	}
	tok->text[n] = '\0';
	return 0;
}

int
lex_next(struct lex *lx, struct lex_token *tok)
{
	if (lx->have_peeked) {
		*tok = lx->peeked;
		lx->have_peeked = 0;
		return tok->kind == LEX_ERROR ? -1 : 0;
	}
	if (lex_scan(lx, tok) != 0) {
		tok->kind = LEX_ERROR;
		return -1;
	}
	tok->end = lx->pos;
	return 0;
}

int
lex_peek(struct lex *lx, struct lex_token *tok)
{
	int r;

	if (!lx->have_peeked) {
		r = lex_next(lx, &lx->peeked);
		if (r != 0)
			lx->peeked.kind = LEX_ERROR;
		lx->have_peeked = 1;
	}
	*tok = lx->peeked;
	return tok->kind == LEX_ERROR ? -1 : 0;
}

void
lex_skip_line(struct lex *lx)
{
	struct lex_token tok;

	if (lx->have_peeked) {
		lx->have_peeked = 0;
		if (lx->peeked.kind == LEX_EOL || lx->peeked.kind == LEX_EOF)
			return;
	}
	while (lx->pos < lx->len && lx->buf[lx->pos] != '\n')
		lx->pos++;
	(void)lex_next(lx, &tok);	/* the newline itself */
}

const char *
lex_kind_name(enum lex_kind kind)
{
	switch (kind) {
	case LEX_EOF:
		return "end of file";
	case LEX_EOL:
		return "end of line";
	case LEX_WORD:
		return "word";
	case LEX_STRING:
		return "string";
	case LEX_LBRACE:
		return "'{'";
	case LEX_RBRACE:
		return "'}'";
	case LEX_ERROR:
		return "error";
	}
	return "?";
}

int
lex_read_file(const char *path, size_t max, char **bufp, size_t *lenp,
    char *errbuf, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = -1;

	if ((fd = fcheck_open_read(path, FCHECK_GRANTS, &st, errbuf,
	    errlen)) == -1)
		return -1;
	if ((size_t)st.st_size > max) {
		snprintf(errbuf, errlen, "%s: file too large (%zu bytes max)",
		    path, max);
		goto out;
	}
	if ((buf = malloc(st.st_size + 1)) == NULL) {
		snprintf(errbuf, errlen, "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(errbuf, errlen, "%s: read failed", path);
			goto out;
		}
		len += n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	r = 0;
 out:
	free(buf);
	close(fd);
	return r;
}
