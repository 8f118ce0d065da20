/*
 * profile.c - one pass over a CSV file that tells what each column holds
 * (profile.h).
 *
 * Distinct values are counted in a hash set of keyed 64-bit hashes
 * (SipHash through libsodium's crypto_shorthash, with a random key per
 * run, so that no file can aim collisions at it), one open-addressing
 * table per column, grown to at most the column's share of
 * SR_PROFILE_DISTINCT_MAX entries; past it the count stops and says so.
 * A collision merges two values: for advice that is harmless.
 */
#include "store/profile.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

/* Undeclared tokens of exports, as import counts them (import.c). */
static const char *const usual_nulls[] = {
	"NA", "N/A", "n/a", "NULL", "null", "NaN", "None", "-", "?", "\\N",
	"#N/A",
};

struct hashset {
	uint64_t *slots;          /* 0 = empty */
	size_t cap;               /* power of two */
	size_t count;
	size_t max;               /* entries allowed */
};

struct column_state {
	struct sr_infer infer;
	struct hashset seen;
};

static int hashset_grow(struct hashset *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	uint64_t *slots = sr_calloc(cap, sizeof(*slots));

	if (!slots)
		return SR_ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		uint64_t v = h->slots[i];
		size_t at;
		if (!v)
			continue;
		for (at = v & (cap - 1); slots[at]; at = (at + 1) & (cap - 1))
			;
		slots[at] = v;
	}
	sr_free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return SR_OK;
}

/* Add v: 1 if new, 0 if seen, 2 if the set is full, or SR_ENOMEM. */
static int hashset_add(struct hashset *h, uint64_t v)
{
	size_t at;

	if (!v)
		v = 1;
	if (h->count * 2 >= h->cap) {
		if (h->count >= h->max)
			goto lookup_only;
		if (hashset_grow(h) != SR_OK)
			return SR_ENOMEM;
	}
	for (at = v & (h->cap - 1); h->slots[at]; at = (at + 1) & (h->cap - 1))
		if (h->slots[at] == v)
			return 0;
	h->slots[at] = v;
	h->count++;
	return 1;
lookup_only:
	for (at = v & (h->cap - 1); h->slots[at]; at = (at + 1) & (h->cap - 1))
		if (h->slots[at] == v)
			return 0;
	return 2;
}

int sr_profile_is_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t local, dots = 0;

	if (!at || len > 254)
		return 0;
	local = (size_t)(at - s);
	if (local == 0 || local + 1 >= len || memchr(at + 1, '@', len - local - 1))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == ',' || c == '"' || c == '<' || c == '>')
			return 0;
		if (i > local && c == '.')
			dots++;
	}
	/* A dot inside the domain, not at its ends. */
	return dots > 0 && s[local + 1] != '.' && s[len - 1] != '.';
}

int sr_profile_is_phone(const char *s, size_t len)
{
	size_t digits = 0;

	if (len == 0 || len > 24)
		return 0;
	if (!(s[0] == '+' || s[0] == '(' || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if (!strchr("+-(). ", c))
			return 0;
	}
	return digits >= 7 && digits <= 15;
}

void sr_profile_init(struct sr_profile *p)
{
	memset(p, 0, sizeof(*p));
}

static void free_domain(struct sr_profile_column *c)
{
	for (size_t i = 0; i < c->ndomain; i++)
		sr_free(c->domain[i]);
	sr_free(c->domain);
	c->domain = NULL;
	c->ndomain = 0;
}

void sr_profile_release(struct sr_profile *p)
{
	for (size_t j = 0; j < p->ncolumns; j++) {
		sr_free(p->columns[j].name);
		free_domain(&p->columns[j]);
	}
	sr_free(p->columns);
	sr_free(p->source);
	sr_profile_init(p);
}

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_token(const struct sr_csv_field *f, const char *const *tokens,
		    size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (f->len == strlen(tokens[k]) &&
		    memcmp(f->data, tokens[k], f->len) == 0)
			return 1;
	return 0;
}

/* One non-NULL value of column c. */
static int feed(struct sr_profile_column *c, struct column_state *st,
		const struct sr_csv_field *f, const uint8_t key[16])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;
	double d;
	int added;

	c->values++;
	sr_infer_feed(&st->infer, f->data, f->len);
	if (sr_value_parse_float64(f->data, f->len, &d) == SR_OK) {
		if (!c->has_range || d < c->min)
			c->min = d;
		if (!c->has_range || d > c->max)
			c->max = d;
		c->has_range = 1;
	}
	if (sr_profile_is_email(f->data, f->len))
		c->emails++;
	else if (sr_profile_is_phone(f->data, f->len))
		c->phones++;
	if (c->distinct_capped && !st->seen.slots)
		return SR_OK;
	crypto_shorthash(h, (const unsigned char *)f->data, f->len, key);
	memcpy(&v, h, sizeof(v));
	added = hashset_add(&st->seen, v);
	if (added < 0)
		return added;
	if (added == 0)
		c->duplicates = 1;
	if (added == 2)
		c->distinct_capped = 1;
	if (added != 1)
		return SR_OK;
	c->distinct++;
	/* Long values are text, not categories: no domain. */
	if (f->len > SR_PROFILE_DOMAIN_VALUE_MAX)
		c->domain_dropped = 1;
	if (c->distinct > SR_PROFILE_DOMAIN_MAX || c->domain_dropped) {
		free_domain(c);
		c->domain_dropped = 1;
	} else {
		char **grown = sr_realloc(c->domain, (c->ndomain + 1) * sizeof(*grown));
		if (!grown)
			return SR_ENOMEM;
		c->domain = grown;
		grown[c->ndomain] = sr_strndup(f->data, f->len);
		if (!grown[c->ndomain])
			return SR_ENOMEM;
		c->ndomain++;
	}
	return SR_OK;
}

int sr_profile_csv(const char *path, const struct sr_csv_options *opts,
		   const char *const *nulls, size_t nnulls,
		   struct sr_profile *p, struct sr_err *err)
{
	struct column_state *st = NULL;
	const struct sr_csv_field *f;
	struct sr_csv *csv = NULL;
	uint8_t key[crypto_shorthash_KEYBYTES];
	size_t per_column;
	int eof = 0, rc;

	sr_profile_release(p);
	randombytes_buf(key, sizeof(key));
	rc = sr_csv_open_ex(path, opts, &csv, err);
	if (rc)
		goto out;
	p->ncolumns = sr_csv_columns(csv);
	p->columns = sr_calloc(p->ncolumns, sizeof(*p->columns));
	st = sr_calloc(p->ncolumns, sizeof(*st));
	p->source = sr_strdup(path);
	if (!p->columns || !st || !p->source) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	per_column = SR_PROFILE_DISTINCT_MAX / p->ncolumns;
	for (size_t j = 0; j < p->ncolumns; j++) {
		p->columns[j].name = sr_strdup(sr_csv_column_name(csv, j));
		if (!p->columns[j].name) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		sr_infer_init(&st[j].infer);
		st[j].seen.max = per_column;
	}
	for (;;) {
		rc = sr_csv_next(csv, &f, &eof, err);
		if (rc || eof)
			break;
		if (++p->rows > SR_DATASET_ROWS_MAX) {
			rc = sr_fail(err, SR_ELIMIT, "%s: more rows than the limit of %llu",
				     path, (unsigned long long)SR_DATASET_ROWS_MAX);
			break;
		}
		for (size_t j = 0; j < p->ncolumns; j++) {
			struct sr_profile_column *c = &p->columns[j];
			if (f[j].is_null ||
			    (!f[j].quoted && is_token(&f[j], nulls, nnulls))) {
				c->nulls++;
				continue;
			}
			if (!f[j].quoted &&
			    is_token(&f[j], usual_nulls,
				     sizeof(usual_nulls) / sizeof(*usual_nulls)))
				c->usual_tokens++;
			rc = feed(c, &st[j], &f[j], key);
			if (rc) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (rc)
		goto out;
	for (size_t j = 0; j < p->ncolumns; j++) {
		struct sr_profile_column *c = &p->columns[j];
		c->type = sr_infer_result(&st[j].infer);
		if (c->type != SR_TYPE_INT64 && c->type != SR_TYPE_FLOAT64)
			c->has_range = 0;
		if (c->domain)
			qsort(c->domain, c->ndomain, sizeof(*c->domain), cmp_text);
	}
out:
	for (size_t j = 0; st && j < p->ncolumns; j++)
		sr_free(st[j].seen.slots);
	sr_free(st);
	sr_csv_free(csv);
	sodium_memzero(key, sizeof(key));
	if (rc)
		sr_profile_release(p);
	return rc;
}
