/* The methods of the w3wal VFS (db_vfs.c) that are the default VFS's own:
 * files are opened there, everything else is passed on unchanged. */
#include "internal/db_sqlite.h"

static sqlite3_vfs *real;

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real->xDelete(real, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real->xAccess(real, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real->xFullPathname(real, name, n, out);
}

static void *v_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real->xDlOpen(real, name);
}

static void v_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    real->xDlError(real, n, out);
}

static void (*v_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return real->xDlSym(real, h, sym);
}

static void v_dl_close(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    real->xDlClose(real, h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real->xRandomness(real, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real->xSleep(real, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real->xCurrentTime(real, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real->xGetLastError ? real->xGetLastError(real, n, out) : 0;
}

static int v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    if (real->iVersion >= 2 && real->xCurrentTimeInt64)
        return real->xCurrentTimeInt64(real, out);
    double d = 0;
    int rc = real->xCurrentTime(real, &d);
    *out = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

void db_vfs_pass_through(sqlite3_vfs *vfs, sqlite3_vfs *real_vfs)
{
    real = real_vfs;
    vfs->xDelete = v_delete;
    vfs->xAccess = v_access;
    vfs->xFullPathname = v_full_pathname;
    vfs->xDlOpen = v_dl_open;
    vfs->xDlError = v_dl_error;
    vfs->xDlSym = v_dl_sym;
    vfs->xDlClose = v_dl_close;
    vfs->xRandomness = v_randomness;
    vfs->xSleep = v_sleep;
    vfs->xCurrentTime = v_current_time;
    vfs->xGetLastError = v_last_error;
    vfs->xCurrentTimeInt64 = v_current_time64;
}
