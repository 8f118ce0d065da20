/*
 * coord.h - the coordinator's core (DESIGN §2, §4): it keeps every project's
 * signed event log in SQLite and appends an event only if it extends the
 * head, its signature verifies and its author may emit it — the same
 * sr_ledger_apply every node runs, so the coordinator holds no power the
 * nodes do not check again.  It never holds a data key or row data.
 *
 * At open, every stored project is replayed through sr_ledger_apply: a
 * database edited behind the coordinator's back is refused, naming the
 * project and event.
 *
 * Thread-safe (the HTTP layer serves requests from a pool): the ledgers
 * and the database are under one mutex, held briefly; the job mailboxes
 * (coord/mailstore.h: spool files, a lock per job) are not under it, so
 * no mailbox wait or payload copy holds up anything else.
 */
#ifndef SR_COORD_H
#define SR_COORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/identity.h"
#include "ledger/event.h"
#include "net/http.h"

struct sr_coord;

/*
 * Deliberate misbehaviour, for the tests that show nodes catch a faulty
 * coordinator (`sealroom coordinator --fault`, docs/threat-model.md).  The
 * stored log stays correct; only what is served is wrong.
 */
enum sr_fault_kind {
	SR_FAULT_NONE = 0,
	SR_FAULT_DROP = 1,         /* leave event seq out of what is served */
	SR_FAULT_ALTER = 2,        /* serve event seq with a changed time (id no longer matches) */
	SR_FAULT_FORGE = 3,        /* the same with a recomputed id (the signature no longer verifies) */
	SR_FAULT_REORDER = 4,      /* serve events seq and seq+1 swapped */
	SR_FAULT_REPLAY_MAIL = 5,  /* serve a mailbox message again under the next seq */
	SR_FAULT_DROP_MAIL = 6,    /* deliver only the first message of each mailbox */
	SR_FAULT_SLOW_APPEND = 7,  /* answer every event post after seq milliseconds (a slow coordinator) */
};
struct sr_coord_fault {
	enum sr_fault_kind kind;
	uint64_t seq;
};
int sr_coord_fault_parse(const char *spec, struct sr_coord_fault *out,
			 struct sr_err *err) SR_WUR;
void sr_coord_set_fault(struct sr_coord *coord, const struct sr_coord_fault *fault);
void sr_coord_get_fault(struct sr_coord *coord, struct sr_coord_fault *fault);

/* Settings of `sealroom coordinator` (limits.h, "Coordinator mailboxes"). */
struct sr_coord_opts {
	uint64_t mail_job_bytes;     /* bytes a job's mailboxes hold at a time */
	uint64_t mail_job_msgs;      /* messages a job's mailboxes hold at a time */
	int64_t mail_retention_s;    /* seconds a message waits to be fetched */
	int mail_room_wait_ms;       /* how long a post to full mailboxes waits
				      * for a fetch to make room (0..SR_MAILBOX_WAIT_MS) */
	/* Quotas per organization and the disk floor (limits.h, "Quotas"). */
	uint64_t org_mail_bytes;     /* bytes it has in mailboxes at a time */
	uint64_t org_open_jobs;      /* its proposals not yet ended */
	uint64_t org_projects;       /* projects it ever created */
	uint64_t org_events_per_min; /* events it appends in one minute */
	uint64_t disk_floor_bytes;   /* free bytes below which mail is refused (0: none) */
};

/* The defaults (limits.h). */
void sr_coord_opts_init(struct sr_coord_opts *opts);

/*
 * Open (or create) DIR/coord.db and replay every project; the job
 * mailboxes spool under DIR/mail, emptied first (a job cannot resume
 * after a restart).  opts NULL: the defaults; a value out of its range
 * (1 to its limits.h maximum) is SR_EINVAL naming it.
 */
int sr_coord_open_opts(const char *dir, const struct sr_coord_opts *opts,
		       struct sr_coord **out, struct sr_err *err) SR_WUR;
/* sr_coord_open_opts with the defaults. */
int sr_coord_open(const char *dir, struct sr_coord **out,
		  struct sr_err *err) SR_WUR;
void sr_coord_free(struct sr_coord *coord);

/* End every wait in progress (head long-polls, mailbox fetches, posts
 * waiting for room) and make later ones return at once: call before
 * stopping the HTTP server, which waits for the requests it serves. */
void sr_coord_stop_waits(struct sr_coord *coord);

/*
 * Append one event given in wire form.  On success *seq and id (hex,
 * optional) describe it.  An event that does not extend the head fails
 * with SR_EPROTO (a duplicate with SR_EEXIST); head_hex (65 bytes,
 * optional) and *next_seq then tell the caller where the chain is, so it
 * can fetch, re-fold and retry.  Other refusals: the codes of
 * sr_ledger_apply and sr_event_parse, also with the head when the project
 * exists and the author is a member or invitee of it (a stranger learns
 * no head).  The author's quotas (opts): SR_ERATE past its events per
 * minute, SR_ELIMIT past its projects created or open jobs.  Nothing is stored on failure.
 */
int sr_coord_append(struct sr_coord *coord, const char *wire, size_t len,
		    uint64_t *seq, char id_hex[SR_EVENT_ID_HEX_LEN + 1],
		    char head_hex[SR_EVENT_ID_HEX_LEN + 1], uint64_t *next_seq,
		    struct sr_err *err) SR_WUR;

/* Events of project from seq from, at most max, as a JSON array of wire
 * events (new reference).  SR_ENOTFOUND for an unknown project. */
int sr_coord_events(struct sr_coord *coord, const char *project,
		    uint64_t from, size_t max, json_t **out,
		    struct sr_err *err) SR_WUR;

/* The head of project: next seq and head id (hex). */
int sr_coord_head(struct sr_coord *coord, const char *project,
		  uint64_t *next_seq, char head_hex[SR_EVENT_ID_HEX_LEN + 1],
		  struct sr_err *err) SR_WUR;

/*
 * The head long-poll: known maps project ids to what the caller has,
 * {"next_seq": N, "head": HEX}.  Waits up to wait_ms until the head of
 * any of them differs from it (an event appended, or a coordinator that
 * shows another chain), then answers *out = {"changed": bool, "heads":
 * {P: {"next_seq", "head"}}} with every project's head now; a project
 * the caller may not read, or that does not exist, gets {"error": ...}
 * and counts as changed.  SR_EINVAL for a malformed known, SR_ELIMIT
 * past SR_HEADS_PROJECTS_MAX.  The wait holds no lock.
 */
int sr_coord_heads_wait(struct sr_coord *coord, const char *caller,
			const json_t *known, int wait_ms, json_t **out,
			struct sr_err *err) SR_WUR;

/* The coordinator's security-checker verdict on job job_hex, computed when
 * the proposal was appended (SR_ENOTFOUND if none). */
int sr_coord_verdict(struct sr_coord *coord, const char *project,
		     const char *job_hex, json_t **out, struct sr_err *err) SR_WUR;

/* Register (or rename) an organization.  org_id must derive from sign_pk
 * (SR_EPERM otherwise). */
int sr_coord_register(struct sr_coord *coord, const char *org_id,
		      const char *name,
		      const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES],
		      const uint8_t kx_pk[SR_BOX_PUBLICKEYBYTES],
		      struct sr_err *err) SR_WUR;

/* A registered organization: its public record as JSON in *out and/or its
 * signing key (either may be NULL).  SR_ENOTFOUND if not registered. */
int sr_coord_org(struct sr_coord *coord, const char *org_id, json_t **out,
		 uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES], struct sr_err *err) SR_WUR;

/* Projects org_id is invited to and has not joined, as a JSON array. */
int sr_coord_invitations(struct sr_coord *coord, const char *org_id,
			 json_t **out, struct sr_err *err) SR_WUR;

/* SR_OK if org_id may read project (invited, member or former member);
 * SR_ENOTFOUND / SR_EPERM otherwise. */
int sr_coord_can_read(struct sr_coord *coord, const char *project,
		      const char *org_id, struct sr_err *err) SR_WUR;

/*
 * Mailboxes of a job: from and to must both be participants of the job
 * (owners of an input or receivers), per the coordinator's fold, and the
 * job approved or running.  A seq already deposited (or already fetched)
 * is SR_EEXIST; full mailboxes, after waiting mail_room_wait_ms for room,
 * SR_ELIMIT.
 */
int sr_coord_mail_post(struct sr_coord *coord, const char *project,
		       const char *job_hex, const char *from, const char *to,
		       uint64_t seq, const uint8_t *data, size_t len,
		       struct sr_err *err) SR_WUR;
/* sr_coord_mail_post waiting wait_ms for room instead (0: not at all;
 * the HTTP API parks the request instead of waiting). */
int sr_coord_mail_post_wait(struct sr_coord *coord, const char *project,
			    const char *job_hex, const char *from, const char *to,
			    uint64_t seq, const uint8_t *data, size_t len,
			    int wait_ms, struct sr_err *err) SR_WUR;
/* The configured wait for room (sr_coord_opts.mail_room_wait_ms). */
int sr_coord_mail_room_wait_ms(const struct sr_coord *coord);

/*
 * What the HTTP API's parked requests (sr_http_defer) wait on: the head
 * long-polls on SR_COORD_WAKE_HEADS (any append), the mailbox fetches and
 * posts of a job on sr_coord_mail_wake_key of its id (a message deposited
 * or removed).  sr_coord_attach_server names the server woken then
 * (NULL: none); call it right after starting the server.
 */
#define SR_COORD_WAKE_HEADS 0
uint64_t sr_coord_mail_wake_key(const char *job_hex);
void sr_coord_attach_server(struct sr_coord *coord, struct sr_http_server *server);

/*
 * The messages of one fetch (opaque): what sr_coord_mail_fetch found,
 * ready to be served as the binary answer of net/mailwire.h.  Freed with
 * sr_coord_mailbatch_free; valid after the coordinator moves on (the
 * stored messages may be deleted meanwhile).
 */
struct sr_coord_mailbatch;

/*
 * Messages from -> to with seq >= next, oldest first: at most
 * SR_MAILBOX_FETCH_MSGS_MAX, and past the first no more than
 * SR_MAILBOX_FETCH_BYTES_MAX bytes; waits up to wait_ms for the first.
 * Deletes those with seq < next (the caller has them).  The deliberate
 * faults of --fault (replay-mail, drop-mail) apply to what is returned.
 * An empty batch when nothing came.  Reading is allowed after the job
 * ended, so that a participant can drain what was sent before.
 */
int sr_coord_mail_fetch(struct sr_coord *coord, const char *project,
			const char *job_hex, const char *from, const char *to,
			uint64_t next, int wait_ms,
			struct sr_coord_mailbatch **out, struct sr_err *err) SR_WUR;

/* Delete the messages older than the retention at time now, as the
 * coordinator's timer does every few seconds (tests pick the time).
 * Returns how many went. */
size_t sr_coord_mail_expire(struct sr_coord *coord, int64_t now);

/* Messages and bytes the mailboxes of every job hold now. */
void sr_coord_mail_usage(struct sr_coord *coord, uint64_t *msgs, uint64_t *bytes);
/* Bytes org_id has deposited that are not yet fetched, over all jobs
 * (counted against its quota, opts.org_mail_bytes). */
uint64_t sr_coord_mail_usage_org(struct sr_coord *coord, const char *org_id);

/* Number of messages, their seqs and sizes. */
size_t sr_coord_mailbatch_count(const struct sr_coord_mailbatch *b);
uint64_t sr_coord_mailbatch_seq(const struct sr_coord_mailbatch *b, size_t i);
size_t sr_coord_mailbatch_len(const struct sr_coord_mailbatch *b, size_t i);
/* Size of the binary answer, and up to max of its bytes from pos (the
 * reader of sr_http_answer_stream): > 0, or -1 on a read error. */
uint64_t sr_coord_mailbatch_size(const struct sr_coord_mailbatch *b);
long sr_coord_mailbatch_read(void *b, uint64_t pos, char *buf, size_t max);
/* NULL does nothing; takes void * to be sr_http_answer_stream's free. */
void sr_coord_mailbatch_free(void *b);

/*
 * The coordinator's HTTP API (docs/api.md), for sr_http_server_start with
 * ctx = the coordinator:
 * every endpoint of docs/api.md "Coordinator API", with signed requests
 * (net/reqsig.h) checked against the registered keys.
 */
int sr_coord_http(void *ctx, const struct sr_http_request *req,
		  struct sr_http_response *resp);

#endif
