/*
 * db.c - opening SQLite with the project's pragmas and 0600 files, and
 * checked writes with a fault-injection hook for tests (db.h).
 */
#include "base/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/banned.h"

#define DB_MODE 0600
/* A fault file holds "full" or a decimal count: a few bytes. */
#define FAULT_FILE_MAX 32

/* ---- the test hook ------------------------------------------------------- */

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static long fault_countdown;        /* counted fault: writes until it hits */
static int fault_sticky;
static int fault_stuck;             /* a sticky fault hit: fail every write */
static char *fault_path;
static struct stat fault_seen;      /* the fault file's content last read */
static int fault_seen_valid;
static long fault_file_n;           /* 0: "full"; > 0: fail the n-th write;
				     * < 0: fail the first write named fault_file_name */
static char fault_file_name[FAULT_FILE_MAX];
static long fault_file_count;
static long writes_total, faults_total;

void sr_db_fault_at(long n, int sticky)
{
	pthread_mutex_lock(&fault_lock);
	fault_countdown = n > 0 ? n : 0;
	fault_sticky = sticky;
	fault_stuck = 0;
	pthread_mutex_unlock(&fault_lock);
}

void sr_db_fault_file(const char *path)
{
	pthread_mutex_lock(&fault_lock);
	sr_free(fault_path);
	fault_path = path && *path ? sr_strdup(path) : NULL;
	fault_seen_valid = 0;
	pthread_mutex_unlock(&fault_lock);
}

static long counter_read(const long *counter)
{
	long n;

	pthread_mutex_lock(&fault_lock);
	n = *counter;
	pthread_mutex_unlock(&fault_lock);
	return n;
}

long sr_db_writes(void)
{
	return counter_read(&writes_total);
}

long sr_db_faults(void)
{
	return counter_read(&faults_total);
}

/* Lock held.  Whether the fault file says this write (named what) fails. */
static int fault_file_hits(const char *what)
{
	struct stat sb;

	if (!fault_path || stat(fault_path, &sb) != 0) {
		fault_seen_valid = 0;
		return 0;
	}
	if (!fault_seen_valid || sb.st_ino != fault_seen.st_ino ||
	    sb.st_size != fault_seen.st_size ||
	    sb.st_mtim.tv_sec != fault_seen.st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != fault_seen.st_mtim.tv_nsec) {
		char text[FAULT_FILE_MAX] = "";
		int fd = open(fault_path, O_RDONLY | O_CLOEXEC);
		ssize_t got = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

		if (fd >= 0)
			close(fd);
		text[got > 0 ? got : 0] = '\0';
		text[strcspn(text, "\n")] = '\0';
		fault_file_n = strcmp(text, "full") == 0 ? 0 : strtol(text, NULL, 10);
		if (fault_file_n == 0 && strcmp(text, "full") != 0) {
			fault_file_n = -1;
			snprintf(fault_file_name, sizeof(fault_file_name), "%s", text);
		}
		fault_file_count = 0;
		fault_seen = sb;
		fault_seen_valid = 1;
	}
	if (fault_file_n == 0)
		return 1;
	if (fault_file_n < 0)
		return strcmp(what, fault_file_name) == 0 && ++fault_file_count == 1;
	return ++fault_file_count == fault_file_n;
}

/* Count a write; 1 if the hook fails it. */
static int fault_hits(const char *what)
{
	int hit;
	long seq;

	pthread_mutex_lock(&fault_lock);
	seq = ++writes_total;
	hit = fault_stuck;
	if (!hit && fault_countdown > 0 && --fault_countdown == 0) {
		hit = 1;
		fault_stuck = fault_sticky;
	}
	if (!hit)
		hit = fault_file_hits(what);
	if (hit)
		faults_total++;
	pthread_mutex_unlock(&fault_lock);
	if (hit)
		sr_log_warn("db: test fault: write %ld (%s) fails as if the disk were full",
			    seq, what);
	return hit;
}

/* ---- errors -------------------------------------------------------------- */

static const char *db_name(sqlite3 *db)
{
	const char *name = db ? sqlite3_db_filename(db, "main") : NULL;

	return name && *name ? name : "database";
}

static int fail_code(sqlite3 *db, int code, const char *cause, const char *what,
		     struct sr_err *err)
{
	int status = code == SQLITE_NOMEM ? SR_ENOMEM :
		(code == SQLITE_BUSY || code == SQLITE_LOCKED) ? SR_EBUSY : SR_EIO;

	if (code == SQLITE_FULL)
		return sr_fail(err, status, "%s: %s: disk full (%s)", db_name(db), what,
			       cause);
	return sr_fail(err, status, "%s: %s: %s", db_name(db), what, cause);
}

int sr_db_fail(sqlite3 *db, const char *what, struct sr_err *err)
{
	if (!db)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return fail_code(db, sqlite3_errcode(db), sqlite3_errmsg(db), what, err);
}

static int fault_fail(sqlite3 *db, const char *what, struct sr_err *err)
{
	return fail_code(db, SQLITE_FULL, "database or disk is full (test fault)", what,
			 err);
}

/* ---- writes -------------------------------------------------------------- */

int sr_db_exec(sqlite3 *db, const char *sql, const char *what, struct sr_err *err)
{
	if (fault_hits(what))
		return fault_fail(db, what, err);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sr_db_fail(db, what, err);
	return SR_OK;
}

int sr_db_step_done(sqlite3_stmt *st, const char *what, struct sr_err *err)
{
	sqlite3 *db = sqlite3_db_handle(st);
	int step;

	if (fault_hits(what))
		return fault_fail(db, what, err);
	step = sqlite3_step(st);
	if (step != SQLITE_DONE) {
		/* The error first: the reset (so the statement can be
		 * finalized or run again) may change what SQLite reports. */
		int rc = sr_db_fail(db, what, err);
		sqlite3_reset(st);
		return rc;
	}
	return SR_OK;
}

int sr_db_begin(sqlite3 *db, struct sr_err *err)
{
	return sr_db_exec(db, "BEGIN IMMEDIATE", "begin", err);
}

int sr_db_commit(sqlite3 *db, struct sr_err *err)
{
	return sr_db_exec(db, "COMMIT", "commit", err);
}

void sr_db_rollback(sqlite3 *db)
{
	/* SQLite rolls back by itself after some failures (SQLITE_FULL on
	 * COMMIT among them): then there is nothing left to roll back. */
	if (db && !sqlite3_get_autocommit(db) &&
	    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		sr_log_error("%s: rollback: %s", db_name(db), sqlite3_errmsg(db));
}

int sr_db_checkpoint(sqlite3 *db, struct sr_err *err)
{
	int rc;

	if (fault_hits("checkpoint"))
		return fault_fail(db, "checkpoint", err);
	rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc == SQLITE_BUSY)
		return sr_fail(err, SR_EBUSY, "%s: checkpoint: the WAL is in use by another connection",
			       db_name(db));
	if (rc != SQLITE_OK)
		return sr_db_fail(db, "checkpoint", err);
	return SR_OK;
}

/* ---- open and close ------------------------------------------------------ */

/* path exists 0600 (created so, or tightened), and so do its WAL and
 * shared-memory files if they exist: SQLite gives those the database's
 * mode when it creates them. */
/*
 * The database and its side files 0600.  An existing file is chmod-ed by
 * name, never opened: closing any descriptor of a file drops every POSIX
 * lock this process holds on it, including those of SQLite connections
 * already open on it (the node and its store share node.db), after which
 * another process believes it is the last user, checkpoints and removes
 * the WAL under the node's feet (new connections then read stale data or
 * fail with SQLITE_IOERR_SHORT_READ).  A missing file is created: no
 * connection can hold it yet.
 */
static int make_private(const char *path, struct sr_err *err)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	int rc = SR_OK;

	if (chmod(path, DB_MODE) != 0) {
		int fd;
		if (errno != ENOENT)
			return sr_fail(err, SR_EIO, "%s: cannot make it 0600: %s", path,
				       strerror(errno));
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, DB_MODE);
		if (fd < 0)
			return sr_fail(err, SR_EIO, "%s: cannot create: %s", path, strerror(errno));
		if (fchmod(fd, DB_MODE) != 0)
			rc = sr_fail(err, SR_EIO, "%s: cannot make it 0600: %s", path,
				     strerror(errno));
		close(fd);
	}
	for (size_t i = 0; rc == SR_OK && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char side[4096];

		if ((size_t)snprintf(side, sizeof(side), "%s%s", path, suffixes[i]) >=
		    sizeof(side))
			return sr_fail(err, SR_ELIMIT, "%s: path too long", path);
		if (chmod(side, DB_MODE) != 0 && errno != ENOENT)
			rc = sr_fail(err, SR_EIO, "%s: cannot make it 0600: %s", side,
				     strerror(errno));
	}
	return rc;
}

int sr_db_open(const char *path, const char *extra_pragmas, const char *schema,
	       sqlite3 **out, struct sr_err *err)
{
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	rc = make_private(path, err);
	if (rc)
		return rc;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = db ? sr_fail(err, SR_EIO, "%s: open: %s", path, sqlite3_errmsg(db)) :
			sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 10000);
	/* Schema setup goes straight to SQLite: the hook counts the writes a
	 * running service makes, not the opening. */
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    (extra_pragmas && sqlite3_exec(db, extra_pragmas, NULL, NULL, NULL) != SQLITE_OK)) {
		rc = sr_db_fail(db, "pragmas", err);
		goto fail;
	}
	if (schema && sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		rc = sr_db_fail(db, "schema", err);
		goto fail;
	}
	*out = db;
	return SR_OK;
fail:
	sqlite3_close_v2(db);
	return rc;
}

void sr_db_close(sqlite3 *db)
{
	struct sr_err err;

	if (!db)
		return;
	sr_err_clear(&err);
	/* The close checkpoints too, but says nothing when that fails. */
	if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
				      NULL) != SQLITE_OK &&
	    sqlite3_errcode(db) != SQLITE_BUSY)
		sr_log_warn("%s: checkpoint at close: %s (the WAL keeps the data)",
			    db_name(db), sqlite3_errmsg(db));
	sqlite3_close_v2(db);
}
