/*
 * test_predict.c - the `predict` kind (docs/protocols/predict.md) with the
 * kind harness (kindtest.h): a vertical SecureBoost model is trained by a
 * `train` job on breast-cancer columns split across a bank (the label and
 * 3 features), a shop (2 features, some NULL) and a telco (1 feature),
 * then `predict` scores the bank's new applicants (rows the model never
 * saw, in another order, in another dataset) with the shop's and the
 * telco's current tables, aligned by PSI inside the job.  Oracles: the
 * federated scores equal run_central's and, bit for bit, those of the
 * parts put together (sr_ml_sb_to_gbdt) on the pooled rows this test
 * builds itself.  Bad input: an unknown model, wrong features, inputs[0]
 * not the active party, a party without its part, zero aligned rows (each
 * fails at every party, nothing released), fewer rows than min_group_size
 * (refused at release), and the checker's rules.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kindtest.h"
#include "kinds/train/train.h"
#include "ml/ml.h"
#include "ml/secureboost.h"
#include "ml/vlr.h"
#include "policy/checker.h"

#define ROWS 569
#define TRAINED 400             /* people r < TRAINED are the training rows */
#define JOB "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const char *const orgs[3] = {
	"org_00000000000000000000000000000001", "org_00000000000000000000000000000002",
	"org_00000000000000000000000000000003",
};
/* Party p's columns: the key, its features, and (bank's training table
 * only) the label; the CSV column of each feature. */
static const char *const cols[3][5] = {
	{ "id", "radius", "texture", "concave", "bad" },
	{ "cid", "wtexture", "wsmooth", NULL, NULL },
	{ "sub", "warea", NULL, NULL, NULL },
};
static const size_t nfeat[3] = { 3, 2, 1 };
static const int source[3][3] = { { 0, 1, 7 }, { 21, 24, 0 }, { 23, 0, 0 } };

static double csv[ROWS][31];
static int complete_rows;       /* no NULLs (a logistic-regression model) */
static int lr_model;            /* train "model": "lr" */

static void load_data(void)
{
	FILE *f = fopen("/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv", "r");
	char line[4096];
	size_t n = 0;

	if (!f) {
		print_message("skipped: the sklearn breast-cancer CSV is missing\n");
		skip();
	}
	assert_non_null(fgets(line, sizeof(line), f));
	while (n < ROWS && fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		for (size_t c = 0; c < 31; c++) {
			csv[n][c] = strtod(p, &end);
			p = end + (*end == ',');
		}
		csv[n][30] = csv[n][30] == 0;   /* bad = malignant */
		n++;
	}
	fclose(f);
	assert_int_equal(n, ROWS);
}

static int holds(size_t p, size_t r)
{
	return p == 0 ? r % 9 != 4 : p == 1 ? r % 7 != 2 : r % 5 != 3;
}

static double key_of(size_t r)
{
	return 100000 + 37 * (double)r;
}

/* A table: up to 5 columns, the key int64, features float64, label int64. */
struct tab {
	size_t ncols, *person;          /* person[i]: the CSV row of table row i */
	const char *const *names;
	struct sr_vec cols[5];
};

/* Party p's table of the people r in [lo, hi) it holds: the bank's in
 * order (descending when reverse), the others shuffled; label adds the
 * bank's label column; shift moves the keys. */
static void make_tab(struct tab *t, size_t p, size_t lo, size_t hi, int reverse, int label,
		     double shift)
{
	uint64_t s = 99 + p;
	size_t n = 0;

	t->ncols = 1 + nfeat[p] + (size_t)label;
	t->names = cols[p];
	t->person = calloc(ROWS, sizeof(*t->person));
	assert_non_null(t->person);
	for (size_t c = 0; c < t->ncols; c++)
		sr_vec_init(&t->cols[c], c == 0 || c > nfeat[p] ? SR_TYPE_INT64 : SR_TYPE_FLOAT64);
	for (size_t m = 0; m < hi - lo; m++) {
		size_t r = reverse ? hi - 1 - m : lo + m;
		if (holds(p, r))
			t->person[n++] = r;
	}
	for (size_t i = n; p > 0 && i > 1; i--) {
		size_t j = (size_t)(sr_ml_prng_next(&s) % i), x = t->person[i - 1];
		t->person[i - 1] = t->person[j];
		t->person[j] = x;
	}
	for (size_t i = 0; i < n; i++) {
		size_t r = t->person[i];
		for (size_t c = 0; c < t->ncols; c++) {
			struct sr_vec *v = &t->cols[c];
			if (!complete_rows && c >= 1 && c <= nfeat[p] && p == 1 && c == 1 && r % 13 == 0) {
				assert_int_equal(sr_vec_append_null(v), SR_OK);
				continue;
			}
			assert_int_equal(sr_vec_reserve(v, 1), SR_OK);
			if (c == 0)
				v->v.i64[v->rows++] = (int64_t)(key_of(r) + shift);
			else if (c > nfeat[p])
				v->v.i64[v->rows++] = (int64_t)csv[r][30];
			else
				v->v.f64[v->rows++] = csv[r][source[p][c - 1]];
		}
	}
}

static void free_tab(struct tab *t)
{
	for (size_t c = 0; c < t->ncols; c++)
		sr_vec_release(&t->cols[c]);
	free(t->person);
}

static struct sr_policy *policy_of(const struct tab *t, const char *extra)
{
	char text[2048], list[1024] = "";
	enum sr_type types[5];
	size_t len = 0;

	for (size_t c = 0; c < t->ncols; c++) {
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\": %s", c ? ", " : "",
					t->names[c], c == 0 ? "{\"class\": \"id\"}" :
					"{\"class\": \"sa\"}");
		types[c] = t->cols[c].type;
	}
	snprintf(text, sizeof(text), "{\"columns\": {%s}, \"receivers\": [\"%s\", \"%s\", \"%s\"]%s}",
		 list, orgs[0], orgs[1], orgs[2], extra ? extra : "");
	return kt_policy(text, t->names, types, t->ncols);
}

static json_t *load_json(const char *text)
{
	json_error_t je;
	json_t *s = json_loads(text, 0, &je);

	if (!s)
		fail_msg("spec: %s in %s", je.text, text);
	return s;
}

/* inputs of n parties: "key" and "features" of each (features_of
 * overrides party 1's); the bank's label when label is set. */
static void inputs_text(char *out, size_t cap, size_t n, const char *const *names,
			int label, const char *shop_features)
{
	size_t len = 0;

	for (size_t p = 0; p < n; p++) {
		len += (size_t)snprintf(out + len, cap - len, "%s{\"dataset\": \"%s\", \"key\": \"%s\", \"features\": ",
					p ? ", " : "", names[p], cols[p][0]);
		if (p == 1 && shop_features) {
			len += (size_t)snprintf(out + len, cap - len, "%s", shop_features);
		} else {
			for (size_t f = 0; f < nfeat[p]; f++)
				len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", f ? ", " : "[",
							cols[p][1 + f]);
			len += (size_t)snprintf(out + len, cap - len, "]");
		}
		len += (size_t)snprintf(out + len, cap - len, "%s}",
					p == 0 && label ? ", \"label\": \"bad\"" : "");
	}
}

static const char *const train_names[3] = { "bank.customers", "shop.members", "telco.subscribers" };
static const char *const pred_names[3] = { "bank.applicants", "shop.members", "telco.subscribers" };

static json_t *train_spec(size_t n)
{
	char text[4096], in[2048];

	inputs_text(in, sizeof(in), n, train_names, 1, NULL);
	if (lr_model)
		snprintf(text, sizeof(text),
			 "{\"kind\": \"train\", \"mode\": \"vertical\", \"model\": \"lr\", \"epochs\": 5,"
			 " \"batch\": 64, \"learning_rate\": \"0.25\", \"l2\": \"0.001\", \"test_ratio\": \"0.2\","
			 " \"inputs\": [%s], \"receivers\": [\"%s\"]}", in, orgs[0]);
	else
		snprintf(text, sizeof(text),
			 "{\"kind\": \"train\", \"mode\": \"vertical\", \"model\": \"gbdt\", \"trees\": 5,"
			 " \"depth\": 3, \"bins\": 16, \"learning_rate\": \"0.3\", \"test_ratio\": \"0.2\","
			 " \"inputs\": [%s], \"receivers\": [\"%s\"]}", in, orgs[0]);
	return load_json(text);
}

/* The predict spec; order: input order (NULL: 0, 1, 2). */
static json_t *predict_spec(size_t n, const char *model, const char *shop_features,
			    const size_t *order, const char *receivers)
{
	char text[4096], in[2048];
	const char *names[3];
	for (size_t p = 0; p < n; p++)
		names[p] = pred_names[order ? order[p] : p];
	if (order) {
		/* Swapped inputs: write them by hand. */
		size_t len = 0;
		for (size_t k = 0; k < n; k++) {
			size_t p = order[k];
			len += (size_t)snprintf(in + len, sizeof(in) - len,
						"%s{\"dataset\": \"%s\", \"key\": \"%s\", \"features\": ",
						k ? ", " : "", names[k], cols[p][0]);
			for (size_t f = 0; f < nfeat[p]; f++)
				len += (size_t)snprintf(in + len, sizeof(in) - len, "%s\"%s\"",
							f ? ", " : "[", cols[p][1 + f]);
			len += (size_t)snprintf(in + len, sizeof(in) - len, "]}");
		}
	} else {
		inputs_text(in, sizeof(in), n, names, 0, shop_features);
	}
	snprintf(text, sizeof(text),
		 "{\"kind\": \"predict\", \"model\": \"%s\", \"inputs\": [%s], \"receivers\": %s}",
		 model, in, receivers ? receivers : "[\"org_00000000000000000000000000000001\", \"org_00000000000000000000000000000002\"]");
	return load_json(text);
}

struct world {
	size_t n;
	struct tab train[3], pred[3];
	struct sr_policy *tpol[3], *ppol[3];
	json_t *tspec;
	struct kt_job tjob;
	struct kt_outcome tout;
};

static void set_inputs(struct kt_job *job, const json_t *spec, struct tab *t,
		       struct sr_policy **pol, const char *const *names, size_t n,
		       const size_t *order)
{
	memset(job, 0, sizeof(*job));
	job->spec = spec;
	job->ninputs = n;
	for (size_t k = 0; k < n; k++) {
		size_t p = order ? order[k] : k;
		job->inputs[k].dataset = names[p];
		job->inputs[k].owner = orgs[p];
		job->inputs[k].table = (struct sr_table){ names[p], t[p].ncols, t[p].names,
							  t[p].cols, t[p].cols[0].rows };
		job->inputs[k].policy = pol[p];
	}
}

/* Train the model of n parties (the people r < TRAINED). */
static void world_init(struct world *w, size_t n)
{
	memset(w, 0, sizeof(*w));
	w->n = n;
	load_data();
	for (size_t p = 0; p < n; p++) {
		make_tab(&w->train[p], p, 0, p == 0 ? TRAINED : ROWS, 0, p == 0, 0);
		w->tpol[p] = policy_of(&w->train[p], NULL);
	}
	w->tspec = train_spec(n);
	set_inputs(&w->tjob, w->tspec, w->train, w->tpol, train_names, n, NULL);
	kt_run(&w->tjob, &w->tout);
	if (w->tout.federated_rc)
		fail_msg("train: %s | %s", w->tout.federated_msg[0], w->tout.federated_msg[1]);
	/* The new rows: the bank's applicants TRAINED <= r < ROWS, newest
	 * first; the others' current tables are their training tables. */
	make_tab(&w->pred[0], 0, TRAINED, ROWS, 1, 0, 0);
	w->ppol[0] = policy_of(&w->pred[0], NULL);
	for (size_t p = 1; p < n; p++) {
		w->pred[p] = w->train[p];
		w->ppol[p] = w->tpol[p];
	}
}

static void world_free(struct world *w)
{
	kt_outcome_release(&w->tout);
	json_decref(w->tspec);
	for (size_t p = 0; p < w->n; p++) {
		free_tab(&w->train[p]);
		kt_policy_free(w->tpol[p]);
	}
	free_tab(&w->pred[0]);
	kt_policy_free(w->ppol[0]);
}

static void run_predict(struct world *w, const json_t *spec, const size_t *order,
			const struct kt_outcome *model, struct kt_outcome *o)
{
	struct kt_job job;

	set_inputs(&job, spec, w->pred, w->ppol, pred_names, w->n, order);
	job.model_job = JOB;
	job.model_of = &w->tjob;
	job.model = model ? model : &w->tout;
	kt_run(&job, o);
}

/* The scores the parts put together give each applicant every party
 * holds, in the applicants' order: [table row, score]. */
static size_t expected(const struct world *w, uint64_t *rows, double *score)
{
	struct sr_ml_sb_model m = { 0 };
	struct sr_ml_sb_part parts[2];
	struct sr_ml_gbdt g = { 0 };
	struct sr_err err = { 0 };
	const uint8_t *data;
	size_t len, n = 0, ncol = 0;
	double *x;

	memset(parts, 0, sizeof(parts));
	data = kt_kept(&w->tout, orgs[0], "secureboost-model", &len);
	assert_non_null(data);
	assert_int_equal(sr_ml_sb_model_decode((const char *)data, len, &m, &err), SR_OK);
	for (size_t p = 1; p < w->n; p++) {
		data = kt_kept(&w->tout, orgs[p], "secureboost-part", &len);
		assert_non_null(data);
		assert_int_equal(sr_ml_sb_part_decode((const char *)data, len, &parts[p - 1], &err), SR_OK);
	}
	assert_int_equal(sr_ml_sb_to_gbdt(&m, parts, w->n - 1, &g, &err), SR_OK);
	for (size_t p = 0; p < w->n; p++)
		ncol += nfeat[p];
	x = calloc(ROWS * ncol, sizeof(*x));
	assert_non_null(x);
	for (size_t i = 0; i < w->pred[0].cols[0].rows; i++) {
		size_t r = w->pred[0].person[i];
		int all = 1;
		for (size_t p = 1; p < w->n; p++)
			all &= holds(p, r);
		if (all)
			rows[n++] = i;
	}
	for (size_t k = 0; k < n; k++) {
		size_t r = w->pred[0].person[rows[k]], col = 0;
		for (size_t p = 0; p < w->n; p++)
			for (size_t f = 0; f < nfeat[p]; f++, col++)
				x[col * n + k] = p == 1 && f == 0 && r % 13 == 0 ? NAN :
					csv[r][source[p][f]];
	}
	{
		struct sr_ml_data d = { n, ncol, x, NULL };
		sr_ml_gbdt_predict(&g, &d, score);
	}
	free(x);
	sr_ml_gbdt_release(&g);
	sr_ml_sb_model_release(&m);
	for (size_t p = 0; p + 1 < w->n; p++)
		sr_ml_sb_part_release(&parts[p]);
	return n;
}

/* The predict spec of n parties run federated and centrally on w: both
 * succeed, and every receiver's results agree but for meta_keys. */
static json_t *run_both_equal(struct world *w, size_t n, const char *const *meta_keys,
			      struct kt_outcome *o)
{
	json_t *s;

	world_init(w, n);
	s = predict_spec(n, JOB, NULL, NULL, NULL);
	run_predict(w, s, NULL, NULL, o);
	if (o->federated_rc)
		fail_msg("federated: %s | %s | %s", o->federated_msg[0], o->federated_msg[1],
			 o->federated_msg[2]);
	for (size_t r = 0; r < o->nreceivers; r++) {
		if (o->central_rc[r])
			fail_msg("central: %s", o->central_msg[r]);
		assert_true(kt_same_result(o->federated[r], o->central[r], meta_keys));
		assert_true(json_equal(json_object_get(o->federated[r], "rows"),
				       json_object_get(o->central[r], "rows")));
	}
	return s;
}

static void federated_equals_central(size_t n)
{
	static const char *const meta_keys[] = { "aligned_rows", "parties", "active", "model", NULL };
	struct world w;
	struct kt_outcome o;
	uint64_t rows[ROWS];
	double score[ROWS], y[ROWS];
	json_t *s;
	const json_t *row;
	size_t k, m;
	struct sr_ml_eval *ev = calloc(1, sizeof(*ev));
	struct sr_err err = { 0 };

	assert_non_null(ev);
	s = run_both_equal(&w, n, meta_keys, &o);
	/* Bit for bit the pooled model's scores, in the applicants' order. */
	m = expected(&w, rows, score);
	assert_true(m > 50);
	assert_int_equal(json_array_size(json_object_get(o.federated[0], "rows")), m);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o.federated[0], "meta"),
							     "aligned_rows")), m);
	json_array_foreach(json_object_get(o.federated[0], "rows"), k, row) {
		assert_int_equal(json_integer_value(json_array_get(row, 0)), rows[k]);
		if (json_real_value(json_array_get(row, 1)) != score[k])
			fail_msg("row %zu: score %.17g, the pooled model's %.17g", k,
				 json_real_value(json_array_get(row, 1)), score[k]);
		y[k] = csv[w.pred[0].person[rows[k]]][30];
	}
	/* And the model is a model: the new rows are well ranked. */
	assert_int_equal(sr_ml_eval_scores(y, score, m, ev, &err), SR_OK);
	print_message("%zu parties: %zu new rows scored, AUC %.4f\n", n, m, ev->auc);
	assert_true(ev->auc > 0.9);
	/* The second receiver (the shop) got the same envelope. */
	assert_true(json_equal(json_object_get(o.federated[0], "rows"),
			       json_object_get(o.federated[1], "rows")));
	/* predict keeps nothing. */
	for (size_t p = 0; p < o.nparties; p++)
		assert_int_equal(o.nkept[p], 0);
	kt_outcome_release(&o);
	json_decref(s);
	free(ev);
	world_free(&w);
}

static void test_two_parties(void **state)
{
	(void)state;
	federated_equals_central(2);
}

static void test_three_parties(void **state)
{
	(void)state;
	federated_equals_central(3);
}

/* Every party fails with the same cause; nothing is released. */
static void fails_everywhere(const struct kt_outcome *o, size_t n, const char *msg)
{
	for (size_t p = 0; p < n; p++)
		if (o->party_rc[p] == SR_OK || (p == 0 && !strstr(o->federated_msg[p], msg)))
			fail_msg("party %zu: rc %d, \"%s\" (expected \"%s\")", p, o->party_rc[p],
				 o->federated_msg[p], msg);
	for (size_t r = 0; r < o->nreceivers; r++) {
		assert_null(o->federated[r]);
		assert_int_not_equal(o->central_rc[r], SR_OK);
	}
}

static void test_bad_input(void **state)
{
	struct world w;
	struct kt_outcome o, model;
	json_t *s;
	static const size_t swapped[2] = { 1, 0 };

	(void)state;
	world_init(&w, 2);
	/* An unknown model. */
	s = predict_spec(2, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
			 NULL, NULL, NULL);
	run_predict(&w, s, NULL, NULL, &o);
	fails_everywhere(&o, 2, "is not a finished train job in this project");
	assert_non_null(strstr(o.federated_msg[1], "is not a finished train job"));
	assert_non_null(strstr(o.central_msg[0], "is not a finished train job"));
	kt_outcome_release(&o);
	json_decref(s);
	/* Features other than the part's: another order, one missing. */
	s = predict_spec(2, JOB, "[\"wsmooth\", \"wtexture\"]", NULL, NULL);
	run_predict(&w, s, NULL, NULL, &o);
	fails_everywhere(&o, 2, "spec.inputs[1].features must be exactly the features");
	assert_non_null(strstr(o.federated_msg[0], "[\"wtexture\",\"wsmooth\"]"));
	kt_outcome_release(&o);
	json_decref(s);
	s = predict_spec(2, JOB, "[\"wtexture\"]", NULL, NULL);
	run_predict(&w, s, NULL, NULL, &o);
	fails_everywhere(&o, 2, "must be exactly the features");
	kt_outcome_release(&o);
	json_decref(s);
	/* inputs[0] is not the active party. */
	s = predict_spec(2, JOB, NULL, swapped, NULL);
	run_predict(&w, s, swapped, NULL, &o);
	fails_everywhere(&o, 2, "inputs[0] must be the active party's");
	kt_outcome_release(&o);
	json_decref(s);
	/* A party without its part. */
	s = predict_spec(2, JOB, NULL, NULL, NULL);
	model = w.tout;
	for (size_t p = 0; p < model.nparties; p++)
		if (strcmp(model.party[p], orgs[1]) == 0)
			model.nkept[p] = 0;
	run_predict(&w, s, NULL, &model, &o);
	assert_int_not_equal(o.party_rc[1], SR_OK);
	assert_non_null(strstr(o.federated_msg[1], "this node holds no part of model"));
	assert_int_not_equal(o.party_rc[0], SR_OK);
	assert_null(o.federated[0]);
	assert_null(o.federated[1]);
	assert_non_null(strstr(o.central_msg[0], "this node holds no part of model"));
	kt_outcome_release(&o);
	/* A failed training job is no model. */
	model = w.tout;
	model.federated_rc = SR_EINVAL;
	run_predict(&w, s, NULL, &model, &o);
	fails_everywhere(&o, 2, "is not a finished train job");
	kt_outcome_release(&o);
	/* Fewer aligned rows than min_group_size: refused at release. */
	kt_policy_free(w.ppol[0]);
	w.ppol[0] = policy_of(&w.pred[0], ", \"min_group_size\": 1000");
	run_predict(&w, s, NULL, NULL, &o);
	assert_int_equal(o.party_rc[0], SR_EPOLICY);
	assert_non_null(strstr(o.federated_msg[0], "fewer than min_group_size 1000"));
	assert_null(o.federated[0]);
	assert_null(o.federated[1]);
	assert_int_equal(o.central_rc[0], SR_EPOLICY);
	kt_outcome_release(&o);
	kt_policy_free(w.ppol[0]);
	w.ppol[0] = policy_of(&w.pred[0], NULL);
	/* Zero aligned rows: the applicants' ids are nobody else's. */
	free_tab(&w.pred[0]);
	make_tab(&w.pred[0], 0, TRAINED, ROWS, 1, 0, 1);
	run_predict(&w, s, NULL, NULL, &o);
	fails_everywhere(&o, 2, "zero aligned rows");
	assert_non_null(strstr(o.federated_msg[1], "zero aligned rows"));
	assert_non_null(strstr(o.central_msg[0], "zero aligned rows"));
	kt_outcome_release(&o);
	json_decref(s);
	world_free(&w);
}


/* ---- a vertical logistic-regression model --------------------------------------- */

/* x on party p's kept scale (train_vertical.c's scale_columns). */
static double lr_scaled(const json_t *part, size_t f, double x)
{
	double lo = json_number_value(json_array_get(json_object_get(part, "lo"), f));
	double hi = json_number_value(json_array_get(json_object_get(part, "hi"), f));

	return hi > lo ? fmin(1, fmax(-1, 2 * (x - lo) / (hi - lo) - 1)) : 0;
}

/* Federated == run_central bit for bit, and within sr_ml_vlr_predict_bound
 * of σ(b + Σ w·x) in double on the pooled rows this test builds. */
static void lr_federated_equals_central(size_t n)
{
	static const char *const meta_keys[] = { "aligned_rows", "parties", "active", "model",
						 "model_type", NULL };
	struct world w;
	struct kt_outcome o;
	json_t *s, *parts[3];
	const json_t *row;
	size_t k, m = 0, ncols = 0;
	uint64_t rows[ROWS];
	double y[ROWS], score[ROWS], worst = 0;
	struct sr_ml_eval ev;
	struct sr_err err = { 0 };

	lr_model = complete_rows = 1;
	s = run_both_equal(&w, n, meta_keys, &o);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o.federated[0], "meta"),
							       "model_type")), "lr");
	for (size_t p = 0; p < n; p++) {
		size_t len;
		const uint8_t *data = kt_kept(&w.tout, orgs[p], p ? "vlr-part" : "vlr-model", &len);
		json_error_t je;
		assert_non_null(data);
		parts[p] = json_loadb((const char *)data, len, 0, &je);
		assert_non_null(parts[p]);
		ncols += nfeat[p];
	}
	for (size_t i = 0; i < w.pred[0].cols[0].rows; i++) {
		size_t r = w.pred[0].person[i];
		int all = 1;
		for (size_t p = 1; p < n; p++)
			all &= holds(p, r);
		if (all)
			rows[m++] = i;
	}
	assert_int_equal(json_array_size(json_object_get(o.federated[0], "rows")), m);
	json_array_foreach(json_object_get(o.federated[0], "rows"), k, row) {
		size_t r = w.pred[0].person[rows[k]];
		double z = json_number_value(json_object_get(parts[0], "intercept")), mag = fabs(z);
		double got = json_real_value(json_array_get(row, 1)), want, bound;
		for (size_t p = 0; p < n; p++)
			for (size_t f = 0; f < nfeat[p]; f++) {
				double t = json_number_value(json_array_get(json_object_get(parts[p], "weights"), f)) *
					   lr_scaled(parts[p], f, csv[r][source[p][f]]);
				z += t;
				mag += fabs(t);
			}
		want = sr_ml_sigmoid(z);
		bound = sr_ml_vlr_predict_bound(n - 1, ncols, mag);
		assert_int_equal(json_integer_value(json_array_get(row, 0)), rows[k]);
		if (!(fabs(got - want) <= bound))
			fail_msg("row %zu: score %.17g, the pooled model's %.17g, bound %.3g", k, got, want,
				 bound);
		worst = fmax(worst, fabs(got - want));
		score[k] = got;
		y[k] = csv[r][30];
	}
	assert_int_equal(sr_ml_eval_scores(y, score, m, &ev, &err), SR_OK);
	print_message("lr, %zu parties: %zu new rows scored, AUC %.4f, max |score - exact| %.3g\n", n,
		      m, ev.auc, worst);
	assert_true(ev.auc > 0.9);
	assert_true(json_equal(json_object_get(o.federated[0], "rows"),
			       json_object_get(o.federated[1], "rows")));
	for (size_t p = 0; p < o.nparties; p++)
		assert_int_equal(o.nkept[p], 0);
	kt_outcome_release(&o);
	/* Bad input at the lr path: wrong features, a part missing, a NULL
	 * feature, zero aligned rows; each fails at every party. */
	if (n == 2) {
		struct kt_outcome model = w.tout;
		json_t *bad = predict_spec(2, JOB, "[\"wsmooth\", \"wtexture\"]", NULL, NULL);
		run_predict(&w, bad, NULL, NULL, &o);
		fails_everywhere(&o, 2, "must be exactly the features");
		kt_outcome_release(&o);
		json_decref(bad);
		for (size_t p = 0; p < model.nparties; p++)
			if (strcmp(model.party[p], orgs[1]) == 0)
				model.nkept[p] = 0;
		run_predict(&w, s, NULL, &model, &o);
		assert_int_not_equal(o.party_rc[0], SR_OK);
		assert_int_not_equal(o.party_rc[1], SR_OK);
		assert_non_null(strstr(o.federated_msg[1], "this node holds no part of model"));
		assert_null(o.federated[0]);
		assert_null(o.federated[1]);
		kt_outcome_release(&o);
		free_tab(&w.pred[0]);
		complete_rows = 0;
		make_tab(&w.pred[0], 0, TRAINED, ROWS, 1, 0, 0);
		/* The shop's table with NULLs. */
		free_tab(&w.pred[1]);
		make_tab(&w.pred[1], 1, 0, ROWS, 0, 0, 0);
		w.train[1] = w.pred[1];
		run_predict(&w, s, NULL, NULL, &o);
		assert_int_not_equal(o.party_rc[1], SR_OK);
		assert_non_null(strstr(o.federated_msg[1], "needs complete rows"));
		fails_everywhere(&o, 2, "");
		kt_outcome_release(&o);
		free_tab(&w.pred[0]);
		make_tab(&w.pred[0], 0, TRAINED, ROWS, 1, 0, 1);
		run_predict(&w, s, NULL, NULL, &o);
		fails_everywhere(&o, 2, "zero aligned rows");
		kt_outcome_release(&o);
	}
	for (size_t p = 0; p < n; p++)
		json_decref(parts[p]);
	json_decref(s);
	world_free(&w);
	lr_model = complete_rows = 0;
}

static void test_lr_two_parties(void **state)
{
	(void)state;
	lr_federated_equals_central(2);
}

static void test_lr_three_parties(void **state)
{
	(void)state;
	lr_federated_equals_central(3);
}

static struct sr_verdict verdict_of(const json_t *s, struct sr_policy **pol, size_t n)
{
	struct sr_check_dataset ds[3];
	struct sr_verdict v;
	struct sr_err err = { 0 };

	for (size_t p = 0; p < n; p++)
		ds[p] = (struct sr_check_dataset){ pred_names[p], orgs[p], pol[p], 200 };
	sr_verdict_init(&v);
	if (sr_check_job(s, ds, n, 0, &v, &err) != SR_OK)
		fail_msg("check: %s", err.msg);
	return v;
}

static void test_checker(void **state)
{
	struct tab t[2];
	struct sr_policy *pol[2];
	struct sr_check_dataset ds[2];
	struct sr_verdict v;
	struct sr_err err = { 0 };
	json_t *s;

	(void)state;
	load_data();
	make_tab(&t[0], 0, TRAINED, ROWS, 0, 0, 0);
	make_tab(&t[1], 1, 0, ROWS, 0, 0, 0);
	pol[0] = policy_of(&t[0], NULL);
	pol[1] = policy_of(&t[1], NULL);
	s = predict_spec(2, JOB, NULL, NULL, NULL);
	v = verdict_of(s, pol, 2);
	assert_true(v.accept);
	sr_verdict_release(&v);
	json_decref(s);
	/* The active party (inputs[0]'s owner) must be a receiver. */
	s = predict_spec(2, JOB, NULL, NULL, "[\"org_00000000000000000000000000000002\"]");
	v = verdict_of(s, pol, 2);
	assert_true(kt_has_rule(&v, "predict-active-not-receiver"));
	sr_verdict_release(&v);
	json_decref(s);
	/* A key or feature that is not there. */
	s = predict_spec(2, JOB, "[\"wtexture\", \"nope\"]", NULL, NULL);
	v = verdict_of(s, pol, 2);
	assert_false(v.accept);
	sr_verdict_release(&v);
	json_decref(s);
	/* A policy whose jobs leave out predict. */
	kt_policy_free(pol[1]);
	pol[1] = policy_of(&t[1], ", \"jobs\": [\"train\"]");
	s = predict_spec(2, JOB, NULL, NULL, NULL);
	v = verdict_of(s, pol, 2);
	assert_true(kt_has_rule(&v, "kind-not-allowed"));
	sr_verdict_release(&v);
	/* Malformed: the model is not a job id; one input; a feature twice. */
	for (int k = 0; k < 3; k++) {
		json_t *bad = json_deep_copy(s);
		const char *want = k == 0 ? "spec.model" : k == 1 ? "spec.inputs" : "listed twice";
		if (k == 0)
			json_object_set_new(bad, "model", json_string("J1"));
		else if (k == 1)
			json_array_remove(json_object_get(bad, "inputs"), 1);
		else
			json_object_set_new(json_array_get(json_object_get(bad, "inputs"), 1), "features",
					    load_json("[\"wtexture\", \"wtexture\"]"));
		for (size_t p = 0; p < 2; p++)
			ds[p] = (struct sr_check_dataset){ pred_names[p], orgs[p], pol[p], 200 };
		sr_verdict_init(&v);
		sr_err_clear(&err);
		assert_int_equal(sr_check_job(bad, ds, 2, 0, &v, &err), SR_EINVAL);
		if (!strstr(err.msg, want))
			fail_msg("case %d: %s", k, err.msg);
		sr_verdict_release(&v);
		json_decref(bad);
	}
	json_decref(s);
	for (size_t p = 0; p < 2; p++) {
		kt_policy_free(pol[p]);
		free_tab(&t[p]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker),
		cmocka_unit_test(test_two_parties),
		cmocka_unit_test(test_three_parties),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_lr_two_parties),
		cmocka_unit_test(test_lr_three_parties),
	};

	train_sb_key_bits = 1024;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
