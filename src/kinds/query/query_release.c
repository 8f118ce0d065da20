/*
 * query_release.c - the totals of a query job (the sum of every party's
 * vector, noised under DP) turned into the released table (DESIGN §16):
 * thresholds first (a group under the strictest min_group_size is
 * suppressed, never merged, and counted), then HAVING, the outputs,
 * ORDER BY and LIMIT; under DP each value's noise scale and 95% interval.
 */
#include "kinds/query/query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/banned.h"

#define TOTALS_KEY "query_totals"
#define EXTREMES_KEY "query_extremes"

json_t *q_totals_json(const struct q_layout *L, const uint64_t *cells,
		      const struct q_ext *ext)
{
	json_t *arr = json_array(), *meta = json_object();

	if (meta && L->nexts && json_object_set_new(meta, EXTREMES_KEY, q_ext_json(L, ext))) {
		json_decref(meta);
		meta = NULL;
	}
	for (size_t i = 0; arr && i < L->ncells; i++)
		if (json_array_append_new(arr, json_integer((json_int_t)cells[i]))) {
			json_decref(arr);
			arr = NULL;
		}
	if (!arr || !meta || json_object_set_new(meta, TOTALS_KEY, arr)) {
		json_decref(meta);
		return NULL;
	}
	/* An envelope, as the runner expects of every kind's run; release
	 * replaces its contents. */
	return sr_kind_envelope(json_array(), json_array(), meta);
}

/* One value of the result: NULL, an int64 or a float64. */
struct value {
	int null;
	int is_int;
	int64_t i;
	double f;
};

struct release {
	const struct q_layout *L;
	const uint64_t *cells;
	const json_t *extremes;        /* MIN/MAX, q_ext_json's form */
	size_t *groups;                /* released groups */
	size_t ngroups;
	struct sr_vec *res;            /* result schema vectors over them */
	json_t *intervals;             /* per released group: per agg [lo, hi] */
};

static int64_t cell(const struct release *R, size_t gi, size_t acc)
{
	return (int64_t)R->cells[gi * R->L->naccs + acc];
}

static double decoded(const struct release *R, size_t gi, size_t acc)
{
	return sr_bound_fixed_decode(&R->L->accs[acc].fx, R->cells[gi * R->L->naccs + acc]) *
		R->L->accs[acc].quantum;
}

/* Half-width of acc's noise in value units (0 without dp). */
static double width(const struct q_layout *L, size_t acc, int part)
{
	const struct q_acc *a = &L->accs[acc];
	double h = (double)(part ? a->half_width_part : a->half_width);

	if (!L->dp)
		return 0;
	return a->kind == Q_SUM || a->kind == Q_SUMSQ ? h * a->quantum / (double)a->fx.scale : h;
}

static double var_of(double q, double s, double n, int samp)
{
	double v = (q - s * s / n) / (samp ? n - 1 : n);
	return v < 0 ? 0 : v;
}

/* The interval of VAR from the intervals of its sums: the extremes over
 * the corners (the formula is monotone in q and n, and in s^2). */
static void var_interval(double q, double hq, double s, double hs, double n, double hn,
			 int samp, double *lo, double *hi)
{
	double s2lo = (s - hs <= 0 && s + hs >= 0) ? 0 : fmin((s - hs) * (s - hs), (s + hs) * (s + hs));
	double s2hi = fmax((s - hs) * (s - hs), (s + hs) * (s + hs));
	double nlo = fmax(n - hn, samp ? 2 : 1), nhi = fmax(n + hn, nlo);

	*lo = INFINITY;
	*hi = -INFINITY;
	for (int a = 0; a < 2; a++)
		for (int b = 0; b < 2; b++) {
			double nn = b ? nhi : nlo;
			double lo1 = ((q - hq) - s2hi / nn) / (samp ? nn - 1 : nn);
			double hi1 = ((q + hq) - s2lo / nn) / (samp ? nn - 1 : nn);
			(void)a;
			*lo = fmin(*lo, lo1);
			*hi = fmax(*hi, hi1);
		}
	*lo = fmax(*lo, 0);
	*hi = fmax(*hi, 0);
}

/* Aggregate g of group gi, and its 95% interval under dp. */
static struct value agg_value(const struct release *R, size_t gi, size_t g,
			      double *lo, double *hi)
{
	const struct q_layout *L = R->L;
	const struct q_agg_accs *aa = &L->agg_accs[g];
	enum sr_sql_agg_kind k = L->v->aggs[g].kind;
	struct value v = { 0, 0, 0, 0 };
	double n, s, hn, hs;

	*lo = *hi = NAN;
	if (k == SR_SQL_COUNT_ROWS || k == SR_SQL_COUNT || k == SR_SQL_COUNT_DISTINCT) {
		size_t acc = k == SR_SQL_COUNT_DISTINCT ? aa->distinct : aa->count;
		int64_t c = cell(R, gi, acc);
		v.is_int = 1;
		v.i = c < 0 ? 0 : c;       /* post-processing of a noised count */
		*lo = fmax(0, (double)c - width(L, acc, 0));
		*hi = fmax(0, (double)c + width(L, acc, 0));
		return v;
	}
	n = (double)cell(R, gi, aa->count);
	hn = width(L, aa->count, 1);
	s = decoded(R, gi, aa->sum);
	hs = width(L, aa->sum, k == SR_SQL_SUM ? 0 : 1);
	if (n < 1 || ((k == SR_SQL_VAR_SAMP || k == SR_SQL_STDDEV_SAMP) && n < 2)) {
		v.null = 1;
		return v;
	}
	switch (k) {
	case SR_SQL_SUM:
		if (!L->accs[aa->sum].is_float && L->accs[aa->sum].quantum == 1) {
			v.is_int = 1;
			v.i = cell(R, gi, aa->sum);
		}
		v.f = s;
		*lo = s - hs;
		*hi = s + hs;
		break;
	case SR_SQL_AVG:
		v.f = s / n;
		{
			double nlo = fmax(1, n - hn), nhi = n + hn;
			*lo = fmin(fmin((s - hs) / nlo, (s - hs) / nhi), fmin((s + hs) / nlo, (s + hs) / nhi));
			*hi = fmax(fmax((s - hs) / nlo, (s - hs) / nhi), fmax((s + hs) / nlo, (s + hs) / nhi));
		}
		break;
	default: {
		int samp = k == SR_SQL_VAR_SAMP || k == SR_SQL_STDDEV_SAMP;
		double q = decoded(R, gi, aa->sumsq), hq = width(L, aa->sumsq, 1);
		v.f = var_of(q, s, n, samp);
		var_interval(q, hq, s, hs, n, hn, samp, lo, hi);
		if (k == SR_SQL_STDDEV_POP || k == SR_SQL_STDDEV_SAMP) {
			v.f = sqrt(v.f);
			*lo = sqrt(*lo);
			*hi = sqrt(*hi);
		}
		break;
	}
	}
	return v;
}

static int append_value(struct sr_vec *vec, struct value v)
{
	char num[40];

	if (v.null)
		return sr_vec_append_null(vec);
	if (vec->type == SR_TYPE_INT64)
		snprintf(num, sizeof(num), "%lld", (long long)(v.is_int ? v.i : (int64_t)llround(v.f)));
	else
		snprintf(num, sizeof(num), "%.17g", v.is_int ? (double)v.i : v.f);
	return sr_vec_append_text(vec, num, strlen(num));
}

static json_t *num_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* The result schema's vectors over the released groups. */
static int build_result(struct release *R, struct sr_err *err)
{
	const struct q_layout *L = R->L;
	size_t nres = L->v->nkeys + L->v->naggs;
	int rc = SR_OK;

	R->res = sr_calloc(nres ? nres : 1, sizeof(*R->res));
	R->intervals = json_array();
	if (!R->res || !R->intervals)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < nres; i++)
		sr_vec_init(&R->res[i], L->v->result_columns[i].type);
	for (size_t j = 0; rc == SR_OK && j < R->ngroups; j++) {
		size_t gi = R->groups[j], rest = gi;
		json_t *iv = json_array();

		for (size_t k = L->nkeys; rc == SR_OK && k-- > 0;) {
			size_t slot = rest % L->keys[k].slots;
			rest /= L->keys[k].slots;
			rc = slot == L->keys[k].slots - 1 ? sr_vec_append_null(&R->res[k]) :
				sr_vec_append_from(&R->res[k], &L->keys[k].values, slot);
		}
		for (size_t g = 0; rc == SR_OK && g < L->v->naggs; g++) {
			double lo, hi;
			struct value v = { 1, 0, 0, 0 };
			if (L->agg_accs[g].ext != SIZE_MAX) {
				/* A group without a value has no extreme: NULL. */
				lo = hi = NAN;
				rc = cell(R, gi, L->agg_accs[g].count) > 0 ?
					q_ext_append(L, R->extremes, L->agg_accs[g].ext, gi,
						     &R->res[L->v->nkeys + g], err) :
					sr_vec_append_null(&R->res[L->v->nkeys + g]);
				if (rc)
					return rc;
			} else {
				v = agg_value(R, gi, g, &lo, &hi);
				rc = append_value(&R->res[L->v->nkeys + g], v);
			}
			if (iv && json_array_append_new(iv, L->dp && !v.null ?
				json_pack("[oo]", num_or_null(lo), num_or_null(hi)) : json_null()))
				rc = SR_ENOMEM;
		}
		if (rc == SR_OK && (!iv || json_array_append_new(R->intervals, iv)))
			rc = SR_ENOMEM;
		if (rc)
			return sr_fail(err, rc == SR_ENOMEM ? rc : SR_EINTERNAL,
				       "cannot build the result of group %zu", gi);
	}
	return SR_OK;
}

/* ---- ORDER BY ---------------------------------------------------------- */

struct sorter {
	const struct sr_vec *keys;
	const struct sr_sql_order_item *items;
	size_t nitems;
};

static int cmp_cell(const struct sr_vec *v, size_t a, size_t b)
{
	int na = sr_vec_is_null(v, a), nb = sr_vec_is_null(v, b);

	if (na || nb)
		return nb - na;                /* NULL first, as SQLite */
	switch (v->type) {
	case SR_TYPE_INT64:
		return (v->v.i64[a] > v->v.i64[b]) - (v->v.i64[a] < v->v.i64[b]);
	case SR_TYPE_FLOAT64:
		return (v->v.f64[a] > v->v.f64[b]) - (v->v.f64[a] < v->v.f64[b]);
	case SR_TYPE_DATE:
		return (v->v.date[a] > v->v.date[b]) - (v->v.date[a] < v->v.date[b]);
	case SR_TYPE_BOOL:
		return (int)v->v.b[a] - (int)v->v.b[b];
	default: {
		size_t la = v->offsets[a + 1] - v->offsets[a], lb = v->offsets[b + 1] - v->offsets[b];
		int c = memcmp(v->bytes.data + v->offsets[a], v->bytes.data + v->offsets[b],
			       la < lb ? la : lb);
		return c ? c : (la > lb) - (la < lb);
	}
	}
}

static const struct sorter *sort_ctx;   /* qsort has no context argument */

static int cmp_rows(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	for (size_t i = 0; i < sort_ctx->nitems; i++) {
		int c = cmp_cell(&sort_ctx->keys[i], a, b);
		if (c)
			return sort_ctx->items[i].desc ? -c : c;
	}
	return (a > b) - (a < b);
}

static int order_rows(const struct release *R, const struct sr_vec **cols, size_t *rows,
		      size_t n, struct sr_err *err)
{
	const struct sr_sql_query *v = R->L->v;
	struct sr_vec *keys = sr_calloc(v->norder ? v->norder : 1, sizeof(*keys));
	struct sr_vec *sub = sr_calloc(v->nkeys + v->naggs + 1, sizeof(*sub));
	const struct sr_vec **subcols = sr_calloc(v->nkeys + v->naggs + 1, sizeof(*subcols));
	struct sorter s;
	int rc = SR_OK;

	if (!keys || !sub || !subcols) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	/* Order by values over the rows kept by HAVING. */
	for (size_t c = 0; rc == SR_OK && c < v->nkeys + v->naggs; c++) {
		sr_vec_init(&sub[c], cols[c]->type);
		subcols[c] = &sub[c];
		for (size_t r = 0; rc == SR_OK && r < n; r++)
			rc = sr_vec_append_from(&sub[c], cols[c], rows[r]);
	}
	for (size_t i = 0; rc == SR_OK && i < v->norder; i++) {
		sr_vec_init(&keys[i], sr_expr_type(v->order[i].expr));
		rc = sr_expr_eval(v->order[i].expr, subcols, n, &keys[i], err);
	}
	if (rc == SR_OK) {
		size_t *idx = sr_calloc(n ? n : 1, sizeof(*idx)), *copy = sr_calloc(n ? n : 1, sizeof(*copy));
		if (!idx || !copy) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		} else {
			for (size_t r = 0; r < n; r++)
				idx[r] = r;
			s.keys = keys;
			s.items = v->order;
			s.nitems = v->norder;
			sort_ctx = &s;
			qsort(idx, n, sizeof(*idx), cmp_rows);
			sort_ctx = NULL;
			for (size_t r = 0; r < n; r++)
				copy[r] = rows[idx[r]];
			memcpy(rows, copy, n * sizeof(*rows));
		}
		sr_free(idx);
		sr_free(copy);
	}
out:
	for (size_t i = 0; keys && i < v->norder; i++)
		sr_vec_release(&keys[i]);
	for (size_t c = 0; sub && c < v->nkeys + v->naggs; c++)
		sr_vec_release(&sub[c]);
	sr_free(keys);
	sr_free(sub);
	sr_free(subcols);
	return rc;
}

/* ---- meta ---------------------------------------------------------------- */

static json_t *noise_json(const struct q_layout *L)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < L->v->noutputs; i++) {
		size_t col = sr_sql_output_column(L->sql, i);
		json_t *o = json_pack("{s:s}", "column", L->v->outputs[i].name), *sd = json_object();

		if (col != SIZE_MAX && col >= L->v->nkeys) {
			const struct q_agg_accs *aa = &L->agg_accs[col - L->v->nkeys];
			size_t accs[3] = { aa->distinct != SIZE_MAX ? aa->distinct : aa->count,
					   aa->sum, aa->sumsq };
			const char *names[3] = { "count", "sum", "sum_squares" };
			for (int j = 0; j < 3 && sd; j++) {
				const struct q_acc *a = accs[j] != SIZE_MAX ? &L->accs[accs[j]] : NULL;
				if (a)
					json_object_set_new(sd, names[j], json_real(
						a->kind == Q_SUM || a->kind == Q_SUMSQ ?
						a->stddev * a->quantum / (double)a->fx.scale : a->stddev));
			}
			json_object_set_new(o, "stddev", sd);
		} else {
			json_decref(sd);
			json_object_set_new(o, "stddev", json_null());
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *meta_json(const struct release *R, size_t suppressed, size_t released)
{
	const struct q_layout *L = R->L;
	json_t *meta = json_object(), *clamped = json_object();
	char counts[160];
	int bad = !meta || !clamped;

	if (L->acc_ids != SIZE_MAX)
		snprintf(counts, sizeof(counts), "distinct identities (%s)", L->id_column);
	else if (L->id_column)
		snprintf(counts, sizeof(counts), "rows (no threshold above 1)");
	else
		snprintf(counts, sizeof(counts), "rows (the datasets have no id column)");
	bad |= json_object_set_new(meta, "min_group_size", json_integer(L->min_group_size));
	bad |= json_object_set_new(meta, "threshold_counts", json_string(counts));
	bad |= json_object_set_new(meta, "groups_released", json_integer((json_int_t)released));
	bad |= json_object_set_new(meta, "groups_suppressed", json_integer((json_int_t)suppressed));
	if (!L->dp) {
		for (size_t a = 0; a < L->naccs; a++)
			if (L->accs[a].kind == Q_SUM)
				bad |= json_object_set_new(clamped, L->v->aggs[L->accs[a].agg].arg_text,
					json_integer((json_int_t)R->cells[L->cell_clamped + a]));
		bad |= json_object_set_new(meta, "clamped", clamped);
		bad |= json_object_set_new(meta, "rows_outside_domain",
					   json_integer((json_int_t)R->cells[L->cell_outside]));
	} else {
		json_decref(clamped);
		bad |= json_object_set_new(meta, "dp", json_pack("{s:s,s:f,s:f,s:I,s:o}",
			"mechanism", "skellam (shares added by every owner inside the secure sum)",
			"epsilon", L->epsilon, "delta", L->delta,
			"owners_adding_noise", (json_int_t)L->noisers, "noise", noise_json(L)));
	}
	if (bad) {
		json_decref(meta);
		return NULL;
	}
	return meta;
}

/* ---- release ------------------------------------------------------------- */

static int suppress(struct release *R, size_t *suppressed)
{
	const struct q_layout *L = R->L;

	*suppressed = 0;
	R->groups = sr_calloc(L->ngroups, sizeof(*R->groups));
	if (!R->groups)
		return SR_ENOMEM;
	for (size_t gi = 0; gi < L->ngroups; gi++) {
		int64_t rows = cell(R, gi, L->acc_rows);
		int64_t measure = L->acc_ids != SIZE_MAX ? cell(R, gi, L->acc_ids) : rows;
		int exists = L->nkeys == 0 || (L->dp ? 1 : rows > 0);

		if (!exists)
			continue;
		if (L->nkeys > 0 && (L->min_group_size > 1 || L->dp) &&
		    measure < (L->min_group_size > 1 ? L->min_group_size : 1)) {
			(*suppressed)++;
			continue;
		}
		if (L->nkeys == 0 && L->min_group_size > 1 && measure < L->min_group_size) {
			(*suppressed)++;
			continue;
		}
		R->groups[R->ngroups++] = gi;
	}
	return SR_OK;
}

int q_release(const struct q_layout *L, json_t *result, struct sr_err *err)
{
	json_t *old_meta = json_object_get(result, "meta");
	const json_t *totals = json_object_get(old_meta, TOTALS_KEY);
	const struct sr_sql_query *v = L->v;
	size_t nres = v->nkeys + v->naggs, suppressed = 0, n, *rows = NULL;
	uint64_t *cells = NULL;
	const struct sr_vec **cols = NULL;
	struct sr_vec *outs = NULL;
	uint8_t *keep = NULL;
	json_t *jrows = NULL, *jcols = NULL, *jint = NULL, *meta = NULL;
	struct release R;
	int rc = SR_OK;

	memset(&R, 0, sizeof(R));
	if (!json_is_array(totals) || json_array_size(totals) != L->ncells)
		return sr_fail(err, SR_EPROTO, "query: the totals have %zu cells, expected %zu",
			       json_array_size(totals), L->ncells);
	cells = sr_calloc(L->ncells, sizeof(*cells));
	if (!cells)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < L->ncells; i++)
		cells[i] = (uint64_t)json_integer_value(json_array_get(totals, i));
	R.L = L;
	R.cells = cells;
	R.extremes = json_object_get(old_meta, EXTREMES_KEY);
	if (L->nexts && (!json_is_array(R.extremes) || json_array_size(R.extremes) != L->nexts)) {
		sr_free(cells);
		return sr_fail(err, SR_EPROTO, "query: the totals carry no extremes for MIN/MAX");
	}
	for (size_t a = 0; rc == SR_OK && a < L->naccs; a++) {
		const struct q_acc *acc = &L->accs[a];
		if (acc->kind != Q_SUM && acc->kind != Q_SUMSQ)
			continue;
		for (size_t gi = 0; rc == SR_OK && gi < L->ngroups; gi++) {
			int64_t c = cell(&R, gi, L->agg_accs[acc->agg].count);
			rc = sr_bound_sum_check(&acc->fx, c < 0 ? 0 : (uint64_t)c,
						L->dp ? acc->half_width * 16 : 0, err);
		}
		if (rc)
			sr_err_prefix(err, "%s", v->aggs[acc->agg].text);
	}
	if (rc)
		goto out;
	if (suppress(&R, &suppressed) != SR_OK || (rc = build_result(&R, err)) != SR_OK) {
		rc = rc ? rc : sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	n = R.ngroups;
	cols = sr_calloc(nres + 1, sizeof(*cols));
	keep = sr_malloc(n ? n : 1);
	rows = sr_calloc(n ? n : 1, sizeof(*rows));
	outs = sr_calloc(v->noutputs + 1, sizeof(*outs));
	if (!cols || !keep || !rows || !outs) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nres; i++)
		cols[i] = &R.res[i];
	memset(keep, 1, n ? n : 1);
	if (v->having && n && (rc = sr_expr_filter(v->having, cols, n, keep, err)) != SR_OK)
		goto out;
	{
		size_t m = 0;
		for (size_t r = 0; r < n; r++)
			if (keep[r])
				rows[m++] = r;
		n = m;
	}
	if (v->norder && n && (rc = order_rows(&R, cols, rows, n, err)) != SR_OK)
		goto out;
	if (v->has_limit && (uint64_t)v->limit < n)
		n = (size_t)v->limit;
	for (size_t i = 0; rc == SR_OK && i < v->noutputs; i++) {
		sr_vec_init(&outs[i], v->outputs[i].type);
		if (R.ngroups)
			rc = sr_expr_eval(v->outputs[i].expr, cols, R.ngroups, &outs[i], err);
	}
	if (rc)
		goto out;
	jrows = json_array();
	jcols = json_array();
	jint = json_array();
	for (size_t i = 0; jcols && i < v->noutputs; i++)
		if (json_array_append_new(jcols, json_string(v->outputs[i].name)))
			rc = SR_ENOMEM;
	for (size_t r = 0; rc == SR_OK && jrows && jint && r < n; r++) {
		json_t *row = json_array(), *iv = json_array();
		json_t *group_iv = json_array_get(R.intervals, rows[r]);
		for (size_t i = 0; row && iv && i < v->noutputs; i++) {
			size_t col = sr_sql_output_column(L->sql, i);
			if (json_array_append_new(row, sr_sql_value_json(&outs[i], rows[r])) ||
			    json_array_append(iv, col != SIZE_MAX && col >= v->nkeys ?
					      json_array_get(group_iv, col - v->nkeys) : json_null()))
				rc = SR_ENOMEM;
		}
		if (!row || !iv || json_array_append_new(jrows, row) ||
		    json_array_append_new(jint, iv))
			rc = SR_ENOMEM;
	}
	meta = meta_json(&R, suppressed, R.ngroups);
	if (rc || !jrows || !jcols || !jint || !meta) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (L->dp && json_object_set(meta, "intervals", jint)) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (json_object_get(old_meta, "query_secagg"))
		json_object_set(meta, "secure_aggregation", json_object_get(old_meta, "query_secagg"));
	/* The meta object stays the same object: the runner holds it. */
	if (!json_is_object(old_meta) || json_object_clear(old_meta) ||
	    json_object_update(old_meta, meta) ||
	    json_object_set(result, "columns", jcols) || json_object_set(result, "rows", jrows))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	for (size_t i = 0; R.res && i < nres; i++)
		sr_vec_release(&R.res[i]);
	for (size_t i = 0; outs && i < v->noutputs; i++)
		sr_vec_release(&outs[i]);
	sr_free(R.res);
	sr_free(R.groups);
	json_decref(R.intervals);
	json_decref(jrows);
	json_decref(jcols);
	json_decref(jint);
	json_decref(meta);
	sr_free(outs);
	sr_free(cols);
	sr_free(keep);
	sr_free(rows);
	sr_free(cells);
	return rc;
}
