/*
 * kkrt.c - KKRT16 PSI over a PSI pair, after the hello (kkrt.h,
 * docs/protocols/psi.md "KKRT"):
 *
 *   R -> S  KKRT_SETUP  A = a*G (base OT), seed, bins m
 *   S -> R  KKRT_OT     B_0 .. B_511 (S chooses with its secret s)
 *   R -> S  KKRT_U      rows u_b = t_b ^ t'_b ^ C(x_b | h), batch by batch
 *   S -> R  TAGS        for each of S's keys (in its random order), the
 *                       three outputs H(b_h(y), q_b ^ (C(y | h) & s))
 *   then DONE, or COUNT [+ RESULT] as in ECDH-PSI (psi_pair.c)
 *
 * R's output for its key x in bin b is H(b, t_b); S's output of y in
 * bin b with function h equals it exactly when y = x (and h is the one
 * that placed x).  The seed fixes the code C, the three bin functions
 * and the hash key; R draws it fresh for every run.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "psi/kkrt.h"
#include "base/banned.h"

#define SETUP_BYTES (SR_POINT_BYTES + SR_KKRT_SEED_BYTES + 8)
#define OT_MSG_BYTES (SR_KKRT_WIDTH * SR_POINT_BYTES)
#define ROW_CHUNK 512      /* bins (receiver) or entries (sender) per task */
#define MAX_KICKS 2000     /* cuckoo evictions per key before failing */

/* The 16-byte OPRF input of a key: 15 bytes of its digest, then h. */
static int ids_of(struct sr_psi_set *set, uint8_t **ids, struct sr_err *err)
{
	*ids = sr_malloc((set->n ? set->n : 1) * SR_KKRT_ITEM);
	if (!*ids)
		return sr_fail(err, SR_ENOMEM, "psi: out of memory for %zu keys", set->n);
	for (size_t i = 0; i < set->n; i++) {
		memcpy(*ids + i * SR_KKRT_ITEM, set->hashes + i * SR_PSI_HASH_BYTES,
		       SR_KKRT_ITEM - 1);
		(*ids)[i * SR_KKRT_ITEM + SR_KKRT_ITEM - 1] = 0;
	}
	/* The digests are no longer needed: wipe them now (memory at 2^24),
	 * unless other pairs of a multi-party receiver still read them. */
	if (!set->shared)
		sr_psi_set_drop_points(set);
	return SR_OK;
}

static void ids_free(uint8_t *ids, size_t n)
{
	if (ids)
		sodium_memzero(ids, (n ? n : 1) * SR_KKRT_ITEM);
	sr_free(ids);
}

/* The three bins of every key, under the bins key of the seed. */
static int bins_of(const struct sr_kkrt_keys *keys, const uint8_t *ids,
		   size_t n, uint64_t m, uint32_t **bins, struct sr_err *err)
{
	struct sr_aes binkey;
	int rc;

	*bins = sr_malloc((n ? n : 1) * SR_KKRT_HASHES * sizeof(uint32_t));
	if (!*bins)
		return sr_fail(err, SR_ENOMEM, "psi: out of memory hashing %zu keys to bins", n);
	rc = sr_aes_ecb_init(&binkey, keys->bins, err);
	if (rc)
		return rc;
	sr_kkrt_item_bins(&binkey, ids, n, m, *bins);
	sr_aes_release(&binkey);
	return SR_OK;
}

static size_t nbatches(uint64_t n, uint64_t batch)
{
	return (size_t)((n + batch - 1) / batch);
}

/* ---- receiver ------------------------------------------------------------- */

struct recv_batch {
	const struct sr_kkrt_keys *keys;
	const uint32_t *slot;
	const uint8_t *hidx;
	const uint8_t *ids;
	const uint8_t *t;     /* rows of T0 */
	uint8_t *u;           /* rows of T0 ^ T1, plus C(x) on return */
	uint8_t *own_tags;
	unsigned tag_bytes;
	uint64_t first;       /* first bin of the batch */
	size_t nbins;
};

static int recv_rows(void *arg, size_t index, struct sr_err *err)
{
	const struct recv_batch *job = arg;
	size_t lo = index * ROW_CHUNK;
	size_t hi = lo + ROW_CHUNK < job->nbins ? lo + ROW_CHUNK : job->nbins;
	size_t c = hi - lo, k = 0;
	uint8_t blocks[ROW_CHUNK * SR_KKRT_ITEM], code[ROW_CHUNK * SR_KKRT_ROW];
	uint8_t trows[ROW_CHUNK * SR_KKRT_ROW], out[ROW_CHUNK * SR_AES_BLOCK];
	uint64_t binno[ROW_CHUNK];
	uint32_t who[ROW_CHUNK];
	struct sr_kkrt_aes aes;
	int rc;

	rc = sr_kkrt_aes_init(&aes, job->keys, err);
	if (rc)
		return rc;
	/* Empty bins take a random input that matches nothing. */
	randombytes_buf(blocks, c * SR_KKRT_ITEM);
	for (size_t i = 0; i < c; i++) {
		uint32_t item = job->slot[job->first + lo + i];
		if (item == SR_KKRT_EMPTY)
			continue;
		memcpy(blocks + i * SR_KKRT_ITEM, job->ids + (size_t)item * SR_KKRT_ITEM,
		       SR_KKRT_ITEM - 1);
		blocks[i * SR_KKRT_ITEM + SR_KKRT_ITEM - 1] = job->hidx[job->first + lo + i];
		memcpy(trows + k * SR_KKRT_ROW, job->t + (lo + i) * SR_KKRT_ROW, SR_KKRT_ROW);
		binno[k] = job->first + lo + i;
		who[k++] = item;
	}
	sr_kkrt_code(&aes, blocks, c, code);
	for (size_t i = 0; i < c * SR_KKRT_ROW; i++)
		job->u[lo * SR_KKRT_ROW + i] ^= code[i];
	sr_kkrt_hash(&aes, binno, trows, k, out);
	for (size_t i = 0; i < k; i++)
		memcpy(job->own_tags + (size_t)who[i] * job->tag_bytes,
		       out + i * SR_AES_BLOCK, job->tag_bytes);
	sr_kkrt_aes_release(&aes);
	sodium_memzero(blocks, sizeof(blocks));
	sodium_memzero(trows, sizeof(trows));
	sodium_memzero(code, sizeof(code));
	return SR_OK;
}

static uint64_t tag_slot(const uint8_t *tag, unsigned t)
{
	uint8_t b[8] = { 0 };

	memcpy(b, tag, t < 8 ? t : 8);
	return sr_load_u64le(b);
}

/*
 * Match S's tags, message by message, against a table of ours: the first
 * of S's three tags of a key that equals one of our unmatched tags pairs
 * the two keys (each key on either side is paired at most once).
 */
static int recv_tags(struct sr_psi_pair *pr, uint64_t n_own, uint32_t *match,
		     uint64_t *matched, const struct sr_psi_params *p,
		     struct sr_err *err)
{
	uint64_t n_peer = pr->peer.set_size;
	uint32_t batch = pr->peer.batch;
	unsigned t = pr->tag_bytes;
	size_t nb = nbatches(n_peer, batch), cap = 16, mask;
	/* Entry: (fingerprint << 32) | (our position + 1), 0 = empty.  The
	 * fingerprint (tag bits 32..63; the slot uses the low bits) rules
	 * out most occupied slots without reading our tag (a cache miss). */
	uint64_t *table;
	char what[96];
	int rc = SR_OK;

	*matched = 0;
	while (cap < 2 * n_own)
		cap *= 2;
	mask = cap - 1;
	table = sr_calloc(cap, sizeof(*table));
	if (!table)
		return sr_fail(err, SR_ENOMEM, "psi: out of memory matching %llu keys",
			       (unsigned long long)n_own);
	for (size_t i = 0; i < n_own; i++) {
		uint64_t key = tag_slot(pr->own_tags + i * t, t);
		size_t s = (size_t)key & mask;
		while (table[s])
			s = (s + 1) & mask;
		table[s] = (key & 0xffffffff00000000u) | (uint64_t)(i + 1);
		match[i] = SR_PSI_POS_NONE;
	}
	for (size_t k = 0; k < nb && rc == SR_OK; k++) {
		size_t count = (size_t)(n_peer - (uint64_t)k * batch < batch ?
					n_peer - (uint64_t)k * batch : batch);
		const uint8_t *msg;
		rc = sr_psi_link_recv(&pr->link,
				      sr_psi_msg_bytes(batch, (size_t)SR_KKRT_HASHES * t),
				      "the peer's tags", err);
		if (rc)
			break;
		snprintf(what, sizeof(what), "tags message %zu of %zu", k + 1, nb);
		rc = sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
				      SR_PSI_MSG_TAGS, (uint8_t)t, (uint32_t)count,
				      (size_t)SR_KKRT_HASHES * t, what, err);
		if (rc)
			break;
		msg = sr_psi_link_msg(&pr->link) + SR_PSI_HEAD_BYTES;
		for (size_t j = 0; j < count; j++) {
			int done = 0;
			for (int h = 0; h < SR_KKRT_HASHES && !done; h++) {
				const uint8_t *tag = msg + (j * SR_KKRT_HASHES + (size_t)h) * t;
				uint64_t key = tag_slot(tag, t), e;
				size_t s = (size_t)key & mask;
				while ((e = table[s]) != 0) {
					size_t i = (size_t)(uint32_t)e - 1;
					if ((e >> 32) == (key >> 32) &&
					    match[i] == SR_PSI_POS_NONE &&
					    memcmp(pr->own_tags + i * t, tag, t) == 0) {
						match[i] = (uint32_t)((uint64_t)k * batch + j);
						(*matched)++;
						done = 1;
						break;
					}
					s = (s + 1) & mask;
				}
			}
		}
		if (p->progress)
			p->progress(p->progress_ctx, "tags", (uint64_t)k * batch + count,
				    n_peer);
	}
	sr_free(table);
	return rc;
}

int sr_psi_kkrt_receive(struct sr_psi_pair *pr, struct sr_psi_set *set,
			const struct sr_psi_params *p, uint32_t *match,
			uint64_t *matched, struct sr_err *err)
{
	size_t n = set->n;
	uint64_t m = sr_kkrt_bins(n);
	uint8_t seed[SR_KKRT_SEED_BYTES], *ids = NULL, *k0 = NULL, *k1 = NULL;
	uint8_t *t = NULL, msg[SR_PSI_HEAD_BYTES + SETUP_BYTES];
	uint32_t *bins = NULL, *slot = NULL;
	uint8_t *hidx = NULL;
	struct sr_kkrt_keys keys;
	struct sr_ot_sender ot;
	struct sr_kkrt_ext ext;
	size_t nb = nbatches(m, SR_KKRT_BATCH);
	int rc, ext_ok = 0;

	*matched = 0;
	randombytes_buf(seed, sizeof(seed));
	sr_kkrt_keys_derive(&keys, seed);
	sr_ot_sender_init(&ot);
	if (!match)
		SR_BUG("kkrt: receiver without a match array");
	/* Cuckoo hashing first: a (2^-40) failure ends the run before
	 * anything is sent. */
	rc = ids_of(set, &ids, err);
	if (rc == SR_OK)
		rc = bins_of(&keys, ids, n, m, &bins, err);
	slot = rc ? NULL : sr_malloc((size_t)m * sizeof(*slot));
	hidx = rc ? NULL : sr_malloc((size_t)m);
	if (rc == SR_OK && (!slot || !hidx))
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory for %llu bins",
			     (unsigned long long)m);
	if (rc == SR_OK)
		rc = sr_kkrt_cuckoo(bins, n, m, MAX_KICKS, slot, hidx, err);
	sr_free(bins);
	bins = NULL;
	if (rc)
		goto out;

	sr_psi_head_encode(msg, SR_PSI_MSG_KKRT_SETUP, 0, 1);
	memcpy(msg + SR_PSI_HEAD_BYTES, ot.A, SR_POINT_BYTES);
	memcpy(msg + SR_PSI_HEAD_BYTES + SR_POINT_BYTES, seed, SR_KKRT_SEED_BYTES);
	sr_store_u64le(msg + SR_PSI_HEAD_BYTES + SR_POINT_BYTES + SR_KKRT_SEED_BYTES, m);
	rc = sr_psi_link_send(&pr->link, msg, sizeof(msg), "kkrt setup", err);
	if (rc)
		goto out;
	rc = sr_psi_link_recv(&pr->link, sr_psi_msg_bytes(SR_KKRT_WIDTH, SR_POINT_BYTES),
			      "the peer's base OT message", err);
	if (rc == SR_OK)
		rc = sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
				      SR_PSI_MSG_KKRT_OT, 0, SR_KKRT_WIDTH,
				      SR_POINT_BYTES, "base OT message", err);
	k0 = sr_malloc(SR_KKRT_WIDTH * SR_KKRT_OT_KEY);
	k1 = sr_malloc(SR_KKRT_WIDTH * SR_KKRT_OT_KEY);
	if (rc == SR_OK && (!k0 || !k1))
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory for base OT keys");
	if (rc == SR_OK)
		rc = sr_ot_sender_keys(&ot, pr->mine.digest,
				       sr_psi_link_msg(&pr->link) + SR_PSI_HEAD_BYTES,
				       SR_KKRT_WIDTH, k0, k1, p->pool, err);
	if (rc == SR_OK) {
		rc = sr_kkrt_ext_init(&ext, k0, k1, NULL, p->pool, err);
		ext_ok = rc == SR_OK;
	}
	if (rc)
		goto out;

	pr->own_tags = sr_malloc((n ? n : 1) * pr->tag_bytes);
	t = sr_malloc((size_t)SR_KKRT_BATCH * SR_KKRT_ROW);
	if (!pr->own_tags || !t) {
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory for %zu tags", n);
		goto out;
	}
	for (size_t k = 0; k < nb; k++) {
		struct recv_batch job;
		size_t nbins = (size_t)(m - (uint64_t)k * SR_KKRT_BATCH < SR_KKRT_BATCH ?
					m - (uint64_t)k * SR_KKRT_BATCH : SR_KKRT_BATCH);
		uint8_t *u;
		sr_buf_reset(&pr->link.out);
		if (sr_buf_grow(&pr->link.out, sr_psi_msg_bytes(nbins, SR_KKRT_ROW))) {
			rc = sr_fail(err, SR_ENOMEM, "psi: out of memory for an extension message");
			goto out;
		}
		u = (uint8_t *)pr->link.out.data + SR_PSI_HEAD_BYTES;
		sr_psi_head_encode((uint8_t *)pr->link.out.data, SR_PSI_MSG_KKRT_U, 0,
				   (uint32_t)nbins);
		sr_kkrt_ext_recv_batch(&ext, nbins, t, u);
		job.keys = &keys;
		job.slot = slot;
		job.hidx = hidx;
		job.ids = ids;
		job.t = t;
		job.u = u;
		job.own_tags = pr->own_tags;
		job.tag_bytes = pr->tag_bytes;
		job.first = (uint64_t)k * SR_KKRT_BATCH;
		job.nbins = nbins;
		rc = sr_pool_run(p->pool, (nbins + ROW_CHUNK - 1) / ROW_CHUNK, recv_rows,
				 &job, err);
		if (rc)
			goto out;
		sr_buf_setlen(&pr->link.out, sr_psi_msg_bytes(nbins, SR_KKRT_ROW));
		rc = sr_psi_link_send(&pr->link, (const uint8_t *)pr->link.out.data,
				      pr->link.out.len, "kkrt extension", err);
		if (rc)
			goto out;
		if (p->progress)
			p->progress(p->progress_ctx, "exchange", job.first + nbins, m);
	}
	sr_buf_release(&pr->link.out);
	if (p->progress)
		p->progress(p->progress_ctx, "matching", 0, n);
	rc = recv_tags(pr, n, match, matched, p, err);
out:
	if (ext_ok)
		sr_kkrt_ext_release(&ext);
	if (k0)
		sodium_memzero(k0, SR_KKRT_WIDTH * SR_KKRT_OT_KEY);
	if (k1)
		sodium_memzero(k1, SR_KKRT_WIDTH * SR_KKRT_OT_KEY);
	if (t)
		sodium_memzero(t, (size_t)SR_KKRT_BATCH * SR_KKRT_ROW);
	sr_free(k0);
	sr_free(k1);
	sr_free(t);
	sr_free(slot);
	sr_free(hidx);
	ids_free(ids, n);
	sr_ot_sender_release(&ot);
	sodium_memzero(&keys, sizeof(keys));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* ---- sender ----------------------------------------------------------------- */

struct send_batch {
	const struct sr_kkrt_keys *keys;
	const uint8_t *s;
	const uint8_t *ids;
	const uint32_t *start, *entries;
	const uint8_t *q;      /* rows of the batch */
	uint8_t *tags;         /* 3 per key, in key order */
	unsigned tag_bytes;
	uint64_t first;
	size_t e_lo, e_hi;     /* entries of the batch's bins */
};

static int send_rows(void *arg, size_t index, struct sr_err *err)
{
	const struct send_batch *job = arg;
	size_t lo = job->e_lo + index * ROW_CHUNK;
	size_t hi = lo + ROW_CHUNK < job->e_hi ? lo + ROW_CHUNK : job->e_hi;
	size_t c = hi - lo;
	uint8_t blocks[ROW_CHUNK * SR_KKRT_ITEM], code[ROW_CHUNK * SR_KKRT_ROW];
	uint8_t out[ROW_CHUNK * SR_AES_BLOCK];
	uint64_t binno[ROW_CHUNK];
	struct sr_kkrt_aes aes;
	uint64_t b = job->first;
	int rc;

	rc = sr_kkrt_aes_init(&aes, job->keys, err);
	if (rc)
		return rc;
	/* The bin of entry lo: the last bin whose start is <= lo. */
	while (job->start[b + 1] <= lo)
		b++;
	for (size_t i = 0; i < c; i++) {
		uint32_t e = job->entries[lo + i];
		while (job->start[b + 1] <= lo + i)
			b++;
		memcpy(blocks + i * SR_KKRT_ITEM,
		       job->ids + (size_t)(e / SR_KKRT_HASHES) * SR_KKRT_ITEM,
		       SR_KKRT_ITEM - 1);
		blocks[i * SR_KKRT_ITEM + SR_KKRT_ITEM - 1] = (uint8_t)(e % SR_KKRT_HASHES);
		binno[i] = b;
	}
	sr_kkrt_code(&aes, blocks, c, code);
	/* q_b ^ (C(y | h) & s) */
	for (size_t i = 0; i < c; i++) {
		const uint8_t *q = job->q + (size_t)(binno[i] - job->first) * SR_KKRT_ROW;
		uint8_t *r = code + i * SR_KKRT_ROW;
		for (size_t j = 0; j < SR_KKRT_ROW; j++)
			r[j] = (uint8_t)(q[j] ^ (r[j] & job->s[j]));
	}
	sr_kkrt_hash(&aes, binno, code, c, out);
	for (size_t i = 0; i < c; i++)
		memcpy(job->tags + (size_t)job->entries[lo + i] * job->tag_bytes,
		       out + i * SR_AES_BLOCK, job->tag_bytes);
	sr_kkrt_aes_release(&aes);
	sodium_memzero(blocks, sizeof(blocks));
	sodium_memzero(code, sizeof(code));
	return SR_OK;
}

/* Check the receiver's setup message: A, the seed and the bin count. */
static int recv_setup(struct sr_psi_pair *pr, uint8_t A[SR_POINT_BYTES],
		      uint8_t seed[SR_KKRT_SEED_BYTES], uint64_t *m,
		      struct sr_err *err)
{
	const uint8_t *body;
	uint64_t want = sr_kkrt_bins(pr->peer.set_size);
	int rc;

	rc = sr_psi_link_recv(&pr->link, SR_PSI_HEAD_BYTES + SETUP_BYTES,
			      "the peer's kkrt setup", err);
	if (rc == SR_OK)
		rc = sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
				      SR_PSI_MSG_KKRT_SETUP, 0, 1, SETUP_BYTES,
				      "kkrt setup message", err);
	if (rc)
		return rc;
	body = sr_psi_link_msg(&pr->link) + SR_PSI_HEAD_BYTES;
	memcpy(A, body, SR_POINT_BYTES);
	memcpy(seed, body + SR_POINT_BYTES, SR_KKRT_SEED_BYTES);
	*m = sr_load_u64le(body + SR_POINT_BYTES + SR_KKRT_SEED_BYTES);
	if (*m != want)
		return sr_fail(err, SR_EPROTO,
			       "psi: kkrt setup message: %llu bins, expected %llu for %llu keys",
			       (unsigned long long)*m, (unsigned long long)want,
			       (unsigned long long)pr->peer.set_size);
	return SR_OK;
}

static int send_tags(struct sr_psi_pair *pr, const uint8_t *tags, size_t n,
		     const struct sr_psi_params *p, struct sr_err *err)
{
	uint32_t batch = pr->mine.batch;
	size_t nb = nbatches(n, batch), rec = (size_t)SR_KKRT_HASHES * pr->tag_bytes;
	int rc;

	for (size_t k = 0; k < nb; k++) {
		size_t count = n - k * batch < batch ? n - k * batch : batch;
		sr_buf_reset(&pr->link.out);
		if (sr_buf_grow(&pr->link.out, sr_psi_msg_bytes(count, rec)))
			return sr_fail(err, SR_ENOMEM, "psi: out of memory for a tags message");
		sr_psi_head_encode((uint8_t *)pr->link.out.data, SR_PSI_MSG_TAGS,
				   (uint8_t)pr->tag_bytes, (uint32_t)count);
		memcpy(pr->link.out.data + SR_PSI_HEAD_BYTES, tags + k * batch * rec,
		       count * rec);
		sr_buf_setlen(&pr->link.out, sr_psi_msg_bytes(count, rec));
		rc = sr_psi_link_send(&pr->link, (const uint8_t *)pr->link.out.data,
				      pr->link.out.len, "tags", err);
		if (rc)
			return rc;
		if (p->progress)
			p->progress(p->progress_ctx, "tags", k * batch + count, n);
	}
	sr_buf_release(&pr->link.out);
	return SR_OK;
}

int sr_psi_kkrt_send(struct sr_psi_pair *pr, struct sr_psi_set *set,
		     const struct sr_psi_params *p, struct sr_err *err)
{
	size_t n = set->n;
	uint8_t A[SR_POINT_BYTES], seed[SR_KKRT_SEED_BYTES], s[SR_KKRT_ROW];
	uint8_t *keys_s = NULL, *ids = NULL, *tags = NULL, *q = NULL, *msg;
	uint32_t *bins = NULL, *start = NULL, *entries = NULL;
	struct sr_kkrt_keys keys;
	struct sr_kkrt_ext ext;
	uint64_t m = 0;
	size_t nb;
	int rc, ext_ok = 0;

	memset(&keys, 0, sizeof(keys));
	randombytes_buf(s, sizeof(s));
	rc = recv_setup(pr, A, seed, &m, err);
	if (rc)
		goto out;
	nb = nbatches(m, SR_KKRT_BATCH);
	sr_kkrt_keys_derive(&keys, seed);
	keys_s = sr_malloc(SR_KKRT_WIDTH * SR_KKRT_OT_KEY);
	sr_buf_reset(&pr->link.out);
	if (!keys_s || sr_buf_grow(&pr->link.out, sr_psi_msg_bytes(SR_KKRT_WIDTH,
								   SR_POINT_BYTES))) {
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory for the base OTs");
		goto out;
	}
	msg = (uint8_t *)pr->link.out.data;
	sr_psi_head_encode(msg, SR_PSI_MSG_KKRT_OT, 0, SR_KKRT_WIDTH);
	rc = sr_ot_receiver(pr->mine.digest, A, s, SR_KKRT_WIDTH,
			    msg + SR_PSI_HEAD_BYTES, keys_s, p->pool, err);
	if (rc)
		goto out;
	rc = sr_psi_link_send(&pr->link, msg, sr_psi_msg_bytes(SR_KKRT_WIDTH, SR_POINT_BYTES),
			      "base OT message", err);
	if (rc)
		goto out;
	rc = sr_kkrt_ext_init(&ext, keys_s, NULL, s, p->pool, err);
	if (rc)
		goto out;
	ext_ok = 1;

	/* Simple hashing: every key into each of its three bins. */
	rc = ids_of(set, &ids, err);
	if (rc == SR_OK)
		rc = bins_of(&keys, ids, n, m, &bins, err);
	if (rc)
		goto out;
	start = sr_malloc((size_t)(m + 1) * sizeof(*start));
	entries = sr_malloc((n ? n : 1) * SR_KKRT_HASHES * sizeof(*entries));
	tags = sr_malloc((n ? n : 1) * SR_KKRT_HASHES * pr->tag_bytes);
	q = sr_malloc((size_t)SR_KKRT_BATCH * SR_KKRT_ROW);
	if (!start || !entries || !tags || !q) {
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory hashing %zu keys", n);
		goto out;
	}
	sr_kkrt_simple(bins, n, m, start, entries);
	sr_free(bins);
	bins = NULL;

	for (size_t k = 0; k < nb; k++) {
		struct send_batch job;
		uint64_t first = (uint64_t)k * SR_KKRT_BATCH;
		size_t nbins = (size_t)(m - first < SR_KKRT_BATCH ? m - first : SR_KKRT_BATCH);
		char what[96];
		rc = sr_psi_link_recv(&pr->link, sr_psi_msg_bytes(SR_KKRT_BATCH, SR_KKRT_ROW),
				      "the peer's extension rows", err);
		if (rc)
			goto out;
		snprintf(what, sizeof(what), "kkrt extension message %zu of %zu", k + 1, nb);
		rc = sr_psi_msg_check(sr_psi_link_msg(&pr->link), pr->link.in.len,
				      SR_PSI_MSG_KKRT_U, 0, (uint32_t)nbins, SR_KKRT_ROW,
				      what, err);
		if (rc)
			goto out;
		sr_kkrt_ext_send_batch(&ext, nbins,
				       sr_psi_link_msg(&pr->link) + SR_PSI_HEAD_BYTES, q);
		job.keys = &keys;
		job.s = s;
		job.ids = ids;
		job.start = start;
		job.entries = entries;
		job.q = q;
		job.tags = tags;
		job.tag_bytes = pr->tag_bytes;
		job.first = first;
		job.e_lo = start[first];
		job.e_hi = start[first + nbins];
		rc = sr_pool_run(p->pool, (job.e_hi - job.e_lo + ROW_CHUNK - 1) / ROW_CHUNK,
				 send_rows, &job, err);
		if (rc)
			goto out;
		if (p->progress)
			p->progress(p->progress_ctx, "exchange", first + nbins, m);
	}
	rc = send_tags(pr, tags, n, p, err);
out:
	if (ext_ok)
		sr_kkrt_ext_release(&ext);
	if (keys_s)
		sodium_memzero(keys_s, SR_KKRT_WIDTH * SR_KKRT_OT_KEY);
	if (q)
		sodium_memzero(q, (size_t)SR_KKRT_BATCH * SR_KKRT_ROW);
	sr_free(keys_s);
	sr_free(q);
	sr_free(bins);
	sr_free(start);
	sr_free(entries);
	sr_free(tags);
	ids_free(ids, n);
	sodium_memzero(&keys, sizeof(keys));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}
