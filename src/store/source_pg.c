/*
 * source_pg.c - a PostgreSQL query as an import source (source.h).
 *
 * One connection, in a READ ONLY transaction (so the query cannot change
 * the database, and sees one snapshot): the query is prepared and
 * described first, for its column names and types, then streamed with
 * `COPY (query) TO STDOUT` in text format, one row per PQgetCopyData call
 * straight into the importer's row groups; no temporary file, and memory
 * bounded by one row whatever the row count.
 *
 * Types (docs/data.md): int2, int4, int8 and numeric with scale 0 become
 * int64; float4, float8 and other numerics float64; bool; date; timestamps
 * are refused with the cast that imports them; text, varchar and every
 * other type their text form, string.  The session asks for UTF-8, ISO
 * dates and float text that reads back exactly.  SQL NULL is NULL.
 *
 * Messages name the database as postgresql://user@host:port/db, built from
 * the parsed connection string without its password, and carry the
 * server's own message on one line.
 */
#include "store/source.h"
#include "store/copytext.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/limits.h"
#include "base/banned.h"

/* Type OIDs (stable across PostgreSQL versions: pg_type.dat). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_DATE 1082
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_NUMERIC 1700

/* The display name: enough to recognise the database, nothing secret. */
#define PG_NAME_MAX 200

struct pg_source {
	struct sr_source base;      /* first: the source is the struct */
	PGconn *conn;
	char name[PG_NAME_MAX];
	char **names;
	enum sr_type *types;
	int *is_bool;               /* columns whose "t"/"f" become true/false */
	struct sr_copytext copy;    /* the fields of the last row */
	char *row;                  /* the last row from PQgetCopyData */
	uint64_t rows;
	int in_copy;
	int done;
};

/* The server's message on one line: line ends and tabs become spaces,
 * runs of spaces one, trailing space cut. */
static const char *one_line(const char *msg, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = msg ? msg : ""; *p && o + 1 < size; p++) {
		char c = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p;
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = c;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

static int pg_fail(struct pg_source *s, const char *what, const char *msg,
		   struct sr_err *err)
{
	char line[SR_ERR_MSG_MAX];

	return sr_fail(err, SR_EINVAL, "%s: %s: %s", s->name, what,
		       one_line(msg, line, sizeof(line)));
}

/* postgresql://user@host:port/db from the parsed connection string. */
static int display_name(const char *conninfo, char *out, size_t size,
			struct sr_err *err)
{
	PQconninfoOption *opts, *o;
	const char *user = NULL, *host = NULL, *port = NULL, *db = NULL;
	char *errmsg = NULL;

	opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		/* The parser's message may quote the string, password and
		 * all: it is not shown. */
		PQfreemem(errmsg);
		return sr_fail(err, SR_EINVAL,
			       "--from: not a PostgreSQL connection string (expected postgresql://USER@HOST:PORT/DB or key=value pairs)");
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0 ||
			 (strcmp(o->keyword, "hostaddr") == 0 && !host))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	snprintf(out, size, "postgresql://%.40s%s%.60s%s%.8s/%.60s",
		 user ? user : "", user ? "@" : "", host ? host : "",
		 port ? ":" : "", port ? port : "", db ? db : "");
	PQconninfoFree(opts);
	return SR_OK;
}

static int check_name(struct pg_source *s, size_t col, const char *name,
		      struct sr_err *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > SR_COLUMN_NAME_MAX || !sr_utf8_valid(name, len))
		return sr_fail(err, SR_EINVAL,
			       "%s: column %zu: its name must be 1 to %d bytes of UTF-8 (name it with AS in the query)",
			       s->name, col + 1, SR_COLUMN_NAME_MAX);
	for (size_t k = 0; k < col; k++)
		if (strcmp(s->names[k], name) == 0)
			return sr_fail(err, SR_EINVAL,
				       "%s: columns %zu and %zu are both named '%.64s': name them apart with AS in the query",
				       s->name, k + 1, col + 1, name);
	return SR_OK;
}

/* Name and type of every column of the prepared query. */
static int describe(struct pg_source *s, const char *query, struct sr_err *err)
{
	PGresult *res;
	int rc = SR_OK, n;

	res = PQprepare(s->conn, "", query, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_fail(s, "query refused", PQresultErrorMessage(res), err);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	res = PQdescribePrepared(s->conn, "");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_fail(s, "query refused", PQresultErrorMessage(res), err);
		goto out;
	}
	n = PQnfields(res);
	if (n == 0) {
		rc = sr_fail(err, SR_EINVAL,
			     "%s: the query returns no columns (expected a SELECT)",
			     s->name);
		goto out;
	}
	if (n > SR_DATASET_COLUMNS_MAX) {
		rc = sr_fail(err, SR_ELIMIT,
			     "%s: the query returns %d columns, more than the limit of %d",
			     s->name, n, SR_DATASET_COLUMNS_MAX);
		goto out;
	}
	s->base.ncols = (size_t)n;
	s->names = sr_calloc((size_t)n, sizeof(*s->names));
	s->types = sr_calloc((size_t)n, sizeof(*s->types));
	s->is_bool = sr_calloc((size_t)n, sizeof(*s->is_bool));
	if (!s->names || !s->types || !s->is_bool ||
	    sr_copytext_init(&s->copy, (size_t)n, s->is_bool) != SR_OK) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (int j = 0; j < n && rc == SR_OK; j++) {
		const char *name = PQfname(res, j);
		Oid oid = PQftype(res, j);
		int mod = PQfmod(res, j);

		rc = check_name(s, (size_t)j, name, err);
		if (rc)
			break;
		s->names[j] = sr_strdup(name);
		if (!s->names[j]) {
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			break;
		}
		switch (oid) {
		case OID_INT2: case OID_INT4: case OID_INT8:
			s->types[j] = SR_TYPE_INT64;
			break;
		case OID_NUMERIC:
			/* typmod: ((precision << 16) | scale) + 4, or -1 for
			 * an unconstrained numeric. */
			s->types[j] = mod >= 4 && ((mod - 4) & 0xffff) == 0 ?
				      SR_TYPE_INT64 : SR_TYPE_FLOAT64;
			break;
		case OID_FLOAT4: case OID_FLOAT8:
			s->types[j] = SR_TYPE_FLOAT64;
			break;
		case OID_BOOL:
			s->types[j] = SR_TYPE_BOOL;
			s->is_bool[j] = 1;
			break;
		case OID_DATE:
			s->types[j] = SR_TYPE_DATE;
			break;
		case OID_TIMESTAMP: case OID_TIMESTAMPTZ:
			rc = sr_fail(err, SR_EINVAL,
				     "%s: column %d (%.64s) is a timestamp, which sealroom does not store: cast it in the query, to a date (%.64s::date) or to text (%.64s::text)",
				     s->name, j + 1, name, name, name);
			break;
		default:
			s->types[j] = SR_TYPE_STRING;
			break;
		}
	}
out:
	PQclear(res);
	return rc;
}

/* Run a command that returns no rows. */
static int exec_ok(struct pg_source *s, const char *sql, const char *what,
		   struct sr_err *err)
{
	PGresult *res = PQexec(s->conn, sql);
	int rc = SR_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_fail(s, what, PQresultErrorMessage(res), err);
	PQclear(res);
	return rc;
}

/* The query text: the one given without trailing semicolons and space
 * (COPY takes one statement in parentheses), or SELECT * FROM table. */
static int make_query(struct pg_source *s, const char *query,
		      const char *table, struct sr_buf *out,
		      struct sr_err *err)
{
	int rc;

	if (table) {
		const char *dot = strchr(table, '.');
		char *schema = NULL, *name;

		if (dot)
			schema = PQescapeIdentifier(s->conn, table,
						    (size_t)(dot - table));
		name = PQescapeIdentifier(s->conn, dot ? dot + 1 : table,
					  strlen(dot ? dot + 1 : table));
		if (!name || (dot && !schema)) {
			PQfreemem(schema);
			PQfreemem(name);
			return sr_fail(err, SR_EINVAL, "%s: --table: not a table name",
				       s->name);
		}
		rc = sr_buf_addf(out, "SELECT * FROM %s%s%s", schema ? schema : "",
				 schema ? "." : "", name);
		PQfreemem(schema);
		PQfreemem(name);
	} else {
		size_t len = strlen(query);
		while (len && (query[len - 1] == ';' || query[len - 1] == ' ' ||
			       query[len - 1] == '\n' || query[len - 1] == '\t' ||
			       query[len - 1] == '\r'))
			len--;
		if (len == 0)
			return sr_fail(err, SR_EINVAL, "%s: --query is empty", s->name);
		rc = sr_buf_add(out, query, len);
	}
	if (rc == SR_ELIMIT)
		return sr_fail(err, SR_ELIMIT,
			       "%s: the query is longer than the limit of %u bytes",
			       s->name, SR_SQL_TEXT_MAX);
	if (rc)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	return SR_OK;
}

static int pg_next(struct sr_source *src, const struct sr_csv_field **fields,
		   int *eof, struct sr_err *err)
{
	struct pg_source *s = (struct pg_source *)src;
	PGresult *res;
	int n, rc = SR_OK;

	*fields = s->copy.fields;
	*eof = 0;
	if (s->done) {
		*eof = 1;
		return SR_OK;
	}
	PQfreemem(s->row);
	s->row = NULL;
	n = PQgetCopyData(s->conn, &s->row, 0);
	if (n >= 0) {
		s->rows++;
		if ((size_t)n > SR_CSV_ROW_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: row %llu is longer than the limit of %u bytes",
				       s->name, (unsigned long long)s->rows, SR_CSV_ROW_MAX);
		return sr_copytext_split(&s->copy, s->row, (size_t)n, s->name,
					 s->rows, (const char *const *)s->names, err);
	}
	s->in_copy = 0;
	/* The end of the COPY, or the query failed midway, or the
	 * connection was lost: the result says which. */
	res = PQgetResult(s->conn);
	if (n == -2 || PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *msg = PQresultStatus(res) == PGRES_FATAL_ERROR ?
				  PQresultErrorMessage(res) : PQerrorMessage(s->conn);
		rc = pg_fail(s, n == -2 && PQstatus(s->conn) == CONNECTION_BAD ?
			     "connection lost" : "query failed", msg, err);
	}
	PQclear(res);
	while ((res = PQgetResult(s->conn)) != NULL)
		PQclear(res);
	if (rc)
		return rc;
	s->done = 1;
	*eof = 1;
	return exec_ok(s, "COMMIT", "commit", err);
}

static uint64_t pg_position(const struct sr_source *src)
{
	return ((const struct pg_source *)src)->rows;
}

static void pg_progress(const struct sr_source *src, uint64_t *done,
			uint64_t *total)
{
	*done = ((const struct pg_source *)src)->rows;
	*total = 0;
}

static void pg_free(struct sr_source *src)
{
	struct pg_source *s = (struct pg_source *)src;

	PQfreemem(s->row);
	if (s->conn)
		PQfinish(s->conn);
	for (size_t j = 0; s->names && j < s->base.ncols; j++)
		sr_free(s->names[j]);
	sr_free(s->names);
	sr_free(s->types);
	sr_free(s->is_bool);
	sr_copytext_release(&s->copy);
	sr_free(s);
}

static const struct sr_source_ops pg_ops = {
	pg_next, NULL, pg_position, pg_progress, pg_free,
};

int sr_source_pg(const char *conninfo, const char *query, const char *table,
		 struct sr_source **out, struct sr_err *err)
{
	static const char *const keys[] = { "dbname", "application_name",
					    "client_encoding", NULL };
	const char *vals[] = { conninfo, "sealroom", "UTF8", NULL };
	struct pg_source *s;
	struct sr_buf sql, copy;
	PGresult *res;
	int rc;

	*out = NULL;
	if (!query == !table)
		return sr_fail(err, SR_EINVAL,
			       "postgresql: give a query or a table (one of them)");
	s = sr_calloc(1, sizeof(*s));
	if (!s)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	sr_copytext_release(&s->copy);   /* empty; sized by describe */
	sr_buf_init(&sql, SR_SQL_TEXT_MAX);
	sr_buf_init(&copy, SR_SQL_TEXT_MAX + 32);
	s->base.ops = &pg_ops;
	s->base.name = s->name;
	s->base.unit = "row";
	rc = display_name(conninfo, s->name, sizeof(s->name), err);
	if (rc)
		goto out;
	/* dbname expands the whole conninfo; the session's options follow. */
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (!s->conn) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		rc = pg_fail(s, "cannot connect", PQerrorMessage(s->conn), err);
		goto out;
	}
	rc = exec_ok(s, "SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1;"
		     " SET IntervalStyle = 'iso_8601'", "session setup", err);
	if (rc == SR_OK)
		rc = exec_ok(s, "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
			     "begin", err);
	if (rc == SR_OK)
		rc = make_query(s, query, table, &sql, err);
	if (rc == SR_OK)
		rc = describe(s, sql.data, err);
	if (rc)
		goto out;
	if (sr_buf_addf(&copy, "COPY (%s) TO STDOUT", sql.data) != SR_OK) {
		rc = sr_fail(err, SR_ELIMIT,
			     "%s: the query is longer than the limit of %u bytes",
			     s->name, SR_SQL_TEXT_MAX);
		goto out;
	}
	res = PQexec(s->conn, copy.data);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = pg_fail(s, "query failed", PQresultErrorMessage(res), err);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	s->in_copy = 1;
	s->base.names = (const char *const *)s->names;
	s->base.types = s->types;
	*out = &s->base;
out:
	sr_buf_release(&sql);
	sr_buf_release(&copy);
	if (rc)
		pg_free(&s->base);
	return rc;
}
