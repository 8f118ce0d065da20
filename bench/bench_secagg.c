/*
 * bench_secagg.c - mask generation speed of secure aggregation
 * (src/secagg): one party masks a vector of N entries for n parties
 * (n - 1 keystreams), for n in 2, 3, 5, 8.  A measurement, not a test.
 *
 *   bench_secagg [ENTRIES]     default 2^23 (64 MiB)
 *
 * Output: one line per figure, "bench secagg_mask key=value ...":
 * vector_mb_s is the vector masked per second, stream_mb_s the keystream
 * generated and added per second (vector_mb_s * (n - 1)).
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "secagg/secagg.h"
#include "base/banned.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 2, 3, 5, 8 };
	uint64_t entries = 1u << 23;
	uint8_t pks[8][SR_SECAGG_KEY_BYTES], sks[8][SR_SECAGG_KEY_BYTES];
	struct sr_secagg_params p;
	struct sr_err err;
	uint64_t *v;

	if (argc > 1) {
		char *end;

		entries = strtoull(argv[1], &end, 10);
		if (*end || entries == 0 || entries > SR_SECAGG_LENGTH_MAX) {
			fprintf(stderr, "usage: bench_secagg [ENTRIES]\n");
			return 2;
		}
	}
	if (sr_crypto_init() != SR_OK)
		return 1;
	v = sr_calloc(entries, sizeof(*v));
	if (!v)
		return 1;
	for (uint64_t e = 0; e < entries; e++)
		v[e] = e;   /* touch every page before timing */
	for (int i = 0; i < 8; i++)
		sr_secagg_keypair(pks[i], sks[i]);
	sr_secagg_params_init(&p);
	p.run_id = (const uint8_t *)"bench";
	p.run_id_len = 5;
	p.length = entries;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct sr_secagg_masker *m;
		double t0, dt, mb = entries * 8 / 1e6;

		p.parties = sizes[s];
		p.self = 0;
		sr_err_clear(&err);
		if (sr_secagg_masker_new(&p, sks[0],
					 (const uint8_t (*)[SR_SECAGG_KEY_BYTES])pks,
					 &m, &err) != SR_OK) {
			fprintf(stderr, "bench_secagg: %s\n", err.msg);
			return 1;
		}
		t0 = now_s();
		if (sr_secagg_masker_apply(m, 0, v, entries, &err) != SR_OK) {
			fprintf(stderr, "bench_secagg: %s\n", err.msg);
			return 1;
		}
		dt = now_s() - t0;
		printf("bench secagg_mask parties=%u entries=%" PRIu64 " seconds=%.3f vector_mb_s=%.0f stream_mb_s=%.0f\n",
		       sizes[s], entries, dt, mb / dt, mb * (sizes[s] - 1) / dt);
		sr_secagg_masker_free(m);
	}
	for (int i = 0; i < 8; i++)
		sodium_memzero(sks[i], sizeof(sks[i]));
	sr_free(v);
	return 0;
}
