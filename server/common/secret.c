#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Reads the file at the resolved path real (inside the scope) into *val. */
static int read_scoped(const secret_scope_t *scope, const char *real, char **val, size_t *len, const char **why)
{
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *why = errno == ENOENT ? "secret file not found" : "secret file unreadable";
        return errno == ENOENT ? -ENOENT : -EIO;
    }
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = "secret file is not a regular file";
        rc = -EIO;
        goto out;
    }
    for (const char *const *f = scope->forbidden; f && *f; f++) {
        struct stat fst;
        if (stat(*f, &fst) == 0 && fst.st_dev == st.st_dev && fst.st_ino == st.st_ino) {
            *why = "secret_ref names one of w3voipd's own key or credential files";
            rc = -EPERM;
            goto out;
        }
    }
    if (st.st_size > SECRET_MAX) {
        *why = "secret file too large";
        rc = -EBADMSG;
        goto out;
    }
    buf = xmalloc((size_t)st.st_size + 1);
    ssize_t n = read(fd, buf, (size_t)st.st_size);
    if (n < 0) {
        *why = "secret file unreadable";
        rc = -EIO;
        goto out;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    *val = buf;
    buf = NULL;
out:
    if (buf)
        secret_free(buf);
    close(fd);
    return rc;
}

/* The ref's path, resolved, when it lies inside the secrets directory. */
static int scoped_path(const secret_scope_t *scope, const char *path, char real[PATH_MAX], const char **why)
{
    if (path[0] != '/') {
        *why = "file: needs an absolute path";
        return -EINVAL;
    }
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) {
            *why = "file: path holds a '..' component";
            return -EPERM;
        }
    char dir[PATH_MAX];
    if (scope->dir == NULL || realpath(scope->dir, dir) == NULL) {
        *why = "the secrets directory (--secrets-dir) does not exist";
        return -ENOENT;
    }
    if (realpath(path, real) == NULL) {
        *why = errno == ENOENT ? "secret file not found" : "secret file unreadable";
        return errno == ENOENT ? -ENOENT : -EIO;
    }
    size_t n = strlen(dir);
    if (strncmp(real, dir, n) != 0 || (real[n] != '/' && !(n == 1 && dir[0] == '/'))) {
        *why = "file: path is outside the secrets directory (--secrets-dir)";
        return -EPERM;
    }
    return 0;
}

int secret_resolve(const secret_scope_t *scope, const char *ref, char **secret, const char **why)
{
    int rc;
    char *val = NULL;
    *secret = NULL;
    if (strncmp(ref, "env:", 4) == 0) {
        if (!env_name_ok(ref + 4)) {
            *why = "bad environment variable name";
            return -EINVAL;
        }
        const char *prefix = scope->env_prefix ? scope->env_prefix : "";
        if (strncmp(ref + 4, prefix, strlen(prefix)) != 0) {
            *why = "env: name lacks the trunk secret prefix (--secret-env-prefix)";
            return -EPERM;
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
        char real[PATH_MAX];
        size_t flen = 0;
        rc = scoped_path(scope, ref + 5, real, why);
        if (rc == 0)
            rc = read_scoped(scope, real, &val, &flen, why);
        if (rc)
            return rc;
        /* only the first line is the secret; a NUL in it would cut it short */
        char *nl = memchr(val, '\n', flen);
        size_t first = nl ? (size_t)(nl - val) : flen;
        if (memchr(val, '\0', first) != NULL) {
            *why = "secret holds control characters";
            secret_free(val);
            return -EBADMSG;
        }
        explicit_bzero(val + first, flen - first); /* only the first line is kept */
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
    explicit_bzero(secret, strlen(secret));
    free(secret);
}
