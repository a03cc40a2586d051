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
 * that changed it. Bounded in bytes: past the bound it is emptied. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "util.h"

typedef struct anode {
    char *name; /* the field read here; NULL: a leaf */
    uint64_t id;
    /* a leaf's answer */
    char *body;
    size_t len;
    metrics_section_t section;
    metrics_result_t result;
    const char *what;
    char domain[254];
    char key[96];
} anode_t;

typedef struct edge {
    uint64_t from;
    char *value; /* NULL: the field was absent */
    anode_t *to; /* NULL: an empty slot */
} edge_t;

struct lookup_answers {
    size_t max_bytes, bytes;
    long long gen; /* the stamp the tree belongs to */
    int schema;
    anode_t *root;
    edge_t *edges;
    size_t cap, used;
    anode_t **nodes; /* every node, for the reset */
    size_t nnodes, capnodes;
    uint64_t next_id;
};

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

static void edge_put(lookup_answers_t *c, uint64_t from, char *value, anode_t *to)
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
    c->used = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].to)
            edge_put(c, old[i].from, old[i].value, old[i].to);
    free(old);
}

static anode_t *node_new(lookup_answers_t *c, const char *name)
{
    anode_t *n = xcalloc(1, sizeof(*n));
    n->name = name ? xstrdup(name) : NULL;
    n->id = ++c->next_id;
    if (c->nnodes == c->capnodes) {
        c->capnodes = c->capnodes ? 2 * c->capnodes : 256;
        c->nodes = xrealloc(c->nodes, c->capnodes * sizeof(*c->nodes));
    }
    c->nodes[c->nnodes++] = n;
    c->bytes += sizeof(*n) + (name ? strlen(name) : 0);
    return n;
}

static void reset(lookup_answers_t *c)
{
    for (size_t i = 0; i < c->nnodes; i++) {
        free(c->nodes[i]->name);
        free(c->nodes[i]->body);
        free(c->nodes[i]);
    }
    for (size_t i = 0; i < c->cap; i++)
        free(c->edges[i].value);
    free(c->edges);
    free(c->nodes);
    c->edges = NULL;
    c->nodes = NULL;
    c->cap = c->used = c->nnodes = c->capnodes = 0;
    c->root = NULL;
    c->bytes = 0;
}

lookup_answers_t *lookup_answers_create(size_t max_bytes)
{
    lookup_answers_t *c = xcalloc(1, sizeof(*c));
    c->max_bytes = max_bytes;
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
    if (n == NULL || n->body == NULL)
        return false;
    res->rc = 0;
    res->section = n->section;
    res->result = n->result;
    res->what = n->what;
    w3_strlcpy(res->domain, n->domain, sizeof(res->domain));
    w3_strlcpy(res->key, n->key, sizeof(res->key));
    xg_out_free(&res->body);
    res->body.data = xmalloc(n->len + 1);
    memcpy(res->body.data, n->body, n->len + 1);
    res->body.len = n->len;
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
            char *value = reads->v[i].value ? xstrdup(reads->v[i].value) : NULL;
            c->bytes += sizeof(edge_t) * 2 + (value ? strlen(value) : 0);
            edge_put(c, n->id, value, next);
        }
        n = next;
    }
    if (n->name != NULL || n->body != NULL)
        return;
    n->body = xmalloc(res->body.len + 1);
    memcpy(n->body, res->body.data, res->body.len);
    n->body[res->body.len] = '\0';
    n->len = res->body.len;
    n->section = res->section;
    n->result = res->result;
    n->what = res->what;
    w3_strlcpy(n->domain, res->domain, sizeof(n->domain));
    w3_strlcpy(n->key, res->key, sizeof(n->key));
    c->bytes += n->len;
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
