/*
 * test_coord.c - the coordinator core and its HTTP API: it appends only
 * events that extend the head, are signed by a member and allowed; it
 * answers a stale writer with the head; it survives a restart; and it
 * refuses a database edited behind its back.
 */
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "coord/coord.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "ledger/ledger.h"
#include "net/http.h"

#define PROJECT "prj_0123456789abcdef0123456789abcdef"

struct world {
	char *dir;
	struct sr_identity bank, shop, outsider;
	struct sr_coord *coord;
	uint8_t head[SR_EVENT_ID_BYTES];
	uint64_t seq;
};

static json_t *keys_body(const struct sr_identity *id, const char *name)
{
	char sign[65], kx[65];

	sr_hex(sign, id->sign_pk, sizeof(id->sign_pk));
	sr_hex(kx, id->kx_pk, sizeof(id->kx_pk));
	return json_pack("{s:s,s:s,s:s}", "name", name, "sign_pk", sign, "kx_pk", kx);
}

/* Build a signed wire event on top of (seq, prev). */
static char *make_wire(const struct sr_identity *who, uint64_t seq,
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

static int append(struct world *w, const char *wire, struct sr_err *err)
{
	char id[SR_EVENT_ID_HEX_LEN + 1], head[SR_EVENT_ID_HEX_LEN + 1];
	uint64_t seq = 0, next = 0;

	sr_err_clear(err);
	return sr_coord_append(w->coord, wire, strlen(wire), &seq, id, head, &next, err);
}

/* Append the next event of the chain, expecting success. */
static void extend(struct world *w, const struct sr_identity *who,
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

static int setup(void **state)
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

static int teardown(void **state)
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

static void test_append_and_refusals(void **state)
{
	struct world *w = *state;
	struct sr_err err;
	char id[SR_EVENT_ID_HEX_LEN + 1], head[SR_EVENT_ID_HEX_LEN + 1], want[65];
	uint64_t seq, next;
	json_t *events;
	char *wire;

	/* A stale writer (wrong prev) gets the head back. */
	wire = make_wire(&w->shop, w->seq, NULL, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	sr_err_clear(&err);
	head[0] = '\0';
	assert_int_equal(sr_coord_append(w->coord, wire, strlen(wire), &seq, id, head,
					 &next, &err), SR_EPROTO);
	sr_hex(want, w->head, sizeof(w->head));
	assert_string_equal(head, want);
	assert_int_equal(next, 3);
	sr_free(wire);
	/* The same event twice: the second is a duplicate. */
	wire = make_wire(&w->shop, w->seq, w->head, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	assert_int_equal(append(w, wire, &err), SR_OK);
	assert_int_equal(append(w, wire, &err), SR_EEXIST);
	sr_free(wire);
	/* An outsider's event is refused even on the right head. */
	assert_int_equal(sr_coord_head(w->coord, PROJECT, &next, head, &err), SR_OK);
	{
		uint8_t prev[SR_EVENT_ID_BYTES];
		assert_int_equal(sr_unhex(prev, sizeof(prev), head), SR_OK);
		wire = make_wire(&w->bank, next, prev, SR_EVENT_MEMBER_INVITE,
				 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
		/* (re-inviting an invited org is refused by the rights table) */
		assert_int_not_equal(append(w, wire, &err), SR_OK);
		sr_free(wire);
	}
	/* Unknown project, and garbage. */
	assert_int_equal(append(w, "{\"event\": 1}", &err), SR_EINVAL);
	assert_int_equal(sr_coord_events(w->coord, "prj_nope", 0, 10, &events, &err),
			 SR_ENOTFOUND);
	assert_int_equal(sr_coord_events(w->coord, PROJECT, 0, 100, &events, &err), SR_OK);
	assert_int_equal(json_array_size(events), 4);
	json_decref(events);
	assert_int_equal(sr_coord_events(w->coord, PROJECT, 2, 1, &events, &err), SR_OK);
	assert_int_equal(json_array_size(events), 1);
	json_decref(events);
}

static void test_restart_and_tamper(void **state)
{
	struct world *w = *state;
	struct sr_err err;
	char db_path[600];
	sqlite3 *db;
	uint64_t next;
	char head[SR_EVENT_ID_HEX_LEN + 1], want[65];

	sr_coord_free(w->coord);
	w->coord = NULL;
	sr_err_clear(&err);
	assert_int_equal(sr_coord_open(w->dir, &w->coord, &err), SR_OK);
	assert_int_equal(sr_coord_head(w->coord, PROJECT, &next, head, &err), SR_OK);
	assert_int_equal(next, w->seq);
	sr_hex(want, w->head, sizeof(w->head));
	assert_string_equal(head, want);
	sr_coord_free(w->coord);
	w->coord = NULL;
	/* Edit a stored event behind the coordinator's back. */
	snprintf(db_path, sizeof(db_path), "%s/coord.db", w->dir);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE events SET wire = replace(wire, 'fraud study', 'fraud studz') WHERE seq = 0",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	sr_err_clear(&err);
	assert_int_not_equal(sr_coord_open(w->dir, &w->coord, &err), SR_OK);
	assert_non_null(strstr(err.msg, "does not verify"));
	assert_non_null(strstr(err.msg, PROJECT));
	assert_null(w->coord);
}

static void test_http_api(void **state)
{
	struct world *w = *state;
	struct sr_http_server *server;
	struct sr_err err;
	char url[160], *wire;
	json_t *answer, *body;
	int status;

	sr_err_clear(&err);
	assert_int_equal(sr_http_server_start("127.0.0.1:0", 2, sr_coord_http, w->coord,
					      &server, &err), SR_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/health",
		 (unsigned)sr_http_server_port(server));
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 200);
	json_decref(answer);
	/* Post the next event as JSON. */
	wire = make_wire(&w->bank, w->seq, w->head, SR_EVENT_MEMBER_INVITE,
			 json_pack("{s:s}", "org_id", w->outsider.org_id), NULL);
	assert_int_equal(sr_json_parse(wire, strlen(wire), "wire", &body, &err), SR_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/events",
		 (unsigned)sr_http_server_port(server));
	assert_int_equal(sr_http_call("POST", url, body, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 201);
	assert_int_equal(json_integer_value(json_object_get(answer, "seq")), 3);
	json_decref(answer);
	/* Again: 409 with the head. */
	assert_int_equal(sr_http_call("POST", url, body, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 409);
	assert_int_equal(json_integer_value(json_object_get(answer, "next_seq")), 4);
	assert_true(json_is_string(json_object_get(answer, "head")));
	json_decref(answer);
	json_decref(body);
	sr_free(wire);
	/* Reads. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/projects/%s/events/1",
		 (unsigned)sr_http_server_port(server), PROJECT);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 200);
	assert_int_equal(json_array_size(answer), 3);
	json_decref(answer);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/projects/%s/events/x",
		 (unsigned)sr_http_server_port(server), PROJECT);
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 400);
	json_decref(answer);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/projects/prj_x/head",
		 (unsigned)sr_http_server_port(server));
	assert_int_equal(sr_http_call("GET", url, NULL, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 404);
	json_decref(answer);
	/* A malformed event is a 400 that names the problem. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/events",
		 (unsigned)sr_http_server_port(server));
	body = json_pack("{s:s}", "event", "nope");
	assert_int_equal(sr_http_call("POST", url, body, NULL, 5000, &status, &answer, &err), SR_OK);
	assert_int_equal(status, 400);
	assert_true(json_is_string(json_object_get(answer, "error")));
	json_decref(answer);
	json_decref(body);
	sr_http_server_stop(server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_and_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_api, setup, teardown),
	};

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK || sr_http_global_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
