/*
 * psi.c - PSI entry points: parameter checks, the sender's and the
 * receiver's runs (two-party and multi-party) built from the pair steps
 * of psi_pair.c, the agreed output order, and "no partial output".
 * Protocol and leakage: docs/protocols/psi.md.
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "psi/kkrt.h"
#include "psi/psi_int.h"
#include "base/banned.h"

/* ---- parameters and results --------------------------------------------- */

/* Defaults (psi.h); the session id is left for the caller to set. */
void sr_psi_params_init(struct sr_psi_params *params)
{
	memset(params, 0, sizeof(*params));
	params->mode = SR_PSI_INTERSECTION;
	params->output = SR_PSI_TO_RECEIVER;
	params->parties = 2;
	params->protocol = SR_PSI_PROTO_AUTO;
}

enum sr_psi_protocol sr_psi_protocol_of(const struct sr_psi_params *params)
{
	if (params->protocol != SR_PSI_PROTO_AUTO)
		return params->protocol;
	return params->mode == SR_PSI_INTERSECTION ? SR_PSI_PROTO_KKRT : SR_PSI_PROTO_ECDH;
}

const char *sr_psi_protocol_name(enum sr_psi_protocol protocol)
{
	switch (protocol) {
	case SR_PSI_PROTO_AUTO: return "auto";
	case SR_PSI_PROTO_ECDH: return "ecdh";
	case SR_PSI_PROTO_KKRT: return "kkrt";
	}
	return "unknown";
}

int sr_psi_protocol_parse(const char *name, enum sr_psi_protocol *protocol,
			  struct sr_err *err)
{
	static const enum sr_psi_protocol all[] = {
		SR_PSI_PROTO_AUTO, SR_PSI_PROTO_ECDH, SR_PSI_PROTO_KKRT,
	};

	for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(name, sr_psi_protocol_name(all[i])) == 0) {
			*protocol = all[i];
			return SR_OK;
		}
	return sr_fail(err, SR_EINVAL,
		       "unknown psi protocol '%.40s' (expected auto, ecdh or kkrt)",
		       name ? name : "");
}

/* Empty result, nothing allocated. */
void sr_psi_result_init(struct sr_psi_result *res)
{
	memset(res, 0, sizeof(*res));
}

/* Frees rows (sr_free) and empties the result. */
void sr_psi_result_release(struct sr_psi_result *res)
{
	sr_free(res->rows);
	sr_psi_result_init(res);
}

/* ceil(log2(x)) for x >= 1 */
static unsigned ceil_log2(uint64_t x)
{
	unsigned bits = 0;

	while (bits < 64 && ((uint64_t)1 << bits) < x)
		bits++;
	return bits;
}

/*
 * Truncation (docs/protocols/psi.md): any two of the N = n_R + n_S
 * distinct double-blinded points must not share a tag, except with
 * probability C(N, 2) * 2^-8t <= 2^-40.  Sizes above SR_PSI_SET_MAX are a
 * bug (the hello rejects them first).
 */
unsigned sr_psi_tag_bytes(uint64_t n_receiver, uint64_t n_sender)
{
	uint64_t n = n_receiver + n_sender;
	uint64_t pairs;
	unsigned bits, bytes;

	if (n_receiver > SR_PSI_SET_MAX || n_sender > SR_PSI_SET_MAX)
		SR_BUG("sr_psi_tag_bytes beyond SR_PSI_SET_MAX");
	/* Pairs of distinct elements that must not collide: C(N, 2). */
	pairs = n < 2 ? 1 : n / 2 * (n - 1) + (n % 2 ? (n - 1) / 2 : 0);
	bits = 40 + ceil_log2(pairs);
	bytes = (bits + 7) / 8;
	if (bytes > SR_PSI_TAG_MAX)
		SR_BUG("tag longer than SR_PSI_TAG_MAX");
	return bytes;
}

/* KKRT (psi.h): C(n_R, 2) + 3 n_R n_S pairs must not collide; at most
 * 2^51 + 3 * 2^52 < 2^55 pairs at SR_PSI_SET_MAX, 95 bits: 12 bytes. */
unsigned sr_psi_kkrt_tag_bytes(uint64_t n_receiver, uint64_t n_sender)
{
	uint64_t pairs;
	unsigned bytes;

	if (n_receiver > SR_PSI_SET_MAX || n_sender > SR_PSI_SET_MAX)
		SR_BUG("sr_psi_kkrt_tag_bytes beyond SR_PSI_SET_MAX");
	pairs = (n_receiver < 2 ? 0 : n_receiver / 2 * (n_receiver - 1) +
		 (n_receiver % 2 ? (n_receiver - 1) / 2 : 0)) +
		3 * n_receiver * n_sender;
	bytes = (40 + ceil_log2(pairs ? pairs : 1) + 7) / 8;
	if (bytes > SR_PSI_TAG_MAX)
		SR_BUG("tag longer than SR_PSI_TAG_MAX");
	return bytes;
}

static int check_params(const struct sr_psi_params *p, struct sr_err *err)
{
	if (!p->session_id || p->session_id_len == 0 ||
	    p->session_id_len > SR_PSI_SESSION_ID_MAX)
		return sr_fail(err, SR_EINVAL,
			       "psi: the session id must be 1 to %d bytes",
			       SR_PSI_SESSION_ID_MAX);
	if (p->mode != SR_PSI_INTERSECTION && p->mode != SR_PSI_CARDINALITY)
		return sr_fail(err, SR_EINVAL, "psi: unknown mode %d", p->mode);
	if (p->output != SR_PSI_TO_RECEIVER && p->output != SR_PSI_TO_BOTH)
		return sr_fail(err, SR_EINVAL, "psi: unknown output %d", p->output);
	if (p->normalize & ~SR_PSI_NORM_ALL)
		return sr_fail(err, SR_EINVAL, "psi: unknown normalization flags 0x%x",
			       p->normalize);
	if (p->parties < 2 || p->parties > SR_PSI_PARTIES_MAX)
		return sr_fail(err, SR_EINVAL,
			       "psi: %u parties, expected 2 to %d", p->parties,
			       SR_PSI_PARTIES_MAX);
	if (p->batch > SR_PSI_BATCH_MAX)
		return sr_fail(err, SR_EINVAL,
			       "psi: batch of %u points, at most %d (SR_PSI_BATCH_MAX)",
			       p->batch, SR_PSI_BATCH_MAX);
	if (p->mode == SR_PSI_CARDINALITY && p->parties != 2)
		return sr_fail(err, SR_EINVAL,
			       "psi: cardinality mode is for two parties only");
	if (p->protocol != SR_PSI_PROTO_AUTO && p->protocol != SR_PSI_PROTO_ECDH &&
	    p->protocol != SR_PSI_PROTO_KKRT)
		return sr_fail(err, SR_EINVAL, "psi: unknown protocol %d", p->protocol);
	if (p->protocol == SR_PSI_PROTO_KKRT && p->mode != SR_PSI_INTERSECTION)
		return sr_fail(err, SR_EINVAL,
			       "psi: protocol kkrt runs intersection only (use ecdh or auto for cardinality)");
	return SR_OK;
}

/* ---- sender ------------------------------------------------------------- */

static int run_sender(const struct sr_psi_params *p, struct sr_psi_source *src,
		      const struct sr_pipe *io, struct sr_psi_result *res,
		      struct sr_err *err)
{
	struct sr_psi_set set;
	struct sr_psi_pair pr;
	int rc;

	sr_psi_set_init(&set);
	sr_psi_pair_init(&pr, io, &res->stats);
	rc = sr_psi_set_build(&set, p, src, &res->stats, err);
	if (rc)
		goto out;
	rc = sr_psi_pair_hello(&pr, SR_PSI_SENDER, p, set.n, err);
	if (rc)
		goto out;
	res->stats.peer_set_size = pr.peer.set_size;
	res->stats.tag_bytes = pr.tag_bytes;
	if (res->stats.protocol == SR_PSI_PROTO_KKRT) {
		rc = sr_psi_kkrt_send(&pr, &set, p, err);
	} else {
		rc = sr_psi_pair_exchange(&pr, SR_PSI_SENDER, &set, p, err);
		if (rc)
			goto out;
		sr_psi_set_drop_points(&set);
		rc = sr_psi_pair_send_tags(&pr, p, err);
	}
	if (rc)
		goto out;
	rc = sr_psi_pair_recv_end(&pr, &set, p, res, err);
out:
	sr_psi_pair_release(&pr);
	sr_psi_set_release(&set);
	return rc;
}

/* ---- receiver ----------------------------------------------------------- */

struct ordered {
	uint8_t tag[SR_PSI_TAG_MAX];
	uint32_t pos;
};

static int cmp_ordered(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;
	int c = memcmp(x->tag, y->tag, SR_PSI_TAG_MAX);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Everything with helper h up to matching.  match (set->n entries, NULL
 * in cardinality mode) receives the helper's position for each of ours.
 */
static int pair_with_helper(struct sr_psi_pair *pr, int last,
			    struct sr_psi_set *set, const struct sr_psi_params *p,
			    uint32_t *match, uint64_t *matched,
			    struct sr_psi_stats *stats, struct sr_err *err)
{
	int rc;

	rc = sr_psi_pair_hello(pr, SR_PSI_RECEIVER, p, set->n, err);
	if (rc)
		return rc;
	stats->peer_set_size += pr->peer.set_size;
	if (stats->protocol == SR_PSI_PROTO_KKRT)
		return sr_psi_kkrt_receive(pr, set, p, match, matched, err);
	rc = sr_psi_pair_exchange(pr, SR_PSI_RECEIVER, set, p, err);
	if (rc)
		return rc;
	if (last)
		sr_psi_set_drop_points(set);
	rc = sr_psi_pair_recv_tags(pr, set->n, p, err);
	if (rc)
		return rc;
	if (p->progress)
		p->progress(p->progress_ctx, "matching", 0, set->n);
	return sr_psi_pair_match(pr, set->n, match, matched, err);
}

/*
 * Our positions present at every helper, in the agreed order: by the tag
 * of the first pair (a value neither party's row order influences), then
 * by position.
 */
static int final_order(const struct sr_psi_pair *first, uint32_t *const *match,
		       size_t nh, size_t n, struct ordered **out,
		       size_t *count, struct sr_err *err)
{
	struct ordered *order = sr_malloc((n ? n : 1) * sizeof(*order));
	size_t k = 0;

	*out = NULL;
	*count = 0;
	if (!order)
		return sr_fail(err, SR_ENOMEM, "psi: out of memory ordering %zu keys", n);
	for (size_t i = 0; i < n; i++) {
		size_t h = 0;
		while (h < nh && match[h][i] != SR_PSI_POS_NONE)
			h++;
		if (h < nh)
			continue;
		memset(order[k].tag, 0, SR_PSI_TAG_MAX);
		memcpy(order[k].tag, first->own_tags + i * first->tag_bytes,
		       first->tag_bytes);
		order[k].pos = (uint32_t)i;
		k++;
	}
	qsort(order, k, sizeof(*order), cmp_ordered);
	*out = order;
	*count = k;
	return SR_OK;
}

/* Tell helper h its positions of the final keys, in the agreed order. */
static int send_to_helper(struct sr_psi_pair *pr, const struct sr_psi_params *p,
			  const struct ordered *order, size_t count,
			  const uint32_t *match, struct sr_err *err)
{
	uint32_t *peer_pos = NULL;
	int rc;

	if (p->output == SR_PSI_TO_BOTH && p->mode == SR_PSI_INTERSECTION) {
		peer_pos = sr_malloc((count ? count : 1) * sizeof(*peer_pos));
		if (!peer_pos)
			return sr_fail(err, SR_ENOMEM, "psi: out of memory for the result");
		for (size_t k = 0; k < count; k++)
			peer_pos[k] = match[order[k].pos];
	}
	rc = sr_psi_pair_send_result(pr, p, peer_pos, count, err);
	sr_free(peer_pos);
	return rc;
}

/*
 * The pairs of a multi-party receiver run at the same time, one thread
 * each (the first on the calling thread), sharing the set (read only) and
 * the pool; each has its own stats, summed at the end.  A pair that is
 * done sends its helper a WAIT every SR_PSI_WAIT_MS until every pair is
 * done, so that no helper's transport times out.  The first pair to fail
 * stops the others at their next message.
 */
struct star {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t finished;           /* pairs done, failed or not */
	size_t nh;
	atomic_int stop;
};

struct helper_run {
	struct star *star;
	struct sr_psi_pair *pr;
	struct sr_psi_params p;    /* a copy: progress only from the first */
	struct sr_psi_set *set;
	uint32_t *match;
	uint64_t matched;
	struct sr_psi_stats stats;
	struct sr_err err;
	int rc;
	int last;                  /* may drop the set's points after its exchange */
	int keeps_order;           /* the first pair: its own tags give the order */
	pthread_t thread;
	int threaded;
};

static void star_wait(struct helper_run *r)
{
	struct star *st = r->star;
	struct timespec until;

	pthread_mutex_lock(&st->lock);
	st->finished++;
	pthread_cond_broadcast(&st->cond);
	while (st->finished < st->nh) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)SR_PSI_WAIT_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&st->cond, &st->lock, &until) != ETIMEDOUT ||
		    st->finished >= st->nh || r->rc || atomic_load(&st->stop))
			continue;
		pthread_mutex_unlock(&st->lock);
		r->rc = sr_psi_pair_send_wait(r->pr, &r->err);
		if (r->rc)
			atomic_store(&st->stop, 1);
		pthread_mutex_lock(&st->lock);
	}
	pthread_mutex_unlock(&st->lock);
}

static void helper_pair(struct helper_run *r)
{
	r->rc = pair_with_helper(r->pr, r->last, r->set, &r->p, r->match,
				 &r->matched, &r->stats, &r->err);
	if (r->rc == SR_OK) {
		/* Only the first pair's own tags are kept: they give the order. */
		sr_free(r->pr->peer_tags);
		r->pr->peer_tags = NULL;
		if (!r->keeps_order) {
			sr_free(r->pr->own_tags);
			r->pr->own_tags = NULL;
		}
	} else {
		atomic_store(&r->star->stop, 1);
	}
	star_wait(r);
}

static void *helper_thread(void *arg)
{
	helper_pair(arg);
	return NULL;
}

static int run_receiver(const struct sr_psi_params *p, struct sr_psi_source *src,
			const struct sr_pipe *helpers, size_t nh,
			struct sr_psi_result *res, struct sr_err *err)
{
	struct sr_psi_set set;
	struct sr_psi_pair *prs = NULL;
	struct helper_run *runs = NULL;
	uint32_t **match = NULL;
	struct ordered *order = NULL;
	uint64_t *rows = NULL;
	struct star st;
	size_t final = 0, h = 0;
	int rc;

	sr_psi_set_init(&set);
	prs = sr_calloc(nh, sizeof(*prs));
	match = sr_calloc(nh, sizeof(*match));
	runs = sr_calloc(nh, sizeof(*runs));
	if (!prs || !match || !runs) {
		sr_free(prs);
		sr_free(match);
		sr_free(runs);
		return sr_fail(err, SR_ENOMEM, "psi: out of memory");
	}
	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.lock, NULL);
	pthread_cond_init(&st.cond, NULL);
	st.nh = nh;
	atomic_init(&st.stop, 0);
	for (size_t i = 0; i < nh; i++) {
		struct helper_run *r = &runs[i];
		r->star = &st;
		r->pr = &prs[i];
		r->p = *p;
		if (i > 0)
			r->p.progress = NULL;
		r->set = &set;
		r->last = nh == 1;
		r->keeps_order = i == 0;
		r->stats.protocol = res->stats.protocol;
		sr_err_clear(&r->err);
		sr_psi_pair_init(&prs[i], &helpers[i], &r->stats);
		if (nh > 1)
			prs[i].link.stop = &st.stop;
	}
	rc = sr_psi_set_build(&set, p, src, &res->stats, err);
	if (rc)
		goto out;
	set.shared = nh > 1;
	for (h = 0; h < nh; h++) {
		if (p->mode != SR_PSI_INTERSECTION)
			continue;
		match[h] = sr_malloc((set.n ? set.n : 1) * sizeof(uint32_t));
		if (!match[h]) {
			rc = sr_fail(err, SR_ENOMEM, "psi: out of memory");
			goto out;
		}
		runs[h].match = match[h];
	}
	/* A helper whose thread cannot start runs after the first, here. */
	for (h = 1; h < nh; h++)
		runs[h].threaded =
			pthread_create(&runs[h].thread, NULL, helper_thread, &runs[h]) == 0;
	helper_pair(&runs[0]);
	for (h = 1; h < nh; h++)
		if (!runs[h].threaded)
			helper_pair(&runs[h]);
	for (h = 1; h < nh; h++)
		if (runs[h].threaded)
			pthread_join(runs[h].thread, NULL);
	/* The first failure that is not a stop caused by another one. */
	for (h = 0; h < nh; h++)
		if (runs[h].rc && runs[h].rc != SR_ECANCELED)
			break;
	if (h == nh)
		for (h = 0; h < nh && !runs[h].rc; h++)
			;
	if (h < nh) {
		rc = runs[h].rc;
		*err = runs[h].err;
		goto helper_failed;
	}
	sr_psi_set_drop_points(&set);
	if (p->mode == SR_PSI_CARDINALITY)
		final = (size_t)runs[0].matched;
	res->stats.tag_bytes = prs[0].tag_bytes;
	if (p->mode == SR_PSI_INTERSECTION) {
		rc = final_order(&prs[0], match, nh, set.n, &order, &final, err);
		if (rc)
			goto out;
		rows = sr_malloc((final ? final : 1) * sizeof(*rows));
		if (!rows) {
			rc = sr_fail(err, SR_ENOMEM, "psi: out of memory");
			goto out;
		}
		for (size_t k = 0; k < final; k++)
			rows[k] = set.rows[order[k].pos];
	}
	for (h = 0; h < nh; h++) {
		rc = send_to_helper(&prs[h], p, order, final, match[h], err);
		if (rc)
			goto helper_failed;
	}
	res->has_size = 1;
	res->stats.intersection_size = final;
	if (p->mode == SR_PSI_INTERSECTION) {
		res->rows = rows;
		res->rows_len = final;
		rows = NULL;
	}
	goto out;
helper_failed:
	if (nh > 1)
		sr_err_prefix(err, "helper %zu of %zu", h + 1, nh);
out:
	for (size_t i = 0; i < nh; i++) {
		res->stats.peer_set_size += runs[i].stats.peer_set_size;
		res->stats.bytes_sent += runs[i].stats.bytes_sent;
		res->stats.bytes_received += runs[i].stats.bytes_received;
		sr_psi_pair_release(&prs[i]);
		sr_free(match[i]);
	}
	pthread_cond_destroy(&st.cond);
	pthread_mutex_destroy(&st.lock);
	sr_free(prs);
	sr_free(match);
	sr_free(runs);
	sr_free(order);
	sr_free(rows);
	sr_psi_set_release(&set);
	return rc;
}

/* ---- entry points ------------------------------------------------------- */

static int finish(int rc, struct sr_psi_result *out, struct sr_err *mine,
		  struct sr_err *err)
{
	if (rc) {
		/* No partial output: rows and size only on success. */
		sr_free(out->rows);
		out->rows = NULL;
		out->rows_len = 0;
		out->has_size = 0;
		out->stats.intersection_size = 0;
		if (mine->code == SR_OK)
			mine->code = rc;
		if (err)
			*err = *mine;
	}
	return rc;
}

/* Two-party run (psi.h): no rows or size in out unless it returns SR_OK. */
int sr_psi_run(enum sr_psi_role role, const struct sr_psi_params *params,
	       struct sr_psi_source *src, const struct sr_pipe *io,
	       struct sr_psi_result *out, struct sr_err *err)
{
	struct sr_err e;
	int rc;

	sr_err_clear(&e);
	sr_psi_result_init(out);
	if (!params || !src || !src->next || !io || !io->send || !io->recv)
		return finish(sr_fail(&e, SR_EINVAL, "psi: missing params, source or transport"),
			      out, &e, err);
	rc = check_params(params, &e);
	if (rc)
		return finish(rc, out, &e, err);
	out->stats.protocol = sr_psi_protocol_of(params);
	if (role == SR_PSI_RECEIVER) {
		if (params->parties != 2)
			return finish(sr_fail(&e, SR_EINVAL,
					      "psi: a receiver of %u parties runs sr_psi_run_multi",
					      params->parties), out, &e, err);
		rc = run_receiver(params, src, io, 1, out, &e);
	} else if (role == SR_PSI_SENDER) {
		rc = run_sender(params, src, io, out, &e);
	} else {
		rc = sr_fail(&e, SR_EINVAL, "psi: unknown role %d", role);
	}
	return finish(rc, out, &e, err);
}

/* Multi-party receiver (psi.h): one pair per helper, all at once. */
int sr_psi_run_multi(const struct sr_psi_params *params,
		     struct sr_psi_source *src, const struct sr_pipe *helpers,
		     size_t helpers_len, struct sr_psi_result *out,
		     struct sr_err *err)
{
	struct sr_err e;
	int rc;

	sr_err_clear(&e);
	sr_psi_result_init(out);
	if (!params || !src || !src->next || !helpers || helpers_len == 0)
		return finish(sr_fail(&e, SR_EINVAL, "psi: missing params, source or helpers"),
			      out, &e, err);
	for (size_t h = 0; h < helpers_len; h++)
		if (!helpers[h].send || !helpers[h].recv)
			return finish(sr_fail(&e, SR_EINVAL,
					      "psi: helper %zu has no transport", h + 1),
				      out, &e, err);
	rc = check_params(params, &e);
	if (rc == SR_OK && params->parties != helpers_len + 1)
		rc = sr_fail(&e, SR_EINVAL,
			     "psi: %u parties declared but %zu helpers given",
			     params->parties, helpers_len);
	out->stats.protocol = sr_psi_protocol_of(params);
	if (rc == SR_OK)
		rc = run_receiver(params, src, helpers, helpers_len, out, &e);
	return finish(rc, out, &e, err);
}
