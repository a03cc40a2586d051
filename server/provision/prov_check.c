/* The wanted state as a whole: every reference inside the tenant, the
 * limits, the keys that are unique beyond one tenant; then the changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov_internal.h"
#include "util.h"

/* obj of kind k refers through field to what (described by target, e.g.
 * "store S1"), which the wanted state does not hold. */
static int missing(plan_t *p, db_pkind_t k, const pobj_t *o, const char *field, db_pkind_t tk, const char *tkey)
{
    const pkind_t *d = &prov_kinds[k], *t = &prov_kinds[tk];
    char f[400];
    bool was = prov_index(p->cur_by_key[tk], tkey) >= 0;
    if (o->ptr) { /* the referrer is in the body */
        snprintf(f, sizeof(f), "%s/%s", o->ptr, field);
        if (was)
            return prov_fail(p, -EINVAL, f, "%s %s %s refers to %s %s, which this request deletes", d->singular, d->key,
                             prov_str(o->row, d->key), t->singular, tkey);
        return prov_fail(p, -EINVAL, f, "%s %s is not a %s of this tenant", t->key, tkey, t->singular);
    }
    /* a stored object still refers to what this request removes */
    snprintf(f, sizeof(f), "/%s", t->list);
    return prov_fail(p, p->rq->mode == PROV_DELETE ? -EEXIST : -EINVAL, p->rq->mode == PROV_DELETE ? NULL : f,
                     "%s %s is still used by %s %s", t->singular, tkey, d->singular, prov_str(o->row, d->key));
}

static int check_refs(plan_t *p)
{
    static const db_pkind_t with_store[] = {DB_PK_TRUNKS, DB_PK_EXTENSIONS, DB_PK_RING_GROUPS, DB_PK_DIDS};
    for (size_t w = 0; w < W3_ARRAY_LEN(with_store); w++) {
        db_pkind_t k = with_store[w];
        json_t *trunks_per_store = json_object();
        for (size_t i = 0; i < p->want[k].n; i++) {
            const pobj_t *o = &p->want[k].v[i];
            const char *store = prov_str(o->row, "store_id");
            if (prov_index(p->want[DB_PK_STORES].by_key, store) < 0) {
                json_decref(trunks_per_store);
                return missing(p, k, o, "store_id", DB_PK_STORES, store);
            }
            if (k == DB_PK_TRUNKS) {
                long n = prov_index(trunks_per_store, store);
                n = n < 0 ? 1 : n + 1;
                json_object_set_new(trunks_per_store, store, json_integer(n));
                if (n > DB_MAX_STORE_TRUNKS) {
                    char f[400];
                    snprintf(f, sizeof(f), "%s/store_id", o->ptr ? o->ptr : "/trunks");
                    json_decref(trunks_per_store);
                    return prov_fail(p, -EINVAL, f, "store %s would have more than %d trunks", store,
                                     DB_MAX_STORE_TRUNKS);
                }
            }
        }
        json_decref(trunks_per_store);
    }
    static const struct {
        const char *type;
        db_pkind_t kind;
    } targets[] = {{"ext", DB_PK_EXTENSIONS}, {"ring", DB_PK_RING_GROUPS}, {"ai", DB_PK_AI_AGENTS}};
    for (size_t i = 0; i < p->want[DB_PK_DIDS].n; i++) {
        const pobj_t *o = &p->want[DB_PK_DIDS].v[i];
        for (size_t t = 0; t < W3_ARRAY_LEN(targets); t++)
            if (strcmp(prov_str(o->row, "target_type"), targets[t].type) == 0 &&
                prov_index(p->want[targets[t].kind].by_key, prov_str(o->row, "target_ref")) < 0)
                return missing(p, DB_PK_DIDS, o, "target_ref", targets[t].kind, prov_str(o->row, "target_ref"));
    }
    for (size_t i = 0; i < p->want[DB_PK_RING_GROUPS].n; i++) {
        const pobj_t *o = &p->want[DB_PK_RING_GROUPS].v[i];
        json_t *seen = json_object();
        size_t j;
        json_t *m;
        int rc = 0;
        json_array_foreach(json_object_get(o->row, "members"), j, m)
        {
            const char *ext = json_string_value(m);
            char field[64];
            snprintf(field, sizeof(field), "members/%zu", j);
            if (prov_index(p->want[DB_PK_EXTENSIONS].by_key, ext) < 0)
                rc = missing(p, DB_PK_RING_GROUPS, o, field, DB_PK_EXTENSIONS, ext);
            else if (json_object_get(seen, ext)) {
                char f[400];
                snprintf(f, sizeof(f), "%s/%s", o->ptr ? o->ptr : "", field);
                rc = prov_fail(p, -EINVAL, f, "extension %s is a member twice", ext);
            }
            if (rc)
                break;
            json_object_set_new(seen, ext, json_true());
        }
        json_decref(seen);
        if (rc)
            return rc;
    }
    if (p->want[DB_PK_ROUTES].n > DB_MAX_TENANT_ROUTES)
        return prov_fail(p, -EINVAL, "/routes", "a tenant has at most %d routes", DB_MAX_TENANT_ROUTES);
    json_t *users = json_object();
    for (size_t i = 0; i < p->want[DB_PK_EXTENSIONS].n; i++) {
        const pobj_t *o = &p->want[DB_PK_EXTENSIONS].v[i];
        const char *u = prov_str(o->row, "user_id");
        long other = prov_index(users, u);
        if (other >= 0) {
            const pobj_t *x = o->ptr ? o : &p->want[DB_PK_EXTENSIONS].v[other];
            char f[400];
            snprintf(f, sizeof(f), "%s/user_id", x->ptr ? x->ptr : "/extensions");
            json_decref(users);
            return prov_fail(p, -EINVAL, f, "user_id %s is already the user of another extension", u);
        }
        json_object_set_new(users, u, json_integer((json_int_t)i));
    }
    json_decref(users);
    return 0;
}

/* Ids, and the keys unique across tenants (store_id, gateway_name, e164),
 * of new or renamed objects may not be held outside this tenant. */
static int check_global(plan_t *p)
{
    for (int k = 0; k < DB_PK__N; k++) {
        const pkind_t *d = &prov_kinds[k];
        for (size_t i = 0; i < p->want[k].n; i++) {
            const pobj_t *o = &p->want[k].v[i];
            if (o->ptr == NULL)
                continue;
            char owner[65], f[400];
            const char *id = prov_str(o->row, d->id), *key = prov_str(o->row, d->key);
            if (o->cur == NULL && !o->fresh_id) {
                int rc = db_prov_owner(p->db, (db_pkind_t)k, false, id, owner);
                if (rc == -EIO)
                    return prov_fail(p, -EIO, NULL, "cannot read: %s", db_conn_error(p->db));
                if (rc == 0) {
                    snprintf(f, sizeof(f), "%s/%s", o->ptr, d->id);
                    return prov_fail(p, -EINVAL, f, "%s %s already exists outside this tenant's %s", d->id, id,
                                     d->list);
                }
            }
            if (o->cur && strcmp(prov_str(o->cur, d->key), key) == 0)
                continue;
            int rc = db_prov_owner(p->db, (db_pkind_t)k, true, key, owner);
            if (rc == -EIO)
                return prov_fail(p, -EIO, NULL, "cannot read: %s", db_conn_error(p->db));
            if (rc == 0 && !(strcmp(owner, p->tenant.tenant_id) == 0 && prov_index(p->cur_by_key[k], key) >= 0)) {
                snprintf(f, sizeof(f), "%s/%s", o->ptr, d->key);
                return prov_fail(p, -EINVAL, f, "%s %s belongs to another tenant", d->key, key);
            }
        }
    }
    return 0;
}

int prov_plan_validate(plan_t *p)
{
    int rc = check_refs(p);
    return rc ? rc : check_global(p);
}

static void change_add(plan_t *p, db_pkind_t k, pop_t op, json_t *before, json_t *after, const char *ptr)
{
    if (p->nch == p->capch) {
        p->capch = p->capch ? 2 * p->capch : 64;
        p->ch = xrealloc(p->ch, p->capch * sizeof(*p->ch));
    }
    bool members =
        k == DB_PK_RING_GROUPS && (before == NULL || after == NULL ||
                                   !json_equal(json_object_get(before, "members"), json_object_get(after, "members")));
    p->ch[p->nch++] = (pchange_t){k, op, before, after, ptr, members};
}

int prov_plan_diff(plan_t *p)
{
    for (int k = 0; k < DB_PK__N; k++) {
        size_t i;
        json_t *row;
        json_array_foreach(p->cur[k], i, row) if (prov_index(p->want[k].by_id, prov_str(row, prov_kinds[k].id)) < 0)
            change_add(p, (db_pkind_t)k, OP_DELETE, row, NULL, NULL);
        for (i = 0; i < p->want[k].n; i++) {
            const pobj_t *o = &p->want[k].v[i];
            if (o->cur == NULL)
                change_add(p, (db_pkind_t)k, OP_CREATE, NULL, o->row, o->ptr);
            else if (!json_equal(o->cur, o->row))
                change_add(p, (db_pkind_t)k, OP_UPDATE, o->cur, o->row, o->ptr);
        }
    }
    return 0;
}

json_t *prov_redact(const json_t *row)
{
    if (row == NULL)
        return json_null();
    json_t *c = json_copy((json_t *)row);
    json_object_del(c, "a1_hash");
    if (json_is_string(json_object_get(c, "secret_ref")))
        json_object_set_new(c, "secret_ref", json_string("[redacted]"));
    return c;
}

void prov_plan_free(plan_t *p)
{
    for (int k = 0; k < DB_PK__N; k++) {
        for (size_t i = 0; i < p->want[k].n; i++) {
            json_decref(p->want[k].v[i].row);
            free(p->want[k].v[i].ptr);
        }
        free(p->want[k].v);
        json_decref(p->want[k].by_id);
        json_decref(p->want[k].by_key);
        json_decref(p->cur[k]);
        json_decref(p->cur_by_id[k]);
        json_decref(p->cur_by_key[k]);
    }
    free(p->ch);
}
