/*
 * train.h - the `train` kind's parts (docs/protocols/train.md): the spec,
 * the rows it reads, and the plots of its result.
 */
#ifndef SR_TRAIN_H
#define SR_TRAIN_H

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "kinds/kind.h"
#include "ml/ml.h"
#include "policy/policy.h"

enum train_mode { TRAIN_HORIZONTAL = 0, TRAIN_VERTICAL = 1 };
enum train_model { TRAIN_LR = 0, TRAIN_GBDT = 1 };

/* One input of a vertical job: its join key and its features. */
struct train_vinput {
	const char *key;
	const char **features;
	size_t nfeatures;
	size_t first;                   /* its first column in the pooled order */
};

/* The checked spec; strings are borrowed from the spec JSON. */
struct train_spec {
	enum train_mode mode;
	enum train_model model;
	const char **features;          /* nfeatures, distinct */
	size_t nfeatures;
	const char *label;
	struct sr_ml_lr_params lr;      /* epochs = rounds, frac_bits */
	struct sr_ml_gbdt_params gbdt;  /* model gbdt: train_spec_gbdt */
	int first_tree_active_only;     /* vertical gbdt: tree 0 on the label holder's features */
	double test_ratio;
	double *lo, *hi;                /* per feature: the widest policy bounds */
	/* Vertical: per input (ninputs); the input holding the label (the
	 * active party) comes first in the pooled column order, then the
	 * others in input order; features above is that pooled order. */
	struct train_vinput *vin;
	size_t nvin;
	size_t active;                  /* the input with the label */
	size_t *order;                  /* nvin input indices, pooled order */
};

/*
 * Parse and check the kind's own keys of spec, and the scaling bounds of
 * the features from the inputs' policies (policies[i] may be NULL for an
 * input the checker could not resolve).  SR_EINVAL naming the key.
 * A feature without bounds in some policy gets lo = hi = NaN here; the
 * checker reports it as a violation.
 */
int train_spec_parse(const json_t *spec, const struct sr_policy *const *policies,
		     size_t npolicies, struct train_spec *out, struct sr_err *err) SR_WUR;
void train_spec_release(struct train_spec *s);

/*
 * The GBDT keys of spec into out->gbdt and out->first_tree_active_only,
 * defaults for absent keys (docs/protocols/train.md, spec table): trees,
 * depth, learning_rate, lambda, gamma, min_child_weight, subsample, seed,
 * bins (max_bins), loss ("logistic" | "squared"), early_stopping_rounds
 * (on the test split), first_tree_active_only.  grad_frac_bits is not a
 * key: it is TRAIN_GBDT_FRAC_BITS, what the federated modes sum exactly.
 * SR_EINVAL naming the key and its range.
 */
#define TRAIN_GBDT_FRAC_BITS 24
int train_spec_gbdt(const json_t *spec, struct train_spec *out, struct sr_err *err) SR_WUR;

/*
 * Vertical LR's keys (docs/protocols/train.md, spec table) into out->lr:
 * epochs (10), batch (1024; 0 = all rows), learning_rate (0.1), l2 (0),
 * early_stopping_rounds (0; on the test split).  The keys of the other
 * models are refused by name.  SR_EINVAL naming the key and its range.
 */
int train_spec_vlr(const json_t *spec, struct train_spec *out, struct sr_err *err) SR_WUR;

/* An owned table of scaled rows (column-major), for the learners. */
struct train_table {
	size_t rows, cols, cap;
	double *x, *y;                  /* row-major while loading, then column-major */
};

/*
 * Append the rows of local input i to train and test: features scaled
 * into [0, 1] by the spec's bounds (clamped), the label 0/1, each label
 * class split by the test ratio (row k of a class goes to test when
 * floor((k + 1) ratio) > floor(k ratio)).  SR_EINVAL naming the dataset,
 * row and column for a NULL feature or label, or a label other than 0/1.
 */
int train_load(const struct sr_kind_ctx *c, size_t input, const struct train_spec *s,
	       struct train_table *train, struct train_table *test,
	       struct sr_err *err) SR_WUR;
/* Row-major to column-major, once loading is done. */
int train_table_finish(struct train_table *t, struct sr_err *err) SR_WUR;
void train_table_release(struct train_table *t);
struct sr_ml_data train_table_view(const struct train_table *t);

/* The result envelope of a trained model at a receiver. */
json_t *train_result(const struct train_spec *s, const struct sr_ml_hlr_result *r);
/* meta.evaluation of a binary evaluation (NULL when out of memory). */
json_t *train_eval_json(const struct sr_ml_eval *e);

/* The vertical `train` kind (train_vertical.c); the spec is vertical. */
int train_vertical_run(const struct sr_kind_ctx *c, const struct train_spec *s,
		       json_t **result, struct sr_err *err) SR_WUR;
int train_vertical_central(const struct sr_kind_ctx *c, const struct train_spec *s,
			   json_t **result, struct sr_err *err) SR_WUR;
/*
 * Vertical mode's test split (docs/protocols/train.md, "Vertical mode"):
 * of the m rows j with cls[j] == c, for c = 0 and 1, floor(m ratio)
 * chosen uniformly at random with a stream drawn from key get mask[j] = 1,
 * the rest 0.  The same key gives the same mask; without the key the mask
 * says nothing of which rows are in which class beyond the class sizes.
 */
int train_split_mask(const uint8_t key[32], const uint8_t *cls, size_t n, double ratio,
		     uint8_t *mask, struct sr_err *err) SR_WUR;
/* Paillier modulus bits of vertical SecureBoost (2048; tests lower it). */
extern unsigned train_sb_key_bits;

/*
 * The pipes of a federated run (train_kind.c): *pipes to every other
 * party on the train channel, *receiver a byte per party (1: a
 * receiver), *aggregator the first receiver's party index.  Both arrays
 * are the caller's to free, also on failure.
 */
int train_mesh(const struct sr_kind_ctx *c, struct sr_pipe **pipes, unsigned char **receiver,
	       size_t *aggregator, struct sr_err *err) SR_WUR;

/* Horizontal GBDT (train_hgbdt.c); the spec is horizontal gbdt.  check:
 * its rules beyond train_spec_parse (SR_EINVAL naming the key). */
int train_hgbdt_check(const struct train_spec *s, struct sr_err *err) SR_WUR;
int train_hgbdt_run(const struct sr_kind_ctx *c, const struct train_spec *s,
		    json_t **result, struct sr_err *err) SR_WUR;
int train_hgbdt_central(const struct sr_kind_ctx *c, const struct train_spec *s,
			json_t **result, struct sr_err *err) SR_WUR;

/*
 * An SVG plot of a train result into out: "roc", "lift", "gains" or
 * "importance".  SR_EINVAL naming what is missing (a result that is not
 * a train result, an unknown plot).
 */
int train_plot(const json_t *result, const char *which, struct sr_buf *out,
	       struct sr_err *err) SR_WUR;

#endif
