/*
 * test_vlr.c - vertical logistic regression with Paillier (src/ml/vlr.h)
 * with the parties as threads over in-memory pipes, against the central
 * double trainer sr_ml_lr_train on the pooled columns with the same
 * schedule: every weight and the intercept within sr_ml_vlr_bound and
 * within 1e-4, on sklearn's breast-cancer data split by columns across 2
 * and 3 parties (with early stopping) and on generated data shaped like
 * the standard vertical benchmark (13 + 10 features); the test AUC
 * within 0.005 of sklearn's LogisticRegression (tests/ml/oracle.py,
 * skipped with its reason when sklearn is not importable).  Faults: a
 * truncated message either way, a wrong version, a tampered masked
 * gradient, a pipe closed mid-epoch, a label 2, a feature outside
 * [-1, 1], parameters out of range or differing between the parties:
 * both sides fail, no model.
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
#include "ml/ml.h"
#include "ml/vlr.h"

#define KEY_BITS 1024
#define MAXP 3

/* ---- in-memory pipes that can tamper or close ----------------------------------- */

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

enum tamper { T_NONE, T_TRUNCATE, T_VERSION, T_FLIP, T_CLOSE };

struct endpoint {
	struct queue *out, *in;
	enum tamper tamper;
	size_t tamper_at, flip_at, sent;
};

struct duplex {
	struct queue *ab, *ba;
	struct endpoint a, b;           /* a: the active party's side */
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

static int ep_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct endpoint *ep = ctx;
	struct qmsg *m = malloc(sizeof(*m) + len + 1);
	int hit = ep->sent++ == ep->tamper_at;
	int rc = SR_OK;

	assert_non_null(m);
	if (hit && ep->tamper == T_CLOSE) {
		free(m);
		queue_close(ep->out);
		queue_close(ep->in);
		return sr_fail(err, SR_EIO, "test: closed mid-run");
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->data, msg, len);
	if (hit && ep->tamper == T_TRUNCATE)
		m->len--;
	if (hit && ep->tamper == T_VERSION)
		m->data[0] = 2;
	if (hit && ep->tamper == T_FLIP)
		m->data[ep->flip_at] ^= 0x80;
	pthread_mutex_lock(&ep->out->lock);
	if (ep->out->closed) {
		rc = sr_fail(err, SR_EIO, "connection closed by peer");
		free(m);
	} else {
		if (ep->out->tail)
			ep->out->tail->next = m;
		else
			ep->out->head = m;
		ep->out->tail = m;
		pthread_cond_broadcast(&ep->out->cond);
	}
	pthread_mutex_unlock(&ep->out->lock);
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

static void duplex_open(struct duplex *d)
{
	memset(d, 0, sizeof(*d));
	d->ab = queue_new();
	d->ba = queue_new();
	d->a = (struct endpoint){ d->ab, d->ba, T_NONE, 0, 0, 0 };
	d->b = (struct endpoint){ d->ba, d->ab, T_NONE, 0, 0, 0 };
}

static void duplex_abort(struct duplex *d)
{
	queue_close(d->ab);
	queue_close(d->ba);
}

static void duplex_close(struct duplex *d)
{
	queue_free(d->ab);
	queue_free(d->ba);
}

/* ---- tables --------------------------------------------------------------------- */

static struct sr_ml_data view(const struct sr_test_table *t)
{
	return (struct sr_ml_data){ t->rows, t->cols, t->x, t->y };
}

/* Every column mapped linearly onto [-1, 1]. */
static void scale(struct sr_test_table *t)
{
	for (size_t c = 0; c < t->cols; c++) {
		double lo = INFINITY, hi = -INFINITY, *x = t->x + c * t->rows;
		for (size_t r = 0; r < t->rows; r++) {
			lo = fmin(lo, x[r]);
			hi = fmax(hi, x[r]);
		}
		for (size_t r = 0; r < t->rows; r++)
			x[r] = hi > lo ? fmin(1, fmax(-1, 2 * (x[r] - lo) / (hi - lo) - 1)) : 0;
	}
}

static void load_breast_cancer(struct sr_test_table *t)
{
	sr_test_table_breast_cancer(t);
	scale(t);
}

/* rows x 23: 13 features at A, 10 at P; the label depends on both. */
static void generate(struct sr_test_table *t, size_t rows, uint64_t seed)
{
	uint64_t s = seed;

	sr_test_table_alloc(t, rows, 23);
	for (size_t r = 0; r < rows; r++) {
		double z = -0.3, u;
		for (size_t c = 0; c < 23; c++) {
			double v = (double)(sr_test_rand(&s) >> 11) * 0x1p-53 * 2 - 1;
			t->x[c * rows + r] = v;
			z += (c % 3 == 0 ? 1.5 : c % 3 == 1 ? -0.8 : 0.2) * v;
		}
		u = (double)(sr_test_rand(&s) >> 11) * 0x1p-53;
		t->y[r] = u < sr_ml_sigmoid(z) ? 1 : 0;
	}
}

/* ---- a run ------------------------------------------------------------------------ */

struct party {
	pthread_t th;
	const struct sr_ml_vlr_params *p;
	struct sr_ml_data train, valid;
	int has_valid;
	struct duplex *d;
	struct sr_ml_lr w;
	struct sr_err err;
	int rc;
};

static void *passive_main(void *arg)
{
	struct party *pt = arg;
	struct sr_pipe pipe = { &pt->d->b, ep_send, ep_recv };

	pt->rc = sr_ml_vlr_passive(pt->p, &pt->train, pt->has_valid ? &pt->valid : NULL, &pipe,
				   &pt->w, NULL, &pt->err);
	if (pt->rc)
		duplex_abort(pt->d);
	return NULL;
}

struct run {
	size_t np;
	struct duplex d[MAXP];
	struct party pp[MAXP];
	struct sr_ml_lr wa;
	struct sr_err err;
	int rc;
};

/* Where A's run puts the validation rows' final probabilities (or NULL). */
static double *valid_pred;
/* The passive parties' parameters when they differ from A's (or NULL). */
static const struct sr_ml_vlr_params *passive_params;

/* A has cols [0, cut[0]), P_i has [cut[i-1], cut[i]); valid may be NULL.
 * tamper_side: 0 A's first link, 1 P_1's side. */
static void run_vlr(struct run *run, const struct sr_ml_vlr_params *p, const struct sr_test_table *train,
		    const struct sr_test_table *valid, const size_t *cut, size_t np,
		    int tamper_side, enum tamper tamper, size_t at, size_t flip_at)
{
	struct sr_test_table ta, tva, parts[MAXP], vparts[MAXP];
	struct sr_pipe pipes[MAXP];
	struct sr_ml_data da, dva;

	memset(run, 0, sizeof(*run));
	run->np = np;
	sr_test_table_columns(train, 0, cut[0], &ta);
	da = view(&ta);
	if (valid) {
		sr_test_table_columns(valid, 0, cut[0], &tva);
		dva = view(&tva);
	}
	for (size_t i = 0; i < np; i++) {
		duplex_open(&run->d[i]);
		sr_test_table_columns(train, cut[i], cut[i + 1], &parts[i]);
		run->pp[i].p = passive_params ? passive_params : p;
		run->pp[i].train = view(&parts[i]);
		if (valid) {
			sr_test_table_columns(valid, cut[i], cut[i + 1], &vparts[i]);
			run->pp[i].valid = view(&vparts[i]);
			run->pp[i].has_valid = 1;
		}
		run->pp[i].d = &run->d[i];
		pipes[i] = (struct sr_pipe){ &run->d[i].a, ep_send, ep_recv };
	}
	if (tamper != T_NONE) {
		struct endpoint *ep = tamper_side ? &run->d[0].b : &run->d[0].a;
		ep->tamper = tamper;
		ep->tamper_at = at;
		ep->flip_at = flip_at;
	}
	for (size_t i = 0; i < np; i++)
		assert_int_equal(pthread_create(&run->pp[i].th, NULL, passive_main, &run->pp[i]), 0);
	run->rc = sr_ml_vlr_active(p, &da, valid ? &dva : NULL, pipes, np, &run->wa, valid_pred, NULL,
				    &run->err);
	if (run->rc)
		for (size_t i = 0; i < np; i++)
			duplex_abort(&run->d[i]);
	for (size_t i = 0; i < np; i++) {
		pthread_join(run->pp[i].th, NULL);
		duplex_close(&run->d[i]);
		sr_test_table_free(&parts[i]);
		if (valid)
			sr_test_table_free(&vparts[i]);
	}
	sr_test_table_free(&ta);
	if (valid)
		sr_test_table_free(&tva);
}

static void run_release(struct run *run)
{
	sr_ml_lr_release(&run->wa);
	for (size_t i = 0; i < run->np; i++)
		sr_ml_lr_release(&run->pp[i].w);
}

/* Federated weights against sr_ml_lr_train on the pooled columns. */
static double compare_central(const struct run *run, const struct sr_ml_vlr_params *p,
			      const struct sr_test_table *train, const struct sr_test_table *valid,
			      const size_t *cut)
{
	struct sr_ml_data d = view(train), dv;
	struct sr_ml_lr c;
	struct sr_err err;
	double diff, bound;
	size_t batch = p->lr.batch && p->lr.batch < train->rows ? p->lr.batch : train->rows;
	unsigned long steps;

	if (valid)
		dv = view(valid);
	assert_int_equal(sr_ml_lr_train(&p->lr, &d, valid ? &dv : NULL, &c, &err), SR_OK);
	assert_int_equal(run->wa.epochs_run, c.epochs_run);
	diff = fabs(run->wa.bias - c.bias);
	for (size_t j = 0; j < cut[0]; j++)
		diff = fmax(diff, fabs(run->wa.w[j] - c.w[j]));
	for (size_t i = 0; i < run->np; i++) {
		assert_int_equal(run->pp[i].w.cols, cut[i + 1] - cut[i]);
		assert_int_equal(run->pp[i].w.epochs_run, c.epochs_run);
		assert_true(run->pp[i].w.bias == 0);
		for (size_t j = cut[i]; j < cut[i + 1]; j++)
			diff = fmax(diff, fabs(run->pp[i].w.w[j - cut[i]] - c.w[j]));
	}
	steps = (unsigned long)c.epochs_run * ((train->rows + batch - 1) / batch);
	bound = sr_ml_vlr_bound(p, train->cols, run->np, steps);
	print_message("max |w - w_central| %.3g, bound %.3g (%lu steps, %u epochs)\n", diff, bound,
		      steps, c.epochs_run);
	assert_true(diff <= bound);
	assert_true(bound <= 1e-4);
	/* The weights moved: the comparison is not between two zero vectors. */
	assert_true(fabs(c.w[cut[0]]) + fabs(c.w[0]) > 1e-3);
	sr_ml_lr_release(&c);
	return diff;
}

static void params(struct sr_ml_vlr_params *p)
{
	sr_ml_vlr_params_init(p);
	p->key_bits = KEY_BITS;
	p->lr.epochs = 6;
	p->lr.batch = 64;
	p->lr.learning_rate = 0.25;
	p->lr.l2 = 1e-3;
}

static void test_breast_cancer_two(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_vlr_params p;
	struct run run;
	size_t cut[] = { 16, 30 };

	(void)state;
	load_breast_cancer(&all);
	sr_test_table_split(&all, 5, &train, &test);
	params(&p);
	run_vlr(&run, &p, &train, NULL, cut, 1, 0, T_NONE, 0, 0);
	if (run.rc)
		fail_msg("active: %s; passive: %s", run.err.msg, run.pp[0].err.msg);
	assert_int_equal(run.pp[0].rc, SR_OK);
	compare_central(&run, &p, &train, NULL, cut);
	run_release(&run);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
	sr_test_table_free(&all);
}

/* Three parties, pairwise-masked scores, early stopping on a validation split. */
static void test_breast_cancer_three(void **state)
{
	struct sr_test_table all, train, valid;
	struct sr_ml_vlr_params p;
	struct run run;
	size_t cut[] = { 10, 20, 30 };
	double *got;

	(void)state;
	load_breast_cancer(&all);
	sr_test_table_split(&all, 4, &train, &valid);
	params(&p);
	p.lr.epochs = 12;
	p.lr.learning_rate = 0.2;
	p.lr.early_stopping_rounds = 1;
	p.lr.l2 = 0;
	got = calloc(valid.rows, sizeof(double));
	assert_non_null(got);
	valid_pred = got;
	run_vlr(&run, &p, &train, &valid, cut, 2, 0, T_NONE, 0, 0);
	if (run.rc)
		fail_msg("active: %s; passive: %s / %s", run.err.msg, run.pp[0].err.msg,
			 run.pp[1].err.msg);
	assert_int_equal(run.pp[0].rc, SR_OK);
	assert_int_equal(run.pp[1].rc, SR_OK);
	compare_central(&run, &p, &train, &valid, cut);
	/* The final scores of the validation rows are the joint model's. */
	{
		struct sr_ml_data dv = view(&valid);
		struct sr_ml_lr joint;
		double *want = calloc(valid.rows, sizeof(double));
		struct sr_err err;

		assert_non_null(want);
		assert_int_equal(sr_ml_lr_init(&joint, 30, &err), SR_OK);
		joint.bias = run.wa.bias;
		memcpy(joint.w, run.wa.w, 10 * sizeof(double));
		memcpy(joint.w + 10, run.pp[0].w.w, 10 * sizeof(double));
		memcpy(joint.w + 20, run.pp[1].w.w, 10 * sizeof(double));
		sr_ml_lr_predict(&joint, &dv, want);
		for (size_t r = 0; r < valid.rows; r++)
			assert_true(fabs(want[r] - got[r]) < 1e-8);
		sr_ml_lr_release(&joint);
		free(want);
	}
	valid_pred = NULL;
	free(got);
	run_release(&run);
	sr_test_table_free(&train);
	sr_test_table_free(&valid);
	sr_test_table_free(&all);
}

/* The 13 + 10 shape of the standard vertical benchmark, 3,000 rows. */
static void test_generated(void **state)
{
	struct sr_test_table all;
	struct sr_ml_vlr_params p;
	struct run run;
	size_t cut[] = { 13, 23 };

	(void)state;
	generate(&all, 3000, 42);
	params(&p);
	p.lr.epochs = 2;
	p.lr.batch = 500;
	p.lr.learning_rate = 0.3;
	run_vlr(&run, &p, &all, NULL, cut, 1, 0, T_NONE, 0, 0);
	if (run.rc)
		fail_msg("active: %s; passive: %s", run.err.msg, run.pp[0].err.msg);
	compare_central(&run, &p, &all, NULL, cut);
	run_release(&run);
	sr_test_table_free(&all);
}

static void write_csv(const char *path, const struct sr_test_table *t)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t c = 0; c < t->cols; c++)
		fprintf(f, "x%zu,", c);
	fprintf(f, "y\n");
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < t->cols; c++)
			fprintf(f, "%.17g,", t->x[c * t->rows + r]);
		fprintf(f, "%g\n", t->y[r]);
	}
	assert_int_equal(fclose(f), 0);
}

/* oracle.py lr: sklearn's test AUC at C; skips (with the reason) on exit 77. */
static double sklearn_auc(const struct sr_test_table *train, const struct sr_test_table *test, double c)
{
	char *dir = sr_test_tmpdir(), a[512], b[512], cmd[4096], text[512] = "";
	char *script = sr_test_source_path("tests/ml/oracle.py");
	FILE *f;
	size_t len;
	int status;

	snprintf(a, sizeof(a), "%s/train.csv", dir);
	snprintf(b, sizeof(b), "%s/test.csv", dir);
	write_csv(a, train);
	write_csv(b, test);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s lr %s %s %.17g 2>&1", script, a, b, c);
	free(script);
	f = popen(cmd, "r");
	assert_non_null(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	status = pclose(f);
	sr_test_tmpdir_free(dir);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		print_message("skipped: sklearn is not importable: %s", text);
		skip();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("oracle.py lr failed: %s", text);
	return strtod(text, NULL);
}

/* Joint scores of the test rows: sigmoid(bias + Σ parties' X w). */
static double federated_auc(const struct run *run, const struct sr_test_table *test, const size_t *cut)
{
	double *z = calloc(test->rows, sizeof(double));
	struct sr_ml_eval ev;
	struct sr_err err;

	assert_non_null(z);
	for (size_t r = 0; r < test->rows; r++) {
		z[r] = run->wa.bias;
		for (size_t j = 0; j < cut[0]; j++)
			z[r] += run->wa.w[j] * test->x[j * test->rows + r];
		for (size_t i = 0; i < run->np; i++)
			for (size_t j = cut[i]; j < cut[i + 1]; j++)
				z[r] += run->pp[i].w.w[j - cut[i]] * test->x[j * test->rows + r];
		z[r] = sr_ml_sigmoid(z[r]);
	}
	assert_int_equal(sr_ml_eval_scores(test->y, z, test->rows, &ev, &err), SR_OK);
	free(z);
	return ev.auc;
}

static void test_breast_cancer_sklearn(void **state)
{
	struct sr_test_table all, train, test;
	struct sr_ml_vlr_params p;
	struct run run;
	size_t cut[] = { 16, 30 };
	double ours, theirs;

	(void)state;
	load_breast_cancer(&all);
	sr_test_table_split(&all, 5, &train, &test);
	params(&p);
	p.lr.epochs = 40;
	p.lr.batch = 128;
	p.lr.l2 = 1e-3;
	p.x_frac_bits = 26;
	theirs = sklearn_auc(&train, &test, 1.0 / (p.lr.l2 * (double)train.rows));
	run_vlr(&run, &p, &train, NULL, cut, 1, 0, T_NONE, 0, 0);
	if (run.rc)
		fail_msg("active: %s; passive: %s", run.err.msg, run.pp[0].err.msg);
	compare_central(&run, &p, &train, NULL, cut);
	ours = federated_auc(&run, &test, cut);
	print_message("breast cancer, 2 parties: test AUC vertical lr %.4f, sklearn %.4f\n", ours, theirs);
	assert_true(fabs(ours - theirs) <= 0.005);
	run_release(&run);
	sr_test_table_free(&train);
	sr_test_table_free(&test);
	sr_test_table_free(&all);
}

/* A fault on one link: both sides fail, nobody has weights. */
static void expect_fault(int side, enum tamper t, size_t at, size_t flip_at, const char *want)
{
	struct sr_test_table all;
	struct sr_ml_vlr_params p;
	struct run run;
	size_t cut[] = { 13, 23 };

	generate(&all, 300, 9);
	params(&p);
	p.lr.epochs = 2;
	p.lr.batch = 100;
	run_vlr(&run, &p, &all, NULL, cut, 1, side, t, at, flip_at);
	print_message("fault %d at %zu: active: %s | passive: %s\n", (int)t, at,
		      run.rc ? run.err.msg : "ok", run.pp[0].rc ? run.pp[0].err.msg : "ok");
	assert_int_not_equal(run.rc, SR_OK);
	assert_int_not_equal(run.pp[0].rc, SR_OK);
	assert_null(run.wa.w);
	assert_null(run.pp[0].w.w);
	if (want)
		assert_non_null(strstr(side ? run.err.msg : run.pp[0].err.msg, want));
	run_release(&run);
	sr_test_table_free(&all);
}

static void test_faults(void **state)
{
	(void)state;
	/* A's messages: 0 PARAMS, 1 KEYS, then per batch RESID, MASKED. */
	expect_fault(0, T_TRUNCATE, 0, 0, "public key");
	expect_fault(0, T_VERSION, 2, 0, "version 2");
	expect_fault(0, T_TRUNCATE, 2, 0, "RESID");
	expect_fault(0, T_TRUNCATE, 3, 0, "MASKED");
	expect_fault(0, T_FLIP, 5, 10, "out of range");
	expect_fault(0, T_CLOSE, 4, 0, NULL);
	/* P's messages: 0 HELLO, then per batch SCORES, GRAD. */
	expect_fault(1, T_TRUNCATE, 1, 0, "SCORES");
	expect_fault(1, T_TRUNCATE, 2, 0, "GRAD");
	expect_fault(1, T_VERSION, 4, 0, "version 2");
	expect_fault(1, T_CLOSE, 3, 0, NULL);
}

static void test_bad_input(void **state)
{
	struct sr_test_table all;
	struct sr_ml_vlr_params p;
	struct run run;
	size_t cut[] = { 13, 23 };

	(void)state;
	generate(&all, 200, 5);
	params(&p);
	p.lr.epochs = 1;
	/* A label 2 at A. */
	all.y[17] = 2;
	run_vlr(&run, &p, &all, NULL, cut, 1, 0, T_NONE, 0, 0);
	assert_int_equal(run.rc, SR_EINVAL);
	assert_non_null(strstr(run.err.msg, "label 2"));
	assert_int_not_equal(run.pp[0].rc, SR_OK);
	run_release(&run);
	all.y[17] = 1;
	/* A passive feature outside [-1, 1]. */
	all.x[20 * all.rows + 3] = 1.5;
	run_vlr(&run, &p, &all, NULL, cut, 1, 0, T_NONE, 0, 0);
	assert_int_equal(run.pp[0].rc, SR_EINVAL);
	assert_non_null(strstr(run.pp[0].err.msg, "expected |x| <= 1"));
	assert_int_not_equal(run.rc, SR_OK);
	run_release(&run);
	all.x[20 * all.rows + 3] = 0.5;
	/* Parameters: out of range, and frac_bits set. */
	p.x_frac_bits = 31;
	run_vlr(&run, &p, &all, NULL, cut, 1, 0, T_NONE, 0, 0);
	assert_int_equal(run.rc, SR_EINVAL);
	assert_non_null(strstr(run.err.msg, "x_frac_bits 31"));
	run_release(&run);
	params(&p);
	p.lr.frac_bits = 16;
	assert_int_equal(sr_ml_vlr_params_check(&p, &run.err), SR_EINVAL);
	/* A passive party with another learning rate refuses A's PARAMS. */
	{
		struct sr_ml_vlr_params q;
		params(&p);
		p.lr.epochs = 1;
		q = p;
		q.lr.learning_rate = 0.5;
		passive_params = &q;
		run_vlr(&run, &p, &all, NULL, cut, 1, 0, T_NONE, 0, 0);
		passive_params = NULL;
		assert_int_equal(run.pp[0].rc, SR_EINVAL);
		assert_non_null(strstr(run.pp[0].err.msg, "parameters differ"));
		assert_int_not_equal(run.rc, SR_OK);
		assert_null(run.wa.w);
		run_release(&run);
	}
	sr_test_table_free(&all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breast_cancer_two),
		cmocka_unit_test(test_breast_cancer_three),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_breast_cancer_sklearn),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
