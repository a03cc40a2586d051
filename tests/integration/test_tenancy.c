/* Tenant isolation that does not depend on PRAGMA foreign_keys (issue 10,
 * items 1-3): rows written by a sqlite3 session with foreign keys off, or
 * past the CHECKs, never route a call through another tenant, never widen a
 * bridge, and no route pattern stalls a worker. Every reproduction plays the
 * captured FreeSWITCH request against a real w3voipd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SB1 "b5000000-0000-4000-8000-000000000001"

#define BRIDGE "//action[@application='bridge']/@data"
#define RESPOND "//action[@application='respond']/@data"

static h_server_t srv;

static h_resp_t xml(const char *body)
{
    h_resp_t r;
    h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
    return r;
}

static char *first(const h_resp_t *r, const char *xp)
{
    return r->body ? h_xpath(r->body, r->body_len, xp) : NULL;
}

static bool log_has(const char *needle)
{
    size_t n;
    char *log = NULL;
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd, "cat '%s'", srv.log);
    h_run(cmd.data, &log);
    w3_buf_free(&cmd);
    n = log ? strlen(log) : 0;
    bool found = n && strstr(log, needle) != NULL;
    free(log);
    return found;
}

/* item 1: toll fraud through another tenant's trunk */
static void cross_tenant_rows(void)
{
    long before = h_metric(srv.port, "w3voipd_inconsistent_rows_total");
    char *body = h_capture("dialplan-internal-outbound.form", NULL);
    h_resp_t r = xml(body);
    char *bridge = first(&r, BRIDGE);
    ok(bridge && strstr(bridge, "sofia/gateway/tenantA_store01/0612345678") && !strstr(bridge, "tenantB"),
       "100@tenantA dialling 90612345678 goes out through tenant A's own trunk only: %s", bridge ? bridge : "none");
    ok(bridge && !strstr(bridge, "+390676543299"), "  ...never with tenant B's caller id");
    free(bridge);
    h_resp_free(&r);
    ok(h_metric(srv.port, "w3voipd_inconsistent_rows_total") > before,
       "the tenant B trunk on tenant A's store is counted");
    ok(log_has("row not used: its tenant disagrees") && log_has("id=tB2"), "  ...and logged with its trunk_id");
    /* the check runs on its own thread, beside the lookups: give it its time */
    bool warned = false;
    for (int i = 0; i < 300 && !(warned = log_has("foreign-key check at start")); i++)
        usleep(10000);
    ok(warned, "w3voipd warned at start about the rows foreign keys would refuse");

    /* tenant B's extension moved onto tenant A's store: never used */
    char *reg = h_rewrite("directory-sip_auth-register-tenantB.form", NULL);
    r = xml(reg);
    ok(r.status == 200 && h_xpath_count(r.body, r.body_len, "//user[@id='100']") == 0,
       "B/100 placed on tenant A's store is not served (it would export A's store and reach A's trunks)");
    h_resp_free(&r);
    free(reg);

    /* tenant A's DID placed on tenant B's store: never used */
    char *did = h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "+39061234568",
                          "Caller-Destination-Number", "+39061234568", NULL);
    r = xml(did);
    char *resp = first(&r, RESPOND), *b2 = first(&r, BRIDGE);
    ok(resp && strncmp(resp, "404", 3) == 0 && b2 == NULL && r.body && !strstr(r.body, SB1),
       "A's DID placed on B's store is refused as unknown, B's store_id is exported nowhere (%s)",
       resp ? resp : "no respond");
    free(resp);
    free(b2);
    h_resp_free(&r);
    free(did);
    free(body);

    char *out = NULL;
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd, "%s check --db '%s' 2>&1", h_env("W3VOIP"), srv.db);
    int rc = h_run(cmd.data, &out);
    ok(rc == 1 && out && strstr(out, "trunk tenantB_store01_x (tB2, tenantB.edvoip.it) is on store " SA1),
       "w3voip check names the trunk on another tenant's store (exit %d)", rc);
    ok(out && strstr(out, "extension 100@tenantB.edvoip.it is on store " SA1) &&
           strstr(out, "DID +39061234568 (tenantA.edvoip.it) is on store " SB1),
       "  ...and the extension and the DID");
    free(out);
    w3_buf_free(&cmd);
}

/* item 2: a value past the CHECKs never widens a bridge */
static void render_time_validation(void)
{
    is_int(h_sql(srv.db, "PRAGMA ignore_check_constraints=ON;"
                         "UPDATE voip_trunks SET gateway_name = 'gwA2,sofia/gateway/tenantB_store01' "
                         "WHERE gateway_name = 'tenantA_store01';"),
           0, "a gateway_name holding a second leg, past the CHECK");
    char *body = h_capture("dialplan-internal-outbound.form", NULL);
    h_resp_t r = xml(body);
    char *bridge = first(&r, BRIDGE), *resp = first(&r, RESPOND);
    ok(bridge == NULL && resp && strncmp(resp, "503", 3) == 0 && r.body && !strstr(r.body, "gateway/tenantB"),
       "the call is refused (respond %s), never bridged through the smuggled leg", resp ? resp : "none");
    free(bridge);
    free(resp);
    h_resp_free(&r);
    char *gw = h_capture("directory-gateways.form", NULL);
    r = xml(gw);
    ok(r.status == 200 && r.body && !strstr(r.body, "gwA2") &&
           h_xpath_count(r.body, r.body_len, "//gateway[@name='tenantB_store01']") == 1,
       "the gateways document leaves that trunk out and still serves the others");
    h_resp_free(&r);
    free(gw);
    h_sql(srv.db, "PRAGMA ignore_check_constraints=ON; UPDATE voip_trunks SET gateway_name = 'tenantA_store01' "
                  "WHERE gateway_name = 'gwA2,sofia/gateway/tenantB_store01';");

    is_int(h_sql(srv.db, "PRAGMA ignore_check_constraints=ON;"
                         "UPDATE voip_extensions SET ext_number = '1,user/101' WHERE ext_number = '100' AND "
                         "sip_domain = 'tenantA.edvoip.it';"
                         "UPDATE voip_dids SET route_target_ref = '1,user/101' WHERE e164 = '+39061234568';"),
           0, "an extension number holding a second leg, past the CHECK");
    char *did = h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "+39061234568",
                          "Caller-Destination-Number", "+39061234568", NULL);
    r = xml(did);
    bridge = first(&r, BRIDGE);
    resp = first(&r, RESPOND);
    ok(bridge == NULL && resp != NULL && r.body && !strstr(r.body, "user/101"),
       "the DID's call is refused (respond %s), never bridged to user/1,user/101", resp ? resp : "none");
    free(bridge);
    free(resp);
    h_resp_free(&r);
    free(did);
    free(body);
    /* the static export leaves that extension out, names it, writes the rest */
    char *out_dir = h_tmpdir();
    char *out = NULL;
    w3_buf_t cmd = {0};
    w3_buf_printf(
        &cmd, "%s export --db '%s' --domain tenantA.edvoip.it --out '%s/x' 2>&1; echo \"exit=$?\"; ls '%s/x/dialplan'",
        h_env("W3VOIP"), srv.db, out_dir, out_dir);
    h_run(cmd.data, &out);
    ok(out && strstr(out, "extension 1,user/101@tenantA.edvoip.it left out of the dialplan") && strstr(out, "exit=1") &&
           strstr(out, "tenantA.edvoip.it.xml"),
       "w3voip export leaves the extension out, names it, exits 1 and still writes the dialplan");
    free(out);
    w3_buf_free(&cmd);
    h_rmrf(out_dir);
    free(out_dir);
    h_sql(srv.db, "PRAGMA ignore_check_constraints=ON;"
                  "UPDATE voip_extensions SET ext_number = '100' WHERE ext_number = '1,user/101';"
                  "UPDATE voip_dids SET route_target_ref = '100' WHERE e164 = '+39061234568';");
}

/* item 2, the AI stream: its URL is an argument of ${uuid_audio_fork(...)} */
static void ai_url_validation(void)
{
    is_int(h_sql(srv.db, "DROP TRIGGER IF EXISTS check_ws_url_update; PRAGMA ignore_check_constraints=ON;"
                         "UPDATE ai_agents SET ws_url = 'wss://vg.example/a,b)}${system(x)' "
                         "WHERE ref = 'agent_voice_default';"),
           0, "an agent ws_url with ',' ')' and '${', past the schema");
    char *did = h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "+39061234567",
                          "Caller-Destination-Number", "+39061234567", NULL);
    h_resp_t r = xml(did);
    char *resp = first(&r, RESPOND);
    ok(resp && strncmp(resp, "503", 3) == 0 && r.body && !strstr(r.body, "uuid_audio_fork") &&
           !strstr(r.body, "system"),
       "the AI call is refused (respond %s), no audio fork is rendered", resp ? resp : "none");
    free(resp);
    h_resp_free(&r);
    free(did);
}

/* item 8: a forwarding object with a duplicated key, written before v4 */
static void forwarding_duplicates(void)
{
    is_int(h_sql(srv.db, "DROP TRIGGER IF EXISTS check_forwarding_keys_update;"
                         "UPDATE voip_extensions SET forwarding = '{\"always\":\"200\",\"always\":\"100\"}' "
                         "WHERE ext_number = '101' AND sip_domain = 'tenantA.edvoip.it';"),
           0, "101's forwarding with two 'always' keys, past the schema");
    char *body = h_capture("dialplan-internal-ext.form", NULL);
    h_resp_t r = xml(body);
    char *bridge = first(&r, BRIDGE);
    ok(bridge && strcmp(bridge, "user/101@tenantA.edvoip.it") == 0,
       "a call to 101 rings 101 itself: an ambiguous forwarding is ignored, not read one way (%s)",
       bridge ? bridge : "none");
    free(bridge);
    h_resp_free(&r);
    free(body);
    char *out = NULL;
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd, "%s check --db '%s' 2>&1", h_env("W3VOIP"), srv.db);
    h_run(cmd.data, &out);
    ok(out && strstr(out, "extension 101@tenantA.edvoip.it has a forwarding object with a duplicated key"),
       "w3voip check names it");
    free(out);
    w3_buf_free(&cmd);
    h_sql(srv.db, "UPDATE voip_extensions SET forwarding = '{}' WHERE ext_number = '101' AND "
                  "sip_domain = 'tenantA.edvoip.it';");
}

/* item 3: a catastrophic pattern of tenant B cannot stall tenant A */
static void pattern_cannot_stall(void)
{
    is_int(h_sql(srv.db, "DROP TRIGGER IF EXISTS check_route_pattern_insert;"
                         "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class, "
                         "priority) VALUES ('rB-evil', 'b0000000-0000-4000-8000-00000000000b', "
                         "'tenantB.edvoip.it', 'evil', '^((0*)*\\2*)*\\1$', 'internal', 1);"),
           0, "tenant B's route ^((0*)*\\2*)*\\1$, past the schema");
#if defined(__SANITIZE_ADDRESS__)
    const uint64_t limit_us = 3000000;
#else
    const uint64_t limit_us = 1000000;
#endif
    char *call = h_rewrite("dialplan-internal-tenantB-101-isolation.form", "Hunt-Destination-Number",
                           "0000000000000000000000000000000", "Caller-Destination-Number",
                           "0000000000000000000000000000000", NULL);
    uint64_t t0 = w3_now_us();
    h_resp_t r = xml(call);
    uint64_t dt = w3_now_us() - t0;
    char *resp = first(&r, RESPOND);
    ok(r.status == 200 && resp != NULL && dt < limit_us, "B/100 dialling 31 zeros is answered (respond %s) in %llu us",
       resp ? resp : "none", (unsigned long long)dt);
    free(resp);
    h_resp_free(&r);
    char *reg = h_capture("directory-sip_auth-register.form", NULL);
    t0 = w3_now_us();
    r = xml(reg);
    dt = w3_now_us() - t0;
    ok(r.status == 200 && h_xpath_count(r.body, r.body_len, "//user[@id='100']") == 1 && dt < limit_us,
       "tenant A's REGISTER on the same worker right after is answered in %llu us", (unsigned long long)dt);
    h_resp_free(&r);
    ok(h_metric(srv.port, "w3voipd_route_patterns_skipped_total") > 0, "the pattern is skipped and counted");
    free(reg);
    free(call);

    char *longnum =
        h_rewrite("dialplan-internal-outbound.form", "Hunt-Destination-Number",
                  "90612345678901234567890123456789012345678901234567890123456789012345", "Caller-Destination-Number",
                  "90612345678901234567890123456789012345678901234567890123456789012345", NULL);
    r = xml(longnum);
    char *b = first(&r, BRIDGE);
    resp = first(&r, RESPOND);
    ok(b == NULL && resp != NULL, "a dialled number of 70 digits is refused (respond %s)", resp ? resp : "none");
    free(b);
    free(resp);
    h_resp_free(&r);
    free(longnum);
}

int main(void)
{
    char *dir = h_tmpdir();
    char *db = h_demo_db(dir, "tenancy.db");
    /* the rows of the issue, as the README's seeding line (foreign keys off) lets them in */
    int rc = h_sql(db, "INSERT INTO voip_trunks (trunk_id,tenant_id,sip_domain,store_id,name,gateway_name,proxy,"
                       "register,caller_id_number,priority) VALUES ('tB2','b0000000-0000-4000-8000-00000000000b',"
                       "'tenantB.edvoip.it','" SA1 "','x','tenantB_store01_x','127.0.0.1',0,'+390676543299',1);"
                       "UPDATE voip_extensions SET store_id = '" SA1 "' WHERE sip_domain = 'tenantB.edvoip.it' "
                       "AND ext_number = '100';"
                       "UPDATE voip_dids SET store_id = '" SB1 "' WHERE e164 = '+39061234568';");
    is_int(rc, 0, "cross-tenant rows accepted by sqlite3 with foreign keys off");
    const char *const extra[] = {"--workers", "1", NULL};
    if (!ok(h_server_start(&srv, db, extra) == 0, "w3voipd (one worker) starts on that database"))
        return tap_done();
    cross_tenant_rows();
    h_sql(srv.db, "DELETE FROM voip_trunks WHERE trunk_id = 'tB2';"
                  "UPDATE voip_extensions SET store_id = '" SB1 "' WHERE sip_domain = 'tenantB.edvoip.it';"
                  "UPDATE voip_dids SET store_id = '" SA1 "' WHERE e164 = '+39061234568';");
    render_time_validation();
    ai_url_validation();
    forwarding_duplicates();
    pattern_cannot_stall();
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    free(db);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
