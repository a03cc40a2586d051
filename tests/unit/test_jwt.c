/* auth_jwt.h: JWT keys, minting and verification (SPEC §9). Keys are made
 * with the openssl CLI in a temporary directory. */
#include <errno.h>
#include <jwt.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_jwt.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#define TENANT_A "a0000000-0000-4000-8000-00000000000a"
#define DOMAIN_A "tenantA.edvoip.it"

static char *dir;
static time_t now;

static char *path_of(const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static bool sh(const char *fmt, const char *arg)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg);
    char *out = NULL;
    int st = h_run(cmd, &out);
    if (st != 0)
        printf("# command failed (%d): %s\n# %s\n", st, cmd, out ? out : "");
    free(out);
    return st == 0;
}

static bool make_keys(void)
{
    bool good = true;
    good &= sh("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>&1 && "
               "openssl pkey -in rsa.pem -pubout -out rsa.pub 2>&1",
               dir);
    good &= sh("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem 2>&1 && "
               "openssl pkey -in rsa2.pem -pubout -out rsa2.pub 2>&1",
               dir);
    good &= sh("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem 2>&1 && "
               "openssl pkey -in rsa1024.pem -pubout -out rsa1024.pub 2>&1",
               dir);
    good &= sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>&1 && "
               "openssl pkey -in ec.pem -pubout -out ec.pub 2>&1",
               dir);
    good &= sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.pem 2>&1 && "
               "openssl pkey -in ec384.pem -pubout -out ec384.pub 2>&1",
               dir);
    good &= sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out k1.pem 2>&1 && "
               "openssl pkey -in k1.pem -pubout -out k1.pub 2>&1",
               dir);
    good &= sh("cd '%s' && openssl rand -base64 48 > hs.key", dir);
    good &= sh("cd '%s' && openssl rand -base64 48 > hs2.key", dir);
    return good;
}

static int load(const char *name, bool priv, auth_jwt_key_t *k, const char **why)
{
    char *p = path_of(name);
    *why = NULL;
    int rc = auth_jwt_key_load(p, priv, k, why);
    free(p);
    return rc;
}

/* Loads a key that must load; aborts the program otherwise (nothing else
 * could be checked). */
static void must_load(const char *name, bool priv, auth_jwt_alg_t alg, auth_jwt_key_t *k)
{
    const char *why = NULL;
    int rc = load(name, priv, k, &why);
    char label[200];
    snprintf(label, sizeof(label), "load %s (%s)", name, priv ? "private" : "public");
    if (!is_int(rc, 0, label)) {
        printf("#   why: %s\n", why ? why : "(null)");
        tap_done();
        exit(1);
    }
    snprintf(label, sizeof(label), "%s is %s", name, auth_jwt_alg_name(alg));
    is_int(k->alg, alg, label);
}

static auth_jwt_mint_req_t tenant_req(void)
{
    auth_jwt_mint_req_t r = {.tenant_id = TENANT_A,
                             .sip_domain = DOMAIN_A,
                             .client_id = "w3-suite",
                             .scope = NULL,
                             .ttl_s = 300,
                             .nbf_offset_s = 0,
                             .now = now};
    return r;
}

static char *mint(const auth_jwt_key_t *k, const auth_jwt_mint_req_t *r)
{
    const char *why = NULL;
    char *t = auth_jwt_mint(k, r, &why);
    if (t == NULL)
        printf("# mint failed: %s\n", why ? why : "(null)");
    return t;
}

/* Verifies and checks rc 0 / -EACCES with the reason. want_why NULL = valid. */
static void verify_is(const auth_jwt_key_t *k, const char *tok, time_t at, long leeway, const char *want_why,
                      auth_jwt_claims_t *c, const char *label)
{
    auth_jwt_claims_t tmp;
    const char *why = NULL;
    if (c == NULL)
        c = &tmp;
    int rc = tok ? auth_jwt_verify(k, tok, at, leeway, c, &why) : -999;
    char l[400];
    snprintf(l, sizeof(l), "%s: rc", label);
    is_int(rc, want_why ? -EACCES : 0, l);
    if (want_why) {
        snprintf(l, sizeof(l), "%s: why", label);
        is_str(why, want_why, l);
    } else if (rc != 0) {
        printf("#   why: %s\n", why ? why : "(null)");
    }
}

static char *b64url(const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = data;
    char *out = malloc(n * 4 / 3 + 4);
    size_t o = 0;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

/* header.payload.sig from raw JSON texts; sig may be "" */
static char *hand_token(const char *header, const char *payload, const char *sig)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    char *t = malloc(strlen(h) + strlen(p) + strlen(sig) + 3);
    sprintf(t, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

/* An HS256 token over exactly these header and payload texts (libjwt
 * cannot write a duplicated claim), signed with HMAC-SHA256. */
static char *hs_raw_token(const auth_jwt_key_t *k, const char *header, const char *payload)
{
    char *unsigned_tok = hand_token(header, payload, "");
    unsigned char mac[32];
    unsigned int maclen = 0;
    size_t n = strlen(unsigned_tok) - 1; /* without the last dot */
    HMAC(EVP_sha256(), k->bytes, (int)k->len, (const unsigned char *)unsigned_tok, n, mac, &maclen);
    char *sig = b64url(mac, maclen);
    char *t = malloc(n + strlen(sig) + 2);
    sprintf(t, "%.*s.%s", (int)n, unsigned_tok, sig);
    free(sig);
    free(unsigned_tok);
    return t;
}

static void test_duplicate_claims(const auth_jwt_key_t *hs)
{
    char payload[256];
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    snprintf(payload, sizeof(payload), "{\"sub\":\"ops\",\"scope\":\"pbx\",\"exp\":%ld}", (long)now + 600);
    char *t = hs_raw_token(hs, hdr, payload);
    verify_is(hs, t, now, 30, NULL, NULL, "the hand-signed platform token itself is valid");
    free(t);
    snprintf(payload, sizeof(payload), "{\"sub\":\"ops\",\"scope\":\"none\",\"scope\":\"pbx\",\"exp\":%ld}",
             (long)now + 600);
    t = hs_raw_token(hs, hdr, payload);
    verify_is(hs, t, now, 30, "malformed", NULL, "payload with scope twice (none, then pbx) refused");
    free(t);
    snprintf(payload, sizeof(payload),
             "{\"sub\":\"a\",\"tenant_id\":\"t1\",\"sip_domain\":\"x\",\"sip_domain\":\"y\",\"exp\":%ld}",
             (long)now + 600);
    t = hs_raw_token(hs, hdr, payload);
    verify_is(hs, t, now, 30, "malformed", NULL, "payload with sip_domain twice refused");
    free(t);
}

/* An HS256 token with exactly the given claims (JSON object), signed by libjwt. */
static char *hs_token(const auth_jwt_key_t *k, const char *claims_json)
{
    jwt_t *j = NULL;
    char *t = NULL;
    if (jwt_new(&j) != 0)
        return NULL;
    if (jwt_add_grants_json(j, claims_json) == 0 && jwt_set_alg(j, JWT_ALG_HS256, k->bytes, (int)k->len) == 0)
        t = jwt_encode_str(j);
    jwt_free(j);
    if (t == NULL)
        printf("# cannot build a token for %s\n", claims_json);
    return t;
}

static void test_valid(const auth_jwt_key_t *hs, const auth_jwt_key_t *rs_priv, const auth_jwt_key_t *rs_pub,
                       const auth_jwt_key_t *ec_priv, const auth_jwt_key_t *ec_pub)
{
    auth_jwt_mint_req_t r = tenant_req();
    auth_jwt_claims_t c;
    struct {
        const char *name;
        const auth_jwt_key_t *sign, *check;
    } cases[] = {{"HS256", hs, hs}, {"RS256", rs_priv, rs_pub}, {"ES256", ec_priv, ec_pub}};
    for (size_t i = 0; i < 3; i++) {
        char *t = mint(cases[i].sign, &r);
        char label[100];
        snprintf(label, sizeof(label), "%s token minted", cases[i].name);
        ok(t != NULL, "%s", label);
        snprintf(label, sizeof(label), "valid %s token", cases[i].name);
        memset(&c, 0x5a, sizeof(c));
        verify_is(cases[i].check, t, now, 30, NULL, &c, label);
        is_str(c.tenant_id, TENANT_A, "claims.tenant_id");
        is_str(c.sip_domain, DOMAIN_A, "claims.sip_domain");
        is_str(c.client_id, "w3-suite", "claims.client_id from sub");
        ok(!c.platform, "tenant token: claims.platform false");
        is_int(c.exp, (long)now + 300, "claims.exp = now + ttl");
        if (t) {
            /* tampered payload, same signature */
            char *p1 = strchr(t, '.'), *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
            if (p1 && p2) {
                char *payload =
                    b64url("{\"sub\":\"evil\",\"tenant_id\":\"x\",\"sip_domain\":\"y\",\"exp\":9999999999}",
                           strlen("{\"sub\":\"evil\",\"tenant_id\":\"x\",\"sip_domain\":\"y\",\"exp\":9999999999}"));
                size_t hl = (size_t)(p1 - t);
                char *forged = malloc(strlen(t) + strlen(payload) + 4);
                sprintf(forged, "%.*s.%s%s", (int)hl, t, payload, p2);
                snprintf(label, sizeof(label), "%s token with a swapped payload", cases[i].name);
                verify_is(cases[i].check, forged, now, 30, "signature", NULL, label);
                /* signature cut off: an unsigned token */
                forged[hl + 1 + strlen(payload) + 1] = '\0';
                snprintf(label, sizeof(label), "%s token with its signature removed", cases[i].name);
                verify_is(cases[i].check, forged, now, 30, "alg", NULL, label);
                free(forged);
                free(payload);
            }
        }
        free(t);
    }

    /* cross-algorithm: a token is only accepted by a key of its own type */
    char *t = mint(rs_priv, &r);
    verify_is(ec_pub, t, now, 30, "alg", NULL, "RS256 token against an EC key");
    verify_is(hs, t, now, 30, "alg", NULL, "RS256 token against an HS256 key");
    free(t);
    t = mint(ec_priv, &r);
    verify_is(rs_pub, t, now, 30, "alg", NULL, "ES256 token against an RSA key");
    free(t);
    t = mint(hs, &r);
    verify_is(rs_pub, t, now, 30, "alg", NULL, "HS256 token against an RSA key");
    free(t);
}

static void test_time(const auth_jwt_key_t *hs, const auth_jwt_key_t *rs_priv, const auth_jwt_key_t *rs_pub)
{
    auth_jwt_mint_req_t r = tenant_req();
    r.ttl_s = 60;
    char *t = mint(rs_priv, &r);
    /* RFC 7519 4.1.4: exp is the time "on or after which the JWT MUST NOT be accepted" */
    verify_is(rs_pub, t, now + 59, 0, NULL, NULL, "1 s before exp, leeway 0: valid");
    verify_is(rs_pub, t, now + 60, 0, "expired", NULL, "at exp exactly, leeway 0: expired (RFC 7519)");
    verify_is(rs_pub, t, now + 61, 0, "expired", NULL, "1 s past exp, leeway 0: expired");
    verify_is(rs_pub, t, now + 61, 30, NULL, NULL, "1 s past exp within leeway 30: valid");
    verify_is(rs_pub, t, now + 89, 30, NULL, NULL, "29 s past exp, leeway 30: valid");
    verify_is(rs_pub, t, now + 91, 30, "expired", NULL, "31 s past exp, leeway 30: expired");
    verify_is(rs_pub, t, now + 10L * 365 * 86400, 30, "expired", NULL, "ten years later: expired");
    free(t);

    r = tenant_req();
    r.ttl_s = -120; /* already expired when minted */
    t = mint(hs, &r);
    verify_is(hs, t, now, 30, "expired", NULL, "negative ttl: expired");
    free(t);

    r = tenant_req();
    r.nbf_offset_s = 300;
    r.ttl_s = 3600;
    t = mint(hs, &r);
    verify_is(hs, t, now, 30, "not_yet_valid", NULL, "nbf 300 s ahead: not yet valid");
    verify_is(hs, t, now + 269, 30, "not_yet_valid", NULL, "nbf 31 s ahead, leeway 30: not yet valid");
    verify_is(hs, t, now + 270, 30, NULL, NULL, "nbf 30 s ahead, leeway 30: valid");
    verify_is(hs, t, now + 300, 0, NULL, NULL, "at nbf: valid");
    free(t);

    r = tenant_req();
    r.now = now + 1000; /* a clock far ahead of ours */
    t = mint(hs, &r);
    verify_is(hs, t, now, 30, "issued_in_future", NULL, "iat 1000 s in the future: refused");
    free(t);
    r.now = now + 20;
    t = mint(hs, &r);
    verify_is(hs, t, now, 30, NULL, NULL, "iat 20 s in the future, leeway 30: valid");
    verify_is(hs, t, now, 0, "issued_in_future", NULL, "iat 20 s in the future, leeway 0: refused");
    free(t);
}

static void test_claims(const auth_jwt_key_t *hs)
{
    char json[512];
    char *t;
    auth_jwt_claims_t c;
    long exp = (long)now + 300;

    snprintf(json, sizeof(json), "{\"sub\":\"c\",\"tenant_id\":\"%s\",\"sip_domain\":\"%s\"}", TENANT_A, DOMAIN_A);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, "missing_exp", NULL, "token without exp");
    free(t);

    snprintf(json, sizeof(json), "{\"sub\":\"c\",\"tenant_id\":\"%s\",\"sip_domain\":\"%s\",\"exp\":\"%ld\"}", TENANT_A,
             DOMAIN_A, exp);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, "missing_exp", NULL, "exp as a string is not an exp");
    free(t);

    snprintf(json, sizeof(json), "{\"tenant_id\":\"%s\",\"sip_domain\":\"%s\",\"exp\":%ld}", TENANT_A, DOMAIN_A, exp);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, "missing_client", NULL, "token without sub or client_id");
    free(t);

    snprintf(json, sizeof(json), "{\"sub\":\"\",\"tenant_id\":\"%s\",\"sip_domain\":\"%s\",\"exp\":%ld}", TENANT_A,
             DOMAIN_A, exp);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, "missing_client", NULL, "empty sub");
    free(t);

    snprintf(json, sizeof(json), "{\"client_id\":\"node-1\",\"tenant_id\":\"%s\",\"sip_domain\":\"%s\",\"exp\":%ld}",
             TENANT_A, DOMAIN_A, exp);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, NULL, &c, "client_id instead of sub");
    is_str(c.client_id, "node-1", "claims.client_id from client_id");
    free(t);

    snprintf(json, sizeof(json), "{\"sub\":\"c\",\"sip_domain\":\"%s\",\"exp\":%ld}", DOMAIN_A, exp);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, "missing_tenant", NULL, "tenant token without tenant_id");
    free(t);

    snprintf(json, sizeof(json), "{\"sub\":\"c\",\"tenant_id\":\"%s\",\"exp\":%ld}", TENANT_A, exp);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, "missing_tenant", NULL, "tenant token without sip_domain");
    free(t);

    snprintf(json, sizeof(json), "{\"sub\":\"c\",\"exp\":%ld,\"scope\":\"read\"}", exp);
    t = hs_token(hs, json);
    verify_is(hs, t, now, 30, "missing_tenant", NULL, "scope without pbx and no tenant");
    free(t);

    /* platform scope */
    static const char *const platform[] = {"\"pbx\"", "\"read pbx\"", "\"pbx read\"", "[\"read\",\"pbx\"]",
                                           "[\"pbx\"]"};
    for (size_t i = 0; i < W3_ARRAY_LEN(platform); i++) {
        snprintf(json, sizeof(json), "{\"sub\":\"node\",\"exp\":%ld,\"scope\":%s}", exp, platform[i]);
        t = hs_token(hs, json);
        char label[120];
        snprintf(label, sizeof(label), "platform scope %s", platform[i]);
        memset(&c, 0, sizeof(c));
        verify_is(hs, t, now, 30, NULL, &c, label);
        ok(c.platform, "scope %s: claims.platform true", platform[i]);
        is_str(c.tenant_id, "", "platform token: no tenant_id");
        free(t);
    }
    static const char *const not_platform[] = {"\"pbxx\"",       "\"read pbx2\"", "\"PBX\"",   "\"xpbx\"",
                                               "[\"read pbx\"]", "true",          "[\"read\"]"};
    for (size_t i = 0; i < W3_ARRAY_LEN(not_platform); i++) {
        snprintf(json, sizeof(json),
                 "{\"sub\":\"node\",\"tenant_id\":\"%s\",\"sip_domain\":\"%s\",\"exp\":%ld,"
                 "\"scope\":%s}",
                 TENANT_A, DOMAIN_A, exp, not_platform[i]);
        t = hs_token(hs, json);
        char label[120];
        snprintf(label, sizeof(label), "scope %s", not_platform[i]);
        memset(&c, 0, sizeof(c));
        verify_is(hs, t, now, 30, NULL, &c, label);
        ok(!c.platform, "scope %s: claims.platform false", not_platform[i]);
        free(t);
    }

    /* auth_jwt_mint with a scope */
    auth_jwt_mint_req_t r = {.client_id = "pbx-node-1", .scope = "pbx", .ttl_s = 60, .now = now};
    t = mint(hs, &r);
    memset(&c, 0, sizeof(c));
    verify_is(hs, t, now, 30, NULL, &c, "minted platform token");
    ok(c.platform, "minted platform token: claims.platform true");
    is_str(c.client_id, "pbx-node-1", "minted platform token: client id");
    free(t);
}

static void test_refused(const auth_jwt_key_t *hs, const auth_jwt_key_t *rs_priv, const auth_jwt_key_t *rs_pub,
                         const auth_jwt_key_t *rs2_pub)
{
    auth_jwt_mint_req_t r = tenant_req();
    char *t = mint(rs_priv, &r);
    verify_is(rs2_pub, t, now, 30, "signature", NULL, "RS256 token against another RSA key");
    free(t);

    /* HS256 with another secret */
    const char *why = NULL;
    auth_jwt_key_t hs2;
    if (load("hs2.key", false, &hs2, &why) == 0) {
        t = mint(&hs2, &r);
        verify_is(hs, t, now, 30, "signature", NULL, "HS256 token with another secret");
        free(t);
        auth_jwt_key_free(&hs2);
    }

    char claims[300];
    snprintf(claims, sizeof(claims), "{\"sub\":\"c\",\"tenant_id\":\"%s\",\"sip_domain\":\"%s\",\"exp\":%ld}", TENANT_A,
             DOMAIN_A, (long)now + 300);
    t = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, "");
    verify_is(rs_pub, t, now, 30, "alg", NULL, "alg none (RSA key)");
    verify_is(hs, t, now, 30, "alg", NULL, "alg none (HS256 key)");
    free(t);
    t = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, "c2ln");
    verify_is(hs, t, now, 30, "alg", NULL, "alg none with a signature part");
    free(t);
    t = hand_token("{\"alg\":\"None\"}", claims, "");
    verify_is(hs, t, now, 30, "alg", NULL, "alg None");
    free(t);
    t = hand_token("{\"typ\":\"JWT\"}", claims, "c2ln");
    verify_is(hs, t, now, 30, "alg", NULL, "header without alg");
    free(t);
    t = hand_token("{\"alg\":\"HS512\"}", claims, "c2ln");
    verify_is(hs, t, now, 30, "alg", NULL, "alg HS512 against an HS256 key");
    free(t);

    /* the classic confusion: HS256 "signed" with the RSA public key's PEM */
    auth_jwt_key_t confused = {AUTH_JWT_HS256, rs_pub->bytes, rs_pub->len};
    t = mint(&confused, &r);
    ok(t != NULL, "an HS256 token keyed with the RSA public PEM can be made");
    verify_is(rs_pub, t, now, 30, "alg", NULL, "HS256 token keyed with the RSA public PEM, against the RSA key");
    free(t);

    /* malformed */
    static const char *const bad[] = {
        "", "abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a*b.c.d", "***.e30.c2ln", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln.x"};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad); i++) {
        char label[100];
        snprintf(label, sizeof(label), "malformed token '%s'", bad[i]);
        verify_is(hs, bad[i], now, 30, "malformed", NULL, label);
    }
    t = hand_token("this is not json", claims, "c2ln");
    verify_is(hs, t, now, 30, "malformed", NULL, "header not JSON");
    free(t);
    t = hand_token("[\"alg\",\"HS256\"]", claims, "c2ln");
    verify_is(hs, t, now, 30, "malformed", NULL, "header a JSON array");
    free(t);
    t = hand_token("{\"alg\":\"RS256\",\"alg\":\"HS256\"}", claims, "c2ln");
    verify_is(hs, t, now, 30, "malformed", NULL, "header with a duplicate alg");
    free(t);
    t = hand_token("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", claims, "c2ln");
    verify_is(hs, t, now, 30, "malformed", NULL, "header with crit");
    free(t);
    /* a good HS256 header with a payload that is not base64url */
    t = mint(hs, &r);
    if (t) {
        char *dot = strchr(t, '.');
        dot[1] = '*';
        auth_jwt_claims_t c;
        const char *w = NULL;
        ok(auth_jwt_verify(hs, t, now, 30, &c, &w) == -EACCES, "payload with a non-base64url byte refused (%s)",
           w ? w : "(null)");
    }
    free(t);
    char *huge = malloc(9000);
    memset(huge, 'A', 8999);
    huge[8999] = '\0';
    huge[100] = '.';
    huge[200] = '.';
    verify_is(hs, huge, now, 30, "malformed", NULL, "token over 8 KiB");
    free(huge);
}

static void test_key_load(void)
{
    auth_jwt_key_t k;
    const char *why;

    char *p = h_write_file(dir, "short.key", "0123456789abcdef0123456789abcde\n"); /* 31 bytes */
    free(p);
    is_int(load("short.key", false, &k, &why), -EINVAL, "HS256 secret of 31 bytes refused");
    ok(why != NULL, "short secret: why (%s)", why ? why : "(null)");
    ok(k.bytes == NULL, "short secret: no key bytes");
    p = h_write_file(dir, "tiny.key", "secret\n");
    free(p);
    is_int(load("tiny.key", true, &k, &why), -EINVAL, "HS256 secret 'secret' refused (private)");
    p = h_write_file(dir, "k32.key", "0123456789abcdef0123456789abcdef\r\n\n");
    free(p);
    is_int(load("k32.key", false, &k, &why), 0, "HS256 secret of 32 bytes accepted");
    is_int(k.alg, AUTH_JWT_HS256, "32-byte secret is HS256");
    is_int(k.len, 32, "trailing newlines are not part of the secret");
    auth_jwt_key_free(&k);
    ok(k.bytes == NULL && k.len == 0, "auth_jwt_key_free clears the key");
    auth_jwt_key_free(&k);
    auth_jwt_key_free(NULL);

    is_int(load("rsa1024.pem", true, &k, &why), -EINVAL, "RSA 1024-bit private key refused");
    ok(why != NULL, "RSA 1024: why (%s)", why ? why : "(null)");
    is_int(load("rsa1024.pub", false, &k, &why), -EINVAL, "RSA 1024-bit public key refused");
    is_int(load("ec384.pem", true, &k, &why), -EINVAL, "EC P-384 private key refused");
    is_int(load("ec384.pub", false, &k, &why), -EINVAL, "EC P-384 public key refused");
    ok(why != NULL, "EC P-384: why (%s)", why ? why : "(null)");
    is_int(load("k1.pub", false, &k, &why), -EINVAL, "EC secp256k1 public key refused (ES256 is P-256 only)");
    if (k.bytes)
        auth_jwt_key_free(&k);
    is_int(load("k1.pem", true, &k, &why), -EINVAL, "EC secp256k1 private key refused (ES256 is P-256 only)");
    if (k.bytes)
        auth_jwt_key_free(&k);
    is_int(load("rsa.pem", false, &k, &why), -EINVAL, "a private PEM is not a public key");
    is_int(load("rsa.pub", true, &k, &why), -EINVAL, "a public PEM cannot mint");
    is_int(load("missing.key", false, &k, &why), -ENOENT, "missing key file");
    ok(why != NULL, "missing key file: why (%s)", why ? why : "(null)");
    p = h_write_file(dir, "garbage.pem", "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n");
    free(p);
    is_int(load("garbage.pem", false, &k, &why), -EINVAL, "garbage PEM refused");

    is_str(auth_jwt_alg_name(AUTH_JWT_HS256), "HS256", "alg name HS256");
    is_str(auth_jwt_alg_name(AUTH_JWT_RS256), "RS256", "alg name RS256");
    is_str(auth_jwt_alg_name(AUTH_JWT_ES256), "ES256", "alg name ES256");
}

int main(void)
{
    dir = h_tmpdir();
    now = time(NULL);
    if (!ok(make_keys(), "openssl made the test keys")) {
        h_rmrf(dir);
        free(dir);
        return tap_done();
    }
    auth_jwt_key_t hs, hs_priv, rs_priv, rs_pub, rs2_pub, ec_priv, ec_pub;
    must_load("hs.key", false, AUTH_JWT_HS256, &hs);
    must_load("hs.key", true, AUTH_JWT_HS256, &hs_priv);
    is_int(hs.len, 64, "48 random bytes in base64 are a 64-byte secret");
    ok(hs.len == hs_priv.len && memcmp(hs.bytes, hs_priv.bytes, hs.len) == 0, "HS256 secret loads alike both ways");
    must_load("rsa.pem", true, AUTH_JWT_RS256, &rs_priv);
    must_load("rsa.pub", false, AUTH_JWT_RS256, &rs_pub);
    must_load("rsa2.pub", false, AUTH_JWT_RS256, &rs2_pub);
    must_load("ec.pem", true, AUTH_JWT_ES256, &ec_priv);
    must_load("ec.pub", false, AUTH_JWT_ES256, &ec_pub);

    test_valid(&hs, &rs_priv, &rs_pub, &ec_priv, &ec_pub);
    test_time(&hs, &rs_priv, &rs_pub);
    test_claims(&hs);
    test_refused(&hs, &rs_priv, &rs_pub, &rs2_pub);
    test_key_load();
    test_duplicate_claims(&hs);

    auth_jwt_key_free(&hs);
    auth_jwt_key_free(&hs_priv);
    auth_jwt_key_free(&rs_priv);
    auth_jwt_key_free(&rs_pub);
    auth_jwt_key_free(&rs2_pub);
    auth_jwt_key_free(&ec_priv);
    auth_jwt_key_free(&ec_pub);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
