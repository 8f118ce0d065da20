/*
 * node_job.c - the job runner (DESIGN §4, §7, §8).  A node runs a job only
 * when its own fold of the ledger says every owner approved it; it then
 * checks the job again with its own security checker and its own copy of
 * the data's policy, opens end-to-end encrypted channels to the other
 * participants through the coordinator's mailboxes (the hello of each
 * channel carries the ledger head, so participants that were shown
 * different histories stop there), runs the job's kind (kinds/kind.h)
 * with a context of filtered scans of exactly the approved versions and
 * pipes to the peers, applies the kind's release checks, keeps the output
 * sealed for this organization's analysts, and records job.start,
 * job.finish (with the output's hash) or job.fail.  Nothing here names a
 * kind: docs/internals/kinds.md.
 */
#include "node/node_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/text.h"
#include "crypto/crypto.h"
#include "net/jobchan.h"
#include "kinds/kind.h"
#include "kinds/mask.h"
#include "kinds/rows.h"
#include "node/node_tee.h"
#include "store/vec.h"
#include "base/banned.h"

#define OUTPUT_DOMAIN "sealroom.output.v1"
#define RESULT_AD_LABEL "sealroom.result.v1"
#define MODEL_AD_LABEL "sealroom.model.v1"
#define KEEP_MAX 8                          /* artifacts one run may keep */
#define KEEP_NAME_MAX 64
/* Sealed results larger than this are kept as files, not SQLite blobs
 * (whose length is an int and whose default limit is 10^9 bytes). */
#define RESULT_INLINE_MAX (64u << 20)

/* ---- local job table ----------------------------------------------------- */

/* Lock held.  Record the local state of a job; a failure is logged and
 * returned. */
static int local_set(struct sr_node *n, const char *job_hex, const char *project,
		     const char *state, const char *progress, const char *error)
{
	sqlite3_stmt *st = NULL;
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	if (sqlite3_prepare_v2(n->db, "INSERT INTO node_jobs(job_id, project, state,"
			       " progress, error, updated) VALUES (?,?,?,?,?,?)"
			       " ON CONFLICT(job_id) DO UPDATE SET state = excluded.state,"
			       " progress = coalesce(excluded.progress, progress),"
			       " error = coalesce(excluded.error, error),"
			       " updated = excluded.updated", -1, &st, NULL) != SQLITE_OK) {
		rc = sr_db_fail(n->db, "job state", &err);
	} else {
		sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, progress, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
		rc = sr_db_step_done(st, "job state", &err);
	}
	sqlite3_finalize(st);
	if (rc)
		sr_log_error("job %.16s: cannot record its state %s: %s", job_hex, state,
			     err.msg);
	return rc;
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

int node_job_finished(struct sr_node *n, const struct sr_ledger_job *job,
		      struct sr_err *err)
{
	const char *hash = json_string_value(json_object_get(job->receipt, "output_hash"));
	sqlite3_stmt *st = NULL;
	int rc;

	if (!hash)
		return SR_OK;
	if (sqlite3_prepare_v2(n->db, "UPDATE node_access_log SET output_hash = ?"
			       " WHERE job_id = ? AND output_hash IS NULL", -1, &st,
			       NULL) != SQLITE_OK) {
		rc = sr_db_fail(n->db, "access log", err);
	} else {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, job->id_hex, -1, SQLITE_STATIC);
		rc = sr_db_step_done(st, "access log", err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- running a job ------------------------------------------------------- */

struct run {
	struct sr_node *n;
	struct node_runner *r;
	const struct sr_job_kind *kind;
	char project[SR_PROJECT_ID_MAX + 1];
	char job_hex[SR_EVENT_ID_HEX_LEN + 1];
	uint8_t job_id[SR_EVENT_ID_BYTES];
	uint8_t head[SR_EVENT_ID_BYTES];
	json_t *spec;
	/* Participants: owners of the inputs in input order, then receivers
	 * that own none. */
	struct sr_jobchan_party *parties;
	const char **party_ids;             /* parties[i].org_id */
	size_t nparties;
	size_t self;                        /* index of this org */
	const char **receivers;             /* borrowed from spec */
	size_t nreceivers;
	struct sr_kind_input *inputs;
	size_t ninputs;
	struct sr_policy *policies;         /* per input, bound */
	char **local_names;                 /* per input: local dataset name, or NULL */
	char (*versions)[SR_EVENT_ID_HEX_LEN + 1];  /* per input: the version to read */
	int leader;                         /* first receiver: starts, finishes */
	int tee;                            /* TEE mode (node_tee.c) */
	int receiver;
	struct sr_jobchan *ch;
	struct sr_jobchan_pipe_link *links; /* one per pipe handed out */
	size_t nlinks, links_cap;
	uint8_t session_id[SR_JOBCHAN_SID_BYTES];
	int access_log_failed;              /* under n->lock */
	char access_log_error[SR_ERR_MSG_MAX];
	/* Where the time goes (debug log): the phase being timed (the
	 * progress text) and when it began, in ms of CLOCK_MONOTONIC. */
	char phase[128];
	int64_t phase_ms, start_ms;
	/* ctx->keep: staged here, sealed into node_models only once the
	 * job finishes. */
	struct run_kept {
		char name[KEEP_NAME_MAX];
		uint8_t *data;
		size_t len;
	} kept[KEEP_MAX];
	size_t nkept;
};

static void run_free(struct run *run)
{
	json_decref(run->spec);
	sr_free(run->parties);
	sr_free(run->party_ids);
	sr_free(run->receivers);
	for (size_t i = 0; run->policies && i < run->ninputs; i++)
		sr_policy_release(&run->policies[i]);
	sr_free(run->policies);
	for (size_t i = 0; run->local_names && i < run->ninputs; i++)
		sr_free(run->local_names[i]);
	sr_free(run->local_names);
	sr_free(run->versions);
	sr_free(run->inputs);
	sr_free(run->links);
	for (size_t k = 0; k < run->nkept; k++) {
		sodium_memzero(run->kept[k].data, run->kept[k].len);
		sr_free(run->kept[k].data);
	}
	sr_free(run);
}

/* Lock held.  1 if the job has ended in this node's fold. */
static int job_ended(struct sr_node *n, const char *project, const uint8_t *job_id)
{
	struct node_project *p = node_project_find(n, project);
	const struct sr_ledger_job *job = p ? sr_ledger_job_find(&p->ledger, job_id) : NULL;

	return !job || job->state >= SR_JOB_FINISHED || (p && p->error);
}

/*
 * A run stops when its node stops or the job ended otherwise than
 * finished.  job.finish is no reason to stop: the leader records it after
 * flushing its last messages, so a receiver still reading (the result of
 * a two-receiver PSI, say) finds them in its mailbox.  A party that waits
 * for a message that never comes still ends at the channel's timeout.
 * (Stopping at job.finish failed the shop's part in CI when its node
 * folded the finish before it read the bank's last message.)
 */
static int should_abort(void *ctx)
{
	struct run *run = ctx;
	const struct node_project *p;
	const struct sr_ledger_job *job;
	int stop;

	pthread_mutex_lock(&run->n->lock);
	p = node_project_find(run->n, run->project);
	job = p ? sr_ledger_job_find(&p->ledger, run->job_id) : NULL;
	stop = run->n->stopping || !job || (p && p->error) ||
	       (job->state > SR_JOB_FINISHED);
	pthread_mutex_unlock(&run->n->lock);
	return stop;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Debug log: the time of the phase that ends now, and the next. */
static void phase_next(struct run *run, const char *text)
{
	int64_t now = mono_ms();

	if (run->phase[0])
		sr_log_debug("job %.16s: timing: %.3f s in '%s'", run->job_hex,
			     (double)(now - run->phase_ms) / 1000.0, run->phase);
	snprintf(run->phase, sizeof(run->phase), "%s", text ? text : "");
	run->phase_ms = now;
}

static void set_progress(struct run *run, const char *text)
{
	sr_log_info("job %.16s: %s", run->job_hex, text);
	phase_next(run, text);
	pthread_mutex_lock(&run->n->lock);
	snprintf(run->r->progress, sizeof(run->r->progress), "%s", text);
	/* Progress only: a failed write is logged, the run goes on. */
	(void)local_set(run->n, run->job_hex, run->project, "running", text, NULL);
	pthread_mutex_unlock(&run->n->lock);
}

/* Lock held.  The privacy-budget charges a job takes, as the ledger
 * records them (job.finish "charges", job.fail "refunded"): for a kind
 * that charges (SR_KIND_DP_CHARGE), each input whose published policy
 * has dp is charged spec.epsilon (and spec.delta) by its owner.  A new
 * array (empty when nothing is charged), or NULL when out of memory. */
static json_t *job_charges(const struct sr_ledger *l, const json_t *spec)
{
	const struct sr_job_kind *kind =
		sr_kind_find(json_string_value(json_object_get(spec, "kind")));
	const json_t *eps = json_object_get(spec, "epsilon");
	const json_t *delta = json_object_get(spec, "delta");
	const json_t *in;
	json_t *out = json_array();
	size_t i;

	if (!out || !kind || !(kind->flags & SR_KIND_DP_CHARGE) || !eps)
		return out;
	json_array_foreach(json_object_get(spec, "inputs"), i, in) {
		const struct sr_ledger_dataset *d = sr_ledger_dataset_find(l,
			json_string_value(json_object_get(in, "dataset")));
		json_t *c;

		if (!d || !json_is_object(json_object_get(d->policy, "dp")))
			continue;
		c = json_pack("{s:s,s:s,s:O}", "dataset", d->name, "owner", d->owner,
			      "epsilon", eps);
		if (!c || (delta && json_object_set(c, "delta", (json_t *)delta)) ||
		    json_array_append_new(out, c)) {
			json_decref(c);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Lock held.  Record job.fail for job_hex with this organization's
 * reason, made fit for the ledger's free text; a refusal (the job ended
 * meanwhile) is only logged.  With refund, the body's "refunded" lists
 * the job's budget charges: every owner gives them back when it folds the
 * event (node_job_failed). */
static void append_fail(struct sr_node *n, struct node_project *p,
			const char *job_hex, const char *why, int refund)
{
	char reason[SR_EVENT_TEXT_MAX + 1], hex[SR_EVENT_ID_HEX_LEN + 1];
	const struct sr_ledger_job *job = sr_ledger_job_find_hex(&p->ledger, job_hex);
	json_t *body, *charges = NULL;
	struct sr_err err;

	/* job_hex may live in p's fold, which the append can rebuild. */
	snprintf(hex, sizeof(hex), "%s", job_hex);
	sr_err_clear(&err);
	snprintf(reason, sizeof(reason), "%s: %s", n->name, why);
	sr_text_clean(reason, SR_EVENT_TEXT_MAX);
	body = json_pack("{s:s,s:s}", "job_id", hex, "reason", reason);
	if (body && refund && job && (charges = job_charges(&p->ledger, job->spec)) != NULL &&
	    json_array_size(charges) > 0 && json_object_set(body, "refunded", charges)) {
		json_decref(body);
		body = NULL;
	}
	json_decref(charges);
	if (node_append(n, p, SR_EVENT_JOB_FAIL, body, NULL, NULL, &err) != SR_OK)
		sr_log_warn("job %.16s: could not record job.fail: %s", hex, err.msg);
}

/* Append an event about the job (the ledger lock taken here). */
static int job_event(struct run *run, enum sr_event_type type, json_t *body,
		     struct sr_err *err)
{
	struct node_project *p;
	int rc;

	node_ledger_lock(run->n);
	p = node_project_find(run->n, run->project);
	rc = p ? node_append(run->n, p, type, body, NULL, NULL, err) :
		(json_decref(body), sr_fail(err, SR_ENOTFOUND, "project gone"));
	node_ledger_unlock(run->n);
	return rc;
}

/* ---- the kind's context: scans, pipes, progress, abort ------------------ */

/* A scan of a local input that writes the access log when it closes: the
 * columns the kind asked for and the rows it read. */
struct logged_rows {
	struct sr_rows inner;
	struct run *run;
	size_t input;
	json_t *columns;
	uint64_t rows;
	sqlite3_int64 log_id;       /* its node_access_log row */
};

static int logged_next(void *impl, const struct sr_vec **cols,
		       const uint64_t **row_ids, size_t *rows, int *eof,
		       struct sr_err *err)
{
	struct logged_rows *l = impl;
	int rc = sr_rows_next(&l->inner, cols, row_ids, rows, eof, err);

	if (rc == SR_OK)
		l->rows += *rows;
	return rc;
}

/*
 * Lock held.  The access-log entry of a scan: written before any row is
 * read (a scan whose entry cannot be written is refused), its row count
 * completed when the scan closes.
 */
static int access_log_open(struct run *run, struct logged_rows *l, struct sr_err *err)
{
	char *cols = json_dumps(l->columns, JSON_COMPACT);
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(run->n->db, "INSERT INTO node_access_log(time, job_id,"
			       " project, dataset, version_id, columns, rows) VALUES"
			       " (?,?,?,?,?,?,0)", -1, &st, NULL) != SQLITE_OK) {
		rc = sr_db_fail(run->n->db, "access log", err);
	} else {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
		sqlite3_bind_text(st, 2, run->job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, run->project, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, run->inputs[l->input].dataset, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, run->versions[l->input], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, cols ? cols : "[]", -1, SQLITE_STATIC);
		rc = sr_db_step_done(st, "access log", err);
		l->log_id = sqlite3_last_insert_rowid(run->n->db);
	}
	sqlite3_finalize(st);
	free(cols);
	return rc;
}

static int access_log_close(struct run *run, struct logged_rows *l, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(run->n->db, "UPDATE node_access_log SET rows = ? WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sr_db_fail(run->n->db, "access log", err);
	} else {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)l->rows);
		sqlite3_bind_int64(st, 2, l->log_id);
		rc = sr_db_step_done(st, "access log", err);
	}
	sqlite3_finalize(st);
	return rc;
}

static void logged_close(void *impl)
{
	struct logged_rows *l = impl;
	struct run *run = l->run;
	struct sr_err err;

	sr_rows_close(&l->inner);
	sr_err_clear(&err);
	pthread_mutex_lock(&run->n->lock);
	if (access_log_close(run, l, &err) != SR_OK && !run->access_log_failed) {
		/* The log names the read but not how many rows: the run fails. */
		run->access_log_failed = 1;
		snprintf(run->access_log_error, sizeof(run->access_log_error), "%s", err.msg);
	}
	pthread_mutex_unlock(&run->n->lock);
	json_decref(l->columns);
	sr_free(l);
}

static int ctx_scan(void *impl, size_t input, const char *const *columns,
		    size_t ncolumns, struct sr_rows *out, struct sr_err *err)
{
	struct run *run = impl;
	struct logged_rows *l;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!run->local_names[input])
		return sr_fail(err, SR_EPERM, "%s is not this organization's",
			       run->inputs[input].dataset);
	l = sr_calloc(1, sizeof(*l));
	if (!l || !(l->columns = json_array())) {
		sr_free(l);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < ncolumns; i++)
		if (json_array_append_new(l->columns, json_string(columns[i]))) {
			json_decref(l->columns);
			sr_free(l);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
	l->run = run;
	l->input = input;
	pthread_mutex_lock(&run->n->lock);
	rc = access_log_open(run, l, err);
	pthread_mutex_unlock(&run->n->lock);
	if (rc) {
		sr_err_prefix(err, "%s: not read: its access log cannot be written",
			      run->inputs[input].dataset);
		json_decref(l->columns);
		sr_free(l);
		return rc;
	}
	rc = sr_rows_open_store(run->n->store, &run->n->store_lock,
				run->local_names[input], run->versions[input],
				run->policies[input].row_filter, columns, ncolumns,
				&l->inner, err);
	if (rc) {
		if (rc == SR_ENOTFOUND)
			sr_err_prefix(err, "%s: the job was approved for version %.16s",
				      run->inputs[input].dataset, run->versions[input]);
		json_decref(l->columns);
		sr_free(l);
		return rc;
	}
	out->impl = l;
	out->ncols = ncolumns;
	out->next = logged_next;
	out->close = logged_close;
	return SR_OK;
}

static int ctx_pipe(void *impl, const char *peer, uint32_t channel,
		    struct sr_pipe *out, struct sr_err *err)
{
	struct run *run = impl;

	if (run->nlinks == run->links_cap) {
		/* Links are pointed to by the pipes handed out: never move them. */
		return sr_fail(err, SR_ELIMIT, "job %.16s: more than %zu pipes",
			       run->job_hex, run->links_cap);
	}
	return sr_jobchan_pipe(run->ch, peer, channel, &run->links[run->nlinks++],
			       out, err);
}

/* ---- differential-privacy budgets ------------------------------------------ */

/* What local dataset has spent of its budget (every charge not
 * refunded, over its life) and whether job_hex (or NULL) is charged. */
static int budget_spent(sqlite3 *db, const char *dataset, const char *job_hex,
			double *spent, int *charged, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SR_OK;

	*spent = 0;
	*charged = 0;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(sum(epsilon), 0), coalesce(sum(job_id = ?2), 0)"
			       " FROM node_dp_budget WHERE dataset = ?1 AND state = 'charged'",
			       -1, &st, NULL) != SQLITE_OK)
		return sr_fail(err, SR_EIO, "node.db: budget: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, dataset, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, job_hex ? job_hex : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*spent = sqlite3_column_double(st, 0);
		*charged = sqlite3_column_int(st, 1) > 0;
	} else {
		rc = sr_fail(err, SR_EIO, "node.db: budget: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}

int sr_node_budget_spent(const char *home, const char *dataset, double *spent,
			 struct sr_err *err)
{
	struct sr_buf path;
	sqlite3 *db = NULL;
	int rc, charged;

	*spent = 0;
	sr_buf_init(&path, 0);
	if (sr_path_join(&path, home, "node.db") != SR_OK)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (access(path.data, F_OK) != 0) {
		sr_buf_release(&path);
		return SR_OK;           /* no node has run here: nothing spent */
	}
	if (sqlite3_open_v2(path.data, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = sr_fail(err, SR_EIO, "%s: cannot open: %s", path.data, sqlite3_errmsg(db));
	} else {
		sqlite3_stmt *st = NULL;
		int has_table = 0;

		sqlite3_busy_timeout(db, 5000);
		/* The store shares node.db: a home whose node never ran has no
		 * budget table, and nothing spent. */
		if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table'"
				       " AND name = 'node_dp_budget'", -1, &st, NULL) == SQLITE_OK)
			has_table = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		rc = has_table ? budget_spent(db, dataset, NULL, spent, &charged, err) : SR_OK;
	}
	sqlite3_close(db);
	sr_buf_release(&path);
	return rc;
}

/* Lock held.  This organization's side of job's budget: per input of
 * its own under dp, {dataset, epsilon_total, charged (this job's charge,
 * 0 if none), state (charged, refunded or none), spent, left}. */
json_t *node_job_budget(struct sr_node *n, const struct node_project *p,
			const struct sr_ledger_job *job)
{
	json_t *out = json_array(), *charges = job_charges(&p->ledger, job->spec);
	const json_t *c;
	size_t i;

	json_array_foreach(charges, i, c) {
		const struct sr_ledger_dataset *d = sr_ledger_dataset_find(&p->ledger,
			json_string_value(json_object_get(c, "dataset")));
		const char *dot = d ? strchr(d->name, '.') : NULL;
		const char *state = "none";
		double total = 0, spent = 0, charged = 0;
		sqlite3_stmt *st = NULL;
		struct sr_err err;
		int dummy;

		if (!d || !dot || strcmp(d->owner, n->id.org_id) != 0)
			continue;
		sr_err_clear(&err);
		if (sr_policy_number(json_object_get(json_object_get(d->policy, "dp"), "epsilon_total"),
				     "policy", "dp.epsilon_total", &total, &err) != SR_OK ||
		    budget_spent(n->db, dot + 1, NULL, &spent, &dummy, &err) != SR_OK)
			continue;
		if (sqlite3_prepare_v2(n->db, "SELECT epsilon, state FROM node_dp_budget"
				       " WHERE dataset = ? AND job_id = ?", -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, dot + 1, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, job->id_hex, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW) {
				charged = sqlite3_column_double(st, 0);
				state = strcmp((const char *)sqlite3_column_text(st, 1), "refunded") == 0 ?
					"refunded" : "charged";
			}
		}
		if (out && json_array_append_new(out, json_pack("{s:s,s:f,s:f,s:s,s:f,s:f}",
				"dataset", d->name, "epsilon_total", total, "charged", charged,
				"state", state, "spent", spent,
				"left", total - spent > 0 ? total - spent : 0))) {
			json_decref(out);
			out = NULL;
		}
		sqlite3_finalize(st);
	}
	json_decref(charges);
	return out;
}

/*
 * Charge epsilon to local input's dataset: on a connection of its own in
 * one IMMEDIATE transaction (the write lock of node.db, so two jobs of
 * this node - threads or processes - cannot both pass the same budget).
 * The budget is the dataset's epsilon_total over its life, across jobs
 * and projects; a job charged already (a retry) is not charged again.
 */
static int ctx_charge(void *impl, size_t input, double epsilon, struct sr_err *err)
{
	struct run *run = impl;
	const char *dataset = run->local_names[input];
	double total = run->policies[input].dp.epsilon_total, spent = 0;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = SR_OK, already = 0;

	if (!dataset)
		return sr_fail(err, SR_EPERM, "%s is not this organization's", run->inputs[input].dataset);
	if (sqlite3_open_v2(run->n->db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return sr_fail(err, SR_EIO, "node.db: cannot open for the budget");
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sr_fail(err, SR_EIO, "node.db: budget: %s", sqlite3_errmsg(db));
		goto out;
	}
	if ((rc = budget_spent(db, dataset, run->job_hex, &spent, &already, err)) != SR_OK)
		goto rollback;
	if (already)
		goto rollback;
	if (spent + epsilon > total * (1 + 1e-12)) {
		rc = sr_fail(err, SR_EPOLICY,
			     "%s: differential-privacy budget short: the job needs epsilon %g, %g of %g is left",
			     run->inputs[input].dataset, epsilon, total - spent > 0 ? total - spent : 0, total);
		goto rollback;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO node_dp_budget(dataset, job_id, project, epsilon,"
			       " state, time) VALUES (?,?,?,?,'charged',?)"
			       " ON CONFLICT(dataset, job_id) DO UPDATE SET state = 'charged',"
			       " epsilon = excluded.epsilon, time = excluded.time", -1, &st, NULL) != SQLITE_OK) {
		rc = sr_fail(err, SR_EIO, "node.db: budget: %s", sqlite3_errmsg(db));
		goto rollback;
	}
	sqlite3_bind_text(st, 1, dataset, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, run->job_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, run->project, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, epsilon);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sr_fail(err, SR_EIO, "node.db: budget: %s", sqlite3_errmsg(db));
		goto rollback;
	}
	sr_log_info("job %.16s: charged epsilon %g to %s (%g of %g left)", run->job_hex, epsilon,
		    dataset, total - spent - epsilon, total);
	goto out;
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Lock held.  The job failed and its job.fail refunds this
 * organization's charges: give them back in node.db. */
static int budget_refund(struct sr_node *n, const char *job_hex, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(n->db, "UPDATE node_dp_budget SET state = 'refunded'"
			       " WHERE job_id = ? AND state = 'charged'", -1, &st, NULL) != SQLITE_OK)
		return sr_db_fail(n->db, "budget refund", err);
	sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
	rc = sr_db_step_done(st, "budget refund", err);
	if (rc == SR_OK && sqlite3_changes(n->db) > 0)
		sr_log_info("job %.16s: failed before any output: epsilon refunded", job_hex);
	sqlite3_finalize(st);
	return rc;
}

/* 1 if job's job.fail refunds a charge of org. */
static int refunds_org(const struct sr_ledger_job *job, const char *org)
{
	const json_t *c;
	size_t i;

	if (!job || job->state != SR_JOB_FAILED)
		return 0;
	json_array_foreach(job->refunds, i, c)
		if (strcmp(json_string_value(json_object_get(c, "owner")), org) == 0)
			return 1;
	return 0;
}

/* Forget the artifacts kept for job_hex (the database is used as
 * budget_refund uses it: under the ledger lock or n->lock). */
static int models_forget(struct sr_node *n, const char *job_hex, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(n->db, "DELETE FROM node_models WHERE job_id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return sr_db_fail(n->db, "model parts", err);
	sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
	rc = sr_db_step_done(st, "model parts", err);
	sqlite3_finalize(st);
	return rc;
}

int node_job_failed(struct sr_node *n, const struct sr_ledger_job *job,
		    struct sr_err *err)
{
	/* A failed job keeps nothing: parts this party kept when its own
	 * part completed go when the ledger says the job failed. */
	int rc = models_forget(n, job->id_hex, err);

	if (rc == SR_OK && refunds_org(job, n->id.org_id))
		rc = budget_refund(n, job->id_hex, err);
	return rc;
}

/* ctx->keep: a copy staged in the run. */
static int ctx_keep(void *impl, const char *name, const void *data, size_t len,
		    struct sr_err *err)
{
	struct run *run = impl;
	size_t k;

	if (!name[0] || strlen(name) >= KEEP_NAME_MAX)
		return sr_fail(err, SR_EINVAL, "keep: the name must have 1 to %d bytes",
			       KEEP_NAME_MAX - 1);
	for (k = 0; k < run->nkept && strcmp(run->kept[k].name, name) != 0; k++)
		;
	if (k == KEEP_MAX)
		return sr_fail(err, SR_ELIMIT, "keep: at most %d artifacts per job", KEEP_MAX);
	if (k < run->nkept) {
		sodium_memzero(run->kept[k].data, run->kept[k].len);
		sr_free(run->kept[k].data);
	}
	if (!(run->kept[k].data = sr_malloc(len ? len : 1)))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	memcpy(run->kept[k].data, data, len);
	run->kept[k].len = len;
	snprintf(run->kept[k].name, sizeof(run->kept[k].name), "%s", name);
	if (k == run->nkept)
		run->nkept++;
	return SR_OK;
}

/* Seal the staged artifacts into node_models (the job finished here). */
static int keep_models(struct run *run, struct sr_err *err)
{
	uint8_t key[32], nonce[SR_AEAD_NONCEBYTES];
	char ad[sizeof(MODEL_AD_LABEL) + SR_EVENT_ID_HEX_LEN + KEEP_NAME_MAX + 2];
	int rc = SR_OK;

	sr_masterkey_subkey(run->n->mk, SR_SUBKEY_RESULTS, key);
	pthread_mutex_lock(&run->n->lock);
	for (size_t k = 0; rc == SR_OK && k < run->nkept; k++) {
		size_t len = sizeof(nonce) + run->kept[k].len + SR_AEAD_ABYTES;
		uint8_t *sealed = sr_malloc(len);
		sqlite3_stmt *st = NULL;

		if (!sealed) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		snprintf(ad, sizeof(ad), "%s%s/%s", MODEL_AD_LABEL, run->job_hex, run->kept[k].name);
		sr_random_buf(nonce, sizeof(nonce));
		memcpy(sealed, nonce, sizeof(nonce));
		sr_aead_seal(sealed + sizeof(nonce), run->kept[k].data, run->kept[k].len,
			     (const uint8_t *)ad, strlen(ad), nonce, key);
		if (len > RESULT_INLINE_MAX)
			rc = sr_fail(err, SR_ELIMIT, "keep: %s is %zu bytes, over %d",
				     run->kept[k].name, len, (int)RESULT_INLINE_MAX);
		else if (sqlite3_prepare_v2(run->n->db, "INSERT OR REPLACE INTO node_models(job_id,"
					    " project, name, sealed, created) VALUES (?,?,?,?,?)",
					    -1, &st, NULL) != SQLITE_OK)
			rc = sr_db_fail(run->n->db, "model parts", err);
		else {
			sqlite3_bind_text(st, 1, run->job_hex, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, run->project, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, run->kept[k].name, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 4, sealed, (int)len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
			rc = sr_db_step_done(st, "model parts", err);
		}
		sqlite3_finalize(st);
		sr_free(sealed);
	}
	if (rc) {
		struct sr_err ferr;
		sr_err_clear(&ferr);
		(void)models_forget(run->n, run->job_hex, &ferr);
	}
	pthread_mutex_unlock(&run->n->lock);
	sodium_memzero(key, sizeof(key));
	return rc;
}

static void ctx_progress(void *impl, const char *phase, uint64_t done, uint64_t total)
{
	(void)done;
	(void)total;
	set_progress(impl, phase);
}

/* HOME/results/JOBHEX.sealed: a result too large for a SQLite blob.  With
 * name 0 the directory only. */
static int result_file(struct sr_node *n, const char *job_hex, int name,
		       struct sr_buf *out, struct sr_err *err)
{
	sr_buf_reset(out);
	if (sr_buf_addf(out, "%s/results", n->home) != SR_OK ||
	    (name && sr_buf_addf(out, "/%s.sealed", job_hex) != SR_OK))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return SR_OK;
}

static int keep_result(struct run *run, json_t *result,
		       char hash_hex[2 * SR_HASH_BYTES + 1], struct sr_err *err)
{
	uint8_t key[32], nonce[SR_AEAD_NONCEBYTES], hash[SR_HASH_BYTES];
	char ad[sizeof(RESULT_AD_LABEL) + SR_EVENT_ID_HEX_LEN + 1];
	struct sr_buf text, path;
	uint8_t *sealed;
	size_t sealed_len;
	sqlite3_stmt *st = NULL;
	int rc = SR_OK, in_file = 0;

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
	/* Sorted keys, compact: the receiver hashes the bytes it is given
	 * (results may hold real numbers, which the ledger's canonical form
	 * refuses). */
	sr_buf_init(&path, 0);
	sr_buf_init(&text, SR_BUF_UNBOUNDED);
	if (sr_json_dump(result, 0, &text) != SR_OK)
		return sr_fail(err, SR_ENOMEM, "out of memory");
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
	sealed_len = sizeof(nonce) + text.len + SR_AEAD_ABYTES;
	if (sealed_len > RESULT_INLINE_MAX) {
		/* Past SQLite's blob limits: a sealed file, and an empty blob
		 * (never a valid sealed result) in the row says so. */
		rc = result_file(run->n, run->job_hex, 0, &path, err);
		if (rc == SR_OK)
			rc = sr_mkdir_p(path.data, 0700, err);
		if (rc == SR_OK)
			rc = result_file(run->n, run->job_hex, 1, &path, err);
		if (rc == SR_OK)
			rc = sr_file_write_atomic(path.data, sealed, sealed_len, 0600, err);
		in_file = 1;
	}
	pthread_mutex_lock(&run->n->lock);
	if (rc) {
		/* reported below */
	} else if (sqlite3_prepare_v2(run->n->db, "INSERT OR REPLACE INTO node_results(job_id,"
			       " project, sealed, output_hash, created) VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sr_db_fail(run->n->db, "result", err);
	} else {
		sqlite3_bind_text(st, 1, run->job_hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, run->project, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, sealed, in_file ? 0 : (int)sealed_len, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, hash_hex, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
		rc = sr_db_step_done(st, "result", err);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&run->n->lock);
	sr_buf_wipe(&text);
	sr_buf_release(&text);
	sr_buf_release(&path);
	sr_free(sealed);
	return rc;
}

int node_models_list(struct sr_node *n, json_t **out, struct sr_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if (!(*out = json_array()))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(n->db, "SELECT job_id, project, name, created, length(sealed)"
			       " FROM node_models ORDER BY created, job_id, name", -1, &st,
			       NULL) != SQLITE_OK) {
		json_decref(*out);
		*out = NULL;
		return sr_db_fail(n->db, "model parts", err);
	}
	rc = SR_OK;
	while (rc == SR_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(*out, json_pack("{s:s,s:s,s:s,s:I,s:I}",
				"job_id", (const char *)sqlite3_column_text(st, 0),
				"project", (const char *)sqlite3_column_text(st, 1),
				"name", (const char *)sqlite3_column_text(st, 2),
				"created", (json_int_t)sqlite3_column_int64(st, 3),
				"bytes", (json_int_t)sqlite3_column_int64(st, 4))))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK && step != SQLITE_DONE)
		rc = sr_db_fail(n->db, "model parts", err);
	sqlite3_finalize(st);
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* A sealed model part of job_hex (keep_models) into out, in plaintext. */
static int model_open(const char *job_hex, const char *name, const uint8_t *sealed, size_t len,
		      const uint8_t key[32], struct sr_buf *out, struct sr_err *err)
{
	char ad[sizeof(MODEL_AD_LABEL) + SR_EVENT_ID_HEX_LEN + KEEP_NAME_MAX + 2];
	size_t plen = len - SR_AEAD_NONCEBYTES - SR_AEAD_ABYTES;

	if (len < SR_AEAD_NONCEBYTES + SR_AEAD_ABYTES)
		return sr_fail(err, SR_ECORRUPT, "job %.16s: stored model part %s is damaged",
			       job_hex, name);
	sr_buf_reset(out);
	if (sr_buf_grow(out, plen + 1) != SR_OK)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	snprintf(ad, sizeof(ad), "%s%s/%s", MODEL_AD_LABEL, job_hex, name);
	if (sr_aead_open((uint8_t *)out->data, sealed + SR_AEAD_NONCEBYTES,
			 len - SR_AEAD_NONCEBYTES, (const uint8_t *)ad, strlen(ad), sealed,
			 key) != SR_OK)
		return sr_fail(err, SR_ECORRUPT,
			       "job %.16s: stored model part %s does not decrypt (damaged or swapped)",
			       job_hex, name);
	sr_buf_setlen(out, plen);
	return SR_OK;
}

int node_job_models(struct sr_node *n, const char *job_hex, json_t **out,
		    struct sr_err *err)
{
	uint8_t key[32];
	sqlite3_stmt *st = NULL;
	json_t *parts = json_array();
	int rc = SR_OK, step;

	*out = NULL;
	if (!parts)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(n->db, "SELECT name, sealed FROM node_models WHERE job_id = ?"
			       " ORDER BY name", -1, &st, NULL) != SQLITE_OK) {
		json_decref(parts);
		return sr_db_fail(n->db, "model parts", err);
	}
	sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
	sr_masterkey_subkey(n->mk, SR_SUBKEY_RESULTS, key);
	while (rc == SR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		struct sr_buf plain;
		json_t *part = NULL;

		sr_buf_init(&plain, SR_BUF_UNBOUNDED);
		rc = model_open(job_hex, name, sqlite3_column_blob(st, 1),
				(size_t)sqlite3_column_bytes(st, 1), key, &plain, err);
		if (rc == SR_OK)
			rc = sr_json_parse(plain.data, plain.len, "stored model part", &part, err);
		sr_buf_wipe(&plain);
		sr_buf_release(&plain);
		if (rc)
			break;
		if (rc == SR_OK && json_array_append_new(parts, json_pack("{s:s,s:o}", "name", name,
									  "part", part)))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (rc == SR_OK && step != SQLITE_DONE)
		rc = sr_db_fail(n->db, "model parts", err);
	sodium_memzero(key, sizeof(key));
	sqlite3_finalize(st);
	if (rc == SR_OK && json_array_size(parts) == 0)
		rc = sr_fail(err, SR_ENOTFOUND,
			     "job %.16s: this organization keeps no model part of it (not a party, or the job did not finish)",
			     job_hex);
	if (rc == SR_OK && !(*out = json_pack("{s:s,s:o}", "job_id", job_hex, "parts", parts)))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	else if (rc)
		json_decref(parts);
	return rc;
}

int node_job_result(struct sr_node *n, const char *job_hex, json_t **out,
		    struct sr_err *err)
{
	char ad[sizeof(RESULT_AD_LABEL) + SR_EVENT_ID_HEX_LEN + 1];
	uint8_t key[32];
	sqlite3_stmt *st = NULL;
	uint8_t *plain = NULL;
	struct sr_buf file, file_data;
	int rc = SR_OK;

	*out = NULL;
	sr_buf_init(&file, 0);
	sr_buf_init(&file_data, SR_RESULT_BYTES_MAX);
	if (sqlite3_prepare_v2(n->db, "SELECT sealed, output_hash FROM node_results WHERE job_id = ?",
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

		if (len == 0) {
			/* Kept as a sealed file (keep_result). */
			rc = result_file(n, job_hex, 1, &file, err);
			if (rc == SR_OK)
				rc = sr_file_read_all(file.data, SR_RESULT_BYTES_MAX, &file_data, err);
			if (rc)
				goto out;
			sealed = (const uint8_t *)file_data.data;
			len = file_data.len;
		}
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
		/* The hash job.finish recorded, for the receiver to compare. */
		if (rc == SR_OK && json_is_object(json_object_get(*out, "meta")) &&
		    json_object_set_new(json_object_get(*out, "meta"), "output_hash",
					json_string((const char *)sqlite3_column_text(st, 1)))) {
			json_decref(*out);
			*out = NULL;
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		}
	}
out:
	sr_free(plain);
	sr_buf_release(&file);
	sr_buf_release(&file_data);
	sqlite3_finalize(st);
	return rc;
}

/* Hash-mask keys come from this node's master key (kinds/mask.h). */
static int ctx_mask_key(void *impl, size_t input, const char *dataset,
			const char *receiver, uint8_t key[32], struct sr_err *err)
{
	struct run *run = impl;
	uint8_t secret[32];

	if (!run->local_names[input])
		return sr_fail(err, SR_EPERM, "%s is not this organization's",
			       run->inputs[input].dataset);
	sr_masterkey_subkey(run->n->mk, SR_SUBKEY_MASKS, secret);
	sr_mask_derive_key(secret, dataset, receiver, key);
	sodium_memzero(secret, sizeof(secret));
	return SR_OK;
}

/*
 * ctx->load_model: the training job job_hex of this run's project (it
 * must be a finished train job) and, when name is given, this node's
 * part of it, opened.
 */
static int ctx_load_model(void *impl, const char *job_hex, const char *owner,
			  const char *name, json_t **train, struct sr_buf *data,
			  struct sr_err *err)
{
	struct run *run = impl;
	struct sr_node *n = run->n;
	const struct node_project *p;
	const struct sr_ledger_job *job;
	sqlite3_stmt *st = NULL;
	json_t *owners = NULL;
	int rc = SR_OK;

	*train = NULL;
	if (strcmp(owner, n->id.org_id) != 0)
		return sr_fail(err, SR_EPERM, "load model: a node reads only its own model parts");
	pthread_mutex_lock(&n->lock);
	p = node_project_find(n, run->project);
	job = p ? sr_ledger_job_find_hex(&p->ledger, job_hex) : NULL;
	if (!job || job->state != SR_JOB_FINISHED || !json_is_string(json_object_get(job->spec, "kind")) ||
	    strcmp(json_string_value(json_object_get(job->spec, "kind")), "train") != 0)
		rc = sr_fail(err, SR_ENOTFOUND, "job %.16s is not a finished train job in this project",
			     job_hex);
	else if (!(owners = json_array()))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t i = 0; rc == SR_OK && i < job->nowners; i++)
		if (json_array_append_new(owners, json_string(job->owners[i])))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK) {
		/* json_pack takes owners, also when it fails. */
		*train = json_pack("{s:O,s:o}", "spec", job->spec, "owners", owners);
		owners = NULL;
		if (!*train)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
	}
	if (rc == SR_OK && name) {
		uint8_t key[32];
		int step;

		if (sqlite3_prepare_v2(n->db, "SELECT sealed FROM node_models WHERE job_id = ? AND"
				       " project = ? AND name = ?", -1, &st, NULL) != SQLITE_OK) {
			rc = sr_db_fail(n->db, "model parts", err);
		} else {
			sqlite3_bind_text(st, 1, job_hex, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, run->project, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
			step = sqlite3_step(st);
			if (step == SQLITE_ROW) {
				sr_masterkey_subkey(n->mk, SR_SUBKEY_RESULTS, key);
				rc = model_open(job_hex, name, sqlite3_column_blob(st, 0),
						(size_t)sqlite3_column_bytes(st, 0), key, data, err);
				sodium_memzero(key, sizeof(key));
			} else if (step == SQLITE_DONE) {
				rc = sr_fail(err, SR_ENOTFOUND, "this node holds no part of model %.16s (%s)",
					     job_hex, name);
			} else {
				rc = sr_db_fail(n->db, "model parts", err);
			}
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&n->lock);
	json_decref(owners);
	if (rc) {
		json_decref(*train);
		*train = NULL;
	}
	return rc;
}

/* The kind's context for this party. */
static void fill_ctx(struct run *run, struct sr_kind_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->spec = run->spec;
	c->self = run->n->id.org_id;
	c->parties = run->party_ids;
	c->nparties = run->nparties;
	c->self_index = run->self;
	c->inputs = run->inputs;
	c->ninputs = run->ninputs;
	c->receivers = run->receivers;
	c->nreceivers = run->nreceivers;
	c->receiver = run->receiver;
	c->session_id = run->session_id;
	c->session_id_len = sizeof(run->session_id);
	c->pool = sr_store_pool(run->n->store);
	c->impl = run;
	c->scan = ctx_scan;
	c->pipe = ctx_pipe;
	c->mask_key = ctx_mask_key;
	c->progress = ctx_progress;
	c->should_abort = should_abort;
	c->charge = ctx_charge;
	c->keep = ctx_keep;
	c->load_model = ctx_load_model;
}

/* meta.job_id and meta.kind of a result, then the kind's release checks. */
static int release_result(struct run *run, const struct sr_kind_ctx *c,
			  json_t *result, struct sr_err *err)
{
	json_t *meta = json_object_get(result, "meta");
	int rc;

	if (!json_is_array(json_object_get(result, "columns")) ||
	    !json_is_array(json_object_get(result, "rows")) || !json_is_object(meta))
		return sr_fail(err, SR_EINTERNAL, "%s: the result is not an envelope",
			       run->kind->name);
	/* TEE mode: the executor applied them before it sealed the result. */
	rc = run->kind->release && !run->tee ? run->kind->release(c, result, err) : SR_OK;
	if (rc == SR_OK &&
	    (json_object_set_new(meta, "job_id", json_string(run->job_hex)) ||
	     json_object_set_new(meta, "kind", json_string(run->kind->name))))
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
	return rc;
}

static void *runner_main(void *arg)
{
	struct run *run = arg;
	struct sr_node *n = run->n;
	struct node_mail *mail = NULL;
	struct sr_jobchan_params cp;
	struct sr_kind_ctx kc;
	struct sr_err err;
	struct node_tee *tee = NULL;
	json_t *result = NULL, *tee_start = NULL;
	char hash_hex[2 * SR_HASH_BYTES + 1] = "";
	int rc, ran = 0;

	sr_err_clear(&err);
	run->start_ms = mono_ms();
	{
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		/* Against the approval's time: the latency of the start. */
		sr_log_debug("job %.16s: timing: runner started at %lld.%03ld (Unix time)",
			     run->job_hex, (long long)wall.tv_sec, wall.tv_nsec / 1000000L);
	}
	{
		struct sr_mailbox_ops ops;
		set_progress(run, "exchanging keys with the other participants");
		rc = node_mail_new(n, run->project, run->job_hex, &mail, &ops, &err);
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
		if (rc == SR_OK)
			rc = sr_jobchan_open(&cp, &run->ch, &err);
	}
	if (rc == SR_OK && run->tee) {
		/* Attestation before anything else (node_tee.c). */
		sr_jobchan_session_id(run->ch, run->session_id);
		fill_ctx(run, &kc);
		rc = node_tee_attest(n, &kc, &tee, &tee_start, &err);
	}
	if (rc == SR_OK && run->leader) {
		char head_hex[SR_EVENT_ID_HEX_LEN + 1];
		json_t *body;
		phase_next(run, "recording job.start");
		sr_hex(head_hex, run->head, sizeof(run->head));
		body = json_pack("{s:s,s:s}", "job_id", run->job_hex, "head", head_hex);
		if (body && tee_start && json_object_set(body, "tee", tee_start)) {
			json_decref(body);
			body = NULL;
		}
		rc = job_event(run, SR_EVENT_JOB_START, body, &err);
	}
	if (rc == SR_OK) {
		/* Fresh for this run and the same at every party (it hashes
		 * every hello): protocols separate their domains by it. */
		sr_jobchan_session_id(run->ch, run->session_id);
		fill_ctx(run, &kc);
		rc = run->tee ? node_tee_run(tee, &kc, run->kind, &result, &err) :
			run->kind->run(&kc, &result, &err);
		ran = rc == SR_OK;
		if (rc == SR_OK && run->receiver && !result)
			rc = sr_fail(&err, SR_EINTERNAL, "%s: no result at a receiver",
				     run->kind->name);
		/* The send window may still hold this party's last messages:
		 * its part is done only once they are out. */
		if (rc == SR_OK) {
			phase_next(run, "flushing the last messages");
			rc = sr_jobchan_flush(run->ch, &err);
		}
		pthread_mutex_lock(&n->lock);
		if (rc == SR_OK && run->access_log_failed)
			rc = sr_fail(&err, SR_EIO, "cannot record the access log: %s",
				     run->access_log_error);
		pthread_mutex_unlock(&n->lock);
	}
	if (rc == SR_OK && result) {
		phase_next(run, "release checks");
		rc = release_result(run, &kc, result, &err);
	}
	if (rc == SR_OK && result) {
		phase_next(run, "sealing the result");
		rc = keep_result(run, result, hash_hex, &err);
	}
	if (rc == SR_OK && run->nkept) {
		phase_next(run, "sealing the model parts");
		rc = keep_models(run, &err);
	}
	if (rc == SR_OK && run->leader) {
		phase_next(run, "recording job.finish");
		/* The receipt is public to every member and the coordinator:
		 * no output sizes (they are the receivers' to know).  The
		 * budget charges are: each owner's epsilon and delta spent. */
		json_t *charges, *body;
		const json_t *eps = json_object_get(run->spec, "epsilon");
		const json_t *delta = json_object_get(run->spec, "delta");

		node_ledger_lock(n);
		charges = node_project_find(n, run->project) ?
			job_charges(&node_project_find(n, run->project)->ledger, run->spec) : json_array();
		node_ledger_unlock(n);
		body = charges ? json_pack("{s:s,s:s,s:{s:I},s:o,s:O}", "job_id", run->job_hex,
					  "output_hash", hash_hex, "sizes", "parties",
					  (json_int_t)run->nparties, "epsilon_spent",
					  json_array_size(charges) ? json_incref((json_t *)eps) : json_integer(0),
					  "charges", charges) : NULL;
		if (body && json_array_size(charges) && delta &&
		    json_object_set(body, "delta_spent", (json_t *)delta)) {
			json_decref(body);
			body = NULL;
		}
		json_decref(charges);
		rc = job_event(run, SR_EVENT_JOB_FINISH, body, &err);
	}
	if (rc && run->nkept) {
		/* Nothing kept for a job that failed here. */
		struct sr_err ferr;
		sr_err_clear(&ferr);
		pthread_mutex_lock(&n->lock);
		(void)models_forget(n, run->job_hex, &ferr);
		pthread_mutex_unlock(&n->lock);
	}
	if (rc && run->ch) {
		/* Tell the peers at once rather than let them time out. */
		char reason[SR_JOBCHAN_REASON_MAX];
		snprintf(reason, sizeof(reason), "%s", err.msg);
		sr_jobchan_abort(run->ch, reason);
	}
	phase_next(run, NULL);
	sr_log_debug("job %.16s: timing: %.3f s in all", run->job_hex,
		     (double)(mono_ms() - run->start_ms) / 1000.0);
	sr_jobchan_free(run->ch);
	run->ch = NULL;
	node_tee_free(tee);
	json_decref(tee_start);
	json_decref(result);
	node_mail_free(mail);
	node_ledger_lock(n);   /* job.fail is an append */
	/* A final state that cannot be written stays "running": a restart
	 * then fails the job if the ledger has not ended it. */
	if (rc == SR_OK) {
		(void)local_set(n, run->job_hex, run->project, "done",
				run->leader ? "finished" : "done: my part is complete", NULL);
	} else {
		struct node_project *p = node_project_find(n, run->project);
		(void)local_set(n, run->job_hex, run->project, "failed", "failed", err.msg);
		sr_log_warn("job %.16s: %s", run->job_hex, err.msg);
		/* Refunded when this party failed before its kind's run
		 * completed: a run that completed may have put the totals in
		 * the receiver's hands (the receiver failing later, in the
		 * release or on the way to job.finish, is not refunded). */
		if (p && !job_ended(n, run->project, run->job_id) && !n->stopping)
			append_fail(n, p, run->job_hex, err.msg, !ran);
		/* The ledger decides: node_job_failed refunded this node's
		 * charges when it folded a refunding job.fail; a charge made
		 * after that fold is given back here. */
		p = node_project_find(n, run->project);
		if (p && refunds_org(sr_ledger_job_find(&p->ledger, run->job_id), n->id.org_id)) {
			struct sr_err rerr;
			sr_err_clear(&rerr);
			if (budget_refund(n, run->job_hex, &rerr) != SR_OK)
				sr_log_error("job %.16s: %s", run->job_hex, rerr.msg);
		}
	}
	run->r->done = 1;
	node_ledger_unlock(n);
	run_free(run);
	return NULL;
}

/* Add org (with its key) to the participants unless it is there. */
static int add_party(struct run *run, const struct sr_ledger *l, const char *org,
		     struct sr_err *err)
{
	const struct sr_ledger_member *m = sr_ledger_member_find(l, org);

	for (size_t i = 0; i < run->nparties; i++)
		if (strcmp(run->parties[i].org_id, org) == 0)
			return SR_OK;
	if (!m)
		return sr_fail(err, SR_EINVAL, "%s is not a member of the project", org);
	memcpy(run->parties[run->nparties].org_id, m->org_id, sizeof(m->org_id));
	memcpy(run->parties[run->nparties].sign_pk, m->sign_pk, sizeof(m->sign_pk));
	run->nparties++;
	return SR_OK;
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
	size_t ninputs = json_array_size(inputs), nreceivers = json_array_size(receivers);
	struct run *run;
	json_t *verdict = NULL;
	int accept = 0, rc;

	*out = NULL;
	/* Authoritative check with this node's own checker (it knows the
	 * kinds this node runs, and their shapes). */
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
	run->kind = sr_kind_find(kind);
	snprintf(run->project, sizeof(run->project), "%s", p->id);
	memcpy(run->job_hex, job->id_hex, sizeof(run->job_hex));
	memcpy(run->job_id, job->id, sizeof(run->job_id));
	/* The head every participant must have: the event that made the job
	 * runnable, whose id covers the whole history before it. */
	memcpy(run->head, p->ledger.ids[job->approved_seq], sizeof(run->head));
	run->spec = json_deep_copy(job->spec);
	run->ninputs = ninputs;
	run->nreceivers = nreceivers;
	run->parties = sr_calloc(ninputs + nreceivers + 1, sizeof(*run->parties));
	run->party_ids = sr_calloc(ninputs + nreceivers + 1, sizeof(*run->party_ids));
	run->receivers = sr_calloc(nreceivers ? nreceivers : 1, sizeof(*run->receivers));
	run->inputs = sr_calloc(ninputs ? ninputs : 1, sizeof(*run->inputs));
	run->policies = sr_calloc(ninputs ? ninputs : 1, sizeof(*run->policies));
	run->local_names = sr_calloc(ninputs ? ninputs : 1, sizeof(*run->local_names));
	run->versions = sr_calloc(ninputs ? ninputs : 1, sizeof(*run->versions));
	run->links_cap = 2 * (ninputs + nreceivers) + 8;
	run->links = sr_calloc(run->links_cap, sizeof(*run->links));
	if (!run->kind || !run->spec || !run->parties || !run->party_ids ||
	    !run->receivers || !run->inputs || !run->policies ||
	    !run->local_names || !run->versions || !run->links) {
		rc = run->kind ? sr_fail(err, SR_ENOMEM, "out of memory") :
			sr_fail(err, SR_EINVAL, "job kind '%s' cannot run on this node", kind);
		goto fail;
	}
	for (size_t i = 0; i < ninputs; i++)
		sr_policy_init(&run->policies[i]);
	inputs = json_object_get(run->spec, "inputs");
	receivers = json_object_get(run->spec, "receivers");
	for (size_t i = 0; i < ninputs; i++) {
		const json_t *in = json_array_get(inputs, i);
		const char *ds = json_string_value(json_object_get(in, "dataset"));
		const char *version = json_string_value(json_object_get(in, "version_id"));
		const struct sr_ledger_dataset *d = ds ? sr_ledger_dataset_find(&p->ledger, ds) : NULL;

		if (!d) {
			rc = sr_fail(err, SR_EINVAL, "spec.inputs[%zu]: unknown dataset", i);
			goto fail;
		}
		rc = add_party(run, &p->ledger, d->owner, err);
		if (rc == SR_OK)
			rc = sr_ledger_dataset_policy(d, &run->policies[i], err);
		if (rc)
			goto fail;
		run->inputs[i].dataset = d->name;
		run->inputs[i].owner = d->owner;
		run->inputs[i].spec = in;
		run->inputs[i].policy = &run->policies[i];
		/* Approvals bind the version the spec names (filled in by the
		 * proposing node); a proposal from before versions were bound
		 * names none and reads the published one. */
		snprintf(run->versions[i], sizeof(run->versions[i]), "%s",
			 version ? version : d->version_id);
		if (strcmp(d->owner, n->id.org_id) == 0) {
			const char *dot = strchr(ds, '.');
			run->inputs[i].local = 1;
			if (!(run->local_names[i] = sr_strdup(dot ? dot + 1 : ds))) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
				goto fail;
			}
		}
	}
	for (size_t i = 0; i < nreceivers; i++) {
		const char *r = json_string_value(json_array_get(receivers, i));
		run->receivers[i] = r;
		rc = add_party(run, &p->ledger, r, err);
		if (rc)
			goto fail;
		if (strcmp(r, n->id.org_id) == 0) {
			run->receiver = 1;
			run->leader = i == 0;
		}
	}
	/* TEE mode: the executor is a participant too (the last). */
	if (node_tee_executor(run->spec)) {
		run->tee = 1;
		rc = add_party(run, &p->ledger, node_tee_executor(run->spec), err);
		if (rc)
			goto fail;
	}
	/* The fold's own records (run->inputs points into it) may move as
	 * events are folded: keep copies of what the run needs. */
	run->self = SIZE_MAX;
	for (size_t i = 0; i < run->nparties; i++) {
		run->party_ids[i] = run->parties[i].org_id;
		if (strcmp(run->parties[i].org_id, n->id.org_id) == 0)
			run->self = i;
	}
	for (size_t i = 0; i < ninputs; i++) {
		const json_t *in = json_array_get(inputs, i);
		run->inputs[i].dataset = json_string_value(json_object_get(in, "dataset"));
		for (size_t k = 0; k < run->nparties; k++)
			if (strcmp(run->parties[k].org_id, run->inputs[i].owner) == 0)
				run->inputs[i].owner = run->parties[k].org_id;
	}
	if (run->self == SIZE_MAX) {
		rc = sr_fail(err, SR_EINVAL, "this node takes no part in the job");
		goto fail;
	}
	*out = run;
	return SR_OK;
fail:
	run_free(run);
	return rc;
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

static int job_receiver(const struct sr_ledger_job *job, const char *org)
{
	for (size_t i = 0; i < job->nreceivers; i++)
		if (strcmp(job->receivers[i], org) == 0)
			return 1;
	return 0;
}

/* Lock held: record a failure of a job this node could not start (with
 * refund, its budget charges are given back everywhere). */
static void fail_now(struct sr_node *n, struct node_project *p,
		     const struct sr_ledger_job *job, const char *why, int refund)
{
	(void)local_set(n, job->id_hex, p->id, "failed", "failed", why);
	append_fail(n, p, job->id_hex, why, refund);
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
					/* A receiver may have held the totals. */
					fail_now(n, p, job, "the node restarted during the job",
						 !job_receiver(job, n->id.org_id));
				sr_free(state);
				continue;
			}
			if (!sr_ledger_job_runnable(&p->ledger, job->id))
				continue;   /* this node's own fold decides */
			sr_err_clear(&err);
			if (run_prepare(n, p, job, &run, &err) != SR_OK) {
				fail_now(n, p, job, err.msg, 1);
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
			/* The local state is what keeps a job from starting twice:
			 * no run without it.  A later kick tries again. */
			if (local_set(n, job->id_hex, p->id, "running", "starting", NULL) != SR_OK) {
				run_free(run);
				sr_free(r);
				continue;
			}
			if (pthread_create(&r->thread, NULL, runner_main, run) != 0) {
				(void)local_set(n, job->id_hex, p->id, "failed", "failed",
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
