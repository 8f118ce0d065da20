/*
 * fuzz_copytext.c - libFuzzer target for rows of PostgreSQL's COPY text
 * format (store/copytext.h): any row must split or fail with a message,
 * never crash or leak; every field handed out is read whole (for ASan),
 * is valid UTF-8, and a NULL is empty.  The first byte picks the column
 * count (1 to 8) and which columns are booleans.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/copytext.h"
#include "store/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the reads of every field from being optimized away. */
static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "a", "b", "c", "d", "e", "f", "g", "h" };
	int bools[8];
	struct sr_copytext ct;
	struct sr_err err;
	size_t ncols;
	uint64_t sum = 0;

	if (size == 0)
		return 0;
	ncols = (size_t)(data[0] & 7) + 1;
	for (size_t j = 0; j < 8; j++)
		bools[j] = (data[0] >> 3) & 1 && j % 2 == 0;
	memset(&ct, 0, sizeof(ct));
	if (sr_copytext_init(&ct, ncols, bools) != SR_OK)
		return 0;
	sr_err_clear(&err);
	if (sr_copytext_split(&ct, (const char *)data + 1, size - 1, "fuzz", 1,
			      names, &err) != SR_OK) {
		if (!err.msg[0])
			abort();
	} else {
		for (size_t j = 0; j < ncols; j++) {
			const struct sr_csv_field *f = &ct.fields[j];
			if (f->is_null && f->len)
				abort();
			if (!sr_utf8_valid(f->data, f->len))
				abort();
			for (size_t k = 0; k < f->len; k++)
				sum += (unsigned char)f->data[k];
		}
	}
	sr_copytext_release(&ct);
	sink = sum;
	return 0;
}
