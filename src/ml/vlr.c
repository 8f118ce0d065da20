/*
 * vlr.c - vertical logistic regression with Paillier (vlr.h,
 * docs/protocols/train.md "Vertical logistic regression").
 *
 * Messages (u8 version, u8 type, body; integers little-endian):
 *   PARAMS  A -> P  u32 party, u32 npassive, u64 rows, u64 valid rows,
 *                   u32 epochs, batch, early_stopping_rounds, d_frac_bits,
 *                   x_frac_bits, u_frac_bits, key_bits, f64 learning_rate,
 *                   f64 l2, then A's public key (he wire form)
 *   HELLO   P -> A  u32 features, 32-byte X25519 public key
 *   KEYS    A -> P  npassive public keys of 32 bytes, in party order
 *   SCORES  P -> A  u32 epoch, u32 batch (0xffffffff: validation rows),
 *                   u32 count, count u64 masked fixed-point partial scores
 *   RESID   A -> P  one he batch: [[d_r]] for the batch's rows
 *   GRAD    P -> A  one he batch: the packed, masked, rerandomized
 *                   gradient components
 *   MASKED  A -> P  u32 features, u32 slot bytes, the decrypted masked
 *                   components, big-endian, slot bytes each
 *   EPOCH   A -> P  u8 action: 0 continue, 1 best so far, 2 stop and go
 *                   back to the best epoch's weights
 *   SCORES  P -> A  after training, with validation rows: their scores
 *                   under the final weights (epoch 0xffffffff)
 *   DONE    P -> A  u32 epochs run
 *
 * Pairwise masks: P_i and P_j derive a 32-byte seed from X25519 on the
 * keys A relays; the mask of (epoch, batch) is the ChaCha20 stream of the
 * seed with that nonce, added by the lower-numbered party and subtracted
 * by the other, so that Σ_i U_i mod 2^64 is the sum of the unmasked
 * scores.  With one passive party there are no masks.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "he/he.h"
#include "ml/vlr.h"
#include "base/banned.h"

enum {
	MSG_PARAMS = 1,
	MSG_HELLO = 2,
	MSG_KEYS = 3,
	MSG_SCORES = 4,
	MSG_RESID = 5,
	MSG_GRAD = 6,
	MSG_MASKED = 7,
	MSG_EPOCH = 8,
	MSG_DONE = 9,
	MSG_PREDICT = 10,
};

static const char *const msg_names[] = {
	"?", "PARAMS", "HELLO", "KEYS", "SCORES", "RESID", "GRAD", "MASKED",
	"EPOCH", "DONE", "PREDICT",
};

#define PARAMS_LEN (4 + 4 + 8 + 8 + 7 * 4 + 2 * 8)
#define VALID_BATCH 0xffffffffu
#define FINAL_EPOCH 0xffffffffu         /* the final scores of the validation rows */
#define KX_BYTES 32u
#define MSG_MAX ((size_t)80 << 20)
#define ACT_CONTINUE 0
#define ACT_BEST 1
#define ACT_REVERT 2

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sr_ml_vlr_params_init(struct sr_ml_vlr_params *p)
{
	memset(p, 0, sizeof(*p));
	sr_ml_lr_params_init(&p->lr);
	p->d_frac_bits = SR_ML_VLR_D_FRAC_BITS;
	p->x_frac_bits = SR_ML_VLR_X_FRAC_BITS;
	p->u_frac_bits = SR_ML_VLR_U_FRAC_BITS;
	p->key_bits = SR_HE_BITS_DEFAULT;
}

int sr_ml_vlr_params_check(const struct sr_ml_vlr_params *p, struct sr_err *err)
{
	if (sr_ml_lr_params_check(&p->lr, err))
		return sr_err_prefix(err, "vertical lr");
	if (p->lr.frac_bits)
		return sr_fail(err, SR_EINVAL, "vertical lr: frac_bits %u, expected 0 (the protocol's fixed point is d_frac_bits, x_frac_bits, u_frac_bits)",
			       p->lr.frac_bits);
	if (p->lr.batch > SR_ML_VLR_BATCH_MAX)
		return sr_fail(err, SR_EINVAL, "vertical lr: batch %zu, expected 0 (all rows) to %u",
			       p->lr.batch, SR_ML_VLR_BATCH_MAX);
	if (p->d_frac_bits < 8 || p->d_frac_bits > 40)
		return sr_fail(err, SR_EINVAL, "vertical lr: d_frac_bits %u, expected 8 to 40", p->d_frac_bits);
	if (p->x_frac_bits < 8 || p->x_frac_bits > 30)
		return sr_fail(err, SR_EINVAL, "vertical lr: x_frac_bits %u, expected 8 to 30", p->x_frac_bits);
	if (p->u_frac_bits < 16 || p->u_frac_bits > 40)
		return sr_fail(err, SR_EINVAL, "vertical lr: u_frac_bits %u, expected 16 to 40", p->u_frac_bits);
	if (p->key_bits != SR_HE_BITS_DEFAULT && p->key_bits != SR_HE_BITS_STRONG &&
	    (p->key_bits < SR_HE_BITS_TEST_MIN || p->key_bits > 3072 || p->key_bits % 64))
		return sr_fail(err, SR_EINVAL,
			       "vertical lr: key_bits %u, expected 2048, 3072 or a multiple of 64 from %u to 3072",
			       p->key_bits, SR_HE_BITS_TEST_MIN);
	return SR_OK;
}

double sr_ml_vlr_bound(const struct sr_ml_vlr_params *p, size_t cols,
		       size_t npassive, unsigned long steps)
{
	int x = (int)p->x_frac_bits, d = (int)p->d_frac_bits, u = (int)p->u_frac_bits;
	double eps = ldexp(1.0, -x - 1) + ldexp(1.0, -d - 1) + ldexp(1.0, -x - d - 2) +
		     (double)npassive * ldexp(1.0, -u - 3);

	return sr_ml_lr_error_bound(&p->lr, cols, steps, eps);
}

/* ---- links ---------------------------------------------------------------- */

struct link {
	const struct sr_pipe *pipe;
	struct sr_buf in, out;
	struct sr_ml_vlr_stats *stats;
	char peer[32];
};

static void link_init(struct link *l, const struct sr_pipe *pipe,
		      struct sr_ml_vlr_stats *stats, const char *peer)
{
	l->pipe = pipe;
	sr_buf_init(&l->in, MSG_MAX);
	sr_buf_init(&l->out, MSG_MAX);
	l->stats = stats;
	snprintf(l->peer, sizeof(l->peer), "%s", peer);
}

static void link_release(struct link *l)
{
	sr_buf_release(&l->in);
	sr_buf_release(&l->out);
}

static int msg_start(struct link *l, int type, struct sr_err *err)
{
	uint8_t h[2] = { SR_ML_VLR_VERSION, (uint8_t)type };

	sr_buf_reset(&l->out);
	if (sr_buf_add(&l->out, h, 2))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return SR_OK;
}

static int link_send(struct link *l, int type, struct sr_err *err)
{
	int rc = l->pipe->send(l->pipe->ctx, (const uint8_t *)l->out.data, l->out.len, err);

	if (rc)
		return sr_err_prefix(err, "vertical lr: sending %s to %s", msg_names[type], l->peer);
	if (l->stats)
		l->stats->bytes_sent += l->out.len;
	return SR_OK;
}

/* Receive a message of `type`; *body, *len: after the two header bytes.
 * want_len, when not 0, is the exact body length expected. */
static int link_recv(struct link *l, int type, size_t want_len, const uint8_t **body,
		     size_t *len, struct sr_err *err)
{
	const uint8_t *d;
	int rc = l->pipe->recv(l->pipe->ctx, &l->in, MSG_MAX, err);

	if (rc)
		return sr_err_prefix(err, "vertical lr: waiting for %s from %s", msg_names[type], l->peer);
	if (l->stats)
		l->stats->bytes_received += l->in.len;
	d = (const uint8_t *)l->in.data;
	if (l->in.len < 2)
		return sr_fail(err, SR_EPROTO, "vertical lr: %s from %s: %zu bytes, too short",
			       msg_names[type], l->peer, l->in.len);
	if (d[0] != SR_ML_VLR_VERSION)
		return sr_fail(err, SR_EPROTO, "vertical lr: %s from %s: version %u, expected %u",
			       msg_names[type], l->peer, d[0], SR_ML_VLR_VERSION);
	if (d[1] != type)
		return sr_fail(err, SR_EPROTO, "vertical lr: expected %s from %s, got message type %u",
			       msg_names[type], l->peer, d[1]);
	*body = d + 2;
	*len = l->in.len - 2;
	if (want_len && *len != want_len)
		return sr_fail(err, SR_EPROTO, "vertical lr: %s from %s: %zu bytes, expected %zu",
			       msg_names[type], l->peer, *len, want_len);
	return SR_OK;
}

static int add_u32(struct link *l, uint32_t v, struct sr_err *err)
{
	return sr_buf_add_u32le(&l->out, v) ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
}

static int add_u64(struct link *l, uint64_t v, struct sr_err *err)
{
	return sr_buf_add_u64le(&l->out, v) ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
}

static int add_f64(struct link *l, double v, struct sr_err *err)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	return add_u64(l, u, err);
}

static int add_bytes(struct link *l, const void *b, size_t n, struct sr_err *err)
{
	return sr_buf_add(&l->out, b, n) ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
}

static double load_f64(const uint8_t *p)
{
	uint64_t u = sr_load_u64le(p);
	double v;

	memcpy(&v, &u, 8);
	return v;
}

/* ---- the run's shape, as both sides compute it ------------------------------- */

struct shape {
	size_t rows, valid_rows, batch, batches;
	int early;                      /* validation rounds each epoch */
};

static void shape_init(struct shape *s, const struct sr_ml_vlr_params *p, size_t rows,
		       size_t valid_rows)
{
	s->rows = rows;
	s->valid_rows = valid_rows;
	s->batch = p->lr.batch && p->lr.batch < rows ? p->lr.batch : rows;
	s->batches = (rows + s->batch - 1) / s->batch;
	s->early = valid_rows > 0 && p->lr.early_stopping_rounds > 0;
}

static size_t batch_count(const struct shape *s, size_t b)
{
	size_t first = b * s->batch;

	return s->rows - first < s->batch ? s->rows - first : s->batch;
}

/* Bits of |G| for a batch of count rows: |D| <= 2^d, |X| <= 2^x. */
static unsigned grad_value_bits(const struct sr_ml_vlr_params *p, size_t count)
{
	unsigned b = 0;

	while (count >> b)
		b++;
	return p->d_frac_bits + p->x_frac_bits + b;
}

static unsigned slot_bits_of(const struct sr_ml_vlr_params *p, size_t count)
{
	return grad_value_bits(p, count) + SR_ML_VLR_MASK_SIGMA + 1;
}

static size_t slots_of(const struct sr_ml_vlr_params *p, size_t count)
{
	return (p->key_bits - 2) / slot_bits_of(p, count);
}

/* Finite and |x| <= 1 everywhere (the fixed point and the bound need it). */
static int check_features(const struct sr_ml_data *d, const char *what, struct sr_err *err)
{
	for (size_t c = 0; c < d->cols; c++)
		for (size_t r = 0; r < d->rows; r++) {
			double x = d->x[c * d->rows + r];
			if (isnan(x))
				return sr_fail(err, SR_EINVAL,
					       "vertical lr: %s row %zu, feature %zu: missing value; logistic regression needs complete rows",
					       what, r, c);
			if (!(fabs(x) <= 1))
				return sr_fail(err, SR_EINVAL,
					       "vertical lr: %s row %zu, feature %zu: value %g, expected |x| <= 1 (scale the features)",
					       what, r, c, x);
		}
	return SR_OK;
}

/* ---- the passive party ------------------------------------------------------- */

struct passive {
	const struct sr_ml_vlr_params *p;
	const struct sr_ml_data *train, *valid;
	struct shape s;
	struct sr_he_pk *pk;
	uint32_t party, npassive;
	const char *mask_context;       /* 20 bytes: training's or prediction's seeds */
	uint8_t kx_sk[KX_BYTES], kx_pk[KX_BYTES];
	uint8_t (*seeds)[32];           /* npassive seeds; own index unused */
	struct link l;
	struct sr_ml_lr w;
	double *best_w;
	uint64_t *u;                    /* scores of one batch */
	mpz_t *g;                       /* cols masked gradient ciphertexts */
	mpz_t *mask;                    /* cols masks R_c */
	mpz_t *packed;
	/* the batch in flight (for the gradient workers) */
	mpz_t *cts;
	size_t first, count;
	mpz_t tinv;
	unsigned slot_bits;
	size_t slots;
};

static int params_decode(struct passive *ps, const uint8_t *b, size_t len, struct sr_err *err)
{
	const struct sr_ml_vlr_params *p = ps->p;
	uint64_t rows, vrows;
	uint32_t v[7];
	double lr, l2;
	size_t vr = ps->valid ? ps->valid->rows : 0;

	if (len < PARAMS_LEN)
		return sr_fail(err, SR_EPROTO, "vertical lr: PARAMS from the active party: %zu bytes, too short", len);
	ps->party = sr_load_u32le(b);
	ps->npassive = sr_load_u32le(b + 4);
	rows = sr_load_u64le(b + 8);
	vrows = sr_load_u64le(b + 16);
	for (int i = 0; i < 7; i++)
		v[i] = sr_load_u32le(b + 24 + 4 * i);
	lr = load_f64(b + 52);
	l2 = load_f64(b + 60);
	if (ps->npassive < 1 || ps->npassive > SR_ML_VLR_PASSIVE_MAX || ps->party < 1 ||
	    ps->party > ps->npassive)
		return sr_fail(err, SR_EPROTO, "vertical lr: PARAMS: party %u of %u passive parties",
			       ps->party, ps->npassive);
	if (rows != ps->train->rows || vrows != vr)
		return sr_fail(err, SR_EINVAL,
			       "vertical lr: the active party has %llu training and %llu validation rows, this party %zu and %zu",
			       (unsigned long long)rows, (unsigned long long)vrows, ps->train->rows, vr);
	if (v[0] != p->lr.epochs || v[1] != (uint32_t)(p->lr.batch && p->lr.batch < rows ? p->lr.batch : rows) ||
	    v[2] != p->lr.early_stopping_rounds || v[3] != p->d_frac_bits || v[4] != p->x_frac_bits ||
	    v[5] != p->u_frac_bits || v[6] != p->key_bits || lr != p->lr.learning_rate || l2 != p->lr.l2)
		return sr_fail(err, SR_EINVAL,
			       "vertical lr: the active party's parameters differ from this party's (epochs %u, batch %u, early stopping %u, fixed point %u/%u/%u, key %u bits, learning rate %g, l2 %g)",
			       v[0], v[1], v[2], v[3], v[4], v[5], v[6], lr, l2);
	if (sr_he_pk_decode_bits(b + PARAMS_LEN, len - PARAMS_LEN, p->key_bits, p->pool, &ps->pk, err))
		return sr_err_prefix(err, "vertical lr: PARAMS: public key");
	return SR_OK;
}

static int keys_decode(struct passive *ps, const uint8_t *b, struct sr_err *err)
{
	uint8_t shared[crypto_scalarmult_BYTES];

	if (memcmp(b + (ps->party - 1) * KX_BYTES, ps->kx_pk, KX_BYTES) != 0)
		return sr_fail(err, SR_EPROTO, "vertical lr: KEYS: this party's own key was changed");
	for (uint32_t j = 1; j <= ps->npassive; j++) {
		const uint8_t *other = b + (j - 1) * KX_BYTES;
		crypto_generichash_state h;

		if (j == ps->party)
			continue;
		if (crypto_scalarmult(shared, ps->kx_sk, other) != 0) {
			sodium_memzero(shared, sizeof(shared));
			return sr_fail(err, SR_EPROTO, "vertical lr: KEYS: passive party %u's key is invalid", j);
		}
		crypto_generichash_init(&h, NULL, 0, 32);
		crypto_generichash_update(&h, (const uint8_t *)ps->mask_context, 20);
		crypto_generichash_update(&h, shared, sizeof(shared));
		crypto_generichash_update(&h, j < ps->party ? other : ps->kx_pk, KX_BYTES);
		crypto_generichash_update(&h, j < ps->party ? ps->kx_pk : other, KX_BYTES);
		crypto_generichash_final(&h, ps->seeds[j - 1], 32);
	}
	sodium_memzero(shared, sizeof(shared));
	return SR_OK;
}

/* u[i] = round(2^ufb · x_r·w) mod 2^64 for rows r = first + i of d. */
static int quantize_scores(const double *w, const struct sr_ml_data *d, size_t first,
			   size_t count, unsigned ufb, uint64_t *u, struct sr_err *err)
{
	double lim = ldexp(1.0, 62 - (int)ufb);

	for (size_t i = 0; i < count; i++) {
		double z = 0;
		for (size_t c = 0; c < d->cols; c++)
			z += w[c] * d->x[c * d->rows + first + i];
		if (!(fabs(z) < lim))
			return sr_fail(err, SR_ELIMIT,
				       "vertical lr: partial score %g of row %zu is outside the fixed-point range (|u| < %g)",
				       z, first + i, lim);
		u[i] = (uint64_t)llrint(ldexp(z, (int)ufb));
	}
	return SR_OK;
}

/* Send the masked fixed-point scores of rows [first, first + count) of d. */
static int send_scores(struct passive *ps, const struct sr_ml_data *d, uint32_t epoch,
		       uint32_t batch, size_t first, size_t count, struct sr_err *err)
{
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	uint64_t *mask = NULL;
	int rc;

	if ((rc = quantize_scores(ps->w.w, d, first, count, ps->p->u_frac_bits, ps->u, err)))
		return rc;
	if (ps->npassive > 1) {
		mask = sr_calloc(count, sizeof(*mask));
		if (!mask)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		sr_store_u32le(nonce, epoch);
		sr_store_u32le(nonce + 4, batch);
		for (uint32_t j = 1; j <= ps->npassive; j++) {
			if (j == ps->party)
				continue;
			crypto_stream_chacha20((uint8_t *)mask, count * sizeof(*mask), nonce,
					       ps->seeds[j - 1]);
			for (size_t i = 0; i < count; i++) {
				uint64_t m = sr_load_u64le(&mask[i]);
				ps->u[i] = j > ps->party ? ps->u[i] + m : ps->u[i] - m;
			}
		}
		sodium_memzero(mask, count * sizeof(*mask));
		sr_free(mask);
	}
	if ((rc = msg_start(&ps->l, MSG_SCORES, err)) || (rc = add_u32(&ps->l, epoch, err)) ||
	    (rc = add_u32(&ps->l, batch, err)) || (rc = add_u32(&ps->l, (uint32_t)count, err)))
		return rc;
	for (size_t i = 0; i < count; i++)
		if ((rc = add_u64(&ps->l, ps->u[i], err)))
			return rc;
	return link_send(&ps->l, MSG_SCORES, err);
}

/* [[G_c + R_c]] for feature c: Π [[D_r]]^(X_rc + 2^x) · [[ΣD]]^(−2^x) · (1 + R_c n). */
static int grad_feature(void *ctx, size_t c, struct sr_err *err)
{
	struct passive *ps = ctx;
	const struct sr_ml_data *d = ps->train;
	mpz_t *k = NULL;
	int rc;

	if ((rc = sr_he_cts_new(ps->count, &k, err)))
		return rc;
	for (size_t i = 0; i < ps->count; i++) {
		double x = d->x[c * d->rows + ps->first + i];
		long v = lrint(ldexp(x, (int)ps->p->x_frac_bits)) + (1L << ps->p->x_frac_bits);
		mpz_set_ui(k[i], (unsigned long)v);
	}
	rc = sr_he_multiexp(ps->pk, ps->cts, k, ps->count, ps->g[c], err);
	sr_he_cts_free(k, ps->count);
	if (rc)
		return rc;
	sr_he_add(ps->pk, ps->g[c], ps->tinv, ps->g[c]);
	sr_he_add_plain(ps->pk, ps->g[c], ps->mask[c], ps->g[c]);
	return SR_OK;
}

/* Horner over the components of pack j, then a fresh randomizer. */
static int grad_pack(void *ctx, size_t j, struct sr_err *err)
{
	struct passive *ps = ctx;
	size_t first = j * ps->slots, last = first + ps->slots;
	mpz_t e;
	int rc;

	if (last > ps->train->cols)
		last = ps->train->cols;
	mpz_init_set_ui(e, 1);
	mpz_mul_2exp(e, e, ps->slot_bits);
	mpz_set(ps->packed[j], ps->g[last - 1]);
	for (size_t c = last - 1; c-- > first;) {
		mpz_powm(ps->packed[j], ps->packed[j], e, sr_he_pk_n2(ps->pk));
		sr_he_add(ps->pk, ps->packed[j], ps->g[c], ps->packed[j]);
	}
	mpz_clear(e);
	rc = sr_he_rerandomize(ps->pk, ps->packed[j], ps->packed[j], err);
	return rc;
}

static int random_mask(mpz_t r, unsigned value_bits)
{
	unsigned bits = value_bits + SR_ML_VLR_MASK_SIGMA;
	size_t n = (bits + 7) / 8;
	uint8_t buf[64];
	mpz_t low;

	if (n > sizeof(buf))
		return SR_ELIMIT;
	randombytes_buf(buf, n);
	mpz_import(r, n, 1, 1, 1, 0, buf);
	sodium_memzero(buf, n);
	mpz_fdiv_r_2exp(r, r, bits);
	/* r uniform in [2^vb, 2^vb + 2^(vb+σ)): G + r > 0 for |G| < 2^vb,
	 * and G + r for two values of G are within 2^(1−σ) of each other. */
	mpz_init(low);
	mpz_setbit(low, value_bits);
	mpz_add(r, r, low);
	mpz_clear(low);
	return SR_OK;
}

static int passive_batch(struct passive *ps, uint32_t epoch, size_t b, struct sr_err *err)
{
	const struct sr_ml_vlr_params *p = ps->p;
	size_t cols = ps->train->cols, npacked, ncts = 0, slot_bytes;
	const uint8_t *body;
	size_t len;
	unsigned vb;
	uint64_t t0;
	mpz_t sum, k, v;
	int rc;

	ps->first = b * ps->s.batch;
	ps->count = batch_count(&ps->s, b);
	if ((rc = send_scores(ps, ps->train, epoch, (uint32_t)b, ps->first, ps->count, err)))
		return rc;
	if ((rc = link_recv(&ps->l, MSG_RESID, 0, &body, &len, err)))
		return rc;
	if ((rc = sr_he_batch_decode(ps->pk, body, len, ps->count, &ps->cts, &ncts, err)))
		return sr_err_prefix(err, "vertical lr: RESID from the active party");
	if (ncts != ps->count) {
		rc = sr_fail(err, SR_EPROTO, "vertical lr: RESID from the active party: %zu residuals, expected %zu",
			     ncts, ps->count);
		goto out_cts;
	}
	t0 = now_ns();
	vb = grad_value_bits(p, ps->count);
	ps->slot_bits = slot_bits_of(p, ps->count);
	ps->slots = slots_of(p, ps->count);
	npacked = (cols + ps->slots - 1) / ps->slots;
	/* tinv = [[ΣD]]^(−2^x), undoing the offset that keeps exponents >= 0. */
	mpz_inits(sum, k, NULL);
	mpz_set(sum, ps->cts[0]);
	for (size_t i = 1; i < ps->count; i++)
		sr_he_add(ps->pk, sum, ps->cts[i], sum);
	mpz_set_si(k, -(1L << p->x_frac_bits));
	rc = sr_he_mul_plain(ps->pk, sum, k, ps->tinv, err);
	for (size_t c = 0; rc == SR_OK && c < cols; c++)
		if (random_mask(ps->mask[c], vb))
			rc = sr_fail(err, SR_ELIMIT, "vertical lr: mask of %u bits", vb);
	if (rc == SR_OK)
		rc = sr_pool_run(p->pool, cols, grad_feature, ps, err);
	if (rc == SR_OK)
		rc = sr_pool_run(p->pool, npacked, grad_pack, ps, err);
	mpz_clears(sum, k, NULL);
	if (ps->l.stats)
		ps->l.stats->gradient_ns += now_ns() - t0;
	if (rc)
		goto out_cts;
	sr_buf_reset(&ps->l.out);
	{
		uint8_t h[2] = { SR_ML_VLR_VERSION, MSG_GRAD };
		if (sr_buf_add(&ps->l.out, h, 2)) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out_cts;
		}
	}
	if ((rc = sr_he_batch_encode(ps->pk, ps->packed, npacked, &ps->l.out, err)) ||
	    (rc = link_send(&ps->l, MSG_GRAD, err)))
		goto out_cts;
	slot_bytes = (ps->slot_bits + 7) / 8;
	if ((rc = link_recv(&ps->l, MSG_MASKED, 8 + cols * slot_bytes, &body, &len, err)))
		goto out_cts;
	if (sr_load_u32le(body) != cols || sr_load_u32le(body + 4) != slot_bytes) {
		rc = sr_fail(err, SR_EPROTO, "vertical lr: MASKED from the active party: %u features of %u bytes, expected %zu of %zu",
			     sr_load_u32le(body), sr_load_u32le(body + 4), cols, slot_bytes);
		goto out_cts;
	}
	mpz_init(v);
	for (size_t c = 0; c < cols; c++) {
		double grad;

		mpz_import(v, slot_bytes, 1, 1, 1, 0, body + 8 + c * slot_bytes);
		mpz_sub(v, v, ps->mask[c]);
		if (mpz_sgn(v) && mpz_sizeinbase(v, 2) > vb) {
			rc = sr_fail(err, SR_EPROTO,
				     "vertical lr: MASKED from the active party: feature %zu's gradient is out of range",
				     c);
			break;
		}
		grad = ldexp(mpz_get_d(v), -(int)(p->d_frac_bits + p->x_frac_bits));
		ps->w.w[c] -= p->lr.learning_rate * (grad / (double)ps->count + p->lr.l2 * ps->w.w[c]);
	}
	mpz_clear(v);
out_cts:
	sr_he_cts_free(ps->cts, ncts);
	ps->cts = NULL;
	return rc;
}

static int passive_run(struct passive *ps, struct sr_err *err)
{
	const struct sr_ml_vlr_params *p = ps->p;
	size_t cols = ps->train->cols;
	const uint8_t *body;
	size_t len;
	int rc;

	if ((rc = link_recv(&ps->l, MSG_PARAMS, 0, &body, &len, err)) ||
	    (rc = params_decode(ps, body, len, err)))
		return rc;
	shape_init(&ps->s, p, ps->train->rows, ps->valid ? ps->valid->rows : 0);
	if (slots_of(p, ps->s.batch) < 1)
		return sr_fail(err, SR_EINVAL, "vertical lr: a %u-bit key cannot hold one gradient component",
			       p->key_bits);
	crypto_box_keypair(ps->kx_pk, ps->kx_sk);
	ps->seeds = sr_calloc(ps->npassive, sizeof(*ps->seeds));
	ps->u = sr_calloc(ps->s.batch > ps->s.valid_rows ? ps->s.batch : ps->s.valid_rows, sizeof(*ps->u));
	ps->best_w = sr_calloc(cols ? cols : 1, sizeof(*ps->best_w));
	if (!ps->seeds || !ps->u || !ps->best_w)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if ((rc = sr_he_cts_new(cols, &ps->g, err)) || (rc = sr_he_cts_new(cols, &ps->mask, err)) ||
	    (rc = sr_he_cts_new(cols, &ps->packed, err)))
		return rc;
	if ((rc = msg_start(&ps->l, MSG_HELLO, err)) || (rc = add_u32(&ps->l, (uint32_t)cols, err)) ||
	    (rc = add_bytes(&ps->l, ps->kx_pk, KX_BYTES, err)) ||
	    (rc = link_send(&ps->l, MSG_HELLO, err)))
		return rc;
	if ((rc = link_recv(&ps->l, MSG_KEYS, (size_t)ps->npassive * KX_BYTES, &body, &len, err)) ||
	    (rc = keys_decode(ps, body, err)))
		return rc;
	for (unsigned e = 0; e < p->lr.epochs; e++) {
		for (size_t b = 0; b < ps->s.batches; b++)
			if ((rc = passive_batch(ps, e, b, err)))
				return rc;
		ps->w.epochs_run = e + 1;
		if (ps->s.early &&
		    (rc = send_scores(ps, ps->valid, e, VALID_BATCH, 0, ps->valid->rows, err)))
			return rc;
		if ((rc = link_recv(&ps->l, MSG_EPOCH, 1, &body, &len, err)))
			return rc;
		if (body[0] > ACT_REVERT || (body[0] != ACT_CONTINUE && !ps->s.early))
			return sr_fail(err, SR_EPROTO, "vertical lr: EPOCH from the active party: action %u", body[0]);
		if (body[0] == ACT_BEST)
			memcpy(ps->best_w, ps->w.w, cols * sizeof(*ps->best_w));
		if (body[0] == ACT_REVERT) {
			memcpy(ps->w.w, ps->best_w, cols * sizeof(*ps->best_w));
			break;
		}
	}
	if (ps->s.valid_rows &&
	    (rc = send_scores(ps, ps->valid, FINAL_EPOCH, VALID_BATCH, 0, ps->valid->rows, err)))
		return rc;
	if ((rc = msg_start(&ps->l, MSG_DONE, err)) ||
	    (rc = add_u32(&ps->l, ps->w.epochs_run, err)))
		return rc;
	return link_send(&ps->l, MSG_DONE, err);
}

int sr_ml_vlr_passive(const struct sr_ml_vlr_params *p,
		      const struct sr_ml_data *train, const struct sr_ml_data *valid,
		      const struct sr_pipe *active,
		      struct sr_ml_lr *out, struct sr_ml_vlr_stats *stats,
		      struct sr_err *err)
{
	struct passive ps;
	uint64_t t0 = now_ns();
	size_t cols = train->cols;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ps, 0, sizeof(ps));
	if ((rc = sr_ml_vlr_params_check(p, err)))
		return rc;
	if (train->rows == 0)
		return sr_fail(err, SR_EINVAL, "vertical lr: zero training rows");
	if (train->cols == 0)
		return sr_fail(err, SR_EINVAL, "vertical lr: a passive party with no features");
	if (valid && valid->cols != train->cols)
		return sr_fail(err, SR_EINVAL, "vertical lr: validation has %zu features, training %zu",
			       valid->cols, train->cols);
	if ((rc = check_features(train, "training", err)) ||
	    (valid && (rc = check_features(valid, "validation", err))))
		return rc;
	ps.p = p;
	ps.train = train;
	ps.valid = valid;
	ps.mask_context = "sealroom vlr mask v1";
	mpz_init(ps.tinv);
	link_init(&ps.l, active, stats, "the active party");
	if ((rc = sr_ml_lr_init(&ps.w, cols, err)) == SR_OK)
		rc = passive_run(&ps, err);
	if (stats) {
		stats->total_ns += now_ns() - t0;
		stats->epochs = ps.w.epochs_run;
		stats->batches += (uint64_t)ps.w.epochs_run * ps.s.batches;
	}
	sodium_memzero(ps.kx_sk, sizeof(ps.kx_sk));
	if (ps.seeds) {
		sodium_memzero(ps.seeds, ps.npassive * sizeof(*ps.seeds));
		sr_free(ps.seeds);
	}
	sr_free(ps.u);
	sr_free(ps.best_w);
	sr_he_cts_free(ps.g, ps.g ? cols : 0);
	sr_he_cts_free(ps.mask, ps.mask ? cols : 0);
	sr_he_cts_free(ps.packed, ps.packed ? cols : 0);
	mpz_clear(ps.tinv);
	sr_he_pk_free(ps.pk);
	link_release(&ps.l);
	if (rc) {
		sr_ml_lr_release(&ps.w);
		return rc;
	}
	*out = ps.w;
	return SR_OK;
}

/* ---- the active party --------------------------------------------------------- */

struct active {
	const struct sr_ml_vlr_params *p;
	const struct sr_ml_data *train, *valid;
	struct shape s;
	size_t np;
	struct link *l;
	size_t *pcols;
	struct sr_he_sk *sk;
	struct sr_he_pk *pk;
	struct sr_ml_lr w;
	double *z, *grad;
	mpz_t *m, *c;
	double *valid_pred;
	struct sr_ml_vlr_stats *stats;
};

/* z[i] += Σ_P decoded scores of rows [first, first + count). */
static int recv_scores(struct active *a, uint32_t epoch, uint32_t batch, size_t count,
		       struct sr_err *err)
{
	uint64_t *sum = sr_calloc(count ? count : 1, sizeof(*sum));
	int rc = SR_OK;

	if (!sum)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; rc == SR_OK && i < a->np; i++) {
		const uint8_t *body;
		size_t len;

		if ((rc = link_recv(&a->l[i], MSG_SCORES, 12 + 8 * count, &body, &len, err)))
			break;
		if (sr_load_u32le(body) != epoch || sr_load_u32le(body + 4) != batch ||
		    sr_load_u32le(body + 8) != count) {
			rc = sr_fail(err, SR_EPROTO,
				     "vertical lr: SCORES from %s: epoch %u batch %u count %u, expected %u %u %zu",
				     a->l[i].peer, sr_load_u32le(body), sr_load_u32le(body + 4),
				     sr_load_u32le(body + 8), epoch, batch, count);
			break;
		}
		for (size_t r = 0; r < count; r++)
			sum[r] += sr_load_u64le(body + 12 + 8 * r);
	}
	for (size_t r = 0; rc == SR_OK && r < count; r++)
		a->z[r] += ldexp((double)(int64_t)sum[r], -(int)a->p->u_frac_bits);
	sr_free(sum);
	return rc;
}

static void own_margins(struct active *a, const struct sr_ml_data *d, size_t first, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		double z = a->w.bias;
		for (size_t c = 0; c < d->cols; c++)
			z += a->w.w[c] * d->x[c * d->rows + first + i];
		a->z[i] = z;
	}
}

/* Decrypt P_i's packed masked gradient and send the slots back. */
static int active_unmask(struct active *a, size_t i, size_t count, struct sr_err *err)
{
	struct link *l = &a->l[i];
	size_t cols = a->pcols[i], slots = slots_of(a->p, count);
	size_t npacked = (cols + slots - 1) / slots, n = 0;
	unsigned sb = slot_bits_of(a->p, count);
	size_t slot_bytes = (sb + 7) / 8;
	const uint8_t *body;
	size_t len;
	mpz_t *cts = NULL, *pt = NULL, v;
	uint8_t *out;
	uint64_t t0;
	int rc;

	if ((rc = link_recv(l, MSG_GRAD, 0, &body, &len, err)))
		return rc;
	if ((rc = sr_he_batch_decode(a->pk, body, len, npacked, &cts, &n, err)))
		return sr_err_prefix(err, "vertical lr: GRAD from %s", l->peer);
	if (n != npacked) {
		sr_he_cts_free(cts, n);
		return sr_fail(err, SR_EPROTO, "vertical lr: GRAD from %s: %zu ciphertexts, expected %zu",
			       l->peer, n, npacked);
	}
	if ((rc = sr_he_cts_new(n, &pt, err))) {
		sr_he_cts_free(cts, n);
		return rc;
	}
	t0 = now_ns();
	rc = sr_he_decrypt_batch(a->sk, a->p->pool, cts, pt, n, err);
	if (a->stats) {
		a->stats->decrypt_ns += now_ns() - t0;
		a->stats->ciphertexts_decrypted += n;
	}
	if (rc == SR_OK && ((rc = msg_start(l, MSG_MASKED, err)) ||
			    (rc = add_u32(l, (uint32_t)cols, err)) ||
			    (rc = add_u32(l, (uint32_t)slot_bytes, err)) ||
			    (rc = sr_buf_grow(&l->out, cols * slot_bytes) ?
			     sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK)))
		goto out;
	if (rc)
		goto out;
	out = (uint8_t *)l->out.data + l->out.len;
	memset(out, 0, cols * slot_bytes);
	mpz_init(v);
	for (size_t j = 0; rc == SR_OK && j < n; j++) {
		size_t in_pack = cols - j * slots < slots ? cols - j * slots : slots;

		if (mpz_sgn(pt[j]) && mpz_sizeinbase(pt[j], 2) > in_pack * sb) {
			rc = sr_fail(err, SR_EPROTO,
				     "vertical lr: GRAD from %s: packed value %zu has bits above its %zu slots",
				     l->peer, j, in_pack);
			break;
		}
		for (size_t s = 0; s < in_pack; s++) {
			size_t words = 0;
			uint8_t tmp[64];

			mpz_fdiv_r_2exp(v, pt[j], sb);
			mpz_fdiv_q_2exp(pt[j], pt[j], sb);
			mpz_export(tmp, &words, 1, 1, 1, 0, v);
			memcpy(out + (j * slots + s + 1) * slot_bytes - words, tmp, words);
			sodium_memzero(tmp, sizeof(tmp));
		}
	}
	mpz_clear(v);
	if (rc == SR_OK) {
		sr_buf_setlen(&l->out, l->out.len + cols * slot_bytes);
		rc = link_send(l, MSG_MASKED, err);
	}
out:
	sr_he_cts_free(cts, n);
	sr_he_cts_free(pt, n);
	return rc;
}

static int active_batch(struct active *a, uint32_t epoch, size_t b, struct sr_err *err)
{
	const struct sr_ml_data *d = a->train;
	size_t first = b * a->s.batch, count = batch_count(&a->s, b);
	uint64_t t0;
	int rc;

	own_margins(a, d, first, count);
	if ((rc = recv_scores(a, epoch, (uint32_t)b, count, err)))
		return rc;
	memset(a->grad, 0, (d->cols + 1) * sizeof(*a->grad));
	for (size_t i = 0; i < count; i++) {
		double res = sr_ml_sigmoid(a->z[i]) - d->y[first + i];

		for (size_t c = 0; c < d->cols; c++)
			a->grad[c] += res * d->x[c * d->rows + first + i];
		a->grad[d->cols] += res;
		sr_he_encode_i64(a->pk, llrint(ldexp(res, (int)a->p->d_frac_bits)), a->m[i]);
	}
	t0 = now_ns();
	rc = sr_he_encrypt_sk_batch(a->sk, a->p->pool, a->m, a->c, count, err);
	if (a->stats)
		a->stats->encrypt_ns += now_ns() - t0;
	if (rc)
		return rc;
	/* One encoding, sent to every passive party. */
	if ((rc = msg_start(&a->l[0], MSG_RESID, err)) ||
	    (rc = sr_he_batch_encode(a->pk, a->c, count, &a->l[0].out, err)))
		return rc;
	for (size_t i = 0; i < a->np; i++) {
		if (i) {
			sr_buf_reset(&a->l[i].out);
			if (sr_buf_add(&a->l[i].out, a->l[0].out.data, a->l[0].out.len))
				return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		if ((rc = link_send(&a->l[i], MSG_RESID, err)))
			return rc;
	}
	for (size_t i = 0; i < a->np; i++)
		if ((rc = active_unmask(a, i, count, err)))
			return rc;
	sr_ml_lr_step(&a->w, &a->p->lr, a->grad, count);
	return SR_OK;
}

static int send_all(struct active *a, int type, struct sr_err *err)
{
	for (size_t i = 0; i < a->np; i++) {
		int rc = link_send(&a->l[i], type, err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

static int active_run(struct active *a, struct sr_err *err)
{
	const struct sr_ml_vlr_params *p = a->p;
	double best_loss = INFINITY, best_bias = 0, *best_w = NULL;
	unsigned best_epoch = 0;
	uint8_t *kx = NULL;
	size_t maxrows = a->s.batch > a->s.valid_rows ? a->s.batch : a->s.valid_rows;
	const uint8_t *body;
	size_t len;
	int rc;

	uint64_t t0 = now_ns();

	if ((rc = sr_he_keygen_sized(p->key_bits, p->pool, &a->pk, &a->sk, err)))
		return rc;
	if (a->s.rows >= 1000 && (rc = sr_he_sk_encrypt_prepare(a->sk, p->pool, err)))
		return rc;
	if (a->stats)
		a->stats->keygen_ns += now_ns() - t0;
	a->z = sr_calloc(maxrows, sizeof(*a->z));
	a->grad = sr_calloc(a->train->cols + 1, sizeof(*a->grad));
	best_w = sr_calloc(a->train->cols + 1, sizeof(*best_w));
	kx = sr_calloc(a->np, KX_BYTES);
	if (!a->z || !a->grad || !best_w || !kx) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sr_he_cts_new(a->s.batch, &a->m, err)) || (rc = sr_he_cts_new(a->s.batch, &a->c, err)))
		goto out;
	for (size_t i = 0; i < a->np; i++) {
		struct link *l = &a->l[i];
		if ((rc = msg_start(l, MSG_PARAMS, err)) || (rc = add_u32(l, (uint32_t)(i + 1), err)) ||
		    (rc = add_u32(l, (uint32_t)a->np, err)) || (rc = add_u64(l, a->s.rows, err)) ||
		    (rc = add_u64(l, a->s.valid_rows, err)) || (rc = add_u32(l, p->lr.epochs, err)) ||
		    (rc = add_u32(l, (uint32_t)a->s.batch, err)) ||
		    (rc = add_u32(l, p->lr.early_stopping_rounds, err)) ||
		    (rc = add_u32(l, p->d_frac_bits, err)) || (rc = add_u32(l, p->x_frac_bits, err)) ||
		    (rc = add_u32(l, p->u_frac_bits, err)) || (rc = add_u32(l, p->key_bits, err)) ||
		    (rc = add_f64(l, p->lr.learning_rate, err)) || (rc = add_f64(l, p->lr.l2, err)) ||
		    (rc = sr_he_pk_encode(a->pk, &l->out, err)) || (rc = link_send(l, MSG_PARAMS, err)))
			goto out;
	}
	for (size_t i = 0; i < a->np; i++) {
		if ((rc = link_recv(&a->l[i], MSG_HELLO, 4 + KX_BYTES, &body, &len, err)))
			goto out;
		a->pcols[i] = sr_load_u32le(body);
		memcpy(kx + i * KX_BYTES, body + 4, KX_BYTES);
	}
	for (size_t i = 0; i < a->np; i++)
		if ((rc = msg_start(&a->l[i], MSG_KEYS, err)) ||
		    (rc = add_bytes(&a->l[i], kx, a->np * KX_BYTES, err)))
			goto out;
	if ((rc = send_all(a, MSG_KEYS, err)))
		goto out;
	for (unsigned e = 0; e < p->lr.epochs; e++) {
		uint8_t action = ACT_CONTINUE;

		for (size_t b = 0; b < a->s.batches; b++)
			if ((rc = active_batch(a, e, b, err)))
				goto out;
		a->w.epochs_run = e + 1;
		if (a->s.early) {
			double loss = 0;

			own_margins(a, a->valid, 0, a->s.valid_rows);
			if ((rc = recv_scores(a, e, VALID_BATCH, a->s.valid_rows, err)))
				goto out;
			for (size_t r = 0; r < a->s.valid_rows; r++)
				loss += sr_ml_logloss1(a->valid->y[r], sr_ml_sigmoid(a->z[r]));
			loss /= (double)a->s.valid_rows;
			if (loss < best_loss) {
				best_loss = loss;
				best_epoch = e;
				memcpy(best_w, a->w.w, a->w.cols * sizeof(*best_w));
				best_bias = a->w.bias;
				action = ACT_BEST;
			} else if (e - best_epoch >= p->lr.early_stopping_rounds) {
				memcpy(a->w.w, best_w, a->w.cols * sizeof(*best_w));
				a->w.bias = best_bias;
				action = ACT_REVERT;
			}
		}
		for (size_t i = 0; i < a->np; i++)
			if ((rc = msg_start(&a->l[i], MSG_EPOCH, err)) ||
			    (rc = add_bytes(&a->l[i], &action, 1, err)))
				goto out;
		if ((rc = send_all(a, MSG_EPOCH, err)))
			goto out;
		if (action == ACT_REVERT)
			break;
	}
	/* The final model's scores of the validation rows (A only). */
	if (a->s.valid_rows) {
		own_margins(a, a->valid, 0, a->s.valid_rows);
		if ((rc = recv_scores(a, FINAL_EPOCH, VALID_BATCH, a->s.valid_rows, err)))
			goto out;
		for (size_t r = 0; a->valid_pred && r < a->s.valid_rows; r++)
			a->valid_pred[r] = sr_ml_sigmoid(a->z[r]);
	}
	for (size_t i = 0; i < a->np; i++) {
		if ((rc = link_recv(&a->l[i], MSG_DONE, 4, &body, &len, err)))
			goto out;
		if (sr_load_u32le(body) != a->w.epochs_run) {
			rc = sr_fail(err, SR_EPROTO, "vertical lr: DONE from %s: %u epochs, expected %u",
				     a->l[i].peer, sr_load_u32le(body), a->w.epochs_run);
			goto out;
		}
	}
out:
	sr_free(best_w);
	sr_free(kx);
	return rc;
}

int sr_ml_vlr_active(const struct sr_ml_vlr_params *p,
		     const struct sr_ml_data *train, const struct sr_ml_data *valid,
		     const struct sr_pipe *passive, size_t npassive,
		     struct sr_ml_lr *out, double *valid_pred, struct sr_ml_vlr_stats *stats,
		     struct sr_err *err)
{
	struct active a;
	uint64_t t0 = now_ns();
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	if ((rc = sr_ml_vlr_params_check(p, err)))
		return rc;
	if (npassive < 1 || npassive > SR_ML_VLR_PASSIVE_MAX)
		return sr_fail(err, SR_EINVAL, "vertical lr: %zu passive parties, expected 1 to %d",
			       npassive, SR_ML_VLR_PASSIVE_MAX);
	if ((rc = sr_ml_lr_check_data(train, 0, err)))
		return sr_err_prefix(err, "vertical lr: training");
	if (valid && ((rc = sr_ml_lr_check_data(valid, 0, err)) || valid->cols != train->cols))
		return rc ? sr_err_prefix(err, "vertical lr: validation")
			  : sr_fail(err, SR_EINVAL, "vertical lr: validation has %zu features, training %zu",
				    valid->cols, train->cols);
	if ((rc = check_features(train, "training", err)) ||
	    (valid && (rc = check_features(valid, "validation", err))))
		return rc;
	a.p = p;
	a.train = train;
	a.valid = valid;
	a.np = npassive;
	a.stats = stats;
	a.valid_pred = valid_pred;
	shape_init(&a.s, p, train->rows, valid ? valid->rows : 0);
	if (slots_of(p, a.s.batch) < 1)
		return sr_fail(err, SR_EINVAL, "vertical lr: a %u-bit key cannot hold one gradient component",
			       p->key_bits);
	a.l = sr_calloc(npassive, sizeof(*a.l));
	a.pcols = sr_calloc(npassive, sizeof(*a.pcols));
	if (!a.l || !a.pcols) {
		sr_free(a.l);
		sr_free(a.pcols);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < npassive; i++) {
		char name[32];
		snprintf(name, sizeof(name), "passive party %zu", i + 1);
		link_init(&a.l[i], &passive[i], stats, name);
	}
	if ((rc = sr_ml_lr_init(&a.w, train->cols, err)) == SR_OK)
		rc = active_run(&a, err);
	if (stats) {
		stats->total_ns += now_ns() - t0;
		stats->epochs = a.w.epochs_run;
		stats->batches += (uint64_t)a.w.epochs_run * a.s.batches;
	}
	for (size_t i = 0; i < npassive; i++)
		link_release(&a.l[i]);
	sr_free(a.l);
	sr_free(a.pcols);
	sr_free(a.z);
	sr_free(a.grad);
	sr_he_cts_free(a.m, a.m ? a.s.batch : 0);
	sr_he_cts_free(a.c, a.c ? a.s.batch : 0);
	sr_he_sk_free(a.sk);
	sr_he_pk_free(a.pk);
	if (rc) {
		sr_ml_lr_release(&a.w);
		return rc;
	}
	*out = a.w;
	return SR_OK;
}

/* ---- joint prediction ------------------------------------------------------------
 *
 *   PREDICT A -> P  u32 party, u32 npassive, u64 rows, u32 u_frac_bits
 *   HELLO   P -> A  u32 features, a fresh X25519 public key
 *   KEYS    A -> P  as in training (seeds under their own context string)
 *   SCORES  P -> A  per chunk k of PREDICT_CHUNK rows: epoch k, batch
 *                   PREDICT_BATCH, the masked fixed-point partial scores
 *   DONE    A -> P  u32 chunks
 */

#define PREDICT_CHUNK ((size_t)SR_ML_VLR_BATCH_MAX)
#define PREDICT_BATCH 0xfffffffeu
#define PREDICT_LEN (4 + 4 + 8 + 4)

static size_t chunks_of(size_t rows)
{
	return (rows + PREDICT_CHUNK - 1) / PREDICT_CHUNK;
}

int sr_ml_vlr_predict_passive(const struct sr_ml_lr *m, const struct sr_ml_data *d,
			      const struct sr_pipe *active, struct sr_err *err)
{
	struct sr_ml_vlr_params p;
	struct passive ps;
	const uint8_t *body;
	size_t len, nchunks = chunks_of(d->rows);
	int rc;

	memset(&ps, 0, sizeof(ps));
	sr_ml_vlr_params_init(&p);
	if (m->cols != d->cols || d->cols == 0)
		return sr_fail(err, SR_EINVAL, "vertical lr predict: the part has %zu weights, the rows %zu features",
			       m->cols, d->cols);
	if ((rc = check_features(d, "prediction", err)))
		return rc;
	ps.p = &p;
	ps.w = *m;                      /* borrowed: never released here */
	ps.mask_context = "sealroom vlrpred mk1";
	link_init(&ps.l, active, NULL, "the active party");
	if ((rc = link_recv(&ps.l, MSG_PREDICT, PREDICT_LEN, &body, &len, err)))
		goto out;
	ps.party = sr_load_u32le(body);
	ps.npassive = sr_load_u32le(body + 4);
	if (ps.npassive < 1 || ps.npassive > SR_ML_VLR_PASSIVE_MAX || ps.party < 1 ||
	    ps.party > ps.npassive) {
		rc = sr_fail(err, SR_EPROTO, "vertical lr predict: PREDICT: party %u of %u passive parties",
			     ps.party, ps.npassive);
		goto out;
	}
	if (sr_load_u64le(body + 8) != d->rows || sr_load_u32le(body + 16) != p.u_frac_bits) {
		rc = sr_fail(err, SR_EINVAL,
			     "vertical lr predict: the active party scores %llu rows at %u fractional bits, this party %zu at %u",
			     (unsigned long long)sr_load_u64le(body + 8), sr_load_u32le(body + 16),
			     d->rows, p.u_frac_bits);
		goto out;
	}
	crypto_box_keypair(ps.kx_pk, ps.kx_sk);
	ps.seeds = sr_calloc(ps.npassive, sizeof(*ps.seeds));
	ps.u = sr_calloc(d->rows < PREDICT_CHUNK ? d->rows + 1 : PREDICT_CHUNK, sizeof(*ps.u));
	if (!ps.seeds || !ps.u) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = msg_start(&ps.l, MSG_HELLO, err)) || (rc = add_u32(&ps.l, (uint32_t)d->cols, err)) ||
	    (rc = add_bytes(&ps.l, ps.kx_pk, KX_BYTES, err)) || (rc = link_send(&ps.l, MSG_HELLO, err)))
		goto out;
	if ((rc = link_recv(&ps.l, MSG_KEYS, (size_t)ps.npassive * KX_BYTES, &body, &len, err)) ||
	    (rc = keys_decode(&ps, body, err)))
		goto out;
	for (size_t k = 0; rc == SR_OK && k < nchunks; k++) {
		size_t first = k * PREDICT_CHUNK;
		size_t count = d->rows - first < PREDICT_CHUNK ? d->rows - first : PREDICT_CHUNK;
		rc = send_scores(&ps, d, (uint32_t)k, PREDICT_BATCH, first, count, err);
	}
	if (rc == SR_OK && (rc = link_recv(&ps.l, MSG_DONE, 4, &body, &len, err)) == SR_OK &&
	    sr_load_u32le(body) != nchunks)
		rc = sr_fail(err, SR_EPROTO, "vertical lr predict: DONE from the active party: %u chunks, expected %zu",
			     sr_load_u32le(body), nchunks);
out:
	sodium_memzero(ps.kx_sk, sizeof(ps.kx_sk));
	if (ps.seeds) {
		sodium_memzero(ps.seeds, ps.npassive * sizeof(*ps.seeds));
		sr_free(ps.seeds);
	}
	sr_free(ps.u);
	link_release(&ps.l);
	return rc;
}

int sr_ml_vlr_predict_active(const struct sr_ml_lr *m, const struct sr_ml_data *d,
			     const struct sr_pipe *passive, size_t npassive, double *out,
			     struct sr_err *err)
{
	struct sr_ml_vlr_params p;
	struct active a;
	uint8_t *kx = NULL;
	const uint8_t *body;
	size_t len, nchunks = chunks_of(d->rows);
	int rc = SR_OK;

	memset(&a, 0, sizeof(a));
	sr_ml_vlr_params_init(&p);
	if (npassive < 1 || npassive > SR_ML_VLR_PASSIVE_MAX)
		return sr_fail(err, SR_EINVAL, "vertical lr predict: %zu passive parties, expected 1 to %d",
			       npassive, SR_ML_VLR_PASSIVE_MAX);
	if (m->cols != d->cols || d->cols == 0)
		return sr_fail(err, SR_EINVAL, "vertical lr predict: the model has %zu weights, the rows %zu features",
			       m->cols, d->cols);
	if ((rc = check_features(d, "prediction", err)))
		return rc;
	a.p = &p;
	a.train = d;
	a.np = npassive;
	a.w = *m;                       /* borrowed: never released here */
	a.l = sr_calloc(npassive, sizeof(*a.l));
	a.z = sr_calloc(d->rows < PREDICT_CHUNK ? d->rows + 1 : PREDICT_CHUNK, sizeof(*a.z));
	kx = sr_calloc(npassive, KX_BYTES);
	if (!a.l || !a.z || !kx) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < npassive; i++) {
		char name[32];
		snprintf(name, sizeof(name), "passive party %zu", i + 1);
		link_init(&a.l[i], &passive[i], NULL, name);
	}
	for (size_t i = 0; rc == SR_OK && i < npassive; i++)
		if ((rc = msg_start(&a.l[i], MSG_PREDICT, err)) == SR_OK &&
		    (rc = add_u32(&a.l[i], (uint32_t)(i + 1), err)) == SR_OK &&
		    (rc = add_u32(&a.l[i], (uint32_t)npassive, err)) == SR_OK &&
		    (rc = add_u64(&a.l[i], d->rows, err)) == SR_OK &&
		    (rc = add_u32(&a.l[i], p.u_frac_bits, err)) == SR_OK)
			rc = link_send(&a.l[i], MSG_PREDICT, err);
	for (size_t i = 0; rc == SR_OK && i < npassive; i++)
		if ((rc = link_recv(&a.l[i], MSG_HELLO, 4 + KX_BYTES, &body, &len, err)) == SR_OK)
			memcpy(kx + i * KX_BYTES, body + 4, KX_BYTES);
	for (size_t i = 0; rc == SR_OK && i < npassive; i++)
		if ((rc = msg_start(&a.l[i], MSG_KEYS, err)) == SR_OK)
			rc = add_bytes(&a.l[i], kx, npassive * KX_BYTES, err);
	if (rc == SR_OK)
		rc = send_all(&a, MSG_KEYS, err);
	for (size_t k = 0; rc == SR_OK && k < nchunks; k++) {
		size_t first = k * PREDICT_CHUNK;
		size_t count = d->rows - first < PREDICT_CHUNK ? d->rows - first : PREDICT_CHUNK;

		own_margins(&a, d, first, count);
		if ((rc = recv_scores(&a, (uint32_t)k, PREDICT_BATCH, count, err)))
			break;
		for (size_t r = 0; r < count; r++)
			out[first + r] = sr_ml_sigmoid(a.z[r]);
	}
	for (size_t i = 0; rc == SR_OK && i < npassive; i++)
		if ((rc = msg_start(&a.l[i], MSG_DONE, err)) == SR_OK &&
		    (rc = add_u32(&a.l[i], (uint32_t)nchunks, err)) == SR_OK)
			rc = link_send(&a.l[i], MSG_DONE, err);
out:
	for (size_t i = 0; a.l && i < npassive; i++)
		link_release(&a.l[i]);
	if (a.z)
		sodium_memzero(a.z, (d->rows < PREDICT_CHUNK ? d->rows + 1 : PREDICT_CHUNK) * sizeof(*a.z));
	sr_free(a.l);
	sr_free(a.z);
	sr_free(kx);
	return rc;
}

int sr_ml_vlr_predict_central(const struct sr_ml_lr *parts, size_t nparts,
			      const struct sr_ml_data *d, double *out, struct sr_err *err)
{
	unsigned ufb = SR_ML_VLR_U_FRAC_BITS;
	uint64_t *u = NULL, *sum = sr_calloc(d->rows + 1, sizeof(*sum));
	size_t col = parts[0].cols;
	int rc = SR_OK;

	if (!sum || !(u = sr_calloc(d->rows + 1, sizeof(*u)))) {
		sr_free(sum);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t i = 1; i < nparts; i++)
		col += parts[i].cols;
	if (nparts < 2 || col != d->cols)
		rc = sr_fail(err, SR_EINVAL, "vertical lr predict: %zu parts with %zu weights, the rows %zu features",
			     nparts, col, d->cols);
	col = parts[0].cols;
	for (size_t i = 1; rc == SR_OK && i < nparts; i++) {
		struct sr_ml_data di = { d->rows, parts[i].cols, d->x + col * d->rows, NULL };
		if ((rc = check_features(&di, "prediction", err)) == SR_OK &&
		    (rc = quantize_scores(parts[i].w, &di, 0, d->rows, ufb, u, err)) == SR_OK)
			for (size_t r = 0; r < d->rows; r++)
				sum[r] += u[r];
		col += parts[i].cols;
	}
	if (rc == SR_OK) {
		struct sr_ml_data da = { d->rows, parts[0].cols, d->x, NULL };
		rc = check_features(&da, "prediction", err);
	}
	/* The active party's arithmetic, in its order. */
	for (size_t r = 0; rc == SR_OK && r < d->rows; r++) {
		double z = parts[0].bias;
		for (size_t c = 0; c < parts[0].cols; c++)
			z += parts[0].w[c] * d->x[c * d->rows + r];
		z += ldexp((double)(int64_t)sum[r], -(int)ufb);
		out[r] = sr_ml_sigmoid(z);
	}
	sr_free(u);
	sr_free(sum);
	return rc;
}

double sr_ml_vlr_predict_bound(size_t npassive, size_t cols, double magnitude)
{
	/* Each partial score is rounded to 2^-(u+1); double sums of cols + 2
	 * terms of total magnitude S differ by at most (cols + 2)·2^-52·S;
	 * σ' <= 1/4; one rounding of σ either side. */
	return ((double)npassive * ldexp(1.0, -(int)SR_ML_VLR_U_FRAC_BITS - 1) +
		(double)(cols + 2) * ldexp(magnitude, -52)) / 4 + ldexp(1.0, -51);
}
