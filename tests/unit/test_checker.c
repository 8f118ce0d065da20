/*
 * test_checker.c - the security checker on PSI specs: accepted specs,
 * every rule's violation naming dataset, column, usage and rule, and
 * malformed specs.
 */
#include "testutil.h"

#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "kinds/kind.h"
#include "policy/checker.h"

#define BANK "org_00000000000000000000000000000001"
#define SHOP "org_00000000000000000000000000000002"
#define INSURER "org_00000000000000000000000000000003"
#define VERSION "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct world {
	struct sr_policy bank, shop;
	struct sr_check_dataset ds[2];
};

static void make_policy(struct sr_policy *pol, const char *text,
			const char *const *names, const enum sr_type *types,
			size_t n)
{
	struct sr_err err;

	sr_err_clear(&err);
	sr_policy_init(pol);
	assert_int_equal(sr_policy_parse(text, strlen(text), "p", pol, &err), SR_OK);
	assert_int_equal(sr_policy_bind(pol, names, types, n, &err), SR_OK);
}

static int setup(void **state)
{
	static const char *const bank_cols[] = { "customer_id", "email", "balance" };
	static const enum sr_type bank_types[] = { SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_FLOAT64 };
	static const char *const shop_cols[] = { "email", "spend" };
	static const enum sr_type shop_types[] = { SR_TYPE_STRING, SR_TYPE_FLOAT64 };
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	make_policy(&w->bank,
		    "{\"columns\": {\"customer_id\": {\"class\": \"id\"},"
		    " \"email\": {\"class\": \"id\"}, \"balance\": {\"class\": \"sa\"}},"
		    " \"receivers\": [\"" SHOP "\"], \"jobs\": [\"psi\", \"query\"]}",
		    bank_cols, bank_types, 3);
	make_policy(&w->shop,
		    "{\"columns\": {\"email\": {\"class\": \"id\"}, \"spend\": {\"class\": \"sa\"}},"
		    " \"receivers\": [\"" BANK "\"], \"expires\": 2000000000}",
		    shop_cols, shop_types, 2);
	w->ds[0].name = "bank.customers";
	w->ds[0].owner = BANK;
	w->ds[0].policy = &w->bank;
	w->ds[1].name = "shop.members";
	w->ds[1].owner = SHOP;
	w->ds[1].policy = &w->shop;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	sr_policy_release(&w->bank);
	sr_policy_release(&w->shop);
	free(w);
	return 0;
}

static int check(struct world *w, const char *spec_text, int64_t now,
		 struct sr_verdict *v, struct sr_err *err)
{
	json_t *spec;
	int rc;

	sr_err_clear(err);
	assert_int_equal(sr_json_parse(spec_text, strlen(spec_text), "spec", &spec, err), SR_OK);
	rc = sr_check_job(spec, w->ds, 2, now, v, err);
	json_decref(spec);
	return rc;
}

#define SPEC(bank_col, shop_col, receivers) \
	"{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": [" \
	"{\"dataset\": \"bank.customers\", \"column\": \"" bank_col "\"}," \
	"{\"dataset\": \"shop.members\", \"column\": \"" shop_col "\"}]," \
	"\"receivers\": [" receivers "]}"

static void test_accept(void **state)
{
	struct world *w = *state;
	struct sr_verdict v;
	struct sr_err err;
	json_t *j;

	assert_int_equal(check(w, SPEC("email", "email", "\"" BANK "\", \"" SHOP "\""),
			       1700000000, &v, &err), SR_OK);
	assert_true(v.accept);
	assert_int_equal(v.count, 0);
	j = sr_verdict_to_json(&v);
	assert_true(json_is_true(json_object_get(j, "accept")));
	json_decref(j);
	sr_verdict_release(&v);
}

struct rule_case {
	const char *spec;
	int64_t now;
	const char *rule;
	const char *dataset;
	const char *column;
	const char *message;
};

static void test_violations(void **state)
{
	static const struct rule_case cases[] = {
		{ SPEC("balance", "email", "\"" BANK "\""), 1700000000, "usage-not-allowed",
		  "bank.customers", "balance",
		  "bank.customers.balance (class sa) does not allow 'join'" },
		{ SPEC("phone", "email", "\"" BANK "\""), 1700000000, "unknown-column",
		  "bank.customers", "phone", "bank.customers has no column 'phone'" },
		{ SPEC("email", "email", "\"" INSURER "\""), 1700000000, "receiver-not-allowed",
		  "bank.customers", NULL, INSURER " may not receive outputs of bank.customers (not in its receivers)" },
		{ SPEC("email", "email", "\"" BANK "\""), 2100000000, "expired",
		  "shop.members", NULL, "the policy of shop.members has expired" },
		{ "{\"kind\": \"psi\", \"mode\": \"cardinality\", \"inputs\": ["
		  "{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
		  "{\"dataset\": \"ghost.table\", \"column\": \"id\"}],"
		  "\"receivers\": [\"" BANK "\"]}", 1700000000, "unknown-dataset",
		  "ghost.table", NULL, "dataset ghost.table is not published in this project" },
	};
	struct world *w = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_verdict v;
		struct sr_err err;
		int found = 0;

		assert_int_equal(check(w, cases[i].spec, cases[i].now, &v, &err), SR_OK);
		assert_false(v.accept);
		for (size_t k = 0; k < v.count; k++) {
			const struct sr_violation *x = &v.violations[k];
			if (strcmp(x->rule, cases[i].rule) != 0 ||
			    strcmp(x->dataset, cases[i].dataset) != 0)
				continue;
			found = 1;
			assert_string_equal(x->dataset, cases[i].dataset);
			if (cases[i].column)
				assert_string_equal(x->column, cases[i].column);
			assert_string_equal(x->message, cases[i].message);
		}
		if (!found)
			fail_msg("case %zu: no '%s' violation", i, cases[i].rule);
		sr_verdict_release(&v);
	}
}

static void test_kind_not_allowed(void **state)
{
	struct world *w = *state;
	struct sr_verdict v;
	struct sr_err err;

	w->bank.jobs = SR_JOB_QUERY;
	assert_int_equal(check(w, SPEC("email", "email", "\"" BANK "\""), 1700000000,
			       &v, &err), SR_OK);
	assert_false(v.accept);
	assert_int_equal(v.count, 1);
	assert_string_equal(v.violations[0].rule, "kind-not-allowed");
	assert_string_equal(v.violations[0].message, "bank.customers does not allow psi jobs");
	sr_verdict_release(&v);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *spec;
		const char *message;
	} cases[] = {
		{ "[]", "spec: expected a JSON object" },
		{ "{}", "spec.kind: required key is missing" },
		{ "{\"kind\": \"mine\"}", "spec.kind: unknown job kind 'mine' (this node runs: psi" },
		{ "{\"kind\": \"psi\", \"inputs\": [], \"receivers\": []}", "spec.inputs: expected a non-empty array" },
		{ "{\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"}],"
		  " \"receivers\": [], \"mode\": \"intersection\"}", "spec.receivers" },
		{ "{\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"}],"
		  " \"receivers\": [\"" BANK "\"], \"mode\": \"intersection\"}", "psi needs at least two inputs" },
		{ SPEC("email", "email", "\"" BANK "\"") , NULL },
		{ "{\"kind\": \"psi\", \"mode\": \"all\", \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
		  "{\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  "spec.mode: unknown mode 'all'" },
		{ "{\"kind\": \"psi\", \"mode\": \"intersection\", \"colour\": 1, \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
		  "{\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  "spec.colour: unknown key" },
		{ "{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": [{\"dataset\": \"bank.customers\"},"
		  "{\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  "spec.inputs[0].column: required key is missing" },
		{ "{\"kind\": \"psi\", \"mode\": \"intersection\", \"normalize\": [\"upper\"], \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
		  "{\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  "spec.normalize[0]: expected trim, lower or digits" },
		{ "{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\", \"colour\": 2},"
		  "{\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  "spec.inputs[0].colour: unknown key (expected dataset, version_id or column)" },
		/* Approvals bind versions: version_id is accepted, and must be one. */
		{ "{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\","
		  " \"version_id\": \"" VERSION "\"}, {\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  NULL },
		{ "{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\","
		  " \"version_id\": \"ABC\"}, {\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  "spec.inputs[0].version_id: expected the dataset version's id (64 lowercase hex digits)" },
		{ "{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\","
		  " \"version_id\": 7}, {\"dataset\": \"shop.members\", \"column\": \"email\"}], \"receivers\": [\"" BANK "\"]}",
		  "spec.inputs[0].version_id: expected the dataset version's id" },
	};
	struct world *w = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_verdict v;
		struct sr_err err;
		int rc = check(w, cases[i].spec, 1700000000, &v, &err);

		if (!cases[i].message) {
			assert_int_equal(rc, SR_OK);
			sr_verdict_release(&v);
			continue;
		}
		if (rc != SR_EINVAL || !strstr(err.msg, cases[i].message))
			fail_msg("case %zu: got %d '%s', want '%s'", i, rc, err.msg,
				 cases[i].message);
		assert_int_equal(v.count, 0);
	}
}


/* The shapes the PSI protocol runs: one input per party, receivers that
 * are parties, one receiver for three parties, two for cardinality; and a
 * verdict whose messages quote hostile names can still be recorded. */
static void test_psi_shapes(void **state)
{
	struct world *w = *state;
	struct sr_verdict v;
	struct sr_err err;
	json_t *j;
	const char *msg;

	/* Same owner twice. */
	assert_int_equal(check(w, "{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": ["
			       "{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
			       "{\"dataset\": \"bank.customers\", \"column\": \"customer_id\"}],"
			       "\"receivers\": [\"" BANK "\"]}", 1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	assert_int_equal(v.count, 1);
	assert_string_equal(v.violations[0].rule, "psi-one-input-per-party");
	sr_verdict_release(&v);
	/* A receiver with no input. */
	assert_int_equal(check(w, SPEC("email", "email", "\"" BANK "\", \"org_00000000000000000000000000000000\""),
			       1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	{
		int found = 0;
		for (size_t i = 0; i < v.count; i++)
			found |= strcmp(v.violations[i].rule, "psi-receiver-not-a-party") == 0;
		assert_true(found);
	}
	sr_verdict_release(&v);
	/* Three inputs (one unknown), two receivers, cardinality. */
	assert_int_equal(check(w, "{\"kind\": \"psi\", \"mode\": \"cardinality\", \"inputs\": ["
			       "{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
			       "{\"dataset\": \"shop.members\", \"column\": \"email\"},"
			       "{\"dataset\": \"x.y\", \"column\": \"z\"}],"
			       "\"receivers\": [\"" BANK "\", \"" SHOP "\"]}", 1700000000, &v, &err), SR_OK);
	{
		int one = 0, two = 0, unknown = 0;
		for (size_t i = 0; i < v.count; i++) {
			one |= strcmp(v.violations[i].rule, "psi-multi-party-one-receiver") == 0;
			two |= strcmp(v.violations[i].rule, "psi-cardinality-two-parties") == 0;
			unknown |= strcmp(v.violations[i].rule, "unknown-dataset") == 0;
		}
		assert_true(one && two && unknown);
	}
	sr_verdict_release(&v);
	/* protocol kkrt with cardinality: a violation; an unknown protocol:
	 * an error naming it; kkrt for two-party intersection: accepted. */
	assert_int_equal(check(w, "{\"kind\": \"psi\", \"mode\": \"cardinality\", \"protocol\": \"kkrt\","
			       "\"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
			       "{\"dataset\": \"shop.members\", \"column\": \"email\"}],"
			       "\"receivers\": [\"" BANK "\"]}", 1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	assert_string_equal(v.violations[0].rule, "psi-kkrt-intersection");
	sr_verdict_release(&v);
	sr_err_clear(&err);
	assert_int_not_equal(check(w, "{\"kind\": \"psi\", \"mode\": \"intersection\", \"protocol\": \"rr22\","
				   "\"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
				   "{\"dataset\": \"shop.members\", \"column\": \"email\"}],"
				   "\"receivers\": [\"" BANK "\"]}", 1700000000, &v, &err), SR_OK);
	assert_non_null(strstr(err.msg, "spec.protocol"));
	assert_non_null(strstr(err.msg, "rr22"));
	assert_int_equal(check(w, "{\"kind\": \"psi\", \"mode\": \"intersection\", \"protocol\": \"kkrt\","
			       "\"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
			       "{\"dataset\": \"shop.members\", \"column\": \"email\"}],"
			       "\"receivers\": [\"" BANK "\"]}", 1700000000, &v, &err), SR_OK);
	for (size_t i = 0; i < v.count; i++)
		assert_string_not_equal(v.violations[i].rule, "psi-kkrt-intersection");
	sr_verdict_release(&v);
	/* A column name with a control character and invalid UTF-8: the
	 * verdict's text is cleaned so the ledger can record it. */
	assert_int_equal(check(w, SPEC("ph\\u007fone\\n", "email", "\"" BANK "\""),
			       1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	j = sr_verdict_to_json(&v);
	assert_non_null(j);
	msg = json_string_value(json_object_get(json_array_get(json_object_get(j, "violations"), 0),
						"message"));
	assert_non_null(msg);
	for (const char *p = msg; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	json_decref(j);
	sr_verdict_release(&v);
}

/* A kind whose runner could not apply row filters (none of the real ones). */
static int nofilter_check(struct sr_check *c, struct sr_err *err)
{
	(void)c;
	(void)err;
	return SR_OK;
}

static const struct sr_job_kind nofilter_kind = {
	.name = "test_nofilter", .policy_bit = 0, .flags = SR_KIND_TEST,
	.summary = "test only", .check = nofilter_check,
};

/* Rules the checker applies to every kind: a row_filter a kind cannot
 * apply is refused (never fails open), and a PSI input smaller than the
 * strictest min_group_size is refused before anything runs. */
static void test_filter_and_group_size(void **state)
{
	static const char *const cols[] = { "email", "spend" };
	static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_FLOAT64 };
	struct world *w = *state;
	struct sr_policy filtered;
	struct sr_verdict v;
	struct sr_err err;

	make_policy(&filtered,
		    "{\"columns\": {\"email\": {\"class\": \"id\"}, \"spend\": {\"class\": \"sa\"}},"
		    " \"receivers\": [\"" BANK "\"], \"row_filter\": \"spend > 10\","
		    " \"min_group_size\": 50}", cols, types, 2);
	w->ds[1].policy = &filtered;
	w->ds[0].rows = 1000;
	w->ds[1].rows = 49;
	/* psi applies filters (its scans do): only the size rule fires. */
	assert_int_equal(check(w, SPEC("email", "email", "\"" BANK "\""), 1700000000, &v, &err),
			 SR_OK);
	assert_false(v.accept);
	assert_int_equal(v.count, 1);
	assert_string_equal(v.violations[0].rule, "psi-input-below-min-group-size");
	assert_string_equal(v.violations[0].message,
		"shop.members has 49 rows, fewer than the min_group_size 50 of the job's inputs");
	sr_verdict_release(&v);
	/* A kind that cannot apply filters is refused the filtered dataset. */
	assert_int_equal(check(w, "{\"kind\": \"test_nofilter\", \"inputs\": ["
			       "{\"dataset\": \"bank.customers\"}, {\"dataset\": \"shop.members\"}],"
			       " \"receivers\": [\"" BANK "\"]}", 1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	/* (and bank.customers, whose policy names its kinds, does not allow a
	 * test kind: kind-not-allowed) */
	assert_int_equal(v.count, 2);
	{
		int filter = 0, kind = 0;
		for (size_t i = 0; i < v.count; i++) {
			kind |= strcmp(v.violations[i].rule, "kind-not-allowed") == 0 &&
				strcmp(v.violations[i].dataset, "bank.customers") == 0;
			if (strcmp(v.violations[i].rule, "row-filter-not-applied") == 0) {
				filter = 1;
				assert_string_equal(v.violations[i].message,
					"shop.members has a row_filter, which test_nofilter jobs cannot apply yet");
			}
		}
		assert_true(filter && kind);
	}
	sr_verdict_release(&v);
	/* The bank's 1000 rows pass; the threshold is the strictest one, so
	 * a bank input of 49 rows is refused too. */
	w->ds[1].rows = 50;
	w->ds[0].rows = 49;
	assert_int_equal(check(w, SPEC("email", "email", "\"" BANK "\""), 1700000000, &v, &err),
			 SR_OK);
	{
		int small = 0;
		for (size_t i = 0; i < v.count; i++)
			small |= strcmp(v.violations[i].rule, "psi-input-below-min-group-size") == 0 &&
				strcmp(v.violations[i].dataset, "bank.customers") == 0;
		assert_true(small);
	}
	sr_verdict_release(&v);
	w->ds[1].policy = &w->shop;
	sr_policy_release(&filtered);
}

#define EXECUTOR "org_0000000000000000000000000000000e"
#define M1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define M2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define TEE_POLICY(ms) \
	", \"tee\": {\"allow\": true, \"ca\": [\"-----BEGIN CERTIFICATE-----\\nAAAA\\n" \
	"-----END CERTIFICATE-----\\n\"], \"measurements\": [" ms "]}}"
#define TEE_SPEC(tee) \
	"{\"kind\": \"psi\", \"mode\": \"intersection\", \"inputs\": [" \
	"{\"dataset\": \"bank.customers\", \"column\": \"email\"}," \
	"{\"dataset\": \"shop.members\", \"column\": \"email\"}]," \
	"\"receivers\": [\"" BANK "\"], \"tee\": " tee "}"

/* TEE mode: the policy's tee section against the spec's executor and
 * measurements; each rule makes the verdict refuse, malformed sections
 * are errors. */
static void test_tee(void **state)
{
	static const char *const bank_cols[] = { "customer_id", "email", "balance" };
	static const enum sr_type bank_types[] = { SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_FLOAT64 };
	static const char *const shop_cols[] = { "email", "spend" };
	static const enum sr_type shop_types[] = { SR_TYPE_STRING, SR_TYPE_FLOAT64 };
	static const char *const malformed[] = {
		TEE_SPEC("\"yes\""),
		TEE_SPEC("{\"executor\": \"nobody\", \"measurements\": [\"" M1 "\"]}"),
		TEE_SPEC("{\"executor\": \"" EXECUTOR "\", \"measurements\": []}"),
		TEE_SPEC("{\"executor\": \"" EXECUTOR "\", \"measurements\": [\"sha1:00\"]}"),
		TEE_SPEC("{\"executor\": \"" EXECUTOR "\", \"measurements\": [\"" M1 "\"], \"x\": 1}"),
	};
	struct world *w = *state;
	struct sr_policy bank, shop;
	struct sr_verdict v;
	struct sr_err err;

	make_policy(&bank,
		    "{\"columns\": {\"customer_id\": {\"class\": \"id\"},"
		    " \"email\": {\"class\": \"id\"}, \"balance\": {\"class\": \"sa\"}},"
		    " \"receivers\": [\"" SHOP "\"]" TEE_POLICY("\"" M1 "\", \"" M2 "\""),
		    bank_cols, bank_types, 3);
	make_policy(&shop,
		    "{\"columns\": {\"email\": {\"class\": \"id\"}, \"spend\": {\"class\": \"sa\"}},"
		    " \"receivers\": [\"" BANK "\"]" TEE_POLICY("\"" M1 "\""),
		    shop_cols, shop_types, 2);
	assert_true(bank.tee.allow);
	assert_int_equal(bank.tee.nmeasurements, 2);
	assert_int_equal(bank.tee.nca, 1);
	/* The normalized form keeps the section and reads back equal. */
	{
		json_t *j = NULL;
		char *text;
		struct sr_policy back;
		assert_int_equal(sr_policy_to_json(&bank, &j, &err), SR_OK);
		text = json_dumps(j, JSON_COMPACT);
		sr_policy_init(&back);
		assert_int_equal(sr_policy_parse(text, strlen(text), "back", &back, &err), SR_OK);
		assert_int_equal(back.tee.nmeasurements, 2);
		assert_memory_equal(back.tee.measurements[1], bank.tee.measurements[1], 32);
		assert_string_equal(back.tee.ca[0], bank.tee.ca[0]);
		sr_policy_release(&back);
		free(text);
		json_decref(j);
	}
	w->ds[0].policy = &bank;
	w->ds[1].policy = &shop;

	/* Both allow tee and trust M1: accepted. */
	assert_int_equal(check(w, TEE_SPEC("{\"executor\": \"" EXECUTOR "\", \"measurements\": [\"" M1 "\"]}"),
			       1700000000, &v, &err), SR_OK);
	assert_true(v.accept);
	sr_verdict_release(&v);

	/* M2 is trusted by the bank only. */
	assert_int_equal(check(w, TEE_SPEC("{\"executor\": \"" EXECUTOR "\", \"measurements\": [\"" M1 "\", \"" M2 "\"]}"),
			       1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	assert_int_equal(v.count, 1);
	assert_string_equal(v.violations[0].rule, "tee-measurement-not-trusted");
	assert_string_equal(v.violations[0].dataset, "shop.members");
	sr_verdict_release(&v);

	/* The executor as a receiver, or owning an input. */
	assert_int_equal(check(w, TEE_SPEC("{\"executor\": \"" BANK "\", \"measurements\": [\"" M1 "\"]}"),
			       1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	assert_string_equal(v.violations[0].rule, "tee-executor-is-party");
	sr_verdict_release(&v);

	/* An input under a DP budget: TEE mode keeps none. */
	shop.dp.enabled = 1;
	assert_int_equal(check(w, TEE_SPEC("{\"executor\": \"" EXECUTOR "\", \"measurements\": [\"" M1 "\"]}"),
			       1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	assert_int_equal(v.count, 1);
	assert_string_equal(v.violations[0].rule, "tee-dp-budget");
	sr_verdict_release(&v);
	shop.dp.enabled = 0;

	/* A policy without tee (the setup's shop) refuses. */
	w->ds[1].policy = &w->shop;
	assert_int_equal(check(w, TEE_SPEC("{\"executor\": \"" EXECUTOR "\", \"measurements\": [\"" M1 "\"]}"),
			       1700000000, &v, &err), SR_OK);
	assert_false(v.accept);
	assert_int_equal(v.count, 1);
	assert_string_equal(v.violations[0].rule, "tee-not-allowed");
	assert_string_equal(v.violations[0].dataset, "shop.members");
	sr_verdict_release(&v);

	for (size_t i = 0; i < sizeof(malformed) / sizeof(*malformed); i++) {
		int rc = check(w, malformed[i], 1700000000, &v, &err);
		if (rc != SR_EINVAL)
			fail_msg("malformed tee case %zu: %d (%s)", i, rc, err.msg);
		assert_non_null(strstr(err.msg, "spec.tee"));
	}
	w->ds[0].policy = &w->bank;
	sr_policy_release(&bank);
	sr_policy_release(&shop);
}

/* The policy's tee section: every malformed form fails naming its key. */
static void test_tee_policy_errors(void **state)
{
	static const struct { const char *tee, *needle; } cases[] = {
		{ "true", "tee: expected an object" },
		{ "{\"allow\": 1}", "tee.allow" },
		{ "{\"allow\": true, \"measurements\": [\"" M1 "\"]}", "tee.ca" },
		{ "{\"allow\": true, \"ca\": [\"not pem\"], \"measurements\": [\"" M1 "\"]}", "tee.ca[0]" },
		{ "{\"allow\": true, \"ca\": [\"-----BEGIN CERTIFICATE-----\"]}", "tee.measurements" },
		{ "{\"allow\": true, \"ca\": [\"-----BEGIN CERTIFICATE-----\"], \"measurements\": [\"" M1 "\", \"" M1 "\"]}",
		  "tee.measurements[1]: listed twice" },
		{ "{\"allow\": true, \"ca\": [\"-----BEGIN CERTIFICATE-----\"], \"measurements\": [\"sha256:AB\"]}",
		  "tee.measurements[0]" },
		{ "{\"allow\": false, \"measurements\": [\"" M1 "\"]}", "allow\": true only" },
		{ "{\"allow\": true, \"cas\": []}", "tee.cas: unknown key" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char text[1024];
		struct sr_policy pol;
		struct sr_err err;

		snprintf(text, sizeof(text), "{\"columns\": {\"a\": {\"class\": \"id\"}}, \"tee\": %s}",
			 cases[i].tee);
		sr_policy_init(&pol);
		sr_err_clear(&err);
		assert_int_equal(sr_policy_parse(text, strlen(text), "p.json", &pol, &err), SR_EINVAL);
		if (!strstr(err.msg, cases[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
		assert_int_equal(pol.tee.allow, 0);
		sr_policy_release(&pol);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_violations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kind_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_psi_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_and_group_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tee, setup, teardown),
		cmocka_unit_test(test_tee_policy_errors),
	};

	sr_alloc_setup_json();
	if (sr_kind_register(&nofilter_kind) != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
