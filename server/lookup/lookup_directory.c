/* section=directory (SPEC §6): which lookup FreeSWITCH made, and its answer.
 * Every user lookup of FreeSWITCH is a domain fetch with user/domain fields;
 * the answer is the same complete user whatever the action (sip_auth,
 * user_call, voicemail-lookup, message-count, none), since FreeSWITCH's cache
 * ignores the action anyway. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "lookup.h"
#include "secret.h"
#include "util.h"

static bool digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static xg_dir_opts_t dir_opts(const lookup_ctx_t *ctx)
{
    xg_dir_opts_t o = {.dial_string = NULL, .cacheable_ms = ctx->cfg->cacheable_ms, .user_context = "internal"};
    return o;
}

struct gw_walk {
    xg_gw_t *g;
    int domains;
    secret_scope_t scope;
    const char *forbidden[3];
};

static int on_domain(const db_tenant_t *t, void *arg)
{
    struct gw_walk *w = arg;
    xg_gw_domain(w->g, t);
    w->domains++;
    return 0;
}

static int on_trunk(const db_trunk_t *tr, void *arg)
{
    struct gw_walk *w = arg;
    char *secret = NULL;
    const char *why = NULL;
    if (tr->secret_ref[0] && secret_resolve(&w->scope, tr->secret_ref, &secret, &why) != 0) {
        /* one bad secret must not drop every gateway: skip this one only */
        METRICS_INC(gateways_skipped);
        log_warn("gateway left out: secret_ref does not resolve", "gateway", tr->gateway_name, "secret_ref",
                 tr->secret_ref, "reason", why, NULL);
        return 0;
    }
    if (tr->reg && secret == NULL) {
        METRICS_INC(gateways_skipped);
        log_warn("gateway left out: registering trunk without secret", "gateway", tr->gateway_name, NULL);
        return 0;
    }
    if (xg_gw_trunk(w->g, tr, secret) != 0) {
        METRICS_INC(unsafe_values);
        log_warn("gateway left out: a value is not safe to render", "gateway", tr->gateway_name, NULL);
    }
    secret_free(secret);
    return 0;
}

static void gateways(const lookup_ctx_t *ctx, const char *domain, lookup_result_t *res)
{
    xg_dir_opts_t o = dir_opts(ctx);
    struct gw_walk w = {.g = xg_gw_create(&o)};
    srv_config_secret_scope(ctx->cfg, &w.scope, w.forbidden);
    db_gateway_walk_t walk = {.on_domain = on_domain, .on_trunk = on_trunk, .arg = &w};
    res->what = "gateways";
    int rc = db_gateways_walk(ctx->db, domain, &walk);
    if (rc != 0) {
        xg_gw_destroy(w.g);
        lookup_db_error(res, "database error while listing gateways");
        return;
    }
    if (w.domains == 0) {
        xg_gw_destroy(w.g);
        lookup_not_found(res);
        return;
    }
    if (xg_gw_finish(w.g, &res->body) != 0) {
        lookup_not_found(res);
        return;
    }
    atomic_store_explicit(&metrics.gateway_doc_bytes, res->body.len, memory_order_relaxed);
    res->rc = 0;
    res->result = MX_OK;
}

void lookup_directory(const lookup_ctx_t *ctx, const form_t *f, lookup_result_t *res)
{
    const char *tag = form_get(f, "tag_name");
    const char *key_name = form_get(f, "key_name");
    const char *domain = form_get(f, "key_value");
    const char *purpose = form_get(f, "purpose");
    const char *user = form_get(f, "user");
    const char *key = form_get(f, "key");
    xg_dir_opts_t o = dir_opts(ctx);

    if (domain)
        w3_strlcpy(res->domain, domain, sizeof(res->domain));
    if (user)
        w3_strlcpy(res->key, user, sizeof(res->key));

    if (purpose && strcmp(purpose, "network-list") == 0) {
        /* ACLs are not served: FreeSWITCH keeps its acl.conf */
        res->what = "network-list";
        lookup_not_found(res);
        return;
    }
    bool all_domains = (tag == NULL || *tag == '\0') && (domain == NULL || *domain == '\0');
    if (purpose && strcmp(purpose, "gateways") == 0) {
        gateways(ctx, all_domains ? NULL : domain, res);
        return;
    }
    if (all_domains || tag == NULL || strcmp(tag, "domain") != 0 || key_name == NULL || strcmp(key_name, "name") != 0) {
        res->what = "unsupported";
        lookup_not_found(res);
        return;
    }

    db_tenant_t t;
    int rc;
    if (user == NULL) {
        rc = db_tenant_by_domain(ctx->db, domain, &t);
        if (rc == -EIO) {
            lookup_db_error(res, "database error while looking up the domain");
            return;
        }
        res->what = "domain";
        if (rc != 0 || !t.enabled) {
            lookup_not_found(res);
            return;
        }
        if (xg_directory_domain(&t, &o, &res->body) != 0) {
            METRICS_INC(unsafe_values);
            lookup_not_found(res);
            return;
        }
        res->rc = 0;
        res->result = MX_OK;
        return;
    }

    /* "id" (default) and "number-alias" (FreeSWITCH's retry) both name the
     * extension number here */
    bool valid =
        !(key && strcmp(key, "id") != 0 && strcmp(key, "number-alias") != 0) && digits(user) && strlen(user) <= 10;
    db_extension_t e;
    /* the user and its tenant in one call; only a miss asks whether the
     * domain is known (the answer says "domain" or "user") */
    rc = valid ? db_user_get(ctx->db, domain, user, &t, &e) : -ENOENT;
    if (rc == -EIO) {
        lookup_db_error(res, "database error while looking up the user");
        return;
    }
    if (rc != 0) {
        rc = db_tenant_by_domain(ctx->db, domain, &t);
        if (rc == -EIO) {
            lookup_db_error(res, "database error while looking up the domain");
            return;
        }
        res->what = rc != 0 || !t.enabled ? "domain" : "user";
        lookup_not_found(res);
        return;
    }
    res->what = t.enabled ? "user" : "domain";
    if (!t.enabled || !e.enabled) {
        lookup_not_found(res);
        return;
    }
    if (xg_directory_user(&t, &e, &o, &res->body) != 0) {
        METRICS_INC(unsafe_values);
        log_warn("user not rendered: a value is not safe", "domain", t.sip_domain, "user", e.ext_number, NULL);
        lookup_db_error(res, "stored data cannot be rendered safely");
        return;
    }
    res->rc = 0;
    res->result = MX_OK;
}
