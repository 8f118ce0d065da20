/*
 * fuzz_expr.c - libFuzzer target for the expression module: any text is
 * compiled against a fixed schema (every type, a quoted name) and, when it
 * compiles, filtered and evaluated over a small batch with NULLs and edge
 * values (int64 limits, 1e300, empty strings, the first and last day).
 * Never a crash, hang or leak, and:
 *   - a failure has a message, and unless it is out of memory the message
 *     starts with "line:col: ";
 *   - the columns used are distinct, ascending, in the schema, and
 *     filtering with only those vectors gives the same rows;
 *   - the filter keeps exactly the rows the evaluated predicate is TRUE;
 *   - the same text bound as a value expression evaluates one value per row.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/limits.h"
#include "expr/ast.h"
#include "expr/expr.h"
#include "store/vec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCOLS 6
#define ROWS 12

static const struct sr_expr_column schema[NCOLS] = {
	{ "i", SR_TYPE_INT64 }, { "f", SR_TYPE_FLOAT64 }, { "s", SR_TYPE_STRING },
	{ "b", SR_TYPE_BOOL }, { "d", SR_TYPE_DATE }, { "Order Date", SR_TYPE_DATE },
};

static const char *const cells[ROWS][NCOLS] = {
	{ "0", "0", "", "true", "1970-01-01", "1970-01-01" },
	{ "1", "1.5", "a", "false", "2020-02-29", "2020-03-01" },
	{ "-1", "-2.25", "ab", NULL, "0001-01-01", "9999-12-31" },
	{ "9223372036854775807", "1e300", "abc", "true", "9999-12-31", "0001-01-01" },
	{ "-9223372036854775808", "-1e300", "B", "false", NULL, "2000-01-01" },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
	{ "42", "0.1", "it's", "true", "2024-06-15", NULL },
	{ "18", "100", "\xc3\xa9t\xc3\xa9", "false", "1999-12-31", "2000-01-01" },
	{ "-5", "5e-324", "%_", "true", "2001-09-09", "2001-09-09" },
	{ "7", "-0", "a%", NULL, "1969-12-31", "1970-01-01" },
	{ "1000000", "3.5", "zzzz", "true", "2038-01-19", "2038-01-20" },
	{ "-7", "2", "A", "false", "1900-03-01", NULL },
};

static struct sr_vec vecs[NCOLS];
static const struct sr_vec *batch[NCOLS];

static void setup(void)
{
	for (size_t c = 0; c < NCOLS; c++) {
		sr_vec_init(&vecs[c], schema[c].type);
		for (size_t r = 0; r < ROWS; r++) {
			const char *t = cells[r][c];
			if ((t ? sr_vec_append_text(&vecs[c], t, strlen(t)) :
				 sr_vec_append_null(&vecs[c])) != SR_OK)
				abort();
		}
		batch[c] = &vecs[c];
	}
}

static void bug(const char *what, const struct sr_err *err)
{
	fprintf(stderr, "fuzz_expr: %s: %s\n", what, err ? err->msg : "");
	abort();
}

/* "12:3: ..." */
static int names_position(const char *msg)
{
	const char *p = msg;
	int digits = 0;

	for (int part = 0; part < 2; part++) {
		for (digits = 0; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (!digits || *p != ':')
			return 0;
		p++;
	}
	return *p == ' ';
}

static void check_failure(int rc, const struct sr_err *err)
{
	if (err->msg[0] == '\0')
		bug("failure without a message", err);
	if (rc != SR_EINVAL && rc != SR_ELIMIT && rc != SR_ENOMEM)
		bug("unexpected status", err);
	if (rc != SR_ENOMEM && !names_position(err->msg))
		bug("message does not start with line:col", err);
}

static void check_predicate(const struct sr_expr *e)
{
	const struct sr_vec *some[NCOLS] = { 0 };
	uint8_t keep[ROWS], keep2[ROWS];
	struct sr_err err;
	struct sr_vec out;
	size_t prev = 0;

	sr_err_clear(&err);
	for (size_t k = 0; k < sr_expr_ncolumns_used(e); k++) {
		size_t c = sr_expr_column_used(e, k);
		if (c >= NCOLS || (k && c <= prev))
			bug("columns used out of order", NULL);
		prev = c;
		some[c] = batch[c];
	}
	if (sr_expr_filter(e, batch, ROWS, keep, &err) != SR_OK)
		bug("filter failed", &err);
	if (sr_expr_filter(e, some, ROWS, keep2, &err) != SR_OK)
		bug("filter with the used columns only failed", &err);
	if (memcmp(keep, keep2, ROWS) != 0)
		bug("the used columns do not give the same rows", NULL);
	sr_vec_init(&out, SR_TYPE_BOOL);
	if (sr_expr_eval(e, batch, ROWS, &out, &err) != SR_OK || out.rows != ROWS)
		bug("eval failed", &err);
	for (size_t r = 0; r < ROWS; r++) {
		int is_true = !sr_vec_is_null(&out, r) && out.v.b[r];
		if (keep[r] > 1 || keep[r] != is_true)
			bug("filter and evaluation disagree", NULL);
	}
	sr_vec_release(&out);
}

static void check_value(const char *text, size_t len)
{
	struct sr_arena arena;
	struct sr_expr *e = NULL;
	struct sr_ast *ast = NULL;
	struct sr_err err;
	struct sr_vec out;
	size_t end = 0;
	int rc;

	sr_err_clear(&err);
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	rc = sr_ast_parse_text(text, len, 0, &arena, &ast, &end, &err);
	if (rc == SR_OK && (end > len || (end < len && text[end] == ' ')))
		bug("parse stopped at a bad offset", NULL);
	if (rc == SR_OK)
		rc = sr_expr_bind(ast, text, len, schema, NCOLS, 0, &e, &err);
	sr_arena_release(&arena);
	if (rc != SR_OK) {
		check_failure(rc, &err);
		return;
	}
	sr_vec_init(&out, sr_expr_type(e));
	if (sr_expr_eval(e, batch, ROWS, &out, &err) != SR_OK || out.rows != ROWS)
		bug("value eval failed", &err);
	sr_vec_release(&out);
	sr_expr_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *text = (const char *)data;
	struct sr_expr *e = NULL;
	struct sr_err err;
	int rc;

	if (!ready) {
		setup();
		ready = 1;
	}
	sr_err_clear(&err);
	rc = sr_expr_compile(text, size, schema, NCOLS, &e, &err);
	if (rc != SR_OK) {
		if (e)
			bug("failed compile left an expression", &err);
		check_failure(rc, &err);
	} else {
		if (sr_expr_type(e) != SR_TYPE_BOOL)
			bug("a predicate that is not boolean", NULL);
		check_predicate(e);
		sr_expr_free(e);
	}
	if (size <= SR_EXPR_TEXT_MAX)
		check_value(text, size);
	return 0;
}
