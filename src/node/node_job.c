/*
 * node_job.c - the job runner (DESIGN §4, §7, §8).  A node runs a job only
 * when its own fold of the ledger says every owner approved it; it then
 * checks the job again with its own security checker and its own copy of
 * the data's policy, opens end-to-end encrypted channels to the other
 * participants through the coordinator's mailboxes (the hello of each
 * channel carries the ledger head, so participants that were shown
 * different histories stop there), runs the protocol, keeps the output
 * sealed for this organization's analysts, and records job.start,
 * job.finish (with the output's hash) or job.fail.
 *
 * Job kinds: psi (the PSI library, unchanged).
 */
#include "node/node_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/text.h"
#include "crypto/crypto.h"
#include "net/jobchan.h"
#include "psi/psi.h"
#include "store/vec.h"
#include "base/banned.h"

#define OUTPUT_DOMAIN "sealroom.output.v1"
#define RESULT_AD_LABEL "sealroom.result.v1"

/* ---- local job table ----------------------------------------------------- */

static void local_set(struct sr_node *n, const char *job_hex, const char *project,
		      const char *state, const char *progress, const char *error)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(n->db, "INSERT INTO node_jobs(job_id, project, state,"
			       " progress, error, updated) VALUES (?,?,?,?,?,?)"
			       " ON CONFLICT(job_id) DO UPDATE SET state = excluded.state,"
			       " progress = coalesce(excluded.progress, progress),"
			       " error = coalesce(excluded.error, error),"
			       " updated = excluded.updated", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, progress, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
		if (sqlite3_step(st) != SQLITE_DONE)
			sr_log_error("node.db: job %s: %s", job_hex, sqlite3_errmsg(n->db));
	}
	sqlite3_finalize(st);
}

/* The local state of a job, or NULL if this node never touched it. */
static char *local_state(struct sr_node *n, const char *job_hex)
{
	sqlite3_stmt *st = NULL;
	char *state = NULL;

	if (sqlite3_prepare_v2(n->db, "SELECT state FROM node_jobs WHERE job_id = ?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			state = sr_strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return state;
}

json_t *node_job_local(struct sr_node *n, const uint8_t job_id[SR_EVENT_ID_BYTES])
{
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	sqlite3_stmt *st = NULL;
	json_t *out = NULL;

	sr_hex(hex, job_id, SR_EVENT_ID_BYTES);
	if (sqlite3_prepare_v2(n->db, "SELECT state, progress, error, updated FROM node_jobs"
			       " WHERE job_id = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *progress = (const char *)sqlite3_column_text(st, 1);
			const char *error = (const char *)sqlite3_column_text(st, 2);
			out = json_pack("{s:s,s:o,s:o,s:I}",
					"state", (const char *)sqlite3_column_text(st, 0),
					"progress", progress ? json_string(progress) : json_null(),
					"error", error ? json_string(error) : json_null(),
					"updated", (json_int_t)sqlite3_column_int64(st, 3));
		}
	}
	sqlite3_finalize(st);
	return out;
}

void node_job_finished(struct sr_node *n, const struct sr_ledger_job *job)
{
	const char *hash = json_string_value(json_object_get(job->receipt, "output_hash"));
	sqlite3_stmt *st = NULL;

	if (!hash)
		return;
	if (sqlite3_prepare_v2(n->db, "UPDATE node_access_log SET output_hash = ?"
			       " WHERE job_id = ? AND output_hash IS NULL", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, job->id_hex, -1, SQLITE_STATIC);
		(void)sqlite3_step(st);
	}
	sqlite3_finalize(st);
}

/* ---- running a job ------------------------------------------------------- */

struct run {
	struct sr_node *n;
	struct node_runner *r;
	char project[SR_PROJECT_ID_MAX + 1];
	char job_hex[SR_EVENT_ID_HEX_LEN + 1];
	uint8_t job_id[SR_EVENT_ID_BYTES];
	uint8_t head[SR_EVENT_ID_BYTES];
	json_t *spec;
	struct sr_jobchan_party *parties;   /* owners in input order */
	size_t nparties;
	size_t self;                        /* index of this org */
	char *dataset;                      /* own input, local name */
	char *full_dataset;                 /* own input, org.name */
	char *column;
	char published_version[SR_EVENT_ID_HEX_LEN + 1];
	int leader;                         /* first receiver: starts, finishes */
	int receiver;
	const char *last_phase;             /* of the PSI progress reports */
	uint8_t session_id[SR_JOBCHAN_SID_BYTES];
};

static void run_free(struct run *run)
{
	json_decref(run->spec);
	sr_free(run->parties);
	sr_free(run->dataset);
	sr_free(run->full_dataset);
	sr_free(run->column);
	sr_free(run);
}

/* Lock held.  1 if the job has ended in this node's fold. */
static int job_ended(struct sr_node *n, const char *project, const uint8_t *job_id)
{
	struct node_project *p = node_project_find(n, project);
	const struct sr_ledger_job *job = p ? sr_ledger_job_find(&p->ledger, job_id) : NULL;

	return !job || job->state >= SR_JOB_FINISHED || (p && p->error);
}

static int should_abort(void *ctx)
{
	struct run *run = ctx;
	int ended;

	pthread_mutex_lock(&run->n->lock);
	ended = run->n->stopping || job_ended(run->n, run->project, run->job_id);
	pthread_mutex_unlock(&run->n->lock);
	return ended;
}

static void set_progress(struct run *run, const char *text)
{
	sr_log_info("job %.16s: %s", run->job_hex, text);
	pthread_mutex_lock(&run->n->lock);
	snprintf(run->r->progress, sizeof(run->r->progress), "%s", text);
	local_set(run->n, run->job_hex, run->project, "running", text, NULL);
	pthread_mutex_unlock(&run->n->lock);
}

static void psi_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	struct run *run = ctx;
	char text[96];

	(void)done;
	(void)total;
	if (phase == run->last_phase)
		return;
	run->last_phase = phase;
	snprintf(text, sizeof(text), "psi: %s", phase);
	set_progress(run, text);
}

/* Lock held.  Record job.fail for job_hex with this organization's
 * reason, made fit for the ledger's free text; a refusal (the job ended
 * meanwhile) is only logged. */
static void append_fail(struct sr_node *n, struct node_project *p,
			const char *job_hex, const char *why)
{
	char reason[SR_EVENT_TEXT_MAX + 1];
	struct sr_err err;

	sr_err_clear(&err);
	snprintf(reason, sizeof(reason), "%s: %s", n->name, why);
	sr_text_clean(reason, SR_EVENT_TEXT_MAX);
	if (node_append(n, p, SR_EVENT_JOB_FAIL, json_pack("{s:s,s:s}", "job_id",
			job_hex, "reason", reason), NULL, NULL, &err) != SR_OK)
		sr_log_warn("job %.16s: could not record job.fail: %s", job_hex, err.msg);
}

/* Append an event about the job (lock taken here). */
static int job_event(struct run *run, enum sr_event_type type, json_t *body,
		     struct sr_err *err)
{
	struct node_project *p;
	int rc;

	pthread_mutex_lock(&run->n->lock);
	p = node_project_find(run->n, run->project);
	rc = p ? node_append(run->n, p, type, body, NULL, NULL, err) :
		(json_decref(body), sr_fail(err, SR_ENOTFOUND, "project gone"));
	pthread_mutex_unlock(&run->n->lock);
	return rc;
}

/* Read this party's keys: the text of every non-null value of the key
 * column, with its row number. */
struct keys {
	struct sr_buf text;
	size_t *offsets;
	uint64_t *rows;
	size_t count, cap;
	uint64_t rows_read;
	struct sr_psi_key *keys;
};

static int load_keys(struct run *run, struct keys *k, struct sr_err *err)
{
	const char *cols[1] = { run->column };
	struct sr_scan *scan = NULL;
	uint64_t row = 0;
	int rc, eof = 0;

	pthread_mutex_lock(&run->n->store_lock);
	rc = sr_scan_open(run->n->store, run->dataset, cols, 1, &scan, err);
	if (rc == SR_OK && strcmp(sr_scan_info(scan)->version_id,
				  run->published_version) != 0)
		rc = sr_fail(err, SR_EPERM,
			     "%s: the local version %.16s is not the published version %.16s the job was approved for",
			     run->full_dataset, sr_scan_info(scan)->version_id,
			     run->published_version);
	while (rc == SR_OK && !eof) {
		const struct sr_vec *vec;
		size_t rows;

		rc = sr_scan_next(scan, &vec, &rows, &eof, err);
		for (size_t i = 0; rc == SR_OK && !eof && i < rows; i++, row++) {
			if (sr_vec_is_null(vec, i))
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
			k->rows[k->count] = row;
			rc = sr_vec_format(vec, i, &k->text);
			if (rc)
				rc = sr_fail(err, rc, "out of memory");
			k->count++;
		}
	}
	k->rows_read = row;
	sr_scan_free(scan);
	pthread_mutex_unlock(&run->n->store_lock);
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

static void keys_release(struct keys *k)
{
	sr_buf_wipe(&k->text);
	sr_buf_release(&k->text);
	sr_free(k->offsets);
	sr_free(k->rows);
	sr_free(k->keys);
}

static void access_log(struct run *run, uint64_t rows)
{
	char cols[SR_COLUMN_NAME_MAX * 2 + 8];
	json_t *arr = json_pack("[s]", run->column);
	char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	sqlite3_stmt *st = NULL;

	snprintf(cols, sizeof(cols), "%s", text ? text : "[]");
	free(text);
	json_decref(arr);
	pthread_mutex_lock(&run->n->lock);
	if (sqlite3_prepare_v2(run->n->db, "INSERT INTO node_access_log(time, job_id,"
			       " project, dataset, version_id, columns, rows) VALUES"
			       " (?,?,?,?,?,?,?)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
		sqlite3_bind_text(st, 2, run->job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, run->project, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, run->full_dataset, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, run->published_version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, cols, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)rows);
		if (sqlite3_step(st) != SQLITE_DONE)
			sr_log_error("node.db: access log: %s", sqlite3_errmsg(run->n->db));
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&run->n->lock);
}

/* Seal and keep this organization's result; *hash_hex its output hash. */
static int keep_result(struct run *run, json_t *result,
		       char hash_hex[2 * SR_HASH_BYTES + 1], struct sr_err *err)
{
	uint8_t key[32], nonce[SR_AEAD_NONCEBYTES], hash[SR_HASH_BYTES];
	char ad[sizeof(RESULT_AD_LABEL) + SR_EVENT_ID_HEX_LEN + 1];
	struct sr_buf text;
	uint8_t *sealed;
	sqlite3_stmt *st = NULL;
	int rc;

	/* A random salt in the result makes the hash in job.finish reveal
	 * nothing about the output (a cardinality or a small result could
	 * otherwise be found by trying values); the receiver, who has the
	 * salt, can show that its result has this hash. */
	{
		uint8_t salt[32];
		char salt_hex[65];
		sr_random_buf(salt, sizeof(salt));
		sr_hex(salt_hex, salt, sizeof(salt));
		if (json_object_set_new(result, "salt", json_string(salt_hex)))
			return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	sr_buf_init(&text, 0);
	rc = sr_json_canonical(result, &text, err);
	if (rc)
		return rc;
	sr_hash(hash, OUTPUT_DOMAIN, text.data, text.len);
	sr_hex(hash_hex, hash, sizeof(hash));
	sealed = sr_malloc(SR_AEAD_NONCEBYTES + text.len + SR_AEAD_ABYTES);
	if (!sealed) {
		sr_buf_release(&text);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	snprintf(ad, sizeof(ad), "%s%s", RESULT_AD_LABEL, run->job_hex);
	sr_random_buf(nonce, sizeof(nonce));
	sr_masterkey_subkey(run->n->mk, SR_SUBKEY_RESULTS, key);
	memcpy(sealed, nonce, sizeof(nonce));
	sr_aead_seal(sealed + sizeof(nonce), (const uint8_t *)text.data, text.len,
		     (const uint8_t *)ad, strlen(ad), nonce, key);
	sodium_memzero(key, sizeof(key));
	pthread_mutex_lock(&run->n->lock);
	if (sqlite3_prepare_v2(run->n->db, "INSERT OR REPLACE INTO node_results(job_id,"
			       " project, sealed, output_hash, created) VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sr_fail(err, SR_EIO, "node.db: %s", sqlite3_errmsg(run->n->db));
	} else {
		sqlite3_bind_text(st, 1, run->job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, run->project, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, sealed, (int)(sizeof(nonce) + text.len + SR_AEAD_ABYTES),
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, hash_hex, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sr_fail(err, SR_EIO, "node.db: %s", sqlite3_errmsg(run->n->db));
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&run->n->lock);
	sr_buf_wipe(&text);
	sr_buf_release(&text);
	sr_free(sealed);
	return rc;
}

int node_job_result(struct sr_node *n, const char *job_hex, json_t **out,
		    struct sr_err *err)
{
	char ad[sizeof(RESULT_AD_LABEL) + SR_EVENT_ID_HEX_LEN + 1];
	uint8_t key[32];
	sqlite3_stmt *st = NULL;
	uint8_t *plain = NULL;
	int rc = SR_OK;

	*out = NULL;
	if (sqlite3_prepare_v2(n->db, "SELECT sealed FROM node_results WHERE job_id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return sr_fail(err, SR_EIO, "node.db: %s", sqlite3_errmsg(n->db));
	sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sr_fail(err, SR_ENOTFOUND,
			       "job %.16s: this organization has no result (not a receiver, or the job has not finished)",
			       job_hex);
	}
	{
		const uint8_t *sealed = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		if (len < SR_AEAD_NONCEBYTES + SR_AEAD_ABYTES) {
			rc = sr_fail(err, SR_ECORRUPT, "job %.16s: stored result is damaged", job_hex);
			goto out;
		}
		plain = sr_malloc(len);
		if (!plain) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(ad, sizeof(ad), "%s%s", RESULT_AD_LABEL, job_hex);
		sr_masterkey_subkey(n->mk, SR_SUBKEY_RESULTS, key);
		rc = sr_aead_open(plain, sealed + SR_AEAD_NONCEBYTES,
				  len - SR_AEAD_NONCEBYTES, (const uint8_t *)ad, strlen(ad),
				  sealed, key);
		sodium_memzero(key, sizeof(key));
		if (rc) {
			rc = sr_fail(err, SR_ECORRUPT,
				     "job %.16s: stored result does not decrypt (damaged or swapped)",
				     job_hex);
			goto out;
		}
		rc = sr_json_parse((const char *)plain, len - SR_AEAD_NONCEBYTES - SR_AEAD_ABYTES,
				   "stored result", out, err);
		sodium_memzero(plain, len);
	}
out:
	sr_free(plain);
	sqlite3_finalize(st);
	return rc;
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

/* Run PSI over the open channel; fills result for a receiver. */
static int run_psi(struct run *run, struct sr_jobchan *ch, struct keys *k,
		   json_t **result, uint64_t *size_out, struct sr_err *err)
{
	const char *mode = json_string_value(json_object_get(run->spec, "mode"));
	const json_t *receivers = json_object_get(run->spec, "receivers");
	struct sr_psi_params params;
	struct sr_psi_result res;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_jobchan_pipe_link *adapters = NULL;
	struct sr_pipe *ios = NULL;
	size_t leader_idx = 0, nreceivers = json_array_size(receivers);
	int rc = SR_OK;

	*result = NULL;
	sr_psi_params_init(&params);
	/* Fresh for this run and the same at every party (it hashes both
	 * hellos): hashing to the group is separated per run. */
	sr_jobchan_session_id(ch, run->session_id);
	params.session_id = run->session_id;
	params.session_id_len = sizeof(run->session_id);
	params.mode = mode && strcmp(mode, "cardinality") == 0 ? SR_PSI_CARDINALITY :
		SR_PSI_INTERSECTION;
	params.normalize = spec_normalize(run->spec);
	params.parties = (uint32_t)run->nparties;
	params.pool = sr_store_pool(run->n->store);
	params.progress = psi_progress;
	params.progress_ctx = run;
	params.output = nreceivers == 2 ? SR_PSI_TO_BOTH : SR_PSI_TO_RECEIVER;
	if (run->nparties > 2 && nreceivers != 1)
		return sr_fail(err, SR_EINVAL,
			       "psi with %zu parties delivers to exactly one receiver (the spec names %zu)",
			       run->nparties, nreceivers);
	if (run->nparties > 2 && params.mode == SR_PSI_CARDINALITY)
		return sr_fail(err, SR_EINVAL,
			       "psi cardinality mode takes two parties (the spec names %zu)",
			       run->nparties);
	for (size_t i = 0; i < run->nparties; i++)
		if (strcmp(run->parties[i].org_id,
			   json_string_value(json_array_get(receivers, 0))) == 0)
			leader_idx = i;
	sr_psi_result_init(&res);
	sr_psi_source_array(&src, &arr, k->keys, k->count);
	adapters = sr_calloc(run->nparties, sizeof(*adapters));
	ios = sr_calloc(run->nparties, sizeof(*ios));
	if (!adapters || !ios) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (run->leader) {
		size_t h = 0;
		for (size_t i = 0; rc == SR_OK && i < run->nparties; i++)
			if (i != run->self)
				rc = sr_jobchan_pipe(ch, run->parties[i].org_id, 1,
						       &adapters[h], &ios[h], err), h++;
		if (rc)
			goto out;
		if (run->nparties == 2)
			rc = sr_psi_run(SR_PSI_RECEIVER, &params, &src, &ios[0], &res, err);
		else
			rc = sr_psi_run_multi(&params, &src, ios, h, &res, err);
	} else {
		rc = sr_jobchan_pipe(ch, run->parties[leader_idx].org_id, 1,
				       &adapters[0], &ios[0], err);
		if (rc == SR_OK)
			rc = sr_psi_run(SR_PSI_SENDER, &params, &src, &ios[0], &res, err);
	}
	if (rc)
		goto out;
	*size_out = res.stats.intersection_size;
	if (run->receiver) {
		json_t *rows = json_array();
		if (params.mode == SR_PSI_CARDINALITY) {
			*result = json_pack("{s:s,s:s,s:s,s:I,s:[s],s:[[I]]}", "job_id",
					    run->job_hex, "kind", "psi", "mode", "cardinality",
					    "size", (json_int_t)res.stats.intersection_size,
					    "columns", "intersection_size", "rows",
					    (json_int_t)res.stats.intersection_size);
			json_decref(rows);
		} else {
			/* res.rows are row numbers; find each one's key. */
			size_t j = 0;
			for (size_t i = 0; rows && i < res.rows_len; i++) {
				uint64_t row = res.rows[i];
				size_t lo = 0, hi = k->count;
				while (lo < hi) {
					size_t mid = lo + (hi - lo) / 2;
					if (k->rows[mid] < row) lo = mid + 1; else hi = mid;
				}
				j = lo;
				if (j < k->count && k->rows[j] == row)
					json_array_append_new(rows, json_pack("[I,s%]",
						(json_int_t)row, (const char *)k->keys[j].data,
						k->keys[j].len));
			}
			*result = rows ? json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:[s,s],s:o,s:I,s:I}",
				"job_id", run->job_hex, "kind", "psi", "mode", "intersection",
				"dataset", run->full_dataset, "column", run->column,
				"size", (json_int_t)res.rows_len, "columns", "row", run->column,
				"rows", rows, "duplicates_removed",
				(json_int_t)res.stats.duplicate_keys, "input_rows",
				(json_int_t)k->rows_read) : NULL;
		}
		if (!*result)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
out:
	sr_psi_result_release(&res);
	sr_free(adapters);
	sr_free(ios);
	return rc;
}

static void *runner_main(void *arg)
{
	struct run *run = arg;
	struct sr_node *n = run->n;
	struct sr_jobchan *ch = NULL;
	struct sr_jobchan_params cp;
	struct node_mail *mail = NULL;
	struct keys k;
	struct sr_err err;
	json_t *result = NULL;
	char hash_hex[2 * SR_HASH_BYTES + 1] = "";
	uint64_t size = 0;
	int rc;

	sr_err_clear(&err);
	memset(&k, 0, sizeof(k));
	sr_buf_init(&k.text, 0);
	set_progress(run, "reading the input");
	rc = load_keys(run, &k, &err);
	if (rc == SR_OK)
		access_log(run, k.rows_read);
	if (rc == SR_OK) {
		struct sr_mailbox_ops ops;
		rc = node_mail_new(n, run->project, run->job_hex, &mail, &ops, &err);
		set_progress(run, "exchanging keys with the other participants");
		memset(&cp, 0, sizeof(cp));
		cp.project = run->project;
		cp.job_id = run->job_id;
		cp.head = run->head;
		cp.self = &n->id;
		cp.parties = run->parties;
		cp.nparties = run->nparties;
		cp.ops = &ops;
		cp.timeout_ms = n->job_timeout_ms;
		cp.should_abort = should_abort;
		cp.abort_ctx = run;
		rc = sr_jobchan_open(&cp, &ch, &err);
	}
	if (rc == SR_OK && run->leader) {
		char head_hex[SR_EVENT_ID_HEX_LEN + 1];
		sr_hex(head_hex, run->head, sizeof(run->head));
		rc = job_event(run, SR_EVENT_JOB_START,
			       json_pack("{s:s,s:s}", "job_id", run->job_hex, "head", head_hex),
			       &err);
	}
	if (rc == SR_OK) {
		set_progress(run, "psi: running");
		rc = run_psi(run, ch, &k, &result, &size, &err);
	}
	if (rc == SR_OK && result)
		rc = keep_result(run, result, hash_hex, &err);
	if (rc == SR_OK && run->leader) {
		/* The receipt is public to every member and the coordinator:
		 * no output sizes (the intersection's size is the receivers'
		 * to know, docs/protocols/psi.md). */
		(void)size;
		rc = job_event(run, SR_EVENT_JOB_FINISH,
			       json_pack("{s:s,s:s,s:{s:I},s:I}", "job_id", run->job_hex,
					 "output_hash", hash_hex, "sizes", "parties",
					 (json_int_t)run->nparties, "epsilon_spent",
					 (json_int_t)0), &err);
	}
	if (rc && ch) {
		/* Tell the peers at once rather than let them time out. */
		char reason[SR_JOBCHAN_REASON_MAX];
		snprintf(reason, sizeof(reason), "%s", err.msg);
		sr_jobchan_abort(ch, reason);
	}
	sr_jobchan_free(ch);
	keys_release(&k);
	json_decref(result);
	node_mail_free(mail);
	pthread_mutex_lock(&n->lock);
	if (rc == SR_OK) {
		local_set(n, run->job_hex, run->project, "done",
			  run->leader ? "finished" : "done: my part is complete", NULL);
	} else {
		struct node_project *p = node_project_find(n, run->project);
		local_set(n, run->job_hex, run->project, "failed", "failed", err.msg);
		sr_log_warn("job %.16s: %s", run->job_hex, err.msg);
		if (p && !job_ended(n, run->project, run->job_id) && !n->stopping)
			append_fail(n, p, run->job_hex, err.msg);
	}
	run->r->done = 1;
	pthread_mutex_unlock(&n->lock);
	run_free(run);
	return NULL;
}

/* Lock held.  Prepare a run of job (which this node's fold says may run)
 * or fail it with a reason. */
static int run_prepare(struct sr_node *n, struct node_project *p,
		       const struct sr_ledger_job *job, struct run **out,
		       struct sr_err *err)
{
	const json_t *inputs = json_object_get(job->spec, "inputs");
	const json_t *receivers = json_object_get(job->spec, "receivers");
	const char *kind = json_string_value(json_object_get(job->spec, "kind"));
	struct run *run;
	json_t *verdict = NULL;
	int accept = 0, rc;

	*out = NULL;
	if (!kind || strcmp(kind, "psi") != 0)
		return sr_fail(err, SR_EINVAL, "job kind '%s' cannot run on this node",
			       kind ? kind : "?");
	/* Authoritative check with this node's own checker. */
	rc = node_check(n, p, job->spec, &verdict, &accept, err);
	json_decref(verdict);
	if (rc)
		return rc;
	if (!accept)
		return sr_fail(err, SR_EPOLICY, "this node's security checker refuses the job");
	run = sr_calloc(1, sizeof(*run));
	if (!run)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	run->n = n;
	snprintf(run->project, sizeof(run->project), "%s", p->id);
	memcpy(run->job_hex, job->id_hex, sizeof(run->job_hex));
	memcpy(run->job_id, job->id, sizeof(run->job_id));
	/* The head every participant must have: the event that made the job
	 * runnable, whose id covers the whole history before it. */
	memcpy(run->head, p->ledger.ids[job->approved_seq], sizeof(run->head));
	run->spec = json_deep_copy(job->spec);
	run->nparties = json_array_size(inputs);
	run->parties = sr_calloc(run->nparties ? run->nparties : 1, sizeof(*run->parties));
	if (!run->spec || !run->parties) {
		run_free(run);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	run->self = SIZE_MAX;
	for (size_t i = 0; i < run->nparties; i++) {
		const json_t *in = json_array_get(inputs, i);
		const char *ds = json_string_value(json_object_get(in, "dataset"));
		const struct sr_ledger_dataset *d = ds ? sr_ledger_dataset_find(&p->ledger, ds) : NULL;
		const struct sr_ledger_member *m = d ? sr_ledger_member_find(&p->ledger, d->owner) : NULL;

		if (!d || !m) {
			run_free(run);
			return sr_fail(err, SR_EINVAL, "spec.inputs[%zu]: unknown dataset", i);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(run->parties[j].org_id, d->owner) == 0) {
				run_free(run);
				return sr_fail(err, SR_EINVAL,
					       "psi: %s gives two inputs (one input per party)", m->name);
			}
		memcpy(run->parties[i].org_id, d->owner, sizeof(run->parties[i].org_id));
		memcpy(run->parties[i].sign_pk, m->sign_pk, sizeof(m->sign_pk));
		if (strcmp(d->owner, n->id.org_id) == 0) {
			const char *dot = strchr(ds, '.');
			run->self = i;
			run->dataset = sr_strdup(dot ? dot + 1 : ds);
			run->full_dataset = sr_strdup(ds);
			run->column = sr_strdup(json_string_value(json_object_get(in, "column")));
			memcpy(run->published_version, d->version_id, sizeof(run->published_version));
			if (!run->dataset || !run->full_dataset || !run->column) {
				run_free(run);
				return sr_fail(err, SR_ENOMEM, "out of memory");
			}
		}
	}
	for (size_t i = 0; i < json_array_size(receivers); i++) {
		const char *r = json_string_value(json_array_get(receivers, i));
		int owner = 0;
		for (size_t j = 0; j < run->nparties; j++)
			owner |= strcmp(run->parties[j].org_id, r) == 0;
		if (!owner) {
			run_free(run);
			return sr_fail(err, SR_EINVAL,
				       "psi: receiver %s holds none of the inputs (a receiver takes part with its own set)", r);
		}
		if (strcmp(r, n->id.org_id) == 0) {
			run->receiver = 1;
			run->leader = i == 0;
		}
	}
	if (run->self == SIZE_MAX) {
		run_free(run);
		return sr_fail(err, SR_EINVAL, "this node owns none of the job's inputs");
	}
	*out = run;
	return SR_OK;
}

static void reap(struct sr_node *n)
{
	struct node_runner **pp = &n->runners;

	while (*pp) {
		struct node_runner *r = *pp;
		if (r->done) {
			pthread_join(r->thread, NULL);
			*pp = r->next;
			sr_free(r);
		} else {
			pp = &r->next;
		}
	}
}

/* Lock held: record a failure of a job this node could not start. */
static void fail_now(struct sr_node *n, struct node_project *p,
		     const struct sr_ledger_job *job, const char *why)
{
	local_set(n, job->id_hex, p->id, "failed", "failed", why);
	append_fail(n, p, job->id_hex, why);
}

void node_jobs_kick(struct sr_node *n)
{
	int recovering = !n->recovered;

	reap(n);
	n->recovered = 1;
	for (size_t i = 0; i < n->nprojects; i++) {
		struct node_project *p = &n->projects[i];

		if (p->error)
			continue;
		for (size_t j = 0; j < p->ledger.njobs; j++) {
			const struct sr_ledger_job *job = p->ledger.jobs[j];
			struct node_runner *r;
			struct run *run = NULL;
			struct sr_err err;
			char *state;

			if (job->state != SR_JOB_APPROVED && job->state != SR_JOB_RUNNING)
				continue;
			if (!sr_ledger_job_participant(job, n->id.org_id))
				continue;
			state = local_state(n, job->id_hex);
			if (state) {
				/* Already ran here.  A run that a restart cut short
				 * cannot resume (its ephemeral keys are gone). */
				if (recovering && strcmp(state, "running") == 0)
					fail_now(n, p, job, "the node restarted during the job");
				sr_free(state);
				continue;
			}
			if (!sr_ledger_job_runnable(&p->ledger, job->id))
				continue;   /* this node's own fold decides */
			sr_err_clear(&err);
			if (run_prepare(n, p, job, &run, &err) != SR_OK) {
				fail_now(n, p, job, err.msg);
				continue;
			}
			r = sr_calloc(1, sizeof(*r));
			if (!r) {
				run_free(run);
				continue;
			}
			memcpy(r->job_id, job->id, sizeof(r->job_id));
			snprintf(r->project, sizeof(r->project), "%s", p->id);
			run->r = r;
			local_set(n, job->id_hex, p->id, "running", "starting", NULL);
			if (pthread_create(&r->thread, NULL, runner_main, run) != 0) {
				local_set(n, job->id_hex, p->id, "failed", "failed",
					  "cannot start a thread");
				run_free(run);
				sr_free(r);
				continue;
			}
			r->next = n->runners;
			n->runners = r;
		}
	}
}

void node_jobs_join(struct sr_node *n)
{
	for (;;) {
		struct node_runner *r;

		pthread_mutex_lock(&n->lock);
		r = n->runners;
		if (r)
			n->runners = r->next;
		pthread_mutex_unlock(&n->lock);
		if (!r)
			return;
		pthread_join(r->thread, NULL);
		sr_free(r);
	}
}
