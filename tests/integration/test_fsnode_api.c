/* Issue 12 item 2 with issue 11's API as the writer: every provisioning
 * write reaches a FreeSWITCH node within 1 s as the commands it needs —
 * a trunk created, changed, deleted; an extension changed, disabled;
 * a tenant disabled; 10,000 extensions in one PUT as a bounded handful. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_esl.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#ifdef __SANITIZE_ADDRESS__
#define SLOW 3
#else
#define SLOW 1
#endif

#define DA "tenantA.edvoip.it"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define PROV "/api/voip/provision/"

static h_server_t srv;
static fesl_t *node;
static int mark;
static char *plat;

/* A provisioning write, then exactly want on the node within 1 s. */
static void write_then(const char *method, const char *path, const char *body, const char *const *want,
                       const char *what)
{
    h_resp_t r;
    long long t0 = fesl_now_ms();
    h_api(srv.port, method, path, plat, body, &r);
    int st = r.status;
    h_resp_free(&r);
    int k = 0;
    while (want[k])
        k++;
    bool arrived = fesl_wait(node, mark + k, 1000 * SLOW);
    long long took = fesl_now_ms() - t0;
    usleep(400000); /* and nothing more */
    int got = fesl_count(node) - mark;
    bool same = got == k;
    for (int i = 0; i < got; i++) {
        char *c = fesl_cmd(node, mark + i);
        if (i >= k || !c || strcmp(c, want[i]) != 0) {
            printf("#   command %d: got '%s', want '%s'\n", i, c ? c : "(none)", i < k ? want[i] : "(nothing)");
            same = false;
        }
        free(c);
    }
    ok(st == 200 && arrived && same, "%s: %s %d → the node got exactly %d command(s) in %lld ms (deadline %d ms)", what,
       method, st, k, took, 1000 * SLOW);
    mark = fesl_count(node);
}

int main(void)
{
    node = fesl_start(&(fesl_opts_t){.password = "ClueCon"});
    char *dir = h_tmpdir();
    char *pw = h_write_file(dir, "esl.pass", "ClueCon\n");
    char n1[64];
    snprintf(n1, sizeof(n1), "127.0.0.1:%d", fesl_port(node));
    const char *extra[] = {"--fs-node", n1, "--fs-node-password-file", pw, NULL};
    if (!ok(h_server_start(&srv, NULL, extra) == 0, "w3voipd starts with one --fs-node"))
        return tap_done();
    plat = h_token(&srv, NULL, NULL);
    ok(fesl_wait(node, 2, 3000 * SLOW), "the node is resynced at connect");
    usleep(300000);
    mark = fesl_count(node);

    const char *const rescan[] = {"sofia profile external rescan", NULL};
    const char *const kill_rescan[] = {"sofia profile external killgw tenantA_api", "sofia profile external rescan",
                                       NULL};
    const char *const kill[] = {"sofia profile external killgw tenantA_api", NULL};
    write_then("PUT", PROV "trunks/tenantA_api?sip_domain=" DA, "{\"store_id\":\"" SA1 "\",\"proxy\":\"192.0.2.20\"}",
               rescan, "PUT of a new trunk → rescan");
    write_then("PUT", PROV "trunks/tenantA_api?sip_domain=" DA, "{\"store_id\":\"" SA1 "\",\"proxy\":\"192.0.2.21\"}",
               kill_rescan, "PUT of the trunk with a new proxy → killgw, then rescan");
    write_then("DELETE", PROV "trunks/tenantA_api?sip_domain=" DA, NULL, kill, "DELETE of the trunk → killgw");

    const char *const flush[] = {"xml_flush_cache id 101 " DA, NULL};
    const char *const flush_reg[] = {"xml_flush_cache id 101 " DA, "sofia profile internal flush_inbound_reg 101@" DA,
                                     NULL};
    const char *ext = "{\"store_id\":\"" SA1 "\",\"user_id\":\"a1000000-0000-4000-8000-000000000101\","
                      "\"display_name\":\"Desk\",\"password\":\"new-secret-101\"}";
    write_then("PUT", PROV "extensions/101?sip_domain=" DA, ext, flush, "PUT of 101 with a new password → flush");
    const char *off = "{\"store_id\":\"" SA1 "\",\"user_id\":\"a1000000-0000-4000-8000-000000000101\","
                      "\"display_name\":\"Desk\",\"enabled\":false}";
    write_then("PUT", PROV "extensions/101?sip_domain=" DA, off, flush_reg,
               "PUT of 101 disabled → flush, then flush_inbound_reg");

    /* 10,000 extensions in one PUT: nothing cached yet, nothing to say */
    h_resp_t r;
    h_api(srv.port, "PUT", PROV "tenants/many.example.net", plat, "{\"tenant_id\":\"many\"}", &r);
    h_resp_free(&r);
    usleep(600000); /* what a new tenant needs, if anything, is not counted below */
    mark = fesl_count(node);
    w3_buf_t b = {0};
    w3_buf_adds(&b, "{\"stores\":[{\"store_id\":\"many-s\"}],\"extensions\":[");
    for (int i = 0; i < 10000; i++)
        w3_buf_printf(&b,
                      "%s{\"ext_number\":\"%d\",\"store_id\":\"many-s\",\"user_id\":\"m%d\",\"a1_hash\":"
                      "\"0123456789abcdef0123456789abcdef\"}",
                      i ? "," : "", 20000 + i, i);
    w3_buf_adds(&b, "]}");
    h_api(srv.port, "PUT", PROV "snapshot?sip_domain=many.example.net", plat, b.data, &r);
    is_int(r.status, 200, "a PUT of 10,000 new extensions → 200");
    h_resp_free(&r);
    usleep(1200000 * SLOW);
    int extra_cmds = fesl_count(node) - mark, per_user = 0;
    for (int i = 0; i < extra_cmds; i++) {
        char *c = fesl_cmd(node, mark + i);
        per_user += c && (strstr(c, "xml_flush_cache id") || strstr(c, "flush_inbound_reg"));
        free(c);
    }
    ok(extra_cmds <= 1 && per_user == 0,
       "  ...no command per user (nothing cached yet): %d command(s), at most the new store's rescan", extra_cmds);
    /* and all 10,000 changed at once */
    char *s = b.data;
    for (char *p = strstr(s, "\"a1_hash\":\"0123"); p; p = strstr(p + 1, "\"a1_hash\":\"0123"))
        memcpy(p + 11, "f", 1);
    mark = fesl_count(node);
    h_api(srv.port, "PUT", PROV "snapshot?sip_domain=many.example.net", plat, b.data, &r);
    is_int(r.status, 200, "a PUT changing all 10,000 → 200");
    h_resp_free(&r);
    bool got = fesl_wait(node, mark + 1, 1000 * SLOW);
    usleep(600000);
    int n = fesl_count(node) - mark;
    char *first = fesl_cmd(node, mark);
    ok(got && n >= 1 && n <= 3 && first && strcmp(first, "xml_flush_cache") == 0,
       "  ...a bounded %d command(s) within 1 s, the first a bare xml_flush_cache", n);
    free(first);
    w3_buf_free(&b);

    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    fesl_stop(node);
    free(plat);
    h_rmrf(dir);
    free(dir);
    free(pw);
    return tap_done();
}
