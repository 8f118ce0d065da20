/*
 * hgbdt.h - horizontal federated gradient-boosted trees over parties with
 * the same schema (issue 12 §3; protocol, leakage and dropouts in
 * docs/protocols/train.md, "Horizontal GBDT").
 *
 * Bins are public: equal-width bins over each feature's public bounds
 * (sr_ml_bins_uniform), identical at every party and in the central
 * oracle.  Every party holds the model as it grows.  Per tree each party
 * computes g and h of its own rows at the current model, rounded to
 * multiples of 2^-grad_frac_bits (sr_ml_gbdt_gradients), so they are
 * integers.  Per tree level, each party builds the integer (g, h)
 * histograms of its rows in the level's nodes (the left child of every
 * split; the right one is the parent's minus it), one secure aggregation
 * (src/secagg) gives the aggregator their sums over every party, the
 * aggregator runs sr_ml_split_find on them and sends the level's splits
 * and leaves to every other party.  Because the sums are exact integers,
 * the trees equal sr_ml_gbdt_train_bins on the pooled rows with the same
 * bins, subsample streams and grad_frac_bits, node for node.
 *
 * Threads: none.  Memory: the aggregator keeps the histograms of one
 * level (nodes x slots x 16 bytes); every party its codes, margins and
 * gradients.
 */
#ifndef SR_HGBDT_H
#define SR_HGBDT_H

#include "ml/ml.h"

/* Fixed point of the validation and evaluation loss sums. */
#define SR_ML_HGBDT_LOSS_BITS 24

/*
 * Equal-width bins: feature c gets `bins` value bins over [lo[c], hi[c]],
 * cuts lo + k (hi - lo) / bins for k = 1 .. bins - 1 (values below lo
 * fall in bin 0, above hi in the last: clamped), one value bin when
 * lo == hi; NaN is the missing bin.  SR_EINVAL naming the feature for a
 * non-finite or reversed bound, or for bins outside 2..SR_ML_BINS_MAX.
 */
int sr_ml_bins_uniform(size_t cols, const double *lo, const double *hi, unsigned bins,
		       struct sr_ml_bins *out, struct sr_err *err) SR_WUR;

struct sr_ml_hgbdt_params {
	/* The tree parameters; grad_frac_bits 8..40 (fixed point), max_bins
	 * is not used (the bins below are).  early_stopping_rounds > 0 stops
	 * on the pooled validation loss. */
	struct sr_ml_gbdt_params gbdt;
	const struct sr_ml_bins *bins;  /* public, the same at every party */
	const uint8_t *run_id;          /* the same at every party, fresh per job */
	size_t run_id_len;              /* 1..SR_SECAGG_RUN_ID_MAX - 8 */
	uint32_t parties, self, aggregator;
	const unsigned char *receiver;  /* parties bytes: 1 = gets the model and evaluation */
};

struct sr_ml_hgbdt_stats {
	uint64_t total_ns;              /* the whole run */
	uint64_t secagg_ns;             /* in secure aggregation, waiting for peers included */
	uint64_t compute_ns;            /* local gradients, histograms, margins */
	uint64_t bytes_sent, bytes_received;
	uint64_t aggregations;
};

/* What a receiver gets. */
struct sr_ml_hgbdt_result {
	struct sr_ml_gbdt model;
	struct sr_ml_eval eval;         /* logistic loss: on the test rows */
	struct sr_ml_reg_eval reg;      /* squared loss: RMSE and MAE on the test rows */
	uint64_t train_rows, test_rows;
	uint64_t valid_rows;            /* with early stopping; known at the aggregator only */
};

/*
 * Run as party p->self.  pipes[j] goes to party j (j != self).  train,
 * valid and test are this party's rows (any may have zero rows; valid is
 * used only with early stopping and may be the test rows).  At a
 * receiver *out is filled (sr_ml_hgbdt_result_release); elsewhere it is
 * zeroed.  Any failure (a peer that goes away, a malformed message, no
 * training rows in total, no validation rows with early stopping,
 * gradients too large for exact sums) fails the run at this party with
 * nothing in *out; the caller aborts the pipes so the others fail too.
 */
int sr_ml_hgbdt_run(const struct sr_ml_hgbdt_params *p, const struct sr_pipe *pipes,
		    const struct sr_ml_data *train, const struct sr_ml_data *valid,
		    const struct sr_ml_data *test, struct sr_ml_hgbdt_result *out,
		    struct sr_ml_hgbdt_stats *stats, struct sr_err *err) SR_WUR;

/*
 * The same on pooled rows in one process (run_central): train holds the
 * parties' training rows in consecutive blocks of part_rows[q] rows, in
 * party order (each party's own subsample stream); valid and test
 * pooled likewise.  The same trees, node for node, and the same
 * evaluation.
 */
int sr_ml_hgbdt_central(const struct sr_ml_gbdt_params *p, const struct sr_ml_bins *bins,
			const size_t *part_rows, size_t nparts,
			const struct sr_ml_data *train, const struct sr_ml_data *valid,
			const struct sr_ml_data *test, struct sr_ml_hgbdt_result *out,
			struct sr_err *err) SR_WUR;
void sr_ml_hgbdt_result_release(struct sr_ml_hgbdt_result *r);

#endif
