/* Connections, pragmas and forward-only migrations. */
#include "internal/db_sqlite.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *errdup(const char *fmt, const char *a, const char *b)
{
    w3_buf_t buf = {0};
    w3_buf_printf(&buf, fmt, a ? a : "", b ? b : "");
    return buf.data;
}

static void setup_once(void)
{
    /* SQLite's memory statistics take one process-wide mutex on every
     * allocation and free: the workers' lookups contended on it (futex
     * wake-ups on the cache-miss path). Nothing here reads those
     * statistics. Must precede sqlite3_initialize(). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    db_mem_install();
    sqlite3_initialize();
    db_vfs_install();
}

void db_sqlite_setup(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, setup_once);
}

int db_sqlite_open_handle(const char *path, bool create, int busy_ms, sqlite3 **out, char **err)
{
    sqlite3 *db = NULL;
    db_sqlite_setup();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    /* read-write connections gather their WAL writes (db_vfs.c) */
    int rc = sqlite3_open_v2(path, &db, flags, DB_VFS_NAME);
    if (rc != SQLITE_OK) {
        *err = errdup("cannot open database %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -EIO;
    }
    sqlite3_busy_timeout(db, busy_ms);
    char *msg = NULL;
    /* WAL lets readers run while the writer (or the sqlite3 CLI) commits;
     * synchronous=FULL makes an acknowledged commit survive power loss. */
    rc = sqlite3_exec(db,
                      "PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        *err = errdup("cannot configure database %s: %s", path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
        return -EIO;
    }
    *out = db;
    return 0;
}

int db_conn_open(const char *path, bool create, int busy_ms, db_conn_t **out, char **err)
{
    static const char *const tx_sql[DB_TX_COUNT] = {
        [DB_TX_BEGIN] = "BEGIN IMMEDIATE", [DB_TX_COMMIT] = "COMMIT",       [DB_TX_SAVE] = "SAVEPOINT job",
        [DB_TX_UNDO] = "ROLLBACK TO job",  [DB_TX_RELEASE] = "RELEASE job",
    };
    db_conn_t *c = xcalloc(1, sizeof(*c));
    int rc = db_sqlite_open_handle(path, create, busy_ms, &c->h, err);
    if (rc != 0)
        goto out;
    for (int i = 0; i < DB_TX_COUNT; i++)
        if (sqlite3_prepare_v3(c->h, tx_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->tx[i], NULL) != SQLITE_OK) {
            *err = errdup("cannot prepare the transaction statements: %s%s", sqlite3_errmsg(c->h), NULL);
            rc = -EIO;
            goto out;
        }
    *out = c;
    c = NULL;
out:
    db_conn_close(c);
    return rc;
}

void db_conn_close(db_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->h) {
        sqlite3_stmt *st;
        while ((st = sqlite3_next_stmt(c->h, NULL)) != NULL)
            sqlite3_finalize(st);
        sqlite3_close(c->h);
    }
    db_ckpt_destroy(c->ckpt); /* after the handle: no commit can call its hook */
    free(c);
}

sqlite3 *db_conn_sqlite(db_conn_t *c)
{
    return c->h;
}

const char *db_conn_error(db_conn_t *c)
{
    return c && c->h ? sqlite3_errmsg(c->h) : "no connection";
}

static int tx_step(db_conn_t *c, int which)
{
    int rc = sqlite3_step(c->tx[which]);
    sqlite3_reset(c->tx[which]);
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? -EBUSY : -EIO;
}

int db_tx_begin(db_conn_t *c)
{
    return tx_step(c, DB_TX_BEGIN);
}

int db_tx_commit(db_conn_t *c)
{
    return tx_step(c, DB_TX_COMMIT);
}

void db_tx_rollback(db_conn_t *c)
{
    sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
}

int db_tx_savepoint(db_conn_t *c)
{
    return tx_step(c, DB_TX_SAVE);
}

void db_tx_savepoint_undo(db_conn_t *c)
{
    tx_step(c, DB_TX_UNDO);
}

int db_tx_savepoint_release(db_conn_t *c)
{
    return tx_step(c, DB_TX_RELEASE);
}

static int stop_asked(void *arg)
{
    return atomic_load((const atomic_bool *)arg) ? 1 : 0;
}

int db_foreign_key_check(db_conn_t *c, db_fk_cb cb, void *arg, long *n, const atomic_bool *stop)
{
    sqlite3_stmt *st = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(c->h, "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check", -1, &st, NULL) !=
        SQLITE_OK)
        return -EIO;
    if (stop)
        sqlite3_progress_handler(c->h, 10000, stop_asked, (void *)stop);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        (*n)++;
        if (cb)
            cb((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 2), arg);
    }
    sqlite3_finalize(st);
    sqlite3_progress_handler(c->h, 0, NULL, NULL);
    return rc == SQLITE_DONE ? 0 : rc == SQLITE_INTERRUPT ? -EINTR : -EIO;
}

int db_sqlite_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    *version = sqlite3_column_int(st, 0);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int db_file_schema_version(const char *path, int *version, char **err)
{
    sqlite3 *db = NULL;
    int rc = -EIO;
    db_sqlite_setup();
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        rc = db_sqlite_user_version(db, version);
    if (rc != 0)
        *err = errdup("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rc;
}

int db_schema_version(db_conn_t *c, int *version)
{
    return db_sqlite_user_version(c->h, version);
}

/* Configuration tables whose every change lands in voip_activity_log. The
 * triggers are generated from the live column list so they never drift from
 * the tables; a1_hash is left out of the diff (it is as good as a password)
 * and secret_ref is redacted. */
static const struct audited {
    const char *table;
    const char *pk;     /* expression over X. */
    const char *tenant; /* expression over X. */
    const char *domain; /* expression over X. */
} audited[] = {
    {"tenants", "X.tenant_id", "X.tenant_id", "X.sip_domain"},
    {"stores", "X.store_id", "X.tenant_id", "(SELECT sip_domain FROM tenants WHERE tenant_id = X.tenant_id)"},
    {"voip_trunks", "X.trunk_id", "X.tenant_id", "X.sip_domain"},
    {"voip_extensions", "X.extension_id", "X.tenant_id", "X.sip_domain"},
    {"voip_dids", "X.did_id", "X.tenant_id", "X.sip_domain"},
    {"voip_ring_groups", "X.ring_group_id", "X.tenant_id", "X.sip_domain"},
    {"voip_ring_group_members", "X.ring_group_id || '/' || X.ext_number",
     "(SELECT tenant_id FROM voip_ring_groups WHERE ring_group_id = X.ring_group_id)", "X.sip_domain"},
    {"ai_agents", "X.agent_id", "X.tenant_id", "X.sip_domain"},
    {"voip_routes", "X.route_id", "X.tenant_id", "X.sip_domain"},
};

int db_sqlite_gen_triggers(void)
{
    return (int)W3_ARRAY_LEN(audited) * 3;
}

/* Replaces every "X." in expr with prefix (NEW. / OLD.). */
static void add_expr(w3_buf_t *b, const char *expr, const char *prefix)
{
    for (const char *p = expr; *p;) {
        if (p[0] == 'X' && p[1] == '.') {
            w3_buf_adds(b, prefix);
            p += 2;
        } else {
            w3_buf_add(b, p++, 1);
        }
    }
}

static int add_json_row(sqlite3 *db, w3_buf_t *b, const char *table, const char *prefix)
{
    sqlite3_stmt *st = NULL;
    w3_buf_t q = {0};
    w3_buf_printf(&q, "PRAGMA table_info(%s)", table);
    int rc = sqlite3_prepare_v2(db, q.data, -1, &st, NULL);
    w3_buf_free(&q);
    if (rc != SQLITE_OK)
        return -EIO;
    w3_buf_adds(b, "json_object(");
    bool first = true;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *col = (const char *)sqlite3_column_text(st, 1);
        if (strcmp(col, "a1_hash") == 0)
            continue;
        if (strcmp(col, "secret_ref") == 0) /* where the secret lives is a secret too */
            w3_buf_printf(b, "%s'%s', CASE WHEN %s%s IS NULL THEN NULL ELSE '[redacted]' END", first ? "" : ", ", col,
                          prefix, col);
        else
            w3_buf_printf(b, "%s'%s', %s%s", first ? "" : ", ", col, prefix, col);
        first = false;
    }
    w3_buf_adds(b, ")");
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static bool table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* A migration may rebuild a table the triggers write to (v6 rebuilds
 * voip_activity_log): they are dropped first and recreated after it. */
static int drop_activity_triggers(sqlite3 *db)
{
    static const char *const ops[] = {"insert", "update", "delete"};
    int rc = 0;
    for (size_t i = 0; i < W3_ARRAY_LEN(audited) && rc == 0; i++)
        for (size_t o = 0; o < 3 && rc == 0; o++) {
            w3_buf_t s = {0};
            w3_buf_printf(&s, "DROP TRIGGER IF EXISTS log_%s_%s", audited[i].table, ops[o]);
            rc = sqlite3_exec(db, s.data, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
            w3_buf_free(&s);
        }
    return rc;
}

static int install_activity_triggers(sqlite3 *db, char **err)
{
    static const char *const ops[] = {"insert", "update", "delete"};
    bool gen = table_exists(db, "voip_config_gen"); /* schema v5 */
    for (size_t i = 0; i < W3_ARRAY_LEN(audited); i++) {
        const struct audited *a = &audited[i];
        for (size_t o = 0; o < 3; o++) {
            const char *row = o == 2 ? "OLD." : "NEW.";
            w3_buf_t s = {0};
            w3_buf_printf(&s, "DROP TRIGGER IF EXISTS log_%s_%s;", a->table, ops[o]);
            w3_buf_printf(&s,
                          "CREATE TRIGGER log_%s_%s AFTER %s ON %s BEGIN "
                          "INSERT INTO voip_activity_log (tenant_id, sip_domain, actor, target, op, diff) VALUES (",
                          a->table, ops[o],
                          o == 0   ? "INSERT"
                          : o == 1 ? "UPDATE"
                                   : "DELETE",
                          a->table);
            add_expr(&s, a->tenant, row);
            w3_buf_adds(&s, ", ");
            add_expr(&s, a->domain, row);
            w3_buf_printf(&s, ", COALESCE((SELECT actor FROM voip_actor WHERE k = 1), 'sql'), '%s:' || ", a->table);
            add_expr(&s, a->pk, row);
            w3_buf_printf(&s, ", '%s', json_object(", ops[o]);
            int rc = 0;
            if (o == 0) {
                w3_buf_adds(&s, "'new', ");
                rc = add_json_row(db, &s, a->table, "NEW.");
            } else if (o == 1) {
                w3_buf_adds(&s, "'old', ");
                rc = add_json_row(db, &s, a->table, "OLD.");
                w3_buf_adds(&s, ", 'new', ");
                rc = rc ? rc : add_json_row(db, &s, a->table, "NEW.");
            } else {
                w3_buf_adds(&s, "'old', ");
                rc = add_json_row(db, &s, a->table, "OLD.");
            }
            w3_buf_adds(&s, "));");
            /* the row's tenant, and everything; a provisioning write (its
             * actor set) steps the generation once itself instead */
            if (gen) {
                w3_buf_adds(&s, "INSERT INTO voip_config_gen (tenant_id, gen) SELECT x, 1 FROM (SELECT ");
                add_expr(&s, a->tenant, row);
                w3_buf_adds(&s, " AS x UNION ALL SELECT '') WHERE x IS NOT NULL "
                                "AND NOT EXISTS (SELECT 1 FROM voip_actor) "
                                "ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1;");
            }
            w3_buf_adds(&s, " END;");
            char *msg = NULL;
            if (rc == 0 && sqlite3_exec(db, s.data, NULL, NULL, &msg) != SQLITE_OK) {
                *err = errdup("cannot create activity trigger: %s%s", msg ? msg : sqlite3_errmsg(db), NULL);
                rc = -EIO;
            }
            sqlite3_free(msg);
            w3_buf_free(&s);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int db_migrate(db_conn_t *c, int *from, int *to, char **err)
{
    sqlite3 *db = c->h;
    int version = 0;
    if (db_sqlite_user_version(db, &version) != 0) {
        *err = errdup("cannot read schema version: %s%s", sqlite3_errmsg(db), NULL);
        return -EIO;
    }
    *from = version;
    *to = version;
    if (version > db_migrations_count) {
        char a[16], b[16];
        snprintf(a, sizeof(a), "%d", version);
        snprintf(b, sizeof(b), "%d", db_migrations_count);
        *err = errdup("database schema version %s is newer than this binary (%s): refusing to touch it", a, b);
        return -EPROTO;
    }
    for (int i = version; i < db_migrations_count; i++) {
        const db_migration_t *m = &db_migrations[i];
        char *msg = NULL;
        w3_buf_t pragma = {0};
        w3_buf_printf(&pragma, "PRAGMA user_version=%d;", m->version);
        /* IMMEDIATE: two concurrent `init` runs serialise instead of both
         * applying the same migration. */
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
            goto fail;
        int v = 0;
        if (db_sqlite_user_version(db, &v) != 0)
            goto fail;
        if (v > i) { /* someone else migrated meanwhile */
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
            w3_buf_free(&pragma);
            i = v - 1;
            continue;
        }
        if (drop_activity_triggers(db) != 0 || sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK)
            goto fail;
        if (install_activity_triggers(db, err) != 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            w3_buf_free(&pragma);
            return -EIO;
        }
        if (sqlite3_exec(db, pragma.data, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
            goto fail;
        w3_buf_free(&pragma);
        *to = m->version;
        continue;
    fail:
        *err = errdup("migration %s failed: %s", m->name, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        w3_buf_free(&pragma);
        return -EIO;
    }
    return 0;
}
