/* SQLite's memory allocator: the system malloc behind a per-thread cache of
 * freed small blocks.
 *
 * Debian builds SQLite with SQLITE_OMIT_LOOKASIDE, so every small object of
 * a statement's run (each text column it copies out, each cursor, each
 * record it unpacks) is a malloc and a free: about sixty of each per
 * directory lookup, a tenth of a cache miss's instructions, mostly in
 * glibc's slower paths once its own per-thread cache (seven blocks a size)
 * overflows. Here a thread keeps freed blocks of eight sizes (32 bytes to
 * 4 KiB; up to 256 of each small one, 32 of the others) and hands them out
 * again; larger blocks go straight to malloc.
 *
 * A block freed by another thread than the one that allocated it joins the
 * freeing thread's cache: SQLite may free on any thread (a connection
 * closed at shutdown), and a block is plain memory. A thread's cache is
 * emptied when the thread exits. Under AddressSanitizer the cache is not
 * installed: the sanitizer sees every SQLite allocation as it is. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal/db_sqlite.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define W3_SQLITE_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define W3_SQLITE_CACHE 0
#endif
#endif
#ifndef W3_SQLITE_CACHE
#define W3_SQLITE_CACHE 1
#endif

enum {
    MIN_SHIFT = 5, /* 32 bytes */
    NCLASS = 8,    /* 32, 64, …, 4096 */
    LARGE = NCLASS,
    CACHE_MAX = 256,    /* blocks kept of each class up to 512 bytes */
    CACHE_MAX_BIG = 32, /* of 1, 2 and 4 KiB: at most ~0.5 MB a thread */
};

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

static int class_of(int n)
{
    int c = 0;
    while (c < NCLASS && (1 << (MIN_SHIFT + c)) < n)
        c++;
    return c;
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

static void *mem_malloc(int n)
{
    if (n <= 0)
        n = 1;
    int k = class_of(n);
    if (k < NCLASS && tc.head[k]) {
        freed_t *f = tc.head[k];
        tc.head[k] = f->next;
        tc.n[k]--;
        return f;
    }
    size_t cap = k < NCLASS ? (size_t)1 << (MIN_SHIFT + k) : (size_t)n;
    hdr_t *h = malloc(sizeof(*h) + cap);
    if (h == NULL)
        return NULL; /* SQLite reports SQLITE_NOMEM */
    h->cap = cap;
    h->cls = (uint64_t)k;
    return h + 1;
}

static void mem_free(void *p)
{
    if (p == NULL)
        return;
    hdr_t *h = hdr_of(p);
    int k = (int)h->cls;
    if (k == LARGE || tc.n[k] >= (k <= 4 ? CACHE_MAX : CACHE_MAX_BIG)) {
        free(h);
        return;
    }
    if (!tc.registered) {
        tc.registered = true;
        pthread_setspecific(exit_key, &tc);
    }
    freed_t *f = p;
    f->next = tc.head[k];
    tc.head[k] = f;
    tc.n[k]++;
}

static int mem_size(void *p)
{
    return p ? (int)hdr_of(p)->cap : 0;
}

static void *mem_realloc(void *p, int n)
{
    if (p == NULL)
        return mem_malloc(n);
    hdr_t *h = hdr_of(p);
    if (n > 0 && (uint64_t)n <= h->cap && (h->cls != LARGE || (uint64_t)n * 2 > h->cap))
        return p;
    void *q = mem_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, (size_t)n < h->cap ? (size_t)n : h->cap);
    mem_free(p);
    return q;
}

static int mem_roundup(int n)
{
    int k = class_of(n);
    return k < NCLASS ? 1 << (MIN_SHIFT + k) : (n + 7) & ~7;
}

static int mem_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void mem_shutdown(void *arg)
{
    (void)arg;
}

void db_mem_install(void)
{
    if (!W3_SQLITE_CACHE)
        return;
    if (pthread_key_create(&exit_key, drain) != 0)
        return; /* SQLite keeps its own allocator */
    static const sqlite3_mem_methods methods = {
        mem_malloc, mem_free, mem_realloc, mem_size, mem_roundup, mem_init, mem_shutdown, NULL,
    };
    sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}
