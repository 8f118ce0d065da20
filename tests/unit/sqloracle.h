/*
 * sqloracle.h - what the SQL oracle tests share (test_query.c,
 * test_query_join.c): SQLite's missing VAR/STDDEV aggregates, a query's
 * SQLite answer as envelope rows, and the comparison of rows (floats to
 * 1e-9 relative, or abs_tol absolute; integers exactly).
 */
#ifndef SR_SQLORACLE_H
#define SR_SQLORACLE_H

#include <jansson.h>
#include <sqlite3.h>

#include "store/vec.h"

/* VAR_POP, VAR_SAMP, STDDEV_POP and STDDEV_SAMP on db. */
void so_register_var(sqlite3 *db);
/* Insert cols[0..ncols) row by row with the prepared text sql (?, ...). */
void so_insert(sqlite3 *db, const char *sql, const struct sr_vec *cols, int ncols);
/* The rows SQLite answers sql with (fails the test on an SQLite error). */
json_t *so_sqlite_rows(sqlite3 *db, const char *sql);
/* Rows equal, in order when ordered, else as multisets. */
int so_same_rows(const json_t *got, const json_t *want, int ordered, double abs_tol);

#endif
