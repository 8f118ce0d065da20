/*
 * test_ml.c - our plaintext learners (src/ml/) against the libraries
 * people trust: the GBDT's AUC against python3-xgboost (tree_method=hist,
 * the same parameters), logistic regression's AUC against sklearn's
 * LogisticRegression with the same L2 (C = 1 / (lambda n)), the metrics
 * against sklearn's roc_auc_score and log_loss on the same scores; the
 * fixed-point LR against the double one within its stated bound; and
 * histogram subtraction, the split finder, bad input and the SVG writer.
 *
 * The references come from tests/ml/oracle.py run by /usr/bin/python3 on
 * CSV files this test writes; a missing library skips those checks with
 * its name (install-deps installs both).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/alloc.h"
#include "ml/ml.h"

static struct sr_ml_data view(const struct sr_test_table *t)
{
	return (struct sr_ml_data){ t->rows, t->cols, t->x, t->y };
}

static double gauss(uint64_t *s)
{
	double u = ((double)(sr_test_rand(s) >> 11) + 0.5) * 0x1p-53;
	double v = ((double)(sr_test_rand(s) >> 11) + 0.5) * 0x1p-53;

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* 30,000 x 23 like the vertical benchmark: features 0..12 at the label
 * holder, 13..22 at the other party; the label depends on both, with
 * interactions and thresholds a linear model misses. */
static void generate(struct sr_test_table *t, size_t rows, uint64_t seed)
{
	uint64_t s = seed;

	sr_test_table_alloc(t, rows, 23);
	for (size_t r = 0; r < rows; r++) {
		double x[23], z;
		for (size_t c = 0; c < 23; c++)
			t->x[c * rows + r] = x[c] = gauss(&s);
		z = 0.8 * x[0] - 0.6 * x[1] * x[2] + sin(2 * x[3]) + (x[4] > 0.5 ? 0.9 : -0.2) +
		    0.3 * x[5] + 0.7 * x[13] - 0.4 * x[14] * x[14] + 0.5 * x[15] * x[16] +
		    (x[17] < -0.3 ? -0.8 : 0.1) + 0.2 * x[18] - 0.3;
		t->y[r] = ((double)(sr_test_rand(&s) >> 11) * 0x1p-53) < sr_ml_sigmoid(z);
	}
}

static void write_csv(const char *path, const struct sr_test_table *t)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t c = 0; c < t->cols; c++)
		fprintf(f, "f%zu,", c);
	fprintf(f, "y\n");
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < t->cols; c++)
			fprintf(f, "%.17g,", t->x[c * t->rows + r]);
		fprintf(f, "%.17g\n", t->y[r]);
	}
	assert_int_equal(fclose(f), 0);
}

/* Run oracle.py with args; parse up to n numbers.  Skips the test when
 * the script says a library is missing (exit 77). */
static void oracle(const char *args, double *out, size_t n)
{
	char *script = sr_test_source_path("tests/ml/oracle.py");
	char cmd[4096], text[512] = "";
	FILE *p;
	size_t len;
	int status;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s 2>&1", script, args);
	free(script);
	p = popen(cmd, "r");
	assert_non_null(p);
	len = fread(text, 1, sizeof(text) - 1, p);
	text[len] = '\0';
	status = pclose(p);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		print_message("skipped: %s", text);
		skip();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("oracle.py %s failed: %s", args, text);
	{
		char *q = text, *end;
		for (size_t i = 0; i < n; i++) {
			out[i] = strtod(q, &end);
			assert_true(end != q);
			q = end;
		}
	}
}

static double auc_of(const struct sr_test_table *t, const double *p)
{
	struct sr_ml_eval ev;
	struct sr_err err = { 0 };

	assert_int_equal(sr_ml_eval_scores(t->y, p, t->rows, &ev, &err), SR_OK);
	return ev.auc;
}

/* Our GBDT and xgboost with the same parameters, AUC on the test set. */
static void gbdt_vs_xgboost(const struct sr_test_table *train, const struct sr_test_table *test,
			    const struct sr_ml_gbdt_params *p, double *ours, double *theirs)
{
	char *dir = sr_test_tmpdir(), a[512], b[512], args[2048];
	struct sr_ml_data dtr = view(train), dte = view(test);
	struct sr_ml_gbdt m;
	struct sr_err err = { 0 };
	double *pred = calloc(test->rows, sizeof(double));

	assert_int_equal(sr_ml_gbdt_train(p, &dtr, NULL, &m, &err), SR_OK);
	sr_ml_gbdt_predict(&m, &dte, pred);
	*ours = auc_of(test, pred);
	sr_ml_gbdt_release(&m);
	free(pred);
	snprintf(a, sizeof(a), "%s/train.csv", dir);
	snprintf(b, sizeof(b), "%s/test.csv", dir);
	write_csv(a, train);
	write_csv(b, test);
	snprintf(args, sizeof(args), "xgb %s %s %u %u %.17g %.17g %u %.17g %.17g", a, b,
		 p->trees, p->depth, p->learning_rate, p->tree.lambda, p->max_bins,
		 p->tree.min_child_weight, p->tree.gamma);
	oracle(args, theirs, 1);
	sr_test_tmpdir_free(dir);
}

static void test_gbdt_breast_cancer(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_gbdt_params p;
	double ours, theirs;

	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &test);
	sr_ml_gbdt_params_init(&p);
	p.trees = 30;
	p.depth = 3;
	p.learning_rate = 0.3;
	p.tree.lambda = 1;
	p.max_bins = 32;
	gbdt_vs_xgboost(&train, &test, &p, &ours, &theirs);
	print_message("breast cancer: AUC ours %.4f, xgboost %.4f\n", ours, theirs);
	assert_true(ours > 0.95);
	assert_true(fabs(ours - theirs) <= 0.01);
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

static void test_gbdt_generated(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_gbdt_params p;
	double ours, theirs;

	generate(&all, 30000, 12);
	sr_test_table_split(&all, 5, &train, &test);
	sr_ml_gbdt_params_init(&p);
	p.trees = 20;
	p.depth = 5;
	p.learning_rate = 0.3;
	p.tree.lambda = 1;
	p.tree.gamma = 0.1;
	p.tree.min_child_weight = 2;
	p.max_bins = 32;
	gbdt_vs_xgboost(&train, &test, &p, &ours, &theirs);
	print_message("30000 x 23: AUC ours %.4f, xgboost %.4f\n", ours, theirs);
	assert_true(ours > 0.75);
	assert_true(fabs(ours - theirs) <= 0.01);
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

/* Standardize every feature by the training set's mean and deviation,
 * then divide by the largest |value| so that |x| <= 1 (fixed point). */
static void standardize(struct sr_test_table *train, struct sr_test_table *test)
{
	for (size_t c = 0; c < train->cols; c++) {
		double mean = 0, var = 0, top = 0;
		double *a = train->x + c * train->rows, *b = test->x + c * test->rows;
		for (size_t r = 0; r < train->rows; r++)
			mean += a[r];
		mean /= (double)train->rows;
		for (size_t r = 0; r < train->rows; r++)
			var += (a[r] - mean) * (a[r] - mean);
		var = sqrt(var / (double)train->rows);
		for (size_t r = 0; r < train->rows; r++)
			top = fmax(top, fabs(a[r] = (a[r] - mean) / var));
		for (size_t r = 0; r < test->rows; r++)
			top = fmax(top, fabs(b[r] = (b[r] - mean) / var));
		for (size_t r = 0; r < train->rows; r++)
			a[r] /= top;
		for (size_t r = 0; r < test->rows; r++)
			b[r] /= top;
	}
}

static void test_lr_vs_sklearn(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_lr_params p;
	struct sr_ml_data dtr, dte;
	struct sr_ml_lr m;
	struct sr_err err = { 0 };
	char *dir = sr_test_tmpdir(), a[512], b[512], args[2048];
	double pred[200], ours, theirs;

	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &test);
	standardize(&train, &test);
	dtr = view(&train);
	dte = view(&test);
	sr_ml_lr_params_init(&p);
	p.l2 = 0.001;
	p.learning_rate = 0.25;   /* <= 2 / L: (31 / 4 + l2) * 0.25 < 2 */
	p.epochs = 20000;
	assert_int_equal(sr_ml_lr_train(&p, &dtr, NULL, &m, &err), SR_OK);
	assert_true(test.rows <= 200);
	sr_ml_lr_predict(&m, &dte, pred);
	ours = auc_of(&test, pred);
	sr_ml_lr_release(&m);
	snprintf(a, sizeof(a), "%s/train.csv", dir);
	snprintf(b, sizeof(b), "%s/test.csv", dir);
	write_csv(a, &train);
	write_csv(b, &test);
	/* sklearn minimizes C * sum(logloss) + |w|^2 / 2; ours mean(logloss)
	 * + l2 |w|^2 / 2: the same with C = 1 / (l2 * n). */
	snprintf(args, sizeof(args), "lr %s %s %.17g", a, b, 1.0 / (p.l2 * (double)train.rows));
	oracle(args, &theirs, 1);
	print_message("breast cancer LR: AUC ours %.5f, sklearn %.5f\n", ours, theirs);
	assert_true(ours > 0.95);
	assert_true(fabs(ours - theirs) <= 0.005);
	sr_test_tmpdir_free(dir);
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

static void test_lr_fixed_point(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_lr_params p;
	struct sr_ml_data dtr;
	struct sr_ml_lr md, mf;
	struct sr_err err = { 0 };
	double diff = 0, bound;
	unsigned long steps;

	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &test);
	standardize(&train, &test);
	dtr = view(&train);
	sr_ml_lr_params_init(&p);
	p.l2 = 0.01;
	p.learning_rate = 0.25;
	p.epochs = 50;
	p.batch = 64;
	assert_int_equal(sr_ml_lr_train(&p, &dtr, NULL, &md, &err), SR_OK);
	p.frac_bits = 24;
	assert_int_equal(sr_ml_lr_train(&p, &dtr, NULL, &mf, &err), SR_OK);
	for (size_t c = 0; c < md.cols; c++)
		diff = fmax(diff, fabs(md.w[c] - mf.w[c]));
	diff = fmax(diff, fabs(md.bias - mf.bias));
	steps = p.epochs * ((train.rows + p.batch - 1) / p.batch);
	bound = sr_ml_lr_fixed_bound(&p, train.cols, steps);
	print_message("fixed point 2^-24: max weight difference %.3g, bound %.3g\n", diff, bound);
	assert_true(diff > 0);        /* the fixed-point path does round */
	assert_true(diff <= bound);
	assert_true(bound <= 1e-4);
	/* Too few bits for the rows: a clear limit, not a wrapped sum. */
	p.frac_bits = 40;
	{
		struct sr_test_table big;
		struct sr_ml_data d;
		sr_test_table_alloc(&big, (1u << 22) + 1, 1);
		d = view(&big);
		sr_err_clear(&err);
		assert_int_equal(sr_ml_lr_check_data(&d, 40, &err), SR_ELIMIT);
		sr_test_table_free(&big);
	}
	sr_ml_lr_release(&md);
	sr_ml_lr_release(&mf);
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

/* Early stopping keeps the best validation epoch: never worse on the
 * validation set than running every epoch on a set small enough to
 * overfit. */
static void test_lr_early_stopping(void **state)
{
	struct sr_test_table all, small, rest;
	struct sr_ml_lr_params p;
	struct sr_ml_data ds, dr;
	struct sr_ml_lr stopped, full;
	struct sr_err err = { 0 };
	double pr[600], loss_stopped = 0, loss_full = 0;

	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 12, &small, &rest);    /* 48 rows to train on */
	standardize(&small, &rest);
	{
		/* sr_test_table_split() put every 12th row in `rest`'s place: swap roles. */
		struct sr_test_table t = small;
		small = rest;
		rest = t;
	}
	ds = view(&small);
	dr = view(&rest);
	sr_ml_lr_params_init(&p);
	p.learning_rate = 0.25;
	p.epochs = 20000;
	p.early_stopping_rounds = 50;
	assert_int_equal(sr_ml_lr_train(&p, &ds, &dr, &stopped, &err), SR_OK);
	p.early_stopping_rounds = 0;
	assert_int_equal(sr_ml_lr_train(&p, &ds, NULL, &full, &err), SR_OK);
	sr_ml_lr_predict(&stopped, &dr, pr);
	for (size_t r = 0; r < rest.rows; r++)
		loss_stopped += sr_ml_logloss1(rest.y[r], pr[r]);
	sr_ml_lr_predict(&full, &dr, pr);
	for (size_t r = 0; r < rest.rows; r++)
		loss_full += sr_ml_logloss1(rest.y[r], pr[r]);
	print_message("LR early stopping: %u of %u epochs, validation log-loss %.4f (all epochs %.4f)\n",
		      stopped.epochs_run, p.epochs, loss_stopped / (double)rest.rows,
		      loss_full / (double)rest.rows);
	assert_true(stopped.epochs_run < p.epochs);
	assert_true(loss_stopped < loss_full);
	sr_ml_lr_release(&stopped);
	sr_ml_lr_release(&full);
	sr_test_table_free(&all);
	sr_test_table_free(&small);
	sr_test_table_free(&rest);
}

static void test_metrics_vs_sklearn(void **state)
{
	struct sr_test_table t;
	struct sr_ml_eval ev;
	struct sr_err err = { 0 };
	uint64_t s = 99;
	char *dir = sr_test_tmpdir(), path[512], args[1024];
	double ref[3], *p;

	/* Scores rounded to two places, so there are many ties. */
	sr_test_table_alloc(&t, 2000, 1);
	p = t.x;
	for (size_t r = 0; r < t.rows; r++) {
		t.y[r] = sr_test_rand(&s) % 3 == 0;
		p[r] = round(100 * sr_ml_sigmoid(gauss(&s) + (t.y[r] ? 1.0 : -0.5))) / 100;
	}
	assert_int_equal(sr_ml_eval_scores(t.y, p, t.rows, &ev, &err), SR_OK);
	snprintf(path, sizeof(path), "%s/scores.csv", dir);
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "y,p\n");
		for (size_t r = 0; r < t.rows; r++)
			fprintf(f, "%.0f,%.17g\n", t.y[r], p[r]);
		assert_int_equal(fclose(f), 0);
	}
	snprintf(args, sizeof(args), "metrics %s", path);
	oracle(args, ref, 3);
	print_message("AUC %.9f / %.9f, log-loss %.9f / %.9f, KS %.9f / %.9f\n",
		      ev.auc, ref[0], ev.logloss, ref[1], ev.ks, ref[2]);
	assert_true(fabs(ev.auc - ref[0]) < 1e-9);
	assert_true(fabs(ev.logloss - ref[1]) < 1e-9);
	assert_true(fabs(ev.ks - ref[2]) < 1e-9);
	/* Counts at 0.5, by hand. */
	{
		double tp = 0, fp = 0, pos = 0, right = 0;
		for (size_t r = 0; r < t.rows; r++) {
			int yes = p[r] >= 0.5;
			tp += yes && t.y[r] == 1;
			fp += yes && t.y[r] == 0;
			pos += t.y[r] == 1;
			right += yes == (t.y[r] == 1);
		}
		assert_true(fabs(ev.precision - tp / (tp + fp)) < 1e-12);
		assert_true(fabs(ev.recall - tp / pos) < 1e-12);
		assert_true(fabs(ev.accuracy - right / (double)t.rows) < 1e-12);
	}
	/* Curves: ROC from (0,0) to (1,1), monotone; gains end at 1. */
	assert_true(ev.roc[0].x == 0 && ev.roc[0].y == 0);
	assert_true(ev.roc[ev.nroc - 1].x == 1 && ev.roc[ev.nroc - 1].y == 1);
	for (size_t i = 1; i < ev.nroc; i++)
		assert_true(ev.roc[i].x >= ev.roc[i - 1].x && ev.roc[i].y >= ev.roc[i - 1].y);
	assert_int_equal(ev.ngains, SR_ML_CURVE_POINTS);
	assert_true(fabs(ev.gains[ev.ngains - 1].y - 1) < 1e-12);
	assert_true(fabs(ev.lift[ev.nlift - 1].y - 1) < 1e-12);
	assert_true(ev.lift[0].y > 1.5);
	/* One label only: no AUC. */
	for (size_t r = 0; r < t.rows; r++)
		t.y[r] = 1;
	sr_err_clear(&err);
	assert_int_equal(sr_ml_eval_scores(t.y, p, t.rows, &ev, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "both labels"));
	/* Regression metrics by hand. */
	{
		double y[3] = { 1, 2, 3 }, q[3] = { 1.5, 2, 1 };
		struct sr_ml_reg_eval re;
		sr_ml_eval_regression(y, q, 3, &re);
		assert_true(fabs(re.rmse - sqrt((0.25 + 4) / 3)) < 1e-12);
		assert_true(fabs(re.mae - 2.5 / 3) < 1e-12);
	}
	sr_test_table_free(&t);
	sr_test_tmpdir_free(dir);
}

static void test_hist_subtraction_and_split(void **state)
{
	struct sr_test_table t;
	struct sr_ml_data d;
	struct sr_ml_bins bins;
	struct sr_ml_layout l;
	struct sr_ml_hist parent, left, right, sub;
	struct sr_ml_tree_params tp = { 1.0, 0.0, 1.0 };
	struct sr_ml_split s;
	struct sr_err err = { 0 };
	uint16_t *codes;
	uint32_t all[1000], lrows[1000], rrows[1000];
	double g[1000], h[1000], best = -INFINITY;
	size_t nl = 0, nr = 0;
	uint64_t st = 5;

	generate(&t, 1000, 3);
	d = view(&t);
	assert_int_equal(sr_ml_bins_fit(&d, 16, &bins, &err), SR_OK);
	for (size_t c = 0; c < bins.cols; c++)
		assert_true(bins.ncuts[c] >= 10 && bins.ncuts[c] <= 15);
	assert_int_equal(sr_ml_layout_from_bins(&bins, &l, &err), SR_OK);
	codes = calloc(t.rows * t.cols, sizeof(*codes));
	sr_ml_bins_apply(&bins, &d, codes);
	for (size_t r = 0; r < t.rows; r++) {
		all[r] = (uint32_t)r;
		g[r] = gauss(&st) + t.y[r];
		h[r] = 0.1 + (double)(sr_test_rand(&st) % 100) / 100;
		if (codes[r] < 7)
			lrows[nl++] = (uint32_t)r;
		else
			rrows[nr++] = (uint32_t)r;
	}
	assert_int_equal(sr_ml_hist_init(&parent, &l, &err), SR_OK);
	assert_int_equal(sr_ml_hist_init(&left, &l, &err), SR_OK);
	assert_int_equal(sr_ml_hist_init(&right, &l, &err), SR_OK);
	assert_int_equal(sr_ml_hist_init(&sub, &l, &err), SR_OK);
	sr_ml_hist_build(&parent, &l, codes, t.rows, all, t.rows, g, h);
	sr_ml_hist_build(&left, &l, codes, t.rows, lrows, nl, g, h);
	sr_ml_hist_build(&right, &l, codes, t.rows, rrows, nr, g, h);
	sr_ml_hist_subtract(&sub, &parent, &left);
	for (size_t i = 0; i < l.offset[l.cols]; i++) {
		assert_true(fabs(sub.g[i] - right.g[i]) < 1e-9);
		assert_true(fabs(sub.h[i] - right.h[i]) < 1e-9);
	}
	/* The finder's best split is the brute-force best over raw rows. */
	{
		double G = 0, H = 0;
		for (size_t r = 0; r < t.rows; r++) {
			G += g[r];
			H += h[r];
		}
		sr_ml_split_find(&l, &parent, G, H, &tp, NULL, &s);
		assert_true(s.found);
		for (size_t c = 0; c < t.cols; c++)
			for (uint32_t b = 0; b + 1 < l.nbins[c]; b++) {
				double gl = 0, hl = 0, gain;
				for (size_t r = 0; r < t.rows; r++)
					if (codes[c * t.rows + r] <= b) {
						gl += g[r];
						hl += h[r];
					}
				if (hl < 1 || H - hl < 1)
					continue;
				gain = gl * gl / (hl + 1) + (G - gl) * (G - gl) / (H - hl + 1) -
				       G * G / (H + 1);
				best = fmax(best, gain);
			}
		assert_true(fabs(s.gain - best) < 1e-6 * fabs(best));
		/* Masking the winning feature moves the split elsewhere. */
		{
			unsigned char mask[23];
			struct sr_ml_split s2;
			memset(mask, 1, sizeof(mask));
			mask[s.feature] = 0;
			sr_ml_split_find(&l, &parent, G, H, &tp, mask, &s2);
			assert_true(s2.found && s2.feature != s.feature && s2.gain <= s.gain);
		}
		/* gamma above the best gain: no split. */
		tp.gamma = best + 1;
		sr_ml_split_find(&l, &parent, G, H, &tp, NULL, &s);
		assert_false(s.found);
	}
	sr_ml_hist_release(&parent);
	sr_ml_hist_release(&left);
	sr_ml_hist_release(&right);
	sr_ml_hist_release(&sub);
	sr_ml_layout_release(&l);
	sr_ml_bins_release(&bins);
	free(codes);
	sr_test_table_free(&t);
}

static void test_gbdt_options(void **state)
{
	struct sr_test_table all, train, valid;
	struct sr_ml_gbdt_params p;
	struct sr_ml_data dtr, dva;
	struct sr_ml_gbdt a, b, c;
	struct sr_err err = { 0 };
	double pa[2000], pb[2000];
	int differ = 0;

	generate(&all, 6000, 8);
	sr_test_table_split(&all, 3, &train, &valid);
	dtr = view(&train);
	dva = view(&valid);
	sr_ml_gbdt_params_init(&p);
	p.trees = 10;
	p.depth = 4;
	p.subsample = 0.7;
	p.seed = 1;
	/* Subsampling is reproducible with a seed and changes with it. */
	assert_int_equal(sr_ml_gbdt_train(&p, &dtr, NULL, &a, &err), SR_OK);
	assert_int_equal(sr_ml_gbdt_train(&p, &dtr, NULL, &b, &err), SR_OK);
	sr_ml_gbdt_predict(&a, &dva, pa);
	sr_ml_gbdt_predict(&b, &dva, pb);
	assert_memory_equal(pa, pb, valid.rows * sizeof(double));
	sr_ml_gbdt_release(&b);
	p.seed = 2;
	assert_int_equal(sr_ml_gbdt_train(&p, &dtr, NULL, &b, &err), SR_OK);
	sr_ml_gbdt_predict(&b, &dva, pb);
	for (size_t r = 0; r < valid.rows; r++)
		differ |= pa[r] != pb[r];
	assert_true(differ);
	sr_ml_gbdt_release(&a);
	sr_ml_gbdt_release(&b);
	/* Early stopping: deep trees at a high rate overfit quickly. */
	p.subsample = 1;
	p.trees = 200;
	p.depth = 8;
	p.learning_rate = 1;
	p.tree.lambda = 0;
	p.tree.min_child_weight = 0;
	p.early_stopping_rounds = 3;
	assert_int_equal(sr_ml_gbdt_train(&p, &dtr, &dva, &c, &err), SR_OK);
	print_message("early stopping: %zu trees grown, best %zu\n", c.ntrees, c.best_trees);
	assert_true(c.ntrees < 200);
	assert_int_equal(c.best_trees + p.early_stopping_rounds, c.ntrees);
	sr_ml_gbdt_release(&c);
	/* Squared error: fits a smooth target well. */
	p = (struct sr_ml_gbdt_params){ 0 };
	sr_ml_gbdt_params_init(&p);
	p.loss = SR_ML_SQUARED;
	p.trees = 40;
	p.depth = 4;
	for (size_t r = 0; r < train.rows; r++)
		train.y[r] = 2 * train.x[r] + sin(train.x[train.rows + r]);
	for (size_t r = 0; r < valid.rows; r++)
		valid.y[r] = 2 * valid.x[r] + sin(valid.x[valid.rows + r]);
	assert_int_equal(sr_ml_gbdt_train(&p, &dtr, NULL, &c, &err), SR_OK);
	sr_ml_gbdt_predict(&c, &dva, pa);
	{
		struct sr_ml_reg_eval re;
		sr_ml_eval_regression(valid.y, pa, valid.rows, &re);
		print_message("squared error: RMSE %.4f on a target of sd ~2.1\n", re.rmse);
		assert_true(re.rmse < 0.3);
	}
	sr_ml_gbdt_release(&c);
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&valid);
}

static void test_bad_input(void **state)
{
	struct sr_test_table t;
	struct sr_ml_gbdt_params p;
	struct sr_ml_lr_params lp;
	struct sr_ml_data d;
	struct sr_ml_gbdt m;
	struct sr_ml_lr lr;
	struct sr_err err = { 0 };
	double imp[23];

	generate(&t, 3000, 21);
	d = view(&t);
	sr_ml_gbdt_params_init(&p);
	p.trees = 5;
	p.depth = 3;
	sr_ml_lr_params_init(&lp);
	lp.epochs = 2;
	/* A third label value in a binary task. */
	t.y[17] = 2;
	sr_err_clear(&err);
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "row 17: label 2, expected 0 or 1"));
	sr_err_clear(&err);
	assert_int_equal(sr_ml_lr_train(&lp, &d, NULL, &lr, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "row 17: label 2"));
	t.y[17] = 1;
	/* A constant feature: one bin, never split on. */
	for (size_t r = 0; r < t.rows; r++)
		t.x[0 * t.rows + r] = 4.5;
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m, &err), SR_OK);
	sr_ml_gbdt_importance(&m, imp);
	assert_true(imp[0] == 0);
	assert_true(imp[13] > 0);
	sr_ml_gbdt_release(&m);
	/* NaN features: the missing bin, trained and predicted; LR refuses. */
	for (size_t r = 0; r < t.rows; r += 3)
		t.x[13 * t.rows + r] = NAN;
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m, &err), SR_OK);
	{
		double *pred = calloc(t.rows, sizeof(double));
		sr_ml_gbdt_predict(&m, &d, pred);
		for (size_t r = 0; r < t.rows; r++)
			assert_true(pred[r] > 0 && pred[r] < 1);
		free(pred);
	}
	sr_ml_gbdt_release(&m);
	sr_err_clear(&err);
	assert_int_equal(sr_ml_lr_train(&lp, &d, NULL, &lr, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "row 0, feature 13: missing value"));
	/* Zero rows. */
	d.rows = 0;
	sr_err_clear(&err);
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "zero rows"));
	sr_err_clear(&err);
	assert_int_equal(sr_ml_lr_train(&lp, &d, NULL, &lr, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "zero rows"));
	/* Parameters out of range. */
	d.rows = t.rows;
	p.max_bins = 257;
	sr_err_clear(&err);
	assert_int_equal(sr_ml_gbdt_train(&p, &d, NULL, &m, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "max_bins 257"));
	sr_test_table_free(&t);
}

static void test_svg(void **state)
{
	struct sr_ml_eval ev;
	struct sr_svg_series s[2];
	struct sr_buf out;
	struct sr_err err = { 0 };
	double y[400], p[400];
	uint64_t st = 4;
	char *dir = sr_test_tmpdir(), path[512], cmd[2048];
	const char *names[3] = { "age <&> \"x\"", "income", "score" };
	double values[3] = { 3, 1.5, 0 };
	int status;

	for (size_t r = 0; r < 400; r++) {
		y[r] = r % 2;
		p[r] = sr_ml_sigmoid(gauss(&st) + y[r]);
	}
	assert_int_equal(sr_ml_eval_scores(y, p, 400, &ev, &err), SR_OK);
	s[0] = (struct sr_svg_series){ "model <A&B>", ev.roc, ev.nroc };
	s[1] = (struct sr_svg_series){ "gains", ev.gains, ev.ngains };
	sr_buf_init(&out, SR_BUF_UNBOUNDED);
	assert_int_equal(sr_svg_lines(&out, "ROC & gains", "false positive rate",
				      "true positive rate", s, 2, 1, &err), SR_OK);
	snprintf(path, sizeof(path), "%s/roc.svg", dir);
	sr_test_write_file(path, out.data, out.len);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
		 "r = d.documentElement; assert r.tagName == \"svg\", r.tagName; "
		 "assert len(r.getElementsByTagName(\"polyline\")) == 2; "
		 "assert len(r.getElementsByTagName(\"title\")) == 1; "
		 "t = [x.firstChild.data for x in r.getElementsByTagName(\"text\")]; "
		 "assert \"model <A&B>\" in t and \"ROC & gains\" in t, t; "
		 "assert len(r.getElementsByTagName(\"polyline\")[0].getAttribute(\"points\").split()) == %zu' %s",
		 ev.nroc, path);
	status = system(cmd);
	assert_int_equal(status, 0);
	sr_buf_reset(&out);
	assert_int_equal(sr_svg_bars(&out, "importance", names, values, 3, &err), SR_OK);
	sr_test_write_file(path, out.data, out.len);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
		 "assert len(d.getElementsByTagName(\"rect\")) == 4' %s", path);
	assert_int_equal(system(cmd), 0);
	/* Bad input: no series, a NaN point, a negative bar. */
	sr_err_clear(&err);
	assert_int_equal(sr_svg_lines(&out, "x", "a", "b", s, 0, 0, &err), SR_EINVAL);
	ev.roc[3].x = NAN;
	sr_err_clear(&err);
	assert_int_equal(sr_svg_lines(&out, "x", "a", "b", s, 1, 0, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "point 3 is not finite"));
	values[1] = -1;
	sr_err_clear(&err);
	assert_int_equal(sr_svg_bars(&out, "imp", names, values, 3, &err), SR_EINVAL);
	sr_buf_release(&out);
	sr_test_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_subtraction_and_split),
		cmocka_unit_test(test_metrics_vs_sklearn),
		cmocka_unit_test(test_gbdt_breast_cancer),
		cmocka_unit_test(test_gbdt_generated),
		cmocka_unit_test(test_gbdt_options),
		cmocka_unit_test(test_lr_vs_sklearn),
		cmocka_unit_test(test_lr_fixed_point),
		cmocka_unit_test(test_lr_early_stopping),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_svg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
