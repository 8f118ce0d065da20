/*
 * fuzz_secagg.c - libFuzzer target for secure-aggregation message
 * handling.  The fuzzer plays every peer: the input is cut into messages
 * (u16le length + bytes) that a real party reads, in the order it reads
 * them, as the aggregator (first input byte even) or as a contributor
 * (odd), in a run of two parties (bit 1 clear) or three.  Whatever
 * arrives, the run must end in an error or a sum, never a crash, hang or
 * leak; on an error the aggregator's output must be all zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "secagg/secagg.h"
#include "fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LENGTH 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static const uint64_t input[LENGTH] = { 1, 2, 3, UINT64_MAX, 5 };
	uint64_t sum[LENGTH];
	struct sr_secagg_params p;
	struct sr_pipe pipes[3];
	struct sr_err err;
	struct feed f;
	int rc;

	if (!ready) {
		if (sr_crypto_init() != SR_OK)
			return 0;
		ready = 1;
	}
	if (size < 1)
		return 0;
	f.data = data + 1;
	f.size = size - 1;
	f.pos = 0;
	f.lenbytes = 2;
	for (int i = 0; i < 3; i++) {
		pipes[i].ctx = &f;
		pipes[i].send = feed_send;
		pipes[i].recv = feed_recv;
	}
	sr_secagg_params_init(&p);
	p.run_id = (const uint8_t *)"fuzz-run";
	p.run_id_len = 8;
	p.parties = (data[0] & 2) ? 3 : 2;
	p.self = (data[0] & 1) ? 1 : 0;
	p.aggregator = 0;
	p.length = LENGTH;
	p.chunk = 2;
	memset(sum, 0x5a, sizeof(sum));
	sr_err_clear(&err);
	rc = sr_secagg_run(&p, pipes, input, p.self == 0 ? sum : NULL, NULL, &err);
	if (rc != SR_OK && p.self == 0)
		for (int e = 0; e < LENGTH; e++)
			if (sum[e] != 0)
				abort();   /* a partial sum escaped */
	return 0;
}
