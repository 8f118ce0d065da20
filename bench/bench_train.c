/*
 * bench_train.c - joint-model training figures of issue 12 (bench/train
 * runs it; a measurement, not a test).
 *
 *   bench_train [--rows-per-party N] [--no-xgboost] [--only-vlr] [--vlr-batches N] ...
 *
 * bench train_horizontal  5 parties x 200,000 rows x 20 features, logistic
 *     regression, 20 rounds of sr_ml_hlr_run, every party a thread joined
 *     by in-memory pipes (no network: what is timed is the computation
 *     and secure aggregation's keys, masks and copies): wall time, the
 *     share outside the local gradients (secure aggregation, including
 *     waiting for the slowest party), and the ratio to sr_ml_hlr_central
 *     on the 1,000,000 pooled rows, which gives the same weights.
 * bench train_hgbdt  5 parties x 40,000 rows (--hgbdt-rows-per-party) x 20
 *     features, horizontal GBDT (sr_ml_hgbdt_run), 10 trees, depth 6, 32
 *     public equal-width bins, threads over the same in-memory pipes: wall
 *     time, the share outside local computation (secure aggregation of the
 *     per-level histograms, waiting included), the ratio to
 *     sr_ml_hgbdt_central on the pooled rows, and whether the trees are
 *     equal node for node (the run fails if not).
 * bench train_gbdt  our central GBDT against python3-xgboost (hist, the
 *     same depth 6, 50 trees, eta 0.3, lambda 1, 32 bins, nthread 1 and 2)
 *     on a generated 30,000 x 23 table (24,000 train, 6,000 test): training
 *     seconds and test AUC.
 * bench train_secureboost  vertical SecureBoost (src/ml/secureboost.h) on
 *     30,000 x (13 + 10) rows of the same generator (the label depends on
 *     both parties' features), depth 6, 32 bins, eta 0.3, lambda 1,
 *     Paillier-2048 with a fresh key, the active and the passive party as
 *     threads over in-memory pipes sharing one 2-thread pool: seconds per
 *     tree (key generation and binning excluded, reported apart), the
 *     split of the time, bytes, test AUC on 6,000 new rows (ours; central
 *     sr_ml_gbdt_train on the pooled columns with the same grad_frac_bits,
 *     which must be equal; python3-xgboost hist with the same parameters)
 *     and xgboost's time.
 * bench train_vlr  vertical logistic regression (src/ml/vlr.h), Paillier-
 *     2048, on 30,000 x (13 + 10) generated rows in [-1, 1] (24,000 train,
 *     6,000 test), 3 epochs, batches of 1,024: seconds per epoch, the time
 *     split, test AUC (ours, central sr_ml_lr_train with the same schedule,
 *     python3-sklearn), the weight difference to central and its bound.
 * bench train_vlr_wide  the same on 100,000 x (30 + 300): --vlr-batches
 *     batches of 16,384 rows timed and scaled to the 100,000-row epoch.
 * bench train_predict  joint prediction of 2^17 aligned rows (13 + 10),
 *     SecureBoost (50 trees, depth 6) and vertical LR, through the
 *     functions the predict kind calls (--only-predict).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "ml/hgbdt.h"
#include "ml/ml.h"
#include "ml/secureboost.h"
#include "ml/vlr.h"
#include "base/pool.h"
#include "he/he.h"
#include "base/banned.h"

#define PARTIES 5
#define FEATURES 20
#define ROUNDS 20
#define HGBDT_TREES 10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (both parties and the pool): on a
 * shared machine a steadier figure than the wall time. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double unif(uint64_t *s)
{
	return (double)(sr_ml_prng_next(s) >> 11) * 0x1p-53;
}

/* ---- an in-memory mesh: one unbounded queue per direction ---------------- */

struct msg {
	struct msg *next;
	size_t len;
	uint8_t data[];
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct msg *head, *tail;
};

static struct queue mesh[PARTIES][PARTIES];   /* mesh[from][to] */

struct end {
	int from, to;
};

static struct end ends[PARTIES][PARTIES];

static void mesh_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	for (int i = 0; i < PARTIES; i++)
		for (int j = 0; j < PARTIES; j++) {
			pthread_mutex_init(&mesh[i][j].lock, NULL);
			pthread_cond_init(&mesh[i][j].cond, NULL);
		}
}

static int q_send(void *ctx, const uint8_t *data, size_t len, struct sr_err *err)
{
	struct end *e = ctx;
	struct queue *q = &mesh[e->from][e->to];
	struct msg *m = malloc(sizeof(*m) + len);

	if (!m)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	m->next = NULL;
	m->len = len;
	memcpy(m->data, data, len);
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return SR_OK;
}

static int q_recv(void *ctx, struct sr_buf *out, size_t max, struct sr_err *err)
{
	struct end *e = ctx;
	struct queue *q = &mesh[e->to][e->from];
	struct msg *m;
	int rc;

	pthread_mutex_lock(&q->lock);
	while (!q->head)
		pthread_cond_wait(&q->cond, &q->lock);
	m = q->head;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	if (m->len > max) {
		size_t len = m->len;
		free(m);
		return sr_fail(err, SR_ELIMIT, "bench pipe: %zu bytes over %zu", len, max);
	}
	sr_buf_reset(out);
	rc = sr_buf_add(out, m->data, m->len);
	free(m);
	return rc ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
}

/* Party i's pipes to every other party. */
static void wire(struct sr_pipe *pipes, int i)
{
	for (int j = 0; j < PARTIES; j++) {
		ends[i][j] = (struct end){ i, j };
		pipes[j] = (struct sr_pipe){ &ends[i][j], q_send, q_recv };
	}
}

/* Run fn on each of the PARTIES structs of size bytes at pt in its own
 * thread; the wall time. */
static double run_threads(void *(*fn)(void *), void *pt, size_t size)
{
	pthread_t th[PARTIES];
	double t0 = now_s();

	for (int i = 0; i < PARTIES; i++)
		pthread_create(&th[i], NULL, fn, (char *)pt + (size_t)i * size);
	for (int i = 0; i < PARTIES; i++)
		pthread_join(th[i], NULL);
	return now_s() - t0;
}

/* ---- horizontal ------------------------------------------------------------ */

struct party {
	int self;
	struct sr_ml_hlr_params p;
	struct sr_pipe pipes[PARTIES];
	struct sr_ml_data train, test;
	struct sr_ml_hlr_result out;
	struct sr_ml_hlr_stats stats;
	struct sr_err err;
	int rc;
};

static void *party_main(void *arg)
{
	struct party *pt = arg;

	pt->rc = sr_ml_hlr_run(&pt->p, pt->pipes, &pt->train, &pt->test, &pt->out, &pt->stats,
			       &pt->err);
	return NULL;
}

/* rows x FEATURES in [0, 1], label from a fixed logistic model. */
static void gen_lr(size_t rows, uint64_t seed, double *x, double *y)
{
	uint64_t s = seed;

	for (size_t r = 0; r < rows; r++) {
		double z = -1;
		for (size_t c = 0; c < FEATURES; c++) {
			double v = unif(&s);
			x[c * rows + r] = v;
			z += (c % 2 ? 1.5 : -1.0) * v * (double)(c % 5) / 4;
		}
		y[r] = unif(&s) < 1 / (1 + exp(-z));
	}
}

static int bench_horizontal(size_t per_party)
{
	static struct party pt[PARTIES];
	unsigned char receiver[PARTIES] = { 1, 0, 0, 0, 0 };
	size_t ntest = per_party / 5, ntrain = per_party - ntest, N = ntrain * PARTIES;
	double *px = malloc(N * FEATURES * sizeof(double)), *py = malloc(N * sizeof(double));
	double *tx = malloc(ntest * FEATURES * sizeof(double)), *ty = malloc(ntest * sizeof(double));
	double *xs[PARTIES], *ys[PARTIES], t0, fed_s, central_s, diff = 0;
	uint64_t compute = 0, secagg = 0;
	struct sr_ml_hlr_result central;
	struct sr_ml_data dall, dtest;
	struct sr_err err = { 0 };

	if (!px || !py || !tx || !ty)
		return 1;
	gen_lr(ntest, 999, tx, ty);
	for (int i = 0; i < PARTIES; i++) {
		xs[i] = malloc(ntrain * FEATURES * sizeof(double));
		ys[i] = malloc(ntrain * sizeof(double));
		if (!xs[i] || !ys[i])
			return 1;
		gen_lr(ntrain, 100 + (uint64_t)i, xs[i], ys[i]);
		for (size_t c = 0; c < FEATURES; c++)
			memcpy(px + c * N + (size_t)i * ntrain, xs[i] + c * ntrain,
			       ntrain * sizeof(double));
		memcpy(py + (size_t)i * ntrain, ys[i], ntrain * sizeof(double));
	}
	mesh_init();
	for (int i = 0; i < PARTIES; i++) {
		memset(&pt[i], 0, sizeof(pt[i]));
		sr_ml_lr_params_init(&pt[i].p.lr);
		pt[i].p.lr.epochs = ROUNDS;
		pt[i].p.lr.learning_rate = 1;
		pt[i].p.lr.l2 = 0.001;
		pt[i].p.lr.frac_bits = 32;
		pt[i].p.run_id = (const uint8_t *)"bench_train";
		pt[i].p.run_id_len = 11;
		pt[i].p.parties = PARTIES;
		pt[i].p.self = (uint32_t)i;
		pt[i].p.aggregator = 0;
		pt[i].p.receiver = receiver;
		pt[i].train = (struct sr_ml_data){ ntrain, FEATURES, xs[i], ys[i] };
		/* Every party holds the same test rows: only the time matters. */
		pt[i].test = (struct sr_ml_data){ ntest, FEATURES, tx, ty };
		wire(pt[i].pipes, i);
	}
	fed_s = run_threads(party_main, pt, sizeof(pt[0]));
	for (int i = 0; i < PARTIES; i++) {
		if (pt[i].rc) {
			fprintf(stderr, "bench_train: party %d: %s\n", i, pt[i].err.msg);
			return 1;
		}
		compute += pt[i].stats.compute_ns;
		secagg += pt[i].stats.secagg_ns;
	}
	/* The central trainer on the pooled rows: the same weights. */
	dall = (struct sr_ml_data){ N, FEATURES, px, py };
	{
		double *ctx = malloc(ntest * PARTIES * FEATURES * sizeof(double));
		double *cty = malloc(ntest * PARTIES * sizeof(double));
		for (int i = 0; i < PARTIES; i++) {
			for (size_t c = 0; c < FEATURES; c++)
				memcpy(ctx + c * ntest * PARTIES + (size_t)i * ntest, tx + c * ntest,
				       ntest * sizeof(double));
			memcpy(cty + (size_t)i * ntest, ty, ntest * sizeof(double));
		}
		dtest = (struct sr_ml_data){ ntest * PARTIES, FEATURES, ctx, cty };
		t0 = now_s();
		if (sr_ml_hlr_central(&pt[0].p.lr, &dall, &dtest, &central, &err)) {
			fprintf(stderr, "bench_train: central: %s\n", err.msg);
			return 1;
		}
		central_s = now_s() - t0;
		free(ctx);
		free(cty);
	}
	for (size_t c = 0; c < FEATURES; c++)
		diff = fmax(diff, fabs(central.model.w[c] - pt[0].out.model.w[c]));
	diff = fmax(diff, fabs(central.model.bias - pt[0].out.model.bias));
	printf("bench train_horizontal parties=%d rows_per_party=%zu features=%d rounds=%d "
	       "wall_s=%.3f secagg_share=%.3f secagg_s_mean=%.3f compute_s_mean=%.3f "
	       "bytes_sent_aggregator=%llu central_s=%.3f ratio_to_central=%.2f "
	       "max_weight_diff=%.3g auc=%.4f auc_central=%.4f\n",
	       PARTIES, per_party, FEATURES, ROUNDS, fed_s,
	       1 - (double)compute / PARTIES / 1e9 / fed_s, (double)secagg / PARTIES / 1e9,
	       (double)compute / PARTIES / 1e9,
	       (unsigned long long)pt[0].stats.bytes_sent, central_s, fed_s / central_s, diff,
	       pt[0].out.eval.auc, central.eval.auc);
	sr_ml_hlr_result_release(&central);
	for (int i = 0; i < PARTIES; i++) {
		sr_ml_hlr_result_release(&pt[i].out);
		free(xs[i]);
		free(ys[i]);
	}
	free(px);
	free(py);
	free(tx);
	free(ty);
	return 0;
}

/* ---- horizontal GBDT ---------------------------------------------------------- */

struct hparty {
	struct sr_ml_hgbdt_params p;
	struct sr_pipe pipes[PARTIES];
	struct sr_ml_data train, test;
	struct sr_ml_hgbdt_result out;
	struct sr_ml_hgbdt_stats stats;
	struct sr_err err;
	int rc;
};

static void *hparty_main(void *arg)
{
	struct hparty *pt = arg;

	pt->rc = sr_ml_hgbdt_run(&pt->p, pt->pipes, &pt->train, &pt->test, &pt->test, &pt->out,
				 &pt->stats, &pt->err);
	return NULL;
}

static int bench_hgbdt(size_t per_party)
{
	static struct hparty pt[PARTIES];
	unsigned char receiver[PARTIES] = { 1, 0, 0, 0, 0 };
	size_t ntest = per_party / 5, ntrain = per_party - ntest, N = ntrain * PARTIES;
	size_t part_rows[PARTIES];
	double *px = malloc(N * FEATURES * sizeof(double)), *py = malloc(N * sizeof(double));
	double *tx = malloc(ntest * PARTIES * FEATURES * sizeof(double));
	double *ty = malloc(ntest * PARTIES * sizeof(double));
	double *xs[PARTIES], *ys[PARTIES], *txs[PARTIES], *tys[PARTIES], lo[FEATURES], hi[FEATURES];
	double t0, fed_s, central_s;
	uint64_t compute = 0, secagg = 0;
	struct sr_ml_hgbdt_result central;
	struct sr_ml_gbdt_params gp;
	struct sr_ml_bins bins;
	struct sr_ml_data dall, dtest;
	struct sr_err err = { 0 };
	int same = 1;

	if (!px || !py || !tx || !ty)
		return 1;
	for (size_t c = 0; c < FEATURES; c++) {
		lo[c] = 0;
		hi[c] = 1;
	}
	if (sr_ml_bins_uniform(FEATURES, lo, hi, 32, &bins, &err))
		return 1;
	sr_ml_gbdt_params_init(&gp);
	gp.trees = HGBDT_TREES;
	gp.depth = 6;
	gp.grad_frac_bits = 24;
	mesh_init();
	for (int i = 0; i < PARTIES; i++) {
		xs[i] = malloc(ntrain * FEATURES * sizeof(double));
		ys[i] = malloc(ntrain * sizeof(double));
		txs[i] = malloc(ntest * FEATURES * sizeof(double));
		tys[i] = malloc(ntest * sizeof(double));
		if (!xs[i] || !ys[i] || !txs[i] || !tys[i])
			return 1;
		gen_lr(ntrain, 200 + (uint64_t)i, xs[i], ys[i]);
		gen_lr(ntest, 300 + (uint64_t)i, txs[i], tys[i]);
		part_rows[i] = ntrain;
		for (size_t c = 0; c < FEATURES; c++) {
			memcpy(px + c * N + (size_t)i * ntrain, xs[i] + c * ntrain,
			       ntrain * sizeof(double));
			memcpy(tx + c * ntest * PARTIES + (size_t)i * ntest, txs[i] + c * ntest,
			       ntest * sizeof(double));
		}
		memcpy(py + (size_t)i * ntrain, ys[i], ntrain * sizeof(double));
		memcpy(ty + (size_t)i * ntest, tys[i], ntest * sizeof(double));
		memset(&pt[i], 0, sizeof(pt[i]));
		pt[i].p.gbdt = gp;
		pt[i].p.bins = &bins;
		pt[i].p.run_id = (const uint8_t *)"bench_hgbdt";
		pt[i].p.run_id_len = 11;
		pt[i].p.parties = PARTIES;
		pt[i].p.self = (uint32_t)i;
		pt[i].p.aggregator = 0;
		pt[i].p.receiver = receiver;
		pt[i].train = (struct sr_ml_data){ ntrain, FEATURES, xs[i], ys[i] };
		pt[i].test = (struct sr_ml_data){ ntest, FEATURES, txs[i], tys[i] };
		wire(pt[i].pipes, i);
	}
	fed_s = run_threads(hparty_main, pt, sizeof(pt[0]));
	for (int i = 0; i < PARTIES; i++) {
		if (pt[i].rc) {
			fprintf(stderr, "bench_train: hgbdt party %d: %s\n", i, pt[i].err.msg);
			return 1;
		}
		compute += pt[i].stats.compute_ns;
		secagg += pt[i].stats.secagg_ns;
	}
	dall = (struct sr_ml_data){ N, FEATURES, px, py };
	dtest = (struct sr_ml_data){ ntest * PARTIES, FEATURES, tx, ty };
	t0 = now_s();
	if (sr_ml_hgbdt_central(&gp, &bins, part_rows, PARTIES, &dall, &dtest, &dtest, &central,
				&err)) {
		fprintf(stderr, "bench_train: hgbdt central: %s\n", err.msg);
		return 1;
	}
	central_s = now_s() - t0;
	/* The same trees, node for node. */
	for (size_t t = 0; same && t < central.model.ntrees; t++) {
		const struct sr_ml_tree *a = &central.model.trees[t], *b = &pt[0].out.model.trees[t];
		same = a->nnodes == b->nnodes &&
		       memcmp(a->nodes, b->nodes, a->nnodes * sizeof(*a->nodes)) == 0;
	}
	printf("bench train_hgbdt parties=%d rows_per_party=%zu features=%d trees=%d depth=6 bins=32 "
	       "wall_s=%.3f secagg_share=%.3f secagg_s_mean=%.3f compute_s_mean=%.3f "
	       "aggregations=%llu bytes_sent_aggregator=%llu central_s=%.3f ratio_to_central=%.2f "
	       "trees_equal=%s auc=%.4f auc_central=%.4f\n",
	       PARTIES, per_party, FEATURES, HGBDT_TREES, fed_s,
	       1 - (double)compute / PARTIES / 1e9 / fed_s, (double)secagg / PARTIES / 1e9,
	       (double)compute / PARTIES / 1e9, (unsigned long long)pt[0].stats.aggregations,
	       (unsigned long long)pt[0].stats.bytes_sent, central_s, fed_s / central_s,
	       same ? "yes" : "NO", pt[0].out.eval.auc, central.eval.auc);
	sr_ml_hgbdt_result_release(&central);
	sr_ml_bins_release(&bins);
	for (int i = 0; i < PARTIES; i++) {
		sr_ml_hgbdt_result_release(&pt[i].out);
		free(xs[i]);
		free(ys[i]);
		free(txs[i]);
		free(tys[i]);
	}
	free(px);
	free(py);
	free(tx);
	free(ty);
	return same ? 0 : 1;
}

/* ---- GBDT vs xgboost --------------------------------------------------------- */

static void gen_gbdt(size_t rows, uint64_t seed, double *x, double *y)
{
	uint64_t s = seed;

	for (size_t r = 0; r < rows; r++) {
		double v[23], z;
		for (size_t c = 0; c < 23; c++) {
			double u1 = unif(&s) + 1e-12, u2 = unif(&s);
			x[c * rows + r] = v[c] = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		}
		z = 0.8 * v[0] - 0.6 * v[1] * v[2] + sin(2 * v[3]) + (v[4] > 0.5 ? 0.9 : -0.2) +
		    0.3 * v[5] + 0.7 * v[13] - 0.4 * v[14] * v[14] + 0.5 * v[15] * v[16] +
		    (v[17] < -0.3 ? -0.8 : 0.1) + 0.2 * v[18] - 0.3;
		y[r] = unif(&s) < 1 / (1 + exp(-z));
	}
}

static int write_csv(const char *path, const double *x, const double *y, size_t rows)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return 1;
	for (int c = 0; c < 23; c++)
		fprintf(f, "f%d,", c);
	fprintf(f, "y\n");
	for (size_t r = 0; r < rows; r++) {
		for (int c = 0; c < 23; c++)
			fprintf(f, "%.17g,", x[(size_t)c * rows + r]);
		fprintf(f, "%.0f\n", y[r]);
	}
	return fclose(f) != 0;
}

static int bench_gbdt(int xgboost)
{
	size_t ntr = 24000, nte = 6000;
	double *xtr = malloc(ntr * 23 * sizeof(double)), *ytr = malloc(ntr * sizeof(double));
	double *xte = malloc(nte * 23 * sizeof(double)), *yte = malloc(nte * sizeof(double));
	double *pred = malloc(nte * sizeof(double)), t0, ours_s;
	struct sr_ml_gbdt_params p;
	struct sr_ml_gbdt m;
	struct sr_ml_eval ev;
	struct sr_ml_data dtr, dte;
	struct sr_err err = { 0 };
	char dir[] = "/tmp/sr-bench-train-XXXXXX", cmd[2048];

	if (!xtr || !ytr || !xte || !yte || !pred)
		return 1;
	gen_gbdt(ntr, 1, xtr, ytr);
	gen_gbdt(nte, 2, xte, yte);
	dtr = (struct sr_ml_data){ ntr, 23, xtr, ytr };
	dte = (struct sr_ml_data){ nte, 23, xte, yte };
	sr_ml_gbdt_params_init(&p);   /* 50 trees, depth 6, eta 0.3, lambda 1, 32 bins */
	t0 = now_s();
	if (sr_ml_gbdt_train(&p, &dtr, NULL, &m, &err)) {
		fprintf(stderr, "bench_train: gbdt: %s\n", err.msg);
		return 1;
	}
	ours_s = now_s() - t0;
	sr_ml_gbdt_predict(&m, &dte, pred);
	if (sr_ml_eval_scores(yte, pred, nte, &ev, &err))
		return 1;
	printf("bench train_gbdt impl=sealroom threads=1 rows=%zu features=23 trees=%u depth=%u "
	       "bins=%u train_s=%.3f s_per_tree=%.4f auc=%.4f\n", ntr, p.trees, p.depth,
	       p.max_bins, ours_s, ours_s / p.trees, ev.auc);
	fflush(stdout);
	sr_ml_gbdt_release(&m);
	if (xgboost && mkdtemp(dir)) {
		char a[256], b[256];
		snprintf(a, sizeof(a), "%s/train.csv", dir);
		snprintf(b, sizeof(b), "%s/test.csv", dir);
		if (write_csv(a, xtr, ytr, ntr) || write_csv(b, xte, yte, nte))
			return 1;
		for (int threads = 1; threads <= 2; threads++) {
			snprintf(cmd, sizeof(cmd),
				 "/usr/bin/python3 -c '\n"
				 "import sys, time, numpy as np, xgboost as xgb\n"
				 "from sklearn.metrics import roc_auc_score\n"
				 "a = np.loadtxt(sys.argv[1], delimiter=\",\", skiprows=1); t = np.loadtxt(sys.argv[2], delimiter=\",\", skiprows=1)\n"
				 "d = xgb.DMatrix(a[:, :-1], label=a[:, -1])\n"
				 "p = {\"objective\": \"binary:logistic\", \"tree_method\": \"hist\", \"max_depth\": 6, \"eta\": 0.3, \"lambda\": 1, \"max_bin\": 32, \"min_child_weight\": 1, \"gamma\": 0, \"base_score\": 0.5, \"nthread\": %d}\n"
				 "t0 = time.perf_counter(); m = xgb.train(p, d, num_boost_round=50); s = time.perf_counter() - t0\n"
				 "print(\"bench train_gbdt impl=xgboost-%%s threads=%d rows=%zu features=23 trees=50 depth=6 bins=32 train_s=%%.3f s_per_tree=%%.4f auc=%%.4f\" %% (xgb.__version__, s, s / 50, roc_auc_score(t[:, -1], m.predict(xgb.DMatrix(t[:, :-1])))))\n"
				 "' %s %s", threads, threads, ntr, a, b);
			if (system(cmd) != 0)
				printf("bench train_gbdt impl=xgboost skipped=1 reason=\"python3-xgboost did not run\"\n");
			fflush(stdout);
		}
		unlink(a);
		unlink(b);
		rmdir(dir);
	}
	free(xtr);
	free(ytr);
	free(xte);
	free(yte);
	free(pred);
	return 0;
}

/* ---- vertical SecureBoost ---------------------------------------------------- */

struct sb_passive {
	struct sr_ml_sb_params *p;
	struct sr_ml_data train;
	struct sr_pipe pipe;
	struct sr_ml_sb_part part;
	struct sr_ml_sb_stats stats;
	struct sr_err err;
	int rc;
};

static void *sb_passive_main(void *arg)
{
	struct sb_passive *ps = arg;

	ps->rc = sr_ml_sb_passive(ps->p, &ps->train, NULL, &ps->pipe, &ps->part, &ps->stats,
				  &ps->err);
	return NULL;
}

struct sb_predict {
	const struct sr_ml_sb_part *part;
	struct sr_ml_data d;
	struct sr_pipe pipe;
	struct sr_err err;
	int rc;
};

static void *sb_predict_main(void *arg)
{
	struct sb_predict *pp = arg;

	pp->rc = sr_ml_sb_predict_passive(pp->part, &pp->d, &pp->pipe, &pp->err);
	return NULL;
}

static int bench_secureboost(unsigned trees, int xgboost)
{
	size_t ntr = 30000, nte = 6000, ca = 13;
	double *xtr = malloc(ntr * 23 * sizeof(double)), *ytr = malloc(ntr * sizeof(double));
	double *xte = malloc(nte * 23 * sizeof(double)), *yte = malloc(nte * sizeof(double));
	double *pred = malloc(nte * sizeof(double)), *pc = malloc(nte * sizeof(double));
	struct sr_ml_sb_params p;
	struct sr_ml_sb_model m = { 0 };
	struct sr_ml_sb_stats st = { 0 };
	struct sb_passive ps = { 0 };
	struct sb_predict pp = { 0 };
	struct sr_ml_gbdt central = { 0 }, fed = { 0 };
	struct sr_ml_eval ev, evc;
	struct sr_ml_data da, dall, dte;
	struct sr_pool *pool = NULL;
	struct sr_err err = { 0 };
	pthread_t th;
	double t0, c0, total, cpu_total, keygen_s, central_s;
	int same = 1;
	char dir[] = "/tmp/sr-bench-sb-XXXXXX", cmd[2048];

	if (!xtr || !ytr || !xte || !yte || !pred || !pc || sr_pool_new(2, &pool))
		return 1;
	/* Party 0 is A, party 1 the passive party (glibc's zeroed mutexes and
	 * conditions are initialised ones; the queues are empty). */
	ends[0][1] = (struct end){ 0, 1 };
	ends[1][0] = (struct end){ 1, 0 };
	gen_gbdt(ntr, 3, xtr, ytr);
	gen_gbdt(nte, 4, xte, yte);
	sr_ml_sb_params_init(&p);       /* depth 6, 32 bins, eta 0.3, lambda 1, 2048-bit */
	p.gbdt.trees = trees;
	p.pool = pool;
	da = (struct sr_ml_data){ ntr, ca, xtr, ytr };
	ps.p = &p;
	ps.train = (struct sr_ml_data){ ntr, 23 - ca, xtr + ca * ntr, NULL };
	ps.pipe = (struct sr_pipe){ &ends[1][0], q_send, q_recv };
	{
		/* Key generation alone, to report it apart from the trees. */
		struct sr_he_pk *pk;
		struct sr_he_sk *sk;
		t0 = now_s();
		if (sr_he_keygen(p.key_bits, pool, &pk, &sk, &err))
			return 1;
		keygen_s = now_s() - t0;
		sr_he_sk_free(sk);
		sr_he_pk_free(pk);
	}
	if (pthread_create(&th, NULL, sb_passive_main, &ps))
		return 1;
	{
		struct sr_pipe to_passive = { &ends[0][1], q_send, q_recv };
		t0 = now_s();
		c0 = cpu_s();
		if (sr_ml_sb_active(&p, &da, NULL, &to_passive, 1, &m, &st, &err)) {
			fprintf(stderr, "bench_train: secureboost: %s\n", err.msg);
			return 1;
		}
		total = now_s() - t0;
	}
	pthread_join(th, NULL);
	cpu_total = cpu_s() - c0;
	if (ps.rc) {
		fprintf(stderr, "bench_train: secureboost passive: %s\n", ps.err.msg);
		return 1;
	}
	/* Joint prediction of the test rows. */
	pp.part = &ps.part;
	pp.d = (struct sr_ml_data){ nte, 23 - ca, xte + ca * nte, NULL };
	pp.pipe = ps.pipe;
	if (pthread_create(&th, NULL, sb_predict_main, &pp))
		return 1;
	{
		struct sr_pipe to_passive = { &ends[0][1], q_send, q_recv };
		struct sr_ml_data dta = { nte, ca, xte, yte };
		if (sr_ml_sb_predict_active(&m, &dta, &to_passive, 1, pred, &err))
			return 1;
	}
	pthread_join(th, NULL);
	if (pp.rc || sr_ml_eval_scores(yte, pred, nte, &ev, &err))
		return 1;
	/* Central on the pooled columns, the same quantized gradients. */
	dall = (struct sr_ml_data){ ntr, 23, xtr, ytr };
	dte = (struct sr_ml_data){ nte, 23, xte, yte };
	t0 = now_s();
	if (sr_ml_gbdt_train(&p.gbdt, &dall, NULL, &central, &err))
		return 1;
	central_s = now_s() - t0;
	sr_ml_gbdt_predict(&central, &dte, pc);
	if (sr_ml_eval_scores(yte, pc, nte, &evc, &err) ||
	    sr_ml_sb_to_gbdt(&m, &ps.part, 1, &fed, &err))
		return 1;
	for (size_t r = 0; r < nte; r++)
		same &= pc[r] == pred[r];
	printf("bench train_secureboost rows=%zu features=%zu+%zu trees=%u depth=%u bins=%u key_bits=%u "
	       "threads=2 s_per_tree=%.3f cpu_s_per_tree=%.3f total_s=%.3f keygen_s=%.3f encrypt_s=%.3f "
	       "passive_hist_s=%.3f decrypt_s=%.3f decryptions=%llu bytes_to_passive=%llu "
	       "bytes_from_passive=%llu splits_at_passive=%zu auc=%.4f auc_central=%.4f "
	       "central_s=%.3f predictions_equal_central=%s\n",
	       ntr, ca, 23 - ca, trees, p.gbdt.depth, p.gbdt.max_bins, p.key_bits,
	       total / trees, cpu_total / trees, total, keygen_s, (double)st.encrypt_ns * 1e-9,
	       (double)ps.stats.hist_ns * 1e-9, (double)st.decrypt_ns * 1e-9,
	       (unsigned long long)st.ciphertexts_decrypted, (unsigned long long)st.bytes_sent,
	       (unsigned long long)st.bytes_received, ps.part.nsplits, ev.auc, evc.auc, central_s,
	       same ? "yes" : "NO");
	fflush(stdout);
	if (xgboost && mkdtemp(dir)) {
		char a[256], b[256];
		snprintf(a, sizeof(a), "%s/train.csv", dir);
		snprintf(b, sizeof(b), "%s/test.csv", dir);
		if (write_csv(a, xtr, ytr, ntr) || write_csv(b, xte, yte, nte))
			return 1;
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c '\n"
			 "import sys, time, numpy as np, xgboost as xgb\n"
			 "from sklearn.metrics import roc_auc_score\n"
			 "a = np.loadtxt(sys.argv[1], delimiter=\",\", skiprows=1); t = np.loadtxt(sys.argv[2], delimiter=\",\", skiprows=1)\n"
			 "d = xgb.DMatrix(a[:, :-1], label=a[:, -1])\n"
			 "p = {\"objective\": \"binary:logistic\", \"tree_method\": \"hist\", \"max_depth\": 6, \"eta\": 0.3, \"lambda\": 1, \"max_bin\": 32, \"min_child_weight\": 1, \"gamma\": 0, \"base_score\": 0.5, \"nthread\": 2}\n"
			 "t0 = time.perf_counter(); m = xgb.train(p, d, num_boost_round=%u); s = time.perf_counter() - t0\n"
			 "print(\"bench train_secureboost_xgboost impl=xgboost-%%s threads=2 rows=%zu trees=%u depth=6 bins=32 train_s=%%.3f s_per_tree=%%.4f auc=%%.4f\" %% (xgb.__version__, s, s / %u, roc_auc_score(t[:, -1], m.predict(xgb.DMatrix(t[:, :-1])))))\n"
			 "' %s %s", trees, ntr, trees, trees, a, b);
		if (system(cmd) != 0)
			printf("bench train_secureboost_xgboost skipped=1 reason=\"python3-xgboost did not run\"\n");
		fflush(stdout);
		unlink(a);
		unlink(b);
		rmdir(dir);
	}
	sr_ml_gbdt_release(&central);
	sr_ml_gbdt_release(&fed);
	sr_ml_sb_model_release(&m);
	sr_ml_sb_part_release(&ps.part);
	sr_pool_free(pool);
	free(xtr);
	free(ytr);
	free(xte);
	free(yte);
	free(pred);
	free(pc);
	return same ? 0 : 1;
}

/* ---- vertical logistic regression ------------------------------------------ */

struct vlr_passive {
	struct sr_ml_vlr_params *p;
	struct sr_ml_data train;
	struct sr_pipe pipe;
	struct sr_ml_lr w;
	struct sr_ml_vlr_stats stats;
	struct sr_err err;
	int rc;
};

static void *vlr_passive_main(void *arg)
{
	struct vlr_passive *ps = arg;

	ps->rc = sr_ml_vlr_passive(ps->p, &ps->train, NULL, &ps->pipe, &ps->w, &ps->stats, &ps->err);
	return NULL;
}

/* rows x cols uniform in [-1, 1]; the label from a logistic model that
 * weighs every third feature of both parties. */
static void gen_vlr(size_t rows, size_t cols, uint64_t seed, double *x, double *y)
{
	uint64_t s = seed;

	for (size_t r = 0; r < rows; r++) {
		double z = -0.2;
		for (size_t c = 0; c < cols; c++) {
			double v = 2 * unif(&s) - 1;
			x[c * rows + r] = v;
			if (c % 3 == 0)
				z += (c % 2 ? 0.9 : -0.7) * v * 12 / (double)(cols / 3 + 4);
		}
		y[r] = unif(&s) < 1 / (1 + exp(-z));
	}
}

/*
 * One run of A (ca features) and one passive party (cp features) on ntr
 * rows, batch rows per step, for `epochs` epochs; per_epoch_rows is the
 * epoch the figure is scaled to (the per-batch work depends only on the
 * batch and the feature counts, so timing a prefix of the rows and scaling
 * is exact up to the key set-up, which is excluded).  With nte > 0, test
 * AUC (ours, central sr_ml_lr_train, sklearn) on nte new rows.
 */
static int bench_vlr(const char *name, size_t ntr, size_t per_epoch_rows, size_t ca, size_t cp,
		     size_t batch, unsigned epochs, size_t nte, int python, int fromq, int toq)
{
	size_t cols = ca + cp;
	double *xtr = malloc(ntr * cols * sizeof(double)), *ytr = malloc(ntr * sizeof(double));
	double *xte = NULL, *yte = NULL;
	struct sr_ml_vlr_params p;
	struct sr_ml_vlr_stats st = { 0 };
	struct vlr_passive ps = { 0 };
	struct sr_ml_lr wa = { 0 };
	struct sr_pool *pool = NULL;
	struct sr_err err = { 0 };
	pthread_t th;
	double t0, c0, total, cpu, keygen_s, scale;

	if (!xtr || !ytr || sr_pool_new(2, &pool))
		return 1;
	ends[fromq][toq] = (struct end){ fromq, toq };
	ends[toq][fromq] = (struct end){ toq, fromq };
	gen_vlr(ntr, cols, 21, xtr, ytr);
	sr_ml_vlr_params_init(&p);      /* Paillier-2048, fixed point 32/20/32 bits */
	p.lr.epochs = epochs;
	p.lr.batch = batch;
	p.lr.learning_rate = 0.25;       /* lr * L <= 2 on 23 features: the bound applies */
	p.pool = pool;
	ps.p = &p;
	ps.train = (struct sr_ml_data){ ntr, cp, xtr + ca * ntr, NULL };
	ps.pipe = (struct sr_pipe){ &ends[toq][fromq], q_send, q_recv };
	if (pthread_create(&th, NULL, vlr_passive_main, &ps))
		return 1;
	{
		struct sr_pipe to_passive = { &ends[fromq][toq], q_send, q_recv };
		struct sr_ml_data da = { ntr, ca, xtr, ytr };
		t0 = now_s();
		c0 = cpu_s();
		if (sr_ml_vlr_active(&p, &da, NULL, &to_passive, 1, &wa, NULL, &st, &err)) {
			fprintf(stderr, "bench_train: vertical lr: %s\n", err.msg);
			return 1;
		}
	}
	pthread_join(th, NULL);
	keygen_s = (double)st.keygen_ns * 1e-9;
	total = now_s() - t0 - keygen_s;   /* the run's key set-up, reported apart */
	cpu = cpu_s() - c0;
	if (ps.rc) {
		fprintf(stderr, "bench_train: vertical lr passive: %s\n", ps.err.msg);
		return 1;
	}
	scale = (double)per_epoch_rows / (double)ntr / (double)epochs;
	printf("bench %s rows=%zu features=%zu+%zu batch=%zu key_bits=%u timed_rows=%zu timed_epochs=%u "
	       "s_per_epoch=%.2f cpu_s_per_epoch=%.2f keygen_s=%.2f encrypt_s=%.2f gradient_s=%.2f decrypt_s=%.2f "
	       "ciphertexts_decrypted=%llu bytes_sent=%llu bytes_received=%llu threads=2",
	       name, per_epoch_rows, ca, cp, batch, p.key_bits, ntr, epochs, total * scale, cpu * scale,
	       keygen_s, (double)st.encrypt_ns * 1e-9, (double)ps.stats.gradient_ns * 1e-9,
	       (double)st.decrypt_ns * 1e-9, (unsigned long long)st.ciphertexts_decrypted,
	       (unsigned long long)st.bytes_sent, (unsigned long long)st.bytes_received);
	if (nte) {
		struct sr_ml_lr central = { 0 };
		struct sr_ml_data dall = { ntr, cols, xtr, ytr }, dte;
		struct sr_ml_eval ev, evc;
		double *pf, *pc, maxdiff = fabs(wa.bias), dz;
		char dir[] = "/tmp/sr-bench-vlr-XXXXXX", cmd[2048];

		xte = malloc(nte * cols * sizeof(double));
		yte = malloc(nte * sizeof(double));
		pf = malloc(nte * sizeof(double));
		pc = malloc(nte * sizeof(double));
		if (!xte || !yte || !pf || !pc)
			return 1;
		gen_vlr(nte, cols, 22, xte, yte);
		dte = (struct sr_ml_data){ nte, cols, xte, yte };
		p.lr.frac_bits = 0;
		if (sr_ml_lr_train(&p.lr, &dall, NULL, &central, &err))
			return 1;
		maxdiff = fabs(wa.bias - central.bias);
		for (size_t c = 0; c < cols; c++) {
			double w = c < ca ? wa.w[c] : ps.w.w[c - ca];
			maxdiff = fmax(maxdiff, fabs(w - central.w[c]));
		}
		for (size_t r = 0; r < nte; r++) {
			dz = wa.bias;
			for (size_t c = 0; c < cols; c++)
				dz += (c < ca ? wa.w[c] : ps.w.w[c - ca]) * xte[c * nte + r];
			pf[r] = sr_ml_sigmoid(dz);
		}
		sr_ml_lr_predict(&central, &dte, pc);
		if (sr_ml_eval_scores(yte, pf, nte, &ev, &err) || sr_ml_eval_scores(yte, pc, nte, &evc, &err))
			return 1;
		printf(" auc=%.4f auc_central=%.4f max_weight_diff=%.3g bound=%.3g",
		       ev.auc, evc.auc, maxdiff,
		       sr_ml_vlr_bound(&p, cols, 1, (unsigned long)epochs * ((ntr + batch - 1) / batch)));
		fflush(stdout);
		if (python && cols == 23 && mkdtemp(dir)) {
			char a[256], b[256];
			snprintf(a, sizeof(a), "%s/train.csv", dir);
			snprintf(b, sizeof(b), "%s/test.csv", dir);
			if (write_csv(a, xtr, ytr, ntr) || write_csv(b, xte, yte, nte))
				return 1;
			snprintf(cmd, sizeof(cmd),
				 "/usr/bin/python3 -c '\n"
				 "import sys, numpy as np\n"
				 "from sklearn.linear_model import LogisticRegression\n"
				 "from sklearn.metrics import roc_auc_score\n"
				 "a = np.loadtxt(sys.argv[1], delimiter=\",\", skiprows=1); t = np.loadtxt(sys.argv[2], delimiter=\",\", skiprows=1)\n"
				 "m = LogisticRegression(C=1e6, max_iter=10000, tol=1e-10).fit(a[:, :-1], a[:, -1])\n"
				 "print(\" auc_sklearn=%%.4f\" %% roc_auc_score(t[:, -1], m.predict_proba(t[:, :-1])[:, 1]), end=\"\")\n"
				 "' %s %s", a, b);
			if (system(cmd) != 0)
				printf(" auc_sklearn=skipped");
			unlink(a);
			unlink(b);
			rmdir(dir);
		}
		sr_ml_lr_release(&central);
		free(pf);
		free(pc);
	}
	printf("\n");
	fflush(stdout);
	sr_ml_lr_release(&wa);
	sr_ml_lr_release(&ps.w);
	sr_pool_free(pool);
	free(xtr);
	free(ytr);
	free(xte);
	free(yte);
	return 0;
}


/* ---- joint prediction ---------------------------------------------------------- */

struct lr_predict {
	const struct sr_ml_lr *m;
	struct sr_ml_data d;
	struct sr_pipe pipe;
	struct sr_err err;
	int rc;
};

static void *lr_predict_main(void *arg)
{
	struct lr_predict *pp = arg;

	pp->rc = sr_ml_vlr_predict_passive(pp->m, &pp->d, &pp->pipe, &pp->err);
	return NULL;
}

/*
 * bench train_predict: 2^17 aligned rows of the 13 + 10 shape scored
 * jointly through the functions the predict kind calls, A and P as
 * threads over in-memory pipes: a 50-tree depth-6 SecureBoost model
 * (trained once on 4,000 rows, 2048-bit keys; training not timed) and
 * a vertical LR model (weights from sr_ml_lr_train on the same shape in
 * [-1, 1]); scores_equal_central compares with the pooled plaintext
 * model (sr_ml_gbdt_predict on sr_ml_sb_to_gbdt; sr_ml_vlr_predict_central).
 */
static int bench_predict(void)
{
	size_t n = (size_t)1 << 17, ntr = 4000, ca = 13, cp = 10;
	double *xtr = malloc(ntr * 23 * sizeof(double)), *ytr = malloc(ntr * sizeof(double));
	double *x = malloc(n * 23 * sizeof(double)), *y = malloc(n * sizeof(double));
	double *pf = malloc(n * sizeof(double)), *pc = malloc(n * sizeof(double)), t0, secs;
	struct sr_ml_sb_params p;
	struct sr_ml_sb_model m = { 0 };
	struct sr_ml_sb_stats st = { 0 };
	struct sb_passive ps = { 0 };
	struct sb_predict pp = { 0 };
	struct sr_ml_gbdt g = { 0 };
	struct sr_pool *pool = NULL;
	struct sr_err err = { 0 };
	struct sr_pipe to_passive = { &ends[0][1], q_send, q_recv };
	pthread_t th;
	int same = 1;

	if (!xtr || !ytr || !x || !y || !pf || !pc || sr_pool_new(2, &pool))
		return 1;
	ends[0][1] = (struct end){ 0, 1 };
	ends[1][0] = (struct end){ 1, 0 };
	gen_gbdt(ntr, 5, xtr, ytr);
	gen_gbdt(n, 6, x, y);
	sr_ml_sb_params_init(&p);
	p.gbdt.trees = 50;
	p.pool = pool;
	ps.p = &p;
	ps.train = (struct sr_ml_data){ ntr, cp, xtr + ca * ntr, NULL };
	ps.pipe = (struct sr_pipe){ &ends[1][0], q_send, q_recv };
	if (pthread_create(&th, NULL, sb_passive_main, &ps))
		return 1;
	{
		struct sr_ml_data da = { ntr, ca, xtr, ytr };
		if (sr_ml_sb_active(&p, &da, NULL, &to_passive, 1, &m, &st, &err)) {
			fprintf(stderr, "bench_train: predict: secureboost: %s\n", err.msg);
			return 1;
		}
	}
	pthread_join(th, NULL);
	if (ps.rc)
		return 1;
	pp.part = &ps.part;
	pp.d = (struct sr_ml_data){ n, cp, x + ca * n, NULL };
	pp.pipe = ps.pipe;
	t0 = now_s();
	if (pthread_create(&th, NULL, sb_predict_main, &pp))
		return 1;
	{
		struct sr_ml_data da = { n, ca, x, NULL };
		if (sr_ml_sb_predict_active(&m, &da, &to_passive, 1, pf, &err))
			return 1;
	}
	pthread_join(th, NULL);
	secs = now_s() - t0;
	if (pp.rc || sr_ml_sb_to_gbdt(&m, &ps.part, 1, &g, &err))
		return 1;
	{
		struct sr_ml_data dall = { n, 23, x, NULL };
		sr_ml_gbdt_predict(&g, &dall, pc);
	}
	for (size_t r = 0; r < n; r++)
		same &= pf[r] == pc[r];
	printf("bench train_predict model=secureboost rows=%zu features=%zu+%zu trees=%u depth=%u "
	       "threads=2 s_per_2^17_rows=%.3f splits_at_passive=%zu scores_equal_central=%s\n",
	       n, ca, cp, p.gbdt.trees, p.gbdt.depth, secs, ps.part.nsplits, same ? "yes" : "no");
	fflush(stdout);
	sr_ml_gbdt_release(&g);
	sr_ml_sb_model_release(&m);
	sr_ml_sb_part_release(&ps.part);
	/* Vertical LR: weights trained centrally on the same shape in [-1, 1]. */
	{
		struct sr_ml_lr_params lp;
		struct sr_ml_lr w = { 0 }, parts[2] = { { 0 } };
		struct lr_predict lpp = { 0 };
		struct sr_ml_data dtr = { ntr, 23, xtr, ytr }, dall = { n, 23, x, NULL };

		gen_vlr(ntr, 23, 31, xtr, ytr);
		gen_vlr(n, 23, 32, x, y);
		sr_ml_lr_params_init(&lp);
		lp.epochs = 3;
		lp.batch = 1024;
		lp.learning_rate = 0.25;
		if (sr_ml_lr_train(&lp, &dtr, NULL, &w, &err) || sr_ml_lr_init(&parts[0], ca, &err) ||
		    sr_ml_lr_init(&parts[1], cp, &err))
			return 1;
		parts[0].bias = w.bias;
		memcpy(parts[0].w, w.w, ca * sizeof(double));
		memcpy(parts[1].w, w.w + ca, cp * sizeof(double));
		lpp.m = &parts[1];
		lpp.d = (struct sr_ml_data){ n, cp, x + ca * n, NULL };
		lpp.pipe = ps.pipe;
		t0 = now_s();
		if (pthread_create(&th, NULL, lr_predict_main, &lpp))
			return 1;
		{
			struct sr_ml_data da = { n, ca, x, NULL };
			if (sr_ml_vlr_predict_active(&parts[0], &da, &to_passive, 1, pf, &err)) {
				fprintf(stderr, "bench_train: predict: lr: %s\n", err.msg);
				return 1;
			}
		}
		pthread_join(th, NULL);
		secs = now_s() - t0;
		if (lpp.rc || sr_ml_vlr_predict_central(parts, 2, &dall, pc, &err))
			return 1;
		same = 1;
		for (size_t r = 0; r < n; r++)
			same &= pf[r] == pc[r];
		printf("bench train_predict model=lr rows=%zu features=%zu+%zu threads=2 "
		       "s_per_2^17_rows=%.3f scores_equal_central=%s\n", n, ca, cp, secs,
		       same ? "yes" : "no");
		fflush(stdout);
		sr_ml_lr_release(&w);
		sr_ml_lr_release(&parts[0]);
		sr_ml_lr_release(&parts[1]);
	}
	sr_pool_free(pool);
	free(xtr);
	free(ytr);
	free(x);
	free(y);
	free(pf);
	free(pc);
	return same ? 0 : 1;
}

int main(int argc, char **argv)
{
	size_t per_party = 200000, hgbdt_per_party = 40000;
	unsigned sb_trees = 5;
	size_t vlr_batches = 1;
	int xgboost = 1, only_sb = 0, only_vlr = 0, only_predict = 0, only_horizontal = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows-per-party") == 0 && i + 1 < argc) {
			per_party = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--hgbdt-rows-per-party") == 0 && i + 1 < argc) {
			hgbdt_per_party = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--no-xgboost") == 0) {
			xgboost = 0;
		} else if (strcmp(argv[i], "--sb-trees") == 0 && i + 1 < argc) {
			sb_trees = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--only-secureboost") == 0) {
			only_sb = 1;
		} else if (strcmp(argv[i], "--only-predict") == 0) {
			only_predict = 1;
		} else if (strcmp(argv[i], "--only-horizontal") == 0) {
			only_horizontal = 1;
		} else if (strcmp(argv[i], "--only-vlr") == 0) {
			only_vlr = 1;
		} else if (strcmp(argv[i], "--vlr-batches") == 0 && i + 1 < argc) {
			vlr_batches = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: bench_train [--rows-per-party N] [--hgbdt-rows-per-party N] "
				"[--no-xgboost] [--sb-trees N] [--only-secureboost] [--only-vlr] [--only-predict] "
				"[--only-horizontal] [--vlr-batches N]\n");
			return 2;
		}
	}
	if (per_party < 10 || hgbdt_per_party < 10 || sb_trees < 1 || vlr_batches < 1 ||
	    vlr_batches > 6 || sr_crypto_init() != SR_OK)
		return 2;
	if (only_predict)
		return bench_predict();
	if (only_horizontal)
		return bench_horizontal(per_party);
	if (!only_sb && !only_vlr) {
		if (bench_predict())
			return 1;
		fflush(stdout);
		if (bench_horizontal(per_party))
			return 1;
		fflush(stdout);
		if (bench_hgbdt(hgbdt_per_party))
			return 1;
		fflush(stdout);
		if (bench_gbdt(xgboost))
			return 1;
	}
	if (!only_vlr && bench_secureboost(sb_trees, xgboost))
		return 1;
	if (only_sb)
		return 0;
	fflush(stdout);
	/* 30,000 x (13 + 10): 24,000 training rows, whole epochs, AUC on 6,000. */
	if (bench_vlr("train_vlr", 24000, 24000, 13, 10, 1024, 3, 6000, xgboost, 2, 3))
		return 1;
	/* 100,000 x (30 + 300): vlr_batches batches of 16,384 rows timed (the
	 * batch where Pippenger's buckets cost 2.5 multiplications a term),
	 * scaled to the 100,000-row epoch. */
	return bench_vlr("train_vlr_wide", vlr_batches * 16384, 100000, 30, 300, 16384, 1, 0, 0, 3, 4);
}
