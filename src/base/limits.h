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
#define SR_JSON_DUMP_DEPTH_MAX 2048        /* nesting sr_json_dump writes (values built in code; a cycle fails) */
#define SR_POLICY_BYTES_MAX (1u << 20)     /* bytes in a policy file */
#define SR_POLICY_DOMAIN_MAX 65536         /* values in one column domain */
#define SR_POLICY_LIST_MAX 1024            /* entries in receivers/jobs lists */
#define SR_POLICY_ROW_FILTER_MAX 4096      /* bytes in a row_filter predicate */
#define SR_MANIFEST_BYTES_MAX (64u << 20)  /* bytes in a dataset manifest */

/* Network (used by the transport layer) */
#define SR_HTTP_BODY_MAX (8u << 20)        /* bytes in one HTTP body */
/*
 * Connections of the HTTP servers (src/net/http_server.c, docs/operations.md
 * "Connections").  An idle connection costs a socket and a little memory
 * (epoll, no thread), so the server holds many:
 *   CONNECTIONS  at a time (`--max-connections`); capped further by the
 *                open-file limit, which the server raises to its hard limit.
 *   PER_ADDRESS  at a time from one address (`--max-connections-per-address`):
 *                one address cannot take every slot.  A node uses a few (its
 *                control plane, the follower, two per peer of a running job).
 *   HEADER_MS    from accept, or from the end of the last answer on a kept
 *                connection, to the end of the next request's headers (TLS
 *                handshake included): a client that sends nothing, or one
 *                header line now and then, is closed after it, however
 *                often it sends a byte (unless its bytes wait unread:
 *                its thread is busy, and it is served in turn).
 *   ACTIVE_S     inactivity timeout past the headers (a large body on a
 *                slow link); a long-poll parked by the server
 *                (sr_http_defer) holds no thread.
 */
#define SR_HTTP_CONNECTIONS_DEFAULT 16384
#define SR_HTTP_CONNECTIONS_MAX (1u << 20)
#define SR_HTTP_PER_ADDRESS_DEFAULT 1024
#define SR_HTTP_HEADER_MS 5000
#define SR_HTTP_ACTIVE_S 30
#define SR_FRAME_MAX (16u << 20)           /* bytes in one binary frame */
#define SR_SQL_TEXT_MAX (64u << 10)        /* bytes in one SQL query */
#define SR_SQL_EXPR_DEPTH_MAX 64           /* nesting of SQL expressions */

/*
 * SQL queries (src/sql, docs/internals/sql.md), besides the text and the
 * expression limits below.
 *   INPUTS_MAX  datasets in one FROM: a query is one job, whose inputs are
 *              capped the same; the binder keeps the inputs an expression
 *              reads as a 64-bit mask.
 *   LIST_MAX   items of one SELECT, GROUP BY or ORDER BY list: each output
 *              column is a vector of the result and each group key a
 *              dimension of the group domain; nothing written by hand has
 *              hundreds.
 *   AGGREGATES_MAX  distinct aggregates of one query: each adds up to three
 *              accumulators per group to the vector every party sends.
 *   GROUPS_MAX groups of a public group domain (the product of the key
 *              domains): every party sends one entry per group and
 *              accumulator, 8 bytes each, whatever its data, so 2^20 groups
 *              of 8 accumulators are 64 MiB per party.
 */
#define SR_SQL_INPUTS_MAX 64
#define SR_SQL_LIST_MAX 256
#define SR_SQL_AGGREGATES_MAX 256
#define SR_SQL_GROUPS_MAX (1u << 20)
/* Bytes of one party's MIN/MAX extremes sent to the release party (query
 * kind): JSON, one value per group and MIN/MAX aggregate. */
#define SR_QUERY_EXTREMES_BYTES_MAX (64u << 20)
/*
 * DOMAIN_BYTES_MAX  bytes the binder may spend to enumerate one group key's
 *              public domain (every combination of its columns' domain
 *              values, evaluated through the key): at most GROUPS_MAX rows
 *              of a few numbers, but a key may read string columns whose
 *              domain values are long, and the query's author picks the
 *              key.  A domain that needs more is refused as too large.
 */
#define SR_SQL_DOMAIN_BYTES_MAX (64u << 20)

/*
 * Expressions (src/expr, docs/internals/expr.md): row filters now, WHERE
 * and HAVING of the SQL front end later, so the SQL limits apply.
 *   TEXT_MAX   the expression is at most a whole query.
 *   DEPTH_MAX  the parser recurses once per parenthesis and every pass over
 *              the tree (binding, evaluation) once per level; each level of
 *              evaluation holds up to two vectors of SR_EXPR_BATCH_ROWS
 *              values (expr_int.h), so 64 levels keep the C stack to a few
 *              KiB and evaluation scratch to about 6 MiB.  AND and OR chains
 *              are flat (one level for any number of terms), so only real
 *              nesting counts.  SQLite allows 1000; nothing hand-written
 *              comes near 64.
 *   IN_LIST_MAX  items of one IN list, sorted at compile time and searched
 *              per row (10 comparisons at 1024); a longer list is a join.
 *   TREE_BYTES_MAX  parse tree or compiled program of one expression: at
 *              most one node per token of a TEXT_MAX text, about 8 MiB;
 *              the cap only stops a bug from growing without bound.
 */
#define SR_EXPR_TEXT_MAX SR_SQL_TEXT_MAX
#define SR_EXPR_DEPTH_MAX SR_SQL_EXPR_DEPTH_MAX
#define SR_EXPR_IN_LIST_MAX 1024
#define SR_EXPR_TREE_BYTES_MAX (32u << 20)
/* A row filter is one expression. */
_Static_assert(SR_POLICY_ROW_FILTER_MAX <= SR_EXPR_TEXT_MAX,
	       "a row_filter must fit the expression text limit");

/* PSI (src/psi, docs/protocols/psi.md) */
#define SR_PSI_SET_MAX (1u << 26)          /* non-empty keys per party */
#define SR_PSI_KEY_MAX (64u << 10)         /* bytes in one join key */
#define SR_PSI_BATCH_MAX 65536             /* points, tags or positions per message */
#define SR_PSI_SESSION_ID_MAX 256          /* bytes in a PSI session id */
#define SR_PSI_PARTIES_MAX 64              /* parties in one multi-party PSI */

/*
 * Secure aggregation (src/secagg, docs/protocols/secagg.md).
 *   PARTIES_MAX  every party expands one mask stream per peer, so its
 *                work grows with n; and a run rides one job channel.
 *   LENGTH_MAX   entries of the summed vector, which every party holds in
 *                memory (2^32 entries = 32 GiB, far past any local
 *                aggregate over public domains); keeps each pair's
 *                keystream at 2^35 bytes.
 *   CHUNK_MAX    entries per DATA message: 8 MiB plus the header fits a
 *                frame.
 *   RUN_ID_MAX   bytes in a run id (a job channel session id is 32).
 */
#define SR_SECAGG_PARTIES_MAX 256
#define SR_SECAGG_LENGTH_MAX (1ull << 32)
#define SR_SECAGG_CHUNK_MAX (1u << 20)
#define SR_SECAGG_RUN_ID_MAX 256
_Static_assert(24 + 8ull * SR_SECAGG_CHUNK_MAX <= SR_FRAME_MAX,
	       "a full secagg DATA message fits a frame");

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
_Static_assert(SR_SQL_INPUTS_MAX <= 64 && SR_SQL_INPUTS_MAX <= SR_JOB_INPUTS_MAX,
	       "a query's inputs fit a 64-bit mask and one job");
#define SR_JOB_SIZES_MAX 32                /* entries in job.finish sizes */
/* A job's sealed result as this node reads it back (a file it wrote itself
 * under HOME/results when past a SQLite blob's size); bounds the memory of
 * one `job result`. */
#define SR_RESULT_BYTES_MAX (4ull << 30)
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
/*
 * Spool files a job keeps for reuse once their messages are acknowledged
 * or expire: up to this many bytes (one send window, 16 MiB), the rest
 * are deleted at once, so the disk shrinks back to what is held plus this
 * per job with mail in flight.
 */
#define SR_MAILBOX_SPOOL_KEEP_BYTES (16ull << 20)
/*
 * Quotas per organization (`sealroom coordinator --org-mailbox-bytes,
 * --org-open-jobs, --org-projects, --org-events-per-min`, defaults
 * first) and the free-space floor of the coordinator's disk
 * (`--disk-floor`): a self-registered organization can make the
 * coordinator hold this much for it, never more (docs/operations.md,
 * "Quotas").  Mailbox bytes count what an org has deposited and its
 * receivers have not taken; open jobs are its proposals not yet ended;
 * projects are those it ever created; events are counted per minute of
 * the coordinator's clock.  Below the floor mailbox deposits are refused
 * (507) while ledger events are still taken.
 */
#define SR_QUOTA_ORG_MAIL_BYTES_DEFAULT (1ull << 30)
#define SR_QUOTA_ORG_MAIL_BYTES_MAX (1ull << 40)
#define SR_QUOTA_ORG_OPEN_JOBS_DEFAULT 64
#define SR_QUOTA_ORG_OPEN_JOBS_MAX 65536
#define SR_QUOTA_ORG_PROJECTS_DEFAULT 100
#define SR_QUOTA_ORG_PROJECTS_MAX 100000
#define SR_QUOTA_ORG_EVENTS_PER_MIN_DEFAULT 3000
#define SR_QUOTA_ORG_EVENTS_PER_MIN_MAX 1000000
#define SR_DISK_FLOOR_DEFAULT (256ull << 20)
#define SR_DISK_FLOOR_MAX (1ull << 50)
_Static_assert(SR_MAILBOX_MSG_MAX <= SR_QUOTA_ORG_MAIL_BYTES_DEFAULT,
	       "an organization can deposit at least one message");
#define SR_ORGS_MAX 100000                 /* organizations registered */
/*
 * A node's append retries while other events get in first (the chain
 * moves): pauses from MIN to MAX ms with jitter, for at most the deadline
 * (`sealroom node --append-deadline`, default first).
 */
#define SR_APPEND_DEADLINE_DEFAULT_MS 30000
#define SR_APPEND_DEADLINE_MAX_MS 600000
#define SR_APPEND_BACKOFF_MIN_MS 5
#define SR_APPEND_BACKOFF_MAX_MS 500
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

/* ---- data import (src/store: csv.c, import.c, source_pg.c; src/policy
 * for null tokens; docs/data.md) ---- */
/* Physical lines --skip-lines may skip before the header: metadata lines
 * are a handful; a larger count is a mistake, and each skipped line is
 * read (up to SR_CSV_ROW_MAX bytes) like any other. */
#define SR_CSV_SKIP_LINES_MAX 1000000ull
/* Null tokens in one list (per dataset, per column, or --null): every
 * field of a column is compared with each, so the list stays short. */
#define SR_NULL_TOKENS_MAX 16
/* Bytes in one null token: real ones are "NA", "NULL", "-999"; a long
 * one is a value, not a marker. */
#define SR_NULL_TOKEN_MAX 64
/* Distinct values `sealroom policy init` tracks over all columns of a
 * file (64-bit hashes, 16 bytes each at half load: 64 MiB at most); a
 * column with more than its share is reported as "many distinct values"
 * rather than counted. */
#define SR_PROFILE_DISTINCT_MAX (1u << 22)
/* ---- end data import ---- */

/*
 * Anonymized release (src/anon, docs/internals/anon.md).
 *   HIER_LEVELS_MAX  levels of one hierarchy, value and "*" included: ARX's
 *              published hierarchies have at most 6; each level costs a
 *              label table and a map per pair of levels (L^2 / 2 maps).
 *   CUTS_MAX   cut points of one level (a label is found by a linear scan).
 *   LABEL_MAX  bytes of one generalized label, so of a QI value too (its
 *              level-0 label), and the longest prefix length.
 *   HIER_ENTRIES_MAX  values of an explicit hierarchy: the policy's domain.
 *   ROWS_MAX   rows of one release: leaf, class and row ids are uint32.
 *   QI_MAX     quasi-identifiers; a class key packs one group id per QI
 *              into 64 bits, so the sum of the bits must also fit 64.
 *   LATTICE_MAX  nodes of the generalization lattice (product of the
 *              heights): the search keeps 16 bytes of state per node and
 *              the brute force visits every one.
 *   SA_VALUES_MAX  distinct values of one sensitive column: every class
 *              keeps a dense histogram over them, so classes x values
 *              counters live at once (4096 x 1M classes would be 16 GiB;
 *              the class count falls fast above the bottom node).
 */
#define SR_ANON_HIER_LEVELS_MAX 16
#define SR_ANON_CUTS_MAX 1024
#define SR_ANON_LABEL_MAX 1024
#define SR_ANON_HIER_ENTRIES_MAX SR_POLICY_DOMAIN_MAX
#define SR_ANON_ROWS_MAX (1ull << 31)
#define SR_ANON_QI_MAX 32
#define SR_ANON_LATTICE_MAX (1u << 20)
#define SR_ANON_SA_VALUES_MAX 4096
/* Sensitive columns with an l or t model: each adds its values to every
 * class's histogram. */
#define SR_ANON_SA_MAX 64
_Static_assert(SR_ANON_ROWS_MAX < 4294967295ull, "anon row ids are uint32");
/* The anonymize kind sends a release from the owner to its receiver as
 * the result envelope's JSON in parts of SR_ANON_PART_BYTES (each fits a
 * job-channel message with room to spare); the receiver takes at most
 * SR_ANON_RELEASE_BYTES_MAX in all, a quarter of the result cap, since
 * parsing the JSON holds it about four times over. */
#define SR_ANON_PART_BYTES (1u << 20)
#define SR_ANON_RELEASE_BYTES_MAX (SR_RESULT_BYTES_MAX / 4)
_Static_assert(SR_ANON_PART_BYTES < SR_JOBCHAN_FRAGMENT_MAX, "a part fits a message");

/*
 * TPM attestation evidence (src/tee/): it arrives from an executor the
 * verifier does not trust yet.  An EK certificate of a real TPM is 1-2 KiB
 * (RSA-2048 or ECC with the TCG extensions); 4 KiB leaves room for long
 * manufacturer names.  Vendors ship the EK certificate with up to two
 * intermediates.  The executor measures its binary and its config, and a
 * few more events (a restart, a reloaded config) fit; more than 32 events
 * is not a log the policy could list anyway.
 */
#define SR_TEE_CERT_MAX 4096
#define SR_TEE_CHAIN_MAX 3
#define SR_TEE_EVENTS_MAX 32
#define SR_TEE_EVENT_TEXT_MAX 64
#define SR_TEE_NONCE_MAX 64

/*
 * Vertical SecureBoost (src/ml/secureboost.c): a message from a peer is at
 * most SR_ML_SB_MSG_MAX bytes; row ciphertexts travel in chunks of
 * SR_ML_SB_CT_CHUNK (1.5 MiB at 3072-bit keys, 768-byte ciphertexts), a
 * split's row bitmap covers at most 8 * (SR_ML_SB_MSG_MAX - 64) rows, so a
 * run takes at most SR_ML_SB_ROWS_MAX training plus validation rows (the
 * caller batches larger predictions).
 */
#define SR_ML_SB_MSG_MAX (2u << 20)
#define SR_ML_SB_CT_CHUNK 2048u
#define SR_ML_SB_ROWS_MAX (8u * ((2u << 20) - 64u))
_Static_assert(64 + 768ull * SR_ML_SB_CT_CHUNK <= SR_ML_SB_MSG_MAX,
	       "a chunk of 3072-bit ciphertexts fits a message");
_Static_assert(SR_ML_SB_ROWS_MAX / 8 + 64 <= SR_ML_SB_MSG_MAX, "a bitmap fits a message");

#endif
