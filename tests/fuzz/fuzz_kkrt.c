/*
 * fuzz_kkrt.c - libFuzzer target for KKRT-PSI message handling.  The
 * fuzzer plays the peer: the input is one flags byte (bit 0: the party
 * under test is the sender, else the receiver; bit 2: result to both)
 * and then the messages that party reads, each a u32le length and its
 * bytes.  Whatever arrives - a bad base-OT point, a wrong bin count, a
 * short extension batch, tags of the wrong length - the run must end in
 * an error or a result, never a crash, hang or leak.
 *
 * The seeds in tests/fuzz/corpus/fuzz_kkrt/ are recorded transcripts: what
 * a real peer sent in a run with this target's parameters.  Built with
 * -DSR_FUZZ_RECORD (and without libFuzzer) this file is the recorder:
 *   fuzz_kkrt_record DIR   writes DIR/{receiver,sender}-{0,4}.bin
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "psi/psi.h"
#include "fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const words[] = { "alice", "bob", "carol", "dave" };

static void target_params(struct sr_psi_params *params, uint8_t flags,
			  struct sr_psi_key keys[4])
{
	for (size_t i = 0; i < 4; i++) {
		keys[i].data = words[i];
		keys[i].len = strlen(words[i]);
		keys[i].row = i;
	}
	sr_psi_params_init(params);
	params->session_id = (const uint8_t *)"fuzz-session";
	params->session_id_len = 12;
	params->mode = SR_PSI_INTERSECTION;
	params->output = (flags & 4) ? SR_PSI_TO_BOTH : SR_PSI_TO_RECEIVER;
	params->batch = 2;
	params->protocol = SR_PSI_PROTO_KKRT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sr_psi_key keys[4];
	struct sr_psi_array arr;
	struct sr_psi_source src;
	struct sr_psi_params params;
	struct sr_psi_result res;
	struct sr_pipe io;
	struct sr_err err;
	struct feed f;

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
	f.lenbytes = 4;
	target_params(&params, data[0], keys);
	sr_psi_source_array(&src, &arr, keys, 4);
	io.ctx = &f;
	io.send = feed_send;
	io.recv = feed_recv;
	sr_err_clear(&err);
	sr_psi_result_init(&res);
	(void)!sr_psi_run((data[0] & 1) ? SR_PSI_SENDER : SR_PSI_RECEIVER, &params,
			  &src, &io, &res, &err);
	sr_psi_result_release(&res);
	return 0;
}

#ifdef SR_FUZZ_RECORD
/* ---- the recorder: a real run between two threads ------------------------ */
#include <pthread.h>
#include <stdlib.h>

/* One direction, one message at a time; every message is also written
 * to the transcript of its direction. */
struct chan {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t *msg;
	size_t len;
	int full, closed;
	FILE *log;
};

struct end {
	struct chan *out, *in;
};

static int ch_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct end *e = ctx;
	struct chan *c = e->out;
	uint8_t hdr[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			   (uint8_t)(len >> 24) };

	pthread_mutex_lock(&c->lock);
	while (c->full && !c->closed)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		return sr_fail(err, SR_EIO, "closed");
	}
	c->msg = malloc(len ? len : 1);
	memcpy(c->msg, msg, len);
	c->len = len;
	c->full = 1;
	fwrite(hdr, 1, 4, c->log);
	fwrite(msg, 1, len, c->log);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return SR_OK;
}

static int ch_recv(void *ctx, struct sr_buf *msg, size_t max_len, struct sr_err *err)
{
	struct end *e = ctx;
	struct chan *c = e->in;
	int rc = SR_OK;

	pthread_mutex_lock(&c->lock);
	while (!c->full && !c->closed)
		pthread_cond_wait(&c->cond, &c->lock);
	if (!c->full) {
		pthread_mutex_unlock(&c->lock);
		return sr_fail(err, SR_EPROTO, "closed");
	}
	if (c->len > max_len)
		rc = sr_fail(err, SR_ELIMIT, "too long");
	sr_buf_reset(msg);
	if (rc == SR_OK && sr_buf_add(msg, c->msg, c->len) != SR_OK)
		rc = SR_ENOMEM;
	free(c->msg);
	c->full = 0;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

struct side {
	enum sr_psi_role role;
	uint8_t flags;
	struct end end;
	int rc;
};

static void *side_main(void *arg)
{
	struct side *s = arg;
	struct sr_psi_key keys[4];
	struct sr_psi_array arr;
	struct sr_psi_source src;
	struct sr_psi_params params;
	struct sr_psi_result res;
	struct sr_pipe io = { &s->end, ch_send, ch_recv };
	struct sr_err err;

	target_params(&params, s->flags, keys);
	sr_psi_source_array(&src, &arr, keys, 4);
	sr_err_clear(&err);
	s->rc = sr_psi_run(s->role, &params, &src, &io, &res, &err);
	if (s->rc)
		fprintf(stderr, "record: %s\n", err.msg);
	else
		sr_psi_result_release(&res);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2 || sr_crypto_init() != SR_OK)
		return 2;
	for (uint8_t flags = 0; flags <= 4; flags += 4) {
		struct chan rs = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
				   NULL, 0, 0, 0, NULL };
		struct chan sr = rs;
		struct side r = { SR_PSI_RECEIVER, flags, { &rs, &sr }, 0 };
		struct side s = { SR_PSI_SENDER, flags, { &sr, &rs }, 0 };
		char path[512];
		pthread_t tr, ts;
		uint8_t fb;
		/* What R sends is the sender-under-test's input, and back. */
		snprintf(path, sizeof(path), "%s/sender-%u.bin", argv[1], flags);
		rs.log = fopen(path, "wb");
		snprintf(path, sizeof(path), "%s/receiver-%u.bin", argv[1], flags);
		sr.log = fopen(path, "wb");
		if (!rs.log || !sr.log)
			return 1;
		fb = (uint8_t)(flags | 1);
		fwrite(&fb, 1, 1, rs.log);
		fb = flags;
		fwrite(&fb, 1, 1, sr.log);
		pthread_create(&tr, NULL, side_main, &r);
		pthread_create(&ts, NULL, side_main, &s);
		pthread_join(tr, NULL);
		pthread_join(ts, NULL);
		fclose(rs.log);
		fclose(sr.log);
		if (r.rc || s.rc)
			return 1;
	}
	return 0;
}
#endif
