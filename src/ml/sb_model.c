/*
 * sb_model.c - SecureBoost models after training (secureboost.h): joint
 * prediction over pipes (every passive party evaluates its own splits,
 * only the active party gets scores), the pooled plaintext model for
 * tests and TEE runs, and the JSON encodings of the parts each party
 * stores.  Message framing in sb_int.h, formats in secureboost.c.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "ml/sb_int.h"
#include "ml/secureboost.h"
#include "base/banned.h"

/* ---- joint prediction ------------------------------------------------------ */

/* Split ids of party `owner` that m uses: the largest + 1. */
static size_t splits_used(const struct sr_ml_sb_model *m, uint32_t owner)
{
	size_t n = 0;

	for (size_t t = 0; t < m->best_trees; t++)
		for (size_t i = 0; i < m->trees[t].nnodes; i++) {
			const struct sr_ml_sb_node *node = &m->trees[t].nodes[i];
			if (node->left && node->owner == owner && node->split_id + 1 > n)
				n = node->split_id + 1;
		}
	return n;
}

/* Bitmaps per split in one PRED_BITS message: at most the message cap. */
static size_t pred_per_msg(size_t rows)
{
	size_t per = (SR_ML_SB_MSG_MAX - 64) / (sb_bitmap_bytes(rows) ? sb_bitmap_bytes(rows) : 1);

	return per ? per : 1;
}

int sr_ml_sb_predict_active(const struct sr_ml_sb_model *m, const struct sr_ml_data *d,
			    const struct sr_pipe *passive, size_t npassive,
			    double *out, struct sr_err *err)
{
	size_t rb = sb_bitmap_bytes(d->rows), *want = NULL;
	uint8_t **bits = NULL;
	struct sr_buf msg;
	struct sb_link l;
	char name[48];
	int rc = SR_OK;

	sr_buf_init(&msg, SR_BUF_UNBOUNDED);
	memset(&l, 0, sizeof(l));
	if (npassive + 1 != m->parties)
		return sr_fail(err, SR_EINVAL, "secureboost: the model has %u parties, %zu given",
			       m->parties, npassive + 1);
	if (d->cols != m->party_cols[0])
		return sr_fail(err, SR_EINVAL, "secureboost: the model has %zu features here, the data %zu",
			       m->party_cols[0], d->cols);
	if (d->rows > SR_ML_SB_ROWS_MAX)
		return sr_fail(err, SR_ELIMIT, "secureboost: %zu rows to predict, at most %u per call",
			       d->rows, SR_ML_SB_ROWS_MAX);
	bits = sr_calloc(npassive + 1, sizeof(*bits));
	want = sr_calloc(npassive + 1, sizeof(*want));
	if (!bits || !want) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 1; i <= npassive; i++) {
		want[i] = splits_used(m, (uint32_t)i);
		bits[i] = sr_calloc(want[i] * rb + 1, 1);
		if (!bits[i]) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		rc = sb_msg_start(&msg, MSG_PRED_REQ);
		rc |= sr_buf_add_u64le(&msg, d->rows);
		rc |= sr_buf_add_u32le(&msg, (uint32_t)want[i]);
		if (rc) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(name, sizeof(name), "passive party %zu", i);
		sb_link_init(&l, &passive[i - 1], NULL);
		l.peer = name;
		rc = sb_link_send(&l, &msg, err);
		sr_buf_release(&l.in);
		if (rc)
			goto out;
	}
	for (size_t i = 1; i <= npassive; i++) {
		size_t got = 0;
		snprintf(name, sizeof(name), "passive party %zu", i);
		sb_link_init(&l, &passive[i - 1], NULL);
		l.peer = name;
		while (got < want[i]) {
			const uint8_t *b;
			size_t len, count;
			if ((rc = sb_link_recv(&l, MSG_PRED_BITS, &b, &len, err)))
				break;
			count = len >= 8 ? sr_load_u32le(b + 4) : 0;
			if (len < 8 || sr_load_u32le(b) != got || count == 0 || count > want[i] - got ||
			    len != 8 + count * rb) {
				rc = sr_fail(err, SR_EPROTO, "secureboost: PRED_BITS from %s: splits %zu.. expected, message does not fit",
					     name, got);
				break;
			}
			for (size_t k = 0; k < count; k++)
				if (!sb_bitmap_check(b + 8 + k * rb, d->rows)) {
					rc = sr_fail(err, SR_EPROTO, "secureboost: PRED_BITS from %s: bits past the last row",
						     name);
					break;
				}
			if (rc)
				break;
			memcpy(bits[i] + got * rb, b + 8, count * rb);
			got += count;
		}
		sr_buf_release(&l.in);
		if (rc)
			goto out;
	}
	for (size_t r = 0; r < d->rows; r++) {
		double margin = m->base_margin;
		for (size_t t = 0; t < m->best_trees; t++) {
			const struct sr_ml_sb_node *n = &m->trees[t].nodes[0];
			while (n->left) {
				int left;
				if (n->owner == 0) {
					double x = d->x[n->feature * d->rows + r];
					left = isnan(x) ? n->missing_left : x < n->threshold;
				} else {
					left = sb_bit_get(bits[n->owner] + n->split_id * rb, r);
				}
				n = &m->trees[t].nodes[left ? n->left : n->right];
			}
			margin += n->value;
		}
		out[r] = m->loss == SR_ML_LOGISTIC ? sr_ml_sigmoid(margin) : margin;
	}
out:
	for (size_t i = 0; bits && i <= npassive; i++)
		sr_free(bits[i]);
	sr_free(bits);
	sr_free(want);
	sr_buf_release(&msg);
	return rc;
}

int sr_ml_sb_predict_passive(const struct sr_ml_sb_part *part, const struct sr_ml_data *d,
			     const struct sr_pipe *active, struct sr_err *err)
{
	size_t rb = sb_bitmap_bytes(d->rows), want, per;
	const uint8_t *b;
	size_t len;
	struct sr_buf msg;
	struct sb_link l;
	int rc;

	sb_link_init(&l, active, NULL);
	l.peer = "the active party";
	sr_buf_init(&msg, SR_BUF_UNBOUNDED);
	if (d->cols != part->cols) {
		rc = sr_fail(err, SR_EINVAL, "secureboost: the model part has %zu features, the data %zu",
			     part->cols, d->cols);
		goto out;
	}
	if ((rc = sb_link_recv(&l, MSG_PRED_REQ, &b, &len, err)))
		goto out;
	if (len != 12) {
		rc = sb_bad_len(err, &l, MSG_PRED_REQ, len + 2, 14);
		goto out;
	}
	want = sr_load_u32le(b + 8);
	if (sr_load_u64le(b) != d->rows || want > part->nsplits) {
		rc = sr_fail(err, SR_EPROTO,
			     "secureboost: PRED_REQ from the active party: %llu rows and %zu splits, this party has %zu and %zu",
			     (unsigned long long)sr_load_u64le(b), want, d->rows, part->nsplits);
		goto out;
	}
	per = pred_per_msg(d->rows);
	for (size_t first = 0; first < want; first += per) {
		size_t count = want - first < per ? want - first : per;
		if ((rc = sb_msg_start(&msg, MSG_PRED_BITS)) ||
		    (rc = sr_buf_add_u32le(&msg, (uint32_t)first)) ||
		    (rc = sr_buf_add_u32le(&msg, (uint32_t)count)) ||
		    (rc = sr_buf_grow(&msg, count * rb))) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		memset(msg.data + msg.len, 0, count * rb);
		for (size_t k = 0; k < count; k++) {
			const struct sr_ml_sb_split *s = &part->splits[first + k];
			uint8_t *bm = (uint8_t *)msg.data + msg.len + k * rb;
			for (size_t r = 0; r < d->rows; r++) {
				double x = d->x[s->feature * d->rows + r];
				if (isnan(x) ? s->missing_left : x < s->threshold)
					sb_bit_set(bm, r);
			}
		}
		sr_buf_setlen(&msg, msg.len + count * rb);
		if ((rc = sb_link_send(&l, &msg, err)))
			goto out;
	}
out:
	sr_buf_release(&msg);
	sr_buf_release(&l.in);
	return rc;
}

/* ---- conversion to one plaintext model -------------------------------------- */

int sr_ml_sb_to_gbdt(const struct sr_ml_sb_model *m, const struct sr_ml_sb_part *parts,
		     size_t nparts, struct sr_ml_gbdt *out, struct sr_err *err)
{
	size_t *off = NULL;
	int rc = SR_OK;

	memset(out, 0, sizeof(*out));
	if (nparts + 1 != m->parties)
		return sr_fail(err, SR_EINVAL, "secureboost: the model has %u parties, %zu parts given",
			       m->parties, nparts + 1);
	off = sr_calloc(m->parties + 1, sizeof(*off));
	out->trees = sr_calloc(m->ntrees ? m->ntrees : 1, sizeof(*out->trees));
	if (!off || !out->trees) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->parties; i++) {
		if (i > 0 && (parts[i - 1].party != i || parts[i - 1].cols != m->party_cols[i])) {
			rc = sr_fail(err, SR_EINVAL, "secureboost: part %zu is party %u's with %zu features, expected party %zu's with %zu",
				     i - 1, parts[i - 1].party, parts[i - 1].cols, i, m->party_cols[i]);
			goto out;
		}
		off[i + 1] = off[i] + m->party_cols[i];
	}
	out->loss = m->loss;
	out->cols = off[m->parties];
	out->base_margin = m->base_margin;
	out->best_trees = m->best_trees;
	for (size_t t = 0; t < m->ntrees; t++) {
		const struct sr_ml_sb_tree *st = &m->trees[t];
		struct sr_ml_tree *gt = &out->trees[t];
		gt->nodes = sr_calloc(st->nnodes ? st->nnodes : 1, sizeof(*gt->nodes));
		if (!gt->nodes) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		gt->nnodes = st->nnodes;
		out->ntrees = t + 1;
		for (size_t i = 0; i < st->nnodes; i++) {
			const struct sr_ml_sb_node *s = &st->nodes[i];
			struct sr_ml_node *g = &gt->nodes[i];
			g->left = s->left;
			g->right = s->right;
			g->value = s->value;
			g->gain = s->gain;
			g->cover = s->cover;
			if (!s->left)
				continue;
			if (s->owner == 0) {
				g->feature = s->feature;
				g->bin = s->bin;
				g->threshold = s->threshold;
				g->missing_left = s->missing_left;
			} else {
				const struct sr_ml_sb_part *p = &parts[s->owner - 1];
				if (s->split_id >= p->nsplits) {
					rc = sr_fail(err, SR_EINVAL, "secureboost: tree %zu node %zu: party %u has no split %u",
						     t, i, s->owner, s->split_id);
					goto out;
				}
				g->feature = (uint32_t)(off[s->owner] + p->splits[s->split_id].feature);
				g->bin = p->splits[s->split_id].bin;
				g->threshold = p->splits[s->split_id].threshold;
				g->missing_left = p->splits[s->split_id].missing_left;
			}
		}
	}
out:
	sr_free(off);
	if (rc)
		sr_ml_gbdt_release(out);
	return rc;
}

/* ---- storage ------------------------------------------------------------------ */

/* Doubles travel as C99 hex floats ("%a"): exact, no decimal rounding. */
static json_t *json_f64(double v)
{
	char s[40];

	snprintf(s, sizeof(s), "%a", v);
	return json_string(s);
}

static int get_f64(const json_t *v, const char *what, double *out, struct sr_err *err)
{
	const char *s = json_string_value(v);
	char *end;

	if (!s)
		return sr_fail(err, SR_EINVAL, "secureboost model: %s: expected a hex float string", what);
	*out = strtod(s, &end);
	if (end == s || *end || !isfinite(*out))
		return sr_fail(err, SR_EINVAL, "secureboost model: %s: \"%.40s\" is not a finite number",
			       what, s);
	return SR_OK;
}

static int get_u32(const json_t *v, const char *what, uint64_t max, uint32_t *out,
		   struct sr_err *err)
{
	json_int_t i;

	if (!json_is_integer(v))
		return sr_fail(err, SR_EINVAL, "secureboost model: %s: expected an integer", what);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return sr_fail(err, SR_EINVAL, "secureboost model: %s: %lld, expected 0 to %llu",
			       what, (long long)i, (unsigned long long)max);
	*out = (uint32_t)i;
	return SR_OK;
}

static int dump(json_t *root, struct sr_buf *out, struct sr_err *err)
{
	int rc;

	if (!root)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_json_dump(root, 0, out);
	json_decref(root);
	return rc ? sr_fail(err, SR_ENOMEM, "out of memory") : SR_OK;
}

int sr_ml_sb_model_encode(const struct sr_ml_sb_model *m, struct sr_buf *out,
			  struct sr_err *err)
{
	json_t *root = json_object(), *cols = json_array(), *trees = json_array();
	int bad = !root || !cols || !trees;

	for (size_t i = 0; !bad && i < m->parties; i++)
		bad |= json_array_append_new(cols, json_integer((json_int_t)m->party_cols[i]));
	for (size_t t = 0; !bad && t < m->ntrees; t++) {
		json_t *nodes = json_array();
		bad |= !nodes || json_array_append_new(trees, nodes);
		for (size_t i = 0; !bad && i < m->trees[t].nnodes; i++) {
			const struct sr_ml_sb_node *n = &m->trees[t].nodes[i];
			json_t *a = json_pack("[IIIIIIoIooo]", (json_int_t)n->left, (json_int_t)n->right,
					      (json_int_t)n->owner, (json_int_t)n->split_id,
					      (json_int_t)n->feature, (json_int_t)n->bin,
					      json_f64(n->threshold), (json_int_t)n->missing_left,
					      json_f64(n->value), json_f64(n->gain), json_f64(n->cover));
			bad |= !a || json_array_append_new(nodes, a);
		}
	}
	if (!bad) {
		bad |= json_object_set_new(root, "version", json_integer(SR_ML_SB_VERSION));
		bad |= json_object_set_new(root, "kind", json_string("secureboost-active"));
		bad |= json_object_set_new(root, "loss", json_string(m->loss == SR_ML_LOGISTIC ?
								    "logistic" : "squared"));
		bad |= json_object_set_new(root, "base_margin", json_f64(m->base_margin));
		bad |= json_object_set_new(root, "best_trees", json_integer((json_int_t)m->best_trees));
		bad |= json_object_set(root, "party_cols", cols);
		bad |= json_object_set(root, "trees", trees);
	}
	json_decref(cols);
	json_decref(trees);
	if (bad) {
		json_decref(root);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	return dump(root, out, err);
}

static int check_kind(const json_t *root, const char *kind, struct sr_err *err)
{
	static const char *const active_keys[] = { "version", "kind", "loss", "base_margin",
						   "best_trees", "party_cols", "trees", NULL };
	static const char *const passive_keys[] = { "version", "kind", "party", "cols",
						    "splits", NULL };
	const char *k = NULL;
	int64_t version = 0;
	int rc;

	if (!json_is_object(root))
		return sr_fail(err, SR_EINVAL, "secureboost model: expected an object");
	if ((rc = sr_json_get_int(root, "model", "version", 1, &version, err)) ||
	    (rc = sr_json_get_string(root, "model", "kind", 1, &k, err)))
		return rc;
	if (version != SR_ML_SB_VERSION)
		return sr_fail(err, SR_EINVAL, "secureboost model: version %lld, expected %d",
			       (long long)version, SR_ML_SB_VERSION);
	if (strcmp(k, kind))
		return sr_fail(err, SR_EINVAL, "secureboost model: kind \"%s\", expected \"%s\"", k, kind);
	return sr_json_check_keys(root, "model", strcmp(kind, "secureboost-active") ?
				  passive_keys : active_keys, err);
}

static int decode_node(const json_t *a, const struct sr_ml_sb_model *m, size_t i, size_t nnodes,
		       struct sr_ml_sb_node *n, struct sr_err *err)
{
	char what[64];
	uint32_t ml = 0;
	int rc;

	snprintf(what, sizeof(what), "node %zu", i);
	if (!json_is_array(a) || json_array_size(a) != 11)
		return sr_fail(err, SR_EINVAL, "secureboost model: %s: expected an array of 11", what);
	if ((rc = get_u32(json_array_get(a, 0), what, UINT32_MAX, &n->left, err)) ||
	    (rc = get_u32(json_array_get(a, 1), what, UINT32_MAX, &n->right, err)) ||
	    (rc = get_u32(json_array_get(a, 2), what, m->parties - 1, &n->owner, err)) ||
	    (rc = get_u32(json_array_get(a, 3), what, UINT32_MAX, &n->split_id, err)) ||
	    (rc = get_u32(json_array_get(a, 4), what, UINT32_MAX, &n->feature, err)) ||
	    (rc = get_u32(json_array_get(a, 5), what, SR_ML_BINS_MAX, &n->bin, err)) ||
	    (rc = get_f64(json_array_get(a, 6), what, &n->threshold, err)) ||
	    (rc = get_u32(json_array_get(a, 7), what, 1, &ml, err)) ||
	    (rc = get_f64(json_array_get(a, 8), what, &n->value, err)) ||
	    (rc = get_f64(json_array_get(a, 9), what, &n->gain, err)) ||
	    (rc = get_f64(json_array_get(a, 10), what, &n->cover, err)))
		return rc;
	n->missing_left = (int)ml;
	/* Children come after their parent, as the trainer numbers them, so a
	 * walk always ends. */
	if (n->left || n->right) {
		if (n->left <= i || n->right != n->left + 1 || n->right >= nnodes)
			return sr_fail(err, SR_EINVAL, "secureboost model: %s: children %u, %u out of order",
				       what, n->left, n->right);
		if (n->owner == 0 && n->feature >= m->party_cols[0])
			return sr_fail(err, SR_EINVAL, "secureboost model: %s: feature %u, the party has %zu",
				       what, n->feature, m->party_cols[0]);
	}
	return SR_OK;
}

int sr_ml_sb_model_decode(const char *json, size_t len, struct sr_ml_sb_model *out,
			  struct sr_err *err)
{
	json_t *root = NULL, *cols, *trees;
	const char *loss = NULL;
	int64_t best = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sr_json_parse(json, len, "secureboost model", &root, err)) ||
	    (rc = check_kind(root, "secureboost-active", err)) ||
	    (rc = sr_json_get_string(root, "model", "loss", 1, &loss, err)) ||
	    (rc = sr_json_get_int(root, "model", "best_trees", 1, &best, err)) ||
	    (rc = get_f64(json_object_get(root, "base_margin"), "base_margin", &out->base_margin, err)))
		goto out;
	if (strcmp(loss, "logistic") && strcmp(loss, "squared")) {
		rc = sr_fail(err, SR_EINVAL, "secureboost model: loss \"%s\", expected logistic or squared", loss);
		goto out;
	}
	out->loss = strcmp(loss, "logistic") ? SR_ML_SQUARED : SR_ML_LOGISTIC;
	cols = json_object_get(root, "party_cols");
	trees = json_object_get(root, "trees");
	if (!json_is_array(cols) || json_array_size(cols) < 2 ||
	    json_array_size(cols) > SR_ML_SB_PASSIVE_MAX + 1 || !json_is_array(trees) ||
	    json_array_size(trees) < 1 || json_array_size(trees) > 10000 || best < 1 ||
	    (size_t)best > json_array_size(trees)) {
		rc = sr_fail(err, SR_EINVAL, "secureboost model: party_cols, trees or best_trees malformed");
		goto out;
	}
	out->parties = (uint32_t)json_array_size(cols);
	out->party_cols = sr_calloc(out->parties, sizeof(size_t));
	out->ntrees = json_array_size(trees);
	out->trees = sr_calloc(out->ntrees, sizeof(*out->trees));
	out->best_trees = (size_t)best;
	if (!out->party_cols || !out->trees) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < out->parties; i++) {
		uint32_t c;
		if ((rc = get_u32(json_array_get(cols, i), "party_cols", 1u << 20, &c, err)))
			goto out;
		if (c == 0) {
			rc = sr_fail(err, SR_EINVAL, "secureboost model: party %zu has no features", i);
			goto out;
		}
		out->party_cols[i] = c;
	}
	for (size_t t = 0; t < out->ntrees; t++) {
		json_t *nodes = json_array_get(trees, t);
		size_t nn = json_is_array(nodes) ? json_array_size(nodes) : 0;
		if (nn == 0 || nn > (1u << 20)) {
			rc = sr_fail(err, SR_EINVAL, "secureboost model: tree %zu: expected 1 to 2^20 nodes", t);
			goto out;
		}
		out->trees[t].nodes = sr_calloc(nn, sizeof(struct sr_ml_sb_node));
		if (!out->trees[t].nodes) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		out->trees[t].nnodes = nn;
		for (size_t i = 0; i < nn; i++)
			if ((rc = decode_node(json_array_get(nodes, i), out, i, nn,
					      &out->trees[t].nodes[i], err))) {
				sr_err_prefix(err, "tree %zu", t);
				goto out;
			}
	}
out:
	json_decref(root);
	if (rc)
		sr_ml_sb_model_release(out);
	return rc;
}

int sr_ml_sb_part_encode(const struct sr_ml_sb_part *part, struct sr_buf *out,
			 struct sr_err *err)
{
	json_t *root = json_object(), *splits = json_array();
	int bad = !root || !splits;

	for (size_t i = 0; !bad && i < part->nsplits; i++) {
		const struct sr_ml_sb_split *s = &part->splits[i];
		json_t *a = json_pack("[IIoI]", (json_int_t)s->feature, (json_int_t)s->bin,
				      json_f64(s->threshold), (json_int_t)s->missing_left);
		bad |= !a || json_array_append_new(splits, a);
	}
	if (!bad) {
		bad |= json_object_set_new(root, "version", json_integer(SR_ML_SB_VERSION));
		bad |= json_object_set_new(root, "kind", json_string("secureboost-passive"));
		bad |= json_object_set_new(root, "party", json_integer(part->party));
		bad |= json_object_set_new(root, "cols", json_integer((json_int_t)part->cols));
		bad |= json_object_set(root, "splits", splits);
	}
	json_decref(splits);
	if (bad) {
		json_decref(root);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	return dump(root, out, err);
}

int sr_ml_sb_part_decode(const char *json, size_t len, struct sr_ml_sb_part *out,
			 struct sr_err *err)
{
	json_t *root = NULL, *splits;
	int64_t party = 0, cols = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sr_json_parse(json, len, "secureboost model part", &root, err)) ||
	    (rc = check_kind(root, "secureboost-passive", err)) ||
	    (rc = sr_json_get_int(root, "model", "party", 1, &party, err)) ||
	    (rc = sr_json_get_int(root, "model", "cols", 1, &cols, err)))
		goto out;
	splits = json_object_get(root, "splits");
	if (party < 1 || party > SR_ML_SB_PASSIVE_MAX || cols < 1 || cols > (1 << 20) ||
	    !json_is_array(splits) || json_array_size(splits) > (1u << 24)) {
		rc = sr_fail(err, SR_EINVAL, "secureboost model part: party, cols or splits malformed");
		goto out;
	}
	out->party = (uint32_t)party;
	out->cols = (size_t)cols;
	out->nsplits = json_array_size(splits);
	out->splits = sr_calloc(out->nsplits ? out->nsplits : 1, sizeof(*out->splits));
	if (!out->splits) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < out->nsplits; i++) {
		json_t *a = json_array_get(splits, i);
		struct sr_ml_sb_split *s = &out->splits[i];
		uint32_t ml = 0;
		char what[48];
		snprintf(what, sizeof(what), "split %zu", i);
		if (!json_is_array(a) || json_array_size(a) != 4) {
			rc = sr_fail(err, SR_EINVAL, "secureboost model part: %s: expected an array of 4", what);
			goto out;
		}
		if ((rc = get_u32(json_array_get(a, 0), what, out->cols - 1, &s->feature, err)) ||
		    (rc = get_u32(json_array_get(a, 1), what, SR_ML_BINS_MAX, &s->bin, err)) ||
		    (rc = get_f64(json_array_get(a, 2), what, &s->threshold, err)) ||
		    (rc = get_u32(json_array_get(a, 3), what, 1, &ml, err)))
			goto out;
		s->missing_left = (int)ml;
	}
out:
	json_decref(root);
	if (rc)
		sr_ml_sb_part_release(out);
	return rc;
}
