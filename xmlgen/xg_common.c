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

/* Sixteen bytes as one vector (GCC/Clang vector extension: SSE2 on x86-64,
 * NEON on arm64, plain words elsewhere); the candidates are then found in
 * two 64-bit words, in memory order whatever the byte order. */
typedef unsigned char v16_t __attribute__((vector_size(16)));

/* Whether s (len bytes) holds a FreeSWITCH pre-processor trigger: "$${",
 * "<?", "<include", "</include", "<!--#" or "X-PRE-PROCESS" (any case).
 * This runs over every answer. Sixteen bytes at a time, a byte is a
 * candidate only with the byte after it: '$' before '{' or '$'; '<' before
 * '?', 'i', 'I', '/' or '!'; 'x' or 'X' before '-'. An XML answer is full of
 * '<', but of an element name after it; the candidates left (mostly closing
 * tags) are decided by trigger_at. */
static bool has_trigger(const char *s, size_t len, bool with_dollar_brace)
{
    size_t i = 0;
    for (; len - i >= 17; i += 16) {
        v16_t a, b;
        memcpy(&a, s + i, 16);
        memcpy(&b, s + i + 1, 16);
        v16_t m = (v16_t)((a == '$') & ((b == '{') | (b == '$')));
        m |= (v16_t)((a == '<') & ((b == '?') | ((b | 0x20) == 'i') | (b == '/') | (b == '!')));
        m |= (v16_t)(((a | 0x20) == 'x') & (b == '-'));
        uint64_t h[2];
        memcpy(h, &m, 16);
        if ((h[0] | h[1]) == 0)
            continue;
        for (size_t half = 0; half < 2; half++)
            for (uint64_t bits = h[half]; bits != 0;) {
                /* the first candidate byte in memory order (each is 0xff) */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                unsigned shift = 56u - ((unsigned)__builtin_clzll(bits) & ~7u);
                size_t at = i + 8 * half + (56u - shift) / 8;
#else
                unsigned shift = (unsigned)__builtin_ctzll(bits) & ~7u;
                size_t at = i + 8 * half + shift / 8;
#endif
                bits &= ~(0xffULL << shift);
                if (trigger_at(s + at, len - at, with_dollar_brace))
                    return true;
            }
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

void xg_sdoc_begin(xg_stream_t *s, w3_buf_t *buf, const char *section)
{
    /* a directory user answer is ~1.7 KB: one allocation */
    w3_buf_reserve(buf, 2048);
    xg_stream_init(s, buf, 0, false);
    xg_stream_open(s, "document");
    xg_stream_attr_const(s, "type", "freeswitch/xml");
    xg_stream_open(s, "section");
    xg_stream_attr_const(s, "name", section);
}

void xg_sparam(xg_stream_t *s, const char *name, const char *value)
{
    xg_stream_open(s, "param");
    xg_stream_attr_const(s, "name", name);
    xg_stream_attr(s, "value", value);
    xg_stream_close(s);
}

void xg_svariable(xg_stream_t *s, const char *name, const char *value, const char *direction)
{
    xg_stream_open(s, "variable");
    xg_stream_attr_const(s, "name", name);
    xg_stream_attr(s, "value", value);
    if (direction)
        xg_stream_attr_const(s, "direction", direction);
    xg_stream_close(s);
}

/* The final check of a serialised document, which buf holds; hands buf
 * over to out or frees it. include_root: the document is a file of
 * FreeSWITCH's own conf tree, whose <include> wrapper lines the
 * pre-processor drops on purpose, so "<include>" is allowed on the first
 * and last line only. */
static int finish_text(w3_buf_t *buf, xg_out_t *out, bool include_root)
{
    const char *body = buf->data;
    size_t blen = buf->len;
    if (include_root && buf->len >= 21 && strncmp(buf->data, "<include>\n", 10) == 0 &&
        strcmp(buf->data + buf->len - 11, "</include>\n") == 0) {
        body = buf->data + 10;
        blen = buf->len - 21;
    }
    if (!xg_output_safe(body, blen)) {
        w3_buf_free(buf);
        return -EINVAL;
    }
    out->data = buf->data; /* handed over, not copied */
    out->len = buf->len;
    *buf = (w3_buf_t){0};
    return 0;
}

int xg_sdoc_finish(xg_stream_t *s, w3_buf_t *buf, xg_out_t *out, bool include_root)
{
    xg_stream_close_to(s, 0);
    w3_buf_add(buf, "\n", 1);
    return finish_text(buf, out, include_root);
}

static int finish(xg_doc_t *doc, xg_out_t *out, bool include_root)
{
    w3_buf_t buf = {0};
    xg_doc_write(doc, &buf);
    xg_doc_destroy(doc);
    return finish_text(&buf, out, include_root);
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
    w3_buf_t buf = {0};
    xg_stream_t s;
    xg_sdoc_begin(&s, &buf, "result");
    xg_stream_open(&s, "result");
    xg_stream_attr_const(&s, "status", "not found");
    return xg_sdoc_finish(&s, &buf, out, false);
}
