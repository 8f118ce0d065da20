/*
 * summary.c - the folded state and its summary as counts and as JSON, for
 * `sealroom project show`, `job list` and `ledger verify` (see ledger.h).
 */
#include "ledger/ledger_int.h"

#include <string.h>

#include "base/banned.h"

void sr_ledger_summarize(const struct sr_ledger *ledger,
			 struct sr_ledger_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->events = ledger->next_seq;
	memcpy(s->type_counts, ledger->type_counts, sizeof(s->type_counts));
	memcpy(s->head, ledger->head, sizeof(s->head));
	for (size_t i = 0; i < ledger->nmembers; i++) {
		switch (ledger->members[i].status) {
		case SR_MEMBER_ACTIVE: s->members_active++; break;
		case SR_MEMBER_INVITED: s->members_invited++; break;
		case SR_MEMBER_LEFT: s->members_left++; break;
		}
	}
	for (size_t i = 0; i < ledger->ndatasets; i++) {
		if (ledger->datasets[i].withdrawn)
			s->datasets_withdrawn++;
		else
			s->datasets_published++;
	}
	s->jobs = ledger->njobs;
	for (size_t i = 0; i < ledger->njobs; i++)
		s->jobs_by_state[ledger->jobs[i]->state]++;
}

/* Set key to a new value, remembering failure in *bad. */
static void put(json_t *obj, const char *key, json_t *value, int *bad)
{
	if (!obj || !value) {
		json_decref(value);
		*bad = 1;
	} else if (json_object_set_new(obj, key, value)) {
		*bad = 1;   /* set_new dropped the value */
	}
}

static json_t *hex_json(const uint8_t *data, size_t len)
{
	char hex[2 * 64 + 1];

	sr_hex(hex, data, len);
	return json_string(hex);
}

static json_t *member_json(const struct sr_ledger_member *m, int *bad)
{
	json_t *o = json_object();

	put(o, "org_id", json_string(m->org_id), bad);
	put(o, "name", m->name ? json_string(m->name) : json_null(), bad);
	put(o, "status", json_string(sr_ledger_member_status_name(m->status)), bad);
	put(o, "creator", json_boolean(m->creator), bad);
	if (m->name) {
		put(o, "sign_pk", hex_json(m->sign_pk, sizeof(m->sign_pk)), bad);
		put(o, "kx_pk", hex_json(m->kx_pk, sizeof(m->kx_pk)), bad);
		put(o, "joined_seq", json_integer((json_int_t)m->joined_seq), bad);
	}
	if (!m->creator) {
		put(o, "invited_by", json_string(m->invited_by), bad);
		put(o, "invited_seq", json_integer((json_int_t)m->invited_seq), bad);
	}
	if (m->status == SR_MEMBER_LEFT)
		put(o, "left_seq", json_integer((json_int_t)m->left_seq), bad);
	return o;
}

static json_t *dataset_json(const struct sr_ledger_dataset *d, int *bad)
{
	json_t *o = json_object();

	put(o, "name", json_string(d->name), bad);
	put(o, "owner", json_string(d->owner), bad);
	put(o, "version_id", json_string(d->version_id), bad);
	put(o, "rows", json_integer((json_int_t)d->rows), bad);
	put(o, "schema", json_incref(d->schema), bad);
	put(o, "policy", json_incref(d->policy), bad);
	put(o, "withdrawn", json_boolean(d->withdrawn), bad);
	put(o, "published_seq", json_integer((json_int_t)d->published_seq), bad);
	return o;
}

static json_t *job_json(const struct sr_ledger *ledger,
			const struct sr_ledger_job *j, int *bad)
{
	json_t *o = json_object(), *owners = json_array(), *recv = json_array();

	for (size_t i = 0; owners && i < j->nowners; i++) {
		json_t *w = json_object();
		put(w, "org_id", json_string(j->owners[i]), bad);
		put(w, "approved", json_boolean(j->approved[i]), bad);
		put(w, "rejected", json_boolean(j->rejected[i]), bad);
		if (!w || json_array_append_new(owners, w))
			*bad = 1;
	}
	for (size_t i = 0; recv && i < j->nreceivers; i++)
		if (json_array_append_new(recv, json_string(j->receivers[i])))
			*bad = 1;
	put(o, "id", json_string(j->id_hex), bad);
	put(o, "proposer", json_string(j->proposer), bad);
	put(o, "state", json_string(sr_ledger_job_state_name(j->state)), bad);
	put(o, "runnable", json_boolean(sr_ledger_job_runnable(ledger, j->id)), bad);
	put(o, "spec", json_incref(j->spec), bad);
	put(o, "spec_hash", hex_json(j->spec_hash, sizeof(j->spec_hash)), bad);
	put(o, "verdict", json_incref(j->verdict), bad);
	put(o, "owners", owners, bad);
	put(o, "receivers", recv, bad);
	put(o, "proposed_seq", json_integer((json_int_t)j->proposed_seq), bad);
	if (j->approved_seq)
		put(o, "approved_seq", json_integer((json_int_t)j->approved_seq), bad);
	if (j->started_seq) {
		put(o, "started_seq", json_integer((json_int_t)j->started_seq), bad);
		put(o, "started_by", json_string(j->started_by), bad);
		put(o, "start_head", hex_json(j->start_head, sizeof(j->start_head)), bad);
	}
	if (j->ended_seq) {
		put(o, "ended_seq", json_integer((json_int_t)j->ended_seq), bad);
		put(o, "ended_by", json_string(j->ended_by), bad);
	}
	if (j->end_reason)
		put(o, "reason", json_string(j->end_reason), bad);
	if (j->receipt)
		put(o, "receipt", json_incref(j->receipt), bad);
	if (j->refunds)
		put(o, "refunded", json_incref(j->refunds), bad);
	return o;
}

int sr_ledger_to_json(const struct sr_ledger *ledger, json_t **out,
		      struct sr_err *err)
{
	json_t *o = json_object(), *members = json_array(),
	       *datasets = json_array(), *jobs = json_array();
	int bad = 0;

	*out = NULL;
	for (size_t i = 0; members && i < ledger->nmembers; i++)
		if (json_array_append_new(members,
					  member_json(&ledger->members[i], &bad)))
			bad = 1;
	for (size_t i = 0; datasets && i < ledger->ndatasets; i++)
		if (json_array_append_new(datasets,
					  dataset_json(&ledger->datasets[i], &bad)))
			bad = 1;
	for (size_t i = 0; jobs && i < ledger->njobs; i++)
		if (json_array_append_new(jobs,
					  job_json(ledger, ledger->jobs[i], &bad)))
			bad = 1;
	put(o, "project", ledger->project ? json_string(ledger->project) :
	    json_null(), &bad);
	put(o, "name", ledger->name ? json_string(ledger->name) : json_null(),
	    &bad);
	put(o, "creator", json_string(ledger->creator), &bad);
	put(o, "seq", json_integer((json_int_t)ledger->next_seq), &bad);
	put(o, "head", hex_json(ledger->head, sizeof(ledger->head)), &bad);
	put(o, "members", members, &bad);
	put(o, "datasets", datasets, &bad);
	put(o, "jobs", jobs, &bad);
	if (bad) {
		json_decref(o);
		return sr_fail(err, SR_ENOMEM, "ledger: out of memory");
	}
	*out = o;
	return SR_OK;
}

int sr_ledger_summary_to_json(const struct sr_ledger_summary *s, json_t **out,
			      struct sr_err *err)
{
	json_t *o = json_object(), *types = json_object(), *jobs = json_object();
	int bad = 0;

	*out = NULL;
	for (int t = SR_EVENT_NONE + 1; t < SR_EVENT_TYPE_COUNT; t++)
		put(types, sr_event_type_name((enum sr_event_type)t),
		    json_integer((json_int_t)s->type_counts[t]), &bad);
	for (int st = SR_JOB_PROPOSED; st <= SR_JOB_REJECTED; st++)
		put(jobs, sr_ledger_job_state_name((enum sr_job_state)st),
		    json_integer((json_int_t)s->jobs_by_state[st]), &bad);
	put(o, "events", json_integer((json_int_t)s->events), &bad);
	put(o, "head", hex_json(s->head, sizeof(s->head)), &bad);
	put(o, "types", types, &bad);
	put(o, "members_active", json_integer((json_int_t)s->members_active), &bad);
	put(o, "members_invited", json_integer((json_int_t)s->members_invited), &bad);
	put(o, "members_left", json_integer((json_int_t)s->members_left), &bad);
	put(o, "datasets_published",
	    json_integer((json_int_t)s->datasets_published), &bad);
	put(o, "datasets_withdrawn",
	    json_integer((json_int_t)s->datasets_withdrawn), &bad);
	put(o, "jobs", json_integer((json_int_t)s->jobs), &bad);
	put(o, "jobs_by_state", jobs, &bad);
	if (bad) {
		json_decref(o);
		return sr_fail(err, SR_ENOMEM, "ledger: out of memory");
	}
	*out = o;
	return SR_OK;
}
