#include "store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "base/banned.h"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS datasets ("
	"  name TEXT PRIMARY KEY,"
	"  version_id TEXT NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS versions ("
	"  version_id TEXT PRIMARY KEY,"
	"  dataset TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  rows INTEGER NOT NULL,"
	"  columns INTEGER NOT NULL,"
	"  plain_bytes INTEGER NOT NULL,"
	"  stored_bytes INTEGER NOT NULL,"
	"  wrapped_key BLOB NOT NULL,"
	"  manifest_mac BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS versions_dataset ON versions(dataset);";

void sr_dataset_info_init(struct sr_dataset_info *info)
{
	memset(info, 0, sizeof(*info));
}

void sr_dataset_info_release(struct sr_dataset_info *info)
{
	sr_free(info->name);
	for (size_t i = 0; i < info->ncolumns; i++)
		sr_free(info->columns[i].name);
	sr_free(info->columns);
	json_decref(info->policy);
	sr_dataset_info_init(info);
}

void sr_dataset_info_list_free(struct sr_dataset_info *list, size_t count)
{
	if (!list)
		return;
	for (size_t i = 0; i < count; i++)
		sr_dataset_info_release(&list[i]);
	sr_free(list);
}

int sr_dataset_name_check(const char *name, struct sr_err *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > SR_DATASET_NAME_MAX)
		return sr_fail(err, SR_EINVAL,
			       "dataset name '%.80s' must be 1 to %d characters",
			       name, SR_DATASET_NAME_MAX);
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return sr_fail(err, SR_EINVAL,
			       "dataset name '%s' must start with a lowercase letter",
			       name);
	for (size_t i = 1; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return sr_fail(err, SR_EINVAL,
				       "dataset name '%s' may contain only a-z, 0-9, '_' and '-'",
				       name);
	}
	return SR_OK;
}

int sr_store_need_key(const struct sr_store *store, const char *op,
		      struct sr_err *err)
{
	if (!store->wrap_key)
		return sr_fail(err, SR_EINVAL, "%s needs the node's master key",
			       op);
	return SR_OK;
}

void sr_store_key_ad(const uint8_t uid[SR_DATASET_UID_BYTES],
		     uint8_t ad[SR_KEY_AD_BYTES])
{
	memcpy(ad, "sealroom.datakey.v1", 19);
	memcpy(ad + 19, uid, SR_DATASET_UID_BYTES);
}

static int db_fail(struct sr_store *store, struct sr_err *err,
		   const char *what)
{
	return sr_db_fail(store->db, what, err);
}

static int db_exec(struct sr_store *store, const char *sql,
		   struct sr_err *err)
{
	return sr_db_exec(store->db, sql, sql, err);
}

int sr_store_lock(const struct sr_store *store, int wait, int *fd,
		  struct sr_err *err)
{
	struct sr_buf path;
	int rc = SR_OK;

	*fd = -1;
	sr_buf_init(&path, 0);
	if (sr_path_join(&path, store->home, "store.lock") != SR_OK)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	*fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		rc = sr_fail(err, SR_EIO, "%s: cannot open: %s", path.data,
			     strerror(errno));
	} else if (flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		rc = sr_fail(err, SR_EBUSY, "%s: store is busy", path.data);
		close(*fd);
		*fd = -1;
	}
	sr_buf_release(&path);
	return rc;
}

void sr_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);   /* releases the flock */
}

/* Is version_id (a directory name) referenced by the catalog? */
static int version_known(struct sr_store *store, const char *version_id,
			 int *known, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(store->db,
			       "SELECT 1 FROM versions WHERE version_id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(store, err, "prepare");
	sqlite3_bind_text(st, 1, version_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*known = rc == SQLITE_ROW;
		rc = SR_OK;
	} else {
		rc = db_fail(store, err, "lookup");
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Remove what a killed import or remove left: everything in tmp/, and
 * version directories the catalog does not know.  Runs only when no import
 * is running (the store lock is free).
 */
static int collect_garbage(struct sr_store *store, struct sr_err *err)
{
	struct sr_buf path;
	struct dirent *ent;
	DIR *dir;
	int lock_fd, rc;

	if (sr_store_lock(store, 0, &lock_fd, NULL) != SR_OK)
		return SR_OK;   /* an import is running: leave its files alone */
	sr_buf_init(&path, 0);
	rc = sr_rm_rf(store->tmp_dir, err);
	if (rc == SR_OK)
		rc = sr_mkdir_p(store->tmp_dir, 0700, err);
	dir = rc == SR_OK ? opendir(store->datasets_dir) : NULL;
	if (rc == SR_OK && !dir)
		rc = sr_fail(err, SR_EIO, "%s: %s", store->datasets_dir,
			     strerror(errno));
	while (rc == SR_OK && (ent = readdir(dir)) != NULL) {
		int known = 0;
		if (ent->d_name[0] == '.')
			continue;
		rc = version_known(store, ent->d_name, &known, err);
		if (rc || known)
			continue;
		sr_log_info("store: removing unreferenced version directory %s",
			    ent->d_name);
		rc = sr_path_join(&path, store->datasets_dir, ent->d_name);
		if (rc == SR_OK)
			rc = sr_rm_rf(path.data, err);
	}
	if (dir)
		closedir(dir);
	sr_buf_release(&path);
	sr_store_unlock(lock_fd);
	return rc;
}

static char *join_dup(const char *dir, const char *name)
{
	struct sr_buf b;

	sr_buf_init(&b, 0);
	if (sr_path_join(&b, dir, name) != SR_OK) {
		sr_buf_release(&b);
		return NULL;
	}
	return sr_buf_detach(&b, NULL);
}

int sr_store_open(const char *home, const struct sr_masterkey *mk,
		  struct sr_store **out, struct sr_err *err)
{
	struct sr_store *store;
	char *db_path = NULL;
	int rc;

	*out = NULL;
	store = sr_calloc(1, sizeof(*store));
	if (!store)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	store->mk = mk;
	store->home = sr_strdup(home);
	store->datasets_dir = store->home ? join_dup(home, "datasets") : NULL;
	store->tmp_dir = store->home ? join_dup(home, "tmp") : NULL;
	db_path = store->home ? join_dup(home, "node.db") : NULL;
	if (!store->home || !store->datasets_dir || !store->tmp_dir ||
	    !db_path) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	rc = sr_mkdir_p(store->datasets_dir, 0700, err);
	if (rc == SR_OK)
		rc = sr_mkdir_p(store->tmp_dir, 0700, err);
	if (rc)
		goto fail;
	rc = sr_db_open(db_path, "PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;",
			schema_sql, &store->db, err);
	if (rc)
		goto fail;
	if (mk) {
		store->wrap_key = sodium_malloc(32);
		store->mac_key = sodium_malloc(32);
		if (!store->wrap_key || !store->mac_key) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto fail;
		}
		sr_masterkey_subkey(mk, SR_SUBKEY_WRAP, store->wrap_key);
		sr_masterkey_subkey(mk, SR_SUBKEY_MANIFEST, store->mac_key);
	}
	rc = sr_pool_new(0, &store->pool);
	if (rc == SR_OK)
		rc = sr_codec_new(1, &store->codec);
	if (rc) {
		rc = sr_fail(err, rc, "out of memory");
		goto fail;
	}
	rc = collect_garbage(store, err);
	if (rc)
		goto fail;
	sr_free(db_path);
	*out = store;
	return SR_OK;
fail:
	sr_free(db_path);
	sr_store_free(store);
	return rc;
}

void sr_store_free(struct sr_store *store)
{
	if (!store)
		return;
	sr_pool_free(store->pool);
	sr_codec_free(store->codec);
	if (store->db)
		sr_db_close(store->db);
	if (store->wrap_key)
		sodium_free(store->wrap_key);
	if (store->mac_key)
		sodium_free(store->mac_key);
	sr_free(store->home);
	sr_free(store->datasets_dir);
	sr_free(store->tmp_dir);
	sr_free(store);
}

struct sr_pool *sr_store_pool(struct sr_store *store)
{
	return store->pool;
}

void sr_manifest_mac(const struct sr_store *store, const void *data,
		     size_t len, uint8_t mac[32])
{
	crypto_generichash(mac, 32, data, len, store->mac_key, 32);
}

/* The current version of name, or (want non-NULL) exactly version want of
 * name, which may be an older one. */
static int lookup_version(struct sr_store *store, const char *name,
			  const char *want, char version_id[65],
			  uint8_t wrapped[SR_WRAPPED_KEY_BYTES],
			  uint8_t mac[32], struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(store->db, want ?
			       "SELECT version_id, wrapped_key, manifest_mac "
			       "FROM versions WHERE dataset = ?1 AND version_id = ?2" :
			       "SELECT v.version_id, v.wrapped_key, v.manifest_mac "
			       "FROM datasets d JOIN versions v "
			       "ON v.version_id = d.version_id WHERE d.name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(store, err, "prepare");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (want)
		sqlite3_bind_text(st, 2, want, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && want) {
		rc = sr_fail(err, SR_ENOTFOUND,
			     "dataset '%s' has no version %.16s on this node (removed since?)",
			     name, want);
	} else if (rc == SQLITE_DONE) {
		rc = sr_fail(err, SR_ENOTFOUND, "dataset '%s' does not exist",
			     name);
	} else if (rc != SQLITE_ROW) {
		rc = db_fail(store, err, "lookup");
	} else if (sqlite3_column_bytes(st, 0) != 64 ||
		   sqlite3_column_bytes(st, 1) != SR_WRAPPED_KEY_BYTES ||
		   sqlite3_column_bytes(st, 2) != 32) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "catalog entry of dataset '%s' is malformed", name);
	} else {
		memcpy(version_id, sqlite3_column_text(st, 0), 64);
		version_id[64] = '\0';
		memcpy(wrapped, sqlite3_column_blob(st, 1), SR_WRAPPED_KEY_BYTES);
		memcpy(mac, sqlite3_column_blob(st, 2), 32);
		rc = SR_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int sr_store_load_version(struct sr_store *store, const char *name,
			  const char *version_id, struct sr_manifest *m,
			  uint8_t key[32], char **dir, struct sr_err *err)
{
	uint8_t wrapped[SR_WRAPPED_KEY_BYTES], mac[32], want_mac[32];
	uint8_t ad[SR_KEY_AD_BYTES];
	char vid[65], computed[65];
	struct sr_buf path, text;
	json_t *json = NULL;
	int rc;

	*dir = NULL;
	sr_buf_init(&path, 0);
	sr_buf_init(&text, SR_MANIFEST_BYTES_MAX);
	rc = sr_store_need_key(store, "reading a dataset", err);
	if (rc == SR_OK)
		rc = sr_dataset_name_check(name, err);
	if (rc == SR_OK)
		rc = lookup_version(store, name, version_id, vid, wrapped, want_mac, err);
	if (rc)
		goto out;
	if (sr_buf_addf(&path, "%s/%s/manifest.json", store->datasets_dir,
			vid) != SR_OK) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	rc = sr_file_read_all(path.data, SR_MANIFEST_BYTES_MAX, &text, err);
	if (rc) {
		sr_err_prefix(err, "dataset '%s'", name);
		if (rc == SR_ENOTFOUND)
			rc = err ? (err->code = SR_ECORRUPT) : SR_ECORRUPT;
		goto out;
	}
	sr_manifest_mac(store, text.data, text.len, mac);
	if (sodium_memcmp(mac, want_mac, 32) != 0) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "dataset '%s': manifest %s was altered (MAC mismatch)",
			     name, path.data);
		goto out;
	}
	rc = sr_json_parse(text.data, text.len, path.data, &json, err);
	if (rc == SR_OK)
		rc = sr_manifest_parse(json, m, err);
	if (rc == SR_OK)
		rc = sr_manifest_version_id(json, computed, err);
	if (rc) {
		sr_err_prefix(err, "dataset '%s'", name);
		goto out;
	}
	if (strcmp(computed, vid) != 0 ||
	    strcmp(m->info.version_id, vid) != 0) {
		rc = sr_fail(err, SR_ECORRUPT,
			     "dataset '%s': manifest does not match version id %s",
			     name, vid);
		goto out;
	}
	sr_store_key_ad(m->uid, ad);
	if (sr_key_unwrap(key, wrapped, store->wrap_key, ad, sizeof(ad))
	    != SR_OK) {
		rc = sr_fail(err, SR_ECRYPTO,
			     "dataset '%s': data key does not unwrap with this node's master key",
			     name);
		goto out;
	}
	sr_buf_reset(&path);
	if (sr_path_join(&path, store->datasets_dir, vid) != SR_OK) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	*dir = sr_buf_detach(&path, NULL);
	if (!*dir)
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	if (rc) {
		sr_manifest_release(m);
		sodium_memzero(key, 32);
	}
	json_decref(json);
	sr_buf_release(&path);
	sr_buf_release(&text);
	return rc;
}

int sr_store_info(struct sr_store *store, const char *name,
		  struct sr_dataset_info *info, struct sr_err *err)
{
	struct sr_manifest m;
	uint8_t key[32];
	char *dir = NULL;
	int rc;

	sr_manifest_init(&m);
	rc = sr_store_load_version(store, name, NULL, &m, key, &dir, err);
	sodium_memzero(key, sizeof(key));
	if (rc == SR_OK) {
		*info = m.info;
		sr_dataset_info_init(&m.info);
	}
	sr_free(dir);
	sr_manifest_release(&m);
	return rc;
}

int sr_store_list(struct sr_store *store, struct sr_dataset_info **out,
		  size_t *count, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	struct sr_dataset_info *list = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(store->db,
			       "SELECT d.name, v.version_id, v.created, v.rows, "
			       "v.columns, v.plain_bytes, v.stored_bytes "
			       "FROM datasets d JOIN versions v "
			       "ON v.version_id = d.version_id ORDER BY d.name",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(store, err, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sr_dataset_info *info;
		const unsigned char *vid = sqlite3_column_text(st, 1);
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = sr_realloc(list, cap * sizeof(*list));
			if (!grown) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
				goto out;
			}
			list = grown;
		}
		info = &list[n];
		sr_dataset_info_init(info);
		info->name = sr_strdup((const char *)sqlite3_column_text(st, 0));
		if (!info->name || !vid) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		n++;
		snprintf(info->version_id, sizeof(info->version_id), "%s",
			 (const char *)vid);
		info->created = sqlite3_column_int64(st, 2);
		info->rows = (uint64_t)sqlite3_column_int64(st, 3);
		info->column_count = (size_t)sqlite3_column_int64(st, 4);
		info->plain_bytes = (uint64_t)sqlite3_column_int64(st, 5);
		info->stored_bytes = (uint64_t)sqlite3_column_int64(st, 6);
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(store, err, "list");
		goto out;
	}
	rc = SR_OK;
out:
	sqlite3_finalize(st);
	if (rc) {
		sr_dataset_info_list_free(list, n);
		return rc;
	}
	*out = list;
	*count = n;
	return SR_OK;
}

int sr_store_remove(struct sr_store *store, const char *name,
		    struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	char **dirs = NULL, **grown;
	size_t ndirs = 0;
	int rc, step, lock_fd = -1;

	rc = sr_dataset_name_check(name, err);
	if (rc == SR_OK)
		rc = sr_store_lock(store, 1, &lock_fd, err);
	if (rc)
		return rc;
	rc = db_exec(store, "BEGIN IMMEDIATE", err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(store->db,
			       "SELECT version_id FROM versions WHERE dataset = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(store, err, "prepare");
		goto rollback;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		char *d = join_dup(store->datasets_dir,
				   (const char *)sqlite3_column_text(st, 0));
		grown = d ? sr_realloc(dirs, (ndirs + 1) * sizeof(*dirs)) : NULL;
		if (!grown) {
			sr_free(d);
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto rollback;
		}
		dirs = grown;
		dirs[ndirs++] = d;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_DONE) {
		rc = db_fail(store, err, "remove");
		goto rollback;
	}
	if (ndirs == 0) {
		rc = sr_fail(err, SR_ENOTFOUND, "dataset '%s' does not exist",
			     name);
		goto rollback;
	}
	if (sqlite3_prepare_v2(store->db,
			       "DELETE FROM versions WHERE dataset = ?1; ",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(store, err, "prepare");
		goto rollback;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sr_db_step_done(st, "remove", err);
	if (rc)
		goto rollback;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(store->db, "DELETE FROM datasets WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		st = NULL;
		rc = db_fail(store, err, "prepare");
		goto rollback;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sr_db_step_done(st, "remove", err);
	if (rc)
		goto rollback;
	sqlite3_finalize(st);
	st = NULL;
	rc = db_exec(store, "COMMIT", err);
	if (rc)
		goto rollback;
	/* secure_delete zeroed the freed pages; the checkpoint moves them
	 * from the WAL into the database file and truncates the WAL, so the
	 * wrapped keys are gone from disk before the chunks are unlinked.
	 * A checkpoint that fails is reported, but the chunks go anyway:
	 * without them a wrapped key left in the WAL opens nothing. */
	rc = sr_db_checkpoint(store->db, err);
	for (size_t i = 0; i < ndirs; i++) {
		int r = sr_rm_rf(dirs[i], err);
		rc = rc ? rc : r;
	}
	if (rc == SR_OK)
		rc = sr_dir_fsync(store->datasets_dir, err);
	goto out;
rollback:
	sqlite3_finalize(st);
	st = NULL;
	sr_db_rollback(store->db);
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < ndirs; i++)
		sr_free(dirs[i]);
	sr_free(dirs);
	sr_store_unlock(lock_fd);
	return rc;
}
