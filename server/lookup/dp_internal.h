/* Private to server/lookup: what the dialplan files share.
 *
 *   lookup_dialplan.c   the entry point and the one place that turns a
 *                       handler's return code into the answer
 *   dp_emit.c           shared emitters (actions, variables, rejections,
 *                       the fallback) and small value tests
 *   dp_route.c          route matching, class of service, trunk failover
 *   dp_public_ctx.c     context public: DIDs, ring groups, AI agents
 *   dp_internal_ctx.c   the phones' context: extensions, routes, forwarding
 *   dp_followup.c       the second fetches (after a bridge, after an AI start)
 *   lookup_export.c     the static export (w3voip export)
 *   lookup_cache.c      compiled route patterns, per worker
 *   lookup_pattern.c    the safe subset of route patterns
 *
 * Return codes: every function here that can fail returns 0 or a negative
 * errno, propagated up unchanged:
 *   -EIO     the database failed
 *   -EINVAL  a value is not safe to render (refused by xmlgen)
 *   -E2BIG   a limit: the database holds more rows than the read-side limit
 *            (db.h DB_*_MAX) or an answer does not fit its bounded builder
 * A decision to refuse a call (unknown DID, class of service, …) is not an
 * error: it is rendered by dp_reject() and the handler returns 0. Errors are
 * turned into a refusal in one place, answer() in lookup_dialplan.c:
 *   -EIO → respond 503 Service Unavailable ("database unavailable")
 *   -EINVAL → respond 503 Service Unavailable ("value not safe to render")
 *   -E2BIG → respond 500 Server Internal Error ("… exceeds a limit"): the
 *            data, not the moment, is wrong, so a retry would not help
 * A call is never bridged to a partial leg list. */
#ifndef W3_DP_INTERNAL_H
#define W3_DP_INTERNAL_H

#include <stdbool.h>

#include "lookup.h"
#include "util.h"

#define DP_DIALABLE "0123456789+*#"
#define DP_AFTER_BRIDGE "w3_after_bridge"
#define DP_AI_RESULT "w3_ai_result"
/* bridge failures that mean "that phone did not take the call" and lead to
 * the fallback: also a registered but unreachable phone (503 =
 * NORMAL_TEMPORARY_FAILURE, seen on FreeSWITCH 1.10.12), a timer expiry, a
 * phone out of order, declining or without a route */
#define DP_NOBODY_ANSWERED                                                                                             \
    "NO_ANSWER,USER_BUSY,NO_USER_RESPONSE,USER_NOT_REGISTERED,SUBSCRIBER_ABSENT,ALLOTTED_TIMEOUT,"                     \
    "NORMAL_TEMPORARY_FAILURE,RECOVERY_ON_TIMER_EXPIRE,DESTINATION_OUT_OF_ORDER,NO_ROUTE_DESTINATION,"                 \
    "UNALLOCATED_NUMBER,CALL_REJECTED,NETWORK_OUT_OF_ORDER"
#define DP_DEFAULT_RING_S 30
#define DP_STR_(x) #x
#define DP_STR(x) DP_STR_(x) /* a limit's number inside its message */
/* The largest action data we render: 64 ring-group legs of a 253-character
 * domain need about 18 KiB. Past it the answer is refused (-E2BIG). */
#define DP_VALUE_MAX (32 * 1024)

/* Two kinds of dialplan context, never mixed:
 *   DP_LIVE    answers one mod_xml_curl request: f is the request form, res
 *              the result; dp_fget(), dp_reject() and dp_done() need it.
 *   DP_EXPORT  the static export: no request (f and res are NULL); only the
 *              emitters that read the database and d->x are used, and the
 *              decisions that depend on the caller become conditions. */
typedef enum { DP_LIVE, DP_EXPORT } dp_mode_t;

typedef struct dp {
    dp_mode_t mode;
    const lookup_ctx_t *ctx;
    const form_t *f;      /* DP_LIVE only */
    lookup_result_t *res; /* DP_LIVE only */
    xg_dp_t *x;           /* the document being built */
    const char *context;  /* the context answered (transfers come back to it) */
    bool public_ctx;
    /* set by a handler: the outcome when it returns 0 */
    metrics_result_t result;
    const char *what;
    /* set where an error is detected: its reason for the refusal (static) */
    const char *why;
    /* the tenant a refusal is attributed to, once known ("" before) */
    char tenant_id[65];
} dp_t;

/* An export context (mode DP_EXPORT) building into a fresh static document
 * (xg_dp_create_static(static_context)). */
void dp_export_init(dp_t *d, const lookup_ctx_t *ctx, const char *context, bool public_ctx, const char *static_context);

/* ---- dp_emit.c ---- */
const char *dp_fget(const dp_t *d, const char *name); /* DP_LIVE; NULL when empty */
bool dp_dialable(const char *s);
bool dp_all_digits(const char *s);
/* The parts of a dial string, re-checked where they are rendered (the
 * schema's CHECKs can be bypassed): a gateway name, an extension number, a
 * SIP domain. 0, or -EINVAL with the refusal logged, counted (unsafe values)
 * and d->why set: the call is refused, never bridged to a widened leg list. */
int dp_check_gateway(dp_t *d, const char *gateway_name);
int dp_check_ext(dp_t *d, const char *ext_number);
int dp_check_domain(dp_t *d, const char *domain);
/* A data action "name=value" (export or set); an empty value is skipped. */
int dp_var(dp_t *d, const char *app, const char *name, const char *value);
/* export w3_config_gen: the generation of tenant_id (NULL: the global one)
 * that this answer was decided on; every CDR keeps it. */
int dp_export_gen(dp_t *d, const char *tenant_id);
/* The same for a generation already read with the tenant's rows. */
int dp_export_gen_value(dp_t *d, long long gen);
/* An action whose data is fmt (NULL: no data), built whole or -E2BIG. */
int dp_action(dp_t *d, const char *app, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The park of an AI call whose stream started; unless an event-socket node
 * supervises the stream, bounded by --ai-max-seconds (dp_followup.c). */
int dp_ai_park(dp_t *d, bool supervised);
/* The actions of an explicit rejection, in the current extension. */
int dp_reject_actions(dp_t *d, const char *sip_status, const char *why, const char *direction, const char *tenant_id,
                      const char *domain);
/* DP_LIVE: replaces the document with a rejection (never the not-found
 * document: FreeSWITCH would fall back to its static dialplan). */
int dp_reject(dp_t *d, const char *sip_status, const char *why, const char *direction, const char *tenant_id,
              const char *domain);
/* DP_LIVE: the handler's outcome when the document is complete. */
int dp_done(dp_t *d, const char *what);
/* What happens when nobody answered (voicemail of vm_ext, announcement,
 * hangup), by the DID's or extension's fallback policy. */
int dp_fallback(dp_t *d, const char *domain, const char *policy, const db_extension_t *vm_ext);
/* Records a read-side limit breach: logged, counted, d->why set; -E2BIG. */
int dp_limit(dp_t *d, metrics_limit_t which, const char *why, const char *object);
/* "^<value>$" with every non-alphanumeric byte escaped, whole or -E2BIG. */
int dp_exact(w3_sbuf_t *out, const char *value);
bool dp_is_busy(const char *why);

/* ---- dp_route.c ---- */
/* Class of service, defined once: the order of the classes, the
 * allowed-class test and the regex the export writes. */
bool dp_cos_allows(const char *have, const char *need);
/* Appends the ^(…)$ of the caller classes that may use class need;
 * -ENOENT for emergency (always allowed) or an unknown class. */
int dp_cos_callers_regex(const char *need, w3_sbuf_t *out); /* 0, -ENOENT, -E2BIG */

typedef enum { ROUTE_OK, ROUTE_NONE, ROUTE_COS, ROUTE_NO_TRUNK } route_verdict_t;
typedef struct route_plan {
    db_route_t route;
    char number[64];
    w3_sbuf_t dial; /* the bridge string, failover joined with '|' */
    char first_cid[21];
    int ntrunks;
} route_plan_t;
void dp_plan_free(route_plan_t *p);
/* The bridge through a store's enabled trunks in priority order (failover
 * '|'), each leg with its trunk's caller id. 0 (verdict ROUTE_OK or
 * ROUTE_NO_TRUNK), -EIO or -E2BIG. */
int dp_build_dial(dp_t *d, const char *store_id, const char *tenant_id, const char *who, const char *number,
                  route_plan_t *p, route_verdict_t *v);
/* number as `who` dials it against who's domain's routes: the first
 * enabled, usable match by priority, its class against who's cos, then
 * who's store trunks. 0 with *v, or -EIO/-E2BIG; p is freed by the caller
 * with dp_plan_free() either way. */
int dp_route_resolve(dp_t *d, const db_extension_t *who, const char *number, route_plan_t *p, route_verdict_t *v);
/* 0 when pattern may be used (in the safe subset and compiles), else
 * -EINVAL with a reason in why; uses ctx->cache when there is one. */
int dp_pattern_usable(const lookup_ctx_t *ctx, const char *pattern, char *why, size_t cap);

/* ---- dp_internal_ctx.c ---- */
/* Rings an extension honouring its forwarding; policy is the fallback. */
int dp_ring_extension(dp_t *d, const db_extension_t *e, const char *policy);
/* After the bridge to e failed: its busy or no-answer forwarding, then the
 * fallback policy. */
int dp_after_bridge_actions(dp_t *d, const db_extension_t *e, bool busy, const char *domain, const char *policy);
/* DP_LIVE: the authenticated caller; *ok false when a rejection was rendered. */
int dp_caller_identity(dp_t *d, db_extension_t *caller, bool *ok);
int dp_internal_call(dp_t *d, const char *dest);

/* ---- dp_public_ctx.c ---- */
int dp_export_did_vars(dp_t *d, const db_did_t *did);
/* Everything a DID's call does after its variables are exported; *what is
 * the outcome for the log. */
int dp_did_target_actions(dp_t *d, const db_did_t *did, const char **what);
/* Normalises a dialled DID and finds its owner: 0, -ENOENT, -EIO, -EEXIST
 * (ambiguous). */
int dp_find_did(dp_t *d, const char *raw, db_did_t *did);
int dp_public_call(dp_t *d, const char *dest);

/* ---- dp_followup.c ---- */
int dp_after_bridge(dp_t *d);
int dp_ai_result(dp_t *d);

#endif
