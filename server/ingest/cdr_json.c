#include "cdr_json.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* jansson 2.14's JSON_PARSER_MAX_DEPTH; jansson counts every value, scalars
 * included, so a string inside 2047 nested arrays under the top object is
 * already too deep. */
#define MAX_DEPTH 2048

/* The per-token helpers of the hot loop, inlined into it: a CDR is ~1,400
 * strings, and the calls (gcc keeps them out of line at -O2) were 40 % of
 * the parser's instructions and a quarter of its time. */
#define HOT static inline __attribute__((always_inline))

typedef struct node {
    const char *key; /* inside the quotes; NULL for an array element */
    const char *val; /* a string's value, inside the quotes */
    size_t klen, vlen;
    int parent;
    int end;            /* one past the last node of this node's subtree */
    uint32_t hash;      /* of (parent, unescaped key), for an object member */
    unsigned char type; /* cdr_json_type_t */
    bool kesc, vesc;    /* the span holds a backslash escape */
    bool recorded;      /* a container whose members are recorded */
} node_t;

/* slots: open addressing over the members of recorded objects, each
 * (object, key) once, at its last duplicate: cdr.c reads ~30 of the ~250
 * members, and a linear scan of "variables" per read was a fifth of the
 * ingest's instructions. */
struct cdr_json {
    node_t *nodes;
    int n, cap;
    int *slots;
    uint32_t mask;
};

/* What a container is to cdr.c, which decides whether its members are
 * recorded and what its children are. */
typedef enum { ROLE_NONE, ROLE_ROOT, ROLE_LEAF, ROLE_CFARRAY, ROLE_CFENTRY } role_t;

typedef struct frame {
    int node; /* the recorded container, or CDR_JSON_NONE */
    role_t role;
    bool object;
} frame_t;

typedef struct parser {
    const unsigned char *p, *end;
    cdr_json_t *doc;
    const char *why;
    frame_t *stack, *local; /* local: the caller's array, until a deeper document */
    size_t depth, cap;
} parser_t;

static bool fail(parser_t *ps, const char *why)
{
    ps->why = why;
    return false;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void skip_ws(parser_t *ps)
{
    const unsigned char *p = ps->p;
    while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    ps->p = p;
}

static long hex4(const unsigned char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = w3_hex_digit((char)s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* ps->p at the opening quote; the span inside the quotes in *s, its length in *n. Checks
 * everything jansson checks (UTF-8, control characters, escapes, surrogate
 * pairs, \u0000, which jansson refuses in keys and values alike) without
 * decoding: the value is built only if it is read. */
HOT bool scan_string(parser_t *ps, const char **s, size_t *n, bool *esc)
{
    const unsigned char *start = ps->p + 1, *p = start, *end = ps->end;
    bool e = false;
    for (;;) {
        p = w3_json_plain_end(p, end);
        if (p == end)
            return fail(ps, "unterminated string");
        if (*p == '"')
            break;
        if (*p < 0x20)
            return fail(ps, "control character in a string");
        if (*p >= 0x80) {
            size_t k = w3_utf8_seq(p, (size_t)(end - p));
            if (k == 0)
                return fail(ps, "invalid UTF-8");
            p += k;
            continue;
        }
        e = true; /* a backslash */
        if (end - p < 2)
            return fail(ps, "unterminated string");
        unsigned char c = p[1];
        if (c != 'u') {
            if (!strchr("\"\\/bfnrt", c) || c == '\0')
                return fail(ps, "invalid escape");
            p += 2;
            continue;
        }
        long v = end - p >= 6 ? hex4(p + 2) : -1;
        if (v < 0)
            return fail(ps, "invalid escape");
        p += 6;
        if (v == 0)
            return fail(ps, "\\u0000 in a string");
        if (v >= 0xDC00 && v <= 0xDFFF)
            return fail(ps, "lone low surrogate escape");
        if (v >= 0xD800 && v <= 0xDBFF) {
            long lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail(ps, "high surrogate escape without its low half");
            p += 6;
        }
    }
    *s = (const char *)start;
    *n = (size_t)(p - start);
    *esc = e;
    ps->p = p + 1;
    return true;
}

/* jansson reads the byte after a number or a literal and puts it back; its
 * put-back loses a NUL byte (its one-character buffer reads NUL as empty), so
 * json_loadb accepts {"a":1<NUL>} and {"a":true<NUL>}. Skip one, like it. */
static void skip_lost_nul(parser_t *ps)
{
    if (ps->p < ps->end && *ps->p == '\0')
        ps->p++;
}

/* Refused when strtoll would give ERANGE (json_int_t is long long). digits
 * has no leading zero (the grammar forbids it). */
static bool int_overflows(const unsigned char *digits, size_t n, bool neg)
{
    static const char max[] = "9223372036854775807", min[] = "9223372036854775808";
    if (n != sizeof(max) - 1)
        return n > sizeof(max) - 1;
    return memcmp(digits, neg ? min : max, n) > 0;
}

/* jsonp_strtod: the text with '.' turned into the locale's decimal point,
 * strtod, overflow when ±HUGE_VAL with ERANGE (underflow is accepted). */
static bool real_overflows(const unsigned char *s, size_t n)
{
    char local[64], *buf = n < sizeof(local) ? local : xmalloc(n + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *point = localeconv()->decimal_point;
    char *dot;
    if (*point != '.' && (dot = strchr(buf, '.')) != NULL)
        *dot = *point;
    errno = 0;
    double v = strtod(buf, NULL);
    bool over = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
    if (buf != local)
        free(buf);
    return over;
}

static bool scan_number(parser_t *ps)
{
    const unsigned char *p = ps->p, *end = ps->end;
    bool neg = *p == '-', real = false;
    if (neg)
        p++;
    const unsigned char *digits = p;
    if (p == end || !is_digit(*p))
        return fail(ps, "invalid number");
    if (*p == '0') {
        if (++p < end && is_digit(*p))
            return fail(ps, "number with a leading zero");
    } else {
        while (p < end && is_digit(*p))
            p++;
    }
    size_t ndigits = (size_t)(p - digits);
    if (p < end && *p == '.') {
        if (++p == end || !is_digit(*p))
            return fail(ps, "invalid number");
        while (p < end && is_digit(*p))
            p++;
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return fail(ps, "invalid number");
        while (p < end && is_digit(*p))
            p++;
        real = true;
    }
    if (real ? real_overflows(ps->p, (size_t)(p - ps->p)) : int_overflows(digits, ndigits, neg))
        return fail(ps, real ? "real number overflow" : "too big integer");
    ps->p = p;
    skip_lost_nul(ps);
    return true;
}

/* jansson reads a whole run of letters, then wants true, false or null. */
static bool scan_literal(parser_t *ps)
{
    const unsigned char *p = ps->p, *q = p;
    while (q < ps->end && is_alpha(*q))
        q++;
    size_t n = (size_t)(q - p);
    if (!((n == 4 && memcmp(p, "true", 4) == 0) || (n == 5 && memcmp(p, "false", 5) == 0) ||
          (n == 4 && memcmp(p, "null", 4) == 0)))
        return fail(ps, "invalid literal");
    ps->p = q;
    skip_lost_nul(ps);
    return true;
}

static size_t put_utf8(long v, char *o)
{
    if (v < 0x80) {
        o[0] = (char)v;
        return 1;
    }
    if (v < 0x800) {
        o[0] = (char)(0xC0 | (v >> 6));
        o[1] = (char)(0x80 | (v & 0x3F));
        return 2;
    }
    if (v < 0x10000) {
        o[0] = (char)(0xE0 | (v >> 12));
        o[1] = (char)(0x80 | ((v >> 6) & 0x3F));
        o[2] = (char)(0x80 | (v & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (v >> 18));
    o[1] = (char)(0x80 | ((v >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((v >> 6) & 0x3F));
    o[3] = (char)(0x80 | (v & 0x3F));
    return 4;
}

/* Decodes a span scan_string accepted into out (at least n bytes: no escape
 * decodes longer than itself); the decoded length. */
static size_t unescape(const char *s, size_t n, char *out)
{
    const char *end = s + n;
    char *o = out;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        size_t run = bs ? (size_t)(bs - s) : (size_t)(end - s);
        memcpy(o, s, run);
        o += run;
        s += run;
        if (bs == NULL)
            break;
        char c = s[1];
        s += 2;
        switch (c) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            long v = hex4((const unsigned char *)s);
            s += 4;
            if (v >= 0xD800 && v <= 0xDBFF) {
                v = ((v - 0xD800) << 10) + (hex4((const unsigned char *)s + 2) - 0xDC00) + 0x10000;
                s += 6;
            }
            o += put_utf8(v, o);
            break;
        }
        default:
            *o++ = c; /* " \ / */
        }
    }
    return (size_t)(o - out);
}

static char *decode(const char *s, size_t n, bool esc, size_t *len)
{
    char *out = xmalloc(n + 1);
    size_t k = n;
    if (esc)
        k = unescape(s, n, out);
    else
        memcpy(out, s, n);
    out[k] = '\0';
    if (len)
        *len = k;
    return out;
}

static bool span_is(const char *s, size_t n, bool esc, const char *name, size_t len)
{
    if (!esc)
        return n == len && memcmp(s, name, len) == 0;
    if (n < len) /* an escape only shortens */
        return false;
    size_t k;
    char *d = decode(s, n, true, &k);
    bool same = k == len && memcmp(d, name, len) == 0;
    free(d);
    return same;
}

/* Length, first and last eight bytes: the names of FreeSWITCH's variables
 * share prefixes (sip_, rtp_) more than ends. */
HOT uint32_t key_hash(int parent, const char *k, size_t n)
{
    uint64_t a = 0, b = 0;
    memcpy(&a, k, n < 8 ? n : 8);
    if (n > 8)
        memcpy(&b, k + n - 8, 8);
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ b * 0xC2B2AE3D27D4EB4Full ^ (uint64_t)n << 1 ^
                 (uint64_t)(unsigned)parent * 0x165667B19E3779F9ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return (uint32_t)(h ^ h >> 32);
}

static uint32_t node_hash(const node_t *nd)
{
    if (!nd->kesc)
        return key_hash(nd->parent, nd->key, nd->klen);
    size_t n;
    char *k = decode(nd->key, nd->klen, true, &n);
    uint32_t h = key_hash(nd->parent, k, n);
    free(k);
    return h;
}

static bool same_key(const node_t *a, const node_t *b)
{
    if (!b->kesc)
        return span_is(a->key, a->klen, a->kesc, b->key, b->klen);
    size_t n;
    char *k = decode(b->key, b->klen, true, &n);
    bool same = span_is(a->key, a->klen, a->kesc, k, n);
    free(k);
    return same;
}

/* Every member of a recorded object into slots, in document order, a later
 * duplicate taking its predecessor's slot: lookups find the last, as
 * jansson keeps it. */
static void index_members(cdr_json_t *d)
{
    size_t members = 0;
    for (int i = 1; i < d->n; i++)
        members += d->nodes[i].key != NULL && d->nodes[d->nodes[i].parent].recorded;
    size_t size = 16;
    while (size < 2 * members)
        size *= 2;
    d->mask = (uint32_t)size - 1;
    d->slots = xmalloc(size * sizeof(*d->slots));
    memset(d->slots, 0xff, size * sizeof(*d->slots)); /* CDR_JSON_NONE */
    for (int i = 1; i < d->n; i++) {
        node_t *nd = &d->nodes[i];
        if (nd->key == NULL || !d->nodes[nd->parent].recorded)
            continue;
        nd->hash = node_hash(nd);
        uint32_t j = nd->hash & d->mask;
        for (;; j = (j + 1) & d->mask) {
            int o = d->slots[j];
            if (o == CDR_JSON_NONE ||
                (d->nodes[o].parent == nd->parent && d->nodes[o].hash == nd->hash && same_key(&d->nodes[o], nd))) {
                d->slots[j] = i;
                break;
            }
        }
    }
}

HOT int add_node(parser_t *ps, int parent, const char *key, size_t klen, bool kesc)
{
    cdr_json_t *d = ps->doc;
    if (d->n == d->cap) {
        d->cap *= 2;
        d->nodes = xrealloc(d->nodes, (size_t)d->cap * sizeof(*d->nodes));
    }
    int i = d->n++;
    d->nodes[i] = (node_t){.key = key, .klen = klen, .kesc = kesc, .parent = parent, .end = i + 1};
    return i;
}

static role_t child_role(const frame_t *f, const node_t *nd, bool object)
{
    switch (f->role) {
    case ROLE_ROOT:
        if (object && span_is(nd->key, nd->klen, nd->kesc, "variables", 9))
            return ROLE_LEAF;
        if (span_is(nd->key, nd->klen, nd->kesc, "callflow", 8))
            return object ? ROLE_CFENTRY : ROLE_CFARRAY;
        return ROLE_NONE;
    case ROLE_CFARRAY:
        return object ? ROLE_CFENTRY : ROLE_NONE;
    case ROLE_CFENTRY:
        return object && span_is(nd->key, nd->klen, nd->kesc, "caller_profile", 14) ? ROLE_LEAF : ROLE_NONE;
    default:
        return ROLE_NONE;
    }
}

static void push(parser_t *ps, int node, role_t role, bool object)
{
    if (ps->depth == ps->cap) {
        ps->cap *= 2;
        if (ps->stack == ps->local) {
            ps->stack = xmalloc(ps->cap * sizeof(*ps->stack));
            memcpy(ps->stack, ps->local, ps->depth * sizeof(*ps->stack));
        } else {
            ps->stack = xrealloc(ps->stack, ps->cap * sizeof(*ps->stack));
        }
    }
    ps->stack[ps->depth++] = (frame_t){.node = node, .role = role, .object = object};
    if (node != CDR_JSON_NONE)
        ps->doc->nodes[node].recorded = true;
}

/* One value at ps->p (whitespace skipped) inside the innermost frame, key
 * given for an object member; a container is pushed, its members follow. */
HOT bool value(parser_t *ps, const char *key, size_t klen, bool kesc)
{
    if (ps->depth + 1 > MAX_DEPTH)
        return fail(ps, "nested too deeply");
    if (ps->p == ps->end)
        return fail(ps, "value expected");
    const frame_t *f = &ps->stack[ps->depth - 1];
    int i = f->node == CDR_JSON_NONE ? CDR_JSON_NONE : add_node(ps, f->node, key, klen, kesc);
    unsigned char c = *ps->p;
    if (c == '{' || c == '[') {
        bool object = c == '{';
        role_t role = ROLE_NONE;
        if (i != CDR_JSON_NONE) {
            ps->doc->nodes[i].type = object ? CDR_JSON_OBJECT : CDR_JSON_ARRAY;
            role = child_role(f, &ps->doc->nodes[i], object);
        }
        ps->p++;
        push(ps, role == ROLE_NONE ? CDR_JSON_NONE : i, role, object);
        return true;
    }
    if (c == '"') {
        const char *s;
        size_t n;
        bool esc;
        if (!scan_string(ps, &s, &n, &esc))
            return false;
        if (i != CDR_JSON_NONE) {
            node_t *nd = &ps->doc->nodes[i];
            nd->type = CDR_JSON_STRING;
            nd->val = s;
            nd->vlen = n;
            nd->vesc = esc;
        }
        return true;
    }
    if (i != CDR_JSON_NONE)
        ps->doc->nodes[i].type = CDR_JSON_OTHER;
    if (c == '-' || is_digit(c))
        return scan_number(ps);
    if (is_alpha(c))
        return scan_literal(ps);
    return fail(ps, "invalid token");
}

/* A member of the innermost (object) frame: "key" ws : ws value. */
static bool member(parser_t *ps)
{
    const char *key;
    size_t klen;
    bool kesc;
    if (ps->p == ps->end || *ps->p != '"')
        return fail(ps, "string or '}' expected");
    if (!scan_string(ps, &key, &klen, &kesc))
        return false;
    skip_ws(ps);
    if (ps->p == ps->end || *ps->p != ':')
        return fail(ps, "':' expected");
    ps->p++;
    skip_ws(ps);
    return value(ps, key, klen, kesc);
}

/* Whether ps->p is at the closer of the innermost frame; pops it if so. */
static bool close_frame(parser_t *ps)
{
    const frame_t *f = &ps->stack[ps->depth - 1];
    if (ps->p == ps->end || *ps->p != (f->object ? '}' : ']'))
        return false;
    ps->p++;
    if (f->node != CDR_JSON_NONE)
        ps->doc->nodes[f->node].end = ps->doc->n;
    ps->depth--;
    return true;
}

static bool parse(parser_t *ps)
{
    skip_ws(ps);
    /* jansson loads a top-level array too, but cdr.c wants an object */
    if (ps->p == ps->end || *ps->p != '{')
        return fail(ps, "not a JSON object");
    ps->p++;
    int root = add_node(ps, CDR_JSON_NONE, NULL, 0, false);
    ps->doc->nodes[root].type = CDR_JSON_OBJECT;
    push(ps, root, ROLE_ROOT, true);
    bool opened = true; /* right after '{' or '[' */
    while (ps->depth > 0) {
        skip_ws(ps);
        if (close_frame(ps)) {
            opened = false;
            continue;
        }
        if (!opened) { /* after a value: ',' or the closer */
            if (ps->p == ps->end || *ps->p != ',')
                return fail(ps, ps->stack[ps->depth - 1].object ? "'}' expected" : "']' expected");
            ps->p++;
            skip_ws(ps);
        }
        size_t depth = ps->depth;
        if (!(ps->stack[depth - 1].object ? member(ps) : value(ps, NULL, 0, false)))
            return false;
        opened = ps->depth > depth;
    }
    skip_ws(ps);
    return ps->p == ps->end ? true : fail(ps, "end of input expected after the object");
}

int cdr_json_parse(const char *text, size_t len, cdr_json_t **out, const char **why)
{
    if (len > (size_t)INT_MAX / 2) { /* nodes are ints; cdr_body_max is far below */
        *out = NULL;
        *why = "JSON text over 1 GiB";
        return -E2BIG;
    }
    frame_t local[32];
    parser_t ps = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len};
    cdr_json_t *d = xcalloc(1, sizeof(*d));
    /* mod_json_cdr: ~45 bytes of text per recorded member; one allocation
     * for a usual CDR, doubling past it */
    d->cap = len / 32 + 16 < 4096 ? (int)(len / 32 + 16) : 4096;
    d->nodes = xmalloc((size_t)d->cap * sizeof(*d->nodes));
    ps.doc = d;
    ps.stack = ps.local = local;
    ps.cap = W3_ARRAY_LEN(local);
    bool ok = parse(&ps);
    if (ps.stack != local)
        free(ps.stack);
    if (ok)
        index_members(d);
    if (!ok) {
        cdr_json_destroy(d);
        *out = NULL;
        *why = ps.why;
        return -EINVAL;
    }
    *out = d;
    return 0;
}

void cdr_json_destroy(cdr_json_t *doc)
{
    if (doc == NULL)
        return;
    free(doc->nodes);
    free(doc->slots);
    free(doc);
}

static const node_t *at(const cdr_json_t *doc, int node)
{
    return node >= 0 && node < doc->n ? &doc->nodes[node] : NULL;
}

int cdr_json_get(const cdr_json_t *doc, int obj, const char *name)
{
    const node_t *o = at(doc, obj);
    if (o == NULL || !o->recorded || o->type != CDR_JSON_OBJECT)
        return CDR_JSON_NONE;
    size_t len = strlen(name);
    uint32_t h = key_hash(obj, name, len);
    for (uint32_t j = h & doc->mask;; j = (j + 1) & doc->mask) {
        int i = doc->slots[j];
        if (i == CDR_JSON_NONE)
            return CDR_JSON_NONE;
        const node_t *nd = &doc->nodes[i];
        if (nd->parent == obj && nd->hash == h && span_is(nd->key, nd->klen, nd->kesc, name, len))
            return i;
    }
}

int cdr_json_next(const cdr_json_t *doc, int parent, int prev)
{
    const node_t *p = at(doc, parent);
    if (p == NULL || !p->recorded)
        return CDR_JSON_NONE;
    const node_t *q = at(doc, prev);
    int i = q ? q->end : parent + 1; /* a sibling's subtree ends where the next sibling starts */
    return i < p->end ? i : CDR_JSON_NONE;
}

cdr_json_type_t cdr_json_type(const cdr_json_t *doc, int node)
{
    const node_t *nd = at(doc, node);
    return nd ? (cdr_json_type_t)nd->type : CDR_JSON_OTHER;
}

char *cdr_json_string(const cdr_json_t *doc, int node, size_t *len)
{
    const node_t *nd = at(doc, node);
    if (nd == NULL || nd->type != CDR_JSON_STRING)
        return NULL;
    return decode(nd->val, nd->vlen, nd->vesc, len);
}

char *cdr_json_key(const cdr_json_t *doc, int node, size_t *len)
{
    const node_t *nd = at(doc, node);
    if (nd == NULL || nd->key == NULL)
        return NULL;
    return decode(nd->key, nd->klen, nd->kesc, len);
}
