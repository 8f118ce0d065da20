/*
 * sum_kind.c - a test-only job kind: the sum of one numeric column over
 * every party's input, delivered to one receiver.  It exists to show how
 * small a kind is (docs/internals/kinds.md) and to test the generic runner
 * with a kind that is not PSI; it is registered only in test binaries
 * (sealroom-test and the unit tests), never in `sealroom`.
 *
 * Spec: { "kind": "test_sum",
 *         "inputs": [ { "dataset": "bank.accounts", "column": "balance" }, ... ],
 *         "receivers": [ "org_…" ] }
 *
 * Protocol: every party that is not the receiver sums its column (NULLs
 * skipped) and sends (sum, rows) to the receiver, which adds its own.
 * Leakage: the receiver learns each party's partial sum and row count;
 * nobody else learns anything.  (A real kind would hide the partial sums
 * with secure aggregation, DESIGN §10; this one tests the plumbing.)
 * Release: a total over fewer rows than the strictest min_group_size is
 * not released.
 *
 * "pad_bytes": N (optional) adds N bytes of padding to the result's meta,
 * to test results larger than a SQLite blob should hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "kinds/kind.h"
#include "base/banned.h"

#define SUM_CHANNEL 1

struct partial {
	double sum;
	uint64_t rows;
};

static int sum_check(struct sr_check *c, struct sr_err *err)
{
	const json_t *inputs = json_object_get(sr_check_spec(c), "inputs");
	const json_t *in;
	size_t i;
	int rc;

	if (sr_check_nreceivers(c) != 1)
		return sr_fail(err, SR_EINVAL, "spec.receivers: test_sum delivers to one receiver");
	if (json_object_get(sr_check_spec(c), "pad_bytes") &&
	    (json_integer_value(json_object_get(sr_check_spec(c), "pad_bytes")) < 0 ||
	     json_integer_value(json_object_get(sr_check_spec(c), "pad_bytes")) > (1 << 28)))
		return sr_fail(err, SR_EINVAL, "spec.pad_bytes: expected 0 to 2^28");
	json_array_foreach(inputs, i, in) {
		const struct sr_check_dataset *d = sr_check_input(c, i);
		const struct sr_policy_column *col;
		const char *column = NULL;
		char path[48];

		snprintf(path, sizeof(path), "spec.inputs[%zu]", i);
		rc = sr_json_get_string(in, path, "column", 1, &column, err);
		if (rc == SR_OK)
			rc = sr_check_use(c, i, column, SR_USE_AGGREGATE, err);
		if (rc)
			return rc;
		col = d ? sr_policy_column(d->policy, column) : NULL;
		if (col && col->type != SR_TYPE_INT64 && col->type != SR_TYPE_FLOAT64) {
			rc = sr_check_violation(c, d->name, column, "aggregate", "sum-not-numeric",
						err, "%s.%s is not numeric", d->name, column);
			if (rc)
				return rc;
		}
	}
	return SR_OK;
}

/* Sum input's column over its rows (filtered by the scan). */
static int local_sum(const struct sr_kind_ctx *c, size_t input, struct partial *p,
		     struct sr_err *err)
{
	const char *column = json_string_value(json_object_get(c->inputs[input].spec, "column"));
	struct sr_rows rows;
	int rc, eof = 0;

	rc = sr_kind_scan(c, input, &column, 1, &rows, err);
	while (rc == SR_OK && !eof) {
		const struct sr_vec *v[1];
		const uint64_t *ids;
		size_t n;

		rc = sr_rows_next(&rows, v, &ids, &n, &eof, err);
		for (size_t r = 0; rc == SR_OK && r < n; r++) {
			if (sr_vec_is_null(v[0], r))
				continue;
			p->sum += v[0]->type == SR_TYPE_INT64 ? (double)v[0]->v.i64[r] :
				v[0]->v.f64[r];
			p->rows++;
		}
	}
	sr_rows_close(&rows);
	return rc;
}

static json_t *envelope(const struct sr_kind_ctx *c, const struct partial *total)
{
	json_int_t pad = json_integer_value(json_object_get(c->spec, "pad_bytes"));
	json_t *meta = json_object();

	if (meta && pad > 0) {
		char *text = calloc(1, (size_t)pad + 1);
		if (!text || json_object_set_new(meta, "pad", json_stringn(
				memset(text, 'x', (size_t)pad), (size_t)pad))) {
			json_decref(meta);
			meta = NULL;
		}
		free(text);
	}
	return sr_kind_envelope(json_pack("[s,s]", "sum", "rows"),
				json_pack("[[f,I]]", total->sum, (json_int_t)total->rows),
				meta);
}

static int sum_run(const struct sr_kind_ctx *c, json_t **result, struct sr_err *err)
{
	struct partial mine = { 0, 0 };
	struct sr_pipe pipe;
	struct sr_buf msg;
	int rc = SR_OK;

	*result = NULL;
	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++)
		if (c->inputs[i].local)
			rc = local_sum(c, i, &mine, err);
	if (rc)
		return rc;
	sr_buf_init(&msg, sizeof(struct partial));
	if (!c->receiver) {
		rc = sr_kind_pipe(c, c->receivers[0], SUM_CHANNEL, &pipe, err);
		if (rc == SR_OK)
			rc = pipe.send(pipe.ctx, (const uint8_t *)&mine, sizeof(mine), err);
	} else {
		for (size_t i = 0; rc == SR_OK && i < c->nparties; i++) {
			struct partial theirs;
			if (i == c->self_index)
				continue;
			rc = sr_kind_pipe(c, c->parties[i], SUM_CHANNEL, &pipe, err);
			if (rc == SR_OK)
				rc = pipe.recv(pipe.ctx, &msg, sizeof(theirs), err);
			if (rc == SR_OK && msg.len != sizeof(theirs))
				rc = sr_fail(err, SR_EPROTO, "test_sum: %s sent %zu bytes",
					     c->parties[i], msg.len);
			if (rc == SR_OK) {
				memcpy(&theirs, msg.data, sizeof(theirs));
				mine.sum += theirs.sum;
				mine.rows += theirs.rows;
			}
		}
		if (rc == SR_OK && !(*result = envelope(c, &mine)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	sr_buf_release(&msg);
	return rc;
}

static int sum_run_central(const struct sr_kind_ctx *c, json_t **result,
			   struct sr_err *err)
{
	struct partial total = { 0, 0 };
	int rc = SR_OK;

	for (size_t i = 0; rc == SR_OK && i < c->ninputs; i++)
		rc = local_sum(c, i, &total, err);
	if (rc == SR_OK && !(*result = envelope(c, &total)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	return rc;
}

static int sum_release(const struct sr_kind_ctx *c, json_t *result, struct sr_err *err)
{
	json_int_t rows = json_integer_value(json_array_get(
		json_array_get(json_object_get(result, "rows"), 0), 1));

	if (rows < sr_kind_min_group_size(c))
		return sr_fail(err, SR_EPOLICY,
			       "test_sum: %lld rows, fewer than the min_group_size %lld: not released",
			       (long long)rows, (long long)sr_kind_min_group_size(c));
	return SR_OK;
}

static const char *const sum_spec_keys[] = { "pad_bytes", NULL };
static const char *const sum_input_keys[] = { "column", NULL };

static const struct sr_job_kind sum_kind = {
	.name = "test_sum",
	.policy_bit = 0,
	.flags = SR_KIND_ROW_FILTER | SR_KIND_TEST,
	.summary = "test only: the sum of one numeric column over every party",
	.spec_keys = sum_spec_keys,
	.input_keys = sum_input_keys,
	.check = sum_check,
	.run = sum_run,
	.run_central = sum_run_central,
	.release = sum_release,
};

__attribute__((constructor)) static void sum_register(void)
{
	if (sr_kind_register(&sum_kind) != SR_OK)
		fputs("test_sum: cannot register the kind\n", stderr);
}
