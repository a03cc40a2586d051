/* internal/db_memo.h: two open-addressing tables with linear probing, their
 * slots allocated on first use. A slot is in use when it carries its
 * table's current epoch, so emptying a table is one increment, not a
 * memset of its ~300 KB (it happens at every configuration commit). A key
 * that does not fit a slot is never remembered (the caller queries every
 * time). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "internal/db_memo.h"

#define TENANT_SLOTS 512
#define STORE_SLOTS 1024

typedef struct tenant_slot {
    uint32_t epoch; /* in use when the table's */
    uint64_t hash;
    char domain[254]; /* ASCII letters folded to lower case */
    db_memo_tenant_t v;
} tenant_slot_t;

typedef struct store_slot {
    uint32_t epoch;
    uint64_t hash;
    char store_id[65], tenant_id[65];
    db_memo_store_t v;
} store_slot_t;

struct db_memo {
    tenant_slot_t *tenants;
    store_slot_t *stores;
    size_t ntenants, nstores;
    uint32_t tenant_epoch, store_epoch; /* never 0: a zeroed slot is free */
};

/* The folded domain into out[cap]; false when it does not fit. */
static bool fold(const char *domain, char *out, size_t cap)
{
    size_t i = 0;
    for (; domain[i]; i++) {
        if (i + 1 >= cap)
            return false;
        char c = domain[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[i] = '\0';
    return true;
}

db_memo_t *db_memo_create(void)
{
    db_memo_t *m = xcalloc(1, sizeof(db_memo_t));
    m->tenant_epoch = m->store_epoch = 1;
    return m;
}

void db_memo_destroy(db_memo_t *m)
{
    if (m == NULL)
        return;
    free(m->tenants);
    free(m->stores);
    free(m);
}

/* A new epoch; when the counter wraps, the slots are zeroed once. */
static void next_epoch(uint32_t *epoch, void *slots, size_t bytes)
{
    if (++*epoch == 0) {
        if (slots)
            memset(slots, 0, bytes);
        *epoch = 1;
    }
}

static void clear_tenants(db_memo_t *m)
{
    next_epoch(&m->tenant_epoch, m->tenants, TENANT_SLOTS * sizeof(*m->tenants));
    m->ntenants = 0;
}

static void clear_stores(db_memo_t *m)
{
    next_epoch(&m->store_epoch, m->stores, STORE_SLOTS * sizeof(*m->stores));
    m->nstores = 0;
}

void db_memo_clear(db_memo_t *m)
{
    clear_tenants(m);
    clear_stores(m);
}

/* The slot of key in a table: its own, or the free one where it goes (at
 * most half the slots are in use, so there is one). */
static size_t tenant_find(const db_memo_t *m, uint64_t h, const char *key)
{
    size_t i = h & (TENANT_SLOTS - 1);
    while (m->tenants[i].epoch == m->tenant_epoch &&
           !(m->tenants[i].hash == h && strcmp(m->tenants[i].domain, key) == 0))
        i = (i + 1) & (TENANT_SLOTS - 1);
    return i;
}

const db_memo_tenant_t *db_memo_tenant(const db_memo_t *m, const char *domain)
{
    char key[254];
    if (m->tenants == NULL || !fold(domain, key, sizeof(key)))
        return NULL;
    const tenant_slot_t *s = &m->tenants[tenant_find(m, w3_fnv1a(W3_FNV_OFFSET, key), key)];
    return s->epoch == m->tenant_epoch ? &s->v : NULL;
}

void db_memo_tenant_put(db_memo_t *m, const char *domain, const db_memo_tenant_t *v)
{
    char key[254];
    if (!fold(domain, key, sizeof(key)))
        return;
    if (m->tenants == NULL)
        m->tenants = xcalloc(TENANT_SLOTS, sizeof(*m->tenants));
    uint64_t h = w3_fnv1a(W3_FNV_OFFSET, key);
    tenant_slot_t *s = &m->tenants[tenant_find(m, h, key)];
    if (s->epoch != m->tenant_epoch) { /* a new key: past half the slots, start again */
        if (m->ntenants + 1 > TENANT_SLOTS / 2) {
            clear_tenants(m);
            s = &m->tenants[tenant_find(m, h, key)];
        }
        m->ntenants++;
    }
    s->epoch = m->tenant_epoch;
    s->hash = h;
    memcpy(s->domain, key, sizeof(key));
    s->v = *v;
}

static uint64_t store_hash(const char *store_id, const char *tenant_id)
{
    return w3_fnv1a(w3_fnv1a(W3_FNV_OFFSET, store_id) ^ 0xff, tenant_id);
}

static bool store_fits(const char *store_id, const char *tenant_id)
{
    return strlen(store_id) < sizeof(((store_slot_t *)0)->store_id) &&
           strlen(tenant_id) < sizeof(((store_slot_t *)0)->tenant_id);
}

static size_t store_find(const db_memo_t *m, uint64_t h, const char *store_id, const char *tenant_id)
{
    size_t i = h & (STORE_SLOTS - 1);
    for (;; i = (i + 1) & (STORE_SLOTS - 1)) {
        const store_slot_t *s = &m->stores[i];
        if (s->epoch != m->store_epoch ||
            (s->hash == h && strcmp(s->store_id, store_id) == 0 && strcmp(s->tenant_id, tenant_id) == 0))
            return i;
    }
}

const db_memo_store_t *db_memo_store(const db_memo_t *m, const char *store_id, const char *tenant_id)
{
    if (m->stores == NULL || !store_fits(store_id, tenant_id))
        return NULL;
    const store_slot_t *s = &m->stores[store_find(m, store_hash(store_id, tenant_id), store_id, tenant_id)];
    return s->epoch == m->store_epoch ? &s->v : NULL;
}

void db_memo_store_put(db_memo_t *m, const char *store_id, const char *tenant_id, const db_memo_store_t *v)
{
    if (!store_fits(store_id, tenant_id))
        return;
    if (m->stores == NULL)
        m->stores = xcalloc(STORE_SLOTS, sizeof(*m->stores));
    uint64_t h = store_hash(store_id, tenant_id);
    store_slot_t *s = &m->stores[store_find(m, h, store_id, tenant_id)];
    if (s->epoch != m->store_epoch) {
        if (m->nstores + 1 > STORE_SLOTS / 2) {
            clear_stores(m);
            s = &m->stores[store_find(m, h, store_id, tenant_id)];
        }
        m->nstores++;
    }
    s->epoch = m->store_epoch;
    s->hash = h;
    strcpy(s->store_id, store_id);
    strcpy(s->tenant_id, tenant_id);
    s->v = *v;
}
