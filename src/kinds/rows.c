/*
 * rows.c - the two sources of struct sr_rows (rows.h): a dataset version
 * in the node's store, and an in-memory table (pooled plaintext for
 * run_central, test harnesses).  Both apply the dataset's row_filter in
 * the same code, so the federated run and the central oracle see the same
 * rows.
 */
#include "kinds/rows.h"

#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "expr/expr.h"
#include "store/store.h"
#include "base/banned.h"

/* Shared by both sources: the selected columns and the filter. */
struct rows_base {
	size_t nsel;                /* columns asked for */
	size_t *sel;                /* per asked column: index into the source batch */
	struct sr_expr *filter;     /* or NULL */
	size_t nsrc;                /* columns in the source batch */
	const struct sr_vec **src;  /* source batch, by source column */
	const struct sr_vec **out;  /* what next returns */
	struct sr_vec *kept;        /* per asked column: filtered copy */
	uint8_t *keep;
	size_t keep_cap;
	uint64_t *ids;
	size_t ids_cap;
	uint64_t next_row;          /* row number of the next source row */
};

static void base_release(struct rows_base *b)
{
	if (b->kept)
		for (size_t i = 0; i < b->nsel; i++)
			sr_vec_release(&b->kept[i]);
	sr_free(b->kept);
	sr_free(b->sel);
	sr_free(b->src);
	sr_free(b->out);
	sr_free(b->keep);
	sr_free(b->ids);
	sr_expr_free(b->filter);
}

/*
 * Resolve the asked columns and the filter's against the source schema
 * (names[i], types[i]).  *src_cols gets the source columns to read (asked
 * ones first, then those only the filter reads), as indices into names.
 */
static int base_init(struct rows_base *b, const char *what,
		     const char *const *names, const enum sr_type *types,
		     size_t ncols, const char *const *columns, size_t nasked,
		     const char *row_filter, size_t **src_cols, size_t *nsrc,
		     struct sr_err *err)
{
	struct sr_expr_column *schema = NULL;
	size_t *read = NULL, nread = 0;
	int rc = SR_OK;

	memset(b, 0, sizeof(*b));
	*src_cols = NULL;
	b->nsel = nasked;
	b->sel = sr_calloc(nasked ? nasked : 1, sizeof(*b->sel));
	read = sr_calloc(ncols + nasked + 1, sizeof(*read));
	if (!b->sel || !read) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nasked; i++) {
		size_t c = 0;
		while (c < ncols && strcmp(names[c], columns[i]) != 0)
			c++;
		if (c == ncols) {
			rc = sr_fail(err, SR_EINVAL, "%s has no column '%s'", what,
				     columns[i]);
			goto out;
		}
		b->sel[i] = nread;
		read[nread++] = c;
	}
	if (row_filter) {
		schema = sr_calloc(ncols ? ncols : 1, sizeof(*schema));
		if (!schema) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t c = 0; c < ncols; c++) {
			schema[c].name = names[c];
			schema[c].type = types[c];
		}
		rc = sr_expr_compile(row_filter, strlen(row_filter), schema, ncols,
				     &b->filter, err);
		if (rc) {
			sr_err_prefix(err, "%s: row_filter", what);
			goto out;
		}
		for (size_t u = 0; u < sr_expr_ncolumns_used(b->filter); u++) {
			size_t c = sr_expr_column_used(b->filter, u);
			int have = 0;
			for (size_t k = 0; k < nread; k++)
				have |= read[k] == c;
			if (!have)
				read[nread++] = c;
		}
		b->kept = sr_calloc(nasked ? nasked : 1, sizeof(*b->kept));
		if (!b->kept) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nasked; i++)
			sr_vec_init(&b->kept[i], types[read[b->sel[i]]]);
	}
	b->nsrc = nread;
	b->src = sr_calloc(nread ? nread : 1, sizeof(*b->src));
	b->out = sr_calloc(nasked ? nasked : 1, sizeof(*b->out));
	if (!b->src || !b->out) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	*src_cols = read;
	*nsrc = nread;
	read = NULL;
out:
	sr_free(schema);
	sr_free(read);
	return rc;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *grown;

	if (need <= *cap)
		return SR_OK;
	grown = sr_realloc(*p, need * size);
	if (!grown)
		return SR_ENOMEM;
	*p = grown;
	*cap = need;
	return SR_OK;
}

/*
 * b->src holds a source batch of rows rows: filter it into what next
 * returns.  The filter needs every source column by schema index, so
 * cols_by_schema maps schema columns to vectors (NULL where not read).
 */
static int base_batch(struct rows_base *b, const struct sr_vec *const *cols_by_schema,
		      size_t rows, const struct sr_vec **out_cols,
		      const uint64_t **row_ids, size_t *out_rows,
		      struct sr_err *err)
{
	size_t kept = 0;
	int rc;

	if (grow((void **)&b->ids, &b->ids_cap, rows ? rows : 1, sizeof(*b->ids)))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (!b->filter) {
		for (size_t r = 0; r < rows; r++)
			b->ids[r] = b->next_row + r;
		for (size_t i = 0; i < b->nsel; i++)
			b->out[i] = b->src[b->sel[i]];
		kept = rows;
	} else {
		if (grow((void **)&b->keep, &b->keep_cap, rows ? rows : 1, 1))
			return sr_fail(err, SR_ENOMEM, "out of memory");
		rc = sr_expr_filter(b->filter, cols_by_schema, rows, b->keep, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < b->nsel; i++)
			sr_vec_reset(&b->kept[i]);
		for (size_t r = 0; r < rows; r++) {
			if (!b->keep[r])
				continue;
			for (size_t i = 0; i < b->nsel; i++) {
				rc = sr_vec_append_from(&b->kept[i], b->src[b->sel[i]], r);
				if (rc)
					return sr_fail(err, SR_ENOMEM, "out of memory");
			}
			b->ids[kept++] = b->next_row + r;
		}
		for (size_t i = 0; i < b->nsel; i++)
			b->out[i] = &b->kept[i];
	}
	b->next_row += rows;
	for (size_t i = 0; i < b->nsel; i++)
		out_cols[i] = b->out[i];
	*row_ids = b->ids;
	*out_rows = kept;
	return SR_OK;
}

/* ---- a dataset version in the store -------------------------------------- */

struct store_rows {
	struct rows_base b;
	struct sr_scan *scan;
	pthread_mutex_t *lock;
	size_t nschema;
	size_t *src_cols;            /* source column -> schema index */
	const struct sr_vec **by_schema;
	const struct sr_vec **outv;
};

static void store_close(void *impl)
{
	struct store_rows *s = impl;

	if (!s)
		return;
	if (s->lock)
		pthread_mutex_lock(s->lock);
	sr_scan_free(s->scan);
	if (s->lock)
		pthread_mutex_unlock(s->lock);
	base_release(&s->b);
	sr_free(s->src_cols);
	sr_free(s->by_schema);
	sr_free(s->outv);
	sr_free(s);
}

static int store_next(void *impl, const struct sr_vec **cols,
		      const uint64_t **row_ids, size_t *rows, int *eof,
		      struct sr_err *err)
{
	struct store_rows *s = impl;

	for (;;) {
		const struct sr_vec *batch;
		size_t n = 0;
		int rc;

		if (s->lock)
			pthread_mutex_lock(s->lock);
		rc = sr_scan_next(s->scan, &batch, &n, eof, err);
		if (s->lock)
			pthread_mutex_unlock(s->lock);
		if (rc)
			return rc;
		if (*eof) {
			*rows = 0;
			return SR_OK;
		}
		for (size_t i = 0; i < s->b.nsrc; i++) {
			s->b.src[i] = &batch[i];
			s->by_schema[s->src_cols[i]] = &batch[i];
		}
		rc = base_batch(&s->b, s->by_schema, n, cols, row_ids, rows, err);
		if (rc || *rows > 0)
			return rc;
		/* every row of this chunk filtered out: go on */
	}
}

int sr_rows_open_store(struct sr_store *store, pthread_mutex_t *lock,
		       const char *name, const char *version_id,
		       const char *row_filter, const char *const *columns,
		       size_t ncolumns, struct sr_rows *out, struct sr_err *err)
{
	struct store_rows *s = sr_calloc(1, sizeof(*s));
	const char **names = NULL, **src_names = NULL;
	enum sr_type *types = NULL;
	const struct sr_dataset_info *info;
	struct sr_scan *probe = NULL;
	size_t nsrc = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	s->lock = lock;
	/* Open once with every column to learn the schema, then the scan of
	 * exactly the columns needed. */
	if (lock)
		pthread_mutex_lock(lock);
	rc = sr_scan_open_version(store, name, version_id, NULL, 0, &probe, err);
	if (lock)
		pthread_mutex_unlock(lock);
	if (rc)
		goto out;
	info = sr_scan_info(probe);
	s->nschema = info->ncolumns;
	names = sr_calloc(s->nschema ? s->nschema : 1, sizeof(*names));
	types = sr_calloc(s->nschema ? s->nschema : 1, sizeof(*types));
	s->by_schema = sr_calloc(s->nschema ? s->nschema : 1, sizeof(*s->by_schema));
	if (!names || !types || !s->by_schema) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < s->nschema; c++) {
		names[c] = info->columns[c].name;
		types[c] = info->columns[c].type;
	}
	rc = base_init(&s->b, name, names, types, s->nschema, columns, ncolumns,
		       row_filter, &s->src_cols, &nsrc, err);
	if (rc)
		goto out;
	src_names = sr_calloc(nsrc ? nsrc : 1, sizeof(*src_names));
	if (!src_names) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nsrc; i++)
		src_names[i] = names[s->src_cols[i]];
	if (lock)
		pthread_mutex_lock(lock);
	rc = sr_scan_open_version(store, name, version_id, src_names, nsrc,
				  &s->scan, err);
	if (lock)
		pthread_mutex_unlock(lock);
	if (rc)
		goto out;
	out->impl = s;
	out->ncols = ncolumns;
	out->next = store_next;
	out->close = store_close;
	s = NULL;   /* out owns it now */
out:
	sr_free(names);
	sr_free(types);
	sr_free(src_names);
	if (lock)
		pthread_mutex_lock(lock);
	sr_scan_free(probe);
	if (lock)
		pthread_mutex_unlock(lock);
	store_close(s);
	return rc;
}

/* ---- an in-memory table ----------------------------------------------------- */

struct table_rows {
	struct rows_base b;
	const struct sr_table *t;
	size_t *src_cols;
	const struct sr_vec **by_schema;
	struct sr_vec *slice;        /* per source column: the batch's rows */
	size_t at;
};

static void table_close(void *impl)
{
	struct table_rows *s = impl;

	if (!s)
		return;
	if (s->slice)
		for (size_t i = 0; i < s->b.nsrc; i++)
			sr_vec_release(&s->slice[i]);
	base_release(&s->b);
	sr_free(s->slice);
	sr_free(s->src_cols);
	sr_free(s->by_schema);
	sr_free(s);
}

static int table_next(void *impl, const struct sr_vec **cols,
		      const uint64_t **row_ids, size_t *rows, int *eof,
		      struct sr_err *err)
{
	struct table_rows *s = impl;

	*eof = 0;
	while (s->at < s->t->rows) {
		size_t n = s->t->rows - s->at;
		int rc;

		if (n > SR_CHUNK_ROWS)
			n = SR_CHUNK_ROWS;
		for (size_t i = 0; i < s->b.nsrc; i++) {
			struct sr_vec *v = &s->slice[i];
			sr_vec_reset(v);
			for (size_t r = 0; r < n; r++)
				if (sr_vec_append_from(v, &s->t->cols[s->src_cols[i]],
						       s->at + r))
					return sr_fail(err, SR_ENOMEM, "out of memory");
			s->b.src[i] = v;
			s->by_schema[s->src_cols[i]] = v;
		}
		s->at += n;
		rc = base_batch(&s->b, s->by_schema, n, cols, row_ids, rows, err);
		if (rc || *rows > 0)
			return rc;
	}
	*rows = 0;
	*eof = 1;
	return SR_OK;
}

int sr_rows_open_table(const struct sr_table *t, const char *row_filter,
		       const char *const *columns, size_t ncolumns,
		       struct sr_rows *out, struct sr_err *err)
{
	struct table_rows *s = sr_calloc(1, sizeof(*s));
	enum sr_type *types = NULL;
	size_t nsrc = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	s->t = t;
	types = sr_calloc(t->ncols ? t->ncols : 1, sizeof(*types));
	s->by_schema = sr_calloc(t->ncols ? t->ncols : 1, sizeof(*s->by_schema));
	if (!types || !s->by_schema) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t c = 0; c < t->ncols; c++)
		types[c] = t->cols[c].type;
	rc = base_init(&s->b, t->name, t->names, types, t->ncols, columns,
		       ncolumns, row_filter, &s->src_cols, &nsrc, err);
	if (rc)
		goto fail;
	s->slice = sr_calloc(nsrc ? nsrc : 1, sizeof(*s->slice));
	if (!s->slice) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nsrc; i++)
		sr_vec_init(&s->slice[i], types[s->src_cols[i]]);
	out->impl = s;
	out->ncols = ncolumns;
	out->next = table_next;
	out->close = table_close;
	sr_free(types);
	return SR_OK;
fail:
	sr_free(types);
	table_close(s);
	return rc;
}
