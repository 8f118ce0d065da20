/*
 * query.h - internals of the `query` job kind (src/kinds/query/), shared
 * by its files; not an API.  docs/protocols/query.md has the protocol and
 * its leakage statement.
 *
 *   query_kind.c    the struct sr_job_kind: spec, check, run, run_central,
 *                   release
 *   query_layout.c  what every party computes: the groups (from the public
 *                   domains), the accumulators per group, their fixed-point
 *                   encodings and DP noise; the local aggregation of one
 *                   input's rows into a vector of cells
 *   query_release.c the vector of totals -> the released table:
 *                   thresholds, HAVING, outputs, ORDER BY, LIMIT, noise
 *                   scales and intervals
 *   query_extreme.c MIN and MAX: per-group extremes, kept by each owner,
 *                   sent to the release party, combined there
 *   query_hash.c    a set of byte strings with a counter each (group keys,
 *                   identities, distinct values)
 *   query_join*.c   JOIN: the local sides, the blinded-key matching with
 *                   Paillier sums (docs/protocols/query-join.md)
 *
 * The vector every party holds, and that secure aggregation sums modulo
 * 2^64, is ngroups * naccs "group cells" (cell = group * naccs + acc),
 * then the global cells: rows whose group key is outside the public
 * domain, then one clamped-values counter per accumulator.  Globals stay
 * zero under DP (they are not noised, so they are not released).
 */
#ifndef SR_QUERY_KIND_INT_H
#define SR_QUERY_KIND_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "kinds/kind.h"
#include "privacy/bound.h"
#include "privacy/dpmech.h"
#include "sql/sql.h"
#include "store/vec.h"

/* ---- query_hash.c ----------------------------------------------------- */

struct q_hash_entry {
	uint64_t hash;
	size_t off;            /* key bytes in keys.data */
	size_t len;
	uint64_t value;
	int used;
};

struct q_hash {
	struct q_hash_entry *slots;
	size_t cap;            /* power of two */
	size_t count;
	struct sr_buf keys;
};

void q_hash_init(struct q_hash *h);
void q_hash_release(struct q_hash *h);
/* The entry for key (inserted with value 0 when absent; *fresh 1 then). */
int q_hash_put(struct q_hash *h, const void *key, size_t len,
	       struct q_hash_entry **entry, int *fresh, struct sr_err *err) SR_WUR;
/* The entry for key, or NULL. */
struct q_hash_entry *q_hash_get(const struct q_hash *h, const void *key, size_t len);

/* ---- query_layout.c --------------------------------------------------- */

enum q_acc_kind {
	Q_ROWS = 1,            /* rows of the group (COUNT(*), existence) */
	Q_IDS,                 /* distinct identities (the threshold) */
	Q_COUNT,               /* non-NULL values of an argument */
	Q_SUM,                 /* sum of clamped values, fixed point */
	Q_SUMSQ,               /* sum of squares of clamped values */
	Q_DISTINCT,            /* distinct values (one party, or ids partitioned) */
};

struct q_acc {
	enum q_acc_kind kind;
	size_t agg;            /* an aggregate with this argument (not ROWS/IDS) */
	int is_float;          /* the argument is float64 */
	/* SUM/SUMSQ: encoding of the clamped values divided by quantum (a
	 * power of two, above 1 only under dp when the bounds are wide: the
	 * noise is far coarser than the quantum) */
	struct sr_bound_fixed fx;
	double quantum;
	uint64_t sensitivity;  /* per identity, in encoded units */
	struct sr_dpmech noise;     /* what reaches the release step (dp) */
	struct sr_dpmech share;     /* what each owner adds (dp) */
	uint64_t half_width;   /* 95% interval of noise (dp) */
	uint64_t half_width_part;   /* at 1 - 0.05/3: each of the up to three
				     * components of an AVG or VAR interval */
	double stddev;         /* of noise (dp), encoded units */
};

/* Per aggregate: its accumulators, SIZE_MAX where none; ext: its index
 * in L->exts (MIN and MAX). */
struct q_agg_accs {
	size_t count, sum, sumsq, distinct, ext;
};

/* A MIN or MAX aggregate: its per-group extremes travel beside the
 * summed vector (query_extreme.c). */
struct q_ext_agg {
	size_t agg;
	int is_max;
};

/* One group's extreme so far: int64 and date in i, float64 in f, string
 * in s (owned, len bytes). */
struct q_ext {
	int has;
	int64_t i;
	double f;
	char *s;
	size_t len;
};

struct q_key {
	json_t *domain;        /* the key's public values (NULL is one more) */
	struct sr_vec values;  /* the same as a vector of the key's type */
	struct q_hash index;   /* formatted value -> index in domain */
	size_t slots;          /* values + 1 (NULL) */
};

struct q_layout {
	struct sr_sql *sql;
	const struct sr_sql_query *v;
	struct q_key *keys;
	size_t nkeys;
	size_t ngroups;
	struct q_acc *accs;
	size_t naccs;
	struct q_agg_accs *agg_accs;   /* [v->naggs] */
	struct q_ext_agg *exts;        /* the MIN/MAX aggregates */
	size_t nexts;
	size_t acc_rows, acc_ids;      /* acc_ids SIZE_MAX when not counted */
	size_t ncells;
	size_t cell_outside;           /* first global cell */
	size_t cell_clamped;           /* + acc */

	int64_t min_group_size;
	const char *id_column;         /* the first input's id column, or NULL */
	size_t nowners;                /* distinct owners of the inputs */
	int ids_partitioned;

	/* JOIN (docs/protocols/query-join.md): the dimension holder's and the
	 * value holder's inputs, and their key columns' row columns. */
	int join;
	size_t join_d, join_v;
	size_t join_d_row, join_v_row;

	int dp;
	double epsilon, delta;
	uint64_t rows_per_id;          /* contribution bound per owner (dp) */
	uint32_t noisers;              /* owners that each add a share */
	uint32_t honest;               /* shares that must stay secret */
};

/*
 * The spec's query compiled against the context's inputs, and the layout
 * of every party's vector.  check_only: compile and the checks, no
 * domains or noise (the checker's path).  SR_EINVAL/SR_ELIMIT/SR_EPOLICY
 * with a message naming the key.
 */
int q_datasets(const json_t *spec, const struct sr_kind_input *inputs,
	       size_t ninputs, struct sr_sql_dataset **out,
	       struct sr_expr_column ***columns, struct sr_err *err) SR_WUR;
void q_datasets_free(struct sr_sql_dataset *ds, struct sr_expr_column **cols,
		     size_t n);
int q_layout_build(const struct sr_kind_ctx *c, struct q_layout *L,
		   struct sr_err *err) SR_WUR;
void q_layout_release(struct q_layout *L);

/* Add input's rows (filters pushed down, row_filter by the scan) into
 * cells[0..L->ncells), and their MIN/MAX extremes into ext (from
 * q_ext_new; may be NULL when L->nexts is 0).  seen holds the distinct values counted so far
 * (shared by every input the caller aggregates: one party's, or all of
 * them in run_central). */
int q_aggregate_input(const struct q_layout *L, const struct sr_kind_ctx *c,
		      size_t input, uint64_t *cells, struct q_hash *seen,
		      struct q_ext *ext, struct sr_err *err) SR_WUR;

/* The increment of SUM/SUMSQ accumulator a for value r of x clamped to
 * [lo, hi] (this input's bounds), encoded; *clamped += 1 when clamped. */
int q_acc_encode(const struct q_acc *acc, const struct sr_vec *x, size_t r,
		 double lo, double hi, uint64_t *clamped, uint64_t *out,
		 struct sr_err *err) SR_WUR;

/* The bytes that identify value r of vec (not NULL) in hash sets. */
void q_value_key(const struct sr_vec *vec, size_t r, double *scratch,
		 const void **p, size_t *len);

/* Add noise to the group cells: each acc's share (owners in a federated
 * run) or, with total set, the whole noise (run_central). */
int q_add_noise(const struct q_layout *L, uint64_t *cells, int total,
		struct sr_err *err) SR_WUR;

/* ---- query_join.c ----------------------------------------------------- */

/* Paillier key size of the join protocol (2048; tests may lower it). */
extern unsigned q_join_he_bits;

/* run and run_central of a JOIN layout: the totals at the receiver (the
 * dimension holder), NULL elsewhere. */
int q_join_run(const struct sr_kind_ctx *c, const struct q_layout *L,
	       json_t **result, struct sr_err *err) SR_WUR;
int q_join_run_central(const struct sr_kind_ctx *c, const struct q_layout *L,
		       json_t **result, struct sr_err *err) SR_WUR;

/* ---- query_extreme.c -------------------------------------------------- */

/* L->nexts * L->ngroups empty extremes (cell e * ngroups + group), or
 * NULL when out of memory. */
struct q_ext *q_ext_new(const struct q_layout *L);
void q_ext_free(const struct q_layout *L, struct q_ext *ext);
/* Offer row r of x (not NULL) to extreme e of group. */
int q_ext_add(const struct q_layout *L, struct q_ext *ext, size_t e, size_t group,
	      const struct sr_vec *x, size_t r, struct sr_err *err) SR_WUR;
/* The extremes as JSON: per extreme, per group, the value or null
 * (int64 and date as integers, float64 as reals, strings); NULL when out
 * of memory. */
json_t *q_ext_json(const struct q_layout *L, const struct q_ext *ext);
/* Merge another party's extremes (q_ext_json's form) into ext.
 * SR_EPROTO naming what is malformed. */
int q_ext_merge_json(const struct q_layout *L, struct q_ext *ext, const json_t *j,
		     struct sr_err *err) SR_WUR;
/* Append extreme e of group from exts (q_ext_json's form) to out, a
 * vector of the aggregate's type. */
int q_ext_append(const struct q_layout *L, const json_t *exts, size_t e, size_t group,
		 struct sr_vec *out, struct sr_err *err) SR_WUR;

/* ---- query_release.c -------------------------------------------------- */

/* The totals as the intermediate result run and run_central return and
 * release turns into the table: an envelope without rows whose
 * meta.query_totals holds the cells. */
json_t *q_totals_json(const struct q_layout *L, const uint64_t *cells,
		      const struct q_ext *ext);

/* Replace result's contents by the released table (thresholds, HAVING,
 * outputs, ORDER BY, LIMIT, meta).  SR_EPROTO for malformed totals. */
int q_release(const struct q_layout *L, json_t *result, struct sr_err *err) SR_WUR;

#endif
