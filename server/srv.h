/* The serving skeleton: N worker threads, each with its own event_base,
 * evhttp, SO_REUSEPORT listening socket on the same port and read-only
 * database connection; one writer thread for every write (writer.h).
 *
 * Ownership: srv_create() returns a server owning its workers, writer, auth
 * and the config it was given (freed by srv_destroy(), which accepts NULL). */
#ifndef W3_SRV_H
#define W3_SRV_H

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../schema/db.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "writer.h"

typedef struct srv srv_t;
typedef struct srv_conn srv_conn_t;
#define SRV_CONN_BUCKETS 1024

typedef struct srv_worker {
    int id;
    srv_t *srv;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    evutil_socket_t fd;
    struct evhttp_bound_socket *bound;
    db_reader_t *db;
    srv_conn_t *conns[SRV_CONN_BUCKETS]; /* open connections of this worker */
    struct event *sweep;
} srv_worker_t;

struct srv {
    srv_config_t cfg;
    auth_t *auth;
    writer_t *writer;
    srv_worker_t *workers;
    int nworkers;
    int port;
    int lock_fd;
    int port_lock_fd;
    struct event_base *main_base;
    atomic_int inflight;
    atomic_int connections;
    atomic_bool stopping;
};

/* Opens, migrates, binds and locks; *err names what failed. */
srv_t *srv_create(srv_config_t *cfg, char **err);
/* Runs until SIGTERM/SIGINT, then shuts down gracefully. */
int srv_run(srv_t *s);
void srv_destroy(srv_t *s);

/* Request-scoped state of one HTTP request (every route). Freed when the
 * reply is sent. */
typedef struct srv_req {
    struct evhttp_request *req;
    srv_worker_t *w;
    uint64_t t0;
    metrics_route_t route;
    metrics_section_t section;
    metrics_result_t result;
    const char *route_name;
    char client[129];
    char domain[254];
    char key[96];
    const char *section_name;
    const char *what;
} srv_req_t;

/* Starts a request; false when the reply was already sent (the connection
 * is over --max-connections): the route returns at once. */
bool srv_req_init(srv_req_t *r, struct evhttp_request *req, srv_worker_t *w, metrics_route_t route,
                  const char *route_name);
/* Sends the one reply of the request, counts it and writes the log line. */
void srv_reply(srv_req_t *r, int status, const char *content_type, const char *body, size_t len);
/* The same, taking ownership of a malloc'd body (freed by libevent once sent). */
void srv_reply_take(srv_req_t *r, int status, const char *content_type, char *body, size_t len);
/* JSON error {"error":{"code","message"}}. */
void srv_reply_error(srv_req_t *r, int status, const char *code, const char *message);
/* false (and 405 sent with Allow) unless the method is one of allowed
 * (EVHTTP_REQ_* mask). */
bool srv_method_ok(srv_req_t *r, int allowed, const char *allow_header);
/* Copies the request body (NUL-terminated) when it fits max; otherwise sends
 * 413 and returns -EFBIG. The caller frees *body. */
int srv_body(srv_req_t *r, size_t max, char **body, size_t *len);
/* Called by srv_req_init/srv_reply: the connection is being answered (its
 * deadline waits), or is refused (503 sent: false). */
bool srv_req_begin(srv_req_t *r);
void srv_req_end(srv_req_t *r);
/* Calls on_close(arg) if the client goes away before the reply (set NULL
 * to stop watching). false when the connection is unknown. The reply may
 * still be sent afterwards: libevent then just frees the request. */
bool srv_conn_watch(srv_req_t *r, void (*on_close)(void *arg), void *arg);

/* /fs/... authentication: false when a 401/403 was sent. */
bool srv_auth_fs(srv_req_t *r);

/* Route callbacks (one file each). */
void route_fs_xml(struct evhttp_request *req, void *arg);
void route_fs_cdr(struct evhttp_request *req, void *arg);
/* Registers every /api/voip/... route (route_api.c). */
void srv_api_register(struct evhttp *http, srv_worker_t *w);
void route_healthz(struct evhttp_request *req, void *arg);
void route_readyz(struct evhttp_request *req, void *arg);
void route_metrics(struct evhttp_request *req, void *arg);
void route_not_found(struct evhttp_request *req, void *arg);

#endif
