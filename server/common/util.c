#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Noreturn void w3_oom(const char *file, int line)
{
    fprintf(stderr, "fatal: out of memory at %s:%d\n", file, line);
    abort();
}

void *w3_xmalloc_(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        w3_oom(file, line);
    return p;
}

void *w3_xcalloc_(size_t nmemb, size_t n, const char *file, int line)
{
    void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);
    if (p == NULL)
        w3_oom(file, line);
    return p;
}

void *w3_xrealloc_(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        w3_oom(file, line);
    return q;
}

char *w3_xstrdup_(const char *s, const char *file, int line)
{
    return w3_xstrndup_(s, strlen(s), file, line);
}

char *w3_xstrndup_(const char *s, size_t n, const char *file, int line)
{
    char *p = w3_xmalloc_(n + 1, file, line);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

bool w3_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);
    if (n >= cap) {
        if (cap)
            dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

bool w3_const_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *x = a, *y = b;
    unsigned char diff = (unsigned char)(alen != blen);
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

static void buf_reserve(w3_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void w3_buf_add(w3_buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void w3_buf_adds(w3_buf_t *b, const char *s)
{
    w3_buf_add(b, s, strlen(s));
}

void w3_buf_printf(w3_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

void w3_buf_free(w3_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void w3_sbuf_init(w3_sbuf_t *s, size_t max)
{
    *s = (w3_sbuf_t){.max = max};
}

void w3_sbuf_add(w3_sbuf_t *s, const void *p, size_t n)
{
    if (s->failed)
        return;
    if (n > s->max || s->b.len > s->max - n) {
        s->failed = true;
        return;
    }
    w3_buf_add(&s->b, p, n);
}

void w3_sbuf_adds(w3_sbuf_t *s, const char *str)
{
    w3_sbuf_add(s, str, strlen(str));
}

void w3_sbuf_vprintf(w3_sbuf_t *s, const char *fmt, va_list ap)
{
    if (s->failed)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || (size_t)n > s->max || s->b.len > s->max - (size_t)n) {
        s->failed = true;
        return;
    }
    buf_reserve(&s->b, (size_t)n);
    vsnprintf(s->b.data + s->b.len, (size_t)n + 1, fmt, ap);
    s->b.len += (size_t)n;
}

void w3_sbuf_printf(w3_sbuf_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    w3_sbuf_vprintf(s, fmt, ap);
    va_end(ap);
}

int w3_sbuf_done(const w3_sbuf_t *s)
{
    return s->failed ? -E2BIG : 0;
}

const char *w3_sbuf_str(const w3_sbuf_t *s)
{
    return s->b.data ? s->b.data : "";
}

size_t w3_sbuf_len(const w3_sbuf_t *s)
{
    return s->b.len;
}

void w3_sbuf_free(w3_sbuf_t *s)
{
    w3_buf_free(&s->b);
    s->failed = false;
}

int w3_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int rc = 0;
    char *data = NULL;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    data = xmalloc(max + 2);
    for (;;) {
        ssize_t r = read(fd, data + n, max + 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            rc = -EFBIG;
            goto out;
        }
    }
    data[n] = '\0';
    *out = data;
    data = NULL;
    if (len)
        *len = n;
out:
    free(data);
    close(fd);
    return rc;
}

uint64_t w3_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void w3_md5_hex(const char *s, size_t n, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";
    if (!EVP_Digest(s, n, md, &mdlen, EVP_md5(), NULL))
        w3_oom(__FILE__, __LINE__);
    for (unsigned int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}
