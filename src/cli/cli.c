#include "cli/cli.h"

#include <errno.h>
#include <sodium.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/banned.h"

#define PASSPHRASE_MAX 1024

int sr_cli_exit_code(int status)
{
	switch (status) {
	case SR_OK: return SR_EXIT_OK;
	case SR_EUSAGE: return SR_EXIT_USAGE;
	case SR_EINTERNAL:
	case SR_ENOMEM: return SR_EXIT_INTERNAL;
	default: return SR_EXIT_USER;
	}
}

int sr_cli_report(const struct sr_err *err)
{
	const char *msg = err->msg[0] ? err->msg : sr_strerror(err->code);

	fprintf(stderr, "sealroom: %s\n", msg);
	return sr_cli_exit_code(err->code ? err->code : SR_EINTERNAL);
}

int sr_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sealroom: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'sealroom %s --help'\n", cmd);
	return SR_EXIT_USAGE;
}

int sr_cli_parse_count(const char *text, unsigned long long max,
		       uint64_t *out)
{
	unsigned long long v = 0;

	if (!*text || strlen(text) > 20)
		return SR_EINVAL;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return SR_EINVAL;
		if ((unsigned)(*p - '0') > max ||
		    v > (max - (unsigned)(*p - '0')) / 10)
			return SR_EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*out = v;
	return SR_OK;
}

int sr_cli_resolve_home(struct sr_cli *cli, struct sr_err *err)
{
	static char buf[4096];
	const char *env;

	if (cli->home && *cli->home)
		return SR_OK;
	env = getenv("SEALROOM_HOME");
	if (env && *env) {
		cli->home = env;
		return SR_OK;
	}
	env = getenv("HOME");
	if (!env || !*env)
		return sr_fail(err, SR_EINVAL,
			       "no node home: give --home DIR or set SEALROOM_HOME");
	snprintf(buf, sizeof(buf), "%s/.sealroom", env);
	cli->home = buf;
	return SR_OK;
}

static int read_line_noecho(const char *prompt, char *buf, size_t size,
			    struct sr_err *err)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	size_t len;
	int rc = SR_OK;

	if (!tty)
		return sr_fail(err, SR_EINVAL,
			       "a passphrase is needed: set SEALROOM_PASSPHRASE or run on a terminal");
	fputs(prompt, tty);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	if (!fgets(buf, (int)size, tty)) {
		rc = sr_fail(err, SR_EINVAL, "no passphrase given");
	} else {
		len = strlen(buf);
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
	}
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return rc;
}

int sr_cli_passphrase(const char *prompt, int confirm, char **out,
		      struct sr_err *err)
{
	const char *env = getenv("SEALROOM_PASSPHRASE");
	char *pass, *again = NULL;
	int rc = SR_OK;

	*out = NULL;
	pass = sodium_malloc(PASSPHRASE_MAX);
	if (!pass)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	if (env) {
		if (strlen(env) >= PASSPHRASE_MAX) {
			rc = sr_fail(err, SR_EINVAL,
				     "SEALROOM_PASSPHRASE is longer than %d bytes",
				     PASSPHRASE_MAX - 1);
			goto out;
		}
		memcpy(pass, env, strlen(env) + 1);
	} else {
		rc = read_line_noecho(prompt, pass, PASSPHRASE_MAX, err);
		if (rc == SR_OK && confirm) {
			again = sodium_malloc(PASSPHRASE_MAX);
			if (!again)
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
			else
				rc = read_line_noecho("repeat passphrase: ",
						      again, PASSPHRASE_MAX, err);
			if (rc == SR_OK && strcmp(pass, again) != 0)
				rc = sr_fail(err, SR_EINVAL,
					     "the passphrases do not match");
		}
	}
	if (rc == SR_OK && pass[0] == '\0')
		rc = sr_fail(err, SR_EINVAL, "the passphrase is empty");
out:
	if (again)
		sodium_free(again);   /* sodium_free wipes */
	if (rc) {
		sodium_free(pass);
		return rc;
	}
	*out = pass;
	return SR_OK;
}

void sr_cli_passphrase_free(char *pass)
{
	if (pass)
		sodium_free(pass);
}

int sr_cli_open_key(struct sr_cli *cli, struct sr_err *err)
{
	enum sr_key_provider provider;
	char *pass = NULL;
	int rc, recovery;

	if (cli->mk_open)
		return SR_OK;
	rc = sr_cli_resolve_home(cli, err);
	if (rc == SR_OK)
		rc = sr_masterkey_provider(cli->home, &provider, err);
	if (rc == SR_ENOTFOUND)
		return sr_failx(err, SR_ENOTFOUND,
				"%s is not a node home: run 'sealroom init --home %s' first",
				cli->home, cli->home);
	if (rc)
		return rc;
	recovery = provider == SR_KEY_TPM2 && getenv("SEALROOM_KEY_RECOVERY") &&
		   strcmp(getenv("SEALROOM_KEY_RECOVERY"), "1") == 0;
	if (provider == SR_KEY_PASSPHRASE || recovery) {
		rc = sr_cli_passphrase(recovery ? "recovery passphrase: "
						: "passphrase: ", 0, &pass, err);
		if (rc)
			return rc;
	}
	sr_masterkey_init(&cli->mk);
	if (recovery)
		rc = sr_masterkey_open_recovery(&cli->mk, cli->home, pass, err);
	else
		rc = sr_masterkey_open(&cli->mk, cli->home, pass, err);
	sr_cli_passphrase_free(pass);
	if (rc == SR_OK)
		cli->mk_open = 1;
	return rc;
}

int sr_cli_open_store(struct sr_cli *cli, int with_key, struct sr_err *err)
{
	int rc = sr_cli_resolve_home(cli, err);

	if (rc == SR_OK && with_key)
		rc = sr_cli_open_key(cli, err);
	if (rc == SR_OK && !with_key) {
		enum sr_key_provider provider;
		/* Never create a store in a directory that is not a home. */
		rc = sr_masterkey_provider(cli->home, &provider, err);
		if (rc == SR_ENOTFOUND)
			return sr_failx(err, SR_ENOTFOUND,
					"%s is not a node home: run 'sealroom init --home %s' first",
					cli->home, cli->home);
		/* The file and tpm2 providers need no prompt (the file
		 * one also gives its development-only warning at every
		 * start). */
		if (rc == SR_OK &&
		    (provider == SR_KEY_FILE || provider == SR_KEY_TPM2))
			rc = sr_cli_open_key(cli, err);
	}
	if (rc == SR_OK)
		rc = sr_store_open(cli->home, cli->mk_open ? &cli->mk : NULL,
				   &cli->store, err);
	return rc;
}

void sr_cli_release(struct sr_cli *cli)
{
	sr_store_free(cli->store);
	cli->store = NULL;
	if (cli->mk_open)
		sr_masterkey_release(&cli->mk);
	cli->mk_open = 0;
}

double sr_now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sr_progress_init(struct sr_progress *p, const char *what, int quiet)
{
	const char *env = getenv("SEALROOM_PROGRESS");

	p->what = what;
	p->started = sr_now_seconds();
	p->last = 0;
	p->shown = 0;
	p->tty = isatty(STDERR_FILENO);
	p->enabled = !(env && strcmp(env, "0") == 0);
	if (quiet)
		p->enabled = 0;
}

void sr_progress_update(struct sr_progress *p, double fraction,
			const char *detail)
{
	double now = sr_now_seconds();

	/* A terminal gets a line redrawn five times a second; a log file a
	 * new line every five seconds. */
	if (!p->enabled || now - p->started < 1.0 ||
	    now - p->last < (p->tty ? 0.2 : 5.0))
		return;
	p->last = now;
	p->shown = 1;
	fprintf(stderr, p->tty ? "\r%s: %5.1f%% %s\033[K" : "%s: %5.1f%% %s\n",
		p->what, fraction * 100.0, detail ? detail : "");
	fflush(stderr);
}

void sr_progress_done(struct sr_progress *p)
{
	if (p->shown)
		fprintf(stderr, p->tty ? "\r%s: done in %.1f s\033[K\n" :
			"%s: done in %.1f s\n", p->what,
			sr_now_seconds() - p->started);
}

const char *sr_cli_bytes(char buf[32], unsigned long long bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%llu B", bytes);
	else
		snprintf(buf, 32, "%.1f %s", v, units[u]);
	return buf;
}

int sr_cli_print_json(json_t *value, struct sr_err *err)
{
	struct sr_buf out;
	int rc;

	if (!value)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	sr_buf_init(&out, 0);
	rc = sr_json_dump(value, 1, &out);
	json_decref(value);
	if (rc == SR_OK) {
		fwrite(out.data, 1, out.len, stdout);
		fputc('\n', stdout);
	} else {
		rc = sr_fail(err, rc, "out of memory");
	}
	sr_buf_release(&out);
	return rc;
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void sr_cli_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void sr_cli_wait_stop(void)
{
	while (!stop_requested)
		pause();
}
