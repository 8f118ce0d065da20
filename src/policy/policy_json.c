/*
 * policy_json.c - the normalized JSON form of a policy (sr_policy_to_json):
 * every default explicit, and canonical-safe (DESIGN §4), that is without
 * a single JSON real: integral numbers are JSON integers, others decimal
 * strings in their shortest round-trip form, which sr_policy_parse reads
 * back to the same double.
 */
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/banned.h"

/* Usage and job-kind bits: the names of 1 << 0 .. 1 << (n - 1). */
#define USAGE_BITS 7
#define JOB_BITS 5
_Static_assert(SR_USE_ALL == (1u << USAGE_BITS) - 1, "usage bits");
_Static_assert(SR_JOB_ALL == (1u << JOB_BITS) - 1, "job bits");

/* 2^63: integral doubles in [-2^63, 2^63) are exact as int64. */
#define TWO_POW_63 9223372036854775808.0

/* A finite number as a JSON integer when it is one, else as the shortest
 * decimal string that reads back as v.  NULL on allocation failure. */
json_t *sr_policy_number_json(double v)
{
	struct sr_buf text;
	json_t *j;

	if (v == floor(v) && v >= -TWO_POW_63 && v < TWO_POW_63)
		return json_integer((json_int_t)v);
	sr_buf_init(&text, 0);
	if (sr_value_format_float64(&text, v)) {
		sr_buf_release(&text);
		return NULL;
	}
	j = json_string(text.data);
	sr_buf_release(&text);
	return j;
}

/* The names of the bits set, in table order; "name" gives a bit's name. */
static json_t *names_json(unsigned bits, unsigned nbits,
			  const char *(*name)(unsigned bit))
{
	json_t *arr = json_array();

	for (unsigned i = 0; arr && i < nbits; i++) {
		if (!(bits & (1u << i)))
			continue;
		if (json_array_append_new(arr, json_string(name(1u << i)))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static const char *usage_name(unsigned bit)
{
	return sr_usage_name((enum sr_usage)bit);
}

static const char *job_name(unsigned bit)
{
	return sr_job_kind_name((enum sr_job_bit)bit);
}

static json_t *pair_json(double a, double b)
{
	json_t *arr = json_array();

	if (arr && json_array_append_new(arr, sr_policy_number_json(a)) == 0 &&
	    json_array_append_new(arr, sr_policy_number_json(b)) == 0)
		return arr;
	json_decref(arr);
	return NULL;
}

static json_t *mask_json(const struct sr_policy_column *c)
{
	struct sr_buf text;
	json_t *j = NULL;
	int rc;

	sr_buf_init(&text, 0);
	switch (c->mask) {
	case SR_MASK_HASH:
		rc = sr_buf_addstr(&text, "hash");
		break;
	case SR_MASK_TRUNCATE:
		rc = sr_buf_addf(&text, "truncate:%d", (int)c->mask_param);
		break;
	case SR_MASK_RANGE:
		rc = sr_buf_addstr(&text, "range:");
		if (rc == SR_OK)
			rc = sr_value_format_float64(&text, c->mask_param);
		break;
	case SR_MASK_NONE:
	default:
		rc = SR_EINTERNAL;
		break;
	}
	if (rc == SR_OK)
		j = json_string(text.data);
	sr_buf_release(&text);
	return j;
}

/* Null tokens in their given order (the order does not matter to import,
 * but keeping it keeps the steward's file recognizable). */
static json_t *tokens_json(char *const *tokens, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		if (json_array_append_new(arr, json_string(tokens[i]))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* A column's normalized form; the type appears once declared or bound.
 * json_object_set_new takes (and on failure frees) the value, and fails on
 * a NULL one, so one check per key covers every allocation. */
static json_t *column_json(const struct sr_policy_column *c)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "class", json_string(sr_class_name(c->cls))) ||
	    json_object_set_new(o, "allow", names_json(c->allow, USAGE_BITS, usage_name)))
		goto fail;
	if (c->type >= SR_TYPE_INT64 && c->type <= SR_TYPE_DATE &&
	    json_object_set_new(o, "type", json_string(sr_type_name(c->type))))
		goto fail;
	if (c->has_bounds &&
	    json_object_set_new(o, "bounds", pair_json(c->lo, c->hi)))
		goto fail;
	/* A copy: the caller may change the document it receives. */
	if (c->domain &&
	    json_object_set_new(o, "domain", json_deep_copy(c->domain)))
		goto fail;
	if (c->mask != SR_MASK_NONE &&
	    json_object_set_new(o, "mask", mask_json(c)))
		goto fail;
	if (c->has_nulls &&
	    json_object_set_new(o, "nulls", tokens_json(c->nulls, c->nnulls)))
		goto fail;
	if (c->generalize &&
	    json_object_set_new(o, "generalize", sr_policy_generalize_json(c)))
		goto fail;
	/* Absent means the default (receiver), so that policies without the
	 * key keep their normalized form. */
	if (c->mask == SR_MASK_HASH && c->hash_scope != SR_HASH_PER_RECEIVER &&
	    json_object_set_new(o, "hash_scope",
				json_string(sr_policy_hash_scope_name(c->hash_scope))))
		goto fail;
	if (c->join_reveals_group_counts &&
	    json_object_set_new(o, "join_reveals_group_counts", json_true()))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *dp_json(const struct sr_policy_dp *dp)
{
	json_t *o = json_object();

	if (o &&
	    json_object_set_new(o, "epsilon_total", sr_policy_number_json(dp->epsilon_total)) == 0 &&
	    json_object_set_new(o, "epsilon_max_per_job",
				sr_policy_number_json(dp->epsilon_max_per_job)) == 0 &&
	    json_object_set_new(o, "delta", sr_policy_number_json(dp->delta)) == 0)
		return o;
	json_decref(o);
	return NULL;
}

/*
 * Values a hand-made policy could carry that no parse gives, and that
 * would make the output unreadable by sr_policy_parse.
 */
static int check_policy(const struct sr_policy *pol, struct sr_err *err)
{
	for (size_t i = 0; i < pol->ncolumns; i++) {
		const struct sr_policy_column *c = &pol->columns[i];
		if (!c->name || !sr_utf8_valid(c->name, strlen(c->name)))
			return sr_fail(err, SR_EINVAL,
				       "policy: columns[%zu]: the name is missing or not UTF-8", i);
		if (c->cls < SR_CLASS_ID || c->cls > SR_CLASS_PUBLIC)
			return sr_fail(err, SR_EINVAL,
				       "policy: columns.%.64s.class: not classified", c->name);
		if (c->has_bounds && !(isfinite(c->lo) && isfinite(c->hi) &&
				       c->lo <= c->hi))
			return sr_fail(err, SR_EINVAL,
				       "policy: columns.%.64s.bounds: not finite or lo above hi",
				       c->name);
		if (c->mask == SR_MASK_RANGE && !(isfinite(c->mask_param) &&
						  c->mask_param > 0))
			return sr_fail(err, SR_EINVAL,
				       "policy: columns.%.64s.mask: range width not a positive number",
				       c->name);
		if (c->mask == SR_MASK_TRUNCATE &&
		    !(c->mask_param >= 1 && c->mask_param <= 1024))
			return sr_fail(err, SR_EINVAL,
				       "policy: columns.%.64s.mask: truncate length not from 1 to 1024",
				       c->name);
	}
	if (pol->dp.enabled &&
	    !(isfinite(pol->dp.epsilon_total) &&
	      isfinite(pol->dp.epsilon_max_per_job) && isfinite(pol->dp.delta)))
		return sr_fail(err, SR_EINVAL, "policy: dp: not finite");
	if (pol->min_group_size < 1 || pol->expires < 0)
		return sr_fail(err, SR_EINVAL,
			       "policy: min_group_size below 1 or expires negative");
	for (size_t i = 0; i < pol->nreceivers; i++)
		if (!sr_utf8_valid(pol->receivers[i], strlen(pol->receivers[i])))
			return sr_fail(err, SR_EINVAL,
				       "policy: receivers[%zu]: not UTF-8", i);
	if (pol->row_filter &&
	    !sr_utf8_valid(pol->row_filter, strlen(pol->row_filter)))
		return sr_fail(err, SR_EINVAL, "policy: row_filter: not UTF-8");
	for (size_t i = 0; i < pol->nnulls; i++)
		if (sr_policy_null_token_check("policy", "nulls",
					       pol->nulls[i],
					       strlen(pol->nulls[i]), err))
			return SR_EINVAL;
	for (size_t i = 0; i < pol->ncolumns; i++)
		for (size_t k = 0; k < pol->columns[i].nnulls; k++)
			if (sr_policy_null_token_check("policy", "columns.nulls",
						       pol->columns[i].nulls[k],
						       strlen(pol->columns[i].nulls[k]),
						       err))
				return SR_EINVAL;
	return SR_OK;
}

int sr_policy_to_json(const struct sr_policy *pol, json_t **out,
		      struct sr_err *err)
{
	json_t *doc, *cols, *recv;
	int rc;

	*out = NULL;
	rc = check_policy(pol, err);
	if (rc)
		return rc;
	/* cols and recv are attached first, so that freeing doc frees them
	 * (json_object_set_new frees the value when it fails). */
	doc = json_object();
	if (!doc || json_object_set_new(doc, "columns", cols = json_object()) ||
	    json_object_set_new(doc, "receivers", recv = json_array()))
		goto fail;
	for (size_t i = 0; i < pol->ncolumns; i++)
		if (json_object_set_new(cols, pol->columns[i].name,
					column_json(&pol->columns[i])))
			goto fail;
	for (size_t i = 0; i < pol->nreceivers; i++)
		if (json_array_append_new(recv, json_string(pol->receivers[i])))
			goto fail;
	if (json_object_set_new(doc, "version", json_integer(1)) ||
	    json_object_set_new(doc, "min_group_size",
				json_integer((json_int_t)pol->min_group_size)) ||
	    json_object_set_new(doc, "jobs", names_json(pol->jobs, JOB_BITS, job_name)))
		goto fail;
	if (pol->dp.enabled &&
	    json_object_set_new(doc, "dp", dp_json(&pol->dp)))
		goto fail;
	if (pol->tee.allow &&
	    json_object_set_new(doc, "tee", sr_policy_tee_json(&pol->tee)))
		goto fail;
	if (pol->row_filter &&
	    json_object_set_new(doc, "row_filter", json_string(pol->row_filter)))
		goto fail;
	if (pol->ids_partitioned &&
	    json_object_set_new(doc, "ids_partitioned", json_true()))
		goto fail;
	if (pol->expires &&
	    json_object_set_new(doc, "expires",
				json_integer((json_int_t)pol->expires)))
		goto fail;
	if (pol->nnulls &&
	    json_object_set_new(doc, "nulls", tokens_json(pol->nulls, pol->nnulls)))
		goto fail;
	*out = doc;
	return SR_OK;
fail:
	json_decref(doc);
	return sr_fail(err, SR_ENOMEM, "policy: out of memory");
}
