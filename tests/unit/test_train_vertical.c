/*
 * test_train_vertical.c - the `train` kind in vertical mode (SecureBoost,
 * docs/protocols/train.md "Vertical mode") with the kind harness
 * (kindtest.h): every party's run in a thread over in-memory pipes,
 * against run_central on the pooled tables.  Breast-cancer rows split by
 * columns across a bank (the label and 4 features), a shop (3 features,
 * some NULL) and a third party (2 features and a constant one), each with
 * a generated id column, rows dropped, shuffled and duplicated at each
 * party so that the alignment by PSI matters.  Oracles: the federated
 * result (every node's split owner, children, leaf value, gain and cover;
 * the evaluation) equals run_central's; the parts kept at their owners
 * put together (sr_ml_sb_to_gbdt) predict what the result says.  Also
 * bad input (a third label value, zero aligned rows: the job fails at
 * every party, nothing is kept), every checker rule, and the secret test
 * split's distribution.  Vertical logistic regression ("model": "lr",
 * complete rows): the result against run_central (A's weights and the
 * intercept within 1e-4, the evaluation within 1e-3), the parts kept at
 * their owners, and its spec keys.
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
#include "ml/secureboost.h"
#include "policy/checker.h"

#define ROWS_MAX 700
#define COLS_MAX 6

static const char *const orgs[3] = {
	"org_00000000000000000000000000000001", "org_00000000000000000000000000000002",
	"org_00000000000000000000000000000003",
};
static const char *const names[3] = { "bank.customers", "shop.members", "telco.subscribers" };

/* Per party: its columns (the key first) and which CSV column each is. */
static const char *const col_names[3][COLS_MAX] = {
	{ "id", "radius", "texture", "concave", "wradius", "bad" },
	{ "cid", "wtexture", "wsmooth", "wconcave", NULL, NULL },
	{ "sub", "wperimeter", "warea", "const", NULL, NULL },
};
static const size_t ncols[3] = { 6, 4, 4 };
/* CSV column of each feature; 100: the label; 200: the constant 1. */
static const int source[3][COLS_MAX] = {
	{ -1, 0, 1, 7, 20, 100 },
	{ -1, 21, 24, 27, 0, 0 },
	{ -1, 22, 23, 200, 0, 0 },
};

static size_t nrows_all;
static double csv[ROWS_MAX][31];

struct tab {
	enum sr_type types[COLS_MAX];
	struct sr_vec cols[COLS_MAX];
};

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
	while (nrows_all < ROWS_MAX && fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		for (size_t c = 0; c < 31; c++) {
			csv[nrows_all][c] = strtod(p, &end);
			p = end + (*end == ',');
		}
		/* sklearn's target is 0 = malignant: bad = malignant. */
		csv[nrows_all][30] = csv[nrows_all][30] == 0;
		nrows_all++;
	}
	fclose(f);
	assert_int_equal(nrows_all, 569);
}

/* Does party p hold person r?  Each drops a different share. */
static int holds(size_t p, size_t r)
{
	return p == 0 ? r % 9 != 4 : p == 1 ? r % 7 != 2 : r % 5 != 3;
}

/* Logistic regression needs complete rows: no NULL cells then. */
static int complete_rows;

static void add_row(struct tab *t, size_t p, size_t r, int garbage)
{
	for (size_t c = 0; c < ncols[p]; c++) {
		struct sr_vec *v = &t->cols[c];
		double x;
		if (c == 0) {
			x = 100000 + 37 * (double)r;
		} else if (source[p][c] == 100) {
			x = csv[r][30];
		} else if (source[p][c] == 200) {
			x = 1;
		} else if (p == 1 && c == 1 && r % 13 == 0 && !complete_rows) {
			assert_int_equal(sr_vec_append_null(v), SR_OK);
			continue;
		} else {
			x = garbage ? -1e6 : csv[r][source[p][c]];
		}
		assert_int_equal(sr_vec_reserve(v, 1), SR_OK);
		if (v->type == SR_TYPE_INT64)
			v->v.i64[v->rows++] = (int64_t)x;
		else
			v->v.f64[v->rows++] = x;
	}
}

/* Party p's table: its people in its own order (the bank ascending, the
 * others in a shuffled order), the shop with a later duplicate of one id
 * (PSI keeps the first row of a key), label overridden by label_of. */
static void make_tab(struct tab *t, size_t p, double (*label_of)(size_t r))
{
	size_t order[ROWS_MAX], n = 0;
	uint64_t s = 1234 + p;

	for (size_t c = 0; c < ncols[p]; c++) {
		t->types[c] = c == 0 || source[p][c] == 100 ? SR_TYPE_INT64 : SR_TYPE_FLOAT64;
		sr_vec_init(&t->cols[c], t->types[c]);
	}
	for (size_t r = 0; r < nrows_all; r++)
		if (holds(p, r))
			order[n++] = r;
	for (size_t i = n; p > 0 && i > 1; i--) {
		size_t j = (size_t)(sr_ml_prng_next(&s) % i);
		size_t tmp = order[i - 1];
		order[i - 1] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; i < n; i++) {
		add_row(t, p, order[i], 0);
		if (label_of && p == 0)
			t->cols[ncols[p] - 1].v.i64[t->cols[ncols[p] - 1].rows - 1] =
				(int64_t)label_of(order[i]);
		if (p == 1 && order[i] == 10)
			add_row(t, p, order[i], 1);
	}
}

static void free_tab(struct tab *t, size_t p)
{
	for (size_t c = 0; c < ncols[p]; c++)
		sr_vec_release(&t->cols[c]);
}

static struct sr_policy *policy(size_t p, const char *label_col, const char *key_col,
				const char *extra)
{
	char text[4096], cols[2048] = "";
	size_t len = 0;

	for (size_t c = 0; c < ncols[p]; c++)
		len += (size_t)snprintf(cols + len, sizeof(cols) - len, "%s\"%s\": %s", c ? ", " : "",
					col_names[p][c],
					c == 0 ? (key_col ? key_col : "{\"class\": \"id\"}") :
					source[p][c] == 100 ?
					(label_col ? label_col : "{\"class\": \"sa\", \"domain\": [0, 1]}") :
					"{\"class\": \"sa\"}");
	snprintf(text, sizeof(text),
		 "{\"columns\": {%s}, \"receivers\": [\"%s\", \"%s\", \"%s\"]%s}", cols, orgs[0],
		 orgs[1], orgs[2], extra ? extra : "");
	return kt_policy(text, col_names[p], p == 0 ?
			 (const enum sr_type[]){ SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_FLOAT64,
				 SR_TYPE_FLOAT64, SR_TYPE_FLOAT64, SR_TYPE_INT64 } :
			 (const enum sr_type[]){ SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_FLOAT64,
				 SR_TYPE_FLOAT64 },
			 ncols[p]);
}

/* The spec for n parties; extra: more top-level keys. */
static json_t *spec(size_t n, const char *extra)
{
	char text[4096], inputs[2048] = "";
	size_t len = 0;
	json_error_t je;
	json_t *s;

	for (size_t p = 0; p < n; p++) {
		len += (size_t)snprintf(inputs + len, sizeof(inputs) - len,
					"%s{\"dataset\": \"%s\", \"key\": \"%s\", \"features\": [", p ? ", " : "",
					names[p], col_names[p][0]);
		for (size_t c = 1; c < ncols[p]; c++)
			if (source[p][c] != 100)
				len += (size_t)snprintf(inputs + len, sizeof(inputs) - len, "%s\"%s\"",
							c > 1 ? ", " : "", col_names[p][c]);
		len += (size_t)snprintf(inputs + len, sizeof(inputs) - len, "]%s}",
					p == 0 ? ", \"label\": \"bad\"" : "");
	}
	snprintf(text, sizeof(text),
		 "{\"kind\": \"train\", \"mode\": \"vertical\", \"model\": \"gbdt\","
		 " \"trees\": 4, \"depth\": 3, \"bins\": 16, \"learning_rate\": \"0.3\","
		 " \"test_ratio\": \"0.25\", \"inputs\": [%s], \"receivers\": [\"%s\", \"%s\"]%s}",
		 inputs, orgs[0], orgs[1], extra ? extra : "");
	s = json_loads(text, 0, &je);
	if (!s)
		fail_msg("spec: %s in %s", je.text, text);
	return s;
}

static void setup(struct kt_job *job, const json_t *s, struct tab *t, struct sr_policy **pol,
		  size_t n)
{
	memset(job, 0, sizeof(*job));
	job->spec = s;
	job->ninputs = n;
	for (size_t p = 0; p < n; p++) {
		job->inputs[p].dataset = names[p];
		job->inputs[p].owner = orgs[p];
		job->inputs[p].table = (struct sr_table){ names[p], ncols[p], col_names[p],
							  t[p].cols, t[p].cols[0].rows };
		job->inputs[p].policy = pol[p];
	}
}

static struct sr_verdict verdict_of(const json_t *s, struct sr_policy **pol, size_t n)
{
	struct sr_check_dataset ds[3];
	struct sr_verdict v;
	struct sr_err err = { 0 };

	for (size_t p = 0; p < n; p++)
		ds[p] = (struct sr_check_dataset){ names[p], orgs[p], pol[p], 200 };
	sr_verdict_init(&v);
	if (sr_check_job(s, ds, n, 0, &v, &err) != SR_OK)
		fail_msg("check: %s", err.msg);
	return v;
}

/* The people every party of n holds, in the bank's order. */
static size_t expected_aligned(size_t n)
{
	size_t k = 0;

	for (size_t r = 0; r < nrows_all; r++) {
		int all = 1;
		for (size_t p = 0; p < n; p++)
			all &= holds(p, r);
		k += (size_t)all;
	}
	return k;
}

static void run_federated_equals_central(size_t n, const char *extra)
{
	static const char *const meta_keys[] = { "evaluation", "importance", "aligned_rows",
						 "train_rows", "test_rows", "trees_kept", "params",
						 "parties", "active", NULL };
	struct tab t[3];
	struct sr_policy *pol[3];
	struct kt_job job;
	struct kt_outcome o;
	json_t *s;
	const json_t *meta, *ev;

	load_data();
	for (size_t p = 0; p < n; p++) {
		make_tab(&t[p], p, NULL);
		pol[p] = policy(p, NULL, NULL, NULL);
	}
	s = spec(n, extra);
	{
		struct sr_verdict v = verdict_of(s, pol, n);
		if (!v.accept)
			fail_msg("refused: %s", v.count ? v.violations[0].message : "?");
		sr_verdict_release(&v);
	}
	setup(&job, s, t, pol, n);
	kt_run(&job, &o);
	if (o.federated_rc)
		fail_msg("federated: %s | %s | %s (central: %s, %s)", o.federated_msg[0],
			 o.federated_msg[1], o.federated_msg[2], o.central_rc[0] ? "failed" : "ok",
			 o.central_msg[0]);
	if (o.central_rc[0])
		fail_msg("central: %s", o.central_msg[0]);
	for (size_t r = 0; r < o.nreceivers; r++) {
		assert_non_null(o.federated[r]);
		assert_non_null(o.central[r]);
		if (!kt_same_result(o.federated[r], o.central[r], meta_keys)) {
			char *a = json_dumps(o.federated[r], JSON_COMPACT | JSON_SORT_KEYS);
			char *b = json_dumps(o.central[r], JSON_COMPACT | JSON_SORT_KEYS);
			fail_msg("receiver %zu: federated %.1500s\n central %.1500s", r, a, b);
		}
	}
	meta = json_object_get(o.federated[0], "meta");
	assert_int_equal(json_integer_value(json_object_get(meta, "aligned_rows")),
			 (json_int_t)expected_aligned(n));
	assert_int_equal(json_integer_value(json_object_get(meta, "train_rows")) +
			 json_integer_value(json_object_get(meta, "test_rows")),
			 (json_int_t)expected_aligned(n));
	ev = json_object_get(meta, "evaluation");
	if (extra && strstr(extra, "squared")) {
		/* A regression of the 0/1 label: RMSE well under the 0.5 of
		 * guessing the middle. */
		assert_true(json_real_value(json_object_get(ev, "rmse")) < 0.35);
		assert_true(json_real_value(json_object_get(ev, "mae")) > 0);
	} else {
		assert_true(json_real_value(json_object_get(ev, "auc")) > 0.9);
		assert_true(json_array_size(json_object_get(ev, "roc")) > 2);
	}
	/* Passive parties' splits are named by party and number only. */
	{
		const json_t *row;
		size_t i, passive = 0;
		json_array_foreach(json_object_get(o.federated[0], "rows"), i, row) {
			const char *split = json_string_value(json_array_get(row, 2));
			passive += split && strncmp(split, "party org_", 10) == 0;
		}
		assert_true(passive > 0);
	}
	/* The parts at their owners: the model (bank) and each part, which
	 * together predict exactly what the bank's model was evaluated with. */
	{
		struct sr_ml_sb_model m = { 0 };
		struct sr_ml_sb_part parts[2];
		struct sr_ml_gbdt g = { 0 };
		struct sr_err err = { 0 };
		const uint8_t *data;
		size_t len;

		memset(parts, 0, sizeof(parts));
		data = kt_kept(&o, orgs[0], "secureboost-model", &len);
		assert_non_null(data);
		assert_int_equal(sr_ml_sb_model_decode((const char *)data, len, &m, &err), SR_OK);
		for (size_t p = 1; p < n; p++) {
			data = kt_kept(&o, orgs[p], "secureboost-part", &len);
			assert_non_null(data);
			assert_int_equal(sr_ml_sb_part_decode((const char *)data, len, &parts[p - 1], &err),
					 SR_OK);
			assert_null(kt_kept(&o, orgs[p], "secureboost-model", &len));
		}
		assert_int_equal(sr_ml_sb_to_gbdt(&m, parts, n - 1, &g, &err), SR_OK);
		assert_int_equal(g.best_trees, json_integer_value(json_object_get(meta, "trees_kept")));
		assert_int_equal(g.cols, 4 + 3 + (n > 2 ? 3 : 0));
		/* Node for node, the pooled model is the result's trees, now
		 * with every owner's feature and threshold. */
		{
			const json_t *row;
			size_t i, nodes = 0;
			json_array_foreach(json_object_get(o.federated[0], "rows"), i, row) {
				size_t tr = (size_t)json_integer_value(json_array_get(row, 0));
				size_t k = (size_t)json_integer_value(json_array_get(row, 1));
				const struct sr_ml_node *nd;
				assert_true(tr < g.best_trees && k < g.trees[tr].nnodes);
				nd = &g.trees[tr].nodes[k];
				assert_int_equal(nd->left, json_integer_value(json_array_get(row, 3)));
				assert_int_equal(nd->right, json_integer_value(json_array_get(row, 4)));
				assert_true(nd->value == json_real_value(json_array_get(row, 5)));
				if (nd->left)
					assert_true(isfinite(nd->threshold));
				if (json_is_string(json_array_get(row, 2)) && nd->feature < 4)
					assert_string_equal(json_string_value(json_array_get(row, 2)),
							    col_names[0][1 + nd->feature]);
				nodes++;
			}
			for (size_t tr = 0; tr < g.best_trees; tr++)
				nodes -= g.trees[tr].nnodes;
			assert_int_equal(nodes, 0);
		}
		print_message("%zu parties: %lld aligned rows, %s %.4f, %zu nodes\n", n,
			      (long long)json_integer_value(json_object_get(meta, "aligned_rows")),
			      extra ? "RMSE" : "AUC",
			      json_real_value(json_object_get(ev, extra ? "rmse" : "auc")),
			      json_array_size(json_object_get(o.federated[0], "rows")));
		sr_ml_gbdt_release(&g);
		sr_ml_sb_model_release(&m);
		for (size_t p = 0; p + 1 < n; p++)
			sr_ml_sb_part_release(&parts[p]);
	}
	kt_outcome_release(&o);
	json_decref(s);
	for (size_t p = 0; p < n; p++) {
		kt_policy_free(pol[p]);
		free_tab(&t[p], p);
	}
}

static void test_two_parties(void **state)
{
	(void)state;
	run_federated_equals_central(2, NULL);
}

/* The squared loss, row subsampling and early stopping on the test rows. */
static void test_options(void **state)
{
	(void)state;
	run_federated_equals_central(2, ", \"loss\": \"squared\", \"subsample\": \"0.7\", \"seed\": 5,"
				     " \"trees\": 12, \"early_stopping_rounds\": 2, \"lambda\": \"0.5\"");
}

/* A's weights of a vertical lr envelope, by feature name. */
static double lr_weight(const json_t *result, const char *feature)
{
	const json_t *row;
	size_t i;

	json_array_foreach(json_object_get(result, "rows"), i, row)
		if (strcmp(json_string_value(json_array_get(row, 0)), feature) == 0)
			return json_is_null(json_array_get(row, 2)) ? NAN :
				json_real_value(json_array_get(row, 2));
	fail_msg("no row for %s", feature);
	return NAN;
}

/*
 * Vertical lr ("model": "lr"): the federated result against run_central
 * (the parties' scaling and sr_ml_lr_train in double with the same
 * schedule): the same rows, A's weights and the intercept within 1e-4,
 * the passive parties' weights absent (null) from both, the evaluation
 * within 1e-3; the parts kept at their owners, each with its own
 * weights only.
 */
static void run_lr(size_t n, const char *extra)
{
	struct tab t[3];
	struct sr_policy *pol[3];
	struct kt_job job;
	struct kt_outcome o;
	char text[4096];
	json_t *s, *base;
	json_error_t je;

	load_data();
	complete_rows = 1;
	for (size_t p = 0; p < n; p++) {
		make_tab(&t[p], p, NULL);
		pol[p] = policy(p, NULL, NULL, NULL);
	}
	complete_rows = 0;
	base = spec(n, NULL);
	for (size_t k = 0; k < 4; k++)
		json_object_del(base, (const char *const[]){ "trees", "depth", "bins", "learning_rate" }[k]);
	snprintf(text, sizeof(text),
		 "{\"model\": \"lr\", \"epochs\": 5, \"batch\": 64, \"learning_rate\": \"0.25\", \"l2\": \"0.001\"%s}",
		 extra ? extra : "");
	s = json_loads(text, 0, &je);
	assert_non_null(s);
	assert_int_equal(json_object_update(base, s), 0);
	json_decref(s);
	s = base;
	{
		struct sr_verdict v = verdict_of(s, pol, n);
		if (!v.accept)
			fail_msg("refused: %s", v.count ? v.violations[0].message : "?");
		sr_verdict_release(&v);
	}
	setup(&job, s, t, pol, n);
	kt_run(&job, &o);
	if (o.federated_rc)
		fail_msg("federated: %s | %s | %s (central: %s, %s)", o.federated_msg[0],
			 o.federated_msg[1], o.federated_msg[2], o.central_rc[0] ? "failed" : "ok",
			 o.central_msg[0]);
	if (o.central_rc[0])
		fail_msg("central: %s", o.central_msg[0]);
	for (size_t r = 0; r < o.nreceivers; r++) {
		const json_t *f = o.federated[r], *c = o.central[r];
		const json_t *fm = json_object_get(f, "meta"), *cm = json_object_get(c, "meta");
		const json_t *fe = json_object_get(fm, "evaluation"), *ce = json_object_get(cm, "evaluation");
		double maxdiff = 0;

		assert_string_equal(json_string_value(json_object_get(fm, "model")), "lr");
		assert_int_equal(json_array_size(json_object_get(f, "rows")),
				 json_array_size(json_object_get(c, "rows")));
		assert_int_equal(json_array_size(json_object_get(f, "rows")), 1 + 4 + 3 + (n > 2 ? 3 : 0));
		assert_int_equal(json_integer_value(json_object_get(fm, "epochs_run")),
				 json_integer_value(json_object_get(cm, "epochs_run")));
		for (const char *const *k = (const char *const[]){ "aligned_rows", "train_rows", "test_rows", NULL }; *k; k++)
			assert_int_equal(json_integer_value(json_object_get(fm, *k)),
					 json_integer_value(json_object_get(cm, *k)));
		assert_int_equal(json_integer_value(json_object_get(fm, "aligned_rows")),
				 (json_int_t)expected_aligned(n));
		maxdiff = fabs(lr_weight(f, "(intercept)") - lr_weight(c, "(intercept)"));
		for (size_t ci = 1; ci < 5; ci++)
			maxdiff = fmax(maxdiff, fabs(lr_weight(f, col_names[0][ci]) - lr_weight(c, col_names[0][ci])));
		assert_true(maxdiff <= 1e-4);
		assert_true(isnan(lr_weight(f, col_names[1][1])) && isnan(lr_weight(c, col_names[1][1])));
		for (const char *const *k = (const char *const[]){ "auc", "ks", "accuracy", "logloss", NULL }; *k; k++)
			assert_true(fabs(json_real_value(json_object_get(fe, *k)) -
					 json_real_value(json_object_get(ce, *k))) <= 1e-3);
		assert_true(json_real_value(json_object_get(fe, "auc")) > 0.9);
		assert_true(json_array_size(json_object_get(fe, "roc")) > 2);
		print_message("vertical lr, %zu parties, receiver %zu: AUC %.4f (central %.4f), max |w - w_central| %.3g\n",
			      n, r, json_real_value(json_object_get(fe, "auc")),
			      json_real_value(json_object_get(ce, "auc")), maxdiff);
	}
	/* The parts at their owners: A's weights and intercept, each passive
	 * party's own weights only. */
	for (size_t p = 0; p < n; p++) {
		size_t len;
		const uint8_t *data = kt_kept(&o, orgs[p], p ? "vlr-part" : "vlr-model", &len);
		json_t *part;

		assert_non_null(data);
		part = json_loadb((const char *)data, len, 0, &je);
		assert_non_null(part);
		assert_string_equal(json_string_value(json_object_get(part, "kind")),
				    p ? "vlr-passive" : "vlr-active");
		assert_int_equal(json_array_size(json_object_get(part, "weights")), p ? 3 : 4);
		assert_int_equal(json_object_get(part, "intercept") != NULL, p == 0);
		if (p == 0)
			assert_true(json_real_value(json_object_get(part, "intercept")) ==
				    lr_weight(o.federated[0], "(intercept)"));
		assert_null(kt_kept(&o, orgs[p], p ? "vlr-model" : "vlr-part", &len));
		json_decref(part);
	}
	kt_outcome_release(&o);
	json_decref(s);
	for (size_t p = 0; p < n; p++) {
		kt_policy_free(pol[p]);
		free_tab(&t[p], p);
	}
}

static void test_lr_two_parties(void **state)
{
	(void)state;
	run_lr(2, NULL);
}

/* Three parties (pairwise-masked scores) and early stopping on the test rows. */
static void test_lr_three_parties(void **state)
{
	(void)state;
	run_lr(3, ", \"early_stopping_rounds\": 1, \"epochs\": 8");
}

/* Keys of the other models are refused by name, batch is bounded, epochs
 * and batch are refused outside vertical lr. */
static void test_lr_spec(void **state)
{
	struct train_spec ts;
	struct sr_err err = { 0 };
	json_t *s = spec(2, NULL);

	(void)state;
	json_object_set_new(s, "model", json_string("lr"));
	assert_int_equal(train_spec_parse(s, NULL, 0, &ts, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "spec.trees: not a key of vertical lr"));
	for (size_t k = 0; k < 4; k++)
		json_object_del(s, (const char *const[]){ "trees", "depth", "bins", "learning_rate" }[k]);
	json_object_set_new(s, "batch", json_integer(70000));
	memset(&err, 0, sizeof(err));
	assert_int_equal(train_spec_parse(s, NULL, 0, &ts, &err), SR_EINVAL);
	if (!strstr(err.msg, "spec.batch: expected an integer from 0 to 65536"))
		fail_msg("got %s", err.msg);
	json_object_set_new(s, "batch", json_integer(32));
	assert_int_equal(train_spec_parse(s, NULL, 0, &ts, &err), SR_OK);
	assert_int_equal(ts.lr.batch, 32);
	assert_int_equal(ts.lr.epochs, 10);
	train_spec_release(&ts);
	json_object_set_new(s, "model", json_string("gbdt"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(train_spec_parse(s, NULL, 0, &ts, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "spec.batch: a key of vertical lr only"));
	json_decref(s);
}

static void test_three_parties(void **state)
{
	(void)state;
	run_federated_equals_central(3, NULL);
}

static double three_values(size_t r)
{
	return r == 77 ? 2 : csv[r][30];
}

/* A bad label, zero aligned rows: the job fails at every party with the
 * cause named, nothing released, nothing kept. */
static void test_bad_input_fails_everywhere(void **state)
{
	struct tab t[2];
	struct sr_policy *pol[2];
	struct kt_job job;
	struct kt_outcome o;
	json_t *s;

	(void)state;
	load_data();
	make_tab(&t[0], 0, three_values);
	make_tab(&t[1], 1, NULL);
	pol[0] = policy(0, "{\"class\": \"sa\"}", NULL, NULL);
	pol[1] = policy(1, NULL, NULL, NULL);
	s = spec(2, NULL);
	setup(&job, s, t, pol, 2);
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_EINVAL);
	assert_non_null(strstr(o.federated_msg[0], "label bad is another value, expected 0 or 1"));
	/* Person 77 is the bank's row 68 (it lacks every 9th from 4). */
	assert_non_null(strstr(o.federated_msg[0], "bank.customers row 68"));
	assert_int_not_equal(o.party_rc[1], SR_OK);
	assert_null(o.federated[0]);
	assert_null(o.federated[1]);
	assert_int_equal(o.central_rc[0], SR_EINVAL);
	assert_int_equal(o.nkept[0] + o.nkept[1], 0);
	kt_outcome_release(&o);
	free_tab(&t[0], 0);
	/* Zero aligned rows: the shop's ids shifted away from the bank's. */
	make_tab(&t[0], 0, NULL);
	for (size_t r = 0; r < t[1].cols[0].rows; r++)
		t[1].cols[0].v.i64[r] += 1;
	setup(&job, s, t, pol, 2);
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_EINVAL);
	for (size_t p = 0; p < 2; p++) {
		assert_int_equal(o.party_rc[p], SR_EINVAL);
		assert_non_null(strstr(o.federated_msg[p], "zero aligned rows"));
	}
	assert_int_equal(o.central_rc[0], SR_EINVAL);
	assert_non_null(strstr(o.central_msg[0], "zero aligned rows"));
	assert_int_equal(o.nkept[0] + o.nkept[1], 0);
	kt_outcome_release(&o);
	/* A runner without the keep hook: refused at every party that would
	 * hold a part, before anything is computed. */
	for (size_t r = 0; r < t[1].cols[0].rows; r++)
		t[1].cols[0].v.i64[r] -= 1;
	kt_no_keep = 1;
	setup(&job, s, t, pol, 2);
	kt_run(&job, &o);
	kt_no_keep = 0;
	for (size_t p = 0; p < 2; p++) {
		assert_int_equal(o.party_rc[p], SR_EINVAL);
		assert_non_null(strstr(o.federated_msg[p], "cannot keep model parts"));
	}
	assert_null(o.federated[0]);
	assert_int_equal(o.central_rc[0], SR_OK);
	kt_outcome_release(&o);
	json_decref(s);
	for (size_t p = 0; p < 2; p++) {
		kt_policy_free(pol[p]);
		free_tab(&t[p], p);
	}
}

/* When set: the owner of input 1 in expect() (one input per party). */
static const char *owner1;

/* A spec or policy the checker refuses: rule (a violation) or msg (a
 * malformed spec, SR_EINVAL). */
static void expect(const json_t *s, struct sr_policy **pol, size_t n, const char *rule,
		   const char *msg)
{
	struct sr_check_dataset ds[3];
	struct sr_verdict v;
	struct sr_err err = { 0 };
	int rc;

	for (size_t p = 0; p < n; p++)
		ds[p] = (struct sr_check_dataset){ names[p], p == 1 && owner1 ? owner1 : orgs[p],
						   pol[p], 200 };
	sr_verdict_init(&v);
	rc = sr_check_job(s, ds, n, 0, &v, &err);
	if (msg) {
		assert_int_equal(rc, SR_EINVAL);
		if (!strstr(err.msg, msg))
			fail_msg("expected '%s', got '%s'", msg, err.msg);
	} else {
		assert_int_equal(rc, SR_OK);
		assert_false(v.accept);
		if (!kt_has_rule(&v, rule))
			fail_msg("expected rule %s, got %s", rule, v.count ? v.violations[0].rule : "none");
	}
	sr_verdict_release(&v);
}

static void test_checker_rules(void **state)
{
	struct sr_policy *pol[3];
	json_t *s, *b;

	(void)state;
	for (size_t p = 0; p < 3; p++)
		pol[p] = policy(p, NULL, NULL, NULL);
	s = spec(2, NULL);
	{
		struct sr_verdict v = verdict_of(s, pol, 2);
		assert_true(v.accept);
		sr_verdict_release(&v);
	}
	/* The key needs `join`, a feature `feature`, the label `label`. */
	kt_policy_free(pol[1]);
	pol[1] = policy(1, NULL, "{\"class\": \"sa\"}", NULL);
	expect(s, pol, 2, "usage-not-allowed", NULL);
	kt_policy_free(pol[1]);
	pol[1] = policy(1, NULL, NULL, NULL);
	kt_policy_free(pol[0]);
	pol[0] = policy(0, "{\"class\": \"sa\", \"allow\": [\"feature\"]}", NULL, NULL);
	expect(s, pol, 2, "usage-not-allowed", NULL);
	kt_policy_free(pol[0]);
	pol[0] = policy(0, "{\"class\": \"sa\", \"domain\": [0, 1, 2]}", NULL, NULL);
	expect(s, pol, 2, "train-label-not-binary", NULL);
	kt_policy_free(pol[0]);
	/* train among the jobs; receivers allowed by every input. */
	pol[0] = policy(0, NULL, NULL, ", \"jobs\": [\"psi\"]");
	expect(s, pol, 2, "kind-not-allowed", NULL);
	kt_policy_free(pol[0]);
	{
		char text[4096];
		snprintf(text, sizeof(text),
			 "{\"columns\": {\"id\": {\"class\": \"id\"}, \"radius\": {\"class\": \"sa\"},"
			 " \"texture\": {\"class\": \"sa\"}, \"concave\": {\"class\": \"sa\"},"
			 " \"wradius\": {\"class\": \"sa\"}, \"bad\": {\"class\": \"sa\"}},"
			 " \"receivers\": [\"%s\"]}", orgs[0]);
		pol[0] = kt_policy(text, col_names[0],
				   (const enum sr_type[]){ SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_FLOAT64,
					   SR_TYPE_FLOAT64, SR_TYPE_FLOAT64, SR_TYPE_INT64 }, 6);
	}
	/* The shop is a receiver the bank does not allow. */
	expect(s, pol, 2, "train-party-not-receiver", NULL);
	kt_policy_free(pol[0]);
	pol[0] = policy(0, NULL, NULL, NULL);
	/* The active party must be a receiver. */
	b = json_deep_copy(s);
	json_array_remove(json_object_get(b, "receivers"), 0);
	expect(b, pol, 2, "train-active-not-receiver", NULL);
	json_decref(b);
	/* A key column that is not there. */
	b = json_deep_copy(s);
	json_object_set_new(json_array_get(json_object_get(b, "inputs"), 1), "key",
			    json_string("nosuch"));
	expect(b, pol, 2, "unknown-column", NULL);
	json_decref(b);
	/* One input per party. */
	owner1 = orgs[0];
	expect(s, pol, 2, "train-vertical-one-input-per-party", NULL);
	owner1 = NULL;
	json_decref(s);
	/* Malformed specs. */
	{
		static const char *const bad[][2] = {
			{ ", \"model\": \"lr\"", "spec.trees: not a key of vertical lr" },
			{ ", \"first_tree_active_only\": true", "first_tree_active_only: not available yet" },
			{ ", \"label\": \"bad\"", "each input names its own" },
			{ ", \"features\": [\"radius\"]", "each input names its own" },
			{ ", \"trees\": 0", "spec.trees" },
			{ ", \"loss\": \"hinge\"", "spec.loss" },
			{ ", \"test_ratio\": \"0.9\"", "spec.test_ratio" },
			{ ", \"mode\": \"diagonal\"", "spec.mode: 'diagonal'" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			b = spec(2, bad[i][0]);
			expect(b, pol, 2, NULL, bad[i][1]);
			json_decref(b);
		}
	}
	/* No label, two labels, a feature that is the key. */
	s = spec(2, NULL);
	b = json_deep_copy(s);
	json_object_del(json_array_get(json_object_get(b, "inputs"), 0), "label");
	expect(b, pol, 2, NULL, "no input names a label");
	json_decref(b);
	b = json_deep_copy(s);
	json_object_set_new(json_array_get(json_object_get(b, "inputs"), 1), "label",
			    json_string("wsmooth"));
	expect(b, pol, 2, NULL, "exactly one input");
	json_decref(b);
	b = json_deep_copy(s);
	json_array_append_new(json_object_get(json_array_get(json_object_get(b, "inputs"), 1),
					      "features"), json_string("cid"));
	expect(b, pol, 2, NULL, "is the key");
	json_decref(b);
	json_decref(s);
	for (size_t p = 0; p < 3; p++)
		kt_policy_free(pol[p]);
}

/*
 * The test split (train_split_mask): exactly floor(m r) test rows of each
 * class; a function of the key (the same key, the same mask; another key,
 * another mask); not the deterministic k-th-row rule; and, over many keys,
 * each row a test row with probability t/m of its class whatever the
 * label sequence, with pairs of a class both test at t(t-1)/(m(m-1)).
 */
static void test_split_mask(void **state)
{
	enum { N = 1000, TRIALS = 4000 };
	static uint8_t cls[N], mask[N], again[N], other[N];
	uint8_t key[32], key2[32];
	struct sr_err err;
	size_t test[2] = { 0, 0 }, m[2] = { 0, 0 }, rule_same = 1;
	uint64_t seen[2] = { 0, 0 };

	(void)state;
	sr_err_clear(&err);
	for (size_t j = 0; j < N; j++)
		cls[j] = j % 3 == 0;
	memset(key, 7, sizeof(key));
	memset(key2, 8, sizeof(key2));
	assert_int_equal(train_split_mask(key, cls, N, 0.2, mask, &err), SR_OK);
	assert_int_equal(train_split_mask(key, cls, N, 0.2, again, &err), SR_OK);
	assert_int_equal(train_split_mask(key2, cls, N, 0.2, other, &err), SR_OK);
	for (size_t j = 0; j < N; j++) {
		int rule;
		m[cls[j]]++;
		test[cls[j]] += mask[j];
		rule = floor((double)(seen[cls[j]] + 1) * 0.2) > floor((double)seen[cls[j]] * 0.2);
		seen[cls[j]]++;
		rule_same &= rule == mask[j];
	}
	assert_int_equal(test[0], (size_t)floor(m[0] * 0.2));
	assert_int_equal(test[1], (size_t)floor(m[1] * 0.2));
	assert_memory_equal(mask, again, N);
	assert_memory_not_equal(mask, other, N);
	assert_false(rule_same);

	/* Two label sequences of 10 rows, 5 of each class; r = 0.45: t = 2
	 * of 5 per class. */
	static const uint8_t seqs[2][10] = { { 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 },
					     { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 } };
	for (size_t q = 0; q < 2; q++) {
		size_t hits[10] = { 0 }, pair = 0;
		size_t a = 0, b;
		while (seqs[q][a] != 0)
			a++;
		for (b = a + 1; seqs[q][b] != 0; b++)
			;
		for (uint32_t k = 0; k < TRIALS; k++) {
			memcpy(key, &k, sizeof(k));
			assert_int_equal(train_split_mask(key, seqs[q], 10, 0.45, mask, &err), SR_OK);
			for (size_t j = 0; j < 10; j++)
				hits[j] += mask[j];
			pair += mask[a] && mask[b];
		}
		/* p = 2/5: mean 1600, sd 31; pairs p = 1/10: mean 400, sd 19;
		 * five sd either side. */
		for (size_t j = 0; j < 10; j++) {
			assert_in_range(hits[j], 1600 - 155, 1600 + 155);
		}
		assert_in_range(pair, 400 - 95, 400 + 95);
	}

	/* Edges: no rows; one class; a class too small for a test row. */
	assert_int_equal(train_split_mask(key, cls, 0, 0.2, mask, &err), SR_OK);
	memset(cls, 1, 10);
	assert_int_equal(train_split_mask(key, cls, 10, 0.5, mask, &err), SR_OK);
	test[0] = 0;
	for (size_t j = 0; j < 10; j++)
		test[0] += mask[j];
	assert_int_equal(test[0], 5);
	cls[0] = 0;
	assert_int_equal(train_split_mask(key, cls, 2, 0.5, mask, &err), SR_OK);
	assert_int_equal(mask[0] + mask[1], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_rules),
		cmocka_unit_test(test_split_mask),
		cmocka_unit_test(test_two_parties),
		cmocka_unit_test(test_three_parties),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_bad_input_fails_everywhere),
		cmocka_unit_test(test_lr_spec),
		cmocka_unit_test(test_lr_two_parties),
		cmocka_unit_test(test_lr_three_parties),
	};

	if (sr_crypto_init() != SR_OK)
		return 1;
	train_sb_key_bits = 1024;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
