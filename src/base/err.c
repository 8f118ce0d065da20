#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

void sr_err_clear(struct sr_err *err)
{
	if (!err)
		return;
	err->code = SR_OK;
	err->msg[0] = '\0';
}

static int vfail(struct sr_err *err, int code, int overwrite,
		 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static int vfail(struct sr_err *err, int code, int overwrite,
		 const char *fmt, va_list ap)
{
	if (!err)
		return code;
	/* The first, innermost message is the most precise: keep it, but
	 * always return the code this caller asked for. */
	if (!overwrite && err->code != SR_OK && err->msg[0])
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

int sr_fail(struct sr_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	code = vfail(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int sr_failx(struct sr_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	code = vfail(err, code, 1, fmt, ap);
	va_end(ap);
	return code;
}

int sr_err_prefix(struct sr_err *err, const char *fmt, ...)
{
	char prefix[SR_ERR_MSG_MAX];
	char old[SR_ERR_MSG_MAX];
	size_t n;
	va_list ap;

	if (!err)
		return SR_EINTERNAL;
	if (err->code == SR_OK)
		err->code = SR_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is acceptable: the message is for people. */
	n = strlen(prefix);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	n += 2;
	{
		size_t rest = strnlen(old, sizeof(old) - 1);
		if (rest > sizeof(err->msg) - 1 - n)
			rest = sizeof(err->msg) - 1 - n;
		memcpy(err->msg + n, old, rest);
		err->msg[n + rest] = '\0';
	}
	return err->code;
}

const char *sr_strerror(int code)
{
	switch (code) {
	case SR_OK: return "success";
	case SR_EINVAL: return "invalid input";
	case SR_ENOMEM: return "out of memory";
	case SR_EIO: return "i/o error";
	case SR_ECRYPTO: return "cryptographic check failed";
	case SR_EPOLICY: return "refused by policy";
	case SR_ENOTFOUND: return "not found";
	case SR_EEXIST: return "already exists";
	case SR_ELIMIT: return "limit exceeded";
	case SR_ECORRUPT: return "stored data is corrupt";
	case SR_EPROTO: return "protocol violation";
	case SR_EPERM: return "permission denied";
	case SR_EBUSY: return "resource busy";
	case SR_EINTERNAL: return "internal error";
	case SR_EUSAGE: return "usage error";
	case SR_ETIMEOUT: return "timed out";
	case SR_ECANCELED: return "canceled";
	case SR_ENOSPC: return "no space left";
	case SR_ERATE: return "rate limited";
	}
	return "unknown status";
}

void sr_bug_(const char *file, int line, const char *msg)
{
	fprintf(stderr, "sealroom: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}
