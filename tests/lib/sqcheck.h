/* SQL helpers of the schema tests: a database opened the way an operator's
 * sqlite3 session with foreign keys on would be, and assertions on what
 * SQLite accepts or refuses. Strings returned are malloc'd (sq_text) or
 * sqlite3_mprintf'd (sq_ext_sql: sqlite3_free). */
#ifndef W3_SQCHECK_H
#define W3_SQCHECK_H

#include <sqlite3.h>

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define DA "tenantA.edvoip.it"
#define DB "tenantB.edvoip.it"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SB1 "b5000000-0000-4000-8000-000000000001"
#define A1_GOOD "0123456789abcdef0123456789abcdef"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* Header-only: tap.h keeps its counters per translation unit. */
/* First column of the first row as text (malloc'd), NULL when no row. */
static inline char *sq_q_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        printf("# prepare failed: %s: %s\n", sql, sqlite3_errmsg(db));
        return NULL;
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static inline long long sq_q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -999999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        printf("# prepare failed: %s: %s\n", sql, sqlite3_errmsg(db));
        return v;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static inline void sq_is_q(sqlite3 *db, const char *sql, const char *want, const char *label)
{
    char *v = sq_q_text(db, sql);
    is_str(v, want, label);
    free(v);
}

static inline int sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    return rc;
}

/* sql must be refused by SQLite with the given extended error code, and
 * leave count_sql's value unchanged. */
static inline void sq_refused(sqlite3 *db, const char *sql, int want_ext, const char *count_sql, const char *label)
{
    long long before = sq_q_int(db, count_sql);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    int ext = sqlite3_extended_errcode(db);
    /* SQLite quotes the whole CHECK expression: keep its first line only */
    const char *m = msg ? msg : "accepted!";
    int mlen = (int)strcspn(m, "\n");
    if (mlen > 90)
        mlen = 90;
    if (!ok(rc != SQLITE_OK && ext == want_ext, "%s: refused by SQLite (%.*s)", label, mlen, m))
        printf("#   rc %d, extended %d, want %d\n#   sql: %s\n", rc, ext, want_ext, sql);
    sqlite3_free(msg);
    is_int(sq_q_int(db, count_sql), before, "  ...and no row was written");
}

static inline void sq_accepted(sqlite3 *db, const char *sql, const char *label)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (!ok(rc == SQLITE_OK, "%s: accepted", label)) {
        const char *m = msg ? msg : sqlite3_errmsg(db);
        printf("#   %.*s\n#   sql: %s\n", (int)strcspn(m, "\n"), m, sql);
    }
    sqlite3_free(msg);
}

/* An extension INSERT with every column given. */
static inline char *sq_ext_sql(const char *id, const char *tenant, const char *domain, const char *store,
                               const char *user, const char *num, const char *display, const char *a1, const char *cos,
                               const char *fwd)
{
    return sqlite3_mprintf("INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, "
                           "ext_number, display_name, a1_hash, cos, forwarding) VALUES "
                           "(%Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q)",
                           id, tenant, domain, store, user, num, display, a1, cos, fwd);
}

static inline sqlite3 *sq_open_fk(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        printf("# cannot open %s\n", path);
        exit(99);
    }
    sqlite3_busy_timeout(db, 5000);
    sq_exec(db, "PRAGMA foreign_keys=ON");
    return db;
}

#endif
