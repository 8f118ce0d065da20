/*
 * test_anon_kind.c - the `anonymize` kind (src/kinds/anonymize/): the
 * federated run (owner and receiver in threads over in-memory pipes)
 * against run_central on the same table, every release through the
 * independent verifier tests/anon_verify.py and through the kind's own
 * release check, mutated releases refused by both; row filters, masks
 * (hash keyed per dataset and receiver, truncate, range) on anonymize
 * and psi output, the checker's rules, and the edge cases (k above the
 * row count, everything suppressed, one class, NULLs in QIs).
 */
#include "testutil.h"
#include "kindtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sodium.h>

#include "anon/anon.h"
#include "base/json.h"
#include "kinds/kind.h"
#include "kinds/mask.h"
#include "policy/checker.h"
#include "store/vec.h"

#define INSURER "org_11111111111111111111111111111111"
#define BANK    "org_22222222222222222222222222222222"
#define OTHER   "org_33333333333333333333333333333333"

#define NCOLS 7
static const char *const names[NCOLS] = { "name", "age", "sex", "zip", "diagnosis",
					  "visits", "plan" };
static const enum sr_type types[NCOLS] = { SR_TYPE_STRING, SR_TYPE_INT64, SR_TYPE_STRING,
					   SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_INT64,
					   SR_TYPE_STRING };

struct table {
	struct sr_vec cols[NCOLS];
};

static const char *const diagnoses[] = { "flu", "asthma", "diabetes", "gout", "migraine",
					 "ulcer" };
static const char *const plans[] = { "GOLD-2020", "SILVER-2021", "BRONZE-2019" };

/* rows people; every 37th has a NULL age when with_nulls. */
static void table_make(struct table *t, uint64_t seed, size_t rows, int with_nulls)
{
	for (size_t c = 0; c < NCOLS; c++)
		sr_vec_init(&t->cols[c], types[c]);
	for (size_t r = 0; r < rows; r++) {
		uint64_t x = sr_test_rand(&seed);
		char buf[32];
		int n;

		n = snprintf(buf, sizeof(buf), "P%05zu", r);
		assert_int_equal(sr_vec_append_text(&t->cols[0], buf, (size_t)n), SR_OK);
		n = snprintf(buf, sizeof(buf), "%d", (int)(18 + x % 63));
		assert_int_equal(with_nulls && r % 37 == 5 ? sr_vec_append_null(&t->cols[1]) :
				 sr_vec_append_text(&t->cols[1], buf, (size_t)n), SR_OK);
		assert_int_equal(sr_vec_append_text(&t->cols[2], (x >> 8) & 1 ? "M" : "F", 1),
				 SR_OK);
		n = snprintf(buf, sizeof(buf), "%d%04d", (int)(1 + (x >> 10) % 3),
			     (int)((x >> 14) % 40));
		assert_int_equal(sr_vec_append_text(&t->cols[3], buf, (size_t)n), SR_OK);
		assert_int_equal(sr_vec_append_text(&t->cols[4], diagnoses[(x >> 20) % 6],
						    strlen(diagnoses[(x >> 20) % 6])), SR_OK);
		n = snprintf(buf, sizeof(buf), "%d", (int)((x >> 30) % 50));
		assert_int_equal(sr_vec_append_text(&t->cols[5], buf, (size_t)n), SR_OK);
		assert_int_equal(sr_vec_append_text(&t->cols[6], plans[(x >> 40) % 3],
						    strlen(plans[(x >> 40) % 3])), SR_OK);
	}
}

static void table_release(struct table *t)
{
	for (size_t c = 0; c < NCOLS; c++)
		sr_vec_release(&t->cols[c]);
}

/* The policy, with extra keys for sa (diagnosis), visits and plan. */
static char *policy_text(const char *diag, const char *visits, const char *plan,
			 const char *top)
{
	char *text = malloc(4096);

	assert_non_null(text);
	snprintf(text, 4096,
		 "{\"columns\": {\"name\": {\"class\": \"id\"},"
		 " \"age\": {\"class\": \"qi\", \"generalize\": {\"intervals\": [5, 10, 20]}},"
		 " \"sex\": {\"class\": \"qi\", \"generalize\": {\"hierarchy\": {\"M\": [\"*\"], \"F\": [\"*\"]}}},"
		 " \"zip\": {\"class\": \"qi\", \"generalize\": {\"prefix\": [3, 1]}},"
		 " \"diagnosis\": {\"class\": \"sa\", \"allow\": [\"reveal\"]%s},"
		 " \"visits\": {\"class\": \"public\"%s},"
		 " \"plan\": {\"class\": \"public\"%s}},"
		 " \"receivers\": [\"" BANK "\", \"" INSURER "\"]%s}",
		 diag ? diag : "", visits ? visits : "", plan ? plan : "", top ? top : "");
	return text;
}

static struct sr_policy *make_policy(const char *diag, const char *visits, const char *plan,
				     const char *top)
{
	char *text = policy_text(diag, visits, plan, top);
	struct sr_policy *p = kt_policy(text, names, types, NCOLS);

	free(text);
	return p;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("json: %s: %s", e.text, text);
	return j;
}

static void job_of(struct kt_job *job, const char *spec, struct table *t,
		   struct sr_policy *p)
{
	memset(job, 0, sizeof(*job));
	job->spec = parse(spec);
	job->ninputs = 1;
	job->inputs[0].dataset = "insurer.policies";
	job->inputs[0].owner = INSURER;
	job->inputs[0].table.name = "insurer.policies";
	job->inputs[0].table.ncols = NCOLS;
	job->inputs[0].table.names = names;
	job->inputs[0].table.cols = t->cols;
	job->inputs[0].table.rows = t->cols[0].rows;
	job->inputs[0].policy = p;
}

#define SPEC(receiver, rest) \
	"{\"kind\": \"anonymize\", \"inputs\": [{\"dataset\": \"insurer.policies\"}]," \
	" \"receivers\": [\"" receiver "\"]" rest "}"

/* Run result through tests/anon_verify.py --result with policy p: its
 * exit status (0 passes). */
static int verify(const struct sr_policy *p, const json_t *result)
{
	char *dir = sr_test_tmpdir(), *script = sr_test_source_path("tests/anon_verify.py");
	char path[512], cmd[1600];
	struct sr_err err;
	json_t *doc = NULL;
	char *text;
	int status;

	sr_err_clear(&err);
	assert_int_equal(sr_policy_to_json(p, &doc, &err), SR_OK);
	text = json_dumps(doc, JSON_COMPACT);
	snprintf(path, sizeof(path), "%s/policy.json", dir);
	sr_test_write_file(path, text, strlen(text));
	free(text);
	json_decref(doc);
	text = json_dumps(result, JSON_COMPACT);
	snprintf(path, sizeof(path), "%s/result.json", dir);
	sr_test_write_file(path, text, strlen(text));
	free(text);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s --result %s/policy.json %s/result.json%s",
		 script, dir, dir, getenv("SR_TEST_VERBOSE") ? "" : " 2>/dev/null >/dev/null");
	status = system(cmd);
	sr_test_tmpdir_free(dir);
	free(script);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The kind's own release check on result, as a receiver runs it. */
static int release_check(const struct kt_job *job, json_t *result, char *msg, size_t size)
{
	const struct sr_job_kind *kind = sr_kind_find("anonymize");
	struct sr_kind_input in;
	struct sr_kind_ctx c;
	struct sr_err err;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&in, 0, sizeof(in));
	in.dataset = job->inputs[0].dataset;
	in.owner = job->inputs[0].owner;
	in.spec = json_array_get(json_object_get(job->spec, "inputs"), 0);
	in.policy = job->inputs[0].policy;
	c.spec = job->spec;
	c.inputs = &in;
	c.ninputs = 1;
	sr_err_clear(&err);
	rc = kind->release(&c, result, &err);
	if (msg)
		snprintf(msg, size, "%s", err.msg);
	return rc;
}

static const char *const meta_keys[] = { "report", "models", "dataset", NULL };

/* Federated equals central, and both pass the verifier.  Returns the
 * federated result (owned by o). */
static const json_t *expect_release(const struct kt_job *job, struct kt_outcome *o)
{
	kt_run(job, o);
	if (o->federated_rc)
		fail_msg("federated run failed: %s | %s", o->federated_msg[0], o->federated_msg[1]);
	if (o->central_rc[0])
		fail_msg("central run failed: %s", o->central_msg[0]);
	if (!kt_same_result(o->federated[0], o->central[0], meta_keys)) {
		char *a = json_dumps(o->federated[0], JSON_COMPACT);
		char *b = json_dumps(o->central[0], JSON_COMPACT);
		fail_msg("federated %.400s\ncentral %.400s", a, b);
	}
	/* Rows in the same order too: grouped by class, deterministic. */
	assert_true(json_equal(json_object_get(o->federated[0], "rows"),
			       json_object_get(o->central[0], "rows")));
	assert_int_equal(verify(job->inputs[0].policy, o->federated[0]), 0);
	return o->federated[0];
}

static const json_t *report_of(const json_t *result)
{
	return json_object_get(json_object_get(result, "meta"), "report");
}

static json_int_t report_int(const json_t *result, const char *key)
{
	return json_integer_value(json_object_get(report_of(result), key));
}

static int column_index(const json_t *result, const char *name)
{
	const json_t *cols = json_object_get(result, "columns");

	for (size_t i = 0; i < json_array_size(cols); i++)
		if (strcmp(json_string_value(json_array_get(cols, i)), name) == 0)
			return (int)i;
	return -1;
}

static void test_release_vs_central(void **state)
{
	static const char *const specs[] = {
		SPEC(BANK, ", \"k\": 5"),
		SPEC(BANK, ", \"k\": 4, \"max_suppression\": \"0.05\","
		     " \"sa\": {\"diagnosis\": {\"ldiv\": \"distinct\", \"l\": 3}}"),
		SPEC(BANK, ", \"k\": 3, \"max_suppression\": \"0.1\","
		     " \"sa\": {\"diagnosis\": {\"ldiv\": \"recursive\", \"l\": 2, \"c\": 3}}"),
		SPEC(BANK, ", \"k\": 3, \"max_suppression\": \"0.1\","
		     " \"sa\": {\"diagnosis\": {\"ldiv\": \"entropy\", \"l\": \"1.5\", \"t\": \"0.4\", \"emd\": \"equal\"}}"),
		SPEC(BANK, ", \"k\": 5, \"metric\": \"discernibility\", \"columns\": [\"age\", \"sex\", \"diagnosis\"]"),
		SPEC(BANK, ", \"k\": 5, \"algorithm\": \"mondrian\","
		     " \"sa\": {\"diagnosis\": {\"l\": 2}}"),
		SPEC(INSURER, ", \"k\": 6, \"metric\": \"aecs\""),
	};
	struct sr_policy *p = make_policy(NULL, NULL, NULL, NULL);
	struct table t;

	(void)state;
	table_make(&t, 7, 400, 1);
	for (size_t i = 0; i < sizeof(specs) / sizeof(*specs); i++) {
		struct kt_outcome o;
		struct kt_job job;
		const json_t *res;

		job_of(&job, specs[i], &t, p);
		res = expect_release(&job, &o);
		assert_int_equal(report_int(res, "rows_in"), 400);
		assert_true(json_array_size(json_object_get(res, "rows")) >= 360);
		/* id dropped, everything else named kept. */
		assert_int_equal(column_index(res, "name"), -1);
		assert_true(column_index(res, "age") >= 0);
		assert_int_equal(release_check(&job, (json_t *)res, NULL, 0), SR_OK);
		kt_outcome_release(&o);
		json_decref((json_t *)job.spec);
	}
	table_release(&t);
	kt_policy_free(p);
}

/* A row dropped, two classes merged, a class's SA values made uniform: the
 * verifier and the kind's release both refuse. */
static void test_mutations(void **state)
{
	struct sr_policy *p = make_policy(NULL, NULL, NULL, NULL);
	struct kt_outcome o;
	struct kt_job job;
	struct table t;
	const json_t *res;
	char msg[256];

	(void)state;
	table_make(&t, 11, 300, 0);
	job_of(&job, SPEC(BANK, ", \"k\": 4, \"sa\": {\"diagnosis\": {\"ldiv\": \"distinct\", \"l\": 2}}"),
	       &t, p);
	res = expect_release(&job, &o);
	{
		/* Drop a row: the suppression limit (0) is broken. */
		json_t *m = json_deep_copy(res);
		json_array_remove(json_object_get(m, "rows"), 0);
		assert_int_equal(verify(p, m), 1);
		assert_int_equal(release_check(&job, m, msg, sizeof(msg)), SR_EPOLICY);
		assert_non_null(strstr(msg, "1 rows suppressed, more than the limit of 0"));
		json_decref(m);
	}
	{
		/* One row's QIs changed to make a class of one. */
		json_t *m = json_deep_copy(res);
		json_t *row = json_array_get(json_object_get(m, "rows"), 0);
		json_array_set_new(row, column_index(m, "zip"), json_string("9*"));
		assert_int_equal(verify(p, m), 1);
		assert_int_equal(release_check(&job, m, msg, sizeof(msg)), SR_EPOLICY);
		assert_non_null(strstr(msg, "zip: 9* is not a label of level"));
		json_decref(m);
	}
	{
		/* Every SA value of the release the same: l = 2 fails. */
		json_t *m = json_deep_copy(res), *row;
		size_t i;
		json_array_foreach(json_object_get(m, "rows"), i, row)
			json_array_set_new(row, column_index(m, "diagnosis"), json_string("flu"));
		assert_int_equal(verify(p, m), 1);
		assert_int_equal(release_check(&job, m, msg, sizeof(msg)), SR_EPOLICY);
		assert_non_null(strstr(msg, "l-diversity or t-closeness"));
		json_decref(m);
	}
	{
		/* A whole class's zip released raw (still k rows): not a
		 * label of the reported level. */
		json_t *m = json_deep_copy(res), *row;
		const json_t *first = json_array_get(json_object_get(m, "rows"), 0);
		int zc = column_index(m, "zip");
		char *label = strdup(json_string_value(json_array_get(first, zc)));
		size_t i;
		json_array_foreach(json_object_get(m, "rows"), i, row)
			if (strcmp(json_string_value(json_array_get(row, zc)), label) == 0)
				json_array_set_new(row, zc, json_string("10001"));
		free(label);
		assert_int_equal(verify(p, m), 1);
		assert_int_equal(release_check(&job, m, msg, sizeof(msg)), SR_EPOLICY);
		assert_non_null(strstr(msg, "zip: 10001 is not a label of level"));
		json_decref(m);
	}
	{
		/* The id column slipped in. */
		json_t *m = json_deep_copy(res);
		json_array_set_new(json_object_get(m, "columns"), 0, json_string("name"));
		assert_int_equal(release_check(&job, m, msg, sizeof(msg)), SR_EPOLICY);
		json_decref(m);
	}
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	table_release(&t);
	kt_policy_free(p);
}

/* sr_anon_verify on its own: classes below k, models, suppression. */
static void test_verify(void **state)
{
	static const char *const qi[] = { "a", "a", "a", "b", "b", "b", "c" };
	static const char *const sa[] = { "x", "y", "x", "x", "x", "x", "y" };
	struct sr_vec q, v;
	struct sr_anon_column cols[2];
	struct sr_anon_params params;
	struct sr_err err;

	(void)state;
	sr_vec_init(&q, SR_TYPE_STRING);
	sr_vec_init(&v, SR_TYPE_STRING);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(sr_vec_append_text(&q, qi[i], 1), SR_OK);
		assert_int_equal(sr_vec_append_text(&v, sa[i], 1), SR_OK);
	}
	memset(cols, 0, sizeof(cols));
	memset(&params, 0, sizeof(params));
	cols[0] = (struct sr_anon_column){ "q", SR_ANON_QI, &q, NULL, { 0 } };
	cols[1] = (struct sr_anon_column){ "s", SR_ANON_SA, &v, NULL, { 0 } };
	params.k = 3;
	sr_err_clear(&err);
	assert_int_equal(sr_anon_verify(cols, 2, &params, 7, NULL, &err), SR_EPOLICY);
	assert_non_null(strstr(err.msg, "a class of 1 rows, fewer than k = 3"));
	q.rows = v.rows = 6;   /* without the class "c": one row suppressed */
	sr_err_clear(&err);
	assert_int_equal(sr_anon_verify(cols, 2, &params, 7, NULL, &err), SR_EPOLICY);
	assert_non_null(strstr(err.msg, "1 rows suppressed, more than the limit of 0"));
	params.max_suppression = 0.15;
	assert_int_equal(sr_anon_verify(cols, 2, &params, 7, NULL, &err), SR_OK);
	/* distinct 2-diversity: class "b" has only x. */
	cols[1].model.ldiv = SR_ANON_LDIV_DISTINCT;
	cols[1].model.l = 2;
	sr_err_clear(&err);
	assert_int_equal(sr_anon_verify(cols, 2, &params, 7, NULL, &err), SR_EPOLICY);
	assert_non_null(strstr(err.msg, "fails the l-diversity or t-closeness model"));
	/* t-closeness needs the input distribution, which must add up. */
	cols[1].model.ldiv = SR_ANON_LDIV_NONE;
	cols[1].model.t = 0.5;
	cols[1].model.emd = SR_ANON_EMD_EQUAL;
	{
		json_t *in = json_pack("{s:{s:i,s:i}}", "s", "x", 5, "y", 2);
		json_t *bad = json_pack("{s:{s:i,s:i}}", "s", "x", 5, "y", 1);
		sr_err_clear(&err);
		assert_int_equal(sr_anon_verify(cols, 2, &params, 7, in, &err), SR_OK);
		assert_int_equal(sr_anon_verify(cols, 2, &params, 7, bad, &err), SR_EPOLICY);
		assert_non_null(strstr(err.msg, "does not add up") ? err.msg : strstr(err.msg, "has 6 rows"));
		cols[1].model.t = 0.1;   /* class "b" all x: EMD 2/7 > 0.1 */
		sr_err_clear(&err);
		assert_int_equal(sr_anon_verify(cols, 2, &params, 7, in, &err), SR_EPOLICY);
		json_decref(in);
		json_decref(bad);
	}
	sr_vec_release(&q);
	sr_vec_release(&v);
}

static void test_row_filter(void **state)
{
	struct sr_policy *p = make_policy(NULL, NULL, NULL, ", \"row_filter\": \"age >= 30\"");
	struct kt_outcome o;
	struct kt_job job;
	struct table t;
	const json_t *res;
	size_t expected = 0;

	(void)state;
	table_make(&t, 5, 400, 1);
	for (size_t r = 0; r < 400; r++)
		expected += !sr_vec_is_null(&t.cols[1], r) && t.cols[1].v.i64[r] >= 30;
	job_of(&job, SPEC(BANK, ", \"k\": 5"), &t, p);
	res = expect_release(&job, &o);
	assert_int_equal(report_int(res, "rows_in"), (json_int_t)expected);
	assert_true(expected < 400);
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	table_release(&t);
	kt_policy_free(p);
}

/* Edge cases: k above the rows, everything suppressed, one class, NULLs. */
static void test_edges(void **state)
{
	struct sr_policy *p = make_policy(NULL, NULL, NULL, NULL);
	struct kt_outcome o;
	struct kt_job job;
	struct table t;
	const json_t *res;

	(void)state;
	table_make(&t, 3, 40, 1);
	/* k > rows: nothing satisfies it, the owner says so, nothing is sent. */
	job_of(&job, SPEC(BANK, ", \"k\": 41"), &t, p);
	kt_run(&job, &o);
	assert_int_equal(o.federated_rc, SR_EPOLICY);
	assert_null(o.federated[0]);
	assert_int_equal(o.central_rc[0], SR_EPOLICY);
	assert_non_null(strstr(o.federated_msg[0], "anonymize: insurer.policies"));
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	/* k > rows with every row allowed to go: an empty release that
	 * still passes the models (nothing is released). */
	job_of(&job, SPEC(BANK, ", \"k\": 41, \"max_suppression\": 1"), &t, p);
	res = expect_release(&job, &o);
	assert_int_equal(json_array_size(json_object_get(res, "rows")), 0);
	assert_int_equal(report_int(res, "suppressed"), 40);
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	/* k = rows: one class, every QI at its top. */
	job_of(&job, SPEC(BANK, ", \"k\": 40"), &t, p);
	res = expect_release(&job, &o);
	assert_int_equal(report_int(res, "classes"), 1);
	assert_string_equal(json_string_value(json_array_get(json_array_get(
		json_object_get(res, "rows"), 0), column_index(res, "age"))), "*");
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	/* NULL ages: a value of their own below the top, kept NULL. */
	job_of(&job, SPEC(BANK, ", \"k\": 2, \"max_suppression\": \"0.5\""), &t, p);
	res = expect_release(&job, &o);
	{
		json_int_t level = json_integer_value(json_object_get(json_object_get(
			report_of(res), "levels"), "age"));
		const json_t *row;
		size_t i, nulls = 0;
		json_array_foreach(json_object_get(res, "rows"), i, row)
			nulls += json_is_null(json_array_get(row, column_index(res, "age")));
		if (level < 4)
			assert_true(nulls == 0 || nulls >= 2);
	}
	kt_outcome_release(&o);
	json_decref((json_t *)job.spec);
	table_release(&t);
	kt_policy_free(p);
}

/* ---- masks ---- */

/* The set of values of column name in result, as one sorted string. */
static char *column_values(const json_t *res, const char *name)
{
	json_t *set = json_object();
	const json_t *row;
	size_t i;
	char *text;

	json_array_foreach(json_object_get(res, "rows"), i, row)
		json_object_set_new(set, json_string_value(json_array_get(row,
				    column_index(res, name))), json_true());
	text = json_dumps(set, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(set);
	return text;
}

static void test_masks_anonymize(void **state)
{
	static const char *const scopes[] = { "", ", \"hash_scope\": \"dataset\"",
					      ", \"hash_scope\": \"owner\"" };
	struct table t;

	(void)state;
	table_make(&t, 9, 300, 0);
	for (size_t sc = 0; sc < 3; sc++) {
		char diag[80];
		struct sr_policy *p;
		struct kt_outcome o, o2;
		struct kt_job job, job2;
		const json_t *res, *res2, *row;
		uint8_t secret[32], key[SR_MASK_KEY_BYTES];
		struct sr_buf want;
		struct sr_err err;
		char *a, *b;
		size_t i;
		int found = 0;

		snprintf(diag, sizeof(diag), ", \"mask\": \"hash\"%s", scopes[sc]);
		p = make_policy(diag, ", \"mask\": \"range:10\"", ", \"mask\": \"truncate:4\"", NULL);
		job_of(&job, SPEC(BANK, ", \"k\": 4, \"sa\": {\"diagnosis\": {\"l\": 2}}"), &t, p);
		res = expect_release(&job, &o);
		json_array_foreach(json_object_get(res, "rows"), i, row) {
			const char *d = json_string_value(json_array_get(row, column_index(res, "diagnosis")));
			const char *v = json_string_value(json_array_get(row, column_index(res, "visits")));
			const char *pl = json_string_value(json_array_get(row, column_index(res, "plan")));
			assert_non_null(d);
			assert_int_equal(strlen(d), SR_MASK_HASH_HEX);
			assert_true(v && v[0] == '[' && strstr(v, ", ") && v[strlen(v) - 1] == ')');
			assert_true(strcmp(pl, "GOLD") == 0 || strcmp(pl, "SILV") == 0 ||
				    strcmp(pl, "BRON") == 0);
		}
		/* The hash of "flu" under the owner's key for this scope. */
		crypto_generichash(secret, sizeof(secret), (const uint8_t *)INSURER,
				   strlen(INSURER), NULL, 0);
		sr_mask_derive_key(secret, sc == 2 ? "" : "insurer.policies", sc == 0 ? BANK : "",
				   key);
		sr_buf_init(&want, SR_BUF_UNBOUNDED);
		sr_err_clear(&err);
		assert_int_equal(sr_mask_text(&p->columns[4], key, "flu", 3, &want, &err), SR_OK);
		json_array_foreach(json_object_get(res, "rows"), i, row)
			found |= strcmp(json_string_value(json_array_get(row,
				column_index(res, "diagnosis"))), want.data) == 0;
		assert_true(found);
		sr_buf_release(&want);
		/* Another receiver: other hashes per receiver, the same ones
		 * for the wider scopes. */
		job_of(&job2, SPEC(INSURER, ", \"k\": 4, \"sa\": {\"diagnosis\": {\"l\": 2}}"), &t, p);
		res2 = expect_release(&job2, &o2);
		a = column_values(res, "diagnosis");
		b = column_values(res2, "diagnosis");
		if (sc == 0)
			assert_string_not_equal(a, b);
		else
			assert_string_equal(a, b);
		free(a);
		free(b);
		kt_outcome_release(&o2);
		json_decref((json_t *)job2.spec);
		kt_outcome_release(&o);
		json_decref((json_t *)job.spec);
		kt_policy_free(p);
	}
	table_release(&t);
}

/* psi: the receiver's key column revealed through its mask. */
static void test_masks_psi(void **state)
{
	static const char *const kn[] = { "key" };
	static const enum sr_type kts[] = { SR_TYPE_STRING, SR_TYPE_INT64 };
	static const char *const masks[] = { "hash", "truncate:3", "range:100" };
	struct sr_vec a, b, ia, ib;
	(void)state;

	sr_vec_init(&a, SR_TYPE_STRING);
	sr_vec_init(&b, SR_TYPE_STRING);
	sr_vec_init(&ia, SR_TYPE_INT64);
	sr_vec_init(&ib, SR_TYPE_INT64);
	for (int i = 0; i < 300; i++) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "K%04d", i);
		assert_int_equal(sr_vec_append_text(&a, buf, (size_t)n), SR_OK);
		n = snprintf(buf, sizeof(buf), "K%04d", i + 100);
		assert_int_equal(sr_vec_append_text(&b, buf, (size_t)n), SR_OK);
		n = snprintf(buf, sizeof(buf), "%d", 1000 + i);
		assert_int_equal(sr_vec_append_text(&ia, buf, (size_t)n), SR_OK);
		n = snprintf(buf, sizeof(buf), "%d", 1100 + i);
		assert_int_equal(sr_vec_append_text(&ib, buf, (size_t)n), SR_OK);
	}
	for (size_t m = 0; m < 3; m++) {
		const enum sr_type *kt = &kts[m == 2];
		const struct sr_vec *va = m == 2 ? &ia : &a, *vb = m == 2 ? &ib : &b;
		char text[256];
		struct sr_policy *pa, *pb;
		struct kt_outcome o;
		struct kt_job job;
		const json_t *row;
		size_t i;

		snprintf(text, sizeof(text), "{\"columns\": {\"key\": {\"class\": \"id\", \"mask\": \"%s\"}}}",
			 masks[m]);
		pa = kt_policy(text, kn, kt, 1);
		pb = kt_policy(text, kn, kt, 1);
		memset(&job, 0, sizeof(job));
		job.spec = parse("{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": ["
				 "{\"dataset\": \"ins.c\", \"column\": \"key\"},"
				 " {\"dataset\": \"bank.c\", \"column\": \"key\"}],"
				 " \"receivers\": [\"" BANK "\"]}");
		job.ninputs = 2;
		job.inputs[0] = (struct kt_input){ "ins.c", INSURER,
			{ "ins.c", 1, kn, va, va->rows }, pa };
		job.inputs[1] = (struct kt_input){ "bank.c", BANK,
			{ "bank.c", 1, kn, vb, vb->rows }, pb };
		kt_run(&job, &o);
		assert_int_equal(o.federated_rc, SR_OK);
		assert_int_equal(o.central_rc[0], SR_OK);
		assert_true(kt_same_result(o.federated[0], o.central[0], NULL));
		assert_int_equal(json_array_size(json_object_get(o.federated[0], "rows")), 200);
		json_array_foreach(json_object_get(o.federated[0], "rows"), i, row) {
			json_int_t r = json_integer_value(json_array_get(row, 0));
			const char *k = json_string_value(json_array_get(row, 1));
			char plain[16];
			snprintf(plain, sizeof(plain), "K%04d", (int)r + 100);
			if (m == 2) {
				/* Row r of the bank holds 1100 + r. */
				char want[32];
				int lo = (1100 + (int)r) / 100 * 100;
				snprintf(want, sizeof(want), "[%d, %d)", lo, lo + 100);
				assert_string_equal(k, want);
			} else if (m == 0) {
				uint8_t secret[32], key[SR_MASK_KEY_BYTES];
				struct sr_buf want;
				struct sr_err err;
				crypto_generichash(secret, sizeof(secret), (const uint8_t *)BANK,
						   strlen(BANK), NULL, 0);
				sr_mask_derive_key(secret, "bank.c", BANK, key);
				sr_buf_init(&want, SR_BUF_UNBOUNDED);
				sr_err_clear(&err);
				assert_int_equal(sr_mask_text(&pb->columns[0], key, plain,
							      strlen(plain), &want, &err), SR_OK);
				assert_string_equal(k, want.data);
				sr_buf_release(&want);
			} else {
				assert_int_equal(strncmp(k, plain, 3), 0);
				assert_int_equal(strlen(k), 3);
			}
		}
		kt_outcome_release(&o);
		json_decref((json_t *)job.spec);
		kt_policy_free(pa);
		kt_policy_free(pb);
	}
	sr_vec_release(&a);
	sr_vec_release(&b);
	sr_vec_release(&ia);
	sr_vec_release(&ib);
}

/* ---- the checker ---- */

static int check(const char *spec_text, const struct sr_policy *p, struct sr_verdict *v,
		 struct sr_err *err)
{
	struct sr_check_dataset d = { "insurer.policies", INSURER, p, 400 };
	json_t *spec = parse(spec_text);
	int rc;

	sr_err_clear(err);
	sr_verdict_init(v);
	rc = sr_check_job(spec, &d, 1, 0, v, err);
	json_decref(spec);
	return rc;
}

static void expect_violation(const char *spec, const struct sr_policy *p, const char *rule)
{
	struct sr_verdict v;
	struct sr_err err;
	int found = 0;

	assert_int_equal(check(spec, p, &v, &err), SR_OK);
	assert_false(v.accept);
	for (size_t i = 0; i < v.count; i++)
		found |= strcmp(v.violations[i].rule, rule) == 0;
	if (!found)
		fail_msg("no %s violation (first: %s)", rule, v.count ? v.violations[0].message : "-");
	sr_verdict_release(&v);
}

static void expect_invalid(const char *spec, const struct sr_policy *p, const char *msg)
{
	struct sr_verdict v;
	struct sr_err err;

	assert_int_equal(check(spec, p, &v, &err), SR_EINVAL);
	if (!strstr(err.msg, msg))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
	sr_verdict_release(&v);
}

static void test_checker(void **state)
{
	struct sr_policy *p = make_policy(NULL, NULL, NULL, NULL);
	struct sr_policy *no_reveal, *qi_mask, *no_hier;
	struct sr_verdict v;
	struct sr_err err;

	(void)state;
	assert_int_equal(check(SPEC(BANK, ", \"k\": 5"), p, &v, &err), SR_OK);
	assert_true(v.accept);
	sr_verdict_release(&v);
	/* The receiver must be one of the policy's. */
	expect_violation(SPEC(OTHER, ", \"k\": 5"), p, "receiver-not-allowed");
	/* sa released row by row is a reveal: the policy must allow it. */
	no_reveal = kt_policy("{\"columns\": {\"name\": {\"class\": \"id\"},"
			      " \"age\": {\"class\": \"qi\", \"generalize\": {\"intervals\": [5]}},"
			      " \"sex\": {\"class\": \"public\"}, \"zip\": {\"class\": \"public\"},"
			      " \"diagnosis\": {\"class\": \"sa\"}, \"visits\": {\"class\": \"public\"},"
			      " \"plan\": {\"class\": \"public\"}}}", names, types, NCOLS);
	expect_violation(SPEC(INSURER, ", \"k\": 5"), no_reveal, "usage-not-allowed");
	qi_mask = kt_policy("{\"columns\": {\"name\": {\"class\": \"id\"},"
			    " \"age\": {\"class\": \"qi\", \"generalize\": {\"intervals\": [5]}},"
			    " \"sex\": {\"class\": \"public\"}, \"zip\": {\"class\": \"qi\", \"mask\": \"hash\","
			    " \"generalize\": {\"prefix\": [2]}},"
			    " \"diagnosis\": {\"class\": \"public\"}, \"visits\": {\"class\": \"public\"},"
			    " \"plan\": {\"class\": \"public\"}}}", names, types, NCOLS);
	expect_violation(SPEC(INSURER, ", \"k\": 5"), qi_mask, "anonymize-qi-mask");
	no_hier = kt_policy("{\"columns\": {\"name\": {\"class\": \"id\"},"
			    " \"age\": {\"class\": \"qi\", \"generalize\": {\"intervals\": [5]}},"
			    " \"sex\": {\"class\": \"qi\"}, \"zip\": {\"class\": \"public\"},"
			    " \"diagnosis\": {\"class\": \"public\"}, \"visits\": {\"class\": \"public\"},"
			    " \"plan\": {\"class\": \"public\"}}}", names, types, NCOLS);
	expect_violation(SPEC(INSURER, ", \"k\": 5"), no_hier, "anonymize-qi-no-hierarchy");
	/* Leaving the column out is the way around it. */
	assert_int_equal(check(SPEC(INSURER, ", \"k\": 5, \"columns\": [\"age\", \"zip\"]"),
			       no_hier, &v, &err), SR_OK);
	assert_true(v.accept);
	sr_verdict_release(&v);
	{
		struct sr_policy *strict = make_policy(NULL, NULL, NULL, ", \"min_group_size\": 8");
		expect_violation(SPEC(BANK, ", \"k\": 5"), strict, "anonymize-k-below-min-group-size");
		assert_int_equal(check(SPEC(BANK, ", \"k\": 8"), strict, &v, &err), SR_OK);
		assert_true(v.accept);
		sr_verdict_release(&v);
		kt_policy_free(strict);
	}
	expect_invalid(SPEC(BANK, ""), p, "spec.k");
	expect_invalid(SPEC(BANK, ", \"k\": 0"), p, "spec.k: expected a whole number");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"max_suppression\": 2"), p, "spec.max_suppression");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"metric\": \"fast\""), p, "spec.metric: unknown 'fast'");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"algorithm\": \"x\""), p, "spec.algorithm");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"columns\": [\"name\"]"), p,
		       "spec.columns[0]: 'name' is an id column");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"columns\": [\"nope\"]"), p,
		       "spec.columns[0]: 'nope' is not a column");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"columns\": [\"visits\"]"), p,
		       "keeps no qi column");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"sa\": {\"age\": {\"l\": 2}}"), p,
		       "spec.sa.age: not an sa column");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"sa\": {\"diagnosis\": {\"ldiv\": \"recursive\", \"l\": 2}}"),
		       p, "spec.sa.diagnosis.c");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"sa\": {\"diagnosis\": {\"t\": \"1.5\"}}"), p,
		       "spec.sa.diagnosis.t");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"sa\": {\"diagnosis\": {\"t\": \"0.5\", \"emd\": \"ordered\"}}"),
		       p, "ordered distance needs");
	expect_invalid(SPEC(BANK, ", \"k\": 5, \"sa\": {\"diagnosis\": {\"l\": 2, \"x\": 1}}"), p,
		       "spec.sa.diagnosis");
	kt_policy_free(no_reveal);
	kt_policy_free(qi_mask);
	kt_policy_free(no_hier);
	kt_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_vs_central),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_row_filter),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_masks_anonymize),
		cmocka_unit_test(test_masks_psi),
		cmocka_unit_test(test_checker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
