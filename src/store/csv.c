/*
 * csv.c - streaming RFC 4180 reader (see csv.h).
 *
 * The reader keeps a window buf[start, end) of unread input.  A record is
 * parsed in place; when it runs past the end of the window, the unread part
 * is moved to the front, the window grows if one record needs more room (up
 * to SR_CSV_ROW_MAX plus some slack), more input is read, and the record is
 * parsed again from its start.  Re-parsing keeps the parser free of resume
 * state and costs little: each retry brings at least a quarter window of
 * new input, and the window doubles once a record fills three quarters of
 * it, so a long record is parsed a few times per doubling, linear overall.
 *
 * Unquoted fields and quoted fields without doubled quotes point straight
 * into the window; only fields with doubled quotes are copied, unescaped,
 * into a scratch buffer.  Memory input is parsed where it lies, without a
 * copy.
 *
 * Every field is checked against SR_CSV_FIELD_MAX while it is scanned, so a
 * runaway field (a stray quote, a file without line ends) fails after at
 * most two field-lengths of input instead of filling the whole window.
 *
 * The delimiter and quote bytes are the reader's own (struct sr_csv_options),
 * so the stop tables and the eight-byte patterns live in the reader.
 * Latin-1 input is converted to UTF-8 as it is read into the window: every
 * byte from 0x80 becomes two, whose first (0xc2 or 0xc3) is counted when it
 * leaves the window, so that the file offset of any window position is
 * known (rewind seeks to the first record by it).
 */
#include "store/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/limits.h"
#include "store/value.h"
#include "base/banned.h"

/* First window size, and the least free space a read is given. */
#define WINDOW_BYTES (1u << 20)
/* Room for the longest record, its line end and a full read behind it. */
#define WINDOW_MAX (SR_CSV_ROW_MAX + WINDOW_BYTES)

/* parse_record() outcome besides SR_OK and errors (which are negative). */
#define NEED_MORE 1

struct sr_csv {
	int fd;                      /* -1 for memory input */
	char delim, quote;
	int latin1;                  /* convert Latin-1 to UTF-8 on read */
	char *raw;                   /* Latin-1 read buffer (RAW_BYTES) */
	char *converted;             /* Latin-1 memory input as UTF-8, owned */
	uint64_t raw_adjust;         /* lead bytes that left the window */
	int names_given;             /* header from sr_csv_options */
	uint64_t records;            /* records returned since the header */
	uint64_t header_line;        /* line of the header record, 0 if given */
	unsigned char plain_stop[256];  /* bytes that end an unquoted field */
	unsigned char quoted_stop[256]; /* bytes a quoted field stops at */
	char *name;
	const char *buf;             /* the window, or the memory input */
	char *window;                /* owned window (file input), or NULL */
	size_t cap;                  /* bytes allocated for window */
	size_t start, end;           /* unread input is buf[start, end) */
	int input_done;              /* buf[end] is the end of input */
	uint64_t buf_offset;         /* input offset of buf[0] */
	uint64_t size;               /* input size (0 if unknown) */
	uint64_t line;               /* physical line of buf[start] */
	uint64_t record_line;        /* line of the last record returned */
	uint64_t data_offset;        /* input offset of the first record (of
				      * the file, for file input; of buf,
				      * for memory input) */
	uint64_t data_line;
	size_t ncols;                /* header columns; 0 while reading it */
	char **names;                /* header names, NUL-terminated */
	size_t nnames;               /* entries of names */
	struct sr_csv_field *fields; /* fields_cap entries */
	size_t *scratch_at;          /* per field: offset of unescaped text */
	size_t fields_cap;
	struct sr_buf scratch;       /* unescaped fields of the current record */
};

/* Latin-1 bytes read at a time; each becomes at most two in the window. */
#define RAW_BYTES (WINDOW_BYTES / 2)

#define BYTES_01 0x0101010101010101ull
#define BYTES_80 0x8080808080808080ull

/* High bit set in each zero byte of w, and maybe in bytes above the first
 * zero byte (borrows); the lowest bit set is always exact. */
static inline uint64_t zero_bytes(uint64_t w)
{
	return (w - BYTES_01) & ~w & BYTES_80;
}

/*
 * The hot loop of every import: return the position of the first byte of
 * b[p, limit) that stops a field (plain_stop, or quoted_stop if quoted), or
 * limit, and OR the bytes before it into *bits (to tell ASCII fields).
 * Eight bytes at a time on little-endian machines, since most fields are
 * short and a byte loop costs a branch per byte.  quoted is a constant at
 * each call, so each caller gets its own loop.
 */
static inline size_t scan_run(const struct sr_csv *csv, size_t p,
			      size_t limit, int quoted, uint64_t *bits)
{
	const char *b = csv->buf;
	const unsigned char *stop = quoted ? csv->quoted_stop : csv->plain_stop;
	const uint64_t quote_w = BYTES_01 * (unsigned char)csv->quote;
	const uint64_t delim_w = BYTES_01 * (unsigned char)csv->delim;
	uint64_t acc = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (limit - p >= 8) {
		uint64_t w, hit;

		memcpy(&w, b + p, 8);
		hit = zero_bytes(w ^ (BYTES_01 * '\n')) |
		      zero_bytes(w ^ (BYTES_01 * '\r')) |
		      zero_bytes(w ^ quote_w);
		if (!quoted)
			hit |= zero_bytes(w ^ delim_w);
		if (hit) {
			unsigned n = (unsigned)__builtin_ctzll(hit) / 8;
			if (n)
				acc |= w & ((1ull << (8 * n)) - 1);
			*bits |= acc;
			return p + n;
		}
		acc |= w;
		p += 8;
	}
#endif
	while (p < limit) {
		unsigned char c = (unsigned char)b[p];
		if (stop[c])
			break;
		acc |= c;
		p++;
	}
	*bits |= acc;
	return p;
}

/*
 * Fail with "NAME: line L, column C (COLNAME): message".  col is 0-based;
 * the column name is known once the header has been read.
 */
static int fail_at(const struct sr_csv *csv, uint64_t line, size_t col,
		   struct sr_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int fail_at(const struct sr_csv *csv, uint64_t line, size_t col,
		   struct sr_err *err, int code, const char *fmt, ...)
{
	char what[SR_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (col < csv->ncols)
		return sr_fail(err, code, "%s: line %llu, column %zu (%s): %s",
			       csv->name, (unsigned long long)line, col + 1,
			       csv->names[col], what);
	return sr_fail(err, code, "%s: line %llu, column %zu: %s", csv->name,
		       (unsigned long long)line, col + 1, what);
}

static int fail_nomem(const struct sr_csv *csv, struct sr_err *err)
{
	return sr_fail(err, SR_ENOMEM, "%s: out of memory", csv->name);
}

static int fail_row_limit(const struct sr_csv *csv, size_t col,
			  struct sr_err *err)
{
	return fail_at(csv, csv->line, col, err, SR_ELIMIT,
		       "record is longer than the limit of %u bytes",
		       SR_CSV_ROW_MAX);
}

/* Lead bytes of two-byte sequences in b[0, n): in converted Latin-1, one
 * per input byte from 0x80. */
static uint64_t count_leads(const char *b, size_t n)
{
	uint64_t leads = 0;

	for (size_t i = 0; i < n; i++)
		leads += ((unsigned char)b[i] & 0xc0) == 0xc0;
	return leads;
}

/* Latin-1 code points are the first 256 of Unicode. Returns bytes out. */
static size_t latin1_to_utf8(const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x80) {
			out[o++] = (char)c;
		} else {
			out[o++] = (char)(0xc0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	return o;
}

/*
 * Read more input behind buf[end], first moving the unread part to the
 * front and growing the window when a record fills most of it.  Reads until
 * the free space is full or the input ends, so that short reads (pipes) do
 * not make a long record be parsed again for every few kilobytes.
 */
static int fill(struct sr_csv *csv, struct sr_err *err)
{
	size_t unread = csv->end - csv->start;

	if (csv->input_done)
		return SR_OK;
	if (csv->latin1)
		csv->raw_adjust += count_leads(csv->window, csv->start);
	if (csv->start > 0) {
		memmove(csv->window, csv->window + csv->start, unread);
		csv->buf_offset += csv->start;
		csv->start = 0;
		csv->end = unread;
	}
	if (csv->cap - csv->end < csv->cap / 4 && csv->cap < WINDOW_MAX) {
		size_t cap = csv->cap * 2 < WINDOW_MAX ? csv->cap * 2 : WINDOW_MAX;
		char *grown = sr_realloc(csv->window, cap);

		if (!grown)
			return fail_nomem(csv, err);
		csv->window = grown;
		csv->buf = grown;
		csv->cap = cap;
	}
	/* Callers keep unread <= SR_CSV_ROW_MAX + 1, so there is always room;
	 * a read of 0 bytes would be taken for the end of input. */
	if (csv->end == csv->cap)
		SR_BUG("csv window full");
	while (csv->end < csv->cap) {
		size_t room = csv->cap - csv->end;
		char *into = csv->window + csv->end;
		ssize_t n;

		if (csv->latin1) {
			room /= 2;
			if (room == 0)
				break;
			if (room > RAW_BYTES)
				room = RAW_BYTES;
			into = csv->raw;
		}
		n = read(csv->fd, into, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sr_fail(err, SR_EIO, "%s: read failed: %s",
				       csv->name, strerror(errno));
		if (n == 0) {
			csv->input_done = 1;
			break;
		}
		if (csv->latin1)
			csv->end += latin1_to_utf8(csv->raw, (size_t)n,
						   csv->window + csv->end);
		else
			csv->end += (size_t)n;
	}
	return SR_OK;
}

/* Where a quoted field lies in the window. */
struct quoted {
	size_t raw;        /* first byte after the opening quote */
	size_t raw_len;    /* bytes up to the closing quote */
	size_t doubled;    /* doubled quotes inside */
	size_t after;      /* first byte after the closing quote */
	uint64_t lines;    /* line ends inside */
	int ascii;
};

/*
 * Scan the quoted field whose opening quote is at buf[p] (field col of a
 * record starting at buf[start], on line csv->line + lines_before).
 * Returns SR_OK, NEED_MORE or an error.
 */
static int scan_quoted(const struct sr_csv *csv, size_t p, size_t col,
		       uint64_t lines_before, struct quoted *out,
		       struct sr_err *err)
{
	const char *b = csv->buf;
	size_t q = p + 1, end = csv->end, limit_at;
	size_t doubled = 0;
	uint64_t lines = 0, bits = 0;

	/* A value over the limit takes more than 2 * limit raw bytes,
	 * whatever the number of doubled quotes. */
	limit_at = end - q > 2 * (size_t)SR_CSV_FIELD_MAX + 1 ?
		   q + 2 * (size_t)SR_CSV_FIELD_MAX + 1 : end;
	for (;;) {
		q = scan_run(csv, q, limit_at, 1, &bits);
		if (q >= limit_at) {
			uint64_t open_line = csv->line + lines_before;
			if (q >= end && csv->input_done)
				return fail_at(csv, open_line, col, err, SR_EINVAL,
					       "unterminated quoted field (opened on line %llu)",
					       (unsigned long long)open_line);
			/* Most likely a stray quote: say where it is. */
			if (q - (p + 1) - doubled > SR_CSV_FIELD_MAX)
				return fail_at(csv, csv->line, col, err, SR_ELIMIT,
					       "field is longer than the limit of %u bytes (quote opened on line %llu)",
					       SR_CSV_FIELD_MAX,
					       (unsigned long long)open_line);
			return NEED_MORE;
		}
		if (b[q] != csv->quote) {
			/* A CR is a line end unless a LF follows; a CR last in
			 * the window is settled when the scan comes back with
			 * more input, as the closing quote is still ahead. */
			if (b[q] == '\n' ||
			    (q + 1 < end && b[q + 1] != '\n'))
				lines++;
			q++;
			continue;
		}
		if (q + 1 >= end) {
			if (!csv->input_done)
				return NEED_MORE;
			break;
		}
		if (b[q + 1] != csv->quote)
			break;
		doubled++;
		q += 2;
	}
	out->raw = p + 1;
	out->raw_len = q - (p + 1);
	out->doubled = doubled;
	out->after = q + 1;
	out->lines = lines;
	out->ascii = !(bits & BYTES_80);
	if (out->raw_len - doubled > SR_CSV_FIELD_MAX)
		return fail_at(csv, csv->line, col, err, SR_ELIMIT,
			       "field is longer than the limit of %u bytes",
			       SR_CSV_FIELD_MAX);
	if (out->after < end) {
		char c = b[out->after];
		if (c != csv->delim && c != '\n' && c != '\r')
			return fail_at(csv, csv->line, col, err, SR_EINVAL,
				       "unexpected character after closing quote");
	}
	return SR_OK;
}

/* Make room for more fields while reading the header. */
static int grow_fields(struct sr_csv *csv, struct sr_err *err)
{
	size_t cap = csv->fields_cap ? csv->fields_cap * 2 : 16;
	struct sr_csv_field *fields;
	size_t *scratch_at;

	if (cap > SR_DATASET_COLUMNS_MAX)
		cap = SR_DATASET_COLUMNS_MAX;
	fields = sr_realloc(csv->fields, cap * sizeof(*fields));
	if (!fields)
		return fail_nomem(csv, err);
	csv->fields = fields;
	scratch_at = sr_realloc(csv->scratch_at, cap * sizeof(*scratch_at));
	if (!scratch_at)
		return fail_nomem(csv, err);
	csv->scratch_at = scratch_at;
	csv->fields_cap = cap;
	return SR_OK;
}

/* Copy the inside of a quoted field into scratch with each doubled quote
 * made single; *at receives its offset there. */
static int unescape(struct sr_csv *csv, const char *s, size_t len,
		    size_t doubled, size_t *at, struct sr_err *err)
{
	const char *end = s + len;

	*at = csv->scratch.len;
	/* Not SR_ELIMIT: the record, checked already, is longer than all
	 * of its unescaped fields together. */
	if (sr_buf_grow(&csv->scratch, len - doubled) != SR_OK)
		return fail_nomem(csv, err);
	while (s < end) {
		const char *quote = memchr(s, csv->quote, (size_t)(end - s));
		size_t n = quote ? (size_t)(quote - s) + 1 : (size_t)(end - s);

		memcpy(csv->scratch.data + csv->scratch.len, s, n);
		csv->scratch.len += n;
		s += n + (quote != NULL);
	}
	csv->scratch.data[csv->scratch.len] = '\0';
	return SR_OK;
}

/*
 * Parse one record starting at buf[start].  Reading the header, keep up to
 * SR_DATASET_COLUMNS_MAX fields; otherwise keep ncols and only count the
 * rest.  Returns SR_OK with *count fields, *next the position after the
 * record's line end and *lines the line ends it spans; NEED_MORE when the
 * window ends inside the record and more input may come; or an error.
 */
static int parse_record(struct sr_csv *csv, size_t *count, size_t *next,
			uint64_t *lines, struct sr_err *err)
{
	const char *b = csv->buf;
	const size_t rec = csv->start, end = csv->end;
	const int header = csv->ncols == 0;
	const size_t keep = header ? SR_DATASET_COLUMNS_MAX : csv->ncols;
	size_t p = rec, nf = 0;
	uint64_t nl = 0;
	int any_escaped = 0;

	sr_buf_reset(&csv->scratch);
	for (;;) {
		const char *data;
		size_t len, doubled = 0;
		int quoted = 0, ascii;

		if (p < end && b[p] == csv->quote) {
			struct quoted qf = { 0 };
			int rc = scan_quoted(csv, p, nf, nl, &qf, err);

			if (rc == NEED_MORE)
				goto need_more;
			if (rc)
				return rc;
			quoted = 1;
			data = b + qf.raw;
			len = qf.raw_len;
			doubled = qf.doubled;
			ascii = qf.ascii;
			nl += qf.lines;
			p = qf.after;
		} else {
			size_t q, limit_at;
			uint64_t bits = 0;

			limit_at = end - p > SR_CSV_FIELD_MAX ?
				   p + SR_CSV_FIELD_MAX + 1 : end;
			q = scan_run(csv, p, limit_at, 0, &bits);
			if (q == limit_at) {
				if (q - p > SR_CSV_FIELD_MAX)
					return fail_at(csv, csv->line, nf, err,
						       SR_ELIMIT,
						       "field is longer than the limit of %u bytes",
						       SR_CSV_FIELD_MAX);
				if (!csv->input_done)
					goto need_more;
			} else if (b[q] == csv->quote) {
				return fail_at(csv, csv->line, nf, err, SR_EINVAL,
					       "quote inside an unquoted field (quote the whole field and double the quote)");
			}
			data = b + p;
			len = q - p;
			ascii = !(bits & BYTES_80);
			p = q;
		}
		if (p - rec > SR_CSV_ROW_MAX)
			return fail_row_limit(csv, nf, err);
		/* A field of ASCII bytes is valid UTF-8; doubled quotes do not
		 * change the validity of the text around them. */
		if (!ascii && !sr_utf8_valid(data, len))
			return fail_at(csv, csv->line, nf, err, SR_EINVAL,
				       "invalid UTF-8");
		if (nf < keep) {
			struct sr_csv_field *f;

			if (nf == csv->fields_cap) {
				int rc = grow_fields(csv, err);
				if (rc)
					return rc;
			}
			f = &csv->fields[nf];
			f->is_null = !quoted && len == 0;
			f->quoted = quoted;
			if (doubled) {
				int rc = unescape(csv, data, len, doubled,
						  &csv->scratch_at[nf], err);
				if (rc)
					return rc;
				/* Scratch may move as it grows: point the field
				 * at it once the record is complete. */
				f->data = NULL;
				f->len = len - doubled;
				any_escaped = 1;
			} else {
				f->data = data;
				f->len = len;
			}
		} else if (header) {
			return fail_at(csv, csv->line, nf, err, SR_ELIMIT,
				       "header has more than the limit of %d columns",
				       SR_DATASET_COLUMNS_MAX);
		}
		nf++;
		if (p == end)
			break;     /* end of input ends the record */
		if (b[p] == csv->delim) {
			p++;
			continue;
		}
		/* Line end: LF, CRLF or a lone CR. */
		if (b[p] == '\r') {
			if (p + 1 == end && !csv->input_done)
				goto need_more;
			p += (p + 1 < end && b[p + 1] == '\n') ? 2 : 1;
		} else {
			p++;
		}
		nl++;
		break;
	}
	if (any_escaped)
		for (size_t i = 0; i < nf && i < keep; i++)
			if (!csv->fields[i].data)
				csv->fields[i].data = csv->scratch.data +
						      csv->scratch_at[i];
	*count = nf;
	*next = p;
	*lines = nl;
	return SR_OK;

need_more:
	/* No line end within a whole record's worth of input (the last byte
	 * may be a CR waiting for its LF). */
	if (end - rec > SR_CSV_ROW_MAX + 1)
		return fail_row_limit(csv, nf, err);
	return NEED_MORE;
}

/* Parse the next non-blank record, reading more input as needed; *eof is
 * set at the end of input. */
static int next_record(struct sr_csv *csv, size_t *count, int *eof,
		       struct sr_err *err)
{
	int rc;

	*eof = 0;
	*count = 0;
	for (;;) {
		size_t next = 0;
		uint64_t lines = 0;
		char c;

		if (csv->start == csv->end) {
			if (csv->input_done) {
				*eof = 1;
				return SR_OK;
			}
			rc = fill(csv, err);
			if (rc)
				return rc;
			continue;
		}
		c = csv->buf[csv->start];
		if (c == '\n' || c == '\r') {
			/* Blank line: skip it, keeping the line count. */
			size_t p = csv->start + 1;
			if (c == '\r') {
				if (p == csv->end && !csv->input_done) {
					rc = fill(csv, err);
					if (rc)
						return rc;
					continue;
				}
				if (p < csv->end && csv->buf[p] == '\n')
					p++;
			}
			csv->start = p;
			csv->line++;
			continue;
		}
		rc = parse_record(csv, count, &next, &lines, err);
		if (rc == NEED_MORE) {
			rc = fill(csv, err);
			if (rc)
				return rc;
			continue;
		}
		if (rc)
			return rc;
		csv->record_line = csv->line;
		csv->line += lines;
		csv->start = next;
		return SR_OK;
	}
}

/* Skip one physical line (for --skip-lines): up to and including its LF,
 * CRLF or lone CR, without any CSV parsing, since metadata lines need not
 * be CSV.  *eof is set when the input ends first. */
static int skip_line(struct sr_csv *csv, int *eof, struct sr_err *err)
{
	int rc;

	*eof = 0;
	for (;;) {
		const char *b = csv->buf + csv->start;
		size_t n = csv->end - csv->start, i;

		for (i = 0; i < n && b[i] != '\n' && b[i] != '\r'; i++)
			;
		if (i < n && (b[i] == '\n' || i + 1 < n || csv->input_done)) {
			i += (b[i] == '\r' && i + 1 < n && b[i + 1] == '\n') ? 2 : 1;
			csv->start += i;
			csv->line++;
			return SR_OK;
		}
		if (csv->input_done) {
			/* A last line without a line end. */
			csv->start = csv->end;
			*eof = n == 0;
			if (n)
				csv->line++;
			return SR_OK;
		}
		if (n > SR_CSV_ROW_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: line %llu: skipped line is longer than the limit of %u bytes",
				       csv->name, (unsigned long long)csv->line,
				       SR_CSV_ROW_MAX);
		rc = fill(csv, err);
		if (rc)
			return rc;
	}
}

/*
 * Check the column names (from the header record, or given) and keep
 * copies.  line is the header's line, 0 for given names.
 */
static int take_names(struct sr_csv *csv, uint64_t line,
		      const char *const *given, size_t count,
		      struct sr_err *err)
{
	const char *src = given ? "--header" : "header";

#define NAME_AT(i) (given ? given[i] : csv->fields[i].data)
#define LEN_AT(i) (given ? strlen(given[i]) : csv->fields[i].len)
	if (given && (count == 0 || count > SR_DATASET_COLUMNS_MAX))
		return sr_fail(err, count ? SR_ELIMIT : SR_EINVAL,
			       "%s: --header: expected 1 to %d column names, got %zu",
			       csv->name, SR_DATASET_COLUMNS_MAX, count);
	for (size_t i = 0; i < count; i++) {
		const char *name = NAME_AT(i);
		size_t len = LEN_AT(i);

		if (given && len == 0)
			return sr_fail(err, SR_EINVAL,
				       "%s: --header: column %zu: empty column name",
				       csv->name, i + 1);
		if (given && len > SR_COLUMN_NAME_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: --header: column %zu: column name is longer than the limit of %d bytes",
				       csv->name, i + 1, SR_COLUMN_NAME_MAX);
		if (given && !sr_utf8_valid(name, len))
			return sr_fail(err, SR_EINVAL,
				       "%s: --header: column %zu: invalid UTF-8",
				       csv->name, i + 1);
		if (len == 0)
			return fail_at(csv, line, i, err, SR_EINVAL,
				       "empty column name in header");
		if (len > SR_COLUMN_NAME_MAX)
			return fail_at(csv, line, i, err, SR_ELIMIT,
				       "column name is longer than the limit of %d bytes",
				       SR_COLUMN_NAME_MAX);
		/* Names are C strings from here on. */
		if (memchr(name, '\0', len))
			return fail_at(csv, line, i, err, SR_EINVAL,
				       "column name contains a NUL byte");
	}
	/* At most 1024 names of at most 128 bytes: a quadratic search costs
	 * less than setting up a hash table would. */
	for (size_t i = 1; i < count; i++) {
		for (size_t k = 0; k < i; k++) {
			if (LEN_AT(k) != LEN_AT(i) ||
			    memcmp(NAME_AT(k), NAME_AT(i), LEN_AT(i)) != 0)
				continue;
			if (given)
				return sr_fail(err, SR_EINVAL,
					       "%s: --header: column %zu: duplicate column name '%.*s' (also column %zu)",
					       csv->name, i + 1, (int)LEN_AT(i),
					       NAME_AT(i), k + 1);
			return fail_at(csv, line, i, err, SR_EINVAL,
				       "duplicate column name '%.*s' in %s (also column %zu)",
				       (int)LEN_AT(i), NAME_AT(i), src, k + 1);
		}
	}
	csv->names = sr_calloc(count, sizeof(*csv->names));
	if (!csv->names)
		return fail_nomem(csv, err);
	csv->nnames = count;
	for (size_t i = 0; i < count; i++) {
		csv->names[i] = sr_strndup(NAME_AT(i), LEN_AT(i));
		if (!csv->names[i])
			return fail_nomem(csv, err);
	}
#undef NAME_AT
#undef LEN_AT
	return SR_OK;
}

static int read_header(struct sr_csv *csv, const struct sr_csv_options *o,
		       struct sr_err *err)
{
	size_t count = 0;
	int eof = 0, rc;

	while (csv->end - csv->start < 3 && !csv->input_done) {
		rc = fill(csv, err);
		if (rc)
			return rc;
	}
	if (csv->end - csv->start >= 3 &&
	    memcmp(csv->buf + csv->start, "\xef\xbb\xbf", 3) == 0)
		csv->start += 3;
	for (uint64_t i = 0; o && i < o->skip_lines; i++) {
		rc = skip_line(csv, &eof, err);
		if (rc)
			return rc;
		if (eof)
			return sr_fail(err, SR_EINVAL,
				       "%s: --skip-lines %llu skips the whole file (%llu lines)",
				       csv->name, (unsigned long long)o->skip_lines,
				       (unsigned long long)(csv->line - 1));
	}
	if (o && o->header) {
		csv->names_given = 1;
		rc = take_names(csv, 0, o->header, o->header_count, err);
	} else {
		rc = next_record(csv, &count, &eof, err);
		if (rc == SR_OK && eof)
			return sr_fail(err, SR_EINVAL,
				       "%s: file is empty: a header row is required",
				       csv->name);
		csv->header_line = csv->record_line;
		if (rc == SR_OK)
			rc = take_names(csv, csv->record_line, NULL, count, err);
	}
	if (rc)
		return rc;
	/* From here on messages name the columns. */
	csv->ncols = csv->nnames;
	csv->data_offset = csv->buf_offset + csv->start;
	if (csv->latin1 && csv->fd >= 0)
		csv->data_offset -= csv->raw_adjust +
				    count_leads(csv->window, csv->start);
	csv->data_line = csv->line;
	return SR_OK;
}

void sr_csv_options_init(struct sr_csv_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->delimiter = ',';
	opts->quote = '"';
	opts->encoding = SR_CSV_UTF8;
}

int sr_csv_options_check(const struct sr_csv_options *o, struct sr_err *err)
{
	const char bad[] = { '\n', '\r', '\0' };

	for (size_t i = 0; i < sizeof(bad); i++) {
		if (o->delimiter == bad[i] || (unsigned char)o->delimiter >= 0x80)
			return sr_fail(err, SR_EINVAL,
				       "--delimiter: expected one ASCII character other than a line end");
		if (o->quote == bad[i] || (unsigned char)o->quote >= 0x80)
			return sr_fail(err, SR_EINVAL,
				       "--quote: expected one ASCII character other than a line end");
	}
	if (o->delimiter == o->quote)
		return sr_fail(err, SR_EINVAL,
			       "--quote: the quote character cannot be the delimiter '%c'",
			       o->delimiter);
	if (o->skip_lines > SR_CSV_SKIP_LINES_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "--skip-lines: %llu is more than the limit of %llu",
			       (unsigned long long)o->skip_lines,
			       (unsigned long long)SR_CSV_SKIP_LINES_MAX);
	if (o->encoding != SR_CSV_UTF8 && o->encoding != SR_CSV_LATIN1)
		return sr_fail(err, SR_EINVAL, "--encoding: unknown encoding");
	return SR_OK;
}

int sr_csv_encoding_parse(const char *name, enum sr_csv_encoding *out,
			  struct sr_err *err)
{
	static const struct {
		const char *name;
		enum sr_csv_encoding enc;
	} names[] = {
		{ "utf8", SR_CSV_UTF8 }, { "utf-8", SR_CSV_UTF8 },
		{ "latin1", SR_CSV_LATIN1 }, { "latin-1", SR_CSV_LATIN1 },
		{ "iso-8859-1", SR_CSV_LATIN1 }, { "iso8859-1", SR_CSV_LATIN1 },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].enc;
			return SR_OK;
		}
	}
	return sr_fail(err, SR_EINVAL,
		       "--encoding: unknown encoding '%.40s' (expected utf8 or latin1)",
		       name);
}

static int csv_new(const char *name, const struct sr_csv_options *opts,
		   struct sr_csv **out, struct sr_err *err)
{
	struct sr_csv_options defaults;
	struct sr_csv *csv;
	int rc;

	*out = NULL;
	if (!name)
		name = "<memory>";
	if (!opts) {
		sr_csv_options_init(&defaults);
		opts = &defaults;
	}
	rc = sr_csv_options_check(opts, err);
	if (rc) {
		sr_err_prefix(err, "%s", name);
		return rc;
	}
	csv = sr_calloc(1, sizeof(*csv));
	if (!csv)
		return sr_fail(err, SR_ENOMEM, "%s: out of memory", name);
	csv->fd = -1;
	csv->line = 1;
	csv->delim = opts->delimiter;
	csv->quote = opts->quote;
	csv->latin1 = opts->encoding == SR_CSV_LATIN1;
	csv->plain_stop[(unsigned char)csv->delim] = 1;
	csv->plain_stop[(unsigned char)csv->quote] = 1;
	csv->plain_stop['\n'] = csv->plain_stop['\r'] = 1;
	csv->quoted_stop[(unsigned char)csv->quote] = 1;
	csv->quoted_stop['\n'] = csv->quoted_stop['\r'] = 1;
	/* Unescaped text never exceeds its record. */
	sr_buf_init(&csv->scratch, SR_CSV_ROW_MAX);
	csv->name = sr_strdup(name);
	if (!csv->name) {
		sr_free(csv);
		return sr_fail(err, SR_ENOMEM, "%s: out of memory", name);
	}
	*out = csv;
	return SR_OK;
}

int sr_csv_open(const char *path, struct sr_csv **out, struct sr_err *err)
{
	return sr_csv_open_ex(path, NULL, out, err);
}

int sr_csv_open_ex(const char *path, const struct sr_csv_options *opts,
		   struct sr_csv **out, struct sr_err *err)
{
	struct sr_csv *csv;
	struct stat st;
	int rc;

	*out = NULL;
	rc = csv_new(path, opts, &csv, err);
	if (rc)
		return rc;
	csv->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (csv->fd < 0) {
		int e = errno;
		rc = sr_fail(err, e == ENOENT ? SR_ENOTFOUND : SR_EIO,
			     "%s: cannot open: %s", path, strerror(e));
		goto fail;
	}
	if (fstat(csv->fd, &st) < 0) {
		rc = sr_fail(err, SR_EIO, "%s: cannot stat: %s", path,
			     strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = sr_fail(err, SR_EINVAL, "%s: is a directory", path);
		goto fail;
	}
	if (S_ISREG(st.st_mode))
		csv->size = (uint64_t)st.st_size;
	csv->cap = WINDOW_BYTES;
	csv->window = sr_malloc(csv->cap);
	if (csv->latin1)
		csv->raw = sr_malloc(RAW_BYTES);
	if (!csv->window || (csv->latin1 && !csv->raw)) {
		rc = fail_nomem(csv, err);
		goto fail;
	}
	csv->buf = csv->window;
	rc = read_header(csv, opts, err);
	if (rc)
		goto fail;
	*out = csv;
	return SR_OK;
fail:
	sr_csv_free(csv);
	return rc;
}

int sr_csv_open_mem(const void *data, size_t len, const char *name,
		    struct sr_csv **out, struct sr_err *err)
{
	return sr_csv_open_mem_ex(data, len, name, NULL, out, err);
}

int sr_csv_open_mem_ex(const void *data, size_t len, const char *name,
		       const struct sr_csv_options *opts, struct sr_csv **out,
		       struct sr_err *err)
{
	struct sr_csv *csv;
	int rc;

	*out = NULL;
	rc = csv_new(name, opts, &csv, err);
	if (rc)
		return rc;
	if (csv->latin1 && len) {
		/* Converted once, up front: memory input is small (tests,
		 * fuzzing), and the reader then never has to refill. */
		csv->converted = len <= SIZE_MAX / 2 ? sr_malloc(2 * len) : NULL;
		if (!csv->converted) {
			rc = fail_nomem(csv, err);
			goto fail;
		}
		len = latin1_to_utf8(data, len, csv->converted);
		data = csv->converted;
	}
	/* The whole input is the window and never needs a fill. */
	csv->buf = len ? data : "";
	csv->end = len;
	csv->size = len;
	csv->input_done = 1;
	rc = read_header(csv, opts, err);
	if (rc)
		goto fail;
	*out = csv;
	return SR_OK;
fail:
	sr_csv_free(csv);
	return rc;
}

void sr_csv_free(struct sr_csv *csv)
{
	if (!csv)
		return;
	if (csv->fd >= 0)
		close(csv->fd);
	sr_free(csv->window);
	sr_free(csv->raw);
	sr_free(csv->converted);
	for (size_t i = 0; i < csv->nnames; i++)
		sr_free(csv->names[i]);
	sr_free(csv->names);
	sr_free(csv->fields);
	sr_free(csv->scratch_at);
	sr_buf_release(&csv->scratch);
	sr_free(csv->name);
	sr_free(csv);
}

size_t sr_csv_columns(const struct sr_csv *csv)
{
	return csv->ncols;
}

const char *sr_csv_column_name(const struct sr_csv *csv, size_t index)
{
	return index < csv->ncols ? csv->names[index] : NULL;
}

int sr_csv_next(struct sr_csv *csv, const struct sr_csv_field **fields,
		int *eof, struct sr_err *err)
{
	size_t count = 0;
	int rc = next_record(csv, &count, eof, err);

	*fields = csv->fields;
	if (rc || *eof)
		return rc;
	csv->records++;
	if (count != csv->ncols) {
		/* Name the first missing or the first extra column. */
		size_t col = count < csv->ncols ? count : csv->ncols;
		if (csv->names_given)
			return fail_at(csv, csv->record_line, col, err, SR_EINVAL,
				       "expected %zu fields (the names in --header), got %zu",
				       csv->ncols, count);
		/* A metadata line before the header looks like this. */
		if (csv->records == 1)
			return fail_at(csv, csv->record_line, col, err, SR_EINVAL,
				       "expected %zu fields, got %zu; if line %llu is not the header, skip it with --skip-lines (and name the columns with --header if there is no header line)",
				       csv->ncols, count,
				       (unsigned long long)csv->header_line);
		return fail_at(csv, csv->record_line, col, err, SR_EINVAL,
			       "expected %zu fields, got %zu", csv->ncols,
			       count);
	}
	return SR_OK;
}

int sr_csv_rewind(struct sr_csv *csv, struct sr_err *err)
{
	csv->record_line = 0;
	csv->records = 0;
	csv->raw_adjust = 0;
	csv->line = csv->data_line;
	if (csv->fd < 0) {
		csv->start = (size_t)csv->data_offset;
		return SR_OK;
	}
	if (lseek(csv->fd, (off_t)csv->data_offset, SEEK_SET) < 0)
		return sr_fail(err, SR_EIO, "%s: cannot seek: %s", csv->name,
			       strerror(errno));
	csv->buf_offset = csv->data_offset;
	csv->start = 0;
	csv->end = 0;
	csv->input_done = 0;
	return SR_OK;
}

uint64_t sr_csv_line(const struct sr_csv *csv)
{
	return csv->record_line;
}

uint64_t sr_csv_offset(const struct sr_csv *csv)
{
	uint64_t at = csv->buf_offset + csv->start;

	/* Latin-1 from a file: the lead bytes still in the window are not
	 * subtracted, so this runs a little ahead (it is for progress).
	 * Memory input reports window offsets. */
	if (csv->latin1 && csv->fd >= 0)
		at -= csv->raw_adjust < at ? csv->raw_adjust : at;
	return at > csv->size && csv->size ? csv->size : at;
}

uint64_t sr_csv_size(const struct sr_csv *csv)
{
	return csv->size;
}

const char *sr_csv_name(const struct sr_csv *csv)
{
	return csv->name;
}
