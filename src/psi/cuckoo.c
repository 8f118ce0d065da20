/*
 * cuckoo.c - the receiver's cuckoo table and the sender's simple hashing
 * for KKRT-PSI (kkrt.h).
 *
 * Table size: 3 hash functions, no stash, failure probability <= 2^-40,
 * from the empirical fit of Pinkas, Schneider, Weinert and Wieder
 * ("Efficient circuit-based PSI via cuckoo hashing", EUROCRYPT 2018,
 * §3.2): the failure exponent is linear in the expansion e = m/n,
 * lambda = a_n e + b_n, with a_n = 123.5 Phi((log2 n - 6.3) / 2.3) and
 * b_n = -130 Phi((log2 n - 6.45) / 2.18) - log2 n (Phi the normal CDF),
 * so e = (40 - b_n) / a_n: 1.54 at n = 2^20, 1.58 at 2^24, larger for
 * small sets (the fit is steep below 2^8).  docs/protocols/psi.md says
 * why this and not 1.27.
 */
#include <math.h>
#include <sodium.h>
#include <string.h>

#include "base/buf.h"
#include "psi/kkrt.h"
#include "base/banned.h"

#define STAT_SECURITY 40.0

static double phi(double z)
{
	return 0.5 * (1.0 + erf(z / sqrt(2.0)));
}

uint64_t sr_kkrt_bins(uint64_t n)
{
	double l, a, b, e, m;
	uint64_t bins;

	if (n < 2)
		return 128;
	l = log2((double)n);
	a = 123.5 * phi((l - 6.3) / 2.3);
	b = -130.0 * phi((l - 6.45) / 2.18) - l;
	e = (STAT_SECURITY - b) / a;
	if (e < 1.1)
		e = 1.1;   /* never reached for n <= 2^26; a floor for safety */
	m = ceil(e * (double)n);
	bins = (uint64_t)m;
	return (bins + 127) / 128 * 128;
}

/* Bins of item i: three 32-bit words of E_bins(id_i | 0xff), each scaled
 * to [0, m) by a multiply-shift (the bins' probabilities differ by at most
 * a factor 1 + m/2^32, immaterial to the load analysis). */
void sr_kkrt_item_bins(struct sr_aes *binkey, const uint8_t *ids, size_t n,
		       uint64_t m, uint32_t *bins)
{
	uint8_t in[256 * SR_AES_BLOCK], out[256 * SR_AES_BLOCK];

	for (size_t lo = 0; lo < n; lo += 256) {
		size_t c = n - lo < 256 ? n - lo : 256;
		for (size_t i = 0; i < c; i++) {
			memcpy(in + i * SR_AES_BLOCK, ids + (lo + i) * SR_KKRT_ITEM,
			       SR_KKRT_ITEM - 1);
			in[i * SR_AES_BLOCK + 15] = 0xff;
		}
		sr_aes_ecb(binkey, in, out, c);
		for (size_t i = 0; i < c; i++)
			for (int h = 0; h < SR_KKRT_HASHES; h++) {
				uint64_t w = sr_load_u32le(out + i * SR_AES_BLOCK + 4 * h);
				bins[(lo + i) * SR_KKRT_HASHES + (size_t)h] =
					(uint32_t)((w * m) >> 32);
			}
	}
	sodium_memzero(in, sizeof(in));
	sodium_memzero(out, sizeof(out));
}

int sr_kkrt_cuckoo(const uint32_t *bins, size_t n, uint64_t m,
		   unsigned max_kicks, uint32_t *slot, uint8_t *hidx,
		   struct sr_err *err)
{
	struct sr_psi_rng rng;

	sr_psi_rng_init(&rng);
	for (uint64_t b = 0; b < m; b++) {
		slot[b] = SR_KKRT_EMPTY;
		hidx[b] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t item = (uint32_t)i;
		uint32_t last = UINT32_MAX;
		unsigned kicks = 0;
		for (;;) {
			const uint32_t *hb = bins + (size_t)item * SR_KKRT_HASHES;
			int placed = 0, h;
			for (h = 0; h < SR_KKRT_HASHES; h++)
				if (slot[hb[h]] == SR_KKRT_EMPTY) {
					slot[hb[h]] = item;
					hidx[hb[h]] = (uint8_t)h;
					placed = 1;
					break;
				}
			if (placed)
				break;
			if (kicks++ >= max_kicks) {
				sr_psi_rng_release(&rng);
				return sr_fail(err, SR_ELIMIT,
					       "psi: cuckoo hashing failed: key %zu of %zu found no free bin among %llu after %u evictions",
					       i, n, (unsigned long long)m, max_kicks);
			}
			/* Evict from a random one of the three bins, not the
			 * bin we were just evicted from (a random walk). */
			int stuck = hb[0] == last && hb[1] == last && hb[2] == last;
			do
				h = (int)sr_psi_rng_uniform(&rng, SR_KKRT_HASHES);
			while (!stuck && hb[h] == last);
			{
				uint32_t b = hb[h];
				uint32_t out = slot[b];
				slot[b] = item;
				hidx[b] = (uint8_t)h;
				last = b;
				item = out;
			}
		}
	}
	sr_psi_rng_release(&rng);
	return SR_OK;
}

void sr_kkrt_simple(const uint32_t *bins, size_t n, uint64_t m,
		    uint32_t *start, uint32_t *entries)
{
	memset(start, 0, (size_t)(m + 1) * sizeof(*start));
	for (size_t e = 0; e < n * SR_KKRT_HASHES; e++)
		start[bins[e] + 1]++;
	for (uint64_t b = 0; b < m; b++)
		start[b + 1] += start[b];
	/* Fill, then shift back: start[b] was advanced to the end of bin b. */
	for (size_t e = 0; e < n * SR_KKRT_HASHES; e++)
		entries[start[bins[e]]++] = (uint32_t)e;
	for (uint64_t b = m; b > 0; b--)
		start[b] = start[b - 1];
	start[0] = 0;
}
