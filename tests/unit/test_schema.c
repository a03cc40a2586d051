/* schema/: migrations, the demo data of SPEC §4 and the constraints that make
 * a bad seed row fail in SQLite itself (SPEC §3). */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "internal/db_sqlite.h"
#include "harness.h"
#include "sqcheck.h"
#include "metrics.h"
#include "tap.h"
#include "util.h"

static void test_migrations(const char *dir)
{
    ok(db_migrations_count >= 1, "at least one migration (%d)", db_migrations_count);
    is_int(db_migrations[0].version, 1, "first migration is version 1");
    is_str(db_migrations[0].name, "001_v1.sql", "first migration name");
    for (int i = 0; i < db_migrations_count; i++)
        is_int(db_migrations[i].version, i + 1, "migrations numbered without gaps");

    char path[600];
    snprintf(path, sizeof(path), "%s/fresh.db", dir);
    db_conn_t *conn = NULL;
    char *err = NULL;
    is_int(db_conn_open(path, false, 1000, &conn, &err), -EIO, "db_conn_open without create on a missing file: -EIO");
    ok(err != NULL, "  ...with an explanation (%s)", err ? err : "(null)");
    free(err);
    err = NULL;

    int rc = db_conn_open(path, true, 1000, &conn, &err);
    if (!is_int(rc, 0, "db_conn_open creates the file")) {
        printf("#   %s\n", err ? err : "");
        free(err);
        return;
    }
    sqlite3 *db = db_conn_sqlite(conn);
    sq_is_q(db, "PRAGMA journal_mode", "wal", "journal_mode WAL");
    is_int(sq_q_int(db, "PRAGMA foreign_keys"), 1, "foreign_keys ON");
    is_int(sq_q_int(db, "PRAGMA synchronous"), 2, "synchronous FULL");
    int v = -1;
    is_int(db_schema_version(conn, &v), 0, "db_schema_version on an empty file");
    is_int(v, 0, "empty file: version 0");

    int from = -1, to = -1;
    rc = db_migrate(conn, &from, &to, &err);
    if (!is_int(rc, 0, "db_migrate on an empty file"))
        printf("#   %s\n", err ? err : "");
    free(err);
    err = NULL;
    is_int(from, 0, "migrated from 0");
    is_int(to, db_migrations_count, "migrated to db_migrations_count");
    db_schema_version(conn, &v);
    is_int(v, db_migrations_count, "user_version = db_migrations_count");

    static const char *const tables[] = {"tenants",
                                         "stores",
                                         "voip_trunks",
                                         "voip_extensions",
                                         "voip_dids",
                                         "voip_ring_groups",
                                         "voip_ring_group_members",
                                         "ai_agents",
                                         "voip_routes",
                                         "voip_actor",
                                         "voip_activity_log",
                                         "voip_cdr",
                                         "voip_cdr_rejects"};
    for (size_t i = 0; i < W3_ARRAY_LEN(tables); i++) {
        char *sql = sqlite3_mprintf("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=%Q", tables[i]);
        char label[100];
        snprintf(label, sizeof(label), "table %s exists", tables[i]);
        is_int(sq_q_int(db, sql), 1, label);
        sqlite3_free(sql);
    }
    is_int(sq_q_int(db, "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'log_%'"), 27,
           "27 activity triggers (9 tables x insert/update/delete)");
    is_int(sq_q_int(db, "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'limit_%'"), 6,
           "6 limit triggers (ring group members, routes, trunks x insert/update)");
    is_int(sq_q_int(db, "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND tbl_name='voip_cdr'"), 0,
           "voip_cdr is not audited");

    long long objects = sq_q_int(db, "SELECT count(*) FROM sqlite_master");
    from = to = -1;
    rc = db_migrate(conn, &from, &to, &err);
    is_int(rc, 0, "db_migrate again");
    free(err);
    err = NULL;
    is_int(from, db_migrations_count, "second run: from = current");
    is_int(to, db_migrations_count, "second run: to = from (nothing applied)");
    is_int(sq_q_int(db, "SELECT count(*) FROM sqlite_master"), objects, "second run: schema objects unchanged");

    /* a database from a newer binary is refused and left alone */
    is_int(sq_exec(db, "PRAGMA user_version=99"), SQLITE_OK, "set user_version 99");
    from = to = -1;
    rc = db_migrate(conn, &from, &to, &err);
    is_int(rc, -EPROTO, "user_version 99: db_migrate returns -EPROTO");
    ok(err != NULL && strstr(err, "99") != NULL, "  ...explaining it (%s)", err ? err : "(null)");
    free(err);
    err = NULL;
    is_int(from, 99, "  ...from 99");
    db_schema_version(conn, &v);
    is_int(v, 99, "  ...version still 99");
    is_int(sq_q_int(db, "SELECT count(*) FROM sqlite_master"), objects, "  ...schema untouched");
    db_conn_close(conn);
}

static void test_demo(sqlite3 *db)
{
    static const struct {
        const char *table;
        int n;
    } counts[] = {{"tenants", 2},
                  {"stores", 3},
                  {"voip_trunks", 3},
                  {"voip_extensions", 4},
                  {"voip_dids", 4},
                  {"voip_ring_groups", 1},
                  {"voip_ring_group_members", 2},
                  {"ai_agents", 1},
                  {"voip_routes", 7},
                  {"voip_cdr", 0}};
    for (size_t i = 0; i < W3_ARRAY_LEN(counts); i++) {
        char sql[200], label[120];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", counts[i].table);
        snprintf(label, sizeof(label), "demo: %d rows in %s", counts[i].n, counts[i].table);
        is_int(sq_q_int(db, sql), counts[i].n, label);
    }
    sq_is_q(db, "SELECT tenant_id FROM tenants WHERE sip_domain='tenantA.edvoip.it'", TA, "tenant A id");
    sq_is_q(db, "SELECT tenant_id FROM tenants WHERE sip_domain='tenantb.EDVOIP.it'", TB,
            "tenant B found with another case (NOCASE)");
    sq_is_q(db, "SELECT group_concat(store_id, ',') FROM (SELECT store_id FROM stores ORDER BY store_id)",
            "a5000000-0000-4000-8000-000000000001,a5000000-0000-4000-8000-000000000002,"
            "b5000000-0000-4000-8000-000000000001",
            "store ids");
    sq_is_q(db, "SELECT proxy || ':' || port FROM voip_trunks WHERE gateway_name='tenantA_store01' AND register=0",
            "127.0.0.1:5090", "tenantA_store01: 127.0.0.1:5090, no registration");
    sq_is_q(db,
            "SELECT username || ' ' || secret_ref FROM voip_trunks WHERE gateway_name='tenantA_store02' AND register=1",
            "0298765432 env:W3_TRUNK_TENANTA_STORE02", "tenantA_store02: registering, username, secret_ref");
    sq_is_q(db, "SELECT proxy || ':' || port FROM voip_trunks WHERE gateway_name='tenantB_store01' AND register=0",
            "127.0.0.1:5095", "tenantB_store01: 127.0.0.1:5095");
    sq_is_q(db, "SELECT user_id FROM voip_extensions WHERE sip_domain='tenantA.edvoip.it' AND ext_number='101'",
            "a1000000-0000-4000-8000-000000000101", "A/101 user id");
    sq_is_q(db,
            "SELECT cos || ' ' || voicemail_enabled FROM voip_extensions WHERE sip_domain='tenantA.edvoip.it' "
            "AND ext_number='200'",
            "international 0", "A/200: international, voicemail off");
    sq_is_q(db,
            "SELECT json_extract(forwarding, '$.no_answer') || '/' || json_extract(forwarding, '$.no_answer_timeout') "
            "FROM voip_extensions WHERE sip_domain='tenantA.edvoip.it' AND ext_number='200'",
            "101/20", "A/200 forwards on no answer to 101 after 20 s");
    sq_is_q(db, "SELECT cos FROM voip_extensions WHERE sip_domain='tenantA.edvoip.it' AND ext_number='100'", "national",
            "A/100 cos national");

    /* the a1 hashes are md5(ext:domain:password) with the SPEC §4 passwords */
    static const struct {
        const char *domain, *ext, *pass;
    } users[] = {{DA, "100", "pass100A"}, {DA, "101", "pass101A"}, {DA, "200", "pass200A"}, {DB, "100", "pass100B"}};
    for (size_t i = 0; i < W3_ARRAY_LEN(users); i++) {
        char in[200], want[33], label[120];
        snprintf(in, sizeof(in), "%s:%s:%s", users[i].ext, users[i].domain, users[i].pass);
        h_md5(in, want);
        char *sql = sqlite3_mprintf("SELECT a1_hash FROM voip_extensions WHERE sip_domain=%Q AND ext_number=%Q",
                                    users[i].domain, users[i].ext);
        snprintf(label, sizeof(label), "a1_hash of %s@%s = md5(ext:domain:%s)", users[i].ext, users[i].domain,
                 users[i].pass);
        sq_is_q(db, sql, want, label);
        sqlite3_free(sql);
    }

    sq_is_q(db,
            "SELECT route_target_type || ' ' || route_target_ref || ' ' || tenant_id FROM voip_dids "
            "WHERE e164='+39061234567'",
            "ai agent_voice_default " TA, "DID +39061234567 -> ai agent_voice_default");
    sq_is_q(db, "SELECT route_target_type || ' ' || route_target_ref FROM voip_dids WHERE e164='+39061234568'",
            "ext 100", "DID +39061234568 -> ext 100");
    sq_is_q(db, "SELECT route_target_type || ' ' || route_target_ref FROM voip_dids WHERE e164='+39021234567'",
            "ring ring_store01", "DID +39021234567 -> ring ring_store01");
    sq_is_q(db, "SELECT tenant_id FROM voip_dids WHERE e164='+39067654321'", TB,
            "DID +39067654321 belongs to tenant B");
    sq_is_q(db,
            "SELECT group_concat(ext_number, ',') FROM (SELECT ext_number FROM voip_ring_group_members "
            "ORDER BY position)",
            "100,101", "ring_store01 members 100, 101");
    sq_is_q(db, "SELECT pattern FROM voip_routes WHERE cos_class='mobile'", "^9(3[0-9]{8,9})$", "mobile route pattern");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_routes WHERE cos_class='emergency'"), 2, "two emergency routes");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_routes WHERE strip_digits=1"), 6, "six routes strip the 9");

    /* seeding through SQL was logged, as actor 'sql' */
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log"), 27, "demo load wrote 27 activity rows");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log WHERE op='insert' AND actor='sql' AND status='ok'"), 27,
           "all of them insert by 'sql'");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log WHERE target LIKE 'voip_dids:%'"), 4,
           "4 DID rows logged");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log WHERE target = "
                        "'voip_ring_group_members:a6000000-0000-4000-8000-000000000001/101'"),
           1, "ring member target is <group>/<ext>");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log WHERE target LIKE 'stores:%' AND sip_domain IS NULL"),
           0, "store rows carry their tenant's domain");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log v JOIN voip_extensions e "
                        "ON instr(v.diff, e.a1_hash) > 0"),
           0, "no a1_hash value in any diff");
}

static void test_constraints(sqlite3 *db)
{
    const char *ext_count = "SELECT count(*) FROM voip_extensions";
    char *s;

    /* the template itself is good (so each refusal below is the one change) */
    s = sq_ext_sql("x1", TA, DA, SA1, "u-x1", "150", "Good Name", A1_GOOD, "local", "{\"busy\":\"101\"}");
    sq_accepted(db, s, "a good extension row");
    sqlite3_free(s);

    s = sq_ext_sql("x2", TA, DB, SA1, "u-x2", "151", "", A1_GOOD, "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_FOREIGNKEY, ext_count, "tenant A id with tenant B's domain (composite FK)");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SB1, "u-x2", "151", "", A1_GOOD, "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_FOREIGNKEY, ext_count, "store of another tenant");
    sqlite3_free(s);
    s = sq_ext_sql("x2", "c0000000-0000-4000-8000-00000000000c", DA, SA1, "u-x2", "151", "", A1_GOOD, "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_FOREIGNKEY, ext_count, "unknown tenant");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", "", "0123456789abcdef0123456789abcde", "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, "a1_hash of 31 hex digits");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", "", "0123456789abcdef0123456789abcdef0", "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, "a1_hash of 33 hex digits");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", "", "0123456789ABCDEF0123456789ABCDEF", "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, "a1_hash in upper-case hex");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", "", "0123456789abcdef0123456789abcdeg", "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, "a1_hash with a non-hex letter");
    sqlite3_free(s);
    s = sqlite3_mprintf("INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, "
                        "ext_number, a1_hash) VALUES ('x2', %Q, %Q, %Q, 'u-x2', '151', NULL)",
                        TA, DA, SA1);
    sq_refused(db, s, SQLITE_CONSTRAINT_NOTNULL, ext_count, "a1_hash NULL");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", "", A1_GOOD, "gold", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, "cos not in the list");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", "", A1_GOOD, "emergency", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, "cos emergency (a route class, not a cos)");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "1a1", "", A1_GOOD, "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, "ext_number with a letter");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "100", "", A1_GOOD, "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_UNIQUE, ext_count, "ext_number already used in the domain");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, "TENANTA.EDVOIP.IT", SA1, "u-x2", "100", "", A1_GOOD, "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_UNIQUE, ext_count, "ext 100 with the domain in upper case is a duplicate");
    sqlite3_free(s);
    s = sq_ext_sql("x2", TA, DA, SA1, "a1000000-0000-4000-8000-000000000100", "151", "", A1_GOOD, "local", "{}");
    sq_refused(db, s, SQLITE_CONSTRAINT_UNIQUE, ext_count, "user_id already has an extension");
    sqlite3_free(s);

    static const char *const bad_names[] = {"Bob ${x}", "$${foo}", "a<?b", "x-pre-process", "tab\there", "nl\nhere"};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad_names); i++) {
        char label[120];
        snprintf(label, sizeof(label), "display_name '%s'", i < 4 ? bad_names[i] : "<control char>");
        s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", bad_names[i], A1_GOOD, "local", "{}");
        sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, label);
        sqlite3_free(s);
    }
    s = sq_ext_sql("x3", TA, DA, SA1, "u-x3", "152", "Cash $ {x} & <b>", A1_GOOD, "local", "{}");
    sq_accepted(db, s, "display_name with a lone $, braces and markup");
    sqlite3_free(s);

    static const char *const bad_fwd[] = {"{\"always\":\"12a\"}",
                                          "{\"busy\":\"0612 345\"}",
                                          "{\"no_answer\":101}",
                                          "{\"no_answer_timeout\":3}",
                                          "{\"no_answer_timeout\":\"20\"}",
                                          "[]",
                                          "not json",
                                          "{\"always\":\"\"}"};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad_fwd); i++) {
        char label[120];
        snprintf(label, sizeof(label), "forwarding %s", bad_fwd[i]);
        s = sq_ext_sql("x2", TA, DA, SA1, "u-x2", "151", "", A1_GOOD, "local", bad_fwd[i]);
        sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, ext_count, label);
        sqlite3_free(s);
    }
    s = sq_ext_sql("x4", TA, DA, SA1, "u-x4", "153", "", A1_GOOD, "local",
                   "{\"always\":\"+39061234567\",\"busy\":\"*98#\",\"no_answer\":\"101\",\"no_answer_timeout\":300}");
    sq_accepted(db, s, "forwarding with every key");
    sqlite3_free(s);

    /* DIDs */
    const char *did_count = "SELECT count(*) FROM voip_dids";
#define DID(id, tenant, domain, store, e164)                                                                           \
    sqlite3_mprintf("INSERT INTO voip_dids (did_id, tenant_id, sip_domain, store_id, e164, route_target_type, "        \
                    "route_target_ref) VALUES (%Q, %Q, %Q, %Q, %Q, 'ext', '100')",                                     \
                    id, tenant, domain, store, e164)
    s = DID("d1", TA, DA, SA1, "+390699999999");
    sq_accepted(db, s, "a good DID");
    sqlite3_free(s);
    s = DID("d2", TA, DA, SA1, "390699999998");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, did_count, "DID without +");
    sqlite3_free(s);
    s = DID("d2", TA, DA, SA1, "+39069999abcd");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, did_count, "DID with letters");
    sqlite3_free(s);
    s = DID("d2", TA, DA, SA1, "+0390699999998");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, did_count, "DID with a leading 0 after +");
    sqlite3_free(s);
    s = DID("d2", TA, DA, SA1, "+39 06 9999 9998");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, did_count, "DID with spaces");
    sqlite3_free(s);
    s = DID("d2", TA, DA, SA1, "+3906999999999999");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, did_count, "DID longer than E.164");
    sqlite3_free(s);
    s = DID("d2", TB, DB, SB1, "+39061234567");
    sq_refused(db, s, SQLITE_CONSTRAINT_UNIQUE, did_count, "the same DID in another tenant");
    sqlite3_free(s);
    s = sqlite3_mprintf("INSERT INTO voip_dids (did_id, tenant_id, sip_domain, store_id, e164, route_target_type, "
                        "route_target_ref) VALUES ('d2', %Q, %Q, %Q, '+390699999997', 'voicemail', '100')",
                        TA, DA, SA1);
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, did_count, "route_target_type not ext/ring/ai");
    sqlite3_free(s);
#undef DID

    /* routes */
    const char *route_count = "SELECT count(*) FROM voip_routes";
    s = sqlite3_mprintf("INSERT INTO voip_routes (route_id, tenant_id, sip_domain, pattern, cos_class) VALUES "
                        "('r1', %Q, %Q, '^9(1[0-9]+)$', 'national')",
                        TA, DA);
    sq_accepted(db, s, "a good route");
    sqlite3_free(s);
    s = sqlite3_mprintf("INSERT INTO voip_routes (route_id, tenant_id, sip_domain, pattern, cos_class) VALUES "
                        "('r2', %Q, %Q, '^9(1[0-9]+)$', 'vip')",
                        TA, DA);
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, route_count, "route cos_class 'vip'");
    sqlite3_free(s);
    s = sqlite3_mprintf("INSERT INTO voip_routes (route_id, tenant_id, sip_domain, pattern, cos_class) VALUES "
                        "('r2', %Q, %Q, '^9(1[0-9]+)$', 'National')",
                        TA, DA);
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, route_count, "route cos_class in another case");
    sqlite3_free(s);
    s = sqlite3_mprintf("INSERT INTO voip_routes (route_id, tenant_id, sip_domain, pattern, cos_class) VALUES "
                        "('r2', %Q, %Q, '^9(1[0-9]+)$', 'national')",
                        TA, DB);
    sq_refused(db, s, SQLITE_CONSTRAINT_FOREIGNKEY, route_count, "route of tenant A in tenant B's domain");
    sqlite3_free(s);

    /* trunks */
    const char *trunk_count = "SELECT count(*) FROM voip_trunks";
#define TRUNK(id, gw, extra_cols, extra_vals)                                                                          \
    sqlite3_mprintf(                                                                                                   \
        "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy" extra_cols           \
        ") VALUES (%Q, %Q, %Q, %Q, %Q, 'sip.example.net'" extra_vals ")",                                              \
        id, TA, DA, SA1, gw)
    s = TRUNK("t1", "tenantA_extra-1.x", "", "");
    sq_accepted(db, s, "a good trunk");
    sqlite3_free(s);
    s = TRUNK("t2", "my gw", "", "");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, trunk_count, "gateway_name with a space");
    sqlite3_free(s);
    s = TRUNK("t2", "gw/1", "", "");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, trunk_count, "gateway_name with a slash");
    sqlite3_free(s);
    s = TRUNK("t2", "tenantB_store01", "", "");
    sq_refused(db, s, SQLITE_CONSTRAINT_UNIQUE, trunk_count, "gateway_name used by another tenant (global)");
    sqlite3_free(s);
    s = TRUNK("t2", "gw_reg", ", register", ", 1");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, trunk_count, "registering trunk without username and secret_ref");
    sqlite3_free(s);
    s = TRUNK("t2", "gw_ref", ", secret_ref", ", 'plain-password'");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, trunk_count, "secret_ref that is not a reference");
    sqlite3_free(s);
    s = TRUNK("t2", "gw_ref2", ", secret_ref", ", 'file:relative/path'");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, trunk_count, "secret_ref file: with a relative path");
    sqlite3_free(s);
    s = TRUNK("t2", "gw_port", ", port", ", 70000");
    sq_refused(db, s, SQLITE_CONSTRAINT_CHECK, trunk_count, "port 70000");
    sqlite3_free(s);
#undef TRUNK

    /* tenants: sip_domain is unique without regard to case */
    const char *tenant_count = "SELECT count(*) FROM tenants";
    sq_refused(db, "INSERT INTO tenants (tenant_id, sip_domain) VALUES ('c1', 'TENANTA.EDVOIP.IT')",
               SQLITE_CONSTRAINT_UNIQUE, tenant_count, "sip_domain differing only by case");
    sq_refused(db, "INSERT INTO tenants (tenant_id, sip_domain) VALUES ('c1', 'tenantA.edvoip.it')",
               SQLITE_CONSTRAINT_UNIQUE, tenant_count, "same sip_domain");
    sq_refused(db, "INSERT INTO tenants (tenant_id, sip_domain) VALUES ('c1', 'bad domain.example')",
               SQLITE_CONSTRAINT_CHECK, tenant_count, "sip_domain with a space");
    sq_refused(db, "INSERT INTO tenants (tenant_id, sip_domain) VALUES ('c1', '-lead.example')",
               SQLITE_CONSTRAINT_CHECK, tenant_count, "sip_domain starting with '-'");
    sq_refused(db, "INSERT INTO tenants (tenant_id, sip_domain, name) VALUES ('c1', 'c.example', 'X ${y}')",
               SQLITE_CONSTRAINT_CHECK, tenant_count, "tenant name holding ${");
    sq_accepted(db, "INSERT INTO tenants (tenant_id, sip_domain) VALUES ('c1', 'c.example')", "a good tenant");
    sq_is_q(db, "SELECT country_code || enabled FROM tenants WHERE tenant_id='c1'", "391", "tenant defaults");

    /* a tenant whose children exist cannot be deleted (FK) */
    sq_refused(db, "DELETE FROM tenants WHERE tenant_id='" TB "'", SQLITE_CONSTRAINT_FOREIGNKEY, tenant_count,
               "deleting a tenant that still has rows");
}

static char *last_log(sqlite3 *db)
{
    return sq_q_text(db, "SELECT op || '|' || actor || '|' || target || '|' || ifnull(tenant_id, '-') || '|' || "
                         "ifnull(sip_domain, '-') FROM voip_activity_log ORDER BY id DESC LIMIT 1");
}

/* OpenEphemeral instructions in the program of sql (-1: not prepared) */
static int ephemeral_opens(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *q = sqlite3_mprintf("EXPLAIN %s", sql);
    int n = sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK ? 0 : -1;
    while (n >= 0 && sqlite3_step(st) == SQLITE_ROW)
        n += strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral") == 0;
    sqlite3_finalize(st);
    sqlite3_free(q);
    return n;
}

/* v8 wrote the CHECKs of direction and disposition as comparisons: the
 * same values pass, and an INSERT builds no temporary b-tree for them. */
static void test_cdr_checks(sqlite3 *db)
{
    const char *n = "SELECT count(*) FROM voip_cdr";
    static const char *const dirs[] = {"'inbound'", "'outbound'", "'internal'", "NULL"};
    static const char *const disps[] = {"'ANSWERED'", "'NO ANSWER'", "'BUSY'", "'FAILED'", "NULL"};
    for (size_t i = 0; i < W3_ARRAY_LEN(dirs); i++)
        for (size_t j = 0; j < W3_ARRAY_LEN(disps); j++) {
            char *q = sqlite3_mprintf("INSERT INTO voip_cdr (call_id, direction, disposition, meta_json) VALUES "
                                      "('chk-%d-%d', %s, %s, '{}')",
                                      (int)i, (int)j, dirs[i], disps[j]);
            char *label = sqlite3_mprintf("a CDR with direction %s, disposition %s", dirs[i], disps[j]);
            sq_accepted(db, q, label);
            sqlite3_free(q);
            sqlite3_free(label);
        }
    static const char *const bad[] = {
        "'sideways', 'BUSY'", "'Inbound', 'BUSY'", "'inbound ', 'BUSY'",      "'', 'BUSY'",
        "'inbound', 'MAYBE'", "'inbound', 'busy'", "'inbound', 'NO  ANSWER'", "'inbound', ''",
    };
    for (size_t i = 0; i < W3_ARRAY_LEN(bad); i++) {
        char *q = sqlite3_mprintf("INSERT INTO voip_cdr (call_id, direction, disposition, meta_json) VALUES "
                                  "('bad-%d', %s, '{}')",
                                  (int)i, bad[i]);
        char *label = sqlite3_mprintf("a CDR with direction, disposition %s", bad[i]);
        sq_refused(db, q, SQLITE_CONSTRAINT_CHECK, n, label);
        sqlite3_free(q);
        sqlite3_free(label);
    }
    is_int(ephemeral_opens(db, "INSERT INTO voip_cdr (call_id, direction, disposition, meta_json) VALUES "
                               "('x', 'inbound', 'BUSY', '{}')"),
           0, "an INSERT into voip_cdr opens no temporary b-tree");
    /* the count itself: the v1 spelling opens one per IN list */
    sqlite3_exec(db,
                 "CREATE TEMP TABLE v1_checks (direction TEXT CHECK (direction IS NULL OR direction IN ('inbound', "
                 "'outbound', 'internal')), disposition TEXT CHECK (disposition IS NULL OR disposition IN "
                 "('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED')))",
                 NULL, NULL, NULL);
    is_int(ephemeral_opens(db, "INSERT INTO v1_checks VALUES ('inbound', 'BUSY')"), 2,
           "the v1 CHECKs, for comparison: two temporary b-trees per INSERT");
    sqlite3_exec(db, "DROP TABLE v1_checks", NULL, NULL, NULL);
}

static void test_activity(sqlite3 *db)
{
    const char *a1a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", *a1b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2";
    long long n0 = sq_q_int(db, "SELECT count(*) FROM voip_activity_log");
    char *s = sq_ext_sql("act-1", TA, DA, SA1, "u-act-1", "170", "Activity", a1a, "local", "{}");
    sq_accepted(db, s, "insert an extension");
    sqlite3_free(s);
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log"), n0 + 1, "insert: one activity row");
    char *l = last_log(db);
    is_str(l, "insert|sql|voip_extensions:act-1|" TA "|" DA, "insert: op, actor sql, target, tenant, domain");
    free(l);
    sq_is_q(db,
            "SELECT json_extract(diff, '$.new.ext_number') || ' ' || json_extract(diff, '$.new.display_name') "
            "FROM voip_activity_log ORDER BY id DESC LIMIT 1",
            "170 Activity", "insert: diff holds the new row");
    is_int(
        sq_q_int(db, "SELECT json_type(diff, '$.new.a1_hash') IS NULL FROM voip_activity_log ORDER BY id DESC LIMIT 1"),
        1, "insert: diff has no a1_hash key");
    is_int(sq_q_int(db, "SELECT json_valid(diff) FROM voip_activity_log ORDER BY id DESC LIMIT 1"), 1,
           "insert: diff is valid JSON");

    char *u = sqlite3_mprintf(
        "UPDATE voip_extensions SET display_name='Renamed', a1_hash=%Q WHERE extension_id='act-1'", a1b);
    sq_accepted(db, u, "update an extension (name and a1_hash)");
    sqlite3_free(u);
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log"), n0 + 2, "update: one activity row");
    l = last_log(db);
    is_str(l, "update|sql|voip_extensions:act-1|" TA "|" DA, "update: op, actor, target");
    free(l);
    sq_is_q(db,
            "SELECT json_extract(diff, '$.old.display_name') || '>' || json_extract(diff, '$.new.display_name') "
            "FROM voip_activity_log ORDER BY id DESC LIMIT 1",
            "Activity>Renamed", "update: diff old and new");

    /* with an actor set by the writer */
    sq_accepted(db, "INSERT INTO voip_actor (k, actor) VALUES (1, 'api:x')", "set voip_actor api:x");
    sq_accepted(db, "UPDATE voip_extensions SET cos='mobile' WHERE extension_id='act-1'", "update as api:x");
    l = last_log(db);
    is_str(l, "update|api:x|voip_extensions:act-1|" TA "|" DA, "with voip_actor set: actor api:x");
    free(l);
    sq_refused(db, "INSERT INTO voip_actor (k, actor) VALUES (2, 'api:y')", SQLITE_CONSTRAINT_CHECK,
               "SELECT count(*) FROM voip_actor", "voip_actor holds one row only (k = 1)");
    sq_accepted(db, "DELETE FROM voip_actor", "clear voip_actor");

    /* a refused change writes no activity row */
    long long n1 = sq_q_int(db, "SELECT count(*) FROM voip_activity_log");
    sq_refused(db, "UPDATE voip_extensions SET cos='gold' WHERE extension_id='act-1'", SQLITE_CONSTRAINT_CHECK,
               "SELECT count(*) FROM voip_activity_log", "refused update");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log"), n1, "refused update: no activity row");

    sq_accepted(db, "DELETE FROM voip_extensions WHERE extension_id='act-1'", "delete the extension");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log"), n1 + 1, "delete: one activity row");
    l = last_log(db);
    is_str(l, "delete|sql|voip_extensions:act-1|" TA "|" DA, "delete: op, actor sql again, target");
    free(l);
    sq_is_q(db, "SELECT json_extract(diff, '$.old.cos') FROM voip_activity_log ORDER BY id DESC LIMIT 1", "mobile",
            "delete: diff holds the old row");

    char *sql = sqlite3_mprintf(
        "SELECT count(*) FROM voip_activity_log WHERE instr(diff, %Q) > 0 OR instr(diff, %Q) > 0", a1a, a1b);
    is_int(sq_q_int(db, sql), 0, "no diff ever holds the a1_hash values");
    sqlite3_free(sql);
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log WHERE target='voip_extensions:act-1'"), 4,
           "four rows for the extension (insert, 2 updates, delete)");

    /* other tables are audited too; CDRs are not */
    sq_accepted(db, "UPDATE voip_routes SET priority=61 WHERE route_id='a9000000-0000-4000-8000-000000000004'",
                "update a route");
    l = last_log(db);
    is_str(l, "update|sql|voip_routes:a9000000-0000-4000-8000-000000000004|" TA "|" DA, "route update logged");
    free(l);
    long long n2 = sq_q_int(db, "SELECT count(*) FROM voip_activity_log");
    sq_accepted(db, "INSERT INTO voip_cdr (call_id, meta_json) VALUES ('c-1', '{}')", "insert a CDR");
    is_int(sq_q_int(db, "SELECT count(*) FROM voip_activity_log"), n2, "a CDR writes no activity row");
}

/* db_config_unchanged(): the answer cache's no-transaction check. It must
 * say "unchanged" only while nothing has committed since the last stamp. */
/* A stamp in a read transaction of its own. */
static db_stamp_t stamp_now(db_reader_t *r)
{
    db_stamp_t s = {.gen = -1};
    db_read_begin(r);
    db_config_stamp(r, &s);
    db_read_end(r);
    return s;
}

static void test_config_unchanged(const char *path)
{
    char *err = NULL;
    db_reader_t *r = db_reader_create(path, 1000, &err);
    if (!ok(r != NULL, "reader on the demo database"))
        return;
    sqlite3 *w = sq_open_fk(path);
    sq_exec(w, "CREATE TABLE scratch(x)"); /* stands for the CDR tables: data, not configuration */
    db_stamp_t st = {.gen = -1}, seen = {.gen = -1};
    ok(!db_config_unchanged(r, &seen), "no stamp yet: cannot tell");

    db_read_begin(r);
    is_int(db_config_stamp(r, &st), 0, "stamp");
    ok(st.trusted, "the demo database's generation is trusted");
    ok(!db_config_unchanged(r, &seen), "inside a read transaction: cannot tell");
    db_read_end(r);
    ok(db_config_unchanged(r, &seen), "nothing committed since the stamp: unchanged");
    ok(seen.gen == st.gen && seen.schema == st.schema && seen.trusted, "  ...with the stamp's generation (%lld)",
       seen.gen);

    sq_exec(w, "BEGIN IMMEDIATE; UPDATE voip_extensions SET display_name = 'Pending' WHERE ext_number = '100'");
    ok(db_config_unchanged(r, &seen), "a write not yet committed changes nothing");
    sq_exec(w, "COMMIT");
    ok(!db_config_unchanged(r, &seen), "a committed configuration write: changed");
    db_stamp_t st2 = stamp_now(r);
    ok(st2.gen > st.gen, "  ...and the next stamp has a newer generation (%lld > %lld)", st2.gen, st.gen);
    ok(db_config_unchanged(r, &seen) && seen.gen == st2.gen, "unchanged again after that stamp");

    sq_exec(w, "INSERT INTO scratch VALUES (1)");
    ok(!db_config_unchanged(r, &seen), "any commit (a CDR) makes it ask again");
    db_stamp_t st3 = stamp_now(r);
    ok(st3.gen == st2.gen && st3.schema == st2.schema, "  ...and the stamp is the same: the cache is kept");

    /* a trigger dropped and re-created by a sqlite3 session: the generation
     * stays, the schema version does not */
    char *trig = sq_q_text(w, "SELECT sql FROM sqlite_master WHERE name = 'log_voip_extensions_update'");
    sq_exec(w, "DROP TRIGGER log_voip_extensions_update");
    sq_exec(w, trig ? trig : "");
    free(trig);
    db_stamp_t st4 = stamp_now(r);
    ok(st4.gen == st3.gen && st4.schema != st3.schema && st4.trusted,
       "a trigger dropped and put back: same generation, another schema version, trusted again");

    /* a stamp whose snapshot started before it (another statement ran
     * first in the transaction) cannot vouch for the header it would see */
    db_read_begin(r);
    db_extension_t ext;
    db_extension_get(r, "tenantA.edvoip.it", "100", &ext);
    sq_exec(w, "UPDATE voip_extensions SET display_name = 'Late' WHERE ext_number = '100'");
    db_stamp_t old = {.gen = -1};
    db_config_stamp(r, &old);
    db_read_end(r);
    ok(old.gen == st4.gen, "the old snapshot still sees generation %lld", st4.gen);
    ok(!db_config_unchanged(r, &seen), "  ...and that stamp is not reused without a transaction");

    /* a WAL restart (checkpoint, then a write) rewrites the header */
    st = stamp_now(r);
    ok(db_config_unchanged(r, &seen) && seen.gen == st.gen, "stamped again");
    sq_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    sq_exec(w, "UPDATE voip_extensions SET display_name = 'After restart' WHERE ext_number = '100'");
    ok(!db_config_unchanged(r, &seen), "a write after a WAL restart: changed");
    sqlite3_close(w);
    db_reader_destroy(r);
}

/* The reader's memo of tenant-level rows: a commit that lands after a kept
 * stamp was taken (the WAL index unchanged since the last one) but before
 * the lookup's snapshot opens is in that snapshot: the memo, filled under
 * the kept stamp, must not answer for it. */
static void test_memo_race(const char *path)
{
    char *err = NULL;
    db_reader_t *r = db_reader_create(path, 1000, &err);
    if (!ok(r != NULL, "reader on a demo database"))
        return;
    sqlite3 *w = sq_open_fk(path);
    db_stamp_t s = {.gen = -1};
    db_tenant_t t;
    db_extension_t e;
    db_read_begin(r);
    db_config_stamp(r, &s);
    int rc = db_user_get(r, "tenantA.edvoip.it", "100", &t, &e);
    db_read_end(r);
    ok(rc == 0 && t.enabled && s.trusted, "100 and its enabled tenant, under a trusted stamp");
    uint64_t h0 = atomic_load(&metrics.lookup_memo_hits);
    db_read_begin(r);
    db_config_stamp(r, &s);
    rc = db_user_get(r, "tenantA.edvoip.it", "101", &t, &e);
    db_read_end(r);
    ok(rc == 0 && t.enabled && atomic_load(&metrics.lookup_memo_hits) == h0 + 2,
       "101 of the same store with nothing committed: tenant and store from the memo");

    db_read_begin(r);
    db_config_stamp(r, &s); /* kept: nothing committed since the last one */
    sq_exec(w, "UPDATE tenants SET enabled = 0 WHERE sip_domain = 'tenantA.edvoip.it'");
    uint64_t h1 = atomic_load(&metrics.lookup_memo_hits);
    rc = db_user_get(r, "tenantA.edvoip.it", "100", &t, &e);
    db_read_end(r);
    ok(rc == 0 && !t.enabled && atomic_load(&metrics.lookup_memo_hits) == h1,
       "a commit between the kept stamp and the lookup's snapshot: the tenant as that snapshot has it (disabled), "
       "not the memo");
    db_read_begin(r);
    db_config_stamp(r, &s);
    rc = db_user_get(r, "tenantA.edvoip.it", "101", &t, &e);
    db_read_end(r);
    ok(rc == 0 && !t.enabled, "  ...and the next lookup, with a new stamp, too");
    sqlite3_close(w);
    db_reader_destroy(r);
}

int main(void)
{
    char *dir = h_tmpdir();
    test_migrations(dir);

    char *demo = h_demo_db(dir, "demo.db");
    sqlite3 *db = sq_open_fk(demo);
    test_demo(db);
    test_constraints(db);
    test_cdr_checks(db);
    sqlite3_close(db);

    char *demo2 = h_demo_db(dir, "demo2.db");
    db = sq_open_fk(demo2);
    test_activity(db);
    sqlite3_close(db);

    char *demo3 = h_demo_db(dir, "demo3.db");
    test_config_unchanged(demo3);
    free(demo3);
    char *demo4 = h_demo_db(dir, "demo4.db");
    test_memo_race(demo4);
    free(demo4);

    free(demo);
    free(demo2);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
