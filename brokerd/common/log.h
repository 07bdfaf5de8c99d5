/* Logging: stderr in the foreground, syslog otherwise. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

/* One message for the operator (a log line, why something failed). */
#define LOG_MSG_MAX	1024

void	log_init(int foreground, int debug);
void	log_set_name(const char *name);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* LOG_H */
