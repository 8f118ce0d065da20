/*
 * test_policy.c - the policy model: every parse rule with the key it
 * names, class defaults, binding to a dataset, classification by name, the
 * normalized form and its round trip, and allocation failures.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "policy/policy.h"

static int parse(const char *text, struct sr_policy *pol, struct sr_err *err)
{
	sr_err_clear(err);
	return sr_policy_parse(text, strlen(text), "p.json", pol, err);
}

struct bad_case {
	const char *text;
	int code;
	const char *message;
};

#define COLS(x) "{\"columns\": {" x "}}"
#define OK_COL "\"id\": {\"class\": \"id\"}"

static void test_parse_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "{", SR_EINVAL, "p.json: line 1 column" },
		{ "[]", SR_EINVAL, "p.json: expected a JSON object" },
		{ "{}", SR_EINVAL, "p.json: columns: required key is missing" },
		{ "{\"columns\": {}, \"colums\": 1}", SR_EINVAL, "p.json: colums: unknown key" },
		{ "{\"columns\": {}, \"columns\": {}}", SR_EINVAL, "duplicate" },
		{ COLS("\"x\": {\"class\": \"secret\"}"), SR_EINVAL,
		  "p.json: columns.x.class: unknown class 'secret' (expected id, qi, sa or public)" },
		{ COLS("\"x\": {}"), SR_EINVAL, "p.json: columns.x.class: required key is missing" },
		{ COLS("\"x\": {\"class\": 3}"), SR_EINVAL, "columns.x.class: expected a string" },
		{ COLS("\"x\": {\"class\": \"id\", \"colour\": 1}"), SR_EINVAL,
		  "p.json: columns.x.colour: unknown key" },
		{ COLS("\"x\": {\"class\": \"id\", \"allow\": [\"join\", \"sort\"]}"), SR_EINVAL,
		  "p.json: columns.x.allow[1]: unknown usage 'sort'" },
		{ COLS("\"x\": {\"class\": \"id\", \"allow\": [\"join\", \"join\"]}"), SR_EINVAL,
		  "columns.x.allow[1]: duplicate usage 'join'" },
		{ COLS("\"x\": {\"class\": \"id\", \"allow\": \"join\"}"), SR_EINVAL,
		  "columns.x.allow: expected an array" },
		{ COLS("\"x\": {\"class\": \"id\", \"type\": \"text\"}"), SR_EINVAL,
		  "columns.x.type: unknown type" },
		{ COLS("\"x\": {\"class\": \"sa\", \"bounds\": [5, 1]}"), SR_EINVAL,
		  "columns.x.bounds: lower bound 5 is above upper bound 1" },
		{ COLS("\"x\": {\"class\": \"sa\", \"bounds\": [1]}"), SR_EINVAL,
		  "columns.x.bounds: expected [lo, hi]" },
		{ COLS("\"x\": {\"class\": \"sa\", \"bounds\": [\"a\", 1]}"), SR_EINVAL,
		  "columns.x.bounds[0]: expected a finite number" },
		{ COLS("\"x\": {\"class\": \"sa\", \"bounds\": [0, \"inf\"]}"), SR_EINVAL,
		  "columns.x.bounds[1]: expected a finite number" },
		{ COLS("\"x\": {\"class\": \"sa\", \"bounds\": [0, \"nan\"]}"), SR_EINVAL,
		  "columns.x.bounds[1]" },
		{ COLS("\"x\": {\"class\": \"qi\", \"domain\": []}"), SR_EINVAL,
		  "columns.x.domain: expected an array of 1 to" },
		{ COLS("\"x\": {\"class\": \"qi\", \"domain\": [\"a\", \"b\", \"a\"]}"), SR_EINVAL,
		  "columns.x.domain[2]: duplicate value" },
		{ COLS("\"x\": {\"class\": \"qi\", \"domain\": [[1]]}"), SR_EINVAL,
		  "columns.x.domain[0]: expected a string, integer or boolean" },
		{ COLS("\"x\": {\"class\": \"id\", \"mask\": \"blur\"}"), SR_EINVAL,
		  "columns.x.mask: unknown mask 'blur'" },
		{ COLS("\"x\": {\"class\": \"id\", \"mask\": \"truncate:0\"}"), SR_EINVAL,
		  "columns.x.mask: truncate:N needs N from 1" },
		{ COLS("\"x\": {\"class\": \"id\", \"mask\": \"range:-1\"}"), SR_EINVAL,
		  "columns.x.mask: range:W needs a positive number" },
		{ "{\"columns\": {}, \"min_group_size\": 0}", SR_EINVAL,
		  "p.json: min_group_size: expected an integer of at least 1" },
		{ "{\"columns\": {}, \"dp\": {\"epsilon_total\": 0}}", SR_EINVAL,
		  "p.json: dp.epsilon_total: must be above 0" },
		{ "{\"columns\": {}, \"dp\": {}}", SR_EINVAL, "dp.epsilon_total: required key is missing" },
		{ "{\"columns\": {}, \"dp\": {\"epsilon_total\": 1, \"delta\": 2}}", SR_EINVAL,
		  "p.json: dp.delta: must be in [0, 1), got 2" },
		{ "{\"columns\": {}, \"dp\": {\"epsilon_total\": 1, \"epsilon_max_per_job\": 2}}",
		  SR_EINVAL, "dp.epsilon_max_per_job: 2 is above epsilon_total 1" },
		{ "{\"columns\": {}, \"dp\": {\"epsilon_total\": 1, \"eps\": 2}}", SR_EINVAL,
		  "dp.eps: unknown key" },
		{ "{\"columns\": {}, \"receivers\": [\"bank\"]}", SR_EINVAL,
		  "p.json: receivers[0]: expected an organization id" },
		{ "{\"columns\": {}, \"receivers\": [\"org_0123456789abcdef0123456789abcdef\", \"org_0123456789abcdef0123456789abcdef\"]}",
		  SR_EINVAL, "receivers[1]: duplicate organization id" },
		{ "{\"columns\": {}, \"jobs\": [\"psi\", \"mine\"]}", SR_EINVAL,
		  "p.json: jobs[1]: unknown job kind 'mine'" },
		{ "{\"columns\": {}, \"row_filter\": \"\"}", SR_EINVAL, "row_filter: expected a predicate" },
		{ "{\"columns\": {}, \"expires\": \"2027-02-30\"}", SR_EINVAL, "expires: expected a date" },
		{ "{\"columns\": {}, \"expires\": -5}", SR_EINVAL, "expires" },
		{ "{\"columns\": {}, \"version\": 2}", SR_EINVAL, "version: only version 1" },
		{ "{\"columns\": {\"a\": {\"class\": \"id\", \"x\": "
		  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}",
		  SR_ELIMIT, "nesting deeper than the limit" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_policy pol;
		struct sr_err err;
		int rc;

		sr_policy_init(&pol);
		rc = parse(cases[i].text, &pol, &err);
		if (rc != cases[i].code || !strstr(err.msg, cases[i].message))
			fail_msg("case %zu: got %d '%s', want %d with '%s'", i, rc,
				 err.msg, cases[i].code, cases[i].message);
		/* Nothing half-parsed remains. */
		assert_int_equal(pol.ncolumns, 0);
		assert_null(pol.columns);
		sr_policy_release(&pol);
	}
}

static const char full_policy[] =
	"{\"columns\": {"
	"\"id\": {\"class\": \"id\", \"mask\": \"hash\"},"
	"\"age\": {\"class\": \"qi\", \"type\": \"int64\", \"bounds\": [18, 100]},"
	"\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\"], \"mask\": \"truncate:3\"},"
	"\"amount\": {\"class\": \"sa\", \"bounds\": [\"-1.5\", 1e6], \"mask\": \"range:0.5\"},"
	"\"flag\": {\"class\": \"public\", \"allow\": [\"reveal\"]}},"
	"\"min_group_size\": 10,"
	"\"dp\": {\"epsilon_total\": 3.0, \"epsilon_max_per_job\": 0.5, \"delta\": 1e-6},"
	"\"receivers\": [\"org_0123456789abcdef0123456789abcdef\"],"
	"\"jobs\": [\"query\", \"psi\"],"
	"\"row_filter\": \"age >= 18\","
	"\"expires\": \"2027-12-31\"}";

static void test_parse_full_and_defaults(void **state)
{
	struct sr_policy pol;
	struct sr_err err;
	const struct sr_policy_column *c;
	enum sr_type t;

	(void)state;
	sr_policy_init(&pol);
	assert_int_equal(parse(full_policy, &pol, &err), SR_OK);
	assert_int_equal(pol.ncolumns, 5);
	c = sr_policy_column(&pol, "id");
	assert_non_null(c);
	assert_int_equal(c->cls, SR_CLASS_ID);
	assert_int_equal(c->allow, SR_USE_JOIN);
	assert_int_equal(c->mask, SR_MASK_HASH);
	c = sr_policy_column(&pol, "age");
	assert_int_equal(c->allow, SR_USE_FILTER | SR_USE_GROUP);
	assert_true(c->has_bounds && c->lo == 18 && c->hi == 100);
	assert_int_equal(sr_policy_type_override(&pol, "age", &t), 1);
	assert_int_equal(t, SR_TYPE_INT64);
	assert_int_equal(sr_policy_type_override(&pol, "region", &t), 0);
	c = sr_policy_column(&pol, "amount");
	assert_int_equal(c->allow, SR_USE_AGGREGATE | SR_USE_FEATURE | SR_USE_LABEL);
	assert_true(c->lo == -1.5 && c->hi == 1e6);
	assert_int_equal(c->mask, SR_MASK_RANGE);
	assert_true(c->mask_param == 0.5);
	c = sr_policy_column(&pol, "flag");
	assert_int_equal(c->allow, SR_USE_REVEAL);
	assert_null(sr_policy_column(&pol, "nope"));
	assert_int_equal(pol.min_group_size, 10);
	assert_true(pol.dp.enabled && pol.dp.epsilon_total == 3.0 &&
		    pol.dp.epsilon_max_per_job == 0.5 && pol.dp.delta == 1e-6);
	assert_int_equal(pol.nreceivers, 1);
	assert_int_equal(pol.jobs, SR_JOB_PSI | SR_JOB_QUERY);
	assert_string_equal(pol.row_filter, "age >= 18");
	assert_int_equal(pol.expires, 1830211200);   /* 2027-12-31T00:00:00Z */
	sr_policy_release(&pol);

	/* Defaults. */
	assert_int_equal(parse(COLS("\"p\": {\"class\": \"public\"}"), &pol, &err), SR_OK);
	assert_int_equal(pol.columns[0].allow, SR_USE_ALL);
	assert_int_equal(pol.min_group_size, 1);
	assert_int_equal(pol.jobs, SR_JOB_ALL);
	assert_false(pol.dp.enabled);
	assert_int_equal(pol.nreceivers, 0);
	assert_int_equal(pol.expires, 0);
	sr_policy_release(&pol);
	assert_int_equal(sr_class_default_allow(SR_CLASS_QI), SR_USE_FILTER | SR_USE_GROUP);
	assert_string_equal(sr_class_name(SR_CLASS_SA), "sa");
	assert_string_equal(sr_usage_name(SR_USE_LABEL), "label");
	assert_string_equal(sr_job_kind_name(SR_JOB_ANONYMIZE), "anonymize");
}

static void test_bind(void **state)
{
	static const char *const names[] = { "flag", "amount", "region", "age", "id" };
	static const enum sr_type types[] = { SR_TYPE_BOOL, SR_TYPE_FLOAT64,
		SR_TYPE_STRING, SR_TYPE_INT64, SR_TYPE_STRING };
	struct sr_policy pol;
	struct sr_err err;

	(void)state;
	sr_policy_init(&pol);
	assert_int_equal(parse(full_policy, &pol, &err), SR_OK);
	assert_int_equal(sr_policy_bind(&pol, names, types, 5, &err), SR_OK);
	/* Dataset order, types set. */
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(pol.columns[i].name, names[i]);
		assert_int_equal(pol.columns[i].type, types[i]);
	}
	sr_policy_release(&pol);

	/* A policy column the dataset lacks. */
	assert_int_equal(parse(full_policy, &pol, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, names, types, 4, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy: column 'id' is not in the dataset (columns: flag, amount, region, age)");
	sr_policy_release(&pol);

	/* Dataset columns the policy does not classify: all named at once. */
	{
		static const char *const more[] = { "id", "x", "y" };
		static const enum sr_type st[] = { SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_INT64 };
		assert_int_equal(parse(COLS(OK_COL), &pol, &err), SR_OK);
		sr_err_clear(&err);
		assert_int_equal(sr_policy_bind(&pol, more, st, 3, &err), SR_EPOLICY);
		assert_non_null(strstr(err.msg, "columns not classified: x, y"));
		sr_policy_release(&pol);
	}

	/* Type-dependent rules. */
	{
		static const struct {
			const char *policy;
			enum sr_type type;
			const char *message;
		} cases[] = {
			{ COLS("\"c\": {\"class\": \"sa\", \"bounds\": [0, 1]}"), SR_TYPE_STRING,
			  "policy: columns.c.bounds: bounds need a numeric column, 'c' is string" },
			{ COLS("\"c\": {\"class\": \"sa\", \"bounds\": [0, 1]}"), SR_TYPE_DATE,
			  "bounds need a numeric column, 'c' is date" },
			{ COLS("\"c\": {\"class\": \"id\", \"mask\": \"truncate:2\"}"), SR_TYPE_INT64,
			  "columns.c.mask: truncate masks need a string column" },
			{ COLS("\"c\": {\"class\": \"id\", \"mask\": \"range:5\"}"), SR_TYPE_STRING,
			  "columns.c.mask: range masks need a numeric column" },
			{ COLS("\"c\": {\"class\": \"qi\", \"domain\": [1, \"x\"]}"), SR_TYPE_INT64,
			  "policy: columns.c.domain[1]: value is not a valid int64" },
			{ COLS("\"c\": {\"class\": \"qi\", \"domain\": [\"2020-01-01\", \"2020-13-01\"]}"), SR_TYPE_DATE,
			  "columns.c.domain[1]: value is not a valid date" },
			{ COLS("\"c\": {\"class\": \"qi\", \"domain\": [true, 1]}"), SR_TYPE_BOOL,
			  "columns.c.domain[1]: value is not a valid bool" },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
			const char *n[] = { "c" };
			int rc;
			assert_int_equal(parse(cases[i].policy, &pol, &err), SR_OK);
			sr_err_clear(&err);
			rc = sr_policy_bind(&pol, n, &cases[i].type, 1, &err);
			if (rc != SR_EINVAL || !strstr(err.msg, cases[i].message))
				fail_msg("bind case %zu: got %d '%s'", i, rc, err.msg);
			sr_policy_release(&pol);
		}
	}
}

static char *canonical(const struct sr_policy *pol)
{
	struct sr_buf out;
	struct sr_err err;
	json_t *j;

	sr_buf_init(&out, 0);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_to_json(pol, &j, &err), SR_OK);
	assert_int_equal(sr_json_canonical(j, &out, &err), SR_OK);
	json_decref(j);
	return sr_buf_detach(&out, NULL);
}

static void test_normalized_round_trip(void **state)
{
	static const char *const names[] = { "id", "age", "region", "amount", "flag" };
	static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64,
		SR_TYPE_STRING, SR_TYPE_FLOAT64, SR_TYPE_BOOL };
	struct sr_policy pol, again;
	struct sr_err err;
	char *a, *b;

	(void)state;
	sr_policy_init(&pol);
	sr_policy_init(&again);
	assert_int_equal(parse(full_policy, &pol, &err), SR_OK);
	assert_int_equal(sr_policy_bind(&pol, names, types, 5, &err), SR_OK);
	a = canonical(&pol);
	/* Reals are written as shortest decimal strings; defaults explicit. */
	assert_non_null(strstr(a, "\"bounds\":[\"-1.5\",1000000]"));
	assert_non_null(strstr(a, "\"dp\":{\"delta\":\"1e-06\",\"epsilon_max_per_job\":\"0.5\",\"epsilon_total\":3}"));
	assert_non_null(strstr(a, "\"jobs\":[\"psi\",\"query\"]"));
	assert_non_null(strstr(a, "\"mask\":\"range:0.5\""));
	assert_non_null(strstr(a, "\"allow\":[\"join\"]"));
	assert_non_null(strstr(a, "\"expires\":1830211200"));
	assert_non_null(strstr(a, "\"type\":\"bool\""));
	assert_int_equal(sr_policy_parse(a, strlen(a), "normalized", &again, &err), SR_OK);
	b = canonical(&again);
	assert_string_equal(a, b);
	sr_free(a);
	sr_free(b);
	sr_policy_release(&pol);
	sr_policy_release(&again);
}

static void test_classify_by_name(void **state)
{
	static const struct {
		const char *name;
		enum sr_class cls;
	} cases[] = {
		{ "customer_id", SR_CLASS_ID }, { "Email", SR_CLASS_ID },
		{ "phone_number", SR_CLASS_ID }, { "ssn", SR_CLASS_ID },
		{ "firstName", SR_CLASS_ID }, { "last-name", SR_CLASS_ID },
		{ "IBAN", SR_CLASS_ID }, { "patientId", SR_CLASS_ID },
		{ "zipCode", SR_CLASS_QI }, { "date_of_birth", SR_CLASS_QI },
		{ "age", SR_CLASS_QI }, { "Gender", SR_CLASS_QI },
		{ "home city", SR_CLASS_QI }, { "postcode", SR_CLASS_QI },
		{ "annual_salary", SR_CLASS_SA }, { "purchase_amount", SR_CLASS_SA },
		{ "Diagnosis", SR_CLASS_SA }, { "credit_score", SR_CLASS_SA },
		{ "balance", SR_CLASS_SA }, { "risk", SR_CLASS_SA },
		{ "foo", SR_CLASS_NONE }, { "favourite_colour", SR_CLASS_NONE },
		{ "identity", SR_CLASS_NONE }, { "ageing", SR_CLASS_NONE },
		{ "", SR_CLASS_NONE }, { "salary_id", SR_CLASS_ID },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (sr_policy_classify_by_name(cases[i].name) != cases[i].cls)
			fail_msg("'%s': got %d, want %d", cases[i].name,
				 sr_policy_classify_by_name(cases[i].name), cases[i].cls);
}

static void test_from_names(void **state)
{
	static const char *const good[] = { "customer_id", "age", "salary" };
	static const char *const bad[] = { "customer_id", "colour", "age", "shoe" };
	struct sr_policy pol;
	struct sr_err err;

	(void)state;
	sr_policy_init(&pol);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_from_names(good, 3, &pol, &err), SR_OK);
	assert_int_equal(pol.ncolumns, 3);
	assert_int_equal(pol.columns[0].cls, SR_CLASS_ID);
	assert_int_equal(pol.columns[1].allow, SR_USE_FILTER | SR_USE_GROUP);
	assert_int_equal(pol.columns[2].cls, SR_CLASS_SA);
	sr_policy_release(&pol);
	assert_int_equal(sr_policy_from_names(bad, 4, &pol, &err), SR_EPOLICY);
	assert_non_null(strstr(err.msg, "colour, shoe"));
	assert_int_equal(pol.ncolumns, 0);
	sr_policy_release(&pol);
}

static void test_allocation_failures(void **state)
{
	static const char *const names[] = { "id", "age", "region", "amount", "flag" };
	static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64,
		SR_TYPE_STRING, SR_TYPE_FLOAT64, SR_TYPE_BOOL };
	int succeeded = 0;

	(void)state;
	for (unsigned long n = 1; n < 100000 && !succeeded; n++) {
		struct sr_policy pol;
		struct sr_err err;
		json_t *j = NULL;
		int rc;

		sr_policy_init(&pol);
		sr_err_clear(&err);
		sr_alloc_fail_at(n, 0);
		rc = sr_policy_parse(full_policy, strlen(full_policy), "p.json", &pol, &err);
		if (rc == SR_OK)
			rc = sr_policy_bind(&pol, names, types, 5, &err);
		if (rc == SR_OK)
			rc = sr_policy_to_json(&pol, &j, &err);
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK)
			succeeded = 1;
		else if (rc != SR_ENOMEM)
			fail_msg("allocation %lu: got %d (%s)", n, rc, err.msg);
		json_decref(j);
		sr_policy_release(&pol);
	}
	assert_true(succeeded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_full_and_defaults),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_normalized_round_trip),
		cmocka_unit_test(test_classify_by_name),
		cmocka_unit_test(test_from_names),
		cmocka_unit_test(test_allocation_failures),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
