/* section=dialplan documents. The server decides the route; the document
 * carries the decision as a single extension whose condition matches the
 * destination exactly (or an absolute condition for rejections). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xg_internal.h"

struct xg_dp {
    xg_doc_t *doc;
    xg_node_t *context;
    xg_node_t *extension;
    xg_node_t *condition;
    bool failed;
    bool is_static;
};

xg_dp_t *xg_dp_create(const char *context)
{
    xg_dp_t *d = xcalloc(1, sizeof(*d));
    xg_node_t *s = xg_doc_new(&d->doc, "dialplan");
    xg_attr_const(s, "description", "w3voipd");
    d->context = xg_child(s, "context");
    if (!xg_value_safe(context))
        d->failed = true;
    xg_attr(d->context, "name", context);
    return d;
}

xg_dp_t *xg_dp_create_static(const char *context)
{
    xg_dp_t *d = xcalloc(1, sizeof(*d));
    d->is_static = true;
    xg_node_t *root = xg_static_new(&d->doc);
    if (context) {
        d->context = xg_child(root, "context");
        if (!xg_value_safe(context))
            d->failed = true;
        xg_attr(d->context, "name", context);
    } else {
        d->context = root;
    }
    return d;
}

void xg_dp_condition(xg_dp_t *d, const char *field, const char *expression)
{
    if (d->extension == NULL)
        xg_dp_extension(d, "w3", NULL);
    /* the extension's current (last) condition gets the actions: insert the
     * new one before it */
    xg_node_t *c = xg_child_before(d->condition, "condition");
    xg_attr_const(c, "field", field);
    if (!xg_value_safe(expression))
        d->failed = true;
    xg_attr_const(c, "expression", expression);
}

void xg_dp_extension(xg_dp_t *d, const char *name, const char *dest)
{
    xg_node_t *e = xg_child(d->context, "extension");
    xg_attr(e, "name", name);
    d->extension = e;
    d->condition = xg_child(e, "condition");
    if (dest != NULL) {
        /* exact match: every non-alphanumeric byte escaped for PCRE */
        w3_buf_t re = {0};
        w3_buf_add(&re, "^", 1);
        for (const char *p = dest; *p; p++) {
            bool alnum = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
            if ((unsigned char)*p >= 0x80)
                d->failed = true; /* escaping byte by byte would split UTF-8 */
            if (!alnum)
                w3_buf_add(&re, "\\", 1);
            w3_buf_add(&re, p, 1);
        }
        w3_buf_add(&re, "$", 1);
        if (!xg_value_safe(dest))
            d->failed = true;
        xg_attr_const(d->condition, "field", "destination_number");
        /* our own anchors: every byte of dest is escaped, so no "$${" */
        xg_attr_const(d->condition, "expression", re.data);
        w3_buf_free(&re);
    }
}

void xg_dp_extension_re(xg_dp_t *d, const char *name, const char *field, const char *expression)
{
    xg_dp_extension(d, name, NULL);
    if (!xg_value_safe(expression))
        d->failed = true;
    xg_attr_const(d->condition, "field", field);
    xg_attr_const(d->condition, "expression", expression);
}

static xg_node_t *action(xg_dp_t *d, const char *app)
{
    if (d->condition == NULL)
        xg_dp_extension(d, "w3", NULL);
    xg_node_t *a = xg_child(d->condition, "action");
    xg_attr_const(a, "application", app);
    return a;
}

int xg_dp_action(xg_dp_t *d, const char *app, const char *data)
{
    if (data != NULL && !xg_value_safe(data)) {
        d->failed = true;
        return -EINVAL;
    }
    xg_node_t *a = action(d, app);
    if (data != NULL)
        xg_attr(a, "data", data);
    return 0;
}

void xg_dp_action_template(xg_dp_t *d, const char *app, const char *data)
{
    xg_node_t *a = action(d, app);
    xg_attr_const(a, "data", data);
}

int xg_dp_finish(xg_dp_t *d, xg_out_t *out)
{
    int rc = -EINVAL;
    if (!d->failed) {
        rc = d->is_static ? xg_doc_finish_static(d->doc, out) : xg_doc_finish(d->doc, out);
        d->doc = NULL;
    }
    xg_dp_destroy(d);
    return rc;
}

void xg_dp_destroy(xg_dp_t *d)
{
    if (d == NULL)
        return;
    xg_doc_destroy(d->doc);
    free(d);
}
