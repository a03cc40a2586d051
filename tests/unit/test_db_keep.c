/* db_reader_keep_open: the read transaction db_read_end() leaves open is
 * taken up again only while nothing has committed since its snapshot
 * began; one is left open only while every WAL frame is in the database
 * file (it would hold a WAL read mark otherwise); db_read_release() ends
 * it, and until then a checkpoint that needs every reader gone is busy;
 * a database not in WAL mode never keeps one. Another connection plays
 * the writer; no checkpoint runs but the ones asked for here. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "harness.h"
#include "metrics.h"
#include "tap.h"

#define DA "tenantA.edvoip.it"

static int hooks;

static void on_kept(void *arg)
{
    (void)arg;
    hooks++;
}

/* One lookup of 101 in its own db_read_begin/end: its display name. */
static void lookup(db_reader_t *r, char name[sizeof(((db_extension_t *)0)->display_name)])
{
    db_extension_t e;
    name[0] = '\0';
    if (db_read_begin(r) == 0 && db_extension_get(r, DA, "101", &e) == 0)
        memcpy(name, e.display_name, sizeof(e.display_name));
    db_read_end(r);
}

static int rename_101(sqlite3 *w, const char *name)
{
    char q[256];
    snprintf(q, sizeof(q),
             "UPDATE voip_extensions SET display_name = '%s' WHERE sip_domain = '" DA "' AND ext_number = '101'", name);
    return sqlite3_exec(w, q, NULL, NULL, NULL);
}

static void test_wal(const char *dir)
{
    char *path = h_demo_db(dir, "keep.db");
    sqlite3 *w = NULL;
    sqlite3_open(path, &w); /* stays open: the WAL outlives each write */
    char *err = NULL;
    db_reader_t *r = db_reader_create(path, 1000, &err);
    if (!ok(r != NULL, "reader opened %s", err ? err : "")) {
        free(err);
        return;
    }
    char name[sizeof(((db_extension_t *)0)->display_name)];
    lookup(r, name);
    is_int(hooks, 0, "by default no transaction is left open");
    db_reader_keep_open(r, on_kept, NULL);

    uint64_t k0 = metrics.read_txn_kept;
    lookup(r, name);
    is_int(hooks, 1, "kept on: the transaction is left open (the WAL is empty)");
    lookup(r, name);
    ok(metrics.read_txn_kept == k0 + 1 && hooks == 2, "the next lookup takes it up, and leaves it open again");
    char before[sizeof(name)];
    snprintf(before, sizeof(before), "%s", name);

    ok(rename_101(w, "Renamed") == SQLITE_OK, "another connection renames 101 (a commit)");
    lookup(r, name);
    is_str(name, "Renamed", "the next lookup sees it (the open transaction's snapshot was older: not taken up)");
    is_int((long long)metrics.read_txn_kept, (long long)k0 + 1, "  ...a new transaction began");
    is_int(hooks, 2, "  ...and it was not left open: the commit is in the WAL only");
    lookup(r, name);
    is_int(hooks, 2, "  ...nor the next one");

    ok(h_handle_int(w, "PRAGMA wal_checkpoint(PASSIVE)") == 0, "the WAL is copied into the database file");
    lookup(r, name);
    is_int(hooks, 3, "then a transaction is left open again");
    is_str(name, "Renamed", "  ...reading the new name");
    ok(strcmp(before, "Renamed") != 0, "  ...not the old one ('%s')", before);

    ok(rename_101(w, "Again") == SQLITE_OK, "a commit while it is open");
    ok(h_handle_int(w, "PRAGMA wal_checkpoint(TRUNCATE)") != 0,
       "  ...a TRUNCATE checkpoint is busy while the open transaction lasts");
    db_read_release(r);
    is_int(h_handle_int(w, "PRAGMA wal_checkpoint(TRUNCATE)"), 0, "  ...and succeeds once db_read_release() ended it");
    lookup(r, name);
    is_str(name, "Again", "the next lookup reads the last commit");

    /* a transaction left open before any statement ran in it (a request
     * the answer cache served) has no snapshot yet */
    ok(h_handle_int(w, "PRAGMA wal_checkpoint(PASSIVE)") == 0, "the WAL copied again");
    db_read_release(r);
    db_read_begin(r);
    db_read_end(r);
    int h1 = hooks;
    uint64_t k1 = metrics.read_txn_kept;
    db_read_begin(r);
    ok(hooks == h1 && metrics.read_txn_kept == k1, "one left open with no statement run in it: not counted taken up");
    ok(rename_101(w, "Later") == SQLITE_OK, "  ...a commit after that begin, before its first statement");
    db_extension_t e = {.display_name = ""};
    ok(db_extension_get(r, DA, "101", &e) == 0 && strcmp(e.display_name, "Later") == 0,
       "  ...is seen: the snapshot begins at the first statement (%s)", e.display_name);
    db_read_end(r);
    db_read_release(NULL);
    db_reader_destroy(r);
    sqlite3_close(w);
    free(path);
}

static void test_not_wal(const char *dir)
{
    char *path = h_demo_db(dir, "rollback.db");
    h_sql(path, "PRAGMA journal_mode = DELETE");
    char *err = NULL;
    db_reader_t *r = db_reader_create(path, 1000, &err);
    if (!ok(r != NULL, "reader of a database in rollback-journal mode %s", err ? err : "")) {
        free(err);
        return;
    }
    db_reader_keep_open(r, on_kept, NULL);
    int h0 = hooks;
    char name[sizeof(((db_extension_t *)0)->display_name)];
    lookup(r, name);
    lookup(r, name);
    ok(hooks == h0 && *name != '\0', "not WAL: no transaction left open (it would lock writers out), lookups answer");
    is_int(h_sql(path, "UPDATE voip_extensions SET display_name = 'Rb' WHERE ext_number = '101'"), 0,
           "  ...a write goes through right after");
    lookup(r, name);
    is_str(name, "Rb", "  ...and the next lookup reads it");
    db_reader_destroy(r);
    free(path);
}

int main(void)
{
    char *dir = h_tmpdir();
    test_wal(dir);
    test_not_wal(dir);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
