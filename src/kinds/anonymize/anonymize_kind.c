/*
 * anonymize_kind.c - the `anonymize` job kind: a data owner releases a
 * k-anonymous (l-diverse, t-close) copy of one of its datasets to one
 * receiver (src/anon/, DESIGN §18, docs/protocols/anonymize.md).
 *
 * Spec:
 *   { "kind": "anonymize",
 *     "inputs": [ { "dataset": "insurer.policies" } ],
 *     "receivers": [ "org_…" ],
 *     "k": 5,
 *     "max_suppression": "0.05",                     (default 0)
 *     "sa": { "diagnosis": { "ldiv": "recursive", "l": 3, "c": 4,
 *                            "t": "0.2", "emd": "equal" } },   (optional)
 *     "metric": "loss" | "discernibility" | "aecs",  (default loss)
 *     "algorithm": "full-domain" | "mondrian",       (default full-domain)
 *     "columns": [ "age", "sex", ... ] }             (default: all but id)
 * Numbers that are not whole are written as decimal strings (job specs
 * are canonical JSON).
 *
 * Columns, by the policy's class: id dropped (never named in "columns");
 * qi generalized by its "generalize" hierarchy (a qi without one, or with
 * a mask, is refused; k below the policy's min_group_size is refused); sa released as is or masked by its mask, with the
 * l and t models of "sa"; public released as is or masked.  Usages: qi
 * `group` (released only as classes), sa and public `reveal`.
 *
 * Protocol: the owner scans its input (row_filter applied), masks, runs
 * sr_anon_run, and sends the result envelope to the receiver through the
 * job channel; an owner that is its own receiver keeps it.  Result:
 *   {"columns": [released columns], "rows": [[...], ...] (grouped by class),
 *    "meta": {"dataset", "models": {...}, "report": {sr_anon_report_json}}}
 * Release (at the receiver, and after run_central): the rows are checked
 * against k, the l and t models and the suppression limit of the approved
 * spec with sr_anon_verify; a result that fails is refused, never kept.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "anon/anon.h"
#include "anon/hier.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "kinds/kind.h"
#include "kinds/mask.h"
#include "store/value.h"
#include "base/banned.h"

#define ANON_CHANNEL 1

/* One released column: its policy column, role and (sa) model. */
struct plan_col {
	const struct sr_policy_column *pc;
	enum sr_anon_role role;
	struct sr_anon_sa_model model;
};

/* What the spec asks of a dataset, checked once (parse_plan). */
struct plan {
	struct sr_anon_params params;
	struct plan_col *cols;         /* released columns, dataset order */
	size_t ncols;
	size_t qis;
};

static void plan_release(struct plan *p)
{
	sr_free(p->cols);
	memset(p, 0, sizeof(*p));
}

/* A number or a decimal string at path.key; *out untouched when absent. */
static int get_number(const json_t *obj, const char *path, const char *key,
		      double *out, struct sr_err *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return SR_OK;
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return SR_OK;
	}
	if (json_is_real(v) && isfinite(json_real_value(v))) {
		*out = json_real_value(v);
		return SR_OK;
	}
	if (json_is_string(v) && sr_value_parse_float64(json_string_value(v),
							json_string_length(v), out) == SR_OK &&
	    isfinite(*out))
		return SR_OK;
	return sr_fail(err, SR_EINVAL, "%s.%s: expected a number or a decimal string",
		       path, key);
}

/* Index of name in a NULL-terminated list, or -1. */
static int word_index(const char *name, const char *const *words)
{
	for (int i = 0; name && words[i]; i++)
		if (strcmp(name, words[i]) == 0)
			return i;
	return -1;
}

/* The model of sa column col from spec.sa.<col>. */
static int parse_model(const json_t *m, const struct sr_policy_column *col,
		       struct sr_anon_sa_model *out, struct sr_err *err)
{
	static const char *const keys[] = { "ldiv", "l", "c", "t", "emd", NULL };
	static const char *const ldivs[] = { "distinct", "entropy", "recursive", NULL };
	static const char *const emds[] = { "equal", "ordered", NULL };
	const char *ldiv = NULL, *emd = NULL;
	char path[SR_COLUMN_NAME_MAX + 16];
	double l = 0;
	int rc;

	snprintf(path, sizeof(path), "spec.sa.%.*s", SR_COLUMN_NAME_MAX, col->name);
	memset(out, 0, sizeof(*out));
	if (!json_is_object(m))
		return sr_fail(err, SR_EINVAL, "%s: expected an object with ldiv, l, c, t or emd",
			       path);
	rc = sr_json_check_keys(m, path, keys, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(m, path, "ldiv", 0, &ldiv, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(m, path, "emd", 0, &emd, err);
	if (rc == SR_OK)
		rc = get_number(m, path, "l", &l, err);
	if (rc == SR_OK)
		rc = get_number(m, path, "c", &out->c, err);
	if (rc == SR_OK)
		rc = get_number(m, path, "t", &out->t, err);
	if (rc)
		return rc;
	if (ldiv && word_index(ldiv, ldivs) < 0)
		return sr_fail(err, SR_EINVAL,
			       "%s.ldiv: unknown '%.32s' (expected distinct, entropy or recursive)",
			       path, ldiv);
	if (l > 0 || ldiv) {
		out->ldiv = ldiv ? (enum sr_anon_ldiv)(word_index(ldiv, ldivs) + 1) :
			    SR_ANON_LDIV_DISTINCT;
		out->l = l;
		if (!(l >= 1) || l > SR_ANON_SA_VALUES_MAX ||
		    (out->ldiv != SR_ANON_LDIV_ENTROPY && l != floor(l)))
			return sr_fail(err, SR_EINVAL, "%s.l: expected %s from 1 to %d", path,
				       out->ldiv == SR_ANON_LDIV_ENTROPY ? "a number" :
				       "a whole number", SR_ANON_SA_VALUES_MAX);
	}
	if (json_object_get(m, "c") && out->ldiv != SR_ANON_LDIV_RECURSIVE)
		return sr_fail(err, SR_EINVAL, "%s.c: only recursive (c, l)-diversity takes c",
			       path);
	if (out->ldiv == SR_ANON_LDIV_RECURSIVE && !(out->c > 0))
		return sr_fail(err, SR_EINVAL, "%s.c: expected a positive number", path);
	if (json_object_get(m, "t") && !(out->t > 0 && out->t <= 1))
		return sr_fail(err, SR_EINVAL, "%s.t: expected a number in (0, 1]", path);
	if (emd && !json_object_get(m, "t"))
		return sr_fail(err, SR_EINVAL, "%s.emd: a distance needs t", path);
	if (emd && word_index(emd, emds) < 0)
		return sr_fail(err, SR_EINVAL, "%s.emd: unknown '%.32s' (expected equal or ordered)",
			       path, emd);
	out->emd = emd ? (enum sr_anon_emd)(word_index(emd, emds) + 1) : SR_ANON_EMD_AUTO;
	if (out->emd == SR_ANON_EMD_ORDERED &&
	    ((col->type != SR_TYPE_INT64 && col->type != SR_TYPE_FLOAT64 &&
	      col->type != SR_TYPE_DATE) || col->mask != SR_MASK_NONE))
		return sr_fail(err, SR_EINVAL,
			       "%s.emd: ordered distance needs an unmasked int64, float64 or date column",
			       path);
	if (out->ldiv == SR_ANON_LDIV_NONE && out->t == 0)
		return sr_fail(err, SR_EINVAL, "%s: expected an l (with ldiv) or a t model", path);
	/* A masked SA is judged on the masked values, which are strings. */
	if (col->mask != SR_MASK_NONE && out->emd == SR_ANON_EMD_AUTO)
		out->emd = SR_ANON_EMD_EQUAL;
	return SR_OK;
}

/* Whether name is in spec.columns (or there is no such list). */
static int in_subset(const json_t *subset, const char *name)
{
	const json_t *v;
	size_t i;

	if (!subset)
		return 1;
	json_array_foreach(subset, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

static int parse_params(const json_t *spec, struct sr_anon_params *p, struct sr_err *err)
{
	static const char *const metrics[] = { "loss", "discernibility", "aecs", NULL };
	static const char *const algorithms[] = { "full-domain", "mondrian", NULL };
	const char *metric = "loss", *algorithm = "full-domain";
	int64_t k = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = sr_json_get_int(spec, "spec", "k", 1, &k, err);
	if (rc == SR_OK)
		rc = get_number(spec, "spec", "max_suppression", &p->max_suppression, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(spec, "spec", "metric", 0, &metric, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(spec, "spec", "algorithm", 0, &algorithm, err);
	if (rc)
		return rc;
	if (k < 1 || (uint64_t)k > SR_ANON_ROWS_MAX)
		return sr_fail(err, SR_EINVAL, "spec.k: expected a whole number from 1 to %llu",
			       (unsigned long long)SR_ANON_ROWS_MAX);
	p->k = (uint64_t)k;
	if (!(p->max_suppression >= 0 && p->max_suppression <= 1))
		return sr_fail(err, SR_EINVAL, "spec.max_suppression: expected a share from 0 to 1");
	if (word_index(metric, metrics) < 0)
		return sr_fail(err, SR_EINVAL,
			       "spec.metric: unknown '%.32s' (expected loss, discernibility or aecs)",
			       metric);
	p->metric = (enum sr_anon_metric)word_index(metric, metrics);
	if (word_index(algorithm, algorithms) < 0)
		return sr_fail(err, SR_EINVAL,
			       "spec.algorithm: unknown '%.32s' (expected full-domain or mondrian)",
			       algorithm);
	p->algorithm = (enum sr_anon_algorithm)word_index(algorithm, algorithms);
	return SR_OK;
}

/*
 * The plan of spec for dataset (its bound policy pol): every shape rule
 * of the kind, in one place.  Malformed keys fail with SR_EINVAL naming
 * the key.
 */
static int parse_plan(const json_t *spec, const char *dataset,
		      const struct sr_policy *pol, struct plan *p, struct sr_err *err)
{
	const json_t *subset = json_object_get(spec, "columns");
	const json_t *sa = json_object_get(spec, "sa"), *v;
	const char *key;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = parse_params(spec, &p->params, err);
	if (rc)
		return rc;
	if (subset && (!json_is_array(subset) || json_array_size(subset) == 0))
		return sr_fail(err, SR_EINVAL, "spec.columns: expected a non-empty array of column names");
	json_array_foreach(subset, i, v) {
		const struct sr_policy_column *pc = sr_policy_column(pol, json_string_value(v));

		if (!json_is_string(v))
			return sr_fail(err, SR_EINVAL, "spec.columns[%zu]: expected a column name", i);
		for (size_t j = 0; j < i; j++)
			if (json_equal(v, json_array_get(subset, j)))
				return sr_fail(err, SR_EINVAL, "spec.columns[%zu]: '%.64s' is named twice",
					       i, json_string_value(v));
		if (!pc)
			return sr_fail(err, SR_EINVAL, "spec.columns[%zu]: '%.64s' is not a column of %s",
				       i, json_string_value(v), dataset);
		if (pc->cls == SR_CLASS_ID)
			return sr_fail(err, SR_EINVAL,
				       "spec.columns[%zu]: '%.64s' is an id column: id columns are never released",
				       i, json_string_value(v));
	}
	if (sa && !json_is_object(sa))
		return sr_fail(err, SR_EINVAL, "spec.sa: expected an object of sa column -> model");
	json_object_foreach((json_t *)sa, key, v) {
		const struct sr_policy_column *pc = sr_policy_column(pol, key);

		if (!pc || pc->cls != SR_CLASS_SA || !in_subset(subset, key))
			return sr_fail(err, SR_EINVAL,
				       "spec.sa.%.64s: not an sa column of %s that the release keeps",
				       key, dataset);
	}
	p->cols = sr_calloc(pol->ncolumns ? pol->ncolumns : 1, sizeof(*p->cols));
	if (!p->cols)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (i = 0; i < pol->ncolumns; i++) {
		const struct sr_policy_column *pc = &pol->columns[i];
		struct plan_col *pcol = &p->cols[p->ncols];

		if (pc->cls == SR_CLASS_ID || !in_subset(subset, pc->name))
			continue;
		pcol->pc = pc;
		pcol->role = pc->cls == SR_CLASS_QI ? SR_ANON_QI :
			     pc->cls == SR_CLASS_SA ? SR_ANON_SA : SR_ANON_KEEP;
		if (pcol->role == SR_ANON_SA && json_object_get(sa, pc->name)) {
			rc = parse_model(json_object_get(sa, pc->name), pc, &pcol->model, err);
			if (rc)
				goto fail;
		}
		p->qis += pcol->role == SR_ANON_QI;
		p->ncols++;
	}
	if (p->qis == 0) {
		rc = sr_fail(err, SR_EINVAL,
			     "spec: the release keeps no qi column of %s: there is nothing to generalize",
			     dataset);
		goto fail;
	}
	if (p->qis > SR_ANON_QI_MAX) {
		rc = sr_fail(err, SR_ELIMIT, "spec: %zu qi columns, at most %d (name fewer in columns)",
			     p->qis, SR_ANON_QI_MAX);
		goto fail;
	}
	return SR_OK;
fail:
	plan_release(p);
	return rc;
}

/* ---- check ------------------------------------------------------------------ */

static int anon_check(struct sr_check *c, struct sr_err *err)
{
	const struct sr_check_dataset *d;
	struct plan p;
	int rc = SR_OK;

	if (sr_check_ninputs(c) != 1)
		return sr_fail(err, SR_EINVAL, "spec.inputs: anonymize releases one dataset");
	if (sr_check_nreceivers(c) != 1)
		return sr_fail(err, SR_EINVAL, "spec.receivers: anonymize releases to one receiver");
	d = sr_check_input(c, 0);
	if (!d) {
		/* Not published (already reported): the keys alone. */
		struct sr_anon_params params;
		return parse_params(sr_check_spec(c), &params, err);
	}
	rc = parse_plan(sr_check_spec(c), d->name, d->policy, &p, err);
	if (rc)
		return rc;
	/* No output row may describe fewer people than min_group_size: a
	 * class is what a released row describes. */
	if ((int64_t)p.params.k < d->policy->min_group_size)
		rc = sr_check_violation(c, d->name, NULL, NULL, "anonymize-k-below-min-group-size",
					err, "k = %llu is below the min_group_size %lld of %s",
					(unsigned long long)p.params.k,
					(long long)d->policy->min_group_size, d->name);
	for (size_t i = 0; rc == SR_OK && i < p.ncols; i++) {
		const struct sr_policy_column *pc = p.cols[i].pc;

		rc = sr_check_use(c, 0, pc->name,
				  p.cols[i].role == SR_ANON_QI ? SR_USE_GROUP : SR_USE_REVEAL, err);
		if (rc == SR_OK && p.cols[i].role == SR_ANON_QI && !pc->generalize)
			rc = sr_check_violation(c, d->name, pc->name, "group",
						"anonymize-qi-no-hierarchy", err,
						"%s.%s is a qi column without a generalize hierarchy in its policy: it cannot be generalized (or leave it out with columns)",
						d->name, pc->name);
		if (rc == SR_OK && p.cols[i].role == SR_ANON_QI && pc->mask != SR_MASK_NONE)
			rc = sr_check_violation(c, d->name, pc->name, "group",
						"anonymize-qi-mask", err,
						"%s.%s is a qi column with a mask: a qi is released only as its hierarchy's labels, so the mask could not apply",
						d->name, pc->name);
	}
	plan_release(&p);
	return rc;
}

/* ---- the release at the owner ---------------------------------------------------- */

/* Row r of vec as JSON: integers, reals, booleans, strings (dates too). */
static json_t *value_json(const struct sr_vec *vec, size_t r, struct sr_buf *scratch)
{
	if (sr_vec_is_null(vec, r))
		return json_null();
	switch (vec->type) {
	case SR_TYPE_INT64: return json_integer((json_int_t)vec->v.i64[r]);
	case SR_TYPE_FLOAT64: return json_real(vec->v.f64[r]);
	case SR_TYPE_BOOL: return json_boolean(vec->v.b[r]);
	default:
		sr_buf_reset(scratch);
		if (sr_vec_format(vec, r, scratch))
			return NULL;
		return json_stringn(scratch->data, scratch->len);
	}
}

/* The input's rows, every released column in one vector each. */
static int read_input(const struct sr_kind_ctx *c, const struct plan *p,
		      struct sr_vec *vecs, struct sr_err *err)
{
	const char **names = sr_calloc(p->ncols, sizeof(*names));
	const struct sr_vec **batch = sr_calloc(p->ncols, sizeof(*batch));
	struct sr_rows rows;
	int rc, eof = 0;

	if (!names || !batch) {
		sr_free(names);
		sr_free(batch);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < p->ncols; i++) {
		names[i] = p->cols[i].pc->name;
		sr_vec_init(&vecs[i], p->cols[i].pc->type);
	}
	sr_kind_progress(c, "reading the dataset", 0, 0);
	rc = sr_kind_scan(c, 0, names, p->ncols, &rows, err);
	while (rc == SR_OK && !eof) {
		const uint64_t *ids;
		size_t n;

		rc = sr_rows_next(&rows, batch, &ids, &n, &eof, err);
		for (size_t i = 0; rc == SR_OK && i < p->ncols; i++)
			for (size_t r = 0; rc == SR_OK && r < n; r++)
				if (sr_vec_append_from(&vecs[i], batch[i], r))
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
		if (rc == SR_OK && vecs[0].rows > SR_ANON_ROWS_MAX)
			rc = sr_fail(err, SR_ELIMIT, "%s: more than %llu rows",
				     c->inputs[0].dataset, (unsigned long long)SR_ANON_ROWS_MAX);
	}
	sr_rows_close(&rows);
	sr_free(names);
	sr_free(batch);
	return rc;
}

/* sa and public columns masked by their policy's mask, for the receiver. */
static int mask_columns(const struct sr_kind_ctx *c, const struct plan *p,
			struct sr_vec *vecs, struct sr_err *err)
{
	uint8_t key[SR_MASK_KEY_BYTES];
	int rc = SR_OK;

	for (size_t i = 0; rc == SR_OK && i < p->ncols; i++) {
		const struct sr_policy_column *pc = p->cols[i].pc;
		struct sr_vec masked;

		if (p->cols[i].role == SR_ANON_QI || pc->mask == SR_MASK_NONE)
			continue;
		/* The key depends on the column's hash_scope. */
		if (sr_mask_needs_key(pc))
			rc = sr_kind_mask_key(c, 0, pc, c->receivers[0], key, err);
		if (rc == SR_OK)
			rc = sr_mask_vec(pc, sr_mask_needs_key(pc) ? key : NULL, &vecs[i],
					 &masked, err);
		if (rc == SR_OK) {
			sr_vec_release(&vecs[i]);
			vecs[i] = masked;
		}
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* What the models were, for the receiver and the verifier. */
static json_t *models_json(const json_t *spec, const struct plan *p)
{
	static const char *const metrics[] = { "loss", "discernibility", "aecs" };
	const json_t *sa = json_object_get(spec, "sa");

	return json_pack("{s:I,s:f,s:s,s:s,s:o}", "k", (json_int_t)p->params.k,
			 "max_suppression", p->params.max_suppression,
			 "metric", metrics[p->params.metric],
			 "algorithm", p->params.algorithm == SR_ANON_MONDRIAN ?
			 "mondrian" : "full-domain",
			 "sa", sa ? json_deep_copy(sa) : json_object());
}

static int envelope_of(const struct sr_kind_ctx *c, const struct plan *p,
		       const struct sr_anon_release *rel, json_t **out,
		       struct sr_err *err)
{
	json_t *columns = json_array(), *rows = json_array(), *report = NULL, *meta;
	size_t nrows = rel->columns ? rel->cols[0].rows : 0;
	struct sr_buf scratch;
	int rc = SR_OK;

	sr_buf_init(&scratch, SR_BUF_UNBOUNDED);
	for (size_t i = 0; columns && i < rel->columns; i++)
		if (json_array_append_new(columns, json_string(rel->names[i])))
			rc = SR_ENOMEM;
	for (size_t r = 0; rc == SR_OK && rows && r < nrows; r++) {
		json_t *row = json_array();

		for (size_t i = 0; row && i < rel->columns; i++)
			if (json_array_append_new(row, value_json(&rel->cols[i], r, &scratch))) {
				json_decref(row);
				row = NULL;
			}
		if (!row || json_array_append_new(rows, row))
			rc = SR_ENOMEM;
	}
	sr_buf_release(&scratch);
	if (rc == SR_OK && (!columns || !rows || sr_anon_report_json(rel, &report)))
		rc = SR_ENOMEM;
	meta = rc == SR_OK ? json_pack("{s:s,s:o,s:o}", "dataset", c->inputs[0].dataset,
				       "models", models_json(c->spec, p), "report", report) : NULL;
	if (!meta) {
		json_decref(columns);
		json_decref(rows);
		if (rc == SR_OK)
			report = NULL;   /* json_pack stole it */
		json_decref(report);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	*out = sr_kind_envelope(columns, rows, meta);
	return *out ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
}

/* The release of the input (local to c), as an envelope. */
static int release_table(const struct sr_kind_ctx *c, json_t **out, struct sr_err *err)
{
	struct sr_anon_hier **hiers = NULL;
	struct sr_anon_column *acols = NULL;
	struct sr_anon_release rel;
	struct sr_vec *vecs = NULL;
	struct plan p;
	int rc;

	*out = NULL;
	sr_anon_release_init(&rel);
	rc = parse_plan(c->spec, c->inputs[0].dataset, c->inputs[0].policy, &p, err);
	if (rc)
		return rc;
	vecs = sr_calloc(p.ncols, sizeof(*vecs));
	hiers = sr_calloc(p.ncols, sizeof(*hiers));
	acols = sr_calloc(p.ncols, sizeof(*acols));
	if (!vecs || !hiers || !acols) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	rc = read_input(c, &p, vecs, err);
	if (rc == SR_OK)
		rc = mask_columns(c, &p, vecs, err);
	for (size_t i = 0; rc == SR_OK && i < p.ncols; i++) {
		acols[i].name = p.cols[i].pc->name;
		acols[i].role = p.cols[i].role;
		acols[i].values = &vecs[i];
		acols[i].model = p.cols[i].model;
		if (p.cols[i].role == SR_ANON_QI) {
			rc = sr_policy_hierarchy(p.cols[i].pc, vecs[i].type, &hiers[i], err);
			if (rc == SR_OK && !hiers[i])
				rc = sr_fail(err, SR_EPOLICY, "%s: qi column %s has no hierarchy",
					     c->inputs[0].dataset, p.cols[i].pc->name);
			acols[i].hier = hiers[i];
		}
	}
	if (rc == SR_OK) {
		sr_kind_progress(c, "searching the generalization lattice", 0, 0);
		rc = sr_anon_run(acols, p.ncols, &p.params, &rel, err);
		if (rc == SR_EPOLICY)
			sr_err_prefix(err, "anonymize: %s (rows after the row filter: %zu)",
				      c->inputs[0].dataset, vecs[0].rows);
	}
	if (rc == SR_OK)
		rc = envelope_of(c, &p, &rel, out, err);
out:
	for (size_t i = 0; vecs && i < p.ncols; i++)
		sr_vec_release(&vecs[i]);
	for (size_t i = 0; hiers && i < p.ncols; i++)
		sr_anon_hier_free(hiers[i]);
	sr_free(vecs);
	sr_free(hiers);
	sr_free(acols);
	sr_anon_release_release(&rel);
	plan_release(&p);
	return rc;
}

/* ---- run ------------------------------------------------------------------------ */

/* The envelope as JSON text in parts: a header {"bytes": n}, then the
 * text in parts of at most SR_ANON_PART_BYTES. */
static int send_release(const struct sr_kind_ctx *c, const json_t *env,
			struct sr_err *err)
{
	struct sr_buf text, head;
	struct sr_pipe pipe;
	int rc;

	sr_buf_init(&text, SR_BUF_UNBOUNDED);
	sr_buf_init(&head, 64);
	rc = sr_json_dump(env, 0, &text);
	if (rc == SR_OK && sr_buf_addf(&head, "{\"bytes\":%zu}", text.len))
		rc = SR_ENOMEM;
	if (rc)
		rc = sr_fail(err, rc, "anonymize: out of memory");
	if (rc == SR_OK)
		rc = sr_kind_pipe(c, c->receivers[0], ANON_CHANNEL, &pipe, err);
	if (rc == SR_OK) {
		sr_kind_progress(c, "sending the release", 0, text.len);
		rc = pipe.send(pipe.ctx, (const uint8_t *)head.data, head.len, err);
	}
	for (size_t off = 0; rc == SR_OK && off < text.len; off += SR_ANON_PART_BYTES) {
		size_t n = text.len - off < SR_ANON_PART_BYTES ? text.len - off :
			   SR_ANON_PART_BYTES;

		rc = pipe.send(pipe.ctx, (const uint8_t *)text.data + off, n, err);
	}
	sr_buf_release(&text);
	sr_buf_release(&head);
	return rc;
}

static int recv_release(const struct sr_kind_ctx *c, json_t **out, struct sr_err *err)
{
	const char *owner = c->inputs[0].owner;
	struct sr_buf msg, text;
	struct sr_pipe pipe;
	json_t *head = NULL;
	int64_t bytes = -1;
	int rc;

	sr_buf_init(&msg, SR_ANON_PART_BYTES);
	sr_buf_init(&text, SR_ANON_RELEASE_BYTES_MAX);
	rc = sr_kind_pipe(c, owner, ANON_CHANNEL, &pipe, err);
	if (rc == SR_OK)
		rc = pipe.recv(pipe.ctx, &msg, 64, err);
	if (rc == SR_OK)
		rc = sr_json_parse(msg.data, msg.len, "anonymize: release header", &head, err);
	if (rc == SR_OK)
		rc = sr_json_get_int(head, "anonymize: release header", "bytes", 1, &bytes, err);
	if (rc == SR_OK && (bytes < 2 || (uint64_t)bytes > SR_ANON_RELEASE_BYTES_MAX))
		rc = sr_fail(err, SR_EPROTO, "anonymize: %s announced a release of %lld bytes",
			     owner, (long long)bytes);
	while (rc == SR_OK && text.len < (size_t)bytes) {
		rc = pipe.recv(pipe.ctx, &msg, SR_ANON_PART_BYTES, err);
		if (rc == SR_OK && msg.len > (size_t)bytes - text.len)
			rc = sr_fail(err, SR_EPROTO, "anonymize: %s sent more than it announced",
				     owner);
		if (rc == SR_OK && sr_buf_add(&text, msg.data, msg.len))
			rc = sr_fail(err, SR_ENOMEM, "anonymize: out of memory");
		if (rc == SR_OK)
			sr_kind_progress(c, "receiving the release", text.len, (uint64_t)bytes);
	}
	if (rc == SR_OK)
		rc = sr_json_parse(text.data, text.len, "anonymize: release", out, err);
	if (rc == SR_OK && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = sr_fail(err, SR_EPROTO, "anonymize: %s sent a release that is not an envelope",
			     owner);
	}
	json_decref(head);
	sr_buf_release(&msg);
	sr_buf_release(&text);
	return rc;
}

static int anon_run(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	json_t *env = NULL;
	int rc = SR_OK;

	*result = NULL;
	if (c->inputs[0].local) {
		rc = release_table(c, &env, err);
		if (rc == SR_OK && c->receiver) {
			*result = env;
			return SR_OK;
		}
		if (rc == SR_OK)
			rc = send_release(c, env, err);
		json_decref(env);
		return rc;
	}
	if (c->receiver)
		rc = recv_release(c, result, err);
	return rc;
}

static int anon_run_central(const struct sr_kind_ctx *c, json_t **result,
			    struct sr_err *err)
{
	return release_table(c, result, err);
}

/* ---- release: the models checked again on the rows received ---------------------- */

/* Text of a JSON scalar of the result, for a vector of type. */
static int append_json(struct sr_vec *vec, const json_t *v, struct sr_buf *scratch)
{
	sr_buf_reset(scratch);
	if (json_is_null(v))
		return sr_vec_append_null(vec);
	if (json_is_string(v))
		return sr_vec_append_text(vec, json_string_value(v), json_string_length(v));
	if (json_is_integer(v) && sr_value_format_int64(scratch, (int64_t)json_integer_value(v)))
		return SR_ENOMEM;
	if (json_is_real(v) && sr_value_format_float64(scratch, json_real_value(v)))
		return SR_ENOMEM;
	if (json_is_boolean(v) && sr_value_format_bool(scratch, json_is_true(v)))
		return SR_ENOMEM;
	if (!scratch->len)
		return SR_EINVAL;
	return sr_vec_append_text(vec, scratch->data, scratch->len);
}

/*
 * Full-domain: every released QI value is a label of the level the report
 * gives for its column (NULL below the top), so that the classes checked
 * are the hierarchy's and no raw value passes as one.
 */
static int check_labels(const struct plan *p, const json_t *result, size_t i,
			struct sr_err *err)
{
	const struct sr_policy_column *pc = p->cols[i].pc;
	const json_t *levels = json_object_get(json_object_get(json_object_get(result, "meta"),
							       "report"), "levels");
	const json_t *lv = json_object_get(levels, pc->name), *row;
	struct sr_anon_hier *h = NULL;
	json_t *seen = json_object();
	size_t r;
	int rc = seen ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");

	if (rc == SR_OK)
		rc = sr_policy_hierarchy(pc, pc->type, &h, err);
	if (rc == SR_OK && (!h || !json_is_integer(lv) || json_integer_value(lv) < 0 ||
			    (size_t)json_integer_value(lv) >= sr_anon_hier_levels(h)))
		rc = sr_fail(err, SR_EPOLICY, "the report gives no level of %s's hierarchy for it",
			     pc->name);
	json_array_foreach(json_object_get(result, "rows"), r, row) {
		const json_t *v = json_array_get(row, i);
		size_t level = (size_t)json_integer_value(lv);
		int ok = 0;

		if (rc)
			break;
		if (json_is_null(v)) {
			ok = level + 1 < sr_anon_hier_levels(h);
		} else if (json_is_string(v)) {
			if (json_object_get(seen, json_string_value(v)))
				continue;
			rc = sr_anon_hier_is_label(h, level, json_string_value(v),
						   json_string_length(v), &ok, err);
			if (rc == SR_OK && ok && json_object_set_new(seen, json_string_value(v),
								     json_true()))
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
		}
		if (rc == SR_OK && !ok)
			rc = sr_fail(err, SR_EPOLICY,
				     "row %zu: %s: %s is not a label of level %zu of its hierarchy",
				     r, pc->name, json_is_string(v) ? json_string_value(v) : "a non-label",
				     level);
	}
	json_decref(seen);
	sr_anon_hier_free(h);
	return rc;
}

static int verify_release(const struct plan *p, const json_t *result, struct sr_err *err)
{
	const json_t *columns = json_object_get(result, "columns");
	const json_t *rows = json_object_get(result, "rows"), *row;
	const json_t *report = json_object_get(json_object_get(result, "meta"), "report");
	struct sr_anon_column *acols = NULL;
	struct sr_vec *vecs = NULL;
	struct sr_buf scratch;
	size_t r;
	json_int_t rows_in = json_integer_value(json_object_get(report, "rows_in"));
	int rc = SR_OK;

	if (json_array_size(columns) != p->ncols)
		return sr_fail(err, SR_EPOLICY, "the release has %zu columns, the spec %zu",
			       json_array_size(columns), p->ncols);
	for (size_t i = 0; i < p->ncols; i++)
		if (!json_is_string(json_array_get(columns, i)) ||
		    strcmp(json_string_value(json_array_get(columns, i)), p->cols[i].pc->name))
			return sr_fail(err, SR_EPOLICY, "column %zu of the release is not %s",
				       i, p->cols[i].pc->name);
	if (!json_is_integer(json_object_get(report, "rows_in")) || rows_in < 0 ||
	    (uint64_t)rows_in > SR_ANON_ROWS_MAX)
		return sr_fail(err, SR_EPOLICY, "the release's report lacks rows_in");
	vecs = sr_calloc(p->ncols, sizeof(*vecs));
	acols = sr_calloc(p->ncols, sizeof(*acols));
	if (!vecs || !acols) {
		sr_free(vecs);
		sr_free(acols);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	sr_buf_init(&scratch, SR_BUF_UNBOUNDED);
	for (size_t i = 0; i < p->ncols; i++) {
		/* QIs as released labels, masked columns as the strings
		 * their mask makes, others in their type. */
		sr_vec_init(&vecs[i], p->cols[i].role == SR_ANON_QI ||
			    p->cols[i].pc->mask != SR_MASK_NONE ? SR_TYPE_STRING :
			    p->cols[i].pc->type);
		acols[i].name = p->cols[i].pc->name;
		acols[i].role = p->cols[i].role;
		acols[i].values = &vecs[i];
		acols[i].model = p->cols[i].model;
	}
	json_array_foreach(rows, r, row) {
		if (json_array_size(row) != p->ncols) {
			rc = sr_fail(err, SR_EPOLICY, "row %zu of the release has %zu values, expected %zu",
				     r, json_array_size(row), p->ncols);
			break;
		}
		for (size_t i = 0; rc == SR_OK && i < p->ncols; i++) {
			/* Kept columns are not judged: no need to read them. */
			if (p->cols[i].role == SR_ANON_KEEP) {
				rc = sr_vec_append_null(&vecs[i]) ? SR_ENOMEM : SR_OK;
				continue;
			}
			rc = append_json(&vecs[i], json_array_get(row, i), &scratch);
			if (rc && rc != SR_ENOMEM)
				rc = sr_fail(err, SR_EPOLICY, "row %zu: %s: not a %s value", r,
					     p->cols[i].pc->name, sr_type_name(vecs[i].type));
		}
		if (rc)
			break;
	}
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "out of memory");
	/* Mondrian labels are ranges per class: its classes are checked,
	 * not its labels. */
	for (size_t i = 0; rc == SR_OK && p->params.algorithm == SR_ANON_FULL_DOMAIN &&
	     i < p->ncols; i++)
		if (p->cols[i].role == SR_ANON_QI)
			rc = check_labels(p, result, i, err);
	if (rc == SR_OK)
		rc = sr_anon_verify(acols, p->ncols, &p->params, (uint64_t)rows_in,
				    json_object_get(report, "sa_input"), err);
	sr_buf_release(&scratch);
	for (size_t i = 0; i < p->ncols; i++)
		sr_vec_release(&vecs[i]);
	sr_free(vecs);
	sr_free(acols);
	return rc;
}

static int anon_release(const struct sr_kind_ctx *c, json_t *result, struct sr_err *err)
{
	struct plan p;
	int rc;

	rc = parse_plan(c->spec, c->inputs[0].dataset, c->inputs[0].policy, &p, err);
	if (rc)
		return rc;
	rc = verify_release(&p, result, err);
	plan_release(&p);
	if (rc == SR_ENOMEM)
		return rc;
	if (rc) {
		sr_err_prefix(err, "anonymize: %s: the release fails its models, not kept",
			      c->inputs[0].dataset);
		return SR_EPOLICY;
	}
	return SR_OK;
}

static const char *const anon_spec_keys[] = { "k", "max_suppression", "sa", "metric",
					      "algorithm", "columns", NULL };
static const char *const anon_input_keys[] = { NULL };

const struct sr_job_kind sr_kind_anonymize = {
	.name = "anonymize",
	.policy_bit = SR_JOB_ANONYMIZE,
	.flags = SR_KIND_ROW_FILTER,
	.summary = "release a k-anonymous, l-diverse, t-close copy of a dataset to one receiver",
	.spec_keys = anon_spec_keys,
	.input_keys = anon_input_keys,
	.check = anon_check,
	.run = anon_run,
	.run_central = anon_run_central,
	.release = anon_release,
};
