/* Issue 12: FreeSWITCH follows every change over the event socket. A real
 * w3voipd is pointed at fake event-socket nodes (tests/lib/fake_esl.h)
 * speaking FreeSWITCH's framing; changes are made with the sqlite3 library
 * on the server's database file, as an operator's sqlite3 CLI would, and
 * the exact commands each node receives, in order, are checked. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_esl.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define SA "a5000000-0000-4000-8000-000000000001"
#define DA "tenantA.edvoip.it"
#define DB "tenantB.edvoip.it"

#if defined(__SANITIZE_ADDRESS__)
#define SLOW 3
#else
#define SLOW 1
#endif

static h_server_t srv;
static fesl_t *good, *good2, *badpw, *silent, *mute;
static int mark1, mark2; /* commands of good / good2 already checked */

static char node_label(char *out, size_t cap, const char *metric, fesl_t *n, const char *more)
{
    snprintf(out, cap, "%s{node=\"127.0.0.1:%d\"%s}", metric, fesl_port(n), more ? more : "");
    return out[0];
}

/* The commands after *mark equal want (NULL-terminated), within 1.5 s of
 * the change, and nothing follows them within a poll or two. */
static void expect(fesl_t *n, int *mark, const char *const *want, const char *what)
{
    int k = 0;
    while (want[k])
        k++;
    long long t0 = fesl_now_ms();
    bool arrived = fesl_wait(n, *mark + k, 1500 * SLOW);
    long long took = fesl_now_ms() - t0;
    usleep(400000);
    int got = fesl_count(n) - *mark;
    bool same = got == k;
    for (int i = 0; i < k && i < got; i++) {
        char *c = fesl_cmd(n, *mark + i);
        if (!c || strcmp(c, want[i]) != 0) {
            printf("#   command %d: got '%s', want '%s'\n", i, c ? c : "(none)", want[i]);
            same = false;
        }
        free(c);
    }
    for (int i = k; i < got; i++) {
        char *c = fesl_cmd(n, *mark + i);
        printf("#   unexpected command %d: '%s'\n", i, c ? c : "");
        free(c);
    }
    ok(arrived && same, "%s: node %d got exactly %d command(s) in order, in %lld ms (deadline %d ms)", what,
       fesl_port(n), k, took, 1500 * SLOW);
    *mark = fesl_count(n);
}

static void change(const char *sql, const char *const *want, const char *what)
{
    int rc = h_sql(srv.db, sql);
    ok(rc == 0, "sqlite3 (the library, on the server's file): %s", what);
    expect(good, &mark1, want, what);
    expect(good2, &mark2, want, what);
}

static long long metric(const char *name, fesl_t *n, const char *more)
{
    char s[200];
    node_label(s, sizeof(s), name, n, more);
    return h_metric(srv.port, s);
}

static void resync_at_connect(void)
{
    const char *const want[] = {"sofia profile external rescan", "xml_flush_cache", NULL};
    long long t0 = fesl_now_ms();
    bool in_time = fesl_wait(good, 2, 3000 * SLOW) && fesl_wait(good2, 2, 3000 * SLOW);
    ok(in_time, "both nodes resynced within 3 s of start (%lld ms)", fesl_now_ms() - t0);
    expect(good, &mark1, want, "resync at connect");
    expect(good2, &mark2, want, "resync at connect");
    is_int(metric("w3voipd_fs_node_connected", good, NULL), 1, "w3voipd_fs_node_connected of a good node is 1");
    is_int(metric("w3voipd_fs_node_connected", badpw, NULL), 0, "  ...of the node refusing the password is 0");
    is_int(metric("w3voipd_fs_node_connected", silent, NULL), 0, "  ...of the silent node is 0");
    is_int(metric("w3voipd_fs_node_commands_total", good, ",result=\"ok\""), 3,
           "w3voipd_fs_node_commands_total{result=\"ok\"} counts the event subscription and the 2 resync commands");
}

/* A stream the Voice Gateway never accepted: the node that carries the call
 * says mod_audio_fork::connect_failed; w3voipd moves the call to its DID's
 * fallback on that node, and only there. */
static void ai_supervision(void)
{
    char *sub = fesl_subscription(good);
    is_str(sub, "event plain CUSTOM mod_audio_fork::connect mod_audio_fork::connect_failed mod_audio_fork::disconnect",
           "each node is subscribed to the audio-fork events at connect");
    free(sub);
    const char *const none[] = {NULL};
    is_int(fesl_emit(good, "mod_audio_fork::connect", "5a1f0c3e-7b2d-4c1e-9f00-0123456789ab"), 1,
           "the node emits mod_audio_fork::connect for a call");
    expect(good, &mark1, none, "a stream that connected: nothing to do");
    const char *const move[] = {"uuid_setvar 5a1f0c3e-7b2d-4c1e-9f00-0123456789ab w3_fork -ERR audio stream "
                                "connect_failed",
                                "uuid_transfer 5a1f0c3e-7b2d-4c1e-9f00-0123456789ab w3_ai_result XML public", NULL};
    long long t0 = fesl_now_ms();
    fesl_emit(good, "mod_audio_fork::connect_failed", "5a1f0c3e-7b2d-4c1e-9f00-0123456789ab");
    bool fast = fesl_wait(good, mark1 + 2, 2000 * SLOW);
    ok(fast, "connect_failed: the transfer to the fallback is sent within 2 s (%lld ms)", fesl_now_ms() - t0);
    expect(good, &mark1, move, "connect_failed -> w3_fork marked failed, then uuid_transfer to w3_ai_result");
    expect(good2, &mark2, none, "  ...the other node, which does not carry the call, gets nothing");
    fesl_emit(good, "mod_audio_fork::connect_failed", "not a uuid; uuid_kill all");
    expect(good, &mark1, none, "an event whose Unique-ID is not a UUID is never put in a command");
}

static void trunks(void)
{
    const char *const rescan[] = {"sofia profile external rescan", NULL};
    const char *const kill_rescan[] = {"sofia profile external killgw tenantA_fsnode", "sofia profile external rescan",
                                       NULL};
    const char *const kill[] = {"sofia profile external killgw tenantA_fsnode", NULL};
    change("INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy) VALUES "
           "('fsn1', '" TA "', '" DA "', '" SA "', 'tenantA_fsnode', '192.0.2.10')",
           rescan, "new trunk -> rescan");
    change("UPDATE voip_trunks SET proxy = '192.0.2.11' WHERE trunk_id = 'fsn1'", kill_rescan,
           "changed trunk -> killgw then rescan");
    change("UPDATE voip_trunks SET enabled = 0 WHERE trunk_id = 'fsn1'", kill, "disabled trunk -> killgw");
    change("UPDATE voip_trunks SET enabled = 1 WHERE trunk_id = 'fsn1'", rescan, "enabled again -> rescan");
    change("DELETE FROM voip_trunks WHERE trunk_id = 'fsn1'", kill, "deleted trunk -> killgw");
    const char *const store_off[] = {"sofia profile external killgw tenantA_store01", NULL};
    change("UPDATE stores SET enabled = 0 WHERE store_id = '" SA "'", store_off,
           "disabled store -> killgw of its trunks (they leave purpose=gateways)");
    change("UPDATE stores SET enabled = 1 WHERE store_id = '" SA "'", rescan, "store enabled again -> rescan");
}

static void extensions(void)
{
    const char *const flush[] = {"xml_flush_cache id 101 " DA, NULL};
    const char *const flush_reg[] = {"xml_flush_cache id 101 " DA, "sofia profile internal flush_inbound_reg 101@" DA,
                                     NULL};
    const char *const del[] = {"xml_flush_cache id 150 " DA, "sofia profile internal flush_inbound_reg 150@" DA, NULL};
    const char *const none[] = {NULL};
    change("UPDATE voip_extensions SET display_name = 'Front desk' WHERE ext_number = '101' AND sip_domain = '" DA "'",
           flush, "changed extension -> xml_flush_cache id EXT DOMAIN");
    change("UPDATE voip_extensions SET forwarding = '{\"always\":\"3331234567\"}' WHERE ext_number = '101' AND "
           "sip_domain = '" DA "'",
           flush, "changed forwarding -> the same flush");
    /* the way w3voipd's writer makes an API write: voip_actor set inside the
     * transaction (the activity row carries the client, not 'sql') */
    change("BEGIN; INSERT INTO voip_actor (k, actor) VALUES (1, 'api:provisioner'); UPDATE voip_extensions SET "
           "display_name = 'Reception' WHERE ext_number = '101' AND sip_domain = '" DA
           "'; DELETE FROM voip_actor; COMMIT;",
           flush, "a change written as the API's writer does (voip_actor set) -> the same flush");
    change("UPDATE voip_extensions SET enabled = 0 WHERE ext_number = '101' AND sip_domain = '" DA "'", flush_reg,
           "disabled extension -> flush, then flush_inbound_reg");
    change("INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, ext_number, a1_hash) "
           "VALUES ('fsx150', '" TA "', '" DA "', '" SA "', 'fsu150', '150', '0123456789abcdef0123456789abcdef')",
           none, "new extension -> nothing (nothing cached yet)");
    change("DELETE FROM voip_extensions WHERE extension_id = 'fsx150'", del,
           "deleted extension -> flush, then flush_inbound_reg");
    change("INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
           "('fsr1', '" TA "', '" DA "', 'fsr1', '^7[0-9]{3}$', 'internal')",
           none, "a dialplan change -> nothing (FreeSWITCH fetches the dialplan per call)");
}

static void failed_apply(void)
{
    /* good2 answers -ERR to flush_inbound_reg (fesl_opts_t.fail): the
     * disabled extension above left a 'failed' activity row */
    char *out = NULL;
    w3_buf_t q = {0};
    w3_buf_printf(&q,
                  "sqlite3 '%s' \"SELECT op, status, target, json_extract(diff, '$.command'), "
                  "json_extract(diff, '$.reply'), sip_domain FROM voip_activity_log WHERE status = 'failed' AND "
                  "target = 'fs_node:127.0.0.1:%d' ORDER BY id LIMIT 1\"",
                  srv.db, fesl_port(good2));
    h_run(q.data, &out);
    w3_buf_free(&q);
    char want[300];
    snprintf(want, sizeof(want),
             "apply|failed|fs_node:127.0.0.1:%d|sofia profile internal flush_inbound_reg 101@" DA
             "|-ERR simulated failure|" DA "\n",
             fesl_port(good2));
    is_str(out, want, "a failed apply is an activity row: op apply, status failed, the node, the command, its reply");
    free(out);
    ok(metric("w3voipd_fs_node_commands_total", good2, ",result=\"error\"") >= 1,
       "  ...and counted as result=\"error\" for that node");
    is_int(metric("w3voipd_fs_node_commands_total", good, ",result=\"error\""), 0, "  ...the other node had none");
}

static void tenant_and_bulk(void)
{
    const char *const tenant[] = {"sofia profile external killgw tenantB_store01", "xml_flush_cache id 100 " DB,
                                  "sofia profile internal flush_inbound_reg 100@" DB, NULL};
    change("UPDATE tenants SET enabled = 0 WHERE sip_domain = '" DB "'", tenant,
           "disabled tenant -> killgw its trunks, flush and unregister its users");
    w3_buf_t sql = {0};
    w3_buf_adds(&sql, "BEGIN;");
    for (int i = 0; i < 1000; i++)
        w3_buf_printf(&sql,
                      "INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, "
                      "ext_number, a1_hash) VALUES ('bx%d', '" TA "', '" DA "', '" SA "', 'bu%d', '%d', "
                      "'0123456789abcdef0123456789abcdef');",
                      i, i, 50000 + i);
    w3_buf_adds(&sql, "COMMIT;");
    const char *const none[] = {NULL};
    const char *const bare[] = {"xml_flush_cache", NULL};
    change(sql.data, none, "1,000 extensions inserted in one transaction -> nothing");
    w3_buf_free(&sql);
    change("UPDATE voip_extensions SET display_name = 'Bulk' WHERE extension_id GLOB 'bx*'", bare,
           "1,000 extensions changed in one transaction -> one bare xml_flush_cache");
    is_int(h_sql(srv.db, "DELETE FROM voip_extensions WHERE extension_id GLOB 'bx*'"), 0,
           "sqlite3: 1,000 extensions deleted in one transaction");
    fesl_wait(good, mark1 + 101, 3000 * SLOW);
    usleep(600000);
    int n = fesl_count(good) - mark1;
    char *first = fesl_cmd(good, mark1), *second = fesl_cmd(good, mark1 + 1);
    ok(n == 101 && first && strcmp(first, "xml_flush_cache") == 0 && second &&
           strcmp(second, "sofia profile internal flush_inbound_reg 50000@" DA) == 0,
       "  ...a bounded %d commands: one bare flush, then FSNODE_REG_MAX (100) flush_inbound_reg, not 2,000", n);
    free(first);
    free(second);
    mark1 = fesl_count(good);
    mark2 = fesl_count(good2);
}

static void restart(void)
{
    int port = fesl_port(good);
    fesl_stop(good);
    usleep(300000 * SLOW);
    char s[100];
    snprintf(s, sizeof(s), "w3voipd_fs_node_connected{node=\"127.0.0.1:%d\"}", port);
    is_int(h_metric(srv.port, s), 0, "a node that went away is reported disconnected");
    good = fesl_start(&(fesl_opts_t){.port = port, .password = "ClueCon"});
    mark1 = 0;
    long long t0 = fesl_now_ms();
    const char *const want[] = {"sofia profile external rescan", "xml_flush_cache", NULL};
    bool in_time = fesl_wait(good, 2, 3000 * SLOW);
    ok(in_time, "the restarted node is reconnected and resynced within 3 s (%lld ms)", fesl_now_ms() - t0);
    expect(good, &mark1, want, "resync after the node restarted");
    is_int(metric("w3voipd_fs_node_connected", good, NULL), 1, "  ...and reported connected again");
}

static void wrong_password(void)
{
    long long t0 = fesl_now_ms();
    while (fesl_connections(badpw) < 4 && fesl_now_ms() - t0 < 12000)
        usleep(20000);
    int n = fesl_connections(badpw);
    ok(n >= 4 && fesl_auth_attempts(badpw) >= 4, "the node refusing the password is retried (%d connections)", n);
    long long g1 = fesl_connection_ms(badpw, 1) - fesl_connection_ms(badpw, 0);
    long long g3 = fesl_connection_ms(badpw, 3) - fesl_connection_ms(badpw, 2);
    ok(g1 >= 300 && g1 <= 1000 * SLOW && g3 > g1 * 3 / 2 && g3 <= 5500 * SLOW,
       "  ...first within 1 s, then backing off (gaps %lld ms, then %lld ms)", g1, g3);
    ok(metric("w3voipd_fs_node_auth_failures_total", badpw, NULL) >= 3, "  ...counted in "
                                                                        "w3voipd_fs_node_auth_failures_total");
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "grep -c 'refused the event socket password.*127.0.0.1:%d' '%s'", fesl_port(badpw),
             srv.log);
    char *out = NULL;
    h_run(cmd, &out);
    ok(out && atoi(out) >= 3, "  ...with a clear log line each time (%s)", out ? strtok(out, "\n") : "none");
    free(out);
    ok(fesl_count(badpw) == 0, "  ...and it never received a command");
}

/* Directory lookups with a silent node configured: each answered well within
 * the deadline, and p99 close to a server without nodes. */
static double p99_lookups(const h_server_t *s, char **xml_out)
{
    char *body = h_capture("directory-sip_auth-register.form", NULL);
    uint64_t us[200];
    for (int i = 0; i < 200; i++) {
        h_resp_t r;
        uint64_t t = w3_now_us();
        h_fs_post(s, "/fs/xml", body, strlen(body), s->user, s->pass, &r);
        us[i] = w3_now_us() - t;
        if (i == 0 && xml_out)
            *xml_out = r.status == 200 && r.body ? xstrdup(r.body) : NULL;
        h_resp_free(&r);
    }
    free(body);
    for (int i = 0; i < 200; i++)
        for (int j = i + 1; j < 200; j++)
            if (us[j] < us[i]) {
                uint64_t x = us[i];
                us[i] = us[j];
                us[j] = x;
            }
    return (double)us[197] / 1000.0;
}

static void lookups(void)
{
    h_server_t plain;
    char *xml = NULL, *xml_plain = NULL;
    double with = p99_lookups(&srv, &xml);
    is_int(h_server_start(&plain, NULL, NULL), 0, "a second w3voipd without any node");
    double without = p99_lookups(&plain, &xml_plain);
    ok(with < 250.0 * SLOW && with <= without * 3 + 5.0,
       "directory lookup p99 with a silent, a refusing and two good nodes: %.2f ms (without nodes: %.2f ms)", with,
       without);
    char *c = xml ? h_xpath(xml, strlen(xml), "//user[@id='100']/@cacheable") : NULL;
    is_str(c, "300000", "with a node, the user answer is cacheable=\"300000\" (every change is flushed)");
    free(c);
    int n = xml_plain ? h_xpath_count(xml_plain, strlen(xml_plain), "//user[@id='100']/@cacheable") : -1;
    is_int(n, 0, "without a node, no cacheable attribute, as before");
    free(xml);
    free(xml_plain);
    /* the AI park: with nodes, the stream is supervised over the event socket;
     * without, bounded by --ai-max-seconds */
    char *ai =
        h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "w3_ai_result", "Caller-Destination-Number",
                  "w3_ai_result", "variable_w3_did", "+39061234567", "variable_w3_fork", "+OK Success", NULL);
    const h_server_t *both[2] = {&srv, &plain};
    int sched[2] = {-1, -1}, park[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        h_resp_t r;
        h_fs_post(both[i], "/fs/xml", ai, strlen(ai), both[i]->user, both[i]->pass, &r);
        if (r.status == 200 && r.body) {
            sched[i] = h_xpath_count(r.body, r.body_len, "//action[@application='sched_transfer']");
            park[i] = h_xpath_count(r.body, r.body_len, "//action[@application='park']");
        }
        h_resp_free(&r);
    }
    ok(park[0] == 1 && sched[0] == 0, "an AI call parked with nodes: no time bound (the stream is supervised)");
    ok(park[1] == 1 && sched[1] == 1, "  ...without nodes: bounded by a sched_transfer (--ai-max-seconds)");
    free(ai);
    h_server_stop(&plain);
}

/* A number of GET /api/voip/nodes for one node: "queued", or one of
 * "commands" ("timeout"); -1 when absent. */
static long long node_field(fesl_t *n, const char *name)
{
    char *tok = h_token(&srv, NULL, NULL);
    h_resp_t r;
    h_api(srv.port, "GET", "/api/voip/nodes", tok, NULL, &r);
    json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL, *list = json_object_get(j, "nodes"), *m = NULL;
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", fesl_port(n));
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *a = json_string_value(json_object_get(json_array_get(list, i), "node"));
        if (a && strcmp(a, addr) == 0)
            m = json_array_get(list, i);
    }
    json_t *v = json_object_get(m, name);
    if (v == NULL)
        v = json_object_get(json_object_get(m, "commands"), name);
    long long out = v ? json_integer_value(v) : -1;
    json_decref(j);
    h_resp_free(&r);
    free(tok);
    return out;
}

/* A node that authenticates and then never answers an api command: each
 * command is given up after the documented timeout (5 s), counted, written
 * to the activity log, and the connection is reopened and resynced. */
static void command_timeout(void)
{
    long long t0 = fesl_now_ms();
    while (metric("w3voipd_fs_node_commands_total", mute, ",result=\"timeout\"") < 1 &&
           fesl_now_ms() - t0 < 20000 * SLOW)
        usleep(100000);
    ok(metric("w3voipd_fs_node_commands_total", mute, ",result=\"timeout\"") >= 1,
       "a node that never answers: its command counted as result=\"timeout\"");
    ok(fesl_connections(mute) >= 2, "  ...the connection reopened (%d connections)", fesl_connections(mute));
    char *out = NULL;
    w3_buf_t q = {0};
    w3_buf_printf(&q,
                  "sqlite3 '%s' \"SELECT json_extract(diff, '$.command') || '|' || json_extract(diff, '$.reply') "
                  "FROM voip_activity_log WHERE status = 'failed' AND target = 'fs_node:127.0.0.1:%d' LIMIT 1\"",
                  srv.db, fesl_port(mute));
    h_run(q.data, &out);
    w3_buf_free(&q);
    is_str(out, "sofia profile external rescan|(no reply within the command timeout)\n",
           "  ...and written to the activity log as a failed apply");
    free(out);
    /* one more give-up and reconnect, with no change in between: the queue
     * holds as many commands as before (the resync not sent is replaced) */
    long long q1 = node_field(mute, "queued"), t1 = node_field(mute, "timeout");
    t0 = fesl_now_ms();
    while (node_field(mute, "timeout") <= t1 && fesl_now_ms() - t0 < 8000 * SLOW)
        usleep(100000);
    usleep(1000000);
    long long q2 = node_field(mute, "queued");
    ok(q1 > 0 && q2 == q1, "  ...each reconnect resyncs once: %lld commands queued before a reconnect, %lld after", q1,
       q2);
}

/* The fs node samples in the exposition are valid Prometheus text. */
static void metrics_valid(void)
{
    h_resp_t r;
    h_request(srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    char want[160];
    snprintf(want, sizeof(want), "w3voipd_fs_node_connected{node=\"127.0.0.1:%d\"} 1\n", fesl_port(good2));
    ok(r.status == 200 && r.body && strstr(r.body, want), "/metrics: %s", "w3voipd_fs_node_connected of each node");
    w3_buf_t p = {0};
    w3_buf_printf(&p, "%s/.tools/promtool", h_env("W3_SOURCE_ROOT"));
    if (access(p.data, X_OK) == 0) {
        char *dir = h_tmpdir();
        char *f = h_write_file(dir, "metrics.txt", r.body ? r.body : "");
        w3_buf_t cmd = {0};
        w3_buf_printf(&cmd, "%s check metrics < %s 2>&1", p.data, f);
        char *out = NULL;
        ok(h_run(cmd.data, &out) == 0, "promtool check metrics accepts /metrics with the fs node samples (%s)",
           out ? out : "");
        free(out);
        free(f);
        w3_buf_free(&cmd);
        h_rmrf(dir);
        free(dir);
    } else {
        printf("ok %d # SKIP promtool not installed (make test installs it in .tools/)\n", ++tap_n);
    }
    w3_buf_free(&p);
    h_resp_free(&r);
}

static void nodes_api(void)
{
    char *tok = h_token(&srv, NULL, NULL);
    h_resp_t r;
    h_api(srv.port, "GET", "/api/voip/nodes", tok, NULL, &r);
    is_int(r.status, 200, "GET /api/voip/nodes with a platform token");
    json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
    json_t *list = json_object_get(j, "nodes");
    is_int((int)json_array_size(list), 5, "  ...lists the 5 nodes");
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", fesl_port(good2));
    json_t *g = NULL, *b = NULL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *a = json_string_value(json_object_get(json_array_get(list, i), "node"));
        char bad[64];
        snprintf(bad, sizeof(bad), "127.0.0.1:%d", fesl_port(badpw));
        if (a && strcmp(a, addr) == 0)
            g = json_array_get(list, i);
        if (a && strcmp(a, bad) == 0)
            b = json_array_get(list, i);
    }
    char *gen = NULL, *last = NULL;
    w3_buf_t q = {0};
    w3_buf_printf(&q, "sqlite3 '%s' \"SELECT gen FROM voip_config_gen WHERE tenant_id = '" TA "'\"", srv.db);
    h_run(q.data, &gen);
    q.len = 0;
    w3_buf_printf(&q, "sqlite3 '%s' \"SELECT max(id) FROM voip_activity_log WHERE status = 'ok'\"", srv.db);
    h_run(q.data, &last);
    w3_buf_free(&q);
    long long applied_gen = json_integer_value(json_object_get(json_object_get(g, "generations"), TA));
    long long applied_id = json_integer_value(json_object_get(g, "applied_activity_id"));
    ok(g && json_is_true(json_object_get(g, "connected")) && json_string_value(json_object_get(g, "since")),
       "  ...a good node: connected, since when");
    ok(gen && applied_gen == atoll(gen) && last && applied_id == atoll(last),
       "  ...everything applied: tenant A's generation %lld (database: %s), activity id %lld (last change: %s)",
       applied_gen, gen ? strtok(gen, "\n") : "?", applied_id, last ? strtok(last, "\n") : "?");
    free(gen);
    free(last);
    is_str(b ? json_string_value(json_object_get(b, "last_error")) : NULL, "authentication refused",
           "  ...the refusing node: not connected, last_error \"authentication refused\"");
    ok(b && json_is_false(json_object_get(b, "connected")), "  ...and connected false");
    json_decref(j);
    h_resp_free(&r);
    free(tok);
    tok = h_token(&srv, TA, DA);
    h_api(srv.port, "GET", "/api/voip/nodes", tok, NULL, &r);
    is_int(r.status, 403, "a tenant token is refused (the nodes are shared)");
    h_resp_free(&r);
    free(tok);
    h_api(srv.port, "GET", "/api/voip/nodes", NULL, NULL, &r);
    is_int(r.status, 401, "no token: 401");
    h_resp_free(&r);
}

static void config_errors(const char *pw)
{
    char *err = NULL;
    const char *bad[] = {h_env("W3VOIPD"), "--db", "/nonexistent/x.db", "--jwt-key", pw, "--fs-node", "nonsense", NULL};
    is_int(h_server_expect_fail(bad, &err), 2, "--fs-node nonsense: usage error (exit 2)");
    ok(err && strstr(err, "expected HOST:PORT for --fs-node: 'nonsense'"), "  ...naming the flag and the value");
    free(err);
    const char *nopw[] = {h_env("W3VOIPD"), "--db", "/nonexistent/x.db", "--jwt-key", pw, "--fs-node",
                          "127.0.0.1:8021", NULL};
    is_int(h_server_expect_fail(nopw, &err), 2, "--fs-node without a password file: exit 2");
    ok(err && strstr(err, "--fs-node-password-file"), "  ...saying which flag is missing");
    free(err);
}

int main(void)
{
    good = fesl_start(&(fesl_opts_t){.password = "ClueCon"});
    good2 = fesl_start(&(fesl_opts_t){.password = "ClueCon", .fail = "flush_inbound_reg"});
    badpw = fesl_start(&(fesl_opts_t){.password = "not-the-one"});
    silent = fesl_start(&(fesl_opts_t){.silent = true});
    mute = fesl_start(&(fesl_opts_t){.password = "ClueCon", .mute_api = true});
    char *dir = h_tmpdir();
    char *pw = h_write_file(dir, "esl.pass", "ClueCon\n");
    char n1[64], n2[64];
    snprintf(n1, sizeof(n1), "127.0.0.1:%d", fesl_port(good));
    snprintf(n2, sizeof(n2), "127.0.0.1:%d", fesl_port(good2));
    /* two nodes from flags, two from the environment's comma-separated list
     * (W3_FS_NODES alone: a --fs-node flag replaces the environment's list) */
    const char *extra[] = {"--fs-node-password-file", pw, NULL};
    char env[256];
    snprintf(env, sizeof(env), "%s,%s,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", n1, n2, fesl_port(badpw),
             fesl_port(silent), fesl_port(mute));
    setenv("W3_FS_NODES", env, 1);
    int started = h_server_start(&srv, NULL, extra);
    unsetenv("W3_FS_NODES");
    config_errors(pw);
    if (started != 0) {
        ok(false, "w3voipd starts with four --fs-node");
        return 1;
    }
    resync_at_connect();
    ai_supervision();
    trunks();
    extensions();
    failed_apply();
    tenant_and_bulk();
    restart();
    wrong_password();
    lookups();
    command_timeout();
    metrics_valid();
    nodes_api();
    is_int(h_server_stop(&srv), 0, "w3voipd stops cleanly with its nodes (ASan/LSan clean)");
    fesl_stop(good);
    fesl_stop(good2);
    fesl_stop(badpw);
    fesl_stop(silent);
    fesl_stop(mute);
    h_rmrf(dir);
    free(dir);
    free(pw);
    return tap_done();
}
