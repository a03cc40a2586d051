/* w3voip check: a consistency report of the data, for operators (SPEC §10).
 * The schema refuses most bad rows; these are the problems it cannot see
 * (a DID names its target by ref, a store may have no trunk, a secret may
 * not resolve here, a pattern may not compile) or that a sqlite3 session
 * with foreign keys off let through. Exit 0 clean, 1 problems, 2 usage. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "secret.h"
#include "util.h"

struct report {
    int problems;
    int warnings;
    bool quiet;
};

static void problem(struct report *r, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct report *r, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("PROBLEM %-22s ", kind);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    r->problems++;
}

/* Runs a query whose rows are problems: the first column is the kind, the
 * second the message. */
static int rows_are_problems(sqlite3 *db, struct report *r, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "check: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        problem(r, (const char *)sqlite3_column_text(st, 0), "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    return 0;
}

static const char *const checks[] = {
    /* DID targets */
    "SELECT 'did-target', 'DID ' || d.e164 || ' (' || d.sip_domain || ') points to extension ' || "
    "d.route_target_ref || ', which ' || CASE WHEN e.ext_number IS NULL THEN 'does not exist' ELSE 'is disabled' END "
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
    "json_extract(e.forwarding, '$.busy') = e.ext_number OR json_extract(e.forwarding, '$.no_answer') = e.ext_number",
    /* what foreign keys would have refused (sqlite3 sessions leave them off) */
    "SELECT 'foreign-key', 'row ' || rowid || ' of ' || \"table\" || ' references a missing row of ' || parent "
    "FROM pragma_foreign_key_check",
};

static void check_secrets(sqlite3 *db, struct report *r)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db,
                       "SELECT gateway_name, sip_domain, secret_ref, register FROM voip_trunks WHERE enabled = 1 "
                       "ORDER BY gateway_name",
                       -1, &st, NULL);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *gw = (const char *)sqlite3_column_text(st, 0);
        const char *dom = (const char *)sqlite3_column_text(st, 1);
        const char *ref = (const char *)sqlite3_column_text(st, 2);
        if (ref == NULL) {
            if (sqlite3_column_int(st, 3))
                problem(r, "trunk-secret", "gateway %s (%s) registers but has no secret_ref", gw, dom);
            continue;
        }
        char *secret = NULL;
        const char *why = NULL;
        if (secret_resolve(ref, &secret, &why) != 0)
            problem(r, "trunk-secret",
                    "gateway %s (%s): secret_ref %s does not resolve here (%s); w3voipd leaves it out of "
                    "purpose=gateways",
                    gw, dom, ref, why);
        secret_free(secret);
    }
    sqlite3_finalize(st);
}

static void check_patterns(sqlite3 *db, struct report *r)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT name, sip_domain, pattern FROM voip_routes ORDER BY sip_domain, priority", -1, &st,
                       NULL);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *pattern = (const char *)sqlite3_column_text(st, 2);
        regex_t re;
        int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &re, msg, sizeof(msg));
            problem(r, "route-pattern", "route '%s' (%s): pattern %s does not compile: %s",
                    (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1), pattern, msg);
        } else {
            regfree(&re);
        }
    }
    sqlite3_finalize(st);
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

int cli_check(int argc, char **argv)
{
    const char *db_path = NULL;
    const cli_opt_t opts[] = {{"db", &db_path, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    if (cli_parse(argc, argv, opts, 1, pos, 0, &npos, &help) != 0)
        return 2;
    if (help || db_path == NULL) {
        fprintf(help ? stdout : stderr,
                "Usage: w3voip check --db FILE\n\n"
                "Reports what the schema cannot refuse by itself: DIDs whose extension, ring\n"
                "group or AI agent is missing or disabled, ring group members that are not\n"
                "extensions, stores without an enabled trunk, extensions without a valid\n"
                "a1-hash, trunk secret_refs that do not resolve (in this shell's environment:\n"
                "run it with w3voipd's), gateway names that clash, route patterns that do not\n"
                "compile, and rows that foreign keys would have refused.\n"
                "Exit status: 0 nothing wrong, 1 problems found, 2 usage error.\n");
        return help ? 0 : 2;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "check: cannot open %s: %s\n", db_path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 2;
    }
    sqlite3_busy_timeout(db, 5000);
    struct report r = {0};
    int version = -1;
    if (db_schema_version(db, &version) != 0 || version != db_migrations_count) {
        fprintf(stderr, "check: %s has schema version %d, expected %d (run w3voip init)\n", db_path, version,
                db_migrations_count);
        sqlite3_close(db);
        return 2;
    }
    for (size_t i = 0; i < W3_ARRAY_LEN(checks); i++)
        if (rows_are_problems(db, &r, checks[i]) != 0) {
            sqlite3_close(db);
            return 2;
        }
    check_secrets(db, &r);
    check_patterns(db, &r);
    printf("checked %s: %d tenants, %d extensions, %d DIDs, %d trunks, %d routes: %d problem%s\n", db_path,
           count(db, "SELECT count(*) FROM tenants"), count(db, "SELECT count(*) FROM voip_extensions"),
           count(db, "SELECT count(*) FROM voip_dids"), count(db, "SELECT count(*) FROM voip_trunks"),
           count(db, "SELECT count(*) FROM voip_routes"), r.problems, r.problems == 1 ? "" : "s");
    sqlite3_close(db);
    return r.problems ? 1 : 0;
}
