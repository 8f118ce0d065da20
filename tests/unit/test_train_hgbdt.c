/*
 * test_train_hgbdt.c - the `train` kind's horizontal GBDT
 * (docs/protocols/train.md, "Horizontal GBDT") with the kind harness
 * (kindtest.h): every clinic's run in a thread over in-memory pipes,
 * against run_central on the pooled rows.  Oracle: the federated result
 * at every receiver equals run_central's (every tree node, the
 * evaluation, the row counts), on breast-cancer rows split over 2 and 3
 * clinics and on generated rows with NULL features; a clinic with zero
 * rows; early stopping; a bad label failing every party with nothing
 * released; the checker's view of the spec; the plots.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kindtest.h"
#include "kinds/train/train.h"
#include "policy/checker.h"

#define NFEAT 5
#define NCOLS (NFEAT + 1)
#define MAXC 3

static const char *const col_names[NCOLS] = { "f0", "f1", "f2", "f3", "f4", "y" };
static const enum sr_type col_types[NCOLS] = { SR_TYPE_FLOAT64, SR_TYPE_FLOAT64,
	SR_TYPE_FLOAT64, SR_TYPE_FLOAT64, SR_TYPE_FLOAT64, SR_TYPE_INT64 };
static const char *const orgs[MAXC] = {
	"org_00000000000000000000000000000001", "org_00000000000000000000000000000002",
	"org_00000000000000000000000000000003",
};
static const char *const names[MAXC] = { "clinic0.cases", "clinic1.cases", "clinic2.cases" };
/* Breast-cancer columns: mean radius, texture, concave points, worst
 * radius, worst concave points; and their public bounds. */
static const size_t bc_col[NFEAT] = { 0, 1, 7, 20, 27 };
static const double bc_lo[NFEAT] = { 5, 5, 0, 5, 0 }, bc_hi[NFEAT] = { 30, 40, 0.25, 40, 0.3 };
static const double gen_lo[NFEAT] = { -3, -3, -3, -3, -3 }, gen_hi[NFEAT] = { 3, 3, 3, 3, 3 };

struct clinic {
	struct sr_vec cols[NCOLS];
};

static void put(struct sr_vec *v, double x)
{
	assert_int_equal(sr_vec_reserve(v, 1), SR_OK);
	if (isnan(x)) {
		v->nulls[v->rows / 8] |= (uint8_t)(1u << (v->rows % 8));
		v->rows++;
		return;
	}
	if (v->type == SR_TYPE_INT64)
		v->v.i64[v->rows++] = (int64_t)x;
	else
		v->v.f64[v->rows++] = x;
}

static void clinics_init(struct clinic *cl, size_t n)
{
	for (size_t p = 0; p < n; p++)
		for (size_t c = 0; c < NCOLS; c++)
			sr_vec_init(&cl[p].cols[c], col_types[c]);
}

static void clinics_free(struct clinic *cl, size_t n)
{
	for (size_t p = 0; p < n; p++)
		for (size_t c = 0; c < NCOLS; c++)
			sr_vec_release(&cl[p].cols[c]);
}

/* Breast-cancer row r to clinic (r * 7) % 10 < 4 ? 0 : ... (uneven). */
static void bc_clinics(struct clinic *cl, size_t n)
{
	double *x, *y;

	sr_test_breast_cancer(&x, &y);
	clinics_init(cl, n);
	for (size_t r = 0; r < SR_TEST_BC_ROWS; r++) {
		size_t k = n == 2 ? (r % 10 < 6 ? 0 : 1) : (r % 10 < 3 ? 0 : r % 10 < 8 ? 1 : 2);
		for (size_t c = 0; c < NFEAT; c++)
			put(&cl[k].cols[c], x[bc_col[c] * SR_TEST_BC_ROWS + r]);
		put(&cl[k].cols[NFEAT], y[r] == 0);   /* sklearn: 0 = malignant */
	}
	free(x);
	free(y);
}

/* Generated rows, about one feature cell in eight NULL; the label
 * depends on f0, f1 and on f0 being NULL. */
static void gen_clinics(struct clinic *cl, size_t n, size_t rows, uint64_t seed)
{
	uint64_t s = seed;

	clinics_init(cl, n);
	for (size_t r = 0; r < rows; r++) {
		struct clinic *k = &cl[r % n];
		double v[NFEAT], z;
		for (size_t c = 0; c < NFEAT; c++) {
			v[c] = (double)(sr_test_rand(&s) % 6000) / 1000.0 - 3;
			if (sr_test_rand(&s) % 8 == 0)
				v[c] = NAN;
			put(&k->cols[c], v[c]);
		}
		z = (isnan(v[0]) ? 1.2 : v[0]) - 0.7 * (isnan(v[1]) ? 0 : v[1]) +
			(double)(sr_test_rand(&s) % 1000) / 500.0 - 1;
		put(&k->cols[NFEAT], z > 0.2);
	}
}

static struct sr_policy *policy(const double *lo, const double *hi)
{
	char text[4096], cols[2048] = "";
	size_t len = 0;

	for (size_t c = 0; c < NFEAT; c++)
		len += (size_t)snprintf(cols + len, sizeof(cols) - len,
					"\"%s\": {\"class\": \"sa\", \"bounds\": [%.17g, %.17g]},",
					col_names[c], lo[c], hi[c]);
	snprintf(text, sizeof(text),
		 "{\"columns\": {%s \"y\": {\"class\": \"sa\", \"domain\": [0, 1]}},"
		 " \"receivers\": [\"%s\", \"%s\", \"%s\"]}",
		 cols, orgs[0], orgs[1], orgs[2]);
	return kt_policy(text, col_names, col_types, NCOLS);
}

static json_t *spec(size_t n, const char *extra)
{
	char text[2048], inputs[512] = "";
	size_t len = 0;
	json_error_t je;
	json_t *s;

	for (size_t p = 0; p < n; p++)
		len += (size_t)snprintf(inputs + len, sizeof(inputs) - len, "%s{\"dataset\": \"%s\"}",
					p ? "," : "", names[p]);
	snprintf(text, sizeof(text),
		 "{\"kind\": \"train\", \"mode\": \"horizontal\", \"model\": \"gbdt\","
		 " \"features\": [\"f0\", \"f1\", \"f2\", \"f3\", \"f4\"], \"label\": \"y\","
		 " \"trees\": 8, \"depth\": 4, \"learning_rate\": \"0.3\", \"bins\": 16,"
		 " \"subsample\": \"0.8\", \"seed\": 3, \"test_ratio\": \"0.25\","
		 " \"inputs\": [%s], \"receivers\": [\"%s\", \"%s\"]%s}",
		 inputs, orgs[0], orgs[1], extra ? extra : "");
	if (!(s = json_loads(text, 0, &je)))
		fail_msg("spec: %s", je.text);
	return s;
}

static void setup(struct kt_job *job, const json_t *s, struct clinic *cl,
		  struct sr_policy **pol, size_t n)
{
	memset(job, 0, sizeof(*job));
	job->spec = s;
	job->ninputs = n;
	for (size_t p = 0; p < n; p++) {
		job->inputs[p].dataset = names[p];
		job->inputs[p].owner = orgs[p];
		job->inputs[p].table = (struct sr_table){ names[p], NCOLS, col_names, cl[p].cols,
							  cl[p].cols[0].rows };
		job->inputs[p].policy = pol[p];
	}
}

static void check_accepted(const json_t *s, struct sr_policy **pol, size_t n)
{
	struct sr_check_dataset ds[MAXC];
	struct sr_verdict v;
	struct sr_err err = { 0 };

	for (size_t p = 0; p < n; p++)
		ds[p] = (struct sr_check_dataset){ names[p], orgs[p], pol[p], 200 };
	sr_verdict_init(&v);
	if (sr_check_job(s, ds, n, 0, &v, &err) != SR_OK)
		fail_msg("check: %s", err.msg);
	for (size_t i = 0; i < v.count; i++)
		print_message("  %s: %s\n", v.violations[i].rule, v.violations[i].message);
	assert_true(v.accept);
	sr_verdict_release(&v);
}

static const char *const same_keys[] = { "evaluation", "train_rows", "test_rows", "trees",
					 "best_trees", "importance", "base_margin", NULL };

/* Federated == central at every receiver; returns the node count. */
static size_t run_and_compare(struct kt_job *job, const char *what)
{
	struct kt_outcome o;
	size_t nodes, splits = 0;
	const json_t *meta, *rows, *row;
	size_t i;

	kt_run(job, &o);
	if (o.federated_rc)
		fail_msg("%s: federated: %s | %s | %s", what, o.federated_msg[0], o.federated_msg[1],
			 o.federated_msg[2]);
	assert_int_equal(o.nreceivers, 2);
	for (size_t r = 0; r < o.nreceivers; r++) {
		assert_int_equal(o.central_rc[r], SR_OK);
		assert_true(kt_same_result(o.federated[r], o.central[r], same_keys));
		assert_true(kt_same_result(o.federated[r], o.federated[0], same_keys));
	}
	meta = json_object_get(o.federated[0], "meta");
	rows = json_object_get(o.federated[0], "rows");
	nodes = json_array_size(rows);
	json_array_foreach(rows, i, row)
		splits += json_is_string(json_array_get(row, 2));
	assert_string_equal(json_string_value(json_object_get(meta, "model")), "gbdt");
	assert_true(splits > (size_t)json_integer_value(json_object_get(meta, "trees")));
	assert_non_null(json_object_get(meta, "train_secagg"));
	print_message("%s: %lld trees (best %lld), %zu nodes, AUC %.4f\n", what,
		      json_integer_value(json_object_get(meta, "trees")),
		      json_integer_value(json_object_get(meta, "best_trees")), nodes,
		      json_number_value(json_object_get(json_object_get(meta, "evaluation"), "auc")));
	assert_true(json_number_value(json_object_get(json_object_get(meta, "evaluation"), "auc")) > 0.85);
	kt_outcome_release(&o);
	return nodes;
}

static void test_breast_cancer_clinics(void **state)
{
	(void)state;
	for (size_t n = 2; n <= 3; n++) {
		struct clinic cl[MAXC];
		struct sr_policy *pol[MAXC];
		struct kt_job job;
		json_t *s = spec(n, n == 3 ? ", \"early_stopping_rounds\": 2, \"trees\": 30" : NULL);
		char what[64];

		bc_clinics(cl, n);
		for (size_t p = 0; p < n; p++)
			pol[p] = policy(bc_lo, bc_hi);
		check_accepted(s, pol, n);
		setup(&job, s, cl, pol, n);
		snprintf(what, sizeof(what), "breast cancer, %zu clinics", n);
		run_and_compare(&job, what);
		json_decref(s);
		for (size_t p = 0; p < n; p++)
			kt_policy_free(pol[p]);
		clinics_free(cl, n);
	}
}

static void test_nulls_zero_rows_bad_label(void **state)
{
	struct clinic cl[MAXC];
	struct sr_policy *pol[MAXC];
	struct kt_job job;
	struct kt_outcome o;
	json_t *s = spec(3, ", \"loss\": \"logistic\", \"depth\": 5");

	(void)state;
	gen_clinics(cl, 3, 2400, 17);
	for (size_t p = 0; p < 3; p++)
		pol[p] = policy(gen_lo, gen_hi);
	check_accepted(s, pol, 3);
	setup(&job, s, cl, pol, 3);
	run_and_compare(&job, "generated with NULL features, 3 clinics");
	/* A clinic with zero rows takes part with nothing. */
	for (size_t c = 0; c < NCOLS; c++)
		cl[1].cols[c].rows = 0;
	job.inputs[1].table.rows = 0;
	run_and_compare(&job, "generated, clinic 1 with zero rows");
	/* A label 2 at clinic 2: every party fails, nothing released. */
	cl[2].cols[NFEAT].v.i64[4] = 2;
	kt_run(&job, &o);
	assert_int_not_equal(o.federated_rc, SR_OK);
	for (size_t r = 0; r < o.nreceivers; r++)
		assert_null(o.federated[r]);
	assert_non_null(strstr(o.federated_msg[2], "clinic2.cases row 4: label y is another value"));
	assert_int_not_equal(o.central_rc[0], SR_OK);
	kt_outcome_release(&o);
	json_decref(s);
	for (size_t p = 0; p < 3; p++)
		kt_policy_free(pol[p]);
	clinics_free(cl, 3);
}

static void test_spec_and_plots(void **state)
{
	struct clinic cl[2];
	struct sr_policy *pol[2];
	struct sr_check_dataset ds[2];
	struct sr_verdict v;
	struct kt_job job;
	struct kt_outcome o;
	struct sr_buf svg;
	struct sr_err err = { 0 };
	json_t *s;
	static const char *const which[] = { "roc", "lift", "gains", "importance" };

	(void)state;
	bc_clinics(cl, 2);
	pol[0] = policy(bc_lo, bc_hi);
	pol[1] = policy(bc_lo, bc_hi);
	/* Horizontal parties hold every feature: no active-party option. */
	s = spec(2, ", \"first_tree_active_only\": true");
	ds[0] = (struct sr_check_dataset){ names[0], orgs[0], pol[0], 200 };
	ds[1] = (struct sr_check_dataset){ names[1], orgs[1], pol[1], 200 };
	sr_verdict_init(&v);
	assert_int_equal(sr_check_job(s, ds, 2, 0, &v, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "first_tree_active_only"));
	sr_verdict_release(&v);
	json_decref(s);
	s = spec(2, ", \"trees\": 0");
	sr_verdict_init(&v);
	sr_err_clear(&err);
	assert_int_equal(sr_check_job(s, ds, 2, 0, &v, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "spec.trees"));
	sr_verdict_release(&v);
	json_decref(s);

	s = spec(2, NULL);
	setup(&job, s, cl, pol, 2);
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_OK);
	sr_buf_init(&svg, SR_BUF_UNBOUNDED);
	for (size_t i = 0; i < 4; i++) {
		sr_buf_reset(&svg);
		sr_err_clear(&err);
		if (train_plot(o.federated[0], which[i], &svg, &err) != SR_OK)
			fail_msg("plot %s: %s", which[i], err.msg);
		assert_non_null(strstr(svg.data, "<svg"));
		assert_non_null(strstr(svg.data, i == 3 ? "<rect" : "<polyline"));
	}
	assert_non_null(strstr(svg.data, "split gain"));
	sr_buf_release(&svg);
	kt_outcome_release(&o);
	json_decref(s);
	kt_policy_free(pol[0]);
	kt_policy_free(pol[1]);
	clinics_free(cl, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breast_cancer_clinics),
		cmocka_unit_test(test_nulls_zero_rows_bad_label),
		cmocka_unit_test(test_spec_and_plots),
	};

	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
