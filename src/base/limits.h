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
#define SR_POLICY_ROW_FILTER_MAX 4096      /* bytes in a row_filter predicate */
#define SR_MANIFEST_BYTES_MAX (64u << 20)  /* bytes in a dataset manifest */

/* Network (used by the transport layer) */
#define SR_HTTP_BODY_MAX (8u << 20)        /* bytes in one HTTP body */
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

/* Coordinator mailboxes (end-to-end encrypted job messages) */
#define SR_MAILBOX_MSG_MAX (4u << 20)      /* bytes in one message */
#define SR_MAILBOX_JOB_BYTES_MAX (256u << 20) /* bytes held for one job */
#define SR_MAILBOX_JOB_MSGS_MAX 4096       /* messages held for one job */
#define SR_MAILBOX_RETENTION_S 3600        /* seconds a message is kept */
#define SR_MAILBOX_WAIT_MS 2000            /* longest wait of one fetch */
#define SR_ORGS_MAX 100000                 /* organizations registered */

/* ---- job channels (src/net/jobchan.c, docs/protocols/jobchan.md) ---- */
#define SR_JOBCHAN_HELLO_MAX 512           /* bytes in one hello */
#define SR_JOBCHAN_FRAGMENT_MAX (SR_MAILBOX_MSG_MAX - 64u) /* plaintext bytes in one sealed mailbox message */
#define SR_JOBCHAN_PARTIES_MAX 256         /* parties of one job channel */
#define SR_JOBCHAN_REASON_MAX 256          /* bytes in the reason of an ABORT */
/* ---- end job channels ---- */

#endif
