#include "store/chunk.h"

#include <pthread.h>
#include <string.h>
#include <zstd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "base/banned.h"

#define CHUNK_AD_TAG "sealroom.chunk.v1"
#define CHUNK_AD_BYTES (sizeof(CHUNK_AD_TAG) - 1 + SR_DATASET_UID_BYTES + 12)
#define PLAIN_HEADER 12
#define CODEC_SLOTS 16

struct sr_codec {
	pthread_mutex_t lock;
	int level;
	ZSTD_CCtx *cctx[CODEC_SLOTS];
	ZSTD_DCtx *dctx[CODEC_SLOTS];
	size_t ncctx, ndctx;
};

int sr_codec_new(int level, struct sr_codec **out)
{
	struct sr_codec *codec = sr_calloc(1, sizeof(*codec));

	*out = NULL;
	if (!codec)
		return SR_ENOMEM;
	pthread_mutex_init(&codec->lock, NULL);
	codec->level = level;
	*out = codec;
	return SR_OK;
}

void sr_codec_free(struct sr_codec *codec)
{
	if (!codec)
		return;
	for (size_t i = 0; i < codec->ncctx; i++)
		ZSTD_freeCCtx(codec->cctx[i]);
	for (size_t i = 0; i < codec->ndctx; i++)
		ZSTD_freeDCtx(codec->dctx[i]);
	pthread_mutex_destroy(&codec->lock);
	sr_free(codec);
}

static ZSTD_CCtx *take_cctx(struct sr_codec *codec)
{
	ZSTD_CCtx *c = NULL;

	pthread_mutex_lock(&codec->lock);
	if (codec->ncctx)
		c = codec->cctx[--codec->ncctx];
	pthread_mutex_unlock(&codec->lock);
	return c ? c : ZSTD_createCCtx();
}

static void give_cctx(struct sr_codec *codec, ZSTD_CCtx *c)
{
	pthread_mutex_lock(&codec->lock);
	if (codec->ncctx < CODEC_SLOTS) {
		codec->cctx[codec->ncctx++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&codec->lock);
	ZSTD_freeCCtx(c);
}

static ZSTD_DCtx *take_dctx(struct sr_codec *codec)
{
	ZSTD_DCtx *d = NULL;

	pthread_mutex_lock(&codec->lock);
	if (codec->ndctx)
		d = codec->dctx[--codec->ndctx];
	pthread_mutex_unlock(&codec->lock);
	return d ? d : ZSTD_createDCtx();
}

static void give_dctx(struct sr_codec *codec, ZSTD_DCtx *d)
{
	pthread_mutex_lock(&codec->lock);
	if (codec->ndctx < CODEC_SLOTS) {
		codec->dctx[codec->ndctx++] = d;
		d = NULL;
	}
	pthread_mutex_unlock(&codec->lock);
	ZSTD_freeDCtx(d);
}

static void make_ad(uint8_t ad[CHUNK_AD_BYTES], const struct sr_chunk_ref *ref)
{
	size_t n = sizeof(CHUNK_AD_TAG) - 1;

	memcpy(ad, CHUNK_AD_TAG, n);
	memcpy(ad + n, ref->uid, SR_DATASET_UID_BYTES);
	n += SR_DATASET_UID_BYTES;
	sr_store_u32le(ad + n, ref->column);
	sr_store_u32le(ad + n + 4, ref->chunk);
	sr_store_u32le(ad + n + 8, SR_CHUNK_CODEC_V1);
}

static size_t value_bytes(enum sr_type type)
{
	switch (type) {
	case SR_TYPE_INT64:
	case SR_TYPE_FLOAT64: return 8;
	case SR_TYPE_DATE: return 4;
	case SR_TYPE_BOOL: return 1;
	case SR_TYPE_STRING: return 0;
	}
	return 0;
}

/* Typed encoding of vec into plain (reset first). */
static int encode(const struct sr_vec *vec, struct sr_buf *plain)
{
	size_t rows = vec->rows;
	size_t bitmap = vec->null_count ? (rows + 7) / 8 : 0;
	size_t values;
	unsigned char *p;
	int rc;

	if (vec->type == SR_TYPE_STRING)
		values = (rows + 1) * 4 + vec->bytes.len;
	else
		values = rows * value_bytes(vec->type);
	sr_buf_reset(plain);
	rc = sr_buf_grow(plain, PLAIN_HEADER + bitmap + values);
	if (rc)
		return rc;
	p = (unsigned char *)plain->data;
	p[0] = 1;
	p[1] = (unsigned char)vec->type;
	p[2] = p[3] = 0;
	sr_store_u32le(p + 4, (uint32_t)rows);
	sr_store_u32le(p + 8, (uint32_t)vec->null_count);
	p += PLAIN_HEADER;
	if (bitmap) {
		memcpy(p, vec->nulls, bitmap);
		p += bitmap;
	}
	/* x86-64 and every platform we target are little-endian: values are
	 * stored as in memory. */
	if (vec->type == SR_TYPE_STRING) {
		if (rows == 0) {
			memset(p, 0, 4);
			p += 4;
		} else {
			memcpy(p, vec->offsets, (rows + 1) * 4);
			p += (rows + 1) * 4;
		}
		memcpy(p, vec->bytes.data, vec->bytes.len);
	} else if (rows) {
		memcpy(p, vec->v.raw, values);
	}
	sr_buf_setlen(plain, PLAIN_HEADER + bitmap + values);
	return SR_OK;
}

int sr_chunk_seal(struct sr_codec *codec, const struct sr_vec *vec,
		  const uint8_t key[32], const struct sr_chunk_ref *ref,
		  struct sr_buf *out, size_t *plain_len, struct sr_err *err)
{
	struct sr_buf plain;
	uint8_t ad[CHUNK_AD_BYTES];
	uint8_t *nonce, *body;
	ZSTD_CCtx *cctx = NULL;
	size_t bound, zlen;
	int rc;

	if (vec->rows > SR_CHUNK_ROWS)
		SR_BUG("chunk larger than SR_CHUNK_ROWS");
	sr_buf_init(&plain, 0);
	rc = encode(vec, &plain);
	if (rc)
		goto fail;
	*plain_len = plain.len;
	bound = ZSTD_compressBound(plain.len);
	sr_buf_reset(out);
	rc = sr_buf_grow(out, SR_AEAD_NONCEBYTES + bound + SR_AEAD_ABYTES);
	if (rc)
		goto fail;
	cctx = take_cctx(codec);
	if (!cctx) {
		rc = SR_ENOMEM;
		goto fail;
	}
	nonce = (uint8_t *)out->data;
	body = nonce + SR_AEAD_NONCEBYTES;
	zlen = ZSTD_compressCCtx(cctx, body, bound, plain.data, plain.len,
				 codec->level);
	give_cctx(codec, cctx);
	if (ZSTD_isError(zlen)) {
		rc = sr_fail(err, SR_EINTERNAL, "zstd compression failed: %s",
			     ZSTD_getErrorName(zlen));
		goto out;
	}
	sr_random_buf(nonce, SR_AEAD_NONCEBYTES);
	make_ad(ad, ref);
	sr_aead_seal(body, body, zlen, ad, sizeof(ad), nonce, key);
	sr_buf_setlen(out, SR_AEAD_NONCEBYTES + zlen + SR_AEAD_ABYTES);
	goto out;
fail:
	rc = sr_fail(err, rc, "sealing chunk: %s", sr_strerror(rc));
out:
	sr_buf_wipe(&plain);
	return rc;
}

static int corrupt(struct sr_err *err, const char *what)
{
	return sr_fail(err, SR_ECORRUPT, "%s", what);
}

/* Decode plain into vec, checking every length against the header. */
static int decode(const uint8_t *p, size_t len, uint32_t expected_rows,
		  struct sr_vec *vec, struct sr_err *err)
{
	size_t rows, nulls, bitmap, need;
	int rc;

	if (len < PLAIN_HEADER || p[0] != 1 || p[2] || p[3])
		return corrupt(err, "bad chunk header");
	if (p[1] != vec->type)
		return corrupt(err, "chunk type does not match the schema");
	rows = sr_load_u32le(p + 4);
	nulls = sr_load_u32le(p + 8);
	if (rows != expected_rows || nulls > rows)
		return corrupt(err, "chunk row count does not match the manifest");
	bitmap = nulls ? (rows + 7) / 8 : 0;
	p += PLAIN_HEADER;
	len -= PLAIN_HEADER;
	if (len < bitmap)
		return corrupt(err, "chunk is truncated");
	sr_vec_reset(vec);
	rc = sr_vec_reserve(vec, rows);
	if (rc)
		return sr_fail(err, rc, "decoding chunk: %s", sr_strerror(rc));
	if (bitmap) {
		memcpy(vec->nulls, p, bitmap);
		p += bitmap;
		len -= bitmap;
	}
	vec->null_count = nulls;
	if (vec->type == SR_TYPE_STRING) {
		need = (rows + 1) * 4;
		if (len < need)
			return corrupt(err, "chunk is truncated");
		memcpy(vec->offsets, p, need);
		if (vec->offsets[0] != 0)
			return corrupt(err, "bad string offsets");
		for (size_t i = 0; i < rows; i++)
			if (vec->offsets[i + 1] < vec->offsets[i])
				return corrupt(err, "bad string offsets");
		if (len - need != vec->offsets[rows])
			return corrupt(err, "string bytes do not match offsets");
		sr_buf_reset(&vec->bytes);
		rc = sr_buf_add(&vec->bytes, p + need, len - need);
		if (rc)
			return sr_fail(err, rc, "decoding chunk: %s",
				       sr_strerror(rc));
	} else {
		need = rows * value_bytes(vec->type);
		if (len != need)
			return corrupt(err, "chunk value bytes do not match the row count");
		if (need)
			memcpy(vec->v.raw, p, need);
	}
	vec->rows = rows;
	return SR_OK;
}

int sr_chunk_open(struct sr_codec *codec, const uint8_t *stored, size_t len,
		  const uint8_t key[32], const struct sr_chunk_ref *ref,
		  uint32_t expected_rows, struct sr_vec *vec,
		  struct sr_err *err)
{
	uint8_t ad[CHUNK_AD_BYTES];
	struct sr_buf zbuf, plain;
	unsigned long long plain_len;
	ZSTD_DCtx *dctx = NULL;
	size_t zlen, got;
	int rc;

	if (len < SR_AEAD_NONCEBYTES + SR_AEAD_ABYTES)
		return corrupt(err, "chunk is truncated");
	sr_buf_init(&zbuf, 0);
	sr_buf_init(&plain, 0);
	zlen = len - SR_AEAD_NONCEBYTES - SR_AEAD_ABYTES;
	rc = sr_buf_grow(&zbuf, zlen);
	if (rc) {
		rc = sr_fail(err, rc, "opening chunk: %s", sr_strerror(rc));
		goto out;
	}
	make_ad(ad, ref);
	if (sr_aead_open((uint8_t *)zbuf.data, stored + SR_AEAD_NONCEBYTES,
			 len - SR_AEAD_NONCEBYTES, ad, sizeof(ad), stored,
			 key) != SR_OK) {
		rc = corrupt(err, "authentication failed (chunk was altered, truncated, moved or swapped)");
		goto out;
	}
	sr_buf_setlen(&zbuf, zlen);
	plain_len = ZSTD_getFrameContentSize(zbuf.data, zlen);
	if (plain_len == ZSTD_CONTENTSIZE_ERROR ||
	    plain_len == ZSTD_CONTENTSIZE_UNKNOWN ||
	    plain_len > SR_CHUNK_STORED_MAX) {
		rc = corrupt(err, "bad compressed frame");
		goto out;
	}
	rc = sr_buf_grow(&plain, (size_t)plain_len);
	if (rc) {
		rc = sr_fail(err, rc, "opening chunk: %s", sr_strerror(rc));
		goto out;
	}
	dctx = take_dctx(codec);
	if (!dctx) {
		rc = sr_fail(err, SR_ENOMEM, "opening chunk: out of memory");
		goto out;
	}
	got = ZSTD_decompressDCtx(dctx, plain.data, (size_t)plain_len,
				  zbuf.data, zlen);
	give_dctx(codec, dctx);
	if (ZSTD_isError(got) || got != plain_len) {
		rc = corrupt(err, "bad compressed frame");
		goto out;
	}
	rc = decode((const uint8_t *)plain.data, got, expected_rows, vec, err);
out:
	sr_buf_wipe(&zbuf);
	sr_buf_wipe(&plain);
	return rc;
}
