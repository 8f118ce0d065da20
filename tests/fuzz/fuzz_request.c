/*
 * fuzz_request.c - libFuzzer target for the coordinator's request handling
 * (sr_coord_http, docs/api.md "Coordinator API"), called directly: no
 * network, no threads.
 *
 * Once: a coordinator in a temp directory with three registered orgs (bank
 * and shop, members of project "prj_fuzz", and an outsider that is
 * registered but no member) and a chain that gets reads and mailboxes past
 * "not found": the bank creates the project and invites the shop, the shop
 * joins, both publish a dataset, the bank proposes a PSI job and both
 * approve it, so its mailboxes are open.  Identities, project id and times
 * are fixed, so the seeds (tests/fuzz/corpus/fuzz_request/) can name them.
 * The directory is $TMPDIR/sr-fuzz-request-PID (or under /tmp), removed at
 * exit; one left by a crashed run is removed by the next run.  Every
 * request asks for a mailbox wait of 0 ms, so fetches never wait, and
 * what the fuzzer deposits is drained, so the mailboxes never fill up.
 *
 * Input: selector byte, then the rest.
 *   selector & 7     endpoint: 0 POST /v1/orgs, 1 POST /v1/events,
 *                    2 GET .../head, 3 GET .../events/N,
 *                    4 POST .../jobs/J/mailbox/TO/SEQ (binary body),
 *                    5 GET .../jobs/J/mailbox/FROM/NEXT (binary answer),
 *                    6 GET /v1/invitations, 7 the path from the input
 *   selector & 8     Authorization is fuzzed bytes instead of a signature
 *   (selector>>4)&3  signer: bank, shop, bank with a stale time, outsider
 *   (selector>>6)&3  method: the endpoint's own, GET<->POST swapped, PUT
 * Endpoints 3, 4 and 5 take one parameter byte after the selector (project,
 * job, peer, N), endpoints 4 and 5 a second one (SEQ, NEXT).  Endpoint 7 takes the
 * path up to a NUL.  With fuzzed authorization, the header follows, up to
 * a NUL (an empty one means no header).  The rest is the body.
 *
 * The request is signed correctly (sr_reqsig_make) unless fuzzed, so the
 * fuzzer reaches the JSON handling behind authentication.  Checked after
 * every call:
 *   - the status (0 meaning 200, as the server does) is in 200..599;
 *   - a 4xx/5xx answer is an object with a non-empty string "error", and a
 *     2xx answer has a body: JSON, or for the mailboxes binary, whose
 *     stream gives exactly the bytes it announced;
 *   - the answer dumps (sr_json_dump) and parses back (sr_json_parse);
 *   - fuzzed or stale authorization is never answered with a 2xx (except
 *     /v1/health), nor is the outsider on a project path;
 *   - the chain never changes: nothing the fuzzer can send carries a
 *     member's event signature, so no event may be appended.
 * ASan and LeakSanitizer catch the rest.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "coord/coord.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "ledger/event.h"
#include "base/file.h"
#include "base/limits.h"
#include "net/coordconn.h"
#include "net/http.h"
#include "net/reqsig.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROJECT "prj_fuzz"
#define NO_PROJECT "prj_none"
#define UNKNOWN_JOB "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define TIME0 1700000000
#define DIR_PREFIX "sr-fuzz-request-"

enum { BANK, SHOP, OUTSIDER, NIDS };

static struct sr_identity ids[NIDS];
static const char *const names[NIDS] = { "bank", "shop", "outsider" };
static struct sr_coord *coord;
static char dir[512];
static char job_hex[SR_EVENT_ID_HEX_LEN + 1];
static char base_head[SR_EVENT_ID_HEX_LEN + 1];
static uint64_t base_next_seq;
static uint8_t chain_head[SR_EVENT_ID_BYTES];
static uint64_t chain_seq;

static void die(const char *what, const struct sr_err *err)
{
	fprintf(stderr, "fuzz_request: %s%s%s\n", what, err ? ": " : "",
		err ? err->msg : "");
	abort();
}

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

/* Sign the next event of the chain as who and append it (body: stolen). */
static void extend(const struct sr_identity *who, enum sr_event_type type,
		   json_t *body)
{
	char id_hex[SR_EVENT_ID_HEX_LEN + 1], head[SR_EVENT_ID_HEX_LEN + 1];
	struct sr_event ev;
	struct sr_buf wire;
	struct sr_err err;
	uint64_t seq, next;

	sr_err_clear(&err);
	sr_event_init(&ev);
	sr_buf_init(&wire, 0);
	if (!body || sr_event_create(&ev, who, PROJECT, chain_seq,
				     chain_seq ? chain_head : NULL, type,
				     TIME0 + (int64_t)chain_seq, body, &err) != SR_OK ||
	    sr_event_encode(&ev, &wire, &err) != SR_OK ||
	    sr_coord_append(coord, wire.data, wire.len, &seq, id_hex, head,
			    &next, &err) != SR_OK)
		die("building the chain", &err);
	memcpy(chain_head, ev.id, sizeof(chain_head));
	chain_seq++;
	json_decref(body);
	sr_event_release(&ev);
	sr_buf_release(&wire);
}

/* A one-column dataset of who, policy classified by name (as
 * tests/unit/test_coord.c publishes). */
static void publish(const struct sr_identity *who, const char *dataset)
{
	static const char *const cols[1] = { "customer_id" };
	static const enum sr_type types[1] = { SR_TYPE_STRING };
	struct sr_policy pol;
	struct sr_err err;
	json_t *pj = NULL;

	sr_err_clear(&err);
	sr_policy_init(&pol);
	if (sr_policy_from_names(cols, 1, &pol, &err) != SR_OK ||
	    sr_policy_bind(&pol, cols, types, 1, &err) != SR_OK ||
	    sr_policy_to_json(&pol, &pj, &err) != SR_OK)
		die("policy", &err);
	sr_policy_release(&pol);
	extend(who, SR_EVENT_DATASET_PUBLISH,
	       json_pack("{s:s,s:s,s:i,s:[{s:s,s:s,s:s}],s:o}", "dataset", dataset,
			 "version_id",
			 "0101010101010101010101010101010101010101010101010101010101010101",
			 "rows", 10, "schema", "name", "customer_id", "type", "string",
			 "class", "id", "policy", pj));
}

/* Empty every mailbox and forget every seq taken: expiry as if the
 * retention had passed, which also drops the idle jobs' state. */
static void drain_mailboxes(void)
{
	(void)sr_coord_mail_expire(coord, (int64_t)time(NULL) + SR_MAILBOX_RETENTION_MAX_S + 1);
}

/* Fetches never wait: every request asks for a wait of 0 ms. */
static const char *no_wait(const struct sr_http_request *req, const char *name)
{
	(void)req;
	return strcmp(name, SR_COORD_WAIT_HEADER) == 0 ? "0" : NULL;
}

/* Remove a coordinator directory this target made. */
static void remove_dir(const char *path)
{
	(void)sr_rm_rf(path, NULL);
}

/* A crash skips atexit: remove what dead runs of this target left in tmp
 * (their directory names carry their pid). */
static void sweep(const char *tmp)
{
	char path[600];
	struct dirent *de;
	DIR *d = opendir(tmp);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (strncmp(de->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(DIR_PREFIX), &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmp, de->d_name);
		remove_dir(path);
	}
	closedir(d);
}

static void cleanup(void)
{
	sr_coord_free(coord);
	coord = NULL;
	remove_dir(dir);
	for (int i = 0; i < NIDS; i++)
		sr_identity_release(&ids[i]);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	uint8_t spec_hash[SR_HASH_BYTES];
	char sh_hex[2 * SR_HASH_BYTES + 1];
	struct sr_err err;
	json_t *creator, *spec;

	sr_err_clear(&err);
	if (sr_crypto_init() != SR_OK)
		abort();
	sr_alloc_setup_json();
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	sweep(tmp);
	snprintf(dir, sizeof(dir), "%s/" DIR_PREFIX "%ld", tmp, (long)getpid());
	remove_dir(dir);   /* a dead run's, under a reused pid */
	if (mkdir(dir, 0700) != 0)
		die("cannot make the coordinator's directory", NULL);
	if (sr_coord_open(dir, &coord, &err) != SR_OK)
		die("sr_coord_open", &err);
	atexit(cleanup);
	for (int i = 0; i < NIDS; i++) {
		fixed_identity(&ids[i], (unsigned char)(0xa1 + i));
		if (sr_coord_register(coord, ids[i].org_id, names[i], ids[i].sign_pk,
				      ids[i].kx_pk, &err) != SR_OK)
			die("sr_coord_register", &err);
	}
	creator = keys_json(&ids[BANK], "bank");
	json_object_set_new(creator, "org_id", json_string(ids[BANK].org_id));
	extend(&ids[BANK], SR_EVENT_PROJECT_CREATE,
	       json_pack("{s:s,s:o}", "name", "fuzz study", "creator", creator));
	extend(&ids[BANK], SR_EVENT_MEMBER_INVITE,
	       json_pack("{s:s}", "org_id", ids[SHOP].org_id));
	extend(&ids[SHOP], SR_EVENT_MEMBER_JOIN, keys_json(&ids[SHOP], "shop"));
	publish(&ids[BANK], "customers");
	publish(&ids[SHOP], "members");
	spec = json_pack("{s:s,s:s,s:[{s:s,s:s},{s:s,s:s}],s:[s]}", "kind", "psi",
			 "mode", "intersection", "inputs",
			 "dataset", "bank.customers", "column", "customer_id",
			 "dataset", "shop.members", "column", "customer_id",
			 "receivers", ids[BANK].org_id);
	if (!spec || sr_event_spec_hash(spec, spec_hash, &err) != SR_OK)
		die("spec", &err);
	sr_hex(sh_hex, spec_hash, sizeof(spec_hash));
	extend(&ids[BANK], SR_EVENT_JOB_PROPOSE,
	       json_pack("{s:o,s:{s:b,s:[]}}", "spec", spec, "verdict",
			 "accept", 1, "violations"));
	sr_hex(job_hex, chain_head, sizeof(chain_head));
	extend(&ids[BANK], SR_EVENT_JOB_APPROVE,
	       json_pack("{s:s,s:s}", "job_id", job_hex, "spec_hash", sh_hex));
	extend(&ids[SHOP], SR_EVENT_JOB_APPROVE,
	       json_pack("{s:s,s:s}", "job_id", job_hex, "spec_hash", sh_hex));
	if (sr_coord_head(coord, PROJECT, &base_next_seq, base_head, &err) != SR_OK)
		die("sr_coord_head", &err);
}

/* Bytes of the input up to a NUL (consumed) or its end, as a new string. */
static char *take_string(const uint8_t **p, size_t *left)
{
	const uint8_t *nul = memchr(*p, 0, *left);
	size_t len = nul ? (size_t)(nul - *p) : *left;
	char *s = malloc(len + 1);

	if (!s)
		abort();
	memcpy(s, *p, len);
	s[len] = '\0';
	*p += len + (nul ? 1 : 0);
	*left -= len + (nul ? 1 : 0);
	return s;
}

static uint8_t take_byte(const uint8_t **p, size_t *left)
{
	uint8_t b = 0;

	if (*left) {
		b = **p;
		(*p)++;
		(*left)--;
	}
	return b;
}

static const char *peer_id(uint8_t choice)
{
	switch (choice & 3) {
	case 0: return ids[SHOP].org_id;
	case 1: return ids[BANK].org_id;
	case 2: return ids[OUTSIDER].org_id;
	default: return "org_zz";
	}
}

static const char *next_text(uint8_t q, char buf[24])
{
	switch (q) {
	case 250: return "18446744073709551616";
	case 251: return "-1";
	case 252: return "x";
	case 253: return "00";
	case 254: return "9223372036854775806";
	case 255: return "";
	default:
		snprintf(buf, 24, "%u", (unsigned)q);
		return buf;
	}
}

/* Build the path of a fixed endpoint (0..6) into path; *natural gets the
 * method the endpoint expects. */
static void fixed_path(int endpoint, const uint8_t **p, size_t *left,
		       char *path, size_t cap, const char **natural)
{
	uint8_t a, b;
	const char *project, *job;
	char next[24];

	*natural = "GET";
	switch (endpoint) {
	case 0:
		*natural = "POST";
		snprintf(path, cap, "/v1/orgs");
		return;
	case 1:
		*natural = "POST";
		snprintf(path, cap, "/v1/events");
		return;
	case 6:
		snprintf(path, cap, "/v1/invitations");
		return;
	default:
		break;
	}
	a = take_byte(p, left);
	project = (a >> 6) == 3 ? NO_PROJECT : PROJECT;
	switch ((a >> 4) & 3) {
	case 2: job = UNKNOWN_JOB; break;
	case 3: job = "0123abc"; break;
	default: job = job_hex; break;
	}
	switch (endpoint) {
	case 2:
		snprintf(path, cap, "/v1/projects/%s/head", project);
		return;
	case 3:
		snprintf(path, cap, "/v1/projects/%s/events/%u", project,
			 (unsigned)(a & 0x3f));
		return;
	case 4:
		*natural = "POST";
		b = take_byte(p, left);
		snprintf(path, cap, "/v1/projects/%s/jobs/%s/mailbox/%s/%s", project,
			 job, peer_id(a), next_text(b, next));
		return;
	default:
		b = take_byte(p, left);
		snprintf(path, cap, "/v1/projects/%s/jobs/%s/mailbox/%s/%s", project,
			 job, peer_id(a), next_text(b, next));
		return;
	}
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The checks on an answer (see the top of the file). */
static void check_answer(const struct sr_http_request *req, int rc,
			 struct sr_http_response *resp, int unauthorized,
			 int outsider)
{
	struct sr_buf text;
	struct sr_err err;
	json_t *again = NULL;
	const char *msg;
	int status = resp->status;

	if (rc < 0 && status == 0)
		sr_http_error(resp, status = 500, "internal error: %s", sr_strerror(rc));
	if (status == 0)
		status = 200;
	if (status < 200 || status > 599) {
		fprintf(stderr, "fuzz_request: %s %s: status %d\n", req->method,
			req->path, status);
		abort();
	}
	if (status >= 400) {
		msg = json_string_value(json_object_get(resp->body, "error"));
		if (!json_is_object(resp->body) || !msg || !msg[0]) {
			fprintf(stderr, "fuzz_request: %s %s: status %d without {\"error\": ...}\n",
				req->method, req->path, status);
			abort();
		}
	} else {
		if (!resp->body && !resp->raw_type) {
			fprintf(stderr, "fuzz_request: %s %s: status %d without a body\n",
				req->method, req->path, status);
			abort();
		}
		if (resp->stream_read) {
			char buf[4096];
			uint64_t pos = 0;
			while (pos < resp->stream_len) {
				long n = resp->stream_read(resp->stream_ctx, pos, buf, sizeof(buf));
				if (n <= 0 || (uint64_t)n > resp->stream_len - pos)
					die("a binary answer does not give the bytes it announced", NULL);
				pos += (uint64_t)n;
			}
		}
		if (strcmp(req->path, "/v1/health") != 0 && unauthorized) {
			fprintf(stderr, "fuzz_request: %s %s: status %d for a request that is not validly signed\n",
				req->method, req->path, status);
			abort();
		}
		if (outsider && starts_with(req->path, "/v1/projects/")) {
			fprintf(stderr, "fuzz_request: %s %s: status %d for a non-member\n",
				req->method, req->path, status);
			abort();
		}
	}
	if (!resp->body)
		return;
	sr_err_clear(&err);
	sr_buf_init(&text, 0);
	if (sr_json_dump(resp->body, 0, &text) != SR_OK)
		die("the answer does not dump", NULL);
	if (sr_json_parse(text.data, text.len, "answer", &again, &err) != SR_OK)
		die("the answer does not parse back", &err);
	json_decref(again);
	sr_buf_release(&text);
}

static void check_chain(void)
{
	char head[SR_EVENT_ID_HEX_LEN + 1];
	struct sr_err err;
	uint64_t next;

	sr_err_clear(&err);
	if (sr_coord_head(coord, PROJECT, &next, head, &err) != SR_OK)
		die("sr_coord_head", &err);
	if (next != base_next_seq || strcmp(head, base_head) != 0) {
		fprintf(stderr, "fuzz_request: the chain changed: next_seq %llu, head %s\n",
			(unsigned long long)next, head);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sr_http_request req;
	struct sr_http_response resp;
	char auth_buf[SR_REQSIG_MAX], fixed[256];
	char *path = NULL, *auth = NULL, *body;
	const char *natural;
	const uint8_t *p = data + 1;
	size_t left;
	int endpoint, fuzz_auth, signer, method_mode, rc;
	int64_t now;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	left = size - 1;
	endpoint = data[0] & 7;
	fuzz_auth = (data[0] & 8) != 0;
	signer = (data[0] >> 4) & 3;
	method_mode = (data[0] >> 6) & 3;

	if (endpoint == 7) {
		path = take_string(&p, &left);
		natural = left ? "POST" : "GET";
	} else {
		fixed_path(endpoint, &p, &left, fixed, sizeof(fixed), &natural);
	}
	if (fuzz_auth)
		auth = take_string(&p, &left);
	body = malloc(left + 1);
	if (!body)
		abort();
	memcpy(body, p, left);
	body[left] = '\0';

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	switch (method_mode) {
	case 1: req.method = strcmp(natural, "GET") == 0 ? "POST" : "GET"; break;
	case 2: req.method = "PUT"; break;
	default: req.method = natural; break;
	}
	req.path = path ? path : fixed;
	req.body = body;
	req.body_len = left;
	req.client = "fuzz";
	req.header = no_wait;
	if (fuzz_auth) {
		req.authorization = auth[0] ? auth : NULL;
	} else {
		const struct sr_identity *who = &ids[signer == 1 ? SHOP :
						     signer == 3 ? OUTSIDER : BANK];
		now = (int64_t)time(NULL);
		if (signer == 2)
			now -= 2 * SR_REQSIG_SKEW_S;
		sr_reqsig_make(who, req.method, req.path, body, left, now, auth_buf);
		req.authorization = auth_buf;
	}

	rc = sr_coord_http(coord, &req, &resp);
	check_answer(&req, rc, &resp, fuzz_auth || signer == 2,
		     !fuzz_auth && signer == 3);
	check_chain();
	/* Keep the mailboxes from filling up. */
	if (strstr(req.path, "/mailbox/") && resp.status == 201)
		drain_mailboxes();
	sr_http_response_release(&resp);
	free(body);
	free(auth);
	free(path);
	return 0;
}
