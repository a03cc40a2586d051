/* Context public (carriers): the DID names the tenant, never a request
 * header; a call tagged with a gateway must come through one of that
 * tenant's trunks. A DID leads to an extension, a ring group or an AI agent
 * (the audio fork to the tenant's Voice Gateway). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_internal.h"

int dp_export_did_vars(dp_t *d, const db_did_t *did)
{
    int rc;
    if ((rc = dp_var(d, "export", "tenant_id", did->tenant_id)) != 0 ||
        (rc = dp_var(d, "export", "store_id", did->store_id)) != 0 ||
        (rc = dp_var(d, "export", "sip_domain", did->sip_domain)) != 0 ||
        (rc = dp_var(d, "export", "w3_direction", "inbound")) != 0 ||
        (rc = dp_var(d, "export", "w3_did", did->e164)) != 0 ||
        (rc = dp_var(d, "export", "w3_target_type", did->target_type)) != 0)
        return rc;
    if ((rc = dp_var(d, "export", "w3_target_ref", did->target_ref)) != 0)
        return rc;
    return dp_export_gen_value(d, did->config_gen);
}

int dp_find_did(dp_t *d, const char *raw, db_did_t *did)
{
    /* at most 20 characters, so "+" + digits always fits */
    char exact[24], national[24];
    const char *nat = NULL;
    size_t len = strlen(raw);
    if (len > 20)
        return -ENOENT;
    if (raw[0] == '+' && dp_all_digits(raw + 1)) {
        memcpy(exact, raw, len + 1);
    } else if (dp_all_digits(raw) && strncmp(raw, "00", 2) == 0) {
        exact[0] = '+';
        memcpy(exact + 1, raw + 2, len - 1);
    } else if (dp_all_digits(raw)) {
        exact[0] = '+';
        memcpy(exact + 1, raw, len + 1);
        memcpy(national, raw, len + 1);
        nat = national;
    } else {
        return -ENOENT;
    }
    db_did_t rows[2];
    int n = 0;
    int rc = db_did_find(d->ctx->db, exact, nat, rows, 2, &n);
    if (rc != 0)
        return rc;
    if (n > 1) {
        lookup_trace(d->ctx, "DID %s is ambiguous: %s and %s both exist", raw, rows[0].e164, rows[1].e164);
        return -EEXIST;
    }
    *did = rows[0];
    lookup_trace(d->ctx, "DID %s → %s of %s (%s %s, fallback %s)", raw, did->e164, did->sip_domain, did->target_type,
                 did->target_ref, did->fallback);
    return 0;
}

/* The audio fork to the tenant's Voice Gateway, then back to w3voipd to see
 * whether it started; -EINVAL when the stream URL is not safe to render. */
static int ai_actions(dp_t *d, const db_did_t *did, const db_agent_t *agent)
{
    w3_sbuf_t url, meta, cmd;
    w3_sbuf_init(&url, DP_VALUE_MAX);
    w3_sbuf_init(&meta, DP_VALUE_MAX);
    w3_sbuf_init(&cmd, DP_VALUE_MAX);
    int rc = 0;
    if (agent->ws_url[0])
        w3_sbuf_adds(&url, agent->ws_url);
    else
        w3_sbuf_printf(&url, "%s/%s/%s", d->ctx->cfg->voice_gateway_url, did->tenant_id, agent->ref);
    w3_sbuf_printf(&meta, "{\"tenant_id\":\"%s\",\"store_id\":\"%s\",\"did\":\"%s\",\"agent\":\"%s\"}", did->tenant_id,
                   did->store_id, did->e164, agent->ref);
    if (w3_sbuf_done(&url) != 0 || w3_sbuf_done(&meta) != 0) {
        rc = dp_limit(d, ML_ANSWER_SIZE, "the AI stream URL exceeds its size limit", agent->ref);
        goto out;
    }
    /* the URL is an argument inside ${api(...)}: nothing that ends or splits it */
    if (!xg_value_safe(w3_sbuf_str(&url)) || strpbrk(w3_sbuf_str(&url), "(),;' \t") ||
        !xg_value_safe(w3_sbuf_str(&meta))) {
        METRICS_INC(unsafe_values);
        d->why = "AI stream URL not safe";
        rc = -EINVAL;
        goto out;
    }
    /* the command template: "<api> <args…>" with {url} and {meta}, run
     * through variable expansion as ${api(args)} */
    const char *tpl = d->ctx->cfg->fork_command;
    size_t api_len = strcspn(tpl, " ");
    w3_sbuf_adds(&cmd, "w3_fork=${");
    w3_sbuf_add(&cmd, tpl, api_len);
    w3_sbuf_add(&cmd, "(", 1);
    for (const char *p = tpl + api_len + (tpl[api_len] ? 1 : 0); *p;) {
        if (strncmp(p, "{url}", 5) == 0) {
            w3_sbuf_adds(&cmd, w3_sbuf_str(&url));
            p += 5;
        } else if (strncmp(p, "{meta}", 6) == 0) {
            w3_sbuf_adds(&cmd, w3_sbuf_str(&meta));
            p += 6;
        } else {
            w3_sbuf_add(&cmd, p++, 1);
        }
    }
    w3_sbuf_adds(&cmd, ")}");
    if (w3_sbuf_done(&cmd) != 0) {
        rc = dp_limit(d, ML_ANSWER_SIZE, "the AI fork command exceeds its size limit", agent->ref);
        goto out;
    }
    lookup_trace(d->ctx, "AI: answer, stream the audio to %s, then back to w3voipd to check it started",
                 w3_sbuf_str(&url));
    if ((rc = dp_action(d, "answer", NULL)) != 0)
        goto out;
    xg_dp_action_template(d->x, "set", w3_sbuf_str(&cmd));
    rc = dp_action(d, "transfer", "%s XML %s", DP_AI_RESULT, d->context);
out:
    w3_sbuf_free(&url);
    w3_sbuf_free(&meta);
    w3_sbuf_free(&cmd);
    return rc;
}

/* Rings a ring group (',' simultaneous, '|' sequential), then the fallback
 * with the first member whose voicemail is on. *rang false: nobody to
 * ring. Every enabled member is a leg, or the call is refused (-E2BIG). */
static int ring_group_actions(dp_t *d, const db_did_t *did, const db_ring_group_t *g, bool *rang)
{
    w3_sbuf_t dial;
    w3_sbuf_init(&dial, DP_VALUE_MAX);
    const db_ring_member_t *vm = NULL;
    bool seq = strcmp(g->strategy, "sequential") == 0;
    int rc = 0, legs = 0;
    *rang = false;
    for (int i = 0; g->enabled && i < g->nmembers; i++) {
        const db_ring_member_t *m = &g->members[i];
        if (!m->enabled)
            continue;
        if ((rc = dp_check_ext(d, m->ext_number)) != 0 || (rc = dp_check_domain(d, did->sip_domain)) != 0)
            goto out;
        if (legs++)
            w3_sbuf_add(&dial, seq ? "|" : ",", 1);
        w3_sbuf_printf(&dial, "[leg_timeout=%d]user/%s@%s", g->ring_timeout, m->ext_number, did->sip_domain);
        if (vm == NULL && m->voicemail_enabled)
            vm = m;
    }
    if (w3_sbuf_done(&dial) != 0) {
        rc = dp_limit(d, ML_ANSWER_SIZE, "a ring group's bridge string exceeds its size limit", g->ref);
        goto out;
    }
    if (legs == 0)
        goto out;
    *rang = true;
    lookup_trace(d->ctx, "ring group %s, %s, %d s per leg: %s", g->ref, g->strategy, g->ring_timeout,
                 w3_sbuf_str(&dial));
    if ((rc = dp_action(d, "set", "hangup_after_bridge=true")) != 0 ||
        (rc = dp_action(d, "set", "continue_on_fail=" DP_NOBODY_ANSWERED)) != 0 ||
        (rc = dp_action(d, "set", "call_timeout=%d", seq ? g->ring_timeout * g->nmembers : g->ring_timeout)) != 0)
        goto out;
    if (!seq && (rc = dp_action(d, "set", "ignore_early_media=true")) != 0)
        goto out;
    if ((rc = dp_action(d, "bridge", "%s", w3_sbuf_str(&dial))) != 0)
        goto out;
    db_extension_t vme;
    int vrc = vm ? db_extension_get(d->ctx->db, did->sip_domain, vm->ext_number, &vme) : -ENOENT;
    if (vrc == -EIO) {
        rc = vrc;
        goto out;
    }
    rc = dp_fallback(d, did->sip_domain, did->fallback, vrc == 0 ? &vme : NULL);
out:
    w3_sbuf_free(&dial);
    return rc;
}

static int target_ai(dp_t *d, const db_did_t *did, const char **what)
{
    db_agent_t agent;
    int rc = db_agent_get(d->ctx->db, did->sip_domain, did->target_ref, &agent);
    if (rc == -EIO)
        return rc;
    if (rc == 0 && agent.enabled) {
        *what = "did-ai";
        return ai_actions(d, did, &agent);
    }
    lookup_trace(d->ctx, "AI agent %s missing or disabled", did->target_ref);
    *what = "did-ai-fallback";
    return dp_fallback(d, did->sip_domain, did->fallback, NULL);
}

static int target_ring(dp_t *d, const db_did_t *did, const char **what)
{
    db_ring_group_t *g = xmalloc(sizeof(*g));
    int rc = db_ring_group_get(d->ctx->db, did->sip_domain, did->target_ref, g);
    bool rang = false;
    if (rc == -E2BIG) {
        rc = dp_limit(d, ML_RING_GROUP_MEMBERS,
                      "a ring group has more than " DP_STR(DB_MAX_RING_GROUP_MEMBERS) " members", did->target_ref);
        goto out;
    }
    if (rc == -EIO)
        goto out;
    if (rc == 0 && (rc = ring_group_actions(d, did, g, &rang)) != 0)
        goto out;
    if (rang) {
        *what = "did-ring";
        goto out;
    }
    lookup_trace(d->ctx, "ring group %s missing, disabled or without enabled members", did->target_ref);
    *what = "did-ring-fallback";
    rc = dp_fallback(d, did->sip_domain, did->fallback, NULL);
out:
    free(g);
    return rc;
}

int dp_did_target_actions(dp_t *d, const db_did_t *did, const char **what)
{
    if (strcmp(did->target_type, "ai") == 0)
        return target_ai(d, did, what);
    if (strcmp(did->target_type, "ring") == 0)
        return target_ring(d, did, what);
    db_extension_t e;
    int rc = db_extension_get(d->ctx->db, did->sip_domain, did->target_ref, &e);
    if (rc == -EIO)
        return rc;
    int vrc = dp_var(d, "export", "w3_ext", did->target_ref);
    if (vrc != 0)
        return vrc;
    if (rc != 0 || !e.enabled || !e.tenant_enabled) {
        lookup_trace(d->ctx, "extension %s missing or disabled", did->target_ref);
        *what = "did-ext-fallback";
        return dp_fallback(d, did->sip_domain, did->fallback, NULL);
    }
    *what = "did-ext";
    return dp_ring_extension(d, &e, did->fallback);
}

int dp_public_call(dp_t *d, const char *dest)
{
    const char *raw = dest;
    /* a carrier sending to the gateway's gw+NAME contact leaves
     * "FreeSWITCH" here; the DID survives in the To user */
    if (!(raw && (dp_all_digits(raw) || (raw[0] == '+' && dp_all_digits(raw + 1))))) {
        const char *to = dp_fget(d, "variable_sip_to_user");
        lookup_trace(d->ctx, "destination '%s' is not a number: using the To user '%s'", raw ? raw : "", to ? to : "");
        raw = to;
    }
    if (raw == NULL)
        return dp_reject(d, "404 Not Found", "no DID in the request", "inbound", NULL, NULL);
    w3_strlcpy(d->res->key, raw, sizeof(d->res->key));
    db_did_t did;
    int rc = dp_find_did(d, raw, &did);
    if (rc == -EIO)
        return rc;
    if (rc == -EEXIST)
        return dp_reject(d, "404 Not Found", "ambiguous DID", "inbound", NULL, NULL);
    if (rc != 0)
        return dp_reject(d, "404 Not Found", "unknown DID", "inbound", NULL, NULL);
    w3_strlcpy(d->res->domain, did.sip_domain, sizeof(d->res->domain));
    if (!did.enabled || !did.tenant_enabled)
        return dp_reject(d, "404 Not Found", "DID disabled", "inbound", did.tenant_id, did.sip_domain);

    const char *gw = dp_fget(d, "variable_sip_gateway");
    if (gw) {
        char owner[65];
        rc = db_trunk_owner(d->ctx->db, gw, owner);
        if (rc == -EIO)
            return rc;
        if (rc != 0 || strcmp(owner, did.tenant_id) != 0) {
            lookup_trace(d->ctx, "gateway %s does not belong to the DID's tenant", gw);
            return dp_reject(d, "403 Forbidden", "DID not owned by the gateway's tenant", "inbound", NULL, NULL);
        }
        lookup_trace(d->ctx, "gateway %s belongs to the DID's tenant", gw);
    }

    /* the condition echoes the destination only when it is a plain token
     * (a carrier controls it); otherwise the decision stands unconditioned */
    bool plain =
        dest && strspn(dest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+*#_.-") == strlen(dest);
    xg_dp_extension(d->x, "w3_did", plain ? dest : NULL);
    /* a refusal for an error below is attributed to the DID's tenant */
    w3_strlcpy(d->tenant_id, did.tenant_id, sizeof(d->tenant_id));
    const char *what = NULL;
    if ((rc = dp_export_did_vars(d, &did)) != 0 || (rc = dp_did_target_actions(d, &did, &what)) != 0)
        return rc;
    return dp_done(d, what);
}
