/*
 * ml.h - our own plaintext learners (DESIGN §17): quantile binning,
 * per-bin gradient histograms, a histogram split finder, gradient-boosted
 * trees (logistic and squared-error loss), logistic regression by
 * mini-batch gradient descent (double and fixed point), evaluation
 * metrics and curves, and a small SVG writer.  These are the central
 * trainers that the federated protocols reuse: the `train` kind's
 * run_central trains with them on pooled rows, and its federated run
 * feeds them aggregated sums (horizontal LR: gradient sums through
 * secure aggregation; SecureBoost: decrypted histograms into
 * sr_ml_split_find).
 *
 * Data layout: features are column-major doubles, x[c * rows + r]; NaN is
 * a missing value.  Labels are doubles (0/1 for the logistic loss).
 *
 * Missing values (declared behaviour): binning gives every feature one
 * extra bin, the missing bin, after its value bins.  A tree split sends
 * the missing bin to the side that gains more (its "default direction",
 * as xgboost does), so rows with NaN are trained and predicted.
 * Logistic regression needs complete rows: a NaN is an error naming the
 * feature and row.  A constant feature has one value bin and is never
 * split on (documented, not an error); in LR it acts as a second
 * intercept.
 *
 * Memory: every struct owns its arrays; _release frees them (a zeroed
 * struct is fine).  Inputs are borrowed for the call.  Nothing here
 * keeps a pointer to caller data after returning.
 *
 * Threads: none; callers may run independent trainers in parallel.
 */
#ifndef SR_ML_H
#define SR_ML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/pipe.h"

#define SR_ML_BINS_DEFAULT 32
#define SR_ML_BINS_MAX 256
#define SR_ML_MISSING UINT16_MAX        /* code of a missing value before layout */

/* A table of features (borrowed views). */
struct sr_ml_data {
	size_t rows, cols;
	const double *x;                /* column-major, rows * cols, NaN = missing */
	const double *y;                /* rows labels, may be NULL for prediction */
};

/* ---- bins.c: quantile binning ------------------------------------------- */

/*
 * Per feature c: ncuts[c] ascending cut values; value bin b holds the x
 * with cuts[b-1] <= x < cuts[b] (bin 0: x < cuts[0], last: x >= the last
 * cut), so nbins = ncuts + 1 value bins, then the missing bin at index
 * nbins.  A cut is a value of the data (the lowest value of its bin).
 */
struct sr_ml_bins {
	size_t cols;
	uint32_t *ncuts;                /* cols */
	double **cuts;                  /* cols arrays of ncuts[c] */
};

/*
 * Quantile cuts of every feature of d with at most max_bins value bins
 * (2..SR_ML_BINS_MAX): the values at ranks k * m / max_bins of the m
 * non-missing sorted values, duplicates removed.  A feature with at most
 * max_bins distinct values gets one bin per value.  SR_EINVAL for zero
 * rows or columns or a bad max_bins; SR_ENOMEM.
 */
int sr_ml_bins_fit(const struct sr_ml_data *d, unsigned max_bins,
		   struct sr_ml_bins *out, struct sr_err *err) SR_WUR;
void sr_ml_bins_release(struct sr_ml_bins *b);
/* The bin of x in feature c (ncuts[c] + 1 for NaN: the missing bin). */
uint32_t sr_ml_bins_code(const struct sr_ml_bins *b, size_t c, double x);
/* codes[c * rows + r] for every cell of d (caller-allocated, uint16). */
void sr_ml_bins_apply(const struct sr_ml_bins *b, const struct sr_ml_data *d,
		      uint16_t *codes);

/* ---- hist.c: (g, h) histograms and the split finder --------------------- */

/*
 * The layout of a histogram: feature c has nbins[c] value bins then one
 * missing bin, at slots offset[c] .. offset[c] + nbins[c] (inclusive).
 * It is all the split finder needs: no cut values, so a party that only
 * sees another party's histograms can find splits over them.
 */
struct sr_ml_layout {
	size_t cols;
	uint32_t *nbins;                /* value bins per feature */
	size_t *offset;                 /* cols + 1; offset[cols] = slots */
};

int sr_ml_layout_from_bins(const struct sr_ml_bins *b, struct sr_ml_layout *out,
			   struct sr_err *err) SR_WUR;
void sr_ml_layout_release(struct sr_ml_layout *l);

/* Sums of gradients and hessians per slot of a layout. */
struct sr_ml_hist {
	size_t slots;
	double *g, *h;
};

int sr_ml_hist_init(struct sr_ml_hist *hist, const struct sr_ml_layout *l,
		    struct sr_err *err) SR_WUR;
void sr_ml_hist_release(struct sr_ml_hist *hist);
/*
 * Zero hist, then add (g[r], h[r]) into the slot of every feature of each
 * row r of rows[0..nrows): codes as from sr_ml_bins_apply over a table of
 * total_rows rows.
 */
void sr_ml_hist_build(struct sr_ml_hist *hist, const struct sr_ml_layout *l,
		      const uint16_t *codes, size_t total_rows,
		      const uint32_t *rows, size_t nrows,
		      const double *g, const double *h);
/* out = parent - child, slot by slot (histogram subtraction). */
void sr_ml_hist_subtract(struct sr_ml_hist *out, const struct sr_ml_hist *parent,
			 const struct sr_ml_hist *child);

/* Tree parameters (defaults: sr_ml_gbdt_params_init). */
struct sr_ml_tree_params {
	double lambda;                  /* L2 on leaf weights (1) */
	double gamma;                   /* minimum loss reduction to split (0) */
	double min_child_weight;        /* minimum hessian sum per child (1) */
};

/* The best split of one node. */
struct sr_ml_split {
	int found;                      /* 0: no split beats gamma */
	size_t feature;
	uint32_t bin;                   /* left: value bins 0..bin */
	int missing_left;               /* the missing bin goes left */
	double gain;                    /* loss reduction (xgboost's loss_chg) */
	double g_left, h_left, g_right, h_right;
};

/*
 * The best split over every feature of hist, a node with gradient sum
 * g_total and hessian sum h_total: the largest
 *   GL^2/(HL+lambda) + GR^2/(HR+lambda) - G^2/(H+lambda)
 * with both hessian sums >= min_child_weight, above gamma.  Ties go to the
 * lower feature, then the lower bin, then missing right (deterministic,
 * so the same histograms give the same split anywhere).  feature_mask
 * (optional, cols bytes): only features with a nonzero byte compete.
 */
void sr_ml_split_find(const struct sr_ml_layout *l, const struct sr_ml_hist *hist,
		      double g_total, double h_total,
		      const struct sr_ml_tree_params *p,
		      const unsigned char *feature_mask, struct sr_ml_split *out);

/* The leaf weight -G / (H + lambda) (before the learning rate). */
double sr_ml_leaf_weight(double g, double h, double lambda);

/* ---- gbdt.c --------------------------------------------------------------- */

enum sr_ml_loss {
	SR_ML_LOGISTIC = 0,             /* binary labels 0/1, margin -> sigmoid */
	SR_ML_SQUARED = 1,              /* regression */
};

struct sr_ml_gbdt_params {
	enum sr_ml_loss loss;
	unsigned trees;                 /* 50 */
	unsigned depth;                 /* 6 */
	double learning_rate;           /* 0.3 */
	struct sr_ml_tree_params tree;
	double subsample;               /* row fraction per tree, (0, 1] (1) */
	uint64_t seed;                  /* of the subsampling PRNG (0) */
	unsigned max_bins;              /* 32 */
	double base_score;              /* 0.5 (a probability for logistic) */
	unsigned early_stopping_rounds; /* 0 = off; needs a validation set */
	/* 0: double gradients.  k in 8..40: every g and h is rounded to a
	 * multiple of 2^-k before the tree is grown (what SecureBoost
	 * encrypts, src/ml/secureboost.h), so the central trainer grows the
	 * federated trees exactly.  A rounded h of 0 stays 0. */
	unsigned grad_frac_bits;
};

void sr_ml_gbdt_params_init(struct sr_ml_gbdt_params *p);
/* SR_EINVAL naming the parameter and its range. */
int sr_ml_gbdt_params_check(const struct sr_ml_gbdt_params *p,
			    struct sr_err *err) SR_WUR;

/* The gradients and hessians of the loss at margin[0..n), rounded to
 * multiples of 2^-frac_bits when frac_bits > 0 (grad_frac_bits). */
void sr_ml_gbdt_gradients(enum sr_ml_loss loss, unsigned frac_bits, const double *margin,
			  const double *y, size_t n, double *g, double *h);
/* The early-stopping loss of margins on n labelled rows: mean log-loss
 * (logistic) or RMSE (squared). */
double sr_ml_gbdt_valid_loss(enum sr_ml_loss loss, const double *margin, const double *y,
			     size_t n);
/* SR_EINVAL unless d has rows and finite labels (0/1 for logistic);
 * `which` names the set in the message. */
int sr_ml_gbdt_check_labels(const struct sr_ml_gbdt_params *p, const struct sr_ml_data *d,
			    const char *which, struct sr_err *err) SR_WUR;

/* splitmix64: the seeded, reproducible stream of row subsampling (not
 * for secrets: it only has to repeat with its seed). */
uint64_t sr_ml_prng_next(uint64_t *state);

/* One node; leaves have left == right == 0. */
struct sr_ml_node {
	uint32_t left, right;           /* child indices, 0 for a leaf */
	uint32_t feature;
	uint32_t bin;                   /* left: code <= bin */
	double threshold;               /* left: x < threshold (cuts[bin]) */
	int missing_left;
	double value;                   /* leaf: weight * learning rate */
	double gain;                    /* split: loss reduction */
	double cover;                   /* hessian sum */
};

struct sr_ml_tree {
	struct sr_ml_node *nodes;       /* nodes[0] is the root */
	size_t nnodes;
};

struct sr_ml_gbdt {
	enum sr_ml_loss loss;
	size_t cols;
	double base_margin;             /* logit(base_score) or base_score */
	struct sr_ml_tree *trees;
	size_t ntrees;
	size_t best_trees;              /* kept after early stopping */
};

/*
 * Train on train (labels required) with bins fitted on it; valid
 * (optional) is used for early stopping (logistic: log-loss; squared:
 * RMSE), after which the model keeps the best round's trees.  SR_EINVAL
 * for bad parameters, zero rows, a logistic label that is not 0 or 1
 * (naming the row and value), a NaN label; SR_ENOMEM.
 */
int sr_ml_gbdt_train(const struct sr_ml_gbdt_params *p, const struct sr_ml_data *train,
		     const struct sr_ml_data *valid, struct sr_ml_gbdt *out,
		     struct sr_err *err) SR_WUR;
void sr_ml_gbdt_release(struct sr_ml_gbdt *m);

/*
 * What a federated trainer fixes for its central oracle (horizontal GBDT,
 * src/ml/hgbdt.h); NULL or zero fields keep sr_ml_gbdt_train's behaviour.
 */
struct sr_ml_gbdt_fixed {
	/* Public bins (cols = train->cols) instead of quantiles of train. */
	const struct sr_ml_bins *bins;
	/* nparts > 0: the training rows are consecutive blocks of part_rows[q]
	 * rows, one per party, and block q draws its row subsample from its
	 * own stream sr_ml_gbdt_party_stream(seed, q), row after row, tree
	 * after tree (instead of one stream from seed over all rows). */
	const size_t *part_rows;
	size_t nparts;
	/* > 0: the validation loss is the integer sum of
	 * sr_ml_gbdt_loss_fixed over the rows (what secure aggregation sums),
	 * through sr_ml_gbdt_loss_from_fixed. */
	unsigned loss_bits;
};

int sr_ml_gbdt_train_bins(const struct sr_ml_gbdt_params *p, const struct sr_ml_gbdt_fixed *f,
			  const struct sr_ml_data *train, const struct sr_ml_data *valid,
			  struct sr_ml_gbdt *out, struct sr_err *err) SR_WUR;
/* The start of party q's subsample stream, and one draw of it (1: the row
 * is in this tree's sample). */
uint64_t sr_ml_gbdt_party_stream(uint64_t seed, size_t party);
int sr_ml_gbdt_subsample_keep(uint64_t *state, double subsample);
/* One row's loss (log-loss, or squared error) at margin, rounded to a
 * multiple of 2^-bits (clamped at 2^30), as an integer; and the mean
 * log-loss or the RMSE of n rows from the sum of those integers. */
uint64_t sr_ml_gbdt_loss_fixed(enum sr_ml_loss loss, double y, double margin, unsigned bits);
double sr_ml_gbdt_loss_from_fixed(enum sr_ml_loss loss, uint64_t sum, uint64_t n,
				  unsigned bits);
/* The leaf value of row r of one tree, from raw values or from codes
 * (sr_ml_bins_apply over a table of total_rows rows, layout l). */
double sr_ml_tree_value(const struct sr_ml_tree *t, const struct sr_ml_data *d, size_t r);
double sr_ml_tree_value_codes(const struct sr_ml_tree *t, const struct sr_ml_layout *l,
			      const uint16_t *codes, size_t total_rows, size_t r);
/* The raw margin of row r of d (sum of leaves + base). */
double sr_ml_gbdt_margin(const struct sr_ml_gbdt *m, const struct sr_ml_data *d, size_t r);
/* Predictions of every row: probabilities (logistic) or values. */
void sr_ml_gbdt_predict(const struct sr_ml_gbdt *m, const struct sr_ml_data *d,
			double *out);
/* Total split gain per feature (cols doubles, caller-allocated). */
void sr_ml_gbdt_importance(const struct sr_ml_gbdt *m, double *gain);

/* ---- lr.c ----------------------------------------------------------------- */

struct sr_ml_lr_params {
	unsigned epochs;                /* 100 */
	size_t batch;                   /* rows per step, 0 = the whole set */
	double learning_rate;           /* 0.1 */
	double l2;                      /* lambda: loss = mean logloss + l2/2 |w|^2 (0) */
	unsigned early_stopping_rounds; /* epochs without validation gain, 0 = off */
	/* 0: double.  k in 8..40: each row's gradient term is rounded to a
	 * multiple of 2^-k and summed as int64 (what secure aggregation of
	 * fixed-point updates computes); the error is accounted in lr.c. */
	unsigned frac_bits;
};

void sr_ml_lr_params_init(struct sr_ml_lr_params *p);
int sr_ml_lr_params_check(const struct sr_ml_lr_params *p, struct sr_err *err) SR_WUR;

struct sr_ml_lr {
	size_t cols;
	double *w;                      /* cols weights */
	double bias;
	unsigned epochs_run;
};

int sr_ml_lr_init(struct sr_ml_lr *m, size_t cols, struct sr_err *err) SR_WUR;
void sr_ml_lr_release(struct sr_ml_lr *m);

/*
 * The gradient sums of the logistic loss at model m over rows
 * [first, first + count) of d: grad[c] = sum (p_r - y_r) x_rc for each
 * feature, grad[cols] = sum (p_r - y_r).  With frac_bits > 0 each term is
 * rounded to round(term * 2^frac_bits) and the sums are int64 in fixed[]
 * (cols + 1 entries, two's complement); grad is then the decoded sum.
 * fixed may be NULL for double.  The caller checked the data
 * (sr_ml_lr_check_data).
 */
void sr_ml_lr_gradient(const struct sr_ml_lr *m, const struct sr_ml_data *d,
		       size_t first, size_t count, unsigned frac_bits,
		       double *grad, uint64_t *fixed);
/* One step from the summed gradient over n rows: w -= lr (grad/n + l2 w). */
void sr_ml_lr_step(struct sr_ml_lr *m, const struct sr_ml_lr_params *p,
		   const double *grad, size_t n);
/*
 * Labels 0/1, no NaN anywhere, rows > 0, and, for fixed point, every
 * |x| <= 1 (so a term fits the fixed-point range): SR_EINVAL naming the
 * row and feature otherwise.
 */
int sr_ml_lr_check_data(const struct sr_ml_data *d, unsigned frac_bits,
			struct sr_err *err) SR_WUR;
/*
 * Mini-batch gradient descent from zero weights over train (rows in
 * order, consecutive batches), with early stopping on valid (log-loss)
 * when given; the best epoch's weights are kept.
 */
int sr_ml_lr_train(const struct sr_ml_lr_params *p, const struct sr_ml_data *train,
		   const struct sr_ml_data *valid, struct sr_ml_lr *out,
		   struct sr_err *err) SR_WUR;
/* Probabilities of every row of d. */
void sr_ml_lr_predict(const struct sr_ml_lr *m, const struct sr_ml_data *d, double *out);
/*
 * A bound on |w_fixed - w_double| per weight after `steps` steps of
 * fixed-point training with frac_bits over cols features with every
 * |x| <= 1: the rounding of one step's mean gradient is at most
 * 2^-(frac_bits+1) per coordinate, and a step amplifies an earlier
 * difference by at most 1 + lr * ((cols + 1) / 4 + l2) (the Lipschitz
 * constant of the gradient), so the errors add up geometrically.
 */
double sr_ml_lr_fixed_bound(const struct sr_ml_lr_params *p, size_t cols,
			    unsigned long steps);
/* The same for any per-step error: step_error bounds each coordinate of
 * the error of one step's mean gradient (the rest of the argument is
 * sr_ml_lr_fixed_bound's; src/ml/vlr.c uses it). */
double sr_ml_lr_error_bound(const struct sr_ml_lr_params *p, size_t cols,
			    unsigned long steps, double step_error);

double sr_ml_sigmoid(double z);

/* ---- metrics.c ------------------------------------------------------------ */

#define SR_ML_CURVE_POINTS 101          /* ROC/lift/gains points kept */

/* One point of a curve. */
struct sr_ml_point {
	double x, y;
};

/* Binary evaluation. */
struct sr_ml_eval {
	uint64_t rows, positives;
	double auc, ks, accuracy, precision, recall, logloss;
	/* ROC: (fpr, tpr); gains: (fraction of rows, fraction of positives
	 * captured); lift: (fraction of rows, gains / fraction). */
	struct sr_ml_point roc[SR_ML_CURVE_POINTS * 2];
	size_t nroc;
	struct sr_ml_point gains[SR_ML_CURVE_POINTS], lift[SR_ML_CURVE_POINTS];
	size_t ngains, nlift;
};

/*
 * From counts per score bucket, buckets in ascending score order:
 * pos[i], neg[i] rows of each label; above_half is the first bucket whose
 * scores are >= 0.5 (predicted positive); logloss_sum the summed
 * log-loss.  Ties within a bucket count half (AUC as the Mann-Whitney
 * statistic).  SR_EINVAL without both labels.
 */
int sr_ml_eval_counts(const uint64_t *pos, const uint64_t *neg, size_t buckets,
		      size_t above_half, double logloss_sum, struct sr_ml_eval *out,
		      struct sr_err *err) SR_WUR;
/* Exact: every distinct score its own bucket.  y 0/1, p in [0, 1]. */
int sr_ml_eval_scores(const double *y, const double *p, size_t n,
		      struct sr_ml_eval *out, struct sr_err *err) SR_WUR;
/* The log-loss of one row, probability clipped to [1e-15, 1 - 1e-15]. */
double sr_ml_logloss1(double y, double p);

/* Regression. */
struct sr_ml_reg_eval {
	uint64_t rows;
	double rmse, mae;
};
void sr_ml_eval_regression(const double *y, const double *pred, size_t n,
			   struct sr_ml_reg_eval *out);

/* ---- svg.c ---------------------------------------------------------------- */

/* One series of a line chart. */
struct sr_svg_series {
	const char *name;
	const struct sr_ml_point *points;
	size_t npoints;
};

/*
 * A line chart with axes, ticks, labels and a legend into out (appended).
 * Text is XML-escaped.  SR_EINVAL for no series or a non-finite point;
 * SR_ENOMEM.
 */
int sr_svg_lines(struct sr_buf *out, const char *title, const char *x_label,
		 const char *y_label, const struct sr_svg_series *series,
		 size_t nseries, int diagonal, struct sr_err *err) SR_WUR;
/* A horizontal bar chart of values[i] labelled names[i]. */
int sr_svg_bars(struct sr_buf *out, const char *title, const char *const *names,
		const double *values, size_t n, struct sr_err *err) SR_WUR;

/* ---- horizontal.c: federated LR over same-schema parties ------------------ */

/*
 * Horizontal logistic regression (docs/protocols/train.md): every party
 * holds rows of the same features.  Each round every party computes the
 * fixed-point gradient sums of its training rows at the current weights
 * (sr_ml_lr_gradient), secure aggregation (src/secagg) sums them at the
 * aggregator, which takes one gradient step over all rows and sends the
 * new weights to every party.  This is full-batch gradient descent on
 * the pooled rows, and because the fixed-point sums are integers it gives
 * exactly the weights of sr_ml_lr_train in fixed point on those rows
 * (batch 0, epochs = rounds).  Evaluation: every party scores its test
 * rows with the final weights into SR_ML_EVAL_BUCKETS label counts and a
 * fixed-point log-loss sum; one more aggregation gives them to the
 * aggregator, which sends them to the other receivers.
 */
#define SR_ML_EVAL_BUCKETS 1000
#define SR_ML_EVAL_LOSS_BITS 24          /* fixed point of the log-loss sum */

/* The evaluation vector: pos[B], neg[B], then the log-loss sum. */
#define SR_ML_EVAL_LEN (2 * SR_ML_EVAL_BUCKETS + 1)

/* Add the bucket counts and fixed-point log-loss of n test rows (labels
 * y, probabilities prob) into v[0..SR_ML_EVAL_LEN). */
void sr_ml_eval_vector_add(uint64_t *v, const double *y, const double *prob, size_t n);
/* The evaluation from a (summed) vector; SR_EINVAL without both labels. */
int sr_ml_eval_vector_finish(const uint64_t *v, struct sr_ml_eval *out,
			     struct sr_err *err) SR_WUR;

/*
 * A federated run's common state (fed.c): the pipes, the run id with a
 * counter so every secure aggregation has its own, and what they cost.
 */
struct sr_ml_fed {
	const struct sr_pipe *pipes;
	uint8_t *run_id;                /* run_id_len + 8: the job's id, then the counter */
	size_t run_id_len;
	uint32_t parties, self, aggregator;
	uint64_t round;                 /* aggregations so far */
	uint64_t secagg_ns, bytes_sent, bytes_received;
};

uint64_t sr_ml_now_ns(void);
/* SR_EINVAL for a run id of 0 or over SR_SECAGG_RUN_ID_MAX - 8 bytes. */
int sr_ml_fed_init(struct sr_ml_fed *F, const uint8_t *run_id, size_t run_id_len,
		   uint32_t parties, uint32_t self, uint32_t aggregator,
		   const struct sr_pipe *pipes, struct sr_err *err) SR_WUR;
void sr_ml_fed_release(struct sr_ml_fed *F);
/* One secure aggregation of v[0..len), summed in place at the aggregator. */
int sr_ml_fed_aggregate(struct sr_ml_fed *F, uint64_t *v, size_t len,
			struct sr_err *err) SR_WUR;
/* A message of type then count little-endian u64 words, to party j; and
 * its receipt from the aggregator, exact in type and length (SR_EPROTO). */
int sr_ml_fed_send(struct sr_ml_fed *F, uint32_t j, uint8_t type, const uint64_t *w,
		   size_t count, struct sr_buf *msg, struct sr_err *err) SR_WUR;
int sr_ml_fed_recv(struct sr_ml_fed *F, uint8_t type, uint64_t *w, size_t count,
		   struct sr_buf *msg, struct sr_err *err) SR_WUR;

struct sr_ml_hlr_params {
	struct sr_ml_lr_params lr;      /* epochs = rounds; batch ignored; frac_bits >= 8 */
	const uint8_t *run_id;          /* the same at every party, fresh per job */
	size_t run_id_len;              /* 1..SR_SECAGG_RUN_ID_MAX - 8 */
	uint32_t parties, self, aggregator;
	const unsigned char *receiver;  /* parties bytes: 1 = gets the model and evaluation */
};

struct sr_ml_hlr_stats {
	uint64_t total_ns;              /* the whole run */
	uint64_t secagg_ns;             /* in secure aggregation, waiting for peers included */
	uint64_t compute_ns;            /* local gradients and scores */
	uint64_t bytes_sent, bytes_received;
};

/* What a receiver gets. */
struct sr_ml_hlr_result {
	struct sr_ml_lr model;
	struct sr_ml_eval eval;
	uint64_t train_rows, test_rows;
};

/*
 * Run as party p->self.  pipes[j] goes to party j (j != self); train and
 * test are this party's rows (either may have zero rows; the features
 * must be scaled to [-1, 1], sr_ml_lr_check_data).  At a receiver *out
 * is filled (release it with sr_ml_hlr_result_release); elsewhere it is
 * zeroed.  Any failure (a peer that goes away, a malformed message, no
 * training rows or a single test label in total) fails the run at this
 * party with nothing in *out; the caller aborts the pipes so the others
 * fail too.
 */
int sr_ml_hlr_run(const struct sr_ml_hlr_params *p, const struct sr_pipe *pipes,
		  const struct sr_ml_data *train, const struct sr_ml_data *test,
		  struct sr_ml_hlr_result *out, struct sr_ml_hlr_stats *stats,
		  struct sr_err *err) SR_WUR;
/* The same on pooled rows in one process (run_central): the same weights
 * bit for bit and the same evaluation. */
int sr_ml_hlr_central(const struct sr_ml_lr_params *p, const struct sr_ml_data *train,
		      const struct sr_ml_data *test, struct sr_ml_hlr_result *out,
		      struct sr_err *err) SR_WUR;
void sr_ml_hlr_result_release(struct sr_ml_hlr_result *r);

#endif
