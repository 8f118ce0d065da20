/*
 * parse.c - recursive descent over the grammar in ast.h.
 *
 * The C stack grows only at '(' (counted against SR_EXPR_DEPTH_MAX) and
 * by a fixed number of frames per precedence level; runs of NOT and of
 * unary minus are loops, and every node checks the height of the tree it
 * tops, so both the parser and every later pass over the tree recurse at
 * most SR_EXPR_DEPTH_MAX levels.
 */
#include "expr/ast.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "base/limits.h"
#include "store/value.h"
#include "base/banned.h"

struct parser {
	struct sr_lex *lex;
	struct sr_arena *arena;
	struct sr_err *err;
	unsigned parens;      /* '(' open around the current position */
};

static int fail(struct parser *p, size_t at, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, size_t at, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = sr_lex_vfail(p->lex->text, p->lex->len, at, p->err, code, fmt, ap);
	va_end(ap);
	return code;
}

/* "expected WHAT, got TOKEN" at the token. */
static int fail_expected(struct parser *p, const struct sr_token *tok,
			 const char *what)
{
	char got[SR_LEX_TOKEN_SIZE];

	return fail(p, tok->start, SR_EINVAL, "expected %s, got %s", what,
		    sr_lex_show(p->lex->text, tok, got));
}

/* No expression can start with tok; a keyword may be a column's name. */
static int fail_no_expression(struct parser *p, const struct sr_token *tok)
{
	char got[SR_LEX_TOKEN_SIZE];

	if (tok->kind != SR_TOK_KEYWORD)
		return fail_expected(p, tok, "an expression");
	return fail(p, tok->start, SR_EINVAL,
		    "expected an expression, got %s (a column named like a keyword goes in double quotes)",
		    sr_lex_show(p->lex->text, tok, got));
}

static int too_deep(struct parser *p, size_t at)
{
	return fail(p, at, SR_ELIMIT,
		    "expression nested more than %d levels deep",
		    SR_EXPR_DEPTH_MAX);
}

static int arena_failed(struct parser *p, int rc, size_t at)
{
	if (rc == SR_ELIMIT)
		return fail(p, at, SR_ELIMIT,
			    "expression too large: its tree needs more than %u bytes",
			    (unsigned)SR_EXPR_TREE_BYTES_MAX);
	return fail(p, at, SR_ENOMEM, "out of memory");
}

static int alloc(struct parser *p, size_t size, size_t at, void **out)
{
	int rc = sr_arena_alloc(p->arena, size, out);

	return rc ? arena_failed(p, rc, at) : SR_OK;
}

static int peek(struct parser *p, struct sr_token *tok)
{
	return sr_lex_peek(p->lex, tok, p->err);
}

static int next(struct parser *p, struct sr_token *tok)
{
	return sr_lex_next(p->lex, tok, p->err);
}

static int is_kw(const struct sr_token *tok, enum sr_kw kw)
{
	return tok->kind == SR_TOK_KEYWORD && tok->kw == kw;
}

/* A node of kind with room for nargs arguments, its text [start, end)
 * and its operator at pos; the caller fills args and calls seal(). */
static int node_new(struct parser *p, enum sr_ast_kind kind, size_t nargs,
		    size_t pos, struct sr_ast **out)
{
	struct sr_ast *n = NULL;
	void *args = NULL;
	int rc;

	*out = NULL;
	rc = alloc(p, sizeof(*n), pos, (void **)&n);
	if (rc == SR_OK && nargs)
		rc = alloc(p, nargs * sizeof(*n->args), pos, &args);
	if (rc)
		return rc;
	n->kind = kind;
	n->pos = n->start = pos;
	n->end = pos;
	n->args = args;
	n->nargs = nargs;
	n->height = 1;
	*out = n;
	return SR_OK;
}

/* Text range and height from the arguments; refuse a tree too tall. */
static int seal(struct parser *p, struct sr_ast *n)
{
	unsigned h = 0;

	for (size_t i = 0; i < n->nargs; i++) {
		if (n->args[i]->height > h)
			h = n->args[i]->height;
		if (n->args[i]->start < n->start)
			n->start = n->args[i]->start;
		if (n->args[i]->end > n->end)
			n->end = n->args[i]->end;
	}
	n->height = h + 1;
	if (n->height > SR_EXPR_DEPTH_MAX)
		return too_deep(p, n->pos);
	return SR_OK;
}

static int binary(struct parser *p, enum sr_ast_kind kind, size_t pos,
		  struct sr_ast *left, struct sr_ast *right, struct sr_ast **out)
{
	int rc = node_new(p, kind, 2, pos, out);

	if (rc)
		return rc;
	(*out)->args[0] = left;
	(*out)->args[1] = right;
	return seal(p, *out);
}

static int parse_expr(struct parser *p, struct sr_ast **out);

/* Integer token as int64; negative allows -2^63 (and errors point at the
 * '-', at minus_at). */
static int int_literal(struct parser *p, const struct sr_token *tok, int negative,
		       size_t minus_at, int64_t *out)
{
	const char *s = p->lex->text + tok->start;
	char shown[SR_LEX_SHOWN_SIZE];
	uint64_t acc = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	for (size_t i = 0; i < tok->end - tok->start; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (acc > (limit - d) / 10)
			return fail(p, negative ? minus_at : tok->start, SR_EINVAL,
				    "integer %s%s is out of range for int64",
				    negative ? "-" : "",
				    sr_lex_shown(s, tok->end - tok->start, shown));
		acc = acc * 10 + d;
	}
	*out = negative ? (int64_t)(0 - acc) : (int64_t)acc;
	return SR_OK;
}

static int float_literal(struct parser *p, const struct sr_token *tok,
			 double *out)
{
	const char *s = p->lex->text + tok->start;
	size_t len = tok->end - tok->start;
	char shown[SR_LEX_SHOWN_SIZE];

	if (len > 63)
		return fail(p, tok->start, SR_EINVAL,
			    "number '%s' is longer than 63 characters",
			    sr_lex_shown(s, len, shown));
	if (sr_value_parse_float64(s, len, out) != SR_OK)
		return fail(p, tok->start, SR_EINVAL,
			    "number %s is out of range for float64",
			    sr_lex_shown(s, len, shown));
	return SR_OK;
}

/* The string token after DATE as days since 1970-01-01. */
static int date_literal(struct parser *p, const struct sr_token *tok,
			int32_t *out)
{
	char value[16], shown[SR_LEX_SHOWN_SIZE];
	size_t len = tok->end - tok->start;

	/* 'YYYY-MM-DD' is 12 bytes with its quotes. */
	if (len <= sizeof(value)) {
		len = sr_lex_unquote(p->lex->text, tok, value);
		if (sr_value_parse_date(value, len, out) == SR_OK)
			return SR_OK;
	}
	return fail(p, tok->start, SR_EINVAL,
		    "invalid date %s (expected DATE 'YYYY-MM-DD', a real day in years 0001-9999)",
		    sr_lex_shown(p->lex->text + tok->start, tok->end - tok->start, shown));
}

/* The unquoted text of tok in the arena. */
static int token_text(struct parser *p, const struct sr_token *tok,
		      struct sr_ast *n)
{
	char *buf;
	int rc = alloc(p, tok->end - tok->start + 1, tok->start, (void **)&buf);

	if (rc)
		return rc;
	n->v.str.len = sr_lex_unquote(p->lex->text, tok, buf);
	buf[n->v.str.len] = '\0';
	n->v.str.p = buf;
	return SR_OK;
}

/* ---- names, calls and CASE ---------------------------------------- */

/* The unquoted text of a name token into part (in the arena). */
static int name_part(struct parser *p, const struct sr_token *tok,
		     struct sr_ast_name *part)
{
	char *buf;
	int rc = alloc(p, tok->end - tok->start + 1, tok->start, (void **)&buf);

	if (rc)
		return rc;
	part->len = sr_lex_unquote(p->lex->text, tok, buf);
	buf[part->len] = '\0';
	part->p = buf;
	part->quoted = tok->kind == SR_TOK_QIDENT;
	part->pos = tok->start;
	return SR_OK;
}

/* column := name [ '.' name [ '.' name ] ], the first name in tok. */
static int parse_column(struct parser *p, const struct sr_token *tok,
			struct sr_ast **out)
{
	struct sr_ast_name parts[3];
	struct sr_token dot, next_tok;
	struct sr_ast *n = NULL;
	size_t count = 0, end = tok->end;
	int rc;

	rc = name_part(p, tok, &parts[count++]);
	for (;;) {
		if (rc == SR_OK)
			rc = peek(p, &dot);
		if (rc)
			return rc;
		if (dot.kind != SR_TOK_DOT)
			break;
		if (count == 3)
			return fail(p, dot.start, SR_EINVAL,
				    "a name has at most three parts (org.dataset.column)");
		rc = next(p, &dot);
		if (rc == SR_OK)
			rc = next(p, &next_tok);
		if (rc)
			return rc;
		if (next_tok.kind != SR_TOK_IDENT && next_tok.kind != SR_TOK_QIDENT)
			return fail_expected(p, &next_tok, "a name after '.'");
		rc = name_part(p, &next_tok, &parts[count++]);
		end = next_tok.end;
	}
	rc = node_new(p, SR_AST_COLUMN, 0, tok->start, &n);
	if (rc)
		return rc;
	n->v.str.p = parts[count - 1].p;
	n->v.str.len = parts[count - 1].len;
	n->quoted = parts[count - 1].quoted;
	n->nqual = (unsigned)(count - 1);
	for (size_t i = 0; i + 1 < count; i++)
		n->qual[i] = parts[i];
	n->end = end;
	*out = n;
	return SR_OK;
}

static const struct {
	const char *name;
	enum sr_func func;
	unsigned args;        /* exact count (COUNT: 1, or '*') */
} funcs[] = {
	{ "COUNT", SR_FUNC_COUNT, 1 }, { "SUM", SR_FUNC_SUM, 1 },
	{ "AVG", SR_FUNC_AVG, 1 }, { "VAR_POP", SR_FUNC_VAR_POP, 1 },
	{ "VAR_SAMP", SR_FUNC_VAR_SAMP, 1 },
	{ "STDDEV_POP", SR_FUNC_STDDEV_POP, 1 },
	{ "STDDEV_SAMP", SR_FUNC_STDDEV_SAMP, 1 },
	{ "MIN", SR_FUNC_MIN, 1 }, { "MAX", SR_FUNC_MAX, 1 },
	{ "year", SR_FUNC_YEAR, 1 }, { "month", SR_FUNC_MONTH, 1 },
	{ "date_trunc", SR_FUNC_DATE_TRUNC, 2 },
};

#define NFUNCS (sizeof(funcs) / sizeof(*funcs))

const char *sr_ast_func_name(enum sr_func func)
{
	for (size_t i = 0; i < NFUNCS; i++)
		if (funcs[i].func == func)
			return funcs[i].name;
	return "";
}

int sr_ast_is_aggregate(const struct sr_ast *a)
{
	return a->kind == SR_AST_CALL && a->func != SR_FUNC_NONE &&
	       a->func <= SR_FUNC_AGGREGATE_LAST;
}

/* An unknown function, with a hint for the names other SQLs use. */
static int fail_unknown_function(struct parser *p, const struct sr_token *tok)
{
	static const struct { const char *name, *hint; } hints[] = {
		{ "VAR", "VAR_POP or VAR_SAMP" }, { "VARIANCE", "VAR_POP or VAR_SAMP" },
		{ "STDDEV", "STDDEV_POP or STDDEV_SAMP" },
		{ "STD", "STDDEV_POP or STDDEV_SAMP" },
	};
	const char *s = p->lex->text + tok->start;
	size_t len = tok->end - tok->start;
	char shown[SR_LEX_SHOWN_SIZE];

	sr_lex_shown(s, len, shown);
	for (size_t i = 0; i < sizeof(hints) / sizeof(*hints); i++)
		if (strlen(hints[i].name) == len && strncasecmp(s, hints[i].name, len) == 0)
			return fail(p, tok->start, SR_EINVAL,
				    "unknown function '%s' (write %s)", shown,
				    hints[i].hint);
	return fail(p, tok->start, SR_EINVAL,
		    "unknown function '%s' (expected COUNT, SUM, AVG, VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP, MIN, MAX, year, month or date_trunc)",
		    shown);
}

/* call := name '(' [DISTINCT] ('*' | expr [, expr]) ')'; name in tok,
 * the '(' next. */
static int parse_call(struct parser *p, const struct sr_token *tok,
		      struct sr_ast **out)
{
	struct sr_ast *args[2] = { NULL, NULL }, *n = NULL;
	struct sr_token t, distinct_tok = { 0 };
	size_t len = tok->end - tok->start, fi, count = 0;
	unsigned flags = 0;
	int rc;

	for (fi = 0; fi < NFUNCS; fi++)
		if (strlen(funcs[fi].name) == len &&
		    strncasecmp(p->lex->text + tok->start, funcs[fi].name, len) == 0)
			break;
	if (fi == NFUNCS)
		return fail_unknown_function(p, tok);
	rc = next(p, &t);   /* '(' */
	if (rc)
		return rc;
	if (++p->parens > SR_EXPR_DEPTH_MAX)
		return too_deep(p, t.start);
	rc = peek(p, &t);
	if (rc == SR_OK && is_kw(&t, SR_KW_DISTINCT)) {
		distinct_tok = t;
		if (funcs[fi].func != SR_FUNC_COUNT)
			return fail(p, t.start, SR_EINVAL,
				    "DISTINCT is supported only in COUNT(DISTINCT ...), not in %s",
				    funcs[fi].name);
		flags |= SR_AST_DISTINCT;
		rc = next(p, &t);
		if (rc == SR_OK)
			rc = peek(p, &t);
	}
	if (rc)
		return rc;
	if (t.kind == SR_TOK_STAR) {
		if (funcs[fi].func != SR_FUNC_COUNT)
			return fail(p, t.start, SR_EINVAL,
				    "'*' is an argument of COUNT only (COUNT(*) counts rows)");
		if (flags & SR_AST_DISTINCT)
			return fail(p, distinct_tok.start, SR_EINVAL,
				    "COUNT(DISTINCT *) is not supported: name the column, as in COUNT(DISTINCT id)");
		flags |= SR_AST_STAR;
		rc = next(p, &t);
		if (rc == SR_OK)
			rc = next(p, &t);
		if (rc)
			return rc;
		if (t.kind != SR_TOK_RPAREN)
			return fail_expected(p, &t, "')' after COUNT(*");
	} else if (t.kind == SR_TOK_RPAREN) {
		if (funcs[fi].func == SR_FUNC_COUNT)
			return fail(p, t.start, SR_EINVAL,
				    "COUNT needs an argument: COUNT(*) counts rows, COUNT(x) values that are not NULL");
		return fail(p, t.start, SR_EINVAL, "%s takes %u argument%s, got none",
			    funcs[fi].name, funcs[fi].args, funcs[fi].args == 1 ? "" : "s");
	} else {
		for (;;) {
			rc = parse_expr(p, &args[count++]);
			if (rc == SR_OK)
				rc = next(p, &t);
			if (rc)
				return rc;
			if (t.kind == SR_TOK_RPAREN)
				break;
			if (t.kind != SR_TOK_COMMA)
				return fail_expected(p, &t, "',' or ')' after an argument");
			if (count == funcs[fi].args)
				return fail(p, t.start, SR_EINVAL, "%s takes %u argument%s",
					    funcs[fi].name, funcs[fi].args,
					    funcs[fi].args == 1 ? "" : "s");
		}
		if (count < funcs[fi].args)
			return fail(p, t.start, SR_EINVAL, "%s takes %u arguments, got %zu",
				    funcs[fi].name, funcs[fi].args, count);
	}
	p->parens--;
	rc = node_new(p, SR_AST_CALL, count, tok->start, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < count; i++)
		n->args[i] = args[i];
	n->func = funcs[fi].func;
	n->flags = flags;
	n->v.str.p = funcs[fi].name;
	n->v.str.len = strlen(funcs[fi].name);
	n->end = t.end;
	rc = seal(p, n);
	if (rc == SR_OK)
		*out = n;
	return rc;
}

/* case := CASE (WHEN expr THEN expr)+ [ELSE expr] END; CASE in tok. */
static int parse_case(struct parser *p, const struct sr_token *tok,
		      struct sr_ast **out)
{
	struct sr_ast **args = NULL, *n = NULL;
	size_t count = 0, room = 0;
	struct sr_token t;
	unsigned flags = 0;
	int rc;

	if (++p->parens > SR_EXPR_DEPTH_MAX)
		return too_deep(p, tok->start);
	rc = next(p, &t);
	if (rc)
		return rc;
	if (!is_kw(&t, SR_KW_WHEN)) {
		char got[SR_LEX_TOKEN_SIZE];
		return fail(p, t.start, SR_EINVAL,
			    "expected WHEN after CASE, got %s (only CASE WHEN condition THEN value ... END is supported)",
			    sr_lex_show(p->lex->text, &t, got));
	}
	for (;;) {
		if (count + 2 > room) {
			struct sr_ast **bigger;
			room = room ? room * 2 : 8;
			rc = alloc(p, room * sizeof(*args), t.start, (void **)&bigger);
			if (rc)
				return rc;
			if (count)
				memcpy(bigger, args, count * sizeof(*args));
			args = bigger;
		}
		if (is_kw(&t, SR_KW_WHEN)) {
			rc = parse_expr(p, &args[count++]);
			if (rc == SR_OK)
				rc = next(p, &t);
			if (rc)
				return rc;
			if (!is_kw(&t, SR_KW_THEN))
				return fail_expected(p, &t, "THEN");
			rc = parse_expr(p, &args[count++]);
		} else if (is_kw(&t, SR_KW_ELSE)) {
			rc = parse_expr(p, &args[count++]);
			flags |= SR_AST_ELSE;
		} else {
			return fail_expected(p, &t, flags & SR_AST_ELSE ? "END" :
					     "WHEN, ELSE or END");
		}
		if (rc == SR_OK)
			rc = next(p, &t);
		if (rc)
			return rc;
		if (is_kw(&t, SR_KW_END))
			break;
		if (flags & SR_AST_ELSE)
			return fail_expected(p, &t, "END after the ELSE value");
	}
	p->parens--;
	rc = node_new(p, SR_AST_CASE, 0, tok->start, &n);
	if (rc)
		return rc;
	n->args = args;
	n->nargs = count;
	n->flags = flags;
	n->end = t.end;
	rc = seal(p, n);
	if (rc == SR_OK)
		*out = n;
	return rc;
}

/*
 * primary.  With minus set, a '-' came right before (at minus_at): a
 * number literal takes it (so -9223372036854775808 is a literal) and
 * *folded is set.
 */
static int parse_primary(struct parser *p, int minus, size_t minus_at,
			 int *folded, struct sr_ast **out)
{
	struct sr_token tok, after;
	struct sr_ast *n = NULL;
	int rc;

	*folded = 0;
	rc = next(p, &tok);
	if (rc)
		return rc;
	switch (tok.kind) {
	case SR_TOK_INT:
	case SR_TOK_DECIMAL:
		rc = node_new(p, tok.kind == SR_TOK_INT ? SR_AST_INT : SR_AST_FLOAT,
			      0, tok.start, &n);
		if (rc)
			return rc;
		if (tok.kind == SR_TOK_INT) {
			rc = int_literal(p, &tok, minus, minus_at, &n->v.i);
		} else {
			rc = float_literal(p, &tok, &n->v.f);
			if (minus)
				n->v.f = -n->v.f;
		}
		*folded = minus;
		break;
	case SR_TOK_STRING:
		rc = node_new(p, SR_AST_STRING, 0, tok.start, &n);
		if (rc == SR_OK)
			rc = token_text(p, &tok, n);
		break;
	case SR_TOK_KEYWORD:
		if (tok.kw == SR_KW_CASE)
			return parse_case(p, &tok, out);
		if (tok.kw != SR_KW_TRUE && tok.kw != SR_KW_FALSE &&
		    tok.kw != SR_KW_NULL)
			return fail_no_expression(p, &tok);
		rc = node_new(p, tok.kw == SR_KW_NULL ? SR_AST_NULL : SR_AST_BOOL,
			      0, tok.start, &n);
		if (rc == SR_OK)
			n->v.b = tok.kw == SR_KW_TRUE;
		break;
	case SR_TOK_IDENT:
	case SR_TOK_QIDENT:
		if (tok.kind == SR_TOK_IDENT && tok.kw == SR_KW_DATE) {
			rc = peek(p, &after);
			if (rc)
				return rc;
			if (after.kind == SR_TOK_STRING) {
				rc = node_new(p, SR_AST_DATE, 0, tok.start, &n);
				if (rc == SR_OK)
					rc = next(p, &after);
				if (rc == SR_OK)
					rc = date_literal(p, &after, &n->v.date);
				if (rc)
					return rc;
				n->end = after.end;
				*out = n;
				return SR_OK;
			}
		}
		rc = peek(p, &after);
		if (rc)
			return rc;
		if (tok.kind == SR_TOK_IDENT && after.kind == SR_TOK_LPAREN)
			return parse_call(p, &tok, out);
		return parse_column(p, &tok, out);
	case SR_TOK_LPAREN:
		if (++p->parens > SR_EXPR_DEPTH_MAX)
			return too_deep(p, tok.start);
		rc = parse_expr(p, &n);
		if (rc)
			return rc;
		rc = next(p, &after);
		if (rc)
			return rc;
		if (after.kind != SR_TOK_RPAREN)
			return fail_expected(p, &after, "')'");
		p->parens--;
		/* The parentheses belong to the text of what they hold. */
		n->start = tok.start;
		n->end = after.end;
		*out = n;
		return SR_OK;
	default:
		return fail_no_expression(p, &tok);
	}
	if (rc)
		return rc;
	n->end = tok.end;
	*out = n;
	return SR_OK;
}

/* unary := -* primary */
static int parse_unary(struct parser *p, struct sr_ast **out)
{
	size_t minus_at[SR_EXPR_DEPTH_MAX];
	size_t count = 0;
	struct sr_token tok;
	struct sr_ast *n = NULL;
	int rc, folded;

	for (;;) {
		rc = peek(p, &tok);
		if (rc)
			return rc;
		if (tok.kind != SR_TOK_MINUS)
			break;
		if (count == SR_EXPR_DEPTH_MAX)
			return too_deep(p, tok.start);
		minus_at[count++] = tok.start;
		rc = next(p, &tok);
		if (rc)
			return rc;
	}
	rc = parse_primary(p, count > 0, count ? minus_at[count - 1] : 0,
			   &folded, &n);
	if (rc)
		return rc;
	if (folded)
		n->start = n->pos = minus_at[--count];
	while (count > 0) {
		struct sr_ast *neg;
		rc = node_new(p, SR_AST_NEG, 1, minus_at[--count], &neg);
		if (rc)
			return rc;
		neg->args[0] = n;
		rc = seal(p, neg);
		if (rc)
			return rc;
		n = neg;
	}
	*out = n;
	return SR_OK;
}

/* mul := unary ((* | /) unary)*, and add := mul ((+ | -) mul)* */
static int parse_arith(struct parser *p, int additive, struct sr_ast **out)
{
	struct sr_ast *left = NULL, *right = NULL;
	struct sr_token tok;
	int rc;

	rc = additive ? parse_arith(p, 0, &left) : parse_unary(p, &left);
	while (rc == SR_OK) {
		enum sr_ast_kind kind;
		rc = peek(p, &tok);
		if (rc)
			break;
		if (additive && tok.kind == SR_TOK_PLUS)
			kind = SR_AST_ADD;
		else if (additive && tok.kind == SR_TOK_MINUS)
			kind = SR_AST_SUB;
		else if (!additive && tok.kind == SR_TOK_STAR)
			kind = SR_AST_MUL;
		else if (!additive && tok.kind == SR_TOK_SLASH)
			kind = SR_AST_DIV;
		else
			break;
		rc = next(p, &tok);
		if (rc == SR_OK)
			rc = additive ? parse_arith(p, 0, &right) : parse_unary(p, &right);
		if (rc == SR_OK)
			rc = binary(p, kind, tok.start, left, right, &left);
	}
	if (rc == SR_OK)
		*out = left;
	return rc;
}

static int parse_add(struct parser *p, struct sr_ast **out)
{
	return parse_arith(p, 1, out);
}

static int cmp_kind(const struct sr_token *tok, enum sr_ast_kind *kind)
{
	switch (tok->kind) {
	case SR_TOK_EQ: *kind = SR_AST_EQ; return 1;
	case SR_TOK_NE: *kind = SR_AST_NE; return 1;
	case SR_TOK_LT: *kind = SR_AST_LT; return 1;
	case SR_TOK_LE: *kind = SR_AST_LE; return 1;
	case SR_TOK_GT: *kind = SR_AST_GT; return 1;
	case SR_TOK_GE: *kind = SR_AST_GE; return 1;
	default: return 0;
	}
}

/* Whether tok would start a comparison after an operand. */
static int starts_comparison(const struct sr_token *tok)
{
	enum sr_ast_kind kind;

	return cmp_kind(tok, &kind) || is_kw(tok, SR_KW_IS) ||
	       is_kw(tok, SR_KW_IN) || is_kw(tok, SR_KW_BETWEEN) ||
	       is_kw(tok, SR_KW_LIKE);
}

/* '(' item, ... ')' after IN; items go to n->args[1..]. */
static int parse_in_list(struct parser *p, struct sr_ast *left, size_t pos,
			 struct sr_ast **out)
{
	struct sr_ast **items = NULL, *item = NULL, *n = NULL;
	size_t count = 0, room = 0;
	struct sr_token tok;
	int rc;

	rc = next(p, &tok);
	if (rc)
		return rc;
	if (tok.kind != SR_TOK_LPAREN)
		return fail_expected(p, &tok, "'(' after IN");
	for (;;) {
		rc = peek(p, &tok);
		if (rc)
			return rc;
		if (count == SR_EXPR_IN_LIST_MAX)
			return fail(p, tok.start, SR_ELIMIT,
				    "IN list longer than the limit of %d items",
				    SR_EXPR_IN_LIST_MAX);
		rc = parse_add(p, &item);
		if (rc)
			return rc;
		if (count == room) {
			/* Grow in the arena: the old array is dropped, which
			 * costs at most as much again. */
			struct sr_ast **bigger;
			room = room ? room * 2 : 8;
			rc = alloc(p, room * sizeof(*items), tok.start, (void **)&bigger);
			if (rc)
				return rc;
			if (count)
				memcpy(bigger, items, count * sizeof(*items));
			items = bigger;
		}
		items[count++] = item;
		rc = next(p, &tok);
		if (rc)
			return rc;
		if (tok.kind == SR_TOK_RPAREN)
			break;
		if (tok.kind != SR_TOK_COMMA)
			return fail_expected(p, &tok, "',' or ')' in the IN list");
	}
	rc = node_new(p, SR_AST_IN, count + 1, pos, &n);
	if (rc)
		return rc;
	n->args[0] = left;
	memcpy(n->args + 1, items, count * sizeof(*items));
	rc = seal(p, n);
	n->end = tok.end;
	*out = n;
	return rc;
}

/* cmp := add [comparison] */
static int parse_cmp(struct parser *p, struct sr_ast **out)
{
	struct sr_ast *left = NULL, *right = NULL, *n = NULL;
	struct sr_token tok, op;
	enum sr_ast_kind kind;
	int negated = 0, rc;
	char got[SR_LEX_TOKEN_SIZE];

	rc = parse_add(p, &left);
	if (rc == SR_OK)
		rc = peek(p, &op);
	if (rc)
		return rc;
	if (cmp_kind(&op, &kind)) {
		rc = next(p, &tok);
		if (rc == SR_OK)
			rc = parse_add(p, &right);
		if (rc == SR_OK)
			rc = binary(p, kind, op.start, left, right, &n);
	} else if (is_kw(&op, SR_KW_IS)) {
		rc = next(p, &tok);
		if (rc == SR_OK)
			rc = next(p, &tok);
		if (rc == SR_OK && is_kw(&tok, SR_KW_NOT)) {
			negated = 1;
			rc = next(p, &tok);
		}
		if (rc == SR_OK && !is_kw(&tok, SR_KW_NULL))
			return fail_expected(p, &tok, negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
		if (rc == SR_OK)
			rc = node_new(p, SR_AST_IS_NULL, 1, op.start, &n);
		if (rc == SR_OK) {
			n->negated = negated;
			n->args[0] = left;
			n->end = tok.end;
			rc = seal(p, n);
		}
	} else if (is_kw(&op, SR_KW_NOT) || is_kw(&op, SR_KW_IN) ||
		   is_kw(&op, SR_KW_BETWEEN) || is_kw(&op, SR_KW_LIKE)) {
		rc = next(p, &tok);
		if (rc == SR_OK && is_kw(&op, SR_KW_NOT)) {
			negated = 1;
			rc = next(p, &tok);
			if (rc == SR_OK && !is_kw(&tok, SR_KW_IN) &&
			    !is_kw(&tok, SR_KW_BETWEEN) && !is_kw(&tok, SR_KW_LIKE))
				return fail_expected(p, &tok, "IN, BETWEEN or LIKE after NOT");
		}
		if (rc)
			return rc;
		if (is_kw(&tok, SR_KW_IN)) {
			rc = parse_in_list(p, left, op.start, &n);
		} else if (is_kw(&tok, SR_KW_BETWEEN)) {
			struct sr_ast *lo = NULL, *hi = NULL;
			rc = parse_add(p, &lo);
			if (rc == SR_OK)
				rc = next(p, &tok);
			if (rc == SR_OK && !is_kw(&tok, SR_KW_AND))
				return fail_expected(p, &tok, "AND between the bounds of BETWEEN");
			if (rc == SR_OK)
				rc = parse_add(p, &hi);
			if (rc == SR_OK)
				rc = node_new(p, SR_AST_BETWEEN, 3, op.start, &n);
			if (rc == SR_OK) {
				n->args[0] = left;
				n->args[1] = lo;
				n->args[2] = hi;
				rc = seal(p, n);
			}
		} else {
			rc = parse_add(p, &right);
			if (rc == SR_OK)
				rc = binary(p, SR_AST_LIKE, op.start, left, right, &n);
		}
		if (n)
			n->negated = negated;
	} else {
		*out = left;
		return SR_OK;
	}
	if (rc == SR_OK)
		rc = peek(p, &tok);
	if (rc)
		return rc;
	if (starts_comparison(&tok))
		return fail(p, tok.start, SR_EINVAL,
			    "%s cannot follow a comparison (comparisons do not chain: join them with AND, or use parentheses)",
			    sr_lex_show(p->lex->text, &tok, got));
	*out = n;
	return SR_OK;
}

/* not := NOT* cmp */
static int parse_not(struct parser *p, struct sr_ast **out)
{
	size_t not_at[SR_EXPR_DEPTH_MAX];
	size_t count = 0;
	struct sr_token tok;
	struct sr_ast *n = NULL;
	int rc;

	for (;;) {
		rc = peek(p, &tok);
		if (rc)
			return rc;
		if (!is_kw(&tok, SR_KW_NOT))
			break;
		if (count == SR_EXPR_DEPTH_MAX)
			return too_deep(p, tok.start);
		not_at[count++] = tok.start;
		rc = next(p, &tok);
		if (rc)
			return rc;
	}
	rc = parse_cmp(p, &n);
	while (rc == SR_OK && count > 0) {
		struct sr_ast *not;
		rc = node_new(p, SR_AST_NOT, 1, not_at[--count], &not);
		if (rc)
			break;
		not->args[0] = n;
		rc = seal(p, not);
		n = not;
	}
	if (rc == SR_OK)
		*out = n;
	return rc;
}

/*
 * A chain of terms joined by kw (AND, or OR): one node with every term.
 * or := and (OR and)*; and := not (AND not)*.
 */
static int parse_logic(struct parser *p, int is_or, struct sr_ast **out)
{
	struct sr_ast **terms = NULL, *term = NULL, *n = NULL;
	size_t count = 0, room = 0, first_op = 0;
	struct sr_token tok;
	int rc;

	for (;;) {
		rc = is_or ? parse_logic(p, 0, &term) : parse_not(p, &term);
		if (rc == SR_OK)
			rc = peek(p, &tok);
		if (rc)
			return rc;
		if (count == 0 && !is_kw(&tok, is_or ? SR_KW_OR : SR_KW_AND)) {
			*out = term;
			return SR_OK;
		}
		if (count == room) {
			struct sr_ast **bigger;
			room = room ? room * 2 : 8;
			rc = alloc(p, room * sizeof(*terms), tok.start, (void **)&bigger);
			if (rc)
				return rc;
			if (count)
				memcpy(bigger, terms, count * sizeof(*terms));
			terms = bigger;
		}
		terms[count++] = term;
		if (!is_kw(&tok, is_or ? SR_KW_OR : SR_KW_AND))
			break;
		if (count == 1)
			first_op = tok.start;
		rc = next(p, &tok);
		if (rc)
			return rc;
	}
	rc = node_new(p, is_or ? SR_AST_OR : SR_AST_AND, 0, first_op, &n);
	if (rc)
		return rc;
	n->args = terms;
	n->nargs = count;
	rc = seal(p, n);
	if (rc == SR_OK)
		*out = n;
	return rc;
}

static int parse_expr(struct parser *p, struct sr_ast **out)
{
	return parse_logic(p, 1, out);
}

int sr_ast_parse(struct sr_lex *lex, struct sr_arena *arena,
		 struct sr_ast **out, struct sr_err *err)
{
	struct parser p = { .lex = lex, .arena = arena, .err = err };

	*out = NULL;
	return parse_expr(&p, out);
}

int sr_ast_parse_text(const char *text, size_t len, size_t offset,
		      struct sr_arena *arena, struct sr_ast **out, size_t *end,
		      struct sr_err *err)
{
	struct sr_lex lex;
	struct sr_token tok;
	int rc;

	sr_lex_init(&lex, text, len, offset);
	rc = sr_ast_parse(&lex, arena, out, err);
	if (rc == SR_OK)
		rc = sr_lex_peek(&lex, &tok, err);
	if (rc) {
		*out = NULL;
		return rc;
	}
	if (end)
		*end = tok.start;
	return SR_OK;
}

const char *sr_ast_op_name(enum sr_ast_kind kind, int negated)
{
	switch (kind) {
	case SR_AST_NEG: return "-";
	case SR_AST_NOT: return "NOT";
	case SR_AST_ADD: return "+";
	case SR_AST_SUB: return "-";
	case SR_AST_MUL: return "*";
	case SR_AST_DIV: return "/";
	case SR_AST_EQ: return "=";
	case SR_AST_NE: return "<>";
	case SR_AST_LT: return "<";
	case SR_AST_LE: return "<=";
	case SR_AST_GT: return ">";
	case SR_AST_GE: return ">=";
	case SR_AST_AND: return "AND";
	case SR_AST_OR: return "OR";
	case SR_AST_IS_NULL: return negated ? "IS NOT NULL" : "IS NULL";
	case SR_AST_IN: return negated ? "NOT IN" : "IN";
	case SR_AST_BETWEEN: return negated ? "NOT BETWEEN" : "BETWEEN";
	case SR_AST_LIKE: return negated ? "NOT LIKE" : "LIKE";
	case SR_AST_CASE: return "CASE";
	default: return "";
	}
}
