/* What a route sees: a narrow context per worker (its read connection, the
 * settings, auth, the writer, its event loop), never the server itself. One
 * file per route family (route_*.c), each reading top to bottom: method →
 * auth → parse → db_* → render → exactly one reply (req.h).
 *
 * Ownership: the server owns every context and everything it points to; a
 * route borrows them for the length of a request. */
#ifndef W3_ROUTE_H
#define W3_ROUTE_H

#include <event2/http.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "writer.h"

typedef struct conn_table conn_table_t;
struct lookup_cache;
struct fsnode;

typedef struct route_ctx {
    db_reader_t *db; /* this worker's read-only connection */
    const srv_config_t *cfg;
    const auth_t *auth;
    writer_t *writer;
    struct event_base *base;        /* this worker's loop: writer replies land here */
    struct lookup_cache *patterns;  /* this worker's compiled route patterns */
    struct lookup_answers *answers; /* this worker's rendered answers (NULL: off) */
    struct fsnode *fs;              /* the event-socket client (NULL: no --fs-node) */
    /* plumbing of req.c */
    conn_table_t *conns;
    atomic_int *inflight;
    const atomic_bool *stopping;
} route_ctx_t;

/* evhttp callbacks; arg is the worker's route_ctx_t. */
void route_fs_xml(struct evhttp_request *req, void *arg);
void route_fs_cdr(struct evhttp_request *req, void *arg);
void route_healthz(struct evhttp_request *req, void *arg);
void route_readyz(struct evhttp_request *req, void *arg);
void route_metrics(struct evhttp_request *req, void *arg);
void route_not_found(struct evhttp_request *req, void *arg);
void route_nodes(struct evhttp_request *req, void *arg); /* route_nodes.c */
/* Registers every /api/voip/... route (route_api.c). */
void route_api_register(struct evhttp *http, route_ctx_t *ctx);
/* Provisioning writes (route_prov.c): the snapshot's PUT, and every path
 * under /api/voip/provision/ that is not the snapshot (route_not_found
 * hands them over: evhttp matches exact paths only). */
void route_prov_snapshot_put(struct evhttp_request *req, const route_ctx_t *ctx);
void route_prov_object(struct evhttp_request *req, void *arg);
bool route_prov_match(const char *path);

#include "req.h"

#endif
