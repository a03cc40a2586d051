/* POST /fs/cdr through a real w3voipd: every captured CDR body, posted with
 * its captured headers and query, checked row by row in SQLite; duplicates;
 * 50 concurrent posters; kill -9 during a flood (every acknowledged CDR is
 * there exactly once after restart); unattributable and garbage bodies. */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define SA1 "a5000000-0000-4000-8000-000000000001"

static h_server_t srv;

/* A captured header value ("Content-Type", "query", …) or NULL. */
static char *captured_header(const char *file, const char *name)
{
    char rel[512];
    snprintf(rel, sizeof(rel), "captures/headers/%s.headers.txt", file);
    char *h = h_fixture(rel, NULL);
    char *out = NULL;
    size_t n = strlen(name);
    for (char *line = strtok(h, "\n"); line; line = strtok(NULL, "\n"))
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            out = xstrndup(v, strcspn(v, "\r"));
            break;
        }
    free(h);
    return out;
}

static int post_cdr(int port, const char *body, size_t len, const char *ctype, const char *query, h_resp_t *r)
{
    w3_buf_t path = {0}, ct = {0};
    w3_buf_printf(&path, "/fs/cdr%s%s", query && *query ? "?" : "", query ? query : "");
    w3_buf_printf(&ct, "Content-Type: %s", ctype ? ctype : "application/json");
    const char *hdrs[] = {"Authorization: Basic ZnNub2RlOnNlY3JldA==", "User-Agent: freeswitch-json/1.0", "Accept: */*",
                          ct.data, NULL};
    int rc = h_request(port, "POST", path.data, hdrs, body, len, r);
    w3_buf_free(&path);
    w3_buf_free(&ct);
    return rc;
}

/* Posts a capture with its own Content-Type and query; returns the status. */
static int post_capture(const char *file, char **resp_body)
{
    size_t len;
    char *body = h_capture(file, &len);
    char *ct = captured_header(file, "Content-Type");
    char *q = captured_header(file, "query");
    h_resp_t r;
    int st = post_cdr(srv.port, body, len, ct, q, &r) == 0 ? r.status : -1;
    if (resp_body)
        *resp_body = r.body ? xstrdup(r.body) : NULL;
    h_resp_free(&r);
    free(body);
    free(ct);
    free(q);
    return st;
}

/* One column of the row of leg uuid (fs_uuid), as text; NULL when null/absent. */
static char *col(const char *db, const char *uuid, const char *column)
{
    sqlite3 *h;
    sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
    sqlite3_busy_timeout(h, 5000);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM voip_cdr WHERE fs_uuid = ?1", column);
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            out = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

static long long count(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void is_col(const char *uuid, const char *column, const char *want, const char *file)
{
    char *got = col(srv.db, uuid, column);
    char name[256];
    snprintf(name, sizeof(name), "%s: %s", file, column);
    is_str(got, want, name);
    free(got);
}

struct expect {
    const char *file;
    const char *uuid;
    const char *cols[24][2];
};

static const struct expect rows[] = {
    {"cdr-json-b-leg.json",
     "74008755-d72c-40b3-8ff4-9be896f5b495",
     {{"leg", "B"},
      {"call_id", "df2ca423-c52d-4e77-9e81-2211975e94c9"},
      {"tenant_id", TA},
      {"store_id", SA1},
      {"sip_domain", "tenantA.edvoip.it"},
      {"direction", "internal"},
      {"user_id", "a1000000-0000-4000-8000-000000000101"},
      {"ext_number", "101"},
      {"from_uri", "sip:100@tenantA.edvoip.it"},
      {"to_uri", "sip:101@127.0.0.1:5071;transport=UDP"},
      {"start_ts", "2026-11-25T12:13:53.539Z"},
      {"answer_ts", "2026-11-25T12:13:53.559Z"},
      {"billsec", "3"},
      {"disposition", "ANSWERED"},
      {"hangup_cause", "NORMAL_CLEARING"},
      {"sip_call_id", "85abe273-636c-1240-df8a-6e57fcabbf4b"},
      {"fs_core_uuid", "cfbaafec-213d-48e3-b567-b5397ab1133b"},
      {"attributed", "1"},
      {"recording_url", NULL}}},
    {"cdr-json-a-leg.json",
     "df2ca423-c52d-4e77-9e81-2211975e94c9",
     {{"leg", "A"},
      {"call_id", "df2ca423-c52d-4e77-9e81-2211975e94c9"},
      {"tenant_id", TA},
      {"direction", "internal"},
      {"user_id", "a1000000-0000-4000-8000-000000000100"},
      {"from_uri", "sip:100@tenantA.edvoip.it"},
      {"to_uri", "sip:101@tenantA.edvoip.it"},
      {"start_ts", "2026-11-25T12:13:53.539Z"},
      {"answer_ts", "2026-11-25T12:13:53.579Z"},
      {"disposition", "ANSWERED"},
      {"sip_call_id", "1-6868@127.0.0.1"}}},
    {"cdr-json-a-leg-outbound.json",
     "faa27fca-2293-4729-bc60-4414ac4fa425",
     {{"leg", "A"}, {"direction", "outbound"}, {"tenant_id", TA}, {"disposition", "ANSWERED"}, {"billsec", "3"}}},
    {"cdr-json-b-leg-outbound-gateway.json",
     "ed9e3f95-8412-484c-84fd-08e9dd92cde9",
     {{"leg", "B"},
      {"call_id", "faa27fca-2293-4729-bc60-4414ac4fa425"},
      {"direction", "outbound"},
      {"tenant_id", TA},
      {"store_id", SA1},
      {"to_uri", "sip:0612345678@127.0.0.1:5090"}}},
    {"cdr-json-a-leg-inbound-did.json",
     "d7e60811-fa11-4607-8e7d-af2c69dfd259",
     {{"leg", "A"},
      {"direction", "inbound"},
      {"did_e164", "+39061234568"},
      {"ext_number", "100"},
      {"tenant_id", TA},
      {"store_id", SA1},
      {"user_id", NULL},
      {"to_uri", "sip:+39061234568@127.0.0.1:5080"}}},
    {"cdr-json-b-leg-inbound-did.json",
     "31fde73a-26d1-4dd5-a7e4-cb6362182042",
     {{"leg", "B"},
      {"call_id", "d7e60811-fa11-4607-8e7d-af2c69dfd259"},
      {"direction", "inbound"},
      {"did_e164", "+39061234568"},
      {"tenant_id", TA}}},
    {"cdr-json-a-leg-voicemail-unregistered.json",
     "9b385de4-15db-495f-b3b0-c5c13d1eb55a",
     {{"leg", "A"}, {"ext_number", "200"}, {"disposition", "ANSWERED"}, {"billsec", "0"}, {"tenant_id", TA}}},
    {"cdr-json-a-leg-rejected-404.json",
     "3f42ffe3-b1e6-4f89-bed6-9fb9fb630505",
     {{"leg", "A"},
      {"tenant_id", TB},
      {"sip_domain", "tenantB.edvoip.it"},
      {"answer_ts", NULL},
      {"disposition", "FAILED"},
      {"hangup_cause", "UNALLOCATED_NUMBER"},
      {"billsec", "0"}}},
    {"cdr-json-a-leg-encode-values-false-basic-auth-no100.json",
     "48981b44-1004-4b4a-8391-ec4349283adf",
     {{"leg", "A"}, {"tenant_id", TA}, {"sip_call_id", "1-8006@127.0.0.1"}, {"from_uri", "sip:100@tenantA.edvoip.it"}}},
    {"cdr-json-a-leg-encode-base64.form",
     "9d887790-8915-4589-8366-a044a725c832",
     {{"leg", "A"}, {"tenant_id", TA}, {"disposition", "ANSWERED"}, {"from_uri", "sip:100@tenantA.edvoip.it"}}},
    {"cdr-xml-a-leg-encode-false.form",
     "7abc5d89-e3bf-44e0-adf6-ecf553ace37a",
     {{"leg", "A"},
      {"tenant_id", TA},
      {"direction", "internal"},
      {"from_uri", "sip:100@tenantA.edvoip.it"},
      {"disposition", "ANSWERED"}}},
};

static void captured(void)
{
    for (size_t i = 0; i < W3_ARRAY_LEN(rows); i++) {
        char *resp = NULL;
        int st = post_capture(rows[i].file, &resp);
        ok(st == 201, "%s accepted as captured (HTTP %d: %s)", rows[i].file, st, resp ? resp : "");
        free(resp);
        for (int k = 0; k < 24 && rows[i].cols[k][0]; k++)
            is_col(rows[i].uuid, rows[i].cols[k][0], rows[i].cols[k][1], rows[i].file);
        char *meta = col(srv.db, rows[i].uuid, "meta_json");
        ok(meta && strstr(meta, "cfbaafec-213d-48e3-b567-b5397ab1133b") != NULL, "%s: meta_json keeps the document",
           rows[i].file);
        free(meta);
    }
    /* the same legs in the other encodings: recognised, stored once */
    static const char *const again[] = {"cdr-xml-a-leg.form", "cdr-xml-a-leg.xml", "cdr-xml-a-leg-encode-base64.form",
                                        "cdr-xml-a-leg-inbound-did.form", "cdr-json-a-leg.json"};
    for (size_t i = 0; i < W3_ARRAY_LEN(again); i++) {
        char *resp = NULL;
        int st = post_capture(again[i], &resp);
        ok(st == 200 && resp && strstr(resp, "\"duplicate\""), "%s: same leg again → 200 duplicate (%d %s)", again[i],
           st, resp ? resp : "");
        free(resp);
    }
    is_int(count(srv.db, "SELECT count(*) FROM voip_cdr WHERE fs_uuid = 'df2ca423-c52d-4e77-9e81-2211975e94c9'"), 1,
           "the A leg posted in three encodings is one row");

    long long rejects = count(srv.db, "SELECT count(*) FROM voip_cdr_rejects");
    char *resp = NULL;
    int st = post_capture("cdr-json-a-leg-encode-true.form", &resp);
    is_int(st, 400, "json encode=true body (not JSON after one decode) → 400");
    ok(resp && strstr(resp, "encode=true"), "the 400 explains the setting: %s", resp ? resp : "");
    free(resp);
    is_int(count(srv.db, "SELECT count(*) FROM voip_cdr_rejects"), rejects + 1, "and the body is kept in the rejects");
    size_t len;
    char *body = h_capture("cdr-json-a-leg-encode-true.form", &len);
    is_int(count(srv.db, "SELECT length(body) FROM voip_cdr_rejects ORDER BY id DESC LIMIT 1"), (long long)len,
           "verbatim");
    free(body);
}

static void garbage(void)
{
    static const struct {
        const char *body, *ctype;
    } bad[] = {{"hello", "text/plain"},
               {"{not json", "application/json"},
               {"{\"variables\":{}}", "application/json"},
               {"cdr=%%%%", "application/x-www-form-urlencoded"},
               {"cdr=!!!!", "application/x-www-form-base64-encoded"},
               {"<cdr><variables/></cdr>", "text/xml"},
               {"<notcdr/>", "text/xml"}};
    long long before = count(srv.db, "SELECT count(*) FROM voip_cdr_rejects");
    for (size_t i = 0; i < W3_ARRAY_LEN(bad); i++) {
        h_resp_t r;
        post_cdr(srv.port, bad[i].body, strlen(bad[i].body), bad[i].ctype, NULL, &r);
        ok(r.status == 400 && r.body && strstr(r.body, "unparseable_cdr"), "garbage '%s' → 400 (%d)", bad[i].body,
           r.status);
        h_resp_free(&r);
    }
    is_int(count(srv.db, "SELECT count(*) FROM voip_cdr_rejects"), before + (long long)W3_ARRAY_LEN(bad),
           "every garbage body kept in voip_cdr_rejects");

    h_resp_t r;
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    h_request(srv.port, "POST", "/fs/cdr", hdrs, "{}", 2, &r);
    is_int(r.status, 401, "CDR without credentials → 401");
    h_resp_free(&r);
    h_request(srv.port, "GET", "/fs/cdr", NULL, NULL, 0, &r);
    is_int(r.status, 405, "GET /fs/cdr → 405");
    h_resp_free(&r);
}

/* A unique leg: the A-leg capture with its uuid replaced. */
static char *unique_leg(const char *base, const char *uuid)
{
    static const char old[] = "df2ca423-c52d-4e77-9e81-2211975e94c9";
    w3_buf_t b = {0};
    for (const char *p = base;;) {
        const char *hit = strstr(p, old);
        if (!hit) {
            w3_buf_adds(&b, p);
            break;
        }
        w3_buf_add(&b, p, (size_t)(hit - p));
        w3_buf_adds(&b, uuid);
        p = hit + sizeof(old) - 1;
    }
    return b.data;
}

static void attribution(void)
{
    char *base = h_capture("cdr-json-a-leg.json", NULL);
    /* tenant_id variable says B, the call's authenticated domain says A */
    char *leg = unique_leg(base, "11111111-1111-4111-8111-111111111111");
    char *p = strstr(leg, TA);
    while (p) { /* every tenant_id value → tenant B's id */
        memcpy(p, TB, strlen(TB));
        p = strstr(p, TA);
    }
    h_resp_t r;
    post_cdr(srv.port, leg, strlen(leg), "application/json", NULL, &r);
    is_int(r.status, 201, "CDR with a contradicting tenant_id stored");
    h_resp_free(&r);
    is_col("11111111-1111-4111-8111-111111111111", "tenant_id", TA,
           "contradicting tenant_id variable: the domain's tenant wins");
    char *note = col(srv.db, "11111111-1111-4111-8111-111111111111", "attribution_note");
    ok(note && strstr(note, "not trusted"), "and the row says why: %s", note ? note : "");
    free(note);
    free(leg);

    /* no domain, DID, gateway or known tenant at all */
    const char *orphan = "{\"core-uuid\":\"c0000000-0000-4000-8000-000000000000\",\"variables\":{\"uuid\":"
                         "\"22222222-2222-4222-8222-222222222222\",\"tenant_id\":\"nobody\",\"sip_domain\":"
                         "\"unknown.example\",\"hangup_cause\":\"NORMAL_CLEARING\"}}";
    post_cdr(srv.port, orphan, strlen(orphan), "application/json", NULL, &r);
    is_int(r.status, 201, "unattributable CDR is stored, not dropped");
    ok(r.body && strstr(r.body, "\"attributed\":false"), "and reported unattributed");
    h_resp_free(&r);
    is_col("22222222-2222-4222-8222-222222222222", "attributed", "0", "unattributable: flagged");
    is_col("22222222-2222-4222-8222-222222222222", "tenant_id", NULL, "unattributable: no tenant guessed");
    free(base);
}

struct poster {
    int port;
    int id;
    int n;
    const char *base;
    char (*acked)[40];
    atomic_int *nacked;
    atomic_bool *stop;
};

static void *poster_main(void *arg)
{
    struct poster *p = arg;
    for (int i = 0; i < p->n && !atomic_load(p->stop); i++) {
        char uuid[40];
        snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", p->id, i);
        char *leg = unique_leg(p->base, uuid);
        h_resp_t r;
        if (post_cdr(p->port, leg, strlen(leg), "application/json", NULL, &r) == 0 && r.status == 201) {
            int k = atomic_fetch_add(p->nacked, 1);
            memcpy(p->acked[k], uuid, sizeof(uuid));
        }
        h_resp_free(&r);
        free(leg);
    }
    return NULL;
}

static void concurrent(void)
{
    char *base = h_capture("cdr-json-a-leg.json", NULL);
    enum { T = 50, N = 8 };
    static char acked[T * N][40];
    atomic_int nacked = 0;
    atomic_bool stop = false;
    pthread_t th[T];
    struct poster p[T];
    for (int i = 0; i < T; i++) {
        p[i] = (struct poster){srv.port, 0x100 + i, N, base, acked, &nacked, &stop};
        pthread_create(&th[i], NULL, poster_main, &p[i]);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    is_int(nacked, T * N, "50 concurrent posters: every CDR acknowledged");
    is_int(count(srv.db, "SELECT count(*) FROM voip_cdr WHERE fs_uuid LIKE '000001%'"), T * N,
           "and every one stored exactly once");
    free(base);
}

static void kill9(void)
{
    /* a fresh server on its own database; flood; kill -9; restart */
    h_server_t s;
    if (!ok(h_server_start(&s, NULL, NULL) == 0, "server for the crash test"))
        return;
    char *db = xstrdup(s.db);
    char *dir = xstrdup(s.dir);
    char *base = h_capture("cdr-json-a-leg.json", NULL);
    enum { T = 8, N = 400 };
    static char acked[T * N][40];
    atomic_int nacked = 0;
    atomic_bool stop = false;
    pthread_t th[T];
    struct poster p[T];
    for (int i = 0; i < T; i++) {
        p[i] = (struct poster){s.port, 0x900 + i, N, base, acked, &nacked, &stop};
        pthread_create(&th[i], NULL, poster_main, &p[i]);
    }
    for (int i = 0; i < 400 && atomic_load(&nacked) < 200; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(s.pid, SIGKILL);
    int wst;
    waitpid(s.pid, &wst, 0);
    atomic_store(&stop, true);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    int n = atomic_load(&nacked);
    ok(n >= 200 && WIFSIGNALED(wst), "killed with SIGKILL in the middle of a flood (%d acknowledged)", n);

    h_server_t s2;
    ok(h_server_start(&s2, db, NULL) == 0, "restarts on the same database (stale lock file ignored)");
    sqlite3 *h;
    sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(h, "SELECT count(*) FROM voip_cdr WHERE fs_uuid = ?1", -1, &st, NULL);
    int missing = 0, doubled = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, acked[i], -1, SQLITE_STATIC);
        sqlite3_step(st);
        int c = sqlite3_column_int(st, 0);
        missing += c == 0;
        doubled += c > 1;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    ok(missing == 0 && doubled == 0, "every acknowledged CDR present exactly once (%d acked, %d missing, %d doubled)",
       n, missing, doubled);
    /* re-posting an acknowledged leg after the crash is a duplicate */
    char *leg = unique_leg(base, acked[0]);
    h_resp_t r;
    post_cdr(s2.port, leg, strlen(leg), "application/json", NULL, &r);
    is_int(r.status, 200, "an acknowledged leg re-sent after the crash is a duplicate");
    h_resp_free(&r);
    free(leg);
    free(s2.db);
    s2.db = NULL;
    s2.db = xstrdup(db);
    is_int(h_server_stop(&s2), 0, "restarted server exits cleanly");
    h_rmrf(dir);
    free(dir);
    free(db);
    free(base);
    free(s.dir);
    free(s.db);
    free(s.jwt_key);
    free(s.log);
    free(s.user);
    free(s.pass);
}

/* Every CDR, refused or not, is one job of the writer; jobs share commits. */
static void writer_metrics(void)
{
    long long jobs = h_metric(srv.port, "w3voipd_writer_jobs_total"),
              commits = h_metric(srv.port, "w3voipd_writer_commits_total");
    long long cdrs =
        h_metric(srv.port, "w3voipd_cdr_ingested_total") + h_metric(srv.port, "w3voipd_cdr_rejected_total");
    ok(cdrs > 0 && jobs >= cdrs, "the writer counts a job per CDR stored or kept as rejected (%lld jobs, %lld CDRs)",
       jobs, cdrs);
    ok(commits >= 1 && commits < jobs, "concurrent CDRs share commits (%lld commits for %lld jobs)", commits, jobs);
    is_int(h_metric(srv.port, "w3voipd_writer_job_failures_total"), 0, "no write failed");
    long long thread = h_metric(srv.port, "w3voipd_wal_checkpoints_total{by=\"thread\"}");
    long long inline_runs = h_metric(srv.port, "w3voipd_wal_checkpoints_total{by=\"writer\"}");
    /* concurrent() alone wrote several thousand WAL frames (the thread is woken
     * from 1,000 on), and kill9() gave it seconds to finish a run */
    ok(thread >= 1 && inline_runs >= 0, "WAL checkpoints counted by who ran them (thread %lld, writer %lld)", thread,
       inline_runs);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    captured();
    garbage();
    attribution();
    concurrent();
    kill9();
    char *m = NULL;
    h_resp_t r;
    h_request(srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    m = r.body;
    ok(m && strstr(m, "w3voipd_cdr_ingested_total ") && !strstr(m, "w3voipd_cdr_ingested_total 0\n") &&
           !strstr(m, "w3voipd_cdr_rejected_total 0\n") && !strstr(m, "w3voipd_cdr_duplicate_total 0\n"),
       "CDRs ingested, duplicated and rejected are counted");
    writer_metrics();
    h_resp_free(&r);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
