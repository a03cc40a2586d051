/* Lock and pid files (lockfile.h). */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define RUN_DIR "/run/w3voipd"

static char *errf(const char *fmt, const char *a, const char *b)
{
    w3_buf_t buf = {0};
    w3_buf_printf(&buf, fmt, a, b);
    return buf.data;
}

/* true when path names the very file open on fd */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int lockfile_take(const char *path, bool write_pid, char **err)
{
    int fd = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
            int e = errno;
            *err = errf(e == ELOOP ? "cannot open lock file %s: it is a symbolic link (%s)"
                                   : "cannot open lock file %s: %s",
                        path, strerror(e));
            return -e;
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            *err = errf("lock file %s is not a regular file%s", path, "");
            close(fd);
            return -EINVAL;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            char pid[32] = "";
            ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
            if (n > 0)
                pid[strcspn(pid, "\n")] = '\0';
            *err = errf("another w3voipd (pid %s) already holds %s", pid[0] ? pid : "?", path);
            close(fd);
            return -EBUSY;
        }
        /* the holder we waited for may have removed it on exit */
        if (same_file(fd, path))
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        *err = errf("lock file %s keeps being replaced%s", path, "");
        return -EBUSY;
    }
    if (write_pid) {
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
            *err = errf("cannot write pid to %s: %s", path, strerror(errno));
            close(fd);
            return -EIO;
        }
    }
    return fd;
}

/* RUN_DIR as a real directory of root's, mode 0700; 0 or -errno. */
static int run_dir(char **err)
{
    if (mkdir(RUN_DIR, 0700) != 0 && errno != EEXIST) {
        *err = errf("cannot create %s: %s", RUN_DIR, strerror(errno));
        return -errno;
    }
    struct stat st;
    if (lstat(RUN_DIR, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0022) != 0) {
        *err = errf("%s is not a directory of root's that only root can write%s", RUN_DIR, "");
        return -EACCES;
    }
    return 0;
}

char *lockfile_port_path(const char *host, int port, const char *db_path, char **err)
{
    w3_buf_t b = {0};
    char *copy = NULL;
    const char *dir = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0) {
        if (run_dir(err) != 0)
            goto out;
        dir = RUN_DIR;
    } else if (dir == NULL || dir[0] != '/') {
        copy = xstrdup(db_path);
        dir = dirname(copy); /* next to the database */
    }
    w3_buf_printf(&b, "%s/w3voipd-%s-%d.lock", dir, host, port);
out:
    free(copy);
    return b.data;
}

void lockfile_release(int fd, const char *path)
{
    if (fd < 0)
        return;
    if (path && same_file(fd, path))
        unlink(path); /* still ours: the lock is held until close */
    close(fd);
}
