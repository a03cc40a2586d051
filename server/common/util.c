#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
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

void w3_buf_reserve(w3_buf_t *b, size_t extra)
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
    w3_buf_reserve(b, n);
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
    w3_buf_reserve(b, (size_t)n);
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
    w3_buf_reserve(&s->b, (size_t)n);
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

static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

bool w3_iso8601_valid(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, hh, mm, ss = 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' || !digits(s + 8, 2, &d))
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
        return false;
    s += 10;
    if (*s == '\0')
        return true;
    if (*s != 'T' || !digits(s + 1, 2, &hh) || s[3] != ':' || !digits(s + 4, 2, &mm) || hh > 23 || mm > 59)
        return false;
    s += 6;
    if (*s == ':') {
        if (!digits(s + 1, 2, &ss) || ss > 60) /* 60: a leap second */
            return false;
        s += 3;
        if (*s == '.') {
            size_t n = strspn(s + 1, "0123456789");
            if (n < 1 || n > 9)
                return false;
            s += 1 + n;
        }
    }
    if (*s == 'Z')
        return s[1] == '\0';
    if (*s == '+' || *s == '-') {
        int oh, om;
        return digits(s + 1, 2, &oh) && s[3] == ':' && digits(s + 4, 2, &om) && oh <= 23 && om <= 59 && s[6] == '\0';
    }
    return *s == '\0';
}

/* One level of the path being read: an object key (offsets into the text)
 * or an array index. */
typedef struct jlevel {
    bool array;
    long index;
    size_t key, key_len; /* the last key read at this level */
    bool expect_key;
} jlevel_t;

void w3_json_pointer_add(w3_buf_t *out, const char *k, size_t n)
{
    w3_buf_adds(out, "/");
    for (size_t i = 0; i < n; i++) {
        if (k[i] == '~')
            w3_buf_adds(out, "~0");
        else if (k[i] == '/')
            w3_buf_adds(out, "~1");
        else
            w3_buf_add(out, &k[i], 1);
    }
}

void w3_json_pointer_at(const char *json, size_t len, size_t pos, w3_buf_t *out)
{
    jlevel_t *st = NULL;
    size_t depth = 0, cap = 0;
    if (pos > len)
        pos = len;
    for (size_t i = 0; i < pos; i++) {
        char ch = json[i];
        jlevel_t *top = depth ? &st[depth - 1] : NULL;
        if (ch == '"') {
            size_t start = ++i;
            while (i < len && json[i] != '"')
                i += json[i] == '\\' ? 2 : 1;
            if (top && !top->array && top->expect_key) {
                top->key = start;
                top->key_len = (i < len ? i : len) - start;
                top->expect_key = false;
            }
        } else if (ch == '{' || ch == '[') {
            if (depth == cap) {
                cap = cap ? 2 * cap : 8;
                st = xrealloc(st, cap * sizeof(*st));
            }
            st[depth++] = (jlevel_t){.array = ch == '[', .expect_key = ch == '{', .key_len = (size_t)-1};
        } else if ((ch == '}' || ch == ']') && depth) {
            depth--;
        } else if (ch == ',' && top) {
            if (top->array)
                top->index++;
            else
                top->expect_key = true;
        }
    }
    for (size_t l = 0; l < depth; l++) {
        if (st[l].array) {
            w3_buf_printf(out, "/%ld", st[l].index);
        } else if (st[l].key_len != (size_t)-1) {
            w3_json_pointer_add(out, json + st[l].key, st[l].key_len);
        }
    }
    if (out->data == NULL)
        w3_buf_adds(out, "");
    free(st);
}

size_t w3_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

size_t w3_utf8_valid_prefix(const char *s, size_t n)
{
    size_t i = 0, k;
    while (i < n) {
        /* ASCII eight bytes at a time: a 12 KB CDR is almost all of it */
        uint64_t w;
        if (n - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ULL) == 0)) {
            i += 8;
            continue;
        }
        if ((k = w3_utf8_seq((const unsigned char *)s + i, n - i)) == 0)
            break;
        i += k;
    }
    return i;
}

void w3_buf_add_utf8_repaired(w3_buf_t *out, const char *s, size_t n, bool latin1)
{
    for (size_t i = 0; i < n;) {
        size_t valid = w3_utf8_valid_prefix(s + i, n - i);
        w3_buf_add(out, s + i, valid);
        i += valid;
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        if (latin1) {
            char two[2] = {(char)(0xc0 | (c >> 6)), (char)(0x80 | (c & 0x3f))};
            w3_buf_add(out, two, 2);
        } else {
            w3_buf_adds(out, "\xef\xbf\xbd");
        }
    }
    if (out->data == NULL)
        w3_buf_adds(out, "");
}

void w3_free_secret(void *p, size_t n)
{
    if (p == NULL)
        return;
    explicit_bzero(p, n);
    free(p);
}

void w3_buf_add_json_string(w3_buf_t *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    w3_buf_reserve(out, n + 2);
    w3_buf_add(out, "\"", 1);
    size_t run = 0; /* bytes of p[0..run) that go out as they are */
    while (run < n) {
        unsigned char c = p[run];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        size_t seq = c >= 0x80 ? w3_utf8_seq(p + run, n - run) : 0;
        if (seq) {
            run += seq;
            continue;
        }
        w3_buf_add(out, p, run);
        p += run;
        n -= run;
        run = 0;
        char esc[7] = {'\\', (char)c, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (c >= 0x80) { /* not UTF-8: the replacement character */
                memcpy(esc, "\\ufffd", 6);
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
            }
            elen = 6;
        }
        w3_buf_add(out, esc, elen);
        p++;
        n--;
    }
    w3_buf_add(out, p, run);
    w3_buf_add(out, "\"", 1);
}
