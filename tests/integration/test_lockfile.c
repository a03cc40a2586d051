/* Lock and pid files: an explicit --pidfile is used where it points (0600,
 * the pid, removed on exit); the port lock is in /run/w3voipd (0700) for
 * root, never /tmp; a symbolic link planted at either path makes w3voipd
 * refuse to start without touching the file it points to. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

static char *slurp(const char *path)
{
    char *d = NULL;
    return w3_read_file(path, 1 << 16, &d, NULL) == 0 ? d : NULL;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* true when one of pid's descriptors is a file directly in /tmp (other
 * builds may leave stale /tmp locks around, so look at what it holds) */
static bool holds_tmp_file(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    bool found = false;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[512], target[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, "/tmp/", 5) == 0 && strchr(target + 5, '/') == NULL)
            found = true;
    }
    if (d)
        closedir(d);
    return found;
}

static void explicit_pidfile(void)
{
    char *dir = h_tmpdir();
    w3_buf_t pidfile = {0};
    w3_buf_printf(&pidfile, "%s/run/custom.pid", dir);
    w3_buf_t sub = {0};
    w3_buf_printf(&sub, "%s/run", dir);
    mkdir(sub.data, 0700);
    const char *extra[] = {"--pidfile", pidfile.data, NULL};
    h_server_t s;
    if (!ok(h_server_start(&s, NULL, extra) == 0, "server with --pidfile %s", pidfile.data))
        goto out;
    struct stat st;
    ok(stat(pidfile.data, &st) == 0 && (st.st_mode & 0777) == 0600, "the pid file is where --pidfile says, mode 0600");
    char *pid = slurp(pidfile.data);
    is_int(pid ? atol(pid) : -1, s.pid, "it holds the server's pid");
    free(pid);
    w3_buf_t dflt = {0};
    w3_buf_printf(&dflt, "%s.pid", s.db);
    ok(access(dflt.data, F_OK) != 0, "no default DB.pid beside it");
    w3_buf_free(&dflt);

    w3_buf_t lock = {0};
    w3_buf_printf(&lock, "/run/w3voipd/w3voipd-127.0.0.1-%d.lock", s.port);
    w3_buf_t tmp = {0};
    w3_buf_printf(&tmp, "/tmp/w3voipd-127.0.0.1-%d.lock", s.port);
    if (geteuid() == 0) {
        ok(lstat(lock.data, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
           "the port lock is %s, a regular file of mode 0600", lock.data);
        ok(lstat("/run/w3voipd", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
           "in /run/w3voipd, mode 0700");
        pid = slurp(lock.data);
        is_int(pid ? atol(pid) : -1, s.pid, "the port lock holds the pid");
        free(pid);
    } else {
        ok(1, "# skip not root: the port lock is in $XDG_RUNTIME_DIR or beside the database");
    }
    ok(!holds_tmp_file(s.pid), "the server holds no file in /tmp (another build's stale %s aside)", tmp.data);
    w3_buf_free(&tmp);
    is_int(h_server_stop(&s), 0, "stopped cleanly");
    ok(access(pidfile.data, F_OK) != 0, "the pid file is removed on exit");
    ok(geteuid() != 0 || access(lock.data, F_OK) != 0, "and so is the port lock");
    w3_buf_free(&lock);
out:
    w3_buf_free(&pidfile);
    w3_buf_free(&sub);
    h_rmrf(dir);
    free(dir);
}

/* A symlink at path to a victim: w3voipd refuses, the victim stays. */
static void planted_link(const char *what, const char *link_path, const char *const *argv, const char *dir)
{
    char *victim = h_write_file(dir, "victim", "precious\n");
    unlink(link_path);
    if (!ok(symlink(victim, link_path) == 0, "%s: a symbolic link planted at %s", what, link_path)) {
        free(victim);
        return;
    }
    char *err = NULL;
    int rc = h_server_expect_fail(argv, &err);
    ok(rc == 1, "%s: w3voipd refuses to start (exit %d, want 1)", what, rc);
    ok(err && strstr(err, "symbolic link") != NULL, "%s: it says why", what);
    if (err && !strstr(err, "symbolic link"))
        printf("# %s\n", err);
    char *v = slurp(victim);
    is_str(v, "precious\n", "the file the link points to is untouched");
    free(v);
    free(err);
    unlink(link_path);
    free(victim);
}

static void symlinks(void)
{
    char *dir = h_tmpdir();
    char *db = h_demo_db(dir, "w3.db");
    char *key = h_write_file(dir, "jwt.key", "0123456789abcdef0123456789abcdef0123456789");
    w3_buf_t pidfile = {0};
    w3_buf_printf(&pidfile, "%s.pid", db); /* the default pid file */
    const char *argv[] = {h_env("W3VOIPD"), "--db", db, "--jwt-key", key, "--listen", "127.0.0.1:0", NULL};
    planted_link("pid file", pidfile.data, argv, dir);

    if (geteuid() == 0) {
        int port = free_port();
        char listen[32];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        w3_buf_t lock = {0};
        w3_buf_printf(&lock, "/run/w3voipd/w3voipd-127.0.0.1-%d.lock", port);
        mkdir("/run/w3voipd", 0700);
        const char *argv_port[] = {h_env("W3VOIPD"), "--db", db, "--jwt-key", key, "--listen", listen, NULL};
        planted_link("port lock", lock.data, argv_port, dir);
        w3_buf_free(&lock);
    }
    w3_buf_free(&pidfile);
    free(db);
    free(key);
    h_rmrf(dir);
    free(dir);
}

int main(void)
{
    explicit_pidfile();
    symlinks();
    return tap_done();
}
