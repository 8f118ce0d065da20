/*
 * fuzz_event.c - libFuzzer target for ledger events.  The input is an
 * event's wire JSON.
 *
 * 1. Parse it.  Whatever arrives must end in a parsed event or an error,
 *    never a crash, hang or leak.
 * 2. A parsed event must round-trip: its encoding parses back to an event
 *    with the same id and the same canonical bytes.
 * 3. Its body then goes through the chain rules: the event is moved onto a
 *    fixed project chain (bank creates, invites shop and insurer, both join,
 *    bank and shop publish a dataset, insurer proposes a PSI job) as the
 *    next event, by one of four fixed identities (picked from the input's
 *    author; the fourth is not a member), re-signed, and applied.  So the
 *    fuzzer reaches the rights and fold code with valid signatures.  To
 *    help it name things that exist, body.job_id, body.spec_hash and
 *    body.head are replaced by the chain's job id, its spec hash and the
 *    head unless they start with "ffff".  A refused event must leave the
 *    ledger exactly as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROJECT "prj_fuzz"
#define NBASE 8

static struct sr_identity ids[4];       /* bank, shop, insurer, outsider */
static struct sr_event base[NBASE];
static struct sr_ledger ledger;          /* base chain, or one event more */
static int ledger_dirty;
static char *base_state;
static char job_hex[65], spec_hash_hex[65];

static void fixed_identity(struct sr_identity *id, unsigned char tag)
{
	unsigned char seed[32];

	memset(seed, tag, sizeof(seed));
	sr_identity_init(id);
	id->sign_sk = sodium_malloc(SR_SIGN_SECRETKEYBYTES);
	id->kx_sk = sodium_malloc(SR_BOX_SECRETKEYBYTES);
	if (!id->sign_sk || !id->kx_sk)
		abort();
	crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
	crypto_box_seed_keypair(id->kx_pk, id->kx_sk, seed);
	sr_identity_org_id(id->org_id, id->sign_pk);
}

static json_t *keys_json(const struct sr_identity *id, const char *name)
{
	char sign[65], kx[65];

	sr_hex(sign, id->sign_pk, sizeof(id->sign_pk));
	sr_hex(kx, id->kx_pk, sizeof(id->kx_pk));
	return json_pack("{s:s,s:s,s:s}", "name", name, "sign_pk", sign,
			 "kx_pk", kx);
}

static json_t *publish_json(const char *dataset)
{
	static const char *const names[] = { "email", "amount" };
	static const enum sr_type types[] = { SR_TYPE_STRING, SR_TYPE_INT64 };
	static const char policy_text[] =
		"{\"columns\": {\"email\": {\"class\": \"id\"},"
		" \"amount\": {\"class\": \"sa\", \"bounds\": [0, 100]}}}";
	struct sr_policy pol;
	json_t *policy = NULL;

	sr_policy_init(&pol);
	if (sr_policy_parse(policy_text, strlen(policy_text), "p", &pol, NULL) ||
	    sr_policy_bind(&pol, names, types, 2, NULL) ||
	    sr_policy_to_json(&pol, &policy, NULL))
		abort();
	sr_policy_release(&pol);
	return json_pack("{s:s,s:s,s:i,s:[{s:s,s:s,s:s},{s:s,s:s,s:s}],s:o}",
			 "dataset", dataset, "version_id",
			 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
			 "rows", 10, "schema",
			 "name", "email", "type", "string", "class", "id",
			 "name", "amount", "type", "int64", "class", "sa",
			 "policy", policy);
}

static void add_base(size_t i, const struct sr_identity *who,
		     enum sr_event_type type, json_t *body)
{
	const uint8_t *prev = i ? base[i - 1].id : NULL;

	sr_event_init(&base[i]);
	if (!body || sr_event_create(&base[i], who, PROJECT, i, prev, type,
				     1700000000 + (int64_t)i, body, NULL) != SR_OK)
		abort();
	json_decref(body);
}

static char *state_text(void)
{
	struct sr_buf buf;
	json_t *j = NULL;
	char *text;

	sr_buf_init(&buf, 0);
	if (sr_ledger_to_json(&ledger, &j, NULL) ||
	    sr_json_canonical(j, &buf, NULL))
		abort();
	json_decref(j);
	text = sr_buf_detach(&buf, NULL);
	if (!text)
		abort();
	return text;
}

static void load_base(void)
{
	sr_ledger_release(&ledger);
	if (sr_ledger_verify_all(&ledger, base, NBASE, NULL, NULL) != SR_OK)
		abort();
	ledger_dirty = 0;
}

static void setup(void)
{
	json_t *creator, *spec;
	uint8_t hash[SR_HASH_BYTES];

	if (sr_crypto_init() != SR_OK)
		abort();
	sr_alloc_setup_json();
	for (unsigned char i = 0; i < 4; i++)
		fixed_identity(&ids[i], (unsigned char)(i + 1));
	creator = keys_json(&ids[0], "bank");
	json_object_set_new(creator, "org_id", json_string(ids[0].org_id));
	add_base(0, &ids[0], SR_EVENT_PROJECT_CREATE,
		 json_pack("{s:s,s:o}", "name", "fuzz", "creator", creator));
	add_base(1, &ids[0], SR_EVENT_MEMBER_INVITE,
		 json_pack("{s:s}", "org_id", ids[1].org_id));
	add_base(2, &ids[0], SR_EVENT_MEMBER_INVITE,
		 json_pack("{s:s}", "org_id", ids[2].org_id));
	add_base(3, &ids[1], SR_EVENT_MEMBER_JOIN, keys_json(&ids[1], "shop"));
	add_base(4, &ids[2], SR_EVENT_MEMBER_JOIN, keys_json(&ids[2], "insurer"));
	add_base(5, &ids[0], SR_EVENT_DATASET_PUBLISH, publish_json("customers"));
	add_base(6, &ids[1], SR_EVENT_DATASET_PUBLISH, publish_json("members"));
	spec = json_pack("{s:s,s:s,s:[{s:s,s:s},{s:s,s:s}],s:[s]}",
			 "kind", "psi", "mode", "intersection", "inputs",
			 "dataset", "bank.customers", "column", "email",
			 "dataset", "shop.members", "column", "email",
			 "receivers", ids[2].org_id);
	if (!spec || sr_event_spec_hash(spec, hash, NULL) != SR_OK)
		abort();
	add_base(7, &ids[2], SR_EVENT_JOB_PROPOSE,
		 json_pack("{s:o,s:{s:b,s:[]}}", "spec", spec, "verdict",
			   "accept", 1, "violations"));
	sr_hex(job_hex, base[7].id, sizeof(base[7].id));
	sr_hex(spec_hash_hex, hash, sizeof(hash));
	sr_ledger_init(&ledger);
	load_base();
	base_state = state_text();
}

/* Point body.key at something that exists, unless it starts with "ffff". */
static void steer(json_t *body, const char *key, const char *value)
{
	const char *s = json_string_value(json_object_get(body, key));

	if (s && strncmp(s, "ffff", 4) != 0)
		json_object_set_new(body, key, json_string(value));
}

static void round_trip(const struct sr_event *ev)
{
	struct sr_buf wire, a, b;
	struct sr_event again;

	sr_buf_init(&wire, 0);
	sr_buf_init(&a, 0);
	sr_buf_init(&b, 0);
	sr_event_init(&again);
	if (sr_event_encode(ev, &wire, NULL) != SR_OK ||
	    sr_event_parse(wire.data, wire.len, &again, NULL) != SR_OK ||
	    memcmp(again.id, ev->id, sizeof(ev->id)) != 0 ||
	    memcmp(again.sig, ev->sig, sizeof(ev->sig)) != 0 ||
	    sr_event_canonical(ev, &a, NULL) != SR_OK ||
	    sr_event_canonical(&again, &b, NULL) != SR_OK ||
	    a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	sr_event_release(&again);
	sr_buf_release(&wire);
	sr_buf_release(&a);
	sr_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sr_event ev;
	struct sr_err err;
	const struct sr_identity *who;
	char head_hex[65];
	json_t *body;
	char *after;
	int rc;

	if (!ready) {
		setup();
		ready = 1;
	}
	sr_event_init(&ev);
	sr_err_clear(&err);
	if (sr_event_parse((const char *)data, size, &ev, &err) != SR_OK)
		return 0;
	round_trip(&ev);

	if (ledger_dirty)
		load_base();
	/* The same type and body, as the next event of the fixed chain. */
	who = &ids[(unsigned char)ev.author[4] % 4];
	body = json_deep_copy(ev.body);
	if (!body)
		abort();
	sr_hex(head_hex, ledger.head, sizeof(ledger.head));
	steer(body, "job_id", job_hex);
	steer(body, "spec_hash", spec_hash_hex);
	steer(body, "head", head_hex);
	rc = sr_event_create(&ev, who, PROJECT, ledger.next_seq, ledger.head,
			     ev.type, ev.time, body, &err);
	json_decref(body);
	if (rc == SR_OK) {
		sr_err_clear(&err);
		rc = sr_ledger_apply(&ledger, &ev, &err);
		if (rc == SR_OK) {
			ledger_dirty = 1;
		} else {
			after = state_text();
			if (strcmp(after, base_state) != 0)
				abort();   /* a refused event changed the state */
			sr_free(after);
		}
	}
	sr_event_release(&ev);
	return 0;
}
