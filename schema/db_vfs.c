/* The "w3wal" VFS: the default VFS, except that writes to a WAL file are
 * gathered into one buffer and reach the kernel as one pwrite per commit.
 *
 * SQLite writes every WAL frame as two pwrites, its 24-byte header and then
 * its page; a CDR (a 12 KB document, four frames) cost about seven write
 * system calls, and since a frame is 4,120 bytes each page of the WAL file
 * was copied into three times. The bytes and their order are unchanged: the
 * buffer only ever holds one contiguous run that follows what is in the file.
 *
 * It goes to the kernel before anything can depend on it: when the page of a
 * commit frame (a header whose "database size after commit" field is set) has
 * been added — so before SQLite publishes the commit in the WAL index, where
 * other connections look — and before every sync, read, truncate, size query
 * and close, and before a write that does not follow the run. A write error
 * surfaces as SQLITE_IOERR_WRITE of the call that flushed.
 *
 * Only the read-write connections of schema/ use it (db_sqlite_open_handle);
 * their files other than WAL files are the default VFS's own objects. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal/db_sqlite.h"
#include "util.h"

/* the unix VFS writes at most 128 KiB - 1 bytes per call (its
 * seekAndWriteFd masks the count with 0x1ffff): 31 frames of 4 KB pages */
#define RUN_MAX ((1 << 17) - 1)
#define FRAME_HDR 24

typedef struct wal_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, right after this struct */
    unsigned char *run;
    size_t len;
    sqlite3_int64 off; /* file offset of run[0] */
    bool commit_page;  /* the next write is the page of a commit frame */
} wal_file_t;

static sqlite3_vfs *real_vfs;

static int flush(wal_file_t *f)
{
    if (f->len == 0)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->run, (int)f->len, f->off);
    f->len = 0;
    return rc;
}

static int w_close(sqlite3_file *p)
{
    wal_file_t *f = (wal_file_t *)p;
    int rc = flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->run);
    f->run = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int w_read(sqlite3_file *p, void *buf, int amt, sqlite3_int64 off)
{
    wal_file_t *f = (wal_file_t *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, buf, amt, off);
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int w_write(sqlite3_file *p, const void *buf, int amt, sqlite3_int64 off)
{
    wal_file_t *f = (wal_file_t *)p;
    bool commit_done = f->commit_page;
    f->commit_page = amt == FRAME_HDR && be32((const unsigned char *)buf + 4) != 0;
    if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > RUN_MAX)) {
        int rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)amt > RUN_MAX)
        return f->real->pMethods->xWrite(f->real, buf, amt, off);
    if (f->run == NULL)
        f->run = xmalloc(RUN_MAX);
    if (f->len == 0)
        f->off = off;
    memcpy(f->run + f->len, buf, (size_t)amt);
    f->len += (size_t)amt;
    return commit_done ? flush(f) : SQLITE_OK;
}

static int w_truncate(sqlite3_file *p, sqlite3_int64 size)
{
    wal_file_t *f = (wal_file_t *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int w_sync(sqlite3_file *p, int flags)
{
    wal_file_t *f = (wal_file_t *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int w_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
    wal_file_t *f = (wal_file_t *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

/* A WAL file is never locked, mapped or given shared memory by SQLite (the
 * database file carries those); these only pass the calls on. */
static int w_lock(sqlite3_file *p, int lock)
{
    return ((wal_file_t *)p)->real->pMethods->xLock(((wal_file_t *)p)->real, lock);
}

static int w_unlock(sqlite3_file *p, int lock)
{
    return ((wal_file_t *)p)->real->pMethods->xUnlock(((wal_file_t *)p)->real, lock);
}

static int w_check_reserved(sqlite3_file *p, int *out)
{
    return ((wal_file_t *)p)->real->pMethods->xCheckReservedLock(((wal_file_t *)p)->real, out);
}

static int w_file_control(sqlite3_file *p, int op, void *arg)
{
    wal_file_t *f = (wal_file_t *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int w_sector_size(sqlite3_file *p)
{
    return ((wal_file_t *)p)->real->pMethods->xSectorSize(((wal_file_t *)p)->real);
}

static int w_device_characteristics(sqlite3_file *p)
{
    return ((wal_file_t *)p)->real->pMethods->xDeviceCharacteristics(((wal_file_t *)p)->real);
}

static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = w_close,
    .xRead = w_read,
    .xWrite = w_write,
    .xTruncate = w_truncate,
    .xSync = w_sync,
    .xFileSize = w_file_size,
    .xLock = w_lock,
    .xUnlock = w_unlock,
    .xCheckReservedLock = w_check_reserved,
    .xFileControl = w_file_control,
    .xSectorSize = w_sector_size,
    .xDeviceCharacteristics = w_device_characteristics,
};

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL)) /* the default VFS's own object, in our slot */
        return real_vfs->xOpen(real_vfs, name, p, flags, out_flags);
    wal_file_t *f = (wal_file_t *)p;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    if (rc == SQLITE_OK)
        f->base.pMethods = &wal_methods;
    else if (f->real->pMethods) /* SQLite closes nothing when p's pMethods is NULL */
        f->real->pMethods->xClose(f->real);
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *v_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void v_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*v_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void v_dl_close(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    real_vfs->xDlClose(real_vfs, h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    if (real_vfs->iVersion >= 2 && real_vfs->xCurrentTimeInt64)
        return real_vfs->xCurrentTimeInt64(real_vfs, out);
    double d = 0;
    int rc = real_vfs->xCurrentTime(real_vfs, &d);
    *out = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

static sqlite3_vfs w3wal = {
    .iVersion = 2,
    .zName = DB_VFS_NAME,
    .xOpen = v_open,
    .xDelete = v_delete,
    .xAccess = v_access,
    .xFullPathname = v_full_pathname,
    .xDlOpen = v_dl_open,
    .xDlError = v_dl_error,
    .xDlSym = v_dl_sym,
    .xDlClose = v_dl_close,
    .xRandomness = v_randomness,
    .xSleep = v_sleep,
    .xCurrentTime = v_current_time,
    .xGetLastError = v_last_error,
    .xCurrentTimeInt64 = v_current_time64,
};

void db_vfs_install(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    W3_CHECK_ALLOC(real_vfs);
    w3wal.szOsFile = (int)sizeof(wal_file_t) + real_vfs->szOsFile;
    w3wal.mxPathname = real_vfs->mxPathname;
    sqlite3_vfs_register(&w3wal, 0);
}
