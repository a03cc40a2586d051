/* The reader's private layout, shared by the files of schema/ that run its
 * statements (db_read.c prepares them, db_api.c runs the API's). */
#ifndef W3_DB_READER_H
#define W3_DB_READER_H

#include "db.h"
#include "db_memo.h"
#include "db_sqlite.h"

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_TENANT,
    ST_EXT,
    ST_STORE_CID,
    ST_GW_ALL,
    ST_GW_ONE,
    ST_DID,
    ST_TRUNK_OWNER,
    ST_AGENT,
    ST_RING,
    ST_RING_MEMBERS,
    ST_ROUTES,
    ST_STORE_TRUNKS,
    ST_API_TRUNKS,
    ST_API_DIDS,
    ST_API_EXTS,
    ST_API_ROUTES,
    ST_API_RINGS,
    ST_API_AGENTS,
    ST_API_STORES,
    ST_API_INBOUND,
    ST_API_EXT,
    ST_API_CDRS,
    ST_API_ACTIVITY,
    ST_LIST_EXTS,
    ST_LIST_DIDS,
    ST_LIST_STORES,
    ST_GEN,
    ST_SCHEMA,
    ST_GEN_TRIGGERS,
    ST_COUNT
};

struct db_reader {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    bool in_txn;
    /* The read transaction db_read_end() left open for the next request
     * (db_stamp.c): txn_hdr is the WAL-index header read before its
     * snapshot began, so while the header is still txn_hdr the snapshot is
     * the database as it is now. reused: the transaction in progress is
     * such a kept one, and its snapshot is there (a statement ran in it). */
    void (*keep_hook)(void *arg); /* NULL: never kept (db_reader_keep_open) */
    void *keep_arg;
    bool kept, reused, txn_hdr_valid;
    unsigned char txn_hdr[48];
    int schema_seen; /* the schema version gen_trusted was checked at */
    bool gen_trusted;
    /* The WAL-index header seen just before the snapshot of the last
     * db_config_stamp(), and what that stamp read (db_config_unchanged()). */
    bool wal;                          /* the file is in WAL mode: there is a WAL index */
    volatile const unsigned char *shm; /* its first region, once mapped (db_stamp.c) */
    bool hdr_valid;                    /* hdr and hdr_stamp hold one stamp */
    unsigned char hdr[48];
    db_stamp_t hdr_stamp;
    /* Tenant-level rows of the extension lookups (db_memo.h), for the
     * trusted stamp memo_stamp; memo_ok: the read transaction in progress
     * took that stamp, so the memo may answer in it. */
    db_memo_t *memo;
    db_stamp_t memo_stamp;
    bool memo_ok;
    /* the stamp was the one kept from an earlier transaction (no commit
     * seen since): the memo answers only once this transaction's snapshot
     * is known to be that stamp's (db_reader_memo_usable) */
    bool memo_verify;
};

/* Whether the memo may answer in the transaction in progress: it took a
 * trusted stamp and its snapshot, opened by then, is that stamp's. Call
 * it once a statement of the transaction has run (db_stamp.c). */
bool db_reader_memo_usable(db_reader_t *r);

/* The WAL-index header as SQLite's readers take it (db_stamp.c): false
 * when it cannot be read consistently (not WAL, a writer in the middle). */
bool db_reader_wal_header(db_reader_t *r, unsigned char out[48]);

/* Statement i, to run now. Outside db_read_begin/end a statement runs on
 * its own (autocommit): a transaction db_read_end() left open must end
 * first, or it would run in that older snapshot. */
static inline sqlite3_stmt *db_reader_st(db_reader_t *r, int i)
{
    if (r->kept && !r->in_txn)
        db_read_release(r);
    return r->st[i];
}

/* Resets a statement after use and passes rc through. */
static inline int db_reader_finish(sqlite3_stmt *st, int rc)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* The forwarding object of an extension row (n bytes of text; NULL and
 * '{}' forward nothing) into out's fwd_* fields, which it clears first.
 * Targets are JSON strings and the timeout a positive JSON integer, as the
 * schema's CHECK wants them; a value of another type, possible only in a
 * row written around the schema, is no target. *dup: a key appears twice
 * (rows written before schema v4): the caller must use none of it.
 * -EIO: not JSON, or a target too long for its field. */
int db_forwarding_parse(const char *text, size_t n, db_extension_t *out, bool *dup);

#endif
