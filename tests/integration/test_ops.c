/* Operator tooling: w3voip check/explain, /metrics (validated by promtool),
 * /readyz, structured logs (JSON, reopen on SIGHUP, no secrets), graceful
 * SIGTERM that still commits an in-flight CDR. */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

static char *w3voip(int *rc, const char *args)
{
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd, "%s %s 2>&1", h_env("W3VOIP"), args);
    char *out = NULL;
    *rc = h_run(cmd.data, &out);
    w3_buf_free(&cmd);
    return out;
}

/* README's sample of `check` on the demo is what check prints, byte for byte. */
static void check_readme_sample(void)
{
    w3_buf_t path = {0}, cmd = {0};
    w3_buf_printf(&path, "%s/README.md", h_env("W3_SOURCE_ROOT"));
    char *readme = NULL;
    size_t len = 0;
    if (!ok(w3_read_file(path.data, 1 << 20, &readme, &len) == 0, "README.md readable")) {
        w3_buf_free(&path);
        return;
    }
    const char *start = "$ w3voip check --db var/demo.db\n";
    char *sample = strstr(readme, start);
    char *end = sample ? strstr(sample, "exit=1\n") : NULL;
    if (ok(sample && end, "README has a check sample on var/demo.db ending in exit=1")) {
        sample += strlen(start);
        end[strlen("exit=1\n")] = '\0';
        char *dir = h_tmpdir();
        w3_buf_t var = {0};
        w3_buf_printf(&var, "%s/var", dir);
        mkdir(var.data, 0700);
        char *db = h_demo_db(var.data, "demo.db");
        unsetenv("W3_TRUNK_TENANTA_STORE02");
        w3_buf_printf(&cmd, "cd %s && %s check --db var/demo.db; echo exit=$?", dir, h_env("W3VOIP"));
        char *out = NULL;
        h_run(cmd.data, &out);
        is_str(out, sample, "README's check sample is what check prints on the demo");
        free(out);
        free(db);
        w3_buf_free(&var);
        h_rmrf(dir);
        free(dir);
    }
    free(readme);
    w3_buf_free(&cmd);
    w3_buf_free(&path);
}

/* Every README example that seeds through the sqlite3 CLI turns foreign keys
 * on (the CLI leaves them off), and fixtures/demo.sql does so before its
 * first row. */
static void readme_seeds_with_foreign_keys(void)
{
    w3_buf_t path = {0};
    w3_buf_printf(&path, "%s/README.md", h_env("W3_SOURCE_ROOT"));
    char *readme = NULL;
    size_t len = 0;
    w3_read_file(path.data, 1 << 20, &readme, &len);
    int seeds = 0, without = 0;
    for (char *line = readme; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *sq = strstr(line, "sqlite3 ");
        /* SQL fed to sqlite3: "... | sqlite3 DB" or "sqlite3 DB < FILE" */
        if (sq && (strstr(line, "| sqlite3 ") || strchr(sq, '<'))) {
            seeds++;
            if (!strstr(line, "foreign_keys=ON") && !strstr(line, "< fixtures/demo.sql")) {
                without++;
                printf("#   without foreign keys: %s\n", line);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    ok(seeds >= 2 && without == 0, "README's %d sqlite3 seed examples turn foreign keys on (%d do not)", seeds,
       without);
    free(readme);
    char *demo = h_fixture("demo.sql", NULL);
    const char *fk = strstr(demo, "\nPRAGMA foreign_keys = ON;");
    const char *first = strstr(demo, "\nINSERT ");
    ok(fk && first && fk < first, "fixtures/demo.sql turns foreign keys on before its first row");
    free(demo);
    w3_buf_free(&path);
}

static void check(void)
{
    char *dir = h_tmpdir();
    char *db = h_demo_db(dir, "c.db");
    w3_buf_t args = {0};
    w3_buf_printf(&args, "check --db %s", db);
    int rc;
    unsetenv("W3_TRUNK_TENANTA_STORE02");
    char *out = w3voip(&rc, args.data);
    is_int(rc, 1, "check on the demo without the trunk secret in the environment: exit 1");
    ok(strstr(out, "trunk-secret") && strstr(out, "tenantA_store02") && strstr(out, "1 problem\n"),
       "reports exactly the unresolvable secret_ref");
    free(out);
    setenv("W3_TRUNK_TENANTA_STORE02", "s3cret", 1);
    out = w3voip(&rc, args.data);
    is_int(rc, 0, "with the secret set: exit 0");
    ok(strstr(out, "0 problems"), "and says so: %s", out);
    free(out);

    h_sql(db, "PRAGMA foreign_keys=OFF;"
              "INSERT INTO voip_dids (did_id, tenant_id, sip_domain, store_id, e164, route_target_type, "
              "route_target_ref) VALUES ('d-bad', 'a0000000-0000-4000-8000-00000000000a', 'tenantA.edvoip.it', "
              "'a5000000-0000-4000-8000-000000000001', '+39069990000', 'ext', '999');"
              "INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) VALUES "
              "('a6000000-0000-4000-8000-000000000001', 'tenantA.edvoip.it', '555', 3);"
              "INSERT INTO stores (store_id, tenant_id, name) VALUES ('s3', 'a0000000-0000-4000-8000-00000000000a', "
              "'store03');"
              /* past the schema's own pattern check, as a sqlite3 session can */
              "DROP TRIGGER check_route_pattern_insert;"
              "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
              "('r-bad', 'a0000000-0000-4000-8000-00000000000a', 'tenantA.edvoip.it', 'broken', '^9(', 'national');"
              "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy) VALUES "
              "('t-clash', 'a0000000-0000-4000-8000-00000000000a', 'tenantA.edvoip.it', "
              "'a5000000-0000-4000-8000-000000000002', 'TENANTA_store01', '127.0.0.2');");
    out = w3voip(&rc, args.data);
    is_int(rc, 1, "broken data: exit 1");
    ok(strstr(out, "DID +39069990000") && strstr(out, "extension 999, which does not exist"),
       "DID to a missing extension reported");
    ok(strstr(out, "ring-member") && strstr(out, "555"), "ring group member that is no extension reported");
    ok(strstr(out, "store-without-trunk") && strstr(out, "store03"), "store without an enabled trunk reported");
    ok(strstr(out, "route-pattern") && strstr(out, "broken"), "route pattern that does not compile reported");
    ok(strstr(out, "gateway-name-clash") && strstr(out, "TENANTA_store01"), "gateway name clash reported");
    ok(strstr(out, "foreign-key"), "rows foreign keys would refuse reported");
    free(out);
    out = w3voip(&rc, "check --db /nonexistent/x.db");
    is_int(rc, 2, "check on a missing database: exit 2");
    free(out);
    out = w3voip(&rc, "check --help");
    ok(rc == 0 && strstr(out, "Exit status"), "check --help documents the exit codes");
    free(out);
    unsetenv("W3_TRUNK_TENANTA_STORE02");
    w3_buf_free(&args);
    free(db);
    h_rmrf(dir);
    free(dir);
}

static void explain(void)
{
    char *dir = h_tmpdir();
    char *db = h_demo_db(dir, "e.db");
    w3_buf_t a = {0};
    int rc;
    w3_buf_printf(&a, "explain --db %s --did 39061234568", db);
    char *out = w3voip(&rc, a.data);
    is_int(rc, 0, "explain a DID: exit 0");
    ok(strstr(out, "→ +39061234568 of tenantA.edvoip.it (ext 100") &&
           strstr(out, "bridge user/100@tenantA.edvoip.it") && strstr(out, "voicemail default tenantA.edvoip.it 100"),
       "DID explained: owner, target, bridge and voicemail fallback");
    free(out);
    w3_buf_free(&a);
    w3_buf_printf(&a, "explain --db %s --domain tenantA.edvoip.it --ext 100 --dial 900442071234567", db);
    out = w3voip(&rc, a.data);
    is_int(rc, 3, "a refused dial: exit 3");
    ok(strstr(out, "route 'international'") && strstr(out, "cos 'national', class 'international' is above it"),
       "COS verdict explained with the route used");
    free(out);
    w3_buf_free(&a);
    w3_buf_printf(&a, "explain --db %s --domain tenantA.edvoip.it --ext 101 --dial 9112", db);
    out = w3voip(&rc, a.data);
    ok(rc == 0 && strstr(out, "emergency, always allowed") && strstr(out, "sofia/gateway/tenantA_store01/112"),
       "emergency for cos internal explained");
    free(out);
    w3_buf_free(&a);
    w3_buf_printf(&a, "explain --db %s --domain tenantA.edvoip.it --ext 100 --dial 200", db);
    out = w3voip(&rc, a.data);
    ok(strstr(out, "ends with NO_ANSWER") && strstr(out, "forward no_answer of 200 → extension 101") &&
           strstr(out, "ends with USER_BUSY"),
       "forwarding follow-ups explained (no answer → 101; busy → fallback)");
    free(out);
    w3_buf_free(&a);
    w3_buf_printf(&a, "explain --db %s --did +39061234567", db);
    out = w3voip(&rc, a.data);
    ok(strstr(out, "uuid_audio_fork") && strstr(out, "answers +OK") && strstr(out, "park"),
       "AI DID explained with the stream check");
    free(out);
    w3_buf_free(&a);
    out = w3voip(&rc, "explain --db x.db");
    is_int(rc, 2, "explain without --did or --dial: usage error");
    free(out);
    w3_buf_free(&a);
    free(db);
    h_rmrf(dir);
    free(dir);
}

static void metrics_and_health(h_server_t *s)
{
    char *body = h_capture("directory-gateways.form", NULL);
    h_resp_t r;
    h_fs_post(s, "/fs/xml", body, strlen(body), s->user, s->pass, &r);
    h_resp_free(&r);
    free(body);
    body = h_capture("dialplan-internal-ext.form", NULL);
    h_fs_post(s, "/fs/xml", body, strlen(body), s->user, s->pass, &r);
    h_resp_free(&r);
    free(body);
    h_fs_post(s, "/fs/xml", "x", 1, NULL, NULL, &r);
    h_resp_free(&r);

    h_request(s->port, "GET", "/metrics", NULL, NULL, 0, &r);
    is_int(r.status, 200, "/metrics 200");
    ok(r.body && strstr(r.body, "w3voipd_requests_total{route=\"fs_xml\",section=\"directory\",result=\"ok\"} 1\n"),
       "directory requests counted by route/section/result");
    ok(r.body && strstr(r.body, "w3voipd_request_duration_seconds_bucket{section=\"dialplan\",le=\"+Inf\"} 1\n"),
       "dialplan latency histogram");
    ok(r.body && strstr(r.body, "w3voipd_build_info{version="), "build info");
    ok(r.body && strstr(r.body, "w3voipd_gateway_document_bytes ") &&
           !strstr(r.body, "w3voipd_gateway_document_bytes 0\n"),
       "gateway document size");
    ok(r.body && strstr(r.body, "w3voipd_gateways_skipped_total 0\n"), "no gateway skipped (its secret resolves)");

    char *promtool = NULL;
    w3_buf_t p = {0};
    w3_buf_printf(&p, "%s/.tools/promtool", h_env("W3_SOURCE_ROOT"));
    promtool = p.data;
    if (access(promtool, X_OK) == 0) {
        char *dir = h_tmpdir();
        char *f = h_write_file(dir, "metrics.txt", r.body ? r.body : "");
        w3_buf_t cmd = {0};
        w3_buf_printf(&cmd, "%s check metrics < %s 2>&1", promtool, f);
        char *out = NULL;
        int rc = h_run(cmd.data, &out);
        ok(rc == 0, "promtool check metrics accepts /metrics (%s)", out ? out : "");
        free(out);
        free(f);
        w3_buf_free(&cmd);
        h_rmrf(dir);
        free(dir);
    } else {
        printf("ok %d # SKIP promtool not installed (make test installs it in .tools/)\n", ++tap_n);
    }
    free(promtool);
    h_resp_free(&r);

    h_request(s->port, "GET", "/readyz", NULL, NULL, 0, &r);
    is_int(r.status, 200, "/readyz 200");
    h_resp_free(&r);
    h_sql(s->db, "PRAGMA user_version = 0");
    h_request(s->port, "GET", "/readyz", NULL, NULL, 0, &r);
    ok(r.status == 503 && r.body && strstr(r.body, "schema version 0"), "/readyz 503 when the schema is not the "
                                                                        "expected one");
    h_resp_free(&r);
    char restore[64];
    snprintf(restore, sizeof(restore), "PRAGMA user_version = %d", db_migrations_count);
    h_sql(s->db, restore);
    h_request(s->port, "GET", "/healthz", NULL, NULL, 0, &r);
    is_int(r.status, 200, "/healthz 200");
    h_resp_free(&r);
}

static void json_logs_and_reopen(void)
{
    char *dir = h_tmpdir();
    w3_buf_t log = {0}, rotated = {0};
    w3_buf_printf(&log, "%s/w3.log", dir);
    w3_buf_printf(&rotated, "%s/w3.log.1", dir);
    setenv("W3_TRUNK_TENANTA_STORE02", "Tr0nkS3cr3t", 1);
    const char *extra[] = {"--log-format", "json", "--log-file", log.data, NULL};
    h_server_t s;
    if (!ok(h_server_start(&s, NULL, extra) == 0, "server with JSON logs to a file")) {
        unsetenv("W3_TRUNK_TENANTA_STORE02");
        return;
    }
    unsetenv("W3_TRUNK_TENANTA_STORE02");
    metrics_and_health(&s);
    char *body = h_capture("directory-sip_auth-register.form", NULL);
    h_resp_t r;
    h_fs_post(&s, "/fs/xml", body, strlen(body), s.user, s.pass, &r);
    h_resp_free(&r);
    h_fs_post(&s, "/fs/xml", body, strlen(body), "fsnode", "wrong-pass-x", &r);
    h_resp_free(&r);

    char *text = NULL;
    w3_read_file(log.data, 1 << 20, &text, NULL);
    int lines = 0, good = 0, requests = 0;
    char backend[64] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        lines++;
        const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
        const char *b = json_string_value(json_object_get(j, "event_backend"));
        if (msg && strcmp(msg, "listening") == 0 && b)
            w3_strlcpy(backend, b, sizeof(backend));
        if (j && json_is_string(json_object_get(j, "ts")) && json_is_string(json_object_get(j, "level")))
            good++;
        if (j && json_object_get(j, "route") && json_is_integer(json_object_get(j, "status")) &&
            json_is_integer(json_object_get(j, "latency_us")))
            requests++;
        json_decref(j);
    }
    ok(lines > 5 && good == lines, "every log line is a JSON object with ts and level (%d lines)", lines);
    ok(requests >= 6, "request lines carry route, status and latency_us (%d)", requests);
    /* the workers' loops fold each turn's event changes into one epoll_ctl */
    ok(strcmp(backend, "epoll (with changelist)") == 0, "the listening line names the workers' backend (%s)", backend);
    free(text);
    w3_read_file(log.data, 1 << 20, &text, NULL);
    ok(text && strstr(text, "\"key\":\"100\"") && strstr(text, "\"domain\":\"tenantA.edvoip.it\"") &&
           strstr(text, "\"client\":\"fsnode\""),
       "request lines name domain, key and client");
    ok(text && !strstr(text, "Tr0nkS3cr3t") && !strstr(text, "wrong-pass-x") && !strstr(text, "secret\"") &&
           !strstr(text, "f86e925a96764ca893418337f6bf132c") && !strstr(text, "ZnNub2Rl"),
       "no trunk secret, password, a1-hash or credentials in the log");
    free(text);

    ok(rename(log.data, rotated.data) == 0, "logrotate moves the file");
    kill(s.pid, SIGHUP);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    h_fs_post(&s, "/fs/xml", body, strlen(body), s.user, s.pass, &r);
    h_resp_free(&r);
    nanosleep(&ts, NULL);
    text = NULL;
    w3_read_file(log.data, 1 << 20, &text, NULL);
    ok(text && strstr(text, "\"route\":\"/fs/xml\""), "after SIGHUP the log file is re-opened and written");
    free(text);
    free(body);
    is_int(h_server_stop(&s), 0, "server exits 0");
    w3_buf_free(&log);
    w3_buf_free(&rotated);
    h_rmrf(dir);
    free(dir);
}

struct inflight {
    int port;
    int status;
};

static void *post_slow_cdr(void *arg)
{
    struct inflight *f = arg;
    size_t len;
    char *body = h_capture("cdr-json-a-leg.json", &len);
    const char *hdrs[] = {"Authorization: Basic ZnNub2RlOnNlY3JldA==", "Content-Type: application/json", NULL};
    h_resp_t r;
    h_request(f->port, "POST", "/fs/cdr", hdrs, body, len, &r);
    f->status = r.status;
    h_resp_free(&r);
    free(body);
    return NULL;
}

static void graceful(void)
{
    /* the writer waits 2 s to fill a batch: SIGTERM lands while the CDR
     * is queued (1 s after it was sent, time enough to reach the server on
     * a loaded machine); it must still be committed and acknowledged */
    const char *extra[] = {"--writer-delay", "2", NULL};
    h_server_t s;
    if (!ok(h_server_start(&s, NULL, extra) == 0, "server with a slow writer batch"))
        return;
    struct inflight f = {.port = s.port};
    pthread_t th;
    pthread_create(&th, NULL, post_slow_cdr, &f);
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    kill(s.pid, SIGTERM);
    pthread_join(th, NULL);
    is_int(f.status, 201, "a CDR in flight at SIGTERM is still committed and acknowledged");
    int st;
    waitpid(s.pid, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "and the server then exits 0");
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof(cmd),
             "sqlite3 %s \"SELECT count(*) FROM voip_cdr WHERE fs_uuid = "
             "'df2ca423-c52d-4e77-9e81-2211975e94c9'\"",
             s.db);
    h_run(cmd, &out);
    is_str(out, "1\n", "the row is in the database");
    free(out);
    s.pid = 0;
    h_server_stop(&s);
}

int main(void)
{
    check();
    check_readme_sample();
    readme_seeds_with_foreign_keys();
    explain();
    json_logs_and_reopen();
    graceful();
    return tap_done();
}
