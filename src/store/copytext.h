/*
 * copytext.h - one row of PostgreSQL's COPY text format, as `COPY ... TO
 * STDOUT` writes it: fields separated by tabs, the row ended by a line
 * feed, \N for NULL, and backslash escapes (\b \f \n \r \t \v \\) for
 * the bytes that would break the format.  Split into the fields import
 * reads (struct sr_csv_field); escaped fields are unescaped into the
 * splitter's scratch buffer and marked quoted, so a null token never
 * matches them.  Booleans (t, f) of the columns marked in is_bool become
 * true and false.
 *
 * The row comes from the server and is checked like a CSV record: the
 * field count, SR_CSV_FIELD_MAX, UTF-8.
 */
#ifndef SR_COPYTEXT_H
#define SR_COPYTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/csv.h"

struct sr_copytext {
	size_t ncols;
	const int *is_bool;           /* ncols flags, borrowed, or NULL */
	struct sr_csv_field *fields;  /* ncols, valid until the next split */
	size_t *scratch_at;
	struct sr_buf scratch;
};

/* Zero ct first (memset or = { 0 }) before the first init.  Sizes the
 * splitter for ncols columns; SR_ENOMEM. */
int sr_copytext_init(struct sr_copytext *ct, size_t ncols,
		     const int *is_bool) SR_WUR;
void sr_copytext_release(struct sr_copytext *ct);

/*
 * Split row[0, len) (its line feed included or not) into ct->fields.
 * Errors name what, the row number and the column (names, ncols):
 * SR_EPROTO for a field count other than ncols, SR_ELIMIT for a field over
 * SR_CSV_FIELD_MAX, SR_EINVAL for invalid UTF-8, SR_ENOMEM.
 */
int sr_copytext_split(struct sr_copytext *ct, const char *row, size_t len,
		      const char *what, uint64_t rowno,
		      const char *const *names, struct sr_err *err) SR_WUR;

#endif
