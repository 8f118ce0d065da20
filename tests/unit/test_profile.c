/*
 * test_profile.c - `policy init`'s two halves: the profile of a CSV file
 * (types as import infers them, distinct counts, ranges, emails and
 * phones, null tokens) and the draft policy suggested from it (classes
 * with reasons, bounds rounded outward, domains, the _review key that
 * the parser refuses).
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
#include "policy/suggest.h"
#include "store/profile.h"

static void test_round_out(void **state)
{
	(void)state;
	assert_true(sr_suggest_round_out(0, 0) == 0);
	assert_true(sr_suggest_round_out(18, 0) == 18);
	assert_true(sr_suggest_round_out(87, 1) == 87);
	assert_true(sr_suggest_round_out(131, 1) == 140);
	assert_true(sr_suggest_round_out(131, 0) == 130);
	assert_true(sr_suggest_round_out(7.9, 1) == 7.9);
	assert_true(sr_suggest_round_out(4.31, 0) == 4.3);
	assert_true(sr_suggest_round_out(0.00632, 0) == 0.0063);
	assert_true(sr_suggest_round_out(88.9762, 1) == 89);
	assert_true(sr_suggest_round_out(-5.5, 0) == -5.5);
	assert_true(sr_suggest_round_out(-5.55, 0) == -5.6);
	assert_true(sr_suggest_round_out(123456, 1) == 130000);
}

static void test_looks_like(void **state)
{
	(void)state;
	assert_true(sr_profile_is_email("ann@example.org", 15));
	assert_false(sr_profile_is_email("ann@example", 11));
	assert_false(sr_profile_is_email("@example.org", 12));
	assert_false(sr_profile_is_email("a b@example.org", 15));
	assert_false(sr_profile_is_email("a@b@example.org", 15));
	assert_true(sr_profile_is_phone("+44 20 7946 0958", 16));
	assert_true(sr_profile_is_phone("(555) 123-4567", 14));
	assert_false(sr_profile_is_phone("12-34", 5));
	assert_false(sr_profile_is_phone("2020-01-01x", 11));
}

static void test_class_by_name(void **state)
{
	const char *word;

	(void)state;
	assert_int_equal(sr_suggest_class_by_name("ETHNIC.CLASS", &word), SR_CLASS_QI);
	assert_string_equal(word, "ethnic");
	assert_int_equal(sr_suggest_class_by_name("int_rate", &word), SR_CLASS_SA);
	assert_int_equal(sr_suggest_class_by_name("experience", NULL), SR_CLASS_SA);
	assert_int_equal(sr_suggest_class_by_name("customerEmail", &word), SR_CLASS_ID);
	assert_string_equal(word, "email");
	assert_int_equal(sr_suggest_class_by_name("salary_id", NULL), SR_CLASS_ID);
	assert_int_equal(sr_suggest_class_by_name("carat", NULL), SR_CLASS_NONE);
}

/* Profile a generated file and check the draft policy made from it. */
static void test_profile_and_draft(void **state)
{
	static const char *const nulls[] = { "NA" };
	struct sr_profile p;
	struct sr_policy pol;
	struct sr_buf text, out;
	struct sr_err err;
	char *dir = sr_test_tmpdir(), path[512];
	const json_t *cols, *c;
	json_t *doc;

	(void)state;
	sr_buf_init(&text, 0);
	sr_buf_init(&out, 0);
	assert_int_equal(sr_buf_addstr(&text, "ref,contact,phone,cut,carat,day,vip,note,mixed\n"), SR_OK);
	for (int i = 0; i < 40; i++)
		assert_int_equal(sr_buf_addf(&text, "R%03d,u%d@example.org,+44 20 7946 %04d,%s,%d.%02d,2020-01-%02d,%s,%s,%s\n",
					     i, i, i, i % 3 ? "Good" : "Ideal", i % 5, i,
					     i % 28 + 1, i % 2 ? "true" : "false",
					     i % 4 ? "fine" : "NA", i == 7 ? "NA" : "12"), SR_OK);
	snprintf(path, sizeof(path), "%s/d.csv", dir);
	sr_test_write_file(path, text.data, text.len);
	sr_profile_init(&p);
	sr_err_clear(&err);
	assert_int_equal(sr_profile_csv(path, NULL, NULL, 0, &p, &err), SR_OK);
	assert_int_equal(p.rows, 40);
	assert_int_equal(p.ncolumns, 9);
	assert_int_equal(p.columns[0].type, SR_TYPE_STRING);
	assert_int_equal(p.columns[0].distinct, 40);
	assert_false(p.columns[0].duplicates);
	assert_int_equal(p.columns[1].emails, 40);
	assert_int_equal(p.columns[2].phones, 40);
	assert_int_equal(p.columns[3].ndomain, 2);
	assert_string_equal(p.columns[3].domain[0], "Good");
	assert_int_equal(p.columns[4].type, SR_TYPE_FLOAT64);
	assert_true(p.columns[4].min == 0 && p.columns[4].max == 4.39);
	assert_int_equal(p.columns[5].type, SR_TYPE_DATE);
	assert_int_equal(p.columns[6].type, SR_TYPE_BOOL);
	/* The undeclared NA makes "mixed" a string, and is counted. */
	assert_int_equal(p.columns[8].type, SR_TYPE_STRING);
	assert_int_equal(p.columns[8].usual_tokens, 1);
	sr_profile_release(&p);
	/* Declared, NA is NULL: "mixed" is an integer column. */
	assert_int_equal(sr_profile_csv(path, NULL, nulls, 1, &p, &err), SR_OK);
	assert_int_equal(p.columns[8].type, SR_TYPE_INT64);
	assert_int_equal(p.columns[8].nulls, 1);

	assert_int_equal(sr_suggest_policy(&p, nulls, 1, &doc, &err), SR_OK);
	cols = json_object_get(doc, "columns");
#define CLASS(name) json_string_value(json_object_get(json_object_get(cols, name), "class"))
	assert_string_equal(CLASS("ref"), "id");        /* unique in every row */
	assert_string_equal(CLASS("contact"), "id");    /* emails */
	assert_string_equal(CLASS("phone"), "id");      /* the name, and phones */
	assert_string_equal(CLASS("cut"), "qi");        /* few values */
	assert_string_equal(CLASS("carat"), "sa");      /* a number */
	assert_string_equal(CLASS("day"), "qi");        /* the word "day"? no: a date */
	assert_string_equal(CLASS("vip"), "qi");        /* a boolean */
	assert_string_equal(CLASS("note"), "qi");       /* two values, repeated */
	c = json_object_get(cols, "carat");
	assert_string_equal(json_string_value(json_object_get(c, "type")), "float64");
	assert_true(json_number_value(json_array_get(json_object_get(c, "bounds"), 0)) == 0);
	assert_true(json_number_value(json_array_get(json_object_get(c, "bounds"), 1)) == 4.4);
	c = json_object_get(cols, "cut");
	assert_int_equal(json_array_size(json_object_get(c, "domain")), 2);
	assert_null(json_object_get(json_object_get(cols, "ref"), "bounds"));
	assert_int_equal(json_integer_value(json_object_get(doc, "min_group_size")), 10);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "nulls"), 0)), "NA");
	assert_true(json_array_size(json_object_get(doc, "_review")) > 5);

	/* The parser refuses the draft until "_review" is gone; then the
	 * draft is a valid policy. */
	assert_int_equal(sr_json_dump(doc, 0, &out), SR_OK);
	sr_policy_init(&pol);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_parse(out.data, out.len, "draft.json", &pol, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "draft.json: _review: this policy is a draft"));
	assert_int_equal(json_object_del(doc, "_review"), 0);
	sr_buf_reset(&out);
	assert_int_equal(sr_json_dump(doc, 0, &out), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_policy_parse(out.data, out.len, "draft.json", &pol, &err), SR_OK);
	assert_int_equal(pol.ncolumns, 9);
	sr_policy_release(&pol);
	json_decref(doc);
	sr_profile_release(&p);
	sr_buf_release(&text);
	sr_buf_release(&out);
	sr_test_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_out),
		cmocka_unit_test(test_looks_like),
		cmocka_unit_test(test_class_by_name),
		cmocka_unit_test(test_profile_and_draft),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
