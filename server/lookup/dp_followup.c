/* The second fetches: runtime outcomes FreeSWITCH alone knows (why a bridge
 * failed, whether the audio fork started) come back as a transfer to a w3_*
 * destination in the same context, answered here with the variables our
 * own actions set, every one checked again against the database. */
#include <errno.h>
#include <string.h>

#include "dp_internal.h"

/* The DID of an inbound call's second fetch, from our own exported
 * variable. */
static int public_did_from_vars(dp_t *d, db_did_t *did)
{
    const char *e164 = dp_fget(d, "variable_w3_did");
    if (e164 == NULL || e164[0] != '+')
        return -ENOENT;
    int rc = dp_find_did(d, e164, did);
    if (rc == 0 && (!did->enabled || !did->tenant_enabled))
        rc = -ENOENT;
    return rc;
}

int dp_after_bridge(dp_t *d)
{
    db_extension_t e, caller;
    const char *policy = "voicemail";
    const char *domain;
    db_did_t did;
    int rc;
    if (d->public_ctx) {
        rc = public_did_from_vars(d, &did);
        if (rc == -EIO)
            return rc;
        if (rc != 0)
            return dp_reject(d, "404 Not Found", "no DID for the forwarding step", "inbound", NULL, NULL);
        domain = did.sip_domain;
        policy = did.fallback;
    } else {
        bool ok;
        rc = dp_caller_identity(d, &caller, &ok);
        if (rc != 0 || !ok)
            return rc;
        domain = caller.sip_domain;
    }
    const char *from = dp_fget(d, "variable_w3_fwd_from");
    rc = from && dp_all_digits(from) ? db_extension_get(d->ctx->db, domain, from, &e) : -ENOENT;
    if (rc == -EIO)
        return rc;
    if (rc != 0)
        return dp_reject(d, "404 Not Found", "forwarding extension not found", d->public_ctx ? "inbound" : "internal",
                         NULL, domain);
    w3_strlcpy(d->tenant_id, e.tenant_id, sizeof(d->tenant_id));
    const char *why = dp_fget(d, "variable_originate_disposition");
    if (why == NULL)
        why = dp_fget(d, "variable_DIALSTATUS");
    lookup_trace(d->ctx, "the bridge to %s ended with %s", e.ext_number, why ? why : "(unknown)");
    xg_dp_extension(d->x, "w3_after_bridge", DP_AFTER_BRIDGE);
    if ((rc = dp_after_bridge_actions(d, &e, dp_is_busy(why), domain, policy)) != 0)
        return rc;
    return dp_done(d, "after-bridge");
}

int dp_ai_park(dp_t *d, bool supervised)
{
    int rc = 0;
    /* without an event-socket node nobody sees a stream that fails later:
     * the park is bounded, then w3_ai_result (w3_fork no longer +OK) runs
     * the DID's fallback */
    int max = d->ctx->cfg->ai_max_seconds;
    if (!supervised && max > 0) {
        lookup_trace(d->ctx, "no event-socket node watches the stream: the fallback runs after %d s (--ai-max-seconds)",
                     max);
        if ((rc = dp_action(d, "sched_transfer", "+%d %s XML %s", max, DP_AI_RESULT, d->context)) != 0 ||
            (rc = dp_action(d, "set", "w3_fork=-ERR AI call longer than %d s", max)) != 0)
            return rc;
    }
    return dp_action(d, "park", NULL);
}

int dp_ai_result(dp_t *d)
{
    db_did_t did;
    int rc = public_did_from_vars(d, &did);
    if (rc == -EIO)
        return rc;
    if (rc != 0 || strcmp(did.target_type, "ai") != 0)
        return dp_reject(d, "404 Not Found", "no AI DID for the stream check", "inbound", NULL, NULL);
    const char *res = dp_fget(d, "variable_w3_fork");
    xg_dp_extension(d->x, "w3_ai_result", DP_AI_RESULT);
    if (res && strncmp(res, "+OK", 3) == 0) {
        lookup_trace(d->ctx, "the audio stream started (%s): park the call for the agent", res);
        if ((rc = dp_ai_park(d, d->ctx->cfg->fs_nodes_n > 0)) != 0)
            return rc;
        return dp_done(d, "ai-park");
    }
    lookup_trace(d->ctx, "the audio stream did not start (%s)", res ? res : "no result");
    if ((rc = dp_fallback(d, did.sip_domain, did.fallback, NULL)) != 0)
        return rc;
    return dp_done(d, "ai-fallback");
}
