#include "store/store_int.h"

#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "base/banned.h"

void sr_manifest_init(struct sr_manifest *m)
{
	memset(m, 0, sizeof(*m));
	sr_dataset_info_init(&m->info);
}

void sr_manifest_release(struct sr_manifest *m)
{
	json_decref(m->json);
	sr_free(m->chunk_rows);
	sr_free(m->locs);
	for (size_t i = 0; i < m->nfiles; i++)
		sr_free(m->files[i]);
	sr_free(m->files);
	sr_dataset_info_release(&m->info);
	sr_manifest_init(m);
}

int sr_manifest_version_id(const json_t *json, char out[65],
			   struct sr_err *err)
{
	struct sr_buf canon;
	uint8_t digest[SR_HASH_BYTES];
	json_t *copy;
	int rc;

	copy = json_copy((json_t *)json);
	if (!copy)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	json_object_del(copy, "version_id");
	sr_buf_init(&canon, 0);
	rc = sr_json_canonical(copy, &canon, err);
	if (rc == SR_OK) {
		sr_hash(digest, "sealroom.version.v1", canon.data, canon.len);
		sr_hex(out, digest, sizeof(digest));
	}
	json_decref(copy);
	sr_buf_release(&canon);
	return rc;
}

static int bad(struct sr_err *err, const char *key, const char *what)
{
	return sr_fail(err, SR_ECORRUPT, "manifest: %s: %s", key, what);
}

static int get_u64(const json_t *obj, const char *key, uint64_t *out,
		   struct sr_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(err, key, "expected a non-negative integer");
	*out = (uint64_t)json_integer_value(v);
	return SR_OK;
}

static int parse_columns(const json_t *cols, struct sr_manifest *m,
			 struct sr_err *err)
{
	size_t n = json_array_size(cols);
	size_t i;
	json_t *c;

	if (!json_is_array(cols) || n == 0 || n > SR_DATASET_COLUMNS_MAX)
		return bad(err, "columns", "expected 1 to 1024 columns");
	m->info.columns = sr_calloc(n, sizeof(*m->info.columns));
	m->files = sr_calloc(n, sizeof(*m->files));
	if (!m->info.columns || !m->files)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	m->info.ncolumns = n;
	m->info.column_count = n;
	m->nfiles = n;
	json_array_foreach(cols, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *cls = json_string_value(json_object_get(c, "class"));
		struct sr_column_info *ci = &m->info.columns[i];
		enum sr_type t;
		int found = 0;

		if (!name || !type || !cls || sr_type_parse(type, &t) != SR_OK)
			return bad(err, "columns", "malformed column entry");
		for (int k = SR_CLASS_ID; k <= SR_CLASS_PUBLIC; k++) {
			if (strcmp(cls, sr_class_name((enum sr_class)k)) == 0) {
				ci->cls = (enum sr_class)k;
				found = 1;
			}
		}
		if (!found)
			return bad(err, "columns", "unknown class");
		ci->name = sr_strdup(name);
		if (!ci->name)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		ci->type = t;
	}
	return SR_OK;
}

static int parse_segments(const json_t *segs, struct sr_manifest *m,
			  struct sr_err *err)
{
	size_t ncols = m->info.ncolumns, i, k;
	json_t *seg, *ch;

	if (!json_is_array(segs) || json_array_size(segs) != ncols)
		return bad(err, "segments", "expected one segment per column");
	m->locs = sr_calloc(ncols * (m->nchunks ? m->nchunks : 1),
			    sizeof(*m->locs));
	if (!m->locs)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	json_array_foreach(segs, i, seg) {
		const char *file = json_string_value(json_object_get(seg, "file"));
		json_t *chunks = json_object_get(seg, "chunks");

		if (!file || strchr(file, '/') || file[0] == '.')
			return bad(err, "segments", "bad file name");
		if (!json_is_array(chunks) ||
		    json_array_size(chunks) != m->nchunks)
			return bad(err, "segments",
				   "chunk table does not match chunk_rows");
		m->files[i] = sr_strdup(file);
		if (!m->files[i])
			return sr_fail(err, SR_ENOMEM, "out of memory");
		json_array_foreach(chunks, k, ch) {
			struct sr_chunk_loc *loc = &m->locs[i * m->nchunks + k];
			json_t *off = json_array_get(ch, 0);
			json_t *len = json_array_get(ch, 1);
			const char *dig = json_string_value(json_array_get(ch, 2));

			if (!json_is_integer(off) || !json_is_integer(len) ||
			    json_integer_value(off) < 0 ||
			    json_integer_value(len) <= 0 ||
			    json_integer_value(len) > SR_CHUNK_STORED_MAX ||
			    !dig || strlen(dig) != 64 ||
			    sr_unhex(loc->digest, 32, dig) != SR_OK)
				return bad(err, "segments", "malformed chunk entry");
			loc->offset = (uint64_t)json_integer_value(off);
			loc->len = (uint32_t)json_integer_value(len);
		}
	}
	return SR_OK;
}

int sr_manifest_parse(json_t *json, struct sr_manifest *m,
		      struct sr_err *err)
{
	const char *name, *uid, *vid;
	json_t *rows_arr, *v;
	uint64_t format = 0, total = 0;
	size_t k;
	int rc;

	sr_manifest_release(m);
	m->json = json_incref(json);
	if (!json_is_object(json))
		return bad(err, "manifest", "expected an object");
	rc = get_u64(json, "format", &format, err);
	if (rc == SR_OK && format != 1)
		rc = bad(err, "format", "unsupported manifest format");
	if (rc)
		goto out;
	name = json_string_value(json_object_get(json, "name"));
	uid = json_string_value(json_object_get(json, "uid"));
	vid = json_string_value(json_object_get(json, "version_id"));
	if (!name || sr_dataset_name_check(name, NULL) != SR_OK) {
		rc = bad(err, "name", "missing or invalid");
		goto out;
	}
	if (!uid || strlen(uid) != 2 * SR_DATASET_UID_BYTES ||
	    sr_unhex(m->uid, SR_DATASET_UID_BYTES, uid) != SR_OK) {
		rc = bad(err, "uid", "missing or invalid");
		goto out;
	}
	if (!vid || strlen(vid) != 64) {
		rc = bad(err, "version_id", "missing or invalid");
		goto out;
	}
	memcpy(m->info.version_id, vid, 65);
	m->info.name = sr_strdup(name);
	if (!m->info.name) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	v = json_object_get(json, "created");
	if (!json_is_integer(v)) {
		rc = bad(err, "created", "expected an integer");
		goto out;
	}
	m->info.created = (int64_t)json_integer_value(v);
	rc = get_u64(json, "rows", &m->info.rows, err);
	if (rc == SR_OK)
		rc = get_u64(json, "plain_bytes", &m->info.plain_bytes, err);
	if (rc == SR_OK)
		rc = get_u64(json, "stored_bytes", &m->info.stored_bytes, err);
	if (rc)
		goto out;
	rows_arr = json_object_get(json, "chunk_rows");
	if (!json_is_array(rows_arr)) {
		rc = bad(err, "chunk_rows", "expected an array");
		goto out;
	}
	m->nchunks = json_array_size(rows_arr);
	m->info.chunks = m->nchunks;
	m->chunk_rows = sr_calloc(m->nchunks ? m->nchunks : 1,
				  sizeof(uint32_t));
	if (!m->chunk_rows) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(rows_arr, k, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > SR_CHUNK_ROWS) {
			rc = bad(err, "chunk_rows", "bad row count");
			goto out;
		}
		m->chunk_rows[k] = (uint32_t)json_integer_value(v);
		total += m->chunk_rows[k];
	}
	if (total != m->info.rows) {
		rc = bad(err, "chunk_rows", "does not add up to rows");
		goto out;
	}
	rc = parse_columns(json_object_get(json, "columns"), m, err);
	if (rc == SR_OK)
		rc = parse_segments(json_object_get(json, "segments"), m, err);
	if (rc)
		goto out;
	v = json_object_get(json, "policy");
	if (!json_is_object(v)) {
		rc = bad(err, "policy", "expected an object");
		goto out;
	}
	m->info.policy = json_incref(v);
out:
	if (rc)
		sr_manifest_release(m);
	return rc;
}
