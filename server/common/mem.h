/* A per-thread cache of freed small blocks in front of malloc, for the
 * libraries that allocate a lot per request and let the program choose
 * their allocator: SQLite (schema/db_mem.c) and libevent (srv.c installs
 * it with event_set_mem_functions()).
 *
 * glibc keeps only seven freed blocks of a size per thread; an evhttp
 * request and reply, or a SQLite statement's run, allocate and free dozens
 * of the same few sizes, and the rest goes through glibc's slower paths
 * (consolidation on the next larger allocation). Here a thread keeps freed
 * blocks of ten sizes (32 bytes to 16 KiB; up to 256 of each small one,
 * 32 of 1-4 KiB, 8 of 8 and 16 KiB: ~0.7 MB at most) and hands them out
 * again; larger blocks go straight to malloc.
 *
 * A block freed by another thread than the one that allocated it joins the
 * freeing thread's cache (libevent frees on any thread: a deferred callback
 * allocated by the writer runs on a worker), a block is plain memory. A
 * thread's cache is emptied when the thread exits. Under AddressSanitizer
 * w3_mem_cached() is false and callers keep their library's own allocator,
 * and every block w3_mem hands out (the form's, say) is of exactly the
 * size asked: the sanitizer then sees every allocation as it is.
 *
 * Ownership: a block from w3_mem_malloc/realloc is freed with w3_mem_free
 * (on any thread), never with free(). Allocation failure returns NULL: the
 * libraries report it their own way. */
#ifndef W3_MEM_H
#define W3_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the cache is in use in this build (false under ASan). */
bool w3_mem_cached(void);
void *w3_mem_malloc(size_t n);
void *w3_mem_realloc(void *p, size_t n);
void w3_mem_free(void *p);
/* The same, aborting with file:line when out of memory (our own callers). */
#define w3_mem_xmalloc(n) w3_mem_check_(w3_mem_malloc(n), __FILE__, __LINE__)
#define w3_mem_xrealloc(p, n) w3_mem_check_(w3_mem_realloc((p), (n)), __FILE__, __LINE__)
void *w3_mem_check_(void *p, const char *file, int line);
/* What the block can hold (at least what was asked); 0 for NULL. */
size_t w3_mem_size(void *p);
/* What w3_mem_malloc(n) would make room for. */
size_t w3_mem_roundup(size_t n);

#endif
