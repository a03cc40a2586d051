#include "secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SECRET_MAX 4096

static bool env_name_ok(const char *n)
{
    if (!((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || *n == '_'))
        return false;
    for (; *n; n++)
        if (!((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_'))
            return false;
    return true;
}

static int check_value(char *s, const char **why)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    if (n == 0) {
        *why = "secret is empty";
        return -EBADMSG;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            *why = "secret holds control characters";
            return -EBADMSG;
        }
    return 0;
}

int secret_resolve(const char *ref, char **secret, const char **why)
{
    int rc;
    char *val = NULL;
    *secret = NULL;
    if (strncmp(ref, "env:", 4) == 0) {
        if (!env_name_ok(ref + 4)) {
            *why = "bad environment variable name";
            return -EINVAL;
        }
        const char *v = getenv(ref + 4);
        if (v == NULL) {
            *why = "environment variable not set";
            return -ENOENT;
        }
        if (strlen(v) > SECRET_MAX) {
            *why = "secret too long";
            return -EBADMSG;
        }
        val = xstrdup(v);
    } else if (strncmp(ref, "file:", 5) == 0) {
        if (ref[5] != '/') {
            *why = "file: needs an absolute path";
            return -EINVAL;
        }
        size_t flen = 0;
        rc = w3_read_file(ref + 5, SECRET_MAX, &val, &flen);
        if (rc) {
            *why = rc == -ENOENT ? "secret file not found" : rc == -EFBIG ? "secret file too large"
                                                                          : "secret file unreadable";
            return rc == -EFBIG ? -EBADMSG : rc;
        }
        /* only the first line is the secret; a NUL in it would cut it short */
        char *nl = memchr(val, '\n', flen);
        size_t first = nl ? (size_t)(nl - val) : flen;
        if (memchr(val, '\0', first) != NULL) {
            *why = "secret holds control characters";
            secret_free(val);
            return -EBADMSG;
        }
        val[first] = '\0';
    } else if (strncmp(ref, "vault:", 6) == 0) {
        *why = "vault: references are not supported yet";
        return -ENOTSUP;
    } else {
        *why = "unknown secret_ref scheme (expected env: or file:)";
        return -EINVAL;
    }
    rc = check_value(val, why);
    if (rc) {
        secret_free(val);
        return rc;
    }
    *secret = val;
    return 0;
}

void secret_free(char *secret)
{
    if (secret == NULL)
        return;
    volatile char *p = secret;
    while (*p)
        *p++ = '\0';
    free(secret);
}
