/* Structured logging: one line per event, logfmt (default) or JSON, written
 * whole by one write(2) (a worker's batch of lines by one too), so lines
 * from worker threads never interleave.
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

/* Batching, for an event-loop thread: from log_thread_batch() on, the
 * calling thread's lines wait in its own buffer (16 KiB; a fuller one is
 * written at once) and schedule(arg) is called when the first line of a
 * batch arrives; the thread then calls log_thread_flush(), typically at
 * the end of its loop turn, before the answers it logged are sent.
 * log_thread_unbatch() flushes and frees the buffer (before the thread
 * exits). Other threads write each line at once. */
void log_thread_batch(void (*schedule)(void *arg), void *arg);
void log_thread_flush(void);
void log_thread_unbatch(void);

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
