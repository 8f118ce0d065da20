/*
 * err.h - status codes and the error buffer used by every sealroom module.
 *
 * Functions return an int status (SR_OK or a negative SR_E* code) and, when
 * given a struct sr_err, fill it with a one-line message that names the object
 * and says what was expected.  The enum only grows; codes are never renumbered.
 */
#ifndef SR_ERR_H
#define SR_ERR_H

#include <stddef.h>

#define SR_WUR __attribute__((warn_unused_result))

enum sr_status {
	SR_OK = 0,
	SR_EINVAL = -1,     /* bad argument or malformed input */
	SR_ENOMEM = -2,     /* allocation failed */
	SR_EIO = -3,        /* operating-system I/O error */
	SR_ECRYPTO = -4,    /* authentication or key failure */
	SR_EPOLICY = -5,    /* refused by a policy */
	SR_ENOTFOUND = -6,  /* named object does not exist */
	SR_EEXIST = -7,     /* named object already exists */
	SR_ELIMIT = -8,     /* input exceeds a limit in limits.h */
	SR_ECORRUPT = -9,   /* stored data failed an integrity check */
	SR_EPROTO = -10,    /* protocol violation by a peer */
	SR_EPERM = -11,     /* caller lacks the right */
	SR_EBUSY = -12,     /* resource locked by someone else */
	SR_EINTERNAL = -13, /* bug or unexpected library failure */
	SR_EUSAGE = -14,    /* command-line usage error */
	SR_ETIMEOUT = -15,  /* deadline passed */
	SR_ECANCELED = -16, /* stopped on request (sr_http_client_wakeup) */
	SR_ENOSPC = -17,    /* the disk is below its free-space floor */
	SR_ERATE = -18,     /* too many requests for a quota per minute */
};

#define SR_ERR_MSG_MAX 256

struct sr_err {
	int code;
	char msg[SR_ERR_MSG_MAX];
};

/* Reset an error buffer to SR_OK with an empty message. err may be NULL. */
void sr_err_clear(struct sr_err *err);

/*
 * Record a failure and return code, so callers can write
 *     return sr_fail(err, SR_EINVAL, "line %zu: expected %d fields", ...);
 * err may be NULL, in which case only the code is returned.  The first
 * failure wins: a message (and code) already in err is kept, so the
 * innermost, most precise reason reaches the user; the return value is
 * always code.  Clear err (sr_err_clear) before reusing it for an
 * independent call, or use sr_failx() to overwrite.
 */
int sr_fail(struct sr_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like sr_fail, but always replaces the message. */
int sr_failx(struct sr_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Prefix the existing message with "PREFIX: ", keeping the code.  Returns the
 * code in err (or SR_EINTERNAL if err carries none).
 */
int sr_err_prefix(struct sr_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Static description of a status code. */
const char *sr_strerror(int code);

/* Abort with file and line: for broken invariants only, never for input. */
#define SR_BUG(msg) sr_bug_(__FILE__, __LINE__, (msg))
void sr_bug_(const char *file, int line, const char *msg)
	__attribute__((noreturn));

#endif
