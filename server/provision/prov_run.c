/* A provisioning write from plan to answer: apply in an order the foreign
 * keys accept, one generation step, the answer, and the refusal rows. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "metrics.h"
#include "prov_internal.h"
#include "util.h"

/* The schema's triggers that are stricter than the checks of prov_kinds.c
 * (the route pattern GLOBs): the field their message names. */
static const char *trigger_field(const char *error)
{
    static const struct {
        const char *message, *field;
    } map[] = {{"route pattern", "pattern"}, {"ws_url", "ws_url"}, {"forwarding", "forwarding"}};
    for (size_t i = 0; i < W3_ARRAY_LEN(map); i++)
        if (strncmp(error, map[i].message, strlen(map[i].message)) == 0)
            return map[i].field;
    return NULL;
}

static int db_refused(plan_t *p, const pchange_t *c)
{
    const pkind_t *d = &prov_kinds[c->kind];
    const json_t *row = c->after ? c->after : c->before;
    const char *error = db_conn_error(p->db) ? db_conn_error(p->db) : "", *field = trigger_field(error);
    char f[400];
    if (c->ptr == NULL)
        snprintf(f, sizeof(f), "/%s", d->list);
    else if (field)
        snprintf(f, sizeof(f), "%s/%s", c->ptr, field);
    else
        snprintf(f, sizeof(f), "%s", *c->ptr ? c->ptr : "/");
    return prov_fail(p, -EINVAL, f, "the database refused %s %s %s: %s", d->singular, d->key, prov_str(row, d->key),
                     error);
}

static int write_one(plan_t *p, const pchange_t *c)
{
    const pkind_t *d = &prov_kinds[c->kind];
    int rc;
    if (c->op == OP_DELETE) {
        rc = db_prov_delete(p->db, c->kind, prov_str(c->before, d->id));
    } else {
        char *text = json_dumps(c->after, JSON_COMPACT);
        W3_CHECK_ALLOC(text);
        rc = db_prov_upsert(p->db, c->kind, text, c->op == OP_UPDATE);
        free(text);
        if (rc == 0 && c->members_changed) {
            char *m = json_dumps(json_object_get(c->after, "members"), JSON_COMPACT);
            W3_CHECK_ALLOC(m);
            rc = db_prov_members_set(p->db, prov_str(c->after, d->id), p->tenant.sip_domain, m);
            free(m);
        }
    }
    if (rc == -EIO)
        return prov_fail(p, -EIO, NULL, "database error: %s", db_conn_error(p->db));
    return rc ? db_refused(p, c) : 0;
}

/* Referrers go before what they refer to, so no foreign key is ever
 * broken in between: a store is deleted last (its trunks may move to
 * another store in the same write), a ring group's old members before
 * their extensions. */
static int write_all(plan_t *p)
{
    static const db_pkind_t first[] = {DB_PK_DIDS, DB_PK_ROUTES, DB_PK_AI_AGENTS, DB_PK_RING_GROUPS};
    static const db_pkind_t then[] = {DB_PK_EXTENSIONS, DB_PK_TRUNKS};
    int rc = 0;
    for (size_t f = 0; f < W3_ARRAY_LEN(first) && rc == 0; f++)
        for (size_t i = 0; i < p->nch && rc == 0; i++)
            if (p->ch[i].kind == first[f] && p->ch[i].op == OP_DELETE)
                rc = write_one(p, &p->ch[i]);
    for (size_t i = 0; i < p->nch && rc == 0; i++)
        if (p->ch[i].op == OP_UPDATE && p->ch[i].members_changed &&
            db_prov_members_set(p->db, prov_str(p->ch[i].before, "ring_group_id"), p->tenant.sip_domain, NULL) != 0)
            rc = db_refused(p, &p->ch[i]);
    for (size_t f = 0; f < W3_ARRAY_LEN(then) && rc == 0; f++)
        for (size_t i = 0; i < p->nch && rc == 0; i++)
            if (p->ch[i].kind == then[f] && p->ch[i].op == OP_DELETE)
                rc = write_one(p, &p->ch[i]);
    /* user_ids may move between extensions: park the ones that change */
    for (size_t i = 0; i < p->nch && rc == 0; i++)
        if (p->ch[i].kind == DB_PK_EXTENSIONS && p->ch[i].op == OP_UPDATE &&
            strcmp(prov_str(p->ch[i].before, "user_id"), prov_str(p->ch[i].after, "user_id")) != 0 &&
            db_prov_park_user(p->db, prov_str(p->ch[i].before, "extension_id")) != 0)
            rc = db_refused(p, &p->ch[i]);
    for (int k = 0; k < DB_PK__N && rc == 0; k++)
        for (size_t i = 0; i < p->nch && rc == 0; i++)
            if ((int)p->ch[i].kind == k && p->ch[i].op != OP_DELETE)
                rc = write_one(p, &p->ch[i]);
    for (size_t i = 0; i < p->nch && rc == 0; i++)
        if (p->ch[i].kind == DB_PK_STORES && p->ch[i].op == OP_DELETE)
            rc = write_one(p, &p->ch[i]);
    return rc;
}

static json_t *change_json(const char *kind, const char *key, pop_t op, const json_t *before, const json_t *after)
{
    static const char *const ops[] = {"create", "update", "delete"};
    json_t *c = json_pack("{s:s, s:s, s:s}", "kind", kind, "key", key, "op", ops[op]);
    W3_CHECK_ALLOC(c);
    if (op == OP_UPDATE) { /* which fields, secrets included (by name only) */
        json_t *fields = json_array();
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)after, name, v) if (!json_equal(v, json_object_get(before, name)))
            json_array_append_new(fields, json_string(strcmp(name, "a1_hash") == 0 ? "password" : name));
        json_object_set_new(c, "fields", fields);
    }
    json_object_set_new(c, "diff", json_pack("{s:o, s:o}", "before", prov_redact(before), "after", prov_redact(after)));
    return c;
}

static void answer(prov_result_t *res, json_t *changes, bool dry_run)
{
    json_t *a = json_pack("{s:I, s:o}", "generation", (json_int_t)res->generation, "changes", changes);
    W3_CHECK_ALLOC(a);
    if (dry_run)
        json_object_set_new(a, "dry_run", json_true());
    res->json = json_dumps(a, JSON_COMPACT);
    W3_CHECK_ALLOC(res->json);
    json_decref(a);
}

/* Writes the changes (kept, or undone for a dry run) with one generation
 * step; fills the answer. */
static int commit(plan_t *p, json_t *changes, int (*write)(plan_t *))
{
    prov_result_t *res = p->res;
    res->nchanges = json_array_size(changes);
    res->generation = p->tenant.config_gen;
    int rc = 0;
    if (res->nchanges > 0) {
        if (db_prov_begin(p->db, p->rq->actor) != 0) {
            json_decref(changes);
            return prov_fail(p, -EIO, NULL, "database error: %s", db_conn_error(p->db));
        }
        rc = write(p);
        if (rc == 0 && db_prov_gen_step(p->db, p->tenant.tenant_id, &res->generation) != 0)
            rc = prov_fail(p, -EIO, NULL, "database error: %s", db_conn_error(p->db));
        if (db_prov_end(p->db, rc == 0 && !p->rq->dry_run) != 0 && rc == 0)
            rc = prov_fail(p, -EIO, NULL, "database error: %s", db_conn_error(p->db));
    }
    if (rc == 0)
        answer(res, changes, p->rq->dry_run);
    else
        json_decref(changes);
    return rc;
}

static int run_objects(plan_t *p)
{
    int rc = prov_plan_load(p);
    if (rc == 0)
        rc = prov_plan_desired(p);
    if (rc == 0)
        rc = prov_plan_validate(p);
    if (rc == 0)
        rc = prov_plan_diff(p);
    if (rc != 0)
        return rc;
    json_t *changes = json_array();
    for (size_t i = 0; i < p->nch; i++) {
        const pchange_t *c = &p->ch[i];
        const pkind_t *d = &prov_kinds[c->kind];
        json_array_append_new(changes, change_json(d->singular, prov_str(c->after ? c->after : c->before, d->key),
                                                   c->op, c->before, c->after));
    }
    return commit(p, changes, write_all);
}

/* Tenants (platform tokens only, checked by the caller). */
static int write_tenant(plan_t *p)
{
    char *text = json_dumps(p->tenant_row, JSON_COMPACT);
    W3_CHECK_ALLOC(text);
    int rc = db_prov_tenant_put(p->db, text, p->tenant_exists);
    free(text);
    if (rc == -EINVAL)
        return prov_fail(p, -EINVAL, "/", "the database refused the tenant: %s", db_conn_error(p->db));
    return rc ? prov_fail(p, -EIO, NULL, "database error: %s", db_conn_error(p->db)) : 0;
}

static int run_tenant(plan_t *p, bool exists)
{
    const prov_req_t *rq = p->rq;
    json_t *cur = NULL, *row = NULL;
    int rc = 0;
    if (exists) {
        char *text = NULL;
        if (db_prov_tenant_json(p->db, rq->domain, &text) != 0)
            return prov_fail(p, -EIO, NULL, "database error: %s", db_conn_error(p->db));
        cur = json_loads(text, 0, NULL);
        free(text);
    }
    if (rq->mode == PROV_TENANT_DELETE) {
        if (!exists)
            return prov_fail(p, -ENOENT, NULL, "unknown sip_domain %s", rq->domain);
        row = json_copy(cur);
        json_object_set_new(row, "enabled", json_false()); /* its CDRs and its log stay */
    } else {
        const json_t *b = rq->body;
        const char *bad = exists ? NULL : prov_check_domain(rq->domain);
        if (bad) {
            rc = prov_fail(p, -EINVAL, "/sip_domain", "sip_domain %s", bad);
            goto out;
        }
        if (!json_is_object(b)) {
            rc = prov_fail(p, -EINVAL, "/", "the body must be a JSON object (a tenant)");
            goto out;
        }
        const char *name;
        json_t *v;
        row = json_pack("{s:s, s:s, s:s, s:b}", "sip_domain", exists ? prov_str(cur, "sip_domain") : rq->domain, "name",
                        "", "country_code", "39", "enabled", 1);
        json_object_foreach((json_t *)b, name, v)
        {
            char f[300];
            prov_ptr(f, sizeof(f), "", name);
            if (strcmp(name, "sip_domain") == 0) {
                if (!json_is_string(v) || strcasecmp(json_string_value(v), rq->domain) != 0) {
                    rc = prov_fail(p, -EINVAL, f, "sip_domain must be the URL's (%s) or left out", rq->domain);
                    goto out;
                }
                continue;
            }
            const char *why = prov_check_tenant_field(name, v);
            if (why) {
                rc = prov_fail(p, -EINVAL, f, "%s %s", name, why);
                goto out;
            }
            json_object_set(row, name, v);
        }
        const char *tid = json_string_value(json_object_get(row, "tenant_id"));
        char domain[254];
        if (exists && tid && strcmp(tid, p->tenant.tenant_id) != 0) {
            rc = prov_fail(p, -EINVAL, "/tenant_id", "a tenant's tenant_id cannot change (it is %s)",
                           p->tenant.tenant_id);
            goto out;
        }
        if (!exists && tid && db_prov_tenant_by_id(p->db, tid, domain) == 0) {
            rc = prov_fail(p, -EINVAL, "/tenant_id", "tenant_id %s already has the sip_domain %s", tid, domain);
            goto out;
        }
        if (!exists && tid == NULL) {
            rc = prov_fail(p, -EINVAL, "/tenant_id", "tenant_id is required for a new tenant");
            goto out;
        }
        if (exists)
            json_object_set_new(row, "tenant_id", json_string(p->tenant.tenant_id));
        if (!exists) {
            w3_strlcpy(p->tenant.tenant_id, tid, sizeof(p->tenant.tenant_id));
            w3_strlcpy(p->tenant.sip_domain, rq->domain, sizeof(p->tenant.sip_domain));
        }
    }
    json_t *changes = json_array();
    if (!json_equal(cur, row))
        json_array_append_new(changes, change_json("tenant", rq->domain, exists ? OP_UPDATE : OP_CREATE, cur, row));
    p->tenant_row = row;
    p->tenant_exists = exists;
    rc = commit(p, changes, write_tenant);
out:
    json_decref(cur);
    json_decref(row);
    return rc;
}

/* ---- refusals: one activity row each, at most REFUSALS_PER_S per actor */
#define REFUSALS_PER_S 10
#define REFUSAL_SLOTS 64

static pthread_mutex_t refusal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char actor[130];
    time_t second;
    int n;
} refusal_slots[REFUSAL_SLOTS];

bool prov_refusal_allowed(const char *actor)
{
    time_t now = time(NULL);
    bool ok = false;
    pthread_mutex_lock(&refusal_lock);
    int slot = -1, idle = -1;
    for (int i = 0; i < REFUSAL_SLOTS && slot < 0; i++) {
        if (strcmp(refusal_slots[i].actor, actor) == 0)
            slot = i;
        else if (refusal_slots[i].second != now && idle < 0)
            idle = i; /* a slot nobody used this second */
    }
    if (slot >= 0 && refusal_slots[slot].second != now)
        refusal_slots[slot].n = 0;
    if (slot < 0 && idle >= 0) {
        slot = idle;
        w3_strlcpy(refusal_slots[slot].actor, actor, sizeof(refusal_slots[slot].actor));
        refusal_slots[slot].n = 0;
    }
    /* no slot free this second (64 clients refused at once): count only */
    if (slot >= 0 && refusal_slots[slot].n < REFUSALS_PER_S) {
        refusal_slots[slot].second = now;
        refusal_slots[slot].n++;
        ok = true;
    }
    pthread_mutex_unlock(&refusal_lock);
    if (!ok)
        METRICS_INC(prov_refusals_unlogged);
    return ok;
}

static void refusal_row(db_conn_t *db, const prov_req_t *rq, const char *tenant_id, const char *code,
                        const char *message, const char *field)
{
    w3_buf_t target = {0};
    if (rq->mode == PROV_SNAPSHOT)
        w3_buf_printf(&target, "snapshot:%s", rq->domain ? rq->domain : "");
    else if (rq->mode == PROV_TENANT_PUT || rq->mode == PROV_TENANT_DELETE)
        w3_buf_printf(&target, "tenants:%s", rq->domain ? rq->domain : "");
    else
        w3_buf_printf(&target, "%s:%s", prov_kinds[rq->kind].list, rq->key ? rq->key : "");
    /* the reason may quote what the caller sent: valid UTF-8 whatever it was */
    w3_buf_t why = {0}, at = {0};
    w3_buf_add_utf8(&why, message, strlen(message));
    w3_buf_add_utf8(&at, field ? field : "", field ? strlen(field) : 0);
    json_t *diff = json_pack("{s:s, s:s, s:s?}", "code", code, "reason", why.data ? why.data : "", "field",
                             at.len ? at.data : NULL);
    w3_buf_free(&why);
    w3_buf_free(&at);
    char *text = diff ? json_dumps(diff, JSON_COMPACT) : NULL;
    if (text == NULL) { /* not worth a crash: the refusal is still counted */
        json_decref(diff);
        w3_buf_free(&target);
        return;
    }
    /* filed where the writer may read it: a tenant token's own domain, so
     * no tenant ever sees another's refusals in its log */
    const char *where = rq->log_domain ? rq->log_domain : rq->domain;
    if (rq->log_domain && (rq->domain == NULL || strcasecmp(rq->log_domain, rq->domain) != 0))
        tenant_id = NULL;
    db_prov_refusal(db, tenant_id, where, rq->actor, target.data,
                    rq->mode == PROV_DELETE || rq->mode == PROV_TENANT_DELETE ? "delete" : "apply", text);
    free(text);
    json_decref(diff);
    w3_buf_free(&target);
}

void prov_refusal_log(db_conn_t *db, const prov_req_t *rq, int status, const char *message, const char *field)
{
    char code[16];
    snprintf(code, sizeof(code), "%d", status);
    refusal_row(db, rq, NULL, code, message, field); /* the caller asked prov_refusal_allowed */
}

static const char *rc_code(int rc)
{
    switch (rc) {
    case -ENOENT:
        return "not_found";
    case -EEXIST:
        return "conflict";
    case -ESTALE:
        return "precondition_failed";
    case -EPERM:
        return "forbidden";
    default:
        return "invalid";
    }
}

int prov_run(db_conn_t *db, const prov_req_t *rq, prov_result_t *res)
{
    plan_t p = {.db = db, .rq = rq, .res = res};
    memset(res, 0, sizeof(*res));
    int rc = db_prov_tenant(db, rq->domain, &p.tenant);
    bool tenant_mode = rq->mode == PROV_TENANT_PUT || rq->mode == PROV_TENANT_DELETE;
    if (rc == -EIO) {
        rc = prov_fail(&p, -EIO, NULL, "database error: %s", db_conn_error(db));
    } else if (rq->scope_tenant_id && !tenant_mode && rc == 0 && strcmp(rq->scope_tenant_id, p.tenant.tenant_id)) {
        /* the domain changed hands since the HTTP layer looked */
        rc = prov_fail(&p, -EPERM, "sip_domain", "this token's tenant_id does not own that sip_domain");
    } else if (rc == -ENOENT && !tenant_mode) {
        rc = prov_fail(&p, -ENOENT, NULL, "unknown sip_domain %s (create it with PUT /api/voip/provision/tenants/%s)",
                       rq->domain, rq->domain);
    } else if (rq->if_match >= 0 && (rc == -ENOENT ? 0 : p.tenant.config_gen) != rq->if_match) {
        rc = prov_fail(&p, -ESTALE, NULL, "the tenant's generation is %lld, not %lld: read it again",
                       rc == -ENOENT ? 0 : p.tenant.config_gen, rq->if_match);
    } else if (tenant_mode) {
        rc = run_tenant(&p, rc == 0);
    } else {
        rc = run_objects(&p);
    }
    if (rc == 0)
        METRICS_INC(prov_writes);
    else if (rc != -EIO)
        METRICS_INC(prov_refusals);
    if (rc != 0 && rc != -EIO && !rq->dry_run && prov_refusal_allowed(rq->actor))
        refusal_row(db, rq, p.tenant.tenant_id[0] ? p.tenant.tenant_id : NULL, rc_code(rc), res->message, res->field);
    prov_plan_free(&p);
    return rc;
}

void prov_result_free(prov_result_t *res)
{
    if (res == NULL)
        return;
    free(res->json);
    res->json = NULL;
}
