/*
 * secureboost.h - vertical gradient-boosted trees (SecureBoost, DESIGN
 * §17, docs/protocols/train.md "Vertical SecureBoost").
 *
 * Parties: the active party A holds the labels and some features; each
 * passive party P_i (i = 1..npassive) holds other features of the same
 * rows, already aligned (row r is the same person everywhere).  A talks
 * to every P_i over one struct sr_pipe; the P_i never talk to each other.
 *
 * Training grows exactly the trees of sr_ml_gbdt_train on the pooled
 * columns (A's features first, then each P_i's in party order) with the
 * same parameters and grad_frac_bits: A encrypts its quantized gradients
 * and hessians under a fresh Paillier key, every P_i returns encrypted,
 * packed per-bin sums of its features for the nodes A asks for, A
 * decrypts sums only and runs sr_ml_split_find over all parties' layouts.
 *
 * The model is held in parts.  A's struct sr_ml_sb_model has every tree's
 * shape and leaf values; a split on A's own feature carries its feature,
 * bin and threshold; a split at P_i says only (owner i, split id k).  P_i's
 * struct sr_ml_sb_part maps its split ids to (feature, bin, threshold,
 * missing side).  Prediction runs jointly (sr_ml_sb_predict_*); only A
 * gets scores.
 *
 * Memory: every struct owns its arrays; _release frees them (a zeroed
 * struct is fine).  Inputs are borrowed for the call.
 * Threads: a call runs on the caller's thread, plus p->pool's workers
 * when given (the pool must outlive the call).
 */
#ifndef SR_ML_SECUREBOOST_H
#define SR_ML_SECUREBOOST_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/pool.h"
#include "ml/ml.h"
#include "net/pipe.h"

#define SR_ML_SB_VERSION 1
#define SR_ML_SB_PASSIVE_MAX 16         /* passive parties in one run */
#define SR_ML_SB_FRAC_BITS_DEFAULT 24   /* grad_frac_bits when the caller gives 0 */

struct sr_ml_sb_params {
	/* The tree parameters, as for sr_ml_gbdt_train.  grad_frac_bits 0 is
	 * taken as SR_ML_SB_FRAC_BITS_DEFAULT (the protocol needs integers);
	 * early stopping needs validation rows at every party. */
	struct sr_ml_gbdt_params gbdt;
	unsigned key_bits;              /* Paillier modulus (2048); tests: >= 1024 */
	int first_tree_active_only;     /* tree 0 splits on A's features only (0) */
	struct sr_pool *pool;           /* optional, for encryption and histograms */
};

/* Defaults: sr_ml_gbdt_params_init, grad_frac_bits 24, 2048-bit keys. */
void sr_ml_sb_params_init(struct sr_ml_sb_params *p);
/* SR_EINVAL naming the parameter and its range. */
int sr_ml_sb_params_check(const struct sr_ml_sb_params *p, struct sr_err *err) SR_WUR;

/* ---- the parts of a model ------------------------------------------------ */

#define SR_ML_SB_OWNER_ACTIVE 0u

struct sr_ml_sb_node {
	uint32_t left, right;           /* child indices, 0 for a leaf */
	uint32_t owner;                 /* 0: A's feature; i: passive party i */
	uint32_t split_id;              /* owner i's split table index */
	uint32_t feature, bin;          /* owner 0 only: A's column and bin */
	double threshold;               /* owner 0 only: left is x < threshold */
	int missing_left;               /* owner 0 only */
	double value;                   /* leaf: weight * learning rate */
	double gain, cover;
};

struct sr_ml_sb_tree {
	struct sr_ml_sb_node *nodes;    /* nodes[0] is the root */
	size_t nnodes;
};

/* A's part: the whole tree shapes, its own splits and the leaves. */
struct sr_ml_sb_model {
	enum sr_ml_loss loss;
	uint32_t parties;               /* 1 + npassive */
	size_t *party_cols;             /* parties entries: features per party */
	double base_margin;
	struct sr_ml_sb_tree *trees;
	size_t ntrees;
	size_t best_trees;              /* kept after early stopping */
};

struct sr_ml_sb_split {
	uint32_t feature, bin;          /* the party's column and bin */
	double threshold;               /* left is x < threshold */
	int missing_left;
};

/* P_i's part: its splits only. */
struct sr_ml_sb_part {
	uint32_t party;                 /* i, 1..npassive */
	size_t cols;                    /* its features */
	struct sr_ml_sb_split *splits;  /* indexed by split id */
	size_t nsplits;
};

void sr_ml_sb_model_release(struct sr_ml_sb_model *m);
void sr_ml_sb_part_release(struct sr_ml_sb_part *part);

/* What a run measured (either side; zero it or pass NULL). */
struct sr_ml_sb_stats {
	uint64_t total_ns;
	uint64_t encrypt_ns;            /* A: packing and encrypting gradients */
	uint64_t decrypt_ns;            /* A: decrypting histograms */
	uint64_t hist_ns;               /* P: building encrypted histograms */
	uint64_t bytes_sent, bytes_received;
	uint64_t ciphertexts_decrypted;
	unsigned trees;
};

/* ---- training ------------------------------------------------------------ */

/*
 * The active party: train (labels required; 0/1 for the logistic loss)
 * and valid (optional, for early stopping; its rows aligned with the
 * passive parties' validation rows) are A's own columns; passive[i - 1]
 * goes to passive party i.  On success *out is A's part of the model.
 * Any failure (bad labels or parameters, a malformed message: SR_EPROTO
 * naming it, a passive party that goes away) leaves *out zeroed; the
 * caller then aborts the pipes so the passive parties fail too.
 */
int sr_ml_sb_active(const struct sr_ml_sb_params *p,
		    const struct sr_ml_data *train, const struct sr_ml_data *valid,
		    const struct sr_pipe *passive, size_t npassive,
		    struct sr_ml_sb_model *out, struct sr_ml_sb_stats *stats,
		    struct sr_err *err) SR_WUR;

/*
 * A passive party: train and valid (valid may be NULL only if A has no
 * validation set) are its own columns of the same aligned rows (y
 * ignored).  p must equal A's parameters (A sends its own and this side
 * refuses a mismatch).  On success *out is this party's part.
 */
int sr_ml_sb_passive(const struct sr_ml_sb_params *p,
		     const struct sr_ml_data *train, const struct sr_ml_data *valid,
		     const struct sr_pipe *active,
		     struct sr_ml_sb_part *out, struct sr_ml_sb_stats *stats,
		     struct sr_err *err) SR_WUR;

/* ---- joint prediction ----------------------------------------------------- */

/*
 * Score the aligned rows of d (A's columns) with m, every passive party i
 * running sr_ml_sb_predict_passive on the same rows of its columns over
 * passive[i - 1]: out[r] is a probability (logistic) or a value.  Each P_i
 * evaluates its own splits and sends A one bit per (split, row).
 */
int sr_ml_sb_predict_active(const struct sr_ml_sb_model *m, const struct sr_ml_data *d,
			    const struct sr_pipe *passive, size_t npassive,
			    double *out, struct sr_err *err) SR_WUR;
int sr_ml_sb_predict_passive(const struct sr_ml_sb_part *part, const struct sr_ml_data *d,
			     const struct sr_pipe *active, struct sr_err *err) SR_WUR;

/* ---- storage ---------------------------------------------------------------- */

/* JSON (appended to out): {"version":1,"kind":"secureboost-active",...}
 * and {"version":1,"kind":"secureboost-passive",...}. */
int sr_ml_sb_model_encode(const struct sr_ml_sb_model *m, struct sr_buf *out,
			  struct sr_err *err) SR_WUR;
/* SR_EINVAL naming the field for anything malformed or inconsistent. */
int sr_ml_sb_model_decode(const char *json, size_t len, struct sr_ml_sb_model *out,
			  struct sr_err *err) SR_WUR;
int sr_ml_sb_part_encode(const struct sr_ml_sb_part *part, struct sr_buf *out,
			 struct sr_err *err) SR_WUR;
int sr_ml_sb_part_decode(const char *json, size_t len, struct sr_ml_sb_part *out,
			 struct sr_err *err) SR_WUR;

/*
 * The one plaintext model over the pooled column order (A's features,
 * then parts[0]'s = party 1's, ...): for tests and for a TEE run.  parts
 * must be every passive party's part, in party order.  SR_EINVAL for a
 * missing part or a split id out of range.
 */
int sr_ml_sb_to_gbdt(const struct sr_ml_sb_model *m, const struct sr_ml_sb_part *parts,
		     size_t nparts, struct sr_ml_gbdt *out, struct sr_err *err) SR_WUR;

#endif
