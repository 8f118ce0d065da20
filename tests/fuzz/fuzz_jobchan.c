/*
 * fuzz_jobchan.c - libFuzzer target for the job channel's handling of
 * mailbox messages (src/net/jobchan.c, docs/protocols/jobchan.md): the
 * fuzzer is the coordinator, and everything B reads "from A" is its input.
 *
 * Parties A and B have fixed-seed identities and share a fixed project,
 * job id and ledger head.  libsodium's randombytes is replaced by a
 * deterministic generator, reset before each party opens, so the
 * ephemeral keys, hellos and sealed messages are the same in every run:
 * the seeds (tests/fuzz/corpus/fuzz_jobchan/) hold A's real messages and
 * still authenticate, and every crash reproduces.  Once, in setup: B's
 * hello is recorded, A opens against it and sends three data messages and
 * an ABORT; their bytes and plaintexts are kept.
 *
 * Each run opens a fresh B (single thread, no waiting) over an in-memory
 * mailbox whose queue from A holds the input's messages:
 *
 *   byte 0   bit 0       1: the first message replaces A's hello (seq 0)
 *                        0: A's real hello, the messages are seq 1, 2, ...
 *            bits 1-2    messages - 1 (1..4)
 *            bits 3-4    channel B asks for: 0 the one A used for that
 *                        seq, then 1, 2, 7
 *            bit 5       max_len 16 instead of SR_FRAME_MAX
 *            bit 6       B's message buffer capped at 4 KiB (else at
 *                        SR_FRAME_MAX, so a header may make it allocate
 *                        that much before the AEAD check, as designed)
 *   then     every message but the last: u16le length (cut to what is
 *            left) and its bytes; the last takes the rest.
 *
 * B opens, then calls sr_jobchan_recv once per data message and once more
 * (the mailbox is then empty: it answers SR_ETIMEOUT at once and
 * should_abort stops the wait, so no run ever sleeps).  Checked:
 *   - every failure is a negative code, err.code equals it, the message
 *     is not empty, and *out / msg are left empty;
 *   - after a failure every later recv and send fails, saying the channel
 *     is broken, and the send posts nothing;
 *   - nothing forged is accepted: an open with a fuzzed hello succeeds
 *     only for A's own hello, byte for byte; the k-th successful recv
 *     returns exactly the k-th plaintext A sent, on the channel A used;
 *     "aborted the job channel" only for A's real ABORT, with its reason;
 *   - SR_EPERM (stopped waiting) only when the mailbox had nothing more,
 *     and the bytes the channel counts as received are the bytes fetched.
 * ASan and LeakSanitizer catch the rest.  Fragmented messages (over
 * SR_JOBCHAN_FRAGMENT_MAX, 4 MiB) are out of reach of this target.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "net/jobchan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROJECT "prj_fuzz"
#define TAG_A 0xa1
#define TAG_B 0xb2
#define MSGS_MAX 4
#define SLOTS 8
#define RECORD_MAX 1024           /* bytes of one message A or B posts in setup */
#define TIMEOUT_MS 100            /* a backstop: no run waits (should_abort) */
#define SMALL_MAX_LEN 16
#define SMALL_BUF_MAX 4096
#define ABORT_REASON "psi failed: fuzz reason"

enum { PA, PB };

/* ---- deterministic randombytes ------------------------------------------ */

static uint8_t rng_key[crypto_stream_chacha20_KEYBYTES];
static uint64_t rng_counter;

static void rng_reset(uint8_t tag)
{
	memset(rng_key, tag, sizeof(rng_key));
	rng_counter = 0;
}

static void rng_buf(void *const buf, const size_t size)
{
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];

	sr_store_u64le(nonce, rng_counter++);
	crypto_stream_chacha20(buf, size, nonce, rng_key);
}

static uint32_t rng_random(void)
{
	uint8_t b[4];

	rng_buf(b, sizeof(b));
	return sr_load_u32le(b);
}

static const char *rng_name(void)
{
	return "sealroom-fuzz-fixed";
}

static randombytes_implementation fixed_rng = {
	.implementation_name = rng_name,
	.random = rng_random,
	.buf = rng_buf,
};

/* ---- in-memory mailbox ---------------------------------------------------- */

struct slot {
	uint64_t seq;
	const uint8_t *data;       /* borrowed: the input, or a record below */
	size_t len;
};

struct queue {
	struct slot slot[SLOTS];
	size_t n;
};

struct record {
	uint8_t data[RECORD_MAX];
	size_t len;
};

struct mailbox {
	struct queue to[2];          /* to[PB]: from A to B; to[PA]: from B to A */
	int recording;               /* setup: store what is posted */
	int drained;                 /* a fetch found nothing */
	uint64_t fetched_bytes;      /* by B in this run */
	size_t b_posts;              /* B's posts in this run, its hello excluded */
};

struct port {
	struct mailbox *box;
	int self;                    /* PA or PB */
	struct sr_mailbox_ops ops;
};

static struct sr_identity ids[2];
static struct sr_jobchan_party parties[2];
static uint8_t job_id[32], head[32];
static struct mailbox box;
static struct port ports[2];

/* Setup's records: B's hello, A's hello and A's messages seq 1..n_sent. */
static struct record hello_b, sent[SLOTS];   /* sent[0]: A's hello */
static size_t n_sent;                        /* seqs 1..n_sent */
static const uint8_t *plain[SLOTS];          /* plaintext A sent as seq k */
static size_t plain_len[SLOTS];
static uint32_t plain_channel[SLOTS];
static uint64_t abort_seq;                   /* A's ABORT */
static uint8_t sid_b[SR_JOBCHAN_SID_BYTES];

static const uint8_t msg1[] = "intersection size: 42";
static uint8_t msg3[200];

static void die(const char *what, const struct sr_err *err)
{
	fprintf(stderr, "fuzz_jobchan: %s%s%s\n", what, err ? ": " : "",
		err ? err->msg : "");
	abort();
}

static struct record *record_slot(struct port *pt, uint64_t seq)
{
	if (pt->self == PB)
		return seq == 0 ? &hello_b : NULL;
	return seq < SLOTS ? &sent[seq] : NULL;
}

static int mb_post(void *ctx, const char *to_org, uint64_t seq,
		   const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct port *pt = ctx;
	struct mailbox *b = pt->box;
	struct queue *q = &b->to[!pt->self];
	struct record *r;

	if (strcmp(to_org, parties[!pt->self].org_id) != 0)
		die("a post to someone who is not the peer", NULL);
	if (!b->recording) {
		if (pt->self != PB)
			die("A posted outside setup", NULL);
		if (seq == 0) {
			/* The generator makes B's hello the same in every run. */
			if (len != hello_b.len || memcmp(msg, hello_b.data, len) != 0)
				die("B's hello differs from setup's: randombytes is not deterministic", NULL);
		} else {
			b->b_posts++;
		}
		return SR_OK;
	}
	for (size_t i = 0; i < q->n; i++)
		if (q->slot[i].seq == seq)
			return sr_fail(err, SR_EEXIST, "mailbox: seq %llu already deposited",
				       (unsigned long long)seq);
	r = record_slot(pt, seq);
	if (!r || len > RECORD_MAX || q->n == SLOTS)
		die("setup posted more than the records hold", NULL);
	memcpy(r->data, msg, len);
	r->len = len;
	q->slot[q->n++] = (struct slot){ seq, r->data, len };
	return SR_OK;
}

static int mb_fetch(void *ctx, const char *from_org, uint64_t after,
		    struct sr_buf *msg, uint64_t *seq, int timeout_ms,
		    struct sr_err *err)
{
	struct port *pt = ctx;
	struct mailbox *b = pt->box;
	const struct queue *q = &b->to[pt->self];
	const struct slot *best = NULL;
	int rc;

	(void)timeout_ms;
	if (strcmp(from_org, parties[!pt->self].org_id) != 0)
		die("a fetch from someone who is not the peer", NULL);
	for (size_t i = 0; i < q->n; i++) {
		const struct slot *s = &q->slot[i];
		/* after == UINT64_MAX: none taken yet. */
		if ((after == UINT64_MAX || s->seq > after) &&
		    (!best || s->seq < best->seq))
			best = s;
	}
	if (!best) {
		b->drained = 1;
		return sr_fail(err, SR_ETIMEOUT, "mailbox: nothing from %s", from_org);
	}
	sr_buf_reset(msg);
	rc = sr_buf_add(msg, best->data, best->len);
	if (rc)
		return sr_fail(err, rc, "mailbox: no room for a message of %zu bytes",
			       best->len);
	*seq = best->seq;
	if (!b->recording)
		b->fetched_bytes += best->len;
	return SR_OK;
}

/* Stop waiting once the mailbox has said it is empty: nothing more comes. */
static int drained(void *ctx)
{
	return ((struct mailbox *)ctx)->drained;
}

static void fixed_identity(struct sr_identity *id, unsigned char tag)
{
	unsigned char seed[32];

	memset(seed, tag, sizeof(seed));
	sr_identity_init(id);
	id->sign_sk = sodium_malloc(SR_SIGN_SECRETKEYBYTES);
	id->kx_sk = sodium_malloc(SR_BOX_SECRETKEYBYTES);
	if (!id->sign_sk || !id->kx_sk)
		abort();
	crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
	crypto_box_seed_keypair(id->kx_pk, id->kx_sk, seed);
	sr_identity_org_id(id->org_id, id->sign_pk);
}

static void params_of(struct sr_jobchan_params *p, int self)
{
	memset(p, 0, sizeof(*p));
	p->project = PROJECT;
	p->job_id = job_id;
	p->head = head;
	p->self = &ids[self];
	p->parties = parties;
	p->nparties = 2;
	p->ops = &ports[self].ops;
	p->timeout_ms = TIMEOUT_MS;
	p->should_abort = drained;
	p->abort_ctx = &box;
}

/* A fresh mailbox run: the queue to B holds A's hello (unless replaced)
 * and then the given messages. */
static void box_reset(void)
{
	box.to[PA].n = 0;
	box.to[PB].n = 0;
	box.drained = 0;
	box.fetched_bytes = 0;
	box.b_posts = 0;
}

static void box_add(uint64_t seq, const uint8_t *data, size_t len)
{
	struct queue *q = &box.to[PB];

	q->slot[q->n++] = (struct slot){ seq, data, len };
}

static void cleanup(void)
{
	sr_identity_release(&ids[PA]);
	sr_identity_release(&ids[PB]);
}

static void send_recorded(struct sr_jobchan *a, uint32_t channel,
			  const uint8_t *data, size_t len)
{
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_jobchan_send(a, parties[PB].org_id, channel, data, len, &err) != SR_OK)
		die("A's send", &err);
	n_sent++;
	plain[n_sent] = data;
	plain_len[n_sent] = len;
	plain_channel[n_sent] = channel;
}

static void seeds(const char *dir);

static void setup(void)
{
	struct sr_jobchan_params p;
	struct sr_jobchan *a = NULL, *b = NULL;
	struct sr_buf got;
	struct sr_err err;
	int rc;

	if (randombytes_set_implementation(&fixed_rng) != 0 ||
	    sr_crypto_init() != SR_OK ||
	    strcmp(randombytes_implementation_name(), rng_name()) != 0)
		die("cannot install the deterministic randombytes", NULL);
	fixed_identity(&ids[PA], TAG_A);
	fixed_identity(&ids[PB], TAG_B);
	atexit(cleanup);
	for (int i = 0; i < 2; i++) {
		memcpy(parties[i].org_id, ids[i].org_id, sizeof(parties[i].org_id));
		memcpy(parties[i].sign_pk, ids[i].sign_pk, sizeof(parties[i].sign_pk));
		ports[i] = (struct port){ &box, i,
			{ &ports[i], mb_post, mb_fetch, NULL, NULL, NULL } };
	}
	memset(job_id, 0x11, sizeof(job_id));
	memset(head, 0x22, sizeof(head));
	for (size_t i = 0; i < sizeof(msg3); i++)
		msg3[i] = (uint8_t)(i * 7 + 3);

	/* B's hello: B posts it, then finds nothing and stops. */
	box.recording = 1;
	sr_err_clear(&err);
	rng_reset(TAG_B);
	params_of(&p, PB);
	rc = sr_jobchan_open(&p, &b, &err);
	if (rc != SR_EPERM || b || hello_b.len == 0)
		die("recording B's hello", &err);
	/* A opens against it and sends what the seeds carry. */
	box.drained = 0;
	sr_err_clear(&err);
	rng_reset(TAG_A);
	params_of(&p, PA);
	if (sr_jobchan_open(&p, &a, &err) != SR_OK)
		die("A's open", &err);
	send_recorded(a, 1, msg1, sizeof(msg1) - 1);
	send_recorded(a, 1, NULL, 0);
	send_recorded(a, 2, msg3, sizeof(msg3));
	sr_jobchan_abort(a, ABORT_REASON);
	abort_seq = n_sent + 1;
	if (sent[abort_seq].len == 0)
		die("A's abort was not posted", NULL);
	sr_jobchan_free(a);
	box.recording = 0;

	/* Self-test: an honest run must deliver everything. */
	box_reset();
	for (uint64_t k = 0; k <= abort_seq; k++)
		box_add(k, sent[k].data, sent[k].len);
	rng_reset(TAG_B);
	params_of(&p, PB);
	sr_err_clear(&err);
	if (sr_jobchan_open(&p, &b, &err) != SR_OK)
		die("B's open in the honest run", &err);
	sr_jobchan_session_id(b, sid_b);
	sr_buf_init(&got, SR_FRAME_MAX);
	for (uint64_t k = 1; k <= n_sent; k++) {
		sr_err_clear(&err);
		if (sr_jobchan_recv(b, parties[PA].org_id, plain_channel[k], &got,
				    SR_FRAME_MAX, &err) != SR_OK ||
		    got.len != plain_len[k] ||
		    (got.len && memcmp(got.data, plain[k], got.len) != 0))
			die("the honest run did not deliver A's message", &err);
	}
	sr_err_clear(&err);
	if (sr_jobchan_recv(b, parties[PA].org_id, 0, &got, SR_FRAME_MAX, &err) !=
	    SR_EPROTO || !strstr(err.msg, ABORT_REASON))
		die("the honest run did not deliver A's abort", &err);
	sr_buf_release(&got);
	sr_jobchan_free(b);
	if (getenv("SR_FUZZ_JOBCHAN_SEEDS"))
		seeds(getenv("SR_FUZZ_JOBCHAN_SEEDS"));
}

/* ---- seeds ------------------------------------------------------------------- */

/*
 * With SR_FUZZ_JOBCHAN_SEEDS=DIR, write the seed corpus from this build's
 * own messages (so a change of the wire format, such as a new version,
 * keeps the seeds real): A's hello sent[0], data sent[1..3], ABORT
 * sent[4], and B's hello, as the scenarios their names say.
 */
struct seed_msg {
	const uint8_t *data;
	size_t len;
};

static void seed_write(const char *dir, const char *name, int first, int channel_sel,
		       int small, int cap, const struct seed_msg *m, size_t n)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	f = fopen(path, "wb");
	if (!f)
		die("cannot write a seed", NULL);
	fputc(first | (int)(n - 1) << 1 | channel_sel << 3 | small << 5 | cap << 6, f);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n) {
			fputc((int)(m[i].len & 0xff), f);
			fputc((int)(m[i].len >> 8), f);
		}
		if (m[i].len)
			fwrite(m[i].data, 1, m[i].len, f);
	}
	fclose(f);
}

static void seeds(const char *dir)
{
	static uint8_t big[RECORD_MAX], over[RECORD_MAX], flipped[RECORD_MAX];
	const struct seed_msg h = { sent[0].data, sent[0].len }, d1 = { sent[1].data, sent[1].len },
		d2 = { sent[2].data, sent[2].len }, d3 = { sent[3].data, sent[3].len },
		ab = { sent[abort_seq].data, sent[abort_seq].len },
		hb = { hello_b.data, hello_b.len }, empty = { (const uint8_t *)"", 0 },
		trunc = { sent[0].data, sent[0].len - 1 };
	struct seed_msg m[4];

	memcpy(big, d1.data, d1.len);
	sr_store_u32le(big + 20, 16777216);        /* total_len: SR_FRAME_MAX */
	memcpy(over, d1.data, d1.len);
	sr_store_u32le(over + 20, 100000);         /* more than a 4 KiB buffer */
	memcpy(flipped, d1.data, d1.len);
	flipped[d1.len - 1] ^= 1;
#define SEED(name, first, ch, small, cap, ...) do { \
		const struct seed_msg list_[] = { __VA_ARGS__ }; \
		memcpy(m, list_, sizeof(list_)); \
		seed_write(dir, name, first, ch, small, cap, m, sizeof(list_) / sizeof(*list_)); \
	} while (0)
	SEED("data-abort-early", 0, 0, 0, 0, d1, d2, ab);
	SEED("data-big-total", 0, 0, 0, 0, { big, d1.len });
	SEED("data-drop", 0, 0, 0, 0, d1, d3);
	SEED("data-empty", 0, 0, 0, 0, empty);
	SEED("data-flipped", 0, 0, 0, 0, { flipped, d1.len });
	SEED("data-hello-replayed", 0, 0, 0, 0, h);
	SEED("data-honest-all", 0, 0, 0, 0, d1, d2, d3, ab);
	SEED("data-honest-one", 0, 0, 0, 0, d1);
	SEED("data-over-buffer", 0, 0, 0, 1, { over, d1.len });
	SEED("data-over-max-len", 0, 0, 1, 0, d1);
	SEED("data-reorder", 0, 0, 0, 0, d2, d1);
	SEED("data-replay", 0, 0, 0, 0, d1, d1);
	SEED("data-wrong-channel", 0, 2, 0, 0, d1);
	SEED("hello-data-instead", 1, 0, 0, 0, d1);
	SEED("hello-honest", 1, 0, 0, 0, h, d1, d2, d3);
	SEED("hello-only", 1, 0, 0, 0, h);
	SEED("hello-reflected", 1, 0, 0, 0, hb);
	SEED("hello-truncated", 1, 0, 0, 0, trunc);
#undef SEED
}

/* ---- one run -------------------------------------------------------------- */

static void bad(const char *what, int rc, const struct sr_err *err)
{
	fprintf(stderr, "fuzz_jobchan: %s (status %d: %s)\n", what, rc,
		err->msg[0] ? err->msg : "(no message)");
	abort();
}

static void check_failure(const char *what, int rc, const struct sr_err *err)
{
	if (rc >= 0 || err->code != rc || !err->msg[0])
		bad(what, rc, err);
}

static uint16_t take_u16(const uint8_t **p, size_t *left)
{
	uint16_t v = 0;

	if (*left >= 2) {
		v = (uint16_t)((*p)[0] | (*p)[1] << 8);
		*p += 2;
		*left -= 2;
	} else {
		*p += *left;
		*left = 0;
	}
	return v;
}

/* After a failure: recv and send fail, say so, and post nothing. */
static void check_broken(struct sr_jobchan *b, struct sr_buf *got)
{
	static const char broken[] = "job channel: broken by an earlier error: ";
	size_t posts = box.b_posts;
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	rc = sr_jobchan_recv(b, parties[PA].org_id, 1, got, SR_FRAME_MAX, &err);
	check_failure("a recv after a failure", rc, &err);
	if (got->len || strncmp(err.msg, broken, sizeof(broken) - 1) != 0)
		bad("a recv after a failure does not say the channel is broken", rc, &err);
	sr_err_clear(&err);
	rc = sr_jobchan_send(b, parties[PA].org_id, 1, msg1, 4, &err);
	check_failure("a send after a failure", rc, &err);
	if (box.b_posts != posts || strncmp(err.msg, broken, sizeof(broken) - 1) != 0)
		bad("a send after a failure posted or does not say the channel is broken",
		    rc, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t channels[4] = { 0, 1, 2, 7 };
	static int ready;
	const uint8_t *msgs[MSGS_MAX], *p;
	size_t lens[MSGS_MAX], nmsgs, left, first_data, max_len, buf_max;
	struct sr_jobchan_params params;
	struct sr_jobchan *b = NULL;
	uint8_t sid[SR_JOBCHAN_SID_BYTES];
	struct sr_buf got;
	struct sr_err err;
	uint64_t sent_bytes, received_bytes, k;
	int hello_mode, channel_choice, rc;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	hello_mode = data[0] & 1;
	nmsgs = 1 + ((data[0] >> 1) & 3);
	channel_choice = (data[0] >> 3) & 3;
	max_len = (data[0] & 0x20) ? SMALL_MAX_LEN : SR_FRAME_MAX;
	buf_max = (data[0] & 0x40) ? SMALL_BUF_MAX : SR_FRAME_MAX;
	p = data + 1;
	left = size - 1;
	for (size_t i = 0; i < nmsgs; i++) {
		size_t len = left;
		if (i + 1 < nmsgs) {
			len = take_u16(&p, &left);
			if (len > left)
				len = left;
		}
		msgs[i] = p;
		lens[i] = len;
		p += len;
		left -= len;
	}

	box_reset();
	if (!hello_mode)
		box_add(0, sent[0].data, sent[0].len);
	for (size_t i = 0; i < nmsgs; i++)
		box_add(hello_mode ? i : i + 1, msgs[i], lens[i]);
	first_data = hello_mode ? 1 : 0;

	rng_reset(TAG_B);
	params_of(&params, PB);
	sr_err_clear(&err);
	rc = sr_jobchan_open(&params, &b, &err);
	if (rc != SR_OK) {
		check_failure("open", rc, &err);
		if (b)
			bad("a failed open returned a channel", rc, &err);
		if (!hello_mode)
			bad("open failed with A's real hello", rc, &err);
		if (rc == SR_EPERM && !box.drained)
			bad("open stopped waiting while a message was there", rc, &err);
		return 0;
	}
	if (hello_mode && (lens[0] != sent[0].len ||
			   memcmp(msgs[0], sent[0].data, lens[0]) != 0))
		bad("open accepted a hello A did not send", rc, &err);
	sr_jobchan_session_id(b, sid);
	if (memcmp(sid, sid_b, sizeof(sid)) != 0)
		bad("the session id differs from the honest run's", rc, &err);

	sr_buf_init(&got, buf_max);
	/* One recv per data message, and one more into the empty mailbox. */
	for (k = 1; k <= nmsgs - first_data + 1; k++) {
		uint32_t channel = channels[channel_choice];
		int known = k <= n_sent;

		if (channel_choice == 0)
			channel = known ? plain_channel[k] : 1;
		sr_err_clear(&err);
		rc = sr_jobchan_recv(b, parties[PA].org_id, channel, &got, max_len, &err);
		if (rc == SR_OK) {
			if (!known || channel != plain_channel[k] ||
			    got.len != plain_len[k] ||
			    (got.len && memcmp(got.data, plain[k], got.len) != 0))
				bad("recv accepted a message A did not send", rc, &err);
			continue;
		}
		check_failure("recv", rc, &err);
		if (got.len)
			bad("a failed recv left bytes in msg", rc, &err);
		if (rc == SR_EPERM && !box.drained)
			bad("recv stopped waiting while a message was there", rc, &err);
		if (strstr(err.msg, " aborted the job channel: ") &&
		    (k != abort_seq || !strstr(err.msg, ABORT_REASON)))
			bad("recv reported an abort A did not send", rc, &err);
		check_broken(b, &got);
		break;
	}
	if (k > nmsgs - first_data + 1)
		bad("a recv from an empty mailbox succeeded", SR_OK, &err);
	sr_jobchan_bytes(b, &sent_bytes, &received_bytes);
	if (received_bytes != box.fetched_bytes || sent_bytes != hello_b.len)
		bad("the byte counts are not what went through the mailbox", SR_OK, &err);
	sr_buf_release(&got);
	sr_jobchan_free(b);
	return 0;
}
