#include "mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define CACHE_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHE_ON 0
#endif
#endif
#ifndef CACHE_ON
#define CACHE_ON 1
#endif

enum {
    MIN_SHIFT = 5, /* 32 bytes */
    NCLASS = 10,   /* 32, 64, …, 16384 */
    LARGE = NCLASS,
};

/* Freed blocks a thread keeps of each class: ~0.7 MB at most. */
static const int keep[NCLASS] = {256, 256, 256, 256, 256, 32, 32, 32, 8, 8};

/* Before every block: what it can hold and its class; 16 bytes keep the
 * block as aligned as malloc's. */
typedef struct hdr {
    uint64_t cap;
    uint64_t cls;
} hdr_t;
_Static_assert(sizeof(hdr_t) == 16, "the header keeps malloc's alignment");

typedef struct freed {
    struct freed *next;
} freed_t;

typedef struct cache {
    freed_t *head[NCLASS];
    int n[NCLASS];
    bool registered; /* the key's destructor will empty it */
} cache_t;

static _Thread_local cache_t tc;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_ok;

/* The smallest class holding n bytes, LARGE past the last; LARGE for all
 * when the cache is off, so that AddressSanitizer sees each block at its
 * exact size. */
static int class_of(size_t n)
{
    if (!CACHE_ON)
        return LARGE;
    if (n <= ((size_t)1 << MIN_SHIFT))
        return 0;
    int c = 64 - __builtin_clzll((unsigned long long)(n - 1)) - MIN_SHIFT; /* ceil(log2 n) - MIN_SHIFT */
    return c < NCLASS ? c : LARGE;
}

static hdr_t *hdr_of(void *p)
{
    return (hdr_t *)p - 1;
}

static void drain(void *arg)
{
    cache_t *c = arg;
    for (int k = 0; k < NCLASS; k++) {
        while (c->head[k]) {
            freed_t *f = c->head[k];
            c->head[k] = f->next;
            free(hdr_of(f));
        }
        c->n[k] = 0;
    }
    c->registered = false;
}

static void make_key(void)
{
    key_ok = pthread_key_create(&exit_key, drain) == 0;
}

bool w3_mem_cached(void)
{
    return CACHE_ON;
}

void *w3_mem_malloc(size_t n)
{
    if (n == 0)
        n = 1;
    int k = class_of(n);
    if (k < NCLASS && tc.head[k]) {
        freed_t *f = tc.head[k];
        tc.head[k] = f->next;
        tc.n[k]--;
        return f;
    }
    if (n > SIZE_MAX - sizeof(hdr_t))
        return NULL;
    size_t cap = w3_mem_roundup(n);
    hdr_t *h = malloc(sizeof(*h) + cap);
    if (h == NULL)
        return NULL;
    h->cap = cap;
    h->cls = (uint64_t)k;
    return h + 1;
}

void w3_mem_free(void *p)
{
    if (p == NULL)
        return;
    hdr_t *h = hdr_of(p);
    int k = (int)h->cls;
    if (k == LARGE || tc.n[k] >= keep[k]) {
        free(h);
        return;
    }
    if (!tc.registered) {
        /* without the key, a thread's cache would outlive it: keep none */
        pthread_once(&key_once, make_key);
        if (!key_ok) {
            free(h);
            return;
        }
        tc.registered = true;
        pthread_setspecific(exit_key, &tc);
    }
    freed_t *f = p;
    f->next = tc.head[k];
    tc.head[k] = f;
    tc.n[k]++;
}

size_t w3_mem_size(void *p)
{
    return p ? (size_t)hdr_of(p)->cap : 0;
}

void *w3_mem_realloc(void *p, size_t n)
{
    if (p == NULL)
        return w3_mem_malloc(n);
    hdr_t *h = hdr_of(p);
    /* a large block shrinks in place down to half its size */
    if (n > 0 && n <= h->cap && (h->cls != LARGE || n * 2 > h->cap))
        return p;
    void *q = w3_mem_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, n < h->cap ? n : h->cap);
    w3_mem_free(p);
    return q;
}

size_t w3_mem_roundup(size_t n)
{
    if (n == 0)
        n = 1;
    int k = class_of(n);
    return k < NCLASS ? (size_t)1 << (MIN_SHIFT + k) : n; /* a large block is what was asked */
}

void *w3_mem_check_(void *p, const char *file, int line)
{
    if (p == NULL)
        w3_oom(file, line);
    return p;
}
