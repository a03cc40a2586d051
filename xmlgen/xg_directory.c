/* section=directory answers: domain, user, gateways (SPEC §6). Layout as a
 * real FreeSWITCH 1.10.12 reads it: users and gateways live in
 * <domain><groups><group><users><user> (sofia silently ignores gateways under
 * <domain><users><user>). Every directory document is streamed (xg_tree.h's
 * xg_stream_t): written as it is built, no tree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xg_internal.h"

#define DIGITS "0123456789"
#define DIALABLE "0123456789+*#"

/* Opens <domain name=…> and writes its params; the domain stays open. */
static void add_domain(xg_stream_t *s, const db_tenant_t *t, const xg_dir_opts_t *o)
{
    xg_stream_open(s, "domain");
    xg_stream_attr(s, "name", t->sip_domain);
    xg_stream_open(s, "params");
    xg_stream_open(s, "param");
    xg_stream_attr_const(s, "name", "dial-string");
    xg_stream_attr_const(s, "value", o->dial_string ? o->dial_string : xg_default_dial_string);
    xg_stream_close(s);
    xg_stream_close(s);
}

int xg_directory_domain(const db_tenant_t *t, const xg_dir_opts_t *o, xg_out_t *out)
{
    if (!xg_value_safe(t->sip_domain))
        return -EINVAL;
    w3_buf_t buf = {0};
    xg_stream_t s;
    xg_sdoc_begin(&s, &buf, "directory");
    add_domain(&s, t, o);
    return xg_sdoc_finish(&s, &buf, out, false);
}

/* Identifiers carried as variables: refuse the whole answer if one is off,
 * since a wrong tenant_id would misattribute the call. */
static bool ids_safe(const db_extension_t *e)
{
    return xg_value_safe(e->tenant_id) && xg_value_safe(e->store_id) && xg_value_safe(e->user_id) &&
           xg_value_safe(e->sip_domain) && xg_value_allowed(e->ext_number, DIGITS) &&
           xg_value_allowed(e->a1_hash, "0123456789abcdef") && strlen(e->a1_hash) == 32 && xg_value_safe(e->cos);
}

static void add_user(xg_stream_t *s, const db_tenant_t *t, const db_extension_t *e, const xg_dir_opts_t *o);

/* Opens <groups><group name="default"><users> in the open domain. */
static void default_users(xg_stream_t *s)
{
    xg_stream_open(s, "groups");
    xg_stream_open(s, "group");
    xg_stream_attr_const(s, "name", "default");
    xg_stream_open(s, "users");
}

int xg_directory_user(const db_tenant_t *t, const db_extension_t *e, const xg_dir_opts_t *o, xg_out_t *out)
{
    if (!ids_safe(e) || !xg_value_safe(t->sip_domain))
        return -EINVAL;
    w3_buf_t buf = {0};
    xg_stream_t s;
    xg_sdoc_begin(&s, &buf, "directory");
    add_domain(&s, t, o);
    default_users(&s);
    add_user(&s, t, e, o);
    return xg_sdoc_finish(&s, &buf, out, false);
}

/* One complete user: the same for every lookup kind (FreeSWITCH's cache
 * ignores the action anyway). Written whole: opened and closed here. */
static void add_user(xg_stream_t *s, const db_tenant_t *t, const db_extension_t *e, const xg_dir_opts_t *o)
{
    int depth = s->depth;
    xg_stream_open(s, "user");
    xg_stream_attr(s, "id", e->ext_number);
    if (o->cacheable_ms > 0) {
        char ms[24];
        snprintf(ms, sizeof(ms), "%d", o->cacheable_ms);
        xg_stream_attr_const(s, "cacheable", ms);
    }

    xg_stream_open(s, "params");
    /* never a clear password: the digest hash only */
    xg_sparam(s, "a1-hash", e->a1_hash);
    /* belt and braces: a user without a secret must never pass unchallenged */
    xg_sparam(s, "allow-empty-password", "false");
    xg_stream_close(s);

    xg_stream_open(s, "variables");
    xg_svariable(s, "tenant_id", e->tenant_id, NULL);
    xg_svariable(s, "store_id", e->store_id, NULL);
    xg_svariable(s, "user_id", e->user_id, NULL);
    xg_svariable(s, "sip_domain", t->sip_domain, NULL);
    xg_svariable(s, "user_context", o->user_context ? o->user_context : "internal", NULL);
    if (e->display_name[0] && xg_value_safe(e->display_name))
        xg_svariable(s, "effective_caller_id_name", e->display_name, NULL);
    xg_svariable(s, "effective_caller_id_number", e->ext_number, NULL);
    if (xg_value_allowed(e->caller_id_number, DIALABLE))
        xg_svariable(s, "outbound_caller_id_number", e->caller_id_number, NULL);
    xg_svariable(s, "cos", e->cos, NULL);
    xg_svariable(s, "w3_ext", e->ext_number, NULL);
    char gen[24];
    snprintf(gen, sizeof(gen), "%lld", t->config_gen);
    xg_svariable(s, "w3_config_gen", gen, NULL); /* which configuration answered */
    xg_svariable(s, "w3_voicemail", e->voicemail_enabled ? "true" : "false", NULL);
    if (xg_value_allowed(e->fwd_always, DIALABLE))
        xg_svariable(s, "w3_fwd_always", e->fwd_always, NULL);
    if (xg_value_allowed(e->fwd_busy, DIALABLE))
        xg_svariable(s, "w3_fwd_busy", e->fwd_busy, NULL);
    if (xg_value_allowed(e->fwd_no_answer, DIALABLE)) {
        char secs[16];
        xg_svariable(s, "w3_fwd_no_answer", e->fwd_no_answer, NULL);
        snprintf(secs, sizeof(secs), "%d",
                 e->fwd_no_answer_timeout > 0 ? e->fwd_no_answer_timeout : DB_DEFAULT_NO_ANSWER_S);
        xg_svariable(s, "w3_fwd_no_answer_timeout", secs, NULL);
    }
    xg_stream_close_to(s, depth);
}

/* The gateways document lists every tenant (10,000 tenants make ~10 MB): it
 * is streamed, so memory holds its text only. Each <domain> is written as
 * libxml2's xmlNodeDump wrote it (non-ASCII as character references), so
 * the document is the same bytes as before. */
struct xg_gw {
    w3_buf_t out;
    xg_stream_t s;      /* the current domain, into out */
    bool in_domain;     /* a domain is open */
    int users_depth;    /* depth of <users> of its trunk group; 0: none yet */
    int gateways_depth; /* depth of <gateways> of the current store's container user; 0: none */
    char store_id[65];
    const xg_dir_opts_t *o;
};

static const char gw_head[] = "<document type=\"freeswitch/xml\">\n  <section name=\"directory\">\n";
static const char gw_tail[] = "  </section>\n</document>\n";

xg_gw_t *xg_gw_create(const xg_dir_opts_t *o)
{
    xg_gw_t *g = xcalloc(1, sizeof(*g));
    g->o = o;
    w3_buf_adds(&g->out, gw_head);
    return g;
}

static void gw_flush(xg_gw_t *g)
{
    if (!g->in_domain)
        return;
    xg_stream_close_to(&g->s, 0);
    w3_buf_adds(&g->out, "\n");
    g->in_domain = false;
}

void xg_gw_domain(xg_gw_t *g, const db_tenant_t *t)
{
    gw_flush(g);
    w3_buf_adds(&g->out, "    ");
    xg_stream_init(&g->s, &g->out, 2, true);
    /* every domain answer carries its dial-string (SPEC §6), this one too */
    add_domain(&g->s, t, g->o);
    g->in_domain = true;
    g->users_depth = 0;
    g->gateways_depth = 0;
    g->store_id[0] = '\0';
}

/* <gateway name=…> with its params and the tenant variables both ways;
 * written whole. */
static void add_gateway(xg_stream_t *s, const db_trunk_t *tr, const char *secret)
{
    int depth = s->depth;
    xg_stream_open(s, "gateway");
    xg_stream_attr(s, "name", tr->gateway_name);
    char proxy[300];
    if (tr->port > 0)
        snprintf(proxy, sizeof(proxy), "%s:%d", tr->proxy, tr->port);
    else
        snprintf(proxy, sizeof(proxy), "%s", tr->proxy);
    if (tr->username[0])
        xg_sparam(s, "username", tr->username);
    if (secret != NULL)
        xg_sparam(s, "password", secret);
    if (tr->realm[0])
        xg_sparam(s, "realm", tr->realm);
    xg_sparam(s, "proxy", proxy);
    xg_sparam(s, "register", tr->reg ? "true" : "false");
    if (tr->reg)
        xg_sparam(s, "register-transport", tr->transport);
    if (tr->from_user[0])
        xg_sparam(s, "from-user", tr->from_user);
    if (tr->from_domain[0])
        xg_sparam(s, "from-domain", tr->from_domain);
    xg_sparam(s, "caller-id-in-from", "false");
    xg_sparam(s, "context", "public");
    /* keep the DID when the carrier sends to the gateway's gw+NAME contact */
    xg_sparam(s, "extension", "auto_to_user");
    xg_stream_open(s, "variables");
    static const char *const dirs[] = {"inbound", "outbound"};
    for (size_t i = 0; i < 2; i++) {
        xg_svariable(s, "tenant_id", tr->tenant_id, dirs[i]);
        xg_svariable(s, "store_id", tr->store_id, dirs[i]);
        xg_svariable(s, "sip_domain", tr->sip_domain, dirs[i]);
        xg_svariable(s, "w3_trunk", tr->gateway_name, dirs[i]);
    }
    xg_stream_close_to(s, depth);
}

/* A secret may hold any printable text: its '$' become &#36; and '<' and
 * '&' are escaped. Only the words the final output check refuses
 * would sink the whole document, so such a secret sinks its trunk only. */
static bool secret_renderable(const char *secret)
{
    if (secret == NULL)
        return true;
    for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return xg_utf8_ok(secret, strlen(secret)) && strcasestr(secret, "x-pre-process") == NULL;
}

static bool trunk_safe(const db_trunk_t *tr)
{
    const char *v[] = {tr->tenant_id, tr->sip_domain, tr->store_id, tr->gateway_name, tr->proxy,
                       tr->transport, tr->username,   tr->realm,    tr->from_user,    tr->from_domain};
    for (size_t i = 0; i < W3_ARRAY_LEN(v); i++)
        if (!xg_value_safe(v[i]))
            return false;
    /* the gateway name becomes sofia/gateway/<name>/… in dial strings */
    return xg_gateway_name_ok(tr->gateway_name) && tr->proxy[0] != '\0';
}

int xg_gw_trunk(xg_gw_t *g, const db_trunk_t *tr, const char *secret)
{
    if (!g->in_domain || !trunk_safe(tr) || !secret_renderable(secret))
        return -EINVAL;
    xg_stream_t *s = &g->s;
    if (g->users_depth == 0) {
        xg_stream_close_to(s, 1); /* the domain */
        xg_stream_open(s, "groups");
        xg_stream_open(s, "group");
        xg_stream_attr_const(s, "name", "trunks");
        xg_stream_open(s, "users");
        g->users_depth = s->depth;
    }
    if (g->gateways_depth == 0 || strcmp(g->store_id, tr->store_id) != 0) {
        /* a container user per store; it has no secret and is never
         * answered to a sip_auth lookup */
        char id[80];
        snprintf(id, sizeof(id), "trunks-%s", tr->store_id);
        xg_stream_close_to(s, g->users_depth);
        xg_stream_open(s, "user");
        xg_stream_attr(s, "id", id);
        xg_stream_open(s, "gateways");
        g->gateways_depth = s->depth;
        w3_strlcpy(g->store_id, tr->store_id, sizeof(g->store_id));
    }
    add_gateway(s, tr, secret);
    return 0;
}

int xg_gw_finish(xg_gw_t *g, xg_out_t *out)
{
    gw_flush(g);
    w3_buf_adds(&g->out, gw_tail);
    int rc = xg_output_safe(g->out.data, g->out.len) ? 0 : -EINVAL;
    if (rc == 0) {
        out->data = g->out.data; /* handed over, not copied */
        out->len = g->out.len;
        g->out.data = NULL;
    }
    xg_gw_destroy(g);
    return rc;
}

void xg_gw_destroy(xg_gw_t *g)
{
    if (g == NULL)
        return;
    w3_buf_free(&g->out);
    free(g);
}

/* ---- static files for w3voip export ------------------------------------- */

struct xg_static {
    w3_buf_t buf;
    xg_stream_t s; /* <include> … into buf */
    const xg_dir_opts_t *o;
    const db_tenant_t *t;
};

static xg_static_t *static_create(void)
{
    xg_static_t *x = xcalloc(1, sizeof(*x));
    xg_stream_init(&x->s, &x->buf, 0, false);
    xg_stream_open(&x->s, "include");
    return x;
}

xg_static_t *xg_static_directory_create(const db_tenant_t *t, const xg_dir_opts_t *o)
{
    xg_static_t *x = static_create();
    x->o = o;
    x->t = t;
    add_domain(&x->s, t, o);
    default_users(&x->s);
    return x;
}

int xg_static_user(xg_static_t *x, const db_extension_t *e)
{
    if (!ids_safe(e))
        return -EINVAL;
    add_user(&x->s, x->t, e, x->o);
    return 0;
}

xg_static_t *xg_static_gateways_create(void)
{
    return static_create();
}

int xg_static_gateway(xg_static_t *x, const db_trunk_t *tr, const char *secret)
{
    if (!trunk_safe(tr) || !secret_renderable(secret))
        return -EINVAL;
    add_gateway(&x->s, tr, secret);
    return 0;
}

int xg_static_finish(xg_static_t *x, xg_out_t *out)
{
    int rc = xg_sdoc_finish(&x->s, &x->buf, out, true);
    free(x);
    return rc;
}

void xg_static_destroy(xg_static_t *x)
{
    if (x == NULL)
        return;
    w3_buf_free(&x->buf);
    free(x);
}
