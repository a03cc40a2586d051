/* Rendering of the documents FreeSWITCH reads (mod_xml_curl answers and the
 * static export). Rendering only: no SQL, no HTTP. Input rows are the plain
 * structs of schema/db.h.
 *
 * Directory documents are streamed and dialplan documents built as a small
 * element tree (a condition is inserted before the one holding the actions),
 * both by xg_tree.h (one serialiser: attribute values escaped byte for byte
 * as libxml2 did). Every document is written one
 * element per line without an XML declaration (FreeSWITCH's pre-processor
 * drops any line holding "<?"), and every '$' of a data value
 * is written as the character reference &#36;, so no data can ever form the
 * pre-processor's "$${" — the parser turns it back into '$' after the
 * pre-processor ran. A final scan refuses any output that still holds a
 * pre-processor trigger (fail closed).
 *
 * Ownership: an xg_out_t filled by a renderer owns out->data; release it with
 * xg_out_free(). Builders (xg_gw_t, xg_dp_t) are freed by their finish or
 * destroy call; destroy accepts NULL. */
#ifndef W3_XG_H
#define W3_XG_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

typedef struct xg_out {
    char *data;
    size_t len;
} xg_out_t;

void xg_out_free(xg_out_t *out);

typedef struct xg_dir_opts {
    const char *dial_string; /* constant template, never data */
    int cacheable_ms;        /* 0 = no cacheable attribute */
    const char *user_context;
} xg_dir_opts_t;

extern const char xg_default_dial_string[];

/* true when v may appear in a rendered value: UTF-8 an XML parser reads back,
 * no control characters and no "${", "<?" or "X-PRE-PROCESS" (any case). */
bool xg_value_safe(const char *v);
/* Allow-lists of the values that form dial strings. */
#define XG_ALLOW_GATEWAY "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
/* A sofia gateway name as sofia/gateway/<name>/… needs it: 1-64 characters
 * of XG_ALLOW_GATEWAY (the schema's CHECK, again where it is rendered). */
bool xg_gateway_name_ok(const char *name);
#define XG_ALLOW_DOMAIN "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"

/* true when v is non-empty and only holds characters of allowed (a dial
 * string allow-list such as "0123456789+*#"). */
bool xg_value_allowed(const char *v, const char *allowed);
/* Scans a serialised document for pre-processor triggers. */
bool xg_output_safe(const char *doc, size_t len);

int xg_not_found(xg_out_t *out);
int xg_directory_domain(const db_tenant_t *t, const xg_dir_opts_t *o, xg_out_t *out);
int xg_directory_user(const db_tenant_t *t, const db_extension_t *e, const xg_dir_opts_t *o, xg_out_t *out);

/* purpose=gateways: call xg_gw_domain() for each tenant, then xg_gw_trunk()
 * for each of its trunks (grouped by store), then xg_gw_finish(). secret is
 * NULL for a trunk without secret_ref. */
typedef struct xg_gw xg_gw_t;
xg_gw_t *xg_gw_create(const xg_dir_opts_t *o);
void xg_gw_domain(xg_gw_t *g, const db_tenant_t *t);
/* -EINVAL (nothing added) when a value is unsafe. */
int xg_gw_trunk(xg_gw_t *g, const db_trunk_t *tr, const char *secret);
int xg_gw_finish(xg_gw_t *g, xg_out_t *out);
void xg_gw_destroy(xg_gw_t *g);

/* Static conf files of FreeSWITCH's stock layout (w3voip export): each is
 * an <include> file. directory/<domain>.xml holds the domain with its users;
 * sip_profiles/external/<domain>.xml the gateways. */
typedef struct xg_static xg_static_t;
xg_static_t *xg_static_directory_create(const db_tenant_t *t, const xg_dir_opts_t *o);
int xg_static_user(xg_static_t *x, const db_extension_t *e);
xg_static_t *xg_static_gateways_create(void);
int xg_static_gateway(xg_static_t *x, const db_trunk_t *tr, const char *secret);
int xg_static_finish(xg_static_t *x, xg_out_t *out);
void xg_static_destroy(xg_static_t *x);

/* section=dialplan: one context (echoing Hunt-Context), extensions with one
 * condition each, then actions. */
typedef struct xg_dp xg_dp_t;
xg_dp_t *xg_dp_create(const char *context);
/* The static form (w3voip export): an <include> file holding one
 * <context name=context> (context != NULL) or bare extensions (NULL, for
 * dialplan/public/). */
xg_dp_t *xg_dp_create_static(const char *context);
/* An extension whose action-holding condition is field =~ expression:
 * FreeSWITCH substitutes $1… in the actions from that condition's regex. */
void xg_dp_extension_re(xg_dp_t *d, const char *name, const char *field, const char *expression);
/* A condition with no actions before the extension's last one (conditions
 * are ANDed; $1 comes from the last regex). field: a caller-profile field or
 * "${var}". */
void xg_dp_condition(xg_dp_t *d, const char *field, const char *expression);
/* dest: the condition matches destination_number exactly (regex-escaped);
 * NULL: an absolute condition (the server already decided). */
void xg_dp_extension(xg_dp_t *d, const char *name, const char *dest);
/* An action whose data comes from data: refused (-EINVAL, the document is
 * then unusable) when data is not xg_value_safe. data may be NULL. */
int xg_dp_action(xg_dp_t *d, const char *app, const char *data);
/* An action whose data is a server template that may carry ${...}
 * expansions on purpose; the caller validated every value inserted in it. */
void xg_dp_action_template(xg_dp_t *d, const char *app, const char *data);
int xg_dp_finish(xg_dp_t *d, xg_out_t *out);
void xg_dp_destroy(xg_dp_t *d);

#endif
