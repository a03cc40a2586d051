/* Provisioning writes (issue 11): PUT of a tenant's snapshot, PUT/DELETE of
 * one object, PUT/DELETE of a tenant. Method → auth → scope → query and
 * If-Match → body → prov_run on the writer thread → one reply. An
 * authenticated write that is refused leaves an activity row (rate-limited
 * per client in server/provision); an unauthenticated one never reaches
 * the database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api.h"
#include "form.h"
#include "prov.h"
#include "util.h"

#define PREFIX "/api/voip/provision/"

typedef struct prov_job {
    api_req_t a;
    json_t *body;
    prov_req_t rq;
    prov_result_t res;
    char *key;
    char domain[254];
    char actor[140];
    int status; /* a refusal decided here, logged by the writer */
    const char *code;
    char message[300];
    char field[320]; /* as prov_result_t.field: a longer pointer would be dropped (w3_strlcpy) */
} prov_job_t;

static void job_free(prov_job_t *j)
{
    json_decref(j->body);
    prov_result_free(&j->res);
    free(j->key);
    api_done(&j->a);
    free(j);
}

static int refusal_write(db_conn_t *db, void *arg)
{
    prov_job_t *j = arg;
    prov_refusal_log(db, &j->rq, j->status, j->message, j->field);
    return 0;
}

static void refusal_reply(prov_job_t *j)
{
    req_reply_error_field(&j->a.r, j->status, j->code, j->message, j->field[0] ? j->field : NULL);
    job_free(j);
}

static void refusal_done(void *arg, int rc)
{
    (void)rc; /* the refusal is answered whether its row was kept or not */
    refusal_reply(arg);
}

/* A refusal decided before the writer: its activity row is written first
 * (rate-limited), then it is answered, so the row exists when the client
 * reads the answer. */
static void refuse(prov_job_t *j, int status, const char *code, const char *message, const char *field)
{
    METRICS_INC(prov_refusals);
    w3_strlcpy(j->message, message, sizeof(j->message));
    w3_strlcpy(j->field, field ? field : "", sizeof(j->field));
    j->status = status;
    j->code = code;
    j->rq.domain = j->domain[0] ? j->domain : NULL; /* submit() has not set them yet */
    j->rq.key = j->key;
    const char *dry = api_param(&j->a, "dry_run"); /* a dry run changes nothing, the log neither */
    if (!(dry && (strcmp(dry, "1") == 0 || strcmp(dry, "true") == 0)) && prov_refusal_allowed(j->rq.actor) &&
        writer_submit(j->a.r.w->writer, j->a.r.w->base, refusal_write, refusal_done, j) == 0)
        return;
    refusal_reply(j);
}

static int job_run(db_conn_t *db, void *arg)
{
    prov_job_t *j = arg;
    prov_run(db, &j->rq, &j->res);
    return 0; /* a refusal's activity row is kept */
}

static void job_done(void *arg, int rc)
{
    prov_job_t *j = arg;
    req_t *r = &j->a.r;
    if (rc != 0) { /* the batch did not commit: nothing was written */
        METRICS_INC(db_errors);
        req_reply_error(r, 503, "unavailable", "the write could not be committed now; retry later");
    } else if (j->res.rc == 0) {
        char etag[32];
        snprintf(etag, sizeof(etag), "\"%lld\"", j->res.generation);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "ETag", etag);
        size_t n = strlen(j->res.json);
        char *body = xrealloc(j->res.json, n + 2);
        memcpy(body + n, "\n", 2);
        j->res.json = NULL;
        req_reply_take(r, 200, "application/json", body, n + 1);
    } else {
        static const struct {
            int rc, status;
            const char *code;
        } map[] = {{-ENOENT, 404, "not_found"},
                   {-EINVAL, 422, "invalid"},
                   {-EEXIST, 409, "conflict"},
                   {-ESTALE, 412, "precondition_failed"},
                   {-EPERM, 403, "forbidden"}};
        int status = 503;
        const char *code = "unavailable";
        for (size_t i = 0; i < W3_ARRAY_LEN(map); i++)
            if (map[i].rc == j->res.rc) {
                status = map[i].status;
                code = map[i].code;
            }
        if (status == 503)
            METRICS_INC(db_errors);
        req_reply_error_field(r, status, code, j->res.message, j->res.field[0] ? j->res.field : NULL);
    }
    job_free(j);
}

/* ?dry_run= and If-Match; false when a refusal was sent. */
static bool options(prov_job_t *j)
{
    const char *d = api_param(&j->a, "dry_run");
    if (d && strcmp(d, "1") && strcmp(d, "true") && strcmp(d, "0") && strcmp(d, "false")) {
        refuse(j, 400, "bad_request", "dry_run must be 1, true, 0 or false", "dry_run");
        return false;
    }
    j->rq.dry_run = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
    j->rq.if_match = -1;
    const char *m = evhttp_find_header(evhttp_request_get_input_headers(j->a.r.req), "If-Match");
    if (m == NULL || strcmp(m, "*") == 0)
        return true;
    char *end = NULL;
    const char *p = m[0] == '"' ? m + 1 : m;
    long long g = strtoll(p, &end, 10);
    if (end == p || g < 0 || (m[0] == '"' ? strcmp(end, "\"") : strcmp(end, "")) != 0) {
        refuse(j, 400, "bad_request", "If-Match must be the ETag of a snapshot: \"N\"", "If-Match");
        return false;
    }
    j->rq.if_match = g;
    return true;
}

/* The JSON body, parsed where libevent holds it; false when a refusal was sent. */
static bool body(prov_job_t *j, size_t max)
{
    struct evhttp_request *req = j->a.r.req;
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        refuse(j, 415, "unsupported_media_type", "send a JSON body (Content-Type: application/json)", NULL);
        return false;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > max) {
        char msg[160];
        snprintf(msg, sizeof(msg), "request body of %zu bytes exceeds the %zu-byte limit of this route", n, max);
        refuse(j, 413, "payload_too_large", msg, NULL);
        return false;
    }
    const char *text = (const char *)evbuffer_pullup(in, -1);
    json_error_t err;
    j->body = json_loadb(text ? text : "", n, JSON_REJECT_DUPLICATES, &err);
    if (j->body == NULL && json_error_code(&err) == json_error_duplicate_key) {
        w3_buf_t ptr = {0};
        w3_json_pointer_at(text, n, (size_t)err.position, &ptr);
        refuse(j, 422, "invalid", "duplicated key in the JSON body", ptr.data);
        w3_buf_free(&ptr);
        return false;
    }
    if (j->body == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "body is not JSON: %s at line %d, column %d", prov_json_error(&err), err.line,
                 err.column);
        refuse(j, 400, "bad_request", msg, NULL);
        return false;
    }
    return true;
}

static void submit(prov_job_t *j)
{
    j->rq.domain = j->domain;
    j->rq.key = j->key;
    j->rq.body = j->body;
    if (writer_submit(j->a.r.w->writer, j->a.r.w->base, job_run, job_done, j) != 0) {
        req_reply_error(&j->a.r, 503, "unavailable", "write queue full; retry later");
        job_free(j);
    }
}

/* The decoded segment [s, e) of the path (%XX decoded, an incomplete or
 * non-hex escape and '+' kept as they are); NULL when it decodes to
 * nothing, holds a NUL or is not UTF-8. Decoded here rather than by
 * evhttp_uridecode(), whose result libevent allocates with its own
 * allocator (mem.h). */
static char *segment(const char *s, const char *e)
{
    char *out = xstrndup(s, (size_t)(e - s));
    size_t n = form_pct_decode_nul(out, (size_t)(e - s));
    if (n == 0 || strlen(out) != n || w3_utf8_valid_prefix(out, n) != n) {
        free(out);
        return NULL;
    }
    return out;
}

static prov_job_t *job_begin(struct evhttp_request *req, const route_ctx_t *w, const char *route, int methods,
                             const char *allow)
{
    prov_job_t *j = xcalloc(1, sizeof(*j));
    if (!api_begin(&j->a, req, w, route, methods, allow)) {
        job_free(j);
        return NULL;
    }
    w3_strlcpy(j->actor, j->a.claims.client_id, sizeof(j->actor));
    j->rq.actor = j->actor;
    if (!j->a.claims.platform) {
        j->rq.log_domain = j->a.claims.sip_domain;
        j->rq.scope_tenant_id = j->a.claims.tenant_id;
    }
    return j;
}

/* A tenant's domain, in scope of the token: false when a refusal was sent. */
static bool scope(prov_job_t *j, const char *domain)
{
    w3_strlcpy(j->domain, domain, sizeof(j->domain));
    const char *code, *message;
    int status = api_scope_check(&j->a, domain, &code, &message);
    if (status == 404) /* the domain as stored decides; prov_run answers 404 */
        return true;
    if (status) {
        refuse(j, status, code, message, status == 403 ? "sip_domain" : NULL);
        return false;
    }
    w3_strlcpy(j->domain, j->a.tenant.sip_domain, sizeof(j->domain));
    return true;
}

void route_prov_snapshot_put(struct evhttp_request *req, const route_ctx_t *w)
{
    prov_job_t *j = job_begin(req, w, "/api/voip/provision/snapshot", EVHTTP_REQ_PUT, "GET, PUT");
    if (j == NULL)
        return;
    j->rq.mode = PROV_SNAPSHOT;
    const char *d = api_param(&j->a, "sip_domain");
    if (d == NULL) {
        refuse(j, 400, "bad_request", "missing query parameter 'sip_domain'", "sip_domain");
        return;
    }
    if (scope(j, d) && options(j) && body(j, w->cfg->provision_body_max))
        submit(j);
}

/* /api/voip/provision/{kind}/{key} and /api/voip/provision/tenants/{domain} */
void route_prov_object(struct evhttp_request *req, void *arg)
{
    const route_ctx_t *w = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    const char *rest = path + strlen(PREFIX);
    const char *slash = strchr(rest, '/');
    bool tenants = slash && (size_t)(slash - rest) == 7 && strncmp(rest, "tenants", 7) == 0;
    prov_job_t *j = job_begin(req, w, tenants ? "/api/voip/provision/tenants" : "/api/voip/provision/object",
                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE, "PUT, DELETE");
    if (j == NULL)
        return;
    bool del = evhttp_request_get_command(req) == EVHTTP_REQ_DELETE;
    char kind[32] = "";
    if (slash && (size_t)(slash - rest) < sizeof(kind))
        memcpy(kind, rest, (size_t)(slash - rest));
    int k = prov_kind_from_url(kind);
    j->key = slash && !strchr(slash + 1, '/') ? segment(slash + 1, slash + 1 + strlen(slash + 1)) : NULL;
    if ((!tenants && k < 0) || j->key == NULL) {
        refuse(j, 404, "not_found",
               "use /api/voip/provision/{stores|trunks|dids|extensions|routes|ring-groups|ai-agents}/{key}"
               "?sip_domain=D or /api/voip/provision/tenants/{sip_domain}",
               NULL);
        return;
    }
    w3_strlcpy(j->a.r.key, j->key, sizeof(j->a.r.key));
    if (tenants) {
        j->rq.mode = del ? PROV_TENANT_DELETE : PROV_TENANT_PUT;
        w3_strlcpy(j->domain, j->key, sizeof(j->domain));
        w3_strlcpy(j->a.r.domain, j->key, sizeof(j->a.r.domain));
        if (!j->a.claims.platform) {
            metrics_auth_failure("tenant_scope");
            refuse(j, 403, "forbidden", "tenants are written with a platform token only", NULL);
            return;
        }
        if (options(j) && (del || body(j, w->cfg->api_body_max)))
            submit(j);
        return;
    }
    j->rq.mode = del ? PROV_DELETE : PROV_PUT;
    j->rq.kind = (db_pkind_t)k;
    const char *d = api_param(&j->a, "sip_domain");
    if (d == NULL) {
        refuse(j, 400, "bad_request", "missing query parameter 'sip_domain'", "sip_domain");
        return;
    }
    if (scope(j, d) && options(j) && (del || body(j, w->cfg->api_body_max)))
        submit(j);
}

bool route_prov_match(const char *path)
{
    return path && strncmp(path, PREFIX, strlen(PREFIX)) == 0;
}
