/*
 * psi_kind.c - the `psi` job kind: private set intersection of one key
 * column per party (src/psi/, docs/protocols/psi.md).
 *
 * Spec:
 *   { "kind": "psi",
 *     "inputs": [ { "dataset": "bank.customers", "column": "customer_id" },
 *                 { "dataset": "shop.members",   "column": "email" } ],
 *     "mode": "intersection" | "cardinality",
 *     "receivers": [ "org_…" ],
 *     "normalize": [ "trim", "lower", "digits" ],     (optional)
 *     "protocol": "auto" | "ecdh" | "kkrt" }           (optional, auto)
 *
 * Shapes the protocol runs: one input per organization; every receiver
 * takes part with a set of its own; three or more parties deliver to
 * exactly one receiver; cardinality takes two parties.  The first receiver
 * leads (it runs the receiver side; with two receivers the other gets the
 * result too).
 *
 * Result (at each receiver): intersection mode
 *   {"columns": ["row", COLUMN], "rows": [[row, key], ...] (sorted by row),
 *    "meta": {"mode", "dataset", "column", "size", "duplicates_removed",
 *             "input_rows", "protocol"}}   (protocol: the one that ran)
 * cardinality mode {"columns": ["intersection_size"], "rows": [[n]], ...}.
 *
 * The keys revealed go through the column's mask, if its policy has one
 * (kinds/mask.h; a hash keyed for this dataset and this receiver).
 *
 * Release (DESIGN §16): a party whose input has fewer distinct keys than
 * the strictest min_group_size of the inputs refuses before anything is
 * sent; an intersection of 1 .. min_group_size-1 keys is not released.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "kinds/kind.h"
#include "kinds/mask.h"
#include "psi/psi.h"
#include "base/banned.h"

#define PSI_CHANNEL 1

/* ---- check ---------------------------------------------------------------- */

static int psi_check(struct sr_check *c, struct sr_err *err)
{
	const json_t *spec = sr_check_spec(c);
	const json_t *inputs = json_object_get(spec, "inputs");
	const char *mode = NULL;
	size_t n = sr_check_ninputs(c), nr = sr_check_nreceivers(c);
	int64_t min_group = 1;
	json_t *in, *norm;
	size_t i;
	int rc;

	rc = sr_json_get_string(spec, "spec", "mode", 1, &mode, err);
	if (rc)
		return rc;
	if (strcmp(mode, "intersection") != 0 && strcmp(mode, "cardinality") != 0)
		return sr_fail(err, SR_EINVAL,
			       "spec.mode: unknown mode '%.40s' (expected intersection or cardinality)",
			       mode);
	if (n < 2)
		return sr_fail(err, SR_EINVAL,
			       "spec.inputs: psi needs at least two inputs");
	norm = json_object_get(spec, "normalize");
	if (norm) {
		json_t *v;
		if (!json_is_array(norm))
			return sr_fail(err, SR_EINVAL,
				       "spec.normalize: expected an array of trim, lower, digits");
		json_array_foreach(norm, i, v) {
			const char *s = json_string_value(v);
			if (!s || (strcmp(s, "trim") && strcmp(s, "lower") &&
				   strcmp(s, "digits")))
				return sr_fail(err, SR_EINVAL,
					       "spec.normalize[%zu]: expected trim, lower or digits", i);
		}
	}
	if (json_object_get(spec, "protocol")) {
		const char *name = NULL;
		enum sr_psi_protocol proto;
		rc = sr_json_get_string(spec, "spec", "protocol", 1, &name, err);
		if (rc == SR_OK)
			rc = sr_psi_protocol_parse(name, &proto, err);
		if (rc)
			return sr_err_prefix(err, "spec.protocol");
		if (proto == SR_PSI_PROTO_KKRT && strcmp(mode, "intersection") != 0) {
			rc = sr_check_violation(c, NULL, NULL, NULL,
				"psi-kkrt-intersection", err,
				"psi protocol kkrt runs intersection only (the spec's mode is %s): use auto or ecdh",
				mode);
			if (rc)
				return rc;
		}
	}
	json_array_foreach(inputs, i, in) {
		const char *column = NULL;
		char path[48];
		snprintf(path, sizeof(path), "spec.inputs[%zu]", i);
		rc = sr_json_get_string(in, path, "column", 1, &column, err);
		if (rc == SR_OK)
			rc = sr_check_use(c, i, column, SR_USE_JOIN, err);
		if (rc)
			return rc;
	}
	for (size_t a = 0; a < n; a++) {
		const struct sr_check_dataset *da = sr_check_input(c, a);
		if (da && da->policy->min_group_size > min_group)
			min_group = da->policy->min_group_size;
		for (size_t b = a + 1; da && b < n; b++) {
			const struct sr_check_dataset *db = sr_check_input(c, b);
			if (db && strcmp(da->owner, db->owner) == 0) {
				rc = sr_check_violation(c, db->name, NULL, NULL,
					"psi-one-input-per-party", err,
					"%s and %s have the same owner: psi takes one input per organization",
					da->name, db->name);
				if (rc)
					return rc;
			}
		}
	}
	for (size_t r = 0; r < nr; r++) {
		int party = 0;
		for (size_t k = 0; k < n; k++)
			party |= sr_check_input(c, k) &&
				strcmp(sr_check_input(c, k)->owner, sr_check_receiver(c, r)) == 0;
		if (!party) {
			rc = sr_check_violation(c, NULL, NULL, NULL, "psi-receiver-not-a-party", err,
				"receiver %.40s owns none of the inputs: a psi receiver takes part with its own set",
				sr_check_receiver(c, r));
			if (rc)
				return rc;
		}
	}
	if (n > 2 && nr != 1) {
		rc = sr_check_violation(c, NULL, NULL, NULL, "psi-multi-party-one-receiver", err,
			"psi with %zu parties delivers to exactly one receiver (the spec names %zu)",
			n, nr);
		if (rc)
			return rc;
	}
	if (n > 2 && strcmp(mode, "cardinality") == 0) {
		rc = sr_check_violation(c, NULL, NULL, NULL, "psi-cardinality-two-parties", err,
			"psi cardinality mode takes exactly two parties (the spec names %zu)", n);
		if (rc)
			return rc;
	}
	/* A set smaller than the threshold would make the intersection a
	 * membership test of a few people: refuse it before anything runs. */
	for (size_t k = 0; min_group > 1 && k < n; k++) {
		const struct sr_check_dataset *d = sr_check_input(c, k);
		if (d && d->rows < (uint64_t)min_group) {
			rc = sr_check_violation(c, d->name, NULL, NULL,
				"psi-input-below-min-group-size", err,
				"%s has %llu rows, fewer than the min_group_size %lld of the job's inputs",
				d->name, (unsigned long long)d->rows, (long long)min_group);
			if (rc)
				return rc;
		}
	}
	return SR_OK;
}

/* ---- this party's keys ------------------------------------------------------ */

struct keys {
	struct sr_buf text;           /* every key's text, back to back */
	size_t *offsets;              /* count + 1 */
	uint64_t *rows;               /* dataset row of each key, ascending */
	struct sr_psi_key *keys;
	size_t count, cap;
	uint64_t rows_read;           /* rows that passed the row filter */
};

static void keys_release(struct keys *k)
{
	sr_buf_wipe(&k->text);
	sr_buf_release(&k->text);
	sr_free(k->offsets);
	sr_free(k->rows);
	sr_free(k->keys);
	memset(k, 0, sizeof(*k));
}

/* The text of every non-null value of input's key column, with its row. */
static int load_keys(const struct sr_kind_ctx *c, size_t input, struct keys *k,
		     struct sr_err *err)
{
	const char *column = json_string_value(json_object_get(c->inputs[input].spec,
							       "column"));
	const char *cols[1] = { column };
	struct sr_rows rows;
	int rc, eof = 0;

	memset(k, 0, sizeof(*k));
	sr_buf_init(&k->text, SR_BUF_UNBOUNDED);
	rc = sr_kind_scan(c, input, cols, 1, &rows, err);
	while (rc == SR_OK && !eof) {
		const struct sr_vec *vecs[1];
		const uint64_t *ids;
		size_t n;

		rc = sr_rows_next(&rows, vecs, &ids, &n, &eof, err);
		for (size_t i = 0; rc == SR_OK && i < n; i++) {
			if (sr_vec_is_null(vecs[0], i))
				continue;
			if (k->count == k->cap) {
				size_t ncap = k->cap ? 2 * k->cap : 4096;
				size_t *o = sr_realloc(k->offsets, (ncap + 1) * sizeof(*o));
				uint64_t *r = o ? sr_realloc(k->rows, ncap * sizeof(*r)) : NULL;
				if (o)
					k->offsets = o;
				if (!r) {
					rc = sr_fail(err, SR_ENOMEM, "out of memory");
					break;
				}
				k->rows = r;
				k->cap = ncap;
			}
			k->offsets[k->count] = k->text.len;
			k->rows[k->count] = ids[i];
			if (sr_vec_format(vecs[0], i, &k->text) != SR_OK)
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
			k->count++;
		}
		k->rows_read += n;
	}
	sr_rows_close(&rows);
	if (rc)
		return rc;
	if (k->count)
		k->offsets[k->count] = k->text.len;
	k->keys = sr_calloc(k->count ? k->count : 1, sizeof(*k->keys));
	if (!k->keys)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; i < k->count; i++) {
		k->keys[i].data = k->text.data + k->offsets[i];
		k->keys[i].len = k->offsets[i + 1] - k->offsets[i];
		k->keys[i].row = k->rows[i];
	}
	return SR_OK;
}

static unsigned spec_normalize(const json_t *spec)
{
	const json_t *list = json_object_get(spec, "normalize");
	unsigned flags = 0;

	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *s = json_string_value(json_array_get(list, i));
		if (!s)
			continue;
		if (strcmp(s, "trim") == 0) flags |= SR_PSI_NORM_TRIM;
		if (strcmp(s, "lower") == 0) flags |= SR_PSI_NORM_LOWER;
		if (strcmp(s, "digits") == 0) flags |= SR_PSI_NORM_DIGITS;
	}
	return flags;
}

/*
 * A keyed 64-bit hash of each distinct normalized key of k (empty ones
 * skipped), sorted, with *first[i] the index in k of the first key of
 * hash i.  Used to count distinct keys and by the central oracle.
 */
struct hashed {
	uint64_t hash;
	size_t index;
};

static int cmp_hashed(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int distinct_keys(const struct keys *k, unsigned norm,
			 const uint8_t key[crypto_shorthash_KEYBYTES],
			 struct hashed **out, size_t *count, struct sr_err *err)
{
	struct hashed *h = sr_calloc(k->count ? k->count : 1, sizeof(*h));
	uint8_t *tmp = NULL;
	size_t n = 0, w = 0, maxlen = 0;

	*out = NULL;
	*count = 0;
	for (size_t i = 0; i < k->count; i++)
		if (k->keys[i].len > maxlen)
			maxlen = k->keys[i].len;
	tmp = sr_malloc(maxlen ? maxlen : 1);
	if (!h || !tmp) {
		sr_free(h);
		sr_free(tmp);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < k->count; i++) {
		size_t len = sr_psi_normalize(norm, k->keys[i].data, k->keys[i].len, tmp);
		uint8_t digest[crypto_shorthash_BYTES];
		if (len == 0)
			continue;
		crypto_shorthash(digest, tmp, len, key);
		memcpy(&h[n].hash, digest, sizeof(h[n].hash));
		h[n].index = i;
		n++;
	}
	sodium_memzero(tmp, maxlen ? maxlen : 1);
	sr_free(tmp);
	qsort(h, n, sizeof(*h), cmp_hashed);
	for (size_t i = 0; i < n; i++)
		if (w == 0 || h[w - 1].hash != h[i].hash)
			h[w++] = h[i];
	*out = h;
	*count = w;
	return SR_OK;
}

/* This party's own input (one per party: the checker says so). */
static size_t own_input(const struct sr_kind_ctx *c)
{
	for (size_t i = 0; i < c->ninputs; i++)
		if (strcmp(c->inputs[i].owner, c->self) == 0)
			return i;
	return SIZE_MAX;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The key of row i of k as this receiver sees it: through the column's
 * mask, if its policy has one (kinds/mask.h), into out. */
static json_t *key_json(const struct sr_policy_column *col, const uint8_t *key,
			const struct keys *k, size_t i, struct sr_buf *out)
{
	struct sr_err ignored;

	if (!col || col->mask == SR_MASK_NONE)
		return json_stringn((const char *)k->keys[i].data, k->keys[i].len);
	sr_buf_reset(out);
	if (sr_mask_text(col, key, (const char *)k->keys[i].data, k->keys[i].len, out,
			 &ignored))
		return NULL;
	return json_stringn(out->data, out->len);
}

/* The result for this receiver from its keys and the common rows. */
static int result_of(const struct sr_kind_ctx *c, size_t input,
		     const struct keys *k, int cardinality,
		     uint64_t *rows, size_t nrows, uint64_t size,
		     uint64_t duplicates, const char *protocol, json_t **out,
		     struct sr_err *err)
{
	const char *column = json_string_value(json_object_get(c->inputs[input].spec,
							       "column"));
	const struct sr_policy_column *col = c->inputs[input].policy ?
		sr_policy_column(c->inputs[input].policy, column) : NULL;
	uint8_t key[SR_MASK_KEY_BYTES];
	json_t *out_rows, *meta;
	struct sr_buf masked;
	int rc = SR_OK;

	*out = NULL;
	if (cardinality) {
		meta = json_pack("{s:s,s:I}", "mode", "cardinality", "size", (json_int_t)size);
		if (meta && protocol &&
		    json_object_set_new(meta, "protocol", json_string(protocol))) {
			json_decref(meta);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		*out = sr_kind_envelope(json_pack("[s]", "intersection_size"),
					json_pack("[[I]]", (json_int_t)size), meta);
		return *out ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (sr_mask_needs_key(col)) {
		rc = sr_kind_mask_key(c, input, col, c->self, key, err);
		if (rc)
			return rc;
	}
	sr_buf_init(&masked, SR_BUF_UNBOUNDED);
	qsort(rows, nrows, sizeof(*rows), cmp_u64);
	out_rows = json_array();
	for (size_t i = 0; out_rows && i < nrows; i++) {
		size_t lo = 0, hi = k->count;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (k->rows[mid] < rows[i]) lo = mid + 1; else hi = mid;
		}
		if (lo < k->count && k->rows[lo] == rows[i]) {
			/* Built directly: json_pack parses its format per row. */
			json_t *row = json_array(), *kj = key_json(col, key, k, lo, &masked);
			int bad = !row || !kj ||
				  json_array_append_new(row, json_integer((json_int_t)rows[i])) ||
				  json_array_append(row, kj);

			json_decref(kj);
			if (bad)
				json_decref(row);
			/* json_array_append_new drops row when it fails */
			if (bad || json_array_append_new(out_rows, row)) {
				json_decref(out_rows);
				out_rows = NULL;
			}
		}
	}
	sodium_memzero(key, sizeof(key));
	sr_buf_release(&masked);
	meta = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "mode", "intersection",
			 "dataset", c->inputs[input].dataset, "column", column,
			 "size", (json_int_t)nrows, "duplicates_removed",
			 (json_int_t)duplicates, "input_rows", (json_int_t)k->rows_read);
	if (meta && protocol &&
	    json_object_set_new(meta, "protocol", json_string(protocol))) {
		json_decref(meta);
		meta = NULL;
	}
	if (!out_rows || !meta) {
		json_decref(out_rows);
		json_decref(meta);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	*out = sr_kind_envelope(json_pack("[s,s]", "row", column), out_rows, meta);
	return *out ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
}

/* Refuse a set under the threshold before anything is sent. */
static int check_own_size(const struct sr_kind_ctx *c, size_t input,
			  const struct keys *k, unsigned norm, struct sr_err *err)
{
	int64_t min_group = sr_kind_min_group_size(c);
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct hashed *h = NULL;
	size_t distinct = 0;
	int rc;

	if (min_group <= 1)
		return SR_OK;
	crypto_shorthash_keygen(key);
	rc = distinct_keys(k, norm, key, &h, &distinct, err);
	sr_free(h);
	if (rc == SR_OK && distinct < (uint64_t)min_group)
		rc = sr_fail(err, SR_EPOLICY,
			     "%s: fewer distinct keys than the min_group_size %lld after the row filter; nothing was sent",
			     c->inputs[input].dataset, (long long)min_group);
	return rc;
}

/* ---- run ---------------------------------------------------------------------- */

struct progress_link {
	const struct sr_kind_ctx *c;
	const char *last;
};

static void psi_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	struct progress_link *l = ctx;
	char text[64];

	if (phase == l->last)
		return;
	l->last = phase;
	snprintf(text, sizeof(text), "psi: %s", phase);
	sr_kind_progress(l->c, text, done, total);
}

static int psi_run(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	const char *mode = json_string_value(json_object_get(c->spec, "mode"));
	int cardinality = mode && strcmp(mode, "cardinality") == 0;
	size_t input = own_input(c), leader = SIZE_MAX, nhelpers = 0;
	struct progress_link plink = { c, NULL };
	struct sr_psi_params params;
	struct sr_psi_result res;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_pipe *pipes = NULL;
	struct keys k;
	int rc;

	*result = NULL;
	memset(&k, 0, sizeof(k));
	sr_psi_result_init(&res);
	if (input == SIZE_MAX)
		return sr_fail(err, SR_EINVAL, "psi: this party owns none of the inputs");
	for (size_t i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i], c->receivers[0]) == 0)
			leader = i;
	if (leader == SIZE_MAX)
		return sr_fail(err, SR_EINVAL, "psi: the first receiver is not a party");
	sr_psi_params_init(&params);
	params.session_id = c->session_id;
	params.session_id_len = c->session_id_len;
	params.mode = cardinality ? SR_PSI_CARDINALITY : SR_PSI_INTERSECTION;
	params.normalize = spec_normalize(c->spec);
	params.parties = (uint32_t)c->nparties;
	params.pool = c->pool;
	params.progress = psi_progress;
	params.progress_ctx = &plink;
	params.output = c->nreceivers == 2 ? SR_PSI_TO_BOTH : SR_PSI_TO_RECEIVER;
	params.protocol = SR_PSI_PROTO_AUTO;
	if (json_object_get(c->spec, "protocol") &&
	    sr_psi_protocol_parse(json_string_value(json_object_get(c->spec, "protocol")),
				  &params.protocol, err))
		return sr_err_prefix(err, "spec.protocol");

	sr_kind_progress(c, "reading the input", 0, 0);
	rc = load_keys(c, input, &k, err);
	if (rc == SR_OK)
		rc = check_own_size(c, input, &k, params.normalize, err);
	if (rc)
		goto out;
	pipes = sr_calloc(c->nparties, sizeof(*pipes));
	if (!pipes) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	sr_psi_source_array(&src, &arr, k.keys, k.count);
	sr_kind_progress(c, "psi: running", 0, 0);
	if (c->self_index == leader) {
		for (size_t i = 0; rc == SR_OK && i < c->nparties; i++)
			if (i != c->self_index)
				rc = sr_kind_pipe(c, c->parties[i], PSI_CHANNEL,
						  &pipes[nhelpers++], err);
		if (rc == SR_OK && c->nparties == 2)
			rc = sr_psi_run(SR_PSI_RECEIVER, &params, &src, &pipes[0], &res, err);
		else if (rc == SR_OK)
			rc = sr_psi_run_multi(&params, &src, pipes, nhelpers, &res, err);
	} else {
		rc = sr_kind_pipe(c, c->parties[leader], PSI_CHANNEL, &pipes[0], err);
		if (rc == SR_OK)
			rc = sr_psi_run(SR_PSI_SENDER, &params, &src, &pipes[0], &res, err);
	}
	if (rc == SR_OK && c->receiver) {
		sr_kind_progress(c, "psi: building the result", 0, 0);
		rc = result_of(c, input, &k, cardinality, res.rows, res.rows_len,
			       res.stats.intersection_size, res.stats.duplicate_keys,
			       sr_psi_protocol_name(res.stats.protocol), result, err);
	}
out:
	sr_psi_result_release(&res);
	sr_free(pipes);
	keys_release(&k);
	return rc;
}

/* ---- run_central: the plaintext answer ------------------------------------------ */

static int hashed_has(const struct hashed *h, size_t n, uint64_t hash)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h[mid].hash < hash) lo = mid + 1; else hi = mid;
	}
	return lo < n && h[lo].hash == hash;
}

static int psi_run_central(const struct sr_kind_ctx *c, json_t **result,
			   struct sr_err *err)
{
	const char *mode = json_string_value(json_object_get(c->spec, "mode"));
	int cardinality = mode && strcmp(mode, "cardinality") == 0;
	unsigned norm = spec_normalize(c->spec);
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct keys *k = NULL;
	struct hashed **h = NULL;
	size_t *nh = NULL, self = own_input(c), ncommon = 0;
	uint64_t *rows = NULL, duplicates = 0;
	int rc = SR_OK;

	*result = NULL;
	if (self == SIZE_MAX)
		return sr_fail(err, SR_EINVAL, "psi: the receiver owns none of the inputs");
	crypto_shorthash_keygen(key);
	k = sr_calloc(c->ninputs, sizeof(*k));
	h = sr_calloc(c->ninputs, sizeof(*h));
	nh = sr_calloc(c->ninputs, sizeof(*nh));
	if (!k || !h || !nh) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++) {
		rc = load_keys(c, i, &k[i], err);
		if (rc == SR_OK)
			rc = distinct_keys(&k[i], norm, key, &h[i], &nh[i], err);
	}
	if (rc)
		goto out;
	rows = sr_calloc(nh[self] ? nh[self] : 1, sizeof(*rows));
	if (!rows) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	/* Keys that were not empty after normalization, less the distinct
	 * ones: the duplicates the protocol drops (it counts them the same). */
	{
		size_t nonempty = 0;
		uint8_t *tmp = sr_malloc(k[self].text.len + 1);
		if (!tmp) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < k[self].count; i++)
			nonempty += sr_psi_normalize(norm, k[self].keys[i].data,
						     k[self].keys[i].len, tmp) > 0;
		sr_free(tmp);
		duplicates = nonempty - nh[self];
	}
	for (size_t j = 0; j < nh[self]; j++) {
		int everywhere = 1;
		for (size_t i = 0; everywhere && i < c->ninputs; i++)
			if (i != self)
				everywhere = hashed_has(h[i], nh[i], h[self][j].hash);
		if (everywhere)
			rows[ncommon++] = k[self].rows[h[self][j].index];
	}
	rc = result_of(c, self, &k[self], cardinality, rows, ncommon, ncommon,
		       duplicates, NULL, result, err);
out:
	for (size_t i = 0; k && i < c->ninputs; i++)
		keys_release(&k[i]);
	for (size_t i = 0; h && i < c->ninputs; i++)
		sr_free(h[i]);
	sr_free(k);
	sr_free(h);
	sr_free(nh);
	sr_free(rows);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* ---- release ----------------------------------------------------------------------- */

static int psi_release(const struct sr_kind_ctx *c, json_t *result, struct sr_err *err)
{
	int64_t min_group = sr_kind_min_group_size(c);
	json_int_t size = json_integer_value(json_object_get(
		json_object_get(result, "meta"), "size"));

	/* An empty intersection describes nobody; one of 1 .. min-1 keys
	 * would describe fewer people than every owner allows. */
	if (size > 0 && size < min_group)
		return sr_fail(err, SR_EPOLICY,
			       "the intersection is smaller than the min_group_size %lld of the inputs: not released",
			       (long long)min_group);
	return SR_OK;
}

static const char *const psi_spec_keys[] = { "mode", "normalize", "protocol", NULL };
static const char *const psi_input_keys[] = { "column", NULL };

const struct sr_job_kind sr_kind_psi = {
	.name = "psi",
	.policy_bit = SR_JOB_PSI,
	.flags = SR_KIND_ROW_FILTER,
	.summary = "private set intersection of one key column per party (KKRT16 OT extension for intersection, ECDH over ristretto255 for cardinality)",
	.spec_keys = psi_spec_keys,
	.input_keys = psi_input_keys,
	.check = psi_check,
	.run = psi_run,
	.run_central = psi_run_central,
	.release = psi_release,
};
