/*
 * anon.c - sr_anon_run(): check the input, bind the hierarchies, prepare
 * the SA columns, run the search (search.c), and build the released table
 * and its report.  See anon.h and docs/internals/anon.md.
 */
#include "anon/anon.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon_int.h"
#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

void sr_anon_release_init(struct sr_anon_release *rel)
{
	memset(rel, 0, sizeof(*rel));
}

void sr_anon_release_release(struct sr_anon_release *rel)
{
	for (size_t i = 0; i < rel->columns; i++) {
		if (rel->cols)
			sr_vec_release(&rel->cols[i]);
		if (rel->names)
			sr_free(rel->names[i]);
	}
	sr_free(rel->cols);
	sr_free(rel->names);
	sr_free(rel->is_qi);
	sr_free(rel->report.levels);
	sr_free(rel->report.heights);
	json_decref(rel->sa_input);
	memset(rel, 0, sizeof(*rel));
}

static int check_model(const struct sr_anon_column *col, struct sr_err *err)
{
	const struct sr_anon_sa_model *m = &col->model;

	switch (m->ldiv) {
	case SR_ANON_LDIV_NONE:
		break;
	case SR_ANON_LDIV_DISTINCT:
	case SR_ANON_LDIV_RECURSIVE:
		if (!(m->l >= 1) || m->l != floor(m->l) || m->l > SR_ANON_SA_VALUES_MAX)
			return sr_fail(err, SR_EINVAL, "%s: l: expected an integer 1 to %d, got %g",
				       col->name, SR_ANON_SA_VALUES_MAX, m->l);
		if (m->ldiv == SR_ANON_LDIV_RECURSIVE && !(m->c > 0 && isfinite(m->c)))
			return sr_fail(err, SR_EINVAL, "%s: c: expected a positive number, got %g",
				       col->name, m->c);
		break;
	case SR_ANON_LDIV_ENTROPY:
		if (!(m->l >= 1) || !isfinite(m->l))
			return sr_fail(err, SR_EINVAL, "%s: l: expected a number >= 1, got %g",
				       col->name, m->l);
		break;
	default:
		return sr_fail(err, SR_EINVAL, "%s: unknown l-diversity variant %d",
			       col->name, (int)m->ldiv);
	}
	if (!(m->t >= 0 && m->t <= 1))
		return sr_fail(err, SR_EINVAL, "%s: t: expected 0 (off) to 1, got %g", col->name, m->t);
	if (m->emd != SR_ANON_EMD_AUTO && m->emd != SR_ANON_EMD_EQUAL &&
	    m->emd != SR_ANON_EMD_ORDERED)
		return sr_fail(err, SR_EINVAL, "%s: unknown EMD distance %d", col->name, (int)m->emd);
	if (m->emd == SR_ANON_EMD_ORDERED && col->values->type == SR_TYPE_STRING)
		return sr_fail(err, SR_EINVAL, "%s: ordered distance needs a numeric or date column",
			       col->name);
	return SR_OK;
}

int sr_anon_has_model(const struct sr_anon_column *col)
{
	return col->role == SR_ANON_SA &&
	       (col->model.ldiv != SR_ANON_LDIV_NONE || col->model.t > 0);
}

struct sort_ctx {
	const struct sr_vec *vec;
	const uint32_t *rows;    /* a row of each value */
};

/* Values in their natural order, NULL first. */
static int cmp_values(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *ctx = arg;
	size_t x = ctx->rows[*(const uint32_t *)a], y = ctx->rows[*(const uint32_t *)b];
	const struct sr_vec *v = ctx->vec;
	int nx = sr_vec_is_null(v, x), ny = sr_vec_is_null(v, y);

	if (nx || ny)
		return ny - nx;
	switch (v->type) {
	case SR_TYPE_INT64: return (v->v.i64[x] > v->v.i64[y]) - (v->v.i64[x] < v->v.i64[y]);
	case SR_TYPE_FLOAT64: return (v->v.f64[x] > v->v.f64[y]) - (v->v.f64[x] < v->v.f64[y]);
	case SR_TYPE_DATE: return (v->v.date[x] > v->v.date[y]) - (v->v.date[x] < v->v.date[y]);
	case SR_TYPE_BOOL: return (int)v->v.b[x] - (int)v->v.b[y];
	case SR_TYPE_STRING: {
		size_t lx = v->offsets[x + 1] - v->offsets[x], ly = v->offsets[y + 1] - v->offsets[y];
		int c = memcmp(v->bytes.data + v->offsets[x], v->bytes.data + v->offsets[y],
			       lx < ly ? lx : ly);

		return c ? c : (lx > ly) - (lx < ly);
	}
	}
	return 0;
}

void sr_anon_sa_release(struct sr_anon_sa *sa)
{
	sr_free(sa->value_of_row);
	sr_free(sa->input_count);
	memset(sa, 0, sizeof(*sa));
}

int sr_anon_sa_build(struct sr_anon_sa *sa, const struct sr_anon_column *col,
		     struct sr_err *err)
{
	const struct sr_vec *vec = col->values;
	uint32_t *first = NULL, *order = NULL, *rank = NULL;
	int rc;

	memset(sa, 0, sizeof(*sa));
	sa->model = col->model;
	sa->ordered = col->model.emd == SR_ANON_EMD_ORDERED ||
		      (col->model.emd == SR_ANON_EMD_AUTO && vec->type != SR_TYPE_STRING &&
		       vec->type != SR_TYPE_BOOL);
	sa->value_of_row = sr_malloc((vec->rows ? vec->rows : 1) * sizeof(uint32_t));
	if (!sa->value_of_row)
		return SR_ENOMEM;
	rc = sr_anon_leaves(vec, sa->value_of_row, &first, &sa->values);
	if (rc != SR_OK)
		goto out;
	if (sa->values > SR_ANON_SA_VALUES_MAX) {
		rc = sr_fail(err, SR_ELIMIT, "%s: %u distinct sensitive values, at most %d",
			     col->name, sa->values, SR_ANON_SA_VALUES_MAX);
		goto out;
	}
	order = sr_malloc((sa->values + 1) * sizeof(*order));
	rank = sr_malloc((sa->values + 1) * sizeof(*rank));
	sa->input_count = sr_calloc(sa->values + 1, sizeof(*sa->input_count));
	if (!order || !rank || !sa->input_count) {
		rc = SR_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < sa->values; i++)
		order[i] = i;
	{
		struct sort_ctx ctx = { vec, first };

		qsort_r(order, sa->values, sizeof(*order), cmp_values, &ctx);
	}
	for (uint32_t i = 0; i < sa->values; i++)
		rank[order[i]] = i;
	for (size_t row = 0; row < vec->rows; row++) {
		sa->value_of_row[row] = rank[sa->value_of_row[row]];
		sa->input_count[sa->value_of_row[row]]++;
	}
out:
	sr_free(first);
	sr_free(order);
	sr_free(rank);
	return rc;
}

/* {value text: rows} of one SA column, NULL as "". */
static int sa_counts_json(const struct sr_vec *vec, json_t **out)
{
	json_t *obj = json_object();
	struct sr_buf text;
	int rc = SR_OK;

	sr_buf_init(&text, SR_BUF_UNBOUNDED);   /* one value at a time */
	if (!obj)
		return SR_ENOMEM;
	for (size_t row = 0; row < vec->rows && rc == SR_OK; row++) {
		json_t *n;

		sr_buf_reset(&text);
		rc = sr_vec_format(vec, row, &text);
		if (rc != SR_OK)
			break;
		n = json_object_get(obj, text.data);
		if (n)
			rc = json_integer_set(n, json_integer_value(n) + 1) ? SR_ENOMEM : SR_OK;
		else
			rc = json_object_set_new(obj, text.data, json_integer(1)) ? SR_ENOMEM : SR_OK;
	}
	sr_buf_release(&text);
	if (rc != SR_OK) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return SR_OK;
}

static int build_release(const struct sr_anon_column *cols, size_t ncols,
			 const struct sr_anon_dom *doms, size_t qis,
			 const struct sr_anon_result *res, size_t rows,
			 struct sr_anon_release *rel, struct sr_err *err)
{
	uint32_t *start = NULL, *row_order = NULL;
	size_t released = rows - res->suppressed;
	int rc = SR_OK;

	rel->names = sr_calloc(ncols, sizeof(*rel->names));
	rel->cols = sr_calloc(ncols, sizeof(*rel->cols));
	rel->is_qi = sr_calloc(ncols, 1);
	start = sr_calloc((size_t)res->classes + 1, sizeof(*start));
	row_order = sr_malloc((released ? released : 1) * sizeof(*row_order));
	if (!rel->names || !rel->cols || !rel->is_qi || !start || !row_order) {
		rc = SR_ENOMEM;
		goto out;
	}
	rel->columns = ncols;
	for (size_t i = 0; i < ncols; i++) {
		rel->is_qi[i] = cols[i].role == SR_ANON_QI;
		sr_vec_init(&rel->cols[i], rel->is_qi[i] ? SR_TYPE_STRING :
			    cols[i].values->type);
	}
	/* Released rows grouped by class, in row order within a class. */
	for (uint32_t c = 0; c < res->classes; c++)
		start[c + 1] = start[c] + res->class_size[c];
	for (size_t row = 0; row < rows; row++)
		if (res->released[row])
			row_order[start[res->class_of_row[row]]++] = (uint32_t)row;
	for (size_t i = 0, q = 0; i < ncols; i++) {
		struct sr_vec *out = &rel->cols[i];

		if (!(rel->names[i] = sr_strdup(cols[i].name))) {
			rc = SR_ENOMEM;
			goto out;
		}
		rc = sr_vec_reserve(out, released);
		if (rc != SR_OK)
			goto out;
		for (size_t j = 0; j < released && rc == SR_OK; j++) {
			size_t row = row_order[j];
			const struct sr_anon_dom *d = &doms[q];
			const char *text;

			if (cols[i].role != SR_ANON_QI) {
				rc = sr_vec_append_from(out, cols[i].values, row);
				continue;
			}
			if (res->label_off) {
				/* Mondrian: the class's own label. */
				size_t slot = (size_t)res->class_of_row[row] * qis + q;

				text = res->label_null[slot] ? NULL :
				       res->labels.data + res->label_off[slot];
			} else {
				/* The label the search judged, from the bound domain. */
				text = sr_anon_dom_label(d, res->levels[q],
							 d->lv[res->levels[q]].group_of_leaf[d->leaf_of_row[row]]);
			}
			rc = text ? sr_vec_append_text(out, text, strlen(text)) :
			     sr_vec_append_null(out);
		}
		if (rc != SR_OK)
			goto out;
		q += cols[i].role == SR_ANON_QI;
	}
out:
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "anon: release: out of memory");
	sr_free(start);
	sr_free(row_order);
	return rc;
}

static void fill_report(struct sr_anon_report *r, const struct sr_anon_result *res,
			size_t rows, uint64_t max_suppressed)
{
	uint64_t over5 = 0, over10 = 0, over20 = 0;

	r->rows_in = rows;
	r->suppressed = res->suppressed;
	r->rows_out = rows - res->suppressed;
	r->max_suppressed = max_suppressed;
	r->classes = res->classes;
	r->loss = res->loss;
	r->discernibility = res->discernibility;
	r->lattice_nodes = res->lattice_nodes;
	r->nodes_evaluated = res->nodes_evaluated;
	r->class_min = 0;
	for (uint32_t c = 0; c < res->classes; c++) {
		uint32_t size = res->class_size[c];

		if (c == 0 || size < r->class_min)
			r->class_min = size;
		/* Prosecutor risk 1/|E| above 5%, 10%, 20%. */
		if (size < 20)
			over5 += size;
		if (size < 10)
			over10 += size;
		if (size < 5)
			over20 += size;
	}
	r->class_avg = res->classes ? (double)r->rows_out / res->classes : 0;
	r->aecs = r->class_avg;
	r->risk_max = r->class_min ? 1.0 / (double)r->class_min : 0;
	r->risk_avg = r->rows_out ? (double)res->classes / (double)r->rows_out : 0;
	if (r->rows_out) {
		r->risk_over_5 = (double)over5 / (double)r->rows_out;
		r->risk_over_10 = (double)over10 / (double)r->rows_out;
		r->risk_over_20 = (double)over20 / (double)r->rows_out;
	}
}

int sr_anon_run(const struct sr_anon_column *cols, size_t ncols,
		const struct sr_anon_params *params, struct sr_anon_release *rel,
		struct sr_err *err)
{
	struct sr_anon_dom *doms = NULL;
	const struct sr_vec **qi_values = NULL;
	struct sr_anon_sa *sas = NULL;
	struct sr_anon_problem prob;
	struct sr_anon_result res;
	size_t rows, qis = 0, nsa = 0, built = 0;
	int rc = SR_OK;

	memset(&res, 0, sizeof(res));
	if (ncols == 0 || ncols > SR_DATASET_COLUMNS_MAX)
		return sr_fail(err, SR_EINVAL, "anon: expected 1 to %d columns, got %zu",
			       SR_DATASET_COLUMNS_MAX, ncols);
	if (params->k < 1)
		return sr_fail(err, SR_EINVAL, "anon: k: expected at least 1");
	if (!(params->max_suppression >= 0 && params->max_suppression <= 1))
		return sr_fail(err, SR_EINVAL, "anon: max_suppression: expected 0 to 1, got %g",
			       params->max_suppression);
	if (params->algorithm != SR_ANON_FULL_DOMAIN && params->algorithm != SR_ANON_MONDRIAN)
		return sr_fail(err, SR_EINVAL, "anon: unknown algorithm %d", (int)params->algorithm);
	if (params->metric != SR_ANON_METRIC_LOSS && params->metric != SR_ANON_METRIC_AECS &&
	    params->metric != SR_ANON_METRIC_DISCERNIBILITY)
		return sr_fail(err, SR_EINVAL, "anon: unknown metric %d", (int)params->metric);
	rows = cols[0].values->rows;
	for (size_t i = 0; i < ncols; i++) {
		const struct sr_anon_column *c = &cols[i];

		if (!c->name || !c->values)
			return sr_fail(err, SR_EINVAL, "anon: column %zu: expected a name and values", i);
		if (c->values->rows != rows)
			return sr_fail(err, SR_EINVAL, "%s: %zu rows, expected %zu like %s",
				       c->name, c->values->rows, rows, cols[0].name);
		if (c->role == SR_ANON_QI) {
			if (!c->hier)
				return sr_fail(err, SR_EINVAL, "%s: a quasi-identifier needs a hierarchy",
					       c->name);
			qis++;
		} else if (c->role == SR_ANON_SA) {
			rc = check_model(c, err);
			if (rc != SR_OK)
				return rc;
			nsa += sr_anon_has_model(c);
		} else if (c->role != SR_ANON_KEEP) {
			return sr_fail(err, SR_EINVAL, "%s: unknown role %d", c->name, (int)c->role);
		}
	}
	if (rows > SR_ANON_ROWS_MAX)
		return sr_fail(err, SR_ELIMIT, "anon: %zu rows, at most %llu", rows,
			       (unsigned long long)SR_ANON_ROWS_MAX);
	if (qis > SR_ANON_QI_MAX)
		return sr_fail(err, SR_ELIMIT, "anon: %zu quasi-identifiers, at most %d",
			       qis, SR_ANON_QI_MAX);
	if (nsa > SR_ANON_SA_MAX)
		return sr_fail(err, SR_ELIMIT, "anon: %zu sensitive columns with a model, at most %d",
			       nsa, SR_ANON_SA_MAX);
	doms = sr_calloc(qis ? qis : 1, sizeof(*doms));
	sas = sr_calloc(nsa ? nsa : 1, sizeof(*sas));
	qi_values = sr_calloc(qis ? qis : 1, sizeof(*qi_values));
	rel->report.levels = sr_calloc(qis ? qis : 1, sizeof(size_t));
	rel->report.heights = sr_calloc(qis ? qis : 1, sizeof(size_t));
	if (!doms || !sas || !qi_values || !rel->report.levels || !rel->report.heights) {
		rc = sr_fail(err, SR_ENOMEM, "anon: out of memory");
		goto out;
	}
	for (size_t i = 0, q = 0, a = 0; i < ncols; i++) {
		if (cols[i].role == SR_ANON_QI) {
			qi_values[q] = cols[i].values;
			rc = sr_anon_dom_build(&doms[q], cols[i].hier, cols[i].values, err);
			if (rc != SR_OK)
				goto out;
			built = ++q;
		} else if (sr_anon_has_model(&cols[i])) {
			rc = sr_anon_sa_build(&sas[a], &cols[i], err);
			if (rc == SR_OK && cols[i].model.t > 0) {
				json_t *counts = NULL;

				if (!rel->sa_input && !(rel->sa_input = json_object()))
					rc = SR_ENOMEM;
				if (rc == SR_OK)
					rc = sa_counts_json(cols[i].values, &counts);
				if (rc == SR_OK && json_object_set_new(rel->sa_input, cols[i].name, counts))
					rc = SR_ENOMEM;
			}
			a++;
			if (rc != SR_OK) {
				if (rc == SR_ENOMEM)
					sr_fail(err, rc, "%s: out of memory", cols[i].name);
				goto out;
			}
		}
	}
	prob.rows = rows;
	prob.qis = qis;
	prob.doms = doms;
	prob.sas = nsa;
	prob.sa = sas;
	prob.qi_values = qi_values;
	prob.params = params;
	rc = params->algorithm == SR_ANON_MONDRIAN ? sr_anon_mondrian(&prob, &res, err) :
	     sr_anon_search(&prob, &res, err);
	if (rc != SR_OK)
		goto out;
	rel->report.qis = qis;
	for (size_t q = 0; q < qis; q++) {
		rel->report.levels[q] = res.levels[q];
		rel->report.heights[q] = doms[q].levels;
	}
	fill_report(&rel->report, &res, rows,
		    (uint64_t)floor(params->max_suppression * (double)rows + 1e-9));
	rel->report.mondrian = params->algorithm == SR_ANON_MONDRIAN;
	rel->report.ncp = res.ncp;
	rc = build_release(cols, ncols, doms, qis, &res, rows, rel, err);
out:
	for (size_t q = 0; q < built; q++)
		sr_anon_dom_release(&doms[q]);
	for (size_t a = 0; a < nsa && sas; a++)
		sr_anon_sa_release(&sas[a]);
	sr_anon_result_release(&res);
	sr_free(doms);
	sr_free(qi_values);
	sr_free(sas);
	return rc;
}

static int csv_cell(struct sr_buf *out, const char *s, size_t len, int is_null)
{
	int quote = !is_null && (len == 0 || strpbrk(s, ",\"\r\n") != NULL ||
				 s[0] == ' ' || s[len - 1] == ' ');
	int rc = SR_OK;

	if (is_null)
		return SR_OK;
	if (!quote)
		return sr_buf_add(out, s, len);
	rc = sr_buf_addch(out, '"');
	for (size_t i = 0; i < len && rc == SR_OK; i++)
		rc = s[i] == '"' ? sr_buf_add(out, "\"\"", 2) : sr_buf_addch(out, s[i]);
	if (rc == SR_OK)
		rc = sr_buf_addch(out, '"');
	return rc;
}

int sr_anon_release_csv(const struct sr_anon_release *rel, struct sr_buf *out)
{
	struct sr_buf cell;
	size_t rows = rel->columns ? rel->cols[0].rows : 0;
	int rc = SR_OK;

	sr_buf_init(&cell, SR_BUF_UNBOUNDED);   /* one released value */
	for (size_t i = 0; i < rel->columns && rc == SR_OK; i++) {
		if (i)
			rc = sr_buf_addch(out, ',');
		if (rc == SR_OK)
			rc = csv_cell(out, rel->names[i], strlen(rel->names[i]), 0);
	}
	if (rc == SR_OK)
		rc = sr_buf_addch(out, '\n');
	for (size_t row = 0; row < rows && rc == SR_OK; row++) {
		for (size_t i = 0; i < rel->columns && rc == SR_OK; i++) {
			const struct sr_vec *v = &rel->cols[i];

			if (i)
				rc = sr_buf_addch(out, ',');
			sr_buf_reset(&cell);
			if (rc == SR_OK)
				rc = sr_vec_format(v, row, &cell);
			if (rc == SR_OK)
				rc = csv_cell(out, cell.data, cell.len, sr_vec_is_null(v, row));
		}
		if (rc == SR_OK)
			rc = sr_buf_addch(out, '\n');
	}
	sr_buf_release(&cell);
	return rc;
}

static int set(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value) ? SR_ENOMEM : SR_OK;
}

int sr_anon_report_json(const struct sr_anon_release *rel, json_t **out)
{
	const struct sr_anon_report *r = &rel->report;
	json_t *obj = json_object(), *levels = json_object(), *heights = json_object();
	json_t *risk = json_object();
	int rc = obj && levels && heights && risk ? SR_OK : SR_ENOMEM;

	/* QIs are the release's string columns named in the order of the input;
	 * levels[] follows the QIs in that order. */
	for (size_t i = 0, q = 0; i < rel->columns && q < r->qis && rc == SR_OK; i++) {
		if (!rel->is_qi || !rel->is_qi[i])
			continue;
		rc = set(levels, rel->names[i], json_integer((json_int_t)r->levels[q]));
		if (rc == SR_OK)
			rc = set(heights, rel->names[i], json_integer((json_int_t)r->heights[q]));
		q++;
	}
	if (rc == SR_OK) rc = set(risk, "max", json_real(r->risk_max));
	if (rc == SR_OK) rc = set(risk, "avg", json_real(r->risk_avg));
	if (rc == SR_OK) rc = set(risk, "over_5", json_real(r->risk_over_5));
	if (rc == SR_OK) rc = set(risk, "over_10", json_real(r->risk_over_10));
	if (rc == SR_OK) rc = set(risk, "over_20", json_real(r->risk_over_20));
	if (rc == SR_OK)
		rc = set(obj, "algorithm", json_string(r->mondrian ? "mondrian" : "full-domain"));
	if (rc == SR_OK && r->mondrian)
		rc = set(obj, "ncp", json_real(r->ncp));
	if (rc == SR_OK && !r->mondrian) { rc = set(obj, "levels", levels); levels = NULL; }
	if (rc == SR_OK) { rc = set(obj, "heights", heights); heights = NULL; }
	if (rc == SR_OK) { rc = set(obj, "risk", risk); risk = NULL; }
	if (rc == SR_OK) rc = set(obj, "rows_in", json_integer((json_int_t)r->rows_in));
	if (rc == SR_OK) rc = set(obj, "rows_out", json_integer((json_int_t)r->rows_out));
	if (rc == SR_OK) rc = set(obj, "suppressed", json_integer((json_int_t)r->suppressed));
	if (rc == SR_OK) rc = set(obj, "max_suppressed", json_integer((json_int_t)r->max_suppressed));
	if (rc == SR_OK) rc = set(obj, "classes", json_integer((json_int_t)r->classes));
	if (rc == SR_OK) rc = set(obj, "class_min", json_integer((json_int_t)r->class_min));
	if (rc == SR_OK) rc = set(obj, "class_avg", json_real(r->class_avg));
	if (rc == SR_OK) rc = set(obj, "loss", json_real(r->loss));
	if (rc == SR_OK) rc = set(obj, "discernibility", json_real(r->discernibility));
	if (rc == SR_OK) rc = set(obj, "aecs", json_real(r->aecs));
	if (rc == SR_OK) rc = set(obj, "lattice_nodes", json_integer((json_int_t)r->lattice_nodes));
	if (rc == SR_OK) rc = set(obj, "nodes_evaluated", json_integer((json_int_t)r->nodes_evaluated));
	if (rc == SR_OK && rel->sa_input)
		rc = set(obj, "sa_input", json_incref(rel->sa_input));
	json_decref(levels);
	json_decref(heights);
	json_decref(risk);
	if (rc != SR_OK) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return SR_OK;
}
