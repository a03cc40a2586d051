/* The static export (w3voip export): the live decisions made ahead of time
 * for every destination, so a PBX can run from files. One context named
 * after the domain (its users carry user_context=<domain>), public
 * extensions for its DIDs, and the runtime outcomes (busy/no answer, the AI
 * stream start) as extensions matching the w3_* destinations with
 * conditions on the variables FreeSWITCH sets. What the live server reads
 * from the authenticated caller (store, cos) becomes a condition on the
 * caller's directory variables ${store_id} and ${cos}.
 *
 * Every dp_t here is a DP_EXPORT context (dp_internal.h): there is no
 * request form and no lookup result; the shared emitters only write d->x.
 * Route patterns are written as FreeSWITCH conditions only when they are in
 * the safe subset, where PCRE matches exactly what POSIX ERE matches live;
 * any other route is left out and reported. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_internal.h"

#define NAME_MAX_LEN 512 /* extension names and our own regexes */

typedef struct left_out {
    void (*cb)(void *arg, const char *message);
    void *arg;
    int n;
} left_out_t;

typedef struct export_walk {
    dp_t *d;
    const db_tenant_t *t;
    left_out_t *lo;
} export_walk_t;

/* Something of the tenant that the export cannot write: named, counted
 * (w3voip export exits 1), the rest still written. */
static void left_out_msg(left_out_t *lo, const char *msg)
{
    if (lo->cb)
        lo->cb(lo->arg, msg);
    lo->n++;
}

static int export_static_caller(dp_t *d, const db_tenant_t *t, const char *direction)
{
    int rc;
    if ((rc = dp_var(d, "export", "tenant_id", t->tenant_id)) != 0)
        return rc;
    xg_dp_action_template(d->x, "export", "store_id=${store_id}");
    if ((rc = dp_var(d, "export", "sip_domain", t->sip_domain)) != 0)
        return rc;
    xg_dp_action_template(d->x, "export", "user_id=${user_id}");
    if ((rc = dp_export_gen(d, t->tenant_id)) != 0)
        return rc;
    return dp_var(d, "export", "w3_direction", direction);
}

/* The busy and no-answer extensions of e's forwarding (the second fetch
 * made static), named <before>after_bridge_<after>busy|other; cond_field,
 * cond_re: an extra condition first (the DID), or NULL. */
static int after_bridge_exts(dp_t *d, const db_extension_t *e, const char *before, const char *after,
                             const char *cond_field, const char *cond_re, const char *domain, const char *policy)
{
    w3_sbuf_t from;
    w3_sbuf_init(&from, NAME_MAX_LEN);
    int rc = dp_exact(&from, e->ext_number);
    for (int busy = 1; rc == 0 && busy >= 0; busy--) {
        w3_sbuf_t name;
        w3_sbuf_init(&name, NAME_MAX_LEN);
        w3_sbuf_printf(&name, "%safter_bridge_%s%s", before, after, busy ? "busy" : "other");
        rc = w3_sbuf_done(&name);
        if (rc == 0) {
            xg_dp_extension(d->x, w3_sbuf_str(&name), DP_AFTER_BRIDGE);
            if (cond_field)
                xg_dp_condition(d->x, cond_field, cond_re);
            xg_dp_condition(d->x, "${w3_fwd_from}", w3_sbuf_str(&from));
            if (busy)
                xg_dp_condition(d->x, "${originate_disposition}", "^(USER_BUSY|BUSY)$");
            rc = dp_after_bridge_actions(d, e, busy, domain, policy);
        }
        w3_sbuf_free(&name);
    }
    w3_sbuf_free(&from);
    return rc;
}

static int export_ext(const char *num, void *arg)
{
    export_walk_t *w = arg;
    dp_t *d = w->d;
    db_extension_t e;
    int got = db_extension_get(d->ctx->db, w->t->sip_domain, num, &e);
    if (got == -EIO)
        return -EIO;
    size_t nlen = strlen(num);
    if (got != 0 || nlen < 1 || nlen > 10 || !dp_all_digits(e.ext_number)) {
        /* a row the server does not use either (another tenant's store, a
         * number past its CHECK): left out, never a broken dial string */
        w3_buf_t m = {0};
        w3_buf_printf(&m, "extension %.20s@%s left out of the dialplan: %s", num, w->t->sip_domain,
                      got != 0 ? "its row is not used (see w3voip check)" : "its number is not 1-10 digits");
        left_out_msg(w->lo, m.data);
        w3_buf_free(&m);
        return 0;
    }
    w3_sbuf_t name, after;
    w3_sbuf_init(&name, NAME_MAX_LEN);
    w3_sbuf_init(&after, NAME_MAX_LEN);
    w3_sbuf_printf(&name, "ext_%s", e.ext_number);
    w3_sbuf_printf(&after, "%s_", e.ext_number);
    int rc = w3_sbuf_done(&name);
    if (rc == 0)
        rc = w3_sbuf_done(&after);
    if (rc != 0)
        goto out;
    xg_dp_extension(d->x, w3_sbuf_str(&name), e.ext_number);
    if (!e.enabled) {
        rc = dp_reject_actions(d, "404 Not Found", "extension disabled", "internal", w->t->tenant_id, w->t->sip_domain);
        goto out;
    }
    if ((rc = export_static_caller(d, w->t, "internal")) != 0 ||
        (rc = dp_var(d, "export", "w3_ext", e.ext_number)) != 0 || (rc = dp_ring_extension(d, &e, "voicemail")) != 0)
        goto out;
    if (e.fwd_busy[0] || e.fwd_no_answer[0])
        rc = after_bridge_exts(d, &e, "", w3_sbuf_str(&after), NULL, NULL, w->t->sip_domain, "voicemail");
out:
    w3_sbuf_free(&name);
    w3_sbuf_free(&after);
    return rc;
}

typedef struct route_walk {
    export_walk_t *w;
    const db_route_t *route;
} route_walk_t;

static int route_conditions(dp_t *d, const db_route_t *r)
{
    w3_sbuf_t cos;
    w3_sbuf_init(&cos, NAME_MAX_LEN);
    int rc = dp_cos_callers_regex(r->cos_class, &cos);
    if (rc == 0)
        xg_dp_condition(d->x, "${cos}", w3_sbuf_str(&cos));
    else if (rc == -ENOENT)
        rc = 0; /* emergency: every caller */
    w3_sbuf_free(&cos);
    xg_dp_condition(d->x, "destination_number", r->pattern);
    return rc;
}

static int export_route_store(const char *store_id, void *arg)
{
    route_walk_t *rw = arg;
    dp_t *d = rw->w->d;
    const db_route_t *r = rw->route;
    route_plan_t p;
    memset(&p, 0, sizeof(p));
    w3_sbuf_t number, name, re, strip;
    w3_sbuf_init(&number, NAME_MAX_LEN);
    w3_sbuf_init(&name, NAME_MAX_LEN);
    w3_sbuf_init(&re, NAME_MAX_LEN);
    w3_sbuf_init(&strip, NAME_MAX_LEN);
    w3_sbuf_printf(&number, "%s$1", r->prepend);
    route_verdict_t v = ROUTE_NONE;
    int rc = w3_sbuf_done(&number);
    if (rc == 0)
        rc = dp_build_dial(d, store_id, rw->w->t->tenant_id, store_id, w3_sbuf_str(&number), &p, &v);
    if (rc != 0 || v != ROUTE_OK)
        goto out; /* no trunk: the route's no_trunk extension answers */
    w3_sbuf_printf(&name, "route_%s_%s", r->route_id, store_id);
    /* the actions sit in the last condition, whose regex gives $1: the
     * dialled number without its stripped digits */
    w3_sbuf_printf(&strip, "^.{%d}(.*)$", r->strip_digits);
    if ((rc = w3_sbuf_done(&name)) != 0 || (rc = w3_sbuf_done(&strip)) != 0 || (rc = dp_exact(&re, store_id)) != 0)
        goto out;
    xg_dp_extension_re(d->x, w3_sbuf_str(&name), "destination_number", w3_sbuf_str(&strip));
    xg_dp_condition(d->x, "${store_id}", w3_sbuf_str(&re));
    if ((rc = route_conditions(d, r)) != 0 || (rc = export_static_caller(d, rw->w->t, "outbound")) != 0 ||
        (rc = dp_var(d, "export", "w3_cos_class", r->cos_class)) != 0)
        goto out;
    if (dp_dialable(p.first_cid) && (rc = dp_var(d, "set", "effective_caller_id_number", p.first_cid)) != 0)
        goto out;
    if ((rc = dp_action(d, "set", "hangup_after_bridge=true")) != 0)
        goto out;
    rc = dp_action(d, "bridge", "%s", w3_sbuf_str(&p.dial));
out:
    dp_plan_free(&p);
    w3_sbuf_free(&number);
    w3_sbuf_free(&name);
    w3_sbuf_free(&re);
    w3_sbuf_free(&strip);
    return rc;
}

static void report(left_out_t *lo, const db_route_t *r, const char *why)
{
    w3_buf_t m = {0};
    w3_buf_printf(&m, "route '%s' (%s) left out: its pattern %s is outside the safe subset (%s)", r->name, r->route_id,
                  r->pattern, why);
    left_out_msg(lo, m.data);
    w3_buf_free(&m);
}

/* The no_trunk and cos rejections of one route, after its per-store
 * extensions. */
static int route_rejections(dp_t *d, const db_tenant_t *t, const db_route_t *r)
{
    w3_sbuf_t name;
    w3_sbuf_init(&name, NAME_MAX_LEN);
    w3_sbuf_printf(&name, "route_%s_no_trunk", r->route_id);
    int rc = w3_sbuf_done(&name);
    if (rc != 0)
        goto out;
    xg_dp_extension(d->x, w3_sbuf_str(&name), NULL);
    if ((rc = route_conditions(d, r)) != 0 ||
        (rc = dp_reject_actions(d, "503 Service Unavailable", "no trunk for the caller's store", "outbound",
                                t->tenant_id, t->sip_domain)) != 0)
        goto out;
    if (strcmp(r->cos_class, "emergency") != 0) {
        w3_sbuf_free(&name);
        w3_sbuf_init(&name, NAME_MAX_LEN);
        w3_sbuf_printf(&name, "route_%s_cos", r->route_id);
        if ((rc = w3_sbuf_done(&name)) != 0)
            goto out;
        xg_dp_extension(d->x, w3_sbuf_str(&name), NULL);
        xg_dp_condition(d->x, "destination_number", r->pattern);
        rc = dp_reject_actions(d, "403 Forbidden", "class of service", "outbound", t->tenant_id, t->sip_domain);
    }
out:
    w3_sbuf_free(&name);
    return rc;
}

static int export_dialplan_context(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *out, left_out_t *lo)
{
    dp_t d;
    dp_export_init(&d, ctx, t->sip_domain, false, t->sip_domain);
    export_walk_t w = {.d = &d, .t = t, .lo = lo};
    db_route_t *routes = xmalloc(sizeof(*routes) * DB_MAX_TENANT_ROUTES);
    int n = 0;
    int rc = db_list_extensions(ctx->db, t->sip_domain, export_ext, &w);
    if (rc == 0)
        rc = db_routes_list(ctx->db, t->sip_domain, routes, DB_MAX_TENANT_ROUTES, &n);
    for (int i = 0; rc == 0 && i < n; i++) {
        char why[128];
        if (dp_pattern_usable(ctx, routes[i].pattern, why, sizeof(why)) != 0) {
            report(lo, &routes[i], why); /* the server skips it too */
            continue;
        }
        route_walk_t rw = {.w = &w, .route = &routes[i]};
        rc = db_list_stores(ctx->db, t->tenant_id, export_route_store, &rw);
        if (rc == 0)
            rc = route_rejections(&d, t, &routes[i]);
    }
    if (rc == 0) {
        xg_dp_extension(d.x, "no_route", NULL);
        rc = dp_reject_actions(&d, "404 Not Found", "no such extension or route", "internal", t->tenant_id,
                               t->sip_domain);
    }
    free(routes);
    if (rc != 0) {
        xg_dp_destroy(d.x);
        return rc == -E2BIG || rc == -EINVAL ? rc : -EIO;
    }
    return xg_dp_finish(d.x, out);
}

static int gw_name(const db_trunk_t *tr, void *arg)
{
    w3_sbuf_t *b = arg;
    w3_sbuf_adds(b, "|");
    for (const char *p = tr->gateway_name; *p; p++) {
        if (*p == '.')
            w3_sbuf_add(b, "\\", 1);
        w3_sbuf_add(b, p, 1);
    }
    return 0;
}

/* The DID's own extensions (by destination and by To user), then its
 * second fetches. */
static int did_followups(dp_t *d, const db_did_t *did, const char *digits)
{
    w3_sbuf_t didre, name;
    w3_sbuf_init(&didre, NAME_MAX_LEN);
    w3_sbuf_init(&name, NAME_MAX_LEN);
    int rc = dp_exact(&didre, did->e164);
    if (rc != 0)
        goto out;
    if (strcmp(did->target_type, "ai") == 0) {
        w3_sbuf_printf(&name, "did_%s_ai_started", digits);
        if ((rc = w3_sbuf_done(&name)) != 0)
            goto out;
        xg_dp_extension(d->x, w3_sbuf_str(&name), DP_AI_RESULT);
        xg_dp_condition(d->x, "${w3_did}", w3_sbuf_str(&didre));
        xg_dp_condition(d->x, "${w3_fork}", "^\\+OK");
        if ((rc = dp_ai_park(d, false)) != 0) /* static files: no w3voipd watches the stream */
            goto out;
        w3_sbuf_free(&name);
        w3_sbuf_init(&name, NAME_MAX_LEN);
        w3_sbuf_printf(&name, "did_%s_ai_failed", digits);
        if ((rc = w3_sbuf_done(&name)) != 0)
            goto out;
        xg_dp_extension(d->x, w3_sbuf_str(&name), DP_AI_RESULT);
        xg_dp_condition(d->x, "${w3_did}", w3_sbuf_str(&didre));
        rc = dp_fallback(d, did->sip_domain, did->fallback, NULL);
    } else if (strcmp(did->target_type, "ext") == 0) {
        db_extension_t e;
        int erc = db_extension_get(d->ctx->db, did->sip_domain, did->target_ref, &e);
        if (erc == -EIO) {
            rc = erc;
            goto out;
        }
        if (erc == 0 && e.enabled && (e.fwd_busy[0] || e.fwd_no_answer[0])) {
            w3_sbuf_printf(&name, "did_%s_", digits);
            if ((rc = w3_sbuf_done(&name)) != 0)
                goto out;
            rc = after_bridge_exts(d, &e, w3_sbuf_str(&name), "", "${w3_did}", w3_sbuf_str(&didre), did->sip_domain,
                                   did->fallback);
        }
    }
out:
    w3_sbuf_free(&didre);
    w3_sbuf_free(&name);
    return rc;
}

static int export_did_ext(const char *e164, void *arg)
{
    export_walk_t *w = arg;
    dp_t *d = w->d;
    db_did_t rows[2];
    int n = 0;
    int got = db_did_find(d->ctx->db, e164, NULL, rows, 2, &n);
    if (got == -EIO)
        return -EIO;
    db_did_t *did = &rows[0];
    const char *why =
        got != 0 || n != 1 ? "its row is not used (see w3voip check)"
        : strcmp(did->target_type, "ext") == 0 && (strlen(did->target_ref) > 10 || !dp_all_digits(did->target_ref))
            ? "its target is not an extension number"
            : NULL;
    if (why) { /* the catch-all rejects it, as the server refuses it */
        w3_buf_t m = {0};
        w3_buf_printf(&m, "DID %.20s left out of the public dialplan: %s", e164, why);
        left_out_msg(w->lo, m.data);
        w3_buf_free(&m);
        return 0;
    }
    if (!did->enabled || !did->tenant_enabled)
        return 0; /* the catch-all rejects it, as the server does */
    /* every form a carrier may send: +E164, 00E164, E164 digits and the
     * national form of the tenant's country */
    const char *digits = did->e164 + 1;
    size_t cc = strlen(w->t->country_code);
    w3_sbuf_t re, gws, name;
    w3_sbuf_init(&re, NAME_MAX_LEN);
    w3_sbuf_init(&gws, DP_VALUE_MAX);
    w3_sbuf_init(&name, NAME_MAX_LEN);
    if (strncmp(digits, w->t->country_code, cc) == 0)
        w3_sbuf_printf(&re, "^((\\+|00)?%s|%s)$", digits, digits + cc);
    else
        w3_sbuf_printf(&re, "^(\\+|00)?%s$", digits);
    /* a call tagged with a gateway must come through one of the tenant's */
    w3_sbuf_adds(&gws, "^(");
    db_gateway_walk_t walk = {.on_domain = NULL, .on_trunk = gw_name, .arg = &gws};
    int rc = db_gateways_walk(d->ctx->db, w->t->sip_domain, &walk) != 0 ? -EIO : 0;
    w3_sbuf_adds(&gws, ")$");
    if (rc == 0 && ((rc = w3_sbuf_done(&re)) != 0 || (rc = w3_sbuf_done(&gws)) != 0))
        goto out;
    for (int to = 0; rc == 0 && to < 2; to++) {
        w3_sbuf_free(&name);
        w3_sbuf_init(&name, NAME_MAX_LEN);
        w3_sbuf_printf(&name, "did_%s%s", digits, to ? "_to_user" : "");
        if ((rc = w3_sbuf_done(&name)) != 0)
            break;
        if (to) {
            /* the destination is not a number (gw+ contact): the To user */
            xg_dp_extension_re(d->x, w3_sbuf_str(&name), "${sip_to_user}", w3_sbuf_str(&re));
            xg_dp_condition(d->x, "destination_number", "[^0-9+]");
        } else {
            xg_dp_extension_re(d->x, w3_sbuf_str(&name), "destination_number", w3_sbuf_str(&re));
        }
        xg_dp_condition(d->x, "${sip_gateway}", w3_sbuf_str(&gws));
        const char *what;
        if ((rc = dp_export_did_vars(d, did)) == 0)
            rc = dp_did_target_actions(d, did, &what);
    }
    if (rc == 0)
        rc = did_followups(d, did, digits);
out:
    w3_sbuf_free(&re);
    w3_sbuf_free(&gws);
    w3_sbuf_free(&name);
    return rc;
}

static int export_public(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *out, left_out_t *lo)
{
    dp_t d;
    dp_export_init(&d, ctx, "public", true, NULL);
    export_walk_t w = {.d = &d, .t = t, .lo = lo};
    int rc = db_list_dids(ctx->db, t->sip_domain, export_did_ext, &w);
    if (rc != 0) {
        xg_dp_destroy(d.x);
        return rc == -E2BIG || rc == -EINVAL ? rc : -EIO;
    }
    return xg_dp_finish(d.x, out);
}

int lookup_export_dialplan(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *context_doc, xg_out_t *public_doc,
                           xg_out_t *reject_doc, void (*left_out)(void *arg, const char *message), void *arg,
                           int *nleft_out)
{
    left_out_t lo = {.cb = left_out, .arg = arg};
    int rc = export_dialplan_context(ctx, t, context_doc, &lo);
    if (rc == 0)
        rc = export_public(ctx, t, public_doc, &lo);
    if (rc == 0) {
        /* last in dialplan/public/: an unknown DID is refused, never left to
         * whatever else the stock public context holds */
        dp_t d;
        dp_export_init(&d, ctx, "public", true, NULL);
        xg_dp_extension(d.x, "w3voipd_unknown_did", NULL);
        rc = dp_reject_actions(&d, "404 Not Found", "unknown DID", "inbound", NULL, NULL);
        if (rc == 0)
            rc = xg_dp_finish(d.x, reject_doc);
        else
            xg_dp_destroy(d.x);
    }
    if (nleft_out)
        *nleft_out += lo.n;
    return rc;
}
