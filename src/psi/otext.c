/*
 * otext.c - the KKRT16 OT extension (kkrt.h): columns from AES-CTR under
 * the base-OT keys, bit-matrix transposes in 128 x 128 tiles with SSE2,
 * the pseudorandom code C(x) and the correlation-robust hash, both from
 * fixed-key AES.  Work is split over the pool: columns for the PRG, tiles
 * for the transposes.
 *
 * Correlation (IKNP03, KKRT16): the receiver has column keys k0_j, k1_j,
 * the sender s and k_{s_j}_j.  Rows: t_i = row i of T0, u_i = row i of
 * T0 ^ T1 ^ C(x_i) (sent), and the sender's q_i = row i of G ^ (u_i & s)
 * where column j of G is the stream of k_{s_j}_j.  Column by column,
 * G_j = T0_j ^ s_j (T0_j ^ T1_j), so q_i = t_i ^ (C(x_i) & s).
 */
#include <emmintrin.h>
#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "psi/kkrt.h"
#include "base/banned.h"

#define COL_CHUNK 32            /* columns per PRG task */
#define TILE 128                /* transpose tile (bits) */
#define AES_CHUNK 256           /* blocks per batched AES call */

_Static_assert(SR_KKRT_BATCH % TILE == 0, "batches are whole tiles");
_Static_assert(SR_KKRT_WIDTH % TILE == 0, "the width is whole tiles");

/* ---- transpose ------------------------------------------------------------ */

/* One 128 x 128 tile: input rows r0.., bit columns c0..  The tile is
 * first copied to a contiguous 2 KiB block (one cache-friendly pass over
 * 128 strided rows), then turned with SSE2 movemask, 16 rows at a time. */
static void tile_transpose(const uint8_t *in, size_t in_stride, size_t r0,
			   size_t c0, uint8_t *out, size_t out_stride)
{
	uint8_t tile[TILE][TILE / 8];

	for (size_t r = 0; r < TILE; r++)
		memcpy(tile[r], in + (r0 + r) * in_stride + c0 / 8, TILE / 8);
	for (size_t rr = 0; rr < TILE; rr += 16) {
		for (size_t cb = 0; cb < TILE / 8; cb++) {
			__m128i v = _mm_set_epi8(
				(char)tile[rr + 15][cb], (char)tile[rr + 14][cb],
				(char)tile[rr + 13][cb], (char)tile[rr + 12][cb],
				(char)tile[rr + 11][cb], (char)tile[rr + 10][cb],
				(char)tile[rr + 9][cb], (char)tile[rr + 8][cb],
				(char)tile[rr + 7][cb], (char)tile[rr + 6][cb],
				(char)tile[rr + 5][cb], (char)tile[rr + 4][cb],
				(char)tile[rr + 3][cb], (char)tile[rr + 2][cb],
				(char)tile[rr + 1][cb], (char)tile[rr][cb]);
			/* movemask gathers bit 7 of the 16 bytes: output row
			 * c0 + 8cb + 7 first, then shift the next bit up. */
			for (int k = 7; k >= 0; k--) {
				uint16_t bits = (uint16_t)_mm_movemask_epi8(v);
				uint8_t *o = out + (c0 + cb * 8 + (size_t)k) * out_stride +
					     (r0 + rr) / 8;
				o[0] = (uint8_t)bits;
				o[1] = (uint8_t)(bits >> 8);
				v = _mm_slli_epi64(v, 1);
			}
		}
	}
}

struct transpose_job {
	const uint8_t *in;
	size_t rows, cols;
	uint8_t *out;
};

/* Task c: the output rows c*128 .. (input bit columns), all input rows. */
static int transpose_task(void *arg, size_t c, struct sr_err *err)
{
	const struct transpose_job *job = arg;

	(void)err;
	for (size_t r0 = 0; r0 < job->rows; r0 += TILE)
		tile_transpose(job->in, job->cols / 8, r0, c * TILE, job->out,
			       job->rows / 8);
	return SR_OK;
}

void sr_kkrt_transpose(const uint8_t *in, size_t rows, size_t cols,
		       uint8_t *out, struct sr_pool *pool)
{
	struct transpose_job job = { in, rows, cols, out };

	if (rows % TILE || cols % TILE)
		SR_BUG("sr_kkrt_transpose: sizes must be multiples of 128");
	if (sr_pool_run(pool, cols / TILE, transpose_task, &job, NULL) != SR_OK)
		SR_BUG("transpose task failed");
}

/* ---- keys, code, hash ----------------------------------------------------- */

void sr_kkrt_keys_derive(struct sr_kkrt_keys *k,
			 const uint8_t seed[SR_KKRT_SEED_BYTES])
{
	uint8_t in[SR_KKRT_SEED_BYTES + 1], out[SR_HASH_BYTES];
	uint8_t *dst[6] = { k->code[0], k->code[1], k->code[2], k->code[3],
			    k->bins, k->hash };

	memcpy(in, seed, SR_KKRT_SEED_BYTES);
	for (int i = 0; i < 6; i++) {
		in[SR_KKRT_SEED_BYTES] = (uint8_t)i;
		sr_hash(out, SR_KKRT_KEYS_DOMAIN, in, sizeof(in));
		memcpy(dst[i], out, SR_AES_KEYBYTES);
	}
	sodium_memzero(in, sizeof(in));
	sodium_memzero(out, sizeof(out));
}

int sr_kkrt_aes_init(struct sr_kkrt_aes *a, const struct sr_kkrt_keys *k,
		     struct sr_err *err)
{
	int rc = SR_OK;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 4 && rc == SR_OK; i++)
		rc = sr_aes_ecb_init(&a->code[i], k->code[i], err);
	if (rc == SR_OK)
		rc = sr_aes_ecb_init(&a->hash, k->hash, err);
	if (rc)
		sr_kkrt_aes_release(a);
	return rc;
}

void sr_kkrt_aes_release(struct sr_kkrt_aes *a)
{
	for (int i = 0; i < 4; i++)
		sr_aes_release(&a->code[i]);
	sr_aes_release(&a->hash);
}

void sr_kkrt_code(struct sr_kkrt_aes *a, const uint8_t *blocks, size_t n,
		  uint8_t *rows)
{
	uint8_t tmp[AES_CHUNK * SR_AES_BLOCK];

	for (size_t lo = 0; lo < n; lo += AES_CHUNK) {
		size_t c = n - lo < AES_CHUNK ? n - lo : AES_CHUNK;
		for (int k = 0; k < 4; k++) {
			sr_aes_ecb(&a->code[k], blocks + lo * SR_AES_BLOCK, tmp, c);
			for (size_t i = 0; i < c; i++)
				memcpy(rows + (lo + i) * SR_KKRT_ROW + k * SR_AES_BLOCK,
				       tmp + i * SR_AES_BLOCK, SR_AES_BLOCK);
		}
	}
}

/*
 * H(bin, row): h = (bin, 0); for each 128-bit word w of the row,
 * x = sigma(w ^ h), h = E(x) ^ x, with sigma(l | r) = (l ^ r) | l, the
 * linear orthomorphism that makes E(sigma(x)) ^ sigma(x) tweakable
 * circular correlation robust for fixed-key AES (Guo, Katz, Wang, Yu,
 * S&P 2020).  The rounds run over a chunk of items at a time so that AES
 * calls see many independent blocks (AES-NI pipelining).
 */
void sr_kkrt_hash(struct sr_kkrt_aes *a, const uint64_t *bin,
		  const uint8_t *rows, size_t n, uint8_t *out)
{
	uint8_t h[AES_CHUNK * SR_AES_BLOCK], x[AES_CHUNK * SR_AES_BLOCK];

	for (size_t lo = 0; lo < n; lo += AES_CHUNK) {
		size_t c = n - lo < AES_CHUNK ? n - lo : AES_CHUNK;
		memset(h, 0, c * SR_AES_BLOCK);
		for (size_t i = 0; i < c; i++)
			sr_store_u64le(h + i * SR_AES_BLOCK, bin[lo + i]);
		for (int w = 0; w < 4; w++) {
			const __m128i low = _mm_set_epi64x(0, -1);
			for (size_t i = 0; i < c; i++) {
				const uint8_t *r = rows + (lo + i) * SR_KKRT_ROW + w * SR_AES_BLOCK;
				__m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)r),
							  _mm_loadu_si128((const __m128i *)(h + i * SR_AES_BLOCK)));
				/* (l, r) -> (l ^ r, l): swap the halves, add l to the low one. */
				__m128i sw = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2));
				_mm_storeu_si128((__m128i *)(x + i * SR_AES_BLOCK),
						 _mm_xor_si128(sw, _mm_and_si128(v, low)));
			}
			sr_aes_ecb(&a->hash, x, h, c);
			for (size_t i = 0; i < c; i++) {
				__m128i *hp = (__m128i *)(h + i * SR_AES_BLOCK);
				_mm_storeu_si128(hp, _mm_xor_si128(_mm_loadu_si128(hp),
								   _mm_loadu_si128((const __m128i *)(x + i * SR_AES_BLOCK))));
			}
		}
		memcpy(out + lo * SR_AES_BLOCK, h, c * SR_AES_BLOCK);
	}
	sodium_memzero(h, sizeof(h));
	sodium_memzero(x, sizeof(x));
}

/* ---- the extension ---------------------------------------------------------- */

int sr_kkrt_ext_init(struct sr_kkrt_ext *x, const uint8_t *keys0,
		     const uint8_t *keys1, const uint8_t s[SR_KKRT_ROW],
		     struct sr_pool *pool, struct sr_err *err)
{
	size_t colbytes = SR_KKRT_BATCH / 8 * (size_t)SR_KKRT_WIDTH;
	int rc = SR_OK;

	memset(x, 0, sizeof(*x));
	x->pool = pool;
	x->receiver = keys1 != NULL;
	if (s)
		memcpy(x->s, s, SR_KKRT_ROW);
	x->cols = sr_malloc(colbytes);
	x->cols2 = x->receiver ? sr_malloc(colbytes) : NULL;
	if (!x->cols || (x->receiver && !x->cols2)) {
		sr_kkrt_ext_release(x);
		return sr_fail(err, SR_ENOMEM, "psi: out of memory for the OT extension");
	}
	for (size_t j = 0; j < SR_KKRT_WIDTH && rc == SR_OK; j++) {
		rc = sr_aes_ctr_init(&x->prg0[j], keys0 + j * SR_KKRT_OT_KEY, 0, err);
		if (rc == SR_OK && x->receiver)
			rc = sr_aes_ctr_init(&x->prg1[j], keys1 + j * SR_KKRT_OT_KEY,
					     0, err);
	}
	if (rc)
		sr_kkrt_ext_release(x);
	return rc;
}

void sr_kkrt_ext_release(struct sr_kkrt_ext *x)
{
	size_t colbytes = SR_KKRT_BATCH / 8 * (size_t)SR_KKRT_WIDTH;

	for (size_t j = 0; j < SR_KKRT_WIDTH; j++) {
		sr_aes_release(&x->prg0[j]);
		sr_aes_release(&x->prg1[j]);
	}
	if (x->cols)
		sodium_memzero(x->cols, colbytes);
	if (x->cols2)
		sodium_memzero(x->cols2, colbytes);
	sr_free(x->cols);
	sr_free(x->cols2);
	x->cols = x->cols2 = NULL;
	sodium_memzero(x->s, sizeof(x->s));
}

struct prg_job {
	struct sr_kkrt_ext *x;
	size_t colbytes;
};

/* Columns [c*COL_CHUNK, ..): the next colbytes of each stream; the
 * receiver keeps T0 in cols and T0 ^ T1 in cols2. */
static int prg_task(void *arg, size_t c, struct sr_err *err)
{
	const struct prg_job *job = arg;
	struct sr_kkrt_ext *x = job->x;

	(void)err;
	for (size_t j = c * COL_CHUNK; j < (c + 1) * COL_CHUNK; j++) {
		uint8_t *t0 = x->cols + j * job->colbytes;
		sr_aes_ctr_stream(&x->prg0[j], t0, job->colbytes);
		if (x->receiver) {
			uint8_t *d = x->cols2 + j * job->colbytes;
			sr_aes_ctr_stream(&x->prg1[j], d, job->colbytes);
			for (size_t i = 0; i < job->colbytes; i++)
				d[i] ^= t0[i];
		}
	}
	return SR_OK;
}

static void next_columns(struct sr_kkrt_ext *x, size_t nbins)
{
	struct prg_job job = { x, nbins / 8 };

	if (nbins % TILE || nbins > SR_KKRT_BATCH)
		SR_BUG("OT extension batch not a multiple of 128 or too large");
	if (sr_pool_run(x->pool, SR_KKRT_WIDTH / COL_CHUNK, prg_task, &job, NULL))
		SR_BUG("PRG task failed");
}

void sr_kkrt_ext_recv_batch(struct sr_kkrt_ext *x, size_t nbins, uint8_t *t,
			    uint8_t *u)
{
	next_columns(x, nbins);
	sr_kkrt_transpose(x->cols, SR_KKRT_WIDTH, nbins, t, x->pool);
	sr_kkrt_transpose(x->cols2, SR_KKRT_WIDTH, nbins, u, x->pool);
}

void sr_kkrt_ext_send_batch(struct sr_kkrt_ext *x, size_t nbins,
			    const uint8_t *u, uint8_t *q)
{
	next_columns(x, nbins);
	sr_kkrt_transpose(x->cols, SR_KKRT_WIDTH, nbins, q, x->pool);
	for (size_t i = 0; i < nbins; i++)
		for (size_t b = 0; b < SR_KKRT_ROW; b++)
			q[i * SR_KKRT_ROW + b] ^= (uint8_t)(u[i * SR_KKRT_ROW + b] &
							    x->s[b]);
}
