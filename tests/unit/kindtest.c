/*
 * kindtest.c - see kindtest.h.
 */
#include "testutil.h"
#include "kindtest.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "kinds/mask.h"

/* ---- in-memory pipes ------------------------------------------------------ */

struct msg {
	struct msg *next;
	uint32_t channel;
	size_t len;
	uint8_t data[];
};

/* Messages from party a to party b. */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct msg *head, *tail;
	int closed;
	size_t sent;
};

kt_tamper_fn kt_tamper;
int kt_no_keep;

struct harness;

struct pipe_end {
	struct harness *h;
	size_t from, to;
	uint32_t channel;
};

struct party {
	struct harness *h;
	size_t index;
	struct sr_kind_ctx ctx;
	struct sr_kind_input inputs[KT_MAX];
	struct pipe_end ends[KT_MAX * 4];
	size_t nends;
	json_t *result;
	int rc;
	struct sr_err err;
	size_t nkept;
	char kept_name[KT_KEEP_MAX][64];
	uint8_t *kept[KT_KEEP_MAX];
	size_t kept_len[KT_KEEP_MAX];
};

struct harness {
	const struct kt_job *job;
	const struct sr_job_kind *kind;
	const char *parties[KT_MAX * 2];
	size_t nparties;
	const char *receivers[KT_MAX];
	size_t nreceivers;
	struct queue q[KT_MAX * 2][KT_MAX * 2];
	struct party party[KT_MAX * 2];
	uint8_t session_id[32];
};

static int end_send(void *ctx, const uint8_t *data, size_t len, struct sr_err *err)
{
	struct pipe_end *e = ctx;
	struct queue *q = &e->h->q[e->from][e->to];
	struct msg *m = malloc(sizeof(*m) + len + 1);

	if (!m)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	m->next = NULL;
	m->channel = e->channel;
	m->len = len;
	memcpy(m->data, data, len);
	pthread_mutex_lock(&q->lock);
	if (kt_tamper) {
		int twice = 0;
		kt_tamper(e->from, e->to, q->sent, m->data, &m->len, &twice);
		if (twice) {
			struct msg *again = malloc(sizeof(*again) + m->len + 1);
			if (again) {
				memcpy(again, m, sizeof(*m) + m->len);
				again->next = NULL;
				if (q->tail)
					q->tail->next = again;
				else
					q->head = again;
				q->tail = again;
			}
		}
	}
	q->sent++;
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		free(m);
		return sr_fail(err, SR_EIO, "test pipe: peer gone");
	}
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return SR_OK;
}

static int end_recv(void *ctx, struct sr_buf *out, size_t max_len, struct sr_err *err)
{
	struct pipe_end *e = ctx;
	struct queue *q = &e->h->q[e->to][e->from];
	struct msg *m;
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
		return sr_fail(err, SR_EIO, "test pipe: %s gave up", e->h->parties[e->to]);
	if (m->channel != e->channel)
		rc = sr_fail(err, SR_EPROTO, "test pipe: message on channel %u, expected %u",
			     m->channel, e->channel);
	else if (m->len > max_len)
		rc = sr_fail(err, SR_ELIMIT, "test pipe: %zu bytes over %zu", m->len, max_len);
	sr_buf_reset(out);
	if (rc == SR_OK && sr_buf_add(out, m->data, m->len))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	free(m);
	return rc;
}

/* A party that fails closes its queues so its peers stop waiting. */
static void close_party(struct harness *h, size_t p)
{
	for (size_t o = 0; o < h->nparties; o++) {
		struct queue *qs[2] = { &h->q[p][o], &h->q[o][p] };
		for (int k = 0; k < 2; k++) {
			pthread_mutex_lock(&qs[k]->lock);
			qs[k]->closed = 1;
			pthread_cond_broadcast(&qs[k]->cond);
			pthread_mutex_unlock(&qs[k]->lock);
		}
	}
}

/* ---- the context ------------------------------------------------------------ */

static int ctx_scan(void *impl, size_t input, const char *const *columns,
		    size_t ncolumns, struct sr_rows *out, struct sr_err *err)
{
	struct harness *h = impl;
	const struct kt_input *in = &h->job->inputs[input];

	return sr_rows_open_table(&in->table, in->policy->row_filter, columns,
				  ncolumns, out, err);
}

/* An organization's mask secret in tests: a hash of its org id, so that
 * the federated and the central runs derive the same keys. */
static int ctx_mask_key(void *impl, size_t input, const char *dataset,
			const char *receiver, uint8_t key[32], struct sr_err *err)
{
	const struct harness *h = impl;
	const char *owner = h->job->inputs[input].owner;
	uint8_t secret[32];

	crypto_generichash(secret, sizeof(secret), (const uint8_t *)owner,
			   strlen(owner), NULL, 0);
	sr_mask_derive_key(secret, dataset, receiver, key);
	return SR_OK;
}

static int party_mask_key(void *impl, size_t input, const char *dataset,
			  const char *receiver, uint8_t key[32], struct sr_err *err)
{
	struct party *me = impl;

	return ctx_mask_key(me->h, input, dataset, receiver, key, err);
}

static int party_pipe(void *impl, const char *peer, uint32_t channel,
		      struct sr_pipe *out, struct sr_err *err)
{
	struct party *me = impl;
	struct harness *h = me->h;
	struct pipe_end *e;
	size_t to = SIZE_MAX;

	for (size_t i = 0; i < h->nparties; i++)
		if (strcmp(h->parties[i], peer) == 0)
			to = i;
	if (to == SIZE_MAX || to == me->index)
		return sr_fail(err, SR_EINVAL, "test pipe: %s is not a peer", peer);
	if (me->nends == sizeof(me->ends) / sizeof(*me->ends))
		return sr_fail(err, SR_ELIMIT, "test pipe: too many pipes");
	e = &me->ends[me->nends++];
	e->h = h;
	e->from = me->index;
	e->to = to;
	e->channel = channel;
	out->ctx = e;
	out->send = end_send;
	out->recv = end_recv;
	return SR_OK;
}

static int party_scan(void *impl, size_t input, const char *const *columns,
		      size_t ncolumns, struct sr_rows *out, struct sr_err *err)
{
	struct party *me = impl;

	return ctx_scan(me->h, input, columns, ncolumns, out, err);
}

/* ctx->keep: in memory, handed to the outcome if every party succeeds. */
static int party_keep(void *impl, const char *name, const void *data, size_t len,
		      struct sr_err *err)
{
	struct party *me = impl;
	size_t k;

	for (k = 0; k < me->nkept && strcmp(me->kept_name[k], name) != 0; k++)
		;
	if (k == KT_KEEP_MAX || strlen(name) >= sizeof(me->kept_name[k]))
		return sr_fail(err, SR_ELIMIT, "test keep: too many artifacts or too long a name");
	free(me->kept[k]);
	if (!(me->kept[k] = malloc(len + 1)))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	memcpy(me->kept[k], data, len);
	me->kept[k][len] = 0;
	me->kept_len[k] = len;
	snprintf(me->kept_name[k], sizeof(me->kept_name[k]), "%s", name);
	if (k == me->nkept)
		me->nkept++;
	return SR_OK;
}

/* ctx->load_model from the job's model_job, model_of and model. */
static int load_model(const struct harness *h, const char *self, const char *job,
		      const char *owner, const char *name, json_t **train, struct sr_buf *data,
		      struct sr_err *err)
{
	const struct kt_job *m = h->job->model_of;
	const uint8_t *part;
	json_t *owners;
	size_t len;

	*train = NULL;
	if (self && strcmp(owner, self) != 0)
		return sr_fail(err, SR_EPERM, "test load_model: a party reads only its own parts");
	if (!h->job->model_job || strcmp(job, h->job->model_job) != 0 || !m ||
	    h->job->model->federated_rc)
		return sr_fail(err, SR_ENOTFOUND, "job %.16s is not a finished train job in this project",
			       job);
	if (name && !(part = kt_kept(h->job->model, owner, name, &len)))
		return sr_fail(err, SR_ENOTFOUND, "this node holds no part of model %.16s (%s)", job,
			       name);
	if (name) {
		sr_buf_reset(data);
		if (sr_buf_add(data, part, len) != SR_OK)
			return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	owners = json_array();
	for (size_t i = 0; owners && i < m->ninputs; i++)
		json_array_append_new(owners, json_string(m->inputs[i].owner));
	*train = json_pack("{s:O,s:o}", "spec", m->spec, "owners", owners);
	return *train ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
}

static int ctx_load_model(void *impl, const char *job, const char *owner, const char *name,
			  json_t **train, struct sr_buf *data, struct sr_err *err)
{
	return load_model(impl, NULL, job, owner, name, train, data, err);
}

static int party_load_model(void *impl, const char *job, const char *owner, const char *name,
			    json_t **train, struct sr_buf *data, struct sr_err *err)
{
	struct party *me = impl;

	return load_model(me->h, me->ctx.self, job, owner, name, train, data, err);
}

static void base_ctx(struct harness *h, struct sr_kind_ctx *c,
		     struct sr_kind_input *inputs, const char *self)
{
	memset(c, 0, sizeof(*c));
	c->spec = h->job->spec;
	c->self = self;
	c->parties = h->parties;
	c->nparties = h->nparties;
	for (size_t i = 0; i < h->nparties; i++)
		if (strcmp(h->parties[i], self) == 0)
			c->self_index = i;
	for (size_t i = 0; i < h->job->ninputs; i++) {
		inputs[i].dataset = h->job->inputs[i].dataset;
		inputs[i].owner = h->job->inputs[i].owner;
		inputs[i].spec = json_array_get(json_object_get(h->job->spec, "inputs"), i);
		inputs[i].policy = h->job->inputs[i].policy;
		inputs[i].local = strcmp(inputs[i].owner, self) == 0;
	}
	c->inputs = inputs;
	c->ninputs = h->job->ninputs;
	c->receivers = h->receivers;
	c->nreceivers = h->nreceivers;
	for (size_t i = 0; i < h->nreceivers; i++)
		c->receiver |= strcmp(h->receivers[i], self) == 0;
	c->session_id = h->session_id;
	c->session_id_len = sizeof(h->session_id);
}

static void *party_main(void *arg)
{
	struct party *me = arg;
	struct harness *h = me->h;

	sr_err_clear(&me->err);
	me->rc = h->kind->run(&me->ctx, &me->result, &me->err);
	if (me->rc == SR_OK && me->result && h->kind->release)
		me->rc = h->kind->release(&me->ctx, me->result, &me->err);
	if (me->rc)
		close_party(h, me->index);
	return NULL;
}

static void add_party(struct harness *h, const char *org)
{
	for (size_t i = 0; i < h->nparties; i++)
		if (strcmp(h->parties[i], org) == 0)
			return;
	assert_true(h->nparties < KT_MAX * 2);
	h->parties[h->nparties++] = org;
}

void kt_run(const struct kt_job *job, struct kt_outcome *out)
{
	struct harness *h = calloc(1, sizeof(*h));
	const json_t *recv = json_object_get(job->spec, "receivers");
	pthread_t threads[KT_MAX * 2];

	assert_non_null(h);
	memset(out, 0, sizeof(*out));
	h->job = job;
	h->kind = sr_kind_find(json_string_value(json_object_get(job->spec, "kind")));
	assert_non_null(h->kind);
	for (size_t i = 0; i < 32; i++)
		h->session_id[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < job->ninputs; i++)
		add_party(h, job->inputs[i].owner);
	for (size_t i = 0; i < json_array_size(recv) && i < KT_MAX; i++) {
		h->receivers[h->nreceivers++] = json_string_value(json_array_get(recv, i));
		add_party(h, h->receivers[i]);
	}
	for (size_t a = 0; a < KT_MAX * 2; a++)
		for (size_t b = 0; b < KT_MAX * 2; b++) {
			pthread_mutex_init(&h->q[a][b].lock, NULL);
			pthread_cond_init(&h->q[a][b].cond, NULL);
		}
	/* Federated: one thread per party, each seeing only its tables. */
	for (size_t p = 0; p < h->nparties; p++) {
		struct party *me = &h->party[p];
		me->h = h;
		me->index = p;
		base_ctx(h, &me->ctx, me->inputs, h->parties[p]);
		me->ctx.impl = me;
		me->ctx.scan = party_scan;
		me->ctx.pipe = party_pipe;
		me->ctx.mask_key = party_mask_key;
		me->ctx.keep = kt_no_keep ? NULL : party_keep;
		me->ctx.load_model = job->model_job ? party_load_model : NULL;
		assert_int_equal(pthread_create(&threads[p], NULL, party_main, me), 0);
	}
	for (size_t p = 0; p < h->nparties; p++)
		pthread_join(threads[p], NULL);
	out->nreceivers = h->nreceivers;
	for (size_t p = 0; p < h->nparties; p++) {
		struct party *me = &h->party[p];
		/* The first failure is the cause; others are peers giving up. */
		if (me->rc && (!out->federated_rc || out->federated_rc == SR_EIO))
			out->federated_rc = me->rc;
		out->party_rc[p] = me->rc;
		snprintf(out->federated_msg[p], sizeof(out->federated_msg[p]), "%s",
			 me->rc ? me->err.msg : "");
	}
	out->nparties = h->nparties;
	for (size_t p = 0; p < h->nparties; p++) {
		struct party *me = &h->party[p];
		out->party[p] = h->parties[p];
		for (size_t k = 0; k < me->nkept; k++) {
			if (out->federated_rc) {
				free(me->kept[k]);
				continue;
			}
			out->kept[p][k] = me->kept[k];
			out->kept_len[p][k] = me->kept_len[k];
			memcpy(out->kept_name[p][k], me->kept_name[k], sizeof(me->kept_name[k]));
		}
		out->nkept[p] = out->federated_rc ? 0 : me->nkept;
	}
	/* Central: run_central for each receiver on the pooled tables. */
	for (size_t r = 0; r < h->nreceivers; r++) {
		struct sr_kind_input inputs[KT_MAX];
		struct sr_kind_ctx c;
		struct sr_err err;

		out->receiver[r] = h->receivers[r];
		for (size_t p = 0; p < h->nparties; p++)
			if (strcmp(h->parties[p], h->receivers[r]) == 0) {
				out->federated[r] = h->party[p].rc ? NULL : h->party[p].result;
				if (h->party[p].rc)
					json_decref(h->party[p].result);
				h->party[p].result = NULL;
			}
		base_ctx(h, &c, inputs, h->receivers[r]);
		for (size_t i = 0; i < job->ninputs; i++)
			inputs[i].local = 1;
		c.impl = h;
		c.scan = ctx_scan;
		c.mask_key = ctx_mask_key;
		c.load_model = job->model_job ? ctx_load_model : NULL;
		sr_err_clear(&err);
		out->central_rc[r] = h->kind->run_central(&c, &out->central[r], &err);
		if (out->central_rc[r] == SR_OK && h->kind->release)
			out->central_rc[r] = h->kind->release(&c, out->central[r], &err);
		if (out->central_rc[r]) {
			json_decref(out->central[r]);
			out->central[r] = NULL;
		}
		snprintf(out->central_msg[r], sizeof(out->central_msg[r]), "%s",
			 out->central_rc[r] ? err.msg : "");
	}
	for (size_t p = 0; p < h->nparties; p++)
		json_decref(h->party[p].result);
	for (size_t a = 0; a < KT_MAX * 2; a++)
		for (size_t b = 0; b < KT_MAX * 2; b++) {
			struct msg *m = h->q[a][b].head;
			while (m) {
				struct msg *next = m->next;
				free(m);
				m = next;
			}
			pthread_mutex_destroy(&h->q[a][b].lock);
			pthread_cond_destroy(&h->q[a][b].cond);
		}
	free(h);
}

const uint8_t *kt_kept(const struct kt_outcome *out, const char *org, const char *name,
		       size_t *len)
{
	for (size_t p = 0; p < out->nparties; p++)
		for (size_t k = 0; strcmp(out->party[p], org) == 0 && k < out->nkept[p]; k++)
			if (strcmp(out->kept_name[p][k], name) == 0) {
				*len = out->kept_len[p][k];
				return out->kept[p][k];
			}
	*len = 0;
	return NULL;
}

void kt_outcome_release(struct kt_outcome *out)
{
	for (size_t p = 0; p < KT_MAX * 2; p++)
		for (size_t k = 0; k < KT_KEEP_MAX; k++)
			free(out->kept[p][k]);
	for (size_t r = 0; r < KT_MAX; r++) {
		json_decref(out->federated[r]);
		json_decref(out->central[r]);
	}
	memset(out, 0, sizeof(*out));
}

/* ---- comparing results --------------------------------------------------------- */

static int cmp_rows(const void *a, const void *b)
{
	char *x = json_dumps(*(json_t *const *)a, JSON_COMPACT | JSON_SORT_KEYS);
	char *y = json_dumps(*(json_t *const *)b, JSON_COMPACT | JSON_SORT_KEYS);
	int c = strcmp(x ? x : "", y ? y : "");

	free(x);
	free(y);
	return c;
}

static int same_rows(const json_t *a, const json_t *b)
{
	size_t n = json_array_size(a);
	json_t **x, **y;
	int same = 1;

	if (!json_is_array(a) || !json_is_array(b) || n != json_array_size(b))
		return 0;
	x = calloc(n + 1, sizeof(*x));
	y = calloc(n + 1, sizeof(*y));
	assert_true(x && y);
	for (size_t i = 0; i < n; i++) {
		x[i] = json_array_get(a, i);
		y[i] = json_array_get(b, i);
	}
	qsort(x, n, sizeof(*x), cmp_rows);
	qsort(y, n, sizeof(*y), cmp_rows);
	for (size_t i = 0; same && i < n; i++)
		same = json_equal(x[i], y[i]);
	free(x);
	free(y);
	return same;
}

int kt_same_result(const json_t *a, const json_t *b, const char *const *meta_keys)
{
	if (!a || !b)
		return 0;
	if (!json_equal(json_object_get(a, "columns"), json_object_get(b, "columns")) ||
	    !same_rows(json_object_get(a, "rows"), json_object_get(b, "rows")))
		return 0;
	for (size_t i = 0; meta_keys && meta_keys[i]; i++) {
		const json_t *x = json_object_get(json_object_get(a, "meta"), meta_keys[i]);
		const json_t *y = json_object_get(json_object_get(b, "meta"), meta_keys[i]);
		if ((x || y) && !json_equal(x, y))
			return 0;
	}
	return 1;
}

struct sr_policy *kt_policy(const char *text, const char *const *names,
			    const enum sr_type *types, size_t n)
{
	struct sr_policy *p = calloc(1, sizeof(*p));
	struct sr_err err;

	assert_non_null(p);
	sr_err_clear(&err);
	sr_policy_init(p);
	if (sr_policy_parse(text, strlen(text), "test policy", p, &err) != SR_OK ||
	    sr_policy_bind(p, names, types, n, &err) != SR_OK)
		fail_msg("policy: %s", err.msg);
	return p;
}

void kt_policy_free(struct sr_policy *p)
{
	if (!p)
		return;
	sr_policy_release(p);
	free(p);
}

int kt_has_rule(const struct sr_verdict *v, const char *rule)
{
	for (size_t i = 0; i < v->count; i++)
		if (strcmp(v->violations[i].rule, rule) == 0)
			return 1;
	return 0;
}
