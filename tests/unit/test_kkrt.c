/*
 * test_kkrt.c - the building blocks of KKRT-PSI (src/psi/kkrt.h): base
 * OT, the bit-matrix transpose, the OT-extension correlation, cuckoo and
 * simple hashing, the table size and the comparison length.  The whole
 * protocol is tested against the plain intersection in test_psi.c.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "crypto/crypto.h"
#include "psi/kkrt.h"

static struct sr_pool *pool;

static void fill(uint8_t *buf, size_t len, uint64_t *seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)sr_test_rand(seed);
}

static int bit(const uint8_t *row, size_t k)
{
	return (row[k / 8] >> (k % 8)) & 1;
}

/* ---- base OT ---------------------------------------------------------------- */

static void test_base_ot(void **state)
{
	enum { N = 512 };
	static uint8_t B[N * 32], key[N * 16], k0[N * 16], k1[N * 16];
	uint8_t ctx[32], choice[N / 8];
	struct sr_ot_sender s;
	struct sr_err err;
	uint64_t seed = 5;
	size_t ones = 0;

	(void)state;
	fill(ctx, sizeof(ctx), &seed);
	randombytes_buf(choice, sizeof(choice));
	sr_ot_sender_init(&s);
	assert_int_equal(sr_ot_receiver(ctx, s.A, choice, N, B, key, pool, &err), SR_OK);
	assert_int_equal(sr_ot_sender_keys(&s, ctx, B, N, k0, k1, pool, &err), SR_OK);
	for (size_t j = 0; j < N; j++) {
		int c = bit(choice, j);
		const uint8_t *mine = key + j * 16;
		const uint8_t *chosen = (c ? k1 : k0) + j * 16;
		const uint8_t *other = (c ? k0 : k1) + j * 16;
		ones += (size_t)c;
		/* The receiver holds exactly the chosen key... */
		assert_memory_equal(mine, chosen, 16);
		/* ...and not the other, which is unrelated to it. */
		assert_memory_not_equal(mine, other, 16);
		/* Keys of different OTs differ too (j is hashed in). */
		if (j)
			assert_memory_not_equal(k0 + j * 16, k0 + (j - 1) * 16, 16);
	}
	assert_true(ones > 180 && ones < 332);
	/* Another context gives other keys: the run is hashed in. */
	{
		static uint8_t key2[N * 16];
		ctx[0] ^= 1;
		assert_int_equal(sr_ot_receiver(ctx, s.A, choice, 4, B, key2, pool, &err),
				 SR_OK);
		assert_memory_not_equal(key2, key, 16);
	}
	sr_ot_sender_release(&s);
}

static void test_base_ot_bad_points(void **state)
{
	uint8_t ctx[32] = { 0 }, A[32], B[2 * 32], key[2 * 16], k0[32], k1[32];
	uint8_t choice[1] = { 2 };
	struct sr_ot_sender s;
	struct sr_err err;

	(void)state;
	memset(A, 0xff, sizeof(A));
	sr_err_clear(&err);
	assert_int_equal(sr_ot_receiver(ctx, A, choice, 2, B, key, pool, &err), SR_EPROTO);
	assert_non_null(strstr(err.msg, "not a canonical"));
	memset(A, 0, sizeof(A));
	sr_err_clear(&err);
	assert_int_equal(sr_ot_receiver(ctx, A, choice, 2, B, key, pool, &err), SR_EPROTO);
	assert_non_null(strstr(err.msg, "identity"));

	sr_ot_sender_init(&s);
	assert_int_equal(sr_ot_receiver(ctx, s.A, choice, 2, B, key, pool, &err), SR_OK);
	memset(B + 32, 0xff, 32);
	sr_err_clear(&err);
	assert_int_equal(sr_ot_sender_keys(&s, ctx, B, 2, k0, k1, pool, &err), SR_EPROTO);
	assert_non_null(strstr(err.msg, "point 1 is not a canonical"));
	memset(B + 32, 0, 32);
	sr_err_clear(&err);
	assert_int_equal(sr_ot_sender_keys(&s, ctx, B, 2, k0, k1, pool, &err), SR_EPROTO);
	assert_non_null(strstr(err.msg, "point 1 is the identity"));
	sr_ot_sender_release(&s);
}

/* ---- transpose ---------------------------------------------------------------- */

static void naive_transpose(const uint8_t *in, size_t rows, size_t cols, uint8_t *out)
{
	memset(out, 0, rows * cols / 8);
	for (size_t i = 0; i < rows; i++)
		for (size_t j = 0; j < cols; j++)
			if (bit(in + i * (cols / 8), j))
				out[j * (rows / 8) + i / 8] |= (uint8_t)(1u << (i % 8));
}

static void test_transpose(void **state)
{
	static const size_t shapes[][2] = { { 128, 128 }, { 512, 256 }, { 256, 1024 },
					    { 512, 8192 } };
	uint64_t seed = 9;

	(void)state;
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		size_t rows = shapes[k][0], cols = shapes[k][1], bytes = rows * cols / 8;
		uint8_t *in = malloc(bytes), *a = malloc(bytes), *b = malloc(bytes);
		assert_non_null(in);
		assert_non_null(a);
		assert_non_null(b);
		fill(in, bytes, &seed);
		sr_kkrt_transpose(in, rows, cols, a, pool);
		naive_transpose(in, rows, cols, b);
		assert_memory_equal(a, b, bytes);
		/* And back. */
		sr_kkrt_transpose(a, cols, rows, b, NULL);
		assert_memory_equal(b, in, bytes);
		free(in);
		free(a);
		free(b);
	}
}

/* ---- the extension ------------------------------------------------------------ */

/*
 * With random base keys and random choice bits s: the receiver's t and
 * u ^ C and the sender's q satisfy q_i = t_i ^ (C_i & s) on every row of
 * every batch, and t itself is not q (the correlation is not trivial).
 */
static void test_extension_correlation(void **state)
{
	static uint8_t k0[SR_KKRT_WIDTH * 16], k1[SR_KKRT_WIDTH * 16];
	static uint8_t ks[SR_KKRT_WIDTH * 16];
	static const size_t batches[] = { SR_KKRT_BATCH, 256, 128 };
	uint8_t s[SR_KKRT_ROW];
	struct sr_kkrt_ext rx, sx;
	struct sr_err err;
	uint64_t seed = 11;
	size_t differ = 0;

	(void)state;
	fill(k0, sizeof(k0), &seed);
	fill(k1, sizeof(k1), &seed);
	randombytes_buf(s, sizeof(s));
	for (size_t j = 0; j < SR_KKRT_WIDTH; j++)
		memcpy(ks + j * 16, (bit(s, j) ? k1 : k0) + j * 16, 16);
	assert_int_equal(sr_kkrt_ext_init(&rx, k0, k1, NULL, pool, &err), SR_OK);
	assert_int_equal(sr_kkrt_ext_init(&sx, ks, NULL, s, pool, &err), SR_OK);
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		size_t n = batches[b], bytes = n * SR_KKRT_ROW;
		uint8_t *t = malloc(bytes), *u = malloc(bytes), *c = malloc(bytes);
		uint8_t *q = malloc(bytes);
		assert_non_null(t);
		assert_non_null(u);
		assert_non_null(c);
		assert_non_null(q);
		fill(c, bytes, &seed);
		sr_kkrt_ext_recv_batch(&rx, n, t, u);
		for (size_t i = 0; i < bytes; i++)
			u[i] ^= c[i];
		sr_kkrt_ext_send_batch(&sx, n, u, q);
		for (size_t i = 0; i < bytes; i++) {
			assert_int_equal(q[i], t[i] ^ (c[i] & s[i % SR_KKRT_ROW]));
			differ += q[i] != t[i];
		}
		free(t);
		free(u);
		free(c);
		free(q);
	}
	assert_true(differ > 0);
	sr_kkrt_ext_release(&rx);
	sr_kkrt_ext_release(&sx);
}

/* The OPRF end to end on rows: equal inputs give equal outputs, other
 * inputs (another item or another bin) other outputs. */
static void test_oprf_outputs(void **state)
{
	struct sr_kkrt_keys keys;
	struct sr_kkrt_aes aes;
	uint8_t seed[32] = { 1 }, blocks[3 * 16], rows[3 * SR_KKRT_ROW], out[4 * 16];
	uint64_t bins[4] = { 5, 5, 5, 6 };
	uint64_t st = 3;
	struct sr_err err;

	(void)state;
	sr_kkrt_keys_derive(&keys, seed);
	assert_int_equal(sr_kkrt_aes_init(&aes, &keys, &err), SR_OK);
	fill(blocks, sizeof(blocks), &st);
	memcpy(blocks + 16, blocks, 16);    /* item 1 = item 0 */
	sr_kkrt_code(&aes, blocks, 3, rows);
	assert_memory_equal(rows, rows + SR_KKRT_ROW, SR_KKRT_ROW);
	assert_memory_not_equal(rows, rows + 2 * SR_KKRT_ROW, SR_KKRT_ROW);
	{
		uint8_t r4[4 * SR_KKRT_ROW];
		memcpy(r4, rows, 3 * SR_KKRT_ROW);
		memcpy(r4 + 3 * SR_KKRT_ROW, rows, SR_KKRT_ROW);
		sr_kkrt_hash(&aes, bins, r4, 4, out);
	}
	assert_memory_equal(out, out + 16, 16);
	assert_memory_not_equal(out, out + 32, 16);
	assert_memory_not_equal(out, out + 48, 16);   /* same row, other bin */
	sr_kkrt_aes_release(&aes);
}

/* ---- hashing ---------------------------------------------------------------- */

static void test_table_size(void **state)
{
	uint64_t prev = 0;

	(void)state;
	assert_int_equal(sr_kkrt_bins(0), 128);
	assert_int_equal(sr_kkrt_bins(1), 128);
	for (unsigned l = 4; l <= 26; l++) {
		uint64_t n = (uint64_t)1 << l, m = sr_kkrt_bins(n);
		assert_int_equal(m % 128, 0);
		assert_true(m > n);
		assert_true(m >= prev);
		prev = m;
	}
	/* PSWW18's fit at 2^20: e = (40 + 150) / 123.5 = 1.54. */
	assert_true(sr_kkrt_bins(1u << 20) > (uint64_t)(1.53 * (1u << 20)));
	assert_true(sr_kkrt_bins(1u << 20) < (uint64_t)(1.55 * (1u << 20)));
}

static void test_cuckoo(void **state)
{
	static const size_t sizes[] = { 1, 2, 100, 1000, 100000 };
	struct sr_kkrt_keys keys;
	struct sr_aes binkey;
	uint8_t seed[32] = { 7 };
	struct sr_err err;
	uint64_t st = 13;

	(void)state;
	sr_kkrt_keys_derive(&keys, seed);
	assert_int_equal(sr_aes_ecb_init(&binkey, keys.bins, &err), SR_OK);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		uint64_t m = sr_kkrt_bins(n);
		uint8_t *ids = malloc(n * 16), *hidx = malloc(m);
		uint32_t *bins = malloc(n * 3 * sizeof(uint32_t));
		uint32_t *slot = malloc(m * sizeof(uint32_t));
		uint32_t *start = malloc((m + 1) * sizeof(uint32_t));
		uint32_t *entries = malloc(n * 3 * sizeof(uint32_t));
		uint8_t *seen = calloc(n * 3, 1);
		size_t placed = 0;
		assert_non_null(ids);
		assert_non_null(seen);
		fill(ids, n * 16, &st);
		sr_kkrt_item_bins(&binkey, ids, n, m, bins);
		for (size_t i = 0; i < n * 3; i++)
			assert_true(bins[i] < m);
		assert_int_equal(sr_kkrt_cuckoo(bins, n, m, 2000, slot, hidx, &err), SR_OK);
		/* Every item exactly once, in one of its own bins. */
		for (uint64_t b = 0; b < m; b++) {
			if (slot[b] == SR_KKRT_EMPTY)
				continue;
			assert_true(slot[b] < n);
			assert_false(seen[slot[b]]);
			seen[slot[b]] = 1;
			assert_int_equal(bins[slot[b] * 3 + hidx[b]], b);
			placed++;
		}
		assert_int_equal(placed, n);
		/* Simple hashing: each (item, h) once, in its bin. */
		memset(seen, 0, n * 3);
		sr_kkrt_simple(bins, n, m, start, entries);
		assert_int_equal(start[0], 0);
		assert_int_equal(start[m], n * 3);
		for (uint64_t b = 0; b < m; b++)
			for (uint32_t e = start[b]; e < start[b + 1]; e++) {
				assert_int_equal(bins[entries[e]], b);
				assert_false(seen[entries[e]]);
				seen[entries[e]] = 1;
			}
		free(ids);
		free(hidx);
		free(bins);
		free(slot);
		free(start);
		free(entries);
		free(seen);
	}
	sr_aes_release(&binkey);
}

/* Too many items for the table, or items that share all their bins:
 * a clear SR_ELIMIT, never a loop. */
static void test_cuckoo_failure(void **state)
{
	enum { N = 300, M = 256 };
	static uint32_t bins[N * 3], slot[M];
	static uint8_t hidx[M];
	struct sr_err err;
	uint64_t st = 17;

	(void)state;
	for (size_t i = 0; i < N * 3; i++)
		bins[i] = (uint32_t)(sr_test_rand(&st) % M);
	sr_err_clear(&err);
	assert_int_equal(sr_kkrt_cuckoo(bins, N, M, 500, slot, hidx, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "cuckoo hashing failed"));
	/* Four items with the same three bins. */
	for (size_t i = 0; i < 4 * 3; i++)
		bins[i] = (uint32_t)(i % 3);
	sr_err_clear(&err);
	assert_int_equal(sr_kkrt_cuckoo(bins, 4, M, 100, slot, hidx, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "key 3 of 4"));
	/* Three fit. */
	assert_int_equal(sr_kkrt_cuckoo(bins, 3, M, 100, slot, hidx, &err), SR_OK);
}

static void test_kkrt_tag_bytes(void **state)
{
	(void)state;
	/* 40 + ceil(log2(C(n,2) + 3 n n)) bits. */
	assert_int_equal(sr_psi_kkrt_tag_bytes(0, 0), 5);
	assert_int_equal(sr_psi_kkrt_tag_bytes(1, 1), 6);          /* 3 pairs: 42 bits */
	assert_int_equal(sr_psi_kkrt_tag_bytes(1000, 1000), 8);    /* 3.5e6: 62 bits */
	assert_int_equal(sr_psi_kkrt_tag_bytes(1u << 20, 1u << 20), 11);  /* 7 * 2^39: 82 bits */
	assert_int_equal(sr_psi_kkrt_tag_bytes(1u << 24, 1u << 24), 12);  /* 7 * 2^47: 91 bits */
	assert_int_equal(sr_psi_kkrt_tag_bytes(SR_PSI_SET_MAX, SR_PSI_SET_MAX), 12);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	assert_int_equal(sr_pool_new(2, &pool), SR_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_pool_free(pool);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_ot),
		cmocka_unit_test(test_base_ot_bad_points),
		cmocka_unit_test(test_transpose),
		cmocka_unit_test(test_extension_correlation),
		cmocka_unit_test(test_oprf_outputs),
		cmocka_unit_test(test_table_size),
		cmocka_unit_test(test_cuckoo),
		cmocka_unit_test(test_cuckoo_failure),
		cmocka_unit_test(test_kkrt_tag_bytes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
