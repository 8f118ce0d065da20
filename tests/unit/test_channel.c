/*
 * test_channel.c - the authenticated, encrypted channel (src/net/channel.c):
 * handshake between configured peers, refusal of unknown peers, and
 * rejection of altered, dropped, replayed, reordered and truncated frames,
 * by a relay thread in the middle that tampers with the N-th frame.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "net/channel.h"
#include "net/tcp.h"
#include "psi/psi.h"

static struct sr_identity ida, idb, idc;

struct side {
	int fd;
	enum sr_channel_role role;
	const struct sr_identity *self;
	const uint8_t *peer_pk;
	int timeout_ms;
	struct sr_channel *ch;
	int rc;
	struct sr_err err;
	pthread_t thread;
};

static void *handshake_main(void *arg)
{
	struct side *s = arg;

	sr_err_clear(&s->err);
	s->rc = sr_channel_handshake(s->fd, s->role, s->self, s->peer_pk,
				     s->timeout_ms, &s->ch, &s->err);
	return NULL;
}

static void side_init(struct side *s, int fd, enum sr_channel_role role,
		      const struct sr_identity *self, const uint8_t *peer_pk)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->role = role;
	s->self = self;
	s->peer_pk = peer_pk;
	s->timeout_ms = 5000;
}

static void run_handshakes(struct side *a, struct side *b)
{
	assert_int_equal(pthread_create(&a->thread, NULL, handshake_main, a), 0);
	assert_int_equal(pthread_create(&b->thread, NULL, handshake_main, b), 0);
	pthread_join(a->thread, NULL);
	pthread_join(b->thread, NULL);
}

/* ---- a tampering relay ---------------------------------------------------- */

enum tamper { T_NONE, T_FLIP, T_DROP, T_REPLAY, T_SWAP, T_TRUNCATE };

struct relay_dir {
	int from, to;
	size_t at;
	enum tamper kind;
	size_t flip_offset;    /* in the frame body; SIZE_MAX = last byte */
	pthread_t thread;
};

static int read_frame(int fd, uint8_t **body, uint32_t *len)
{
	uint8_t head[4];

	if (sr_tcp_read_all(fd, head, 4, NULL, NULL) != SR_OK)
		return -1;
	*len = sr_load_u32le(head);
	*body = malloc(*len + 4);
	assert_non_null(*body);
	memcpy(*body, head, 4);
	if (sr_tcp_read_all(fd, *body + 4, *len, NULL, NULL) != SR_OK) {
		free(*body);
		return -1;
	}
	return 0;
}

/* Forward bytes; a closed side just ends the relay. */
static void put(int fd, const void *data, size_t len, struct sr_err *err)
{
	if (sr_tcp_write_all(fd, data, len, err) != SR_OK)
		return;
}

static void *relay_main(void *arg)
{
	struct relay_dir *d = arg;
	uint8_t *held = NULL;
	uint32_t held_len = 0;

	for (size_t i = 0;; i++) {
		uint8_t *f;
		uint32_t len;
		if (read_frame(d->from, &f, &len) != 0)
			break;
		if (d->kind != T_NONE && i == d->at) {
			switch (d->kind) {
			case T_FLIP:
				f[4 + (d->flip_offset == SIZE_MAX ? len - 1 : d->flip_offset)] ^= 1;
				break;
			case T_DROP:
				free(f);
				continue;
			case T_REPLAY:
				put(d->to, f, 4 + len, NULL);
				break;
			case T_SWAP:
				held = f;
				held_len = len;
				continue;
			case T_TRUNCATE:
				put(d->to, f, 4 + len / 2, NULL);
				free(f);
				goto done;
			default:
				break;
			}
		}
		put(d->to, f, 4 + len, NULL);
		free(f);
		if (held) {
			put(d->to, held, 4 + held_len, NULL);
			free(held);
			held = NULL;
		}
	}
done:
	free(held);
	shutdown(d->to, SHUT_WR);
	return NULL;
}

struct relay {
	int a[2], b[2];    /* a[0]: A's socket; b[0]: B's socket */
	struct relay_dir ab, ba;
};

static void relay_start(struct relay *r)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, r->a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, r->b), 0);
	r->ab.from = r->a[1];
	r->ab.to = r->b[1];
	r->ba.from = r->b[1];
	r->ba.to = r->a[1];
	assert_int_equal(pthread_create(&r->ab.thread, NULL, relay_main, &r->ab), 0);
	assert_int_equal(pthread_create(&r->ba.thread, NULL, relay_main, &r->ba), 0);
}

static void relay_stop(struct relay *r)
{
	pthread_join(r->ab.thread, NULL);
	pthread_join(r->ba.thread, NULL);
	close(r->a[1]);
	close(r->b[1]);
}

/* A (initiator) and B (responder) through a relay; kinds apply to the
 * direction given. */
static void connect_via(struct relay *r, struct side *a, struct side *b,
			const uint8_t *a_expects, const uint8_t *b_expects)
{
	relay_start(r);
	side_init(a, r->a[0], SR_CHANNEL_INITIATOR, &ida, a_expects);
	side_init(b, r->b[0], SR_CHANNEL_RESPONDER, &idb, b_expects);
	run_handshakes(a, b);
}

static void close_both(struct relay *r, struct side *a, struct side *b)
{
	if (a->ch)
		sr_channel_shutdown(a->ch);
	if (b->ch)
		sr_channel_shutdown(b->ch);
	relay_stop(r);
	sr_channel_free(a->ch);
	sr_channel_free(b->ch);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	struct relay r;
	struct side a, b;
	uint8_t sa[SR_CHANNEL_SID_BYTES], sb[SR_CHANNEL_SID_BYTES];
	struct sr_buf msg;
	struct sr_err err;
	uint8_t *big = malloc(1u << 20);
	uint64_t sent, received, sent2, received2;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < (1u << 20); i++)
		big[i] = (uint8_t)(i * 7);
	memset(&r, 0, sizeof(r));
	connect_via(&r, &a, &b, idb.sign_pk, ida.sign_pk);
	if (a.rc || b.rc)
		fail_msg("handshake: %s / %s", a.err.msg, b.err.msg);
	assert_string_equal(sr_channel_peer_org_id(a.ch), idb.org_id);
	assert_string_equal(sr_channel_peer_org_id(b.ch), ida.org_id);
	sr_channel_session_id(a.ch, sa);
	sr_channel_session_id(b.ch, sb);
	assert_memory_equal(sa, sb, sizeof(sa));
	sr_buf_init(&msg, 0);
	sr_err_clear(&err);
	assert_int_equal(sr_channel_send(a.ch, (const uint8_t *)"hello", 5, &err), SR_OK);
	assert_int_equal(sr_channel_send(a.ch, NULL, 0, &err), SR_OK);
	assert_int_equal(sr_channel_send(a.ch, big, 1u << 20, &err), SR_OK);
	assert_int_equal(sr_channel_recv(b.ch, &msg, 100, &err), SR_OK);
	assert_int_equal(msg.len, 5);
	assert_memory_equal(msg.data, "hello", 5);
	assert_int_equal(sr_channel_recv(b.ch, &msg, 100, &err), SR_OK);
	assert_int_equal(msg.len, 0);
	assert_int_equal(sr_channel_recv(b.ch, &msg, 1u << 20, &err), SR_OK);
	assert_int_equal(msg.len, 1u << 20);
	assert_memory_equal(msg.data, big, 1u << 20);
	assert_int_equal(sr_channel_send(b.ch, (const uint8_t *)"back", 4, &err), SR_OK);
	assert_int_equal(sr_channel_recv(a.ch, &msg, 4, &err), SR_OK);
	assert_memory_equal(msg.data, "back", 4);
	sr_channel_bytes(a.ch, &sent, &received);
	sr_channel_bytes(b.ch, &sent2, &received2);
	assert_int_equal(sent, received2);
	assert_int_equal(received, sent2);
	/* A message over the receiver's limit is refused before it is read. */
	assert_int_equal(sr_channel_send(a.ch, big, 1000, &err), SR_OK);
	assert_int_equal(sr_channel_recv(b.ch, &msg, 999, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "over the limit"));
	sr_buf_release(&msg);
	close_both(&r, &a, &b);
	free(big);
}

static void test_unknown_peer(void **state)
{
	struct relay r;
	struct side a, b;

	(void)state;
	/* B accepts only C. */
	memset(&r, 0, sizeof(r));
	connect_via(&r, &a, &b, idb.sign_pk, idc.sign_pk);
	assert_int_equal(b.rc, SR_EPERM);
	assert_non_null(strstr(b.err.msg, "refused a connection from"));
	assert_non_null(strstr(b.err.msg, ida.org_id));
	assert_non_null(strstr(b.err.msg, idc.org_id));
	assert_int_equal(a.rc, SR_EPERM);
	assert_non_null(strstr(a.err.msg, "does not accept our identity"));
	assert_null(a.ch);
	assert_null(b.ch);
	close_both(&r, &a, &b);

	/* A expects C as the server. */
	memset(&r, 0, sizeof(r));
	connect_via(&r, &a, &b, idc.sign_pk, ida.sign_pk);
	assert_int_equal(a.rc, SR_EPERM);
	assert_non_null(strstr(a.err.msg, "not the configured peer"));
	assert_int_equal(b.rc, SR_EPERM);
	assert_non_null(strstr(b.err.msg, "does not accept our identity"));
	close_both(&r, &a, &b);
}

struct tamper_case {
	const char *name;
	int b_to_a;          /* direction */
	size_t at;           /* frame index in that direction (handshake included) */
	enum tamper kind;
	size_t offset;
	int handshake_fails;
	char victim;         /* 'a' or 'b': who must detect it */
	int want_rc;
	const char *want_msg;
};

/*
 * Frames A->B: 0 INIT, 1 FINISH, 2.. data.  B->A: 0 RESP, 1.. data.
 */
static const struct tamper_case cases[] = {
	{ "init identity", 0, 0, T_FLIP, 8, 1, 'b', SR_EPERM, "refused" },
	{ "init ephemeral", 0, 0, T_FLIP, 40, 1, 'a', SR_ECRYPTO, "signature" },
	{ "resp signature", 1, 0, T_FLIP, SIZE_MAX, 1, 'a', SR_ECRYPTO, "signature" },
	{ "resp magic", 1, 0, T_FLIP, 0, 1, 'a', SR_EPROTO, "not a sealroom" },
	{ "finish signature", 0, 1, T_FLIP, SIZE_MAX, 1, 'b', SR_ECRYPTO, "signature" },
	{ "data flipped", 0, 3, T_FLIP, SIZE_MAX, 0, 'b', SR_ECRYPTO, "does not authenticate" },
	{ "data dropped", 0, 3, T_DROP, 0, 0, 'b', SR_ECRYPTO, "does not authenticate" },
	{ "data replayed", 0, 3, T_REPLAY, 0, 0, 'b', SR_ECRYPTO, "does not authenticate" },
	{ "data reordered", 0, 2, T_SWAP, 0, 0, 'b', SR_ECRYPTO, "does not authenticate" },
	{ "data truncated", 0, 3, T_TRUNCATE, 0, 0, 'b', SR_EPROTO, "closed" },
	{ "back flipped", 1, 2, T_FLIP, SIZE_MAX, 0, 'a', SR_ECRYPTO, "does not authenticate" },
};

static void test_tampering(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		const struct tamper_case *tc = &cases[c];
		struct relay r;
		struct side a, b;
		struct sr_buf msg;
		struct sr_err err;
		int rc = SR_OK;

		memset(&r, 0, sizeof(r));
		if (tc->b_to_a) {
			r.ba.kind = tc->kind;
			r.ba.at = tc->at;
			r.ba.flip_offset = tc->offset;
		} else {
			r.ab.kind = tc->kind;
			r.ab.at = tc->at;
			r.ab.flip_offset = tc->offset;
		}
		connect_via(&r, &a, &b, idb.sign_pk, ida.sign_pk);
		sr_buf_init(&msg, 0);
		sr_err_clear(&err);
		if (tc->handshake_fails) {
			struct side *victim = tc->victim == 'a' ? &a : &b;
			if (victim->rc != tc->want_rc)
				fail_msg("%s: handshake status %d (%s), expected %d", tc->name,
					 victim->rc, victim->err.msg, tc->want_rc);
			if (!strstr(victim->err.msg, tc->want_msg))
				fail_msg("%s: '%s' lacks '%s'", tc->name, victim->err.msg,
					 tc->want_msg);
			assert_null(victim->ch);
		} else {
			struct sr_channel *from, *to;
			if (a.rc || b.rc)
				fail_msg("%s: handshake failed: %s / %s", tc->name,
					 a.err.msg, b.err.msg);
			from = tc->b_to_a ? b.ch : a.ch;
			to = tc->b_to_a ? a.ch : b.ch;
			/* B->A data starts at frame 1, A->B at 2: send enough. */
			for (int i = 0; i < 4; i++) {
				char text[16];
				snprintf(text, sizeof(text), "message %d", i);
				assert_int_equal(sr_channel_send(from, (const uint8_t *)text,
								 strlen(text), &err), SR_OK);
			}
			for (int i = 0; i < 4 && rc == SR_OK; i++)
				rc = sr_channel_recv(to, &msg, 100, &err);
			if (rc != tc->want_rc)
				fail_msg("%s: status %d (%s), expected %d", tc->name, rc,
					 err.msg, tc->want_rc);
			if (!strstr(err.msg, tc->want_msg))
				fail_msg("%s: '%s' lacks '%s'", tc->name, err.msg, tc->want_msg);
			/* Broken for good. */
			assert_int_not_equal(sr_channel_recv(to, &msg, 100, &err), SR_OK);
		}
		sr_buf_release(&msg);
		close_both(&r, &a, &b);
	}
}

static void test_timeout_and_garbage(void **state)
{
	int sv[2];
	struct side a, b;
	struct sr_buf msg;
	struct sr_err err;
	static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	(void)state;
	/* A silent peer: the handshake times out. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	side_init(&b, sv[0], SR_CHANNEL_RESPONDER, &idb, ida.sign_pk);
	b.timeout_ms = 200;
	handshake_main(&b);
	assert_int_equal(b.rc, SR_ETIMEOUT);
	close(sv[1]);

	/* Not a sealroom peer. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(sr_tcp_write_all(sv[1], junk, sizeof(junk) - 1, NULL), SR_OK);
	side_init(&b, sv[0], SR_CHANNEL_RESPONDER, &idb, ida.sign_pk);
	handshake_main(&b);
	assert_int_equal(b.rc, SR_EPROTO);
	close(sv[1]);

	/* A peer that goes quiet after the handshake. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	side_init(&a, sv[0], SR_CHANNEL_INITIATOR, &ida, idb.sign_pk);
	side_init(&b, sv[1], SR_CHANNEL_RESPONDER, &idb, ida.sign_pk);
	a.timeout_ms = 200;
	run_handshakes(&a, &b);
	assert_int_equal(a.rc, SR_OK);
	assert_int_equal(b.rc, SR_OK);
	sr_buf_init(&msg, 0);
	sr_err_clear(&err);
	assert_int_equal(sr_channel_recv(a.ch, &msg, 100, &err), SR_ETIMEOUT);
	/* An oversized send is refused. */
	sr_err_clear(&err);
	{
		uint8_t *huge = calloc(1, (size_t)SR_FRAME_MAX + 1);
		assert_non_null(huge);
		assert_int_equal(sr_channel_send(b.ch, huge, (size_t)SR_FRAME_MAX + 1, &err),
				 SR_ELIMIT);
		free(huge);
	}
	/* The peer closing is end of stream, not a crash. */
	sr_channel_free(b.ch);
	sr_err_clear(&err);
	sr_buf_release(&msg);
	sr_channel_free(a.ch);
}

/* ---- PSI over the channel -------------------------------------------------- */

struct psi_side {
	struct sr_channel *ch;
	enum sr_psi_role role;
	struct sr_psi_key *keys;
	size_t n;
	uint8_t sid[SR_CHANNEL_SID_BYTES];
	struct sr_psi_result res;
	int rc;
	struct sr_err err;
	pthread_t thread;
};

static int ch_send(void *ctx, const uint8_t *msg, size_t len, struct sr_err *err)
{
	return sr_channel_send(ctx, msg, len, err);
}

static int ch_recv(void *ctx, struct sr_buf *msg, size_t max, struct sr_err *err)
{
	return sr_channel_recv(ctx, msg, max, err);
}

static void *psi_main(void *arg)
{
	struct psi_side *s = arg;
	struct sr_psi_params p;
	struct sr_psi_source src;
	struct sr_psi_array arr;
	struct sr_pipe io = { s->ch, ch_send, ch_recv };

	sr_psi_params_init(&p);
	p.session_id = s->sid;
	p.session_id_len = sizeof(s->sid);
	p.output = SR_PSI_TO_BOTH;
	p.batch = 64;
	sr_psi_source_array(&src, &arr, s->keys, s->n);
	sr_err_clear(&s->err);
	s->rc = sr_psi_run(s->role, &p, &src, &io, &s->res, &s->err);
	if (s->rc)
		sr_channel_shutdown(s->ch);
	return NULL;
}

static void test_psi_over_channel(void **state)
{
	int sv[2];
	struct side a, b;
	struct psi_side pr, ps;
	char (*ka)[16] = calloc(300, 16), (*kb)[16] = calloc(200, 16);
	struct sr_psi_key *keys_a = calloc(300, sizeof(*keys_a));
	struct sr_psi_key *keys_b = calloc(200, sizeof(*keys_b));

	(void)state;
	assert_non_null(ka);
	assert_non_null(kb);
	assert_non_null(keys_a);
	assert_non_null(keys_b);
	for (int i = 0; i < 300; i++) {
		snprintf(ka[i], 16, "k%d", i);            /* k0..k299 */
		keys_a[i].data = ka[i];
		keys_a[i].len = strlen(ka[i]);
		keys_a[i].row = (uint64_t)i;
	}
	for (int i = 0; i < 200; i++) {
		snprintf(kb[i], 16, "k%d", 200 + i);      /* k200..k399 */
		keys_b[i].data = kb[i];
		keys_b[i].len = strlen(kb[i]);
		keys_b[i].row = (uint64_t)i;
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	side_init(&a, sv[0], SR_CHANNEL_INITIATOR, &ida, idb.sign_pk);
	side_init(&b, sv[1], SR_CHANNEL_RESPONDER, &idb, ida.sign_pk);
	run_handshakes(&a, &b);
	assert_int_equal(a.rc, SR_OK);
	assert_int_equal(b.rc, SR_OK);
	memset(&pr, 0, sizeof(pr));
	memset(&ps, 0, sizeof(ps));
	pr.ch = a.ch;
	pr.role = SR_PSI_RECEIVER;
	pr.keys = keys_a;
	pr.n = 300;
	ps.ch = b.ch;
	ps.role = SR_PSI_SENDER;
	ps.keys = keys_b;
	ps.n = 200;
	sr_channel_session_id(a.ch, pr.sid);
	sr_channel_session_id(b.ch, ps.sid);
	pthread_create(&pr.thread, NULL, psi_main, &pr);
	pthread_create(&ps.thread, NULL, psi_main, &ps);
	pthread_join(pr.thread, NULL);
	pthread_join(ps.thread, NULL);
	if (pr.rc || ps.rc)
		fail_msg("psi: %s / %s", pr.err.msg, ps.err.msg);
	assert_int_equal(pr.res.rows_len, 100);
	assert_int_equal(ps.res.rows_len, 100);
	for (size_t i = 0; i < 100; i++) {
		assert_true(pr.res.rows[i] >= 200);
		assert_string_equal(ka[pr.res.rows[i]], kb[ps.res.rows[i]]);
	}
	sr_psi_result_release(&pr.res);
	sr_psi_result_release(&ps.res);
	sr_channel_free(a.ch);
	sr_channel_free(b.ch);
	free(ka);
	free(kb);
	free(keys_a);
	free(keys_b);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_crypto_init(), SR_OK);
	sr_identity_init(&ida);
	sr_identity_init(&idb);
	sr_identity_init(&idc);
	assert_int_equal(sr_identity_generate(&ida, NULL), SR_OK);
	assert_int_equal(sr_identity_generate(&idb, NULL), SR_OK);
	assert_int_equal(sr_identity_generate(&idc, NULL), SR_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_identity_release(&ida);
	sr_identity_release(&idb);
	sr_identity_release(&idc);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_unknown_peer),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_timeout_and_garbage),
		cmocka_unit_test(test_psi_over_channel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
