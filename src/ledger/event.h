/*
 * event.h - ledger events (DESIGN §4, docs/ledger.md): one signed entry of
 * a project's append-only log.
 *
 * An event has a project id, a sequence number, the id of the event before
 * it (prev; all zeros for seq 0), a type, an author (org id), a time (unix
 * seconds, asserted by the author) and a body (a JSON object whose schema
 * depends on the type).  Its canonical bytes are
 *
 *   sr_json_canonical({"author", "body", "prev" (hex), "project", "seq",
 *                      "time", "type"})
 *
 * (keys sorted, compact, integers/strings/booleans/null only: a real number
 * anywhere is refused), its id is sr_hash(SR_EVENT_ID_DOMAIN, canonical
 * bytes) and the author signs the 32-byte id with its Ed25519 key.  On the
 * wire an event is
 *
 *   {"event": {...the seven fields...}, "id": hex, "sig": hex}
 *
 * This module is stateless: it builds, signs, encodes and parses events and
 * checks each body against its type's schema.  Whether an event may extend
 * a given chain (seq, prev, membership, signature key, rights) is decided
 * by struct sr_ledger (ledger.h).
 *
 * Ownership: a struct sr_event owns its project string (sr_malloc) and one
 * reference to its body; sr_event_release frees both.  Nothing is borrowed.
 */
#ifndef SR_EVENT_H
#define SR_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"

#define SR_EVENT_ID_BYTES SR_HASH_BYTES
#define SR_EVENT_ID_HEX_LEN (2 * SR_EVENT_ID_BYTES)
#define SR_EVENT_SIG_BYTES SR_SIGN_BYTES

/* Domain tag of event ids: id = sr_hash(SR_EVENT_ID_DOMAIN, canonical). */
#define SR_EVENT_ID_DOMAIN "sealroom.event.v1"
/* Domain tag of job spec hashes: sr_hash(SR_JOB_SPEC_DOMAIN, canonical spec). */
#define SR_JOB_SPEC_DOMAIN "sealroom.jobspec.v1"

/* Values never change (they may be stored); the list only grows. */
enum sr_event_type {
	SR_EVENT_NONE = 0,
	SR_EVENT_PROJECT_CREATE = 1,
	SR_EVENT_MEMBER_INVITE = 2,
	SR_EVENT_MEMBER_JOIN = 3,
	SR_EVENT_MEMBER_LEAVE = 4,
	SR_EVENT_DATASET_PUBLISH = 5,
	SR_EVENT_DATASET_WITHDRAW = 6,
	SR_EVENT_JOB_PROPOSE = 7,
	SR_EVENT_JOB_APPROVE = 8,
	SR_EVENT_JOB_REJECT = 9,
	SR_EVENT_JOB_CANCEL = 10,
	SR_EVENT_JOB_START = 11,
	SR_EVENT_JOB_FINISH = 12,
	SR_EVENT_JOB_FAIL = 13,
	SR_EVENT_TYPE_COUNT = 14,   /* one past the last type */
};

struct sr_event {
	char *project;                        /* project id, owned */
	uint64_t seq;                         /* 0 for project.create */
	uint8_t prev[SR_EVENT_ID_BYTES];      /* id of event seq-1; zeros at 0 */
	enum sr_event_type type;
	char author[SR_ORG_ID_LEN + 1];       /* org id */
	int64_t time;                         /* unix seconds */
	json_t *body;                         /* object, one owned reference */
	uint8_t id[SR_EVENT_ID_BYTES];
	uint8_t sig[SR_EVENT_SIG_BYTES];
};

/* Zero the struct; no allocation. */
void sr_event_init(struct sr_event *ev);
/* Free the project string and drop the body; the struct is left as after
 * sr_event_init.  Safe after init and after a failed parse or create. */
void sr_event_release(struct sr_event *ev);

/* "project.create", ..., or NULL for a value outside the enum. */
const char *sr_event_type_name(enum sr_event_type type);
/* Parse a type name; SR_EINVAL (no message) if unknown. */
int sr_event_type_parse(const char *name, enum sr_event_type *out) SR_WUR;

/*
 * Check body against the schema of type (docs/ledger.md lists each one):
 * an object with exactly the allowed keys, each of the right JSON type and
 * form (org ids, lowercase hex of the right length, names, bounded text
 * without control characters), no real numbers or NUL characters anywhere,
 * nesting within SR_EVENT_BODY_DEPTH_MAX, every string valid UTF-8, and for
 * dataset.publish a policy that is the normalized form of a valid policy
 * bound to the published schema.  Stateless: whether a named job, dataset or
 * member exists is the ledger's business.  path prefixes messages (e.g.
 * "event.body" gives "event.body.org_id: expected an organization id ...").
 * SR_EINVAL or SR_ELIMIT with a message naming the key; SR_ENOMEM.
 */
int sr_event_check_body(enum sr_event_type type, const json_t *body,
			const char *path, struct sr_err *err) SR_WUR;

/*
 * Append the canonical bytes of ev (everything but id and sig) to out.
 * SR_EINVAL if a field cannot be encoded (seq above INT64_MAX, a real
 * number in the body), SR_ENOMEM, or SR_ELIMIT from out's cap.
 */
int sr_event_canonical(const struct sr_event *ev, struct sr_buf *out,
		       struct sr_err *err) SR_WUR;

/* id = sr_hash(SR_EVENT_ID_DOMAIN, canonical bytes of ev).  Errors as
 * sr_event_canonical. */
int sr_event_compute_id(const struct sr_event *ev,
			uint8_t id[SR_EVENT_ID_BYTES], struct sr_err *err) SR_WUR;

/*
 * Build and sign an event: fill ev (which must be initialized; anything in
 * it is released first) with the fields given, check them as
 * sr_event_from_json would (project id form, time range, type, body
 * schema), compute the id and sign it with author's secret key.  prev may
 * be NULL for all zeros.  ev takes its own reference to body: the caller
 * keeps its reference and must not modify body afterwards.  On failure ev
 * is left released.  SR_EINVAL naming the field, SR_ELIMIT, SR_ENOMEM.
 */
int sr_event_create(struct sr_event *ev, const struct sr_identity *author,
		    const char *project, uint64_t seq,
		    const uint8_t prev[SR_EVENT_ID_BYTES],
		    enum sr_event_type type, int64_t time, json_t *body,
		    struct sr_err *err) SR_WUR;

/* Wire form of ev as a new JSON object in *out.  SR_ENOMEM. */
int sr_event_to_json(const struct sr_event *ev, json_t **out,
		     struct sr_err *err) SR_WUR;

/* Wire form of ev as compact canonical JSON text appended to out.
 * SR_ENOMEM or SR_ELIMIT from out's cap. */
int sr_event_encode(const struct sr_event *ev, struct sr_buf *out,
		    struct sr_err *err) SR_WUR;

/*
 * Parse the wire form with full validation: exactly the keys "event", "id",
 * "sig" and the seven event fields, each of the right type and form, a
 * known type, a body that passes sr_event_check_body, and an id that equals
 * the id recomputed from the fields.  The signature is NOT verified here:
 * that needs the author's key, which the ledger knows (sr_ledger_apply, or
 * sr_event_verify_signature).  ev must be initialized; on failure it is
 * left released.  Errors name the field ("event.seq: expected an integer
 * from 0", "id: does not match the event's contents"): SR_EINVAL for
 * malformed input, SR_ELIMIT past SR_EVENT_BYTES_MAX or a limit in
 * limits.h, SR_ECORRUPT for an id mismatch, SR_ENOMEM.
 */
int sr_event_parse(const char *text, size_t len, struct sr_event *ev,
		   struct sr_err *err) SR_WUR;
/* The same on an already parsed document (borrowed; ev takes its own
 * reference to the body). */
int sr_event_from_json(const json_t *wire, struct sr_event *ev,
		       struct sr_err *err) SR_WUR;

/* Verify ev->sig over ev->id with sign_pk.  SR_OK or SR_ECRYPTO with a
 * message naming the author. */
int sr_event_verify_signature(const struct sr_event *ev,
			      const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES],
			      struct sr_err *err) SR_WUR;

/*
 * Hash of a job spec: sr_hash(SR_JOB_SPEC_DOMAIN, sr_json_canonical(spec)).
 * job.approve and job.reject carry it, so an approval names the exact spec
 * it approves.  SR_EINVAL (a real number in spec), SR_ENOMEM.
 */
int sr_event_spec_hash(const json_t *spec, uint8_t out[SR_HASH_BYTES],
		       struct sr_err *err) SR_WUR;

#endif
