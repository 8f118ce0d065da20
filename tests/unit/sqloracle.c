/*
 * sqloracle.c - sqloracle.h.
 */
#include "testutil.h"
#include "sqloracle.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct var_state {
	long double n, mean, m2;
};

/* SQLite's aggregate context is only 8-byte aligned: the state is copied
 * in and out (long double wants 16). */
static void var_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	void *p = sqlite3_aggregate_context(ctx, sizeof(struct var_state));
	struct var_state s;
	long double x, d;

	(void)argc;
	if (!p || sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	memcpy(&s, p, sizeof(s));
	x = sqlite3_value_double(argv[0]);
	s.n += 1;
	d = x - s.mean;
	s.mean += d / s.n;
	s.m2 += d * (x - s.mean);
	memcpy(p, &s, sizeof(s));
}

static void var_final(sqlite3_context *ctx)
{
	void *p = sqlite3_aggregate_context(ctx, 0);
	intptr_t kind = (intptr_t)sqlite3_user_data(ctx);   /* 0 pop, 1 samp, 2 sd pop, 3 sd samp */
	int samp = kind & 1;
	struct var_state s;
	long double v;

	if (p)
		memcpy(&s, p, sizeof(s));
	if (!p || s.n < (samp ? 2 : 1)) {
		sqlite3_result_null(ctx);
		return;
	}
	v = s.m2 / (s.n - samp);
	sqlite3_result_double(ctx, (double)(kind >= 2 ? sqrtl(v) : v));
}

json_t *so_sqlite_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	json_t *rows = json_array();
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("sqlite: %s: %s", sqlite3_errmsg(db), sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_array();
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_NULL: json_array_append_new(row, json_null()); break;
			case SQLITE_INTEGER: json_array_append_new(row, json_integer(sqlite3_column_int64(st, c))); break;
			case SQLITE_FLOAT: json_array_append_new(row, json_real(sqlite3_column_double(st, c))); break;
			default: json_array_append_new(row, json_string((const char *)sqlite3_column_text(st, c)));
			}
		}
		json_array_append_new(rows, row);
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	return rows;
}

static int same_value(const json_t *a, const json_t *b, double abs_tol)
{
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y)) || fabs(x - y) < abs_tol;
	}
	return json_equal(a, b);
}

static int same_row(const json_t *a, const json_t *b, double abs_tol)
{
	if (json_array_size(a) != json_array_size(b))
		return 0;
	for (size_t i = 0; i < json_array_size(a); i++)
		if (!same_value(json_array_get(a, i), json_array_get(b, i), abs_tol))
			return 0;
	return 1;
}

int so_same_rows(const json_t *got, const json_t *want, int ordered, double abs_tol)
{
	size_t n = json_array_size(got);
	char *used;
	int ok = 1;

	if (n != json_array_size(want))
		return 0;
	if (ordered) {
		for (size_t i = 0; i < n; i++)
			if (!same_row(json_array_get(got, i), json_array_get(want, i), abs_tol))
				return 0;
		return 1;
	}
	used = calloc(n + 1, 1);
	for (size_t i = 0; ok && i < n; i++) {
		int found = 0;
		for (size_t j = 0; !found && j < n; j++)
			if (!used[j] && same_row(json_array_get(got, i), json_array_get(want, j), abs_tol))
				used[j] = 1, found = 1;
		ok = found;
	}
	free(used);
	return ok;
}

void so_register_var(sqlite3 *db)
{
	static const char *const fns[4] = { "VAR_POP", "VAR_SAMP", "STDDEV_POP", "STDDEV_SAMP" };

	for (intptr_t i = 0; i < 4; i++)
		assert_int_equal(sqlite3_create_function(db, fns[i], 1, SQLITE_UTF8, (void *)i,
							 NULL, var_step, var_final), SQLITE_OK);
}

void so_insert(sqlite3 *db, const char *sql, const struct sr_vec *cols, int ncols)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	for (size_t r = 0; r < cols[0].rows; r++) {
		for (int c = 0; c < ncols; c++) {
			const struct sr_vec *v = &cols[c];
			struct sr_buf b;
			if (sr_vec_is_null(v, r)) {
				sqlite3_bind_null(st, c + 1);
				continue;
			}
			switch (v->type) {
			case SR_TYPE_INT64: sqlite3_bind_int64(st, c + 1, v->v.i64[r]); break;
			case SR_TYPE_FLOAT64: sqlite3_bind_double(st, c + 1, v->v.f64[r]); break;
			default:
				sr_buf_init(&b, 0);
				assert_int_equal(sr_vec_format(v, r, &b), SR_OK);
				sqlite3_bind_text(st, c + 1, b.data, (int)b.len, SQLITE_TRANSIENT);
				sr_buf_release(&b);
			}
		}
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}
