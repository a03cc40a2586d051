/* The reader's memo of tenant-level rows: what an extension lookup joins
 * besides the extension itself (its tenant, found by domain, and its store:
 * whether the store is the tenant's and the store's caller id). A directory
 * cache miss reads these for every REGISTER of a tenant's users; they only
 * change with a configuration commit, which raises the global generation,
 * so db_read.c keeps them for one trusted configuration stamp and empties
 * the memo when a request sees another one (the answer cache's rule,
 * lookup_answers.c). Bounded: past half its slots it is emptied.
 *
 * Ownership: the memo copies keys and values in; lookups return pointers
 * into it, valid until the next put or clear. destroy accepts NULL. */
#ifndef W3_DB_MEMO_H
#define W3_DB_MEMO_H

#include <stdbool.h>

#include "db.h"

typedef struct db_memo db_memo_t;

typedef struct db_memo_tenant {
    bool found;    /* false: no tenant has this domain */
    bool id_plain; /* its tenant_id is text without a NUL (what SQL compares as t.tenant_id) */
    db_tenant_t t;
} db_memo_tenant_t;

typedef struct db_memo_store {
    bool store_ok;             /* the store exists and is the tenant's */
    char caller_id_number[21]; /* its first enabled trunk's, "" when none */
} db_memo_store_t;

db_memo_t *db_memo_create(void);
void db_memo_destroy(db_memo_t *m);
void db_memo_clear(db_memo_t *m);
/* domain compares as SQLite's NOCASE does (ASCII letters folded). */
const db_memo_tenant_t *db_memo_tenant(const db_memo_t *m, const char *domain);
void db_memo_tenant_put(db_memo_t *m, const char *domain, const db_memo_tenant_t *v);
const db_memo_store_t *db_memo_store(const db_memo_t *m, const char *store_id, const char *tenant_id);
void db_memo_store_put(db_memo_t *m, const char *store_id, const char *tenant_id, const db_memo_store_t *v);

#endif
