/* Strict HTTP framing before evhttp (framing.h). */
#include "framing.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

#define HEAD_MAX (64 * 1024 + 1024) /* evhttp's own limit is 64 KiB */
#define LINE_MAX_LEN 1024           /* a chunk-size or trailer line */

enum state { S_HEAD, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END, S_TRAILER, S_DEAD };

struct framing {
    struct evbuffer *in;
    struct evbuffer_cb_entry *cb;
    enum state st;
    w3_buf_t head; /* the header block being read */
    size_t line_len;
    uint64_t left; /* body or chunk bytes still to come */
    bool waiting;
    bool rewriting; /* our own change of the buffer */
    uint64_t since_us;
    const char *error;
    atomic_int *receiving;
    bool counted; /* in *receiving */
    /* a chunk-size or trailer line: allocated by the first chunked body
     * (a struct of 1 KiB made each connection's malloc take glibc's slow
     * path) */
    char *line;
};

static void uncount(framing_t *f)
{
    if (f->counted)
        atomic_fetch_sub(f->receiving, 1);
    f->counted = false;
}

/* A line evhttp's header parser refuses: it answers 400 and closes. */
static const char poison[] = "\x01\r\n\r\n";

/* Parses one decimal length: digits only, at most 18. */
static bool plain_length(const char *v, size_t n, uint64_t *out)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 18)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

static bool value_is(const char *v, size_t n, const char *want)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncasecmp(v, want, n) == 0;
}

/* Checks a complete header block (h[0..n), ending with its empty line);
 * NULL when fine, with the body framing in *st / *len. */
static const char *check_head(const char *h, size_t n, enum state *st, uint64_t *len)
{
    if (memchr(h, '\0', n) != NULL)
        return "NUL byte in the request head";
    int cl = 0, te = 0;
    uint64_t length = 0;
    const char *line = memchr(h, '\n', n); /* skip the request line */
    for (line = line ? line + 1 : h + n; line < h + n;) {
        const char *eol = memchr(line, '\n', (size_t)(h + n - line));
        size_t ll = (size_t)((eol ? eol : h + n) - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break; /* the empty line */
        if (line[0] == ' ' || line[0] == '\t')
            return "folded header line";
        const char *colon = memchr(line, ':', ll);
        if (colon == NULL)
            return "header line without a colon";
        size_t nl = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vl = ll - nl - 1;
        if (nl == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            if (++cl > 1)
                return "more than one Content-Length";
            if (!plain_length(v, vl, &length))
                return "Content-Length is not a plain decimal number";
        } else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            if (++te > 1)
                return "more than one Transfer-Encoding";
            if (!value_is(v, vl, "chunked"))
                return "Transfer-Encoding other than chunked";
        }
        line = eol ? eol + 1 : h + n;
    }
    if (cl && te)
        return "both Content-Length and Transfer-Encoding";
    *st = te ? S_CHUNK_SIZE : length ? S_BODY : S_HEAD;
    *len = length;
    return NULL;
}

/* The end of the header block in p[from..n) (after its empty line), or 0. */
static size_t head_end(const char *p, size_t n, size_t from)
{
    for (const char *q = p + from; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++) {
        size_t i = (size_t)(q - p);
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Whatever evhttp has not parsed yet becomes a line it refuses. */
static void refuse(framing_t *f, const char *why)
{
    f->error = why;
    f->st = S_DEAD;
    uncount(f);
    f->rewriting = true;
    evbuffer_drain(f->in, evbuffer_get_length(f->in));
    evbuffer_add(f->in, poison, sizeof(poison) - 1);
    f->rewriting = false;
    log_warn("request refused before parsing: bad framing", "reason", why, NULL);
}

/* Consumes header bytes of p[0..n); returns how many. */
static size_t read_head(framing_t *f, const char *p, size_t n)
{
    size_t i = 0;
    if (f->head.len == 0) { /* blank lines between requests */
        while (i < n && (p[i] == '\r' || p[i] == '\n'))
            i++;
        if (i == n)
            return n;
        if (!f->waiting) {
            f->waiting = true;
            f->since_us = w3_now_us();
        }
        if (!f->counted) {
            f->counted = true;
            atomic_fetch_add(f->receiving, 1);
        }
    }
    const char *head = NULL;
    size_t end = 0, used = 0;
    if (f->head.len == 0 && (end = head_end(p + i, n - i, 0)) != 0) {
        /* the whole head in this piece (the usual case): checked where it is */
        if (end > HEAD_MAX) {
            refuse(f, "request head over 64 KiB");
            return n;
        }
        head = p + i;
        used = i + end;
    } else {
        size_t old = f->head.len;
        size_t take = n - i;
        if (take > HEAD_MAX - old)
            take = HEAD_MAX - old;
        w3_buf_add(&f->head, p + i, take);
        end = head_end(f->head.data, f->head.len, old > 2 ? old - 2 : 0);
        if (end == 0) {
            if (f->head.len >= HEAD_MAX)
                refuse(f, "request head over 64 KiB");
            return i + take;
        }
        head = f->head.data;
        used = i + (end - old);
    }
    enum state next = S_HEAD;
    uint64_t len = 0;
    const char *why = check_head(head, end, &next, &len);
    f->head.len = 0;
    if (why) {
        refuse(f, why);
        return n;
    }
    f->st = next;
    f->left = len;
    if (next == S_HEAD)
        f->waiting = false;
    return used;
}

/* Consumes one line of a chunked body (through its LF); returns how many
 * bytes, *whole when the line ended. */
static size_t read_line(framing_t *f, const char *p, size_t n, bool *whole)
{
    *whole = false;
    if (f->line == NULL)
        f->line = xmalloc(LINE_MAX_LEN);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            *whole = true;
            f->line[f->line_len] = '\0';
            return i + 1;
        }
        if (f->line_len == LINE_MAX_LEN - 1) {
            f->st = S_DEAD; /* evhttp refuses it too */
            return n;
        }
        f->line[f->line_len++] = p[i];
    }
    return n;
}

static size_t step(framing_t *f, const char *p, size_t n)
{
    bool whole = false;
    size_t used;
    switch (f->st) {
    case S_HEAD:
        return read_head(f, p, n);
    case S_BODY:
    case S_CHUNK_DATA:
        used = n < f->left ? n : (size_t)f->left;
        f->left -= used;
        if (f->left == 0) {
            f->st = f->st == S_BODY ? S_HEAD : S_CHUNK_END;
            f->waiting = f->st != S_HEAD;
        }
        return used;
    case S_CHUNK_SIZE:
        used = read_line(f, p, n, &whole);
        if (whole) {
            char *end = NULL;
            unsigned long long size = strtoull(f->line, &end, 16);
            f->line_len = 0;
            f->left = size;
            f->st = end == f->line ? S_DEAD : size ? S_CHUNK_DATA : S_TRAILER;
        }
        return used;
    case S_CHUNK_END:
        used = read_line(f, p, n, &whole);
        if (whole) {
            f->line_len = 0;
            f->st = S_CHUNK_SIZE;
        }
        return used;
    case S_TRAILER:
        used = read_line(f, p, n, &whole);
        if (whole) {
            bool empty = f->line_len == 0 || (f->line_len == 1 && f->line[0] == '\r');
            f->line_len = 0;
            if (empty) {
                f->st = S_HEAD;
                f->waiting = false;
            }
        }
        return used;
    case S_DEAD:
        return n;
    }
    return n;
}

static void on_added(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    framing_t *f = arg;
    if (f->rewriting || info->n_added == 0)
        return;
    if (f->st == S_DEAD) { /* refused: nothing more reaches evhttp */
        f->rewriting = true;
        evbuffer_drain(in, evbuffer_get_length(in));
        evbuffer_add(in, poison, sizeof(poison) - 1);
        f->rewriting = false;
        return;
    }
    size_t n = info->n_added, len = evbuffer_get_length(in);
    if (n > len)
        n = len;
    /* the new bytes where they are, without a copy (refuse() empties the
     * buffer: nothing of it is read after that) */
    struct evbuffer_ptr pos;
    evbuffer_ptr_set(in, &pos, len - n, EVBUFFER_PTR_SET);
    struct evbuffer_iovec vec[8];
    int nv = evbuffer_peek(in, (ev_ssize_t)n, &pos, vec, 8);
    if (nv < 0 || nv > 8) { /* scattered over more pieces than that: one copy */
        char *chunk = xmalloc(n);
        evbuffer_copyout_from(in, &pos, chunk, n);
        for (size_t off = 0; off < n && f->st != S_DEAD;)
            off += step(f, chunk + off, n - off);
        free(chunk);
        return;
    }
    size_t left = n;
    for (int k = 0; k < nv && left > 0 && f->st != S_DEAD; k++) {
        const char *p = vec[k].iov_base;
        size_t m = vec[k].iov_len < left ? vec[k].iov_len : left;
        left -= m;
        for (size_t off = 0; off < m && f->st != S_DEAD;)
            off += step(f, p + off, m - off);
    }
}

framing_t *framing_attach(struct bufferevent *bev, atomic_int *receiving)
{
    framing_t *f = xcalloc(1, sizeof(*f));
    f->receiving = receiving;
    f->waiting = true; /* since accepted */
    f->since_us = w3_now_us();
    f->in = bufferevent_get_input(bev);
    f->cb = evbuffer_add_cb(f->in, on_added, f);
    W3_CHECK_ALLOC(f->cb);
    return f;
}

void framing_destroy(framing_t *f)
{
    if (f == NULL)
        return;
    uncount(f);
    evbuffer_remove_cb_entry(f->in, f->cb);
    w3_buf_free(&f->head);
    free(f->line);
    free(f);
}

void framing_dispatched(framing_t *f)
{
    uncount(f);
}

const char *framing_error(const framing_t *f)
{
    return f ? f->error : NULL;
}

bool framing_waiting(const framing_t *f, uint64_t *since_us)
{
    *since_us = f->since_us;
    return f->waiting;
}
