/* Private to server/provision: the kinds and their fields (prov_kinds.c),
 * the plan (prov_plan.c) and the run (prov_run.c). */
#ifndef W3_PROV_INTERNAL_H
#define W3_PROV_INTERNAL_H

#include "prov.h"

typedef enum { V_STR, V_INT, V_BOOL, V_OBJ, V_ARR } vtype_t;

enum {
    PF_NULL = 1 << 0,   /* JSON null allowed (stored as NULL) */
    PF_SECRET = 1 << 1, /* write-only: never answered, kept when absent */
    PF_TENANT = 1 << 2, /* tenant_id: taken from the query, checked when given */
    PF_DOMAIN = 1 << 3, /* sip_domain: the same */
};

/* A field check: NULL when v is fine, else what is wrong with it. */
typedef const char *(*pcheck_fn)(const json_t *v);

typedef struct pfield {
    const char *name;
    vtype_t type;
    const char *def; /* JSON text used when the field is absent; NULL: required */
    pcheck_fn check;
    unsigned flags;
} pfield_t;

/* What refers to what, checked over the whole desired state. */
typedef enum { R_NONE, R_STORE, R_DID_TARGET, R_MEMBERS } pref_t;

typedef struct pkind {
    const char *list;     /* "ring_groups": the snapshot's list */
    const char *url;      /* "ring-groups" */
    const char *singular; /* "ring_group": a change's kind */
    const char *id;       /* "ring_group_id" */
    const char *key;      /* "ref": the natural key */
    const pfield_t *fields;
} pkind_t;

extern const pkind_t prov_kinds[DB_PK__N];
const pfield_t *prov_field(const pkind_t *k, const char *name);
/* The checks the plan runs outside the field table. */
const char *prov_check_password(const json_t *v);
const char *prov_check_tenant_field(const char *name, const json_t *v);
/* A tenant's sip_domain: DNS labels. */
const char *prov_check_domain(const char *domain);

/* One object of the desired state. */
typedef struct pobj {
    json_t *row;   /* normalised: every field of its kind (owned) */
    json_t *cur;   /* the stored row it replaces, NULL for a new one (borrowed) */
    char *ptr;     /* where it is in the body ("/extensions/3", "" for a PUT's
                    * body), NULL when kept as stored */
    bool fresh_id; /* its id is a UUID made for it */
} pobj_t;

typedef struct pset {
    pobj_t *v;
    size_t n, cap;
    json_t *by_id, *by_key; /* value -> index in v */
} pset_t;

typedef enum { OP_CREATE, OP_UPDATE, OP_DELETE } pop_t;

typedef struct pchange {
    db_pkind_t kind;
    pop_t op;
    json_t *before, *after; /* borrowed: a stored row, a desired row */
    const char *ptr;        /* of the desired object, or NULL */
    bool members_changed;
} pchange_t;

typedef struct plan {
    db_conn_t *db;
    const prov_req_t *rq;
    prov_result_t *res;
    db_tenant_t tenant;
    json_t *cur[DB_PK__N]; /* the stored rows */
    json_t *cur_by_id[DB_PK__N], *cur_by_key[DB_PK__N];
    pset_t want[DB_PK__N];
    pchange_t *ch;
    size_t nch, capch;
    json_t *tenant_row; /* a tenant write: the row to store (borrowed) */
    bool tenant_exists;
} plan_t;

/* prov_plan.c: each returns 0 or a negative errno with res filled. */
int prov_fail(plan_t *p, int rc, const char *field, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int prov_plan_load(plan_t *p);
int prov_plan_desired(plan_t *p);
int prov_plan_validate(plan_t *p);
int prov_plan_diff(plan_t *p);
void prov_plan_free(plan_t *p);
/* out = base + "/" + name, name escaped (~0, ~1) as a JSON pointer's token. */
void prov_ptr(char *out, size_t cap, const char *base, const char *name);
/* A row's string field, "" when absent or not a string. */
const char *prov_str(const json_t *row, const char *name);
/* The position a value maps to in a by_id/by_key map, -1 when none. */
long prov_index(const json_t *map, const char *k);
/* A copy of a row fit to answer: write-only fields redacted. */
json_t *prov_redact(const json_t *row);

#endif
