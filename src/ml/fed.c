/*
 * fed.c - what the horizontal protocols share (ml.h): the run state with
 * its numbered secure aggregations, exact-length word messages from the
 * aggregator, and the evaluation vector of test-row score buckets.
 * Horizontal LR (horizontal.c) and horizontal GBDT (hgbdt.c) use them.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "ml/ml.h"
#include "secagg/secagg.h"
#include "base/banned.h"

uint64_t sr_ml_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sr_ml_fed_init(struct sr_ml_fed *F, const uint8_t *run_id, size_t run_id_len,
		   uint32_t parties, uint32_t self, uint32_t aggregator,
		   const struct sr_pipe *pipes, struct sr_err *err)
{
	memset(F, 0, sizeof(*F));
	if (run_id_len == 0 || run_id_len > SR_SECAGG_RUN_ID_MAX - 8)
		return sr_fail(err, SR_EINVAL, "federated run: run id of %zu bytes, expected 1 to %d",
			       run_id_len, SR_SECAGG_RUN_ID_MAX - 8);
	if (!(F->run_id = sr_calloc(run_id_len + 8, 1)))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	memcpy(F->run_id, run_id, run_id_len);
	F->run_id_len = run_id_len;
	F->parties = parties;
	F->self = self;
	F->aggregator = aggregator;
	F->pipes = pipes;
	return SR_OK;
}

void sr_ml_fed_release(struct sr_ml_fed *F)
{
	if (!F)
		return;
	sr_free(F->run_id);
	F->run_id = NULL;
}

int sr_ml_fed_aggregate(struct sr_ml_fed *F, uint64_t *v, size_t len, struct sr_err *err)
{
	struct sr_secagg_params sp;
	struct sr_secagg_stats ss;
	uint64_t t0 = sr_ml_now_ns();
	int rc;

	sr_store_u64le(F->run_id + F->run_id_len, F->round++);
	sr_secagg_params_init(&sp);
	sp.run_id = F->run_id;
	sp.run_id_len = F->run_id_len + 8;
	sp.parties = F->parties;
	sp.self = F->self;
	sp.aggregator = F->aggregator;
	sp.length = len;
	memset(&ss, 0, sizeof(ss));
	rc = sr_secagg_run(&sp, F->pipes, v, F->self == F->aggregator ? v : NULL, &ss, err);
	F->secagg_ns += sr_ml_now_ns() - t0;
	F->bytes_sent += ss.bytes_sent;
	F->bytes_received += ss.bytes_received;
	return rc ? sr_err_prefix(err, "secure aggregation, round %llu",
				  (unsigned long long)F->round - 1) : SR_OK;
}

int sr_ml_fed_send(struct sr_ml_fed *F, uint32_t j, uint8_t type, const uint64_t *w,
		   size_t count, struct sr_buf *msg, struct sr_err *err)
{
	int rc;

	sr_buf_reset(msg);
	rc = sr_buf_addch(msg, (char)type);
	for (size_t i = 0; rc == SR_OK && i < count; i++)
		rc = sr_buf_add_u64le(msg, w[i]);
	if (rc)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	F->bytes_sent += msg->len;
	rc = F->pipes[j].send(F->pipes[j].ctx, (const uint8_t *)msg->data, msg->len, err);
	return rc ? sr_err_prefix(err, "party %u", j) : SR_OK;
}

int sr_ml_fed_recv(struct sr_ml_fed *F, uint8_t type, uint64_t *w, size_t count,
		   struct sr_buf *msg, struct sr_err *err)
{
	uint32_t a = F->aggregator;
	int rc = F->pipes[a].recv(F->pipes[a].ctx, msg, 1 + count * 8, err);

	if (rc)
		return sr_err_prefix(err, "party %u", a);
	F->bytes_received += msg->len;
	if (msg->len != 1 + count * 8 || (uint8_t)msg->data[0] != type)
		return sr_fail(err, SR_EPROTO,
			       "party %u: expected message type %u of %zu bytes, got type %u of %zu bytes",
			       a, type, 1 + count * 8, msg->len ? (uint8_t)msg->data[0] : 0u,
			       msg->len);
	for (size_t i = 0; i < count; i++)
		w[i] = sr_load_u64le(msg->data + 1 + 8 * i);
	return SR_OK;
}

void sr_ml_eval_vector_add(uint64_t *v, const double *y, const double *prob, size_t n)
{
	uint64_t *pos = v, *neg = v + SR_ML_EVAL_BUCKETS;

	for (size_t r = 0; r < n; r++) {
		double p = prob[r];
		size_t b = (size_t)(p * SR_ML_EVAL_BUCKETS);
		if (b >= SR_ML_EVAL_BUCKETS)
			b = SR_ML_EVAL_BUCKETS - 1;
		if (y[r] == 1)
			pos[b]++;
		else
			neg[b]++;
		v[SR_ML_EVAL_LEN - 1] += (uint64_t)llrint(ldexp(sr_ml_logloss1(y[r], p),
								 SR_ML_EVAL_LOSS_BITS));
	}
}

int sr_ml_eval_vector_finish(const uint64_t *v, struct sr_ml_eval *out, struct sr_err *err)
{
	int rc = sr_ml_eval_counts(v, v + SR_ML_EVAL_BUCKETS, SR_ML_EVAL_BUCKETS,
				   SR_ML_EVAL_BUCKETS / 2,
				   ldexp((double)v[SR_ML_EVAL_LEN - 1], -SR_ML_EVAL_LOSS_BITS),
				   out, err);

	return rc ? sr_err_prefix(err, "test split") : SR_OK;
}
