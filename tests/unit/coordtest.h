/*
 * coordtest.h - a coordinator world for the unit tests of src/coord/
 * (test_coord.c, test_quota.c): a coordinator in a temporary directory
 * with a project of three members (bank creates, shop joins, outsider has
 * an identity only), signed events appended directly, and signed calls
 * to its HTTP API.
 */
#ifndef SR_TEST_COORDTEST_H
#define SR_TEST_COORDTEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "coord/coord.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "ledger/event.h"

#define PROJECT "prj_0123456789abcdef0123456789abcdef"

struct world {
	char *dir;
	struct sr_identity bank, shop, outsider;
	struct sr_coord *coord;
	uint8_t head[SR_EVENT_ID_BYTES];
	uint64_t seq;
};

/* {"name", "sign_pk", "kx_pk"} of id (a join's body, a registration's). */
json_t *keys_body(const struct sr_identity *id, const char *name);

/* Build a signed wire event on top of (seq, prev). */
char *make_wire(const struct sr_identity *who, uint64_t seq,
		       const uint8_t *prev, enum sr_event_type type,
		       json_t *body, uint8_t id_out[SR_EVENT_ID_BYTES]);

/* Append wire to the coordinator; its status (err filled). */
int append(struct world *w, const char *wire, struct sr_err *err);

/* Append the next event of the chain, expecting success. */
void extend(struct world *w, const struct sr_identity *who,
		   enum sr_event_type type, json_t *body);

/* cmocka setup/teardown: the world, the project created, shop joined. */
int setup(void **state);

int teardown(void **state);

/* A published one-column dataset of who, named NAME. */
void publish(struct world *w, const struct sr_identity *who, const char *name);

/* Propose (as bank) a PSI job between bank.c and shop.c, its spec made
 * distinct by note, on top of the world's head; its status (err), its
 * id in job_hex and its spec hash in sh_hex (may be NULL). */
int propose_job(struct world *w, const char *note, char job_hex[SR_EVENT_ID_HEX_LEN + 1],
		char sh_hex[SR_HASH_BYTES * 2 + 1], struct sr_err *err);

/* Publish a dataset each (first time), propose a PSI job between bank and
 * shop and approve it; its id in job_hex. */
void approved_job(struct world *w, char job_hex[SR_EVENT_ID_HEX_LEN + 1],
			 int first, const char *receiver_note);

/* Close and open the coordinator again with opts (NULL: defaults). */
void reopen(struct world *w, const struct sr_coord_opts *opts);

/* Call the coordinator at port as who, with a signed request. */
int signed_call(uint16_t port, const struct sr_identity *who,
		       const char *method, const char *path, const json_t *body,
		       int *status, json_t **answer);

/* A signed raw call (the mailboxes' binary bodies), the answer in out,
 * asking the server to wait up to wait_ms (or not, when negative). */
int raw_call_wait(uint16_t port, const struct sr_identity *who,
			 const char *method, const char *path, const void *body,
			 size_t len, int wait_ms, int *status, struct sr_buf *out);

int raw_call(uint16_t port, const struct sr_identity *who, const char *method,
		    const char *path, const void *body, size_t len, int *status,
		    struct sr_buf *out);

/* Register who over HTTP (POST /v1/orgs, signed with its own key). */
void register_http(uint16_t port, const struct sr_identity *who, const char *name);

#endif
