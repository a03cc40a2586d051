/* The one writer thread: it owns the only read-write connection of the
 * server and commits queued jobs in groups (one BEGIN IMMEDIATE … COMMIT
 * with synchronous=FULL for many jobs), so durability costs one fsync per
 * batch, not per CDR — and lookups, which use the workers' read-only
 * connections, never wait on it.
 *
 * A job's fn runs on the writer thread inside the batch transaction, in its
 * own SAVEPOINT (a failing job does not undo its neighbours). Its done
 * callback runs after the batch COMMIT returned (rc 0) or failed (rc < 0):
 * on reply_base's thread when one is given (event_base_once, thread-safe
 * with evthread_use_pthreads), else on the writer thread.
 *
 * Ownership: the writer never frees arg; done must. writer_destroy() commits
 * everything already queued, then joins; it accepts NULL. */
#ifndef W3_WRITER_H
#define W3_WRITER_H

#include "db.h"
#include "util.h"

struct event_base;

typedef struct writer writer_t;
typedef int (*writer_fn)(db_conn_t *db, void *arg);
typedef void (*writer_done_fn)(void *arg, int rc);

typedef struct writer_opts {
    int batch_max;
    double delay_s;      /* wait this long for a batch to fill */
    int busy_timeout_ms; /* per attempt; a locked database is retried */
    int queue_max;       /* submit fails with -EAGAIN past this */
} writer_opts_t;

writer_t *writer_create(const char *db_path, const writer_opts_t *o, char **err);
void writer_destroy(writer_t *w);
/* 0, or -EAGAIN (queue full) / -ESHUTDOWN (stopping, or w NULL: stopped):
 * done is then not called. */
int writer_submit(writer_t *w, struct event_base *reply_base, writer_fn fn, writer_done_fn done, void *arg);

typedef struct writer_stats {
    unsigned long long jobs;
    unsigned long long batches;
    unsigned long long failures;
} writer_stats_t;
void writer_get_stats(writer_t *w, writer_stats_t *s);
/* Appends the writer's Prometheus counters to o (commits, jobs, failed jobs,
 * WAL checkpoints by who ran them); nothing when w is NULL. */
void writer_metrics_render(writer_t *w, w3_buf_t *o);
/* Runs fn(db, arg) alone on the writer connection, synchronously, from any
 * thread (used for rare writes that want an answer inline). */
int writer_run_sync(writer_t *w, writer_fn fn, void *arg);

#endif
