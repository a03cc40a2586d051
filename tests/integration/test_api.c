/* The W3 JSON API through a real w3voipd: every endpoint against the demo
 * data, and the JWT matrix (HS256/RS256/ES256 servers, expired, not yet
 * valid, wrong key, alg none, HS256 signed with the RSA public PEM, tenant
 * scope, missing claims, malformed headers). */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_jwt.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"

static h_server_t srv;
static char *dir;

static char *b64url(const unsigned char *p, size_t n)
{
    char *out = xmalloc(n * 2 + 8);
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

/* A token built by hand: header and payload as given, HMAC-SHA256 with key
 * (NULL key = no signature, as alg none sends). */
static char *hand_token(const char *header, const char *payload, const unsigned char *key, size_t keylen)
{
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    w3_buf_t t = {0};
    w3_buf_printf(&t, "%s.%s", h, p);
    char *sig = xstrdup("");
    if (key) {
        unsigned char mac[32];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)t.data, t.len, mac, &maclen);
        free(sig);
        sig = b64url(mac, maclen);
    }
    w3_buf_printf(&t, ".%s", sig);
    free(h);
    free(p);
    free(sig);
    return t.data;
}

static char *mint_with(const char *key_path, const char *tenant, const char *domain, const char *scope, long ttl,
                       long nbf, time_t now)
{
    auth_jwt_key_t key;
    const char *why;
    if (auth_jwt_key_load(key_path, true, &key, &why) != 0)
        return NULL;
    auth_jwt_mint_req_t req = {.tenant_id = tenant,
                               .sip_domain = domain,
                               .client_id = "w3-test",
                               .scope = scope,
                               .ttl_s = ttl,
                               .nbf_offset_s = nbf,
                               .now = now};
    char *t = auth_jwt_mint(&key, &req, &why);
    auth_jwt_key_free(&key);
    return t;
}

static char *tenant_a(const char *key)
{
    return mint_with(key, TA, "tenantA.edvoip.it", NULL, 300, 0, time(NULL));
}

static h_resp_t get(int port, const char *path, const char *token)
{
    h_resp_t r;
    w3_buf_t auth = {0};
    w3_buf_printf(&auth, "Authorization: Bearer %s", token ? token : "");
    const char *hdrs[] = {auth.data, NULL};
    h_request(port, "GET", path, token ? hdrs : NULL, NULL, 0, &r);
    w3_buf_free(&auth);
    return r;
}

static h_resp_t post_json(int port, const char *path, const char *token, const char *body, const char *ctype)
{
    h_resp_t r;
    w3_buf_t auth = {0}, ct = {0};
    w3_buf_printf(&auth, "Authorization: Bearer %s", token);
    w3_buf_printf(&ct, "Content-Type: %s", ctype ? ctype : "application/json");
    const char *hdrs[] = {auth.data, ct.data, NULL};
    h_request(port, "POST", path, hdrs, body, strlen(body), &r);
    w3_buf_free(&auth);
    w3_buf_free(&ct);
    return r;
}

static json_t *body_json(const h_resp_t *r)
{
    json_error_t e;
    return r->body ? json_loadb(r->body, r->body_len, 0, &e) : NULL;
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static int status_of(int port, const char *path, const char *token)
{
    h_resp_t r = get(port, path, token);
    int st = r.status;
    if (st == 401 || st == 403)
        ok(r.body && strstr(r.body, "\"error\""), "refusal %d is a JSON error", st);
    h_resp_free(&r);
    return st;
}

#define SNAP "/api/voip/provision/snapshot?sip_domain=tenantA.edvoip.it"

static void endpoints(void)
{
    char *tok = tenant_a(srv.jwt_key);
    h_resp_t r = get(srv.port, SNAP, tok);
    is_int(r.status, 200, "snapshot 200");
    json_t *j = body_json(&r);
    is_int(json_array_size(json_object_get(j, "trunks")), 2, "snapshot: tenant A's 2 trunks");
    is_int(json_array_size(json_object_get(j, "dids")), 3, "snapshot: 3 DIDs");
    is_int(json_array_size(json_object_get(j, "extensions")), 3, "snapshot: 3 extensions");
    is_int(json_array_size(json_object_get(j, "routes")), 7, "snapshot: 7 routes");
    is_int(json_array_size(json_object_get(j, "ring_groups")), 1, "snapshot: 1 ring group");
    is_int(json_array_size(json_object_get(j, "ai_agents")), 1, "snapshot: 1 AI agent");
    json_t *rg = json_array_get(json_object_get(j, "ring_groups"), 0);
    is_str(json_string_value(json_array_get(json_object_get(rg, "members"), 1)), "101", "ring group members listed");
    json_t *e200 = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "extensions"), i, v) if (strcmp(jstr(v, "ext_number", NULL), "200") == 0)
        e200 = v;
    is_str(jstr(e200, "forwarding", "no_answer"), "101", "extension 200's forwarding as an object");
    ok(json_is_false(json_object_get(e200, "voicemail_enabled")), "booleans are JSON booleans");
    ok(r.body && !strstr(r.body, "a1_hash") && !strstr(r.body, "f86e925a96764ca893418337f6bf132c") &&
           !strstr(r.body, "secret_ref") && !strstr(r.body, "W3_TRUNK_TENANTA_STORE02"),
       "snapshot has no a1_hash, no secret_ref, no secret");
    ok(r.body && !strstr(r.body, TB), "snapshot has nothing of tenant B");
    json_decref(j);
    h_resp_free(&r);

    static const char *const dids[] = {"%2B39061234567", "+39061234567", "0039061234567"};
    for (size_t k = 0; k < 3; k++) {
        char path[160];
        snprintf(path, sizeof(path), "/api/voip/routes/inbound?sip_domain=tenantA.edvoip.it&did=%s", dids[k]);
        r = get(srv.port, path, tok);
        j = body_json(&r);
        ok(r.status == 200 && jstr(j, "target_type", NULL) && strcmp(jstr(j, "target_type", NULL), "ai") == 0 &&
               strcmp(jstr(j, "target_ref", NULL), "agent_voice_default") == 0 &&
               strcmp(jstr(j, "tenant_id", NULL), TA) == 0 &&
               strcmp(jstr(j, "store_id", NULL), "a5000000-0000-4000-8000-000000000001") == 0,
           "routes/inbound did=%s → ai agent_voice_default of tenant A store01", dids[k]);
        json_decref(j);
        h_resp_free(&r);
    }
    is_int(status_of(srv.port, "/api/voip/routes/inbound?sip_domain=tenantA.edvoip.it&did=%2B39067654321", tok), 404,
           "tenant B's DID is not found in tenant A's domain");
    is_int(status_of(srv.port, "/api/voip/routes/inbound?sip_domain=tenantA.edvoip.it", tok), 400, "did missing → 400");

    r = get(srv.port, "/api/voip/extensions/by-number?sip_domain=tenantA.edvoip.it&ext=100", tok);
    j = body_json(&r);
    ok(r.status == 200 && strcmp(jstr(j, "user_id", NULL), "a1000000-0000-4000-8000-000000000100") == 0 &&
           strcmp(jstr(j, "cos", NULL), "national") == 0 && json_is_object(json_object_get(j, "forwarding")) &&
           strcmp(jstr(j, "store_id", NULL), "a5000000-0000-4000-8000-000000000001") == 0,
       "extensions/by-number 100@A: user, store, cos, forwarding");
    json_decref(j);
    h_resp_free(&r);
    is_int(status_of(srv.port, "/api/voip/extensions/by-number?sip_domain=tenantA.edvoip.it&ext=999", tok), 404,
           "unknown extension → 404");
    free(tok);
}

static void cdr_api(void)
{
    char *tok = tenant_a(srv.jwt_key);
    const char *cdr = "{\"sip_domain\":\"tenantA.edvoip.it\",\"tenant_id\":\"" TA "\",\"call_id\":\"api-1\","
                      "\"direction\":\"inbound\",\"from_uri\":\"sip:0611@x\",\"to_uri\":\"sip:+39061234568@y\","
                      "\"did_e164\":\"+39061234568\",\"ext_number\":\"100\",\"start_ts\":\"2026-11-25T10:00:00Z\","
                      "\"answer_ts\":\"2026-11-25T10:00:05Z\",\"end_ts\":\"2026-11-25T10:01:05Z\",\"billsec\":60,"
                      "\"disposition\":\"ANSWERED\",\"meta_json\":{\"k\":1}}";
    h_resp_t r = post_json(srv.port, "/api/voip/cdr", tok, cdr, NULL);
    is_int(r.status, 201, "POST /api/voip/cdr → 201");
    h_resp_free(&r);
    /* the same content with other key order and spacing */
    const char *same = "{ \"call_id\":\"api-1\", \"sip_domain\":\"tenantA.edvoip.it\",\"tenant_id\":\"" TA "\","
                       "\"direction\":\"inbound\",\"from_uri\":\"sip:0611@x\",\"to_uri\":\"sip:+39061234568@y\","
                       "\"did_e164\":\"+39061234568\",\"ext_number\":\"100\",\"start_ts\":\"2026-11-25T10:00:00Z\","
                       "\"answer_ts\":\"2026-11-25T10:00:05Z\",\"end_ts\":\"2026-11-25T10:01:05Z\",\"billsec\":60,"
                       "\"disposition\":\"ANSWERED\",\"meta_json\":{\"k\":1} }";
    r = post_json(srv.port, "/api/voip/cdr", tok, same, NULL);
    ok(r.status == 200 && r.body && strstr(r.body, "duplicate"), "same key, same body → 200 duplicate");
    h_resp_free(&r);
    char *changed = xstrdup(cdr);
    memcpy(strstr(changed, "\"billsec\":60"), "\"billsec\":61", 12);
    r = post_json(srv.port, "/api/voip/cdr", tok, changed, NULL);
    is_int(r.status, 409, "same key, different body → 409");
    h_resp_free(&r);
    free(changed);

    static const struct {
        const char *body;
        int status;
        const char *name;
    } bad[] = {
        {"{\"sip_domain\":\"tenantA.edvoip.it\",\"call_id\":\"x\",\"direction\":\"sideways\",\"start_ts\":\"2026-11-"
         "25T10:00:00Z\"}",
         422, "bad direction → 422"},
        {"{\"sip_domain\":\"tenantA.edvoip.it\",\"call_id\":\"x\",\"direction\":\"inbound\",\"start_ts\":"
         "\"yesterday\"}",
         422, "bad timestamp → 422"},
        {"{\"sip_domain\":\"tenantA.edvoip.it\",\"direction\":\"inbound\"}", 422, "missing call_id → 422"},
        {"{\"sip_domain\":\"tenantA.edvoip.it\",\"call_id\":\"x\",\"direction\":\"inbound\",\"start_ts\":\"2026-11-"
         "25\",\"billsec\":-4}",
         422, "negative billsec → 422"},
        {"{\"sip_domain\":\"tenantA.edvoip.it\",\"tenant_id\":\"" TB
         "\",\"call_id\":\"x\",\"direction\":\"inbound\",\"start_ts\":\"2026-11-25\"}",
         422, "tenant_id that does not own sip_domain → 422"},
        {"{\"sip_domain\":\"tenantB.edvoip.it\",\"call_id\":\"x\",\"direction\":\"inbound\",\"start_ts\":\"2026-11-"
         "25\"}",
         403, "tenant A's token posting tenant B's CDR → 403"},
        {"[1,2]", 400, "not an object → 400"},
        {"{\"a\":", 400, "truncated JSON → 400"},
    };
    for (size_t i = 0; i < W3_ARRAY_LEN(bad); i++) {
        r = post_json(srv.port, "/api/voip/cdr", tok, bad[i].body, NULL);
        ok(r.status == bad[i].status && r.body && strstr(r.body, "\"error\""), "%s (got %d: %s)", bad[i].name, r.status,
           r.body ? r.body : "");
        h_resp_free(&r);
    }
    r = post_json(srv.port, "/api/voip/cdr", tok, cdr, "text/plain");
    is_int(r.status, 415, "POST without JSON content type → 415");
    h_resp_free(&r);

    /* listing: 5 more, paged by 2 */
    for (int i = 0; i < 5; i++) {
        char b[400];
        snprintf(b, sizeof(b),
                 "{\"sip_domain\":\"tenantA.edvoip.it\",\"call_id\":\"page-%d\",\"direction\":\"internal\","
                 "\"start_ts\":\"2026-11-2%dT09:00:00Z\",\"disposition\":\"ANSWERED\"}",
                 i, i + 1);
        r = post_json(srv.port, "/api/voip/cdr", tok, b, NULL);
        h_resp_free(&r);
    }
    char path[256] = "/api/voip/cdr?sip_domain=tenantA.edvoip.it&limit=2&from=2026-11-21&to=2026-11-26";
    int seen = 0, pages = 0;
    for (; pages < 10; pages++) {
        r = get(srv.port, path, tok);
        json_t *j = body_json(&r);
        json_t *items = json_object_get(j, "items");
        seen += (int)json_array_size(items);
        const char *next = jstr(j, "next_cursor", NULL);
        if (pages == 0)
            ok(json_array_size(items) == 2 && next != NULL, "first page: 2 items and a next_cursor");
        if (next)
            snprintf(path, sizeof(path),
                     "/api/voip/cdr?sip_domain=tenantA.edvoip.it&limit=2&from=2026-11-21&to=2026-11-26&cursor=%s",
                     next);
        json_decref(j);
        h_resp_free(&r);
        if (!next)
            break;
    }
    is_int(seen, 6, "cursor pagination over the window yields the 6 CDRs of 21–25 Nov once each");
    is_int(pages, 2, "in 3 pages of 2");
    r = get(srv.port, "/api/voip/cdr?sip_domain=tenantA.edvoip.it&from=2026-11-25T00:00:00Z&include=meta", tok);
    ok(r.status == 200 && r.body && strstr(r.body, "\"api-1\"") && strstr(r.body, "\"meta_json\":{\"k\":1}") &&
           !strstr(r.body, "page-0"),
       "time window and include=meta");
    h_resp_free(&r);
    r = get(srv.port, "/api/voip/cdr?sip_domain=tenantA.edvoip.it&limit=0", tok);
    is_int(r.status, 400, "limit=0 → 400");
    h_resp_free(&r);

    h_sql(srv.db, "UPDATE voip_extensions SET display_name = 'Reception' WHERE ext_number = '101' AND "
                  "sip_domain = 'tenantA.edvoip.it'");
    r = get(srv.port, "/api/voip/activity?sip_domain=tenantA.edvoip.it&limit=1000", tok);
    ok(r.status == 200 && r.body && strstr(r.body, "\"op\":\"update\"") && strstr(r.body, "Reception") &&
           strstr(r.body, "\"actor\":\"sql\"") && !strstr(r.body, "a1_hash") && !strstr(r.body, TB),
       "activity log: the sqlite3 update is there, actor sql, no a1_hash, nothing of tenant B");
    h_resp_free(&r);
    free(tok);
}

static void matrix(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null && "
             "openssl pkey -in rsa.pem -pubout -out rsa.pub && "
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem 2>/dev/null && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem && "
             "openssl pkey -in ec.pem -pubout -out ec.pub",
             dir);
    ok(h_run(cmd, NULL) == 0, "RSA and EC keys generated");
    w3_buf_t rsa = {0}, rsapub = {0}, rsa2 = {0}, ec = {0}, ecpub = {0};
    w3_buf_printf(&rsa, "%s/rsa.pem", dir);
    w3_buf_printf(&rsapub, "%s/rsa.pub", dir);
    w3_buf_printf(&rsa2, "%s/rsa2.pem", dir);
    w3_buf_printf(&ec, "%s/ec.pem", dir);
    w3_buf_printf(&ecpub, "%s/ec.pub", dir);
    time_t now = time(NULL);

    /* HS256 server (srv) */
    char *t = tenant_a(srv.jwt_key);
    is_int(status_of(srv.port, SNAP, t), 200, "valid HS256 → 200");
    free(t);
    t = mint_with(srv.jwt_key, TA, "tenantA.edvoip.it", NULL, 300, 0, now - 3600);
    is_int(status_of(srv.port, SNAP, t), 401, "expired → 401");
    free(t);
    t = mint_with(srv.jwt_key, TA, "tenantA.edvoip.it", NULL, 3600, 600, now);
    is_int(status_of(srv.port, SNAP, t), 401, "not yet valid (nbf in 10 min) → 401");
    free(t);
    t = mint_with(srv.jwt_key, TA, "tenantA.edvoip.it", NULL, 300, 10, now);
    is_int(status_of(srv.port, SNAP, t), 200, "nbf 10 s ahead is within the leeway → 200");
    free(t);
    t = mint_with(rsa.data, TA, "tenantA.edvoip.it", NULL, 300, 0, now);
    is_int(status_of(srv.port, SNAP, t), 401, "RS256 token on an HS256 server → 401");
    free(t);
    t = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}",
                   "{\"sub\":\"x\",\"tenant_id\":\"" TA "\",\"sip_domain\":\"tenantA.edvoip.it\",\"exp\":9999999999}",
                   NULL, 0);
    is_int(status_of(srv.port, SNAP, t), 401, "alg none → 401");
    free(t);
    char *secret = NULL;
    size_t slen = 0;
    w3_read_file(srv.jwt_key, 4096, &secret, &slen);
    while (slen && secret[slen - 1] == '\n')
        secret[--slen] = '\0';
    char payload[512];
    snprintf(payload, sizeof(payload), "{\"sub\":\"x\",\"tenant_id\":\"" TA "\",\"sip_domain\":\"tenantA.edvoip.it\"}");
    t = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, (unsigned char *)secret, slen);
    is_int(status_of(srv.port, SNAP, t), 401, "no exp → 401");
    free(t);
    snprintf(payload, sizeof(payload), "{\"tenant_id\":\"" TA "\",\"sip_domain\":\"tenantA.edvoip.it\",\"exp\":%ld}",
             (long)now + 300);
    t = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, (unsigned char *)secret, slen);
    is_int(status_of(srv.port, SNAP, t), 401, "no sub/client_id → 401");
    free(t);
    snprintf(payload, sizeof(payload), "{\"sub\":\"x\",\"tenant_id\":\"" TA "\",\"exp\":%ld}", (long)now + 300);
    t = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, (unsigned char *)secret, slen);
    is_int(status_of(srv.port, SNAP, t), 401, "tenant token without sip_domain → 401");
    free(t);
    snprintf(payload, sizeof(payload),
             "{\"sub\":\"x\",\"tenant_id\":\"" TA "\",\"sip_domain\":\"tenantA.edvoip.it\","
             "\"exp\":%ld,\"iat\":%ld}",
             (long)now + 7200, (long)now + 3600);
    t = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, (unsigned char *)secret, slen);
    is_int(status_of(srv.port, SNAP, t), 401, "iat an hour in the future → 401");
    free(t);
    free(secret);

    t = tenant_a(srv.jwt_key);
    is_int(status_of(srv.port, "/api/voip/provision/snapshot?sip_domain=tenantB.edvoip.it", t), 403,
           "tenant A token asking for tenant B → 403");
    is_int(status_of(srv.port, "/api/voip/extensions/by-number?sip_domain=TENANTB.edvoip.it&ext=100", t), 403,
           "… also with the domain in another case");
    free(t);
    t = mint_with(srv.jwt_key, TB, "tenantA.edvoip.it", NULL, 300, 0, now);
    is_int(status_of(srv.port, SNAP, t), 403, "token whose tenant_id does not own its sip_domain → 403");
    free(t);
    t = mint_with(srv.jwt_key, NULL, NULL, "pbx", 300, 0, now);
    is_int(status_of(srv.port, "/api/voip/provision/snapshot?sip_domain=tenantB.edvoip.it", t), 200,
           "platform token (scope pbx) reaches any domain");
    is_int(status_of(srv.port, "/api/voip/provision/snapshot?sip_domain=nowhere.example", t), 404,
           "unknown domain → 404");
    free(t);
    t = tenant_a(srv.jwt_key);
    char *body = h_capture("directory-sip_auth-register.form", NULL);
    h_resp_t r;
    h_fs_post(&srv, "/fs/xml", body, strlen(body), "w3-test", t, &r);
    is_int(r.status, 403, "tenant token as Basic password on /fs/xml → 403");
    h_resp_free(&r);
    free(body);
    free(t);

    static const char *const malformed[] = {
        "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer a.b", "Bearer a.b.c.d", "Bearer !!!.???.***", "Token abc"};
    for (size_t i = 0; i < W3_ARRAY_LEN(malformed); i++) {
        const char *hdrs[] = {NULL, NULL};
        w3_buf_t h = {0};
        w3_buf_printf(&h, "Authorization: %s", malformed[i]);
        hdrs[0] = h.data;
        h_request(srv.port, "GET", SNAP, hdrs, NULL, 0, &r);
        char *www = h_header(&r, "WWW-Authenticate");
        ok(r.status == 401 && www && strstr(www, "Bearer"), "malformed header '%s' → 401 with WWW-Authenticate",
           malformed[i]);
        free(www);
        h_resp_free(&r);
        w3_buf_free(&h);
    }
    is_int(status_of(srv.port, SNAP, NULL), 401, "no Authorization → 401");

    /* RS256 server */
    h_server_t rs;
    const char *rs_args[] = {"--jwt-key", rsapub.data, NULL};
    if (ok(h_server_start(&rs, NULL, rs_args) == 0, "server with an RSA public key (pins RS256)")) {
        t = tenant_a(rsa.data);
        is_int(status_of(rs.port, SNAP, t), 200, "valid RS256 → 200");
        free(t);
        t = tenant_a(rsa2.data);
        is_int(status_of(rs.port, SNAP, t), 401, "RS256 signed with another key → 401");
        free(t);
        char *pem = NULL;
        size_t plen = 0;
        w3_read_file(rsapub.data, 8192, &pem, &plen);
        snprintf(payload, sizeof(payload),
                 "{\"sub\":\"x\",\"tenant_id\":\"" TA "\",\"sip_domain\":\"tenantA.edvoip.it\",\"exp\":%ld}",
                 (long)now + 300);
        t = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, (unsigned char *)pem, plen);
        is_int(status_of(rs.port, SNAP, t), 401, "HS256 token signed with the RSA public key's PEM → 401");
        free(t);
        free(pem);
        t = tenant_a(ec.data);
        is_int(status_of(rs.port, SNAP, t), 401, "ES256 token on the RS256 server → 401");
        free(t);
        is_int(h_server_stop(&rs), 0, "RS256 server exits cleanly");
    }
    /* ES256 server */
    h_server_t es;
    const char *es_args[] = {"--jwt-key", ecpub.data, NULL};
    if (ok(h_server_start(&es, NULL, es_args) == 0, "server with an EC P-256 public key (pins ES256)")) {
        t = tenant_a(ec.data);
        is_int(status_of(es.port, SNAP, t), 200, "valid ES256 → 200");
        free(t);
        t = tenant_a(rsa.data);
        is_int(status_of(es.port, SNAP, t), 401, "RS256 token on the ES256 server → 401");
        free(t);
        is_int(h_server_stop(&es), 0, "ES256 server exits cleanly");
    }
    w3_buf_free(&rsa);
    w3_buf_free(&rsapub);
    w3_buf_free(&rsa2);
    w3_buf_free(&ec);
    w3_buf_free(&ecpub);
}

static long long rows(const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    char *out = NULL;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' '%s'", srv.db, sql);
    h_run(cmd, &out);
    long long n = out ? atoll(out) : -1;
    free(out);
    return n;
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    dir = h_tmpdir();
    endpoints();
    cdr_api();
    long long act = rows("voip_activity_log"), cdrs = rows("voip_cdr");
    matrix();
    is_int(rows("voip_activity_log"), act, "refused requests write nothing to the activity log");
    is_int(rows("voip_cdr"), cdrs, "… nor to the CDRs");
    h_resp_t r;
    h_request(srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    ok(r.body && strstr(r.body, "w3voipd_auth_failures_total{reason=\"tenant_scope\"}") &&
           !strstr(r.body, "w3voipd_auth_failures_total{reason=\"tenant_scope\"} 0\n"),
       "scope refusals are counted");
    h_resp_free(&r);
    h_rmrf(dir);
    free(dir);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
