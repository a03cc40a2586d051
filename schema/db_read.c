/* The per-worker read-only connection: statements are prepared once and
 * reset after each use (bind/step/reset, as lighttpd's mod_webdav does).
 * The only memory in front of them is the memo of tenant-level rows
 * (internal/db_memo.h), kept for one trusted configuration stamp: every
 * commit of the configuration, the sqlite3 CLI's included, moves the stamp,
 * so such rows are seen by the very next lookup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "util.h"
#include "internal/db_reader.h"

#define GW_SELECT                                                                                                      \
    "SELECT t.tenant_id, t.sip_domain, t.country_code, t.enabled, tr.store_id, tr.trunk_id, tr.gateway_name, "         \
    "tr.proxy, tr.port, tr.transport, tr.register, tr.username, tr.realm, tr.from_user, tr.from_domain, "              \
    "tr.secret_ref, tr.caller_id_number, tr.priority "                                                                 \
    "FROM tenants t LEFT JOIN (SELECT x.* FROM voip_trunks x JOIN stores s ON s.store_id = x.store_id "                \
    "AND s.tenant_id = x.tenant_id AND s.enabled = 1 WHERE x.enabled = 1) tr ON tr.tenant_id = t.tenant_id AND "       \
    "tr.sip_domain = t.sip_domain "                                                                                    \
    "WHERE t.enabled = 1 "

/* rows logged before schema v4 may hold a secret_ref: never shown */
#define REDACT(side)                                                                                                   \
    "'$." side ".secret_ref', CASE WHEN json_extract(diff, '$." side ".secret_ref') IS NULL THEN NULL ELSE "           \
    "'[redacted]' END"
#define REDACTED_DIFF "json_replace(diff, " REDACT("old") ", " REDACT("new") ")"

/* a DID's store is its tenant's; and the generation of that tenant */
#define DID_STORE_OK                                                                                                   \
    "EXISTS (SELECT 1 FROM stores s WHERE s.store_id = d.store_id AND s.tenant_id = d.tenant_id), " GEN("d")
/* a key as SQL compares it once copied into a C string: text, no NUL in it */
#define PLAIN(col) "(typeof(" col ") = 'text' AND instr(" col ", char(0)) = 0)"
/* the extension row; its forwarding object is read in C (db_forwarding_parse) */
#define EXT_IDS PLAIN("e.tenant_id") ", " PLAIN("e.store_id")
#define EXT_SELECT                                                                                                     \
    "SELECT e.extension_id, e.tenant_id, e.sip_domain, e.store_id, e.user_id, e.ext_number, e.display_name, "          \
    "e.a1_hash, e.cos, e.forwarding, e.voicemail_enabled, e.enabled, " EXT_IDS " "                                     \
    "FROM voip_extensions e WHERE e.sip_domain = ?1 AND e.ext_number = ?2"
#define TENANT_IDS PLAIN("t.tenant_id")
#define TENANT_SELECT                                                                                                  \
    "SELECT t.tenant_id, t.sip_domain, t.country_code, t.enabled, COALESCE(g.gen, 0), " TENANT_IDS " FROM tenants t "  \
    "LEFT JOIN voip_config_gen g ON g.tenant_id = t.tenant_id WHERE t.sip_domain = ?1"
#define GEN(row) "COALESCE((SELECT g.gen FROM voip_config_gen g WHERE g.tenant_id = " row ".tenant_id), 0)"

static const char *const sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_TENANT] = TENANT_SELECT,
    [ST_GEN] = "SELECT gen FROM voip_config_gen WHERE tenant_id = ?1",
    [ST_SCHEMA] = "PRAGMA schema_version",
    /* the triggers that step the generation (schema/db.c), all of them */
    [ST_GEN_TRIGGERS] = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'log\\_%' ESCAPE '\\' "
                        "AND sql LIKE '%voip_config_gen%'",
    /* the extension alone: its tenant and store come from ST_TENANT and
     * ST_STORE_CID (or the reader's memo of them) */
    [ST_EXT] = EXT_SELECT,
    /* the tenant on both sides: the extension's store is its tenant's; and
     * that store's caller id */
    [ST_STORE_CID] = "SELECT EXISTS (SELECT 1 FROM stores s WHERE s.store_id = ?1 AND s.tenant_id = ?2), "
                     "(SELECT tr.caller_id_number FROM voip_trunks tr WHERE tr.store_id = ?1 AND tr.tenant_id = ?2 "
                     "AND tr.enabled = 1 AND tr.caller_id_number IS NOT NULL ORDER BY tr.priority, tr.gateway_name "
                     "LIMIT 1)",
    [ST_GW_ALL] = GW_SELECT "ORDER BY t.sip_domain COLLATE NOCASE, tr.store_id, tr.priority, tr.gateway_name",
    [ST_GW_ONE] = GW_SELECT "AND t.sip_domain = ?1 ORDER BY tr.store_id, tr.priority, tr.gateway_name",
    /* exact E.164 by index; the national form by index once per country
     * code in use (never a scan of the DIDs) */
    [ST_DID] = "SELECT d.did_id, d.tenant_id, d.sip_domain, d.store_id, d.e164, d.route_target_type, "
               "d.route_target_ref, d.fallback, d.enabled, t.enabled, " DID_STORE_OK " FROM voip_dids d "
               "JOIN tenants t ON t.tenant_id = d.tenant_id AND t.sip_domain = d.sip_domain WHERE d.e164 = ?1 "
               "UNION ALL "
               "SELECT d.did_id, d.tenant_id, d.sip_domain, d.store_id, d.e164, d.route_target_type, "
               "d.route_target_ref, d.fallback, d.enabled, t.enabled, " DID_STORE_OK " FROM voip_country_codes c "
               "JOIN voip_dids d ON d.e164 = '+' || c.country_code || ?2 "
               "JOIN tenants t ON t.tenant_id = d.tenant_id AND t.sip_domain = d.sip_domain "
               "AND t.country_code = c.country_code WHERE ?2 IS NOT NULL LIMIT 4",
    [ST_TRUNK_OWNER] = "SELECT tenant_id FROM voip_trunks WHERE gateway_name = ?1",
    [ST_AGENT] = "SELECT ref, ws_url, enabled FROM ai_agents WHERE sip_domain = ?1 AND ref = ?2",
    [ST_RING] = "SELECT ring_group_id, ref, strategy, ring_timeout, enabled FROM voip_ring_groups "
                "WHERE sip_domain = ?1 AND ref = ?2",
    [ST_RING_MEMBERS] = "SELECT m.ext_number, COALESCE(e.enabled, 0), COALESCE(e.voicemail_enabled, 0) "
                        "FROM voip_ring_group_members m JOIN voip_ring_groups g ON g.ring_group_id = m.ring_group_id "
                        /* a member is an extension of the group's own tenant, whatever the
                         * member row says about its domain */
                        "LEFT JOIN voip_extensions e ON e.sip_domain = g.sip_domain AND e.tenant_id = g.tenant_id "
                        "AND e.ext_number = m.ext_number "
                        "WHERE m.ring_group_id = ?1 AND m.sip_domain = g.sip_domain ORDER BY m.position, m.ext_number "
                        "LIMIT 65", /* DB_MAX_RING_GROUP_MEMBERS
                                       + 1
                                     */
    [ST_ROUTES] = "SELECT route_id, name, pattern, strip_digits, prepend, cos_class, priority FROM voip_routes "
                  "WHERE sip_domain = ?1 AND enabled = 1 ORDER BY priority, route_id LIMIT ?2",
    [ST_STORE_TRUNKS] = "SELECT tr.tenant_id, tr.sip_domain, tr.store_id, tr.trunk_id, tr.gateway_name, tr.proxy, "
                        "tr.caller_id_number, tr.priority, tr.tenant_id = ?3 AND s.tenant_id = ?3 "
                        "FROM voip_trunks tr JOIN stores s ON s.store_id = tr.store_id "
                        "WHERE tr.store_id = ?1 AND tr.enabled = 1 AND s.enabled = 1 "
                        "ORDER BY tr.priority, tr.gateway_name LIMIT ?2",
/* Only rows whose tenant owns the domain, as a provisioning write sees them. */
#define OWNED "tenant_id = (SELECT tenant_id FROM tenants WHERE sip_domain = ?1)"
#define JBOOL(c) "json(CASE WHEN " c " THEN 'true' ELSE 'false' END)"
    [ST_API_TRUNKS] =
        "SELECT json_group_array(json_object('trunk_id', trunk_id, 'tenant_id', tenant_id, 'sip_domain', "
        "sip_domain, 'store_id', store_id, 'name', name, 'gateway_name', gateway_name, 'proxy', proxy, "
        "'port', port, 'transport', transport, 'register', " JBOOL(
            "register") ", 'username', username, "
                        "'realm', realm, 'from_user', from_user, 'from_domain', from_domain, 'caller_id_number', "
                        "caller_id_number, 'priority', priority, 'enabled', " JBOOL(
                            "enabled") ")) FROM "
                                       "(SELECT * FROM voip_trunks WHERE sip_domain = ?1 AND " OWNED
                                       " ORDER BY store_id, priority, "
                                       "gateway_name)",
    [ST_API_DIDS] = "SELECT json_group_array(json_object('did_id', did_id, 'tenant_id', tenant_id, 'sip_domain', "
                    "sip_domain, 'store_id', store_id, 'e164', e164, 'target_type', route_target_type, 'target_ref', "
                    "route_target_ref, 'fallback', fallback, 'enabled', " JBOOL(
                        "enabled") ")) FROM "
                                   "(SELECT * FROM voip_dids WHERE sip_domain = ?1 AND " OWNED " ORDER BY e164)",
    [ST_API_EXTS] =
        "SELECT json_group_array(json_object('extension_id', extension_id, 'tenant_id', tenant_id, "
        "'sip_domain', sip_domain, 'store_id', store_id, 'user_id', user_id, 'ext_number', ext_number, "
        "'display_name', display_name, 'cos', cos, 'forwarding', json(forwarding), "
        "'voicemail_enabled', " JBOOL("voicemail_enabled") ", 'enabled', " JBOOL(
            "enabled") ")) FROM "
                       "(SELECT * FROM voip_extensions WHERE sip_domain = ?1 AND " OWNED " ORDER BY ext_number)",
    [ST_API_ROUTES] =
        "SELECT json_group_array(json_object('route_id', route_id, 'tenant_id', tenant_id, 'sip_domain', "
        "sip_domain, 'name', name, 'pattern', pattern, 'strip_digits', strip_digits, 'prepend', prepend, "
        "'cos_class', cos_class, 'priority', priority, 'enabled', " JBOOL(
            "enabled") ")) FROM "
                       "(SELECT * FROM voip_routes WHERE sip_domain = ?1 AND " OWNED " ORDER BY priority, route_id)",
    [ST_API_RINGS] =
        "SELECT json_group_array(json_object('ring_group_id', g.ring_group_id, 'tenant_id', g.tenant_id, "
        "'sip_domain', g.sip_domain, 'store_id', g.store_id, 'ref', g.ref, 'strategy', g.strategy, "
        "'ring_timeout', g.ring_timeout, 'enabled', " JBOOL(
            "g.enabled") ", 'members', "
                         "(SELECT json_group_array(ext_number) FROM (SELECT ext_number FROM voip_ring_group_members m "
                         "WHERE m.ring_group_id = g.ring_group_id AND m.sip_domain = g.sip_domain ORDER BY position, "
                         "ext_number)))) FROM "
                         "(SELECT * FROM voip_ring_groups WHERE sip_domain = ?1 AND " OWNED " ORDER BY ref) g",
    [ST_API_AGENTS] = "SELECT json_group_array(json_object('agent_id', agent_id, 'tenant_id', tenant_id, 'sip_domain', "
                      "sip_domain, 'ref', ref, 'name', name, 'ws_url', ws_url, 'enabled', " JBOOL(
                          "enabled") ")) FROM "
                                     "(SELECT * FROM ai_agents WHERE sip_domain = ?1 AND " OWNED " ORDER BY ref)",
    [ST_API_STORES] = "SELECT json_group_array(json_object('store_id', store_id, 'tenant_id', tenant_id, 'sip_domain', "
                      "sip_domain, 'name', name, 'enabled', json(CASE WHEN enabled THEN 'true' ELSE 'false' END))) "
                      "FROM (SELECT s.*, t.sip_domain FROM stores s JOIN tenants t ON t.tenant_id = s.tenant_id "
                      "WHERE t.sip_domain = ?1 ORDER BY s.store_id)",
    [ST_API_INBOUND] = "SELECT json_object('tenant_id', tenant_id, 'store_id', store_id, 'target_type', "
                       "route_target_type, 'target_ref', route_target_ref) FROM voip_dids "
                       "WHERE sip_domain = ?1 AND e164 = ?2 AND enabled = 1",
    [ST_API_EXT] = "SELECT json_object('tenant_id', tenant_id, 'store_id', store_id, 'user_id', user_id, 'cos', cos, "
                   "'forwarding', json(forwarding)) FROM voip_extensions WHERE sip_domain = ?1 AND ext_number = ?2",
    [ST_API_CDRS] =
        "SELECT id, json_object('id', id, 'tenant_id', tenant_id, 'store_id', store_id, 'sip_domain', "
        "sip_domain, 'call_id', call_id, 'leg', leg, 'direction', direction, 'from_uri', from_uri, "
        "'to_uri', to_uri, 'did_e164', did_e164, 'ext_number', ext_number, 'user_id', user_id, "
        "'start_ts', start_ts, 'answer_ts', answer_ts, 'end_ts', end_ts, 'billsec', billsec, "
        "'disposition', disposition, 'recording_url', recording_url, 'hangup_cause', hangup_cause, "
        "'sip_call_id', sip_call_id, 'fs_core_uuid', fs_core_uuid, 'fs_uuid', fs_uuid, 'source', source, "
        "'config_gen', config_gen, "
        "'attributed', " JBOOL(
            "attributed") ", 'received_at', received_at, 'meta_json', "
                          "CASE WHEN ?6 THEN json(meta_json) END) FROM voip_cdr WHERE sip_domain = ?1 "
                          "AND (?2 IS NULL OR start_ts >= ?2) AND (?3 IS NULL OR start_ts < ?3) AND id > ?4 "
                          "ORDER BY id LIMIT ?5",
    [ST_API_ACTIVITY] =
        "SELECT id, json_object('id', id, 'ts', ts, 'tenant_id', tenant_id, 'sip_domain', sip_domain, "
        "'actor', actor, 'target', target, 'op', op, 'status', status, 'diff', json(" REDACTED_DIFF ")) "
        "FROM voip_activity_log WHERE sip_domain = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    [ST_LIST_EXTS] = "SELECT ext_number FROM voip_extensions WHERE sip_domain = ?1 AND " OWNED " ORDER BY ext_number",
    [ST_LIST_DIDS] = "SELECT e164 FROM voip_dids WHERE sip_domain = ?1 AND " OWNED " ORDER BY e164",
    [ST_LIST_STORES] = "SELECT store_id FROM stores WHERE tenant_id = ?1 AND enabled = 1 ORDER BY store_id",
};

static int first_text(void *arg, int n, char **v, char **names)
{
    (void)names;
    bool *wal = arg;
    *wal = n > 0 && v[0] && strcmp(v[0], "wal") == 0;
    return 0;
}

static bool journal_is_wal(sqlite3 *db)
{
    bool wal = false;
    return sqlite3_exec(db, "PRAGMA journal_mode", first_text, &wal, NULL) == SQLITE_OK && wal;
}

db_reader_t *db_reader_create(const char *path, int busy_ms, char **err)
{
    db_reader_t *r = xcalloc(1, sizeof(*r));
    db_sqlite_setup();
    int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(r->db, busy_ms);
    if (sqlite3_exec(r->db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(r->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL) != SQLITE_OK)
            goto fail;
    r->wal = journal_is_wal(r->db);
    r->memo = db_memo_create();
    return r;
fail : {
    w3_buf_t b = {0};
    w3_buf_printf(&b, "cannot open %s for reading: %s", path, r->db ? sqlite3_errmsg(r->db) : "out of memory");
    *err = b.data;
    db_reader_destroy(r);
    return NULL;
}
}

void db_reader_destroy(db_reader_t *r)
{
    if (r == NULL)
        return;
    db_read_release(r);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    sqlite3_close(r->db);
    db_memo_destroy(r->memo);
    free(r);
}

sqlite3 *db_reader_sqlite(db_reader_t *r)
{
    if (!r->in_txn)
        db_read_release(r); /* what runs next on it must see the database as it is */
    return r->db;
}

int db_reader_schema_version(db_reader_t *r, int *version)
{
    return db_sqlite_user_version(db_reader_sqlite(r), version);
}

/* Copies a text column; false when it does not fit (a schema CHECK bounds
 * every column, so this means the database was edited around the schema). */
static bool col(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return w3_strlcpy(dst, v ? (const char *)v : "", cap);
}

static int finish(sqlite3_stmt *st, int rc)
{
    return db_reader_finish(st, rc);
}

static int tenant_row(db_reader_t *r, const char *domain, db_tenant_t *out, bool *id_plain);

int db_tenant_by_domain(db_reader_t *r, const char *domain, db_tenant_t *out)
{
    bool id_plain;
    return tenant_row(r, domain, out, &id_plain);
}

static int tenant_row(db_reader_t *r, const char *domain, db_tenant_t *out, bool *id_plain)
{
    sqlite3_stmt *st = db_reader_st(r, ST_TENANT);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return finish(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return finish(st, -EIO);
    bool ok = col(st, 0, out->tenant_id, sizeof(out->tenant_id)) &&
              col(st, 1, out->sip_domain, sizeof(out->sip_domain)) &&
              col(st, 2, out->country_code, sizeof(out->country_code));
    out->enabled = sqlite3_column_int(st, 3) != 0;
    out->config_gen = sqlite3_column_int64(st, 4);
    *id_plain = sqlite3_column_int(st, 5) != 0;
    return finish(st, ok ? 0 : -EIO);
}

int db_config_gen(db_reader_t *r, const char *tenant_id, long long *gen)
{
    sqlite3_stmt *st = db_reader_st(r, ST_GEN);
    sqlite3_bind_text(st, 1, tenant_id ? tenant_id : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *gen = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    return finish(st, rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO);
}

/* A row whose references disagree on the tenant (written with foreign keys
 * off): never used, logged and counted. */
static void inconsistent(const char *table, const char *id, const char *why)
{
    METRICS_INC(inconsistent_rows);
    log_warn("row not used: its tenant disagrees with what it references", "table", table, "id", id, "why", why, NULL);
}

static int ext_row(db_reader_t *r, const char *domain, const char *ext, db_extension_t *out, db_tenant_t *t);

int db_extension_get(db_reader_t *r, const char *domain, const char *ext, db_extension_t *out)
{
    return ext_row(r, domain, ext, out, NULL);
}

int db_user_get(db_reader_t *r, const char *domain, const char *ext, db_tenant_t *t, db_extension_t *out)
{
    return ext_row(r, domain, ext, out, t);
}

/* The tenant whose domain is domain (NOCASE, as the schema's UNIQUE), from
 * the memo when it may answer (memo). */
static int tenant_of(db_reader_t *r, bool memo, const char *domain, db_tenant_t *t, bool *id_plain)
{
    const db_memo_tenant_t *m = memo ? db_memo_tenant(r->memo, domain) : NULL;
    if (m != NULL) {
        METRICS_INC(lookup_memo_hits);
        if (!m->found)
            return -ENOENT;
        *t = m->t;
        *id_plain = m->id_plain;
        return 0;
    }
    int rc = tenant_row(r, domain, t, id_plain);
    if (memo && (rc == 0 || rc == -ENOENT)) {
        db_memo_tenant_t v = {.found = rc == 0};
        if (rc == 0) {
            v.t = *t;
            v.id_plain = *id_plain;
        }
        db_memo_tenant_put(r->memo, domain, &v);
    }
    return rc;
}

/* Whether store_id is a store of tenant_id, and its caller id. */
static int store_of(db_reader_t *r, bool memo, const char *store_id, const char *tenant_id, db_memo_store_t *out)
{
    const db_memo_store_t *m = memo ? db_memo_store(r->memo, store_id, tenant_id) : NULL;
    if (m != NULL) {
        METRICS_INC(lookup_memo_hits);
        *out = *m;
        return 0;
    }
    sqlite3_stmt *st = db_reader_st(r, ST_STORE_CID);
    sqlite3_bind_text(st, 1, store_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tenant_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        return finish(st, -EIO);
    out->store_ok = sqlite3_column_int(st, 0) != 0;
    if (!col(st, 1, out->caller_id_number, sizeof(out->caller_id_number)))
        return finish(st, -EIO);
    finish(st, 0);
    if (memo)
        db_memo_store_put(r->memo, store_id, tenant_id, out);
    return 0;
}

/* The extension row and, when t is not NULL, its tenant's: the tenant
 * whose domain the extension's is. Decided as one join would: no tenant
 * with this domain, or another tenant's, is no row (-ENOENT) whatever the
 * row holds; then a value too long is -EIO; then a store of another tenant
 * is logged and no row. */
static int ext_row(db_reader_t *r, const char *domain, const char *ext, db_extension_t *out, db_tenant_t *t)
{
    sqlite3_stmt *st = db_reader_st(r, ST_EXT);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return finish(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return finish(st, -EIO);
    /* the snapshot is open now: whether the memo may answer in it */
    bool memo = db_reader_memo_usable(r);
    db_tenant_t tt;
    bool tt_plain = false;
    if ((rc = tenant_of(r, memo, domain, &tt, &tt_plain)) != 0)
        return finish(st, rc);
    /* the tenant on both sides, the ids compared as SQL compares them */
    const unsigned char *tid = sqlite3_column_text(st, 1);
    if (!tt_plain || sqlite3_column_int(st, 12) == 0 || tid == NULL || strcmp((const char *)tid, tt.tenant_id) != 0)
        return finish(st, -ENOENT);
    bool ok = col(st, 0, out->extension_id, sizeof(out->extension_id)) &&
              col(st, 1, out->tenant_id, sizeof(out->tenant_id)) &&
              col(st, 2, out->sip_domain, sizeof(out->sip_domain)) &&
              col(st, 3, out->store_id, sizeof(out->store_id)) && col(st, 4, out->user_id, sizeof(out->user_id)) &&
              col(st, 5, out->ext_number, sizeof(out->ext_number)) &&
              col(st, 6, out->display_name, sizeof(out->display_name)) &&
              col(st, 7, out->a1_hash, sizeof(out->a1_hash)) && col(st, 8, out->cos, sizeof(out->cos));
    bool fwd_dup = false;
    const char *fwd = (const char *)sqlite3_column_text(st, 9); /* then its length, as SQLite wants */
    ok = ok && db_forwarding_parse(fwd, (size_t)sqlite3_column_bytes(st, 9), out, &fwd_dup) == 0;
    out->voicemail_enabled = sqlite3_column_int(st, 10) != 0;
    out->enabled = sqlite3_column_int(st, 11) != 0;
    bool store_plain = sqlite3_column_int(st, 13) != 0;
    finish(st, 0);
    if (!ok)
        return -EIO;
    db_memo_store_t so = {.store_ok = false};
    if (store_plain && (rc = store_of(r, memo, out->store_id, out->tenant_id, &so)) != 0)
        return rc;
    memcpy(out->caller_id_number, so.caller_id_number, sizeof(out->caller_id_number));
    out->tenant_enabled = tt.enabled;
    out->config_gen = tt.config_gen;
    if (t)
        *t = tt;
    if (!so.store_ok) {
        inconsistent("voip_extensions", out->extension_id, "its store belongs to another tenant");
        return -ENOENT;
    }
    if (fwd_dup) {
        /* which value counts would depend on the reader: none does */
        inconsistent("voip_extensions", out->extension_id, "forwarding holds a duplicated key: ignored");
        out->fwd_always[0] = out->fwd_busy[0] = out->fwd_no_answer[0] = '\0';
        out->fwd_no_answer_timeout = 0;
    }
    return 0;
}

int db_gateways_walk(db_reader_t *r, const char *domain, const db_gateway_walk_t *w)
{
    sqlite3_stmt *st = db_reader_st(r, domain ? ST_GW_ONE : ST_GW_ALL);
    if (domain)
        sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    db_tenant_t t = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        db_tenant_t cur = {0};
        if (!col(st, 0, cur.tenant_id, sizeof(cur.tenant_id)) || !col(st, 1, cur.sip_domain, sizeof(cur.sip_domain)) ||
            !col(st, 2, cur.country_code, sizeof(cur.country_code)))
            return finish(st, -EIO);
        cur.enabled = sqlite3_column_int(st, 3) != 0;
        if (strcmp(cur.tenant_id, t.tenant_id) != 0) {
            t = cur;
            int cb = w->on_domain ? w->on_domain(&t, w->arg) : 0;
            if (cb)
                return finish(st, cb);
        }
        if (sqlite3_column_type(st, 5) == SQLITE_NULL)
            continue; /* tenant without trunks */
        db_trunk_t tr = {0};
        memcpy(tr.tenant_id, t.tenant_id, sizeof(tr.tenant_id));
        memcpy(tr.sip_domain, t.sip_domain, sizeof(tr.sip_domain));
        bool ok = col(st, 4, tr.store_id, sizeof(tr.store_id)) && col(st, 5, tr.trunk_id, sizeof(tr.trunk_id)) &&
                  col(st, 6, tr.gateway_name, sizeof(tr.gateway_name)) && col(st, 7, tr.proxy, sizeof(tr.proxy)) &&
                  col(st, 9, tr.transport, sizeof(tr.transport)) && col(st, 11, tr.username, sizeof(tr.username)) &&
                  col(st, 12, tr.realm, sizeof(tr.realm)) && col(st, 13, tr.from_user, sizeof(tr.from_user)) &&
                  col(st, 14, tr.from_domain, sizeof(tr.from_domain)) &&
                  col(st, 15, tr.secret_ref, sizeof(tr.secret_ref)) &&
                  col(st, 16, tr.caller_id_number, sizeof(tr.caller_id_number));
        if (!ok)
            return finish(st, -EIO);
        tr.port = sqlite3_column_int(st, 8);
        tr.reg = sqlite3_column_int(st, 10) != 0;
        tr.priority = sqlite3_column_int(st, 17);
        int cb = w->on_trunk(&tr, w->arg);
        if (cb)
            return finish(st, cb);
    }
    return finish(st, rc == SQLITE_DONE ? 0 : -EIO);
}

int db_did_find(db_reader_t *r, const char *exact, const char *national, db_did_t *rows, int max, int *n)
{
    sqlite3_stmt *st = db_reader_st(r, ST_DID);
    sqlite3_bind_text(st, 1, exact, -1, SQLITE_STATIC);
    if (national)
        sqlite3_bind_text(st, 2, national, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 10) == 0) {
            inconsistent("voip_dids", (const char *)sqlite3_column_text(st, 0), "its store belongs to another tenant");
            continue;
        }
        if (*n < max) {
            db_did_t *d = &rows[*n];
            bool ok = col(st, 0, d->did_id, sizeof(d->did_id)) && col(st, 1, d->tenant_id, sizeof(d->tenant_id)) &&
                      col(st, 2, d->sip_domain, sizeof(d->sip_domain)) &&
                      col(st, 3, d->store_id, sizeof(d->store_id)) && col(st, 4, d->e164, sizeof(d->e164)) &&
                      col(st, 5, d->target_type, sizeof(d->target_type)) &&
                      col(st, 6, d->target_ref, sizeof(d->target_ref)) && col(st, 7, d->fallback, sizeof(d->fallback));
            if (!ok)
                return finish(st, -EIO);
            d->enabled = sqlite3_column_int(st, 8) != 0;
            d->tenant_enabled = sqlite3_column_int(st, 9) != 0;
            d->config_gen = sqlite3_column_int64(st, 11);
        }
        (*n)++;
    }
    return finish(st, rc == SQLITE_DONE ? (*n ? 0 : -ENOENT) : -EIO);
}

int db_trunk_owner(db_reader_t *r, const char *gateway_name, char tenant_id[65])
{
    sqlite3_stmt *st = db_reader_st(r, ST_TRUNK_OWNER);
    sqlite3_bind_text(st, 1, gateway_name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return finish(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return finish(st, -EIO);
    return finish(st, col(st, 0, tenant_id, 65) ? 0 : -EIO);
}

int db_agent_get(db_reader_t *r, const char *domain, const char *ref, db_agent_t *out)
{
    sqlite3_stmt *st = db_reader_st(r, ST_AGENT);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return finish(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return finish(st, -EIO);
    bool ok = col(st, 0, out->ref, sizeof(out->ref)) && col(st, 1, out->ws_url, sizeof(out->ws_url));
    out->enabled = sqlite3_column_int(st, 2) != 0;
    return finish(st, ok ? 0 : -EIO);
}

int db_ring_group_get(db_reader_t *r, const char *domain, const char *ref, db_ring_group_t *out)
{
    sqlite3_stmt *st = db_reader_st(r, ST_RING);
    char id[65];
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return finish(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return finish(st, -EIO);
    bool ok = col(st, 0, id, sizeof(id)) && col(st, 1, out->ref, sizeof(out->ref)) &&
              col(st, 2, out->strategy, sizeof(out->strategy));
    out->ring_timeout = sqlite3_column_int(st, 3);
    out->enabled = sqlite3_column_int(st, 4) != 0;
    finish(st, 0);
    if (!ok)
        return -EIO;
    st = db_reader_st(r, ST_RING_MEMBERS);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    out->nmembers = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->nmembers == (int)W3_ARRAY_LEN(out->members))
            return finish(st, -E2BIG); /* the row past the limit */
        db_ring_member_t *m = &out->members[out->nmembers++];
        if (!col(st, 0, m->ext_number, sizeof(m->ext_number)))
            return finish(st, -EIO);
        m->enabled = sqlite3_column_int(st, 1) != 0;
        m->voicemail_enabled = sqlite3_column_int(st, 2) != 0;
    }
    return finish(st, rc == SQLITE_DONE ? 0 : -EIO);
}

int db_routes_list(db_reader_t *r, const char *domain, db_route_t *rows, int max, int *n)
{
    sqlite3_stmt *st = db_reader_st(r, ST_ROUTES);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, max + 1); /* one past the limit, to see it */
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == max)
            return finish(st, -E2BIG);
        db_route_t *x = &rows[(*n)++];
        bool ok = col(st, 0, x->route_id, sizeof(x->route_id)) && col(st, 1, x->name, sizeof(x->name)) &&
                  col(st, 2, x->pattern, sizeof(x->pattern)) && col(st, 4, x->prepend, sizeof(x->prepend)) &&
                  col(st, 5, x->cos_class, sizeof(x->cos_class));
        if (!ok)
            return finish(st, -EIO);
        x->strip_digits = sqlite3_column_int(st, 3);
        x->priority = sqlite3_column_int(st, 6);
    }
    return finish(st, rc == SQLITE_DONE ? 0 : -EIO);
}

int db_store_trunks(db_reader_t *r, const char *store_id, const char *tenant_id, db_trunk_t *rows, int max, int *n)
{
    sqlite3_stmt *st = db_reader_st(r, ST_STORE_TRUNKS);
    sqlite3_bind_text(st, 1, store_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, max + 1); /* one past the limit, to see it */
    sqlite3_bind_text(st, 3, tenant_id, -1, SQLITE_STATIC);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 8) == 0) { /* toll fraud: another tenant's trunk */
            inconsistent("voip_trunks", (const char *)sqlite3_column_text(st, 3),
                         "the trunk or its store belongs to another tenant than the caller's");
            continue;
        }
        if (*n == max)
            return finish(st, -E2BIG);
        db_trunk_t *t = &rows[(*n)++];
        memset(t, 0, sizeof(*t));
        bool ok = col(st, 0, t->tenant_id, sizeof(t->tenant_id)) && col(st, 1, t->sip_domain, sizeof(t->sip_domain)) &&
                  col(st, 2, t->store_id, sizeof(t->store_id)) && col(st, 3, t->trunk_id, sizeof(t->trunk_id)) &&
                  col(st, 4, t->gateway_name, sizeof(t->gateway_name)) && col(st, 5, t->proxy, sizeof(t->proxy)) &&
                  col(st, 6, t->caller_id_number, sizeof(t->caller_id_number));
        if (!ok)
            return finish(st, -EIO);
        t->priority = sqlite3_column_int(st, 7);
    }
    return finish(st, rc == SQLITE_DONE ? 0 : -EIO);
}

static int list(db_reader_t *r, int which, const char *key, db_key_cb cb, void *arg)
{
    sqlite3_stmt *st = db_reader_st(r, which);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    /* copy the keys first: the callback may run other statements */
    char **keys = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        keys = xrealloc(keys, (n + 1) * sizeof(*keys));
        keys[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    finish(st, 0);
    int out = rc == SQLITE_DONE ? 0 : -EIO;
    for (size_t i = 0; i < n; i++) {
        if (out == 0)
            out = cb(keys[i], arg);
        free(keys[i]);
    }
    free(keys);
    return out;
}

int db_list_extensions(db_reader_t *r, const char *domain, db_key_cb cb, void *arg)
{
    return list(r, ST_LIST_EXTS, domain, cb, arg);
}

int db_list_dids(db_reader_t *r, const char *domain, db_key_cb cb, void *arg)
{
    return list(r, ST_LIST_DIDS, domain, cb, arg);
}

int db_list_stores(db_reader_t *r, const char *tenant_id, db_key_cb cb, void *arg)
{
    return list(r, ST_LIST_STORES, tenant_id, cb, arg);
}
