/*
 * testutil.h - helpers shared by the unit tests (cmocka).
 */
#ifndef SR_TESTUTIL_H
#define SR_TESTUTIL_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"

/* Make a fresh temp directory (removed by sr_test_tmpdir_free); aborts the
 * test on failure.  Returns a heap string. */
char *sr_test_tmpdir(void);
void sr_test_tmpdir_free(char *dir);

/* Write a whole file (test helper; fails the test on error). */
void sr_test_write_file(const char *path, const void *data, size_t len);

/* Read a whole file into a NUL-terminated heap string; *len optional. */
char *sr_test_read_file(const char *path, size_t *len);

/* Source tree path (from SR_SOURCE_DIR) joined with rel; heap string. */
char *sr_test_source_path(const char *rel);

/* The permission bits of path (stat; fails the test if it is missing). */
int sr_test_file_mode(const char *path);

/* Deterministic generator for test data (splitmix64). */
uint64_t sr_test_rand(uint64_t *state);

/* sklearn's breast-cancer data, 569 rows: 30 features column-major in
 * x[c * 569 + r], labels 0/1 in y (both malloc'd, caller frees).  Skips
 * the test, naming the file, when python3-sklearn is missing. */
#define SR_TEST_BC_ROWS 569
#define SR_TEST_BC_COLS 30
void sr_test_breast_cancer(double **x, double **y);

/* An owned table for the ML tests: column-major features x[c * rows + r]
 * and labels y, both calloc'd (one spare element, so 0 rows is valid). */
struct sr_test_table {
	size_t rows, cols;
	double *x, *y;
};

void sr_test_table_alloc(struct sr_test_table *t, size_t rows, size_t cols);
void sr_test_table_free(struct sr_test_table *t);
/* Columns [c0, c1) of t into out, labels kept. */
void sr_test_table_columns(const struct sr_test_table *t, size_t c0, size_t c1,
			   struct sr_test_table *out);
/* Rows with r % k == 0 go to second, the others to first, in order. */
void sr_test_table_split(const struct sr_test_table *all, size_t k,
			 struct sr_test_table *first, struct sr_test_table *second);
/* sr_test_breast_cancer as a table (skips the same way). */
void sr_test_table_breast_cancer(struct sr_test_table *t);

/* A listener on 127.0.0.1 that accepts and closes every connection at
 * once, as an overloaded server does; its "HOST:PORT" in addr.  Asserts
 * on failure. */
struct sr_test_closer {
	int fd;
	pthread_t thread;
	char addr[64];
};
void sr_test_closer_start(struct sr_test_closer *c);
void sr_test_closer_stop(struct sr_test_closer *c);

#endif
