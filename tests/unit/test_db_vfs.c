/* db_vfs.c: the read-write connections gather WAL writes, and a commit is
 * in the WAL file, whole, by the time the commit returns, even with no
 * sync at all; other connections (default VFS) read every commit; spills,
 * rewritten frames and rollbacks keep the database intact. Overflow pages
 * never stay in the page cache (written with O_DIRECT where the file system
 * takes it, else dropped once a checkpoint's sync made them durable); b-tree
 * pages stay. Gathered direct writes read back, size and overlap like the
 * writes they stand for. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "internal/db_sqlite.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

static int last_frames;

static int hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)arg;
    (void)db;
    (void)name;
    last_frames = frames;
    return SQLITE_OK;
}

static void test_commits_reach_the_file(const char *dir)
{
    char path[512], wal[520];
    snprintf(path, sizeof(path), "%s/vfs.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    db_conn_t *c = NULL;
    char *err = NULL;
    if (!ok(db_conn_open(path, true, 5000, &c, &err) == 0, "open %s", err ? err : ""))
        return;
    sqlite3 *h = db_conn_sqlite(c);
    sqlite3_vfs *vfs = NULL;
    sqlite3_file_control(h, "main", SQLITE_FCNTL_VFS_POINTER, &vfs);
    is_str(vfs ? vfs->zName : NULL, DB_VFS_NAME, "the read-write connection uses the w3wal VFS");
    /* no sync: only the commit-frame rule can put a commit in the file;
     * no automatic checkpoint: the WAL keeps every frame */
    sqlite3_exec(h, "PRAGMA synchronous=OFF; CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB)", NULL, NULL, NULL);
    sqlite3_wal_hook(h, hook, NULL);

    sqlite3 *r = NULL;
    sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL); /* the default VFS */
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(h, "INSERT INTO t (i, b) VALUES (?1, randomblob(?2))", -1, &ins, NULL);
    /* 1 page, a few pages, and more than one buffer (128 KiB) in one commit */
    static const int sizes[] = {10, 5000, 12123, 70000, 300000, 40, 131072};
    int whole = 0, seen = 0;
    for (int i = 0; i < (int)W3_ARRAY_LEN(sizes); i++) {
        sqlite3_reset(ins);
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_int(ins, 2, sizes[i]);
        if (sqlite3_step(ins) != SQLITE_DONE)
            continue;
        whole += h_file_size(wal) == 32 + (long long)last_frames * (4096 + 24);
        char q[96];
        snprintf(q, sizeof(q), "SELECT length(b) FROM t WHERE i = %d", i);
        seen += h_handle_int(r, q) == sizes[i];
    }
    sqlite3_finalize(ins);
    is_int(whole, W3_ARRAY_LEN(sizes), "after every commit the WAL file holds all its frames (32 + frames x 4120)");
    is_int(seen, W3_ARRAY_LEN(sizes), "another connection reads every commit right after it");

    /* a transaction larger than the page cache: pages spill into the WAL,
     * are read back and written again before the commit */
    sqlite3_exec(h, "PRAGMA cache_size=4", NULL, NULL, NULL);
    int rc = sqlite3_exec(h,
                          "BEGIN; CREATE TABLE s (k INTEGER PRIMARY KEY, v TEXT);"
                          "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000) "
                          "INSERT INTO s SELECT x, printf('%0200d', x) FROM n;"
                          "UPDATE s SET v = printf('%0300d', k + 1);"
                          "COMMIT",
                          NULL, NULL, NULL);
    is_int(rc, SQLITE_OK, "a spilling transaction commits");
    is_int(h_handle_int(r, "SELECT count(*) FROM s WHERE v = printf('%0300d', k + 1)"), 3000,
           "another connection reads all of it, updated");
    is_int(h_file_size(wal), 32 + (long long)last_frames * (4096 + 24), "... and the WAL holds all its frames");

    rc = sqlite3_exec(h, "BEGIN; DELETE FROM s; INSERT INTO t (i, b) VALUES (99, zeroblob(90000)); ROLLBACK", NULL,
                      NULL, NULL);
    is_int(rc, SQLITE_OK, "a rolled-back transaction");
    is_int(h_handle_int(r, "SELECT count(*) FROM s"), 3000, "... changes nothing another connection sees");
    is_int(h_handle_int(r, "SELECT count(*) FROM t WHERE i = 99"), 0, "... not even its insert");
    sqlite3_close(r);
    db_conn_close(c);

    /* everything is in the database file after the close */
    r = NULL;
    sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL);
    char *ic = h_sql_text(path, "PRAGMA integrity_check");
    is_str(ic, "ok", "integrity_check after the close");
    free(ic);
    is_int(h_handle_int(r, "SELECT sum(length(b)) FROM t"), 10 + 5000 + 12123 + 70000 + 300000 + 40 + 131072,
           "every blob, whole");
    sqlite3_close(r);
}

/* A transaction that spilled frames and rolled back, then another
 * connection committing at the same WAL offsets: the spilled frames must not
 * reach the file after the write lock is released (they would overwrite the
 * other connection's committed frames). */
static void test_rollback_then_other_writer(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/rb.db", dir);
    db_conn_t *a = NULL, *b = NULL;
    char *err = NULL;
    if (!ok(db_conn_open(path, true, 5000, &a, &err) == 0 && db_conn_open(path, false, 5000, &b, &err) == 0,
            "two read-write connections"))
        return;
    sqlite3 *ha = db_conn_sqlite(a), *hb = db_conn_sqlite(b);
    sqlite3_exec(ha, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", NULL, NULL, NULL);
    sqlite3_wal_autocheckpoint(ha, 0);
    sqlite3_wal_autocheckpoint(hb, 0);
    sqlite3_exec(ha, "PRAGMA cache_size=4", NULL, NULL, NULL);
    int rc = sqlite3_exec(ha,
                          "BEGIN; WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 60) "
                          "INSERT INTO t SELECT x, printf('%0500d', x) FROM n; ROLLBACK",
                          NULL, NULL, NULL);
    is_int(rc, SQLITE_OK, "a spilling transaction rolled back");
    rc = sqlite3_exec(hb,
                      "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000) "
                      "INSERT INTO t SELECT x, printf('b%0200d', x) FROM n",
                      NULL, NULL, NULL);
    is_int(rc, SQLITE_OK, "the other connection commits after it");
    db_conn_close(a); /* not the last connection: no checkpoint */
    char *n = h_sql_text(path, "SELECT count(*) || ' ' || sum(v = printf('b%0200d', k)) FROM t");
    is_str(n, "3000 3000", "the other connection's rows are intact, read by a third connection");
    free(n);
    char *ic = h_sql_text(path, "PRAGMA integrity_check");
    is_str(ic, "ok", "integrity_check");
    free(ic);
    db_conn_close(b);
    n = h_sql_text(path, "SELECT count(*) FROM t WHERE v = printf('b%0200d', k)");
    is_str(n, "3000", "after the last close too");
    free(n);
}

/* psow=0 (no powersafe overwrite): SQLite pads each commit with frames split
 * around a sync; the VFS writes such a WAL straight through. */
static void test_no_powersafe_overwrite(const char *dir)
{
    char uri[600], path[512], wal[520];
    snprintf(path, sizeof(path), "%s/psow.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(uri, sizeof(uri), "file:%s?psow=0", path);
    db_conn_t *c = NULL;
    char *err = NULL;
    if (!ok(db_conn_open(uri, true, 5000, &c, &err) == 0, "open %s %s", uri, err ? err : ""))
        return;
    sqlite3 *h = db_conn_sqlite(c);
    sqlite3_wal_hook(h, hook, NULL); /* synchronous=FULL: padded commits */
    int rc = sqlite3_exec(h,
                          "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);"
                          "INSERT INTO t VALUES (1, printf('%05000d', 1));"
                          "INSERT INTO t VALUES (2, printf('%020000d', 2))",
                          NULL, NULL, NULL);
    is_int(rc, SQLITE_OK, "commits on a psow=0 database");
    is_int(h_file_size(wal), 32 + (long long)last_frames * (4096 + 24), "the WAL holds every frame, padding included");
    is_int(h_sql_int(path, "SELECT sum(length(v)) FROM t"), 25000, "another connection reads both rows whole");
    db_conn_close(c);
    char *ic = h_sql_text(path, "PRAGMA integrity_check");
    is_str(ic, "ok", "integrity_check after the close");
    free(ic);
}

typedef struct {
    int overflow, overflow_cached, btree, btree_cached;
} residency_t;

/* Which pages of the file are in the page cache (mincore on a mapping,
 * which faults nothing in): one byte per system page, bit 0 set for a
 * cached one; NULL for an empty or unreadable file. */
static unsigned char *page_cache(const char *path, long long *size)
{
    unsigned char *vec = NULL;
    int fd = open(path, O_RDONLY);
    *size = h_file_size(path);
    if (fd < 0 || *size <= 0)
        goto out;
    long psz = sysconf(_SC_PAGESIZE);
    vec = calloc((size_t)((*size + psz - 1) / psz), 1);
    void *m = mmap(NULL, (size_t)*size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED || mincore(m, (size_t)*size, vec) != 0) {
        free(vec);
        vec = NULL;
    }
    if (m != MAP_FAILED)
        munmap(m, (size_t)*size);
out:
    if (fd >= 0)
        close(fd);
    return vec;
}

/* The page cache's view of the file, then what each page is (read
 * afterwards). */
static residency_t residency(const char *path)
{
    residency_t r = {0};
    long long size;
    unsigned char *vec = page_cache(path, &size);
    int fd = open(path, O_RDONLY);
    long psz = sysconf(_SC_PAGESIZE);
    unsigned char first;
    /* SQLite pages of 4096 bytes, as large as the system's here */
    for (long long off = 4096; vec && fd >= 0 && off + 4096 <= size && pread(fd, &first, 1, off) == 1; off += 4096) {
        bool cached = vec[off / psz] & 1;
        if (first == 0) {
            r.overflow++;
            r.overflow_cached += cached;
        } else if (first == 2 || first == 5 || first == 10 || first == 13) {
            r.btree++;
            r.btree_cached += cached;
        }
    }
    if (fd >= 0)
        close(fd);
    free(vec);
    return r;
}

/* 40 rows of 12 KB (overflow pages each, as a CDR's meta_json),
 * checkpointed: through w3wal (vfs true) or the default VFS. */
static residency_t write_and_checkpoint(const char *path, bool w3wal)
{
    const char *vfs = w3wal ? "w3wal" : "default VFS";
    db_conn_t *c = NULL;
    sqlite3 *h = NULL;
    char *err = NULL;
    if (w3wal) {
        if (!ok(db_conn_open(path, true, 5000, &c, &err) == 0, "open %s", err ? err : ""))
            return (residency_t){0};
        h = db_conn_sqlite(c);
    } else {
        sqlite3_open(path, &h);
        sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL);
    }
    sqlite3_exec(h,
                 "CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                 "SELECT i + 1 FROM n WHERE i < 40) INSERT INTO t SELECT i, randomblob(12000) FROM n",
                 NULL, NULL, NULL);
    ok(sqlite3_wal_checkpoint_v2(h, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK,
       "%s: the checkpoint succeeds", vfs);
    residency_t r = residency(path);
    long long whole = h_sql_int(path, "SELECT count(*) FROM t WHERE length(b) = 12000");
    ok(whole == 40, "%s: every row reads back whole after the checkpoint (%lld of 40)", vfs, whole);
    if (c)
        db_conn_close(c);
    else
        sqlite3_close(h);
    return r;
}

/* A database file and its WAL and shared-memory files. */
static void remove_db(const char *path)
{
    const char *sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < W3_ARRAY_LEN(sfx); i++) {
        char f[640];
        snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
        unlink(f);
    }
}

/* tmpfs keeps every page in memory whatever is asked: the build directory
 * (a disk) then. */
static void disk_dir(const char *dir, char *base, size_t n)
{
    struct statfs fs;
    snprintf(base, n, "%s", dir);
    if (statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC && getcwd(base, n - 64) != NULL)
        tap_diag("the test directory is on tmpfs: the files go to the current directory");
}

/* Whether the file system of dir takes an aligned O_DIRECT write. */
static bool takes_direct(const char *dir)
{
    char path[640];
    snprintf(path, sizeof(path), "%s/w3vfs-direct-probe", dir);
    void *buf = NULL;
    bool yes = false;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
    if (fd >= 0 && posix_memalign(&buf, 4096, 4096) == 0) {
        memset(buf, 0, 4096);
        yes = pwrite(fd, buf, 4096, 0) == 4096;
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    unlink(path);
    return yes;
}

static bool cached_at(const char *path, long long off)
{
    long long size;
    unsigned char *vec = page_cache(path, &size);
    bool cached = vec && off + 4096 <= size && (vec[off / sysconf(_SC_PAGESIZE)] & 1);
    free(vec);
    return cached;
}

/* The database file's methods, called the way a checkpoint calls them: cold
 * pages (first byte 0) wait in the aligned buffer, yet every read, size and
 * overlapping write sees them; the sync puts them in the file, out of the
 * page cache when the file system takes O_DIRECT. */
static void test_direct_writes_read_back(const char *dir)
{
    char base[512], path[600];
    disk_dir(dir, base, sizeof(base));
    snprintf(path, sizeof(path), "%s/w3vfs-direct.db", base);
    bool direct = takes_direct(base);
    db_conn_t *c = NULL;
    char *err = NULL;
    if (!ok(db_conn_open(path, true, 5000, &c, &err) == 0, "open %s", err ? err : ""))
        return;
    sqlite3 *h = db_conn_sqlite(c);
    sqlite3_exec(h, "PRAGMA page_size=4096; CREATE TABLE t (i INTEGER PRIMARY KEY); PRAGMA wal_checkpoint", NULL, NULL,
                 NULL);
    sqlite3_file *f = NULL;
    sqlite3_file_control(h, "main", SQLITE_FCNTL_FILE_POINTER, &f);
    if (!ok(f != NULL, "the database file's handle"))
        goto out;
    const sqlite3_io_methods *m = f->pMethods;
    sqlite3_int64 end = 0;
    m->xFileSize(f, &end);
    ok(end > 0 && end % 4096 == 0, "the file is whole pages (%lld bytes)", (long long)end);
    long long writes0, fallbacks0, writes1, fallbacks1;
    db_vfs_direct_counts(&writes0, &fallbacks0);

    static unsigned char a[4096], b[4096], hot[4096], got[4096];
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    memset(hot, 'h', sizeof(hot));
    a[0] = b[0] = 0; /* overflow pages */
    hot[0] = 13;     /* a table leaf */
    is_int(m->xWrite(f, a, 4096, end), SQLITE_OK, "a cold page past the end is taken");
    is_int(m->xWrite(f, b, 4096, end + 4096), SQLITE_OK, "the next one joins it");
    db_vfs_direct_counts(&writes1, &fallbacks1);
    is_int((int)(writes1 - writes0), 0, "neither is written yet: they wait, gathered");
    sqlite3_int64 size = 0;
    m->xFileSize(f, &size);
    is_int((int)(size - end), 2 * 4096, "the size counts both pages");
    memset(got, 0, sizeof(got));
    ok(m->xRead(f, got, 4096, end) == SQLITE_OK && memcmp(got, a, 4096) == 0, "the first reads back");
    is_int(m->xWrite(f, b, 4096, end + 2 * 4096), SQLITE_OK, "a third cold page");
    is_int(m->xWrite(f, hot, 4096, end + 2 * 4096), SQLITE_OK, "then a b-tree page at the same offset");
    is_int(m->xSync(f, SQLITE_SYNC_NORMAL), SQLITE_OK, "the sync succeeds");
    /* two more, never read back (the read above has the kernel read ahead
     * past the first ones), written by the sync alone */
    ok(m->xWrite(f, a, 4096, end + 3 * 4096) == SQLITE_OK && m->xWrite(f, b, 4096, end + 4 * 4096) == SQLITE_OK &&
           m->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK,
       "two more cold pages, then a sync");
    db_vfs_direct_counts(&writes1, &fallbacks1);
    if (direct) {
        ok(writes1 - writes0 == 3 && fallbacks1 == fallbacks0, "three direct writes, no fallback (%lld, %lld)",
           writes1 - writes0, fallbacks1 - fallbacks0);
        ok(!cached_at(path, end + 3 * 4096) && !cached_at(path, end + 4 * 4096),
           "the pages the sync wrote directly are not in the page cache");
    } else {
        tap_diag("the file system refuses O_DIRECT: buffered writes");
        ok(fallbacks1 > fallbacks0, "the refused direct write fell back to a buffered one");
    }
    ok(cached_at(path, end + 2 * 4096), "the b-tree page is");
    int fd = open(path, O_RDONLY);
    unsigned char disk[5 * 4096];
    ok(fd >= 0 && pread(fd, disk, sizeof(disk), (off_t)end) == (ssize_t)sizeof(disk), "the file holds all five");
    ok(memcmp(disk, a, 4096) == 0 && memcmp(disk + 4096, b, 4096) == 0, "both cold pages, as written");
    ok(memcmp(disk + 2 * 4096, hot, 4096) == 0, "the later write wins where they overlap");
    ok(memcmp(disk + 3 * 4096, a, 4096) == 0 && memcmp(disk + 4 * 4096, b, 4096) == 0, "and the last two");
    if (fd >= 0)
        close(fd);
    m->xTruncate(f, end); /* the database as SQLite left it */
out:
    db_conn_close(c);
    remove_db(path);
}

/* Failures the file system can give, injected under the direct writes only
 * (this test is linked with --wrap=fcntl64,--wrap=pwrite64: SQLite's own
 * calls, inside libsqlite3, are not wrapped). */
enum { FAULT_NONE, FAULT_NO_DIRECT, FAULT_DIRECT_EIO };
static int fault;
int __real_fcntl64(int fd, int cmd, ...);
ssize_t __real_pwrite64(int fd, const void *buf, size_t n, off_t off);
int __wrap_fcntl64(int fd, int cmd, ...);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t off);

int __wrap_fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (fault == FAULT_NO_DIRECT && cmd == F_SETFL && ((long)arg & O_DIRECT)) {
        errno = EINVAL; /* as a file system without O_DIRECT */
        return -1;
    }
    return __real_fcntl64(fd, cmd, arg);
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    if (fault == FAULT_DIRECT_EIO && (__real_fcntl64(fd, F_GETFL) & O_DIRECT)) {
        errno = EIO;
        return -1;
    }
    return __real_pwrite64(fd, buf, n, off);
}

/* Rows whose blob is known from its id, of len bytes, and the last of
 * exactly 32 overflow pages: a full buffer of direct writes. */
#define ROW_BLOB "substr(replace(hex(zeroblob(?2)), '00', printf('%02x', ?1 % 251)), 1, ?2)"
static const char *const rows_ok_sql = "SELECT count(*) FROM t WHERE b = substr(replace(hex(zeroblob(length(b))), "
                                       "'00', printf('%02x', i % 251)), 1, length(b))";

static void insert_rows(sqlite3 *h, int from, int to, int len)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(h, "INSERT INTO t (i, b) VALUES (?1, " ROW_BLOB ")", -1, &st, NULL);
    sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
    for (int i = from; i <= to; i++) {
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_int(st, 2, i == to ? 131429 : len);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
}

/* A checkpoint whose direct writes fail copies its pages all the same:
 * a partial one (a reader holds the WAL back), which SQLite publishes
 * without a sync right after SQLITE_FCNTL_CKPT_DONE, with one full buffer
 * of cold pages still to write then (rows 1-20 have none), and a full one
 * (rows of 12 KB). */
static void test_failed_direct_writes(const char *dir, int mode, const char *what)
{
    char base[512], path[600];
    disk_dir(dir, base, sizeof(base));
    snprintf(path, sizeof(path), "%s/w3vfs-fault-%d.db", base, mode);
    db_conn_t *c = NULL;
    char *err = NULL;
    if (!ok(db_conn_open(path, true, 5000, &c, &err) == 0, "open %s", err ? err : ""))
        return;
    sqlite3 *h = db_conn_sqlite(c);
    sqlite3_exec(h, "CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)", NULL, NULL, NULL);
    insert_rows(h, 1, 21, 100);
    sqlite3 *r = NULL; /* the default VFS, holding the snapshot of rows 1-21 */
    sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL);
    sqlite3_exec(r, "BEGIN; SELECT count(*) FROM t", NULL, NULL, NULL);
    insert_rows(h, 22, 42, 12000);
    long long w0, f0, w1, f1;
    db_vfs_direct_counts(&w0, &f0);
    fault = mode;
    int log = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(h, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    fault = FAULT_NONE;
    db_vfs_direct_counts(&w1, &f1);
    ok(rc == SQLITE_OK && copied > 0 && copied < log, "%s: a partial checkpoint succeeds (%d of %d frames)", what,
       copied, log);
    ok(f1 > f0 && w1 == w0, "%s: every direct write fell back to a buffered one (%lld)", what, f1 - f0);
    sqlite3_exec(r, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(r);
    /* a new reader reads the copied pages from the database file */
    long long n = h_sql_int(path, rows_ok_sql);
    ok(n == 42, "%s: all 42 rows read back as written (%lld)", what, n);
    fault = mode;
    rc = sqlite3_wal_checkpoint_v2(h, "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
    fault = FAULT_NONE;
    ok(rc == SQLITE_OK, "%s: the full checkpoint succeeds (%d)", what, rc);
    db_conn_close(c);
    n = h_sql_int(path, rows_ok_sql);
    ok(n == 42, "%s: and from the file alone, after it (%lld)", what, n);
    char *ic = h_sql_text(path, "PRAGMA integrity_check");
    ok(ic && strcmp(ic, "ok") == 0, "%s: integrity_check says %s", what, ic ? ic : "nothing");
    free(ic);
    remove_db(path);
}

static void test_cold_pages_leave_the_cache(const char *dir)
{
    char base[512];
    disk_dir(dir, base, sizeof(base));
    char ours[600], plain[600];
    snprintf(ours, sizeof(ours), "%s/w3vfs-cold-ours.db", base);
    snprintf(plain, sizeof(plain), "%s/w3vfs-cold-plain.db", base);
    long long writes0, fallbacks0, writes1, fallbacks1;
    db_vfs_direct_counts(&writes0, &fallbacks0);
    residency_t o = write_and_checkpoint(ours, true);
    db_vfs_direct_counts(&writes1, &fallbacks1);
    if (takes_direct(base))
        ok(writes1 - writes0 >= 3 && fallbacks1 == fallbacks0,
           "w3wal: the checkpoint wrote the overflow pages directly, gathered (%lld writes for 40 rows)",
           writes1 - writes0);
    residency_t p = write_and_checkpoint(plain, false);
    ok(o.overflow >= 40 * 2, "w3wal: the file holds the rows' overflow pages (%d)", o.overflow);
    is_int(o.overflow_cached, 0, "w3wal: none of them is left in the page cache after the checkpoint");
    ok(o.btree >= 1 && o.btree_cached == o.btree, "w3wal: every b-tree page stays cached (%d of %d)", o.btree_cached,
       o.btree);
    /* the kernel alone keeps what was just written: the difference is ours */
    ok(p.overflow >= 40 * 2 && p.overflow_cached == p.overflow, "default VFS: its %d overflow pages stay cached (%d)",
       p.overflow, p.overflow_cached);
    remove_db(ours);
    remove_db(plain);
}

int main(void)
{
    char *dir = h_tmpdir();
    test_commits_reach_the_file(dir);
    test_rollback_then_other_writer(dir);
    test_no_powersafe_overwrite(dir);
    test_cold_pages_leave_the_cache(dir);
    test_direct_writes_read_back(dir);
    test_failed_direct_writes(dir, FAULT_NO_DIRECT, "O_DIRECT refused");
    test_failed_direct_writes(dir, FAULT_DIRECT_EIO, "direct write fails");
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
