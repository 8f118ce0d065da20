/*
 * chunk.h - one stored chunk: up to SR_CHUNK_ROWS values of one column,
 * typed-encoded, zstd-compressed and sealed with AEAD under the dataset
 * version's data key (DESIGN §5).
 *
 * Stored bytes:  nonce (24) || XChaCha20-Poly1305(zstd(plain), AD)
 * AD:            "sealroom.chunk.v1" || uid (16) || u32le column ||
 *                u32le chunk index || u32le codec
 * plain:         u8 format (1) | u8 type | u16 0 | u32le rows |
 *                u32le null_count | null bitmap (if null_count) | values
 *                (int64/float64: 8 bytes LE each; date: 4; bool: 1;
 *                 string: u32le offsets[rows + 1] then the bytes)
 *
 * Binding the dataset uid, column and chunk index in the AD means a chunk
 * edited, truncated, moved inside its file, swapped with another column's
 * or another dataset's chunk fails authentication, and the error names it.
 */
#ifndef SR_CHUNK_H
#define SR_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/vec.h"

#define SR_CHUNK_CODEC_V1 1      /* typed v1 + zstd */
#define SR_DATASET_UID_BYTES 16

struct sr_chunk_ref {
	uint8_t uid[SR_DATASET_UID_BYTES];
	uint32_t column;
	uint32_t chunk;
};

/* A pool of zstd contexts shared by worker threads. */
struct sr_codec;
int sr_codec_new(int level, struct sr_codec **out) SR_WUR;
void sr_codec_free(struct sr_codec *codec);

/*
 * Encode, compress and seal vec (at most SR_CHUNK_ROWS rows) into out
 * (reset first).  *plain_len receives the encoded plaintext size.
 */
int sr_chunk_seal(struct sr_codec *codec, const struct sr_vec *vec,
		  const uint8_t key[32], const struct sr_chunk_ref *ref,
		  struct sr_buf *out, size_t *plain_len,
		  struct sr_err *err) SR_WUR;

/*
 * Open a stored chunk into vec (reset first; must be of the expected type).
 * expected_rows is checked.  Fails with SR_ECORRUPT on any mismatch or
 * authentication failure; the message says what failed but not where (the
 * caller prefixes dataset, column and chunk).
 */
int sr_chunk_open(struct sr_codec *codec, const uint8_t *stored, size_t len,
		  const uint8_t key[32], const struct sr_chunk_ref *ref,
		  uint32_t expected_rows, struct sr_vec *vec,
		  struct sr_err *err) SR_WUR;

#endif
