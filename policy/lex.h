/*
 * The tokenizer shared by the config and policy parsers: words, quoted
 * strings, braces and ends of line; '#' starts a comment.
 */
#ifndef LEX_H
#define LEX_H

#include <stddef.h>

enum lex_kind {
	LEX_EOF,
	LEX_EOL,
	LEX_WORD,
	LEX_STRING,
	LEX_LBRACE,
	LEX_RBRACE,
	LEX_ERROR,
};

#define LEX_TOKEN_MAX	1024

struct lex_token {
	enum lex_kind	 kind;
	int		 line;
	size_t		 start, end;	/* its bytes in the buffer */
	char		 text[LEX_TOKEN_MAX];
};

struct lex {
	const char	*file;		/* for messages */
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	int		 line;
	struct lex_token peeked;
	int		 have_peeked;
	char		*errbuf;	/* first error, "file:line: msg" */
	size_t		 errlen;
	int		 failed;
};

void	lex_init(struct lex *lx, const char *file, const char *buf,
	    size_t len, char *errbuf, size_t errlen);
int	lex_next(struct lex *lx, struct lex_token *tok);
int	lex_peek(struct lex *lx, struct lex_token *tok);
/* Record an error at a line (only the first one is kept); returns -1. */
int	lex_error(struct lex *lx, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Skip to the end of the current line (after an error, to go on). */
void	lex_skip_line(struct lex *lx);
const char *lex_kind_name(enum lex_kind kind);

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
int	lex_read_file(const char *path, size_t max, char **bufp, size_t *lenp,
	    char *errbuf, size_t errlen);

#endif /* LEX_H */
