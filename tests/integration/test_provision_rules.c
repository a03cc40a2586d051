/* Provisioning validation (issue 11, item 5): every rule of a snapshot PUT
 * answered 422 with the JSON pointer of the field at fault, each body being
 * the GET answer with one thing broken; after each refusal the tenant's
 * generation is unchanged (nothing was written). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SB1 "b5000000-0000-4000-8000-000000000001"
#define SNAP "/api/voip/provision/snapshot?sip_domain=tenantA.edvoip.it"

static h_server_t srv;
static char *tok;

static long long gen_of(const h_server_t *s, const char *tenant_id)
{
    return h_config_gen(s->db, tenant_id);
}

/* The snapshot as GET answers it: equal before and after means nothing written. */
static char *snapshot_text(void)
{
    h_resp_t r;
    h_api(srv.port, "GET", SNAP, tok, NULL, &r);
    char *t = xstrdup(r.status == 200 && r.body ? r.body : "");
    h_resp_free(&r);
    return t;
}

static json_t *snapshot(void)
{
    h_resp_t r;
    h_api(srv.port, "GET", SNAP, tok, NULL, &r);
    json_t *j = r.status == 200 && r.body ? json_loads(r.body, 0, NULL) : NULL;
    h_resp_free(&r);
    if (j == NULL) {
        tap_diag("cannot read tenant A's snapshot");
        exit(tap_done() | 1);
    }
    return j;
}

/* Index of the object of list whose field is value, -1 when none. */
static int find(const json_t *snap, const char *list, const char *field, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(snap, list), i, o)
    {
        const char *v = json_string_value(json_object_get(o, field));
        if (v && strcmp(v, value) == 0)
            return (int)i;
    }
    return -1;
}

/* PUTs body (stolen) and checks a 422 naming want_ptr (and, when given, a
 * message holding want_msg), with the generation unchanged. */
static void refused_text(const char *text, int want_status, const char *want_ptr, const char *want_msg,
                         const char *name)
{
    long long g = gen_of(&srv, TA);
    char *before = snapshot_text();
    h_resp_t r;
    h_api(srv.port, "PUT", SNAP, tok, text, &r);
    json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *field = json_string_value(json_object_get(e, "field"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *code = json_string_value(json_object_get(e, "code"));
    bool good = r.status == want_status && (want_ptr == NULL || (field && strcmp(field, want_ptr) == 0)) &&
                (want_msg == NULL || (msg && strstr(msg, want_msg))) &&
                (want_status != 422 || (code && strcmp(code, "invalid") == 0));
    if (!ok(good, "%s → %d %s", name, want_status, want_ptr ? want_ptr : ""))
        printf("#   got %d: %s\n", r.status, r.body ? r.body : "(none)");
    char *after = snapshot_text();
    ok(gen_of(&srv, TA) == g && *before && strcmp(before, after) == 0,
       "  ...and nothing written (generation %lld, snapshot unchanged)", g);
    free(before);
    free(after);
    json_decref(j);
    h_resp_free(&r);
}

static void refused(json_t *body, const char *want_ptr, const char *want_msg, const char *name)
{
    char *text = json_dumps(body, JSON_COMPACT);
    refused_text(text, 422, want_ptr, want_msg, name);
    free(text);
    json_decref(body);
}

/* One field of one object set (value JSON text) or removed (value NULL). */
typedef struct fcase {
    const char *list, *keyf, *key, *field, *value, *msg;
    const char *at; /* the field the pointer names, when not field */
} fcase_t;

static const fcase_t fields[] = {
    {"extensions", "ext_number", "100", "colour", "\"red\"", "not a field", NULL},
    {"extensions", "ext_number", "100", "a/b~c", "1", "not a field", "a~1b~0c"},
    {"trunks", "gateway_name", "tenantA_store01", "port", "\"5090\"", "must be an integer or null", NULL},
    {"extensions", "ext_number", "100", "voicemail_enabled", "1", "true or false", NULL},
    {"routes", "name", "national", "pattern", NULL, "is required", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "proxy", NULL, "is required", NULL},
    {"dids", "e164", "+39061234568", "target_type", NULL, "is required", NULL},
    {"extensions", "ext_number", "100", "store_id", "\"bad id!\"", "1 to 64", NULL},
    {"extensions", "ext_number", "100", "user_id", "\"u ser\"", "1 to 64", NULL},
    {"stores", "store_id", SA1, "name", "\"a${x}\"", "control characters", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "gateway_name", "\"bad gw!\"", "sofia gateway name", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "proxy", "\"prox y\"", "host", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "port", "0", "1 and 65535", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "port", "65536", "1 and 65535", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "transport", "\"sctp\"", "udp, tcp or tls", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "username", "\"us er\"", "1 to 128", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "caller_id_number", "\"+39abc\"", "digits", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "secret_ref", "\"plain\"", "env:NAME", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "secret_ref", "\"env:1ABC\"", "env:NAME", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "secret_ref", "\"file:/a b\"", "env:NAME", NULL},
    {"extensions", "ext_number", "100", "ext_number", "\"1\"", "2 to 10 digits", NULL},
    {"extensions", "ext_number", "100", "ext_number", "\"10a\"", "2 to 10 digits", NULL},
    {"extensions", "ext_number", "100", "a1_hash", "\"ABCDEF\"", "32 lowercase hex", NULL},
    {"extensions", "ext_number", "100", "cos", "\"galactic\"", "internal, local", NULL},
    {"extensions", "ext_number", "100", "forwarding", "{\"sometimes\":\"101\"}", "may only hold", NULL},
    {"extensions", "ext_number", "100", "forwarding", "{\"busy\":\"10 1\"}", "1 to 20 of", NULL},
    {"extensions", "ext_number", "100", "forwarding", "{\"no_answer_timeout\":3}", "between 5 and 300", NULL},
    {"extensions", "ext_number", "100", "forwarding", "{\"no_answer_timeout\":\"20\"}", "between 5 and 300", NULL},
    {"extensions", "ext_number", "100", "forwarding", "[]", "an object", NULL},
    {"dids", "e164", "+39061234568", "e164", "\"0612345\"", "E.164", NULL},
    {"dids", "e164", "+39061234568", "e164", "\"+0612345\"", "E.164", NULL},
    {"dids", "e164", "+39061234568", "e164", "\"+3906+1234\"", "E.164", NULL},
    {"dids", "e164", "+39061234568", "target_type", "\"queue\"", "ext, ring or ai", NULL},
    {"dids", "e164", "+39061234568", "fallback", "\"music\"", "voicemail, announcement or hangup", NULL},
    {"routes", "name", "national", "pattern", "\"^9(\\\\d+)$\"", "safe pattern subset", NULL},
    {"routes", "name", "national", "pattern", "\"^9(1)\\\\1$\"", "safe pattern subset", NULL},
    {"routes", "name", "national", "pattern", "\"^9((0)*)*$\"", "safe pattern subset", NULL},
    {"routes", "name", "national", "pattern", "\"9(0[0-9]{5,10})\"", "not anchored", NULL},
    {"routes", "name", "national", "pattern", "\"^9[a-z]$\"", "digits and digit ranges only", NULL},
    {"routes", "name", "national", "pattern", "\"^9(1+)(2)?$\"", "the database refused", NULL},
    {"routes", "name", "national", "name", "\"\"", "must not be empty", NULL},
    {"routes", "name", "national", "strip_digits", "21", "between 0 and 20", NULL},
    {"routes", "name", "national", "strip_digits", "-1", "between 0 and 20", NULL},
    {"routes", "name", "national", "prepend", "\"0a\"", "0-9 + * #", NULL},
    {"routes", "name", "national", "cos_class", "\"gold\"", "emergency, internal", NULL},
    {"routes", "name", "national", "priority", "1000001", "-1000000 and 1000000", NULL},
    {"ring_groups", "ref", "ring_store01", "strategy", "\"random\"", "simultaneous or sequential", NULL},
    {"ring_groups", "ref", "ring_store01", "ring_timeout", "4", "between 5 and 300", NULL},
    {"ring_groups", "ref", "ring_store01", "ring_timeout", "301", "between 5 and 300", NULL},
    {"ring_groups", "ref", "ring_store01", "members", "[\"1\"]", "extension numbers", NULL},
    {"ring_groups", "ref", "ring_store01", "members", "\"100\"", "an array", NULL},
    {"ai_agents", "ref", "agent_voice_default", "ws_url", "\"http://x.example\"", "ws://", NULL},
    {"ai_agents", "ref", "agent_voice_default", "ws_url", "\"ws://a b\"", "ws://", NULL},
    {"ai_agents", "ref", "agent_voice_default", "ref", "\"a b\"", "1 to 64", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "register", "true", "needs a username and a secret_ref", NULL},
    {"trunks", "gateway_name", "tenantA_store02", "secret_ref", "null", "needs a username and a secret_ref",
     "register"},
    {"trunks", "gateway_name", "tenantA_store02", "username", "null", "needs a username and a secret_ref", "register"},
    {"extensions", "ext_number", "100", "tenant_id", "\"" TB "\"", "this tenant's", NULL},
    {"extensions", "ext_number", "100", "sip_domain", "\"tenantB.edvoip.it\"", "this tenant's", NULL},
    {"dids", "e164", "+39061234568", "sip_domain", "\"tenantB.edvoip.it\"", "this tenant's", NULL},
    {"extensions", "ext_number", "100", "store_id", "\"" SB1 "\"", "not a store of this tenant", NULL},
    {"dids", "e164", "+39061234568", "target_ref", "\"199\"", "not a extension", NULL},
    {"dids", "e164", "+39021234567", "target_ref", "\"ring_nope\"", "not a ring_group", NULL},
    {"dids", "e164", "+39061234567", "target_ref", "\"agent_nope\"", "not a ai_agent", NULL},
    {"trunks", "gateway_name", "tenantA_store01", "gateway_name", "\"tenantB_store01\"", "another tenant", NULL},
    {"dids", "e164", "+39061234568", "e164", "\"+39067654321\"", "another tenant", NULL},
};

static void field_rules(void)
{
    for (size_t c = 0; c < W3_ARRAY_LEN(fields); c++) {
        const fcase_t *fc = &fields[c];
        json_t *s = snapshot();
        int i = find(s, fc->list, fc->keyf, fc->key);
        json_t *o = json_array_get(json_object_get(s, fc->list), (size_t)i);
        if (!ok(o != NULL, "the snapshot holds %s %s", fc->list, fc->key)) {
            json_decref(s);
            continue;
        }
        if (fc->value)
            json_object_set_new(o, fc->field, json_loads(fc->value, JSON_DECODE_ANY, NULL));
        else
            json_object_del(o, fc->field);
        char ptr[128], name[256];
        snprintf(ptr, sizeof(ptr), "/%s/%d/%s", fc->list, i, fc->at ? fc->at : fc->field);
        snprintf(name, sizeof(name), "%s %s: %s = %s", fc->list, fc->key, fc->field, fc->value ? fc->value : "absent");
        refused(s, ptr, fc->msg, name);
    }
}

static json_t *ext(const char *number, const char *user_id)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "store_id", SA1, "user_id", user_id, "ext_number", number, "password",
                     "pw-new-1");
}

static void object_rules(void)
{
    json_t *s = snapshot();
    json_t *exts = json_object_get(s, "extensions");
    size_t n = json_array_size(exts);
    int i100 = find(s, "extensions", "ext_number", "100"), i101 = find(s, "extensions", "ext_number", "101");
    int i200 = find(s, "extensions", "ext_number", "200");
    char ptr[128];
    ok(n == 3 && i100 >= 0 && i101 >= 0 && i200 >= 0, "tenant A's snapshot has extensions 100, 101, 200");
    ok(json_object_get(json_array_get(exts, (size_t)i100), "a1_hash") == NULL &&
           json_object_get(json_array_get(exts, (size_t)i100), "password") == NULL,
       "the snapshot answers no a1_hash and no password");

    json_t *b = json_deep_copy(s);
    json_t *e = ext("150", "u150");
    json_object_del(e, "password");
    json_array_append_new(json_object_get(b, "extensions"), e);
    snprintf(ptr, sizeof(ptr), "/extensions/%zu", n);
    refused(b, ptr, "needs a password or an a1_hash", "a new extension without password or a1_hash");

    b = json_deep_copy(s);
    e = json_array_get(json_object_get(b, "extensions"), (size_t)i100);
    json_object_set_new(e, "password", json_string("Secret-1"));
    json_object_set_new(e, "a1_hash", json_string("0123456789abcdef0123456789abcdef"));
    snprintf(ptr, sizeof(ptr), "/extensions/%d/password", i100);
    refused(b, ptr, "not both", "an extension with both password and a1_hash");

    b = json_deep_copy(s);
    json_object_set_new(json_array_get(json_object_get(b, "extensions"), (size_t)i100), "password", json_string(""));
    snprintf(ptr, sizeof(ptr), "/extensions/%d/password", i100);
    refused(b, ptr, "1 to 128", "an empty password");

    b = json_deep_copy(s);
    json_object_set_new(json_array_get(json_object_get(b, "extensions"), (size_t)i200), "ext_number",
                        json_string("250"));
    snprintf(ptr, sizeof(ptr), "/extensions/%d", i200);
    refused(b, ptr, "send password or a1_hash", "ext_number 200 renamed 250 without a new password");

    b = json_deep_copy(s);
    json_array_append(json_object_get(b, "extensions"), json_array_get(exts, (size_t)i100));
    snprintf(ptr, sizeof(ptr), "/extensions/%zu/extension_id", n);
    refused(b, ptr, "appears twice", "the same extension (id) twice in one list");

    b = json_deep_copy(s);
    json_array_append_new(json_object_get(b, "extensions"), ext("150", "u150"));
    json_array_append_new(json_object_get(b, "extensions"), ext("150", "u151"));
    snprintf(ptr, sizeof(ptr), "/extensions/%zu/ext_number", n + 1);
    refused(b, ptr, "appears twice", "two new extensions with one ext_number");

    b = json_deep_copy(s);
    json_array_append_new(json_object_get(b, "routes"), json_pack("{s:s, s:s, s:s}", "name", "national", "pattern",
                                                                  "^8[0-9]{3}$", "cos_class", "internal"));
    snprintf(ptr, sizeof(ptr), "/routes/%zu/name", json_array_size(json_object_get(s, "routes")));
    refused(b, ptr, "appears twice", "a route name twice in one list");

    b = json_deep_copy(s);
    json_object_set(json_array_get(json_object_get(b, "extensions"), (size_t)i100), "extension_id",
                    json_object_get(json_array_get(exts, (size_t)i101), "extension_id"));
    json_array_remove(json_object_get(b, "extensions"), (size_t)i101);
    int at = i100 > i101 ? i100 - 1 : i100;
    snprintf(ptr, sizeof(ptr), "/extensions/%d/extension_id", at);
    refused(b, ptr, "two different", "extension_id of 101 with ext_number 100");

    b = json_deep_copy(s);
    e = ext("150", "u150");
    json_object_set_new(e, "extension_id", json_string("b3000000-0000-4000-8000-000000000100"));
    json_array_append_new(json_object_get(b, "extensions"), e);
    snprintf(ptr, sizeof(ptr), "/extensions/%zu/extension_id", n);
    refused(b, ptr, "outside this tenant", "a new extension with tenant B's extension_id");

    b = json_deep_copy(s);
    json_array_append_new(json_object_get(b, "trunks"),
                          json_pack("{s:s, s:s, s:s, s:s}", "trunk_id", "bad id!", "store_id", SA1, "gateway_name",
                                    "gw_new", "proxy", "127.0.0.1"));
    snprintf(ptr, sizeof(ptr), "/trunks/%zu/trunk_id", json_array_size(json_object_get(s, "trunks")));
    refused(b, ptr, "1 to 64", "a new trunk whose trunk_id is not an id");

    b = json_deep_copy(s);
    json_array_append_new(json_object_get(b, "stores"), json_pack("{s:s}", "store_id", SB1));
    snprintf(ptr, sizeof(ptr), "/stores/%zu/store_id", json_array_size(json_object_get(s, "stores")));
    refused(b, ptr, "outside this tenant", "a new store with tenant B's store_id");

    b = json_deep_copy(s);
    json_object_set(json_array_get(json_object_get(b, "extensions"), (size_t)i101), "user_id",
                    json_object_get(json_array_get(exts, (size_t)i100), "user_id"));
    snprintf(ptr, sizeof(ptr), "/extensions/%d/user_id", i100 > i101 ? i100 : i101);
    refused(b, ptr, "already the user", "one user_id for extensions 100 and 101");

    int rg = find(s, "ring_groups", "ref", "ring_store01");
    b = json_deep_copy(s);
    json_object_set_new(json_array_get(json_object_get(b, "ring_groups"), (size_t)rg), "members",
                        json_pack("[s, s]", "100", "199"));
    snprintf(ptr, sizeof(ptr), "/ring_groups/%d/members/1", rg);
    refused(b, ptr, "not a extension", "a ring member that does not exist");
    b = json_deep_copy(s);
    json_object_set_new(json_array_get(json_object_get(b, "ring_groups"), (size_t)rg), "members",
                        json_pack("[s, s, s]", "100", "101", "100"));
    snprintf(ptr, sizeof(ptr), "/ring_groups/%d/members/2", rg);
    refused(b, ptr, "member twice", "a ring member twice");

    /* extension 100 deleted while DID +39061234568 (kept) routes to it */
    b = json_deep_copy(s);
    json_array_remove(json_object_get(b, "extensions"), (size_t)i100);
    json_object_set_new(json_array_get(json_object_get(b, "ring_groups"), (size_t)rg), "members",
                        json_pack("[s]", "101"));
    int d = find(s, "dids", "e164", "+39061234568");
    snprintf(ptr, sizeof(ptr), "/dids/%d/target_ref", d);
    refused(b, ptr, "which this request deletes", "deleting extension 100, a kept DID's target");

    /* a change the plan accepts, then one the database refuses: neither stays */
    b = json_deep_copy(s);
    json_object_set_new(json_array_get(json_object_get(b, "extensions"), (size_t)i100), "display_name",
                        json_string("Changed"));
    json_array_append_new(json_object_get(b, "routes"), json_pack("{s:s, s:s, s:s}", "name", "late", "pattern",
                                                                  "^9(1+)(2)?$", "cos_class", "internal"));
    snprintf(ptr, sizeof(ptr), "/routes/%zu/pattern", json_array_size(json_object_get(s, "routes")));
    refused(b, ptr, "the database refused", "an update written before a row the database refuses: rolled back");

    int st2 = find(s, "stores", "store_id", "a5000000-0000-4000-8000-000000000002");
    int t2 = find(s, "trunks", "gateway_name", "tenantA_store02");
    b = json_deep_copy(s);
    json_array_remove(json_object_get(b, "stores"), (size_t)st2);
    snprintf(ptr, sizeof(ptr), "/trunks/%d/store_id", t2);
    refused(b, ptr, "tenantA_store02", "deleting store02 while its trunk is kept in the body: the referrer named");
    b = json_pack("{s:[O]}", "stores", json_array_get(json_object_get(s, "stores"), (size_t)(st2 == 0)));
    refused(b, "/stores", "still used by trunk tenantA_store02", "deleting store02 with the trunks left out");

    b = json_deep_copy(s);
    json_t *trunks = json_object_get(b, "trunks");
    size_t nt = json_array_size(trunks);
    for (int k = 0; k < 16; k++) { /* store01 holds one already: the 16th new one is its 17th */
        char gw[32];
        snprintf(gw, sizeof(gw), "gw_many_%02d", k);
        json_array_append_new(trunks,
                              json_pack("{s:s, s:s, s:s}", "store_id", SA1, "gateway_name", gw, "proxy", "127.0.0.1"));
    }
    snprintf(ptr, sizeof(ptr), "/trunks/%zu/store_id", nt + 15);
    refused(b, ptr, "more than 16 trunks", "17 trunks in one store");

    b = json_deep_copy(s);
    json_t *routes = json_object_get(b, "routes");
    for (int k = (int)json_array_size(routes); k < 257; k++) {
        char nm[32];
        snprintf(nm, sizeof(nm), "bulk %03d", k);
        json_array_append_new(
            routes, json_pack("{s:s, s:s, s:s}", "name", nm, "pattern", "^8[0-9]{3}$", "cos_class", "internal"));
    }
    json_t *b256 = json_deep_copy(b);
    json_array_remove(json_object_get(b256, "routes"), 256);
    refused(b, "/routes", "at most 256 routes", "257 routes");
    char *text = json_dumps(b256, JSON_COMPACT);
    h_resp_t r;
    long long g = gen_of(&srv, TA);
    h_api(srv.port, "PUT", SNAP "&dry_run=1", tok, text, &r);
    ok(r.status == 200 && r.body && strstr(r.body, "\"dry_run\":true"), "256 routes are accepted (dry run): %d",
       r.status);
    is_int(gen_of(&srv, TA), g, "  ...and the dry run wrote nothing");
    h_resp_free(&r);
    free(text);
    json_decref(b256);
    json_decref(s);
}

static void body_rules(void)
{
    refused_text("{\"extensions\":[{\"ext_number\":\"100\",\"cos\":\"local\",\"cos\":\"national\"}]}", 422,
                 "/extensions/0/cos", "duplicated key", "a duplicated JSON key");
    refused_text("{\"extensions\":[{\"x/y~\":1,\"x/y~\":2}]}", 422, "/extensions/0/x~1y~0", "duplicated key",
                 "a duplicated key holding / and ~ (RFC 6901 escapes)");
    refused_text("{\"a/b~c\":[]}", 422, "/a~1b~0c", "not a list", "an unknown list named a/b~c");
    refused_text("{\"routes\":[],\"routes\":[]}", 422, "/routes", "duplicated key", "a duplicated top-level key");
    refused_text("{\"extensions\":[", 400, NULL, "not JSON", "a body that is not JSON");
    refused_text("[]", 422, "/", "JSON object", "a body that is an array");
    refused_text("{\"colours\":[]}", 422, "/colours", "not a list", "an unknown list");
    refused_text("{\"trunks\":{}}", 422, "/trunks", "must be an array", "a list that is an object");
    refused_text("{\"extensions\":[42]}", 422, "/extensions/0", "JSON object", "an extension that is a number");

    long long g = gen_of(&srv, TA);
    w3_buf_t auth = {0};
    w3_buf_printf(&auth, "Authorization: Bearer %s", tok);
    const char *hdrs[] = {auth.data, "Content-Type: text/plain", NULL};
    h_resp_t r;
    h_request(srv.port, "PUT", SNAP, hdrs, "{}", 2, &r);
    is_int(r.status, 415, "a snapshot with Content-Type text/plain → 415");
    is_int(gen_of(&srv, TA), g, "  ...and the generation did not change");
    h_resp_free(&r);
    w3_buf_free(&auth);
}

static void body_max(void)
{
    const char *const extra[] = {"--provision-body-max", "1024", NULL};
    h_server_t small;
    if (!ok(h_server_start(&small, NULL, extra) == 0, "a second w3voipd with --provision-body-max 1024"))
        return;
    char *t = h_token(&small, TA, "tenantA.edvoip.it");
    h_resp_t r;
    h_api(small.port, "GET", SNAP, t, NULL, &r);
    char *big = r.status == 200 && r.body ? xstrdup(r.body) : NULL;
    h_resp_free(&r);
    ok(big && strlen(big) > 1024, "its snapshot is over 1024 bytes (%zu)", big ? strlen(big) : 0);
    long long g = gen_of(&small, TA);
    h_api(small.port, "PUT", SNAP, t, big ? big : "", &r);
    is_int(r.status, 413, "PUT of that snapshot → 413");
    ok(r.body && strstr(r.body, "payload_too_large"), "  ...code payload_too_large");
    h_resp_free(&r);
    is_int(gen_of(&small, TA), g, "  ...and the generation did not change");
    h_api(small.port, "PUT", SNAP, t, "{\"generation\":1}", &r);
    ok(r.status == 200 && r.body && strstr(r.body, "\"changes\":[]"), "a small body under the limit → 200 (%d)",
       r.status);
    h_resp_free(&r);
    free(big);
    free(t);
    is_int(h_server_stop(&small), 0, "the second w3voipd exits 0");
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    tok = h_token(&srv, TA, "tenantA.edvoip.it");
    json_t *s = snapshot();
    char *text = json_dumps(s, JSON_COMPACT);
    long long g = gen_of(&srv, TA);
    h_resp_t r;
    h_api(srv.port, "PUT", SNAP, tok, text, &r);
    ok(r.status == 200 && r.body && strstr(r.body, "\"changes\":[]") && gen_of(&srv, TA) == g,
       "the GET answer PUT back verbatim → 200, no changes, same generation (%d)", r.status);
    h_resp_free(&r);
    free(text);
    json_decref(s);
    field_rules();
    object_rules();
    body_rules();
    body_max();
    free(tok);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
