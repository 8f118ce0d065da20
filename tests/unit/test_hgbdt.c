/*
 * test_hgbdt.c - horizontal federated GBDT (src/ml/hgbdt.c) against its
 * oracle: every party a thread, joined by in-memory pipes; the trees at
 * every receiver must equal sr_ml_hgbdt_central's (sr_ml_gbdt_train_bins
 * on the pooled rows, the same public bins, subsample streams and
 * grad_frac_bits) node for node, and so must predictions and the
 * evaluation.  Data: sklearn's breast-cancer rows split by rows over 2, 3
 * and 5 parties; generated rows with NULLs and a party with zero rows;
 * the squared loss.  Faults: a party whose pipes close mid-tree fails
 * every party with nothing released; bad input fails with its message.
 * Also the public equal-width bins.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "ml/hgbdt.h"

#define MAXP 5

/* ---- in-memory pipes: unbounded queues that can be closed ------------- */

struct item {
	struct item *next;
	size_t len;
	uint8_t data[];
};

struct chan {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *first, *last;
	int closed;
};

struct party;

struct end {
	struct chan *tx, *rx;
	struct party *owner;
};

struct party {
	struct sr_ml_hgbdt_params p;
	struct sr_pipe pipes[MAXP];
	struct end ends[MAXP];
	struct sr_ml_data train, valid, test;
	struct sr_ml_hgbdt_result out;
	struct sr_ml_hgbdt_stats stats;
	struct sr_err err;
	size_t sends, close_after;      /* close_after 0: never */
	int tamper_root;                /* the root's LEVEL goes out splitting on feature 999 */
	int rc;
	pthread_t th;
};

static void chan_close(struct chan *c)
{
	pthread_mutex_lock(&c->mu);
	c->closed = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void party_hangup(struct party *pt)
{
	for (uint32_t j = 0; j < pt->p.parties; j++)
		if (j != pt->p.self) {
			chan_close(pt->ends[j].tx);
			chan_close(pt->ends[j].rx);
		}
}

static int c_send(void *ctx, const uint8_t *data, size_t len, struct sr_err *err)
{
	struct end *e = ctx;
	struct item *it;

	if (e->owner->close_after && ++e->owner->sends >= e->owner->close_after) {
		party_hangup(e->owner);
		return sr_fail(err, SR_EIO, "test: the pipes closed");
	}
	it = malloc(sizeof(*it) + len + 1);
	assert_non_null(it);
	it->next = NULL;
	it->len = len;
	memcpy(it->data, data, len);
	/* LEVEL (type 3) of one node is 49 bytes; secure aggregation's DONE
	 * (also type 3) is 48. */
	if (e->owner->tamper_root && len == 49 && data[0] == 3)
		sr_store_u64le(it->data + 1 + 8, 999);
	pthread_mutex_lock(&e->tx->mu);
	if (e->tx->closed) {
		pthread_mutex_unlock(&e->tx->mu);
		free(it);
		return sr_fail(err, SR_EIO, "connection closed by peer");
	}
	if (e->tx->last)
		e->tx->last->next = it;
	else
		e->tx->first = it;
	e->tx->last = it;
	pthread_cond_broadcast(&e->tx->cv);
	pthread_mutex_unlock(&e->tx->mu);
	return SR_OK;
}

static int c_recv(void *ctx, struct sr_buf *out, size_t max, struct sr_err *err)
{
	struct end *e = ctx;
	struct item *it;
	int rc;

	pthread_mutex_lock(&e->rx->mu);
	while (!e->rx->first && !e->rx->closed)
		pthread_cond_wait(&e->rx->cv, &e->rx->mu);
	it = e->rx->first;
	if (it && !(e->rx->first = it->next))
		e->rx->last = NULL;
	pthread_mutex_unlock(&e->rx->mu);
	if (!it)
		return sr_fail(err, SR_EPROTO, "connection closed by peer");
	if (it->len > max) {
		free(it);
		return sr_fail(err, SR_ELIMIT, "message over %zu bytes", max);
	}
	sr_buf_reset(out);
	rc = sr_buf_add(out, it->data, it->len);
	free(it);
	return rc ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
}

static void *party_main(void *arg)
{
	struct party *pt = arg;

	sr_err_clear(&pt->err);
	pt->rc = sr_ml_hgbdt_run(&pt->p, pt->pipes, &pt->train, &pt->valid, &pt->test,
				 &pt->out, &pt->stats, &pt->err);
	if (pt->rc)
		party_hangup(pt);   /* what the kind's runner does: abort the channel */
	return NULL;
}

/* Run every party; chans[i][j] carries i -> j. */
static void run_parties(struct party *pts, uint32_t n)
{
	struct chan *chans[MAXP][MAXP] = { { 0 } };

	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			if (i != j) {
				chans[i][j] = calloc(1, sizeof(struct chan));
				assert_non_null(chans[i][j]);
				pthread_mutex_init(&chans[i][j]->mu, NULL);
				pthread_cond_init(&chans[i][j]->cv, NULL);
			}
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			pts[i].ends[j] = (struct end){ chans[i][j], chans[j][i], &pts[i] };
			pts[i].pipes[j] = (struct sr_pipe){ &pts[i].ends[j], c_send, c_recv };
		}
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(pthread_create(&pts[i].th, NULL, party_main, &pts[i]), 0);
	for (uint32_t i = 0; i < n; i++)
		pthread_join(pts[i].th, NULL);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			struct chan *c = chans[i][j];
			if (!c)
				continue;
			while (c->first) {
				struct item *it = c->first;
				c->first = it->next;
				free(it);
			}
			pthread_mutex_destroy(&c->mu);
			pthread_cond_destroy(&c->cv);
			free(c);
		}
}

/* ---- tables ------------------------------------------------------------- */

static struct sr_ml_data view(const struct sr_test_table *t)
{
	return (struct sr_ml_data){ t->rows, t->cols, t->x, t->y };
}

static void copy_row(struct sr_test_table *to, size_t at, const struct sr_test_table *from, size_t r)
{
	for (size_t c = 0; c < from->cols; c++)
		to->x[c * to->rows + at] = from->x[c * from->rows + r];
	to->y[at] = from->y[r];
}

/* Rows with a NULL in about one cell in eight, a label from two
 * features and a missing-value effect; loss squared: y continuous. */
static void generate(struct sr_test_table *t, size_t rows, uint64_t seed, int squared)
{
	uint64_t s = seed;

	sr_test_table_alloc(t, rows, 4);
	for (size_t r = 0; r < rows; r++) {
		double v[4], z;
		for (size_t c = 0; c < 4; c++) {
			v[c] = (double)(sr_test_rand(&s) % 1000) / 100.0 - 3;
			if (sr_test_rand(&s) % 8 == 0)
				v[c] = NAN;
			t->x[c * rows + r] = v[c];
		}
		z = (isnan(v[0]) ? 1.5 : v[0]) - (isnan(v[1]) ? -1 : 0.5 * v[1]) +
			(double)(sr_test_rand(&s) % 100) / 50.0 - 1;
		t->y[r] = squared ? z : z > 0.3;
	}
}

/* Per-feature bounds of t (the public bounds a policy would give). */
static void bounds(const struct sr_test_table *t, double *lo, double *hi)
{
	for (size_t c = 0; c < t->cols; c++) {
		lo[c] = INFINITY;
		hi[c] = -INFINITY;
		for (size_t r = 0; r < t->rows; r++) {
			double v = t->x[c * t->rows + r];
			if (!isnan(v)) {
				lo[c] = fmin(lo[c], v);
				hi[c] = fmax(hi[c], v);
			}
		}
	}
}

/* ---- the oracle comparison -------------------------------------------- */

struct setup {
	uint32_t n;
	struct sr_test_table train[MAXP], valid[MAXP], test[MAXP];
	struct sr_test_table ptrain, pvalid, ptest;  /* pooled, in party order */
	size_t part_rows[MAXP];
	struct sr_ml_bins bins;
	struct sr_ml_gbdt_params gp;
	struct party pts[MAXP];
};

/* Split all into n parties by rows: party q gets share[q] of every 10 rows
 * (0 = a party with zero rows); within a party, row k goes to test when
 * k % 5 == 0, to validation when k % 5 == 1. */
static void setup_split(struct setup *S, const struct sr_test_table *all, uint32_t n,
			const unsigned *share)
{
	size_t cnt[MAXP][3] = { { 0 } }, at[MAXP][3] = { { 0 } }, k[MAXP] = { 0 };
	unsigned total = 0;

	S->n = n;
	for (uint32_t q = 0; q < n; q++)
		total += share[q];
	for (int pass = 0; pass < 2; pass++) {
		memset(k, 0, sizeof(k));
		for (size_t r = 0; r < all->rows; r++) {
			unsigned slot = (unsigned)(r % total), q = 0, set;
			while (slot >= share[q])
				slot -= share[q++];
			set = k[q] % 5 == 0 ? 2 : k[q] % 5 == 1 ? 1 : 0;
			k[q]++;
			if (pass == 0) {
				cnt[q][set]++;
				continue;
			}
			copy_row(set == 0 ? &S->train[q] : set == 1 ? &S->valid[q] : &S->test[q],
				 at[q][set]++, all, r);
		}
		if (pass == 0)
			for (uint32_t q = 0; q < n; q++) {
				sr_test_table_alloc(&S->train[q], cnt[q][0], all->cols);
				sr_test_table_alloc(&S->valid[q], cnt[q][1], all->cols);
				sr_test_table_alloc(&S->test[q], cnt[q][2], all->cols);
			}
	}
	{
		size_t tr = 0, va = 0, te = 0;
		for (uint32_t q = 0; q < n; q++) {
			tr += S->train[q].rows;
			va += S->valid[q].rows;
			te += S->test[q].rows;
			S->part_rows[q] = S->train[q].rows;
		}
		sr_test_table_alloc(&S->ptrain, tr, all->cols);
		sr_test_table_alloc(&S->pvalid, va, all->cols);
		sr_test_table_alloc(&S->ptest, te, all->cols);
		tr = va = te = 0;
		for (uint32_t q = 0; q < n; q++) {
			for (size_t r = 0; r < S->train[q].rows; r++)
				copy_row(&S->ptrain, tr++, &S->train[q], r);
			for (size_t r = 0; r < S->valid[q].rows; r++)
				copy_row(&S->pvalid, va++, &S->valid[q], r);
			for (size_t r = 0; r < S->test[q].rows; r++)
				copy_row(&S->ptest, te++, &S->test[q], r);
		}
	}
	{
		double lo[64], hi[64];
		struct sr_err err = { 0 };
		bounds(all, lo, hi);
		assert_int_equal(sr_ml_bins_uniform(all->cols, lo, hi, 16, &S->bins, &err), SR_OK);
	}
	sr_ml_gbdt_params_init(&S->gp);
	S->gp.grad_frac_bits = 24;
}

static const unsigned char receivers_all[MAXP] = { 1, 1, 1, 1, 1 };
static const uint8_t run_id[] = "hgbdt-test-run";

static void setup_parties(struct setup *S, uint32_t aggregator, const unsigned char *receiver)
{
	for (uint32_t q = 0; q < S->n; q++) {
		struct party *pt = &S->pts[q];
		memset(pt, 0, sizeof(*pt));
		pt->p.gbdt = S->gp;
		pt->p.bins = &S->bins;
		pt->p.run_id = run_id;
		pt->p.run_id_len = sizeof(run_id) - 1;
		pt->p.parties = S->n;
		pt->p.self = q;
		pt->p.aggregator = aggregator;
		pt->p.receiver = receiver;
		pt->train = view(&S->train[q]);
		pt->valid = view(&S->valid[q]);
		pt->test = view(&S->test[q]);
	}
}

static void setup_free(struct setup *S)
{
	for (uint32_t q = 0; q < S->n; q++) {
		sr_test_table_free(&S->train[q]);
		sr_test_table_free(&S->valid[q]);
		sr_test_table_free(&S->test[q]);
		sr_ml_hgbdt_result_release(&S->pts[q].out);
	}
	sr_test_table_free(&S->ptrain);
	sr_test_table_free(&S->pvalid);
	sr_test_table_free(&S->ptest);
	sr_ml_bins_release(&S->bins);
}

static size_t count_splits(const struct sr_ml_gbdt *m)
{
	size_t k = 0;

	for (size_t t = 0; t < m->ntrees; t++)
		for (size_t i = 0; i < m->trees[t].nnodes; i++)
			k += m->trees[t].nodes[i].left != 0;
	return k;
}

static void assert_same_model(const struct sr_ml_gbdt *a, const struct sr_ml_gbdt *b)
{
	assert_int_equal(a->ntrees, b->ntrees);
	assert_int_equal(a->best_trees, b->best_trees);
	assert_true(a->base_margin == b->base_margin);
	for (size_t t = 0; t < a->ntrees; t++) {
		assert_int_equal(a->trees[t].nnodes, b->trees[t].nnodes);
		for (size_t i = 0; i < a->trees[t].nnodes; i++) {
			const struct sr_ml_node *x = &a->trees[t].nodes[i], *y = &b->trees[t].nodes[i];
			assert_int_equal(x->left, y->left);
			assert_int_equal(x->right, y->right);
			if (x->left) {
				assert_int_equal(x->feature, y->feature);
				assert_int_equal(x->bin, y->bin);
				assert_int_equal(x->missing_left, y->missing_left);
				assert_true(x->threshold == y->threshold);
				assert_true(fabs(x->gain - y->gain) <= 1e-9);
			}
			assert_true(fabs(x->value - y->value) <= 1e-9);
			assert_true(fabs(x->cover - y->cover) <= 1e-9);
		}
	}
}

/* Federated at every receiver == central, predictions identical. */
static void check_oracle(struct setup *S, uint32_t aggregator, const char *what)
{
	struct sr_ml_hgbdt_result central;
	struct sr_ml_data tr = view(&S->ptrain), va = view(&S->pvalid), te = view(&S->ptest);
	struct sr_err err;
	double *pa = calloc(te.rows + 1, sizeof(double)), *pb = calloc(te.rows + 1, sizeof(double));

	assert_true(pa && pb);
	sr_err_clear(&err);
	assert_int_equal(sr_ml_hgbdt_central(&S->gp, &S->bins, S->part_rows, S->n, &tr, &va, &te,
					     &central, &err), SR_OK);
	assert_true(count_splits(&central.model) > central.model.ntrees); /* not stumps */
	setup_parties(S, aggregator, receivers_all);
	run_parties(S->pts, S->n);
	for (uint32_t q = 0; q < S->n; q++) {
		struct party *pt = &S->pts[q];
		if (pt->rc)
			print_message("%s: party %u: %s\n", what, q, pt->err.msg);
		assert_int_equal(pt->rc, SR_OK);
		assert_same_model(&pt->out.model, &central.model);
		sr_ml_gbdt_predict(&pt->out.model, &te, pa);
		sr_ml_gbdt_predict(&central.model, &te, pb);
		assert_memory_equal(pa, pb, te.rows * sizeof(double));
		assert_int_equal(pt->out.train_rows, tr.rows);
		assert_int_equal(pt->out.test_rows, te.rows);
		if (S->gp.loss == SR_ML_LOGISTIC) {
			assert_true(pt->out.eval.auc == central.eval.auc);
			assert_true(pt->out.eval.logloss == central.eval.logloss);
			assert_true(pt->out.eval.ks == central.eval.ks);
		} else {
			assert_true(pt->out.reg.rmse == central.reg.rmse);
			assert_true(pt->out.reg.mae == central.reg.mae);
		}
		assert_true(pt->stats.aggregations > central.model.ntrees);
	}
	print_message("%s: %zu trees (best %zu), %zu splits, %s %.4f\n", what,
		      central.model.ntrees, central.model.best_trees, count_splits(&central.model),
		      S->gp.loss == SR_ML_LOGISTIC ? "AUC" : "RMSE",
		      S->gp.loss == SR_ML_LOGISTIC ? central.eval.auc : central.reg.rmse);
	/* The central oracle is the plain trainer with the fixed pieces. */
	{
		struct sr_ml_gbdt plain;
		struct sr_ml_gbdt_fixed f = { &S->bins, S->part_rows, S->n, SR_ML_HGBDT_LOSS_BITS };
		assert_int_equal(sr_ml_gbdt_train_bins(&S->gp, &f, &tr,
						       S->gp.early_stopping_rounds ? &va : NULL,
						       &plain, &err), SR_OK);
		assert_same_model(&plain, &central.model);
		sr_ml_gbdt_release(&plain);
	}
	sr_ml_hgbdt_result_release(&central);
	free(pa);
	free(pb);
}

static void test_breast_cancer(void **state)
{
	static const unsigned shares[3][MAXP] = { { 6, 4 }, { 3, 5, 2 }, { 1, 3, 2, 2, 2 } };
	static const uint32_t ns[3] = { 2, 3, 5 };
	struct sr_test_table all;

	(void)state;
	sr_test_table_breast_cancer(&all);
	for (int i = 0; i < 3; i++) {
		struct setup S;
		char what[64];
		memset(&S, 0, sizeof(S));
		setup_split(&S, &all, ns[i], shares[i]);
		S.gp.trees = 8;
		S.gp.depth = 4;
		S.gp.subsample = 0.8;
		S.gp.seed = 42 + (uint64_t)i;
		S.gp.early_stopping_rounds = i == 2 ? 2 : 0;
		snprintf(what, sizeof(what), "breast cancer, %u parties", ns[i]);
		check_oracle(&S, i == 1 ? 1 : 0, what);
		assert_true(S.pts[0].out.eval.auc > 0.95);
		setup_free(&S);
	}
	sr_test_table_free(&all);
}

static void test_nulls_zero_rows(void **state)
{
	static const unsigned share[3] = { 4, 0, 5 };
	struct sr_test_table all;
	struct setup S;

	(void)state;
	generate(&all, 3000, 11, 0);
	memset(&S, 0, sizeof(S));
	setup_split(&S, &all, 3, share);
	assert_int_equal(S.train[1].rows, 0);
	S.gp.trees = 40;
	S.gp.depth = 5;
	S.gp.learning_rate = 0.5;
	S.gp.early_stopping_rounds = 2;
	check_oracle(&S, 1, "generated with NULLs, a party with zero rows aggregating");
	setup_free(&S);
	sr_test_table_free(&all);

	generate(&all, 2000, 12, 1);
	memset(&S, 0, sizeof(S));
	{
		static const unsigned share2[2] = { 3, 7 };
		setup_split(&S, &all, 2, share2);
	}
	S.gp.loss = SR_ML_SQUARED;
	S.gp.base_score = 0;
	S.gp.trees = 5;
	S.gp.depth = 3;
	S.gp.subsample = 0.7;
	S.gp.seed = 5;
	check_oracle(&S, 0, "generated, squared loss");
	setup_free(&S);
	sr_test_table_free(&all);
}

/* Every party failed and no receiver holds anything. */
static void assert_all_failed(struct setup *S)
{
	for (uint32_t q = 0; q < S->n; q++) {
		assert_int_not_equal(S->pts[q].rc, SR_OK);
		assert_null(S->pts[q].out.model.trees);
		assert_int_equal(S->pts[q].out.train_rows, 0);
	}
}

static void test_dropout(void **state)
{
	static const unsigned share[3] = { 3, 3, 4 };
	struct sr_test_table all;

	(void)state;
	generate(&all, 1500, 21, 0);
	/* Close after a few messages (inside the first aggregation), in the
	 * middle of the run (mid-tree) and just before the last message. */
	for (uint32_t who = 0; who < 3; who++) {
		size_t total, at[3];
		struct setup S;
		memset(&S, 0, sizeof(S));
		setup_split(&S, &all, 3, share);
		S.gp.trees = 4;
		S.gp.depth = 3;
		setup_parties(&S, 0, receivers_all);
		S.pts[who].close_after = SIZE_MAX;   /* count only */
		run_parties(S.pts, 3);
		assert_int_equal(S.pts[who].rc, SR_OK);
		total = S.pts[who].sends;
		setup_free(&S);
		at[0] = 2;
		at[1] = total / 2;
		/* The aggregator's last messages are the evaluation to each
		 * receiver: closing before the first of them fails everyone. */
		at[2] = who == 0 ? total - 2 : total;
		for (int k = 0; k < 3; k++) {
			memset(&S, 0, sizeof(S));
			setup_split(&S, &all, 3, share);
			S.gp.trees = 4;
			S.gp.depth = 3;
			setup_parties(&S, 0, receivers_all);
			S.pts[who].close_after = at[k];
			run_parties(S.pts, 3);
			assert_all_failed(&S);
			setup_free(&S);
		}
	}
	sr_test_table_free(&all);
}

static void test_bad_input(void **state)
{
	static const unsigned share[2] = { 1, 1 };
	struct sr_test_table all;
	struct setup S;
	struct sr_err err;
	struct sr_ml_hgbdt_result r;

	(void)state;
	generate(&all, 400, 31, 0);
	memset(&S, 0, sizeof(S));
	setup_split(&S, &all, 2, share);
	/* A label 2 at party 1: it fails naming the row, party 0 with it. */
	S.train[1].y[3] = 2;
	setup_parties(&S, 0, receivers_all);
	run_parties(S.pts, 2);
	assert_all_failed(&S);
	assert_non_null(strstr(S.pts[1].err.msg, "label 2"));
	S.train[1].y[3] = 1;

	/* No fixed point, or bins of another width: refused before anything. */
	setup_parties(&S, 0, receivers_all);
	S.pts[0].p.gbdt.grad_frac_bits = 0;
	sr_err_clear(&err);
	assert_int_equal(sr_ml_hgbdt_run(&S.pts[0].p, S.pts[0].pipes, &S.pts[0].train,
					 &S.pts[0].valid, &S.pts[0].test, &r, NULL, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "grad_frac_bits"));
	S.pts[0].p.gbdt.grad_frac_bits = 24;
	S.pts[0].train.cols = 3;
	sr_err_clear(&err);
	assert_int_equal(sr_ml_hgbdt_run(&S.pts[0].p, S.pts[0].pipes, &S.pts[0].train,
					 &S.pts[0].valid, &S.pts[0].test, &r, NULL, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "bins have 4 features"));
	assert_null(r.model.trees);
	setup_free(&S);

	/* A root split on a feature that does not exist: refused, naming it;
	 * every party fails. */
	memset(&S, 0, sizeof(S));
	setup_split(&S, &all, 2, share);
	setup_parties(&S, 0, receivers_all);
	S.pts[0].tamper_root = 1;
	run_parties(S.pts, 2);
	assert_all_failed(&S);
	assert_non_null(strstr(S.pts[1].err.msg, "split on feature 999"));
	setup_free(&S);

	/* Early stopping without validation rows anywhere: the aggregator
	 * refuses, the other fails with it. */
	memset(&S, 0, sizeof(S));
	setup_split(&S, &all, 2, share);
	S.gp.early_stopping_rounds = 2;
	setup_parties(&S, 0, receivers_all);
	S.pts[0].valid.rows = S.pts[1].valid.rows = 0;
	run_parties(S.pts, 2);
	assert_all_failed(&S);
	assert_non_null(strstr(S.pts[0].err.msg, "validation rows"));
	setup_free(&S);
	sr_test_table_free(&all);
}

static void test_bins_uniform(void **state)
{
	double lo[3] = { 0, -1, 5 }, hi[3] = { 10, 1, 5 };
	struct sr_ml_bins b;
	struct sr_err err;

	(void)state;
	assert_int_equal(sr_ml_bins_uniform(3, lo, hi, 4, &b, &err), SR_OK);
	assert_int_equal(b.ncuts[0], 3);
	assert_true(b.cuts[0][0] == 2.5 && b.cuts[0][1] == 5 && b.cuts[0][2] == 7.5);
	assert_int_equal(b.ncuts[2], 0);              /* lo == hi: one bin */
	assert_int_equal(sr_ml_bins_code(&b, 0, -100), 0);   /* clamped low */
	assert_int_equal(sr_ml_bins_code(&b, 0, 2.5), 1);
	assert_int_equal(sr_ml_bins_code(&b, 0, 1e9), 3);    /* clamped high */
	assert_int_equal(sr_ml_bins_code(&b, 0, NAN), 4);    /* the missing bin */
	assert_int_equal(sr_ml_bins_code(&b, 2, 7), 0);
	sr_ml_bins_release(&b);
	hi[1] = -2;
	sr_err_clear(&err);
	assert_int_equal(sr_ml_bins_uniform(3, lo, hi, 4, &b, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "feature 1"));
	hi[1] = INFINITY;
	assert_int_equal(sr_ml_bins_uniform(3, lo, hi, 4, &b, &err), SR_EINVAL);
	hi[1] = 1;
	assert_int_equal(sr_ml_bins_uniform(3, lo, hi, 1, &b, &err), SR_EINVAL);
	assert_int_equal(sr_ml_bins_uniform(3, lo, hi, 257, &b, &err), SR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bins_uniform),
		cmocka_unit_test(test_breast_cancer),
		cmocka_unit_test(test_nulls_zero_rows),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_bad_input),
	};

	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
