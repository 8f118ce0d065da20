/*
 * ledger_int.h - helpers shared by the files of src/ledger (event.c,
 * format.c, body.c, chain.c, fold.c, summary.c).  Not part of the API.
 */
#ifndef SR_LEDGER_INT_H
#define SR_LEDGER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/event.h"
#include "ledger/ledger.h"

/* Hex digits shown for an event or job id in messages. */
#define SR_LEDGER_SHORT_HEX 16

/* Bytes for a JSON path in messages ("event.body.spec.inputs[3]"). */
#define SR_LEDGER_PATH_MAX 160

/* Format a sub-path into out; a long path is cut, which only shortens a
 * message.  (A function rather than snprintf so that the compiler does not
 * warn about a truncation we accept.) */
void sr_ledger_subpath(char out[SR_LEDGER_PATH_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* 1 if s is exactly nchars lowercase hex digits. */
int sr_ledger_is_hex(const char *s, size_t nchars);
/* 1 if s is an org id: "org_" and 32 lowercase hex digits. */
int sr_ledger_is_org_id(const char *s);
/* 1 if s is a name: [a-z][a-z0-9_-]*, 1 to max bytes. */
int sr_ledger_is_name(const char *s, size_t max);
/* 1 if s is a project id: [A-Za-z0-9_.-], 1 to SR_PROJECT_ID_MAX bytes. */
int sr_ledger_is_project_id(const char *s);

/*
 * Split "orgname.dataset" at its one dot: *org_len receives the length of
 * the org part; both parts must be names.  Returns 1 if well formed.
 */
int sr_ledger_split_dataset(const char *full, size_t *org_len);

/* The first SR_LEDGER_SHORT_HEX hex digits of an id, for messages. */
void sr_ledger_short_id(char out[SR_LEDGER_SHORT_HEX + 1],
			const uint8_t id[SR_EVENT_ID_BYTES]);

/*
 * Generic checks on a body or any part of an event (used by
 * sr_event_check_body): no real numbers, no NUL characters in strings,
 * valid UTF-8, nesting within max_depth.  path names the value.
 */
int sr_ledger_check_json(const json_t *value, const char *path,
			 size_t max_depth, struct sr_err *err) SR_WUR;

/*
 * sr_json_canonical with every write checked.  jansson ignores the
 * callback's failure for some writes (object keys), so under allocation
 * failure sr_json_canonical can return SR_OK with bytes missing; a wrong
 * id or spec hash must never come out of the ledger, so this sink
 * remembers any failed write and the call fails with it.  On failure out
 * is left as it was.
 */
int sr_ledger_canonical(const json_t *value, struct sr_buf *out,
			struct sr_err *err) SR_WUR;

/* Fold state changes (fold.c), called by chain.c once every check of
 * sr_ledger_apply has passed.  Each may allocate and fail with SR_ENOMEM
 * without changing the ledger (see fold.c for the two-phase pattern). */
struct sr_ledger_pending;
int sr_ledger_fold_prepare(struct sr_ledger *ledger, const struct sr_event *ev,
			   struct sr_ledger_pending **out, struct sr_err *err) SR_WUR;
void sr_ledger_fold_commit(struct sr_ledger *ledger, const struct sr_event *ev,
			   struct sr_ledger_pending *pending);
void sr_ledger_fold_abort(struct sr_ledger_pending *pending);

#endif
