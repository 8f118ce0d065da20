/*
 * test_policy.c - the policy model: every parse rule with the key path it
 * names, class defaults, binding to a dataset, classification by name,
 * the normalized form and its round trip (struct-equal, not just
 * text-equal), and allocation failures.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/limits.h"
#include "policy/policy.h"

#define ORG_A "org_0123456789abcdef0123456789abcdef"
#define ORG_B "org_fedcba9876543210fedcba9876543210"

static int parse_len(const char *text, size_t len, struct sr_policy *pol,
		     struct sr_err *err)
{
	sr_err_clear(err);
	return sr_policy_parse(text, len, "p.json", pol, err);
}

static int parse(const char *text, struct sr_policy *pol, struct sr_err *err)
{
	return parse_len(text, strlen(text), pol, err);
}

/* The policy is empty: what sr_policy_init gives. */
static void assert_empty(const struct sr_policy *pol)
{
	assert_null(pol->columns);
	assert_int_equal(pol->ncolumns, 0);
	assert_null(pol->receivers);
	assert_int_equal(pol->nreceivers, 0);
	assert_null(pol->row_filter);
	assert_int_equal(pol->min_group_size, 1);
	assert_int_equal(pol->jobs, SR_JOB_ALL);
	assert_false(pol->dp.enabled);
	assert_int_equal(pol->expires, 0);
}

struct bad_case {
	const char *text;
	int code;
	const char *message;
};

static void check_bad_cases(const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sr_policy pol;
		struct sr_err err;
		int rc;

		sr_policy_init(&pol);
		rc = parse(cases[i].text, &pol, &err);
		if (rc != cases[i].code || !strstr(err.msg, cases[i].message))
			fail_msg("case %zu (%s): got %d '%s', want %d with '%s'",
				 i, cases[i].text, rc, err.msg, cases[i].code,
				 cases[i].message);
		/* Every message starts with the source. */
		assert_true(strncmp(err.msg, "p.json: ", 8) == 0);
		/* Nothing half-parsed remains. */
		assert_empty(&pol);
		sr_policy_release(&pol);
	}
}

#define COLS(x) "{\"columns\": {" x "}}"
#define COL(x) COLS("\"x\": {" x "}")
#define TOP(x) "{\"columns\": {}, " x "}"
#define DP(x) TOP("\"dp\": {" x "}")

static void test_parse_errors_document(void **state)
{
	static const struct bad_case cases[] = {
		/* JSON itself: the position, duplicate keys, nesting. */
		{ "{", SR_EINVAL, "p.json: line 1 column" },
		{ "", SR_EINVAL, "p.json: line 1 column" },
		{ "{\"columns\": {}\n,}", SR_EINVAL, "p.json: line 2 column" },
		{ "{\"columns\": {} } x", SR_EINVAL, "p.json: line 1 column" },
		{ "{\"columns\": {}, \"columns\": {}}", SR_EINVAL, "duplicate" },
		{ COLS("\"a\": {\"class\": \"id\", \"class\": \"qi\"}"), SR_EINVAL, "duplicate" },
		{ "{\"columns\": {\"a\": {\"class\": \"id\", \"x\": "
		  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}",
		  SR_ELIMIT, "p.json: nesting deeper than the limit of 32" },
		{ "{\"columns\": {}, \"row_filter\": \"\xff\"}", SR_EINVAL, "p.json: " },
		/* The document. */
		{ "[]", SR_EINVAL, "p.json: expected a JSON object with \"columns\", got an array" },
		{ "3", SR_EINVAL, "p.json: line 1 column 1: '[' or '{' expected" },
		{ "{}", SR_EINVAL, "p.json: columns: required key is missing" },
		{ TOP("\"colums\": 1"), SR_EINVAL,
		  "p.json: colums: unknown key (expected version, columns, min_group_size, dp, receivers, jobs, row_filter, expires, nulls, ids_partitioned or tee)" },
		{ TOP("\"a\\u0001b\": 1"), SR_EINVAL, "p.json: a?b: unknown key" },
		{ "{\"columns\": []}", SR_EINVAL, "p.json: columns: expected an object with an entry per dataset column, got an array" },
		{ "{\"columns\": {\"\": {\"class\": \"id\"}}}", SR_EINVAL, "p.json: columns: a column name is empty" },
		{ TOP("\"version\": 2"), SR_EINVAL, "p.json: version: expected 1 (the only version), got 2" },
		{ TOP("\"version\": \"1\""), SR_EINVAL, "p.json: version: expected 1" },
		{ TOP("\"min_group_size\": 0"), SR_EINVAL,
		  "p.json: min_group_size: expected an integer of at least 1, got 0" },
		{ TOP("\"min_group_size\": -3"), SR_EINVAL, "min_group_size: expected an integer of at least 1, got -3" },
		{ TOP("\"min_group_size\": \"10\""), SR_EINVAL, "min_group_size: expected an integer of at least 1, got \"10\"" },
		{ TOP("\"min_group_size\": 2.5"), SR_EINVAL, "min_group_size: expected an integer of at least 1, got 2.5" },
		{ TOP("\"ids_partitioned\": 1"), SR_EINVAL, "p.json: ids_partitioned: expected true or false, got 1" },
		{ TOP("\"ids_partitioned\": 1"), SR_EINVAL, "p.json: ids_partitioned: expected true or false, got 1" },
		/* dp */
		{ TOP("\"dp\": 1"), SR_EINVAL, "p.json: dp: expected an object with epsilon_total" },
		{ DP(""), SR_EINVAL, "p.json: dp.epsilon_total: required key is missing" },
		{ DP("\"epsilon_max_per_job\": 1"), SR_EINVAL, "dp.epsilon_total: required key is missing" },
		{ DP("\"epsilon_total\": 1, \"eps\": 2"), SR_EINVAL,
		  "p.json: dp.eps: unknown key (expected epsilon_total, epsilon_max_per_job or delta)" },
		{ DP("\"epsilon_total\": 0"), SR_EINVAL, "p.json: dp.epsilon_total: must be above 0, got 0" },
		{ DP("\"epsilon_total\": -0.5"), SR_EINVAL, "dp.epsilon_total: must be above 0, got -0.5" },
		{ DP("\"epsilon_total\": \"nan\""), SR_EINVAL,
		  "p.json: dp.epsilon_total: expected a finite number or decimal string, got \"nan\"" },
		{ DP("\"epsilon_total\": \"inf\""), SR_EINVAL, "dp.epsilon_total: expected a finite number" },
		{ DP("\"epsilon_total\": \"Infinity\""), SR_EINVAL, "dp.epsilon_total: expected a finite number" },
		{ DP("\"epsilon_total\": \"1e999\""), SR_EINVAL, "dp.epsilon_total: expected a finite number" },
		{ DP("\"epsilon_total\": \"0x10\""), SR_EINVAL, "dp.epsilon_total: expected a finite number" },
		{ DP("\"epsilon_total\": \" 1\""), SR_EINVAL, "dp.epsilon_total: expected a finite number" },
		{ DP("\"epsilon_total\": \"\""), SR_EINVAL, "dp.epsilon_total: expected a finite number" },
		{ DP("\"epsilon_total\": null"), SR_EINVAL, "dp.epsilon_total: expected a finite number or decimal string, got null" },
		{ DP("\"epsilon_total\": true"), SR_EINVAL, "got true" },
		{ DP("\"epsilon_total\": 1e999"), SR_EINVAL, "p.json: line 1" },
		{ DP("\"epsilon_total\": 1, \"delta\": 2"), SR_EINVAL, "p.json: dp.delta: must be in [0, 1), got 2" },
		{ DP("\"epsilon_total\": 1, \"delta\": 1"), SR_EINVAL, "dp.delta: must be in [0, 1), got 1" },
		{ DP("\"epsilon_total\": 1, \"delta\": \"-1e-9\""), SR_EINVAL, "dp.delta: must be in [0, 1), got -1e-09" },
		{ DP("\"epsilon_total\": 1, \"delta\": \"nan\""), SR_EINVAL, "dp.delta: expected a finite number" },
		{ DP("\"epsilon_total\": 1, \"epsilon_max_per_job\": 2"), SR_EINVAL,
		  "p.json: dp.epsilon_max_per_job: 2 is above epsilon_total 1" },
		{ DP("\"epsilon_total\": 0.3, \"epsilon_max_per_job\": \"0.30000000000000004\""), SR_EINVAL,
		  "dp.epsilon_max_per_job: 0.30000000000000004 is above epsilon_total 0.3" },
		{ DP("\"epsilon_total\": 1, \"epsilon_max_per_job\": 0"), SR_EINVAL,
		  "dp.epsilon_max_per_job: must be above 0, got 0" },
		/* receivers */
		{ TOP("\"receivers\": \"" ORG_A "\""), SR_EINVAL,
		  "p.json: receivers: expected an array of organization ids (org_ and 32 lowercase hex digits), got a string" },
		{ TOP("\"receivers\": [\"bank\"]"), SR_EINVAL,
		  "p.json: receivers[0]: expected an organization id (org_ and 32 lowercase hex digits), got \"bank\"" },
		{ TOP("\"receivers\": [\"" ORG_A "\", 7]"), SR_EINVAL, "receivers[1]: expected an organization id" },
		{ TOP("\"receivers\": [\"org_0123456789ABCDEF0123456789abcdef\"]"), SR_EINVAL, "receivers[0]: expected an organization id" },
		{ TOP("\"receivers\": [\"org_0123456789abcdef0123456789abcde\"]"), SR_EINVAL, "receivers[0]: expected an organization id" },
		{ TOP("\"receivers\": [\"org_0123456789abcdef0123456789abcdef0\"]"), SR_EINVAL, "receivers[0]: expected an organization id" },
		{ TOP("\"receivers\": [\"org_0123456789abcdef0123456789abcdeg\"]"), SR_EINVAL, "receivers[0]: expected an organization id" },
		{ TOP("\"receivers\": [\"org_0123456789abcdef0123456789abcde\\u0000\"]"), SR_EINVAL,
		  "receivers[0]: expected an organization id (org_ and 32 lowercase hex digits), got \"org_0123456789abcdef0123456789abcde?\"" },
		{ TOP("\"receivers\": [\"" ORG_A "\", \"" ORG_B "\", \"" ORG_A "\"]"), SR_EINVAL,
		  "p.json: receivers[2]: duplicate organization id " ORG_A " (also receivers[0])" },
		/* jobs */
		{ TOP("\"jobs\": \"psi\""), SR_EINVAL,
		  "p.json: jobs: expected an array of job kind names (psi, query, train, predict or anonymize), got a string" },
		{ TOP("\"jobs\": [\"psi\", \"mine\"]"), SR_EINVAL,
		  "p.json: jobs[1]: unknown job kind 'mine' (expected psi, query, train, predict or anonymize)" },
		{ TOP("\"jobs\": [\"psi\", \"query\", \"psi\"]"), SR_EINVAL, "p.json: jobs[2]: duplicate job kind 'psi'" },
		{ TOP("\"jobs\": [1]"), SR_EINVAL, "p.json: jobs[0]: expected a job kind name (psi, query, train, predict or anonymize), got an integer" },
		{ TOP("\"jobs\": [\"PSI\"]"), SR_EINVAL, "jobs[0]: unknown job kind 'PSI'" },
		{ TOP("\"jobs\": [\"psi\\u0000x\"]"), SR_EINVAL, "jobs[0]: unknown job kind 'psi?x'" },
		/* row_filter */
		{ TOP("\"row_filter\": \"\""), SR_EINVAL, "p.json: row_filter: expected a predicate, got an empty string" },
		{ TOP("\"row_filter\": 1"), SR_EINVAL, "p.json: row_filter: expected a string (a predicate such as \"age >= 18\"), got an integer" },
		{ TOP("\"row_filter\": \"a\\u0000b\""), SR_EINVAL, "row_filter: expected a predicate, got a string with a NUL byte" },
		/* expires */
		{ TOP("\"expires\": \"2027-02-30\""), SR_EINVAL,
		  "p.json: expires: expected a date \"YYYY-MM-DD\" after 1970-01-01 or unix seconds above 0, got \"2027-02-30\"" },
		{ TOP("\"expires\": \"2027-12-31T00:00:00Z\""), SR_EINVAL, "expires: expected a date" },
		{ TOP("\"expires\": \"31/12/2027\""), SR_EINVAL, "expires: expected a date" },
		{ TOP("\"expires\": \"1970-01-01\""), SR_EINVAL, "got \"1970-01-01\"" },
		{ TOP("\"expires\": \"1969-12-31\""), SR_EINVAL, "expires: expected a date" },
		{ TOP("\"expires\": -5"), SR_EINVAL, "expires: expected a date \"YYYY-MM-DD\" after 1970-01-01 or unix seconds above 0, got -5" },
		{ TOP("\"expires\": 0"), SR_EINVAL, "got 0" },
		{ TOP("\"expires\": 1.5"), SR_EINVAL, "got 1.5" },
		{ TOP("\"expires\": true"), SR_EINVAL, "got true" },
	};
	(void)state;
	check_bad_cases(cases, sizeof(cases) / sizeof(*cases));
}

static void test_parse_errors_columns(void **state)
{
	static const struct bad_case cases[] = {
		{ COLS("\"x\": 1"), SR_EINVAL, "p.json: columns.x: expected an object with a class, got an integer" },
		{ COLS("\"x\": {}"), SR_EINVAL,
		  "p.json: columns.x.class: required key is missing (expected id, qi, sa or public)" },
		{ COL("\"allow\": [\"join\"]"), SR_EINVAL, "columns.x.class: required key is missing" },
		{ COL("\"class\": \"secret\""), SR_EINVAL,
		  "p.json: columns.x.class: unknown class 'secret' (expected id, qi, sa or public)" },
		{ COLS("\"salary\": {\"class\": \"secret\"}"), SR_EINVAL,
		  "p.json: columns.salary.class: unknown class 'secret' (expected id, qi, sa or public)" },
		{ COL("\"class\": \"ID\""), SR_EINVAL, "columns.x.class: unknown class 'ID'" },
		{ COL("\"class\": \"none\""), SR_EINVAL, "columns.x.class: unknown class 'none'" },
		{ COL("\"class\": \"id\\u0000x\""), SR_EINVAL, "columns.x.class: unknown class 'id?x'" },
		{ COL("\"class\": 3"), SR_EINVAL, "p.json: columns.x.class: expected a string (id, qi, sa or public), got an integer" },
		{ COL("\"class\": \"id\", \"colour\": 1"), SR_EINVAL,
		  "p.json: columns.x.colour: unknown key (expected class, allow, type, bounds, domain, mask, nulls, generalize, hash_scope or join_reveals_group_counts)" },
		{ COLS("\"a\\nb\": {\"class\": \"id\", \"colour\": 1}"), SR_EINVAL, "p.json: columns.a?b.colour: unknown key" },
		/* allow */
		{ COL("\"class\": \"id\", \"allow\": [\"join\", \"sort\"]"), SR_EINVAL,
		  "p.json: columns.x.allow[1]: unknown usage 'sort' (expected join, filter, group, aggregate, reveal, feature or label)" },
		{ COLS("\"age\": {\"class\": \"qi\", \"allow\": [\"filter\", \"group\", \"sort\"]}"), SR_EINVAL,
		  "p.json: columns.age.allow[2]: unknown usage 'sort'" },
		{ COL("\"class\": \"id\", \"allow\": [\"join\", \"join\"]"), SR_EINVAL,
		  "p.json: columns.x.allow[1]: duplicate usage 'join'" },
		{ COL("\"class\": \"id\", \"allow\": \"join\""), SR_EINVAL,
		  "p.json: columns.x.allow: expected an array of usage names (join, filter, group, aggregate, reveal, feature or label), got a string" },
		{ COL("\"class\": \"id\", \"allow\": [null]"), SR_EINVAL, "columns.x.allow[0]: expected a usage name" },
		/* type */
		{ COL("\"class\": \"id\", \"type\": \"text\""), SR_EINVAL,
		  "p.json: columns.x.type: unknown type 'text' (expected int64, float64, string, bool or date)" },
		{ COL("\"class\": \"id\", \"type\": \"int64\\u0000\""), SR_EINVAL, "columns.x.type: unknown type 'int64?'" },
		{ COL("\"class\": \"id\", \"type\": 64"), SR_EINVAL, "columns.x.type: expected a string (int64, float64, string, bool or date), got an integer" },
		/* bounds */
		{ COL("\"class\": \"sa\", \"bounds\": [5, 1]"), SR_EINVAL,
		  "p.json: columns.x.bounds: lower bound 5 is above upper bound 1" },
		{ COL("\"class\": \"sa\", \"bounds\": [\"-1.5\", -2.25]"), SR_EINVAL,
		  "columns.x.bounds: lower bound -1.5 is above upper bound -2.25" },
		{ COL("\"class\": \"sa\", \"bounds\": [0.30000000000000004, \"0.3\"]"), SR_EINVAL,
		  "lower bound 0.30000000000000004 is above upper bound 0.3" },
		{ COL("\"class\": \"sa\", \"bounds\": [1]"), SR_EINVAL,
		  "p.json: columns.x.bounds: expected [lo, hi], got an array of fewer than 2 values" },
		{ COL("\"class\": \"sa\", \"bounds\": [1, 2, 3]"), SR_EINVAL, "columns.x.bounds: expected [lo, hi], got an array of more than 2 values" },
		{ COL("\"class\": \"sa\", \"bounds\": {\"lo\": 1}"), SR_EINVAL, "columns.x.bounds: expected [lo, hi], got an object" },
		{ COL("\"class\": \"sa\", \"bounds\": [\"a\", 1]"), SR_EINVAL,
		  "p.json: columns.x.bounds[0]: expected a finite number or decimal string, got \"a\"" },
		{ COL("\"class\": \"sa\", \"bounds\": [0, \"inf\"]"), SR_EINVAL, "columns.x.bounds[1]: expected a finite number" },
		{ COL("\"class\": \"sa\", \"bounds\": [0, \"nan\"]"), SR_EINVAL, "columns.x.bounds[1]: expected a finite number" },
		{ COL("\"class\": \"sa\", \"bounds\": [\"-NaN\", 0]"), SR_EINVAL, "columns.x.bounds[0]: expected a finite number" },
		{ COL("\"class\": \"sa\", \"bounds\": [\"-1e400\", 0]"), SR_EINVAL, "columns.x.bounds[0]: expected a finite number" },
		{ COL("\"class\": \"sa\", \"bounds\": [\"1,5\", 2]"), SR_EINVAL, "columns.x.bounds[0]: expected a finite number" },
		{ COL("\"class\": \"sa\", \"bounds\": [\"1\\u0000\", 2]"), SR_EINVAL, "columns.x.bounds[0]: expected a finite number" },
		{ COL("\"class\": \"sa\", \"bounds\": [null, 2]"), SR_EINVAL, "columns.x.bounds[0]: expected a finite number or decimal string, got null" },
		{ COL("\"class\": \"sa\", \"bounds\": [false, 2]"), SR_EINVAL, "got false" },
		/* domain */
		{ COL("\"class\": \"qi\", \"domain\": []"), SR_EINVAL,
		  "p.json: columns.x.domain: expected 1 to 65536 values, got none" },
		{ COL("\"class\": \"qi\", \"domain\": \"north\""), SR_EINVAL,
		  "columns.x.domain: expected an array of values, got a string" },
		{ COL("\"class\": \"qi\", \"domain\": [\"a\", \"b\", \"a\"]"), SR_EINVAL,
		  "p.json: columns.x.domain[2]: duplicate value \"a\"" },
		{ COL("\"class\": \"qi\", \"domain\": [1, 2, 1]"), SR_EINVAL, "columns.x.domain[2]: duplicate value 1" },
		{ COL("\"class\": \"qi\", \"domain\": [true, false, true]"), SR_EINVAL, "columns.x.domain[2]: duplicate value true" },
		{ COL("\"class\": \"qi\", \"domain\": [\"a\\u0000b\", \"a\\u0000b\"]"), SR_EINVAL,
		  "columns.x.domain[1]: duplicate value \"a?b\"" },
		{ COL("\"class\": \"qi\", \"domain\": [[1]]"), SR_EINVAL,
		  "p.json: columns.x.domain[0]: expected a string, integer or boolean, got an array" },
		{ COL("\"class\": \"qi\", \"domain\": [\"a\", null]"), SR_EINVAL, "columns.x.domain[1]: expected a string, integer or boolean, got null" },
		{ COL("\"class\": \"qi\", \"domain\": [1.5]"), SR_EINVAL, "columns.x.domain[0]: expected a string, integer or boolean, got a number with a fraction" },
		{ COL("\"class\": \"qi\", \"domain\": [{}]"), SR_EINVAL, "got an object" },
		/* mask */
		{ COL("\"class\": \"id\", \"mask\": \"blur\""), SR_EINVAL,
		  "p.json: columns.x.mask: unknown mask 'blur' (expected hash, truncate:N or range:W)" },
		{ COL("\"class\": \"id\", \"mask\": \"hash2\""), SR_EINVAL, "columns.x.mask: unknown mask 'hash2'" },
		{ COL("\"class\": \"id\", \"mask\": \"HASH\""), SR_EINVAL, "columns.x.mask: unknown mask 'HASH'" },
		{ COL("\"class\": \"id\", \"mask\": \"hash\\u0000\""), SR_EINVAL, "columns.x.mask: unknown mask 'hash?'" },
		{ COL("\"class\": \"id\", \"mask\": 1"), SR_EINVAL, "columns.x.mask: expected a string (hash, truncate:N or range:W), got an integer" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate:0\""), SR_EINVAL,
		  "p.json: columns.x.mask: truncate:N needs a whole number N from 1 to 1024, got 'truncate:0'" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate:1025\""), SR_EINVAL, "truncate:N needs a whole number N from 1 to 1024, got 'truncate:1025'" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate:\""), SR_EINVAL, "truncate:N needs a whole number" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate:x\""), SR_EINVAL, "truncate:N needs a whole number" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate:+4\""), SR_EINVAL, "truncate:N needs a whole number" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate:2.5\""), SR_EINVAL, "truncate:N needs a whole number" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate: 4\""), SR_EINVAL, "truncate:N needs a whole number" },
		{ COL("\"class\": \"id\", \"mask\": \"truncate:99999999999999999999\""), SR_EINVAL, "truncate:N needs a whole number" },
		{ COL("\"class\": \"id\", \"mask\": \"range:-1\""), SR_EINVAL,
		  "p.json: columns.x.mask: range:W needs a positive number W, got 'range:-1'" },
		{ COL("\"class\": \"id\", \"mask\": \"range:0\""), SR_EINVAL, "range:W needs a positive number W" },
		{ COL("\"class\": \"id\", \"mask\": \"range:\""), SR_EINVAL, "range:W needs a positive number W" },
		{ COL("\"class\": \"id\", \"mask\": \"range:nan\""), SR_EINVAL, "range:W needs a positive number W" },
		{ COL("\"class\": \"id\", \"mask\": \"range:inf\""), SR_EINVAL, "range:W needs a positive number W" },
		{ COL("\"class\": \"id\", \"mask\": \"range:1e999\""), SR_EINVAL, "range:W needs a positive number W" },
		/* The first bad column is named even after good ones. */
		{ COLS("\"a\": {\"class\": \"id\"}, \"b\": {\"class\": \"qi\", \"bounds\": [2, 1]}"), SR_EINVAL,
		  "p.json: columns.b.bounds: lower bound 2 is above upper bound 1" },
	};
	(void)state;
	check_bad_cases(cases, sizeof(cases) / sizeof(*cases));
}

/* Errors that need generated text: limits. */
static void test_parse_limits(void **state)
{
	struct sr_buf text;
	struct sr_policy pol;
	struct sr_err err;
	char name[SR_COLUMN_NAME_MAX + 2];

	(void)state;
	sr_policy_init(&pol);
	sr_buf_init(&text, 0);

	/* The file size limit, checked before parsing. */
	assert_int_equal(sr_buf_addstr(&text, "{\"columns\": {}, \"row_filter\": \""), SR_OK);
	while (text.len <= SR_POLICY_BYTES_MAX)
		assert_int_equal(sr_buf_addch(&text, 'a'), SR_OK);
	assert_int_equal(sr_buf_addstr(&text, "\"}"), SR_OK);
	assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "p.json: "));
	assert_non_null(strstr(err.msg, "more than the limit of 1048576"));
	assert_empty(&pol);

	/* row_filter: 4096 bytes pass, 4097 do not. */
	for (size_t len = 4096; len <= 4097; len++) {
		sr_buf_reset(&text);
		assert_int_equal(sr_buf_addstr(&text, "{\"columns\": {}, \"row_filter\": \""), SR_OK);
		for (size_t i = 0; i < len; i++)
			assert_int_equal(sr_buf_addch(&text, 'a'), SR_OK);
		assert_int_equal(sr_buf_addstr(&text, "\"}"), SR_OK);
		if (len == 4096) {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_OK);
			assert_int_equal(strlen(pol.row_filter), 4096);
		} else {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_ELIMIT);
			assert_string_equal(err.msg, "p.json: row_filter: 4097 bytes, more than the limit of 4096");
		}
		sr_policy_release(&pol);
	}

	/* Column names: 128 bytes pass, 129 do not (and the message cuts
	 * the name). */
	for (size_t len = SR_COLUMN_NAME_MAX; len <= SR_COLUMN_NAME_MAX + 1; len++) {
		memset(name, 'n', len);
		name[len] = '\0';
		sr_buf_reset(&text);
		assert_int_equal(sr_buf_addf(&text, "{\"columns\": {\"%s\": {\"class\": \"id\"}}}", name), SR_OK);
		if (len == SR_COLUMN_NAME_MAX) {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_OK);
		} else {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_ELIMIT);
			assert_non_null(strstr(err.msg, "nnn...: column name longer than the limit of 128 bytes"));
			assert_true(strlen(err.msg) < 120);
		}
		sr_policy_release(&pol);
	}

	/* Receivers: at most SR_POLICY_LIST_MAX. */
	for (int n = SR_POLICY_LIST_MAX; n <= SR_POLICY_LIST_MAX + 1; n++) {
		sr_buf_reset(&text);
		assert_int_equal(sr_buf_addstr(&text, "{\"columns\": {}, \"receivers\": ["), SR_OK);
		for (int i = 0; i < n; i++)
			assert_int_equal(sr_buf_addf(&text, "%s\"org_%032x\"", i ? "," : "", (unsigned)i), SR_OK);
		assert_int_equal(sr_buf_addstr(&text, "]}"), SR_OK);
		if (n == SR_POLICY_LIST_MAX) {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_OK);
			assert_int_equal(pol.nreceivers, n);
			assert_string_equal(pol.receivers[n - 1], "org_000000000000000000000000000003ff");
		} else {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_ELIMIT);
			assert_string_equal(err.msg, "p.json: receivers: 1025 organization ids, more than the limit of 1024");
		}
		sr_policy_release(&pol);
	}

	/* Domain: at most SR_POLICY_DOMAIN_MAX values. */
	for (int n = SR_POLICY_DOMAIN_MAX; n <= SR_POLICY_DOMAIN_MAX + 1; n++) {
		sr_buf_reset(&text);
		assert_int_equal(sr_buf_addstr(&text, "{\"columns\": {\"d\": {\"class\": \"qi\", \"domain\": ["), SR_OK);
		for (int i = 0; i < n; i++)
			assert_int_equal(sr_buf_addf(&text, "%s%d", i ? "," : "", i), SR_OK);
		assert_int_equal(sr_buf_addstr(&text, "]}}}"), SR_OK);
		if (n == SR_POLICY_DOMAIN_MAX) {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_OK);
			assert_int_equal(json_array_size(pol.columns[0].domain), n);
		} else {
			assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_ELIMIT);
			assert_string_equal(err.msg, "p.json: columns.d.domain: 65537 values, more than the limit of 65536");
		}
		sr_policy_release(&pol);
	}

	/* Columns: at most SR_DATASET_COLUMNS_MAX. */
	sr_buf_reset(&text);
	assert_int_equal(sr_buf_addstr(&text, "{\"columns\": {"), SR_OK);
	for (int i = 0; i <= SR_DATASET_COLUMNS_MAX; i++)
		assert_int_equal(sr_buf_addf(&text, "%s\"c%d\": {\"class\": \"sa\"}", i ? "," : "", i), SR_OK);
	assert_int_equal(sr_buf_addstr(&text, "}}"), SR_OK);
	assert_int_equal(parse_len(text.data, text.len, &pol, &err), SR_ELIMIT);
	assert_string_equal(err.msg, "p.json: columns: 1025 columns, more than the limit of 1024");
	assert_empty(&pol);

	/* A NUL byte in the text itself (not in a string) is malformed JSON. */
	assert_int_equal(parse_len("{\"columns\": {}}\0", 16, &pol, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "p.json: line 1"));

	/* A failed parse empties a policy that held something. */
	assert_int_equal(parse(COLS("\"a\": {\"class\": \"id\"}"), &pol, &err), SR_OK);
	assert_int_equal(parse(COLS("\"a\": {\"class\": \"idd\"}"), &pol, &err), SR_EINVAL);
	assert_empty(&pol);

	sr_buf_release(&text);
	sr_policy_release(&pol);
}

static const char full_policy[] =
	"{\"columns\": {"
	"\"id\": {\"class\": \"id\", \"mask\": \"hash\"},"
	"\"age\": {\"class\": \"qi\", \"type\": \"int64\", \"bounds\": [18, 100], \"domain\": [18, 19, 20]},"
	"\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\"], \"mask\": \"truncate:3\"},"
	"\"amount\": {\"class\": \"sa\", \"bounds\": [\"-1.5\", 1e6], \"mask\": \"range:0.5\"},"
	"\"flag\": {\"class\": \"public\", \"allow\": [\"reveal\"]}},"
	"\"version\": 1,"
	"\"min_group_size\": 10,"
	"\"dp\": {\"epsilon_total\": 3.0, \"epsilon_max_per_job\": \"0.5\", \"delta\": 1e-6},"
	"\"receivers\": [\"" ORG_A "\", \"" ORG_B "\"],"
	"\"jobs\": [\"query\", \"psi\"],"
	"\"row_filter\": \"age >= 18\","
	"\"expires\": \"2027-12-31\"}";

static void test_parse_full(void **state)
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
	assert_string_equal(c->name, "id");
	assert_int_equal(c->cls, SR_CLASS_ID);
	assert_int_equal(c->allow, SR_USE_JOIN);
	assert_int_equal(c->mask, SR_MASK_HASH);
	assert_false(c->has_type);
	assert_false(c->has_bounds);
	assert_null(c->domain);
	c = sr_policy_column(&pol, "age");
	assert_int_equal(c->allow, SR_USE_FILTER | SR_USE_GROUP);
	assert_true(c->has_bounds && c->lo == 18 && c->hi == 100);
	assert_int_equal(json_array_size(c->domain), 3);
	assert_int_equal(sr_policy_type_override(&pol, "age", &t), 1);
	assert_int_equal(t, SR_TYPE_INT64);
	assert_int_equal(sr_policy_type_override(&pol, "region", &t), 0);
	assert_int_equal(sr_policy_type_override(&pol, "nope", &t), 0);
	c = sr_policy_column(&pol, "region");
	assert_int_equal(c->mask, SR_MASK_TRUNCATE);
	assert_true(c->mask_param == 3);
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
	assert_int_equal(pol.nreceivers, 2);
	assert_string_equal(pol.receivers[0], ORG_A);
	assert_string_equal(pol.receivers[1], ORG_B);
	assert_int_equal(pol.jobs, SR_JOB_PSI | SR_JOB_QUERY);
	assert_string_equal(pol.row_filter, "age >= 18");
	assert_int_equal(pol.expires, 1830211200);   /* 2027-12-31T00:00:00Z */
	/* Parsing again into the same policy replaces it. */
	assert_int_equal(parse(COLS("\"b\": {\"class\": \"sa\"}"), &pol, &err), SR_OK);
	assert_int_equal(pol.ncolumns, 1);
	assert_int_equal(pol.nreceivers, 0);
	sr_policy_release(&pol);
	sr_policy_release(&pol);   /* twice is harmless */
}

static void test_parse_edges(void **state)
{
	struct sr_policy pol;
	struct sr_err err;

	(void)state;
	sr_policy_init(&pol);
	/* Numbers as decimal strings; exponents; subnormals. */
	assert_int_equal(parse(DP("\"epsilon_total\": \"1e-3\", \"delta\": \"0\""), &pol, &err), SR_OK);
	assert_true(pol.dp.epsilon_total == 1e-3 && pol.dp.epsilon_max_per_job == 1e-3);
	assert_true(pol.dp.delta == 0);
	assert_int_equal(parse(DP("\"epsilon_total\": 2, \"epsilon_max_per_job\": 2"), &pol, &err), SR_OK);
	assert_int_equal(parse(COL("\"class\": \"sa\", \"bounds\": [\"4.9e-324\", \"1.7976931348623157e308\"]"), &pol, &err), SR_OK);
	assert_true(pol.columns[0].lo == 4.9e-324 && pol.columns[0].hi == 1.7976931348623157e308);
	assert_int_equal(parse(COL("\"class\": \"sa\", \"bounds\": [3, 3]"), &pol, &err), SR_OK);
	assert_int_equal(parse(COL("\"class\": \"sa\", \"bounds\": [-9223372036854775808, 9223372036854775807]"), &pol, &err), SR_OK);
	/* Masks at their limits. */
	assert_int_equal(parse(COL("\"class\": \"id\", \"mask\": \"truncate:1024\""), &pol, &err), SR_OK);
	assert_true(pol.columns[0].mask_param == 1024);
	assert_int_equal(parse(COL("\"class\": \"id\", \"mask\": \"truncate:1\""), &pol, &err), SR_OK);
	assert_int_equal(parse(COL("\"class\": \"id\", \"mask\": \"range:1e-3\""), &pol, &err), SR_OK);
	assert_true(pol.columns[0].mask_param == 1e-3);
	/* expires as unix seconds; the day after the epoch as a date. */
	assert_int_equal(parse(TOP("\"expires\": 1"), &pol, &err), SR_OK);
	assert_int_equal(pol.expires, 1);
	assert_int_equal(parse(TOP("\"expires\": \"1970-01-02\""), &pol, &err), SR_OK);
	assert_int_equal(pol.expires, 86400);
	assert_int_equal(parse(TOP("\"expires\": \"2000-02-29\""), &pol, &err), SR_OK);
	assert_int_equal(pol.expires, 951782400);
	/* An empty allow list and an empty job list are explicit choices. */
	assert_int_equal(parse(COL("\"class\": \"public\", \"allow\": []"), &pol, &err), SR_OK);
	assert_int_equal(pol.columns[0].allow, 0);
	assert_int_equal(parse(TOP("\"jobs\": []"), &pol, &err), SR_OK);
	assert_int_equal(pol.jobs, 0);
	assert_int_equal(parse(TOP("\"receivers\": []"), &pol, &err), SR_OK);
	assert_int_equal(pol.nreceivers, 0);
	/* Mixed domain scalars are fine until bind checks them. */
	assert_int_equal(parse(COL("\"class\": \"qi\", \"domain\": [\"1\", 1, true]"), &pol, &err), SR_OK);
	/* Column names may hold any UTF-8. */
	assert_int_equal(parse(COLS("\"Kundennummer \xc3\xa4\": {\"class\": \"id\"}"), &pol, &err), SR_OK);
	assert_non_null(sr_policy_column(&pol, "Kundennummer \xc3\xa4"));
	sr_policy_release(&pol);
}

static void test_class_defaults(void **state)
{
	static const struct {
		const char *cls;
		enum sr_class value;
		unsigned allow;
	} cases[] = {
		{ "id", SR_CLASS_ID, SR_USE_JOIN },
		{ "qi", SR_CLASS_QI, SR_USE_FILTER | SR_USE_GROUP },
		{ "sa", SR_CLASS_SA, SR_USE_AGGREGATE | SR_USE_FEATURE | SR_USE_LABEL },
		{ "public", SR_CLASS_PUBLIC, SR_USE_ALL },
	};
	struct sr_policy pol;
	struct sr_err err;
	char text[128];

	(void)state;
	sr_policy_init(&pol);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(text, sizeof(text), COLS("\"c\": {\"class\": \"%s\"}"), cases[i].cls);
		assert_int_equal(parse(text, &pol, &err), SR_OK);
		assert_int_equal(pol.columns[0].cls, cases[i].value);
		assert_int_equal(pol.columns[0].allow, cases[i].allow);
		assert_int_equal(sr_class_default_allow(cases[i].value), cases[i].allow);
		assert_string_equal(sr_class_name(cases[i].value), cases[i].cls);
		/* An explicit allow replaces the default. */
		snprintf(text, sizeof(text), COLS("\"c\": {\"class\": \"%s\", \"allow\": [\"label\", \"join\"]}"), cases[i].cls);
		assert_int_equal(parse(text, &pol, &err), SR_OK);
		assert_int_equal(pol.columns[0].allow, SR_USE_LABEL | SR_USE_JOIN);
	}
	/* Dataset-wide defaults. */
	assert_int_equal(parse(COLS("\"p\": {\"class\": \"public\"}"), &pol, &err), SR_OK);
	assert_int_equal(pol.min_group_size, 1);
	assert_int_equal(pol.jobs, SR_JOB_ALL);
	assert_false(pol.dp.enabled);
	assert_int_equal(pol.nreceivers, 0);
	assert_null(pol.row_filter);
	assert_int_equal(pol.expires, 0);
	sr_policy_release(&pol);

	assert_int_equal(sr_class_default_allow(SR_CLASS_NONE), 0);
	assert_string_equal(sr_class_name(SR_CLASS_NONE), "none");
	assert_string_equal(sr_class_name((enum sr_class)9), "unknown");
	assert_string_equal(sr_usage_name(SR_USE_JOIN), "join");
	assert_string_equal(sr_usage_name(SR_USE_LABEL), "label");
	assert_string_equal(sr_usage_name(SR_USE_ALL), "unknown");
	assert_string_equal(sr_job_kind_name(SR_JOB_PSI), "psi");
	assert_string_equal(sr_job_kind_name(SR_JOB_ANONYMIZE), "anonymize");
	assert_string_equal(sr_job_kind_name((enum sr_job_bit)0), "unknown");
}

static const char *const full_names[] = { "flag", "amount", "region", "age", "id" };
static const enum sr_type full_types[] = { SR_TYPE_BOOL, SR_TYPE_FLOAT64,
	SR_TYPE_STRING, SR_TYPE_INT64, SR_TYPE_STRING };

static void test_bind(void **state)
{
	struct sr_policy pol;
	struct sr_err err;
	enum sr_type t;

	(void)state;
	sr_policy_init(&pol);
	assert_int_equal(parse(full_policy, &pol, &err), SR_OK);
	assert_int_equal(sr_policy_bind(&pol, full_names, full_types, 5, &err), SR_OK);
	/* Dataset order, types set, everything else carried along. */
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(pol.columns[i].name, full_names[i]);
		assert_int_equal(pol.columns[i].type, full_types[i]);
	}
	assert_int_equal(pol.columns[1].mask, SR_MASK_RANGE);
	assert_int_equal(pol.columns[3].cls, SR_CLASS_QI);
	assert_int_equal(json_array_size(pol.columns[2].domain), 2);
	/* Only the declared type is an override. */
	assert_int_equal(sr_policy_type_override(&pol, "age", &t), 1);
	assert_int_equal(sr_policy_type_override(&pol, "amount", &t), 0);
	/* Binding again to the same dataset is fine. */
	assert_int_equal(sr_policy_bind(&pol, full_names, full_types, 5, &err), SR_OK);
	sr_policy_release(&pol);

	/* A policy column the dataset lacks; the policy is left as it was. */
	assert_int_equal(parse(full_policy, &pol, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, full_names, full_types, 4, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy: column 'id' is not in the dataset (columns: flag, amount, region, age)");
	assert_int_equal(pol.ncolumns, 5);
	assert_string_equal(pol.columns[0].name, "id");
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, NULL, NULL, 0, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy: column 'id' is not in the dataset (columns: none)");
	sr_policy_release(&pol);

	/* Empty policy, empty dataset. */
	assert_int_equal(parse("{\"columns\": {}}", &pol, &err), SR_OK);
	assert_int_equal(sr_policy_bind(&pol, NULL, NULL, 0, &err), SR_OK);
	assert_int_equal(pol.ncolumns, 0);
	sr_policy_release(&pol);
}

/*
 * The row filter is compiled against the dataset's columns at bind, so a
 * filter that cannot run is refused at import and publication, with the
 * expression module's position and reason behind "policy: row_filter: ".
 */
static void test_bind_row_filter(void **state)
{
#define FILTERED(f) "{\"columns\": {\"id\": {\"class\": \"id\"}, \"age\": {\"class\": \"qi\"}," \
	"\"region\": {\"class\": \"qi\"}, \"Order Date\": {\"class\": \"qi\"}}, \"row_filter\": \"" f "\"}"
	static const char *const names[] = { "id", "age", "region", "Order Date" };
	static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64,
		SR_TYPE_STRING, SR_TYPE_DATE };
	static const char *const good[] = {
		FILTERED("age >= 18"),
		FILTERED("age BETWEEN 18 AND 65 AND region IN ('north', 'south') OR region IS NULL"),
		FILTERED("\\\"Order Date\\\" >= DATE '2020-01-01' AND NOT id LIKE 'test-%'"),
		FILTERED("AGE > 17 -- case-insensitive names and keywords\\n and Region <> 'x'"),
	};
	static const struct bad_case bad[] = {
		{ FILTERED("agee >= 18"), SR_EINVAL, "policy: row_filter: 1:1: unknown column 'agee'" },
		{ FILTERED("NOT agee"), SR_EINVAL, "policy: row_filter: 1:5: unknown column 'agee'" },
		{ FILTERED("age >= '18'"), SR_EINVAL, "policy: row_filter: 1:5: cannot compare int64 with string" },
		{ FILTERED("age"), SR_EINVAL, "policy: row_filter: 1:1: expected a boolean predicate, got a value of type int64" },
		{ FILTERED("age >= 18 AND (region = 'x'"), SR_EINVAL, "policy: row_filter: 1:28: expected ')', got end of input" },
		{ FILTERED("age >= 18 region = 'x'"), SR_EINVAL,
		  "policy: row_filter: 1:11: expected an operator or the end of the expression, got 'region'" },
		{ FILTERED("region LIKE '%th'"), SR_EINVAL,
		  "policy: row_filter: 1:14: LIKE pattern '%th': '%' is supported only at the end, as in 'abc%'" },
		{ FILTERED("\\\"Order Date\\\" > '2020-01-01'"), SR_EINVAL,
		  "policy: row_filter: 1:14: cannot compare date with string (write a date as DATE 'YYYY-MM-DD')" },
		{ FILTERED("((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
			   "age > 1)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))"), SR_ELIMIT,
		  "policy: row_filter: 1:65: expression nested more than 64 levels deep" },
	};
	struct sr_policy pol;
	struct sr_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		sr_policy_init(&pol);
		assert_int_equal(parse(good[i], &pol, &err), SR_OK);
		sr_err_clear(&err);
		if (sr_policy_bind(&pol, names, types, 4, &err) != SR_OK)
			fail_msg("%s: %s", good[i], err.msg);
		sr_policy_release(&pol);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc;
		sr_policy_init(&pol);
		assert_int_equal(parse(bad[i].text, &pol, &err), SR_OK);
		sr_err_clear(&err);
		rc = sr_policy_bind(&pol, names, types, 4, &err);
		if (rc != bad[i].code || strcmp(err.msg, bad[i].message) != 0)
			fail_msg("%s: got %d '%s', expected %d '%s'", bad[i].text, rc,
				 err.msg, bad[i].code, bad[i].message);
		/* A failed bind leaves the policy as it was. */
		assert_string_equal(pol.columns[0].name, "id");
		assert_int_equal(pol.columns[1].type, 0);
		sr_policy_release(&pol);
	}
	/* The filter is checked against this dataset's types: the same text
	 * binds to one dataset and not to another. */
	sr_policy_init(&pol);
	assert_int_equal(parse(FILTERED("age >= 18"), &pol, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, names,
		(const enum sr_type[]){ SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_DATE },
		4, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy: row_filter: 1:5: cannot compare string with int64");
	sr_policy_release(&pol);
#undef FILTERED
}

static void test_bind_unclassified(void **state)
{
	static const char *const one[] = { "id", "x" };
	static const char *const two[] = { "x", "id", "y" };
	static const enum sr_type st[] = { SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_INT64 };
	const char *many[60];
	enum sr_type many_types[60];
	char names[60][24];
	struct sr_policy pol;
	struct sr_err err;

	(void)state;
	sr_policy_init(&pol);
	assert_int_equal(parse(COLS("\"id\": {\"class\": \"id\"}"), &pol, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, one, st, 2, &err), SR_EPOLICY);
	assert_string_equal(err.msg, "policy: column 'x' is not classified: every column needs a class (id, qi, sa or public)");
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, two, st, 3, &err), SR_EPOLICY);
	assert_string_equal(err.msg, "policy: columns 'x', 'y' are not classified: every column needs a class (id, qi, sa or public)");
	assert_int_equal(pol.ncolumns, 1);
	/* Many: as many names as fit, then the count. */
	many[0] = "id";
	many_types[0] = SR_TYPE_STRING;
	for (int i = 1; i < 60; i++) {
		snprintf(names[i], sizeof(names[i]), "column_%02d", i);
		many[i] = names[i];
		many_types[i] = SR_TYPE_INT64;
	}
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, many, many_types, 60, &err), SR_EPOLICY);
	assert_non_null(strstr(err.msg, "policy: columns 'column_01', 'column_02', "));
	assert_non_null(strstr(err.msg, ", ... (59 in all) are not classified: every column needs a class (id, qi, sa or public)"));
	assert_true(strlen(err.msg) < SR_ERR_MSG_MAX - 1);   /* not cut */
	sr_policy_release(&pol);
}

static void test_bind_type_rules(void **state)
{
	static const struct {
		const char *policy;
		enum sr_type type;
		const char *message;
	} cases[] = {
		{ COLS("\"name\": {\"class\": \"sa\", \"bounds\": [0, 1]}"), SR_TYPE_STRING,
		  "policy: columns.name.bounds: bounds need a numeric column (int64 or float64), 'name' is string" },
		{ COLS("\"c\": {\"class\": \"sa\", \"bounds\": [0, 1]}"), SR_TYPE_DATE,
		  "policy: columns.c.bounds: bounds need a numeric column (int64 or float64), 'c' is date" },
		{ COLS("\"c\": {\"class\": \"sa\", \"bounds\": [0, 1]}"), SR_TYPE_BOOL,
		  "bounds need a numeric column (int64 or float64), 'c' is bool" },
		{ COLS("\"c\": {\"class\": \"id\", \"mask\": \"truncate:2\"}"), SR_TYPE_INT64,
		  "policy: columns.c.mask: truncate masks need a string column, 'c' is int64" },
		{ COLS("\"c\": {\"class\": \"id\", \"mask\": \"truncate:2\"}"), SR_TYPE_DATE,
		  "columns.c.mask: truncate masks need a string column, 'c' is date" },
		{ COLS("\"c\": {\"class\": \"id\", \"mask\": \"range:5\"}"), SR_TYPE_STRING,
		  "policy: columns.c.mask: range masks need a numeric column (int64 or float64), 'c' is string" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [1, 2, 3, \"x\"]}"), SR_TYPE_INT64,
		  "policy: columns.d.domain[3]: value \"x\" is not a valid int64" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [1, \"2\"]}"), SR_TYPE_INT64,
		  "policy: columns.d.domain[1]: value \"2\" is not a valid int64" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [\"a\", 5]}"), SR_TYPE_STRING,
		  "policy: columns.d.domain[1]: value 5 is not a valid string" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [\"2020-01-01\", \"2020-13-01\"]}"), SR_TYPE_DATE,
		  "policy: columns.d.domain[1]: value \"2020-13-01\" is not a valid date" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [20200101]}"), SR_TYPE_DATE,
		  "columns.d.domain[0]: value 20200101 is not a valid date" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [true, 1]}"), SR_TYPE_BOOL,
		  "policy: columns.d.domain[1]: value 1 is not a valid bool" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [true, \"false\"]}"), SR_TYPE_BOOL,
		  "columns.d.domain[1]: value \"false\" is not a valid bool" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [1, \"2.5\", \"abc\"]}"), SR_TYPE_FLOAT64,
		  "policy: columns.d.domain[2]: value \"abc\" is not a valid float64" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [true]}"), SR_TYPE_FLOAT64,
		  "columns.d.domain[0]: value true is not a valid float64" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [\"nan\"]}"), SR_TYPE_FLOAT64,
		  "columns.d.domain[0]: value \"nan\" is not a valid float64" },
		/* The same number spelled twice. */
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [\"2.5\", 1, \"1.0\"]}"), SR_TYPE_FLOAT64,
		  "policy: columns.d.domain[2]: duplicate value \"1.0\" (the same number as domain[1])" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [\"1e1\", \"3\", 10]}"), SR_TYPE_FLOAT64,
		  "columns.d.domain[2]: duplicate value 10 (the same number as domain[0])" },
		{ COLS("\"d\": {\"class\": \"qi\", \"domain\": [\"-0\", 0]}"), SR_TYPE_FLOAT64,
		  "columns.d.domain[1]: duplicate value 0" },
		/* A declared type must be the column's type. */
		{ COLS("\"t\": {\"class\": \"qi\", \"type\": \"int64\"}"), SR_TYPE_STRING,
		  "policy: columns.t.type: declared int64, but the dataset column is string" },
	};
	struct sr_policy pol;
	struct sr_err err;

	(void)state;
	sr_policy_init(&pol);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *n[1];
		int rc;

		assert_int_equal(parse(cases[i].policy, &pol, &err), SR_OK);
		n[0] = pol.columns[0].name;
		sr_err_clear(&err);
		rc = sr_policy_bind(&pol, n, &cases[i].type, 1, &err);
		if (rc != SR_EINVAL || !strstr(err.msg, cases[i].message))
			fail_msg("bind case %zu: got %d '%s', want '%s'", i, rc,
				 err.msg, cases[i].message);
		sr_policy_release(&pol);
	}

	/* And what passes. */
	{
		static const struct {
			const char *policy;
			enum sr_type type;
		} ok[] = {
			{ COLS("\"c\": {\"class\": \"sa\", \"bounds\": [0, 1]}"), SR_TYPE_INT64 },
			{ COLS("\"c\": {\"class\": \"sa\", \"bounds\": [0, 1], \"mask\": \"range:0.25\"}"), SR_TYPE_FLOAT64 },
			{ COLS("\"c\": {\"class\": \"id\", \"mask\": \"hash\"}"), SR_TYPE_INT64 },
			{ COLS("\"c\": {\"class\": \"id\", \"mask\": \"truncate:2\"}"), SR_TYPE_STRING },
			{ COLS("\"c\": {\"class\": \"qi\", \"domain\": [\"2020-01-01\", \"2020-02-29\"]}"), SR_TYPE_DATE },
			{ COLS("\"c\": {\"class\": \"qi\", \"domain\": [1, \"1.5\", \"-2e3\"]}"), SR_TYPE_FLOAT64 },
			{ COLS("\"c\": {\"class\": \"qi\", \"domain\": [false, true]}"), SR_TYPE_BOOL },
			{ COLS("\"c\": {\"class\": \"qi\", \"domain\": [\"1\", \"01\"]}"), SR_TYPE_STRING },
			{ COLS("\"c\": {\"class\": \"qi\", \"type\": \"date\"}"), SR_TYPE_DATE },
		};
		for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
			const char *n[] = { "c" };
			assert_int_equal(parse(ok[i].policy, &pol, &err), SR_OK);
			sr_err_clear(&err);
			if (sr_policy_bind(&pol, n, &ok[i].type, 1, &err) != SR_OK)
				fail_msg("ok case %zu: %s", i, err.msg);
			assert_int_equal(pol.columns[0].type, ok[i].type);
			sr_policy_release(&pol);
		}
	}
}

static void test_bind_duplicates(void **state)
{
	static const char *const twice[] = { "a", "a" };
	static const enum sr_type st[] = { SR_TYPE_STRING, SR_TYPE_STRING };
	struct sr_policy pol;
	struct sr_err err;

	(void)state;
	sr_policy_init(&pol);
	/* A dataset with a column name twice (a broken caller). */
	assert_int_equal(parse(COLS("\"a\": {\"class\": \"id\"}"), &pol, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, twice, st, 2, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy: dataset column 'a' appears twice");
	assert_int_equal(pol.ncolumns, 1);
	sr_policy_release(&pol);
	/* A policy built from names with a name twice. */
	assert_int_equal(sr_policy_from_names((const char *const[]){ "id", "id" }, 2, &pol, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_bind(&pol, (const char *const[]){ "id" }, st, 1, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy: column 'id' appears twice");
	sr_policy_release(&pol);
}

/* Type override: the declared type reaches the importer before bind. */
static void test_type_override(void **state)
{
	static const char *const names[] = { "zip", "n" };
	struct sr_policy pol;
	struct sr_err err;
	enum sr_type types[2] = { SR_TYPE_INT64, SR_TYPE_INT64 };   /* inferred */

	(void)state;
	sr_policy_init(&pol);
	assert_int_equal(parse(COLS("\"zip\": {\"class\": \"qi\", \"type\": \"string\", \"mask\": \"truncate:3\"},"
				    "\"n\": {\"class\": \"sa\"}"), &pol, &err), SR_OK);
	for (size_t i = 0; i < 2; i++)
		(void)sr_policy_type_override(&pol, names[i], &types[i]);
	assert_int_equal(types[0], SR_TYPE_STRING);
	assert_int_equal(types[1], SR_TYPE_INT64);
	/* With the override the truncate mask is valid on zip. */
	assert_int_equal(sr_policy_bind(&pol, names, types, 2, &err), SR_OK);
	assert_int_equal(pol.columns[0].type, SR_TYPE_STRING);
	assert_int_equal(pol.columns[1].type, SR_TYPE_INT64);
	sr_policy_release(&pol);
}

/* Two policies are the same policy. */
static void assert_policy_equal(const struct sr_policy *a, const struct sr_policy *b)
{
	assert_int_equal(a->ncolumns, b->ncolumns);
	for (size_t i = 0; i < a->ncolumns; i++) {
		const struct sr_policy_column *x = &a->columns[i];
		const struct sr_policy_column *y = sr_policy_column(b, x->name);
		assert_non_null(y);
		assert_int_equal(x->cls, y->cls);
		assert_int_equal(x->allow, y->allow);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->has_bounds, y->has_bounds);
		if (x->has_bounds && (x->lo != y->lo || x->hi != y->hi))
			fail_msg("column %s: bounds [%.17g, %.17g] became [%.17g, %.17g]",
				 x->name, x->lo, x->hi, y->lo, y->hi);
		assert_int_equal(x->domain == NULL, y->domain == NULL);
		if (x->domain)
			assert_true(json_equal(x->domain, y->domain));
		assert_int_equal(x->mask, y->mask);
		assert_true(x->mask_param == y->mask_param);
		assert_int_equal(x->has_nulls, y->has_nulls);
		assert_int_equal(x->nnulls, y->nnulls);
		for (size_t k = 0; k < x->nnulls; k++)
			assert_string_equal(x->nulls[k], y->nulls[k]);
	}
	assert_int_equal(a->nnulls, b->nnulls);
	for (size_t k = 0; k < a->nnulls; k++)
		assert_string_equal(a->nulls[k], b->nulls[k]);
	assert_int_equal(a->min_group_size, b->min_group_size);
	assert_int_equal(a->dp.enabled, b->dp.enabled);
	assert_true(a->dp.epsilon_total == b->dp.epsilon_total);
	assert_true(a->dp.epsilon_max_per_job == b->dp.epsilon_max_per_job);
	assert_true(a->dp.delta == b->dp.delta);
	assert_int_equal(a->nreceivers, b->nreceivers);
	for (size_t i = 0; i < a->nreceivers; i++)
		assert_string_equal(a->receivers[i], b->receivers[i]);
	assert_int_equal(a->jobs, b->jobs);
	assert_int_equal(a->row_filter == NULL, b->row_filter == NULL);
	if (a->row_filter)
		assert_string_equal(a->row_filter, b->row_filter);
	assert_int_equal(a->expires, b->expires);
}

/* The canonical text of the normalized form (fails on any JSON real). */
static char *canonical(const struct sr_policy *pol)
{
	struct sr_buf out;
	struct sr_err err;
	json_t *j;

	sr_buf_init(&out, 0);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_to_json(pol, &j, &err), SR_OK);
	if (sr_json_canonical(j, &out, &err) != SR_OK)
		fail_msg("normalized form is not canonical: %s", err.msg);
	json_decref(j);
	return sr_buf_detach(&out, NULL);
}

/* to_json -> canonical text -> parse gives an equal policy; returns the
 * text (caller frees). */
static char *round_trip(const struct sr_policy *pol)
{
	struct sr_policy again;
	struct sr_err err;
	char *text = canonical(pol), *text2;

	sr_policy_init(&again);
	sr_err_clear(&err);
	if (sr_policy_parse(text, strlen(text), "normalized", &again, &err) != SR_OK)
		fail_msg("normalized form does not parse: %s\n%s", err.msg, text);
	assert_policy_equal(pol, &again);
	text2 = canonical(&again);
	assert_string_equal(text, text2);
	sr_free(text2);
	sr_policy_release(&again);
	return text;
}

static void test_normalized_form(void **state)
{
	static const char expected[] =
		"{\"columns\":{"
		"\"age\":{\"allow\":[\"filter\",\"group\"],\"bounds\":[18,100],\"class\":\"qi\",\"domain\":[18,19,20],\"type\":\"int64\"},"
		"\"amount\":{\"allow\":[\"aggregate\",\"feature\",\"label\"],\"bounds\":[\"-1.5\",1000000],\"class\":\"sa\",\"mask\":\"range:0.5\",\"type\":\"float64\"},"
		"\"flag\":{\"allow\":[\"reveal\"],\"class\":\"public\",\"type\":\"bool\"},"
		"\"id\":{\"allow\":[\"join\"],\"class\":\"id\",\"mask\":\"hash\",\"type\":\"string\"},"
		"\"region\":{\"allow\":[\"filter\",\"group\"],\"class\":\"qi\",\"domain\":[\"north\",\"south\"],\"mask\":\"truncate:3\",\"type\":\"string\"}},"
		"\"dp\":{\"delta\":\"1e-06\",\"epsilon_max_per_job\":\"0.5\",\"epsilon_total\":3},"
		"\"expires\":1830211200,"
		"\"jobs\":[\"psi\",\"query\"],"
		"\"min_group_size\":10,"
		"\"receivers\":[\"" ORG_A "\",\"" ORG_B "\"],"
		"\"row_filter\":\"age >= 18\","
		"\"version\":1}";
	static const char minimal_expected[] =
		"{\"columns\":{\"c\":{\"allow\":[\"aggregate\",\"feature\",\"label\"],\"class\":\"sa\"}},"
		"\"jobs\":[\"psi\",\"query\",\"train\",\"predict\",\"anonymize\"],"
		"\"min_group_size\":1,\"receivers\":[],\"version\":1}";
	struct sr_policy pol;
	struct sr_err err;
	json_t *j;
	char *text;

	(void)state;
	sr_policy_init(&pol);
	/* Unbound: the round trip keeps every field. */
	assert_int_equal(parse(full_policy, &pol, &err), SR_OK);
	sr_free(round_trip(&pol));
	/* Bound: types appear, everything is explicit, no reals. */
	assert_int_equal(sr_policy_bind(&pol, full_names, full_types, 5, &err), SR_OK);
	text = round_trip(&pol);
	assert_string_equal(text, expected);
	sr_free(text);
	/* The output is a new document: changing it leaves the policy. */
	assert_int_equal(sr_policy_to_json(&pol, &j, &err), SR_OK);
	json_array_clear(json_object_get(json_object_get(json_object_get(j, "columns"), "age"), "domain"));
	json_decref(j);
	assert_int_equal(json_array_size(pol.columns[3].domain), 3);
	sr_policy_release(&pol);

	/* Defaults made explicit. */
	assert_int_equal(parse(COLS("\"c\": {\"class\": \"sa\"}"), &pol, &err), SR_OK);
	text = round_trip(&pol);
	assert_string_equal(text, minimal_expected);
	sr_free(text);

	/* Explicit empty lists survive. */
	assert_int_equal(parse("{\"columns\": {\"c\": {\"class\": \"public\", \"allow\": []}}, \"jobs\": []}", &pol, &err), SR_OK);
	text = round_trip(&pol);
	assert_non_null(strstr(text, "\"allow\":[]"));
	assert_non_null(strstr(text, "\"jobs\":[]"));
	sr_free(text);

	/* from_names policies round-trip too. */
	assert_int_equal(sr_policy_from_names((const char *const[]){ "customer_id", "age" }, 2, &pol, &err), SR_OK);
	sr_free(round_trip(&pol));
	sr_policy_release(&pol);
}

/* Numbers: integral ones become JSON integers, others the shortest
 * decimal string that reads back as the same double. */
static void test_normalized_numbers(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "0", "0" }, { "-0", "0" }, { "\"-0.0\"", "0" }, { "18", "18" },
		{ "1e6", "1000000" }, { "\"2.50\"", "\"2.5\"" }, { "0.1", "\"0.1\"" },
		{ "0.30000000000000004", "\"0.30000000000000004\"" },
		{ "\"1e-6\"", "\"1e-06\"" }, { "1.7976931348623157e308", "\"1.7976931348623157e+308\"" },
		{ "4.9e-324", "\"5e-324\"" }, { "9007199254740993", "9007199254740992" },
		{ "-9223372036854775808", "-9223372036854775808" },
		{ "9223372036854775807", "\"9.223372036854776e+18\"" },
		{ "\"123456789012.5\"", "\"123456789012.5\"" }, { "\"1e300\"", "\"1e+300\"" },
		{ "\"-2.2250738585072014e-308\"", "\"-2.2250738585072014e-308\"" },
	};
	struct sr_policy pol;
	struct sr_err err;
	char text[256], want[128];
	char *out;

	(void)state;
	sr_policy_init(&pol);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(text, sizeof(text), COLS("\"c\": {\"class\": \"sa\", \"bounds\": [%s, %s]}"),
			 cases[i].in, cases[i].in);
		if (parse(text, &pol, &err) != SR_OK)
			fail_msg("case %zu: %s", i, err.msg);
		out = round_trip(&pol);
		snprintf(want, sizeof(want), "\"bounds\":[%s,%s]", cases[i].out, cases[i].out);
		if (!strstr(out, want))
			fail_msg("case %zu: want %s in %s", i, want, out);
		sr_free(out);
	}
	/* Masks and dp go the same way. */
	assert_int_equal(parse("{\"columns\": {\"c\": {\"class\": \"sa\", \"mask\": \"range:2.50\"}},"
			       "\"dp\": {\"epsilon_total\": 0.3, \"epsilon_max_per_job\": \"0.1\", \"delta\": 0}}",
			       &pol, &err), SR_OK);
	out = round_trip(&pol);
	assert_non_null(strstr(out, "\"mask\":\"range:2.5\""));
	assert_non_null(strstr(out, "\"dp\":{\"delta\":0,\"epsilon_max_per_job\":\"0.1\",\"epsilon_total\":\"0.3\"}"));
	sr_free(out);

	/* Random finite doubles, any bit pattern. */
	{
		uint64_t seed = 42;
		for (int i = 0; i < 2000; i++) {
			double a, b;
			uint64_t bits;
			do {
				bits = sr_test_rand(&seed);
				memcpy(&a, &bits, sizeof(a));
			} while (!isfinite(a));
			do {
				bits = sr_test_rand(&seed);
				memcpy(&b, &bits, sizeof(b));
			} while (!isfinite(b));
			if (a > b) {
				double t = a;
				a = b;
				b = t;
			}
			snprintf(text, sizeof(text),
				 "{\"columns\": {\"c\": {\"class\": \"sa\", \"bounds\": [\"%.17g\", \"%.17g\"], \"mask\": \"range:%.17g\"}}}",
				 a, b, fabs(a) > 0 ? fabs(a) : 1.0);
			if (parse(text, &pol, &err) != SR_OK)
				fail_msg("random %d: %s", i, err.msg);
			sr_free(round_trip(&pol));
		}
	}
	sr_policy_release(&pol);
}

/* to_json refuses a hand-made policy that no parse could give back. */
static void test_to_json_invalid(void **state)
{
	struct sr_policy pol;
	struct sr_err err;
	json_t *j = (json_t *)1;

	(void)state;
	sr_policy_init(&pol);
	assert_int_equal(parse(COLS("\"c\": {\"class\": \"sa\", \"bounds\": [0, 1]}"), &pol, &err), SR_OK);
	pol.columns[0].hi = NAN;
	sr_err_clear(&err);
	assert_int_equal(sr_policy_to_json(&pol, &j, &err), SR_EINVAL);
	assert_null(j);
	assert_non_null(strstr(err.msg, "policy: columns.c.bounds"));
	pol.columns[0].hi = 1;
	pol.columns[0].cls = SR_CLASS_NONE;
	sr_err_clear(&err);
	assert_int_equal(sr_policy_to_json(&pol, &j, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "policy: columns.c.class: not classified"));
	sr_policy_release(&pol);
}

static void test_classify_by_name(void **state)
{
	static const struct {
		const char *name;
		enum sr_class cls;
	} cases[] = {
		{ "customer_id", SR_CLASS_ID }, { "Email", SR_CLASS_ID },
		{ "EMAIL_ADDRESS", SR_CLASS_ID }, { "phone_number", SR_CLASS_ID },
		{ "ssn", SR_CLASS_ID }, { "firstName", SR_CLASS_ID },
		{ "last-name", SR_CLASS_ID }, { "IBAN", SR_CLASS_ID },
		{ "patientId", SR_CLASS_ID }, { "user.uuid", SR_CLASS_ID },
		{ "client_ip", SR_CLASS_ID }, { "address2", SR_CLASS_ID },
		{ "card_number", SR_CLASS_ID }, { "salary_id", SR_CLASS_ID },
		{ "zipCode", SR_CLASS_QI }, { "zip5", SR_CLASS_QI },
		{ "date_of_birth", SR_CLASS_QI }, { "dateOfBirth", SR_CLASS_QI },
		{ "age", SR_CLASS_QI }, { "AGE", SR_CLASS_QI }, { "Gender", SR_CLASS_QI },
		{ "home city", SR_CLASS_QI }, { "postcode", SR_CLASS_QI },
		{ "marital_status", SR_CLASS_QI }, { "birth_year", SR_CLASS_QI },
		{ "annual_salary", SR_CLASS_SA }, { "purchase_amount", SR_CLASS_SA },
		{ "Diagnosis", SR_CLASS_SA }, { "credit_score", SR_CLASS_SA },
		{ "balance", SR_CLASS_SA }, { "risk", SR_CLASS_SA },
		{ "totalSpend", SR_CLASS_SA }, { "age_score", SR_CLASS_SA },
		{ "foo", SR_CLASS_NONE }, { "favourite_colour", SR_CLASS_NONE },
		{ "identity", SR_CLASS_NONE }, { "ageing", SR_CLASS_NONE },
		{ "customer", SR_CLASS_NONE }, { "customer_segment", SR_CLASS_QI },
		{ "zipper", SR_CLASS_NONE }, { "email2x", SR_CLASS_ID },
		{ "", SR_CLASS_NONE }, { "___", SR_CLASS_NONE }, { "42", SR_CLASS_NONE },
	};
	char longname[SR_COLUMN_NAME_MAX + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (sr_policy_classify_by_name(cases[i].name) != cases[i].cls)
			fail_msg("'%s': got %d, want %d", cases[i].name,
				 sr_policy_classify_by_name(cases[i].name), cases[i].cls);
	/* At the length limit (all boundaries) and past it. */
	for (size_t i = 0; i < SR_COLUMN_NAME_MAX; i += 2) {
		longname[i] = 'a';
		longname[i + 1] = 'B';
	}
	memcpy(longname + SR_COLUMN_NAME_MAX - 3, "_id", 4);
	assert_int_equal(sr_policy_classify_by_name(longname), SR_CLASS_ID);
	memcpy(longname + SR_COLUMN_NAME_MAX - 3, "__id", 5);
	assert_int_equal(sr_policy_classify_by_name(longname), SR_CLASS_NONE);
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
	assert_string_equal(pol.columns[0].name, "customer_id");
	assert_int_equal(pol.columns[0].cls, SR_CLASS_ID);
	assert_int_equal(pol.columns[0].allow, SR_USE_JOIN);
	assert_int_equal(pol.columns[1].cls, SR_CLASS_QI);
	assert_int_equal(pol.columns[1].allow, SR_USE_FILTER | SR_USE_GROUP);
	assert_int_equal(pol.columns[2].cls, SR_CLASS_SA);
	assert_false(pol.columns[2].has_type);
	assert_int_equal(sr_policy_bind(&pol, good,
		(const enum sr_type[]){ SR_TYPE_STRING, SR_TYPE_INT64, SR_TYPE_FLOAT64 }, 3, &err), SR_OK);
	/* A failure empties the policy and names every unclassified column. */
	sr_err_clear(&err);
	assert_int_equal(sr_policy_from_names(bad, 4, &pol, &err), SR_EPOLICY);
	assert_string_equal(err.msg, "policy: columns 'colour', 'shoe' are not classified by name: classify them in a policy file (id, qi, sa or public)");
	assert_empty(&pol);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_from_names(bad + 1, 1, &pol, &err), SR_EPOLICY);
	assert_string_equal(err.msg, "policy: column 'colour' is not classified by name: classify them in a policy file (id, qi, sa or public)");
	/* No columns at all. */
	assert_int_equal(sr_policy_from_names(NULL, 0, &pol, &err), SR_OK);
	assert_int_equal(pol.ncolumns, 0);
	sr_policy_release(&pol);
}

/* Run parse + bind + to_json (+ canonical dump) and from_names + bind +
 * to_json with the n-th allocation failing, for every n until one run
 * gets through: each run ends in SR_OK or SR_ENOMEM, never anything
 * else, and leaks nothing (under ASan). */
static void test_allocation_failures(void **state)
{
	static const char *const names[] = { "id", "age", "region", "amount", "flag" };
	static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64,
		SR_TYPE_STRING, SR_TYPE_FLOAT64, SR_TYPE_BOOL };
	static const char float_domain[] =
		"{\"columns\": {\"x\": {\"class\": \"qi\", \"domain\": [1, \"2.5\", \"3\"]},"
		"\"y\": {\"class\": \"qi\", \"domain\": [\"a\", \"b\"]}}, \"receivers\": [\"" ORG_A "\"]}";
	static const char *const fnames[] = { "y", "x" };
	static const char *const guessed[] = { "customer_id", "age", "zip", "salary", "email" };
	static const enum sr_type ftypes[] = { SR_TYPE_STRING, SR_TYPE_FLOAT64 };
	static const struct {
		const char *text;
		const char *const *names;
		const enum sr_type *types;
		size_t count;
	} runs[] = {
		{ full_policy, names, types, 5 },
		{ float_domain, fnames, ftypes, 2 },
		{ NULL, guessed, types, 5 },   /* from_names */
	};

	(void)state;
	for (size_t r = 0; r < sizeof(runs) / sizeof(*runs); r++) {
		int succeeded = 0;
		unsigned long n;

		for (n = 1; n < 100000 && !succeeded; n++) {
			struct sr_policy pol;
			struct sr_err err;
			struct sr_buf out;
			json_t *j = NULL;
			int rc;

			sr_policy_init(&pol);
			sr_err_clear(&err);
			sr_buf_init(&out, 0);
			sr_alloc_fail_at(n, 0);
			if (runs[r].text)
				rc = sr_policy_parse(runs[r].text, strlen(runs[r].text),
						     "p.json", &pol, &err);
			else
				rc = sr_policy_from_names(guessed, 5, &pol, &err);
			/* A failed parse or from_names leaves nothing behind. */
			if (rc != SR_OK)
				assert_empty(&pol);
			if (rc == SR_OK)
				rc = sr_policy_bind(&pol, runs[r].names, runs[r].types,
						    runs[r].count, &err);
			if (rc == SR_OK)
				rc = sr_policy_to_json(&pol, &j, &err);
			if (rc == SR_OK)
				rc = sr_json_canonical(j, &out, &err);
			sr_alloc_fail_at(0, 0);
			if (rc == SR_OK)
				succeeded = 1;
			else if (rc != SR_ENOMEM)
				fail_msg("run %zu, allocation %lu: got %d (%s)", r, n, rc, err.msg);
			else if (!strstr(err.msg, "out of memory"))
				fail_msg("run %zu, allocation %lu: message '%s'", r, n, err.msg);
			json_decref(j);
			sr_buf_release(&out);
			sr_policy_release(&pol);
		}
		assert_true(succeeded);
		assert_true(n > 3);   /* some allocations did fail */
	}
}


/* "nulls" per dataset and per column, the rules on tokens, the
 * normalized form, and the _review key of a policy init draft. */
static void test_nulls(void **state)
{
	static const struct bad_case cases[] = {
		{ TOP("\"nulls\": \"NA\""), SR_EINVAL,
		  "p.json: nulls: expected an array of null tokens such as [\"NA\", \"NULL\"], got a string" },
		{ TOP("\"nulls\": [\"NA\", 1]"), SR_EINVAL,
		  "p.json: nulls[1]: expected a string, got an integer" },
		{ TOP("\"nulls\": [\"\"]"), SR_EINVAL,
		  "p.json: nulls[0]: a null token cannot be empty (the empty unquoted field is always NULL)" },
		{ TOP("\"nulls\": [\"NA\", \"NA\"]"), SR_EINVAL,
		  "p.json: nulls[1]: duplicate null token (also nulls[0])" },
		{ TOP("\"nulls\": [\"a\\nb\"]"), SR_EINVAL,
		  "p.json: nulls[0]: null token 'a?b' cannot hold a line end, a NUL byte or invalid UTF-8" },
		{ TOP("\"nulls\": [\"0123456789012345678901234567890123456789012345678901234567890123456789\"]"), SR_ELIMIT,
		  "p.json: nulls[0]: null token '012345678901234567890123456789012345678901234567...' is longer than the limit of 64 bytes" },
		{ TOP("\"nulls\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]"),
		  SR_ELIMIT, "p.json: nulls: 17 null tokens, more than the limit of 16" },
		{ COL("\"class\": \"sa\", \"nulls\": [true]"), SR_EINVAL,
		  "p.json: columns.x.nulls[0]: expected a string, got true" },
		{ "{\"_review\": [\"check the classes\"], \"columns\": {}}", SR_EINVAL,
		  "p.json: _review: this policy is a draft written by 'sealroom policy init': check every column's class, bounds and domain, then delete the _review key" },
	};
	struct sr_policy pol;
	struct sr_err err;
	char *text;

	(void)state;
	check_bad_cases(cases, sizeof(cases) / sizeof(*cases));
	sr_policy_init(&pol);
	assert_int_equal(parse("{\"nulls\": [\"NA\", \"-\"], \"columns\": {"
			       "\"a\": {\"class\": \"sa\"}, \"b\": {\"class\": \"sa\", \"nulls\": []},"
			       "\"c\": {\"class\": \"sa\", \"nulls\": [\"?\"]}}}", &pol, &err), SR_OK);
	text = round_trip(&pol);
	assert_non_null(strstr(text, "\"nulls\":[\"NA\",\"-\"]"));
	assert_non_null(strstr(text, "\"b\":{\"allow\":[\"aggregate\",\"feature\",\"label\"],\"class\":\"sa\",\"nulls\":[]}"));
	assert_non_null(strstr(text, "\"nulls\":[\"?\"]"));
	sr_free(text);
	{
		char *const *tokens;
		size_t n;
		sr_policy_column_nulls(&pol, "a", &tokens, &n);
		assert_int_equal(n, 2);
		sr_policy_column_nulls(&pol, "b", &tokens, &n);
		assert_int_equal(n, 0);
		sr_policy_column_nulls(&pol, "c", &tokens, &n);
		assert_int_equal(n, 1);
		assert_string_equal(tokens[0], "?");
	}
	/* --null tokens join the dataset's list, once each. */
	sr_err_clear(&err);
	assert_int_equal(sr_policy_add_nulls(&pol, "--null",
		(const char *const[]){ "NULL", "NA" }, 2, &err), SR_OK);
	assert_int_equal(pol.nnulls, 3);
	assert_int_equal(sr_policy_add_nulls(&pol, "--null",
		(const char *const[]){ "" }, 1, &err), SR_EINVAL);
	assert_string_equal(err.msg, "--null: a null token cannot be empty (the empty unquoted field is always NULL)");
	sr_policy_release(&pol);
	/* No "nulls": none in the normalized form. */
	assert_int_equal(parse(COLS("\"c\": {\"class\": \"sa\"}"), &pol, &err), SR_OK);
	text = round_trip(&pol);
	assert_null(strstr(text, "nulls"));
	sr_free(text);
	sr_policy_release(&pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors_document),
		cmocka_unit_test(test_parse_errors_columns),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_class_defaults),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_bind_unclassified),
		cmocka_unit_test(test_bind_row_filter),
		cmocka_unit_test(test_bind_type_rules),
		cmocka_unit_test(test_bind_duplicates),
		cmocka_unit_test(test_type_override),
		cmocka_unit_test(test_normalized_form),
		cmocka_unit_test(test_normalized_numbers),
		cmocka_unit_test(test_to_json_invalid),
		cmocka_unit_test(test_classify_by_name),
		cmocka_unit_test(test_from_names),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_nulls),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
