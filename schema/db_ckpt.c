/* WAL checkpoints off the writer's commit path.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL
 * frames: it copies every frame into the database file and fsyncs both files
 * while the writer thread, and every CDR and provisioning request queued
 * behind it, waits (on a CDR flood, a tenth of the process's CPU and a
 * 10-15 ms stall about every hundred milliseconds). Here a thread with its
 * own connection does that copy while the writer goes on committing.
 *
 * A checkpoint that runs beside commits backfills the frames that existed
 * when it started, so under a steady flood it never catches up, and SQLite
 * only starts the WAL over once every frame is backfilled. The writer
 * therefore still checkpoints itself past CKPT_INLINE_FRAMES, after the
 * thread's run in progress: by then the thread has copied all but the last
 * few commits, what is left is small, and the next transaction restarts the
 * WAL (about 4 x 1000 frames at most; as with SQLite's own checkpoints, a
 * reader that keeps an old snapshot open holds the WAL back until it ends).
 *
 * And a quiet second after the writer's last commit the thread copies what is
 * left (another process's commits, the sqlite3 CLI's, included): a WAL
 * below the threshold would otherwise wait for the next thousand frames,
 * and until every frame is in the database file each read transaction
 * holds a WAL read mark, which a reader must not keep open between
 * requests (db_reader_keep_open). When there is nothing to copy the run
 * costs a lock and a look at the WAL index.
 *
 * Ownership: the db_ckpt_t belongs to the writer's db_conn_t, which frees it
 * in db_conn_close() after closing its own handle. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "internal/db_sqlite.h"
#include "util.h"

#define CKPT_FRAMES 1000 /* SQLite's own autocheckpoint threshold */
#define CKPT_INLINE_FRAMES (4 * CKPT_FRAMES)
#define CKPT_QUIET_S 1 /* a run after this long without a commit of the writer */
#define CKPT_STEP                                                                                                      \
    (CKPT_FRAMES / 2) /* 250: the thread 40 % more CPU; 1000: the writer's remainder doubled the CDR p99 */

struct db_ckpt {
    sqlite3 *h; /* the thread's connection */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* wanted / writer_turn cleared / stop */
    pthread_cond_t idle; /* running cleared */
    bool wanted, stop;
    bool running;          /* the thread is in a checkpoint */
    bool writer_turn;      /* the writer checkpoints: the thread waits */
    atomic_int backfilled; /* WAL frames copied by the thread's last run */
    atomic_llong background, inline_runs;
    atomic_llong commits; /* the writer's, counted by wal_hook */
};

/* The thread's wait: until wanted, or the next quiet check is due. */
static bool wait_quiet(db_ckpt_t *k, long long *seen)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += CKPT_QUIET_S;
    while ((!k->wanted || k->writer_turn) && !k->stop)
        if (pthread_cond_timedwait(&k->cond, &k->lock, &until) == ETIMEDOUT) {
            long long now = atomic_load(&k->commits);
            bool quiet = now == *seen && !k->writer_turn;
            *seen = now;
            return quiet;
        }
    return false;
}

static void *ckpt_main(void *arg)
{
    db_ckpt_t *k = arg;
    long long seen = 0;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        bool quiet = wait_quiet(k, &seen);
        if (k->stop)
            break;
        if (!quiet && !k->wanted)
            continue;
        k->wanted = false;
        k->running = true;
        pthread_mutex_unlock(&k->lock);
        /* PASSIVE: never waits for readers or the writer; what it cannot
         * copy yet is copied by the next run */
        int log = 0, copied = 0, before = atomic_load(&k->backfilled);
        if (sqlite3_wal_checkpoint_v2(k->h, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied) == SQLITE_OK) {
            atomic_store(&k->backfilled, copied);
            if (!quiet || copied != before) /* a quiet look that copied nothing is no checkpoint */
                atomic_fetch_add(&k->background, 1);
        }
        pthread_mutex_lock(&k->lock);
        k->running = false;
        pthread_cond_broadcast(&k->idle);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

/* sqlite3_wal_hook: after every commit of the writer's connection, on its
 * thread, with the number of frames now in the WAL. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    db_ckpt_t *k = arg;
    atomic_fetch_add_explicit(&k->commits, 1, memory_order_relaxed);
    if (frames >= CKPT_INLINE_FRAMES) {
        /* the thread's run in progress (it holds the checkpoint lock) ends
         * first, and none starts until this one is done */
        pthread_mutex_lock(&k->lock);
        k->writer_turn = true;
        while (k->running)
            pthread_cond_wait(&k->idle, &k->lock);
        pthread_mutex_unlock(&k->lock);
        if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
            atomic_fetch_add(&k->inline_runs, 1);
        pthread_mutex_lock(&k->lock);
        k->writer_turn = false;
        pthread_cond_signal(&k->cond);
        pthread_mutex_unlock(&k->lock);
    } else if (frames >= CKPT_FRAMES) {
        /* a run copies and fsyncs: start one per CKPT_STEP new frames, not
         * one per commit (fewer than backfilled: the WAL started over) */
        int done = atomic_load(&k->backfilled);
        if (frames > done && frames - done < CKPT_STEP)
            return SQLITE_OK;
        pthread_mutex_lock(&k->lock);
        k->wanted = true;
        pthread_cond_signal(&k->cond);
        pthread_mutex_unlock(&k->lock);
    }
    return SQLITE_OK;
}

void db_ckpt_destroy(db_ckpt_t *k)
{
    if (k == NULL)
        return;
    if (k->started) {
        pthread_mutex_lock(&k->lock);
        k->stop = true;
        pthread_cond_signal(&k->cond);
        pthread_mutex_unlock(&k->lock);
        pthread_join(k->thread, NULL);
    }
    /* the last connection to close checkpoints everything and removes the
     * WAL, as the writer's close did before */
    sqlite3_close(k->h);
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->cond);
    pthread_cond_destroy(&k->idle);
    free(k);
}

int db_conn_checkpoint_offload(db_conn_t *c, const char *path, int busy_ms, char **err)
{
    if (c->ckpt != NULL) {
        *err = xstrdup("the connection's checkpoints are already offloaded");
        return -EINVAL;
    }
    db_ckpt_t *k = xcalloc(1, sizeof(*k));
    pthread_mutex_init(&k->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the quiet wait (wait_quiet) */
    pthread_cond_init(&k->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&k->idle, NULL);
    int rc = db_sqlite_open_handle(path, false, busy_ms, &k->h, err);
    if (rc != 0)
        goto out;
    if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0) {
        *err = xstrdup("cannot start the checkpoint thread");
        rc = -EIO;
        goto out;
    }
    k->started = true;
    sqlite3_wal_hook(c->h, wal_hook, k); /* replaces the automatic checkpoint */
    c->ckpt = k;
    k = NULL;
out:
    db_ckpt_destroy(k);
    return rc;
}

void db_conn_checkpoint_counts(db_conn_t *c, long long *background, long long *inline_runs)
{
    *background = c->ckpt ? atomic_load(&c->ckpt->background) : 0;
    *inline_runs = c->ckpt ? atomic_load(&c->ckpt->inline_runs) : 0;
}
