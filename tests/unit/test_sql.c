/*
 * test_sql.c - the SQL front end (src/sql): the parse tree of every
 * clause; syntax errors with their exact positions; binding against
 * schemas (datasets, aliases, qualified names, UNION ALL schemas, JOIN
 * keys, GROUP BY matching, aggregates, types) and its errors; the
 * compiled pieces evaluated; usages; the query rules over a corpus of
 * refused queries, each with its rule id or error; the plan as JSON and
 * text; limits; allocation failures.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/limits.h"
#include "expr/expr.h"
#include "policy/policy.h"
#include "sql/parse.h"
#include "sql/sql.h"
#include "store/vec.h"
#include "base/banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixtures ------------------------------------------------------------- */

/* The clinics' visits: one schema, several policies. */
static const struct sr_expr_column visits[] = {
	{ "patient_id", SR_TYPE_STRING }, { "region", SR_TYPE_STRING },
	{ "age", SR_TYPE_INT64 }, { "sex", SR_TYPE_STRING },
	{ "amount", SR_TYPE_FLOAT64 }, { "diagnosis", SR_TYPE_STRING },
	{ "visit", SR_TYPE_DATE }, { "cost", SR_TYPE_INT64 },
	{ "ward", SR_TYPE_INT64 }, { "Ward", SR_TYPE_INT64 },
};

/* Age as float64: a different schema. */
static const struct sr_expr_column visits_float_age[] = {
	{ "patient_id", SR_TYPE_STRING }, { "region", SR_TYPE_STRING },
	{ "age", SR_TYPE_FLOAT64 }, { "sex", SR_TYPE_STRING },
	{ "amount", SR_TYPE_FLOAT64 }, { "diagnosis", SR_TYPE_STRING },
	{ "visit", SR_TYPE_DATE }, { "cost", SR_TYPE_INT64 },
	{ "ward", SR_TYPE_INT64 }, { "Ward", SR_TYPE_INT64 },
};

static const struct sr_expr_column customers[] = {
	{ "cid", SR_TYPE_STRING }, { "risk_band", SR_TYPE_STRING },
	{ "income", SR_TYPE_FLOAT64 }, { "age", SR_TYPE_INT64 },
};

static const struct sr_expr_column purchases[] = {
	{ "cid", SR_TYPE_STRING }, { "amount", SR_TYPE_FLOAT64 },
	{ "year", SR_TYPE_INT64 }, { "n", SR_TYPE_INT64 },
};

#define VISITS_COLUMNS \
	"\"patient_id\": {\"class\": \"id\"}," \
	"\"age\": {\"class\": \"qi\", \"bounds\": [0, 120]}," \
	"\"amount\": {\"class\": \"sa\", \"bounds\": [0, 10000]}," \
	"\"diagnosis\": {\"class\": \"sa\"}," \
	"\"visit\": {\"class\": \"qi\"}," \
	"\"cost\": {\"class\": \"sa\"}," \
	"\"Ward\": {\"class\": \"public\"},"

static const char visits_policy[] =
	"{\"columns\": {" VISITS_COLUMNS
	"\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"]},"
	"\"sex\": {\"class\": \"qi\", \"domain\": [\"F\", \"M\"]},"
	"\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3]}},"
	"\"min_group_size\": 5}";

/* Clinic b: no domain for region, a larger threshold, reveal on age. */
static const char visits_policy_b[] =
	"{\"columns\": {"
	"\"patient_id\": {\"class\": \"id\"},"
	"\"age\": {\"class\": \"qi\", \"bounds\": [18, 99], \"allow\": [\"filter\", \"group\", \"reveal\"]},"
	"\"amount\": {\"class\": \"sa\", \"bounds\": [0, 500]},"
	"\"diagnosis\": {\"class\": \"sa\"},"
	"\"visit\": {\"class\": \"qi\"},"
	"\"cost\": {\"class\": \"sa\"},"
	"\"Ward\": {\"class\": \"public\"},"
	"\"region\": {\"class\": \"qi\"},"
	"\"sex\": {\"class\": \"qi\", \"domain\": [\"F\", \"M\", \"X\"]},"
	"\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3, 4]}},"
	"\"min_group_size\": 10}";

/* Under differential privacy. */
static const char visits_policy_dp[] =
	"{\"columns\": {" VISITS_COLUMNS
	"\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"]},"
	"\"sex\": {\"class\": \"qi\"},"
	"\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3]}},"
	"\"dp\": {\"epsilon_total\": 3, \"epsilon_max_per_job\": 1}}";

/* ward and region revealed only through their masks. */
static const char visits_policy_mask[] =
	"{\"columns\": {" VISITS_COLUMNS
	"\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"], \"mask\": \"truncate:1\"},"
	"\"sex\": {\"class\": \"qi\", \"domain\": [\"F\", \"M\"]},"
	"\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3], \"mask\": \"range:2\"}},"
	"\"min_group_size\": 1}";

/* The same columns masked otherwise: ward by range:3, sex by hash. */
static const char visits_policy_mask2[] =
	"{\"columns\": {" VISITS_COLUMNS
	"\"region\": {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"], \"mask\": \"truncate:1\"},"
	"\"sex\": {\"class\": \"qi\", \"domain\": [\"F\", \"M\"], \"mask\": \"hash\"},"
	"\"ward\": {\"class\": \"public\", \"domain\": [1, 2, 3], \"mask\": \"range:3\"}},"
	"\"min_group_size\": 1}";

static const char customers_policy[] =
	"{\"columns\": {\"cid\": {\"class\": \"id\"},"
	"\"risk_band\": {\"class\": \"qi\", \"domain\": [\"low\", \"mid\", \"high\"]},"
	"\"income\": {\"class\": \"sa\", \"bounds\": [0, 1000000]},"
	"\"age\": {\"class\": \"qi\"}}}";

static const char purchases_policy[] =
	"{\"columns\": {\"cid\": {\"class\": \"id\"},"
	"\"amount\": {\"class\": \"sa\", \"bounds\": [0, 500]},"
	"\"year\": {\"class\": \"public\"}, \"n\": {\"class\": \"public\"}},"
	"\"row_filter\": \"year >= 2020\"}";

static const struct sr_expr_column tests_cols[] = {
	{ "pid", SR_TYPE_STRING }, { "code", SR_TYPE_INT64 }, { "code2", SR_TYPE_INT64 },
};

/* Domains of 1100 values: two keys make more than SR_SQL_GROUPS_MAX groups. */
#define BIG_DOMAIN 1100

enum {
	D_A, D_B, D_C, D_A2, D_FLOAT, D_DP, D_DASH, D_BANK, D_SHOP, D_LAB1, D_LAB2,
	D_MASK, D_MASK2, D_MASKH, NDATASETS
};

static char *big_policy;

static struct sr_policy policies[NDATASETS];
static struct sr_sql_dataset datasets[NDATASETS];

static void make_policy(struct sr_policy *pol, const char *text,
			const struct sr_expr_column *cols, size_t n)
{
	const char *names[16];
	enum sr_type types[16];
	struct sr_err err;

	sr_err_clear(&err);
	for (size_t i = 0; i < n; i++) {
		names[i] = cols[i].name;
		types[i] = cols[i].type;
	}
	sr_policy_init(pol);
	if (sr_policy_parse(text, strlen(text), "p", pol, &err) != SR_OK ||
	    sr_policy_bind(pol, names, types, n, &err) != SR_OK)
		fail_msg("policy: %s", err.msg);
}

static int setup(void **state)
{
	static const struct {
		const char *name, *owner, *policy;
		const struct sr_expr_column *cols;
		size_t ncols;
	} defs[NDATASETS] = {
		[D_A] = { "clinic_a.visits", NULL, visits_policy, visits, ARRAY_SIZE(visits) },
		[D_B] = { "clinic_b.visits", NULL, visits_policy_b, visits, ARRAY_SIZE(visits) },
		[D_C] = { "clinic_c.visits", NULL, visits_policy, visits, ARRAY_SIZE(visits) },
		[D_A2] = { "clinic_a.visits_2023", NULL, visits_policy, visits, ARRAY_SIZE(visits) },
		[D_FLOAT] = { "clinic_f.visits", NULL, visits_policy, visits_float_age,
			      ARRAY_SIZE(visits_float_age) },
		[D_DP] = { "clinic_dp.visits", NULL, visits_policy_dp, visits, ARRAY_SIZE(visits) },
		[D_DASH] = { "st-mary.visits-2024", "org_0123", visits_policy, visits,
			     ARRAY_SIZE(visits) },
		[D_BANK] = { "bank.customers", NULL, customers_policy, customers,
			     ARRAY_SIZE(customers) },
		[D_SHOP] = { "shop.purchases", NULL, purchases_policy, purchases,
			     ARRAY_SIZE(purchases) },
		[D_MASK] = { "clinic_m.visits", NULL, visits_policy_mask, visits,
			     ARRAY_SIZE(visits) },
		[D_MASK2] = { "clinic_n.visits", NULL, visits_policy_mask2, visits,
			      ARRAY_SIZE(visits) },
		[D_MASKH] = { "clinic_h.visits", NULL, visits_policy_mask2, visits,
			      ARRAY_SIZE(visits) },
	};

	struct sr_buf big;

	(void)state;
	sr_buf_init(&big, 0);
	assert_int_equal(sr_buf_addstr(&big, "{\"columns\": {\"pid\": {\"class\": \"id\"}"), SR_OK);
	for (int c = 0; c < 2; c++) {
		assert_int_equal(sr_buf_addf(&big, ", \"%s\": {\"class\": \"public\", \"domain\": [",
					     c ? "code2" : "code"), SR_OK);
		for (int v = 0; v < BIG_DOMAIN; v++)
			assert_int_equal(sr_buf_addf(&big, "%s%d", v ? "," : "", v), SR_OK);
		assert_int_equal(sr_buf_addstr(&big, "]}"), SR_OK);
	}
	assert_int_equal(sr_buf_addstr(&big, "}}"), SR_OK);
	big_policy = sr_buf_detach(&big, NULL);
	for (size_t i = 0; i < NDATASETS; i++) {
		if (i == D_LAB1 || i == D_LAB2) {
			make_policy(&policies[i], big_policy, tests_cols, ARRAY_SIZE(tests_cols));
			datasets[i] = (struct sr_sql_dataset){
				.name = i == D_LAB1 ? "lab_a.tests" : "lab_b.tests",
				.columns = tests_cols, .ncolumns = ARRAY_SIZE(tests_cols),
				.policy = &policies[i],
			};
			continue;
		}
		make_policy(&policies[i], defs[i].policy, defs[i].cols, defs[i].ncols);
		datasets[i] = (struct sr_sql_dataset){
			.name = defs[i].name, .owner = defs[i].owner, .columns = defs[i].cols,
			.ncolumns = defs[i].ncols, .policy = &policies[i],
		};
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < NDATASETS; i++)
		sr_policy_release(&policies[i]);
	sr_free(big_policy);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static struct sr_sql *compile_ok(const char *text)
{
	struct sr_sql *q = NULL;
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_sql_compile(text, strlen(text), datasets, NDATASETS, &q, &err) != SR_OK)
		fail_msg("\"%s\": %s", text, err.msg);
	return q;
}

struct error_case {
	const char *text;
	int code;
	const char *msg;
};

static void check_errors(const struct error_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sr_sql *q = (struct sr_sql *)1;
		struct sr_err err;
		int rc;

		sr_err_clear(&err);
		rc = sr_sql_compile(cases[i].text, strlen(cases[i].text), datasets, NDATASETS,
				    &q, &err);
		if (rc != cases[i].code || strcmp(err.msg, cases[i].msg) != 0)
			fail_msg("\"%s\":\n  got      %d \"%s\"\n  expected %d \"%s\"",
				 cases[i].text, rc, err.msg, cases[i].code, cases[i].msg);
		assert_null(q);
	}
}

/* The usages as "input.column:usage" joined by spaces. */
static void usages_text(const struct sr_sql *q, char *out, size_t size)
{
	struct sr_sql_usage *us;
	struct sr_err err;
	size_t n, len = 0;

	sr_err_clear(&err);
	assert_int_equal(sr_sql_usages(q, &us, &n, &err), SR_OK);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct sr_sql_input *in = &sr_sql_query(q)->inputs[us[i].input];
		assert_int_equal(us[i].dataset, in->dataset);
		len += (size_t)snprintf(out + len, size - len, "%s%s.%s:%s", i ? " " : "",
					in->alias ? in->alias : in->name, us[i].column,
					sr_usage_name(us[i].usage));
	}
	sr_free(us);
}

static void check_usages(const char *text, const char *want)
{
	struct sr_sql *q = compile_ok(text);
	char got[2048];

	usages_text(q, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\":\n  usages   %s\n  expected %s", text, got, want);
	sr_sql_free(q);
}

/* The violations' rule ids joined by spaces. */
static void rules_text(const struct sr_sql *q, unsigned flags, char *out, size_t size,
		       char *first_msg, size_t msg_size)
{
	struct sr_sql_violation *vs;
	struct sr_err err;
	size_t n, len = 0;

	sr_err_clear(&err);
	assert_int_equal(sr_sql_rules(q, flags, &vs, &n, &err), SR_OK);
	out[0] = '\0';
	if (first_msg)
		first_msg[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "", vs[i].rule);
		assert_non_null(strstr(vs[i].message, ": "));
		if (i == 0 && first_msg)
			snprintf(first_msg, msg_size, "%s", vs[i].message);
	}
	sr_free(vs);
}

static void check_accepted(const char *text)
{
	struct sr_sql *q = compile_ok(text);
	char got[1024], msg[SR_ERR_MSG_MAX];

	rules_text(q, SR_SQL_REFUSE_JOIN, got, sizeof(got), msg, sizeof(msg));
	if (got[0])
		fail_msg("\"%s\": refused by %s: %s", text, got, msg);
	sr_sql_free(q);
}

/* The verdict the checker would give: the query's rules, then the generic
 * usage rule over the usages (checker.c: "usage-not-allowed" when the
 * column's allow lacks the usage). */
static void verdict_text(const struct sr_sql *q, unsigned flags, char *out, size_t size)
{
	struct sr_sql_usage *us;
	struct sr_err err;
	size_t n, len;

	rules_text(q, flags, out, size, NULL, 0);
	len = strlen(out);
	sr_err_clear(&err);
	assert_int_equal(sr_sql_usages(q, &us, &n, &err), SR_OK);
	for (size_t i = 0; i < n; i++) {
		const struct sr_policy_column *pc =
			sr_policy_column(datasets[us[i].dataset].policy, us[i].column);
		assert_non_null(pc);
		if (!(pc->allow & us[i].usage))
			len += (size_t)snprintf(out + len, size - len, "%susage-not-allowed",
						len ? " " : "");
	}
	sr_free(us);
}

/* ---- parser --------------------------------------------------------------- */

static struct sr_sql_stmt *parse_ok(const char *text, struct sr_arena *arena)
{
	struct sr_sql_stmt *st = NULL;
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_sql_parse(text, strlen(text), arena, &st, &err) != SR_OK)
		fail_msg("\"%s\": %s", text, err.msg);
	return st;
}

static void test_parse_clauses(void **state)
{
	static const char q[] =
		"SELECT region AS r, COUNT(*) n, AVG(age), \"x y\" FROM clinic_a.visits v\n"
		"WHERE age > 1 AND sex = 'F'\nGROUP BY region, 2\nHAVING COUNT(*) > 5\n"
		"ORDER BY n DESC, r ASC, 3\nLIMIT 10;";
	struct sr_arena arena;
	struct sr_sql_stmt *st;

	(void)state;
	sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
	st = parse_ok(q, &arena);
	assert_int_equal(st->nselect, 4);
	assert_string_equal(st->select[0].alias.p, "r");
	assert_string_equal(st->select[1].alias.p, "n");
	assert_null(st->select[2].alias.p);
	assert_null(st->select[3].alias.p);
	assert_int_equal(st->select[1].expr->kind, SR_AST_CALL);
	assert_int_equal(st->select[1].expr->flags, SR_AST_STAR);
	assert_int_equal(st->from_kind, SR_SQL_FROM_ONE);
	assert_int_equal(st->nfrom, 1);
	assert_string_equal(st->from[0].org.p, "clinic_a");
	assert_string_equal(st->from[0].dataset.p, "visits");
	assert_string_equal(st->from[0].alias.p, "v");
	assert_memory_equal(q + st->from[0].start, "clinic_a.visits v",
			    st->from[0].end - st->from[0].start);
	assert_int_equal(st->where->kind, SR_AST_AND);
	assert_int_equal(st->ngroup, 2);
	assert_int_equal(st->group_by[1]->kind, SR_AST_INT);
	assert_non_null(st->having);
	assert_int_equal(st->norder, 3);
	assert_int_equal(st->order_by[0].desc, 1);
	assert_int_equal(st->order_by[1].desc, 0);
	assert_int_equal(st->order_by[2].desc, 0);
	assert_true(st->has_limit);
	assert_int_equal(st->limit, 10);
	assert_memory_equal(q + st->where_pos, "WHERE", 5);
	assert_memory_equal(q + st->group_pos, "GROUP", 5);
	assert_memory_equal(q + st->limit_pos, "LIMIT", 5);

	/* UNION ALL, each input with its own alias or none. */
	st = parse_ok("select count(*) from clinic_a.visits a union all clinic_b.visits as b "
		      "UNION ALL clinic_c.visits", &arena);
	assert_int_equal(st->from_kind, SR_SQL_FROM_UNION);
	assert_int_equal(st->nfrom, 3);
	assert_string_equal(st->from[0].alias.p, "a");
	assert_string_equal(st->from[1].alias.p, "b");
	assert_null(st->from[2].alias.p);
	assert_int_equal(st->from[1].op_pos, 39);
	assert_null(st->from[1].on);

	/* JOIN ... ON, INNER JOIN. */
	st = parse_ok("SELECT b.risk_band, COUNT(*) FROM bank.customers b JOIN shop.purchases s "
		      "ON b.cid = s.cid INNER JOIN x.y ON x.y.k = s.k AND x.y.j = b.j", &arena);
	assert_int_equal(st->from_kind, SR_SQL_FROM_JOIN);
	assert_int_equal(st->nfrom, 3);
	assert_null(st->from[0].on);
	assert_int_equal(st->from[1].on->kind, SR_AST_EQ);
	assert_int_equal(st->from[2].on->kind, SR_AST_AND);
	assert_null(st->from[2].alias.p);

	/* Names with '-' in FROM, bare or quoted; bare aliases; AS with a
	 * non-reserved keyword. */
	st = parse_ok("SELECT x total, y AS desc FROM st-mary.visits-2024 WHERE a - b > 1", &arena);
	assert_string_equal(st->from[0].org.p, "st-mary");
	assert_string_equal(st->from[0].dataset.p, "visits-2024");
	assert_string_equal(st->select[0].alias.p, "total");
	assert_string_equal(st->select[1].alias.p, "desc");
	assert_int_equal(st->where->args[0]->kind, SR_AST_SUB);
	st = parse_ok("SELECT 1 FROM \"st-mary\" . \"visits-2024\" AS \"V\"", &arena);
	assert_string_equal(st->from[0].org.p, "st-mary");
	assert_string_equal(st->from[0].alias.p, "V");
	assert_true(st->from[0].alias.quoted);
	/* "--" right after a name is a comment, not part of it. */
	st = parse_ok("SELECT 1 FROM st-mary.visits-2024-- note\nWHERE x", &arena);
	assert_string_equal(st->from[0].dataset.p, "visits-2024");
	assert_non_null(st->where);
	st = parse_ok("SELECT 1 FROM clinic_a.visits--", &arena);
	assert_string_equal(st->from[0].dataset.p, "visits");
	/* A comment and a trailing ';' with space after it. */
	st = parse_ok("SELECT 1 -- x\nFROM a.b /* c */ ; ", &arena);
	assert_false(st->has_limit);
	assert_null(st->where);
	sr_arena_release(&arena);
}

static void test_parse_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "", SR_EINVAL, "1:1: expected SELECT, got end of input" },
		{ "SELEC x FROM a.b", SR_EINVAL, "1:1: expected SELECT, got 'SELEC'" },
		{ "SELECT region, age FORM clinic_a.visits", SR_EINVAL, "1:20: expected FROM, got 'FORM'" },
		{ "SELECT a b c FROM clinic_a.visits", SR_EINVAL, "1:10: expected FROM, got 'b'" },
		{ "SELECT x desc FROM clinic_a.visits", SR_EINVAL, "1:10: expected FROM, got 'desc'" },
		{ "SELECT * FROM clinic_a.visits", SR_EINVAL, "1:8: SELECT * is not supported: name the columns and aggregates to compute" },
		{ "SELECT COUNT(*) FROM visits", SR_EINVAL, "1:22: expected a dataset named org.dataset, got 'visits' alone" },
		{ "SELECT COUNT(*) FROM clinic_a.", SR_EINVAL, "1:31: expected a dataset name after the organization, got end of input" },
		{ "SELECT COUNT(*) FROM WHERE", SR_EINVAL, "1:22: expected a dataset named org.dataset, got 'WHERE'" },
		{ "SELECT COUNT(*) FROM 'a'.b", SR_EINVAL, "1:22: expected a dataset named org.dataset, got string 'a'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits, clinic_b.visits", SR_EINVAL, "1:37: a list of datasets is not supported: combine them with UNION ALL or JOIN ... ON" },
		{ "SELECT COUNT(*) FROM clinic_a.visits UNION clinic_b.visits", SR_EINVAL, "1:44: expected ALL after UNION, got 'clinic_b' (UNION without ALL removes duplicate rows, which is not supported)" },
		{ "SELECT COUNT(*) FROM clinic_a.visits UNION ALL clinic_b.visits JOIN clinic_c.visits ON a = b", SR_EINVAL, "1:64: a FROM cannot mix UNION ALL and JOIN" },
		{ "SELECT COUNT(*) FROM bank.customers JOIN shop.purchases WHERE x", SR_EINVAL, "1:57: expected ON and the join condition, got 'WHERE'" },
		{ "SELECT COUNT(*) FROM bank.customers INNER shop.purchases", SR_EINVAL, "1:43: expected JOIN after INNER, got 'shop'" },
		{ "SELECT COUNT(*) FROM bank.customers JOIN", SR_EINVAL, "1:41: expected a dataset named org.dataset, got end of input" },
		{ "SELECT COUNT(*) FROM clinic_a.visits AS", SR_EINVAL, "1:40: expected a name after AS, got end of input" },
		{ "SELECT region AS FROM clinic_a.visits", SR_EINVAL, "1:18: expected a name after AS, got 'FROM'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHER age > 1", SR_EINVAL, "1:38: expected WHERE, GROUP BY, HAVING, ORDER BY, LIMIT or the end of the query, got 'WHER'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits GROUP region", SR_EINVAL, "1:44: expected BY after GROUP, got 'region'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits ORDER region", SR_EINVAL, "1:44: expected BY after ORDER, got 'region'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits GROUP BY region WHERE age > 1", SR_EINVAL, "1:54: WHERE cannot come after GROUP BY (the clauses go SELECT, FROM, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, each once)" },
		{ "SELECT COUNT(*) FROM clinic_a.visits LIMIT 1 LIMIT 2", SR_EINVAL, "1:46: LIMIT cannot come after LIMIT (the clauses go SELECT, FROM, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, each once)" },
		{ "SELECT COUNT(*) FROM clinic_a.visits LIMIT -1", SR_EINVAL, "1:44: expected a number of rows after LIMIT, got '-'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits LIMIT 2.5", SR_EINVAL, "1:44: expected a number of rows after LIMIT, got '2.5'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits LIMIT 99999999999999999999", SR_EINVAL, "1:44: LIMIT 99999999999999999999 is out of range for int64" },
		{ "SELECT COUNT(*) FROM clinic_a.visits LIMIT 1 x", SR_EINVAL, "1:46: expected the end of the query, got 'x'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits; SELECT 1", SR_EINVAL, "1:39: expected the end of the query after ';' (one query at a time), got 'SELECT'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE", SR_EINVAL, "1:43: expected an expression, got end of input" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE age > 1 )", SR_EINVAL, "1:52: expected GROUP BY, HAVING, ORDER BY, LIMIT or the end of the query, got ')'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits HAVING COUNT(*) > 1 GROUP BY age", SR_EINVAL, "1:58: GROUP BY cannot come after HAVING (the clauses go SELECT, FROM, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, each once)" },
		{ "SELECT COUNT(* FROM clinic_a.visits", SR_EINVAL, "1:16: expected ')' after COUNT(*, got 'FROM'" },
		{ "SELECT region,\n       COUNT(*)\nFROM clinic_a.visits\nWHERE age >> 3", SR_EINVAL, "4:12: expected an expression, got '>'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits ORDER BY", SR_EINVAL, "1:46: expected an expression, got end of input" },
		{ "SELECT COUNT(*) FROM clinic_a.visits ORDER BY age DESC ASC", SR_EINVAL, "1:56: expected LIMIT or the end of the query, got 'ASC'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE name = 'x", SR_EINVAL, "1:51: unterminated string: expected a closing '" },
		{ "SELECT COUNT(DISTINCT *) FROM clinic_a.visits", SR_EINVAL, "1:14: COUNT(DISTINCT *) is not supported: name the column, as in COUNT(DISTINCT id)" },
		{ "SELECT stddev(age) FROM clinic_a.visits", SR_EINVAL, "1:8: unknown function 'stddev' (write STDDEV_POP or STDDEV_SAMP)" },
		{ "SELECT CASE age WHEN 1 THEN 2 END FROM clinic_a.visits", SR_EINVAL, "1:13: expected WHEN after CASE, got 'age' (only CASE WHEN condition THEN value ... END is supported)" },
		{ "SELECT COUNT(*)\nFROM clinic_a.visits\nGROUP BY a.b.c.d", SR_EINVAL, "3:15: a name has at most three parts (org.dataset.column)" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

/* ---- binder --------------------------------------------------------------- */

static void test_bind_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "SELECT COUNT(*) FROM clinic_x.visits", SR_EINVAL, "1:22: unknown dataset 'clinic_x.visits'" },
		{ "SELECT COUNT(*) FROM \"Clinic_a\".visits", SR_EINVAL, "1:22: unknown dataset 'Clinic_a.visits'" },
		{ "SELECT agee FROM clinic_a.visits", SR_EINVAL, "1:8: unknown column 'agee' in clinic_a.visits" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE WARD = 1", SR_EINVAL, "1:44: column name 'WARD' is ambiguous: it matches 'ward' and 'Ward' (write the exact name in double quotes)" },
		{ "SELECT COUNT(*) FROM clinic_a.visits UNION ALL clinic_f.visits", SR_EINVAL, "1:48: UNION ALL needs one schema: column 3 of clinic_f.visits is 'age' float64, of clinic_a.visits 'age' int64" },
		{ "SELECT COUNT(*) FROM clinic_a.visits UNION ALL bank.customers", SR_EINVAL, "1:48: UNION ALL needs one schema: column 1 of bank.customers is 'cid' string, of clinic_a.visits 'patient_id' string" },
		{ "SELECT COUNT(*) FROM lab_a.tests UNION ALL clinic_a.visits", SR_EINVAL, "1:44: UNION ALL needs one schema: column 1 of clinic_a.visits is 'patient_id' string, of lab_a.tests 'pid' string" },
		{ "SELECT a.age FROM clinic_a.visits a UNION ALL clinic_b.visits b", SR_EINVAL, "1:8: in a UNION ALL a column belongs to every input: write 'age', not 'a.age'" },
		{ "SELECT COUNT(*) FROM clinic_a.visits UNION ALL clinic_b.visits WHERE agee > 1", SR_EINVAL, "1:70: unknown column 'agee' in the inputs of the UNION ALL (clinic_a.visits, ...)" },
		{ "SELECT COUNT(*) FROM clinic_a.visits UNION ALL clinic_a.visits", SR_EINVAL, "1:48: clinic_a.visits is named twice in FROM (each input is a different dataset)" },
		{ "SELECT x.age, COUNT(*) FROM clinic_a.visits v GROUP BY 1", SR_EINVAL, "1:8: 'x' in 'x.age' names no dataset or alias of FROM" },
		{ "SELECT visits.age FROM clinic_a.visits v", SR_EINVAL, "1:8: 'visits' in 'visits.age' names no dataset or alias of FROM" },
		{ "SELECT clinic_a.visits.age FROM clinic_a.visits v", SR_EINVAL, "1:8: clinic_a.visits is called 'v' in this query: write v.age" },
		{ "SELECT x.y.age FROM clinic_a.visits", SR_EINVAL, "1:8: 'x.y.age' names a column of a dataset that is not in FROM" },
		{ "SELECT v.agee FROM clinic_a.visits v", SR_EINVAL, "1:8: unknown column 'agee' in clinic_a.visits" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON cid = s.cid", SR_EINVAL, "1:64: column name 'cid' is ambiguous: b and s both have it (write b.cid or s.cid)" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON b.cid < s.cid", SR_EINVAL, "1:64: JOIN ... ON needs equalities of two columns, one of each side, such as a.k = b.k" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid AND 1 = 1", SR_EINVAL, "1:82: JOIN ... ON needs equalities of two columns, one of each side, such as a.k = b.k" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON b.cid = b.cid", SR_EINVAL, "1:70: JOIN s ON must compare a column of s with one of a dataset joined before it" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON b.income = s.year", SR_EINVAL, "1:73: join keys must have one type: b.income is float64, s.year is int64" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases b ON b.cid = b.cid", SR_EINVAL, "1:59: alias 'b' is used twice in FROM" },
		{ "SELECT b.nothing FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid", SR_EINVAL, "1:8: unknown column 'nothing' in bank.customers" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid WHERE zzz = 1", SR_EINVAL, "1:84: unknown column 'zzz' in the joined datasets" },
		{ "SELECT age, COUNT(*) FROM clinic_a.visits", SR_EINVAL, "1:8: column 'age' is neither grouped nor aggregated: add it to GROUP BY or use it in an aggregate" },
		{ "SELECT region, COUNT(*) FROM clinic_a.visits GROUP BY region HAVING age > 3", SR_EINVAL, "1:69: column 'age' is neither grouped nor aggregated: add it to GROUP BY or use it in an aggregate" },
		{ "SELECT region, COUNT(*) FROM clinic_a.visits GROUP BY region ORDER BY age", SR_EINVAL, "1:71: column 'age' is neither grouped nor aggregated: add it to GROUP BY or use it in an aggregate" },
		{ "SELECT visit, COUNT(*) FROM clinic_a.visits GROUP BY year(visit)", SR_EINVAL, "1:8: column 'visit' is neither grouped nor aggregated: add it to GROUP BY or use it in an aggregate" },
		{ "SELECT region FROM clinic_a.visits HAVING COUNT(*) > 1", SR_EINVAL, "1:8: column 'region' is neither grouped nor aggregated: add it to GROUP BY or use it in an aggregate" },
		{ "SELECT SUM(COUNT(*)) FROM clinic_a.visits", SR_EINVAL, "1:12: aggregate COUNT() cannot be nested inside another aggregate" },
		{ "SELECT AVG(age + MAX(age)) FROM clinic_a.visits", SR_EINVAL, "1:18: aggregate MAX() cannot be nested inside another aggregate" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE SUM(age) > 1", SR_EINVAL, "1:44: aggregate SUM() is not allowed in WHERE (filter groups with HAVING)" },
		{ "SELECT COUNT(*) FROM clinic_a.visits GROUP BY COUNT(*)", SR_EINVAL, "1:47: aggregate COUNT() is not allowed in GROUP BY" },
		{ "SELECT COUNT(*) AS n FROM clinic_a.visits GROUP BY n", SR_EINVAL, "1:8: aggregate COUNT() is not allowed in GROUP BY" },
		{ "SELECT COUNT(*) FROM clinic_a.visits GROUP BY 1", SR_EINVAL, "1:8: aggregate COUNT() is not allowed in GROUP BY" },
		{ "SELECT SUM(region) FROM clinic_a.visits", SR_EINVAL, "1:12: SUM needs a number, got string" },
		{ "SELECT AVG(visit) FROM clinic_a.visits", SR_EINVAL, "1:12: AVG needs a number, got date" },
		{ "SELECT VAR_SAMP(age > 3) FROM clinic_a.visits", SR_EINVAL, "1:17: VAR_SAMP needs a number, got bool" },
		{ "SELECT MIN(age > 3) FROM clinic_a.visits", SR_EINVAL, "1:12: MIN needs a number, a date or a string, got bool" },
		{ "SELECT SUM(NULL) FROM clinic_a.visits", SR_EINVAL, "1:12: SUM(NULL) has nothing to aggregate: give it a column or an expression" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE age", SR_EINVAL, "1:44: expected a boolean predicate, got a value of type int64" },
		{ "SELECT COUNT(*) FROM clinic_a.visits HAVING SUM(amount)", SR_EINVAL, "1:45: expected a boolean predicate, got a value of type float64" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE region = 1", SR_EINVAL, "1:51: cannot compare string with int64" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE visit > '2020-01-01'", SR_EINVAL, "1:50: cannot compare date with string (write a date as DATE 'YYYY-MM-DD')" },
		{ "SELECT COUNT(*) FROM clinic_a.visits GROUP BY 3", SR_EINVAL, "1:47: GROUP BY 3: the SELECT list has 1 item" },
		{ "SELECT COUNT(*), 1 FROM clinic_a.visits ORDER BY 0", SR_EINVAL, "1:50: ORDER BY 0: the SELECT list has 2 items" },
		{ "SELECT year(region) FROM clinic_a.visits", SR_EINVAL, "1:13: year needs a date, got string" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE CASE WHEN age > 1 THEN 'a' ELSE 2 END = 'a'", SR_EINVAL, "1:76: CASE values must have one type, got int64 after string" },
		{ "SELECT SUM(amount) + 'x' FROM clinic_a.visits", SR_EINVAL, "1:20: '+' needs numbers, or a date and int64 days, got float64 and string" },
		{ "SELECT COUNT(*) FROM clinic_a.visits WHERE diagnosis LIKE '%flu'", SR_EINVAL, "1:60: LIKE pattern '%flu': '%' is supported only at the end, as in 'abc%'" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

static void test_bind_query(void **state)
{
	struct sr_sql *q;
	const struct sr_sql_query *v;

	(void)state;
	q = compile_ok("SELECT region, COUNT(*) AS n, AVG(amount) + 1, count(*) * 2, \"sex\"\n"
		       "FROM clinic_a.visits v\n"
		       "WHERE age >= 18 AND v.diagnosis IN ('flu', 'cold') AND \"cost\" > 0 - 1\n"
		       "GROUP BY Region, sex, region\n"
		       "HAVING COUNT(*) > 1 AND avg(amount) < 1e9\n"
		       "ORDER BY n DESC, 1, sum(amount)\nLIMIT 3");
	v = sr_sql_query(q);
	assert_int_equal(v->from_kind, SR_SQL_FROM_ONE);
	assert_int_equal(v->ninputs, 1);
	assert_string_equal(v->inputs[0].name, "clinic_a.visits");
	assert_string_equal(v->inputs[0].owner, "clinic_a");
	assert_string_equal(v->inputs[0].alias, "v");
	assert_int_equal(v->inputs[0].dataset, D_A);
	assert_int_equal(v->nrow_columns, ARRAY_SIZE(visits));
	assert_int_equal(v->nfilters, 3);
	assert_string_equal(v->filters[1].text, "v.diagnosis IN ('flu', 'cold')");
	assert_int_equal(v->filters[2].inputs, 1);
	assert_true(v->aggregated);
	/* GROUP BY Region, sex, region: two keys (a bare name folds case). */
	assert_int_equal(v->nkeys, 2);
	assert_string_equal(v->keys[0].text, "Region");
	assert_int_equal(v->keys[0].type, SR_TYPE_STRING);
	/* COUNT(*) and count(*) are one aggregate; HAVING and ORDER BY add
	 * theirs. */
	assert_int_equal(v->naggs, 3);
	assert_int_equal(v->aggs[0].kind, SR_SQL_COUNT_ROWS);
	assert_null(v->aggs[0].arg);
	assert_string_equal(v->aggs[0].arg_text, "*");
	assert_int_equal(v->aggs[1].kind, SR_SQL_AVG);
	assert_int_equal(v->aggs[1].type, SR_TYPE_FLOAT64);
	assert_int_equal(v->aggs[1].arg_type, SR_TYPE_FLOAT64);
	assert_string_equal(v->aggs[1].text, "AVG(amount)");
	assert_string_equal(v->aggs[1].arg_text, "amount");
	assert_int_equal(v->aggs[2].kind, SR_SQL_SUM);
	assert_int_equal(v->aggs[2].type, SR_TYPE_FLOAT64);
	assert_string_equal(v->result_columns[0].name, "Region");
	assert_string_equal(v->result_columns[2].name, "COUNT(*)");
	assert_int_equal(v->noutputs, 5);
	assert_string_equal(v->outputs[0].name, "region");
	assert_string_equal(v->outputs[1].name, "n");
	assert_string_equal(v->outputs[2].name, "AVG(amount) + 1");
	assert_string_equal(v->outputs[3].name, "count(*) * 2");
	assert_string_equal(v->outputs[4].name, "sex");
	assert_int_equal(v->outputs[1].type, SR_TYPE_INT64);
	assert_int_equal(v->outputs[2].type, SR_TYPE_FLOAT64);
	assert_non_null(v->having);
	assert_int_equal(v->norder, 3);
	assert_true(v->order[0].desc);
	assert_string_equal(v->order[0].text, "n");
	assert_true(v->has_limit);
	assert_int_equal(v->limit, 3);
	sr_sql_free(q);

	/* A query without aggregation has its outputs over the rows. */
	q = compile_ok("SELECT age + 1 AS next, region FROM clinic_a.visits ORDER BY next");
	v = sr_sql_query(q);
	assert_false(v->aggregated);
	assert_int_equal(v->nkeys + v->naggs, 0);
	assert_int_equal(sr_expr_ncolumns_used(v->outputs[0].expr), 1);
	assert_int_equal(sr_expr_column_used(v->outputs[0].expr, 0), 2);   /* age */
	sr_sql_free(q);

	/* UNION ALL: one row schema for every input; a party of its own per
	 * owner; a WHERE conjunct applies to all. */
	q = compile_ok("SELECT sex, SUM(amount) FROM clinic_a.visits a UNION ALL clinic_b.visits "
		       "UNION ALL st-mary.visits-2024 WHERE age > 1 GROUP BY sex");
	v = sr_sql_query(q);
	assert_int_equal(v->from_kind, SR_SQL_FROM_UNION);
	assert_int_equal(v->ninputs, 3);
	assert_int_equal(v->nrow_columns, ARRAY_SIZE(visits));
	assert_int_equal(v->row_input[0], SR_SQL_EVERY_INPUT);
	assert_int_equal(v->inputs[2].row_offset, 0);
	assert_string_equal(v->inputs[2].owner, "org_0123");
	assert_int_equal(v->filters[0].inputs, 7);
	assert_int_equal(v->keys[0].inputs, 7);
	sr_sql_free(q);

	/* JOIN: the row schema is every input's columns; keys recorded. */
	q = compile_ok("SELECT b.risk_band, SUM(s.amount) FROM bank.customers b JOIN shop.purchases s "
		       "ON s.cid = b.cid AND b.age = s.year WHERE s.year = 2025 AND income > 10 "
		       "GROUP BY b.risk_band");
	v = sr_sql_query(q);
	assert_int_equal(v->from_kind, SR_SQL_FROM_JOIN);
	assert_int_equal(v->nrow_columns, ARRAY_SIZE(customers) + ARRAY_SIZE(purchases));
	assert_int_equal(v->inputs[1].row_offset, ARRAY_SIZE(customers));
	assert_int_equal(v->row_input[ARRAY_SIZE(customers)], 1);
	assert_int_equal(v->njoin_keys, 2);
	assert_int_equal(v->join_keys[0].left_input, 0);
	assert_int_equal(v->join_keys[0].left_column, 0);
	assert_int_equal(v->join_keys[0].right_input, 1);
	assert_int_equal(v->join_keys[0].right_column, 0);
	assert_int_equal(v->join_keys[1].left_column, 3);   /* b.age */
	assert_int_equal(v->join_keys[1].right_column, 2);  /* s.year */
	assert_int_equal(v->filters[0].inputs, 2);
	assert_int_equal(v->filters[1].inputs, 1);
	assert_int_equal(v->aggs[0].inputs, 2);
	assert_int_equal(v->keys[0].inputs, 1);
	sr_sql_free(q);

	/* Names: quoted exactly, a dataset by its name part when unaliased,
	 * the whole org.dataset, a GROUP BY alias, ordinals. */
	q = compile_ok("SELECT visits.\"ward\", clinic_a.visits.\"Ward\", year(visit) AS y, COUNT(*) "
		       "FROM clinic_a.visits GROUP BY \"ward\", 2, y ORDER BY 3 DESC, y");
	v = sr_sql_query(q);
	assert_int_equal(v->nkeys, 3);
	assert_string_equal(v->keys[2].text, "year(visit)");
	assert_int_equal(v->keys[2].type, SR_TYPE_INT64);
	assert_string_equal(v->outputs[2].name, "y");
	assert_int_equal(v->norder, 2);
	sr_sql_free(q);
	/* An input column wins over a SELECT alias in GROUP BY. */
	q = compile_ok("SELECT sex AS region, COUNT(*) FROM clinic_a.visits GROUP BY region, sex");
	assert_string_equal(sr_sql_query(q)->keys[0].text, "region");
	assert_int_equal(sr_sql_query(q)->nkeys, 2);
	sr_sql_free(q);
}

/* The compiled pieces run: a filter over rows, outputs and HAVING over a
 * result table. */
static void test_bind_evaluates(void **state)
{
	static const char *const ages[] = { "17", "30", NULL, "65" };
	struct sr_vec age, regions, counts, avgs, out;
	const struct sr_vec *rows[ARRAY_SIZE(visits)] = { 0 };
	const struct sr_vec *result[3];
	const struct sr_sql_query *v;
	struct sr_sql *q;
	struct sr_err err;
	uint8_t keep[4];

	(void)state;
	sr_err_clear(&err);
	q = compile_ok("SELECT region, COUNT(*) AS n, AVG(amount) + 1 FROM clinic_a.visits "
		       "WHERE age >= 18 GROUP BY region HAVING COUNT(*) > 1 ORDER BY n DESC");
	v = sr_sql_query(q);
	sr_vec_init(&age, SR_TYPE_INT64);
	for (size_t r = 0; r < ARRAY_SIZE(ages); r++)
		assert_int_equal(ages[r] ? sr_vec_append_text(&age, ages[r], strlen(ages[r])) :
				 sr_vec_append_null(&age), SR_OK);
	rows[2] = &age;
	assert_int_equal(sr_expr_filter(v->filters[0].expr, rows, 4, keep, &err), SR_OK);
	assert_memory_equal(keep, "\0\1\0\1", 4);
	/* The result table: region, COUNT(*), AVG(amount). */
	sr_vec_init(&regions, SR_TYPE_STRING);
	sr_vec_init(&counts, SR_TYPE_INT64);
	sr_vec_init(&avgs, SR_TYPE_FLOAT64);
	assert_int_equal(sr_vec_append_text(&regions, "north", 5), SR_OK);
	assert_int_equal(sr_vec_append_text(&regions, "south", 5), SR_OK);
	assert_int_equal(sr_vec_append_text(&counts, "3", 1), SR_OK);
	assert_int_equal(sr_vec_append_text(&counts, "1", 1), SR_OK);
	assert_int_equal(sr_vec_append_text(&avgs, "2.5", 3), SR_OK);
	assert_int_equal(sr_vec_append_text(&avgs, "4", 1), SR_OK);
	result[0] = &regions;
	result[1] = &counts;
	result[2] = &avgs;
	sr_vec_init(&out, SR_TYPE_FLOAT64);
	assert_int_equal(sr_expr_eval(v->outputs[2].expr, result, 2, &out, &err), SR_OK);
	assert_true(out.v.f64[0] == 3.5 && out.v.f64[1] == 5.0);
	assert_int_equal(sr_expr_filter(v->having, result, 2, keep, &err), SR_OK);
	assert_memory_equal(keep, "\1\0", 2);
	assert_int_equal(sr_expr_ncolumns_used(v->order[0].expr), 1);
	assert_int_equal(sr_expr_column_used(v->order[0].expr, 0), 1);   /* COUNT(*) */
	sr_vec_release(&out);
	sr_vec_init(&out, SR_TYPE_STRING);
	assert_int_equal(sr_expr_eval(v->outputs[0].expr, result, 2, &out, &err), SR_OK);
	assert_int_equal(out.rows, 2);
	sr_vec_release(&out);
	sr_vec_release(&age);
	sr_vec_release(&regions);
	sr_vec_release(&counts);
	sr_vec_release(&avgs);
	sr_sql_free(q);
}

/* ---- usages --------------------------------------------------------------- */

static void test_usages(void **state)
{
	(void)state;
	check_usages("SELECT region, COUNT(*), SUM(amount) FROM clinic_a.visits WHERE age > 18 GROUP BY region",
		     "clinic_a.visits.age:filter clinic_a.visits.region:group clinic_a.visits.amount:aggregate");
	check_usages("SELECT v.region, AVG(v.amount) FROM clinic_a.visits AS v WHERE v.age > 1 AND age < 90 GROUP BY v.region HAVING MAX(amount) > 3",
		     "v.age:filter v.region:group v.amount:aggregate");
	/* A CASE condition inside an aggregate selects rows: filter. */
	check_usages("SELECT SUM(CASE WHEN sex = 'F' AND age > 3 THEN amount ELSE 0 END), COUNT(CASE WHEN diagnosis = 'flu' THEN 1 END) FROM clinic_a.visits",
		     "clinic_a.visits.sex:filter clinic_a.visits.age:filter clinic_a.visits.amount:aggregate clinic_a.visits.diagnosis:filter");
	/* COUNT(DISTINCT id) declares nothing; COUNT(id) is an aggregate. */
	check_usages("SELECT COUNT(DISTINCT patient_id) FROM clinic_a.visits", "");
	check_usages("SELECT COUNT(patient_id), COUNT(DISTINCT region) FROM clinic_a.visits",
		     "clinic_a.visits.patient_id:aggregate clinic_a.visits.region:aggregate");
	/* UNION ALL: every usage is every input's. */
	check_usages("SELECT sex, COUNT(*) FROM clinic_a.visits UNION ALL clinic_b.visits b WHERE year(visit) = 2024 GROUP BY sex",
		     "clinic_a.visits.visit:filter b.visit:filter clinic_a.visits.sex:group b.sex:group");
	/* Rows as they are: output and order reveal. */
	check_usages("SELECT region, age + 1 FROM clinic_a.visits WHERE sex = 'F' ORDER BY amount",
		     "clinic_a.visits.sex:filter clinic_a.visits.region:reveal clinic_a.visits.age:reveal clinic_a.visits.amount:reveal");
	/* JOIN keys, and each side's own columns. */
	check_usages("SELECT b.risk_band, SUM(s.amount) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid WHERE s.year = 2025 GROUP BY b.risk_band",
		     "b.cid:join s.cid:join s.year:filter b.risk_band:group s.amount:aggregate");
	/* A key used again in outputs, HAVING and ORDER BY is one usage. */
	check_usages("SELECT ward, ward * 2, COUNT(*) FROM clinic_a.visits GROUP BY ward HAVING ward > 1 ORDER BY ward",
		     "clinic_a.visits.ward:group");
	/* A usage's column name is its policy's: it outlives the query, as
	 * sr_check_use needs. */
	{
		struct sr_sql *q = compile_ok("SELECT region, COUNT(*) FROM clinic_b.visits GROUP BY Region");
		struct sr_sql_usage *us;
		struct sr_err err;
		size_t n;
		assert_int_equal(sr_sql_usages(q, &us, &n, &err), SR_OK);
		sr_sql_free(q);
		assert_int_equal(n, 1);
		assert_ptr_equal(us[0].column, sr_policy_column(&policies[D_B], "region")->name);
		assert_string_equal(us[0].column, "region");
		assert_int_equal(us[0].dataset, D_B);
		assert_int_equal(us[0].input, 0);
		assert_int_equal(us[0].pos, strlen("SELECT region, COUNT(*) FROM clinic_b.visits GROUP BY "));
		sr_free(us);
	}
}

/* ---- rules: the refused corpus -------------------------------------------- */

/*
 * Each query is refused: by an error (code and message) or by the
 * verdict the checker would give (the query's rules, then usage-not-
 * allowed for each usage its policy does not allow), all of them in order.
 */
struct refused {
	const char *text;
	const char *rules;     /* or NULL: an error */
	int code;
	const char *msg;
};

#define R(text, rules) { text, rules, SR_OK, NULL }
#define E(text, code, msg) { text, NULL, code, msg }

#define UNION_AB "FROM clinic_a.visits UNION ALL clinic_b.visits "
#define UNION_AC "FROM clinic_a.visits UNION ALL clinic_c.visits "
#define JOIN_BS "FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid "

static const struct refused refused[] = {
	/* Rows, not aggregates. */
	R("SELECT age FROM clinic_a.visits", "query-not-aggregated usage-not-allowed"),
	R("SELECT Ward FROM clinic_a.visits WHERE ward = 1", "query-not-aggregated"),
	R("SELECT amount FROM clinic_a.visits ORDER BY age", "query-not-aggregated usage-not-allowed usage-not-allowed"),
	R("SELECT patient_id FROM clinic_a.visits", "query-not-aggregated query-id-column usage-not-allowed"),
	/* Identifiers are only counted. */
	R("SELECT patient_id, COUNT(*) FROM clinic_a.visits GROUP BY patient_id", "query-id-column usage-not-allowed"),
	R("SELECT COUNT(*) FROM clinic_a.visits GROUP BY patient_id", "query-id-column usage-not-allowed"),
	R("SELECT COUNT(patient_id) FROM clinic_a.visits", "query-id-column usage-not-allowed"),
	R("SELECT COUNT(*) FROM clinic_a.visits WHERE patient_id = 'p1'", "query-id-column usage-not-allowed"),
	R("SELECT COUNT(*) FROM clinic_a.visits HAVING MIN(patient_id) > 'a'", "query-id-column query-min-max-reveal usage-not-allowed"),
	R("SELECT SUM(CASE WHEN patient_id = 'x' THEN amount END) FROM clinic_a.visits", "query-id-column usage-not-allowed"),
	/* Sums need bounds that bound them. */
	R("SELECT SUM(cost) FROM clinic_a.visits", "query-bounds"),
	R("SELECT region, AVG(cost) FROM clinic_a.visits GROUP BY region", "query-bounds"),
	R("SELECT VAR_POP(cost) FROM clinic_a.visits", "query-bounds"),
	R("SELECT STDDEV_SAMP(cost), STDDEV_POP(cost) FROM clinic_a.visits", "query-bounds"),
	R("SELECT SUM(amount * cost) FROM clinic_a.visits", "query-bounds"),
	R("SELECT SUM(-cost) FROM clinic_a.visits", "query-bounds"),
	R("SELECT SUM(ward) FROM clinic_a.visits", "query-bounds"),
	R("SELECT AVG(CASE WHEN age > 60 THEN cost END) FROM clinic_a.visits", "query-bounds"),
	R("SELECT SUM(amount / age) FROM clinic_a.visits", "query-bounds usage-not-allowed"),
	R("SELECT SUM(amount / 0) FROM clinic_a.visits", "query-bounds"),
	R("SELECT SUM(amount) " UNION_AB "WHERE cost > 1", "usage-not-allowed usage-not-allowed"),
	R("SELECT SUM(cost) " UNION_AB, "query-bounds query-bounds"),
	/* MIN and MAX reveal a value. */
	R("SELECT MIN(amount) FROM clinic_a.visits", "query-min-max-reveal"),
	R("SELECT MAX(age) FROM clinic_a.visits", "query-min-max-reveal usage-not-allowed"),
	R("SELECT MAX(visit) FROM clinic_a.visits", "query-min-max-reveal usage-not-allowed"),
	/* MIN and MAX aggregate: reveal alone is not enough. */
	R("SELECT MAX(age) FROM clinic_b.visits WHERE age > 30 HAVING COUNT(*) > 10", "usage-not-allowed"),
	R("SELECT ward, MIN(age) " UNION_AB "GROUP BY ward", "query-min-max-reveal usage-not-allowed usage-not-allowed"),
	R("SELECT MIN(amount) FROM clinic_dp.visits", "query-min-max-reveal query-min-max-dp"),
	R("SELECT MIN(Ward) FROM clinic_a.visits UNION ALL clinic_dp.visits", "query-min-max-dp"),
	/* Group keys across parties, or under dp, from public domains. */
	R("SELECT region, COUNT(*) " UNION_AB "GROUP BY region", "query-group-domain"),
	R("SELECT region, AVG(amount) " UNION_AB "UNION ALL clinic_c.visits GROUP BY region HAVING AVG(amount) > 10", "query-group-domain"),
	R("SELECT region, COUNT(*) FROM clinic_a.visits a UNION ALL clinic_b.visits b GROUP BY region ORDER BY COUNT(*) DESC LIMIT 3", "query-group-domain"),
	R("SELECT visit, COUNT(*) " UNION_AC "GROUP BY visit", "query-group-domain query-group-domain"),
	R("SELECT year(visit), COUNT(*) " UNION_AC "GROUP BY year(visit)", "query-group-domain query-group-domain"),
	R("SELECT date_trunc('month', visit) AS m, COUNT(*) " UNION_AB "GROUP BY m", "query-group-domain query-group-domain"),
	R("SELECT age, COUNT(*) " UNION_AC "GROUP BY age", "query-group-domain query-group-domain"),
	R("SELECT Ward, COUNT(*) " UNION_AC "GROUP BY \"Ward\"", "query-group-domain query-group-domain"),
	R("SELECT region, COUNT(*) FROM clinic_a.visits UNION ALL st-mary.visits-2024 GROUP BY region, visit", "query-group-domain query-group-domain"),
	R("SELECT sex, COUNT(*) FROM clinic_dp.visits GROUP BY sex", "query-group-domain"),
	R("SELECT sex, COUNT(*) FROM clinic_a.visits UNION ALL clinic_dp.visits GROUP BY sex", "query-group-domain"),
	R("SELECT code, code2, COUNT(*) FROM lab_a.tests UNION ALL lab_b.tests GROUP BY code, code2", "query-group-domain-too-large"),
	R("SELECT code * 10000 + code2, COUNT(*) FROM lab_a.tests UNION ALL lab_b.tests GROUP BY code * 10000 + code2", "query-group-domain-too-large"),
	/* COUNT(DISTINCT) across parties. */
	R("SELECT COUNT(DISTINCT patient_id) " UNION_AC, "query-count-distinct-parties"),
	R("SELECT COUNT(DISTINCT diagnosis) " UNION_AB, "query-count-distinct-parties"),
	R("SELECT COUNT(DISTINCT region) " UNION_AC, "query-count-distinct-parties usage-not-allowed usage-not-allowed"),
	/* Usages the policies do not allow (the checker's generic rule). */
	R("SELECT diagnosis, COUNT(*) FROM clinic_a.visits GROUP BY diagnosis", "usage-not-allowed"),
	R("SELECT COUNT(*) FROM clinic_a.visits WHERE amount > 100", "usage-not-allowed"),
	R("SELECT SUM(age) FROM clinic_a.visits", "usage-not-allowed"),
	R("SELECT AVG(year(visit)) FROM clinic_a.visits", "usage-not-allowed"),
	R("SELECT COUNT(*) FROM clinic_a.visits WHERE diagnosis LIKE 'flu%'", "usage-not-allowed"),
	R("SELECT COUNT(*), SUM(CASE WHEN diagnosis = 'flu' THEN amount ELSE 0 END) FROM clinic_a.visits", "usage-not-allowed"),
	R("SELECT region, COUNT(*) FROM clinic_a.visits WHERE diagnosis IN ('flu') GROUP BY region HAVING COUNT(*) > 1", "usage-not-allowed"),
	R("SELECT COUNT(*) FROM clinic_a.visits WHERE cost > 5", "usage-not-allowed"),
	/* JOIN, refused until federated execution has it. */
	R("SELECT b.risk_band, SUM(s.amount) " JOIN_BS "GROUP BY b.risk_band", "query-join-not-supported"),
	R("SELECT COUNT(*) FROM clinic_a.visits a JOIN clinic_b.visits b ON a.patient_id = b.patient_id", "query-join-not-supported"),
	R("SELECT COUNT(*) FROM clinic_a.visits a JOIN clinic_b.visits b ON a.age = b.age", "query-join-not-supported usage-not-allowed usage-not-allowed"),
	R("SELECT SUM(b.income * s.amount) " JOIN_BS, "query-join-not-supported query-join-cross-party-aggregate"),
	R("SELECT COUNT(*) " JOIN_BS "WHERE b.age > s.year", "query-join-not-supported query-where-spans-inputs"),
	R("SELECT s.year, SUM(s.amount) " JOIN_BS "GROUP BY s.year", "query-join-not-supported query-group-domain"),
	R("SELECT b.age + s.n, COUNT(*) " JOIN_BS "GROUP BY b.age + s.n", "query-join-not-supported query-group-domain query-group-domain query-group-spans-inputs"),
	R("SELECT COUNT(DISTINCT a.patient_id) FROM clinic_a.visits a JOIN clinic_b.visits b ON a.patient_id = b.patient_id", "query-join-not-supported query-count-distinct-parties"),
	/* Errors. */
	E("SELECT region, age FORM clinic_a.visits", SR_EINVAL, "1:20: expected FROM, got 'FORM'"),
	E("SELECT COUNT(*) FROM clinic_x.visits", SR_EINVAL, "1:22: unknown dataset 'clinic_x.visits'"),
	E("SELECT agee, COUNT(*) FROM clinic_a.visits GROUP BY agee", SR_EINVAL, "1:53: unknown column 'agee' in clinic_a.visits"),
	E("SELECT COUNT(*) FROM clinic_a.visits UNION ALL clinic_f.visits", SR_EINVAL, "1:48: UNION ALL needs one schema: column 3 of clinic_f.visits is 'age' float64, of clinic_a.visits 'age' int64"),
	E("SELECT age, COUNT(*) FROM clinic_a.visits", SR_EINVAL, "1:8: column 'age' is neither grouped nor aggregated: add it to GROUP BY or use it in an aggregate"),
	E("SELECT SUM(AVG(amount)) FROM clinic_a.visits", SR_EINVAL, "1:12: aggregate AVG() cannot be nested inside another aggregate"),
	/* Masked columns are revealed only through their masks: a plain
	 * GROUP BY column is grouped by its label (accepted), anything else
	 * is refused. */
	R("SELECT ward, COUNT(*) FROM clinic_m.visits GROUP BY ward", ""),
	R("SELECT COUNT(*) FROM clinic_m.visits GROUP BY region", ""),
	R("SELECT region, ward, COUNT(*) FROM clinic_m.visits WHERE sex = 'F' GROUP BY region, ward", ""),
	R("SELECT region, COUNT(*) FROM clinic_m.visits UNION ALL clinic_n.visits GROUP BY region", ""),
	R("SELECT ward + 1, COUNT(*) FROM clinic_m.visits GROUP BY ward + 1", "query-masked-column"),
	R("SELECT ward, COUNT(*) FROM clinic_m.visits UNION ALL clinic_n.visits GROUP BY ward", "query-mask-differs"),
	R("SELECT sex, COUNT(*) FROM clinic_n.visits UNION ALL clinic_h.visits GROUP BY sex", "query-hash-mask query-hash-mask"),
	R("SELECT COUNT(*) FROM clinic_n.visits GROUP BY sex", "query-hash-mask"),
	/* MIN and MAX show a raw value: never of a masked column. */
	R("SELECT MAX(ward) FROM clinic_m.visits", "query-masked-column"),
	R("SELECT region, MIN(ward) FROM clinic_m.visits GROUP BY region", "query-masked-column"),
	/* The label is a string: no arithmetic on it. */
	E("SELECT ward, COUNT(*) FROM clinic_m.visits GROUP BY ward HAVING ward > 1", SR_EINVAL, "1:70: cannot compare string with int64"),
	/* Aggregated or filtered, a masked column reveals no value: only the bounds rule here. */
	R("SELECT sex, SUM(ward) FROM clinic_m.visits WHERE region = 'north' GROUP BY sex", "query-bounds"),
	E("SELECT COUNT(*) FROM clinic_a.visits WHERE COUNT(*) > 1", SR_EINVAL, "1:44: aggregate COUNT() is not allowed in WHERE (filter groups with HAVING)"),
	E("SELECT SUM(diagnosis) FROM clinic_a.visits", SR_EINVAL, "1:12: SUM needs a number, got string"),
	E("SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON cid = s.cid", SR_EINVAL, "1:64: column name 'cid' is ambiguous: b and s both have it (write b.cid or s.cid)"),
	E("SELECT * FROM clinic_a.visits", SR_EINVAL, "1:8: SELECT * is not supported: name the columns and aggregates to compute"),
	E("SELECT COUNT(*) FROM clinic_a.visits LIMIT -1", SR_EINVAL, "1:44: expected a number of rows after LIMIT, got '-'"),
	E("SELECT var(amount) FROM clinic_a.visits", SR_EINVAL, "1:8: unknown function 'var' (write VAR_POP or VAR_SAMP)"),
};

static void test_refused_corpus(void **state)
{
	size_t nerrors = 0;

	(void)state;
	assert_true(ARRAY_SIZE(refused) >= 60);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		const struct refused *r = &refused[i];
		char got[1024];
		struct sr_sql *q;

		if (!r->rules) {
			struct error_case c = { r->text, r->code, r->msg };
			check_errors(&c, 1);
			nerrors++;
			continue;
		}
		q = compile_ok(r->text);
		verdict_text(q, SR_SQL_REFUSE_JOIN, got, sizeof(got));
		if (strcmp(got, r->rules) != 0)
			fail_msg("\"%s\":\n  verdict  %s\n  expected %s", r->text, got, r->rules);
		sr_sql_free(q);
	}
	assert_true(nerrors > 0 && nerrors < ARRAY_SIZE(refused));
}

static void test_accepted(void **state)
{
	static const char *const accepted[] = {
		"SELECT region, COUNT(*) FROM clinic_a.visits GROUP BY region",
		"SELECT COUNT(*) FROM clinic_a.visits WHERE year(visit) = 2024 AND age BETWEEN 18 AND 65",
		"SELECT SUM(CASE WHEN sex = 'F' THEN amount ELSE 0 END) / COUNT(*) FROM clinic_a.visits",
		"SELECT SUM(amount / 2), AVG(amount * 2 - 1), VAR_SAMP(amount) FROM clinic_a.visits",
		"SELECT COUNT(amount), COUNT(DISTINCT patient_id) FROM clinic_a.visits",
		"SELECT sex, SUM(amount) " UNION_AB "GROUP BY sex",
		"SELECT ward, sex, COUNT(*), AVG(amount), STDDEV_POP(amount) " UNION_AB
			"UNION ALL clinic_c.visits WHERE age >= 18 GROUP BY ward, sex HAVING COUNT(*) > 3 "
			"ORDER BY 3 DESC LIMIT 5",
		"SELECT region, STDDEV_POP(amount) FROM clinic_a.visits UNION ALL clinic_dp.visits GROUP BY region",
		/* One owner: no domain needed, COUNT(DISTINCT id) is one party's. */
		"SELECT visit, COUNT(DISTINCT patient_id) FROM clinic_a.visits UNION ALL clinic_a.visits_2023 GROUP BY visit",
		"SELECT risk_band, COUNT(*), AVG(income) FROM bank.customers GROUP BY risk_band",
		"SELECT MIN(Ward), MAX(Ward) FROM clinic_a.visits",
		"SELECT region, COUNT(*) FROM clinic_a.visits GROUP BY region ORDER BY region LIMIT 1",
		"SELECT AVG(amount - 1) FROM clinic_a.visits UNION ALL clinic_c.visits WHERE year(visit) > 2000 AND visit < DATE '2030-01-01'",
		"SELECT code, COUNT(*) FROM lab_a.tests UNION ALL lab_b.tests GROUP BY code",
		"SELECT COUNT(*) FROM clinic_a.visits",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(accepted); i++) {
		char got[1024];
		struct sr_sql *q;
		check_accepted(accepted[i]);
		q = compile_ok(accepted[i]);
		verdict_text(q, SR_SQL_REFUSE_JOIN, got, sizeof(got));
		if (got[0])
			fail_msg("\"%s\": verdict %s", accepted[i], got);
		sr_sql_free(q);
	}
}

/* Each rule's message names the place, the thing and why. */
static void test_rule_messages(void **state)
{
	static const struct { const char *text; unsigned flags; const char *msg; } cases[] = {
		{ "SELECT age FROM clinic_a.visits", 0, "1:1: the query outputs rows, not aggregates: a query job computes aggregates (add GROUP BY or an aggregate such as COUNT(*))" },
		{ "SELECT COUNT(*) FROM bank.customers b JOIN shop.purchases s ON b.cid = s.cid", SR_SQL_REFUSE_JOIN, "1:39: JOIN is not supported yet by federated execution" },
		{ "SELECT COUNT(*) FROM clinic_a.visits\nGROUP BY patient_id", 0, "2:10: clinic_a.visits.patient_id is an identifier (class id): it may only be counted, as COUNT(DISTINCT patient_id), never group rows" },
		{ "SELECT COUNT(patient_id) FROM clinic_a.visits", 0, "1:14: clinic_a.visits.patient_id is an identifier (class id): it may only be counted, as COUNT(DISTINCT patient_id), never be aggregated" },
		{ "SELECT region, COUNT(*) " UNION_AB "GROUP BY region", 0, "1:81: GROUP BY region across parties needs a public domain for region in the policy of clinic_b.visits: otherwise the set of group keys itself would leak" },
		{ "SELECT sex, COUNT(*) FROM clinic_dp.visits GROUP BY sex", 0, "1:53: GROUP BY sex under differential privacy needs a public domain for sex in the policy of clinic_dp.visits: otherwise the set of group keys itself would leak" },
		{ "SELECT code, code2, COUNT(*) FROM lab_a.tests UNION ALL lab_b.tests GROUP BY code, code2", 0, "1:69: GROUP BY makes more than 1048576 groups from the public domains (each key's values and NULL, multiplied)" },
		{ "SELECT SUM(cost) FROM clinic_a.visits", 0, "1:12: SUM(...) needs bounds for cost in the policy of clinic_a.visits: values are clamped to them, and they set the sensitivity" },
		{ "SELECT AVG(amount / age) FROM clinic_b.visits", 0, "1:8: AVG(amount / age): the value cannot be bounded from the bounds of clinic_b.visits's columns (only + - *, division by a constant, CASE, year and month are)" },
		{ "SELECT MIN(amount) FROM clinic_a.visits", 0, "1:8: MIN(amount) reveals one individual's value: clinic_a.visits.amount must allow 'reveal'" },
		{ "SELECT MAX(Ward) FROM clinic_dp.visits", 0, "1:8: MAX(Ward) cannot be released under differential privacy, which the policy of clinic_dp.visits requires" },
		{ "SELECT COUNT(DISTINCT patient_id) " UNION_AC, 0, "1:8: COUNT(DISTINCT patient_id) across parties needs the union of their values; it is allowed only over the id column of datasets that declare each identity to be in one of them only" },
		{ "SELECT SUM(b.income * s.amount) " JOIN_BS, 0, "1:8: SUM(b.income * s.amount) reads columns of both joined datasets: an aggregate over a join may read the value holder's columns only (values of two parties are never combined row by row)" },
		{ "SELECT COUNT(*) " JOIN_BS "WHERE b.age > s.year", 0, "1:84: WHERE b.age > s.year reads columns of two joined datasets: each conjunct must read one dataset's columns, to be pushed down to its owner" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sr_sql *q = compile_ok(cases[i].text);
		char rules[512], msg[SR_ERR_MSG_MAX];
		rules_text(q, cases[i].flags, rules, sizeof(rules), msg, sizeof(msg));
		if (strcmp(msg, cases[i].msg) != 0)
			fail_msg("\"%s\":\n  got      %s\n  expected %s", cases[i].text, msg,
				 cases[i].msg);
		sr_sql_free(q);
	}
	/* Violations name dataset, column and usage for the checker. */
	{
		struct sr_sql *q = compile_ok("SELECT region, COUNT(*) " UNION_AB "GROUP BY region");
		struct sr_sql_violation *vs;
		struct sr_err err;
		size_t n;
		assert_int_equal(sr_sql_rules(q, 0, &vs, &n, &err), SR_OK);
		assert_int_equal(n, 1);
		assert_string_equal(vs[0].rule, "query-group-domain");
		assert_string_equal(vs[0].dataset, "clinic_b.visits");
		assert_string_equal(vs[0].column, "region");
		assert_int_equal(vs[0].usage, SR_USE_GROUP);
		sr_free(vs);
		/* ids partitioned by party: COUNT(DISTINCT id) sums. */
		sr_sql_free(q);
		datasets[D_A].ids_partitioned = datasets[D_C].ids_partitioned = 1;
		q = compile_ok("SELECT COUNT(DISTINCT patient_id) " UNION_AC);
		assert_int_equal(sr_sql_rules(q, 0, &vs, &n, &err), SR_OK);
		assert_int_equal(n, 0);
		assert_null(vs);
		datasets[D_A].ids_partitioned = datasets[D_C].ids_partitioned = 0;
		sr_sql_free(q);
		/* Without the flag a JOIN gets the join rules: here, the shop's
		 * join column does not declare join_reveals_group_counts. */
		q = compile_ok("SELECT b.risk_band, COUNT(*) " JOIN_BS "GROUP BY b.risk_band");
		assert_int_equal(sr_sql_rules(q, 0, &vs, &n, &err), SR_OK);
		assert_int_equal(n, 1);
		assert_string_equal(vs[0].rule, "query-join-reveals-group-counts");
		assert_string_equal(vs[0].dataset, "shop.purchases");
		sr_free(vs);
		sr_sql_free(q);
	}
}

/* ---- plan ----------------------------------------------------------------- */

static void assert_json(const json_t *got, const char *want_text)
{
	json_error_t jerr;
	json_t *want = json_loads(want_text, 0, &jerr);
	struct sr_buf dump;

	if (!want)
		fail_msg("bad expected JSON: %s: %s", want_text, jerr.text);
	if (!json_equal(got, want)) {
		sr_buf_init(&dump, 0);
		assert_int_equal(sr_json_dump(got, 0, &dump), SR_OK);
		fail_msg("plan part\n  got      %s\n  expected %s", dump.data, want_text);
	}
	json_decref(want);
}

static void plan_of(const char *text, const char *const *receivers, size_t n,
		    json_t **plan, struct sr_buf *out)
{
	struct sr_sql *q = compile_ok(text);
	struct sr_err err;

	sr_err_clear(&err);
	assert_int_equal(sr_sql_plan(q, receivers, n, plan, &err), SR_OK);
	sr_buf_init(out, 0);
	assert_int_equal(sr_sql_plan_text(*plan, out, &err), SR_OK);
	sr_sql_free(q);
}

static void assert_contains(const struct sr_buf *text, const char *part)
{
	if (!strstr(text->data, part))
		fail_msg("plan text lacks \"%s\":\n%s", part, text->data);
}

static void test_plan(void **state)
{
	static const char *const receivers[] = { "org_r" };
	struct sr_buf text;
	json_t *plan;

	(void)state;
	plan_of("SELECT sex, COUNT(*) AS n, AVG(amount), VAR_SAMP(amount) FROM clinic_a.visits "
		"UNION ALL clinic_b.visits b WHERE age >= 18 AND year(visit) = 2024 GROUP BY sex "
		"HAVING COUNT(*) > 3 ORDER BY n DESC LIMIT 2", receivers, 1, &plan, &text);
	assert_string_equal(json_string_value(json_object_get(plan, "shape")), "union all");
	assert_int_equal(json_integer_value(json_object_get(plan, "parties")), 2);
	assert_true(json_is_true(json_object_get(plan, "executable")));
	assert_json(json_array_get(json_object_get(plan, "inputs"), 0),
		    "{\"dataset\": \"clinic_a.visits\", \"owner\": \"clinic_a\", \"row_filter\": false,"
		    " \"where\": [\"age >= 18\", \"year(visit) = 2024\"],"
		    " \"accumulators\": [{\"name\": \"rows\"}, {\"name\": \"count\", \"of\": \"amount\"},"
		    " {\"name\": \"sum\", \"of\": \"amount\", \"clamp\": [0, 10000]},"
		    " {\"name\": \"sum_squares\", \"of\": \"amount\", \"clamp\": [0, 10000]},"
		    " {\"name\": \"identities\", \"of\": \"patient_id\"}]}");
	assert_json(json_object_get(json_array_get(json_object_get(plan, "inputs"), 1), "accumulators"),
		    "[{\"name\": \"rows\"}, {\"name\": \"count\", \"of\": \"amount\"},"
		    " {\"name\": \"sum\", \"of\": \"amount\", \"clamp\": [0, 500]},"
		    " {\"name\": \"sum_squares\", \"of\": \"amount\", \"clamp\": [0, 500]},"
		    " {\"name\": \"identities\", \"of\": \"patient_id\"}]");
	assert_json(json_object_get(plan, "groups"),
		    "{\"keys\": [{\"key\": \"sex\", \"type\": \"string\", \"domain\": [\"F\", \"M\", \"X\"]}],"
		    " \"from\": \"the public domains (each key's values and NULL)\", \"count\": 4}");
	assert_json(json_object_get(plan, "release"),
		    "{\"min_group_size\": 10, \"counts\": \"distinct identities (patient_id)\","
		    " \"suppressed\": \"a group under min_group_size is suppressed, never merged into another; the output says how many were\","
		    " \"having\": \"COUNT(*) > 3\", \"order_by\": [{\"by\": \"n\", \"desc\": true}], \"limit\": 2}");
	assert_json(json_object_get(plan, "outputs"),
		    "[{\"name\": \"sex\", \"type\": \"string\", \"from\": \"group key sex\"},"
		    " {\"name\": \"n\", \"type\": \"int64\", \"from\": \"rows\"},"
		    " {\"name\": \"AVG(amount)\", \"type\": \"float64\", \"from\": \"sum(amount) / count(amount)\"},"
		    " {\"name\": \"VAR_SAMP(amount)\", \"type\": \"float64\","
		    "  \"from\": \"(sum_squares(amount) - sum(amount)^2 / count(amount)) / (count(amount) - 1)\"}]");
	assert_int_equal(json_array_size(json_object_get(plan, "revealed")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(plan, "revealed"), 1), "to")),
			    "org_r");
	assert_contains(&text, "shape: union all over 2 parties\n");
	assert_contains(&text, "  clinic_b.visits (party clinic_b, as b)\n    where: age >= 18 AND year(visit) = 2024\n");
	assert_contains(&text, "    per group: rows; count(amount); sum(amount) clamped to [0, 500]; sum_squares(amount) clamped to [0, 500]; identities(patient_id)\n");
	assert_contains(&text, "groups: from the public domains (each key's values and NULL), 4 groups\n  sex (string): 3 values and NULL: 'F' 'M' 'X'\n");
	assert_contains(&text, "combine: secure aggregation");
	assert_contains(&text, "  to the release step: per group, the sums of the accumulators over every party; no party's own vector\n");
	assert_contains(&text, "  to org_r: the released groups");
	assert_contains(&text, "release: groups with fewer than 10 distinct identities (patient_id) are suppressed");
	assert_contains(&text, "  then HAVING COUNT(*) > 3\n  then ORDER BY n DESC\n  then LIMIT 2\n");
	assert_contains(&text, "  AVG(amount) (float64): sum(amount) / count(amount)\n");
	json_decref(plan);
	sr_buf_release(&text);

	/* One party: groups from the data, computed locally; a row_filter;
	 * MIN, a key expression's output, an expression of aggregates. */
	plan_of("SELECT year(visit) AS y, MIN(Ward), SUM(amount) / COUNT(*) FROM clinic_a.visits "
		"GROUP BY year(visit)", NULL, 0, &plan, &text);
	assert_json(json_object_get(plan, "groups"),
		    "{\"keys\": [{\"key\": \"year(visit)\", \"type\": \"int64\", \"domain\": null}],"
		    " \"from\": \"the keys found in the data\"}");
	assert_contains(&text, "combine: local: the one party computes every group itself\n");
	assert_contains(&text, "  to the spec's receivers: the released groups");
	assert_contains(&text, "  y (int64): group key year(visit)\n");
	assert_contains(&text, "  MIN(Ward) (int64): the least of the parties' min(Ward)\n");
	assert_contains(&text, "  SUM(amount) / COUNT(*) (float64): computed from the group's keys and aggregates\n");
	assert_contains(&text, "    where: every row\n    per group: min(Ward); count(amount); sum(amount) clamped to [0, 10000]; rows; identities(patient_id)\n");
	json_decref(plan);
	sr_buf_release(&text);

	/* Domains of expressions: the image of the column's domain. */
	plan_of("SELECT ward * 10 + 1, COUNT(*) FROM clinic_a.visits UNION ALL clinic_b.visits "
		"GROUP BY ward * 10 + 1", NULL, 0, &plan, &text);
	assert_json(json_object_get(json_object_get(plan, "groups"), "keys"),
		    "[{\"key\": \"ward * 10 + 1\", \"type\": \"int64\", \"domain\": [11, 21, 31, 41]}]");
	json_decref(plan);
	sr_buf_release(&text);
	plan_of("SELECT CASE WHEN ward > 2 THEN 'high' ELSE 'low' END AS w, sex, COUNT(*) "
		"FROM clinic_a.visits UNION ALL clinic_c.visits GROUP BY w, sex", NULL, 0, &plan, &text);
	assert_json(json_object_get(plan, "groups"),
		    "{\"keys\": [{\"key\": \"CASE WHEN ward > 2 THEN 'high' ELSE 'low' END\", \"type\": \"string\", \"domain\": [\"low\", \"high\"]},"
		    " {\"key\": \"sex\", \"type\": \"string\", \"domain\": [\"F\", \"M\"]}],"
		    " \"from\": \"the public domains (each key's values and NULL)\", \"count\": 9}");
	json_decref(plan);
	sr_buf_release(&text);

	/* A JOIN is described, with what the dimension holder learns. */
	plan_of("SELECT b.risk_band, AVG(s.amount) " JOIN_BS "WHERE s.year = 2025 GROUP BY b.risk_band",
		NULL, 0, &plan, &text);
	assert_true(json_is_true(json_object_get(plan, "executable")));
	assert_contains(&text, "intersection-sum");
	assert_contains(&text, "the number of matched keys and rows, before the threshold");
	assert_contains(&text, "  shop.purchases (party shop, as s): its row_filter first\n    where: s.year = 2025\n"
			"    per group: count(s.amount); sum(s.amount) clamped to [0, 500]; identities(cid)\n");
	assert_contains(&text, "  bank.customers (party bank, as b)\n    where: every row\n    per group: identities(cid)\n");
	json_decref(plan);
	sr_buf_release(&text);

	/* Rows, not aggregates. */
	plan_of("SELECT Ward FROM clinic_a.visits", NULL, 0, &plan, &text);
	assert_null(json_object_get(plan, "release"));
	assert_contains(&text, "groups: from none: the query does not aggregate\n");
	assert_contains(&text, "  Ward (int64): the rows' values, as they are\n");
	json_decref(plan);
	sr_buf_release(&text);
}

/* ---- limits --------------------------------------------------------------- */

static void check_limit(const char *text, const char *msg)
{
	struct error_case c = { text, SR_ELIMIT, msg };

	check_errors(&c, 1);
}

static void test_limits(void **state)
{
	struct sr_buf t;
	char msg[SR_ERR_MSG_MAX];
	struct sr_sql *q;
	struct sr_err err;

	(void)state;
	sr_buf_init(&t, 0);
	/* Text: SR_SQL_TEXT_MAX bytes pass, one more does not. */
	assert_int_equal(sr_buf_addstr(&t, "SELECT COUNT(*) FROM clinic_a.visits"), SR_OK);
	while (t.len < SR_SQL_TEXT_MAX)
		assert_int_equal(sr_buf_addch(&t, ' '), SR_OK);
	q = compile_ok(t.data);
	sr_sql_free(q);
	assert_int_equal(sr_buf_addch(&t, ' '), SR_OK);
	snprintf(msg, sizeof(msg), "1:%u: query longer than the limit of %u bytes",
		 (unsigned)SR_SQL_TEXT_MAX + 1, (unsigned)SR_SQL_TEXT_MAX);
	check_limit(t.data, msg);
	{
		struct sr_arena arena;
		struct sr_sql_stmt *st = (struct sr_sql_stmt *)1;
		sr_arena_init(&arena, SR_EXPR_TREE_BYTES_MAX);
		sr_err_clear(&err);
		assert_int_equal(sr_sql_parse(t.data, t.len, &arena, &st, &err), SR_ELIMIT);
		assert_string_equal(err.msg, msg);
		assert_null(st);
		sr_arena_release(&arena);
	}
	/* Inputs: 64 parse, the 65th does not. */
	sr_buf_reset(&t);
	assert_int_equal(sr_buf_addstr(&t, "SELECT COUNT(*) FROM o.d0"), SR_OK);
	for (int i = 1; i <= SR_SQL_INPUTS_MAX; i++)
		assert_int_equal(sr_buf_addf(&t, " UNION ALL o.d%d", i), SR_OK);
	snprintf(msg, sizeof(msg), "1:%zu: FROM names more than the limit of 64 datasets",
		 t.len - strlen("o.d64") + 1);
	check_limit(t.data, msg);
	/* List items. */
	sr_buf_reset(&t);
	assert_int_equal(sr_buf_addstr(&t, "SELECT 1"), SR_OK);
	for (int i = 1; i < SR_SQL_LIST_MAX; i++)
		assert_int_equal(sr_buf_addstr(&t, ", 1"), SR_OK);
	assert_int_equal(sr_buf_addstr(&t, " FROM clinic_a.visits"), SR_OK);
	q = compile_ok(t.data);
	sr_sql_free(q);
	sr_buf_setlen(&t, t.len - strlen(" FROM clinic_a.visits"));
	assert_int_equal(sr_buf_addstr(&t, ", 1 FROM clinic_a.visits"), SR_OK);
	snprintf(msg, sizeof(msg), "1:%zu: SELECT list longer than the limit of 256 items",
		 t.len - strlen("1 FROM clinic_a.visits") + 1);
	check_limit(t.data, msg);
	sr_buf_reset(&t);
	assert_int_equal(sr_buf_addstr(&t, "SELECT COUNT(*) FROM clinic_a.visits GROUP BY ward"), SR_OK);
	for (int i = 1; i <= SR_SQL_LIST_MAX; i++)
		assert_int_equal(sr_buf_addstr(&t, ", ward"), SR_OK);
	snprintf(msg, sizeof(msg), "1:%zu: GROUP BY list longer than the limit of 256 items",
		 t.len - strlen("ward") + 1);
	check_limit(t.data, msg);
	sr_buf_reset(&t);
	assert_int_equal(sr_buf_addstr(&t, "SELECT COUNT(*) FROM clinic_a.visits ORDER BY 1"), SR_OK);
	for (int i = 1; i <= SR_SQL_LIST_MAX; i++)
		assert_int_equal(sr_buf_addstr(&t, ", 1"), SR_OK);
	snprintf(msg, sizeof(msg), "1:%zu: ORDER BY list longer than the limit of 256 items",
		 t.len);
	check_limit(t.data, msg);
	/* Aggregates: 256 different ones pass, 257 do not. */
	sr_buf_reset(&t);
	assert_int_equal(sr_buf_addstr(&t, "SELECT SUM(amount + 0)"), SR_OK);
	for (int i = 1; i < SR_SQL_AGGREGATES_MAX; i++)
		assert_int_equal(sr_buf_addf(&t, ", SUM(amount + %d)", i), SR_OK);
	assert_int_equal(sr_buf_addstr(&t, " FROM clinic_a.visits"), SR_OK);
	q = compile_ok(t.data);
	assert_int_equal(sr_sql_query(q)->naggs, SR_SQL_AGGREGATES_MAX);
	sr_sql_free(q);
	assert_int_equal(sr_buf_addstr(&t, " HAVING COUNT(*) > 0"), SR_OK);
	snprintf(msg, sizeof(msg), "1:%zu: more than the limit of 256 different aggregates",
		 t.len - strlen("COUNT(*) > 0") + 1);
	check_limit(t.data, msg);
	/* Nesting, through the expression parser. */
	sr_buf_reset(&t);
	assert_int_equal(sr_buf_addstr(&t, "SELECT COUNT(*) FROM clinic_a.visits WHERE "), SR_OK);
	for (int i = 0; i <= SR_SQL_EXPR_DEPTH_MAX; i++)
		assert_int_equal(sr_buf_addch(&t, '('), SR_OK);
	snprintf(msg, sizeof(msg), "1:%zu: expression nested more than 64 levels deep", t.len);
	assert_int_equal(sr_buf_addstr(&t, "age > 1"), SR_OK);
	check_limit(t.data, msg);
	sr_buf_release(&t);
}

/* ---- allocation failures -------------------------------------------------- */

/*
 * Compile, usages, rules and plan with the n-th allocation failing, for
 * every n until a run gets through: each run ends in SR_OK or SR_ENOMEM
 * with "out of memory", and leaks nothing (under ASan).
 */
static void test_allocation_failures(void **state)
{
	static const char text[] =
		"SELECT sex, ward * 2 AS w, COUNT(*), AVG(amount), MIN(Ward), "
		"SUM(CASE WHEN age > 30 THEN amount ELSE 0 END) "
		"FROM clinic_a.visits a UNION ALL clinic_b.visits b UNION ALL clinic_c.visits "
		"WHERE age >= 18 AND year(visit) = 2024 GROUP BY sex, ward * 2 "
		"HAVING COUNT(*) > 3 ORDER BY w DESC, 3 LIMIT 5";
	int succeeded = 0;
	unsigned long n;

	(void)state;
	for (n = 1; n < 100000 && !succeeded; n++) {
		struct sr_sql *q = NULL;
		struct sr_sql_usage *us = NULL;
		struct sr_sql_violation *vs = NULL;
		json_t *plan = NULL;
		struct sr_buf out;
		struct sr_err err;
		size_t count;
		int rc;

		sr_err_clear(&err);
		sr_buf_init(&out, 0);
		sr_alloc_fail_at(n, 0);
		rc = sr_sql_compile(text, strlen(text), datasets, NDATASETS, &q, &err);
		if (rc == SR_OK)
			rc = sr_sql_usages(q, &us, &count, &err);
		if (rc == SR_OK)
			rc = sr_sql_rules(q, SR_SQL_REFUSE_JOIN, &vs, &count, &err);
		if (rc == SR_OK)
			rc = sr_sql_plan(q, NULL, 0, &plan, &err);
		if (rc == SR_OK)
			rc = sr_sql_plan_text(plan, &out, &err);
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK)
			succeeded = 1;
		else if (rc != SR_ENOMEM)
			fail_msg("allocation %lu: got %d (%s)", n, rc, err.msg);
		else if (!strstr(err.msg, "out of memory"))
			fail_msg("allocation %lu: message '%s'", n, err.msg);
		if (rc != SR_OK && !q)
			assert_null(plan);
		sr_free(us);
		sr_free(vs);
		json_decref(plan);
		sr_buf_release(&out);
		sr_sql_free(q);
	}
	assert_true(succeeded);
	assert_true(n > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_clauses),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_bind_errors),
		cmocka_unit_test(test_bind_query),
		cmocka_unit_test(test_bind_evaluates),
		cmocka_unit_test(test_usages),
		cmocka_unit_test(test_refused_corpus),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_rule_messages),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
