/* Resolution of a trunk's secret_ref (SPEC §2): "env:NAME" reads the
 * environment of w3voipd, "file:/abs/path" reads a file (first line, without
 * the trailing newline, at most 4 KiB). "vault:" is reserved and not resolved
 * yet. The secret is returned in a malloc'd string the caller frees (and
 * should wipe with secret_free()). Never log the secret, only the ref. */
#ifndef W3_SECRET_H
#define W3_SECRET_H

/* 0, or -EINVAL (malformed ref), -ENOENT (unset variable / missing file),
 * -ENOTSUP (vault:), -EIO/-errno (unreadable), -EBADMSG (empty or holds
 * control characters). *why names the problem (static string). */
int secret_resolve(const char *ref, char **secret, const char **why);
void secret_free(char *secret);

#endif
