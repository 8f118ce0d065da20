/*
 * secureboost.c - vertical SecureBoost training and joint prediction
 * (secureboost.h, docs/protocols/train.md "Vertical SecureBoost").
 *
 * Every message starts with u8 version (SR_ML_SB_VERSION) and u8 type;
 * integers are little-endian, doubles IEEE little-endian, ciphertext
 * blobs are src/he batches ("SRHB", he.h).  Each message is checked for
 * its exact length; anything else is SR_EPROTO naming the message.
 *
 *   HELLO      A -> P  u32 party, u32 npassive, u64 rows, u64 valid rows,
 *                      the parameters (PARAMS_LEN bytes), u32 key length, key
 *   LAYOUT     P -> A  u32 cols, cols x u32 value bins
 *   TREE       A -> P  u32 tree, u32 value_bits, u64 selected rows,
 *                      bitmap of the training rows in the tree's sample
 *   CTS        A -> P  one batch of row ciphertexts (selected rows in order)
 *   SPLIT      A -> P  u32 node, u32 left, u32 right, u8 hist (0 none,
 *                      1 left, 2 right), u8 mode; mode 0: bitmap of the
 *                      node's rows going left; mode 1 (P owns the split):
 *                      u32 feature, u32 bin, u8 missing_left
 *   SPLIT_BITS P -> A  u32 node, u32 split id, bitmap (to the owner's SPLIT)
 *   HIST       P -> A  u32 node, one batch of packed bin ciphertexts
 *   END        A -> P  u32 trees, u32 best_trees
 *   DONE       P -> A  u32 splits kept
 *   PRED_REQ   A -> P  u64 rows, u32 splits wanted
 *   PRED_BITS  P -> A  u32 first split, u32 count, count bitmaps of rows
 *
 * A node's rows are two lists kept in the same order at every party: the
 * tree's sampled training rows (they make the histograms) then the other
 * rows (unsampled training rows r, validation rows as rows + v), which
 * only follow the splits so that A can update every margin.  A bitmap of
 * a node lists the first list then the second, bit i of byte i / 8.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "he/he.h"
#include "ml/secureboost.h"
#include "ml/sb_int.h"
#include "base/banned.h"

/* u8 loss, u8 first_tree_active_only, u32 trees, depth, max_bins,
 * grad_frac_bits, early_stopping_rounds, key_bits, u64 seed, 6 doubles. */
#define PARAMS_LEN (2 + 6 * 4 + 8 + 6 * 8)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sr_ml_sb_params_init(struct sr_ml_sb_params *p)
{
	memset(p, 0, sizeof(*p));
	sr_ml_gbdt_params_init(&p->gbdt);
	p->gbdt.grad_frac_bits = SR_ML_SB_FRAC_BITS_DEFAULT;
	p->key_bits = SR_HE_BITS_DEFAULT;
}

/* The parameters as the run uses them (grad_frac_bits 0 -> default). */
static struct sr_ml_gbdt_params effective(const struct sr_ml_sb_params *p)
{
	struct sr_ml_gbdt_params g = p->gbdt;

	if (g.grad_frac_bits == 0)
		g.grad_frac_bits = SR_ML_SB_FRAC_BITS_DEFAULT;
	return g;
}

int sr_ml_sb_params_check(const struct sr_ml_sb_params *p, struct sr_err *err)
{
	struct sr_ml_gbdt_params g = effective(p);
	int rc;

	if ((rc = sr_ml_gbdt_params_check(&g, err)))
		return sr_err_prefix(err, "secureboost");
	if (p->key_bits != SR_HE_BITS_DEFAULT && p->key_bits != SR_HE_BITS_STRONG &&
	    (p->key_bits < SR_HE_BITS_TEST_MIN || p->key_bits > 4096 || p->key_bits % 64))
		return sr_fail(err, SR_EINVAL,
			       "secureboost: key_bits %u, expected 2048, 3072 or a multiple of 64 from %u to 4096",
			       p->key_bits, SR_HE_BITS_TEST_MIN);
	if (p->key_bits > 3072 && p->key_bits != 4096)
		return sr_fail(err, SR_EINVAL, "secureboost: key_bits %u, at most 3072 (or 4096)",
			       p->key_bits);
	return SR_OK;
}

void sr_ml_sb_model_release(struct sr_ml_sb_model *m)
{
	if (!m)
		return;
	for (size_t t = 0; m->trees && t < m->ntrees; t++)
		sr_free(m->trees[t].nodes);
	sr_free(m->trees);
	sr_free(m->party_cols);
	memset(m, 0, sizeof(*m));
}

void sr_ml_sb_part_release(struct sr_ml_sb_part *part)
{
	if (!part)
		return;
	sr_free(part->splits);
	memset(part, 0, sizeof(*part));
}

/* ---- messages ------------------------------------------------------------- */

const char *const sb_msg_names[] = {
	"?", "HELLO", "LAYOUT", "TREE", "CTS", "SPLIT", "SPLIT_BITS", "HIST",
	"END", "DONE", "PRED_REQ", "PRED_BITS",
};

void sb_link_init(struct sb_link *l, const struct sr_pipe *pipe, struct sr_ml_sb_stats *stats)
{
	l->pipe = pipe;
	sr_buf_init(&l->in, SR_ML_SB_MSG_MAX);
	l->stats = stats;
}

int sb_link_send(struct sb_link *l, struct sr_buf *msg, struct sr_err *err)
{
	int rc = l->pipe->send(l->pipe->ctx, (const uint8_t *)msg->data, msg->len, err);

	if (rc)
		return sr_err_prefix(err, "secureboost: sending to %s", l->peer);
	if (l->stats)
		l->stats->bytes_sent += msg->len;
	return SR_OK;
}

/* Receive a message of `type` into l->in; returns its body (after the
 * two header bytes) and length. */
int sb_link_recv(struct sb_link *l, int type, const uint8_t **body, size_t *len,
		     struct sr_err *err)
{
	const uint8_t *d;
	int rc = l->pipe->recv(l->pipe->ctx, &l->in, SR_ML_SB_MSG_MAX, err);

	if (rc)
		return sr_err_prefix(err, "secureboost: waiting for %s from %s",
				     sb_msg_names[type], l->peer);
	if (l->stats)
		l->stats->bytes_received += l->in.len;
	d = (const uint8_t *)l->in.data;
	if (l->in.len < 2)
		return sr_fail(err, SR_EPROTO, "secureboost: %s from %s: %zu bytes, too short",
			       sb_msg_names[type], l->peer, l->in.len);
	if (d[0] != SR_ML_SB_VERSION)
		return sr_fail(err, SR_EPROTO, "secureboost: %s from %s: version %u, expected %u",
			       sb_msg_names[type], l->peer, d[0], SR_ML_SB_VERSION);
	if (d[1] != type)
		return sr_fail(err, SR_EPROTO, "secureboost: expected %s from %s, got message type %u",
			       sb_msg_names[type], l->peer, d[1]);
	*body = d + 2;
	*len = l->in.len - 2;
	return SR_OK;
}

int sb_msg_start(struct sr_buf *m, int type)
{
	uint8_t h[2] = { SR_ML_SB_VERSION, (uint8_t)type };

	sr_buf_reset(m);
	return sr_buf_add(m, h, 2);
}

int sb_add_u8(struct sr_buf *m, unsigned v)
{
	uint8_t b = (uint8_t)v;

	return sr_buf_add(m, &b, 1);
}

int sb_add_f64(struct sr_buf *m, double v)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	return sr_buf_add_u64le(m, u);
}

int sb_bad_len(struct sr_err *err, const struct sb_link *l, int type, size_t got, size_t want)
{
	return sr_fail(err, SR_EPROTO, "secureboost: %s from %s: %zu bytes, expected %zu",
		       sb_msg_names[type], l->peer, got, want);
}

static unsigned bit_length(uint64_t v)
{
	unsigned n = 0;

	while (v) {
		n++;
		v >>= 1;
	}
	return n;
}

/*
 * A list of ciphertexts in a message: u32 count, then count ciphertexts
 * of sr_he_ct_bytes each (he.h's own batch framing admits 2048- and
 * 3072-bit keys only; this one takes the run's key size).
 */
static int cts_put(struct sr_buf *m, const struct sr_he_pk *pk, mpz_t *c, size_t count)
{
	size_t width = sr_he_ct_bytes(pk);

	if (sr_buf_add_u32le(m, (uint32_t)count) || sr_buf_grow(m, count * width))
		return SR_ENOMEM;
	for (size_t i = 0; i < count; i++)
		sr_he_ct_encode(pk, c[i], (uint8_t *)m->data + m->len + i * width);
	sr_buf_setlen(m, m->len + count * width);
	return SR_OK;
}

/* One ciphertext of a list, for cts_get's pool run. */
struct cts_decode {
	const struct sr_he_pk *pk;
	const uint8_t *b;
	size_t width;
	mpz_t *out;
};

static int cts_decode_one(void *ctx, size_t i, struct sr_err *err)
{
	struct cts_decode *d = ctx;

	return sr_he_ct_decode(d->pk, d->b + i * d->width, d->width, d->out[i], err);
}

/* Decode exactly the rest of a message of `type` from l (over pool, which
 * may be NULL); SR_EPROTO for a count above max, a wrong length or a
 * ciphertext outside Z*_{n^2}, naming the first such. */
static int cts_get(const struct sb_link *l, int type, const struct sr_he_pk *pk,
		   struct sr_pool *pool, const uint8_t *b, size_t len, size_t max, mpz_t **out,
		   size_t *count, struct sr_err *err)
{
	size_t width = sr_he_ct_bytes(pk), n;
	struct cts_decode d;
	int rc;

	*out = NULL;
	*count = 0;
	n = len >= 4 ? sr_load_u32le(b) : 0;
	if (len < 4 || n > max || len != 4 + n * width)
		return sr_fail(err, SR_EPROTO, "secureboost: %s from %s: %zu bytes, not a list of at most %zu ciphertexts",
			       sb_msg_names[type], l->peer, len + 2, max);
	if ((rc = sr_he_cts_new(n ? n : 1, out, err)))
		return rc;
	d = (struct cts_decode){ pk, b + 4, width, *out };
	if (sr_pool_run(pool, n, cts_decode_one, &d, err)) {
		size_t i = 0;
		while (i < n && sr_he_ct_decode(pk, b + 4 + i * width, width, (*out)[i], err) == SR_OK)
			i++;
		sr_he_cts_free(*out, n ? n : 1);
		*out = NULL;
		return sr_failx(err, SR_EPROTO, "secureboost: %s from %s: ciphertext %zu is invalid",
				sb_msg_names[type], l->peer, i);
	}
	*count = n;
	return SR_OK;
}

static void cts_free(mpz_t *c, size_t count)
{
	if (c)
		sr_he_cts_free(c, count ? count : 1);
}

/* ---- one party's features ------------------------------------------------- */

struct feats {
	const struct sr_ml_data *train, *valid;
	size_t rows, vrows;
	struct sr_ml_bins bins;
	struct sr_ml_layout layout;
	uint16_t *codes;                /* training codes, column-major */
};

static void feats_release(struct feats *f)
{
	sr_ml_bins_release(&f->bins);
	sr_ml_layout_release(&f->layout);
	sr_free(f->codes);
	memset(f, 0, sizeof(*f));
}

static int feats_init(struct feats *f, const struct sr_ml_data *train,
		      const struct sr_ml_data *valid, unsigned max_bins, struct sr_err *err)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->train = train;
	f->valid = valid;
	f->rows = train->rows;
	f->vrows = valid ? valid->rows : 0;
	if (train->cols == 0)
		return sr_fail(err, SR_EINVAL, "secureboost: this party has no features");
	if (valid && valid->cols != train->cols)
		return sr_fail(err, SR_EINVAL, "secureboost: the validation set has %zu features, training %zu",
			       valid->cols, train->cols);
	if (train->rows + f->vrows > SR_ML_SB_ROWS_MAX)
		return sr_fail(err, SR_ELIMIT, "secureboost: %zu training and validation rows, at most %u",
			       train->rows + f->vrows, SR_ML_SB_ROWS_MAX);
	if ((rc = sr_ml_bins_fit(train, max_bins, &f->bins, err)) ||
	    (rc = sr_ml_layout_from_bins(&f->bins, &f->layout, err)))
		goto fail;
	f->codes = sr_calloc(train->rows * train->cols, sizeof(*f->codes));
	if (!f->codes) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	sr_ml_bins_apply(&f->bins, train, f->codes);
	return SR_OK;
fail:
	feats_release(f);
	return rc;
}

/* Whether row i (training if < rows, else validation i - rows) goes left
 * at (feature, bin): codes for training rows, the threshold for
 * validation rows, as sr_ml_gbdt_train routes them. */
static int goes_left(const struct feats *f, size_t i, uint32_t feature, uint32_t bin,
		     int missing_left)
{
	if (i < f->rows) {
		uint16_t code = f->codes[feature * f->rows + i];
		return code == f->layout.nbins[feature] ? missing_left : code <= bin;
	} else {
		double x = f->valid->x[feature * f->vrows + (i - f->rows)];
		return isnan(x) ? missing_left : x < f->bins.cuts[feature][bin];
	}
}

/* ---- the rows of a tree's nodes ------------------------------------------- */

struct span {
	size_t sel_off, sel_cnt, oth_off, oth_cnt;
	int state;                      /* 0 absent, 1 open, 2 split */
};

struct tree_rows {
	uint32_t *sel, *oth, *scratch;
	size_t nsel, noth;
	struct span *nodes;
	size_t nnodes, cap;
};

static void tree_rows_release(struct tree_rows *t)
{
	sr_free(t->sel);
	sr_free(t->oth);
	sr_free(t->scratch);
	sr_free(t->nodes);
	memset(t, 0, sizeof(*t));
}

/* Sample from bitmap sel_bits over rows training rows; other rows after. */
static int tree_rows_init(struct tree_rows *t, const uint8_t *sel_bits, size_t rows,
			  size_t vrows, struct sr_err *err)
{
	size_t all = rows + vrows;

	memset(t, 0, sizeof(*t));
	t->sel = sr_calloc(all ? all : 1, sizeof(uint32_t));
	t->oth = sr_calloc(all ? all : 1, sizeof(uint32_t));
	t->scratch = sr_calloc(all ? all : 1, sizeof(uint32_t));
	t->cap = 64;
	t->nodes = sr_calloc(t->cap, sizeof(*t->nodes));
	if (!t->sel || !t->oth || !t->scratch || !t->nodes) {
		tree_rows_release(t);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t r = 0; r < rows; r++) {
		if (sb_bit_get(sel_bits, r))
			t->sel[t->nsel++] = (uint32_t)r;
		else
			t->oth[t->noth++] = (uint32_t)r;
	}
	for (size_t v = 0; v < vrows; v++)
		t->oth[t->noth++] = (uint32_t)(rows + v);
	t->nodes[0] = (struct span){ 0, t->nsel, 0, t->noth, 1 };
	t->nnodes = 1;
	return SR_OK;
}

static int tree_rows_reserve(struct tree_rows *t, size_t ids, struct sr_err *err)
{
	if (ids > t->cap) {
		size_t cap = t->cap;
		struct span *n;
		while (cap < ids)
			cap *= 2;
		n = sr_realloc(t->nodes, cap * sizeof(*n));
		if (!n)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		memset(n + t->cap, 0, (cap - t->cap) * sizeof(*n));
		t->nodes = n;
		t->cap = cap;
	}
	if (ids > t->nnodes)
		t->nnodes = ids;
	return SR_OK;
}

static void partition_list(uint32_t *list, size_t off, size_t cnt, const uint8_t *bits,
			   size_t bit0, uint32_t *scratch, size_t *nl_out)
{
	size_t nl = 0, nr = 0;

	for (size_t i = 0; i < cnt; i++) {
		uint32_t r = list[off + i];
		if (sb_bit_get(bits, bit0 + i))
			list[off + nl++] = r;
		else
			scratch[nr++] = r;
	}
	memcpy(list + off + nl, scratch, nr * sizeof(*list));
	*nl_out = nl;
}

/* Split node by bits (its sel rows then its oth rows) into left, right. */
static void tree_rows_split(struct tree_rows *t, uint32_t node, uint32_t left, uint32_t right,
			    const uint8_t *bits)
{
	struct span *s = &t->nodes[node];
	size_t nls, nlo;

	partition_list(t->sel, s->sel_off, s->sel_cnt, bits, 0, t->scratch, &nls);
	partition_list(t->oth, s->oth_off, s->oth_cnt, bits, s->sel_cnt, t->scratch, &nlo);
	t->nodes[left] = (struct span){ s->sel_off, nls, s->oth_off, nlo, 1 };
	t->nodes[right] = (struct span){ s->sel_off + nls, s->sel_cnt - nls,
					 s->oth_off + nlo, s->oth_cnt - nlo, 1 };
	s->state = 2;
}

/* The left bitmap of node at (feature, bin, missing side) of f. */
static void split_bitmap(const struct feats *f, const struct tree_rows *t, uint32_t node,
			 uint32_t feature, uint32_t bin, int ml, uint8_t *bits)
{
	const struct span *s = &t->nodes[node];

	memset(bits, 0, sb_bitmap_bytes(s->sel_cnt + s->oth_cnt));
	for (size_t i = 0; i < s->sel_cnt; i++)
		if (goes_left(f, t->sel[s->sel_off + i], feature, bin, ml))
			sb_bit_set(bits, i);
	for (size_t i = 0; i < s->oth_cnt; i++)
		if (goes_left(f, t->oth[s->oth_off + i], feature, bin, ml))
			sb_bit_set(bits, s->sel_cnt + i);
}

/* ---- packing of gradients and of bin sums -------------------------------- */

/*
 * A row's plaintext is (qg + off) + (qh + off) 2^sb with off = 2^(vb-1)
 * and |q| < off, so every slot is positive.  A bin's sum over its c rows,
 * padded with (T - c) off per slot, is G + T off: its count is hidden in
 * T, the node's row count, which A knows.  Sums stay below T 2^vb <
 * 2^sb with sb = vb + bit_length(rows).  `per` bins (2 slots each) share
 * one plaintext below 2^(bits - 2) < n.
 */
struct packing {
	unsigned value_bits, slot_bits;
	size_t per;                     /* bins per histogram ciphertext */
};

static int packing_init(struct packing *pk, unsigned value_bits, size_t rows, unsigned key_bits,
			struct sr_err *err)
{
	pk->value_bits = value_bits;
	pk->slot_bits = value_bits + bit_length(rows);
	if (value_bits < 2 || pk->slot_bits > 62)
		return sr_fail(err, SR_ELIMIT,
			       "secureboost: gradients of %u bits over %zu rows do not fit a 62-bit slot (lower grad_frac_bits)",
			       value_bits, rows);
	pk->per = (key_bits - 2) / (2 * pk->slot_bits);
	return SR_OK;
}

/* ---- the passive party ---------------------------------------------------- */

/* A pair of features (c1, c2), or c1 alone (c2 = SB_ALONE). */
#define SB_ALONE SIZE_MAX
struct sb_group {
	size_t c1, c2, cell_off;
};

/* Pairs of at most this many cells (up to 44 bins and the missing bin
 * each), at most this many cells in all: a cell holds a ciphertext once a
 * row reaches it, 64 MB at 2048 bits; other features go alone. */
#define SB_PAIR_CELLS_MAX 2048u
#define SB_CELLS_MAX ((size_t)1 << 17)

struct passive {
	const struct sr_ml_sb_params *p;
	struct sr_ml_gbdt_params g;
	struct feats f;
	struct sb_link l;
	struct sr_he_pk *pk;
	struct sr_buf out;
	struct sr_he_mcts *row_ct;      /* per training row; set for the sample */
	struct tree_rows t;
	struct packing pack;
	struct sr_ml_sb_part *part;
	size_t splits_cap;
	/* histogram scratch */
	struct sr_he_mcts *slot_ct;     /* Montgomery form: one product per addition */
	uint32_t *slot_cnt;
	size_t slots;
	/* The features in groups of a pair or one (hist_cells); cell (b1, b2)
	 * of a pair at its cell_off + b1 * slots(c2) + b2. */
	struct sb_group *groups;
	size_t ngroups, ncells;
	struct sr_he_mcts *cell_ct;
	uint32_t *cell_cnt;
	mpz_t *hist_ct;
	size_t hist_n;
	uint32_t hist_node;
	struct sr_ml_sb_stats *stats;
};

static int put_params(struct sr_buf *m, const struct sr_ml_sb_params *p)
{
	struct sr_ml_gbdt_params g = effective(p);
	int rc = 0;

	rc |= sb_add_u8(m, (unsigned)g.loss);
	rc |= sb_add_u8(m, p->first_tree_active_only ? 1 : 0);
	rc |= sr_buf_add_u32le(m, g.trees);
	rc |= sr_buf_add_u32le(m, g.depth);
	rc |= sr_buf_add_u32le(m, g.max_bins);
	rc |= sr_buf_add_u32le(m, g.grad_frac_bits);
	rc |= sr_buf_add_u32le(m, g.early_stopping_rounds);
	rc |= sr_buf_add_u32le(m, p->key_bits);
	rc |= sr_buf_add_u64le(m, g.seed);
	rc |= sb_add_f64(m, g.learning_rate);
	rc |= sb_add_f64(m, g.tree.lambda);
	rc |= sb_add_f64(m, g.tree.gamma);
	rc |= sb_add_f64(m, g.tree.min_child_weight);
	rc |= sb_add_f64(m, g.subsample);
	rc |= sb_add_f64(m, g.base_score);
	return rc ? SR_ENOMEM : SR_OK;
}

static int passive_hello(struct passive *s, struct sr_err *err)
{
	const uint8_t *b;
	size_t len, keylen;
	struct sr_buf mine;
	int rc;

	if ((rc = sb_link_recv(&s->l, MSG_HELLO, &b, &len, err)))
		return rc;
	if (len < 24 + PARAMS_LEN + 4)
		return sb_bad_len(err, &s->l, MSG_HELLO, len + 2, 2 + 24 + PARAMS_LEN + 4);
	keylen = sr_load_u32le(b + 24 + PARAMS_LEN);
	if (len != 24 + PARAMS_LEN + 4 + keylen)
		return sb_bad_len(err, &s->l, MSG_HELLO, len + 2, 2 + 24 + PARAMS_LEN + 4 + keylen);
	s->part->party = sr_load_u32le(b);
	if (s->part->party < 1 || s->part->party > SR_ML_SB_PASSIVE_MAX ||
	    sr_load_u32le(b + 4) < s->part->party || sr_load_u32le(b + 4) > SR_ML_SB_PASSIVE_MAX)
		return sr_fail(err, SR_EPROTO, "secureboost: HELLO from the active party: party %u of %u",
			       s->part->party, sr_load_u32le(b + 4));
	if (sr_load_u64le(b + 8) != s->f.rows)
		return sr_fail(err, SR_EINVAL,
			       "secureboost: the active party has %llu aligned training rows, this party %zu",
			       (unsigned long long)sr_load_u64le(b + 8), s->f.rows);
	if (sr_load_u64le(b + 16) != s->f.vrows)
		return sr_fail(err, SR_EINVAL,
			       "secureboost: the active party has %llu validation rows, this party %zu",
			       (unsigned long long)sr_load_u64le(b + 16), s->f.vrows);
	sr_buf_init(&mine, 0);
	if (put_params(&mine, s->p)) {
		sr_buf_release(&mine);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	rc = memcmp(mine.data, b + 24, PARAMS_LEN);
	sr_buf_release(&mine);
	if (rc)
		return sr_fail(err, SR_EINVAL,
			       "secureboost: the active party's training parameters differ from this party's");
	if ((rc = sr_he_pk_decode_bits(b + 28 + PARAMS_LEN, keylen, s->p->key_bits, s->p->pool,
				       &s->pk, err)))
		return sr_err_prefix(err, "secureboost: HELLO from the active party: key");
	return SR_OK;
}

static int passive_layout(struct passive *s, struct sr_err *err)
{
	int rc = sb_msg_start(&s->out, MSG_LAYOUT);

	rc |= sr_buf_add_u32le(&s->out, (uint32_t)s->f.layout.cols);
	for (size_t c = 0; c < s->f.layout.cols; c++)
		rc |= sr_buf_add_u32le(&s->out, s->f.layout.nbins[c]);
	if (rc)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return sb_link_send(&s->l, &s->out, err);
}

/* Receive the batches of a tree's row ciphertexts, selected rows in order. */
static int passive_tree(struct passive *s, const uint8_t *b, size_t len, struct sr_err *err)
{
	size_t need = sb_bitmap_bytes(s->f.rows), nsel, got = 0;
	unsigned vb;
	int rc;

	if (len != 16 + need)
		return sb_bad_len(err, &s->l, MSG_TREE, len + 2, 2 + 16 + need);
	vb = sr_load_u32le(b + 4);
	nsel = sr_load_u64le(b + 8);
	if (!sb_bitmap_check(b + 16, s->f.rows))
		return sr_fail(err, SR_EPROTO, "secureboost: TREE from the active party: bits past the last row");
	tree_rows_release(&s->t);
	if ((rc = tree_rows_init(&s->t, b + 16, s->f.rows, s->f.vrows, err)))
		return rc;
	if (s->t.nsel != nsel || vb > 62)
		return sr_fail(err, SR_EPROTO,
			       "secureboost: TREE from the active party: %zu rows sampled, %zu in its bitmap, value bits %u",
			       nsel, s->t.nsel, vb);
	if ((rc = packing_init(&s->pack, vb, nsel, s->p->key_bits, err)))
		return rc;
	while (got < nsel) {
		mpz_t *cts = NULL;
		size_t count = 0;
		if ((rc = sb_link_recv(&s->l, MSG_CTS, &b, &len, err)))
			return rc;
		if ((rc = cts_get(&s->l, MSG_CTS, s->pk, s->p->pool, b, len, SR_ML_SB_CT_CHUNK, &cts, &count, err)))
			return rc;
		if (count == 0 || count > nsel - got) {
			cts_free(cts, count);
			return sr_fail(err, SR_EPROTO,
				       "secureboost: CTS from the active party: %zu ciphertexts, %zu expected at most",
				       count, nsel - got);
		}
		for (size_t i = 0; i < count; i++)
			sr_he_mcts_set(s->row_ct, s->t.sel[got + i], cts[i]);
		got += count;
		cts_free(cts, count);
	}
	return SR_OK;
}

/*
 * The node's bin sums are built in two passes so that a row costs one
 * ciphertext addition per pair of features, not one per feature: pass 1
 * (hist_cells) adds each row into the cell of its two bins of a feature
 * pair (a feature alone straight into its bins); pass 2 (hist_bins) adds
 * each non-empty cell into its bin of either feature.  A pair's cost is
 * T - cells + 2 cells - bins instead of 2 (T - bins) for T rows and
 * `cells` non-empty cells (at most 33^2 = 1089 with 32 bins), never more.
 * The sums are the same products mod n^2, so the same ciphertexts.
 */
static size_t slots_of(const struct passive *s, size_t c)
{
	return s->f.layout.offset[c + 1] - s->f.layout.offset[c];
}

/* sum slot i ⊕= ct slot j, which holds `terms` rows. */
static void ct_accumulate(struct sr_he_mcts *sum, size_t i, uint32_t *cnt,
			  const struct sr_he_mcts *ct, size_t j, uint32_t terms)
{
	if ((*cnt)++ == 0)
		sr_he_mcts_copy(sum, i, ct, j);
	else
		sr_he_mcts_add(sum, i, ct, j);
	*cnt += terms - 1;
}

/* Task 2 g + half: group g, the rows whose first feature's bin is in the
 * lower (half 0) or upper half of its bins. */
static int hist_cells(void *ctx, size_t task, struct sr_err *err)
{
	struct passive *s = ctx;
	const struct span *sp = &s->t.nodes[s->hist_node];
	const struct sb_group *g = &s->groups[task / 2];
	size_t mid = slots_of(s, g->c1) / 2;
	const uint16_t *col1 = s->f.codes + g->c1 * s->f.rows;
	const uint16_t *col2 = g->c2 == SB_ALONE ? NULL : s->f.codes + g->c2 * s->f.rows;
	int upper = (int)(task % 2);

	(void)err;
	for (size_t i = 0; i < sp->sel_cnt; i++) {
		uint32_t r = s->t.sel[sp->sel_off + i];
		size_t b1 = col1[r], at;
		if ((b1 >= mid) != upper)
			continue;
		if (col2) {
			at = g->cell_off + b1 * slots_of(s, g->c2) + col2[r];
			ct_accumulate(s->cell_ct, at, &s->cell_cnt[at], s->row_ct, r, 1);
		} else {
			at = s->f.layout.offset[g->c1] + b1;
			ct_accumulate(s->slot_ct, at, &s->slot_cnt[at], s->row_ct, r, 1);
		}
	}
	return SR_OK;
}

/* Task 2 g + second: the bins of a pair's first or second feature from
 * its cells (nothing for a feature alone). */
static int hist_bins(void *ctx, size_t task, struct sr_err *err)
{
	struct passive *s = ctx;
	const struct sb_group *g = &s->groups[task / 2];
	int second = (int)(task % 2);
	size_t n1, n2, off, nb, nother;

	(void)err;
	if (g->c2 == SB_ALONE)
		return SR_OK;
	n1 = slots_of(s, g->c1);
	n2 = slots_of(s, g->c2);
	off = s->f.layout.offset[second ? g->c2 : g->c1];
	nb = second ? n2 : n1;
	nother = second ? n1 : n2;
	for (size_t b = 0; b < nb; b++)
		for (size_t o = 0; o < nother; o++) {
			size_t at = g->cell_off + (second ? o * n2 + b : b * n2 + o);
			if (s->cell_cnt[at])
				ct_accumulate(s->slot_ct, off + b, &s->slot_cnt[off + b],
					      s->cell_ct, at, s->cell_cnt[at]);
		}
	return SR_OK;
}

/* Group the features: neighbours in pairs while the caps allow. */
static int groups_init(struct passive *s, struct sr_err *err)
{
	size_t cols = s->f.layout.cols, c = 0;
	int rc;

	s->groups = sr_calloc(cols ? cols : 1, sizeof(*s->groups));
	if (!s->groups)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	while (c < cols) {
		struct sb_group *g = &s->groups[s->ngroups++];
		size_t cells = c + 1 < cols ? slots_of(s, c) * slots_of(s, c + 1) : 0;
		if (cells && cells <= SB_PAIR_CELLS_MAX && s->ncells + cells <= SB_CELLS_MAX) {
			*g = (struct sb_group){ c, c + 1, s->ncells };
			s->ncells += cells;
			c += 2;
		} else {
			*g = (struct sb_group){ c, SB_ALONE, 0 };
			c++;
		}
	}
	if ((rc = sr_he_mcts_new(s->pk, s->ncells, &s->cell_ct, err)))
		return rc;
	s->cell_cnt = sr_calloc(s->ncells ? s->ncells : 1, sizeof(*s->cell_cnt));
	if (!s->cell_cnt)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return SR_OK;
}

/* Histogram ciphertext j: bins j*per .. by Horner, padded, rerandomized. */
static int hist_pack(void *ctx, size_t j, struct sr_err *err)
{
	struct passive *s = ctx;
	const struct span *sp = &s->t.nodes[s->hist_node];
	size_t first = j * s->pack.per, last = first + s->pack.per;
	unsigned sb = s->pack.slot_bits;
	mpz_t shift, pad, term, slot;
	int rc = SR_OK;

	if (last > s->slots)
		last = s->slots;
	mpz_inits(shift, pad, term, slot, NULL);
	mpz_set_ui(shift, 1);
	mpz_mul_2exp(shift, shift, 2 * sb);
	mpz_set_ui(s->hist_ct[j], 1);
	mpz_set_ui(pad, 0);
	for (size_t k = last; k-- > first;) {
		uint64_t missing = sp->sel_cnt - s->slot_cnt[k];
		if (k + 1 < last) {
			rc = sr_he_mul_plain(s->pk, s->hist_ct[j], shift, s->hist_ct[j], err);
			if (rc)
				break;
		}
		if (s->slot_cnt[k]) {
			sr_he_mcts_get(s->slot_ct, k, slot);
			sr_he_add(s->pk, s->hist_ct[j], slot, s->hist_ct[j]);
		}
		/* pad = pad 2^(2 sb) + missing off (1 + 2^sb) */
		mpz_mul_2exp(pad, pad, 2 * sb);
		mpz_set_ui(term, missing);
		mpz_mul_2exp(term, term, s->pack.value_bits - 1);
		mpz_add(pad, pad, term);
		mpz_mul_2exp(term, term, sb);
		mpz_add(pad, pad, term);
	}
	if (rc == SR_OK) {
		sr_he_add_plain(s->pk, s->hist_ct[j], pad, s->hist_ct[j]);
		rc = sr_he_rerandomize(s->pk, s->hist_ct[j], s->hist_ct[j], err);
	}
	mpz_clears(shift, pad, term, slot, NULL);
	return rc;
}

static int passive_hist(struct passive *s, uint32_t node, struct sr_err *err)
{
	uint64_t t0 = now_ns();
	size_t nct = (s->slots + s->pack.per - 1) / s->pack.per;
	int rc;

	s->hist_node = node;
	memset(s->slot_cnt, 0, s->slots * sizeof(*s->slot_cnt));
	memset(s->cell_cnt, 0, s->ncells * sizeof(*s->cell_cnt));
	if ((rc = sr_pool_run(s->p->pool, 2 * s->ngroups, hist_cells, s, err)) ||
	    (rc = sr_pool_run(s->p->pool, 2 * s->ngroups, hist_bins, s, err)) ||
	    (rc = sr_pool_run(s->p->pool, nct, hist_pack, s, err)))
		return rc;
	if (s->stats)
		s->stats->hist_ns += now_ns() - t0;
	if ((rc = sb_msg_start(&s->out, MSG_HIST)) || (rc = sr_buf_add_u32le(&s->out, node)) ||
	    (rc = cts_put(&s->out, s->pk, s->hist_ct, nct)))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return sb_link_send(&s->l, &s->out, err);
}

static int passive_split(struct passive *s, const uint8_t *b, size_t len, struct sr_err *err)
{
	uint32_t node, left, right;
	unsigned hist, mode;
	struct span *sp;
	size_t nbits, nb;
	uint8_t *bits = NULL;
	int rc;

	if (len < 14)
		return sb_bad_len(err, &s->l, MSG_SPLIT, len + 2, 16);
	node = sr_load_u32le(b);
	left = sr_load_u32le(b + 4);
	right = sr_load_u32le(b + 8);
	hist = b[12];
	mode = b[13];
	if (node >= s->t.nnodes || s->t.nodes[node].state != 1 || left < s->t.nnodes ||
	    right != left + 1 || right > (1u << 20) || hist > 3 || mode > 1 ||
	    (hist == 3) != (mode == 1 && hist != 0))
		return sr_fail(err, SR_EPROTO,
			       "secureboost: SPLIT from the active party: node %u -> %u, %u (hist %u, mode %u) does not fit the tree",
			       node, left, right, hist, mode);
	if ((rc = tree_rows_reserve(&s->t, (size_t)right + 1, err)))
		return rc;
	sp = &s->t.nodes[node];
	nbits = sp->sel_cnt + sp->oth_cnt;
	nb = sb_bitmap_bytes(nbits);
	if (mode == 0) {
		if (len != 14 + nb)
			return sb_bad_len(err, &s->l, MSG_SPLIT, len + 2, 16 + nb);
		if (!sb_bitmap_check(b + 14, nbits))
			return sr_fail(err, SR_EPROTO, "secureboost: SPLIT from the active party: bits past the node's rows");
		tree_rows_split(&s->t, node, left, right, b + 14);
	} else {
		uint32_t feature, bin;
		unsigned ml;
		struct sr_ml_sb_split *sl;
		if (len != 14 + 9)
			return sb_bad_len(err, &s->l, MSG_SPLIT, len + 2, 16 + 9);
		feature = sr_load_u32le(b + 14);
		bin = sr_load_u32le(b + 18);
		ml = b[22];
		if (feature >= s->f.layout.cols || bin + 1 >= s->f.layout.nbins[feature] || ml > 1)
			return sr_fail(err, SR_EPROTO,
				       "secureboost: SPLIT from the active party: feature %u bin %u is out of range",
				       feature, bin);
		if (s->part->nsplits == s->splits_cap) {
			size_t cap = s->splits_cap ? s->splits_cap * 2 : 64;
			sl = sr_realloc(s->part->splits, cap * sizeof(*sl));
			if (!sl)
				return sr_fail(err, SR_ENOMEM, "out of memory");
			s->part->splits = sl;
			s->splits_cap = cap;
		}
		sl = &s->part->splits[s->part->nsplits];
		sl->feature = feature;
		sl->bin = bin;
		sl->threshold = s->f.bins.cuts[feature][bin];
		sl->missing_left = (int)ml;
		bits = sr_calloc(nb ? nb : 1, 1);
		if (!bits)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		split_bitmap(&s->f, &s->t, node, feature, bin, (int)ml, bits);
		rc = sb_msg_start(&s->out, MSG_SPLIT_BITS);
		rc |= sr_buf_add_u32le(&s->out, node);
		rc |= sr_buf_add_u32le(&s->out, (uint32_t)s->part->nsplits);
		rc |= sr_buf_add(&s->out, bits, nb);
		s->part->nsplits++;
		if (rc) {
			sr_free(bits);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		tree_rows_split(&s->t, node, left, right, bits);
		sr_free(bits);
		if ((rc = sb_link_send(&s->l, &s->out, err)))
			return rc;
	}
	/* 3: the smaller child by sampled rows, left on a tie (gbdt.c's rule). */
	if (hist == 3)
		hist = s->t.nodes[left].sel_cnt <= s->t.nodes[right].sel_cnt ? 1 : 2;
	if (hist)
		return passive_hist(s, hist == 1 ? left : right, err);
	return SR_OK;
}

int sr_ml_sb_passive(const struct sr_ml_sb_params *p,
		     const struct sr_ml_data *train, const struct sr_ml_data *valid,
		     const struct sr_pipe *active,
		     struct sr_ml_sb_part *out, struct sr_ml_sb_stats *stats,
		     struct sr_err *err)
{
	struct passive s;
	uint64_t t0 = now_ns();
	int rc, in_tree = 0;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.p = p;
	s.part = out;
	s.stats = stats;
	sr_buf_init(&s.out, SR_BUF_UNBOUNDED);
	sb_link_init(&s.l, active, stats);
	s.l.peer = "the active party";
	if ((rc = sr_ml_sb_params_check(p, err)))
		goto out;
	s.g = effective(p);
	if ((rc = feats_init(&s.f, train, valid, s.g.max_bins, err)))
		goto out;
	out->cols = train->cols;
	s.slots = s.f.layout.offset[s.f.layout.cols];
	if ((rc = passive_hello(&s, err)))
		goto out;
	{
		struct packing worst = { 0 };
		if ((rc = packing_init(&worst, 2, s.f.rows, p->key_bits, err)))
			goto out;
		if ((s.slots + worst.per - 1) / worst.per > SR_ML_SB_CT_CHUNK) {
			rc = sr_fail(err, SR_ELIMIT, "secureboost: %zu histogram bins, too many for one message",
				     s.slots);
			goto out;
		}
	}
	if ((rc = sr_he_mcts_new(s.pk, s.f.rows, &s.row_ct, err)) ||
	    (rc = sr_he_mcts_new(s.pk, s.slots, &s.slot_ct, err)) ||
	    (rc = sr_he_cts_new(s.slots, &s.hist_ct, err)))
		goto out;
	if ((rc = groups_init(&s, err)))
		goto out;
	s.slot_cnt = sr_calloc(s.slots, sizeof(*s.slot_cnt));
	if (!s.slot_cnt) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = passive_layout(&s, err)))
		goto out;
	for (;;) {
		const uint8_t *b;
		size_t len;
		unsigned type;

		rc = s.l.pipe->recv(s.l.pipe->ctx, &s.l.in, SR_ML_SB_MSG_MAX, err);
		if (rc) {
			sr_err_prefix(err, "secureboost: waiting for the active party");
			goto out;
		}
		if (stats)
			stats->bytes_received += s.l.in.len;
		b = (const uint8_t *)s.l.in.data;
		len = s.l.in.len;
		if (len < 2 || b[0] != SR_ML_SB_VERSION) {
			rc = sr_fail(err, SR_EPROTO, "secureboost: message from the active party: %s",
				     len < 2 ? "too short" : "wrong version");
			goto out;
		}
		type = b[1];
		b += 2;
		len -= 2;
		if (type == MSG_TREE) {
			if ((rc = passive_tree(&s, b, len, err)))
				goto out;
			in_tree = 1;
			if (stats)
				stats->trees++;
		} else if (type == MSG_SPLIT && in_tree) {
			if ((rc = passive_split(&s, b, len, err)))
				goto out;
		} else if (type == MSG_END) {
			if (len != 8) {
				rc = sb_bad_len(err, &s.l, MSG_END, len + 2, 10);
				goto out;
			}
			break;
		} else {
			rc = sr_fail(err, SR_EPROTO, "secureboost: unexpected message type %u from the active party",
				     type);
			goto out;
		}
		/* The root's histogram follows every TREE. */
		if (type == MSG_TREE && (rc = passive_hist(&s, 0, err)))
			goto out;
	}
	if ((rc = sb_msg_start(&s.out, MSG_DONE)) ||
	    (rc = sr_buf_add_u32le(&s.out, (uint32_t)out->nsplits))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	rc = sb_link_send(&s.l, &s.out, err);
out:
	if (stats)
		stats->total_ns += now_ns() - t0;
	if (rc)
		sr_ml_sb_part_release(out);
	tree_rows_release(&s.t);
	sr_he_mcts_free(s.row_ct);
	sr_he_mcts_free(s.slot_ct);
	if (s.hist_ct)
		sr_he_cts_free(s.hist_ct, s.slots);
	sr_free(s.slot_cnt);
	sr_he_mcts_free(s.cell_ct);
	sr_free(s.cell_cnt);
	sr_free(s.groups);
	sr_he_pk_free(s.pk);
	feats_release(&s.f);
	sr_buf_release(&s.out);
	sr_buf_release(&s.l.in);
	return rc;
}

/* ---- the active party ------------------------------------------------------ */

struct active {
	const struct sr_ml_sb_params *p;
	struct sr_ml_gbdt_params g;
	struct feats f;
	size_t np;                      /* passive parties */
	struct sb_link *l;                 /* np */
	struct sr_he_pk *pk;
	struct sr_he_sk *sk;
	struct sr_buf out;
	struct sr_ml_layout all;        /* A's features, then each party's */
	size_t *col_off;                /* np + 2: first pooled column of party i */
	size_t *splits;                 /* np: split ids handed to party i */
	unsigned char *mask;            /* all.cols: the first tree's features */
	const unsigned char *use_mask;
	int local_tree;                 /* this tree on A's features only: no messages */
	double *gr, *hs, *margin, *vmargin;
	struct tree_rows t;
	struct packing pack;
	struct sr_ml_sb_tree *tree;
	size_t cap;
	uint8_t *bits;                  /* a node's bitmap */
	mpz_t *dec;                     /* decryption scratch */
	size_t ndec;
	struct sr_ml_sb_stats *stats;
};

static int active_add_node(struct active *a, uint32_t *index, struct sr_err *err)
{
	if (a->tree->nnodes == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct sr_ml_sb_node *n = sr_realloc(a->tree->nodes, cap * sizeof(*n));
		if (!n)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		a->tree->nodes = n;
		a->cap = cap;
	}
	memset(&a->tree->nodes[a->tree->nnodes], 0, sizeof(struct sr_ml_sb_node));
	*index = (uint32_t)a->tree->nnodes++;
	return SR_OK;
}

/* Which party owns pooled column c (0 = A). */
static size_t owner_of(const struct active *a, size_t c)
{
	size_t i = 0;

	while (c >= a->col_off[i + 1])
		i++;
	return i;
}

static int active_hello(struct active *a, struct sr_err *err)
{
	struct sr_buf key;
	int rc;

	sr_buf_init(&key, 0);
	if ((rc = sr_he_pk_encode(a->pk, &key, err)))
		goto out;
	for (size_t i = 0; i < a->np; i++) {
		int bad = sb_msg_start(&a->out, MSG_HELLO);
		bad |= sr_buf_add_u32le(&a->out, (uint32_t)(i + 1));
		bad |= sr_buf_add_u32le(&a->out, (uint32_t)a->np);
		bad |= sr_buf_add_u64le(&a->out, a->f.rows);
		bad |= sr_buf_add_u64le(&a->out, a->f.vrows);
		bad |= put_params(&a->out, a->p);
		bad |= sr_buf_add_u32le(&a->out, (uint32_t)key.len);
		bad |= sr_buf_add(&a->out, key.data, key.len);
		if (bad) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = sb_link_send(&a->l[i], &a->out, err)))
			goto out;
	}
out:
	sr_buf_release(&key);
	return rc;
}

/* Every party's layout, into a->all (A's own first). */
static int active_layouts(struct active *a, struct sr_err *err)
{
	uint32_t **nb = NULL;
	size_t total, slots;
	int rc = SR_OK;

	a->col_off = sr_calloc(a->np + 2, sizeof(*a->col_off));
	a->splits = sr_calloc(a->np + 1, sizeof(*a->splits));
	nb = sr_calloc(a->np + 1, sizeof(*nb));
	if (!a->col_off || !a->splits || !nb) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	a->col_off[1] = a->f.layout.cols;
	for (size_t i = 0; i < a->np; i++) {
		const uint8_t *b;
		size_t len, cols;
		if ((rc = sb_link_recv(&a->l[i], MSG_LAYOUT, &b, &len, err)))
			goto out;
		cols = len >= 4 ? sr_load_u32le(b) : 0;
		if (len < 4 || len != 4 + 4 * cols || cols == 0) {
			rc = cols == 0 && len >= 4 ?
				sr_fail(err, SR_EPROTO, "secureboost: LAYOUT from %s: no features", a->l[i].peer) :
				sb_bad_len(err, &a->l[i], MSG_LAYOUT, len + 2, 2 + 4 + 4 * cols);
			goto out;
		}
		nb[i + 1] = sr_calloc(cols, sizeof(uint32_t));
		if (!nb[i + 1]) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t c = 0; c < cols; c++) {
			nb[i + 1][c] = sr_load_u32le(b + 4 + 4 * c);
			if (nb[i + 1][c] < 1 || nb[i + 1][c] > a->g.max_bins) {
				rc = sr_fail(err, SR_EPROTO,
					     "secureboost: LAYOUT from %s: feature %zu has %u bins, expected 1 to %u",
					     a->l[i].peer, c, nb[i + 1][c], a->g.max_bins);
				goto out;
			}
		}
		a->col_off[i + 2] = a->col_off[i + 1] + cols;
	}
	total = a->col_off[a->np + 1];
	a->all.cols = total;
	a->all.nbins = sr_calloc(total, sizeof(*a->all.nbins));
	a->all.offset = sr_calloc(total + 1, sizeof(*a->all.offset));
	a->mask = sr_calloc(total, 1);
	if (!a->all.nbins || !a->all.offset || !a->mask) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	slots = 0;
	for (size_t c = 0; c < total; c++) {
		size_t i = owner_of(a, c);
		uint32_t n = i == 0 ? a->f.layout.nbins[c] : nb[i][c - a->col_off[i]];
		a->all.nbins[c] = n;
		a->all.offset[c] = slots;
		slots += n + 1;
		a->mask[c] = i == 0;
	}
	a->all.offset[total] = slots;
out:
	for (size_t i = 0; nb && i <= a->np; i++)
		sr_free(nb[i]);
	sr_free(nb);
	return rc;
}

/* Encrypt the sampled rows' packed (g, h) and send them with TREE. */
static int active_tree_start(struct active *a, unsigned t, const uint8_t *sel_bits,
			     struct sr_err *err)
{
	unsigned k = a->g.grad_frac_bits;
	uint64_t maxq = 0, t0 = now_ns();
	size_t nsel = a->t.nsel;
	mpz_t *m = NULL, *c = NULL, off;
	int rc;

	for (size_t i = 0; i < nsel; i++) {
		uint32_t r = a->t.sel[i];
		uint64_t qg = (uint64_t)llabs(llrint(ldexp(a->gr[r], (int)k)));
		uint64_t qh = (uint64_t)llabs(llrint(ldexp(a->hs[r], (int)k)));
		if (qg > maxq)
			maxq = qg;
		if (qh > maxq)
			maxq = qh;
	}
	if (maxq >= (1ull << 60))
		return sr_fail(err, SR_ELIMIT, "secureboost: tree %u: a gradient of 2^%u units, too large (lower grad_frac_bits)",
			       t, bit_length(maxq) - 1);
	if ((rc = packing_init(&a->pack, bit_length(maxq) + 1 < 2 ? 2 : bit_length(maxq) + 1,
			       nsel, a->p->key_bits, err)))
		return rc;
	if ((rc = sr_he_cts_new(nsel ? nsel : 1, &m, err)))
		return rc;
	if ((rc = sr_he_cts_new(nsel ? nsel : 1, &c, err))) {
		sr_he_cts_free(m, nsel ? nsel : 1);
		return rc;
	}
	mpz_init_set_ui(off, 1);
	mpz_mul_2exp(off, off, a->pack.value_bits - 1);
	for (size_t i = 0; i < nsel; i++) {
		uint32_t r = a->t.sel[i];
		mpz_set_si(m[i], llrint(ldexp(a->hs[r], (int)k)));
		mpz_add(m[i], m[i], off);
		mpz_mul_2exp(m[i], m[i], a->pack.slot_bits);
		mpz_add(m[i], m[i], off);
		if (llrint(ldexp(a->gr[r], (int)k)) >= 0)
			mpz_add_ui(m[i], m[i], (unsigned long)llrint(ldexp(a->gr[r], (int)k)));
		else
			mpz_sub_ui(m[i], m[i], (unsigned long)-llrint(ldexp(a->gr[r], (int)k)));
	}
	mpz_clear(off);
	rc = sr_he_encrypt_sk_batch(a->sk, a->p->pool, m, c, nsel, err);
	if (a->stats)
		a->stats->encrypt_ns += now_ns() - t0;
	if (rc)
		goto out;
	for (size_t i = 0; i < a->np; i++) {
		int bad = sb_msg_start(&a->out, MSG_TREE);
		bad |= sr_buf_add_u32le(&a->out, t);
		bad |= sr_buf_add_u32le(&a->out, a->pack.value_bits);
		bad |= sr_buf_add_u64le(&a->out, nsel);
		bad |= sr_buf_add(&a->out, sel_bits, sb_bitmap_bytes(a->f.rows));
		if (bad) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = sb_link_send(&a->l[i], &a->out, err)))
			goto out;
	}
	for (size_t first = 0; first < nsel; first += SR_ML_SB_CT_CHUNK) {
		size_t count = nsel - first < SR_ML_SB_CT_CHUNK ? nsel - first : SR_ML_SB_CT_CHUNK;
		if ((rc = sb_msg_start(&a->out, MSG_CTS)) ||
		    (rc = cts_put(&a->out, a->pk, c + first, count))) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < a->np; i++)
			if ((rc = sb_link_send(&a->l[i], &a->out, err)))
				goto out;
	}
out:
	sr_he_cts_free(m, nsel ? nsel : 1);
	sr_he_cts_free(c, nsel ? nsel : 1);
	return rc;
}

/* Receive, decrypt and unpack node's histograms into hist (passive slots). */
static int active_recv_hists(struct active *a, uint32_t node, struct sr_ml_hist *hist,
			     struct sr_err *err)
{
	uint64_t T = a->t.nodes[node].sel_cnt;
	unsigned sb = a->pack.slot_bits, k = a->g.grad_frac_bits;
	uint64_t off = 1ull << (a->pack.value_bits - 1);
	mpz_t chunk;
	int rc = SR_OK;

	mpz_init(chunk);
	for (size_t i = 0; i < a->np; i++) {
		size_t c0 = a->col_off[i + 1], c1 = a->col_off[i + 2];
		size_t s0 = a->all.offset[c0], nslots = a->all.offset[c1] - s0;
		size_t want = (nslots + a->pack.per - 1) / a->pack.per, count = 0;
		const uint8_t *b;
		size_t len;
		mpz_t *cts = NULL;
		uint64_t t0;

		if (want > a->ndec) {
			rc = sr_fail(err, SR_ELIMIT, "secureboost: %s has %zu histogram bins, too many for one message",
				     a->l[i].peer, nslots);
			goto out;
		}
		if ((rc = sb_link_recv(&a->l[i], MSG_HIST, &b, &len, err)))
			goto out;
		if (len < 4 || sr_load_u32le(b) != node) {
			rc = sr_fail(err, SR_EPROTO, "secureboost: HIST from %s: not for node %u",
				     a->l[i].peer, node);
			goto out;
		}
		if ((rc = cts_get(&a->l[i], MSG_HIST, a->pk, a->p->pool, b + 4, len - 4, want, &cts, &count, err)))
			goto out;
		if (count != want) {
			cts_free(cts, count);
			rc = sr_fail(err, SR_EPROTO, "secureboost: HIST from %s: %zu ciphertexts, expected %zu",
				     a->l[i].peer, count, want);
			goto out;
		}
		t0 = now_ns();
		rc = sr_he_decrypt_batch(a->sk, a->p->pool, cts, a->dec, count, err);
		if (a->stats) {
			a->stats->decrypt_ns += now_ns() - t0;
			a->stats->ciphertexts_decrypted += count;
		}
		cts_free(cts, count);
		if (rc)
			goto out;
		for (size_t s = 0; s < nslots; s++) {
			mpz_srcptr m = a->dec[s / a->pack.per];
			size_t pos = (s % a->pack.per) * 2 * sb;
			uint64_t v[2];
			for (int h = 0; h < 2; h++) {
				mpz_tdiv_q_2exp(chunk, m, pos + (size_t)h * sb);
				mpz_tdiv_r_2exp(chunk, chunk, sb);
				v[h] = mpz_get_ui(chunk);
				if (v[h] < T || v[h] > T * (2 * off - 1)) {
					rc = sr_fail(err, SR_EPROTO,
						     "secureboost: HIST from %s: bin %zu of node %u is out of range",
						     a->l[i].peer, s, node);
					goto out;
				}
			}
			hist->g[s0 + s] = ldexp((double)((int64_t)(v[0] - T * off)), -(int)k);
			hist->h[s0 + s] = ldexp((double)((int64_t)(v[1] - T * off)), -(int)k);
			if (hist->h[s0 + s] < 0) {
				rc = sr_fail(err, SR_EPROTO,
					     "secureboost: HIST from %s: bin %zu of node %u has a negative hessian sum",
					     a->l[i].peer, s, node);
				goto out;
			}
		}
		for (size_t j = 0; j < count; j++) {
			size_t used = j + 1 < count ? a->pack.per : nslots - j * a->pack.per;
			if (mpz_sizeinbase(a->dec[j], 2) > used * 2 * sb && mpz_sgn(a->dec[j])) {
				rc = sr_fail(err, SR_EPROTO, "secureboost: HIST from %s: bits past the last bin",
					     a->l[i].peer);
				goto out;
			}
		}
	}
out:
	mpz_clear(chunk);
	return rc;
}

/* The histogram of node: A's own bins built here, the others received. */
static int active_node_hist(struct active *a, uint32_t node, struct sr_ml_hist *hist,
			    struct sr_err *err)
{
	const struct span *sp = &a->t.nodes[node];
	struct sr_ml_hist own = { a->all.offset[a->col_off[1]], hist->g, hist->h };

	sr_ml_hist_build(&own, &a->f.layout, a->f.codes, a->f.rows, a->t.sel + sp->sel_off,
			 sp->sel_cnt, a->gr, a->hs);
	return a->local_tree ? SR_OK : active_recv_hists(a, node, hist, err);
}

static int send_split(struct active *a, size_t i, uint32_t node, uint32_t left, unsigned hist,
		      unsigned mode, const uint8_t *bits, size_t nb, const struct sr_ml_split *s,
		      struct sr_err *err)
{
	int bad = sb_msg_start(&a->out, MSG_SPLIT);

	bad |= sr_buf_add_u32le(&a->out, node);
	bad |= sr_buf_add_u32le(&a->out, left);
	bad |= sr_buf_add_u32le(&a->out, left + 1);
	bad |= sb_add_u8(&a->out, hist);
	bad |= sb_add_u8(&a->out, mode);
	if (mode == 0) {
		bad |= sr_buf_add(&a->out, bits, nb);
	} else {
		bad |= sr_buf_add_u32le(&a->out, (uint32_t)(s->feature - a->col_off[i + 1]));
		bad |= sr_buf_add_u32le(&a->out, s->bin);
		bad |= sb_add_u8(&a->out, s->missing_left ? 1 : 0);
	}
	if (bad)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return sb_link_send(&a->l[i], &a->out, err);
}

/* Grow node index (hist taken), as gbdt.c's grow does on pooled data. */
static int active_grow(struct active *a, uint32_t index, double g_sum, double h_sum,
		       struct sr_ml_hist *hist, unsigned depth, struct sr_err *err)
{
	struct sr_ml_hist small = { 0 }, big = { 0 };
	struct sr_ml_split s;
	uint32_t left, right, split_id = 0;
	size_t owner, nbits, nb, nl, T;
	int need_hist, small_left, rc;
	struct span *sp;

	a->tree->nodes[index].cover = h_sum;
	s.found = 0;
	if (depth < a->g.depth)
		sr_ml_split_find(&a->all, hist, g_sum, h_sum, &a->g.tree, a->use_mask, &s);
	if (!s.found) {
		a->tree->nodes[index].value = a->g.learning_rate *
			sr_ml_leaf_weight(g_sum, h_sum, a->g.tree.lambda);
		sr_ml_hist_release(hist);
		return SR_OK;
	}
	if ((rc = active_add_node(a, &left, err)) || (rc = active_add_node(a, &right, err)) ||
	    (rc = tree_rows_reserve(&a->t, (size_t)right + 1, err))) {
		sr_ml_hist_release(hist);
		return rc;
	}
	need_hist = depth + 1 < a->g.depth;
	owner = owner_of(a, s.feature);
	sp = &a->t.nodes[index];
	T = sp->sel_cnt;
	nbits = sp->sel_cnt + sp->oth_cnt;
	nb = sb_bitmap_bytes(nbits);
	if (owner == 0) {
		split_bitmap(&a->f, &a->t, index, (uint32_t)s.feature, s.bin, s.missing_left, a->bits);
	} else {
		const uint8_t *b;
		size_t len;
		struct sb_link *l = &a->l[owner - 1];
		if ((rc = send_split(a, owner - 1, index, left, need_hist ? 3 : 0, 1, NULL, 0, &s, err)) ||
		    (rc = sb_link_recv(l, MSG_SPLIT_BITS, &b, &len, err)))
			goto out;
		if (len != 8 + nb) {
			rc = sb_bad_len(err, l, MSG_SPLIT_BITS, len + 2, 10 + nb);
			goto out;
		}
		split_id = sr_load_u32le(b + 4);
		if (sr_load_u32le(b) != index || split_id != a->splits[owner] ||
		    !sb_bitmap_check(b + 8, nbits)) {
			rc = sr_fail(err, SR_EPROTO, "secureboost: SPLIT_BITS from %s: node %u split %u, expected node %u split %zu",
				     l->peer, sr_load_u32le(b), split_id, index, a->splits[owner]);
			goto out;
		}
		a->splits[owner]++;
		memcpy(a->bits, b + 8, nb);
	}
	/* The owner's partition must give the histogram's left sums. */
	{
		double gl = 0, hl = 0;
		nl = 0;
		for (size_t i = 0; i < T; i++)
			if (sb_bit_get(a->bits, i)) {
				uint32_t r = a->t.sel[sp->sel_off + i];
				gl += a->gr[r];
				hl += a->hs[r];
				nl++;
			}
		if (gl != s.g_left || hl != s.h_left) {
			rc = sr_fail(err, SR_EPROTO,
				     "secureboost: SPLIT_BITS from %s: the partition disagrees with the histogram",
				     owner ? a->l[owner - 1].peer : "this party");
			goto out;
		}
	}
	small_left = nl <= T - nl;
	for (size_t i = 0; need_hist && !a->local_tree && i < a->np; i++)
		if (i + 1 != owner &&
		    (rc = send_split(a, i, index, left, small_left ? 1 : 2, 0, a->bits, nb, NULL, err)))
			goto out;
	tree_rows_split(&a->t, index, left, right, a->bits);
	{
		struct sr_ml_sb_node *node = &a->tree->nodes[index];
		node->left = left;
		node->right = right;
		node->owner = (uint32_t)owner;
		node->gain = s.gain;
		if (owner == 0) {
			node->feature = (uint32_t)s.feature;
			node->bin = s.bin;
			node->threshold = a->f.bins.cuts[s.feature][s.bin];
			node->missing_left = s.missing_left;
		} else {
			node->split_id = split_id;
		}
	}
	if ((rc = sr_ml_hist_init(&small, &a->all, err)) || (rc = sr_ml_hist_init(&big, &a->all, err)))
		goto out;
	if (need_hist) {
		if ((rc = active_node_hist(a, small_left ? left : right, &small, err)))
			goto out;
		sr_ml_hist_subtract(&big, hist, &small);
	}
	sr_ml_hist_release(hist);
	if (small_left) {
		rc = active_grow(a, left, s.g_left, s.h_left, &small, depth + 1, err);
		if (rc == SR_OK)
			rc = active_grow(a, right, s.g_right, s.h_right, &big, depth + 1, err);
	} else {
		rc = active_grow(a, left, s.g_left, s.h_left, &big, depth + 1, err);
		if (rc == SR_OK)
			rc = active_grow(a, right, s.g_right, s.h_right, &small, depth + 1, err);
	}
out:
	sr_ml_hist_release(hist);
	sr_ml_hist_release(&small);
	sr_ml_hist_release(&big);
	return rc;
}

static int active_run(struct active *a, struct sr_ml_sb_model *out, struct sr_err *err)
{
	size_t n = a->f.rows, nv = a->f.vrows, best_round = 0;
	double best_loss = INFINITY;
	uint64_t prng = a->g.seed;
	uint8_t *sel_bits = sr_calloc(sb_bitmap_bytes(n) + 1, 1);
	struct sr_ml_hist root = { 0 };
	int rc = SR_OK;

	if (!sel_bits)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (unsigned t = 0; t < a->g.trees; t++) {
		double gs = 0, hs = 0;
		uint32_t root_index;

		sr_ml_gbdt_gradients(a->g.loss, a->g.grad_frac_bits, a->margin, a->f.train->y, n,
				     a->gr, a->hs);
		memset(sel_bits, 0, sb_bitmap_bytes(n));
		for (size_t r = 0; r < n; r++) {
			if (a->g.subsample < 1 &&
			    (double)(sr_ml_prng_next(&prng) >> 11) * 0x1p-53 >= a->g.subsample)
				continue;
			sb_bit_set(sel_bits, r);
			gs += a->gr[r];
			hs += a->hs[r];
		}
		tree_rows_release(&a->t);
		if ((rc = tree_rows_init(&a->t, sel_bits, n, nv, err)))
			goto out;
		a->tree = &out->trees[t];
		a->cap = 0;
		out->ntrees = t + 1;
		if ((rc = active_add_node(a, &root_index, err)))
			goto out;
		/* The first tree on A's features alone involves nobody else: the
		 * passive parties see nothing of it and A no histogram of theirs. */
		a->local_tree = t == 0 && a->p->first_tree_active_only;
		a->use_mask = a->local_tree ? a->mask : NULL;
		if ((!a->local_tree && (rc = active_tree_start(a, t, sel_bits, err))) ||
		    (rc = sr_ml_hist_init(&root, &a->all, err)) ||
		    (rc = active_node_hist(a, 0, &root, err)) ||
		    (rc = active_grow(a, root_index, gs, hs, &root, 0, err)))
			goto out;
		for (size_t i = 0; i < a->tree->nnodes; i++) {
			const struct sr_ml_sb_node *node = &a->tree->nodes[i];
			const struct span *sp = &a->t.nodes[i];
			if (node->left)
				continue;
			for (size_t j = 0; j < sp->sel_cnt; j++)
				a->margin[a->t.sel[sp->sel_off + j]] += node->value;
			for (size_t j = 0; j < sp->oth_cnt; j++) {
				uint32_t r = a->t.oth[sp->oth_off + j];
				if (r < n)
					a->margin[r] += node->value;
				else
					a->vmargin[r - n] += node->value;
			}
		}
		if (a->stats)
			a->stats->trees++;
		if (nv) {
			double loss = sr_ml_gbdt_valid_loss(a->g.loss, a->vmargin, a->f.valid->y, nv);
			if (loss < best_loss) {
				best_loss = loss;
				best_round = t;
			} else if (a->g.early_stopping_rounds &&
				   t - best_round >= a->g.early_stopping_rounds) {
				break;
			}
		}
	}
	out->best_trees = nv && a->g.early_stopping_rounds ? best_round + 1 : out->ntrees;
	for (size_t i = 0; i < a->np; i++) {
		int bad = sb_msg_start(&a->out, MSG_END);
		bad |= sr_buf_add_u32le(&a->out, (uint32_t)out->ntrees);
		bad |= sr_buf_add_u32le(&a->out, (uint32_t)out->best_trees);
		if (bad) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = sb_link_send(&a->l[i], &a->out, err)))
			goto out;
	}
	for (size_t i = 0; i < a->np; i++) {
		const uint8_t *b;
		size_t len;
		if ((rc = sb_link_recv(&a->l[i], MSG_DONE, &b, &len, err)))
			goto out;
		if (len != 4 || sr_load_u32le(b) != a->splits[i + 1]) {
			rc = sr_fail(err, SR_EPROTO, "secureboost: DONE from %s: %s", a->l[i].peer,
				     len != 4 ? "wrong length" : "a different number of splits");
			goto out;
		}
	}
out:
	sr_ml_hist_release(&root);
	sr_free(sel_bits);
	return rc;
}

int sr_ml_sb_active(const struct sr_ml_sb_params *p,
		    const struct sr_ml_data *train, const struct sr_ml_data *valid,
		    const struct sr_pipe *passive, size_t npassive,
		    struct sr_ml_sb_model *out, struct sr_ml_sb_stats *stats,
		    struct sr_err *err)
{
	struct active a;
	char (*names)[48] = NULL;
	uint64_t t0 = now_ns();
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.p = p;
	a.np = npassive;
	a.stats = stats;
	sr_buf_init(&a.out, SR_BUF_UNBOUNDED);
	if ((rc = sr_ml_sb_params_check(p, err)))
		goto out;
	a.g = effective(p);
	if (npassive < 1 || npassive > SR_ML_SB_PASSIVE_MAX) {
		rc = sr_fail(err, SR_EINVAL, "secureboost: %zu passive parties, expected 1 to %d",
			     npassive, SR_ML_SB_PASSIVE_MAX);
		goto out;
	}
	if ((rc = sr_ml_gbdt_check_labels(&a.g, train, "training", err)) ||
	    (valid && (rc = sr_ml_gbdt_check_labels(&a.g, valid, "validation", err))))
		goto out;
	if (!valid && a.g.early_stopping_rounds) {
		rc = sr_fail(err, SR_EINVAL, "secureboost: early_stopping_rounds needs a validation set");
		goto out;
	}
	if ((rc = feats_init(&a.f, train, valid, a.g.max_bins, err)))
		goto out;
	a.l = sr_calloc(npassive, sizeof(*a.l));
	names = sr_calloc(npassive, sizeof(*names));
	a.gr = sr_calloc(train->rows, sizeof(double));
	a.hs = sr_calloc(train->rows, sizeof(double));
	a.margin = sr_calloc(train->rows, sizeof(double));
	a.vmargin = sr_calloc(a.f.vrows + 1, sizeof(double));
	a.bits = sr_calloc(sb_bitmap_bytes(train->rows + a.f.vrows) + 1, 1);
	out->trees = sr_calloc(a.g.trees, sizeof(*out->trees));
	out->party_cols = sr_calloc(npassive + 1, sizeof(size_t));
	if (!a.l || !names || !a.gr || !a.hs || !a.margin || !a.vmargin || !a.bits ||
	    !out->trees || !out->party_cols) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < npassive; i++) {
		sb_link_init(&a.l[i], &passive[i], stats);
		snprintf(names[i], sizeof(names[i]), "passive party %zu", i + 1);
		a.l[i].peer = names[i];
	}
	out->loss = a.g.loss;
	out->parties = (uint32_t)(npassive + 1);
	out->base_margin = a.g.loss == SR_ML_LOGISTIC ?
		log(a.g.base_score / (1 - a.g.base_score)) : a.g.base_score;
	for (size_t r = 0; r < train->rows; r++)
		a.margin[r] = out->base_margin;
	for (size_t r = 0; r < a.f.vrows; r++)
		a.vmargin[r] = out->base_margin;
	/* A fresh key per run: nothing encrypted in one job opens in another. */
	if ((rc = sr_he_keygen_sized(p->key_bits, p->pool, &a.pk, &a.sk, err)) ||
	    (rc = active_hello(&a, err)) || (rc = active_layouts(&a, err)))
		goto out;
	/* A encrypts every sampled training row once per tree: the owner's
	 * CRT tables halve that, from ~1,000 rows; their 12-bit windows
	 * save another 7 of 44 multiplications per row, worth their larger
	 * build from ~2^15 encryptions (he.h). */
	if (train->rows >= 1000) {
		double encryptions = (double)train->rows * a.g.subsample * a.g.trees;
		unsigned window = encryptions >= 32768 ? SR_HE_CRT_WINDOW_MAX : 10;
		if ((rc = sr_he_sk_encrypt_prepare_window(a.sk, p->pool, window, err)))
			goto out;
	}
	for (size_t i = 0; i <= npassive; i++)
		out->party_cols[i] = a.col_off[i + 1] - a.col_off[i];
	a.ndec = SR_ML_SB_CT_CHUNK;
	if ((rc = sr_he_cts_new(a.ndec, &a.dec, err)))
		goto out;
	rc = active_run(&a, out, err);
out:
	if (stats)
		stats->total_ns += now_ns() - t0;
	if (rc)
		sr_ml_sb_model_release(out);
	tree_rows_release(&a.t);
	if (a.dec)
		sr_he_cts_free(a.dec, a.ndec);
	for (size_t i = 0; a.l && i < npassive; i++)
		sr_buf_release(&a.l[i].in);
	sr_free(a.l);
	sr_free(names);
	sr_free(a.gr);
	sr_free(a.hs);
	sr_free(a.margin);
	sr_free(a.vmargin);
	sr_free(a.bits);
	sr_free(a.col_off);
	sr_free(a.splits);
	sr_free(a.mask);
	sr_ml_layout_release(&a.all);
	sr_he_sk_free(a.sk);
	sr_he_pk_free(a.pk);
	feats_release(&a.f);
	sr_buf_release(&a.out);
	return rc;
}

