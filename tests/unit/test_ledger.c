/*
 * test_ledger.c - the signed project ledger: events (create, encode,
 * parse, every malformed field named), real chains among three generated
 * organizations (bank, shop, insurer) folded into project state, the
 * consensus-approval rule, and every attack a coordinator or a member
 * might try: dropped, reordered, altered, re-hashed and forged events,
 * events by non-members, uninvited joins, approvals by non-owners or of a
 * different spec, double votes, events after a job ended, forks.  Every
 * refusal must leave the ledger unchanged, also under allocation failure.
 *
 * With SR_LEDGER_WRITE_CORPUS=DIR set, the happy-path events are written
 * to DIR as wire JSON (the seed corpus of tests/fuzz/fuzz_event.c).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "policy/policy.h"

#define PROJECT "prj_0123456789abcdef0123456789abcdef"
#define T0 1700000000
#define MAX_EVENTS 64

static struct sr_identity bank, shop, insurer, outsider;

struct world {
	struct sr_ledger ledger;
	struct sr_event ev[MAX_EVENTS];   /* the applied chain */
	size_t n;
	json_t *spec;                     /* the main job's spec */
	uint8_t job[SR_EVENT_ID_BYTES];   /* the main job's id */
};

/* ---- helpers ------------------------------------------------------------ */

static json_t *jfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *jfmt(const char *fmt, ...)
{
	static char text[1 << 16];
	json_error_t jerr;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	assert_true(vsnprintf(text, sizeof(text), fmt, ap) < (int)sizeof(text));
	va_end(ap);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
	return j;
}

static char *hex_of(const uint8_t *data, size_t len)
{
	char *hex = malloc(2 * len + 1);

	assert_non_null(hex);
	sr_hex(hex, data, len);
	return hex;
}

/* The state as canonical JSON text (malloc). */
static char *state_text(const struct sr_ledger *ledger)
{
	struct sr_buf buf;
	json_t *j = NULL;
	char *text;

	sr_buf_init(&buf, 0);
	assert_int_equal(sr_ledger_to_json(ledger, &j, NULL), SR_OK);
	assert_int_equal(sr_json_canonical(j, &buf, NULL), SR_OK);
	json_decref(j);
	text = strdup(buf.data);
	sr_buf_release(&buf);
	assert_non_null(text);
	return text;
}

/* Wire text of an event (malloc). */
static char *wire_of(const struct sr_event *ev)
{
	struct sr_buf buf;
	char *text;

	sr_buf_init(&buf, 0);
	assert_int_equal(sr_event_encode(ev, &buf, NULL), SR_OK);
	text = strdup(buf.data);
	sr_buf_release(&buf);
	assert_non_null(text);
	return text;
}

static void expect(int rc, const struct sr_err *err, int code, const char *part)
{
	if (rc != code)
		fail_msg("expected status %d, got %d: %s", code, rc, err->msg);
	if (part && !strstr(err->msg, part))
		fail_msg("message '%s' does not contain '%s'", err->msg, part);
}

/* A new event by who extending the world's ledger (not applied).  body is
 * consumed. */
static void make(struct world *w, struct sr_event *ev, const struct sr_identity *who,
		 enum sr_event_type type, json_t *body)
{
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	sr_event_init(ev);
	rc = sr_event_create(ev, who, PROJECT, w->ledger.next_seq, w->ledger.head,
			     type, T0 + (int64_t)w->ledger.next_seq, body, &err);
	json_decref(body);
	expect(rc, &err, SR_OK, NULL);
}

/* Make and apply; on success the event joins w->ev.  body is consumed. */
static int emit_rc(struct world *w, const struct sr_identity *who,
		   enum sr_event_type type, json_t *body, struct sr_err *err)
{
	struct sr_event *ev = &w->ev[w->n];
	int rc;

	assert_true(w->n < MAX_EVENTS);
	make(w, ev, who, type, body);
	sr_err_clear(err);
	rc = sr_ledger_apply(&w->ledger, ev, err);
	if (rc == SR_OK)
		w->n++;
	else
		sr_event_release(ev);
	return rc;
}

static void emit(struct world *w, const struct sr_identity *who,
		 enum sr_event_type type, json_t *body)
{
	struct sr_err err;

	expect(emit_rc(w, who, type, body, &err), &err, SR_OK, NULL);
}

/* Apply an event that must be refused with code and a message containing
 * part, and must leave the state unchanged. */
static void refuse_event(struct world *w, const struct sr_event *ev, int code,
			 const char *part)
{
	char *before = state_text(&w->ledger), *after;
	struct sr_err err;

	sr_err_clear(&err);
	expect(sr_ledger_apply(&w->ledger, ev, &err), &err, code, part);
	after = state_text(&w->ledger);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* Make an event by who and check that it is refused.  body is consumed. */
static void refuse(struct world *w, const struct sr_identity *who,
		   enum sr_event_type type, json_t *body, int code,
		   const char *part)
{
	struct sr_event ev;

	make(w, &ev, who, type, body);
	refuse_event(w, &ev, code, part);
	sr_event_release(&ev);
}

/* Fill ev with the given fields, compute its id and sign it with signer,
 * whoever the author claims to be. */
static void forge(struct sr_event *ev, uint64_t seq, const uint8_t *prev,
		  enum sr_event_type type, const char *author, json_t *body,
		  const struct sr_identity *signer)
{
	sr_event_init(ev);
	ev->project = sr_strdup(PROJECT);
	assert_non_null(ev->project);
	ev->seq = seq;
	memcpy(ev->prev, prev, SR_EVENT_ID_BYTES);
	ev->type = type;
	memcpy(ev->author, author, SR_ORG_ID_LEN + 1);
	ev->time = T0;
	ev->body = body;
	assert_int_equal(sr_event_compute_id(ev, ev->id, NULL), SR_OK);
	sr_identity_sign(signer, ev->id, sizeof(ev->id), ev->sig);
}

/* ---- bodies ------------------------------------------------------------- */

static json_t *keys_body(const struct sr_identity *id, const char *name)
{
	char sign[65], kx[65];

	sr_hex(sign, id->sign_pk, sizeof(id->sign_pk));
	sr_hex(kx, id->kx_pk, sizeof(id->kx_pk));
	return jfmt("{\"name\": \"%s\", \"sign_pk\": \"%s\", \"kx_pk\": \"%s\"}",
		    name, sign, kx);
}

static json_t *create_body(const struct sr_identity *creator, const char *name)
{
	json_t *c = keys_body(creator, name);

	assert_int_equal(json_object_set_new(c, "org_id",
					     json_string(creator->org_id)), 0);
	return json_pack("{s:s,s:o}", "name", "fraud study", "creator", c);
}

static json_t *invite_body(const struct sr_identity *who)
{
	return jfmt("{\"org_id\": \"%s\"}", who->org_id);
}

/* Columns of the test datasets. */
struct column {
	const char *name;
	enum sr_type type;
	const char *cls;
};

static json_t *publish_body_with(const char *dataset, const struct column *cols,
				 size_t n, const char *policy_text, int64_t rows)
{
	const char *names[8];
	enum sr_type types[8];
	uint8_t version[SR_HASH_BYTES];
	struct sr_policy pol;
	struct sr_err err;
	json_t *schema = json_array(), *policy = NULL;
	char *version_hex;
	json_t *body;

	sr_err_clear(&err);
	for (size_t i = 0; i < n; i++) {
		names[i] = cols[i].name;
		types[i] = cols[i].type;
		assert_int_equal(json_array_append_new(schema,
			json_pack("{s:s,s:s,s:s}", "name", cols[i].name,
				  "type", sr_type_name(cols[i].type),
				  "class", cols[i].cls)), 0);
	}
	sr_policy_init(&pol);
	expect(sr_policy_parse(policy_text, strlen(policy_text), "p", &pol, &err),
	       &err, SR_OK, NULL);
	expect(sr_policy_bind(&pol, names, types, n, &err), &err, SR_OK, NULL);
	expect(sr_policy_to_json(&pol, &policy, &err), &err, SR_OK, NULL);
	sr_policy_release(&pol);
	sr_hash(version, "test.version", dataset, strlen(dataset));
	version_hex = hex_of(version, sizeof(version));
	body = json_pack("{s:s,s:s,s:I,s:o,s:o}", "dataset", dataset,
			 "version_id", version_hex, "rows", (json_int_t)rows,
			 "schema", schema, "policy", policy);
	free(version_hex);
	assert_non_null(body);
	return body;
}

static json_t *publish_body(const char *dataset)
{
	static const struct column customers[] = {
		{ "customer_id", SR_TYPE_STRING, "id" },
		{ "email", SR_TYPE_STRING, "id" },
		{ "balance", SR_TYPE_FLOAT64, "sa" },
	};
	static const struct column members[] = {
		{ "email", SR_TYPE_STRING, "id" },
		{ "spend", SR_TYPE_FLOAT64, "sa" },
	};
	static const struct column policies[] = {
		{ "email", SR_TYPE_STRING, "id" },
		{ "premium", SR_TYPE_INT64, "sa" },
	};
	char text[1024];

	if (strcmp(dataset, "customers") == 0) {
		snprintf(text, sizeof(text),
			 "{\"columns\": {\"customer_id\": {\"class\": \"id\"},"
			 " \"email\": {\"class\": \"id\"},"
			 " \"balance\": {\"class\": \"sa\", \"bounds\": [0, 2.5e6]}},"
			 " \"receivers\": [\"%s\"], \"jobs\": [\"psi\"],"
			 " \"dp\": {\"epsilon_total\": 1.5, \"epsilon_max_per_job\": 0.5, \"delta\": 0}}",
			 insurer.org_id);
		return publish_body_with(dataset, customers, 3, text, 1000);
	}
	if (strcmp(dataset, "members") == 0) {
		snprintf(text, sizeof(text),
			 "{\"columns\": {\"email\": {\"class\": \"id\"},"
			 " \"spend\": {\"class\": \"sa\"}}, \"receivers\": [\"%s\"]}",
			 insurer.org_id);
		return publish_body_with(dataset, members, 2, text, 800);
	}
	snprintf(text, sizeof(text),
		 "{\"columns\": {\"email\": {\"class\": \"id\"}, \"premium\": {\"class\": \"sa\"}}}");
	return publish_body_with(dataset, policies, 2, text, 500);
}

/* A PSI spec over bank.customers and shop.members, received by insurer.
 * column2 lets a test make a spec one byte different. */
static json_t *spec_json(const char *column2)
{
	return jfmt("{\"kind\": \"psi\", \"mode\": \"intersection\","
		    " \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"email\"},"
		    " {\"dataset\": \"shop.members\", \"column\": \"%s\"}],"
		    " \"receivers\": [\"%s\"]}", column2, insurer.org_id);
}

static json_t *propose_body(json_t *spec)
{
	return json_pack("{s:O,s:{s:b,s:[]}}", "spec", spec, "verdict",
			 "accept", 1, "violations");
}

static json_t *vote_body(const uint8_t job[SR_EVENT_ID_BYTES], const json_t *spec)
{
	uint8_t hash[SR_HASH_BYTES];
	char job_hex[65], hash_hex[65];

	assert_int_equal(sr_event_spec_hash(spec, hash, NULL), SR_OK);
	sr_hex(job_hex, job, SR_EVENT_ID_BYTES);
	sr_hex(hash_hex, hash, sizeof(hash));
	return json_pack("{s:s,s:s}", "job_id", job_hex, "spec_hash", hash_hex);
}

static json_t *job_body(const uint8_t job[SR_EVENT_ID_BYTES], const char *extra)
{
	char job_hex[65];

	sr_hex(job_hex, job, SR_EVENT_ID_BYTES);
	return jfmt("{\"job_id\": \"%s\"%s}", job_hex, extra ? extra : "");
}

static json_t *start_body(const uint8_t job[SR_EVENT_ID_BYTES],
			  const uint8_t head[SR_EVENT_ID_BYTES])
{
	char head_hex[65], extra[96];

	sr_hex(head_hex, head, SR_EVENT_ID_BYTES);
	snprintf(extra, sizeof(extra), ", \"head\": \"%s\"", head_hex);
	return job_body(job, extra);
}

static json_t *finish_body(const uint8_t job[SR_EVENT_ID_BYTES])
{
	return job_body(job, ", \"output_hash\": \"" "00112233445566778899aabbccddeeff"
			"00112233445566778899aabbccddeeff\", \"sizes\":"
			" {\"output_rows\": 412, \"output_bytes\": 13184},"
			" \"epsilon_spent\": \"0.5\"");
}

/* ---- building chains ---------------------------------------------------- */

enum stage {
	ST_CREATED,     /* 0: project.create by bank */
	ST_JOINED,      /* 1-4: shop and insurer invited and joined */
	ST_PUBLISHED,   /* 5-7: bank.customers, shop.members, insurer.policies */
	ST_PROPOSED,    /* 8: insurer proposes the PSI job */
	ST_APPROVED,    /* 9-10: bank and shop approve */
	ST_FINISHED,    /* 11-12: insurer starts and finishes */
};

static void build(struct world *w, enum stage upto)
{
	sr_ledger_init(&w->ledger);
	w->n = 0;
	w->spec = spec_json("email");
	emit(w, &bank, SR_EVENT_PROJECT_CREATE, create_body(&bank, "bank"));
	if (upto < ST_JOINED)
		return;
	emit(w, &bank, SR_EVENT_MEMBER_INVITE, invite_body(&shop));
	emit(w, &bank, SR_EVENT_MEMBER_INVITE, invite_body(&insurer));
	emit(w, &shop, SR_EVENT_MEMBER_JOIN, keys_body(&shop, "shop"));
	emit(w, &insurer, SR_EVENT_MEMBER_JOIN, keys_body(&insurer, "insurer"));
	if (upto < ST_PUBLISHED)
		return;
	emit(w, &bank, SR_EVENT_DATASET_PUBLISH, publish_body("customers"));
	emit(w, &shop, SR_EVENT_DATASET_PUBLISH, publish_body("members"));
	emit(w, &insurer, SR_EVENT_DATASET_PUBLISH, publish_body("policies"));
	if (upto < ST_PROPOSED)
		return;
	emit(w, &insurer, SR_EVENT_JOB_PROPOSE, propose_body(w->spec));
	memcpy(w->job, w->ev[w->n - 1].id, sizeof(w->job));
	if (upto < ST_APPROVED)
		return;
	emit(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec));
	emit(w, &shop, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec));
	if (upto < ST_FINISHED)
		return;
	emit(w, &insurer, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head));
	emit(w, &insurer, SR_EVENT_JOB_FINISH, finish_body(w->job));
}

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;

	for (size_t i = 0; i < w->n; i++)
		sr_event_release(&w->ev[i]);
	sr_ledger_release(&w->ledger);
	json_decref(w->spec);
	free(w);
	return 0;
}

/* ---- the happy path ------------------------------------------------------ */

static void write_corpus(const struct world *w)
{
	const char *dir = getenv("SR_LEDGER_WRITE_CORPUS");
	char path[4096];

	if (!dir)
		return;
	for (size_t i = 0; i < w->n; i++) {
		char *wire = wire_of(&w->ev[i]);
		snprintf(path, sizeof(path), "%s/%02zu-%s.json", dir, i,
			 sr_event_type_name(w->ev[i].type));
		sr_test_write_file(path, wire, strlen(wire));
		free(wire);
	}
}

static void test_happy_path(void **state)
{
	struct world *w = *state;
	const struct sr_ledger_member *m;
	const struct sr_ledger_dataset *d;
	const struct sr_ledger_job *job;
	uint8_t hash[SR_HASH_BYTES];

	build(w, ST_PROPOSED);
	assert_int_equal(w->ledger.next_seq, 9);
	assert_string_equal(w->ledger.project, PROJECT);
	assert_string_equal(w->ledger.name, "fraud study");
	assert_string_equal(w->ledger.creator, bank.org_id);
	assert_memory_equal(w->ledger.head, w->ev[8].id, SR_EVENT_ID_BYTES);

	/* Members with the keys and names they joined with. */
	assert_int_equal(w->ledger.nmembers, 3);
	m = sr_ledger_member_find(&w->ledger, shop.org_id);
	assert_non_null(m);
	assert_int_equal(m->status, SR_MEMBER_ACTIVE);
	assert_string_equal(m->name, "shop");
	assert_string_equal(m->invited_by, bank.org_id);
	assert_int_equal(m->invited_seq, 1);
	assert_int_equal(m->joined_seq, 3);
	assert_memory_equal(m->sign_pk, shop.sign_pk, sizeof(m->sign_pk));
	assert_memory_equal(m->kx_pk, shop.kx_pk, sizeof(m->kx_pk));
	assert_true(sr_ledger_member_find(&w->ledger, bank.org_id)->creator);
	assert_ptr_equal(sr_ledger_member_by_name(&w->ledger, "insurer"),
			 sr_ledger_member_find(&w->ledger, insurer.org_id));
	assert_null(sr_ledger_member_find(&w->ledger, outsider.org_id));

	/* Datasets under orgname.dataset, owned by their publisher. */
	assert_int_equal(w->ledger.ndatasets, 3);
	d = sr_ledger_dataset_find(&w->ledger, "bank.customers");
	assert_non_null(d);
	assert_string_equal(d->owner, bank.org_id);
	assert_int_equal(d->rows, 1000);
	assert_int_equal(json_array_size(d->schema), 3);
	assert_non_null(json_object_get(d->policy, "dp"));
	assert_int_equal(d->published_seq, 5);
	assert_non_null(sr_ledger_dataset_find(&w->ledger, "shop.members"));
	assert_null(sr_ledger_dataset_find(&w->ledger, "shop.customers"));

	/* The job: id = id of its job.propose, owners = bank and shop. */
	job = sr_ledger_job_find(&w->ledger, w->ev[8].id);
	assert_non_null(job);
	assert_ptr_equal(job, sr_ledger_job_find_hex(&w->ledger, job->id_hex));
	assert_null(sr_ledger_job_find_hex(&w->ledger, "00"));
	assert_int_equal(job->state, SR_JOB_PROPOSED);
	assert_string_equal(job->proposer, insurer.org_id);
	assert_int_equal(job->nowners, 2);
	assert_string_equal(job->owners[0], bank.org_id);
	assert_string_equal(job->owners[1], shop.org_id);
	assert_int_equal(job->nreceivers, 1);
	assert_string_equal(job->receivers[0], insurer.org_id);
	assert_int_equal(sr_event_spec_hash(w->spec, hash, NULL), SR_OK);
	assert_memory_equal(job->spec_hash, hash, sizeof(hash));
	assert_true(sr_ledger_job_participant(job, bank.org_id));
	assert_true(sr_ledger_job_participant(job, insurer.org_id));
	assert_false(sr_ledger_job_participant(job, outsider.org_id));
	assert_false(sr_ledger_job_runnable(&w->ledger, w->job));

	/* One approval is not enough; both make it runnable. */
	emit(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec));
	assert_int_equal(job->state, SR_JOB_PROPOSED);
	assert_false(sr_ledger_job_runnable(&w->ledger, w->job));
	emit(w, &shop, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec));
	assert_int_equal(job->state, SR_JOB_APPROVED);
	assert_true(sr_ledger_job_runnable(&w->ledger, w->job));
	assert_int_equal(job->approved_seq, 10);

	emit(w, &insurer, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head));
	assert_int_equal(job->state, SR_JOB_RUNNING);
	assert_true(sr_ledger_job_runnable(&w->ledger, w->job));
	assert_memory_equal(job->start_head, w->ev[10].id, SR_EVENT_ID_BYTES);
	assert_string_equal(job->started_by, insurer.org_id);
	emit(w, &insurer, SR_EVENT_JOB_FINISH, finish_body(w->job));
	assert_int_equal(job->state, SR_JOB_FINISHED);
	assert_false(sr_ledger_job_runnable(&w->ledger, w->job));
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(job->receipt, "sizes"), "output_rows")), 412);
	assert_int_equal(w->ledger.next_seq, 13);
	assert_int_equal(w->ledger.type_counts[SR_EVENT_JOB_APPROVE], 2);
	write_corpus(w);
}

static void test_wire_round_trip_and_verify_all(void **state)
{
	struct world *w = *state;
	struct sr_event parsed[MAX_EVENTS];
	struct sr_ledger_summary sum;
	struct sr_ledger again;
	struct sr_err err;
	json_t *js = NULL;
	char *a, *b;

	build(w, ST_FINISHED);
	for (size_t i = 0; i < w->n; i++) {
		char *wire = wire_of(&w->ev[i]), *wire2;
		sr_event_init(&parsed[i]);
		sr_err_clear(&err);
		expect(sr_event_parse(wire, strlen(wire), &parsed[i], &err), &err,
		       SR_OK, NULL);
		assert_memory_equal(parsed[i].id, w->ev[i].id, SR_EVENT_ID_BYTES);
		assert_memory_equal(parsed[i].sig, w->ev[i].sig, SR_EVENT_SIG_BYTES);
		assert_int_equal(parsed[i].seq, i);
		assert_int_equal(parsed[i].type, w->ev[i].type);
		wire2 = wire_of(&parsed[i]);
		assert_string_equal(wire, wire2);   /* the wire form is canonical */
		assert_int_equal(sr_event_verify_signature(&parsed[i],
			sr_ledger_member_find(&w->ledger, parsed[i].author)->sign_pk,
			NULL), SR_OK);
		free(wire);
		free(wire2);
	}
	/* The same chain from the wire gives the same state. */
	sr_ledger_init(&again);
	sr_err_clear(&err);
	expect(sr_ledger_verify_all(&again, parsed, w->n, &sum, &err), &err,
	       SR_OK, NULL);
	a = state_text(&w->ledger);
	b = state_text(&again);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_int_equal(sum.events, 13);
	assert_memory_equal(sum.head, w->ev[12].id, SR_EVENT_ID_BYTES);
	assert_int_equal(sum.type_counts[SR_EVENT_PROJECT_CREATE], 1);
	assert_int_equal(sum.type_counts[SR_EVENT_MEMBER_INVITE], 2);
	assert_int_equal(sum.type_counts[SR_EVENT_MEMBER_JOIN], 2);
	assert_int_equal(sum.type_counts[SR_EVENT_DATASET_PUBLISH], 3);
	assert_int_equal(sum.type_counts[SR_EVENT_JOB_APPROVE], 2);
	assert_int_equal(sum.type_counts[SR_EVENT_JOB_FINISH], 1);
	assert_int_equal(sum.members_active, 3);
	assert_int_equal(sum.datasets_published, 3);
	assert_int_equal(sum.jobs, 1);
	assert_int_equal(sum.jobs_by_state[SR_JOB_FINISHED], 1);
	assert_int_equal(sr_ledger_summary_to_json(&sum, &js, NULL), SR_OK);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(js, "types"), "member.join")), 2);
	json_decref(js);

	/* A chain with one event dropped verifies up to the gap. */
	sr_ledger_release(&again);
	sr_err_clear(&err);
	expect(sr_ledger_verify_all(&again, parsed, 5, NULL, &err), &err, SR_OK, NULL);
	expect(sr_ledger_verify_all(&again, parsed + 6, w->n - 6, &sum, &err),
	       &err, SR_EPROTO, "event 6: out of order: the next event is 5");
	assert_int_equal(sum.events, 5);
	sr_ledger_release(&again);
	for (size_t i = 0; i < w->n; i++)
		sr_event_release(&parsed[i]);
}

/* ---- wire parsing errors ------------------------------------------------- */

/* Replace the first from with to in text (malloc). */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	if (!at)
		fail_msg("'%s' not found in %s", from, text);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void test_parse_errors(void **state)
{
	struct world *w = *state;
	struct sr_event ev;
	struct sr_err err;
	char *wire, *bad, *prev_hex, *upper;
	char from[160], to[160];

	build(w, ST_JOINED);
	wire = wire_of(&w->ev[1]);   /* member.invite of shop */
	struct {
		const char *from, *to;
		int code;
		const char *msg;
	} cases[] = {
		{ "\"seq\":1", "\"seq\":\"1\"", SR_EINVAL, "event.seq: expected an integer" },
		{ "\"seq\":1", "\"seq\":-1", SR_EINVAL, "event.seq: expected an integer from 0" },
		{ "\"seq\":1", "\"seq\":1.0", SR_EINVAL, "event.seq: expected an integer" },
		{ "\"seq\":1,", "", SR_EINVAL, "event.seq: required key is missing" },
		{ "\"type\":\"member.invite\"", "\"type\":\"member.expel\"", SR_EINVAL,
		  "event.type: unknown event type 'member.expel'" },
		{ "\"type\":\"member.invite\"", "\"type\":7", SR_EINVAL,
		  "event.type: expected a string" },
		{ "{\"event\":", "{\"extra\":1,\"event\":", SR_EINVAL, "extra: unknown key" },
		{ "\"author\":", "\"colour\":1,\"author\":", SR_EINVAL,
		  "event.colour: unknown key" },
		{ "\"body\":{", "\"body\":{\"x\":\"y\",", SR_EINVAL, "event.body.x: unknown key" },
		{ "\"body\":{", "\"body\":{\"f\":1.5,", SR_EINVAL,
		  "event.body.f: real numbers are not allowed" },
		{ "\"body\":{", "\"body\":{\"n\":\"a\\u0000b\",", SR_EINVAL,
		  "event.body.n: NUL characters are not allowed" },
		{ "\"body\":{", "\"body\":{\"d\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]],", SR_ELIMIT,
		  "nesting deeper than the limit of 16" },
		{ "\"body\":{\"org_id\":\"org_", "\"body\":{\"org_id\":\"org_x", SR_EINVAL,
		  "event.body.org_id: expected an organization id" },
		{ "\"body\":{\"org_id\":\"", "\"body\":{\"org_id\":7,\"z\":\"", SR_EINVAL,
		  "event.body.z: unknown key" },
		{ "\"author\":\"org_", "\"author\":\"org_X", SR_EINVAL,
		  "event.author: expected an organization id" },
		{ "\"project\":\"prj_", "\"project\":\"prj test", SR_EINVAL,
		  "event.project: expected a project id" },
		{ "\"time\":", "\"time\":-", SR_EINVAL, "event.time: expected unix seconds" },
		{ "\"id\":\"", "\"id\":\"0", SR_EINVAL, "id: expected 64 lowercase hex digits" },
		{ "\"sig\":\"", "\"sig\":\"g", SR_EINVAL, "sig: expected 128 lowercase hex digits" },
		{ "\"prev\":\"", "\"prev\":\"00", SR_EINVAL, "event.prev: expected 64 lowercase hex digits" },
		{ "{\"event\":{", "{\"event\":[{", SR_EINVAL, "line 1" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = replaced(wire, cases[i].from, cases[i].to);
		sr_event_init(&ev);
		sr_err_clear(&err);
		expect(sr_event_parse(bad, strlen(bad), &ev, &err), &err,
		       cases[i].code, cases[i].msg);
		assert_null(ev.project);
		assert_null(ev.body);
		free(bad);
	}

	/* Upper-case hex is not canonical. */
	prev_hex = hex_of(w->ev[1].prev, SR_EVENT_ID_BYTES);
	upper = strdup(prev_hex);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	if (strcmp(upper, prev_hex) != 0) {
		bad = replaced(wire, prev_hex, upper);
		sr_err_clear(&err);
		expect(sr_event_parse(bad, strlen(bad), &ev, &err), &err, SR_EINVAL,
		       "event.prev: expected 64 lowercase hex digits");
		free(bad);
	}
	free(upper);
	free(prev_hex);

	/* Altered contents: the id no longer matches. */
	snprintf(from, sizeof(from), "\"org_id\":\"%s\"", shop.org_id);
	snprintf(to, sizeof(to), "\"org_id\":\"%s\"", outsider.org_id);
	bad = replaced(wire, from, to);
	sr_err_clear(&err);
	expect(sr_event_parse(bad, strlen(bad), &ev, &err), &err, SR_ECORRUPT,
	       "id: does not match the event's contents");
	free(bad);
	/* So does a body moved to another time or seq. */
	bad = replaced(wire, "\"seq\":1", "\"seq\":2");
	sr_err_clear(&err);
	expect(sr_event_parse(bad, strlen(bad), &ev, &err), &err, SR_ECORRUPT,
	       "id: does not match");
	free(bad);

	/* Not an object, syntax errors, too large. */
	sr_err_clear(&err);
	expect(sr_event_parse("[]", 2, &ev, &err), &err, SR_EINVAL,
	       "event: expected a JSON object");
	sr_err_clear(&err);
	expect(sr_event_parse("{", 1, &ev, &err), &err, SR_EINVAL, "event: line 1");
	sr_err_clear(&err);
	expect(sr_event_parse(wire, SR_EVENT_BYTES_MAX + 1, &ev, &err), &err,
	       SR_ELIMIT, "above the limit");
	/* White space and key order do not matter: the id is of the fields. */
	{
		json_t *j = json_loads(wire, 0, NULL);
		char *pretty = json_dumps(j, JSON_INDENT(3));
		sr_err_clear(&err);
		expect(sr_event_parse(pretty, strlen(pretty), &ev, &err), &err,
		       SR_OK, NULL);
		assert_memory_equal(ev.id, w->ev[1].id, SR_EVENT_ID_BYTES);
		sr_event_release(&ev);
		free(pretty);
		json_decref(j);
	}
	free(wire);
}

static void test_body_schemas(void **state)
{
	struct world *w = *state;
	struct sr_event ev;
	struct sr_err err;
	json_t *body;
	struct {
		enum sr_event_type type;
		const char *body;
		int code;
		const char *msg;
	} cases[] = {
		{ SR_EVENT_MEMBER_INVITE, "{}", SR_EINVAL, "body.org_id: required key is missing" },
		{ SR_EVENT_MEMBER_INVITE, "[]", SR_EINVAL, "body: expected an object" },
		{ SR_EVENT_MEMBER_JOIN, "{\"name\": \"Shop\", \"sign_pk\": \"\", \"kx_pk\": \"\"}",
		  SR_EINVAL, "body.name: expected a name" },
		{ SR_EVENT_MEMBER_JOIN, "{\"name\": \"shop\", \"sign_pk\": \"00\", \"kx_pk\": \"\"}",
		  SR_EINVAL, "body.sign_pk: expected 64 lowercase hex digits" },
		{ SR_EVENT_MEMBER_LEAVE, "{\"reason\": \"bye\\u001b[2J\"}", SR_EINVAL,
		  "body.reason: expected 1 to 1024 bytes of text without control characters" },
		{ SR_EVENT_DATASET_WITHDRAW, "{\"dataset\": \"a.b\"}", SR_EINVAL,
		  "body.dataset: expected a name" },
		{ SR_EVENT_JOB_PROPOSE, "{\"spec\": {}, \"verdict\": {}}", SR_EINVAL,
		  "body.spec.kind: required key is missing" },
		{ SR_EVENT_JOB_PROPOSE,
		  "{\"spec\": {\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"customers\"}],"
		  " \"receivers\": [\"org_00000000000000000000000000000000\"]}, \"verdict\": {}}",
		  SR_EINVAL, "body.spec.inputs[0].dataset: expected 'orgname.dataset'" },
		{ SR_EVENT_JOB_PROPOSE,
		  "{\"spec\": {\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"a.b\"}],"
		  " \"receivers\": []}, \"verdict\": {}}",
		  SR_EINVAL, "body.spec.receivers: expected 1 to 1024 entries, got 0" },
		{ SR_EVENT_JOB_PROPOSE,
		  "{\"spec\": {\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"a.b\"}],"
		  " \"receivers\": [\"org_00000000000000000000000000000000\","
		  " \"org_00000000000000000000000000000000\"]}, \"verdict\": {}}",
		  SR_EINVAL, "body.spec.receivers[1]: duplicate receiver" },
		{ SR_EVENT_JOB_PROPOSE,
		  "{\"spec\": {\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"a.b\"}],"
		  " \"receivers\": [\"org_00000000000000000000000000000000\"]},"
		  " \"verdict\": {\"accept\": true, \"violations\": [{\"rule\": \"x\", \"message\": \"m\"}]}}",
		  SR_EINVAL, "body.verdict.accept: must be true exactly when there are no violations" },
		{ SR_EVENT_JOB_PROPOSE,
		  "{\"job_id\": \"x\", \"spec\": {}, \"verdict\": {}}",
		  SR_EINVAL, "body.job_id: unknown key" },
		{ SR_EVENT_JOB_APPROVE, "{\"job_id\": \"00\"}", SR_EINVAL,
		  "body.job_id: expected 64 lowercase hex digits" },
		{ SR_EVENT_JOB_FAIL,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\"}",
		  SR_EINVAL, "body.reason: required key is missing" },
		{ SR_EVENT_JOB_FINISH,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\","
		  " \"output_hash\": \"0000000000000000000000000000000000000000000000000000000000000000\","
		  " \"sizes\": {}, \"epsilon_spent\": \"-1\"}",
		  SR_EINVAL, "body.epsilon_spent: expected an integer from 0 or a non-negative decimal string" },
		{ SR_EVENT_JOB_FINISH,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\","
		  " \"output_hash\": \"0000000000000000000000000000000000000000000000000000000000000000\","
		  " \"sizes\": {\"rows\": -1}, \"epsilon_spent\": 0}",
		  SR_EINVAL, "body.sizes.rows: expected an integer from 0" },
		{ SR_EVENT_JOB_FINISH,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"output_hash\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"sizes\": {}, \"epsilon_spent\": 1,"
		  " \"charges\": [{\"dataset\": \"a.b\", \"owner\": \"bank\", \"epsilon\": 1}]}",
		  SR_EINVAL, "body.charges[0].owner: expected an organization id" },
		{ SR_EVENT_JOB_FINISH,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"output_hash\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"sizes\": {}, \"epsilon_spent\": 1,"
		  " \"delta_spent\": -1}",
		  SR_EINVAL, "body.delta_spent: expected an integer from 0 or a non-negative decimal string" },
		{ SR_EVENT_JOB_FAIL,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"reason\": \"x\", \"refunded\": [{\"dataset\": \"a.b\","
		  " \"owner\": \"org_00000000000000000000000000000000\"}]}",
		  SR_EINVAL, "body.refunded[0].epsilon: required key is missing" },
		{ SR_EVENT_JOB_FAIL,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"reason\": \"x\", \"refunded\": {}}",
		  SR_EINVAL, "body.refunded: expected an array" },
		{ SR_EVENT_JOB_CANCEL,
		  "{\"job_id\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"refunded\": []}",
		  SR_EINVAL, "body.refunded: unknown key" },
	};

	build(w, ST_CREATED);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = jfmt("%s", cases[i].body);
		sr_event_init(&ev);
		sr_err_clear(&err);
		expect(sr_event_create(&ev, &bank, PROJECT, 1, w->ledger.head,
				       cases[i].type, T0, body, &err),
		       &err, cases[i].code, cases[i].msg);
		assert_null(ev.body);
		json_decref(body);
	}

	/* Policies must be the normalized form bound to the schema. */
	body = publish_body("customers");
	json_object_set_new(json_object_get(body, "policy"), "min_group_size",
			    json_integer(0));
	sr_err_clear(&err);
	expect(sr_event_create(&ev, &bank, PROJECT, 1, w->ledger.head,
			       SR_EVENT_DATASET_PUBLISH, T0, body, &err),
	       &err, SR_EINVAL, "body.policy: min_group_size");
	json_decref(body);
	body = publish_body("customers");
	json_object_del(json_object_get(json_object_get(body, "policy"), "dp"),
			"delta");
	json_object_set_new(json_object_get(json_object_get(body, "policy"), "dp"),
			    "delta", json_string("0"));
	sr_err_clear(&err);
	expect(sr_event_create(&ev, &bank, PROJECT, 1, w->ledger.head,
			       SR_EVENT_DATASET_PUBLISH, T0, body, &err),
	       &err, SR_EINVAL, "body.policy: not in normalized form");
	json_decref(body);
	body = publish_body("customers");
	json_object_set_new(json_array_get(json_object_get(body, "schema"), 2),
			    "class", json_string("qi"));
	sr_err_clear(&err);
	expect(sr_event_create(&ev, &bank, PROJECT, 1, w->ledger.head,
			       SR_EVENT_DATASET_PUBLISH, T0, body, &err),
	       &err, SR_EINVAL, "body.schema[2].class: 'qi', but the policy classifies 'balance' as 'sa'");
	json_decref(body);
	body = publish_body("customers");
	json_object_set_new(json_array_get(json_object_get(body, "schema"), 0),
			    "name", json_string("email"));
	sr_err_clear(&err);
	expect(sr_event_create(&ev, &bank, PROJECT, 1, w->ledger.head,
			       SR_EVENT_DATASET_PUBLISH, T0, body, &err),
	       &err, SR_EINVAL, "body.schema[1].name: duplicate column 'email'");
	json_decref(body);
}

/* ---- attacks on the chain ------------------------------------------------- */

static void test_dropped_and_reordered(void **state)
{
	struct world *w = *state;
	struct sr_ledger fresh;
	struct sr_err err;

	build(w, ST_PUBLISHED);
	sr_ledger_init(&fresh);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(sr_ledger_apply(&fresh, &w->ev[i], NULL), SR_OK);
	/* Event 5 dropped. */
	sr_err_clear(&err);
	expect(sr_ledger_apply(&fresh, &w->ev[6], &err), &err, SR_EPROTO,
	       "event 6: out of order: the next event is 5 (events are missing or reordered)");
	/* Events 5 and 6 swapped. */
	sr_err_clear(&err);
	expect(sr_ledger_apply(&fresh, &w->ev[6], &err), &err, SR_EPROTO,
	       "out of order");
	assert_int_equal(sr_ledger_apply(&fresh, &w->ev[5], NULL), SR_OK);
	/* The same event twice. */
	sr_err_clear(&err);
	expect(sr_ledger_apply(&fresh, &w->ev[5], &err), &err, SR_EEXIST,
	       "event 5: already in the chain");
	/* An event whose seq was changed (re-signed by its author) to fill a
	 * gap has a prev that no longer matches. */
	{
		struct sr_event moved;
		forge(&moved, 6, w->ev[5].prev, SR_EVENT_DATASET_PUBLISH, shop.org_id,
		      json_incref(w->ev[6].body), &shop);
		sr_err_clear(&err);
		expect(sr_ledger_apply(&fresh, &moved, &err), &err, SR_EPROTO,
		       "event 6: prev does not match the head");
		sr_event_release(&moved);
	}
	/* A first event that is not project.create, and a second project.create. */
	sr_ledger_release(&fresh);
	sr_err_clear(&err);
	expect(sr_ledger_apply(&fresh, &w->ev[1], &err), &err, SR_EPROTO,
	       "event 1: out of order: the next event is 0");
	{
		struct sr_event first, second;
		uint8_t zero[SR_EVENT_ID_BYTES] = { 0 };
		forge(&first, 0, zero, SR_EVENT_MEMBER_INVITE, bank.org_id,
		      invite_body(&shop), &bank);
		sr_err_clear(&err);
		expect(sr_ledger_apply(&fresh, &first, &err), &err, SR_EPERM,
		       "event 0: the first event of a project must be project.create");
		sr_event_release(&first);
		assert_int_equal(sr_ledger_apply(&fresh, &w->ev[0], NULL), SR_OK);
		forge(&second, 1, w->ev[0].id, SR_EVENT_PROJECT_CREATE, bank.org_id,
		      create_body(&bank, "bank"), &bank);
		sr_err_clear(&err);
		expect(sr_ledger_apply(&fresh, &second, &err), &err, SR_EPERM,
		       "event 1: project.create may only be the first event");
		sr_event_release(&second);
	}
	sr_ledger_release(&fresh);
}

static void test_altered_and_forged(void **state)
{
	struct world *w = *state;
	struct sr_event ev;
	char part[160];

	build(w, ST_JOINED);
	/* Altered body, id not recomputed. */
	make(w, &ev, &bank, SR_EVENT_DATASET_PUBLISH, publish_body("customers"));
	json_object_set_new(ev.body, "rows", json_integer(999999));
	refuse_event(w, &ev, SR_ECORRUPT,
		     "event 5: id does not match the event's contents");
	/* Altered body, id recomputed, old signature. */
	assert_int_equal(sr_event_compute_id(&ev, ev.id, NULL), SR_OK);
	snprintf(part, sizeof(part),
		 "event 5: signature does not verify for author %s", bank.org_id);
	refuse_event(w, &ev, SR_ECRYPTO, part);
	/* Signed by someone else in bank's name. */
	sr_identity_sign(&outsider, ev.id, sizeof(ev.id), ev.sig);
	refuse_event(w, &ev, SR_ECRYPTO, part);
	/* Random signature bytes. */
	sr_random_buf(ev.sig, sizeof(ev.sig));
	refuse_event(w, &ev, SR_ECRYPTO, part);
	/* Other fields are covered by the id too. */
	sr_identity_sign(&bank, ev.id, sizeof(ev.id), ev.sig);
	ev.time++;
	refuse_event(w, &ev, SR_ECORRUPT, "id does not match");
	ev.time--;
	memcpy(ev.author, shop.org_id, sizeof(ev.author));
	refuse_event(w, &ev, SR_ECORRUPT, "id does not match");
	memcpy(ev.author, bank.org_id, sizeof(ev.author));
	/* Restored, it applies. */
	assert_int_equal(sr_ledger_apply(&w->ledger, &ev, NULL), SR_OK);
	sr_event_release(&ev);

	/* Another project's event with the right seq and prev. */
	make(w, &ev, &bank, SR_EVENT_DATASET_PUBLISH, publish_body("other"));
	sr_free(ev.project);
	ev.project = sr_strdup("prj_other");
	assert_int_equal(sr_event_compute_id(&ev, ev.id, NULL), SR_OK);
	sr_identity_sign(&bank, ev.id, sizeof(ev.id), ev.sig);
	refuse_event(w, &ev, SR_EPROTO,
		     "event 6: belongs to project 'prj_other', not to this project");
	sr_event_release(&ev);
}

static void test_membership(void **state)
{
	struct world *w = *state;
	struct sr_event ev;
	char part[200];

	build(w, ST_CREATED);
	/* A non-member may emit nothing. */
	snprintf(part, sizeof(part), "event 1: author %s is not a member of this project",
		 outsider.org_id);
	refuse(w, &outsider, SR_EVENT_MEMBER_INVITE, invite_body(&shop), SR_EPERM, part);
	/* Nor join uninvited. */
	snprintf(part, sizeof(part), "event 1: %s may not join: it has not been invited",
		 outsider.org_id);
	refuse(w, &outsider, SR_EVENT_MEMBER_JOIN, keys_body(&outsider, "mallory"),
	       SR_EPERM, part);
	emit(w, &bank, SR_EVENT_MEMBER_INVITE, invite_body(&shop));
	/* Invited but not joined: may only join. */
	refuse(w, &shop, SR_EVENT_MEMBER_INVITE, invite_body(&insurer), SR_EPERM,
	       "has been invited but has not joined");
	refuse(w, &bank, SR_EVENT_MEMBER_INVITE, invite_body(&shop), SR_EPERM,
	       "has already been invited (event 1)");
	refuse(w, &bank, SR_EVENT_MEMBER_INVITE, invite_body(&bank), SR_EPERM,
	       "is already a member");
	/* Someone else (the coordinator, say) cannot join in shop's name with
	 * its own key, nor with shop's key and a forged signature. */
	forge(&ev, w->ledger.next_seq, w->ledger.head, SR_EVENT_MEMBER_JOIN,
	      shop.org_id, keys_body(&outsider, "shop"), &outsider);
	snprintf(part, sizeof(part),
		 "event 2: sign_pk in the body is not the key of %s", shop.org_id);
	refuse_event(w, &ev, SR_EPERM, part);
	sr_event_release(&ev);
	forge(&ev, w->ledger.next_seq, w->ledger.head, SR_EVENT_MEMBER_JOIN,
	      shop.org_id, keys_body(&shop, "shop"), &outsider);
	refuse_event(w, &ev, SR_ECRYPTO, "signature does not verify");
	sr_event_release(&ev);
	/* Names are unique. */
	refuse(w, &shop, SR_EVENT_MEMBER_JOIN, keys_body(&shop, "bank"), SR_EPERM,
	       "body.name: the name 'bank' is taken by");
	emit(w, &shop, SR_EVENT_MEMBER_JOIN, keys_body(&shop, "shop"));
	refuse(w, &shop, SR_EVENT_MEMBER_JOIN, keys_body(&shop, "shop"), SR_EPERM,
	       "may not join: it is already a member");
	/* A member that leaves may emit nothing more, and its data goes. */
	emit(w, &shop, SR_EVENT_DATASET_PUBLISH, publish_body("members"));
	emit(w, &shop, SR_EVENT_MEMBER_LEAVE, jfmt("{\"reason\": \"contract ended\"}"));
	assert_int_equal(sr_ledger_member_find(&w->ledger, shop.org_id)->status,
			 SR_MEMBER_LEFT);
	assert_true(sr_ledger_dataset_find(&w->ledger, "shop.members")->withdrawn);
	refuse(w, &shop, SR_EVENT_DATASET_PUBLISH, publish_body("members"), SR_EPERM,
	       "left the project at event 4");
	refuse(w, &shop, SR_EVENT_MEMBER_JOIN, keys_body(&shop, "shop"), SR_EPERM,
	       "has not been invited");
	/* It may be invited again and rejoin. */
	emit(w, &bank, SR_EVENT_MEMBER_INVITE, invite_body(&shop));
	emit(w, &shop, SR_EVENT_MEMBER_JOIN, keys_body(&shop, "shop"));
	assert_int_equal(sr_ledger_member_find(&w->ledger, shop.org_id)->status,
			 SR_MEMBER_ACTIVE);
}

static void test_datasets(void **state)
{
	struct world *w = *state;

	build(w, ST_PUBLISHED);
	/* Withdraw only one's own, published datasets. */
	refuse(w, &shop, SR_EVENT_DATASET_WITHDRAW, jfmt("{\"dataset\": \"customers\"}"),
	       SR_ENOTFOUND, "body.dataset: ");
	emit(w, &bank, SR_EVENT_DATASET_WITHDRAW, jfmt("{\"dataset\": \"customers\"}"));
	assert_true(sr_ledger_dataset_find(&w->ledger, "bank.customers")->withdrawn);
	refuse(w, &bank, SR_EVENT_DATASET_WITHDRAW, jfmt("{\"dataset\": \"customers\"}"),
	       SR_EPERM, "bank.customers is already withdrawn");
	/* No job on a withdrawn dataset. */
	refuse(w, &insurer, SR_EVENT_JOB_PROPOSE, propose_body(w->spec), SR_ENOTFOUND,
	       "body.spec.inputs[0].dataset: bank.customers is not published in this project (it was withdrawn)");
	/* Republishing brings it back. */
	emit(w, &bank, SR_EVENT_DATASET_PUBLISH, publish_body("customers"));
	assert_false(sr_ledger_dataset_find(&w->ledger, "bank.customers")->withdrawn);
	assert_int_equal(w->ledger.ndatasets, 3);
}

static void test_proposals(void **state)
{
	struct world *w = *state;
	json_t *spec;

	build(w, ST_PUBLISHED);
	/* Unknown datasets, stale versions, non-member receivers. */
	spec = jfmt("{\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"bank.loans\"}],"
		    " \"receivers\": [\"%s\"]}", insurer.org_id);
	refuse(w, &insurer, SR_EVENT_JOB_PROPOSE, propose_body(spec), SR_ENOTFOUND,
	       "body.spec.inputs[0].dataset: bank.loans is not published in this project");
	json_decref(spec);
	spec = jfmt("{\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"bank.customers\","
		    " \"version_id\": \"%064d\"}], \"receivers\": [\"%s\"]}", 0,
		    insurer.org_id);
	refuse(w, &insurer, SR_EVENT_JOB_PROPOSE, propose_body(spec), SR_ENOTFOUND,
	       "body.spec.inputs[0].version_id: not the published version of bank.customers");
	json_decref(spec);
	spec = jfmt("{\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"bank.customers\"}],"
		    " \"receivers\": [\"%s\"]}", outsider.org_id);
	refuse(w, &insurer, SR_EVENT_JOB_PROPOSE, propose_body(spec), SR_ENOTFOUND,
	       "body.spec.receivers[0]:");
	json_decref(spec);
	refuse(w, &outsider, SR_EVENT_JOB_PROPOSE, propose_body(w->spec), SR_EPERM,
	       "is not a member of this project");
	/* The exact version is accepted; a proposer that owns an input must
	 * approve too. */
	spec = jfmt("{\"kind\": \"psi\", \"inputs\": [{\"dataset\": \"bank.customers\","
		    " \"version_id\": \"%s\"}, {\"dataset\": \"bank.customers\"}],"
		    " \"receivers\": [\"%s\"]}",
		    sr_ledger_dataset_find(&w->ledger, "bank.customers")->version_id,
		    bank.org_id);
	emit(w, &bank, SR_EVENT_JOB_PROPOSE, propose_body(spec));
	{
		const struct sr_ledger_job *job =
			sr_ledger_job_find(&w->ledger, w->ev[w->n - 1].id);
		uint8_t id[SR_EVENT_ID_BYTES];
		memcpy(id, job->id, sizeof(id));
		assert_int_equal(job->nowners, 1);
		assert_false(sr_ledger_job_runnable(&w->ledger, id));
		emit(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(id, spec));
		assert_true(sr_ledger_job_runnable(&w->ledger, id));
	}
	json_decref(spec);
}

static void test_approvals(void **state)
{
	struct world *w = *state;
	json_t *spec2 = spec_json("emaik");   /* one byte different */
	struct sr_buf a, b;
	uint8_t job2[SR_EVENT_ID_BYTES];
	size_t diff = 0;
	char part[200];

	build(w, ST_PROPOSED);
	sr_buf_init(&a, 0);
	sr_buf_init(&b, 0);
	assert_int_equal(sr_json_canonical(w->spec, &a, NULL), SR_OK);
	assert_int_equal(sr_json_canonical(spec2, &b, NULL), SR_OK);
	assert_int_equal(a.len, b.len);
	for (size_t i = 0; i < a.len; i++)
		diff += a.data[i] != b.data[i];
	assert_int_equal(diff, 1);
	sr_buf_release(&a);
	sr_buf_release(&b);
	emit(w, &insurer, SR_EVENT_JOB_PROPOSE, propose_body(spec2));
	memcpy(job2, w->ev[w->n - 1].id, sizeof(job2));

	/* Approval by a non-owner. */
	snprintf(part, sizeof(part), "event 10: %s may not approve job ",
		 insurer.org_id);
	refuse(w, &insurer, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec),
	       SR_EPERM, part);
	refuse(w, &insurer, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec),
	       SR_EPERM, ": not an owner of its inputs");
	/* Approval of job 2 carrying the hash of spec 1 (and vice versa). */
	refuse(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(job2, w->spec), SR_EPERM,
	       "spec_hash is not the hash of the job's spec");
	refuse(w, &shop, SR_EVENT_JOB_APPROVE, vote_body(w->job, spec2), SR_EPERM,
	       "spec_hash is not the hash of the job's spec");
	/* Approvals of job 1 make job 1 runnable, never job 2. */
	emit(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec));
	/* Double approval. */
	refuse(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec), SR_EPERM,
	       "it has already approved it");
	refuse(w, &bank, SR_EVENT_JOB_REJECT, vote_body(w->job, w->spec), SR_EPERM,
	       "it has already approved it");
	/* Start before every owner approved. */
	refuse(w, &bank, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head),
	       SR_EPERM, "not every owner of its inputs has approved it");
	emit(w, &shop, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec));
	assert_true(sr_ledger_job_runnable(&w->ledger, w->job));
	assert_false(sr_ledger_job_runnable(&w->ledger, job2));
	assert_int_equal(sr_ledger_job_find(&w->ledger, job2)->state, SR_JOB_PROPOSED);
	/* Unknown job. */
	{
		uint8_t nojob[SR_EVENT_ID_BYTES];
		memset(nojob, 0xab, sizeof(nojob));
		refuse(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(nojob, w->spec),
		       SR_ENOTFOUND, "body.job_id: no job abababababababab");
		assert_false(sr_ledger_job_runnable(&w->ledger, nojob));
	}
	json_decref(spec2);
}

static void test_rejection(void **state)
{
	struct world *w = *state;
	const struct sr_ledger_job *job;

	build(w, ST_PROPOSED);
	emit(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec));
	{
		json_t *other = spec_json("emaik");
		refuse(w, &shop, SR_EVENT_JOB_REJECT, vote_body(w->job, other),
		       SR_EPERM, "spec_hash is not the hash of the job's spec");
		refuse(w, &insurer, SR_EVENT_JOB_REJECT, vote_body(w->job, w->spec),
		       SR_EPERM, "not an owner of its inputs");
		json_decref(other);
	}
	{
		json_t *body = vote_body(w->job, w->spec);
		json_object_set_new(body, "reason", json_string("not this quarter"));
		emit(w, &shop, SR_EVENT_JOB_REJECT, body);
	}
	job = sr_ledger_job_find(&w->ledger, w->job);
	assert_int_equal(job->state, SR_JOB_REJECTED);
	assert_string_equal(job->end_reason, "not this quarter");
	assert_string_equal(job->ended_by, shop.org_id);
	assert_false(sr_ledger_job_runnable(&w->ledger, w->job));
	refuse(w, &shop, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec), SR_EPERM,
	       "the job has ended (rejected)");
	refuse(w, &insurer, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head),
	       SR_EPERM, "the job has ended (rejected)");
	refuse(w, &insurer, SR_EVENT_JOB_CANCEL, job_body(w->job, NULL), SR_EPERM,
	       "the job has ended (rejected)");
}

static void test_job_lifecycle_rights(void **state)
{
	struct world *w = *state;
	const struct sr_ledger_job *job;

	build(w, ST_APPROVED);
	job = sr_ledger_job_find(&w->ledger, w->job);
	/* Only the proposer cancels; only participants start, finish, fail. */
	refuse(w, &bank, SR_EVENT_JOB_CANCEL, job_body(w->job, NULL), SR_EPERM,
	       "only its proposer may cancel it");
	emit(w, &bank, SR_EVENT_MEMBER_INVITE, invite_body(&outsider));
	emit(w, &outsider, SR_EVENT_MEMBER_JOIN, keys_body(&outsider, "mallory"));
	refuse(w, &outsider, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head),
	       SR_EPERM, "not a participant (an owner of its inputs or a receiver)");
	refuse(w, &outsider, SR_EVENT_JOB_FAIL,
	       job_body(w->job, ", \"reason\": \"x\""), SR_EPERM, "not a participant");
	refuse(w, &outsider, SR_EVENT_JOB_APPROVE, vote_body(w->job, w->spec),
	       SR_EPERM, "not an owner of its inputs");
	refuse(w, &insurer, SR_EVENT_JOB_FINISH, finish_body(w->job), SR_EPERM,
	       "it has not started");
	/* The head named by job.start must be in the chain after approval. */
	refuse(w, &insurer, SR_EVENT_JOB_START, start_body(w->job, w->ev[3].id),
	       SR_EPERM, "body.head is not an event of this chain at or after the job's last approval");
	{
		uint8_t other[SR_EVENT_ID_BYTES];
		memset(other, 7, sizeof(other));
		refuse(w, &insurer, SR_EVENT_JOB_START, start_body(w->job, other),
		       SR_EPERM, "body.head is not an event of this chain");
	}
	emit(w, &bank, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head));
	refuse(w, &shop, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head),
	       SR_EPERM, "it is already running");
	refuse(w, &shop, SR_EVENT_JOB_REJECT, vote_body(w->job, w->spec), SR_EPERM,
	       "it has already approved it");
	{
		/* job.fail records the budget charges it gives back. */
		char extra[300];
		snprintf(extra, sizeof(extra), ", \"reason\": \"peer gone\", \"refunded\":"
			 " [{\"dataset\": \"shop.visits\", \"owner\": \"%s\","
			 " \"epsilon\": \"0.5\", \"delta\": \"1e-7\"}]", shop.org_id);
		emit(w, &shop, SR_EVENT_JOB_FAIL, job_body(w->job, extra));
	}
	assert_int_equal(job->state, SR_JOB_FAILED);
	assert_string_equal(job->end_reason, "peer gone");
	assert_int_equal(json_array_size(job->refunds), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(job->refunds, 0),
							      "epsilon")), "0.5");
	/* Nothing after the end. */
	refuse(w, &insurer, SR_EVENT_JOB_FINISH, finish_body(w->job), SR_EPERM,
	       "the job has ended (failed)");

	/* A second job: cancelled by its proposer. */
	emit(w, &insurer, SR_EVENT_JOB_PROPOSE, propose_body(w->spec));
	{
		uint8_t id[SR_EVENT_ID_BYTES];
		memcpy(id, w->ev[w->n - 1].id, sizeof(id));
		refuse(w, &insurer, SR_EVENT_JOB_FAIL,
		       job_body(id, ", \"reason\": \"x\""), SR_EPERM,
		       "it has not been approved");
		emit(w, &insurer, SR_EVENT_JOB_CANCEL, job_body(id, NULL));
		assert_int_equal(sr_ledger_job_find(&w->ledger, id)->state,
				 SR_JOB_CANCELLED);
		refuse(w, &bank, SR_EVENT_JOB_APPROVE, vote_body(id, w->spec),
		       SR_EPERM, "the job has ended (cancelled)");
	}
	assert_int_equal(w->ledger.njobs, 2);
}

static void test_events_after_finish(void **state)
{
	struct world *w = *state;

	build(w, ST_FINISHED);
	refuse(w, &insurer, SR_EVENT_JOB_FINISH, finish_body(w->job), SR_EPERM,
	       "the job has ended (finished)");
	refuse(w, &bank, SR_EVENT_JOB_FAIL, job_body(w->job, ", \"reason\": \"late\""),
	       SR_EPERM, "the job has ended (finished)");
	refuse(w, &insurer, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head),
	       SR_EPERM, "the job has ended (finished)");
	refuse(w, &insurer, SR_EVENT_JOB_CANCEL, job_body(w->job, NULL), SR_EPERM,
	       "the job has ended (finished)");
	refuse(w, &outsider, SR_EVENT_JOB_START, start_body(w->job, w->ledger.head),
	       SR_EPERM, "is not a member");
}

static void test_fork(void **state)
{
	struct world *w = *state;
	struct sr_event a, b, c;
	struct sr_err err;

	build(w, ST_JOINED);
	/* Two different events at seq 5, both validly signed: the coordinator
	 * shows one history to some nodes and the other to others. */
	make(w, &a, &bank, SR_EVENT_DATASET_PUBLISH, publish_body("customers"));
	make(w, &b, &shop, SR_EVENT_DATASET_PUBLISH, publish_body("members"));
	assert_int_equal(a.seq, b.seq);
	assert_int_equal(sr_ledger_apply(&w->ledger, &a, NULL), SR_OK);
	refuse_event(w, &b, SR_EPROTO,
		     "event 5: fork: the chain already has a different event 5");
	/* An event built on the other branch does not link to our head. */
	{
		struct sr_ledger other;
		sr_ledger_init(&other);
		for (size_t i = 0; i < w->n; i++)
			assert_int_equal(sr_ledger_apply(&other, &w->ev[i], NULL), SR_OK);
		assert_int_equal(sr_ledger_apply(&other, &b, NULL), SR_OK);
		json_t *body = publish_body("policies");
		sr_event_init(&c);
		sr_err_clear(&err);
		expect(sr_event_create(&c, &insurer, PROJECT, other.next_seq, other.head,
				       SR_EVENT_DATASET_PUBLISH, T0, body, &err),
		       &err, SR_OK, NULL);
		json_decref(body);
		assert_int_equal(sr_ledger_apply(&other, &c, NULL), SR_OK);
		refuse_event(w, &c, SR_EPROTO, "event 6: prev does not match the head");
		/* The two nodes' heads differ: participants comparing heads at
		 * job start see it. */
		assert_memory_not_equal(other.head, w->ledger.head, SR_EVENT_ID_BYTES);
		sr_ledger_release(&other);
	}
	sr_event_release(&a);
	sr_event_release(&b);
	sr_event_release(&c);
}

static void test_reals_and_unknown_types(void **state)
{
	struct world *w = *state;
	struct sr_event ev;
	struct sr_err err;
	json_t *body;

	build(w, ST_JOINED);
	/* A float anywhere in a body is refused at creation... */
	body = jfmt("{\"reason\": \"x\", \"score\": 0.5}");
	sr_event_init(&ev);
	sr_err_clear(&err);
	expect(sr_event_create(&ev, &bank, PROJECT, w->ledger.next_seq, w->ledger.head,
			       SR_EVENT_MEMBER_LEAVE, T0, body, &err),
	       &err, SR_EINVAL, "body.score: real numbers are not allowed");
	json_decref(body);
	body = publish_body("customers");
	json_object_set_new(json_object_get(body, "policy"), "min_group_size",
			    json_real(5.0));
	sr_err_clear(&err);
	expect(sr_event_create(&ev, &bank, PROJECT, w->ledger.next_seq, w->ledger.head,
			       SR_EVENT_DATASET_PUBLISH, T0, body, &err),
	       &err, SR_EINVAL, "body.policy.min_group_size: real numbers are not allowed");
	json_decref(body);
	/* ... and at apply, if slipped into an event afterwards. */
	make(w, &ev, &bank, SR_EVENT_MEMBER_LEAVE, jfmt("{}"));
	json_object_set_new(ev.body, "reason", json_real(1.5));
	refuse_event(w, &ev, SR_EINVAL, "event 5: body.reason: real numbers are not allowed");
	json_object_del(ev.body, "reason");
	/* Unknown type. */
	ev.type = (enum sr_event_type)99;
	refuse_event(w, &ev, SR_EINVAL, "event 5: unknown event type 99");
	ev.type = SR_EVENT_TYPE_COUNT;
	refuse_event(w, &ev, SR_EINVAL, "unknown event type");
	sr_event_release(&ev);
	assert_null(sr_event_type_name(SR_EVENT_NONE));
	{
		enum sr_event_type t;
		assert_int_equal(sr_event_type_parse("job.finish", &t), SR_OK);
		assert_int_equal(t, SR_EVENT_JOB_FINISH);
		assert_int_equal(sr_event_type_parse("job.explode", &t), SR_EINVAL);
	}
}

static void test_to_json(void **state)
{
	struct world *w = *state;
	json_t *j = NULL, *job;
	char project_id[SR_PROJECT_ID_GEN_LEN + 1];

	build(w, ST_FINISHED);
	assert_int_equal(sr_ledger_to_json(&w->ledger, &j, NULL), SR_OK);
	assert_string_equal(json_string_value(json_object_get(j, "project")), PROJECT);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 13);
	assert_int_equal(json_array_size(json_object_get(j, "members")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "datasets")), 3);
	job = json_array_get(json_object_get(j, "jobs"), 0);
	assert_string_equal(json_string_value(json_object_get(job, "state")), "finished");
	assert_true(json_is_true(json_object_get(json_array_get(
		json_object_get(job, "owners"), 1), "approved")));
	json_decref(j);
	sr_ledger_project_id_generate(project_id);
	assert_int_equal(strlen(project_id), SR_PROJECT_ID_GEN_LEN);
	assert_memory_equal(project_id, "prj_", 4);
}

/* Parse + apply of every event of a real chain, with the n-th allocation
 * failing: SR_ENOMEM or SR_OK only, and a failure changes nothing. */
static void test_allocation_failures(void **state)
{
	struct world *w = *state;
	struct sr_ledger ledger;
	char *wires[MAX_EVENTS];
	size_t count;

	build(w, ST_FINISHED);
	count = w->n;
	for (size_t i = 0; i < count; i++)
		wires[i] = wire_of(&w->ev[i]);
	sr_ledger_init(&ledger);
	for (size_t i = 0; i < count; i++) {
		char *before = state_text(&ledger), *after;
		int done = 0;
		for (unsigned long n = 1; !done && n < 10000; n++) {
			struct sr_event ev;
			struct sr_err err;
			int rc;
			sr_event_init(&ev);
			sr_err_clear(&err);
			sr_alloc_fail_at(n, 0);
			rc = sr_event_parse(wires[i], strlen(wires[i]), &ev, &err);
			if (rc == SR_OK)
				rc = sr_ledger_apply(&ledger, &ev, &err);
			sr_alloc_fail_at(0, 0);
			sr_event_release(&ev);
			if (rc == SR_OK) {
				done = 1;
				break;
			}
			if (rc != SR_ENOMEM)
				fail_msg("event %zu, allocation %lu: got %d (%s)", i, n,
					 rc, err.msg);
			after = state_text(&ledger);
			assert_string_equal(before, after);
			free(after);
		}
		assert_true(done);
		free(before);
	}
	assert_memory_equal(ledger.head, w->ledger.head, SR_EVENT_ID_BYTES);
	sr_ledger_release(&ledger);
	for (size_t i = 0; i < count; i++)
		free(wires[i]);
}

static int group_setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	sr_identity_init(&bank);
	sr_identity_init(&shop);
	sr_identity_init(&insurer);
	sr_identity_init(&outsider);
	assert_int_equal(sr_identity_generate(&bank, NULL), SR_OK);
	assert_int_equal(sr_identity_generate(&shop, NULL), SR_OK);
	assert_int_equal(sr_identity_generate(&insurer, NULL), SR_OK);
	assert_int_equal(sr_identity_generate(&outsider, NULL), SR_OK);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sr_identity_release(&bank);
	sr_identity_release(&shop);
	sr_identity_release(&insurer);
	sr_identity_release(&outsider);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_happy_path),
		T(test_wire_round_trip_and_verify_all),
		T(test_parse_errors),
		T(test_body_schemas),
		T(test_dropped_and_reordered),
		T(test_altered_and_forged),
		T(test_membership),
		T(test_datasets),
		T(test_proposals),
		T(test_approvals),
		T(test_rejection),
		T(test_job_lifecycle_rights),
		T(test_events_after_finish),
		T(test_fork),
		T(test_reals_and_unknown_types),
		T(test_to_json),
		T(test_allocation_failures),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
