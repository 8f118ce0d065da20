/*
 * horizontal.c - federated logistic regression over parties with the
 * same schema (ml.h, docs/protocols/train.md): one secure aggregation
 * of fixed-point gradient sums per round, the step at the aggregator,
 * the new weights back to every party.
 *
 * Messages besides secure aggregation's own (each exact in length, on
 * the same pipes, strictly after the aggregation they follow):
 *   WEIGHTS   aggregator -> every party, after each round:
 *             u8 type 1, then cols + 1 little-endian IEEE doubles
 *   EVAL      aggregator -> every other receiver, at the end:
 *             u8 type 2, then the 2 + 2 B + 1 aggregated u64 (rows,
 *             bucket counts, log-loss sum)
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "ml/ml.h"
#include "secagg/secagg.h"
#include "base/banned.h"

#define MSG_WEIGHTS 1
#define MSG_EVAL 2
/* The evaluation vector: train rows, test rows, pos[B], neg[B], loss. */
#define EVAL_LEN (2 + SR_ML_EVAL_LEN)

void sr_ml_hlr_result_release(struct sr_ml_hlr_result *r)
{
	if (!r)
		return;
	sr_ml_lr_release(&r->model);
	memset(r, 0, sizeof(*r));
}

/* Add this party's rows, test bucket counts and log-loss into v. */
static void eval_vector(const struct sr_ml_lr *m, const struct sr_ml_data *train,
			const struct sr_ml_data *test, uint64_t *v, double *scratch)
{
	v[0] += train->rows;
	v[1] += test->rows;
	sr_ml_lr_predict(m, test, scratch);
	sr_ml_eval_vector_add(v + 2, test->y, scratch, test->rows);
}

/* The evaluation from the aggregated vector. */
static int eval_finish(const uint64_t *v, struct sr_ml_hlr_result *out, struct sr_err *err)
{
	out->train_rows = v[0];
	out->test_rows = v[1];
	return sr_ml_eval_vector_finish(v + 2, &out->eval, err);
}

int sr_ml_hlr_central(const struct sr_ml_lr_params *p, const struct sr_ml_data *train,
		      const struct sr_ml_data *test, struct sr_ml_hlr_result *out,
		      struct sr_err *err)
{
	struct sr_ml_lr_params lp = *p;
	uint64_t *v = sr_calloc(EVAL_LEN, sizeof(*v));
	double *scratch = sr_calloc(test->rows + 1, sizeof(*scratch));
	int rc;

	memset(out, 0, sizeof(*out));
	lp.batch = 0;
	lp.early_stopping_rounds = 0;
	if (!v || !scratch) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (train->rows == 0) {
		rc = sr_fail(err, SR_EINVAL, "train: no training rows at any party");
		goto out;
	}
	if ((rc = sr_ml_lr_train(&lp, train, NULL, &out->model, err)))
		goto out;
	eval_vector(&out->model, train, test, v, scratch);
	rc = eval_finish(v, out, err);
out:
	sr_free(v);
	sr_free(scratch);
	if (rc)
		sr_ml_hlr_result_release(out);
	return rc;
}

static void weights_to_words(const struct sr_ml_lr *m, uint64_t *w)
{
	memcpy(w, m->w, m->cols * sizeof(double));
	memcpy(w + m->cols, &m->bias, sizeof(double));
}

static int words_to_weights(const uint64_t *w, struct sr_ml_lr *m, struct sr_err *err)
{
	memcpy(m->w, w, m->cols * sizeof(double));
	memcpy(&m->bias, w + m->cols, sizeof(double));
	for (size_t c = 0; c < m->cols; c++)
		if (!isfinite(m->w[c]))
			return sr_fail(err, SR_EPROTO, "weights: weight %zu is not finite", c);
	return isfinite(m->bias) ? SR_OK : sr_fail(err, SR_EPROTO, "weights: bias is not finite");
}

int sr_ml_hlr_run(const struct sr_ml_hlr_params *p, const struct sr_pipe *pipes,
		  const struct sr_ml_data *train, const struct sr_ml_data *test,
		  struct sr_ml_hlr_result *out, struct sr_ml_hlr_stats *stats,
		  struct sr_err *err)
{
	struct sr_ml_hlr_stats local_stats;
	struct sr_ml_lr m = { 0 };
	struct sr_buf msg;
	struct sr_ml_fed R;
	size_t cols = train->cols, len = cols + 1;
	uint64_t *vec = NULL, *words = NULL, t0 = sr_ml_now_ns(), n_train = 0;
	double *grad = NULL, *scratch = NULL;
	int agg = p->self == p->aggregator, rc;

	memset(out, 0, sizeof(*out));
	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	memset(&R, 0, sizeof(R));
	sr_buf_init(&msg, 1 + EVAL_LEN * 8);
	if ((rc = sr_ml_lr_params_check(&p->lr, err)))
		return rc;
	if (p->lr.frac_bits == 0)
		return sr_fail(err, SR_EINVAL, "horizontal lr: frac_bits 0, expected fixed point");
	if (p->run_id_len == 0 || p->run_id_len > SR_SECAGG_RUN_ID_MAX - 8)
		return sr_fail(err, SR_EINVAL, "horizontal lr: run id of %zu bytes, expected 1 to %d",
			       p->run_id_len, SR_SECAGG_RUN_ID_MAX - 8);
	if (test->cols != cols)
		return sr_fail(err, SR_EINVAL, "horizontal lr: test rows have %zu features, training %zu",
			       test->cols, cols);
	if ((train->rows && (rc = sr_ml_lr_check_data(train, p->lr.frac_bits, err))) ||
	    (test->rows && (rc = sr_ml_lr_check_data(test, 0, err))))
		return rc;
	if ((rc = sr_ml_fed_init(&R, p->run_id, p->run_id_len, p->parties, p->self,
				 p->aggregator, pipes, err)))
		return rc;
	vec = sr_calloc(EVAL_LEN > len ? EVAL_LEN : len, sizeof(*vec));
	words = sr_calloc(len, sizeof(*words));
	grad = sr_calloc(len, sizeof(*grad));
	scratch = sr_calloc(test->rows + 1, sizeof(*scratch));
	if (!vec || !words || !grad || !scratch ||
	    (rc = sr_ml_lr_init(&m, cols, err))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}

	/* Round 0: the number of training rows, which the step divides by
	 * and the fixed-point range must hold. */
	vec[0] = train->rows;
	if ((rc = sr_ml_fed_aggregate(&R, vec, 1, err)))
		goto out;
	if (agg) {
		n_train = vec[0];
		if (n_train == 0)
			rc = sr_fail(err, SR_EINVAL, "train: no training rows at any party");
		else if ((double)n_train >= ldexp(1.0, 62 - (int)p->lr.frac_bits))
			rc = sr_fail(err, SR_ELIMIT,
				     "train: %llu training rows overflow the fixed-point sums at %u fractional bits",
				     (unsigned long long)n_train, p->lr.frac_bits);
		if (rc)
			goto out;
	}
	for (unsigned round = 0; round < p->lr.epochs; round++) {
		uint64_t t1 = sr_ml_now_ns();
		if (train->rows)
			sr_ml_lr_gradient(&m, train, 0, train->rows, p->lr.frac_bits, grad, vec);
		else
			memset(vec, 0, len * sizeof(*vec));
		stats->compute_ns += sr_ml_now_ns() - t1;
		if ((rc = sr_ml_fed_aggregate(&R, vec, len, err)))
			goto out;
		if (agg) {
			for (size_t c = 0; c < len; c++)
				grad[c] = ldexp((double)(int64_t)vec[c], -(int)p->lr.frac_bits);
			sr_ml_lr_step(&m, &p->lr, grad, n_train);
			weights_to_words(&m, words);
			for (uint32_t j = 0; rc == SR_OK && j < p->parties; j++)
				if (j != p->self)
					rc = sr_ml_fed_send(&R, j, MSG_WEIGHTS, words, len, &msg, err);
		} else {
			rc = sr_ml_fed_recv(&R, MSG_WEIGHTS, words, len, &msg, err);
			if (rc == SR_OK)
				rc = words_to_weights(words, &m, err);
		}
		if (rc)
			goto out;
	}
	m.epochs_run = p->lr.epochs;

	/* Evaluation on the test rows of every party. */
	memset(vec, 0, EVAL_LEN * sizeof(*vec));
	eval_vector(&m, train, test, vec, scratch);
	if ((rc = sr_ml_fed_aggregate(&R, vec, EVAL_LEN, err)))
		goto out;
	if (agg) {
		for (uint32_t j = 0; rc == SR_OK && j < p->parties; j++)
			if (j != p->self && p->receiver[j])
				rc = sr_ml_fed_send(&R, j, MSG_EVAL, vec, EVAL_LEN, &msg, err);
	} else if (p->receiver[p->self]) {
		rc = sr_ml_fed_recv(&R, MSG_EVAL, vec, EVAL_LEN, &msg, err);
	}
	if (rc == SR_OK && p->receiver[p->self] && (rc = eval_finish(vec, out, err)) == SR_OK) {
		out->model = m;
		memset(&m, 0, sizeof(m));
	}
out:
	if (rc)
		sr_ml_hlr_result_release(out);
	sr_ml_lr_release(&m);
	stats->secagg_ns = R.secagg_ns;
	stats->bytes_sent = R.bytes_sent;
	stats->bytes_received = R.bytes_received;
	sr_ml_fed_release(&R);
	sr_free(vec);
	sr_free(words);
	sr_free(grad);
	sr_free(scratch);
	sr_buf_release(&msg);
	stats->total_ns = sr_ml_now_ns() - t0;
	return rc;
}
