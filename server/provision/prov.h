/* Provisioning: W3's desired state in, validated as a whole, diffed
 * against the database and written in one step (issue 11). Shared by the
 * HTTP API (server/http/route_prov.c, on the writer thread) and
 * `w3voip apply` (server/cli), so both validate and answer alike.
 *
 * Return convention (CONTRIBUTING.md): 0, or -errno in res->rc with a
 * message and the JSON pointer of the field at fault; the HTTP layer maps
 * them (-ENOENT 404, -EINVAL 422, -EEXIST 409, -ESTALE 412, -EPERM 403,
 * -EIO 503).
 *
 * Ownership: the request borrows everything it points to; the result owns
 * its json (prov_result_free). prov_run runs on the thread that owns db,
 * inside that connection's transaction. */
#ifndef W3_PROV_H
#define W3_PROV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "db_prov.h"

typedef enum {
    PROV_SNAPSHOT,      /* body: the tenant's desired state */
    PROV_PUT,           /* body: one object of kind, named by key */
    PROV_DELETE,        /* kind, key */
    PROV_TENANT_PUT,    /* body: the tenant named by domain */
    PROV_TENANT_DELETE, /* disables the tenant named by domain */
} prov_mode_t;

typedef struct prov_req {
    prov_mode_t mode;
    const char *domain;
    db_pkind_t kind;
    const char *key;
    const json_t *body;
    const char *actor; /* the token's sub / client_id; "cli" for w3voip apply */
    bool dry_run;
    long long if_match; /* -1 when the request has no If-Match */
    /* where a refusal row is filed: a tenant token's own domain; NULL: domain */
    const char *log_domain;
    /* a tenant token's tenant_id (NULL: platform): checked again against the
     * domain's owner on the writer, where it cannot change meanwhile */
    const char *scope_tenant_id;
} prov_req_t;

typedef struct prov_result {
    int rc;
    char message[512];
    char field[320]; /* JSON pointer, "" when none */
    long long generation;
    size_t nchanges;
    char *json; /* the 200 answer: {"generation":N,"changes":[...]} */
} prov_result_t;

/* The kind a URL segment names ("ring-groups"), or -1. */
int prov_kind_from_url(const char *segment);
const char *prov_kind_name(db_pkind_t k); /* "ring_groups": the snapshot's list */

/* Plans, validates and (unless dry_run) applies; res->rc says how it went.
 * A refused write leaves one 'refused' activity row (at most 10 per actor
 * per second; the rest are only counted). Returns res->rc. */
int prov_run(db_conn_t *db, const prov_req_t *rq, prov_result_t *res);
/* A refusal decided before prov_run (bad JSON, wrong tenant, too large):
 * the same activity row; the caller asked prov_refusal_allowed first (so
 * that a flood never reaches the writer's queue). */
void prov_refusal_log(db_conn_t *db, const prov_req_t *rq, int status, const char *message, const char *field);
/* Whether one more refusal row may be written for actor now. Thread-safe. */
bool prov_refusal_allowed(const char *actor);
void prov_result_free(prov_result_t *res);
/* What is wrong with a body jansson refused, without quoting it (the text
 * near the error may be the inside of a password). Static string. */
const char *prov_json_error(const json_error_t *err);

#endif
