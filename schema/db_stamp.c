/* What a reader learns from SQLite's WAL index. The configuration stamp
 * (db.h: db_config_stamp, db_config_unchanged): the global generation, the
 * schema version and whether every generation trigger is there, read in the
 * reader's transaction, or known unchanged from the WAL index without one;
 * the reader's memo of tenant-level rows follows the stamp. And its read
 * transactions (db_read_begin/end): one left open is taken up again while
 * the WAL index shows no commit since its snapshot began. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "metrics.h"
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

bool db_reader_wal_header(db_reader_t *r, unsigned char out[48])
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
    return r->hdr_valid && db_reader_wal_header(r, now) && memcmp(now, r->hdr, sizeof(now)) == 0;
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
    r->memo_verify = kept && !r->reused; /* a kept transaction's snapshot is the stamp's */
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
    bool before = r->reused || sqlite3_txn_state(r->db, "main") == SQLITE_TXN_NONE;
    /* a kept transaction's snapshot is the state its txn_hdr shows */
    bool same = r->reused ? r->hdr_valid && memcmp(r->hdr, r->txn_hdr, sizeof(r->hdr)) == 0 : header_same(r);
    if (before && same) {
        /* nothing committed since the last stamp: it still holds (a cache
         * miss then costs no stamp queries; its lookup's snapshot, taken
         * next, can only be as new or newer, and its answer is keyed on
         * this older stamp, which no later request will present) */
        *out = r->hdr_stamp;
        *kept = true;
        return 0;
    }
    if (r->reused)
        memcpy(r->hdr, r->txn_hdr, sizeof(r->hdr));
    r->hdr_valid = before && (r->reused || db_reader_wal_header(r, r->hdr));
    *out = (db_stamp_t){.gen = -1};
    int rc = stamp(r, out);
    if (rc != 0)
        r->hdr_valid = false;
    r->hdr_stamp = *out;
    return rc;
}

static int stamp(db_reader_t *r, db_stamp_t *out)
{
    sqlite3_stmt *st = db_reader_st(r, ST_SCHEMA);
    if (sqlite3_step(st) != SQLITE_ROW)
        return db_reader_finish(st, -EIO);
    int v = sqlite3_column_int(st, 0);
    db_reader_finish(st, 0);
    if (v != r->schema_seen || v == 0) { /* a trigger dropped or created changes the schema version */
        st = db_reader_st(r, ST_GEN_TRIGGERS);
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

/* Whether every frame of the WAL (as of the header just read into txn_hdr)
 * is in the database file: a snapshot begun then reads the file alone
 * (SQLite's read mark 0), so keeping it open holds back no frame from a
 * checkpoint and no restart of the WAL; one begun while frames wait would
 * (walformat.html: mxFrame is the header's third word, nBackfill the first
 * of the checkpoint information after the header's two copies). Only such
 * transactions are kept: under a stream of writes (CDRs) they end as they
 * did. */
static bool backfilled(db_reader_t *r)
{
    uint32_t mx, done;
    memcpy(&mx, r->txn_hdr + 16, sizeof(mx));
    done = __atomic_load_n((const volatile uint32_t *)(r->shm + 96), __ATOMIC_ACQUIRE);
    return mx == done;
}

/* Ends the transaction (a read one: COMMIT cannot fail but for a broken
 * connection, then ROLLBACK). */
static void commit(db_reader_t *r)
{
    sqlite3_stmt *st = r->st[ST_COMMIT];
    if (sqlite3_step(st) != SQLITE_DONE)
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_reset(st);
}

int db_read_begin(db_reader_t *r)
{
    r->memo_ok = false; /* until this transaction takes a trusted stamp */
    if (r->kept) {
        /* no commit since its snapshot began: it is the database as of now */
        unsigned char now[48];
        r->kept = false;
        if (db_reader_wal_header(r, now) && memcmp(now, r->txn_hdr, sizeof(now)) == 0) {
            r->in_txn = true;
            /* begun but no statement ran in it (a cache hit): its snapshot
             * begins at the next statement, as a new transaction's would */
            r->reused = sqlite3_txn_state(r->db, "main") == SQLITE_TXN_READ;
            if (r->reused)
                METRICS_INC(read_txn_kept);
            return 0;
        }
        commit(r);
    }
    r->reused = false;
    /* read before the snapshot begins (at the first statement): the
     * snapshot is this state or a newer one */
    r->txn_hdr_valid = r->keep_hook != NULL && r->wal && db_reader_wal_header(r, r->txn_hdr) && backfilled(r);
    sqlite3_stmt *st = r->st[ST_BEGIN];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    r->in_txn = true;
    return 0;
}

void db_read_end(db_reader_t *r)
{
    if (!r->in_txn)
        return;
    r->in_txn = r->reused = false;
    r->memo_ok = false;
    /* kept only while SQLite's transaction is still the one begun */
    if (r->txn_hdr_valid && !sqlite3_get_autocommit(r->db)) {
        r->kept = true;
        r->keep_hook(r->keep_arg);
        return;
    }
    commit(r);
}

void db_read_release(db_reader_t *r)
{
    if (r == NULL || !r->kept)
        return;
    r->kept = false;
    commit(r);
}

void db_reader_keep_open(db_reader_t *r, void (*kept)(void *arg), void *arg)
{
    db_read_release(r);
    r->keep_hook = kept;
    r->keep_arg = arg;
}
