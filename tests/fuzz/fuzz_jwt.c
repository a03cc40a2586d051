/* Fuzz target: server/auth/auth_jwt.h, the verification of every API bearer
 * token. Two kinds of input:
 *  - a token ("xxx.yyy.zzz"): verified as is, NUL-terminated, against the
 *    fixed HS256 key and against an ES256 public key whose private half was
 *    thrown away (so nothing may ever verify against it);
 *  - an input starting with '{': "<header JSON>\n<payload JSON>" (or just
 *    the payload, with header {"alg":"HS256","typ":"JWT"}), which the target
 *    signs itself, so that the claim checks behind the signature (exp, nbf,
 *    iat, sub, tenant, scope) are reached. The same header.payload is also
 *    signed with HMAC keyed by the ES256 PEM text (the classic algorithm
 *    confusion attack) and must be refused by the ES256 key.
 * Properties: a refusal names one of the documented reasons; an accepted
 * token has a client, a tenant or the pbx scope, and is not expired. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "auth_jwt.h"
#include "fuzz.h"

/* The verification instant: fixed, so that every run is reproducible (the
 * seeds in corpus/jwt were minted for it by gen_jwt_seeds.py). */
#define FUZZ_NOW 1700000000L
#define FUZZ_LEEWAY 30L

/* 48 bytes, as `make run` generates (base64 of 36 random bytes). */
static const char hs_secret[] = "dzN2b2lwZC1mdXp6LWhzMjU2LXNlY3JldC0wMTIzNDU2Nzg5";

static const char es_public[] = "-----BEGIN PUBLIC KEY-----\n"
                                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/OTm6MRiKMEPk3059JDvXKq+7B9M\n"
                                "ytAGbfFCuF5Z3ttorH5UkaCNMmIWh4rdY/8Ar4dP+QlTu8HWf2UWRO6Pkg==\n"
                                "-----END PUBLIC KEY-----\n";

static auth_jwt_key_t hs_key, es_key;

static void load_key(const char *text, auth_jwt_alg_t want, auth_jwt_key_t *key)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/w3fuzz-jwt-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0);
    size_t n = strlen(text);
    FUZZ_CHECK(write(fd, text, n) == (ssize_t)n);
    close(fd);
    const char *why = NULL;
    int rc = auth_jwt_key_load(path, false, key, &why);
    unlink(path);
    if (rc != 0)
        fprintf(stderr, "fuzz_jwt: cannot load the key: %s\n", why ? why : "?");
    FUZZ_CHECK(rc == 0 && key->alg == want);
}

static void free_keys(void)
{
    auth_jwt_key_free(&hs_key);
    auth_jwt_key_free(&es_key);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    load_key(hs_secret, AUTH_JWT_HS256, &hs_key);
    FUZZ_CHECK(hs_key.len == 48);
    load_key(es_public, AUTH_JWT_ES256, &es_key);
    atexit(free_keys);
    return 0;
}

static const char *const reasons[] = {
    "malformed",        "alg",         "signature",      "expired",       "not_yet_valid",
    "issued_in_future", "missing_exp", "missing_client", "missing_tenant"};

static void check(const auth_jwt_key_t *key, const char *token, bool must_fail)
{
    auth_jwt_claims_t c;
    const char *why = NULL;
    int rc = auth_jwt_verify(key, token, FUZZ_NOW, FUZZ_LEEWAY, &c, &why);
    if (fuzz_verbose())
        fprintf(stderr, "fuzz_jwt: %s key: %s%s%s%s\n", auth_jwt_alg_name(key->alg), rc ? "refused, " : "accepted",
                rc           ? why
                : c.platform ? " (platform)"
                             : " (tenant ",
                rc ? "" : c.sip_domain, rc || c.platform ? "" : ")");
    if (rc != 0) {
        FUZZ_CHECK(rc == -EACCES);
        FUZZ_CHECK(why != NULL);
        bool known = false;
        for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
            known |= strcmp(why, reasons[i]) == 0;
        FUZZ_CHECK(known);
        return;
    }
    FUZZ_CHECK(!must_fail);
    FUZZ_CHECK(c.client_id[0] != '\0');
    FUZZ_CHECK(c.platform || (c.tenant_id[0] != '\0' && c.sip_domain[0] != '\0'));
    FUZZ_CHECK(FUZZ_NOW - FUZZ_LEEWAY < c.exp); /* not expired (no overflow for a huge exp) */
}

static size_t b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

/* header.payload.HMAC-SHA256(key, header.payload) */
static char *sign(const char *hdr, size_t hlen, const char *pay, size_t plen, const void *key, size_t klen)
{
    char *tok = malloc((hlen + plen) * 4 / 3 + 64 + 8);
    FUZZ_CHECK(tok != NULL);
    size_t o = b64url((const unsigned char *)hdr, hlen, tok);
    tok[o++] = '.';
    o += b64url((const unsigned char *)pay, plen, tok + o);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    FUZZ_CHECK(HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)tok, o, mac, &maclen) != NULL);
    tok[o++] = '.';
    b64url(mac, maclen, tok + o);
    return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0; /* tokens above 8 KiB are refused at once; keep the search there */
    if (size > 0 && data[0] == '{') {
        static const char def_hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        const char *hdr = def_hdr, *pay = (const char *)data;
        size_t hlen = strlen(def_hdr), plen = size;
        const uint8_t *nl = memchr(data, '\n', size);
        if (nl) {
            hdr = (const char *)data;
            hlen = (size_t)(nl - data);
            pay = (const char *)nl + 1;
            plen = size - hlen - 1;
        }
        char *tok = sign(hdr, hlen, pay, plen, hs_key.bytes, hs_key.len);
        check(&hs_key, tok, false);
        check(&es_key, tok, true);
        free(tok);
        tok = sign(hdr, hlen, pay, plen, es_key.bytes, es_key.len);
        check(&es_key, tok, true);
        free(tok);
        return 0;
    }
    char *tok = malloc(size + 1);
    FUZZ_CHECK(tok != NULL);
    if (size)
        memcpy(tok, data, size);
    tok[size] = '\0';
    check(&hs_key, tok, false);
    check(&es_key, tok, true);
    free(tok);
    return 0;
}
