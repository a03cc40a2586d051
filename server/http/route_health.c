/* /healthz (the process answers), /readyz (the database answers with the
 * schema this binary expects), /metrics (Prometheus text), and the 404 of
 * every unknown path. No authentication: nothing here is secret. */
#include <event2/http.h>
#include <stdio.h>

#include "fsnode.h"
#include "route.h"
#include "util.h"

void route_healthz(struct evhttp_request *req, void *arg)
{
    req_t r;
    if (!req_init(&r, req, arg, MR_HEALTH, "/healthz"))
        return;
    if (!req_method_ok(&r, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "GET, HEAD"))
        return;
    req_reply(&r, 200, "text/plain", "ok\n", 3);
}

void route_readyz(struct evhttp_request *req, void *arg)
{
    const route_ctx_t *w = arg;
    req_t r;
    if (!req_init(&r, req, w, MR_HEALTH, "/readyz"))
        return;
    if (!req_method_ok(&r, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "GET, HEAD"))
        return;
    int version = -1;
    char msg[160];
    if (db_reader_schema_version(w->db, &version) != 0) {
        METRICS_INC(db_errors);
        req_reply_error(&r, 503, "unavailable", "database not reachable");
        return;
    }
    if (version != db_migrations_count) {
        snprintf(msg, sizeof(msg), "database schema version %d, this server needs %d", version, db_migrations_count);
        req_reply_error(&r, 503, "unavailable", msg);
        return;
    }
    if (atomic_load(w->stopping)) {
        req_reply_error(&r, 503, "unavailable", "shutting down");
        return;
    }
    int n = snprintf(msg, sizeof(msg), "ready schema=%d\n", version);
    req_reply(&r, 200, "text/plain", msg, (size_t)n);
}

void route_metrics(struct evhttp_request *req, void *arg)
{
    req_t r;
    if (!req_init(&r, req, arg, MR_METRICS, "/metrics"))
        return;
    if (!req_method_ok(&r, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "GET, HEAD"))
        return;
    w3_buf_t b = {0};
    metrics_render(&b);
    fsnode_metrics_render(((const route_ctx_t *)arg)->fs, &b);
    writer_metrics_render(((const route_ctx_t *)arg)->writer, &b);
    req_reply(&r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    w3_buf_free(&b);
}

void route_not_found(struct evhttp_request *req, void *arg)
{
    if (route_prov_match(evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)))) {
        route_prov_object(req, arg);
        return;
    }
    req_t r;
    if (!req_init(&r, req, arg, MR_OTHER, "other"))
        return;
    char msg[300];
    snprintf(msg, sizeof(msg), "no such path: %.200s",
             evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req))
                 ? evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req))
                 : "?");
    req_reply_error(&r, 404, "not_found", msg);
}
