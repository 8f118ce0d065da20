/*
 * mailstore.c - the coordinator's job mailboxes: spool files, an index in
 * memory, a lock per job, a timer for expiry (see mailstore.h).
 */
#include "coord/mailstore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/mailwire.h"
#include "base/banned.h"

#define JOB_HEX_LEN 64
#define ORG_LEN 36
/* How often the timer looks for expired messages, at most. */
#define SWEEP_MAX_MS 10000
/* A job with no message for this long gives its spool back. */
#define IDLE_JOB_S 60
/* Buckets of the bytes held per organization. */
#define ORG_BUCKETS 1024
/* A post waiting for its organization's quota looks again this often:
 * the room is made by fetches of other jobs, which do not wake it. */
#define ORG_WAIT_SLICE_MS 100

struct msg {
	uint64_t seq;
	uint32_t len;
	uint32_t slot;      /* its spool file */
	int ready;          /* its file is written */
	int64_t time;       /* deposited, unix seconds */
};

/* One mailbox: from -> to within a job, msgs[head..n) sorted by seq. */
struct queue {
	char from[ORG_LEN + 1], to[ORG_LEN + 1];
	struct msg *msgs;
	size_t head, n, cap;
	uint64_t taken;     /* every seq below it was handed out and removed */
	struct queue *next;
};

struct job {
	char project[SR_PROJECT_ID_MAX + 1];
	char hex[JOB_HEX_LEN + 1];
	char *dir;          /* DIR/mail/<hex> */
	int dir_made;
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* a message deposited or removed */
	struct queue *queues;
	uint64_t bytes, msgs;
	/* Spool files are slots, reused: overwriting a file keeps its blocks,
	 * creating and unlinking one per message costs the file system far
	 * more (an inode, block allocation, a journal entry each).  A slot
	 * is free or holds one message. */
	uint32_t *free_slots;
	size_t nfree, free_cap;
	uint32_t nslots;
	uint32_t *slot_bytes;   /* size of each slot's file (free_cap entries) */
	uint64_t spool_free;    /* bytes in the files of free slots */
	int refs;           /* calls using it (under the store's lock) */
	int pinned_by_sweep;   /* one of refs is the timer's (store's lock) */
	int64_t used;       /* last post or fetch, unix seconds */
	struct job *next;
};

/* What one organization has deposited and its receivers not yet taken. */
struct org_use {
	char org[ORG_LEN + 1];
	uint64_t bytes;
	struct org_use *next;
};

struct sr_mailstore {
	char *root;         /* DIR/mail */
	struct sr_coord_opts opts;
	pthread_mutex_t org_lock;   /* orgs; taken under a job's lock, never around one */
	struct org_use *orgs[ORG_BUCKETS];
	pthread_mutex_t lock;  /* the job list and refs only, held briefly */
	struct job *jobs;
	pthread_mutex_t sweep_lock;   /* one expiry at a time */
	pthread_t timer;
	int timer_started, stopping;
	atomic_int no_waits;          /* sr_mailstore_stop_waits */
	/* Whose parked requests to wake; the lock makes
	 * sr_mailstore_attach_server wait for a wake in progress. */
	pthread_mutex_t server_lock;
	struct sr_http_server *server;
	pthread_cond_t timer_cond;
};

/* ---- small helpers ---------------------------------------------------------- */

/* A message of j was deposited or removed: its waits look again, those
 * in threads (the condition variable) and those parked by the server. */
static void job_changed(struct sr_mailstore *ms, struct job *j)
{
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_lock(&ms->server_lock);
	sr_http_server_wake(ms->server, sr_coord_mail_wake_key(j->hex));
	pthread_mutex_unlock(&ms->server_lock);
}

void sr_mailstore_attach_server(struct sr_mailstore *ms,
				struct sr_http_server *server)
{
	pthread_mutex_lock(&ms->server_lock);
	ms->server = server;
	pthread_mutex_unlock(&ms->server_lock);
}

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int valid_name(const char *s, size_t len, const char *alphabet)
{
	return strlen(s) == len && strspn(s, alphabet) == len;
}

/* DIR/mail/<job>/<slot> */
static void slot_path(char *out, size_t size, const struct job *j, uint32_t slot)
{
	snprintf(out, size, "%s/%u", j->dir, (unsigned)slot);
}

/* Job lock held.  A slot for a new message. */
static int slot_take(struct job *j, uint32_t *slot)
{
	if (j->nfree) {
		*slot = j->free_slots[--j->nfree];
		j->spool_free -= j->slot_bytes[*slot];
		return SR_OK;
	}
	if (j->nslots == UINT32_MAX)
		return SR_ELIMIT;
	/* Room to give it back later without allocating. */
	if (j->free_cap < (size_t)j->nslots + 1) {
		size_t cap = j->free_cap ? 2 * j->free_cap : 16;
		uint32_t *grown = sr_realloc(j->free_slots, cap * sizeof(*grown));
		uint32_t *sizes;
		if (!grown)
			return SR_ENOMEM;
		j->free_slots = grown;
		sizes = sr_realloc(j->slot_bytes, cap * sizeof(*sizes));
		if (!sizes)
			return SR_ENOMEM;
		j->slot_bytes = sizes;
		j->free_cap = cap;
	}
	j->slot_bytes[j->nslots] = 0;
	*slot = j->nslots++;
	return SR_OK;
}

static void queue_free(struct queue *q)
{
	sr_free(q->msgs);
	sr_free(q);
}

static void job_free(struct job *j)
{
	while (j->queues) {
		struct queue *q = j->queues;
		j->queues = q->next;
		queue_free(q);
	}
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	sr_free(j->free_slots);
	sr_free(j->slot_bytes);
	sr_free(j->dir);
	sr_free(j);
}

/* The job (project, hex), made if missing, with a reference taken. */
static int job_get(struct sr_mailstore *ms, const char *project, const char *hex,
		   struct job **out, struct sr_err *err)
{
	struct job *j;
	struct sr_buf path;
	int rc = SR_OK;

	*out = NULL;
	if (!valid_name(hex, JOB_HEX_LEN, "0123456789abcdef"))
		return sr_fail(err, SR_EINVAL, "mailboxes: expected a job id in lowercase hex");
	pthread_mutex_lock(&ms->lock);
	for (j = ms->jobs; j; j = j->next)
		if (strcmp(j->hex, hex) == 0 && strcmp(j->project, project) == 0)
			break;
	if (!j) {
		j = sr_calloc(1, sizeof(*j));
		sr_buf_init(&path, 0);
		if (!j || strlen(project) > SR_PROJECT_ID_MAX ||
		    sr_path_join(&path, ms->root, hex) != SR_OK ||
		    !(j->dir = sr_buf_detach(&path, NULL))) {
			sr_buf_release(&path);
			sr_free(j);
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(j->project, project, strlen(project) + 1);
		memcpy(j->hex, hex, JOB_HEX_LEN + 1);
		pthread_mutex_init(&j->lock, NULL);
		pthread_cond_init(&j->cond, NULL);
		j->next = ms->jobs;
		ms->jobs = j;
	}
	j->refs++;
	j->used = wall_s();
	*out = j;
out:
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static void job_put(struct sr_mailstore *ms, struct job *j)
{
	pthread_mutex_lock(&ms->lock);
	j->refs--;
	pthread_mutex_unlock(&ms->lock);
}

/* Job lock held.  The queue from -> to, made if missing (when make). */
static struct queue *queue_get(struct job *j, const char *from, const char *to,
			       int make)
{
	struct queue *q;

	for (q = j->queues; q; q = q->next)
		if (strcmp(q->from, from) == 0 && strcmp(q->to, to) == 0)
			return q;
	if (!make)
		return NULL;
	q = sr_calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	memcpy(q->from, from, ORG_LEN + 1);
	memcpy(q->to, to, ORG_LEN + 1);
	q->next = j->queues;
	j->queues = q;
	return q;
}

/* Job lock held.  Where seq goes in q (the first index with a seq >= it). */
static size_t queue_find(const struct queue *q, uint64_t seq)
{
	size_t lo = q->head, hi = q->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->msgs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Job lock held.  Insert an entry for seq at index at (made room for). */
static struct msg *queue_insert(struct queue *q, size_t at)
{
	if (q->head > 0 && (q->n == q->cap || q->head > q->cap / 2)) {
		memmove(q->msgs, q->msgs + q->head, (q->n - q->head) * sizeof(*q->msgs));
		q->n -= q->head;
		at -= q->head;
		q->head = 0;
	}
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		struct msg *grown = sr_realloc(q->msgs, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		q->msgs = grown;
		q->cap = cap;
	}
	memmove(q->msgs + at + 1, q->msgs + at, (q->n - at) * sizeof(*q->msgs));
	q->n++;
	return &q->msgs[at];
}

size_t sr_coord_org_bucket(const char *org_id, size_t buckets)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (const char *c = org_id; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	return (size_t)(h % buckets);
}

/* The use of org (made if missing when make), org_lock held. */
static struct org_use *org_use_get(struct sr_mailstore *ms, const char *org, int make)
{
	size_t b = sr_coord_org_bucket(org, ORG_BUCKETS);
	struct org_use *u;

	for (u = ms->orgs[b]; u; u = u->next)
		if (strcmp(u->org, org) == 0)
			return u;
	if (!make || !(u = sr_calloc(1, sizeof(*u))))
		return NULL;
	memcpy(u->org, org, ORG_LEN + 1);
	u->next = ms->orgs[b];
	ms->orgs[b] = u;
	return u;
}

/* Count len more bytes against org's quota: 1 if they fit (and are
 * counted), 0 if not, -1 out of memory. */
static int org_reserve(struct sr_mailstore *ms, const char *org, uint64_t len)
{
	struct org_use *u;
	int fits = -1;

	pthread_mutex_lock(&ms->org_lock);
	u = org_use_get(ms, org, 1);
	if (u) {
		fits = u->bytes + len <= ms->opts.org_mail_bytes;
		if (fits)
			u->bytes += len;
	}
	pthread_mutex_unlock(&ms->org_lock);
	return fits;
}

static void org_release(struct sr_mailstore *ms, const char *org, uint64_t len)
{
	struct org_use *u;

	pthread_mutex_lock(&ms->org_lock);
	u = org_use_get(ms, org, 0);
	if (u)
		u->bytes -= len < u->bytes ? len : u->bytes;
	pthread_mutex_unlock(&ms->org_lock);
}

uint64_t sr_mailstore_org_bytes(struct sr_mailstore *ms, const char *org)
{
	struct org_use *u;
	uint64_t bytes;

	pthread_mutex_lock(&ms->org_lock);
	u = org_use_get(ms, org, 0);
	bytes = u ? u->bytes : 0;
	pthread_mutex_unlock(&ms->org_lock);
	return bytes;
}

/*
 * Job lock held.  Remove entry i of q; its slot is free again, its bytes
 * leave the sender's quota, and its file is deleted unless the job keeps
 * it for reuse (SR_MAILBOX_SPOOL_KEEP_BYTES), so the disk shrinks back.
 * A fetch answer still streaming the file reads it whole (it is open).
 */
static void queue_remove(struct sr_mailstore *ms, struct job *j, struct queue *q,
			 size_t i)
{
	struct msg m = q->msgs[i];

	j->free_slots[j->nfree++] = m.slot;   /* room was made at slot_take */
	j->bytes -= m.len;
	j->msgs--;
	org_release(ms, q->from, m.len);
	if (j->spool_free + j->slot_bytes[m.slot] > SR_MAILBOX_SPOOL_KEEP_BYTES) {
		char path[700];

		slot_path(path, sizeof(path), j, m.slot);
		if (unlink(path) != 0 && errno != ENOENT)
			sr_log_warn("mailboxes: cannot remove %s: %s", path, strerror(errno));
		j->slot_bytes[m.slot] = 0;
	}
	j->spool_free += j->slot_bytes[m.slot];
	if (i == q->head) {
		q->head++;
	} else {
		memmove(q->msgs + i, q->msgs + i + 1, (q->n - i - 1) * sizeof(*q->msgs));
		q->n--;
	}
	if (q->head == q->n)
		q->head = q->n = 0;
}

/*
 * Write data over the slot file at path.  A file longer than the message
 * is not cut: only len bytes are ever read from it, and cutting it would
 * give its blocks back only for the next large message to take them again.
 */
static int write_slot(const char *path, const uint8_t *data, size_t len,
		      struct sr_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return sr_fail(err, SR_EIO, "mailboxes: cannot open %s: %s", path,
			       strerror(errno));
	/* No fsync: the spool does not outlive the process (mailstore.h). */
	rc = sr_write_all(fd, len ? (const void *)data : "", len, path, err);
	if (close(fd) != 0 && rc == SR_OK)
		rc = sr_fail(err, SR_EIO, "mailboxes: %s: %s", path, strerror(errno));
	return rc;
}

/* ---- post ------------------------------------------------------------------ */

/* The free-space floor (--disk-floor): SR_ENOSPC when the spool's file
 * system would have less than the floor free after len more bytes. */
static int disk_check(struct sr_mailstore *ms, size_t len, struct sr_err *err)
{
	struct statvfs vfs;
	uint64_t avail;

	if (!ms->opts.disk_floor_bytes)
		return SR_OK;
	if (statvfs(ms->root, &vfs) != 0)
		return sr_fail(err, SR_EIO, "mailboxes: cannot read the free space of %s: %s",
			       ms->root, strerror(errno));
	avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
	if (avail < ms->opts.disk_floor_bytes + len)
		return sr_fail(err, SR_ENOSPC,
			       "the coordinator's disk has %llu MiB free, below its floor of %llu MiB (--disk-floor): mailbox deposits are refused until space returns",
			       (unsigned long long)(avail >> 20),
			       (unsigned long long)(ms->opts.disk_floor_bytes >> 20));
	return SR_OK;
}

/* Deadline in ms from now, or at the deadline if that is sooner. */
static void deadline_min(struct timespec *ts, const struct timespec *deadline, int ms)
{
	deadline_in(ts, ms);
	if (ts->tv_sec > deadline->tv_sec ||
	    (ts->tv_sec == deadline->tv_sec && ts->tv_nsec > deadline->tv_nsec))
		*ts = *deadline;
}

static int past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

int sr_mailstore_post(struct sr_mailstore *ms, const char *project,
		      const char *job_hex, const char *from, const char *to,
		      uint64_t seq, const uint8_t *data, size_t len, int wait_ms,
		      struct sr_err *err)
{
	static const char org_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
	struct timespec deadline;
	struct job *j = NULL;
	struct queue *q;
	struct msg *m = NULL;
	char path[700];
	uint32_t slot = 0;
	size_t at;
	int rc, job_full = 0;

	if (len > SR_MAILBOX_MSG_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "message of %zu bytes is over the mailbox limit of %u bytes",
			       len, SR_MAILBOX_MSG_MAX);
	if (!valid_name(from, ORG_LEN, org_chars) || !valid_name(to, ORG_LEN, org_chars))
		return sr_fail(err, SR_EINVAL, "mailboxes: expected org ids");
	rc = disk_check(ms, len, err);
	if (rc)
		return rc;
	rc = job_get(ms, project, job_hex, &j, err);
	if (rc)
		return rc;
	deadline_in(&deadline, wait_ms > 0 ? wait_ms : 0);
	pthread_mutex_lock(&j->lock);
	q = queue_get(j, from, to, 1);
	if (!q) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		at = queue_find(q, seq);
		if (seq < q->taken || (at < q->n && q->msgs[at].seq == seq)) {
			rc = sr_fail(err, SR_EEXIST, "message %llu from %s to %s was already deposited",
				     (unsigned long long)seq, from, to);
			goto out;
		}
		job_full = !(j->msgs < ms->opts.mail_job_msgs &&
			     j->bytes + len <= ms->opts.mail_job_bytes);
		if (!job_full) {
			int fits = org_reserve(ms, from, len);
			if (fits < 0) {
				rc = sr_fail(err, SR_ENOMEM, "out of memory");
				goto out;
			}
			if (fits)
				break;
		}
		/* Full: a fetch that takes messages makes room, in this job
		 * (which wakes us) or in another of the sender's (which does
		 * not: look again every slice). */
		if (wait_ms <= 0 || atomic_load(&ms->no_waits) || past(&deadline))
			goto full;
		if (job_full) {
			if (pthread_cond_timedwait(&j->cond, &j->lock, &deadline) != 0)
				goto full;
		} else {
			struct timespec slice;
			deadline_min(&slice, &deadline, ORG_WAIT_SLICE_MS);
			(void)pthread_cond_timedwait(&j->cond, &j->lock, &slice);
		}
	}
	/* The sender's quota holds len bytes from here on. */
	if (!j->dir_made) {
		if (mkdir(j->dir, 0700) != 0 && errno != EEXIST) {
			org_release(ms, from, len);
			rc = sr_fail(err, SR_EIO, "mailboxes: cannot make %s: %s", j->dir,
				     strerror(errno));
			goto out;
		}
		j->dir_made = 1;
	}
	/* Reserve the seq, the room and a slot, then write without the lock. */
	rc = slot_take(j, &slot);
	if (rc == SR_OK && !(m = queue_insert(q, at))) {
		j->spool_free += j->slot_bytes[slot];
		j->free_slots[j->nfree++] = slot;
		rc = SR_ENOMEM;
	}
	if (rc) {
		org_release(ms, from, len);
		rc = sr_fail(err, rc, rc == SR_ENOMEM ? "out of memory" : "mailboxes: too many slots");
		goto out;
	}
	m->seq = seq;
	m->len = (uint32_t)len;
	m->slot = slot;
	m->ready = 0;
	m->time = wall_s();
	j->bytes += len;
	j->msgs++;
	slot_path(path, sizeof(path), j, slot);
	pthread_mutex_unlock(&j->lock);
	rc = write_slot(path, data, len, err);
	pthread_mutex_lock(&j->lock);
	/* Entries may have moved meanwhile (not this one: it is not ready, so
	 * no fetch removed it, and the timer skips entries not ready). */
	at = queue_find(q, seq);
	if (len > j->slot_bytes[slot])
		j->slot_bytes[slot] = (uint32_t)len;   /* written over, never cut */
	if (rc)
		queue_remove(ms, j, q, at);
	else
		q->msgs[at].ready = 1;
	job_changed(ms, j);
	goto out;
full:
	if (job_full)
		rc = sr_fail(err, SR_ELIMIT,
			     "the mailboxes of job %.16s are full (%llu messages or %llu bytes)",
			     job_hex, (unsigned long long)ms->opts.mail_job_msgs,
			     (unsigned long long)ms->opts.mail_job_bytes);
	else
		rc = sr_fail(err, SR_ELIMIT,
			     "organization %s has %llu bytes in mailboxes not yet fetched, its quota is %llu (--org-mailbox-bytes)",
			     from, (unsigned long long)sr_mailstore_org_bytes(ms, from),
			     (unsigned long long)ms->opts.org_mail_bytes);
out:
	pthread_mutex_unlock(&j->lock);
	job_put(ms, j);
	return rc;
}

/* ---- fetched batches --------------------------------------------------------- */

struct batch_msg {
	uint64_t seq;
	uint32_t len;
	int fd;             /* open on its file: served even if removed meanwhile */
	int owns_fd;
	uint64_t at;        /* offset of its record in the answer */
};

struct sr_coord_mailbatch {
	struct batch_msg *msgs;
	size_t n, cap;
	uint64_t size;
};

static int batch_add(struct sr_coord_mailbatch *b, uint64_t seq, uint32_t len, int fd,
		     int owns_fd)
{
	struct batch_msg *m;

	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct batch_msg *grown = sr_realloc(b->msgs, cap * sizeof(*grown));
		if (!grown)
			return SR_ENOMEM;
		b->msgs = grown;
		b->cap = cap;
	}
	m = &b->msgs[b->n++];
	m->seq = seq;
	m->len = len;
	m->fd = fd;
	m->owns_fd = owns_fd;
	m->at = b->size;
	b->size += SR_MAILWIRE_RECORD_HDR + (uint64_t)len;
	return SR_OK;
}

static void batch_truncate(struct sr_coord_mailbatch *b, size_t n)
{
	while (b->n > n) {
		struct batch_msg *m = &b->msgs[--b->n];
		if (m->owns_fd)
			close(m->fd);
	}
	b->size = b->n ? b->msgs[b->n - 1].at + SR_MAILWIRE_RECORD_HDR +
		b->msgs[b->n - 1].len : 0;
}

size_t sr_coord_mailbatch_count(const struct sr_coord_mailbatch *b)
{
	return b->n;
}

uint64_t sr_coord_mailbatch_seq(const struct sr_coord_mailbatch *b, size_t i)
{
	return b->msgs[i].seq;
}

size_t sr_coord_mailbatch_len(const struct sr_coord_mailbatch *b, size_t i)
{
	return b->msgs[i].len;
}

uint64_t sr_coord_mailbatch_size(const struct sr_coord_mailbatch *b)
{
	return b->size;
}

long sr_coord_mailbatch_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct sr_coord_mailbatch *b = ctx;
	size_t lo = 0, hi = b->n, done = 0;

	if (pos >= b->size || max == 0)
		return -1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->msgs[mid].at <= pos)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo; i < b->n && done < max; i++) {
		const struct batch_msg *m = &b->msgs[i];
		uint8_t hdr[SR_MAILWIRE_RECORD_HDR];
		uint64_t off = pos + done - m->at;
		size_t n;

		if (off < SR_MAILWIRE_RECORD_HDR) {
			sr_mailwire_record_header(hdr, m->seq, m->len);
			n = SR_MAILWIRE_RECORD_HDR - (size_t)off;
			if (n > max - done)
				n = max - done;
			memcpy(buf + done, hdr + off, n);
			done += n;
			off += n;
		}
		while (done < max && off >= SR_MAILWIRE_RECORD_HDR &&
		       off < SR_MAILWIRE_RECORD_HDR + (uint64_t)m->len) {
			uint64_t at = off - SR_MAILWIRE_RECORD_HDR;
			ssize_t got;

			n = (size_t)(m->len - at);
			if (n > max - done)
				n = max - done;
			got = pread(m->fd, buf + done, n, (off_t)at);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return done ? (long)done : -1;   /* truncated spool */
			done += (size_t)got;
			off += (uint64_t)got;
		}
	}
	return (long)done;
}

void sr_coord_mailbatch_free(void *ctx)
{
	struct sr_coord_mailbatch *b = ctx;

	if (!b)
		return;
	batch_truncate(b, 0);
	sr_free(b->msgs);
	sr_free(b);
}

/* What --fault replay-mail and drop-mail do to a fetch. */
static int fault_mail(const struct sr_coord_fault *f, struct sr_coord_mailbatch *b)
{
	if (!f || b->n == 0)
		return SR_OK;
	if (f->kind == SR_FAULT_DROP_MAIL) {
		/* Deliver only the first message of each mailbox. */
		batch_truncate(b, b->msgs[0].seq > 0 ? 0 : 1);
	} else if (f->kind == SR_FAULT_REPLAY_MAIL && b->msgs[0].seq > 0) {
		/* Serve the first message again under the next seq. */
		batch_truncate(b, 1);
		return batch_add(b, b->msgs[0].seq + 1, b->msgs[0].len, b->msgs[0].fd, 0);
	}
	return SR_OK;
}

/* ---- fetch ------------------------------------------------------------------ */

/* Job lock held.  Open the ready messages of q from seq next on, within
 * the fetch limits, into b. */
static int select_msgs(struct job *j, struct queue *q, uint64_t next,
		       struct sr_coord_mailbatch *b, struct sr_err *err)
{
	uint64_t bytes = 0;
	char path[700];

	for (size_t i = queue_find(q, next); i < q->n; i++) {
		const struct msg *m = &q->msgs[i];
		int fd;

		/* In seq order: one still being written stops the answer. */
		if (!m->ready || b->n == SR_MAILBOX_FETCH_MSGS_MAX)
			break;
		if (b->n && bytes + m->len > SR_MAILBOX_FETCH_BYTES_MAX)
			break;
		slot_path(path, sizeof(path), j, m->slot);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sr_fail(err, SR_EIO, "mailboxes: cannot open %s: %s", path,
				       strerror(errno));
		if (batch_add(b, m->seq, m->len, fd, 1) != SR_OK) {
			close(fd);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		bytes += m->len;
	}
	return SR_OK;
}

int sr_mailstore_fetch(struct sr_mailstore *ms, const char *project,
		       const char *job_hex, const char *from, const char *to,
		       uint64_t next, int wait_ms, const struct sr_coord_fault *fault,
		       struct sr_coord_mailbatch **out, struct sr_err *err)
{
	struct sr_coord_mailbatch *b;
	struct timespec deadline;
	struct job *j = NULL;
	struct queue *q;
	int rc, removed = 0;

	*out = NULL;
	b = sr_calloc(1, sizeof(*b));
	if (!b)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = job_get(ms, project, job_hex, &j, err);
	if (rc) {
		sr_free(b);
		return rc;
	}
	deadline_in(&deadline, wait_ms > 0 ? wait_ms : 0);
	pthread_mutex_lock(&j->lock);
	q = queue_get(j, from, to, 1);
	if (!q) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	/* The caller has every message before next: remove them. */
	while (q->head < q->n && q->msgs[q->head].seq < next && q->msgs[q->head].ready) {
		queue_remove(ms, j, q, q->head);
		removed = 1;
	}
	if (next > q->taken)
		q->taken = next;
	if (removed)
		job_changed(ms, j);   /* room for a waiting post */
	for (;;) {
		rc = select_msgs(j, q, next, b, err);
		if (rc || b->n > 0 || wait_ms <= 0 || atomic_load(&ms->no_waits))
			break;
		if (pthread_cond_timedwait(&j->cond, &j->lock, &deadline) != 0)
			wait_ms = 0;   /* one last look */
	}
out:
	pthread_mutex_unlock(&j->lock);
	job_put(ms, j);
	if (rc == SR_OK) {
		size_t had = b->n;
		if (fault_mail(fault, b) != SR_OK)
			rc = sr_fail(err, SR_ENOMEM, "out of memory");
		/* A fault that left nothing looks like a quiet mailbox, also
		 * in how long it takes (no client spins on it). */
		else if (had && b->n == 0 && wait_ms > 0 && !atomic_load(&ms->no_waits))
			usleep((useconds_t)wait_ms * 1000);
	}
	if (rc) {
		sr_coord_mailbatch_free(b);
		return rc;
	}
	*out = b;
	return SR_OK;
}

/* ---- expiry ------------------------------------------------------------------ */

size_t sr_mailstore_expire(struct sr_mailstore *ms, int64_t now)
{
	int64_t cutoff = now - ms->opts.mail_retention_s;
	struct job **link, *dead = NULL, *j;
	size_t gone = 0;

	/* Pin every job, then work on each under its own lock only: posts
	 * and fetches of other jobs go on meanwhile. */
	pthread_mutex_lock(&ms->sweep_lock);
	pthread_mutex_lock(&ms->lock);
	for (j = ms->jobs; j; j = j->next) {
		j->refs++;
		j->pinned_by_sweep = 1;
	}
	j = ms->jobs;
	pthread_mutex_unlock(&ms->lock);
	for (; j; j = j->next) {
		size_t before = gone;

		pthread_mutex_lock(&j->lock);
		for (struct queue *q = j->queues; q; q = q->next) {
			/* Deposited in seq order, so the oldest are in front;
			 * a message not yet written is left to its writer. */
			while (q->head < q->n && q->msgs[q->head].ready &&
			       q->msgs[q->head].time < cutoff) {
				if (q->msgs[q->head].seq >= q->taken)
					q->taken = q->msgs[q->head].seq + 1;
				queue_remove(ms, j, q, q->head);
				gone++;
			}
		}
		if (gone > before)
			job_changed(ms, j);
		pthread_mutex_unlock(&j->lock);
	}
	/* A job left empty gives its spool files back after IDLE_JOB_S (or
	 * the retention if shorter), and goes when unused for the
	 * retention.  (A job added meanwhile is at the head, unpinned.) */
	pthread_mutex_lock(&ms->lock);
	link = &ms->jobs;
	while (*link) {
		j = *link;
		if (j->refs > 0 && j->pinned_by_sweep) {
			j->refs--;
			j->pinned_by_sweep = 0;
		}
		if (j->refs == 0 && j->msgs == 0 && j->used < cutoff) {
			*link = j->next;
			j->next = dead;
			dead = j;
			continue;
		}
		if (j->refs == 0 && j->msgs == 0 && j->dir_made &&
		    j->used < now - (ms->opts.mail_retention_s < IDLE_JOB_S ?
				      ms->opts.mail_retention_s : IDLE_JOB_S)) {
			/* No call uses it (refs), and posts take the store's
			 * lock before its own: nothing writes there now. */
			if (sr_rm_rf(j->dir, NULL) != SR_OK)
				sr_log_warn("mailboxes: cannot remove %s", j->dir);
			j->dir_made = 0;
			j->nslots = 0;
			j->nfree = 0;
			j->spool_free = 0;
		}
		link = &j->next;
	}
	pthread_mutex_unlock(&ms->lock);
	while (dead) {
		j = dead;
		dead = j->next;
		if (j->dir_made && sr_rm_rf(j->dir, NULL) != SR_OK)
			sr_log_warn("mailboxes: cannot remove %s", j->dir);
		job_free(j);
	}
	pthread_mutex_unlock(&ms->sweep_lock);
	return gone;
}

void sr_mailstore_stop_waits(struct sr_mailstore *ms)
{
	atomic_store(&ms->no_waits, 1);
	pthread_mutex_lock(&ms->lock);
	for (struct job *j = ms->jobs; j; j = j->next) {
		pthread_mutex_lock(&j->lock);
		job_changed(ms, j);
		pthread_mutex_unlock(&j->lock);
	}
	pthread_mutex_unlock(&ms->lock);
}

void sr_mailstore_usage(struct sr_mailstore *ms, uint64_t *msgs, uint64_t *bytes)
{
	*msgs = *bytes = 0;
	pthread_mutex_lock(&ms->lock);
	for (struct job *j = ms->jobs; j; j = j->next) {
		pthread_mutex_lock(&j->lock);
		*msgs += j->msgs;
		*bytes += j->bytes;
		pthread_mutex_unlock(&j->lock);
	}
	pthread_mutex_unlock(&ms->lock);
}

static void *timer_main(void *arg)
{
	struct sr_mailstore *ms = arg;
	int64_t every_ms = ms->opts.mail_retention_s * 1000 / 4;

	if (every_ms > SWEEP_MAX_MS)
		every_ms = SWEEP_MAX_MS;
	if (every_ms < 100)
		every_ms = 100;
	pthread_mutex_lock(&ms->lock);
	while (!ms->stopping) {
		struct timespec until;

		deadline_in(&until, (int)every_ms);
		pthread_cond_timedwait(&ms->timer_cond, &ms->lock, &until);
		if (ms->stopping)
			break;
		pthread_mutex_unlock(&ms->lock);
		(void)sr_mailstore_expire(ms, wall_s());
		pthread_mutex_lock(&ms->lock);
	}
	pthread_mutex_unlock(&ms->lock);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------- */

int sr_mailstore_open(const char *dir, const struct sr_coord_opts *opts,
		      struct sr_mailstore **out, struct sr_err *err)
{
	struct sr_mailstore *ms;
	struct sr_buf root;
	int rc;

	*out = NULL;
	ms = sr_calloc(1, sizeof(*ms));
	if (!ms)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	pthread_mutex_init(&ms->lock, NULL);
	pthread_mutex_init(&ms->org_lock, NULL);
	pthread_mutex_init(&ms->sweep_lock, NULL);
	pthread_mutex_init(&ms->server_lock, NULL);
	pthread_cond_init(&ms->timer_cond, NULL);
	ms->opts = *opts;
	sr_buf_init(&root, 0);
	if (sr_path_join(&root, dir, "mail") != SR_OK ||
	    !(ms->root = sr_buf_detach(&root, NULL))) {
		sr_buf_release(&root);
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto fail;
	}
	/* What a previous run spooled is of no use to anyone now. */
	rc = sr_rm_rf(ms->root, err);
	if (rc == SR_OK)
		rc = sr_mkdir_p(ms->root, 0700, err);
	if (rc)
		goto fail;
	if (pthread_create(&ms->timer, NULL, timer_main, ms) != 0) {
		rc = sr_fail(err, SR_EINTERNAL, "mailboxes: cannot start the expiry timer");
		goto fail;
	}
	ms->timer_started = 1;
	*out = ms;
	return SR_OK;
fail:
	sr_mailstore_free(ms);
	return rc;
}

void sr_mailstore_free(struct sr_mailstore *ms)
{
	struct sr_err ignored;

	if (!ms)
		return;
	if (ms->timer_started) {
		pthread_mutex_lock(&ms->lock);
		ms->stopping = 1;
		pthread_cond_broadcast(&ms->timer_cond);
		pthread_mutex_unlock(&ms->lock);
		pthread_join(ms->timer, NULL);
	}
	while (ms->jobs) {
		struct job *j = ms->jobs;
		ms->jobs = j->next;
		job_free(j);
	}
	if (ms->root && sr_rm_rf(ms->root, &ignored) != SR_OK)
		sr_log_warn("mailboxes: cannot remove %s: %s", ms->root, ignored.msg);
	sr_free(ms->root);
	for (size_t i = 0; i < ORG_BUCKETS; i++)
		while (ms->orgs[i]) {
			struct org_use *u = ms->orgs[i];
			ms->orgs[i] = u->next;
			sr_free(u);
		}
	pthread_cond_destroy(&ms->timer_cond);
	pthread_mutex_destroy(&ms->org_lock);
	pthread_mutex_destroy(&ms->server_lock);
	pthread_mutex_destroy(&ms->sweep_lock);
	pthread_mutex_destroy(&ms->lock);
	sr_free(ms);
}
