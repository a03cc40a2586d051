/* GET /api/voip/nodes (platform token): each FreeSWITCH event socket, its
 * state, since when, what it last applied and its last error. */
#include <event2/http.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsnode.h"
#include "route.h"
#include "util.h"

static json_t *node_json(const fsnode_status_t *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "node", json_string(s->node));
    json_object_set_new(o, "connected", json_boolean(s->connected));
    json_t *since = json_null();
    if (s->since_ms > 0) {
        char ts[40];
        time_t t = (time_t)(s->since_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)(s->since_ms % 1000));
        since = json_string(ts);
    }
    json_object_set_new(o, "since", since);
    json_object_set_new(o, "applied_activity_id", json_integer(s->applied_id));
    json_t *g = s->generations ? json_loads(s->generations, 0, NULL) : NULL;
    json_object_set_new(o, "generations", g ? g : json_object());
    json_object_set_new(o, "last_error", s->last_error[0] ? json_string(s->last_error) : json_null());
    json_t *c = json_object();
    json_object_set_new(c, "ok", json_integer((json_int_t)s->ok));
    json_object_set_new(c, "error", json_integer((json_int_t)s->error));
    json_object_set_new(c, "timeout", json_integer((json_int_t)s->timeout));
    json_object_set_new(o, "commands", c);
    json_object_set_new(o, "auth_failures", json_integer((json_int_t)s->auth_failures));
    json_object_set_new(o, "queued", json_integer(s->queued));
    return o;
}

void route_nodes(struct evhttp_request *req, void *arg)
{
    const route_ctx_t *w = arg;
    req_t r;
    auth_jwt_claims_t claims;
    const char *reason = "missing";
    if (!req_init(&r, req, w, MR_API, "/api/voip/nodes"))
        return;
    if (!req_method_ok(&r, EVHTTP_REQ_GET, "GET"))
        return;
    const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (auth_api(w->auth, hdr, &claims, &reason) != 0) {
        metrics_auth_failure(reason);
        r.what = reason;
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"w3voipd\", error=\"invalid_token\"");
        req_reply_error(&r, 401, "unauthorized", "a valid Bearer JWT is required");
        return;
    }
    w3_strlcpy(r.client, claims.client_id, sizeof(r.client));
    if (!claims.platform) {
        metrics_auth_failure("tenant_scope");
        req_reply_error(&r, 403, "forbidden", "the nodes are shared by every tenant: a platform token is required");
        return;
    }
    int n = 0;
    fsnode_status_t *st = fsnode_status(w->fs, &n);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, node_json(&st[i]));
    fsnode_status_free(st, n);
    json_t *top = json_object();
    json_object_set_new(top, "nodes", list);
    char *body = json_dumps(top, JSON_COMPACT);
    json_decref(top);
    W3_CHECK_ALLOC(body);
    size_t len = strlen(body);
    body = xrealloc(body, len + 2);
    memcpy(body + len, "\n", 2);
    req_reply_take(&r, 200, "application/json", body, len + 1);
}
