/*
 * verify.c - a release checked against its models from the released rows
 * alone (anon.h sr_anon_verify): what the anonymize kind runs on every
 * result before it is kept, so that a table failing k, l, t or the
 * suppression limit is never released, whatever produced it.
 *
 * Classes are the rows equal on every QI value; the l and t models are
 * judged with the same function as the search (sr_anon_models_ok), t
 * against the input distribution the report states.
 */
#include "anon/anon.h"

#include <math.h>
#include <string.h>

#include "anon/anon_int.h"
#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

struct tuple_ctx {
	const uint32_t *const *leaf;   /* [qis][rows] */
	size_t qis;
};

static int cmp_tuples(const void *a, const void *b, void *arg)
{
	const struct tuple_ctx *t = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	for (size_t q = 0; q < t->qis; q++)
		if (t->leaf[q][x] != t->leaf[q][y])
			return t->leaf[q][x] < t->leaf[q][y] ? -1 : 1;
	return 0;
}

/* The SA values a t model is measured against, as rows of vec's type:
 * each value of input ({text: rows}) repeated. */
static int input_rows(const json_t *input, const char *name, struct sr_vec *vec,
		      uint64_t rows_in, struct sr_err *err)
{
	const char *text;
	json_t *n;
	uint64_t total = 0;

	if (!json_is_object(input))
		return sr_fail(err, SR_EPOLICY,
			       "anon: %s: the report lacks the input distribution t is measured against",
			       name);
	json_object_foreach((json_t *)input, text, n) {
		json_int_t count = json_integer_value(n);

		if (!json_is_integer(n) || count < 1 || (uint64_t)count > rows_in - total)
			return sr_fail(err, SR_EPOLICY,
				       "anon: %s: the input distribution does not add up to %llu rows",
				       name, (unsigned long long)rows_in);
		total += (uint64_t)count;
		for (json_int_t i = 0; i < count; i++) {
			int rc = text[0] == '\0' && vec->type != SR_TYPE_STRING ?
				 sr_vec_append_null(vec) :
				 sr_vec_append_text(vec, text, strlen(text));
			if (rc == SR_ENOMEM)
				return sr_fail(err, rc, "anon: out of memory");
			if (rc)
				return sr_fail(err, SR_EPOLICY,
					       "anon: %s: input value '%.64s' is not a %s",
					       name, text, sr_type_name(vec->type));
		}
	}
	if (total != rows_in)
		return sr_fail(err, SR_EPOLICY,
			       "anon: %s: the input distribution has %llu rows, expected %llu",
			       name, (unsigned long long)total, (unsigned long long)rows_in);
	return SR_OK;
}

int sr_anon_verify(const struct sr_anon_column *cols, size_t ncols,
		   const struct sr_anon_params *params, uint64_t rows_in,
		   const json_t *sa_input, struct sr_err *err)
{
	size_t rows = ncols ? cols[0].values->rows : 0, qis = 0, nsa = 0, nvalues = 0;
	uint64_t suppressed, limit;
	uint32_t **leaf = NULL, *order = NULL, *hist = NULL, *scratch = NULL;
	struct sr_vec *combined = NULL;
	struct sr_anon_sa *sas = NULL;
	size_t *offset = NULL, built = 0;
	struct sr_anon_problem prob;
	int rc = SR_OK;

	if (rows > rows_in)
		return sr_fail(err, SR_EPOLICY, "anon: %zu rows released from %llu",
			       rows, (unsigned long long)rows_in);
	if (rows_in > SR_ANON_ROWS_MAX)
		return sr_fail(err, SR_ELIMIT, "anon: %llu rows, at most %llu",
			       (unsigned long long)rows_in, (unsigned long long)SR_ANON_ROWS_MAX);
	suppressed = rows_in - rows;
	limit = (uint64_t)floor(params->max_suppression * (double)rows_in + 1e-9);
	if (suppressed > limit)
		return sr_fail(err, SR_EPOLICY,
			       "anon: %llu rows suppressed, more than the limit of %llu",
			       (unsigned long long)suppressed, (unsigned long long)limit);
	for (size_t i = 0; i < ncols; i++) {
		if (cols[i].values->rows != rows)
			return sr_fail(err, SR_EPOLICY, "anon: %s: %zu rows, expected %zu",
				       cols[i].name, cols[i].values->rows, rows);
		qis += cols[i].role == SR_ANON_QI;
		nsa += sr_anon_has_model(&cols[i]);
	}
	if (rows == 0)
		return SR_OK;
	leaf = sr_calloc(qis ? qis : 1, sizeof(*leaf));
	order = sr_malloc(rows * sizeof(*order));
	sas = sr_calloc(nsa ? nsa : 1, sizeof(*sas));
	combined = sr_calloc(nsa ? nsa : 1, sizeof(*combined));
	offset = sr_calloc(nsa ? nsa : 1, sizeof(*offset));
	if (!leaf || !order || !sas || !combined || !offset) {
		rc = sr_fail(err, SR_ENOMEM, "anon: out of memory");
		goto out;
	}
	for (size_t i = 0, q = 0, a = 0; rc == SR_OK && i < ncols; i++) {
		const struct sr_anon_column *c = &cols[i];

		if (c->role == SR_ANON_QI) {
			uint32_t *first = NULL, leaves;

			leaf[q] = sr_malloc(rows * sizeof(uint32_t));
			rc = leaf[q] ? sr_anon_leaves(c->values, leaf[q], &first, &leaves) :
			     SR_ENOMEM;
			sr_free(first);
			q++;
		} else if (sr_anon_has_model(c)) {
			struct sr_anon_column view = *c;
			json_t *in = json_object_get(sa_input, c->name);

			/* The input's rows first (t only), then the released
			 * ones: one numbering of the values for both. */
			sr_vec_init(&combined[a], c->values->type);
			if (c->model.t > 0)
				rc = input_rows(in, c->name, &combined[a], rows_in, err);
			offset[a] = combined[a].rows;
			for (size_t r = 0; rc == SR_OK && r < rows; r++)
				if (sr_vec_append_from(&combined[a], c->values, r))
					rc = sr_fail(err, SR_ENOMEM, "anon: out of memory");
			view.values = &combined[a];
			if (rc == SR_OK)
				rc = sr_anon_sa_build(&sas[a], &view, err);
			if (rc == SR_OK) {
				built = a + 1;
				memset(sas[a].input_count, 0, sas[a].values * sizeof(uint64_t));
				for (size_t r = 0; r < offset[a]; r++)
					sas[a].input_count[sas[a].value_of_row[r]]++;
				nvalues += sas[a].values;
			}
			a++;
		}
	}
	if (rc == SR_ENOMEM)
		sr_fail(err, rc, "anon: out of memory");
	if (rc)
		goto out;
	hist = sr_calloc(nvalues ? nvalues : 1, sizeof(*hist));
	scratch = sr_calloc(nvalues ? nvalues : 1, sizeof(*scratch));
	if (!hist || !scratch) {
		rc = sr_fail(err, SR_ENOMEM, "anon: out of memory");
		goto out;
	}
	for (size_t r = 0; r < rows; r++)
		order[r] = (uint32_t)r;
	{
		struct tuple_ctx t = { (const uint32_t *const *)leaf, qis };

		qsort_r(order, rows, sizeof(*order), cmp_tuples, &t);
		memset(&prob, 0, sizeof(prob));
		prob.rows = rows_in;
		prob.sas = nsa;
		prob.sa = sas;
		prob.params = params;
		for (size_t start = 0, end; rc == SR_OK && start < rows; start = end) {
			uint32_t size;

			for (end = start + 1; end < rows &&
			     cmp_tuples(&order[start], &order[end], &t) == 0; end++)
				;
			size = (uint32_t)(end - start);
			if (size < params->k) {
				rc = sr_fail(err, SR_EPOLICY,
					     "anon: a class of %u rows, fewer than k = %llu",
					     size, (unsigned long long)params->k);
				break;
			}
			if (!nsa)
				continue;
			memset(hist, 0, nvalues * sizeof(*hist));
			for (size_t i = start; i < end; i++)
				for (size_t a = 0, base = 0; a < nsa; base += sas[a].values, a++)
					hist[base + sas[a].value_of_row[offset[a] + order[i]]]++;
			if (!sr_anon_models_ok(&prob, hist, size, scratch))
				rc = sr_fail(err, SR_EPOLICY,
					     "anon: a class of %u rows fails the l-diversity or t-closeness model",
					     size);
		}
	}
out:
	for (size_t q = 0; leaf && q < qis; q++)
		sr_free(leaf[q]);
	for (size_t a = 0; a < built; a++)
		sr_anon_sa_release(&sas[a]);
	for (size_t a = 0; combined && a < nsa; a++)
		sr_vec_release(&combined[a]);
	sr_free(leaf);
	sr_free(order);
	sr_free(sas);
	sr_free(combined);
	sr_free(offset);
	sr_free(hist);
	sr_free(scratch);
	return rc;
}
