/*
 * cmd_psi.c - `sealroom psi serve|connect`: standalone two-party PSI
 * between two organizations over an authenticated, encrypted TCP channel
 * (src/net/channel.h).  The connecting side is the receiver; the serving
 * side is the sender.  Protocol and leakage: docs/protocols/psi.md.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/json.h"
#include "base/pool.h"
#include "cli/cli.h"
#include "crypto/identity.h"
#include "net/channel.h"
#include "net/tcp.h"
#include "psi/psi.h"
#include "store/csv.h"
#include "base/banned.h"

static const char psi_usage[] =
	"usage: sealroom psi serve --listen ADDR --input FILE.csv --column COL\n"
	"                          --peer KEY [options]\n"
	"       sealroom psi connect ADDR --input FILE.csv --column COL\n"
	"                          --peer KEY [--output OUT.csv] [options]\n"
	"\n"
	"Private set intersection of one key column with another organization,\n"
	"over an encrypted connection authenticated with both organizations'\n"
	"identity keys (KKRT16 OT-extension PSI for intersections, ECDH-PSI over\n"
	"ristretto255 for cardinality; see docs/protocols/psi.md).\n"
	"The side that connects is the receiver: it learns the intersection\n"
	"(or only its size); the serving side learns the receiver's number of\n"
	"distinct keys, and the result too with --result-to both.  Both sides\n"
	"must give the same --mode, --result-to, --normalize and --protocol.\n"
	"\n"
	"  --listen ADDR        serve: address to listen on, HOST:PORT (port 0\n"
	"                       picks a free port; the address is printed on stderr)\n"
	"  --input FILE.csv     CSV file with a header row\n"
	"  --column COL         the key column\n"
	"  --peer KEY           the other organization's signing public key: 64 hex\n"
	"                       digits, or a file holding them or its identity.pub;\n"
	"                       any other peer is refused\n"
	"  --mode MODE          intersection (default) or cardinality (the size only)\n"
	"  --result-to WHO      receiver (default) or both\n"
	"  --normalize LIST     comma-separated: trim, lower, digits (default: none)\n"
	"  --protocol P         auto (default: kkrt for an intersection, ecdh for\n"
	"                       cardinality), ecdh or kkrt (intersection only)\n"
	"  --output OUT.csv     the intersection: columns row (0-based data row of\n"
	"                       FILE.csv) and COL, in the order agreed by both sides;\n"
	"                       required where rows are received\n"
	"  --timeout SECONDS    give up after this long without the peer (default 600)\n"
	"  --home DIR           node home with this organization's identity\n"
	"                       (default: $SEALROOM_HOME, then ~/.sealroom)\n"
	"  --json               print the summary as JSON\n"
	"  --quiet              no progress on stderr\n"
	"  --help               this text\n"
	"\n"
	"Keys that are empty (after normalization) are skipped; repeated keys are\n"
	"used once (first row).  Both counts are reported to their owner only.\n";

#define READ_BATCH 16384

struct psi_args {
	struct sr_cli cli;
	int serve;
	const char *addr;
	const char *input;
	const char *column;
	const char *peer;
	const char *output;
	struct sr_psi_params params;
	int timeout_s;
};

static int parse_args(int argc, char **argv, struct psi_args *a, int *exit_code)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "input", required_argument, NULL, 'i' },
		{ "column", required_argument, NULL, 'c' },
		{ "peer", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "result-to", required_argument, NULL, 'r' },
		{ "normalize", required_argument, NULL, 'n' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "home", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sr_err err;
	char *end;
	int c;

	*exit_code = -1;
	sr_err_clear(&err);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(psi_usage, argc < 2 ? stderr : stdout);
		*exit_code = argc < 2 ? SR_EXIT_USAGE : SR_EXIT_OK;
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0) {
		a->serve = 1;
	} else if (strcmp(argv[1], "connect") != 0) {
		*exit_code = sr_cli_usage_error("psi", "unknown command '%s' (expected serve or connect)",
						argv[1]);
		return 0;
	}
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "hqo:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': a->addr = optarg; break;
		case 'i': a->input = optarg; break;
		case 'c': a->column = optarg; break;
		case 'p': a->peer = optarg; break;
		case 'o': a->output = optarg; break;
		case 'H': a->cli.home = optarg; break;
		case 'j': a->cli.json = 1; break;
		case 'q': a->cli.quiet = 1; break;
		case 'm':
			if (strcmp(optarg, "intersection") == 0)
				a->params.mode = SR_PSI_INTERSECTION;
			else if (strcmp(optarg, "cardinality") == 0)
				a->params.mode = SR_PSI_CARDINALITY;
			else
				goto bad_value;
			break;
		case 'r':
			if (strcmp(optarg, "receiver") == 0)
				a->params.output = SR_PSI_TO_RECEIVER;
			else if (strcmp(optarg, "both") == 0)
				a->params.output = SR_PSI_TO_BOTH;
			else
				goto bad_value;
			break;
		case 'n':
			if (sr_psi_normalize_parse(optarg, &a->params.normalize, &err)) {
				*exit_code = sr_cli_usage_error("psi", "--normalize: %s", err.msg);
				return 0;
			}
			break;
		case 'P':
			if (sr_psi_protocol_parse(optarg, &a->params.protocol, &err)) {
				*exit_code = sr_cli_usage_error("psi", "--protocol: %s", err.msg);
				return 0;
			}
			break;
		case 't': {
			/* Parse wide, then range-check: a value past int range
			 * must not wrap into the accepted range. */
			long long t;
			errno = 0;
			t = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || t < 0 || t > 86400)
				goto bad_value;
			a->timeout_s = (int)t;
			break;
		}
		case 'b': {
			unsigned long b = strtoul(optarg, &end, 10);
			if (*end || b == 0 || b > SR_PSI_BATCH_MAX)
				goto bad_value;
			a->params.batch = (uint32_t)b;
			break;
		}
		case 'h':
			fputs(psi_usage, stdout);
			*exit_code = SR_EXIT_OK;
			return 0;
		default:
			*exit_code = sr_cli_usage_error("psi", "bad option");
			return 0;
		}
	}
	optind++;   /* back to argv indices */
	if (!a->serve) {
		if (optind >= argc) {
			*exit_code = sr_cli_usage_error("psi", "connect needs the server's ADDR");
			return 0;
		}
		a->addr = argv[optind++];
	}
	if (optind < argc) {
		*exit_code = sr_cli_usage_error("psi", "unexpected argument '%s'", argv[optind]);
		return 0;
	}
	if (a->serve && !a->addr) {
		*exit_code = sr_cli_usage_error("psi", "serve needs --listen ADDR");
		return 0;
	}
	if (!a->input || !a->column || !a->peer) {
		*exit_code = sr_cli_usage_error("psi", "--input, --column and --peer are required");
		return 0;
	}
	if (a->params.protocol == SR_PSI_PROTO_KKRT && a->params.mode != SR_PSI_INTERSECTION) {
		*exit_code = sr_cli_usage_error("psi",
			"--protocol kkrt runs intersection mode only (use auto or ecdh for cardinality)");
		return 0;
	}
	{
		int gets_rows = a->params.mode == SR_PSI_INTERSECTION &&
			(!a->serve || a->params.output == SR_PSI_TO_BOTH);
		if (gets_rows && !a->output) {
			*exit_code = sr_cli_usage_error("psi",
				"--output OUT.csv is needed: this side receives the intersection");
			return 0;
		}
		if (!gets_rows && a->output) {
			*exit_code = sr_cli_usage_error("psi",
				"--output is only for a side that receives rows (intersection mode; the server needs --result-to both)");
			return 0;
		}
	}
	return 1;
bad_value:
	*exit_code = sr_cli_usage_error("psi", "bad value '%s'", optarg);
	return 0;
}

/* The peer's signing key: 64 hex digits, or a file with them or with an
 * identity.pub document. */
static int parse_peer(const char *arg, uint8_t pk[SR_SIGN_PUBLICKEYBYTES],
		      struct sr_err *err)
{
	struct sr_buf file;
	json_t *doc = NULL;
	const char *hex;
	char *text;
	size_t len;
	int rc;

	if (strlen(arg) == 2 * SR_SIGN_PUBLICKEYBYTES &&
	    sr_unhex(pk, SR_SIGN_PUBLICKEYBYTES, arg) == SR_OK)
		return SR_OK;
	sr_buf_init(&file, 0);
	rc = sr_file_read_all(arg, SR_SMALL_FILE_MAX, &file, err);
	if (rc) {
		sr_buf_release(&file);
		return sr_failx(err, SR_EINVAL,
				"--peer: '%s' is neither 64 hex digits nor a readable key file",
				arg);
	}
	text = file.data;
	len = file.len;
	while (len && (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')) {
		text++;
		len--;
	}
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' ||
		       text[len - 1] == '\t' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (len && text[0] == '{') {
		rc = sr_json_parse(text, len, arg, &doc, err);
		if (rc == SR_OK)
			rc = sr_json_get_string(doc, arg, "sign_pk", 1, &hex, err);
		if (rc == SR_OK && sr_unhex(pk, SR_SIGN_PUBLICKEYBYTES, hex) != SR_OK)
			rc = sr_fail(err, SR_EINVAL, "%s: sign_pk is not 64 hex digits", arg);
	} else if (sr_unhex(pk, SR_SIGN_PUBLICKEYBYTES, text) != SR_OK) {
		rc = sr_fail(err, SR_EINVAL,
			     "%s: expected 64 hex digits or an identity.pub document", arg);
	}
	json_decref(doc);
	sr_buf_release(&file);
	return rc;
}

static int load_identity(struct sr_cli *cli, struct sr_identity *id,
			 struct sr_err *err)
{
	uint8_t key_enc[32];
	int rc;

	rc = sr_cli_open_key(cli, err);
	if (rc)
		return rc;
	sr_masterkey_subkey(&cli->mk, SR_SUBKEY_IDENTITY, key_enc);
	rc = sr_identity_load(id, cli->home, key_enc, err);
	sodium_memzero(key_enc, sizeof(key_enc));
	return rc;
}

static int find_column(struct sr_csv *csv, const char *name, size_t *index,
		       struct sr_err *err)
{
	struct sr_buf names;
	int rc;

	for (size_t i = 0; i < sr_csv_columns(csv); i++)
		if (strcmp(sr_csv_column_name(csv, i), name) == 0) {
			*index = i;
			return SR_OK;
		}
	sr_buf_init(&names, 0);
	for (size_t i = 0; i < sr_csv_columns(csv) && i < 20; i++)
		if (sr_buf_addf(&names, "%s%s", i ? ", " : "",
				sr_csv_column_name(csv, i)) != SR_OK)
			break;
	rc = sr_fail(err, SR_ENOTFOUND, "%s has no column '%s' (columns: %s%s)",
		     sr_csv_name(csv), name, names.data,
		     sr_csv_columns(csv) > 20 ? ", ..." : "");
	sr_buf_release(&names);
	return rc;
}

/* ---- the key source: one CSV column ------------------------------------- */

struct csv_source {
	struct sr_csv *csv;
	size_t column;
	uint64_t row;
	struct sr_buf arena;     /* this batch's keys (wiped at the end) */
	size_t off[READ_BATCH];
};

static int csv_next(void *ctx, struct sr_psi_key *keys, size_t max,
		    size_t *count, struct sr_err *err)
{
	struct csv_source *s = ctx;
	size_t n = 0;
	int rc;

	*count = 0;
	if (max > READ_BATCH)
		max = READ_BATCH;
	sr_buf_reset(&s->arena);
	while (n < max) {
		const struct sr_csv_field *fields;
		const struct sr_csv_field *f;
		int eof;
		rc = sr_csv_next(s->csv, &fields, &eof, err);
		if (rc)
			return rc;
		if (eof)
			break;
		f = &fields[s->column];
		keys[n].row = s->row++;
		keys[n].len = f->is_null ? 0 : f->len;
		s->off[n] = s->arena.len;
		if (sr_buf_add(&s->arena, f->data, keys[n].len) != SR_OK)
			return sr_fail(err, SR_ENOMEM, "out of memory reading keys");
		n++;
	}
	/* The arena may have moved while it grew: point at it only now. */
	for (size_t i = 0; i < n; i++)
		keys[i].data = s->arena.data + s->off[i];
	*count = n;
	return SR_OK;
}

/* ---- progress ------------------------------------------------------------ */

struct psi_progress {
	struct sr_progress bar;
	struct sr_csv *csv;
};

static void on_progress(void *ctx, const char *phase, uint64_t done,
			uint64_t total)
{
	struct psi_progress *p = ctx;
	char detail[96];
	double f;

	if (strcmp(phase, "hashing") == 0) {
		uint64_t size = sr_csv_size(p->csv);
		f = size ? 0.2 * (double)sr_csv_offset(p->csv) / (double)size : 0;
		snprintf(detail, sizeof(detail), "hashing keys (%" PRIu64 " read)", done);
	} else if (strcmp(phase, "exchange") == 0) {
		f = 0.2 + (total ? 0.75 * (double)done / (double)total : 0);
		snprintf(detail, sizeof(detail), "exchanging blinded keys (%" PRIu64 " of %" PRIu64 ")",
			 done, total);
	} else {
		f = 0.95;
		snprintf(detail, sizeof(detail), "%s", phase);
	}
	sr_progress_update(&p->bar, f, detail);
}

/* ---- transport over the channel ----------------------------------------- */

static int chan_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	return sr_channel_send(ctx, msg, len, err);
}

static int chan_recv(void *ctx, struct sr_buf *msg, size_t max_len,
		     struct sr_err *err)
{
	return sr_channel_recv(ctx, msg, max_len, err);
}

/* ---- output -------------------------------------------------------------- */

static int add_csv_field(struct sr_buf *out, const char *s, size_t len)
{
	int quote = len == 0;
	int rc;

	for (size_t i = 0; i < len && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = 1;
	if (!quote)
		return sr_buf_add(out, s, len);
	rc = sr_buf_addch(out, '"');
	for (size_t i = 0; i < len && rc == SR_OK; i++)
		rc = s[i] == '"' ? sr_buf_add(out, "\"\"", 2) : sr_buf_addch(out, s[i]);
	return rc ? rc : sr_buf_addch(out, '"');
}

struct row_at {
	uint64_t row;
	size_t k;      /* position in the agreed order */
};

static int cmp_row_at(const void *a, const void *b)
{
	const struct row_at *x = a, *y = b;

	return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * Write "row,COL" for each result row, in the agreed order: a second pass
 * over the CSV collects the original key of each row.
 */
static int write_output(const struct psi_args *a, struct sr_csv *csv,
			size_t column, const struct sr_psi_result *res,
			struct sr_err *err)
{
	size_t n = res->rows_len, j = 0;
	struct row_at *at = sr_malloc((n ? n : 1) * sizeof(*at));
	size_t *off = sr_malloc((n ? n : 1) * sizeof(*off));
	size_t *len = sr_malloc((n ? n : 1) * sizeof(*len));
	struct sr_buf keys, out;
	uint64_t r = 0;
	int rc;

	sr_buf_init(&keys, 0);
	sr_buf_init(&out, 0);
	if (!at || !off || !len) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory writing %zu rows", n);
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		at[k].row = res->rows[k];
		at[k].k = k;
	}
	qsort(at, n, sizeof(*at), cmp_row_at);
	rc = sr_csv_rewind(csv, err);
	while (rc == SR_OK && j < n) {
		const struct sr_csv_field *fields;
		int eof;
		rc = sr_csv_next(csv, &fields, &eof, err);
		if (rc)
			break;
		if (eof) {
			rc = sr_fail(err, SR_EIO, "%s changed while PSI ran", a->input);
			break;
		}
		for (; j < n && at[j].row == r; j++) {
			off[at[j].k] = keys.len;
			len[at[j].k] = fields[column].len;
			rc = sr_buf_add(&keys, fields[column].data, fields[column].len);
			if (rc) {
				rc = sr_fail(err, rc, "out of memory writing %zu rows", n);
				break;
			}
		}
		r++;
	}
	if (rc)
		goto out;
	rc = sr_buf_addstr(&out, "row,");
	if (rc == SR_OK)
		rc = add_csv_field(&out, a->column, strlen(a->column));
	if (rc == SR_OK)
		rc = sr_buf_addch(&out, '\n');
	for (size_t k = 0; k < n && rc == SR_OK; k++) {
		rc = sr_buf_addf(&out, "%" PRIu64 ",", res->rows[k]);
		if (rc == SR_OK)
			rc = add_csv_field(&out, keys.data + off[k], len[k]);
		if (rc == SR_OK)
			rc = sr_buf_addch(&out, '\n');
	}
	if (rc) {
		rc = sr_fail(err, rc, "out of memory writing %zu rows", n);
		goto out;
	}
	rc = sr_file_write_atomic(a->output, out.data, out.len, 0600, err);
out:
	sr_free(at);
	sr_free(off);
	sr_free(len);
	sr_buf_wipe(&keys);
	sr_buf_wipe(&out);
	return rc;
}

static int print_summary(const struct psi_args *a, const char *peer_org,
			 const struct sr_psi_result *res, double seconds,
			 struct sr_err *err)
{
	const struct sr_psi_stats *st = &res->stats;

	if (a->cli.json) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i}",
			"role", a->serve ? "sender" : "receiver",
			"peer", peer_org,
			"mode", a->params.mode == SR_PSI_CARDINALITY ? "cardinality" : "intersection",
			"rows", (json_int_t)st->keys_read,
			"empty_keys", (json_int_t)st->empty_keys,
			"duplicate_keys", (json_int_t)st->duplicate_keys,
			"set_size", (json_int_t)st->set_size,
			"peer_set_size", (json_int_t)st->peer_set_size,
			"bytes_sent", (json_int_t)st->bytes_sent,
			"bytes_received", (json_int_t)st->bytes_received,
			"tag_bytes", (int)st->tag_bytes);
		if (j)
			json_object_set_new(j, "protocol",
					    json_string(sr_psi_protocol_name(st->protocol)));
		if (j && res->has_size)
			json_object_set_new(j, "intersection_size",
					    json_integer((json_int_t)st->intersection_size));
		if (j && a->output && res->has_size)
			json_object_set_new(j, "output", json_string(a->output));
		if (j)
			json_object_set_new(j, "seconds", json_integer((json_int_t)(seconds + 0.5)));
		return sr_cli_print_json(j, err);
	}
	printf("psi (%s) with %s as %s: %" PRIu64 " rows, %" PRIu64 " distinct keys"
	       " (%" PRIu64 " empty, %" PRIu64 " duplicate); the peer has %" PRIu64 "\n",
	       sr_psi_protocol_name(st->protocol),
	       peer_org, a->serve ? "sender" : "receiver", st->keys_read,
	       st->set_size, st->empty_keys, st->duplicate_keys, st->peer_set_size);
	if (res->has_size)
		printf("intersection: %" PRIu64 " keys%s%s\n", st->intersection_size,
		       a->output ? " -> " : "", a->output ? a->output : "");
	else
		printf("the result went to the receiver only\n");
	return SR_OK;
}

/* `sealroom psi serve|connect ...` */
int sr_cmd_psi(int argc, char **argv)
{
	struct psi_args a;
	struct sr_identity id;
	struct sr_csv *csv = NULL;
	struct sr_channel *ch = NULL;
	struct sr_pool *pool = NULL;
	struct csv_source src_state;
	struct sr_psi_source src;
	struct sr_pipe io;
	struct sr_psi_result res;
	struct psi_progress progress;
	uint8_t peer_pk[SR_SIGN_PUBLICKEYBYTES], sid[SR_CHANNEL_SID_BYTES];
	struct sr_err err;
	size_t column = 0;
	int code, rc, listen_fd = -1, fd = -1;
	double started;

	memset(&a, 0, sizeof(a));
	sr_psi_params_init(&a.params);
	a.timeout_s = 600;
	if (!parse_args(argc, argv, &a, &code))
		return code;
	sr_err_clear(&err);
	sr_identity_init(&id);
	sr_psi_result_init(&res);
	sr_buf_init(&src_state.arena, 0);
	started = sr_now_seconds();
	rc = parse_peer(a.peer, peer_pk, &err);
	if (rc == SR_OK)
		rc = sr_csv_open(a.input, &csv, &err);
	if (rc == SR_OK)
		rc = find_column(csv, a.column, &column, &err);
	if (rc == SR_OK)
		rc = load_identity(&a.cli, &id, &err);
	if (rc == SR_OK)
		rc = sr_pool_new(0, &pool) ? sr_fail(&err, SR_ENOMEM, "out of memory") : SR_OK;
	if (rc)
		goto out;
	if (a.serve) {
		char bound[SR_TCP_ADDR_MAX];
		rc = sr_tcp_listen(a.addr, &listen_fd, &err);
		if (rc == SR_OK)
			rc = sr_tcp_local_addr(listen_fd, bound, &err);
		if (rc)
			goto out;
		/* Always printed: scripts wait for this line (port 0). */
		fprintf(stderr, "psi: listening on %s as %s\n", bound, id.org_id);
		fflush(stderr);
		rc = sr_tcp_accept(listen_fd, a.timeout_s * 1000, &fd, &err);
		close(listen_fd);
		listen_fd = -1;
	} else {
		rc = sr_tcp_connect(a.addr, a.timeout_s * 1000, &fd, &err);
	}
	if (rc)
		goto out;
	rc = sr_channel_handshake(fd, a.serve ? SR_CHANNEL_RESPONDER : SR_CHANNEL_INITIATOR,
				  &id, peer_pk, a.timeout_s * 1000, &ch, &err);
	fd = -1;   /* owned by the channel now, whatever happened */
	if (rc)
		goto out;
	if (!a.cli.quiet)
		fprintf(stderr, "psi: connected to %s\n", sr_channel_peer_org_id(ch));
	sr_channel_session_id(ch, sid);
	a.params.session_id = sid;
	a.params.session_id_len = sizeof(sid);
	a.params.pool = pool;
	sr_progress_init(&progress.bar, "psi", a.cli.quiet);
	progress.csv = csv;
	a.params.progress = on_progress;
	a.params.progress_ctx = &progress;
	src_state.csv = csv;
	src_state.column = column;
	src_state.row = 0;
	src.ctx = &src_state;
	src.next = csv_next;
	io.ctx = ch;
	io.send = chan_send;
	io.recv = chan_recv;
	rc = sr_psi_run(a.serve ? SR_PSI_SENDER : SR_PSI_RECEIVER, &a.params,
			&src, &io, &res, &err);
	sr_progress_done(&progress.bar);
	if (rc)
		goto out;
	if (a.output && res.has_size) {
		rc = write_output(&a, csv, column, &res, &err);
		if (rc)
			goto out;
	}
	rc = print_summary(&a, sr_channel_peer_org_id(ch), &res,
			   sr_now_seconds() - started, &err);
out:
	if (rc && ch)
		sr_channel_shutdown(ch);
	sr_channel_free(ch);
	if (fd >= 0)
		close(fd);
	if (listen_fd >= 0)
		close(listen_fd);
	sr_buf_wipe(&src_state.arena);
	sr_psi_result_release(&res);
	sr_pool_free(pool);
	sr_csv_free(csv);
	sr_identity_release(&id);
	sr_cli_release(&a.cli);
	if (rc)
		return sr_cli_report(&err);
	return SR_EXIT_OK;
}
