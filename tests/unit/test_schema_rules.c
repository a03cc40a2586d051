/* schema/ rules past the basic constraints: the explicit limits of schema
 * v3 and the write-time checks of schema v4 (what may reach FreeSWITCH). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/db_sqlite.h"
#include "harness.h"
#include "sqcheck.h"
#include "tap.h"
#include "util.h"

/* sql must be refused by a limit trigger whose message holds want, and
 * leave count_sql's value unchanged. */
static void over_limit(sqlite3 *db, const char *sql, const char *want, const char *count_sql, const char *label)
{
    long long before = sq_q_int(db, count_sql);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    int ext = sqlite3_extended_errcode(db);
    if (!ok(rc != SQLITE_OK && ext == SQLITE_CONSTRAINT_TRIGGER && msg && strstr(msg, want), "%s: refused (%s)", label,
            msg ? msg : "accepted!"))
        printf("#   rc %d, extended %d, want the message '%s'\n#   sql: %s\n", rc, ext, want, sql);
    sqlite3_free(msg);
    is_int(sq_q_int(db, count_sql), before, "  ...and no row was written");
}

/* 64 members per ring group, 256 routes per tenant, 16 trunks per store:
 * the limit itself is accepted, one past it refused with the number in the
 * message, on INSERT and on an UPDATE that moves a row into a full set. */
static void test_limits(sqlite3 *db)
{
    /* the numbers the C side reports are the ones the triggers enforce */
    is_int(DB_MAX_RING_GROUP_MEMBERS, 64, "DB_MAX_RING_GROUP_MEMBERS is the trigger's 64");
    is_int(DB_MAX_TENANT_ROUTES, 256, "DB_MAX_TENANT_ROUTES is the trigger's 256");
    is_int(DB_MAX_STORE_TRUNKS, 16, "DB_MAX_STORE_TRUNKS is the trigger's 16");
    const char *rg = "SELECT count(*) FROM voip_ring_group_members WHERE ring_group_id = 'rg-full'";
    sq_accepted(db,
                "INSERT INTO voip_ring_groups (ring_group_id, tenant_id, sip_domain, store_id, ref) VALUES "
                "('rg-full', '" TA "', '" DA "', '" SA1 "', 'full'), ('rg-other', '" TA "', '" DA "', '" SA1
                "', 'other')",
                "two ring groups");
    sq_accepted(db,
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 64) "
                "INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, ext_number, "
                "a1_hash) SELECT 'lim-' || i, '" TA "', '" DA "', '" SA1 "', 'u-lim-' || i, 3000 + i, '" A1_GOOD
                "' FROM n",
                "65 extensions 3000..3064");
    sq_accepted(db,
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 62) "
                "INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) "
                "SELECT 'rg-full', '" DA "', 3000 + i, i FROM n",
                "63 members");
    sq_accepted(db,
                "INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) VALUES "
                "('rg-full', '" DA "', '3063', 63)",
                "the 64th member");
    is_int(sq_q_int(db, rg), 64, "  ...the ring group has 64 members");
    over_limit(db,
               "INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) VALUES "
               "('rg-full', '" DA "', '3064', 64)",
               "a ring group has at most 64 members", rg, "the 65th member");
    sq_accepted(db,
                "INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) VALUES "
                "('rg-other', '" DA "', '3064', 1)",
                "a member of another ring group");
    over_limit(db, "UPDATE voip_ring_group_members SET ring_group_id = 'rg-full' WHERE ring_group_id = 'rg-other'",
               "a ring group has at most 64 members", rg, "moving a member into the full ring group");
    sq_accepted(db, "UPDATE voip_ring_group_members SET position = position + 1 WHERE ring_group_id = 'rg-full'",
                "updating the members of the full ring group in place");

    const char *routes = "SELECT count(*) FROM voip_routes WHERE sip_domain = '" DA "'";
    long long have = sq_q_int(db, routes);
    char *s = sqlite3_mprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %lld) "
                              "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) "
                              "SELECT 'lim-r' || i, %Q, %Q, 'r' || i, '^8' || i || '$', 'local' FROM n",
                              255 - have, TA, DA);
    sq_accepted(db, s, "routes up to 255 for tenant A");
    sqlite3_free(s);
    sq_accepted(db,
                "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
                "('lim-r256', '" TA "', '" DA "', 'r256', '^7$', 'local')",
                "the 256th route");
    is_int(sq_q_int(db, routes), 256, "  ...tenant A has 256 routes");
    over_limit(db,
               "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
               "('lim-r257', '" TA "', '" DA "', 'r257', '^6$', 'local')",
               "a tenant has at most 256 routes", routes, "the 257th route");
    over_limit(db,
               "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
               "('lim-r257', '" TA "', 'TENANTA.EDVOIP.IT', 'r257', '^6$', 'local')",
               "a tenant has at most 256 routes", routes, "the 257th route, domain in another case");
    sq_accepted(db,
                "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
                "('lim-rb', '" TB "', '" DB "', 'rb', '^6$', 'local')",
                "a route of tenant B");
    over_limit(db, "UPDATE voip_routes SET tenant_id = '" TA "', sip_domain = '" DA "' WHERE route_id = 'lim-rb'",
               "a tenant has at most 256 routes", routes, "moving tenant B's route to the full tenant A");
    sq_accepted(db, "UPDATE voip_routes SET priority = priority + 1 WHERE sip_domain = '" DA "'",
                "updating the routes of the full tenant in place");

    const char *trunks = "SELECT count(*) FROM voip_trunks WHERE store_id = '" SA1 "'";
    have = sq_q_int(db, trunks);
    s = sqlite3_mprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %lld) "
                        "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy) "
                        "SELECT 'lim-t' || i, %Q, %Q, %Q, 'lim_gw' || i, '127.0.0.' || i FROM n",
                        15 - have, TA, DA, SA1);
    sq_accepted(db, s, "trunks up to 15 for store01 of tenant A");
    sqlite3_free(s);
    sq_accepted(db,
                "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy) VALUES "
                "('lim-t16', '" TA "', '" DA "', '" SA1 "', 'lim_gw16', '127.0.1.16')",
                "the 16th trunk");
    is_int(sq_q_int(db, trunks), 16, "  ...the store has 16 trunks");
    over_limit(db,
               "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy) VALUES "
               "('lim-t17', '" TA "', '" DA "', '" SA1 "', 'lim_gw17', '127.0.1.17')",
               "a store has at most 16 trunks", trunks, "the 17th trunk");
    over_limit(db,
               "UPDATE voip_trunks SET store_id = '" SA1 "' WHERE store_id = 'a5000000-0000-4000-8000-000000000002'",
               "a store has at most 16 trunks", trunks, "moving store02's trunk into the full store01");
    sq_accepted(db, "UPDATE voip_trunks SET priority = priority + 1 WHERE store_id = '" SA1 "'",
                "updating the trunks of the full store in place");

    /* the cascades of a tenant renamed move whole sets, never into a full one */
    sq_accepted(db, "UPDATE tenants SET sip_domain = 'TenantA.EDVOIP.it' WHERE tenant_id = '" TA "'",
                "tenant A's domain in another case, with 256 routes");
    sq_accepted(db, "UPDATE tenants SET sip_domain = 'tenant-a.edvoip.it' WHERE tenant_id = '" TA "'",
                "tenant A renamed, with 256 routes");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_routes WHERE sip_domain = 'tenant-a.edvoip.it'"), 256,
           "  ...its 256 routes follow");
    sq_accepted(db, "UPDATE tenants SET sip_domain = '" DA "' WHERE tenant_id = '" TA "'", "and back");
}

/* The last activity row as "op|actor|target|tenant|domain". */

/* schema v4: what a row may hold when it reaches FreeSWITCH */
static void test_v4(sqlite3 *db)
{
    const char *ext_n = "SELECT count(*) FROM voip_extensions WHERE forwarding LIKE '%always%always%'";
    over_limit(db,
               "UPDATE voip_extensions SET forwarding = '{\"always\":\"101\",\"always\":\"200\"}' WHERE "
               "ext_number = '100' AND sip_domain = '" DA "'",
               "forwarding holds a duplicated key", ext_n, "forwarding with a duplicated key");
    sq_accepted(db,
                "UPDATE voip_extensions SET forwarding = '{\"always\":\"101\",\"busy\":\"200\"}' WHERE "
                "ext_number = '100' AND sip_domain = '" DA "'",
                "forwarding with distinct keys");
    const char *ws_n = "SELECT count(*) FROM ai_agents WHERE ws_url LIKE 'wss://bad%'";
    static const char *const bad_urls[] = {"wss://bad/a,b", "wss://bad/a;b", "wss://bad/a'b", "wss://bad/a b",
                                           "wss://bad/a(b"};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad_urls); i++) {
        char *sql = sqlite3_mprintf("UPDATE ai_agents SET ws_url = %Q WHERE ref = 'agent_voice_default'", bad_urls[i]);
        char label[80];
        snprintf(label, sizeof(label), "ws_url %s", bad_urls[i]);
        over_limit(db, sql, "ws_url may not hold", ws_n, label);
        sqlite3_free(sql);
    }
    const char *rt_n = "SELECT count(*) FROM voip_routes WHERE route_id LIKE 'r-v4-%'";
    static const char *const bad_patterns[] = {"^((0*)*\\2*)*\\1$", "9[0-9]+",  "^9.*$",     "^(0*)*$", "^9[a-z]$",
                                               "^(0*1)*$",          "^(0+1)+$", "^0{1,99}$", "^0{99}$", "^[0-9]{0,64}$",
                                               "^0{,5}$",           "^(|0)*$",  "^()*$",     "^0**$",   "^((0|1)*2)*$"};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad_patterns); i++) {
        char *sql = sqlite3_mprintf("INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, "
                                    "cos_class) VALUES ('r-v4-%d', '" TB "', '" DB "', 'v4-%d', %Q, 'national')",
                                    (int)i, (int)i, bad_patterns[i]);
        char label[120];
        snprintf(label, sizeof(label), "route pattern %s", bad_patterns[i]);
        over_limit(db, sql, "route pattern outside the safe subset", rt_n, label);
        sqlite3_free(sql);
    }
    sq_accepted(db,
                "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
                "('r-v4-ok', '" TB "', '" DB "', 'v4-ok', '^\\+39(0[0-9]{5,10})$', 'national')",
                "an anchored pattern with an escaped + and bounded classes");
    is_int(sq_q_int(db, "SELECT count(*) FROM pragma_table_info('voip_cdr') WHERE name = 'raw_body'"), 1,
           "voip_cdr has raw_body");
    sq_accepted(db, "UPDATE voip_trunks SET secret_ref = 'env:W3_TRUNK_V4' WHERE gateway_name = 'tenantA_store02'",
                "a secret_ref change");
    char *diff = sq_q_text(db, "SELECT diff FROM voip_activity_log ORDER BY id DESC LIMIT 1");
    ok(diff && strstr(diff, "\"secret_ref\":\"[redacted]\"") && !strstr(diff, "W3_TRUNK"),
       "  ...logged with secret_ref redacted on both sides: %s", diff ? diff : "(none)");
    free(diff);
}

int main(void)
{
    char *dir = h_tmpdir();
    char *demo = h_demo_db(dir, "rules.db");
    sqlite3 *db = sq_open_fk(demo);
    test_limits(db);
    test_v4(db);
    sqlite3_close(db);
    free(demo);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
