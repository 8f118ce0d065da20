/*
 * test_csv.c - the streaming CSV reader: RFC 4180 cases, errors that name
 * file, line and column, limits, window boundaries, a generated file much
 * larger than the read window checked value by value against the model it
 * was generated from, rewind, and allocation failures.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/limits.h"
#include "store/csv.h"

/* The reader's first read window (csv.c); only used to aim tests at it. */
#define WINDOW (1u << 20)

static void add(struct sr_buf *buf, const char *s)
{
	assert_int_equal(sr_buf_addstr(buf, s), SR_OK);
}

static void add_bytes(struct sr_buf *buf, int c, size_t n)
{
	assert_int_equal(sr_buf_grow(buf, n), SR_OK);
	memset(buf->data + buf->len, c, n);
	sr_buf_setlen(buf, buf->len + n);
}

/* Append all records of csv as "<h1><h2>|LINE:[a]N[]|..." (N for NULL). */
static int dump(struct sr_csv *csv, struct sr_buf *out, struct sr_err *err)
{
	const struct sr_csv_field *f;
	int eof = 0, rc;

	for (size_t j = 0; j < sr_csv_columns(csv); j++)
		assert_int_equal(sr_buf_addf(out, "<%s>", sr_csv_column_name(csv, j)),
				 SR_OK);
	for (;;) {
		rc = sr_csv_next(csv, &f, &eof, err);
		if (rc || eof)
			return rc;
		assert_int_equal(sr_buf_addf(out, "|%llu:",
					     (unsigned long long)sr_csv_line(csv)), SR_OK);
		for (size_t j = 0; j < sr_csv_columns(csv); j++) {
			if (f[j].is_null) {
				assert_int_equal(f[j].len, 0);
				add(out, "N");
			} else {
				assert_int_equal(sr_buf_addf(out, "[%.*s]", (int)f[j].len,
							     f[j].data), SR_OK);
			}
		}
	}
}

/* Read all of text from memory into out (see dump). */
static int read_all(const char *text, size_t len, struct sr_buf *out,
		    struct sr_err *err)
{
	struct sr_csv *csv;
	int rc;

	rc = sr_csv_open_mem(text, len, "t.csv", &csv, err);
	if (rc) {
		assert_null(csv);
		return rc;
	}
	rc = dump(csv, out, err);
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
		/* CRLF, and no line end after the last record */
		{ "a,b\r\n1,2\r\n3,4", "<a><b>|2:[1][2]|3:[3][4]" },
		/* byte-order mark */
		{ "\xef\xbb\xbf" "a,b\n1,2\n", "<a><b>|2:[1][2]" },
		/* quotes and doubled quotes */
		{ "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n", "<a><b>|2:[x,y][say \"hi\"]" },
		{ "a,b\n\"\"\"\",\"\"\"\"\"\"\n", "<a><b>|2:[\"][\"\"]" },
		{ "a,b\n\"\"\"start\",\"end\"\"\"\n", "<a><b>|2:[\"start][end\"]" },
		/* embedded line ends move the line of the next record */
		{ "a,b\n\"two\nlines\",z\n3,4\n", "<a><b>|2:[two\nlines][z]|4:[3][4]" },
		{ "a,b\n\"cr\r\nlf\",z\n3,4\n", "<a><b>|2:[cr\r\nlf][z]|4:[3][4]" },
		{ "a,b\n\"a\n\nb\",\"\r\"\n3,4\n", "<a><b>|2:[a\n\nb][\r]|6:[3][4]" },
		/* NULL against the empty string */
		{ "a,b,c\n,\"\",x\n", "<a><b><c>|2:N[][x]" },
		{ "a,b,c\n,,\n", "<a><b><c>|2:NNN" },
		{ "a,b\n\"\",\"\"\n", "<a><b>|2:[][]" },
		{ "a,b\n1,\n", "<a><b>|2:[1]N" },
		{ "a,b\n1,", "<a><b>|2:[1]N" },
		/* blank lines, counted but skipped */
		{ "a,b\n\n1,2\n\r\n\n3,4\n\n", "<a><b>|3:[1][2]|6:[3][4]" },
		{ "\n\r\na,b\n1,2\n", "<a><b>|4:[1][2]" },
		/* lone CR line ends */
		{ "a,b\r1,2\r3,4\r", "<a><b>|2:[1][2]|3:[3][4]" },
		{ "a,b\r\r1,2\r", "<a><b>|3:[1][2]" },
		/* UTF-8, valid */
		{ "a,b\n1,Zoë\n", "<a><b>|2:[1][Zoë]" },
		{ "a,b\n\"€ 5, 😀\",\"ï\"\"\"\n", "<a><b>|2:[€ 5, 😀][ï\"]" },
		/* header forms */
		{ "\"quoted header\",b\n1,2\n", "<quoted header><b>|2:[1][2]" },
		{ "\"a\"\"b\",\"c,d\"\n1,2\n", "<a\"b><c,d>|2:[1][2]" },
		{ "a\n1\n2", "<a>|2:[1]|3:[2]" },
		{ "a,b\n", "<a><b>" },
		{ "a,b", "<a><b>" },
		{ "\xef\xbb\xbf" "a", "<a>" },
		/* spaces and tabs are data */
		{ "a,b\n 1 , 2 \n", "<a><b>|2:[ 1 ][ 2 ]" },
		{ "a,b\n\t,\" \"\n", "<a><b>|2:[\t][ ]" },
		/* long fields cross the 8-byte scanning steps at every offset */
		{ "a,b\n0123456,01234567\n012345678,0123456789abcdefg\n",
		  "<a><b>|2:[0123456][01234567]|3:[012345678][0123456789abcdefg]" },
		{ "a,b\n\"0123456789abcdef\n0123456789\",0123456789abcdé\n",
		  "<a><b>|2:[0123456789abcdef\n0123456789][0123456789abcdé]" },
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

/* Bytes that are not text: a NUL inside a field is data. */
static void test_nul_in_field(void **state)
{
	static const char text[] = "a,b\nx\0y,\"\0\"\n";
	struct sr_csv *csv;
	const struct sr_csv_field *f;
	struct sr_err err;
	int eof;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open_mem(text, sizeof(text) - 1, "t.csv", &csv, &err),
			 SR_OK);
	assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
	assert_int_equal(eof, 0);
	assert_int_equal(f[0].len, 3);
	assert_memory_equal(f[0].data, "x\0y", 3);
	assert_int_equal(f[1].len, 1);
	assert_int_equal(f[1].data[0], '\0');
	assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
	assert_int_equal(eof, 1);
	sr_csv_free(csv);
}

struct bad_case {
	const char *text;
	int code;
	const char *message;   /* the whole message */
};

static void test_bad(void **state)
{
	static const struct bad_case cases[] = {
		/* header */
		{ "", SR_EINVAL, "t.csv: file is empty: a header row is required" },
		{ "\n\r\n\r", SR_EINVAL, "t.csv: file is empty: a header row is required" },
		{ "\xef\xbb\xbf", SR_EINVAL, "t.csv: file is empty: a header row is required" },
		{ "a,b,a\n", SR_EINVAL,
		  "t.csv: line 1, column 3: duplicate column name 'a' in header (also column 1)" },
		{ "x,\"x\"\n", SR_EINVAL,
		  "t.csv: line 1, column 2: duplicate column name 'x' in header (also column 1)" },
		{ "\n\na,,b\n", SR_EINVAL, "t.csv: line 3, column 2: empty column name in header" },
		{ "a,b,\n", SR_EINVAL, "t.csv: line 1, column 3: empty column name in header" },
		{ "\"\"\n", SR_EINVAL, "t.csv: line 1, column 1: empty column name in header" },
		{ "a,\xe2\x82\n", SR_EINVAL, "t.csv: line 1, column 2: invalid UTF-8" },
		{ "a,\"b\n", SR_EINVAL,
		  "t.csv: line 1, column 2: unterminated quoted field (opened on line 1)" },
		/* field counts name the first missing or first extra column */
		{ "a,b\n1,2\n3\n", SR_EINVAL,
		  "t.csv: line 3, column 2 (b): expected 2 fields, got 1" },
		{ "a,b,c\n\n\n1\n", SR_EINVAL,
		  "t.csv: line 4, column 2 (b): expected 3 fields, got 1; if line 1 is not the header, skip it with --skip-lines (and name the columns with --header if there is no header line)" },
		{ "a,b\n1,2,3\n", SR_EINVAL, "t.csv: line 2, column 3: expected 2 fields, got 3; if line 1 is not the header, skip it with --skip-lines (and name the columns with --header if there is no header line)" },
		{ "a,b\n1,2,3,4,5\n", SR_EINVAL, "t.csv: line 2, column 3: expected 2 fields, got 5; if line 1 is not the header, skip it with --skip-lines (and name the columns with --header if there is no header line)" },
		{ "a,b\n\"x\ny\"\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): expected 2 fields, got 1; if line 1 is not the header, skip it with --skip-lines (and name the columns with --header if there is no header line)" },
		/* unterminated quotes name the line of the opening quote */
		{ "a,b\n1,\"open\n2,3\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): unterminated quoted field (opened on line 2)" },
		{ "a,b\n1,2\n\"x\ny\",\"open\nmore\n", SR_EINVAL,
		  "t.csv: line 4, column 2 (b): unterminated quoted field (opened on line 4)" },
		{ "a,b\n1,\"", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): unterminated quoted field (opened on line 2)" },
		{ "a,b\n1,\"\"\"", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): unterminated quoted field (opened on line 2)" },
		/* quotes in the wrong place */
		{ "a,b\n1,\"x\"y\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): unexpected character after closing quote" },
		{ "a,b\n\"x\" ,1\n", SR_EINVAL,
		  "t.csv: line 2, column 1 (a): unexpected character after closing quote" },
		{ "a,b\n1,\"x\ny\nz\n\"w\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): unexpected character after closing quote" },
		{ "a,b\n1,x\"y\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): quote inside an unquoted field (quote the whole field and double the quote)" },
		{ "a,b\n 1,\"\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): unterminated quoted field (opened on line 2)" },
		/* invalid UTF-8 names line, column and column name */
		{ "a,b\n1,\xff\n", SR_EINVAL, "t.csv: line 2, column 2 (b): invalid UTF-8" },
		{ "a,b\n\xc0\xaf,1\n", SR_EINVAL, "t.csv: line 2, column 1 (a): invalid UTF-8" },
		{ "a,b\n\xed\xa0\x80,1\n", SR_EINVAL, "t.csv: line 2, column 1 (a): invalid UTF-8" },
		{ "a,b\n1,\"ok\nstill ok \xf4\x90\x80\x80\"\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): invalid UTF-8" },
		{ "a,b\n1,\"x\"\"\xe2\x82\"\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): invalid UTF-8" },
		{ "a,b\n1,0123456789abcde\x80\n", SR_EINVAL,
		  "t.csv: line 2, column 2 (b): invalid UTF-8" },
		/* an error in an extra field is still an error */
		{ "a\n1,\xff\n", SR_EINVAL, "t.csv: line 2, column 2: invalid UTF-8" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_buf out;
		struct sr_err err;
		int rc;

		sr_buf_init(&out, 0);
		sr_err_clear(&err);
		rc = read_all(cases[i].text, strlen(cases[i].text), &out, &err);
		if (rc != cases[i].code || strcmp(err.msg, cases[i].message) != 0)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc,
				 err.msg, cases[i].code, cases[i].message);
		sr_buf_release(&out);
	}
}

/* Expect text (from memory) to fail with code and a message containing
 * want. */
static void expect_fail(const char *text, size_t len, int code, const char *want)
{
	struct sr_buf out;
	struct sr_err err;
	int rc;

	sr_buf_init(&out, 0);
	sr_err_clear(&err);
	rc = read_all(text, len, &out, &err);
	if (rc != code || !strstr(err.msg, want))
		fail_msg("got %d '%s', want %d with '%s'", rc, err.msg, code, want);
	sr_buf_release(&out);
}

static void expect_ok(const char *text, size_t len)
{
	struct sr_buf out;
	struct sr_err err;
	int rc;

	sr_buf_init(&out, 0);
	sr_err_clear(&err);
	rc = read_all(text, len, &out, &err);
	if (rc != SR_OK)
		fail_msg("got %d '%s'", rc, err.msg);
	sr_buf_release(&out);
}

static void test_header_limits(void **state)
{
	struct sr_buf text;

	(void)state;
	sr_buf_init(&text, 0);
	/* SR_DATASET_COLUMNS_MAX columns are fine, one more is not. */
	for (int i = 0; i < SR_DATASET_COLUMNS_MAX; i++)
		assert_int_equal(sr_buf_addf(&text, "%sc%d", i ? "," : "", i), SR_OK);
	add(&text, "\n");
	expect_ok(text.data, text.len);
	sr_buf_setlen(&text, text.len - 1);
	add(&text, ",one_more\n");
	expect_fail(text.data, text.len, SR_ELIMIT,
		    "t.csv: line 1, column 1025: header has more than the limit of 1024 columns");
	/* Column names up to SR_COLUMN_NAME_MAX bytes. */
	sr_buf_reset(&text);
	add(&text, "a,");
	add_bytes(&text, 'n', SR_COLUMN_NAME_MAX);
	add(&text, "\n1,2\n");
	expect_ok(text.data, text.len);
	sr_buf_reset(&text);
	add(&text, "a,");
	add_bytes(&text, 'n', SR_COLUMN_NAME_MAX + 1);
	add(&text, "\n1,2\n");
	expect_fail(text.data, text.len, SR_ELIMIT,
		    "t.csv: line 1, column 2: column name is longer than the limit of 128 bytes");
	/* Names are C strings: no NUL. */
	expect_fail("a,b\0c\n", 6, SR_EINVAL,
		    "t.csv: line 1, column 2: column name contains a NUL byte");
	sr_buf_release(&text);
}

/* Write text to a file and read it back; compare with the memory reader. */
static int read_file_all(const char *text, size_t len, struct sr_buf *out,
			 struct sr_err *err)
{
	char *dir = sr_test_tmpdir();
	char path[512];
	struct sr_csv *csv;
	int rc;

	snprintf(path, sizeof(path), "%s/t.csv", dir);
	sr_test_write_file(path, text, len);
	rc = sr_csv_open(path, &csv, err);
	if (rc == SR_OK) {
		rc = dump(csv, out, err);
		sr_csv_free(csv);
	}
	sr_test_tmpdir_free(dir);
	return rc;
}

static void test_field_limits(void **state)
{
	struct sr_buf text, out;
	struct sr_err err;

	(void)state;
	sr_buf_init(&text, 0);
	sr_buf_init(&out, 0);
	/* An unquoted field at the limit, then one byte over it. */
	add(&text, "a,b\n1,");
	add_bytes(&text, 'x', SR_CSV_FIELD_MAX);
	add(&text, "\n");
	expect_ok(text.data, text.len);
	sr_buf_setlen(&text, text.len - 1);
	add(&text, "x\n");
	expect_fail(text.data, text.len, SR_ELIMIT,
		    "t.csv: line 2, column 2 (b): field is longer than the limit of 1048576 bytes");
	/* The same through a file: the field is over the read window too. */
	sr_err_clear(&err);
	assert_int_equal(read_file_all(text.data, text.len, &out, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "/t.csv: line 2, column 2 (b): field is longer than the limit of 1048576 bytes"));

	/* The limit is on the value: doubled quotes count once. */
	sr_buf_reset(&text);
	add(&text, "a,b\n1,\"");
	add_bytes(&text, 'y', SR_CSV_FIELD_MAX - 1000);
	for (int i = 0; i < 1000; i++)
		add(&text, "\"\"");
	add(&text, "\"\n");
	expect_ok(text.data, text.len);
	sr_buf_setlen(&text, text.len - 2);
	add(&text, "z\"\n");
	expect_fail(text.data, text.len, SR_ELIMIT,
		    "t.csv: line 2, column 2 (b): field is longer than the limit of 1048576 bytes");

	/* A stray quote in a big input fails on the field limit, without
	 * scanning the rest, and says where the quote was. */
	sr_buf_reset(&text);
	add(&text, "a,b\n1,2\n3,\"stray\n");
	for (int i = 0; i < 1000000; i++)
		add(&text, "5,6\n");
	expect_fail(text.data, text.len, SR_ELIMIT,
		    "t.csv: line 3, column 2 (b): field is longer than the limit of 1048576 bytes (quote opened on line 3)");
	sr_buf_reset(&out);
	sr_err_clear(&err);
	assert_int_equal(read_file_all(text.data, text.len, &out, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "(quote opened on line 3)"));
	sr_buf_release(&text);
	sr_buf_release(&out);
}

/* 17 columns: 16 fields of FIELD_MAX - 1 bytes and 16 commas make a record
 * of exactly SR_CSV_ROW_MAX bytes with the 17th empty. */
static void make_row_at_limit(struct sr_buf *text, const char *line_end)
{
	sr_buf_reset(text);
	for (int i = 0; i < 17; i++)
		assert_int_equal(sr_buf_addf(text, "%sc%d", i ? "," : "", i), SR_OK);
	add(text, line_end);
	for (int i = 0; i < 16; i++) {
		add_bytes(text, 'a' + i, SR_CSV_FIELD_MAX - 1);
		add(text, ",");
	}
	_Static_assert(16 * (SR_CSV_FIELD_MAX - 1) + 16 == SR_CSV_ROW_MAX,
		       "row arithmetic");
}

static void test_row_limit(void **state)
{
	static const char *const line_ends[] = { "\n", "\r\n", "\r" };
	struct sr_buf text, out;
	struct sr_err err;

	(void)state;
	sr_buf_init(&text, 0);
	sr_buf_init(&out, 0);
	for (size_t e = 0; e < 3; e++) {
		/* Exactly at the limit, from memory and from a file. */
		make_row_at_limit(&text, line_ends[e]);
		add(&text, line_ends[e]);
		add(&text, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17");
		add(&text, line_ends[e]);
		expect_ok(text.data, text.len);
		sr_buf_reset(&out);
		sr_err_clear(&err);
		assert_int_equal(read_file_all(text.data, text.len, &out, &err), SR_OK);
		assert_non_null(strstr(out.data, "|3:[1][2]"));
		/* One byte more. */
		make_row_at_limit(&text, line_ends[e]);
		add(&text, "x");
		add(&text, line_ends[e]);
		expect_fail(text.data, text.len, SR_ELIMIT,
			    "t.csv: line 2, column 17 (c16): record is longer than the limit of 16777216 bytes");
		sr_buf_reset(&out);
		sr_err_clear(&err);
		assert_int_equal(read_file_all(text.data, text.len, &out, &err), SR_ELIMIT);
		assert_non_null(strstr(err.msg, "record is longer than the limit of 16777216 bytes"));
	}
	/* A file without a line end after the header: many short fields. */
	sr_buf_reset(&text);
	add(&text, "a\n");
	while (text.len < SR_CSV_ROW_MAX + 2 * WINDOW)
		add(&text, "0123456789,");
	expect_fail(text.data, text.len, SR_ELIMIT,
		    "record is longer than the limit of 16777216 bytes");
	sr_buf_reset(&out);
	sr_err_clear(&err);
	assert_int_equal(read_file_all(text.data, text.len, &out, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "t.csv: line 2, column "));
	assert_non_null(strstr(err.msg, "record is longer than the limit of 16777216 bytes"));
	sr_buf_release(&text);
	sr_buf_release(&out);
}

/*
 * Model-based data: each record is generated from a seed, written in one
 * of the encodings RFC 4180 allows (quoted or not when either is valid,
 * LF/CRLF/CR line ends, blank lines), and later regenerated from the same
 * seed to check what the reader returns.
 */
#define MODEL_COLS 5

struct model_record {
	struct sr_buf value[MODEL_COLS];
	int is_null[MODEL_COLS];
	uint64_t lines_before;   /* line ends in the chunk before the record */
	uint64_t lines;          /* line ends in the whole chunk */
};

static void model_init(struct model_record *m)
{
	for (int j = 0; j < MODEL_COLS; j++)
		sr_buf_init(&m->value[j], 0);
}

static void model_release(struct model_record *m)
{
	for (int j = 0; j < MODEL_COLS; j++)
		sr_buf_release(&m->value[j]);
}

static uint64_t count_line_ends(const char *s, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n')))
			n++;
	return n;
}

/*
 * Generate the next record into m and its text (blank lines, record, line
 * end) into chunk.  *last_cr says the previous chunk ended in a lone CR,
 * so this one must not start with LF (which would join it into CRLF).
 */
static void model_next(uint64_t *seed, int *last_cr, struct model_record *m,
		       struct sr_buf *chunk)
{
	static const char *const pieces[] = {
		"a", "b", "Z", "0", "7", "-", ".", " ", "\t", "x1", "hello",
		",", "\"", "\n", "\r", "\r\n", "é", "€", "😀", "ß",
	};
	static const char *const line_ends[] = { "\n", "\r\n", "\r" };
	const size_t npieces = sizeof(pieces) / sizeof(*pieces);
	uint64_t r = sr_test_rand(seed);
	const char *end;

	sr_buf_reset(chunk);
	/* Now and then a blank line. */
	if (r % 23 == 0) {
		end = line_ends[sr_test_rand(seed) % 3];
		if (*last_cr && end[0] == '\n')
			end = "\r\n";
		add(chunk, end);
		*last_cr = strcmp(end, "\r") == 0;
	}
	m->lines_before = count_line_ends(chunk->data, chunk->len);
	for (int j = 0; j < MODEL_COLS; j++) {
		uint64_t rr = sr_test_rand(seed);
		size_t pieces_n = rr % 16 == 0 ? 20 + rr % 40 : rr % 8;
		int must_quote = 0, quote;

		sr_buf_reset(&m->value[j]);
		m->is_null[j] = (rr >> 8) % 9 == 0;
		if (!m->is_null[j])
			for (size_t k = 0; k < pieces_n; k++) {
				uint64_t pr = sr_test_rand(seed);
				/* Mostly plain text, sometimes the specials. */
				const char *piece = pieces[pr % 4 ? pr % 11 : pr % npieces];
				add(&m->value[j], piece);
			}
		for (size_t k = 0; k < m->value[j].len; k++)
			if (strchr(",\"\n\r", m->value[j].data[k]))
				must_quote = 1;
		/* An empty value must be quoted, or it is NULL. */
		quote = must_quote || (!m->is_null[j] &&
				       (m->value[j].len == 0 || (rr >> 16) % 4 == 0));
		if (j)
			add(chunk, ",");
		if (quote) {
			add(chunk, "\"");
			for (size_t k = 0; k < m->value[j].len; k++) {
				char c = m->value[j].data[k];
				assert_int_equal(sr_buf_addch(chunk, c), SR_OK);
				if (c == '"')
					assert_int_equal(sr_buf_addch(chunk, c), SR_OK);
			}
			add(chunk, "\"");
		} else {
			assert_int_equal(sr_buf_add(chunk, m->value[j].data,
						    m->value[j].len), SR_OK);
		}
	}
	/* A record of all NULLs is a blank line only with one column. */
	end = line_ends[(r >> 8) % 3];
	add(chunk, end);
	*last_cr = strcmp(end, "\r") == 0;
	m->lines = count_line_ends(chunk->data, chunk->len);
}

/* Check the next record of csv against the model; *line is the line where
 * the chunk starts and moves past it. */
static void model_check(struct sr_csv *csv, const struct model_record *m,
			uint64_t *line, size_t index)
{
	const struct sr_csv_field *f;
	struct sr_err err;
	int eof = 1;

	sr_err_clear(&err);
	if (sr_csv_next(csv, &f, &eof, &err) != SR_OK || eof)
		fail_msg("record %zu: %s (eof %d)", index, err.msg, eof);
	if (sr_csv_line(csv) != *line + m->lines_before)
		fail_msg("record %zu: line %llu, want %llu", index,
			 (unsigned long long)sr_csv_line(csv),
			 (unsigned long long)(*line + m->lines_before));
	for (int j = 0; j < MODEL_COLS; j++) {
		if (f[j].is_null != m->is_null[j] || f[j].len != m->value[j].len ||
		    memcmp(f[j].data, m->value[j].data, f[j].len) != 0)
			fail_msg("record %zu column %d: got %d '%.*s', want %d '%s'",
				 index, j, f[j].is_null, (int)f[j].len, f[j].data,
				 m->is_null[j], m->value[j].data);
	}
	*line += m->lines;
}

static const char model_header[] = "\xef\xbb\xbf" "id,\"na\"\"me\",x,y,z\r\n";

/* Generate records from seed until text holds at least min_bytes. */
static size_t model_text(uint64_t seed, size_t min_bytes, struct sr_buf *text)
{
	struct model_record m;
	struct sr_buf chunk;
	size_t records = 0;
	int last_cr = 0;

	model_init(&m);
	sr_buf_init(&chunk, 0);
	add(text, model_header);
	while (text->len < min_bytes) {
		model_next(&seed, &last_cr, &m, &chunk);
		assert_int_equal(sr_buf_add(text, chunk.data, chunk.len), SR_OK);
		records++;
	}
	sr_buf_release(&chunk);
	model_release(&m);
	return records;
}

static void model_verify(struct sr_csv *csv, uint64_t seed, size_t records)
{
	struct model_record m;
	struct sr_buf chunk;
	const struct sr_csv_field *f;
	struct sr_err err;
	uint64_t line = 2;
	int last_cr = 0, eof = 0;

	model_init(&m);
	sr_buf_init(&chunk, 0);
	assert_int_equal(sr_csv_columns(csv), MODEL_COLS);
	assert_string_equal(sr_csv_column_name(csv, 1), "na\"me");
	assert_null(sr_csv_column_name(csv, MODEL_COLS));
	for (size_t i = 0; i < records; i++) {
		model_next(&seed, &last_cr, &m, &chunk);
		model_check(csv, &m, &line, i);
	}
	sr_err_clear(&err);
	assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
	assert_int_equal(eof, 1);
	assert_int_equal(sr_csv_offset(csv), sr_csv_size(csv));
	sr_buf_release(&chunk);
	model_release(&m);
}

/* Small model texts from memory, many seeds. */
static void test_model_memory(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 300; seed++) {
		struct sr_buf text;
		struct sr_csv *csv;
		struct sr_err err;
		size_t records;

		sr_buf_init(&text, 0);
		records = model_text(seed, 1 + seed * 17, &text);
		sr_err_clear(&err);
		assert_int_equal(sr_csv_open_mem(text.data, text.len, "m.csv", &csv,
						 &err), SR_OK);
		assert_int_equal(sr_csv_size(csv), text.len);
		model_verify(csv, seed, records);
		/* A second pass from memory gives the same. */
		assert_int_equal(sr_csv_rewind(csv, &err), SR_OK);
		model_verify(csv, seed, records);
		sr_csv_free(csv);
		sr_buf_release(&text);
	}
}

/* A 5 MB file, five times the read window, with records of every kind
 * straddling the window boundaries; two passes through rewind, and the
 * memory reader on the same bytes, all give the model's values. */
static void test_big_file_and_rewind(void **state)
{
	const uint64_t seed = 4180;
	char *dir = sr_test_tmpdir();
	char path[512];
	struct sr_buf text;
	struct sr_csv *csv;
	struct sr_err err;
	size_t records;
	uint64_t last_offset = 0;

	(void)state;
	sr_buf_init(&text, 0);
	records = model_text(seed, 5u << 20, &text);
	snprintf(path, sizeof(path), "%s/big.csv", dir);
	sr_test_write_file(path, text.data, text.len);
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open(path, &csv, &err), SR_OK);
	assert_string_equal(sr_csv_name(csv), path);
	assert_int_equal(sr_csv_size(csv), text.len);
	for (int pass = 0; pass < 2; pass++) {
		model_verify(csv, seed, records);
		assert_int_equal(sr_csv_rewind(csv, &err), SR_OK);
		assert_int_equal(sr_csv_offset(csv), sizeof(model_header) - 1);
	}
	/* Progress only moves forward. */
	for (;;) {
		const struct sr_csv_field *f;
		int eof;
		assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
		if (eof)
			break;
		assert_true(sr_csv_offset(csv) > last_offset);
		last_offset = sr_csv_offset(csv);
	}
	sr_csv_free(csv);
	assert_int_equal(sr_csv_open_mem(text.data, text.len, "big", &csv, &err), SR_OK);
	model_verify(csv, seed, records);
	sr_csv_free(csv);
	sr_buf_release(&text);
	sr_test_tmpdir_free(dir);
}

/* Read the same bytes from memory and from a file, record by record. */
static void same_records(const char *text, size_t len, const char *path)
{
	struct sr_csv *mem, *file;
	struct sr_err err;
	size_t n = 0;

	sr_test_write_file(path, text, len);
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open_mem(text, len, "m", &mem, &err), SR_OK);
	assert_int_equal(sr_csv_open(path, &file, &err), SR_OK);
	assert_int_equal(sr_csv_columns(mem), sr_csv_columns(file));
	for (;; n++) {
		const struct sr_csv_field *a, *b;
		int eof_a, eof_b;

		assert_int_equal(sr_csv_next(mem, &a, &eof_a, &err), SR_OK);
		if (sr_csv_next(file, &b, &eof_b, &err) != SR_OK)
			fail_msg("record %zu: %s", n, err.msg);
		assert_int_equal(eof_a, eof_b);
		if (eof_a)
			break;
		assert_int_equal(sr_csv_line(mem), sr_csv_line(file));
		for (size_t j = 0; j < sr_csv_columns(mem); j++) {
			assert_int_equal(a[j].is_null, b[j].is_null);
			assert_int_equal(a[j].len, b[j].len);
			assert_memory_equal(a[j].data, b[j].data, a[j].len);
		}
	}
	assert_true(n > 100);
	sr_csv_free(mem);
	sr_csv_free(file);
}

/*
 * Put each tricky token at every position around the end of the first
 * read window, so that the window ends inside it at each of its bytes.
 */
static void test_window_boundaries(void **state)
{
	static const char *const tokens[] = {
		"r1,r2\r\n",
		"r1,r2\r",
		"\"a\"\"b\",c\n",
		"\"\"\"\"\"\",\"\"\"\"\n",
		"\"multi\r\nline\",c\r\n",
		"\"lone\rcr\",\"\"\n",
		"é€😀,\"😀\"\n",
		",\n",
		"\"q\",\"\"\r\n",
	};
	char *dir = sr_test_tmpdir();
	char path[512];
	struct sr_buf text;

	(void)state;
	snprintf(path, sizeof(path), "%s/w.csv", dir);
	sr_buf_init(&text, 0);
	for (size_t t = 0; t < sizeof(tokens) / sizeof(*tokens); t++) {
		size_t tlen = strlen(tokens[t]);

		for (size_t at = WINDOW - tlen - 1; at <= WINDOW + 1; at++) {
			sr_buf_reset(&text);
			add(&text, "h1,h2\n");
			/* Filler records, then one of the right length. */
			while (WINDOW - 200 > text.len + 100)
				add(&text, "filler-filler-filler-filler-filler,0123456789012345678901234567890123456789\n");
			add(&text, "pad,");
			add_bytes(&text, 'p', at - text.len - 1);
			add(&text, "\n");
			assert_int_equal(text.len, at);
			add(&text, tokens[t]);
			for (int i = 0; i < 20; i++)
				add(&text, "after,after\n");
			same_records(text.data, text.len, path);
		}
	}
	sr_buf_release(&text);
	sr_test_tmpdir_free(dir);
}

static void test_open_errors(void **state)
{
	struct sr_csv *csv = (struct sr_csv *)&csv;
	struct sr_err err;
	char *dir = sr_test_tmpdir();
	char path[512];
	int rc;

	(void)state;
	sr_err_clear(&err);
	rc = sr_csv_open("/nonexistent/x.csv", &csv, &err);
	assert_true(rc == SR_ENOTFOUND || rc == SR_EIO);
	assert_int_equal(rc, SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/x.csv"));
	assert_null(csv);
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open(dir, &csv, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "is a directory"));
	/* A file's errors name the path. */
	snprintf(path, sizeof(path), "%s/e.csv", dir);
	sr_test_write_file(path, "", 0);
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open(path, &csv, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, ": file is empty: a header row is required"));
	sr_test_write_file(path, "a,b\n1,2\n3\n", 10);
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open(path, &csv, &err), SR_OK);
	{
		const struct sr_csv_field *f;
		int eof;
		char want[600];
		assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
		assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_EINVAL);
		snprintf(want, sizeof(want), "%s: line 3, column 2 (b): expected 2 fields, got 1",
			 path);
		assert_string_equal(err.msg, want);
	}
	sr_csv_free(csv);
	sr_csv_free(NULL);
	sr_test_tmpdir_free(dir);
}

static const char tricky[] =
	"\xef\xbb\xbf" "id,\"na,me\",x\r\n1,\"a\"\"b\",\n\n2,\"multi\nline\",\"\"\n3,Zoë,\"z\"\"\"\"\"\r";
static const char tricky_want[] =
	"<id><na,me><x>|2:[1][a\"b]N|4:[2][multi\nline][]|6:[3][Zoë][z\"\"]";

static void test_allocation_failures(void **state)
{
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
		rc = read_all(tricky, sizeof(tricky) - 1, &out, &err);
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK) {
			succeeded = 1;
			assert_string_equal(out.data, tricky_want);
		} else if (rc != SR_ENOMEM) {
			fail_msg("allocation %lu: got %d (%s)", n, rc, err.msg);
		} else {
			assert_non_null(strstr(err.msg, "out of memory"));
		}
		sr_buf_release(&out);
	}
	assert_true(succeeded);
}

/* The same through a file, with a rewind and a second pass. */
static void test_allocation_failures_file(void **state)
{
	char *dir = sr_test_tmpdir();
	char path[512];
	int succeeded = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/t.csv", dir);
	sr_test_write_file(path, tricky, sizeof(tricky) - 1);
	for (unsigned long n = 1; n < 10000 && !succeeded; n++) {
		struct sr_buf out;
		struct sr_csv *csv = NULL;
		struct sr_err err;
		int rc;

		sr_buf_init(&out, 0);
		assert_int_equal(sr_buf_grow(&out, 4096), SR_OK);
		sr_err_clear(&err);
		sr_alloc_fail_at(n, 0);
		rc = sr_csv_open(path, &csv, &err);
		if (rc == SR_OK)
			rc = dump(csv, &out, &err);
		if (rc == SR_OK)
			rc = sr_csv_rewind(csv, &err);
		if (rc == SR_OK) {
			sr_buf_reset(&out);
			rc = dump(csv, &out, &err);
		}
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK) {
			succeeded = 1;
			assert_string_equal(out.data, tricky_want);
		} else if (rc != SR_ENOMEM) {
			fail_msg("allocation %lu: got %d (%s)", n, rc, err.msg);
		}
		sr_csv_free(csv);
		sr_buf_release(&out);
	}
	assert_true(succeeded);
	sr_test_tmpdir_free(dir);
}


/* Read text (from memory, and again through a file) with opts into out. */
static int read_opts(const char *text, size_t len,
		     const struct sr_csv_options *opts, struct sr_buf *out,
		     struct sr_err *err)
{
	struct sr_csv *csv;
	int rc;

	sr_err_clear(err);
	rc = sr_csv_open_mem_ex(text, len, "t.csv", opts, &csv, err);
	if (rc) {
		assert_null(csv);
		return rc;
	}
	rc = dump(csv, out, err);
	sr_csv_free(csv);
	return rc;
}

static void expect_opts(const char *text, const struct sr_csv_options *opts,
			const char *want)
{
	struct sr_buf out;
	struct sr_err err;
	char *dir = sr_test_tmpdir(), path[512];
	struct sr_csv *csv;
	int rc;

	sr_buf_init(&out, 0);
	rc = read_opts(text, strlen(text), opts, &out, &err);
	if (rc || strcmp(out.data, want) != 0)
		fail_msg("%s: got %d '%s' (%s), want '%s'", text, rc, out.data,
			 err.msg, want);
	/* The same from a file, then again after a rewind. */
	snprintf(path, sizeof(path), "%s/t.csv", dir);
	sr_test_write_file(path, text, strlen(text));
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open_ex(path, opts, &csv, &err), SR_OK);
	for (int pass = 0; pass < 2; pass++) {
		sr_buf_reset(&out);
		assert_int_equal(dump(csv, &out, &err), SR_OK);
		if (strcmp(out.data, want) != 0)
			fail_msg("file pass %d: got '%s', want '%s'", pass, out.data, want);
		assert_int_equal(sr_csv_rewind(csv, &err), SR_OK);
	}
	sr_csv_free(csv);
	sr_test_tmpdir_free(dir);
	sr_buf_release(&out);
}

static void expect_opts_fail(const char *text, const struct sr_csv_options *opts,
			     int code, const char *want)
{
	struct sr_buf out;
	struct sr_err err;
	int rc;

	sr_buf_init(&out, 0);
	rc = read_opts(text, strlen(text), opts, &out, &err);
	if (rc != code || strcmp(err.msg, want) != 0)
		fail_msg("%s: got %d '%s', want %d '%s'", text, rc, err.msg, code, want);
	sr_buf_release(&out);
}

static void test_shape_options(void **state)
{
	static const char *const names[] = { "x", "y" };
	static const char *const dup[] = { "x", "x" };
	static const char *const empty[] = { "x", "" };
	struct sr_csv_options o;
	struct sr_csv *csv;
	struct sr_err err;

	(void)state;
	sr_csv_options_init(&o);
	o.delimiter = ';';
	expect_opts("a;b\n1,5;\"x;y\"\n", &o, "<a><b>|2:[1,5][x;y]");
	o.delimiter = '\t';
	o.quote = '\'';
	expect_opts("a\tb\n'it''s'\t\"q\"\n", &o, "<a><b>|2:[it's][\"q\"]");
	o.delimiter = ' ';
	o.quote = '"';
	/* sklearn's linnerud files */
	expect_opts("Chins Situps Jumps\n5 162 60\n", &o,
		    "<Chins><Situps><Jumps>|2:[5][162][60]");

	/* The metadata line of sklearn's CSVs, then a header. */
	sr_csv_options_init(&o);
	o.skip_lines = 1;
	expect_opts("506,13,,,\n\"CRIM\",\"ZN\"\n0.1,18\n", &o, "<CRIM><ZN>|3:[0.1][18]");
	/* Skipped lines need not be CSV, and a CR or CRLF ends them too. */
	o.skip_lines = 3;
	expect_opts("# \"unbalanced\r\nmeta\rmore\na\n1\n", &o, "<a>|5:[1]");
	o.skip_lines = 4;
	expect_opts_fail("m\nm\na\n", &o, SR_EINVAL,
			 "t.csv: --skip-lines 4 skips the whole file (3 lines)");
	o.skip_lines = SR_CSV_SKIP_LINES_MAX + 1;
	expect_opts_fail("a\n", &o, SR_ELIMIT,
			 "t.csv: --skip-lines: 1000001 is more than the limit of 1000000");

	/* A file without a header: names given. */
	sr_csv_options_init(&o);
	o.header = names;
	o.header_count = 2;
	expect_opts("1,2\n3,4\n", &o, "<x><y>|1:[1][2]|2:[3][4]");
	o.skip_lines = 1;
	expect_opts("150,4,setosa,versicolor\n5.1,0\n", &o, "<x><y>|2:[5.1][0]");
	expect_opts_fail("150,4\n5.1,3.5,1.4\n", &o, SR_EINVAL,
			 "t.csv: line 2, column 3: expected 2 fields (the names in --header), got 3");
	o.skip_lines = 0;
	o.header = dup;
	expect_opts_fail("1,2\n", &o, SR_EINVAL,
			 "t.csv: --header: column 2: duplicate column name 'x' (also column 1)");
	o.header = empty;
	expect_opts_fail("1,2\n", &o, SR_EINVAL,
			 "t.csv: --header: column 2: empty column name");
	o.header_count = 0;
	expect_opts_fail("1,2\n", &o, SR_EINVAL,
			 "t.csv: --header: expected 1 to 1024 column names, got 0");

	/* Bad option values are refused before anything is read. */
	sr_csv_options_init(&o);
	o.quote = ',';
	expect_opts_fail("a\n", &o, SR_EINVAL,
			 "t.csv: --quote: the quote character cannot be the delimiter ','");
	o.quote = '\n';
	expect_opts_fail("a\n", &o, SR_EINVAL,
			 "t.csv: --quote: expected one ASCII character other than a line end");
	sr_err_clear(&err);
	assert_int_equal(sr_csv_encoding_parse("ebcdic", &o.encoding, &err), SR_EINVAL);
	assert_string_equal(err.msg,
			    "--encoding: unknown encoding 'ebcdic' (expected utf8 or latin1)");
	assert_int_equal(sr_csv_encoding_parse("ISO-8859-1", &o.encoding, &err), SR_OK);
	assert_int_equal(o.encoding, SR_CSV_LATIN1);

	/* Fields say whether they were quoted (a quoted "NA" is a value). */
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open_mem("a,b\nNA,\"NA\"\n", 12, "t.csv", &csv, &err), SR_OK);
	{
		const struct sr_csv_field *f;
		int eof;
		assert_int_equal(sr_csv_next(csv, &f, &eof, &err), SR_OK);
		assert_false(f[0].quoted);
		assert_true(f[1].quoted);
	}
	sr_csv_free(csv);
}

/* Latin-1: converted to UTF-8 on read, in memory and through a file much
 * larger than the window, with a rewind to the first record after a
 * skipped line and a header that hold high bytes. */
static void test_latin1(void **state)
{
	struct sr_csv_options o;
	struct sr_buf text, first, second;
	struct sr_csv *csv;
	struct sr_err err;
	char *dir, path[512];

	(void)state;
	sr_csv_options_init(&o);
	o.encoding = SR_CSV_LATIN1;
	expect_opts("nom,ville\nZo\xeb,K\xf6ln\n", &o,
		    "<nom><ville>|2:[Zo\xc3\xab][K\xc3\xb6ln]");
	/* Without the option the same bytes are invalid UTF-8. */
	expect_fail("nom,ville\nZo\xeb,K\xf6ln\n", 20, SR_EINVAL,
		    "t.csv: line 2, column 1 (nom): invalid UTF-8");

	sr_buf_init(&text, 0);
	sr_buf_init(&first, 0);
	sr_buf_init(&second, 0);
	add(&text, "m\xe9ta\xff\xfe\n\xe9t\xe9,caf\xe9\n");
	for (int i = 0; i < 200000; i++)
		assert_int_equal(sr_buf_addf(&text, "%d\xe0\xe9,\xff%d\n", i, i % 7), SR_OK);
	dir = sr_test_tmpdir();
	snprintf(path, sizeof(path), "%s/l.csv", dir);
	sr_test_write_file(path, text.data, text.len);
	o.skip_lines = 1;
	sr_err_clear(&err);
	assert_int_equal(sr_csv_open_ex(path, &o, &csv, &err), SR_OK);
	assert_string_equal(sr_csv_column_name(csv, 0), "\xc3\xa9t\xc3\xa9");
	assert_int_equal(dump(csv, &first, &err), SR_OK);
	assert_true(sr_csv_offset(csv) <= sr_csv_size(csv));
	assert_int_equal(sr_csv_rewind(csv, &err), SR_OK);
	assert_int_equal(dump(csv, &second, &err), SR_OK);
	assert_string_equal(first.data, second.data);
	assert_non_null(strstr(first.data, "|200002:[199999\xc3\xa0\xc3\xa9][\xc3\xbf" "2]"));
	sr_csv_free(csv);
	sr_test_tmpdir_free(dir);
	sr_buf_release(&text);
	sr_buf_release(&first);
	sr_buf_release(&second);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_nul_in_field),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_field_limits),
		cmocka_unit_test(test_row_limit),
		cmocka_unit_test(test_model_memory),
		cmocka_unit_test(test_big_file_and_rewind),
		cmocka_unit_test(test_window_boundaries),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_allocation_failures_file),
		cmocka_unit_test(test_shape_options),
		cmocka_unit_test(test_latin1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
