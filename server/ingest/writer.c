#include "writer.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

typedef struct job {
    struct job *next;
    struct event_base *reply_base;
    writer_fn fn;
    writer_done_fn done;
    void *arg;
    int rc;
    /* writer_run_sync */
    bool sync;
    bool finished;
} job_t;

struct writer {
    db_conn_t *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* jobs queued / stop */
    pthread_cond_t sync_cond; /* a sync job finished */
    job_t *head, *tail;
    int queued;
    bool stop;
    writer_opts_t o;
    writer_stats_t stats;
};

/* On the submitter's event loop: every job of one batch that it submitted,
 * in submission order (arg: the first, linked through next). */
static void deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    job_t *next;
    for (job_t *j = arg; j; j = next) {
        next = j->next;
        j->done(j->arg, j->rc);
        free(j);
    }
}

/* busy_timeout already waited; a few more tries ride out a CLI writer */
static int retry(int (*fn)(db_conn_t *), db_conn_t *db)
{
    int rc = -EBUSY;
    for (int attempt = 0; attempt < 3 && rc == -EBUSY; attempt++)
        rc = fn(db);
    return rc;
}

static void run_batch(writer_t *w, job_t *batch)
{
    int rc = retry(db_tx_begin, w->db);
    if (rc == 0) {
        for (job_t *j = batch; j; j = j->next) {
            db_tx_savepoint(w->db);
            j->rc = j->fn(w->db, j->arg);
            if (j->rc != 0)
                db_tx_savepoint_undo(w->db);
            db_tx_savepoint_release(w->db);
        }
        rc = retry(db_tx_commit, w->db);
        if (rc != 0)
            db_tx_rollback(w->db);
    }
    if (rc != 0) {
        log_error("writer batch failed", "error", db_conn_error(w->db), NULL);
        for (job_t *j = batch; j; j = j->next)
            j->rc = rc;
    }
    pthread_mutex_lock(&w->lock);
    w->stats.batches++;
    for (job_t *j = batch; j; j = j->next) {
        w->stats.jobs++;
        if (j->rc)
            w->stats.failures++;
    }
    pthread_mutex_unlock(&w->lock);

    /* one wake-up per event loop and batch, not one per job: each loop's
     * jobs go to it as one list, in submission order */
    while (batch) {
        job_t *head = batch;
        batch = batch->next;
        head->next = NULL;
        if (head->sync) {
            pthread_mutex_lock(&w->lock);
            head->finished = true; /* on the waiter's stack: not touched after this */
            pthread_cond_broadcast(&w->sync_cond);
            pthread_mutex_unlock(&w->lock);
            continue;
        }
        if (head->reply_base == NULL) {
            deliver(-1, 0, head);
            continue;
        }
        job_t **tail = &head->next, **pp = &batch;
        while (*pp) {
            job_t *j = *pp;
            if (j->reply_base == head->reply_base) { /* a sync job has none */
                *pp = j->next;
                j->next = NULL;
                *tail = j;
                tail = &j->next;
            } else {
                pp = &j->next;
            }
        }
        static const struct timeval now = {0, 0};
        if (event_base_once(head->reply_base, -1, EV_TIMEOUT, deliver, head, &now) != 0)
            deliver(-1, 0, head);
    }
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->head == NULL && w->stop)
            break;
        /* group commit: give concurrent submitters a moment to join */
        if (w->queued < w->o.batch_max && w->o.delay_s > 0 && !w->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            long ns = until.tv_nsec + (long)(w->o.delay_s * 1e9);
            until.tv_sec += ns / 1000000000L;
            until.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&w->cond, &w->lock, &until);
        }
        job_t *batch = w->head, *last = w->head;
        int n = 1;
        while (last->next && n < w->o.batch_max) {
            last = last->next;
            n++;
        }
        w->head = last->next;
        if (w->head == NULL)
            w->tail = NULL;
        last->next = NULL;
        w->queued -= n;
        pthread_mutex_unlock(&w->lock);
        run_batch(w, batch);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Frees what writer_create() set up (the thread is not running). */
static void release(writer_t *w)
{
    db_conn_close(w->db);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->sync_cond);
    free(w);
}

writer_t *writer_create(const char *db_path, const writer_opts_t *o, char **err)
{
    writer_t *w = xcalloc(1, sizeof(*w));
    w->o = *o;
    if (w->o.batch_max < 1)
        w->o.batch_max = 1;
    if (w->o.queue_max < 1)
        w->o.queue_max = 100000;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    pthread_cond_init(&w->sync_cond, NULL);
    if (db_conn_open(db_path, false, o->busy_timeout_ms, &w->db, err) != 0 ||
        db_conn_checkpoint_offload(w->db, db_path, o->busy_timeout_ms, err) != 0)
        goto fail;
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        *err = xstrdup("cannot start the writer thread");
        goto fail;
    }
    return w;
fail:
    release(w);
    return NULL;
}

void writer_destroy(writer_t *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    release(w);
}

static int enqueue(writer_t *w, job_t *j)
{
    if (w == NULL)
        return -ESHUTDOWN; /* the server has stopped its writer */
    pthread_mutex_lock(&w->lock);
    if (w->stop) {
        pthread_mutex_unlock(&w->lock);
        return -ESHUTDOWN;
    }
    if (w->queued >= w->o.queue_max) {
        pthread_mutex_unlock(&w->lock);
        return -EAGAIN;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int writer_submit(writer_t *w, struct event_base *reply_base, writer_fn fn, writer_done_fn done, void *arg)
{
    job_t *j = xcalloc(1, sizeof(*j));
    j->reply_base = reply_base;
    j->fn = fn;
    j->done = done;
    j->arg = arg;
    int rc = enqueue(w, j);
    if (rc)
        free(j);
    return rc;
}

int writer_run_sync(writer_t *w, writer_fn fn, void *arg)
{
    job_t j = {.fn = fn, .arg = arg, .sync = true};
    int rc = enqueue(w, &j);
    if (rc)
        return rc;
    pthread_mutex_lock(&w->lock);
    while (!j.finished)
        pthread_cond_wait(&w->sync_cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    return j.rc;
}

void writer_get_stats(writer_t *w, writer_stats_t *s)
{
    pthread_mutex_lock(&w->lock);
    *s = w->stats;
    pthread_mutex_unlock(&w->lock);
}

void writer_metrics_render(writer_t *w, w3_buf_t *o)
{
    if (w == NULL)
        return;
    writer_stats_t st;
    writer_get_stats(w, &st);
    long long thread = 0, inline_runs = 0;
    db_conn_checkpoint_counts(w->db, &thread, &inline_runs);
    metrics_counter(o, "w3voipd_writer_commits_total",
                    "Transactions of the writer thread, one fsync each: CDRs and other writes queued together "
                    "share one.",
                    st.batches);
    metrics_counter(o, "w3voipd_writer_jobs_total", "Writes the writer thread ran (CDRs, provisioning, API).", st.jobs);
    metrics_counter(o, "w3voipd_writer_job_failures_total",
                    "Writes that failed (their transaction or their own savepoint).", st.failures);
    w3_buf_printf(o,
                  "# HELP w3voipd_wal_checkpoints_total WAL checkpoints, by who ran them: the checkpoint "
                  "thread, or the writer itself once the WAL passed 4,000 frames (its commits wait meanwhile).\n"
                  "# TYPE w3voipd_wal_checkpoints_total counter\n"
                  "w3voipd_wal_checkpoints_total{by=\"thread\"} %lld\n"
                  "w3voipd_wal_checkpoints_total{by=\"writer\"} %lld\n",
                  thread, inline_runs);
}
