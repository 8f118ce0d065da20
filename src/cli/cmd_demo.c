/*
 * cmd_demo.c - `sealroom demo`: the main job, end to end, in a temporary
 * directory.  Every step runs the real sealroom command as a separate
 * process, so what the demo shows is exactly what a user types.
 *
 * Today's story (the foundation): a bank imports its customer table with
 * a policy, inspects it, verifies every encrypted chunk, exports it and
 * checks the export is byte-identical to the input; then shows that a
 * damaged chunk and an unclassified column are refused with clear errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "cli/cli.h"
#include "cli/demo_data.h"
#include "crypto/crypto.h"
#include "base/banned.h"

static const char demo_usage[] =
	"usage: sealroom demo [--rows N] [--keep]\n"
	"\n"
	"Run the sealroom story end to end in a temporary directory, printing\n"
	"every command and its output, then clean up.\n"
	"\n"
	"  --rows N   rows of sample customer data (default 20000)\n"
	"  --keep     keep the temporary directory and print its path\n";

struct demo {
	char self[4096];
	char dir[256];
	char home[300];
	int step;
};

static void say(struct demo *d, const char *what)
{
	printf("\n== %d. %s\n", ++d->step, what);
	fflush(stdout);
}

/*
 * Run sealroom with args, echoing the command line.  stdout goes to
 * out_path when given (else to ours).  Returns the exit status.
 */
static int run(struct demo *d, const char *out_path, const char *const *args)
{
	pid_t pid;
	int status;

	printf("$ sealroom");
	for (size_t i = 0; args[i]; i++)
		printf(" %s", args[i]);
	if (out_path)
		printf(" > %s", strrchr(out_path, '/') + 1);
	printf("\n");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *argv[32];
		size_t n = 0;
		argv[n++] = "sealroom";
		for (size_t i = 0; args[i] && n < 30; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		if (out_path) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
				_exit(127);
			close(fd);
		}
		/* stderr to stdout so the story reads in order. */
		dup2(STDOUT_FILENO, STDERR_FILENO);
		execv(d->self, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int files_equal(const char *a, const char *b, struct sr_err *err)
{
	struct sr_buf x, y;
	int same, rc;

	sr_buf_init(&x, 0);
	sr_buf_init(&y, 0);
	rc = sr_file_read_all(a, 0, &x, err);
	if (rc == SR_OK)
		rc = sr_file_read_all(b, 0, &y, err);
	same = rc == SR_OK && x.len == y.len &&
	       memcmp(x.data, y.data, x.len) == 0;
	sr_buf_release(&x);
	sr_buf_release(&y);
	return same;
}

/* Flip one byte in the middle of the first segment of the only version. */
static int damage_chunk(struct demo *d, char *which, size_t which_len)
{
	char path[1024];
	FILE *f;
	long size;
	int c;

	snprintf(path, sizeof(path), "%s/datasets", d->home);
	{
		struct sr_buf cmd;
		FILE *p;
		char line[512];
		sr_buf_init(&cmd, 0);
		if (sr_buf_addf(&cmd, "ls '%s' | head -n 1", path) != SR_OK)
			return -1;
		p = popen(cmd.data, "r");
		sr_buf_release(&cmd);
		if (!p || !fgets(line, sizeof(line), p)) {
			if (p)
				pclose(p);
			return -1;
		}
		pclose(p);
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s/datasets/%s/col-0006.seg",
			 d->home, line);
	}
	f = fopen(path, "r+b");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size / 2, SEEK_SET);
	c = fgetc(f);
	fseek(f, size / 2, SEEK_SET);
	fputc(c ^ 0x01, f);
	fclose(f);
	snprintf(which, which_len, "%s", strstr(path, "datasets/"));
	return 0;
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
	struct sr_err err;
	char csv[400], policy[400], exported[400], bad_csv[400];
	char pass_hex[33], which[600];
	unsigned char pass[16];
	unsigned long rows = 20000;
	int keep = 0, c, st, ok = 0;
	double t0 = sr_now_seconds();

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': {
			char *end;
			rows = strtoul(optarg, &end, 10);
			if (*end || rows == 0 || rows > 10000000)
				return sr_cli_usage_error("demo",
					"--rows must be 1 to 10000000");
			break;
		}
		case 'k': keep = 1; break;
		case 'h': fputs(demo_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error("demo", "bad option");
		}
	}
	memset(&d, 0, sizeof(d));
	sr_err_clear(&err);
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
	snprintf(d.home, sizeof(d.home), "%s/bank", d.dir);
	snprintf(csv, sizeof(csv), "%s/customers.csv", d.dir);
	snprintf(policy, sizeof(policy), "%s/customers.policy.json", d.dir);
	snprintf(exported, sizeof(exported), "%s/exported.csv", d.dir);
	snprintf(bad_csv, sizeof(bad_csv), "%s/unclassified.csv", d.dir);

	/* A fresh random passphrase for the demo node, never printed. */
	sr_random_buf(pass, sizeof(pass));
	sr_hex(pass_hex, pass, sizeof(pass));
	setenv("SEALROOM_PASSPHRASE", pass_hex, 1);
	setenv("SEALROOM_PROGRESS", "0", 1);

	printf("sealroom demo: one organization's node and its encrypted dataset store\n");
	printf("working directory: %s\n", d.dir);

	say(&d, "The bank creates its node: master key (Argon2id passphrase), identity keys, store");
	st = run(&d, NULL, (const char *const[]){ "init", "--home", d.home, NULL });
	if (st)
		goto out;

	say(&d, "Generate the bank's customer table and its policy (deterministic sample data)");
	if (sr_demo_write_bank(csv, policy, rows, 42, &err) != SR_OK) {
		fprintf(stderr, "sealroom: demo: %s\n", err.msg);
		goto out;
	}
	printf("wrote %lu customers to customers.csv and their policy to customers.policy.json\n",
	       rows);

	say(&d, "Import: two streaming passes, typed columns, zstd, XChaCha20-Poly1305 per chunk");
	st = run(&d, NULL, (const char *const[]){ "dataset", "import",
		 "customers", csv, "--policy", policy, "--home", d.home, NULL });
	if (st)
		goto out;

	say(&d, "What the store knows: schema, sensitivity classes, policy, version id");
	st = run(&d, NULL, (const char *const[]){ "dataset", "list", "--home",
		 d.home, NULL });
	if (st == 0)
		st = run(&d, NULL, (const char *const[]){ "dataset", "show",
			 "customers", "--home", d.home, NULL });
	if (st)
		goto out;

	say(&d, "Verify: decrypt and check every chunk");
	st = run(&d, NULL, (const char *const[]){ "dataset", "verify",
		 "customers", "--home", d.home, NULL });
	if (st)
		goto out;

	say(&d, "Export (owner only) and compare with the input");
	st = run(&d, exported, (const char *const[]){ "dataset", "export",
		 "customers", "--home", d.home, NULL });
	if (st)
		goto out;
	if (!files_equal(csv, exported, &err)) {
		printf("MISMATCH: the export differs from the input\n");
		goto out;
	}
	printf("export is byte-identical to customers.csv\n");

	say(&d, "Bad input is refused: a column without a sensitivity class");
	{
		static const char text[] = "customer_id,favourite_colour\nC1,blue\n";
		if (sr_file_write_atomic(bad_csv, text, sizeof(text) - 1, 0600,
					 &err) != SR_OK) {
			fprintf(stderr, "sealroom: demo: %s\n", err.msg);
			goto out;
		}
	}
	st = run(&d, NULL, (const char *const[]){ "dataset", "import", "colours",
		 bad_csv, "--classify-by-name", "--home", d.home, NULL });
	if (st == 0) {
		printf("UNEXPECTED: the unclassified column was accepted\n");
		goto out;
	}
	printf("(refused with exit code %d, nothing imported)\n", st);

	say(&d, "A damaged chunk is detected and named");
	if (damage_chunk(&d, which, sizeof(which)) != 0) {
		printf("could not damage a chunk\n");
		goto out;
	}
	printf("flipped one bit in %s\n", which);
	st = run(&d, NULL, (const char *const[]){ "dataset", "verify",
		 "customers", "--home", d.home, NULL });
	if (st == 0) {
		printf("UNEXPECTED: the damage was not detected\n");
		goto out;
	}
	printf("(verify failed with exit code %d, as it must)\n", st);

	say(&d, "Remove the dataset: its key is shredded, then its files deleted");
	st = run(&d, NULL, (const char *const[]){ "dataset", "rm", "customers",
		 "--home", d.home, NULL });
	if (st)
		goto out;
	ok = 1;
out:
	unsetenv("SEALROOM_PASSPHRASE");
	sodium_memzero(pass_hex, sizeof(pass_hex));
	sodium_memzero(pass, sizeof(pass));
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
	printf("\nsealroom demo: all steps passed in %.1f s\n",
	       sr_now_seconds() - t0);
	return SR_EXIT_OK;
}
