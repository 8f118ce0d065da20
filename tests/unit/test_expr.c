/*
 * test_expr.c - the expression module (src/expr): tokens and positions,
 * the parse tree (precedence, folding, embedding at an offset), every
 * syntax and type error with its exact message and position, limits,
 * LIKE pattern refusal, evaluation of every operator on real vectors with
 * NULLs (three-valued logic, overflow, division by zero, date range),
 * batches longer than one evaluation step, misuse of the batch API, and
 * allocation failures.  test_expr_oracle.c compares with SQLite.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "expr/ast.h"
#include "expr/expr.h"
#include "expr/lex.h"
#include "store/vec.h"
#include "base/banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the test table -------------------------------------------------- */

enum { C_ID, C_AGE, C_SCORE, C_NAME, C_ACTIVE, C_JOINED, C_ORDER, C_P, C_Q, NCOLS };

static const struct sr_expr_column schema[NCOLS] = {
	{ "id", SR_TYPE_INT64 }, { "age", SR_TYPE_INT64 },
	{ "score", SR_TYPE_FLOAT64 }, { "name", SR_TYPE_STRING },
	{ "active", SR_TYPE_BOOL }, { "joined", SR_TYPE_DATE },
	{ "Order Date", SR_TYPE_DATE }, { "p", SR_TYPE_BOOL },
	{ "q", SR_TYPE_BOOL },
};

#define ROWS 9
/* NULL is a NULL value; "" an empty string. */
static const char *const cells[ROWS][NCOLS] = {
	{ "1", "30", "1.5", "alice", "true", "2020-01-01", "2021-05-05", "true", "true" },
	{ "2", "17", "-2.25", "bob", "false", "2019-12-31", NULL, "true", "false" },
	{ "3", NULL, "0", "Carol", NULL, "2000-02-29", "2000-03-01", "true", NULL },
	{ "4", "65", NULL, NULL, "true", NULL, "1999-01-01", "false", "true" },
	{ "5", "18", "100", "", "false", "1970-01-01", "1970-01-02", "false", "false" },
	{ "6", "-5", "3.5", "al", "true", "0001-01-01", "9999-12-31", "false", NULL },
	{ "7", "9223372036854775807", "1e300", "alpha's", "false", "9999-12-31", "0001-01-01", NULL, "true" },
	{ "8", "-9223372036854775808", "-1e300", "ALICE", "true", "2024-02-29", "2024-03-01", NULL, "false" },
	{ "9", "0", "0.1", "b", NULL, "2020-06-15", NULL, NULL, NULL },
};

static struct sr_vec table[NCOLS];
static const struct sr_vec *batch[NCOLS];

static int setup_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < NCOLS; c++) {
		sr_vec_init(&table[c], schema[c].type);
		for (size_t r = 0; r < ROWS; r++) {
			const char *t = cells[r][c];
			int rc = t ? sr_vec_append_text(&table[c], t, strlen(t)) :
				     sr_vec_append_null(&table[c]);
			if (rc != SR_OK)
				fail_msg("cell %zu,%zu", r, c);
		}
		batch[c] = &table[c];
	}
	return 0;
}

static int teardown_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < NCOLS; c++)
		sr_vec_release(&table[c]);
	return 0;
}

/* ---- helpers --------------------------------------------------------- */

static int compile(const char *text, struct sr_expr **e, struct sr_err *err)
{
	sr_err_clear(err);
	return sr_expr_compile(text, strlen(text), schema, NCOLS, e, err);
}

/* Compile must fail with code and exactly msg. */
static void check_error(const char *text, size_t len, int code, const char *msg)
{
	struct sr_expr *e = (struct sr_expr *)1;
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	rc = sr_expr_compile(text, len, schema, NCOLS, &e, &err);
	if (rc != code || strcmp(err.msg, msg) != 0)
		fail_msg("\"%s\": got %d \"%s\", expected %d \"%s\"", text, rc,
			 err.msg, code, msg);
	assert_null(e);
}

struct error_case {
	const char *text;
	int code;
	const char *msg;
};

static void check_errors(const struct error_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_error(cases[i].text, strlen(cases[i].text), cases[i].code,
			    cases[i].msg);
}

/* Bind text (not only predicates) and evaluate it over the table: the
 * values joined by ',', NULL as "n", booleans as "t" and "f". */
static void eval_text(const char *text, char *out, size_t size)
{
	struct sr_arena arena;
	struct sr_expr *e = NULL;
	struct sr_ast *ast;
	struct sr_err err;
	struct sr_vec vec;
	struct sr_buf buf;
	size_t end;

	sr_err_clear(&err);
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	if (sr_ast_parse_text(text, strlen(text), 0, &arena, &ast, &end, &err) != SR_OK ||
	    sr_expr_bind(ast, text, strlen(text), schema, NCOLS, 0, &e, &err) != SR_OK)
		fail_msg("\"%s\": %s", text, err.msg);
	assert_int_equal(end, strlen(text));
	sr_arena_release(&arena);
	sr_vec_init(&vec, sr_expr_type(e));
	if (sr_expr_eval(e, batch, ROWS, &vec, &err) != SR_OK)
		fail_msg("\"%s\": %s", text, err.msg);
	assert_int_equal(vec.rows, ROWS);
	sr_buf_init(&buf, 0);
	for (size_t r = 0; r < ROWS; r++) {
		if (r)
			assert_int_equal(sr_buf_addch(&buf, ','), SR_OK);
		if (sr_vec_is_null(&vec, r))
			assert_int_equal(sr_buf_addch(&buf, 'n'), SR_OK);
		else if (vec.type == SR_TYPE_BOOL)
			assert_int_equal(sr_buf_addch(&buf, vec.v.b[r] ? 't' : 'f'), SR_OK);
		else
			assert_int_equal(sr_vec_format(&vec, r, &buf), SR_OK);
	}
	snprintf(out, size, "%s", buf.data);
	sr_buf_release(&buf);
	sr_vec_release(&vec);
	sr_expr_free(e);
}

static void check_eval(const char *text, const char *want)
{
	char got[1024];

	eval_text(text, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\": got %s, expected %s", text, got, want);
}

/* All nine rows give the same value. */
static void check_const(const char *text, const char *value)
{
	char want[1024] = "";

	for (size_t r = 0; r < ROWS; r++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s",
			 r ? "," : "", value);
	check_eval(text, want);
}

/* Filter the table: want is one '0' or '1' per row. */
static void check_filter(const char *text, const char *want)
{
	uint8_t keep[ROWS];
	char got[ROWS + 1];
	struct sr_expr *e;
	struct sr_err err;

	if (compile(text, &e, &err) != SR_OK)
		fail_msg("\"%s\": %s", text, err.msg);
	memset(keep, 7, sizeof(keep));
	assert_int_equal(sr_expr_filter(e, batch, ROWS, keep, &err), SR_OK);
	for (size_t r = 0; r < ROWS; r++) {
		assert_true(keep[r] <= 1);
		got[r] = (char)('0' + keep[r]);
	}
	got[ROWS] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\": kept %s, expected %s", text, got, want);
	sr_expr_free(e);
}

/* The parse tree as an S-expression. */
static void tree_text(const struct sr_ast *a, struct sr_buf *out)
{
	int rc = SR_OK;

	switch (a->kind) {
	case SR_AST_NULL: rc = sr_buf_addstr(out, "NULL"); break;
	case SR_AST_BOOL: rc = sr_buf_addstr(out, a->v.b ? "TRUE" : "FALSE"); break;
	case SR_AST_INT: rc = sr_buf_addf(out, "%" PRId64, a->v.i); break;
	case SR_AST_FLOAT: rc = sr_buf_addf(out, "%gf", a->v.f); break;
	case SR_AST_STRING: rc = sr_buf_addf(out, "'%s'", a->v.str.p); break;
	case SR_AST_DATE: rc = sr_buf_addf(out, "DATE(%d)", (int)a->v.date); break;
	case SR_AST_COLUMN:
		for (unsigned q = 0; rc == SR_OK && q < a->nqual; q++)
			rc = sr_buf_addf(out, a->qual[q].quoted ? "\"%s\"." : "%s.",
					 a->qual[q].p);
		if (rc == SR_OK)
			rc = sr_buf_addf(out, a->quoted ? "\"%s\"" : "%s", a->v.str.p);
		break;
	case SR_AST_CALL:
		rc = sr_buf_addf(out, "(%s%s%s", sr_ast_func_name(a->func),
				 a->flags & SR_AST_DISTINCT ? " DISTINCT" : "",
				 a->flags & SR_AST_STAR ? " *" : "");
		for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
			rc = sr_buf_addch(out, ' ');
			tree_text(a->args[i], out);
		}
		if (rc == SR_OK)
			rc = sr_buf_addch(out, ')');
		break;
	case SR_AST_CASE:
		rc = sr_buf_addstr(out, "(CASE");
		for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
			int is_else = (a->flags & SR_AST_ELSE) && i + 1 == a->nargs;
			rc = sr_buf_addstr(out, is_else ? " ELSE " : i % 2 ? " THEN " : " WHEN ");
			tree_text(a->args[i], out);
		}
		if (rc == SR_OK)
			rc = sr_buf_addch(out, ')');
		break;
	default:
		rc = sr_buf_addf(out, "(%s", sr_ast_op_name(a->kind, a->negated));
		for (size_t i = 0; rc == SR_OK && i < a->nargs; i++) {
			rc = sr_buf_addch(out, ' ');
			tree_text(a->args[i], out);
		}
		if (rc == SR_OK)
			rc = sr_buf_addch(out, ')');
	}
	assert_int_equal(rc, SR_OK);
}

static void check_tree(const char *text, const char *want)
{
	struct sr_arena arena;
	struct sr_ast *ast;
	struct sr_err err;
	struct sr_buf out;
	size_t end;

	sr_err_clear(&err);
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	if (sr_ast_parse_text(text, strlen(text), 0, &arena, &ast, &end, &err) != SR_OK)
		fail_msg("\"%s\": %s", text, err.msg);
	sr_buf_init(&out, 0);
	tree_text(ast, &out);
	if (strcmp(out.data, want) != 0)
		fail_msg("\"%s\": tree %s, expected %s", text, out.data, want);
	assert_int_equal(end, strlen(text));
	sr_buf_release(&out);
	sr_arena_release(&arena);
}

/* ---- lexer ----------------------------------------------------------- */

static void test_lex_tokens(void **state)
{
	static const char text[] =
		"SELECT a.b, \"x \"\"y\"\"\" FROM t -- comment\n"
		"WHERE c <> 1.5e3 /* block\n comment */ AnD d != 'it''s' ; .5 <= >= < > = + - * / ( ) 12 date Desc";
	static const enum sr_tok kinds[] = {
		SR_TOK_KEYWORD, SR_TOK_IDENT, SR_TOK_DOT, SR_TOK_IDENT, SR_TOK_COMMA,
		SR_TOK_QIDENT, SR_TOK_KEYWORD, SR_TOK_IDENT, SR_TOK_KEYWORD,
		SR_TOK_IDENT, SR_TOK_NE, SR_TOK_DECIMAL, SR_TOK_KEYWORD, SR_TOK_IDENT,
		SR_TOK_NE, SR_TOK_STRING, SR_TOK_SEMICOLON, SR_TOK_DECIMAL, SR_TOK_LE,
		SR_TOK_GE, SR_TOK_LT, SR_TOK_GT, SR_TOK_EQ, SR_TOK_PLUS, SR_TOK_MINUS,
		SR_TOK_STAR, SR_TOK_SLASH, SR_TOK_LPAREN, SR_TOK_RPAREN, SR_TOK_INT,
		SR_TOK_IDENT, SR_TOK_IDENT, SR_TOK_EOF, SR_TOK_EOF,
	};
	struct sr_token tok, ahead;
	struct sr_lex lex;
	struct sr_err err;
	char buf[64];
	size_t n;

	(void)state;
	sr_err_clear(&err);
	sr_lex_init(&lex, text, strlen(text), 0);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		assert_int_equal(sr_lex_peek(&lex, &ahead, &err), SR_OK);
		assert_int_equal(sr_lex_next(&lex, &tok, &err), SR_OK);
		assert_int_equal(ahead.start, tok.start);
		if (tok.kind != kinds[i])
			fail_msg("token %zu at %zu: kind %d, expected %d", i,
				 tok.start, tok.kind, kinds[i]);
		switch (i) {
		case 0: assert_int_equal(tok.kw, SR_KW_SELECT); break;
		case 5:
			n = sr_lex_unquote(text, &tok, buf);
			assert_int_equal(n, 5);
			assert_memory_equal(buf, "x \"y\"", 5);
			break;
		case 12: assert_int_equal(tok.kw, SR_KW_AND); break;
		case 15:
			n = sr_lex_unquote(text, &tok, buf);
			assert_int_equal(n, 4);
			assert_memory_equal(buf, "it's", 4);
			break;
		case 30: assert_int_equal(tok.kw, SR_KW_DATE); break;   /* not reserved */
		case 31: assert_int_equal(tok.kw, SR_KW_DESC); break;
		case 32:
			assert_int_equal(tok.start, strlen(text));
			assert_int_equal(tok.end, strlen(text));
			break;
		}
	}
	/* A bare identifier that is no keyword. */
	sr_lex_init(&lex, "agee", 4, 0);
	assert_int_equal(sr_lex_next(&lex, &tok, &err), SR_OK);
	assert_int_equal(tok.kind, SR_TOK_IDENT);
	assert_int_equal(tok.kw, SR_KW_NONE);
	/* Starting at an offset. */
	sr_lex_init(&lex, "ab cd", 5, 3);
	assert_int_equal(sr_lex_next(&lex, &tok, &err), SR_OK);
	assert_int_equal(tok.start, 3);
	assert_int_equal(tok.end, 5);
	assert_string_equal(sr_lex_kw_name(SR_KW_BETWEEN), "BETWEEN");
	assert_string_equal(sr_lex_kw_name(SR_KW_NONE), "");
}

static void test_lex_positions(void **state)
{
	static const char text[] = "a\nb\xc3\xa9z\n\n  x";
	unsigned long line, col;
	struct sr_token tok = { .kind = SR_TOK_STRING, .start = 0, .end = 7 };
	char shown[SR_LEX_TOKEN_SIZE];
	char long_text[100];

	(void)state;
	sr_lex_where(text, strlen(text), 0, &line, &col);
	assert_true(line == 1 && col == 1);
	sr_lex_where(text, strlen(text), 2, &line, &col);
	assert_true(line == 2 && col == 1);
	sr_lex_where(text, strlen(text), 5, &line, &col);   /* 'z' after é */
	assert_true(line == 2 && col == 3);
	sr_lex_where(text, strlen(text), strlen(text) - 1, &line, &col);
	assert_true(line == 4 && col == 3);
	sr_lex_where(text, strlen(text), 1000, &line, &col);   /* clamped */
	assert_true(line == 4 && col == 4);
	/* How tokens are shown after "got". */
	assert_string_equal(sr_lex_show("'abc' x", &tok, shown), "string 'abc' x");
	tok.kind = SR_TOK_EOF;
	tok.start = tok.end = 3;
	assert_string_equal(sr_lex_show("abc", &tok, shown), "end of input");
	tok.kind = SR_TOK_KEYWORD;
	tok.start = 0;
	tok.end = 3;
	assert_string_equal(sr_lex_show("AND", &tok, shown), "'AND'");
	/* Control bytes never reach a message; long text is cut. */
	assert_string_equal(sr_lex_shown("a\tb\x7f", 4, shown), "a?b?");
	memset(long_text, 'x', sizeof(long_text));
	sr_lex_shown(long_text, sizeof(long_text), shown);
	assert_int_equal(strlen(shown), SR_LEX_SHOWN_MAX + 3);
	assert_string_equal(shown + SR_LEX_SHOWN_MAX, "...");
}

/* ---- parse trees ----------------------------------------------------- */

static void test_parse_precedence(void **state)
{
	(void)state;
	check_tree("a + b * c", "(+ a (* b c))");
	check_tree("a * b + c", "(+ (* a b) c)");
	check_tree("a - b - c", "(- (- a b) c)");
	check_tree("a / b / c", "(/ (/ a b) c)");
	check_tree("(a + b) * c", "(* (+ a b) c)");
	check_tree("-a * b", "(* (- a) b)");
	check_tree("- -a", "(- (- a))");
	check_tree("a - -b", "(- a (- b))");
	check_tree("a + 1 < b * 2", "(< (+ a 1) (* b 2))");
	check_tree("a OR b AND c", "(OR a (AND b c))");
	check_tree("a AND b OR c AND d", "(OR (AND a b) (AND c d))");
	check_tree("a OR b OR c OR d", "(OR a b c d)");            /* flat */
	check_tree("a AND (b AND c) AND d", "(AND a (AND b c) d)");
	check_tree("NOT a AND b", "(AND (NOT a) b)");
	check_tree("NOT a = b", "(NOT (= a b))");
	check_tree("NOT NOT a", "(NOT (NOT a))");
	check_tree("NOT a IS NULL", "(NOT (IS NULL a))");
	check_tree("a IS NOT NULL OR b", "(OR (IS NOT NULL a) b)");
	check_tree("a BETWEEN 1 AND 2 AND b", "(AND (BETWEEN a 1 2) b)");
	check_tree("a NOT BETWEEN b + 1 AND c * 2", "(NOT BETWEEN a (+ b 1) (* c 2))");
	check_tree("a IN (1, -2, 'x', NULL)", "(IN a 1 -2 'x' NULL)");
	check_tree("a NOT IN (1)", "(NOT IN a 1)");
	check_tree("a NOT LIKE 'x%' OR TRUE", "(OR (NOT LIKE a 'x%') TRUE)");
	check_tree("a <> b", "(<> a b)");
	check_tree("a != b", "(<> a b)");
	check_tree("a = b", "(= a b)");
	check_tree("a <= b", "(<= a b)");
	check_tree("a >= b", "(>= a b)");
	check_tree("a > b", "(> a b)");
	/* Keywords in any case; DATE is a column unless a string follows. */
	check_tree("x and not Y or z", "(OR (AND x (NOT Y)) z)");
	check_tree("date = DATE '2020-01-02'", "(= date DATE(18263))");
	check_tree("\"Order Date\" > \"a\"\"b\"", "(> \"Order Date\" \"a\"b\")");
	/* Literals. */
	check_tree("-9223372036854775808", "-9223372036854775808");
	check_tree("9223372036854775807", "9223372036854775807");
	check_tree("- 5", "-5");
	check_tree("- - 5", "(- -5)");
	check_tree("1.5 + .5 + 1e3 + 2.5E-1 + -1.", "(+ (+ (+ (+ 1.5f 0.5f) 1000f) 0.25f) -1f)");
	check_tree("'it''s' = ''", "(= 'it's' '')");
	check_tree("TRUE AND false", "(AND TRUE FALSE)");
	check_tree("((((a))))", "a");
	check_tree("a -- comment\n + /* more */ b", "(+ a b)");
}

static void test_parse_offsets(void **state)
{
	static const char sql[] = "SELECT (a + 1) * 2, b FROM t WHERE a > 1 AND b IS NULL GROUP BY b";
	struct sr_arena arena;
	struct sr_ast *ast;
	struct sr_err err;
	struct sr_lex lex;
	struct sr_token tok;
	size_t end;

	(void)state;
	sr_err_clear(&err);
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	/* One expression starting at a byte offset of a longer text, ending
	 * before the ','. */
	assert_int_equal(sr_ast_parse_text(sql, strlen(sql), 7, &arena, &ast, &end, &err), SR_OK);
	assert_int_equal(ast->kind, SR_AST_MUL);
	assert_int_equal(ast->start, 7);
	assert_int_equal(ast->end, 18);
	assert_int_equal(ast->pos, 15);        /* the '*' */
	assert_int_equal(ast->args[0]->start, 7);   /* the parentheses */
	assert_int_equal(ast->args[0]->end, 14);
	assert_int_equal(end, 18);
	assert_int_equal(sql[end], ',');
	/* Through a lexer the SQL parser owns: it stops at GROUP. */
	sr_lex_init(&lex, sql, strlen(sql), 0);
	do
		assert_int_equal(sr_lex_next(&lex, &tok, &err), SR_OK);
	while (!(tok.kind == SR_TOK_KEYWORD && tok.kw == SR_KW_WHERE));
	assert_int_equal(sr_ast_parse(&lex, &arena, &ast, &err), SR_OK);
	assert_int_equal(ast->kind, SR_AST_AND);
	assert_memory_equal(sql + ast->start, "a > 1 AND b IS NULL", ast->end - ast->start);
	assert_int_equal(sr_lex_next(&lex, &tok, &err), SR_OK);
	assert_int_equal(tok.kw, SR_KW_GROUP);
	/* An error in the middle of a SQL text names the position in it. */
	sr_err_clear(&err);
	assert_int_equal(sr_ast_parse_text("SELECT x\nWHERE a > (1", 21, 15, &arena,
					   &ast, &end, &err), SR_EINVAL);
	assert_string_equal(err.msg, "2:13: expected ')', got end of input");
	assert_null(ast);
	/* A type error bound from the SQL text too. */
	{
		static const char q[] = "SELECT 1\nWHERE age = 'x'";
		struct sr_expr *e;
		assert_int_equal(sr_ast_parse_text(q, strlen(q), 15, &arena, &ast, &end, &err), SR_OK);
		sr_err_clear(&err);
		assert_int_equal(sr_expr_bind(ast, q, strlen(q), schema, NCOLS,
					      SR_EXPR_PREDICATE, &e, &err), SR_EINVAL);
		assert_string_equal(err.msg, "2:11: cannot compare int64 with string");
		assert_null(e);
	}
	sr_arena_release(&arena);
}

/* ---- errors ---------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "", SR_EINVAL, "1:1: expected an expression, got end of input" },
		{ "   ", SR_EINVAL, "1:4: expected an expression, got end of input" },
		{ "age >=", SR_EINVAL, "1:7: expected an expression, got end of input" },
		{ "(age > 1", SR_EINVAL, "1:9: expected ')', got end of input" },
		{ "(age > 1 AND", SR_EINVAL, "1:13: expected an expression, got end of input" },
		{ "(age > 1 AND p", SR_EINVAL, "1:15: expected ')', got end of input" },
		{ "(age > 1 name", SR_EINVAL, "1:10: expected ')', got 'name'" },
		{ "age > 1)", SR_EINVAL, "1:8: expected an operator or the end of the expression, got ')'" },
		{ "age 18", SR_EINVAL, "1:5: expected an operator or the end of the expression, got '18'" },
		{ "age = 1 name", SR_EINVAL, "1:9: expected an operator or the end of the expression, got 'name'" },
		{ "age = 1 'x'", SR_EINVAL, "1:9: expected an operator or the end of the expression, got string 'x'" },
		{ "age = = 1", SR_EINVAL, "1:7: expected an expression, got '='" },
		{ "age = NOT p", SR_EINVAL, "1:7: expected an expression, got 'NOT' (a column named like a keyword goes in double quotes)" },
		{ "from = 1", SR_EINVAL, "1:1: expected an expression, got 'from' (a column named like a keyword goes in double quotes)" },
		{ "age = 1 AND AND p", SR_EINVAL, "1:13: expected an expression, got 'AND' (a column named like a keyword goes in double quotes)" },
		{ "p = q = p", SR_EINVAL, "1:7: '=' cannot follow a comparison (comparisons do not chain: join them with AND, or use parentheses)" },
		{ "age < 1 IS NULL", SR_EINVAL, "1:9: 'IS' cannot follow a comparison (comparisons do not chain: join them with AND, or use parentheses)" },
		{ "age IS NULL = p", SR_EINVAL, "1:13: '=' cannot follow a comparison (comparisons do not chain: join them with AND, or use parentheses)" },
		{ "age IN (1) IN (p)", SR_EINVAL, "1:12: 'IN' cannot follow a comparison (comparisons do not chain: join them with AND, or use parentheses)" },
		{ "age IS 5", SR_EINVAL, "1:8: expected NULL or NOT NULL after IS, got '5'" },
		{ "age IS NOT 5", SR_EINVAL, "1:12: expected NULL after IS NOT, got '5'" },
		{ "age NOT 5", SR_EINVAL, "1:9: expected IN, BETWEEN or LIKE after NOT, got '5'" },
		{ "age IN 1", SR_EINVAL, "1:8: expected '(' after IN, got '1'" },
		{ "age IN (1 2)", SR_EINVAL, "1:11: expected ',' or ')' in the IN list, got '2'" },
		{ "age IN (1,", SR_EINVAL, "1:11: expected an expression, got end of input" },
		{ "age IN ()", SR_EINVAL, "1:9: expected an expression, got ')'" },
		{ "age BETWEEN 1 OR 2", SR_EINVAL, "1:15: expected AND between the bounds of BETWEEN, got 'OR'" },
		{ "age BETWEEN 1", SR_EINVAL, "1:14: expected AND between the bounds of BETWEEN, got end of input" },
		{ "name LIKE", SR_EINVAL, "1:10: expected an expression, got end of input" },
		{ "name = 'abc", SR_EINVAL, "1:8: unterminated string: expected a closing '" },
		{ "name = 'it''", SR_EINVAL, "1:8: unterminated string: expected a closing '" },
		{ "\"Order Date = 1", SR_EINVAL, "1:1: unterminated quoted identifier: expected a closing \"" },
		{ "\"\" = 1", SR_EINVAL, "1:1: expected a name between the double quotes, got \"\"" },
		{ "age > 1 /* x", SR_EINVAL, "1:9: unterminated comment: expected '*/'" },
		{ "age # 1", SR_EINVAL, "1:5: unexpected character '#'" },
		{ "age ! 1", SR_EINVAL, "1:5: unexpected character '!' (expected '!=')" },
		{ "age == 1", SR_EINVAL, "1:6: expected an expression, got '='" },
		{ "age = 1e", SR_EINVAL, "1:7: malformed number '1e'" },
		{ "age = 1e+", SR_EINVAL, "1:7: malformed number '1e+'" },
		{ "age = 12abc", SR_EINVAL, "1:7: malformed number '12abc'" },
		{ "age = 1.2.3", SR_EINVAL, "1:7: malformed number '1.2.3'" },
		{ "age = 9223372036854775808", SR_EINVAL, "1:7: integer 9223372036854775808 is out of range for int64" },
		{ "age = -9223372036854775809", SR_EINVAL, "1:7: integer -9223372036854775809 is out of range for int64" },
		{ "age = 99999999999999999999999", SR_EINVAL, "1:7: integer 99999999999999999999999 is out of range for int64" },
		{ "score = 1e999", SR_EINVAL, "1:9: number 1e999 is out of range for float64" },
		{ "score = 1.000000000000000000000000000000000000000000000000000000000000000", SR_EINVAL,
		  "1:9: number '1.00000000000000000000000000000000000000...' is longer than 63 characters" },
		{ "joined = DATE '2020-13-01'", SR_EINVAL,
		  "1:15: invalid date '2020-13-01' (expected DATE 'YYYY-MM-DD', a real day in years 0001-9999)" },
		{ "joined = DATE '2021-02-29'", SR_EINVAL,
		  "1:15: invalid date '2021-02-29' (expected DATE 'YYYY-MM-DD', a real day in years 0001-9999)" },
		{ "joined = DATE 'yesterday, or the day before'", SR_EINVAL,
		  "1:15: invalid date 'yesterday, or the day before' (expected DATE 'YYYY-MM-DD', a real day in years 0001-9999)" },
		{ "age = 1\n  AND (p", SR_EINVAL, "2:9: expected ')', got end of input" },
		{ "age = 1\r\n\tOR", SR_EINVAL, "2:4: expected an expression, got end of input" },
		{ "\xc3\xa2ge = 1", SR_EINVAL, "1:1: unexpected byte 0xc3 (names with other characters go in double quotes)" },
		/* Columns count characters, not bytes. */
		{ "name = '\xc3\xa9' AND na\xc3\xafve", SR_EINVAL,
		  "1:18: unexpected byte 0xc3 (names with other characters go in double quotes)" },
		{ "name = '\xff'", SR_EINVAL, "1:8: string is not valid UTF-8" },
		{ "\"n\xc3\" = 1", SR_EINVAL, "1:1: quoted identifier is not valid UTF-8" },
		{ "p -- \xff\n", SR_EINVAL, "1:3: comment is not valid UTF-8" },
		{ "p /* \xc0\xaf */", SR_EINVAL, "1:3: comment is not valid UTF-8" },
		{ "p\x01", SR_EINVAL, "1:2: unexpected byte 0x01 (names with other characters go in double quotes)" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
	check_error(NULL, 0, SR_EINVAL, "1:1: expected an expression, got end of input");
	/* NUL bytes, which C strings cannot show: everywhere refused. */
	check_error("age = 1\0", 8, SR_EINVAL, "1:8: unexpected NUL byte");
	check_error("name = 'a\0b'", 12, SR_EINVAL, "1:10: unexpected NUL byte");
	check_error("\"a\0\" = 1", 6, SR_EINVAL, "1:3: unexpected NUL byte");
	check_error("p -- a\0", 7, SR_EINVAL, "1:7: unexpected NUL byte");
}

static void test_type_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "NOT agee", SR_EINVAL, "1:5: unknown column 'agee'" },
		{ "age > 1 AND agee < 5", SR_EINVAL, "1:13: unknown column 'agee'" },
		{ "\"order date\" > DATE '2020-01-01'", SR_EINVAL, "1:1: unknown column 'order date'" },
		{ "\"Age\" > 1", SR_EINVAL, "1:1: unknown column 'Age'" },
		{ "name > 1", SR_EINVAL, "1:6: cannot compare string with int64" },
		{ "1 = name", SR_EINVAL, "1:3: cannot compare int64 with string" },
		{ "joined > '2020-01-01'", SR_EINVAL,
		  "1:8: cannot compare date with string (write a date as DATE 'YYYY-MM-DD')" },
		{ "active = 1", SR_EINVAL, "1:8: cannot compare bool with int64" },
		{ "joined = age", SR_EINVAL, "1:8: cannot compare date with int64" },
		{ "name + 1 > 0", SR_EINVAL, "1:6: '+' needs numbers, or a date and int64 days, got string and int64" },
		{ "joined + joined > joined", SR_EINVAL, "1:8: '+' needs numbers, or a date and int64 days, got date and date" },
		{ "joined = DATE '2020-01-01' + 1.5", SR_EINVAL,
		  "1:28: '+' needs numbers, or a date and int64 days, got date and float64" },
		{ "1 - joined > 0", SR_EINVAL, "1:3: '-' needs numbers, a date and int64 days, or two dates, got int64 and date" },
		{ "joined * 2 > 0", SR_EINVAL, "1:8: '*' needs numbers, got date and int64" },
		{ "age / p > 0", SR_EINVAL, "1:5: '/' needs numbers, got int64 and bool" },
		{ "NULL + name = 'x'", SR_EINVAL, "1:6: '+' needs numbers, or a date and int64 days, got NULL and string" },
		{ "NULL * joined > 0", SR_EINVAL, "1:6: '*' needs numbers, got NULL and date" },
		{ "-name = 'x'", SR_EINVAL, "1:1: '-' needs a number, got string" },
		{ "-joined = joined", SR_EINVAL, "1:1: '-' needs a number, got date" },
		{ "age", SR_EINVAL, "1:1: expected a boolean predicate, got a value of type int64" },
		{ "  age + 1", SR_EINVAL, "1:3: expected a boolean predicate, got a value of type int64" },
		{ "(age + 1)", SR_EINVAL, "1:1: expected a boolean predicate, got a value of type int64" },
		{ "name", SR_EINVAL, "1:1: expected a boolean predicate, got a value of type string" },
		{ "joined - 1", SR_EINVAL, "1:1: expected a boolean predicate, got a value of type date" },
		{ "age AND active", SR_EINVAL, "1:1: AND needs boolean operands, got int64" },
		{ "active OR score", SR_EINVAL, "1:11: OR needs boolean operands, got float64" },
		{ "p AND q AND (age + 1)", SR_EINVAL, "1:13: AND needs boolean operands, got int64" },
		{ "NOT name", SR_EINVAL, "1:5: NOT needs a boolean, got string" },
		{ "age LIKE 'a%'", SR_EINVAL, "1:1: LIKE needs a string, got int64" },
		{ "name LIKE name", SR_EINVAL, "1:11: LIKE needs a string literal pattern such as 'abc%', got name" },
		{ "name LIKE 'a' || 'b'", SR_EINVAL, "1:15: unexpected character '|'" },
		{ "name LIKE NULL", SR_EINVAL, "1:11: LIKE needs a string literal pattern such as 'abc%', got NULL" },
		{ "age IN (1, 'a')", SR_EINVAL, "1:12: cannot compare int64 with string" },
		{ "joined IN (DATE '2020-01-01', '2020-01-02')", SR_EINVAL,
		  "1:31: cannot compare date with string (write a date as DATE 'YYYY-MM-DD')" },
		{ "age IN (1, age)", SR_EINVAL,
		  "1:12: IN lists hold literals (numbers, strings, DATE '...', TRUE, FALSE or NULL), not expressions" },
		{ "age IN (1, 2 + 3)", SR_EINVAL,
		  "1:12: IN lists hold literals (numbers, strings, DATE '...', TRUE, FALSE or NULL), not expressions" },
		{ "age IN (1, - -2)", SR_EINVAL,
		  "1:12: IN lists hold literals (numbers, strings, DATE '...', TRUE, FALSE or NULL), not expressions" },
		{ "NULL IN (1, 'a', agee)", SR_EINVAL,
		  "1:18: IN lists hold literals (numbers, strings, DATE '...', TRUE, FALSE or NULL), not expressions" },
		{ "age BETWEEN 1 AND 'z'", SR_EINVAL, "1:5: cannot compare int64 with string" },
		{ "name NOT BETWEEN 1 AND 'z'", SR_EINVAL, "1:6: cannot compare string with int64" },
		{ "joined - DATE '2020-01-01' > 'x'", SR_EINVAL, "1:28: cannot compare int64 with string" },
	};
	static const struct sr_expr_column cased[] = {
		{ "Age", SR_TYPE_INT64 }, { "AGE", SR_TYPE_INT64 }, { "Name", SR_TYPE_STRING },
	};
	struct sr_expr *e;
	struct sr_err err;

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
	/* A bare name matches exactly, else the one column equal ignoring
	 * case; two such are ambiguous. */
	sr_err_clear(&err);
	assert_int_equal(sr_expr_compile("age > 1", 7, cased, 3, &e, &err), SR_EINVAL);
	assert_string_equal(err.msg, "1:1: column name 'age' is ambiguous: it matches 'Age' and 'AGE' (write the exact name in double quotes)");
	assert_int_equal(sr_expr_compile("AGE > 1 AND NAME = 'x'", strlen("AGE > 1 AND NAME = 'x'"),
					 cased, 3, &e, &err), SR_OK);
	assert_int_equal(sr_expr_ncolumns_used(e), 2);
	assert_int_equal(sr_expr_column_used(e, 0), 1);
	assert_int_equal(sr_expr_column_used(e, 1), 2);
	sr_expr_free(e);
	sr_err_clear(&err);
	assert_int_equal(sr_expr_compile("\"name\" = 'x'", 12, cased, 3, &e, &err), SR_EINVAL);
	assert_string_equal(err.msg, "1:1: unknown column 'name'");
	/* Long names are cut and control bytes hidden in messages. */
	sr_err_clear(&err);
	{
		static const char t[] = "\"a\tb_very_long_name_that_goes_on_and_on_and_on\" > 1";
		assert_int_equal(sr_expr_compile(t, strlen(t), cased, 3, &e, &err), SR_EINVAL);
	}
	assert_string_equal(err.msg, "1:1: unknown column 'a?b_very_long_name_that_goes_on_and_on_a...'");
	/* No columns at all. */
	sr_err_clear(&err);
	assert_int_equal(sr_expr_compile("x = 1", 5, NULL, 0, &e, &err), SR_EINVAL);
	assert_string_equal(err.msg, "1:1: unknown column 'x'");
	assert_int_equal(sr_expr_compile("1 = 1", 5, NULL, 0, &e, &err), SR_OK);
	assert_int_equal(sr_expr_ncolumns_used(e), 0);
	assert_int_equal(sr_expr_column_used(e, 0), 0);   /* past the end: ncols */
	sr_expr_free(e);
	sr_expr_free(NULL);
}

static void test_like_patterns(void **state)
{
	static const struct error_case cases[] = {
		{ "name LIKE '%abc'", SR_EINVAL,
		  "1:12: LIKE pattern '%abc': '%' is supported only at the end, as in 'abc%'" },
		{ "name LIKE 'a%%'", SR_EINVAL,
		  "1:13: LIKE pattern 'a%%': '%' is supported only at the end, as in 'abc%'" },
		{ "name LIKE 'a_c%'", SR_EINVAL,
		  "1:13: LIKE pattern 'a_c%': '_' (any one character) is not supported, only prefix patterns such as 'abc%'" },
		{ "name NOT LIKE '_'", SR_EINVAL,
		  "1:16: LIKE pattern '_': '_' (any one character) is not supported, only prefix patterns such as 'abc%'" },
		/* The position counts the doubled quote as written. */
		{ "name LIKE 'it''s%x'", SR_EINVAL,
		  "1:17: LIKE pattern 'it's%x': '%' is supported only at the end, as in 'abc%'" },
		{ "p AND\n  name LIKE ('\xc3\xa9t\xc3\xa9_%')", SR_EINVAL,
		  "2:18: LIKE pattern '\xc3\xa9t\xc3\xa9_%': '_' (any one character) is not supported, only prefix patterns such as 'abc%'" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
	check_eval("name LIKE 'al%'", "t,f,f,n,f,t,t,f,f");
	check_eval("name LIKE 'al'", "f,f,f,n,f,t,f,f,f");
	check_eval("name NOT LIKE 'al%'", "f,t,t,n,t,f,f,t,t");
	check_eval("name LIKE '%'", "t,t,t,n,t,t,t,t,t");
	check_eval("name LIKE ''", "f,f,f,n,t,f,f,f,f");
	check_eval("name LIKE 'alpha''s%'", "f,f,f,n,f,f,t,f,f");
	check_eval("name LIKE 'alpha''s and more%'", "f,f,f,n,f,f,f,f,f");
	check_eval("name like 'A%'", "f,f,f,n,f,f,f,t,f");   /* case-sensitive */
	check_eval("NULL LIKE 'a%'", "n,n,n,n,n,n,n,n,n");
}

static void test_limits(void **state)
{
	struct sr_buf text;
	struct sr_expr *e;
	struct sr_err err;
	char msg[SR_ERR_MSG_MAX];

	(void)state;
	sr_buf_init(&text, 0);
	/* Parentheses: 64 deep pass, 65 do not. */
	for (int depth = SR_EXPR_DEPTH_MAX; depth <= SR_EXPR_DEPTH_MAX + 1; depth++) {
		sr_buf_reset(&text);
		for (int i = 0; i < depth; i++)
			assert_int_equal(sr_buf_addch(&text, '('), SR_OK);
		assert_int_equal(sr_buf_addstr(&text, "p"), SR_OK);
		for (int i = 0; i < depth; i++)
			assert_int_equal(sr_buf_addch(&text, ')'), SR_OK);
		if (depth == SR_EXPR_DEPTH_MAX) {
			assert_int_equal(compile(text.data, &e, &err), SR_OK);
			sr_expr_free(e);
		} else {
			assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
			snprintf(msg, sizeof(msg), "1:%d: expression nested more than %d levels deep",
				 depth, SR_EXPR_DEPTH_MAX);
			assert_string_equal(err.msg, msg);
		}
	}
	/* A run of NOT: each is a level; 63 NOTs over p are 64 levels. */
	for (int count = SR_EXPR_DEPTH_MAX - 1; count <= SR_EXPR_DEPTH_MAX + 5; count += 6) {
		sr_buf_reset(&text);
		for (int i = 0; i < count; i++)
			assert_int_equal(sr_buf_addstr(&text, "NOT "), SR_OK);
		assert_int_equal(sr_buf_addstr(&text, "p"), SR_OK);
		if (count < SR_EXPR_DEPTH_MAX) {
			assert_int_equal(compile(text.data, &e, &err), SR_OK);
			check_filter(text.data, "000111000");   /* 63 NOTs: NOT p */
			sr_expr_free(e);
		} else {
			assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
			assert_non_null(strstr(err.msg, "expression nested more than 64 levels deep"));
		}
	}
	/* Nested CASE: each is a level of the tree (63 over p are 64 levels),
	 * and a deeper text is refused before the parser recurses into it. */
	static const int case_counts[] = { SR_EXPR_DEPTH_MAX - 1, SR_EXPR_DEPTH_MAX, 1000 };
	for (size_t k = 0; k < ARRAY_SIZE(case_counts); k++) {
		int count = case_counts[k];
		sr_buf_reset(&text);
		for (int i = 0; i < count; i++)
			assert_int_equal(sr_buf_addstr(&text, "CASE WHEN p THEN "), SR_OK);
		assert_int_equal(sr_buf_addstr(&text, "q"), SR_OK);
		for (int i = 0; i < count; i++)
			assert_int_equal(sr_buf_addstr(&text, " END"), SR_OK);
		if (count < SR_EXPR_DEPTH_MAX) {
			assert_int_equal(compile(text.data, &e, &err), SR_OK);
			sr_expr_free(e);
			check_filter(text.data, "100000000");
		} else {
			assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
			snprintf(msg, sizeof(msg), "1:%d: expression nested more than %d levels deep",
				 count == SR_EXPR_DEPTH_MAX ? 1 : SR_EXPR_DEPTH_MAX * 17 + 1,
				 SR_EXPR_DEPTH_MAX);
			assert_string_equal(err.msg, msg);
		}
	}
	/* A run of unary minus, and a long left-deep sum. */
	sr_buf_reset(&text);
	for (int i = 0; i < SR_EXPR_DEPTH_MAX + 1; i++)
		assert_int_equal(sr_buf_addstr(&text, "- "), SR_OK);
	assert_int_equal(sr_buf_addstr(&text, "age > 0"), SR_OK);
	assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
	assert_string_equal(err.msg, "1:129: expression nested more than 64 levels deep");
	sr_buf_reset(&text);
	assert_int_equal(sr_buf_addstr(&text, "age"), SR_OK);
	for (int i = 0; i < SR_EXPR_DEPTH_MAX; i++)
		assert_int_equal(sr_buf_addstr(&text, " + 1"), SR_OK);
	assert_int_equal(sr_buf_addstr(&text, " > 0"), SR_OK);
	assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
	assert_string_equal(err.msg, "1:257: expression nested more than 64 levels deep");
	/* AND and OR chains are flat: 5000 terms are two levels. */
	sr_buf_reset(&text);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(sr_buf_addstr(&text, i ? (i % 2 ? " OR p" : " AND q") : "p"), SR_OK);
	assert_int_equal(compile(text.data, &e, &err), SR_OK);
	sr_expr_free(e);
	/* IN lists: 1024 items pass, 1025 do not. */
	for (int items = SR_EXPR_IN_LIST_MAX; items <= SR_EXPR_IN_LIST_MAX + 1; items++) {
		sr_buf_reset(&text);
		assert_int_equal(sr_buf_addstr(&text, "age IN ("), SR_OK);
		for (int i = 0; i < items; i++)
			assert_int_equal(sr_buf_addf(&text, "%s%d", i ? "," : "", i), SR_OK);
		assert_int_equal(sr_buf_addstr(&text, ")"), SR_OK);
		if (items == SR_EXPR_IN_LIST_MAX) {
			assert_int_equal(compile(text.data, &e, &err), SR_OK);
			sr_expr_free(e);
			check_filter(text.data, "110110001");
		} else {
			assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
			assert_string_equal(err.msg, "1:4019: IN list longer than the limit of 1024 items");
		}
	}
	/* Text: SR_EXPR_TEXT_MAX bytes pass, one more does not. */
	sr_buf_reset(&text);
	assert_int_equal(sr_buf_addstr(&text, "p"), SR_OK);
	while (text.len < SR_EXPR_TEXT_MAX)
		assert_int_equal(sr_buf_addch(&text, ' '), SR_OK);
	assert_int_equal(compile(text.data, &e, &err), SR_OK);
	sr_expr_free(e);
	assert_int_equal(sr_buf_addch(&text, ' '), SR_OK);
	assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
	snprintf(msg, sizeof(msg), "1:%u: expression longer than the limit of %u bytes",
		 (unsigned)SR_EXPR_TEXT_MAX + 1, (unsigned)SR_EXPR_TEXT_MAX);
	assert_string_equal(err.msg, msg);
	/* Names: SR_COLUMN_NAME_MAX bytes. */
	sr_buf_reset(&text);
	for (int i = 0; i < SR_COLUMN_NAME_MAX + 1; i++)
		assert_int_equal(sr_buf_addch(&text, 'x'), SR_OK);
	assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
	assert_string_equal(err.msg, "1:1: identifier longer than the limit of 128 bytes");
	sr_buf_setlen(&text, SR_COLUMN_NAME_MAX);
	assert_int_equal(compile(text.data, &e, &err), SR_EINVAL);   /* unknown, not too long */
	sr_buf_reset(&text);
	assert_int_equal(sr_buf_addch(&text, '"'), SR_OK);
	for (int i = 0; i < SR_COLUMN_NAME_MAX + 1; i++)
		assert_int_equal(sr_buf_addch(&text, 'x'), SR_OK);
	assert_int_equal(sr_buf_addstr(&text, "\" = 1"), SR_OK);
	assert_int_equal(compile(text.data, &e, &err), SR_ELIMIT);
	assert_string_equal(err.msg, "1:1: identifier longer than the limit of 128 bytes");
	sr_buf_release(&text);
}

/* ---- calls, CASE and qualified names --------------------------------- */

static void test_parse_calls_and_case(void **state)
{
	static const struct error_case cases[] = {
		{ "foo(age) = 1", SR_EINVAL, "1:1: unknown function 'foo' (expected COUNT, SUM, AVG, VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP, MIN, MAX, year, month or date_trunc)" },
		{ "stddev(age) > 1", SR_EINVAL, "1:1: unknown function 'stddev' (write STDDEV_POP or STDDEV_SAMP)" },
		{ "Var(age) > 1", SR_EINVAL, "1:1: unknown function 'Var' (write VAR_POP or VAR_SAMP)" },
		{ "COUNT() > 1", SR_EINVAL, "1:7: COUNT needs an argument: COUNT(*) counts rows, COUNT(x) values that are not NULL" },
		{ "year() = 1", SR_EINVAL, "1:6: year takes 1 argument, got none" },
		{ "SUM(*) > 1", SR_EINVAL, "1:5: '*' is an argument of COUNT only (COUNT(*) counts rows)" },
		{ "SUM(DISTINCT age) > 1", SR_EINVAL, "1:5: DISTINCT is supported only in COUNT(DISTINCT ...), not in SUM" },
		{ "COUNT(DISTINCT *) > 1", SR_EINVAL, "1:7: COUNT(DISTINCT *) is not supported: name the column, as in COUNT(DISTINCT id)" },
		{ "COUNT(* > 1", SR_EINVAL, "1:9: expected ')' after COUNT(*, got '>'" },
		{ "year(joined, joined) = 1", SR_EINVAL, "1:12: year takes 1 argument" },
		{ "date_trunc('month') = joined", SR_EINVAL, "1:19: date_trunc takes 2 arguments, got 1" },
		{ "year(joined joined) = 1", SR_EINVAL, "1:13: expected ',' or ')' after an argument, got 'joined'" },
		{ "CASE age WHEN 1 THEN p END", SR_EINVAL, "1:6: expected WHEN after CASE, got 'age' (only CASE WHEN condition THEN value ... END is supported)" },
		{ "CASE WHEN p 1 END", SR_EINVAL, "1:13: expected THEN, got '1'" },
		{ "CASE WHEN p THEN q", SR_EINVAL, "1:19: expected WHEN, ELSE or END, got end of input" },
		{ "CASE WHEN p THEN q ELSE p WHEN q THEN p END", SR_EINVAL, "1:27: expected END after the ELSE value, got 'WHEN'" },
		{ "CASE END", SR_EINVAL, "1:6: expected WHEN after CASE, got 'END' (only CASE WHEN condition THEN value ... END is supported)" },
		{ "case = 1", SR_EINVAL, "1:6: expected WHEN after CASE, got '=' (only CASE WHEN condition THEN value ... END is supported)" },
		{ "a.b.c.d = 1", SR_EINVAL, "1:6: a name has at most three parts (org.dataset.column)" },
		{ "a. = 1", SR_EINVAL, "1:4: expected a name after '.', got '='" },
		{ "a.FROM = 1", SR_EINVAL, "1:3: expected a name after '.', got 'FROM'" },
		/* The plain binder (row filters) refuses what only SQL resolves. */
		{ "SUM(age) > 1", SR_EINVAL, "1:1: aggregate SUM() is not allowed in this expression" },
		{ "p AND count(*) > 1", SR_EINVAL, "1:7: aggregate COUNT() is not allowed in this expression" },
		{ "t.age > 1", SR_EINVAL, "1:1: qualified name 't.age' is not allowed in this expression (write the column name alone)" },
		{ "org.\"ds\".age > 1", SR_EINVAL, "1:1: qualified name 'org.\"ds\".age' is not allowed in this expression (write the column name alone)" },
		/* Types. */
		{ "year(age) = 1", SR_EINVAL, "1:6: year needs a date, got int64" },
		{ "month('2020-01-01') = 1", SR_EINVAL, "1:7: month needs a date, got string" },
		{ "year(joined) = 'x'", SR_EINVAL, "1:14: cannot compare int64 with string" },
		{ "date_trunc('hour', joined) = joined", SR_EINVAL, "1:12: date_trunc needs its unit as a string: 'year', 'quarter', 'month', 'week' or 'day'" },
		{ "date_trunc(name, joined) = joined", SR_EINVAL, "1:12: date_trunc needs its unit as a string: 'year', 'quarter', 'month', 'week' or 'day'" },
		{ "date_trunc('month', joined) = 1", SR_EINVAL, "1:29: cannot compare date with int64" },
		{ "CASE WHEN age THEN p END", SR_EINVAL, "1:11: CASE WHEN needs a boolean condition, got int64" },
		{ "CASE WHEN p THEN 1 ELSE 'a' END = 1", SR_EINVAL, "1:25: CASE values must have one type, got string after int64" },
		{ "CASE WHEN p THEN joined WHEN q THEN 1.5 END = 1", SR_EINVAL, "1:37: CASE values must have one type, got float64 after date" },
		{ "CASE WHEN p THEN 1 END", SR_EINVAL, "1:1: expected a boolean predicate, got a value of type int64" },
	};

	(void)state;
	check_tree("COUNT(*)", "(COUNT *)");
	check_tree("count(DISTINCT id) + Sum(age * 2)", "(+ (COUNT DISTINCT id) (SUM (* age 2)))");
	check_tree("avg(age) / var_pop(score) - stddev_samp(x)",
		   "(- (/ (AVG age) (VAR_POP score)) (STDDEV_SAMP x))");
	check_tree("MIN(a) < MAX(b)", "(< (MIN a) (MAX b))");
	check_tree("year(d) = 2020 AND month(d) IN (1, 2)",
		   "(AND (= (year d) 2020) (IN (month d) 1 2))");
	check_tree("date_trunc('month', d)", "(date_trunc 'month' d)");
	check_tree("year", "year");                 /* a column unless '(' follows */
	check_tree("year (d)", "(year d)");
	check_tree("CASE WHEN a > 1 THEN 'x' WHEN b THEN 'y' ELSE NULL END",
		   "(CASE WHEN (> a 1) THEN 'x' WHEN b THEN 'y' ELSE NULL)");
	check_tree("SUM(CASE WHEN sex = 'F' THEN amount ELSE 0 END)",
		   "(SUM (CASE WHEN (= sex 'F') THEN amount ELSE 0))");
	check_tree("CASE WHEN p THEN CASE WHEN q THEN 1 END END",
		   "(CASE WHEN p THEN (CASE WHEN q THEN 1))");
	check_tree("a.b = org.ds.c", "(= a.b org.ds.c)");
	check_tree("\"my-org\".\"Data\".\"x y\" + a . b", "(+ \"my-org\".\"Data\".\"x y\" a.b)");
	check_errors(cases, ARRAY_SIZE(cases));
	/* Positions of a call and of a qualified name. */
	{
		static const char q[] = "x + COUNT(DISTINCT a.b)";
		struct sr_arena arena;
		struct sr_ast *ast;
		struct sr_err err;
		size_t end;

		sr_err_clear(&err);
		sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
		assert_int_equal(sr_ast_parse_text(q, strlen(q), 0, &arena, &ast, &end, &err), SR_OK);
		assert_int_equal(ast->args[1]->kind, SR_AST_CALL);
		assert_int_equal(ast->args[1]->start, 4);
		assert_int_equal(ast->args[1]->end, strlen(q));
		assert_true(sr_ast_is_aggregate(ast->args[1]));
		assert_false(sr_ast_is_aggregate(ast->args[0]));
		assert_int_equal(ast->args[1]->flags, SR_AST_DISTINCT);
		assert_int_equal(ast->args[1]->args[0]->start, 19);
		assert_int_equal(ast->args[1]->args[0]->end, 22);
		assert_int_equal(ast->args[1]->args[0]->nqual, 1);
		assert_int_equal(ast->args[1]->args[0]->qual[0].pos, 19);
		assert_int_equal(ast->args[1]->height, 2);
		sr_arena_release(&arena);
	}
}

static void test_eval_functions(void **state)
{
	(void)state;
	/* joined: 2020-01-01 2019-12-31 2000-02-29 NULL 1970-01-01 0001-01-01
	 * 9999-12-31 2024-02-29 2020-06-15 */
	check_eval("year(joined)", "2020,2019,2000,n,1970,1,9999,2024,2020");
	check_eval("month(joined)", "1,12,2,n,1,1,12,2,6");
	check_eval("date_trunc('year', joined)",
		   "2020-01-01,2019-01-01,2000-01-01,n,1970-01-01,0001-01-01,9999-01-01,2024-01-01,2020-01-01");
	check_eval("date_trunc('Quarter', joined)",
		   "2020-01-01,2019-10-01,2000-01-01,n,1970-01-01,0001-01-01,9999-10-01,2024-01-01,2020-04-01");
	check_eval("date_trunc('month', joined)",
		   "2020-01-01,2019-12-01,2000-02-01,n,1970-01-01,0001-01-01,9999-12-01,2024-02-01,2020-06-01");
	check_eval("date_trunc('week', joined)",
		   "2019-12-30,2019-12-30,2000-02-28,n,1969-12-29,0001-01-01,9999-12-27,2024-02-26,2020-06-15");
	check_eval("date_trunc('day', joined)",
		   "2020-01-01,2019-12-31,2000-02-29,n,1970-01-01,0001-01-01,9999-12-31,2024-02-29,2020-06-15");
	check_eval("year(joined + 1)", "2020,2020,2000,n,1970,1,n,2024,2020");
	check_const("year(NULL)", "n");
	check_const("month(DATE '2021-07-04')", "7");
	check_const("date_trunc('month', NULL)", "n");
	check_filter("year(joined) >= 2020", "100000111");
	check_filter("month(joined) = 1 AND year(joined) < 2000", "000011000");
}

static void test_eval_case(void **state)
{
	(void)state;
	/* age: 30 17 NULL 65 18 -5 max min 0; p: T T T F F F N N N */
	check_eval("CASE WHEN age > 20 THEN 'old' WHEN age >= 0 THEN 'young' END",
		   "old,young,n,old,young,n,old,n,young");
	check_eval("CASE WHEN age > 20 THEN 'old' WHEN age > 10 THEN 'teen' ELSE name END",
		   "old,teen,Carol,old,teen,al,old,ALICE,b");
	check_eval("CASE WHEN p THEN 1 ELSE 2.5 END", "1,1,1,2.5,2.5,2.5,2.5,2.5,2.5");
	check_eval("CASE WHEN p THEN NULL ELSE id END", "n,n,n,4,5,6,7,8,9");
	check_eval("CASE WHEN q THEN joined END", "2020-01-01,n,n,n,n,n,9999-12-31,n,n");
	check_eval("CASE WHEN p THEN CASE WHEN q THEN 'pq' ELSE 'p' END ELSE 'x' END",
		   "pq,p,p,x,x,x,x,x,x");
	check_eval("CASE WHEN NULL THEN 1 WHEN TRUE THEN 2 END", "2,2,2,2,2,2,2,2,2");
	check_const("CASE WHEN p THEN NULL END", "n");
	check_eval("CASE WHEN p THEN 1 END", "1,1,1,n,n,n,n,n,n");
	check_filter("CASE WHEN p THEN q ELSE NOT q END", "100010010");
	check_filter("CASE WHEN p THEN name ELSE 'x' END = 'x'", "000111111");
	check_eval("age + CASE WHEN p THEN 1 ELSE 0 END", "31,18,n,65,18,-5,9223372036854775807,-9223372036854775808,0");
}

/* A resolver that binds SUM(...) and COUNT(*) as columns 0 and 1 of a
 * result schema and refuses the column 'age'. */
static int resolve_test(void *ctx, const struct sr_ast *node, size_t *column,
			struct sr_err *err)
{
	const char *text = ctx;

	if (node->kind == SR_AST_CALL && node->func == SR_FUNC_SUM)
		*column = 0;
	else if (node->kind == SR_AST_CALL && node->func == SR_FUNC_COUNT)
		*column = 1;
	else if (node->kind == SR_AST_COLUMN && strcmp(node->v.str.p, "age") == 0)
		return sr_lex_fail(text, strlen(text), node->pos, err, SR_EINVAL,
				   "column 'age' must appear in GROUP BY");
	else if (node->kind == SR_AST_COLUMN && node->nqual == 1)
		*column = 2;
	return SR_OK;
}

static void test_resolver(void **state)
{
	static const struct sr_expr_column result[] = {
		{ "SUM(x)", SR_TYPE_FLOAT64 }, { "COUNT(*)", SR_TYPE_INT64 },
		{ "g", SR_TYPE_STRING },
	};
	struct sr_expr_resolver resolver = { .resolve = resolve_test };
	struct sr_vec sums, counts, gs, out;
	const struct sr_vec *cols[3] = { &sums, &counts, &gs };
	struct sr_arena arena;
	struct sr_expr *e;
	struct sr_ast *ast;
	struct sr_err err;
	const char *text;

	(void)state;
	sr_err_clear(&err);
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	sr_vec_init(&sums, SR_TYPE_FLOAT64);
	sr_vec_init(&counts, SR_TYPE_INT64);
	sr_vec_init(&gs, SR_TYPE_STRING);
	assert_int_equal(sr_vec_append_text(&sums, "10", 2), SR_OK);
	assert_int_equal(sr_vec_append_text(&sums, "3", 1), SR_OK);
	assert_int_equal(sr_vec_append_text(&counts, "4", 1), SR_OK);
	assert_int_equal(sr_vec_append_text(&counts, "0", 1), SR_OK);
	assert_int_equal(sr_vec_append_text(&gs, "a", 1), SR_OK);
	assert_int_equal(sr_vec_append_text(&gs, "b", 1), SR_OK);
	/* The whole SUM(...) is a column: its argument is never bound, so
	 * the unknown 'nosuch' inside it is no error here. */
	text = "SUM(nosuch) / COUNT(*)";
	resolver.ctx = (void *)text;
	assert_int_equal(sr_ast_parse_text(text, strlen(text), 0, &arena, &ast, NULL, &err), SR_OK);
	assert_int_equal(sr_expr_bind_with(ast, text, strlen(text), result, 3, 0,
					   &resolver, &e, &err), SR_OK);
	assert_int_equal(sr_expr_type(e), SR_TYPE_FLOAT64);
	assert_int_equal(sr_expr_ncolumns_used(e), 2);
	sr_vec_init(&out, SR_TYPE_FLOAT64);
	assert_int_equal(sr_expr_eval(e, cols, 2, &out, &err), SR_OK);
	assert_true(out.v.f64[0] == 2.5);
	assert_true(sr_vec_is_null(&out, 1));   /* 3 / 0 */
	sr_vec_release(&out);
	sr_expr_free(e);
	/* A qualified name the resolver handles; a predicate over it. */
	text = "t.g = 'b' AND COUNT(*) = 0";
	resolver.ctx = (void *)text;
	assert_int_equal(sr_ast_parse_text(text, strlen(text), 0, &arena, &ast, NULL, &err), SR_OK);
	assert_int_equal(sr_expr_bind_with(ast, text, strlen(text), result, 3,
					   SR_EXPR_PREDICATE, &resolver, &e, &err), SR_OK);
	{
		uint8_t keep[2];
		assert_int_equal(sr_expr_filter(e, cols, 2, keep, &err), SR_OK);
		assert_int_equal(keep[0], 0);
		assert_int_equal(keep[1], 1);
	}
	sr_expr_free(e);
	/* Its failure is the bind's, with its position. */
	text = "COUNT(*) > 1 AND  age > 2";
	resolver.ctx = (void *)text;
	assert_int_equal(sr_ast_parse_text(text, strlen(text), 0, &arena, &ast, NULL, &err), SR_OK);
	assert_int_equal(sr_expr_bind_with(ast, text, strlen(text), result, 3,
					   SR_EXPR_PREDICATE, &resolver, &e, &err), SR_EINVAL);
	assert_string_equal(err.msg, "1:19: column 'age' must appear in GROUP BY");
	assert_null(e);
	/* Unhandled nodes bind as usual, against the schema by name. */
	sr_err_clear(&err);
	text = "g = 'a' AND MAX(x) > 1";
	resolver.ctx = (void *)text;
	assert_int_equal(sr_ast_parse_text(text, strlen(text), 0, &arena, &ast, NULL, &err), SR_OK);
	assert_int_equal(sr_expr_bind_with(ast, text, strlen(text), result, 3,
					   SR_EXPR_PREDICATE, &resolver, &e, &err), SR_EINVAL);
	assert_string_equal(err.msg, "1:13: aggregate MAX() is not allowed in this expression");
	sr_vec_release(&sums);
	sr_vec_release(&counts);
	sr_vec_release(&gs);
	sr_arena_release(&arena);
}

/* ---- evaluation ------------------------------------------------------ */

static void test_eval_logic(void **state)
{
	(void)state;
	/* p: T T T F F F N N N; q: T F N T F N T F N. */
	check_eval("p AND q", "t,f,n,f,f,f,n,f,n");
	check_eval("p OR q", "t,t,t,t,f,n,t,n,n");
	check_eval("NOT p", "f,f,f,t,t,t,n,n,n");
	check_eval("NOT NOT q", "t,f,n,t,f,n,t,f,n");
	check_eval("p = q", "t,f,n,f,t,n,n,n,n");
	check_eval("p <> q", "f,t,n,t,f,n,n,n,n");
	check_eval("p < q", "f,f,n,t,f,n,n,n,n");
	check_eval("p IS NULL", "f,f,f,f,f,f,t,t,t");
	check_eval("q IS NOT NULL", "t,t,f,t,t,f,t,t,f");
	check_eval("p AND NULL", "n,n,n,f,f,f,n,n,n");
	check_eval("p OR NULL", "t,t,t,n,n,n,n,n,n");
	check_eval("NULL OR p", "t,t,t,n,n,n,n,n,n");
	check_eval("NOT NULL", "n,n,n,n,n,n,n,n,n");
	check_eval("p AND q AND active", "t,f,n,f,f,f,f,f,n");
	check_eval("p OR q OR active", "t,t,t,t,f,t,t,t,n");
	check_eval("p AND TRUE", "t,t,t,f,f,f,n,n,n");
	check_eval("p AND FALSE", "f,f,f,f,f,f,f,f,f");
	check_eval("p OR TRUE", "t,t,t,t,t,t,t,t,t");
	check_eval("FALSE AND p AND q", "f,f,f,f,f,f,f,f,f");   /* decided early */
	check_eval("TRUE OR p", "t,t,t,t,t,t,t,t,t");
	check_eval("p IN (TRUE)", "t,t,t,f,f,f,n,n,n");
	check_eval("active", "t,f,n,t,f,t,f,t,n");
	/* Precedence: AND before OR, NOT before AND, comparison before NOT. */
	check_const("TRUE OR TRUE AND FALSE", "t");
	check_const("(TRUE OR TRUE) AND FALSE", "f");
	check_const("NOT FALSE AND FALSE", "f");
	check_const("NOT 1 = 2", "t");
	check_const("1 + 1 = 2 AND 2 * 2 = 4", "t");
	/* Filters keep TRUE only. */
	check_filter("p OR q", "111100100");
	check_filter("NOT (p AND q)", "010111010");
	check_filter("NULL", "000000000");
	check_filter("TRUE", "111111111");
	check_filter("age >= 18", "100110100");
	check_filter("age >= 18 and not active", "000010100");
	check_filter("age < 18 OR age IS NULL", "011001011");
}

static void test_eval_arithmetic(void **state)
{
	(void)state;
	check_eval("age + 1", "31,18,n,66,19,-4,n,-9223372036854775807,1");
	check_eval("1 + age", "31,18,n,66,19,-4,n,-9223372036854775807,1");
	check_eval("age - 1", "29,16,n,64,17,-6,9223372036854775806,n,-1");
	check_eval("age * 2", "60,34,n,130,36,-10,n,n,0");
	check_eval("age * -1", "-30,-17,n,-65,-18,5,-9223372036854775807,n,0");
	check_eval("age / 4", "7,4,n,16,4,-1,2305843009213693951,-2305843009213693952,0");
	check_eval("age / 0", "n,n,n,n,n,n,n,n,n");
	check_eval("age / -1", "-30,-17,n,-65,-18,5,-9223372036854775807,n,0");
	check_eval("age / (id - 1)", "n,17,n,21,4,-1,1537228672809129301,-1317624576693539401,0");
	check_eval("-age", "-30,-17,n,-65,-18,5,-9223372036854775807,n,0");
	check_eval("- -age", "30,17,n,65,18,-5,9223372036854775807,n,0");
	check_eval("age + NULL", "n,n,n,n,n,n,n,n,n");
	check_eval("score * 2", "3,-4.5,0,n,200,7,2e+300,-2e+300,0.2");
	check_eval("score * 1e10", "15000000000,-22500000000,0,n,1000000000000,35000000000,n,n,1000000000");
	check_eval("score / 0", "n,n,n,n,n,n,n,n,n");
	check_eval("score / 0.0", "n,n,n,n,n,n,n,n,n");
	check_eval("-score", "-1.5,2.25,-0,n,-100,-3.5,-1e+300,1e+300,-0.1");
	check_eval("score + age", "31.5,14.75,n,n,118,-1.5,1e+300,-1e+300,0.1");
	check_eval("age / 2.0", "15,8.5,n,32.5,9,-2.5,4.611686018427388e+18,-4.611686018427388e+18,0");
	check_eval("id * 1.5 - 1", "0.5,2,3.5,5,6.5,8,9.5,11,12.5");
	check_const("1 + 2 * 3", "7");
	check_const("(1 + 2) * 3", "9");
	check_const("10 - 4 - 3", "3");
	check_const("100 / 10 / 5", "2");
	check_const("-2 * 3", "-6");
	check_const("- -5", "5");
	check_const("2 - -3", "5");
	check_const("7 / 2", "3");
	check_const("-7 / 2", "-3");
	check_const("7.0 / 2", "3.5");
	check_const("1 + 0.5", "1.5");
	check_const("9223372036854775807 + 1", "n");
	check_const("-9223372036854775808 - 1", "n");
	check_const("-(-9223372036854775808)", "n");
	check_const("-9223372036854775808 / -1", "n");
	check_const("4611686018427387904 * 2", "n");
	check_const("1e308 * 10", "n");
	check_const("0.0 / 0", "n");
}

static void test_eval_compare(void **state)
{
	(void)state;
	check_eval("age > score", "t,t,n,n,f,f,f,t,f");
	check_eval("age = 0.0", "f,f,n,f,f,f,f,f,t");
	check_eval("age <> 30", "f,t,n,t,t,t,t,t,t");
	check_eval("age != 30", "f,t,n,t,t,t,t,t,t");
	check_eval("age <= 17", "f,t,n,f,f,t,f,t,t");
	check_eval("age = -9223372036854775808", "f,f,n,f,f,f,f,t,f");
	check_eval("age = NULL", "n,n,n,n,n,n,n,n,n");
	check_eval("NULL = NULL", "n,n,n,n,n,n,n,n,n");
	check_eval("NULL IS NULL", "t,t,t,t,t,t,t,t,t");
	check_eval("(age + 1) IS NULL", "f,f,t,f,f,f,t,f,f");
	check_eval("name = 'alice'", "t,f,f,n,f,f,f,f,f");
	check_eval("name < 'b'", "t,f,t,n,t,t,t,t,f");
	check_eval("name >= 'al'", "t,t,f,n,f,t,t,f,t");
	check_eval("name = ''", "f,f,f,n,t,f,f,f,f");
	check_eval("name = 'alpha''s'", "f,f,f,n,f,f,t,f,f");
	check_eval("name = NULL", "n,n,n,n,n,n,n,n,n");
	check_eval("\"name\" IS NULL", "f,f,f,t,f,f,f,f,f");
	/* IN. */
	check_eval("age IN (17, 18, 65)", "f,t,n,t,t,f,f,f,f");
	check_eval("age IN (65, 17, 17, 18)", "f,t,n,t,t,f,f,f,f");
	check_eval("age IN (17.0, 30.5)", "f,t,n,f,f,f,f,f,f");
	check_eval("age NOT IN (17, NULL)", "n,f,n,n,n,n,n,n,n");
	check_eval("age IN (NULL)", "n,n,n,n,n,n,n,n,n");
	check_eval("age NOT IN (17, 18)", "t,f,n,t,f,t,t,t,t");
	check_eval("age IN (-9223372036854775808, 9223372036854775807)", "f,f,n,f,f,f,t,t,f");
	check_eval("score IN (1.5, 0, 100)", "t,f,t,n,t,f,f,f,f");
	check_eval("name IN ('bob', 'b', NULL)", "n,t,n,n,n,n,n,n,t");
	check_eval("name NOT IN ('bob', 'b')", "t,f,t,n,t,t,t,t,f");
	check_eval("name IN ('', 'Carol')", "f,f,t,n,t,f,f,f,f");
	check_eval("joined IN (DATE '2020-01-01', DATE '1970-01-01')", "t,f,f,n,t,f,f,f,f");
	check_eval("active IN (TRUE)", "t,f,n,t,f,t,f,t,n");
	check_eval("active NOT IN (TRUE, FALSE)", "f,f,n,f,f,f,f,f,n");
	check_eval("NULL IN (1, 2)", "n,n,n,n,n,n,n,n,n");
	/* BETWEEN. */
	check_eval("age BETWEEN 18 AND 65", "t,f,n,t,t,f,f,f,f");
	check_eval("age NOT BETWEEN 18 AND 65", "f,t,n,f,f,t,t,t,t");
	check_eval("age BETWEEN NULL AND 20", "f,n,n,f,n,n,f,n,n");
	check_eval("age BETWEEN 20 AND NULL", "n,f,n,n,f,f,n,f,f");
	check_eval("score BETWEEN 0 AND age", "t,f,n,n,f,f,f,f,f");
	check_eval("name BETWEEN 'al' AND 'b'", "t,f,f,n,f,t,t,f,t");
	check_eval("name BETWEEN NULL AND 'b'", "n,f,n,n,n,n,n,n,n");
	check_eval("joined BETWEEN DATE '2000-01-01' AND DATE '2020-12-31'", "t,t,t,n,f,f,f,f,t");
	check_eval("NULL BETWEEN 1 AND 2", "n,n,n,n,n,n,n,n,n");
	check_eval("age BETWEEN 65 AND 18", "f,f,n,f,f,f,f,f,f");
}

static void test_eval_dates(void **state)
{
	(void)state;
	check_eval("joined + 1", "2020-01-02,2020-01-01,2000-03-01,n,1970-01-02,0001-01-02,n,2024-03-01,2020-06-16");
	check_eval("1 + joined", "2020-01-02,2020-01-01,2000-03-01,n,1970-01-02,0001-01-02,n,2024-03-01,2020-06-16");
	check_eval("joined - 1", "2019-12-31,2019-12-30,2000-02-28,n,1969-12-31,n,9999-12-30,2024-02-28,2020-06-14");
	check_eval("joined + age", "2020-01-31,2020-01-17,n,n,1970-01-19,n,n,n,2020-06-15");
	check_eval("joined - age", "2019-12-02,2019-12-14,n,n,1969-12-14,0001-01-06,n,n,2020-06-15");
	check_eval("\"Order Date\" - joined", "490,n,1,n,1,3652058,-3652058,1,n");
	check_eval("joined - NULL", "n,n,n,n,n,n,n,n,n");
	check_eval("joined > DATE '2020-01-01'", "f,f,f,n,f,f,t,t,t");
	check_eval("joined + 366 = DATE '2021-01-01'", "t,f,f,n,f,f,n,f,f");
	check_eval("DATE '2024-03-01' - DATE '2024-02-01'", "29,29,29,29,29,29,29,29,29");
	check_eval("DATE '0001-01-01' - 1", "n,n,n,n,n,n,n,n,n");
	check_eval("DATE '9999-12-31' + 1", "n,n,n,n,n,n,n,n,n");
	check_eval("DATE '9999-12-31' - 3652058", "0001-01-01,0001-01-01,0001-01-01,0001-01-01,0001-01-01,0001-01-01,0001-01-01,0001-01-01,0001-01-01");
	check_eval("joined + 9223372036854775807", "n,n,n,n,n,n,n,n,n");
	check_eval("joined - -9223372036854775808", "n,n,n,n,n,n,n,n,n");
}

static void test_eval_strings_and_values(void **state)
{
	(void)state;
	check_eval("name", "alice,bob,Carol,n,,al,alpha's,ALICE,b");
	check_eval("'x'", "x,x,x,x,x,x,x,x,x");
	check_eval("NULL", "n,n,n,n,n,n,n,n,n");
	check_eval("active", "t,f,n,t,f,t,f,t,n");
	check_eval("\"Order Date\"", "2021-05-05,n,2000-03-01,1999-01-01,1970-01-02,9999-12-31,0001-01-01,2024-03-01,n");
	check_eval("score", "1.5,-2.25,0,n,100,3.5,1e+300,-1e+300,0.1");
}

static void test_columns_used(void **state)
{
	struct sr_expr *e;
	struct sr_err err;

	(void)state;
	assert_int_equal(compile("age > 1 AND name LIKE 'a%' AND age < 100 OR \"Order Date\" IS NULL",
				 &e, &err), SR_OK);
	assert_int_equal(sr_expr_type(e), SR_TYPE_BOOL);
	assert_int_equal(sr_expr_ncolumns_used(e), 3);
	assert_int_equal(sr_expr_column_used(e, 0), C_AGE);
	assert_int_equal(sr_expr_column_used(e, 1), C_NAME);
	assert_int_equal(sr_expr_column_used(e, 2), C_ORDER);
	assert_int_equal(sr_expr_column_used(e, 3), NCOLS);
	sr_expr_free(e);
	/* Only the columns read need a vector. */
	{
		const struct sr_vec *some[NCOLS] = { 0 };
		uint8_t keep[ROWS];
		some[C_AGE] = &table[C_AGE];
		assert_int_equal(compile("age BETWEEN 0 AND 20", &e, &err), SR_OK);
		assert_int_equal(sr_expr_filter(e, some, ROWS, keep, &err), SR_OK);
		assert_memory_equal(keep, "\0\1\0\0\1\0\0\0\1", ROWS);
		/* Zero rows need nothing at all. */
		assert_int_equal(sr_expr_filter(e, NULL, 0, keep, &err), SR_OK);
		sr_expr_free(e);
	}
	assert_int_equal(compile("TRUE", &e, &err), SR_OK);
	assert_int_equal(sr_expr_ncolumns_used(e), 0);
	sr_expr_free(e);
}

static void test_batch_misuse(void **state)
{
	const struct sr_vec *cols[NCOLS];
	struct sr_arena arena;
	uint8_t keep[ROWS + 1];
	struct sr_expr *e, *v;
	struct sr_ast *ast;
	struct sr_vec out;
	struct sr_err err;

	(void)state;
	memcpy(cols, batch, sizeof(cols));
	assert_int_equal(compile("age > 1", &e, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_expr_filter(e, NULL, ROWS, keep, &err), SR_EINVAL);
	assert_string_equal(err.msg, "expression: column 'age' is read but the batch has no columns");
	cols[C_AGE] = NULL;
	sr_err_clear(&err);
	assert_int_equal(sr_expr_filter(e, cols, ROWS, keep, &err), SR_EINVAL);
	assert_string_equal(err.msg, "expression: column 'age' is read but missing from the batch");
	cols[C_AGE] = &table[C_SCORE];
	sr_err_clear(&err);
	assert_int_equal(sr_expr_filter(e, cols, ROWS, keep, &err), SR_EINVAL);
	assert_string_equal(err.msg, "expression: column 'age' is float64 in the batch, int64 in the schema");
	sr_err_clear(&err);
	assert_int_equal(sr_expr_filter(e, batch, ROWS + 1, keep, &err), SR_EINVAL);
	assert_string_equal(err.msg, "expression: column 'age' has 9 rows in the batch, 10 needed");
	/* Fewer rows than the vectors hold is fine. */
	assert_int_equal(sr_expr_filter(e, batch, 2, keep, &err), SR_OK);
	assert_memory_equal(keep, "\1\1", 2);
	/* Evaluating into a vector of the wrong type. */
	sr_vec_init(&out, SR_TYPE_INT64);
	sr_err_clear(&err);
	assert_int_equal(sr_expr_eval(e, batch, ROWS, &out, &err), SR_EINVAL);
	assert_string_equal(err.msg, "expression: the output vector is int64, the expression bool");
	sr_expr_free(e);
	/* Filtering with a value expression. */
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	assert_int_equal(sr_ast_parse_text("age + 1", 7, 0, &arena, &ast, NULL, &err), SR_OK);
	assert_int_equal(sr_expr_bind(ast, "age + 1", 7, schema, NCOLS, 0, &v, &err), SR_OK);
	sr_arena_release(&arena);
	assert_int_equal(sr_expr_type(v), SR_TYPE_INT64);
	sr_err_clear(&err);
	assert_int_equal(sr_expr_filter(v, batch, ROWS, keep, &err), SR_EINVAL);
	assert_string_equal(err.msg, "expression: a filter needs a boolean expression, this one is int64");
	/* Evaluation appends. */
	assert_int_equal(sr_expr_eval(v, batch, ROWS, &out, &err), SR_OK);
	assert_int_equal(sr_expr_eval(v, batch, 2, &out, &err), SR_OK);
	assert_int_equal(out.rows, ROWS + 2);
	assert_int_equal(out.null_count, 2);
	assert_int_equal(out.v.i64[ROWS + 1], 18);
	sr_vec_release(&out);
	sr_expr_free(v);
}

/*
 * Batches longer than one evaluation step (1024 rows), with the step
 * boundary inside runs of decided rows: against the same predicate
 * computed row by row in C.
 */
static void test_long_batches(void **state)
{
	static const char pred[] =
		"x BETWEEN -10 AND 10 OR x IS NULL AND s LIKE 'ab%' OR y * 2 > 150 AND NOT (s IN ('b', 'ba'))";
	static const struct sr_expr_column cols[] = {
		{ "x", SR_TYPE_INT64 }, { "y", SR_TYPE_FLOAT64 }, { "s", SR_TYPE_STRING },
	};
	static const char *const strs[] = { "a", "ab", "abc", "b", "ba", "" };
	const size_t rows = 5000;
	struct sr_vec vx, vy, vs, out;
	const struct sr_vec *vecs[3] = { &vx, &vy, &vs };
	uint64_t seed = 42;
	uint8_t *keep = malloc(rows);
	struct sr_expr *e;
	struct sr_err err;
	char num[32];

	(void)state;
	assert_non_null(keep);
	sr_vec_init(&vx, SR_TYPE_INT64);
	sr_vec_init(&vy, SR_TYPE_FLOAT64);
	sr_vec_init(&vs, SR_TYPE_STRING);
	for (size_t r = 0; r < rows; r++) {
		uint64_t z = sr_test_rand(&seed);
		/* Long runs of rows decided FALSE across step boundaries. */
		int quiet = (r / 700) % 2 == 1;
		if (z % 7 == 0)
			assert_int_equal(sr_vec_append_null(&vx), SR_OK);
		else {
			snprintf(num, sizeof(num), "%d", quiet ? 1000 : (int)(z >> 8) % 100 - 50);
			assert_int_equal(sr_vec_append_text(&vx, num, strlen(num)), SR_OK);
		}
		if (z % 11 == 0)
			assert_int_equal(sr_vec_append_null(&vy), SR_OK);
		else {
			snprintf(num, sizeof(num), "%d.5", quiet ? 0 : (int)(z >> 20) % 100);
			assert_int_equal(sr_vec_append_text(&vy, num, strlen(num)), SR_OK);
		}
		if (z % 13 == 0)
			assert_int_equal(sr_vec_append_null(&vs), SR_OK);
		else {
			const char *s = strs[(z >> 30) % 6];
			assert_int_equal(sr_vec_append_text(&vs, s, strlen(s)), SR_OK);
		}
	}
	sr_err_clear(&err);
	assert_int_equal(sr_expr_compile(pred, strlen(pred), cols, 3, &e, &err), SR_OK);
	assert_int_equal(sr_expr_filter(e, vecs, rows, keep, &err), SR_OK);
	sr_vec_init(&out, SR_TYPE_BOOL);
	assert_int_equal(sr_expr_eval(e, vecs, rows, &out, &err), SR_OK);
	for (size_t r = 0; r < rows; r++) {
		int xn = sr_vec_is_null(&vx, r), yn = sr_vec_is_null(&vy, r), sn = sr_vec_is_null(&vs, r);
		int64_t x = vx.v.i64[r];
		double y = vy.v.f64[r];
		const char *s = vs.bytes.data + vs.offsets[r];
		size_t slen = vs.offsets[r + 1] - vs.offsets[r];
		/* Three-valued: 0 false, 1 true, 2 NULL. */
		int a = xn ? 2 : (x >= -10 && x <= 10);
		int like = sn ? 2 : (slen >= 2 && memcmp(s, "ab", 2) == 0);
		int b = xn ? like : 0;   /* x IS NULL AND like */
		int gt = yn ? 2 : y * 2 > 150;
		int in = sn ? 2 : ((slen == 1 && s[0] == 'b') || (slen == 2 && memcmp(s, "ba", 2) == 0));
		int notin = in == 2 ? 2 : !in;
		int c = (gt == 0 || notin == 0) ? 0 : (gt == 2 || notin == 2) ? 2 : 1;
		int any_true = a == 1 || b == 1 || c == 1;
		int any_null = a == 2 || b == 2 || c == 2;
		int want = any_true ? 1 : any_null ? 2 : 0;
		if (keep[r] != (want == 1))
			fail_msg("row %zu: kept %d, expected %d", r, keep[r], want);
		if (sr_vec_is_null(&out, r) != (want == 2) ||
		    (want != 2 && out.v.b[r] != want))
			fail_msg("row %zu: value differs", r);
	}
	sr_expr_free(e);
	sr_vec_release(&out);
	sr_vec_release(&vx);
	sr_vec_release(&vy);
	sr_vec_release(&vs);
	free(keep);
}

/*
 * Compile, filter and evaluate with the n-th allocation failing, for
 * every n until a run gets through: each run ends in SR_OK or SR_ENOMEM
 * with "out of memory", and leaks nothing (under ASan).
 */
static void test_allocation_failures(void **state)
{
	static const char pred[] =
		"name IN ('alice', 'bob', 'b', 'x', 'y', 'z', NULL) AND NOT name LIKE 'al%' "
		"OR age BETWEEN 1 AND score * 2 OR joined + 1 > DATE '2020-01-01' OR p AND q "
		"OR CASE WHEN year(joined) > 2000 THEN name ELSE 'x' END = 'x' "
		"OR date_trunc('month', joined) = DATE '2020-01-01'";
	int succeeded = 0;
	unsigned long n;

	(void)state;
	for (n = 1; n < 100000 && !succeeded; n++) {
		struct sr_expr *e = NULL;
		struct sr_err err;
		struct sr_vec out;
		uint8_t keep[ROWS];
		int rc;

		sr_err_clear(&err);
		sr_vec_init(&out, SR_TYPE_STRING);
		sr_alloc_fail_at(n, 0);
		rc = sr_expr_compile(pred, strlen(pred), schema, NCOLS, &e, &err);
		if (rc == SR_OK)
			rc = sr_expr_filter(e, batch, ROWS, keep, &err);
		sr_expr_free(e);
		e = NULL;
		if (rc == SR_OK) {
			struct sr_arena arena;
			struct sr_ast *ast;
			sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
			rc = sr_ast_parse_text("name", 4, 0, &arena, &ast, NULL, &err);
			if (rc == SR_OK)
				rc = sr_expr_bind(ast, "name", 4, schema, NCOLS, 0, &e, &err);
			sr_arena_release(&arena);
			if (rc == SR_OK)
				rc = sr_expr_eval(e, batch, ROWS, &out, &err);
			/* A failed evaluation leaves whole rows only. */
			assert_true(out.rows == 0 || out.rows == ROWS);
			assert_int_equal(out.bytes.len, out.rows ? out.offsets[out.rows] : 0);
		}
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK)
			succeeded = 1;
		else if (rc != SR_ENOMEM)
			fail_msg("allocation %lu: got %d (%s)", n, rc, err.msg);
		else if (!strstr(err.msg, "out of memory"))
			fail_msg("allocation %lu: message '%s'", n, err.msg);
		sr_expr_free(e);
		sr_vec_release(&out);
	}
	assert_true(succeeded);
	assert_true(n > 5);
}

static void test_arena(void **state)
{
	struct sr_arena arena;
	void *p, *q, *big;
	char *s;

	(void)state;
	sr_arena_init(&arena, 1u << 20);
	assert_int_equal(sr_arena_alloc(&arena, 1, &p), SR_OK);
	assert_int_equal(sr_arena_alloc(&arena, 0, &q), SR_OK);
	assert_true(((uintptr_t)p % 16) == 0 && ((uintptr_t)q % 16) == 0);
	assert_true(p != q);
	/* A large piece gets its own block; the current one keeps serving. */
	assert_int_equal(sr_arena_alloc(&arena, 100000, &big), SR_OK);
	memset(big, 0xab, 100000);
	assert_int_equal(sr_arena_alloc(&arena, 8, &q), SR_OK);
	assert_ptr_equal(q, (char *)p + 32);   /* after p and the empty piece */
	assert_int_equal(*(unsigned char *)q, 0);   /* zeroed */
	assert_int_equal(sr_arena_strndup(&arena, "hello", 3, &s), SR_OK);
	assert_string_equal(s, "hel");
	/* The cap. */
	assert_int_equal(sr_arena_alloc(&arena, 2u << 20, &p), SR_ELIMIT);
	assert_null(p);
	sr_arena_release(&arena);
	assert_null(arena.blocks);
	assert_int_equal(arena.used, 0);
	/* Out of memory. */
	sr_alloc_fail_at(1, 0);
	assert_int_equal(sr_arena_alloc(&arena, 10, &p), SR_ENOMEM);
	sr_alloc_fail_at(0, 0);
	assert_null(p);
	sr_arena_release(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_lex_tokens),
		cmocka_unit_test(test_lex_positions),
		cmocka_unit_test(test_parse_precedence),
		cmocka_unit_test(test_parse_offsets),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_like_patterns),
		cmocka_unit_test(test_parse_calls_and_case),
		cmocka_unit_test(test_eval_functions),
		cmocka_unit_test(test_eval_case),
		cmocka_unit_test(test_resolver),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_eval_logic),
		cmocka_unit_test(test_eval_arithmetic),
		cmocka_unit_test(test_eval_compare),
		cmocka_unit_test(test_eval_dates),
		cmocka_unit_test(test_eval_strings_and_values),
		cmocka_unit_test(test_columns_used),
		cmocka_unit_test(test_batch_misuse),
		cmocka_unit_test(test_long_batches),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, setup_table, teardown_table);
}
