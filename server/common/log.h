/* Structured logging: one line per event, logfmt (default) or JSON, written
 * with a single write(2) so lines from worker threads never interleave.
 * Nothing secret is ever passed here: callers log ids, never passwords,
 * a1-hashes, trunk secrets or tokens (a test greps the log for them). */
#ifndef W3_LOG_H
#define W3_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { LOG_FMT_LOGFMT = 0, LOG_FMT_JSON = 1 } log_format_t;

/* path NULL or "-" = stderr. Returns 0 or -errno. */
int log_open(const char *path, log_format_t fmt);
/* Re-opens the log file (SIGHUP, after logrotate). */
int log_reopen(void);
void log_close(void);

/* Free-form event: key/value pairs end with a NULL key. */
void log_event(const char *level, const char *msg, ...);
#define log_info(msg, ...) log_event("info", msg, __VA_ARGS__)
#define log_warn(msg, ...) log_event("warn", msg, __VA_ARGS__)
#define log_error(msg, ...) log_event("error", msg, __VA_ARGS__)

/* The per-request access line (SPEC §10). NULL fields are left out. */
typedef struct log_request {
    const char *method;
    const char *route;
    const char *section;
    const char *domain;
    const char *key;
    const char *client;
    const char *peer;
    const char *result;
    int status;
    uint64_t latency_us;
    uint64_t bytes;
} log_request_t;
void log_request(const log_request_t *r);

#endif
