/* SQLite's memory allocator: w3_mem (server/common/mem.h), the system malloc
 * behind a per-thread cache of freed small blocks.
 *
 * Debian builds SQLite with SQLITE_OMIT_LOOKASIDE, so every small object of
 * a statement's run (each text column it copies out, each cursor, each
 * record it unpacks) is a malloc and a free: about sixty of each per
 * directory lookup, a tenth of a cache miss's instructions, mostly in
 * glibc's slower paths once its own per-thread cache overflows. Under
 * AddressSanitizer SQLite keeps its own allocator: the sanitizer sees every
 * SQLite allocation as it is. */
#include <limits.h>

#include "internal/db_sqlite.h"
#include "mem.h"

static void *mem_malloc(int n)
{
    return w3_mem_malloc(n > 0 ? (size_t)n : 1);
}

static void mem_free(void *p)
{
    w3_mem_free(p);
}

static void *mem_realloc(void *p, int n)
{
    return w3_mem_realloc(p, n > 0 ? (size_t)n : 0);
}

static int mem_size(void *p)
{
    size_t n = w3_mem_size(p);
    return n > INT_MAX ? INT_MAX : (int)n;
}

static int mem_roundup(int n)
{
    size_t r = w3_mem_roundup(n > 0 ? (size_t)n : 1);
    return r > INT_MAX ? n : (int)r;
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
    if (!w3_mem_cached())
        return;
    static const sqlite3_mem_methods methods = {
        mem_malloc, mem_free, mem_realloc, mem_size, mem_roundup, mem_init, mem_shutdown, NULL,
    };
    sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}
