/*
 * store_int.h - internals shared by the files of the store module
 * (store.c, manifest.c, import.c, scan.c).  Not for other modules.
 */
#ifndef SR_STORE_INT_H
#define SR_STORE_INT_H

#include <sqlite3.h>

#include "store/chunk.h"
#include "store/store.h"

struct sr_store {
	char *home;
	char *datasets_dir;
	char *tmp_dir;
	const struct sr_masterkey *mk;
	sqlite3 *db;
	struct sr_pool *pool;
	struct sr_codec *codec;
	uint8_t *wrap_key;   /* sodium_malloc(32) or NULL without mk */
	uint8_t *mac_key;    /* sodium_malloc(32) or NULL without mk */
};

struct sr_chunk_loc {
	uint64_t offset;
	uint32_t len;
	uint8_t digest[32];
};

/* A parsed, checked manifest. */
struct sr_manifest {
	json_t *json;
	struct sr_dataset_info info;
	uint8_t uid[SR_DATASET_UID_BYTES];
	uint64_t nchunks;
	uint32_t *chunk_rows;          /* nchunks */
	struct sr_chunk_loc *locs;     /* ncolumns * nchunks, column-major */
	char **files;                  /* nfiles segment file names */
	size_t nfiles;
};

void sr_manifest_init(struct sr_manifest *m);
void sr_manifest_release(struct sr_manifest *m);
/* Parse and check a manifest document (takes a new reference on json). */
int sr_manifest_parse(json_t *json, struct sr_manifest *m,
		      struct sr_err *err) SR_WUR;
/* Version id: hex of sr_hash("sealroom.version.v1", canonical(json without
 * "version_id")). */
int sr_manifest_version_id(const json_t *json, char out[65],
			   struct sr_err *err) SR_WUR;
/* Keyed MAC of the manifest file bytes. */
void sr_manifest_mac(const struct sr_store *store, const void *data,
		     size_t len, uint8_t mac[32]);

/*
 * Load version_id of dataset name (or the current version if version_id is
 * NULL): manifest checked against its catalog MAC and version id, data key
 * unwrapped into key.  *dir is the version directory (heap string).
 */
int sr_store_load_version(struct sr_store *store, const char *name,
			  const char *version_id, struct sr_manifest *m,
			  uint8_t key[32], char **dir,
			  struct sr_err *err) SR_WUR;

/* Needs a master key: fails with SR_EINVAL naming op otherwise. */
int sr_store_need_key(const struct sr_store *store, const char *op,
		      struct sr_err *err) SR_WUR;

/* Lock HOME/store.lock exclusively (blocking or not); returns the fd. */
int sr_store_lock(const struct sr_store *store, int wait, int *fd,
		  struct sr_err *err) SR_WUR;
void sr_store_unlock(int fd);

/* Wrapped-key associated data: "sealroom.datakey.v1" || uid. */
void sr_store_key_ad(const uint8_t uid[SR_DATASET_UID_BYTES],
		     uint8_t ad[19 + SR_DATASET_UID_BYTES]);
#define SR_KEY_AD_BYTES (19 + SR_DATASET_UID_BYTES)

#endif
