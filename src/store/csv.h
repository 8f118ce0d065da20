/*
 * csv.h - streaming RFC 4180 CSV reader.
 *
 * Accepts quotes, doubled quotes inside quotes, embedded CR/LF in quoted
 * fields, CRLF or LF line ends and a UTF-8 byte-order mark.  The first
 * record is the header and is required.  Reading is streamed through a
 * fixed-size window, so memory stays bounded by SR_CSV_ROW_MAX whatever the
 * file size.
 *
 * NULL: an empty unquoted field is NULL; a quoted empty field ("") is the
 * empty string.  Other null tokens (NA, NULL, ...) are the importer's
 * business: a field says whether it was quoted, so that a quoted "NA" can
 * stay a value.
 *
 * Shape options (struct sr_csv_options): another delimiter or quote byte,
 * Latin-1 input (converted to UTF-8 as it is read, so every field handed
 * out is UTF-8), physical lines to skip before the header (the metadata
 * line of sklearn's CSVs), and column names for a file without a header
 * line.
 *
 * Errors name the input, the physical line (1-based) where the record
 * started — or where the problem is, for an unterminated quote, the line of
 * the opening quote — and the column (1-based, with its header name when
 * known), e.g.
 *     "sales.csv: line 12, column 3 (amount): invalid UTF-8"
 */
#ifndef SR_CSV_H
#define SR_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct sr_csv;

struct sr_csv_field {
	const char *data;  /* not NUL-terminated; borrowed, see sr_csv_next */
	size_t len;
	int is_null;       /* empty and unquoted */
	int quoted;        /* the field was in quotes */
};

enum sr_csv_encoding {
	SR_CSV_UTF8 = 0,      /* checked, never converted */
	SR_CSV_LATIN1 = 1,    /* ISO-8859-1, converted to UTF-8 on read */
};

/* "utf8"/"utf-8", "latin1"/"latin-1"/"iso-8859-1" (any case); SR_EINVAL
 * with a message naming the known encodings otherwise. */
int sr_csv_encoding_parse(const char *name, enum sr_csv_encoding *out,
			  struct sr_err *err) SR_WUR;

struct sr_csv_options {
	char delimiter;              /* field separator; ',' by default */
	char quote;                  /* quote byte; '"' by default */
	enum sr_csv_encoding encoding;
	uint64_t skip_lines;         /* physical lines skipped before the
				      * header (or the first record), at most
				      * SR_CSV_SKIP_LINES_MAX */
	const char *const *header;   /* names of a file without a header line
				      * (borrowed for the open call only), or
				      * NULL: the first record is the header */
	size_t header_count;
};

/* Defaults: ',', '"', UTF-8, nothing skipped, header in the file. */
void sr_csv_options_init(struct sr_csv_options *opts);

/* Check a delimiter or quote byte given by a user: one ASCII byte other
 * than CR, LF and NUL, and the two differ.  what names the option. */
int sr_csv_options_check(const struct sr_csv_options *opts,
			 struct sr_err *err) SR_WUR;

/*
 * Open a file and read its header.  The header must have 1 to
 * SR_DATASET_COLUMNS_MAX fields, each non-empty, valid UTF-8, at most
 * SR_COLUMN_NAME_MAX bytes and unique (names from opts->header too).
 * opts may be NULL (the defaults).  *out is freed with sr_csv_free.
 */
int sr_csv_open(const char *path, struct sr_csv **out, struct sr_err *err) SR_WUR;
int sr_csv_open_ex(const char *path, const struct sr_csv_options *opts,
		   struct sr_csv **out, struct sr_err *err) SR_WUR;

/* Same over a memory buffer that must outlive the reader; name is used in
 * error messages.  Latin-1 input is converted into a copy. */
int sr_csv_open_mem(const void *data, size_t len, const char *name,
		    struct sr_csv **out, struct sr_err *err) SR_WUR;
int sr_csv_open_mem_ex(const void *data, size_t len, const char *name,
		       const struct sr_csv_options *opts, struct sr_csv **out,
		       struct sr_err *err) SR_WUR;

void sr_csv_free(struct sr_csv *csv);

/* Header: sr_csv_columns() entries, valid until sr_csv_free. */
size_t sr_csv_columns(const struct sr_csv *csv);
const char *sr_csv_column_name(const struct sr_csv *csv, size_t index);

/*
 * Read the next record.  On SR_OK with *eof == 0, *fields points at
 * sr_csv_columns() fields valid until the next call to sr_csv_next,
 * sr_csv_rewind or sr_csv_free.  At the end of input *eof is 1.  A record
 * whose field count differs from the header fails ("expected N fields, got
 * M"; with a hint at --skip-lines when the first record after a header
 * line differs, and naming --header when the names came from there), as
 * does invalid UTF-8 in any field, a field over SR_CSV_FIELD_MAX, a
 * record over SR_CSV_ROW_MAX, text after a closing quote, or an unterminated
 * quote.  Blank lines are skipped.  After a failure the reader must not be
 * used again except to free it.
 */
int sr_csv_next(struct sr_csv *csv, const struct sr_csv_field **fields,
		int *eof, struct sr_err *err) SR_WUR;

/* Go back to the first record after the header (for a second pass). */
int sr_csv_rewind(struct sr_csv *csv, struct sr_err *err) SR_WUR;

/* Physical line (1-based) where the last record returned started. */
uint64_t sr_csv_line(const struct sr_csv *csv);
/* Bytes consumed so far and total input size (for progress). */
uint64_t sr_csv_offset(const struct sr_csv *csv);
uint64_t sr_csv_size(const struct sr_csv *csv);
/* Name used in messages. */
const char *sr_csv_name(const struct sr_csv *csv);

#endif
