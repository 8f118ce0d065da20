/*
 * parse.c - recursive descent over the grammar in parse.h.  The SQL
 * parser owns the lexer; every scalar expression is src/expr's
 * (sr_ast_parse), which stops at the first token it cannot use, so the
 * clauses are read here token by token and the expressions there.
 *
 * Nothing here recurses except through sr_ast_parse, which bounds its own
 * depth: the statement itself is flat (no subqueries).
 */
#include "sql/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "expr/lex.h"
#include "base/banned.h"

struct parser {
	struct sr_lex lex;
	struct sr_arena *arena;
	struct sr_err *err;
	struct sr_sql_stmt *stmt;
};

/* The clauses after FROM, in the order they must come. */
enum stage {
	STAGE_FROM = 1, STAGE_WHERE, STAGE_GROUP, STAGE_HAVING, STAGE_ORDER,
	STAGE_LIMIT,
};

static const char *const stage_names[] = {
	[STAGE_FROM] = "FROM", [STAGE_WHERE] = "WHERE", [STAGE_GROUP] = "GROUP BY",
	[STAGE_HAVING] = "HAVING", [STAGE_ORDER] = "ORDER BY", [STAGE_LIMIT] = "LIMIT",
};

static int fail(struct parser *p, size_t at, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, size_t at, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = sr_lex_vfail(p->lex.text, p->lex.len, at, p->err, code, fmt, ap);
	va_end(ap);
	return code;
}

static int fail_expected(struct parser *p, const struct sr_token *tok,
			 const char *what)
{
	char got[SR_LEX_TOKEN_SIZE];

	return fail(p, tok->start, SR_EINVAL, "expected %s, got %s", what,
		    sr_lex_show(p->lex.text, tok, got));
}

static int alloc(struct parser *p, size_t size, size_t at, void **out)
{
	int rc = sr_arena_alloc(p->arena, size, out);

	if (rc == SR_ELIMIT)
		return fail(p, at, SR_ELIMIT,
			    "query too large: its tree needs more than %u bytes",
			    (unsigned)SR_EXPR_TREE_BYTES_MAX);
	if (rc)
		return fail(p, at, SR_ENOMEM, "out of memory");
	return SR_OK;
}

/* Make room for one more element of size in *arr (count used, *room
 * allocated), doubling in the arena. */
static int grow(struct parser *p, void **arr, size_t count, size_t *room,
		size_t size, size_t at)
{
	void *bigger;
	int rc;

	if (count < *room)
		return SR_OK;
	*room = *room ? *room * 2 : 4;
	rc = alloc(p, *room * size, at, &bigger);
	if (rc)
		return rc;
	if (count)
		memcpy(bigger, *arr, count * size);
	*arr = bigger;
	return SR_OK;
}

static int peek(struct parser *p, struct sr_token *tok)
{
	return sr_lex_peek(&p->lex, tok, p->err);
}

static int next(struct parser *p, struct sr_token *tok)
{
	return sr_lex_next(&p->lex, tok, p->err);
}

/* The token after the next one, without consuming either. */
static int peek2(struct parser *p, struct sr_token *tok)
{
	struct sr_lex saved = p->lex;
	struct sr_token first;
	int rc = next(p, &first);

	if (rc == SR_OK)
		rc = peek(p, tok);
	p->lex = saved;
	return rc;
}

static int is_kw(const struct sr_token *tok, enum sr_kw kw)
{
	return tok->kind == SR_TOK_KEYWORD && tok->kw == kw;
}

/* A name token (bare or quoted) into name, in the arena. */
static int name_of(struct parser *p, const struct sr_token *tok,
		   struct sr_ast_name *name)
{
	char *buf;
	int rc = alloc(p, tok->end - tok->start + 1, tok->start, (void **)&buf);

	if (rc)
		return rc;
	name->len = sr_lex_unquote(p->lex.text, tok, buf);
	buf[name->len] = '\0';
	name->p = buf;
	name->quoted = tok->kind == SR_TOK_QIDENT;
	name->pos = tok->start;
	return SR_OK;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * One part of a dataset name: a quoted name, or a bare one that may go on
 * with '-' and more name characters (the lexer would read "my-clinic" as
 * a subtraction).  The lexer continues after it.
 */
static int dataset_part(struct parser *p, const char *what,
			struct sr_ast_name *name, size_t *end)
{
	struct sr_token tok;
	int rc = next(p, &tok);

	if (rc)
		return rc;
	if (tok.kind == SR_TOK_QIDENT) {
		*end = tok.end;
		return name_of(p, &tok, name);
	}
	if (tok.kind != SR_TOK_IDENT)
		return fail_expected(p, &tok, what);
	if (tok.end + 1 < p->lex.len && p->lex.text[tok.end] == '-' &&
	    p->lex.text[tok.end + 1] != '-') {
		/* "--" starts a comment, even right after a name. */
		while (tok.end < p->lex.len && is_name_char(p->lex.text[tok.end]) &&
		       !(p->lex.text[tok.end] == '-' && tok.end + 1 < p->lex.len &&
			 p->lex.text[tok.end + 1] == '-'))
			tok.end++;
		if (tok.end - tok.start > SR_ORG_NAME_MAX + SR_DATASET_NAME_MAX)
			return fail(p, tok.start, SR_ELIMIT,
				    "dataset name longer than the limit of %d bytes",
				    SR_ORG_NAME_MAX + SR_DATASET_NAME_MAX);
		sr_lex_init(&p->lex, p->lex.text, p->lex.len, tok.end);
	}
	*end = tok.end;
	return name_of(p, &tok, name);
}

/* Whether tok can follow a table of FROM (so a bare name before it is an
 * alias). */
static int ends_table(const struct sr_token *tok)
{
	if (tok->kind == SR_TOK_EOF || tok->kind == SR_TOK_SEMICOLON ||
	    tok->kind == SR_TOK_COMMA)
		return 1;
	if (tok->kind != SR_TOK_KEYWORD)
		return 0;
	switch (tok->kw) {
	case SR_KW_WHERE: case SR_KW_GROUP: case SR_KW_HAVING: case SR_KW_ORDER:
	case SR_KW_LIMIT: case SR_KW_UNION: case SR_KW_JOIN: case SR_KW_INNER:
	case SR_KW_ON:
		return 1;
	default:
		return 0;
	}
}

/*
 * [AS] name after a select item or a table.  With AS any name; without,
 * a bare name with no keyword meaning (not ASC, DESC, DATE) or a quoted
 * one, only when the token after it is one that ends (*ends)(...).
 */
static int parse_alias(struct parser *p, int (*ends)(const struct sr_token *),
		       struct sr_ast_name *alias, size_t *end)
{
	struct sr_token tok, after;
	int rc = peek(p, &tok);

	if (rc)
		return rc;
	if (is_kw(&tok, SR_KW_AS)) {
		rc = next(p, &tok);
		if (rc == SR_OK)
			rc = next(p, &tok);
		if (rc)
			return rc;
		if (tok.kind != SR_TOK_IDENT && tok.kind != SR_TOK_QIDENT)
			return fail_expected(p, &tok, "a name after AS");
		*end = tok.end;
		return name_of(p, &tok, alias);
	}
	if (!(tok.kind == SR_TOK_QIDENT ||
	      (tok.kind == SR_TOK_IDENT && tok.kw == SR_KW_NONE)))
		return SR_OK;
	rc = peek2(p, &after);
	if (rc || !ends(&after))
		return rc;
	rc = next(p, &tok);
	*end = tok.end;
	return rc ? rc : name_of(p, &tok, alias);
}

static int ends_item(const struct sr_token *tok)
{
	return tok->kind == SR_TOK_COMMA || is_kw(tok, SR_KW_FROM);
}

static int parse_select(struct parser *p)
{
	struct sr_sql_stmt *s = p->stmt;
	struct sr_token tok;
	size_t room = 0, end;
	int rc;

	for (;;) {
		rc = peek(p, &tok);
		if (rc)
			return rc;
		if (tok.kind == SR_TOK_STAR)
			return fail(p, tok.start, SR_EINVAL,
				    "SELECT * is not supported: name the columns and aggregates to compute");
		if (s->nselect == SR_SQL_LIST_MAX)
			return fail(p, tok.start, SR_ELIMIT,
				    "SELECT list longer than the limit of %d items",
				    SR_SQL_LIST_MAX);
		rc = grow(p, (void **)&s->select, s->nselect, &room,
			  sizeof(*s->select), tok.start);
		if (rc == SR_OK)
			rc = sr_ast_parse(&p->lex, p->arena, &s->select[s->nselect].expr,
					  p->err);
		if (rc == SR_OK)
			rc = parse_alias(p, ends_item, &s->select[s->nselect].alias,
					 &end);
		if (rc == SR_OK)
			rc = peek(p, &tok);
		if (rc)
			return rc;
		s->nselect++;
		if (tok.kind != SR_TOK_COMMA)
			return SR_OK;
		rc = next(p, &tok);
		if (rc)
			return rc;
	}
}

/* table := org '.' dataset [[AS] alias] */
static int parse_table(struct parser *p, struct sr_sql_table *t)
{
	struct sr_token tok;
	size_t end;
	int rc;

	rc = peek(p, &tok);
	if (rc)
		return rc;
	t->start = tok.start;
	rc = dataset_part(p, "a dataset named org.dataset", &t->org, &end);
	if (rc == SR_OK)
		rc = peek(p, &tok);
	if (rc)
		return rc;
	if (tok.kind != SR_TOK_DOT) {
		char shown[SR_LEX_SHOWN_SIZE];
		return fail(p, t->start, SR_EINVAL,
			    "expected a dataset named org.dataset, got '%s' alone",
			    sr_lex_shown(t->org.p, t->org.len, shown));
	}
	rc = next(p, &tok);
	if (rc == SR_OK)
		rc = dataset_part(p, "a dataset name after the organization", &t->dataset,
				  &end);
	if (rc == SR_OK)
		rc = parse_alias(p, ends_table, &t->alias, &end);
	t->end = end;
	return rc;
}

static int parse_from(struct parser *p)
{
	struct sr_sql_stmt *s = p->stmt;
	struct sr_token tok;
	size_t room = 0;
	int rc;

	s->from_kind = SR_SQL_FROM_ONE;
	for (;;) {
		enum sr_sql_from_kind kind = SR_SQL_FROM_ONE;
		size_t op_pos = 0;
		if (s->nfrom) {
			rc = peek(p, &tok);
			if (rc)
				return rc;
			if (tok.kind == SR_TOK_COMMA)
				return fail(p, tok.start, SR_EINVAL,
					    "a list of datasets is not supported: combine them with UNION ALL or JOIN ... ON");
			if (is_kw(&tok, SR_KW_UNION))
				kind = SR_SQL_FROM_UNION;
			else if (is_kw(&tok, SR_KW_JOIN) || is_kw(&tok, SR_KW_INNER))
				kind = SR_SQL_FROM_JOIN;
			else
				return SR_OK;
			op_pos = tok.start;
			if (s->from_kind != SR_SQL_FROM_ONE && s->from_kind != kind)
				return fail(p, tok.start, SR_EINVAL,
					    "a FROM cannot mix UNION ALL and JOIN");
			s->from_kind = kind;
			rc = next(p, &tok);
			if (rc == SR_OK && kind == SR_SQL_FROM_UNION) {
				rc = next(p, &tok);
				if (rc == SR_OK && !is_kw(&tok, SR_KW_ALL)) {
					char got[SR_LEX_TOKEN_SIZE];
					return fail(p, tok.start, SR_EINVAL,
						    "expected ALL after UNION, got %s (UNION without ALL removes duplicate rows, which is not supported)",
						    sr_lex_show(p->lex.text, &tok, got));
				}
			} else if (rc == SR_OK && is_kw(&tok, SR_KW_INNER)) {
				rc = next(p, &tok);
				if (rc == SR_OK && !is_kw(&tok, SR_KW_JOIN))
					return fail_expected(p, &tok, "JOIN after INNER");
			}
			if (rc)
				return rc;
			rc = peek(p, &tok);
			if (rc)
				return rc;
		} else {
			rc = peek(p, &tok);
			if (rc)
				return rc;
		}
		if (s->nfrom == SR_SQL_INPUTS_MAX)
			return fail(p, tok.start, SR_ELIMIT,
				    "FROM names more than the limit of %d datasets",
				    SR_SQL_INPUTS_MAX);
		rc = grow(p, (void **)&s->from, s->nfrom, &room, sizeof(*s->from),
			  tok.start);
		if (rc)
			return rc;
		memset(&s->from[s->nfrom], 0, sizeof(*s->from));
		s->from[s->nfrom].op_pos = op_pos;
		rc = parse_table(p, &s->from[s->nfrom]);
		if (rc)
			return rc;
		if (kind == SR_SQL_FROM_JOIN) {
			rc = next(p, &tok);
			if (rc)
				return rc;
			if (!is_kw(&tok, SR_KW_ON))
				return fail_expected(p, &tok, "ON and the join condition");
			rc = sr_ast_parse(&p->lex, p->arena, &s->from[s->nfrom].on, p->err);
			if (rc)
				return rc;
		}
		s->nfrom++;
	}
}

/* expr (',' expr)* for GROUP BY; with order set, each may be followed by
 * ASC or DESC (ORDER BY). */
static int parse_list(struct parser *p, const char *what, int order)
{
	struct sr_sql_stmt *s = p->stmt;
	struct sr_token tok;
	size_t room = 0, *count = order ? &s->norder : &s->ngroup;
	int rc;

	for (;;) {
		struct sr_ast *e = NULL;
		rc = peek(p, &tok);
		if (rc)
			return rc;
		if (*count == SR_SQL_LIST_MAX)
			return fail(p, tok.start, SR_ELIMIT,
				    "%s list longer than the limit of %d items", what,
				    SR_SQL_LIST_MAX);
		rc = order ? grow(p, (void **)&s->order_by, *count, &room,
				  sizeof(*s->order_by), tok.start) :
			     grow(p, (void **)&s->group_by, *count, &room,
				  sizeof(*s->group_by), tok.start);
		if (rc == SR_OK)
			rc = sr_ast_parse(&p->lex, p->arena, &e, p->err);
		if (rc == SR_OK)
			rc = peek(p, &tok);
		if (rc)
			return rc;
		if (order) {
			s->order_by[*count].expr = e;
			s->order_by[*count].desc = 0;
			if (tok.kind == SR_TOK_IDENT &&
			    (tok.kw == SR_KW_ASC || tok.kw == SR_KW_DESC)) {
				s->order_by[*count].desc = tok.kw == SR_KW_DESC;
				rc = next(p, &tok);
				if (rc == SR_OK)
					rc = peek(p, &tok);
				if (rc)
					return rc;
			}
		} else {
			s->group_by[*count] = e;
		}
		(*count)++;
		if (tok.kind != SR_TOK_COMMA)
			return SR_OK;
		rc = next(p, &tok);
		if (rc)
			return rc;
	}
}

/* BY after GROUP or ORDER (in tok, consumed). */
static int expect_by(struct parser *p, const struct sr_token *kw)
{
	struct sr_token tok;
	char what[16];
	int rc = next(p, &tok);

	if (rc)
		return rc;
	if (!is_kw(&tok, SR_KW_BY)) {
		snprintf(what, sizeof(what), "BY after %s", sr_lex_kw_name(kw->kw));
		return fail_expected(p, &tok, what);
	}
	return SR_OK;
}

static int parse_limit(struct parser *p)
{
	struct sr_token tok;
	uint64_t acc = 0;
	int rc = next(p, &tok);

	if (rc)
		return rc;
	if (tok.kind != SR_TOK_INT)
		return fail_expected(p, &tok, "a number of rows after LIMIT");
	for (size_t i = tok.start; i < tok.end; i++) {
		unsigned d = (unsigned)(p->lex.text[i] - '0');
		if (acc > ((uint64_t)INT64_MAX - d) / 10)
			return fail(p, tok.start, SR_EINVAL,
				    "LIMIT %.*s is out of range for int64",
				    (int)(tok.end - tok.start > 40 ? 40 : tok.end - tok.start),
				    p->lex.text + tok.start);
		acc = acc * 10 + d;
	}
	p->stmt->has_limit = 1;
	p->stmt->limit = (int64_t)acc;
	return SR_OK;
}

static enum stage stage_of(const struct sr_token *tok)
{
	if (tok->kind != SR_TOK_KEYWORD)
		return 0;
	switch (tok->kw) {
	case SR_KW_WHERE: return STAGE_WHERE;
	case SR_KW_GROUP: return STAGE_GROUP;
	case SR_KW_HAVING: return STAGE_HAVING;
	case SR_KW_ORDER: return STAGE_ORDER;
	case SR_KW_LIMIT: return STAGE_LIMIT;
	default: return 0;
	}
}

/* "expected WHERE, GROUP BY, ... or the end of the query, got X" for what
 * may still come after stage. */
static int fail_clause(struct parser *p, enum stage stage,
		       const struct sr_token *tok)
{
	char what[128] = "";
	size_t len = 0;

	for (int s = (int)stage + 1; s <= STAGE_LIMIT; s++) {
		int w = snprintf(what + len, sizeof(what) - len, "%s, ", stage_names[s]);
		if (w > 0 && (size_t)w < sizeof(what) - len)
			len += (size_t)w;
	}
	if (len >= 2) {
		what[len - 2] = '\0';
		snprintf(what + len - 2, sizeof(what) - (len - 2), " or the end of the query");
	} else {
		snprintf(what, sizeof(what), "the end of the query");
	}
	return fail_expected(p, tok, what);
}

static int parse_stmt(struct parser *p)
{
	struct sr_sql_stmt *s = p->stmt;
	enum stage stage = STAGE_FROM;
	struct sr_token tok;
	int rc;

	rc = next(p, &tok);
	if (rc)
		return rc;
	if (!is_kw(&tok, SR_KW_SELECT))
		return fail_expected(p, &tok, "SELECT");
	rc = parse_select(p);
	if (rc == SR_OK)
		rc = next(p, &tok);
	if (rc)
		return rc;
	if (!is_kw(&tok, SR_KW_FROM))
		return fail_expected(p, &tok, "FROM");
	s->from_pos = tok.start;
	rc = parse_from(p);
	for (;;) {
		enum stage next_stage;
		if (rc == SR_OK)
			rc = peek(p, &tok);
		if (rc)
			return rc;
		next_stage = stage_of(&tok);
		if (!next_stage)
			break;
		if (next_stage <= stage)
			return fail(p, tok.start, SR_EINVAL,
				    "%s cannot come after %s (the clauses go SELECT, FROM, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, each once)",
				    stage_names[next_stage], stage_names[stage]);
		stage = next_stage;
		rc = next(p, &tok);
		if (rc)
			return rc;
		switch (stage) {
		case STAGE_WHERE:
			s->where_pos = tok.start;
			rc = sr_ast_parse(&p->lex, p->arena, &s->where, p->err);
			break;
		case STAGE_GROUP:
			s->group_pos = tok.start;
			rc = expect_by(p, &tok);
			if (rc == SR_OK)
				rc = parse_list(p, "GROUP BY", 0);
			break;
		case STAGE_HAVING:
			s->having_pos = tok.start;
			rc = sr_ast_parse(&p->lex, p->arena, &s->having, p->err);
			break;
		case STAGE_ORDER:
			s->order_pos = tok.start;
			rc = expect_by(p, &tok);
			if (rc == SR_OK)
				rc = parse_list(p, "ORDER BY", 1);
			break;
		default:
			s->limit_pos = tok.start;
			rc = parse_limit(p);
		}
	}
	if (tok.kind == SR_TOK_SEMICOLON) {
		rc = next(p, &tok);
		if (rc == SR_OK)
			rc = peek(p, &tok);
		if (rc)
			return rc;
		if (tok.kind != SR_TOK_EOF)
			return fail_expected(p, &tok, "the end of the query after ';' (one query at a time)");
		return SR_OK;
	}
	if (tok.kind != SR_TOK_EOF)
		return fail_clause(p, stage, &tok);
	return SR_OK;
}

int sr_sql_parse(const char *text, size_t len, struct sr_arena *arena,
		 struct sr_sql_stmt **out, struct sr_err *err)
{
	struct parser p = { .arena = arena, .err = err };
	int rc;

	*out = NULL;
	if (!text && len == 0)
		text = "";
	if (len > SR_SQL_TEXT_MAX)
		return sr_lex_fail(text, len, SR_SQL_TEXT_MAX, err, SR_ELIMIT,
				   "query longer than the limit of %u bytes",
				   (unsigned)SR_SQL_TEXT_MAX);
	sr_lex_init(&p.lex, text, len, 0);
	rc = alloc(&p, sizeof(*p.stmt), 0, (void **)&p.stmt);
	if (rc == SR_OK)
		rc = parse_stmt(&p);
	if (rc == SR_OK)
		*out = p.stmt;
	return rc;
}
