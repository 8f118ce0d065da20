/*
 * rows.h - where a kind's rows come from (struct sr_rows, kind.h): a
 * dataset version in the node's store, or an in-memory table (pooled
 * plaintext for run_central and the tests).  Both apply a row_filter in
 * the same code, so that the federated run and the central oracle see the
 * same rows and no kind can forget the filter.
 */
#ifndef SR_ROWS_H
#define SR_ROWS_H

#include <pthread.h>
#include <stddef.h>

#include "base/err.h"
#include "kinds/kind.h"
#include "store/store.h"
#include "store/vec.h"

/*
 * Rows of exactly version_id of dataset name (a local name) in store, with
 * the named columns, filtered by row_filter (the dataset's predicate text,
 * or NULL).  lock, if not NULL, is held around each store call (the node
 * serializes its store).  Errors: the store's (SR_ENOTFOUND naming the
 * version when the store no longer has it), SR_EINVAL for an unknown
 * column or a filter that does not compile against the version's schema.
 */
int sr_rows_open_store(struct sr_store *store, pthread_mutex_t *lock,
		       const char *name, const char *version_id,
		       const char *row_filter, const char *const *columns,
		       size_t ncolumns, struct sr_rows *out,
		       struct sr_err *err) SR_WUR;

/* An in-memory table: ncols columns of rows rows each (all borrowed). */
struct sr_table {
	const char *name;              /* for messages */
	size_t ncols;
	const char *const *names;
	const struct sr_vec *cols;
	size_t rows;
};

/* Rows of t (borrowed until close), in batches of SR_CHUNK_ROWS before
 * filtering, with the named columns, filtered by row_filter (or NULL). */
int sr_rows_open_table(const struct sr_table *t, const char *row_filter,
		       const char *const *columns, size_t ncolumns,
		       struct sr_rows *out, struct sr_err *err) SR_WUR;

#endif
