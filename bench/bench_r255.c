/*
 * bench_r255.c - libsodium's ristretto255 against src/crypto/r255.c, in
 * one process, interleaved (not a timed test).
 *
 *   bench_r255 [ROUNDS]     default 1000 rounds
 *
 * Each round runs, for every operation, a block of BLOCK calls of one
 * implementation and then of the other (the order alternates between
 * rounds), so both see the same load; the figure per operation is the
 * median over rounds of the per-call time.  Every output is checked
 * against libsodium's, so a fast but wrong implementation fails the run.
 *
 * Operations (one call each):
 *   h2g          crypto_core_ristretto255_from_hash / sr_r255_from_hash
 *   mul          crypto_scalarmult_ristretto255 / sr_r255_mul
 *   hash_mul     from_hash + scalarmult / sr_r255_hash_mul
 *   psi_element  what PSI does per key and party: sr_h2g_hash + 2
 *                scalarmult / sr_r255_h2g_digest + sr_r255_hash_mul +
 *                sr_r255_mul
 *
 * Output: "bench r255 op=... libsodium_us=... ours_us=... speedup=...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "crypto/r255.h"
#include "base/banned.h"

#define BLOCK 8
#define OPS 4

static const char *const op_names[OPS] = { "h2g", "mul", "hash_mul",
					   "psi_element" };

struct inputs {
	uint8_t scalar[SR_R255_SCALARBYTES];
	uint8_t hash[BLOCK][SR_R255_HASHBYTES];
	uint8_t point[BLOCK][SR_R255_BYTES];
	uint8_t key[BLOCK][16];
	struct sr_h2g h2g;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One block of op with libsodium (ours = 0) or r255; outputs to out. */
static int run_block(const struct inputs *in, int op, int ours,
		     uint8_t out[BLOCK][SR_R255_BYTES])
{
	for (int i = 0; i < BLOCK; i++) {
		uint8_t p[SR_R255_BYTES], digest[SR_R255_HASHBYTES];
		switch (op) {
		case 0:
			if (ours)
				sr_r255_from_hash(out[i], in->hash[i]);
			else
				crypto_core_ristretto255_from_hash(out[i], in->hash[i]);
			break;
		case 1:
			if (ours ? sr_r255_mul(out[i], in->scalar, in->point[i]) != SR_OK :
			    crypto_scalarmult_ristretto255(out[i], in->scalar,
							   in->point[i]) != 0)
				return -1;
			break;
		case 2:
			if (ours) {
				if (sr_r255_hash_mul(out[i], in->scalar, in->hash[i]) != SR_OK)
					return -1;
			} else {
				crypto_core_ristretto255_from_hash(p, in->hash[i]);
				if (crypto_scalarmult_ristretto255(out[i], in->scalar, p) != 0)
					return -1;
			}
			break;
		default:
			/* blind our key, double-blind a peer's point */
			if (ours) {
				sr_r255_h2g_digest(&in->h2g, in->key[i], 16, digest);
				if (sr_r255_hash_mul(p, in->scalar, digest) != SR_OK ||
				    sr_r255_mul(out[i], in->scalar, p) != SR_OK)
					return -1;
			} else {
				sr_h2g_hash(&in->h2g, in->key[i], 16, p);
				if (crypto_scalarmult_ristretto255(p, in->scalar, p) != 0 ||
				    crypto_scalarmult_ristretto255(out[i], in->scalar, p) != 0)
					return -1;
			}
			break;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	static struct inputs in;
	static uint8_t want[BLOCK][SR_R255_BYTES], got[BLOCK][SR_R255_BYTES];
	double *times[OPS][2];
	double load1 = 0;
	FILE *f;

	if (sr_crypto_init() != SR_OK || rounds < 1) {
		fprintf(stderr, "usage: bench_r255 [ROUNDS]\n");
		return 2;
	}
	for (int op = 0; op < OPS; op++)
		for (int k = 0; k < 2; k++)
			if (!(times[op][k] = calloc((size_t)rounds, sizeof(double))))
				return 1;
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &load1) != 1)
			load1 = 0;
		fclose(f);
	}
	sr_h2g_init(&in.h2g, "bench", 5);
	for (long r = 0; r < rounds; r++) {
		/* fresh inputs every round, so no branch predictor or cache
		 * learns one fixed case */
		crypto_core_ristretto255_scalar_random(in.scalar);
		sr_random_buf(in.hash, sizeof(in.hash));
		sr_random_buf(in.key, sizeof(in.key));
		for (int i = 0; i < BLOCK; i++)
			crypto_core_ristretto255_from_hash(in.point[i], in.hash[i]);
		for (int op = 0; op < OPS; op++) {
			for (int k = 0; k < 2; k++) {
				int ours = (int)((r + k) % 2);
				double t0 = now();
				if (run_block(&in, op, ours, ours ? got : want) != 0) {
					fprintf(stderr, "bench_r255: %s failed\n", op_names[op]);
					return 1;
				}
				times[op][ours][r] = (now() - t0) / BLOCK * 1e6;
			}
			if (memcmp(want, got, sizeof(want)) != 0) {
				fprintf(stderr, "bench_r255: %s differs from libsodium\n",
					op_names[op]);
				return 1;
			}
		}
	}
	printf("bench r255 env rounds=%ld block=%d load1_before=%.2f\n", rounds,
	       BLOCK, load1);
	for (int op = 0; op < OPS; op++) {
		double med[2];
		for (int k = 0; k < 2; k++) {
			qsort(times[op][k], (size_t)rounds, sizeof(double), cmp_double);
			med[k] = times[op][k][rounds / 2];
			free(times[op][k]);
		}
		printf("bench r255 op=%s libsodium_us=%.2f ours_us=%.2f speedup=%.3f\n",
		       op_names[op], med[0], med[1], med[0] / med[1]);
	}
	sodium_memzero(&in, sizeof(in));
	return 0;
}
