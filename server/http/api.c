/* The shared steps of the /api/voip/... routes (api.h). A tenant token
 * reaches only its own domain (403 otherwise); a platform token (scope pbx)
 * reaches any. Refusals go to metrics and the request log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>

#include "api.h"
#include "util.h"

void api_done(api_req_t *a)
{
    evhttp_clear_headers(&a->q);
}

void api_reply_json(req_t *r, int status, const char *json)
{
    w3_buf_t b = {0};
    w3_buf_adds(&b, json);
    w3_buf_adds(&b, "\n");
    req_reply(r, status, "application/json", b.data, b.len);
    w3_buf_free(&b);
}

int api_scope_check(api_req_t *a, const char *domain, const char **code, const char **message)
{
    const route_ctx_t *w = a->r.w;
    w3_strlcpy(a->r.domain, domain, sizeof(a->r.domain));
    *code = "forbidden";
    if (!a->claims.platform && strcasecmp(a->claims.sip_domain, domain) != 0) {
        metrics_auth_failure("tenant_scope");
        *message = "this token's tenant cannot access that sip_domain";
        return 403;
    }
    int rc = db_tenant_by_domain(w->db, domain, &a->tenant);
    if (rc == -EIO) {
        METRICS_INC(db_errors);
        *code = "unavailable";
        *message = "database unavailable";
        return 503;
    }
    if (!a->claims.platform && rc == 0 && strcmp(a->claims.tenant_id, a->tenant.tenant_id) != 0) {
        metrics_auth_failure("tenant_scope");
        *message = "this token's tenant_id does not own that sip_domain";
        return 403;
    }
    if (rc != 0) {
        *code = "not_found";
        *message = "unknown sip_domain";
        return 404;
    }
    return 0;
}

bool api_scope_ok(api_req_t *a, const char *domain)
{
    const char *code, *message;
    int status = api_scope_check(a, domain, &code, &message);
    if (status)
        req_reply_error(&a->r, status, code, message);
    return status == 0;
}

bool api_begin(api_req_t *a, struct evhttp_request *req, const route_ctx_t *w, const char *route, int methods,
               const char *allow)
{
    TAILQ_INIT(&a->q);
    if (!req_init(&a->r, req, w, MR_API, route))
        return false;
    if (!req_method_ok(&a->r, methods, allow))
        return false;
    const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    const char *reason = "missing";
    if (auth_api(w->auth, hdr, &a->claims, &reason) != 0) {
        metrics_auth_failure(reason);
        a->r.what = reason;
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"w3voipd\", error=\"invalid_token\"");
        char msg[160];
        snprintf(msg, sizeof(msg), "a valid Bearer JWT is required (%s)", reason);
        req_reply_error(&a->r, 401, "unauthorized", msg);
        return false;
    }
    w3_strlcpy(a->r.client, a->claims.client_id, sizeof(a->r.client));
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (query && evhttp_parse_query_str(query, &a->q) != 0) {
        req_reply_error(&a->r, 400, "bad_request", "malformed query string");
        return false;
    }
    return true;
}

const char *api_param(api_req_t *a, const char *name)
{
    const char *v = evhttp_find_header(&a->q, name);
    return v && *v ? v : NULL;
}

const char *api_need(api_req_t *a, const char *name)
{
    const char *v = api_param(a, name);
    if (v == NULL) {
        char msg[96];
        snprintf(msg, sizeof(msg), "missing query parameter '%s'", name);
        req_reply_error(&a->r, 400, "bad_request", msg);
    }
    return v;
}
