/* w3voip init / a1 / token / render, run as an operator would. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_jwt.h"
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

int main(void)
{
    int rc;
    char *dir = h_tmpdir();
    w3_buf_t db = {0};
    w3_buf_printf(&db, "%s/new.db", dir);

    char *out = run(&rc, "%s init --db %s 2>&1", db.data, NULL);
    is_int(rc, 0, "init creates a database");
    ok(strstr(out, "migrated from version 0 to 2") != NULL, "init says what it did: %s", out);
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
    ok(rc == 0 && strstr(out, "migrated from version 1 to 2"), "init migrates v1 forward (%s)", out);
    free(out);
    w3_buf_free(&mk);
    w3_buf_printf(&mk, "sqlite3 %s 'SELECT group_concat(country_code) FROM voip_country_codes'", v1.data);
    h_run(mk.data, &out);
    is_str(out, "39\n", "the country codes of the existing tenants are back-filled");
    free(out);
    w3_buf_free(&mk);
    w3_buf_free(&v1);

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

    out = run(&rc, "%s frobnicate 2>&1", NULL, NULL);
    is_int(rc, 2, "unknown command exits 2");
    free(out);
    out = run(&rc, "%s --help", NULL, NULL);
    ok(rc == 0 && strstr(out, "init") && strstr(out, "token"), "w3voip --help lists the commands");
    free(out);

    w3_buf_free(&db);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
