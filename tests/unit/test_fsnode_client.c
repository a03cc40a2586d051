/* The event-socket client in-process (also under valgrind): fsnode_create()
 * against a fake node on 127.0.0.1, the resync, a change, the failure
 * callback, the bounded queue of a node that is down, the status and the
 * metrics, and a clean fsnode_destroy(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fake_esl.h"
#include "fsnode.h"
#include "harness.h"
#include "log.h"
#include "tap.h"
#include "util.h"

#define WAIT_MS 10000 /* deadlines with valgrind's margin */

static int failures;
static char failed_cmd[256], failed_reply[256], failed_domain[256];

static void on_failed(const char *node, const char *command, const char *reply, const char *domain, void *arg)
{
    failures++;
    snprintf(failed_cmd, sizeof(failed_cmd), "%s", command);
    snprintf(failed_reply, sizeof(failed_reply), "%s", reply);
    snprintf(failed_domain, sizeof(failed_domain), "%s", domain ? domain : "(none)");
}

static bool cmd_is(fesl_t *n, int i, const char *want)
{
    char *c = fesl_cmd(n, i);
    bool same = c && strcmp(c, want) == 0;
    if (!same)
        printf("#   command %d: got '%s', want '%s'\n", i, c ? c : "(none)", want);
    free(c);
    return same;
}

static bool connected(fsnode_t *f)
{
    int n = 0;
    fsnode_status_t *s = fsnode_status(f, &n);
    bool up = n == 1 && s[0].connected;
    fsnode_status_free(s, n);
    return up;
}

/* The settings: flags, the environment, the password file, the defaults
 * that depend on whether a node is configured. */
static void settings(const char *dir)
{
    char *pw = h_write_file(dir, "pw", "s3cret\n");
    char *pw2 = h_write_file(dir, "pw2", "two\nlines\n");
    srv_config_t c;
    bool printed;
    char *err = NULL;
    setenv("W3_FS_NODES", "10.0.0.1:8021,[::1]:8022", 1);
    char *a1[] = {"w3voipd", "--db", "x.db", "--jwt-key", "k", "--fs-node-password-file", pw, NULL};
    int rc = srv_config_parse(&c, 7, a1, &printed, &err);
    ok(rc == 0 && c.fs_nodes_n == 2 && strcmp(c.fs_nodes[0], "10.0.0.1:8021") == 0 &&
           strcmp(c.fs_nodes[1], "[::1]:8022") == 0,
       "W3_FS_NODES: a comma-separated list (%s)", err ? err : "ok");
    is_str(c.fs_node_password, "s3cret", "the password file's trailing newline is stripped");
    is_int(c.cacheable_ms, SRV_CACHEABLE_WITH_NODES_MS, "with nodes, users are cacheable by default");
    ok(strcmp(c.fs_gateway_profile, "external") == 0 && strcmp(c.fs_phone_profile, "internal") == 0 &&
           c.ai_max_seconds == 1800,
       "defaults: profiles external and internal, --ai-max-seconds 1800");
    srv_config_free(&c);
    char *a2[] = {"w3voipd", "--db",      "x.db",    "--jwt-key",   "k", "--fs-node-password-file",
                  pw,        "--fs-node", "h3:8021", "--cacheable", "0", NULL};
    rc = srv_config_parse(&c, 11, a2, &printed, &err);
    ok(rc == 0 && c.fs_nodes_n == 1 && strcmp(c.fs_nodes[0], "h3:8021") == 0, "a --fs-node flag replaces the list");
    is_int(c.cacheable_ms, 0, "--cacheable 0 overrides the default of a node");
    srv_config_free(&c);
    unsetenv("W3_FS_NODES");
    char *a3[] = {"w3voipd", "--db", "x.db", "--jwt-key", "k", NULL};
    rc = srv_config_parse(&c, 5, a3, &printed, &err);
    ok(rc == 0 && c.fs_nodes_n == 0 && c.cacheable_ms == 0, "no node: no cacheable, as before");
    srv_config_free(&c);
    char *a4[] = {"w3voipd", "--db", "x.db", "--jwt-key", "k", "--fs-node", "h:1", "--fs-node-password-file",
                  pw2,       NULL};
    rc = srv_config_parse(&c, 9, a4, &printed, &err);
    ok(rc == -EINVAL && err && strstr(err, "one line"), "a password file of two lines is refused (%s)", err ? err : "");
    free(err);
    err = NULL;
    srv_config_free(&c);
    char *a5[] = {"w3voipd", "--db", "x.db", "--jwt-key", "k", "--fs-node", "h:0", NULL};
    rc = srv_config_parse(&c, 7, a5, &printed, &err);
    ok(rc == -EINVAL && err && strstr(err, "HOST:PORT"), "port 0 is refused (%s)", err ? err : "");
    free(err);
    srv_config_free(&c);
    free(pw);
    free(pw2);
}

int main(void)
{
    log_open("/dev/null", LOG_FMT_LOGFMT);
    char *dir = h_tmpdir();
    settings(dir);
    char *db = h_demo_db(dir, "fsnode.db");
    fesl_t *node = fesl_start(&(fesl_opts_t){.password = "s3cret", .fail = "flush_inbound_reg"});
    int port = fesl_port(node);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    const char *nodes[] = {addr};
    fsnode_opts_t o = {.nodes = nodes,
                       .nodes_n = 1,
                       .password = "s3cret",
                       .gateway_profile = "carriers",
                       .phone_profile = "phones",
                       .db_path = db,
                       .busy_ms = 1000,
                       .poll_s = 0.05,
                       .queue_max = 16,
                       .failed = on_failed};
    char *err = NULL;
    fsnode_t *f = fsnode_create(&o, &err);
    ok(f != NULL, "fsnode_create (%s)", err ? err : "no error");

    ok(fesl_wait(node, 2, WAIT_MS) && cmd_is(node, 0, "sofia profile carriers rescan") &&
           cmd_is(node, 1, "xml_flush_cache"),
       "at connect: rescan of --fs-gateway-profile, then a flush of every cached user");
    ok(connected(f), "the status says connected");

    h_sql(db, "UPDATE voip_extensions SET enabled = 0 WHERE ext_number = '100' AND sip_domain = 'tenantA.edvoip.it'");
    ok(fesl_wait(node, 4, WAIT_MS) && cmd_is(node, 2, "xml_flush_cache id 100 tenantA.edvoip.it") &&
           cmd_is(node, 3, "sofia profile phones flush_inbound_reg 100@tenantA.edvoip.it"),
       "a disabled extension: flush, then flush_inbound_reg on --fs-phone-profile");
    for (int i = 0; i < WAIT_MS / 10 && failures == 0; i++)
        usleep(10000);
    is_int(failures, 1, "the node's -ERR reached the failure callback once");
    is_str(failed_cmd, "sofia profile phones flush_inbound_reg 100@tenantA.edvoip.it", "  ...with the command");
    is_str(failed_reply, "-ERR simulated failure", "  ...the reply's first line");
    is_str(failed_domain, "tenantA.edvoip.it", "  ...and the tenant's domain");

    /* down: 30 changed trunks queue 60 commands for a queue of 16 */
    fesl_stop(node);
    for (int i = 0; i < WAIT_MS / 10 && connected(f); i++)
        usleep(10000);
    ok(!connected(f), "a stopped node is reported disconnected");
    for (int i = 0; i < 30; i++) {
        char sql[200];
        snprintf(sql, sizeof(sql), "UPDATE voip_trunks SET port = %d WHERE gateway_name = 'tenantA_store01'", 5100 + i);
        h_sql(db, sql);
        usleep(80000);
    }
    node = fesl_start(&(fesl_opts_t){.port = port, .password = "s3cret"});
    ok(node != NULL, "the node is back on the same port");
    ok(fesl_wait(node, 2, WAIT_MS), "  ...and is resynced");
    usleep(1500000);
    int n = fesl_count(node);
    ok(n >= 2 && n <= 16 && cmd_is(node, 0, "sofia profile carriers rescan") && cmd_is(node, 1, "xml_flush_cache"),
       "the queue stayed bounded while it was down: %d commands, starting with the resync", n);

    w3_buf_t m = {0};
    fsnode_metrics_render(f, &m);
    char want[160];
    snprintf(want, sizeof(want), "w3voipd_fs_node_connected{node=\"%s\"} 1\n", addr);
    ok(m.data && strstr(m.data, want), "metrics: %s", want);
    snprintf(want, sizeof(want), "w3voipd_fs_node_commands_total{node=\"%s\",result=\"error\"} 1\n", addr);
    ok(m.data && strstr(m.data, want), "metrics: one error counted");
    w3_buf_free(&m);
    w3_buf_t none = {0};
    fsnode_metrics_render(NULL, &none);
    is_int((int)none.len, 0, "no fsnode: no fs node samples");
    w3_buf_free(&none);

    fsnode_destroy(f);
    fsnode_destroy(NULL);
    ok(true, "fsnode_destroy stops the thread and closes the connection (NULL is a no-op)");

    const char *bad[] = {"nonsense"};
    o.nodes = bad;
    f = fsnode_create(&o, &err);
    ok(f == NULL && err && strstr(err, "nonsense"), "a node without a port is refused (%s)", err ? err : "");
    free(err);

    fesl_stop(node);
    h_rmrf(dir);
    free(db);
    free(dir);
    log_close();
    return tap_done();
}
