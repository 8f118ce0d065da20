/*
 * test_kinds.c - every job kind against its plaintext oracle: each
 * receiver's federated result (every party's `run` in its own thread over
 * in-memory pipes, reading only its own tables) equals `run_central` on the
 * pooled tables, after `release`; plus the registry and release refusals.
 * Kinds: psi, and the test-only test_sum (tests/kinds/sum/).
 */
#include "testutil.h"
#include "kindtest.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"

#define BANK "org_00000000000000000000000000000001"
#define SHOP "org_00000000000000000000000000000002"
#define INSURER "org_00000000000000000000000000000003"

/* A two-column table: a string key (some NULL, some duplicated, some with
 * case and space differences) and an int64 amount. */
struct table {
	struct sr_vec cols[2];
	const char *names[2];
};

static void table_make(struct table *t, uint64_t seed, size_t rows, size_t space,
		       int messy)
{
	t->names[0] = "key";
	t->names[1] = "amount";
	sr_vec_init(&t->cols[0], SR_TYPE_STRING);
	sr_vec_init(&t->cols[1], SR_TYPE_INT64);
	for (size_t r = 0; r < rows; r++) {
		uint64_t x = sr_test_rand(&seed);
		char key[32];
		int n;

		if (messy && x % 41 == 0) {
			assert_int_equal(sr_vec_append_null(&t->cols[0]), SR_OK);
		} else {
			n = snprintf(key, sizeof(key), messy && x % 7 == 0 ? " K%05llu " :
				     messy && x % 5 == 0 ? "k%05llu" : "K%05llu",
				     (unsigned long long)((x >> 8) % space));
			assert_int_equal(sr_vec_append_text(&t->cols[0], key, (size_t)n), SR_OK);
		}
		n = snprintf(key, sizeof(key), "%lld", (long long)((x >> 20) % 1000) - 100);
		assert_int_equal(sr_vec_append_text(&t->cols[1], key, (size_t)n), SR_OK);
	}
}

static void table_release(struct table *t)
{
	sr_vec_release(&t->cols[0]);
	sr_vec_release(&t->cols[1]);
}

static const char *const names[] = { "key", "amount" };
static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64 };

static struct sr_policy *policy(const char *extra)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"columns\": {\"key\": {\"class\": \"id\"},"
		 " \"amount\": {\"class\": \"sa\", \"bounds\": [-100, 900]}}%s%s}",
		 extra ? ", " : "", extra ? extra : "");
	return kt_policy(text, names, types, 2);
}

static void add_input(struct kt_job *job, const char *dataset, const char *owner,
		      struct table *t, struct sr_policy *p)
{
	struct kt_input *in = &job->inputs[job->ninputs++];

	in->dataset = dataset;
	in->owner = owner;
	in->table.name = dataset;
	in->table.ncols = 2;
	in->table.names = t->names;
	in->table.cols = t->cols;
	in->table.rows = t->cols[0].rows;
	in->policy = p;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("spec: %s", e.text);
	return j;
}

static const char *const psi_meta[] = { "mode", "size", "duplicates_removed",
	"input_rows", "column", "dataset", NULL };

/* Federated equals central for every receiver; returns the first result. */
static void expect_oracle(const struct kt_job *job, struct kt_outcome *o)
{
	kt_run(job, o);
	if (o->federated_rc)
		fail_msg("federated run failed: %s | %s | %s", o->federated_msg[0],
			 o->federated_msg[1], o->federated_msg[2]);
	for (size_t r = 0; r < o->nreceivers; r++) {
		if (o->central_rc[r])
			fail_msg("central run failed: %s", o->central_msg[r]);
		if (!kt_same_result(o->federated[r], o->central[r], psi_meta)) {
			char *a = json_dumps(o->federated[r], JSON_COMPACT);
			char *b = json_dumps(o->central[r], JSON_COMPACT);
			fail_msg("receiver %zu: federated %.300s\ncentral %.300s", r, a, b);
		}
	}
}

static void test_registry(void **state)
{
	(void)state;
	assert_non_null(sr_kind_find("psi"));
	assert_non_null(sr_kind_find("test_sum"));
	assert_null(sr_kind_find("nope"));
	assert_null(sr_kind_find(NULL));
	assert_int_equal(sr_kind_register(sr_kind_find("psi")), SR_EEXIST);
	assert_non_null(strstr(sr_kind_names(), "psi"));
	for (size_t i = 0; sr_kind_at(i); i++) {
		const struct sr_job_kind *k = sr_kind_at(i);
		assert_true(k->name && k->check && k->run && k->run_central && k->summary);
	}
}

static void test_psi_two_parties(void **state)
{
	struct table a, b;
	struct sr_policy *pa = policy(NULL), *pb = policy(NULL);
	struct kt_outcome o;
	struct kt_job job;
	const char *modes[] = { "intersection", "cardinality" };
	/* No protocol key (auto), then each one explicitly; kkrt runs
	 * intersection only. */
	const char *protos[] = { "", "\"protocol\": \"ecdh\",", "\"protocol\": \"kkrt\"," };

	(void)state;
	table_make(&a, 1, 3000, 4000, 1);
	table_make(&b, 2, 2500, 4000, 1);
	for (int m = 0; m < 2; m++)
		for (int pr = 0; pr < 3 - m; pr++)
		for (int norm = 0; norm < 2; norm++)
			for (int both = 0; both < 2; both++) {
				char spec[700];
				const char *ran = m == 1 || pr == 1 ? "ecdh" : "kkrt";
				memset(&job, 0, sizeof(job));
				snprintf(spec, sizeof(spec),
					 "{\"kind\": \"psi\", \"mode\": \"%s\", %s %s"
					 " \"inputs\": [{\"dataset\": \"bank.c\", \"column\": \"key\"},"
					 " {\"dataset\": \"shop.c\", \"column\": \"key\"}],"
					 " \"receivers\": [\"" SHOP "\"%s]}", modes[m], protos[pr],
					 norm ? "\"normalize\": [\"trim\", \"lower\"]," : "",
					 both ? ", \"" BANK "\"" : "");
				job.spec = parse(spec);
				add_input(&job, "bank.c", BANK, &a, pa);
				add_input(&job, "shop.c", SHOP, &b, pb);
				expect_oracle(&job, &o);
				assert_int_equal(o.nreceivers, (size_t)(1 + both));
				/* Not empty, so the comparison means something. */
				assert_true(json_integer_value(json_object_get(
					json_object_get(o.central[0], "meta"), "size")) > 100);
				/* The result says which protocol ran. */
				for (size_t r = 0; r < o.nreceivers; r++)
					assert_string_equal(json_string_value(json_object_get(
						json_object_get(o.federated[r], "meta"), "protocol")), ran);
				kt_outcome_release(&o);
				json_decref((json_t *)job.spec);
			}
	table_release(&a);
	table_release(&b);
	kt_policy_free(pa);
	kt_policy_free(pb);
}

static void test_psi_three_parties(void **state)
{
	struct table a, b, c;
	struct sr_policy *p = policy(NULL);
	struct kt_outcome o;
	struct kt_job job;

	(void)state;
	table_make(&a, 3, 2000, 2500, 1);
	table_make(&b, 4, 2000, 2500, 0);
	table_make(&c, 5, 1500, 2500, 1);
	memset(&job, 0, sizeof(job));
	job.spec = parse("{\"kind\": \"psi\", \"mode\": \"intersection\","
			 " \"inputs\": [{\"dataset\": \"bank.c\", \"column\": \"key\"},"
			 " {\"dataset\": \"shop.c\", \"column\": \"key\"},"
			 " {\"dataset\": \"insurer.c\", \"column\": \"key\"}],"
			 " \"receivers\": [\"" BANK "\"]}");
	add_input(&job, "bank.c", BANK, &a, p);
	add_input(&job, "shop.c", SHOP, &b, p);
	add_input(&job, "insurer.c", INSURER, &c, p);
	expect_oracle(&job, &o);
	assert_true(json_array_size(json_object_get(o.central[0], "rows")) > 100);
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	table_release(&a);
	table_release(&b);
	table_release(&c);
	kt_policy_free(p);
}

/* min_group_size: a set under it is refused before anything is sent; an
 * intersection under it is not released; federated and central agree. */
static void test_psi_min_group_size(void **state)
{
	struct table a, b, small;
	struct sr_policy *strict = policy("\"min_group_size\": 600");
	struct sr_policy *loose = policy(NULL);
	struct kt_outcome o;
	struct kt_job job;
	const char *spec = "{\"kind\": \"psi\", \"mode\": \"intersection\","
		" \"inputs\": [{\"dataset\": \"bank.c\", \"column\": \"key\"},"
		" {\"dataset\": \"shop.c\", \"column\": \"key\"}], \"receivers\": [\"" BANK "\"]}";

	(void)state;
	table_make(&a, 6, 1000, 100000, 0);   /* few common keys */
	table_make(&b, 7, 1000, 100000, 0);
	table_make(&small, 8, 500, 100000, 0);
	memset(&job, 0, sizeof(job));
	job.spec = parse(spec);
	add_input(&job, "bank.c", BANK, &a, loose);
	add_input(&job, "shop.c", SHOP, &b, strict);
	kt_run(&job, &o);
	/* The intersection is a handful of keys: not released, both ways. */
	assert_int_equal(o.party_rc[0], SR_EPOLICY);
	assert_int_equal(o.party_rc[1], SR_OK);
	assert_int_equal(o.central_rc[0], SR_EPOLICY);
	assert_non_null(strstr(o.central_msg[0], "smaller than the min_group_size 600"));
	assert_null(o.federated[0]);
	kt_outcome_release(&o);
	/* A set of 500 keys against a threshold of 600: the shop refuses
	 * before sending anything. */
	job.inputs[1].table.rows = small.cols[0].rows;
	job.inputs[1].table.cols = small.cols;
	kt_run(&job, &o);
	assert_int_equal(o.party_rc[1], SR_EPOLICY);
	assert_non_null(strstr(o.federated_msg[1], "fewer distinct keys than the min_group_size 600"));
	assert_null(o.federated[0]);
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	table_release(&a);
	table_release(&b);
	table_release(&small);
	kt_policy_free(strict);
	kt_policy_free(loose);
}

static void test_sum(void **state)
{
	struct table a, b, c;
	struct sr_policy *p = policy(NULL), *strict = policy("\"min_group_size\": 100000");
	struct kt_outcome o;
	struct kt_job job;
	double want = 0;

	(void)state;
	table_make(&a, 9, 70000, 1000, 1);   /* more than one batch */
	table_make(&b, 10, 1234, 1000, 1);
	table_make(&c, 11, 10, 1000, 1);
	for (size_t r = 0; r < a.cols[1].rows; r++) want += (double)a.cols[1].v.i64[r];
	for (size_t r = 0; r < b.cols[1].rows; r++) want += (double)b.cols[1].v.i64[r];
	for (size_t r = 0; r < c.cols[1].rows; r++) want += (double)c.cols[1].v.i64[r];
	memset(&job, 0, sizeof(job));
	job.spec = parse("{\"kind\": \"test_sum\","
			 " \"inputs\": [{\"dataset\": \"bank.c\", \"column\": \"amount\"},"
			 " {\"dataset\": \"shop.c\", \"column\": \"amount\"},"
			 " {\"dataset\": \"insurer.c\", \"column\": \"amount\"}],"
			 " \"receivers\": [\"" SHOP "\"]}");
	add_input(&job, "bank.c", BANK, &a, p);
	add_input(&job, "shop.c", SHOP, &b, p);
	add_input(&job, "insurer.c", INSURER, &c, p);
	expect_oracle(&job, &o);
	{
		const json_t *row = json_array_get(json_object_get(o.federated[0], "rows"), 0);
		assert_true(json_real_value(json_array_get(row, 0)) == want);
		assert_int_equal(json_integer_value(json_array_get(row, 1)), 71244);
	}
	kt_outcome_release(&o);
	/* Release: 71,244 rows are fewer than 100,000. */
	job.inputs[2].policy = strict;
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_EPOLICY);
	assert_int_equal(o.central_rc[0], SR_EPOLICY);
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	table_release(&a);
	table_release(&b);
	table_release(&c);
	kt_policy_free(p);
	kt_policy_free(strict);
}

/* Row filters: applied by the scans of both runs, so federated equals
 * central, and the filtered rows are really gone (the answer differs from
 * the unfiltered one). */
static void test_row_filter(void **state)
{
	struct table a, b;
	struct sr_policy *pa = policy(NULL);
	struct sr_policy *pb = policy("\"row_filter\": \"amount >= 400 AND key LIKE 'K%'\"");
	struct sr_policy *pn = policy(NULL);
	struct kt_outcome o, plain;
	struct kt_job job;
	const char *specs[] = {
		"{\"kind\": \"psi\", \"mode\": \"intersection\","
		" \"inputs\": [{\"dataset\": \"bank.c\", \"column\": \"key\"},"
		" {\"dataset\": \"shop.c\", \"column\": \"key\"}], \"receivers\": [\"" BANK "\", \"" SHOP "\"]}",
		"{\"kind\": \"test_sum\","
		" \"inputs\": [{\"dataset\": \"bank.c\", \"column\": \"amount\"},"
		" {\"dataset\": \"shop.c\", \"column\": \"amount\"}], \"receivers\": [\"" BANK "\"]}",
	};

	(void)state;
	table_make(&a, 12, 3000, 3000, 1);
	table_make(&b, 13, 3000, 3000, 1);
	for (size_t k = 0; k < 2; k++) {
		memset(&job, 0, sizeof(job));
		job.spec = parse(specs[k]);
		add_input(&job, "bank.c", BANK, &a, pa);
		add_input(&job, "shop.c", SHOP, &b, pb);
		expect_oracle(&job, &o);
		job.inputs[1].policy = pn;
		expect_oracle(&job, &plain);
		assert_false(kt_same_result(o.central[0], plain.central[0], NULL));
		if (k == 0) {
			/* Every key the bank got is one the shop kept. */
			const json_t *rows = json_object_get(o.federated[1], "rows");
			const json_t *row;
			size_t i;
			assert_true(json_array_size(rows) > 50);
			json_array_foreach(rows, i, row) {
				uint64_t r = (uint64_t)json_integer_value(json_array_get(row, 0));
				assert_true(b.cols[1].v.i64[r] >= 400);
				assert_true(json_string_value(json_array_get(row, 1))[0] == 'K');
			}
		}
		kt_outcome_release(&o);
		kt_outcome_release(&plain);
		json_decref((json_t *)job.spec);
	}
	table_release(&a);
	table_release(&b);
	kt_policy_free(pa);
	kt_policy_free(pb);
	kt_policy_free(pn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_psi_two_parties),
		cmocka_unit_test(test_psi_three_parties),
		cmocka_unit_test(test_psi_min_group_size),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_row_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
