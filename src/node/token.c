/*
 * token.c - node API tokens (see token.h).
 */
#include "node/token.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/db.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "base/banned.h"

struct sr_tokens {
	sqlite3 *db;
	uint8_t *key;     /* sodium_malloc(32): token hashing sub-key */
	char *path;
};

static const char *const role_names[] = {
	[SR_ROLE_ADMIN] = "admin",
	[SR_ROLE_STEWARD] = "steward",
	[SR_ROLE_ANALYST] = "analyst",
};

const char *sr_role_name(enum sr_role role)
{
	if (role >= SR_ROLE_ADMIN && role <= SR_ROLE_ANALYST)
		return role_names[role];
	return "unknown";
}

int sr_role_parse(const char *name, enum sr_role *out)
{
	for (int r = SR_ROLE_ADMIN; r <= SR_ROLE_ANALYST; r++) {
		if (strcmp(name, role_names[r]) == 0) {
			*out = (enum sr_role)r;
			return SR_OK;
		}
	}
	return SR_EINVAL;
}

static int db_fail(struct sr_tokens *t, struct sr_err *err, const char *what)
{
	return sr_db_fail(t->db, what, err);
}

int sr_tokens_open(const char *home, const struct sr_masterkey *mk,
		   struct sr_tokens **out, struct sr_err *err)
{
	static const char schema[] =
		"CREATE TABLE IF NOT EXISTS tokens ("
		"  hash BLOB PRIMARY KEY,"
		"  id TEXT NOT NULL,"
		"  name TEXT NOT NULL,"
		"  role INTEGER NOT NULL,"
		"  created INTEGER NOT NULL,"
		"  revoked INTEGER NOT NULL DEFAULT 0);";
	struct sr_tokens *t;
	struct sr_buf path;
	int rc = SR_OK;

	*out = NULL;
	t = sr_calloc(1, sizeof(*t));
	if (!t)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	sr_buf_init(&path, 0);
	if (sr_path_join(&path, home, "node.db") != SR_OK ||
	    !(t->path = sr_buf_detach(&path, NULL)) ||
	    !(t->key = sodium_malloc(32))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	sr_masterkey_subkey(mk, SR_SUBKEY_TOKENS, t->key);
	rc = sr_db_open(t->path, NULL, schema, &t->db, err);
	if (rc)
		goto fail;
	*out = t;
	return SR_OK;
fail:
	sr_buf_release(&path);
	sr_tokens_free(t);
	return rc;
}

void sr_tokens_free(struct sr_tokens *t)
{
	if (!t)
		return;
	sr_db_close(t->db);
	if (t->key)
		sodium_free(t->key);
	sr_free(t->path);
	sr_free(t);
}

static void token_hash(const struct sr_tokens *t, const char *token,
		       uint8_t out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)token,
			   strlen(token), t->key, 32);
}

static int name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > SR_TOKEN_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

static void row_info(sqlite3_stmt *st, int first, struct sr_token_info *info)
{
	snprintf(info->id, sizeof(info->id), "%s",
		 (const char *)sqlite3_column_text(st, first));
	snprintf(info->name, sizeof(info->name), "%s",
		 (const char *)sqlite3_column_text(st, first + 1));
	info->role = (enum sr_role)sqlite3_column_int(st, first + 2);
	info->created = sqlite3_column_int64(st, first + 3);
	info->revoked = sqlite3_column_int(st, first + 4);
}

int sr_tokens_create(struct sr_tokens *t, const char *name,
		     enum sr_role role, char token[SR_TOKEN_LEN + 1],
		     struct sr_token_info *info, struct sr_err *err)
{
	uint8_t secret[32], hash[32];
	char hex[65];
	sqlite3_stmt *st = NULL;
	int rc = SR_OK, step;

	if (!name_ok(name))
		return sr_fail(err, SR_EINVAL,
			       "token name '%.80s' must be 1 to %d characters of A-Z, a-z, 0-9, _ . @ -",
			       name, SR_TOKEN_NAME_MAX);
	if (role < SR_ROLE_ADMIN || role > SR_ROLE_ANALYST)
		return sr_fail(err, SR_EINVAL, "unknown role");
	if (sqlite3_prepare_v2(t->db, "SELECT 1 FROM tokens WHERE name = ? AND revoked = 0",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(t, err, "prepare");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (step == SQLITE_ROW)
		return sr_fail(err, SR_EEXIST,
			       "a live token named '%s' exists: revoke it first",
			       name);
	randombytes_buf(secret, sizeof(secret));
	sr_hex(hex, secret, sizeof(secret));
	snprintf(token, SR_TOKEN_LEN + 1, "srt_%s", hex);
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(secret, sizeof(secret));
	token_hash(t, token, hash);
	sr_hex(hex, hash, sizeof(hash));
	if (sqlite3_prepare_v2(t->db, "INSERT INTO tokens(hash, id, name, role, created)"
			       " VALUES (?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(t, err, "prepare");
		goto out;
	}
	hex[16] = '\0';
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)role);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	rc = sr_db_step_done(st, "insert token", err);
	if (rc)
		goto out;
	if (info) {
		memset(info, 0, sizeof(*info));
		memcpy(info->id, hex, 17);
		snprintf(info->name, sizeof(info->name), "%s", name);
		info->role = role;
		info->created = (int64_t)time(NULL);
	}
out:
	sqlite3_finalize(st);
	if (rc)
		sodium_memzero(token, SR_TOKEN_LEN + 1);
	return rc;
}

int sr_tokens_check(struct sr_tokens *t, const char *token,
		    struct sr_token_info *info, struct sr_err *err)
{
	uint8_t hash[32];
	sqlite3_stmt *st = NULL;
	int rc, step;

	if (!token || strlen(token) != SR_TOKEN_LEN ||
	    strncmp(token, "srt_", 4) != 0)
		return sr_fail(err, SR_EPERM, "unknown or revoked token");
	token_hash(t, token, hash);
	if (sqlite3_prepare_v2(t->db, "SELECT id, name, role, created, revoked"
			       " FROM tokens WHERE hash = ? AND revoked = 0",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(t, err, "prepare");
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (info)
			row_info(st, 0, info);
		rc = SR_OK;
	} else if (step == SQLITE_DONE) {
		rc = sr_fail(err, SR_EPERM, "unknown or revoked token");
	} else {
		rc = db_fail(t, err, "lookup");
	}
	sqlite3_finalize(st);
	return rc;
}

int sr_tokens_list(struct sr_tokens *t, struct sr_token_info **out,
		   size_t *count, struct sr_err *err)
{
	struct sr_token_info *list = NULL, *grown;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int step;

	*out = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(t->db, "SELECT id, name, role, created, revoked"
			       " FROM tokens ORDER BY created, rowid", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(t, err, "prepare");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		grown = sr_realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			sqlite3_finalize(st);
			sr_free(list);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		list = grown;
		row_info(st, 0, &list[n++]);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		sr_free(list);
		return db_fail(t, err, "list");
	}
	*out = list;
	*count = n;
	return SR_OK;
}

int sr_tokens_revoke(struct sr_tokens *t, const char *name_or_id,
		     struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	if (sqlite3_prepare_v2(t->db, "UPDATE tokens SET revoked = 1"
			       " WHERE (name = ?1 OR id = ?1) AND revoked = 0",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(t, err, "prepare");
	sqlite3_bind_text(st, 1, name_or_id, -1, SQLITE_STATIC);
	rc = sr_db_step_done(st, "revoke token", err);
	if (rc == SR_OK && sqlite3_changes(t->db) == 0)
		rc = sr_fail(err, SR_ENOTFOUND, "no live token named '%.80s'",
			     name_or_id);
	sqlite3_finalize(st);
	return rc;
}
