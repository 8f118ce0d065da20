/*
 * fuzz_csv.c - libFuzzer target for the CSV reader: any input must either
 * parse or fail with a status, never crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/err.h"
#include "store/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_csv *csv = NULL;
	const struct sr_csv_field *f;
	struct sr_err err;
	unsigned sum = 0;
	int eof = 0;

	sr_err_clear(&err);
	if (sr_csv_open_mem(data, size, "fuzz.csv", &csv, &err) != SR_OK)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		for (;;) {
			if (sr_csv_next(csv, &f, &eof, &err) != SR_OK || eof)
				break;
			for (size_t j = 0; j < sr_csv_columns(csv); j++)
				for (size_t k = 0; k < f[j].len; k++)
					sum += (unsigned char)f[j].data[k];
		}
		if (sr_csv_rewind(csv, &err) != SR_OK)
			break;
	}
	sr_csv_free(csv);
	sink = sum;   /* keeps the reads from being optimized away */
	return 0;
}
