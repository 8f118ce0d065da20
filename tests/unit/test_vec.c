/*
 * test_vec.c - src/store/vec.c: typed column vectors filled from text, with
 * NULLs, string offsets, canonical formatting, reuse and plaintext size.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/value.h"
#include "store/vec.h"
#include "base/banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One cell of a table-driven case: NULL text means a NULL value. */
struct cell {
	const char *text;
	const char *formatted;   /* canonical text form; NULL for NULL */
};

static void append_cells(struct sr_vec *vec, const struct cell *cells, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = cells[i].text ?
			sr_vec_append_text(vec, cells[i].text, strlen(cells[i].text)) :
			sr_vec_append_null(vec);
		if (rc != SR_OK)
			fail_msg("cell %zu (%s): %s", i,
				 cells[i].text ? cells[i].text : "NULL", sr_strerror(rc));
	}
}

/* Check rows, NULL bits and the text form of every row. */
static void check_cells(const struct sr_vec *vec, const struct cell *cells,
			size_t n)
{
	struct sr_buf out;
	size_t nulls = 0;

	sr_buf_init(&out, 0);
	assert_int_equal(vec->rows, n);
	for (size_t i = 0; i < n; i++) {
		sr_buf_reset(&out);
		assert_int_equal(sr_vec_format(vec, i, &out), SR_OK);
		if (!cells[i].text) {
			nulls++;
			assert_true(sr_vec_is_null(vec, i));
			assert_int_equal(out.len, 0);   /* NULL appends nothing */
			continue;
		}
		assert_false(sr_vec_is_null(vec, i));
		if (strcmp(out.data, cells[i].formatted) != 0)
			fail_msg("row %zu: \"%s\" formats as \"%s\", expected \"%s\"",
				 i, cells[i].text, out.data, cells[i].formatted);
	}
	assert_int_equal(vec->null_count, nulls);
	sr_buf_release(&out);
}

static void test_int64(void **state)
{
	static const struct cell cells[] = {
		{ "1", "1" }, { "-5", "-5" }, { NULL, NULL }, { "+7", "7" },
		{ "007", "7" }, { "9223372036854775807", "9223372036854775807" },
		{ "-9223372036854775808", "-9223372036854775808" }, { NULL, NULL },
		{ "0", "0" },
	};
	struct sr_vec v;

	(void)state;
	sr_vec_init(&v, SR_TYPE_INT64);
	assert_int_equal(v.type, SR_TYPE_INT64);
	assert_int_equal(v.rows, 0);
	assert_int_equal(sr_vec_plain_bytes(&v), 0);
	append_cells(&v, cells, ARRAY_SIZE(cells));
	check_cells(&v, cells, ARRAY_SIZE(cells));
	assert_true(v.v.i64[0] == 1);
	assert_true(v.v.i64[1] == -5);
	assert_true(v.v.i64[2] == 0);   /* a NULL slot holds 0 */
	assert_true(v.v.i64[5] == INT64_MAX);
	assert_true(v.v.i64[6] == INT64_MIN);
	assert_int_equal(sr_vec_plain_bytes(&v), ARRAY_SIZE(cells) * 8);

	/* Text that does not parse is refused and leaves no row. */
	assert_int_equal(sr_vec_append_text(&v, "1.5", 3), SR_EINVAL);
	assert_int_equal(sr_vec_append_text(&v, "", 0), SR_EINVAL);
	assert_int_equal(sr_vec_append_text(&v, "9223372036854775808", 19), SR_EINVAL);
	assert_int_equal(sr_vec_append_text(&v, " 1", 2), SR_EINVAL);
	check_cells(&v, cells, ARRAY_SIZE(cells));
	sr_vec_release(&v);
	assert_int_equal(v.type, SR_TYPE_INT64);   /* release keeps the type */
	assert_int_equal(v.rows, 0);
	assert_null(v.v.raw);
}

static void test_float64(void **state)
{
	static const struct cell cells[] = {
		{ "1.5", "1.5" }, { NULL, NULL }, { "-0.25", "-0.25" },
		{ "1e-6", "1e-06" }, { "100", "100" }, { "0.1", "0.1" },
		{ "-0", "-0" }, { "123456789.125", "123456789.125" },
	};
	struct sr_vec v;

	(void)state;
	sr_vec_init(&v, SR_TYPE_FLOAT64);
	append_cells(&v, cells, ARRAY_SIZE(cells));
	check_cells(&v, cells, ARRAY_SIZE(cells));
	assert_true(v.v.f64[0] == 1.5);
	assert_true(v.v.f64[1] == 0 && !signbit(v.v.f64[1]));
	assert_true(v.v.f64[6] == 0 && signbit(v.v.f64[6]));
	assert_int_equal(sr_vec_plain_bytes(&v), ARRAY_SIZE(cells) * 8);
	assert_int_equal(sr_vec_append_text(&v, "nan", 3), SR_EINVAL);
	assert_int_equal(sr_vec_append_text(&v, "inf", 3), SR_EINVAL);
	assert_int_equal(sr_vec_append_text(&v, "1,5", 3), SR_EINVAL);
	assert_int_equal(v.rows, ARRAY_SIZE(cells));
	sr_vec_release(&v);
}

static void test_date_bool(void **state)
{
	static const struct cell dates[] = {
		{ "1970-01-02", "1970-01-02" }, { NULL, NULL },
		{ "1969-12-31", "1969-12-31" }, { "2024-02-29", "2024-02-29" },
		{ "0001-01-01", "0001-01-01" }, { "9999-12-31", "9999-12-31" },
	};
	static const struct cell bools[] = {
		{ "true", "true" }, { "FALSE", "false" }, { NULL, NULL },
		{ "True", "true" }, { "false", "false" },
	};
	struct sr_vec v;

	(void)state;
	sr_vec_init(&v, SR_TYPE_DATE);
	append_cells(&v, dates, ARRAY_SIZE(dates));
	check_cells(&v, dates, ARRAY_SIZE(dates));
	assert_int_equal(v.v.date[0], 1);
	assert_int_equal(v.v.date[1], 0);
	assert_int_equal(v.v.date[2], -1);
	assert_int_equal(sr_vec_plain_bytes(&v), ARRAY_SIZE(dates) * 4);
	assert_int_equal(sr_vec_append_text(&v, "2023-02-29", 10), SR_EINVAL);
	assert_int_equal(sr_vec_append_text(&v, "2020-1-1", 8), SR_EINVAL);
	assert_int_equal(v.rows, ARRAY_SIZE(dates));
	sr_vec_release(&v);

	sr_vec_init(&v, SR_TYPE_BOOL);
	append_cells(&v, bools, ARRAY_SIZE(bools));
	check_cells(&v, bools, ARRAY_SIZE(bools));
	assert_int_equal(v.v.b[0], 1);
	assert_int_equal(v.v.b[1], 0);
	assert_int_equal(v.v.b[2], 0);
	assert_int_equal(v.v.b[3], 1);
	assert_int_equal(sr_vec_plain_bytes(&v), ARRAY_SIZE(bools));
	assert_int_equal(sr_vec_append_text(&v, "1", 1), SR_EINVAL);
	assert_int_equal(sr_vec_append_text(&v, "yes", 3), SR_EINVAL);
	assert_int_equal(v.rows, ARRAY_SIZE(bools));
	sr_vec_release(&v);
}

static void test_string(void **state)
{
	static const struct cell cells[] = {
		{ "abc", "abc" }, { "", "" }, { NULL, NULL }, { "de", "de" },
		{ "Zo\xc3\xab", "Zo\xc3\xab" }, { NULL, NULL }, { "a,b \"q\"", "a,b \"q\"" },
	};
	static const uint32_t offsets[] = { 0, 3, 3, 3, 5, 9, 9, 16 };
	struct sr_vec v;

	(void)state;
	sr_vec_init(&v, SR_TYPE_STRING);
	assert_int_equal(sr_vec_plain_bytes(&v), 0);
	append_cells(&v, cells, ARRAY_SIZE(cells));
	check_cells(&v, cells, ARRAY_SIZE(cells));
	assert_memory_equal(v.offsets, offsets, sizeof(offsets));
	assert_int_equal(v.bytes.len, 16);
	assert_memory_equal(v.bytes.data, "abcdeZo\xc3\xab" "a,b \"q\"", 16);
	/* An empty string and a NULL have the same bytes, not the same bit. */
	assert_false(sr_vec_is_null(&v, 1));
	assert_true(sr_vec_is_null(&v, 2));
	assert_int_equal(sr_vec_plain_bytes(&v), 16);
	/* Embedded NUL bytes are data. */
	assert_int_equal(sr_vec_append_text(&v, "x\0y", 3), SR_OK);
	assert_int_equal(v.offsets[8] - v.offsets[7], 3);
	assert_int_equal(sr_vec_plain_bytes(&v), 19);
	sr_vec_release(&v);
}

/* Many rows: growth past the first allocation, NULL bits in many bytes. */
static void test_growth_and_nulls(void **state)
{
	enum { ROWS = 5000 };
	struct sr_vec ints, strs;
	struct sr_buf out;
	char text[32];
	size_t bytes = 0;

	(void)state;
	sr_vec_init(&ints, SR_TYPE_INT64);
	sr_vec_init(&strs, SR_TYPE_STRING);
	sr_buf_init(&out, 0);
	for (size_t i = 0; i < ROWS; i++) {
		int n = snprintf(text, sizeof(text), "%zu", i * 31);
		if (i % 7 == 3) {
			assert_int_equal(sr_vec_append_null(&ints), SR_OK);
			assert_int_equal(sr_vec_append_null(&strs), SR_OK);
			continue;
		}
		assert_int_equal(sr_vec_append_text(&ints, text, (size_t)n), SR_OK);
		assert_int_equal(sr_vec_append_text(&strs, text, (size_t)n), SR_OK);
		bytes += (size_t)n;
	}
	assert_int_equal(ints.rows, ROWS);
	assert_true(ints.cap >= ROWS);
	assert_int_equal(ints.null_count, (ROWS + 3) / 7);
	assert_int_equal(strs.null_count, ints.null_count);
	assert_int_equal(sr_vec_plain_bytes(&strs), bytes);
	assert_int_equal(strs.offsets[0], 0);
	assert_int_equal(strs.offsets[ROWS], bytes);
	for (size_t i = 0; i < ROWS; i++) {
		int is_null = i % 7 == 3;
		assert_int_equal(sr_vec_is_null(&ints, i), is_null);
		assert_int_equal(sr_vec_is_null(&strs, i), is_null);
		assert_true(strs.offsets[i] <= strs.offsets[i + 1]);
		if (is_null) {
			assert_true(ints.v.i64[i] == 0);
			assert_int_equal(strs.offsets[i], strs.offsets[i + 1]);
			continue;
		}
		assert_true(ints.v.i64[i] == (int64_t)(i * 31));
		sr_buf_reset(&out);
		assert_int_equal(sr_vec_format(&strs, i, &out), SR_OK);
		snprintf(text, sizeof(text), "%zu", i * 31);
		assert_string_equal(out.data, text);
	}
	/* Formatting appends. */
	sr_buf_reset(&out);
	assert_int_equal(sr_vec_format(&ints, 1, &out), SR_OK);
	assert_int_equal(sr_vec_format(&ints, 3, &out), SR_OK);   /* NULL */
	assert_int_equal(sr_vec_format(&ints, 2, &out), SR_OK);
	assert_string_equal(out.data, "3162");
	sr_buf_release(&out);
	sr_vec_release(&ints);
	sr_vec_release(&strs);
}

static void test_reset_and_reserve(void **state)
{
	struct sr_vec v, s;
	void *values;
	uint32_t *offsets;
	uint8_t *nulls;
	char *bytes;
	size_t cap, bytes_cap;

	(void)state;
	sr_vec_init(&v, SR_TYPE_FLOAT64);
	assert_int_equal(sr_vec_reserve(&v, 3000), SR_OK);
	assert_true(v.cap >= 3000);
	assert_int_equal(v.rows, 0);
	cap = v.cap;
	values = v.v.raw;
	nulls = v.nulls;
	for (int i = 0; i < 3000; i++)
		assert_int_equal(i % 2 ? sr_vec_append_null(&v) :
				 sr_vec_append_text(&v, "2.5", 3), SR_OK);
	/* Reserved room: no reallocation. */
	assert_ptr_equal(v.v.raw, values);
	assert_int_equal(v.cap, cap);
	assert_int_equal(v.null_count, 1500);

	/* Reset drops the rows and NULL bits but keeps the memory. */
	sr_vec_reset(&v);
	assert_int_equal(v.rows, 0);
	assert_int_equal(v.null_count, 0);
	assert_int_equal(v.cap, cap);
	assert_ptr_equal(v.v.raw, values);
	assert_ptr_equal(v.nulls, nulls);
	assert_int_equal(sr_vec_plain_bytes(&v), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(sr_vec_append_text(&v, "-1", 2), SR_OK);
	for (size_t i = 0; i < 3000; i++)
		assert_false(sr_vec_is_null(&v, i));   /* old NULL bits are gone */
	assert_true(v.v.f64[2999] == -1);
	assert_ptr_equal(v.v.raw, values);
	assert_int_equal(sr_vec_reserve(&v, 0), SR_OK);
	sr_vec_release(&v);

	sr_vec_init(&s, SR_TYPE_STRING);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(sr_vec_append_text(&s, "some text", 9), SR_OK);
	offsets = s.offsets;
	bytes = s.bytes.data;
	bytes_cap = s.bytes.cap;
	cap = s.cap;
	sr_vec_reset(&s);
	assert_int_equal(s.rows, 0);
	assert_int_equal(s.bytes.len, 0);
	assert_int_equal(s.offsets[0], 0);
	assert_int_equal(sr_vec_plain_bytes(&s), 0);
	assert_int_equal(sr_vec_append_text(&s, "xy", 2), SR_OK);
	assert_int_equal(sr_vec_append_null(&s), SR_OK);
	assert_ptr_equal(s.offsets, offsets);
	assert_ptr_equal(s.bytes.data, bytes);
	assert_int_equal(s.bytes.cap, bytes_cap);
	assert_int_equal(s.cap, cap);
	assert_int_equal(s.offsets[1], 2);
	assert_int_equal(s.offsets[2], 2);
	assert_true(sr_vec_is_null(&s, 1));
	assert_int_equal(sr_vec_plain_bytes(&s), 2);
	sr_vec_release(&s);
	/* Reset of a vector that never allocated is fine. */
	sr_vec_init(&s, SR_TYPE_STRING);
	sr_vec_reset(&s);
	sr_vec_release(&s);
}

static void test_out_of_memory(void **state)
{
	static const enum sr_type types[] = {
		SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_STRING, SR_TYPE_BOOL,
		SR_TYPE_DATE,
	};

	(void)state;
	for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
		/* Fail each allocation of the first append in turn. */
		for (unsigned long n = 1; n <= 4; n++) {
			struct sr_vec v;
			const char *text = types[t] == SR_TYPE_BOOL ? "true" :
					   types[t] == SR_TYPE_DATE ? "2020-01-01" : "12";
			int rc;

			sr_vec_init(&v, types[t]);
			sr_alloc_fail_at(n, 0);
			rc = sr_vec_append_text(&v, text, strlen(text));
			sr_alloc_fail_at(0, 0);
			assert_true(rc == SR_OK || rc == SR_ENOMEM);
			assert_int_equal(v.rows, rc == SR_OK ? 1 : 0);
			/* The vector stays usable. */
			assert_int_equal(sr_vec_append_text(&v, text, strlen(text)), SR_OK);
			assert_int_equal(sr_vec_append_null(&v), SR_OK);
			assert_int_equal(v.rows, rc == SR_OK ? 3 : 2);
			sr_vec_release(&v);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_float64),
		cmocka_unit_test(test_date_bool),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_growth_and_nulls),
		cmocka_unit_test(test_reset_and_reserve),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
