/* The answer to one mod_xml_curl request, as a pure function of the body and
 * the database: the HTTP route (route_fs_xml.c) and `w3voip render` both call
 * lookup_answer(), so the CLI shows exactly what the server would send.
 *
 * Ownership: lookup_result_free() releases res->body. */
#ifndef W3_LOOKUP_H
#define W3_LOOKUP_H

#include <regex.h>
#include <stddef.h>

#include "db.h"
#include "xg.h"
#include "config.h"
#include "form.h"
#include "metrics.h"

/* Compiled route patterns, owned by one thread (each worker, the CLI):
 * bounded at max entries, evicting the least recently used one at a time.
 * LOOKUP_CACHE_SIZE holds every route of far more than nine tenants. */
typedef struct lookup_cache lookup_cache_t;
#define LOOKUP_CACHE_SIZE 1024
lookup_cache_t *lookup_cache_create(size_t max);
void lookup_cache_destroy(lookup_cache_t *c); /* accepts NULL */
/* The compiled form of pattern: 0 with *re (valid until the next call on
 * c), or -EINVAL with *why (outside the safe subset or not compiling). */
int lookup_cache_get(lookup_cache_t *c, const char *pattern, const regex_t **re, const char **why);
size_t lookup_cache_count(const lookup_cache_t *c);

/* 0 when a route pattern is within the safe subset (anchored ^…$; digits,
 * '#', \+ \* \#; bracket classes of digits; groups and '|'; ? * + {m}
 * {m,n} with n <= 32; no back-reference; no quantifier on a group holding
 * one; at most 256 characters): POSIX ERE and PCRE then match it alike and
 * cannot stall. Else -EINVAL with the reason in why[cap]. Pure. */
int lookup_pattern_safe(const char *pattern, char *why, size_t cap);

/* The per-worker cache of rendered answers (lookup_answers.c), owned by one
 * thread; lookup_answers_destroy(NULL) is a no-op. Never stale: an answer
 * is kept for one global configuration generation, read in the request's
 * own snapshot, and for exactly the form values its lookup read. Answers
 * that hold secrets from outside the database (purpose=gateways) are never
 * kept. */
typedef struct lookup_answers lookup_answers_t;
lookup_answers_t *lookup_answers_create(size_t max_bytes);
void lookup_answers_destroy(lookup_answers_t *c);
size_t lookup_answers_bytes(const lookup_answers_t *c);

typedef struct lookup_ctx {
    db_reader_t *db;
    const srv_config_t *cfg;
    /* the worker's answer cache; NULL: every request is looked up */
    lookup_answers_t *answers;
    /* the caller's pattern cache; NULL compiles each pattern per use */
    lookup_cache_t *cache;
    /* Optional narrator (w3voip explain): each decision in words. NULL in
     * the server. */
    void (*trace)(void *arg, const char *line);
    void *trace_arg;
} lookup_ctx_t;

/* Narrates one decision when ctx->trace is set. */
void lookup_trace(const lookup_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct lookup_result {
    int rc;            /* 0 answered (body), -EINVAL malformed request, -EIO database
                          unavailable, -EPROTO no answer can be rendered safely */
    xg_out_t body;     /* the XML when rc is 0 */
    const char *error; /* what was wrong, for 400/503 (static) */
    metrics_section_t section;
    metrics_result_t result; /* ok / not_found / reject */
    const char *what;        /* "user", "domain", "gateways", "did", … for the log */
    char domain[254];        /* for the log: the domain looked up */
    char key[96];            /* for the log: user, DID or dialled number */
} lookup_result_t;

void lookup_answer(const lookup_ctx_t *ctx, const char *body, size_t len, lookup_result_t *res);
/* The same without copying the body: body[0..len) is rewritten (split and
 * decoded in place) and body[len] must be '\0'. res holds nothing of it. */
void lookup_answer_in_place(const lookup_ctx_t *ctx, char *body, size_t len, lookup_result_t *res);

/* The form fields a lookup read, in order (what the answer cache keys on). */
#define LOOKUP_READS_MAX 64
typedef struct lookup_reads {
    struct {
        char name[64];
        const char *value; /* NULL: absent */
    } v[LOOKUP_READS_MAX];
    size_t n;
    bool overflow; /* more reads than kept: the answer is not cached */
} lookup_reads_t;
void lookup_reads_add(void *arg, const char *name, const char *value);
bool lookup_answers_get(lookup_answers_t *c, const db_stamp_t *s, const form_t *f, lookup_result_t *res);
void lookup_answers_put(lookup_answers_t *c, const db_stamp_t *s, const lookup_reads_t *reads,
                        const lookup_result_t *res);
/* The HTTP status mod_xml_curl gets for rc: 200, 400, 503 or 500. The one
 * status known below server/http, because `w3voip render` must show exactly
 * what the route sends (CONTRIBUTING.md, Errors). */
int lookup_http_status(int rc);
void lookup_result_free(lookup_result_t *res);

/* Section handlers (lookup_directory.c, lookup_dialplan.c): they run inside
 * the request's read transaction and fill res. */
void lookup_directory(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res);
void lookup_dialplan(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res);

/* The static dialplan of one tenant (w3voip export): its context (named
 * after the domain), its public DID extensions, and the catch-all that
 * refuses unknown DIDs. A route that cannot be exported as it is (its
 * pattern outside the safe subset, so PCRE might read it otherwise) is left
 * out: left_out(arg, message naming it) is called and the count is added to
 * *nleft_out. 0 or -EIO/-EINVAL/-E2BIG; the caller frees the outputs. */
int lookup_export_dialplan(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *context_doc, xg_out_t *public_doc,
                           xg_out_t *reject_doc, void (*left_out)(void *arg, const char *message), void *arg,
                           int *nleft_out);

/* Helpers shared by the handlers. */
void lookup_not_found(lookup_result_t *res);
void lookup_db_error(lookup_result_t *res, const char *what);

#endif
