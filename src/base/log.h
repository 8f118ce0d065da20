/*
 * log.h - leveled logging to stderr.
 *
 * Never pass secrets, key material or row data to these functions: log
 * object names, sizes, counts and hashes only.  The level comes from
 * sr_log_set_level() or the SEALROOM_LOG environment variable
 * (error|warn|info|debug); the default is warn.
 */
#ifndef SR_LOG_H
#define SR_LOG_H

enum sr_log_level {
	SR_LOG_ERROR = 0,
	SR_LOG_WARN = 1,
	SR_LOG_INFO = 2,
	SR_LOG_DEBUG = 3,
};

void sr_log_set_level(enum sr_log_level level);
/* Parse "error", "warn", "info" or "debug"; returns -1 if unknown. */
int sr_log_parse_level(const char *name);
/* Read SEALROOM_LOG if set. */
void sr_log_init_from_env(void);
int sr_log_enabled(enum sr_log_level level);
void sr_log(enum sr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define sr_log_error(...) sr_log(SR_LOG_ERROR, __VA_ARGS__)
#define sr_log_warn(...) sr_log(SR_LOG_WARN, __VA_ARGS__)
#define sr_log_info(...) sr_log(SR_LOG_INFO, __VA_ARGS__)
#define sr_log_debug(...) sr_log(SR_LOG_DEBUG, __VA_ARGS__)

#endif
