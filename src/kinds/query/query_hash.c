/*
 * query_hash.c - a set of byte strings, each with a 64-bit counter (group
 * keys of a public domain, identities per group, distinct values): open
 * addressing with linear probing, keys copied into one buffer.
 */
#include "kinds/query/query.h"

#include <string.h>

#include "base/alloc.h"
#include "base/banned.h"

#define Q_HASH_MIN 64

static uint64_t hash_bytes(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a, then a final mix */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

void q_hash_init(struct q_hash *h)
{
	memset(h, 0, sizeof(*h));
	/* Bounded by the rows of one input: a scan already holds them. */
	sr_buf_init(&h->keys, SR_BUF_UNBOUNDED);
}

void q_hash_release(struct q_hash *h)
{
	sr_free(h->slots);
	sr_buf_release(&h->keys);
	memset(h, 0, sizeof(*h));
}

static struct q_hash_entry *find(const struct q_hash *h, uint64_t hash,
				 const void *key, size_t len)
{
	size_t i = hash & (h->cap - 1);

	for (;;) {
		struct q_hash_entry *e = &h->slots[i];
		if (!e->used)
			return e;
		if (e->hash == hash && e->len == len &&
		    memcmp(h->keys.data + e->off, key, len) == 0)
			return e;
		i = (i + 1) & (h->cap - 1);
	}
}

static int grow(struct q_hash *h, struct sr_err *err)
{
	size_t cap = h->cap ? h->cap * 2 : Q_HASH_MIN;
	struct q_hash_entry *old = h->slots, *slots = sr_calloc(cap, sizeof(*slots));
	size_t oldcap = h->cap;

	if (!slots)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	h->slots = slots;
	h->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*find(h, old[i].hash, h->keys.data + old[i].off, old[i].len) = old[i];
	sr_free(old);
	return SR_OK;
}

int q_hash_put(struct q_hash *h, const void *key, size_t len,
	       struct q_hash_entry **entry, int *fresh, struct sr_err *err)
{
	uint64_t hash = hash_bytes(key, len);
	struct q_hash_entry *e;
	int rc;

	if ((h->count + 1) * 4 > h->cap * 3 && (rc = grow(h, err)) != SR_OK)
		return rc;
	e = find(h, hash, key, len);
	*fresh = !e->used;
	if (!e->used) {
		size_t off = h->keys.len;
		if ((rc = sr_buf_add(&h->keys, key, len)) != SR_OK)
			return sr_fail(err, rc, "out of memory");
		e->used = 1;
		e->hash = hash;
		e->off = off;
		e->len = len;
		e->value = 0;
		h->count++;
	}
	*entry = e;
	return SR_OK;
}

struct q_hash_entry *q_hash_get(const struct q_hash *h, const void *key, size_t len)
{
	struct q_hash_entry *e;

	if (!h->cap)
		return NULL;
	e = find(h, hash_bytes(key, len), key, len);
	return e->used ? e : NULL;
}
