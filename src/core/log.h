/* log.h - leveled logging to stderr in a form journald and log shippers read well:
 * "botscope[component]: level: message" (plain, one line), or logfmt when BS_LOG_FORMAT=logfmt.
 * The log level is process configuration set once by main() before threads start; logging
 * itself is thread-safe (one write(2) per line). Decoders never log: they return statuses.
 */
#ifndef BS_CORE_LOG_H
#define BS_CORE_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Called by main() only, before any thread starts. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(comp, ...)   log_msg(LOG_ERR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)

#endif
