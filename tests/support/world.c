/*
 * world.c - a coordinator process and a job world without nodes (world.h).
 */
#include "world.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "crypto/crypto.h"
#include "ledger/event.h"
#include "net/coordconn.h"
#include "policy/policy.h"
#include "base/banned.h"

int sr_world_coord_start(const char *bin, const char *dir,
			 const char *const *args, struct sr_world_coord *c,
			 struct sr_err *err)
{
	char binbuf[512], out_path[600], err_path[600];
	const char *argv[32];
	size_t n = 0;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	if (!bin) {
		const char *bd = getenv("SR_BINARY_DIR");
		snprintf(binbuf, sizeof(binbuf), "%s/sealroom", bd ? bd : ".");
		bin = binbuf;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(out_path, sizeof(out_path), "%s.out", dir);
	snprintf(err_path, sizeof(err_path), "%s.err", dir);
	argv[n++] = bin;
	argv[n++] = "coordinator";
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--data";
	argv[n++] = dir;
	for (size_t i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	unlink(out_path);
	pid = fork();
	if (pid < 0)
		return sr_fail(err, SR_EIO, "fork: %s", strerror(errno));
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	c->pid = pid;
	for (int i = 0; i < 1000; i++) {
		struct sr_buf text;
		struct sr_err ignored;
		const char *at, *pin;
		int status;

		sr_buf_init(&text, 1 << 16);
		if (sr_file_read_all(out_path, 1 << 16, &text, &ignored) == SR_OK &&
		    (at = strstr(text.data, "listening on https://")) &&
		    (pin = strstr(at, "(pin ")) && strchr(pin, ')')) {
			const char *url = at + strlen("listening on ");
			size_t ul = (size_t)(strchr(url, ' ') - url);
			size_t pl = (size_t)(strchr(pin, ')') - (pin + 5));
			if (ul < sizeof(c->url) && pl < sizeof(c->pin)) {
				memcpy(c->url, url, ul);
				c->url[ul] = '\0';
				memcpy(c->pin, pin + 5, pl);
				c->pin[pl] = '\0';
				sr_buf_release(&text);
				return SR_OK;
			}
		}
		sr_buf_release(&text);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			c->pid = 0;
			return sr_fail(err, SR_EIO, "%s coordinator exited (see %s)", bin,
				       err_path);
		}
		usleep(10000);
	}
	sr_world_coord_stop(c);
	return sr_fail(err, SR_ETIMEOUT, "%s coordinator did not start (see %s)", bin,
		       err_path);
}

void sr_world_coord_stop(struct sr_world_coord *c)
{
	int status;

	if (!c->pid)
		return;
	kill(c->pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	c->pid = 0;
}

/* ---- the world ---------------------------------------------------------- */

struct builder {
	const char *url, *pin;
	struct sr_world *w;
	uint64_t seq;
	uint8_t head[SR_EVENT_ID_BYTES];
};

static int call(const struct builder *b, const struct sr_identity *who,
		const char *method, const char *path, const json_t *body,
		struct sr_err *err)
{
	struct sr_coordconn *cc = NULL;
	int status, rc;

	rc = sr_coordconn_new(b->url, b->pin, who, &cc, err);
	if (rc == SR_OK)
		rc = sr_coordconn_json(cc, method, path, body, 10000, &status, NULL, err);
	sr_coordconn_free(cc);
	if (rc)
		sr_err_prefix(err, "world: %s %s as %s", method, path, who->org_id);
	return rc;
}

/* Sign and post the next event of the chain.  body is stolen. */
static int extend(struct builder *b, const struct sr_identity *who,
		  enum sr_event_type type, json_t *body, struct sr_err *err)
{
	struct sr_event ev;
	json_t *wire = NULL;
	int rc;

	sr_event_init(&ev);
	if (!body)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_event_create(&ev, who, b->w->project, b->seq, b->seq ? b->head : NULL,
			     type, (int64_t)time(NULL), body, err);
	if (rc == SR_OK)
		rc = sr_event_to_json(&ev, &wire, err);
	if (rc == SR_OK)
		rc = call(b, who, "POST", "/v1/events", wire, err);
	if (rc == SR_OK) {
		memcpy(b->head, ev.id, sizeof(b->head));
		b->seq++;
	}
	json_decref(wire);
	json_decref(body);
	sr_event_release(&ev);
	return rc;
}

static json_t *keys_body(const struct sr_identity *id, const char *name)
{
	char sign[65], kx[65];

	sr_hex(sign, id->sign_pk, sizeof(id->sign_pk));
	sr_hex(kx, id->kx_pk, sizeof(id->kx_pk));
	return json_pack("{s:s,s:s,s:s}", "name", name, "sign_pk", sign, "kx_pk", kx);
}

/* The metadata of a one-column dataset, as dataset.publish carries it. */
int sr_world_dataset_body(const char *name, json_t **out, struct sr_err *err)
{
	const char *names[1] = { "customer_id" };
	enum sr_type types[1] = { SR_TYPE_STRING };
	struct sr_policy pol;
	json_t *pj = NULL;
	int rc;

	sr_policy_init(&pol);
	rc = sr_policy_from_names(names, 1, &pol, err);
	if (rc == SR_OK)
		rc = sr_policy_bind(&pol, names, types, 1, err);
	if (rc == SR_OK)
		rc = sr_policy_to_json(&pol, &pj, err);
	sr_policy_release(&pol);
	if (rc)
		return rc;
	*out = json_pack("{s:s,s:s,s:i,s:[{s:s,s:s,s:s}],s:o}", "dataset", name,
			 "version_id", "0101010101010101010101010101010101010101010101010101010101010101",
			 "rows", 10, "schema", "name", "customer_id", "type", "string",
			 "class", "id", "policy", pj);
	return *out ? SR_OK : sr_fail(err, SR_ENOMEM, "out of memory");
}

int sr_world_build(const char *url, const char *pin,
		   const struct sr_identity *orgs, size_t n, struct sr_world *w,
		   struct sr_err *err)
{
	static const char *const names[SR_WORLD_ORGS_MAX] = { "bank", "shop", "insurer", "clinic" };
	struct builder b = { url, pin, w, 0, { 0 } };
	uint8_t rnd[16], spec_hash[SR_HASH_BYTES];
	char sh_hex[2 * SR_HASH_BYTES + 1], dsname[80];
	json_t *spec = NULL, *inputs, *creator;
	int rc = SR_OK;

	memset(w, 0, sizeof(*w));
	if (n < 2 || n > SR_WORLD_ORGS_MAX)
		return sr_fail(err, SR_EINVAL, "world: 2 to %d organizations", SR_WORLD_ORGS_MAX);
	sr_random_buf(rnd, sizeof(rnd));
	memcpy(w->project, "prj_", 4);
	sr_hex(w->project + 4, rnd, sizeof(rnd));
	for (size_t i = 0; rc == SR_OK && i < n; i++) {
		json_t *body = keys_body(&orgs[i], names[i]);
		json_object_set_new(body, "org_id", json_string(orgs[i].org_id));
		rc = call(&b, &orgs[i], "POST", "/v1/orgs", body, err);
		json_decref(body);
	}
	if (rc)
		return rc;
	creator = keys_body(&orgs[0], names[0]);
	json_object_set_new(creator, "org_id", json_string(orgs[0].org_id));
	rc = extend(&b, &orgs[0], SR_EVENT_PROJECT_CREATE,
		    json_pack("{s:s,s:o}", "name", "data plane", "creator", creator), err);
	for (size_t i = 1; rc == SR_OK && i < n; i++) {
		rc = extend(&b, &orgs[0], SR_EVENT_MEMBER_INVITE,
			    json_pack("{s:s}", "org_id", orgs[i].org_id), err);
		if (rc == SR_OK)
			rc = extend(&b, &orgs[i], SR_EVENT_MEMBER_JOIN,
				    keys_body(&orgs[i], names[i]), err);
	}
	for (size_t i = 0; rc == SR_OK && i < n; i++) {
		json_t *ds = NULL;
		rc = sr_world_dataset_body("c", &ds, err);
		if (rc == SR_OK)
			rc = extend(&b, &orgs[i], SR_EVENT_DATASET_PUBLISH, ds, err);
	}
	if (rc)
		return rc;
	inputs = json_array();
	for (size_t i = 0; inputs && i < n; i++) {
		snprintf(dsname, sizeof(dsname), "%s.c", names[i]);
		json_array_append_new(inputs, json_pack("{s:s,s:s}", "dataset", dsname,
							"column", "customer_id"));
	}
	spec = inputs ? json_pack("{s:s,s:s,s:o,s:[s]}", "kind", "psi", "mode", "intersection",
				  "inputs", inputs, "receivers", orgs[0].org_id) : NULL;
	if (!spec)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_event_spec_hash(spec, spec_hash, err);
	sr_hex(sh_hex, spec_hash, sizeof(spec_hash));
	if (rc == SR_OK)
		rc = extend(&b, &orgs[0], SR_EVENT_JOB_PROPOSE,
			    json_pack("{s:O,s:{s:b,s:[]}}", "spec", spec, "verdict", "accept", 1,
				      "violations"), err);
	json_decref(spec);
	if (rc)
		return rc;
	memcpy(w->job_id, b.head, sizeof(w->job_id));
	sr_hex(w->job_hex, w->job_id, sizeof(w->job_id));
	for (size_t i = 0; rc == SR_OK && i < n; i++)
		rc = extend(&b, &orgs[i], SR_EVENT_JOB_APPROVE,
			    json_pack("{s:s,s:s}", "job_id", w->job_hex, "spec_hash", sh_hex), err);
	if (rc)
		return rc;
	memcpy(w->head, b.head, sizeof(w->head));
	memcpy(w->tip, b.head, sizeof(w->tip));
	w->next_seq = b.seq;
	for (size_t i = 0; i < n; i++) {
		memcpy(w->parties[i].org_id, orgs[i].org_id, SR_ORG_ID_LEN + 1);
		memcpy(w->parties[i].sign_pk, orgs[i].sign_pk, SR_SIGN_PUBLICKEYBYTES);
	}
	w->nparties = n;
	return SR_OK;
}

int sr_world_event(const char *url, const char *pin, struct sr_world *w,
		   const struct sr_identity *who, enum sr_event_type type,
		   json_t *body, struct sr_err *err)
{
	struct builder b = { url, pin, w, w->next_seq, { 0 } };
	int rc;

	memcpy(b.head, w->tip, sizeof(b.head));
	rc = extend(&b, who, type, body, err);
	if (rc == SR_OK) {
		w->next_seq = b.seq;
		memcpy(w->tip, b.head, sizeof(w->tip));
	}
	return rc;
}

int sr_world_join(const char *url, const char *pin, const struct sr_identity *org,
		  const char *project, struct sr_world *w, struct sr_err *err)
{
	struct sr_coordconn *cc = NULL;
	json_t *body, *ans = NULL;
	const char *head;
	char path[160];
	int status, rc;

	if (strlen(project) > SR_PROJECT_ID_MAX)
		return sr_fail(err, SR_EINVAL, "world: project id too long");
	memset(w, 0, sizeof(*w));
	memcpy(w->project, project, strlen(project) + 1);
	body = keys_body(org, "outsider");
	json_object_set_new(body, "org_id", json_string(org->org_id));
	rc = sr_coordconn_new(url, pin, org, &cc, err);
	if (rc == SR_OK)
		rc = sr_coordconn_json(cc, "POST", "/v1/orgs", body, 10000, &status, NULL, err);
	json_decref(body);
	snprintf(path, sizeof(path), "/v1/projects/%s/head", project);
	if (rc == SR_OK)
		rc = sr_coordconn_json(cc, "GET", path, NULL, 10000, &status, &ans, err);
	sr_coordconn_free(cc);
	if (rc) {
		json_decref(ans);
		return rc;
	}
	head = json_string_value(json_object_get(ans, "head"));
	w->next_seq = (uint64_t)json_integer_value(json_object_get(ans, "next_seq"));
	if (!head || strlen(head) != 64 || sr_unhex(w->tip, sizeof(w->tip), head) != SR_OK) {
		json_decref(ans);
		return sr_fail(err, SR_EPROTO, "world: malformed head answer");
	}
	json_decref(ans);
	return sr_world_event(url, pin, w, org, SR_EVENT_MEMBER_JOIN, keys_body(org, "outsider"),
			      err);
}
