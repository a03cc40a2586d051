/* The SQLite side of db.h: only the files of schema/ (and tests that inspect a
 * database the way an operator's sqlite3 session would) include this.
 *
 * Ownership: a db_conn_t owns its handle and every statement prepared on it;
 * db_conn_close() finalizes them all. */
#ifndef W3_DB_SQLITE_H
#define W3_DB_SQLITE_H

#include <sqlite3.h>

#include "../db.h"

enum { DB_TX_BEGIN, DB_TX_COMMIT, DB_TX_SAVE, DB_TX_UNDO, DB_TX_RELEASE, DB_TX_COUNT };
#define DB_CONN_CACHE 16 /* statements of db_cdr.c, prepared once per connection */
#define DB_PROV_CACHE 64 /* statements of db_prov.c, prepared on first use */

typedef struct db_ckpt db_ckpt_t; /* db_ckpt.c */
void db_ckpt_destroy(db_ckpt_t *k);

struct db_conn {
    sqlite3 *h;
    db_ckpt_t *ckpt; /* NULL unless db_conn_checkpoint_offload() */
    sqlite3_stmt *tx[DB_TX_COUNT];
    sqlite3_stmt *cache[DB_CONN_CACHE];
    sqlite3_stmt *prov[DB_PROV_CACHE];
};

/* db_vfs.c: the default VFS with WAL writes gathered per commit, registered
 * (not as the default) by db_sqlite_setup(). */
#define DB_VFS_NAME "w3wal"
void db_vfs_install(void);
/* db_vfs_pass.c: sets vfs's methods other than xOpen to real_vfs's own. */
void db_vfs_pass_through(sqlite3_vfs *vfs, sqlite3_vfs *real_vfs);
/* Direct writes of cold pages so far, and those that fell back to buffered
 * writes (the file then stays buffered), process-wide. */
void db_vfs_direct_counts(long long *writes, long long *fallbacks);
/* A handle as every connection of schema/ is opened (WAL, synchronous=FULL,
 * foreign keys, busy timeout); *err malloc'd on failure. */
int db_sqlite_open_handle(const char *path, bool create, int busy_ms, sqlite3 **out, char **err);
/* The raw handles, for tests and for schema/ itself. */
sqlite3 *db_conn_sqlite(db_conn_t *c);
sqlite3 *db_reader_sqlite(db_reader_t *r);
/* How many activity triggers step the configuration generation (db.c). */
int db_sqlite_gen_triggers(void);
/* PRAGMA user_version of a handle: 0 or -EIO. */
int db_sqlite_user_version(sqlite3 *db, int *version);
/* Process-wide SQLite settings, once, before the first connection opens
 * (every open in schema/ calls it). */
void db_sqlite_setup(void);
/* db_mem.c: SQLite's allocator with a per-thread cache of small blocks
 * (called by db_sqlite_setup, before sqlite3_initialize). */
void db_mem_install(void);

#endif
