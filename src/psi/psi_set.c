/*
 * psi_set.c - a party's PSI input: normalization, hashing (the digests
 * that map to ristretto255, see psi_int.h) on the thread pool, removal of
 * empty and duplicate keys, and a uniformly random order (so that
 * positions in PSI messages say nothing about the rows they come from).
 */
#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "psi/psi_int.h"
#include "base/banned.h"

#define READ_BATCH 16384     /* keys asked from the source at a time */
#define HASH_CHUNK 64        /* keys per pool task */

_Static_assert(SR_PSI_SET_MAX <= UINT32_MAX / 2,
	       "positions and the dedup table index fit in 32 bits");

/* ---- normalization ------------------------------------------------------ */

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* ASCII-only normalization (psi.h); never grows the key. */
size_t sr_psi_normalize(unsigned flags, const uint8_t *in, size_t len,
			uint8_t *out)
{
	size_t start = 0, end = len, n = 0;

	if (flags & SR_PSI_NORM_DIGITS) {
		for (size_t i = 0; i < len; i++)
			if (in[i] >= '0' && in[i] <= '9')
				out[n++] = in[i];
		return n;   /* nothing left to trim or lower */
	}
	if (flags & SR_PSI_NORM_TRIM) {
		while (start < end && is_space(in[start]))
			start++;
		while (end > start && is_space(in[end - 1]))
			end--;
	}
	for (size_t i = start; i < end; i++) {
		uint8_t c = in[i];
		if ((flags & SR_PSI_NORM_LOWER) && c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		out[n++] = c;
	}
	return n;
}

/* "trim,lower" -> flags; SR_EINVAL names the unknown word. */
int sr_psi_normalize_parse(const char *list, unsigned *flags,
			   struct sr_err *err)
{
	unsigned f = 0;
	const char *p = list;

	*flags = 0;
	if (!list)
		return SR_OK;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 4 && memcmp(p, "trim", 4) == 0)
			f |= SR_PSI_NORM_TRIM;
		else if (len == 5 && memcmp(p, "lower", 5) == 0)
			f |= SR_PSI_NORM_LOWER;
		else if (len == 6 && memcmp(p, "digits", 6) == 0)
			f |= SR_PSI_NORM_DIGITS;
		else if (len == 4 && memcmp(p, "none", 4) == 0)
			;
		else
			return sr_fail(err, SR_EINVAL,
				       "unknown normalization '%.*s' (expected trim, lower, digits or none)",
				       (int)(len > 64 ? 64 : len), p);
		p += len;
		if (*p == ',')
			p++;
	}
	*flags = f;
	return SR_OK;
}

/* ---- sources ------------------------------------------------------------ */

static int array_next(void *ctx, struct sr_psi_key *keys, size_t max,
		      size_t *count, struct sr_err *err)
{
	struct sr_psi_array *st = ctx;
	size_t n = st->count - st->pos;

	(void)err;
	if (n > max)
		n = max;
	if (n)
		memcpy(keys, st->keys + st->pos, n * sizeof(*keys));
	st->pos += n;
	*count = n;
	return SR_OK;
}

/* src reads keys[0..count) in order; st and keys must outlive src. */
void sr_psi_source_array(struct sr_psi_source *src, struct sr_psi_array *st,
			 const struct sr_psi_key *keys, size_t count)
{
	st->keys = keys;
	st->count = count;
	st->pos = 0;
	src->ctx = st;
	src->next = array_next;
}

/* ---- randomness --------------------------------------------------------- */

/* Empty buffer: the first draw fills it from randombytes_buf. */
void sr_psi_rng_init(struct sr_psi_rng *rng)
{
	rng->pos = sizeof(rng->buf);
}

static uint32_t rng_u32(struct sr_psi_rng *rng)
{
	uint32_t v;

	if (rng->pos + 4 > sizeof(rng->buf)) {
		randombytes_buf(rng->buf, sizeof(rng->buf));
		rng->pos = 0;
	}
	v = sr_load_u32le(rng->buf + rng->pos);
	rng->pos += 4;
	return v;
}

/* Uniform in [0, bound) without modulo bias. */
uint32_t sr_psi_rng_uniform(struct sr_psi_rng *rng, uint32_t bound)
{
	/* Rejection below 2^32 mod bound removes the modulo bias
	 * (as randombytes_uniform does). */
	uint32_t min, r;

	if (bound < 2)
		return 0;
	min = (uint32_t)(-bound) % bound;
	do
		r = rng_u32(rng);
	while (r < min);
	return r % bound;
}

/* The buffer decided a secret permutation: wipe it. */
void sr_psi_rng_release(struct sr_psi_rng *rng)
{
	sodium_memzero(rng->buf, sizeof(rng->buf));
	rng->pos = sizeof(rng->buf);
}

/* ---- the set ------------------------------------------------------------ */

/* Empty set, nothing allocated. */
void sr_psi_set_init(struct sr_psi_set *set)
{
	set->hashes = NULL;
	set->rows = NULL;
	set->n = 0;
	set->cap = 0;
	set->shared = 0;
}

/* Wipe and free the hashes (all cap entries); rows stay. */
void sr_psi_set_drop_points(struct sr_psi_set *set)
{
	if (set->hashes) {
		sodium_memzero(set->hashes, set->cap * SR_PSI_HASH_BYTES);
		sr_free(set->hashes);
	}
	set->hashes = NULL;
}

/* Wipe the hashes, free everything, back to empty. */
void sr_psi_set_release(struct sr_psi_set *set)
{
	sr_psi_set_drop_points(set);
	sr_free(set->rows);
	sr_psi_set_init(set);
}

struct hash_job {
	const struct sr_h2g *h2g;
	const uint8_t *arena;
	const size_t *off;
	const size_t *len;
	uint8_t *hashes;     /* where key 0 of this batch goes */
	size_t count;
};

static int hash_chunk(void *ctx, size_t index, struct sr_err *err)
{
	const struct hash_job *job = ctx;
	size_t lo = index * HASH_CHUNK;
	size_t hi = lo + HASH_CHUNK < job->count ? lo + HASH_CHUNK : job->count;

	(void)err;
	/* The digest only: sr_r255_hash_mul maps it when blinding. */
	for (size_t i = lo; i < hi; i++)
		sr_r255_h2g_digest(job->h2g, job->arena + job->off[i], job->len[i],
				   job->hashes + i * SR_PSI_HASH_BYTES);
	return SR_OK;
}

static int grow_set(struct sr_psi_set *set, size_t need)
{
	size_t ncap = set->cap ? set->cap : READ_BATCH;
	uint8_t *hashes;
	uint64_t *rows;

	if (need <= set->cap)
		return SR_OK;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SR_PSI_SET_MAX)
		ncap = SR_PSI_SET_MAX;
	hashes = sr_realloc(set->hashes, ncap * SR_PSI_HASH_BYTES);
	if (!hashes)
		return SR_ENOMEM;
	set->hashes = hashes;
	rows = sr_realloc(set->rows, ncap * sizeof(*rows));
	if (!rows)
		return SR_ENOMEM;
	set->rows = rows;
	set->cap = ncap;
	return SR_OK;
}

/*
 * Drop repeated keys, keeping the first (lowest position, i.e. first row
 * read).  Equal digests are equal keys (BLAKE2b-512 is collision
 * resistant), and a repeated digest is exactly a repeated point H(x) but
 * for a 2^-250 chance.  Digests are uniform, so their first 8 bytes index
 * an open-addressing table directly.
 */
static int dedup(struct sr_psi_set *set, uint64_t *duplicates)
{
	size_t cap = 16, mask, kept = 0;
	uint32_t *table;

	while (cap < 2 * set->n)
		cap *= 2;
	mask = cap - 1;
	table = sr_calloc(cap, sizeof(*table));
	if (!table)
		return SR_ENOMEM;
	for (size_t i = 0; i < set->n; i++) {
		const uint8_t *p = set->hashes + i * SR_PSI_HASH_BYTES;
		size_t slot = (size_t)sr_load_u64le(p) & mask;
		int dup = 0;
		while (table[slot]) {
			size_t k = table[slot] - 1;
			if (memcmp(set->hashes + k * SR_PSI_HASH_BYTES, p,
				   SR_PSI_HASH_BYTES) == 0) {
				dup = 1;
				break;
			}
			slot = (slot + 1) & mask;
		}
		if (dup) {
			(*duplicates)++;
			continue;
		}
		if (kept != i) {
			memcpy(set->hashes + kept * SR_PSI_HASH_BYTES, p,
			       SR_PSI_HASH_BYTES);
			set->rows[kept] = set->rows[i];
		}
		table[slot] = (uint32_t)(kept + 1);
		kept++;
	}
	sr_free(table);
	set->n = kept;
	return SR_OK;
}

/* Fisher-Yates with libsodium randomness. */
static void shuffle(struct sr_psi_set *set)
{
	struct sr_psi_rng rng;
	uint8_t tmp[SR_PSI_HASH_BYTES];

	sr_psi_rng_init(&rng);
	for (size_t i = set->n; i > 1; i--) {
		size_t j = sr_psi_rng_uniform(&rng, (uint32_t)i);
		size_t k = i - 1;
		uint64_t row;
		if (j == k)
			continue;
		memcpy(tmp, set->hashes + k * SR_PSI_HASH_BYTES, SR_PSI_HASH_BYTES);
		memcpy(set->hashes + k * SR_PSI_HASH_BYTES,
		       set->hashes + j * SR_PSI_HASH_BYTES, SR_PSI_HASH_BYTES);
		memcpy(set->hashes + j * SR_PSI_HASH_BYTES, tmp, SR_PSI_HASH_BYTES);
		row = set->rows[k];
		set->rows[k] = set->rows[j];
		set->rows[j] = row;
	}
	sodium_memzero(tmp, sizeof(tmp));
	sr_psi_rng_release(&rng);
}

static void h2g_context(struct sr_h2g *h2g, const struct sr_psi_params *params)
{
	uint8_t ctx[sizeof(SR_PSI_H2G_CONTEXT) - 1 + SR_PSI_SESSION_ID_MAX];
	size_t prefix = sizeof(SR_PSI_H2G_CONTEXT) - 1;

	memcpy(ctx, SR_PSI_H2G_CONTEXT, prefix);
	memcpy(ctx + prefix, params->session_id, params->session_id_len);
	sr_h2g_init(h2g, ctx, prefix + params->session_id_len);
}

/*
 * Read, normalize, hash (pool), dedup, shuffle.  On failure the set is
 * empty and wiped; errors as in psi_int.h.
 */
int sr_psi_set_build(struct sr_psi_set *set, const struct sr_psi_params *params,
		     struct sr_psi_source *src, struct sr_psi_stats *stats,
		     struct sr_err *err)
{
	struct sr_psi_key *keys = NULL;
	size_t *off = NULL, *len = NULL;
	struct sr_buf arena;
	struct sr_h2g h2g;
	int rc = SR_OK;

	sr_psi_set_init(set);
	sr_buf_init(&arena, 0);
	h2g_context(&h2g, params);
	keys = sr_calloc(READ_BATCH, sizeof(*keys));
	off = sr_calloc(READ_BATCH, sizeof(*off));
	len = sr_calloc(READ_BATCH, sizeof(*len));
	if (!keys || !off || !len) {
		rc = sr_fail(err, SR_ENOMEM, "psi: out of memory reading keys");
		goto out;
	}
	for (;;) {
		struct hash_job job;
		size_t count = 0, kept = 0;

		rc = src->next(src->ctx, keys, READ_BATCH, &count, err);
		if (rc) {
			sr_err_prefix(err, "psi: reading keys");
			goto out;
		}
		if (count == 0)
			break;
		if (count > READ_BATCH) {
			rc = sr_fail(err, SR_EINVAL,
				     "psi: key source returned %zu keys, more than the %d asked",
				     count, READ_BATCH);
			goto out;
		}
		sr_buf_reset(&arena);
		for (size_t i = 0; i < count; i++) {
			size_t n;
			stats->keys_read++;
			if (keys[i].len > SR_PSI_KEY_MAX) {
				rc = sr_fail(err, SR_ELIMIT,
					     "psi: key of row %llu is %zu bytes, over the limit of %u (SR_PSI_KEY_MAX)",
					     (unsigned long long)keys[i].row,
					     keys[i].len, SR_PSI_KEY_MAX);
				goto out;
			}
			if (keys[i].len && !keys[i].data) {
				rc = sr_fail(err, SR_EINVAL,
					     "psi: key of row %llu has no data",
					     (unsigned long long)keys[i].row);
				goto out;
			}
			rc = sr_buf_grow(&arena, keys[i].len);
			if (rc) {
				rc = sr_fail(err, rc, "psi: out of memory reading keys");
				goto out;
			}
			n = keys[i].len ?
				sr_psi_normalize(params->normalize, keys[i].data,
						 keys[i].len,
						 (uint8_t *)arena.data + arena.len) : 0;
			if (n == 0) {
				stats->empty_keys++;
				continue;
			}
			off[kept] = arena.len;
			len[kept] = n;
			arena.len += n;
			if (set->n + kept >= SR_PSI_SET_MAX) {
				rc = sr_fail(err, SR_ELIMIT,
					     "psi: more than %u keys (SR_PSI_SET_MAX)",
					     SR_PSI_SET_MAX);
				goto out;
			}
			rc = grow_set(set, set->n + kept + 1);
			if (rc) {
				rc = sr_fail(err, rc, "psi: out of memory for %zu keys",
					     set->n + kept + 1);
				goto out;
			}
			set->rows[set->n + kept] = keys[i].row;
			kept++;
		}
		job.h2g = &h2g;
		job.arena = (const uint8_t *)arena.data;
		job.off = off;
		job.len = len;
		job.hashes = set->hashes + set->n * SR_PSI_HASH_BYTES;
		job.count = kept;
		rc = sr_pool_run(params->pool, (kept + HASH_CHUNK - 1) / HASH_CHUNK,
				 hash_chunk, &job, err);
		if (rc)
			goto out;
		set->n += kept;
		if (params->progress)
			params->progress(params->progress_ctx, "hashing",
					 stats->keys_read, 0);
	}
	rc = dedup(set, &stats->duplicate_keys);
	if (rc) {
		rc = sr_fail(err, rc, "psi: out of memory removing duplicate keys");
		goto out;
	}
	shuffle(set);
	stats->set_size = set->n;
out:
	/* The arena held normalized keys, the state only the context. */
	sr_buf_wipe(&arena);
	sodium_memzero(&h2g, sizeof(h2g));
	sr_free(keys);
	sr_free(off);
	sr_free(len);
	if (rc)
		sr_psi_set_release(set);
	return rc;
}
