/*
 * source_csv.c - a CSV file as an import source (source.h): the reader of
 * csv.h behind the source interface.
 */
#include "store/source.h"

#include "base/alloc.h"
#include "base/banned.h"

struct csv_source {
	struct sr_source base;   /* first: the source is the struct */
	struct sr_csv *csv;
	const char **names;
};

static int csv_next(struct sr_source *src, const struct sr_csv_field **fields,
		    int *eof, struct sr_err *err)
{
	return sr_csv_next(((struct csv_source *)src)->csv, fields, eof, err);
}

static int csv_rewind(struct sr_source *src, struct sr_err *err)
{
	return sr_csv_rewind(((struct csv_source *)src)->csv, err);
}

static uint64_t csv_position(const struct sr_source *src)
{
	return sr_csv_line(((const struct csv_source *)src)->csv);
}

static void csv_progress(const struct sr_source *src, uint64_t *done,
			 uint64_t *total)
{
	const struct csv_source *s = (const struct csv_source *)src;

	*done = sr_csv_offset(s->csv);
	*total = sr_csv_size(s->csv);
}

static void csv_free(struct sr_source *src)
{
	struct csv_source *s = (struct csv_source *)src;

	sr_csv_free(s->csv);
	sr_free(s->names);
	sr_free(s);
}

static const struct sr_source_ops csv_ops = {
	csv_next, csv_rewind, csv_position, csv_progress, csv_free,
};

int sr_source_csv(const char *path, const struct sr_csv_options *opts,
		  struct sr_source **out, struct sr_err *err)
{
	struct sr_csv_options defaults;
	struct csv_source *s;
	int rc;

	*out = NULL;
	if (!opts) {
		sr_csv_options_init(&defaults);
		opts = &defaults;
	}
	s = sr_calloc(1, sizeof(*s));
	if (!s)
		return sr_fail(err, SR_ENOMEM, "%s: out of memory", path);
	rc = sr_csv_open_ex(path, opts, &s->csv, err);
	if (rc) {
		sr_free(s);
		return rc;
	}
	s->base.ops = &csv_ops;
	s->base.name = sr_csv_name(s->csv);
	s->base.unit = "line";
	s->base.ncols = sr_csv_columns(s->csv);
	s->base.delimiter = opts->delimiter;
	s->base.quote = opts->quote;
	s->names = sr_calloc(s->base.ncols, sizeof(*s->names));
	if (!s->names) {
		csv_free(&s->base);
		return sr_fail(err, SR_ENOMEM, "%s: out of memory", path);
	}
	for (size_t j = 0; j < s->base.ncols; j++)
		s->names[j] = sr_csv_column_name(s->csv, j);
	s->base.names = s->names;
	*out = &s->base;
	return SR_OK;
}

void sr_source_free(struct sr_source *src)
{
	if (src)
		src->ops->free(src);
}
