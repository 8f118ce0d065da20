/*
 * jobchan.c - see jobchan.h; the protocol is docs/protocols/jobchan.md.
 *
 * Every mailbox message starts with "SRJC" ‖ version(1) ‖ type(1).
 *
 *   HELLO (type 1), posted as seq 0 to each peer:
 *     prefix ‖ u8 plen ‖ project[plen] ‖ job_id[32] ‖ head[32] ‖
 *     from[36] ‖ to[36] ‖ eph_pk[32] ‖ u8 alen ‖ addr[alen] ‖ sig[64]
 *     (addr: where the sender takes direct connections, or none)
 *     sig = Ed25519(identity key, "sealroom.jobchan.hello.v1" ‖ every
 *           byte of the hello before sig)
 *
 *   DATA (type 2) and ABORT (type 3), seq 1, 2, ... per direction:
 *     prefix ‖ u16 reserved (0) ‖ u32le channel ^ mask ‖ u64le seq ‖
 *     u32le total_len ‖ u32le offset ‖ XChaCha20-Poly1305 ciphertext
 *     key   = k(from -> to)
 *     nonce = u64le(seq) ‖ 0^16
 *     AD    = the 28 header bytes ‖ u8 plen ‖ project ‖ job_id ‖ from ‖ to
 *     mask  = first 4 bytes of XChaCha20(key, u64le(seq) ‖ 0x01 ‖ 0^15)
 *             (the mailbox must not learn which logical channel talks;
 *             the AD authenticates the masked bytes)
 *   A message of total_len bytes travels as fragments of at most
 *   SR_JOBCHAN_FRAGMENT_MAX bytes at offsets 0, F, 2F, ... (one fragment,
 *   possibly empty, when it is short), each its own mailbox message.
 *
 * Keys, per pair: shared = X25519(own eph_sk, peer eph_pk);
 *   T = sr_hash("sealroom.jobchan.transcript.v1";
 *               u32le(len H1) ‖ H1 ‖ u32le(len H2) ‖ H2)
 *   with H1 the hello sent by the party whose org id sorts first, H2 the
 *   other; k(X -> Y) = BLAKE2b-256(key = shared,
 *                                  "sealroom.jobchan.key.v1" ‖ T ‖ X ‖ Y).
 * The ephemeral secret key is wiped as soon as every peer's keys exist.
 *
 * Direct path (net/direct.h): when the recipient of a direction
 * advertised an address, the sender connects there, proves
 * kd(from -> to) = BLAKE2b-256(key = shared, "sealroom.jobchan.direct.v1"
 * ‖ T ‖ from ‖ to), and posts, as seq 1 on the relay, a PATH message
 * (channel SR_JOBCHAN_PATH_CHANNEL, "D" or "R") that says where its
 * messages from seq 2 on go.  Every message is sealed and checked the
 * same on both paths.
 *
 * The receiver only ever opens its next seq, so the header's seq (not
 * authenticated until the AEAD opens) serves only to name what went wrong;
 * a seq is never posted twice with different bytes (a failed post burns
 * its seq), so a nonce is never reused.
 */
#include "net/jobchan.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "crypto/aes.h"
#include "crypto/crypto.h"
#include "net/direct.h"
#include "net/pipe.h"
#include "base/banned.h"

#define MAGIC "SRJC"
#define TYPE_HELLO 1
#define TYPE_DATA 2
#define TYPE_ABORT 3
#define PREFIX_BYTES 6                  /* magic, version, type */
#define ID_BYTES 32                     /* job id, ledger head */
#define EPH_BYTES crypto_scalarmult_BYTES
#define HELLO_FIXED (PREFIX_BYTES + 1 + 2 * ID_BYTES + 2 * SR_ORG_ID_LEN + \
		     EPH_BYTES + 1 + SR_SIGN_BYTES)
#define HDR_BYTES 28
#define WIRE_MAX (HDR_BYTES + SR_JOBCHAN_FRAGMENT_MAX + SR_AEAD_ABYTES)
#define AD_MAX (HDR_BYTES + 1 + SR_PROJECT_ID_MAX + ID_BYTES + 2 * SR_ORG_ID_LEN)
#define LABEL_HELLO "sealroom.jobchan.hello.v1"
#define LABEL_KEY "sealroom.jobchan.key.v1"
#define LABEL_DIRECT "sealroom.jobchan.direct.v1"
#define LABEL_MASK "sealroom.jobchan.mask.v1"
#define PATH_DIRECT 'D'
#define PATH_RELAY 'R'
/* How long a sender tries to reach a peer's listener before it takes the
 * relay, and how long a receiver waits for a connection its peer said it
 * made. */
#define DIRECT_CONNECT_MS 2000
#define DIRECT_TAKE_MS 5000
#define DOMAIN_TRANSCRIPT "sealroom.jobchan.transcript.v1"
#define DOMAIN_SID "sealroom.jobchan.sid.v1"

_Static_assert(EPH_BYTES == 32 && crypto_scalarmult_SCALARBYTES == 32 &&
	       crypto_kx_PUBLICKEYBYTES == 32 && crypto_kx_SECRETKEYBYTES == 32,
	       "X25519 sizes");
_Static_assert(SR_AEAD_KEYBYTES == 32 && SR_AEAD_NONCEBYTES == 24 &&
	       SR_AEAD_ABYTES == 16 && crypto_stream_xchacha20_KEYBYTES == 32 &&
	       crypto_stream_xchacha20_NONCEBYTES == 24, "XChaCha20(-Poly1305) sizes");
_Static_assert(SR_GCM_KEYBYTES == SR_AEAD_KEYBYTES && SR_GCM_ABYTES == SR_AEAD_ABYTES,
	       "the channel keys and tags fit AES-256-GCM");
_Static_assert(SR_HASH_BYTES == ID_BYTES, "job ids and heads are hashes");
_Static_assert(SR_PROJECT_ID_MAX <= 255, "project length fits a byte");
_Static_assert(HELLO_FIXED + SR_PROJECT_ID_MAX + SR_JOBCHAN_ADDR_MAX <= SR_JOBCHAN_HELLO_MAX,
	       "a hello fits SR_JOBCHAN_HELLO_MAX");
_Static_assert(SR_JOBCHAN_ADDR_MAX < SR_DIRECT_ADDR_MAX && SR_JOBCHAN_ADDR_MAX <= 255,
	       "an address fits the hello's length byte and net/direct.h");
_Static_assert(WIRE_MAX <= SR_MAILBOX_MSG_MAX,
	       "a sealed fragment fits one mailbox message");
_Static_assert(SR_FRAME_MAX <= UINT32_MAX, "lengths fit u32");
_Static_assert(SR_JOBCHAN_REASON_MAX <= SR_JOBCHAN_FRAGMENT_MAX,
	       "an ABORT is one fragment");

struct keys {                  /* in sodium_malloc memory */
	uint8_t send[SR_AEAD_KEYBYTES];
	uint8_t recv[SR_AEAD_KEYBYTES];
	uint8_t dsend[SR_AEAD_KEYBYTES];   /* kd(self -> peer): direct-path proofs */
	uint8_t drecv[SR_AEAD_KEYBYTES];   /* kd(peer -> self) */
	uint8_t msend[SR_AEAD_KEYBYTES];   /* km(self -> peer): channel masks */
	uint8_t mrecv[SR_AEAD_KEYBYTES];   /* km(peer -> self) */
};

struct peer {
	char org_id[SR_ORG_ID_LEN + 1];
	uint8_t sign_pk[SR_SIGN_PUBLICKEYBYTES];
	uint8_t eph_pk[EPH_BYTES];     /* from its hello */
	struct keys *keys;             /* into ch->keys */
	uint64_t send_seq;             /* next seq to post (under send_lock) */
	uint64_t recv_seq;             /* next seq accepted (receiving thread) */
	pthread_mutex_t send_lock;
	struct sr_buf out;             /* message being posted (the hello during open) */
	struct sr_buf in;              /* message fetched */
	char addr[SR_JOBCHAN_ADDR_MAX + 1];   /* its listener, from its hello, or "" */
	int out_fd;                    /* direct connection to it, or -1: the relay */
	int in_fd;                     /* direct connection from it, or -1 */
};

struct sr_jobchan {
	char project[SR_PROJECT_ID_MAX + 1];
	size_t project_len;
	uint8_t job_id[ID_BYTES];
	uint8_t head[ID_BYTES];
	char self_org[SR_ORG_ID_LEN + 1];
	uint8_t eph_pk[EPH_BYTES];
	struct sr_mailbox_ops ops;
	struct sr_direct *direct;      /* ops.direct: NULL = relay only */
	char self_addr[SR_JOBCHAN_ADDR_MAX + 1];  /* advertised, or "" */
	int timeout_ms;
	int (*should_abort)(void *ctx);
	void *abort_ctx;
	struct peer *peers;            /* sorted by org id */
	size_t npeers;
	size_t nlocks;                 /* peers whose send_lock is initialized */
	struct keys *keys;
	uint8_t sid[SR_JOBCHAN_SID_BYTES];
	pthread_mutex_t lock;          /* guards why */
	atomic_int broken;
	char why[SR_ERR_MSG_MAX];
	_Atomic uint64_t bytes_sent;
	_Atomic uint64_t bytes_received;
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "5", "0.3", "1.25": seconds for messages. */
static void seconds(char out[32], int ms)
{
	if (ms % 1000 == 0)
		snprintf(out, 32, "%d", ms / 1000);
	else if (ms % 100 == 0)
		snprintf(out, 32, "%d.%d", ms / 1000, ms % 1000 / 100);
	else
		snprintf(out, 32, "%d.%03d", ms / 1000, ms % 1000);
}

/* Untrusted bytes made safe to print: anything but visible ASCII is '?'. */
static void printable(char *out, size_t out_size, const uint8_t *in, size_t len)
{
	size_t i;

	if (len > out_size - 1)
		len = out_size - 1;
	for (i = 0; i < len; i++)
		out[i] = in[i] > 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
	out[i] = '\0';
}

static void prefix(uint8_t *out, uint8_t type)
{
	memcpy(out, MAGIC, 4);
	out[4] = SR_JOBCHAN_VERSION;
	out[5] = type;
}

static void nonce_of(uint8_t nonce[SR_GCM_NONCEBYTES], uint64_t seq)
{
	memset(nonce, 0, SR_GCM_NONCEBYTES);
	sr_store_u64le(nonce, seq);
}

/* The channel number's mask for seq: a keystream block under the
 * direction's mask key km (its own key: the AEAD key seals only). */
static uint32_t channel_mask(const uint8_t key[SR_AEAD_KEYBYTES], uint64_t seq)
{
	uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES], mask[4] = { 0 };

	memset(nonce, 0, sizeof(nonce));
	sr_store_u64le(nonce, seq);
	crypto_stream_xchacha20_xor(mask, mask, sizeof(mask), nonce, key);
	return sr_load_u32le(mask);
}

static int valid_project(const char *s, size_t len)
{
	if (len == 0 || len > SR_PROJECT_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static int peer_cmp(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->org_id,
		      ((const struct peer *)b)->org_id);
}

static struct peer *find_peer(const struct sr_jobchan *ch, const char *org_id)
{
	size_t lo = 0, hi = ch->npeers;

	if (!org_id)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(org_id, ch->peers[mid].org_id);
		if (c == 0)
			return &ch->peers[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int not_a_peer(const struct sr_jobchan *ch, const char *org_id,
		      struct sr_err *err)
{
	char shown[SR_ORG_ID_LEN + 1];

	printable(shown, sizeof(shown), (const uint8_t *)(org_id ? org_id : "(null)"),
		  org_id ? strlen(org_id) : 6);
	return sr_fail(err, SR_EINVAL, "job channel: %s is not a peer of this job (this node is %s)",
		       shown, ch->self_org);
}

/* ---- broken state -------------------------------------------------------- */

static void mark_broken(struct sr_jobchan *ch, const char *why)
{
	pthread_mutex_lock(&ch->lock);
	if (!atomic_load(&ch->broken)) {
		snprintf(ch->why, sizeof(ch->why), "%s", why);
		atomic_store(&ch->broken, 1);
	}
	pthread_mutex_unlock(&ch->lock);
}

static int broken_fail(struct sr_jobchan *ch, struct sr_err *err)
{
	char why[SR_ERR_MSG_MAX];

	pthread_mutex_lock(&ch->lock);
	memcpy(why, ch->why, sizeof(why));
	pthread_mutex_unlock(&ch->lock);
	return sr_fail(err, SR_EPROTO, "job channel: broken by an earlier error: %s", why);
}

/* Hand an inner error to the caller's err (first failure wins there too). */
static int pass(struct sr_err *err, int rc, const struct sr_err *inner)
{
	return sr_fail(err, rc, "%s", inner->msg[0] ? inner->msg : sr_strerror(rc));
}

/* ---- waiting for a message ------------------------------------------------ */

/*
 * Fetch p's next message (seq p->recv_seq) into p->in, polling
 * should_abort and the broken flag between fetches of at most
 * SR_JOBCHAN_POLL_MS: from the direct connection when there is one,
 * unless relay.  *claimed: the seq the mailbox says it has.
 */
static int wait_message(struct sr_jobchan *ch, struct peer *p, int relay,
			uint64_t *claimed, struct sr_err *err)
{
	int64_t deadline = now_ms() + ch->timeout_ms;

	for (;;) {
		struct sr_err inner;
		int64_t left;
		int rc;

		if (atomic_load(&ch->broken))
			return broken_fail(ch, err);
		if (ch->should_abort && ch->should_abort(ch->abort_ctx))
			return sr_fail(err, SR_EPERM,
				       "job channel: stopped waiting for %s: the job was aborted",
				       p->org_id);
		left = deadline - now_ms();
		if (left <= 0) {
			char s[32];
			seconds(s, ch->timeout_ms);
			return sr_fail(err, SR_ETIMEOUT, "job channel: no message from %s for %s s",
				       p->org_id, s);
		}
		if (left > SR_JOBCHAN_POLL_MS)
			left = SR_JOBCHAN_POLL_MS;
		sr_buf_reset(&p->in);
		sr_err_clear(&inner);
		*claimed = 0;
		if (p->in_fd >= 0 && !relay) {
			/* The direct path: its order is TCP's; the header's seq
			 * is what the channel checks, as on the relay. */
			rc = sr_direct_recv(p->in_fd, &p->in, WIRE_MAX, (int)left, &inner);
			if (rc == SR_OK && p->in.len >= HDR_BYTES)
				*claimed = sr_load_u64le(p->in.data + 12);
			if (rc == SR_ELIMIT)
				return sr_fail(err, SR_ELIMIT,
					       "job channel: a message over the limit of %u bytes from %s (direct)",
					       (unsigned)WIRE_MAX, p->org_id);
		} else {
			/* recv_seq - 1 is UINT64_MAX before the hello: "none yet". */
			rc = ch->ops.fetch(ch->ops.ctx, p->org_id, p->recv_seq - 1, &p->in,
					   claimed, (int)left, &inner);
		}
		if (rc == SR_ETIMEOUT)
			continue;
		if (rc)
			return sr_fail(err, rc, "job channel: fetching from %s: %s", p->org_id,
				       inner.msg[0] ? inner.msg : sr_strerror(rc));
		break;
	}
	atomic_fetch_add(&ch->bytes_received, (uint64_t)p->in.len);
	if (p->in.len > WIRE_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "job channel: a message of %zu bytes from %s, over the limit of %u bytes",
			       p->in.len, p->org_id, (unsigned)WIRE_MAX);
	return SR_OK;
}

/* Magic and version of any message.  what: "the hello" or "message N". */
static int check_prefix(const struct peer *p, const uint8_t *m, size_t len,
			const char *what, struct sr_err *err)
{
	if (len < PREFIX_BYTES || memcmp(m, MAGIC, 4) != 0)
		return sr_fail(err, SR_EPROTO,
			       "job channel: %s from %s is not a job channel message (%zu bytes)",
			       what, p->org_id, len);
	if (m[4] != SR_JOBCHAN_VERSION)
		return sr_fail(err, SR_EPROTO,
			       "job channel: %s speaks job channel version %u, this node speaks %u",
			       p->org_id, m[4], SR_JOBCHAN_VERSION);
	return SR_OK;
}

/* ---- hellos --------------------------------------------------------------- */

struct hello_view {
	size_t project_len, addr_len;
	const uint8_t *project, *job_id, *head, *from, *to, *eph, *addr, *sig;
	size_t signed_len;             /* bytes before sig */
};

/* LABEL_HELLO ‖ body: what the signature covers. */
static size_t hello_signed_message(uint8_t *out, const uint8_t *body, size_t len)
{
	size_t n = sizeof(LABEL_HELLO) - 1;

	memcpy(out, LABEL_HELLO, n);
	memcpy(out + n, body, len);
	return n + len;
}

/* This party's hello to `to`, signed, into out (SR_JOBCHAN_HELLO_MAX). */
static size_t hello_build(uint8_t *out, const struct sr_jobchan *ch,
			  const struct sr_identity *self, const char *to)
{
	uint8_t tbs[sizeof(LABEL_HELLO) + SR_JOBCHAN_HELLO_MAX];
	size_t n = PREFIX_BYTES;

	prefix(out, TYPE_HELLO);
	out[n++] = (uint8_t)ch->project_len;
	memcpy(out + n, ch->project, ch->project_len);
	n += ch->project_len;
	memcpy(out + n, ch->job_id, ID_BYTES);
	n += ID_BYTES;
	memcpy(out + n, ch->head, ID_BYTES);
	n += ID_BYTES;
	memcpy(out + n, ch->self_org, SR_ORG_ID_LEN);
	n += SR_ORG_ID_LEN;
	memcpy(out + n, to, SR_ORG_ID_LEN);
	n += SR_ORG_ID_LEN;
	memcpy(out + n, ch->eph_pk, EPH_BYTES);
	n += EPH_BYTES;
	out[n++] = (uint8_t)strlen(ch->self_addr);
	memcpy(out + n, ch->self_addr, strlen(ch->self_addr));
	n += strlen(ch->self_addr);
	sr_identity_sign(self, tbs, hello_signed_message(tbs, out, n), out + n);
	return n + SR_SIGN_BYTES;
}

static int hello_parse(const struct peer *p, const uint8_t *m, size_t len,
		       uint64_t claimed, struct hello_view *h, struct sr_err *err)
{
	size_t n = PREFIX_BYTES + 1;
	int rc;

	rc = check_prefix(p, m, len, "the hello", err);
	if (rc)
		return rc;
	if (m[5] != TYPE_HELLO)
		return sr_fail(err, SR_EPROTO,
			       "job channel: expected the hello of %s, got a message of type %u (delivered as seq %llu): its hello was dropped or reordered",
			       p->org_id, m[5], (unsigned long long)claimed);
	/* The address's length byte sits after the fixed fields and the
	 * project: both lengths are checked before either is used. */
	if (len < HELLO_FIXED || m[PREFIX_BYTES] == 0 ||
	    m[PREFIX_BYTES] > SR_PROJECT_ID_MAX ||
	    len < HELLO_FIXED + (size_t)m[PREFIX_BYTES] ||
	    m[HELLO_FIXED - SR_SIGN_BYTES - 1 + m[PREFIX_BYTES]] > SR_JOBCHAN_ADDR_MAX ||
	    len != HELLO_FIXED + (size_t)m[PREFIX_BYTES] +
		   m[HELLO_FIXED - SR_SIGN_BYTES - 1 + m[PREFIX_BYTES]])
		return sr_fail(err, SR_EPROTO, "job channel: the hello of %s is malformed (%zu bytes)",
			       p->org_id, len);
	h->project_len = m[PREFIX_BYTES];
	h->project = m + n;
	n += h->project_len;
	h->job_id = m + n;
	n += ID_BYTES;
	h->head = m + n;
	n += ID_BYTES;
	h->from = m + n;
	n += SR_ORG_ID_LEN;
	h->to = m + n;
	n += SR_ORG_ID_LEN;
	h->eph = m + n;
	n += EPH_BYTES;
	h->addr_len = m[n++];
	h->addr = m + n;
	n += h->addr_len;
	h->sig = m + n;
	h->signed_len = n;
	return SR_OK;
}

/* Every check of a peer's hello, in an order that reports the cause: who it
 * claims to be, then its signature, then what it says. */
static int hello_check(const struct sr_jobchan *ch, const struct peer *p,
		       const struct hello_view *h, const uint8_t *m,
		       struct sr_err *err)
{
	uint8_t tbs[sizeof(LABEL_HELLO) + SR_JOBCHAN_HELLO_MAX];
	char shown[SR_PROJECT_ID_MAX + 1], a[2 * ID_BYTES + 1], b[2 * ID_BYTES + 1];

	if (memcmp(h->from, p->org_id, SR_ORG_ID_LEN) != 0) {
		printable(shown, sizeof(shown), h->from, SR_ORG_ID_LEN);
		return sr_fail(err, SR_ECRYPTO,
			       "job channel: the hello in the mailbox of %s claims to come from %s: rejected (only %s's own signed hello is accepted)",
			       p->org_id, shown, p->org_id);
	}
	if (sr_sign_verify(p->sign_pk, tbs, hello_signed_message(tbs, m, h->signed_len),
			   h->sig) != SR_OK)
		return sr_fail(err, SR_ECRYPTO,
			       "job channel: the hello of %s does not verify with %s's signing key (forged, altered, or signed by another party)",
			       p->org_id, p->org_id);
	if (memcmp(h->to, ch->self_org, SR_ORG_ID_LEN) != 0) {
		printable(shown, sizeof(shown), h->to, SR_ORG_ID_LEN);
		return sr_fail(err, SR_EPROTO,
			       "job channel: the hello of %s is addressed to %s, not to this node (%s)",
			       p->org_id, shown, ch->self_org);
	}
	if (h->project_len != ch->project_len ||
	    memcmp(h->project, ch->project, ch->project_len) != 0) {
		printable(shown, sizeof(shown), h->project, h->project_len);
		return sr_fail(err, SR_EPROTO,
			       "job channel: the hello of %s is for project %s, not %s",
			       p->org_id, shown, ch->project);
	}
	if (memcmp(h->job_id, ch->job_id, ID_BYTES) != 0) {
		sr_hex(a, h->job_id, ID_BYTES);
		sr_hex(b, ch->job_id, ID_BYTES);
		return sr_fail(err, SR_EPROTO,
			       "job channel: the hello of %s is for job %.16s, not this job %.16s",
			       p->org_id, a, b);
	}
	for (size_t i = 0; i < h->addr_len; i++) {
		uint8_t c = h->addr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == ':' || c == '-' || c == '[' || c == ']' || c == '_'))
			return sr_fail(err, SR_EPROTO,
				       "job channel: the hello of %s gives a malformed address",
				       p->org_id);
	}
	if (memcmp(h->head, ch->head, ID_BYTES) != 0) {
		sr_hex(a, ch->head, ID_BYTES);
		sr_hex(b, h->head, ID_BYTES);
		return sr_fail(err, SR_EPROTO,
			       "ledger heads differ: this node has %.16s, %s has %.16s",
			       a, p->org_id, b);
	}
	return SR_OK;
}

/* BLAKE2b-256(key = shared, label ‖ T ‖ from ‖ to). */
static void direction_key(uint8_t out[SR_AEAD_KEYBYTES], const char *label,
			  const uint8_t shared[32], const uint8_t t[SR_HASH_BYTES],
			  const char *from, const char *to)
{
	uint8_t in[64 + SR_HASH_BYTES + 2 * SR_ORG_ID_LEN];
	size_t n = strlen(label);

	memcpy(in, label, n);
	memcpy(in + n, t, SR_HASH_BYTES);
	n += SR_HASH_BYTES;
	memcpy(in + n, from, SR_ORG_ID_LEN);
	n += SR_ORG_ID_LEN;
	memcpy(in + n, to, SR_ORG_ID_LEN);
	n += SR_ORG_ID_LEN;
	crypto_generichash(out, SR_AEAD_KEYBYTES, in, n, shared, 32);
	sodium_memzero(in, sizeof(in));
}

/* The pair's two keys from X25519 and both hellos (p->out holds ours). */
static int derive_keys(const struct sr_jobchan *ch, struct peer *p,
		       const uint8_t eph_sk[32], const uint8_t *theirs,
		       size_t theirs_len, struct sr_err *err)
{
	const uint8_t *ours = (const uint8_t *)p->out.data;
	const uint8_t *first = ours, *second = theirs;
	size_t first_len = p->out.len, second_len = theirs_len;
	uint8_t shared[32], t[SR_HASH_BYTES], len4[4];
	struct sr_hasher h;

	if (strcmp(ch->self_org, p->org_id) > 0) {
		first = theirs;
		first_len = theirs_len;
		second = ours;
		second_len = p->out.len;
	}
	sr_hasher_init(&h, DOMAIN_TRANSCRIPT);
	sr_store_u32le(len4, (uint32_t)first_len);
	sr_hasher_update(&h, len4, 4);
	sr_hasher_update(&h, first, first_len);
	sr_store_u32le(len4, (uint32_t)second_len);
	sr_hasher_update(&h, len4, 4);
	sr_hasher_update(&h, second, second_len);
	sr_hasher_final(&h, t);
	if (crypto_scalarmult(shared, eph_sk, p->eph_pk) != 0) {
		sodium_memzero(shared, sizeof(shared));
		return sr_fail(err, SR_ECRYPTO,
			       "job channel: the ephemeral key in the hello of %s is invalid",
			       p->org_id);
	}
	direction_key(p->keys->send, LABEL_KEY, shared, t, ch->self_org, p->org_id);
	direction_key(p->keys->recv, LABEL_KEY, shared, t, p->org_id, ch->self_org);
	direction_key(p->keys->dsend, LABEL_DIRECT, shared, t, ch->self_org, p->org_id);
	direction_key(p->keys->drecv, LABEL_DIRECT, shared, t, p->org_id, ch->self_org);
	direction_key(p->keys->msend, LABEL_MASK, shared, t, ch->self_org, p->org_id);
	direction_key(p->keys->mrecv, LABEL_MASK, shared, t, p->org_id, ch->self_org);
	sodium_memzero(shared, sizeof(shared));
	return SR_OK;
}

/* Take, check and use p's hello. */
static int take_hello(struct sr_jobchan *ch, struct peer *p,
		      const uint8_t eph_sk[32], struct sr_err *err)
{
	struct hello_view h;
	uint64_t claimed;
	int rc;

	memset(&h, 0, sizeof(h));
	rc = wait_message(ch, p, 1, &claimed, err);
	if (rc)
		return rc;
	rc = hello_parse(p, (const uint8_t *)p->in.data, p->in.len, claimed, &h, err);
	if (rc)
		return rc;
	rc = hello_check(ch, p, &h, (const uint8_t *)p->in.data, err);
	if (rc)
		return rc;
	memcpy(p->eph_pk, h.eph, EPH_BYTES);
	memcpy(p->addr, h.addr, h.addr_len);
	p->addr[h.addr_len] = '\0';
	rc = derive_keys(ch, p, eph_sk, (const uint8_t *)p->in.data, p->in.len, err);
	if (rc)
		return rc;
	p->recv_seq = 1;
	return SR_OK;
}

/* H(project, job, head, every party's org id and ephemeral key in org id
 * order): the same at every party. */
static void session_id(struct sr_jobchan *ch)
{
	struct sr_hasher h;
	uint8_t v[2] = { SR_JOBCHAN_VERSION, (uint8_t)ch->project_len };
	int self_done = 0;

	sr_hasher_init(&h, DOMAIN_SID);
	sr_hasher_update(&h, v, 2);
	sr_hasher_update(&h, ch->project, ch->project_len);
	sr_hasher_update(&h, ch->job_id, ID_BYTES);
	sr_hasher_update(&h, ch->head, ID_BYTES);
	for (size_t i = 0; i <= ch->npeers; i++) {
		if (!self_done && (i == ch->npeers ||
				   strcmp(ch->self_org, ch->peers[i].org_id) < 0)) {
			sr_hasher_update(&h, ch->self_org, SR_ORG_ID_LEN);
			sr_hasher_update(&h, ch->eph_pk, EPH_BYTES);
			self_done = 1;
		}
		if (i < ch->npeers) {
			sr_hasher_update(&h, ch->peers[i].org_id, SR_ORG_ID_LEN);
			sr_hasher_update(&h, ch->peers[i].eph_pk, EPH_BYTES);
		}
	}
	sr_hasher_final(&h, ch->sid);
}

/* ---- open ------------------------------------------------------------------ */

static int check_params(const struct sr_jobchan_params *p, struct sr_err *err)
{
	char derived[SR_ORG_ID_LEN + 1];
	size_t selves = 0;

	if (!p || !p->project || !p->job_id || !p->head || !p->self ||
	    !p->self->sign_sk || !p->parties || !p->ops || !p->ops->post ||
	    !p->ops->fetch)
		return sr_fail(err, SR_EINVAL,
			       "job channel: missing project, job id, head, identity, parties or mailbox");
	if (!valid_project(p->project, strlen(p->project)))
		return sr_fail(err, SR_EINVAL,
			       "job channel: expected a project id of 1 to %d characters A-Z, a-z, 0-9, '_', '-' or '.'",
			       SR_PROJECT_ID_MAX);
	if (p->nparties < 2 || p->nparties > SR_JOBCHAN_PARTIES_MAX)
		return sr_fail(err, SR_EINVAL,
			       "job channel: expected 2 to %d parties, got %zu",
			       SR_JOBCHAN_PARTIES_MAX, p->nparties);
	if (p->timeout_ms < 0)
		return sr_fail(err, SR_EINVAL, "job channel: negative timeout");
	for (size_t i = 0; i < p->nparties; i++) {
		const struct sr_jobchan_party *q = &p->parties[i];
		if (memchr(q->org_id, '\0', sizeof(q->org_id)) == NULL ||
		    strlen(q->org_id) != SR_ORG_ID_LEN)
			return sr_fail(err, SR_EINVAL, "job channel: party %zu: malformed org id", i);
		sr_identity_org_id(derived, q->sign_pk);
		if (strcmp(derived, q->org_id) != 0)
			return sr_fail(err, SR_EINVAL,
				       "job channel: party %s: its org id does not derive from its signing key (that key is %s's)",
				       q->org_id, derived);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->parties[j].org_id, q->org_id) == 0)
				return sr_fail(err, SR_EINVAL,
					       "job channel: party %s is listed twice", q->org_id);
		if (memcmp(q->sign_pk, p->self->sign_pk, SR_SIGN_PUBLICKEYBYTES) == 0)
			selves++;
	}
	if (selves != 1) {
		sr_identity_org_id(derived, p->self->sign_pk);
		return sr_fail(err, SR_EINVAL,
			       "job channel: this node (%s) is not among the parties", derived);
	}
	return SR_OK;
}

/* ---- the direct path ------------------------------------------------------------ */

static int post_sealed(struct sr_jobchan *ch, struct peer *p, uint8_t type,
		       uint32_t channel, uint32_t total, uint32_t offset,
		       const uint8_t *data, size_t len, struct sr_err *err);
static int recv_message(struct sr_jobchan *ch, struct peer *p, uint32_t channel,
			struct sr_buf *msg, size_t max_len, struct sr_err *err);

/* A proof for the direct path: BLAKE2b-256(key = kd(X -> Y), what). */
static void direct_tag(uint8_t out[SR_DIRECT_TAG_BYTES], const uint8_t key[SR_AEAD_KEYBYTES],
		       const char *what)
{
	crypto_generichash(out, SR_DIRECT_TAG_BYTES, (const uint8_t *)what, strlen(what), key,
			   SR_AEAD_KEYBYTES);
}

/*
 * After the hellos: where this party listens, expect every peer's
 * connection; to every peer that listens, connect if it can be reached
 * and say, as seq 1 on the relay, which path the messages from seq 2 on
 * take; from every peer, when this party listens, learn the same.  Every
 * party posts before it waits, so no order deadlocks.
 */
static int direct_setup(struct sr_jobchan *ch, struct sr_err *err)
{
	uint8_t tag_c[SR_DIRECT_TAG_BYTES], tag_a[SR_DIRECT_TAG_BYTES];
	struct sr_buf path;
	int rc = SR_OK;

	sr_buf_init(&path, 1);
	for (size_t i = 0; rc == SR_OK && ch->self_addr[0] && i < ch->npeers; i++) {
		struct peer *q = &ch->peers[i];
		direct_tag(tag_c, q->keys->drecv, "connect");
		direct_tag(tag_a, q->keys->dsend, "accept");
		rc = sr_direct_expect(ch->direct, ch->job_id, q->org_id, ch->self_org, tag_c, tag_a,
				      err);
	}
	for (size_t i = 0; rc == SR_OK && i < ch->npeers; i++) {
		struct peer *q = &ch->peers[i];
		uint8_t which = PATH_RELAY;
		struct sr_err inner;

		if (!q->addr[0])
			continue;   /* it does not listen: the relay, and no PATH */
		if (ch->direct) {
			direct_tag(tag_c, q->keys->dsend, "connect");
			direct_tag(tag_a, q->keys->drecv, "accept");
			sr_err_clear(&inner);
			if (sr_direct_connect(q->addr, ch->job_id, ch->self_org, q->org_id, tag_c, tag_a,
					      DIRECT_CONNECT_MS, &q->out_fd, &inner) == SR_OK)
				which = PATH_DIRECT;
			else
				sr_log_info("job channel: %s is not reachable directly (%s): the relay",
					    q->org_id, inner.msg);
		}
		rc = post_sealed(ch, q, TYPE_DATA, SR_JOBCHAN_PATH_CHANNEL, 1, 0, &which, 1, err);
	}
	for (size_t i = 0; rc == SR_OK && ch->self_addr[0] && i < ch->npeers; i++) {
		struct peer *q = &ch->peers[i];

		sr_buf_reset(&path);
		rc = recv_message(ch, q, SR_JOBCHAN_PATH_CHANNEL, &path, 1, err);
		if (rc)
			break;
		if (path.len == 1 && path.data[0] == PATH_DIRECT) {
			rc = sr_direct_take(ch->direct, ch->job_id, q->org_id, ch->self_org,
					    DIRECT_TAKE_MS, &q->in_fd, err);
			if (rc)
				rc = sr_fail(err, SR_EPROTO,
					     "job channel: %s says it connected directly, but no connection came",
					     q->org_id);
		} else if (path.len == 1 && path.data[0] == PATH_RELAY) {
			sr_direct_cancel(ch->direct, ch->job_id, q->org_id, ch->self_org);
		} else {
			rc = sr_fail(err, SR_EPROTO, "job channel: a malformed path message from %s",
				     q->org_id);
		}
	}
	sodium_memzero(tag_c, sizeof(tag_c));
	sodium_memzero(tag_a, sizeof(tag_a));
	sr_buf_release(&path);
	return rc;
}

/* Open (jobchan.h). */
int sr_jobchan_open(const struct sr_jobchan_params *p, struct sr_jobchan **out,
		    struct sr_err *err)
{
	struct sr_jobchan *ch;
	uint8_t eph_sk[32];
	size_t i, k = 0;
	int rc;

	*out = NULL;
	rc = check_params(p, err);
	if (rc)
		return rc;
	ch = sr_calloc(1, sizeof(*ch));
	if (!ch)
		return sr_fail(err, SR_ENOMEM, "job channel: out of memory");
	if (pthread_mutex_init(&ch->lock, NULL) != 0) {
		sr_free(ch);
		return sr_fail(err, SR_ENOMEM, "job channel: cannot create a lock");
	}
	ch->project_len = strlen(p->project);
	memcpy(ch->project, p->project, ch->project_len + 1);
	memcpy(ch->job_id, p->job_id, ID_BYTES);
	memcpy(ch->head, p->head, ID_BYTES);
	sr_identity_org_id(ch->self_org, p->self->sign_pk);
	ch->ops = *p->ops;
	ch->direct = p->ops->direct;
	if (sr_direct_advertised(ch->direct)) {
		const char *a = sr_direct_advertised(ch->direct);
		if (strlen(a) > SR_JOBCHAN_ADDR_MAX) {
			rc = sr_fail(err, SR_EINVAL, "job channel: the direct address %.80s is too long", a);
			goto out;
		}
		memcpy(ch->self_addr, a, strlen(a) + 1);
	}
	ch->timeout_ms = p->timeout_ms ? p->timeout_ms : SR_JOBCHAN_TIMEOUT_DEFAULT_MS;
	ch->should_abort = p->should_abort;
	ch->abort_ctx = p->abort_ctx;
	ch->peers = sr_calloc(p->nparties - 1, sizeof(*ch->peers));
	ch->keys = sodium_malloc((p->nparties - 1) * sizeof(*ch->keys));
	if (!ch->peers || !ch->keys) {
		rc = sr_fail(err, SR_ENOMEM, "job channel: out of memory");
		goto out;
	}
	for (i = 0; i + 1 < p->nparties; i++)
		ch->peers[i].out_fd = ch->peers[i].in_fd = -1;
	for (i = 0; i < p->nparties; i++) {
		if (strcmp(p->parties[i].org_id, ch->self_org) == 0)
			continue;
		memcpy(ch->peers[k].org_id, p->parties[i].org_id, SR_ORG_ID_LEN + 1);
		memcpy(ch->peers[k].sign_pk, p->parties[i].sign_pk, SR_SIGN_PUBLICKEYBYTES);
		k++;
	}
	ch->npeers = k;
	qsort(ch->peers, ch->npeers, sizeof(*ch->peers), peer_cmp);
	for (i = 0; i < ch->npeers; i++) {
		struct peer *q = &ch->peers[i];
		q->keys = &ch->keys[i];
		sr_buf_init(&q->out, WIRE_MAX);
		sr_buf_init(&q->in, WIRE_MAX);
		if (pthread_mutex_init(&q->send_lock, NULL) != 0) {
			rc = sr_fail(err, SR_ENOMEM, "job channel: cannot create a lock");
			goto out;
		}
		ch->nlocks++;
	}
	crypto_kx_keypair(ch->eph_pk, eph_sk);

	/* Post every hello before waiting for any, so no order deadlocks. */
	for (i = 0; i < ch->npeers; i++) {
		struct peer *q = &ch->peers[i];
		struct sr_err inner;

		if (sr_buf_grow(&q->out, SR_JOBCHAN_HELLO_MAX)) {
			rc = sr_fail(err, SR_ENOMEM, "job channel: out of memory");
			goto out;
		}
		sr_buf_setlen(&q->out, hello_build((uint8_t *)q->out.data, ch, p->self,
						   q->org_id));
		sr_err_clear(&inner);
		q->send_seq = 1;
		rc = ch->ops.post(ch->ops.ctx, q->org_id, 0, (const uint8_t *)q->out.data,
				  q->out.len, &inner);
		if (rc) {
			rc = sr_fail(err, rc, "job channel: posting the hello to %s: %s", q->org_id,
				     inner.msg[0] ? inner.msg : sr_strerror(rc));
			goto out;
		}
		atomic_fetch_add(&ch->bytes_sent, (uint64_t)q->out.len);
	}
	for (i = 0; i < ch->npeers; i++) {
		rc = take_hello(ch, &ch->peers[i], eph_sk, err);
		if (rc)
			goto out;
	}
	session_id(ch);
	for (i = 0; i < ch->npeers; i++)
		sr_buf_reset(&ch->peers[i].out);
	rc = direct_setup(ch, err);
out:
	sodium_memzero(eph_sk, sizeof(eph_sk));
	if (rc) {
		sr_jobchan_free(ch);
		return rc;
	}
	*out = ch;
	return SR_OK;
}

/* ---- sealed messages --------------------------------------------------------- */

struct header {
	uint8_t type;
	uint32_t channel;              /* unmasked; authentic once the AEAD opens */
	uint64_t seq;
	uint32_t total;
	uint32_t offset;
	const uint8_t *raw;            /* the HDR_BYTES as on the wire */
	const uint8_t *ct;
	size_t ct_len;
};

static void header_write(uint8_t *out, uint8_t type, uint32_t channel,
			 uint64_t seq, uint32_t total, uint32_t offset)
{
	prefix(out, type);
	out[6] = 0;
	out[7] = 0;
	sr_store_u32le(out + 8, channel);
	sr_store_u64le(out + 12, seq);
	sr_store_u32le(out + 20, total);
	sr_store_u32le(out + 24, offset);
}

/* Header ‖ plen ‖ project ‖ job ‖ from ‖ to. */
static size_t ad_build(uint8_t ad[AD_MAX], const struct sr_jobchan *ch,
		       const uint8_t *header, const char *from, const char *to)
{
	size_t n = 0;

	memcpy(ad, header, HDR_BYTES);
	n += HDR_BYTES;
	ad[n++] = (uint8_t)ch->project_len;
	memcpy(ad + n, ch->project, ch->project_len);
	n += ch->project_len;
	memcpy(ad + n, ch->job_id, ID_BYTES);
	n += ID_BYTES;
	memcpy(ad + n, from, SR_ORG_ID_LEN);
	n += SR_ORG_ID_LEN;
	memcpy(ad + n, to, SR_ORG_ID_LEN);
	n += SR_ORG_ID_LEN;
	return n;
}

/*
 * Seal data[0..len) as the fragment at offset of a message of total bytes
 * and post it under p's next seq.  Caller holds p->send_lock.  The seq is
 * used up even when the post fails: the mailbox may have stored it, and a
 * nonce must never seal two plaintexts.
 */
static int post_sealed(struct sr_jobchan *ch, struct peer *p, uint8_t type,
		       uint32_t channel, uint32_t total, uint32_t offset,
		       const uint8_t *data, size_t len, struct sr_err *err)
{
	uint8_t ad[AD_MAX], nonce[SR_GCM_NONCEBYTES];
	size_t n = HDR_BYTES + len + SR_AEAD_ABYTES, ad_len;
	struct sr_err inner;
	uint64_t seq = p->send_seq;
	uint8_t *out;
	int rc;

	if (seq == UINT64_MAX)
		return sr_fail(err, SR_ELIMIT, "job channel: message counter to %s exhausted",
			       p->org_id);
	sr_buf_reset(&p->out);
	rc = sr_buf_grow(&p->out, n);
	if (rc)
		return sr_fail(err, rc == SR_ENOMEM ? SR_ENOMEM : SR_EINTERNAL,
			       "job channel: no room for a message of %zu bytes to %s",
			       n, p->org_id);
	out = (uint8_t *)p->out.data;
	header_write(out, type, channel ^ channel_mask(p->keys->msend, seq), seq, total,
		     offset);
	ad_len = ad_build(ad, ch, out, ch->self_org, p->org_id);
	nonce_of(nonce, seq);
	rc = sr_gcm_seal(out + HDR_BYTES, data, len, ad, ad_len, nonce, p->keys->send, err);
	if (rc)
		return rc;
	sr_buf_setlen(&p->out, n);
	p->send_seq = seq + 1;
	sr_err_clear(&inner);
	/* Direct when there is a connection (the PATH message itself always
	 * goes by the relay); a windowed transport takes the sealed buffer
	 * as it is: no copy. */
	if (p->out_fd >= 0 && channel != SR_JOBCHAN_PATH_CHANNEL)
		rc = sr_direct_send(p->out_fd, out, n, &inner);
	else if (ch->ops.post_buf)
		rc = ch->ops.post_buf(ch->ops.ctx, p->org_id, seq, &p->out, &inner);
	else
		rc = ch->ops.post(ch->ops.ctx, p->org_id, seq, out, n, &inner);
	if (rc)
		return sr_fail(err, rc, "job channel: posting message %llu to %s: %s",
			       (unsigned long long)seq, p->org_id,
			       inner.msg[0] ? inner.msg : sr_strerror(rc));
	atomic_fetch_add(&ch->bytes_sent, (uint64_t)n);
	return SR_OK;
}

static int send_message(struct sr_jobchan *ch, struct peer *p, uint32_t channel,
			const uint8_t *msg, size_t len, struct sr_err *err)
{
	size_t offset = 0;
	int rc;

	if (atomic_load(&ch->broken))
		return broken_fail(ch, err);
	do {
		size_t frag = len - offset;
		if (frag > SR_JOBCHAN_FRAGMENT_MAX)
			frag = SR_JOBCHAN_FRAGMENT_MAX;
		rc = post_sealed(ch, p, TYPE_DATA, channel, (uint32_t)len,
				 (uint32_t)offset, msg ? msg + offset : NULL, frag, err);
		if (rc)
			return rc;
		offset += frag;
	} while (offset < len);
	return SR_OK;
}

/* Seal and post (jobchan.h). */
int sr_jobchan_send(struct sr_jobchan *ch, const char *to_org, uint32_t channel,
		    const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct peer *p = find_peer(ch, to_org);
	struct sr_err inner;
	int rc;

	if (!p)
		return not_a_peer(ch, to_org, err);
	if (channel == SR_JOBCHAN_PATH_CHANNEL)
		return sr_fail(err, SR_EINVAL, "job channel: channel %u is reserved", channel);
	if (len > SR_FRAME_MAX)
		return sr_fail(err, SR_ELIMIT,
			       "job channel: message of %zu bytes to %s, over the limit of %u bytes (SR_FRAME_MAX)",
			       len, p->org_id, SR_FRAME_MAX);
	if (!msg && len)
		return sr_fail(err, SR_EINVAL, "job channel: no message");
	sr_err_clear(&inner);
	pthread_mutex_lock(&p->send_lock);
	rc = send_message(ch, p, channel, msg, len, &inner);
	pthread_mutex_unlock(&p->send_lock);
	if (rc) {
		mark_broken(ch, inner.msg);
		return pass(err, rc, &inner);
	}
	return SR_OK;
}

/* Parse the header of p->in and check that it is p's next message. */
static int header_parse(const struct peer *p, uint64_t claimed, struct header *h,
			struct sr_err *err)
{
	const uint8_t *m = (const uint8_t *)p->in.data;
	size_t len = p->in.len;
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "message %llu", (unsigned long long)p->recv_seq);
	rc = check_prefix(p, m, len, what, err);
	if (rc)
		return rc;
	if (m[5] == TYPE_HELLO)
		return sr_fail(err, SR_EPROTO,
			       "job channel: got a hello from %s where message %llu was expected (replayed)",
			       p->org_id, (unsigned long long)p->recv_seq);
	if (m[5] != TYPE_DATA && m[5] != TYPE_ABORT)
		return sr_fail(err, SR_EPROTO,
			       "job channel: message %llu from %s has unknown type %u",
			       (unsigned long long)p->recv_seq, p->org_id, m[5]);
	if (len < HDR_BYTES + SR_AEAD_ABYTES || m[6] != 0 || m[7] != 0)
		return sr_fail(err, SR_EPROTO,
			       "job channel: message %llu from %s is malformed (%zu bytes)",
			       (unsigned long long)p->recv_seq, p->org_id, len);
	h->type = m[5];
	h->seq = sr_load_u64le(m + 12);
	h->channel = sr_load_u32le(m + 8) ^ channel_mask(p->keys->mrecv, h->seq);
	h->total = sr_load_u32le(m + 20);
	h->offset = sr_load_u32le(m + 24);
	h->raw = m;
	h->ct = m + HDR_BYTES;
	h->ct_len = len - HDR_BYTES;
	if (h->seq < p->recv_seq)
		return sr_fail(err, SR_EPROTO,
			       "job channel: message %llu from %s was already received (replayed; delivered as seq %llu, expected message %llu)",
			       (unsigned long long)h->seq, p->org_id,
			       (unsigned long long)claimed, (unsigned long long)p->recv_seq);
	if (h->seq > p->recv_seq)
		return sr_fail(err, SR_EPROTO,
			       "job channel: message %llu from %s arrived while message %llu was expected (a message was dropped or reordered)",
			       (unsigned long long)h->seq, p->org_id,
			       (unsigned long long)p->recv_seq);
	return SR_OK;
}

/* AEAD-open h into out (ct_len - ABYTES bytes); on success the seq is used. */
static int open_sealed(struct sr_jobchan *ch, struct peer *p, const struct header *h,
		       uint8_t *out, struct sr_err *err)
{
	uint8_t ad[AD_MAX], nonce[SR_GCM_NONCEBYTES];
	size_t ad_len = ad_build(ad, ch, h->raw, p->org_id, ch->self_org);
	struct sr_err inner;
	int rc;

	nonce_of(nonce, p->recv_seq);
	sr_err_clear(&inner);
	rc = sr_gcm_open(out, h->ct, h->ct_len, ad, ad_len, nonce, p->keys->recv, &inner);
	if (rc == SR_ENOMEM)
		return sr_fail(err, rc, "job channel: %s", inner.msg);
	if (rc)
		return sr_fail(err, SR_ECRYPTO,
			       "job channel: message %llu from %s does not authenticate (altered, or not sealed by %s)",
			       (unsigned long long)p->recv_seq, p->org_id, p->org_id);
	p->recv_seq++;
	return SR_OK;
}

static int take_abort(struct sr_jobchan *ch, struct peer *p, const struct header *h,
		      struct sr_err *err)
{
	uint8_t reason[SR_JOBCHAN_REASON_MAX];
	char shown[SR_JOBCHAN_REASON_MAX + 1];
	size_t len = h->ct_len - SR_AEAD_ABYTES;
	int rc;

	if (len > SR_JOBCHAN_REASON_MAX)
		return sr_fail(err, SR_EPROTO,
			       "job channel: message %llu from %s is malformed (an abort of %zu bytes)",
			       (unsigned long long)p->recv_seq, p->org_id, len);
	rc = open_sealed(ch, p, h, reason, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < len; i++)
		shown[i] = reason[i] >= 0x20 && reason[i] < 0x7f ? (char)reason[i] : '?';
	shown[len] = '\0';
	return sr_fail(err, SR_EPROTO, "job channel: %s aborted the job channel: %s",
		       p->org_id, len ? shown : "(no reason given)");
}

static int recv_message(struct sr_jobchan *ch, struct peer *p, uint32_t channel,
			struct sr_buf *msg, size_t max_len, struct sr_err *err)
{
	size_t got = 0, total = 0;
	uint32_t msg_channel = 0;
	int first = 1, rc;

	if (max_len > SR_FRAME_MAX)
		max_len = SR_FRAME_MAX;
	for (;;) {
		struct header h;
		uint64_t claimed;
		size_t frag;

		rc = wait_message(ch, p, 0, &claimed, err);
		if (rc)
			return rc;
		rc = header_parse(p, claimed, &h, err);
		if (rc)
			return rc;
		if (h.type == TYPE_ABORT)
			return take_abort(ch, p, &h, err);
		frag = h.ct_len - SR_AEAD_ABYTES;
		if (first) {
			if (h.offset != 0)
				return sr_fail(err, SR_EPROTO,
					       "job channel: message %llu from %s continues a message that never began",
					       (unsigned long long)h.seq, p->org_id);
			if (h.total > max_len)
				return sr_fail(err, SR_ELIMIT,
					       "job channel: message %llu from %s is %u bytes, over the limit of %zu bytes",
					       (unsigned long long)h.seq, p->org_id, h.total, max_len);
			/* Senders cut messages into full fragments: a first
			 * fragment of any other size is not theirs.  Checking
			 * it before reserving total bytes means a forger must
			 * send a fragment-sized message to make us reserve. */
			if (frag != (h.total < SR_JOBCHAN_FRAGMENT_MAX ? h.total :
				     SR_JOBCHAN_FRAGMENT_MAX))
				return sr_fail(err, SR_EPROTO,
					       "job channel: message %llu from %s: a first fragment of %zu bytes for a message of %u bytes",
					       (unsigned long long)h.seq, p->org_id, frag, h.total);
			rc = sr_buf_grow(msg, h.total);
			if (rc == SR_ELIMIT)
				return sr_fail(err, SR_ELIMIT,
					       "job channel: message %llu from %s is %u bytes, over the buffer's limit of %zu bytes",
					       (unsigned long long)h.seq, p->org_id, h.total, msg->max);
			if (rc)
				return sr_fail(err, SR_ENOMEM,
					       "job channel: out of memory for a message of %u bytes",
					       h.total);
			total = h.total;
			msg_channel = h.channel;
		} else if (h.total != total || h.offset != got || h.channel != msg_channel) {
			return sr_fail(err, SR_EPROTO,
				       "job channel: message %llu from %s is not the next fragment (at %zu of %zu bytes, channel %u)",
				       (unsigned long long)h.seq, p->org_id, got, total, msg_channel);
		}
		if (frag > total - got || (frag == 0 && total != 0))
			return sr_fail(err, SR_EPROTO,
				       "job channel: message %llu from %s: a fragment of %zu bytes does not fit (at %zu of %zu bytes)",
				       (unsigned long long)h.seq, p->org_id, frag, got, total);
		rc = open_sealed(ch, p, &h, (uint8_t *)msg->data + got, err);
		if (rc)
			return rc;
		if (first && h.channel != channel)
			return sr_fail(err, SR_EPROTO,
				       "job channel: message %llu from %s is on channel %u, expected channel %u",
				       (unsigned long long)h.seq, p->org_id, h.channel, channel);
		first = 0;
		got += frag;
		sr_buf_setlen(msg, got);
		if (got == total)
			return SR_OK;
	}
}

/* Next message from a peer (jobchan.h). */
int sr_jobchan_recv(struct sr_jobchan *ch, const char *from_org, uint32_t channel,
		    struct sr_buf *msg, size_t max_len, struct sr_err *err)
{
	struct peer *p = find_peer(ch, from_org);
	struct sr_err inner;
	int rc;

	sr_buf_reset(msg);
	if (!p)
		return not_a_peer(ch, from_org, err);
	if (channel == SR_JOBCHAN_PATH_CHANNEL)
		return sr_fail(err, SR_EINVAL, "job channel: channel %u is reserved", channel);
	sr_err_clear(&inner);
	rc = recv_message(ch, p, channel, msg, max_len, &inner);
	if (rc) {
		sr_buf_reset(msg);
		mark_broken(ch, inner.msg);
		return pass(err, rc, &inner);
	}
	return SR_OK;
}

/* Best-effort ABORT to every peer, then broken (jobchan.h). */
void sr_jobchan_abort(struct sr_jobchan *ch, const char *reason)
{
	char why[SR_ERR_MSG_MAX];
	size_t len;

	if (!ch)
		return;
	if (!reason)
		reason = "";
	len = strlen(reason);
	if (len > SR_JOBCHAN_REASON_MAX)
		len = SR_JOBCHAN_REASON_MAX;
	snprintf(why, sizeof(why), "job channel: closed by this node: %s", reason);
	mark_broken(ch, why);
	for (size_t i = 0; i < ch->npeers; i++) {
		struct peer *p = &ch->peers[i];
		pthread_mutex_lock(&p->send_lock);
		(void)post_sealed(ch, p, TYPE_ABORT, 0, (uint32_t)len, 0,
				  (const uint8_t *)reason, len, NULL);
		pthread_mutex_unlock(&p->send_lock);
	}
}

int sr_jobchan_flush(struct sr_jobchan *ch, struct sr_err *err)
{
	struct sr_err inner;
	int rc;

	if (atomic_load(&ch->broken))
		return broken_fail(ch, err);
	if (!ch->ops.flush)
		return SR_OK;
	sr_err_clear(&inner);
	rc = ch->ops.flush(ch->ops.ctx, NULL, ch->timeout_ms, &inner);
	if (rc) {
		char why[SR_ERR_MSG_MAX];
		snprintf(why, sizeof(why), "job channel: posting: %.200s",
			 inner.msg[0] ? inner.msg : sr_strerror(rc));
		mark_broken(ch, why);
		return sr_fail(err, rc, "%s", why);
	}
	return SR_OK;
}

void sr_jobchan_session_id(const struct sr_jobchan *ch,
			   uint8_t out[SR_JOBCHAN_SID_BYTES])
{
	memcpy(out, ch->sid, SR_JOBCHAN_SID_BYTES);
}

void sr_jobchan_bytes(const struct sr_jobchan *ch, uint64_t *sent,
		      uint64_t *received)
{
	*sent = atomic_load(&ch->bytes_sent);
	*received = atomic_load(&ch->bytes_received);
}

/* ---- sr_pipe adapter --------------------------------------------------------- */

static int pipe_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	struct sr_jobchan_pipe_link *l = ctx;

	return sr_jobchan_send(l->ch, l->peer_org, l->channel, msg, len, err);
}

static int pipe_recv(void *ctx, struct sr_buf *msg, size_t max_len,
		    struct sr_err *err)
{
	struct sr_jobchan_pipe_link *l = ctx;

	return sr_jobchan_recv(l->ch, l->peer_org, l->channel, msg, max_len, err);
}

int sr_jobchan_pipe(struct sr_jobchan *ch, const char *peer_org,
		      uint32_t channel, struct sr_jobchan_pipe_link *link,
		      struct sr_pipe *io, struct sr_err *err)
{
	struct peer *p = find_peer(ch, peer_org);

	if (!p)
		return not_a_peer(ch, peer_org, err);
	link->ch = ch;
	memcpy(link->peer_org, p->org_id, sizeof(link->peer_org));
	link->channel = channel;
	io->ctx = link;
	io->send = pipe_send;
	io->recv = pipe_recv;
	return SR_OK;
}

/* Wipes the keys (sodium_free zeroes; the memzero says so). */
void sr_jobchan_free(struct sr_jobchan *ch)
{
	if (!ch)
		return;
	/* What was sent (an ABORT included) should reach the mailbox. */
	if (ch->ops.flush && ch->npeers > 0)
		(void)ch->ops.flush(ch->ops.ctx, NULL, ch->timeout_ms, NULL);
	if (ch->peers) {
		for (size_t i = 0; i < ch->npeers; i++) {
			struct peer *q = &ch->peers[i];
			if (q->out_fd >= 0)
				close(q->out_fd);
			if (q->in_fd >= 0)
				close(q->in_fd);
			if (ch->self_addr[0])
				sr_direct_cancel(ch->direct, ch->job_id, q->org_id, ch->self_org);
			sr_buf_release(&q->out);
			sr_buf_release(&q->in);
		}
		for (size_t i = 0; i < ch->nlocks; i++)
			pthread_mutex_destroy(&ch->peers[i].send_lock);
		sodium_memzero(ch->peers, ch->npeers * sizeof(*ch->peers));
		sr_free(ch->peers);
	}
	if (ch->keys) {
		sodium_memzero(ch->keys, ch->npeers * sizeof(*ch->keys));
		sodium_free(ch->keys);
	}
	pthread_mutex_destroy(&ch->lock);
	sodium_memzero(ch, sizeof(*ch));
	sr_free(ch);
}
