/* The change feed: the activity log read by id for the event-socket client,
 * and the row a failed apply leaves in it. Statements are prepared per call:
 * the feed is polled a few times a second on its own connection, never on
 * a lookup's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/db_sqlite.h"
#include "util.h"

static void text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    w3_strlcpy(dst, v ? v : "", cap);
}

static int enabled(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int(st, i) != 0;
}

int db_feed_last_id(db_reader_t *r, long long *id)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    *id = 0;
    if (sqlite3_prepare_v2(db_reader_sqlite(r), "SELECT COALESCE(max(id), 0) FROM voip_activity_log", -1, &st, NULL) !=
        SQLITE_OK)
        goto out;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rc = 0;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int db_feed_read(db_reader_t *r, long long after, db_feed_row_t *rows, int max, int *n)
{
    static const char sql[] =
        "SELECT id, substr(target, 1, instr(target, ':') - 1), op, "
        "json_extract(diff, '$.old.sip_domain'), json_extract(diff, '$.new.sip_domain'), "
        "COALESCE(json_extract(diff, '$.old.gateway_name'), json_extract(diff, '$.old.ext_number'), "
        "json_extract(diff, '$.old.store_id')), "
        "COALESCE(json_extract(diff, '$.new.gateway_name'), json_extract(diff, '$.new.ext_number'), "
        "json_extract(diff, '$.new.store_id')), "
        "json_extract(diff, '$.old.enabled'), json_extract(diff, '$.new.enabled') "
        "FROM voip_activity_log WHERE id > ?1 AND status = 'ok' AND op IN ('insert', 'update', 'delete') "
        "ORDER BY id LIMIT ?2";
    sqlite3_stmt *st = NULL;
    int rc = -EIO, step;
    *n = 0;
    if (sqlite3_prepare_v2(db_reader_sqlite(r), sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, max);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        db_feed_row_t *w = &rows[(*n)++];
        memset(w, 0, sizeof(*w));
        w->id = sqlite3_column_int64(st, 0);
        text(st, 1, w->table, sizeof(w->table));
        text(st, 2, w->op, sizeof(w->op));
        text(st, 3, w->old_domain, sizeof(w->old_domain));
        text(st, 4, w->new_domain, sizeof(w->new_domain));
        text(st, 5, w->old_key, sizeof(w->old_key));
        text(st, 6, w->new_key, sizeof(w->new_key));
        w->old_enabled = enabled(st, 7);
        w->new_enabled = enabled(st, 8);
    }
    rc = step == SQLITE_DONE ? 0 : -EIO;
out:
    sqlite3_finalize(st);
    return rc;
}

static int gateways(db_reader_t *r, const char *sql, const char *key, db_key_cb cb, void *arg)
{
    sqlite3_stmt *st = NULL;
    char **keys = NULL;
    size_t n = 0;
    int rc = -EIO, step;
    if (sqlite3_prepare_v2(db_reader_sqlite(r), sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        keys = xrealloc(keys, (n + 1) * sizeof(*keys));
        keys[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    rc = step == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    st = NULL;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cb(keys[i], arg);
out:
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    sqlite3_finalize(st);
    return rc;
}

int db_feed_domain_gateways(db_reader_t *r, const char *domain, db_key_cb cb, void *arg)
{
    return gateways(r, "SELECT gateway_name FROM voip_trunks WHERE sip_domain = ?1 ORDER BY gateway_name", domain, cb,
                    arg);
}

int db_feed_store_gateways(db_reader_t *r, const char *store_id, db_key_cb cb, void *arg)
{
    return gateways(r, "SELECT gateway_name FROM voip_trunks WHERE store_id = ?1 AND enabled = 1 ORDER BY gateway_name",
                    store_id, cb, arg);
}

int db_feed_generations(db_reader_t *r, char **json)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    *json = NULL;
    if (sqlite3_prepare_v2(db_reader_sqlite(r),
                           "SELECT COALESCE(json_group_object(tenant_id, gen), '{}') FROM "
                           "(SELECT tenant_id, gen FROM voip_config_gen WHERE tenant_id <> '' ORDER BY tenant_id)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *json = xstrdup((const char *)sqlite3_column_text(st, 0));
        rc = 0;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int db_feed_failed_insert(db_conn_t *c, const char *node, const char *command, const char *reply, const char *domain)
{
    static const char sql[] =
        "INSERT INTO voip_activity_log (tenant_id, sip_domain, actor, target, op, status, diff) "
        "VALUES ((SELECT tenant_id FROM tenants WHERE sip_domain = ?4), ?4, 'w3voipd', 'fs_node:' || ?1, 'apply', "
        "'failed', json_object('node', ?1, 'command', ?2, 'reply', ?3))";
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    if (sqlite3_prepare_v2(db_conn_sqlite(c), sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, command, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, reply, -1, SQLITE_TRANSIENT);
    if (domain && *domain)
        sqlite3_bind_text(st, 4, domain, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
out:
    sqlite3_finalize(st);
    return rc;
}
