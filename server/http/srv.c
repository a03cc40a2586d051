/* Start-up, the worker threads and graceful shutdown. */
#include "srv.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "conn.h"
#include "db.h"
#include "listen.h"
#include "lockfile.h"
#include "peers.h"
#include "tls.h"
#include "log.h"
#include "mem.h"
#include "lookup.h"
#include "route.h"
#include "srv_fsnode.h"
#include "util.h"
#include "writer.h"

/* One listener of a worker: plain HTTP or HTTPS. */
typedef struct listener {
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    listen_guard_t *guard;
} listener_t;

typedef struct worker {
    int id;
    srv_t *srv;
    pthread_t thread;
    struct event_base *base;
    listener_t plain, tls;
    int stop_tries; /* shutdown: rounds spent accepting what was queued */
    db_reader_t *db;
    route_ctx_t ctx;          /* what its routes see */
    struct event *log_flush;  /* writes the lines this loop turn logged */
    struct event *db_release; /* ends the read transaction the reader kept */
    bool db_release_armed;
} worker_t;

struct srv {
    srv_config_t cfg;
    auth_t *auth;
    writer_t *writer;
    fsnode_t *fs;
    worker_t *workers;
    int nworkers;
    int port, tls_port; /* bound; -1 when that listener is off */
    int lock_fd;
    int port_lock_fd, tls_lock_fd;
    char *port_lock_path, *tls_lock_path; /* removed on exit */
    tls_t *tls;
    peers_t *peers;
    struct event_base *main_base;
    atomic_int inflight;
    atomic_int receiving;      /* requests being read, not yet dispatched */
    atomic_int open_listeners; /* workers still listening (shutdown) */
    atomic_int connections;
    atomic_bool stopping;
    pthread_t fk_thread;
    bool fk_started;
};

static char *errf(const char *fmt, const char *a, const char *b)
{
    w3_buf_t buf = {0};
    w3_buf_printf(&buf, fmt, a, b);
    return buf.data;
}

/* The port lock of host:port into *fd (its path into *path); 0 or -errno
 * with *err. */
static int port_lock(srv_t *s, const char *host, int port, int *fd, char **path, char **err)
{
    *path = lockfile_port_path(host, port, s->cfg.db_path, err);
    if (*path == NULL)
        return -EACCES;
    *fd = lockfile_take(*path, true, err);
    if (*fd < 0) {
        free(*path);
        *path = NULL;
    }
    return *fd < 0 ? *fd : 0;
}

/* One evhttp of w serving every route on fd over TLS when tls; 0, or
 * -errno with *err (fd is closed on failure). */
static int listener_setup(worker_t *w, listener_t *l, evutil_socket_t fd, tls_t *tls, char **err)
{
    srv_t *s = w->srv;
    l->http = evhttp_new(w->base);
    W3_CHECK_ALLOC(l->http);
    /* every method reaches the routes, which answer 405 themselves
     * (evhttp's own answer would be 501) */
    evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_TRACE);
    size_t max_body = s->cfg.cdr_body_max;
    if (s->cfg.xml_body_max > max_body)
        max_body = s->cfg.xml_body_max;
    if (s->cfg.api_body_max > max_body)
        max_body = s->cfg.api_body_max;
    if (s->cfg.provision_body_max > max_body)
        max_body = s->cfg.provision_body_max;
    evhttp_set_max_body_size(l->http, (ev_ssize_t)max_body);
    evhttp_set_max_headers_size(l->http, 64 * 1024);
    struct timeval tv = {(time_t)s->cfg.idle_timeout_s,
                         (suseconds_t)((s->cfg.idle_timeout_s - (double)(time_t)s->cfg.idle_timeout_s) * 1e6)};
    evhttp_set_timeout_tv(l->http, &tv);
    conn_table_attach(w->ctx.conns, l->http, tls);
    route_ctx_t *ctx = &w->ctx;
    evhttp_set_cb(l->http, "/fs/xml", route_fs_xml, ctx);
    evhttp_set_cb(l->http, "/fs/cdr", route_fs_cdr, ctx);
    route_api_register(l->http, ctx);
    evhttp_set_cb(l->http, "/healthz", route_healthz, ctx);
    evhttp_set_cb(l->http, "/readyz", route_readyz, ctx);
    evhttp_set_cb(l->http, "/metrics", route_metrics, ctx);
    evhttp_set_cb(l->http, "/api/voip/nodes", route_nodes, ctx);
    evhttp_set_gencb(l->http, route_not_found, ctx);
    l->bound = evhttp_accept_socket_with_handle(l->http, fd);
    if (l->bound == NULL) {
        *err = xstrdup("cannot accept on the listening socket");
        close(fd);
        return -EIO;
    }
    l->guard = listen_guard_create(w->base, l->bound);
    return 0;
}

/* A worker's request lines are written once per loop turn: the flush event,
 * made active by the first line, runs after the callbacks already active
 * in this turn and before the loop polls again (so before the answers
 * they log leave the socket buffers). */
static void flush_log(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    log_thread_flush();
}

static void schedule_flush(void *arg)
{
    worker_t *w = arg;
    event_active(w->log_flush, EV_TIMEOUT, 1);
}

/* The reader keeps its read transaction open from one lookup to the next
 * while nothing commits (db_reader_keep_open): no more than this, as an open
 * snapshot holds back the checkpoints and the WAL's restart past it. */
#define DB_KEEP_MS 100

static void db_release(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    worker_t *w = arg;
    w->db_release_armed = false;
    db_read_release(w->db);
}

static void db_kept(void *arg)
{
    worker_t *w = arg;
    if (w->db_release_armed)
        return;
    static const struct timeval tv = {0, DB_KEEP_MS * 1000};
    evtimer_add(w->db_release, &tv);
    w->db_release_armed = true;
}

/* A worker's loop. epoll's changelist applies the event changes of one loop
 * turn together, so evhttp's enable/disable pairs on a connection cancel out
 * instead of costing an epoll_ctl each: 4 calls per Connection: close
 * request instead of 8. No descriptor here is dup()ed, the one case the
 * changelist gets wrong. */
static struct event_base *worker_base_new(void)
{
    struct event_config *cfg = event_config_new();
    W3_CHECK_ALLOC(cfg);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    W3_CHECK_ALLOC(base);
    return base;
}

/* 0, or -errno with *err (the sockets, -1 when off, are closed on failure). */
static int worker_setup(srv_t *s, worker_t *w, evutil_socket_t fd, evutil_socket_t tls_fd, char **err)
{
    w->srv = s;
    w->base = worker_base_new();
    w->log_flush = event_new(w->base, -1, 0, flush_log, NULL);
    W3_CHECK_ALLOC(w->log_flush);
    w->db = db_reader_create(s->cfg.db_path, s->cfg.db_busy_timeout_ms, err);
    if (w->db == NULL) {
        if (fd >= 0)
            close(fd);
        if (tls_fd >= 0)
            close(tls_fd);
        return -EIO;
    }
    w->db_release = evtimer_new(w->base, db_release, w);
    W3_CHECK_ALLOC(w->db_release);
    db_reader_keep_open(w->db, db_kept, w);
    conn_opts_t co = {.total = &s->connections,
                      .max = s->cfg.max_connections,
                      .request_timeout_s = s->cfg.request_timeout_s,
                      .header_timeout_s = s->cfg.header_timeout_s,
                      .peers = s->peers,
                      .receiving = &s->receiving};
    w->ctx = (route_ctx_t){
        .db = w->db,
        .cfg = &s->cfg,
        .auth = s->auth,
        .writer = s->writer,
        .base = w->base,
        .patterns = lookup_cache_create(LOOKUP_CACHE_SIZE),
        .answers = s->cfg.answer_cache_bytes ? lookup_answers_create(s->cfg.answer_cache_bytes) : NULL,
        .fs = s->fs,
        .conns = conn_table_create(w->base, &co),
        .inflight = &s->inflight,
        .stopping = &s->stopping,
    };
    int rc = 0;
    if (fd >= 0)
        rc = listener_setup(w, &w->plain, fd, NULL, err);
    if (tls_fd >= 0) {
        if (rc == 0)
            rc = listener_setup(w, &w->tls, tls_fd, s->tls, err);
        else
            close(tls_fd);
    }
    return rc;
}

/* Logs the first rows a foreign key would refuse; the lookups never use
 * them (they check the tenant on both sides of every reference). */
static void fk_row(const char *table, const char *rowid, const char *parent, void *arg)
{
    long *logged = arg;
    if ((*logged)++ < 20)
        log_warn("row breaks a foreign key: never used", "table", table, "rowid", rowid ? rowid : "", "references",
                 parent, NULL);
}

/* The foreign-key check of a start, on its own thread and connection: on a
 * database of a million extensions it takes seconds, and lookups must not
 * wait for a report that changes nothing they do. */
static void *fk_check_main(void *arg)
{
    srv_t *s = arg;
    db_conn_t *db = NULL;
    char *err = NULL;
    long logged = 0, bad = 0;
    uint64_t t0 = w3_now_us();
    if (db_conn_open(s->cfg.db_path, false, s->cfg.db_busy_timeout_ms, &db, &err) != 0) {
        log_warn("foreign-key check at start skipped", "error", err, NULL);
        free(err);
        return NULL;
    }
    int rc = db_foreign_key_check(db, fk_row, &logged, &bad, &s->stopping);
    if (rc == -EINTR)
        log_info("foreign-key check at start stopped by the shutdown", NULL);
    else if (rc == 0 && bad > 0) {
        char n[24], ms[24];
        snprintf(n, sizeof(n), "%ld", bad);
        snprintf(ms, sizeof(ms), "%.1f", (double)(w3_now_us() - t0) / 1000.0);
        log_warn("foreign-key check at start: rows that break a reference are never used (w3voip check lists them)",
                 "rows", n, "ms", ms, NULL);
    }
    db_conn_close(db);
    return NULL;
}

static int prepare_database(srv_t *s, char **err)
{
    db_conn_t *db = NULL;
    int from = 0, to = 0;
    int rc = db_conn_open(s->cfg.db_path, true, s->cfg.db_busy_timeout_ms, &db, err);
    if (rc == 0) {
        rc = db_migrate(db, &from, &to, err);
        db_conn_close(db);
    }
    if (rc == 0 && from != to) {
        char a[16], b[16];
        snprintf(a, sizeof(a), "%d", from);
        snprintf(b, sizeof(b), "%d", to);
        log_info("database migrated", "db", s->cfg.db_path, "from", a, "to", b, NULL);
    }
    return rc;
}

/* The socket of worker i for host:want (-1 off): with port 0 the first one
 * picks the port (*bound, locked into *lock_fd), the others reuse it. -1
 * when off, -2 with *err on failure. */
static evutil_socket_t worker_socket(srv_t *s, int i, const char *host, int want, int *bound, int *lock_fd,
                                     char **lock_path, char **err)
{
    if (want < 0)
        return -1;
    evutil_socket_t fd = listen_socket(host, i == 0 ? want : *bound, err);
    if (fd < 0)
        return -2;
    if (i == 0) {
        *bound = listen_port_of(fd);
        if (want == 0 && port_lock(s, host, *bound, lock_fd, lock_path, err) != 0) {
            close(fd);
            return -2;
        }
    }
    return fd;
}

/* The descriptors the server holds besides its connections: per worker its
 * sockets, event loop and database files; the writer, the lock files, the
 * log, the start-up check, and a margin for accept bursts. */
static int reserved_fds(const srv_config_t *c)
{
    return 64 + c->workers * (c->tls_listen_host ? 12 : 10);
}

static int write_port_file(const srv_t *s, char **err)
{
    FILE *f = fopen(s->cfg.port_file, "w");
    int rc = f == NULL ? -1 : 0;
    if (rc == 0 && s->port >= 0)
        rc = fprintf(f, "%d\n", s->port) < 0 ? -1 : 0;
    if (rc == 0 && s->tls_port >= 0)
        rc = fprintf(f, s->port >= 0 ? "tls %d\n" : "%d\n", s->tls_port) < 0 ? -1 : 0;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0) {
        *err = errf("cannot write %s: %s", s->cfg.port_file, strerror(errno));
        return -EIO;
    }
    return 0;
}

srv_t *srv_create(srv_config_t *cfg, char **err)
{
    srv_t *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg)); /* the server owns the strings now */
    s->lock_fd = s->port_lock_fd = s->tls_lock_fd = -1;
    s->port = s->tls_port = -1;
    /* before libevent allocates anything: an evhttp request and its reply
     * are dozens of small allocations, freed again at once (mem.h) */
    if (w3_mem_cached())
        event_set_mem_functions(w3_mem_malloc, w3_mem_realloc, w3_mem_free);
    evthread_use_pthreads();

    s->lock_fd = lockfile_take(s->cfg.pidfile, true, err);
    if (s->lock_fd < 0)
        goto fail;
    if (s->cfg.listen_port > 0 &&
        port_lock(s, s->cfg.listen_host, s->cfg.listen_port, &s->port_lock_fd, &s->port_lock_path, err) != 0)
        goto fail;
    if (s->cfg.tls_listen_port > 0 &&
        port_lock(s, s->cfg.tls_listen_host, s->cfg.tls_listen_port, &s->tls_lock_fd, &s->tls_lock_path, err) != 0)
        goto fail;
    s->cfg.max_connections = listen_fd_budget(s->cfg.max_connections, reserved_fds(&s->cfg));
    if (s->cfg.tls_listen_host) {
        s->tls = tls_create(s->cfg.tls_cert, s->cfg.tls_key, s->cfg.tls_client_ca, err);
        if (s->tls == NULL)
            goto fail;
    }
    s->peers = peers_create(s->cfg.max_connections_per_ip);
    if (prepare_database(s, err) != 0)
        goto fail;
    s->auth = auth_create(&s->cfg, err);
    if (s->auth == NULL)
        goto fail;
    writer_opts_t wo = {.batch_max = s->cfg.writer_batch_max,
                        .delay_s = s->cfg.writer_delay_s,
                        .busy_timeout_ms = s->cfg.db_busy_timeout_ms,
                        .queue_max = 100000};
    s->writer = writer_create(s->cfg.db_path, &wo, err);
    if (s->writer == NULL)
        goto fail;
    if (srv_fsnode_create(&s->cfg, s->writer, &s->fs, err) != 0)
        goto fail;

    s->nworkers = s->cfg.workers;
    s->workers = xcalloc((size_t)s->nworkers, sizeof(*s->workers));
    for (int i = 0; i < s->nworkers; i++) {
        s->workers[i].id = i;
        int want = s->cfg.listen_port, want_tls = s->cfg.tls_listen_host ? s->cfg.tls_listen_port : -1;
        evutil_socket_t fd =
            worker_socket(s, i, s->cfg.listen_host, want, &s->port, &s->port_lock_fd, &s->port_lock_path, err);
        if (fd == -2)
            goto fail;
        evutil_socket_t tls_fd = worker_socket(s, i, s->cfg.tls_listen_host, want_tls, &s->tls_port, &s->tls_lock_fd,
                                               &s->tls_lock_path, err);
        if (tls_fd == -2) {
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        if (worker_setup(s, &s->workers[i], fd, tls_fd, err) != 0)
            goto fail;
    }
    if (s->cfg.port_file && write_port_file(s, err) != 0)
        goto fail;
    return s;
fail:
    srv_destroy(s);
    return NULL;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    log_thread_batch(schedule_flush, w);
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    log_thread_unbatch();
    return NULL;
}

static void listener_close(listener_t *l)
{
    listen_guard_destroy(l->guard);
    l->guard = NULL;
    if (l->bound) {
        evhttp_del_accept_socket(l->http, l->bound);
        l->bound = NULL;
    }
}

/* true when connections wait in l's accept queue */
static bool queued(const listener_t *l)
{
    if (l->bound == NULL)
        return false;
    struct pollfd p = {.fd = evconnlistener_get_fd(evhttp_bound_socket_get_listener(l->bound)), .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* On the worker's loop: connections already queued are still accepted
 * (for up to 0.2 s), then the listeners close. */
static void stop_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    worker_t *w = arg;
    if ((queued(&w->plain) || queued(&w->tls)) && w->stop_tries++ < 20) {
        static const struct timeval ms10 = {0, 10 * 1000};
        event_base_once(w->base, -1, EV_TIMEOUT, stop_accepting, w, &ms10);
        return;
    }
    listener_close(&w->plain);
    listener_close(&w->tls);
    atomic_fetch_sub(&w->srv->open_listeners, 1);
}

struct shutdown_state {
    srv_t *s;
    struct event *tick;
    uint64_t deadline_us;
};

static void shutdown_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct shutdown_state *st = arg;
    /* requests being answered, requests whose first byte has come, and
     * listeners still accepting what was queued before the signal */
    int inflight = atomic_load(&st->s->inflight) + atomic_load(&st->s->receiving) + atomic_load(&st->s->open_listeners);
    if (inflight > 0 && w3_now_us() < st->deadline_us) {
        struct timeval tv = {0, 10000};
        evtimer_add(st->tick, &tv);
        return;
    }
    if (inflight > 0) {
        char n[16];
        snprintf(n, sizeof(n), "%d", inflight);
        log_warn("shutdown grace expired with requests in flight", "inflight", n, NULL);
    }
    event_base_loopexit(st->s->main_base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct shutdown_state *st = arg;
    srv_t *s = st->s;
    if (sig == SIGHUP) {
        log_reopen();
        log_info("log reopened", NULL);
        char *err = NULL;
        if (s->tls && tls_reload(s->tls, &err) != 0) {
            log_error("TLS files not re-read: the ones in use stay", "error", err, NULL);
            free(err);
        } else if (s->tls) {
            log_info("TLS certificate, key and client CA re-read", NULL);
        }
        return;
    }
    if (atomic_exchange(&s->stopping, true))
        return;
    atomic_store(&s->open_listeners, s->nworkers);
    log_info("shutting down", "signal", sig == SIGTERM ? "TERM" : "INT", NULL);
    static const struct timeval now = {0, 0};
    for (int i = 0; i < s->nworkers; i++)
        event_base_once(s->workers[i].base, -1, EV_TIMEOUT, stop_accepting, &s->workers[i], &now);
    st->deadline_us = w3_now_us() + (uint64_t)(s->cfg.shutdown_grace_s * 1e6);
    shutdown_tick(-1, 0, st);
}

int srv_run(srv_t *s)
{
    signal(SIGPIPE, SIG_IGN);
    s->main_base = event_base_new();
    W3_CHECK_ALLOC(s->main_base);
    struct shutdown_state st = {.s = s};
    st.tick = evtimer_new(s->main_base, shutdown_tick, &st);
    struct event *sigs[3];
    int signums[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(s->main_base, signums[i], on_signal, &st);
        W3_CHECK_ALLOC(sigs[i]);
        event_add(sigs[i], NULL);
    }
    for (int i = 0; i < s->nworkers; i++)
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            log_error("cannot start a worker thread", NULL);
            abort();
        }
    s->fk_started = pthread_create(&s->fk_thread, NULL, fk_check_main, s) == 0;
    char port[16], tls_port[16], workers[16];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(tls_port, sizeof(tls_port), "%d", s->tls_port);
    snprintf(workers, sizeof(workers), "%d", s->nworkers);
    log_info("listening", "host", s->port >= 0 ? s->cfg.listen_host : "off", "port", port, "tls_host",
             s->tls ? s->cfg.tls_listen_host : "off", "tls_port", tls_port, "tls_client_ca",
             s->cfg.tls_client_ca ? s->cfg.tls_client_ca : "none", "workers", workers, "db", s->cfg.db_path, "jwt_alg",
             auth_jwt_alg_name(auth_key(s->auth)->alg), "fs_static_credentials", s->cfg.fs_user ? "yes" : "no",
             "event_backend", s->nworkers > 0 ? event_base_get_method(s->workers[0].base) : "none", NULL);

    event_base_dispatch(s->main_base);

    /* in order: the listeners are closed (on_signal), the requests answered;
     * now stop the worker loops, and only then the writer they submit to */
    for (int i = 0; i < s->nworkers; i++)
        event_base_loopexit(s->workers[i].base, NULL);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
    fsnode_destroy(s->fs); /* before the writer it records failed applies with */
    s->fs = NULL;
    writer_destroy(s->writer); /* commits what is queued */
    s->writer = NULL;
    /* answers of the jobs committed just now, and answers not yet written
     * out, wait on the worker loops: turn them until written (1 s at most);
     * a request read meanwhile finds no writer and gets 503 */
    for (int i = 0; i < s->nworkers; i++)
        s->workers[i].ctx.writer = NULL;
    for (int round = 0; round < 100; round++) {
        bool pending = false;
        for (int i = 0; i < s->nworkers; i++) {
            event_base_loop(s->workers[i].base, EVLOOP_NONBLOCK);
            pending |= conn_table_unsent(s->workers[i].ctx.conns);
        }
        if (!pending)
            break;
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
    }
    if (s->fk_started)
        pthread_join(s->fk_thread, NULL);
    for (int i = 0; i < 3; i++)
        event_free(sigs[i]);
    event_free(st.tick);
    log_info("stopped", NULL);
    return 0;
}

void srv_destroy(srv_t *s)
{
    if (s == NULL)
        return;
    fsnode_destroy(s->fs);
    writer_destroy(s->writer);
    for (int i = 0; s->workers && i < s->nworkers; i++) {
        worker_t *w = &s->workers[i];
        listen_guard_destroy(w->plain.guard);
        listen_guard_destroy(w->tls.guard);
        if (w->plain.http)
            evhttp_free(w->plain.http);
        if (w->tls.http)
            evhttp_free(w->tls.http);
        conn_table_destroy(w->ctx.conns);
        lookup_cache_destroy(w->ctx.patterns); /* the worker thread has ended */
        lookup_answers_destroy(w->ctx.answers);
        if (w->log_flush)
            event_free(w->log_flush);
        if (w->db_release)
            event_free(w->db_release);
        if (w->base)
            event_base_free(w->base);
        db_reader_destroy(w->db);
    }
    free(s->workers);
    if (s->main_base)
        event_base_free(s->main_base);
    auth_destroy(s->auth);
    tls_destroy(s->tls);
    peers_destroy(s->peers);
    lockfile_release(s->lock_fd, s->cfg.pidfile);
    lockfile_release(s->port_lock_fd, s->port_lock_path);
    lockfile_release(s->tls_lock_fd, s->tls_lock_path);
    free(s->port_lock_path);
    free(s->tls_lock_path);
    srv_config_free(&s->cfg);
    free(s);
}
