/* POST /fs/cdr — mod_json_cdr and mod_xml_cdr. method → auth → body →
 * parse (here, on the worker) → the writer thread stores the leg (or the
 * unparseable body) → the reply is sent only after that batch is committed
 * with synchronous=FULL: a 2xx means the CDR is on disk. FreeSWITCH never
 * re-sends a CDR it got a 2xx for, and writes the others to its err-log-dir. */
#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "cdr.h"
#include "route.h"
#include "util.h"

typedef struct cdr_job {
    req_t r;
    bool conn_closed;
    bool reject;
    const char *why;
    char *body;
    size_t len;
    char *content_type;
    char *query;
    cdr_rec_t rec;
    db_cdr_result_t res;
} cdr_job_t;

static void job_free(cdr_job_t *j)
{
    cdr_rec_free(&j->rec);
    free(j->body);
    free(j->content_type);
    free(j->query);
    free(j);
}

/* writer thread */
static int store(db_conn_t *db, void *arg)
{
    cdr_job_t *j = arg;
    if (j->reject)
        return db_cdr_reject_store(db, j->why, j->content_type, j->query, j->body, j->len);
    return db_cdr_store(db, &j->rec, &j->res);
}

static void on_close(void *arg)
{
    cdr_job_t *j = arg;
    j->conn_closed = true;
}

/* worker thread, after the batch committed (rc 0) or failed */
static void stored(void *arg, int rc)
{
    cdr_job_t *j = arg;
    if (j->conn_closed)
        /* FreeSWITCH gave up (its timeout) and keeps the CDR in its
         * err-log-dir; if committed, re-posting it is a duplicate */
        j->r.what = "client_gone";
    if (rc != 0) {
        METRICS_INC(db_errors);
        req_reply_error(&j->r, 503, "unavailable", "the CDR could not be stored now; retry later");
    } else if (j->reject) {
        METRICS_INC(cdr_rejected);
        req_reply_error(&j->r, 400, "unparseable_cdr", j->why);
    } else {
        METRICS_INC(cdr_ingested);
        if (j->res.duplicate)
            METRICS_INC(cdr_duplicate);
        w3_strlcpy(j->r.domain, j->res.sip_domain, sizeof(j->r.domain));
        w3_strlcpy(j->r.key, j->rec.fs_uuid ? j->rec.fs_uuid : "", sizeof(j->r.key));
        if (!j->conn_closed)
            j->r.what = j->res.duplicate ? "duplicate" : j->res.attributed ? "stored" : "stored_unattributed";
        /* written by hand: jansson's pack and dump were a tenth of a
         * worker's share of an ingested CDR */
        w3_buf_t b = {0};
        w3_buf_reserve(&b, 256);
        w3_buf_adds(&b, j->res.duplicate ? "{\"status\":\"duplicate\",\"leg\":" : "{\"status\":\"stored\",\"leg\":");
        w3_buf_add_json_string(&b, j->rec.leg ? j->rec.leg : "");
        w3_buf_adds(&b, ",\"call_id\":");
        w3_buf_add_json_string(&b, j->rec.call_id ? j->rec.call_id : "");
        w3_buf_adds(&b, j->res.attributed ? ",\"attributed\":true" : ",\"attributed\":false");
        if (j->res.id)
            w3_buf_printf(&b, ",\"id\":%lld", (long long)j->res.id);
        if (j->res.attributed) {
            w3_buf_adds(&b, ",\"tenant_id\":");
            w3_buf_add_json_string(&b, j->res.tenant_id);
        }
        w3_buf_add(&b, "}", 1);
        req_reply(&j->r, j->res.duplicate ? 200 : 201, "application/json", b.data, b.len);
        w3_buf_free(&b);
    }
    job_free(j);
}

void route_fs_cdr(struct evhttp_request *req, void *arg)
{
    const route_ctx_t *w = arg;
    cdr_job_t *j = xcalloc(1, sizeof(*j));
    if (!req_init(&j->r, req, w, MR_FS_CDR, "/fs/cdr") || !req_method_ok(&j->r, EVHTTP_REQ_POST, "POST") ||
        !req_auth_fs(&j->r) || req_body(&j->r, w->cfg->cdr_body_max, &j->body, &j->len) != 0) {
        job_free(j);
        return;
    }
    if (j->len == 0) {
        req_reply_error(&j->r, 400, "bad_request", "empty body: expected a CDR");
        job_free(j);
        return;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    j->content_type = ct ? xstrdup(ct) : NULL;
    j->query = q ? xstrdup(q) : NULL;
    if (cdr_parse(j->body, j->len, j->query, &j->rec, &j->why) != 0)
        j->reject = true; /* kept verbatim, then 400 */

    req_conn_watch(&j->r, on_close, j);
    int rc = writer_submit(w->writer, w->base, store, stored, j);
    if (rc != 0) {
        req_reply_error(&j->r, 503, "unavailable",
                        rc == -EAGAIN ? "CDR queue full; retry later" : "shutting down; retry later");
        job_free(j);
    }
}
