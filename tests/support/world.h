/*
 * world.h - a real coordinator process and a job world built on it without
 * nodes, for the data-plane tests (tests/unit/test_mailclient.c) and
 * bench/bench_dataplane.c.
 *
 * sr_world_coord_start runs `sealroom coordinator` as a child process over
 * HTTPS on a free loopback port and reads its URL and pin from its
 * standard output.  sr_world_build registers organizations and posts the
 * signed events of a project with them (create, invite, join, a dataset
 * each, a PSI job proposed by the first and approved by all), the way
 * nodes would, so the coordinator opens the job's mailboxes to exactly
 * those organizations.
 *
 * Nothing here uses cmocka: functions return a status and fill err.
 */
#ifndef SR_WORLD_H
#define SR_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "crypto/identity.h"
#include "net/jobchan.h"
#include "net/tls.h"
#include "ledger/event.h"

#define SR_WORLD_ORGS_MAX 4

struct sr_world_coord {
	pid_t pid;                       /* 0 when not running */
	char url[128];                   /* https://127.0.0.1:PORT */
	char pin[SR_TLS_PIN_MAX];
	char dir[512];                   /* its --data directory */
};

/*
 * Start `BIN coordinator --listen 127.0.0.1:0 --data DIR ARGS...` (args
 * NULL-terminated, may be NULL), its stderr into DIR.err, and wait up to
 * 10 s for the line giving its URL and pin.  bin NULL: $SR_BINARY_DIR/sealroom.
 */
int sr_world_coord_start(const char *bin, const char *dir,
			 const char *const *args, struct sr_world_coord *c,
			 struct sr_err *err) SR_WUR;
/* SIGTERM and wait (SIGKILL after 10 s).  Nothing when not running. */
void sr_world_coord_stop(struct sr_world_coord *c);

struct sr_world {
	char project[SR_PROJECT_ID_MAX + 1];
	char job_hex[65];
	uint8_t job_id[32];
	uint8_t head[32];                /* the ledger head after the approvals */
	struct sr_jobchan_party parties[SR_WORLD_ORGS_MAX];
	size_t nparties;
	uint64_t next_seq;               /* the chain's tip, for sr_world_event */
	uint8_t tip[32];
};

/*
 * Register orgs[0..n) (2 <= n <= SR_WORLD_ORGS_MAX) with the coordinator
 * at url/pin and build the approved job among them (see the top).  The
 * identities are borrowed for the call.
 */
int sr_world_build(const char *url, const char *pin,
		   const struct sr_identity *orgs, size_t n, struct sr_world *w,
		   struct sr_err *err) SR_WUR;

/*
 * Register org and join project (it must be invited), taking the chain's
 * tip from the coordinator: fills w->project, next_seq and tip, for
 * sr_world_event.
 */
int sr_world_join(const char *url, const char *pin, const struct sr_identity *org,
		  const char *project, struct sr_world *w, struct sr_err *err) SR_WUR;

/* The body of a dataset.publish of a one-column dataset name. */
int sr_world_dataset_body(const char *name, json_t **out, struct sr_err *err) SR_WUR;

/* Sign and append one more event to w's project as who (body stolen),
 * e.g. a job.fail that closes the job's mailboxes. */
int sr_world_event(const char *url, const char *pin, struct sr_world *w,
		   const struct sr_identity *who, enum sr_event_type type,
		   json_t *body, struct sr_err *err) SR_WUR;

#endif
