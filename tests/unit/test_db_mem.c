/* schema/db_mem.c, SQLite's allocator: every byte sqlite3_msize() promises
 * is usable (valgrind checks the writes), realloc keeps the content, a
 * freed small block is handed out again on the same thread, blocks move
 * between threads, a thread's cache is emptied when it exits (valgrind:
 * no definite leak) and SQLite runs real statements on it. Under
 * AddressSanitizer the cache is not installed: the reuse checks are
 * skipped there, the rest holds for the system allocator too. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "internal/db_sqlite.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define CACHED 0
#else
#define CACHED 1
#endif

static bool fill_all(unsigned char *p, int n, unsigned char v)
{
    memset(p, v, (size_t)n);
    for (int i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static void *free_here(void *arg)
{
    sqlite3_free(arg);
    return NULL;
}

/* Allocates and frees many blocks, then exits with them in its cache. */
static void *churn(void *arg)
{
    (void)arg;
    void *v[600];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 600; i++)
            v[i] = sqlite3_malloc(16 + (i % 9) * 500);
        for (int i = 0; i < 600; i++)
            sqlite3_free(v[i]);
    }
    return (void *)(uintptr_t)1;
}

static int add_row(void *arg, int n, char **values, char **names)
{
    (void)n;
    (void)names;
    *(long long *)arg = values[0] ? atoll(values[0]) : -1;
    return 0;
}

int main(void)
{
    db_sqlite_setup();

    unsigned char *a = sqlite3_malloc(100);
    ok(a != NULL && sqlite3_msize(a) >= 100, "a small block holds what was asked (%d bytes)",
       a ? (int)sqlite3_msize(a) : 0);
    ok(a && fill_all(a, (int)sqlite3_msize(a), 0xa5), "every byte of its size is usable");
    sqlite3_free(a);
    unsigned char *b = sqlite3_malloc(90);
    if (CACHED) {
        ok(b == a, "the freed block of that size comes back on the same thread");
        ok(sqlite3_realloc(b, 120) == b, "a realloc within the block's size keeps it");
    } else {
        ok(true, "block reuse # SKIP AddressSanitizer build: SQLite uses the system allocator");
        ok(true, "realloc in place # SKIP AddressSanitizer build: SQLite uses the system allocator");
    }
    memset(b, 7, 90);
    unsigned char *c = sqlite3_realloc(b, 5000);
    bool kept = c != NULL;
    for (int i = 0; c && i < 90; i++)
        kept = kept && c[i] == 7;
    ok(kept && sqlite3_msize(c) >= 5000, "a realloc past it moves the content into a large block");
    ok(c && fill_all(c, (int)sqlite3_msize(c), 1), "the large block is usable to its size");
    sqlite3_free(c);

    unsigned char *big = sqlite3_malloc(200000);
    ok(big && fill_all(big, 200000, 3), "a block of 200,000 bytes");
    sqlite3_free(big);

    pthread_t t;
    void *moved = sqlite3_malloc(64);
    ok(pthread_create(&t, NULL, free_here, moved) == 0 && pthread_join(t, NULL) == 0,
       "a block allocated here is freed by another thread");
    void *res = NULL;
    ok(pthread_create(&t, NULL, churn, NULL) == 0 && pthread_join(t, &res) == 0 && res != NULL,
       "a thread that filled its cache exits (its blocks are freed: valgrind sees no leak)");

    sqlite3 *db = NULL;
    long long sum = 0;
    bool run = sqlite3_open(":memory:", &db) == SQLITE_OK &&
               sqlite3_exec(db,
                            "CREATE TABLE t (v INTEGER, s TEXT);"
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
                            "INSERT INTO t SELECT i, printf('%0*d', i % 700, i) FROM n;",
                            NULL, NULL, NULL) == SQLITE_OK &&
               sqlite3_exec(db, "SELECT sum(v) + sum(length(s)) FROM t", add_row, &sum, NULL) == SQLITE_OK;
    long long want = 5000LL * 5001 / 2;
    for (int i = 1; i <= 5000; i++) {
        int w = i % 700, digits = 1;
        for (int x = i; x >= 10; x /= 10)
            digits++;
        want += w > digits ? w : digits;
    }
    ok(run, "SQLite creates, fills and reads a table on this allocator");
    ok(sum == want, "and reads back what it wrote (%lld, want %lld)", sum, want);
    sqlite3_close(db);
    return tap_done();
}
