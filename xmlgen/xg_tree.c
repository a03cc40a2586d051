/* The element tree of xg_tree.h: an arena per document, and writers that
 * follow libxml2 2.9's xmlsave.c (xmlNodeDumpOutputInternal,
 * xmlAttrDumpOutput, xmlBufAttrSerializeTxtContent) for the subset we build.
 * Building a libxml2 DOM cost a malloc per node, attribute and text, and
 * xmlSaveDoc most of a directory answer's instructions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xg_tree.h"

typedef struct attr {
    struct attr *next;
    const char *name;
    const char *value; /* copied into the arena */
    size_t name_len, value_len;
    bool data; /* '$' written as &#36; */
} attr_t;

struct xg_node {
    const char *name;
    size_t name_len;
    xg_doc_t *doc;
    xg_node_t *parent, *first, *last, *next;
    attr_t *attrs, *last_attr;
};

/* Chunks after the first one, which lives in the document itself. */
typedef struct chunk {
    struct chunk *next;
    max_align_t data[];
} chunk_t;

/* A directory user answer takes about 5 KB of nodes, attributes and values:
 * one malloc for the document and its first chunk, one for the output. */
#define FIRST_CHUNK 8192
#define MAX_CHUNK (1024 * 1024)

struct xg_doc {
    char *base; /* current chunk */
    size_t used, cap;
    size_t next_cap;
    chunk_t *chunks;
    xg_node_t *root;
    size_t estimate; /* output bytes without escapes, to size the buffer once */
    union {
        max_align_t align;
        char bytes[FIRST_CHUNK];
    } first;
};

xg_doc_t *xg_doc_create(void)
{
    xg_doc_t *d = xmalloc(sizeof(*d));
    d->base = d->first.bytes;
    d->used = 0;
    d->cap = FIRST_CHUNK;
    d->next_cap = FIRST_CHUNK * 2;
    d->chunks = NULL;
    d->root = NULL;
    d->estimate = 0;
    return d;
}

void xg_doc_destroy(xg_doc_t *d)
{
    if (d == NULL)
        return;
    for (chunk_t *c = d->chunks, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(d);
}

static void *arena_alloc(xg_doc_t *d, size_t n, size_t align)
{
    size_t at = (d->used + align - 1) & ~(align - 1);
    if (at > d->cap || n > d->cap - at) {
        size_t cap = d->next_cap;
        if (n > cap)
            cap = n;
        if (cap > SIZE_MAX - sizeof(chunk_t))
            w3_oom(__FILE__, __LINE__);
        chunk_t *c = xmalloc(sizeof(chunk_t) + cap);
        c->next = d->chunks;
        d->chunks = c;
        d->base = (char *)c->data;
        d->cap = cap;
        if (d->next_cap < MAX_CHUNK)
            d->next_cap *= 2;
        at = 0;
    }
    d->used = at + n;
    return d->base + at;
}

static xg_node_t *new_node(xg_doc_t *d, xg_node_t *parent, const char *name)
{
    xg_node_t *n = arena_alloc(d, sizeof(*n), _Alignof(xg_node_t));
    *n = (xg_node_t){.name = name, .name_len = strlen(name), .doc = d, .parent = parent};
    /* indentation, "<name", ">\n" or "/>", "</name>\n" */
    d->estimate += 2 * n->name_len + 8 + 8;
    return n;
}

xg_node_t *xg_doc_root(xg_doc_t *d, const char *name)
{
    d->root = new_node(d, NULL, name);
    return d->root;
}

xg_node_t *xg_child(xg_node_t *parent, const char *name)
{
    xg_node_t *n = new_node(parent->doc, parent, name);
    if (parent->last)
        parent->last->next = n;
    else
        parent->first = n;
    parent->last = n;
    return n;
}

xg_node_t *xg_child_before(xg_node_t *next, const char *name)
{
    xg_node_t *parent = next->parent;
    xg_node_t *n = new_node(next->doc, parent, name);
    n->next = next;
    if (parent->first == next) {
        parent->first = n;
    } else {
        xg_node_t *prev = parent->first;
        while (prev->next != next)
            prev = prev->next;
        prev->next = n;
    }
    return n;
}

static void add_attr(xg_node_t *node, const char *name, const char *value, bool data)
{
    xg_doc_t *d = node->doc;
    size_t len = strlen(value);
    attr_t *a = arena_alloc(d, sizeof(*a), _Alignof(attr_t));
    char *copy = arena_alloc(d, len, 1);
    memcpy(copy, value, len);
    *a = (attr_t){.name = name, .value = copy, .name_len = strlen(name), .value_len = len, .data = data};
    if (node->last_attr)
        node->last_attr->next = a;
    else
        node->attrs = a;
    node->last_attr = a;
    d->estimate += a->name_len + len + 4;
}

void xg_attr_const(xg_node_t *node, const char *name, const char *value)
{
    add_attr(node, name, value, false);
}

void xg_attr(xg_node_t *node, const char *name, const char *value)
{
    add_attr(node, name, value, true);
}

/* ---- writing -------------------------------------------------------------- */

static void put(w3_buf_t *o, const char *p, size_t n)
{
    if (o->len + n + 1 > o->cap)
        w3_buf_reserve(o, n);
    memcpy(o->data + o->len, p, n);
    o->len += n;
    o->data[o->len] = '\0'; /* a w3_buf_t is always NUL-terminated */
}

static const char spaces[] = "                                                            ";

/* libxml2 indents by level but never by more than 60 columns (MAX_INDENT). */
static void indent(w3_buf_t *o, int level)
{
    size_t n = 2 * (size_t)(level > 30 ? 30 : level);
    put(o, spaces, n);
}

/* What a byte needs in an attribute value: always (markup and the three
 * whitespace characters attribute normalisation would turn into spaces),
 * in a data value ('$'), or when writing ASCII only (bytes ≥ 0x80). */
enum { ESC_ALWAYS = 1, ESC_DATA = 2, ESC_HIGH = 4 };

static const unsigned char ascii_class[128] = {
    ['&'] = ESC_ALWAYS,  ['<'] = ESC_ALWAYS,  ['>'] = ESC_ALWAYS,  ['"'] = ESC_ALWAYS,
    ['\t'] = ESC_ALWAYS, ['\n'] = ESC_ALWAYS, ['\r'] = ESC_ALWAYS, ['$'] = ESC_DATA,
};

static unsigned char escape_class(unsigned char c)
{
    return c >= 0x80 ? ESC_HIGH : ascii_class[c];
}

/* libxml2's xmlSerializeHexCharRef: "&#x", upper-case hex without leading
 * zeros, ";". */
static void put_hex_ref(w3_buf_t *o, unsigned val)
{
    char tmp[16];
    char *p = tmp + sizeof(tmp);
    *--p = ';';
    do {
        *--p = "0123456789ABCDEF"[val & 0xf];
        val >>= 4;
    } while (val);
    *--p = 'x';
    *--p = '#';
    *--p = '&';
    put(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

static bool xml_char(unsigned c)
{
    if (c < 0x100)
        return c == 0x9 || c == 0xa || c == 0xd || c >= 0x20;
    return (c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* One non-ASCII character at s (left bytes) as xmlBufAttrSerializeTxtContent
 * writes it for a document without encoding; returns the bytes consumed.
 * The checks are libxml2's, the end of the text standing for its NUL; the
 * values we render are valid UTF-8, so only well-formed characters reach it
 * in practice. */
static size_t put_high(w3_buf_t *o, const unsigned char *s, size_t left)
{
    unsigned val = 0;
    size_t l = 1;
    if (left < 2) {
        put(o, (const char *)s, 1); /* libxml2: a lead byte before NUL is copied */
        return 1;
    }
    if (s[0] < 0xc0) {
        put_hex_ref(o, s[0]);
        return 1;
    } else if (s[0] < 0xe0) {
        val = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
        l = 2;
    } else if (s[0] < 0xf0 && left >= 3) {
        val = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
        l = 3;
    } else if (s[0] < 0xf8 && left >= 4) {
        val = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
        l = 4;
    }
    if (l == 1 || !xml_char(val)) {
        put_hex_ref(o, s[0]);
        return 1;
    }
    put_hex_ref(o, val);
    return l;
}

/* The first byte at or after i that the mask says needs escaping (n when
 * none). Eight bytes at a time: values are mostly identifiers and digits. */
static size_t skip_plain(const unsigned char *s, size_t i, size_t n, unsigned char mask)
{
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        /* bytes below 0x20 stand for TAB, LF and CR (a few more are
         * flagged: the byte loop below decides) */
        uint64_t m = w3_swar_below(w, 0x20) | w3_swar_byte(w, '&') | w3_swar_byte(w, '<') | w3_swar_byte(w, '>') |
                     w3_swar_byte(w, '"');
        if (mask & ESC_DATA)
            m |= w3_swar_byte(w, '$');
        if (mask & ESC_HIGH)
            m |= w & W3_SWAR_HIGHS;
        if (m)
            break;
    }
    while (i < n && (escape_class(s[i]) & mask) == 0)
        i++;
    return i;
}

static void put_value(w3_buf_t *o, const char *value, size_t n, bool data, bool ascii)
{
    unsigned char mask = ESC_ALWAYS | (data ? ESC_DATA : 0) | (ascii ? ESC_HIGH : 0);
    const unsigned char *s = (const unsigned char *)value;
    size_t run = 0;
    for (size_t i = skip_plain(s, 0, n, mask); i < n; i = skip_plain(s, i, n, mask)) {
        unsigned char c = s[i];
        put(o, (const char *)s + run, i - run);
        switch (c) {
        case '&':
            put(o, "&amp;", 5);
            break;
        case '<':
            put(o, "&lt;", 4);
            break;
        case '>':
            put(o, "&gt;", 4);
            break;
        case '"':
            put(o, "&quot;", 6);
            break;
        case '\t':
            put(o, "&#9;", 4);
            break;
        case '\n':
            put(o, "&#10;", 5);
            break;
        case '\r':
            put(o, "&#13;", 5);
            break;
        case '$':
            put(o, "&#36;", 5);
            break;
        default: {
            /* a data value reached libxml2 as text runs split at each '$' */
            size_t left = n - i;
            const unsigned char *dollar = data ? memchr(s + i, '$', left) : NULL;
            if (dollar != NULL)
                left = (size_t)(dollar - (s + i));
            i += put_high(o, s + i, left) - 1;
            break;
        }
        }
        run = ++i;
    }
    put(o, (const char *)s + run, n - run);
}

/* ---- the stream: the one serialiser ---------------------------------------- */

/* A caller that breaks the stream's order has a bug no answer may hide. */
static _Noreturn void misuse(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: %s\n", file, line, what);
    abort();
}

void xg_stream_init(xg_stream_t *s, w3_buf_t *out, int level, bool ascii)
{
    *s = (xg_stream_t){.out = out, .level = level < 0 ? 0 : level, .ascii = ascii};
}

void xg_stream_open_n(xg_stream_t *s, const char *name, size_t len)
{
    if (s->depth == XG_STREAM_DEPTH)
        misuse(__FILE__, __LINE__, "xg_stream: elements nested too deep");
    if (s->depth > 0) {
        if (s->tag_open)
            put(s->out, ">\n", 2);
        indent(s->out, s->level + s->depth);
    }
    put(s->out, "<", 1);
    put(s->out, name, len);
    s->open[s->depth].name = name;
    s->open[s->depth].len = len;
    s->depth++;
    s->tag_open = true;
}

void xg_stream_open(xg_stream_t *s, const char *name)
{
    xg_stream_open_n(s, name, strlen(name));
}

static void stream_attr(xg_stream_t *s, const char *name, size_t name_len, const char *value, size_t len, bool data)
{
    if (!s->tag_open) /* a programming error: the start tag is written already */
        misuse(__FILE__, __LINE__, "xg_stream: attribute after a child or a close");
    put(s->out, " ", 1);
    put(s->out, name, name_len);
    put(s->out, "=\"", 2);
    put_value(s->out, value, len, data, s->ascii);
    put(s->out, "\"", 1);
}

void xg_stream_attr(xg_stream_t *s, const char *name, const char *value)
{
    stream_attr(s, name, strlen(name), value, strlen(value), true);
}

void xg_stream_attr_const(xg_stream_t *s, const char *name, const char *value)
{
    stream_attr(s, name, strlen(name), value, strlen(value), false);
}

void xg_stream_close(xg_stream_t *s)
{
    if (s->depth == 0)
        misuse(__FILE__, __LINE__, "xg_stream: close without an open element");
    s->depth--;
    if (s->tag_open) {
        put(s->out, "/>", 2);
    } else {
        indent(s->out, s->level + s->depth);
        put(s->out, "</", 2);
        put(s->out, s->open[s->depth].name, s->open[s->depth].len);
        put(s->out, ">", 1);
    }
    s->tag_open = false;
    if (s->depth > 0) /* every element but the first on its own line */
        put(s->out, "\n", 1);
}

void xg_stream_close_to(xg_stream_t *s, int depth)
{
    while (s->depth > depth)
        xg_stream_close(s);
}

/* xmlNodeDumpOutputInternal with format=1, walked without recursion as
 * libxml2 does, through the stream. */
static void write_tree(w3_buf_t *o, const xg_node_t *root)
{
    xg_stream_t s;
    xg_stream_init(&s, o, 0, false);
    const xg_node_t *n = root;
    for (;;) {
        xg_stream_open_n(&s, n->name, n->name_len);
        for (const attr_t *a = n->attrs; a != NULL; a = a->next)
            stream_attr(&s, a->name, a->name_len, a->value, a->value_len, a->data);
        if (n->first != NULL) {
            n = n->first;
            continue;
        }
        for (;;) {
            xg_stream_close(&s);
            if (n == root)
                return;
            if (n->next != NULL) {
                n = n->next;
                break;
            }
            n = n->parent;
        }
    }
}

void xg_doc_write(const xg_doc_t *d, w3_buf_t *out)
{
    w3_buf_reserve(out, d->estimate + d->estimate / 8);
    if (d->root != NULL) {
        write_tree(out, d->root);
        put(out, "\n", 1);
    }
    out->data[out->len] = '\0';
}
