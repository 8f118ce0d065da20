/*
 * test_copytext.c - rows of PostgreSQL's COPY text format: NULLs,
 * escapes, booleans, field counts, limits and UTF-8, with exact messages.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/limits.h"
#include "store/copytext.h"

static const char *const names[] = { "a", "b", "c" };
static const int bools[] = { 0, 0, 1 };

/* Split row and render it as "[x]N[y]..." (N for NULL, q for quoted). */
static int render(const char *row, size_t len, char *out, size_t size,
		  struct sr_err *err)
{
	struct sr_copytext ct;
	size_t o = 0;
	int rc;

	memset(&ct, 0, sizeof(ct));
	assert_int_equal(sr_copytext_init(&ct, 3, bools), SR_OK);
	sr_err_clear(err);
	rc = sr_copytext_split(&ct, row, len, "db", 7, names, err);
	out[0] = '\0';
	for (size_t j = 0; rc == SR_OK && j < 3; j++) {
		const struct sr_csv_field *f = &ct.fields[j];
		int n = f->is_null ? snprintf(out + o, size - o, "N") :
			snprintf(out + o, size - o, "%s[%.*s]", f->quoted ? "q" : "",
				 (int)f->len, f->data);
		o += (size_t)n;
	}
	sr_copytext_release(&ct);
	return rc;
}

static void test_rows(void **state)
{
	static const struct {
		const char *row;
		const char *want;
	} cases[] = {
		{ "1\tx\tt\n", "[1][x][true]" },
		{ "1\tx\tf", "[1][x][false]" },
		{ "\\N\t\t\\N\n", "N[]N" },
		{ "a\\tb\tnew\\nline\\\\\tt\n", "q[a\tb]q[new\nline\\]" "[true]" },
		{ "\\b\\f\\r\\v\t\\N\tf\n", "q[\b\f\r\v]N[false]" },
		{ "Zo\xc3\xab\t\\\\N\tt\n", "[Zo\xc3\xab]q[\\N][true]" },
	};
	struct sr_err err;
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int rc = render(cases[i].row, strlen(cases[i].row), out, sizeof(out), &err);
		if (rc || strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got %d '%s' (%s), want '%s'", i, rc, out, err.msg,
				 cases[i].want);
	}
}

static void test_bad_rows(void **state)
{
	static const struct {
		const char *row;
		int code;
		const char *want;
	} cases[] = {
		{ "1\t2\n", SR_EPROTO, "db: row 7: 2 fields, expected the 3 columns described" },
		{ "1\t2\t3\t4\n", SR_EPROTO, "db: row 7: more fields than the 3 columns described" },
		{ "1\t\xff\tt\n", SR_EINVAL, "db: row 7, column 2 (b): invalid UTF-8" },
	};
	struct sr_err err;
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int rc = render(cases[i].row, strlen(cases[i].row), out, sizeof(out), &err);
		if (rc != cases[i].code || strcmp(err.msg, cases[i].want) != 0)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg,
				 cases[i].code, cases[i].want);
	}
	/* A field over the limit. */
	{
		size_t n = SR_CSV_FIELD_MAX + 1;
		char *row = malloc(n + 8);
		assert_non_null(row);
		memcpy(row, "1\t", 2);
		memset(row + 2, 'x', n);
		memcpy(row + 2 + n, "\tt\n", 3);
		assert_int_equal(render(row, n + 5, out, sizeof(out), &err), SR_ELIMIT);
		assert_string_equal(err.msg, "db: row 7, column 2 (b): value is longer than the limit of 1048576 bytes");
		free(row);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_bad_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
