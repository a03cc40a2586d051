#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = 2;
static char *log_path;
static log_format_t log_fmt = LOG_FMT_LOGFMT;

static int open_path(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

int log_open(const char *path, log_format_t fmt)
{
    log_fmt = fmt;
    if (path == NULL || strcmp(path, "-") == 0)
        return 0;
    int fd = open_path(path);
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&log_lock);
    free(log_path);
    log_path = xstrdup(path);
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

int log_reopen(void)
{
    int rc = 0;
    pthread_mutex_lock(&log_lock);
    if (log_path != NULL) {
        int fd = open_path(log_path);
        if (fd < 0) {
            rc = fd;
        } else {
            if (log_fd > 2)
                close(log_fd);
            log_fd = fd;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return rc;
}

void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
    free(log_path);
    log_path = NULL;
    pthread_mutex_unlock(&log_lock);
}

static void add_ts(w3_buf_t *b)
{
    struct timeval tv;
    struct tm tm;
    char ts[40];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    w3_buf_printf(b, "%s.%06ldZ", ts, (long)tv.tv_usec);
}

/* logfmt: bare when safe, else quoted with \" \\ \n escapes */
static void add_value(w3_buf_t *b, const char *v)
{
    bool bare = *v != '\0';
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p >= 0x7f)
            bare = false;
    if (log_fmt == LOG_FMT_LOGFMT && bare) {
        w3_buf_adds(b, v);
        return;
    }
    w3_buf_add(b, "\"", 1);
    size_t n = strlen(v);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            w3_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            w3_buf_adds(b, "\\n");
        else if (*p < 0x20 || *p == 0x7f)
            w3_buf_printf(b, "\\u%04x", *p);
        else if (*p < 0x80)
            w3_buf_add(b, p, 1);
        else {
            /* caller bytes: a log line stays valid UTF-8 whatever they are */
            size_t k = w3_utf8_seq(p, n - (size_t)(p - (const unsigned char *)v));
            if (k == 0)
                w3_buf_printf(b, log_fmt == LOG_FMT_JSON ? "\\u%04x" : "\\x%02X", *p);
            else {
                w3_buf_add(b, p, k);
                p += k - 1;
            }
        }
    }
    w3_buf_add(b, "\"", 1);
}

static void add_kv(w3_buf_t *b, const char *k, const char *v, bool raw)
{
    if (log_fmt == LOG_FMT_JSON) {
        w3_buf_printf(b, ",\"%s\":", k);
        if (raw)
            w3_buf_adds(b, v);
        else
            add_value(b, v);
    } else {
        w3_buf_printf(b, " %s=", k);
        if (raw)
            w3_buf_adds(b, v);
        else
            add_value(b, v);
    }
}

static void begin(w3_buf_t *b, const char *level)
{
    if (log_fmt == LOG_FMT_JSON) {
        w3_buf_adds(b, "{\"ts\":\"");
        add_ts(b);
        w3_buf_printf(b, "\",\"level\":\"%s\"", level);
    } else {
        w3_buf_adds(b, "ts=");
        add_ts(b);
        w3_buf_printf(b, " level=%s", level);
    }
}

static void emit(w3_buf_t *b)
{
    if (log_fmt == LOG_FMT_JSON)
        w3_buf_add(b, "}", 1);
    w3_buf_add(b, "\n", 1);
    pthread_mutex_lock(&log_lock);
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(log_fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    pthread_mutex_unlock(&log_lock);
    w3_buf_free(b);
}

void log_event(const char *level, const char *msg, ...)
{
    w3_buf_t b = {0};
    begin(&b, level);
    add_kv(&b, "msg", msg, false);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        const char *v = va_arg(ap, const char *);
        add_kv(&b, k, v ? v : "", false);
    }
    va_end(ap);
    emit(&b);
}

void log_request(const log_request_t *r)
{
    w3_buf_t b = {0};
    char num[32];
    begin(&b, "info");
    add_kv(&b, "msg", "request", false);
    if (r->method)
        add_kv(&b, "method", r->method, false);
    if (r->route)
        add_kv(&b, "route", r->route, false);
    if (r->section)
        add_kv(&b, "section", r->section, false);
    if (r->domain)
        add_kv(&b, "domain", r->domain, false);
    if (r->key)
        add_kv(&b, "key", r->key, false);
    snprintf(num, sizeof(num), "%d", r->status);
    add_kv(&b, "status", num, true);
    if (r->result)
        add_kv(&b, "result", r->result, false);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)r->latency_us);
    add_kv(&b, "latency_us", num, true);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)r->bytes);
    add_kv(&b, "bytes", num, true);
    if (r->client)
        add_kv(&b, "client", r->client, false);
    if (r->peer)
        add_kv(&b, "peer", r->peer, false);
    emit(&b);
}
