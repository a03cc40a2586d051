#include "auth_jwt.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *auth_jwt_alg_name(auth_jwt_alg_t alg)
{
    switch (alg) {
    case AUTH_JWT_HS256:
        return "HS256";
    case AUTH_JWT_RS256:
        return "RS256";
    case AUTH_JWT_ES256:
        return "ES256";
    }
    return "?";
}

static jwt_alg_t to_libjwt(auth_jwt_alg_t alg)
{
    return alg == AUTH_JWT_RS256 ? JWT_ALG_RS256 : alg == AUTH_JWT_ES256 ? JWT_ALG_ES256 : JWT_ALG_HS256;
}

/* Which algorithm a PEM key allows; 0 when it is not one we accept. */
static auth_jwt_alg_t pem_alg(const char *pem, size_t len, bool private_key)
{
    auth_jwt_alg_t alg = 0;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    W3_CHECK_ALLOC(bio);
    EVP_PKEY *pk =
        private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pk != NULL) {
        int id = EVP_PKEY_get_base_id(pk);
        if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) >= 2048)
            alg = AUTH_JWT_RS256;
        else if (id == EVP_PKEY_EC && EVP_PKEY_get_bits(pk) == 256) {
            /* ES256 is defined on P-256 only (RFC 7518 §3.4) */
            char group[64] = "";
            size_t glen = 0;
            if (EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &glen) == 1 &&
                (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
                alg = AUTH_JWT_ES256;
        }
    }
    EVP_PKEY_free(pk);
    BIO_free(bio);
    return alg;
}

int auth_jwt_key_load(const char *path, bool private_key, auth_jwt_key_t *key, const char **why)
{
    char *data = NULL;
    size_t len = 0;
    memset(key, 0, sizeof(*key));
    int rc = w3_read_file(path, 64 * 1024, &data, &len);
    if (rc) {
        *why = rc == -ENOENT ? "key file not found" : "key file unreadable";
        return rc;
    }
    if (strstr(data, "-----BEGIN") != NULL) {
        key->alg = pem_alg(data, len, private_key);
        if (key->alg == 0) {
            *why = private_key ? "PEM is not an RSA (>= 2048 bit) or EC P-256 private key"
                               : "PEM is not an RSA (>= 2048 bit) or EC P-256 public key";
            w3_free_secret(data, len);
            return -EINVAL;
        }
    } else {
        /* HS256 shared secret: the file's bytes without trailing newlines */
        while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            data[--len] = '\0';
        if (len < 32) {
            *why = "HS256 secret shorter than 32 bytes";
            w3_free_secret(data, len);
            return -EINVAL;
        }
        key->alg = AUTH_JWT_HS256;
    }
    key->bytes = (unsigned char *)data;
    key->len = len;
    return 0;
}

void auth_jwt_key_free(auth_jwt_key_t *key)
{
    if (key == NULL || key->bytes == NULL)
        return;
    w3_free_secret(key->bytes, key->len);
    key->bytes = NULL;
    key->len = 0;
}

static int b64url_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes base64url without padding; NULL when malformed. */
static char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
    char *out = xmalloc(n * 3 / 4 + 4);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val(s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* The header's alg must be exactly the pinned one: this is what stops an
 * HS256 token "signed" with the RSA public key's PEM, and alg "none". */
static int check_header(const char *token, auth_jwt_alg_t pinned, const char **why)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL || dot1 == token || dot2 == dot1 + 1) {
        *why = "malformed";
        return -EACCES;
    }
    if (dot2[1] == '\0') {
        *why = "alg"; /* an unsigned token */
        return -EACCES;
    }
    size_t hlen = 0;
    char *hdr = b64url_decode(token, (size_t)(dot1 - token), &hlen);
    if (hdr == NULL) {
        *why = "malformed";
        return -EACCES;
    }
    json_error_t jerr;
    json_t *j = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &jerr);
    free(hdr);
    int rc = 0;
    const char *alg = j ? json_string_value(json_object_get(j, "alg")) : NULL;
    if (j == NULL || !json_is_object(j)) {
        *why = "malformed";
        rc = -EACCES;
    } else if (alg == NULL || strcmp(alg, auth_jwt_alg_name(pinned)) != 0) {
        *why = "alg";
        rc = -EACCES;
    } else if (json_object_get(j, "crit") != NULL) {
        *why = "malformed"; /* extensions we do not understand */
        rc = -EACCES;
    }
    json_decref(j);
    return rc;
}

/* libjwt parses the payload keeping the last of duplicated claims
 * ("scope":"none","scope":"pbx"): refuse any duplicated key instead. */
static bool payload_unique(const char *token)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = strchr(dot1 + 1, '.');
    size_t plen = 0;
    char *payload = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
    if (payload == NULL)
        return false;
    json_error_t jerr;
    json_t *j = json_loadb(payload, plen, JSON_REJECT_DUPLICATES, &jerr);
    bool ok = json_is_object(j);
    json_decref(j);
    free(payload);
    return ok;
}

static bool scope_has_pbx(jwt_t *jwt)
{
    bool found = false;
    char *raw = jwt_get_grants_json(jwt, "scope");
    if (raw == NULL)
        return false;
    json_error_t err;
    json_t *j = json_loads(raw, JSON_DECODE_ANY, &err);
    if (json_is_string(j)) {
        /* space-separated (RFC 8693 style) */
        const char *s = json_string_value(j);
        size_t n = strlen(s);
        for (size_t i = 0; i < n;) {
            size_t k = i;
            while (k < n && s[k] != ' ')
                k++;
            if (k - i == 3 && strncmp(s + i, "pbx", 3) == 0)
                found = true;
            i = k + 1;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (json_is_string(v) && strcmp(json_string_value(v), "pbx") == 0) found = true;
    }
    json_decref(j);
    free(raw);
    return found;
}

/* A numeric claim: -1 absent, -2 present but not an integer. */
static long num_claim(jwt_t *jwt, const char *name)
{
    char *raw = jwt_get_grants_json(jwt, name);
    if (raw == NULL)
        return -1;
    json_error_t err;
    json_t *j = json_loads(raw, JSON_DECODE_ANY, &err);
    long v = -2;
    if (json_is_integer(j)) {
        v = (long)json_integer_value(j);
    } else if (json_is_real(j)) {
        /* a cast of an out-of-range double is undefined: refuse those */
        double d = json_real_value(j);
        if (d >= 0 && d < 9.2e18)
            v = (long)d;
    }
    json_decref(j);
    free(raw);
    return v;
}

static bool str_claim(jwt_t *jwt, const char *name, char *dst, size_t cap)
{
    const char *v = jwt_get_grant(jwt, name);
    return v != NULL && *v != '\0' && w3_strlcpy(dst, v, cap);
}

int auth_jwt_verify(const auth_jwt_key_t *key, const char *token, time_t now, long leeway, auth_jwt_claims_t *claims,
                    const char **why)
{
    jwt_t *jwt = NULL;
    int rc = -EACCES;
    memset(claims, 0, sizeof(*claims));
    if (token == NULL || strlen(token) > 8192) {
        *why = "malformed";
        return -EACCES;
    }
    if (check_header(token, key->alg, why) != 0)
        return -EACCES;
    if (jwt_decode(&jwt, token, key->bytes, (int)key->len) != 0 || jwt == NULL) {
        *why = "signature";
        goto out;
    }
    if (!payload_unique(token)) {
        *why = "malformed";
        goto out;
    }
    if (jwt_get_alg(jwt) != to_libjwt(key->alg)) {
        *why = "alg";
        goto out;
    }
    long exp = num_claim(jwt, "exp"), nbf = num_claim(jwt, "nbf"), iat = num_claim(jwt, "iat");
    if (exp < 0) {
        *why = "missing_exp";
        goto out;
    }
    if (nbf == -2 || iat == -2) {
        *why = "malformed";
        goto out;
    }
    /* exp is the moment from which the token is refused (RFC 7519 §4.1.4) */
    if ((long)now - leeway >= exp) { /* written so a huge exp cannot overflow */
        *why = "expired";
        goto out;
    }
    if (nbf >= 0 && (long)now + leeway < nbf) {
        *why = "not_yet_valid";
        goto out;
    }
    if (iat >= 0 && (long)now + leeway < iat) {
        *why = "issued_in_future";
        goto out;
    }
    claims->exp = exp;
    if (!str_claim(jwt, "sub", claims->client_id, sizeof(claims->client_id)) &&
        !str_claim(jwt, "client_id", claims->client_id, sizeof(claims->client_id))) {
        *why = "missing_client";
        goto out;
    }
    claims->platform = scope_has_pbx(jwt);
    bool has_tenant = str_claim(jwt, "tenant_id", claims->tenant_id, sizeof(claims->tenant_id));
    bool has_domain = str_claim(jwt, "sip_domain", claims->sip_domain, sizeof(claims->sip_domain));
    if (!claims->platform && (!has_tenant || !has_domain)) {
        *why = "missing_tenant";
        goto out;
    }
    rc = 0;
out:
    jwt_free(jwt);
    return rc;
}

char *auth_jwt_mint(const auth_jwt_key_t *key, const auth_jwt_mint_req_t *req, const char **why)
{
    jwt_t *jwt = NULL;
    char *tok = NULL;
    if (jwt_new(&jwt) != 0)
        w3_oom(__FILE__, __LINE__);
    if (jwt_set_alg(jwt, to_libjwt(key->alg), key->bytes, (int)key->len) != 0) {
        *why = "key does not fit the algorithm";
        goto out;
    }
    jwt_add_grant_int(jwt, "iat", (long)req->now);
    jwt_add_grant_int(jwt, "exp", (long)req->now + req->ttl_s);
    if (req->nbf_offset_s)
        jwt_add_grant_int(jwt, "nbf", (long)req->now + req->nbf_offset_s);
    if (req->client_id)
        jwt_add_grant(jwt, "sub", req->client_id);
    if (req->tenant_id)
        jwt_add_grant(jwt, "tenant_id", req->tenant_id);
    if (req->sip_domain)
        jwt_add_grant(jwt, "sip_domain", req->sip_domain);
    if (req->scope)
        jwt_add_grant(jwt, "scope", req->scope);
    tok = jwt_encode_str(jwt);
    if (tok == NULL)
        *why = "signing failed";
out:
    jwt_free(jwt);
    return tok;
}
