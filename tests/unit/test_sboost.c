/*
 * test_sboost.c - vertical SecureBoost (src/ml/secureboost.h) with the
 * parties as threads over in-memory pipes, against the central trainer
 * on the pooled columns: the same trees node by node (splits,
 * thresholds, missing sides, leaf values to 1e-9), identical joint
 * predictions, on sklearn's breast-cancer data split across 2 and 3
 * parties and on generated data with NaN cells and a constant feature,
 * both losses, subsampling and early stopping.  Then the model parts
 * through JSON, the first-tree-on-A option, xgboost's AUC on the same
 * data (tests/ml/oracle.py; skipped with its reason when xgboost is not
 * importable), and faults: a truncated message, a wrong version, an
 * out-of-range bin, a label 2, a passive party whose pipe closes.
 * Keys are 1024-bit (sr_he_keygen_sized) to keep the test short.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/alloc.h"
#include "base/pool.h"
#include "ml/ml.h"
#include "ml/secureboost.h"

#define KEY_BITS 1024
#define MAXP 4

/* ---- an unbounded in-memory pipe that can tamper or close ------------------- */

struct qmsg {
	struct qmsg *next;
	size_t len;
	uint8_t data[];
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qmsg *head, *tail;
	int closed;
};

enum tamper {
	T_NONE,
	T_TRUNCATE,       /* the N-th message loses its last byte */
	T_VERSION,        /* the N-th message has version 2 */
	T_BIN,            /* the first SPLIT to an owner names bin 0xffff */
	T_CLOSE,          /* close instead of sending the N-th message */
	T_FLIP_SPLIT,     /* the first SPLIT_BITS moves a row to the other side */
};

struct endpoint {
	struct queue *out, *in;
	enum tamper tamper;
	size_t tamper_at, sent;
};

static struct queue *queue_new(void)
{
	struct queue *q = calloc(1, sizeof(*q));

	assert_non_null(q);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	return q;
}

static void queue_free(struct queue *q)
{
	while (q->head) {
		struct qmsg *m = q->head;
		q->head = m->next;
		free(m);
	}
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static int queue_put(struct queue *q, const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct qmsg *m = malloc(sizeof(*m) + len + 1);
	int rc = SR_OK;

	assert_non_null(m);
	m->next = NULL;
	m->len = len;
	memcpy(m->data, msg, len);
	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		rc = sr_fail(err, SR_EIO, "connection closed by peer");
		free(m);
	} else {
		if (q->tail)
			q->tail->next = m;
		else
			q->head = m;
		q->tail = m;
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static int ep_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct endpoint *ep = ctx;
	size_t index = ep->sent++;
	uint8_t *copy;
	int rc;

	if (ep->tamper == T_BIN && len == 2 + 14 + 9 && msg[1] == 5 && msg[15] == 1) {
		ep->tamper = T_NONE;
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, msg, len);
		copy[2 + 18] = 0xff;
		copy[2 + 19] = 0xff;
		rc = queue_put(ep->out, copy, len, err);
		free(copy);
		return rc;
	}
	if (ep->tamper == T_FLIP_SPLIT && len > 10 && msg[1] == 6) {
		ep->tamper = T_NONE;
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, msg, len);
		copy[10] ^= 1;
		rc = queue_put(ep->out, copy, len, err);
		free(copy);
		return rc;
	}
	if (ep->tamper == T_NONE || ep->tamper == T_BIN || ep->tamper == T_FLIP_SPLIT ||
	    index != ep->tamper_at)
		return queue_put(ep->out, msg, len, err);
	if (ep->tamper == T_CLOSE) {
		queue_close(ep->out);
		queue_close(ep->in);
		return sr_fail(err, SR_EIO, "test: closed early");
	}
	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, msg, len);
	if (ep->tamper == T_TRUNCATE)
		len--;
	else
		copy[0] = 2;
	rc = queue_put(ep->out, copy, len, err);
	free(copy);
	return rc;
}

static int ep_recv(void *ctx, struct sr_buf *out, size_t max_len, struct sr_err *err)
{
	struct endpoint *ep = ctx;
	struct queue *q = ep->in;
	struct qmsg *m;
	int rc = SR_OK;

	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->cond, &q->lock);
	m = q->head;
	if (m) {
		q->head = m->next;
		if (!q->head)
			q->tail = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	if (!m)
		return sr_fail(err, SR_EPROTO, "connection closed by peer");
	if (m->len > max_len) {
		rc = sr_fail(err, SR_ELIMIT, "message of %zu bytes, over %zu", m->len, max_len);
	} else {
		sr_buf_reset(out);
		if (sr_buf_add(out, m->data, m->len))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	free(m);
	return rc;
}

/* A pair: a (A's side) and b (the passive party's side). */
struct link {
	struct queue *ab, *ba;
	struct endpoint a, b;
};

static void link_open(struct link *l)
{
	memset(l, 0, sizeof(*l));
	l->ab = queue_new();
	l->ba = queue_new();
	l->a.out = l->ab;
	l->a.in = l->ba;
	l->b.out = l->ba;
	l->b.in = l->ab;
}

/* What a failed party's caller does: abort the transport. */
static void link_abort(struct link *l)
{
	queue_close(l->ab);
	queue_close(l->ba);
}

static void link_close(struct link *l)
{
	queue_free(l->ab);
	queue_free(l->ba);
}

/* ---- tables ------------------------------------------------------------------- */

static struct sr_ml_data view(const struct sr_test_table *t)
{
	return (struct sr_ml_data){ t->rows, t->cols, t->x, t->y };
}

/* 1,500 rows x 9: NaN cells in columns 1 and 5, column 4 constant; the
 * label (0/1, or a value for the squared loss) depends on every party. */
static void generate(struct sr_test_table *t, size_t rows, int regression, uint64_t seed)
{
	uint64_t s = seed;

	sr_test_table_alloc(t, rows, 9);
	for (size_t r = 0; r < rows; r++) {
		double x[9], z;
		for (size_t c = 0; c < 9; c++)
			x[c] = (double)(sr_test_rand(&s) >> 11) * 0x1p-53 * 4 - 2;
		x[4] = 1.5;
		z = x[0] - 0.7 * x[2] * x[3] + (x[6] > 0.3 ? 1.0 : -0.5) + 0.6 * x[7] -
		    0.4 * x[8] * x[8];
		if (sr_test_rand(&s) % 7 == 0)
			x[1] = NAN;
		if (sr_test_rand(&s) % 5 == 0)
			x[5] = NAN;
		z += isnan(x[5]) ? 0.8 : 0.5 * x[5];
		for (size_t c = 0; c < 9; c++)
			t->x[c * rows + r] = x[c];
		if (regression)
			t->y[r] = 3 * z + (double)(sr_test_rand(&s) >> 11) * 0x1p-53;
		else
			t->y[r] = ((double)(sr_test_rand(&s) >> 11) * 0x1p-53) < sr_ml_sigmoid(2 * z);
	}
}

/* ---- a run ---------------------------------------------------------------------- */

struct passive_run {
	const struct sr_ml_sb_params *p;
	struct sr_ml_data train, valid;
	int has_valid;
	struct sr_pipe pipe;
	struct link *link;
	struct sr_ml_sb_part part;
	struct sr_err err;
	int rc;
	pthread_t thread;
};

static void *passive_main(void *arg)
{
	struct passive_run *r = arg;

	sr_err_clear(&r->err);
	r->rc = sr_ml_sb_passive(r->p, &r->train, r->has_valid ? &r->valid : NULL, &r->pipe,
				 &r->part, NULL, &r->err);
	if (r->rc)
		link_abort(r->link);
	return NULL;
}

struct setup {
	struct sr_test_table train[MAXP], valid[MAXP];
	size_t parties;
	int has_valid;
	struct link links[MAXP];
	struct passive_run runs[MAXP];
	struct sr_ml_sb_model model;
	struct sr_err err;
	int rc;
};

/* Split train (and valid) by columns at cuts[0..parties): party i gets
 * [cuts[i], cuts[i+1]). */
static void setup_data(struct setup *s, const struct sr_test_table *train, const struct sr_test_table *valid,
		       const size_t *cuts, size_t parties)
{
	memset(s, 0, sizeof(*s));
	s->parties = parties;
	s->has_valid = valid != NULL;
	for (size_t i = 0; i < parties; i++) {
		sr_test_table_columns(train, cuts[i], cuts[i + 1], &s->train[i]);
		if (valid)
			sr_test_table_columns(valid, cuts[i], cuts[i + 1], &s->valid[i]);
	}
}

/* Run A here and every passive party in a thread; tamper with A's or a
 * passive party's pipe when asked. */
static void setup_run(struct setup *s, const struct sr_ml_sb_params *p,
		      const struct sr_ml_sb_params *pp, size_t tamper_party, int tamper_side_a,
		      enum tamper tamper, size_t tamper_at)
{
	struct sr_pipe pipes[MAXP];
	struct sr_ml_data tr = view(&s->train[0]), va = view(&s->valid[0]);

	for (size_t i = 1; i < s->parties; i++) {
		struct passive_run *r = &s->runs[i];
		link_open(&s->links[i]);
		if (tamper != T_NONE && i == tamper_party) {
			struct endpoint *ep = tamper_side_a ? &s->links[i].a : &s->links[i].b;
			ep->tamper = tamper;
			ep->tamper_at = tamper_at;
		}
		r->p = pp ? pp : p;
		r->train = view(&s->train[i]);
		r->train.y = NULL;
		r->valid = view(&s->valid[i]);
		r->valid.y = NULL;
		r->has_valid = s->has_valid;
		r->link = &s->links[i];
		r->pipe = (struct sr_pipe){ &s->links[i].b, ep_send, ep_recv };
		pipes[i - 1] = (struct sr_pipe){ &s->links[i].a, ep_send, ep_recv };
		assert_int_equal(pthread_create(&r->thread, NULL, passive_main, r), 0);
	}
	sr_err_clear(&s->err);
	s->rc = sr_ml_sb_active(p, &tr, s->has_valid ? &va : NULL, pipes, s->parties - 1,
				&s->model, NULL, &s->err);
	if (s->rc)
		for (size_t i = 1; i < s->parties; i++)
			link_abort(&s->links[i]);
	for (size_t i = 1; i < s->parties; i++) {
		pthread_join(s->runs[i].thread, NULL);
		link_close(&s->links[i]);
	}
}

static void setup_release(struct setup *s)
{
	sr_ml_sb_model_release(&s->model);
	for (size_t i = 0; i < s->parties; i++) {
		sr_test_table_free(&s->train[i]);
		sr_test_table_free(&s->valid[i]);
		sr_ml_sb_part_release(&s->runs[i].part);
	}
}

static struct sr_ml_sb_part *parts_of(struct setup *s, struct sr_ml_sb_part *tmp)
{
	for (size_t i = 1; i < s->parties; i++)
		tmp[i - 1] = s->runs[i].part;
	return tmp;
}

/* Joint prediction of t's rows (split like the training columns). */
struct predict_run {
	const struct sr_ml_sb_part *part;
	struct sr_ml_data d;
	struct sr_pipe pipe;
	struct link *link;
	int rc;
	struct sr_err err;
	pthread_t thread;
};

static void *predict_main(void *arg)
{
	struct predict_run *r = arg;

	r->rc = sr_ml_sb_predict_passive(r->part, &r->d, &r->pipe, &r->err);
	if (r->rc)
		link_abort(r->link);
	return NULL;
}

static void joint_predict(const struct sr_ml_sb_model *m, const struct sr_ml_sb_part *parts,
			  const struct sr_test_table *t, const size_t *cuts, size_t parties, double *out)
{
	struct sr_test_table cols[MAXP];
	struct link links[MAXP];
	struct predict_run runs[MAXP];
	struct sr_pipe pipes[MAXP];
	struct sr_ml_data d;
	struct sr_err err = { 0 };

	for (size_t i = 0; i < parties; i++)
		sr_test_table_columns(t, cuts[i], cuts[i + 1], &cols[i]);
	for (size_t i = 1; i < parties; i++) {
		link_open(&links[i]);
		runs[i] = (struct predict_run){ &parts[i - 1], view(&cols[i]),
						{ &links[i].b, ep_send, ep_recv }, &links[i], 0, { 0 }, 0 };
		pipes[i - 1] = (struct sr_pipe){ &links[i].a, ep_send, ep_recv };
		assert_int_equal(pthread_create(&runs[i].thread, NULL, predict_main, &runs[i]), 0);
	}
	d = view(&cols[0]);
	assert_int_equal(sr_ml_sb_predict_active(m, &d, pipes, parties - 1, out, &err), SR_OK);
	for (size_t i = 1; i < parties; i++) {
		pthread_join(runs[i].thread, NULL);
		assert_int_equal(runs[i].rc, SR_OK);
		link_close(&links[i]);
	}
	for (size_t i = 0; i < parties; i++)
		sr_test_table_free(&cols[i]);
}

/* The federated model, assembled, equals central node by node. */
static void assert_same_model(const struct sr_ml_gbdt *a, const struct sr_ml_gbdt *b)
{
	assert_int_equal(a->ntrees, b->ntrees);
	assert_int_equal(a->best_trees, b->best_trees);
	assert_int_equal(a->cols, b->cols);
	assert_true(a->base_margin == b->base_margin);
	for (size_t t = 0; t < a->ntrees; t++) {
		assert_int_equal(a->trees[t].nnodes, b->trees[t].nnodes);
		for (size_t i = 0; i < a->trees[t].nnodes; i++) {
			const struct sr_ml_node *x = &a->trees[t].nodes[i], *y = &b->trees[t].nodes[i];
			assert_int_equal(x->left, y->left);
			assert_int_equal(x->right, y->right);
			assert_int_equal(x->feature, y->feature);
			assert_int_equal(x->bin, y->bin);
			assert_true(x->threshold == y->threshold);
			assert_int_equal(x->missing_left, y->missing_left);
			assert_true(fabs(x->value - y->value) <= 1e-9);
			assert_true(fabs(x->gain - y->gain) <= 1e-9 * fmax(1, fabs(y->gain)));
			assert_true(fabs(x->cover - y->cover) <= 1e-9 * fmax(1, y->cover));
		}
	}
}

static size_t count_splits(const struct sr_ml_gbdt *m)
{
	size_t n = 0;

	for (size_t t = 0; t < m->ntrees; t++)
		for (size_t i = 0; i < m->trees[t].nnodes; i++)
			n += m->trees[t].nodes[i].left != 0;
	return n;
}

/*
 * Train federated and central on the same rows; compare the trees, the
 * joint predictions on test (equal to central's), and the model parts
 * after a JSON round trip.  Returns the federated test predictions in
 * pred (test->rows) when pred is given.
 */
static void check_equal(const struct sr_test_table *train, const struct sr_test_table *valid,
			const struct sr_test_table *test, const size_t *cuts, size_t parties,
			const struct sr_ml_sb_params *p, double *pred_out, int want_stop)
{
	struct setup s;
	struct sr_ml_gbdt central, fed, fed2;
	struct sr_ml_sb_part parts[MAXP], decoded[MAXP];
	struct sr_ml_sb_model m2;
	struct sr_ml_data dtr = view(train), dva;
	struct sr_ml_gbdt_params gp = p->gbdt;
	struct sr_err err = { 0 };
	struct sr_buf js;
	double *pc = calloc(test->rows, sizeof(double)), *pf = calloc(test->rows, sizeof(double));

	assert_non_null(pc);
	assert_non_null(pf);
	if (valid)
		dva = view(valid);
	setup_data(&s, train, valid, cuts, parties);
	setup_run(&s, p, NULL, 0, 0, T_NONE, 0);
	if (s.rc)
		fail_msg("active: %s", s.err.msg);
	for (size_t i = 1; i < parties; i++)
		if (s.runs[i].rc)
			fail_msg("passive %zu: %s", i, s.runs[i].err.msg);
	assert_int_equal(sr_ml_gbdt_train(&gp, &dtr, valid ? &dva : NULL, &central, &err), SR_OK);
	assert_int_equal(sr_ml_sb_to_gbdt(&s.model, parts_of(&s, parts), parties - 1, &fed, &err),
			 SR_OK);
	assert_same_model(&fed, &central);
	assert_true(count_splits(&central) > 0);
	/* Early stopping cut the run short and kept fewer trees. */
	if (want_stop)
		assert_true(central.ntrees < p->gbdt.trees && central.best_trees < central.ntrees);
	/* Every party's features were used somewhere (the data needs them). */
	for (size_t i = 1; i < parties; i++)
		assert_true(s.runs[i].part.nsplits > 0);
	/* Joint prediction = central prediction, bit for bit. */
	{
		struct sr_ml_data dte = view(test);
		sr_ml_gbdt_predict(&central, &dte, pc);
		joint_predict(&s.model, parts, test, cuts, parties, pf);
		for (size_t r = 0; r < test->rows; r++)
			assert_true(pc[r] == pf[r]);
	}
	/* JSON round trip of every part. */
	sr_buf_init(&js, 0);
	assert_int_equal(sr_ml_sb_model_encode(&s.model, &js, &err), SR_OK);
	if (sr_ml_sb_model_decode(js.data, js.len, &m2, &err))
		fail_msg("decode: %s", err.msg);
	for (size_t i = 0; i + 1 < parties; i++) {
		sr_buf_reset(&js);
		assert_int_equal(sr_ml_sb_part_encode(&parts[i], &js, &err), SR_OK);
		if (sr_ml_sb_part_decode(js.data, js.len, &decoded[i], &err))
			fail_msg("part decode: %s", err.msg);
	}
	assert_int_equal(sr_ml_sb_to_gbdt(&m2, decoded, parties - 1, &fed2, &err), SR_OK);
	assert_same_model(&fed2, &central);
	for (size_t i = 0; i + 1 < parties; i++)
		sr_ml_sb_part_release(&decoded[i]);
	sr_ml_sb_model_release(&m2);
	sr_buf_release(&js);
	if (pred_out)
		memcpy(pred_out, pf, test->rows * sizeof(double));
	print_message("%zu parties: %zu trees (%zu kept), %zu splits, equal to central\n", parties,
		      central.ntrees, central.best_trees, count_splits(&central));
	sr_ml_gbdt_release(&central);
	sr_ml_gbdt_release(&fed);
	sr_ml_gbdt_release(&fed2);
	setup_release(&s);
	free(pc);
	free(pf);
}

static void params(struct sr_ml_sb_params *p)
{
	sr_ml_sb_params_init(p);
	p->key_bits = KEY_BITS;
	p->gbdt.trees = 4;
	p->gbdt.depth = 3;
}

static void test_breast_cancer_three(void **state)
{
	struct sr_test_table all, rest, train, valid, test;
	struct sr_ml_sb_params p;
	size_t cuts[] = { 0, 8, 20, 30 };
	struct sr_pool *pool;

	(void)state;
	assert_int_equal(sr_pool_new(2, &pool), SR_OK);
	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &rest, &test);
	sr_test_table_split(&rest, 3, &train, &valid);
	params(&p);
	p.pool = pool;
	p.gbdt.trees = 8;
	p.gbdt.subsample = 0.8;
	p.gbdt.seed = 42;
	p.gbdt.learning_rate = 1.0;
	p.gbdt.early_stopping_rounds = 1;
	check_equal(&train, &valid, &test, cuts, 3, &p, NULL, 1);
	sr_test_table_free(&all);
	sr_test_table_free(&rest);
	sr_test_table_free(&train);
	sr_test_table_free(&valid);
	sr_test_table_free(&test);
	sr_pool_free(pool);
}

static void test_generated_nan_constant(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_sb_params p;
	size_t cuts3[] = { 0, 3, 6, 9 }, cuts2[] = { 0, 6, 9 };

	(void)state;
	for (int regression = 0; regression <= 1; regression++) {
		generate(&all, 1500, regression, 17 + (uint64_t)regression);
		sr_test_table_split(&all, 5, &train, &test);
		params(&p);
		p.gbdt.loss = regression ? SR_ML_SQUARED : SR_ML_LOGISTIC;
		p.gbdt.base_score = regression ? 0.0 : 0.5;
		p.gbdt.subsample = regression ? 0.7 : 1;
		p.gbdt.max_bins = 16;
		p.gbdt.tree.min_child_weight = regression ? 5 : 1;
		check_equal(&train, NULL, &test, cuts3, 3, &p, NULL, 0);
		if (!regression) {
			check_equal(&train, NULL, &test, cuts2, 2, &p, NULL, 0);
			/* 64 bins: a passive party sums most features alone (a
			 * pair of 65 x 65 cells is above its cap), pairs the
			 * constant column 4 with column 3 */
			p.gbdt.max_bins = 64;
			check_equal(&train, NULL, &test, cuts3, 3, &p, NULL, 0);
		}
		sr_test_table_free(&all);
		sr_test_table_free(&train);
		sr_test_table_free(&test);
	}
}

/* The first tree uses A's features only: it is central's first tree on
 * A's columns alone. */
static void test_first_tree_active_only(void **state)
{
	struct sr_test_table all, train, test, own;
	struct sr_ml_sb_params p;
	struct sr_ml_gbdt_params gp;
	struct sr_ml_gbdt central;
	struct setup s;
	struct sr_ml_data d;
	struct sr_err err = { 0 };
	size_t cuts[] = { 0, 10, 30 }, other = 0;

	(void)state;
	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &test);
	params(&p);
	p.first_tree_active_only = 1;
	setup_data(&s, &train, NULL, cuts, 2);
	setup_run(&s, &p, NULL, 0, 0, T_NONE, 0);
	if (s.rc)
		fail_msg("active: %s", s.err.msg);
	for (size_t i = 0; i < s.model.trees[0].nnodes; i++)
		assert_int_equal(s.model.trees[0].nodes[i].owner, 0);
	for (size_t t = 1; t < s.model.ntrees; t++)
		for (size_t i = 0; i < s.model.trees[t].nnodes; i++)
			other += s.model.trees[t].nodes[i].left && s.model.trees[t].nodes[i].owner;
	assert_true(other > 0);
	sr_test_table_columns(&train, 0, 10, &own);
	gp = p.gbdt;
	gp.trees = 1;
	d = view(&own);
	assert_int_equal(sr_ml_gbdt_train(&gp, &d, NULL, &central, &err), SR_OK);
	assert_int_equal(central.trees[0].nnodes, s.model.trees[0].nnodes);
	for (size_t i = 0; i < central.trees[0].nnodes; i++) {
		assert_int_equal(central.trees[0].nodes[i].feature, s.model.trees[0].nodes[i].feature);
		assert_true(central.trees[0].nodes[i].threshold == s.model.trees[0].nodes[i].threshold);
		assert_true(central.trees[0].nodes[i].value == s.model.trees[0].nodes[i].value);
	}
	sr_ml_gbdt_release(&central);
	setup_release(&s);
	sr_test_table_free(&own);
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

/* ---- xgboost sanity ----------------------------------------------------------------- */

static void write_csv(const char *path, const struct sr_test_table *t)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t c = 0; c < t->cols; c++)
		fprintf(f, "f%zu,", c);
	fprintf(f, "y\n");
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < t->cols; c++)
			fprintf(f, "%.17g,", t->x[c * t->rows + r]);
		fprintf(f, "%.17g\n", t->y[r]);
	}
	assert_int_equal(fclose(f), 0);
}

/* oracle.py xgb: xgboost's test AUC; skips (with the reason) on exit 77. */
static double xgboost_auc(const struct sr_test_table *train, const struct sr_test_table *test,
			  const struct sr_ml_gbdt_params *p)
{
	char *dir = sr_test_tmpdir(), a[512], b[512], cmd[4096], text[512] = "";
	char *script = sr_test_source_path("tests/ml/oracle.py");
	FILE *f;
	size_t len;
	int status;
	double auc;

	snprintf(a, sizeof(a), "%s/train.csv", dir);
	snprintf(b, sizeof(b), "%s/test.csv", dir);
	write_csv(a, train);
	write_csv(b, test);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s xgb %s %s %u %u %.17g %.17g %u %.17g %.17g 2>&1",
		 script, a, b, p->trees, p->depth, p->learning_rate, p->tree.lambda, p->max_bins,
		 p->tree.min_child_weight, p->tree.gamma);
	free(script);
	f = popen(cmd, "r");
	assert_non_null(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	status = pclose(f);
	sr_test_tmpdir_free(dir);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		print_message("skipped: xgboost is not importable: %s", text);
		skip();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("oracle.py xgb failed: %s", text);
	auc = strtod(text, NULL);
	return auc;
}

/* Two parties, and the AUC against xgboost on the same data. */
static void test_breast_cancer_two_xgboost(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_sb_params p;
	struct sr_ml_eval ev;
	struct sr_err err = { 0 };
	size_t cuts[] = { 0, 15, 30 };
	double *pred, theirs;

	(void)state;
	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &test);
	params(&p);
	p.gbdt.trees = 10;
	pred = calloc(test.rows, sizeof(double));
	assert_non_null(pred);
	check_equal(&train, NULL, &test, cuts, 2, &p, pred, 0);
	assert_int_equal(sr_ml_eval_scores(test.y, pred, test.rows, &ev, &err), SR_OK);
	theirs = xgboost_auc(&train, &test, &p.gbdt);
	print_message("breast cancer, 2 parties: AUC secureboost %.4f, xgboost %.4f\n", ev.auc, theirs);
	assert_true(ev.auc > 0.95);
	assert_true(fabs(ev.auc - theirs) <= 0.01);
	free(pred);
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

/* ---- faults ---------------------------------------------------------------------------- */

struct fault {
	const char *name;
	int side_a;               /* tamper with A's messages (else passive's) */
	enum tamper tamper;
	size_t at;
	int a_rc, p_rc;           /* expected statuses (0: any failure) */
	const char *a_msg, *p_msg;
};

static void test_faults(void **state)
{
	static const struct fault faults[] = {
		{ "hello truncated", 1, T_TRUNCATE, 0, 0, SR_EPROTO, NULL, "HELLO" },
		{ "hello version", 1, T_VERSION, 0, 0, SR_EPROTO, NULL, "version 2" },
		{ "layout truncated", 0, T_TRUNCATE, 0, SR_EPROTO, 0, "LAYOUT", NULL },
		{ "hist truncated", 0, T_TRUNCATE, 1, SR_EPROTO, 0, "HIST", NULL },
		{ "hist version", 0, T_VERSION, 1, SR_EPROTO, 0, "version 2", NULL },
		{ "tree truncated", 1, T_TRUNCATE, 1, 0, SR_EPROTO, NULL, "TREE" },
		{ "cts truncated", 1, T_TRUNCATE, 2, 0, SR_EPROTO, NULL, "CTS" },
		{ "split bin", 1, T_BIN, 0, 0, SR_EPROTO, NULL, "out of range" },
		{ "split bits flipped", 0, T_FLIP_SPLIT, 0, SR_EPROTO, 0, "disagrees", NULL },
		{ "passive closes mid-tree", 0, T_CLOSE, 3, 0, 0, NULL, NULL },
		{ "active closes mid-tree", 1, T_CLOSE, 5, 0, 0, NULL, NULL },
	};
	struct sr_test_table all, train, test;
	struct sr_ml_sb_params p;
	size_t cuts[] = { 0, 15, 30 };

	(void)state;
	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &test);
	params(&p);
	p.gbdt.trees = 2;
	for (size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
		const struct fault *ft = &faults[f];
		struct setup s;
		struct sr_ml_sb_model zero;
		setup_data(&s, &train, NULL, cuts, 2);
		setup_run(&s, &p, NULL, 1, ft->side_a, ft->tamper, ft->at);
		print_message("%s: active %d (%s), passive %d (%s)\n", ft->name, s.rc, s.err.msg,
			      s.runs[1].rc, s.runs[1].err.msg);
		assert_true(s.rc != SR_OK);
		assert_true(s.runs[1].rc != SR_OK);
		if (ft->a_rc)
			assert_int_equal(s.rc, ft->a_rc);
		if (ft->p_rc)
			assert_int_equal(s.runs[1].rc, ft->p_rc);
		if (ft->a_msg)
			assert_non_null(strstr(s.err.msg, ft->a_msg));
		if (ft->p_msg)
			assert_non_null(strstr(s.runs[1].err.msg, ft->p_msg));
		/* No partial model on either side. */
		memset(&zero, 0, sizeof(zero));
		assert_memory_equal(&s.model, &zero, sizeof(zero));
		assert_null(s.runs[1].part.splits);
		assert_int_equal(s.runs[1].part.nsplits, 0);
		setup_release(&s);
	}
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

static void test_bad_input(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_sb_params p, q;
	struct setup s;
	size_t cuts[] = { 0, 15, 30 };

	(void)state;
	sr_test_table_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &test);
	params(&p);
	/* A label 2 in a binary task fails at A before anything is sent. */
	train.y[7] = 2;
	setup_data(&s, &train, NULL, cuts, 2);
	setup_run(&s, &p, NULL, 0, 0, T_NONE, 0);
	assert_int_equal(s.rc, SR_EINVAL);
	assert_non_null(strstr(s.err.msg, "label 2"));
	assert_non_null(strstr(s.err.msg, "row 7"));
	assert_true(s.runs[1].rc != SR_OK);
	assert_null(s.model.trees);
	setup_release(&s);
	train.y[7] = 1;
	/* Parameters that differ between the parties. */
	q = p;
	q.gbdt.depth = 5;
	setup_data(&s, &train, NULL, cuts, 2);
	setup_run(&s, &p, &q, 0, 0, T_NONE, 0);
	assert_true(s.rc != SR_OK);
	assert_int_equal(s.runs[1].rc, SR_EINVAL);
	assert_non_null(strstr(s.runs[1].err.msg, "parameters differ"));
	setup_release(&s);
	/* A key too small. */
	q = p;
	q.key_bits = 512;
	{
		struct sr_err err = { 0 };
		assert_int_equal(sr_ml_sb_params_check(&q, &err), SR_EINVAL);
		assert_non_null(strstr(err.msg, "key_bits 512"));
	}
	/* A model that does not parse names what is wrong. */
	{
		struct sr_ml_sb_model m;
		struct sr_err err = { 0 };
		const char *bad = "{\"version\":1,\"kind\":\"secureboost-active\",\"loss\":\"logistic\","
				  "\"base_margin\":\"0x0p+0\",\"best_trees\":1,\"party_cols\":[2,2],"
				  "\"trees\":[[[1,2,0,0,5,1,\"0x1p+0\",0,\"0x0p+0\",\"0x0p+0\",\"0x0p+0\"],"
				  "[0,0,0,0,0,0,\"0x0p+0\",0,\"0x0p+0\",\"0x0p+0\",\"0x0p+0\"],"
				  "[0,0,0,0,0,0,\"0x0p+0\",0,\"0x0p+0\",\"0x0p+0\",\"0x0p+0\"]]]}";
		assert_int_equal(sr_ml_sb_model_decode(bad, strlen(bad), &m, &err), SR_EINVAL);
		assert_non_null(strstr(err.msg, "feature 5"));
		assert_null(m.trees);
	}
	sr_test_table_free(&all);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breast_cancer_three),
		cmocka_unit_test(test_generated_nan_constant),
		cmocka_unit_test(test_first_tree_active_only),
		cmocka_unit_test(test_breast_cancer_two_xgboost),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
