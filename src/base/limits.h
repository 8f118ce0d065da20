/*
 * limits.h - every limit on untrusted input, in one place (after SQLite's
 * sqliteLimit.h).  Parsers check against these and fail with SR_ELIMIT and a
 * message that names the limit.
 */
#ifndef SR_LIMITS_H
#define SR_LIMITS_H

/* CSV */
#define SR_CSV_FIELD_MAX (1u << 20)        /* bytes in one field */
#define SR_CSV_ROW_MAX (16u << 20)         /* bytes in one record */
#define SR_DATASET_COLUMNS_MAX 1024        /* columns per dataset */
#define SR_COLUMN_NAME_MAX 128             /* bytes in a column name */
#define SR_DATASET_NAME_MAX 64             /* bytes in a dataset name */
#define SR_DATASET_ROWS_MAX (1ull << 40)   /* rows per dataset version */

/* Store */
#define SR_CHUNK_ROWS 65536                /* values per chunk */
#define SR_CHUNK_STORED_MAX (256u << 20)   /* bytes in one stored chunk */

/* JSON and policies */
#define SR_JSON_DEPTH_MAX 32               /* nesting of any JSON document */
#define SR_POLICY_BYTES_MAX (1u << 20)     /* bytes in a policy file */
#define SR_POLICY_DOMAIN_MAX 65536         /* values in one column domain */
#define SR_POLICY_LIST_MAX 1024            /* entries in receivers/jobs lists */
#define SR_MANIFEST_BYTES_MAX (64u << 20)  /* bytes in a dataset manifest */

/* Network (used by the transport layer) */
#define SR_HTTP_BODY_MAX (8u << 20)        /* bytes in one HTTP body */
#define SR_FRAME_MAX (16u << 20)           /* bytes in one binary frame */
#define SR_SQL_TEXT_MAX (64u << 10)        /* bytes in one SQL query */
#define SR_SQL_EXPR_DEPTH_MAX 64           /* nesting of SQL expressions */

/* PSI (src/psi, docs/protocols/psi.md) */
#define SR_PSI_SET_MAX (1u << 26)          /* non-empty keys per party */
#define SR_PSI_KEY_MAX (64u << 10)         /* bytes in one join key */
#define SR_PSI_BATCH_MAX 65536             /* points, tags or positions per message */
#define SR_PSI_SESSION_ID_MAX 256          /* bytes in a PSI session id */
#define SR_PSI_PARTIES_MAX 64              /* parties in one multi-party PSI */

/* Secure channel (src/net/channel.c) */
#define SR_CHANNEL_HANDSHAKE_MAX 1024      /* bytes in one handshake message */

/* Files read whole (keys, small configs) */
#define SR_SMALL_FILE_MAX (1u << 20)

/* Ledger (src/ledger, docs/ledger.md) */
#define SR_EVENT_BYTES_MAX (2u << 20)      /* bytes in one event's wire JSON */
#define SR_EVENT_BODY_DEPTH_MAX 16         /* nesting of an event body */
#define SR_EVENT_TEXT_MAX 1024             /* bytes in a free-text field (reason) */
#define SR_EVENT_TIME_MAX 253402300799ll   /* latest event time: 9999-12-31 */
#define SR_PROJECT_ID_MAX 64               /* bytes in a project id */
#define SR_PROJECT_NAME_MAX 128            /* bytes in a project name */
#define SR_ORG_NAME_MAX 64                 /* bytes in an organization name */
#define SR_JOB_SPEC_BYTES_MAX (256u << 10) /* canonical bytes of one job spec */
#define SR_JOB_INPUTS_MAX 64               /* input datasets of one job */
#define SR_JOB_SIZES_MAX 32                /* entries in job.finish sizes */
#define SR_LEDGER_MEMBERS_MAX 256          /* organizations ever in a project */
#define SR_LEDGER_DATASETS_MAX 4096        /* datasets ever published in a project */
#define SR_LEDGER_EVENTS_MAX (1u << 24)    /* events in one project */

/*
 * Coordinator mailboxes (end-to-end encrypted job messages; binary
 * bodies, net/mailwire.h).
 *
 * SR_MAILBOX_MSG_MAX: one sealed job-channel fragment must fit
 * (SR_JOBCHAN_FRAGMENT_MAX + its 44 bytes of framing); larger messages
 * only make the coordinator and every client hold more per request.
 * SR_MAILBOX_FETCH_*: one fetch answer carries several messages, so a
 * receiver behind a busy channel catches up in few round trips; the
 * client checks the count and every length before it allocates.
 * SR_MAILBOX_WAIT_MS: the longest a fetch waits at the coordinator for a
 * message; a client asks for less (the job channel polls should_abort
 * every SR_JOBCHAN_POLL_MS).
 */
#define SR_MAILBOX_MSG_MAX (4u << 20)      /* bytes in one message */
#define SR_MAILBOX_FETCH_BYTES_MAX (8u << 20) /* message bytes in one fetch answer past its first */
#define SR_MAILBOX_FETCH_MSGS_MAX 1024     /* messages in one fetch answer */
#define SR_MAILBOX_WAIT_MS 2000            /* longest wait of one fetch */
/*
 * What a job's mailboxes may hold at a time, and for how long
 * (`sealroom coordinator --mailbox-bytes/--mailbox-msgs/--mailbox-retention`,
 * defaults first).  Payloads are spooled to files, the index is in memory
 * (about 40 bytes a message), so the message count bounds the memory and
 * the bytes bound the disk of one job; a participant can fill its job's
 * mailboxes, never more.
 */
#define SR_MAILBOX_JOB_BYTES_DEFAULT (256ull << 20)
#define SR_MAILBOX_JOB_BYTES_MAX (64ull << 30)
#define SR_MAILBOX_JOB_MSGS_DEFAULT 4096
#define SR_MAILBOX_JOB_MSGS_MAX (1u << 20)
#define SR_MAILBOX_RETENTION_DEFAULT_S 3600
#define SR_MAILBOX_RETENTION_MAX_S (7 * 86400)
_Static_assert(SR_MAILBOX_MSG_MAX <= SR_HTTP_BODY_MAX,
	       "a mailbox message fits one HTTP request body");
#define SR_ORGS_MAX 100000                 /* organizations registered */
/*
 * The head long-poll (POST /v1/heads, docs/api.md): a node's follower
 * waits there for the next event of any project it follows.  The wait
 * stays under the HTTP server's 30 s connection timeout; a request names
 * at most so many projects (each costs a lookup at every append).
 */
#define SR_HEADS_WAIT_MS 25000
#define SR_HEADS_PROJECTS_MAX 1024

/*
 * The direct path between two nodes (src/net/direct.c): what anyone who
 * can reach a node's --data-listen port can make it hold.  A connection
 * must prove itself (a key of that channel) within the handshake time;
 * at most so many are being checked at once; a message once started must
 * arrive whole within the frame time.
 */
#define SR_DIRECT_PENDING_MAX 64
#define SR_DIRECT_HANDSHAKE_MS 5000
#define SR_DIRECT_FRAME_MS 30000

/* ---- job channels (src/net/jobchan.c, docs/protocols/jobchan.md) ---- */
#define SR_JOBCHAN_HELLO_MAX 512           /* bytes in one hello */
#define SR_JOBCHAN_FRAGMENT_MAX (SR_MAILBOX_MSG_MAX - 64u) /* plaintext bytes in one sealed mailbox message */
#define SR_JOBCHAN_PARTIES_MAX 256         /* parties of one job channel */
#define SR_JOBCHAN_REASON_MAX 256          /* bytes in the reason of an ABORT */
#define SR_JOBCHAN_ADDR_MAX 63             /* bytes of a direct-path address in a hello */
/* ---- end job channels ---- */

#endif
