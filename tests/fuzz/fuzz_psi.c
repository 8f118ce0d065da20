/*
 * fuzz_psi.c - libFuzzer target for PSI message handling.  The fuzzer
 * plays the peer: the input is cut into messages (u16le length + bytes)
 * that a real party reads, as receiver (first input byte even) or as
 * sender (odd), in intersection or cardinality mode.  Whatever arrives,
 * the run must end in an error or a result, never a crash, hang or leak.
 */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "psi/psi.h"
#include "fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const words[] = { "alice", "bob", "carol", "dave" };
	static int ready;
	struct sr_psi_key keys[4];
	struct sr_psi_array arr;
	struct sr_psi_source src;
	struct sr_psi_params params;
	struct sr_psi_result res;
	struct sr_pipe io;
	struct sr_err err;
	struct feed f;
	uint8_t flags;

	if (!ready) {
		if (sr_crypto_init() != SR_OK)
			return 0;
		ready = 1;
	}
	if (size < 1)
		return 0;
	flags = data[0];
	f.data = data + 1;
	f.size = size - 1;
	f.pos = 0;
	f.lenbytes = 2;
	for (size_t i = 0; i < 4; i++) {
		keys[i].data = words[i];
		keys[i].len = strlen(words[i]);
		keys[i].row = i;
	}
	sr_psi_source_array(&src, &arr, keys, 4);
	sr_psi_params_init(&params);
	params.session_id = (const uint8_t *)"fuzz-session";
	params.session_id_len = 12;
	params.mode = (flags & 2) ? SR_PSI_CARDINALITY : SR_PSI_INTERSECTION;
	params.output = (flags & 4) ? SR_PSI_TO_BOTH : SR_PSI_TO_RECEIVER;
	params.batch = 2;
	/* ECDH-PSI's messages (its corpus); KKRT's: fuzz_kkrt.c. */
	params.protocol = SR_PSI_PROTO_ECDH;
	io.ctx = &f;
	io.send = feed_send;
	io.recv = feed_recv;
	sr_err_clear(&err);
	sr_psi_result_init(&res);
	(void)!sr_psi_run((flags & 1) ? SR_PSI_SENDER : SR_PSI_RECEIVER, &params,
			  &src, &io, &res, &err);
	sr_psi_result_release(&res);
	return 0;
}
