/* The W3 JSON API (SPEC §9), Bearer JWT. Each route: method → auth → query
 * → tenant scope → db_api_* → one JSON reply. A tenant token reaches only its
 * own domain (403 otherwise); a platform token (scope pbx) reaches any.
 * Refusals go to metrics and the request log, never to the database. */
#include <errno.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "util.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
/* meta_json of an API-posted CDR (documented in the README) */
#define META_JSON_MAX (2u * 1024 * 1024)

static void reply_db(api_req_t *a, int rc, char *json, const char *what)
{
    if (rc == 0) {
        /* a page may be megabytes: handed to libevent, not copied */
        size_t n = strlen(json);
        json = xrealloc(json, n + 2);
        memcpy(json + n, "\n", 2);
        req_reply_take(&a->r, 200, "application/json", json, n + 1);
        return;
    } else if (rc == -ENOENT)
        req_reply_error(&a->r, 404, "not_found", what);
    else {
        METRICS_INC(db_errors);
        req_reply_error(&a->r, 503, "unavailable", "database unavailable");
    }
    free(json);
}

static void route_snapshot(struct evhttp_request *req, void *arg)
{
    api_req_t a;
    const route_ctx_t *w = arg;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_PUT) {
        route_prov_snapshot_put(req, w);
        return;
    }
    if (api_begin(&a, req, w, "/api/voip/provision/snapshot", EVHTTP_REQ_GET, "GET, PUT")) {
        const char *d = api_need(&a, "sip_domain");
        if (d && api_scope_ok(&a, d)) {
            char *json = NULL;
            db_read_begin(w->db);
            long long gen = 0; /* read in the same snapshot as the rows */
            int rc = db_config_gen(w->db, a.tenant.tenant_id, &gen);
            if (rc == 0)
                rc = db_api_snapshot(w->db, a.tenant.sip_domain, &json);
            db_read_end(w->db);
            if (rc == 0) { /* the generation it reflects, also as the ETag (If-Match of a PUT) */
                w3_buf_t b = {0};
                w3_buf_printf(&b, "{\"generation\":%lld,%s", gen, json + 1);
                free(json);
                json = b.data;
                char etag[32];
                snprintf(etag, sizeof(etag), "\"%lld\"", gen);
                evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", etag);
            }
            reply_db(&a, rc, json, "nothing");
        }
    }
    api_done(&a);
}

static void route_inbound(struct evhttp_request *req, void *arg)
{
    api_req_t a;
    const route_ctx_t *w = arg;
    if (api_begin(&a, req, w, "/api/voip/routes/inbound", EVHTTP_REQ_GET, "GET")) {
        const char *d = api_need(&a, "sip_domain");
        const char *did = d ? api_need(&a, "did") : NULL;
        if (did && api_scope_ok(&a, d)) {
            /* a raw '+' in a query decodes to a space: put it back */
            char e164[40];
            snprintf(e164, sizeof(e164), "%s%s", did[0] == ' ' ? "+" : "", did[0] == ' ' ? did + 1 : did);
            if (strncmp(e164, "00", 2) == 0)
                snprintf(e164, sizeof(e164), "+%s", did + 2);
            w3_strlcpy(a.r.key, e164, sizeof(a.r.key));
            char *json = NULL;
            int rc = db_api_inbound(w->db, a.tenant.sip_domain, e164, &json);
            reply_db(&a, rc, json, "no enabled DID with that number in this domain");
        }
    }
    api_done(&a);
}

static void route_extension(struct evhttp_request *req, void *arg)
{
    api_req_t a;
    const route_ctx_t *w = arg;
    if (api_begin(&a, req, w, "/api/voip/extensions/by-number", EVHTTP_REQ_GET, "GET")) {
        const char *d = api_need(&a, "sip_domain");
        const char *ext = d ? api_need(&a, "ext") : NULL;
        if (ext && api_scope_ok(&a, d)) {
            w3_strlcpy(a.r.key, ext, sizeof(a.r.key));
            char *json = NULL;
            int rc = db_api_extension(w->db, a.tenant.sip_domain, ext, &json);
            reply_db(&a, rc, json, "no such extension in this domain");
        }
    }
    api_done(&a);
}

/* cursor and limit of a listing; false when a 400 was sent */
static bool paging(api_req_t *a, long long *after, int *limit)
{
    const char *c = api_param(a, "cursor"), *l = api_param(a, "limit");
    char *end = NULL;
    *after = 0;
    *limit = PAGE_DEFAULT;
    if (c) {
        *after = strtoll(c, &end, 10);
        if (*end || *after < 0) {
            req_reply_error(&a->r, 400, "bad_request", "cursor must be the next_cursor of a previous page");
            return false;
        }
    }
    if (l) {
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > PAGE_MAX) {
            req_reply_error(&a->r, 400, "bad_request", "limit must be between 1 and 1000");
            return false;
        }
        *limit = (int)v;
    }
    return true;
}

typedef struct cdr_post {
    api_req_t a;
    json_t *body;
    db_api_cdr_t c;
    char sha[65];
    char *meta;
    const char *field; /* JSON pointer of the field a 422 names */
    long long id;
    db_api_cdr_outcome_t outcome;
} cdr_post_t;

static void post_free(cdr_post_t *p)
{
    json_decref(p->body);
    free(p->meta);
    api_done(&p->a);
    free(p);
}

static int post_store(db_conn_t *db, void *arg)
{
    cdr_post_t *p = arg;
    return db_api_cdr_store(db, &p->c, &p->id, &p->outcome);
}

static void post_stored(void *arg, int rc)
{
    cdr_post_t *p = arg;
    char out[160];
    if (rc != 0) {
        METRICS_INC(db_errors);
        req_reply_error(&p->a.r, 503, "unavailable", "the CDR could not be stored now; retry later");
    } else if (p->outcome == DB_API_CDR_BAD_STORE) {
        req_reply_error_field(&p->a.r, 422, "invalid_cdr", "store_id is not a store of this tenant", "/store_id");
    } else if (p->outcome == DB_API_CDR_BAD_USER) {
        req_reply_error_field(&p->a.r, 422, "invalid_cdr", "user_id is not a user of this tenant", "/user_id");
    } else if (p->outcome == DB_API_CDR_CONFLICT) {
        req_reply_error(&p->a.r, 409, "conflict",
                        "a different CDR was already stored for this sip_domain, call_id and leg");
    } else if (p->outcome == DB_API_CDR_DUPLICATE) {
        METRICS_INC(cdr_duplicate);
        snprintf(out, sizeof(out), "{\"status\":\"duplicate\"}");
        api_reply_json(&p->a.r, 200, out);
    } else {
        METRICS_INC(cdr_ingested);
        snprintf(out, sizeof(out), "{\"status\":\"stored\",\"id\":%lld}", p->id);
        api_reply_json(&p->a.r, 201, out);
    }
    post_free(p);
}

static const char *str_field(json_t *o, const char *name, bool *bad)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    const char *s = json_string_value(v);
    return *s ? s : NULL;
}

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return true;
    return false;
}

/* Validates the posted CDR; NULL when fine, else the message of a 422 (and
 * p->field the pointer of the field at fault). */
static const char *validate(cdr_post_t *p)
{
    /* each field with its JSON pointer, spelt once */
#define F(x)                                                                                                           \
    {                                                                                                                  \
#x, "/" #x, offsetof(db_api_cdr_t, x)                                                                          \
    }
    static const struct api_field {
        const char *name, *pointer;
        size_t off;
    } fields[] = {
        F(tenant_id), F(store_id), F(user_id),     F(sip_domain),    F(call_id),    F(leg),
        F(direction), F(from_uri), F(to_uri),      F(did_e164),      F(ext_number), F(start_ts),
        F(answer_ts), F(end_ts),   F(disposition), F(recording_url),
    };
    static const struct api_field required[] = {F(sip_domain), F(call_id), F(direction), F(start_ts)};
#undef F
    json_t *o = p->body;
    db_api_cdr_t *c = &p->c;
    for (size_t i = 0; i < W3_ARRAY_LEN(fields); i++) {
        bool bad = false;
        *(const char **)((char *)c + fields[i].off) = str_field(o, fields[i].name, &bad);
        if (bad) {
            p->field = fields[i].pointer;
            return "every field except billsec and meta_json must be a string or null";
        }
    }
    static const char *const dirs[] = {"inbound", "outbound", "internal", NULL};
    static const char *const disps[] = {"ANSWERED", "NO ANSWER", "BUSY", "FAILED", NULL};
    static const char *const legs[] = {"A", "B", NULL};
    for (size_t i = 0; i < W3_ARRAY_LEN(required); i++)
        if (*(const char **)((char *)c + required[i].off) == NULL) {
            p->field = required[i].pointer;
            return "sip_domain, call_id, direction and start_ts are required";
        }
    if (!c->leg)
        c->leg = "A";
    if (!one_of(c->leg, legs)) {
        p->field = "/leg";
        return "leg must be A or B";
    }
    if (!one_of(c->direction, dirs)) {
        p->field = "/direction";
        return "direction must be inbound, outbound or internal";
    }
    if (c->disposition && !one_of(c->disposition, disps)) {
        p->field = "/disposition";
        return "disposition must be ANSWERED, NO ANSWER, BUSY or FAILED";
    }
    const char *const ts[] = {c->start_ts, c->answer_ts, c->end_ts};
    const char *const ts_ptr[] = {"/start_ts", "/answer_ts", "/end_ts"};
    for (int i = 0; i < 3; i++)
        if (ts[i] && !w3_iso8601_valid(ts[i])) {
            p->field = ts_ptr[i];
            return "timestamps must be real ISO-8601 dates (e.g. 2026-11-25T12:13:53Z)";
        }
    json_t *b = json_object_get(o, "billsec");
    if (b && !json_is_null(b) && (!json_is_integer(b) || json_integer_value(b) < 0)) {
        p->field = "/billsec";
        return "billsec must be a non-negative integer";
    }
    c->billsec = b && json_is_integer(b) ? (long)json_integer_value(b) : 0;
    json_t *g = json_object_get(o, "config_gen");
    if (g && !json_is_null(g) && (!json_is_integer(g) || json_integer_value(g) < 0)) {
        p->field = "/config_gen";
        return "config_gen must be a non-negative integer (the call's w3_config_gen)";
    }
    c->config_gen = g && json_is_integer(g) ? (long long)json_integer_value(g) : -1;
    if (strlen(c->call_id) > 128) {
        p->field = "/call_id";
        return "call_id is longer than 128 characters";
    }
    if (strlen(c->sip_domain) > 253) {
        p->field = "/sip_domain";
        return "sip_domain is longer than 253 characters";
    }
    json_t *meta = json_object_get(o, "meta_json");
    /* meta_json: any JSON value, or a string holding JSON */
    p->field = "/meta_json";
    if (meta && json_is_string(meta)) {
        json_error_t err;
        json_t *parsed = json_loadb(json_string_value(meta), json_string_length(meta),
                                    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
        if (parsed == NULL)
            return "meta_json is a string that does not hold JSON (or holds a duplicated key)";
        p->meta = json_dumps(parsed, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(parsed);
    } else {
        p->meta = meta ? json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("{}");
    }
    W3_CHECK_ALLOC(p->meta);
    if (strlen(p->meta) > META_JSON_MAX)
        return "meta_json is larger than 2 MiB";
    p->field = NULL;
    c->meta_json = p->meta;
    return NULL;
}

static void route_cdr(struct evhttp_request *req, void *arg)
{
    const route_ctx_t *w = arg;
    cdr_post_t *p = xcalloc(1, sizeof(*p));
    api_req_t *a = &p->a;
    if (!api_begin(a, req, w, "/api/voip/cdr", EVHTTP_REQ_GET | EVHTTP_REQ_POST, "GET, POST")) {
        post_free(p);
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        const char *d = api_need(a, "sip_domain");
        long long after;
        int limit;
        const char *from = api_param(a, "from"), *to = api_param(a, "to");
        const char *bad = from && !w3_iso8601_valid(from) ? "from" : to && !w3_iso8601_valid(to) ? "to" : NULL;
        if (d && bad) {
            char msg[128];
            snprintf(msg, sizeof(msg), "query parameter '%s' must be a real ISO-8601 date or date-time", bad);
            req_reply_error_field(&a->r, 400, "bad_request", msg, bad);
        } else if (d && paging(a, &after, &limit) && api_scope_ok(a, d)) {
            const char *inc = api_param(a, "include");
            char *json = NULL;
            int rc = db_api_cdr_list(w->db, a->tenant.sip_domain, from, to, after, limit,
                                     inc && strcmp(inc, "meta") == 0, &json);
            reply_db(a, rc, json, "nothing");
        }
        post_free(p);
        return;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        req_reply_error(&a->r, 415, "unsupported_media_type", "POST a JSON body (Content-Type: application/json)");
        post_free(p);
        return;
    }
    char *body = NULL;
    size_t len = 0;
    if (req_body(&a->r, w->cfg->api_body_max, &body, &len) != 0) {
        post_free(p);
        return;
    }
    json_error_t err;
    p->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (p->body == NULL && json_error_code(&err) == json_error_duplicate_key) {
        /* the same key twice: which one counts depends on the parser */
        w3_buf_t ptr = {0};
        w3_json_pointer_at(body, len, (size_t)err.position, &ptr);
        free(body);
        req_reply_error_field(&a->r, 422, "invalid_cdr", "duplicated key in the JSON body", ptr.data);
        w3_buf_free(&ptr);
        post_free(p);
        return;
    }
    free(body);
    if (p->body == NULL || !json_is_object(p->body)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "body is not a JSON object: %s", p->body ? "not an object" : err.text);
        req_reply_error(&a->r, 400, "bad_request", msg);
        post_free(p);
        return;
    }
    const char *why = validate(p);
    if (why) {
        req_reply_error_field(&a->r, 422, "invalid_cdr", why, p->field);
        post_free(p);
        return;
    }
    if (!api_scope_ok(a, p->c.sip_domain)) {
        post_free(p);
        return;
    }
    if (p->c.tenant_id && strcmp(p->c.tenant_id, a->tenant.tenant_id) != 0) {
        req_reply_error_field(&a->r, 422, "invalid_cdr", "tenant_id does not own sip_domain", "/tenant_id");
        post_free(p);
        return;
    }
    p->c.tenant_id = a->tenant.tenant_id;
    p->c.sip_domain = a->tenant.sip_domain;
    /* the identity of the content, independent of key order and spacing */
    char *canon = json_dumps(p->body, JSON_COMPACT | JSON_SORT_KEYS);
    W3_CHECK_ALLOC(canon);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL);
    free(canon);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(p->sha + 2 * i, 3, "%02x", md[i]);
    p->c.body_sha256 = p->sha;
    w3_strlcpy(a->r.key, p->c.call_id, sizeof(a->r.key));

    int rc = writer_submit(w->writer, w->base, post_store, post_stored, p);
    if (rc != 0) {
        req_reply_error(&a->r, 503, "unavailable", "write queue full; retry later");
        post_free(p);
    }
}

static void route_activity(struct evhttp_request *req, void *arg)
{
    api_req_t a;
    const route_ctx_t *w = arg;
    if (api_begin(&a, req, w, "/api/voip/activity", EVHTTP_REQ_GET, "GET")) {
        const char *d = api_need(&a, "sip_domain");
        long long after;
        int limit;
        if (d && paging(&a, &after, &limit) && api_scope_ok(&a, d)) {
            char *json = NULL;
            int rc = db_api_activity(w->db, a.tenant.sip_domain, after, limit, &json);
            reply_db(&a, rc, json, "nothing");
        }
    }
    api_done(&a);
}

void route_api_register(struct evhttp *http, route_ctx_t *w)
{
    evhttp_set_cb(http, "/api/voip/provision/snapshot", route_snapshot, w);
    evhttp_set_cb(http, "/api/voip/routes/inbound", route_inbound, w);
    evhttp_set_cb(http, "/api/voip/extensions/by-number", route_extension, w);
    evhttp_set_cb(http, "/api/voip/cdr", route_cdr, w);
    evhttp_set_cb(http, "/api/voip/activity", route_activity, w);
}
