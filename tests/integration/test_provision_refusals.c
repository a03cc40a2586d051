/* Provisioning refusals (issue 11, items 3, 4, 6, 8): per-object PUT and
 * DELETE (409 naming the referrer, 404, a body key against the URL's, a
 * URL-encoded key), cross-tenant and tenant writes by token, the 'refused'
 * activity rows (one each, nothing secret, at most 10 per client per second,
 * none without a token), and `w3voip apply` from the command line. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_jwt.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define TC "c0000000-0000-4000-8000-00000000000c"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SC1 "c5000000-0000-4000-8000-000000000001"
#define DA "tenantA.edvoip.it"
#define PROV "/api/voip/provision/"
#define SNAP PROV "snapshot?sip_domain=" DA

static h_server_t srv;
static char *tok; /* tenant A, client w3-test */

/* The first line of a query's output ("" when none), malloc'd. */
static char *sq(const char *sql)
{
    return h_sql_text(srv.db, sql);
}

static long long sq_int(const char *sql)
{
    return h_sql_int(srv.db, sql);
}

static long long gen_of(const char *tenant_id)
{
    return h_config_gen(srv.db, tenant_id);
}

/* A token of tenant (NULL: platform) for client_id. */
static char *token_for(const char *tenant_id, const char *domain, const char *client_id)
{
    auth_jwt_key_t key;
    const char *why = NULL;
    if (auth_jwt_key_load(srv.jwt_key, true, &key, &why) != 0)
        exit(99);
    auth_jwt_mint_req_t rq = {.tenant_id = tenant_id,
                              .sip_domain = domain,
                              .client_id = client_id,
                              .scope = tenant_id ? NULL : "pbx",
                              .ttl_s = 300,
                              .now = time(NULL)};
    char *t = auth_jwt_mint(&key, &rq, &why);
    auth_jwt_key_free(&key);
    return t;
}

/* A request; answers its status and, when got, the parsed body. */
static int call(const char *method, const char *path, const char *t, const char *body, json_t **got)
{
    h_resp_t r;
    h_api(srv.port, method, path, t, body, &r);
    int st = r.status;
    if (got)
        *got = r.body ? json_loads(r.body, 0, NULL) : NULL;
    h_resp_free(&r);
    return st;
}

static const char *err_field(const json_t *j, const char *name)
{
    const char *s = json_string_value(json_object_get(json_object_get(j, "error"), name));
    return s ? s : "";
}

static json_t *snapshot(const char *t)
{
    json_t *j = NULL;
    if (call("GET", SNAP, t, NULL, &j) != 200 || j == NULL) {
        tap_diag("cannot read tenant A's snapshot");
        exit(tap_done() | 1);
    }
    return j;
}

static json_t *list_obj(json_t *snap, const char *list, const char *field, const char *value, int *at)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(snap, list), i, o)
    {
        const char *v = json_string_value(json_object_get(o, field));
        if (v && strcmp(v, value) == 0) {
            if (at)
                *at = (int)i;
            return o;
        }
    }
    return NULL;
}

/* Whether the JSON text of j does not hold secret. */
static bool no_secret(const json_t *j, const char *secret)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    bool none = text && strstr(text, secret) == NULL;
    free(text);
    return none;
}

static void per_object(void)
{
    long long g = gen_of(TA);
    json_t *j = NULL;
    is_int(call("DELETE", PROV "extensions/100?sip_domain=" DA, tok, NULL, &j), 409,
           "DELETE of extension 100, a DID's target → 409");
    ok(strstr(err_field(j, "message"), "did +39061234568") != NULL, "  ...naming DID +39061234568 (%s)",
       err_field(j, "message"));
    is_int(gen_of(TA), g, "  ...and nothing written");
    json_decref(j);
    is_int(call("DELETE", PROV "extensions/101?sip_domain=" DA, tok, NULL, &j), 409,
           "DELETE of extension 101, a ring member → 409");
    ok(strstr(err_field(j, "message"), "ring_group ring_store01") != NULL, "  ...naming ring group ring_store01 (%s)",
       err_field(j, "message"));
    json_decref(j);
    is_int(call("DELETE", PROV "stores/a5000000-0000-4000-8000-000000000002?sip_domain=" DA, tok, NULL, &j), 409,
           "DELETE of store02, which has a trunk → 409");
    ok(strstr(err_field(j, "message"), "trunk tenantA_store02") != NULL, "  ...naming trunk tenantA_store02 (%s)",
       err_field(j, "message"));
    json_decref(j);
    is_int(call("DELETE", PROV "extensions/999?sip_domain=" DA, tok, NULL, &j), 404,
           "DELETE of an extension that does not exist → 404");
    json_decref(j);
    is_int(call("PUT", PROV "extensions/100?sip_domain=" DA, tok, "{\"ext_number\":\"101\",\"cos\":\"local\"}", &j),
           422, "PUT extensions/100 whose body says ext_number 101 → 422");
    is_str(err_field(j, "field"), "/ext_number", "  ...at /ext_number");
    json_decref(j);
    is_int(call("PUT", PROV "extensions/100?sip_domain=" DA, tok,
                "{\"extension_id\":\"a3000000-0000-4000-8000-000000000101\",\"store_id\":\"" SA1
                "\",\"user_id\":\"x\"}",
                &j),
           422, "PUT extensions/100 carrying extension 101's id → 422");
    is_str(err_field(j, "field"), "/extension_id", "  ...at /extension_id");
    json_decref(j);
    is_int(call("PUT", PROV "queues/x?sip_domain=" DA, tok, "{}", NULL), 404, "PUT of an unknown kind → 404");
    is_int(call("DELETE", PROV "extensions/?sip_domain=" DA, tok, NULL, NULL), 404, "DELETE without a key → 404");
    is_int(gen_of(TA), g, "the refusals wrote nothing");

    is_int(call("PUT", PROV "dids/%2B39061234567?sip_domain=" DA, tok,
                "{\"store_id\":\"" SA1 "\",\"target_type\":\"ext\",\"target_ref\":\"101\"}", &j),
           200, "PUT dids/%2B39061234567 (a URL-encoded key) → 200");
    json_t *c = json_array_get(json_object_get(j, "changes"), 0);
    ok(json_array_size(json_object_get(j, "changes")) == 1 &&
           strcmp(json_string_value(json_object_get(c, "key")), "+39061234567") == 0 &&
           strcmp(json_string_value(json_object_get(c, "op")), "update") == 0,
       "  ...one change: update of did +39061234567");
    is_int(json_integer_value(json_object_get(j, "generation")), g + 1, "  ...generation + 1");
    json_decref(j);
    char *t = sq("SELECT route_target_type || ':' || route_target_ref FROM voip_dids WHERE e164 = '+39061234567'");
    is_str(t, "ext:101", "  ...and the DID now routes to extension 101");
    free(t);

    is_int(call("PUT", PROV "extensions/102?sip_domain=" DA, tok,
                "{\"store_id\":\"" SA1 "\",\"user_id\":\"u102\",\"password\":\"pw102\"}", &j),
           200, "PUT extensions/102 (new) → 200");
    c = json_array_get(json_object_get(j, "changes"), 0);
    ok(c && strcmp(json_string_value(json_object_get(c, "op")), "create") == 0 && no_secret(j, "pw102"),
       "  ...op create, the password not echoed");
    json_decref(j);
    char want[33];
    h_md5("102:" DA ":pw102", want);
    t = sq("SELECT a1_hash FROM voip_extensions WHERE ext_number = '102'");
    is_str(t, want, "  ...stored as md5(102:domain:password)");
    free(t);
    char *row = sq("SELECT actor || '|' || diff FROM voip_activity_log WHERE status = 'ok' AND target LIKE "
                   "'voip_extensions:%' ORDER BY id DESC LIMIT 1");
    ok(strncmp(row, "w3-test|", 8) == 0 && strstr(row, "102") && !strstr(row, want) && !strstr(row, "pw102"),
       "  ...its activity row: actor w3-test, neither the password nor its a1_hash (%s)", row);
    free(row);
    is_int(call("PUT", PROV "trunks/tenantA_store02?sip_domain=" DA "&dry_run=0", tok,
                "{\"store_id\":\"a5000000-0000-4000-8000-000000000002\",\"proxy\":\"sip.carrier.example\","
                "\"register\":true,\"username\":\"0298765432\",\"priority\":20}",
                &j),
           200, "PUT of trunk tenantA_store02 without its secret_ref → 200 (the stored one kept)");
    ok(no_secret(j, "W3_TRUNK_TENANTA_STORE02"), "  ...the answer redacts the secret_ref");
    json_decref(j);
    t = sq("SELECT secret_ref FROM voip_trunks WHERE gateway_name = 'tenantA_store02'");
    is_str(t, "env:W3_TRUNK_TENANTA_STORE02", "  ...and the stored secret_ref stays");
    free(t);
    is_int(sq_int("SELECT count(*) FROM voip_activity_log WHERE instr(diff, 'W3_TRUNK_TENANTA_STORE02')"), 0,
           "  ...no activity row holds it");
    is_int(call("DELETE", PROV "extensions/102?sip_domain=" DA, tok, NULL, &j), 200, "DELETE extensions/102 → 200");
    c = json_array_get(json_object_get(j, "changes"), 0);
    ok(c && strcmp(json_string_value(json_object_get(c, "op")), "delete") == 0, "  ...op delete");
    json_decref(j);
    is_int(sq_int("SELECT count(*) FROM voip_extensions WHERE ext_number = '102'"), 0, "  ...and it is gone");
}

static h_resp_t directory(const char *domain)
{
    char *body =
        h_rewrite("directory-sip_auth-register.form", "key_value", domain, "sip_auth_realm", domain, "sip_to_host",
                  domain, "sip_from_host", domain, "sip_request_host", domain, "domain", domain, NULL);
    h_resp_t r;
    h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
    free(body);
    return r;
}

static void cross_tenant(void)
{
    long long gb = gen_of(TB);
    json_t *j = NULL;
    is_int(call("PUT", PROV "snapshot?sip_domain=tenantB.edvoip.it", tok, "{\"extensions\":[]}", &j), 403,
           "tenant A's token: PUT of tenant B's snapshot → 403");
    is_str(err_field(j, "field"), "sip_domain", "  ...naming sip_domain");
    json_decref(j);
    is_int(call("DELETE", PROV "dids/%2B39067654321?sip_domain=tenantB.edvoip.it", tok, NULL, NULL), 403,
           "tenant A's token: DELETE of tenant B's DID → 403");
    is_int(call("PUT", PROV "extensions/100?sip_domain=tenantB.edvoip.it", tok, "{\"cos\":\"premium\"}", NULL), 403,
           "tenant A's token: PUT of tenant B's extension → 403");
    is_int(gen_of(TB), gb, "  ...tenant B's generation unchanged");
    is_int(sq_int("SELECT count(*) FROM voip_dids WHERE e164 = '+39067654321'"), 1, "  ...its DID still there");
    is_int(call("PUT", PROV "tenants/x.example", tok, "{\"tenant_id\":\"" TC "\"}", NULL), 403,
           "a tenant token: PUT tenants/x.example → 403");
    is_int(call("DELETE", PROV "tenants/tenantB.edvoip.it", tok, NULL, NULL), 403,
           "a tenant token: DELETE tenants/tenantB.edvoip.it → 403");
    is_int(sq_int("SELECT count(*) FROM tenants WHERE sip_domain IN ('x.example', 'tenantB.edvoip.it') AND enabled"), 1,
           "  ...no tenant created, tenant B still enabled");
    is_int(sq_int("SELECT count(*) FROM voip_activity_log WHERE status = 'refused' AND sip_domain = "
                  "'tenantB.edvoip.it'"),
           0, "  ...and tenant B's log holds none of tenant A's refusals");
    ok(sq_int("SELECT count(*) FROM voip_activity_log WHERE status = 'refused' AND sip_domain = 'tenantA.edvoip.it' "
              "AND target = 'snapshot:tenantB.edvoip.it'") == 1,
       "  ...they are filed in tenant A's own log");

    is_int(call("PUT", PROV "snapshot?sip_domain=TENANTA.EDVOIP.IT", tok, "{}", NULL), 200,
           "tenant A's token on its domain in capitals → 200");
    is_int(call("PUT", PROV "snapshot?sip_domain=TenantB.Edvoip.It", tok, "{}", NULL), 403,
           "tenant A's token on tenant B's domain in capitals → 403");
    char *pt = h_token(&srv, NULL, NULL);
    static const struct {
        const char *body, *field;
    } bad[] = {{"{\"name\":\"X\"}", "/tenant_id"},
               {"{\"tenant_id\":\"" TA "\"}", "/tenant_id"},
               {"{\"tenant_id\":\"" TC "\",\"country_code\":\"039\"}", "/country_code"},
               {"{\"tenant_id\":\"" TC "\",\"enabled\":1}", "/enabled"},
               {"{\"tenant_id\":\"" TC "\",\"sip_domain\":\"y.example\"}", "/sip_domain"},
               {"{\"tenant_id\":\"" TC "\",\"a/b\":1}", "/a~1b"}};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad); i++) {
        is_int(call("PUT", PROV "tenants/x.example", pt, bad[i].body, &j), 422, bad[i].body);
        is_str(err_field(j, "field"), bad[i].field, "  ...its pointer");
        json_decref(j);
    }
    is_int(sq_int("SELECT count(*) FROM tenants WHERE sip_domain = 'x.example'"), 0, "  ...and no tenant x.example");
    is_int(call("PUT", PROV "tenants/x.example", pt,
                "{\"tenant_id\":\"" TC "\",\"name\":\"X\",\"country_code\":\"39\"}", &j),
           200, "a platform token: PUT tenants/x.example → 200");
    json_t *c = json_array_get(json_object_get(j, "changes"), 0);
    ok(c && strcmp(json_string_value(json_object_get(c, "op")), "create") == 0, "  ...op create");
    json_decref(j);
    is_int(call("PUT", PROV "snapshot?sip_domain=x.example", pt,
                "{\"stores\":[{\"store_id\":\"" SC1 "\",\"name\":\"s1\"}],\"extensions\":[{\"store_id\":\"" SC1
                "\",\"user_id\":\"c1-100\",\"ext_number\":\"100\",\"password\":\"pwX100\"}]}",
                &j),
           200, "  ...then its snapshot: a store and extension 100 → 200");
    is_int(json_array_size(json_object_get(j, "changes")), 2, "  ...two changes");
    json_decref(j);
    char a1[33];
    h_md5("100:x.example:pwX100", a1);
    h_resp_t r = directory("x.example");
    char *v = r.body ? h_xpath(r.body, r.body_len, "//user[@id='100']/params/param[@name='a1-hash']/@value") : NULL;
    is_str(v, a1, "  ...FreeSWITCH's lookup of 100@x.example answers its a1-hash");
    free(v);
    h_resp_free(&r);
    is_int(call("DELETE", PROV "tenants/x.example", pt, NULL, &j), 200, "DELETE tenants/x.example → 200");
    c = json_array_get(json_object_get(j, "changes"), 0);
    ok(c && json_is_false(json_object_get(json_object_get(json_object_get(c, "diff"), "after"), "enabled")),
       "  ...its change says enabled false");
    json_decref(j);
    is_int(sq_int("SELECT enabled FROM tenants WHERE sip_domain = 'x.example'"), 0, "  ...the tenant is disabled");
    is_int(sq_int("SELECT count(*) FROM voip_extensions WHERE sip_domain = 'x.example'"), 1, "  ...its rows stay");
    r = directory("x.example");
    ok(r.status == 200 && r.body && h_xpath_count(r.body, r.body_len, "//user") == 0 &&
           h_xpath_count(r.body, r.body_len, "/document/section[@name='result']/result[@status='not found']") == 1,
       "  ...and the lookup of 100@x.example is answered not found");
    h_resp_free(&r);
    is_int(call("DELETE", PROV "tenants/nowhere.example", pt, NULL, NULL), 404, "DELETE of an unknown tenant → 404");
    is_int(call("PUT", PROV "snapshot?sip_domain=nowhere.example", pt, "{}", NULL), 404,
           "a platform token: PUT of an unknown domain's snapshot → 404");
    is_int(call("PUT", PROV "tenants/a%20b", pt, "{\"tenant_id\":\"t-ab\"}", NULL), 422,
           "PUT tenants/a%20b (not a domain) → 422");
    is_int(sq_int("SELECT count(*) FROM tenants WHERE tenant_id = 't-ab'"), 0, "  ...and no tenant");
    static const char *const not_domains[] = {"x..example", "x.example.", "-a.example", "a-.example"};
    for (size_t i = 0; i < W3_ARRAY_LEN(not_domains); i++) {
        char path[128];
        snprintf(path, sizeof(path), PROV "tenants/%s", not_domains[i]);
        json_t *e = NULL;
        int st = call("PUT", path, pt, "{\"tenant_id\":\"t-nd\"}", &e);
        ok(st == 422, "PUT tenants/%s → 422 (%d)", not_domains[i], st);
        is_str(err_field(e, "field"), "/sip_domain", "  ...naming sip_domain");
        json_decref(e);
    }
    is_int(sq_int("SELECT count(*) FROM tenants WHERE tenant_id = 't-nd'"), 0, "  ...and no tenant");
    free(pt);
}

static long long refused_rows(const char *actor)
{
    char q[200];
    snprintf(q, sizeof(q), "SELECT count(*) FROM voip_activity_log WHERE status = 'refused' AND actor = '%s'", actor);
    return sq_int(q);
}

static void activity(void)
{
    char *t = token_for(TA, DA, "prov-audit");
    json_t *s = snapshot(t);
    int at = -1;
    json_t *e = list_obj(s, "extensions", "ext_number", "100", &at);
    json_object_set_new(e, "password", json_string("Sekr3t-Pw-42"));
    json_object_set_new(e, "a1_hash", json_string("0123456789abcdef0123456789abcdef"));
    char *body = json_dumps(s, JSON_COMPACT), ptr[64], q[400];
    json_t *j = NULL;
    is_int(call("PUT", SNAP, t, body, &j), 422, "a refused snapshot carrying a password and an a1_hash → 422");
    snprintf(ptr, sizeof(ptr), "/extensions/%d/password", at);
    is_str(err_field(j, "field"), ptr, "  ...at the password");
    ok(no_secret(j, "Sekr3t") && no_secret(j, "0123456789abcdef"), "  ...the answer holds neither secret");
    json_decref(j);
    is_int(refused_rows("prov-audit"), 1, "  ...one 'refused' activity row with the token's client_id");
    snprintf(q, sizeof(q),
             "SELECT sip_domain || '|' || target || '|' || op || '|' || json_extract(diff, '$.code') || '|' || "
             "json_extract(diff, '$.field') FROM voip_activity_log WHERE actor = 'prov-audit'");
    char *row = sq(q), want[200];
    snprintf(want, sizeof(want), DA "|snapshot:" DA "|apply|invalid|%s", ptr);
    is_str(row, want, "  ...domain, target, op, code and field");
    free(row);
    row = sq("SELECT json_extract(diff, '$.reason') FROM voip_activity_log WHERE actor = 'prov-audit'");
    ok(strstr(row, "not both") != NULL, "  ...and the reason (%s)", row);
    free(row);
    row = sq("SELECT count(*) FROM voip_activity_log WHERE instr(diff || target || actor, 'Sekr3t') OR "
             "instr(diff, '0123456789abcdef')");
    is_str(row, "0", "  ...no row holds the password or the a1_hash");
    free(row);
    free(body);
    json_decref(s);
    free(t);

    t = token_for(TA, DA, "prov-audit-del");
    call("DELETE", PROV "extensions/100?sip_domain=" DA, t, NULL, NULL);
    row = sq("SELECT target || '|' || op || '|' || json_extract(diff, '$.code') FROM voip_activity_log WHERE "
             "actor = 'prov-audit-del' AND status = 'refused'");
    is_str(row, "extensions:100|delete|conflict", "a refused DELETE: one row, target extensions:100, op delete");
    free(row);
    free(t);

    /* a flood: 30 refusals by one client, started at the top of a second */
    t = token_for(TA, DA, "prov-flood");
    long long unlogged = h_metric(srv.port, "w3voipd_provision_refusals_unlogged_total");
    long long all = h_metric(srv.port, "w3voipd_provision_refusals_total");
    for (time_t now = time(NULL); time(NULL) == now;)
        ;
    time_t t0 = time(NULL);
    int n422 = 0;
    for (int i = 0; i < 30; i++)
        n422 += call("PUT", SNAP, t, "{\"extensions\":[42]}", NULL) == 422;
    time_t t1 = time(NULL);
    long long rows = refused_rows("prov-flood"), secs = (long long)(t1 - t0) + 1;
    is_int(n422, 30, "30 refused PUTs by one client → 30 × 422");
    ok(rows >= 10 && rows <= 10 * secs && (secs > 1 || rows == 10),
       "  ...at most 10 activity rows per second: %lld rows in %lld second(s)", rows, secs);
    is_int(h_metric(srv.port, "w3voipd_provision_refusals_unlogged_total") - unlogged, 30 - rows,
           "  ...w3voipd_provision_refusals_unlogged_total grew by the rest");
    is_int(h_metric(srv.port, "w3voipd_provision_refusals_total") - all, 30,
           "  ...w3voipd_provision_refusals_total by all 30");
    free(t);

    t = token_for(TA, DA, "prov-415");
    w3_buf_t auth = {0};
    w3_buf_printf(&auth, "Authorization: Bearer %s", t);
    const char *plain[] = {auth.data, "Content-Type: text/plain", NULL};
    h_resp_t r;
    h_request(srv.port, "PUT", SNAP, plain, "{}", 2, &r);
    is_int(r.status, 415, "a snapshot sent as text/plain → 415");
    h_resp_free(&r);
    for (int i = 0; i < 100 && refused_rows("prov-415") == 0; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    row = sq("SELECT sip_domain || '|' || target || '|' || op || '|' || json_extract(diff, '$.code') FROM "
             "voip_activity_log WHERE actor = 'prov-415' AND status = 'refused'");
    is_str(row, DA "|snapshot:" DA "|apply|415", "  ...leaves its refused row too, in the tenant's log");
    free(row);
    w3_buf_free(&auth);
    free(t);
    t = token_for(TA, DA, "prov-dupkey");
    char key[80], dup[240], wantf[120];
    memset(key, 'k', 70);
    key[70] = '\0';
    snprintf(dup, sizeof(dup), "{\"extensions\":[{\"%s\":1,\"%s\":2}]}", key, key);
    snprintf(wantf, sizeof(wantf), "/extensions/0/%s", key);
    is_int(call("PUT", SNAP, t, dup, &j), 422, "a duplicated key of 70 characters → 422");
    is_str(err_field(j, "field"), wantf, "  ...its whole pointer answered");
    json_decref(j);
    for (int i = 0; i < 100 && refused_rows("prov-dupkey") == 0; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    row = sq("SELECT json_extract(diff, '$.field') FROM voip_activity_log WHERE actor = 'prov-dupkey'");
    is_str(row, wantf, "  ...and logged whole in its refused row");

    free(row);
    free(t);
    t = token_for(TA, DA, "prov-403");
    is_int(call("DELETE", PROV "dids/%2B39067654321?sip_domain=tenantB.edvoip.it", t, NULL, NULL), 403,
           "tenant A's DELETE of tenant B's DID → 403");
    for (int i = 0; i < 100 && refused_rows("prov-403") == 0; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    row = sq("SELECT target || '|' || op || '|' || json_extract(diff, '$.code') FROM voip_activity_log WHERE "
             "actor = 'prov-403' AND status = 'refused'");
    is_str(row, "dids:+39067654321|delete|403", "  ...its refused row names the DID");
    free(row);
    free(t);

    long long total = sq_int("SELECT count(*) FROM voip_activity_log");
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    h_request(srv.port, "PUT", SNAP, hdrs, "{\"extensions\":[42]}", 19, &r);
    is_int(r.status, 401, "a PUT without a token → 401");
    h_resp_free(&r);
    is_int(call("PUT", SNAP, "not.a.token", "{\"extensions\":[42]}", NULL), 401, "a PUT with a bad token → 401");
    is_int(call("DELETE", PROV "extensions/100?sip_domain=" DA, "not.a.token", NULL, NULL), 401,
           "a DELETE with a bad token → 401");
    is_int(sq_int("SELECT count(*) FROM voip_activity_log"), total, "  ...and no activity row for any of them");
}

static int apply(const char *args, const char *file, const char *redirect, char **out)
{
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd, "'%s' apply --db '%s' --domain " DA " %s '%s' %s", h_env("W3VOIP"), srv.db, args, file,
                  redirect);
    int rc = h_run(cmd.data, out);
    w3_buf_free(&cmd);
    return rc;
}

static void cli(void)
{
    char *dir = h_tmpdir();
    json_t *s = snapshot(tok);
    json_object_set_new(list_obj(s, "extensions", "ext_number", "101", NULL), "display_name", json_string("CLI desk"));
    char *text = json_dumps(s, JSON_COMPACT);
    char *f = h_write_file(dir, "snap.json", text);
    long long g = gen_of(TA);
    char *out = NULL;
    is_int(apply("", f, "2>/dev/null", &out), 0, "w3voip apply FILE → exit 0");
    json_t *j = json_loads(out, 0, NULL);
    json_t *c = json_array_get(json_object_get(j, "changes"), 0);
    ok(json_array_size(json_object_get(j, "changes")) == 1 &&
           strcmp(json_string_value(json_object_get(c, "key")), "101") == 0 &&
           strcmp(json_string_value(json_object_get(c, "op")), "update") == 0,
       "  ...prints the JSON answer: one update of extension 101");
    is_int(json_integer_value(json_object_get(j, "generation")), g + 1, "  ...with the next generation");
    is_int(gen_of(TA), g + 1, "  ...stored");
    json_decref(j);
    free(out);
    char *v = sq("SELECT display_name FROM voip_extensions WHERE sip_domain = '" DA "' AND ext_number = '101'");
    is_str(v, "CLI desk", "  ...the extension changed");
    free(v);
    is_int(sq_int("SELECT count(*) FROM voip_activity_log WHERE actor = 'cli' AND status = 'ok' AND target LIKE "
                  "'voip_extensions:%'"),
           1, "  ...one activity row with actor cli");
    w3_buf_t in = {0};
    w3_buf_printf(&in, "< '%s' 2>/dev/null", f);
    is_int(apply("", "-", in.data, &out), 0, "w3voip apply - (the same file on standard input) → exit 0");
    ok(strstr(out, "\"changes\":[]") != NULL, "  ...and no changes the second time (%s)", out);
    free(out);
    w3_buf_free(&in);

    json_object_set_new(list_obj(s, "extensions", "ext_number", "101", NULL), "display_name", json_string("dry"));
    free(text);
    text = json_dumps(s, JSON_COMPACT);
    free(f);
    f = h_write_file(dir, "dry.json", text);
    is_int(apply("--dry-run", f, "2>/dev/null", &out), 0, "w3voip apply --dry-run → exit 0");
    ok(strstr(out, "\"dry_run\":true") && strstr(out, "\"dry\""), "  ...prints the planned change");
    free(out);
    is_int(gen_of(TA), g + 1, "  ...the generation unchanged");
    v = sq("SELECT display_name FROM voip_extensions WHERE sip_domain = '" DA "' AND ext_number = '101'");
    is_str(v, "CLI desk", "  ...and nothing written");
    free(v);

    int at = -1;
    json_object_set_new(list_obj(s, "extensions", "ext_number", "101", &at), "cos", json_string("galactic"));
    free(text);
    text = json_dumps(s, JSON_COMPACT);
    free(f);
    f = h_write_file(dir, "bad.json", text);
    is_int(apply("", f, "2>&1 >/dev/null", &out), 1, "w3voip apply of a refused body → exit 1");
    char ptr[64];
    snprintf(ptr, sizeof(ptr), "/extensions/%d/cos", at);
    ok(strstr(out, ptr) != NULL, "  ...the pointer %s on stderr (%s)", ptr, out);
    free(out);
    is_int(gen_of(TA), g + 1, "  ...nothing written");
    is_int(refused_rows("cli"), 1, "  ...one 'refused' row with actor cli");
    json_decref(s);
    free(text);
    free(f);
    h_rmrf(dir);
    free(dir);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    tok = h_token(&srv, TA, DA);
    per_object();
    cross_tenant();
    activity();
    cli();
    free(tok);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
