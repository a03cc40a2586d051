/* Provisioning at its edges (issue 11, found in review): hostile bytes in
 * keys and bodies never crash the server nor echo a secret; valid desired
 * states that a row-by-row write would refuse (a full store, trunks trading
 * places between full stores, user_ids trading places, names of multi-byte
 * characters) are applied; a dry run refused early leaves no row. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define DA "tenantA.edvoip.it"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SA2 "a5000000-0000-4000-8000-000000000002"
#define PROV "/api/voip/provision/"

static h_server_t srv;
static char *plat;

static int call(const char *method, const char *path, const char *body, char **raw)
{
    h_resp_t r;
    h_api(srv.port, method, path, plat, body, &r);
    int st = r.status;
    if (raw)
        *raw = r.body ? xstrdup(r.body) : xstrdup("");
    h_resp_free(&r);
    return st;
}

static long long refused(void)
{
    return h_sql_int(srv.db, "SELECT count(*) FROM voip_activity_log WHERE status = 'refused'");
}

static void hostile_bytes(void)
{
    char *raw = NULL;
    int st = call("DELETE", PROV "extensions/%FF?sip_domain=" DA, NULL, &raw);
    ok(st == 404 && strstr(raw, "error"), "DELETE of a key that is not UTF-8 (%%FF) → 404 (%d)", st);
    free(raw);
    st = call("GET", "/healthz", NULL, NULL);
    is_int(st, 200, "  ...and the server is still there");
    w3_buf_t b = {0};
    w3_buf_adds(&b, "{\"extensions\":[{\"");
    for (int i = 0; i < 300; i++)
        w3_buf_adds(&b, "\xc3\xa9"); /* é: a 600-byte key, cut by any message buffer */
    w3_buf_adds(&b, "\":1}]}");
    st = call("PUT", PROV "snapshot?sip_domain=" DA, b.data, &raw);
    json_t *j = json_loads(raw, 0, NULL);
    ok(st == 422 && j != NULL, "an unknown field of 300 × é → 422 with a JSON answer that parses (%d)", st);
    json_decref(j);
    free(raw);
    w3_buf_free(&b);
    is_int(call("GET", "/healthz", NULL, NULL), 200, "  ...and the server is still there");
    long long r0 = refused();
    st = call("PUT", PROV "snapshot?sip_domain=" DA, "{\"extensions\":[{\"password\":\"Hunter2\\q\"}]}", &raw);
    ok(st == 400 && !strstr(raw, "Hunter2"), "a body that breaks inside a password → 400 without quoting it (%s)", raw);
    free(raw);
    char *row = h_sql_text(srv.db, "SELECT diff FROM voip_activity_log WHERE status = 'refused' ORDER BY id DESC "
                                   "LIMIT 1");
    ok(refused() == r0 + 1 && !strstr(row, "Hunter2"), "  ...nor in its activity row (%s)", row);
    free(row);
    r0 = refused();
    st = call("PUT", PROV "snapshot?sip_domain=" DA "&dry_run=1", "{\"a\":1,\"a\":2}", NULL);
    is_int(st, 422, "a dry run with a duplicated key → 422");
    is_int(refused(), r0, "  ...and, a dry run, it leaves no activity row");
}

static void full_store(void)
{
    /* stores 1 and 2 hold one trunk each: fill both to 16 */
    w3_buf_t sql = {0};
    for (int i = 0; i < 30; i++)
        w3_buf_printf(&sql,
                      "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy) VALUES "
                      "('full-%d', '" TA "', '" DA "', '%s', 'full_%d', '192.0.2.%d');",
                      i, i < 15 ? SA1 : SA2, i, i + 1);
    int rc = h_sql(srv.db, sql.data);
    w3_buf_free(&sql);
    long long n1 = h_sql_int(srv.db, "SELECT count(*) FROM voip_trunks WHERE store_id = '" SA1 "'");
    long long n2 = h_sql_int(srv.db, "SELECT count(*) FROM voip_trunks WHERE store_id = '" SA2 "'");
    ok(rc == 0 && n1 == 16 && n2 == 16, "two stores of 16 trunks each (%lld, %lld)", n1, n2);
    char *raw = NULL;
    int st = call("PUT", PROV "trunks/full_0?sip_domain=" DA,
                  "{\"store_id\":\"" SA1 "\",\"proxy\":\"192.0.2.200\",\"priority\":7}", &raw);
    ok(st == 200 && strstr(raw, "\"update\""), "a trunk of a full store changes its proxy → 200 update (%d %s)", st,
       st == 200 ? "" : raw);
    free(raw);
    char *snap = NULL;
    call("GET", PROV "snapshot?sip_domain=" DA, NULL, &snap);
    json_t *s = json_loads(snap, 0, NULL);
    free(snap);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(s, "trunks"), i, t)
    {
        const char *g = json_string_value(json_object_get(t, "gateway_name"));
        if (strcmp(g, "full_0") == 0)
            json_object_set_new(t, "store_id", json_string(SA2));
        if (strcmp(g, "full_20") == 0)
            json_object_set_new(t, "store_id", json_string(SA1));
    }
    char *body = json_dumps(s, JSON_COMPACT);
    st = call("PUT", PROV "snapshot?sip_domain=" DA, body, &raw);
    ok(st == 200, "two trunks trade places between two full stores in one snapshot → 200 (%d %s)", st,
       st == 200 ? "" : raw);
    free(raw);
    char *where = h_sql_text(srv.db, "SELECT group_concat(store_id) FROM (SELECT store_id FROM voip_trunks WHERE "
                                     "gateway_name IN ('full_0', 'full_20') ORDER BY gateway_name)");
    is_str(where, SA2 "," SA1, "  ...full_0 is in store 2, full_20 in store 1");
    free(where);
    free(body);
    json_decref(s);
}

static void user_ids_and_names(void)
{
    char *raw = NULL;
    const char *u100 = "a1000000-0000-4000-8000-000000000100", *u101 = "a1000000-0000-4000-8000-000000000101";
    w3_buf_t b = {0};
    w3_buf_printf(&b, "{\"store_id\":\"%s\",\"user_id\":\"%s\"}", SA1, u101);
    int st1 = call("PUT", PROV "extensions/100?sip_domain=" DA, b.data, &raw);
    ok(st1 == 422, "giving 100 the user_id of 101 in a PUT of 100 alone → 422 (the user is 101's)");
    free(raw);
    w3_buf_free(&b);
    char *snap = NULL;
    call("GET", PROV "snapshot?sip_domain=" DA, NULL, &snap);
    json_t *s = json_loads(snap, 0, NULL);
    free(snap);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(s, "extensions"), i, e)
    {
        const char *n = json_string_value(json_object_get(e, "ext_number"));
        if (strcmp(n, "100") == 0) {
            json_object_set_new(e, "user_id", json_string(u101));
            /* 34 CJK characters: 102 bytes, within the 100 characters the schema counts */
            json_object_set_new(e, "display_name",
                                json_string("\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe\xe5\x8f\xb0\xe6\xb9\xbe"
                                            "\xe5\x8f\xb0\xe6\xb9\xbe"));
        }
        if (strcmp(n, "101") == 0)
            json_object_set_new(e, "user_id", json_string(u100));
    }
    char *body = json_dumps(s, JSON_COMPACT);
    int st = call("PUT", PROV "snapshot?sip_domain=" DA, body, &raw);
    ok(st == 200, "100 and 101 trade user_ids in one snapshot, 100 named in 34 CJK characters → 200 (%d %s)", st,
       st == 200 ? "" : raw);
    free(raw);
    char *v =
        h_sql_text(srv.db, "SELECT user_id FROM voip_extensions WHERE ext_number = '100' AND sip_domain = '" DA "'");
    is_str(v, u101, "  ...100 now has 101's user_id");
    free(v);
    v = h_sql_text(srv.db, "SELECT length(display_name) FROM voip_extensions WHERE ext_number = '100' AND "
                           "sip_domain = '" DA "'");
    is_str(v, "34", "  ...and a display name of 34 characters");
    free(v);
    free(body);
    json_decref(s);
    st = call("PUT", PROV "trunks/full_1?sip_domain=" DA, "{\"store_id\":\"" SA1 "\",\"proxy\":\"bad proxy\"}", &raw);
    json_t *j = json_loads(raw, 0, NULL);
    const char *field = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
    ok(st == 422 && field && *field == '/', "a per-object PUT refused → 422 with a field pointer (%s)",
       field ? field : "none");
    json_decref(j);
    free(raw);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    plat = h_token(&srv, NULL, NULL);
    hostile_bytes();
    full_store();
    user_ids_and_names();
    free(plat);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
