/*
 * test_anon_kind_policy.c - the policy's "generalize" key (every form,
 * qi only, checked against the column type at bind with the column, the
 * level and the value named, the normalized form and its round trip, a
 * hierarchy CSV) and the masks of kinds/mask.h.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon/hier.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "kinds/mask.h"
#include "policy/policy.h"
#include "store/vec.h"

static const char *const names[] = { "age", "city", "born", "zip", "job" };
static const enum sr_type types[] = { SR_TYPE_INT64, SR_TYPE_STRING, SR_TYPE_DATE,
				      SR_TYPE_STRING, SR_TYPE_STRING };

/* Parse and bind text; the status, with err filled. */
static int load(const char *text, struct sr_policy *pol, struct sr_err *err)
{
	int rc;

	sr_err_clear(err);
	sr_policy_init(pol);
	rc = sr_policy_parse(text, strlen(text), "p.json", pol, err);
	if (rc == SR_OK)
		rc = sr_policy_bind(pol, names, types, 5, err);
	if (rc && getenv("SR_TEST_VERBOSE"))
		fprintf(stderr, "load: %s\n", err->msg);
	return rc;
}

#define COLS(age, city) \
	"{\"columns\": {\"age\": {\"class\": \"qi\"" age "}, " \
	"\"city\": {\"class\": \"qi\"" city "}, \"born\": {\"class\": \"qi\", " \
	"\"generalize\": {\"date\": [\"month\", \"year\"]}}, " \
	"\"zip\": {\"class\": \"qi\", \"generalize\": {\"prefix\": [3, 1]}}, " \
	"\"job\": {\"class\": \"sa\"}}}"

static void fails(const char *text, const char *expect)
{
	struct sr_policy pol;
	struct sr_err err;

	assert_int_not_equal(load(text, &pol, &err), SR_OK);
	if (!strstr(err.msg, expect))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, expect);
	sr_policy_release(&pol);
}

static void test_generalize_forms(void **state)
{
	struct sr_policy pol, again;
	struct sr_anon_hier *h = NULL;
	struct sr_err err;
	json_t *doc, *doc2;
	char *text;

	(void)state;
	assert_int_equal(load(COLS(", \"generalize\": {\"intervals\": [2.5, 5, 10], \"origin\": 0.5}",
				   ", \"generalize\": {\"hierarchy\": {\"Hangzhou\": [\"Zhejiang\", \"East\"], "
				   "\"Wenzhou\": [\"Zhejiang\", \"East\"], \"Nanjing\": [\"Jiangsu\", \"East\"]}}"),
			      &pol, &err), SR_OK);
	assert_int_equal(sr_policy_hierarchy(&pol.columns[0], SR_TYPE_INT64, &h, &err), SR_OK);
	assert_non_null(h);
	assert_int_equal(sr_anon_hier_levels(h), 5);
	sr_anon_hier_free(h);
	assert_int_equal(sr_policy_hierarchy(&pol.columns[1], SR_TYPE_STRING, &h, &err), SR_OK);
	assert_int_equal(sr_anon_hier_levels(h), 4);
	sr_anon_hier_free(h);
	assert_int_equal(sr_policy_hierarchy(&pol.columns[4], SR_TYPE_STRING, &h, &err), SR_OK);
	assert_null(h);
	/* Normalized: canonical JSON (no reals), and it reads back the same. */
	assert_int_equal(sr_policy_to_json(&pol, &doc, &err), SR_OK);
	{
		struct sr_buf canon;
		sr_buf_init(&canon, SR_BUF_UNBOUNDED);
		assert_int_equal(sr_json_canonical(doc, &canon, &err), SR_OK);
		assert_non_null(strstr(canon.data, "\"intervals\":[\"2.5\",5,10]"));
		assert_non_null(strstr(canon.data, "\"origin\":\"0.5\""));
		sr_buf_release(&canon);
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(load(text, &again, &err), SR_OK);
	assert_int_equal(sr_policy_to_json(&again, &doc2, &err), SR_OK);
	assert_true(json_equal(doc, doc2));
	assert_int_equal(sr_policy_hierarchy(&again.columns[0], SR_TYPE_INT64, &h, &err), SR_OK);
	{
		struct sr_vec v;
		struct sr_buf out;
		int is_null;

		sr_vec_init(&v, SR_TYPE_INT64);
		assert_int_equal(sr_vec_append_text(&v, "7", 1), SR_OK);
		sr_buf_init(&out, SR_BUF_UNBOUNDED);
		assert_int_equal(sr_anon_hier_label(h, &v, 0, 1, &out, &is_null, &err), SR_OK);
		assert_string_equal(out.data, "[5.5, 8)");
		sr_buf_release(&out);
		sr_vec_release(&v);
	}
	sr_anon_hier_free(h);
	free(text);
	json_decref(doc);
	json_decref(doc2);
	sr_policy_release(&pol);
	sr_policy_release(&again);
}

static void test_generalize_errors(void **state)
{
	(void)state;
	fails("{\"columns\": {\"age\": {\"class\": \"sa\", \"generalize\": {\"intervals\": [5]}}}}",
	      "p.json: columns.age.generalize: only qi columns are generalized, 'age' is sa");
	fails(COLS(", \"generalize\": [5]", ""),
	      "p.json: columns.age.generalize: expected an object");
	fails(COLS(", \"generalize\": {\"intervals\": [5, 7]}", ""),
	      "policy: columns.age.generalize: level 2: width 7 is not a multiple of 5 (levels must nest)");
	fails(COLS("", ", \"generalize\": {\"intervals\": [5]}"),
	      "policy: columns.city.generalize: intervals need an int64 or float64 column, not string");
	fails(COLS("", ", \"generalize\": {\"hierarchy\": {\"Hangzhou\": [\"Zhejiang\", \"East\"], "
		   "\"Wenzhou\": [\"Zhejiang\", \"West\"]}}"),
	      "policy: columns.city.generalize: hierarchy: level 1: 'Zhejiang' is under both");
	fails(COLS(", \"generalize\": {\"cuts\": [[18, 30, 65], [20]]}", ""),
	      "policy: columns.age.generalize: level 2: cut 20 is not a cut of level 1 (levels must nest)");
	fails(COLS(", \"generalize\": {\"intervals\": [5], \"prefix\": [2]}", ""),
	      "policy: columns.age.generalize: expected exactly one of");
	fails("{\"columns\": {\"age\": {\"class\": \"sa\", \"hash_scope\": \"owner\"}}}",
	      "p.json: columns.age.hash_scope: only with \"mask\": \"hash\"");
	fails("{\"columns\": {\"age\": {\"class\": \"sa\", \"mask\": \"hash\", \"hash_scope\": \"all\"}}}",
	      "p.json: columns.age.hash_scope: expected receiver, dataset or owner");
}

static void test_hash_scope(void **state)
{
	static const char *const one[] = { "id" };
	static const enum sr_type st[] = { SR_TYPE_STRING };
	static const char *const texts[] = {
		"{\"columns\": {\"id\": {\"class\": \"id\", \"mask\": \"hash\"}}}",
		"{\"columns\": {\"id\": {\"class\": \"id\", \"mask\": \"hash\", \"hash_scope\": \"receiver\"}}}",
		"{\"columns\": {\"id\": {\"class\": \"id\", \"mask\": \"hash\", \"hash_scope\": \"owner\"}}}",
	};
	static const enum sr_hash_scope want[] = { SR_HASH_PER_RECEIVER, SR_HASH_PER_RECEIVER,
						   SR_HASH_PER_OWNER };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct sr_policy pol, again;
		struct sr_err err;
		json_t *doc;
		char *text;

		sr_err_clear(&err);
		sr_policy_init(&pol);
		sr_policy_init(&again);
		assert_int_equal(sr_policy_parse(texts[i], strlen(texts[i]), "p.json", &pol, &err), SR_OK);
		assert_int_equal(sr_policy_bind(&pol, one, st, 1, &err), SR_OK);
		assert_int_equal(pol.columns[0].hash_scope, want[i]);
		assert_int_equal(sr_policy_to_json(&pol, &doc, &err), SR_OK);
		/* The default stays implicit: old policies keep their form. */
		assert_int_equal(json_object_get(json_object_get(json_object_get(doc, "columns"), "id"),
						 "hash_scope") != NULL, want[i] != SR_HASH_PER_RECEIVER);
		text = json_dumps(doc, JSON_COMPACT);
		assert_int_equal(sr_policy_parse(text, strlen(text), "p.json", &again, &err), SR_OK);
		assert_int_equal(again.columns[0].hash_scope, want[i]);
		free(text);
		json_decref(doc);
		sr_policy_release(&pol);
		sr_policy_release(&again);
	}
}

static void test_hierarchy_csv(void **state)
{
	static const char csv[] = "city,province,region\nHangzhou,Zhejiang,East\n"
				  "Wenzhou,Zhejiang,East\nChengdu,Sichuan,West\n";
	struct sr_policy pol;
	struct sr_anon_hier *h = NULL;
	struct sr_vec v;
	struct sr_err err;
	json_t *doc;

	(void)state;
	sr_err_clear(&err);
	sr_policy_init(&pol);
	assert_int_equal(sr_policy_parse(COLS("", ""), strlen(COLS("", "")), "p.json", &pol, &err),
			 SR_OK);
	assert_int_equal(sr_policy_set_hierarchy_csv(&pol, "city", csv, strlen(csv), "h.csv", &err),
			 SR_OK);
	assert_int_not_equal(sr_policy_set_hierarchy_csv(&pol, "city", csv, strlen(csv), "h.csv",
							 &err), SR_OK);
	assert_non_null(strstr(err.msg, "already has one"));
	sr_err_clear(&err);
	assert_int_not_equal(sr_policy_set_hierarchy_csv(&pol, "job", csv, strlen(csv), "h.csv",
							 &err), SR_OK);
	assert_non_null(strstr(err.msg, "only qi columns"));
	sr_err_clear(&err);
	assert_int_not_equal(sr_policy_set_hierarchy_csv(&pol, "age", "a\n1\n", 4, "h.csv", &err),
			     SR_OK);
	assert_int_equal(sr_policy_bind(&pol, names, types, 5, &err), SR_OK);
	assert_int_equal(sr_policy_to_json(&pol, &doc, &err), SR_OK);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(
		json_object_get(json_object_get(json_object_get(doc, "columns"), "city"),
				"generalize"), "hierarchy"), "Chengdu"), 1)), "West");
	json_decref(doc);
	/* Coverage, as import checks it: a value the hierarchy lacks. */
	assert_int_equal(sr_policy_hierarchy(&pol.columns[1], SR_TYPE_STRING, &h, &err), SR_OK);
	sr_vec_init(&v, SR_TYPE_STRING);
	assert_int_equal(sr_vec_append_text(&v, "Hangzhou", 8), SR_OK);
	assert_int_equal(sr_anon_hier_check(h, &v, &err), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_vec_append_text(&v, "Ningbo", 6), SR_OK);
	assert_int_equal(sr_anon_hier_check(h, &v, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "city: generalize: level 1: value 'Ningbo' is not in the hierarchy"));
	sr_vec_release(&v);
	sr_anon_hier_free(h);
	sr_policy_release(&pol);
}

/* Labels a receiver checks: sr_anon_hier_is_label for every form. */
static void is_label(const char *json, enum sr_type type, size_t level, const char *text,
		     int want)
{
	struct sr_anon_hier *h = NULL;
	struct sr_err err;
	int ok = -1;

	sr_err_clear(&err);
	assert_int_equal(sr_anon_hier_parse_text(json, strlen(json), "c", type, &h, &err), SR_OK);
	assert_int_equal(sr_anon_hier_is_label(h, level, text, strlen(text), &ok, &err), SR_OK);
	if (ok != want)
		fail_msg("%s level %zu '%s': got %d, want %d", json, level, text, ok, want);
	sr_anon_hier_free(h);
}

static void test_is_label(void **state)
{
	static const char iv[] = "{\"intervals\": [5, 10]}";
	static const char cu[] = "{\"cuts\": [[18, 30, 65], [30]]}";
	static const char dt[] = "{\"date\": [\"month\", \"quarter\", \"year\"]}";
	static const char px[] = "{\"prefix\": [3, 1]}";
	static const char ex[] = "{\"hierarchy\": {\"a\": [\"x\"], \"b\": [\"y\"]}}";
	struct sr_anon_hier *h = NULL;
	struct sr_err err;
	int ok;

	(void)state;
	is_label(iv, SR_TYPE_INT64, 0, "37", 1);
	is_label(iv, SR_TYPE_INT64, 0, "037", 0);
	is_label(iv, SR_TYPE_INT64, 0, "x", 0);
	is_label(iv, SR_TYPE_INT64, 1, "[35, 40)", 1);
	is_label(iv, SR_TYPE_INT64, 1, "[36, 41)", 0);
	is_label(iv, SR_TYPE_INT64, 2, "[30, 40)", 1);
	is_label(iv, SR_TYPE_INT64, 2, "[35, 40)", 0);
	is_label(iv, SR_TYPE_INT64, 3, "*", 1);
	is_label(iv, SR_TYPE_INT64, 3, "[30, 40)", 0);
	is_label("{\"intervals\": [\"0.5\"]}", SR_TYPE_FLOAT64, 1, "[1.5, 2)", 1);
	is_label(cu, SR_TYPE_INT64, 1, "[-inf, 18)", 1);
	is_label(cu, SR_TYPE_INT64, 1, "[18, 30)", 1);
	is_label(cu, SR_TYPE_INT64, 1, "[65, inf)", 1);
	is_label(cu, SR_TYPE_INT64, 1, "[18, 65)", 0);
	is_label(cu, SR_TYPE_INT64, 2, "[-inf, 30)", 1);
	is_label(dt, SR_TYPE_DATE, 0, "2020-03-17", 1);
	is_label(dt, SR_TYPE_DATE, 1, "2020-03", 1);
	is_label(dt, SR_TYPE_DATE, 1, "2020-13", 0);
	is_label(dt, SR_TYPE_DATE, 2, "2020-Q1", 1);
	is_label(dt, SR_TYPE_DATE, 2, "2020-Q5", 0);
	is_label(dt, SR_TYPE_DATE, 3, "2020", 1);
	is_label(dt, SR_TYPE_DATE, 3, "2020-03", 0);
	is_label(px, SR_TYPE_STRING, 0, "10001", 1);
	is_label(px, SR_TYPE_STRING, 1, "100*", 1);
	is_label(px, SR_TYPE_STRING, 1, "10*", 0);
	is_label(px, SR_TYPE_STRING, 1, "10", 1);
	is_label(px, SR_TYPE_STRING, 1, "10001", 0);
	is_label(px, SR_TYPE_STRING, 2, "1*", 1);
	is_label(ex, SR_TYPE_STRING, 0, "a", 1);
	is_label(ex, SR_TYPE_STRING, 0, "c", 0);
	is_label(ex, SR_TYPE_STRING, 1, "y", 1);
	is_label(ex, SR_TYPE_STRING, 1, "a", 0);
	sr_err_clear(&err);
	assert_int_equal(sr_anon_hier_parse_text(iv, strlen(iv), "c", SR_TYPE_INT64, &h, &err), SR_OK);
	assert_int_equal(sr_anon_hier_is_label(h, 4, "*", 1, &ok, &err), SR_EINVAL);
	sr_anon_hier_free(h);
}

/* ---- masks ---- */

static void mask_is(const char *mask, enum sr_type type, const char *value,
		    const char *want)
{
	char text[256];
	static const char *const one[] = { "v" };
	struct sr_policy pol;
	struct sr_err err;
	struct sr_vec in, out;
	struct sr_buf got;
	uint8_t key[SR_MASK_KEY_BYTES] = { 1 };

	snprintf(text, sizeof(text), "{\"columns\": {\"v\": {\"class\": \"sa\", \"mask\": \"%s\"}}}",
		 mask);
	sr_err_clear(&err);
	sr_policy_init(&pol);
	assert_int_equal(sr_policy_parse(text, strlen(text), "p.json", &pol, &err), SR_OK);
	assert_int_equal(sr_policy_bind(&pol, one, &type, 1, &err), SR_OK);
	sr_vec_init(&in, type);
	assert_int_equal(sr_vec_append_text(&in, value, strlen(value)), SR_OK);
	assert_int_equal(sr_vec_append_null(&in), SR_OK);
	assert_int_equal(sr_mask_vec(&pol.columns[0], key, &in, &out, &err), SR_OK);
	assert_int_equal(out.type, SR_TYPE_STRING);
	assert_true(sr_vec_is_null(&out, 1));
	sr_buf_init(&got, SR_BUF_UNBOUNDED);
	assert_int_equal(sr_vec_format(&out, 0, &got), SR_OK);
	assert_string_equal(got.data, want);
	sr_buf_release(&got);
	sr_vec_release(&in);
	sr_vec_release(&out);
	sr_policy_release(&pol);
}

static void test_masks(void **state)
{
	uint8_t k1[SR_MASK_KEY_BYTES], k2[SR_MASK_KEY_BYTES], k3[SR_MASK_KEY_BYTES];
	uint8_t secret[32] = { 7 };
	struct sr_policy_column col;
	struct sr_buf a, b;
	struct sr_err err;

	(void)state;
	mask_is("truncate:3", SR_TYPE_STRING, "Zürich", "Zür");
	mask_is("truncate:10", SR_TYPE_STRING, "abc", "abc");
	mask_is("range:10", SR_TYPE_INT64, "37", "[30, 40)");
	mask_is("range:10", SR_TYPE_INT64, "-3", "[-10, 0)");
	mask_is("range:0.5", SR_TYPE_FLOAT64, "1.7", "[1.5, 2)");
	/* hash: keyed, 32 hex digits, per dataset and per receiver. */
	sr_mask_derive_key(secret, "ins.policies", "org_a", k1);
	sr_mask_derive_key(secret, "ins.policies", "org_b", k2);
	sr_mask_derive_key(secret, "ins.claims", "org_a", k3);
	assert_memory_not_equal(k1, k2, sizeof(k1));
	assert_memory_not_equal(k1, k3, sizeof(k1));
	memset(&col, 0, sizeof(col));
	col.name = "v";
	col.mask = SR_MASK_HASH;
	sr_err_clear(&err);
	sr_buf_init(&a, SR_BUF_UNBOUNDED);
	sr_buf_init(&b, SR_BUF_UNBOUNDED);
	assert_int_equal(sr_mask_text(&col, k1, "C0001", 5, &a, &err), SR_OK);
	assert_int_equal(strlen(a.data), SR_MASK_HASH_HEX);
	assert_int_equal(sr_mask_text(&col, k1, "C0001", 5, &b, &err), SR_OK);
	assert_string_equal(a.data, b.data);
	sr_buf_reset(&b);
	assert_int_equal(sr_mask_text(&col, k2, "C0001", 5, &b, &err), SR_OK);
	assert_string_not_equal(a.data, b.data);
	assert_int_equal(sr_mask_text(&col, NULL, "C0001", 5, &b, &err), SR_EINTERNAL);
	sr_buf_release(&a);
	sr_buf_release(&b);
	{
		json_t *in = json_integer(42), *out = NULL;
		col.mask = SR_MASK_RANGE;
		col.mask_param = 25;
		assert_int_equal(sr_mask_json(&col, NULL, in, &out, &err), SR_OK);
		assert_string_equal(json_string_value(out), "[25, 50)");
		json_decref(out);
		col.mask = SR_MASK_NONE;
		assert_int_equal(sr_mask_json(&col, NULL, in, &out, &err), SR_OK);
		assert_ptr_equal(out, in);
		json_decref(out);
		json_decref(in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generalize_forms),
		cmocka_unit_test(test_generalize_errors),
		cmocka_unit_test(test_hierarchy_csv),
		cmocka_unit_test(test_hash_scope),
		cmocka_unit_test(test_is_label),
		cmocka_unit_test(test_masks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
