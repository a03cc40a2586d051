/* Provisioning rows in and out (db_prov.h). The statements are generated
 * once per connection from one column table per kind, so the load, the
 * upsert and the API shape cannot drift apart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_prov.h"
#include "internal/db_sqlite.h"
#include "util.h"

typedef enum { C_TEXT, C_INT, C_BOOL, C_JSON } ctype_t;

typedef struct col {
    const char *api; /* the field of the JSON object */
    const char *col; /* the column */
    ctype_t type;
} col_t;

static const col_t stores_cols[] = {
    {"store_id", "store_id", C_TEXT},
    {"tenant_id", "tenant_id", C_TEXT},
    {"name", "name", C_TEXT},
    {"enabled", "enabled", C_BOOL},
    {NULL, NULL, C_TEXT},
};
static const col_t trunks_cols[] = {
    {"trunk_id", "trunk_id", C_TEXT},
    {"tenant_id", "tenant_id", C_TEXT},
    {"sip_domain", "sip_domain", C_TEXT},
    {"store_id", "store_id", C_TEXT},
    {"name", "name", C_TEXT},
    {"gateway_name", "gateway_name", C_TEXT},
    {"proxy", "proxy", C_TEXT},
    {"port", "port", C_INT},
    {"transport", "transport", C_TEXT},
    {"register", "register", C_BOOL},
    {"username", "username", C_TEXT},
    {"realm", "realm", C_TEXT},
    {"from_user", "from_user", C_TEXT},
    {"from_domain", "from_domain", C_TEXT},
    {"secret_ref", "secret_ref", C_TEXT},
    {"caller_id_number", "caller_id_number", C_TEXT},
    {"priority", "priority", C_INT},
    {"enabled", "enabled", C_BOOL},
    {NULL, NULL, C_TEXT},
};
static const col_t extensions_cols[] = {
    {"extension_id", "extension_id", C_TEXT},
    {"tenant_id", "tenant_id", C_TEXT},
    {"sip_domain", "sip_domain", C_TEXT},
    {"store_id", "store_id", C_TEXT},
    {"user_id", "user_id", C_TEXT},
    {"ext_number", "ext_number", C_TEXT},
    {"display_name", "display_name", C_TEXT},
    {"a1_hash", "a1_hash", C_TEXT},
    {"cos", "cos", C_TEXT},
    {"forwarding", "forwarding", C_JSON},
    {"voicemail_enabled", "voicemail_enabled", C_BOOL},
    {"enabled", "enabled", C_BOOL},
    {NULL, NULL, C_TEXT},
};
static const col_t ring_groups_cols[] = {
    {"ring_group_id", "ring_group_id", C_TEXT},
    {"tenant_id", "tenant_id", C_TEXT},
    {"sip_domain", "sip_domain", C_TEXT},
    {"store_id", "store_id", C_TEXT},
    {"ref", "ref", C_TEXT},
    {"strategy", "strategy", C_TEXT},
    {"ring_timeout", "ring_timeout", C_INT},
    {"enabled", "enabled", C_BOOL},
    {NULL, NULL, C_TEXT},
};
static const col_t ai_agents_cols[] = {
    {"agent_id", "agent_id", C_TEXT},
    {"tenant_id", "tenant_id", C_TEXT},
    {"sip_domain", "sip_domain", C_TEXT},
    {"ref", "ref", C_TEXT},
    {"name", "name", C_TEXT},
    {"ws_url", "ws_url", C_TEXT},
    {"enabled", "enabled", C_BOOL},
    {NULL, NULL, C_TEXT},
};
static const col_t dids_cols[] = {
    {"did_id", "did_id", C_TEXT},
    {"tenant_id", "tenant_id", C_TEXT},
    {"sip_domain", "sip_domain", C_TEXT},
    {"store_id", "store_id", C_TEXT},
    {"e164", "e164", C_TEXT},
    {"target_type", "route_target_type", C_TEXT},
    {"target_ref", "route_target_ref", C_TEXT},
    {"fallback", "fallback", C_TEXT},
    {"enabled", "enabled", C_BOOL},
    {NULL, NULL, C_TEXT},
};
static const col_t routes_cols[] = {
    {"route_id", "route_id", C_TEXT},
    {"tenant_id", "tenant_id", C_TEXT},
    {"sip_domain", "sip_domain", C_TEXT},
    {"name", "name", C_TEXT},
    {"pattern", "pattern", C_TEXT},
    {"strip_digits", "strip_digits", C_INT},
    {"prepend", "prepend", C_TEXT},
    {"cos_class", "cos_class", C_TEXT},
    {"priority", "priority", C_INT},
    {"enabled", "enabled", C_BOOL},
    {NULL, NULL, C_TEXT},
};

static const struct kind {
    const char *table;
    const col_t *cols; /* the first is the id */
    const char *key;   /* natural key column, for the order and db_prov_owner */
    bool global_key;   /* the natural key is unique across tenants */
} kinds[DB_PK__N] = {
    [DB_PK_STORES] = {"stores", stores_cols, "store_id", true},
    [DB_PK_TRUNKS] = {"voip_trunks", trunks_cols, "gateway_name", true},
    [DB_PK_EXTENSIONS] = {"voip_extensions", extensions_cols, "ext_number", false},
    [DB_PK_RING_GROUPS] = {"voip_ring_groups", ring_groups_cols, "ref", false},
    [DB_PK_AI_AGENTS] = {"ai_agents", ai_agents_cols, "ref", false},
    [DB_PK_DIDS] = {"voip_dids", dids_cols, "e164", true},
    [DB_PK_ROUTES] = {"voip_routes", routes_cols, "name", false},
};

/* statement slots in the connection's provisioning cache */
enum {
    ST_LOAD = 0,
    ST_UPSERT = DB_PK__N,
    ST_DELETE = 2 * DB_PK__N,
    ST_OWNER_ID = 3 * DB_PK__N,
    ST_OWNER_KEY = 4 * DB_PK__N,
    ST_UPDATE = 5 * DB_PK__N,
    ST_FIXED = 6 * DB_PK__N,
    ST_TENANT = ST_FIXED,
    ST_TENANT_JSON,
    ST_TENANT_PUT,
    ST_TENANT_UPDATE,
    ST_TENANT_BY_ID,
    ST_GEN,
    ST_GEN_STEP,
    ST_MEMBERS_DEL,
    ST_MEMBERS_ADD,
    ST_ACTOR_SET,
    ST_ACTOR_CLEAR,
    ST_SAVE,
    ST_UNDO,
    ST_RELEASE,
    ST_REFUSAL,
    ST_PARK_USER,
    ST__N
};
_Static_assert(ST__N <= DB_PROV_CACHE, "the connection's provisioning statement cache is too small");

static void add_value(w3_buf_t *b, const col_t *c)
{
    if (c->type == C_BOOL)
        w3_buf_printf(b, "json(CASE WHEN %s THEN 'true' ELSE 'false' END)", c->col);
    else if (c->type == C_JSON)
        w3_buf_printf(b, "json(%s)", c->col);
    else
        w3_buf_adds(b, c->col);
}

static void gen_load(w3_buf_t *b, db_pkind_t k)
{
    const struct kind *d = &kinds[k];
    w3_buf_adds(b, "SELECT json_group_array(json_object(");
    for (const col_t *c = d->cols; c->api; c++) {
        w3_buf_printf(b, "%s'%s', ", c == d->cols ? "" : ", ", c->api);
        add_value(b, c);
    }
    if (k == DB_PK_STORES)
        w3_buf_adds(b, ", 'sip_domain', ?2");
    if (k == DB_PK_RING_GROUPS)
        w3_buf_adds(b,
                    ", 'members', (SELECT json_group_array(ext_number) FROM (SELECT ext_number FROM "
                    "voip_ring_group_members m WHERE m.ring_group_id = g.ring_group_id AND m.sip_domain = g.sip_domain "
                    "ORDER BY position, ext_number))");
    w3_buf_printf(b, ")) FROM (SELECT * FROM %s g WHERE tenant_id = ?1", d->table);
    w3_buf_adds(b, k == DB_PK_STORES ? " AND ?2 IS NOT NULL" : " AND sip_domain = ?2");
    w3_buf_printf(b, " ORDER BY %s) g", d->key);
}

/* An INSERT, or an UPDATE by id: not an upsert, whose INSERT triggers
 * would fire for a row that is only updated. */
static void gen_write(w3_buf_t *b, db_pkind_t k, bool update)
{
    const struct kind *d = &kinds[k];
    if (update) {
        w3_buf_printf(b, "UPDATE %s SET ", d->table);
        for (const col_t *c = d->cols + 1; c->api; c++)
            w3_buf_printf(b, "%s%s = json_extract(?1, '$.%s')", c == d->cols + 1 ? "" : ", ", c->col, c->api);
        w3_buf_printf(b, " WHERE %s = json_extract(?1, '$.%s')", d->cols[0].col, d->cols[0].api);
        return;
    }
    w3_buf_printf(b, "INSERT INTO %s (", d->table);
    for (const col_t *c = d->cols; c->api; c++)
        w3_buf_printf(b, "%s%s", c == d->cols ? "" : ", ", c->col);
    w3_buf_adds(b, ") VALUES (");
    for (const col_t *c = d->cols; c->api; c++)
        w3_buf_printf(b, "%sjson_extract(?1, '$.%s')", c == d->cols ? "" : ", ", c->api);
    w3_buf_adds(b, ")");
}

static const char *fixed_sql(int which)
{
    switch (which) {
    case ST_TENANT:
        return "SELECT t.tenant_id, t.sip_domain, t.country_code, t.enabled, ifnull(g.gen, 0) FROM tenants t "
               "LEFT JOIN voip_config_gen g ON g.tenant_id = t.tenant_id WHERE t.sip_domain = ?1";
    case ST_TENANT_JSON:
        return "SELECT json_object('tenant_id', tenant_id, 'sip_domain', sip_domain, 'name', name, "
               "'country_code', country_code, 'enabled', json(CASE WHEN enabled THEN 'true' ELSE 'false' END)) "
               "FROM tenants WHERE sip_domain = ?1";
    case ST_TENANT_PUT: /* not an upsert: the country-code triggers' OR IGNORE would not apply */
        return "INSERT INTO tenants (tenant_id, sip_domain, name, country_code, enabled) VALUES "
               "(json_extract(?1, '$.tenant_id'), json_extract(?1, '$.sip_domain'), json_extract(?1, '$.name'), "
               "json_extract(?1, '$.country_code'), json_extract(?1, '$.enabled'))";
    case ST_TENANT_UPDATE:
        return "UPDATE tenants SET name = json_extract(?1, '$.name'), country_code = json_extract(?1, "
               "'$.country_code'), enabled = json_extract(?1, '$.enabled'), "
               "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE tenant_id = json_extract(?1, '$.tenant_id')";
    case ST_TENANT_BY_ID:
        return "SELECT sip_domain FROM tenants WHERE tenant_id = ?1";
    case ST_GEN:
        return "SELECT gen FROM voip_config_gen WHERE tenant_id = ?1";
    case ST_GEN_STEP:
        return "INSERT INTO voip_config_gen (tenant_id, gen) SELECT x, 1 FROM (SELECT ?1 AS x UNION ALL SELECT '') "
               "WHERE true ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1";
    case ST_MEMBERS_DEL:
        return "DELETE FROM voip_ring_group_members WHERE ring_group_id = ?1";
    case ST_MEMBERS_ADD:
        return "INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) "
               "SELECT ?1, ?2, value, key FROM json_each(?3)";
    case ST_ACTOR_SET:
        return "INSERT OR REPLACE INTO voip_actor (k, actor) VALUES (1, ?1)";
    case ST_ACTOR_CLEAR:
        return "DELETE FROM voip_actor";
    case ST_SAVE:
        return "SAVEPOINT prov";
    case ST_UNDO:
        return "ROLLBACK TO prov";
    case ST_RELEASE:
        return "RELEASE prov";
    case ST_PARK_USER: /* 'parked-' + 32 hex: no user_id W3 would send looks like it */
        return "UPDATE voip_extensions SET user_id = 'parked-' || lower(hex(randomblob(16))) WHERE extension_id = ?1";
    case ST_REFUSAL:
        return "INSERT INTO voip_activity_log (tenant_id, sip_domain, actor, target, op, status, diff) "
               "VALUES (?1, ?2, ?3, ?4, ?5, 'refused', ?6)";
    }
    return NULL;
}

/* The statement of a slot, prepared on first use and kept. */
static sqlite3_stmt *stmt(db_conn_t *c, int which)
{
    if (c->prov[which])
        return c->prov[which];
    w3_buf_t b = {0};
    if (which < ST_FIXED) {
        db_pkind_t k = (db_pkind_t)(which % DB_PK__N);
        const struct kind *d = &kinds[k];
        switch (which / DB_PK__N) {
        case 0:
            gen_load(&b, k);
            break;
        case 1:
            gen_write(&b, k, false);
            break;
        case 5:
            gen_write(&b, k, true);
            break;
        case 2:
            w3_buf_printf(&b, "DELETE FROM %s WHERE %s = ?1", d->table, d->cols[0].col);
            break;
        case 3:
            w3_buf_printf(&b, "SELECT tenant_id FROM %s WHERE %s = ?1", d->table, d->cols[0].col);
            break;
        case 4:
            w3_buf_printf(&b, "SELECT tenant_id FROM %s WHERE %s = ?1", d->table, d->key);
            break;
        }
    } else {
        w3_buf_adds(&b, fixed_sql(which));
    }
    if (sqlite3_prepare_v3(c->h, b.data, -1, SQLITE_PREPARE_PERSISTENT, &c->prov[which], NULL) != SQLITE_OK)
        c->prov[which] = NULL;
    w3_buf_free(&b);
    return c->prov[which];
}

static int done(sqlite3_stmt *st, int rc)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Steps a statement that returns no row. */
static int exec(sqlite3_stmt *st)
{
    if (st == NULL)
        return -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return done(st, 0);
    return done(st, (rc & 0xff) == SQLITE_CONSTRAINT ? -EINVAL : -EIO);
}

static int text_one(sqlite3_stmt *st, char **json)
{
    if (st == NULL)
        return -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return done(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return done(st, -EIO);
    w3_buf_t b = {0};
    const unsigned char *v = sqlite3_column_text(st, 0);
    if (v == NULL)
        return done(st, -ENOENT);
    w3_buf_add_utf8(&b, (const char *)v, (size_t)sqlite3_column_bytes(st, 0));
    *json = b.data;
    return done(st, 0);
}

int db_prov_tenant(db_conn_t *c, const char *domain, db_tenant_t *out)
{
    sqlite3_stmt *st = stmt(c, ST_TENANT);
    if (st == NULL)
        return -EIO;
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return done(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return done(st, -EIO);
    memset(out, 0, sizeof(*out));
    w3_strlcpy(out->tenant_id, (const char *)sqlite3_column_text(st, 0), sizeof(out->tenant_id));
    w3_strlcpy(out->sip_domain, (const char *)sqlite3_column_text(st, 1), sizeof(out->sip_domain));
    w3_strlcpy(out->country_code, (const char *)sqlite3_column_text(st, 2), sizeof(out->country_code));
    out->enabled = sqlite3_column_int(st, 3) != 0;
    out->config_gen = sqlite3_column_int64(st, 4);
    return done(st, 0);
}

int db_prov_tenant_json(db_conn_t *c, const char *domain, char **json)
{
    sqlite3_stmt *st = stmt(c, ST_TENANT_JSON);
    if (st)
        sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    return text_one(st, json);
}

int db_prov_tenant_put(db_conn_t *c, const char *row_json, bool exists)
{
    sqlite3_stmt *st = stmt(c, exists ? ST_TENANT_UPDATE : ST_TENANT_PUT);
    if (st)
        sqlite3_bind_text(st, 1, row_json, -1, SQLITE_STATIC);
    return exec(st);
}

int db_prov_tenant_by_id(db_conn_t *c, const char *tenant_id, char domain[254])
{
    char *v = NULL;
    sqlite3_stmt *st = stmt(c, ST_TENANT_BY_ID);
    if (st)
        sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
    int rc = text_one(st, &v);
    if (rc == 0)
        w3_strlcpy(domain, v, 254);
    free(v);
    return rc;
}

int db_prov_gen(db_conn_t *c, const char *tenant_id, long long *gen)
{
    sqlite3_stmt *st = stmt(c, ST_GEN);
    if (st == NULL)
        return -EIO;
    sqlite3_bind_text(st, 1, tenant_id ? tenant_id : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *gen = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    return done(st, rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO);
}

int db_prov_gen_step(db_conn_t *c, const char *tenant_id, long long *gen)
{
    sqlite3_stmt *st = stmt(c, ST_GEN_STEP);
    if (st)
        sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
    int rc = exec(st);
    return rc ? rc : db_prov_gen(c, tenant_id, gen);
}

int db_prov_load(db_conn_t *c, db_pkind_t k, const char *tenant_id, const char *domain, char **json)
{
    sqlite3_stmt *st = stmt(c, ST_LOAD + (int)k);
    if (st) {
        sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
    }
    int rc = text_one(st, json);
    return rc == -ENOENT ? -EIO : rc; /* an aggregate always has a row */
}

int db_prov_owner(db_conn_t *c, db_pkind_t k, bool by_key, const char *value, char owner[65])
{
    if (by_key && !kinds[k].global_key)
        return -ENOENT;
    char *v = NULL;
    sqlite3_stmt *st = stmt(c, (by_key ? ST_OWNER_KEY : ST_OWNER_ID) + (int)k);
    if (st)
        sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
    int rc = text_one(st, &v);
    if (rc == 0)
        w3_strlcpy(owner, v, 65);
    free(v);
    return rc;
}

int db_prov_upsert(db_conn_t *c, db_pkind_t k, const char *row_json, bool exists)
{
    sqlite3_stmt *st = stmt(c, (exists ? ST_UPDATE : ST_UPSERT) + (int)k);
    if (st)
        sqlite3_bind_text(st, 1, row_json, -1, SQLITE_STATIC);
    return exec(st);
}

int db_prov_delete(db_conn_t *c, db_pkind_t k, const char *id)
{
    sqlite3_stmt *st = stmt(c, ST_DELETE + (int)k);
    if (st)
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return exec(st);
}

int db_prov_park_user(db_conn_t *c, const char *extension_id)
{
    sqlite3_stmt *st = stmt(c, ST_PARK_USER);
    if (st)
        sqlite3_bind_text(st, 1, extension_id, -1, SQLITE_STATIC);
    return exec(st);
}

int db_prov_members_set(db_conn_t *c, const char *ring_group_id, const char *domain, const char *members_json)
{
    sqlite3_stmt *st = stmt(c, ST_MEMBERS_DEL);
    if (st)
        sqlite3_bind_text(st, 1, ring_group_id, -1, SQLITE_STATIC);
    int rc = exec(st);
    if (rc != 0 || members_json == NULL)
        return rc;
    st = stmt(c, ST_MEMBERS_ADD);
    if (st) {
        sqlite3_bind_text(st, 1, ring_group_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, members_json, -1, SQLITE_STATIC);
    }
    return exec(st);
}

int db_prov_begin(db_conn_t *c, const char *actor)
{
    int rc = exec(stmt(c, ST_SAVE));
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = stmt(c, ST_ACTOR_SET);
    if (st)
        sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
    rc = exec(st);
    if (rc != 0)
        db_prov_end(c, false);
    return rc;
}

int db_prov_end(db_conn_t *c, bool keep)
{
    int rc = 0;
    if (!keep || (rc = exec(stmt(c, ST_ACTOR_CLEAR))) != 0)
        exec(stmt(c, ST_UNDO));
    int r2 = exec(stmt(c, ST_RELEASE));
    return rc ? rc : r2;
}

int db_prov_refusal(db_conn_t *c, const char *tenant_id, const char *domain, const char *actor, const char *target,
                    const char *op, const char *diff_json)
{
    sqlite3_stmt *st = stmt(c, ST_REFUSAL);
    if (st) {
        sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, op, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, diff_json, -1, SQLITE_STATIC);
    }
    return exec(st);
}
