/*
 * chain.c - verifying that an event may extend a project's chain: link
 * (seq, project, prev), contents (body schema, id), author (membership,
 * key, signature) and rights (who may emit what, in which state).  See
 * ledger.h for the contract and docs/ledger.md for the rights table.
 *
 * Nothing here changes the ledger: every check reads it, and only when all
 * have passed does fold.c prepare and commit the change.  Messages are
 * written without the "event SEQ: " prefix, which sr_ledger_apply adds.
 */
#include "ledger/ledger_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "base/banned.h"

/* ---- link --------------------------------------------------------------- */

static int check_link(const struct sr_ledger *ledger, const struct sr_event *ev,
		      struct sr_err *err)
{
	char a[SR_LEDGER_SHORT_HEX + 1], b[SR_LEDGER_SHORT_HEX + 1];
	uint8_t id[SR_EVENT_ID_BYTES];
	int rc;

	if (ev->seq < ledger->next_seq) {
		/* The chain already has an event at this seq: the same one
		 * again, or a different one (a fork). */
		rc = sr_event_compute_id(ev, id, err);
		if (rc)
			return rc;
		if (memcmp(id, ledger->ids[ev->seq], sizeof(id)) == 0)
			return sr_fail(err, SR_EEXIST,
				       "already in the chain (duplicate event)");
		sr_ledger_short_id(a, ledger->ids[ev->seq]);
		sr_ledger_short_id(b, id);
		return sr_fail(err, SR_EPROTO,
			       "fork: the chain already has a different event %" PRIu64
			       " (id %s…, this one is %s…)", ev->seq, a, b);
	}
	if (ev->seq > ledger->next_seq)
		return sr_fail(err, SR_EPROTO,
			       "out of order: the next event is %" PRIu64
			       " (events are missing or reordered)",
			       ledger->next_seq);
	if (ledger->next_seq >= SR_LEDGER_EVENTS_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "the project has reached the limit of %u events",
			       SR_LEDGER_EVENTS_MAX);
	if (ledger->project && (!ev->project ||
				strcmp(ev->project, ledger->project) != 0))
		return sr_fail(err, SR_EPROTO,
			       "belongs to project '%.64s', not to this project '%s'",
			       ev->project ? ev->project : "", ledger->project);
	if (memcmp(ev->prev, ledger->head, sizeof(ev->prev)) != 0) {
		if (ev->seq == 0)
			return sr_fail(err, SR_EPROTO,
				       "prev must be all zeros for the first event");
		sr_ledger_short_id(a, ev->prev);
		sr_ledger_short_id(b, ledger->head);
		return sr_fail(err, SR_EPROTO,
			       "prev does not match the head (prev %s…, head %s…)",
			       a, b);
	}
	if (ev->seq == 0 && ev->type != SR_EVENT_PROJECT_CREATE)
		return sr_fail(err, SR_EPERM,
			       "the first event of a project must be project.create, not %s",
			       sr_event_type_name(ev->type) ?
			       sr_event_type_name(ev->type) : "an unknown type");
	if (ev->seq != 0 && ev->type == SR_EVENT_PROJECT_CREATE)
		return sr_fail(err, SR_EPERM,
			       "project.create may only be the first event (seq 0)");
	return SR_OK;
}

/* ---- contents ----------------------------------------------------------- */

static int check_contents(const struct sr_event *ev, struct sr_err *err)
{
	uint8_t id[SR_EVENT_ID_BYTES];
	char hex[SR_LEDGER_SHORT_HEX + 1];
	int rc;

	if (!sr_event_type_name(ev->type))
		return sr_fail(err, SR_EINVAL, "unknown event type %d",
			       (int)ev->type);
	if (!ev->project || !sr_ledger_is_project_id(ev->project))
		return sr_fail(err, SR_EINVAL, "malformed project id");
	if (!sr_ledger_is_org_id(ev->author))
		return sr_fail(err, SR_EINVAL, "malformed author org id");
	if (ev->time < 0 || ev->time > SR_EVENT_TIME_MAX)
		return sr_fail(err, SR_EINVAL, "time out of range");
	rc = sr_event_check_body(ev->type, ev->body, "body", err);
	if (rc == SR_OK)
		rc = sr_event_compute_id(ev, id, err);
	if (rc)
		return rc;
	if (sodium_memcmp(id, ev->id, sizeof(id)) != 0) {
		sr_ledger_short_id(hex, id);
		return sr_fail(err, SR_ECORRUPT,
			       "id does not match the event's contents (they hash to %s…)",
			       hex);
	}
	return SR_OK;
}

/* ---- author ------------------------------------------------------------- */

static const char *body_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The key the author of ev signs with, or a refusal. */
static int author_key(const struct sr_ledger *ledger, const struct sr_event *ev,
		      uint8_t pk[SR_SIGN_PUBLICKEYBYTES], struct sr_err *err)
{
	const struct sr_ledger_member *m = sr_ledger_member_find(ledger, ev->author);
	const json_t *holder = NULL;
	char derived[SR_ORG_ID_LEN + 1];

	if (ev->type == SR_EVENT_PROJECT_CREATE) {
		holder = json_object_get(ev->body, "creator");
		if (strcmp(body_str(holder, "org_id"), ev->author) != 0)
			return sr_fail(err, SR_EPERM,
				       "author %s is not the creator the body names (%s)",
				       ev->author, body_str(holder, "org_id"));
	} else if (ev->type == SR_EVENT_MEMBER_JOIN) {
		if (!m || m->status == SR_MEMBER_LEFT)
			return sr_fail(err, SR_EPERM,
				       "%s may not join: it has not been invited",
				       ev->author);
		if (m->status == SR_MEMBER_ACTIVE)
			return sr_fail(err, SR_EPERM,
				       "%s may not join: it is already a member",
				       ev->author);
		holder = ev->body;
	} else if (!m) {
		return sr_fail(err, SR_EPERM,
			       "author %s is not a member of this project",
			       ev->author);
	} else if (m->status == SR_MEMBER_INVITED) {
		return sr_fail(err, SR_EPERM,
			       "author %s has been invited but has not joined",
			       ev->author);
	} else if (m->status == SR_MEMBER_LEFT) {
		return sr_fail(err, SR_EPERM,
			       "author %s left the project at event %" PRIu64,
			       ev->author, m->left_seq);
	} else {
		memcpy(pk, m->sign_pk, SR_SIGN_PUBLICKEYBYTES);
		return SR_OK;
	}
	/* A key that arrives in the body must be the author's own: the org
	 * id is derived from it. */
	if (sr_unhex(pk, SR_SIGN_PUBLICKEYBYTES, body_str(holder, "sign_pk")))
		return sr_fail(err, SR_EINVAL, "body: malformed sign_pk");
	sr_identity_org_id(derived, pk);
	if (strcmp(derived, ev->author) != 0)
		return sr_fail(err, SR_EPERM,
			       "sign_pk in the body is not the key of %s (it is the key of %s)",
			       ev->author, derived);
	return SR_OK;
}

/* ---- rights ------------------------------------------------------------- */

static int refuse_job(struct sr_err *err, int code, const struct sr_event *ev,
		      const struct sr_ledger_job *job, const char *why)
{
	static const char *const verbs[SR_EVENT_TYPE_COUNT] = {
		[SR_EVENT_JOB_APPROVE] = "approve",
		[SR_EVENT_JOB_REJECT] = "reject",
		[SR_EVENT_JOB_CANCEL] = "cancel",
		[SR_EVENT_JOB_START] = "start",
		[SR_EVENT_JOB_FINISH] = "finish",
		[SR_EVENT_JOB_FAIL] = "fail",
	};
	char short_id[SR_LEDGER_SHORT_HEX + 1];

	sr_ledger_short_id(short_id, job->id);
	return sr_fail(err, code, "%s may not %s job %s: %s", ev->author,
		       verbs[ev->type] ? verbs[ev->type] : "act on", short_id, why);
}

static int rights_invite(const struct sr_ledger *ledger, const struct sr_event *ev,
			 struct sr_err *err)
{
	const char *target = body_str(ev->body, "org_id");
	const struct sr_ledger_member *t = sr_ledger_member_find(ledger, target);

	if (t && t->status == SR_MEMBER_ACTIVE)
		return sr_fail(err, SR_EPERM, "%s is already a member", target);
	if (t && t->status == SR_MEMBER_INVITED)
		return sr_fail(err, SR_EPERM,
			       "%s has already been invited (event %" PRIu64 ")",
			       target, t->invited_seq);
	if (!t && ledger->nmembers >= SR_LEDGER_MEMBERS_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "the project has reached the limit of %d organizations",
			       SR_LEDGER_MEMBERS_MAX);
	return SR_OK;
}

static int rights_join(const struct sr_ledger *ledger, const struct sr_event *ev,
		       struct sr_err *err)
{
	const char *name = body_str(ev->body, "name");
	const struct sr_ledger_member *other = sr_ledger_member_by_name(ledger, name);

	/* Names are the org part of dataset names: unique for good. */
	if (other && strcmp(other->org_id, ev->author) != 0)
		return sr_fail(err, SR_EPERM,
			       "body.name: the name '%s' is taken by %s",
			       name, other->org_id);
	return SR_OK;
}

#define DATASET_FULL_MAX (SR_ORG_NAME_MAX + 1 + SR_DATASET_NAME_MAX)

/* The dataset ev names, as "authorname.dataset" (in full), or NULL. */
static const struct sr_ledger_dataset *
dataset_of_author(const struct sr_ledger *ledger, const struct sr_event *ev,
		  char full[DATASET_FULL_MAX + 1])
{
	const struct sr_ledger_member *m = sr_ledger_member_find(ledger, ev->author);

	snprintf(full, DATASET_FULL_MAX + 1, "%s.%s",
		 m && m->name ? m->name : "", body_str(ev->body, "dataset"));
	return sr_ledger_dataset_find(ledger, full);
}

static int rights_dataset(const struct sr_ledger *ledger,
			  const struct sr_event *ev, struct sr_err *err)
{
	char full[DATASET_FULL_MAX + 1];
	const struct sr_ledger_dataset *d = dataset_of_author(ledger, ev, full);

	if (ev->type == SR_EVENT_DATASET_PUBLISH) {
		if (!d && ledger->ndatasets >= SR_LEDGER_DATASETS_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "the project has reached the limit of %d datasets",
				       SR_LEDGER_DATASETS_MAX);
		return SR_OK;
	}
	if (!d)
		return sr_fail(err, SR_ENOTFOUND,
			       "body.dataset: %s has not published %s",
			       ev->author, full);
	if (d->withdrawn)
		return sr_fail(err, SR_EPERM,
			       "body.dataset: %s is already withdrawn", full);
	return SR_OK;
}

static int rights_propose(const struct sr_ledger *ledger,
			  const struct sr_event *ev, struct sr_err *err)
{
	const json_t *spec = json_object_get(ev->body, "spec");
	const json_t *inputs = json_object_get(spec, "inputs");
	const json_t *receivers = json_object_get(spec, "receivers");
	const json_t *v;
	size_t i;

	json_array_foreach(inputs, i, v) {
		const char *name = body_str(v, "dataset");
		const char *version = body_str(v, "version_id");
		const struct sr_ledger_dataset *d = sr_ledger_dataset_find(ledger, name);
		if (!d || d->withdrawn)
			return sr_fail(err, SR_ENOTFOUND,
				       "body.spec.inputs[%zu].dataset: %s is not published in this project%s",
				       i, name, d ? " (it was withdrawn)" : "");
		if (version && strcmp(version, d->version_id) != 0)
			return sr_fail(err, SR_ENOTFOUND,
				       "body.spec.inputs[%zu].version_id: not the published version of %s (%.16s…)",
				       i, name, d->version_id);
	}
	json_array_foreach(receivers, i, v) {
		const struct sr_ledger_member *m =
			sr_ledger_member_find(ledger, json_string_value(v));
		if (!m || m->status != SR_MEMBER_ACTIVE)
			return sr_fail(err, SR_ENOTFOUND,
				       "body.spec.receivers[%zu]: %s is not a member of this project",
				       i, json_string_value(v));
	}
	return SR_OK;
}

static int owner_index(const struct sr_ledger_job *job, const char *org_id)
{
	for (size_t i = 0; i < job->nowners; i++)
		if (strcmp(job->owners[i], org_id) == 0)
			return (int)i;
	return -1;
}

/* job.start names the head its participants compared: it must be an
 * event of this chain at or after the approval that completed the job. */
static int check_start_head(const struct sr_ledger *ledger,
			    const struct sr_event *ev,
			    const struct sr_ledger_job *job, struct sr_err *err)
{
	uint8_t head[SR_EVENT_ID_BYTES];

	if (sr_unhex(head, sizeof(head), body_str(ev->body, "head")))
		return sr_fail(err, SR_EINVAL, "body.head: malformed");
	for (uint64_t s = job->approved_seq; s < ledger->next_seq; s++)
		if (memcmp(ledger->ids[s], head, sizeof(head)) == 0)
			return SR_OK;
	return refuse_job(err, SR_EPERM, ev, job,
			  "body.head is not an event of this chain at or after the job's last approval");
}

static int rights_job(const struct sr_ledger *ledger, const struct sr_event *ev,
		      struct sr_err *err)
{
	uint8_t id[SR_EVENT_ID_BYTES], spec_hash[SR_HASH_BYTES];
	const char *job_hex = body_str(ev->body, "job_id");
	const struct sr_ledger_job *job;
	char msg[96];
	int k;

	if (sr_unhex(id, sizeof(id), job_hex) || !(job = sr_ledger_job_find(ledger, id)))
		return sr_fail(err, SR_ENOTFOUND,
			       "body.job_id: no job %.16s… in this project", job_hex);
	if (job->state >= SR_JOB_FINISHED) {
		snprintf(msg, sizeof(msg), "the job has ended (%s)",
			 sr_ledger_job_state_name(job->state));
		return refuse_job(err, SR_EPERM, ev, job, msg);
	}
	k = owner_index(job, ev->author);
	switch (ev->type) {
	case SR_EVENT_JOB_APPROVE:
	case SR_EVENT_JOB_REJECT:
		if (k < 0)
			return refuse_job(err, SR_EPERM, ev, job,
					  "not an owner of its inputs");
		if (job->approved[k])
			return refuse_job(err, SR_EPERM, ev, job,
					  "it has already approved it");
		if (job->state == SR_JOB_RUNNING)
			return refuse_job(err, SR_EPERM, ev, job,
					  "the job is already running");
		if (sr_unhex(spec_hash, sizeof(spec_hash),
			     body_str(ev->body, "spec_hash")) ||
		    sodium_memcmp(spec_hash, job->spec_hash, sizeof(spec_hash)) != 0)
			return refuse_job(err, SR_EPERM, ev, job,
					  "spec_hash is not the hash of the job's spec (the vote is for a different spec)");
		return SR_OK;
	case SR_EVENT_JOB_CANCEL:
		if (strcmp(ev->author, job->proposer) != 0)
			return refuse_job(err, SR_EPERM, ev, job,
					  "only its proposer may cancel it");
		return SR_OK;
	case SR_EVENT_JOB_START:
	case SR_EVENT_JOB_FINISH:
	case SR_EVENT_JOB_FAIL:
		if (!sr_ledger_job_participant(job, ev->author))
			return refuse_job(err, SR_EPERM, ev, job,
					  "not a participant (an owner of its inputs or a receiver)");
		if (ev->type == SR_EVENT_JOB_START) {
			if (job->state == SR_JOB_RUNNING)
				return refuse_job(err, SR_EPERM, ev, job,
						  "it is already running");
			if (!sr_ledger_job_runnable(ledger, job->id))
				return refuse_job(err, SR_EPERM, ev, job,
						  "not every owner of its inputs has approved it");
			return check_start_head(ledger, ev, job, err);
		}
		if (ev->type == SR_EVENT_JOB_FINISH && job->state != SR_JOB_RUNNING)
			return refuse_job(err, SR_EPERM, ev, job,
					  "it has not started");
		if (ev->type == SR_EVENT_JOB_FAIL && job->state == SR_JOB_PROPOSED)
			return refuse_job(err, SR_EPERM, ev, job,
					  "it has not been approved (the proposer cancels, an owner rejects)");
		return SR_OK;
	default:
		return sr_fail(err, SR_EINTERNAL, "not a job event");
	}
}

static int check_rights(const struct sr_ledger *ledger, const struct sr_event *ev,
			struct sr_err *err)
{
	switch (ev->type) {
	case SR_EVENT_PROJECT_CREATE:
	case SR_EVENT_MEMBER_LEAVE:
		return SR_OK;
	case SR_EVENT_MEMBER_INVITE:
		return rights_invite(ledger, ev, err);
	case SR_EVENT_MEMBER_JOIN:
		return rights_join(ledger, ev, err);
	case SR_EVENT_DATASET_PUBLISH:
	case SR_EVENT_DATASET_WITHDRAW:
		return rights_dataset(ledger, ev, err);
	case SR_EVENT_JOB_PROPOSE:
		return rights_propose(ledger, ev, err);
	default:
		return rights_job(ledger, ev, err);
	}
}

/* ---- apply -------------------------------------------------------------- */

int sr_ledger_apply(struct sr_ledger *ledger, const struct sr_event *ev,
		    struct sr_err *err)
{
	struct sr_ledger_pending *pending = NULL;
	uint8_t pk[SR_SIGN_PUBLICKEYBYTES];
	int rc;

	rc = check_link(ledger, ev, err);
	if (rc == SR_OK)
		rc = check_contents(ev, err);
	if (rc == SR_OK)
		rc = author_key(ledger, ev, pk, err);
	if (rc == SR_OK)
		rc = sr_event_verify_signature(ev, pk, err);
	if (rc == SR_OK)
		rc = check_rights(ledger, ev, err);
	if (rc == SR_OK)
		rc = sr_ledger_fold_prepare(ledger, ev, &pending, err);
	if (rc) {
		if (err)
			sr_err_prefix(err, "event %" PRIu64, ev->seq);
		return rc;
	}
	sr_ledger_fold_commit(ledger, ev, pending);
	return SR_OK;
}

int sr_ledger_verify_all(struct sr_ledger *ledger, const struct sr_event *events,
			 size_t count, struct sr_ledger_summary *summary,
			 struct sr_err *err)
{
	int rc = SR_OK;

	for (size_t i = 0; i < count && rc == SR_OK; i++)
		rc = sr_ledger_apply(ledger, &events[i], err);
	if (summary)
		sr_ledger_summarize(ledger, summary);
	return rc;
}
