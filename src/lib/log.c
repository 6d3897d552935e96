/*
 * log.c: one line per event, written with a single write(2).
 *
 * Several responder processes share one log file; each line is assembled in
 * a buffer and written in one call to a descriptor opened with O_APPEND, so
 * lines never interleave. Control bytes and backslashes in the message are
 * escaped as \xNN, so a message can neither split a line nor forge one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	4096	/* whole line, newline included */
#define LOG_MSG_MAX	2048	/* formatted message before escaping */
#define LOG_ID_MAX	64

static const char *const level_names[] = {
	"DEBUG",	/* CONF_LOG_DEBUG */
	"INFO",		/* CONF_LOG_INFO */
	"WARN",		/* CONF_LOG_WARN */
	"ERROR",	/* CONF_LOG_ERROR */
};

static const char		*log_prog = "singularity";
static int			 log_fd = STDERR_FILENO;
static enum conf_log_level	 log_level = CONF_LOG_INFO;
static char			 log_reqid[LOG_ID_MAX + 1];

/*
 * Open path for appending (created 0640), replacing any earlier log file.
 * Returns 0; on failure logging goes to stderr, a WARN line says why and
 * the return is -1.
 */
int
log_init(const char *prog, const char *path, enum conf_log_level level)
{
	int	 fd, saved;

	if (prog != NULL)
		log_prog = prog;
	if (level >= CONF_LOG_DEBUG && level <= CONF_LOG_ERROR)
		log_level = level;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	if (path == NULL || *path == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0640);
	if (fd == -1) {
		saved = errno;
		log_msg(CONF_LOG_WARN, __FILE__, __LINE__,
		    "cannot open log file %s: %s; logging to stderr",
		    path, strerror(saved));
		errno = saved;
		return -1;
	}
	log_fd = fd;
	return 0;
}

/* Copy the request id (at most LOG_ID_MAX bytes); NULL clears it. */
void
log_set_request_id(const char *id)
{
	if (id == NULL)
		log_reqid[0] = '\0';
	else
		snprintf(log_reqid, sizeof(log_reqid), "%s", id);
}

/*
 * Append s to buf (capacity cap, length *len), escaping control bytes, DEL
 * and backslash as \xNN. Stops before a byte that would not fit in full;
 * returns 0 when all of s fit, -1 when it was cut.
 */
static int
append_escaped(char *buf, size_t cap, size_t *len, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '\\') {
			if (*len + 4 > cap)
				return -1;
			buf[(*len)++] = '\\';
			buf[(*len)++] = 'x';
			buf[(*len)++] = hex[c >> 4];
			buf[(*len)++] = hex[c & 0x0f];
		} else {
			if (*len + 1 > cap)
				return -1;
			buf[(*len)++] = (char)c;
		}
	}
	return 0;
}

/*
 * Format and write one line when level passes the filter. Never fails
 * visibly and leaves errno as it found it, so callers may log between a
 * failing call and their use of errno.
 */
void
log_msg(enum conf_log_level level, const char *file, int line,
    const char *fmt, ...)
{
	char		 line_buf[LOG_LINE_MAX], msg[LOG_MSG_MAX];
	char		 stamp[sizeof("YYYY-MM-DDTHH:MM:SSZ")];
	const char	*base, *lvl;
	struct tm	 tm;
	time_t		 now;
	va_list		 ap;
	size_t		 len, cap;
	ssize_t		 w;
	int		 n, saved = errno;

	if (level < log_level)
		goto out;
	lvl = (level >= CONF_LOG_DEBUG && level <= CONF_LOG_ERROR) ?
	    level_names[level] : "ERROR";

	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "-");

	/* Source paths are absolute in out-of-tree builds: keep the name. */
	base = file == NULL ? "?" : strrchr(file, '/');
	base = base == NULL ? file : base + 1;

	n = snprintf(line_buf, sizeof(line_buf), "%s %s[%ld] %s req=",
	    stamp, log_prog, (long)getpid(), lvl);
	if (n < 0)
		goto out;
	len = (size_t)n;
	/* Reserve room for the cut marker "..." and the newline. */
	cap = sizeof(line_buf) - 4;
	if (append_escaped(line_buf, cap, &len,
	    log_reqid[0] == '\0' ? "-" : log_reqid) == -1)
		goto out;
	n = snprintf(line_buf + len, cap - len, " %s:%d: ", base, line);
	if (n < 0 || (size_t)n >= cap - len)
		goto out;
	len += (size_t)n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(unformattable message)");
	if (append_escaped(line_buf, cap, &len, msg) == -1 ||
	    (n > 0 && (size_t)n >= sizeof(msg))) {
		memcpy(line_buf + len, "...", 3);
		len += 3;
	}
	line_buf[len++] = '\n';

	do
		w = write(log_fd, line_buf, len);
	while (w == -1 && errno == EINTR);
out:
	errno = saved;
}
