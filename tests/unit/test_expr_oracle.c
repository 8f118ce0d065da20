/*
 * test_expr_oracle.c - the plaintext oracle for src/expr: random
 * predicates and value expressions over random data with NULLs,
 * evaluated by sr_expr_filter / sr_expr_eval and by SQLite on the same
 * rows (SELECT rowid FROM t WHERE <predicate>, SELECT <expr> FROM t), row
 * by row.
 *
 * The generator emits only text both accept with one meaning: binary
 * arithmetic is parenthesized except in chains of leaves (where the two
 * agree on precedence and associativity), comparison operands that are
 * comparisons are parenthesized (SQLite chains them, we refuse), LIKE
 * patterns are prefixes and SQLite is made case-sensitive, dates are
 * integers (days) in SQLite and never literals, and magnitudes are
 * tracked so no int64 overflows (SQLite would turn it into a float; we
 * give NULL) and no date leaves 0001..9999.
 */
#include "testutil.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "expr/ast.h"
#include "expr/expr.h"
#include "store/value.h"
#include "store/vec.h"
#include "base/banned.h"

#define ROWS 2600          /* three evaluation steps */
#define PREDICATES 1200
#define VALUES 500
#define DATE_BASE 18000    /* 2019-04-14 */

enum { I1, I2, F1, S1, S2, B1, D1, D2, NCOLS };

static const struct sr_expr_column schema[NCOLS] = {
	{ "i1", SR_TYPE_INT64 }, { "i2", SR_TYPE_INT64 }, { "f1", SR_TYPE_FLOAT64 },
	{ "s1", SR_TYPE_STRING }, { "s2", SR_TYPE_STRING }, { "b1", SR_TYPE_BOOL },
	{ "d1", SR_TYPE_DATE }, { "d two", SR_TYPE_DATE },
};

struct gen {
	uint64_t seed;
	struct sr_buf *out;
};

static unsigned pick(struct gen *g, unsigned n)
{
	return (unsigned)(sr_test_rand(&g->seed) % n);
}

static void put(struct gen *g, const char *s)
{
	assert_int_equal(sr_buf_addstr(g->out, s), SR_OK);
}

/* A keyword in a random case, with the spaces around it. */
static void kw(struct gen *g, const char *word)
{
	char tmp[32];
	size_t n = strlen(word);
	unsigned style = pick(g, 3);

	for (size_t i = 0; i < n; i++) {
		char c = word[i];
		if (style == 1 && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (style == 2 && i > 0 && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		tmp[i] = c;
	}
	tmp[n] = '\0';
	put(g, pick(g, 20) == 0 ? " /* c */ " : " ");
	put(g, tmp);
	put(g, pick(g, 20) == 0 ? "\n  " : " ");
}

static void column(struct gen *g, int c)
{
	static const char *const spell[NCOLS][2] = {
		{ "i1", "I1" }, { "i2", "I2" }, { "f1", "F1" }, { "s1", "S1" },
		{ "s2", "s2" }, { "b1", "B1" }, { "d1", "D1" }, { "\"d two\"", "\"d two\"" },
	};
	put(g, spell[c][pick(g, 4) == 0]);
}

static double gen_int(struct gen *g, int depth);

/* An int64 leaf; returns a bound on its magnitude. */
static double int_leaf(struct gen *g)
{
	char num[32];
	int v;

	switch (pick(g, 4)) {
	case 0:
		column(g, I1);
		return 20;
	case 1:
		column(g, I2);
		return 1e6;
	default:
		v = (int)pick(g, 61) - 30;
		snprintf(num, sizeof(num), "%d", v);
		put(g, num);
		return 30;
	}
}

static const char *const arith_ops[] = { " + ", " - ", " * ", " / " };

/* An int64 expression; returns a bound on its magnitude. */
static double gen_int(struct gen *g, int depth)
{
	double a, b;
	unsigned op;

	if (depth <= 0 || pick(g, 3) == 0)
		return int_leaf(g);
	switch (pick(g, 5)) {
	case 0:
		put(g, "(- ");
		a = gen_int(g, depth - 1);
		put(g, ")");
		return a;
	case 1:   /* date - date */
		put(g, "(");
		column(g, D1);
		put(g, " - ");
		column(g, D2);
		put(g, ")");
		return 1000;
	case 2: {  /* a chain of leaves: both sides agree on precedence */
		double bound = int_leaf(g);
		for (int i = 0; i < 2; i++) {
			op = pick(g, 4);
			if (op == 2 && bound * 1e6 > 1e14)
				op = 0;
			put(g, arith_ops[op]);
			b = int_leaf(g);
			bound = op == 2 ? bound * b : op == 3 ? bound : bound + b;
		}
		return bound;
	}
	default:
		op = pick(g, 4);
		put(g, "(");
		{
			size_t mark = g->out->len;
			a = gen_int(g, depth - 1);
			put(g, arith_ops[op]);
			b = gen_int(g, depth - 1);
			if (op == 2 && a * b > 1e14) {
				/* Too big to multiply: add leaves instead. */
				op = 0;
				sr_buf_setlen(g->out, mark);
				a = gen_int(g, 0);
				put(g, " + ");
				b = gen_int(g, 0);
			}
		}
		put(g, ")");
		return op == 2 ? a * b : op == 3 ? a : a + b;
	}
}

/* A float64 expression (mixing int64 operands in); returns a bound. */
static double gen_float(struct gen *g, int depth)
{
	static const char *const lits[] = {
		"0.5", "1.25", "2.5", "3.0", "0.0", "1e1", "2.5e-1", ".75",
	};
	double a, b;
	unsigned op;

	if (depth <= 0 || pick(g, 3) == 0) {
		if (pick(g, 2)) {
			column(g, F1);
			return 100;
		}
		put(g, lits[pick(g, 8)]);
		return 10;
	}
	if (pick(g, 5) == 0) {
		put(g, "(- ");
		a = gen_float(g, depth - 1);
		put(g, ")");
		return a;
	}
	op = pick(g, 4);
	put(g, "(");
	if (pick(g, 2)) {
		a = gen_float(g, depth - 1);
		put(g, arith_ops[op]);
		b = pick(g, 2) ? gen_float(g, depth - 1) : gen_int(g, depth - 1);
	} else {
		a = gen_int(g, depth - 1);
		put(g, arith_ops[op]);
		b = gen_float(g, depth - 1);
	}
	put(g, ")");
	/* Division by a small float can grow: a generous bound, far below
	 * overflow at these depths. */
	return op == 2 ? a * b : op == 3 ? a * 1e4 : a + b;
}

static void gen_string(struct gen *g)
{
	static const char *const lits[] = {
		"''", "'a'", "'ab'", "'b'", "'A'", "'ba'", "'a''b'", "'abA'",
	};

	if (pick(g, 2))
		column(g, pick(g, 2) ? S1 : S2);
	else
		put(g, lits[pick(g, 8)]);
}

/* A date expression: columns plus or minus small days. */
static void gen_date(struct gen *g, int depth)
{
	if (depth <= 0 || pick(g, 2) == 0) {
		column(g, pick(g, 2) ? D1 : D2);
		return;
	}
	put(g, "(");
	switch (pick(g, 3)) {
	case 0:
		gen_date(g, depth - 1);
		put(g, " + ");
		column(g, I1);
		break;
	case 1:
		put(g, "7 + ");
		gen_date(g, depth - 1);
		break;
	default:
		gen_date(g, depth - 1);
		put(g, pick(g, 2) ? " - 30" : " - i1");
	}
	put(g, ")");
}

static const char *const cmp_ops[] = { " = ", " <> ", " != ", " < ", " <= ", " > ", " >= " };

static void gen_bool(struct gen *g, int depth, int *atom);

/* A boolean operand where only an atom may stand bare. */
static void bool_operand(struct gen *g, int depth)
{
	size_t mark = g->out->len;
	int atom;

	put(g, "(");
	gen_bool(g, depth, &atom);
	if (atom) {
		/* Drop the parenthesis again, now and then. */
		if (pick(g, 2)) {
			memmove(g->out->data + mark, g->out->data + mark + 1,
				g->out->len - mark - 1);
			sr_buf_setlen(g->out, g->out->len - 1);
			return;
		}
	}
	put(g, ")");
}

static void gen_compare(struct gen *g, int depth)
{
	switch (pick(g, 5)) {
	case 0: case 1:
		if (pick(g, 2))
			gen_int(g, depth);
		else
			gen_float(g, depth);
		put(g, cmp_ops[pick(g, 7)]);
		if (pick(g, 2))
			gen_int(g, depth);
		else
			gen_float(g, depth);
		break;
	case 2:
		gen_string(g);
		put(g, cmp_ops[pick(g, 7)]);
		gen_string(g);
		break;
	case 3:
		gen_date(g, depth);
		put(g, cmp_ops[pick(g, 7)]);
		gen_date(g, depth);
		break;
	default: {
		int atom;
		column(g, B1);
		put(g, cmp_ops[pick(g, 7)]);
		put(g, "(");
		gen_bool(g, depth - 1, &atom);
		put(g, ")");
	}
	}
}

static void gen_in(struct gen *g, int depth)
{
	static const char *const nums[] = { "0", "1", "-1", "5", "-20", "2.5", "100", "NULL", "17", "3.0" };
	static const char *const strs[] = { "''", "'a'", "'ab'", "'b'", "'B'", "NULL", "'a''b'" };
	unsigned n = 1 + pick(g, 5);
	int strings = pick(g, 3) == 0, bools = !strings && pick(g, 6) == 0;

	if (strings)
		column(g, pick(g, 2) ? S1 : S2);
	else if (bools)
		column(g, B1);
	else if (pick(g, 2))
		gen_int(g, depth);
	else
		gen_float(g, depth);
	if (pick(g, 2))
		kw(g, "NOT");
	else
		put(g, " ");
	kw(g, "IN");
	put(g, "(");
	for (unsigned i = 0; i < n; i++) {
		if (i)
			put(g, ", ");
		if (strings)
			put(g, strs[pick(g, 7)]);
		else if (bools)
			put(g, pick(g, 3) == 0 ? "NULL" : pick(g, 2) ? "TRUE" : "FALSE");
		else
			put(g, nums[pick(g, 10)]);
	}
	put(g, ")");
}

static void gen_between(struct gen *g, int depth)
{
	unsigned kind = pick(g, 3);

	for (int part = 0; part < 3; part++) {
		if (part == 1) {
			if (pick(g, 2))
				kw(g, "NOT");
			else
				put(g, " ");
			kw(g, "BETWEEN");
		}
		if (part == 2)
			kw(g, "AND");
		if (kind == 0)
			pick(g, 2) ? (void)gen_int(g, depth) : (void)gen_float(g, depth);
		else if (kind == 1)
			gen_string(g);
		else
			gen_date(g, depth);
	}
}

static void gen_like(struct gen *g)
{
	static const char *const pats[] = {
		"'a%'", "'ab%'", "'A%'", "'%'", "''", "'a'", "'b%'", "'a''%'", "'ba'",
	};

	if (pick(g, 4))
		column(g, pick(g, 2) ? S1 : S2);
	else
		put(g, "'abc'");
	if (pick(g, 3) == 0)
		kw(g, "NOT");
	else
		put(g, " ");
	kw(g, "LIKE");
	put(g, pats[pick(g, 9)]);
}

/*
 * A boolean expression.  *atom is set when it is a single comparison,
 * test or leaf: something AND, OR and NOT can take without parentheses in
 * both grammars.
 */
static void gen_bool(struct gen *g, int depth, int *atom)
{
	unsigned choice = depth <= 0 ? 6 + pick(g, 4) : pick(g, 10);

	*atom = 1;
	switch (choice) {
	case 0: case 1: {   /* AND / OR, two or three terms */
		unsigned terms = 2 + pick(g, 2);
		for (unsigned i = 0; i < terms; i++) {
			if (i)
				kw(g, pick(g, 2) ? "AND" : "OR");
			bool_operand(g, depth - 1);
		}
		*atom = 0;
		break;
	}
	case 2:
		kw(g, "NOT");
		bool_operand(g, depth - 1);
		*atom = 0;
		break;
	case 3:
		gen_in(g, depth - 1);
		break;
	case 4:
		gen_between(g, depth - 1);
		break;
	case 5: {
		unsigned what = pick(g, 5);
		int inner;
		if (what == 0)
			gen_int(g, depth - 1);
		else if (what == 1)
			gen_string(g);
		else if (what == 2)
			gen_date(g, depth - 1);
		else if (what == 3)
			gen_float(g, depth - 1);
		else {
			put(g, "(");
			gen_bool(g, depth - 1, &inner);
			put(g, ")");
		}
		kw(g, "IS");
		if (pick(g, 2))
			kw(g, "NOT");
		kw(g, "NULL");
		break;
	}
	case 6:
		gen_like(g);
		break;
	case 7:
		switch (pick(g, 6)) {
		case 0: column(g, B1); break;
		case 1: kw(g, "TRUE"); break;
		case 2: kw(g, "FALSE"); break;
		case 3: kw(g, "NULL"); break;
		default: gen_compare(g, 0);
		}
		break;
	default:
		gen_compare(g, depth - 1);
	}
}

/* ---- data ------------------------------------------------------------ */

struct data {
	struct sr_vec vecs[NCOLS];
	const struct sr_vec *cols[NCOLS];
	sqlite3 *db;
};

static void make_data(struct data *d, uint64_t seed)
{
	static const char alphabet[] = "abAB'";
	sqlite3_stmt *ins;
	char text[64];

	assert_int_equal(sqlite3_open(":memory:", &d->db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(d->db,
		"PRAGMA case_sensitive_like = ON;"
		"CREATE TABLE t(i1 INTEGER, i2 INTEGER, f1 REAL, s1 TEXT, s2 TEXT,"
		" b1 INTEGER, d1 INTEGER, \"d two\" INTEGER)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(d->db,
		"INSERT INTO t(rowid, i1, i2, f1, s1, s2, b1, d1, \"d two\") VALUES (?,?,?,?,?,?,?,?,?)",
		-1, &ins, NULL), SQLITE_OK);
	for (int c = 0; c < NCOLS; c++) {
		sr_vec_init(&d->vecs[c], schema[c].type);
		d->cols[c] = &d->vecs[c];
	}
	for (int r = 0; r < ROWS; r++) {
		assert_int_equal(sqlite3_bind_int(ins, 1, r + 1), SQLITE_OK);
		for (int c = 0; c < NCOLS; c++) {
			uint64_t z = sr_test_rand(&seed);
			int p = c + 2;
			if (z % 10 == 0) {
				assert_int_equal(sr_vec_append_null(&d->vecs[c]), SR_OK);
				assert_int_equal(sqlite3_bind_null(ins, p), SQLITE_OK);
				continue;
			}
			z >>= 8;
			switch (c) {
			case I1: case I2: {
				long long v = c == I1 ? (long long)(z % 41) - 20 :
					      z % 3 == 0 ? (long long)((z >> 4) % 2000001) - 1000000 :
					      (long long)((z >> 4) % 21) - 10;
				snprintf(text, sizeof(text), "%lld", v);
				assert_int_equal(sqlite3_bind_int64(ins, p, v), SQLITE_OK);
				break;
			}
			case F1: {
				double v = ((double)(z % 801) - 400) / 4;
				snprintf(text, sizeof(text), "%.17g", v);
				assert_int_equal(sqlite3_bind_double(ins, p, v), SQLITE_OK);
				break;
			}
			case S1: case S2: {
				size_t n = z % 4;
				for (size_t i = 0; i < n; i++)
					text[i] = alphabet[(z >> (4 + 3 * i)) % 5];
				text[n] = '\0';
				assert_int_equal(sqlite3_bind_text(ins, p, text, (int)n, SQLITE_TRANSIENT), SQLITE_OK);
				break;
			}
			case B1:
				snprintf(text, sizeof(text), "%s", z % 2 ? "true" : "false");
				assert_int_equal(sqlite3_bind_int(ins, p, (int)(z % 2)), SQLITE_OK);
				break;
			default: {
				int32_t days = DATE_BASE + (int32_t)(z % 801) - 400;
				struct sr_buf b;
				sr_buf_init(&b, 0);
				assert_int_equal(sr_value_format_date(&b, days), SR_OK);
				snprintf(text, sizeof(text), "%s", b.data);
				sr_buf_release(&b);
				assert_int_equal(sqlite3_bind_int(ins, p, days), SQLITE_OK);
			}
			}
			assert_int_equal(sr_vec_append_text(&d->vecs[c], text, strlen(text)), SR_OK);
		}
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		assert_int_equal(sqlite3_reset(ins), SQLITE_OK);
	}
	sqlite3_finalize(ins);
}

static void free_data(struct data *d)
{
	for (int c = 0; c < NCOLS; c++)
		sr_vec_release(&d->vecs[c]);
	sqlite3_close(d->db);
}

/* SQLite's statement for sql_head + text + sql_tail. */
static sqlite3_stmt *prepare(struct data *d, const char *head, const char *text,
			     const char *tail)
{
	struct sr_buf sql;
	sqlite3_stmt *st = NULL;

	sr_buf_init(&sql, 0);
	assert_int_equal(sr_buf_addstr(&sql, head), SR_OK);
	assert_int_equal(sr_buf_addstr(&sql, text), SR_OK);
	assert_int_equal(sr_buf_addstr(&sql, tail), SR_OK);
	if (sqlite3_prepare_v2(d->db, sql.data, -1, &st, NULL) != SQLITE_OK)
		fail_msg("sqlite refuses %s: %s", sql.data, sqlite3_errmsg(d->db));
	sr_buf_release(&sql);
	return st;
}

static void check_predicate(struct data *d, const char *text, size_t *kept)
{
	static uint8_t keep[ROWS];
	struct sr_expr *e;
	struct sr_err err;
	sqlite3_stmt *st;
	int next = 0, rc;

	sr_err_clear(&err);
	if (sr_expr_compile(text, strlen(text), schema, NCOLS, &e, &err) != SR_OK)
		fail_msg("we refuse %s: %s", text, err.msg);
	assert_int_equal(sr_expr_filter(e, d->cols, ROWS, keep, &err), SR_OK);
	sr_expr_free(e);
	st = prepare(d, "SELECT rowid FROM t WHERE ", text, " ORDER BY rowid");
	for (int r = 0; r < ROWS; r++) {
		int sqlite_keeps;
		if (next == 0) {
			rc = sqlite3_step(st);
			assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
			next = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
		}
		sqlite_keeps = next == r + 1;
		if (sqlite_keeps)
			next = 0;
		if (keep[r] != sqlite_keeps)
			fail_msg("%s: row %d: we keep %d, sqlite %d", text, r + 1, keep[r], sqlite_keeps);
		*kept += keep[r];
	}
	if (next == 0)
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* A value expression of type: ours against SQLite's, row by row. */
static void check_value(struct data *d, const char *text)
{
	struct sr_arena arena;
	struct sr_expr *e;
	struct sr_ast *ast;
	struct sr_err err;
	struct sr_vec out;
	sqlite3_stmt *st;
	size_t end;

	sr_err_clear(&err);
	sr_arena_init(&arena, 1u << 24);
	if (sr_ast_parse_text(text, strlen(text), 0, &arena, &ast, &end, &err) != SR_OK ||
	    end != strlen(text) ||
	    sr_expr_bind(ast, text, strlen(text), schema, NCOLS, 0, &e, &err) != SR_OK)
		fail_msg("we refuse %s: %s", text, err.msg);
	sr_arena_release(&arena);
	sr_vec_init(&out, sr_expr_type(e));
	assert_int_equal(sr_expr_eval(e, d->cols, ROWS, &out, &err), SR_OK);
	st = prepare(d, "SELECT ", text, " FROM t ORDER BY rowid");
	for (int r = 0; r < ROWS; r++) {
		int null;
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		null = sqlite3_column_type(st, 0) == SQLITE_NULL;
		if (null != sr_vec_is_null(&out, (size_t)r))
			fail_msg("%s: row %d: we say %s, sqlite %s", text, r + 1,
				 sr_vec_is_null(&out, (size_t)r) ? "NULL" : "a value",
				 null ? "NULL" : "a value");
		if (null)
			continue;
		switch (out.type) {
		case SR_TYPE_INT64:
			if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
			    sqlite3_column_int64(st, 0) != out.v.i64[r])
				fail_msg("%s: row %d: we say %lld, sqlite %s", text, r + 1,
					 (long long)out.v.i64[r], sqlite3_column_text(st, 0));
			break;
		case SR_TYPE_DATE:
			if (sqlite3_column_int64(st, 0) != out.v.date[r])
				fail_msg("%s: row %d: date differs", text, r + 1);
			break;
		case SR_TYPE_BOOL:
			if (sqlite3_column_int64(st, 0) != out.v.b[r])
				fail_msg("%s: row %d: we say %d, sqlite %lld", text, r + 1,
					 out.v.b[r], (long long)sqlite3_column_int64(st, 0));
			break;
		case SR_TYPE_FLOAT64:
			if (sqlite3_column_type(st, 0) != SQLITE_FLOAT ||
			    sqlite3_column_double(st, 0) != out.v.f64[r])
				fail_msg("%s: row %d: we say %.17g, sqlite %.17g", text, r + 1,
					 out.v.f64[r], sqlite3_column_double(st, 0));
			break;
		case SR_TYPE_STRING: {
			size_t n = out.offsets[r + 1] - out.offsets[r];
			if ((size_t)sqlite3_column_bytes(st, 0) != n ||
			    memcmp(sqlite3_column_text(st, 0), out.bytes.data + out.offsets[r], n) != 0)
				fail_msg("%s: row %d: string differs", text, r + 1);
			break;
		}
		}
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sr_vec_release(&out);
	sr_expr_free(e);
}

static void test_oracle_predicates(void **state)
{
	struct gen g = { .seed = 20240601 };
	struct sr_buf text;
	struct data d;
	size_t kept = 0;

	(void)state;
	make_data(&d, 7);
	sr_buf_init(&text, 0);
	g.out = &text;
	for (int i = 0; i < PREDICATES; i++) {
		int atom;
		sr_buf_reset(&text);
		gen_bool(&g, 2 + (int)pick(&g, 4), &atom);
		check_predicate(&d, text.data, &kept);
	}
	/* The predicates are not all trivially TRUE or FALSE. */
	assert_true(kept > (size_t)PREDICATES * ROWS / 10);
	assert_true(kept < (size_t)PREDICATES * ROWS * 9 / 10);
	sr_buf_release(&text);
	free_data(&d);
}

static void test_oracle_values(void **state)
{
	struct gen g = { .seed = 99 };
	struct sr_buf text;
	struct data d;

	(void)state;
	make_data(&d, 8);
	sr_buf_init(&text, 0);
	g.out = &text;
	for (int i = 0; i < VALUES; i++) {
		int atom, depth = 1 + (int)pick(&g, 3);
		sr_buf_reset(&text);
		switch (i % 5) {
		case 0: gen_int(&g, depth); break;
		case 1: gen_float(&g, depth); break;
		case 2: gen_date(&g, depth); break;
		case 3: gen_string(&g); break;
		default: gen_bool(&g, depth, &atom);
		}
		check_value(&d, text.data);
	}
	sr_buf_release(&text);
	free_data(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oracle_predicates),
		cmocka_unit_test(test_oracle_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
