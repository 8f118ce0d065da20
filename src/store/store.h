/*
 * store.h - the node's encrypted, immutable, columnar dataset store and its
 * catalog (DESIGN §5).
 *
 * Layout of a node home:
 *   HOME/node.db                 catalog (SQLite, WAL, synchronous=FULL,
 *                                secure_delete): datasets, versions and the
 *                                wrapped data key of each version
 *   HOME/datasets/VERSION_ID/    one immutable dataset version:
 *       manifest.json            canonical JSON: schema, classes, policy,
 *                                rows, chunk table, sizes, version id
 *       col-NNNN.seg             the sealed chunks of column NNNN
 *   HOME/tmp/                    imports in progress (removed at open)
 *
 * A version is visible only once its catalog row is committed, which
 * happens after its directory is complete, fsynced and renamed into place;
 * anything else found at open (a killed import) is removed.  The data key of
 * a version is wrapped under a master-key sub-key and kept only in the
 * catalog, so removing the catalog row (with secure_delete and a WAL
 * checkpoint) shreds the data before the files are unlinked.
 *
 * Thread safety: one struct sr_store per thread, except that scans may run
 * concurrently on separate struct sr_scan handles.
 */
#ifndef SR_STORE_H
#define SR_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pool.h"
#include "crypto/masterkey.h"
#include "policy/policy.h"
#include "store/csv.h"
#include "store/vec.h"

struct sr_store;

struct sr_column_info {
	char *name;
	enum sr_type type;
	enum sr_class cls;
};

/* A dataset version as the catalog and its manifest describe it. */
struct sr_dataset_info {
	char *name;
	char version_id[65];      /* hex BLAKE2b-256 */
	int64_t created;          /* unix seconds */
	uint64_t rows;
	size_t column_count;      /* number of columns, always set */
	size_t ncolumns;          /* entries in columns (0 from list) */
	struct sr_column_info *columns;
	uint64_t chunks;          /* chunks per column */
	uint64_t plain_bytes;     /* encoded plaintext, all columns */
	uint64_t stored_bytes;    /* sealed bytes on disk */
	json_t *policy;           /* normalized policy (sr_dataset_info_load) */
};

void sr_dataset_info_init(struct sr_dataset_info *info);
void sr_dataset_info_release(struct sr_dataset_info *info);

/*
 * Open the store of a node home (created if missing, with mode 0700
 * directories).  mk may be NULL for catalog-only use (list); import, scan,
 * info with policy, verify and remove need it.  mk must outlive the store.
 * Cleans up after killed imports.
 */
int sr_store_open(const char *home, const struct sr_masterkey *mk,
		  struct sr_store **out, struct sr_err *err) SR_WUR;
void sr_store_free(struct sr_store *store);

/* The store's thread pool (for protocols that scan and then compute). */
struct sr_pool *sr_store_pool(struct sr_store *store);

/* Valid dataset name: [a-z][a-z0-9_-]{0,63}. */
int sr_dataset_name_check(const char *name, struct sr_err *err) SR_WUR;

struct sr_import_options {
	const char *policy_path;   /* policy file, or NULL */
	int classify_by_name;      /* classify columns by name if no policy */
	struct sr_csv_options csv; /* shape of the file; all zero = defaults */
	/* --null: tokens read as NULL in every column without its own
	 * "nulls", added to the policy's "nulls" (and so recorded in the
	 * stored policy).  Borrowed for the call. */
	const char *const *nulls;
	size_t nnulls;
	/* --hierarchy: "COLUMN=FILE.csv" each, an explicit hierarchy for a
	 * qi column of the policy file (sr_policy_set_hierarchy_csv), stored
	 * in the manifest with the policy.  Borrowed for the call. */
	const char *const *hierarchies;
	size_t nhierarchies;
	/* Called with a one-line warning (a column that became a string
	 * because of tokens such as NA).  May be NULL. */
	void (*warn)(void *ctx, const char *text);
	/* With classify_by_name: called with each column that no word
	 * classifies, before the import fails (its message cannot hold
	 * them all).  May be NULL. */
	void (*unclassified)(void *ctx, const char *column);
	/* Called with a one-line note (values clamped).  May be NULL. */
	void (*note)(void *ctx, const char *text);
	void *warn_ctx;            /* for warn, unclassified and note */
	/* --clamp: a numeric value outside its column's bounds is set to
	 * the nearest bound (and counted in a note) instead of failing the
	 * import.  Values outside a domain always fail. */
	int clamp;
	/* A PostgreSQL source instead of the CSV file (csv_path is then
	 * NULL): a connection string, and a query or a table. */
	const char *pg_conninfo;
	const char *pg_query;
	const char *pg_table;
	/* Called now and then with bytes read of the pass (1 or 2) and the
	 * file size.  May be NULL. */
	void (*progress)(void *ctx, int pass, uint64_t done, uint64_t total);
	void *progress_ctx;
};

/*
 * Import a CSV file (or, with opts->pg_conninfo, a PostgreSQL query read
 * in one streaming pass, typed by PostgreSQL; store/source.h) as a new
 * version of dataset name (which becomes the current version).  Two streaming passes: the first validates every record
 * and infers types, the second checks every value against its column's
 * bounds and domain and encodes, compresses and seals chunks in
 * parallel.  Nothing is visible and nothing is left on disk unless the
 * whole import succeeds.  On success info (optional) describes the version.
 */
int sr_store_import(struct sr_store *store, const char *name,
		    const char *csv_path, const struct sr_import_options *opts,
		    struct sr_dataset_info *info, struct sr_err *err) SR_WUR;

/* All datasets (current versions), sorted by name.  Free with
 * sr_dataset_info_list_free. */
int sr_store_list(struct sr_store *store, struct sr_dataset_info **out,
		  size_t *count, struct sr_err *err) SR_WUR;
void sr_dataset_info_list_free(struct sr_dataset_info *list, size_t count);

/* The current version of name, with its policy, read from its manifest
 * (whose MAC is checked). */
int sr_store_info(struct sr_store *store, const char *name,
		  struct sr_dataset_info *info, struct sr_err *err) SR_WUR;

/*
 * Decrypt and check every chunk of every version of name: digest, AEAD,
 * decompression, decoding, row counts, and the manifest's MAC and version
 * id.  *chunks_checked (optional) counts them.  The first failure names the
 * dataset, column and chunk.
 */
int sr_store_verify(struct sr_store *store, const char *name,
		    uint64_t *chunks_checked, struct sr_err *err) SR_WUR;

/* Remove name and all its versions: shred keys, then unlink files. */
int sr_store_remove(struct sr_store *store, const char *name,
		    struct sr_err *err) SR_WUR;

/*
 * Scan: stream the selected columns of the current version of name, one
 * chunk (up to SR_CHUNK_ROWS rows) at a time, checking each chunk.
 * columns NULL means all, in schema order.
 */
struct sr_scan;
int sr_scan_open(struct sr_store *store, const char *name,
		 const char *const *columns, size_t ncolumns,
		 struct sr_scan **out, struct sr_err *err) SR_WUR;
/* The same for exactly version_id (64 hex digits) of name, current or
 * older: what a job was approved for.  SR_ENOTFOUND, naming the version,
 * when this store no longer has it. */
int sr_scan_open_version(struct sr_store *store, const char *name,
			 const char *version_id, const char *const *columns,
			 size_t ncolumns, struct sr_scan **out,
			 struct sr_err *err) SR_WUR;
size_t sr_scan_columns(const struct sr_scan *scan);
const struct sr_column_info *sr_scan_column(const struct sr_scan *scan,
					    size_t index);
const struct sr_dataset_info *sr_scan_info(const struct sr_scan *scan);
/*
 * Next chunk: *cols points at sr_scan_columns() vectors owned by the scan,
 * valid until the next call; *eof is set at the end.  A chunk that fails
 * its checks fails the scan naming dataset, column and chunk.
 */
int sr_scan_next(struct sr_scan *scan, const struct sr_vec **cols,
		 size_t *rows, int *eof, struct sr_err *err) SR_WUR;
void sr_scan_free(struct sr_scan *scan);

#endif
