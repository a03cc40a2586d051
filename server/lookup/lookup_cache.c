/* Compiled route patterns keyed by the pattern text itself: a changed
 * pattern is a new key, so an entry can never be stale. regcomp costs more
 * than all of a lookup's queries together. A hash table for the look-up and
 * a doubly linked list in recency order: when full, the least recently used
 * entry (one) is evicted. A pattern refused by the safe-subset check or by
 * regcomp is cached too, with its reason, so it is not re-examined on every
 * call. Not thread-safe: each worker (and the CLI) owns its own. */
#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "util.h"

typedef struct entry {
    char *pattern;
    uint32_t hash;
    bool ok;
    regex_t re;         /* when ok */
    char why[96];       /* when not ok */
    struct entry *next; /* hash chain */
    struct entry *newer, *older;
} entry_t;

struct lookup_cache {
    size_t max, count;
    size_t nbuckets; /* a power of two */
    entry_t **buckets;
    entry_t *newest, *oldest;
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

lookup_cache_t *lookup_cache_create(size_t max)
{
    lookup_cache_t *c = xcalloc(1, sizeof(*c));
    c->max = max ? max : 1;
    c->nbuckets = 16;
    while (c->nbuckets < 2 * c->max)
        c->nbuckets *= 2;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    return c;
}

static void unlink_lru(lookup_cache_t *c, entry_t *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void push_newest(lookup_cache_t *c, entry_t *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (c->oldest == NULL)
        c->oldest = e;
}

static void entry_free(entry_t *e)
{
    if (e->ok)
        regfree(&e->re);
    free(e->pattern);
    free(e);
}

static void evict_oldest(lookup_cache_t *c)
{
    entry_t *e = c->oldest;
    entry_t **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    unlink_lru(c, e);
    entry_free(e);
    c->count--;
}

void lookup_cache_destroy(lookup_cache_t *c)
{
    if (c == NULL)
        return;
    while (c->oldest)
        evict_oldest(c);
    free(c->buckets);
    free(c);
}

size_t lookup_cache_count(const lookup_cache_t *c)
{
    return c->count;
}

int lookup_cache_get(lookup_cache_t *c, const char *pattern, const regex_t **re, const char **why)
{
    uint32_t h = fnv1a(pattern);
    entry_t **bucket = &c->buckets[h & (c->nbuckets - 1)];
    entry_t *e;
    for (e = *bucket; e; e = e->next)
        if (e->hash == h && strcmp(e->pattern, pattern) == 0)
            break;
    if (e != NULL) {
        unlink_lru(c, e);
        push_newest(c, e);
    } else {
        if (c->count == c->max)
            evict_oldest(c);
        e = xcalloc(1, sizeof(*e));
        e->pattern = xstrdup(pattern);
        e->hash = h;
        if (lookup_pattern_safe(pattern, e->why, sizeof(e->why)) == 0) {
            e->ok = regcomp(&e->re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
            if (!e->ok)
                w3_strlcpy(e->why, "does not compile", sizeof(e->why));
        }
        e->next = *bucket;
        *bucket = e;
        push_newest(c, e);
        c->count++;
    }
    if (!e->ok) {
        *re = NULL;
        *why = e->why;
        return -EINVAL;
    }
    *re = &e->re;
    *why = NULL;
    return 0;
}
