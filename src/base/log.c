#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/banned.h"

static atomic_int log_level = SR_LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void sr_log_set_level(enum sr_log_level level)
{
	atomic_store(&log_level, level);
}

int sr_log_parse_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void sr_log_init_from_env(void)
{
	const char *env = getenv("SEALROOM_LOG");
	int level;

	if (!env || !*env)
		return;
	level = sr_log_parse_level(env);
	if (level < 0) {
		fprintf(stderr, "sealroom: warning: SEALROOM_LOG=%s is not one of error, warn, info, debug; using warn\n", env);
		return;
	}
	sr_log_set_level((enum sr_log_level)level);
}

int sr_log_enabled(enum sr_log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

void sr_log(enum sr_log_level level, const char *fmt, ...)
{
	char stamp[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (!sr_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s sealroom %s: ", stamp, level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}
