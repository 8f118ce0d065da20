/*
 * source.h - where the rows of an import come from: a CSV file
 * (source_csv.c) or a PostgreSQL query (source_pg.c).  Import reads any
 * source the same way, so policy, null tokens, bounds, domains, limits
 * and atomicity are the same for all.
 *
 * Fields are handed out as text (struct sr_csv_field), valid until the
 * next call; a source that knows its columns' types (PostgreSQL) declares
 * them, and is read once; one that does not (CSV) can rewind for a second
 * pass after type inference.
 */
#ifndef SR_SOURCE_H
#define SR_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/csv.h"
#include "store/value.h"

struct sr_source;

struct sr_source_ops {
	/* Next record: SR_OK with *fields (ncols entries), or *eof = 1. */
	int (*next)(struct sr_source *src, const struct sr_csv_field **fields,
		    int *eof, struct sr_err *err);
	/* Back to the first record; NULL for a source read once. */
	int (*rewind)(struct sr_source *src, struct sr_err *err);
	/* Where the last record was (its line, or its row number). */
	uint64_t (*position)(const struct sr_source *src);
	/* Progress: work done and its total (0 when unknown). */
	void (*progress)(const struct sr_source *src, uint64_t *done,
			 uint64_t *total);
	void (*free)(struct sr_source *src);
};

struct sr_source {
	const struct sr_source_ops *ops;
	const char *name;           /* for messages: a path, or the database
				     * as postgresql://user@host:port/db
				     * (never a password) */
	const char *unit;           /* "line" or "row" in messages */
	size_t ncols;
	const char *const *names;   /* column names, valid until free */
	const enum sr_type *types;  /* declared by the source, or NULL */
	char delimiter, quote;      /* for null-token checks; 0 if none */
};

/* Open a CSV file as a source (csv NULL: the defaults). */
int sr_source_csv(const char *path, const struct sr_csv_options *csv,
		  struct sr_source **out, struct sr_err *err) SR_WUR;

/*
 * Open a PostgreSQL query (or all of table, "name" or "schema.name") as
 * a source: connect with conninfo (a postgresql:// URI or key=value
 * string; libpq's environment and ~/.pgpass apply), in a read-only
 * transaction, and stream `COPY (query) TO STDOUT`.  Types come from
 * PostgreSQL's (docs/data.md).  Errors carry the server's message and
 * name the database without its password.
 */
int sr_source_pg(const char *conninfo, const char *query, const char *table,
		 struct sr_source **out, struct sr_err *err) SR_WUR;

/* Free a source (NULL does nothing). */
void sr_source_free(struct sr_source *src);

#endif
