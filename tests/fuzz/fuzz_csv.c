/*
 * fuzz_csv.c - libFuzzer target for the CSV reader: any input must either
 * parse or fail with a status and a message, never crash, hang or leak.
 * Every byte of every field is read (so ASan checks the borrowed pointers),
 * fields are checked against the reader's own promises (NULL is empty,
 * values are valid UTF-8), and a rewind must give the same records again.
 * The first byte picks the shape options (delimiter, quote, Latin-1,
 * lines to skip), so that every option sees the same inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "store/csv.h"
#include "store/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read all records; return a checksum of everything returned. */
static uint64_t read_all(struct sr_csv *csv, int *rc_out)
{
	const struct sr_csv_field *f;
	struct sr_err err;
	uint64_t sum = 0;
	int eof = 0, rc;

	sr_err_clear(&err);
	for (;;) {
		rc = sr_csv_next(csv, &f, &eof, &err);
		if (rc != SR_OK) {
			if (err.msg[0] == '\0')
				abort();   /* every failure explains itself */
			break;
		}
		if (eof)
			break;
		sum = sum * 31 + sr_csv_line(csv);
		for (size_t j = 0; j < sr_csv_columns(csv); j++) {
			if (f[j].is_null && f[j].len != 0)
				abort();
			if (!sr_utf8_valid(f[j].data, f[j].len))
				abort();
			sum = sum * 31 + (uint64_t)f[j].is_null + f[j].len;
			for (size_t k = 0; k < f[j].len; k++)
				sum = sum * 31 + (unsigned char)f[j].data[k];
		}
	}
	*rc_out = rc;
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = { ',', ';', '\t', ' ' };
	struct sr_csv_options opts;
	struct sr_csv *csv = NULL;
	struct sr_err err;
	uint64_t first, second;
	int rc1, rc2;

	sr_err_clear(&err);
	sr_csv_options_init(&opts);
	if (size > 0) {
		opts.delimiter = delims[data[0] & 3];
		opts.quote = data[0] & 4 ? '\'' : '"';
		opts.encoding = data[0] & 8 ? SR_CSV_LATIN1 : SR_CSV_UTF8;
		opts.skip_lines = (data[0] >> 4) & 3;
		data++;
		size--;
	}
	if (sr_csv_open_mem_ex(data, size, "fuzz.csv", &opts, &csv, &err) != SR_OK) {
		if (csv || err.msg[0] == '\0')
			abort();
		return 0;
	}
	for (size_t j = 0; j < sr_csv_columns(csv); j++) {
		const char *name = sr_csv_column_name(csv, j);
		if (!name[0] || !sr_utf8_valid(name, strlen(name)))
			abort();
	}
	first = read_all(csv, &rc1);
	/* Only a reader that did not fail may be used again. */
	if (rc1 == SR_OK) {
		if (opts.encoding == SR_CSV_UTF8 && sr_csv_offset(csv) != size)
			abort();
		if (sr_csv_rewind(csv, &err) != SR_OK)
			abort();
		second = read_all(csv, &rc2);
		if (rc2 != SR_OK || second != first)
			abort();
	}
	sr_csv_free(csv);
	return 0;
}
