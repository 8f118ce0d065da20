/*
 * query_join.c - JOIN in the query kind: an inner join of the dimension
 * holder D's dataset (every GROUP BY column) and the value holder V's
 * (every aggregated column) on one key, computed as a grouped
 * intersection-sum: blinded keys on ristretto255 (as ECDH-PSI), V's
 * per-key values packed under V's Paillier key, homomorphic sums per
 * group at D, masked, opened by V, unmasked by D, which is the receiver.
 * Protocol, choices and the leakage statement:
 * docs/protocols/query-join.md.
 *
 * The result is the same vector of totals as a horizontal query
 * (query.h), so thresholds, HAVING, ORDER BY and LIMIT are the release
 * step's (query_release.c).
 */
#include "kinds/query/query_join_int.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "crypto/crypto.h"
#include "crypto/r255.h"
#include "he/he.h"
#include "base/banned.h"

#define QJ_CHANNEL 1
#define QJ_VERSION 1
#define QJ_TAG_BYTES 16
#define QJ_HEAD_BYTES (4 + 1 + 1 + QJ_TAG_BYTES + 4 + 4)
#define QJ_CHUNK (8u << 20)
/* Slot width: an int64 offset by 2^63, times up to 2^32 multiplied
 * terms, one bit spare. */
#define QJ_SLOT_BITS 97
#define QJ_TERMS_MAX ((1ull << 32) - 1)
/* Points D sends (groups x padded size) and rows V sends. */
#define QJ_POINTS_MAX ((size_t)1 << 24)
#define QJ_ROWS_MAX ((size_t)1 << 24)

unsigned q_join_he_bits = 2048;

/* ---- the local sides -------------------------------------------------- */

void qj_side_release(const struct q_layout *L, struct qj_side *s)
{
	for (size_t g = 0; s->groups && g < L->ngroups; g++)
		q_hash_release(&s->groups[g]);
	sr_free(s->groups);
	q_hash_release(&s->keys);
	if (s->vals)
		sodium_memzero(s->vals, s->room * sizeof(*s->vals));
	sr_free(s->vals);
	memset(s, 0, sizeof(*s));
}

static int mark(const struct sr_expr *e, uint8_t *used)
{
	for (size_t i = 0; e && i < sr_expr_ncolumns_used(e); i++)
		used[sr_expr_column_used(e, i)] = 1;
	return 0;
}

/* The group of row r for the dimension holder (SIZE_MAX outside the
 * public domain), from the evaluated keys. */
static size_t row_group(const struct q_layout *L, struct sr_vec *kv, size_t r)
{
	size_t g = 0;

	for (size_t k = 0; k < L->nkeys; k++) {
		const struct q_key *key = &L->keys[k];
		size_t slot = key->slots - 1;
		if (!sr_vec_is_null(&kv[k], r)) {
			const struct q_hash_entry *e;
			const void *kp;
			size_t klen;
			double scratch;
			q_value_key(&kv[k], r, &scratch, &kp, &klen);
			if (!(e = q_hash_get(&key->index, kp, klen)))
				return SIZE_MAX;
			slot = (size_t)e->value;
		}
		g = g * key->slots + slot;
	}
	return g;
}

static int side_d_batch(const struct q_layout *L, struct qj_side *s, const struct sr_vec **cols,
			const struct sr_vec *key, const uint8_t *keep, size_t n,
			struct sr_err *err)
{
	struct sr_vec *kv = sr_calloc(L->nkeys + 1, sizeof(*kv));
	int rc = SR_OK;

	if (!kv)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t k = 0; k < L->nkeys; k++)
		sr_vec_init(&kv[k], L->v->keys[k].type);
	for (size_t k = 0; rc == SR_OK && k < L->nkeys; k++)
		rc = sr_expr_eval(L->v->keys[k].expr, cols, n, &kv[k], err);
	for (size_t r = 0; rc == SR_OK && r < n; r++) {
		struct q_hash_entry *e;
		const void *kp;
		size_t klen, g;
		double scratch;
		int fresh;

		if (!keep[r] || sr_vec_is_null(key, r))
			continue;   /* NULL keys never match */
		if ((g = row_group(L, kv, r)) == SIZE_MAX) {
			s->outside++;
			continue;
		}
		q_value_key(key, r, &scratch, &kp, &klen);
		if ((rc = q_hash_put(&s->groups[g], kp, klen, &e, &fresh, err)) == SR_OK)
			e->value++;
	}
	for (size_t k = 0; k < L->nkeys; k++)
		sr_vec_release(&kv[k]);
	sr_free(kv);
	return rc;
}

static int side_v_batch(const struct q_layout *L, const struct sr_kind_ctx *c, size_t input,
			struct qj_side *s, const struct sr_vec **cols, const struct sr_vec *key,
			const uint8_t *keep, size_t n, struct sr_vec *args, struct sr_err *err)
{
	size_t *idx = sr_calloc(n ? n : 1, sizeof(*idx));
	int rc = SR_OK;

	(void)c;
	if (!idx)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t r = 0; rc == SR_OK && r < n; r++) {
		struct q_hash_entry *e;
		const void *kp;
		size_t klen;
		double scratch;
		int fresh;

		idx[r] = SIZE_MAX;
		if (!keep[r] || sr_vec_is_null(key, r))
			continue;
		q_value_key(key, r, &scratch, &kp, &klen);
		if ((rc = q_hash_put(&s->keys, kp, klen, &e, &fresh, err)) != SR_OK)
			break;
		if (fresh) {
			if (s->nvals == QJ_ROWS_MAX) {
				rc = sr_fail(err, SR_ELIMIT, "more than %zu distinct join keys",
					     QJ_ROWS_MAX);
				break;
			}
			if ((s->nvals + 1) * L->naccs > s->room) {
				size_t room = s->room ? s->room * 2 : 64 * L->naccs;
				uint64_t *bigger = sr_realloc(s->vals, room * sizeof(*bigger));
				if (!bigger) {
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
					break;
				}
				memset(bigger + s->room, 0, (room - s->room) * sizeof(*bigger));
				s->vals = bigger;
				s->room = room;
			}
			e->value = s->nvals++;
		}
		idx[r] = (size_t)e->value;
		s->vals[idx[r] * L->naccs + L->acc_rows]++;
	}
	for (size_t a = 0; rc == SR_OK && a < L->naccs; a++) {
		const struct q_acc *acc = &L->accs[a];
		uint64_t clamped = 0;
		double lo = 0, hi = 0;
		struct sr_vec *x;

		if (acc->agg == SIZE_MAX)
			continue;
		x = &args[acc->agg];
		sr_vec_reset(x);
		if ((rc = sr_expr_eval(L->v->aggs[acc->agg].arg, cols, n, x, err)) != SR_OK)
			break;
		if ((acc->kind == Q_SUM || acc->kind == Q_SUMSQ) &&
		    sr_sql_agg_bounds(L->sql, acc->agg, input, &lo, &hi) != SR_OK) {
			rc = sr_fail(err, SR_EPOLICY, "%s needs bounds", L->v->aggs[acc->agg].text);
			break;
		}
		for (size_t r = 0; rc == SR_OK && r < n; r++) {
			uint64_t inc = 1;
			if (idx[r] == SIZE_MAX || sr_vec_is_null(x, r))
				continue;
			if (acc->kind == Q_SUM || acc->kind == Q_SUMSQ)
				rc = q_acc_encode(acc, x, r, lo, hi, &clamped, &inc, err);
			s->vals[idx[r] * L->naccs + a] += inc;
		}
	}
	sr_free(idx);
	return rc;
}

int qj_side_build(const struct q_layout *L, const struct sr_kind_ctx *c, size_t input,
		  struct qj_side *s, struct sr_err *err)
{
	const struct sr_sql_query *v = L->v;
	int is_d = input == L->join_d;
	size_t nrow = v->nrow_columns, nnames = 0, key_at = SIZE_MAX;
	size_t key_row = is_d ? L->join_d_row : L->join_v_row;
	uint8_t *used = sr_calloc(nrow + 1, 1);
	const char **names = sr_calloc(nrow + 1, sizeof(*names));
	size_t *row_of = sr_calloc(nrow + 1, sizeof(*row_of));
	const struct sr_vec **cols = sr_calloc(nrow + 1, sizeof(*cols));
	const struct sr_vec **bc = sr_calloc(nrow + 1, sizeof(*bc));
	struct sr_vec *args = sr_calloc(v->naggs + 1, sizeof(*args));
	uint8_t *keep = NULL, *scratch = NULL;
	struct sr_rows rows;
	int rc = SR_OK, eof = 0;

	memset(s, 0, sizeof(*s));
	memset(&rows, 0, sizeof(rows));
	q_hash_init(&s->keys);
	s->groups = sr_calloc(L->ngroups, sizeof(*s->groups));
	if (!used || !names || !row_of || !cols || !bc || !args || !s->groups) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t g = 0; g < L->ngroups; g++)
		q_hash_init(&s->groups[g]);
	for (size_t g = 0; g < v->naggs; g++)
		sr_vec_init(&args[g], v->aggs[g].arg_type);
	for (size_t f = 0; f < v->nfilters; f++)
		if (v->filters[f].inputs & SR_SQL_INPUT_BIT(input))
			mark(v->filters[f].expr, used);
	for (size_t k = 0; is_d && k < v->nkeys; k++)
		mark(v->keys[k].expr, used);
	for (size_t g = 0; !is_d && g < v->naggs; g++)
		mark(v->aggs[g].arg, used);
	used[key_row] = 1;
	for (size_t r = 0; r < nrow; r++) {
		if (!used[r] || v->row_input[r] != input)
			continue;
		if (r == key_row)
			key_at = nnames;
		row_of[nnames] = r;
		names[nnames++] = v->row_columns[r].name;
	}
	rc = sr_kind_scan(c, input, names, nnames, &rows, err);
	while (rc == SR_OK && !eof) {
		const uint64_t *ids;
		size_t n;

		rc = sr_rows_next(&rows, bc, &ids, &n, &eof, err);
		if (rc || n == 0)
			continue;
		for (size_t j = 0; j < nnames; j++)
			cols[row_of[j]] = bc[j];
		sr_free(keep);
		sr_free(scratch);
		keep = sr_malloc(n);
		scratch = sr_malloc(n);
		if (!keep || !scratch) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		memset(keep, 1, n);
		for (size_t f = 0; rc == SR_OK && f < v->nfilters; f++) {
			if (!(v->filters[f].inputs & SR_SQL_INPUT_BIT(input)))
				continue;
			rc = sr_expr_filter(v->filters[f].expr, cols, n, scratch, err);
			for (size_t r = 0; rc == SR_OK && r < n; r++)
				keep[r] &= scratch[r];
		}
		if (rc == SR_OK)
			rc = is_d ? side_d_batch(L, s, cols, bc[key_at], keep, n, err) :
				side_v_batch(L, c, input, s, cols, bc[key_at], keep, n, args, err);
		if (rc == SR_OK && c->should_abort && c->should_abort(c->impl))
			rc = sr_fail(err, SR_ECANCELED, "the job was stopped");
	}
out:
	sr_rows_close(&rows);
	for (size_t g = 0; args && g < v->naggs; g++)
		sr_vec_release(&args[g]);
	sr_free(args);
	sr_free(keep);
	sr_free(scratch);
	sr_free(used);
	sr_free(names);
	sr_free(row_of);
	sr_free(cols);
	sr_free(bc);
	if (rc) {
		sr_err_prefix(err, "%s", c->inputs[input].dataset);
		qj_side_release(L, s);
	}
	return rc;
}

/* ---- the plaintext join (run_central, the oracle) ------------------------ */

static const uint8_t *entry_key(const struct q_hash *h, const struct q_hash_entry *e)
{
	return (const uint8_t *)h->keys.data + e->off;
}

int q_join_run_central(const struct sr_kind_ctx *c, const struct q_layout *L,
		       json_t **result, struct sr_err *err)
{
	struct qj_side d, v;
	uint64_t *cells = NULL;
	int rc;

	*result = NULL;
	if ((rc = qj_side_build(L, c, L->join_d, &d, err)) != SR_OK)
		return rc;
	if ((rc = qj_side_build(L, c, L->join_v, &v, err)) != SR_OK) {
		qj_side_release(L, &d);
		return rc;
	}
	if (!(cells = sr_calloc(L->ncells, sizeof(*cells)))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t g = 0; g < L->ngroups; g++) {
		const struct q_hash *h = &d.groups[g];
		for (size_t i = 0; i < h->cap; i++) {
			const struct q_hash_entry *e = &h->slots[i], *m;
			if (!e->used || !(m = q_hash_get(&v.keys, entry_key(h, e), e->len)))
				continue;
			for (size_t a = 0; a < L->naccs; a++)
				if (a != L->acc_ids)
					cells[g * L->naccs + a] += e->value * v.vals[m->value * L->naccs + a];
			if (L->acc_ids != SIZE_MAX)
				cells[g * L->naccs + L->acc_ids]++;
		}
	}
	cells[L->cell_outside] = d.outside;
	if (!(*result = q_totals_json(L, cells, NULL)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	sr_free(cells);
	qj_side_release(L, &d);
	qj_side_release(L, &v);
	return rc;
}

/* ---- messages --------------------------------------------------------- */

static void session_tag(const uint8_t *session, size_t len, uint8_t tag[QJ_TAG_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, (const uint8_t *)"sealroom.query-join.v1", 22, QJ_TAG_BYTES);
	crypto_generichash_update(&st, session, len);
	crypto_generichash_final(&st, tag, QJ_TAG_BYTES);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int add_u32(struct sr_buf *b, uint32_t v, struct sr_err *err)
{
	uint8_t p[4];

	put_u32(p, v);
	return sr_buf_add(b, p, 4) ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
}

/* Append x as exactly len big-endian bytes (x < 2^(8 len)). */
static int add_mpz(struct sr_buf *b, const mpz_t x, size_t len, struct sr_err *err)
{
	size_t count = (mpz_sizeinbase(x, 2) + 7) / 8;

	if (mpz_sgn(x) == 0)
		count = 0;
	if (count > len || sr_buf_grow(b, len))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	memset(b->data + b->len, 0, len - count);
	if (count)
		mpz_export(b->data + b->len + len - count, NULL, 1, 1, 1, 0, x);
	b->len += len;
	return SR_OK;
}

/* Send body as a message of type t in frames of at most QJ_CHUNK bytes,
 * each with the header and its index: frames of another run, another
 * message or a replayed frame are refused by qj_recv. */
static int qj_send(struct sr_pipe *p, const uint8_t tag[QJ_TAG_BYTES], enum qj_msg t,
		   const struct sr_buf *body, struct qj_stats *st, struct sr_err *err)
{
	size_t nframes = body->len / QJ_CHUNK + 1;
	uint8_t *frame = sr_malloc(QJ_HEAD_BYTES + QJ_CHUNK);
	int rc = SR_OK;

	if (!frame)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; rc == SR_OK && i < nframes; i++) {
		size_t off = i * QJ_CHUNK, len = body->len - off < QJ_CHUNK ? body->len - off : QJ_CHUNK;
		memcpy(frame, "SRQJ", 4);
		frame[4] = QJ_VERSION;
		frame[5] = (uint8_t)t;
		memcpy(frame + 6, tag, QJ_TAG_BYTES);
		put_u32(frame + 6 + QJ_TAG_BYTES, (uint32_t)i);
		put_u32(frame + 10 + QJ_TAG_BYTES, (uint32_t)nframes);
		memcpy(frame + QJ_HEAD_BYTES, body->data + off, len);
		rc = p->send(p->ctx, frame, QJ_HEAD_BYTES + len, err);
		st->bytes_sent += QJ_HEAD_BYTES + len;
	}
	sr_free(frame);
	return rc;
}

static const char *msg_name(enum qj_msg t)
{
	switch (t) {
	case QJ_KEYS: return "keys";
	case QJ_REPLY: return "reply";
	case QJ_SUMS: return "sums";
	default: return "open";
	}
}

static int qj_recv(struct sr_pipe *p, const uint8_t tag[QJ_TAG_BYTES], enum qj_msg t,
		   size_t max, struct sr_buf *body, struct qj_stats *st, struct sr_err *err)
{
	struct sr_buf f;
	uint32_t nframes = 1;
	int rc = SR_OK;

	sr_buf_init(&f, SR_BUF_UNBOUNDED);
	sr_buf_reset(body);
	for (uint32_t i = 0; rc == SR_OK && i < nframes; i++) {
		if ((rc = p->recv(p->ctx, &f, QJ_HEAD_BYTES + QJ_CHUNK, err)) != SR_OK)
			break;
		st->bytes_received += f.len;
		if (f.len < QJ_HEAD_BYTES || memcmp(f.data, "SRQJ", 4) != 0 ||
		    (uint8_t)f.data[4] != QJ_VERSION)
			rc = sr_fail(err, SR_EPROTO, "join: %s message %u: not a join protocol frame",
				     msg_name(t), i);
		else if ((uint8_t)f.data[5] != t)
			rc = sr_fail(err, SR_EPROTO, "join: expected a %s message, got type %u",
				     msg_name(t), (unsigned)(uint8_t)f.data[5]);
		else if (sodium_memcmp(f.data + 6, tag, QJ_TAG_BYTES) != 0)
			rc = sr_fail(err, SR_EPROTO, "join: %s message from another run (session tag differs)",
				     msg_name(t));
		else if (get_u32((uint8_t *)f.data + 6 + QJ_TAG_BYTES) != i)
			rc = sr_fail(err, SR_EPROTO, "join: %s frame %u out of order or replayed (expected %u)",
				     msg_name(t), get_u32((uint8_t *)f.data + 6 + QJ_TAG_BYTES), i);
		else if (i == 0 && ((nframes = get_u32((uint8_t *)f.data + 10 + QJ_TAG_BYTES)) == 0 ||
				    (size_t)nframes > max / QJ_CHUNK + 1))
			rc = sr_fail(err, SR_EPROTO, "join: %s message of %u frames", msg_name(t),
				     nframes);
		else if (get_u32((uint8_t *)f.data + 10 + QJ_TAG_BYTES) != nframes)
			rc = sr_fail(err, SR_EPROTO, "join: %s frame %u disagrees on the frame count",
				     msg_name(t), i);
		else if (body->len + f.len - QJ_HEAD_BYTES > max)
			rc = sr_fail(err, SR_EPROTO, "join: %s message longer than %zu bytes",
				     msg_name(t), max);
		else if (sr_buf_add(body, f.data + QJ_HEAD_BYTES, f.len - QJ_HEAD_BYTES))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	sr_buf_release(&f);
	return rc;
}

/* A reader over a received body; every read is length-checked. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	const char *what;
	struct sr_err *err;
};

static int rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
	*out = r->p;
	if (r->len - r->off < n)
		return sr_fail(r->err, SR_EPROTO, "join: %s message truncated (%zu bytes, %zu more wanted at %zu)",
			       r->what, r->len, n, r->off);
	*out = r->p + r->off;
	r->off += n;
	return SR_OK;
}

static int rd_u32(struct rd *r, uint32_t *v)
{
	const uint8_t *p;
	int rc = rd_bytes(r, 4, &p);

	if (rc == SR_OK)
		*v = get_u32(p);
	return rc;
}

static int rd_end(struct rd *r)
{
	if (r->off != r->len)
		return sr_fail(r->err, SR_EPROTO, "join: %s message has %zu bytes too many",
			       r->what, r->len - r->off);
	return SR_OK;
}

/* ---- packing ---------------------------------------------------------- */

struct pack {
	size_t per_ct;          /* slots per ciphertext */
	size_t nct;             /* ciphertexts per row */
	size_t ct_bytes;        /* |n²| / 8 */
	size_t n_bytes;
};

static int pack_init(const struct q_layout *L, unsigned bits, struct pack *pk, struct sr_err *err)
{
	memset(pk, 0, sizeof(*pk));
	pk->per_ct = (bits - 2) / QJ_SLOT_BITS;
	if (pk->per_ct == 0)
		return sr_fail(err, SR_EINVAL, "join: key too small to pack");
	pk->nct = (L->naccs + pk->per_ct - 1) / pk->per_ct;
	pk->n_bytes = bits / 8;
	pk->ct_bytes = bits / 4;
	return SR_OK;
}

/* Plaintext j of V's row i: its cells offset by 2^63, one per slot. */
static void pack_row(const struct q_layout *L, const struct pack *pk, const uint64_t *vals,
		     size_t j, mpz_t m)
{
	mpz_set_ui(m, 0);
	for (size_t s = pk->per_ct; s-- > 0;) {
		size_t a = j * pk->per_ct + s;
		mpz_mul_2exp(m, m, QJ_SLOT_BITS);
		if (a < L->naccs)
			mpz_add_ui(m, m, (unsigned long)(vals[a] ^ (1ull << 63)));
	}
}

/* The cells of plaintext j of a group that summed `terms` rows
 * (multiplicities counted), checking every slot's range. */
static int unpack_sum(const struct q_layout *L, const struct pack *pk, mpz_t m, size_t j,
		      uint64_t terms, uint64_t *cells, struct sr_err *err)
{
	mpz_t slot, offset, top;
	int rc = SR_OK;

	mpz_inits(slot, offset, top, NULL);
	mpz_set_ui(offset, terms);
	mpz_mul_2exp(offset, offset, 63);
	mpz_mul_2exp(top, offset, 1);             /* terms · 2^64 */
	for (size_t s = 0; rc == SR_OK && s < pk->per_ct; s++) {
		size_t a = j * pk->per_ct + s;
		mpz_fdiv_r_2exp(slot, m, QJ_SLOT_BITS);
		mpz_fdiv_q_2exp(m, m, QJ_SLOT_BITS);
		if (a >= L->naccs) {
			if (mpz_sgn(slot) != 0)
				rc = sr_fail(err, SR_EPROTO, "join: an unused slot of an opened sum is not zero");
			continue;
		}
		if (terms == 0 ? mpz_sgn(slot) != 0 : mpz_cmp(slot, top) >= 0) {
			rc = sr_fail(err, SR_EPROTO, "join: an opened sum is outside the range of %llu rows (slot %zu)",
				     (unsigned long long)terms, s);
			continue;
		}
		mpz_sub(slot, slot, offset);
		mpz_fdiv_r_2exp(slot, slot, 64);      /* two's complement, mod 2^64 */
		if (a != L->acc_ids)
			cells[a] = (uint64_t)mpz_get_ui(slot);
	}
	if (rc == SR_OK && mpz_sgn(m) != 0)
		rc = sr_fail(err, SR_EPROTO, "join: an opened sum has bits above its last slot");
	mpz_clears(slot, offset, top, NULL);
	return rc;
}

/* ---- points ------------------------------------------------------------ */

static void shuffle(uint8_t *items, size_t n, size_t size)
{
	uint8_t tmp[SR_R255_BYTES];

	for (size_t i = n; i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i);
		memcpy(tmp, items + (i - 1) * size, size);
		memmove(items + (i - 1) * size, items + j * size, size);
		memcpy(items + j * size, tmp, size);
	}
}

static int blind_key(const struct sr_h2g *h, const uint8_t scalar[32], const void *key, size_t len,
		     uint8_t out[SR_R255_BYTES], struct sr_err *err)
{
	uint8_t digest[SR_R255_HASHBYTES];
	int ok;

	sr_r255_h2g_digest(h, key, len, digest);
	ok = sr_r255_hash_mul(out, scalar, digest) == SR_OK;
	sodium_memzero(digest, sizeof(digest));
	return ok ? SR_OK : sr_fail(err, SR_ECRYPTO, "join: a key hashed to the identity");
}

/* A dummy point: the one-way map of 64 uniform bytes, a uniform point of
 * the group up to a negligible distance, as every H(k)^d is for an unknown
 * d (no multiplication needed). */
static void random_point(uint8_t out[SR_R255_BYTES])
{
	uint8_t digest[SR_R255_HASHBYTES];

	randombytes_buf(digest, sizeof(digest));
	sr_r255_from_hash(out, digest);
}

/* Blinding of distinct keys on threads: out[i] = H(key of ents[i])^scalar. */
struct blind_job {
	const struct sr_h2g *h;
	const uint8_t *scalar;
	const struct q_hash_entry **ents;
	const struct q_hash **hashes;   /* the table each entry's key lives in */
	uint8_t *out;
};

static int blind_range(void *ctx, size_t t, size_t lo, size_t hi, struct sr_err *err)
{
	struct blind_job *j = ctx;
	int rc = SR_OK;

	(void)t;
	for (size_t i = lo; rc == SR_OK && i < hi; i++)
		rc = blind_key(j->h, j->scalar, entry_key(j->hashes[i], j->ents[i]), j->ents[i]->len,
			       j->out + i * SR_R255_BYTES, err);
	return rc;
}

static void h2g_for(struct sr_h2g *h, const uint8_t *session, size_t len)
{
	uint8_t ctx[64];
	size_t n = len < sizeof(ctx) - 16 ? len : sizeof(ctx) - 16;

	memcpy(ctx, "query-join.key\0\0", 16);
	memcpy(ctx + 16, session, n);
	sr_h2g_init(h, ctx, 16 + n);
}

/* ---- threads ----------------------------------------------------------- */

/* Threads for each parallel step: the machine's CPUs, at most QJ_THREADS_MAX. */
#define QJ_THREADS_MAX 8

static size_t qj_threads(void)
{
	size_t n = sr_cpu_count();

	return n < 1 ? 1 : n > QJ_THREADS_MAX ? QJ_THREADS_MAX : n;
}

/* One thread's share [lo, hi) of a parallel step; t is the thread's index. */
typedef int (*qj_range_fn)(void *ctx, size_t t, size_t lo, size_t hi, struct sr_err *err);

struct qj_part {
	qj_range_fn fn;
	void *ctx;
	size_t t, lo, hi;
	int rc;
	struct sr_err err;
};

static void *qj_part_main(void *arg)
{
	struct qj_part *p = arg;

	sr_err_clear(&p->err);
	p->rc = p->fn(p->ctx, p->t, p->lo, p->hi, &p->err);
	return NULL;
}

/* Run fn over [0, count) in nthreads contiguous ranges, range 0 on the
 * calling thread; the failure of the lowest failing range is returned
 * (so the first bad item is the one named). */
static int qj_parallel(size_t count, size_t nthreads, qj_range_fn fn, void *ctx,
		       struct sr_err *err)
{
	struct qj_part parts[QJ_THREADS_MAX];
	pthread_t th[QJ_THREADS_MAX];
	int started[QJ_THREADS_MAX] = { 0 }, rc = SR_OK;

	if (nthreads > QJ_THREADS_MAX)
		nthreads = QJ_THREADS_MAX;
	for (size_t t = 0; t < nthreads; t++) {
		parts[t] = (struct qj_part){ .fn = fn, .ctx = ctx, .t = t,
			.lo = count * t / nthreads, .hi = count * (t + 1) / nthreads };
		if (t > 0 && pthread_create(&th[t], NULL, qj_part_main, &parts[t]) == 0)
			started[t] = 1;
	}
	for (size_t t = 0; t < nthreads; t++)
		if (!started[t])
			qj_part_main(&parts[t]);   /* range 0, or a thread that did not start */
	for (size_t t = 0; t < nthreads; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		if (rc == SR_OK && parts[t].rc) {
			rc = parts[t].rc;
			sr_fail(err, rc, "%s", parts[t].err.msg);
		}
	}
	return rc;
}

/* D's matching on threads: each thread's products, term and identity
 * counts per group (thread t at [t · ngroups]). */
struct match_job {
	const struct q_layout *L;
	const struct pack *pk;
	const struct sr_he_pk *vpk;
	const uint8_t *d;
	const struct q_hash *seen;
	const uint8_t *rows;        /* V's rows in the reply */
	mpz_t **acc;
	uint64_t *terms, *ids;
};

static int match_range(void *ctx, size_t t, size_t lo, size_t hi, struct sr_err *err)
{
	struct match_job *j = ctx;
	const struct q_layout *L = j->L;
	size_t nct = j->pk->nct, ct_bytes = j->pk->ct_bytes;
	size_t row_bytes = SR_R255_BYTES + nct * ct_bytes;
	uint64_t *terms = j->terms + t * L->ngroups, *ids = j->ids + t * L->ngroups;
	mpz_t *acc = j->acc[t], *x = NULL;
	int rc = SR_OK;

	if (!(x = sr_calloc(nct, sizeof(*x))))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t k = 0; k < nct; k++)
		mpz_init2(x[k], 8 * ct_bytes);
	for (size_t i = lo; rc == SR_OK && i < hi; i++) {
		const uint8_t *p = j->rows + i * row_bytes, *cts = p + SR_R255_BYTES;
		uint8_t pt[SR_R255_BYTES];

		if (sr_r255_mul(pt, j->d, p) != SR_OK) {
			rc = sr_fail(err, SR_EPROTO, "join: row %zu's key is not a valid ristretto255 point", i);
			break;
		}
		/* Each ciphertext read once; in (0, n²) here, prime to n
		 * checked on the products (qj_run_d). */
		for (size_t k = 0; rc == SR_OK && k < nct; k++) {
			mpz_import(x[k], ct_bytes, 1, 1, 1, 0, cts + k * ct_bytes);
			if (mpz_sgn(x[k]) == 0 || mpz_cmp(x[k], sr_he_pk_n2(j->vpk)) >= 0)
				rc = sr_fail(err, SR_EPROTO, "join: ciphertext %zu of row %zu is outside Z*_{n^2} (not in 0 < c < n^2)",
					     k, i);
		}
		for (size_t g = 0; rc == SR_OK && g < L->ngroups; g++) {
			const struct q_hash_entry *e = q_hash_get(&j->seen[g], pt, sizeof(pt));
			if (!e)
				continue;
			terms[g] += e->value;
			ids[g]++;
			if (terms[g] > QJ_TERMS_MAX) {
				rc = sr_fail(err, SR_ELIMIT, "join: a group matches more than %llu rows",
					     (unsigned long long)QJ_TERMS_MAX);
				break;
			}
			for (size_t k = 0; k < nct; k++) {
				if (e->value > 1) {   /* a public exponent: D's multiplicity */
					mpz_t xm;
					mpz_init(xm);
					mpz_powm_ui(xm, x[k], e->value, sr_he_pk_n2(j->vpk));
					sr_he_add(j->vpk, acc[g * nct + k], xm, acc[g * nct + k]);
					mpz_clear(xm);
				} else {
					sr_he_add(j->vpk, acc[g * nct + k], x[k], acc[g * nct + k]);
				}
			}
		}
	}
	for (size_t k = 0; k < nct; k++)
		mpz_clear(x[k]);
	sr_free(x);
	return rc;
}

/* ---- the dimension holder ---------------------------------------------- */

int qj_run_d(const struct q_layout *L, const struct qj_side *s, const uint8_t *session,
	     size_t session_len, unsigned bits, struct sr_pipe *pipe, uint64_t *cells,
	     struct qj_stats *st, struct sr_err *err)
{
	uint8_t tag[QJ_TAG_BYTES], d[32];
	struct sr_h2g h;
	struct sr_buf body;
	struct pack pk = { 0 };
	struct sr_he_pk *vpk = NULL;
	struct q_hash *seen = sr_calloc(L->ngroups, sizeof(*seen));
	uint64_t *terms = sr_calloc(L->ngroups, sizeof(*terms));
	uint64_t *ids = sr_calloc(L->ngroups, sizeof(*ids));
	mpz_t *acc = NULL, *mask = NULL, x, y;
	size_t pad = 1, nacc = 0;
	int rc = SR_OK;

	session_tag(session, session_len, tag);
	h2g_for(&h, session, session_len);
	crypto_core_ristretto255_scalar_random(d);
	sr_buf_init(&body, SR_BUF_UNBOUNDED);
	mpz_inits(x, y, NULL);
	if (!seen || !terms || !ids) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t g = 0; g < L->ngroups; g++)
		q_hash_init(&seen[g]);
	if ((rc = pack_init(L, bits, &pk, err)) != SR_OK)
		goto out;
	/* 1. Per group, each row's blinded key (a key of m rows m times),
	 * padded with dummies to one size for every group: the power of two
	 * at or above the largest group. */
	for (size_t g = 0; g < L->ngroups; g++) {
		uint64_t rows = 0;
		for (size_t i = 0; i < s->groups[g].cap; i++)
			if (s->groups[g].slots[i].used)
				rows += s->groups[g].slots[i].value;
		if (rows > QJ_TERMS_MAX) {
			rc = sr_fail(err, SR_ELIMIT, "join: a group has more than %llu rows",
				     (unsigned long long)QJ_TERMS_MAX);
			goto out;
		}
		while (pad < rows)
			pad *= 2;
	}
	if (pad > QJ_POINTS_MAX / L->ngroups) {
		rc = sr_fail(err, SR_ELIMIT, "join: more than %zu blinded keys", QJ_POINTS_MAX);
		goto out;
	}
	if ((rc = add_u32(&body, (uint32_t)L->ngroups, err)) ||
	    (rc = add_u32(&body, (uint32_t)pad, err)))
		goto out;
	/* Blind every distinct key of every group on all threads, then lay
	 * each group out: a key of m rows m times, dummies, shuffled. */
	{
		struct blind_job bj = { &h, d, NULL, NULL, NULL };
		size_t nents = 0, k = 0;

		for (size_t g = 0; g < L->ngroups; g++)
			nents += s->groups[g].count;
		bj.ents = sr_calloc(nents + 1, sizeof(*bj.ents));
		bj.hashes = sr_calloc(nents + 1, sizeof(*bj.hashes));
		bj.out = sr_malloc((nents + 1) * SR_R255_BYTES);
		if (!bj.ents || !bj.hashes || !bj.out)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		for (size_t g = 0; rc == SR_OK && g < L->ngroups; g++)
			for (size_t i = 0; i < s->groups[g].cap; i++)
				if (s->groups[g].slots[i].used) {
					bj.ents[k] = &s->groups[g].slots[i];
					bj.hashes[k++] = &s->groups[g];
				}
		if (rc == SR_OK)
			rc = qj_parallel(k, qj_threads(), blind_range, &bj, err);
		k = 0;
		for (size_t g = 0; rc == SR_OK && g < L->ngroups; g++) {
			const struct q_hash *gh = &s->groups[g];
			size_t start = body.len, n = 0;
			uint8_t pt[SR_R255_BYTES];
			for (size_t i = 0; rc == SR_OK && i < gh->cap; i++) {
				const struct q_hash_entry *e = &gh->slots[i];
				if (!e->used)
					continue;
				for (uint64_t m = 0; rc == SR_OK && m < e->value; m++, n++)
					if (sr_buf_add(&body, bj.out + k * SR_R255_BYTES, SR_R255_BYTES))
						rc = sr_fail(err, SR_ENOMEM, "out of memory");
				k++;
			}
			for (; rc == SR_OK && n < pad; n++) {
				random_point(pt);
				if (sr_buf_add(&body, pt, sizeof(pt)))
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
			}
			if (rc == SR_OK)
				shuffle((uint8_t *)body.data + start, pad, SR_R255_BYTES);
		}
		if (bj.out)
			sodium_memzero(bj.out, (nents + 1) * SR_R255_BYTES);
		sr_free(bj.out);
		sr_free(bj.ents);
		sr_free(bj.hashes);
	}
	if (rc || (rc = qj_send(pipe, tag, QJ_KEYS, &body, st, err)) != SR_OK)
		goto out;
	st->d_points = (uint64_t)pad * L->ngroups;

	/* 2. V's key, our keys blinded by V too, V's rows. */
	/* At most: the key, our keys back, QJ_ROWS_MAX rows. */
	rc = qj_recv(pipe, tag, QJ_REPLY, 16 + sr_he_pk_wire_bytes(bits) + (size_t)L->ngroups * pad * SR_R255_BYTES +
		     QJ_ROWS_MAX * (SR_R255_BYTES + pk.nct * pk.ct_bytes), &body, st, err);
	if (rc == SR_OK) {
		struct rd r = { (const uint8_t *)body.data, body.len, 0, "reply", err };
		const uint8_t *p;
		uint32_t vbits, nrows, ng, npad;

		if ((rc = rd_u32(&r, &vbits)) != SR_OK)
			goto out;
		if (vbits != bits) {
			rc = sr_fail(err, SR_EPROTO, "join: the value holder's key has %u bits, expected %u",
				     vbits, bits);
			goto out;
		}
		if ((rc = rd_bytes(&r, sr_he_pk_wire_bytes(bits), &p)) != SR_OK)
			goto out;
		if ((rc = sr_he_pk_decode_bits(p, sr_he_pk_wire_bytes(bits), bits, NULL, &vpk,
					       err)) != SR_OK) {
			sr_err_prefix(err, "join: the value holder's key");
			rc = err->code = SR_EPROTO;
			goto out;
		}
		if ((rc = rd_u32(&r, &ng)) || (rc = rd_u32(&r, &npad)))
			goto out;
		if (ng != L->ngroups || npad != pad) {
			rc = sr_fail(err, SR_EPROTO, "join: the reply has %u groups of %u keys, expected %zu of %zu",
				     ng, npad, L->ngroups, pad);
			goto out;
		}
		for (size_t g = 0; rc == SR_OK && g < L->ngroups; g++)
			for (size_t i = 0; rc == SR_OK && i < pad; i++) {
				struct q_hash_entry *e;
				int fresh;
				if ((rc = rd_bytes(&r, SR_R255_BYTES, &p)) != SR_OK)
					break;
				if (!sr_r255_is_valid_point(p)) {
					rc = sr_fail(err, SR_EPROTO, "join: reply key %zu of group %zu is not a ristretto255 point", i, g);
					break;
				}
				if ((rc = q_hash_put(&seen[g], p, SR_R255_BYTES, &e, &fresh, err)) == SR_OK)
					e->value++;
			}
		if (rc || (rc = rd_u32(&r, &nrows)) != SR_OK)
			goto out;
		if (nrows > QJ_ROWS_MAX || r.len - r.off != (size_t)nrows * (SR_R255_BYTES + pk.nct * pk.ct_bytes)) {
			rc = sr_fail(err, SR_EPROTO, "join: the reply announces %u rows of %zu ciphertexts but carries %zu bytes",
				     nrows, pk.nct, r.len - r.off);
			goto out;
		}
		st->v_rows = nrows;
		nacc = L->ngroups * pk.nct;
		if (!(acc = sr_calloc(nacc, sizeof(*acc))) || !(mask = sr_calloc(nacc, sizeof(*mask)))) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nacc; i++) {
			mpz_init_set_ui(acc[i], 1);
			mpz_init(mask[i]);
		}
		/* 3. Match V's rows, H(k')^vd, within each group; multiply
		 * a matched row's ciphertexts in, raised to the matches: on
		 * all threads, each into its own products, combined after. */
		{
			struct match_job mj = { L, &pk, vpk, d, seen, r.p + r.off, NULL, NULL, NULL };
			size_t nth = qj_threads();

			mj.acc = sr_calloc(nth, sizeof(*mj.acc));
			mj.terms = sr_calloc(nth * L->ngroups, sizeof(*mj.terms));
			mj.ids = sr_calloc(nth * L->ngroups, sizeof(*mj.ids));
			for (size_t t = 0; mj.acc && t < nth; t++)
				if ((mj.acc[t] = sr_calloc(nacc, sizeof(mpz_t))) != NULL)
					for (size_t i = 0; i < nacc; i++)
						mpz_init_set_ui(mj.acc[t][i], 1);
			for (size_t t = 0; mj.acc && t < nth; t++)
				if (!mj.acc[t])
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
			if (!mj.acc || !mj.terms || !mj.ids)
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
			if (rc == SR_OK)
				rc = qj_parallel(nrows, nth, match_range, &mj, err);
			for (size_t t = 0; rc == SR_OK && t < nth; t++) {
				for (size_t i = 0; i < nacc; i++)
					sr_he_add(vpk, acc[i], mj.acc[t][i], acc[i]);
				for (size_t g = 0; g < L->ngroups; g++) {
					terms[g] += mj.terms[t * L->ngroups + g];
					ids[g] += mj.ids[t * L->ngroups + g];
				}
			}
			for (size_t t = 0; mj.acc && t < nth; t++) {
				for (size_t i = 0; mj.acc[t] && i < nacc; i++)
					mpz_clear(mj.acc[t][i]);
				sr_free(mj.acc[t]);
			}
			sr_free(mj.acc);
			sr_free(mj.terms);
			sr_free(mj.ids);
		}
		for (size_t g = 0; rc == SR_OK && g < L->ngroups; g++)
			if (terms[g] > QJ_TERMS_MAX)
				rc = sr_fail(err, SR_ELIMIT, "join: a group matches more than %llu rows",
					     (unsigned long long)QJ_TERMS_MAX);
		/* Every matched ciphertext in Z*_{n²}: each was checked to be
		 * in (0, n²); a product is prime to n exactly when each of its
		 * factors is, so one gcd per product covers all of them. */
		for (size_t i = 0; rc == SR_OK && i < nacc; i++) {
			mpz_gcd(y, acc[i], sr_he_pk_n(vpk));
			if (mpz_cmp_ui(y, 1) != 0)
				rc = sr_fail(err, SR_EPROTO, "join: a ciphertext matched in group %zu is outside Z*_{n^2} (shares a factor with n)",
					     i / pk.nct);
		}
		if (rc)
			goto out;
	} else {
		goto out;
	}
	/* 4. Mask each sum with a uniform value mod n, rerandomize, send. */
	sr_buf_reset(&body);
	if ((rc = add_u32(&body, (uint32_t)L->ngroups, err)) ||
	    (rc = add_u32(&body, (uint32_t)pk.nct, err)))
		goto out;
	for (size_t i = 0; rc == SR_OK && i < nacc; i++) {
		uint8_t rnd[SR_QJ_BITS_MAX / 8 + 16];
		randombytes_buf(rnd, pk.n_bytes + 16);
		mpz_import(mask[i], pk.n_bytes + 16, 1, 1, 1, 0, rnd);
		mpz_mod(mask[i], mask[i], sr_he_pk_n(vpk));
		sodium_memzero(rnd, sizeof(rnd));
		sr_he_add_plain(vpk, acc[i], mask[i], acc[i]);
		if ((rc = sr_he_rerandomize(vpk, acc[i], acc[i], err)) == SR_OK)
			rc = add_mpz(&body, acc[i], pk.ct_bytes, err);
	}
	if (rc || (rc = qj_send(pipe, tag, QJ_SUMS, &body, st, err)) != SR_OK)
		goto out;
	/* 5. The openings: unmask, unpack. */
	if ((rc = qj_recv(pipe, tag, QJ_OPEN, nacc * pk.n_bytes + 8, &body, st, err)) != SR_OK)
		goto out;
	{
		struct rd r = { (const uint8_t *)body.data, body.len, 0, "open", err };
		const uint8_t *p;
		uint32_t ng, nct;

		if ((rc = rd_u32(&r, &ng)) || (rc = rd_u32(&r, &nct)))
			goto out;
		if (ng != L->ngroups || nct != pk.nct) {
			rc = sr_fail(err, SR_EPROTO, "join: the openings have %u groups of %u, expected %zu of %zu",
				     ng, nct, L->ngroups, pk.nct);
			goto out;
		}
		for (size_t g = 0; rc == SR_OK && g < L->ngroups; g++)
			for (size_t j = 0; rc == SR_OK && j < pk.nct; j++) {
				if ((rc = rd_bytes(&r, pk.n_bytes, &p)) != SR_OK)
					break;
				mpz_import(y, pk.n_bytes, 1, 1, 1, 0, p);
				if (mpz_cmp(y, sr_he_pk_n(vpk)) >= 0) {
					rc = sr_fail(err, SR_EPROTO, "join: opening %zu of group %zu is not below n", j, g);
					break;
				}
				mpz_sub(y, y, mask[g * pk.nct + j]);
				mpz_mod(y, y, sr_he_pk_n(vpk));
				rc = unpack_sum(L, &pk, y, j, terms[g], cells + g * L->naccs, err);
			}
		if (rc == SR_OK)
			rc = rd_end(&r);
	}
	for (size_t g = 0; rc == SR_OK && L->acc_ids != SIZE_MAX && g < L->ngroups; g++)
		cells[g * L->naccs + L->acc_ids] = ids[g];
	if (rc == SR_OK)
		cells[L->cell_outside] = s->outside;
out:
	sodium_memzero(d, sizeof(d));
	for (size_t i = 0; acc && i < nacc; i++) {
		mpz_clear(acc[i]);
		mpz_clear(mask[i]);
	}
	sr_free(acc);
	sr_free(mask);
	for (size_t g = 0; seen && g < L->ngroups; g++)
		q_hash_release(&seen[g]);
	sr_free(seen);
	sr_free(terms);
	sr_free(ids);
	mpz_clears(x, y, NULL);
	sr_he_pk_free(vpk);
	sr_buf_release(&body);
	return rc;
}

/* ---- the value holder -------------------------------------------------- */

/* V's step 2 on threads: out[i] = in[i]^v for D's points. */
struct reblind_job {
	const uint8_t *v;
	const uint8_t *in;
	uint8_t *out;
	size_t pad;
};

static int reblind_range(void *ctx, size_t t, size_t lo, size_t hi, struct sr_err *err)
{
	struct reblind_job *j = ctx;

	(void)t;
	for (size_t i = lo; i < hi; i++)
		if (sr_r255_mul(j->out + i * SR_R255_BYTES, j->v, j->in + i * SR_R255_BYTES) != SR_OK)
			return sr_fail(err, SR_EPROTO, "join: key %zu of group %zu is not a valid ristretto255 point",
				       i % j->pad, i / j->pad);
	return SR_OK;
}



/* Encryptions from which V builds the CRT tables (their cost is about
 * 1,000 encryptions' worth at 2048 bits). */
#define QJ_CRT_MIN 4096

struct enc_job {
	const struct q_layout *L;
	const struct qj_side *s;
	const struct sr_h2g *h;
	const uint8_t *v;
	const struct sr_he_sk *key;
	const struct pack *pk;
	const struct q_hash_entry **ents;
	size_t row_bytes;
	uint8_t *rows;
};

/* Rows [lo, hi): the blinded key and the packed ciphertexts of each,
 * encrypted by the key's owner (CRT, sr_he_encrypt_sk). */
static int enc_range(void *ctx, size_t t, size_t lo, size_t hi, struct sr_err *err)
{
	struct enc_job *j = ctx;
	mpz_t m, c;
	int rc = SR_OK;

	(void)t;
	mpz_inits(m, c, NULL);
	for (size_t i = lo; rc == SR_OK && i < hi; i++) {
		const struct q_hash_entry *e = j->ents[i];
		uint8_t *row = j->rows + i * j->row_bytes;
		rc = blind_key(j->h, j->v, entry_key(&j->s->keys, e), e->len, row, err);
		for (size_t k = 0; rc == SR_OK && k < j->pk->nct; k++) {
			pack_row(j->L, j->pk, j->s->vals + e->value * j->L->naccs, k, m);
			rc = sr_he_encrypt_sk(j->key, m, c, err);
			if (rc == SR_OK)
				sr_he_ct_encode(sr_he_sk_pk(j->key), c, row + SR_R255_BYTES + k * j->pk->ct_bytes);
		}
	}
	mpz_clears(m, c, NULL);
	return rc;
}

static int encrypt_rows(const struct q_layout *L, const struct qj_side *s, const struct sr_h2g *h,
			const uint8_t *v, const struct sr_he_sk *key, const struct pack *pk,
			uint8_t *rows, size_t row_bytes, struct sr_err *err)
{
	const struct q_hash_entry **ents = sr_calloc(s->nvals + 1, sizeof(*ents));
	struct enc_job job = { .L = L, .s = s, .h = h, .v = v, .key = key, .pk = pk,
		.ents = ents, .row_bytes = row_bytes, .rows = rows };
	size_t n = 0;
	int rc;

	if (!ents)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->keys.cap; i++)
		if (s->keys.slots[i].used)
			ents[n++] = &s->keys.slots[i];
	rc = qj_parallel(n, qj_threads(), enc_range, &job, err);
	sr_free(ents);
	return rc;
}

int qj_run_v(const struct q_layout *L, const struct qj_side *s, const uint8_t *session,
	     size_t session_len, unsigned bits, struct sr_pipe *pipe, struct qj_stats *st,
	     struct sr_err *err)
{
	uint8_t tag[QJ_TAG_BYTES], v[32];
	struct sr_h2g h;
	struct sr_buf in, out;
	struct pack pk = { 0 };
	struct sr_he_sk *sk = NULL;
	const struct sr_he_pk *vpk = NULL;
	struct sr_err why = { 0 };
	mpz_t m, c;
	uint8_t *rows = NULL;
	struct sr_pool *tp = NULL;
	size_t row_bytes, nrows = s->nvals;
	int rc;

	session_tag(session, session_len, tag);
	h2g_for(&h, session, session_len);
	crypto_core_ristretto255_scalar_random(v);
	sr_buf_init(&in, SR_BUF_UNBOUNDED);
	sr_buf_init(&out, SR_BUF_UNBOUNDED);
	mpz_inits(m, c, NULL);
	if ((rc = pack_init(L, bits, &pk, err)) != SR_OK)
		goto done;
	row_bytes = SR_R255_BYTES + pk.nct * pk.ct_bytes;
	/* Key generation's table and, for enough rows, the CRT tables of
	 * sr_he_encrypt_sk, on a pool of our threads. */
	if (qj_threads() > 1 && sr_pool_new(qj_threads() - 1, &tp) != SR_OK)
		tp = NULL;   /* out of memory: built on this thread */
	if ((rc = sr_he_keygen_sized(bits, tp, NULL, &sk, err)) != SR_OK)
		goto done;
	if (nrows * pk.nct >= QJ_CRT_MIN && (rc = sr_he_sk_encrypt_prepare(sk, tp, err)) != SR_OK)
		goto done;
	sr_pool_free(tp);
	tp = NULL;
	vpk = sr_he_sk_pk(sk);
	/* Our rows (before D's keys arrive: the encryptions do not depend
	 * on them), shuffled so their order says nothing of the keys. */
	if (nrows && !(rows = sr_malloc(nrows * row_bytes))) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto done;
	}
	rc = encrypt_rows(L, s, &h, v, sk, &pk, rows, row_bytes, err);
	if (rc)
		goto done;
	/* Fisher-Yates over whole rows. */
	for (size_t i = nrows; i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i);
		for (size_t b = 0; b < row_bytes; b++) {
			uint8_t t = rows[(i - 1) * row_bytes + b];
			rows[(i - 1) * row_bytes + b] = rows[j * row_bytes + b];
			rows[j * row_bytes + b] = t;
		}
	}
	/* 1. D's keys. */
	if ((rc = qj_recv(pipe, tag, QJ_KEYS, 8 + QJ_POINTS_MAX * SR_R255_BYTES, &in, st, err)) != SR_OK)
		goto done;
	{
		struct rd r = { (const uint8_t *)in.data, in.len, 0, "keys", err };
		uint32_t ng, pad;

		if ((rc = rd_u32(&r, &ng)) || (rc = rd_u32(&r, &pad)))
			goto done;
		if (ng != L->ngroups || pad == 0 || pad > QJ_POINTS_MAX / ng ||
		    r.len - r.off != (size_t)ng * pad * SR_R255_BYTES) {
			rc = sr_fail(err, SR_EPROTO, "join: the keys message has %u groups of %u keys in %zu bytes, expected %zu groups",
				     ng, pad, r.len - r.off, L->ngroups);
			goto done;
		}
		/* 2. Reply: our key, D's keys blinded by us (shuffled in
		 * each group), our rows. */
		if ((rc = add_u32(&out, bits, err)) || (rc = sr_he_pk_encode(vpk, &out, err)) ||
		    (rc = add_u32(&out, ng, err)) || (rc = add_u32(&out, pad, err)))
			goto done;
		/* All of D's points raised to v on all threads, then each
		 * group shuffled. */
		if (sr_buf_grow(&out, (size_t)ng * pad * SR_R255_BYTES)) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto done;
		}
		{
			struct reblind_job rj = { v, r.p + r.off, (uint8_t *)out.data + out.len, pad };
			rc = qj_parallel((size_t)ng * pad, qj_threads(), reblind_range, &rj, err);
		}
		for (size_t g = 0; rc == SR_OK && g < ng; g++)
			shuffle((uint8_t *)out.data + out.len + g * pad * SR_R255_BYTES, pad, SR_R255_BYTES);
		out.len += (size_t)ng * pad * SR_R255_BYTES;
		if (rc || (rc = add_u32(&out, (uint32_t)nrows, err)) != SR_OK)
			goto done;
		if (nrows && sr_buf_add(&out, rows, nrows * row_bytes)) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto done;
		}
	}
	st->v_rows = nrows;
	if ((rc = qj_send(pipe, tag, QJ_REPLY, &out, st, err)) != SR_OK)
		goto done;
	/* 3. The masked sums: decrypt, return. */
	if ((rc = qj_recv(pipe, tag, QJ_SUMS, 8 + L->ngroups * pk.nct * pk.ct_bytes, &in, st, err)) != SR_OK)
		goto done;
	{
		struct rd r = { (const uint8_t *)in.data, in.len, 0, "sums", err };
		uint32_t ng, nct;
		const uint8_t *p;

		sr_buf_reset(&out);
		if ((rc = rd_u32(&r, &ng)) || (rc = rd_u32(&r, &nct)))
			goto done;
		if (ng != L->ngroups || nct != pk.nct) {
			rc = sr_fail(err, SR_EPROTO, "join: the sums message has %u groups of %u ciphertexts, expected %zu of %zu",
				     ng, nct, L->ngroups, pk.nct);
			goto done;
		}
		if ((rc = add_u32(&out, ng, err)) || (rc = add_u32(&out, nct, err)))
			goto done;
		for (size_t i = 0; rc == SR_OK && i < (size_t)ng * nct; i++) {
			if ((rc = rd_bytes(&r, pk.ct_bytes, &p)) != SR_OK)
				break;
			if (sr_he_ct_decode(vpk, p, pk.ct_bytes, c, &why) != SR_OK) {
				rc = sr_fail(err, SR_EPROTO, "join: sum %zu is outside Z*_{n^2} (%s)", i, why.msg);
				break;
			}
			if ((rc = sr_he_decrypt(sk, c, m, err)) == SR_OK)
				rc = add_mpz(&out, m, pk.n_bytes, err);
		}
		if (rc == SR_OK)
			rc = rd_end(&r);
	}
	if (rc == SR_OK)
		rc = qj_send(pipe, tag, QJ_OPEN, &out, st, err);
done:
	sr_pool_free(tp);
	sodium_memzero(v, sizeof(v));
	if (rows)
		sodium_memzero(rows, nrows * row_bytes);
	sr_free(rows);
	mpz_clears(m, c, NULL);
	sr_he_sk_free(sk);
	sr_buf_release(&in);
	sr_buf_release(&out);
	return rc;
}

/* ---- the kind's run ---------------------------------------------------- */

int q_join_run(const struct sr_kind_ctx *c, const struct q_layout *L, json_t **result,
	       struct sr_err *err)
{
	const char *d_owner = c->inputs[L->join_d].owner, *v_owner = c->inputs[L->join_v].owner;
	int is_d = c->inputs[L->join_d].local, is_v = c->inputs[L->join_v].local;
	struct qj_stats st;
	struct qj_side s;
	struct sr_pipe pipe;
	uint64_t *cells = NULL;
	int rc;

	*result = NULL;
	memset(&st, 0, sizeof(st));
	if (c->nreceivers != 1 || strcmp(c->receivers[0], d_owner) != 0)
		return sr_fail(err, SR_EPOLICY, "join: the receiver must be the dimension holder (%s)", d_owner);
	if (is_d == is_v)
		return sr_fail(err, SR_EINVAL, "join: this party must hold exactly one of the two inputs");
	if ((rc = qj_side_build(L, c, is_d ? L->join_d : L->join_v, &s, err)) != SR_OK)
		return rc;
	rc = sr_kind_pipe(c, is_d ? v_owner : d_owner, QJ_CHANNEL, &pipe, err);
	if (rc == SR_OK && is_d && !(cells = sr_calloc(L->ncells, sizeof(*cells))))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK) {
		sr_kind_progress(c, is_d ? "join: matching blinded keys" : "join: encrypting values", 0, 0);
		rc = is_d ? qj_run_d(L, &s, c->session_id, c->session_id_len, q_join_he_bits, &pipe,
				     cells, &st, err) :
			qj_run_v(L, &s, c->session_id, c->session_id_len, q_join_he_bits, &pipe, &st, err);
	}
	if (rc == SR_OK && is_d) {
		if (!(*result = q_totals_json(L, cells, NULL)) ||
		    json_object_set_new(json_object_get(*result, "meta"), "query_join",
					json_pack("{s:I,s:I,s:I,s:I}",
						  "bytes_sent", (json_int_t)st.bytes_sent,
						  "bytes_received", (json_int_t)st.bytes_received,
						  "blinded_keys_sent", (json_int_t)st.d_points,
						  "value_rows_received", (json_int_t)st.v_rows)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (cells)
		sodium_memzero(cells, L->ncells * sizeof(*cells));
	sr_free(cells);
	qj_side_release(L, &s);
	if (rc) {
		json_decref(*result);
		*result = NULL;
	}
	return rc;
}
