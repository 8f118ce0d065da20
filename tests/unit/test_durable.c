/*
 * test_durable.c - base/db: databases and their WAL are 0600 whatever the
 * umask, every write is checked and names its file and cause ("disk
 * full"), a failed COMMIT rolls back to exactly what was there, and the
 * fault hook (counted, sticky, and by file) fails what it says and nothing
 * else.  The services' use of it: test_coord.c, test_store.c and
 * tests/integration/test_disk_full*.sh.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/db.h"
#include "base/err.h"

struct fixture {
	char *dir;
	char path[512];
	sqlite3 *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sr_err err;

	assert_non_null(f);
	sr_err_clear(&err);
	f->dir = sr_test_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	assert_int_equal(sr_db_open(f->path, NULL, "CREATE TABLE t (v INTEGER);", &f->db,
				    &err), SR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sr_db_fault_at(0, 0);
	sr_db_fault_file(NULL);
	sr_db_close(f->db);
	sr_test_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static int insert(struct fixture *f, int v, struct sr_err *err)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%d)", v);
	sr_err_clear(err);
	return sr_db_exec(f->db, sql, "insert", err);
}

static int rows(struct fixture *f)
{
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT count(*) FROM t", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_files_0600_whatever_the_umask(void **state)
{
	struct fixture *f = *state;
	char path[600], side[620];
	struct sr_err err;
	sqlite3 *db = NULL;
	mode_t old = umask(0);

	sr_err_clear(&err);
	snprintf(path, sizeof(path), "%s/new.db", f->dir);
	assert_int_equal(sr_db_open(path, NULL, "CREATE TABLE t (v INTEGER);"
				    "INSERT INTO t VALUES (1);", &db, &err), SR_OK);
	assert_int_equal(sr_test_file_mode(path), 0600);
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_equal(sr_test_file_mode(side), 0600);
	snprintf(side, sizeof(side), "%s-shm", path);
	assert_int_equal(sr_test_file_mode(side), 0600);
	sr_db_close(db);
	/* A database an older version left 0644 is tightened at open,
	 * WAL and shared memory included. */
	db = NULL;
	assert_int_equal(chmod(f->path, 0644), 0);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	assert_int_equal(chmod(side, 0666), 0);
	assert_int_equal(sr_db_open(f->path, NULL, NULL, &db, &err), SR_OK);
	assert_int_equal(sr_test_file_mode(f->path), 0600);
	assert_int_equal(sr_test_file_mode(side), 0600);
	sr_db_close(db);
	umask(old);
}

static void test_counted_fault(void **state)
{
	struct fixture *f = *state;
	struct sr_err err;
	long writes = sr_db_writes(), faults = sr_db_faults();

	sr_db_fault_at(2, 0);
	assert_int_equal(insert(f, 1, &err), SR_OK);
	assert_int_equal(insert(f, 2, &err), SR_EIO);
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "insert: disk full"));
	assert_int_equal(insert(f, 3, &err), SR_OK);
	assert_int_equal(rows(f), 2);
	assert_int_equal(sr_db_writes() - writes, 3);
	assert_int_equal(sr_db_faults() - faults, 1);
}

static void test_sticky_fault_until_cleared(void **state)
{
	struct fixture *f = *state;
	struct sr_err err;

	sr_db_fault_at(1, 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(insert(f, i, &err), SR_EIO);
	assert_int_equal(rows(f), 0);
	sr_db_fault_at(0, 0);
	assert_int_equal(insert(f, 9, &err), SR_OK);
	assert_int_equal(rows(f), 1);
}

static void test_failed_commit_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct sr_err err;
	sqlite3_stmt *st;

	assert_int_equal(insert(f, 1, &err), SR_OK);
	assert_int_equal(sr_db_begin(f->db, &err), SR_OK);
	assert_int_equal(sqlite3_prepare_v2(f->db, "INSERT INTO t VALUES (2)", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sr_db_step_done(st, "insert", &err), SR_OK);
	sqlite3_finalize(st);
	sr_db_fault_at(1, 0);
	assert_int_equal(sr_db_commit(f->db, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "commit: disk full"));
	sr_db_rollback(f->db);
	assert_int_equal(sqlite3_get_autocommit(f->db), 1);
	assert_int_equal(rows(f), 1);
	/* Rolling back twice, or with nothing open, is harmless. */
	sr_db_rollback(f->db);
	assert_int_equal(insert(f, 3, &err), SR_OK);
	assert_int_equal(rows(f), 2);
}

static void test_real_errors_are_named(void **state)
{
	struct fixture *f = *state;
	struct sr_err err;
	sqlite3_stmt *st;

	/* Not a fault: SQLite's own refusal, with its message. */
	assert_int_equal(sqlite3_prepare_v2(f->db, "INSERT INTO t VALUES (?)", -1, &st, NULL),
			 SQLITE_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_db_exec(f->db, "INSERT INTO nosuch VALUES (1)", "store x", &err),
			 SR_EIO);
	assert_non_null(strstr(err.msg, "store x: no such table: nosuch"));
	sqlite3_finalize(st);
}

static void write_fault(const char *path, const char *text)
{
	char tmp[620];

	/* A new file each time, as the tests write it (rename over). */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	sr_test_write_file(tmp, text, strlen(text));
	assert_int_equal(rename(tmp, path), 0);
}

static void test_fault_file(void **state)
{
	struct fixture *f = *state;
	struct sr_err err;
	char path[600];

	snprintf(path, sizeof(path), "%s/fault", f->dir);
	sr_db_fault_file(path);
	assert_int_equal(insert(f, 1, &err), SR_OK);        /* no file, no fault */
	write_fault(path, "full\n");
	assert_int_equal(insert(f, 2, &err), SR_EIO);
	assert_int_equal(insert(f, 3, &err), SR_EIO);
	write_fault(path, "2\n");
	assert_int_equal(insert(f, 4, &err), SR_OK);
	assert_int_equal(insert(f, 5, &err), SR_EIO);       /* the 2nd since "2" */
	assert_int_equal(insert(f, 6, &err), SR_OK);        /* once */
	write_fault(path, "1\n");
	assert_int_equal(insert(f, 7, &err), SR_EIO);       /* counts anew */
	write_fault(path, "commit\n");                      /* by name */
	assert_int_equal(insert(f, 10, &err), SR_OK);
	assert_int_equal(sr_db_begin(f->db, &err), SR_OK);
	assert_int_equal(sr_db_commit(f->db, &err), SR_EIO);
	sr_db_rollback(f->db);
	assert_int_equal(sr_db_begin(f->db, &err), SR_OK);
	assert_int_equal(sr_db_commit(f->db, &err), SR_OK);  /* once */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(insert(f, 8, &err), SR_OK);
	assert_int_equal(rows(f), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_files_0600_whatever_the_umask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counted_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_fault_until_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_errors_are_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
