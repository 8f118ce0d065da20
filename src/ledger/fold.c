/*
 * fold.c - the project state a ledger folds from its events: members,
 * datasets, jobs, and lookups in it (see ledger.h and docs/ledger.md).
 *
 * sr_ledger_apply is all-or-nothing, including under allocation failure.
 * It gets there in two phases.  After chain.c has checked everything,
 * sr_ledger_fold_prepare makes every allocation the event needs: copies of
 * strings and JSON, the new job, and room in each array the event appends
 * to (growing an array's capacity changes nothing a reader can see).  Only
 * then does sr_ledger_fold_commit change the state, and it cannot fail.
 */
#include "ledger/ledger_int.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "base/banned.h"

#define DATASET_FULL_MAX (SR_ORG_NAME_MAX + 1 + SR_DATASET_NAME_MAX)

struct sr_ledger_pending {
	char *project;              /* project.create */
	char *project_name;
	char *member_name;          /* project.create, member.join */
	char *dataset_name;         /* dataset.publish of a new dataset */
	json_t *schema, *policy;    /* dataset.publish */
	struct sr_ledger_job *job;  /* job.propose */
	char *reason;               /* job.reject, job.cancel, job.fail */
	json_t *receipt;            /* job.finish */
	json_t *refunds;            /* job.fail's refunded */
};

void sr_ledger_init(struct sr_ledger *ledger)
{
	memset(ledger, 0, sizeof(*ledger));
}

static void job_free(struct sr_ledger_job *job)
{
	if (!job)
		return;
	json_decref(job->spec);
	json_decref(job->verdict);
	json_decref(job->receipt);
	json_decref(job->refunds);
	sr_free(job->owners);
	sr_free(job->approved);
	sr_free(job->rejected);
	sr_free(job->receivers);
	sr_free(job->end_reason);
	sr_free(job);
}

void sr_ledger_release(struct sr_ledger *ledger)
{
	sr_free(ledger->project);
	sr_free(ledger->name);
	sr_free(ledger->ids);
	for (size_t i = 0; i < ledger->nmembers; i++)
		sr_free(ledger->members[i].name);
	sr_free(ledger->members);
	for (size_t i = 0; i < ledger->ndatasets; i++) {
		sr_free(ledger->datasets[i].name);
		json_decref(ledger->datasets[i].schema);
		json_decref(ledger->datasets[i].policy);
	}
	sr_free(ledger->datasets);
	for (size_t i = 0; i < ledger->njobs; i++)
		job_free(ledger->jobs[i]);
	sr_free(ledger->jobs);
	sr_free(ledger->job_index);
	sr_ledger_init(ledger);
}

/* ---- lookups ---------------------------------------------------------- */

static struct sr_ledger_member *member_mut(const struct sr_ledger *ledger,
					   const char *org_id)
{
	for (size_t i = 0; i < ledger->nmembers; i++)
		if (strcmp(ledger->members[i].org_id, org_id) == 0)
			return &ledger->members[i];
	return NULL;
}

const struct sr_ledger_member *sr_ledger_member_find(const struct sr_ledger *ledger,
						     const char *org_id)
{
	return member_mut(ledger, org_id);
}

const struct sr_ledger_member *sr_ledger_member_by_name(const struct sr_ledger *ledger,
							const char *name)
{
	for (size_t i = 0; i < ledger->nmembers; i++)
		if (ledger->members[i].name &&
		    strcmp(ledger->members[i].name, name) == 0)
			return &ledger->members[i];
	return NULL;
}

static struct sr_ledger_dataset *dataset_mut(const struct sr_ledger *ledger,
					     const char *full_name)
{
	for (size_t i = 0; i < ledger->ndatasets; i++)
		if (strcmp(ledger->datasets[i].name, full_name) == 0)
			return &ledger->datasets[i];
	return NULL;
}

const struct sr_ledger_dataset *sr_ledger_dataset_find(const struct sr_ledger *ledger,
						       const char *full_name)
{
	return dataset_mut(ledger, full_name);
}

/* Index in job_index of the first job whose id is >= id. */
static size_t job_slot(const struct sr_ledger *ledger,
		       const uint8_t id[SR_EVENT_ID_BYTES])
{
	size_t lo = 0, hi = ledger->njobs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(ledger->job_index[mid]->id, id, SR_EVENT_ID_BYTES) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct sr_ledger_job *job_mut(const struct sr_ledger *ledger,
				     const uint8_t id[SR_EVENT_ID_BYTES])
{
	size_t slot = job_slot(ledger, id);

	if (slot < ledger->njobs &&
	    memcmp(ledger->job_index[slot]->id, id, SR_EVENT_ID_BYTES) == 0)
		return ledger->job_index[slot];
	return NULL;
}

const struct sr_ledger_job *sr_ledger_job_find(const struct sr_ledger *ledger,
					       const uint8_t job_id[SR_EVENT_ID_BYTES])
{
	return job_mut(ledger, job_id);
}

const struct sr_ledger_job *sr_ledger_job_find_hex(const struct sr_ledger *ledger,
						   const char *job_id_hex)
{
	uint8_t id[SR_EVENT_ID_BYTES];

	if (!job_id_hex || !sr_ledger_is_hex(job_id_hex, SR_EVENT_ID_HEX_LEN) ||
	    sr_unhex(id, sizeof(id), job_id_hex) != SR_OK)
		return NULL;
	return job_mut(ledger, id);
}

int sr_ledger_job_participant(const struct sr_ledger_job *job,
			      const char *org_id)
{
	for (size_t i = 0; i < job->nowners; i++)
		if (strcmp(job->owners[i], org_id) == 0)
			return 1;
	for (size_t i = 0; i < job->nreceivers; i++)
		if (strcmp(job->receivers[i], org_id) == 0)
			return 1;
	/* TEE mode: the executor the approved spec names (docs/tee.md). */
	{
		const char *ex = json_string_value(json_object_get(
			json_object_get(job->spec, "tee"), "executor"));
		if (ex && strcmp(ex, org_id) == 0)
			return 1;
	}
	return 0;
}

int sr_ledger_job_runnable(const struct sr_ledger *ledger,
			   const uint8_t job_id[SR_EVENT_ID_BYTES])
{
	const struct sr_ledger_job *job = job_mut(ledger, job_id);

	if (!job || job->nowners == 0)
		return 0;
	if (job->state != SR_JOB_APPROVED && job->state != SR_JOB_RUNNING)
		return 0;
	/* Approvals are only folded in when they carry the job's spec hash,
	 * so each flag below is an approval of this exact spec. */
	for (size_t i = 0; i < job->nowners; i++)
		if (!job->approved[i] || job->rejected[i])
			return 0;
	return 1;
}

const char *sr_ledger_member_status_name(enum sr_member_status status)
{
	switch (status) {
	case SR_MEMBER_INVITED: return "invited";
	case SR_MEMBER_ACTIVE: return "active";
	case SR_MEMBER_LEFT: return "left";
	}
	return "unknown";
}

const char *sr_ledger_job_state_name(enum sr_job_state state)
{
	switch (state) {
	case SR_JOB_PROPOSED: return "proposed";
	case SR_JOB_APPROVED: return "approved";
	case SR_JOB_RUNNING: return "running";
	case SR_JOB_FINISHED: return "finished";
	case SR_JOB_FAILED: return "failed";
	case SR_JOB_CANCELLED: return "cancelled";
	case SR_JOB_REJECTED: return "rejected";
	}
	return "unknown";
}

void sr_ledger_project_id_generate(char out[SR_PROJECT_ID_GEN_LEN + 1])
{
	uint8_t raw[(SR_PROJECT_ID_GEN_LEN - 4) / 2];

	sr_random_buf(raw, sizeof(raw));
	memcpy(out, "prj_", 4);
	sr_hex(out + 4, raw, sizeof(raw));
}

/* ---- prepare ------------------------------------------------------------ */

/*
 * Make room for need elements of size elem in the array whose pointer is at
 * field (capacity *cap).  field points at a "T *" member of the ledger; it
 * is read and written with memcpy so any element type can share this code.
 */
static int reserve(void *field, size_t *cap, size_t need, size_t elem)
{
	void *arr, *grown;
	size_t want;

	if (need <= *cap)
		return SR_OK;
	want = *cap ? *cap : 8;
	while (want < need)
		want *= 2;
	if (want > SIZE_MAX / elem)
		return SR_ENOMEM;
	memcpy(&arr, field, sizeof(arr));
	grown = sr_realloc(arr, want * elem);
	if (!grown)
		return SR_ENOMEM;
	memcpy(field, &grown, sizeof(grown));
	*cap = want;
	return SR_OK;
}

static int reserve_jobs(struct sr_ledger *ledger)
{
	size_t cap = ledger->jobs_cap, index_cap = ledger->jobs_cap;
	int rc;

	rc = reserve(&ledger->jobs, &cap, ledger->njobs + 1,
		     sizeof(*ledger->jobs));
	if (rc == SR_OK)
		rc = reserve(&ledger->job_index, &index_cap, ledger->njobs + 1,
			     sizeof(*ledger->job_index));
	/* A grown array keeps its old entries: if only the first grew, the
	 * shared capacity stays the old one and both grow next time. */
	if (rc == SR_OK)
		ledger->jobs_cap = cap < index_cap ? cap : index_cap;
	return rc;
}

static const char *body_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* "orgname.dataset" for a dataset published by author.  0 if the author
 * has no name (never happens for a checked, active author). */
static int full_dataset_name(const struct sr_ledger *ledger, const char *author,
			     const char *dataset, char out[DATASET_FULL_MAX + 1])
{
	const struct sr_ledger_member *m = sr_ledger_member_find(ledger, author);

	if (!m || !m->name)
		return 0;
	snprintf(out, DATASET_FULL_MAX + 1, "%s.%s", m->name, dataset);
	return 1;
}

/* A job as proposed by ev: spec, verdict, hash, owners and receivers. */
static int job_new(const struct sr_ledger *ledger, const struct sr_event *ev,
		   struct sr_ledger_job **out)
{
	const json_t *spec = json_object_get(ev->body, "spec");
	const json_t *inputs = json_object_get(spec, "inputs");
	const json_t *receivers = json_object_get(spec, "receivers");
	struct sr_ledger_job *job = sr_calloc(1, sizeof(*job));
	size_t n_in = json_array_size(inputs), n_recv = json_array_size(receivers);
	const json_t *in;
	size_t i;

	*out = NULL;
	if (!job)
		return SR_ENOMEM;
	memcpy(job->id, ev->id, sizeof(job->id));
	sr_hex(job->id_hex, ev->id, sizeof(ev->id));
	memcpy(job->proposer, ev->author, sizeof(job->proposer));
	job->state = SR_JOB_PROPOSED;
	job->proposed_seq = ev->seq;
	job->spec = json_deep_copy(spec);
	job->verdict = json_deep_copy(json_object_get(ev->body, "verdict"));
	job->owners = sr_calloc(n_in, sizeof(*job->owners));
	job->approved = sr_calloc(n_in, 1);
	job->rejected = sr_calloc(n_in, 1);
	job->receivers = sr_calloc(n_recv, sizeof(*job->receivers));
	if (!job->spec || !job->verdict || !job->owners || !job->approved ||
	    !job->rejected || !job->receivers ||
	    sr_event_spec_hash(spec, job->spec_hash, NULL) != SR_OK) {
		job_free(job);
		return SR_ENOMEM;
	}
	json_array_foreach(inputs, i, in) {
		const struct sr_ledger_dataset *d =
			sr_ledger_dataset_find(ledger, body_str(in, "dataset"));
		int seen = 0;
		if (!d) {   /* chain.c checked every input */
			job_free(job);
			return SR_EINTERNAL;
		}
		for (size_t k = 0; k < job->nowners; k++)
			if (strcmp(job->owners[k], d->owner) == 0)
				seen = 1;
		if (!seen)
			memcpy(job->owners[job->nowners++], d->owner,
			       SR_ORG_ID_LEN + 1);
	}
	for (i = 0; i < n_recv; i++)
		memcpy(job->receivers[i],
		       json_string_value(json_array_get(receivers, i)),
		       SR_ORG_ID_LEN + 1);
	job->nreceivers = n_recv;
	*out = job;
	return SR_OK;
}

static int dup_reason(const struct sr_event *ev, char **out)
{
	const char *reason = body_str(ev->body, "reason");

	if (!reason)
		return SR_OK;
	*out = sr_strdup(reason);
	return *out ? SR_OK : SR_ENOMEM;
}

static int prepare(struct sr_ledger *ledger, const struct sr_event *ev,
		   struct sr_ledger_pending *p)
{
	const json_t *body = ev->body;
	char full[DATASET_FULL_MAX + 1];
	int rc;

	rc = reserve(&ledger->ids, &ledger->ids_cap,
		     (size_t)ledger->next_seq + 1, sizeof(*ledger->ids));
	if (rc)
		return rc;
	switch (ev->type) {
	case SR_EVENT_PROJECT_CREATE:
		p->project = sr_strdup(ev->project);
		p->project_name = sr_strdup(body_str(body, "name"));
		p->member_name = sr_strdup(body_str(json_object_get(body, "creator"),
						    "name"));
		if (!p->project || !p->project_name || !p->member_name)
			return SR_ENOMEM;
		return reserve(&ledger->members, &ledger->members_cap,
			       ledger->nmembers + 1, sizeof(*ledger->members));
	case SR_EVENT_MEMBER_INVITE:
		if (member_mut(ledger, body_str(body, "org_id")))
			return SR_OK;
		return reserve(&ledger->members, &ledger->members_cap,
			       ledger->nmembers + 1, sizeof(*ledger->members));
	case SR_EVENT_MEMBER_JOIN:
		p->member_name = sr_strdup(body_str(body, "name"));
		return p->member_name ? SR_OK : SR_ENOMEM;
	case SR_EVENT_DATASET_PUBLISH:
		p->schema = json_deep_copy(json_object_get(body, "schema"));
		p->policy = json_deep_copy(json_object_get(body, "policy"));
		if (!p->schema || !p->policy)
			return SR_ENOMEM;
		if (!full_dataset_name(ledger, ev->author, body_str(body, "dataset"),
				       full))
			return SR_EINTERNAL;
		if (dataset_mut(ledger, full))
			return SR_OK;
		p->dataset_name = sr_strdup(full);
		if (!p->dataset_name)
			return SR_ENOMEM;
		return reserve(&ledger->datasets, &ledger->datasets_cap,
			       ledger->ndatasets + 1, sizeof(*ledger->datasets));
	case SR_EVENT_JOB_PROPOSE:
		rc = job_new(ledger, ev, &p->job);
		return rc ? rc : reserve_jobs(ledger);
	case SR_EVENT_JOB_FAIL:
		if (json_object_get(body, "refunded") &&
		    !(p->refunds = json_deep_copy(json_object_get(body, "refunded"))))
			return SR_ENOMEM;
		return dup_reason(ev, &p->reason);
	case SR_EVENT_JOB_REJECT:
	case SR_EVENT_JOB_CANCEL:
		return dup_reason(ev, &p->reason);
	case SR_EVENT_JOB_FINISH:
		p->receipt = json_deep_copy(body);
		return p->receipt ? SR_OK : SR_ENOMEM;
	default:
		return SR_OK;
	}
}

void sr_ledger_fold_abort(struct sr_ledger_pending *p)
{
	if (!p)
		return;
	sr_free(p->project);
	sr_free(p->project_name);
	sr_free(p->member_name);
	sr_free(p->dataset_name);
	json_decref(p->schema);
	json_decref(p->policy);
	job_free(p->job);
	sr_free(p->reason);
	json_decref(p->receipt);
	json_decref(p->refunds);
	sr_free(p);
}

int sr_ledger_fold_prepare(struct sr_ledger *ledger, const struct sr_event *ev,
			   struct sr_ledger_pending **out, struct sr_err *err)
{
	struct sr_ledger_pending *p = sr_calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = prepare(ledger, ev, p);
	if (rc) {
		sr_ledger_fold_abort(p);
		return sr_fail(err, rc, "%s", rc == SR_ENOMEM ? "out of memory" :
			       "internal error while folding");
	}
	*out = p;
	return SR_OK;
}

/* ---- commit ------------------------------------------------------------- */

static void take_string(char **dst, char **src)
{
	sr_free(*dst);
	*dst = *src;
	*src = NULL;
}

static void member_keys(struct sr_ledger_member *m, const json_t *obj)
{
	/* Checked as lowercase hex of the right length by the body schema. */
	if (sr_unhex(m->sign_pk, sizeof(m->sign_pk), body_str(obj, "sign_pk")) ||
	    sr_unhex(m->kx_pk, sizeof(m->kx_pk), body_str(obj, "kx_pk")))
		SR_BUG("ledger: unchecked key in a folded event");
}

static struct sr_ledger_member *member_append(struct sr_ledger *ledger,
					      const char *org_id)
{
	struct sr_ledger_member *m = &ledger->members[ledger->nmembers++];

	memset(m, 0, sizeof(*m));
	memcpy(m->org_id, org_id, sizeof(m->org_id));
	return m;
}

static void end_job(struct sr_ledger_job *job, const struct sr_event *ev,
		    enum sr_job_state state, struct sr_ledger_pending *p)
{
	job->state = state;
	job->ended_seq = ev->seq;
	memcpy(job->ended_by, ev->author, sizeof(job->ended_by));
	take_string(&job->end_reason, &p->reason);
}

static void commit_job_event(struct sr_ledger *ledger, const struct sr_event *ev,
			     struct sr_ledger_pending *p)
{
	uint8_t id[SR_EVENT_ID_BYTES];
	struct sr_ledger_job *job;
	size_t k;

	if (sr_unhex(id, sizeof(id), body_str(ev->body, "job_id")) ||
	    !(job = job_mut(ledger, id)))
		SR_BUG("ledger: folding an event for an unknown job");
	for (k = 0; k < job->nowners; k++)
		if (strcmp(job->owners[k], ev->author) == 0)
			break;
	switch (ev->type) {
	case SR_EVENT_JOB_APPROVE:
		job->approved[k] = 1;
		job->approved_seq = ev->seq;
		for (k = 0; k < job->nowners && job->approved[k]; k++)
			;
		if (k == job->nowners)
			job->state = SR_JOB_APPROVED;
		break;
	case SR_EVENT_JOB_REJECT:
		job->rejected[k] = 1;
		end_job(job, ev, SR_JOB_REJECTED, p);
		break;
	case SR_EVENT_JOB_CANCEL:
		end_job(job, ev, SR_JOB_CANCELLED, p);
		break;
	case SR_EVENT_JOB_START:
		job->state = SR_JOB_RUNNING;
		job->started_seq = ev->seq;
		memcpy(job->started_by, ev->author, sizeof(job->started_by));
		if (sr_unhex(job->start_head, sizeof(job->start_head),
			     body_str(ev->body, "head")))
			SR_BUG("ledger: unchecked head in job.start");
		break;
	case SR_EVENT_JOB_FINISH:
		end_job(job, ev, SR_JOB_FINISHED, p);
		job->receipt = p->receipt;
		p->receipt = NULL;
		break;
	case SR_EVENT_JOB_FAIL:
		end_job(job, ev, SR_JOB_FAILED, p);
		job->refunds = p->refunds;
		p->refunds = NULL;
		break;
	default:
		SR_BUG("ledger: not a job event");
	}
}

static void commit_publish(struct sr_ledger *ledger, const struct sr_event *ev,
			   struct sr_ledger_pending *p)
{
	char full[DATASET_FULL_MAX + 1];
	struct sr_ledger_dataset *d;

	if (!full_dataset_name(ledger, ev->author,
			       body_str(ev->body, "dataset"), full))
		SR_BUG("ledger: publish by an author without a name");
	d = dataset_mut(ledger, full);
	if (!d) {
		d = &ledger->datasets[ledger->ndatasets++];
		memset(d, 0, sizeof(*d));
		d->name = p->dataset_name;
		p->dataset_name = NULL;
		memcpy(d->owner, ev->author, sizeof(d->owner));
	}
	memcpy(d->version_id, body_str(ev->body, "version_id"),
	       sizeof(d->version_id));
	d->rows = (uint64_t)json_integer_value(json_object_get(ev->body, "rows"));
	json_decref(d->schema);
	json_decref(d->policy);
	d->schema = p->schema;
	d->policy = p->policy;
	p->schema = p->policy = NULL;
	d->withdrawn = 0;
	d->published_seq = ev->seq;
}

void sr_ledger_fold_commit(struct sr_ledger *ledger, const struct sr_event *ev,
			   struct sr_ledger_pending *p)
{
	const json_t *body = ev->body;
	struct sr_ledger_member *m;
	size_t slot;

	switch (ev->type) {
	case SR_EVENT_PROJECT_CREATE:
		take_string(&ledger->project, &p->project);
		take_string(&ledger->name, &p->project_name);
		memcpy(ledger->creator, ev->author, sizeof(ledger->creator));
		m = member_append(ledger, ev->author);
		take_string(&m->name, &p->member_name);
		member_keys(m, json_object_get(body, "creator"));
		m->status = SR_MEMBER_ACTIVE;
		m->creator = 1;
		break;
	case SR_EVENT_MEMBER_INVITE:
		m = member_mut(ledger, body_str(body, "org_id"));
		if (!m)
			m = member_append(ledger, body_str(body, "org_id"));
		m->status = SR_MEMBER_INVITED;
		memcpy(m->invited_by, ev->author, sizeof(m->invited_by));
		m->invited_seq = ev->seq;
		break;
	case SR_EVENT_MEMBER_JOIN:
		m = member_mut(ledger, ev->author);
		take_string(&m->name, &p->member_name);
		member_keys(m, body);
		m->status = SR_MEMBER_ACTIVE;
		m->joined_seq = ev->seq;
		break;
	case SR_EVENT_MEMBER_LEAVE:
		m = member_mut(ledger, ev->author);
		m->status = SR_MEMBER_LEFT;
		m->left_seq = ev->seq;
		/* A member that leaves takes its data with it. */
		for (size_t i = 0; i < ledger->ndatasets; i++)
			if (strcmp(ledger->datasets[i].owner, ev->author) == 0)
				ledger->datasets[i].withdrawn = 1;
		break;
	case SR_EVENT_DATASET_PUBLISH:
		commit_publish(ledger, ev, p);
		break;
	case SR_EVENT_DATASET_WITHDRAW: {
		char full[DATASET_FULL_MAX + 1];
		struct sr_ledger_dataset *d = NULL;
		if (full_dataset_name(ledger, ev->author,
				      body_str(body, "dataset"), full))
			d = dataset_mut(ledger, full);
		if (!d)
			SR_BUG("ledger: withdrawing an unknown dataset");
		d->withdrawn = 1;
		break;
	}
	case SR_EVENT_JOB_PROPOSE:
		slot = job_slot(ledger, p->job->id);
		memmove(&ledger->job_index[slot + 1], &ledger->job_index[slot],
			(ledger->njobs - slot) * sizeof(*ledger->job_index));
		ledger->job_index[slot] = p->job;
		ledger->jobs[ledger->njobs++] = p->job;
		p->job = NULL;
		break;
	default:
		commit_job_event(ledger, ev, p);
		break;
	}
	memcpy(ledger->ids[ledger->next_seq], ev->id, SR_EVENT_ID_BYTES);
	memcpy(ledger->head, ev->id, SR_EVENT_ID_BYTES);
	ledger->next_seq++;
	ledger->type_counts[ev->type]++;
	sr_ledger_fold_abort(p);
}
