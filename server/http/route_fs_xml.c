/* POST /fs/xml — mod_xml_curl. method → auth → body → lookup → one reply.
 * Every authenticated, well-formed lookup gets 200 (FreeSWITCH treats any
 * other status like "not found" and falls back to its static files). GET
 * with a query string is what a binding with `method` set to GET sends. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lookup.h"
#include "route.h"
#include "util.h"

static const char *section_name(metrics_section_t s)
{
    return s == MS_DIRECTORY ? "directory" : s == MS_DIALPLAN ? "dialplan" : s == MS_OTHER ? "other" : NULL;
}

void route_fs_xml(struct evhttp_request *req, void *arg)
{
    const route_ctx_t *w = arg;
    req_t r;
    char *body = NULL, *copy = NULL; /* copy: a GET's query */
    size_t len = 0;
    if (!req_init(&r, req, w, MR_FS_XML, "/fs/xml"))
        return;
    if (!req_method_ok(&r, EVHTTP_REQ_POST | EVHTTP_REQ_GET, "POST, GET"))
        return;
    if (!req_auth_fs(&r))
        return;

    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
        body = copy = xstrdup(q ? q : "");
        len = strlen(body);
    } else {
        const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
            req_reply_error(&r, 415, "unsupported_media_type",
                            "expected Content-Type application/x-www-form-urlencoded (mod_xml_curl)");
            return;
        }
        if (req_body_in_place(&r, w->cfg->xml_body_max, &body, &len) != 0)
            return;
    }
    if (len == 0) {
        free(copy);
        req_reply_error(&r, 400, "bad_request", "empty body: expected a mod_xml_curl form");
        return;
    }

    lookup_ctx_t ctx = {.db = w->db, .cfg = w->cfg, .cache = w->patterns, .answers = w->answers};
    lookup_result_t res;
    lookup_answer_in_place(&ctx, body, len, &res);
    free(copy);

    r.section = res.section;
    r.section_name = section_name(res.section);
    r.result = res.result;
    r.what = res.what;
    w3_strlcpy(r.domain, res.domain, sizeof(r.domain));
    w3_strlcpy(r.key, res.key, sizeof(r.key));
    if (res.rc == 0) {
        req_reply_take(&r, 200, "text/xml", res.body.data, res.body.len);
        res.body.data = NULL;
    } else
        req_reply_error(&r, lookup_http_status(res.rc), res.rc == -EINVAL ? "bad_request" : "unavailable",
                        res.error ? res.error : "error");
    lookup_result_free(&res);
}
