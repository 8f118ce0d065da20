/*
 * test_csv.c - the streaming CSV reader: RFC 4180 cases, errors that name
 * file, line and column, limits, window boundaries, rewind, and
 * allocation failures.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/limits.h"
#include "store/csv.h"

/* Read all records of text into "[a][b]|..." form (N for NULL). */
static int read_all(const char *text, size_t len, struct sr_buf *out,
		    struct sr_err *err)
{
	struct sr_csv *csv;
	const struct sr_csv_field *f;
	int eof = 0, rc;

	rc = sr_csv_open_mem(text, len, "t.csv", &csv, err);
	if (rc)
		return rc;
	for (size_t j = 0; j < sr_csv_columns(csv); j++)
		assert_int_equal(sr_buf_addf(out, "<%s>", sr_csv_column_name(csv, j)), SR_OK);
	for (;;) {
		rc = sr_csv_next(csv, &f, &eof, err);
		if (rc || eof)
			break;
		assert_int_equal(sr_buf_addf(out, "|%llu:",
					     (unsigned long long)sr_csv_line(csv)), SR_OK);
		for (size_t j = 0; j < sr_csv_columns(csv); j++) {
			if (f[j].is_null)
				assert_int_equal(sr_buf_addstr(out, "N"), SR_OK);
			else
				assert_int_equal(sr_buf_addf(out, "[%.*s]", (int)f[j].len,
							     f[j].data), SR_OK);
		}
	}
	sr_csv_free(csv);
	return rc;
}

struct good_case {
	const char *text;
	const char *want;
};

static void test_good(void **state)
{
	static const struct good_case cases[] = {
		{ "a,b\n1,2\n", "<a><b>|2:[1][2]" },
		{ "a,b\r\n1,2\r\n3,4", "<a><b>|2:[1][2]|3:[3][4]" },
		{ "\xef\xbb\xbf" "a,b\n1,2\n", "<a><b>|2:[1][2]" },
		{ "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n", "<a><b>|2:[x,y][say \"hi\"]" },
		{ "a,b\n\"two\nlines\",z\n3,4\n", "<a><b>|2:[two\nlines][z]|4:[3][4]" },
		{ "a,b\n\"cr\r\nlf\",z\n", "<a><b>|2:[cr\r\nlf][z]" },
		{ "a,b,c\n,\"\",x\n", "<a><b><c>|2:N[][x]" },
		{ "a,b\n\n1,2\n\r\n\n3,4\n\n", "<a><b>|3:[1][2]|6:[3][4]" },
		{ "a,b\r1,2\r3,4\r", "<a><b>|2:[1][2]|3:[3][4]" },
		{ "a,b\n1,Zoë\n", "<a><b>|2:[1][Zoë]" },
		{ "\"quoted header\",b\n1,2\n", "<quoted header><b>|2:[1][2]" },
		{ "a\n1\n2", "<a>|2:[1]|3:[2]" },
		{ "a,b\n", "<a><b>" },
		{ "a,b", "<a><b>" },
		{ "a,b\n\"\",\"\"\n", "<a><b>|2:[][]" },
		{ "a,b\n 1 , 2 \n", "<a><b>|2:[ 1 ][ 2 ]" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_buf out;
		struct sr_err err;
		int rc;

		sr_buf_init(&out, 0);
		sr_err_clear(&err);
		rc = read_all(cases[i].text, strlen(cases[i].text), &out, &err);
		if (rc != SR_OK || strcmp(out.data, cases[i].want) != 0)
			fail_msg("case %zu: rc %d (%s), got '%s', want '%s'", i, rc,
				 err.msg, out.data, cases[i].want);
		sr_buf_release(&out);
	}
}

struct bad_case {
	const char *text;
	size_t len;       /* 0: strlen */
	int code;
	const char *message;
};

static void test_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "", 0, SR_EINVAL, "t.csv: file is empty: a header row is required" },
		{ "\n\n", 0, SR_EINVAL, "header row is required" },
		{ "a,a\n", 0, SR_EINVAL, "duplicate column name 'a'" },
		{ "a,,b\n", 0, SR_EINVAL, "empty column name in header (column 2)" },
		{ "a,b\n1,2\n3\n", 0, SR_EINVAL, "t.csv: line 3: expected 2 fields, got 1" },
		{ "a,b\n1,2,3\n", 0, SR_EINVAL, "line 2: expected 2 fields, got 3" },
		{ "a,b\n1,\"open\n2,3\n", 0, SR_EINVAL,
		  "t.csv: line 2, column 2 (b): unterminated quoted field (opened on line 2)" },
		{ "a,b\n1,\"x\"y\n", 0, SR_EINVAL,
		  "line 2, column 2 (b): unexpected character after closing quote" },
		{ "a,b\n1,x\"y\n", 0, SR_EINVAL, "line 2, column 2 (b): quote inside an unquoted field" },
		{ "a,b\n1,\xff\n", 0, SR_EINVAL, "t.csv: line 2, column 2 (b): invalid UTF-8" },
		{ "a,b\n\xc0\xaf,1\n", 0, SR_EINVAL, "line 2, column 1 (a): invalid UTF-8" },
		{ "a,b\n\xed\xa0\x80,1\n", 0, SR_EINVAL, "invalid UTF-8" },
		{ "a,\xe2\x82\n", 0, SR_EINVAL, "line 1, column 2: invalid UTF-8" },
		{ "a,b\n1,\"x\ny\nz\n\"w\n", 0, SR_EINVAL, "line 5" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_buf out;
		struct sr_err err;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		int rc;

		sr_buf_init(&out, 0);
		sr_err_clear(&err);
		rc = read_all(cases[i].text, len, &out, &err);
		if (rc != cases[i].code || !strstr(err.msg, cases[i].message))
			fail_msg("case %zu: got %d '%s', want %d with '%s'", i, rc,
				 err.msg, cases[i].code, cases[i].message);
		sr_buf_release(&out);
	}
}

static void test_limits(void **state)
{
	struct sr_buf text, out;
	struct sr_err err;

	(void)state;
	/* A field one byte over the limit. */
	sr_buf_init(&text, 0);
	sr_buf_init(&out, 0);
	assert_int_equal(sr_buf_addstr(&text, "a,b\n1,"), SR_OK);
	for (size_t i = 0; i < SR_CSV_FIELD_MAX + 1; i++)
		assert_int_equal(sr_buf_addch(&text, 'x'), SR_OK);
	assert_int_equal(sr_buf_addch(&text, '\n'), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(read_all(text.data, text.len, &out, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "line 2, column 2 (b): field is longer than the limit"));
	/* Exactly at the limit is fine. */
	sr_buf_setlen(&text, text.len - 2);
	assert_int_equal(sr_buf_addch(&text, '\n'), SR_OK);
	sr_buf_reset(&out);
	sr_err_clear(&err);
	assert_int_equal(read_all(text.data, text.len, &out, &err), SR_OK);
	/* Too many columns. */
	sr_buf_reset(&text);
	for (int i = 0; i <= SR_DATASET_COLUMNS_MAX; i++)
		assert_int_equal(sr_buf_addf(&text, "%sc%d", i ? "," : "", i), SR_OK);
	assert_int_equal(sr_buf_addch(&text, '\n'), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(read_all(text.data, text.len, &out, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "more than the limit of 1024 columns"));
	/* A record over the row limit (many fields under the field limit). */
	sr_buf_reset(&text);
	assert_int_equal(sr_buf_addstr(&text, "a,b\n1,\""), SR_OK);
	for (size_t i = 0; i < SR_CSV_ROW_MAX / 2; i++)
		assert_int_equal(sr_buf_addstr(&text, "\"\""), SR_OK);
	assert_int_equal(sr_buf_addstr(&text, "x\"\n"), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(read_all(text.data, text.len, &out, &err), SR_ELIMIT);
	sr_buf_release(&text);
	sr_buf_release(&out);
}

/* A file several times the read window, with records (some multi-line)
 * straddling every boundary; both passes give exactly the values. */
static void test_big_file_and_rewind(void **state)
{
	char *dir = sr_test_tmpdir();
	char path[512];
	struct sr_buf text;
	struct sr_csv *csv;
	const struct sr_csv_field *f;
	struct sr_err err;
	uint64_t seed;
	size_t rows = 120000;
	int eof;

	(void)state;
	sr_buf_init(&text, 0);
	assert_int_equal(sr_buf_addstr(&text, "id,text,n\r\n"), SR_OK);
	seed = 99;
	for (size_t i = 0; i < rows; i++) {
		uint64_t r = sr_test_rand(&seed);
		if (r % 7 == 0)
			assert_int_equal(sr_buf_addf(&text, "%zu,\"multi\nline \"\"%llu\"\"\",%llu\r\n",
						     i, (unsigned long long)(r % 1000),
						     (unsigned long long)(r >> 40)), SR_OK);
		else
			assert_int_equal(sr_buf_addf(&text, "%zu,plain%llu,%llu\r\n", i,
						     (unsigned long long)(r % 100000),
						     (unsigned long long)(r >> 40)), SR_OK);
	}
	snprintf(path, sizeof(path), "%s/big.csv", dir);
	sr_test_write_file(path, text.data, text.len);
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open(path, &csv, &err), SR_OK);
	assert_int_equal(sr_csv_size(csv), text.len);
	for (int pass = 0; pass < 2; pass++) {
		uint64_t line = 2;
		seed = 99;
		for (size_t i = 0; i < rows; i++) {
			uint64_t r = sr_test_rand(&seed);
			char want[128];
			assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
			assert_int_equal(eof, 0);
			assert_int_equal(sr_csv_line(csv), line);
			snprintf(want, sizeof(want), "%zu", i);
			assert_int_equal(f[0].len, strlen(want));
			assert_memory_equal(f[0].data, want, f[0].len);
			if (r % 7 == 0) {
				snprintf(want, sizeof(want), "multi\nline \"%llu\"",
					 (unsigned long long)(r % 1000));
				line += 2;
			} else {
				snprintf(want, sizeof(want), "plain%llu",
					 (unsigned long long)(r % 100000));
				line += 1;
			}
			assert_int_equal(f[1].len, strlen(want));
			assert_memory_equal(f[1].data, want, f[1].len);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)(r >> 40));
			assert_int_equal(f[2].len, strlen(want));
			assert_memory_equal(f[2].data, want, f[2].len);
		}
		assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
		assert_int_equal(eof, 1);
		assert_int_equal(sr_csv_offset(csv), text.len);
		assert_int_equal(sr_csv_rewind(csv, &err), SR_OK);
	}
	sr_csv_free(csv);
	sr_buf_release(&text);
	sr_test_tmpdir_free(dir);
}

static void test_open_errors(void **state)
{
	struct sr_csv *csv = NULL;
	struct sr_err err;
	char *dir = sr_test_tmpdir();

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open("/nonexistent/x.csv", &csv, &err), SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/x.csv"));
	assert_null(csv);
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open(dir, &csv, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "is a directory"));
	sr_test_tmpdir_free(dir);
}

static void test_allocation_failures(void **state)
{
	static const char text[] =
		"id,\"na,me\",x\r\n1,\"a\"\"b\",\n2,\"multi\nline\",\"\"\n3,Zoë,z\n";
	int succeeded = 0;

	(void)state;
	for (unsigned long n = 1; n < 10000 && !succeeded; n++) {
		struct sr_buf out;
		struct sr_err err;
		int rc;

		sr_buf_init(&out, 0);
		/* The test's own buffer must not be what fails. */
		assert_int_equal(sr_buf_grow(&out, 4096), SR_OK);
		sr_err_clear(&err);
		sr_alloc_fail_at(n, 0);
		rc = read_all(text, sizeof(text) - 1, &out, &err);
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK) {
			succeeded = 1;
			assert_string_equal(out.data, "<id><na,me><x>|2:[1][a\"b]N|3:[2][multi\nline][]|5:[3][Zoë][z]");
		} else if (rc != SR_ENOMEM) {
			fail_msg("allocation %lu: got %d (%s)", n, rc, err.msg);
		}
		sr_buf_release(&out);
	}
	assert_true(succeeded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_big_file_and_rewind),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
