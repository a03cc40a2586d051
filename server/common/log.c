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

/* A line is built in a buffer on the caller's stack; only a line longer
 * than that (a log_event quoting something long) moves to the heap. The
 * request line never does: every field of it is bounded. */
typedef struct line {
    char *p;
    size_t len, cap;
    bool heap;
    char stack[2048];
} line_t;

static void line_init(line_t *l)
{
    l->p = l->stack;
    l->len = 0;
    l->cap = sizeof(l->stack);
    l->heap = false;
}

static void line_add(line_t *l, const void *s, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = l->cap;
        while (l->len + n > cap)
            cap *= 2;
        char *p = l->heap ? xrealloc(l->p, cap) : xmalloc(cap);
        if (!l->heap)
            memcpy(p, l->stack, l->len);
        l->p = p;
        l->cap = cap;
        l->heap = true;
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void line_adds(line_t *l, const char *s)
{
    line_add(l, s, strlen(s));
}

static void line_u64(line_t *l, uint64_t v)
{
    char d[20];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    line_add(l, d + i, sizeof(d) - i);
}

/* "\\x%02X" or "\\u%04x" of one byte */
static void line_hex(line_t *l, unsigned char c, bool json)
{
    static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    char e[6] = {'\\', 'u', '0', '0', lower[c >> 4], lower[c & 15]};
    if (json) {
        line_add(l, e, 6);
        return;
    }
    char x[4] = {'\\', 'x', upper[c >> 4], upper[c & 15]};
    line_add(l, x, 4);
}

/* The date and time to the second change once a second: each thread keeps
 * the last one it formatted. */
static void add_ts(line_t *l)
{
    static _Thread_local time_t last = -1;
    static _Thread_local char date[24];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != last) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            date[0] = '\0';
        last = tv.tv_sec;
    }
    line_adds(l, date);
    char us[8] = {'.', 0, 0, 0, 0, 0, 0, 'Z'};
    long v = (long)tv.tv_usec;
    for (int i = 6; i >= 1; i--, v /= 10)
        us[i] = (char)('0' + v % 10);
    line_add(l, us, sizeof(us));
}

/* logfmt: bare when safe, else quoted with \" \\ \n escapes */
static void add_value(line_t *l, const char *v)
{
    bool bare = *v != '\0';
    size_t n = 0;
    for (const char *p = v; *p; p++, n++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p >= 0x7f)
            bare = false;
    if (log_fmt == LOG_FMT_LOGFMT && bare) {
        line_add(l, v, n);
        return;
    }
    bool json = log_fmt == LOG_FMT_JSON;
    line_add(l, "\"", 1);
    const unsigned char *s = (const unsigned char *)v, *run = s;
    for (const unsigned char *p = s; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            continue;
        line_add(l, run, (size_t)(p - run));
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            line_add(l, e, 2);
        } else if (*p == '\n')
            line_add(l, "\\n", 2);
        else if (*p < 0x20 || *p == 0x7f)
            line_hex(l, *p, true);
        else {
            /* caller bytes: a log line stays valid UTF-8 whatever they are */
            size_t k = w3_utf8_seq(p, n - (size_t)(p - s));
            if (k == 0)
                line_hex(l, *p, json);
            else {
                line_add(l, p, k);
                p += k - 1;
            }
        }
        run = p + 1;
    }
    line_add(l, run, strlen((const char *)run));
    line_add(l, "\"", 1);
}

static void add_key(line_t *l, const char *k)
{
    if (log_fmt == LOG_FMT_JSON) {
        line_add(l, ",\"", 2);
        line_adds(l, k);
        line_add(l, "\":", 2);
    } else {
        line_add(l, " ", 1);
        line_adds(l, k);
        line_add(l, "=", 1);
    }
}

static void add_kv(line_t *l, const char *k, const char *v)
{
    add_key(l, k);
    add_value(l, v);
}

static void add_num(line_t *l, const char *k, uint64_t v)
{
    add_key(l, k);
    line_u64(l, v);
}

static void begin(line_t *l, const char *level)
{
    line_init(l);
    if (log_fmt == LOG_FMT_JSON) {
        line_adds(l, "{\"ts\":\"");
        add_ts(l);
        line_adds(l, "\",\"level\":\"");
        line_adds(l, level);
        line_add(l, "\"", 1);
    } else {
        line_adds(l, "ts=");
        add_ts(l);
        line_adds(l, " level=");
        line_adds(l, level);
    }
}

/* Writes len bytes with as many write(2) as it takes, under the lock (one
 * call for any buffer, so lines from threads never interleave). */
static void write_all(const char *p, size_t len)
{
    pthread_mutex_lock(&log_lock);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(log_fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    pthread_mutex_unlock(&log_lock);
}

/* A thread that batches (log_thread_batch) keeps its lines here until
 * log_thread_flush(): a worker writes what one turn of its event loop
 * logged with one write(2) instead of one per request. */
enum { BATCH_CAP = 16384 };
static _Thread_local struct {
    char *p;
    size_t len;
    void (*schedule)(void *arg);
    void *arg;
} batch;

void log_thread_batch(void (*schedule)(void *arg), void *arg)
{
    if (batch.p == NULL)
        batch.p = xmalloc(BATCH_CAP);
    batch.schedule = schedule;
    batch.arg = arg;
}

void log_thread_flush(void)
{
    if (batch.len)
        write_all(batch.p, batch.len);
    batch.len = 0;
}

void log_thread_unbatch(void)
{
    log_thread_flush();
    free(batch.p);
    batch.p = NULL;
    batch.schedule = NULL;
}

static void emit(line_t *l)
{
    if (log_fmt == LOG_FMT_JSON)
        line_add(l, "}", 1);
    line_add(l, "\n", 1);
    if (batch.p == NULL) {
        write_all(l->p, l->len);
    } else {
        if (batch.len + l->len > BATCH_CAP)
            log_thread_flush();
        if (l->len > BATCH_CAP) {
            write_all(l->p, l->len);
        } else {
            bool first = batch.len == 0;
            memcpy(batch.p + batch.len, l->p, l->len);
            batch.len += l->len;
            if (first)
                batch.schedule(batch.arg);
        }
    }
    if (l->heap)
        free(l->p);
}

void log_event(const char *level, const char *msg, ...)
{
    line_t l;
    begin(&l, level);
    add_kv(&l, "msg", msg);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        const char *v = va_arg(ap, const char *);
        add_kv(&l, k, v ? v : "");
    }
    va_end(ap);
    emit(&l);
}

void log_request(const log_request_t *r)
{
    line_t l;
    begin(&l, "info");
    add_kv(&l, "msg", "request");
    if (r->method)
        add_kv(&l, "method", r->method);
    if (r->route)
        add_kv(&l, "route", r->route);
    if (r->section)
        add_kv(&l, "section", r->section);
    if (r->domain)
        add_kv(&l, "domain", r->domain);
    if (r->key)
        add_kv(&l, "key", r->key);
    add_key(&l, "status");
    if (r->status < 0) {
        line_add(&l, "-", 1);
        line_u64(&l, (uint64_t) - (int64_t)r->status);
    } else
        line_u64(&l, (uint64_t)r->status);
    if (r->result)
        add_kv(&l, "result", r->result);
    add_num(&l, "latency_us", r->latency_us);
    add_num(&l, "bytes", r->bytes);
    if (r->client)
        add_kv(&l, "client", r->client);
    if (r->peer)
        add_kv(&l, "peer", r->peer);
    emit(&l);
}
