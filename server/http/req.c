/* Request helpers shared by every route (req.h). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "route.h"
#include "util.h"

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "OTHER";
}

bool req_init(req_t *r, struct evhttp_request *req, const route_ctx_t *w, metrics_route_t route, const char *route_name)
{
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->w = w;
    r->t0 = w3_now_us();
    r->route = route;
    r->route_name = route_name;
    r->section = MS_NONE;
    r->result = MX_OK;
    atomic_fetch_add(w->inflight, 1);
    if (conn_begin(w->conns, req))
        return true;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    req_reply_error(r, 503, "overloaded", "too many open connections; retry");
    return false;
}

static void free_body(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

static void reply(req_t *r, int status, const char *content_type, const char *body, size_t len, bool take);

void req_reply(req_t *r, int status, const char *content_type, const char *body, size_t len)
{
    reply(r, status, content_type, body, len, false);
}

void req_reply_take(req_t *r, int status, const char *content_type, char *body, size_t len)
{
    reply(r, status, content_type, body, len, true);
}

/* "addr:port" into out (cap bytes), cut at cap - 1 like snprintf. */
static void peer_format(char *out, size_t cap, const char *addr, unsigned port)
{
    char digits[6];
    size_t nd = 0;
    do
        digits[nd++] = (char)('0' + port % 10);
    while ((port /= 10) != 0 && nd < sizeof(digits));
    size_t n = 0;
    for (; *addr && n + 1 < cap; addr++)
        out[n++] = *addr;
    if (n + 1 < cap)
        out[n++] = ':';
    while (nd && n + 1 < cap)
        out[n++] = digits[--nd];
    out[n] = '\0';
}

static void reply(req_t *r, int status, const char *content_type, const char *body, size_t len, bool take)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    if (content_type)
        evhttp_add_header(out, "Content-Type", content_type);
    /* API answers hold tenant data: no cache keeps them; FreeSWITCH caches
     * nothing it fetches, and its answers skip the header (three
     * allocations and a formatted line each) */
    if (r->route != MR_FS_XML && r->route != MR_FS_CDR)
        evhttp_add_header(out, "Cache-Control", "no-store");
    if (atomic_load(r->w->stopping) && evhttp_find_header(out, "Connection") == NULL) /* no keep-alive now */
        evhttp_add_header(out, "Connection", "close");
    /* straight into the request's own output buffer: no buffer of ours */
    struct evbuffer *buf = evhttp_request_get_output_buffer(r->req);
    if (take) /* a large answer (gateways) is not copied again */
        evbuffer_add_reference(buf, body, len, free_body, NULL);
    else if (len)
        evbuffer_add(buf, body, len);
    if (status >= 500)
        r->result = MX_SERVER_ERR;
    else if (status >= 400)
        r->result = MX_CLIENT_ERR;

    uint64_t lat = w3_now_us() - r->t0;
    metrics_request(r->route, r->section, r->result, lat);
    char peer[64] = "";
    struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
    if (conn) {
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(conn, &addr, &port);
        if (addr) /* "addr:port" by hand: snprintf was 1% of a lookup */
            peer_format(peer, sizeof(peer), addr, port);
    }
    static const char *const results[MX__N] = {"ok", "not_found", "reject", "client_error", "server_error"};
    log_request_t lr = {
        .method = method_name(evhttp_request_get_command(r->req)),
        .route = r->route_name,
        .section = r->section_name,
        .domain = r->domain[0] ? r->domain : NULL,
        .key = r->key[0] ? r->key : NULL,
        .client = r->client[0] ? r->client : NULL,
        .peer = peer[0] ? peer : NULL,
        .result = r->what ? r->what : results[r->result],
        .status = status,
        .latency_us = lat,
        .bytes = len,
    };
    log_request(&lr);
    conn_end(r->w->conns, r->req);
    /* if the client has gone, libevent only frees the request */
    evhttp_send_reply(r->req, status, reason_phrase(status), NULL);
    atomic_fetch_sub(r->w->inflight, 1);
}

void req_reply_error(req_t *r, int status, const char *code, const char *message)
{
    req_reply_error_field(r, status, code, message, NULL);
}

void req_reply_error_field(req_t *r, int status, const char *code, const char *message, const char *field)
{
    /* messages may quote what the client sent: keep the JSON valid */
    w3_buf_t m = {0}, f = {0};
    w3_buf_add_utf8(&m, message, strlen(message));
    if (field)
        w3_buf_add_utf8(&f, field, strlen(field));
    json_t *j = field ? json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message", m.data, "field", f.data)
                      : json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", m.data);
    w3_buf_free(&m);
    w3_buf_free(&f);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    W3_CHECK_ALLOC(s);
    w3_buf_t b = {0};
    w3_buf_adds(&b, s);
    w3_buf_adds(&b, "\n");
    req_reply(r, status, "application/json", b.data, b.len);
    w3_buf_free(&b);
    free(s);
    json_decref(j);
}

bool req_method_ok(req_t *r, int allowed, const char *allow_header)
{
    if (evhttp_request_get_command(r->req) & allowed)
        return true;
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow_header);
    char msg[128];
    snprintf(msg, sizeof(msg), "method %s not allowed here; use %s", method_name(evhttp_request_get_command(r->req)),
             allow_header);
    req_reply_error(r, 405, "method_not_allowed", msg);
    return false;
}

/* 413 when the body is over max: false, the reply sent. */
static bool body_fits(req_t *r, size_t n, size_t max)
{
    if (n <= max)
        return true;
    char msg[128];
    snprintf(msg, sizeof(msg), "request body of %zu bytes exceeds the %zu-byte limit of this route", n, max);
    req_reply_error(r, 413, "payload_too_large", msg);
    return false;
}

int req_body(req_t *r, size_t max, char **body, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t n = evbuffer_get_length(in);
    if (!body_fits(r, n, max))
        return -EFBIG;
    char *b = xmalloc(n + 1);
    if (n)
        evbuffer_copyout(in, b, n);
    b[n] = '\0';
    *body = b;
    *len = n;
    return 0;
}

int req_body_in_place(req_t *r, size_t max, char **body, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t n = evbuffer_get_length(in);
    if (!body_fits(r, n, max))
        return -EFBIG;
    /* the terminator, then one contiguous block (a copy only when the body
     * came in several reads) */
    W3_CHECK_ALLOC(evbuffer_add(in, "", 1) == 0 ? in : NULL);
    unsigned char *b = evbuffer_pullup(in, -1);
    W3_CHECK_ALLOC(b);
    *body = (char *)b;
    *len = n;
    return 0;
}

bool req_auth_fs(req_t *r)
{
    if (r->w->cfg->tls_client_ca && !conn_client_verified(r->w->conns, r->req)) {
        metrics_auth_failure("client_cert");
        r->what = "client_cert";
        req_reply_error(r, 403, "client_certificate_required",
                        "/fs/... is served only over HTTPS with a client certificate signed by --tls-client-ca");
        return false;
    }
    const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    const char *reason = "missing";
    int rc = auth_fs(r->w->auth, hdr, r->client, sizeof(r->client), &reason);
    if (rc == 0)
        return true;
    metrics_auth_failure(reason);
    r->what = reason;
    if (rc != -EPERM) { /* -EACCES: no or bad credentials */
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
                          "Basic realm=\"w3voipd\", charset=\"UTF-8\"");
        req_reply_error(r, 401, "unauthorized",
                        "valid credentials required (HTTP Basic: the static FreeSWITCH credentials or a "
                        "platform token)");
    } else {
        req_reply_error(r, 403, "forbidden",
                        "a tenant token cannot use /fs/...: use the static credentials or a platform token "
                        "(scope pbx)");
    }
    return false;
}

bool req_conn_watch(req_t *r, void (*on_close)(void *arg), void *arg)
{
    return conn_watch(r->w->conns, r->req, on_close, arg);
}
