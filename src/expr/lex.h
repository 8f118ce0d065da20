/*
 * lex.h - the SQL tokenizer shared by the expression parser (ast.h) and,
 * later, the SQL front end: one token at a time from a byte offset of a
 * text, with one token of lookahead.
 *
 * Tokens: identifiers (bare: [A-Za-z_][A-Za-z0-9_]*, or double-quoted
 * with "" for a quote), integers (digits), decimals (digits with a '.'
 * and/or an exponent), strings ('...' with '' for a quote), keywords
 * (case-insensitive) and the punctuation ( ) , . ; = <> != < <= > >= + -
 * * /.  Space, tab, CR, LF, FF, VT, "-- to end of line" and
 * "/ * ... * /" comments separate tokens.  Strings, quoted identifiers
 * and comments must be valid UTF-8; a NUL byte is refused everywhere.
 *
 * Positions: a token is the byte range [start, end) of the text; messages
 * name it as line:column (sr_lex_where), both from 1, the column counting
 * characters (UTF-8 sequences), so an error in a SQL text points into the
 * whole text, not into the expression.
 *
 * The lexer borrows the text: it must stay valid and unchanged while the
 * lexer and its tokens are in use.  Nothing here allocates.
 */
#ifndef SR_LEX_H
#define SR_LEX_H

#include <stdarg.h>
#include <stddef.h>

#include "base/err.h"

enum sr_tok {
	SR_TOK_EOF = 0,
	SR_TOK_IDENT,       /* bare identifier (kw set for non-reserved keywords) */
	SR_TOK_QIDENT,      /* "quoted identifier" */
	SR_TOK_INT,         /* 123 */
	SR_TOK_DECIMAL,     /* 1.5  .5  1e3  2.5E-3 */
	SR_TOK_STRING,      /* 'text' */
	SR_TOK_KEYWORD,     /* reserved word: kw says which */
	SR_TOK_LPAREN,
	SR_TOK_RPAREN,
	SR_TOK_COMMA,
	SR_TOK_DOT,
	SR_TOK_SEMICOLON,
	SR_TOK_EQ,          /* = */
	SR_TOK_NE,          /* <> or != */
	SR_TOK_LT,
	SR_TOK_LE,
	SR_TOK_GT,
	SR_TOK_GE,
	SR_TOK_PLUS,
	SR_TOK_MINUS,
	SR_TOK_STAR,
	SR_TOK_SLASH,
};

/*
 * Keywords.  Reserved ones (up to SR_KW_RESERVED_LAST) are never
 * identifiers: a column with such a name is written in double quotes.
 * The SQL words are reserved now so that an expression means the same in
 * a row filter and in a query.  Non-reserved ones are identifiers whose
 * meaning depends on what follows (DATE 'YYYY-MM-DD' is a date literal,
 * a bare date is a column).
 */
enum sr_kw {
	SR_KW_NONE = 0,
	SR_KW_ALL, SR_KW_AND, SR_KW_AS, SR_KW_BETWEEN, SR_KW_BY, SR_KW_CASE,
	SR_KW_DISTINCT, SR_KW_ELSE, SR_KW_END, SR_KW_FALSE, SR_KW_FROM,
	SR_KW_GROUP, SR_KW_HAVING, SR_KW_IN, SR_KW_INNER, SR_KW_IS, SR_KW_JOIN,
	SR_KW_LIKE, SR_KW_LIMIT, SR_KW_NOT, SR_KW_NULL, SR_KW_ON, SR_KW_OR,
	SR_KW_ORDER, SR_KW_SELECT, SR_KW_THEN, SR_KW_TRUE, SR_KW_UNION,
	SR_KW_WHEN, SR_KW_WHERE,
	SR_KW_RESERVED_LAST = SR_KW_WHERE,
	SR_KW_ASC, SR_KW_DATE, SR_KW_DESC,
};

struct sr_token {
	enum sr_tok kind;
	enum sr_kw kw;     /* SR_TOK_KEYWORD, or a non-reserved word as IDENT */
	size_t start;      /* byte offsets in the text: [start, end) */
	size_t end;
};

struct sr_lex {
	const char *text;
	size_t len;
	size_t pos;               /* next byte to scan */
	int has_ahead;
	struct sr_token ahead;    /* the peeked token */
};

/* Lex text[offset, len).  Positions stay relative to text. */
void sr_lex_init(struct sr_lex *lex, const char *text, size_t len,
		 size_t offset);

/* The next token, consumed.  At the end: SR_TOK_EOF with start = end = len,
 * again on every call.  SR_EINVAL (or SR_ELIMIT for an identifier longer
 * than SR_COLUMN_NAME_MAX) with "line:col: ..." on a malformed token. */
int sr_lex_next(struct sr_lex *lex, struct sr_token *tok,
		struct sr_err *err) SR_WUR;
/* The next token, not consumed. */
int sr_lex_peek(struct sr_lex *lex, struct sr_token *tok,
		struct sr_err *err) SR_WUR;

/*
 * The value of an IDENT, QIDENT or STRING token: the bytes between the
 * quotes with doubled quotes made single, in out (at least
 * tok->end - tok->start bytes; not NUL-terminated).  Returns the length.
 */
size_t sr_lex_unquote(const char *text, const struct sr_token *tok,
		      char *out);

/* Keyword spelling in capitals ("AND"), "" for SR_KW_NONE. */
const char *sr_lex_kw_name(enum sr_kw kw);

/* Line and column (from 1; columns in characters) of byte offset in text
 * (offset <= len). */
void sr_lex_where(const char *text, size_t len, size_t offset,
		  unsigned long *line, unsigned long *col);

/*
 * Fail with code and "LINE:COL: <message>" for byte offset of text.
 * Returns code (sr_fail semantics: a message already in err is kept).
 */
int sr_lex_fail(const char *text, size_t len, size_t offset,
		struct sr_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
int sr_lex_vfail(const char *text, size_t len, size_t offset,
		 struct sr_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

/* Bytes of user text quoted in one message, and the buffer for it. */
#define SR_LEX_SHOWN_MAX 40
#define SR_LEX_SHOWN_SIZE (SR_LEX_SHOWN_MAX + 16)

/*
 * [s, s + len) made safe for a message in out (SR_LEX_SHOWN_SIZE bytes):
 * control bytes become '?', text longer than SR_LEX_SHOWN_MAX is cut at a
 * character boundary and ends in "...".  Returns out.
 */
const char *sr_lex_shown(const char *s, size_t len, char *out);

/*
 * A token as a message shows it after "got ": "end of input",
 * "string 'abc'", or the token as written in quotes ("'AND'", "')'").
 * out has SR_LEX_SHOWN_SIZE + 8 bytes.  Returns out.
 */
#define SR_LEX_TOKEN_SIZE (SR_LEX_SHOWN_SIZE + 8)
const char *sr_lex_show(const char *text, const struct sr_token *tok,
			char *out);

#endif
