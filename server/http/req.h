/* Request-scoped state and the one reply of every request: counted in the
 * metrics and written as one log line.
 *
 * Ownership: a req_t lives in the route's frame (or its job struct) and owns
 * nothing; req_reply_take() hands a malloc'd body to libevent. */
#ifndef W3_REQ_H
#define W3_REQ_H

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct route_ctx;

typedef struct req {
    struct evhttp_request *req;
    const struct route_ctx *w;
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
} req_t;

/* Starts a request; false when the reply was already sent (the connection
 * is over --max-connections): the route returns at once. */
bool req_init(req_t *r, struct evhttp_request *req, const struct route_ctx *w, metrics_route_t route,
              const char *route_name);
/* Sends the one reply of the request, counts it and writes the log line. */
void req_reply(req_t *r, int status, const char *content_type, const char *body, size_t len);
/* The same, taking ownership of a malloc'd body (freed by libevent once sent). */
void req_reply_take(req_t *r, int status, const char *content_type, char *body, size_t len);
/* JSON error {"error":{"code","message"}}. */
void req_reply_error(req_t *r, int status, const char *code, const char *message);
/* The same with "field": the JSON pointer (or query parameter) at fault. */
void req_reply_error_field(req_t *r, int status, const char *code, const char *message, const char *field);
/* false (and 405 sent with Allow) unless the method is one of allowed
 * (EVHTTP_REQ_* mask). */
bool req_method_ok(req_t *r, int allowed, const char *allow_header);
/* Copies the request body (NUL-terminated) when it fits max; otherwise sends
 * 413 and returns -EFBIG. The caller frees *body. */
int req_body(req_t *r, size_t max, char **body, size_t *len);
/* The same without a copy: *body points into the request's input buffer
 * (NUL-terminated, writable, freed with the request). */
int req_body_in_place(req_t *r, size_t max, char **body, size_t *len);
/* /fs/... authentication: false when a 401/403 was sent. */
bool req_auth_fs(req_t *r);
/* Calls on_close(arg) if the client goes away before the reply (set NULL
 * to stop watching). false when the connection is unknown. The reply may
 * still be sent afterwards: libevent then just frees the request. */
bool req_conn_watch(req_t *r, void (*on_close)(void *arg), void *arg);

#endif
