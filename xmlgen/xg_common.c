#include <errno.h>
#include <stdint.h>
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

/* The bytes a trigger starts with. */
static const bool trigger_start[256] = {['$'] = true, ['<'] = true, ['x'] = true, ['X'] = true};

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Non-zero when a byte of x is zero (exact as a yes/no). */
static uint64_t zero_byte(uint64_t x)
{
    return (x - ONES) & ~x & HIGHS;
}

/* The bytes of the 8 at p that may start a trigger: the high bit of each
 * such byte is set ('$', '<', 'x', 'X'; a few other bytes may be flagged
 * too, never one of those missed: trigger_at decides). */
static uint64_t word_candidates(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    /* w | 0x20 per byte folds 'X' onto 'x', and nothing else */
    return zero_byte(w ^ (ONES * '$')) | zero_byte(w ^ (ONES * '<')) | zero_byte((w | (ONES * 0x20)) ^ (ONES * 'x'));
}

/* Whether the trigger starting with *p (left bytes) is there. */
static bool trigger_at(const char *p, size_t left, bool with_dollar_brace)
{
    if (left < 2)
        return false;
    switch (*p) {
    case '$':
        return (p[1] == '{' && with_dollar_brace) || (left >= 3 && p[1] == '$' && p[2] == '{');
    case '<':
        switch (p[1]) {
        case '?':
            return true;
        case 'i':
        case 'I':
            return left >= 8 && strncasecmp(p, "<include", 8) == 0;
        case '/': /* every closing tag: its third byte first */
            return left >= 9 && (p[2] | 0x20) == 'i' && strncasecmp(p, "</include", 9) == 0;
        case '!':
            return left >= 5 && strncmp(p, "<!--#", 5) == 0;
        default:
            return false;
        }
    case 'x':
    case 'X':
        return p[1] == '-' && left >= 13 && strncasecmp(p, "X-PRE-PROCESS", 13) == 0;
    default:
        return false;
    }
}

/* Whether s (len bytes) holds a FreeSWITCH pre-processor trigger: "$${",
 * "<?", "<include", "</include", "<!--#" or "X-PRE-PROCESS" (any case).
 * One pass, eight bytes at a time, looking closer only at the '$', '<' and
 * 'x' among them: this runs over every answer (a search per needle was a
 * quarter of the server's CPU; once rendering stopped going through libxml2
 * a byte-wise scan was a third of a directory answer's, and an XML answer is
 * full of '<', so the eight-byte words without one were too few to help). */
static bool has_trigger(const char *s, size_t len, bool with_dollar_brace)
{
    size_t i = 0;
    for (; len - i >= 8; i += 8)
        for (uint64_t m = word_candidates(s + i); m; m &= m - 1) {
            size_t at = i + (size_t)__builtin_ctzll(m) / 8;
            if (trigger_at(s + at, len - at, with_dollar_brace))
                return true;
        }
    for (; i < len; i++)
        if (trigger_start[(unsigned char)s[i]] && trigger_at(s + i, len - i, with_dollar_brace))
            return true;
    return false;
}

bool xg_value_safe(const char *v)
{
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++, len++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    /* invalid UTF-8 would be copied into a document that does not parse:
     * FreeSWITCH would treat the answer as an error */
    if (!xg_utf8_ok(v, len))
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

bool xg_utf8_ok(const char *s, size_t len)
{
    if (w3_utf8_valid_prefix(s, len) != len)
        return false;
    /* well-formed, but not XML characters: EF BF BE and EF BF BF */
    for (const char *p = s; (p = memchr(p, '\xef', len - (size_t)(p - s))) != NULL; p++)
        if ((size_t)(p - s) + 2 < len && p[1] == '\xbf' && (p[2] == '\xbe' || p[2] == '\xbf'))
            return false;
    return true;
}

xg_node_t *xg_doc_new(xg_doc_t **doc, const char *section)
{
    xg_doc_t *d = xg_doc_create();
    xg_node_t *root = xg_doc_root(d, "document");
    xg_attr_const(root, "type", "freeswitch/xml");
    xg_node_t *s = xg_child(root, "section");
    xg_attr_const(s, "name", section);
    *doc = d;
    return s;
}

void xg_param(xg_node_t *params, const char *name, const char *value)
{
    xg_node_t *p = xg_child(params, "param");
    xg_attr_const(p, "name", name);
    xg_attr(p, "value", value);
}

void xg_variable(xg_node_t *vars, const char *name, const char *value, const char *direction)
{
    xg_node_t *v = xg_child(vars, "variable");
    xg_attr_const(v, "name", name);
    xg_attr(v, "value", value);
    if (direction)
        xg_attr_const(v, "direction", direction);
}

/* Serialises doc; include_root: the document is a file of FreeSWITCH's own
 * conf tree, whose <include> wrapper lines the pre-processor drops on
 * purpose, so "<include>" is allowed on the first and last line only. */
static int finish(xg_doc_t *doc, xg_out_t *out, bool include_root)
{
    int rc = 0;
    w3_buf_t buf = {0};
    xg_doc_write(doc, &buf);
    const char *body = buf.data;
    size_t blen = buf.len;
    if (include_root && buf.len >= 21 && strncmp(buf.data, "<include>\n", 10) == 0 &&
        strcmp(buf.data + buf.len - 11, "</include>\n") == 0) {
        body = buf.data + 10;
        blen = buf.len - 21;
    }
    if (!xg_output_safe(body, blen)) {
        rc = -EINVAL;
        w3_buf_free(&buf);
    } else {
        out->data = buf.data; /* handed over, not copied */
        out->len = buf.len;
    }
    xg_doc_destroy(doc);
    return rc;
}

int xg_doc_finish(xg_doc_t *doc, xg_out_t *out)
{
    return finish(doc, out, false);
}

int xg_doc_finish_static(xg_doc_t *doc, xg_out_t *out)
{
    return finish(doc, out, true);
}

xg_node_t *xg_static_new(xg_doc_t **doc)
{
    xg_doc_t *d = xg_doc_create();
    *doc = d;
    return xg_doc_root(d, "include");
}

int xg_not_found(xg_out_t *out)
{
    xg_doc_t *doc;
    xg_node_t *s = xg_doc_new(&doc, "result");
    xg_node_t *r = xg_child(s, "result");
    xg_attr_const(r, "status", "not found");
    return xg_doc_finish(doc, out);
}
