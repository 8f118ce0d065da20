/*
 * anon.h - anonymized release of a table: globally optimal full-domain
 * generalization with record suppression under k-anonymity, l-diversity
 * and t-closeness (docs/internals/anon.md, docs/protocols/anonymize.md).
 *
 * The library knows nothing of nodes, policies or job kinds: it takes
 * columns (struct sr_vec) with a role each, the hierarchies of the
 * quasi-identifiers and the models, and returns the released table and its
 * report.  Identifier columns are the caller's to drop before calling.
 *
 * Ownership: everything passed in is borrowed for the duration of the call
 * only.  A struct sr_anon_release owns its columns and report; free them
 * with sr_anon_release_release().
 */
#ifndef SR_ANON_H
#define SR_ANON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "anon/hier.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/vec.h"

enum sr_anon_role {
	SR_ANON_QI = 1,     /* generalized by its hierarchy */
	SR_ANON_SA = 2,     /* released as is; the l and t models apply */
	SR_ANON_KEEP = 3,   /* released as is (public) */
};

enum sr_anon_ldiv {
	SR_ANON_LDIV_NONE = 0,
	SR_ANON_LDIV_DISTINCT = 1,   /* >= l distinct values per class */
	SR_ANON_LDIV_ENTROPY = 2,    /* entropy >= log(l) */
	SR_ANON_LDIV_RECURSIVE = 3,  /* r1 < c (r_l + ... + r_m) */
};

enum sr_anon_emd {
	SR_ANON_EMD_AUTO = 0,        /* ordered for int64/float64/date, else equal */
	SR_ANON_EMD_EQUAL = 1,       /* every two values at distance 1 */
	SR_ANON_EMD_ORDERED = 2,     /* |i - j| / (m - 1) over sorted values */
};

/* Models of one SA column. */
struct sr_anon_sa_model {
	enum sr_anon_ldiv ldiv;
	double l;                    /* l >= 1 (distinct: an integer) */
	double c;                    /* recursive only, c > 0 */
	double t;                    /* t-closeness when 0 < t <= 1; 0 = off */
	enum sr_anon_emd emd;
};

struct sr_anon_column {
	const char *name;                    /* borrowed */
	enum sr_anon_role role;
	const struct sr_vec *values;         /* borrowed; same rows in every column */
	const struct sr_anon_hier *hier;     /* QI only, borrowed */
	struct sr_anon_sa_model model;       /* SA only */
};

enum sr_anon_metric {
	SR_ANON_METRIC_LOSS = 0,             /* ARX's generalization intensity */
	SR_ANON_METRIC_DISCERNIBILITY = 1,
	SR_ANON_METRIC_AECS = 2,             /* average equivalence class size */
};

enum sr_anon_algorithm {
	SR_ANON_FULL_DOMAIN = 0,             /* the optimal lattice node */
	SR_ANON_MONDRIAN = 1,                /* strict multidimensional local
					      * recoding; reports NCP */
};

struct sr_anon_params {
	uint64_t k;                          /* >= 1 */
	double max_suppression;              /* share of rows, 0 ... 1 */
	enum sr_anon_metric metric;
	int brute_force;                     /* tests: evaluate every lattice
					      * node from the rows, no pruning */
	enum sr_anon_algorithm algorithm;
};

/* Which levels and what they cost. */
struct sr_anon_report {
	size_t qis;
	size_t *levels;                      /* chosen level per QI, input order */
	size_t *heights;                     /* levels of each QI's hierarchy */
	uint64_t rows_in, rows_out, suppressed, max_suppressed;
	uint64_t classes, class_min;
	double class_avg;
	double loss;                         /* 0 ... 1 */
	double discernibility;               /* sum |E|^2 + suppressed * rows_in */
	double aecs;                         /* rows_out / classes */
	double risk_max, risk_avg;           /* prosecutor: 1/|E| over released rows */
	double risk_over_5, risk_over_10, risk_over_20; /* share of released rows */
	uint64_t lattice_nodes, nodes_evaluated;
	int mondrian;                        /* levels are then meaningless */
	double ncp;                          /* Mondrian: normalized certainty penalty */
};

struct sr_anon_release {
	size_t columns;                      /* the input columns, same order */
	char **names;
	uint8_t *is_qi;                      /* [columns] 1 for a generalized QI */
	struct sr_vec *cols;                 /* QIs as strings, others as given */
	struct sr_anon_report report;
	/* {column: {value: rows}} of the input for each SA with a t model, or
	 * NULL: the reference distribution t-closeness was measured against
	 * (a verifier needs it, since suppressed rows are not released). */
	json_t *sa_input;
};

void sr_anon_release_init(struct sr_anon_release *rel);
void sr_anon_release_release(struct sr_anon_release *rel);

/*
 * Find the optimal generalization of cols under params and each SA's model
 * and fill rel (initialized by the caller) with the released rows — the
 * suppressed ones removed, the rest grouped by class — and the report.
 * Fails with SR_EINVAL naming the column for bad input, SR_ELIMIT past a
 * limit of limits.h, SR_EPOLICY when no node of the lattice satisfies the
 * models within the suppression limit, SR_ENOMEM.
 */
int sr_anon_run(const struct sr_anon_column *cols, size_t ncols,
		const struct sr_anon_params *params, struct sr_anon_release *rel,
		struct sr_err *err) SR_WUR;

/*
 * Check a release against the models from its rows alone (verify.c): the
 * released columns (QIs as released, SAs with their models, kept ones
 * ignored), k and max_suppression of params, the input's row count and,
 * for SAs with a t model, the input distribution the report states
 * (sa_input: {column: {value: rows}}).  Every class (rows equal on all
 * QIs) must have >= k rows and satisfy every SA model, and the rows
 * missing must be within the suppression limit.  SR_EPOLICY naming what
 * failed, SR_ENOMEM.
 */
int sr_anon_verify(const struct sr_anon_column *cols, size_t ncols,
		   const struct sr_anon_params *params, uint64_t rows_in,
		   const json_t *sa_input, struct sr_err *err) SR_WUR;

/* The release as CSV (header, RFC 4180 quoting, NULL as an empty field),
 * appended to out. */
int sr_anon_release_csv(const struct sr_anon_release *rel, struct sr_buf *out) SR_WUR;

/* The report as a new JSON object in *out (levels by column name). */
int sr_anon_report_json(const struct sr_anon_release *rel, json_t **out) SR_WUR;

#endif
