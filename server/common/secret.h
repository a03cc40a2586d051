/* Resolution of a trunk's secret_ref (SPEC §2): "env:NAME" reads the
 * environment of w3voipd, "file:/abs/path" reads a file (first line, without
 * the trailing newline, at most 4 KiB). "vault:" is reserved and not resolved
 * yet. The secret is returned in a malloc'd string the caller frees with
 * secret_free() (which wipes it). Never log the secret, only the ref.
 *
 * A ref has a scope, because whoever writes a trunk row chooses it and the
 * secret is then sent to the proxy that row names: file: only inside the
 * secrets directory (after realpath: no "..", no symlink out of it), env:
 * only names with the configured prefix, and never the server's own key or
 * credential files (compared by device and inode). */
#ifndef W3_SECRET_H
#define W3_SECRET_H

typedef struct secret_scope {
    const char *dir;              /* file: refs resolve inside it */
    const char *env_prefix;       /* env: names start with it */
    const char *const *forbidden; /* NULL-terminated paths never served, may be NULL */
} secret_scope_t;

#define SECRET_DEFAULT_DIR "/etc/w3voipd/secrets"
#define SECRET_DEFAULT_ENV_PREFIX "W3_TRUNK_"

/* 0, or -EINVAL (malformed ref), -EPERM (outside its scope), -ENOENT (unset
 * variable / missing file), -ENOTSUP (vault:), -EIO/-errno (unreadable),
 * -EBADMSG (empty or holds control characters). *why names the problem
 * (static string). */
int secret_resolve(const secret_scope_t *scope, const char *ref, char **secret, const char **why);
void secret_free(char *secret);

#endif
