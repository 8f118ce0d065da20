/*
 * scan.c - streaming reads of a dataset version, chunk by chunk, and the
 * full integrity check behind `dataset verify`.
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "base/banned.h"

struct sr_scan {
	struct sr_store *store;
	struct sr_manifest m;
	uint8_t *key;               /* sodium_malloc(32) */
	char *dir;
	size_t ncols;
	size_t *col_index;          /* into the manifest's columns */
	struct sr_column_info *cols;
	int *fds;
	struct sr_buf *raw;         /* stored bytes of the current chunk */
	struct sr_vec *vecs;
	uint64_t next_chunk;
	int check_digests;
	int failed;
};

void sr_scan_free(struct sr_scan *scan)
{
	if (!scan)
		return;
	for (size_t i = 0; i < scan->ncols; i++) {
		if (scan->fds && scan->fds[i] >= 0)
			close(scan->fds[i]);
		if (scan->vecs)
			sr_vec_release(&scan->vecs[i]);
		if (scan->raw)
			sr_buf_release(&scan->raw[i]);
	}
	sr_free(scan->fds);
	sr_free(scan->vecs);
	sr_free(scan->raw);
	sr_free(scan->col_index);
	sr_free(scan->cols);
	sr_free(scan->dir);
	if (scan->key)
		sodium_free(scan->key);
	sr_manifest_release(&scan->m);
	sr_free(scan);
}

static int find_column(const struct sr_manifest *m, const char *name,
		       size_t *index, struct sr_err *err)
{
	for (size_t i = 0; i < m->info.ncolumns; i++) {
		if (strcmp(m->info.columns[i].name, name) == 0) {
			*index = i;
			return SR_OK;
		}
	}
	return sr_fail(err, SR_ENOTFOUND, "dataset '%s' has no column '%s'",
		       m->info.name, name);
}

static int scan_open(struct sr_store *store, const char *name,
		     const char *version_id,
		     const char *const *columns, size_t ncolumns,
		     int check_digests, struct sr_scan **out,
		     struct sr_err *err)
{
	struct sr_scan *scan;
	struct sr_buf path;
	int rc;

	*out = NULL;
	scan = sr_calloc(1, sizeof(*scan));
	if (!scan)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	scan->store = store;
	scan->check_digests = check_digests;
	sr_manifest_init(&scan->m);
	sr_buf_init(&path, 0);
	scan->key = sodium_malloc(32);
	if (!scan->key) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	rc = sr_store_load_version(store, name, version_id, &scan->m, scan->key,
				   &scan->dir, err);
	if (rc)
		goto fail;
	scan->ncols = columns ? ncolumns : scan->m.info.ncolumns;
	scan->col_index = sr_calloc(scan->ncols, sizeof(size_t));
	scan->cols = sr_calloc(scan->ncols, sizeof(*scan->cols));
	scan->fds = sr_calloc(scan->ncols, sizeof(int));
	scan->raw = sr_calloc(scan->ncols, sizeof(*scan->raw));
	scan->vecs = sr_calloc(scan->ncols, sizeof(*scan->vecs));
	if (!scan->col_index || !scan->cols || !scan->fds || !scan->raw ||
	    !scan->vecs) {
		sr_free(scan->fds);
		scan->fds = NULL;
		scan->ncols = 0;
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < scan->ncols; i++) {
		scan->fds[i] = -1;
		sr_buf_init(&scan->raw[i], 0);
		sr_vec_init(&scan->vecs[i], SR_TYPE_STRING);
	}
	for (size_t i = 0; i < scan->ncols; i++) {
		size_t c = i;
		struct stat st;
		uint64_t expect;

		if (columns) {
			rc = find_column(&scan->m, columns[i], &c, err);
			if (rc)
				goto fail;
		}
		scan->col_index[i] = c;
		scan->cols[i] = scan->m.info.columns[c];  /* borrowed name */
		scan->vecs[i].type = scan->cols[i].type;
		if (sr_buf_addf(&path, "%s/%s", scan->dir, scan->m.files[c])) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto fail;
		}
		scan->fds[i] = open(path.data, O_RDONLY | O_CLOEXEC);
		if (scan->fds[i] < 0) {
			rc = sr_fail(err, SR_ECORRUPT,
				     "dataset '%s', column '%s': segment %s: %s",
				     name, scan->cols[i].name, path.data,
				     strerror(errno));
			goto fail;
		}
		expect = scan->m.nchunks ?
			scan->m.locs[c * scan->m.nchunks + scan->m.nchunks - 1].offset +
			scan->m.locs[c * scan->m.nchunks + scan->m.nchunks - 1].len : 0;
		if (fstat(scan->fds[i], &st) == 0 && check_digests &&
		    (uint64_t)st.st_size != expect) {
			rc = sr_fail(err, SR_ECORRUPT,
				     "dataset '%s', column '%s': segment file is %llu bytes, the manifest says %llu (truncated or extended)",
				     name, scan->cols[i].name,
				     (unsigned long long)st.st_size,
				     (unsigned long long)expect);
			goto fail;
		}
		sr_buf_reset(&path);
	}
	sr_buf_release(&path);
	*out = scan;
	return SR_OK;
fail:
	sr_buf_release(&path);
	sr_scan_free(scan);
	return rc;
}

int sr_scan_open(struct sr_store *store, const char *name,
		 const char *const *columns, size_t ncolumns,
		 struct sr_scan **out, struct sr_err *err)
{
	return scan_open(store, name, NULL, columns, ncolumns, 0, out, err);
}

int sr_scan_open_version(struct sr_store *store, const char *name,
			 const char *version_id, const char *const *columns,
			 size_t ncolumns, struct sr_scan **out,
			 struct sr_err *err)
{
	return scan_open(store, name, version_id, columns, ncolumns, 0, out, err);
}

size_t sr_scan_columns(const struct sr_scan *scan)
{
	return scan->ncols;
}

const struct sr_column_info *sr_scan_column(const struct sr_scan *scan,
					    size_t index)
{
	return &scan->cols[index];
}

const struct sr_dataset_info *sr_scan_info(const struct sr_scan *scan)
{
	return &scan->m.info;
}

/* Read and open chunk next_chunk of selected column i. */
static int read_chunk_raw(struct sr_scan *scan, size_t i, struct sr_err *err)
{
	uint64_t k = scan->next_chunk;
	size_t c = scan->col_index[i];
	const struct sr_chunk_loc *loc = &scan->m.locs[c * scan->m.nchunks + k];
	struct sr_buf *raw = &scan->raw[i];
	struct sr_chunk_ref ref;
	uint8_t digest[SR_HASH_BYTES];
	size_t got = 0;
	int rc;

	sr_buf_reset(raw);
	rc = sr_buf_grow(raw, loc->len);
	if (rc)
		return sr_fail(err, rc, "out of memory");
	while (got < loc->len) {
		ssize_t n = pread(scan->fds[i], raw->data + got, loc->len - got,
				  (off_t)(loc->offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sr_fail(err, SR_EIO, "read failed: %s",
				       strerror(errno));
		if (n == 0)
			return sr_fail(err, SR_ECORRUPT,
				       "chunk is truncated (segment file too short)");
		got += (size_t)n;
	}
	if (scan->check_digests) {
		sr_hash(digest, "sealroom.chunk.digest.v1", raw->data, loc->len);
		if (sodium_memcmp(digest, loc->digest, sizeof(digest)) != 0)
			return sr_fail(err, SR_ECORRUPT,
				       "chunk digest does not match the manifest");
	}
	memcpy(ref.uid, scan->m.uid, sizeof(ref.uid));
	ref.column = (uint32_t)c;
	ref.chunk = (uint32_t)k;
	return sr_chunk_open(scan->store->codec, (const uint8_t *)raw->data,
			     loc->len, scan->key, &ref, scan->m.chunk_rows[k],
			     &scan->vecs[i], err);
}

static int read_chunk(void *ctx, size_t i, struct sr_err *err)
{
	struct sr_scan *scan = ctx;
	struct sr_err inner;
	int rc;

	sr_err_clear(&inner);
	rc = read_chunk_raw(scan, i, &inner);
	if (rc)
		return sr_failx(err, rc, "dataset '%s', column '%s', chunk %llu: %s",
				scan->m.info.name, scan->cols[i].name,
				(unsigned long long)scan->next_chunk, inner.msg);
	return SR_OK;
}

int sr_scan_next(struct sr_scan *scan, const struct sr_vec **cols,
		 size_t *rows, int *eof, struct sr_err *err)
{
	int rc;

	*eof = 0;
	*rows = 0;
	*cols = scan->vecs;
	if (scan->failed)
		return sr_fail(err, SR_EINVAL, "scan already failed");
	if (scan->next_chunk >= scan->m.nchunks) {
		*eof = 1;
		return SR_OK;
	}
	/* sr_pool_run reports the lowest failing column, so the message is
	 * the same whatever the thread timing. */
	rc = sr_pool_run(scan->store->pool, scan->ncols, read_chunk, scan, err);
	if (rc) {
		scan->failed = 1;
		return rc;
	}
	*rows = scan->m.chunk_rows[scan->next_chunk];
	scan->next_chunk++;
	return SR_OK;
}

int sr_store_verify(struct sr_store *store, const char *name,
		    uint64_t *chunks_checked, struct sr_err *err)
{
	struct sr_scan *scan = NULL;
	const struct sr_vec *cols;
	uint64_t checked = 0;
	size_t rows;
	int eof = 0, rc;

	rc = scan_open(store, name, NULL, NULL, 0, 1, &scan, err);
	while (rc == SR_OK) {
		rc = sr_scan_next(scan, &cols, &rows, &eof, err);
		if (rc || eof)
			break;
		checked += scan->ncols;
	}
	if (chunks_checked)
		*chunks_checked = checked;
	sr_scan_free(scan);
	return rc;
}
