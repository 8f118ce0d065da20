/*
 * cmd_demo.c - `sealroom demo`: the whole multi-party story on loopback,
 * in a temporary directory.  Every step runs the real sealroom command as
 * a separate process (the coordinator and the three nodes are real
 * processes too), so what the demo shows is exactly what users type.
 *
 * The story: a bank, a shop and an insurer each create a node and import
 * their customer tables with policies; the bank creates a project and
 * invites the others, who join and publish their datasets' metadata; the
 * bank's analyst proposes a private set intersection of the three
 * customer lists; each organization's steward approves it; the nodes run
 * it over end-to-end encrypted mailboxes; the bank reads the result, which
 * the demo checks against the plaintext answer; every node verifies the
 * ledger; and a proposal that breaks the policies is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "base/buf.h"
#include "base/file.h"
#include "cli/cli.h"
#include "cli/demo_anon.h"
#include "cli/demo_join.h"
#include "cli/demo_data.h"
#include "cli/demo_query.h"
#include "cli/demo_train.h"
#include "crypto/crypto.h"
#include "base/banned.h"

static const char demo_usage[] =
	"usage: sealroom demo [--rows N] [--keep]\n"
	"\n"
	"Run the sealroom story end to end on loopback, in a temporary\n"
	"directory: a coordinator and three nodes (bank, shop, insurer) as\n"
	"real processes, sample data imported with policies, a project, a\n"
	"private set intersection approved by every owner and run over\n"
	"encrypted mailboxes, its result checked against the plaintext\n"
	"answer, the ledger verified, and a proposal the security checker\n"
	"refuses; then the later chapters (anonymize, query, join, and a\n"
	"SecureBoost model trained by the bank and the shop that scores new\n"
	"applicants).  Prints every command and its output, then cleans up.\n"
	"\n"
	"  --rows N   rows of the bank's customer table (default 20000; the\n"
	"             shop and the insurer get 3/4 and 3/5 of it)\n"
	"  --keep     keep the temporary directory (and stop the processes)\n";

#define ORGS 3
static const char *const org_names[ORGS] = { "bank", "shop", "insurer" };
static const char *const dataset_names[ORGS] = { "customers", "purchases", "policies" };
static const char *const role_names[3] = { "admin", "steward", "analyst" };
enum { ADMIN = 0, STEWARD = 1, ANALYST = 2 };

struct org {
	char home[300];
	char id[64];
	char token[3][80];
	pid_t pid;
	char log[320];
};

struct demo {
	char self[4096];
	char dir[256];
	int step;
	pid_t coord_pid;
	char coord_log[320];
	char coord_url[128];
	char pin[128];
	struct org org[ORGS];
};

static void say(struct demo *d, const char *what)
{
	printf("\n== %d. %s\n", ++d->step, what);
	fflush(stdout);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Fork and exec sealroom with args; the token (never printed) goes in the
 * child's environment.  stdout to out_path when given; stderr to stdout. */
static pid_t start(struct demo *d, const char *out_path, const char *token,
		   const char *const *args, int echo)
{
	pid_t pid;

	if (echo) {
		printf("$ sealroom");
		for (size_t i = 0; args[i]; i++)
			printf(" %s", args[i]);
		if (out_path && echo == 1)
			printf(" > %s", strrchr(out_path, '/') + 1);
		printf("\n");
		fflush(stdout);
	}
	pid = fork();
	if (pid == 0) {
		const char *argv[40];
		size_t n = 0;
		argv[n++] = "sealroom";
		for (size_t i = 0; args[i] && n < 38; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		if (token)
			setenv("SEALROOM_TOKEN", token, 1);
		/* Messages on stderr read in order with the story; a JSON
		 * answer captured in a file stays clean.  Background
		 * processes (echo 1 with a file) log both to the file. */
		if (!(out_path && echo == 1))
			dup2(STDOUT_FILENO, STDERR_FILENO);
		if (out_path) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
				_exit(127);
			close(fd);
		}
		if (out_path && echo == 1)
			dup2(STDOUT_FILENO, STDERR_FILENO);
		execv(d->self, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_pid(pid_t pid)
{
	int status;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int run(struct demo *d, const char *out_path, const char *token,
	       const char *const *args)
{
	return wait_pid(start(d, out_path, token, args, 1));
}

/* Run quietly into out_path and parse its JSON; NULL on failure (the
 * output is printed then). */
static json_t *run_json(struct demo *d, const char *out_path, const char *token,
			const char *const *args)
{
	json_t *j;
	int st = wait_pid(start(d, out_path, token, args, 2));

	j = st == 0 ? json_load_file(out_path, 0, NULL) : NULL;
	if (!j) {
		struct sr_buf b;
		struct sr_err e;
		sr_buf_init(&b, 0);
		if (sr_file_read_all(out_path, 0, &b, &e) == SR_OK)
			printf("%s\n", b.data);
		sr_buf_release(&b);
	}
	return j;
}

/* Wait up to timeout_s for a line starting with prefix in path. */
static int wait_line(const char *path, const char *prefix, char *line,
		     size_t size, double timeout_s)
{
	double t0 = sr_now_seconds();

	while (sr_now_seconds() - t0 < timeout_s) {
		FILE *f = fopen(path, "r");
		if (f) {
			while (fgets(line, (int)size, f))
				if (strncmp(line, prefix, strlen(prefix)) == 0) {
					fclose(f);
					line[strcspn(line, "\n")] = '\0';
					return 0;
				}
			fclose(f);
		}
		usleep(50000);
	}
	return -1;
}

static void print_file(const char *path, size_t max_lines)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (n++ < max_lines)
			fputs(line, stdout);
	}
	if (n > max_lines)
		printf("... (%zu lines in all)\n", n);
	fclose(f);
	fflush(stdout);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Compare the result CSV (row,customer_id) with the plaintext answer:
 * the ids of indexes [lo, hi). */
static int check_result(const char *path, size_t lo, size_t hi)
{
	FILE *f = fopen(path, "r");
	char line[256], **want = NULL;
	unsigned char *seen = NULL;
	size_t n = hi - lo, got = 0, bad = 0;
	int ok = 0;

	if (!f)
		return 0;
	want = calloc(n ? n : 1, sizeof(*want));
	seen = calloc(n ? n : 1, 1);
	if (!seen)
		goto out;
	for (size_t i = 0; want && i < n; i++) {
		want[i] = malloc(16);
		if (!want[i])
			goto out;
		sr_demo_customer_id(want[i], lo + i);
	}
	if (!want)
		goto out;
	qsort(want, n, sizeof(*want), cmp_str);
	if (!fgets(line, sizeof(line), f))   /* header */
		goto out;
	while (fgets(line, sizeof(line), f)) {
		char *comma = strchr(line, ','), *key = comma ? comma + 1 : NULL;
		char **hit;
		if (!key)
			continue;
		key[strcspn(key, "\r\n")] = '\0';
		hit = bsearch(&key, want, n, sizeof(*want), cmp_str);
		if (hit && !seen[hit - want]) {
			seen[hit - want] = 1;   /* each expected id once */
			got++;
		} else {
			bad++;
		}
	}
	printf("plaintext check: the three lists share %zu customers; the result has %zu of them and %zu others\n",
	       n, got, bad);
	ok = got == n && bad == 0;
out:
	for (size_t i = 0; want && i < n; i++)
		free(want[i]);
	free(want);
	free(seen);
	fclose(f);
	return ok;
}

static void stop_all(struct demo *d)
{
	for (int i = 0; i < ORGS; i++)
		if (d->org[i].pid > 0) {
			kill(d->org[i].pid, SIGTERM);
			wait_pid(d->org[i].pid);
			d->org[i].pid = 0;
		}
	if (d->coord_pid > 0) {
		kill(d->coord_pid, SIGTERM);
		wait_pid(d->coord_pid);
		d->coord_pid = 0;
	}
}

static int write_text(const char *path, const char *text)
{
	struct sr_err err;

	return sr_file_write_atomic(path, text, strlen(text), 0600, &err);
}

static int story(struct demo *d, unsigned long rows)
{
	char path[400], path2[400], line[512], spec[2048], project[80], job[80];
	struct sr_err err;
	size_t shop_first = rows / 2, shop_rows = rows * 3 / 4;
	size_t ins_first = rows * 7 / 10, ins_rows = rows * 3 / 5;
	json_t *j;
	int st;

	sr_err_clear(&err);
	say(d, "Start the coordinator: it orders and relays, and is trusted with nothing");
	snprintf(path, sizeof(path), "%s/coordinator", d->dir);
	snprintf(d->coord_log, sizeof(d->coord_log), "%s/coordinator.log", d->dir);
	d->coord_pid = start(d, d->coord_log, NULL, (const char *const[]){
		"coordinator", "--listen", "127.0.0.1:0", "--data", path, NULL }, 1);
	if (wait_line(d->coord_log, "coordinator listening on ", line, sizeof(line), 20) != 0) {
		print_file(d->coord_log, 20);
		return 0;
	}
	note("%s", line);
	if (sscanf(line, "coordinator listening on %127s (pin %127[^)])", d->coord_url,
		   d->pin) < 1)
		return 0;

	for (int i = 0; i < ORGS; i++) {
		char title[160];
		snprintf(d->org[i].home, sizeof(d->org[i].home), "%s/%s", d->dir, org_names[i]);
		snprintf(title, sizeof(title),
			 "The %s creates its node: master key, identity keys, encrypted store",
			 org_names[i]);
		say(d, title);
		snprintf(path, sizeof(path), "%s/%s-init.json", d->dir, org_names[i]);
		j = run_json(d, path, NULL, (const char *const[]){ "init", "--home",
			     d->org[i].home, "--json", NULL });
		if (!j)
			return 0;
		snprintf(d->org[i].id, sizeof(d->org[i].id), "%s",
			 json_string_value(json_object_get(j, "org_id")));
		json_decref(j);
		note("%s is organization %s", org_names[i], d->org[i].id);
	}

	say(d, "Each generates its table and policy (deterministic sample data; the shop and the insurer allow the bank to receive results)");
	{
		const char *recv[1] = { d->org[0].id };
		char csv[ORGS][400], pol[ORGS][400];
		for (int i = 0; i < ORGS; i++) {
			snprintf(csv[i], sizeof(csv[i]), "%s/%s.csv", d->dir, dataset_names[i]);
			snprintf(pol[i], sizeof(pol[i]), "%s/%s.policy.json", d->dir, dataset_names[i]);
		}
		if (sr_demo_write_bank(csv[0], pol[0], rows, 42, &err) != SR_OK ||
		    sr_demo_write_shop(csv[1], pol[1], shop_first, shop_rows, 43, recv, 1, &err) != SR_OK ||
		    sr_demo_write_insurer(csv[2], pol[2], ins_first, ins_rows, 44, recv, 1, &err) != SR_OK) {
			note("sealroom: demo: %s", err.msg);
			return 0;
		}
		note("bank: %lu customers; shop: %zu; insurer: %zu (customer ids overlap)",
		     rows, shop_rows, ins_rows);
		say(d, "Each imports its table with its policy (typed, compressed, encrypted chunks)");
		for (int i = 0; i < ORGS; i++) {
			st = run(d, NULL, NULL, (const char *const[]){ "dataset", "import",
				 dataset_names[i], csv[i], "--policy", pol[i], "--home",
				 d->org[i].home, "--quiet", NULL });
			if (st)
				return 0;
		}
	}

	say(d, "Each creates API tokens for its people: admin, steward, analyst (secrets not shown)");
	for (int i = 0; i < ORGS; i++)
		for (int r = 0; r < 3; r++) {
			char name[64];
			snprintf(name, sizeof(name), "%s-%s", org_names[i], role_names[r]);
			snprintf(path, sizeof(path), "%s/%s.token.json", d->dir, name);
			j = run_json(d, path, NULL, (const char *const[]){ "token", "create",
				     name, "--role", role_names[r], "--home", d->org[i].home,
				     "--json", NULL });
			if (!j)
				return 0;
			snprintf(d->org[i].token[r], sizeof(d->org[i].token[r]), "%s",
				 json_string_value(json_object_get(j, "token")));
			json_decref(j);
			(void)unlink(path);
		}
	note("9 tokens created");

	say(d, "Start the three nodes: each registers its public keys with the coordinator and pins the coordinator's TLS key");
	for (int i = 0; i < ORGS; i++) {
		const char *args[16];
		size_t n = 0;
		snprintf(d->org[i].log, sizeof(d->org[i].log), "%s/%s-node.log", d->dir, org_names[i]);
		args[n++] = "node";
		args[n++] = "--home"; args[n++] = d->org[i].home;
		args[n++] = "--coordinator"; args[n++] = d->coord_url;
		if (d->pin[0]) {
			args[n++] = "--pin";
			args[n++] = d->pin;
		}
		args[n++] = "--listen"; args[n++] = "127.0.0.1:0";
		args[n++] = "--name"; args[n++] = org_names[i];
		args[n] = NULL;
		d->org[i].pid = start(d, d->org[i].log, NULL, args, 1);
	}
	for (int i = 0; i < ORGS; i++) {
		if (wait_line(d->org[i].log, "node ", line, sizeof(line), 20) != 0) {
			print_file(d->org[i].log, 20);
			return 0;
		}
		note("%s", line);
	}

	say(d, "The bank's admin creates a project and invites the shop and the insurer");
	snprintf(path, sizeof(path), "%s/project.json", d->dir);
	j = run_json(d, path, d->org[0].token[ADMIN], (const char *const[]){ "project",
		     "create", "customer-overlap", "--home", d->org[0].home, "--json", NULL });
	if (!j)
		return 0;
	snprintf(project, sizeof(project), "%s", json_string_value(json_object_get(j, "project")));
	json_decref(j);
	note("project %s created", project);
	for (int i = 1; i < ORGS; i++)
		if (run(d, NULL, d->org[0].token[ADMIN], (const char *const[]){ "project",
			"invite", project, d->org[i].id, "--home", d->org[0].home, NULL }))
			return 0;

	say(d, "The shop and the insurer see the invitation, verify the history and join");
	for (int i = 1; i < ORGS; i++) {
		if (run(d, NULL, d->org[i].token[ADMIN], (const char *const[]){ "project",
			"list", "--home", d->org[i].home, NULL }) ||
		    run(d, NULL, d->org[i].token[ADMIN], (const char *const[]){ "project",
			"join", project, "--home", d->org[i].home, NULL }))
			return 0;
	}

	say(d, "Each steward publishes its dataset's metadata: schema, classes, policy, version id, row count (never rows)");
	for (int i = 0; i < ORGS; i++)
		if (run(d, NULL, d->org[i].token[STEWARD], (const char *const[]){ "dataset",
			"publish", dataset_names[i], "--project", project, "--home",
			d->org[i].home, NULL }))
			return 0;
	usleep(600000);   /* let every node fold the last events */
	if (run(d, NULL, d->org[2].token[ANALYST], (const char *const[]){ "project",
		"show", project, "--home", d->org[2].home, NULL }))
		return 0;

	say(d, "The bank's analyst proposes a PSI of the three customer lists, result to the bank");
	snprintf(spec, sizeof(spec),
		 "{\"kind\": \"psi\", \"mode\": \"intersection\",\n"
		 " \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"customer_id\"},\n"
		 "            {\"dataset\": \"shop.purchases\", \"column\": \"customer_id\"},\n"
		 "            {\"dataset\": \"insurer.policies\", \"column\": \"customer_id\"}],\n"
		 " \"receivers\": [\"%s\"]}\n", d->org[0].id);
	snprintf(path2, sizeof(path2), "%s/psi.json", d->dir);
	if (write_text(path2, spec) != SR_OK)
		return 0;
	printf("psi.json:\n%s", spec);
	snprintf(path, sizeof(path), "%s/propose.json", d->dir);
	j = run_json(d, path, d->org[0].token[ANALYST], (const char *const[]){ "job",
		     "propose", "--project", project, "--spec", path2, "--home",
		     d->org[0].home, "--json", NULL });
	if (!j)
		return 0;
	snprintf(job, sizeof(job), "%s", json_string_value(json_object_get(j, "job_id")));
	note("job %s proposed; security checker: %s", job,
	     json_is_true(json_object_get(json_object_get(j, "verdict"), "accept")) ?
	     "accepted" : "REFUSED");
	json_decref(j);
	job[16] = '\0';   /* a unique prefix is enough from here on */
	usleep(600000);
	note("the bank's node filled in the published version of each input before signing:");
	note("approvals bind exactly these versions, and a republished dataset does not inherit them");
	if (run(d, NULL, d->org[1].token[STEWARD], (const char *const[]){ "job", "show",
		job, "--home", d->org[1].home, NULL }))
		return 0;

	say(d, "Each owner's steward approves; each node re-checks the job against its own policy first");
	for (int i = 0; i < ORGS; i++) {
		usleep(300000);
		if (run(d, NULL, d->org[i].token[STEWARD], (const char *const[]){ "job",
			"approve", job, "--home", d->org[i].home, NULL }))
			return 0;
	}

	say(d, "The nodes see every approval in their own ledgers and run the job over encrypted mailboxes");
	if (run(d, NULL, d->org[0].token[ANALYST], (const char *const[]){ "job", "wait",
		job, "--timeout", "60", "--home", d->org[0].home, NULL }))
		return 0;
	if (run(d, NULL, d->org[0].token[ANALYST], (const char *const[]){ "job", "show",
		job, "--home", d->org[0].home, NULL }))
		return 0;

	say(d, "The bank's analyst reads the result; the demo checks it against the plaintext answer");
	snprintf(path, sizeof(path), "%s/common-customers.csv", d->dir);
	if (run(d, NULL, d->org[0].token[ANALYST], (const char *const[]){ "job", "result",
		job, "--output", path, "--home", d->org[0].home, NULL }))
		return 0;
	print_file(path, 6);
	if (!check_result(path, ins_first, rows)) {
		note("MISMATCH: the result is not the plaintext intersection");
		return 0;
	}

	say(d, "The shop cannot read it: results go only to the named receiver");
	st = run(d, NULL, d->org[1].token[ANALYST], (const char *const[]){ "job", "result",
		 job, "--home", d->org[1].home, NULL });
	if (st == 0) {
		note("UNEXPECTED: the shop got a result");
		return 0;
	}

	say(d, "Any member verifies the whole ledger itself: every signature, link and right");
	usleep(600000);
	if (run(d, NULL, d->org[1].token[STEWARD], (const char *const[]){ "ledger", "verify",
		project, "--home", d->org[1].home, NULL }) ||
	    run(d, NULL, d->org[2].token[STEWARD], (const char *const[]){ "ledger", "log",
		project, "--home", d->org[2].home, NULL }))
		return 0;

	say(d, "A proposal that breaks the policies: join on columns that do not allow it, result to the shop");
	snprintf(spec, sizeof(spec),
		 "{\"kind\": \"psi\", \"mode\": \"intersection\",\n"
		 " \"inputs\": [{\"dataset\": \"bank.customers\", \"column\": \"name\"},\n"
		 "            {\"dataset\": \"shop.purchases\", \"column\": \"region\"}],\n"
		 " \"receivers\": [\"%s\"]}\n", d->org[1].id);
	if (write_text(path2, spec) != SR_OK)
		return 0;
	printf("psi.json:\n%s", spec);
	snprintf(path, sizeof(path), "%s/propose2.json", d->dir);
	/* The command exits 1 (the checker refused), but the proposal is
	 * recorded and its answer printed. */
	st = wait_pid(start(d, path, d->org[1].token[ANALYST], (const char *const[]){
		"job", "propose", "--project", project, "--spec", path2, "--home",
		d->org[1].home, "--json", NULL }, 2));
	j = json_load_file(path, 0, NULL);
	if (!j || !json_is_string(json_object_get(j, "job_id"))) {
		print_file(path, 20);
		json_decref(j);
		return 0;
	}
	note("(exit code %d)", st);
	snprintf(job, sizeof(job), "%s", json_string_value(json_object_get(j, "job_id")));
	{
		const json_t *v = json_object_get(j, "verdict");
		const json_t *vs = json_object_get(v, "violations");
		note("job %.16s recorded with the checker's verdict: %s", job,
		     json_is_true(json_object_get(v, "accept")) ? "accepted (UNEXPECTED)" : "refused");
		for (size_t i = 0; i < json_array_size(vs); i++)
			note("  - [%s] %s", json_string_value(json_object_get(json_array_get(vs, i), "rule")),
			     json_string_value(json_object_get(json_array_get(vs, i), "message")));
		if (json_is_true(json_object_get(v, "accept"))) {
			json_decref(j);
			return 0;
		}
	}
	json_decref(j);
	job[16] = '\0';
	usleep(600000);
	note("the bank's steward tries to approve it anyway:");
	st = run(d, NULL, d->org[0].token[STEWARD], (const char *const[]){ "job", "approve",
		 job, "--home", d->org[0].home, NULL });
	if (st == 0) {
		note("UNEXPECTED: the approval was accepted");
		return 0;
	}
	note("(refused by the bank's own node, exit code %d: nothing was recorded)", st);
	if (!sr_demo_anon(&(const struct sr_demo_anon_env){ { d, say, note, run, run_json }, d->dir, project, d->org[2].home, d->org[2].token[STEWARD], d->org[0].home, d->org[0].token[ANALYST], d->org[0].id, d->org[1].home, d->org[1].token[ANALYST] }))
		return 0;
	if (!sr_demo_query(&(const struct sr_demo_query_env){ { d, say, note, run, run_json },
		d->dir, project, { org_names[0], org_names[1], org_names[2] },
		{ d->org[0].home, d->org[1].home, d->org[2].home },
		{ d->org[0].token[STEWARD], d->org[1].token[STEWARD], d->org[2].token[STEWARD] },
		d->org[0].token[ANALYST], d->org[0].id }))
		return 0;
	if (!sr_demo_join(&(const struct sr_demo_join_env){ { d, say, note, run, run_json }, d->dir,
		project, d->org[0].home, d->org[0].token[STEWARD], d->org[0].token[ANALYST], d->org[0].id,
		d->org[1].home, d->org[1].token[STEWARD], d->org[1].token[ANALYST] }))
		return 0;
	return sr_demo_train(&(const struct sr_demo_train_env){ { d, say, note, run, run_json }, d->dir,
		project, d->org[0].home, d->org[0].token[STEWARD], d->org[0].token[ANALYST], d->org[0].id,
		d->org[1].home, d->org[1].token[STEWARD], d->org[1].id });
}

int sr_cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rows", required_argument, NULL, 'r' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo d;
	char pass_hex[33];
	unsigned char pass[16];
	unsigned long rows = 20000;
	int keep = 0, c, ok;
	double t0 = sr_now_seconds();

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': {
			char *end;
			rows = strtoul(optarg, &end, 10);
			if (*end || rows < 10 || rows > 1000000)
				return sr_cli_usage_error("demo", "--rows must be 10 to 1000000");
			break;
		}
		case 'k': keep = 1; break;
		case 'h': fputs(demo_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error("demo", "bad option");
		}
	}
	if (optind != argc)
		return sr_cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
	memset(&d, 0, sizeof(d));
	{
		ssize_t n = readlink("/proc/self/exe", d.self, sizeof(d.self) - 1);
		if (n <= 0) {
			fprintf(stderr, "sealroom: demo: cannot find own executable\n");
			return SR_EXIT_INTERNAL;
		}
		d.self[n] = '\0';
	}
	{
		const char *tmp = getenv("TMPDIR");
		snprintf(d.dir, sizeof(d.dir), "%s/sealroom-demo-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(d.dir)) {
			fprintf(stderr, "sealroom: demo: cannot create a temporary directory: %s\n",
				strerror(errno));
			return SR_EXIT_USER;
		}
	}
	/* A fresh random passphrase for the demo nodes, never printed. */
	sr_random_buf(pass, sizeof(pass));
	sr_hex(pass_hex, pass, sizeof(pass));
	setenv("SEALROOM_PASSPHRASE", pass_hex, 1);
	setenv("SEALROOM_PROGRESS", "0", 1);
	unsetenv("SEALROOM_TOKEN");
	unsetenv("SEALROOM_NODE");
	unsetenv("SEALROOM_HOME");
	signal(SIGPIPE, SIG_IGN);

	printf("sealroom demo: a bank, a shop and an insurer find their common customers\n"
	       "without showing each other (or the coordinator) their customer lists\n");
	printf("working directory: %s\n", d.dir);
	ok = story(&d, rows);
	stop_all(&d);
	if (!ok) {
		printf("\n--- coordinator log ---\n");
		print_file(d.coord_log, 30);
		for (int i = 0; i < ORGS; i++) {
			printf("--- %s node log ---\n", org_names[i]);
			print_file(d.org[i].log, 30);
		}
	}
	unsetenv("SEALROOM_PASSPHRASE");
	sodium_memzero(pass_hex, sizeof(pass_hex));
	sodium_memzero(pass, sizeof(pass));
	for (int i = 0; i < ORGS; i++)
		sodium_memzero(d.org[i].token, sizeof(d.org[i].token));
	if (keep) {
		printf("\nkept %s\n", d.dir);
	} else {
		struct sr_err ignored;
		if (sr_rm_rf(d.dir, &ignored) != SR_OK)
			fprintf(stderr, "sealroom: demo: could not remove %s\n", d.dir);
	}
	if (!ok) {
		fprintf(stderr, "\nsealroom demo: FAILED at step %d\n", d.step);
		return SR_EXIT_USER;
	}
	printf("\nsealroom demo: all steps passed in %.1f s\n", sr_now_seconds() - t0);
	return SR_EXIT_OK;
}
