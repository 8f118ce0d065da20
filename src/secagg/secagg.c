/*
 * secagg.c - secure aggregation by pairwise masks (docs/protocols/secagg.md):
 * the masks (seed derivation, keystream, add/subtract) and the run
 * (HELLO exchange, DATA stream to the aggregator, DONE back).
 */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "crypto/crypto.h"
#include "secagg/secagg.h"
#include "base/banned.h"

#define MSG_HELLO 1
#define MSG_DATA 2
#define MSG_DONE 3
#define HELLO_BYTES 96
#define DATA_HEAD_BYTES 24
#define DONE_BYTES 48
#define SEED_BYTES crypto_stream_xchacha20_KEYBYTES
#define NONCE_BYTES crypto_stream_xchacha20_NONCEBYTES
/* Entries masked per keystream call: 32 KiB of keystream stays in cache
 * while it is added to the values. */
#define MASK_BLOCK 4096
#define STREAM_BYTES (MASK_BLOCK * 8 + 64)

#define DOMAIN_RUN "sealroom.secagg.run.v1"
#define DOMAIN_SEED "sealroom.secagg.seed.v1"
#define DOMAIN_NONCE "sealroom.secagg.nonce.v1"

_Static_assert(SEED_BYTES == 32 && NONCE_BYTES == 24, "xchacha20 sizes");
_Static_assert(SR_SECAGG_KEY_BYTES == 32 &&
	       crypto_scalarmult_curve25519_SCALARBYTES == 32, "x25519 sizes");
_Static_assert(HELLO_BYTES == 1 + 1 + 2 + 5 * 4 + 8 + SR_HASH_BYTES +
	       SR_SECAGG_KEY_BYTES, "hello layout");
_Static_assert(DONE_BYTES == 1 + 1 + 2 + 4 + 8 + SR_HASH_BYTES, "done layout");
_Static_assert(SR_SECAGG_CHUNK_DEFAULT <= SR_SECAGG_CHUNK_MAX, "default chunk");

/* The keystream is xored into zeros: its own bytes are the masks. */
static const uint8_t zeros[STREAM_BYTES];

struct sr_secagg_masker {
	uint32_t parties, self;
	uint64_t length;
	uint8_t *seeds;                   /* sodium_malloc: parties * SEED_BYTES */
	uint8_t *stream;                  /* sodium_malloc: STREAM_BYTES */
	uint8_t (*nonces)[NONCE_BYTES];   /* one per peer, not secret */
};

void sr_secagg_params_init(struct sr_secagg_params *p)
{
	memset(p, 0, sizeof(*p));
	p->chunk = SR_SECAGG_CHUNK_DEFAULT;
}

int sr_secagg_params_check(const struct sr_secagg_params *p, struct sr_err *err)
{
	if (!p->run_id || p->run_id_len == 0 || p->run_id_len > SR_SECAGG_RUN_ID_MAX)
		return sr_fail(err, SR_EINVAL,
			       "secagg: run id of %zu bytes, expected 1 to %d",
			       p->run_id ? p->run_id_len : 0, SR_SECAGG_RUN_ID_MAX);
	if (p->parties < 2 || p->parties > SR_SECAGG_PARTIES_MAX)
		return sr_fail(err, SR_EINVAL,
			       "secagg: %u parties, expected 2 to %d", p->parties,
			       SR_SECAGG_PARTIES_MAX);
	if (p->self >= p->parties)
		return sr_fail(err, SR_EINVAL,
			       "secagg: self is party %u of %u", p->self, p->parties);
	if (p->aggregator >= p->parties)
		return sr_fail(err, SR_EINVAL,
			       "secagg: aggregator is party %u of %u",
			       p->aggregator, p->parties);
	if (p->length == 0 || p->length > SR_SECAGG_LENGTH_MAX)
		return sr_fail(err, SR_EINVAL,
			       "secagg: vector length %llu, expected 1 to 2^32",
			       (unsigned long long)p->length);
	if (p->chunk > SR_SECAGG_CHUNK_MAX)
		return sr_fail(err, SR_EINVAL,
			       "secagg: chunk of %u entries, over the limit of %u",
			       p->chunk, SR_SECAGG_CHUNK_MAX);
	return SR_OK;
}

/* BLAKE2b over the version, the parameters every party must share and
 * the run id: the seeds depend on it and the hellos compare it. */
static void run_digest(const struct sr_secagg_params *p,
		       uint8_t out[SR_HASH_BYTES])
{
	struct sr_hasher h;
	uint8_t fixed[24];

	sr_store_u32le(fixed, SR_SECAGG_VERSION);
	sr_store_u32le(fixed + 4, p->parties);
	sr_store_u32le(fixed + 8, p->aggregator);
	sr_store_u64le(fixed + 12, p->length);
	sr_store_u32le(fixed + 20, (uint32_t)p->run_id_len);
	sr_hasher_init(&h, DOMAIN_RUN);
	sr_hasher_update(&h, fixed, sizeof(fixed));
	sr_hasher_update(&h, p->run_id, p->run_id_len);
	sr_hasher_final(&h, out);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- masks -------------------------------------------------------------- */

void sr_secagg_keypair(uint8_t pk[SR_SECAGG_KEY_BYTES],
		       uint8_t sk[SR_SECAGG_KEY_BYTES])
{
	randombytes_buf(sk, SR_SECAGG_KEY_BYTES);
	if (crypto_scalarmult_curve25519_base(pk, sk) != 0)
		SR_BUG("secagg: X25519 base multiplication failed");
}

void sr_secagg_masker_free(struct sr_secagg_masker *m)
{
	if (!m)
		return;
	if (m->seeds)
		sodium_free(m->seeds);   /* sodium_free wipes */
	if (m->stream)
		sodium_free(m->stream);
	sr_free(m->nonces);
	sr_free(m);
}

int sr_secagg_masker_new(const struct sr_secagg_params *p,
			 const uint8_t sk[SR_SECAGG_KEY_BYTES],
			 const uint8_t (*pks)[SR_SECAGG_KEY_BYTES],
			 struct sr_secagg_masker **out, struct sr_err *err)
{
	struct sr_secagg_masker *m = NULL;
	uint8_t digest[SR_HASH_BYTES], shared[crypto_scalarmult_curve25519_BYTES];
	uint8_t pair[12], hash[SR_HASH_BYTES];
	struct sr_hasher h;
	int rc;

	*out = NULL;
	rc = sr_secagg_params_check(p, err);
	if (rc != SR_OK)
		return rc;
	m = sr_calloc(1, sizeof(*m));
	if (!m)
		return sr_fail(err, SR_ENOMEM, "secagg: out of memory for the masker");
	m->parties = p->parties;
	m->self = p->self;
	m->length = p->length;
	m->seeds = sodium_malloc((size_t)p->parties * SEED_BYTES);
	m->stream = sodium_malloc(STREAM_BYTES);
	m->nonces = sr_calloc(p->parties, sizeof(*m->nonces));
	if (!m->seeds || !m->stream || !m->nonces) {
		rc = sr_fail(err, SR_ENOMEM, "secagg: out of memory for the masker");
		goto out;
	}
	sodium_memzero(m->seeds, (size_t)p->parties * SEED_BYTES);
	run_digest(p, digest);
	for (uint32_t j = 0; j < p->parties; j++) {
		uint32_t lo = j < p->self ? j : p->self;
		uint32_t hi = j < p->self ? p->self : j;

		if (j == p->self)
			continue;
		if (crypto_scalarmult_curve25519(shared, sk, pks[j]) != 0) {
			rc = sr_fail(err, SR_ECRYPTO,
				     "secagg: party %u: public key gives a degenerate X25519 agreement",
				     j);
			goto out;
		}
		sr_store_u32le(pair, lo);
		sr_store_u32le(pair + 4, hi);
		sr_store_u32le(pair + 8, 0);   /* vector 0: one vector per run */
		/* seed = H(run, pair, both public keys in index order, shared) */
		sr_hasher_init(&h, DOMAIN_SEED);
		sr_hasher_update(&h, digest, sizeof(digest));
		sr_hasher_update(&h, pair, 8);
		sr_hasher_update(&h, pks[lo], SR_SECAGG_KEY_BYTES);
		sr_hasher_update(&h, pks[hi], SR_SECAGG_KEY_BYTES);
		sr_hasher_update(&h, shared, sizeof(shared));
		sr_hasher_final(&h, m->seeds + (size_t)j * SEED_BYTES);
		sodium_memzero(&h, sizeof(h));
		/* nonce = H(run, pair, vector), a second separation per stream */
		sr_hasher_init(&h, DOMAIN_NONCE);
		sr_hasher_update(&h, digest, sizeof(digest));
		sr_hasher_update(&h, pair, sizeof(pair));
		sr_hasher_final(&h, hash);
		memcpy(m->nonces[j], hash, NONCE_BYTES);
	}
	*out = m;
	m = NULL;
out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(&h, sizeof(h));
	sr_secagg_masker_free(m);
	return rc;
}

/*
 * dst[e] +/-= little-endian word e of src, for dst and src that never
 * overlap.  On little-endian hosts the words are added four at a time
 * with GCC vector types (SIMD adds at -O2, where loops are not
 * auto-vectorized); elsewhere word by word.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
typedef uint64_t words4 __attribute__((vector_size(32)));
#define WORDS_SIMD 1
#else
#define WORDS_SIMD 0
#endif

static void add_words(uint64_t *dst, const uint8_t *src, size_t n)
{
	size_t e = 0;

#if WORDS_SIMD
	for (; e + 4 <= n; e += 4) {
		words4 a, b;

		memcpy(&a, dst + e, sizeof(a));
		memcpy(&b, src + 8 * e, sizeof(b));
		a += b;
		memcpy(dst + e, &a, sizeof(a));
	}
#endif
	for (; e < n; e++)
		dst[e] += sr_load_u64le(src + 8 * e);
}

static void sub_words(uint64_t *dst, const uint8_t *src, size_t n)
{
	size_t e = 0;

#if WORDS_SIMD
	for (; e + 4 <= n; e += 4) {
		words4 a, b;

		memcpy(&a, dst + e, sizeof(a));
		memcpy(&b, src + 8 * e, sizeof(b));
		a -= b;
		memcpy(dst + e, &a, sizeof(a));
	}
#endif
	for (; e < n; e++)
		dst[e] -= sr_load_u64le(src + 8 * e);
}

int sr_secagg_masker_apply(struct sr_secagg_masker *m, uint64_t offset,
			   uint64_t *values, size_t count, struct sr_err *err)
{
	if (offset > m->length || count > m->length - offset)
		return sr_fail(err, SR_EINVAL,
			       "secagg: mask of entries %llu..%llu past the length %llu",
			       (unsigned long long)offset,
			       (unsigned long long)(offset + count),
			       (unsigned long long)m->length);
	while (count > 0) {
		size_t n = count < MASK_BLOCK ? count : MASK_BLOCK;
		uint64_t byte_offset = offset * 8;
		uint64_t block = byte_offset / 64;
		size_t skip = (size_t)(byte_offset % 64), len = skip + n * 8;

		for (uint32_t j = 0; j < m->parties; j++) {
			const uint8_t *ks = m->stream + skip;

			if (j == m->self)
				continue;
			crypto_stream_xchacha20_xor_ic(m->stream, zeros, len,
						       m->nonces[j], block,
						       m->seeds + (size_t)j * SEED_BYTES);
			if (j > m->self)
				add_words(values, ks, n);
			else
				sub_words(values, ks, n);
		}
		values += n;
		offset += n;
		count -= n;
	}
	sodium_memzero(m->stream, STREAM_BYTES);
	return SR_OK;
}

/* ---- messages ----------------------------------------------------------- */

struct run {
	const struct sr_secagg_params *p;
	const struct sr_pipe *pipes;
	uint32_t chunk;
	uint8_t digest[SR_HASH_BYTES];
	struct sr_secagg_stats st;
	struct sr_buf msg;
};

static int send_to(struct run *r, uint32_t to, const uint8_t *msg, size_t len,
		   struct sr_err *err)
{
	const struct sr_pipe *io = &r->pipes[to];
	int rc = io->send(io->ctx, msg, len, err);

	if (rc != SR_OK) {
		sr_fail(err, rc, "send failed");
		return sr_err_prefix(err, "secagg: party %u", to);
	}
	r->st.bytes_sent += len;
	r->st.messages_sent++;
	return SR_OK;
}

static int recv_from(struct run *r, uint32_t from, size_t max_len,
		     struct sr_err *err)
{
	const struct sr_pipe *io = &r->pipes[from];
	int rc = io->recv(io->ctx, &r->msg, max_len, err);

	if (rc != SR_OK) {
		sr_fail(err, rc, "receive failed");
		return sr_err_prefix(err, "secagg: party %u", from);
	}
	r->st.bytes_received += r->msg.len;
	r->st.messages_received++;
	return SR_OK;
}

/* type, version and reserved u16 of any message; exact length. */
static int check_head(const struct sr_buf *msg, int type, size_t len,
		      const char *what, uint32_t from, struct sr_err *err)
{
	const uint8_t *b = (const uint8_t *)msg->data;

	if (msg->len < 1 || b[0] != type)
		return sr_fail(err, SR_EPROTO,
			       "secagg: party %u: expected a %s message, got type %d",
			       from, what, msg->len ? b[0] : -1);
	if (msg->len != len)
		return sr_fail(err, SR_EPROTO,
			       "secagg: party %u: %s message is %zu bytes, expected %zu",
			       from, what, msg->len, len);
	if (b[1] != SR_SECAGG_VERSION)
		return sr_fail(err, SR_EPROTO,
			       "secagg: party %u: %s message of version %d, expected %d",
			       from, what, b[1], SR_SECAGG_VERSION);
	if (b[2] || b[3])
		return sr_fail(err, SR_EPROTO,
			       "secagg: party %u: %s message has non-zero reserved bytes",
			       from, what);
	return SR_OK;
}

static void hello_encode(const struct run *r, uint32_t to,
			 const uint8_t pk[SR_SECAGG_KEY_BYTES],
			 uint8_t out[HELLO_BYTES])
{
	memset(out, 0, HELLO_BYTES);
	out[0] = MSG_HELLO;
	out[1] = SR_SECAGG_VERSION;
	sr_store_u32le(out + 4, r->p->parties);
	sr_store_u32le(out + 8, r->p->self);
	sr_store_u32le(out + 12, to);
	sr_store_u32le(out + 16, r->p->aggregator);
	sr_store_u32le(out + 20, r->chunk);
	sr_store_u64le(out + 24, r->p->length);
	memcpy(out + 32, r->digest, SR_HASH_BYTES);
	memcpy(out + 64, pk, SR_SECAGG_KEY_BYTES);
}

/* A field of the peer's hello against this party's value. */
static int hello_field(uint32_t from, const char *name, uint64_t got,
		       uint64_t want, struct sr_err *err)
{
	if (got == want)
		return SR_OK;
	return sr_fail(err, SR_EPROTO,
		       "secagg: party %u: hello has %s %llu, this party has %llu",
		       from, name, (unsigned long long)got,
		       (unsigned long long)want);
}

static int hello_check(struct run *r, uint32_t from,
		       uint8_t pk_out[SR_SECAGG_KEY_BYTES], struct sr_err *err)
{
	const uint8_t *b = (const uint8_t *)r->msg.data;
	int rc;

	rc = check_head(&r->msg, MSG_HELLO, HELLO_BYTES, "hello", from, err);
	if (rc == SR_OK)
		rc = hello_field(from, "parties", sr_load_u32le(b + 4), r->p->parties, err);
	if (rc == SR_OK)
		rc = hello_field(from, "sender index", sr_load_u32le(b + 8), from, err);
	if (rc == SR_OK)
		rc = hello_field(from, "recipient index", sr_load_u32le(b + 12), r->p->self, err);
	if (rc == SR_OK)
		rc = hello_field(from, "aggregator", sr_load_u32le(b + 16), r->p->aggregator, err);
	if (rc == SR_OK)
		rc = hello_field(from, "chunk", sr_load_u32le(b + 20), r->chunk, err);
	if (rc == SR_OK)
		rc = hello_field(from, "length", sr_load_u64le(b + 24), r->p->length, err);
	if (rc != SR_OK)
		return rc;
	if (sodium_memcmp(b + 32, r->digest, SR_HASH_BYTES) != 0)
		return sr_fail(err, SR_EPROTO,
			       "secagg: party %u: hello is for another run (run id or version differs)",
			       from);
	memcpy(pk_out, b + 64, SR_SECAGG_KEY_BYTES);
	return SR_OK;
}

/*
 * Every pair swaps hellos, the lower index sending first, and each party
 * takes its peers in increasing order: the pairs are then handled in one
 * global order, so even a transport that holds no message cannot
 * deadlock.
 */
static int exchange_hellos(struct run *r, const uint8_t pk[SR_SECAGG_KEY_BYTES],
			   uint8_t (*pks)[SR_SECAGG_KEY_BYTES],
			   struct sr_err *err)
{
	uint8_t hello[HELLO_BYTES];
	int rc;

	for (uint32_t j = 0; j < r->p->parties; j++) {
		if (j == r->p->self)
			continue;
		hello_encode(r, j, pk, hello);
		if (j < r->p->self) {
			rc = recv_from(r, j, HELLO_BYTES, err);
			if (rc == SR_OK)
				rc = hello_check(r, j, pks[j], err);
			if (rc == SR_OK)
				rc = send_to(r, j, hello, sizeof(hello), err);
		} else {
			rc = send_to(r, j, hello, sizeof(hello), err);
			if (rc == SR_OK)
				rc = recv_from(r, j, HELLO_BYTES, err);
			if (rc == SR_OK)
				rc = hello_check(r, j, pks[j], err);
		}
		if (rc != SR_OK)
			return rc;
	}
	return SR_OK;
}

static int mask_timed(struct run *r, struct sr_secagg_masker *m, uint64_t off,
		      uint64_t *work, size_t n, struct sr_err *err)
{
	double t0 = now_ns();
	int rc = sr_secagg_masker_apply(m, off, work, n, err);

	r->st.mask_ns += (uint64_t)(now_ns() - t0);
	return rc;
}

/* A contributor: stream the masked vector to the aggregator, then wait
 * for its DONE. */
static int contribute(struct run *r, struct sr_secagg_masker *m,
		      const uint64_t *input, uint64_t *work, uint8_t *out,
		      struct sr_err *err)
{
	const struct sr_secagg_params *p = r->p;
	const uint8_t *b;
	int rc;

	for (uint64_t off = 0; off < p->length;) {
		size_t n = (size_t)(p->length - off < r->chunk ? p->length - off : r->chunk);

		memcpy(work, input + off, n * sizeof(*work));
		rc = mask_timed(r, m, off, work, n, err);
		if (rc != SR_OK)
			return rc;
		memset(out, 0, DATA_HEAD_BYTES);
		out[0] = MSG_DATA;
		out[1] = SR_SECAGG_VERSION;
		sr_store_u32le(out + 4, p->self);
		sr_store_u64le(out + 8, off);
		sr_store_u32le(out + 16, (uint32_t)n);
#if WORDS_SIMD
		memcpy(out + DATA_HEAD_BYTES, work, n * sizeof(*work));
#else
		for (size_t e = 0; e < n; e++)
			sr_store_u64le(out + DATA_HEAD_BYTES + 8 * e, work[e]);
#endif
		rc = send_to(r, p->aggregator, out, DATA_HEAD_BYTES + 8 * n, err);
		if (rc != SR_OK)
			return rc;
		off += n;
	}
	rc = recv_from(r, p->aggregator, DONE_BYTES, err);
	if (rc == SR_OK)
		rc = check_head(&r->msg, MSG_DONE, DONE_BYTES, "done",
				p->aggregator, err);
	if (rc != SR_OK)
		return rc;
	b = (const uint8_t *)r->msg.data;
	if (sr_load_u32le(b + 4) != p->self || sr_load_u64le(b + 8) != p->length ||
	    sodium_memcmp(b + 16, r->digest, SR_HASH_BYTES) != 0)
		return sr_fail(err, SR_EPROTO,
			       "secagg: party %u: done message is for another party or run",
			       p->aggregator);
	return SR_OK;
}

/* The aggregator: per chunk, its own masked entries plus every other
 * party's, then DONE to all. */
static int aggregate(struct run *r, struct sr_secagg_masker *m,
		     const uint64_t *input, uint64_t *sum, uint64_t *work,
		     struct sr_err *err)
{
	const struct sr_secagg_params *p = r->p;
	uint8_t done[DONE_BYTES];
	int rc;

	for (uint64_t off = 0; off < p->length;) {
		size_t n = (size_t)(p->length - off < r->chunk ? p->length - off : r->chunk);

		memcpy(work, input + off, n * sizeof(*work));
		rc = mask_timed(r, m, off, work, n, err);
		if (rc != SR_OK)
			return rc;
		for (uint32_t q = 0; q < p->parties; q++) {
			const uint8_t *b;

			if (q == p->self)
				continue;
			rc = recv_from(r, q, DATA_HEAD_BYTES + 8 * (size_t)r->chunk, err);
			if (rc == SR_OK)
				rc = check_head(&r->msg, MSG_DATA, DATA_HEAD_BYTES + 8 * n,
						"data", q, err);
			if (rc != SR_OK)
				return rc;
			b = (const uint8_t *)r->msg.data;
			if (sr_load_u32le(b + 4) != q || sr_load_u64le(b + 8) != off ||
			    sr_load_u32le(b + 16) != n || sr_load_u32le(b + 20) != 0)
				return sr_fail(err, SR_EPROTO,
					       "secagg: party %u: data message for party %u, entries %llu+%u, expected entries %llu+%zu",
					       q, sr_load_u32le(b + 4),
					       (unsigned long long)sr_load_u64le(b + 8),
					       sr_load_u32le(b + 16),
					       (unsigned long long)off, n);
			add_words(work, b + DATA_HEAD_BYTES, n);
		}
		memcpy(sum + off, work, n * sizeof(*work));
		off += n;
	}
	for (uint32_t q = 0; q < p->parties; q++) {
		if (q == p->self)
			continue;
		memset(done, 0, sizeof(done));
		done[0] = MSG_DONE;
		done[1] = SR_SECAGG_VERSION;
		sr_store_u32le(done + 4, q);
		sr_store_u64le(done + 8, p->length);
		memcpy(done + 16, r->digest, SR_HASH_BYTES);
		rc = send_to(r, q, done, sizeof(done), err);
		if (rc != SR_OK)
			return rc;
	}
	return SR_OK;
}

int sr_secagg_run(const struct sr_secagg_params *p, const struct sr_pipe *pipes,
		  const uint64_t *input, uint64_t *sum,
		  struct sr_secagg_stats *stats, struct sr_err *err)
{
	struct run r;
	struct sr_secagg_masker *m = NULL;
	uint8_t pk[SR_SECAGG_KEY_BYTES], sk[SR_SECAGG_KEY_BYTES];
	uint8_t (*pks)[SR_SECAGG_KEY_BYTES] = NULL;
	uint64_t *work = NULL;
	uint8_t *out = NULL;
	size_t chunk_entries = 0;
	int is_aggregator = 0, rc;

	memset(&r, 0, sizeof(r));
	sr_buf_init(&r.msg, SR_BUF_UNBOUNDED);   /* each recv passes its cap */
	sodium_memzero(sk, sizeof(sk));
	rc = sr_secagg_params_check(p, err);
	if (rc != SR_OK)
		goto out;
	is_aggregator = p->self == p->aggregator;
	if (!pipes || !input || (is_aggregator && !sum)) {
		rc = sr_fail(err, SR_EINVAL,
			     "secagg: missing %s", !pipes ? "pipes" :
			     !input ? "input vector" : "output vector at the aggregator");
		goto out;
	}
	r.p = p;
	r.pipes = pipes;
	r.chunk = p->chunk ? p->chunk : SR_SECAGG_CHUNK_DEFAULT;
	run_digest(p, r.digest);
	chunk_entries = (size_t)(p->length < r.chunk ? p->length : r.chunk);
	pks = sr_calloc(p->parties, sizeof(*pks));
	work = sr_malloc(chunk_entries * sizeof(*work));
	if (!is_aggregator)
		out = sr_malloc(DATA_HEAD_BYTES + 8 * chunk_entries);
	if (!pks || !work || (!is_aggregator && !out)) {
		rc = sr_fail(err, SR_ENOMEM, "secagg: out of memory");
		goto out;
	}
	sr_secagg_keypair(pk, sk);
	memcpy(pks[p->self], pk, sizeof(pk));
	rc = exchange_hellos(&r, pk, pks, err);
	if (rc == SR_OK)
		rc = sr_secagg_masker_new(p, sk, (const uint8_t (*)[SR_SECAGG_KEY_BYTES])pks,
					  &m, err);
	sodium_memzero(sk, sizeof(sk));
	if (rc != SR_OK)
		goto out;
	if (is_aggregator)
		rc = aggregate(&r, m, input, sum, work, err);
	else
		rc = contribute(&r, m, input, work, out, err);
out:
	/* nothing partial leaves: earlier chunks may hold finished sums */
	if (rc != SR_OK && r.p && is_aggregator)
		sodium_memzero(sum, (size_t)p->length * sizeof(*sum));
	sodium_memzero(sk, sizeof(sk));
	if (work)
		sodium_memzero(work, chunk_entries * sizeof(*work));
	sr_free(work);
	if (out)
		sodium_memzero(out, DATA_HEAD_BYTES + 8 * chunk_entries);
	sr_free(out);
	sr_free(pks);
	sr_secagg_masker_free(m);
	sr_buf_release(&r.msg);
	if (stats)
		*stats = r.st;
	return rc;
}
