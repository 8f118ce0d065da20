/*
 * nodeclient.c - finding the node and the token, calling the node API,
 * one-line errors from its answers, and the option parsing and output
 * helpers the workflow commands share (see nodeclient.h).
 */
#include "cli/nodeclient.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"
#include "net/http.h"
#include "base/banned.h"

void sr_nodeclient_init(struct sr_nodeclient *nc)
{
	nc->url = NULL;
	nc->token = NULL;
	nc->timeout_ms = SR_NODECLIENT_TIMEOUT_MS;
	nc->max_answer = 0;
}

void sr_nodeclient_release(struct sr_nodeclient *nc)
{
	sr_free(nc->url);
	if (nc->token) {
		sodium_memzero(nc->token, strlen(nc->token));
		sr_free(nc->token);
	}
	sr_nodeclient_init(nc);
}

/* Copy url without surrounding white space or trailing slashes, checking
 * the scheme; what names where the URL came from. */
static int set_url(struct sr_nodeclient *nc, const char *url, size_t len,
		   const char *what, struct sr_err *err)
{
	while (len && isspace((unsigned char)*url)) {
		url++;
		len--;
	}
	while (len && (isspace((unsigned char)url[len - 1]) || url[len - 1] == '/'))
		len--;
	if (len == 0)
		return sr_fail(err, SR_EINVAL, "%s: the node URL is empty", what);
	if (len > SR_NODECLIENT_URL_MAX)
		return sr_fail(err, SR_EINVAL,
			       "%s: the node URL is longer than %d bytes", what,
			       SR_NODECLIENT_URL_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return sr_fail(err, SR_EINVAL,
				       "%s: the node URL contains white space or control characters",
				       what);
	/* The node API is plain HTTP on loopback (docs/api.md). */
	if (!(len > 7 && strncmp(url, "http://", 7) == 0))
		return sr_fail(err, SR_EINVAL,
			       "%s: expected a node URL such as http://127.0.0.1:PORT, got '%.*s'",
			       what, (int)(len > 80 ? 80 : len), url);
	nc->url = sr_strndup(url, len);
	return nc->url ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
}

int sr_nodeclient_open(struct sr_nodeclient *nc, struct sr_cli *cli,
		       const char *node_flag, const char *token_flag,
		       struct sr_err *err)
{
	const char *env_node = getenv("SEALROOM_NODE");
	const char *token = token_flag;
	struct sr_buf path, text;
	int rc;

	sr_nodeclient_release(nc);
	sr_buf_init(&path, 0);
	sr_buf_init(&text, 0);
	if (node_flag) {
		rc = set_url(nc, node_flag, strlen(node_flag), "--node", err);
	} else if (env_node && *env_node) {
		rc = set_url(nc, env_node, strlen(env_node), "SEALROOM_NODE", err);
	} else {
		rc = sr_cli_resolve_home(cli, err);
		if (rc == SR_OK && sr_path_join(&path, cli->home, "node.url"))
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		if (rc)
			goto out;
		rc = sr_file_read_all(path.data, SR_NODECLIENT_URL_MAX + 64,
				      &text, err);
		if (rc == SR_ENOTFOUND) {
			rc = sr_failx(err, SR_EINVAL,
				      "no node to talk to: pass --node URL, set SEALROOM_NODE, "
				      "or start 'sealroom node' (it writes %s)",
				      path.data);
			goto out;
		}
		if (rc == SR_OK && memchr(text.data, '\0', text.len))
			rc = sr_fail(err, SR_EINVAL, "%s: not a node URL", path.data);
		if (rc == SR_OK)
			rc = set_url(nc, text.data, text.len, path.data, err);
	}
	if (rc)
		goto out;
	if (!token || !*token)
		token = getenv("SEALROOM_TOKEN");
	if (!token || !*token) {
		rc = sr_fail(err, SR_EINVAL,
			     "a token is needed: pass --token or set SEALROOM_TOKEN "
			     "(create one with 'sealroom token create --role ROLE')");
		goto out;
	}
	nc->token = sr_strdup(token);
	if (!nc->token)
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
out:
	if (rc)
		sr_nodeclient_release(nc);
	sr_buf_release(&path);
	sr_buf_release(&text);
	return rc;
}

static int code_for_status(int status)
{
	if (status >= 500)
		return SR_EINTERNAL;
	switch (status) {
	case 401:
	case 403: return SR_EPERM;
	case 404: return SR_ENOTFOUND;
	case 409: return SR_EEXIST;
	case 413: return SR_ELIMIT;
	default: return status >= 400 ? SR_EINVAL : SR_EPROTO;
	}
}

/* A transport failure that means nothing listens there. */
/* Refused or not resolved: nothing listens there.  (Not a reset or a
 * close: a node that is running but busy says so, net/http.c.) */
static int unreachable(const char *msg)
{
	return strstr(msg, "connection refused") || strstr(msg, "Connection refused") ||
	       strstr(msg, "Failed to connect") || strstr(msg, "resolve");
}

int sr_nodeclient_call(struct sr_nodeclient *nc, const char *method,
		       const char *path, const json_t *body, int *status,
		       json_t **answer, struct sr_err *err)
{
	struct sr_buf url;
	struct sr_err call_err;
	char clean[SR_ERR_MSG_MAX];
	const char *text;
	int http_status = 0, rc;

	*answer = NULL;
	if (status)
		*status = 0;
	if (!nc->url || !nc->token)
		return sr_fail(err, SR_EINTERNAL, "node client used before open");
	sr_buf_init(&url, 0);
	if (sr_buf_addstr(&url, nc->url) || sr_buf_addstr(&url, path)) {
		sr_buf_release(&url);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	sr_err_clear(&call_err);
	{
		struct sr_http_call_opts opts;
		memset(&opts, 0, sizeof(opts));
		opts.token = nc->token;
		opts.timeout_ms = nc->timeout_ms;
		opts.max_answer = nc->max_answer;
		rc = sr_http_call_opts(method, url.data, body, &opts, &http_status,
				       answer, &call_err);
	}
	if (status)
		*status = http_status;
	if (rc == SR_EIO && unreachable(call_err.msg)) {
		rc = sr_fail(err, SR_EIO,
			     "cannot reach the node at %s: is 'sealroom node' running?",
			     nc->url);
	} else if (rc == SR_EIO || rc == SR_ETIMEOUT || rc == SR_EPROTO ||
		   rc == SR_ELIMIT || rc == SR_EINVAL || rc == SR_ECRYPTO) {
		rc = sr_fail(err, rc, "%s", call_err.msg);
	} else if (rc) {
		rc = sr_fail(err, rc, "%s",
			     call_err.msg[0] ? call_err.msg : sr_strerror(rc));
	} else if (http_status < 200 || http_status > 299) {
		text = sr_nodeclient_str(*answer, "error", NULL);
		if (text)
			rc = sr_fail(err, code_for_status(http_status), "%s",
				     sr_nodeclient_clean(clean, sizeof(clean), text));
		else
			rc = sr_fail(err, code_for_status(http_status),
				     "%s %s: the node answered HTTP %d", method,
				     path, http_status);
	}
	sr_buf_release(&url);
	return rc;
}

int sr_nodeclient_check_project(const char *project, struct sr_err *err)
{
	size_t len = strlen(project);
	char clean[80];

	for (size_t i = 0; i < len && len <= SR_PROJECT_ID_MAX; i++) {
		char c = project[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			goto bad;
	}
	if (len >= 1 && len <= SR_PROJECT_ID_MAX)
		return SR_OK;
bad:
	return sr_fail(err, SR_EUSAGE,
		       "'%s' is not a project id (1 to %d of A-Z a-z 0-9 _ - .; "
		       "'sealroom project list' shows them)",
		       sr_nodeclient_clean(clean, sizeof(clean), project),
		       SR_PROJECT_ID_MAX);
}

int sr_nodeclient_job_id(const char *arg, char out[65], struct sr_err *err)
{
	size_t len = strlen(arg);
	char clean[80];

	if (len < 8 || len > 64)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)arg[i]))
			goto bad;
		out[i] = (char)tolower((unsigned char)arg[i]);
	}
	out[len] = '\0';
	return SR_OK;
bad:
	out[0] = '\0';
	return sr_fail(err, SR_EUSAGE,
		       "'%s' is not a job id: expected 8 to 64 hex digits "
		       "(a unique prefix of the id is enough)",
		       sr_nodeclient_clean(clean, sizeof(clean), arg));
}

/* ---- options ---- */

static const struct {
	unsigned flag;
	const char *name;
} extra_names[] = {
	{ SR_NCOPT_PROJECT, "--project" }, { SR_NCOPT_SPEC, "--spec" },
	{ SR_NCOPT_REASON, "--reason" }, { SR_NCOPT_OUTPUT, "--output" },
	{ SR_NCOPT_TIMEOUT, "--timeout" }, { SR_NCOPT_FROM, "--from" },
	{ SR_NCOPT_QUERY, "--receiver, --epsilon or --delta" }, { SR_NCOPT_CSV, "--csv" },
	{ SR_NCOPT_PLOT, "--plot" },
};

int sr_nodeclient_parse(const char *cmd, const char *usage, unsigned allowed,
			int argc, char **argv, struct sr_nodeclient_args *a,
			int *exit_code)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "node", required_argument, NULL, 'N' },
		{ "token", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "project", required_argument, NULL, 'p' },
		{ "spec", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "receiver", required_argument, NULL, 'R' },
		{ "epsilon", required_argument, NULL, 'E' },
		{ "delta", required_argument, NULL, 'D' },
		{ "csv", no_argument, NULL, 'C' },
		{ "plot", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned used = 0;
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((c = getopt_long(argc, argv, "hqo:", opts, NULL)) != -1) {
		switch (c) {
		case 'H': a->cli.home = optarg; break;
		case 'N': a->node = optarg; break;
		case 'T': a->token = optarg; break;
		case 'j': a->cli.json = 1; break;
		case 'q': a->cli.quiet = 1; break;
		case 'h':
			fputs(usage, stdout);
			*exit_code = SR_EXIT_OK;
			return 1;
		case 'p': a->project = optarg; used |= SR_NCOPT_PROJECT; break;
		case 's': a->spec = optarg; used |= SR_NCOPT_SPEC; break;
		case 'r': a->reason = optarg; used |= SR_NCOPT_REASON; break;
		case 'o': a->output = optarg; used |= SR_NCOPT_OUTPUT; break;
		case 'R': a->receiver = optarg; used |= SR_NCOPT_QUERY; break;
		case 'E': a->epsilon = optarg; used |= SR_NCOPT_QUERY; break;
		case 'D': a->delta = optarg; used |= SR_NCOPT_QUERY; break;
		case 'C': a->csv = 1; used |= SR_NCOPT_CSV; break;
		case 'P': a->plot = optarg; used |= SR_NCOPT_PLOT; break;
		case 't':
			errno = 0;
			a->timeout_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(a->timeout_s) ||
			    a->timeout_s <= 0 || a->timeout_s > 1e7) {
				*exit_code = sr_cli_usage_error(cmd,
					"--timeout: expected a number of seconds above 0, got '%s'",
					optarg);
				return 1;
			}
			used |= SR_NCOPT_TIMEOUT;
			break;
		case 'f':
			errno = 0;
			a->from = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || a->from < 0) {
				*exit_code = sr_cli_usage_error(cmd,
					"--from: expected an event number from 0, got '%s'",
					optarg);
				return 1;
			}
			used |= SR_NCOPT_FROM;
			break;
		default:
			*exit_code = sr_cli_usage_error(cmd, "bad option");
			return 1;
		}
	}
	for (size_t i = 0; i < sizeof(extra_names) / sizeof(*extra_names); i++)
		if ((used & extra_names[i].flag) && !(allowed & extra_names[i].flag)) {
			*exit_code = sr_cli_usage_error(cmd, "%s does not apply here",
							extra_names[i].name);
			return 1;
		}
	a->pos = argv + optind;
	a->npos = argc - optind;
	return 0;
}

int sr_nodeclient_run(const char *cmd, const char *usage, unsigned allowed,
		      int (*fn)(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
				struct sr_err *err),
		      int argc, char **argv)
{
	struct sr_nodeclient_args a;
	struct sr_nodeclient nc;
	struct sr_err err;
	int code = SR_EXIT_OK, rc;

	if (sr_nodeclient_parse(cmd, usage, allowed, argc, argv, &a, &code))
		return code;
	sr_err_clear(&err);
	sr_nodeclient_init(&nc);
	rc = fn(&a, &nc, &err);
	sr_nodeclient_release(&nc);
	fflush(stdout);
	if (rc == SR_EUSAGE)
		return sr_cli_usage_error(cmd, "%s", err.msg);
	return rc ? sr_cli_report(&err) : SR_EXIT_OK;
}

int sr_nodeclient_dispatch(const char *noun, const char *usage,
			   const struct sr_nodeclient_verb *verbs,
			   size_t nverbs, int argc, char **argv)
{
	char cmd[64];

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? SR_EXIT_USAGE : SR_EXIT_OK;
	}
	for (size_t i = 0; i < nverbs; i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		snprintf(cmd, sizeof(cmd), "%s %s", noun, verbs[i].name);
		return sr_nodeclient_run(cmd, usage, verbs[i].allowed, verbs[i].fn,
					 argc - 1, argv + 1);
	}
	return sr_cli_usage_error(noun, "unknown command '%s'", argv[1]);
}

/* ---- output helpers ---- */

const char *sr_nodeclient_str(const json_t *obj, const char *key,
			      const char *dflt)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : dflt;
}

long long sr_nodeclient_int(const json_t *obj, const char *key,
			    long long dflt)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

long long sr_nodeclient_count(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_array(v))
		return (long long)json_array_size(v);
	if (json_is_object(v))
		return (long long)json_object_size(v);
	return -1;
}

const char *sr_nodeclient_clean(char *buf, size_t size, const char *s)
{
	size_t limit = size - 1, o = 0, i = 0;
	int truncated = 0;

	if (!s) {
		buf[0] = '\0';
		return buf;
	}
	while (s[i]) {
		unsigned char ch = (unsigned char)s[i];
		size_t n = 1;
		int control = ch < 0x20 || ch == 0x7f;

		/* UTF-8 C1 controls (U+0080..U+009F): 0xc2 0x80..0x9f. */
		if (ch == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			control = 1;
			n = 2;
		} else if (ch >= 0xc0) {
			while (n < 4 && ((unsigned char)s[i + n] & 0xc0) == 0x80)
				n++;
		}
		if (o + (control ? 1 : n) > limit) {
			truncated = 1;
			break;
		}
		if (control) {
			buf[o++] = '?';
		} else {
			memcpy(buf + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (truncated) {
		/* Drop whole characters until "..." fits. */
		while (o > 0 && o + 3 > limit) {
			o--;
			while (o > 0 && ((unsigned char)buf[o] & 0xc0) == 0x80)
				o--;
		}
		if (o + 3 <= limit) {
			memcpy(buf + o, "...", 3);
			o += 3;
		}
	}
	buf[o] = '\0';
	return buf;
}

const char *sr_nodeclient_short(char buf[80], const char *hex, size_t n)
{
	char head[65];

	if (!hex) {
		snprintf(buf, 80, "?");
		return buf;
	}
	if (n > 64)
		n = 64;
	if (strlen(hex) <= n)
		return sr_nodeclient_clean(buf, 80, hex);
	memcpy(head, hex, n);
	head[n] = '\0';
	sr_nodeclient_clean(buf, 76, head);
	memcpy(buf + strlen(buf), "\xe2\x80\xa6", 4);   /* "…" and the NUL */
	return buf;
}

const char *sr_nodeclient_prefix(char buf[80], const char *hex, size_t n)
{
	char head[65];

	if (!hex) {
		snprintf(buf, 80, "?");
		return buf;
	}
	snprintf(head, sizeof(head), "%.*s", (int)(n > 64 ? 64 : n), hex);
	return sr_nodeclient_clean(buf, 80, head);
}

json_t *sr_nodeclient_project_state(struct sr_nodeclient *nc,
				    const char *project)
{
	struct sr_err ignored;
	json_t *state = NULL;
	char path[128];

	sr_err_clear(&ignored);
	if (!project || sr_nodeclient_check_project(project, &ignored) != SR_OK)
		return NULL;
	snprintf(path, sizeof(path), "/v1/projects/%s", project);
	if (sr_nodeclient_call(nc, "GET", path, NULL, NULL, &state, &ignored) != SR_OK ||
	    !json_is_object(state)) {
		json_decref(state);
		return NULL;
	}
	return state;
}

const char *sr_nodeclient_member_name(const json_t *project,
				      const char *org_id)
{
	const json_t *m;
	size_t i;

	if (!org_id)
		return "?";
	json_array_foreach(json_object_get(project, "members"), i, m)
		if (strcmp(sr_nodeclient_str(m, "org_id", ""), org_id) == 0)
			return sr_nodeclient_str(m, "name", org_id);
	return org_id;
}

const char *sr_nodeclient_time(char buf[32], long long unix_seconds)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	if (unix_seconds < 0 || !gmtime_r(&t, &tm) ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", unix_seconds);
	return buf;
}

void sr_nodeclient_print_violations(FILE *f, const json_t *violations)
{
	char rule[128], dataset[160], column[160], usage[64], message[1100];
	const json_t *v;
	size_t i;

	json_array_foreach(violations, i, v) {
		const char *ds = sr_nodeclient_str(v, "dataset", NULL);
		const char *col = sr_nodeclient_str(v, "column", NULL);
		const char *use = sr_nodeclient_str(v, "usage", NULL);

		fprintf(f, "  - [%s] ", sr_nodeclient_clean(rule, sizeof(rule),
			sr_nodeclient_str(v, "rule", "?")));
		if (ds || col) {
			fprintf(f, "%s%s%s",
				sr_nodeclient_clean(dataset, sizeof(dataset), ds),
				ds && col ? "." : "",
				sr_nodeclient_clean(column, sizeof(column), col));
			if (use)
				fprintf(f, " (%s)", sr_nodeclient_clean(usage,
					sizeof(usage), use));
			fputs(": ", f);
		} else if (use) {
			fprintf(f, "(%s): ", sr_nodeclient_clean(usage,
				sizeof(usage), use));
		}
		fprintf(f, "%s\n", sr_nodeclient_clean(message, sizeof(message),
			sr_nodeclient_str(v, "message", "")));
	}
}

void sr_nodeclient_print_verdict(FILE *f, const json_t *verdict)
{
	const json_t *accept = json_object_get(verdict, "accept");

	if (!json_is_object(verdict) || !json_is_boolean(accept)) {
		fputs("no verdict recorded\n", f);
		return;
	}
	if (json_is_true(accept)) {
		fputs("accepted by the security checker\n", f);
		return;
	}
	fputs("refused by the security checker:\n", f);
	sr_nodeclient_print_violations(f, json_object_get(verdict, "violations"));
}
