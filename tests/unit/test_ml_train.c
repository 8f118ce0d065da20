/*
 * test_ml_train.c - the `train` kind in horizontal mode
 * (docs/protocols/train.md) with the kind harness (kindtest.h): every
 * party's run in a thread over in-memory pipes, against run_central on
 * the pooled rows.  Oracles: federated weights equal the central ones bit
 * for bit (fixed-point sums are integers), and are within the stated
 * fixed-point bound of our double trainer on the same rows and schedule;
 * the evaluation equals the exact one computed here.  Also the checker
 * rules, bad labels and features, a failing party, and the plots.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kindtest.h"
#include "kinds/train/train.h"
#include "ml/ml.h"
#include "policy/checker.h"

#define NFEAT 6
#define NCOLS (NFEAT + 1)
#define MAXP 3

/* Breast-cancer columns used: mean radius, texture, concave points,
 * worst radius, worst smoothness, worst concave points. */
static const size_t source_col[NFEAT] = { 0, 1, 7, 20, 24, 27 };
static const char *const col_names[NCOLS] = { "radius", "texture", "concave", "wradius",
					      "wsmooth", "wconcave", "malignant" };
static const enum sr_type col_types[NCOLS] = { SR_TYPE_FLOAT64, SR_TYPE_FLOAT64,
	SR_TYPE_FLOAT64, SR_TYPE_FLOAT64, SR_TYPE_FLOAT64, SR_TYPE_FLOAT64, SR_TYPE_INT64 };
static const char *const orgs[MAXP] = {
	"org_00000000000000000000000000000001", "org_00000000000000000000000000000002",
	"org_00000000000000000000000000000003",
};
static const char *const names[MAXP] = { "clinic0.cases", "clinic1.cases", "clinic2.cases" };
/* Public bounds of each feature (wider than the data). */
static const double lo[NFEAT] = { 5, 5, 0, 5, 0.05, 0 };
static const double hi[NFEAT] = { 30, 40, 0.25, 40, 0.25, 0.3 };

struct clinic {
	struct sr_vec cols[NCOLS];
};

static size_t nrows_all;
static double data_x[600][NFEAT];
static int data_y[600];

static void load_data(void)
{
	FILE *f = fopen("/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv", "r");
	char line[4096];

	if (!f) {
		print_message("skipped: the sklearn breast-cancer CSV is missing\n");
		skip();
	}
	nrows_all = 0;
	assert_non_null(fgets(line, sizeof(line), f));
	while (nrows_all < 600 && fgets(line, sizeof(line), f)) {
		double v[31];
		char *p = line, *end;
		for (size_t c = 0; c < 31; c++) {
			v[c] = strtod(p, &end);
			p = end + (*end == ',');
		}
		for (size_t k = 0; k < NFEAT; k++)
			data_x[nrows_all][k] = v[source_col[k]];
		/* sklearn's target is 0 = malignant. */
		data_y[nrows_all++] = v[30] == 0;
	}
	fclose(f);
	assert_int_equal(nrows_all, 569);
}

static void put(struct sr_vec *v, double x)
{
	assert_int_equal(sr_vec_reserve(v, 1), SR_OK);
	if (v->type == SR_TYPE_INT64)
		v->v.i64[v->rows++] = (int64_t)x;
	else
		v->v.f64[v->rows++] = x;
}

/* Row r goes to clinic r % n. */
static void make_clinics(struct clinic *cl, size_t n)
{
	for (size_t p = 0; p < n; p++)
		for (size_t c = 0; c < NCOLS; c++)
			sr_vec_init(&cl[p].cols[c], col_types[c]);
	for (size_t r = 0; r < nrows_all; r++) {
		struct clinic *k = &cl[r % n];
		for (size_t c = 0; c < NFEAT; c++)
			put(&k->cols[c], data_x[r][c]);
		put(&k->cols[NFEAT], data_y[r]);
	}
}

static void free_clinics(struct clinic *cl, size_t n)
{
	for (size_t p = 0; p < n; p++)
		for (size_t c = 0; c < NCOLS; c++)
			sr_vec_release(&cl[p].cols[c]);
}

/* extra_col: JSON for the label column; extra: more policy keys. */
static struct sr_policy *policy(const char *label_col, const char *extra, int bounded)
{
	char text[4096], cols[2048] = "";
	size_t len = 0;

	for (size_t c = 0; c < NFEAT; c++) {
		if (bounded)
			len += (size_t)snprintf(cols + len, sizeof(cols) - len,
						"\"%s\": {\"class\": \"sa\", \"bounds\": [%.17g, %.17g]},",
						col_names[c], lo[c], hi[c]);
		else
			len += (size_t)snprintf(cols + len, sizeof(cols) - len,
						"\"%s\": {\"class\": \"sa\"},", col_names[c]);
	}
	snprintf(text, sizeof(text),
		 "{\"columns\": {%s \"malignant\": %s}, \"receivers\": [\"%s\", \"%s\", \"%s\"]%s}",
		 cols, label_col ? label_col : "{\"class\": \"sa\", \"domain\": [0, 1]}",
		 orgs[0], orgs[1], orgs[2], extra ? extra : "");
	return kt_policy(text, col_names, col_types, NCOLS);
}

static json_t *spec(size_t n, const char *extra)
{
	char text[2048], inputs[512] = "";
	size_t len = 0;
	json_t *s;
	json_error_t je;

	for (size_t p = 0; p < n; p++)
		len += (size_t)snprintf(inputs + len, sizeof(inputs) - len, "%s{\"dataset\": \"%s\"}",
					p ? "," : "", names[p]);
	snprintf(text, sizeof(text),
		 "{\"kind\": \"train\", \"mode\": \"horizontal\", \"model\": \"lr\","
		 " \"features\": [\"radius\", \"texture\", \"concave\", \"wradius\", \"wsmooth\", \"wconcave\"],"
		 " \"label\": \"malignant\", \"rounds\": 30, \"learning_rate\": \"1\", \"l2\": \"0.001\","
		 " \"test_ratio\": \"0.25\", \"frac_bits\": 32,"
		 " \"inputs\": [%s], \"receivers\": [\"%s\"%s]%s}",
		 inputs, orgs[0], n > 1 ? ", \"org_00000000000000000000000000000002\"" : "",
		 extra ? extra : "");
	s = json_loads(text, 0, &je);
	if (!s)
		fail_msg("spec: %s", je.text);
	return s;
}

static struct sr_verdict verdict_of(const json_t *s, struct sr_policy **pol, size_t n)
{
	struct sr_check_dataset ds[MAXP];
	struct sr_verdict v;
	struct sr_err err = { 0 };

	for (size_t p = 0; p < n; p++)
		ds[p] = (struct sr_check_dataset){ names[p], orgs[p], pol[p], 200 };
	sr_verdict_init(&v);
	if (sr_check_job(s, ds, n, 0, &v, &err) != SR_OK)
		fail_msg("check: %s", err.msg);
	return v;
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

/* The double trainer on the same pooled rows: each clinic's rows split by
 * the kind's stratified rule, scaled by the public bounds. */
static void double_reference(size_t n, unsigned rounds, double rate, double l2,
			     double ratio, struct sr_ml_lr *m, double *auc_out)
{
	static double xtr[NFEAT][600], xte[NFEAT][600];
	static double ytr[600], yte[600];
	double cm_tr[NFEAT * 600], cm_te[NFEAT * 600], pred[600];
	size_t ntr = 0, nte = 0;
	struct sr_ml_lr_params p;
	struct sr_ml_data d, dt;
	struct sr_ml_eval ev;
	struct sr_err err = { 0 };

	for (size_t k = 0; k < n; k++) {
		uint64_t seen[2] = { 0, 0 };
		for (size_t r = k; r < nrows_all; r += n) {
			int cls = data_y[r];
			int to_test = floor((double)(seen[cls] + 1) * ratio) >
				      floor((double)seen[cls] * ratio);
			size_t at = to_test ? nte++ : ntr++;
			for (size_t c = 0; c < NFEAT; c++) {
				double v = fmin(fmax(data_x[r][c], lo[c]), hi[c]);
				(to_test ? xte : xtr)[c][at] = (v - lo[c]) / (hi[c] - lo[c]);
			}
			(to_test ? yte : ytr)[at] = cls;
			seen[cls]++;
		}
	}
	for (size_t c = 0; c < NFEAT; c++) {
		memcpy(cm_tr + c * ntr, xtr[c], ntr * sizeof(double));
		memcpy(cm_te + c * nte, xte[c], nte * sizeof(double));
	}
	sr_ml_lr_params_init(&p);
	p.epochs = rounds;
	p.learning_rate = rate;
	p.l2 = l2;
	d = (struct sr_ml_data){ ntr, NFEAT, cm_tr, ytr };
	dt = (struct sr_ml_data){ nte, NFEAT, cm_te, yte };
	assert_int_equal(sr_ml_lr_train(&p, &d, NULL, m, &err), SR_OK);
	sr_ml_lr_predict(m, &dt, pred);
	assert_int_equal(sr_ml_eval_scores(yte, pred, nte, &ev, &err), SR_OK);
	*auc_out = ev.auc;
}

static void test_federated_equals_central(void **state)
{
	for (size_t n = 2; n <= 3; n++) {
		struct clinic cl[MAXP];
		struct sr_policy *pol[MAXP];
		struct kt_job job;
		struct kt_outcome o;
		struct sr_verdict v;
		struct sr_ml_lr ref;
		json_t *s, *rows, *meta;
		double bound, diff = 0, ref_auc, auc;
		const char *const keys[] = { "evaluation", "train_rows", "test_rows", NULL };

		load_data();
		make_clinics(cl, n);
		for (size_t p = 0; p < n; p++)
			pol[p] = policy(NULL, NULL, 1);
		s = spec(n, NULL);
		v = verdict_of(s, pol, n);
		for (size_t i = 0; i < v.count; i++)
			print_message("  %s: %s\n", v.violations[i].rule, v.violations[i].message);
		assert_true(v.accept);
		sr_verdict_release(&v);
		setup(&job, s, cl, pol, n);
		kt_run(&job, &o);
		if (o.federated_rc)
			fail_msg("federated: %s | %s", o.federated_msg[0], o.federated_msg[1]);
		assert_int_equal(o.central_rc[0], SR_OK);
		assert_int_equal(o.nreceivers, 2);
		for (size_t r = 0; r < o.nreceivers; r++) {
			/* Bit for bit: the same weights and the same evaluation. */
			assert_true(kt_same_result(o.federated[r], o.central[r], keys));
			assert_true(kt_same_result(o.federated[r], o.federated[0], keys));
		}
		rows = json_object_get(o.federated[0], "rows");
		meta = json_object_get(o.federated[0], "meta");
		assert_int_equal(json_array_size(rows), NFEAT + 1);
		double_reference(n, 30, 1.0, 0.001, 0.25, &ref, &ref_auc);
		for (size_t c = 0; c <= NFEAT; c++) {
			double w = json_number_value(json_array_get(json_array_get(rows, c), 1));
			diff = fmax(diff, fabs(w - (c < NFEAT ? ref.w[c] : ref.bias)));
		}
		bound = json_number_value(json_object_get(meta, "fixed_point_bound"));
		auc = json_number_value(json_object_get(json_object_get(meta, "evaluation"), "auc"));
		print_message("%zu parties: |w_fed - w_double| %.3g <= bound %.3g; AUC %.5f (double %.5f, exact)\n",
			      n, diff, bound, auc, ref_auc);
		assert_true(diff <= bound);
		assert_true(bound < 1e-6);
		/* The evaluation buckets scores by 1/1000: the AUC is the exact
		 * one up to ties inside a bucket. */
		assert_true(fabs(auc - ref_auc) < 0.002);
		assert_true(auc > 0.9);
		assert_int_equal(json_integer_value(json_object_get(meta, "train_rows")) +
				 json_integer_value(json_object_get(meta, "test_rows")), 569);
		sr_ml_lr_release(&ref);
		kt_outcome_release(&o);
		json_decref(s);
		for (size_t p = 0; p < n; p++)
			kt_policy_free(pol[p]);
		free_clinics(cl, n);
	}
}

static void test_bad_rows_fail_everywhere(void **state)
{
	struct clinic cl[MAXP];
	struct sr_policy *pol[MAXP];
	struct kt_job job;
	struct kt_outcome o;
	json_t *s;

	load_data();
	make_clinics(cl, 3);
	for (size_t p = 0; p < 3; p++)
		pol[p] = policy(NULL, NULL, 1);
	s = spec(3, NULL);
	setup(&job, s, cl, pol, 3);
	/* A third label value at clinic 2: the job fails at every party,
	 * nothing reaches a receiver. */
	cl[2].cols[NFEAT].v.i64[5] = 2;
	kt_run(&job, &o);
	assert_int_not_equal(o.federated_rc, SR_OK);
	for (size_t r = 0; r < o.nreceivers; r++)
		assert_null(o.federated[r]);
	assert_non_null(strstr(o.federated_msg[2], "clinic2.cases row 5: label malignant is another value, expected 0 or 1"));
	assert_int_not_equal(o.central_rc[0], SR_OK);
	kt_outcome_release(&o);
	cl[2].cols[NFEAT].v.i64[5] = 1;
	/* A NULL feature at clinic 1. */
	cl[1].cols[3].nulls[0] |= 1;
	kt_run(&job, &o);
	assert_int_not_equal(o.federated_rc, SR_OK);
	for (size_t r = 0; r < o.nreceivers; r++)
		assert_null(o.federated[r]);
	assert_non_null(strstr(o.federated_msg[1], "clinic1.cases row 0: feature wradius is missing"));
	kt_outcome_release(&o);
	cl[1].cols[3].nulls[0] &= (uint8_t)~1u;
	/* A clinic with zero rows takes part with nothing; the others train. */
	for (size_t c = 0; c < NCOLS; c++)
		cl[2].cols[c].rows = 0;
	job.inputs[2].table.rows = 0;
	kt_run(&job, &o);
	if (o.federated_rc)
		fail_msg("zero rows at one clinic: %s", o.federated_msg[0]);
	assert_true(kt_same_result(o.federated[0], o.central[0], NULL));
	kt_outcome_release(&o);
	/* min_group_size above the test rows: refused at release. */
	kt_policy_free(pol[0]);
	pol[0] = policy(NULL, ", \"min_group_size\": 200", 1);
	job.inputs[0].policy = pol[0];
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_EPOLICY);
	kt_outcome_release(&o);
	json_decref(s);
	for (size_t p = 0; p < 3; p++)
		kt_policy_free(pol[p]);
	free_clinics(cl, 3);
}

static void test_checker_rules(void **state)
{
	struct sr_policy *pol[2];
	struct sr_verdict v;
	struct sr_check_dataset ds[2];
	struct sr_err err = { 0 };
	json_t *s;

	/* No bounds on the features. */
	pol[0] = policy(NULL, NULL, 0);
	pol[1] = policy(NULL, NULL, 1);
	s = spec(2, NULL);
	v = verdict_of(s, pol, 2);
	assert_false(v.accept);
	assert_true(kt_has_rule(&v, "train-feature-unbounded"));
	sr_verdict_release(&v);
	kt_policy_free(pol[0]);
	/* A label that does not allow `label`, one with three values. */
	pol[0] = policy("{\"class\": \"sa\", \"allow\": [\"aggregate\"]}", NULL, 1);
	v = verdict_of(s, pol, 2);
	assert_true(kt_has_rule(&v, "usage-not-allowed"));
	sr_verdict_release(&v);
	kt_policy_free(pol[0]);
	pol[0] = policy("{\"class\": \"sa\", \"domain\": [0, 1, 2]}", NULL, 1);
	v = verdict_of(s, pol, 2);
	assert_true(kt_has_rule(&v, "train-label-not-binary"));
	sr_verdict_release(&v);
	kt_policy_free(pol[0]);
	/* train not among the jobs; a party the other input does not allow. */
	pol[0] = policy(NULL, ", \"jobs\": [\"query\"]", 1);
	v = verdict_of(s, pol, 2);
	assert_true(kt_has_rule(&v, "kind-not-allowed"));
	sr_verdict_release(&v);
	kt_policy_free(pol[0]);
	{
		char text[2048];
		snprintf(text, sizeof(text),
			 "{\"columns\": {\"radius\": {\"class\": \"sa\", \"bounds\": [5, 30]},"
			 " \"texture\": {\"class\": \"sa\", \"bounds\": [5, 40]}, \"concave\": {\"class\": \"sa\", \"bounds\": [0, 1]},"
			 " \"wradius\": {\"class\": \"sa\", \"bounds\": [5, 40]}, \"wsmooth\": {\"class\": \"sa\", \"bounds\": [0, 1]},"
			 " \"wconcave\": {\"class\": \"sa\", \"bounds\": [0, 1]}, \"malignant\": {\"class\": \"sa\"}},"
			 " \"receivers\": [\"%s\"]}", orgs[0]);
		pol[0] = kt_policy(text, col_names, col_types, NCOLS);
	}
	json_decref(s);
	s = spec(2, NULL);
	json_array_remove(json_object_get(s, "receivers"), 1);
	v = verdict_of(s, pol, 2);
	assert_true(kt_has_rule(&v, "train-party-not-receiver"));
	sr_verdict_release(&v);
	kt_policy_free(pol[0]);
	json_decref(s);
	/* Malformed specs: modes and models not available, bad numbers. */
	pol[0] = policy(NULL, NULL, 1);
	ds[0] = (struct sr_check_dataset){ names[0], orgs[0], pol[0], 200 };
	ds[1] = (struct sr_check_dataset){ names[1], orgs[1], pol[1], 200 };
	{
		static const char *const bad[][2] = {
			{ ", \"mode\": \"vertical\"", "spec.rounds: not a key of vertical lr" },
			{ ", \"test_ratio\": \"0.9\"", "spec.test_ratio" },
			{ ", \"rounds\": 0", "spec.rounds" },
			{ ", \"frac_bits\": 60", "spec.frac_bits" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			json_t *b;
			/* Duplicate keys: the later wins in jansson. */
			b = spec(2, bad[i][0]);
			sr_verdict_init(&v);
			sr_err_clear(&err);
			assert_int_equal(sr_check_job(b, ds, 2, 0, &v, &err), SR_EINVAL);
			if (!strstr(err.msg, bad[i][1]))
				fail_msg("%s: %s", bad[i][0], err.msg);
			sr_verdict_release(&v);
			json_decref(b);
		}
	}
	kt_policy_free(pol[0]);
	kt_policy_free(pol[1]);
}

/* The GBDT keys (train_spec_gbdt): defaults, every key, bad values. */
static void test_gbdt_spec(void **state)
{
	struct train_spec s;
	struct sr_err err = { 0 };
	json_t *j;

	(void)state;
	memset(&s, 0, sizeof(s));
	j = json_object();
	assert_int_equal(train_spec_gbdt(j, &s, &err), SR_OK);
	assert_int_equal(s.gbdt.loss, SR_ML_LOGISTIC);
	assert_int_equal(s.gbdt.trees, 50);
	assert_int_equal(s.gbdt.depth, 6);
	assert_true(s.gbdt.learning_rate == 0.3);
	assert_true(s.gbdt.tree.lambda == 1 && s.gbdt.tree.gamma == 0 &&
		    s.gbdt.tree.min_child_weight == 1);
	assert_true(s.gbdt.subsample == 1);
	assert_int_equal(s.gbdt.seed, 0);
	assert_int_equal(s.gbdt.max_bins, 32);
	assert_int_equal(s.gbdt.early_stopping_rounds, 0);
	assert_int_equal(s.gbdt.grad_frac_bits, TRAIN_GBDT_FRAC_BITS);
	assert_false(s.first_tree_active_only);
	json_decref(j);
	j = json_loads("{\"trees\": 7, \"depth\": 3, \"learning_rate\": \"0.1\", \"lambda\": 2,"
		       " \"gamma\": \"0.5\", \"min_child_weight\": \"0.25\", \"subsample\": \"0.8\","
		       " \"seed\": 9, \"bins\": 64, \"loss\": \"squared\", \"early_stopping_rounds\": 4,"
		       " \"first_tree_active_only\": true}", 0, NULL);
	assert_non_null(j);
	assert_int_equal(train_spec_gbdt(j, &s, &err), SR_OK);
	assert_int_equal(s.gbdt.loss, SR_ML_SQUARED);
	assert_int_equal(s.gbdt.trees, 7);
	assert_int_equal(s.gbdt.depth, 3);
	assert_true(s.gbdt.learning_rate == 0.1);
	assert_true(s.gbdt.tree.lambda == 2 && s.gbdt.tree.gamma == 0.5 &&
		    s.gbdt.tree.min_child_weight == 0.25);
	assert_true(s.gbdt.subsample == 0.8);
	assert_int_equal(s.gbdt.seed, 9);
	assert_int_equal(s.gbdt.max_bins, 64);
	assert_int_equal(s.gbdt.early_stopping_rounds, 4);
	assert_true(s.first_tree_active_only);
	json_decref(j);
	{
		static const char *const bad[][2] = {
			{ "{\"trees\": 0}", "spec.trees" },
			{ "{\"trees\": 10001}", "spec.trees" },
			{ "{\"depth\": 17}", "spec.depth" },
			{ "{\"learning_rate\": \"1.5\"}", "spec.learning_rate" },
			{ "{\"learning_rate\": 0}", "spec.learning_rate" },
			{ "{\"lambda\": -1}", "spec.lambda" },
			{ "{\"gamma\": \"x\"}", "spec.gamma" },
			{ "{\"min_child_weight\": -1}", "spec.min_child_weight" },
			{ "{\"subsample\": 0}", "spec.subsample" },
			{ "{\"seed\": -1}", "spec.seed" },
			{ "{\"bins\": 1}", "spec.bins" },
			{ "{\"bins\": 257}", "spec.bins" },
			{ "{\"loss\": \"hinge\"}", "spec.loss: 'hinge'" },
			{ "{\"early_stopping_rounds\": -1}", "spec.early_stopping_rounds" },
			{ "{\"first_tree_active_only\": 1}", "first_tree_active_only" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			j = json_loads(bad[i][0], 0, NULL);
			assert_non_null(j);
			sr_err_clear(&err);
			assert_int_equal(train_spec_gbdt(j, &s, &err), SR_EINVAL);
			if (!strstr(err.msg, bad[i][1]))
				fail_msg("%s: %s", bad[i][0], err.msg);
			json_decref(j);
		}
	}
}

static void test_plots(void **state)
{
	struct clinic cl[2];
	struct sr_policy *pol[2];
	struct kt_job job;
	struct kt_outcome o;
	struct sr_buf svg;
	struct sr_err err = { 0 };
	json_t *s;
	char *dir = sr_test_tmpdir(), path[512], cmd[1024];
	static const char *const which[] = { "roc", "lift", "gains", "importance" };

	load_data();
	make_clinics(cl, 2);
	pol[0] = policy(NULL, NULL, 1);
	pol[1] = policy(NULL, NULL, 1);
	s = spec(2, NULL);
	setup(&job, s, cl, pol, 2);
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_OK);
	sr_buf_init(&svg, SR_BUF_UNBOUNDED);
	for (size_t i = 0; i < 4; i++) {
		sr_buf_reset(&svg);
		assert_int_equal(train_plot(o.federated[0], which[i], &svg, &err), SR_OK);
		snprintf(path, sizeof(path), "%s/%s.svg", dir, which[i]);
		sr_test_write_file(path, svg.data, svg.len);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; r = m.parse(sys.argv[1]).documentElement; "
			 "assert r.tagName == \"svg\"; n = len(r.getElementsByTagName(sys.argv[2])); "
			 "assert n == int(sys.argv[3]), n' %s %s %d",
			 path, i == 3 ? "rect" : "polyline", i == 3 ? NFEAT + 1 : 1);
		assert_int_equal(system(cmd), 0);
	}
	sr_err_clear(&err);
	assert_int_equal(train_plot(o.federated[0], "pie", &svg, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "expected roc, lift, gains or importance"));
	sr_buf_release(&svg);
	kt_outcome_release(&o);
	json_decref(s);
	kt_policy_free(pol[0]);
	kt_policy_free(pol[1]);
	free_clinics(cl, 2);
	sr_test_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_federated_equals_central),
		cmocka_unit_test(test_bad_rows_fail_everywhere),
		cmocka_unit_test(test_checker_rules),
		cmocka_unit_test(test_gbdt_spec),
		cmocka_unit_test(test_plots),
	};

	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
