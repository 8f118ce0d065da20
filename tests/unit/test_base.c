/*
 * test_base.c - src/base: errors, buffers, the allocation wrapper, files,
 * JSON helpers and the thread pool; and src/store/value.c: strict value
 * parsing, canonical formatting, UTF-8 and type inference.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/pool.h"
#include "store/value.h"

static void test_err(void **state)
{
	struct sr_err err;
	char longname[600];

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_fail(&err, SR_EINVAL, "line %d: bad", 3), SR_EINVAL);
	assert_string_equal(err.msg, "line 3: bad");
	/* The first, innermost failure wins. */
	assert_int_equal(sr_fail(&err, SR_EIO, "outer"), SR_EIO);
	assert_string_equal(err.msg, "line 3: bad");
	assert_int_equal(err.code, SR_EINVAL);
	assert_int_equal(sr_failx(&err, SR_EIO, "replaced"), SR_EIO);
	assert_string_equal(err.msg, "replaced");
	assert_int_equal(sr_err_prefix(&err, "file %s", "x.csv"), SR_EIO);
	assert_string_equal(err.msg, "file x.csv: replaced");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sr_err_prefix(&err, "%s", longname), SR_EIO);
	assert_true(strlen(err.msg) < SR_ERR_MSG_MAX);
	assert_int_equal(sr_fail(NULL, SR_ENOMEM, "x"), SR_ENOMEM);
	for (int c = SR_OK; c >= SR_ETIMEOUT; c--)
		assert_string_not_equal(sr_strerror(c), "unknown status");
	assert_string_equal(sr_strerror(-999), "unknown status");
}

static void test_buf(void **state)
{
	struct sr_buf b;
	char *out;
	size_t len;

	(void)state;
	sr_buf_init(&b, 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sr_buf_addf(&b, "%d,", i), SR_OK);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
	assert_int_equal(sr_buf_add_u32le(&b, 0x01020304), SR_OK);
	assert_int_equal(sr_load_u32le(b.data + b.len - 4), 0x01020304);
	assert_int_equal(sr_buf_add_u64le(&b, 0x0102030405060708ull), SR_OK);
	assert_true(sr_load_u64le(b.data + b.len - 8) == 0x0102030405060708ull);
	out = sr_buf_detach(&b, &len);
	assert_true(len > 3000);
	assert_int_equal(b.len, 0);
	sr_free(out);
	out = sr_buf_detach(&b, &len);   /* empty buffer: fresh empty string */
	assert_non_null(out);
	assert_string_equal(out, "");
	assert_int_equal(len, 0);
	sr_free(out);

	/* The cap: growing past it fails and keeps the contents. */
	sr_buf_init(&b, 10);
	assert_int_equal(sr_buf_addstr(&b, "0123456789"), SR_OK);
	assert_int_equal(sr_buf_addch(&b, 'x'), SR_ELIMIT);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(sr_buf_addf(&b, "%s", "more"), SR_ELIMIT);
	assert_int_equal(b.len, 10);
	sr_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(sr_buf_addstr(&b, "secret"), SR_OK);
	sr_buf_wipe(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 10);
	sr_buf_release(&b);
}

static void test_alloc_hook(void **state)
{
	void *p, *q;

	(void)state;
	sr_alloc_fail_at(2, 0);
	p = sr_malloc(8);
	assert_non_null(p);
	assert_false(sr_alloc_failed());
	assert_null(sr_malloc(8));
	assert_true(sr_alloc_failed());
	q = sr_malloc(8);   /* not sticky: later ones work */
	assert_non_null(q);
	sr_free(p);
	sr_free(q);
	sr_alloc_fail_at(1, 1);
	assert_null(sr_malloc(1));
	assert_null(sr_calloc(1, 1));
	assert_null(sr_strdup("x"));
	sr_alloc_fail_at(0, 0);
	p = sr_realloc(NULL, 4);
	assert_non_null(p);
	sr_free(p);
	sr_free(NULL);
	{
		unsigned long before = sr_alloc_thread_failures();
		sr_alloc_fail_at(1, 0);
		assert_null(sr_malloc(1));
		assert_int_equal(sr_alloc_thread_failures(), before + 1);
	}
}

static void test_files(void **state)
{
	char *dir = sr_test_tmpdir();
	char path[512], nested[512];
	struct sr_buf b;
	struct sr_err err;
	struct stat st;

	(void)state;
	sr_buf_init(&b, 0);
	sr_err_clear(&err);
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	assert_int_equal(sr_file_write_atomic(path, "one", 3, 0600, &err), SR_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sr_file_write_atomic(path, "two!", 4, 0600, &err), SR_OK);
	assert_int_equal(sr_file_read_all(path, 0, &b, &err), SR_OK);
	assert_string_equal(b.data, "two!");
	sr_buf_reset(&b);
	assert_int_equal(sr_file_read_all(path, 3, &b, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "larger than the limit of 3 bytes"));
	sr_err_clear(&err);
	snprintf(nested, sizeof(nested), "%s/missing/f.txt", dir);
	assert_int_equal(sr_file_write_atomic(nested, "x", 1, 0600, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "missing"));
	sr_err_clear(&err);
	sr_buf_reset(&b);
	assert_int_equal(sr_file_read_all(nested, 0, &b, &err), SR_ENOTFOUND);
	/* The original is untouched and no temp file is left. */
	sr_buf_reset(&b);
	assert_int_equal(sr_file_read_all(path, 0, &b, &err), SR_OK);
	assert_string_equal(b.data, "two!");
	snprintf(nested, sizeof(nested), "%s/a/b/c", dir);
	assert_int_equal(sr_mkdir_p(nested, 0700, &err), SR_OK);
	assert_true(sr_path_exists(nested));
	assert_int_equal(sr_mkdir_p(nested, 0700, &err), SR_OK);
	snprintf(nested, sizeof(nested), "%s/a", dir);
	assert_int_equal(sr_rm_rf(nested, &err), SR_OK);
	assert_false(sr_path_exists(nested));
	assert_int_equal(sr_rm_rf(nested, &err), SR_OK);
	sr_buf_release(&b);
	sr_test_tmpdir_free(dir);
}

static void test_json(void **state)
{
	static const char *const keys[] = { "a", "b", NULL };
	struct sr_buf b;
	struct sr_err err;
	json_t *v;
	const char *s = NULL;
	int64_t i = 0;
	int flag = 0;
	char deep[200];

	(void)state;
	sr_buf_init(&b, 0);
	sr_err_clear(&err);
	{
		static const char doc[] = "{\"b\": 1, \"a\": \"x\", \"c\": [true, null]}";
		assert_int_equal(sr_json_parse(doc, strlen(doc), "doc", &v, &err), SR_OK);
	}
	assert_int_equal(sr_json_canonical(v, &b, &err), SR_OK);
	assert_string_equal(b.data, "{\"a\":\"x\",\"b\":1,\"c\":[true,null]}");
	assert_int_equal(sr_json_check_keys(v, "top", keys, &err), SR_EINVAL);
	assert_string_equal(err.msg, "top.c: unknown key");
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_string(v, "top", "a", 1, &s, &err), SR_OK);
	assert_string_equal(s, "x");
	assert_int_equal(sr_json_get_int(v, "top", "b", 1, &i, &err), SR_OK);
	assert_int_equal(i, 1);
	assert_int_equal(sr_json_get_int(v, "top", "a", 1, &i, &err), SR_EINVAL);
	assert_string_equal(err.msg, "top.a: expected an integer");
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_bool(v, "", "zz", 1, &flag, &err), SR_EINVAL);
	assert_string_equal(err.msg, "zz: required key is missing");
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_bool(v, "", "zz", 0, &flag, &err), SR_OK);
	json_decref(v);

	assert_int_equal(sr_json_parse("{\"a\":1,\"a\":2}", 13, "dup", &v, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "dup: line 1"));
	sr_err_clear(&err);
	assert_int_equal(sr_json_parse("{\n\"a\": tru}", 11, "bad", &v, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "bad: line 2"));
	sr_err_clear(&err);
	memset(deep, '[', SR_JSON_DEPTH_MAX + 1);
	memset(deep + SR_JSON_DEPTH_MAX + 1, ']', SR_JSON_DEPTH_MAX + 1);
	assert_int_equal(sr_json_parse(deep, 2 * (SR_JSON_DEPTH_MAX + 1), "deep", &v, &err),
			 SR_ELIMIT);
	sr_err_clear(&err);
	assert_int_equal(sr_json_parse(deep + 1, 2 * SR_JSON_DEPTH_MAX, "ok", &v, &err), SR_OK);
	assert_int_equal(sr_json_depth(v), SR_JSON_DEPTH_MAX);
	json_decref(v);
	assert_int_equal(sr_json_parse("[1.5]", 5, "real", &v, &err), SR_OK);
	sr_buf_reset(&b);
	assert_int_equal(sr_json_canonical(v, &b, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "real numbers are not allowed"));
	json_decref(v);
	sr_buf_release(&b);
}

static atomic_long pool_sum;

static int add_task(void *arg, struct sr_err *err)
{
	long v = (long)(intptr_t)arg;

	if (v == 777)
		return sr_fail(err, SR_EIO, "task %ld failed", v);
	atomic_fetch_add(&pool_sum, v);
	return SR_OK;
}

static int for_body(void *ctx, size_t i, struct sr_err *err)
{
	long *cells = ctx;

	if (i % 1000 == 999 && cells[0] == -1)
		return sr_fail(err, SR_EINVAL, "index %zu failed", i);
	cells[i + 1] = (long)i * 2;
	return SR_OK;
}

static void test_pool(void **state)
{
	struct sr_pool *pool, *inline_pool;
	struct sr_pool_group group;
	struct sr_err err;
	long *cells = calloc(10001, sizeof(long));
	long total = 0;

	(void)state;
	assert_non_null(cells);
	assert_int_equal(sr_pool_new(3, &pool), SR_OK);
	assert_int_equal(sr_pool_threads(pool), 3);
	sr_pool_group_init(&group);
	atomic_store(&pool_sum, 0);
	for (long i = 1; i <= 500; i++)
		assert_int_equal(sr_pool_submit(pool, &group, add_task, (void *)(intptr_t)i), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_OK);
	assert_int_equal(atomic_load(&pool_sum), 500 * 501 / 2);
	assert_int_equal(sr_pool_submit(pool, &group, add_task, (void *)(intptr_t)777), SR_OK);
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_EIO);
	assert_string_equal(err.msg, "task 777 failed");
	sr_pool_group_release(&group);

	sr_err_clear(&err);
	assert_int_equal(sr_pool_run(pool, 10000, for_body, cells, &err), SR_OK);
	for (size_t i = 0; i < 10000; i++)
		total += cells[i + 1];
	assert_int_equal(total, 10000L * 9999);
	/* The lowest failing index is reported, whatever the timing. */
	cells[0] = -1;
	for (int round = 0; round < 20; round++) {
		sr_err_clear(&err);
		assert_int_equal(sr_pool_run(pool, 10000, for_body, cells, &err), SR_EINVAL);
		assert_string_equal(err.msg, "index 999 failed");
	}
	assert_int_equal(sr_pool_run(NULL, 10, for_body, cells, &err), SR_OK);
	sr_pool_free(pool);

	/* A pool without workers runs tasks inline. */
	assert_int_equal(sr_pool_new(1, &inline_pool), SR_OK);
	sr_pool_free(inline_pool);
	sr_pool_free(NULL);
	free(cells);
}

static void test_value_parse(void **state)
{
	int64_t i;
	double d;
	int b;
	int32_t day;
	struct sr_buf out;
	enum sr_type t;

	(void)state;
	assert_int_equal(sr_value_parse_int64("9223372036854775807", 19, &i), SR_OK);
	assert_true(i == INT64_MAX);
	assert_int_equal(sr_value_parse_int64("-9223372036854775808", 20, &i), SR_OK);
	assert_true(i == INT64_MIN);
	assert_int_equal(sr_value_parse_int64("9223372036854775808", 19, &i), SR_EINVAL);
	assert_int_equal(sr_value_parse_int64("+5", 2, &i), SR_OK);
	assert_int_equal(i, 5);
	assert_int_equal(sr_value_parse_int64("-", 1, &i), SR_EINVAL);
	assert_int_equal(sr_value_parse_int64("", 0, &i), SR_EINVAL);
	assert_int_equal(sr_value_parse_int64(" 1", 2, &i), SR_EINVAL);
	assert_int_equal(sr_value_parse_int64("1.0", 3, &i), SR_EINVAL);
	assert_int_equal(sr_value_parse_float64("1e-6", 4, &d), SR_OK);
	assert_true(d == 1e-6);
	assert_int_equal(sr_value_parse_float64("-0.5", 4, &d), SR_OK);
	assert_true(d == -0.5);
	assert_int_equal(sr_value_parse_float64("inf", 3, &d), SR_EINVAL);
	assert_int_equal(sr_value_parse_float64("nan", 3, &d), SR_EINVAL);
	assert_int_equal(sr_value_parse_float64("0x10", 4, &d), SR_EINVAL);
	assert_int_equal(sr_value_parse_float64(" 1", 2, &d), SR_EINVAL);
	assert_int_equal(sr_value_parse_float64("1e999", 5, &d), SR_EINVAL);
	assert_int_equal(sr_value_parse_float64(".", 1, &d), SR_EINVAL);
	assert_int_equal(sr_value_parse_bool("TRUE", 4, &b), SR_OK);
	assert_int_equal(b, 1);
	assert_int_equal(sr_value_parse_bool("False", 5, &b), SR_OK);
	assert_int_equal(b, 0);
	assert_int_equal(sr_value_parse_bool("yes", 3, &b), SR_EINVAL);
	assert_int_equal(sr_value_parse_date("1970-01-01", 10, &day), SR_OK);
	assert_int_equal(day, 0);
	assert_int_equal(sr_value_parse_date("2024-02-29", 10, &day), SR_OK);
	assert_int_equal(sr_value_parse_date("2023-02-29", 10, &day), SR_EINVAL);
	assert_int_equal(sr_value_parse_date("1900-02-29", 10, &day), SR_EINVAL);
	assert_int_equal(sr_value_parse_date("2000-02-29", 10, &day), SR_OK);
	assert_int_equal(sr_value_parse_date("0000-01-01", 10, &day), SR_EINVAL);
	assert_int_equal(sr_value_parse_date("2020-1-01", 9, &day), SR_EINVAL);
	assert_int_equal(sr_value_parse_date("9999-12-31", 10, &day), SR_OK);
	assert_int_equal(sr_type_parse("float64", &t), SR_OK);
	assert_int_equal(t, SR_TYPE_FLOAT64);
	assert_int_equal(sr_type_parse("double", &t), SR_EINVAL);
	/* Every day from 0001 to 9999 in steps: format(parse(x)) == x. */
	sr_buf_init(&out, 0);
	for (int32_t dd = -719162; dd <= 2932896; dd += 37) {
		int32_t back;
		sr_buf_reset(&out);
		assert_int_equal(sr_value_format_date(&out, dd), SR_OK);
		assert_int_equal(sr_value_parse_date(out.data, out.len, &back), SR_OK);
		assert_int_equal(back, dd);
	}
	sr_buf_release(&out);
}

static void test_value_float_text(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0.1, "0.1" }, { 1e-6, "1e-06" }, { 123456789.125, "123456789.125" },
		{ -2.5, "-2.5" }, { 100, "100" }, { 0, "0" }, { 1e300, "1e+300" },
	};
	struct sr_buf out;
	uint64_t seed = 5;

	(void)state;
	sr_buf_init(&out, 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
		sr_buf_reset(&out);
		assert_int_equal(sr_value_format_float64(&out, cases[k].v), SR_OK);
		assert_string_equal(out.data, cases[k].text);
	}
	/* Shortest form reads back exactly; the parser's fast path agrees
	 * with strtod on random decimals. */
	for (int k = 0; k < 200000; k++) {
		uint64_t r = sr_test_rand(&seed);
		double v, back, ref;
		char text[64];
		int digits = 1 + (int)(r % 17), dot = (int)((r >> 8) % (digits + 1)), n = 0;
		memcpy(&v, &r, sizeof(v));
		if (isfinite(v)) {
			sr_buf_reset(&out);
			assert_int_equal(sr_value_format_float64(&out, v), SR_OK);
			assert_int_equal(sr_value_parse_float64(out.data, out.len, &back), SR_OK);
			assert_memory_equal(&back, &v, sizeof(v));
		}
		if ((r >> 20) & 1)
			text[n++] = '-';
		for (int d = 0; d < digits; d++) {
			if (d == dot && d)
				text[n++] = '.';
			text[n++] = (char)('0' + sr_test_rand(&seed) % 10);
		}
		text[n] = '\0';
		ref = strtod(text, NULL);
		assert_int_equal(sr_value_parse_float64(text, (size_t)n, &back), SR_OK);
		assert_memory_equal(&back, &ref, sizeof(ref));
	}
	sr_buf_release(&out);
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		int valid;
	} cases[] = {
		{ "plain", 1 }, { "Zoë", 1 }, { "日本", 1 }, { "\xf0\x9f\x98\x80", 1 },
		{ "\xf4\x8f\xbf\xbf", 1 },      /* U+10FFFF */
		{ "\xf4\x90\x80\x80", 0 },      /* above U+10FFFF */
		{ "\xc0\xaf", 0 },              /* overlong */
		{ "\xe0\x80\xaf", 0 },          /* overlong */
		{ "\xed\xa0\x80", 0 },          /* surrogate */
		{ "\xe2\x82", 0 },              /* truncated */
		{ "\xff", 0 }, { "\x80", 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (sr_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].valid)
			fail_msg("case %zu", i);
}

static enum sr_type infer(const char *const *values, size_t n)
{
	struct sr_infer inf;

	sr_infer_init(&inf);
	for (size_t i = 0; i < n; i++)
		sr_infer_feed(&inf, values[i], strlen(values[i]));
	return sr_infer_result(&inf);
}

static void test_infer(void **state)
{
	static const char *const ints[] = { "1", "-20", "300" };
	static const char *const floats[] = { "1", "2.5", "-3" };
	static const char *const bools[] = { "true", "FALSE", "True" };
	static const char *const dates[] = { "2020-01-01", "1999-12-31" };
	static const char *const mixed[] = { "1", "2", "x" };
	static const char *const big[] = { "99999999999999999999" };

	(void)state;
	assert_int_equal(infer(ints, 3), SR_TYPE_INT64);
	assert_int_equal(infer(floats, 3), SR_TYPE_FLOAT64);
	assert_int_equal(infer(bools, 3), SR_TYPE_BOOL);
	assert_int_equal(infer(dates, 2), SR_TYPE_DATE);
	assert_int_equal(infer(mixed, 3), SR_TYPE_STRING);
	assert_int_equal(infer(big, 1), SR_TYPE_FLOAT64);
	assert_int_equal(infer(NULL, 0), SR_TYPE_STRING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_alloc_hook),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_value_parse),
		cmocka_unit_test(test_value_float_text),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_infer),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
