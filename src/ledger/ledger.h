/*
 * ledger.h - a project's state, folded from its verified event chain
 * (DESIGN §4, docs/ledger.md).
 *
 * Every node keeps one struct sr_ledger per project it belongs to and feeds
 * it the project's events in order with sr_ledger_apply.  Each event must
 * extend the chain (seq is the next one, prev is the current head), carry
 * the id of its contents, be signed by a current member with the key the
 * ledger learned for it (from project.create or member.join), and be an
 * event its author may emit in the current state (the rights table in
 * docs/ledger.md).  Only then is it folded into the state: members,
 * datasets, jobs with their approvals.  sr_ledger_apply is all-or-nothing:
 * a refused event, or one that runs out of memory, leaves the ledger
 * exactly as it was.
 *
 * A ledger is not thread-safe: one thread applies and reads at a time.
 * The structs below are read-only for callers.  Pointers returned by the
 * lookup functions, and the members/datasets arrays themselves, stay valid
 * until the next sr_ledger_apply or sr_ledger_release; jobs (struct
 * sr_ledger_job *) stay valid until sr_ledger_release.
 *
 * Status codes of a refused event: SR_EPROTO (the event does not extend
 * this chain: wrong project, seq or prev, a fork), SR_EEXIST (the same
 * event was already applied), SR_ECORRUPT (id does not match the
 * contents), SR_ECRYPTO (signature), SR_EPERM (the author may not emit it
 * now), SR_ENOTFOUND (it names a job or dataset the project does not
 * have), SR_EINVAL / SR_ELIMIT (malformed or too large).  Every message
 * starts with "event SEQ: ".
 */
#ifndef SR_LEDGER_H
#define SR_LEDGER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/identity.h"
#include "ledger/event.h"

enum sr_member_status {
	SR_MEMBER_INVITED = 1,   /* invited, not yet joined: may only join */
	SR_MEMBER_ACTIVE = 2,    /* current member */
	SR_MEMBER_LEFT = 3,      /* left; may be invited again */
};

struct sr_ledger_member {
	char org_id[SR_ORG_ID_LEN + 1];
	char *name;                            /* NULL until joined */
	uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES];   /* valid once joined */
	uint8_t kx_pk[SR_BOX_PUBLICKEYBYTES];
	enum sr_member_status status;
	int creator;                           /* 1 for the project's creator */
	char invited_by[SR_ORG_ID_LEN + 1];    /* "" for the creator */
	uint64_t invited_seq;                  /* seq of the last invite */
	uint64_t joined_seq;                   /* seq of the last join/create */
	uint64_t left_seq;                     /* seq of member.leave, if left */
};

struct sr_ledger_dataset {
	char *name;                            /* "orgname.dataset" */
	char owner[SR_ORG_ID_LEN + 1];
	char version_id[SR_EVENT_ID_HEX_LEN + 1];
	uint64_t rows;
	json_t *schema;                        /* [{name, type, class}], owned */
	json_t *policy;                        /* normalized policy, owned */
	int withdrawn;
	uint64_t published_seq;                /* seq of the last publish */
};

enum sr_job_state {
	SR_JOB_PROPOSED = 1,    /* waiting for approvals */
	SR_JOB_APPROVED = 2,    /* every owner approved: may start */
	SR_JOB_RUNNING = 3,     /* job.start recorded */
	SR_JOB_FINISHED = 4,    /* job.finish: terminal */
	SR_JOB_FAILED = 5,      /* job.fail: terminal */
	SR_JOB_CANCELLED = 6,   /* job.cancel by the proposer: terminal */
	SR_JOB_REJECTED = 7,    /* job.reject by an owner: terminal */
};

struct sr_ledger_job {
	uint8_t id[SR_EVENT_ID_BYTES];         /* id of its job.propose event */
	char id_hex[SR_EVENT_ID_HEX_LEN + 1];
	char proposer[SR_ORG_ID_LEN + 1];
	json_t *spec;                          /* owned */
	json_t *verdict;                       /* proposer's checker verdict, owned */
	uint8_t spec_hash[SR_HASH_BYTES];      /* sr_event_spec_hash(spec) */
	char (*owners)[SR_ORG_ID_LEN + 1];     /* distinct owners of the inputs */
	size_t nowners;
	unsigned char *approved;               /* per owner: 1 if approved */
	unsigned char *rejected;               /* per owner: 1 if rejected */
	char (*receivers)[SR_ORG_ID_LEN + 1];
	size_t nreceivers;
	enum sr_job_state state;
	uint64_t proposed_seq;
	uint64_t approved_seq;                 /* seq of the last approval */
	uint64_t started_seq;
	uint64_t ended_seq;                    /* finish/fail/cancel/reject */
	uint8_t start_head[SR_EVENT_ID_BYTES]; /* head named by job.start */
	char started_by[SR_ORG_ID_LEN + 1];
	char ended_by[SR_ORG_ID_LEN + 1];
	char *end_reason;                      /* fail/cancel/reject reason or NULL */
	json_t *receipt;                       /* job.finish body, owned, or NULL */
	json_t *refunds;                       /* job.fail's "refunded": the
						* budget charges given back
						* [{dataset, owner, epsilon,
						* delta?}], owned, or NULL */
};

struct sr_ledger {
	char *project;                         /* NULL before project.create */
	char *name;                            /* project name */
	char creator[SR_ORG_ID_LEN + 1];
	uint64_t next_seq;                     /* = number of events applied */
	uint8_t head[SR_EVENT_ID_BYTES];       /* id of the last event; zeros */
	uint8_t (*ids)[SR_EVENT_ID_BYTES];     /* id of every event, by seq */
	size_t ids_cap;
	struct sr_ledger_member *members;      /* in order of first appearance */
	size_t nmembers, members_cap;
	struct sr_ledger_dataset *datasets;    /* in order of first publication */
	size_t ndatasets, datasets_cap;
	struct sr_ledger_job **jobs;           /* in order of proposal */
	struct sr_ledger_job **job_index;      /* the same, sorted by id */
	size_t njobs, jobs_cap;
	uint64_t type_counts[SR_EVENT_TYPE_COUNT];
};

/* Empty ledger (no project yet); no allocation. */
void sr_ledger_init(struct sr_ledger *ledger);
/* Free everything; the ledger is left as after sr_ledger_init. */
void sr_ledger_release(struct sr_ledger *ledger);

/*
 * Verify ev against the current state and fold it in.  Checks, in order:
 * the event is the next one (seq == next_seq; a lower seq is reported as
 * a duplicate or a fork, a higher one as a gap), it belongs to this
 * project, prev is the head, the body is well formed, the id is the hash of
 * the contents, the author is a current member (for member.join: an
 * invited organization whose key in the body matches its org id; for
 * project.create: the creator named in the body) and the signature
 * verifies with its key, and the author may emit this event now.  ev is
 * borrowed; the ledger copies what it keeps.  All-or-nothing; see the
 * status codes above.
 */
int sr_ledger_apply(struct sr_ledger *ledger, const struct sr_event *ev,
		    struct sr_err *err) SR_WUR;

struct sr_ledger_summary {
	uint64_t events;                          /* events in the chain */
	uint64_t type_counts[SR_EVENT_TYPE_COUNT];
	uint8_t head[SR_EVENT_ID_BYTES];
	size_t members_active, members_invited, members_left;
	size_t datasets_published, datasets_withdrawn;
	size_t jobs;
	size_t jobs_by_state[SR_JOB_REJECTED + 1];   /* indexed by sr_job_state */
};

/*
 * Apply count events in order (for `sealroom ledger verify`); ledger is
 * usually freshly initialized but may hold a verified prefix.  Stops at
 * the first refused event, whose error is returned; summary (optional) then
 * describes the chain up to the last good event.
 */
int sr_ledger_verify_all(struct sr_ledger *ledger, const struct sr_event *events,
			 size_t count, struct sr_ledger_summary *summary,
			 struct sr_err *err) SR_WUR;

/* Counts and head of the current state. */
void sr_ledger_summarize(const struct sr_ledger *ledger,
			 struct sr_ledger_summary *summary);

/* Lookups: NULL if absent.  See the lifetime note above. */
const struct sr_ledger_member *sr_ledger_member_find(const struct sr_ledger *ledger,
						     const char *org_id);
const struct sr_ledger_member *sr_ledger_member_by_name(const struct sr_ledger *ledger,
							const char *name);
/* full_name is "orgname.dataset"; withdrawn datasets are returned too. */
const struct sr_ledger_dataset *sr_ledger_dataset_find(const struct sr_ledger *ledger,
						       const char *full_name);
const struct sr_ledger_job *sr_ledger_job_find(const struct sr_ledger *ledger,
					       const uint8_t job_id[SR_EVENT_ID_BYTES]);
/* job_id_hex: the 64 hex digits of a job id; NULL if malformed or absent. */
const struct sr_ledger_job *sr_ledger_job_find_hex(const struct sr_ledger *ledger,
						   const char *job_id_hex);

/*
 * 1 if the job may run: it is approved or running, every owner of one of
 * its input datasets has approved its exact spec hash and none has
 * rejected it; 0 otherwise (including an unknown job).  Each node decides
 * this from its own fold (DESIGN §4) and still re-runs the security
 * checker and its own policy before touching data.
 */
int sr_ledger_job_runnable(const struct sr_ledger *ledger,
			   const uint8_t job_id[SR_EVENT_ID_BYTES]);

/* 1 if org_id owns one of the job's inputs or receives its output. */
int sr_ledger_job_participant(const struct sr_ledger_job *job,
			      const char *org_id);

/* "invited", "active", "left"; "proposed", ..., "rejected". */
const char *sr_ledger_member_status_name(enum sr_member_status status);
const char *sr_ledger_job_state_name(enum sr_job_state state);

/*
 * The state as JSON (for `project show`, `job list` and tests): project,
 * name, creator, seq (next), head, members, datasets, jobs.  Public keys,
 * hashes and ids in hex.  *out is a new reference.  SR_ENOMEM.
 */
int sr_ledger_to_json(const struct sr_ledger *ledger, json_t **out,
		      struct sr_err *err) SR_WUR;

/* A summary as JSON: events, head, counts per type name, members, datasets,
 * jobs per state.  *out is a new reference.  SR_ENOMEM. */
int sr_ledger_summary_to_json(const struct sr_ledger_summary *summary,
			      json_t **out, struct sr_err *err) SR_WUR;

/* The published policy of d, parsed and bound to its published schema
 * (pol initialized by the caller; released by the caller). */
struct sr_policy;
int sr_ledger_dataset_policy(const struct sr_ledger_dataset *d,
			     struct sr_policy *pol, struct sr_err *err) SR_WUR;

/*
 * Run the security checker on spec against the policies of the published
 * (not withdrawn) datasets it names, bound to their published schemas; now
 * is unix seconds (expiry).  *verdict_json gets sr_verdict_to_json's form
 * and *accept whether it accepts.  SR_EINVAL for a malformed spec (the
 * message names the key).
 */
int sr_ledger_check_job(const struct sr_ledger *ledger, const json_t *spec,
			int64_t now, json_t **verdict_json, int *accept,
			struct sr_err *err) SR_WUR;

/* A fresh random project id: "prj_" and 32 lowercase hex digits. */
#define SR_PROJECT_ID_GEN_LEN 36
void sr_ledger_project_id_generate(char out[SR_PROJECT_ID_GEN_LEN + 1]);

#endif
