/* Provisioning (issue 11): W3 pushes a tenant's desired state and every
 * change shows in the very next FreeSWITCH answer. Round trip, create /
 * update / delete of every kind with the answer it affects, dry run,
 * If-Match, one generation step per write, activity rows with the actor
 * and nothing secret, concurrent writers on two tenants, lookups during a
 * write (never a half-applied state) and 10,000 extensions in one PUT. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SA2 "a5000000-0000-4000-8000-000000000002"
#define DA "tenantA.edvoip.it"
#define DB_ "tenantB.edvoip.it"
#define USER_PATH "/document/section[@name='directory']/domain/groups/group/users/user"

#ifdef __SANITIZE_ADDRESS__
#define SLOW 3.0
#else
#define SLOW 1.0
#endif

static h_server_t srv;
static char *plat; /* a platform token */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static json_t *get_snap(const char *domain, long long *gen)
{
    h_resp_t r;
    char path[200];
    snprintf(path, sizeof(path), "/api/voip/provision/snapshot?sip_domain=%s", domain);
    h_api(srv.port, "GET", path, plat, NULL, &r);
    json_t *j = r.status == 200 && r.body ? json_loads(r.body, 0, NULL) : NULL;
    if (gen)
        *gen = json_integer_value(json_object_get(j, "generation"));
    h_resp_free(&r);
    return j;
}

/* PUT path with a JSON body (and If-Match when given): the status, the
 * parsed answer in *ans (may be NULL), the raw body in *raw (may be NULL). */
static int put(const char *method, const char *path, const char *tok, const json_t *body, const char *if_match,
               json_t **ans, char **raw)
{
    char auth[2048], im[64];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(im, sizeof(im), "If-Match: %s", if_match ? if_match : "");
    const char *hdrs[] = {auth, "Content-Type: application/json", if_match ? im : NULL, NULL};
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    h_resp_t r;
    h_request(srv.port, method, path, hdrs, text, text ? strlen(text) : 0, &r);
    free(text);
    if (ans)
        *ans = r.body ? json_loads(r.body, 0, NULL) : NULL;
    if (raw)
        *raw = r.body ? xstrdup(r.body) : NULL;
    int st = r.status;
    h_resp_free(&r);
    return st;
}

static int put_snap(const char *domain, const json_t *body, const char *extra, json_t **ans)
{
    char path[300];
    snprintf(path, sizeof(path), "/api/voip/provision/snapshot?sip_domain=%s%s", domain, extra ? extra : "");
    return put("PUT", path, plat, body, NULL, ans, NULL);
}

static char *fs_answer(char *body)
{
    h_resp_t r;
    h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
    char *xml = r.status == 200 && r.body ? xstrdup(r.body) : NULL;
    h_resp_free(&r);
    free(body);
    return xml;
}

static char *xp(const char *xml, const char *expr)
{
    return xml ? h_xpath(xml, strlen(xml), expr) : NULL;
}

static json_t *find(json_t *list, const char *field, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) if (strcmp(json_string_value(json_object_get(o, field)), value) == 0) return o;
    return NULL;
}

static size_t changes(const json_t *ans)
{
    return json_array_size(json_object_get(ans, "changes"));
}

static const char *change_op(const json_t *ans, size_t i, const char **kind, const char **key)
{
    json_t *c = json_array_get(json_object_get(ans, "changes"), i);
    *kind = json_string_value(json_object_get(c, "kind"));
    *key = json_string_value(json_object_get(c, "key"));
    return json_string_value(json_object_get(c, "op"));
}

static char *did_call(const char *did)
{
    return h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", did, "Caller-Destination-Number", did,
                     "variable_sip_to_user", did, "variable_sip_req_user", did, "variable_destination_number", did,
                     NULL);
}

static char *dial_from_100(const char *dest)
{
    return h_rewrite("dialplan-internal-outbound.form", "Hunt-Destination-Number", dest, "Caller-Destination-Number",
                     dest, NULL);
}

static void round_trip(void)
{
    long long g0;
    json_t *s = get_snap(DA, &g0), *ans = NULL;
    ok(s && g0 > 0, "GET snapshot of tenant A (generation %lld)", g0);
    is_int(put_snap(DA, s, NULL, &ans), 200, "PUT of exactly what GET returned → 200");
    is_int((long long)changes(ans), 0, "  ...\"changes\": []");
    is_int(json_integer_value(json_object_get(ans, "generation")), g0, "  ...and the same generation");
    json_decref(ans);
    char *tok = h_token(&srv, TA, DA);
    char path[200];
    snprintf(path, sizeof(path), "/api/voip/provision/snapshot?sip_domain=%s", DA);
    is_int(put("PUT", path, tok, s, NULL, &ans, NULL), 200, "the tenant's own token may PUT its snapshot");
    is_int((long long)changes(ans), 0, "  ...still no change (idempotent)");
    long long g1;
    json_decref(get_snap(DA, &g1));
    is_int(g1, g0, "a PUT that changes nothing leaves the generation as it was");
    json_decref(ans);
    json_decref(s);
    free(tok);
}

static void extensions(void)
{
    long long g0;
    json_t *s = get_snap(DA, &g0), *ans = NULL;
    json_array_append_new(json_object_get(s, "extensions"),
                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "ext_number", "150", "store_id", SA1, "user_id",
                                    "u-150", "display_name", "New desk", "password", "pw-150-secret"));
    char *raw = NULL;
    char path[200];
    snprintf(path, sizeof(path), "/api/voip/provision/snapshot?sip_domain=%s", DA);
    int st = put("PUT", path, plat, s, NULL, &ans, &raw);
    const char *kind = NULL, *key = NULL, *op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(st == 200 && op && strcmp(op, "create") == 0 && strcmp(kind, "extension") == 0 && strcmp(key, "150") == 0,
       "a new extension in the snapshot → one change: create extension 150 (%d)", st);
    is_int(json_integer_value(json_object_get(ans, "generation")), g0 + 1, "  ...exactly one generation step");
    char a1[33];
    h_md5("150:" DA ":pw-150-secret", a1);
    ok(raw && !strstr(raw, "pw-150-secret") && !strstr(raw, a1), "  ...the answer holds neither password nor a1-hash");
    free(raw);
    char *xml =
        fs_answer(h_rewrite("directory-sip_auth-register.form", "user", "150", "sip_auth_username", "150", NULL));
    char *v = xp(xml, USER_PATH "[@id='150']/params/param[@name='a1-hash']/@value");
    is_str(v, a1, "the next REGISTER of 150 gets a1-hash = md5(150:domain:password)");
    free(v);
    free(xml);
    w3_buf_t q = {0};
    w3_buf_printf(&q,
                  "sqlite3 '%s' \"SELECT count(*) || '|' || sum(instr(diff, 'pw-150-secret') > 0) || '|' || "
                  "sum(instr(diff, '%s') > 0) FROM voip_activity_log WHERE actor = 'w3-test' AND target LIKE "
                  "'voip_extensions:%%' AND op = 'insert'\"",
                  srv.db, a1);
    char *out = NULL;
    h_run(q.data, &out);
    is_str(out, "1|0|0\n", "one activity row, actor = the token's client_id, neither password nor a1-hash in it");
    free(out);
    w3_buf_free(&q);
    json_decref(ans);

    /* one object: forwarding and class of service of 101 */
    json_t *e = json_deep_copy(find(json_object_get(s, "extensions"), "ext_number", "101"));
    json_object_set_new(e, "cos", json_string("mobile"));
    json_object_set_new(e, "forwarding", json_pack("{s:s}", "always", "93331234567"));
    snprintf(path, sizeof(path), "/api/voip/provision/extensions/101?sip_domain=%s", DA);
    st = put("PUT", path, plat, e, NULL, &ans, NULL);
    op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(st == 200 && op && strcmp(op, "update") == 0 && strcmp(key, "101") == 0,
       "PUT /provision/extensions/101 → one change: update 101 (%d)", st);
    json_t *fields = json_object_get(json_array_get(json_object_get(ans, "changes"), 0), "fields");
    ok(json_array_size(fields) == 2, "  ...naming the two fields that changed");
    xml = fs_answer(h_capture("dialplan-internal-ext.form", NULL));
    v = xp(xml, "//action[@application='bridge']/@data");
    ok(v && strstr(v, "sofia/gateway/tenantA_store01/3331234567"), "the next call to 101 follows its forwarding (%s)",
       v ? v : "no bridge");
    free(v);
    free(xml);
    json_decref(ans);
    json_decref(e);

    /* delete by omission */
    json_decref(s);
    s = get_snap(DA, &g0);
    json_t *list = json_object_get(s, "extensions");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(list, i), "ext_number")), "150") == 0)
            json_array_remove(list, i);
    st = put_snap(DA, s, NULL, &ans);
    op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(st == 200 && op && strcmp(op, "delete") == 0 && strcmp(key, "150") == 0,
       "150 left out of the extensions list → delete extension 150");
    xml = fs_answer(h_rewrite("directory-sip_auth-register.form", "user", "150", "sip_auth_username", "150", NULL));
    is_int(xml ? h_xpath_count(xml, strlen(xml), USER_PATH "[@id='150']") : -1, 0,
           "  ...and the next REGISTER of 150 finds no user");
    free(xml);
    json_decref(ans);
    json_decref(s);
}

static void dids_routes_trunks(void)
{
    long long g0;
    json_t *s = get_snap(DA, &g0), *ans = NULL;
    json_t *dids = json_object_get(s, "dids");
    for (size_t i = 0; i < json_array_size(dids); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(dids, i), "e164")), "+39061234568") == 0)
            json_array_remove(dids, i);
    is_int(put_snap(DA, s, NULL, &ans), 200, "a snapshot without DID +39061234568 → 200");
    char *xml = fs_answer(did_call("+39061234568"));
    char *v = xp(xml, "//action[@application='respond']/@data");
    is_str(v, "404 Not Found", "  ...and the next call to it is refused");
    free(v);
    free(xml);
    json_decref(ans);

    json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "store_id", SA1, "target_type", "ext", "target_ref", "200",
                          "fallback", "hangup");
    char path[200];
    snprintf(path, sizeof(path), "/api/voip/provision/dids/%%2B39061234568?sip_domain=%s", DA);
    int st = put("PUT", path, plat, d, NULL, &ans, NULL);
    const char *kind, *key, *op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(st == 200 && op && strcmp(op, "create") == 0 && strcmp(key, "+39061234568") == 0,
       "PUT /provision/dids/%%2B39061234568 creates it again, now for 200");
    xml = fs_answer(did_call("+39061234568"));
    v = xp(xml, "//action[@application='bridge']/@data");
    is_str(v, "user/200@" DA, "  ...and the next call to it rings 200");
    free(v);
    free(xml);
    json_decref(ans);
    json_decref(d);

    json_t *rt = json_pack("{s:s, s:s, s:i}", "pattern", "^9(7[0-9]{3})$", "cos_class", "local", "strip_digits", 1);
    snprintf(path, sizeof(path), "/api/voip/provision/routes/short%%20numbers?sip_domain=%s", DA);
    st = put("PUT", path, plat, rt, NULL, &ans, NULL);
    op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(st == 200 && op && strcmp(op, "create") == 0 && strcmp(key, "short numbers") == 0,
       "PUT /provision/routes/short%%20numbers creates the route \"short numbers\"");
    xml = fs_answer(dial_from_100("97123"));
    v = xp(xml, "//action[@application='bridge']/@data");
    ok(v && strstr(v, "sofia/gateway/tenantA_store01/7123"), "  ...and the next call to 97123 uses it (%s)",
       v ? v : "no bridge");
    free(v);
    free(xml);
    json_decref(ans);
    snprintf(path, sizeof(path), "/api/voip/provision/routes/short%%20numbers?sip_domain=%s", DA);
    st = put("DELETE", path, plat, NULL, NULL, &ans, NULL);
    op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(st == 200 && op && strcmp(op, "delete") == 0, "DELETE of the route → one change: delete");
    xml = fs_answer(dial_from_100("97123"));
    ok(xml && h_xpath_count(xml, strlen(xml), "//action[@application='bridge']") == 0,
       "  ...and 97123 is no longer routed");
    free(xml);
    json_decref(ans);
    json_decref(rt);

    /* a trunk: create, change, delete — the gateways document follows */
    json_decref(s);
    s = get_snap(DA, &g0);
    json_array_append_new(json_object_get(s, "trunks"),
                          json_pack("{s:s, s:s, s:s, s:i}", "gateway_name", "tenantA_new", "store_id", SA2, "proxy",
                                    "192.0.2.50", "priority", 5));
    is_int(put_snap(DA, s, NULL, &ans), 200, "a snapshot with a new trunk → 200");
    json_decref(ans);
    xml = fs_answer(h_capture("directory-gateways.form", NULL));
    v = xp(xml, "//gateway[@name='tenantA_new']/param[@name='proxy']/@value");
    is_str(v, "192.0.2.50", "  ...the next gateways fetch has it");
    free(v);
    free(xml);
    json_object_set_new(find(json_object_get(s, "trunks"), "gateway_name", "tenantA_new"), "proxy",
                        json_string("192.0.2.51"));
    put_snap(DA, s, NULL, &ans);
    op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(op && strcmp(op, "update") == 0 && strcmp(kind, "trunk") == 0, "its proxy changed → update trunk");
    json_decref(ans);
    xml = fs_answer(h_capture("directory-gateways.form", NULL));
    v = xp(xml, "//gateway[@name='tenantA_new']/param[@name='proxy']/@value");
    is_str(v, "192.0.2.51", "  ...the next gateways fetch has the new proxy");
    free(v);
    free(xml);
    snprintf(path, sizeof(path), "/api/voip/provision/trunks/tenantA_new?sip_domain=%s", DA);
    is_int(put("DELETE", path, plat, NULL, NULL, NULL, NULL), 200, "DELETE /provision/trunks/tenantA_new → 200");
    xml = fs_answer(h_capture("directory-gateways.form", NULL));
    is_int(xml ? h_xpath_count(xml, strlen(xml), "//gateway[@name='tenantA_new']") : -1, 0,
           "  ...and the next gateways fetch no longer has it");
    free(xml);
    json_decref(s);
}

static void groups_agents_stores(void)
{
    long long g0;
    json_t *s = get_snap(DA, &g0), *ans = NULL;
    json_t *g = find(json_object_get(s, "ring_groups"), "ref", "ring_store01");
    json_object_set_new(g, "members", json_pack("[s]", "101"));
    json_t *a = find(json_object_get(s, "ai_agents"), "ref", "agent_voice_default");
    json_object_set_new(a, "ws_url", json_string("wss://voice.example.net/agent7"));
    json_array_append_new(json_object_get(s, "stores"),
                          json_pack("{s:s, s:s}", "store_id", "a-store-3", "name", "store03"));
    is_int(put_snap(DA, s, NULL, &ans), 200, "ring group members, agent ws_url and a new store in one snapshot");
    is_int((long long)changes(ans), 3, "  ...three changes");
    is_int(json_integer_value(json_object_get(ans, "generation")), g0 + 1, "  ...one generation step for all three");
    json_decref(ans);
    char *xml = fs_answer(did_call("+39021234567"));
    ok(xml &&
           h_xpath_count(xml, strlen(xml), "//action[@application='bridge' and contains(@data, 'user/100@')]") == 0 &&
           h_xpath_count(xml, strlen(xml), "//action[@application='bridge' and contains(@data, 'user/101@')]") == 1,
       "the next call to the ring group's DID rings 101 only");
    free(xml);
    xml = fs_answer(did_call("+39061234567"));
    ok(xml && strstr(xml, "wss://voice.example.net/agent7"), "the next call to the agent's DID streams to its new URL");
    free(xml);
    json_t *stores = json_object_get(s, "stores");
    for (size_t i = 0; i < json_array_size(stores); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(stores, i), "store_id")), "a-store-3") == 0)
            json_array_remove(stores, i);
    put_snap(DA, s, NULL, &ans);
    const char *kind, *key, *op = changes(ans) == 1 ? change_op(ans, 0, &kind, &key) : NULL;
    ok(op && strcmp(op, "delete") == 0 && strcmp(kind, "store") == 0 && strcmp(key, "a-store-3") == 0,
       "the store left out → delete store a-store-3");
    json_decref(ans);
    json_decref(s);
}

static void dry_run_and_if_match(void)
{
    long long g0;
    json_t *s = get_snap(DA, &g0), *ans = NULL;
    json_object_set_new(find(json_object_get(s, "extensions"), "ext_number", "100"), "display_name",
                        json_string("Dry"));
    is_int(put_snap(DA, s, "&dry_run=1", &ans), 200, "dry_run=1 → 200");
    ok(changes(ans) == 1 && json_integer_value(json_object_get(ans, "generation")) == g0 + 1 &&
           json_is_true(json_object_get(ans, "dry_run")),
       "  ...the plan (one update) with the generation it would have (%lld)", g0 + 1);
    json_decref(ans);
    long long g1;
    json_t *after = get_snap(DA, &g1);
    ok(g1 == g0 && strcmp(json_string_value(json_object_get(
                              find(json_object_get(after, "extensions"), "ext_number", "100"), "display_name")),
                          "Dry") != 0,
       "  ...and nothing changed: same generation, same display name");
    json_decref(after);
    char stale[32], cur[32], path[200];
    snprintf(stale, sizeof(stale), "\"%lld\"", g0 - 1);
    snprintf(cur, sizeof(cur), "\"%lld\"", g0);
    snprintf(path, sizeof(path), "/api/voip/provision/snapshot?sip_domain=%s", DA);
    is_int(put("PUT", path, plat, s, stale, &ans, NULL), 412, "If-Match of an older generation → 412");
    ok(strstr(json_string_value(json_object_get(json_object_get(ans, "error"), "message")), "generation") != NULL,
       "  ...saying the generation moved on");
    json_decref(ans);
    is_int(put("PUT", path, plat, s, cur, &ans, NULL), 200, "If-Match of the current generation → 200");
    json_decref(ans);
    /* a second writer: the sqlite3 CLI */
    h_sql(srv.db, "UPDATE voip_extensions SET display_name = 'CLI' WHERE ext_number = '101' AND sip_domain = '" DA "'");
    long long g2;
    json_decref(get_snap(DA, &g2));
    ok(g2 == g0 + 2, "a sqlite3 change after it: generation %lld (one more)", g2);
    snprintf(cur, sizeof(cur), "\"%lld\"", g0 + 1);
    is_int(put("PUT", path, plat, s, cur, NULL, NULL), 412, "  ...so a PUT with the generation W3 read → 412");
    json_decref(s);
}

typedef struct writer_arg {
    const char *domain;
    int ok;
} writer_arg_t;

static void *concurrent_writer(void *p)
{
    writer_arg_t *w = p;
    json_t *s = get_snap(w->domain, NULL);
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Round %d", i);
        json_object_set_new(find(json_object_get(s, "extensions"), "ext_number", "100"), "display_name",
                            json_string(name));
        json_t *ans = NULL;
        if (put_snap(w->domain, s, NULL, &ans) == 200 && changes(ans) == 1)
            w->ok++;
        json_decref(ans);
    }
    json_decref(s);
    return NULL;
}

static void concurrency(void)
{
    long long ga, gb;
    json_decref(get_snap(DA, &ga));
    json_decref(get_snap(DB_, &gb));
    writer_arg_t a = {DA, 0}, b = {DB_, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, concurrent_writer, &a);
    pthread_create(&tb, NULL, concurrent_writer, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ok(a.ok == 20 && b.ok == 20, "20 PUTs on each of two tenants at once: all applied (%d, %d)", a.ok, b.ok);
    long long ga2, gb2;
    json_t *sa = get_snap(DA, &ga2), *sb = get_snap(DB_, &gb2);
    ok(ga2 == ga + 20 && gb2 == gb + 20, "  ...each tenant's generation grew by exactly 20 (%lld, %lld)", ga2 - ga,
       gb2 - gb);
    is_str(json_string_value(
               json_object_get(find(json_object_get(sa, "extensions"), "ext_number", "100"), "display_name")),
           "Round 19", "  ...tenant A holds its last write");
    is_str(json_string_value(
               json_object_get(find(json_object_get(sb, "extensions"), "ext_number", "100"), "display_name")),
           "Round 19", "  ...tenant B holds its last write");
    json_decref(sa);
    json_decref(sb);
}

/* Lookups while snapshots flip a DID between two extensions: every answer
 * must be one whole configuration — its w3_config_gen and its target agree. */
#define FLIPS 30
static long long flip_gen[FLIPS + 1];
static char flip_target[FLIPS + 1][4];
static volatile int flipping;

typedef struct seen {
    long long gen;
    char target[8];
} seen_t;
static seen_t seen_v[4000];
static int nseen;

static void *lookups(void *unused)
{
    (void)unused;
    while (flipping && nseen < (int)W3_ARRAY_LEN(seen_v)) {
        char *xml = fs_answer(did_call("+39061234568"));
        char *g = NULL, *t = NULL;
        int n = xml ? h_xpath_count(xml, strlen(xml), "//action[@application='export']") : 0;
        for (int k = 1; k <= n; k++) {
            char e[96];
            snprintf(e, sizeof(e), "(//action[@application='export'])[%d]/@data", k);
            char *d = xp(xml, e);
            if (d && strncmp(d, "w3_config_gen=", 14) == 0 && !g)
                g = xstrdup(d + 14);
            if (d && strncmp(d, "w3_target_ref=", 14) == 0 && !t)
                t = xstrdup(d + 14);
            free(d);
        }
        if (g && t) {
            seen_v[nseen].gen = atoll(g);
            w3_strlcpy(seen_v[nseen].target, t, sizeof(seen_v[nseen].target));
            nseen++;
        }
        free(g);
        free(t);
        free(xml);
    }
    return NULL;
}

static void no_half_state(void)
{
    json_t *s = get_snap(DA, NULL);
    json_t *did = find(json_object_get(s, "dids"), "e164", "+39061234568");
    flipping = 1;
    pthread_t t;
    pthread_create(&t, NULL, lookups, NULL);
    int applied = 0;
    for (int i = 0; i < FLIPS; i++) {
        const char *target = i % 2 ? "100" : "101";
        json_object_set_new(did, "target_ref", json_string(target));
        /* and a change elsewhere, so a half-applied state would be visible */
        json_object_set_new(find(json_object_get(s, "extensions"), "ext_number", "100"), "display_name",
                            json_string(target));
        json_t *ans = NULL;
        if (put_snap(DA, s, NULL, &ans) == 200) {
            flip_gen[applied] = json_integer_value(json_object_get(ans, "generation"));
            w3_strlcpy(flip_target[applied], target, sizeof(flip_target[applied]));
            applied++;
        }
        json_decref(ans);
    }
    flipping = 0;
    pthread_join(t, NULL);
    int bad = 0, matched = 0;
    for (int i = 0; i < nseen; i++)
        for (int k = 0; k < applied; k++)
            if (seen_v[i].gen == flip_gen[k]) {
                matched++;
                bad += strcmp(seen_v[i].target, flip_target[k]) != 0;
            }
    ok(applied == FLIPS && nseen > 0, "%d snapshots applied while %d lookups ran", applied, nseen);
    ok(bad == 0 && matched > 0,
       "  ...every answer of a written generation has that generation's target (%d of %d checked)", matched - bad,
       matched);
    json_decref(s);
}

static void ten_thousand(void)
{
    json_t *t = json_pack("{s:s, s:s}", "tenant_id", "big-tenant", "name", "Big");
    is_int(put("PUT", "/api/voip/provision/tenants/big.example.net", plat, t, NULL, NULL, NULL), 200,
           "a platform token creates tenant big.example.net");
    json_decref(t);
    json_t *s = json_object(), *exts = json_array();
    json_object_set_new(s, "stores", json_pack("[{s:s, s:s}]", "store_id", "big-store", "name", "Big store"));
    for (int i = 0; i < 10000; i++) {
        char num[8], user[16], a1[33], line[64];
        snprintf(num, sizeof(num), "%d", 10000 + i);
        snprintf(user, sizeof(user), "u%d", i);
        snprintf(line, sizeof(line), "%s:big.example.net:pw%d", num, i);
        h_md5(line, a1);
        json_array_append_new(exts, json_pack("{s:s, s:s, s:s, s:s}", "ext_number", num, "store_id", "big-store",
                                              "user_id", user, "a1_hash", a1));
    }
    json_object_set_new(s, "extensions", exts);
    json_t *ans = NULL;
    double t0 = now_s();
    int st = put_snap("big.example.net", s, NULL, &ans);
    double dt = now_s() - t0;
    ok(st == 200 && dt < 4.0 * SLOW, "a PUT of 10,000 new extensions → %d in %.2f s (deadline %.0f s)", st, dt,
       4.0 * SLOW);
    is_int((long long)changes(ans), 10001, "  ...every change listed (10,000 extensions and the store)");
    long long gen = json_integer_value(json_object_get(ans, "generation"));
    json_decref(ans);
    put_snap("big.example.net", s, NULL, &ans);
    ok(changes(ans) == 0 && json_integer_value(json_object_get(ans, "generation")) == gen,
       "the same 10,000 again → no change, generation %lld", gen);
    json_decref(ans);
    char a1[33];
    h_md5("19999:big.example.net:pw9999", a1);
    char *xml = fs_answer(h_rewrite("directory-sip_auth-register.form", "user", "19999", "sip_auth_username", "19999",
                                    "domain", "big.example.net", "sip_auth_realm", "big.example.net", "key_value",
                                    "big.example.net", NULL));
    char *v = xp(xml, USER_PATH "[@id='19999']/params/param[@name='a1-hash']/@value");
    is_str(v, a1, "extension 19999 of the new tenant registers");
    free(v);
    free(xml);
    json_decref(s);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    plat = h_token(&srv, NULL, NULL);
    round_trip();
    extensions();
    dids_routes_trunks();
    groups_agents_stores();
    dry_run_and_if_match();
    concurrency();
    no_half_state();
    ten_thousand();
    free(plat);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
