/* The phones' context (internal): the caller is the user FreeSWITCH
 * authenticated (variable_user_name + variable_domain_name with
 * variable_sip_authorized=true); the caller-id number and the request host
 * are never trusted. A destination is an extension of the caller's domain
 * (with its forwarding) or a number through a route and the caller's store
 * trunks. */
#include <errno.h>
#include <string.h>

#include "dp_internal.h"

/* Bridges to a forwarding target of ext (same-domain extension, or an
 * external number through ext's store trunk within ext's cos); *done false
 * when the forward was skipped. */
static int forward(dp_t *d, const db_extension_t *ext, const char *target, const char *kind, bool *done)
{
    *done = false;
    if (!dp_dialable(target))
        return 0;
    db_extension_t to;
    int rc = dp_all_digits(target) ? db_extension_get(d->ctx->db, ext->sip_domain, target, &to) : -ENOENT;
    if (rc == -EIO)
        return rc;
    if (rc == 0 && to.enabled) {
        lookup_trace(d->ctx, "forward %s of %s → extension %s", kind, ext->ext_number, target);
        *done = true;
        if ((rc = dp_var(d, "export", "w3_forwarded_from", ext->ext_number)) != 0 ||
            (rc = dp_check_ext(d, to.ext_number)) != 0 || (rc = dp_check_domain(d, ext->sip_domain)) != 0)
            return rc;
        return dp_action(d, "bridge", "user/%s@%s", to.ext_number, ext->sip_domain);
    }
    route_plan_t p;
    route_verdict_t v;
    rc = dp_route_resolve(d, ext, target, &p, &v);
    if (rc != 0)
        goto out;
    if (v != ROUTE_OK) {
        lookup_trace(d->ctx, "forward %s of %s to %s refused (%s)", kind, ext->ext_number, target,
                     v == ROUTE_COS        ? "class of service"
                     : v == ROUTE_NO_TRUNK ? "no trunk"
                                           : "no route");
        rc = dp_var(d, "set", "w3_fwd_refused", v == ROUTE_COS ? "cos" : v == ROUTE_NO_TRUNK ? "no_trunk" : "no_route");
        goto out;
    }
    lookup_trace(d->ctx, "forward %s of %s → %s via %s", kind, ext->ext_number, p.number, w3_sbuf_str(&p.dial));
    *done = true;
    if ((rc = dp_var(d, "export", "w3_forwarded_from", ext->ext_number)) != 0 ||
        (rc = dp_var(d, "set", "w3_fwd_cos_class", p.route.cos_class)) != 0)
        goto out;
    rc = dp_action(d, "bridge", "%s", w3_sbuf_str(&p.dial));
out:
    dp_plan_free(&p);
    return rc;
}

int dp_ring_extension(dp_t *d, const db_extension_t *e, const char *policy)
{
    int rc;
    if ((rc = dp_action(d, "set", "hangup_after_bridge=true")) != 0 ||
        (rc = dp_action(d, "set", "continue_on_fail=" DP_NOBODY_ANSWERED)) != 0)
        return rc;
    if (e->fwd_always[0]) {
        bool done;
        if ((rc = forward(d, e, e->fwd_always, "always", &done)) != 0)
            return rc;
        if (done)
            return dp_fallback(d, e->sip_domain, policy, e);
    }
    int timeout = e->fwd_no_answer[0] && e->fwd_no_answer_timeout > 0 ? e->fwd_no_answer_timeout : DP_DEFAULT_RING_S;
    lookup_trace(d->ctx, "ring user/%s@%s for %d s", e->ext_number, e->sip_domain, timeout);
    if ((rc = dp_check_ext(d, e->ext_number)) != 0 || (rc = dp_check_domain(d, e->sip_domain)) != 0 ||
        (rc = dp_action(d, "set", "call_timeout=%d", timeout)) != 0 ||
        (rc = dp_action(d, "bridge", "user/%s@%s", e->ext_number, e->sip_domain)) != 0)
        return rc;
    if (e->fwd_busy[0] || e->fwd_no_answer[0]) {
        /* busy or no answer is known only after the bridge: come back */
        lookup_trace(d->ctx, "then, if nobody answered: back to w3voipd to pick busy/no-answer forwarding");
        if ((rc = dp_var(d, "export", "w3_fwd_from", e->ext_number)) != 0)
            return rc;
        return dp_action(d, "transfer", "%s XML %s", DP_AFTER_BRIDGE, d->context);
    }
    return dp_fallback(d, e->sip_domain, policy, e);
}

int dp_after_bridge_actions(dp_t *d, const db_extension_t *e, bool busy, const char *domain, const char *policy)
{
    const char *target = busy ? e->fwd_busy : e->fwd_no_answer;
    int rc;
    if ((rc = dp_action(d, "set", "hangup_after_bridge=true")) != 0 ||
        (rc = dp_action(d, "set", "continue_on_fail=" DP_NOBODY_ANSWERED)) != 0)
        return rc;
    if (target[0]) {
        bool done;
        if ((rc = forward(d, e, target, busy ? "busy" : "no_answer", &done)) != 0)
            return rc;
    }
    return dp_fallback(d, domain, policy, e);
}

int dp_caller_identity(dp_t *d, db_extension_t *caller, bool *ok)
{
    *ok = false;
    const char *authorized = dp_fget(d, "variable_sip_authorized");
    const char *user = dp_fget(d, "variable_user_name");
    const char *domain = dp_fget(d, "variable_domain_name");
    if (authorized == NULL || strcmp(authorized, "true") != 0 || user == NULL || domain == NULL)
        return dp_reject(d, "403 Forbidden", "caller not authenticated", "internal", NULL, NULL);
    w3_strlcpy(d->res->domain, domain, sizeof(d->res->domain));
    int rc = dp_all_digits(user) ? db_extension_get(d->ctx->db, domain, user, caller) : -ENOENT;
    if (rc == -EIO)
        return rc;
    if (rc != 0 || !caller->enabled || !caller->tenant_enabled)
        return dp_reject(d, "403 Forbidden", "caller unknown or disabled", "internal", NULL, NULL);
    const char *tid = dp_fget(d, "variable_tenant_id");
    if (tid && strcmp(tid, caller->tenant_id) != 0)
        return dp_reject(d, "403 Forbidden", "caller's tenant variable disagrees with its domain", "internal", NULL,
                         NULL);
    lookup_trace(d->ctx, "caller: extension %s of %s (authenticated), cos %s", caller->ext_number, caller->sip_domain,
                 caller->cos);
    *ok = true;
    return 0;
}

static int export_caller(dp_t *d, const db_extension_t *c, const char *direction)
{
    int rc;
    if ((rc = dp_var(d, "export", "tenant_id", c->tenant_id)) != 0 ||
        (rc = dp_var(d, "export", "store_id", c->store_id)) != 0 ||
        (rc = dp_var(d, "export", "sip_domain", c->sip_domain)) != 0 ||
        (rc = dp_var(d, "export", "user_id", c->user_id)) != 0 || (rc = dp_export_gen_value(d, c->config_gen)) != 0)
        return rc;
    return dp_var(d, "export", "w3_direction", direction);
}

static int call_extension(dp_t *d, const db_extension_t *caller, const db_extension_t *callee, const char *dest)
{
    if (!callee->enabled)
        return dp_reject(d, "404 Not Found", "extension disabled", "internal", caller->tenant_id, caller->sip_domain);
    lookup_trace(d->ctx, "%s is an extension of %s", dest, caller->sip_domain);
    xg_dp_extension(d->x, "w3_ext", dest);
    int rc;
    if ((rc = export_caller(d, caller, "internal")) != 0 ||
        (rc = dp_var(d, "export", "w3_ext", callee->ext_number)) != 0 ||
        (rc = dp_ring_extension(d, callee, "voicemail")) != 0)
        return rc;
    return dp_done(d, "internal-ext");
}

static int call_out(dp_t *d, const db_extension_t *caller, const char *dest)
{
    route_plan_t p;
    route_verdict_t v;
    int rc = dp_route_resolve(d, caller, dest, &p, &v);
    if (rc != 0)
        goto out;
    switch (v) {
    case ROUTE_NONE:
        rc = dp_reject(d, "404 Not Found", "no such extension or route", "internal", caller->tenant_id,
                       caller->sip_domain);
        goto out;
    case ROUTE_COS:
        rc = dp_reject(d, "403 Forbidden", "class of service", "outbound", caller->tenant_id, caller->sip_domain);
        goto out;
    case ROUTE_NO_TRUNK:
        rc = dp_reject(d, "503 Service Unavailable", "no trunk for the caller's store", "outbound", caller->tenant_id,
                       caller->sip_domain);
        goto out;
    case ROUTE_OK:
        break;
    }
    xg_dp_extension(d->x, "w3_route", dest);
    if ((rc = export_caller(d, caller, "outbound")) != 0 ||
        (rc = dp_var(d, "export", "w3_cos_class", p.route.cos_class)) != 0)
        goto out;
    if (dp_dialable(p.first_cid) && (rc = dp_var(d, "set", "effective_caller_id_number", p.first_cid)) != 0)
        goto out;
    if ((rc = dp_action(d, "set", "hangup_after_bridge=true")) != 0 ||
        (rc = dp_action(d, "bridge", "%s", w3_sbuf_str(&p.dial))) != 0)
        goto out;
    rc = dp_done(d, "outbound");
out:
    dp_plan_free(&p);
    return rc;
}

int dp_internal_call(dp_t *d, const char *dest)
{
    db_extension_t caller;
    bool ok;
    int rc = dp_caller_identity(d, &caller, &ok);
    if (rc != 0 || !ok)
        return rc;
    w3_strlcpy(d->tenant_id, caller.tenant_id, sizeof(d->tenant_id));
    if (!dp_dialable(dest))
        return dp_reject(d, "404 Not Found", "destination is not a dialable number", "internal", caller.tenant_id,
                         caller.sip_domain);
    db_extension_t callee;
    rc = dp_all_digits(dest) ? db_extension_get(d->ctx->db, caller.sip_domain, dest, &callee) : -ENOENT;
    if (rc == -EIO)
        return rc;
    if (rc == 0)
        return call_extension(d, &caller, &callee, dest);
    return call_out(d, &caller, dest);
}
