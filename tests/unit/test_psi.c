/*
 * test_psi.c - PSI (src/psi) against the plain set intersection.
 *
 * Both (or all) parties run in one process, each in its own thread,
 * joined by an in-memory transport whose queues hold one message at a
 * time (so a protocol that would deadlock on small socket buffers hangs
 * here too).  A wrapper on the transport tampers with the N-th message a
 * party sends, to check that every malformed message is rejected with an
 * error and no output.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/pool.h"
#include "crypto/crypto.h"
#include "psi/psi.h"

static struct sr_pool *pool;

/* ---- in-memory transport ------------------------------------------------- */

struct qmsg {
	struct qmsg *next;
	size_t len;
	uint8_t data[];
};

/* One direction.  Holds at most one message. */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qmsg *head;
	int writer_closed;
	int reader_closed;
};

enum tamper_kind {
	T_NONE,
	T_TRUNCATE,       /* drop the last byte */
	T_EXTEND,         /* append a byte */
	T_FLIP,           /* xor byte `offset` with 0x40 */
	T_BAD_POINT,      /* first point := non-canonical encoding */
	T_IDENTITY,       /* first point := identity */
	T_COUNT_UP,       /* header count + 1, length unchanged */
	T_EOF,            /* close instead of sending */
	T_POS_RANGE,      /* first position := 0xffffffff */
	T_POS_REPEAT,     /* second position := first */
	T_BIG_COUNT,      /* COUNT message: count := 2^40 */
	T_OVERSIZE,       /* send a 4 MiB message instead */
};

struct endpoint {
	struct queue *out;
	struct queue *in;
	size_t sent;          /* messages sent so far */
	size_t tamper_at;     /* index of the message to tamper with */
	enum tamper_kind tamper;
	size_t offset;
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

static int queue_put(struct queue *q, const uint8_t *msg, size_t len,
		     struct sr_err *err)
{
	struct qmsg *m = malloc(sizeof(*m) + len + 1);
	int rc = SR_OK;

	if (!m)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	m->next = NULL;
	m->len = len;
	if (len)
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
	if (m) {
		q->head = m->next;
		pthread_cond_broadcast(&q->cond);
	}
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
	pthread_mutex_lock(&ep->out->lock);
	ep->out->writer_closed = 1;
	pthread_cond_broadcast(&ep->out->cond);
	pthread_mutex_unlock(&ep->out->lock);
	pthread_mutex_lock(&ep->in->lock);
	ep->in->reader_closed = 1;
	pthread_cond_broadcast(&ep->in->cond);
	pthread_mutex_unlock(&ep->in->lock);
}

static int ep_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct endpoint *ep = ctx;
	size_t index = ep->sent++;
	uint8_t *copy;
	int rc;

	if (ep->tamper == T_NONE || index != ep->tamper_at)
		return queue_put(ep->out, msg, len, err);
	if (ep->tamper == T_EOF) {
		endpoint_close(ep);
		return sr_fail(err, SR_EIO, "test: closed early");
	}
	if (ep->tamper == T_OVERSIZE) {
		copy = calloc(1, 4u << 20);
		assert_non_null(copy);
		copy[0] = msg[0];
		rc = queue_put(ep->out, copy, 4u << 20, err);
		free(copy);
		return rc;
	}
	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, msg, len);
	switch (ep->tamper) {
	case T_TRUNCATE: len--; break;
	case T_EXTEND: copy[len++] = 0; break;
	case T_FLIP: copy[ep->offset] ^= 0x40; break;
	case T_BAD_POINT: memset(copy + 8, 0xff, 32); break;
	case T_IDENTITY: memset(copy + 8, 0, 32); break;
	case T_COUNT_UP: copy[4]++; break;
	case T_POS_RANGE: memset(copy + 8, 0xff, 4); break;
	case T_POS_REPEAT: memcpy(copy + 12, copy + 8, 4); break;
	case T_BIG_COUNT: copy[8 + 5] = 1; break;
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

/* A connected pair of endpoints. */
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

static void link_close(struct link *l)
{
	queue_free(l->ab);
	queue_free(l->ba);
}

static struct sr_pipe io_of(struct endpoint *ep)
{
	struct sr_pipe io = { ep, ep_send, ep_recv };
	return io;
}

/* ---- parties in threads ------------------------------------------------- */

struct party {
	enum sr_psi_role role;
	struct sr_psi_params params;
	struct sr_psi_key *keys;
	size_t nkeys;
	struct endpoint **eps;    /* 1, or one per helper for a multi receiver */
	size_t neps;
	int multi;
	struct sr_psi_result res;
	struct sr_err err;
	int rc;
	pthread_t thread;
};

static void *party_main(void *arg)
{
	struct party *p = arg;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_pipe ios[16];

	sr_psi_source_array(&src, &arr, p->keys, p->nkeys);
	sr_err_clear(&p->err);
	for (size_t i = 0; i < p->neps; i++)
		ios[i] = io_of(p->eps[i]);
	if (p->multi)
		p->rc = sr_psi_run_multi(&p->params, &src, ios, p->neps,
					 &p->res, &p->err);
	else
		p->rc = sr_psi_run(p->role, &p->params, &src, &ios[0], &p->res,
				   &p->err);
	for (size_t i = 0; i < p->neps; i++)
		endpoint_close(p->eps[i]);
	return NULL;
}

static const uint8_t session[] = "test-session-1";

/* The protocol of the group being run: every test runs once with ECDH
 * and once with AUTO, which runs KKRT where it applies (two-party
 * intersection) and ECDH elsewhere. */
static enum sr_psi_protocol group_protocol = SR_PSI_PROTO_ECDH;

static void params_default(struct sr_psi_params *p)
{
	sr_psi_params_init(p);
	p->session_id = session;
	p->session_id_len = sizeof(session) - 1;
	p->pool = pool;
	p->protocol = group_protocol;
}

/* The comparison length the run must have used. */
static unsigned expected_tag_bytes(const struct sr_psi_stats *st, uint64_t nr,
				   uint64_t ns)
{
	return st->protocol == SR_PSI_PROTO_KKRT ? sr_psi_kkrt_tag_bytes(nr, ns) :
		sr_psi_tag_bytes(nr, ns);
}

/* Keys as C strings; rows are the indices. */
static struct sr_psi_key *keys_of(char **strs, size_t n)
{
	struct sr_psi_key *keys = calloc(n ? n : 1, sizeof(*keys));

	assert_non_null(keys);
	for (size_t i = 0; i < n; i++) {
		keys[i].data = strs[i];
		keys[i].len = strlen(strs[i]);
		keys[i].row = i;
	}
	return keys;
}

struct run {
	struct link link;
	struct endpoint *reps[1], *seps[1];
	struct party r, s;
	struct sr_psi_key *rkeys, *skeys;
};

/* Receiver (r) and sender (s) ready to start; tamper with run->link
 * before run_start if needed. */
static void run_setup(struct run *run, char **rstr, size_t nr, char **sstr,
		      size_t ns, const struct sr_psi_params *rp,
		      const struct sr_psi_params *sp)
{
	memset(run, 0, sizeof(*run));
	link_open(&run->link);
	run->reps[0] = &run->link.a;
	run->seps[0] = &run->link.b;
	run->rkeys = keys_of(rstr, nr);
	run->skeys = keys_of(sstr, ns);
	run->r.role = SR_PSI_RECEIVER;
	run->r.params = *rp;
	run->r.keys = run->rkeys;
	run->r.nkeys = nr;
	run->r.eps = run->reps;
	run->r.neps = 1;
	run->s.role = SR_PSI_SENDER;
	run->s.params = *sp;
	run->s.keys = run->skeys;
	run->s.nkeys = ns;
	run->s.eps = run->seps;
	run->s.neps = 1;
}

/* Run both parties to completion. */
static void run_start(struct run *run)
{
	assert_int_equal(pthread_create(&run->r.thread, NULL, party_main, &run->r), 0);
	assert_int_equal(pthread_create(&run->s.thread, NULL, party_main, &run->s), 0);
	pthread_join(run->r.thread, NULL);
	pthread_join(run->s.thread, NULL);
}

static void run_pair(struct run *run, char **rstr, size_t nr, char **sstr,
		     size_t ns, const struct sr_psi_params *rp,
		     const struct sr_psi_params *sp)
{
	run_setup(run, rstr, nr, sstr, ns, rp, sp);
	run_start(run);
}

static void run_free(struct run *run)
{
	sr_psi_result_release(&run->r.res);
	sr_psi_result_release(&run->s.res);
	free(run->rkeys);
	free(run->skeys);
	link_close(&run->link);
}

/* ---- key sets ------------------------------------------------------------ */

struct keyset {
	char **keys;
	size_t n;
};

static void keyset_free(struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->keys[i]);
	free(ks->keys);
}

static char *key_str(const char *prefix, uint64_t v)
{
	char *s = malloc(40);

	assert_non_null(s);
	snprintf(s, 40, "%s%016llx", prefix, (unsigned long long)v);
	return s;
}

/* Shuffle with the deterministic test generator. */
static void shuffle_strs(char **a, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(sr_test_rand(seed) % i);
		char *t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Two random sets of nr and ns distinct keys sharing `common`. */
static void make_sets(size_t nr, size_t ns, size_t common, uint64_t seed,
		      struct keyset *r, struct keyset *s)
{
	uint64_t st = seed;

	r->n = nr;
	s->n = ns;
	r->keys = calloc(nr ? nr : 1, sizeof(char *));
	s->keys = calloc(ns ? ns : 1, sizeof(char *));
	assert_non_null(r->keys);
	assert_non_null(s->keys);
	for (size_t i = 0; i < common; i++) {
		uint64_t v = sr_test_rand(&st);
		r->keys[i] = key_str("c", v);
		s->keys[i] = key_str("c", v);
	}
	for (size_t i = common; i < nr; i++)
		r->keys[i] = key_str("r", sr_test_rand(&st));
	for (size_t i = common; i < ns; i++)
		s->keys[i] = key_str("s", sr_test_rand(&st));
	shuffle_strs(r->keys, nr, &st);
	shuffle_strs(s->keys, ns, &st);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The plain intersection of two key lists (as sets), sorted. */
static char **plain_intersection(char **a, size_t na, char **b, size_t nb,
				 size_t *count)
{
	char **sa = malloc((na + 1) * sizeof(char *));
	char **sb = malloc((nb + 1) * sizeof(char *));
	char **out = malloc((na + 1) * sizeof(char *));
	size_t i = 0, j = 0, k = 0;

	assert_non_null(sa);
	assert_non_null(sb);
	assert_non_null(out);
	memcpy(sa, a, na * sizeof(char *));
	memcpy(sb, b, nb * sizeof(char *));
	qsort(sa, na, sizeof(char *), cmp_str);
	qsort(sb, nb, sizeof(char *), cmp_str);
	while (i < na && j < nb) {
		int c = strcmp(sa[i], sb[j]);
		if (c == 0) {
			if (k == 0 || strcmp(out[k - 1], sa[i]) != 0)
				out[k++] = sa[i];
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	free(sa);
	free(sb);
	*count = k;
	return out;
}

/* rows (into keys) name exactly the sorted set `expect`, each once. */
static void check_rows_are(const uint64_t *rows, size_t n, char **keys,
			   size_t nkeys, char **expect, size_t nexpect)
{
	char **got = malloc((n + 1) * sizeof(char *));

	assert_non_null(got);
	assert_int_equal(n, nexpect);
	for (size_t i = 0; i < n; i++) {
		assert_true(rows[i] < nkeys);
		got[i] = keys[rows[i]];
	}
	qsort(got, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], expect[i]);
	free(got);
}

/* Run a two-party intersection with output to both and check it against
 * the plain answer, including the alignment of the two row lists. */
static void check_two_party(size_t nr, size_t ns, size_t common,
			    uint32_t batch, uint64_t seed)
{
	struct keyset r, s;
	struct sr_psi_params p;
	struct run run;
	char **expect;
	size_t nexpect;

	make_sets(nr, ns, common, seed, &r, &s);
	params_default(&p);
	p.output = SR_PSI_TO_BOTH;
	p.batch = batch;
	run_pair(&run, r.keys, r.n, s.keys, s.n, &p, &p);
	if (run.r.rc)
		fail_msg("receiver: %s", run.r.err.msg);
	if (run.s.rc)
		fail_msg("sender: %s", run.s.err.msg);
	expect = plain_intersection(r.keys, r.n, s.keys, s.n, &nexpect);
	assert_int_equal(nexpect, common);
	check_rows_are(run.r.res.rows, run.r.res.rows_len, r.keys, r.n, expect, nexpect);
	check_rows_are(run.s.res.rows, run.s.res.rows_len, s.keys, s.n, expect, nexpect);
	for (size_t i = 0; i < nexpect; i++)
		assert_string_equal(r.keys[run.r.res.rows[i]],
				    s.keys[run.s.res.rows[i]]);
	assert_true(run.r.res.has_size);
	assert_true(run.s.res.has_size);
	assert_int_equal(run.r.res.stats.intersection_size, common);
	assert_int_equal(run.s.res.stats.intersection_size, common);
	assert_int_equal(run.r.res.stats.set_size, nr);
	assert_int_equal(run.r.res.stats.peer_set_size, ns);
	assert_int_equal(run.s.res.stats.peer_set_size, nr);
	assert_int_equal(run.r.res.stats.protocol, sr_psi_protocol_of(&p));
	assert_int_equal(run.s.res.stats.protocol, sr_psi_protocol_of(&p));
	assert_int_equal(run.r.res.stats.tag_bytes,
			 expected_tag_bytes(&run.r.res.stats, nr, ns));
	assert_int_equal(run.r.res.stats.bytes_sent, run.s.res.stats.bytes_received);
	assert_int_equal(run.s.res.stats.bytes_sent, run.r.res.stats.bytes_received);
	free(expect);
	run_free(&run);
	keyset_free(&r);
	keyset_free(&s);
}

/* ---- tests --------------------------------------------------------------- */

static void test_tag_bytes(void **state)
{
	(void)state;
	/* 40 + ceil(log2 C(N,2)) bits, in bytes. */
	assert_int_equal(sr_psi_tag_bytes(0, 0), 5);
	assert_int_equal(sr_psi_tag_bytes(1, 1), 5);      /* C(2,2)=1 */
	assert_int_equal(sr_psi_tag_bytes(1000, 1000), 8); /* 2^21 pairs: 61 bits */
	assert_int_equal(sr_psi_tag_bytes(1u << 16, 1u << 16), 10);   /* 73 bits */
	assert_int_equal(sr_psi_tag_bytes(1u << 20, 1u << 20), 11);   /* 81 bits */
	assert_int_equal(sr_psi_tag_bytes(1u << 24, 1u << 24), 12);   /* 89 bits */
	assert_int_equal(sr_psi_tag_bytes(SR_PSI_SET_MAX, SR_PSI_SET_MAX), 12);
}

static void test_normalize(void **state)
{
	static const struct {
		unsigned flags;
		const char *in, *out;
	} cases[] = {
		{ 0, "  Alice  ", "  Alice  " },
		{ SR_PSI_NORM_TRIM, " \t Alice Smith \r\n", "Alice Smith" },
		{ SR_PSI_NORM_LOWER, " ALICE ", " alice " },
		{ SR_PSI_NORM_TRIM | SR_PSI_NORM_LOWER, "  BoB ", "bob" },
		{ SR_PSI_NORM_DIGITS, "+1 (555) 010-9999", "15550109999" },
		{ SR_PSI_NORM_ALL, " Tel: 06 12 ", "0612" },
		{ SR_PSI_NORM_LOWER, "\xc3\x89""COLE", "\xc3\x89""cole" },  /* ÉCOLE: É kept */
		{ SR_PSI_NORM_TRIM, "   ", "" },
		{ SR_PSI_NORM_DIGITS, "n/a", "" },
	};
	uint8_t out[64];
	unsigned flags;
	struct sr_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t n = sr_psi_normalize(cases[i].flags,
					    (const uint8_t *)cases[i].in,
					    strlen(cases[i].in), out);
		assert_int_equal(n, strlen(cases[i].out));
		assert_memory_equal(out, cases[i].out, n);
	}
	sr_err_clear(&err);
	assert_int_equal(sr_psi_normalize_parse("trim,lower", &flags, &err), SR_OK);
	assert_int_equal(flags, SR_PSI_NORM_TRIM | SR_PSI_NORM_LOWER);
	assert_int_equal(sr_psi_normalize_parse("digits", &flags, &err), SR_OK);
	assert_int_equal(flags, SR_PSI_NORM_DIGITS);
	assert_int_equal(sr_psi_normalize_parse("none", &flags, &err), SR_OK);
	assert_int_equal(flags, 0);
	assert_int_equal(sr_psi_normalize_parse("trim,upper", &flags, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "upper"));
}

static void test_small_sizes(void **state)
{
	(void)state;
	check_two_party(0, 0, 0, 0, 1);
	check_two_party(0, 5, 0, 0, 2);
	check_two_party(5, 0, 0, 0, 3);
	check_two_party(1, 1, 0, 0, 4);
	check_two_party(1, 1, 1, 0, 5);
	check_two_party(2, 2, 0, 0, 6);
	check_two_party(2, 2, 1, 0, 7);
	check_two_party(2, 2, 2, 0, 8);
	check_two_party(1, 2, 1, 0, 9);
}

static void test_overlaps_1000(void **state)
{
	(void)state;
	check_two_party(1000, 1000, 0, 0, 10);
	check_two_party(1000, 1000, 500, 0, 11);
	check_two_party(1000, 1000, 1000, 0, 12);
	/* Unequal sizes and small batches: many messages, uneven rounds. */
	check_two_party(1000, 300, 150, 64, 13);
	check_two_party(300, 1000, 150, 100, 14);
	check_two_party(1000, 1000, 500, 1, 15);
}

static void test_large(void **state)
{
	(void)state;
	check_two_party(100000, 100000, 50000, 0, 16);
}

/* Receiver-only output: the sender gets nothing, not even the size. */
static void test_to_receiver(void **state)
{
	struct keyset r, s;
	struct sr_psi_params p;
	struct run run;
	char **expect;
	size_t nexpect;

	(void)state;
	make_sets(200, 300, 120, 17, &r, &s);
	params_default(&p);
	run_pair(&run, r.keys, r.n, s.keys, s.n, &p, &p);
	assert_int_equal(run.r.rc, SR_OK);
	assert_int_equal(run.s.rc, SR_OK);
	expect = plain_intersection(r.keys, r.n, s.keys, s.n, &nexpect);
	check_rows_are(run.r.res.rows, run.r.res.rows_len, r.keys, r.n, expect, nexpect);
	assert_null(run.s.res.rows);
	assert_int_equal(run.s.res.rows_len, 0);
	assert_false(run.s.res.has_size);
	assert_int_equal(run.s.res.stats.intersection_size, 0);
	free(expect);
	run_free(&run);
	keyset_free(&r);
	keyset_free(&s);
}

static void test_cardinality(void **state)
{
	struct keyset r, s;
	struct sr_psi_params p;
	struct run run;

	(void)state;
	make_sets(500, 400, 123, 18, &r, &s);
	params_default(&p);
	p.mode = SR_PSI_CARDINALITY;
	p.batch = 128;
	run_pair(&run, r.keys, r.n, s.keys, s.n, &p, &p);
	assert_int_equal(run.r.rc, SR_OK);
	assert_int_equal(run.s.rc, SR_OK);
	assert_true(run.r.res.has_size);
	assert_int_equal(run.r.res.stats.intersection_size, 123);
	assert_null(run.r.res.rows);          /* no indices, only the size */
	assert_int_equal(run.r.res.rows_len, 0);
	assert_false(run.s.res.has_size);
	assert_null(run.s.res.rows);
	run_free(&run);

	/* ... and to both: the sender learns the size, still no rows. */
	p.output = SR_PSI_TO_BOTH;
	run_pair(&run, r.keys, r.n, s.keys, s.n, &p, &p);
	assert_int_equal(run.r.rc, SR_OK);
	assert_int_equal(run.s.rc, SR_OK);
	assert_int_equal(run.r.res.stats.intersection_size, 123);
	assert_true(run.s.res.has_size);
	assert_int_equal(run.s.res.stats.intersection_size, 123);
	assert_null(run.r.res.rows);
	assert_null(run.s.res.rows);
	run_free(&run);

	/* Multi-party cardinality is refused. */
	p.parties = 3;
	{
		struct sr_psi_source src;
		struct sr_psi_array arr;
		struct sr_psi_result res;
		struct sr_pipe ios[2] = { { NULL, ep_send, ep_recv },
					    { NULL, ep_send, ep_recv } };
		struct sr_err err;
		sr_psi_source_array(&src, &arr, NULL, 0);
		sr_err_clear(&err);
		assert_int_equal(sr_psi_run_multi(&p, &src, ios, 2, &res, &err),
				 SR_EINVAL);
		assert_non_null(strstr(err.msg, "two parties"));
	}
	keyset_free(&r);
	keyset_free(&s);
}

static void test_duplicates_unicode(void **state)
{
	char *rk[] = { "alice", "b\xc3\xb6rje", "alice", "\xe6\x97\xa5\xe6\x9c\xac",
		       "", "b\xc3\xb6rje", "\xf0\x9f\x98\x80", "carol", "alice" };
	char *sk[] = { "\xf0\x9f\x98\x80", "dave", "b\xc3\xb6rje", "dave",
		       "\xe6\x97\xa5\xe6\x9c\xac", "ALICE", "" };
	char *expect[] = { "b\xc3\xb6rje", "\xe6\x97\xa5\xe6\x9c\xac",
			   "\xf0\x9f\x98\x80" };
	struct sr_psi_params p;
	struct run run;

	(void)state;
	qsort(expect, 3, sizeof(char *), cmp_str);
	params_default(&p);
	p.output = SR_PSI_TO_BOTH;
	run_pair(&run, rk, 9, sk, 7, &p, &p);
	assert_int_equal(run.r.rc, SR_OK);
	assert_int_equal(run.s.rc, SR_OK);
	check_rows_are(run.r.res.rows, run.r.res.rows_len, rk, 9, expect, 3);
	check_rows_are(run.s.res.rows, run.s.res.rows_len, sk, 7, expect, 3);
	/* Duplicates removed, counted and reported to their owner only;
	 * the first row of a key is the one kept. */
	assert_int_equal(run.r.res.stats.keys_read, 9);
	assert_int_equal(run.r.res.stats.empty_keys, 1);
	assert_int_equal(run.r.res.stats.duplicate_keys, 3);
	assert_int_equal(run.r.res.stats.set_size, 5);
	assert_int_equal(run.s.res.stats.duplicate_keys, 1);
	assert_int_equal(run.s.res.stats.empty_keys, 1);
	assert_int_equal(run.s.res.stats.set_size, 5);
	assert_int_equal(run.s.res.stats.peer_set_size, 5);
	for (size_t i = 0; i < run.r.res.rows_len; i++) {
		assert_true(run.r.res.rows[i] == 1 || run.r.res.rows[i] == 3 ||
			    run.r.res.rows[i] == 6);
		assert_true(run.s.res.rows[i] == 0 || run.s.res.rows[i] == 2 ||
			    run.s.res.rows[i] == 4);
		assert_string_equal(rk[run.r.res.rows[i]], sk[run.s.res.rows[i]]);
	}
	run_free(&run);
}

static size_t run_norm(unsigned flags, char **rk, size_t nr, char **sk,
		       size_t ns)
{
	struct sr_psi_params p;
	struct run run;
	size_t n;

	params_default(&p);
	p.normalize = flags;
	p.output = SR_PSI_TO_BOTH;
	run_pair(&run, rk, nr, sk, ns, &p, &p);
	assert_int_equal(run.r.rc, SR_OK);
	assert_int_equal(run.s.rc, SR_OK);
	n = run.r.res.rows_len;
	assert_int_equal(run.s.res.rows_len, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t a[64], b[64];
		const char *x = rk[run.r.res.rows[i]], *y = sk[run.s.res.rows[i]];
		size_t la = sr_psi_normalize(flags, (const uint8_t *)x, strlen(x), a);
		size_t lb = sr_psi_normalize(flags, (const uint8_t *)y, strlen(y), b);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
	}
	run_free(&run);
	return n;
}

static void test_normalization_runs(void **state)
{
	char *rk[] = { " Alice ", "BOB", "carol", "\xc3\x89mile", "+33 6 12 34 56 78" };
	char *sk[] = { "alice", "bob", " Carol\t", "\xc3\xa9mile", "0033612345678",
		       "33612345678" };

	(void)state;
	/* Without normalization nothing matches. */
	assert_int_equal(run_norm(0, rk, 5, sk, 6), 0);
	/* trim alone: " Carol\t" -> "Carol" still differs from "carol". */
	assert_int_equal(run_norm(SR_PSI_NORM_TRIM, rk, 5, sk, 6), 0);
	/* lower alone: "BOB" -> "bob". */
	assert_int_equal(run_norm(SR_PSI_NORM_LOWER, rk, 5, sk, 6), 1);
	/* trim + lower: alice, bob, carol; not Émile/émile (ASCII only). */
	assert_int_equal(run_norm(SR_PSI_NORM_TRIM | SR_PSI_NORM_LOWER,
				  rk, 5, sk, 6), 3);
	/* digits: the phone number matches "33612345678"; the names
	 * become empty and are skipped. */
	assert_int_equal(run_norm(SR_PSI_NORM_DIGITS, rk, 5, sk, 6), 1);
}

static void test_param_mismatch(void **state)
{
	char *keys[] = { "a", "b", "c" };
	struct sr_psi_params rp, sp;
	struct run run;
	static const uint8_t other[] = "other-session";

	(void)state;
	params_default(&rp);
	sp = rp;
	sp.session_id = other;
	sp.session_id_len = sizeof(other) - 1;
	run_pair(&run, keys, 3, keys, 3, &rp, &sp);
	assert_int_equal(run.s.rc, SR_EPROTO);
	assert_non_null(strstr(run.s.err.msg, "session id"));
	assert_int_equal(run.r.rc, SR_EPROTO);
	assert_non_null(strstr(run.r.err.msg, "peer aborted"));
	assert_null(run.r.res.rows);
	run_free(&run);

	sp = rp;
	sp.mode = SR_PSI_CARDINALITY;
	run_pair(&run, keys, 3, keys, 3, &rp, &sp);
	assert_int_equal(run.s.rc, SR_EPROTO);
	assert_non_null(strstr(run.s.err.msg, "mode"));
	assert_int_equal(run.r.rc, SR_EPROTO);
	run_free(&run);

	sp = rp;
	sp.normalize = SR_PSI_NORM_LOWER;
	run_pair(&run, keys, 3, keys, 3, &rp, &sp);
	assert_int_equal(run.s.rc, SR_EPROTO);
	assert_non_null(strstr(run.s.err.msg, "normalizes"));
	run_free(&run);

	sp = rp;
	sp.output = SR_PSI_TO_BOTH;
	run_pair(&run, keys, 3, keys, 3, &rp, &sp);
	assert_int_equal(run.s.rc, SR_EPROTO);
	assert_int_equal(run.r.rc, SR_EPROTO);
	run_free(&run);

	/* Both think they are the receiver: neither gets an output. */
	run_setup(&run, keys, 3, keys, 3, &rp, &rp);
	run.s.role = SR_PSI_RECEIVER;
	run_start(&run);
	assert_int_equal(run.r.rc, SR_EPROTO);
	assert_int_equal(run.s.rc, SR_EPROTO);
	assert_non_null(strstr(run.s.err.msg, "also a receiver"));
	assert_null(run.r.res.rows);
	assert_null(run.s.res.rows);
	run_free(&run);
}

static void test_bad_params(void **state)
{
	struct sr_psi_params p;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_psi_result res;
	struct link l;
	struct sr_pipe io;
	struct sr_err err;

	(void)state;
	link_open(&l);
	io = io_of(&l.a);
	sr_psi_source_array(&src, &arr, NULL, 0);
	params_default(&p);
	p.session_id_len = 0;
	sr_err_clear(&err);
	assert_int_equal(sr_psi_run(SR_PSI_RECEIVER, &p, &src, &io, &res, &err),
			 SR_EINVAL);
	assert_non_null(strstr(err.msg, "session id"));
	params_default(&p);
	p.batch = SR_PSI_BATCH_MAX + 1;
	assert_int_equal(sr_psi_run(SR_PSI_SENDER, &p, &src, &io, &res, &err),
			 SR_EINVAL);
	params_default(&p);
	p.normalize = 0x80;
	assert_int_equal(sr_psi_run(SR_PSI_SENDER, &p, &src, &io, &res, &err),
			 SR_EINVAL);
	params_default(&p);
	p.parties = 3;
	assert_int_equal(sr_psi_run(SR_PSI_RECEIVER, &p, &src, &io, &res, &err),
			 SR_EINVAL);
	p.parties = 1;
	assert_int_equal(sr_psi_run(SR_PSI_SENDER, &p, &src, &io, &res, &err),
			 SR_EINVAL);
	link_close(&l);
}

/* A key over SR_PSI_KEY_MAX is refused before anything is sent. */
static void test_key_limit(void **state)
{
	struct sr_psi_params p;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_psi_result res;
	struct sr_psi_key key;
	struct link l;
	struct sr_pipe io;
	struct sr_err err;
	char *big = calloc(1, SR_PSI_KEY_MAX + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', SR_PSI_KEY_MAX + 1);
	key.data = big;
	key.len = SR_PSI_KEY_MAX + 1;
	key.row = 7;
	link_open(&l);
	io = io_of(&l.a);
	sr_psi_source_array(&src, &arr, &key, 1);
	params_default(&p);
	sr_err_clear(&err);
	assert_int_equal(sr_psi_run(SR_PSI_RECEIVER, &p, &src, &io, &res, &err),
			 SR_ELIMIT);
	assert_non_null(strstr(err.msg, "row 7"));
	assert_null(l.ab->head);   /* nothing sent */
	link_close(&l);
	free(big);
}

/* ---- tampering ----------------------------------------------------------- */

struct tamper_case {
	const char *name;
	int by_sender;            /* whose outgoing messages are changed */
	size_t at;                /* message index */
	enum tamper_kind kind;
	size_t offset;
	enum sr_psi_mode mode;
	const char *victim_msg;   /* substring of the victim's error */
	enum sr_psi_protocol protocol;
};

/*
 * 60 keys each, 40 common, batches of 16: R sends hello(0) points(1..4)
 * count(5) result(6..8); S sends hello(0) points(1..4) tags(5..8).
 */
static const struct tamper_case tamper_cases[] = {
	{ "hello truncated", 0, 0, T_TRUNCATE, 0, SR_PSI_INTERSECTION, "hello", SR_PSI_PROTO_ECDH },
	{ "hello extended", 1, 0, T_EXTEND, 0, SR_PSI_INTERSECTION, "hello", SR_PSI_PROTO_ECDH },
	{ "hello mode flipped", 0, 0, T_FLIP, 3, SR_PSI_INTERSECTION, "mode", SR_PSI_PROTO_ECDH },
	{ "hello role flipped", 1, 0, T_FLIP, 2, SR_PSI_INTERSECTION, "role", SR_PSI_PROTO_ECDH },
	{ "hello digest flipped", 1, 0, T_FLIP, 30, SR_PSI_INTERSECTION, "session", SR_PSI_PROTO_ECDH },
	{ "hello huge set", 1, 0, T_FLIP, 22, SR_PSI_INTERSECTION, "SR_PSI_SET_MAX", SR_PSI_PROTO_ECDH },
	{ "hello huge batch", 0, 0, T_FLIP, 10, SR_PSI_INTERSECTION, "batches", SR_PSI_PROTO_ECDH },
	{ "hello version", 0, 0, T_FLIP, 1, SR_PSI_INTERSECTION, "version", SR_PSI_PROTO_ECDH },
	{ "points truncated", 0, 2, T_TRUNCATE, 0, SR_PSI_INTERSECTION, "points message 2", SR_PSI_PROTO_ECDH },
	{ "points extended", 1, 1, T_EXTEND, 0, SR_PSI_INTERSECTION, "peer's points", SR_PSI_PROTO_ECDH },
	{ "points bad encoding", 0, 3, T_BAD_POINT, 0, SR_PSI_INTERSECTION, "canonical", SR_PSI_PROTO_ECDH },
	{ "points identity", 1, 2, T_IDENTITY, 0, SR_PSI_INTERSECTION, "identity", SR_PSI_PROTO_ECDH },
	{ "points count", 0, 1, T_COUNT_UP, 0, SR_PSI_INTERSECTION, "announces", SR_PSI_PROTO_ECDH },
	{ "points type", 1, 4, T_FLIP, 0, SR_PSI_INTERSECTION, "expected a points", SR_PSI_PROTO_ECDH },
	{ "points reserved", 0, 4, T_FLIP, 2, SR_PSI_INTERSECTION, "reserved", SR_PSI_PROTO_ECDH },
	{ "points eof", 0, 3, T_EOF, 0, SR_PSI_INTERSECTION, "closed", SR_PSI_PROTO_ECDH },
	{ "points oversize", 1, 2, T_OVERSIZE, 0, SR_PSI_INTERSECTION, "limit", SR_PSI_PROTO_ECDH },
	{ "tags truncated", 1, 5, T_TRUNCATE, 0, SR_PSI_INTERSECTION, "tags message 1", SR_PSI_PROTO_ECDH },
	{ "tags length byte", 1, 6, T_FLIP, 1, SR_PSI_INTERSECTION, "header byte 1", SR_PSI_PROTO_ECDH },
	{ "tags count", 1, 7, T_COUNT_UP, 0, SR_PSI_INTERSECTION, "announces", SR_PSI_PROTO_ECDH },
	{ "tags eof", 1, 8, T_EOF, 0, SR_PSI_INTERSECTION, "closed", SR_PSI_PROTO_ECDH },
	{ "count too big", 0, 5, T_BIG_COUNT, 0, SR_PSI_INTERSECTION, "common keys", SR_PSI_PROTO_ECDH },
	{ "count truncated", 0, 5, T_TRUNCATE, 0, SR_PSI_INTERSECTION, "count message", SR_PSI_PROTO_ECDH },
	{ "result out of range", 0, 6, T_POS_RANGE, 0, SR_PSI_INTERSECTION, "out of range", SR_PSI_PROTO_ECDH },
	{ "result repeated", 0, 7, T_POS_REPEAT, 0, SR_PSI_INTERSECTION, "repeated", SR_PSI_PROTO_ECDH },
	{ "result truncated", 0, 8, T_TRUNCATE, 0, SR_PSI_INTERSECTION, "result message 3", SR_PSI_PROTO_ECDH },
	{ "result eof", 0, 7, T_EOF, 0, SR_PSI_INTERSECTION, "closed", SR_PSI_PROTO_ECDH },
	{ "cardinality tags eof", 1, 6, T_EOF, 0, SR_PSI_CARDINALITY, "closed", SR_PSI_PROTO_ECDH },
	{ "cardinality count eof", 0, 5, T_EOF, 0, SR_PSI_CARDINALITY, "closed", SR_PSI_PROTO_ECDH },
	/* KKRT, 60 keys each (128 bins: one extension message): R sends
	 * hello(0) setup(1) extension(2) count(3) result(4..6); S sends
	 * hello(0) base OT(1) tags(2..5). */
#define K SR_PSI_INTERSECTION
	{ "kkrt hello protocol", 0, 0, T_FLIP, 12, K, "protocol", SR_PSI_PROTO_KKRT },
	{ "kkrt setup truncated", 0, 1, T_TRUNCATE, 0, K, "kkrt setup message", SR_PSI_PROTO_KKRT },
	{ "kkrt setup bad point", 0, 1, T_BAD_POINT, 0, K, "not a canonical", SR_PSI_PROTO_KKRT },
	{ "kkrt setup identity", 0, 1, T_IDENTITY, 0, K, "identity", SR_PSI_PROTO_KKRT },
	{ "kkrt setup bins", 0, 1, T_FLIP, 72, K, "bins", SR_PSI_PROTO_KKRT },
	{ "kkrt setup type", 0, 1, T_FLIP, 0, K, "expected a kkrt setup", SR_PSI_PROTO_KKRT },
	{ "kkrt setup eof", 0, 1, T_EOF, 0, K, "closed", SR_PSI_PROTO_KKRT },
	{ "kkrt ot truncated", 1, 1, T_TRUNCATE, 0, K, "base OT message", SR_PSI_PROTO_KKRT },
	{ "kkrt ot bad point", 1, 1, T_BAD_POINT, 0, K, "point 0 is not a canonical", SR_PSI_PROTO_KKRT },
	{ "kkrt ot identity", 1, 1, T_IDENTITY, 0, K, "point 0 is the identity", SR_PSI_PROTO_KKRT },
	{ "kkrt ot count", 1, 1, T_COUNT_UP, 0, K, "announces", SR_PSI_PROTO_KKRT },
	{ "kkrt ot eof", 1, 1, T_EOF, 0, K, "closed", SR_PSI_PROTO_KKRT },
	{ "kkrt extension truncated", 0, 2, T_TRUNCATE, 0, K, "kkrt extension message 1 of 1", SR_PSI_PROTO_KKRT },
	{ "kkrt extension count", 0, 2, T_COUNT_UP, 0, K, "announces", SR_PSI_PROTO_KKRT },
	{ "kkrt extension reserved", 0, 2, T_FLIP, 3, K, "reserved", SR_PSI_PROTO_KKRT },
	{ "kkrt extension eof", 0, 2, T_EOF, 0, K, "closed", SR_PSI_PROTO_KKRT },
	{ "kkrt extension oversize", 0, 2, T_OVERSIZE, 0, K, "limit", SR_PSI_PROTO_KKRT },
	{ "kkrt tags truncated", 1, 2, T_TRUNCATE, 0, K, "tags message 1 of 4", SR_PSI_PROTO_KKRT },
	{ "kkrt tags count", 1, 3, T_COUNT_UP, 0, K, "announces", SR_PSI_PROTO_KKRT },
	{ "kkrt tags length byte", 1, 4, T_FLIP, 1, K, "header byte 1", SR_PSI_PROTO_KKRT },
	{ "kkrt tags eof", 1, 5, T_EOF, 0, K, "closed", SR_PSI_PROTO_KKRT },
	{ "kkrt count too big", 0, 3, T_BIG_COUNT, 0, K, "common keys", SR_PSI_PROTO_KKRT },
	{ "kkrt result out of range", 0, 4, T_POS_RANGE, 0, K, "out of range", SR_PSI_PROTO_KKRT },
	{ "kkrt result eof", 0, 5, T_EOF, 0, K, "closed", SR_PSI_PROTO_KKRT },
#undef K
};

static void test_tampering(void **state)
{
	struct keyset r, s;

	(void)state;
	make_sets(60, 60, 40, 19, &r, &s);
	for (size_t c = 0; c < sizeof(tamper_cases) / sizeof(*tamper_cases); c++) {
		const struct tamper_case *tc = &tamper_cases[c];
		struct sr_psi_params p;
		struct run run;
		struct party *victim, *culprit;
		struct endpoint *ep;

		params_default(&p);
		p.output = SR_PSI_TO_BOTH;
		p.batch = 16;
		p.mode = tc->mode;
		p.protocol = tc->protocol;
		run_setup(&run, r.keys, r.n, s.keys, s.n, &p, &p);
		ep = tc->by_sender ? &run.link.b : &run.link.a;
		ep->tamper = tc->kind;
		ep->tamper_at = tc->at;
		ep->offset = tc->offset;
		run_start(&run);
		victim = tc->by_sender ? &run.r : &run.s;
		culprit = tc->by_sender ? &run.s : &run.r;
		if (victim->rc == SR_OK)
			fail_msg("%s: the victim succeeded", tc->name);
		if (victim->rc != SR_EPROTO && victim->rc != SR_ELIMIT)
			fail_msg("%s: victim status %d: %s", tc->name, victim->rc,
				 victim->err.msg);
		if (!strstr(victim->err.msg, tc->victim_msg))
			fail_msg("%s: victim error '%s' lacks '%s'", tc->name,
				 victim->err.msg, tc->victim_msg);
		/* No partial output at the victim. */
		assert_null(victim->res.rows);
		assert_int_equal(victim->res.rows_len, 0);
		assert_false(victim->res.has_size);
		/* Whoever fails has no output either. */
		if (culprit->rc != SR_OK) {
			assert_null(culprit->res.rows);
			assert_false(culprit->res.has_size);
		}
		run_free(&run);
	}
	keyset_free(&r);
	keyset_free(&s);
}

/* ---- multi-party ---------------------------------------------------------- */

static void check_multi(size_t nparties, enum sr_psi_output output,
			size_t n, uint64_t seed)
{
	struct keyset sets[8];
	struct link links[8];
	struct endpoint *reps[8];
	struct endpoint *heps[8][1];
	struct party parties[8];
	struct sr_psi_key *keys[8];
	struct sr_psi_params p;
	size_t nhelpers = nparties - 1, nexpect;
	char **expect, **acc;
	uint64_t st = seed;

	/* Party 0's keys; each helper holds a random ~70% of them plus its
	 * own, so the intersection of all is a strict subset of each pair's. */
	for (size_t i = 0; i < nparties; i++) {
		sets[i].keys = calloc(2 * n + 1, sizeof(char *));
		sets[i].n = 0;
		assert_non_null(sets[i].keys);
	}
	for (size_t k = 0; k < n; k++) {
		uint64_t v = sr_test_rand(&st);
		sets[0].keys[sets[0].n++] = key_str("m", v);
		for (size_t i = 1; i < nparties; i++)
			if (sr_test_rand(&st) % 10 < 7)
				sets[i].keys[sets[i].n++] = key_str("m", v);
	}
	for (size_t i = 1; i < nparties; i++) {
		for (size_t k = 0; k < n / 2; k++)
			sets[i].keys[sets[i].n++] = key_str("h", sr_test_rand(&st));
		shuffle_strs(sets[i].keys, sets[i].n, &st);
	}
	params_default(&p);
	p.parties = (uint32_t)nparties;
	p.output = output;
	p.batch = 50;
	memset(parties, 0, sizeof(parties));
	for (size_t i = 0; i < nparties; i++)
		keys[i] = keys_of(sets[i].keys, sets[i].n);
	for (size_t h = 0; h < nhelpers; h++) {
		link_open(&links[h]);
		reps[h] = &links[h].a;
		heps[h][0] = &links[h].b;
		parties[h + 1].role = SR_PSI_SENDER;
		parties[h + 1].params = p;
		parties[h + 1].keys = keys[h + 1];
		parties[h + 1].nkeys = sets[h + 1].n;
		parties[h + 1].eps = heps[h];
		parties[h + 1].neps = 1;
	}
	parties[0].multi = 1;
	parties[0].params = p;
	parties[0].keys = keys[0];
	parties[0].nkeys = sets[0].n;
	parties[0].eps = reps;
	parties[0].neps = nhelpers;
	for (size_t i = 0; i < nparties; i++)
		assert_int_equal(pthread_create(&parties[i].thread, NULL, party_main,
						&parties[i]), 0);
	for (size_t i = 0; i < nparties; i++)
		pthread_join(parties[i].thread, NULL);
	for (size_t i = 0; i < nparties; i++)
		if (parties[i].rc)
			fail_msg("party %zu: %s", i, parties[i].err.msg);
	/* Plain answer: fold the pairwise intersection. */
	acc = malloc((sets[0].n + 1) * sizeof(char *));
	assert_non_null(acc);
	memcpy(acc, sets[0].keys, sets[0].n * sizeof(char *));
	nexpect = sets[0].n;
	for (size_t i = 1; i < nparties; i++) {
		size_t m;
		expect = plain_intersection(acc, nexpect, sets[i].keys, sets[i].n, &m);
		free(acc);
		acc = expect;
		nexpect = m;
	}
	assert_true(nexpect > 0);
	check_rows_are(parties[0].res.rows, parties[0].res.rows_len,
		       sets[0].keys, sets[0].n, acc, nexpect);
	assert_int_equal(parties[0].res.stats.intersection_size, nexpect);
	for (size_t i = 1; i < nparties; i++) {
		if (output == SR_PSI_TO_BOTH) {
			check_rows_are(parties[i].res.rows, parties[i].res.rows_len,
				       sets[i].keys, sets[i].n, acc, nexpect);
			for (size_t k = 0; k < nexpect; k++)
				assert_string_equal(sets[0].keys[parties[0].res.rows[k]],
						    sets[i].keys[parties[i].res.rows[k]]);
		} else {
			assert_null(parties[i].res.rows);
			assert_false(parties[i].res.has_size);
		}
	}
	free(acc);
	for (size_t i = 0; i < nparties; i++) {
		sr_psi_result_release(&parties[i].res);
		free(keys[i]);
		keyset_free(&sets[i]);
	}
	for (size_t h = 0; h < nhelpers; h++)
		link_close(&links[h]);
}

static void test_multi_party(void **state)
{
	(void)state;
	check_multi(3, SR_PSI_TO_BOTH, 400, 20);
	check_multi(3, SR_PSI_TO_RECEIVER, 300, 21);
	check_multi(5, SR_PSI_TO_BOTH, 200, 22);
}

/* A helper that fails mid-run makes the whole multi-party run fail. */
static void test_multi_party_failure(void **state)
{
	struct keyset a, b;
	struct link l1, l2;
	struct endpoint *reps[2] = { &l1.a, &l2.a };
	struct endpoint *h1[1] = { &l1.b }, *h2[1] = { &l2.b };
	struct party parties[3];
	struct sr_psi_key *ka, *kb;
	struct sr_psi_params p;

	(void)state;
	make_sets(100, 100, 60, 23, &a, &b);
	ka = keys_of(a.keys, a.n);
	kb = keys_of(b.keys, b.n);
	link_open(&l1);
	link_open(&l2);
	reps[0] = &l1.a;
	reps[1] = &l2.a;
	l2.b.tamper = T_BAD_POINT;   /* helper 2 sends an invalid point */
	l2.b.tamper_at = 1;
	params_default(&p);
	p.parties = 3;
	p.output = SR_PSI_TO_BOTH;
	memset(parties, 0, sizeof(parties));
	parties[0].multi = 1;
	parties[0].params = p;
	parties[0].keys = ka;
	parties[0].nkeys = a.n;
	parties[0].eps = reps;
	parties[0].neps = 2;
	for (int i = 1; i < 3; i++) {
		parties[i].role = SR_PSI_SENDER;
		parties[i].params = p;
		parties[i].keys = kb;
		parties[i].nkeys = b.n;
		parties[i].neps = 1;
	}
	parties[1].eps = h1;
	parties[2].eps = h2;
	for (int i = 0; i < 3; i++)
		pthread_create(&parties[i].thread, NULL, party_main, &parties[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(parties[i].thread, NULL);
	assert_int_equal(parties[0].rc, SR_EPROTO);
	assert_non_null(strstr(parties[0].err.msg, "helper 2 of 2"));
	for (int i = 0; i < 3; i++) {
		assert_int_not_equal(parties[i].rc, SR_OK);
		assert_null(parties[i].res.rows);
		sr_psi_result_release(&parties[i].res);
	}
	free(ka);
	free(kb);
	link_close(&l1);
	link_close(&l2);
	keyset_free(&a);
	keyset_free(&b);
}

/* Make the N-th allocation fail, for every N a small run makes: each
 * party either succeeds with the right answer or fails cleanly. */
static void test_alloc_failures(void **state)
{
	struct keyset r, s;
	unsigned long n;

	(void)state;
	make_sets(40, 40, 20, 24, &r, &s);
	for (n = 1; n < 2000; n++) {
		struct sr_psi_params p;
		struct run run;
		int fired;

		params_default(&p);
		p.pool = NULL;
		p.output = SR_PSI_TO_BOTH;
		p.batch = 8;
		sr_alloc_fail_at(n, 0);
		run_pair(&run, r.keys, r.n, s.keys, s.n, &p, &p);
		fired = sr_alloc_failed();
		sr_alloc_fail_at(0, 0);
		if (run.r.rc == SR_OK)
			assert_int_equal(run.r.res.rows_len, 20);
		else
			assert_null(run.r.res.rows);
		if (run.s.rc == SR_OK)
			assert_int_equal(run.s.res.rows_len, 20);
		else
			assert_null(run.s.res.rows);
		if (fired)
			assert_true(run.r.rc != SR_OK || run.s.rc != SR_OK);
		run_free(&run);
		if (!fired)
			break;
	}
	assert_true(n > 10 && n < 2000);
	keyset_free(&r);
	keyset_free(&s);
}

/* ---- the two protocols ----------------------------------------------------- */

struct row_pair {
	uint64_t r, s;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct row_pair *x = a, *y = b;

	if (x->r != y->r)
		return x->r < y->r ? -1 : 1;
	return (x->s > y->s) - (x->s < y->s);
}

/* The aligned (receiver row, sender row) pairs of a run, sorted. */
static struct row_pair *pairs_of(enum sr_psi_protocol proto, struct keyset *r,
				 struct keyset *s, size_t *n)
{
	struct sr_psi_params p;
	struct run run;
	struct row_pair *pairs;

	params_default(&p);
	p.protocol = proto;
	p.output = SR_PSI_TO_BOTH;
	run_pair(&run, r->keys, r->n, s->keys, s->n, &p, &p);
	if (run.r.rc || run.s.rc)
		fail_msg("%s: %s / %s", sr_psi_protocol_name(proto), run.r.err.msg,
			 run.s.err.msg);
	assert_int_equal(run.r.res.stats.protocol, proto);
	assert_int_equal(run.r.res.rows_len, run.s.res.rows_len);
	*n = run.r.res.rows_len;
	pairs = calloc(*n + 1, sizeof(*pairs));
	assert_non_null(pairs);
	for (size_t i = 0; i < *n; i++) {
		pairs[i].r = run.r.res.rows[i];
		pairs[i].s = run.s.res.rows[i];
	}
	qsort(pairs, *n, sizeof(*pairs), cmp_pair);
	run_free(&run);
	return pairs;
}

/* ECDH-PSI and KKRT-PSI give the same aligned pairs of rows. */
static void test_protocols_agree(void **state)
{
	struct keyset r, s;
	struct row_pair *a, *b;
	size_t na, nb;

	(void)state;
	make_sets(1000, 1500, 600, 31, &r, &s);
	/* Duplicates and an empty key: the kept row must be the same. */
	free(r.keys[7]);
	r.keys[7] = strdup(r.keys[3]);
	free(s.keys[9]);
	s.keys[9] = strdup("");
	a = pairs_of(SR_PSI_PROTO_ECDH, &r, &s, &na);
	b = pairs_of(SR_PSI_PROTO_KKRT, &r, &s, &nb);
	assert_int_equal(na, nb);
	assert_true(na >= 598 && na <= 600);
	assert_memory_equal(a, b, na * sizeof(*a));
	free(a);
	free(b);
	keyset_free(&r);
	keyset_free(&s);
}

/* Where KKRT does not apply it is refused; AUTO picks; names parse. */
static void test_protocol_rules(void **state)
{
	char *keys[] = { "a", "b", "c" };
	struct sr_psi_params p, q;
	enum sr_psi_protocol proto;
	struct sr_err err;
	struct run run;

	(void)state;
	params_default(&p);
	p.protocol = SR_PSI_PROTO_AUTO;
	assert_int_equal(sr_psi_protocol_of(&p), SR_PSI_PROTO_KKRT);
	p.mode = SR_PSI_CARDINALITY;
	assert_int_equal(sr_psi_protocol_of(&p), SR_PSI_PROTO_ECDH);
	p.mode = SR_PSI_INTERSECTION;
	p.parties = 3;
	assert_int_equal(sr_psi_protocol_of(&p), SR_PSI_PROTO_KKRT);

	/* kkrt with cardinality: SR_EINVAL, at once. */
	params_default(&p);
	p.protocol = SR_PSI_PROTO_KKRT;
	p.mode = SR_PSI_CARDINALITY;
	run_pair(&run, keys, 3, keys, 3, &p, &p);
	assert_int_equal(run.r.rc, SR_EINVAL);
	assert_non_null(strstr(run.r.err.msg, "kkrt runs intersection only"));
	assert_int_equal(run.s.rc, SR_EINVAL);
	run_free(&run);

	/* A receiver on kkrt and a sender on ecdh: refused at the hello. */
	params_default(&p);
	p.protocol = SR_PSI_PROTO_KKRT;
	q = p;
	q.protocol = SR_PSI_PROTO_ECDH;
	run_pair(&run, keys, 3, keys, 3, &p, &q);
	assert_int_equal(run.s.rc, SR_EPROTO);
	assert_non_null(strstr(run.s.err.msg, "protocol"));
	assert_int_not_equal(run.r.rc, SR_OK);
	assert_null(run.r.res.rows);
	run_free(&run);

	assert_int_equal(sr_psi_protocol_parse("kkrt", &proto, &err), SR_OK);
	assert_int_equal(proto, SR_PSI_PROTO_KKRT);
	assert_int_equal(sr_psi_protocol_parse("auto", &proto, &err), SR_OK);
	assert_int_equal(proto, SR_PSI_PROTO_AUTO);
	sr_err_clear(&err);
	assert_int_equal(sr_psi_protocol_parse("rr22", &proto, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "rr22"));
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	assert_int_equal(sr_pool_new(2, &pool), SR_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_pool_free(pool);
	return 0;
}

static int setup_auto(void **state)
{
	group_protocol = SR_PSI_PROTO_AUTO;
	return setup(state);
}

int main(void)
{
	const struct CMUnitTest kkrt_tests[] = {
		cmocka_unit_test(test_protocols_agree),
		cmocka_unit_test(test_protocol_rules),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_bytes),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_key_limit),
		cmocka_unit_test(test_small_sizes),
		cmocka_unit_test(test_overlaps_1000),
		cmocka_unit_test(test_to_receiver),
		cmocka_unit_test(test_cardinality),
		cmocka_unit_test(test_duplicates_unicode),
		cmocka_unit_test(test_normalization_runs),
		cmocka_unit_test(test_param_mismatch),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_multi_party),
		cmocka_unit_test(test_multi_party_failure),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_large),
	};

	int failed;

	/* ECDH, then AUTO (KKRT for every two-party intersection). */
	failed = cmocka_run_group_tests_name("ecdh", tests, setup, teardown);
	failed += cmocka_run_group_tests_name("auto", tests, setup_auto, teardown);
	failed += cmocka_run_group_tests_name("kkrt", kkrt_tests, setup, teardown);
	return failed;
}
