/*
 * db.h - the one way sealroom opens SQLite and writes to it.
 *
 * Every database (node.db, coord.db) is opened by sr_db_open: the file and
 * its -wal and -shm are 0600 whatever the umask (SQLite gives the WAL and
 * shared-memory files the mode of the database file, so the database is
 * created 0600 first and a file left 0644 by an older version is tightened),
 * WAL, synchronous=FULL, a busy timeout, then the caller's schema.
 *
 * Every write goes through sr_db_exec, sr_db_step_done or sr_db_commit,
 * which check SQLite's answer and turn a failure into an
 * sr_err that names the database file, the operation and the cause
 * ("disk full" for SQLITE_FULL).  Durability is never assumed: a caller
 * that folded something in memory before a write must undo it when the
 * write fails (see docs/operations.md, "Disk full").
 *
 * Test hook.  sr_db_fault_at(n, sticky) makes the n-th write from now fail
 * as if the disk were full (and every later one when sticky), like
 * sr_alloc_fail_at.  sr_db_fault_file(path) reads the same from a file at
 * every write, so a test can switch it on and off in a running process:
 * no file means no fault, "full" fails every write, a number N > 0 fails
 * the N-th write after that content first appeared (once), and anything
 * else is the name of a write (the WHAT of the calls below: "result",
 * "access log", "commit", ...) and fails the next write of that name
 * (once).  Only test builds
 * (sealroom-test, SEALROOM_TEST_DB_FAULT) and unit tests call these.
 * Rollbacks never fail by the hook: they free space, they do not take it.
 */
#ifndef SR_DB_H
#define SR_DB_H

#include <sqlite3.h>

#include "base/err.h"

/*
 * Open (creating, 0600) the database at path with the project's pragmas
 * and run schema (may be NULL).  extra_pragmas (may be NULL) is run after
 * the common ones.  *out is closed with sr_db_close.
 */
int sr_db_open(const char *path, const char *extra_pragmas, const char *schema,
	       sqlite3 **out, struct sr_err *err) SR_WUR;

/* Checkpoint (checked: a failure is logged, the WAL keeps the data) and
 * close; NULL does nothing. */
void sr_db_close(sqlite3 *db);

/*
 * The last failure on db as an sr_err: "PATH: WHAT: CAUSE".  The code is
 * SR_ENOMEM, SR_EBUSY or SR_EIO; CAUSE is "disk full (...)" for
 * SQLITE_FULL.  Returns the code.
 */
int sr_db_fail(sqlite3 *db, const char *what, struct sr_err *err);

/* Run sql (one or more statements that write); checked. */
int sr_db_exec(sqlite3 *db, const char *sql, const char *what,
	       struct sr_err *err) SR_WUR;

/* Step a prepared write statement once; anything but SQLITE_DONE fails. */
int sr_db_step_done(sqlite3_stmt *st, const char *what,
		    struct sr_err *err) SR_WUR;

/* BEGIN IMMEDIATE / COMMIT, checked.  A failed COMMIT leaves nothing to
 * commit: call sr_db_rollback, which is safe whether or not SQLite
 * already rolled the transaction back. */
int sr_db_begin(sqlite3 *db, struct sr_err *err) SR_WUR;
int sr_db_commit(sqlite3 *db, struct sr_err *err) SR_WUR;
void sr_db_rollback(sqlite3 *db);

/* Move the whole WAL into the database file and truncate it (what
 * secure deletion needs: freed pages leave the WAL too), checked: a
 * checkpoint that readers kept from finishing is an SR_EBUSY. */
int sr_db_checkpoint(sqlite3 *db, struct sr_err *err) SR_WUR;

/* Test hook (see the top).  n <= 0 switches the counted fault off. */
void sr_db_fault_at(long n, int sticky);
/* The fault file; NULL switches it off.  path is copied. */
void sr_db_fault_file(const char *path);
/* Writes attempted through this module since the process started. */
long sr_db_writes(void);
/* Writes the hook has failed since the process started. */
long sr_db_faults(void);

#endif
