/* Shared emitters of the dialplan answers (live and export): every action
 * goes through dp_action()/dp_var(), which build its data whole in a bounded
 * builder or refuse it (-E2BIG), and hand it to xmlgen, which refuses a value
 * that is not safe to render (-EINVAL). */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dp_internal.h"
#include "log.h"

void dp_export_init(dp_t *d, const lookup_ctx_t *ctx, const char *context, bool public_ctx, const char *static_context)
{
    *d = (dp_t){.mode = DP_EXPORT, .ctx = ctx, .context = context, .public_ctx = public_ctx};
    d->x = xg_dp_create_static(static_context);
}

const char *dp_fget(const dp_t *d, const char *name)
{
    assert(d->mode == DP_LIVE && d->f != NULL);
    const char *v = form_get(d->f, name);
    return v && *v ? v : NULL;
}

bool dp_dialable(const char *s)
{
    return s && *s && strlen(s) <= 32 && strspn(s, DP_DIALABLE) == strlen(s);
}

bool dp_all_digits(const char *s)
{
    return s && *s && strspn(s, "0123456789") == strlen(s);
}

static int unsafe(dp_t *d, const char *what, const char *value)
{
    METRICS_INC(unsafe_values);
    /* the value itself may be an attack on the log: its length only */
    char n[24];
    snprintf(n, sizeof(n), "%zu", value ? strlen(value) : 0);
    log_warn("dialplan value refused at render time", "field", what, "length", n, NULL);
    d->why = what;
    return -EINVAL;
}

int dp_check_gateway(dp_t *d, const char *gateway_name)
{
    if (!xg_gateway_name_ok(gateway_name))
        return unsafe(d, "a trunk's gateway_name is not a sofia gateway name", gateway_name);
    return 0;
}

int dp_check_ext(dp_t *d, const char *ext_number)
{
    size_t n = ext_number ? strlen(ext_number) : 0;
    if (n < 1 || n > 10 || !dp_all_digits(ext_number))
        return unsafe(d, "an extension number is not 1-10 digits", ext_number);
    return 0;
}

int dp_check_domain(dp_t *d, const char *domain)
{
    size_t n = domain ? strlen(domain) : 0;
    if (n == 0 || n > 253 || strspn(domain, XG_ALLOW_DOMAIN) != n)
        return unsafe(d, "a SIP domain holds characters a domain cannot", domain);
    return 0;
}

static int too_big(dp_t *d, const char *app)
{
    return dp_limit(d, ML_ANSWER_SIZE, "an action of the answer exceeds its size limit", app);
}

static int emit(dp_t *d, const char *app, const char *data, const char *name)
{
    if (xg_dp_action(d->x, app, data) != 0) {
        METRICS_INC(unsafe_values);
        log_warn("dialplan value refused: not safe to render", "application", app, "variable", name ? name : "", NULL);
        if (d->why == NULL)
            d->why = "value not safe to render";
        return -EINVAL;
    }
    return 0;
}

int dp_var(dp_t *d, const char *app, const char *name, const char *value)
{
    if (value == NULL || *value == '\0')
        return 0;
    w3_sbuf_t b;
    w3_sbuf_init(&b, DP_VALUE_MAX);
    w3_sbuf_printf(&b, "%s=%s", name, value);
    int rc = w3_sbuf_done(&b) != 0 ? too_big(d, app) : emit(d, app, w3_sbuf_str(&b), name);
    w3_sbuf_free(&b);
    return rc;
}

int dp_action(dp_t *d, const char *app, const char *fmt, ...)
{
    if (fmt == NULL)
        return emit(d, app, NULL, NULL);
    w3_sbuf_t b;
    w3_sbuf_init(&b, DP_VALUE_MAX);
    va_list ap;
    va_start(ap, fmt);
    w3_sbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    int rc = w3_sbuf_done(&b) != 0 ? too_big(d, app) : emit(d, app, w3_sbuf_str(&b), NULL);
    w3_sbuf_free(&b);
    return rc;
}

int dp_export_gen(dp_t *d, const char *tenant_id)
{
    long long gen = 0;
    if (db_config_gen(d->ctx->db, tenant_id && *tenant_id ? tenant_id : NULL, &gen) != 0)
        return -EIO;
    return dp_export_gen_value(d, gen);
}

int dp_export_gen_value(dp_t *d, long long gen)
{
    return dp_action(d, "export", "w3_config_gen=%lld", gen);
}

int dp_reject_actions(dp_t *d, const char *sip_status, const char *why, const char *direction, const char *tenant_id,
                      const char *domain)
{
    int rc;
    /* exported so the rejected call's CDR is attributed too */
    if ((rc = dp_var(d, "export", "w3_direction", direction)) != 0 ||
        (rc = dp_var(d, "export", "tenant_id", tenant_id)) != 0 ||
        (rc = dp_var(d, "export", "sip_domain", domain)) != 0 || (rc = dp_export_gen(d, tenant_id)) != 0 ||
        (rc = dp_var(d, "set", "w3_reject_reason", why)) != 0)
        return rc;
    return dp_action(d, "respond", "%s", sip_status);
}

int dp_reject(dp_t *d, const char *sip_status, const char *why, const char *direction, const char *tenant_id,
              const char *domain)
{
    assert(d->mode == DP_LIVE);
    lookup_trace(d->ctx, "REJECT %s: %s", sip_status, why);
    xg_dp_destroy(d->x);
    d->x = xg_dp_create(d->context);
    xg_dp_extension(d->x, "w3_reject", NULL);
    d->result = MX_REJECT;
    d->what = "reject";
    return dp_reject_actions(d, sip_status, why, direction, tenant_id, domain);
}

int dp_done(dp_t *d, const char *what)
{
    assert(d->mode == DP_LIVE);
    d->result = MX_OK;
    d->what = what;
    return 0;
}

int dp_fallback(dp_t *d, const char *domain, const char *policy, const db_extension_t *vm_ext)
{
    int rc;
    if (strcmp(policy, "voicemail") == 0 && vm_ext && vm_ext->voicemail_enabled) {
        lookup_trace(d->ctx, "fallback: voicemail of %s", vm_ext->ext_number);
        if ((rc = dp_action(d, "answer", NULL)) != 0)
            return rc;
        return dp_action(d, "voicemail", "default %s %s", domain, vm_ext->ext_number);
    }
    if (strcmp(policy, "hangup") != 0) {
        lookup_trace(d->ctx, "fallback: announcement %s, then hangup", d->ctx->cfg->announcement);
        if ((rc = dp_action(d, "answer", NULL)) != 0 ||
            (rc = dp_action(d, "playback", "%s", d->ctx->cfg->announcement)) != 0)
            return rc;
    } else {
        lookup_trace(d->ctx, "fallback: hangup");
    }
    return dp_action(d, "hangup", "NORMAL_CLEARING");
}

int dp_limit(dp_t *d, metrics_limit_t which, const char *why, const char *object)
{
    metrics_limit_refusal(which);
    log_warn("call refused: a read-side limit is exceeded", "reason", why, "object", object ? object : "", NULL);
    lookup_trace(d->ctx, "%s (%s): the call is refused", why, object ? object : "");
    if (d->why == NULL)
        d->why = why;
    return -E2BIG;
}

int dp_exact(w3_sbuf_t *out, const char *value)
{
    w3_sbuf_add(out, "^", 1);
    for (const char *p = value; *p; p++) {
        bool alnum = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        if (!alnum)
            w3_sbuf_add(out, "\\", 1);
        w3_sbuf_add(out, p, 1);
    }
    w3_sbuf_add(out, "$", 1);
    return w3_sbuf_done(out);
}

bool dp_is_busy(const char *why)
{
    return why && (strcmp(why, "USER_BUSY") == 0 || strcmp(why, "BUSY") == 0);
}
