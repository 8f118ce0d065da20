/*
 * vlr.h - vertical logistic regression with Paillier (DESIGN §17,
 * docs/protocols/train.md "Vertical logistic regression").
 *
 * Parties: the active party A holds the labels, the intercept and some
 * features; each passive party P_i (i = 1..npassive) holds other features
 * of the same aligned rows.  A talks to every P_i over one struct
 * sr_pipe; the P_i never talk to each other (A relays their key-agreement
 * public keys).
 *
 * Training is the mini-batch gradient descent of sr_ml_lr_train (double,
 * frac_bits 0) on the pooled columns (A's features, then each P_i's in
 * party order): the same batches in row order, the same L2 and learning
 * rate, early stopping on the validation rows by the same rule.  Per
 * batch:
 *   1. every P_i sends its partial scores u_i = X_i w_i in fixed point
 *      (2^-u_frac_bits), masked with pairwise masks that cancel in the sum
 *      over the passive parties (with one passive party there is no mask:
 *      A learns u_1, which it could compute from σ(Σu) anyway);
 *   2. A computes d = σ(bias + X_A w_A + Σ u_i) − y, encodes it in fixed
 *      point (2^-d_frac_bits) and sends [[d]] under its per-run key;
 *   3. P_i computes [[G_c]] = Π_r [[d_r]]^{x_rc} for each of its features
 *      by multi-exponentiation (x in fixed point, 2^-x_frac_bits), adds a
 *      random mask R_c of sigma bits above |G_c|, packs several masked
 *      components per plaintext, rerandomizes and returns them;
 *   4. A decrypts the packed masked values only and returns them; P_i
 *      subtracts R_c and takes its gradient step.  A steps its own weights
 *      and the intercept from d in double.
 * A never sees a passive weight; P_i never sees d, y or A's weights.
 *
 * The distance to the double central trainer is bounded by
 * sr_ml_vlr_bound (fixed-point error of d, x and u per step, propagated
 * as in sr_ml_lr_fixed_bound).
 *
 * Memory: outputs are struct sr_ml_lr (release with sr_ml_lr_release);
 * inputs are borrowed for the call.  Threads: the caller's thread plus
 * p->pool's workers when given.
 */
#ifndef SR_ML_VLR_H
#define SR_ML_VLR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pool.h"
#include "ml/ml.h"
#include "net/pipe.h"

#define SR_ML_VLR_VERSION 1
#define SR_ML_VLR_PASSIVE_MAX 16
#define SR_ML_VLR_BATCH_MAX 65536u       /* rows per batch (one [[d]] message) */
#define SR_ML_VLR_D_FRAC_BITS 32u        /* residual fixed point */
#define SR_ML_VLR_X_FRAC_BITS 20u        /* passive features in the exponent */
#define SR_ML_VLR_U_FRAC_BITS 32u        /* partial scores */
#define SR_ML_VLR_MASK_SIGMA 40u         /* statistical hiding of a masked gradient */

struct sr_ml_vlr_params {
	/* epochs, batch (0 = all rows, at most SR_ML_VLR_BATCH_MAX),
	 * learning_rate, l2, early_stopping_rounds; frac_bits must be 0. */
	struct sr_ml_lr_params lr;
	unsigned d_frac_bits;           /* 8..40 (32) */
	unsigned x_frac_bits;           /* 8..30 (20) */
	unsigned u_frac_bits;           /* 16..40 (32) */
	unsigned key_bits;              /* Paillier modulus (2048); tests: >= 1024 */
	struct sr_pool *pool;           /* optional */
};

/* Defaults: sr_ml_lr_params_init and the constants above, 2048-bit keys. */
void sr_ml_vlr_params_init(struct sr_ml_vlr_params *p);
/* SR_EINVAL naming the parameter and its range. */
int sr_ml_vlr_params_check(const struct sr_ml_vlr_params *p, struct sr_err *err) SR_WUR;

/* What a run measured (either side; zero it or pass NULL). */
struct sr_ml_vlr_stats {
	uint64_t total_ns;
	uint64_t keygen_ns;             /* A: the run's key and encryption tables */
	uint64_t encrypt_ns;            /* A: encrypting residuals */
	uint64_t decrypt_ns;            /* A: decrypting masked gradients */
	uint64_t gradient_ns;           /* P: multi-exponentiations and packing */
	uint64_t bytes_sent, bytes_received;
	uint64_t ciphertexts_decrypted;
	uint64_t batches;
	unsigned epochs;
};

/*
 * The active party: train (labels 0/1, every |x| <= 1) and valid
 * (optional; needed for early stopping, its rows aligned with the passive
 * parties' validation rows) are A's columns; passive[i - 1] goes to P_i.
 * On success *out holds A's weights and the intercept (epochs_run set)
 * and, when valid_pred is not NULL, valid_pred[0..valid->rows) the
 * probabilities of the validation rows under the final weights (the
 * passive parties send their scores of those rows once more, masked).
 * Any failure (bad data or parameters, a malformed message: SR_EPROTO
 * naming it, a party that goes away) leaves *out zeroed; the caller then
 * aborts the pipes so the passive parties fail too.
 */
int sr_ml_vlr_active(const struct sr_ml_vlr_params *p,
		     const struct sr_ml_data *train, const struct sr_ml_data *valid,
		     const struct sr_pipe *passive, size_t npassive,
		     struct sr_ml_lr *out, double *valid_pred, struct sr_ml_vlr_stats *stats,
		     struct sr_err *err) SR_WUR;

/*
 * A passive party: its columns of the same aligned rows (y ignored, every
 * |x| <= 1); valid may be NULL only when A has none.  p must equal A's
 * parameters (A sends its own; a mismatch is refused).  On success *out
 * holds this party's weights (bias 0).
 */
int sr_ml_vlr_passive(const struct sr_ml_vlr_params *p,
		      const struct sr_ml_data *train, const struct sr_ml_data *valid,
		      const struct sr_pipe *active,
		      struct sr_ml_lr *out, struct sr_ml_vlr_stats *stats,
		      struct sr_err *err) SR_WUR;

/*
 * A bound on |w_federated - w_central| per weight (and the intercept)
 * against sr_ml_lr_train in double with the same schedule, after `steps`
 * batches over cols pooled features (every |x| <= 1): the mean gradient's
 * per-coordinate error per step is at most 2^-(x+1) + 2^-(d+1) +
 * 2^-(x+d+2) + npassive · 2^-(u+3), propagated as in sr_ml_lr_fixed_bound.
 */
double sr_ml_vlr_bound(const struct sr_ml_vlr_params *p, size_t cols,
		       size_t npassive, unsigned long steps);

/*
 * Joint prediction (docs/protocols/predict.md): the same aligned rows d
 * at every party, each party's columns on its model's scale (|x| <= 1,
 * no NaN: SR_EINVAL naming the row).  A holds m = its weights and the
 * intercept; P_i its weights.  Each P_i sends U_i,r = round(2^u x_i,r·w_i)
 * (u = SR_ML_VLR_U_FRAC_BITS) plus pairwise masks that cancel in Σ_i U_i
 * mod 2^64 (fresh X25519 keys relayed by A, seeds under a prediction
 * context; none with one passive party), in chunks of
 * SR_ML_VLR_BATCH_MAX rows.  A: out[r] = σ(b + x_A,r·w_A + Σ_i U_i,r/2^u)
 * (d->rows entries).  m is borrowed.  A malformed message: SR_EPROTO.
 */
int sr_ml_vlr_predict_active(const struct sr_ml_lr *m, const struct sr_ml_data *d,
			     const struct sr_pipe *passive, size_t npassive, double *out,
			     struct sr_err *err) SR_WUR;
int sr_ml_vlr_predict_passive(const struct sr_ml_lr *m, const struct sr_ml_data *d,
			      const struct sr_pipe *active, struct sr_err *err) SR_WUR;
/*
 * The plaintext oracle: parts[0] A's, parts[i] P_i's, d the pooled columns
 * in that order; the protocol's arithmetic, so out equals the federated
 * scores bit for bit.
 */
int sr_ml_vlr_predict_central(const struct sr_ml_lr *parts, size_t nparts,
			      const struct sr_ml_data *d, double *out, struct sr_err *err) SR_WUR;
/*
 * A bound on |score - σ(b + Σ_all w·x)| (exact pooled double) per row,
 * magnitude = |b| + Σ|w_c x_c| of the row.
 */
double sr_ml_vlr_predict_bound(size_t npassive, size_t cols, double magnitude);

#endif
