/* w3voip init / a1 / token / render, run as an operator would. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_jwt.h"
#include "db.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

static char *run(int *rc, const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), fmt, h_env("W3VOIP"), a ? a : "", b ? b : "");
    char *out = NULL;
    *rc = h_run(cmd, &out);
    return out;
}

static void diag_lines(const char *out);

/* v7 → v8 on a database with CDRs: every v7 database holds voip_cdr's v1
 * CHECKs (IN lists); init rewrites them as comparisons, keeps every row,
 * and the constraint still refuses what it refused. */
static void cdr_checks_v8(const char *dir)
{
    int rc;
    char *out;
    w3_buf_t db = {0};
    w3_buf_printf(&db, "%s/v7.db", dir);
    out = run(&rc, "%s init --db %s 2>&1", db.data, NULL);
    free(out);
    /* back to what v7 had: the v1 text, user_version 7 */
    is_int(h_sql(db.data, "INSERT INTO voip_cdr (call_id, direction, disposition, meta_json) VALUES "
                          "('c1', 'inbound', 'BUSY', '{}'), ('c2', NULL, 'NO ANSWER', '{}');"
                          "PRAGMA writable_schema = ON;"
                          "UPDATE sqlite_schema SET sql = replace(replace(sql, "
                          "'(direction = ''inbound'' OR direction = ''outbound'' OR direction = ''internal'')', "
                          "'direction IN (''inbound'', ''outbound'', ''internal'')'), "
                          "'(disposition = ''ANSWERED'' OR disposition = ''NO ANSWER'' OR disposition = ''BUSY'' "
                          "OR disposition = ''FAILED'')', "
                          "'disposition IN (''ANSWERED'', ''NO ANSWER'', ''BUSY'', ''FAILED'')') "
                          "WHERE name = 'voip_cdr';"
                          "PRAGMA writable_schema = RESET; PRAGMA user_version = 7;"),
           0, "a v7 database with two CDRs and the v1 CHECKs");
    char *v7 = h_sql_text(db.data, "SELECT instr(sql, 'direction IN (') > 0 AND instr(sql, 'disposition IN (') > 0 "
                                   "FROM sqlite_schema WHERE name = 'voip_cdr'");
    is_str(v7, "1", "  ...whose voip_cdr holds both IN lists");
    free(v7);
    out = run(&rc, "%s init --db %s 2>&1", db.data, NULL);
    ok(rc == 0 && strstr(out, "migrated from version 7 to 8"), "init migrates it to v8 (%s)", out ? out : "");
    free(out);
    is_int(h_sql_int(db.data, "SELECT count(*) FROM voip_cdr WHERE call_id IN ('c1', 'c2')"), 2,
           "  ...keeping its CDRs");
    char *v8 = h_sql_text(db.data, "SELECT instr(sql, ' IN (''inbound''') = 0 AND instr(sql, ' IN (''ANSWERED''') = 0 "
                                   "AND instr(sql, 'direction = ''internal''') > 0 FROM sqlite_schema "
                                   "WHERE name = 'voip_cdr'");
    is_str(v8, "1", "  ...with the CHECKs written as comparisons");
    free(v8);
    char *ic = h_sql_text(db.data, "PRAGMA integrity_check");
    is_str(ic, "ok", "  ...and integrity_check ok");
    free(ic);
    ok(h_sql(db.data, "INSERT INTO voip_cdr (call_id, direction, meta_json) VALUES ('c3', 'north', '{}')") != 0,
       "  ...whose CHECK still refuses direction 'north'");
    ok(h_sql(db.data, "INSERT INTO voip_cdr (call_id, disposition, meta_json) VALUES ('c4', 'MAYBE', '{}')") != 0,
       "  ...and disposition 'MAYBE'");
    w3_buf_free(&db);
}

/* Prints a command's output as TAP comments (after a failed check). */
static void diag_lines(const char *out)
{
    for (const char *p = out ? out : ""; *p;) {
        int n = (int)strcspn(p, "\n");
        printf("#   %.*s\n", n, p);
        p += n + (p[n] == '\n');
    }
}

#define TA "a0000000-0000-4000-8000-00000000000a"
#define DA "tenantA.edvoip.it"
#define SA1 "a5000000-0000-4000-8000-000000000001"

/* n more trunks for tenant A's store01 and routes for tenant A, numbered
 * from first (ids, gateway names and patterns stay unique). */
static char *more_trunks_and_routes(int first, int trunks, int routes)
{
    w3_buf_t s = {0};
    w3_buf_printf(&s,
                  "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                  "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy) "
                  "SELECT 'lim-t' || i, '" TA "', '" DA "', '" SA1 "', 'lim_gw' || i, '127.0.0.1' FROM n;",
                  first, first + trunks - 1);
    w3_buf_printf(&s,
                  "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                  "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) "
                  "SELECT 'lim-r' || i, '" TA "', '" DA "', 'r' || i, '^8' || i || '$', 'local' FROM n;",
                  first, first + routes - 1);
    return s.data;
}

/* The limits of schema v3 (64 members per ring group, 256 routes per
 * tenant, 16 trunks per store): a populated v2 database already past two of
 * them migrates forward with its rows kept, `check` names what is over
 * (also rows written with a limit trigger dropped), and new writes past
 * them are refused. */
static void limits(const char *dir)
{
    int rc;
    char *out;
    w3_buf_t v2 = {0}, mk = {0}, args = {0};
    w3_buf_printf(&v2, "%s/v2.db", dir);
    w3_buf_printf(&mk,
                  "sqlite3 %s < %s/schema/migrations/001_v1.sql && sqlite3 %s < "
                  "%s/schema/migrations/002_country_codes.sql && sqlite3 %s 'PRAGMA user_version=2' && "
                  "sqlite3 %s < %s/demo.sql",
                  v2.data, h_env("W3_SOURCE_ROOT"), v2.data, h_env("W3_SOURCE_ROOT"), v2.data, v2.data,
                  h_env("W3_FIXTURES"));
    is_int(h_run(mk.data, NULL), 0, "a v2 database with the demo data");
    /* the demo has 1 trunk in store01 and 7 routes for tenant A */
    char *over = more_trunks_and_routes(1, 16, 250);
    is_int(h_sql(v2.data, over), 0, "v2 (no limits yet): 17 trunks in store01, 257 routes for tenant A");
    free(over);
    out = run(&rc, "%s init --db %s 2>&1", v2.data, NULL);
    char want[64];
    snprintf(want, sizeof(want), "migrated from version 2 to %d", db_migrations_count);
    if (!ok(rc == 0 && strstr(out, want), "init migrates the populated v2 forward"))
        diag_lines(out);
    free(out);
    w3_buf_free(&mk);
    w3_buf_printf(&mk, "sqlite3 %s 'SELECT count(*) FROM voip_trunks; SELECT count(*) FROM voip_routes'", v2.data);
    h_run(mk.data, &out);
    is_str(out, "19\n257\n", "  ...keeping every row it had (19 trunks, 257 routes)");
    free(out);

    /* the trunk secret of the demo resolves, so every problem is a limit */
    setenv("W3_TRUNK_TENANTA_STORE02", "s3cret", 1);
    w3_buf_printf(&args, "%%s check --db %s 2>&1", v2.data);
    out = run(&rc, args.data, NULL, NULL);
    is_int(rc, 1, "check past the limits: exit 1");
    ok(strstr(out, "PROBLEM store-trunks") &&
           strstr(out, "store store01 (" SA1 ", " DA ") has 17 trunks, more than the limit of 16"),
       "check names the store, with the count and the limit");
    ok(strstr(out, "PROBLEM tenant-routes") && strstr(out, "tenant " DA " has 257 routes, more than the limit of 256"),
       "check names the tenant's domain, with the count and the limit");
    if (!ok(strstr(out, "2 problems\n") != NULL, "  ...and nothing else"))
        diag_lines(out);
    free(out);

    /* a ring group filled with its trigger dropped, as a sqlite3 session can */
    w3_buf_t rg = {0};
    w3_buf_adds(&rg, "DROP TRIGGER limit_ring_group_members_insert;"
                     "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 64) "
                     "INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, "
                     "ext_number, a1_hash) SELECT 'lim-' || i, '" TA "', '" DA "', '" SA1 "', 'u-lim-' || i, "
                     "3000 + i, '0123456789abcdef0123456789abcdef' FROM n;"
                     "INSERT INTO voip_ring_groups (ring_group_id, tenant_id, sip_domain, store_id, ref) VALUES "
                     "('rg-big', '" TA "', '" DA "', '" SA1 "', 'ring_big');"
                     "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 64) "
                     "INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) "
                     "SELECT 'rg-big', '" DA "', 3000 + i, i FROM n;");
    is_int(h_sql(v2.data, rg.data), 0, "trigger dropped: a ring group of 65 members");
    w3_buf_free(&rg);
    out = run(&rc, args.data, NULL, NULL);
    is_int(rc, 1, "check: exit 1");
    ok(strstr(out, "PROBLEM ring-group-size") &&
           strstr(out, "ring group ring_big (" DA ") has 65 members, more than the limit of 64"),
       "check names the ring group by its ref, with the count and the limit");
    if (!ok(strstr(out, "3 problems\n") != NULL, "  ...three problems in all"))
        diag_lines(out);
    free(out);

    /* the migrated database refuses new rows past the limits that stayed */
    over = more_trunks_and_routes(100, 1, 1);
    w3_buf_free(&mk);
    w3_buf_printf(&mk, "sqlite3 %s \"%s\" 2>&1", v2.data, over);
    free(over);
    rc = h_run(mk.data, &out);
    if (!ok(rc != 0 && strstr(out, "a store has at most 16 trunks"), "after the upgrade, an 18th trunk is refused"))
        diag_lines(out);
    free(out);

    /* back within the limits: clean */
    is_int(h_sql(v2.data, "DELETE FROM voip_trunks WHERE trunk_id GLOB 'lim-t*' AND trunk_id != 'lim-t1';"
                          "DELETE FROM voip_routes WHERE route_id GLOB 'lim-r*' AND CAST(substr(route_id, 6) AS "
                          "INTEGER) > 249;"
                          "DELETE FROM voip_ring_group_members WHERE ring_group_id = 'rg-big' AND position > 1;"),
           0, "remove what is past the limits");
    out = run(&rc, args.data, NULL, NULL);
    if (!ok(rc == 0 && strstr(out, "0 problems\n"), "then check exits 0"))
        diag_lines(out);
    free(out);
    unsetenv("W3_TRUNK_TENANTA_STORE02");
    w3_buf_free(&args);
    w3_buf_free(&mk);
    w3_buf_free(&v2);
}

int main(void)
{
    int rc;
    char *dir = h_tmpdir();
    w3_buf_t db = {0};
    w3_buf_printf(&db, "%s/new.db", dir);

    char *out = run(&rc, "%s init --db %s 2>&1", db.data, NULL);
    is_int(rc, 0, "init creates a database");
    char want_init[64];
    snprintf(want_init, sizeof(want_init), "migrated from version 0 to %d", db_migrations_count);
    ok(strstr(out, want_init) != NULL, "init says what it did: %s", out);
    free(out);
    out = run(&rc, "%s init --db %s 2>&1", db.data, NULL);
    is_int(rc, 0, "init again");
    ok(strstr(out, "up to date") != NULL, "init is idempotent: %s", out);
    free(out);
    w3_buf_t load = {0};
    w3_buf_printf(&load, "sqlite3 %s < %s/demo.sql", db.data, h_env("W3_FIXTURES"));
    is_int(h_run(load.data, NULL), 0, "fixtures/demo.sql loads with the sqlite3 CLI");
    w3_buf_free(&load);

    w3_buf_t newer = {0};
    w3_buf_printf(&newer, "%s/newer.db", dir);
    h_sql(newer.data, "PRAGMA user_version = 42;");
    out = run(&rc, "%s init --db %s 2>&1", newer.data, NULL);
    is_int(rc, 1, "init refuses a newer schema (exit 1)");
    ok(strstr(out, "newer") != NULL, "and says so: %s", out);
    free(out);
    w3_buf_free(&newer);

    /* forward migration of a populated v1 database: the v2 country-code
     * table is filled from the tenants already there */
    w3_buf_t v1 = {0}, mk = {0};
    w3_buf_printf(&v1, "%s/v1.db", dir);
    w3_buf_printf(&mk,
                  "sqlite3 %s < %s/schema/migrations/001_v1.sql && sqlite3 %s 'PRAGMA user_version=1' && "
                  "sqlite3 %s < %s/demo.sql",
                  v1.data, h_env("W3_SOURCE_ROOT"), v1.data, v1.data, h_env("W3_FIXTURES"));
    is_int(h_run(mk.data, NULL), 0, "a v1 database with the demo data");
    out = run(&rc, "%s init --db %s 2>&1", v1.data, NULL);
    snprintf(want_init, sizeof(want_init), "migrated from version 1 to %d", db_migrations_count);
    ok(rc == 0 && strstr(out, want_init), "init migrates v1 forward (%s)", out);
    free(out);
    w3_buf_free(&mk);
    w3_buf_printf(&mk, "sqlite3 %s 'SELECT group_concat(country_code) FROM voip_country_codes'", v1.data);
    h_run(mk.data, &out);
    is_str(out, "39\n", "the country codes of the existing tenants are back-filled");
    free(out);
    w3_buf_free(&mk);
    w3_buf_free(&v1);

    limits(dir);
    cdr_checks_v8(dir);

    out = run(&rc, "%s init 2>&1", NULL, NULL);
    is_int(rc, 2, "init without --db is a usage error (exit 2)");
    free(out);

    char want[33];
    h_md5("100:tenantA.edvoip.it:pass100A", want);
    out = run(&rc, "%s a1 100 tenantA.edvoip.it pass100A", NULL, NULL);
    is_int(rc, 0, "a1 with the password as argument");
    out[strcspn(out, "\n")] = '\0';
    is_str(out, want, "a1 = md5(ext:domain:password)");
    is_str(out, "f86e925a96764ca893418337f6bf132c", "the demo's a1-hash of 100@A");
    free(out);
    out = run(&rc, "printf 'pass100A\\n' | %s a1 100 tenantA.edvoip.it", NULL, NULL);
    out[strcspn(out, "\n")] = '\0';
    is_str(out, want, "a1 reads the password from stdin");
    free(out);
    out = run(&rc, "printf '\\n' | %s a1 100 tenantA.edvoip.it 2>&1", NULL, NULL);
    is_int(rc, 2, "an empty password is refused");
    free(out);
    out = run(&rc, "%s a1 --help", NULL, NULL);
    ok(rc == 0 && strstr(out, "Usage: w3voip a1") != NULL, "a1 --help");
    free(out);

    /* tokens: minted by the CLI, verified by the server's code */
    char *secret = h_write_file(dir, "hs.key", "0123456789abcdef0123456789abcdef-hs256-test-secret\n");
    out = run(&rc, "%s token --key %s --platform --client-id ops --ttl 120", secret, NULL);
    is_int(rc, 0, "token --platform");
    out[strcspn(out, "\n")] = '\0';
    auth_jwt_key_t key;
    const char *why = NULL;
    auth_jwt_claims_t claims;
    auth_jwt_key_load(secret, false, &key, &why);
    is_int(auth_jwt_verify(&key, out, time(NULL), 0, &claims, &why), 0, "the minted token verifies");
    ok(claims.platform, "platform token has scope pbx");
    is_str(claims.client_id, "ops", "sub is the client id");
    ok(claims.exp >= time(NULL) + 100 && claims.exp <= time(NULL) + 121, "exp = now + ttl");
    free(out);
    out = run(&rc,
              "%s token --key %s --tenant-id a0000000-0000-4000-8000-00000000000a --sip-domain tenantA.edvoip.it "
              "--client-id w3",
              secret, NULL);
    out[strcspn(out, "\n")] = '\0';
    is_int(auth_jwt_verify(&key, out, time(NULL), 0, &claims, &why), 0, "tenant token verifies");
    is_str(claims.sip_domain, "tenantA.edvoip.it", "tenant token carries sip_domain");
    ok(!claims.platform, "tenant token is not a platform token");
    free(out);
    auth_jwt_key_free(&key);
    free(secret);

    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/ec.pem && "
             "openssl pkey -in %s/ec.pem -pubout -out %s/ec.pub",
             dir, dir, dir);
    ok(h_run(cmd, NULL) == 0, "generate an EC P-256 key pair");
    w3_buf_t ec = {0}, ecpub = {0};
    w3_buf_printf(&ec, "%s/ec.pem", dir);
    w3_buf_printf(&ecpub, "%s/ec.pub", dir);
    out = run(&rc, "%s token --key %s --platform --client-id ops", ec.data, NULL);
    out[strcspn(out, "\n")] = '\0';
    auth_jwt_key_load(ecpub.data, false, &key, &why);
    is_int(key.alg, AUTH_JWT_ES256, "an EC public key pins ES256");
    is_int(auth_jwt_verify(&key, out, time(NULL), 0, &claims, &why), 0, "ES256 token from the CLI verifies");
    auth_jwt_key_free(&key);
    free(out);
    w3_buf_free(&ec);
    w3_buf_free(&ecpub);
    out = run(&rc, "%s token --key /nonexistent --platform --client-id x 2>&1", NULL, NULL);
    is_int(rc, 1, "token with a missing key fails");
    free(out);
    out = run(&rc, "%s token --key x 2>&1", NULL, NULL);
    is_int(rc, 2, "token without --client-id is a usage error");
    free(out);

    /* render: the same bytes the server answers */
    h_server_t srv;
    if (ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd for render comparison")) {
        w3_buf_t req = {0};
        w3_buf_printf(&req, "%s/captures/directory-sip_auth-register.form", h_env("W3_FIXTURES"));
        out = run(&rc, "%s render --db %s %s", srv.db, req.data);
        is_int(rc, 0, "render exits 0 for a 200 answer");
        char *body = h_capture("directory-sip_auth-register.form", NULL);
        h_resp_t r;
        h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
        is_str(out, r.body, "render prints exactly what the server answers");
        h_resp_free(&r);
        free(body);
        free(out);
        out = run(&rc, "printf 'hostname=x' | %s render --db %s - 2>&1", srv.db, NULL);
        is_int(rc, 1, "render of a malformed body exits 1");
        ok(strstr(out, "HTTP 400") != NULL, "and reports the status: %s", out);
        free(out);
        w3_buf_free(&req);
        h_server_stop(&srv);
    }

    /* the commands that open the server's settings and database (cli_open):
     * bad settings exit 2, a database that cannot be opened exits 1, each
     * with the command's name on the message */
    static const struct {
        const char *name, *args;
    } open_cmds[] = {
        {"render", "x.form"},
        {"explain", "--did +39061234568"},
        {"export", "--domain tenantA.edvoip.it --out /nonexistent/out"},
    };
    w3_buf_t missing = {0};
    w3_buf_printf(&missing, "%s/missing/none.db", dir);
    free(h_write_file(dir, "x.form", "hostname=x"));
    for (size_t i = 0; i < W3_ARRAY_LEN(open_cmds); i++) {
        char fmt[512], want_msg[128];
        snprintf(fmt, sizeof(fmt), "cd %%s && %%s%%s %s --db %%s %s 2>&1", open_cmds[i].name, open_cmds[i].args);
        char line[2048];
        snprintf(line, sizeof(line), fmt, dir, "", h_env("W3VOIP"), missing.data);
        out = NULL;
        rc = h_run(line, &out);
        out[strcspn(out, "\n")] = '\0';
        snprintf(want_msg, sizeof(want_msg), "%s: cannot open %s", open_cmds[i].name, missing.data);
        ok(rc == 1 && strstr(out, want_msg) != NULL, "%s with a database that cannot be opened exits 1 (%d): %s",
           open_cmds[i].name, rc, out);
        free(out);
        snprintf(line, sizeof(line), fmt, dir, "W3_WORKERS=0 ", h_env("W3VOIP"), db.data);
        out = NULL;
        rc = h_run(line, &out);
        out[strcspn(out, "\n")] = '\0';
        snprintf(want_msg, sizeof(want_msg), "%s: --workers must be between 1 and 256", open_cmds[i].name);
        ok(rc == 2 && strstr(out, want_msg) != NULL, "%s with a bad setting in the environment exits 2 (%d): %s",
           open_cmds[i].name, rc, out);
        free(out);
    }
    w3_buf_free(&missing);
    /* the capture render --help names is in the source tree */
    out = run(&rc, "%s render --help", NULL, NULL);
    const char *cap = out ? strstr(out, "fixtures/captures/") : NULL;
    if (ok(rc == 0 && cap, "render --help names a capture")) {
        int n = (int)strcspn(cap, " \n");
        if (n > 0 && cap[n - 1] == '.') /* the end of the sentence */
            n--;
        w3_buf_t p = {0};
        w3_buf_printf(&p, "%s/%.*s", h_env("W3_SOURCE_ROOT"), n, cap);
        ok(access(p.data, R_OK) == 0, "  ...that exists: %s", p.data);
        w3_buf_free(&p);
    }
    free(out);

    out = run(&rc, "%s frobnicate 2>&1", NULL, NULL);
    is_int(rc, 2, "unknown command exits 2");
    free(out);
    out = run(&rc, "%s --help", NULL, NULL);
    ok(rc == 0 && strstr(out, "init") && strstr(out, "token"), "w3voip --help lists the commands");
    ok(strstr(out, "\nExit status") && strstr(out, "\n  0  done") && strstr(out, "\n  1  ") &&
           strstr(out, "\n  2  usage") && strstr(out, "\n  3  explain"),
       "w3voip --help lists the exit codes");
    free(out);
    static const char *const subcommands[] = {"init", "a1", "token", "render", "explain", "check", "export"};
    for (size_t i = 0; i < W3_ARRAY_LEN(subcommands); i++) {
        out = run(&rc, "%s %s --help", subcommands[i], NULL);
        ok(rc == 0 && out && strstr(out, "\nExit status: 0 "), "w3voip %s --help gives its exit codes", subcommands[i]);
        free(out);
    }

    w3_buf_free(&db);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
