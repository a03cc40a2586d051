#include "lookup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void lookup_trace(const lookup_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->trace == NULL)
        return;
    /* growable: a 64-leg ring group is narrated whole */
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    W3_CHECK_ALLOC(n >= 0 ? line : NULL);
    ctx->trace(ctx->trace_arg, line);
    free(line);
}

int lookup_http_status(int rc)
{
    switch (rc) {
    case 0:
        return 200;
    case -EINVAL:
        return 400;
    case -EIO:
        return 503;
    default:
        return 500;
    }
}

void lookup_result_free(lookup_result_t *res)
{
    xg_out_free(&res->body);
}

void lookup_not_found(lookup_result_t *res)
{
    xg_out_free(&res->body);
    if (xg_not_found(&res->body) != 0) {
        res->rc = -EPROTO;
        res->error = "cannot render the not-found document";
        return;
    }
    res->rc = 0;
    res->result = MX_NOT_FOUND;
}

void lookup_db_error(lookup_result_t *res, const char *what)
{
    METRICS_INC(db_errors);
    xg_out_free(&res->body);
    res->rc = -EIO;
    res->error = what;
    res->result = MX_SERVER_ERR;
}

static void answer(const lookup_ctx_t *ctx, form_t *f, lookup_result_t *res);

void lookup_answer(const lookup_ctx_t *ctx, const char *body, size_t len, lookup_result_t *res)
{
    char *copy = xstrndup(body, len); /* res keeps nothing of it */
    lookup_answer_in_place(ctx, copy, len, res);
    free(copy);
}

void lookup_answer_in_place(const lookup_ctx_t *ctx, char *body, size_t len, lookup_result_t *res)
{
    form_t f;
    const char *why = NULL;
    memset(res, 0, sizeof(*res));
    res->section = MS_NONE;
    if (form_parse_in_place(&f, body, len, &why) != 0) {
        res->rc = -EINVAL;
        res->error = why;
        res->result = MX_CLIENT_ERR;
        return;
    }
    answer(ctx, &f, res);
    form_free(&f);
}

/* The form stays the caller's. */
static void answer(const lookup_ctx_t *ctx, form_t *f, lookup_result_t *res)
{
    const char *section = form_get(f, "section");
    if (section == NULL || *section == '\0') {
        res->rc = -EINVAL;
        res->error = "missing form field 'section' (is this a mod_xml_curl request?)";
        res->result = MX_CLIENT_ERR;
        return;
    }
    if (strcmp(section, "directory") == 0)
        res->section = MS_DIRECTORY;
    else if (strcmp(section, "dialplan") == 0)
        res->section = MS_DIALPLAN;
    else
        res->section = MS_OTHER;

    if (res->section == MS_OTHER) {
        /* configuration, phrases, …: not ours, FreeSWITCH uses its files */
        res->what = "section";
        lookup_not_found(res);
        return;
    }
    db_stamp_t seen = {.gen = -1}, now = {.gen = -1};
    bool asked = false;
    /* nothing committed since the last stamp: the cache answers without a
     * transaction */
    if (ctx->answers && db_config_unchanged(ctx->db, &seen) && seen.trusted) {
        if (lookup_answers_get(ctx->answers, &seen, f, res)) {
            METRICS_INC(answer_cache_hits);
            return;
        }
        asked = true;
    }
    if (db_read_begin(ctx->db) != 0) {
        if (res->section == MS_DIRECTORY) {
            lookup_db_error(res, "database unavailable");
            return;
        }
    }
    lookup_reads_t reads_buf, *reads = NULL;
    if (ctx->answers && db_config_stamp(ctx->db, &now) == 0 && now.trusted) {
        /* the stamp of this request's own snapshot (asked of the cache
         * once: a miss at the same stamp stays one) */
        bool same = asked && now.gen == seen.gen && now.schema == seen.schema;
        if (!same && lookup_answers_get(ctx->answers, &now, f, res)) {
            METRICS_INC(answer_cache_hits);
            db_read_end(ctx->db);
            return;
        }
        METRICS_INC(answer_cache_misses);
        reads = &reads_buf; /* ~4.6 KB: on the worker's stack */
        reads->n = 0;
        reads->overflow = false;
        lookup_reads_add(reads, "section", section);
        f->on_read = lookup_reads_add;
        f->on_read_arg = reads;
    }
    if (res->section == MS_DIRECTORY)
        lookup_directory(ctx, f, res);
    else
        lookup_dialplan(ctx, f, res);
    db_read_end(ctx->db);
    f->on_read = NULL;
    /* the gateways document holds secrets read from outside the database */
    if (reads && !(res->what && strcmp(res->what, "gateways") == 0))
        lookup_answers_put(ctx->answers, &now, reads, res);
}
