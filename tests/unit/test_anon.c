/*
 * test_anon.c - src/anon/: hierarchies (every form, the errors), the
 * search against a brute-force scan of the whole lattice for every model
 * and metric, the Adult-shaped 30,000-row table, edge cases, and every
 * release through the independent verifier tests/anon_verify.py (plus
 * mutated releases it must refuse).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "anon/anon.h"
#include "anon/hier.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "store/vec.h"
#include "../anon_adult.h"
#include "base/banned.h"

/* ---- helpers ---- */

static struct sr_anon_hier *hier(const char *json, const char *col, enum sr_type type)
{
	struct sr_anon_hier *h = NULL;
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_anon_hier_parse_text(json, strlen(json), col, type, &h, &err) != SR_OK)
		fail_msg("%s: %s", json, err.msg);
	return h;
}

static void hier_fails(const char *json, enum sr_type type, const char *expect)
{
	struct sr_anon_hier *h = NULL;
	struct sr_err err;

	sr_err_clear(&err);
	assert_int_not_equal(sr_anon_hier_parse_text(json, strlen(json), "col", type, &h, &err),
			     SR_OK);
	assert_null(h);
	if (!strstr(err.msg, expect))
		fail_msg("%s: message \"%s\" lacks \"%s\"", json, err.msg, expect);
}

static void vec_of(struct sr_vec *v, enum sr_type type, const char *const *cells, size_t n)
{
	sr_vec_init(v, type);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(cells[i] ? sr_vec_append_text(v, cells[i], strlen(cells[i])) :
				 sr_vec_append_null(v), SR_OK);
}

static void expect_label(const struct sr_anon_hier *h, const struct sr_vec *v, size_t row,
			 size_t level, const char *want)
{
	struct sr_buf out;
	struct sr_err err;
	int is_null;

	sr_buf_init(&out, 0);
	sr_err_clear(&err);
	assert_int_equal(sr_anon_hier_label(h, v, row, level, &out, &is_null, &err), SR_OK);
	if (want == NULL)
		assert_true(is_null);
	else if (is_null || strcmp(out.data, want) != 0)
		fail_msg("row %zu level %zu: got \"%s\"%s, expected \"%s\"", row, level,
			 out.data, is_null ? " (NULL)" : "", want);
	sr_buf_release(&out);
}

/* ---- hierarchies ---- */

static void test_hier_forms(void **state)
{
	static const char *const ages[] = { "37", "-3", NULL, "40" };
	static const char *const days[] = { "2020-03-17", "1999-12-31" };
	static const char *const cities[] = { "Hangzhou", "Ningbo", "Hz" };
	struct sr_vec age, day, city;
	struct sr_anon_hier *h;
	struct sr_err err;

	(void)state;
	vec_of(&age, SR_TYPE_INT64, ages, 4);
	vec_of(&day, SR_TYPE_DATE, days, 2);
	vec_of(&city, SR_TYPE_STRING, cities, 3);

	h = hier("{\"intervals\": [5, 10, 20]}", "age", SR_TYPE_INT64);
	assert_int_equal(sr_anon_hier_levels(h), 5);
	expect_label(h, &age, 0, 0, "37");
	expect_label(h, &age, 0, 1, "[35, 40)");
	expect_label(h, &age, 0, 2, "[30, 40)");
	expect_label(h, &age, 0, 3, "[20, 40)");
	expect_label(h, &age, 0, 4, "*");
	expect_label(h, &age, 1, 1, "[-5, 0)");
	expect_label(h, &age, 2, 1, NULL);      /* NULL stays NULL below the top */
	expect_label(h, &age, 2, 4, "*");
	sr_err_clear(&err);
	assert_int_equal(sr_anon_hier_check(h, &age, &err), SR_OK);
	sr_anon_hier_free(h);

	h = hier("{\"intervals\": [4, 8], \"origin\": 2}", "age", SR_TYPE_INT64);
	expect_label(h, &age, 0, 1, "[34, 38)");
	expect_label(h, &age, 3, 2, "[34, 42)");
	sr_anon_hier_free(h);

	h = hier("{\"cuts\": [[18, 30, 50, 65], [30, 65]]}", "age", SR_TYPE_INT64);
	assert_int_equal(sr_anon_hier_levels(h), 4);
	expect_label(h, &age, 0, 1, "[30, 50)");
	expect_label(h, &age, 0, 2, "[30, 65)");
	expect_label(h, &age, 1, 1, "[-inf, 18)");
	sr_anon_hier_free(h);

	h = hier("{\"date\": [\"month\", \"quarter\", \"year\"]}", "day", SR_TYPE_DATE);
	assert_int_equal(sr_anon_hier_levels(h), 5);
	expect_label(h, &day, 0, 0, "2020-03-17");
	expect_label(h, &day, 0, 1, "2020-03");
	expect_label(h, &day, 0, 2, "2020-Q1");
	expect_label(h, &day, 1, 2, "1999-Q4");
	expect_label(h, &day, 1, 3, "1999");
	sr_anon_hier_free(h);

	h = hier("{\"prefix\": [4, 2, 0]}", "city", SR_TYPE_STRING);
	assert_int_equal(sr_anon_hier_levels(h), 4);   /* 0 is the top */
	expect_label(h, &city, 0, 1, "Hang*");
	expect_label(h, &city, 0, 2, "Ha*");
	expect_label(h, &city, 2, 1, "Hz");      /* short values stay */
	expect_label(h, &city, 2, 3, "*");
	sr_anon_hier_free(h);

	h = hier("{\"hierarchy\": {\"Hangzhou\": [\"Zhejiang\", \"East\", \"*\"],"
		 " \"Ningbo\": [\"Zhejiang\", \"East\", \"*\"], \"Hz\": [\"Other\", \"East\", \"*\"]}}",
		 "city", SR_TYPE_STRING);
	assert_int_equal(sr_anon_hier_levels(h), 4);
	expect_label(h, &city, 1, 1, "Zhejiang");
	expect_label(h, &city, 2, 2, "East");
	sr_err_clear(&err);
	assert_int_equal(sr_anon_hier_check(h, &city, &err), SR_OK);
	sr_anon_hier_free(h);

	sr_vec_release(&age);
	sr_vec_release(&day);
	sr_vec_release(&city);
}

static void test_hier_errors(void **state)
{
	static const char *const cities[] = { "Hangzhou", "Wenzhou" };
	struct sr_vec city;
	struct sr_anon_hier *h;
	struct sr_err err;

	(void)state;
	hier_fails("{\"intervals\": [5, 7]}", SR_TYPE_INT64, "col: generalize: level 2: width 7 is not a multiple of 5");
	hier_fails("{\"intervals\": [5]}", SR_TYPE_STRING, "intervals need an int64 or float64 column");
	hier_fails("{\"intervals\": [0]}", SR_TYPE_INT64, "level 1: expected a positive width");
	hier_fails("{\"cuts\": [[10, 20], [15]]}", SR_TYPE_INT64, "level 2: cut 15 is not a cut of level 1");
	hier_fails("{\"cuts\": [[20, 10]]}", SR_TYPE_INT64, "increasing order");
	hier_fails("{\"date\": [\"year\", \"month\"]}", SR_TYPE_DATE, "level 2: month after a coarser unit");
	hier_fails("{\"prefix\": [2, 4]}", SR_TYPE_STRING, "level 2: prefix 4 is not shorter");
	hier_fails("{\"hierarchy\": {\"a\": [\"x\", \"*\"], \"b\": [\"x\", \"y\", \"*\"]}}",
		   SR_TYPE_STRING, "b: 3 levels, expected 2");
	hier_fails("{\"hierarchy\": {\"a\": [\"x\", \"E\"], \"b\": [\"x\", \"W\"]}}",
		   SR_TYPE_STRING, "level 1: 'x' is under both 'E' and 'W' at level 2");
	hier_fails("{\"intervals\": [5], \"prefix\": [1]}", SR_TYPE_INT64, "exactly one of");
	hier_fails("{\"intervals\": [5], \"bogus\": 1}", SR_TYPE_INT64, "col.generalize.bogus: unknown key");

	/* A hierarchy missing a value of the column: the column, level, value. */
	vec_of(&city, SR_TYPE_STRING, cities, 2);
	h = hier("{\"hierarchy\": {\"Hangzhou\": [\"Zhejiang\", \"*\"]}}", "city", SR_TYPE_STRING);
	sr_err_clear(&err);
	assert_int_equal(sr_anon_hier_check(h, &city, &err), SR_EINVAL);
	assert_string_equal(err.msg, "city: generalize: level 1: value 'Wenzhou' is not in the hierarchy");
	sr_anon_hier_free(h);
	sr_vec_release(&city);
}

/* ---- the verifier ---- */

struct spec {
	uint64_t k;
	double supp;
	int qi_mask;                 /* bit c: adult column c is a QI */
	int sa;                      /* adult column that is the SA, or -1 */
	struct sr_anon_sa_model model;
	enum sr_anon_metric metric;
	enum sr_anon_algorithm algorithm;
};

static const char *ldiv_name(enum sr_anon_ldiv l)
{
	return l == SR_ANON_LDIV_DISTINCT ? "distinct" : l == SR_ANON_LDIV_ENTROPY ? "entropy" :
	       l == SR_ANON_LDIV_RECURSIVE ? "recursive" : "none";
}

static char *spec_json(const struct adult *a, const struct spec *sp)
{
	struct sr_buf b;

	sr_buf_init(&b, 0);
	assert_int_equal(sr_buf_addf(&b, "{\"k\": %llu, \"max_suppression\": %.17g, \"algorithm\": \"%s\", \"qi\": {",
				     (unsigned long long)sp->k, sp->supp,
				     sp->algorithm == SR_ANON_MONDRIAN ? "mondrian" : "full-domain"), SR_OK);
	for (size_t c = 0, first = 1; c < ADULT_COLUMNS; c++) {
		if (!(sp->qi_mask & (1 << c)))
			continue;
		assert_int_equal(sr_buf_addf(&b, "%s\"%s\": {\"type\": \"%s\", \"generalize\": %s}",
					     first ? "" : ", ", adult_names[c],
					     sr_type_name(a->cols[c].type), a->hier_json[c]), SR_OK);
		first = 0;
	}
	assert_int_equal(sr_buf_addstr(&b, "}, \"sa\": {"), SR_OK);
	if (sp->sa >= 0)
		assert_int_equal(sr_buf_addf(&b, "\"%s\": {\"ldiv\": \"%s\", \"l\": %.17g, \"c\": %.17g, \"t\": %.17g, \"emd\": \"%s\"}",
					     adult_names[sp->sa], ldiv_name(sp->model.ldiv),
					     sp->model.l, sp->model.c, sp->model.t,
					     sp->model.emd == SR_ANON_EMD_ORDERED ||
					     (sp->model.emd == SR_ANON_EMD_AUTO &&
					      a->cols[sp->sa].type != SR_TYPE_STRING) ? "ordered" : "equal"),
				 SR_OK);
	assert_int_equal(sr_buf_addstr(&b, "}}"), SR_OK);
	return sr_buf_detach(&b, NULL);
}

/* Write spec, release and report to dir and run the verifier on them. */
static int verify_files(const char *dir)
{
	char *script = sr_test_source_path("tests/anon_verify.py");
	char cmd[4096];
	int status;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s/spec.json %s/release.csv %s/report.json%s",
		 script, dir, dir, dir, getenv("SR_ANON_VERBOSE") ? "" : " >/dev/null 2>&1");
	status = system(cmd);
	free(script);
	assert_true(status != -1 && WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void write_release(const char *dir, const char *spec, const struct sr_anon_release *rel)
{
	struct sr_buf csv, report;
	json_t *rep = NULL;
	char path[1024];

	sr_buf_init(&csv, 0);
	sr_buf_init(&report, 0);
	assert_int_equal(sr_anon_release_csv(rel, &csv), SR_OK);
	assert_int_equal(sr_anon_report_json(rel, &rep), SR_OK);
	assert_int_equal(sr_json_dump(rep, 1, &report), SR_OK);
	snprintf(path, sizeof(path), "%s/spec.json", dir);
	sr_test_write_file(path, spec, strlen(spec));
	snprintf(path, sizeof(path), "%s/release.csv", dir);
	sr_test_write_file(path, csv.data, csv.len);
	snprintf(path, sizeof(path), "%s/report.json", dir);
	sr_test_write_file(path, report.data, report.len);
	json_decref(rep);
	sr_buf_release(&csv);
	sr_buf_release(&report);
}

static void verify_release(const struct adult *a, const struct spec *sp,
			   const struct sr_anon_release *rel)
{
	char *dir = sr_test_tmpdir();
	char *spec = spec_json(a, sp);

	write_release(dir, spec, rel);
	if (verify_files(dir) != 0) {
		setenv("SR_ANON_VERBOSE", "1", 1);
		verify_files(dir);
		fail_msg("the verifier refused the release (k=%llu)", (unsigned long long)sp->k);
	}
	sr_free(spec);
	sr_test_tmpdir_free(dir);
}

/* ---- running the library on the Adult shape ---- */

static int run(const struct adult *a, const struct spec *sp, int brute,
	       struct sr_anon_release *rel, struct sr_err *err)
{
	struct sr_anon_column cols[ADULT_COLUMNS];
	struct sr_anon_params params = { .k = sp->k, .max_suppression = sp->supp,
					 .metric = sp->metric, .brute_force = brute,
					 .algorithm = sp->algorithm };
	size_t n = 0;

	for (size_t c = 0; c < ADULT_COLUMNS; c++) {
		int qi = (sp->qi_mask >> c) & 1;

		if (!qi && (int)c != sp->sa)
			continue;
		memset(&cols[n], 0, sizeof(cols[n]));
		cols[n].name = adult_names[c];
		cols[n].values = &a->cols[c];
		cols[n].role = qi ? SR_ANON_QI : SR_ANON_SA;
		cols[n].hier = a->hier[c];
		if ((int)c == sp->sa)
			cols[n].model = sp->model;
		n++;
	}
	sr_anon_release_init(rel);
	sr_err_clear(err);
	return sr_anon_run(cols, n, &params, rel, err);
}

#define ALL_QIS 0xFF    /* columns 0-7 */
#define NO_T { SR_ANON_LDIV_NONE, 0, 0, 0, SR_ANON_EMD_AUTO }

static void print_levels(const char *what, const struct sr_anon_report *r)
{
	print_message("%s levels", what);
	for (size_t q = 0; q < r->qis; q++)
		print_message(" %zu", r->levels[q]);
	print_message(" loss %.6f suppressed %llu classes %llu evaluated %llu/%llu\n",
		      r->loss, (unsigned long long)r->suppressed,
		      (unsigned long long)r->classes, (unsigned long long)r->nodes_evaluated,
		      (unsigned long long)r->lattice_nodes);
}

/* The search and the brute force agree on the node, Loss, suppression and
 * classes; the release passes the verifier. */
static void agree(const struct adult *a, const struct spec *sp)
{
	struct sr_anon_release fast, brute;
	struct sr_err err;
	int rc_fast = run(a, sp, 0, &fast, &err);
	char fast_msg[SR_ERR_MSG_MAX];
	int rc_brute;

	snprintf(fast_msg, sizeof(fast_msg), "%s", err.msg);
	rc_brute = run(a, sp, 1, &brute, &err);
	if (rc_fast != rc_brute)
		fail_msg("search %d (%s), brute force %d (%s)", rc_fast, fast_msg, rc_brute, err.msg);
	if (rc_fast == SR_OK) {
		if (getenv("SR_ANON_VERBOSE")) {
			print_levels("search", &fast.report);
			print_levels("brute ", &brute.report);
		}
		for (size_t q = 0; q < fast.report.qis; q++)
			if (fast.report.levels[q] != brute.report.levels[q]) {
				print_levels("search", &fast.report);
				print_levels("brute ", &brute.report);
				fail_msg("k=%llu: the search and the brute force chose other nodes",
					 (unsigned long long)sp->k);
			}
		assert_true(fast.report.loss == brute.report.loss);
		assert_int_equal(fast.report.suppressed, brute.report.suppressed);
		assert_int_equal(fast.report.classes, brute.report.classes);
		assert_true(fast.report.nodes_evaluated <= brute.report.nodes_evaluated);
		verify_release(a, sp, &fast);
	}
	sr_anon_release_release(&fast);
	sr_anon_release_release(&brute);
}

static void test_search_vs_brute_force(void **state)
{
	struct sr_anon_sa_model none = NO_T;
	struct sr_anon_sa_model distinct = { SR_ANON_LDIV_DISTINCT, 3, 0, 0, SR_ANON_EMD_AUTO };
	struct sr_anon_sa_model entropy = { SR_ANON_LDIV_ENTROPY, 2.5, 0, 0, SR_ANON_EMD_AUTO };
	struct sr_anon_sa_model recursive = { SR_ANON_LDIV_RECURSIVE, 3, 4, 0, SR_ANON_EMD_AUTO };
	struct sr_anon_sa_model tclose = { SR_ANON_LDIV_NONE, 0, 0, 0.3, SR_ANON_EMD_EQUAL };
	struct sr_anon_sa_model both = { SR_ANON_LDIV_DISTINCT, 2, 0, 0.4, SR_ANON_EMD_EQUAL };
	struct sr_anon_sa_model ordered = { SR_ANON_LDIV_NONE, 0, 0, 0.2, SR_ANON_EMD_AUTO };
	const struct spec cases[] = {
		{ 2, 0, ALL_QIS, -1, none, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 3, 0, ALL_QIS, -1, none, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 5, 0.05, ALL_QIS, -1, none, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 10, 0.02, ALL_QIS, -1, none, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 5, 0.05, ALL_QIS, -1, none, SR_ANON_METRIC_DISCERNIBILITY, SR_ANON_FULL_DOMAIN },
		{ 5, 0.05, ALL_QIS, -1, none, SR_ANON_METRIC_AECS, SR_ANON_FULL_DOMAIN },
		{ 2, 0.05, ALL_QIS, ADULT_OCCUPATION, distinct, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 2, 0.10, ALL_QIS, ADULT_OCCUPATION, entropy, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 3, 0.05, ALL_QIS, ADULT_OCCUPATION, recursive, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 3, 0.05, ALL_QIS, ADULT_OCCUPATION, tclose, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 2, 0.08, ALL_QIS, ADULT_OCCUPATION, both, SR_ANON_METRIC_DISCERNIBILITY, SR_ANON_FULL_DOMAIN },
		/* age as the SA: ordered distance; the other seven are QIs */
		{ 3, 0.05, ALL_QIS & ~1, 0, ordered, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN },
		{ 2, 0.05, ALL_QIS & ~1, 0, recursive, SR_ANON_METRIC_AECS, SR_ANON_FULL_DOMAIN },
	};
	const size_t sizes[] = { 400, 1500 };
	struct adult a;
	struct sr_err err;

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		assert_int_equal(adult_make(&a, sizes[s], 42 + s, &err), SR_OK);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			agree(&a, &cases[i]);
		adult_free(&a);
	}
}

/* The 30,000-row shape: k = 5 at 5%, checked by the verifier, and mutated
 * releases the verifier must refuse. */
static void test_adult_and_mutations(void **state)
{
	struct spec sp = { 5, 0.05, ALL_QIS, -1, NO_T, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN };
	struct sr_anon_release rel;
	struct sr_err err;
	struct adult a;
	char *dir, *spec, path[1024], *csv;
	size_t len;

	(void)state;
	assert_int_equal(adult_make(&a, 30000, 7, &err), SR_OK);
	if (run(&a, &sp, 0, &rel, &err) != SR_OK)
		fail_msg("%s", err.msg);
	if (getenv("SR_ANON_VERBOSE"))
		print_levels("adult", &rel.report);
	assert_true(rel.report.class_min >= 5);
	assert_true(rel.report.suppressed <= 1500);
	assert_true(rel.report.loss > 0 && rel.report.loss < 1);
	assert_true(rel.report.risk_max <= 0.2);
	assert_true(rel.report.risk_over_20 == 0);
	assert_true(rel.report.risk_avg <= rel.report.risk_max);

	dir = sr_test_tmpdir();
	spec = spec_json(&a, &sp);
	write_release(dir, spec, &rel);
	assert_int_equal(verify_files(dir), 0);
	snprintf(path, sizeof(path), "%s/release.csv", dir);
	csv = sr_test_read_file(path, &len);
	{
		/* Drop a row: the last line. */
		size_t cut = len - 1;

		while (cut > 0 && csv[cut - 1] != '\n')
			cut--;
		sr_test_write_file(path, csv, cut);
		assert_int_equal(verify_files(dir), 1);
	}
	{
		/* Merge two classes: give the first class's rows the QIs of the
		 * next class (rows are grouped by class). */
		char *line2 = strchr(csv, '\n') + 1, *end2 = strchr(line2, '\n');
		struct sr_buf out;
		char *p = end2 + 1, *next_class = NULL;
		size_t first_len = (size_t)(end2 - line2);
		size_t qi_len;
		const char *last_comma = line2 + first_len;

		/* QIs are the first 8 fields; the SA is absent here. */
		while (last_comma > line2 && *last_comma != ',')
			last_comma--;
		qi_len = first_len;
		(void)qi_len;
		while (*p) {
			char *e = strchr(p, '\n');

			if ((size_t)(e - p) != first_len || memcmp(p, line2, first_len) != 0) {
				next_class = p;
				break;
			}
			p = e + 1;
		}
		assert_non_null(next_class);
		sr_buf_init(&out, 0);
		assert_int_equal(sr_buf_add(&out, csv, (size_t)(line2 - csv)), SR_OK);
		for (char *q = line2; q < next_class; q = strchr(q, '\n') + 1)
			assert_int_equal(sr_buf_add(&out, next_class,
						    (size_t)(strchr(next_class, '\n') + 1 - next_class)),
					 SR_OK);
		assert_int_equal(sr_buf_addstr(&out, next_class), SR_OK);
		sr_test_write_file(path, out.data, out.len);
		assert_int_equal(verify_files(dir), 1);
		/* Generalize one cell of the first row further than its column:
		 * no longer full-domain (age is below its top at this optimum). */
		assert_true(rel.report.levels[0] < rel.report.heights[0] - 1);
		sr_buf_reset(&out);
		assert_int_equal(sr_buf_add(&out, csv, (size_t)(line2 - csv)), SR_OK);
		assert_int_equal(sr_buf_addstr(&out, "\"*\""), SR_OK);
		assert_int_equal(sr_buf_addstr(&out, strchr(line2, ',')), SR_OK);
		sr_test_write_file(path, out.data, out.len);
		assert_int_equal(verify_files(dir), 1);
		sr_buf_release(&out);
	}
	/* The untouched release passes again. */
	sr_test_write_file(path, csv, len);
	assert_int_equal(verify_files(dir), 0);
	free(csv);
	sr_free(spec);
	sr_test_tmpdir_free(dir);
	sr_anon_release_release(&rel);
	adult_free(&a);
}

/* A class that is not l-diverse: the verifier refuses a release whose SA
 * values were rewritten to one value in a class. */
static void test_verifier_l_and_t(void **state)
{
	struct sr_anon_sa_model m = { SR_ANON_LDIV_DISTINCT, 3, 0, 0.35, SR_ANON_EMD_EQUAL };
	struct spec sp = { 4, 0.05, ALL_QIS, ADULT_OCCUPATION, m, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN };
	struct sr_anon_release rel;
	struct sr_err err;
	struct adult a;
	char *dir, *spec;

	(void)state;
	assert_int_equal(adult_make(&a, 3000, 11, &err), SR_OK);
	if (run(&a, &sp, 0, &rel, &err) != SR_OK)
		fail_msg("%s", err.msg);
	dir = sr_test_tmpdir();
	spec = spec_json(&a, &sp);
	write_release(dir, spec, &rel);
	assert_int_equal(verify_files(dir), 0);
	/* Every SA value of the first class set to that of its first row. */
	{
		struct sr_vec *occ = &rel.cols[rel.columns - 1];
		const uint32_t *cls_end;
		size_t first_end = 1;

		(void)cls_end;
		while (first_end < occ->rows) {
			int same = 1;

			for (size_t c = 0; c + 1 < rel.columns && same; c++) {
				struct sr_vec *v = &rel.cols[c];
				size_t l0 = v->offsets[1] - v->offsets[0];
				size_t l1 = v->offsets[first_end + 1] - v->offsets[first_end];

				same = l0 == l1 && memcmp(v->bytes.data, v->bytes.data + v->offsets[first_end], l0) == 0;
			}
			if (!same)
				break;
			first_end++;
		}
		{
			struct sr_vec copy;

			sr_vec_init(&copy, SR_TYPE_STRING);
			for (size_t r = 0; r < occ->rows; r++)
				assert_int_equal(sr_vec_append_from(&copy, occ, r < first_end ? 0 : r), SR_OK);
			sr_vec_release(occ);
			*occ = copy;
		}
	}
	write_release(dir, spec, &rel);
	assert_int_equal(verify_files(dir), 1);
	sr_free(spec);
	sr_test_tmpdir_free(dir);
	sr_anon_release_release(&rel);
	adult_free(&a);
}

/* ---- edge cases ---- */

static void test_edges(void **state)
{
	struct spec sp = { 500, 0, ALL_QIS, -1, NO_T, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN };
	struct sr_anon_release rel;
	struct sr_err err;
	struct adult a;

	(void)state;
	assert_int_equal(adult_make(&a, 200, 3, &err), SR_OK);
	/* k above the rows, no suppression: nothing satisfies it. */
	assert_int_equal(run(&a, &sp, 0, &rel, &err), SR_EPOLICY);
	assert_non_null(strstr(err.msg, "no generalization satisfies"));
	sr_anon_release_release(&rel);
	assert_int_equal(run(&a, &sp, 1, &rel, &err), SR_EPOLICY);
	sr_anon_release_release(&rel);
	/* ... with every row allowed to go: all suppressed, at the top node
	 * (the fewest levels among equal Loss 1 is the bottom). */
	sp.supp = 1;
	assert_int_equal(run(&a, &sp, 0, &rel, &err), SR_OK);
	assert_int_equal(rel.report.suppressed, 200);
	assert_int_equal(rel.report.rows_out, 0);
	assert_int_equal(rel.report.classes, 0);
	assert_true(rel.report.loss == 1);
	for (size_t q = 0; q < rel.report.qis; q++)
		assert_int_equal(rel.report.levels[q], 0);
	verify_release(&a, &sp, &rel);
	sr_anon_release_release(&rel);
	/* k = rows: one class, everything at the top. */
	sp.k = 200;
	sp.supp = 0;
	assert_int_equal(run(&a, &sp, 0, &rel, &err), SR_OK);
	assert_int_equal(rel.report.classes, 1);
	assert_int_equal(rel.report.class_min, 200);
	verify_release(&a, &sp, &rel);
	sr_anon_release_release(&rel);
	/* k = 1: the bottom, nothing generalized. */
	sp.k = 1;
	assert_int_equal(run(&a, &sp, 0, &rel, &err), SR_OK);
	assert_true(rel.report.loss == 0);
	assert_int_equal(rel.report.suppressed, 0);
	verify_release(&a, &sp, &rel);
	sr_anon_release_release(&rel);
	adult_free(&a);
}

/* NULLs in a QI generalize like a value: a class of their own below the
 * top, merged at "*". */
static void test_nulls(void **state)
{
	static const char *const ages[] = { "31", "32", NULL, NULL, "38", "36", NULL, "33" };
	static const char *const sexes[] = { "M", "M", "M", "M", "M", "M", "M", "M" };
	struct sr_vec age, sex;
	struct sr_anon_hier *ha = hier("{\"intervals\": [10]}", "age", SR_TYPE_INT64);
	struct sr_anon_hier *hs = hier("{\"hierarchy\": {\"M\": [\"*\"], \"F\": [\"*\"]}}", "sex",
				       SR_TYPE_STRING);
	struct sr_anon_column cols[2];
	struct sr_anon_params params = { .k = 3 };
	struct sr_anon_release rel;
	struct sr_err err;
	size_t nulls = 0;

	(void)state;
	vec_of(&age, SR_TYPE_INT64, ages, 8);
	vec_of(&sex, SR_TYPE_STRING, sexes, 8);
	memset(cols, 0, sizeof(cols));
	cols[0] = (struct sr_anon_column){ "age", SR_ANON_QI, &age, ha, NO_T };
	cols[1] = (struct sr_anon_column){ "sex", SR_ANON_QI, &sex, hs, NO_T };
	sr_anon_release_init(&rel);
	sr_err_clear(&err);
	assert_int_equal(sr_anon_run(cols, 2, &params, &rel, &err), SR_OK);
	/* age to [30, 40) (5 rows) with NULL (3 rows) apart; sex kept. */
	assert_int_equal(rel.report.levels[0], 1);
	assert_int_equal(rel.report.levels[1], 0);
	assert_int_equal(rel.report.classes, 2);
	for (size_t r = 0; r < rel.cols[0].rows; r++)
		nulls += sr_vec_is_null(&rel.cols[0], r);
	assert_int_equal(nulls, 3);
	sr_anon_release_release(&rel);

	/* A hierarchy missing a value: the error names column, level, value. */
	sr_anon_hier_free(hs);
	hs = hier("{\"hierarchy\": {\"F\": [\"*\"]}}", "sex", SR_TYPE_STRING);
	cols[1].hier = hs;
	sr_anon_release_init(&rel);
	sr_err_clear(&err);
	assert_int_equal(sr_anon_run(cols, 2, &params, &rel, &err), SR_EINVAL);
	assert_string_equal(err.msg, "sex: generalize: level 1: value 'M' is not in the hierarchy");
	sr_anon_release_release(&rel);
	sr_anon_hier_free(ha);
	sr_anon_hier_free(hs);
	sr_vec_release(&age);
	sr_vec_release(&sex);
}

/* Every allocation of a run made to fail in turn: a status and a message
 * each time, nothing leaked (ASan), until the run goes through. */
static void test_alloc_failures(void **state)
{
	struct sr_anon_sa_model m = { SR_ANON_LDIV_RECURSIVE, 2, 3, 0.5, SR_ANON_EMD_EQUAL };
	struct spec sp = { 2, 0.1, 0x13, ADULT_OCCUPATION, m, SR_ANON_METRIC_LOSS, SR_ANON_FULL_DOMAIN };
	struct sr_anon_release rel;
	struct sr_err err;
	struct adult a;
	unsigned long n;

	(void)state;
	assert_int_equal(adult_make(&a, 120, 5, &err), SR_OK);
	for (n = 1; n < 100000; n++) {
		struct sr_anon_hier *h = NULL;
		json_t *rep = NULL;
		struct sr_buf csv;
		int rc;

		sr_buf_init(&csv, 0);
		sr_alloc_fail_at(n, 0);
		sr_err_clear(&err);
		rc = sr_anon_hier_parse_text(a.hier_json[0], strlen(a.hier_json[0]), "age",
					     SR_TYPE_INT64, &h, &err);
		if (rc == SR_OK)
			rc = run(&a, &sp, 0, &rel, &err);
		else
			sr_anon_release_init(&rel);
		if (rc == SR_OK)
			rc = sr_anon_release_csv(&rel, &csv);
		if (rc == SR_OK)
			rc = sr_anon_report_json(&rel, &rep);
		sr_alloc_fail_at(0, 0);
		json_decref(rep);
		sr_buf_release(&csv);
		sr_anon_release_release(&rel);
		sr_anon_hier_free(h);
		if (rc == SR_OK && !sr_alloc_failed())
			break;
		if (rc != SR_OK && rc != SR_ENOMEM)
			fail_msg("allocation %lu: status %d (%s), expected SR_ENOMEM", n, rc, err.msg);
	}
	assert_true(n > 20);
	adult_free(&a);
}

/* Mondrian: every class >= k and the models hold (verifier), finer than
 * the full-domain optimum (lower Loss), and an NCP in the report. */
static void test_mondrian(void **state)
{
	struct sr_anon_sa_model none = NO_T;
	struct sr_anon_sa_model lt = { SR_ANON_LDIV_DISTINCT, 3, 0, 0.4, SR_ANON_EMD_EQUAL };
	struct sr_anon_sa_model ordered = { SR_ANON_LDIV_NONE, 0, 0, 0.25, SR_ANON_EMD_AUTO };
	const struct spec cases[] = {
		{ 5, 0, ALL_QIS, -1, none, SR_ANON_METRIC_LOSS, SR_ANON_MONDRIAN },
		{ 10, 0, ALL_QIS, -1, none, SR_ANON_METRIC_LOSS, SR_ANON_MONDRIAN },
		{ 4, 0, ALL_QIS, ADULT_OCCUPATION, lt, SR_ANON_METRIC_LOSS, SR_ANON_MONDRIAN },
		{ 3, 0, ALL_QIS & ~1, 0, ordered, SR_ANON_METRIC_LOSS, SR_ANON_MONDRIAN },
	};
	struct sr_anon_release rel, full;
	struct sr_err err;
	struct adult a;

	(void)state;
	assert_int_equal(adult_make(&a, 3000, 99, &err), SR_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec fd = cases[i];

		if (run(&a, &cases[i], 0, &rel, &err) != SR_OK)
			fail_msg("case %zu: %s", i, err.msg);
		assert_true(rel.report.mondrian);
		assert_int_equal(rel.report.suppressed, 0);
		assert_true(rel.report.class_min >= cases[i].k);
		assert_true(rel.report.ncp > 0 && rel.report.ncp < 1);
		verify_release(&a, &cases[i], &rel);
		fd.algorithm = SR_ANON_FULL_DOMAIN;
		assert_int_equal(run(&a, &fd, 0, &full, &err), SR_OK);
		if (getenv("SR_ANON_VERBOSE"))
			print_message("mondrian case %zu: loss %.4f ncp %.4f classes %llu; full-domain loss %.4f classes %llu\n",
				      i, rel.report.loss, rel.report.ncp,
				      (unsigned long long)rel.report.classes, full.report.loss,
				      (unsigned long long)full.report.classes);
		assert_true(rel.report.loss < full.report.loss);
		sr_anon_release_release(&full);
		sr_anon_release_release(&rel);
	}
	adult_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hier_forms),
		cmocka_unit_test(test_hier_errors),
		cmocka_unit_test(test_nulls),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_search_vs_brute_force),
		cmocka_unit_test(test_verifier_l_and_t),
		cmocka_unit_test(test_adult_and_mutations),
		cmocka_unit_test(test_mondrian),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
