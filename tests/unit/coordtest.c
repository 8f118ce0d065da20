/*
 * coordtest.c - the coordinator world of the unit tests (coordtest.h).
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/json.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "net/coordconn.h"
#include "net/http.h"
#include "net/reqsig.h"
#include "policy/policy.h"

#include "coordtest.h"

json_t *keys_body(const struct sr_identity *id, const char *name)
{
	char sign[65], kx[65];

	sr_hex(sign, id->sign_pk, sizeof(id->sign_pk));
	sr_hex(kx, id->kx_pk, sizeof(id->kx_pk));
	return json_pack("{s:s,s:s,s:s}", "name", name, "sign_pk", sign, "kx_pk", kx);
}

/* Build a signed wire event on top of (seq, prev). */
char *make_wire(const struct sr_identity *who, uint64_t seq,
		       const uint8_t *prev, enum sr_event_type type,
		       json_t *body, uint8_t id_out[SR_EVENT_ID_BYTES])
{
	struct sr_event ev;
	struct sr_buf wire;
	struct sr_err err;

	sr_err_clear(&err);
	sr_event_init(&ev);
	sr_buf_init(&wire, 0);
	assert_int_equal(sr_event_create(&ev, who, PROJECT, seq, prev, type,
					 1767225600 + (int64_t)seq, body, &err), SR_OK);
	assert_int_equal(sr_event_encode(&ev, &wire, &err), SR_OK);
	if (id_out)
		memcpy(id_out, ev.id, SR_EVENT_ID_BYTES);
	sr_event_release(&ev);
	json_decref(body);
	return sr_buf_detach(&wire, NULL);
}

int append(struct world *w, const char *wire, struct sr_err *err)
{
	char id[SR_EVENT_ID_HEX_LEN + 1], head[SR_EVENT_ID_HEX_LEN + 1];
	uint64_t seq = 0, next = 0;

	sr_err_clear(err);
	return sr_coord_append(w->coord, wire, strlen(wire), &seq, id, head, &next, err);
}

/* Append the next event of the chain, expecting success. */
void extend(struct world *w, const struct sr_identity *who,
		   enum sr_event_type type, json_t *body)
{
	struct sr_err err;
	uint8_t id[SR_EVENT_ID_BYTES];
	char *wire = make_wire(who, w->seq, w->seq ? w->head : NULL, type, body, id);

	if (append(w, wire, &err) != SR_OK)
		fail_msg("append %llu: %s", (unsigned long long)w->seq, err.msg);
	memcpy(w->head, id, sizeof(id));
	w->seq++;
	sr_free(wire);
}

int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sr_err err;
	json_t *creator;

	assert_non_null(w);
	sr_err_clear(&err);
	w->dir = sr_test_tmpdir();
	sr_identity_init(&w->bank);
	sr_identity_init(&w->shop);
	sr_identity_init(&w->outsider);
	assert_int_equal(sr_identity_generate(&w->bank, &err), SR_OK);
	assert_int_equal(sr_identity_generate(&w->shop, &err), SR_OK);
	assert_int_equal(sr_identity_generate(&w->outsider, &err), SR_OK);
	assert_int_equal(sr_coord_open(w->dir, &w->coord, &err), SR_OK);
	creator = keys_body(&w->bank, "bank");
	json_object_set_new(creator, "org_id", json_string(w->bank.org_id));
	extend(w, &w->bank, SR_EVENT_PROJECT_CREATE,
	       json_pack("{s:s,s:o}", "name", "fraud study", "creator", creator));
	extend(w, &w->bank, SR_EVENT_MEMBER_INVITE,
	       json_pack("{s:s}", "org_id", w->shop.org_id));
	extend(w, &w->shop, SR_EVENT_MEMBER_JOIN, keys_body(&w->shop, "shop"));
	*state = w;
	return 0;
}

int teardown(void **state)
{
	struct world *w = *state;

	sr_coord_free(w->coord);
	sr_identity_release(&w->bank);
	sr_identity_release(&w->shop);
	sr_identity_release(&w->outsider);
	sr_test_tmpdir_free(w->dir);
	free(w);
	return 0;
}

/* A published one-column dataset of who, named NAME. */
void publish(struct world *w, const struct sr_identity *who, const char *name)
{
	const char *names[1] = { "customer_id" };
	enum sr_type types[1] = { SR_TYPE_STRING };
	struct sr_policy pol;
	struct sr_err err;
	json_t *pj = NULL;

	sr_err_clear(&err);
	sr_policy_init(&pol);
	assert_int_equal(sr_policy_from_names(names, 1, &pol, &err), SR_OK);
	assert_int_equal(sr_policy_bind(&pol, names, types, 1, &err), SR_OK);
	assert_int_equal(sr_policy_to_json(&pol, &pj, &err), SR_OK);
	sr_policy_release(&pol);
	extend(w, who, SR_EVENT_DATASET_PUBLISH,
	       json_pack("{s:s,s:s,s:i,s:[{s:s,s:s,s:s}],s:o}", "dataset", name,
			 "version_id", "0101010101010101010101010101010101010101010101010101010101010101",
			 "rows", 10, "schema", "name", "customer_id", "type", "string",
			 "class", "id", "policy", pj));
}

/* Publish a dataset each (first time), propose a PSI job between bank and
 * shop and approve it; its id in job_hex. */
int propose_job(struct world *w, const char *note, char job_hex[SR_EVENT_ID_HEX_LEN + 1],
		char sh_hex[SR_HASH_BYTES * 2 + 1], struct sr_err *err)
{
	uint8_t id[SR_EVENT_ID_BYTES], spec_hash[SR_HASH_BYTES];
	json_t *spec = json_pack("{s:s,s:s,s:[{s:s,s:s},{s:s,s:s}],s:[s],s:s}", "kind", "psi",
				 "mode", "intersection", "inputs", "dataset", "bank.c", "column",
				 "customer_id", "dataset", "shop.c", "column", "customer_id",
				 "receivers", w->bank.org_id, "note", note);
	char *wire;
	int rc;

	sr_err_clear(err);
	assert_int_equal(sr_event_spec_hash(spec, spec_hash, err), SR_OK);
	if (sh_hex)
		sr_hex(sh_hex, spec_hash, sizeof(spec_hash));
	wire = make_wire(&w->bank, w->seq, w->head, SR_EVENT_JOB_PROPOSE,
			 json_pack("{s:o,s:{s:b,s:[]}}", "spec", spec, "verdict",
				   "accept", 1, "violations"), id);
	rc = append(w, wire, err);
	if (rc == SR_OK) {
		memcpy(w->head, id, sizeof(id));
		w->seq++;
		sr_hex(job_hex, id, sizeof(id));
	}
	sr_free(wire);
	return rc;
}

void approved_job(struct world *w, char job_hex[SR_EVENT_ID_HEX_LEN + 1],
		  int first, const char *receiver_note)
{
	char sh_hex[SR_HASH_BYTES * 2 + 1];
	struct sr_err err;

	if (first) {
		publish(w, &w->bank, "c");
		publish(w, &w->shop, "c");
	}
	if (propose_job(w, receiver_note, job_hex, sh_hex, &err) != SR_OK)
		fail_msg("propose: %s", err.msg);
	extend(w, &w->bank, SR_EVENT_JOB_APPROVE, json_pack("{s:s,s:s}", "job_id", job_hex,
	       "spec_hash", sh_hex));
	extend(w, &w->shop, SR_EVENT_JOB_APPROVE, json_pack("{s:s,s:s}", "job_id", job_hex,
	       "spec_hash", sh_hex));
}

void reopen(struct world *w, const struct sr_coord_opts *opts)
{
	struct sr_err err;

	sr_err_clear(&err);
	sr_coord_free(w->coord);
	w->coord = NULL;
	if (sr_coord_open_opts(w->dir, opts, &w->coord, &err) != SR_OK)
		fail_msg("reopen: %s", err.msg);
}

/* Call the coordinator at port as who, with a signed request. */
int signed_call(uint16_t port, const struct sr_identity *who,
		       const char *method, const char *path, const json_t *body,
		       int *status, json_t **answer)
{
	char url[256], auth[SR_REQSIG_MAX];
	struct sr_http_call_opts opts;
	struct sr_buf text;
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	sr_buf_init(&text, 0);
	if (body)
		assert_int_equal(sr_json_dump(body, 0, &text), SR_OK);
	sr_reqsig_make(who, method, path, body ? text.data : NULL, body ? text.len : 0,
		       (int64_t)time(NULL), auth);
	memset(&opts, 0, sizeof(opts));
	opts.authorization = auth;
	opts.timeout_ms = 5000;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
	rc = sr_http_call_opts(method, url, body, &opts, status, answer, &err);
	sr_buf_release(&text);
	return rc;
}

/* A signed raw call (the mailboxes' binary bodies), the answer in out,
 * asking the server to wait up to wait_ms (or not, when negative). */
int raw_call_wait(uint16_t port, const struct sr_identity *who,
			 const char *method, const char *path, const void *body,
			 size_t len, int wait_ms, int *status, struct sr_buf *out)
{
	struct sr_coordconn *cc = NULL;
	struct sr_coordconn_req rq;
	struct sr_http_answer ans;
	struct sr_err err;
	char url[64];
	int rc;

	sr_err_clear(&err);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)port);
	assert_int_equal(sr_coordconn_new(url, NULL, who, &cc, &err), SR_OK);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	rq.content_type = body ? "application/octet-stream" : NULL;
	rq.body = body;
	rq.body_len = len;
	rq.wait_ms = wait_ms;
	rq.timeout_ms = 5000;
	memset(&ans, 0, sizeof(ans));
	sr_buf_reset(out);
	ans.body = out;
	rc = sr_coordconn_call(cc, &rq, &ans, &err);
	*status = ans.status;
	sr_coordconn_free(cc);
	return rc;
}

int raw_call(uint16_t port, const struct sr_identity *who, const char *method,
		    const char *path, const void *body, size_t len, int *status,
		    struct sr_buf *out)
{
	return raw_call_wait(port, who, method, path, body, len, -1, status, out);
}

/* Register who over HTTP (POST /v1/orgs, signed with its own key). */
void register_http(uint16_t port, const struct sr_identity *who, const char *name)
{
	json_t *body = keys_body(who, name), *answer = NULL;
	int status = 0;

	json_object_set_new(body, "org_id", json_string(who->org_id));
	assert_int_equal(signed_call(port, who, "POST", "/v1/orgs", body, &status, &answer),
			 SR_OK);
	if (status != 201)
		fail_msg("registering %s: %d %s", name, status,
			 json_string_value(json_object_get(answer, "error")));
	json_decref(answer);
	json_decref(body);
}
