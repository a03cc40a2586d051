/* db_conn_checkpoint_offload: the writer's WAL is checkpointed by a thread
 * of its own, the WAL stays bounded under a stream of commits, what is left
 * below the thresholds is copied once the writer is quiet, and nothing
 * committed is lost across the close. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/db_sqlite.h"
#include "harness.h"
#include "tap.h"

#define COMMITS 400
#define BLOB (64 * 1024) /* 16 pages: 400 commits are ~6,800 WAL frames */
#define FRAME (4096 + 24)

static int insert(sqlite3_stmt *st, int i, const unsigned char *blob)
{
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, i);
    sqlite3_bind_blob(st, 2, blob, BLOB, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static void test_offload(const char *dir)
{
    char path[512], wal[520];
    snprintf(path, sizeof(path), "%s/ckpt.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    db_conn_t *c = NULL;
    char *err = NULL;
    if (!ok(db_conn_open(path, true, 5000, &c, &err) == 0, "open %s", err ? err : ""))
        return;
    sqlite3 *h = db_conn_sqlite(c);
    ok(sqlite3_exec(h, "CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB)", NULL, NULL, NULL) == SQLITE_OK, "table");
    is_int(db_conn_checkpoint_offload(c, path, 5000, &err), 0, "checkpoints offloaded to a thread");
    is_int(db_conn_checkpoint_offload(c, path, 5000, &err), -EINVAL, "a second offload is refused");
    ok(err && strstr(err, "already"), "... and says why: %s", err ? err : "");
    free(err);
    err = NULL;

    unsigned char *blob = malloc(BLOB);
    for (int i = 0; i < BLOB; i++)
        blob[i] = (unsigned char)(i * 7);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(h, "INSERT INTO t (i, b) VALUES (?1, ?2)", -1, &st, NULL);
    long long wal_max = 0;
    int failed = 0;
    for (int i = 0; i < COMMITS; i++) {
        failed += insert(st, i, blob) != 0; /* one autocommit transaction each */
        long long n = h_file_size(wal);
        if (n > wal_max)
            wal_max = n;
    }
    sqlite3_finalize(st);
    is_int(failed, 0, "every commit succeeded");
    long long bg = 0, inl = 0;
    /* the last commit left 1,000-4,000 frames or fewer: wait for the thread
     * to have run at least once */
    for (int t = 0; t < 1000 && bg == 0; t++) {
        db_conn_checkpoint_counts(c, &bg, &inl);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ok(bg >= 1, "the thread checkpointed (%lld runs; the writer itself: %lld)", bg, inl);
    /* without any checkpoint the WAL would hold every frame (~28 MB); the
     * writer checkpoints past 4,000 frames, and a try that finds the thread
     * holding the checkpoint lock waits for the next commit: a few commits
     * of 17 frames beyond it */
    long long bound = (4000LL + 4 * (BLOB / 4096 + 2)) * FRAME + 32;
    ok(wal_max > 0 && wal_max <= bound, "the WAL stays bounded: %lld bytes at most (limit %lld)", wal_max, bound);

    /* another connection reads every row while the WAL is live */
    sqlite3 *r = NULL;
    sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL);
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(r, "SELECT count(*), sum(length(b)) FROM t", -1, &q, NULL);
    ok(sqlite3_step(q) == SQLITE_ROW, "count");
    is_int(sqlite3_column_int64(q, 0), COMMITS, "every committed row is visible to another connection");
    is_int(sqlite3_column_int64(q, 1), (long long)COMMITS * BLOB, "... with all its bytes");
    sqlite3_finalize(q);
    sqlite3_close(r);

    db_conn_close(c); /* stops the thread; its close is the last one */
    is_int(h_file_size(wal), -1, "closing removes the WAL (everything is in the database file)");
    ok(h_file_size(path) >= (long long)COMMITS * BLOB, "the database file holds the rows (%lld bytes)",
       h_file_size(path));
    char *n = h_sql_text(path, "SELECT count(*) FROM t WHERE length(b) = 65536");
    is_str(n, "400", "reopened: every row is there");
    free(n);
    free(blob);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Below the thresholds nothing triggers a run; a quiet second after the
 * writer's last commit the thread copies what is there. */
static void test_quiet(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/quiet.db", dir);
    db_conn_t *c = NULL;
    char *err = NULL;
    if (!ok(db_conn_open(path, true, 5000, &c, &err) == 0, "open for the quiet checkpoint"))
        return;
    sqlite3 *h = db_conn_sqlite(c);
    sqlite3_exec(h, "CREATE TABLE t (i INTEGER PRIMARY KEY)", NULL, NULL, NULL);
    is_int(db_conn_checkpoint_offload(c, path, 5000, &err), 0, "offloaded");
    long long bg = -1, inl = -1;
    int failed = 0;
    for (int i = 0; i < 50; i++) { /* a commit every 50 ms for 2.5 s */
        failed += sqlite3_exec(h, "INSERT INTO t (i) VALUES (NULL)", NULL, NULL, NULL) != SQLITE_OK;
        sleep_ms(50);
    }
    db_conn_checkpoint_counts(c, &bg, &inl);
    ok(failed == 0 && bg == 0 && inl == 0, "commits every 50 ms, 50 frames: no checkpoint ran (%lld, %lld)", bg, inl);
    for (int t = 0; t < 40 && bg == 0; t++) {
        sleep_ms(100);
        db_conn_checkpoint_counts(c, &bg, &inl);
    }
    is_int(bg, 1, "a quiet second after the last commit the thread copied them");
    sleep_ms(2500);
    db_conn_checkpoint_counts(c, &bg, &inl);
    is_int(bg, 1, "  ...and the quiet looks after it, with nothing to copy, are not counted as runs");
    db_conn_close(c);
}

static void test_close_without_offload(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/plain.db", dir);
    db_conn_t *c = NULL;
    char *err = NULL;
    ok(db_conn_open(path, true, 5000, &c, &err) == 0, "open without offload");
    long long bg = -1, inl = -1;
    db_conn_checkpoint_counts(c, &bg, &inl);
    ok(bg == 0 && inl == 0, "no offload: no counts (%lld, %lld)", bg, inl);
    db_conn_close(c);
}

int main(void)
{
    char *dir = h_tmpdir();
    test_offload(dir);
    test_quiet(dir);
    test_close_without_offload(dir);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
