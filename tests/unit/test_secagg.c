/*
 * test_secagg.c - secure aggregation (src/secagg) against the plain sum.
 *
 * Every party runs in its own thread; the parties are joined by a full
 * mesh of in-memory pipes whose queues hold one message at a time (a
 * protocol that could deadlock on small buffers hangs here).  A party's
 * pipes can tamper with its N-th message, or close after N messages (a
 * party that drops out); a tap records what a party sends the
 * aggregator, to check that it looks uniformly random.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "secagg/secagg.h"

#define MAXP 8

/* ---- in-memory mesh ----------------------------------------------------- */

struct qmsg {
	size_t len;
	uint8_t data[];
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qmsg *head;   /* at most one */
	int writer_closed, reader_closed;
};

enum tamper {
	T_NONE,
	T_HELLO_LENGTH,   /* hello: length field + 1 */
	T_HELLO_CHUNK,    /* hello: chunk field + 1 */
	T_HELLO_DIGEST,   /* hello: flip a bit of the run digest */
	T_DATA_COUNT,     /* data: count field + 1, same bytes */
	T_DATA_TRUNC,     /* data: drop the last entry */
	T_DATA_EXTEND,    /* data: one more entry */
	T_DATA_OFFSET,    /* data: offset + 1 */
	T_DATA_FROM,      /* data: claims another sender */
	T_CLOSE,          /* close every pipe instead of sending */
};

struct endpoint {
	struct queue *out, *in;
	struct party *owner;
};

struct party {
	struct sr_secagg_params params;
	struct sr_pipe pipes[MAXP];
	struct endpoint eps[MAXP];
	const uint64_t *input;
	uint64_t *sum;
	int run;             /* 0: the party never starts (missing) */
	size_t sent;         /* messages sent over all pipes */
	size_t tamper_at;
	enum tamper tamper;
	uint64_t *tap;       /* DATA payload words this party sent */
	size_t tap_len, tap_cap;
	struct sr_secagg_stats stats;
	struct sr_err err;
	int rc;
	pthread_t thread;
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
	free(q->head);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

static int queue_put(struct queue *q, const uint8_t *msg, size_t len,
		     struct sr_err *err)
{
	struct qmsg *m = malloc(sizeof(*m) + len + 1);
	int rc = SR_OK;

	assert_non_null(m);
	m->len = len;
	memcpy(m->data, msg, len);
	pthread_mutex_lock(&q->lock);
	while (q->head && !q->reader_closed && !q->writer_closed)
		pthread_cond_wait(&q->cond, &q->lock);
	if (q->reader_closed || q->writer_closed) {
		rc = sr_fail(err, SR_EIO, "connection closed by peer");
		free(m);
	} else {
		q->head = m;
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static int queue_get(struct queue *q, struct sr_buf *out, size_t max_len,
		     struct sr_err *err)
{
	struct qmsg *m;
	int rc = SR_OK;

	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->writer_closed && !q->reader_closed)
		pthread_cond_wait(&q->cond, &q->lock);
	m = q->head;
	q->head = NULL;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (!m)
		return sr_fail(err, SR_EPROTO, "connection closed by peer");
	if (m->len > max_len)
		rc = sr_fail(err, SR_ELIMIT, "message of %zu bytes, over the limit of %zu",
			     m->len, max_len);
	else {
		sr_buf_reset(out);
		if (sr_buf_add(out, m->data, m->len) != SR_OK)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	free(m);
	return rc;
}

static void endpoint_close(struct endpoint *ep)
{
	if (!ep->out)
		return;
	pthread_mutex_lock(&ep->out->lock);
	ep->out->writer_closed = 1;
	pthread_cond_broadcast(&ep->out->cond);
	pthread_mutex_unlock(&ep->out->lock);
	pthread_mutex_lock(&ep->in->lock);
	ep->in->reader_closed = 1;
	pthread_cond_broadcast(&ep->in->cond);
	pthread_mutex_unlock(&ep->in->lock);
}

static void party_close(struct party *p)
{
	for (uint32_t j = 0; j < p->params.parties; j++)
		endpoint_close(&p->eps[j]);
}

static void tap_add(struct party *p, const uint8_t *msg, size_t len)
{
	size_t n = (len - 24) / 8;

	if (p->tap_len + n > p->tap_cap) {
		p->tap_cap = (p->tap_len + n) * 2;
		p->tap = realloc(p->tap, p->tap_cap * sizeof(*p->tap));
		assert_non_null(p->tap);
	}
	for (size_t e = 0; e < n; e++)
		p->tap[p->tap_len++] = sr_load_u64le(msg + 24 + 8 * e);
}

static int ep_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct endpoint *ep = ctx;
	struct party *p = ep->owner;
	size_t index = p->sent++;
	uint8_t *copy;
	int rc;

	if (p->tap && len > 24 && msg[0] == 2)
		tap_add(p, msg, len);
	if (p->tamper == T_NONE || index != p->tamper_at)
		return queue_put(ep->out, msg, len, err);
	if (p->tamper == T_CLOSE) {
		party_close(p);
		return sr_fail(err, SR_EIO, "test: dropped out");
	}
	copy = malloc(len + 8);
	assert_non_null(copy);
	memcpy(copy, msg, len);
	memset(copy + len, 0, 8);
	switch (p->tamper) {
	case T_HELLO_LENGTH: sr_store_u64le(copy + 24, sr_load_u64le(copy + 24) + 1); break;
	case T_HELLO_CHUNK: sr_store_u32le(copy + 20, sr_load_u32le(copy + 20) + 1); break;
	case T_HELLO_DIGEST: copy[40] ^= 1; break;
	case T_DATA_COUNT: sr_store_u32le(copy + 16, sr_load_u32le(copy + 16) + 1); break;
	case T_DATA_TRUNC: len -= 8; break;
	case T_DATA_EXTEND: len += 8; break;
	case T_DATA_OFFSET: sr_store_u64le(copy + 8, sr_load_u64le(copy + 8) + 1); break;
	case T_DATA_FROM: sr_store_u32le(copy + 4, sr_load_u32le(copy + 4) ^ 1); break;
	default: break;
	}
	rc = queue_put(ep->out, copy, len, err);
	free(copy);
	return rc;
}

static int ep_recv(void *ctx, struct sr_buf *msg, size_t max_len,
		   struct sr_err *err)
{
	struct endpoint *ep = ctx;

	return queue_get(ep->in, msg, max_len, err);
}

/* ---- runs --------------------------------------------------------------- */

struct mesh {
	uint32_t n;
	struct queue *q[MAXP][MAXP];   /* q[i][j]: messages from i to j */
	struct party parties[MAXP];
};

static const uint8_t run_id[] = "test-run-1";

/* n parties with the same parameters; inputs and sums set by the caller. */
static void mesh_setup(struct mesh *m, uint32_t n, uint32_t aggregator,
		       uint64_t length, uint32_t chunk)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			if (i != j)
				m->q[i][j] = queue_new();
	for (uint32_t i = 0; i < n; i++) {
		struct party *p = &m->parties[i];

		sr_secagg_params_init(&p->params);
		p->params.run_id = run_id;
		p->params.run_id_len = sizeof(run_id) - 1;
		p->params.parties = n;
		p->params.self = i;
		p->params.aggregator = aggregator;
		p->params.length = length;
		p->params.chunk = chunk;
		p->run = 1;
		for (uint32_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			p->eps[j].out = m->q[i][j];
			p->eps[j].in = m->q[j][i];
			p->eps[j].owner = p;
			p->pipes[j].ctx = &p->eps[j];
			p->pipes[j].send = ep_send;
			p->pipes[j].recv = ep_recv;
		}
	}
}

static void mesh_free(struct mesh *m)
{
	for (uint32_t i = 0; i < m->n; i++) {
		free(m->parties[i].tap);
		for (uint32_t j = 0; j < m->n; j++)
			if (m->q[i][j])
				queue_free(m->q[i][j]);
	}
}

static void *party_main(void *arg)
{
	struct party *p = arg;

	sr_err_clear(&p->err);
	p->rc = sr_secagg_run(&p->params, p->pipes, p->input, p->sum, &p->stats,
			      &p->err);
	party_close(p);
	return NULL;
}

static void mesh_run(struct mesh *m)
{
	for (uint32_t i = 0; i < m->n; i++) {
		struct party *p = &m->parties[i];

		if (!p->run) {
			p->rc = SR_EIO;
			party_close(p);
			continue;
		}
		assert_int_equal(pthread_create(&p->thread, NULL, party_main, p), 0);
	}
	for (uint32_t i = 0; i < m->n; i++)
		if (m->parties[i].run)
			pthread_join(m->parties[i].thread, NULL);
}

static uint64_t *random_vector(uint64_t length, uint64_t *seed)
{
	uint64_t *v = malloc(length * sizeof(*v) + 8);

	assert_non_null(v);
	for (uint64_t e = 0; e < length; e++)
		v[e] = sr_test_rand(seed);
	return v;
}

/* One honest run; checks the sum against the plain sum. */
static void check_run(uint32_t n, uint32_t aggregator, uint64_t length,
		      uint32_t chunk, uint64_t seed)
{
	struct mesh m;
	uint64_t *in[MAXP], *sum = calloc(length + 1, sizeof(*sum));

	assert_non_null(sum);
	mesh_setup(&m, n, aggregator, length, chunk);
	for (uint32_t i = 0; i < n; i++) {
		in[i] = random_vector(length, &seed);
		m.parties[i].input = in[i];
	}
	m.parties[aggregator].sum = sum;
	mesh_run(&m);
	for (uint32_t i = 0; i < n; i++) {
		if (m.parties[i].rc != SR_OK)
			fail_msg("party %u of %u: %s", i, n, m.parties[i].err.msg);
	}
	for (uint64_t e = 0; e < length; e++) {
		uint64_t want = 0;

		for (uint32_t i = 0; i < n; i++)
			want += in[i][e];
		if (sum[e] != want)
			fail_msg("n=%u length=%llu: entry %llu is %llu, expected %llu", n,
				 (unsigned long long)length, (unsigned long long)e,
				 (unsigned long long)sum[e], (unsigned long long)want);
	}
	/* every contributor sent its whole vector and nothing else to speak of */
	for (uint32_t i = 0; i < n; i++) {
		if (i == aggregator)
			continue;
		assert_true(m.parties[i].stats.bytes_sent >= length * 8);
		assert_true(m.parties[i].stats.bytes_sent <
			    length * 8 + (length / (chunk ? chunk : SR_SECAGG_CHUNK_DEFAULT) + 1) * 24 + n * 96 + 8);
	}
	for (uint32_t i = 0; i < n; i++)
		free(in[i]);
	free(sum);
	mesh_free(&m);
}

/* ---- tests -------------------------------------------------------------- */

static void test_sum(void **state)
{
	uint64_t lengths[] = { 1, 7, 1000, 4099 };

	(void)state;
	for (uint32_t n = 2; n <= MAXP; n++)
		for (size_t k = 0; k < 4; k++)
			check_run(n, (uint32_t)(k + n) % n, lengths[k], 1000, n * 100 + k);
	/* the default chunk, a length just past it, unaligned pieces */
	check_run(3, 1, SR_SECAGG_CHUNK_DEFAULT + 3, 0, 42);
	check_run(4, 3, 100003, 777, 43);
}

/* The aggregator may sum into its own input. */
static void test_sum_in_place(void **state)
{
	struct mesh m;
	uint64_t seed = 7, *in[3], want[500];

	(void)state;
	mesh_setup(&m, 3, 0, 500, 64);
	for (uint32_t i = 0; i < 3; i++) {
		in[i] = random_vector(500, &seed);
		m.parties[i].input = in[i];
	}
	for (int e = 0; e < 500; e++)
		want[e] = in[0][e] + in[1][e] + in[2][e];
	m.parties[0].sum = in[0];
	mesh_run(&m);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(m.parties[i].rc, SR_OK);
	assert_memory_equal(in[0], want, sizeof(want));
	for (uint32_t i = 0; i < 3; i++)
		free(in[i]);
	mesh_free(&m);
}

static void test_params(void **state)
{
	struct sr_secagg_params p;
	struct sr_pipe pipes[2];
	uint64_t v[4] = { 0 };
	struct sr_err err;

	(void)state;
	memset(pipes, 0, sizeof(pipes));
#define BAD(stmt, text)                                                      \
	do {                                                                 \
		sr_secagg_params_init(&p);                                   \
		p.run_id = run_id;                                           \
		p.run_id_len = sizeof(run_id) - 1;                           \
		p.parties = 2;                                               \
		p.length = 4;                                                \
		stmt;                                                        \
		sr_err_clear(&err);                                          \
		assert_int_equal(sr_secagg_run(&p, pipes, v, v, NULL, &err), \
				 SR_EINVAL);                                 \
		if (!strstr(err.msg, text))                                  \
			fail_msg("expected '%s' in '%s'", text, err.msg);    \
	} while (0)
	BAD(p.run_id = NULL, "run id");
	BAD(p.run_id_len = SR_SECAGG_RUN_ID_MAX + 1, "run id");
	BAD(p.parties = 1, "parties");
	BAD(p.parties = SR_SECAGG_PARTIES_MAX + 1, "parties");
	BAD(p.self = 2, "self");
	BAD(p.aggregator = 5, "aggregator");
	BAD(p.length = 0, "length");
	BAD(p.length = SR_SECAGG_LENGTH_MAX + 1, "length");
	BAD(p.chunk = SR_SECAGG_CHUNK_MAX + 1, "chunk");
	sr_secagg_params_init(&p);
	p.run_id = run_id;
	p.run_id_len = 3;
	p.parties = 2;
	p.length = 4;
	sr_err_clear(&err);
	assert_int_equal(sr_secagg_run(&p, pipes, v, NULL, NULL, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "output"));
	assert_int_equal(sr_secagg_run(&p, NULL, v, v, NULL, NULL), SR_EINVAL);
	assert_int_equal(sr_secagg_run(&p, pipes, NULL, v, NULL, NULL), SR_EINVAL);
#undef BAD
}

/* The masks, without the protocol: they cancel, they depend only on the
 * position, and a degenerate key is refused. */
static void test_masker(void **state)
{
	enum { N = 5, L = 10007 };
	uint8_t pks[N][SR_SECAGG_KEY_BYTES], sks[N][SR_SECAGG_KEY_BYTES];
	struct sr_secagg_masker *mk[N];
	struct sr_secagg_params p;
	uint64_t *v[N], *pieces, total[L], seed = 99;
	struct sr_err err;

	(void)state;
	sr_secagg_params_init(&p);
	p.run_id = run_id;
	p.run_id_len = sizeof(run_id) - 1;
	p.parties = N;
	p.length = L;
	for (int i = 0; i < N; i++)
		sr_secagg_keypair(pks[i], sks[i]);
	memset(total, 0, sizeof(total));
	for (int i = 0; i < N; i++) {
		p.self = (uint32_t)i;
		assert_int_equal(sr_secagg_masker_new(&p, sks[i],
						      (const uint8_t (*)[SR_SECAGG_KEY_BYTES])pks,
						      &mk[i], NULL), SR_OK);
		v[i] = random_vector(L, &seed);
		for (int e = 0; e < L; e++)
			total[e] += v[i][e];
	}
	/* party 0 masks in odd pieces, out of order: same as all at once */
	pieces = malloc(L * sizeof(*pieces));
	assert_non_null(pieces);
	memcpy(pieces, v[0], L * sizeof(*pieces));
	assert_int_equal(sr_secagg_masker_apply(mk[0], 5000, pieces + 5000, L - 5000, NULL), SR_OK);
	assert_int_equal(sr_secagg_masker_apply(mk[0], 0, pieces, 3, NULL), SR_OK);
	assert_int_equal(sr_secagg_masker_apply(mk[0], 3, pieces + 3, 4997, NULL), SR_OK);
	for (int i = 0; i < N; i++) {
		assert_int_equal(sr_secagg_masker_apply(mk[i], 0, v[i], L, NULL), SR_OK);
	}
	assert_memory_equal(pieces, v[0], L * sizeof(*pieces));
	for (int e = 0; e < L; e++) {
		uint64_t s = 0;

		for (int i = 0; i < N; i++)
			s += v[i][e];
		assert_true(s == total[e]);
	}
	sr_err_clear(&err);
	assert_int_equal(sr_secagg_masker_apply(mk[1], L - 2, v[1], 3, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "past the length"));
	for (int i = 0; i < N; i++) {
		sr_secagg_masker_free(mk[i]);
		free(v[i]);
	}
	free(pieces);
	/* a low-order public key (here: zero) makes X25519 give zero */
	memset(pks[2], 0, SR_SECAGG_KEY_BYTES);
	p.self = 0;
	sr_err_clear(&err);
	assert_int_equal(sr_secagg_masker_new(&p, sks[0],
					      (const uint8_t (*)[SR_SECAGG_KEY_BYTES])pks,
					      &mk[0], &err), SR_ECRYPTO);
	assert_non_null(strstr(err.msg, "party 2"));
	assert_null(mk[0]);
	sr_secagg_masker_free(NULL);
	for (int i = 0; i < N; i++)
		sodium_memzero(sks[i], sizeof(sks[i]));
}

/* P[chi2 with df degrees of freedom > x] (series / continued fraction). */
static double chi2_p(double df, double x)
{
	double a = df / 2, xx = x / 2, gln = lgamma(a);

	if (xx < a + 1) {
		double ap = a, sum = 1 / a, del = sum;

		for (int n = 0; n < 10000 && fabs(del) > fabs(sum) * 1e-15; n++) {
			ap += 1;
			del *= xx / ap;
			sum += del;
		}
		return 1 - sum * exp(-xx + a * log(xx) - gln);
	} else {
		double b = xx + 1 - a, c = 1e300, d = 1 / b, h = d;

		for (int i = 1; i < 10000; i++) {
			double an = -i * (i - a), del;

			b += 2;
			d = an * d + b;
			if (fabs(d) < 1e-300)
				d = 1e-300;
			c = b + an / c;
			if (fabs(c) < 1e-300)
				c = 1e-300;
			d = 1 / d;
			del = d * c;
			h *= del;
			if (fabs(del - 1) < 1e-15)
				break;
		}
		return exp(-xx + a * log(xx) - gln) * h;
	}
}

/*
 * A party's masked vector, as the aggregator sees it, is uniform even for
 * an all-zero input: every bit is 1 half of the time and the top, bottom
 * and a middle byte pass a chi-square test (alpha = 10^-6).
 */
static void test_uniform(void **state)
{
	const uint64_t length = 1u << 18;
	uint32_t sizes[] = { 2, 3 };

	(void)state;
	for (size_t s = 0; s < 2; s++) {
		struct mesh m;
		uint64_t *zero = calloc(length, sizeof(uint64_t));
		uint64_t *sum = calloc(length, sizeof(uint64_t));
		struct party *tapped;
		double worst_z = 0, p_byte[3];
		uint64_t ones[64] = { 0 };

		assert_non_null(zero);
		assert_non_null(sum);
		mesh_setup(&m, sizes[s], 0, length, 0);
		for (uint32_t i = 0; i < sizes[s]; i++)
			m.parties[i].input = zero;
		m.parties[0].sum = sum;
		tapped = &m.parties[1];
		tapped->tap_cap = length;
		tapped->tap = malloc(length * sizeof(uint64_t));
		assert_non_null(tapped->tap);
		mesh_run(&m);
		for (uint32_t i = 0; i < sizes[s]; i++)
			assert_int_equal(m.parties[i].rc, SR_OK);
		for (uint64_t e = 0; e < length; e++)
			assert_true(sum[e] == 0);
		assert_int_equal(tapped->tap_len, length);
		for (uint64_t e = 0; e < length; e++)
			for (int b = 0; b < 64; b++)
				ones[b] += (tapped->tap[e] >> b) & 1;
		for (int b = 0; b < 64; b++) {
			double z = fabs((double)ones[b] - length / 2.0) / sqrt(length / 4.0);

			if (z > worst_z)
				worst_z = z;
		}
		for (int k = 0; k < 3; k++) {
			uint64_t hist[256] = { 0 };
			int shift = k == 0 ? 0 : k == 1 ? 28 : 56;
			double chi2 = 0, expect = length / 256.0;

			for (uint64_t e = 0; e < length; e++)
				hist[(tapped->tap[e] >> shift) & 0xff]++;
			for (int c = 0; c < 256; c++)
				chi2 += (hist[c] - expect) * (hist[c] - expect) / expect;
			p_byte[k] = chi2_p(255, chi2);
		}
		printf("uniform n=%u entries=%llu: worst bit z=%.2f (|z| < 5.3 is p > 10^-6 per bit over 64), byte chi2 p low=%.4g mid=%.4g top=%.4g\n",
		       sizes[s], (unsigned long long)length, worst_z, p_byte[0],
		       p_byte[1], p_byte[2]);
		assert_true(worst_z < 5.9);   /* 64 bits: 1e-6 overall */
		for (int k = 0; k < 3; k++)
			assert_true(p_byte[k] > 1e-6);
		free(zero);
		free(sum);
		mesh_free(&m);
	}
}

/* A party that never comes fails the run everywhere, and nothing is output. */
static void test_missing_party(void **state)
{
	struct mesh m;
	uint64_t seed = 5, *in[4], sum[300];

	(void)state;
	mesh_setup(&m, 4, 0, 300, 100);
	for (uint32_t i = 0; i < 4; i++) {
		in[i] = random_vector(300, &seed);
		m.parties[i].input = in[i];
	}
	memset(sum, 0xaa, sizeof(sum));
	m.parties[0].sum = sum;
	m.parties[2].run = 0;
	mesh_run(&m);
	for (uint32_t i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		assert_int_not_equal(m.parties[i].rc, SR_OK);
		printf("missing party 2: party %u failed: %s\n", i, m.parties[i].err.msg);
	}
	for (int e = 0; e < 300; e++)
		assert_true(sum[e] == 0);
	for (uint32_t i = 0; i < 4; i++)
		free(in[i]);
	mesh_free(&m);
}

/*
 * A party that drops out after its hellos and two chunks: the aggregator
 * has finished two chunks' sums by then, and must zero them.
 */
static void test_dropout(void **state)
{
	struct mesh m;
	uint64_t seed = 6, *in[3], sum[1000];

	(void)state;
	mesh_setup(&m, 3, 0, 1000, 100);
	for (uint32_t i = 0; i < 3; i++) {
		in[i] = random_vector(1000, &seed);
		m.parties[i].input = in[i];
	}
	m.parties[0].sum = sum;
	m.parties[2].tamper = T_CLOSE;
	m.parties[2].tamper_at = 2 + 2;   /* 2 hellos, 2 data */
	mesh_run(&m);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_not_equal(m.parties[i].rc, SR_OK);
		printf("dropout of party 2 after 2 chunks: party %u failed: %s\n", i,
		       m.parties[i].err.msg);
	}
	assert_true(m.parties[0].stats.messages_received >= 2 + 2 + 2);
	for (int e = 0; e < 1000; e++)
		assert_true(sum[e] == 0);
	for (uint32_t i = 0; i < 3; i++)
		free(in[i]);
	mesh_free(&m);
}

/* Tampered or mismatched messages are refused with the field named. */
static void test_tamper(void **state)
{
	struct {
		enum tamper t;
		uint32_t who;
		size_t at;
		const char *victim_msg;
		uint32_t victim;
	} cases[] = {
		/* party 1's hellos go to 0 then 2; party 2's first goes to 0 */
		{ T_HELLO_LENGTH, 1, 0, "hello has length 401, this party has 400", 0 },
		{ T_HELLO_CHUNK, 2, 0, "hello has chunk 101, this party has 100", 0 },
		{ T_HELLO_DIGEST, 1, 1, "another run", 2 },
		{ T_DATA_COUNT, 1, 2, "entries 0+101, expected entries 0+100", 0 },
		{ T_DATA_TRUNC, 2, 3, "data message is 816 bytes, expected 824", 0 },
		{ T_DATA_EXTEND, 1, 3, "over the limit", 0 },
		{ T_DATA_OFFSET, 1, 4, "expected entries 200+100", 0 },
		{ T_DATA_FROM, 2, 2, "data message for party 3", 0 },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct mesh m;
		uint64_t seed = 11, *in[3], sum[400];

		mesh_setup(&m, 3, 0, 400, 100);
		for (uint32_t i = 0; i < 3; i++) {
			in[i] = random_vector(400, &seed);
			m.parties[i].input = in[i];
		}
		m.parties[0].sum = sum;
		m.parties[cases[c].who].tamper = cases[c].t;
		m.parties[cases[c].who].tamper_at = cases[c].at;
		mesh_run(&m);
		for (uint32_t i = 0; i < 3; i++)
			assert_int_not_equal(m.parties[i].rc, SR_OK);
		printf("tamper %zu: party %u says: %s\n", c, cases[c].victim,
		       m.parties[cases[c].victim].err.msg);
		if (!strstr(m.parties[cases[c].victim].err.msg, cases[c].victim_msg))
			fail_msg("case %zu: expected '%s' in '%s'", c, cases[c].victim_msg,
				 m.parties[cases[c].victim].err.msg);
		for (int e = 0; e < 400; e++)
			assert_true(sum[e] == 0);
		for (uint32_t i = 0; i < 3; i++)
			free(in[i]);
		mesh_free(&m);
	}
}

/* Parties configured differently never sum. */
static void test_mismatch(void **state)
{
	struct mesh m;
	uint64_t seed = 12, *in[3], sum[64];
	static const uint8_t other[] = "test-run-2";

	(void)state;
	mesh_setup(&m, 3, 0, 64, 0);
	for (uint32_t i = 0; i < 3; i++) {
		in[i] = random_vector(64, &seed);
		m.parties[i].input = in[i];
	}
	m.parties[0].sum = sum;
	m.parties[2].params.run_id = other;
	mesh_run(&m);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_not_equal(m.parties[i].rc, SR_OK);
	/* whoever meets the odd one first refuses; the others see it close */
	assert_true(strstr(m.parties[0].err.msg, "another run") ||
		    strstr(m.parties[1].err.msg, "another run") ||
		    strstr(m.parties[2].err.msg, "another run"));
	mesh_free(&m);

	mesh_setup(&m, 3, 0, 64, 0);
	for (uint32_t i = 0; i < 3; i++)
		m.parties[i].input = in[i];
	m.parties[0].sum = sum;
	m.parties[1].params.aggregator = 1;
	m.parties[1].sum = sum;
	mesh_run(&m);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_not_equal(m.parties[i].rc, SR_OK);
	assert_true(strstr(m.parties[0].err.msg, "hello has aggregator") ||
		    strstr(m.parties[1].err.msg, "hello has aggregator") ||
		    strstr(m.parties[2].err.msg, "hello has aggregator"));
	for (uint32_t i = 0; i < 3; i++)
		free(in[i]);
	mesh_free(&m);
}

/* Every allocation failing in turn: the run fails cleanly (ASan checks
 * for leaks), never half-succeeds, and the output is zero. */
static void test_alloc_failures(void **state)
{
	unsigned long n, fired = 0;

	(void)state;
	for (n = 1; n < 200; n++) {
		struct mesh m;
		uint64_t seed = 21, *in[3], sum[50];
		int ok = 0;

		mesh_setup(&m, 3, 1, 50, 16);
		for (uint32_t i = 0; i < 3; i++) {
			in[i] = random_vector(50, &seed);
			m.parties[i].input = in[i];
		}
		m.parties[1].sum = sum;
		sr_alloc_fail_at(n, 0);
		mesh_run(&m);
		if (!sr_alloc_failed()) {
			sr_alloc_fail_at(0, 0);
			for (uint32_t i = 0; i < 3; i++)
				assert_int_equal(m.parties[i].rc, SR_OK);
			for (int e = 0; e < 50; e++)
				assert_true(sum[e] == in[0][e] + in[1][e] + in[2][e]);
			ok = 1;
		}
		sr_alloc_fail_at(0, 0);
		if (!ok) {
			fired++;
			assert_int_not_equal(m.parties[1].rc, SR_OK);
			for (int e = 0; e < 50; e++)
				assert_true(sum[e] == 0);
		}
		for (uint32_t i = 0; i < 3; i++)
			free(in[i]);
		mesh_free(&m);
		if (ok)
			break;
	}
	printf("alloc failures: %lu injected, each failed the run cleanly\n", fired);
	assert_true(fired > 5);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Mask generation speed, and a whole run in memory.  A measurement:
 * printed, not asserted. */
static void test_throughput(void **state)
{
	enum { N = 8 };
	const uint64_t length = 1u << 22;   /* 32 MiB per vector */
	uint8_t pks[N][SR_SECAGG_KEY_BYTES], sks[N][SR_SECAGG_KEY_BYTES];
	struct sr_secagg_masker *mk;
	struct sr_secagg_params p;
	uint64_t *v = calloc(length, sizeof(uint64_t));
	double t0, dt, mb = length * 8 / 1e6;

	(void)state;
	assert_non_null(v);
	sr_secagg_params_init(&p);
	p.run_id = run_id;
	p.run_id_len = sizeof(run_id) - 1;
	p.parties = N;
	p.length = length;
	for (int i = 0; i < N; i++)
		sr_secagg_keypair(pks[i], sks[i]);
	assert_int_equal(sr_secagg_masker_new(&p, sks[0],
					      (const uint8_t (*)[SR_SECAGG_KEY_BYTES])pks,
					      &mk, NULL), SR_OK);
	t0 = now_s();
	assert_int_equal(sr_secagg_masker_apply(mk, 0, v, length, NULL), SR_OK);
	dt = now_s() - t0;
	printf("secagg mask parties=%d entries=%llu vector_mb=%.1f seconds=%.3f vector_mb_s=%.0f stream_mb_s=%.0f\n",
	       N, (unsigned long long)length, mb, dt, mb / dt, mb * (N - 1) / dt);
	sr_secagg_masker_free(mk);
	free(v);
	for (int i = 0; i < N; i++)
		sodium_memzero(sks[i], sizeof(sks[i]));

	/* 3 parties through the in-memory mesh */
	{
		struct mesh m;
		uint64_t seed = 1, *in[3], *sum = malloc(length * sizeof(uint64_t));

		assert_non_null(sum);
		mesh_setup(&m, 3, 0, length, 0);
		for (uint32_t i = 0; i < 3; i++) {
			in[i] = random_vector(length, &seed);
			m.parties[i].input = in[i];
		}
		m.parties[0].sum = sum;
		t0 = now_s();
		mesh_run(&m);
		dt = now_s() - t0;
		for (uint32_t i = 0; i < 3; i++)
			assert_int_equal(m.parties[i].rc, SR_OK);
		for (uint64_t e = 0; e < length; e += 4093)
			assert_true(sum[e] == in[0][e] + in[1][e] + in[2][e]);
		printf("secagg run parties=3 entries=%llu seconds=%.3f vector_mb_s=%.0f aggregator_mask_s=%.3f contributor_mask_s=%.3f bytes_sent_contributor=%llu\n",
		       (unsigned long long)length, dt, mb / dt,
		       m.parties[0].stats.mask_ns / 1e9, m.parties[1].stats.mask_ns / 1e9,
		       (unsigned long long)m.parties[1].stats.bytes_sent);
		for (uint32_t i = 0; i < 3; i++)
			free(in[i]);
		free(sum);
		mesh_free(&m);
	}
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_masker),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_sum_in_place),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_missing_party),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_throughput),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
