/*
 * lex.c - the SQL tokenizer (see lex.h).  Every error names the line and
 * column of the byte it is about, then what was wrong and what was
 * expected.
 */
#include "expr/lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/limits.h"
#include "store/value.h"
#include "base/text.h"
#include "base/banned.h"

static const char *const kw_names[] = {
	[SR_KW_ALL] = "ALL", [SR_KW_AND] = "AND", [SR_KW_AS] = "AS",
	[SR_KW_BETWEEN] = "BETWEEN", [SR_KW_BY] = "BY", [SR_KW_CASE] = "CASE",
	[SR_KW_DISTINCT] = "DISTINCT", [SR_KW_ELSE] = "ELSE",
	[SR_KW_END] = "END", [SR_KW_FALSE] = "FALSE",
	[SR_KW_FROM] = "FROM", [SR_KW_GROUP] = "GROUP",
	[SR_KW_HAVING] = "HAVING", [SR_KW_IN] = "IN", [SR_KW_INNER] = "INNER",
	[SR_KW_IS] = "IS", [SR_KW_JOIN] = "JOIN", [SR_KW_LIKE] = "LIKE",
	[SR_KW_LIMIT] = "LIMIT", [SR_KW_NOT] = "NOT", [SR_KW_NULL] = "NULL",
	[SR_KW_ON] = "ON", [SR_KW_OR] = "OR", [SR_KW_ORDER] = "ORDER",
	[SR_KW_SELECT] = "SELECT", [SR_KW_THEN] = "THEN", [SR_KW_TRUE] = "TRUE",
	[SR_KW_UNION] = "UNION", [SR_KW_WHEN] = "WHEN", [SR_KW_WHERE] = "WHERE",
	[SR_KW_ASC] = "ASC",
	[SR_KW_DATE] = "DATE", [SR_KW_DESC] = "DESC",
};

#define KW_COUNT (sizeof(kw_names) / sizeof(*kw_names))

const char *sr_lex_kw_name(enum sr_kw kw)
{
	if ((size_t)kw < KW_COUNT && kw_names[kw])
		return kw_names[kw];
	return "";
}

static enum sr_kw keyword(const char *s, size_t len)
{
	for (size_t k = 1; k < KW_COUNT; k++)
		if (strlen(kw_names[k]) == len && strncasecmp(s, kw_names[k], len) == 0)
			return (enum sr_kw)k;
	return SR_KW_NONE;
}

void sr_lex_init(struct sr_lex *lex, const char *text, size_t len,
		 size_t offset)
{
	lex->text = text;
	lex->len = len;
	lex->pos = offset <= len ? offset : len;
	lex->has_ahead = 0;
	memset(&lex->ahead, 0, sizeof(lex->ahead));
}

void sr_lex_where(const char *text, size_t len, size_t offset,
		  unsigned long *line, unsigned long *col)
{
	unsigned long l = 1, c = 1;

	if (offset > len)
		offset = len;
	for (size_t i = 0; i < offset; i++) {
		unsigned char b = (unsigned char)text[i];
		if (b == '\n') {
			l++;
			c = 1;
		} else if ((b & 0xc0) != 0x80) {
			c++;   /* continuation bytes belong to the character before */
		}
	}
	*line = l;
	*col = c;
}

int sr_lex_vfail(const char *text, size_t len, size_t offset,
		 struct sr_err *err, int code, const char *fmt, va_list ap)
{
	char msg[SR_ERR_MSG_MAX];
	unsigned long line, col;

	if (!err)
		return code;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	sr_lex_where(text, len, offset, &line, &col);
	return sr_fail(err, code, "%lu:%lu: %s", line, col, msg);
}

int sr_lex_fail(const char *text, size_t len, size_t offset,
		struct sr_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = sr_lex_vfail(text, len, offset, err, code, fmt, ap);
	va_end(ap);
	return code;
}

const char *sr_lex_shown(const char *s, size_t len, char *out)
{
	return sr_text_shown(s, len, SR_LEX_SHOWN_MAX, out);
}

const char *sr_lex_show(const char *text, const struct sr_token *tok,
			char *out)
{
	char shown[SR_LEX_SHOWN_SIZE];

	sr_lex_shown(text + tok->start, tok->end - tok->start, shown);
	if (tok->kind == SR_TOK_EOF)
		snprintf(out, SR_LEX_TOKEN_SIZE, "end of input");
	else if (tok->kind == SR_TOK_STRING)
		snprintf(out, SR_LEX_TOKEN_SIZE, "string %s", shown);
	else
		snprintf(out, SR_LEX_TOKEN_SIZE, "'%s'", shown);
	return out;
}

size_t sr_lex_unquote(const char *text, const struct sr_token *tok,
		      char *out)
{
	const char *s = text + tok->start;
	size_t len = tok->end - tok->start, n = 0;

	if (tok->kind != SR_TOK_STRING && tok->kind != SR_TOK_QIDENT) {
		memcpy(out, s, len);
		return len;
	}
	/* Inside the quotes, a doubled quote stands for one (the lexer
	 * checked there is no other kind). */
	for (size_t i = 1; i + 1 < len; i++) {
		out[n++] = s[i];
		if (s[i] == s[0])
			i++;
	}
	return n;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static int is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_ident_char(unsigned char c)
{
	return is_ident_start(c) || is_digit(c);
}

static int fail_at(const struct sr_lex *lex, size_t at, struct sr_err *err,
		   int code, const char *what)
{
	return sr_lex_fail(lex->text, lex->len, at, err, code, "%s", what);
}

/* The text of a comment, string or quoted identifier (what, starting at
 * at) in [from, to): no NUL byte, valid UTF-8. */
static int check_text(const struct sr_lex *lex, size_t at, size_t from,
		      size_t to, const char *what, struct sr_err *err)
{
	const char *nul = memchr(lex->text + from, '\0', to - from);

	if (nul)
		return fail_at(lex, (size_t)(nul - lex->text), err, SR_EINVAL,
			       "unexpected NUL byte");
	if (!sr_utf8_valid(lex->text + from, to - from))
		return sr_lex_fail(lex->text, lex->len, at, err, SR_EINVAL,
				   "%s is not valid UTF-8", what);
	return SR_OK;
}

/* Skip space and comments; an unterminated or non-UTF-8 comment fails. */
static int skip_space(struct sr_lex *lex, struct sr_err *err)
{
	const char *t = lex->text;
	int rc;

	while (lex->pos < lex->len) {
		unsigned char c = (unsigned char)t[lex->pos];
		size_t start = lex->pos, end;

		if (is_space(c)) {
			lex->pos++;
			continue;
		}
		if (c == '-' && lex->pos + 1 < lex->len && t[lex->pos + 1] == '-') {
			end = lex->pos + 2;
			while (end < lex->len && t[end] != '\n')
				end++;
		} else if (c == '/' && lex->pos + 1 < lex->len && t[lex->pos + 1] == '*') {
			end = lex->pos + 2;
			while (end + 1 < lex->len && !(t[end] == '*' && t[end + 1] == '/'))
				end++;
			if (end + 1 >= lex->len)
				return fail_at(lex, start, err, SR_EINVAL,
					       "unterminated comment: expected '*/'");
			end += 2;
		} else {
			return SR_OK;
		}
		rc = check_text(lex, start, start, end, "comment", err);
		if (rc)
			return rc;
		lex->pos = end;
	}
	return SR_OK;
}

/* 'string' or "identifier": quote is the delimiter, doubled inside. */
static int scan_quoted(struct sr_lex *lex, struct sr_token *tok,
		       struct sr_err *err)
{
	const char *t = lex->text;
	char quote = t[lex->pos];
	size_t i = lex->pos + 1, start = lex->pos;
	int is_string = quote == '\'', rc;

	for (;;) {
		if (i >= lex->len)
			return sr_lex_fail(t, lex->len, start, err, SR_EINVAL,
					   "unterminated %s: expected a closing %c",
					   is_string ? "string" : "quoted identifier",
					   quote);
		if (t[i] == quote) {
			if (i + 1 < lex->len && t[i + 1] == quote) {
				i += 2;
				continue;
			}
			break;
		}
		i++;
	}
	tok->kind = is_string ? SR_TOK_STRING : SR_TOK_QIDENT;
	tok->start = start;
	tok->end = i + 1;
	rc = check_text(lex, start, start + 1, i,
			is_string ? "string" : "quoted identifier", err);
	if (rc)
		return rc;
	if (!is_string) {
		if (i == start + 1)
			return fail_at(lex, start, err, SR_EINVAL,
				       "expected a name between the double quotes, got \"\"");
		if (i - start - 1 > SR_COLUMN_NAME_MAX)
			return sr_lex_fail(t, lex->len, start, err, SR_ELIMIT,
					   "identifier longer than the limit of %d bytes",
					   SR_COLUMN_NAME_MAX);
	}
	lex->pos = i + 1;
	return SR_OK;
}

/* digits [ '.' digits ] [ (e|E) [+|-] digits ], or '.' digits [...]. */
static int scan_number(struct sr_lex *lex, struct sr_token *tok,
		       struct sr_err *err)
{
	const char *t = lex->text;
	size_t i = lex->pos, start = lex->pos;
	char shown[SR_LEX_SHOWN_SIZE];
	int decimal = 0;

	while (i < lex->len && is_digit((unsigned char)t[i]))
		i++;
	if (i < lex->len && t[i] == '.') {
		decimal = 1;
		i++;
		while (i < lex->len && is_digit((unsigned char)t[i]))
			i++;
	}
	if (i < lex->len && (t[i] == 'e' || t[i] == 'E')) {
		size_t digits;
		decimal = 1;
		i++;
		if (i < lex->len && (t[i] == '+' || t[i] == '-'))
			i++;
		digits = i;
		while (i < lex->len && is_digit((unsigned char)t[i]))
			i++;
		if (i == digits)
			goto malformed;
	}
	/* "12abc" or "1.2.3" is no number followed by a name. */
	if (i < lex->len && (is_ident_char((unsigned char)t[i]) || t[i] == '.'))
		goto malformed;
	tok->kind = decimal ? SR_TOK_DECIMAL : SR_TOK_INT;
	tok->start = start;
	tok->end = i;
	lex->pos = i;
	return SR_OK;
malformed:
	while (i < lex->len && (is_ident_char((unsigned char)t[i]) || t[i] == '.' ||
				((t[i] == '+' || t[i] == '-') && (t[i - 1] == 'e' || t[i - 1] == 'E'))))
		i++;
	return sr_lex_fail(t, lex->len, start, err, SR_EINVAL,
			   "malformed number '%s'",
			   sr_lex_shown(t + start, i - start, shown));
}

static int scan(struct sr_lex *lex, struct sr_token *tok, struct sr_err *err)
{
	const char *t = lex->text;
	unsigned char c, next;
	int rc;

	memset(tok, 0, sizeof(*tok));
	rc = skip_space(lex, err);
	if (rc)
		return rc;
	tok->start = tok->end = lex->pos;
	if (lex->pos >= lex->len) {
		tok->kind = SR_TOK_EOF;
		return SR_OK;
	}
	c = (unsigned char)t[lex->pos];
	next = lex->pos + 1 < lex->len ? (unsigned char)t[lex->pos + 1] : 0;
	if (is_ident_start(c)) {
		size_t i = lex->pos;
		while (i < lex->len && is_ident_char((unsigned char)t[i]))
			i++;
		if (i - lex->pos > SR_COLUMN_NAME_MAX)
			return sr_lex_fail(t, lex->len, lex->pos, err, SR_ELIMIT,
					   "identifier longer than the limit of %d bytes",
					   SR_COLUMN_NAME_MAX);
		tok->kw = keyword(t + lex->pos, i - lex->pos);
		tok->kind = tok->kw != SR_KW_NONE && tok->kw <= SR_KW_RESERVED_LAST ?
			SR_TOK_KEYWORD : SR_TOK_IDENT;
		tok->end = i;
		lex->pos = i;
		return SR_OK;
	}
	if (is_digit(c) || (c == '.' && is_digit(next)))
		return scan_number(lex, tok, err);
	if (c == '\'' || c == '"')
		return scan_quoted(lex, tok, err);
	tok->end = lex->pos + 1;
	switch (c) {
	case '(': tok->kind = SR_TOK_LPAREN; break;
	case ')': tok->kind = SR_TOK_RPAREN; break;
	case ',': tok->kind = SR_TOK_COMMA; break;
	case '.': tok->kind = SR_TOK_DOT; break;
	case ';': tok->kind = SR_TOK_SEMICOLON; break;
	case '=': tok->kind = SR_TOK_EQ; break;
	case '+': tok->kind = SR_TOK_PLUS; break;
	case '-': tok->kind = SR_TOK_MINUS; break;
	case '*': tok->kind = SR_TOK_STAR; break;
	case '/': tok->kind = SR_TOK_SLASH; break;
	case '<':
		tok->kind = SR_TOK_LT;
		if (next == '=' || next == '>') {
			tok->kind = next == '=' ? SR_TOK_LE : SR_TOK_NE;
			tok->end++;
		}
		break;
	case '>':
		tok->kind = SR_TOK_GT;
		if (next == '=') {
			tok->kind = SR_TOK_GE;
			tok->end++;
		}
		break;
	case '!':
		if (next == '=') {
			tok->kind = SR_TOK_NE;
			tok->end++;
			break;
		}
		return fail_at(lex, lex->pos, err, SR_EINVAL,
			       "unexpected character '!' (expected '!=')");
	default:
		if (c == 0)
			return fail_at(lex, lex->pos, err, SR_EINVAL,
				       "unexpected NUL byte");
		if (c < 0x20 || c >= 0x7f)
			return sr_lex_fail(t, lex->len, lex->pos, err, SR_EINVAL,
					   "unexpected byte 0x%02x (names with other characters go in double quotes)",
					   c);
		return sr_lex_fail(t, lex->len, lex->pos, err, SR_EINVAL,
				   "unexpected character '%c'", c);
	}
	lex->pos = tok->end;
	return SR_OK;
}

int sr_lex_peek(struct sr_lex *lex, struct sr_token *tok, struct sr_err *err)
{
	int rc;

	if (!lex->has_ahead) {
		rc = scan(lex, &lex->ahead, err);
		if (rc)
			return rc;
		lex->has_ahead = 1;
	}
	*tok = lex->ahead;
	return SR_OK;
}

int sr_lex_next(struct sr_lex *lex, struct sr_token *tok, struct sr_err *err)
{
	int rc = sr_lex_peek(lex, tok, err);

	if (rc == SR_OK && tok->kind != SR_TOK_EOF)
		lex->has_ahead = 0;
	return rc;
}
