/* The data side of `w3voip check`: queries whose rows are problems the
 * schema cannot refuse by itself, and walks of the rows the CLI checks with
 * code of its own (secrets, route patterns). */
#include <errno.h>
#include <stdlib.h>

#include "internal/db_sqlite.h"
#include "util.h"

static const char *const checks[] = {
    /* DID targets */
    "SELECT 'did-target', 'DID ' || d.e164 || ' (' || d.sip_domain || ') points to extension ' || "
    "d.route_target_ref || ', which ' || CASE WHEN e.ext_number IS NULL THEN 'does not exist' ELSE 'is disabled' "
    "END "
    "FROM voip_dids d LEFT JOIN voip_extensions e ON e.sip_domain = d.sip_domain AND e.ext_number = "
    "d.route_target_ref WHERE d.enabled = 1 AND d.route_target_type = 'ext' AND (e.ext_number IS NULL OR "
    "e.enabled = 0) ORDER BY d.e164",
    "SELECT 'did-target', 'DID ' || d.e164 || ' (' || d.sip_domain || ') points to ring group ' || "
    "d.route_target_ref || ', which ' || CASE WHEN g.ref IS NULL THEN 'does not exist' ELSE 'is disabled' END "
    "FROM voip_dids d LEFT JOIN voip_ring_groups g ON g.sip_domain = d.sip_domain AND g.ref = d.route_target_ref "
    "WHERE d.enabled = 1 AND d.route_target_type = 'ring' AND (g.ref IS NULL OR g.enabled = 0) ORDER BY d.e164",
    "SELECT 'did-target', 'DID ' || d.e164 || ' (' || d.sip_domain || ') points to AI agent ' || "
    "d.route_target_ref || ', which ' || CASE WHEN a.ref IS NULL THEN 'does not exist' ELSE 'is disabled' END "
    "FROM voip_dids d LEFT JOIN ai_agents a ON a.sip_domain = d.sip_domain AND a.ref = d.route_target_ref "
    "WHERE d.enabled = 1 AND d.route_target_type = 'ai' AND (a.ref IS NULL OR a.enabled = 0) ORDER BY d.e164",
    /* ring groups */
    "SELECT 'ring-member', 'ring group ' || g.ref || ' (' || g.sip_domain || ') lists extension ' || m.ext_number "
    "|| ', which ' || CASE WHEN e.ext_number IS NULL THEN 'does not exist' ELSE 'is disabled' END "
    "FROM voip_ring_group_members m JOIN voip_ring_groups g ON g.ring_group_id = m.ring_group_id "
    "LEFT JOIN voip_extensions e ON e.sip_domain = g.sip_domain AND e.ext_number = m.ext_number "
    "WHERE e.ext_number IS NULL OR e.enabled = 0 ORDER BY g.ref, m.ext_number",
    "SELECT 'ring-empty', 'ring group ' || g.ref || ' (' || g.sip_domain || ') has no members' FROM "
    "voip_ring_groups g WHERE NOT EXISTS (SELECT 1 FROM voip_ring_group_members m WHERE m.ring_group_id = "
    "g.ring_group_id)",
    /* trunks */
    "SELECT 'store-without-trunk', 'store ' || s.name || ' (' || s.store_id || ', ' || t.sip_domain || ') has no "
    "enabled trunk: its extensions cannot call out' FROM stores s JOIN tenants t ON t.tenant_id = s.tenant_id "
    "WHERE s.enabled = 1 AND NOT EXISTS (SELECT 1 FROM voip_trunks tr WHERE tr.store_id = s.store_id AND "
    "tr.enabled = 1) ORDER BY t.sip_domain, s.name",
    "SELECT 'gateway-name-clash', 'gateway names ' || a.gateway_name || ' and ' || b.gateway_name || ' differ only "
    "in case' FROM voip_trunks a JOIN voip_trunks b ON lower(a.gateway_name) = lower(b.gateway_name) AND "
    "a.trunk_id < b.trunk_id",
    /* extensions */
    "SELECT 'extension-a1-hash', 'extension ' || ext_number || '@' || sip_domain || ' has no valid a1-hash' FROM "
    "voip_extensions WHERE a1_hash IS NULL OR length(a1_hash) != 32 OR a1_hash GLOB '*[^0-9a-f]*'",
    "SELECT 'extension-forwarding', 'extension ' || e.ext_number || '@' || e.sip_domain || ' forwards to itself' "
    "FROM voip_extensions e WHERE json_extract(e.forwarding, '$.always') = e.ext_number OR "
    "json_extract(e.forwarding, '$.busy') = e.ext_number OR json_extract(e.forwarding, '$.no_answer') = "
    "e.ext_number",
    "SELECT 'extension-forwarding', 'extension ' || e.ext_number || '@' || e.sip_domain || ' has a forwarding "
    "object with a duplicated key: w3voipd ignores its forwarding' FROM voip_extensions e WHERE "
    "json_valid(e.forwarding) AND (SELECT count(*) FROM json_each(e.forwarding)) != (SELECT count(DISTINCT key) "
    "FROM json_each(e.forwarding))",
    /* the tenant on both sides (rows a sqlite3 session with foreign keys off let in; never used) */
    "SELECT 'cross-tenant', 'trunk ' || tr.gateway_name || ' (' || tr.trunk_id || ', ' || tr.sip_domain || ') is on "
    "store ' || tr.store_id || ' of another tenant: never used' FROM voip_trunks tr JOIN stores s ON s.store_id = "
    "tr.store_id WHERE s.tenant_id != tr.tenant_id ORDER BY tr.gateway_name",
    "SELECT 'cross-tenant', 'extension ' || e.ext_number || '@' || e.sip_domain || ' is on store ' || e.store_id || "
    "' of another tenant: never used' FROM voip_extensions e JOIN stores s ON s.store_id = e.store_id WHERE "
    "s.tenant_id != e.tenant_id ORDER BY e.sip_domain, e.ext_number",
    "SELECT 'cross-tenant', 'DID ' || d.e164 || ' (' || d.sip_domain || ') is on store ' || d.store_id || ' of "
    "another tenant: never used' FROM voip_dids d JOIN stores s ON s.store_id = d.store_id WHERE s.tenant_id != "
    "d.tenant_id ORDER BY d.e164",
    "SELECT 'extension-number', 'extension ' || quote(ext_number) || '@' || sip_domain || ' is not 2-10 digits: "
    "w3voipd refuses calls to it' FROM voip_extensions WHERE length(ext_number) NOT BETWEEN 1 AND 10 OR ext_number "
    "GLOB '*[^0-9]*'",
    "SELECT 'gateway-name', 'trunk ' || trunk_id || ' (' || sip_domain || '): gateway name ' || quote(gateway_name) "
    "|| ' is not a sofia gateway name: w3voipd never uses it' FROM voip_trunks WHERE length(gateway_name) NOT "
    "BETWEEN 1 AND 64 OR gateway_name GLOB '*[^A-Za-z0-9_.-]*'",
    /* what foreign keys would have refused (sqlite3 sessions leave them off) */
    "SELECT 'foreign-key', 'row ' || rowid || ' of ' || \"table\" || ' references a missing row of ' || parent "
    "FROM pragma_foreign_key_check",
};

/* Sets past the limits of schema v3: rows written before the upgrade, or
 * with the limit triggers dropped. ?1 is the limit. */
static const struct limit_check {
    const char *sql;
    int limit;
} limit_checks[] = {
    {"SELECT 'ring-group-size', 'ring group ' || ifnull(g.ref, m.ring_group_id) || ' (' || "
     "ifnull(g.sip_domain, m.sip_domain) || ') has ' || count(*) || ' members, more than the limit of ' || ?1 "
     "FROM voip_ring_group_members m LEFT JOIN voip_ring_groups g ON g.ring_group_id = m.ring_group_id "
     "GROUP BY m.ring_group_id HAVING count(*) > ?1 ORDER BY 2",
     DB_MAX_RING_GROUP_MEMBERS},
    {"SELECT 'tenant-routes', 'tenant ' || sip_domain || ' has ' || count(*) || ' routes, more than the limit of ' "
     "|| ?1 FROM voip_routes GROUP BY sip_domain HAVING count(*) > ?1 ORDER BY sip_domain",
     DB_MAX_TENANT_ROUTES},
    {"SELECT 'store-trunks', 'store ' || ifnull(s.name, '?') || ' (' || tr.store_id || ', ' || "
     "ifnull(t.sip_domain, min(tr.sip_domain)) || ') has ' || count(*) || ' trunks, more than the limit of ' || ?1 "
     "FROM voip_trunks tr LEFT JOIN stores s ON s.store_id = tr.store_id "
     "LEFT JOIN tenants t ON t.tenant_id = s.tenant_id GROUP BY tr.store_id HAVING count(*) > ?1 ORDER BY 2",
     DB_MAX_STORE_TRUNKS},
};

/* Runs one check query (limit bound to ?1 when > 0): cb per row. */
static int run_check(sqlite3 *db, const char *sql, int limit, db_problem_cb cb, void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    if (limit > 0 && sqlite3_bind_int(st, 1, limit) != SQLITE_OK) {
        sqlite3_finalize(st);
        return -EIO;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1), arg);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int db_check_problems(db_reader_t *r, db_problem_cb cb, void *arg)
{
    sqlite3 *db = db_reader_sqlite(r);
    for (size_t i = 0; i < W3_ARRAY_LEN(checks); i++)
        if (run_check(db, checks[i], 0, cb, arg) != 0)
            return -EIO;
    for (size_t i = 0; i < W3_ARRAY_LEN(limit_checks); i++)
        if (run_check(db, limit_checks[i].sql, limit_checks[i].limit, cb, arg) != 0)
            return -EIO;
    return 0;
}

int db_check_trunks(db_reader_t *r, db_check_trunk_cb cb, void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db_reader_sqlite(r),
                           "SELECT gateway_name, sip_domain, secret_ref, register FROM voip_trunks WHERE enabled = 1 "
                           "ORDER BY gateway_name",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3) != 0, arg);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int db_check_routes(db_reader_t *r, db_check_route_cb cb, void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db_reader_sqlite(r),
                           "SELECT name, sip_domain, pattern FROM voip_routes ORDER BY sip_domain, priority", -1, &st,
                           NULL) != SQLITE_OK)
        return -EIO;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), arg);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

int db_check_counts(db_reader_t *r, db_counts_t *out)
{
    sqlite3 *db = db_reader_sqlite(r);
    out->tenants = count(db, "SELECT count(*) FROM tenants");
    out->extensions = count(db, "SELECT count(*) FROM voip_extensions");
    out->dids = count(db, "SELECT count(*) FROM voip_dids");
    out->trunks = count(db, "SELECT count(*) FROM voip_trunks");
    out->routes = count(db, "SELECT count(*) FROM voip_routes");
    return out->tenants < 0 ? -EIO : 0;
}
