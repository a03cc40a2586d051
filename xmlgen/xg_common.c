#include <errno.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlstring.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "xg_internal.h"

/* The vanilla FreeSWITCH dial-string: without it `bridge user/…` fails with
 * MANDATORY_IE_MISSING. Its ${…} are runtime expansions, intended. */
const char xg_default_dial_string[] =
    "{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}}"
    "${sofia_contact(*/${dialed_user}@${dialed_domain})}";

void xg_out_free(xg_out_t *out)
{
    if (out == NULL)
        return;
    free(out->data);
    out->data = NULL;
    out->len = 0;
}

/* Whether s (len bytes) holds a FreeSWITCH pre-processor trigger: "$${",
 * "<?", "<include", "</include", "<!--#" or "X-PRE-PROCESS" (any case).
 * One pass, looking closer only at '$', '<' and 'x': this runs over every
 * answer, and a search per needle was a quarter of the server's CPU. */
static bool has_trigger(const char *s, size_t len, bool with_dollar_brace)
{
    for (size_t i = 0; i < len; i++) {
        const char *p = s + i;
        size_t left = len - i;
        switch (*p) {
        case '$':
            if (left >= 3 && p[1] == '$' && p[2] == '{')
                return true;
            if (with_dollar_brace && left >= 2 && p[1] == '{')
                return true;
            break;
        case '<':
            if ((left >= 2 && p[1] == '?') || (left >= 8 && strncasecmp(p, "<include", 8) == 0) ||
                (left >= 9 && strncasecmp(p, "</include", 9) == 0) || (left >= 5 && strncmp(p, "<!--#", 5) == 0))
                return true;
            break;
        case 'x':
        case 'X':
            if (left >= 13 && strncasecmp(p, "X-PRE-PROCESS", 13) == 0)
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

bool xg_value_safe(const char *v)
{
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++, len++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    /* libxml2 would serialise invalid UTF-8 into a document that does not
     * parse: FreeSWITCH would treat the answer as an error */
    if (!xmlCheckUTF8((const unsigned char *)v))
        return false;
    return !has_trigger(v, len, true);
}

bool xg_gateway_name_ok(const char *name)
{
    return name && strlen(name) <= 64 && xg_value_allowed(name, XG_ALLOW_GATEWAY);
}

bool xg_value_allowed(const char *v, const char *allowed)
{
    if (*v == '\0')
        return false;
    for (const char *p = v; *p; p++)
        if (strchr(allowed, *p) == NULL)
            return false;
    return true;
}

bool xg_output_safe(const char *doc, size_t len)
{
    return !has_trigger(doc, len, false);
}

xmlNodePtr xg_doc_new(xmlDocPtr *doc, const char *section)
{
    xmlDocPtr d = xmlNewDoc(BAD_CAST "1.0");
    W3_CHECK_ALLOC(d);
    xmlNodePtr root = xmlNewDocNode(d, NULL, BAD_CAST "document", NULL);
    W3_CHECK_ALLOC(root);
    xmlDocSetRootElement(d, root);
    xg_attr_const(root, "type", "freeswitch/xml");
    xmlNodePtr s = xg_child(root, "section");
    xg_attr_const(s, "name", section);
    *doc = d;
    return s;
}

xmlNodePtr xg_child(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
    W3_CHECK_ALLOC(n);
    return n;
}

void xg_attr_const(xmlNodePtr node, const char *name, const char *value)
{
    W3_CHECK_ALLOC(xmlNewProp(node, BAD_CAST name, BAD_CAST value));
}

void xg_attr(xmlNodePtr node, const char *name, const char *value)
{
    if (strchr(value, '$') == NULL) {
        xg_attr_const(node, name, value);
        return;
    }
    /* Build the attribute from text runs and &#36; references: libxml2 writes
     * an entity-reference child verbatim as "&#36;". */
    xmlAttrPtr attr = xmlNewProp(node, BAD_CAST name, NULL);
    W3_CHECK_ALLOC(attr);
    const char *p = value;
    while (*p) {
        const char *dollar = strchr(p, '$');
        size_t n = dollar ? (size_t)(dollar - p) : strlen(p);
        if (n) {
            xmlNodePtr t = xmlNewDocTextLen(node->doc, BAD_CAST p, (int)n);
            W3_CHECK_ALLOC(t);
            xmlAddChild((xmlNodePtr)attr, t);
        }
        if (!dollar)
            break;
        xmlNodePtr ref = xmlNewCharRef(node->doc, BAD_CAST "&#36;");
        W3_CHECK_ALLOC(ref);
        xmlAddChild((xmlNodePtr)attr, ref);
        p = dollar + 1;
    }
}

void xg_param(xmlNodePtr params, const char *name, const char *value)
{
    xmlNodePtr p = xg_child(params, "param");
    xg_attr_const(p, "name", name);
    xg_attr(p, "value", value);
}

void xg_variable(xmlNodePtr vars, const char *name, const char *value, const char *direction)
{
    xmlNodePtr v = xg_child(vars, "variable");
    xg_attr_const(v, "name", name);
    xg_attr(v, "value", value);
    if (direction)
        xg_attr_const(v, "direction", direction);
}

/* Serialises doc; include_root: the document is a file of FreeSWITCH's own
 * conf tree, whose <include> wrapper lines the pre-processor drops on
 * purpose, so "<include>" is allowed on the first and last line only. */
static int finish(xmlDocPtr doc, xg_out_t *out, bool include_root)
{
    int rc = 0;
    xmlBufferPtr buf = xmlBufferCreate();
    W3_CHECK_ALLOC(buf);
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    W3_CHECK_ALLOC(save);
    if (xmlSaveDoc(save, doc) < 0)
        rc = -EIO;
    if (xmlSaveClose(save) < 0)
        rc = -EIO;
    if (rc == 0) {
        const char *content = (const char *)xmlBufferContent(buf);
        size_t len = (size_t)xmlBufferLength(buf);
        const char *body = content;
        size_t blen = len;
        if (include_root && strncmp(content, "<include>\n", 10) == 0 && len >= 21 &&
            strcmp(content + len - 11, "</include>\n") == 0) {
            body = content + 10;
            blen = len - 21;
        }
        if (!xg_output_safe(body, blen)) {
            rc = -EINVAL;
        } else {
            out->data = xstrndup(content, len);
            out->len = len;
        }
    }
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return rc;
}

int xg_doc_finish(xmlDocPtr doc, xg_out_t *out)
{
    return finish(doc, out, false);
}

int xg_doc_finish_static(xmlDocPtr doc, xg_out_t *out)
{
    return finish(doc, out, true);
}

xmlNodePtr xg_static_new(xmlDocPtr *doc)
{
    xmlDocPtr d = xmlNewDoc(BAD_CAST "1.0");
    W3_CHECK_ALLOC(d);
    xmlNodePtr root = xmlNewDocNode(d, NULL, BAD_CAST "include", NULL);
    W3_CHECK_ALLOC(root);
    xmlDocSetRootElement(d, root);
    *doc = d;
    return root;
}

int xg_not_found(xg_out_t *out)
{
    xmlDocPtr doc;
    xmlNodePtr s = xg_doc_new(&doc, "result");
    xmlNodePtr r = xg_child(s, "result");
    xg_attr_const(r, "status", "not found");
    return xg_doc_finish(doc, out);
}
