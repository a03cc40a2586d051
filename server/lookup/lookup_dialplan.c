/* section=dialplan (SPEC §6, §8). The server decides where a call goes and
 * answers one extension that carries the decision; FreeSWITCH only executes.
 *
 * public   (carriers): the DID names the tenant; never a request header.
 * internal (phones):   the caller is the user FreeSWITCH authenticated
 *                      (variable_user_name + variable_domain_name with
 *                      variable_sip_authorized=true); the caller-id number
 *                      and the request host are never trusted.
 * Runtime outcomes FreeSWITCH alone knows (why a bridge failed, whether the
 * audio fork started) come back as a transfer to a w3_* destination in the
 * same context, answered here with the variables our own actions set. */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lookup.h"
#include "util.h"

#define DIALABLE "0123456789+*#"
#define AFTER_BRIDGE "w3_after_bridge"
#define AI_RESULT "w3_ai_result"
/* bridge failures that mean "nobody answered" and lead to the fallback */
#define NOBODY_ANSWERED "NO_ANSWER,USER_BUSY,NO_USER_RESPONSE,USER_NOT_REGISTERED,SUBSCRIBER_ABSENT,ALLOTTED_TIMEOUT"
#define DEFAULT_RING_S 30
#define MAX_ROUTES DB_ROUTES_MAX
#define MAX_TRUNKS DB_STORE_TRUNKS_MAX

typedef struct dp {
    const lookup_ctx_t *ctx;
    const form_t *f;
    lookup_result_t *res;
    xg_dp_t *x;
    const char *context;
    bool public_ctx;
    bool db_failed;
    bool unsafe;
} dp_t;

static const char *fget(const dp_t *d, const char *name)
{
    const char *v = form_get(d->f, name);
    return v && *v ? v : NULL;
}

static bool dialable(const char *s)
{
    return s && *s && strlen(s) <= 32 && strspn(s, DIALABLE) == strlen(s);
}

static bool all_digits(const char *s)
{
    return s && *s && strspn(s, "0123456789") == strlen(s);
}

static int cos_rank(const char *c)
{
    static const char *const order[] = {"internal", "local", "national", "mobile", "international", "premium"};
    for (size_t i = 0; i < W3_ARRAY_LEN(order); i++)
        if (strcmp(c, order[i]) == 0)
            return (int)i;
    return -1;
}

/* A data action "name=value" (export or set). */
static void var(dp_t *d, const char *app, const char *name, const char *value)
{
    if (value == NULL || *value == '\0')
        return;
    char buf[1200];
    snprintf(buf, sizeof(buf), "%s=%s", name, value);
    if (xg_dp_action(d->x, app, buf) != 0) {
        METRICS_INC(unsafe_values);
        log_warn("dialplan value refused: not safe to render", "variable", name, NULL);
    }
}

static void action(dp_t *d, const char *app, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void action(dp_t *d, const char *app, const char *fmt, ...)
{
    char buf[2048];
    if (fmt == NULL) {
        xg_dp_action(d->x, app, NULL);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (xg_dp_action(d->x, app, buf) != 0)
        METRICS_INC(unsafe_values);
}

static void finish(dp_t *d, metrics_result_t result, const char *what)
{
    xg_out_free(&d->res->body);
    if (xg_dp_finish(d->x, &d->res->body) != 0) {
        d->x = NULL;
        d->res->status = 500;
        d->res->error = "the dialplan answer could not be rendered safely";
        d->res->result = MX_SERVER_ERR;
        return;
    }
    d->x = NULL;
    d->res->status = 200;
    d->res->result = result;
    d->res->what = what;
}

/* An explicit rejection in the requested context (never the not-found
 * document: FreeSWITCH would fall back to its static dialplan). */
static void reject_actions(dp_t *d, const char *sip_status, const char *why, const char *direction,
                           const char *tenant_id, const char *domain)
{
    /* exported so the rejected call's CDR is attributed too */
    var(d, "export", "w3_direction", direction);
    var(d, "export", "tenant_id", tenant_id);
    var(d, "export", "sip_domain", domain);
    var(d, "set", "w3_reject_reason", why);
    action(d, "respond", "%s", sip_status);
}

static void reject(dp_t *d, const char *sip_status, const char *why, const char *direction, const char *tenant_id,
                   const char *domain)
{
    lookup_trace(d->ctx, "REJECT %s: %s", sip_status, why);
    xg_dp_destroy(d->x);
    d->x = xg_dp_create(d->context);
    xg_dp_extension(d->x, "w3_reject", NULL);
    reject_actions(d, sip_status, why, direction, tenant_id, domain);
    finish(d, MX_REJECT, "reject");
}

static void db_error(dp_t *d)
{
    METRICS_INC(db_errors);
    d->db_failed = true;
    reject(d, "503 Service Unavailable", "database unavailable", d->public_ctx ? "inbound" : "internal", NULL, NULL);
}

/* ---- routes, COS, trunks ------------------------------------------------ */

typedef enum { ROUTE_OK, ROUTE_NONE, ROUTE_COS, ROUTE_NO_TRUNK, ROUTE_DB } route_verdict_t;

typedef struct route_plan {
    db_route_t route;
    char number[64];
    char dial[1024]; /* the bridge string, failover joined with '|' */
    char first_cid[21];
    int ntrunks;
} route_plan_t;

/* Compiled route patterns, per thread, keyed by the pattern text itself:
 * a changed pattern is a new key, so the cache can never be stale. regcomp
 * cost more than all of a lookup's queries together. */
#define RE_CACHE 64
typedef struct re_entry {
    char *pattern;
    regex_t re;
    bool ok;
} re_entry_t;
static _Thread_local re_entry_t re_cache[RE_CACHE];
static _Thread_local int re_used;

void lookup_cache_clear(void)
{
    for (int i = 0; i < re_used; i++) {
        if (re_cache[i].ok)
            regfree(&re_cache[i].re);
        free(re_cache[i].pattern);
    }
    re_used = 0;
}

static const regex_t *route_regex(const char *pattern)
{
    for (int i = 0; i < re_used; i++)
        if (strcmp(re_cache[i].pattern, pattern) == 0)
            return re_cache[i].ok ? &re_cache[i].re : NULL;
    if (re_used == RE_CACHE)
        lookup_cache_clear(); /* more patterns than expected: start over */
    re_entry_t *e = &re_cache[re_used++];
    e->pattern = xstrdup(pattern);
    e->ok = regcomp(&e->re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
    return e->ok ? &e->re : NULL;
}

/* The bridge string through a store's enabled trunks in priority order
 * (failover '|'), each leg with its trunk's caller id. */
static route_verdict_t build_dial(dp_t *d, const char *store_id, const char *who, const char *number, route_plan_t *p)
{
    db_trunk_t trunks[MAX_TRUNKS];
    int nt = 0;
    if (db_store_trunks(d->ctx->db, store_id, trunks, MAX_TRUNKS, &nt) != 0)
        return ROUTE_DB;
    w3_buf_t dial = {0};
    for (int i = 0; i < nt; i++) {
        if (dial.len)
            w3_buf_add(&dial, "|", 1);
        /* per-leg caller id: each trunk presents its own number */
        if (dialable(trunks[i].caller_id_number))
            w3_buf_printf(&dial, "[origination_caller_id_number=%s]", trunks[i].caller_id_number);
        w3_buf_printf(&dial, "sofia/gateway/%s/%s", trunks[i].gateway_name, number);
        if (i == 0)
            w3_strlcpy(p->first_cid, trunks[i].caller_id_number, sizeof(p->first_cid));
        lookup_trace(d->ctx, "trunk %s (priority %d) of the store of %s", trunks[i].gateway_name, trunks[i].priority,
                     who);
    }
    p->ntrunks = nt;
    bool fits = dial.len > 0 && w3_strlcpy(p->dial, dial.data, sizeof(p->dial));
    w3_buf_free(&dial);
    if (nt == 0)
        lookup_trace(d->ctx, "the store of %s has no enabled trunk", who);
    return nt > 0 && fits ? ROUTE_OK : ROUTE_NO_TRUNK;
}

/* Matches number against the domain's routes as `who` would dial it: the
 * first enabled match by priority, its class against who's cos (emergency
 * always allowed), then who's store trunks in priority order. */
static route_verdict_t route_resolve(dp_t *d, const db_extension_t *who, const char *number, route_plan_t *p)
{
    db_route_t routes[MAX_ROUTES];
    int n = 0;
    memset(p, 0, sizeof(*p));
    if (db_routes_list(d->ctx->db, who->sip_domain, routes, MAX_ROUTES, &n) != 0)
        return ROUTE_DB;
    int match = -1;
    for (int i = 0; i < n && match < 0; i++) {
        const regex_t *re = route_regex(routes[i].pattern);
        if (re == NULL) {
            log_warn("route pattern does not compile: skipped", "route", routes[i].route_id, NULL);
            continue;
        }
        if (regexec(re, number, 0, NULL, 0) == 0)
            match = i;
    }
    if (match < 0) {
        lookup_trace(d->ctx, "no route of %s matches %s", who->sip_domain, number);
        return ROUTE_NONE;
    }
    p->route = routes[match];
    lookup_trace(d->ctx, "route '%s' (%s, priority %d, class %s) matches %s", p->route.name, p->route.pattern,
                 p->route.priority, p->route.cos_class, number);
    bool emergency = strcmp(p->route.cos_class, "emergency") == 0;
    int need = cos_rank(p->route.cos_class), have = cos_rank(who->cos);
    if (!emergency && (need < 0 || have < 0 || need > have)) {
        lookup_trace(d->ctx, "COS: extension %s has cos '%s', class '%s' is above it: refused", who->ext_number,
                     who->cos, p->route.cos_class);
        return ROUTE_COS;
    }
    lookup_trace(d->ctx, "COS: extension %s has cos '%s': class '%s' %s", who->ext_number, who->cos, p->route.cos_class,
                 emergency ? "is emergency, always allowed" : "allowed");
    size_t len = strlen(number);
    size_t strip = (size_t)p->route.strip_digits < len ? (size_t)p->route.strip_digits : len;
    snprintf(p->number, sizeof(p->number), "%s%s", p->route.prepend, number + strip);
    if (!dialable(p->number))
        return ROUTE_NONE;

    return build_dial(d, who->store_id, who->ext_number, p->number, p);
}

/* ---- fallback, forwarding, ringing ----------------------------------------- */

/* What happens when nobody answered: voicemail of vm_ext when the policy
 * allows and its mailbox is on, else the announcement, then hangup. */
static void fallback(dp_t *d, const char *domain, const char *policy, const db_extension_t *vm_ext)
{
    if (strcmp(policy, "voicemail") == 0 && vm_ext && vm_ext->voicemail_enabled) {
        lookup_trace(d->ctx, "fallback: voicemail of %s", vm_ext->ext_number);
        action(d, "answer", NULL);
        action(d, "voicemail", "default %s %s", domain, vm_ext->ext_number);
        return;
    }
    if (strcmp(policy, "hangup") != 0) {
        lookup_trace(d->ctx, "fallback: announcement %s, then hangup", d->ctx->cfg->announcement);
        action(d, "answer", NULL);
        action(d, "playback", "%s", d->ctx->cfg->announcement);
    } else {
        lookup_trace(d->ctx, "fallback: hangup");
    }
    action(d, "hangup", "NORMAL_CLEARING");
}

typedef enum { FWD_DONE, FWD_SKIPPED } fwd_t;

/* Bridges to a forwarding target of ext (same-domain extension, or an
 * external number through ext's store trunk within ext's cos). */
static fwd_t forward(dp_t *d, const db_extension_t *ext, const char *target, const char *kind)
{
    if (!dialable(target))
        return FWD_SKIPPED;
    db_extension_t to;
    int rc = all_digits(target) ? db_extension_get(d->ctx->db, ext->sip_domain, target, &to) : -ENOENT;
    if (rc == -EIO) {
        d->db_failed = true;
        return FWD_SKIPPED;
    }
    if (rc == 0 && to.enabled) {
        lookup_trace(d->ctx, "forward %s of %s → extension %s", kind, ext->ext_number, target);
        var(d, "export", "w3_forwarded_from", ext->ext_number);
        action(d, "bridge", "user/%s@%s", to.ext_number, ext->sip_domain);
        return FWD_DONE;
    }
    route_plan_t p;
    route_verdict_t v = route_resolve(d, ext, target, &p);
    if (v == ROUTE_DB)
        d->db_failed = true;
    if (v != ROUTE_OK) {
        lookup_trace(d->ctx, "forward %s of %s to %s refused (%s)", kind, ext->ext_number, target,
                     v == ROUTE_COS        ? "class of service"
                     : v == ROUTE_NO_TRUNK ? "no trunk"
                                           : "no route");
        var(d, "set", "w3_fwd_refused", v == ROUTE_COS ? "cos" : v == ROUTE_NO_TRUNK ? "no_trunk" : "no_route");
        return FWD_SKIPPED;
    }
    lookup_trace(d->ctx, "forward %s of %s → %s via %s", kind, ext->ext_number, p.number, p.dial);
    var(d, "export", "w3_forwarded_from", ext->ext_number);
    var(d, "set", "w3_fwd_cos_class", p.route.cos_class);
    action(d, "bridge", "%s", p.dial);
    return FWD_DONE;
}

/* Rings an extension honouring its forwarding; policy is the fallback. */
static void ring_extension(dp_t *d, const db_extension_t *e, const char *policy)
{
    action(d, "set", "hangup_after_bridge=true");
    action(d, "set", "continue_on_fail=" NOBODY_ANSWERED);
    if (e->fwd_always[0]) {
        if (forward(d, e, e->fwd_always, "always") == FWD_DONE) {
            fallback(d, e->sip_domain, policy, e);
            return;
        }
    }
    int timeout = e->fwd_no_answer[0] && e->fwd_no_answer_timeout > 0 ? e->fwd_no_answer_timeout : DEFAULT_RING_S;
    action(d, "set", "call_timeout=%d", timeout);
    lookup_trace(d->ctx, "ring user/%s@%s for %d s", e->ext_number, e->sip_domain, timeout);
    action(d, "bridge", "user/%s@%s", e->ext_number, e->sip_domain);
    if (e->fwd_busy[0] || e->fwd_no_answer[0]) {
        /* busy or no answer is known only after the bridge: come back */
        lookup_trace(d->ctx, "then, if nobody answered: back to w3voipd to pick busy/no-answer forwarding");
        var(d, "export", "w3_fwd_from", e->ext_number);
        action(d, "transfer", "%s XML %s", AFTER_BRIDGE, d->context);
        return;
    }
    fallback(d, e->sip_domain, policy, e);
}

/* ---- public ---------------------------------------------------------------- */

static void export_did(dp_t *d, const db_did_t *did)
{
    var(d, "export", "tenant_id", did->tenant_id);
    var(d, "export", "store_id", did->store_id);
    var(d, "export", "sip_domain", did->sip_domain);
    var(d, "export", "w3_direction", "inbound");
    var(d, "export", "w3_did", did->e164);
    var(d, "export", "w3_target_type", did->target_type);
    var(d, "export", "w3_target_ref", did->target_ref);
}

/* Normalises a dialled DID and finds its owner. 0, -ENOENT, -EIO, -EEXIST
 * (ambiguous). */
static int find_did(dp_t *d, const char *raw, db_did_t *did)
{
    char exact[40], national[40];
    const char *nat = NULL;
    if (raw[0] == '+' && all_digits(raw + 1)) {
        snprintf(exact, sizeof(exact), "%s", raw);
    } else if (all_digits(raw) && strncmp(raw, "00", 2) == 0) {
        snprintf(exact, sizeof(exact), "+%s", raw + 2);
    } else if (all_digits(raw)) {
        snprintf(exact, sizeof(exact), "+%s", raw);
        snprintf(national, sizeof(national), "%s", raw);
        nat = national;
    } else {
        return -ENOENT;
    }
    if (strlen(raw) > 20)
        return -ENOENT;
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
 * whether it started. false when the stream URL is not safe to render. */
static bool ai_actions(dp_t *d, const db_did_t *did, const db_agent_t *agent)
{
    char url[600];
    if (agent->ws_url[0])
        snprintf(url, sizeof(url), "%s", agent->ws_url);
    else
        snprintf(url, sizeof(url), "%s/%s/%s", d->ctx->cfg->voice_gateway_url, did->tenant_id, agent->ref);
    char meta[600];
    snprintf(meta, sizeof(meta), "{\"tenant_id\":\"%s\",\"store_id\":\"%s\",\"did\":\"%s\",\"agent\":\"%s\"}",
             did->tenant_id, did->store_id, did->e164, agent->ref);
    if (!xg_value_safe(url) || strchr(url, ' ') || !xg_value_safe(meta)) {
        METRICS_INC(unsafe_values);
        return false;
    }
    /* the command template: "<api> <args…>" with {url} and {meta}, run
     * through variable expansion as ${api(args)} */
    const char *tpl = d->ctx->cfg->fork_command;
    w3_buf_t cmd = {0};
    size_t api_len = strcspn(tpl, " ");
    w3_buf_adds(&cmd, "w3_fork=${");
    w3_buf_add(&cmd, tpl, api_len);
    w3_buf_add(&cmd, "(", 1);
    for (const char *p = tpl + api_len + (tpl[api_len] ? 1 : 0); *p;) {
        if (strncmp(p, "{url}", 5) == 0) {
            w3_buf_adds(&cmd, url);
            p += 5;
        } else if (strncmp(p, "{meta}", 6) == 0) {
            w3_buf_adds(&cmd, meta);
            p += 6;
        } else {
            w3_buf_add(&cmd, p++, 1);
        }
    }
    w3_buf_adds(&cmd, ")}");
    lookup_trace(d->ctx, "AI: answer, stream the audio to %s, then back to w3voipd to check it started", url);
    action(d, "answer", NULL);
    xg_dp_action_template(d->x, "set", cmd.data);
    w3_buf_free(&cmd);
    action(d, "transfer", "%s XML %s", AI_RESULT, d->context);
    return true;
}

/* Rings a ring group (',' simultaneous, '|' sequential), then the fallback
 * with the first member whose voicemail is on. false: nobody to ring. */
static bool ring_group_actions(dp_t *d, const db_did_t *did, const db_ring_group_t *g)
{
    w3_buf_t dial = {0};
    const db_ring_member_t *vm = NULL;
    bool seq = strcmp(g->strategy, "sequential") == 0;
    for (int i = 0; g->enabled && i < g->nmembers; i++) {
        const db_ring_member_t *m = &g->members[i];
        if (!m->enabled)
            continue;
        if (dial.len)
            w3_buf_add(&dial, seq ? "|" : ",", 1);
        w3_buf_printf(&dial, "[leg_timeout=%d]user/%s@%s", g->ring_timeout, m->ext_number, did->sip_domain);
        if (vm == NULL && m->voicemail_enabled)
            vm = m;
    }
    if (dial.len == 0)
        return false;
    lookup_trace(d->ctx, "ring group %s, %s, %d s per leg: %s", g->ref, g->strategy, g->ring_timeout, dial.data);
    action(d, "set", "hangup_after_bridge=true");
    action(d, "set", "continue_on_fail=" NOBODY_ANSWERED);
    action(d, "set", "call_timeout=%d", seq ? g->ring_timeout * g->nmembers : g->ring_timeout);
    if (!seq)
        action(d, "set", "ignore_early_media=true");
    action(d, "bridge", "%s", dial.data);
    w3_buf_free(&dial);
    db_extension_t vme;
    int rc = vm ? db_extension_get(d->ctx->db, did->sip_domain, vm->ext_number, &vme) : -ENOENT;
    if (rc == -EIO)
        d->db_failed = true;
    fallback(d, did->sip_domain, did->fallback, rc == 0 ? &vme : NULL);
    return true;
}

/* Everything a DID's call does after its variables are exported. Returns
 * what was answered (for the log), or NULL when d->db_failed / d->unsafe. */
static const char *did_target_actions(dp_t *d, const db_did_t *did)
{
    if (strcmp(did->target_type, "ai") == 0) {
        db_agent_t agent;
        int rc = db_agent_get(d->ctx->db, did->sip_domain, did->target_ref, &agent);
        if (rc == -EIO) {
            d->db_failed = true;
            return NULL;
        }
        if (rc == 0 && agent.enabled) {
            if (!ai_actions(d, did, &agent)) {
                d->unsafe = true;
                return NULL;
            }
            return "did-ai";
        }
        lookup_trace(d->ctx, "AI agent %s missing or disabled", did->target_ref);
        fallback(d, did->sip_domain, did->fallback, NULL);
        return "did-ai-fallback";
    }
    if (strcmp(did->target_type, "ring") == 0) {
        db_ring_group_t g;
        int rc = db_ring_group_get(d->ctx->db, did->sip_domain, did->target_ref, &g);
        if (rc == -EIO) {
            d->db_failed = true;
            return NULL;
        }
        if (rc == 0 && ring_group_actions(d, did, &g))
            return d->db_failed ? NULL : "did-ring";
        lookup_trace(d->ctx, "ring group %s missing, disabled or without enabled members", did->target_ref);
        fallback(d, did->sip_domain, did->fallback, NULL);
        return "did-ring-fallback";
    }
    db_extension_t e;
    int rc = db_extension_get(d->ctx->db, did->sip_domain, did->target_ref, &e);
    if (rc == -EIO) {
        d->db_failed = true;
        return NULL;
    }
    var(d, "export", "w3_ext", did->target_ref);
    if (rc != 0 || !e.enabled || !e.tenant_enabled) {
        lookup_trace(d->ctx, "extension %s missing or disabled", did->target_ref);
        fallback(d, did->sip_domain, did->fallback, NULL);
        return "did-ext-fallback";
    }
    ring_extension(d, &e, did->fallback);
    return d->db_failed ? NULL : "did-ext";
}

/* After the bridge to e failed: its busy or no-answer forwarding, then the
 * fallback policy. */
static void after_bridge_actions(dp_t *d, const db_extension_t *e, bool busy, const char *domain, const char *policy)
{
    const char *target = busy ? e->fwd_busy : e->fwd_no_answer;
    action(d, "set", "hangup_after_bridge=true");
    action(d, "set", "continue_on_fail=" NOBODY_ANSWERED);
    if (target[0])
        forward(d, e, target, busy ? "busy" : "no_answer");
    fallback(d, domain, policy, e);
}

/* Whether a bridge failure cause is "busy" (else it counts as no answer). */
static bool is_busy(const char *why)
{
    return why && (strcmp(why, "USER_BUSY") == 0 || strcmp(why, "BUSY") == 0);
}

static void public_call(dp_t *d, const char *dest)
{
    const char *raw = dest;
    /* a carrier sending to the gateway's gw+NAME contact leaves
     * "FreeSWITCH" here; the DID survives in the To user */
    if (!(raw && (all_digits(raw) || (raw[0] == '+' && all_digits(raw + 1))))) {
        const char *to = fget(d, "variable_sip_to_user");
        lookup_trace(d->ctx, "destination '%s' is not a number: using the To user '%s'", raw ? raw : "", to ? to : "");
        raw = to;
    }
    if (raw == NULL) {
        reject(d, "404 Not Found", "no DID in the request", "inbound", NULL, NULL);
        return;
    }
    w3_strlcpy(d->res->key, raw, sizeof(d->res->key));
    db_did_t did;
    int rc = find_did(d, raw, &did);
    if (rc == -EIO) {
        db_error(d);
        return;
    }
    if (rc == -EEXIST) {
        reject(d, "404 Not Found", "ambiguous DID", "inbound", NULL, NULL);
        return;
    }
    if (rc != 0) {
        reject(d, "404 Not Found", "unknown DID", "inbound", NULL, NULL);
        return;
    }
    w3_strlcpy(d->res->domain, did.sip_domain, sizeof(d->res->domain));
    if (!did.enabled || !did.tenant_enabled) {
        reject(d, "404 Not Found", "DID disabled", "inbound", did.tenant_id, did.sip_domain);
        return;
    }

    const char *gw = fget(d, "variable_sip_gateway");
    if (gw) {
        char owner[65];
        rc = db_trunk_owner(d->ctx->db, gw, owner);
        if (rc == -EIO) {
            db_error(d);
            return;
        }
        if (rc != 0 || strcmp(owner, did.tenant_id) != 0) {
            lookup_trace(d->ctx, "gateway %s does not belong to the DID's tenant", gw);
            reject(d, "403 Forbidden", "DID not owned by the gateway's tenant", "inbound", NULL, NULL);
            return;
        }
        lookup_trace(d->ctx, "gateway %s belongs to the DID's tenant", gw);
    }

    /* the condition echoes the destination only when it is a plain token
     * (a carrier controls it); otherwise the decision stands unconditioned */
    bool plain = dest && strspn(dest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+*#_.-") ==
                             strlen(dest);
    xg_dp_extension(d->x, "w3_did", plain ? dest : NULL);
    export_did(d, &did);
    const char *what = did_target_actions(d, &did);
    if (d->db_failed) {
        db_error(d);
        return;
    }
    if (what == NULL) {
        reject(d, "503 Service Unavailable", "AI stream URL not safe", "inbound", did.tenant_id, did.sip_domain);
        return;
    }
    finish(d, MX_OK, what);
}

/* The second fetch of an inbound call: the DID comes from our own exported
 * variable and is checked again against the database. */
static int public_did_from_vars(dp_t *d, db_did_t *did)
{
    const char *e164 = fget(d, "variable_w3_did");
    if (e164 == NULL || e164[0] != '+')
        return -ENOENT;
    int rc = find_did(d, e164, did);
    if (rc == 0 && (!did->enabled || !did->tenant_enabled))
        rc = -ENOENT;
    return rc;
}

/* ---- internal -------------------------------------------------------------- */

/* The authenticated caller, or a rejection already rendered. */
static bool caller_identity(dp_t *d, db_extension_t *caller)
{
    const char *authorized = fget(d, "variable_sip_authorized");
    const char *user = fget(d, "variable_user_name");
    const char *domain = fget(d, "variable_domain_name");
    if (authorized == NULL || strcmp(authorized, "true") != 0 || user == NULL || domain == NULL) {
        reject(d, "403 Forbidden", "caller not authenticated", "internal", NULL, NULL);
        return false;
    }
    w3_strlcpy(d->res->domain, domain, sizeof(d->res->domain));
    int rc = all_digits(user) ? db_extension_get(d->ctx->db, domain, user, caller) : -ENOENT;
    if (rc == -EIO) {
        db_error(d);
        return false;
    }
    if (rc != 0 || !caller->enabled || !caller->tenant_enabled) {
        reject(d, "403 Forbidden", "caller unknown or disabled", "internal", NULL, NULL);
        return false;
    }
    const char *tid = fget(d, "variable_tenant_id");
    if (tid && strcmp(tid, caller->tenant_id) != 0) {
        reject(d, "403 Forbidden", "caller's tenant variable disagrees with its domain", "internal", NULL, NULL);
        return false;
    }
    lookup_trace(d->ctx, "caller: extension %s of %s (authenticated), cos %s", caller->ext_number, caller->sip_domain,
                 caller->cos);
    return true;
}

static void export_caller(dp_t *d, const db_extension_t *c, const char *direction)
{
    var(d, "export", "tenant_id", c->tenant_id);
    var(d, "export", "store_id", c->store_id);
    var(d, "export", "sip_domain", c->sip_domain);
    var(d, "export", "user_id", c->user_id);
    var(d, "export", "w3_direction", direction);
}

static void internal_call(dp_t *d, const char *dest)
{
    db_extension_t caller;
    if (!caller_identity(d, &caller))
        return;
    if (!dialable(dest)) {
        reject(d, "404 Not Found", "destination is not a dialable number", "internal", caller.tenant_id,
               caller.sip_domain);
        return;
    }

    db_extension_t callee;
    int rc = all_digits(dest) ? db_extension_get(d->ctx->db, caller.sip_domain, dest, &callee) : -ENOENT;
    if (rc == -EIO) {
        db_error(d);
        return;
    }
    if (rc == 0) {
        if (!callee.enabled) {
            reject(d, "404 Not Found", "extension disabled", "internal", caller.tenant_id, caller.sip_domain);
            return;
        }
        lookup_trace(d->ctx, "%s is an extension of %s", dest, caller.sip_domain);
        xg_dp_extension(d->x, "w3_ext", dest);
        export_caller(d, &caller, "internal");
        var(d, "export", "w3_ext", callee.ext_number);
        ring_extension(d, &callee, "voicemail");
        if (d->db_failed) {
            db_error(d);
            return;
        }
        finish(d, MX_OK, "internal-ext");
        return;
    }

    route_plan_t p;
    route_verdict_t v = route_resolve(d, &caller, dest, &p);
    switch (v) {
    case ROUTE_DB: {
        db_error(d);
        return;
    }
    case ROUTE_NONE: {
        reject(d, "404 Not Found", "no such extension or route", "internal", caller.tenant_id, caller.sip_domain);
        return;
    }
    case ROUTE_COS: {
        reject(d, "403 Forbidden", "class of service", "outbound", caller.tenant_id, caller.sip_domain);
        return;
    }
    case ROUTE_NO_TRUNK: {
        reject(d, "503 Service Unavailable", "no trunk for the caller's store", "outbound", caller.tenant_id,
               caller.sip_domain);
        return;
    }
    case ROUTE_OK:
        break;
    }
    xg_dp_extension(d->x, "w3_route", dest);
    export_caller(d, &caller, "outbound");
    var(d, "export", "w3_cos_class", p.route.cos_class);
    if (dialable(p.first_cid))
        var(d, "set", "effective_caller_id_number", p.first_cid);
    action(d, "set", "hangup_after_bridge=true");
    action(d, "bridge", "%s", p.dial);
    finish(d, MX_OK, "outbound");
}

/* ---- the second fetches ---------------------------------------------------- */

static void after_bridge(dp_t *d)
{
    db_extension_t e, caller;
    const char *policy = "voicemail";
    const char *domain;
    db_did_t did;
    if (d->public_ctx) {
        int rc = public_did_from_vars(d, &did);
        if (rc == -EIO) {
            db_error(d);
            return;
        }
        if (rc != 0) {
            reject(d, "404 Not Found", "no DID for the forwarding step", "inbound", NULL, NULL);
            return;
        }
        domain = did.sip_domain;
        policy = did.fallback;
    } else {
        if (!caller_identity(d, &caller))
            return;
        domain = caller.sip_domain;
    }
    const char *from = fget(d, "variable_w3_fwd_from");
    int rc = from && all_digits(from) ? db_extension_get(d->ctx->db, domain, from, &e) : -ENOENT;
    if (rc == -EIO) {
        db_error(d);
        return;
    }
    if (rc != 0) {
        reject(d, "404 Not Found", "forwarding extension not found", d->public_ctx ? "inbound" : "internal", NULL,
               domain);
        return;
    }
    const char *why = fget(d, "variable_originate_disposition");
    if (why == NULL)
        why = fget(d, "variable_DIALSTATUS");
    lookup_trace(d->ctx, "the bridge to %s ended with %s", e.ext_number, why ? why : "(unknown)");
    xg_dp_extension(d->x, "w3_after_bridge", AFTER_BRIDGE);
    after_bridge_actions(d, &e, is_busy(why), domain, policy);
    if (d->db_failed) {
        db_error(d);
        return;
    }
    finish(d, MX_OK, "after-bridge");
}

static void ai_result(dp_t *d)
{
    db_did_t did;
    int rc = public_did_from_vars(d, &did);
    if (rc == -EIO) {
        db_error(d);
        return;
    }
    if (rc != 0 || strcmp(did.target_type, "ai") != 0) {
        reject(d, "404 Not Found", "no AI DID for the stream check", "inbound", NULL, NULL);
        return;
    }
    const char *res = fget(d, "variable_w3_fork");
    xg_dp_extension(d->x, "w3_ai_result", AI_RESULT);
    if (res && strncmp(res, "+OK", 3) == 0) {
        lookup_trace(d->ctx, "the audio stream started (%s): park the call for the agent", res);
        action(d, "park", NULL);
        finish(d, MX_OK, "ai-park");
        return;
    }
    lookup_trace(d->ctx, "the audio stream did not start (%s)", res ? res : "no result");
    fallback(d, did.sip_domain, did.fallback, NULL);
    finish(d, MX_OK, "ai-fallback");
}

static bool context_ok(const char *c)
{
    return c && *c && strlen(c) <= 64 &&
           strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(c);
}

void lookup_dialplan(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res)
{
    dp_t d = {.ctx = ctx, .f = f, .res = res};
    const char *context = form_get(f, "Hunt-Context");
    if (!context_ok(context))
        context = form_get(f, "Caller-Context");
    if (!context_ok(context)) {
        res->status = 400;
        res->error = "dialplan request without a usable Hunt-Context";
        res->result = MX_CLIENT_ERR;
        return;
    }
    d.context = context;
    d.public_ctx = strcmp(context, "public") == 0;
    d.x = xg_dp_create(context);
    const char *dest = fget(&d, "Hunt-Destination-Number");
    if (dest == NULL)
        dest = fget(&d, "Caller-Destination-Number");
    if (dest)
        w3_strlcpy(res->key, dest, sizeof(res->key));
    lookup_trace(ctx, "context %s (%s rules), destination %s", context, d.public_ctx ? "public" : "internal",
                 dest ? dest : "(none)");

    if (dest && strcmp(dest, AFTER_BRIDGE) == 0)
        after_bridge(&d);
    else if (dest && strcmp(dest, AI_RESULT) == 0 && d.public_ctx)
        ai_result(&d);
    else if (d.public_ctx)
        public_call(&d, dest);
    else if (dest == NULL)
        reject(&d, "404 Not Found", "no destination", "internal", NULL, NULL);
    else
        internal_call(&d, dest);
    xg_dp_destroy(d.x); /* NULL after finish() */
}

/* ---- static export (w3voip export) ---------------------------------------
 * The same decisions, made ahead of time for every destination, so a PBX can
 * run from files: one context named after the domain (its users carry
 * user_context=<domain>), public extensions for its DIDs, and the runtime
 * outcomes (busy/no answer, the AI stream start) as extensions matching the
 * w3_* destinations with conditions on the variables FreeSWITCH sets. What
 * the live server reads from the authenticated caller (store, cos) becomes a
 * condition on the caller's directory variables ${store_id} and ${cos}. */

typedef struct export_walk {
    dp_t *d;
    const db_tenant_t *t;
    int failed;
} export_walk_t;

static void exact(char *out, size_t cap, const char *prefix, const char *value)
{
    /* ^value$ with every non-alphanumeric escaped (as xg_dp_extension does) */
    size_t n = (size_t)snprintf(out, cap, "^%s", prefix);
    for (const char *p = value; *p && n + 3 < cap; p++) {
        bool alnum = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        if (!alnum)
            out[n++] = '\\';
        out[n++] = *p;
    }
    snprintf(out + n, cap - n, "$");
}

static void export_static_caller(dp_t *d, const db_tenant_t *t, const char *direction)
{
    var(d, "export", "tenant_id", t->tenant_id);
    xg_dp_action_template(d->x, "export", "store_id=${store_id}");
    var(d, "export", "sip_domain", t->sip_domain);
    xg_dp_action_template(d->x, "export", "user_id=${user_id}");
    var(d, "export", "w3_direction", direction);
}

static int export_ext(const char *num, void *arg)
{
    export_walk_t *w = arg;
    dp_t *d = w->d;
    db_extension_t e;
    if (db_extension_get(d->ctx->db, w->t->sip_domain, num, &e) != 0)
        return -EIO;
    char name[40];
    snprintf(name, sizeof(name), "ext_%s", e.ext_number);
    xg_dp_extension(d->x, name, e.ext_number);
    if (!e.enabled) {
        reject_actions(d, "404 Not Found", "extension disabled", "internal", w->t->tenant_id, w->t->sip_domain);
        return 0;
    }
    export_static_caller(d, w->t, "internal");
    var(d, "export", "w3_ext", e.ext_number);
    ring_extension(d, &e, "voicemail");
    if (e.fwd_busy[0] || e.fwd_no_answer[0]) {
        char re[40];
        exact(re, sizeof(re), "", e.ext_number);
        for (int busy = 1; busy >= 0; busy--) {
            snprintf(name, sizeof(name), "after_bridge_%s_%s", e.ext_number, busy ? "busy" : "other");
            xg_dp_extension(d->x, name, AFTER_BRIDGE);
            xg_dp_condition(d->x, "${w3_fwd_from}", re);
            if (busy)
                xg_dp_condition(d->x, "${originate_disposition}", "^(USER_BUSY|BUSY)$");
            after_bridge_actions(d, &e, busy, w->t->sip_domain, "voicemail");
        }
    }
    return d->db_failed ? -EIO : 0;
}

static const char *const cos_allowed[] = {
    /* callers whose cos reaches each class (ordered internal < … < premium) */
    "^(internal|local|national|mobile|international|premium)$", "^(local|national|mobile|international|premium)$",
    "^(national|mobile|international|premium)$",                 "^(mobile|international|premium)$",
    "^(international|premium)$",                                 "^(premium)$",
};

typedef struct route_walk {
    export_walk_t *w;
    const db_route_t *route;
} route_walk_t;

static void route_conditions(dp_t *d, const db_route_t *r)
{
    int rank = cos_rank(r->cos_class);
    if (strcmp(r->cos_class, "emergency") != 0 && rank >= 0)
        xg_dp_condition(d->x, "${cos}", cos_allowed[rank]);
    xg_dp_condition(d->x, "destination_number", r->pattern);
}

static int export_route_store(const char *store_id, void *arg)
{
    route_walk_t *rw = arg;
    dp_t *d = rw->w->d;
    const db_route_t *r = rw->route;
    route_plan_t p;
    memset(&p, 0, sizeof(p));
    char number[40];
    snprintf(number, sizeof(number), "%s$1", r->prepend);
    route_verdict_t v = build_dial(d, store_id, store_id, number, &p);
    if (v == ROUTE_DB)
        return -EIO;
    if (v != ROUTE_OK)
        return 0; /* no trunk: the route's no_trunk extension answers */
    char name[160], re[80], strip[40];
    snprintf(name, sizeof(name), "route_%s_%s", r->route_id, store_id);
    /* the actions sit in the last condition, whose regex gives $1: the
     * dialled number without its stripped digits */
    snprintf(strip, sizeof(strip), "^.{%d}(.*)$", r->strip_digits);
    xg_dp_extension_re(d->x, name, "destination_number", strip);
    exact(re, sizeof(re), "", store_id);
    xg_dp_condition(d->x, "${store_id}", re);
    route_conditions(d, r);
    export_static_caller(d, rw->w->t, "outbound");
    var(d, "export", "w3_cos_class", r->cos_class);
    if (dialable(p.first_cid))
        var(d, "set", "effective_caller_id_number", p.first_cid);
    action(d, "set", "hangup_after_bridge=true");
    action(d, "bridge", "%s", p.dial);
    return 0;
}

static int export_dialplan_context(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *out)
{
    lookup_result_t res = {0};
    dp_t d = {.ctx = ctx, .res = &res, .context = t->sip_domain};
    d.x = xg_dp_create_static(t->sip_domain);
    export_walk_t w = {.d = &d, .t = t};
    int rc = db_list_extensions(ctx->db, t->sip_domain, export_ext, &w);
    db_route_t routes[MAX_ROUTES];
    int n = 0;
    if (rc == 0)
        rc = db_routes_list(ctx->db, t->sip_domain, routes, MAX_ROUTES, &n);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (route_regex(routes[i].pattern) == NULL)
            continue; /* as the server: a pattern that does not compile is skipped */
        route_walk_t rw = {.w = &w, .route = &routes[i]};
        rc = db_list_stores(ctx->db, t->tenant_id, export_route_store, &rw);
        char name[100];
        snprintf(name, sizeof(name), "route_%s_no_trunk", routes[i].route_id);
        xg_dp_extension(d.x, name, NULL);
        route_conditions(&d, &routes[i]);
        reject_actions(&d, "503 Service Unavailable", "no trunk for the caller's store", "outbound", t->tenant_id,
                       t->sip_domain);
        if (strcmp(routes[i].cos_class, "emergency") != 0) {
            snprintf(name, sizeof(name), "route_%s_cos", routes[i].route_id);
            xg_dp_extension(d.x, name, NULL);
            xg_dp_condition(d.x, "destination_number", routes[i].pattern);
            reject_actions(&d, "403 Forbidden", "class of service", "outbound", t->tenant_id, t->sip_domain);
        }
    }
    xg_dp_extension(d.x, "no_route", NULL);
    reject_actions(&d, "404 Not Found", "no such extension or route", "internal", t->tenant_id, t->sip_domain);
    if (rc != 0 || d.db_failed) {
        xg_dp_destroy(d.x);
        return -EIO;
    }
    rc = xg_dp_finish(d.x, out);
    return rc;
}

static int gw_name(const db_trunk_t *tr, void *arg)
{
    w3_buf_t *b = arg;
    w3_buf_adds(b, "|");
    for (const char *p = tr->gateway_name; *p; p++) {
        if (*p == '.')
            w3_buf_add(b, "\\", 1);
        w3_buf_add(b, p, 1);
    }
    return 0;
}

static int export_did_ext(const char *e164, void *arg)
{
    export_walk_t *w = arg;
    dp_t *d = w->d;
    db_did_t rows[2];
    int n = 0;
    if (db_did_find(d->ctx->db, e164, NULL, rows, 2, &n) != 0 || n != 1)
        return -EIO;
    db_did_t *did = &rows[0];
    if (!did->enabled || !did->tenant_enabled)
        return 0; /* the catch-all rejects it, as the server does */
    /* every form a carrier may send: +E164, 00E164, E164 digits and the
     * national form of the tenant's country */
    const char *digits = did->e164 + 1;
    size_t cc = strlen(w->t->country_code);
    char re[120];
    if (strncmp(digits, w->t->country_code, cc) == 0)
        snprintf(re, sizeof(re), "^((\\+|00)?%.20s|%.20s)$", digits, digits + cc);
    else
        snprintf(re, sizeof(re), "^(\\+|00)?%.20s$", digits);
    /* a call tagged with a gateway must come through one of the tenant's */
    w3_buf_t gws = {0};
    w3_buf_adds(&gws, "^(");
    db_gateway_walk_t walk = {.on_domain = NULL, .on_trunk = gw_name, .arg = &gws};
    if (db_gateways_walk(d->ctx->db, w->t->sip_domain, &walk) != 0) {
        w3_buf_free(&gws);
        return -EIO;
    }
    w3_buf_adds(&gws, ")$");
    char name[64];
    for (int to = 0; to < 2; to++) {
        snprintf(name, sizeof(name), "did_%.20s%s", digits, to ? "_to_user" : "");
        if (to) {
            /* the destination is not a number (gw+ contact): the To user */
            xg_dp_extension_re(d->x, name, "${sip_to_user}", re);
            xg_dp_condition(d->x, "destination_number", "[^0-9+]");
        } else {
            xg_dp_extension_re(d->x, name, "destination_number", re);
        }
        xg_dp_condition(d->x, "${sip_gateway}", gws.data);
        export_did(d, did);
        if (did_target_actions(d, did) == NULL) {
            w3_buf_free(&gws);
            return -EIO;
        }
    }
    w3_buf_free(&gws);
    char didre[40];
    exact(didre, sizeof(didre), "", did->e164);
    if (strcmp(did->target_type, "ai") == 0) {
        snprintf(name, sizeof(name), "did_%.20s_ai_started", digits);
        xg_dp_extension(d->x, name, AI_RESULT);
        xg_dp_condition(d->x, "${w3_did}", didre);
        xg_dp_condition(d->x, "${w3_fork}", "^\\+OK");
        action(d, "park", NULL);
        snprintf(name, sizeof(name), "did_%.20s_ai_failed", digits);
        xg_dp_extension(d->x, name, AI_RESULT);
        xg_dp_condition(d->x, "${w3_did}", didre);
        fallback(d, did->sip_domain, did->fallback, NULL);
    } else if (strcmp(did->target_type, "ext") == 0) {
        db_extension_t e;
        if (db_extension_get(d->ctx->db, did->sip_domain, did->target_ref, &e) == 0 && e.enabled &&
            (e.fwd_busy[0] || e.fwd_no_answer[0])) {
            char from[40];
            exact(from, sizeof(from), "", e.ext_number);
            for (int busy = 1; busy >= 0; busy--) {
                snprintf(name, sizeof(name), "did_%.20s_after_bridge_%s", digits, busy ? "busy" : "other");
                xg_dp_extension(d->x, name, AFTER_BRIDGE);
                xg_dp_condition(d->x, "${w3_did}", didre);
                xg_dp_condition(d->x, "${w3_fwd_from}", from);
                if (busy)
                    xg_dp_condition(d->x, "${originate_disposition}", "^(USER_BUSY|BUSY)$");
                after_bridge_actions(d, &e, busy, did->sip_domain, did->fallback);
            }
        }
    }
    return d->db_failed ? -EIO : 0;
}

static int export_public(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *out)
{
    lookup_result_t res = {0};
    dp_t d = {.ctx = ctx, .res = &res, .context = "public", .public_ctx = true};
    d.x = xg_dp_create_static(NULL);
    export_walk_t w = {.d = &d, .t = t};
    int rc = db_list_dids(ctx->db, t->sip_domain, export_did_ext, &w);
    if (rc != 0 || d.db_failed) {
        xg_dp_destroy(d.x);
        return -EIO;
    }
    return xg_dp_finish(d.x, out);
}

int lookup_export_dialplan(const lookup_ctx_t *ctx, const db_tenant_t *t, xg_out_t *context_doc,
                           xg_out_t *public_doc, xg_out_t *reject_doc)
{
    int rc = export_dialplan_context(ctx, t, context_doc);
    if (rc == 0)
        rc = export_public(ctx, t, public_doc);
    if (rc == 0) {
        /* last in dialplan/public/: an unknown DID is refused, never left to
         * whatever else the stock public context holds */
        lookup_result_t res = {0};
        dp_t d = {.ctx = ctx, .res = &res, .context = "public", .public_ctx = true};
        d.x = xg_dp_create_static(NULL);
        xg_dp_extension(d.x, "w3voipd_unknown_did", NULL);
        reject_actions(&d, "404 Not Found", "unknown DID", "inbound", NULL, NULL);
        rc = xg_dp_finish(d.x, reject_doc);
    }
    return rc;
}
