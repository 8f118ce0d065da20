/*
 * event.c - building, signing, encoding and parsing ledger events (see
 * event.h and docs/ledger.md).
 *
 * The id is computed from the parsed fields, never from the received
 * text: a parser rebuilds the canonical object from what it understood and
 * hashes that, so two encodings of the same event (white space, key order,
 * escapes) have the same id, and nothing the parser ignored can hide in the
 * signed bytes.  The signature covers the 32-byte id; the id is itself a
 * domain-tagged hash, and every other signature in sealroom is over a
 * message that starts with a text label, so an event signature cannot be
 * replayed as anything else.
 */
#include "ledger/event.h"

#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/limits.h"
#include "ledger/ledger_int.h"
#include "base/banned.h"

_Static_assert(SR_EVENT_ID_BYTES == 32 && SR_EVENT_SIG_BYTES == 64,
	       "event ids are BLAKE2b-256, signatures Ed25519");

static const char *const type_names[SR_EVENT_TYPE_COUNT] = {
	[SR_EVENT_NONE] = NULL,
	[SR_EVENT_PROJECT_CREATE] = "project.create",
	[SR_EVENT_MEMBER_INVITE] = "member.invite",
	[SR_EVENT_MEMBER_JOIN] = "member.join",
	[SR_EVENT_MEMBER_LEAVE] = "member.leave",
	[SR_EVENT_DATASET_PUBLISH] = "dataset.publish",
	[SR_EVENT_DATASET_WITHDRAW] = "dataset.withdraw",
	[SR_EVENT_JOB_PROPOSE] = "job.propose",
	[SR_EVENT_JOB_APPROVE] = "job.approve",
	[SR_EVENT_JOB_REJECT] = "job.reject",
	[SR_EVENT_JOB_CANCEL] = "job.cancel",
	[SR_EVENT_JOB_START] = "job.start",
	[SR_EVENT_JOB_FINISH] = "job.finish",
	[SR_EVENT_JOB_FAIL] = "job.fail",
};

void sr_event_init(struct sr_event *ev)
{
	memset(ev, 0, sizeof(*ev));
}

void sr_event_release(struct sr_event *ev)
{
	sr_free(ev->project);
	json_decref(ev->body);
	sr_event_init(ev);
}

const char *sr_event_type_name(enum sr_event_type type)
{
	if ((int)type <= SR_EVENT_NONE || (int)type >= SR_EVENT_TYPE_COUNT)
		return NULL;
	return type_names[type];
}

int sr_event_type_parse(const char *name, enum sr_event_type *out)
{
	for (int t = SR_EVENT_NONE + 1; t < SR_EVENT_TYPE_COUNT; t++)
		if (strcmp(name, type_names[t]) == 0) {
			*out = (enum sr_event_type)t;
			return SR_OK;
		}
	return SR_EINVAL;
}

struct sink {
	struct sr_buf *buf;
	int rc;
};

static int sink_write(const char *data, size_t len, void *ctx)
{
	struct sink *sink = ctx;

	if (sink->rc == SR_OK)
		sink->rc = sr_buf_add(sink->buf, data, len);
	return sink->rc == SR_OK ? 0 : -1;
}

static int has_real(const json_t *value)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_real(value))
		return 1;
	if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, child)
			if (has_real(child))
				return 1;
	} else if (json_is_array(value)) {
		json_array_foreach(value, i, child)
			if (has_real(child))
				return 1;
	}
	return 0;
}

int sr_ledger_canonical(const json_t *value, struct sr_buf *out,
			struct sr_err *err)
{
	struct sink sink = { out, SR_OK };
	size_t start = out->len;
	int rc;

	if (has_real(value))
		return sr_fail(err, SR_EINVAL,
			       "canonical json: real numbers are not allowed; use integers or strings");
	/* The same flags as sr_json_canonical: the same bytes. */
	rc = json_dump_callback(value, sink_write, &sink,
				JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_COMPACT);
	if (rc == 0 && sink.rc == SR_OK)
		return SR_OK;
	rc = sink.rc ? sink.rc : SR_ENOMEM;
	if (out->cap)
		sr_buf_setlen(out, start);
	return sr_fail(err, rc, "canonical json: %s", sr_strerror(rc));
}

/* The seven signed fields as a JSON object (a new reference) or NULL. */
static json_t *fields_json(const struct sr_event *ev)
{
	char prev_hex[SR_EVENT_ID_HEX_LEN + 1];
	const char *type = sr_event_type_name(ev->type);

	if (!type || !ev->project || !ev->body || ev->seq > INT64_MAX)
		return NULL;
	sr_hex(prev_hex, ev->prev, sizeof(ev->prev));
	return json_pack("{s:s,s:O,s:s,s:s,s:I,s:I,s:s}",
			 "author", ev->author, "body", ev->body,
			 "prev", prev_hex, "project", ev->project,
			 "seq", (json_int_t)ev->seq, "time", (json_int_t)ev->time,
			 "type", type);
}

int sr_event_canonical(const struct sr_event *ev, struct sr_buf *out,
		       struct sr_err *err)
{
	json_t *fields;
	int rc;

	if (!sr_event_type_name(ev->type) || !ev->project || !ev->body ||
	    ev->seq > INT64_MAX)
		return sr_fail(err, SR_EINVAL,
			       "event: cannot encode (unknown type, no project or body, or seq above 2^63-1)");
	fields = fields_json(ev);
	if (!fields)
		return sr_fail(err, SR_ENOMEM, "event: out of memory");
	rc = sr_ledger_canonical(fields, out, err);
	json_decref(fields);
	return rc;
}

int sr_event_compute_id(const struct sr_event *ev,
			uint8_t id[SR_EVENT_ID_BYTES], struct sr_err *err)
{
	struct sr_buf canon;
	int rc;

	sr_buf_init(&canon, 0);
	rc = sr_event_canonical(ev, &canon, err);
	if (rc == SR_OK)
		sr_hash(id, SR_EVENT_ID_DOMAIN, canon.data, canon.len);
	sr_buf_release(&canon);
	return rc;
}

int sr_event_spec_hash(const json_t *spec, uint8_t out[SR_HASH_BYTES],
		       struct sr_err *err)
{
	struct sr_buf canon;
	int rc;

	sr_buf_init(&canon, 0);
	rc = sr_ledger_canonical(spec, &canon, err);
	if (rc == SR_OK)
		sr_hash(out, SR_JOB_SPEC_DOMAIN, canon.data, canon.len);
	sr_buf_release(&canon);
	return rc;
}

static int check_time(int64_t time, const char *path, struct sr_err *err)
{
	if (time < 0 || time > SR_EVENT_TIME_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: expected unix seconds from 0 to %lld",
			       path, (long long)SR_EVENT_TIME_MAX);
	return SR_OK;
}

static int bad_project(const char *path, struct sr_err *err)
{
	return sr_fail(err, SR_EINVAL,
		       "%s: expected a project id of 1 to %d characters A-Z, a-z, 0-9, '_', '-' or '.'",
		       path, SR_PROJECT_ID_MAX);
}

int sr_event_create(struct sr_event *ev, const struct sr_identity *author,
		    const char *project, uint64_t seq,
		    const uint8_t prev[SR_EVENT_ID_BYTES],
		    enum sr_event_type type, int64_t time, json_t *body,
		    struct sr_err *err)
{
	int rc;

	sr_event_release(ev);
	if (!sr_ledger_is_project_id(project))
		return bad_project("project", err);
	if (seq > INT64_MAX)
		return sr_fail(err, SR_EINVAL, "seq: above 2^63-1");
	if (!sr_event_type_name(type))
		return sr_fail(err, SR_EINVAL, "type: unknown event type %d",
			       (int)type);
	rc = check_time(time, "time", err);
	if (rc == SR_OK)
		rc = sr_event_check_body(type, body, "body", err);
	if (rc)
		return rc;
	ev->project = sr_strdup(project);
	if (!ev->project)
		return sr_fail(err, SR_ENOMEM, "event: out of memory");
	ev->seq = seq;
	if (prev)
		memcpy(ev->prev, prev, sizeof(ev->prev));
	ev->type = type;
	memcpy(ev->author, author->org_id, sizeof(ev->author));
	ev->time = time;
	ev->body = json_incref(body);
	rc = sr_event_compute_id(ev, ev->id, err);
	if (rc) {
		sr_event_release(ev);
		return rc;
	}
	sr_identity_sign(author, ev->id, sizeof(ev->id), ev->sig);
	return SR_OK;
}

int sr_event_to_json(const struct sr_event *ev, json_t **out,
		     struct sr_err *err)
{
	char id_hex[SR_EVENT_ID_HEX_LEN + 1];
	char sig_hex[2 * SR_EVENT_SIG_BYTES + 1];
	json_t *fields = fields_json(ev);

	*out = NULL;
	if (!fields)
		return sr_fail(err, sr_event_type_name(ev->type) && ev->project &&
			       ev->body && ev->seq <= INT64_MAX ? SR_ENOMEM : SR_EINVAL,
			       "event: cannot encode");
	sr_hex(id_hex, ev->id, sizeof(ev->id));
	sr_hex(sig_hex, ev->sig, sizeof(ev->sig));
	*out = json_pack("{s:o,s:s,s:s}", "event", fields, "id", id_hex,
			 "sig", sig_hex);
	if (!*out)
		return sr_fail(err, SR_ENOMEM, "event: out of memory");
	return SR_OK;
}

int sr_event_encode(const struct sr_event *ev, struct sr_buf *out,
		    struct sr_err *err)
{
	json_t *wire = NULL;
	int rc = sr_event_to_json(ev, &wire, err);

	if (rc == SR_OK)
		rc = sr_ledger_canonical(wire, out, err);
	json_decref(wire);
	return rc;
}

static int hex_value(const json_t *obj, const char *path, const char *key,
		     uint8_t *out, size_t nbytes, struct sr_err *err)
{
	const char *s = NULL;
	int rc = sr_json_get_string(obj, path, key, 1, &s, err);

	if (rc)
		return rc;
	if (!sr_ledger_is_hex(s, 2 * nbytes) || sr_unhex(out, nbytes, s) != SR_OK)
		return sr_fail(err, SR_EINVAL, "%s%s%s: expected %zu lowercase hex digits",
			       path, *path ? "." : "", key, 2 * nbytes);
	return SR_OK;
}

/* The seven fields of wire.event into ev (whose project it allocates). */
static int parse_fields(const json_t *fields, struct sr_event *ev,
			struct sr_err *err)
{
	static const char *const keys[] = { "author", "body", "prev", "project",
		"seq", "time", "type", NULL };
	const char *project = NULL, *type = NULL, *author = NULL;
	int64_t seq = 0, time = 0;
	json_t *body;
	int rc;

	if (!fields)
		return sr_fail(err, SR_EINVAL, "event: required key is missing");
	if (!json_is_object(fields))
		return sr_fail(err, SR_EINVAL, "event: expected an object");
	rc = sr_json_check_keys(fields, "event", keys, err);
	if (rc == SR_OK)
		rc = sr_json_get_string(fields, "event", "project", 1, &project, err);
	if (rc == SR_OK && !sr_ledger_is_project_id(project))
		rc = bad_project("event.project", err);
	if (rc == SR_OK)
		rc = sr_json_get_int(fields, "event", "seq", 1, &seq, err);
	if (rc == SR_OK && seq < 0)
		rc = sr_fail(err, SR_EINVAL, "event.seq: expected an integer from 0");
	if (rc == SR_OK)
		rc = hex_value(fields, "event", "prev", ev->prev, sizeof(ev->prev), err);
	if (rc == SR_OK)
		rc = sr_json_get_string(fields, "event", "type", 1, &type, err);
	if (rc == SR_OK && sr_event_type_parse(type, &ev->type) != SR_OK)
		rc = sr_fail(err, SR_EINVAL, "event.type: unknown event type '%.40s'",
			     type);
	if (rc == SR_OK)
		rc = sr_json_get_string(fields, "event", "author", 1, &author, err);
	if (rc == SR_OK && !sr_ledger_is_org_id(author))
		rc = sr_fail(err, SR_EINVAL,
			     "event.author: expected an organization id (org_ and 32 lowercase hex digits)");
	if (rc == SR_OK)
		rc = sr_json_get_int(fields, "event", "time", 1, &time, err);
	if (rc == SR_OK)
		rc = check_time(time, "event.time", err);
	if (rc)
		return rc;
	body = json_object_get(fields, "body");
	if (!body)
		return sr_fail(err, SR_EINVAL, "event.body: required key is missing");
	rc = sr_event_check_body(ev->type, body, "event.body", err);
	if (rc)
		return rc;
	ev->project = sr_strdup(project);
	if (!ev->project)
		return sr_fail(err, SR_ENOMEM, "event: out of memory");
	ev->seq = (uint64_t)seq;
	memcpy(ev->author, author, sizeof(ev->author));
	ev->time = time;
	ev->body = json_incref(body);
	return SR_OK;
}

int sr_event_from_json(const json_t *wire, struct sr_event *ev,
		       struct sr_err *err)
{
	static const char *const keys[] = { "event", "id", "sig", NULL };
	uint8_t computed[SR_EVENT_ID_BYTES];
	char hex[SR_EVENT_ID_HEX_LEN + 1];
	int rc;

	sr_event_release(ev);
	if (!json_is_object(wire))
		return sr_fail(err, SR_EINVAL,
			       "event: expected a JSON object with keys event, id and sig");
	rc = sr_json_check_keys(wire, "", keys, err);
	if (rc == SR_OK)
		rc = parse_fields(json_object_get(wire, "event"), ev, err);
	if (rc == SR_OK)
		rc = hex_value(wire, "", "id", ev->id, sizeof(ev->id), err);
	if (rc == SR_OK)
		rc = hex_value(wire, "", "sig", ev->sig, sizeof(ev->sig), err);
	if (rc == SR_OK)
		rc = sr_event_compute_id(ev, computed, err);
	if (rc == SR_OK && sodium_memcmp(computed, ev->id, sizeof(computed)) != 0) {
		sr_hex(hex, computed, sizeof(computed));
		rc = sr_fail(err, SR_ECORRUPT,
			     "id: does not match the event's contents (they hash to %s)",
			     hex);
	}
	if (rc)
		sr_event_release(ev);
	return rc;
}

int sr_event_parse(const char *text, size_t len, struct sr_event *ev,
		   struct sr_err *err)
{
	json_t *doc = NULL;
	int rc;

	sr_event_release(ev);
	if (len > SR_EVENT_BYTES_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "event: %zu bytes is above the limit of %u bytes",
			       len, SR_EVENT_BYTES_MAX);
	rc = sr_json_parse(text, len, "event", &doc, err);
	if (rc == SR_OK)
		rc = sr_event_from_json(doc, ev, err);
	json_decref(doc);
	return rc;
}

int sr_event_verify_signature(const struct sr_event *ev,
			      const uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES],
			      struct sr_err *err)
{
	if (sr_sign_verify(sign_pk, ev->id, sizeof(ev->id), ev->sig) != SR_OK)
		return sr_fail(err, SR_ECRYPTO,
			       "signature does not verify for author %s",
			       ev->author);
	return SR_OK;
}
