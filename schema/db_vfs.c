/* The "w3wal" VFS: the default VFS, except that writes to a WAL file are
 * gathered into one buffer and reach the kernel as one pwrite per commit.
 *
 * SQLite writes every WAL frame as two pwrites, its 24-byte header and then
 * its page; a CDR (a 12 KB document, four frames) cost about seven write
 * system calls, and since a frame is 4,120 bytes each page of the WAL file
 * was copied into three times. The bytes and their order are unchanged: the
 * buffer only ever holds one contiguous run that follows what is in the file.
 *
 * The run goes to the kernel before anything can depend on it: with the
 * page of a commit frame (a header whose "database size after commit" is
 * set), so a failed write fails that commit as it would have; in
 * xShmBarrier of the connection's database file (SQLite calls it before it
 * publishes a commit in the WAL index, where other connections look) and
 * before any shared-memory unlock there (releasing the write lock after a
 * commit or a rollback: frames a rolled-back transaction spilled are
 * written while the lock is still held, as SQLite itself does); before
 * every sync, read, truncate, size query, file control and close of the WAL
 * file; and before a write that does not follow the run. A WAL file whose
 * device has no powersafe overwrite (URI psow=0: SQLite then pads commits
 * with frames split around a sync) or whose database file is not ours is
 * written through.
 *
 * Pages that are written once and then only rarely read, the overflow
 * pages of a row (a CDR's meta_json is three of them) and freelist trunks,
 * stay out of the page cache: a CDR flood otherwise grows it by 12 KB per
 * CDR, on a virtual machine into memory the host has to fault in, and over
 * time pushes out the configuration pages the lookups read. B-tree pages
 * (indexes and table leaves, read again by the next insert) stay. Such
 * "cold" pages of 4 KB or more are gathered, contiguous, into an aligned
 * buffer and written with O_DIRECT (the checkpoint writes them in page
 * order): no page-cache folio is allocated, filled, written back and
 * dropped again for them, which was half of the checkpoint thread's CPU.
 * The buffer goes to the file at SQLITE_FCNTL_CKPT_DONE, which ends a
 * checkpoint's copy before SQLite publishes how far it got (with no sync
 * when frames are left behind), and before the file is synced, read,
 * sized, truncated, locked or unlocked, before its shared memory is locked
 * or a barrier crosses it, before a write that overlaps it and before
 * close. A file system that refuses O_DIRECT, or a direct write that
 * fails, switches that file to buffered writes for good (its cold pages
 * then leave the page cache after the next successful sync, posix_fadvise
 * DONTNEED); where the buffered write fails too and SQLite would not see
 * the error, the process stops rather than publish pages the file lacks.
 *
 * A WAL file finds its database file through sqlite3_filename_database():
 * the same pointer SQLite passed to the database file's xOpen, one per
 * connection. Only the read-write connections of schema/ use this VFS
 * (db_sqlite_open_handle); journals and temporary files are the default
 * VFS's own objects. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/db_sqlite.h"
#include "util.h"

/* the unix VFS writes at most 128 KiB - 1 bytes per call (its
 * seekAndWriteFd masks the count with 0x1ffff): 31 frames of 4 KB pages */
#define RUN_MAX ((1 << 17) - 1)
#define FRAME_HDR 24
/* cold pages written with O_DIRECT: 32 pages of 4 KB per write at most, at
 * an offset, a length and an address that are multiples of DIRECT_ALIGN */
#define DIRECT_MAX (128 * 1024)
#define DIRECT_ALIGN 4096

typedef struct db_file db_file_t;

/* Both kinds of file this VFS wraps start with this: SQLite's slot, and the
 * default VFS's file right after the wrapper. */
typedef struct wrap {
    sqlite3_file base;
    sqlite3_file *real;
} wrap_t;

typedef struct wal_file {
    wrap_t w;
    unsigned char *run;
    size_t len;
    sqlite3_int64 off; /* file offset of run[0] */
    bool commit_page;  /* the next write is the page of a commit frame */
    db_file_t *db;     /* its database file, while both are open; NULL: write through */
} wal_file_t;

typedef struct span {
    sqlite3_int64 off, len;
} span_t;

struct db_file {
    wrap_t w;
    const char *name; /* the pointer SQLite opened it with: the registry key */
    wal_file_t *wal;
    db_file_t *next; /* registry */
    int fd;          /* the default VFS's descriptor of this file; -1: nothing is dropped */
    span_t *cold;    /* written since the last sync, to drop once it is durable */
    size_t ncold, capcold;
    unsigned char *direct; /* cold pages not yet written, DIRECT_ALIGN-aligned */
    size_t dlen;
    sqlite3_int64 doff; /* file offset of direct[0] */
    bool buffered;      /* O_DIRECT refused or failed once: cold pages go through the page cache */
    int fl;             /* the descriptor's status flags; -1: not read yet */
};

static sqlite3_vfs *real_vfs;
static atomic_llong direct_writes, direct_fallbacks;
/* database files of this VFS that are open, for their WAL files to find */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static db_file_t *registry;

#define REAL(p) (((wrap_t *)(p))->real)

/* On failure the run is dropped: SQLite sees the write fail (the commit
 * frame's flush fails its commit) and never reads frames past the last
 * commit it published. */
static int flush(wal_file_t *f)
{
    if (f->len == 0)
        return SQLITE_OK;
    int rc = REAL(f)->pMethods->xWrite(REAL(f), f->run, (int)f->len, f->off);
    f->len = 0;
    return rc;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Calls passed on unchanged, for both kinds of file. */
static int pass_read(sqlite3_file *p, void *buf, int amt, sqlite3_int64 off)
{
    return REAL(p)->pMethods->xRead(REAL(p), buf, amt, off);
}

static int pass_write(sqlite3_file *p, const void *buf, int amt, sqlite3_int64 off)
{
    return REAL(p)->pMethods->xWrite(REAL(p), buf, amt, off);
}

static int pass_truncate(sqlite3_file *p, sqlite3_int64 size)
{
    return REAL(p)->pMethods->xTruncate(REAL(p), size);
}

static int pass_sync(sqlite3_file *p, int flags)
{
    return REAL(p)->pMethods->xSync(REAL(p), flags);
}

static int pass_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
    return REAL(p)->pMethods->xFileSize(REAL(p), size);
}

static int pass_lock(sqlite3_file *p, int lock)
{
    return REAL(p)->pMethods->xLock(REAL(p), lock);
}

static int pass_unlock(sqlite3_file *p, int lock)
{
    return REAL(p)->pMethods->xUnlock(REAL(p), lock);
}

static int pass_check_reserved(sqlite3_file *p, int *out)
{
    return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out);
}

static int pass_file_control(sqlite3_file *p, int op, void *arg)
{
    return REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}

static int pass_sector_size(sqlite3_file *p)
{
    return REAL(p)->pMethods->xSectorSize(REAL(p));
}

static int pass_device_characteristics(sqlite3_file *p)
{
    return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p));
}

/* The WAL file: the run flushed before the call is passed on. */
static int w_close(sqlite3_file *p)
{
    wal_file_t *f = (wal_file_t *)p;
    int rc = flush(f);
    pthread_mutex_lock(&registry_lock);
    if (f->db)
        f->db->wal = NULL;
    pthread_mutex_unlock(&registry_lock);
    int rc2 = REAL(f)->pMethods->xClose(REAL(f));
    free(f->run);
    f->run = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int w_read(sqlite3_file *p, void *buf, int amt, sqlite3_int64 off)
{
    int rc = flush((wal_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_read(p, buf, amt, off);
}

static int w_write(sqlite3_file *p, const void *buf, int amt, sqlite3_int64 off)
{
    wal_file_t *f = (wal_file_t *)p;
    /* a frame header whose "database size after commit" is set: its page,
     * the next write, ends the transaction's frames and is flushed with
     * them, so that a failed write fails the commit (SQLite's own order) */
    bool commit_done = f->commit_page;
    f->commit_page = amt == FRAME_HDR && be32((const unsigned char *)buf + 4) != 0;
    if (f->len > 0 && (f->db == NULL || off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > RUN_MAX)) {
        int rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (f->db == NULL || (size_t)amt > RUN_MAX) /* pages are at most 64 KiB */
        return pass_write(p, buf, amt, off);
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
    int rc = flush((wal_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_truncate(p, size);
}

static int w_sync(sqlite3_file *p, int flags)
{
    int rc = flush((wal_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_sync(p, flags);
}

static int w_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
    int rc = flush((wal_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_file_size(p, size);
}

static int w_file_control(sqlite3_file *p, int op, void *arg)
{
    int rc = flush((wal_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_file_control(p, op, arg);
}

/* A WAL file is never locked, mapped or given shared memory by SQLite (the
 * database file carries those). */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = w_close,
    .xRead = w_read,
    .xWrite = w_write,
    .xTruncate = w_truncate,
    .xSync = w_sync,
    .xFileSize = w_file_size,
    .xLock = pass_lock,
    .xUnlock = pass_unlock,
    .xCheckReservedLock = pass_check_reserved,
    .xFileControl = w_file_control,
    .xSectorSize = pass_sector_size,
    .xDeviceCharacteristics = pass_device_characteristics,
};

/* The database file: its WAL's run flushed before the WAL index is
 * published or a lock is released. */
static int flush_wal_of(sqlite3_file *p)
{
    wal_file_t *w = ((db_file_t *)p)->wal;
    return w ? flush(w) : SQLITE_OK;
}

/* A page whose first byte is 0 is no b-tree page (those begin with their
 * type, 2, 5, 10 or 13) nor page 1 (the header string): an overflow page or
 * a freelist trunk, whose first four bytes are the next page's number
 * (below 2^24 pages, 64 GB of 4 KB pages, its first byte is 0; past that
 * such a page simply stays cached). */
static bool cold_page(const void *buf, int amt, sqlite3_int64 off)
{
    return amt >= 512 && (amt & (amt - 1)) == 0 && off > 0 && off % amt == 0 && ((const unsigned char *)buf)[0] == 0;
}

/* Writes the gathered cold pages with O_DIRECT, set on SQLite's own
 * descriptor only for these calls: a connection is used by one thread at a
 * time, and SQLite's reads through it need no alignment. What a direct
 * write did not take goes through the default VFS, in pieces under its
 * 128 KiB - 1 limit, and the file stays buffered from then on. The pages
 * are dropped either way: on an error SQLite fails the checkpoint and
 * copies them again in the next one. */
static int direct_flush(db_file_t *d)
{
    if (d->dlen == 0)
        return SQLITE_OK;
    size_t done = 0;
    int rc = SQLITE_OK;
    if (d->fl < 0)
        d->fl = fcntl(d->fd, F_GETFL); /* SQLite never changes them */
    if (!d->buffered && d->fl >= 0 && fcntl(d->fd, F_SETFL, d->fl | O_DIRECT) == 0) {
        while (done < d->dlen) {
            ssize_t n = pwrite(d->fd, d->direct + done, d->dlen - done, (off_t)(d->doff + (sqlite3_int64)done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            done += (size_t)n; /* a short write leaves an unaligned rest: refused, then buffered */
        }
        if (fcntl(d->fd, F_SETFL, d->fl) != 0) /* SQLite's reads would fail from now on */
            rc = SQLITE_IOERR_WRITE;
    }
    if (done < d->dlen) {
        d->buffered = true;
        atomic_fetch_add(&direct_fallbacks, 1);
        for (size_t len; rc == SQLITE_OK && done < d->dlen; done += len) {
            len = d->dlen - done < 65536 ? d->dlen - done : 65536;
            rc = REAL(d)->pMethods->xWrite(REAL(d), d->direct + done, (int)len, d->doff + (sqlite3_int64)done);
        }
    } else {
        atomic_fetch_add(&direct_writes, 1);
    }
    d->dlen = 0;
    return rc;
}

/* Where SQLite ignores the result: at SQLITE_FCNTL_CKPT_DONE, which ends
 * the copy of a checkpoint, SQLite then publishes the pages as copied (a
 * checkpoint that leaves frames behind does so without any sync), and
 * readers read them from the database file. Pages the file refused then
 * would be lost for good once the WAL starts over: stop instead. */
static void direct_flush_or_stop(db_file_t *d, const char *where)
{
    int rc = direct_flush(d);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "fatal: cannot write checkpointed pages to the database file (%s, SQLite error %d)\n", where,
                rc);
        abort();
    }
}

/* A cold page the buffer takes: whole aligned pages, while the file is
 * not buffered. */
static bool gathers(const db_file_t *d, bool cold, int amt, sqlite3_int64 off)
{
    return cold && !d->buffered && amt % DIRECT_ALIGN == 0 && off % DIRECT_ALIGN == 0 && amt <= DIRECT_MAX;
}

static int d_write(sqlite3_file *p, const void *buf, int amt, sqlite3_int64 off)
{
    db_file_t *d = (db_file_t *)p;
    bool cold = d->fd >= 0 && cold_page(buf, amt, off);
    sqlite3_int64 dend = d->doff + (sqlite3_int64)d->dlen;
    if (gathers(d, cold, amt, off) && d->dlen > 0 && (off != dend || d->dlen + (size_t)amt > DIRECT_MAX)) {
        int rc = direct_flush(d); /* may switch the file to buffered writes */
        if (rc != SQLITE_OK)
            return rc;
    }
    if (gathers(d, cold, amt, off)) {
        if (d->direct == NULL && posix_memalign((void **)&d->direct, DIRECT_ALIGN, DIRECT_MAX) != 0)
            w3_oom(__FILE__, __LINE__);
        if (d->dlen == 0)
            d->doff = off;
        memcpy(d->direct + d->dlen, buf, (size_t)amt);
        d->dlen += (size_t)amt;
        return SQLITE_OK;
    }
    if (d->dlen > 0 && off < dend && off + amt > d->doff) { /* the later write wins, as in the file */
        int rc = direct_flush(d);
        if (rc != SQLITE_OK)
            return rc;
    }
    int rc = pass_write(p, buf, amt, off);
    if (rc != SQLITE_OK || !cold)
        return rc;
    if (d->ncold > 0 && d->cold[d->ncold - 1].off + d->cold[d->ncold - 1].len == off) {
        d->cold[d->ncold - 1].len += amt;
        return rc;
    }
    if (d->ncold == d->capcold) {
        d->capcold = d->capcold ? 2 * d->capcold : 64;
        d->cold = xrealloc(d->cold, d->capcold * sizeof(*d->cold));
    }
    d->cold[d->ncold++] = (span_t){off, amt};
    return rc;
}

/* Only pages a successful sync made durable are dropped: a dirty page is
 * never thrown away (DONTNEED would only start its writeback). */
static int d_sync(sqlite3_file *p, int flags)
{
    db_file_t *d = (db_file_t *)p;
    int rc = direct_flush(d);
    if (rc == SQLITE_OK)
        rc = pass_sync(p, flags);
    for (size_t i = 0; rc == SQLITE_OK && i < d->ncold; i++)
        (void)posix_fadvise(d->fd, d->cold[i].off, d->cold[i].len, POSIX_FADV_DONTNEED);
    d->ncold = 0;
    return rc;
}

static int d_close(sqlite3_file *p)
{
    db_file_t *d = (db_file_t *)p;
    direct_flush_or_stop(d, "close");
    free(d->direct);
    d->direct = NULL;
    free(d->cold);
    d->cold = NULL;
    pthread_mutex_lock(&registry_lock);
    for (db_file_t **q = &registry; *q; q = &(*q)->next)
        if (*q == d) {
            *q = d->next;
            break;
        }
    if (d->wal)
        d->wal->db = NULL;
    pthread_mutex_unlock(&registry_lock);
    return REAL(d)->pMethods->xClose(REAL(d));
}

static int d_read(sqlite3_file *p, void *buf, int amt, sqlite3_int64 off)
{
    int rc = direct_flush((db_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_read(p, buf, amt, off);
}

static int d_truncate(sqlite3_file *p, sqlite3_int64 size)
{
    int rc = direct_flush((db_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_truncate(p, size);
}

static int d_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
    int rc = direct_flush((db_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_file_size(p, size);
}

static int d_lock(sqlite3_file *p, int lock)
{
    int rc = direct_flush((db_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_lock(p, lock);
}

static int d_file_control(sqlite3_file *p, int op, void *arg)
{
    int rc = SQLITE_OK;
    if (op == SQLITE_FCNTL_CKPT_DONE)
        direct_flush_or_stop((db_file_t *)p, "end of a checkpoint's copy");
    else
        rc = direct_flush((db_file_t *)p);
    return rc != SQLITE_OK ? rc : pass_file_control(p, op, arg);
}

static int d_unlock(sqlite3_file *p, int lock)
{
    direct_flush_or_stop((db_file_t *)p, "unlock"); /* empty: a checkpoint ends with CKPT_DONE */
    int rc1 = flush_wal_of(p);
    int rc2 = pass_unlock(p, lock);
    return rc1 != SQLITE_OK ? rc1 : rc2;
}

static int d_shm_map(sqlite3_file *p, int region, int size, int extend, void volatile **out)
{
    return REAL(p)->pMethods->xShmMap(REAL(p), region, size, extend, out);
}

static int d_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
    /* both normally empty here; SQLite ignores what an unlock returns */
    if (flags & SQLITE_SHM_UNLOCK) {
        direct_flush_or_stop((db_file_t *)p, "shared-memory unlock");
    } else {
        int rc = direct_flush((db_file_t *)p);
        if (rc != SQLITE_OK)
            return rc; /* not locked */
    }
    int rc1 = flags & SQLITE_SHM_UNLOCK ? flush_wal_of(p) : SQLITE_OK;
    int rc2 = REAL(p)->pMethods->xShmLock(REAL(p), offset, n, flags);
    return rc1 != SQLITE_OK ? rc1 : rc2;
}

static void d_shm_barrier(sqlite3_file *p)
{
    /* both normally empty by now: CKPT_DONE wrote the one, the commit
     * frame flushed the other */
    direct_flush_or_stop((db_file_t *)p, "barrier");
    flush_wal_of(p);
    REAL(p)->pMethods->xShmBarrier(REAL(p));
}

static int d_shm_unmap(sqlite3_file *p, int delete_flag)
{
    return REAL(p)->pMethods->xShmUnmap(REAL(p), delete_flag);
}

static int d_fetch(sqlite3_file *p, sqlite3_int64 off, int amt, void **out)
{
    int rc = direct_flush((db_file_t *)p);
    return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xFetch(REAL(p), off, amt, out);
}

static int d_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
    return REAL(p)->pMethods->xUnfetch(REAL(p), off, page);
}

static const sqlite3_io_methods db_methods = {
    .iVersion = 3,
    .xClose = d_close,
    .xRead = d_read,
    .xWrite = d_write,
    .xTruncate = d_truncate,
    .xSync = d_sync,
    .xFileSize = d_file_size,
    .xLock = d_lock,
    .xUnlock = d_unlock,
    .xCheckReservedLock = pass_check_reserved,
    .xFileControl = d_file_control,
    .xSectorSize = pass_sector_size,
    .xDeviceCharacteristics = pass_device_characteristics,
    .xShmMap = d_shm_map,
    .xShmLock = d_shm_lock,
    .xShmBarrier = d_shm_barrier,
    .xShmUnmap = d_shm_unmap,
    .xFetch = d_fetch,
    .xUnfetch = d_unfetch,
};

/* The descriptor of the default VFS's file, for posix_fadvise and the
 * direct writes of cold pages only (never closed or locked here: closing
 * any descriptor of a file would drop the process's POSIX locks on it).
 * SQLite has no call that returns it; the unix VFS's file begins with its
 * methods, its VFS, its inode record and then the descriptor, as it has
 * since 3.7. The guess is used only when it
 * names the very file SQLite opened: otherwise -1, and nothing is dropped. */
static int real_fd(sqlite3_file *real, const char *path)
{
    struct unix_file_head {
        const sqlite3_io_methods *methods;
        sqlite3_vfs *vfs;
        void *inode;
        int h;
    };
    if (strcmp(real_vfs->zName, "unix") != 0 || path == NULL)
        return -1;
    int fd = ((const struct unix_file_head *)(const void *)real)->h;
    struct stat a, b;
    if (fd < 0 || fstat(fd, &a) != 0 || stat(path, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return -1;
    return fd;
}

/* Opens the default VFS's file behind the wrapper at p. */
static int open_real(wrap_t *w, sqlite3_filename name, int flags, int *out_flags)
{
    w->real = (sqlite3_file *)((char *)w + (flags & SQLITE_OPEN_MAIN_DB ? sizeof(db_file_t) : sizeof(wal_file_t)));
    int rc = real_vfs->xOpen(real_vfs, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK && w->real->pMethods) /* SQLite closes nothing when p's pMethods is NULL */
        w->real->pMethods->xClose(w->real);
    return rc;
}

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) /* the default VFS's own object, in our slot */
        return real_vfs->xOpen(real_vfs, name, p, flags, out_flags);
    if (flags & SQLITE_OPEN_MAIN_DB) {
        db_file_t *d = (db_file_t *)p;
        memset(d, 0, sizeof(*d));
        int rc = open_real(&d->w, name, flags, out_flags);
        if (rc != SQLITE_OK)
            return rc;
        /* the unix VFS's methods are version 3; a lower version would make
         * SQLite call methods the default file lacks */
        if (REAL(d)->pMethods->iVersion < 3) {
            REAL(d)->pMethods->xClose(REAL(d));
            return SQLITE_CANTOPEN;
        }
        d->name = name;
        d->fd = real_fd(REAL(d), name);
        d->fl = -1;
        d->w.base.pMethods = &db_methods;
        pthread_mutex_lock(&registry_lock);
        d->next = registry;
        registry = d;
        pthread_mutex_unlock(&registry_lock);
        return SQLITE_OK;
    }
    wal_file_t *f = (wal_file_t *)p;
    memset(f, 0, sizeof(*f));
    int rc = open_real(&f->w, name, flags, out_flags);
    if (rc != SQLITE_OK)
        return rc;
    /* without its database file (never seen) nothing would flush the run
     * before a commit is published, and without powersafe overwrite SQLite
     * pads a commit with frames split around a sync: f->db stays NULL and
     * every write goes through */
    const char *db_name = sqlite3_filename_database(name);
    bool psow = pass_device_characteristics(p) & SQLITE_IOCAP_POWERSAFE_OVERWRITE;
    pthread_mutex_lock(&registry_lock);
    for (db_file_t *d = registry; psow && d; d = d->next)
        if (d->name == db_name && d->wal == NULL) {
            d->wal = f;
            f->db = d;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    f->w.base.pMethods = &wal_methods;
    return SQLITE_OK;
}

static sqlite3_vfs w3wal = {
    .iVersion = 2, .zName = DB_VFS_NAME, .xOpen = v_open, /* the rest: db_vfs_pass.c */
};

void db_vfs_install(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    W3_CHECK_ALLOC(real_vfs);
    size_t wrapper = sizeof(wal_file_t) > sizeof(db_file_t) ? sizeof(wal_file_t) : sizeof(db_file_t);
    w3wal.szOsFile = (int)wrapper + real_vfs->szOsFile;
    w3wal.mxPathname = real_vfs->mxPathname;
    db_vfs_pass_through(&w3wal, real_vfs);
    sqlite3_vfs_register(&w3wal, 0);
}

void db_vfs_direct_counts(long long *writes, long long *fallbacks)
{
    *writes = atomic_load(&direct_writes);
    *fallbacks = atomic_load(&direct_fallbacks);
}
