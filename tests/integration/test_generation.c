/* The configuration generation (issue 11, items 2 and 7): every change, made
 * with the sqlite3 CLI too, raises its tenant's generation; directory and
 * dialplan answers export it as w3_config_gen; CDRs keep it as config_gen;
 * the snapshot returns it with its stores and as the ETag. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"

static h_server_t srv;

static long long gen_of(const char *tenant_id)
{
    return h_config_gen(srv.db, tenant_id);
}

static char *answer(const char *body)
{
    h_resp_t r;
    h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
    char *xml = r.status == 200 && r.body ? xstrdup(r.body) : NULL;
    h_resp_free(&r);
    return xml;
}

static void snapshot_and_cli(void)
{
    char *tok = h_token(&srv, TA, "tenantA.edvoip.it");
    long long ga = gen_of(TA), gb = gen_of(TB), gall = gen_of("");
    ok(ga > 0 && gb > 0 && gall >= ga + gb,
       "each tenant has a generation, the global one counts them all (%lld %lld %lld)", ga, gb, gall);
    h_resp_t r;
    h_api(srv.port, "GET", "/api/voip/provision/snapshot?sip_domain=tenantA.edvoip.it", tok, NULL, &r);
    json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
    char *etag = h_header(&r, "ETag");
    char want_etag[32];
    snprintf(want_etag, sizeof(want_etag), "\"%lld\"", ga);
    ok(json_integer_value(json_object_get(j, "generation")) == ga && etag && strcmp(etag, want_etag) == 0,
       "GET snapshot: \"generation\": %lld and ETag %s", ga, etag ? etag : "(none)");
    json_t *stores = json_object_get(j, "stores");
    ok(json_array_size(stores) == 2 &&
           strcmp(json_string_value(json_object_get(json_array_get(stores, 0), "name")), "store01") == 0,
       "  ...with the tenant's two stores");
    free(etag);
    json_decref(j);
    h_resp_free(&r);

    is_int(h_sql(srv.db, "UPDATE voip_extensions SET display_name = 'Desk' WHERE ext_number = '101' AND sip_domain "
                         "= 'tenantA.edvoip.it'"),
           0, "a change with the sqlite3 CLI");
    is_int(gen_of(TA), ga + 1, "  ...raises tenant A's generation by one");
    is_int(gen_of(TB), gb, "  ...leaves tenant B's as it was");
    ok(gen_of("") > gall, "  ...and raises the global one");
    h_sql(srv.db, "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
                  "('g1', '" TA "', 'tenantA.edvoip.it', 'g1', '^7[0-9]{3}$', 'internal');"
                  "INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, cos_class) VALUES "
                  "('g2', '" TA "', 'tenantA.edvoip.it', 'g2', '^8[0-9]{3}$', 'internal');");
    is_int(gen_of(TA), ga + 3, "two rows inserted in one sqlite3 call: one step each, strictly increasing");
    h_api(srv.port, "GET", "/api/voip/provision/snapshot?sip_domain=tenantA.edvoip.it", tok, NULL, &r);
    etag = h_header(&r, "ETag");
    snprintf(want_etag, sizeof(want_etag), "\"%lld\"", ga + 3);
    is_str(etag, want_etag, "the next snapshot carries the new generation");
    free(etag);
    h_resp_free(&r);
    free(tok);
}

static void answers(void)
{
    long long ga = gen_of(TA), gall = gen_of("");
    char want[64];
    snprintf(want, sizeof(want), "%lld", ga);
    char *reg = h_capture("directory-sip_auth-register.form", NULL);
    char *xml = answer(reg);
    char *v =
        xml ? h_xpath(xml, strlen(xml), "//user[@id='100']/variables/variable[@name='w3_config_gen']/@value") : NULL;
    is_str(v, want, "a directory user answer carries w3_config_gen = tenant A's generation");
    free(v);
    free(xml);
    free(reg);

    snprintf(want, sizeof(want), "w3_config_gen=%lld", ga);
    static const char *const calls[] = {"dialplan-internal-ext.form", "dialplan-internal-outbound.form",
                                        "dialplan-public-did.form"};
    for (size_t i = 0; i < W3_ARRAY_LEN(calls); i++) {
        char *body = h_capture(calls[i], NULL);
        xml = answer(body);
        int n = xml ? h_xpath_count(xml, strlen(xml), "//action[@application='export']") : -1;
        char *found = NULL;
        for (int k = 1; xml && k <= n && !found; k++) {
            char one[96];
            snprintf(one, sizeof(one), "(//action[@application='export'])[%d]/@data", k);
            char *d = h_xpath(xml, strlen(xml), one);
            if (d && strcmp(d, want) == 0)
                found = d;
            else
                free(d);
        }
        ok(found != NULL, "%s: the answer exports %s", calls[i], want);
        free(found);
        free(xml);
        free(body);
    }
    char *unknown = h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "+39069999999",
                              "Caller-Destination-Number", "+39069999999", NULL);
    xml = answer(unknown);
    snprintf(want, sizeof(want), "w3_config_gen=%lld", gall);
    ok(xml && strstr(xml, want), "an unknown DID's rejection exports the global generation (%s)", want);
    free(xml);
    free(unknown);
}

static void cdrs(void)
{
    size_t len;
    char *cap = h_capture("cdr-json-a-leg.json", &len);
    char *p = strstr(cap, "\"variables\":{");
    if (!ok(p != NULL, "the capture has variables"))
        return;
    w3_buf_t b = {0};
    w3_buf_add(&b, cap, (size_t)(p - cap) + 13);
    w3_buf_adds(&b, "\"w3_config_gen\":\"41\",");
    w3_buf_adds(&b, p + 13);
    const char *hdrs[] = {"Authorization: Basic ZnNub2RlOnNlY3JldA==", "Content-Type: application/json", NULL};
    h_resp_t r;
    h_request(srv.port, "POST", "/fs/cdr", hdrs, b.data, b.len, &r);
    is_int(r.status, 201, "a CDR carrying w3_config_gen=41 → 201");
    h_resp_free(&r);
    char *out = NULL;
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd, "sqlite3 '%s' \"SELECT config_gen FROM voip_cdr WHERE source = 'fs'\"", srv.db);
    h_run(cmd.data, &out);
    ok(out && atoi(out) == 41, "  ...stored with config_gen 41 (%s)", out ? out : "nothing");
    free(out);
    w3_buf_free(&cmd);
    w3_buf_free(&b);
    free(cap);

    char *tok = h_token(&srv, TA, "tenantA.edvoip.it");
    h_api(srv.port, "POST", "/api/voip/cdr", tok,
          "{\"sip_domain\":\"tenantA.edvoip.it\",\"call_id\":\"gen-1\",\"direction\":\"internal\","
          "\"start_ts\":\"2026-11-30T10:00:00Z\",\"config_gen\":17}",
          &r);
    is_int(r.status, 201, "POST /api/voip/cdr with config_gen 17 → 201");
    h_resp_free(&r);
    h_api(srv.port, "POST", "/api/voip/cdr", tok,
          "{\"sip_domain\":\"tenantA.edvoip.it\",\"call_id\":\"gen-2\",\"direction\":\"internal\","
          "\"start_ts\":\"2026-11-30T10:00:00Z\",\"config_gen\":\"x\"}",
          &r);
    ok(r.status == 422 && r.body && strstr(r.body, "/config_gen"), "a config_gen that is no integer → 422 naming it");
    h_resp_free(&r);
    h_api(srv.port, "GET", "/api/voip/cdr?sip_domain=tenantA.edvoip.it&from=2026-11-30", tok, NULL, &r);
    json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
    json_t *item = json_array_get(json_object_get(j, "items"), 0);
    is_int(json_integer_value(json_object_get(item, "config_gen")), 17, "the CDR listing returns config_gen");
    json_decref(j);
    h_resp_free(&r);
    free(tok);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    snapshot_and_cli();
    answers();
    cdrs();
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
