/*
 * log.h: one line per event.
 *
 *   2026-11-26T12:00:00Z st-account[1234] WARN req=<request id> file.c:42: message
 *
 * Messages never carry secrets, signatures or request bodies: callers pass
 * names, ids and sizes only. The request id is set by the responder loop for
 * the duration of one request, so every line of that request carries it.
 */
#ifndef ST_LOG_H
#define ST_LOG_H

#include "conf.h"

/*
 * Start logging for program prog (static string) to file path (NULL or "":
 * stderr) at the given minimum level. Opening failure falls back to stderr
 * and returns -1; the program may go on.
 */
int	 log_init(const char *prog, const char *path, enum conf_log_level level);

/* Request id carried by every following line; NULL clears it. */
void	 log_set_request_id(const char *id);

void	 log_msg(enum conf_log_level level, const char *file, int line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(...)	log_msg(CONF_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)	log_msg(CONF_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)	log_msg(CONF_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...)	log_msg(CONF_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#endif
