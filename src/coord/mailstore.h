/*
 * mailstore.h - the coordinator's job mailboxes (internal to src/coord/):
 * end-to-end sealed messages it cannot read, queued per (job, from, to)
 * and numbered by the sender's seq.
 *
 * Payloads are spooled to files under DIR/mail/<job>/ (one file per
 * message, written without fsync), with an index in memory: a message
 * lives only as long as the coordinator process, and a job cannot resume
 * after a coordinator restart anyway (its channel keys are gone with the
 * nodes' runs), so the spool is wiped at open.  Each job has its own lock
 * and condition variable: no lock is shared between jobs beyond a short
 * lookup, and none is held across a wait or while a payload is written or
 * served.  Messages not fetched within the retention are removed by a
 * timer thread, never by a sweep on the post path.
 *
 * Thread-safe.  The caller checks who may use which mailbox (coord.c).
 */
#ifndef SR_MAILSTORE_H
#define SR_MAILSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "coord/coord.h"

struct sr_mailstore;

/*
 * Open the store under dir (DIR/mail is removed and made again) with the
 * caps of opts (already checked against limits.h), and start its timer.
 */
int sr_mailstore_open(const char *dir, const struct sr_coord_opts *opts,
		      struct sr_mailstore **out, struct sr_err *err) SR_WUR;
/* Stop the timer, remove the spool, free.  No call may be in progress. */
void sr_mailstore_free(struct sr_mailstore *ms);

/*
 * Deposit data[0..len) as message seq from -> to of job (project,
 * job_hex, canonical lowercase hex).  SR_EEXIST for a seq it holds or
 * has handed out; when the job's mailboxes are full, or the sender's
 * organization holds its quota (opts->org_mail_bytes), waits up to
 * wait_ms for a fetch to make room, then SR_ELIMIT.  SR_ENOSPC when the
 * disk is below opts->disk_floor_bytes (nothing waits for that).  SR_EIO
 * for a spool that cannot be written.
 */
int sr_mailstore_post(struct sr_mailstore *ms, const char *project,
		      const char *job_hex, const char *from, const char *to,
		      uint64_t seq, const uint8_t *data, size_t len, int wait_ms,
		      struct sr_err *err) SR_WUR;

/*
 * Messages from -> to with seq >= next, oldest first, within the fetch
 * limits (limits.h), waiting up to wait_ms for the first; removes those
 * with seq < next.  fault (may be NULL) applies --fault replay-mail or
 * drop-mail to what is returned.
 */
int sr_mailstore_fetch(struct sr_mailstore *ms, const char *project,
		       const char *job_hex, const char *from, const char *to,
		       uint64_t next, int wait_ms, const struct sr_coord_fault *fault,
		       struct sr_coord_mailbatch **out, struct sr_err *err) SR_WUR;

/* Remove what is past the retention at time now (the timer calls it;
 * tests call it with a time of their choosing).  Returns how many
 * messages went. */
size_t sr_mailstore_expire(struct sr_mailstore *ms, int64_t now);

/* The server whose parked requests a change of a job's mailboxes wakes
 * (sr_coord_attach_server); NULL: none. */
void sr_mailstore_attach_server(struct sr_mailstore *ms,
				struct sr_http_server *server);

/* End every wait in progress, and make later ones return at once. */
void sr_mailstore_stop_waits(struct sr_mailstore *ms);

/* Bytes org has deposited that its receivers have not taken (counted
 * against opts->org_mail_bytes; a post over it waits like one to full
 * mailboxes, then SR_ELIMIT). */
uint64_t sr_mailstore_org_bytes(struct sr_mailstore *ms, const char *org);

/* The bucket of org_id in a hash table of buckets entries (FNV-1a), for
 * the tables of src/coord/ keyed by organization. */
size_t sr_coord_org_bucket(const char *org_id, size_t buckets);

/* Messages and bytes held now, over all jobs. */
void sr_mailstore_usage(struct sr_mailstore *ms, uint64_t *msgs, uint64_t *bytes);

#endif
