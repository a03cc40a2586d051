/* section=dialplan (SPEC §6, §8). The server decides where a call goes and
 * answers one extension that carries the decision; FreeSWITCH only executes.
 * This file dispatches a request to its handler by context and destination
 * (dp_internal.h lists the others) and decides the answer in one place. */
#include <errno.h>
#include <string.h>

#include "dp_internal.h"
#include "log.h"

static bool context_ok(const char *c)
{
    return c && *c && strlen(c) <= 64 &&
           strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(c);
}

/* Serialises d->x into the result; false when the document was refused. */
static bool finish(dp_t *d)
{
    lookup_result_t *res = d->res;
    xg_out_free(&res->body);
    int rc = xg_dp_finish(d->x, &res->body);
    d->x = NULL;
    if (rc != 0)
        return false;
    res->rc = 0;
    res->result = d->result;
    res->what = d->what;
    return true;
}

/* The one place where a handler's return code becomes the answer: 0 is the
 * document it built (a route or a decided rejection); an error is a refusal
 * with respond, so FreeSWITCH never executes a partial answer
 * (dp_internal.h lists the codes and the SIP statuses they get). */
static void answer(dp_t *d, int rc)
{
    if (rc == 0) {
        if (finish(d))
            return;
        METRICS_INC(unsafe_values); /* a condition or name the renderer refused */
        rc = -EINVAL;
    }
    const char *status = "503 Service Unavailable", *why = d->why;
    const char *tenant = d->tenant_id[0] ? d->tenant_id : NULL;
    const char *domain = d->res->domain[0] ? d->res->domain : NULL;
    switch (rc) {
    case -EIO:
        METRICS_INC(db_errors);
        why = "database unavailable";
        tenant = domain = NULL;
        break;
    case -EINVAL:
        why = why ? why : "value not safe to render";
        break;
    case -E2BIG:
        status = "500 Server Internal Error";
        why = why ? why : "the answer exceeds a limit";
        break;
    default:
        status = "500 Server Internal Error";
        why = "internal error";
        break;
    }
    if (rc != -EIO)
        log_warn("dialplan call refused", "status", status, "reason", why, "domain", domain ? domain : "", NULL);
    if (dp_reject(d, status, why, d->public_ctx ? "inbound" : "internal", tenant, domain) == 0 && finish(d))
        return;
    xg_dp_destroy(d->x);
    d->x = NULL;
    xg_out_free(&d->res->body);
    d->res->rc = -EPROTO;
    d->res->error = "the dialplan answer could not be rendered safely";
    d->res->result = MX_SERVER_ERR;
}

void lookup_dialplan(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res)
{
    dp_t d = {.mode = DP_LIVE, .ctx = ctx, .f = f, .res = res};
    const char *context = form_get(f, "Hunt-Context");
    if (!context_ok(context))
        context = form_get(f, "Caller-Context");
    if (!context_ok(context)) {
        res->rc = -EINVAL;
        res->error = "dialplan request without a usable Hunt-Context";
        res->result = MX_CLIENT_ERR;
        return;
    }
    d.context = context;
    d.public_ctx = strcmp(context, "public") == 0;
    d.x = xg_dp_create(context);
    const char *dest = dp_fget(&d, "Hunt-Destination-Number");
    if (dest == NULL)
        dest = dp_fget(&d, "Caller-Destination-Number");
    if (dest)
        w3_strlcpy(res->key, dest, sizeof(res->key));
    lookup_trace(ctx, "context %s (%s rules), destination %s", context, d.public_ctx ? "public" : "internal",
                 dest ? dest : "(none)");

    int rc;
    if (dest && strcmp(dest, DP_AFTER_BRIDGE) == 0)
        rc = dp_after_bridge(&d);
    else if (dest && strcmp(dest, DP_AI_RESULT) == 0 && d.public_ctx)
        rc = dp_ai_result(&d);
    else if (d.public_ctx)
        rc = dp_public_call(&d, dest);
    else if (dest == NULL)
        rc = dp_reject(&d, "404 Not Found", "no destination", "internal", NULL, NULL);
    else
        rc = dp_internal_call(&d, dest);
    answer(&d, rc);
}
