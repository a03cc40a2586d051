/* The plan of a provisioning write: what is stored, what the request wants,
 * whether the wanted state holds together, and the changes between them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "prov_internal.h"
#include "util.h"

int prov_fail(plan_t *p, int rc, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->res->message, sizeof(p->res->message), fmt, ap);
    va_end(ap);
    /* a value cut by the buffer may end inside a character */
    p->res->message[w3_utf8_valid_prefix(p->res->message, strlen(p->res->message))] = '\0';
    /* one line: a CHECK's text from the database spans several */
    char *m = p->res->message, *o = m;
    for (const char *c = m; *c; c++)
        if (!((*c == ' ' || *c == '\n' || *c == '\t' || *c == '\r') && (o == m || o[-1] == ' ')))
            *o++ = *c == '\n' || *c == '\t' || *c == '\r' ? ' ' : *c;
    *o = '\0';
    w3_strlcpy(p->res->field, field ? field : "", sizeof(p->res->field));
    p->res->rc = rc;
    return rc;
}

void prov_ptr(char *out, size_t cap, const char *base, const char *name)
{
    w3_buf_t b = {0};
    w3_buf_adds(&b, base);
    w3_json_pointer_add(&b, name, strlen(name));
    w3_strlcpy(out, b.data, cap);
    w3_buf_free(&b);
}

const char *prov_str(const json_t *row, const char *name)
{
    const char *s = json_string_value(json_object_get(row, name));
    return s ? s : "";
}

long prov_index(const json_t *map, const char *k)
{
    json_t *v = k ? json_object_get(map, k) : NULL;
    return v ? (long)json_integer_value(v) : -1;
}

static void map_set(json_t *map, const char *k, size_t i)
{
    json_object_set_new(map, k, json_integer((json_int_t)i));
}

int prov_plan_load(plan_t *p)
{
    for (int k = 0; k < DB_PK__N; k++) {
        char *text = NULL;
        int rc = db_prov_load(p->db, (db_pkind_t)k, p->tenant.tenant_id, p->tenant.sip_domain, &text);
        if (rc != 0)
            return prov_fail(p, -EIO, NULL, "cannot read the stored %s: %s", prov_kinds[k].list, db_conn_error(p->db));
        p->cur[k] = json_loads(text, 0, NULL);
        free(text);
        if (!json_is_array(p->cur[k]))
            return prov_fail(p, -EIO, NULL, "the stored %s are not readable", prov_kinds[k].list);
        p->cur_by_id[k] = json_object();
        p->cur_by_key[k] = json_object();
        size_t i;
        json_t *row;
        json_array_foreach(p->cur[k], i, row)
        {
            map_set(p->cur_by_id[k], prov_str(row, prov_kinds[k].id), i);
            map_set(p->cur_by_key[k], prov_str(row, prov_kinds[k].key), i);
        }
    }
    return 0;
}

static void new_id(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) { /* as fatal as no memory */
        fprintf(stderr, "%s:%d: no randomness for a new id\n", __FILE__, __LINE__);
        abort();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* a version 4 UUID */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static bool type_ok(const json_t *v, vtype_t t)
{
    switch (t) {
    case V_STR:
        return json_is_string(v);
    case V_INT:
        return json_is_integer(v);
    case V_BOOL:
        return json_is_boolean(v);
    case V_OBJ:
        return json_is_object(v);
    case V_ARR:
        return json_is_array(v);
    }
    return false;
}

static const char *type_name(vtype_t t)
{
    static const char *const n[] = {"a string", "an integer", "true or false", "an object", "an array"};
    return n[t];
}

/* The extension's secret: a password hashed at once, an a1_hash, or the
 * stored one (which only fits while the number stays the same). */
static int extension_secret(plan_t *p, const json_t *obj, const json_t *cur, json_t *row, const char *ptr)
{
    json_t *pw = json_object_get(obj, "password");
    json_t *a1 = json_object_get(obj, "a1_hash");
    char f[400];
    if (pw && !json_is_null(pw)) {
        snprintf(f, sizeof(f), "%s/password", ptr);
        if (a1 && !json_is_null(a1))
            return prov_fail(p, -EINVAL, f, "give password or a1_hash, not both");
        const char *why = prov_check_password(pw);
        if (why)
            return prov_fail(p, -EINVAL, f, "password %s", why);
        w3_buf_t b = {0};
        w3_buf_printf(&b, "%s:%s:%s", prov_str(row, "ext_number"), p->tenant.sip_domain, json_string_value(pw));
        char hex[33];
        w3_md5_hex(b.data, b.len, hex);
        w3_free_secret(b.data, b.len);
        json_object_set_new(row, "a1_hash", json_string(hex));
        return 0;
    }
    if (a1 && !json_is_null(a1))
        return 0; /* checked with the other fields */
    snprintf(f, sizeof(f), "%s", *ptr ? ptr : "/");
    if (cur == NULL)
        return prov_fail(p, -EINVAL, f, "a new extension needs a password or an a1_hash");
    if (strcmp(prov_str(cur, "ext_number"), prov_str(row, "ext_number")) != 0)
        return prov_fail(p, -EINVAL, f,
                         "ext_number changes from %s to %s: the a1_hash depends on it, so send password or a1_hash",
                         prov_str(cur, "ext_number"), prov_str(row, "ext_number"));
    json_object_set(row, "a1_hash", json_object_get(cur, "a1_hash"));
    return 0;
}

/* obj (at ptr in the body) as a complete row of kind k; cur is the stored
 * row it replaces (NULL: a new one). */
static int normalise(plan_t *p, db_pkind_t k, const json_t *obj, const json_t *cur, const char *ptr, json_t **out)
{
    const pkind_t *d = &prov_kinds[k];
    char f[400];
    int rc = 0;
    json_t *row = json_object();
    if (!json_is_object(obj)) {
        rc = prov_fail(p, -EINVAL, *ptr ? ptr : "/", "a %s must be a JSON object", d->singular);
        goto out;
    }
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v)
    {
        if (prov_field(d, name) == NULL && !(k == DB_PK_EXTENSIONS && strcmp(name, "password") == 0)) {
            prov_ptr(f, sizeof(f), ptr, name);
            rc = prov_fail(p, -EINVAL, f, "%s is not a field of a %s", name, d->singular);
            goto out;
        }
    }
    for (const pfield_t *fl = d->fields; fl->name; fl++) {
        snprintf(f, sizeof(f), "%s/%s", ptr, fl->name);
        v = json_object_get(obj, fl->name);
        if (fl->flags & (PF_TENANT | PF_DOMAIN)) {
            const char *mine = fl->flags & PF_TENANT ? p->tenant.tenant_id : p->tenant.sip_domain;
            if (v && !json_is_null(v) &&
                (!json_is_string(v) || (fl->flags & PF_TENANT ? strcmp(json_string_value(v), mine)
                                                              : strcasecmp(json_string_value(v), mine)) != 0)) {
                rc = prov_fail(p, -EINVAL, f, "%s must be this tenant's (%s) or left out", fl->name, mine);
                goto out;
            }
            json_object_set_new(row, fl->name, json_string(mine));
            continue;
        }
        if (v == NULL && strcmp(fl->name, d->id) == 0) {
            char id[37];
            if (cur)
                json_object_set(row, fl->name, json_object_get(cur, fl->name));
            else if (k == DB_PK_STORES)
                json_object_set(row, fl->name, json_object_get(obj, "store_id")); /* its id is its key */
            else {
                new_id(id);
                json_object_set_new(row, fl->name, json_string(id));
            }
            if (json_object_get(row, fl->name) == NULL) {
                rc = prov_fail(p, -EINVAL, f, "store_id is required");
                goto out;
            }
            continue;
        }
        if (v == NULL && (fl->flags & PF_SECRET)) {
            if (k == DB_PK_TRUNKS) /* absent: the stored one stays */
                json_object_set_new(row, fl->name, cur ? json_incref(json_object_get(cur, fl->name)) : json_null());
            continue; /* the extension's secret is resolved below */
        }
        if (v == NULL) {
            if (fl->def == NULL) {
                rc = prov_fail(p, -EINVAL, f, "%s is required", fl->name);
                goto out;
            }
            json_object_set_new(row, fl->name, json_loads(fl->def, JSON_DECODE_ANY, NULL));
            continue;
        }
        if (json_is_null(v) && (fl->flags & PF_NULL)) {
            json_object_set_new(row, fl->name, json_null());
            continue;
        }
        if (!type_ok(v, fl->type)) {
            rc = prov_fail(p, -EINVAL, f, "%s must be %s%s", fl->name, type_name(fl->type),
                           fl->flags & PF_NULL ? " or null" : "");
            goto out;
        }
        const char *why = fl->check ? fl->check(v) : NULL;
        if (why) {
            rc = prov_fail(p, -EINVAL, f, "%s %s", fl->name, why);
            goto out;
        }
        json_object_set(row, fl->name, v);
    }
    if (k == DB_PK_EXTENSIONS && (rc = extension_secret(p, obj, cur, row, ptr)) != 0)
        goto out;
    if (k == DB_PK_TRUNKS && json_is_true(json_object_get(row, "register")) &&
        (json_is_null(json_object_get(row, "username")) || json_is_null(json_object_get(row, "secret_ref")))) {
        snprintf(f, sizeof(f), "%s/register", ptr);
        rc = prov_fail(p, -EINVAL, f, "a trunk that registers needs a username and a secret_ref");
        goto out;
    }
    *out = row;
    row = NULL;
out:
    json_decref(row);
    return rc;
}

/* id_given: the body named the id (else it came from the stored row its
 * natural key matched, and a repeat is the key's fault; or it is a new
 * UUID, and nobody else can hold it). */
static int want_add(plan_t *p, db_pkind_t k, json_t *row, json_t *cur, const char *ptr, bool id_given)
{
    const pkind_t *d = &prov_kinds[k];
    pset_t *s = &p->want[k];
    const char *id = prov_str(row, d->id), *key = prov_str(row, d->key);
    char f[400];
    if (prov_index(s->by_id, id) >= 0 || prov_index(s->by_key, key) >= 0) {
        bool by_id = prov_index(s->by_id, id) >= 0 && (id_given || prov_index(s->by_key, key) < 0);
        snprintf(f, sizeof(f), "%s/%s", ptr ? ptr : "", by_id ? d->id : d->key);
        json_decref(row);
        return prov_fail(p, -EINVAL, f, "%s %s appears twice", by_id ? d->id : d->key, by_id ? id : key);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n] = (pobj_t){row, cur, ptr ? xstrdup(ptr) : NULL, !id_given && cur == NULL && k != DB_PK_STORES};
    map_set(s->by_id, id, s->n);
    map_set(s->by_key, key, s->n);
    s->n++;
    return 0;
}

/* Keeps the stored rows of kind k, but the one at index skip. */
static int keep_stored(plan_t *p, db_pkind_t k, long skip)
{
    size_t i;
    json_t *row;
    json_array_foreach(p->cur[k], i, row) if ((long)i != skip)
    {
        int rc = want_add(p, k, json_incref(row), row, NULL, true);
        if (rc)
            return rc;
    }
    return 0;
}

/* The stored row obj (at ptr) replaces: by its id, else by its natural key;
 * -1 for none. An id and a key that name two different rows are refused. */
static int match(plan_t *p, db_pkind_t k, const json_t *obj, const char *ptr, long *idx)
{
    const pkind_t *d = &prov_kinds[k];
    const json_t *id = json_object_get(obj, d->id), *key = json_object_get(obj, d->key);
    char f[400];
    *idx = -1;
    if (!json_is_object(obj))
        return prov_fail(p, -EINVAL, *ptr ? ptr : "/", "a %s must be a JSON object", d->singular);
    long by_key = json_is_string(key) ? prov_index(p->cur_by_key[k], json_string_value(key)) : -1;
    if (json_is_string(id)) {
        *idx = prov_index(p->cur_by_id[k], json_string_value(id));
        if (by_key >= 0 && by_key != *idx) {
            snprintf(f, sizeof(f), "%s/%s", ptr, d->id);
            return prov_fail(p, -EINVAL, f, "%s %s and %s %s name two different %ss", d->id, json_string_value(id),
                             d->key, json_string_value(key), d->singular);
        }
        return 0;
    }
    *idx = by_key;
    return 0;
}

static int want_from_body(plan_t *p, db_pkind_t k, const json_t *obj, const char *ptr, long *idx)
{
    json_t *row = NULL;
    int rc = match(p, k, obj, ptr, idx);
    if (rc == 0)
        rc = normalise(p, k, obj, *idx >= 0 ? json_array_get(p->cur[k], (size_t)*idx) : NULL, ptr, &row);
    if (rc == 0)
        rc = want_add(p, k, row, *idx >= 0 ? json_array_get(p->cur[k], (size_t)*idx) : NULL, ptr,
                      json_object_get(obj, prov_kinds[k].id) != NULL);
    return rc;
}

static int desired_snapshot(plan_t *p)
{
    const json_t *body = p->rq->body;
    if (!json_is_object(body))
        return prov_fail(p, -EINVAL, "/", "the body must be a JSON object");
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)body, name, v)
    {
        bool known = strcmp(name, "generation") == 0;
        for (int k = 0; k < DB_PK__N && !known; k++)
            known = strcmp(name, prov_kinds[k].list) == 0;
        if (!known) {
            char f[300];
            prov_ptr(f, sizeof(f), "", name);
            return prov_fail(p, -EINVAL, f,
                             "%s is not a list of a snapshot (stores, trunks, dids, extensions, routes, "
                             "ring_groups, ai_agents)",
                             name);
        }
    }
    for (int k = 0; k < DB_PK__N; k++) {
        const json_t *list = json_object_get(body, prov_kinds[k].list);
        char f[300];
        snprintf(f, sizeof(f), "/%s", prov_kinds[k].list);
        if (list == NULL) { /* left out: that kind stays as it is */
            int rc = keep_stored(p, (db_pkind_t)k, -1);
            if (rc)
                return rc;
            continue;
        }
        if (!json_is_array(list))
            return prov_fail(p, -EINVAL, f, "%s must be an array ([] for none)", prov_kinds[k].list);
        size_t i;
        json_t *obj;
        json_array_foreach(list, i, obj)
        {
            char ptr[300];
            snprintf(ptr, sizeof(ptr), "/%s/%zu", prov_kinds[k].list, i);
            long idx;
            int rc = want_from_body(p, (db_pkind_t)k, obj, ptr, &idx);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int desired_one(plan_t *p)
{
    db_pkind_t k = p->rq->kind;
    const pkind_t *d = &prov_kinds[k];
    for (int o = 0; o < DB_PK__N; o++) {
        if (o == (int)k)
            continue;
        int rc = keep_stored(p, (db_pkind_t)o, -1);
        if (rc)
            return rc;
    }
    long stored = prov_index(p->cur_by_key[k], p->rq->key);
    if (p->rq->mode == PROV_DELETE) {
        if (stored < 0)
            return prov_fail(p, -ENOENT, NULL, "no %s %s in this domain", d->singular, p->rq->key);
        return keep_stored(p, k, stored);
    }
    /* PUT: the URL names the object; the body may repeat its key */
    const json_t *body = p->rq->body;
    if (!json_is_object(body))
        return prov_fail(p, -EINVAL, "/", "the body must be a JSON object (a %s)", d->singular);
    const json_t *key = json_object_get(body, d->key);
    if (key && (!json_is_string(key) || strcmp(json_string_value(key), p->rq->key) != 0)) {
        char f[100];
        snprintf(f, sizeof(f), "/%s", d->key);
        return prov_fail(p, -EINVAL, f, "%s must be the URL's (%s) or left out", d->key, p->rq->key);
    }
    json_t *obj = json_deep_copy(body);
    json_object_set_new(obj, d->key, json_string(p->rq->key));
    long idx = -1;
    int rc = match(p, k, obj, "", &idx);
    if (rc == 0)
        rc = keep_stored(p, k, idx);
    if (rc == 0)
        rc = want_from_body(p, k, obj, "", &idx);
    json_decref(obj);
    return rc;
}

int prov_plan_desired(plan_t *p)
{
    for (int k = 0; k < DB_PK__N; k++) {
        p->want[k].by_id = json_object();
        p->want[k].by_key = json_object();
    }
    return p->rq->mode == PROV_SNAPSHOT ? desired_snapshot(p) : desired_one(p);
}
