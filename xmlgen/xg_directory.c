/* section=directory answers: domain, user, gateways (SPEC §6). Layout as a
 * real FreeSWITCH 1.10.12 reads it: users and gateways live in
 * <domain><groups><group><users><user> (sofia silently ignores gateways under
 * <domain><users><user>). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xg_internal.h"

#define DIGITS "0123456789"
#define DIALABLE "0123456789+*#"

static xg_node_t *add_domain(xg_node_t *section, const db_tenant_t *t, const xg_dir_opts_t *o)
{
    xg_node_t *d = xg_child(section, "domain");
    xg_attr(d, "name", t->sip_domain);
    xg_node_t *params = xg_child(d, "params");
    xg_node_t *p = xg_child(params, "param");
    xg_attr_const(p, "name", "dial-string");
    xg_attr_const(p, "value", o->dial_string ? o->dial_string : xg_default_dial_string);
    return d;
}

int xg_directory_domain(const db_tenant_t *t, const xg_dir_opts_t *o, xg_out_t *out)
{
    if (!xg_value_safe(t->sip_domain))
        return -EINVAL;
    xg_doc_t *doc;
    xg_node_t *s = xg_doc_new(&doc, "directory");
    add_domain(s, t, o);
    return xg_doc_finish(doc, out);
}

/* Identifiers carried as variables: refuse the whole answer if one is off,
 * since a wrong tenant_id would misattribute the call. */
static bool ids_safe(const db_extension_t *e)
{
    return xg_value_safe(e->tenant_id) && xg_value_safe(e->store_id) && xg_value_safe(e->user_id) &&
           xg_value_safe(e->sip_domain) && xg_value_allowed(e->ext_number, DIGITS) &&
           xg_value_allowed(e->a1_hash, "0123456789abcdef") && strlen(e->a1_hash) == 32 && xg_value_safe(e->cos);
}

static void add_user(xg_node_t *users, const db_tenant_t *t, const db_extension_t *e, const xg_dir_opts_t *o);

/* <groups><group name="default"><users> of domain d. */
static xg_node_t *default_users(xg_node_t *d)
{
    xg_node_t *group = xg_child(xg_child(d, "groups"), "group");
    xg_attr_const(group, "name", "default");
    return xg_child(group, "users");
}

int xg_directory_user(const db_tenant_t *t, const db_extension_t *e, const xg_dir_opts_t *o, xg_out_t *out)
{
    if (!ids_safe(e) || !xg_value_safe(t->sip_domain))
        return -EINVAL;
    xg_doc_t *doc;
    xg_node_t *s = xg_doc_new(&doc, "directory");
    xg_node_t *d = add_domain(s, t, o);
    add_user(default_users(d), t, e, o);
    return xg_doc_finish(doc, out);
}

/* One complete user: the same for every lookup kind (FreeSWITCH's cache
 * ignores the action anyway). */
static void add_user(xg_node_t *users, const db_tenant_t *t, const db_extension_t *e, const xg_dir_opts_t *o)
{
    xg_node_t *u = xg_child(users, "user");
    xg_attr(u, "id", e->ext_number);
    if (o->cacheable_ms > 0) {
        char ms[24];
        snprintf(ms, sizeof(ms), "%d", o->cacheable_ms);
        xg_attr_const(u, "cacheable", ms);
    }

    xg_node_t *params = xg_child(u, "params");
    /* never a clear password: the digest hash only */
    xg_param(params, "a1-hash", e->a1_hash);
    /* belt and braces: a user without a secret must never pass unchallenged */
    xg_param(params, "allow-empty-password", "false");

    xg_node_t *vars = xg_child(u, "variables");
    xg_variable(vars, "tenant_id", e->tenant_id, NULL);
    xg_variable(vars, "store_id", e->store_id, NULL);
    xg_variable(vars, "user_id", e->user_id, NULL);
    xg_variable(vars, "sip_domain", t->sip_domain, NULL);
    xg_variable(vars, "user_context", o->user_context ? o->user_context : "internal", NULL);
    if (e->display_name[0] && xg_value_safe(e->display_name))
        xg_variable(vars, "effective_caller_id_name", e->display_name, NULL);
    xg_variable(vars, "effective_caller_id_number", e->ext_number, NULL);
    if (xg_value_allowed(e->caller_id_number, DIALABLE))
        xg_variable(vars, "outbound_caller_id_number", e->caller_id_number, NULL);
    xg_variable(vars, "cos", e->cos, NULL);
    xg_variable(vars, "w3_ext", e->ext_number, NULL);
    char gen[24];
    snprintf(gen, sizeof(gen), "%lld", t->config_gen);
    xg_variable(vars, "w3_config_gen", gen, NULL); /* which configuration answered */
    xg_variable(vars, "w3_voicemail", e->voicemail_enabled ? "true" : "false", NULL);
    if (xg_value_allowed(e->fwd_always, DIALABLE))
        xg_variable(vars, "w3_fwd_always", e->fwd_always, NULL);
    if (xg_value_allowed(e->fwd_busy, DIALABLE))
        xg_variable(vars, "w3_fwd_busy", e->fwd_busy, NULL);
    if (xg_value_allowed(e->fwd_no_answer, DIALABLE)) {
        char secs[16];
        xg_variable(vars, "w3_fwd_no_answer", e->fwd_no_answer, NULL);
        snprintf(secs, sizeof(secs), "%d",
                 e->fwd_no_answer_timeout > 0 ? e->fwd_no_answer_timeout : DB_DEFAULT_NO_ANSWER_S);
        xg_variable(vars, "w3_fwd_no_answer_timeout", secs, NULL);
    }
}

/* The gateways document lists every tenant (10,000 tenants make ~20 MB):
 * it is written one domain at a time — each <domain> is built as a small
 * tree, appended as text, and freed — so memory holds the text and one
 * domain, never the whole tree. */
struct xg_gw {
    xg_doc_t *doc; /* scratch document owning the current domain */
    xg_node_t *section;
    xg_node_t *domain;   /* the domain being built, or NULL */
    xg_node_t *users;    /* <users> of the current domain's trunk group */
    xg_node_t *gateways; /* <gateways> of the current store's container user */
    char store_id[65];
    const xg_dir_opts_t *o;
    w3_buf_t out;
};

static const char gw_head[] = "<document type=\"freeswitch/xml\">\n  <section name=\"directory\">\n";
static const char gw_tail[] = "  </section>\n</document>\n";

xg_gw_t *xg_gw_create(const xg_dir_opts_t *o)
{
    xg_gw_t *g = xcalloc(1, sizeof(*g));
    g->section = xg_doc_new(&g->doc, "directory");
    g->o = o;
    w3_buf_adds(&g->out, gw_head);
    return g;
}

static void gw_flush(xg_gw_t *g)
{
    if (g->domain == NULL)
        return;
    /* written as libxml2's xmlNodeDump wrote it (non-ASCII as character
     * references), so the document is the same bytes as before */
    w3_buf_adds(&g->out, "    ");
    xg_node_write(g->domain, 2, &g->out);
    w3_buf_adds(&g->out, "\n");
    xg_doc_destroy(g->doc);
    g->section = xg_doc_new(&g->doc, "directory");
    g->domain = NULL;
}

void xg_gw_domain(xg_gw_t *g, const db_tenant_t *t)
{
    gw_flush(g);
    /* every domain answer carries its dial-string (SPEC §6), this one too */
    g->domain = add_domain(g->section, t, g->o);
    g->users = NULL;
    g->gateways = NULL;
    g->store_id[0] = '\0';
}

/* <gateway name=…> with its params and the tenant variables both ways. */
static void add_gateway(xg_node_t *parent, const db_trunk_t *tr, const char *secret)
{
    xg_node_t *gw = xg_child(parent, "gateway");
    xg_attr(gw, "name", tr->gateway_name);
    char proxy[300];
    if (tr->port > 0)
        snprintf(proxy, sizeof(proxy), "%s:%d", tr->proxy, tr->port);
    else
        snprintf(proxy, sizeof(proxy), "%s", tr->proxy);
    if (tr->username[0])
        xg_param(gw, "username", tr->username);
    if (secret != NULL)
        xg_param(gw, "password", secret);
    if (tr->realm[0])
        xg_param(gw, "realm", tr->realm);
    xg_param(gw, "proxy", proxy);
    xg_param(gw, "register", tr->reg ? "true" : "false");
    if (tr->reg)
        xg_param(gw, "register-transport", tr->transport);
    if (tr->from_user[0])
        xg_param(gw, "from-user", tr->from_user);
    if (tr->from_domain[0])
        xg_param(gw, "from-domain", tr->from_domain);
    xg_param(gw, "caller-id-in-from", "false");
    xg_param(gw, "context", "public");
    /* keep the DID when the carrier sends to the gateway's gw+NAME contact */
    xg_param(gw, "extension", "auto_to_user");
    xg_node_t *vars = xg_child(gw, "variables");
    static const char *const dirs[] = {"inbound", "outbound"};
    for (size_t i = 0; i < 2; i++) {
        xg_variable(vars, "tenant_id", tr->tenant_id, dirs[i]);
        xg_variable(vars, "store_id", tr->store_id, dirs[i]);
        xg_variable(vars, "sip_domain", tr->sip_domain, dirs[i]);
        xg_variable(vars, "w3_trunk", tr->gateway_name, dirs[i]);
    }
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
    if (g->domain == NULL || !trunk_safe(tr) || !secret_renderable(secret))
        return -EINVAL;
    if (g->users == NULL) {
        xg_node_t *group = xg_child(xg_child(g->domain, "groups"), "group");
        xg_attr_const(group, "name", "trunks");
        g->users = xg_child(group, "users");
    }
    if (g->gateways == NULL || strcmp(g->store_id, tr->store_id) != 0) {
        /* a container user per store; it has no secret and is never
         * answered to a sip_auth lookup */
        char id[80];
        snprintf(id, sizeof(id), "trunks-%s", tr->store_id);
        xg_node_t *u = xg_child(g->users, "user");
        xg_attr(u, "id", id);
        g->gateways = xg_child(u, "gateways");
        w3_strlcpy(g->store_id, tr->store_id, sizeof(g->store_id));
    }
    add_gateway(g->gateways, tr, secret);
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
    xg_doc_destroy(g->doc);
    w3_buf_free(&g->out);
    free(g);
}

/* ---- static files for w3voip export ------------------------------------- */

struct xg_static {
    xg_doc_t *doc;
    xg_node_t *root;  /* <include> */
    xg_node_t *users; /* directory: <users> of the domain's default group */
    const xg_dir_opts_t *o;
    const db_tenant_t *t;
};

xg_static_t *xg_static_directory_create(const db_tenant_t *t, const xg_dir_opts_t *o)
{
    xg_static_t *x = xcalloc(1, sizeof(*x));
    x->root = xg_static_new(&x->doc);
    x->o = o;
    x->t = t;
    xg_node_t *d = add_domain(x->root, t, o);
    x->users = default_users(d);
    return x;
}

int xg_static_user(xg_static_t *x, const db_extension_t *e)
{
    if (!ids_safe(e))
        return -EINVAL;
    add_user(x->users, x->t, e, x->o);
    return 0;
}

xg_static_t *xg_static_gateways_create(void)
{
    xg_static_t *x = xcalloc(1, sizeof(*x));
    x->root = xg_static_new(&x->doc);
    return x;
}

int xg_static_gateway(xg_static_t *x, const db_trunk_t *tr, const char *secret)
{
    if (!trunk_safe(tr) || !secret_renderable(secret))
        return -EINVAL;
    add_gateway(x->root, tr, secret);
    return 0;
}

int xg_static_finish(xg_static_t *x, xg_out_t *out)
{
    int rc = xg_doc_finish_static(x->doc, out);
    free(x);
    return rc;
}

void xg_static_destroy(xg_static_t *x)
{
    if (x == NULL)
        return;
    xg_doc_destroy(x->doc);
    free(x);
}
