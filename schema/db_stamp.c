/* The configuration stamp of a reader (db.h: db_config_stamp,
 * db_config_unchanged): the global generation, the schema version and
 * whether every generation trigger is there, read in the reader's
 * transaction, or known unchanged from SQLite's WAL index without one. The
 * reader's memo of tenant-level rows follows the stamp. */
#include <errno.h>
#include <string.h>

#include "internal/db_reader.h"

static int stamp(db_reader_t *r, db_stamp_t *out);
static int stamp_now(db_reader_t *r, db_stamp_t *out, bool *kept);

/* The WAL-index header (sqlite.org/walformat.html, "the WAL-index header"):
 * the first 48 bytes of the shared memory SQLite maps beside a WAL database,
 * written again, second copy first, by every transaction that commits (its
 * change counter, last frame and salts move) and by a WAL restart. Read as
 * SQLite's own readers do: copy one, a barrier, copy two; a copy pair that
 * differs (a writer in the middle) or is not initialised is no answer.
 * Only the region SQLite already mapped for this connection is read.
 *
 * The region's address is asked of the VFS once and kept, as SQLite's own
 * WAL code keeps it: it stays mapped while any connection of the process
 * has the WAL open (the writer's, for the server's life), and a WAL-mode
 * connection keeps its database file's shared lock, so the file cannot
 * leave WAL mode under it. Asking every time took the unix VFS's mutexes
 * (the shared-memory node's, and for the barrier the VFS's global one)
 * on every request of both workers, and they contended. The barrier is a
 * plain fence, which is what SQLite's is besides that mutex. */
static volatile const unsigned char *wal_index(db_reader_t *r)
{
    if (r->shm != NULL || !r->wal)
        return r->shm;
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(r->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || f == NULL ||
        f->pMethods == NULL || f->pMethods->iVersion < 2 || f->pMethods->xShmMap == NULL)
        return NULL;
    volatile void *shm = NULL;
    int rc = f->pMethods->xShmMap(f, 0, 32768, 0, &shm);
    if ((rc == SQLITE_OK || rc == SQLITE_READONLY) && shm != NULL)
        r->shm = shm;
    return r->shm;
}

static bool wal_header(db_reader_t *r, unsigned char out[48])
{
    volatile const unsigned char *shm = wal_index(r);
    if (shm == NULL)
        return false;
    unsigned char two[48];
    memcpy(out, (const void *)shm, 48);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(two, (const void *)(shm + 48), 48);
    return memcmp(out, two, 48) == 0 && out[12] != 0; /* isInit */
}

/* Whether the WAL-index header is the one the last stamp was taken after:
 * then no transaction has committed since. */
static bool header_same(db_reader_t *r)
{
    unsigned char now[48];
    return r->hdr_valid && wal_header(r, now) && memcmp(now, r->hdr, sizeof(now)) == 0;
}

bool db_config_unchanged(db_reader_t *r, db_stamp_t *out)
{
    if (r->in_txn || !header_same(r))
        return false;
    *out = r->hdr_stamp;
    return true;
}

/* The memo answers in this transaction when the stamp it took is trusted;
 * it is emptied when that stamp is not the one it was filled under. A kept
 * stamp (kept) was read in an earlier snapshot: this one, opened later by
 * the lookup's first statement, may hold a commit made in between, so the
 * memo waits for db_reader_memo_usable() to see the WAL index unchanged. */
static void memo_take(db_reader_t *r, const db_stamp_t *s, bool kept)
{
    r->memo_ok = r->in_txn && s->trusted && s->gen >= 0;
    r->memo_verify = kept;
    if (!r->memo_ok)
        return;
    if (r->memo_stamp.gen != s->gen || r->memo_stamp.schema != s->schema || !r->memo_stamp.trusted)
        db_memo_clear(r->memo);
    r->memo_stamp = *s;
}

bool db_reader_memo_usable(db_reader_t *r)
{
    if (r->memo_ok && r->memo_verify) {
        /* the snapshot is open: an unchanged header means no commit since
         * the stamp was read, so the snapshot is the stamp's */
        r->memo_verify = false;
        r->memo_ok = header_same(r);
    }
    return r->memo_ok;
}

int db_config_stamp(db_reader_t *r, db_stamp_t *out)
{
    bool kept = false;
    int rc = stamp_now(r, out, &kept);
    if (rc == 0)
        memo_take(r, out, kept);
    else
        r->memo_ok = false;
    return rc;
}

static int stamp_now(db_reader_t *r, db_stamp_t *out, bool *kept)
{
    /* the header is taken before this transaction's snapshot starts (no
     * statement has run in it yet): whatever it shows, the snapshot holds */
    bool before = sqlite3_txn_state(r->db, "main") == SQLITE_TXN_NONE;
    if (before && header_same(r)) {
        /* nothing committed since the last stamp: it still holds (a cache
         * miss then costs no stamp queries; its lookup's snapshot, taken
         * next, can only be as new or newer, and its answer is keyed on
         * this older stamp, which no later request will present) */
        *out = r->hdr_stamp;
        *kept = true;
        return 0;
    }
    r->hdr_valid = before && wal_header(r, r->hdr);
    *out = (db_stamp_t){.gen = -1};
    int rc = stamp(r, out);
    if (rc != 0)
        r->hdr_valid = false;
    r->hdr_stamp = *out;
    return rc;
}

static int stamp(db_reader_t *r, db_stamp_t *out)
{
    sqlite3_stmt *st = r->st[ST_SCHEMA];
    if (sqlite3_step(st) != SQLITE_ROW)
        return db_reader_finish(st, -EIO);
    int v = sqlite3_column_int(st, 0);
    db_reader_finish(st, 0);
    if (v != r->schema_seen || v == 0) { /* a trigger dropped or created changes the schema version */
        st = r->st[ST_GEN_TRIGGERS];
        if (sqlite3_step(st) != SQLITE_ROW)
            return db_reader_finish(st, -EIO);
        r->gen_trusted = sqlite3_column_int(st, 0) == db_sqlite_gen_triggers();
        db_reader_finish(st, 0);
        r->schema_seen = v;
    }
    out->schema = v;
    out->trusted = r->gen_trusted;
    return db_config_gen(r, NULL, &out->gen);
}
