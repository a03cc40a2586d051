/* auth.h in-process: the return convention of auth_fs() and auth_api():
 * 0, -EACCES (no or bad credentials: the HTTP layer answers 401) or -EPERM
 * (a valid tenant token on /fs: 403), with the reason code for metrics. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef"

/* "Basic " + base64(user:pass), malloc'd. */
static char *basic(const char *user_pass)
{
    size_t n = strlen(user_pass);
    char *out = malloc(6 + (n + 2) / 3 * 4 + 1);
    memcpy(out, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)user_pass, (int)n);
    return out;
}

static char *mint(const auth_jwt_key_t *key, const char *tenant, const char *client, const char *scope)
{
    auth_jwt_mint_req_t req = {.tenant_id = tenant,
                               .sip_domain = tenant ? "tenantA.edvoip.it" : NULL,
                               .client_id = client,
                               .scope = scope,
                               .ttl_s = 300,
                               .now = time(NULL)};
    const char *why = NULL;
    char *tok = auth_jwt_mint(key, &req, &why);
    if (tok == NULL)
        printf("# mint: %s\n", why ? why : "?");
    return tok;
}

/* auth_fs on header: rc, reason and client compared. */
static void check_fs(const auth_t *a, const char *header, int want_rc, const char *want_reason, const char *want_client,
                     const char *label)
{
    char client[129] = "junk";
    const char *reason = "unset";
    int rc = auth_fs(a, header, client, sizeof(client), &reason);
    char name[256];
    snprintf(name, sizeof(name), "auth_fs: %s → %d", label, want_rc);
    is_int(rc, want_rc, name);
    if (want_reason) {
        snprintf(name, sizeof(name), "auth_fs: %s: reason %s", label, want_reason);
        is_str(reason, want_reason, name);
    }
    if (want_client) {
        snprintf(name, sizeof(name), "auth_fs: %s: client %s", label, want_client);
        is_str(client, want_client, name);
    }
}

int main(void)
{
    char *dir = h_tmpdir();
    char *key_path = h_write_file(dir, "jwt.key", SECRET);
    srv_config_t cfg;
    srv_config_defaults(&cfg);
    cfg.jwt_key_path = strdup(key_path);
    cfg.fs_user = strdup("fsnode");
    cfg.fs_pass = strdup("secret");
    char *err = NULL;
    auth_t *a = auth_create(&cfg, &err);
    if (!ok(a != NULL, "auth_create (%s)", err ? err : "ok")) {
        free(err);
        return tap_done();
    }
    auth_jwt_key_t key;
    const char *why = NULL;
    ok(auth_jwt_key_load(key_path, true, &key, &why) == 0, "the HS256 secret loads for minting");

    check_fs(a, NULL, -EACCES, "missing", "", "no Authorization");
    check_fs(a, "Bearer abc.def.ghi", -EACCES, "scheme", "", "a Bearer header");
    check_fs(a, "Basic !!!", -EACCES, "malformed", "", "Basic that is not base64");
    char *h = basic("fsnode:secret");
    check_fs(a, h, 0, NULL, "fsnode", "the static credentials");
    free(h);
    h = basic("fsnode:wrong");
    check_fs(a, h, -EACCES, "bad_credentials", NULL, "a wrong password");
    free(h);
    /* credentials longer than the stack buffer they are decoded into */
    char long_up[3000];
    memcpy(long_up, "fsnode:", 7);
    memset(long_up + 7, 'x', sizeof(long_up) - 8);
    long_up[sizeof(long_up) - 1] = '\0';
    h = basic(long_up);
    check_fs(a, h, -EACCES, "bad_credentials", NULL, "a 3,000-byte user:password (decoded on the heap)");
    free(h);
    h = basic("fsnode:secret");
    check_fs(a, h, 0, NULL, "fsnode", "the static credentials again after a long one");
    free(h);
    char *platform = mint(&key, NULL, "pbx-node-1", "pbx");
    char *tenant = mint(&key, "a0000000-0000-4000-8000-00000000000a", "crm", NULL);
    ok(platform && tenant, "a platform and a tenant token minted");
    w3_buf_t up = {0};
    w3_buf_printf(&up, "pbx:%s", platform ? platform : "");
    h = basic(up.data);
    check_fs(a, h, 0, NULL, "pbx-node-1", "Basic with a platform token");
    free(h);
    w3_buf_free(&up);
    w3_buf_printf(&up, "crm:%s", tenant ? tenant : "");
    h = basic(up.data);
    check_fs(a, h, -EPERM, "tenant_token", NULL, "Basic with a tenant token");
    free(h);
    w3_buf_free(&up);
    h = basic("x:not.a.token");
    check_fs(a, h, -EACCES, "malformed", NULL, "Basic with a password that looks like a broken token");
    free(h);

    auth_jwt_claims_t claims;
    const char *reason = NULL;
    is_int(auth_api(a, NULL, &claims, &reason), -EACCES, "auth_api: no Authorization → -EACCES");
    is_str(reason, "missing", "auth_api: reason missing");
    is_int(auth_api(a, "Basic Zm9vOmJhcg==", &claims, &reason), -EACCES, "auth_api: Basic → -EACCES");
    is_str(reason, "scheme", "auth_api: reason scheme");
    is_int(auth_api(a, "Bearer not.a.token", &claims, &reason), -EACCES, "auth_api: a broken token → -EACCES");
    w3_buf_printf(&up, "Bearer %s", tenant ? tenant : "");
    is_int(auth_api(a, up.data, &claims, &reason), 0, "auth_api: a valid tenant token → 0");
    is_str(claims.tenant_id, "a0000000-0000-4000-8000-00000000000a", "auth_api: the token's tenant");
    w3_buf_free(&up);

    free(platform);
    free(tenant);
    auth_jwt_key_free(&key);
    auth_destroy(a);
    srv_config_free(&cfg);
    h_rmrf(dir);
    free(key_path);
    free(dir);
    return tap_done();
}
