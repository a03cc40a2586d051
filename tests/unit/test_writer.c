/* writer.h: the single writer thread with group commit. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/db_sqlite.h"
#include "harness.h"
#include "tap.h"
#include "util.h"
#include "writer.h"

#define THREADS 4
#define PER_THREAD 500
#define JOBS (THREADS * PER_THREAD)

static atomic_int done_calls, done_ok, fn_calls;

typedef struct job_arg {
    char call_id[48];
    int fail_rc;            /* returned after the INSERT when non-zero */
    int *rc_out;            /* done's rc, when wanted */
    atomic_int *done_flag;  /* set to 1 by done, when wanted */
    pthread_t *done_thread; /* thread done ran on, when wanted */
} job_arg_t;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int insert_cdr(sqlite3 *db, const char *call_id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO voip_cdr (call_id, meta_json) VALUES (?1, '{}')", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, call_id, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -EIO;
}

static int job_fn(db_conn_t *conn, void *arg)
{
    sqlite3 *db = db_conn_sqlite(conn);
    job_arg_t *a = arg;
    atomic_fetch_add(&fn_calls, 1);
    int rc = insert_cdr(db, a->call_id);
    return rc ? rc : a->fail_rc;
}

/* the call ids of the jobs done, in the order their done ran */
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static char done_order[256];

static void job_done(void *arg, int rc)
{
    job_arg_t *a = arg;
    pthread_mutex_lock(&order_lock);
    size_t used = strlen(done_order);
    snprintf(done_order + used, sizeof(done_order) - used, "%s%s", used ? "," : "", a->call_id);
    pthread_mutex_unlock(&order_lock);
    if (a->rc_out)
        *a->rc_out = rc;
    if (a->done_thread)
        *a->done_thread = pthread_self();
    if (rc == 0)
        atomic_fetch_add(&done_ok, 1);
    atomic_fetch_add(&done_calls, 1);
    if (a->done_flag)
        atomic_store(a->done_flag, 1);
    free(a);
}

static job_arg_t *new_job(const char *call_id)
{
    job_arg_t *a = calloc(1, sizeof(*a));
    snprintf(a->call_id, sizeof(a->call_id), "%s", call_id);
    return a;
}

/* Waits until counter reaches want (at most 120 s, for valgrind). */
static bool wait_for(atomic_int *counter, int want)
{
    for (int i = 0; i < 120000 && atomic_load(counter) < want; i++)
        sleep_ms(1);
    return atomic_load(counter) >= want;
}

static long long q_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        printf("# query failed: %s: %s\n", sql, db ? sqlite3_errmsg(db) : "no db");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static long long cdr_rows(const char *path, const char *call_id)
{
    char *sql = sqlite3_mprintf("SELECT count(*) FROM voip_cdr WHERE call_id = %Q", call_id);
    long long n = q_int(path, sql);
    sqlite3_free(sql);
    return n;
}

static char *migrated_db(const char *dir, const char *name)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    db_conn_t *db = NULL;
    char *err = NULL;
    int from, to;
    if (db_conn_open(path, true, 5000, &db, &err) != 0 || db_migrate(db, &from, &to, &err) != 0) {
        printf("# cannot create %s: %s\n", path, err ? err : "");
        exit(99);
    }
    db_conn_close(db);
    return path;
}

/* ---- 2,000 jobs from 4 threads ---- */

struct submitter {
    writer_t *w;
    int index;
    int refused;
};

static void *submit_thread(void *p)
{
    struct submitter *s = p;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[48];
        snprintf(id, sizeof(id), "t%d-%04d", s->index, i);
        job_arg_t *a = new_job(id);
        if (writer_submit(s->w, NULL, job_fn, job_done, a) != 0) {
            free(a);
            s->refused++;
        }
    }
    return NULL;
}

static void test_group_commit(const char *dir)
{
    char *path = migrated_db(dir, "many.db");
    writer_opts_t o = {.batch_max = 64, .delay_s = 0.002, .busy_timeout_ms = 5000, .queue_max = 100000};
    char *err = NULL;
    writer_t *w = writer_create(path, &o, &err);
    if (!ok(w != NULL, "writer_create on a migrated database")) {
        printf("#   %s\n", err ? err : "");
        free(err);
        free(path);
        return;
    }
    atomic_store(&done_calls, 0);
    atomic_store(&done_ok, 0);
    atomic_store(&fn_calls, 0);
    pthread_t th[THREADS];
    struct submitter sub[THREADS];
    for (int i = 0; i < THREADS; i++) {
        sub[i] = (struct submitter){.w = w, .index = i};
        pthread_create(&th[i], NULL, submit_thread, &sub[i]);
    }
    int refused = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        refused += sub[i].refused;
    }
    is_int(refused, 0, "every submit accepted");
    ok(wait_for(&done_calls, JOBS), "all done callbacks ran (%d)", atomic_load(&done_calls));
    writer_stats_t st;
    writer_get_stats(w, &st);
    writer_destroy(w);

    is_int(atomic_load(&done_calls), JOBS, "done called 2,000 times");
    is_int(atomic_load(&done_ok), JOBS, "done rc 0 for all 2,000");
    is_int(atomic_load(&fn_calls), JOBS, "fn ran 2,000 times");
    is_int(st.jobs, JOBS, "stats: 2,000 jobs");
    is_int(st.failures, 0, "stats: no failures");
    ok(st.batches > 0 && st.batches < st.jobs, "stats: %llu batches for %llu jobs (group commit)", st.batches, st.jobs);
    printf("# %llu batches, %.1f jobs per batch\n", st.batches,
           st.batches ? (double)st.jobs / (double)st.batches : 0.0);
    is_int(q_int(path, "SELECT count(*) FROM voip_cdr"), JOBS, "2,000 rows");
    is_int(q_int(path, "SELECT count(DISTINCT call_id) FROM voip_cdr"), JOBS, "2,000 distinct call ids");
    is_int(q_int(path, "SELECT count(*) FROM (SELECT call_id FROM voip_cdr GROUP BY call_id HAVING count(*) > 1)"), 0,
           "no call id twice");
    is_int(q_int(path, "SELECT count(*) FROM voip_cdr WHERE call_id GLOB 't[0-3]-[0-4][0-9][0-9][0-9]'"), JOBS,
           "every row is one of the submitted ids");
    is_int(cdr_rows(path, "t3-0499"), 1, "the last id of the last thread is there once");
    is_int(cdr_rows(path, "t0-0000"), 1, "the first id of the first thread is there once");
    free(path);
}

/* ---- a blocker job holds the writer thread while the test queues more ---- */

static atomic_int blocker_started, blocker_release;

static int blocker_fn(db_conn_t *conn, void *arg)
{
    sqlite3 *db = db_conn_sqlite(conn);
    (void)db;
    (void)arg;
    atomic_store(&blocker_started, 1);
    for (int i = 0; i < 120000 && !atomic_load(&blocker_release); i++)
        sleep_ms(1);
    return 0;
}

static void blocker_done(void *arg, int rc)
{
    (void)arg;
    (void)rc;
}

static bool hold_writer(writer_t *w)
{
    atomic_store(&blocker_started, 0);
    atomic_store(&blocker_release, 0);
    if (writer_submit(w, NULL, blocker_fn, blocker_done, NULL) != 0)
        return false;
    return wait_for(&blocker_started, 1);
}

static void test_failing_job(const char *dir)
{
    char *path = migrated_db(dir, "fail.db");
    writer_opts_t o = {.batch_max = 64, .delay_s = 0, .busy_timeout_ms = 5000, .queue_max = 1000};
    char *err = NULL;
    writer_t *w = writer_create(path, &o, &err);
    if (!ok(w != NULL, "writer_create (failing job)")) {
        free(err);
        free(path);
        return;
    }
    ok(hold_writer(w), "blocker job holds the writer");
    int rc_a = 99, rc_b = 99, rc_c = 99;
    atomic_int flag_c = 0;
    job_arg_t *a = new_job("before"), *b = new_job("failing"), *c = new_job("after");
    a->rc_out = &rc_a;
    b->rc_out = &rc_b;
    b->fail_rc = -EINVAL; /* inserts its row, then fails */
    c->rc_out = &rc_c;
    c->done_flag = &flag_c;
    is_int(writer_submit(w, NULL, job_fn, job_done, a), 0, "submit job before");
    is_int(writer_submit(w, NULL, job_fn, job_done, b), 0, "submit failing job");
    is_int(writer_submit(w, NULL, job_fn, job_done, c), 0, "submit job after");
    atomic_store(&blocker_release, 1);
    ok(wait_for(&flag_c, 1), "the three jobs finished");
    writer_stats_t st;
    writer_get_stats(w, &st);
    is_int(st.batches, 2, "two batches: the blocker, then the three queued jobs together");
    is_int(st.jobs, 4, "four jobs");
    is_int(st.failures, 1, "one failure");
    is_int(rc_a, 0, "done rc 0 for the job before");
    is_int(rc_b, -EINVAL, "done gets the failing job's rc");
    is_int(rc_c, 0, "done rc 0 for the job after");
    is_int(cdr_rows(path, "before"), 1, "the row of the job before is committed");
    is_int(cdr_rows(path, "failing"), 0, "the failing job's row is rolled back");
    is_int(cdr_rows(path, "after"), 1, "the row of the job after is committed");
    writer_destroy(w);
    free(path);
}

/* ---- writer_run_sync ---- */

struct pragmas {
    long long synchronous, foreign_keys;
    char journal[16];
    int ret;
    const char *call_id;
};

static int pragma_fn(db_conn_t *conn, void *arg)
{
    sqlite3 *db = db_conn_sqlite(conn);
    struct pragmas *p = arg;
    p->synchronous = h_handle_int(db, "PRAGMA synchronous");
    p->foreign_keys = h_handle_int(db, "PRAGMA foreign_keys");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(p->journal, sizeof(p->journal), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (p->call_id && insert_cdr(db, p->call_id) != 0)
        return -EIO;
    return p->ret;
}

static void test_sync(const char *dir)
{
    char *path = migrated_db(dir, "sync.db");
    writer_opts_t o = {.batch_max = 8, .delay_s = 0.001, .busy_timeout_ms = 5000, .queue_max = 100};
    char *err = NULL;
    writer_t *w = writer_create(path, &o, &err);
    if (!ok(w != NULL, "writer_create (sync)")) {
        free(err);
        free(path);
        return;
    }
    struct pragmas p = {.ret = 0, .call_id = "sync-ok"};
    is_int(writer_run_sync(w, pragma_fn, &p), 0, "writer_run_sync returns fn's 0");
    is_int(p.synchronous, 2, "PRAGMA synchronous on the writer's connection is FULL (2)");
    is_int(p.foreign_keys, 1, "foreign_keys is ON on the writer's connection");
    is_str(p.journal, "wal", "journal_mode is WAL");
    is_int(cdr_rows(path, "sync-ok"), 1, "a sync job's write is committed when it returns");

    p = (struct pragmas){.ret = 7, .call_id = NULL};
    is_int(writer_run_sync(w, pragma_fn, &p), 7, "writer_run_sync returns fn's 7");
    p = (struct pragmas){.ret = -ENOENT, .call_id = "sync-fail"};
    is_int(writer_run_sync(w, pragma_fn, &p), -ENOENT, "writer_run_sync returns fn's -ENOENT");
    is_int(cdr_rows(path, "sync-fail"), 0, "a failing sync job's write is rolled back");

    /* queue_max: past it, submit fails with -EAGAIN and done is not called */
    writer_opts_t small = {.batch_max = 8, .delay_s = 0, .busy_timeout_ms = 5000, .queue_max = 2};
    writer_t *w2 = writer_create(path, &small, &err);
    if (ok(w2 != NULL, "writer_create (queue_max 2)")) {
        ok(hold_writer(w2), "blocker holds the small writer");
        atomic_store(&done_calls, 0);
        job_arg_t *q1 = new_job("q1"), *q2 = new_job("q2"), *q3 = new_job("q3");
        is_int(writer_submit(w2, NULL, job_fn, job_done, q1), 0, "queue: first job accepted");
        is_int(writer_submit(w2, NULL, job_fn, job_done, q2), 0, "queue: second job accepted");
        is_int(writer_submit(w2, NULL, job_fn, job_done, q3), -EAGAIN, "queue: third job -EAGAIN");
        free(q3);
        atomic_store(&blocker_release, 1);
        writer_destroy(w2); /* commits what is queued, then joins */
        is_int(atomic_load(&done_calls), 2, "destroy ran the queued jobs' done callbacks (not the refused one)");
        is_int(cdr_rows(path, "q1"), 1, "queued job q1 committed by destroy");
        is_int(cdr_rows(path, "q2"), 1, "queued job q2 committed by destroy");
        is_int(cdr_rows(path, "q3"), 0, "refused job q3 never ran");
    }
    free(err);
    writer_destroy(w);
    writer_destroy(NULL);
    free(path);
}

/* ---- a locked database: the batch fails, every job learns it ---- */

static void test_locked(const char *dir)
{
    char *path = migrated_db(dir, "locked.db");
    sqlite3 *other = NULL;
    sqlite3_open(path, &other);
    is_int(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK,
           "another connection holds the write lock");
    writer_opts_t o = {.batch_max = 8, .delay_s = 0, .busy_timeout_ms = 20, .queue_max = 100};
    char *err = NULL;
    writer_t *w = writer_create(path, &o, &err);
    if (!ok(w != NULL, "writer_create (locked)")) {
        free(err);
        sqlite3_close(other);
        free(path);
        return;
    }
    atomic_store(&fn_calls, 0);
    int rc = 99;
    atomic_int flag = 0;
    job_arg_t *a = new_job("locked");
    a->rc_out = &rc;
    a->done_flag = &flag;
    is_int(writer_submit(w, NULL, job_fn, job_done, a), 0, "submit while locked");
    ok(wait_for(&flag, 1), "done called while locked");
    ok(rc < 0, "done rc < 0 when the batch cannot begin (rc %d)", rc);
    is_int(atomic_load(&fn_calls), 0, "fn did not run");
    writer_stats_t st;
    writer_get_stats(w, &st);
    is_int(st.failures, 1, "stats count the failure");

    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    rc = 99;
    atomic_store(&flag, 0);
    a = new_job("unlocked");
    a->rc_out = &rc;
    a->done_flag = &flag;
    is_int(writer_submit(w, NULL, job_fn, job_done, a), 0, "submit after the lock is gone");
    ok(wait_for(&flag, 1), "done called");
    is_int(rc, 0, "the writer recovers: rc 0");
    writer_destroy(w);
    sqlite3_close(other);
    is_int(cdr_rows(path, "locked"), 0, "the locked job wrote nothing");
    is_int(cdr_rows(path, "unlocked"), 1, "the later job is committed");
    free(path);
}

/* ---- done on reply_base's thread ---- */

/* Runs base's loop until counter reaches want (at most 60 s). */
static bool loop_until(struct event_base *base, atomic_int *counter, int want)
{
    for (int i = 0; i < 60000 && atomic_load(counter) < want; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (atomic_load(counter) < want)
            sleep_ms(1);
    }
    return atomic_load(counter) >= want;
}

static void test_reply_base(const char *dir)
{
    char *path = migrated_db(dir, "reply.db");
    writer_opts_t o = {.batch_max = 8, .delay_s = 0, .busy_timeout_ms = 5000, .queue_max = 100};
    char *err = NULL;
    writer_t *w = writer_create(path, &o, &err);
    struct event_base *base = event_base_new();
    if (!ok(w != NULL && base != NULL, "writer and event base")) {
        free(err);
        free(path);
        return;
    }
    int rc = 99;
    atomic_int flag = 0;
    pthread_t ran_on = pthread_self();
    job_arg_t *a = new_job("reply");
    a->rc_out = &rc;
    a->done_flag = &flag;
    a->done_thread = &ran_on;
    /* make ran_on differ from us until done sets it */
    pthread_t me = pthread_self();
    memset(&ran_on, 0, sizeof(ran_on));
    is_int(writer_submit(w, base, job_fn, job_done, a), 0, "submit with a reply base");
    sleep_ms(50);
    is_int(atomic_load(&flag), 0, "done waits for the reply base's loop");
    ok(loop_until(base, &flag, 1), "done ran from the reply base's loop");
    is_int(rc, 0, "done rc 0");
    ok(pthread_equal(ran_on, me), "done ran on the reply base's thread");
    is_int(cdr_rows(path, "reply"), 1, "row committed before done");
    writer_destroy(w);
    event_base_free(base);
    free(path);
}

/* ---- one batch, jobs of two loops and none: each loop gets its own, in order ---- */

static void order_reset(void)
{
    pthread_mutex_lock(&order_lock);
    done_order[0] = '\0';
    pthread_mutex_unlock(&order_lock);
}

static bool order_is(const char *want)
{
    pthread_mutex_lock(&order_lock);
    bool same = strcmp(done_order, want) == 0;
    if (!same)
        printf("# done order: %s (want %s)\n", done_order, want);
    pthread_mutex_unlock(&order_lock);
    return same;
}

static atomic_int gate_open;

/* holds the writer thread in its batch until gate_open */
static int gate_fn(db_conn_t *conn, void *arg)
{
    (void)conn;
    (void)arg;
    while (!atomic_load(&gate_open))
        sleep_ms(1);
    return 0;
}

static void gate_done(void *arg, int rc)
{
    (void)arg;
    (void)rc;
}

static void test_two_bases(const char *dir)
{
    char *path = migrated_db(dir, "bases.db");
    writer_opts_t o = {.batch_max = 16, .delay_s = 0, .busy_timeout_ms = 5000, .queue_max = 100};
    char *err = NULL;
    writer_t *w = writer_create(path, &o, &err);
    struct event_base *a = event_base_new(), *b = event_base_new();
    if (!ok(w != NULL && a != NULL && b != NULL, "writer and two event bases")) {
        free(err);
        free(path);
        return;
    }
    order_reset();
    int before = atomic_load(&done_calls);
    /* the writer is held in a first batch while the six below queue up:
     * they are the next batch, together */
    atomic_store(&gate_open, 0);
    is_int(writer_submit(w, NULL, gate_fn, gate_done, NULL), 0, "gate job submitted");
    sleep_ms(50);
    static const struct {
        const char *id;
        int base; /* 0 none, 1 a, 2 b */
    } jobs[] = {{"a1", 1}, {"b1", 2}, {"a2", 1}, {"n1", 0}, {"b2", 2}, {"a3", 1}};
    int submitted = 0;
    for (size_t i = 0; i < W3_ARRAY_LEN(jobs); i++) {
        struct event_base *base = jobs[i].base == 1 ? a : jobs[i].base == 2 ? b : NULL;
        submitted += writer_submit(w, base, job_fn, job_done, new_job(jobs[i].id)) == 0;
    }
    is_int(submitted, 6, "six jobs submitted");
    atomic_store(&gate_open, 1);
    ok(wait_for(&done_calls, before + 1), "the job without a loop is done on the writer thread");
    sleep_ms(50);
    ok(order_is("n1"), "no loop ran: only the job without one is done");
    ok(loop_until(b, &done_calls, before + 3), "b's loop runs b's jobs");
    sleep_ms(50);
    event_base_loop(b, EVLOOP_NONBLOCK);
    ok(order_is("n1,b1,b2"), "b's jobs, in submission order, and none of a's");
    ok(loop_until(a, &done_calls, before + 6), "a's loop runs a's jobs");
    ok(order_is("n1,b1,b2,a1,a2,a3"), "then a's, in submission order");
    writer_stats_t st;
    writer_get_stats(w, &st);
    is_int((int)st.batches, 2, "the gate's batch, then all six as one (one commit)");
    is_int((int)st.jobs, 7, "seven jobs counted");
    is_int((int)q_int(path, "SELECT count(*) FROM voip_cdr"), 6, "six rows");
    writer_destroy(w);
    event_base_free(a);
    event_base_free(b);
    free(path);
}

int main(void)
{
    evthread_use_pthreads();
    char *dir = h_tmpdir();
    test_group_commit(dir);
    test_failing_job(dir);
    test_sync(dir);
    test_locked(dir);
    test_reply_base(dir);
    test_two_bases(dir);
    h_rmrf(dir);
    free(dir);
    libevent_global_shutdown();
    return tap_done();
}
