/*
 * vertical.h - the row alignment of vertical jobs, shared by the `train`
 * kind's vertical mode (train_vertical.c, where it is defined) and the
 * `predict` kind (kinds/predict/): each party's rows with their join key,
 * the two-party PSI between the active party and each passive one with
 * the ALIGN message, the plaintext alignment of run_central, and the
 * result the active party sends the other receivers.
 * docs/protocols/train.md, "Vertical mode in the kind".
 */
#ifndef SR_TRAIN_VERTICAL_H
#define SR_TRAIN_VERTICAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "kinds/kind.h"
#include "kinds/train/train.h"

/* Every scanned row with a non-NULL, non-empty key, in scan order. */
struct vrows {
	size_t n, cap, cols;
	double *x;                      /* row-major n * cols, NaN = missing */
	double *y;                      /* labels (active input only) */
	uint64_t *ids;                  /* dataset row numbers */
	size_t *off;                    /* key i is text[off[i] .. off[i + 1]) */
	struct sr_buf text;
};

void vrows_release(struct vrows *v);
/*
 * Scan input i of c with s->vin[i]'s key and features and, when i is
 * s->active, s->label (checked against s->gbdt.loss).  A NULL feature is
 * NaN; rows with a NULL or empty key are skipped.
 */
int vrows_load(const struct sr_kind_ctx *c, const struct train_spec *s, size_t i,
	       struct vrows *v, struct sr_err *err) SR_WUR;
/* Rows idx[0..n) of v (those with mask[k] == want; mask NULL: all) as a
 * column-major table; y copied when labels is set. */
int vrows_take(const struct vrows *v, const size_t *idx, const uint8_t *mask,
	       size_t n, int want, int labels, struct train_table *t,
	       struct sr_err *err) SR_WUR;

/* How the active party marks aligned rows (1: a test row) for the ALIGN
 * message: mask[k] of the rows idx[0..n) of rows.  NULL: all 0. */
typedef int (*vertical_mask_fn)(const struct sr_kind_ctx *c, const struct train_spec *s,
				const struct vrows *rows, const size_t *idx, size_t n,
				uint8_t *mask, struct sr_err *err);

/*
 * The active party (pooled position 0 of s->order): two-party PSI
 * (SR_PSI_TO_BOTH, a session id from c's and the pair's position) with
 * each passive party j over align[j], then its rows in every pair's
 * intersection in its scan order (*idx, *n: indices into rows), their
 * mask, and to each passive party the ALIGN message (positions in that
 * pair's PSI order, mask bytes).  *idx and *mask are the caller's to
 * free; *n may be 0 (every party then knows).
 */
int vertical_align_active(const struct sr_kind_ctx *c, const struct train_spec *s,
			  const struct vrows *rows, const struct sr_pipe *align,
			  vertical_mask_fn mask_of, size_t **idx, uint8_t **mask, size_t *n,
			  struct sr_err *err) SR_WUR;
/* Passive party j's side: its rows in the active party's order (*idx
 * into rows) and the mask, every ALIGN entry checked. */
int vertical_align_passive(const struct sr_kind_ctx *c, size_t j, const struct vrows *rows,
			   const struct sr_pipe *align, size_t **idx, uint8_t **mask, size_t *n,
			   struct sr_err *err) SR_WUR;
/* run_central: every input's rows, in pooled order (*rows, s->nvin of
 * them), and their alignment in plaintext as the federated run aligns
 * them: (*idx)[j][k] is the row of (*rows)[j] of aligned row k, k < *n.
 * Release both with vertical_central_release, also on failure. */
int vertical_central_rows(const struct sr_kind_ctx *c, const struct train_spec *s,
			  struct vrows **rows, size_t ***idx, size_t *n, struct sr_err *err) SR_WUR;
void vertical_central_release(struct vrows *rows, size_t **idx, size_t nv);

/* The active party: result (4-byte magic, then JSON) to every receiver
 * but itself, over align[j] for passive party j, else a new pipe on
 * channel.  A receiver: that message from the active party. */
int vertical_send_result(const struct sr_kind_ctx *c, const struct train_spec *s,
			 const struct sr_pipe *align, uint32_t channel, const char *magic,
			 const json_t *result, struct sr_err *err) SR_WUR;
int vertical_recv_result(const struct sr_pipe *from, const char *magic, const char *kind,
			 json_t **result, struct sr_err *err) SR_WUR;

#endif
