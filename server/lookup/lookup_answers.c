/* The per-worker cache of rendered answers (lookup.h). An answer is a
 * function of the form fields its lookup read, of the database at one
 * configuration generation and of the settings. On a miss the fields read
 * are recorded in order; the cache is a decision tree over them: a node
 * names the field read next, an edge is one value of it (or its absence),
 * a leaf holds the answer. A hit replays the reads and finds the same leaf
 * only if every value the lookup looked at is the same — whatever else the
 * request holds. The tree belongs to one global generation (every commit of
 * the configuration, sqlite3 sessions included, raises it): a request that
 * sees another one empties it first, so an answer never outlives the commit
 * that changed it. Bounded in bytes: past the bound it is emptied.
 *
 * Everything a tree holds but its edge table lives in one arena of 64 KiB
 * chunks, emptied at once: a miss adds a node per field read, a value per
 * edge and the answer (a dozen allocations that malloc made one by one,
 * and a reset freed one by one). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "util.h"

typedef struct leaf {
    char *body;
    size_t len;
    metrics_section_t section;
    metrics_result_t result;
    const char *what;
    char domain[254];
    char key[96];
} leaf_t;

typedef struct anode {
    const char *name; /* the field read here; NULL: a leaf */
    uint64_t id;
    leaf_t *leaf; /* a leaf's answer, once put */
} anode_t;

#define CHUNK_BYTES (64 * 1024) /* or a sixteenth of the bound, 4 KiB at least */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk_t;

typedef struct edge {
    uint64_t from;
    const char *value; /* NULL: the field was absent */
    anode_t *to;       /* NULL: an empty slot */
} edge_t;

struct lookup_answers {
    size_t max_bytes, bytes, chunk_bytes;
    long long gen; /* the stamp the tree belongs to */
    int schema;
    anode_t *root;
    edge_t *edges;
    size_t cap, used;
    chunk_t *chunks; /* the arena, newest first */
    uint64_t next_id;
};

/* n bytes from the arena, 16-byte aligned; counted in c->bytes */
static void *arena_alloc(lookup_answers_t *c, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk_t *k = c->chunks;
    if (k == NULL || k->cap - k->used < n) {
        size_t cap = n > c->chunk_bytes ? n : c->chunk_bytes;
        k = xmalloc(sizeof(*k) + cap);
        k->next = c->chunks;
        k->used = 0;
        k->cap = cap;
        c->chunks = k;
        c->bytes += sizeof(*k) + cap;
    }
    void *p = k->data + k->used;
    k->used += n;
    return p;
}

static char *arena_strdup(lookup_answers_t *c, const char *s, size_t n)
{
    char *d = arena_alloc(c, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static uint64_t hash(uint64_t from, const char *value)
{
    uint64_t h = (W3_FNV_OFFSET ^ from) * W3_FNV_PRIME;
    return value == NULL ? h ^ 0x9e3779b97f4a7c15ULL : w3_fnv1a(h, value);
}

static bool same(const edge_t *e, uint64_t from, const char *value)
{
    return e->from == from && (e->value == NULL ? value == NULL : value != NULL && strcmp(e->value, value) == 0);
}

static anode_t *edge_find(const lookup_answers_t *c, uint64_t from, const char *value)
{
    if (c->cap == 0)
        return NULL;
    for (size_t i = hash(from, value) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        const edge_t *e = &c->edges[i];
        if (e->to == NULL)
            return NULL;
        if (same(e, from, value))
            return e->to;
    }
}

static void edge_put(lookup_answers_t *c, uint64_t from, const char *value, anode_t *to)
{
    for (size_t i = hash(from, value) & (c->cap - 1);; i = (i + 1) & (c->cap - 1))
        if (c->edges[i].to == NULL) {
            c->edges[i] = (edge_t){from, value, to};
            c->used++;
            return;
        }
}

static void grow(lookup_answers_t *c)
{
    if (c->cap && (c->used + 1) * 2 <= c->cap)
        return;
    edge_t *old = c->edges;
    size_t oldcap = c->cap;
    c->cap = c->cap ? 2 * c->cap : 1024;
    c->edges = xcalloc(c->cap, sizeof(*c->edges));
    c->bytes += (c->cap - oldcap) * sizeof(*c->edges);
    c->used = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].to)
            edge_put(c, old[i].from, old[i].value, old[i].to);
    free(old);
}

static anode_t *node_new(lookup_answers_t *c, const char *name)
{
    anode_t *n = arena_alloc(c, sizeof(*n));
    n->name = name ? arena_strdup(c, name, strlen(name)) : NULL;
    n->id = ++c->next_id;
    n->leaf = NULL;
    return n;
}

static void reset(lookup_answers_t *c)
{
    for (chunk_t *k = c->chunks, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    free(c->edges);
    c->chunks = NULL;
    c->edges = NULL;
    c->cap = c->used = 0;
    c->root = NULL;
    c->bytes = 0;
}

lookup_answers_t *lookup_answers_create(size_t max_bytes)
{
    lookup_answers_t *c = xcalloc(1, sizeof(*c));
    c->max_bytes = max_bytes;
    c->chunk_bytes = max_bytes / 16 < 4096 ? 4096 : max_bytes / 16 > CHUNK_BYTES ? CHUNK_BYTES : max_bytes / 16;
    c->gen = -1;
    return c;
}

void lookup_answers_destroy(lookup_answers_t *c)
{
    if (c == NULL)
        return;
    reset(c);
    free(c);
}

size_t lookup_answers_bytes(const lookup_answers_t *c)
{
    return c->bytes;
}

static void take_generation(lookup_answers_t *c, const db_stamp_t *s)
{
    if (c->gen != s->gen || c->schema != s->schema) {
        reset(c);
        c->gen = s->gen;
        c->schema = s->schema;
    }
}

bool lookup_answers_get(lookup_answers_t *c, const db_stamp_t *s, const form_t *f, lookup_result_t *res)
{
    take_generation(c, s);
    anode_t *n = c->root;
    while (n && n->name)
        n = edge_find(c, n->id, form_get(f, n->name));
    if (n == NULL || n->leaf == NULL)
        return false;
    const leaf_t *l = n->leaf;
    res->rc = 0;
    res->section = l->section;
    res->result = l->result;
    res->what = l->what;
    w3_strlcpy(res->domain, l->domain, sizeof(res->domain));
    w3_strlcpy(res->key, l->key, sizeof(res->key));
    xg_out_free(&res->body);
    res->body.data = xmalloc(l->len + 1);
    memcpy(res->body.data, l->body, l->len + 1);
    res->body.len = l->len;
    return true;
}

void lookup_answers_put(lookup_answers_t *c, const db_stamp_t *s, const lookup_reads_t *reads,
                        const lookup_result_t *res)
{
    take_generation(c, s);
    /* only answers: a refusal for a database error is not one to repeat */
    if (reads->n == 0 || reads->overflow || res->rc != 0 || res->body.data == NULL || res->result == MX_SERVER_ERR ||
        res->result == MX_CLIENT_ERR)
        return;
    if (c->root == NULL)
        c->root = node_new(c, reads->v[0].name);
    anode_t *n = c->root;
    for (size_t i = 0; i < reads->n; i++) {
        /* the same values always lead to the same next read; a node that
         * names another field means the lookup was not that function */
        if (n->name == NULL || strcmp(n->name, reads->v[i].name) != 0)
            return;
        anode_t *next = edge_find(c, n->id, reads->v[i].value);
        if (next == NULL) {
            grow(c);
            next = node_new(c, i + 1 < reads->n ? reads->v[i + 1].name : NULL);
            const char *v = reads->v[i].value;
            edge_put(c, n->id, v ? arena_strdup(c, v, strlen(v)) : NULL, next);
        }
        n = next;
    }
    if (n->name != NULL || n->leaf != NULL)
        return;
    leaf_t *l = arena_alloc(c, sizeof(*l));
    l->body = arena_strdup(c, res->body.data, res->body.len);
    l->len = res->body.len;
    l->section = res->section;
    l->result = res->result;
    l->what = res->what;
    w3_strlcpy(l->domain, res->domain, sizeof(l->domain));
    w3_strlcpy(l->key, res->key, sizeof(l->key));
    n->leaf = l;
    if (c->bytes > c->max_bytes) /* bounded: start again (same stamp) */
        reset(c);
}

void lookup_reads_add(void *arg, const char *name, const char *value)
{
    lookup_reads_t *r = arg;
    if (r->n == LOOKUP_READS_MAX) {
        r->overflow = true;
        return;
    }
    /* the name is copied (it may be built in a buffer the caller reuses);
     * a value lives as long as the form */
    if (!w3_strlcpy(r->v[r->n].name, name, sizeof(r->v[r->n].name))) {
        r->overflow = true;
        return;
    }
    r->v[r->n].value = value;
    r->n++;
}
