/* Route matching, class of service and trunk failover: which route a dialled
 * number takes, whether the caller's class reaches it, and the bridge string
 * through the caller's store trunks. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "dp_internal.h"
#include "log.h"

/* ---- class of service ------------------------------------------------------
 * The one definition of the classes: their order (a caller reaches its own
 * class and every class before it), the allowed-class test and the regex
 * the export writes are all derived from this table. The schema's CHECK
 * lists the same names. */
static const char *const cos_order[] = {"internal", "local", "national", "mobile", "international", "premium"};
#define COS_ALWAYS "emergency" /* always allowed, whatever the caller's class */

static int cos_rank(const char *c)
{
    for (size_t i = 0; i < W3_ARRAY_LEN(cos_order); i++)
        if (strcmp(c, cos_order[i]) == 0)
            return (int)i;
    return -1;
}

bool dp_cos_allows(const char *have, const char *need)
{
    if (strcmp(need, COS_ALWAYS) == 0)
        return true;
    int n = cos_rank(need), h = cos_rank(have);
    return n >= 0 && h >= 0 && n <= h;
}

int dp_cos_callers_regex(const char *need, w3_sbuf_t *out)
{
    int rank = cos_rank(need);
    if (rank < 0)
        return -ENOENT;
    w3_sbuf_adds(out, "^(");
    for (size_t i = (size_t)rank; i < W3_ARRAY_LEN(cos_order); i++) {
        if (i > (size_t)rank)
            w3_sbuf_adds(out, "|");
        w3_sbuf_adds(out, cos_order[i]);
    }
    w3_sbuf_adds(out, ")$");
    return w3_sbuf_done(out);
}

/* ---- patterns --------------------------------------------------------------- */

/* 1 match, 0 no match, -EINVAL the pattern is not usable (why says why). */
static int pattern_match(const lookup_ctx_t *ctx, const char *pattern, const char *subject, char *why, size_t cap)
{
    if (ctx->cache != NULL) {
        const regex_t *re = NULL;
        const char *reason = NULL;
        if (lookup_cache_get(ctx->cache, pattern, &re, &reason) != 0) {
            w3_strlcpy(why, reason, cap);
            return -EINVAL;
        }
        return subject == NULL || regexec(re, subject, 0, NULL, 0) == 0;
    }
    /* no cache (a one-off caller): compile, use, free */
    if (lookup_pattern_safe(pattern, why, cap) != 0)
        return -EINVAL;
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        w3_strlcpy(why, "does not compile", cap);
        return -EINVAL;
    }
    int m = subject == NULL || regexec(&re, subject, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

int dp_pattern_usable(const lookup_ctx_t *ctx, const char *pattern, char *why, size_t cap)
{
    int rc = pattern_match(ctx, pattern, NULL, why, cap);
    return rc < 0 ? rc : 0;
}

/* ---- trunks and routes ------------------------------------------------------ */

void dp_plan_free(route_plan_t *p)
{
    w3_sbuf_free(&p->dial);
}

int dp_build_dial(dp_t *d, const char *store_id, const char *tenant_id, const char *who, const char *number,
                  route_plan_t *p, route_verdict_t *v)
{
    db_trunk_t *trunks = xmalloc(sizeof(*trunks) * DB_MAX_STORE_TRUNKS);
    int nt = 0;
    int rc = db_store_trunks(d->ctx->db, store_id, tenant_id, trunks, DB_MAX_STORE_TRUNKS, &nt);
    if (rc == -E2BIG) {
        rc = dp_limit(d, ML_STORE_TRUNKS, "a store has more than " DP_STR(DB_MAX_STORE_TRUNKS) " trunks", store_id);
        goto out;
    }
    if (rc != 0) {
        rc = -EIO;
        goto out;
    }
    w3_sbuf_free(&p->dial);
    w3_sbuf_init(&p->dial, DP_VALUE_MAX);
    for (int i = 0; i < nt; i++) {
        if ((rc = dp_check_gateway(d, trunks[i].gateway_name)) != 0)
            goto out;
        if (i > 0)
            w3_sbuf_add(&p->dial, "|", 1);
        /* per-leg caller id: each trunk presents its own number */
        if (dp_dialable(trunks[i].caller_id_number))
            w3_sbuf_printf(&p->dial, "[origination_caller_id_number=%s]", trunks[i].caller_id_number);
        w3_sbuf_printf(&p->dial, "sofia/gateway/%s/%s", trunks[i].gateway_name, number);
        if (i == 0)
            w3_strlcpy(p->first_cid, trunks[i].caller_id_number, sizeof(p->first_cid));
        lookup_trace(d->ctx, "trunk %s (priority %d) of the store of %s", trunks[i].gateway_name, trunks[i].priority,
                     who);
    }
    p->ntrunks = nt;
    if (w3_sbuf_done(&p->dial) != 0) {
        /* never a shorter failover list than the store has */
        rc = dp_limit(d, ML_ANSWER_SIZE, "the trunk failover string exceeds its size limit", store_id);
        goto out;
    }
    if (nt == 0)
        lookup_trace(d->ctx, "the store of %s has no enabled trunk", who);
    *v = nt > 0 ? ROUTE_OK : ROUTE_NO_TRUNK;
out:
    free(trunks);
    return rc;
}

int dp_route_resolve(dp_t *d, const db_extension_t *who, const char *number, route_plan_t *p, route_verdict_t *v)
{
    db_route_t *routes = xmalloc(sizeof(*routes) * DB_MAX_TENANT_ROUTES);
    int n = 0;
    memset(p, 0, sizeof(*p));
    *v = ROUTE_NONE;
    int rc = db_routes_list(d->ctx->db, who->sip_domain, routes, DB_MAX_TENANT_ROUTES, &n);
    if (rc == -E2BIG) {
        rc = dp_limit(d, ML_ROUTES, "a tenant has more than " DP_STR(DB_MAX_TENANT_ROUTES) " routes", who->sip_domain);
        goto out;
    }
    if (rc != 0) {
        rc = -EIO;
        goto out;
    }
    int match = -1;
    for (int i = 0; i < n && match < 0; i++) {
        char why[128];
        int m = pattern_match(d->ctx, routes[i].pattern, number, why, sizeof(why));
        if (m < 0) {
            /* outside the safe subset (could stall the worker) or broken */
            METRICS_INC(route_patterns_skipped);
            log_warn("route pattern skipped", "route", routes[i].route_id, "reason", why, NULL);
            lookup_trace(d->ctx, "route '%s' (%s) skipped: %s", routes[i].name, routes[i].pattern, why);
            continue;
        }
        if (m == 1)
            match = i;
    }
    if (match < 0) {
        lookup_trace(d->ctx, "no route of %s matches %s", who->sip_domain, number);
        goto out;
    }
    p->route = routes[match];
    lookup_trace(d->ctx, "route '%s' (%s, priority %d, class %s) matches %s", p->route.name, p->route.pattern,
                 p->route.priority, p->route.cos_class, number);
    if (!dp_cos_allows(who->cos, p->route.cos_class)) {
        lookup_trace(d->ctx, "COS: extension %s has cos '%s', class '%s' is above it: refused", who->ext_number,
                     who->cos, p->route.cos_class);
        *v = ROUTE_COS;
        goto out;
    }
    lookup_trace(d->ctx, "COS: extension %s has cos '%s': class '%s' %s", who->ext_number, who->cos, p->route.cos_class,
                 strcmp(p->route.cos_class, COS_ALWAYS) == 0 ? "is emergency, always allowed" : "allowed");
    size_t len = strlen(number);
    size_t strip = (size_t)p->route.strip_digits < len ? (size_t)p->route.strip_digits : len;
    /* prepend (<= 20) + the rest: a result longer than a dialable number
     * is no route, never a cut number */
    if (strlen(p->route.prepend) + (len - strip) >= sizeof(p->number))
        goto out;
    strcpy(p->number, p->route.prepend);
    strcat(p->number, number + strip);
    if (!dp_dialable(p->number))
        goto out;
    rc = dp_build_dial(d, who->store_id, who->tenant_id, who->ext_number, p->number, p, v);
out:
    free(routes);
    return rc;
}
