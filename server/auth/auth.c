#include "auth.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

struct auth {
    auth_jwt_key_t key;
    char *fs_user;
    char *fs_pass;
    long leeway;
};

auth_t *auth_create(const srv_config_t *c, char **err)
{
    auth_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    if (auth_jwt_key_load(c->jwt_key_path, false, &a->key, &why) != 0) {
        w3_buf_t b = {0};
        w3_buf_printf(&b, "cannot use --jwt-key %s: %s", c->jwt_key_path, why);
        *err = b.data;
        auth_destroy(a);
        return NULL;
    }
    if (c->fs_user) {
        a->fs_user = xstrdup(c->fs_user);
        a->fs_pass = xstrdup(c->fs_pass);
    }
    a->leeway = c->jwt_leeway_s;
    return a;
}

void auth_destroy(auth_t *a)
{
    if (a == NULL)
        return;
    auth_jwt_key_free(&a->key);
    free(a->fs_user);
    if (a->fs_pass)
        w3_free_secret(a->fs_pass, strlen(a->fs_pass));
    free(a);
}

const auth_jwt_key_t *auth_key(const auth_t *a)
{
    return &a->key;
}

/* "Basic <b64>" → user and password, decoded into stack[0..scap) when
 * they fit (a request's credentials: no allocation), else into a malloc'd
 * *heap. *used bytes of whichever holds them are for the caller to wipe
 * (the password follows a NUL). */
static int parse_basic(const char *h, char *stack, size_t scap, char **heap, size_t *used, const char **user,
                       const char **pass)
{
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    if (n == 0 || n > 8192 || n % 4 != 0)
        return -EINVAL;
    size_t cap = n / 4 * 3 + 1;
    unsigned char *out = (unsigned char *)stack;
    if (cap > scap)
        out = (unsigned char *)(*heap = xmalloc(cap));
    *used = cap;
    int len = EVP_DecodeBlock(out, (const unsigned char *)h, (int)n);
    if (len < 0)
        return -EINVAL;
    for (size_t i = n; i > 0 && h[i - 1] == '=' && len > 0; i--)
        len--;
    out[len] = '\0';
    if (memchr(out, '\0', (size_t)len) != NULL)
        return -EINVAL;
    char *colon = strchr((char *)out, ':');
    if (colon == NULL)
        return -EINVAL;
    *colon = '\0';
    *user = (char *)out;
    *pass = colon + 1;
    return 0;
}

int auth_fs(const auth_t *a, const char *header, char *client, size_t cap, const char **reason)
{
    char stack[1024], *heap = NULL;
    size_t used = 0;
    const char *user, *pass;
    int rc = -EACCES;
    client[0] = '\0';
    if (header == NULL) {
        *reason = "missing";
        return -EACCES;
    }
    if (strncasecmp(header, "Basic ", 6) != 0) {
        *reason = "scheme";
        return -EACCES;
    }
    if (parse_basic(header + 6, stack, sizeof(stack), &heap, &used, &user, &pass) != 0) {
        *reason = "malformed";
        goto out;
    }
    if (a->fs_user != NULL) {
        /* evaluate both comparisons: no early exit on the user name */
        bool u = w3_const_eq(user, strlen(user), a->fs_user, strlen(a->fs_user));
        bool p = w3_const_eq(pass, strlen(pass), a->fs_pass, strlen(a->fs_pass));
        if (u & p) {
            w3_strlcpy(client, user, cap);
            rc = 0;
            goto out;
        }
    }
    if (strchr(pass, '.') != NULL) {
        auth_jwt_claims_t claims;
        if (auth_jwt_verify(&a->key, pass, time(NULL), a->leeway, &claims, reason) == 0) {
            w3_strlcpy(client, claims.client_id, cap);
            if (!claims.platform) {
                *reason = "tenant_token";
                rc = -EPERM;
            } else {
                rc = 0;
            }
            goto out;
        }
        goto out;
    }
    *reason = "bad_credentials";
out:
    /* user and password, across the NUL at the colon */
    if (heap)
        w3_free_secret(heap, used);
    else
        explicit_bzero(stack, used < sizeof(stack) ? used : sizeof(stack));
    return rc;
}

int auth_api(const auth_t *a, const char *header, auth_jwt_claims_t *claims, const char **reason)
{
    if (header == NULL) {
        *reason = "missing";
        return -EACCES;
    }
    if (strncasecmp(header, "Bearer ", 7) != 0) {
        *reason = "scheme";
        return -EACCES;
    }
    const char *tok = header + 7;
    while (*tok == ' ')
        tok++;
    if (auth_jwt_verify(&a->key, tok, time(NULL), a->leeway, claims, reason) != 0)
        return -EACCES;
    return 0;
}
