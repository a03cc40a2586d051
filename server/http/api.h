/* What every /api/voip/... route shares (route_api.c, route_prov.c): the
 * request with its query, the Bearer token's claims and the tenant it
 * reaches. Each route: api_begin (method, auth, query) → api_scope_ok
 * (tenant scope) → its work → one reply → api_done.
 *
 * Ownership: an api_req_t lives in the route's frame or job struct;
 * api_done frees its query. */
#ifndef W3_API_H
#define W3_API_H

#include <event2/keyvalq_struct.h>

#include "route.h"

typedef struct api_req {
    req_t r;
    struct evkeyvalq q;
    auth_jwt_claims_t claims;
    db_tenant_t tenant;
} api_req_t;

/* method → auth → query: false when a reply was sent. */
bool api_begin(api_req_t *a, struct evhttp_request *req, const route_ctx_t *w, const char *route, int methods,
               const char *allow);
void api_done(api_req_t *a);
/* Whether the token may reach domain, and a->tenant then filled: 0, or the
 * HTTP status of the refusal with its code and message (nothing sent). */
int api_scope_check(api_req_t *a, const char *domain, const char **code, const char **message);
/* The same, sending the refusal: false when a reply was sent. */
bool api_scope_ok(api_req_t *a, const char *domain);
/* A query parameter, NULL when absent or empty. */
const char *api_param(api_req_t *a, const char *name);
/* The same, sending 400 when it is missing. */
const char *api_need(api_req_t *a, const char *name);
void api_reply_json(req_t *r, int status, const char *json);

#endif
