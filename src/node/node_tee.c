/*
 * node_tee.c - TEE mode in the job runner (DESIGN §9, docs/tee.md,
 * docs/protocols/tee.md): a job whose spec has "tee": {"executor": ORG,
 * ...} runs at that executor (a node started by 'sealroom executor')
 * instead of as the federated protocol.  Three roles, all over the job
 * channel (through the coordinator's relay or the direct path; sealed
 * end to end either way), logical channel 1 between the executor and
 * each other party:
 *
 *   verifier (every owner and receiver) - before anything else, the
 *     attestation handshake (tee/executor.c) with its own nonce against
 *     its policies: an owner its own inputs' tee sections, a receiver
 *     that owns nothing every input's; the trusted measurements are those
 *     both the policy and the approved spec list.  A failure refuses the
 *     job, naming the check.  Then it answers the executor's requests:
 *       'S' scan   input, columns  -> an owner scans its approved
 *                  version (row_filter applied, exactly those columns,
 *                  the access log written) and sends batches 'B' sealed
 *                  to the executor's ephemeral key (crypto_box_seal),
 *                  then 'E';
 *       'K' an artifact (name, data) sealed to the party's ephemeral key,
 *                  which it keeps through its keep path (TEE train: the
 *                  model part federated training would leave it);
 *       'M' model  job, name     -> an owner reads its kept artifact of
 *                  that job (the spec's "model" only) through its
 *                  load_model and sends it 'P' sealed to the executor, or
 *                  'X' with its error, and then fails itself;
 *       'R' result sealed to the receiver's ephemeral key;
 *       'D' done.
 *   executor - serves one handshake per party, runs the kind's
 *     run_central and release once per receiver, with scans (and model
 *     parts, ctx->load_model) that ask the owners and ctx->keep_at that
 *     hands each owner its artifacts (first receiver's run only), seals
 *     each result to its receiver, then says done to all.
 *     Inputs arrive batch by batch and each batch is wiped when the next
 *     comes or the scan closes.
 */
#include "node/node_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "kinds/kind.h"
#include "node/node_tee.h"
#include "policy/policy.h"
#include "store/vec.h"
#include "tee/tee.h"
#include "base/banned.h"

#define TEE_CHANNEL 1
#define SLICE_ROWS 8192
#define MSG_MAX ((size_t)SR_FRAME_MAX)
#define SEALBYTES crypto_box_SEALBYTES

struct node_tee {
	struct sr_node *n;
	const char *executor;          /* org id (in the spec) */
	int is_executor;
	/* executor */
	uint8_t pk[32], sk[32];
	uint8_t (*receiver_keys)[32];  /* per party */
	/* verifier */
	uint8_t rpk[32], rsk[32];      /* its receiver key pair */
	struct sr_tee_verified verified;
	struct sr_pipe *pipes;         /* per party (executor) or [0] */
	int *have_pipe;
};

const char *node_tee_executor(const json_t *spec)
{
	return json_string_value(json_object_get(json_object_get(spec, "tee"), "executor"));
}

void node_tee_free(struct node_tee *t)
{
	if (!t)
		return;
	sodium_memzero(t->sk, sizeof(t->sk));
	sodium_memzero(t->rsk, sizeof(t->rsk));
	sr_free(t->receiver_keys);
	sr_free(t->pipes);
	sr_free(t->have_pipe);
	sr_free(t);
}

static int get_pipe(struct node_tee *t, const struct sr_kind_ctx *kc, size_t party,
		    struct sr_pipe **out, struct sr_err *err)
{
	if (!t->have_pipe[party]) {
		int rc = sr_kind_pipe(kc, kc->parties[party], TEE_CHANNEL, &t->pipes[party], err);
		if (rc)
			return rc;
		t->have_pipe[party] = 1;
	}
	*out = &t->pipes[party];
	return SR_OK;
}

static size_t party_index(const struct sr_kind_ctx *kc, const char *org)
{
	for (size_t i = 0; i < kc->nparties; i++)
		if (strcmp(kc->parties[i], org) == 0)
			return i;
	return SIZE_MAX;
}

/* ---- counters seen per executor (check 9) --------------------------------- */

/* Lock held. */
static int seen_load(struct sr_node *n, const char *executor, struct sr_tee_counters *c,
		     int *has, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;

	*has = 0;
	if (sqlite3_exec(n->db, "CREATE TABLE IF NOT EXISTS node_tee_seen(executor TEXT PRIMARY KEY,"
			 " clock_ms INTEGER, reset_count INTEGER, restart_count INTEGER)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(n->db, "SELECT clock_ms, reset_count, restart_count FROM node_tee_seen"
			       " WHERE executor = ?", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return sr_fail(err, SR_EIO, "node.db: tee counters: %s", sqlite3_errmsg(n->db));
	}
	sqlite3_bind_text(st, 1, executor, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		c->clock_ms = (uint64_t)sqlite3_column_int64(st, 0);
		c->reset_count = (uint32_t)sqlite3_column_int64(st, 1);
		c->restart_count = (uint32_t)sqlite3_column_int64(st, 2);
		*has = 1;
	}
	sqlite3_finalize(st);
	return SR_OK;
}

/* Lock held. */
static int seen_store(struct sr_node *n, const char *executor, const struct sr_tee_counters *c,
		      struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	if (sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO node_tee_seen(executor, clock_ms,"
			       " reset_count, restart_count) VALUES (?,?,?,?)", -1, &st, NULL) != SQLITE_OK) {
		rc = sr_fail(err, SR_EIO, "node.db: tee counters: %s", sqlite3_errmsg(n->db));
	} else {
		sqlite3_bind_text(st, 1, executor, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)c->clock_ms);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)c->reset_count);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)c->restart_count);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sr_fail(err, SR_EIO, "node.db: tee counters: %s", sqlite3_errmsg(n->db));
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- verifier ------------------------------------------------------------- */

struct trust {
	struct sr_tee_policy pol;
	struct sr_buf ca;
	uint8_t (*ms)[32];
};

/* What input i's policy trusts, narrowed to the spec's measurements. */
static int trust_of(const struct sr_kind_ctx *kc, size_t i, struct trust *t,
		    struct sr_err *err)
{
	const struct sr_policy_tee *pt = &kc->inputs[i].policy->tee;
	const json_t *ms = json_object_get(json_object_get(kc->spec, "tee"), "measurements");

	sr_buf_init(&t->ca, SR_BUF_UNBOUNDED);
	t->ms = sr_calloc(pt->nmeasurements ? pt->nmeasurements : 1, sizeof(*t->ms));
	if (!t->ms)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (!pt->allow)
		return sr_fail(err, SR_EPOLICY, "%s does not allow TEE mode", kc->inputs[i].dataset);
	for (size_t k = 0; k < pt->nca; k++)
		if (sr_buf_addstr(&t->ca, pt->ca[k]) || sr_buf_addch(&t->ca, '\n'))
			return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t k = 0; k < pt->nmeasurements; k++)
		for (size_t j = 0; j < json_array_size(ms); j++) {
			uint8_t m[32];
			struct sr_err ignore;
			if (sr_policy_measurement_parse(json_array_get(ms, j), "spec", "tee", m, &ignore) == SR_OK &&
			    memcmp(m, pt->measurements[k], 32) == 0) {
				memcpy(t->ms[t->pol.n_measurements++], m, 32);
				break;
			}
		}
	t->pol.ca_pem = t->ca.data;
	t->pol.ca_pem_len = t->ca.len;
	t->pol.measurements = (const uint8_t (*)[32])t->ms;
	return SR_OK;
}

static int verify_executor(struct node_tee *t, const struct sr_kind_ctx *kc, json_t **start_info,
			   struct sr_err *err)
{
	struct trust *tr = sr_calloc(kc->ninputs, sizeof(*tr));
	struct sr_tee_policy *pols = sr_calloc(kc->ninputs, sizeof(*pols));
	struct sr_tee_counters last;
	size_t np = 0, ex = party_index(kc, t->executor);
	struct sr_pipe *pipe;
	int any_local = 0, has = 0, rc = SR_OK;

	if (!tr || !pols) {
		sr_free(tr);
		sr_free(pols);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < kc->ninputs; i++)
		any_local |= kc->inputs[i].local;
	pthread_mutex_lock(&t->n->lock);
	rc = seen_load(t->n, t->executor, &last, &has, err);
	pthread_mutex_unlock(&t->n->lock);
	for (size_t i = 0; rc == SR_OK && i < kc->ninputs; i++) {
		if (any_local && !kc->inputs[i].local)
			continue;
		rc = trust_of(kc, i, &tr[i], err);
		pols[np] = tr[i].pol;
		pols[np].has_last = has;
		pols[np].last_seen = last;
		np++;
	}
	if (rc == SR_OK && ex == SIZE_MAX)
		rc = sr_fail(err, SR_EINVAL, "the executor %s is not a participant", t->executor);
	if (rc == SR_OK)
		rc = get_pipe(t, kc, ex, &pipe, err);
	if (rc == SR_OK) {
		sr_kind_progress(kc, "verifying the executor's attestation", 0, 0);
		/* Every verifier sends a key: receivers get the result sealed to
		 * it, owners the artifacts they keep ('K'). */
		rc = sr_tee_handshake_verify(pipe, pols, np, t->rpk, &t->verified, err);
		if (rc)
			sr_err_prefix(err, "the executor %.16s is refused", t->executor);
	}
	if (rc == SR_OK) {
		pthread_mutex_lock(&t->n->lock);
		rc = seen_store(t->n, t->executor, &t->verified.seen, err);
		pthread_mutex_unlock(&t->n->lock);
	}
	if (rc == SR_OK) {
		char hex[2 * SR_TEE_DIGEST_BYTES + 1];
		json_t *ms = json_array();
		sr_hex(hex, t->verified.quote_hash, sizeof(t->verified.quote_hash));
		for (size_t k = 0; ms && k < t->verified.n_measurements; k++) {
			char m[SR_POLICY_MEASUREMENT_TEXT_MAX + 1];
			sr_policy_measurement_format(t->verified.measurements[k], m);
			if (json_array_append_new(ms, json_string(m))) {
				json_decref(ms);
				ms = NULL;
			}
		}
		*start_info = ms ? json_pack("{s:s,s:o,s:s}", "executor", t->executor,
					     "measurements", ms, "quote_hash", hex) : NULL;
		if (!*start_info)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		sr_log_info("tee: the executor %.16s passed the nine checks (quote %.16s)",
			    t->executor, hex);
	}
	for (size_t i = 0; i < kc->ninputs; i++) {
		sr_buf_release(&tr[i].ca);
		sr_free(tr[i].ms);
	}
	sr_free(tr);
	sr_free(pols);
	return rc;
}

/* ---- the rows' wire form --------------------------------------------------- */

static size_t value_size(enum sr_type type)
{
	switch (type) {
	case SR_TYPE_INT64:
	case SR_TYPE_FLOAT64: return 8;
	case SR_TYPE_DATE: return 4;
	case SR_TYPE_BOOL: return 1;
	default: return 0;
	}
}

/* 'B' rows [a, b) of the batch: u32 rows, u32 cols, row ids, then per
 * column u8 type, the null bits, values (strings: u32 length, bytes). */
static int encode_slice(const struct sr_vec *const *cols, size_t ncols, const uint64_t *ids,
			size_t a, size_t b, struct sr_buf *out)
{
	size_t n = b - a;
	int bad = sr_buf_addch(out, 'B') || sr_buf_add_u32le(out, (uint32_t)n) ||
		sr_buf_add_u32le(out, (uint32_t)ncols);

	for (size_t r = a; !bad && r < b; r++)
		bad = sr_buf_add_u64le(out, ids[r]);
	for (size_t c = 0; !bad && c < ncols; c++) {
		const struct sr_vec *v = cols[c];
		uint8_t bits[SLICE_ROWS / 8] = { 0 };

		for (size_t r = a; r < b; r++)
			if (sr_vec_is_null(v, r))
				bits[(r - a) >> 3] |= (uint8_t)(1u << ((r - a) & 7));
		bad = sr_buf_addch(out, (char)v->type) || sr_buf_add(out, bits, (n + 7) / 8);
		if (v->type == SR_TYPE_STRING) {
			for (size_t r = a; !bad && r < b; r++) {
				uint32_t len = v->offsets[r + 1] - v->offsets[r];
				bad = sr_buf_add_u32le(out, len) ||
					sr_buf_add(out, v->bytes.data + v->offsets[r], len);
			}
		} else if (!bad) {
			bad = sr_buf_add(out, (const uint8_t *)v->v.raw + a * value_size(v->type),
					 n * value_size(v->type));
		}
	}
	return bad ? SR_ENOMEM : SR_OK;
}

struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t take_u32(struct rd *r)
{
	const uint8_t *p = take(r, 4);

	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24 : 0;
}

/* The remote rows of one scan, at the executor. */
struct remote_rows {
	struct node_tee *t;
	struct sr_pipe *pipe;
	const char *dataset;
	size_t ncols;
	struct sr_vec *cols;
	uint64_t *ids;
	size_t ids_cap;
	struct sr_buf msg, plain;
	int eof;
};

static void wipe_batch(struct remote_rows *rr)
{
	for (size_t c = 0; c < rr->ncols; c++) {
		struct sr_vec *v = &rr->cols[c];
		if (v->v.raw && v->cap)
			sodium_memzero(v->v.raw, v->cap * value_size(v->type));
		if (v->bytes.data)
			sr_buf_wipe(&v->bytes);
		sr_vec_reset(v);
	}
	sr_buf_wipe(&rr->plain);
	sr_buf_reset(&rr->plain);
}

static int decode_batch(struct remote_rows *rr, size_t *rows, struct sr_err *err)
{
	struct rd r = { (const uint8_t *)rr->plain.data + 1, rr->plain.len - 1, 0 };
	size_t n = take_u32(&r), nc = take_u32(&r);

	if (r.bad || nc != rr->ncols || n > SLICE_ROWS)
		return sr_fail(err, SR_EPROTO, "tee: %s: a malformed batch", rr->dataset);
	if (n > rr->ids_cap) {
		uint64_t *ids = sr_realloc(rr->ids, n * sizeof(*ids));
		if (!ids)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		rr->ids = ids;
		rr->ids_cap = n;
	}
	for (size_t k = 0; k < n; k++) {
		const uint8_t *p = take(&r, 8);
		uint64_t v = 0;
		for (int b = 7; p && b >= 0; b--)
			v = v << 8 | p[b];
		rr->ids[k] = v;
	}
	for (size_t c = 0; !r.bad && c < nc; c++) {
		struct sr_vec *v = &rr->cols[c];
		const uint8_t *tp = take(&r, 1), *bits = take(&r, (n + 7) / 8);

		if (!tp || (v->type && (enum sr_type)*tp != v->type) || *tp < SR_TYPE_INT64 ||
		    *tp > SR_TYPE_DATE) {
			r.bad = 1;
			break;
		}
		if (v->type != (enum sr_type)*tp)
			sr_vec_init(v, (enum sr_type)*tp);
		if (sr_vec_reserve(v, n))
			return sr_fail(err, SR_ENOMEM, "out of memory");
		for (size_t k = 0; k < n && bits; k++)
			if (bits[k >> 3] >> (k & 7) & 1) {
				v->nulls[k >> 3] |= (uint8_t)(1u << (k & 7));
				v->null_count++;
			}
		if (v->type == SR_TYPE_STRING) {
			for (size_t k = 0; !r.bad && k < n; k++) {
				uint32_t len = take_u32(&r);
				const uint8_t *s = take(&r, len);
				if (s && sr_buf_add(&v->bytes, s, len))
					return sr_fail(err, SR_ENOMEM, "out of memory");
				v->offsets[k + 1] = (uint32_t)v->bytes.len;
			}
		} else {
			const uint8_t *vals = take(&r, n * value_size(v->type));
			if (vals)
				memcpy(v->v.raw, vals, n * value_size(v->type));
		}
		v->rows = n;
	}
	if (r.bad || r.left)
		return sr_fail(err, SR_EPROTO, "tee: %s: a malformed batch", rr->dataset);
	*rows = n;
	return SR_OK;
}

static int remote_next(void *impl, const struct sr_vec **cols, const uint64_t **row_ids,
		       size_t *rows, int *eof, struct sr_err *err)
{
	struct remote_rows *rr = impl;
	int rc;

	*rows = 0;
	*eof = 0;
	wipe_batch(rr);
	if (rr->eof) {
		*eof = 1;
		return SR_OK;
	}
	rc = rr->pipe->recv(rr->pipe->ctx, &rr->msg, MSG_MAX, err);
	if (rc)
		return rc;
	if (rr->msg.len == 1 && rr->msg.data[0] == 'E') {
		rr->eof = 1;
		*eof = 1;
		return SR_OK;
	}
	if (rr->msg.len < 1 + SEALBYTES + 9 || rr->msg.data[0] != 'B')
		return sr_fail(err, SR_EPROTO, "tee: %s: expected a batch of rows", rr->dataset);
	if (sr_buf_grow(&rr->plain, rr->msg.len))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (crypto_box_seal_open((uint8_t *)rr->plain.data, (const uint8_t *)rr->msg.data + 1,
				 rr->msg.len - 1, rr->t->pk, rr->t->sk) != 0)
		return sr_fail(err, SR_ECRYPTO, "tee: %s: a batch not sealed to this executor's key",
			       rr->dataset);
	sr_buf_setlen(&rr->plain, rr->msg.len - 1 - SEALBYTES);
	sr_buf_wipe(&rr->msg);
	if (rr->plain.len < 1 || rr->plain.data[0] != 'B')
		return sr_fail(err, SR_EPROTO, "tee: %s: expected a batch of rows", rr->dataset);
	rc = decode_batch(rr, rows, err);
	if (rc == SR_OK) {
		for (size_t c = 0; c < rr->ncols; c++)
			cols[c] = &rr->cols[c];
		*row_ids = rr->ids;
	}
	return rc;
}

static void remote_close(void *impl)
{
	struct remote_rows *rr = impl;

	wipe_batch(rr);
	for (size_t c = 0; c < rr->ncols; c++)
		sr_vec_release(&rr->cols[c]);
	sr_free(rr->cols);
	if (rr->ids)
		sodium_memzero(rr->ids, rr->ids_cap * sizeof(*rr->ids));
	sr_free(rr->ids);
	sr_buf_wipe(&rr->msg);
	sr_buf_release(&rr->msg);
	sr_buf_release(&rr->plain);
	sr_free(rr);
}

/* The executor's ctx->impl: its node_tee and the run's context. */
struct exec_ctx {
	struct node_tee *t;
	const struct sr_kind_ctx *run;
};

static int remote_scan(void *impl, size_t input, const char *const *columns, size_t ncolumns,
		       struct sr_rows *out, struct sr_err *err)
{
	struct exec_ctx *x = impl;
	const struct sr_kind_ctx *kc = x->run;
	size_t owner = party_index(kc, kc->inputs[input].owner);
	struct remote_rows *rr;
	struct sr_buf req;
	int rc;

	memset(out, 0, sizeof(*out));
	if (input >= kc->ninputs || owner == SIZE_MAX)
		return sr_fail(err, SR_EINVAL, "tee: no input %zu", input);
	rr = sr_calloc(1, sizeof(*rr));
	if (!rr || !(rr->cols = sr_calloc(ncolumns ? ncolumns : 1, sizeof(*rr->cols)))) {
		sr_free(rr);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	rr->t = x->t;
	rr->dataset = kc->inputs[input].dataset;
	rr->ncols = ncolumns;
	sr_buf_init(&rr->msg, MSG_MAX);
	sr_buf_init(&rr->plain, MSG_MAX);
	sr_buf_init(&req, MSG_MAX);
	rc = get_pipe(x->t, kc, owner, &rr->pipe, err);
	if (rc == SR_OK && (sr_buf_addch(&req, 'S') || sr_buf_add_u32le(&req, (uint32_t)input) ||
			    sr_buf_add_u32le(&req, (uint32_t)ncolumns)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t c = 0; rc == SR_OK && c < ncolumns; c++)
		if (sr_buf_add_u32le(&req, (uint32_t)strlen(columns[c])) ||
		    sr_buf_addstr(&req, columns[c]))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK)
		rc = rr->pipe->send(rr->pipe->ctx, (const uint8_t *)req.data, req.len, err);
	sr_buf_release(&req);
	if (rc) {
		remote_close(rr);
		return rc;
	}
	out->impl = rr;
	out->ncols = ncolumns;
	out->next = remote_next;
	out->close = remote_close;
	return SR_OK;
}

static void exec_progress(void *impl, const char *phase, uint64_t done, uint64_t total)
{
	struct exec_ctx *x = impl;

	sr_kind_progress(x->run, phase, done, total);
}

static int exec_abort(void *impl)
{
	struct exec_ctx *x = impl;

	return x->run->should_abort ? x->run->should_abort(x->run->impl) : 0;
}

static int exec_pipe(void *impl, const char *peer, uint32_t channel, struct sr_pipe *out,
		     struct sr_err *err)
{
	(void)impl;
	(void)channel;
	memset(out, 0, sizeof(*out));
	return sr_fail(err, SR_EINTERNAL, "run_central asked for a pipe to %.16s: it runs alone", peer);
}

static int exec_mask_key(void *impl, size_t input, const char *dataset, const char *receiver,
			 uint8_t key[32], struct sr_err *err)
{
	(void)impl;
	(void)input;
	(void)receiver;
	(void)key;
	return sr_fail(err, SR_EPOLICY,
		       "%s: hash masks are the owner's keys: TEE mode does not apply them (docs/tee.md)",
		       dataset);
}

/* Open msg ('K' or 'P' + sealed) with pk/sk into plain; its length. */
static int open_sealed(const struct sr_buf *msg, const uint8_t *pk, const uint8_t *sk,
		       struct sr_buf *plain, const char *what, size_t *len, struct sr_err *err)
{
	if (msg->len < 1 + SEALBYTES)
		return sr_fail(err, SR_EPROTO, "tee: %s is cut short", what);
	if (sr_buf_grow(plain, msg->len))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (crypto_box_seal_open((uint8_t *)plain->data, (const uint8_t *)msg->data + 1,
				 msg->len - 1, pk, sk) != 0)
		return sr_fail(err, SR_ECRYPTO, "tee: %s is not sealed to this party's key", what);
	*len = msg->len - 1 - SEALBYTES;
	return SR_OK;
}

/* Seal plain (len bytes) to pk behind the tag byte into out. */
static int seal_tagged(char tag, const void *plain, size_t len, const uint8_t pk[32],
		       struct sr_buf *out, const char *what, struct sr_err *err)
{
	sr_buf_reset(out);
	if (len + SEALBYTES + 1 > MSG_MAX)
		return sr_fail(err, SR_ELIMIT, "tee: %s is too large to send", what);
	if (sr_buf_grow(out, len + SEALBYTES + 1))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	out->data[0] = tag;
	crypto_box_seal((uint8_t *)out->data + 1, plain, len, pk);
	sr_buf_setlen(out, len + SEALBYTES + 1);
	return SR_OK;
}

/* The party index of org if it owns an input, else SIZE_MAX. */
static size_t owner_party(const struct sr_kind_ctx *kc, const char *org)
{
	for (size_t i = 0; i < kc->ninputs; i++)
		if (strcmp(kc->inputs[i].owner, org) == 0)
			return party_index(kc, org);
	return SIZE_MAX;
}

/* ctx->keep_at at the executor: the artifact sealed to its owner ('K'). */
static int exec_keep_at(void *impl, const char *owner, const char *name, const void *data,
			size_t len, struct sr_err *err)
{
	struct exec_ctx *x = impl;
	size_t p = owner_party(x->run, owner), nl = strlen(name);
	struct sr_buf plain, sealed;
	struct sr_pipe *pipe;
	int rc;

	if (p == SIZE_MAX)
		return sr_fail(err, SR_EINVAL, "tee: keep at %.16s: not an input's owner", owner);
	if (nl == 0 || nl >= 64)
		return sr_fail(err, SR_EINVAL, "tee: keep: the name must have 1 to 63 bytes");
	sr_buf_init(&plain, MSG_MAX);
	sr_buf_init(&sealed, MSG_MAX);
	rc = sr_buf_add_u32le(&plain, (uint32_t)nl) || sr_buf_add(&plain, name, nl) ||
		sr_buf_add(&plain, data, len) ? sr_fail(err, SR_ELIMIT, "tee: %s is too large to send", name) :
		SR_OK;
	if (rc == SR_OK)
		rc = seal_tagged('K', plain.data, plain.len, x->t->receiver_keys[p], &sealed, name, err);
	if (rc == SR_OK)
		rc = get_pipe(x->t, x->run, p, &pipe, err);
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)sealed.data, sealed.len, err);
	sr_buf_wipe(&plain);
	sr_buf_release(&plain);
	sr_buf_release(&sealed);
	return rc;
}

/* ctx->load_model at the executor: the training job from its own ledger,
 * the part from its owner ('M', then 'P' or 'X'). */
static int exec_load_model(void *impl, const char *job, const char *owner, const char *name,
			   json_t **train, struct sr_buf *data, struct sr_err *err)
{
	struct exec_ctx *x = impl;
	const struct sr_kind_ctx *kc = x->run;
	size_t p = name ? owner_party(kc, owner) : 0, len = 0;
	struct sr_buf req, msg, plain;
	struct sr_pipe *pipe;
	int rc;

	*train = NULL;
	if (!kc->load_model)
		return sr_fail(err, SR_EINVAL, "tee: this executor reads no kept models");
	if ((rc = kc->load_model(kc->impl, job, kc->self, NULL, train, NULL, err)) || !name)
		return rc;
	if (p == SIZE_MAX) {
		json_decref(*train);
		*train = NULL;
		return sr_fail(err, SR_EINVAL, "tee: %.16s owns no input of this job: no part to ask for",
			       owner);
	}
	sr_buf_init(&req, MSG_MAX);
	sr_buf_init(&msg, MSG_MAX);
	sr_buf_init(&plain, MSG_MAX);
	rc = sr_buf_addch(&req, 'M') || sr_buf_add_u32le(&req, (uint32_t)strlen(job)) ||
		sr_buf_addstr(&req, job) || sr_buf_add_u32le(&req, (uint32_t)strlen(name)) ||
		sr_buf_addstr(&req, name) ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
	if (rc == SR_OK)
		rc = get_pipe(x->t, kc, p, &pipe, err);
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)req.data, req.len, err);
	if (rc == SR_OK)
		rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
	if (rc == SR_OK && msg.len >= 1 && msg.data[0] == 'X')
		rc = sr_fail(err, SR_ENOTFOUND, "%.16s: %.*s", owner, (int)(msg.len - 1), msg.data + 1);
	else if (rc == SR_OK && (msg.len < 1 || msg.data[0] != 'P'))
		rc = sr_fail(err, SR_EPROTO, "tee: %.16s: expected a model part", owner);
	else if (rc == SR_OK)
		rc = open_sealed(&msg, x->t->pk, x->t->sk, &plain, "a model part", &len, err);
	if (rc == SR_OK && sr_buf_add(data, plain.data, len))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (plain.data)
		sodium_memzero(plain.data, len);
	sr_buf_release(&plain);
	sr_buf_wipe(&msg);
	sr_buf_release(&msg);
	sr_buf_release(&req);
	if (rc) {
		json_decref(*train);
		*train = NULL;
	}
	return rc;
}

/* ctx->owner_key at the executor: asked of the owner ('Q' -> sealed 'k'). */
static int exec_owner_key(void *impl, size_t input, const char *label, uint8_t key[32],
			  struct sr_err *err)
{
	struct exec_ctx *x = impl;
	size_t p = party_index(x->run, x->run->inputs[input].owner), len = 0;
	struct sr_buf req, msg, plain;
	struct sr_pipe *pipe;
	int rc;

	sr_buf_init(&req, MSG_MAX);
	sr_buf_init(&msg, MSG_MAX);
	sr_buf_init(&plain, MSG_MAX);
	rc = p == SIZE_MAX ? sr_fail(err, SR_EINVAL, "tee: input %zu has no owner here", input) : SR_OK;
	if (rc == SR_OK && (sr_buf_addch(&req, 'Q') || sr_buf_add_u32le(&req, (uint32_t)input) ||
			    sr_buf_addstr(&req, label)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK)
		rc = get_pipe(x->t, x->run, p, &pipe, err);
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)req.data, req.len, err);
	if (rc == SR_OK)
		rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
	if (rc == SR_OK && (msg.len < 1 || msg.data[0] != 'k'))
		rc = sr_fail(err, SR_EPROTO, "tee: %.16s sent no job key", x->run->parties[p]);
	if (rc == SR_OK)
		rc = open_sealed(&msg, x->t->pk, x->t->sk, &plain, "a job key", &len, err);
	if (rc == SR_OK && len != 32)
		rc = sr_fail(err, SR_EPROTO, "tee: a job key of %zu bytes", len);
	if (rc == SR_OK)
		memcpy(key, plain.data, 32);
	if (plain.data)
		sodium_memzero(plain.data, plain.cap);
	sr_buf_release(&plain);
	sr_buf_release(&msg);
	sr_buf_release(&req);
	return rc;
}

/* An owner computes a job key of its input for the executor ('Q'). */
static int serve_owner_key(struct node_tee *t, const struct sr_kind_ctx *kc, struct sr_pipe *pipe,
			   const struct sr_buf *req, struct sr_err *err)
{
	struct rd r = { (const uint8_t *)req->data + 1, req->len - 1, 0 };
	size_t input = take_u32(&r);
	char label[129];
	uint8_t key[32];
	struct sr_buf sealed;
	int rc;

	if (r.bad || input >= kc->ninputs || !kc->inputs[input].local || r.left >= sizeof(label))
		return sr_fail(err, SR_EPROTO, "tee: the executor asked for a key of an input this node does not hold");
	memcpy(label, r.p, r.left);
	label[r.left] = 0;
	sr_buf_init(&sealed, MSG_MAX);
	rc = sr_kind_owner_key(kc, input, label, key, err);
	if (rc == SR_OK)
		rc = seal_tagged('k', key, sizeof(key), t->verified.executor_key, &sealed, "a job key", err);
	sodium_memzero(key, sizeof(key));
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)sealed.data, sealed.len, err);
	sr_buf_release(&sealed);
	return rc;
}

/* An owner serves one scan request of the executor. */
static int serve_scan(struct node_tee *t, const struct sr_kind_ctx *kc, struct sr_pipe *pipe,
		      const struct sr_buf *req, struct sr_err *err)
{
	struct rd r = { (const uint8_t *)req->data + 1, req->len - 1, 0 };
	size_t input = take_u32(&r), nc = take_u32(&r);
	char **names = NULL;
	const struct sr_vec **cols = NULL;
	struct sr_rows rows;
	struct sr_buf plain, sealed;
	int rc = SR_OK, eof = 0;

	memset(&rows, 0, sizeof(rows));
	if (r.bad || input >= kc->ninputs || !kc->inputs[input].local || nc == 0 || nc > 4096)
		return sr_fail(err, SR_EPROTO, "tee: the executor asked for an input this node does not hold");
	names = sr_calloc(nc, sizeof(*names));
	if (!names)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t c = 0; !r.bad && c < nc; c++) {
		uint32_t len = take_u32(&r);
		const uint8_t *s = take(&r, len);
		if (s && !(names[c] = sr_strndup((const char *)s, len)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (rc == SR_OK && (r.bad || r.left))
		rc = sr_fail(err, SR_EPROTO, "tee: a malformed scan request");
	sr_buf_init(&plain, MSG_MAX);
	sr_buf_init(&sealed, MSG_MAX);
	if (rc == SR_OK)
		rc = sr_kind_scan(kc, input, (const char *const *)names, nc, &rows, err);
	cols = rc == SR_OK ? sr_calloc(nc, sizeof(*cols)) : NULL;
	if (rc == SR_OK && !cols)
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	while (rc == SR_OK && !eof) {
		const uint64_t *ids;
		size_t n;

		rc = sr_rows_next(&rows, cols, &ids, &n, &eof, err);
		for (size_t a = 0; rc == SR_OK && a < n; a += SLICE_ROWS) {
			size_t b = n - a > SLICE_ROWS ? a + SLICE_ROWS : n;
			sr_buf_reset(&plain);
			sr_buf_reset(&sealed);
			if (encode_slice(cols, nc, ids, a, b, &plain) ||
			    plain.len + SEALBYTES + 1 > MSG_MAX || sr_buf_grow(&sealed, plain.len + SEALBYTES + 1)) {
				rc = sr_fail(err, SR_ELIMIT, "tee: %s: a batch of rows is too large to send",
					     kc->inputs[input].dataset);
				break;
			}
			sealed.data[0] = 'B';
			crypto_box_seal((uint8_t *)sealed.data + 1, (const uint8_t *)plain.data, plain.len,
					t->verified.executor_key);
			sr_buf_setlen(&sealed, plain.len + SEALBYTES + 1);
			sr_buf_wipe(&plain);
			rc = pipe->send(pipe->ctx, (const uint8_t *)sealed.data, sealed.len, err);
		}
	}
	sr_rows_close(&rows);
	if (rc == SR_OK)
		rc = pipe->send(pipe->ctx, (const uint8_t *)"E", 1, err);
	for (size_t c = 0; c < nc; c++)
		sr_free(names[c]);
	sr_free(names);
	sr_free(cols);
	sr_buf_wipe(&plain);
	sr_buf_release(&plain);
	sr_buf_release(&sealed);
	return rc;
}

/* An owner takes an artifact the executor hands it ('K'): keeps it. */
static int take_artifact(struct node_tee *t, const struct sr_kind_ctx *kc, const struct sr_buf *msg,
			 struct sr_buf *plain, struct sr_err *err)
{
	size_t len, nl;
	char name[64];
	int rc, owner = 0;

	for (size_t i = 0; i < kc->ninputs; i++)
		owner |= kc->inputs[i].local;
	if (!owner || !kc->keep)
		return sr_fail(err, SR_EPROTO, "tee: the executor handed an artifact to a party that owns no input");
	rc = open_sealed(msg, t->rpk, t->rsk, plain, "an artifact from the executor", &len, err);
	if (rc)
		return rc;
	nl = len >= 4 ? ((const uint8_t *)plain->data)[0] | (size_t)((const uint8_t *)plain->data)[1] << 8 |
		(size_t)((const uint8_t *)plain->data)[2] << 16 | (size_t)((const uint8_t *)plain->data)[3] << 24 : 0;
	if (len < 4 || nl == 0 || nl >= sizeof(name) || nl > len - 4)
		rc = sr_fail(err, SR_EPROTO, "tee: a malformed artifact from the executor");
	if (rc == SR_OK) {
		memcpy(name, plain->data + 4, nl);
		name[nl] = 0;
		rc = kc->keep(kc->impl, name, plain->data + 4 + nl, len - 4 - nl, err);
		if (rc == SR_OK)
			sr_log_info("tee: kept %s from the executor (%zu bytes)", name, len - 4 - nl);
	}
	sodium_memzero(plain->data, len);
	return rc;
}

/* An owner serves the executor's request for a kept artifact ('M'). */
static int serve_model(struct node_tee *t, const struct sr_kind_ctx *kc, struct sr_pipe *pipe,
		       const struct sr_buf *req, struct sr_err *err)
{
	struct rd r = { (const uint8_t *)req->data + 1, req->len - 1, 0 };
	size_t jl = take_u32(&r);
	const uint8_t *job = take(&r, jl);
	size_t nl = take_u32(&r);
	const uint8_t *name = take(&r, nl);
	const char *model = json_string_value(json_object_get(kc->spec, "model"));
	char jhex[80], nm[64];
	json_t *train = NULL;
	struct sr_buf data, sealed;
	int rc = SR_OK, owner = 0;

	for (size_t i = 0; i < kc->ninputs; i++)
		owner |= kc->inputs[i].local;
	if (r.bad || r.left || jl >= sizeof(jhex) || nl == 0 || nl >= sizeof(nm))
		return sr_fail(err, SR_EPROTO, "tee: a malformed model request from the executor");
	memcpy(jhex, job, jl);
	jhex[jl] = 0;
	memcpy(nm, name, nl);
	nm[nl] = 0;
	sr_buf_init(&data, SR_BUF_UNBOUNDED);
	sr_buf_init(&sealed, MSG_MAX);
	if (!owner || !kc->load_model || !model || strcmp(model, jhex) != 0)
		rc = sr_fail(err, SR_EPERM, "tee: the executor asked for model %.16s, not the spec's model",
			     jhex);
	else
		rc = kc->load_model(kc->impl, jhex, kc->self, nm, &train, &data, err);
	json_decref(train);
	if (rc == SR_OK)
		rc = seal_tagged('P', data.data, data.len, t->verified.executor_key, &sealed,
				 "a model part", err);
	if (rc == SR_OK) {
		rc = pipe->send(pipe->ctx, (const uint8_t *)sealed.data, sealed.len, err);
	} else {
		/* The executor fails saying why; so does this party. */
		struct sr_err ignore;
		char x[1 + SR_ERR_MSG_MAX];
		size_t ml = strlen(err->msg);
		x[0] = 'X';
		memcpy(x + 1, err->msg, ml);
		sr_err_clear(&ignore);
		(void)pipe->send(pipe->ctx, (const uint8_t *)x, ml + 1, &ignore);
	}
	sr_buf_wipe(&data);
	sr_buf_release(&data);
	sr_buf_release(&sealed);
	return rc;
}

/* A verifier after the handshake: serve scans, take the result, until done. */
static int verifier_loop(struct node_tee *t, const struct sr_kind_ctx *kc, json_t **result,
			 struct sr_err *err)
{
	struct sr_pipe *pipe = &t->pipes[party_index(kc, t->executor)];
	struct sr_buf msg, plain;
	int rc = SR_OK;

	sr_buf_init(&msg, MSG_MAX);
	sr_buf_init(&plain, MSG_MAX);
	sr_kind_progress(kc, "serving the executor", 0, 0);
	for (;;) {
		rc = pipe->recv(pipe->ctx, &msg, MSG_MAX, err);
		if (rc)
			break;
		if (msg.len >= 1 && msg.data[0] == 'S') {
			rc = serve_scan(t, kc, pipe, &msg, err);
		} else if (msg.len >= 1 && msg.data[0] == 'Q') {
			rc = serve_owner_key(t, kc, pipe, &msg, err);
		} else if (msg.len >= 1 && msg.data[0] == 'M') {
			rc = serve_model(t, kc, pipe, &msg, err);
		} else if (msg.len >= 1 && msg.data[0] == 'K') {
			rc = take_artifact(t, kc, &msg, &plain, err);
		} else if (msg.len > 1 + SEALBYTES && msg.data[0] == 'R' && kc->receiver && !*result) {
			if (sr_buf_grow(&plain, msg.len)) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
			} else if (crypto_box_seal_open((uint8_t *)plain.data, (const uint8_t *)msg.data + 1,
							msg.len - 1, t->rpk, t->rsk) != 0) {
				rc = sr_fail(err, SR_ECRYPTO, "tee: the result is not sealed to this receiver's key");
			} else {
				rc = sr_json_parse(plain.data, msg.len - 1 - SEALBYTES, "the executor's result",
						   result, err);
				sodium_memzero(plain.data, msg.len - 1 - SEALBYTES);
			}
		} else if (msg.len == 1 && msg.data[0] == 'D') {
			break;
		} else {
			rc = sr_fail(err, SR_EPROTO, "tee: an unexpected message from the executor");
		}
		if (rc)
			break;
	}
	if (rc == SR_OK && kc->receiver && !*result)
		rc = sr_fail(err, SR_EPROTO, "tee: the executor finished without a result for this receiver");
	sr_buf_wipe(&msg);
	sr_buf_release(&msg);
	sr_buf_release(&plain);
	return rc;
}

/* ---- executor ----------------------------------------------------------------- */

static int serve_handshakes(struct node_tee *t, const struct sr_kind_ctx *kc, struct sr_err *err)
{
	struct sr_tee_executor *ex = t->n->executor;
	int rc = SR_OK;

	if (!ex)
		return sr_fail(err, SR_EPERM, "this node is named as the job's executor but is not one (start it with 'sealroom executor')");
	crypto_box_keypair(t->pk, t->sk);
	sr_kind_progress(kc, "attesting to each participant", 0, 0);
	for (size_t p = 0; rc == SR_OK && p < kc->nparties; p++) {
		struct sr_pipe *pipe;
		if (p == kc->self_index)
			continue;
		rc = get_pipe(t, kc, p, &pipe, err);
		if (rc == SR_OK)
			rc = sr_tee_executor_attest(ex, pipe, t->pk, t->receiver_keys[p], err);
		if (rc)
			sr_err_prefix(err, "attestation to %.16s", kc->parties[p]);
	}
	return rc;
}

static int execute(struct node_tee *t, const struct sr_kind_ctx *kc,
		   const struct sr_job_kind *kind, struct sr_err *err)
{
	size_t np = 0;
	const char **parties = sr_calloc(kc->nparties, sizeof(*parties));
	struct sr_kind_input *inputs = sr_calloc(kc->ninputs ? kc->ninputs : 1, sizeof(*inputs));
	struct exec_ctx x = { t, kc };
	struct sr_buf text, sealed;
	int rc = SR_OK;

	sr_buf_init(&text, MSG_MAX);
	sr_buf_init(&sealed, MSG_MAX);
	if (!parties || !inputs)
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	/* The kind sees the job as the central oracle does: every input
	 * local, the participants without the executor. */
	for (size_t p = 0; rc == SR_OK && p < kc->nparties; p++)
		if (p != kc->self_index)
			parties[np++] = kc->parties[p];
	for (size_t i = 0; rc == SR_OK && i < kc->ninputs; i++) {
		inputs[i] = kc->inputs[i];
		inputs[i].local = 1;
	}
	for (size_t r = 0; rc == SR_OK && r < kc->nreceivers; r++) {
		struct sr_kind_ctx c = *kc;
		size_t rp = party_index(kc, kc->receivers[r]);
		json_t *res = NULL;
		struct sr_pipe *pipe;

		c.self = kc->receivers[r];
		c.parties = parties;
		c.nparties = np;
		c.self_index = 0;
		for (size_t p = 0; p < np; p++)
			if (strcmp(parties[p], c.self) == 0)
				c.self_index = p;
		c.inputs = inputs;
		c.receiver = 1;
		c.impl = &x;
		c.scan = remote_scan;
		c.pipe = exec_pipe;
		c.mask_key = exec_mask_key;
		c.progress = exec_progress;
		c.should_abort = exec_abort;
		c.charge = NULL;
		/* Kept artifacts: the training job from the executor's ledger,
		 * each part asked of its owner; the central run hands each
		 * owner its own (once, on the first receiver's run). */
		c.load_model = exec_load_model;
		c.keep_at = r == 0 ? exec_keep_at : NULL;
		c.owner_key = exec_owner_key;
		sr_kind_progress(kc, "running the job centrally", 0, 0);
		rc = kind->run_central(&c, &res, err);
		if (rc == SR_OK && !res)
			rc = sr_fail(err, SR_EINTERNAL, "%s: no result", kind->name);
		if (rc == SR_OK && kind->release)
			rc = kind->release(&c, res, err);
		if (rc == SR_OK && json_is_object(json_object_get(res, "meta")) &&
		    json_object_set_new(json_object_get(res, "meta"), "executor", json_string(t->executor)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		sr_buf_reset(&text);
		if (rc == SR_OK && sr_json_dump(res, 0, &text))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		json_decref(res);
		if (rc == SR_OK && (text.len + SEALBYTES + 1 > MSG_MAX ||
				    sr_buf_grow(&sealed, text.len + SEALBYTES + 1)))
			rc = sr_fail(err, SR_ELIMIT, "tee: the result for %.16s is too large to send",
				     c.self);
		if (rc == SR_OK)
			rc = get_pipe(t, kc, rp, &pipe, err);
		if (rc == SR_OK) {
			sealed.data[0] = 'R';
			crypto_box_seal((uint8_t *)sealed.data + 1, (const uint8_t *)text.data, text.len,
					t->receiver_keys[rp]);
			sr_buf_setlen(&sealed, text.len + SEALBYTES + 1);
			rc = pipe->send(pipe->ctx, (const uint8_t *)sealed.data, sealed.len, err);
		}
		sr_buf_wipe(&text);
	}
	for (size_t p = 0; rc == SR_OK && p < kc->nparties; p++) {
		struct sr_pipe *pipe;
		if (p == kc->self_index)
			continue;
		rc = get_pipe(t, kc, p, &pipe, err);
		if (rc == SR_OK)
			rc = pipe->send(pipe->ctx, (const uint8_t *)"D", 1, err);
	}
	sr_buf_release(&text);
	sr_buf_release(&sealed);
	sr_free(parties);
	sr_free(inputs);
	return rc;
}

/* ---- the runner's two calls -------------------------------------------------- */

int node_tee_attest(struct sr_node *n, const struct sr_kind_ctx *kc, struct node_tee **out,
		    json_t **start_info, struct sr_err *err)
{
	struct node_tee *t = sr_calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	*start_info = NULL;
	if (!t)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	t->n = n;
	t->executor = node_tee_executor(kc->spec);
	t->is_executor = t->executor && strcmp(t->executor, kc->self) == 0;
	t->receiver_keys = sr_calloc(kc->nparties, sizeof(*t->receiver_keys));
	t->pipes = sr_calloc(kc->nparties, sizeof(*t->pipes));
	t->have_pipe = sr_calloc(kc->nparties, sizeof(*t->have_pipe));
	if (!t->executor || !t->receiver_keys || !t->pipes || !t->have_pipe) {
		node_tee_free(t);
		return sr_fail(err, t->executor ? SR_ENOMEM : SR_EINVAL,
			       t->executor ? "out of memory" : "spec.tee.executor is missing");
	}
	if (t->is_executor) {
		rc = serve_handshakes(t, kc, err);
	} else {
		crypto_box_keypair(t->rpk, t->rsk);
		rc = verify_executor(t, kc, start_info, err);
	}
	if (rc) {
		node_tee_free(t);
		return rc;
	}
	*out = t;
	return SR_OK;
}

int node_tee_run(struct node_tee *t, const struct sr_kind_ctx *kc, const struct sr_job_kind *kind,
		 json_t **result, struct sr_err *err)
{
	*result = NULL;
	if (t->is_executor)
		return execute(t, kc, kind, err);
	return verifier_loop(t, kc, result, err);
}
