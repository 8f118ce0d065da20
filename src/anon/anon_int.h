/*
 * anon_int.h - what hier.c, search.c and anon.c share inside src/anon/.
 *
 * A QI column bound to its hierarchy is a domain: its distinct values
 * (leaves, NULL one of them), each row's leaf, and per level the group of
 * each leaf, the labels of the groups and how many leaves each covers.
 * Group ids are dense per level; level 0's group of a leaf is the leaf.
 * Everything in a domain is owned by it (sr_anon_dom_release).
 */
#ifndef SR_ANON_INT_H
#define SR_ANON_INT_H

#include <stddef.h>
#include <stdint.h>

#include "anon/anon.h"
#include "anon/hier.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/vec.h"

struct sr_anon_level {
	uint32_t groups;
	uint32_t *group_of_leaf;   /* [leaves] */
	uint32_t *leaves_in;       /* [groups] leaves under the group */
	uint32_t *rep_leaf;        /* [groups] one leaf of the group */
	uint32_t *label_off;       /* [groups + 1] into labels */
	uint8_t *label_null;       /* [groups] 1 for the NULL group */
	struct sr_buf labels;      /* NUL-separated label texts */
	unsigned bits;             /* bits to hold a group id */
	uint64_t gen_cost;         /* sum over rows of (leaves_in - 1) */
};

struct sr_anon_dom {
	size_t levels;
	uint32_t leaves;
	uint32_t *leaf_of_row;     /* [rows] */
	uint32_t *rows_of_leaf;    /* [leaves] the first row of each leaf */
	struct sr_anon_level *lv;  /* [levels] */
	uint32_t **up;             /* [a * levels + b], a < b: group at a -> b */
};

/*
 * The distinct values of vec (NULL one of them), numbered by first
 * appearance: leaf_of_row[rows] (caller's array) receives each row's, and
 * *first_row (new array, sr_free) the first row of each of *leaves.
 */
int sr_anon_leaves(const struct sr_vec *vec, uint32_t *leaf_of_row,
		   uint32_t **first_row, uint32_t *leaves) SR_WUR;

/* Bind hier to the column vec: compute the domain, validating coverage
 * and nesting (errors name the column, level and value). */
int sr_anon_dom_build(struct sr_anon_dom *dom, const struct sr_anon_hier *hier,
		      const struct sr_vec *vec, struct sr_err *err) SR_WUR;
void sr_anon_dom_release(struct sr_anon_dom *dom);

static inline const char *sr_anon_dom_label(const struct sr_anon_dom *dom,
					    size_t level, uint32_t group)
{
	const struct sr_anon_level *lv = &dom->lv[level];
	return lv->label_null[group] ? NULL : lv->labels.data + lv->label_off[group];
}

/* An SA column as the models see it: each row's value index in a sorted
 * domain, the input's histogram, and the model. */
struct sr_anon_sa {
	uint32_t values;           /* distinct values (NULL one of them) */
	uint32_t *value_of_row;    /* [rows] */
	uint64_t *input_count;     /* [values] */
	struct sr_anon_sa_model model;
	int ordered;               /* EMD over the sorted order */
};

/* Build an SA column's model view (values sorted, input counts over
 * every row of col->values); free with sr_anon_sa_release.  SR_ELIMIT
 * past SR_ANON_SA_VALUES_MAX values, SR_ENOMEM. */
int sr_anon_sa_build(struct sr_anon_sa *sa, const struct sr_anon_column *col,
		     struct sr_err *err) SR_WUR;
void sr_anon_sa_release(struct sr_anon_sa *sa);
/* Whether col is an SA with an l or t model. */
int sr_anon_has_model(const struct sr_anon_column *col);

/* The search's input: the QI domains and SA columns, all borrowed. */
struct sr_anon_problem {
	size_t rows;
	size_t qis;
	const struct sr_anon_dom *doms;   /* [qis] */
	size_t sas;
	const struct sr_anon_sa *sa;      /* [sas] */
	const struct sr_vec *const *qi_values;  /* [qis] the QI columns */
	const struct sr_anon_params *params;
};

/* What the search found: the node and, per row, whether it is released
 * and its class (dense ids in class order). */
struct sr_anon_result {
	size_t *levels;            /* [qis] */
	uint8_t *released;         /* [rows] */
	uint32_t *class_of_row;    /* [rows] */
	uint32_t classes;
	uint32_t *class_size;      /* [classes] */
	uint64_t suppressed;
	double loss, discernibility;
	uint64_t lattice_nodes, nodes_evaluated;
	/* Mondrian: each class's label per QI, [classes * qis]; label_off is
	 * NULL after the lattice search (labels come from the domains). */
	uint32_t *label_off;       /* [classes * qis + 1] into labels */
	uint8_t *label_null;       /* [classes * qis] */
	struct sr_buf labels;
	double ncp;
};

void sr_anon_result_release(struct sr_anon_result *res);

/*
 * Whether a class of size rows with SA histograms hist (each SA's values
 * in turn, prob->sa order) satisfies every SA model; scratch holds the
 * largest SA's values.  Shared by the search and Mondrian.
 */
int sr_anon_models_ok(const struct sr_anon_problem *prob, const uint32_t *hist,
		      uint32_t size, uint32_t *scratch);

/*
 * The optimal node of the lattice (params->metric, ties: fewer levels in
 * total, then lexicographically smaller levels).  SR_EPOLICY when no node
 * satisfies the models within the suppression limit.
 */
int sr_anon_search(const struct sr_anon_problem *prob, struct sr_anon_result *res,
		   struct sr_err *err) SR_WUR;

/*
 * Mondrian (strict multidimensional local recoding): partitions the rows
 * by median cuts while both halves satisfy every model, and labels each
 * partition per QI (a value range for int64, float64 and date QIs, the
 * lowest common label of the hierarchy otherwise).  No row is suppressed.
 * SR_EPOLICY when the whole table does not satisfy the models.
 */
int sr_anon_mondrian(const struct sr_anon_problem *prob, struct sr_anon_result *res,
		     struct sr_err *err) SR_WUR;

#endif
