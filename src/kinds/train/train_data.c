/*
 * train_data.c - rows for the `train` kind (train.h): scanned, scaled by
 * the public bounds, split stratified into training and test rows; and
 * the result envelope with its evaluation and plots.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "kinds/train/train.h"
#include "base/banned.h"

void train_table_release(struct train_table *t)
{
	if (!t)
		return;
	sr_free(t->x);
	sr_free(t->y);
	memset(t, 0, sizeof(*t));
}

static int table_push(struct train_table *t, const double *x, double y)
{
	if (t->rows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		double *nx = sr_realloc(t->x, cap * t->cols * sizeof(double));
		double *ny;
		if (!nx)
			return SR_ENOMEM;
		t->x = nx;
		if (!(ny = sr_realloc(t->y, cap * sizeof(double))))
			return SR_ENOMEM;
		t->y = ny;
		t->cap = cap;
	}
	memcpy(t->x + t->rows * t->cols, x, t->cols * sizeof(double));
	t->y[t->rows++] = y;
	return SR_OK;
}

int train_table_finish(struct train_table *t, struct sr_err *err)
{
	double *cm = sr_calloc(t->rows * t->cols + 1, sizeof(double));

	if (!cm)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t r = 0; r < t->rows; r++)
		for (size_t c = 0; c < t->cols; c++)
			cm[c * t->rows + r] = t->x[r * t->cols + c];
	sr_free(t->x);
	t->x = cm;
	return SR_OK;
}

struct sr_ml_data train_table_view(const struct train_table *t)
{
	return (struct sr_ml_data){ t->rows, t->cols, t->x, t->y };
}

static int cell(const struct sr_vec *v, size_t r, double *out)
{
	if (sr_vec_is_null(v, r))
		return 0;
	*out = v->type == SR_TYPE_INT64 ? (double)v->v.i64[r] : v->v.f64[r];
	return 1;
}

int train_load(const struct sr_kind_ctx *c, size_t input, const struct train_spec *s,
	       struct train_table *train, struct train_table *test,
	       struct sr_err *err)
{
	const char *dataset = c->inputs[input].dataset;
	const char **cols = sr_calloc(s->nfeatures + 1, sizeof(*cols));
	double *x = sr_calloc(s->nfeatures, sizeof(*x));
	uint64_t seen[2] = { 0, 0 };
	struct sr_rows rows = { 0 };
	int rc, eof = 0;

	if (!cols || !x) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(cols, s->features, s->nfeatures * sizeof(*cols));
	cols[s->nfeatures] = s->label;
	train->cols = test->cols = s->nfeatures;
	rc = sr_kind_scan(c, input, cols, s->nfeatures + 1, &rows, err);
	while (rc == SR_OK && !eof) {
		const struct sr_vec *vecs[SR_DATASET_COLUMNS_MAX + 1];
		const uint64_t *ids;
		size_t n;

		if ((rc = sr_rows_next(&rows, vecs, &ids, &n, &eof, err)))
			break;
		for (size_t r = 0; rc == SR_OK && r < n; r++) {
			double y;
			int cls;
			if (!cell(vecs[s->nfeatures], r, &y) || (y != 0 && y != 1)) {
				rc = sr_fail(err, SR_EINVAL,
					     "%s row %llu: label %s is %s, expected 0 or 1",
					     dataset, (unsigned long long)ids[r], s->label,
					     sr_vec_is_null(vecs[s->nfeatures], r) ? "NULL" : "another value");
				break;
			}
			for (size_t f = 0; f < s->nfeatures; f++) {
				double v;
				if ((!cell(vecs[f], r, &v) || isnan(v)) && s->model == TRAIN_GBDT) {
					x[f] = NAN;   /* gbdt: the missing bin */
					continue;
				}
				if (!cell(vecs[f], r, &v) || isnan(v)) {
					rc = sr_fail(err, SR_EINVAL,
						     "%s row %llu: feature %s is missing; logistic regression needs complete rows",
						     dataset, (unsigned long long)ids[r], s->features[f]);
					break;
				}
				v = fmin(fmax(v, s->lo[f]), s->hi[f]);
				x[f] = s->hi[f] > s->lo[f] ? (v - s->lo[f]) / (s->hi[f] - s->lo[f]) : 0;
			}
			if (rc)
				break;
			cls = y == 1;
			/* Row k of its class goes to test when k * ratio crosses
			 * an integer: each class split in the same proportion. */
			if (floor((double)(seen[cls] + 1) * s->test_ratio) >
			    floor((double)seen[cls] * s->test_ratio))
				rc = table_push(test, x, y);
			else
				rc = table_push(train, x, y);
			seen[cls]++;
			if (rc)
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
		}
	}
out:
	sr_rows_close(&rows);
	sr_free(cols);
	sr_free(x);
	return rc;
}

static json_t *points(const struct sr_ml_point *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_pack("[f,f]", p[i].x, p[i].y))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *train_eval_json(const struct sr_ml_eval *e)
{
	return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:o*,s:o*,s:o*}",
			 "auc", e->auc, "ks", e->ks, "accuracy", e->accuracy,
			 "precision", e->precision, "recall", e->recall, "logloss", e->logloss,
			 "rows", (json_int_t)e->rows, "positives", (json_int_t)e->positives,
			 "roc", points(e->roc, e->nroc), "lift", points(e->lift, e->nlift),
			 "gains", points(e->gains, e->ngains));
}

json_t *train_result(const struct train_spec *s, const struct sr_ml_hlr_result *r)
{
	const struct sr_ml_eval *e = &r->eval;
	json_t *rows = json_array(), *scaling = json_object(), *importance = json_object();
	json_t *meta;

	for (size_t f = 0; rows && scaling && importance && f < s->nfeatures; f++) {
		if (json_array_append_new(rows, json_pack("[s,f]", s->features[f], r->model.w[f])) ||
		    json_object_set_new(scaling, s->features[f], json_pack("[f,f]", s->lo[f], s->hi[f])) ||
		    json_object_set_new(importance, s->features[f], json_real(fabs(r->model.w[f])))) {
			json_decref(rows);
			rows = NULL;
		}
	}
	if (rows && json_array_append_new(rows, json_pack("[s,f]", "(intercept)", r->model.bias))) {
		json_decref(rows);
		rows = NULL;
	}
	meta = json_pack("{s:s,s:s,s:I,s:f,s:f,s:I,s:f,s:I,s:I,s:o,s:o,s:o}",
			 "model", "lr", "mode", "horizontal",
			 "rounds", (json_int_t)s->lr.epochs,
			 "learning_rate", s->lr.learning_rate, "l2", s->lr.l2,
			 "frac_bits", (json_int_t)s->lr.frac_bits,
			 "fixed_point_bound", sr_ml_lr_fixed_bound(&s->lr, s->nfeatures, s->lr.epochs),
			 "train_rows", (json_int_t)r->train_rows, "test_rows", (json_int_t)r->test_rows,
			 "scaling", scaling, "importance", importance,
			 "evaluation", train_eval_json(e));
	if (!rows || !meta) {
		json_decref(rows);
		json_decref(meta);
		return NULL;
	}
	return sr_kind_envelope(json_pack("[s,s]", "feature", "weight"), rows, meta);
}

/* A curve of meta.evaluation as points (heap, *n entries). */
static int curve(const json_t *eval, const char *name, struct sr_ml_point **out, size_t *n,
		 struct sr_err *err)
{
	const json_t *a = json_object_get(eval, name), *pt;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return sr_fail(err, SR_EINVAL, "plot: the result has no meta.evaluation.%s curve", name);
	if (!(*out = sr_calloc(json_array_size(a), sizeof(**out))))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	json_array_foreach(a, i, pt) {
		if (!json_is_number(json_array_get(pt, 0)) || !json_is_number(json_array_get(pt, 1))) {
			sr_free(*out);
			*out = NULL;
			return sr_fail(err, SR_EINVAL, "plot: meta.evaluation.%s[%zu]: expected [x, y]",
				       name, i);
		}
		(*out)[i].x = json_number_value(json_array_get(pt, 0));
		(*out)[i].y = json_number_value(json_array_get(pt, 1));
	}
	*n = json_array_size(a);
	return SR_OK;
}

int train_plot(const json_t *result, const char *which, struct sr_buf *out,
	       struct sr_err *err)
{
	const json_t *meta = json_object_get(result, "meta");
	const json_t *eval = json_object_get(meta, "evaluation");
	struct sr_ml_point *pts = NULL;
	struct sr_svg_series series;
	char title[128];
	size_t n;
	int rc;

	if (!json_is_object(eval))
		return sr_fail(err, SR_EINVAL, "plot: the result has no meta.evaluation (not a train result)");
	if (strcmp(which, "importance") == 0) {
		const json_t *imp = json_object_get(meta, "importance"), *v;
		const char *model = json_string_value(json_object_get(meta, "model"));
		const char **names;
		double *values;
		const char *key;
		size_t i = 0;

		if (!json_is_object(imp) || json_object_size(imp) == 0)
			return sr_fail(err, SR_EINVAL, "plot: the result has no meta.importance");
		names = sr_calloc(json_object_size(imp), sizeof(*names));
		values = sr_calloc(json_object_size(imp), sizeof(*values));
		if (!names || !values) {
			sr_free(names);
			sr_free(values);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		json_object_foreach((json_t *)imp, key, v) {
			names[i] = key;
			values[i++] = json_number_value(v);
		}
		rc = sr_svg_bars(out, model && strcmp(model, "gbdt") == 0 ?
				 "feature importance (total split gain)" :
				 "feature importance (|weight| on the scaled feature)",
				 names, values, i, err);
		sr_free(names);
		sr_free(values);
		return rc;
	}
	if (strcmp(which, "roc") && strcmp(which, "lift") && strcmp(which, "gains"))
		return sr_fail(err, SR_EINVAL, "plot: '%s', expected roc, lift, gains or importance", which);
	if ((rc = curve(eval, which, &pts, &n, err)))
		return rc;
	series = (struct sr_svg_series){ "model", pts, n };
	if (strcmp(which, "roc") == 0) {
		snprintf(title, sizeof(title), "ROC (AUC %.4f, KS %.4f)",
			 json_number_value(json_object_get(eval, "auc")),
			 json_number_value(json_object_get(eval, "ks")));
		rc = sr_svg_lines(out, title, "false positive rate", "true positive rate",
				  &series, 1, 1, err);
	} else if (strcmp(which, "gains") == 0) {
		rc = sr_svg_lines(out, "cumulative gains", "fraction of rows (by score)",
				  "fraction of positives", &series, 1, 1, err);
	} else {
		rc = sr_svg_lines(out, "lift", "fraction of rows (by score)", "lift",
				  &series, 1, 0, err);
	}
	sr_free(pts);
	return rc;
}
