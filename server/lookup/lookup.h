/* The answer to one mod_xml_curl request, as a pure function of the body and
 * the database: the HTTP route (route_fs_xml.c) and `w3voip render` both call
 * lookup_answer(), so the CLI shows exactly what the server would send.
 *
 * Ownership: lookup_result_free() releases res->body. */
#ifndef W3_LOOKUP_H
#define W3_LOOKUP_H

#include <stddef.h>

#include "db.h"
#include "xg.h"
#include "config.h"
#include "form.h"
#include "metrics.h"

typedef struct lookup_ctx {
    db_reader_t *db;
    const srv_config_t *cfg;
    /* Optional narrator (w3voip explain): each decision in words. NULL in
     * the server. */
    void (*trace)(void *arg, const char *line);
    void *trace_arg;
} lookup_ctx_t;

/* Narrates one decision when ctx->trace is set. */
void lookup_trace(const lookup_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct lookup_result {
    int status;              /* 200, 400, 500 (cannot render safely) or 503 */
    xg_out_t body;           /* the XML when status is 200 */
    const char *error;       /* what was wrong, for 400/503 (static) */
    metrics_section_t section;
    metrics_result_t result; /* ok / not_found / reject */
    const char *what;        /* "user", "domain", "gateways", "did", … for the log */
    char domain[254];        /* for the log: the domain looked up */
    char key[96];            /* for the log: user, DID or dialled number */
} lookup_result_t;

void lookup_answer(const lookup_ctx_t *ctx, const char *body, size_t len, lookup_result_t *res);
void lookup_result_free(lookup_result_t *res);

/* Section handlers (lookup_directory.c, lookup_dialplan.c): they run inside
 * the request's read transaction and fill res. */
void lookup_directory(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res);
void lookup_dialplan(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res);

/* The static dialplan of one tenant (w3voip export): its context (named
 * after the domain), its public DID extensions, and the catch-all that
 * refuses unknown DIDs. 0 or -EIO/-EINVAL; the caller frees the outputs. */
int lookup_export_dialplan(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *context_doc,
                           xg_out_t *public_doc, xg_out_t *reject_doc);

/* Frees the calling thread's caches (compiled route patterns); call before
 * a thread that ran lookups exits. */
void lookup_cache_clear(void);

/* Helpers shared by the handlers. */
void lookup_not_found(lookup_result_t *res);
void lookup_db_error(lookup_result_t *res, const char *what);

#endif
