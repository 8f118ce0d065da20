/*
 * copytext.c - one row of PostgreSQL's COPY text format (copytext.h).
 */
#include "store/copytext.h"

#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "store/value.h"
#include "base/banned.h"

int sr_copytext_init(struct sr_copytext *ct, size_t ncols, const int *is_bool)
{
	sr_copytext_release(ct);
	ct->ncols = ncols;
	ct->is_bool = is_bool;
	if (ncols == 0)
		return SR_OK;
	ct->fields = sr_calloc(ncols, sizeof(*ct->fields));
	ct->scratch_at = sr_calloc(ncols, sizeof(*ct->scratch_at));
	if (!ct->fields || !ct->scratch_at) {
		sr_copytext_release(ct);
		return SR_ENOMEM;
	}
	return SR_OK;
}

void sr_copytext_release(struct sr_copytext *ct)
{
	if (ct->fields || ct->scratch_at || ct->scratch.cap) {
		sr_free(ct->fields);
		sr_free(ct->scratch_at);
		sr_buf_release(&ct->scratch);
	}
	memset(ct, 0, sizeof(*ct));
	/* Unescaped text never exceeds its row. */
	sr_buf_init(&ct->scratch, SR_CSV_ROW_MAX);
}

/* One COPY text row into fields: tab-separated, \N for NULL, backslash
 * escapes (as COPY writes them) undone into scratch. */
int sr_copytext_split(struct sr_copytext *ct, const char *row, size_t len,
		      const char *what, uint64_t rowno,
		      const char *const *names, struct sr_err *err)
{
	size_t col = 0, p = 0;
	int any_escaped = 0;

	if (len && row[len - 1] == '\n')
		len--;
	sr_buf_reset(&ct->scratch);
	for (;;) {
		size_t start = p, q = p;
		int escaped = 0;
		struct sr_csv_field *f;

		while (q < len && row[q] != '\t') {
			if (row[q] == '\\') {
				escaped = 1;
				q++;
			}
			q++;
		}
		if (q > len)
			q = len;
		if (col >= ct->ncols)
			return sr_fail(err, SR_EPROTO,
				       "%s: row %llu: more fields than the %zu columns described",
				       what, (unsigned long long)rowno, ct->ncols);
		f = &ct->fields[col];
		f->quoted = 0;
		if (q - start == 2 && row[start] == '\\' && row[start + 1] == 'N') {
			f->data = "";
			f->len = 0;
			f->is_null = 1;
		} else if (escaped) {
			f->is_null = 0;
			f->quoted = 1;   /* a value, never a null token */
			ct->scratch_at[col] = ct->scratch.len;
			for (size_t i = start; i < q; i++) {
				char c = row[i];
				if (c == '\\' && i + 1 < q) {
					c = row[++i];
					switch (c) {
					case 'b': c = '\b'; break;
					case 'f': c = '\f'; break;
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'v': c = '\v'; break;
					default: break;     /* \\ and the rest */
					}
				}
				if (sr_buf_addch(&ct->scratch, c) != SR_OK)
					return sr_fail(err, SR_ENOMEM, "out of memory");
			}
			f->len = ct->scratch.len - ct->scratch_at[col];
			f->data = NULL;
			any_escaped = 1;
		} else {
			f->data = row + start;
			f->len = q - start;
			f->is_null = 0;
		}
		if (!f->is_null && f->len > SR_CSV_FIELD_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: row %llu, column %zu (%s): value is longer than the limit of %u bytes",
				       what, (unsigned long long)rowno, col + 1,
				       names[col], SR_CSV_FIELD_MAX);
		/* COPY writes booleans as t and f. */
		if (ct->is_bool && ct->is_bool[col] && !f->is_null && f->len == 1 &&
		    (row[start] == 't' || row[start] == 'f')) {
			f->data = row[start] == 't' ? "true" : "false";
			f->len = strlen(f->data);
		}
		col++;
		if (q >= len)
			break;
		p = q + 1;
	}
	if (col != ct->ncols)
		return sr_fail(err, SR_EPROTO,
			       "%s: row %llu: %zu fields, expected the %zu columns described",
			       what, (unsigned long long)rowno, col, ct->ncols);
	for (size_t j = 0; j < col; j++) {
		struct sr_csv_field *f = &ct->fields[j];
		if (any_escaped && !f->data)
			f->data = ct->scratch.data + ct->scratch_at[j];
		if (!f->is_null && !sr_utf8_valid(f->data, f->len))
			return sr_fail(err, SR_EINVAL,
				       "%s: row %llu, column %zu (%s): invalid UTF-8",
				       what, (unsigned long long)rowno, j + 1,
				       names[j]);
	}
	return SR_OK;
}

