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
 * Thread-safe: one mutex around every call (the HTTP layer serves requests
 * from a pool).
 */
#ifndef SR_COORD_H
#define SR_COORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "ledger/event.h"
#include "net/http.h"

struct sr_coord;

/* Open (or create) DIR/coord.db and replay every project. */
int sr_coord_open(const char *dir, struct sr_coord **out,
		  struct sr_err *err) SR_WUR;
void sr_coord_free(struct sr_coord *coord);

/*
 * Append one event given in wire form.  On success *seq and id (hex,
 * optional) describe it.  An event that does not extend the head fails
 * with SR_EPROTO (a duplicate with SR_EEXIST); head_hex (65 bytes,
 * optional) and *next_seq then tell the caller where the chain is, so it
 * can fetch, re-fold and retry.  Other refusals: the codes of
 * sr_ledger_apply and sr_event_parse.  Nothing is stored on failure.
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
 * The coordinator's HTTP API (docs/api.md), for sr_http_server_start with
 * ctx = the coordinator:
 *   GET  /v1/health                          {"ok": true}
 *   POST /v1/events                          wire event -> 201 {"seq", "id"}
 *                                            409 {"error", "head", "next_seq"}
 *   GET  /v1/projects/P/head                 {"project", "next_seq", "head"}
 *   GET  /v1/projects/P/events/FROM          [wire events from seq FROM]
 */
int sr_coord_http(void *ctx, const struct sr_http_request *req,
		  struct sr_http_response *resp);

#endif
