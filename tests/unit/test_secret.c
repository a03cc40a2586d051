/* secret.h: resolution of a trunk's secret_ref (SPEC §2). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "secret.h"
#include "tap.h"

/* The scope of the tests below: any env: name, files of the test's folder. */
static secret_scope_t scope = {.dir = "/", .env_prefix = ""};

/* Resolves ref; checks rc, the secret (want NULL = must fail) and that a
 * failure always names its reason and returns no secret. */
static void expect(const char *ref, int want_rc, const char *want, const char *label)
{
    char *secret = (char *)"untouched";
    const char *why = NULL;
    int rc = secret_resolve(&scope, ref, &secret, &why);
    char l[600];
    snprintf(l, sizeof(l), "%s: rc", label);
    is_int(rc, want_rc, l);
    if (want_rc == 0) {
        snprintf(l, sizeof(l), "%s: secret", label);
        is_str(rc == 0 ? secret : NULL, want, l);
        if (rc == 0)
            secret_free(secret);
    } else {
        ok(why != NULL && *why != '\0', "%s: why is set (%s)", label, why ? why : "(null)");
        ok(secret == NULL, "%s: *secret is NULL on failure", label);
        if (rc == 0)
            secret_free(secret);
    }
}

/* Same, for failures whose exact errno the header leaves open. */
static void expect_fail(const char *ref, const char *label)
{
    char *secret = (char *)"untouched";
    const char *why = NULL;
    int rc = secret_resolve(&scope, ref, &secret, &why);
    ok(rc < 0, "%s: fails (rc %d)", label, rc);
    ok(why != NULL && *why != '\0', "%s: why is set (%s)", label, why ? why : "(null)");
    ok(secret == NULL, "%s: *secret is NULL on failure", label);
    if (rc == 0)
        secret_free(secret);
}

static bool link_ok(const char *from, const char *to)
{
    return link(from, to) == 0;
}

static char *write_bytes(const char *dir, const char *name, const char *data, size_t len)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        printf("# cannot write %s\n", path);
        exit(99);
    }
    return path;
}

static void test_env(void)
{
    setenv("W3_TEST_SECRET", "s3cr$$t&\"<>", 1);
    expect("env:W3_TEST_SECRET", 0, "s3cr$$t&\"<>", "env: set");
    setenv("w3_lower_9", "x", 1);
    expect("env:w3_lower_9", 0, "x", "env: lower case name with digits");
    setenv("_U", "under", 1);
    expect("env:_U", 0, "under", "env: name starting with _");
    setenv("W3_TEST_SECRET", "line\n", 1);
    expect("env:W3_TEST_SECRET", 0, "line", "env: trailing newline stripped");
    setenv("W3_TEST_SECRET", "crlf\r\n", 1);
    expect("env:W3_TEST_SECRET", 0, "crlf", "env: trailing CRLF stripped");

    unsetenv("W3_TEST_UNSET_SECRET");
    expect("env:W3_TEST_UNSET_SECRET", -ENOENT, NULL, "env: unset");
    setenv("W3_TEST_SECRET", "", 1);
    expect("env:W3_TEST_SECRET", -EBADMSG, NULL, "env: empty");
    setenv("W3_TEST_SECRET", "\n", 1);
    expect("env:W3_TEST_SECRET", -EBADMSG, NULL, "env: only a newline");
    setenv("W3_TEST_SECRET", "a\nb", 1);
    expect("env:W3_TEST_SECRET", -EBADMSG, NULL, "env: inner newline");
    setenv("W3_TEST_SECRET",
           "a\x01"
           "b",
           1);
    expect("env:W3_TEST_SECRET", -EBADMSG, NULL, "env: control character");

    char big[4098];
    memset(big, 'k', 4096);
    big[4096] = '\0';
    setenv("W3_TEST_SECRET", big, 1);
    expect("env:W3_TEST_SECRET", 0, big, "env: 4096 bytes accepted");
    big[4096] = 'k';
    big[4097] = '\0';
    setenv("W3_TEST_SECRET", big, 1);
    expect_fail("env:W3_TEST_SECRET", "env: 4097 bytes refused");
    unsetenv("W3_TEST_SECRET");

    expect("env:", -EINVAL, NULL, "env: empty name");
    expect("env:1ABC", -EINVAL, NULL, "env: name starting with a digit");
    expect("env:A-B", -EINVAL, NULL, "env: name with '-'");
    expect("env:A B", -EINVAL, NULL, "env: name with a space");
    expect("env:A=B", -EINVAL, NULL, "env: name with '='");
    expect("env:$HOME", -EINVAL, NULL, "env: name with '$'");
}

static void test_file(void)
{
    char *dir = h_tmpdir();
    scope.dir = dir;
    char ref[1200];
    char *p;

    p = h_write_file(dir, "first", "s3cret\nsecond line\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, 0, "s3cret", "file: first line only");
    free(p);

    p = h_write_file(dir, "crlf", "crlf-secret\r\nmore\r\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, 0, "crlf-secret", "file: CRLF line end stripped");
    free(p);

    p = h_write_file(dir, "nonl", "no newline at all");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, 0, "no newline at all", "file: without a trailing newline");
    free(p);

    p = h_write_file(dir, "special", "p@ss w0rd $${x} &<>\"'\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, 0, "p@ss w0rd $${x} &<>\"'", "file: printable specials kept verbatim");
    free(p);

    p = h_write_file(dir, "empty", "");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, -EBADMSG, NULL, "file: empty file");
    free(p);

    p = h_write_file(dir, "blankline", "\nsecond\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, -EBADMSG, NULL, "file: empty first line");
    free(p);

    p = h_write_file(dir, "ctl",
                     "ab\x01"
                     "cd\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, -EBADMSG, NULL, "file: control character \\x01");
    free(p);

    p = h_write_file(dir, "tab", "ab\tcd\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, -EBADMSG, NULL, "file: TAB");
    free(p);

    p = h_write_file(dir, "del",
                     "ab\x7f"
                     "cd\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, -EBADMSG, NULL, "file: DEL");
    free(p);

    p = h_write_file(dir, "esc", "ab\x1b[0m\n");
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, -EBADMSG, NULL, "file: ESC");
    free(p);

    /* NUL is a control character: the secret must not be silently cut at it */
    static const char nul[] = "abc\0def\n";
    p = write_bytes(dir, "nul", nul, sizeof(nul) - 1);
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect(ref, -EBADMSG, NULL, "file: NUL byte in the first line");
    free(p);

    char big[4097];
    memset(big, 'z', sizeof(big));
    p = write_bytes(dir, "max", big, 4096);
    snprintf(ref, sizeof(ref), "file:%s", p);
    char want[4097];
    memcpy(want, big, 4096);
    want[4096] = '\0';
    expect(ref, 0, want, "file: 4096 bytes accepted");
    free(p);

    p = write_bytes(dir, "big", big, 4097);
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect_fail(ref, "file: 4097 bytes refused");
    free(p);

    char *large = malloc(100000);
    memset(large, 'y', 100000);
    p = write_bytes(dir, "large", large, 100000);
    free(large);
    snprintf(ref, sizeof(ref), "file:%s", p);
    expect_fail(ref, "file: 100 kB refused");
    free(p);

    snprintf(ref, sizeof(ref), "file:%s/missing", dir);
    expect(ref, -ENOENT, NULL, "file: missing file");
    snprintf(ref, sizeof(ref), "file:%s", dir);
    expect_fail(ref, "file: a directory");

    expect("file:secret.txt", -EINVAL, NULL, "file: relative path");
    expect("file:./secret.txt", -EINVAL, NULL, "file: ./ relative path");
    expect("file:../etc/passwd", -EINVAL, NULL, "file: ../ relative path");
    expect("file:", -EINVAL, NULL, "file: empty path");
    expect("file:~/secret", -EINVAL, NULL, "file: ~ path");

    h_rmrf(dir);
    free(dir);
    scope.dir = "/";
}

/* issue 10, item 7: a ref may name any file or variable the daemon can read */
static void test_scope(void)
{
    char *base = h_tmpdir();
    char secrets[600], outside[700], ref[800], link[700];
    snprintf(secrets, sizeof(secrets), "%s/secrets", base);
    mkdir(secrets, 0700);
    char *in = write_bytes(secrets, "trunk1", "inside\n", 7);
    char *key = write_bytes(base, "jwt.key", "the-server-jwt-key-0123456789abcdef\n", 36);
    char *cred = write_bytes(secrets, "fs.cred", "fsnode:secret\n", 14);
    snprintf(outside, sizeof(outside), "%s/elsewhere", base);
    char *out = write_bytes(base, "elsewhere", "outside\n", 8);
    const char *forbidden[] = {key, cred, NULL};
    scope = (secret_scope_t){.dir = secrets, .env_prefix = "W3_TRUNK_", .forbidden = forbidden};

    snprintf(ref, sizeof(ref), "file:%s", in);
    expect(ref, 0, "inside", "scope: a file inside the secrets directory");
    snprintf(ref, sizeof(ref), "file:%s", out);
    expect(ref, -EPERM, NULL, "scope: a file outside the secrets directory");
    snprintf(ref, sizeof(ref), "file:%s", key);
    expect(ref, -EPERM, NULL, "scope: the JWT key (outside) is refused");
    snprintf(ref, sizeof(ref), "file:%s", cred);
    expect(ref, -EPERM, NULL, "scope: the credentials file, even inside the secrets directory");
    snprintf(link, sizeof(link), "%s/hardlink", secrets);
    if (link_ok(key, link)) {
        snprintf(ref, sizeof(ref), "file:%s", link);
        expect(ref, -EPERM, NULL, "scope: a hard link to the JWT key inside the directory (same inode)");
    }
    snprintf(link, sizeof(link), "%s/symlink", secrets);
    if (symlink(outside, link) == 0) {
        snprintf(ref, sizeof(ref), "file:%s", link);
        expect(ref, -EPERM, NULL, "scope: a symlink in the directory pointing outside it");
    }
    snprintf(ref, sizeof(ref), "file:%s/../elsewhere", secrets);
    expect(ref, -EPERM, NULL, "scope: a '..' component");
    snprintf(ref, sizeof(ref), "file:%s-evil/x", secrets);
    expect_fail(ref, "scope: a sibling directory sharing the prefix");

    setenv("W3_TRUNK_A", "from-env", 1);
    setenv("W3_FS_CREDENTIALS", "fsnode:secret", 1);
    expect("env:W3_TRUNK_A", 0, "from-env", "scope: env: with the prefix");
    expect("env:W3_FS_CREDENTIALS", -EPERM, NULL, "scope: env:W3_FS_CREDENTIALS (no prefix) refused");
    expect("env:HOME", -EPERM, NULL, "scope: env:HOME refused");
    unsetenv("W3_TRUNK_A");
    unsetenv("W3_FS_CREDENTIALS");

    scope = (secret_scope_t){.dir = "/nonexistent/w3voipd-secrets", .env_prefix = "W3_TRUNK_"};
    snprintf(ref, sizeof(ref), "file:%s", in);
    expect(ref, -ENOENT, NULL, "scope: a secrets directory that does not exist resolves nothing");
    scope = (secret_scope_t){.dir = "/", .env_prefix = ""};
    free(in);
    free(key);
    free(cred);
    free(out);
    h_rmrf(base);
    free(base);
}

static void test_schemes(void)
{
    expect("vault:secret/data/trunk", -ENOTSUP, NULL, "vault:");
    expect("vault:", -ENOTSUP, NULL, "vault: empty");
    expect("http://example/secret", -EINVAL, NULL, "unknown scheme http:");
    expect("", -EINVAL, NULL, "empty ref");
    expect("ENV:HOME", -EINVAL, NULL, "scheme is case-sensitive (ENV:)");
    expect("env", -EINVAL, NULL, "scheme without colon");
    expect("/etc/passwd", -EINVAL, NULL, "bare path");
    expect("plainsecret", -EINVAL, NULL, "a clear secret is not a ref");
    secret_free(NULL);
}

int main(void)
{
    test_env();
    test_file();
    test_scope();
    test_schemes();
    return tap_done();
}
