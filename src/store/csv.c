/*
 * csv.c - streaming RFC 4180 reader (see csv.h).
 *
 * The reader keeps a window buf[start, end) of unread input.  A record is
 * parsed in place; when it runs past the end of the window, the unread part
 * is moved to the front, the window grows if one record needs more room
 * (up to SR_CSV_ROW_MAX), more input is read, and the record is parsed again
 * from its start.  Unquoted fields and quoted fields without doubled quotes
 * point straight into the window; only fields with doubled quotes are
 * copied, unescaped, into a scratch buffer.
 */
#include "store/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/limits.h"
#include "store/value.h"
#include "base/banned.h"

#define READ_CHUNK (1u << 20)

struct sr_csv {
	int fd;                  /* -1 for memory input */
	char *name;
	const char *mem;         /* memory input, or NULL */
	size_t mem_len;
	char *buf;               /* window (owned unless memory input) */
	size_t cap, start, end;
	int input_done;          /* no more input to read */
	uint64_t buf_offset;     /* input offset of buf[0] */
	uint64_t size;
	uint64_t line;           /* line of buf[start] */
	uint64_t record_line;
	uint64_t data_offset;    /* input offset of the first record */
	uint64_t data_line;
	size_t ncols;            /* header columns (capacity while reading it) */
	char **names;
	size_t nnames;           /* entries of names (NULL until set) */
	struct sr_csv_field *fields;
	size_t *scratch_at;      /* per field: offset in scratch, or SIZE_MAX */
	struct sr_buf scratch;
};

/* Outcome of one parse attempt. */
enum { PARSED = 0, NEED_MORE = 1 };

static int fail_at(struct sr_csv *csv, uint64_t line, size_t col,
		   struct sr_err *err, int code, const char *what)
{
	if (col < csv->nnames && csv->names[col])
		return sr_fail(err, code, "%s: line %llu, column %zu (%s): %s",
			       csv->name, (unsigned long long)line, col + 1,
			       csv->names[col], what);
	return sr_fail(err, code, "%s: line %llu, column %zu: %s", csv->name,
		       (unsigned long long)line, col + 1, what);
}

static int is_ascii(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t acc = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (unsigned char)s[i];
	return (acc & 0x8080808080808080ull) == 0;
}

/* Read more input into the window, compacting and growing it. */
static int fill(struct sr_csv *csv, struct sr_err *err)
{
	size_t unread = csv->end - csv->start;
	ssize_t n;

	if (csv->input_done)
		return SR_OK;
	if (csv->start > 0) {
		memmove(csv->buf, csv->buf + csv->start, unread);
		csv->buf_offset += csv->start;
		csv->start = 0;
		csv->end = unread;
	}
	if (csv->cap - csv->end < READ_CHUNK / 2) {
		size_t cap = csv->cap * 2;
		char *grown;
		if (cap > SR_CSV_ROW_MAX + 2 * READ_CHUNK)
			cap = SR_CSV_ROW_MAX + 2 * READ_CHUNK;
		if (cap <= csv->cap)
			return SR_OK;   /* the row limit check will fire */
		grown = sr_realloc(csv->buf, cap);
		if (!grown)
			return sr_fail(err, SR_ENOMEM, "%s: out of memory",
				       csv->name);
		csv->buf = grown;
		csv->cap = cap;
	}
	for (;;) {
		n = read(csv->fd, csv->buf + csv->end, csv->cap - csv->end);
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n < 0)
		return sr_fail(err, SR_EIO, "%s: read failed: %s", csv->name,
			       strerror(errno));
	if (n == 0)
		csv->input_done = 1;
	csv->end += (size_t)n;
	return SR_OK;
}

/*
 * Parse one record starting at buf[start].  header: collect any number of
 * fields (into csv->fields, grown); otherwise exactly ncols.  Returns
 * PARSED with *count fields and *next the position after the record,
 * NEED_MORE when the window ends inside the record and more input may come,
 * or a negative status.
 */
static int parse_record(struct sr_csv *csv, int header, size_t *count,
			size_t *next, uint64_t *lines, struct sr_err *err)
{
	const char *b = csv->buf;
	size_t p = csv->start, end = csv->end;
	size_t nf = 0;
	uint64_t nl = 0;
	int done = csv->input_done;

	sr_buf_reset(&csv->scratch);
	for (;;) {
		size_t fstart, flen;
		int quoted = 0, escaped = 0;
		const char *fdata;

		if (p - csv->start > SR_CSV_ROW_MAX)
			return fail_at(csv, csv->line, nf, err, SR_ELIMIT,
				       "record is longer than the limit of 16777216 bytes");
		if (p < end && b[p] == '"') {
			uint64_t open_line = csv->line + nl;
			size_t q = p + 1;
			quoted = 1;
			fstart = q;
			for (;;) {
				const char *hit = memchr(b + q, '"', end - q);
				if (!hit) {
					if (!done)
						return NEED_MORE;
					{
						char msg[96];
						snprintf(msg, sizeof(msg),
							 "unterminated quoted field (opened on line %llu)",
							 (unsigned long long)open_line);
						return fail_at(csv, open_line, nf, err,
							       SR_EINVAL, msg);
					}
				}
				q = (size_t)(hit - b);
				if (q + 1 >= end && !done)
					return NEED_MORE;
				if (q + 1 < end && b[q + 1] == '"') {
					escaped = 1;
					q += 2;
					continue;
				}
				break;
			}
			flen = q - fstart;
			for (size_t i = fstart; i < q; i++)
				if (b[i] == '\n' ||
				    (b[i] == '\r' && (i + 1 >= q || b[i + 1] != '\n')))
					nl++;
			p = q + 1;
			if (p < end && b[p] != ',' && b[p] != '\n' && b[p] != '\r')
				return fail_at(csv, csv->line + nl, nf, err,
					       SR_EINVAL,
					       "unexpected character after closing quote");
		} else {
			size_t q = p;
			fstart = p;
			while (q < end) {
				char c = b[q];
				if (c == ',' || c == '\n' || c == '\r')
					break;
				if (c == '"')
					return fail_at(csv, csv->line + nl, nf,
						       err, SR_EINVAL,
						       "quote inside an unquoted field (quote the whole field)");
				q++;
			}
			if (q >= end && !done)
				return NEED_MORE;
			flen = q - fstart;
			p = q;
		}
		if (flen > SR_CSV_FIELD_MAX)
			return fail_at(csv, csv->line + nl, nf, err, SR_ELIMIT,
				       "field is longer than the limit of 1048576 bytes");
		fdata = b + fstart;
		if (!is_ascii(fdata, flen) && !sr_utf8_valid(fdata, flen))
			return fail_at(csv, csv->line + nl, nf, err, SR_EINVAL,
				       "invalid UTF-8");
		if (header && nf >= SR_DATASET_COLUMNS_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: line %llu: header has more than the limit of %d columns",
				       csv->name, (unsigned long long)csv->line,
				       SR_DATASET_COLUMNS_MAX);
		if (nf < csv->ncols || header) {
			struct sr_csv_field *f;
			if (header && nf >= csv->ncols) {
				size_t cap = csv->ncols ? csv->ncols * 2 : 16;
				struct sr_csv_field *gf = sr_realloc(csv->fields,
					cap * sizeof(*gf));
				size_t *gs;
				if (!gf)
					return sr_fail(err, SR_ENOMEM, "%s: out of memory", csv->name);
				csv->fields = gf;
				gs = sr_realloc(csv->scratch_at, cap * sizeof(*gs));
				if (!gs)
					return sr_fail(err, SR_ENOMEM, "%s: out of memory", csv->name);
				csv->scratch_at = gs;
				csv->ncols = cap;
			}
			f = &csv->fields[nf];
			f->is_null = !quoted && flen == 0;
			csv->scratch_at[nf] = SIZE_MAX;
			if (escaped) {
				/* Unescape "" into the scratch buffer. */
				size_t at = csv->scratch.len;
				for (size_t i = 0; i < flen; i++) {
					if (sr_buf_addch(&csv->scratch, fdata[i]))
						return sr_fail(err, SR_ENOMEM, "%s: out of memory", csv->name);
					if (fdata[i] == '"')
						i++;
				}
				csv->scratch_at[nf] = at;
				f->len = csv->scratch.len - at;
				f->data = NULL;
			} else {
				f->data = fdata;
				f->len = flen;
			}
		}
		nf++;
		if (p >= end) {
			/* End of input ends the record. */
			break;
		}
		if (b[p] == ',') {
			p++;
			continue;
		}
		/* Line end: \n, \r\n or a lone \r. */
		if (b[p] == '\r') {
			if (p + 1 >= end && !done)
				return NEED_MORE;
			p += (p + 1 < end && b[p + 1] == '\n') ? 2 : 1;
		} else {
			p++;
		}
		nl++;
		break;
	}
	/* Scratch may have moved while growing: fix pointers now. */
	for (size_t i = 0; i < nf && i < (header ? nf : csv->ncols); i++)
		if (csv->scratch_at[i] != SIZE_MAX)
			csv->fields[i].data = csv->scratch.data + csv->scratch_at[i];
	*count = nf;
	*next = p;
	*lines = nl;
	return PARSED;
}

/* Parse the next non-blank record, reading more input as needed.
 * *eof set at the end of input. */
static int next_record(struct sr_csv *csv, int header, size_t *count,
		       int *eof, struct sr_err *err)
{
	*eof = 0;
	for (;;) {
		size_t next = 0;
		uint64_t lines = 0;
		int rc;

		if (csv->start >= csv->end) {
			if (csv->input_done) {
				*eof = 1;
				return SR_OK;
			}
			rc = fill(csv, err);
			if (rc)
				return rc;
			continue;
		}
		/* Blank line: skip. */
		if (csv->buf[csv->start] == '\n' || csv->buf[csv->start] == '\r') {
			size_t p = csv->start;
			if (csv->buf[p] == '\r' && p + 1 >= csv->end &&
			    !csv->input_done) {
				rc = fill(csv, err);
				if (rc)
					return rc;
				continue;
			}
			p += (csv->buf[p] == '\r' && p + 1 < csv->end &&
			      csv->buf[p + 1] == '\n') ? 2 : 1;
			csv->start = p;
			csv->line++;
			continue;
		}
		rc = parse_record(csv, header, count, &next, &lines, err);
		if (rc < 0)
			return rc;
		if (rc == NEED_MORE) {
			size_t before = csv->end - csv->start;
			if (before > SR_CSV_ROW_MAX)
				return fail_at(csv, csv->line, 0, err, SR_ELIMIT,
					       "record is longer than the limit of 16777216 bytes");
			rc = fill(csv, err);
			if (rc)
				return rc;
			continue;
		}
		csv->record_line = csv->line;
		csv->line += lines;
		csv->start = next;
		return SR_OK;
	}
}

static int read_header(struct sr_csv *csv, struct sr_err *err)
{
	size_t count = 0;
	int eof = 0, rc;

	/* UTF-8 byte-order mark. */
	rc = fill(csv, err);
	if (rc)
		return rc;
	if (csv->end - csv->start >= 3 &&
	    memcmp(csv->buf + csv->start, "\xef\xbb\xbf", 3) == 0)
		csv->start += 3;
	rc = next_record(csv, 1, &count, &eof, err);
	if (rc)
		return rc;
	if (eof)
		return sr_fail(err, SR_EINVAL,
			       "%s: file is empty: a header row is required",
			       csv->name);
	csv->names = sr_calloc(count, sizeof(char *));
	if (!csv->names)
		return sr_fail(err, SR_ENOMEM, "%s: out of memory", csv->name);
	csv->nnames = count;
	for (size_t i = 0; i < count; i++) {
		const struct sr_csv_field *f = &csv->fields[i];
		if (f->len == 0)
			return sr_fail(err, SR_EINVAL,
				       "%s: line %llu: empty column name in header (column %zu)",
				       csv->name, (unsigned long long)csv->record_line, i + 1);
		if (f->len > SR_COLUMN_NAME_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: line %llu: column %zu name is longer than the limit of %d bytes",
				       csv->name, (unsigned long long)csv->record_line, i + 1,
				       SR_COLUMN_NAME_MAX);
		if (memchr(f->data, '\0', f->len))
			return sr_fail(err, SR_EINVAL,
				       "%s: line %llu: column %zu name contains a NUL byte",
				       csv->name, (unsigned long long)csv->record_line, i + 1);
		csv->names[i] = sr_strndup(f->data, f->len);
		if (!csv->names[i])
			return sr_fail(err, SR_ENOMEM, "%s: out of memory", csv->name);
		for (size_t k = 0; k < i; k++)
			if (strcmp(csv->names[k], csv->names[i]) == 0) {
				return sr_fail(err, SR_EINVAL,
					       "%s: line %llu: duplicate column name '%s' in header",
					       csv->name,
					       (unsigned long long)csv->record_line,
					       csv->names[i]);
			}
	}
	csv->ncols = count;
	csv->data_offset = csv->buf_offset + csv->start;
	csv->data_line = csv->line;
	return SR_OK;
}

static int csv_new(const char *name, struct sr_csv **out, struct sr_err *err)
{
	struct sr_csv *csv = sr_calloc(1, sizeof(*csv));

	*out = NULL;
	if (!csv)
		return sr_fail(err, SR_ENOMEM, "%s: out of memory", name);
	csv->fd = -1;
	csv->line = 1;
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
	struct sr_csv *csv;
	struct stat st;
	int rc;

	*out = NULL;
	rc = csv_new(path, &csv, err);
	if (rc)
		return rc;
	csv->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (csv->fd < 0) {
		rc = sr_fail(err, errno == ENOENT ? SR_ENOTFOUND : SR_EIO,
			     "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(csv->fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			rc = sr_fail(err, SR_EINVAL, "%s: is a directory", path);
			goto fail;
		}
		csv->size = (uint64_t)st.st_size;
	}
	csv->cap = 2 * READ_CHUNK;
	csv->buf = sr_malloc(csv->cap);
	if (!csv->buf) {
		rc = sr_fail(err, SR_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	rc = read_header(csv, err);
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
	struct sr_csv *csv;
	int rc;

	*out = NULL;
	rc = csv_new(name, &csv, err);
	if (rc)
		return rc;
	csv->mem = data;
	csv->mem_len = len;
	csv->buf = (char *)data;   /* never written: fill() returns early */
	csv->cap = len;
	csv->end = len;
	csv->size = len;
	csv->input_done = 1;
	rc = read_header(csv, err);
	if (rc) {
		sr_csv_free(csv);
		return rc;
	}
	*out = csv;
	return SR_OK;
}

void sr_csv_free(struct sr_csv *csv)
{
	if (!csv)
		return;
	if (csv->fd >= 0)
		close(csv->fd);
	if (!csv->mem)
		sr_free(csv->buf);
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
	return csv->names[index];
}

int sr_csv_next(struct sr_csv *csv, const struct sr_csv_field **fields,
		int *eof, struct sr_err *err)
{
	size_t count = 0;
	int rc = next_record(csv, 0, &count, eof, err);

	*fields = csv->fields;
	if (rc || *eof)
		return rc;
	if (count != csv->ncols)
		return sr_fail(err, SR_EINVAL,
			       "%s: line %llu: expected %zu fields, got %zu",
			       csv->name, (unsigned long long)csv->record_line,
			       csv->ncols, count);
	return SR_OK;
}

int sr_csv_rewind(struct sr_csv *csv, struct sr_err *err)
{
	if (csv->mem) {
		csv->start = (size_t)csv->data_offset;
		csv->line = csv->data_line;
		return SR_OK;
	}
	if (lseek(csv->fd, (off_t)csv->data_offset, SEEK_SET) < 0)
		return sr_fail(err, SR_EIO, "%s: cannot seek: %s", csv->name,
			       strerror(errno));
	csv->buf_offset = csv->data_offset;
	csv->start = csv->end = 0;
	csv->input_done = 0;
	csv->line = csv->data_line;
	return SR_OK;
}

uint64_t sr_csv_line(const struct sr_csv *csv)
{
	return csv->record_line;
}

uint64_t sr_csv_offset(const struct sr_csv *csv)
{
	return csv->buf_offset + csv->start;
}

uint64_t sr_csv_size(const struct sr_csv *csv)
{
	return csv->size;
}

const char *sr_csv_name(const struct sr_csv *csv)
{
	return csv->name;
}
