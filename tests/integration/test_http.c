/* HTTP behaviour of w3voipd: authentication of /fs/..., limits, methods,
 * health, one instance per database/port, no secrets in the log. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_jwt.h"
#include "db.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

static h_server_t srv;

static char *mint(const char *key_path, bool private_pem, const auth_jwt_mint_req_t *req)
{
    auth_jwt_key_t key;
    const char *why = NULL;
    if (auth_jwt_key_load(key_path, private_pem, &key, &why) != 0) {
        printf("# key %s: %s\n", key_path, why);
        return NULL;
    }
    char *tok = auth_jwt_mint(&key, req, &why);
    auth_jwt_key_free(&key);
    return tok;
}

static int fs_status(const char *user, const char *pass, char **www)
{
    char *body = h_capture("directory-sip_auth-register.form", NULL);
    h_resp_t r;
    int st = h_fs_post(&srv, "/fs/xml", body, strlen(body), user, pass, &r) == 0 ? r.status : -1;
    if (www)
        *www = h_header(&r, "WWW-Authenticate");
    h_resp_free(&r);
    free(body);
    return st;
}

static void auth(void)
{
    char *www = NULL;
    is_int(fs_status(NULL, NULL, &www), 401, "no credentials → 401");
    ok(www && strstr(www, "Basic") != NULL, "401 carries WWW-Authenticate: Basic (%s)", www ? www : "none");
    free(www);
    is_int(fs_status("fsnode", "wrong", NULL), 401, "wrong password → 401");
    is_int(fs_status("other", "secret", NULL), 401, "wrong user → 401");
    is_int(fs_status("fsnode", "secret", NULL), 200, "static credentials → 200");

    time_t now = time(NULL);
    auth_jwt_mint_req_t platform = {.client_id = "pbx-node-1", .scope = "pbx", .ttl_s = 300, .now = now};
    char *tok = mint(srv.jwt_key, true, &platform);
    is_int(fs_status("pbx-node-1", tok, NULL), 200, "Basic with a platform token as password → 200");
    free(tok);

    auth_jwt_mint_req_t tenant = {.tenant_id = "a0000000-0000-4000-8000-00000000000a",
                                  .sip_domain = "tenantA.edvoip.it",
                                  .client_id = "w3-tenant-a",
                                  .ttl_s = 300,
                                  .now = now};
    tok = mint(srv.jwt_key, true, &tenant);
    is_int(fs_status("w3-tenant-a", tok, NULL), 403, "tenant token on /fs/xml → 403");
    free(tok);

    auth_jwt_mint_req_t expired = platform;
    expired.now = now - 7200;
    tok = mint(srv.jwt_key, true, &expired);
    is_int(fs_status("pbx-node-1", tok, NULL), 401, "expired platform token → 401");
    free(tok);

    /* a token signed by another algorithm/key than the one pinned */
    char *dir = h_tmpdir();
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s/rsa.pem 2>/dev/null", dir);
    ok(h_run(cmd, NULL) == 0, "generate an RSA key");
    w3_buf_t rsa = {0};
    w3_buf_printf(&rsa, "%s/rsa.pem", dir);
    tok = mint(rsa.data, true, &platform);
    ok(tok != NULL, "RS256 platform token minted");
    is_int(fs_status("pbx-node-1", tok, NULL), 401, "RS256 token against an HS256-pinned server → 401");
    free(tok);
    w3_buf_free(&rsa);
    h_rmrf(dir);
    free(dir);

    h_resp_t r;
    const char *bearer[] = {"Authorization: Bearer abc.def.ghi", NULL};
    h_request(srv.port, "POST", "/fs/xml", bearer, "section=directory", 17, &r);
    is_int(r.status, 401, "Bearer on /fs/xml (FreeSWITCH only does Basic) → 401");
    h_resp_free(&r);
}

static void limits_and_errors(void)
{
    h_resp_t r;
    /* oversized */
    size_t big = 300 * 1024;
    char *body = xmalloc(big + 1);
    memset(body, 'a', big);
    memcpy(body, "section=directory&x=", 20);
    body[big] = '\0';
    h_fs_post(&srv, "/fs/xml", body, big, srv.user, srv.pass, &r);
    is_int(r.status, 413, "300 KB body on /fs/xml → 413");
    ok(r.body && strstr(r.body, "limit") != NULL, "413 names the limit: %s", r.body ? r.body : "");
    h_resp_free(&r);
    free(body);

    const char *missing = "hostname=vm&tag_name=&key_name=&key_value=";
    h_fs_post(&srv, "/fs/xml", missing, strlen(missing), srv.user, srv.pass, &r);
    is_int(r.status, 400, "no section field → 400");
    ok(r.body && strstr(r.body, "section") != NULL, "400 names the missing field");
    h_resp_free(&r);

    const char nul[] = "section=directory&a=b\0c";
    h_fs_post(&srv, "/fs/xml", nul, sizeof(nul) - 1, srv.user, srv.pass, &r);
    is_int(r.status, 400, "NUL byte in the form → 400");
    ok(r.body && strstr(r.body, "NUL") != NULL, "400 says why");
    h_resp_free(&r);

    h_fs_post(&srv, "/fs/xml", "", 0, srv.user, srv.pass, &r);
    is_int(r.status, 400, "empty body → 400");
    h_resp_free(&r);

    const char *bad_name = "section=directory&=oops";
    h_fs_post(&srv, "/fs/xml", bad_name, strlen(bad_name), srv.user, srv.pass, &r);
    is_int(r.status, 400, "field without a name → 400");
    h_resp_free(&r);

    w3_buf_t auth = {0};
    w3_buf_adds(&auth, "Authorization: Basic ZnNub2RlOnNlY3JldA==");
    const char *json_ct[] = {auth.data, "Content-Type: application/json", NULL};
    h_request(srv.port, "POST", "/fs/xml", json_ct, "{}", 2, &r);
    is_int(r.status, 415, "JSON content type on /fs/xml → 415");
    h_resp_free(&r);

    const char *hdrs[] = {auth.data, NULL};
    h_request(srv.port, "GET",
              "/fs/xml?hostname=vm&section=directory&tag_name=domain&key_name=name&key_value=tenantA.edvoip.it"
              "&user=101&domain=tenantA.edvoip.it&key=id",
              hdrs, NULL, 0, &r);
    is_int(r.status, 200, "GET with the form in the query (binding method=GET) → 200");
    ok(r.body && h_xpath_count(r.body, r.body_len, "//user[@id='101']") == 1, "and the user");
    h_resp_free(&r);

    static const char *const methods[] = {"PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < 3; i++) {
        h_request(srv.port, methods[i], "/fs/xml", hdrs, "x", 1, &r);
        char *allow = h_header(&r, "Allow");
        char name[64];
        snprintf(name, sizeof(name), "%s /fs/xml → 405 (not evhttp's 501)", methods[i]);
        is_int(r.status, 405, name);
        is_str(allow, "POST, GET", "Allow header lists the methods");
        free(allow);
        h_resp_free(&r);
    }
    h_request(srv.port, "POST", "/healthz", NULL, "x", 1, &r);
    is_int(r.status, 405, "POST /healthz → 405");
    h_resp_free(&r);

    h_request(srv.port, "GET", "/nope", NULL, NULL, 0, &r);
    is_int(r.status, 404, "unknown path → 404");
    ok(r.body && strstr(r.body, "\"code\":\"not_found\"") != NULL, "404 is a JSON error");
    h_resp_free(&r);

    h_request(srv.port, "GET", "/healthz", NULL, NULL, 0, &r);
    is_int(r.status, 200, "/healthz → 200");
    is_str(r.body, "ok\n", "/healthz body");
    h_resp_free(&r);

    h_request(srv.port, "GET", "/readyz", NULL, NULL, 0, &r);
    is_int(r.status, 200, "/readyz → 200");
    char schema[32];
    snprintf(schema, sizeof(schema), "schema=%d", db_migrations_count);
    ok(r.body && strstr(r.body, schema) != NULL, "/readyz reports the schema version (%s)", schema);
    h_resp_free(&r);

    h_request(srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    is_int(r.status, 200, "/metrics → 200");
    ok(r.body && strstr(r.body, "w3voipd_auth_failures_total{reason=\"missing\"} ") != NULL &&
           strstr(r.body, "w3voipd_auth_failures_total{reason=\"missing\"} 0\n") == NULL,
       "auth failures are counted by reason");
    ok(r.body && strstr(r.body, "w3voipd_auth_failures_total{reason=\"tenant_token\"} 1\n") != NULL,
       "the tenant token refusal is counted");
    h_resp_free(&r);
    w3_buf_free(&auth);
}

static void single_instance(void)
{
    /* same database, another port */
    const char *argv_db[] = {h_env("W3VOIPD"), "--db",     srv.db,        "--jwt-key",
                             srv.jwt_key,      "--listen", "127.0.0.1:0", NULL};
    char *err = NULL;
    int rc = h_server_expect_fail(argv_db, &err);
    is_int(rc, 1, "second w3voipd on the same database refused: exit 1 (cannot start)");
    ok(err && strstr(err, "another w3voipd") != NULL, "and says why: %s", err ? err : "");
    free(err);

    /* same port, another database */
    char *dir = h_tmpdir();
    char *db2 = h_demo_db(dir, "other.db");
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", srv.port);
    const char *argv_port[] = {h_env("W3VOIPD"), "--db", db2, "--jwt-key", srv.jwt_key, "--listen", listen, NULL};
    rc = h_server_expect_fail(argv_port, &err);
    is_int(rc, 1, "second w3voipd on the same port refused: exit 1 (cannot start)");
    ok(err && strstr(err, "another w3voipd") != NULL, "and says why: %s", err ? err : "");
    free(err);
    free(db2);
    h_rmrf(dir);
    free(dir);

    const char *argv_nokey[] = {h_env("W3VOIPD"), "--db", srv.db, NULL};
    rc = h_server_expect_fail(argv_nokey, &err);
    is_int(rc, 2, "no --jwt-key → exit 2");
    ok(err && strstr(err, "JWT key") != NULL, "refuses to start without a key: %s", err ? err : "");
    free(err);

    const char *argv_help[] = {h_env("W3VOIPD"), "--help", NULL};
    rc = h_server_expect_fail(argv_help, &err);
    is_int(rc, 0, "--help exits 0");
    ok(err && strstr(err, "--db FILE") && strstr(err, "W3_LISTEN") && strstr(err, "--fs-credentials-file"),
       "--help documents flags and environment variables");
    ok(err && strstr(err, "\nExit status:\n") && strstr(err, "\n  0  stopped cleanly") &&
           strstr(err, "\n  1  cannot start") && strstr(err, "\n  2  usage"),
       "--help lists the exit codes 0, 1 and 2");
    free(err);

    const char *argv_bad[] = {h_env("W3VOIPD"), "--db", srv.db, "--jwt-key", srv.jwt_key, "--workers", "lots", NULL};
    rc = h_server_expect_fail(argv_bad, &err);
    is_int(rc, 2, "bad flag value → exit 2");
    ok(err && strstr(err, "--workers") != NULL, "names the flag: %s", err ? err : "");
    free(err);
}

static void log_has_no_secrets(void)
{
    char *log = NULL;
    w3_read_file(srv.log, 8 << 20, &log, NULL);
    ok(log && strstr(log, "msg=request") != NULL, "one log line per request is written");
    ok(log && strstr(log, "secret") == NULL && strstr(log, "ZnNub2RlOnNlY3JldA") == NULL,
       "the Basic password never reaches the log");
    ok(log && strstr(log, "f86e925a96764ca893418337f6bf132c") == NULL, "no a1-hash in the log");
    ok(log && strstr(log, "eyJ") == NULL, "no token in the log");
    free(log);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    auth();
    limits_and_errors();
    single_instance();
    log_has_no_secrets();
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0 on SIGTERM");
    return tap_done();
}
