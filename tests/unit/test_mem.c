/* server/common/mem.c, the per-thread block cache libevent and SQLite
 * allocate from: every byte w3_mem_size() promises is usable (valgrind
 * checks the writes) in every size class and past them, realloc keeps the
 * content, a freed block is handed out again on the same thread, blocks
 * move between threads, a thread's cache is emptied when it exits
 * (valgrind: no definite leak). Under AddressSanitizer the cache is off
 * (w3_mem_cached() false): the reuse checks are skipped there. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "tap.h"

static bool fill_all(unsigned char *p, size_t n, unsigned char v)
{
    memset(p, v, n);
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static void *free_here(void *arg)
{
    w3_mem_free(arg);
    return NULL;
}

/* Allocates and frees many blocks of every class, then exits with them
 * in its cache. */
static void *churn(void *arg)
{
    (void)arg;
    void *v[400];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 400; i++)
            v[i] = w3_mem_malloc(16 + (size_t)(i % 11) * 1700);
        for (int i = 0; i < 400; i++)
            w3_mem_free(v[i]);
    }
    return (void *)(uintptr_t)1;
}

int main(void)
{
    static const size_t sizes[] = {1, 32, 33, 500, 1024, 4000, 4097, 8192, 12500, 16384, 16385, 200000};
    bool all = true;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = w3_mem_malloc(sizes[i]);
        size_t cap = w3_mem_size(p);
        if (p == NULL || cap < sizes[i] || cap != w3_mem_roundup(sizes[i]) || !fill_all(p, cap, (unsigned char)i)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "size %zu: %s block of %zu bytes (roundup %zu)", sizes[i], p ? "a" : "no", cap,
                     w3_mem_roundup(sizes[i]));
            tap_diag(msg);
            all = false;
        }
        w3_mem_free(p);
    }
    ok(all, "blocks of 1 byte to 200,000 bytes hold what was asked, all of it usable, as roundup says");
    ok(w3_mem_size(NULL) == 0, "NULL has no size");
    w3_mem_free(NULL);

    unsigned char *a = w3_mem_malloc(6200); /* a dialplan form's fields */
    w3_mem_free(a);
    unsigned char *b = w3_mem_malloc(5000);
    if (w3_mem_cached()) {
        ok(b == a, "a freed 8 KiB block comes back on the same thread");
        ok(w3_mem_realloc(b, 8000) == b, "a realloc within the block's size keeps it");
    } else {
        ok(true, "block reuse # SKIP AddressSanitizer build: the cache is off");
        ok(true, "realloc in place # SKIP AddressSanitizer build: the cache is off");
    }
    memset(b, 7, 5000);
    unsigned char *c = w3_mem_realloc(b, 40000);
    bool kept = c != NULL;
    for (int i = 0; c && i < 5000; i++)
        kept = kept && c[i] == 7;
    ok(kept && w3_mem_size(c) >= 40000, "a realloc past the largest class moves the content into a large block");
    unsigned char *d = w3_mem_realloc(c, 100);
    kept = d != NULL;
    for (int i = 0; d && i < 100; i++)
        kept = kept && d[i] == 7;
    ok(kept && w3_mem_size(d) >= 100 && w3_mem_size(d) < 40000,
       "shrinking it below half moves the first bytes into a small block (%zu bytes)", w3_mem_size(d));
    w3_mem_free(d);

    pthread_t t;
    void *moved = w3_mem_malloc(64);
    ok(pthread_create(&t, NULL, free_here, moved) == 0 && pthread_join(t, NULL) == 0,
       "a block allocated here is freed by another thread");
    void *res = NULL;
    ok(pthread_create(&t, NULL, churn, NULL) == 0 && pthread_join(t, &res) == 0 && res != NULL,
       "a thread that filled its cache exits (its blocks are freed: valgrind sees no leak)");
    return tap_done();
}
