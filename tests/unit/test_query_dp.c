/*
 * test_query_dp.c - a stochastic test of differential privacy over the
 * query kind's release path, in the style of Google's DP Stochastic
 * Tester: two neighbouring datasets (one identity more, at the bound),
 * many releases of the same query on each, and for every bucket of an
 * output's values the check P[D in B] <= e^eps P[D' in B] + delta, both
 * ways, with a statistical tolerance that a correct mechanism passes with
 * probability at least 1 - 10^-6.
 *
 * The path sampled is the kind's own: the layout and calibration from
 * the spec and policies, local aggregation of the rows into cells, the
 * noise (q_add_noise: the total of every owner's Skellam share), and
 * the release (q_release: thresholds, outputs), the JSON a receiver
 * keeps.  Secure aggregation is left out: it adds the owners' vectors
 * exactly mod 2^64, so it cannot change the distribution (the federated
 * path is compared with this one in test_query.c).
 *
 * The under-noised variant calibrates for epsilon 60 while the test
 * holds the release to epsilon 1: the tester must reject it.
 */
#include "testutil.h"
#include "kindtest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "kinds/query/query.h"
#include "kinds/rows.h"

#define ORG_A "org_00000000000000000000000000000001"
#define ORG_B "org_00000000000000000000000000000002"
#define SAMPLES 3000
#define BINS_MAX 4096

static const char *const names[2] = { "ward", "cost" };
static const enum sr_type types[2] = { SR_TYPE_INT64, SR_TYPE_FLOAT64 };

struct world {
	struct sr_vec cols[2];
	struct sr_table table;
	struct sr_policy *policy;
	struct sr_kind_input input;
	const char *parties[2];
	const char *receivers[1];
	struct sr_kind_ctx ctx;
};

static int scan(void *impl, size_t input, const char *const *columns, size_t ncolumns,
		struct sr_rows *out, struct sr_err *err)
{
	struct world *w = impl;

	(void)input;
	return sr_rows_open_table(&w->table, w->policy->row_filter, columns, ncolumns, out, err);
}

/* rows rows, plus one identity at the bound (cost 1000) when extra. */
static void world_init(struct world *w, const json_t *spec, size_t rows, int extra)
{
	uint64_t seed = 5;
	char buf[32];

	memset(w, 0, sizeof(*w));
	for (int c = 0; c < 2; c++)
		sr_vec_init(&w->cols[c], types[c]);
	for (size_t r = 0; r < rows + (extra ? 1 : 0); r++) {
		uint64_t x = sr_test_rand(&seed);
		int n = snprintf(buf, sizeof(buf), "%d", (int)(x % 3) + 1);
		assert_int_equal(sr_vec_append_text(&w->cols[0], buf, (size_t)n), SR_OK);
		n = r == rows ? snprintf(buf, sizeof(buf), "1000") :
			snprintf(buf, sizeof(buf), "%.3f", (double)((x >> 8) % 8000) / 8.0);
		assert_int_equal(sr_vec_append_text(&w->cols[1], buf, (size_t)n), SR_OK);
	}
	w->table.name = "a.visits";
	w->table.ncols = 2;
	w->table.names = names;
	w->table.cols = w->cols;
	w->table.rows = w->cols[0].rows;
	w->policy = kt_policy("{\"columns\": {\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3]},"
			      " \"cost\": {\"class\": \"sa\", \"bounds\": [0, 1000]}},"
			      " \"dp\": {\"epsilon_total\": 100, \"epsilon_max_per_job\": 60, \"delta\": 0.001}}",
			      names, types, 2);
	w->input.dataset = "a.visits";
	w->input.owner = ORG_A;
	w->input.spec = json_array_get(json_object_get(spec, "inputs"), 0);
	w->input.policy = w->policy;
	w->input.local = 1;
	w->parties[0] = ORG_A;
	w->parties[1] = ORG_B;
	w->receivers[0] = ORG_B;
	w->ctx.spec = spec;
	w->ctx.self = ORG_B;
	w->ctx.parties = w->parties;
	w->ctx.nparties = 2;
	w->ctx.self_index = 1;
	w->ctx.inputs = &w->input;
	w->ctx.ninputs = 1;
	w->ctx.receivers = w->receivers;
	w->ctx.nreceivers = 1;
	w->ctx.receiver = 1;
	w->ctx.impl = w;
	w->ctx.scan = scan;
}

static void world_release(struct world *w)
{
	for (int c = 0; c < 2; c++)
		sr_vec_release(&w->cols[c]);
	kt_policy_free(w->policy);
}

/* SAMPLES releases of output column col (row 0) of the spec's query. */
static void sample(struct world *w, size_t col, double *out)
{
	struct q_layout L;
	struct q_hash seen;
	struct sr_err err;
	uint64_t *cells, *noised;

	sr_err_clear(&err);
	if (q_layout_build(&w->ctx, &L, &err) != SR_OK)
		fail_msg("layout: %s", err.msg);
	cells = sr_calloc(L.ncells, sizeof(*cells));
	noised = sr_calloc(L.ncells, sizeof(*noised));
	assert_non_null(cells);
	assert_non_null(noised);
	q_hash_init(&seen);
	assert_int_equal(q_aggregate_input(&L, &w->ctx, 0, cells, &seen, NULL, &err), SR_OK);
	q_hash_release(&seen);
	for (size_t s = 0; s < SAMPLES; s++) {
		json_t *result;
		const json_t *v;

		memcpy(noised, cells, L.ncells * sizeof(*cells));
		assert_int_equal(q_add_noise(&L, noised, 1, &err), SR_OK);
		result = q_totals_json(&L, noised, NULL);
		assert_non_null(result);
		if (q_release(&L, result, &err) != SR_OK)
			fail_msg("release: %s", err.msg);
		v = json_array_get(json_array_get(json_object_get(result, "rows"), 0), col);
		out[s] = json_number_value(v);
		json_decref(result);
	}
	sr_free(cells);
	sr_free(noised);
	q_layout_release(&L);
}

/*
 * The tester: buckets of width `width`.  The first half of each sample
 * picks the event S, the buckets where one side is more likely than
 * e^epsilon times the other (the likeliest place for a violation); the
 * second half measures P_a(S) - e^epsilon P_b(S) - delta, so the choice
 * does not bias the measure.  With Hoeffding's bound on both
 * frequencies, a mechanism that is (epsilon, delta)-DP gives an excess
 * above 0 with probability under 10^-6 per direction.  Returns the
 * larger excess of the two directions (> 0: a violation).
 */
static double excess_one(const double *a, const double *b, double lo, double width,
			 double epsilon, double delta)
{
	static unsigned ca[BINS_MAX], cb[BINS_MAX];
	size_t half = SAMPLES / 2;
	double pa = 0, pb = 0, tol = sqrt(log(4.0 / 1e-6) / (2.0 * (double)half));

	memset(ca, 0, sizeof(ca));
	memset(cb, 0, sizeof(cb));
	for (size_t s = 0; s < half; s++) {
		size_t i = (size_t)floor((a[s] - lo) / width), j = (size_t)floor((b[s] - lo) / width);
		ca[i < BINS_MAX ? i : BINS_MAX - 1]++;
		cb[j < BINS_MAX ? j : BINS_MAX - 1]++;
	}
	for (size_t s = half; s < SAMPLES; s++) {
		size_t i = (size_t)floor((a[s] - lo) / width), j = (size_t)floor((b[s] - lo) / width);
		i = i < BINS_MAX ? i : BINS_MAX - 1;
		j = j < BINS_MAX ? j : BINS_MAX - 1;
		if (ca[i] > exp(epsilon) * cb[i])
			pa += 1.0 / (double)half;
		if (ca[j] > exp(epsilon) * cb[j])
			pb += 1.0 / (double)half;
	}
	return pa - exp(epsilon) * pb - delta - tol * (1 + exp(epsilon));
}

static double dp_excess(const double *a, const double *b, double width, double epsilon,
			double delta)
{
	double lo = INFINITY;

	for (size_t s = 0; s < SAMPLES; s++)
		lo = fmin(lo, fmin(a[s], b[s]));
	return fmax(excess_one(a, b, lo, width, epsilon, delta),
		    excess_one(b, a, lo, width, epsilon, delta));
}

static json_t *spec_for(const char *epsilon)
{
	json_t *spec = json_pack("{s:s,s:s,s:[{s:s}],s:[s],s:s,s:s}", "kind", "query",
				 "sql", "SELECT COUNT(*), SUM(cost) FROM a.visits",
				 "inputs", "dataset", "a.visits", "receivers", ORG_B,
				 "epsilon", epsilon, "delta", "0.00001");
	assert_non_null(spec);
	return spec;
}

/* Excess for COUNT(*) and SUM(cost) of the query calibrated at epsilon,
 * held to epsilon 1. */
static void run_tester(const char *epsilon, double *count_excess, double *sum_excess)
{
	json_t *spec = spec_for(epsilon);
	struct world d, d2;
	double *a = sr_calloc(SAMPLES, sizeof(double)), *b = sr_calloc(SAMPLES, sizeof(double));
	double sd;
	struct q_layout L;
	struct sr_err err;

	assert_true(a && b);
	world_init(&d, spec, 500, 0);
	world_init(&d2, spec, 500, 1);
	sample(&d, 0, a);
	sample(&d2, 0, b);
	*count_excess = dp_excess(a, b, 1, 1.0, 1e-5);
	sample(&d, 1, a);
	sample(&d2, 1, b);
	sr_err_clear(&err);
	assert_int_equal(q_layout_build(&d.ctx, &L, &err), SR_OK);
	/* Buckets a quarter of the sum's noise wide (at least 1). */
	{
		const struct q_acc *sum = &L.accs[L.agg_accs[1].sum];
		sd = fmax(1, sum->stddev * sum->quantum / (double)sum->fx.scale / 4);
	}
	q_layout_release(&L);
	*sum_excess = dp_excess(a, b, sd, 1.0, 1e-5);
	world_release(&d);
	world_release(&d2);
	sr_free(a);
	sr_free(b);
	json_decref(spec);
}

static void test_dp_tester(void **state)
{
	double count_ok, sum_ok, count_bad, sum_bad;

	(void)state;
	run_tester("1", &count_ok, &sum_ok);
	print_message("calibrated for epsilon 1: largest excess COUNT %.4f, SUM %.4f (<= 0 passes)\n",
		      count_ok, sum_ok);
	assert_true(count_ok <= 0);
	assert_true(sum_ok <= 0);
	run_tester("60", &count_bad, &sum_bad);
	print_message("under-noised (calibrated for epsilon 60, held to 1): excess COUNT %.4f, SUM %.4f (> 0 caught)\n",
		      count_bad, sum_bad);
	assert_true(count_bad > 0 || sum_bad > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dp_tester),
	};
	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
