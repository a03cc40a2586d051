/* xg_tree.h against libxml2, byte for byte: thousands of deterministic
 * pseudo-random small trees are built twice — with xg_tree.h and as the
 * libxml2 DOM xmlgen/ used to build (a data value's '$' as an &#36;
 * character-reference child) — and the two serialisations must be equal:
 * xg_doc_write against xmlSaveDoc(XML_SAVE_FORMAT | XML_SAVE_NO_DECL) to an
 * "UTF-8" buffer, the stream in ASCII mode against xmlNodeDump(…, level, 1)
 * of a document without encoding (how the gateways document is streamed). */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "util.h"
#include "xg_tree.h"

#define TREES 3000
#define MAX_NODES 48

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: the same trees on every run and every machine */
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static const char *const element_names[] = {"document", "section",  "domain",    "params", "param", "user",
                                            "gateway",  "variable", "condition", "action", "x",     "a-b_c.d"};
static const char *const attr_names[] = {"name", "value", "id", "data", "expression", "direction", "x"};
/* Pieces of values: markup, the whitespace attributes escape, the
 * pre-processor's characters and non-ASCII UTF-8 of 2, 3 and 4 bytes. */
static const char *const pieces[] = {"a",
                                     "Z",
                                     "0",
                                     " ",
                                     "&",
                                     "<",
                                     ">",
                                     "\"",
                                     "'",
                                     "\t",
                                     "\n",
                                     "\r",
                                     "$",
                                     "{",
                                     "}",
                                     "${x}",
                                     "$${y}",
                                     "&amp;",
                                     "?",
                                     "=",
                                     "/",
                                     "\xc3\xa9",
                                     "\xc3\x9f",
                                     "\xe2\x82\xac",
                                     "\xef\xbf\xbd",
                                     "\xf0\x9f\x98\x80",
                                     "\xed\x9f\xbf",
                                     "\xee\x80\x80",
                                     "\xf4\x8f\xbf\xbf"};

typedef struct pair {
    xg_node_t *ours;
    xmlNodePtr theirs;
    size_t parent; /* index in the node array */
    int depth;
    /* the attributes as given, for the stream */
    size_t nattrs;
    struct {
        const char *name;
        char value[128];
        bool data;
    } attrs[3];
} pair_t;

/* xg_attr as the libxml2 version built it: text runs and &#36; references. */
static void lx_attr(xmlNodePtr node, const char *name, const char *value, bool data)
{
    if (!data || strchr(value, '$') == NULL) {
        W3_CHECK_ALLOC(xmlNewProp(node, BAD_CAST name, BAD_CAST value));
        return;
    }
    xmlAttrPtr attr = xmlNewProp(node, BAD_CAST name, NULL);
    W3_CHECK_ALLOC(attr);
    for (const char *p = value; *p;) {
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

static void random_value(char *v, size_t cap)
{
    size_t len = 0;
    uint32_t n = rnd(4) == 0 ? 0 : 1 + rnd(12);
    for (uint32_t i = 0; i < n; i++) {
        const char *p = pieces[rnd(W3_ARRAY_LEN(pieces))];
        size_t l = strlen(p);
        if (len + l >= cap)
            break;
        memcpy(v + len, p, l);
        len += l;
    }
    v[len] = '\0';
}

static void random_attrs(pair_t *p)
{
    uint32_t n = rnd(4);
    for (uint32_t i = 0; i < n; i++) {
        const char *name = attr_names[rnd(W3_ARRAY_LEN(attr_names))];
        char v[128];
        random_value(v, sizeof(v));
        bool data = rnd(2);
        p->attrs[p->nattrs].name = name;
        memcpy(p->attrs[p->nattrs].value, v, sizeof(v));
        p->attrs[p->nattrs++].data = data;
        if (data)
            xg_attr(p->ours, name, v);
        else
            xg_attr_const(p->ours, name, v);
        lx_attr(p->theirs, name, v, data);
    }
}

/* A random tree in both forms; nodes[0] is the document element. Some trees
 * are deep chains, past the depth where libxml2 stops indenting further. */
static size_t random_tree(xg_doc_t *d, xmlDocPtr doc, pair_t *nodes)
{
    const char *root = element_names[rnd(W3_ARRAY_LEN(element_names))];
    nodes[0].ours = xg_doc_root(d, root);
    nodes[0].theirs = xmlNewDocNode(doc, NULL, BAD_CAST root, NULL);
    W3_CHECK_ALLOC(nodes[0].theirs);
    xmlDocSetRootElement(doc, nodes[0].theirs);
    nodes[0].depth = 0;
    nodes[0].nattrs = 0;
    random_attrs(&nodes[0]);
    bool chain = rnd(8) == 0;
    size_t count = 1, want = chain ? 34 + rnd(6) : 1 + rnd(MAX_NODES - 1);
    while (count < want) {
        size_t pi = chain ? count - 1 : rnd((uint32_t)count);
        pair_t *parent = &nodes[pi];
        const char *name = element_names[rnd(W3_ARRAY_LEN(element_names))];
        pair_t *n = &nodes[count];
        size_t kids[MAX_NODES + 8], nk = 0;
        for (size_t i = 1; i < count; i++)
            if (nodes[i].parent == pi)
                kids[nk++] = i;
        if (nk > 0 && rnd(4) == 0) {
            /* before one of the existing children, as xg_dp_condition inserts */
            pair_t *next = &nodes[kids[rnd((uint32_t)nk)]];
            n->ours = xg_child_before(next->ours, name);
            n->theirs = xmlNewDocNode(doc, NULL, BAD_CAST name, NULL);
            W3_CHECK_ALLOC(n->theirs);
            xmlAddPrevSibling(next->theirs, n->theirs);
        } else {
            n->ours = xg_child(parent->ours, name);
            n->theirs = xmlNewChild(parent->theirs, NULL, BAD_CAST name, NULL);
            W3_CHECK_ALLOC(n->theirs);
        }
        n->parent = pi;
        n->depth = parent->depth + 1;
        n->nattrs = 0;
        random_attrs(n);
        count++;
    }
    return count;
}

/* The same tree through the stream's public calls, in document order (the
 * order libxml2's tree holds, insertions before a sibling included). */
static void stream_node(xg_stream_t *s, const pair_t *nodes, size_t count, xmlNodePtr node)
{
    const pair_t *p = NULL;
    for (size_t i = 0; i < count && p == NULL; i++)
        if (nodes[i].theirs == node)
            p = &nodes[i];
    int depth = s->depth;
    xg_stream_open(s, (const char *)node->name);
    for (size_t i = 0; i < p->nattrs; i++)
        if (p->attrs[i].data)
            xg_stream_attr(s, p->attrs[i].name, p->attrs[i].value);
        else
            xg_stream_attr_const(s, p->attrs[i].name, p->attrs[i].value);
    for (xmlNodePtr c = node->children; c != NULL; c = c->next)
        stream_node(s, nodes, count, c);
    /* a leaf is closed by the next open's caller: close_to does both */
    xg_stream_close_to(s, depth);
}

static void diag_text(const char *what, const char *s, size_t len)
{
    printf("#   %s (%zu bytes):\n#   | ", what, len);
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\n')
            printf("\n#   | ");
        else
            putchar(s[i]);
    printf("\n");
}

typedef struct stats {
    int trees, doc_diffs, node_diffs, stream_diffs, deepest;
    bool seen[8]; /* escapes both writers produced: see marks[] */
} stats_t;

static const char *const marks[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#9;", "&#10;", "&#13;", "&#36;"};

static void note_escapes(stats_t *st, const char *s)
{
    for (size_t i = 0; i < W3_ARRAY_LEN(marks); i++)
        if (strstr(s, marks[i]))
            st->seen[i] = true;
}

static void compare_one(stats_t *st)
{
    xg_doc_t *d = xg_doc_create();
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    W3_CHECK_ALLOC(doc);
    pair_t nodes[MAX_NODES + 8];
    size_t count = random_tree(d, doc, nodes);

    w3_buf_t ours = {0};
    xg_doc_write(d, &ours);
    xmlBufferPtr buf = xmlBufferCreate();
    W3_CHECK_ALLOC(buf);
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    W3_CHECK_ALLOC(save);
    xmlSaveDoc(save, doc);
    xmlSaveClose(save);
    size_t tlen = (size_t)xmlBufferLength(buf);
    if (ours.len != tlen || memcmp(ours.data, xmlBufferContent(buf), tlen) != 0 || ours.data[ours.len] != '\0') {
        if (st->doc_diffs++ == 0) {
            printf("# tree %d: xg_doc_write differs from xmlSaveDoc\n", st->trees);
            diag_text("ours", ours.data, ours.len);
            diag_text("libxml2", (const char *)xmlBufferContent(buf), tlen);
        }
    }
    note_escapes(st, ours.data);

    /* the stream, called directly, writes the same bytes */
    w3_buf_t streamed = {0};
    xg_stream_t s;
    xg_stream_init(&s, &streamed, 0, false);
    stream_node(&s, nodes, count, nodes[0].theirs);
    w3_buf_add(&streamed, "\n", 1);
    if (s.depth != 0 || streamed.len != ours.len || memcmp(streamed.data, ours.data, ours.len) != 0) {
        if (st->stream_diffs++ == 0) {
            printf("# tree %d: the stream differs from xg_doc_write\n", st->trees);
            diag_text("stream", streamed.data, streamed.len);
        }
    }
    w3_buf_free(&streamed);
    xmlBufferFree(buf);
    w3_buf_free(&ours);

    /* one subtree at a random level, appended to text already there */
    pair_t *p = &nodes[rnd((uint32_t)count)];
    int level = (int)rnd(36);
    w3_buf_adds(&ours, "prefix");
    xg_stream_init(&s, &ours, level, true);
    stream_node(&s, nodes, count, p->theirs);
    buf = xmlBufferCreate();
    W3_CHECK_ALLOC(buf);
    xmlBufferCCat(buf, "prefix");
    xmlNodeDump(buf, doc, p->theirs, level, 1);
    tlen = (size_t)xmlBufferLength(buf);
    if (ours.len != tlen || memcmp(ours.data, xmlBufferContent(buf), tlen) != 0 || ours.data[ours.len] != '\0') {
        if (st->node_diffs++ == 0) {
            printf("# tree %d: the ASCII stream (level %d) differs from xmlNodeDump\n", st->trees, level);
            diag_text("ours", ours.data, ours.len);
            diag_text("libxml2", (const char *)xmlBufferContent(buf), tlen);
        }
    }
    note_escapes(st, ours.data);
    xmlBufferFree(buf);
    w3_buf_free(&ours);

    for (size_t i = 0; i < count; i++)
        if (nodes[i].depth > st->deepest)
            st->deepest = nodes[i].depth;
    st->trees++;
    xmlFreeDoc(doc);
    xg_doc_destroy(d);
}

static void test_random_trees(void)
{
    stats_t st = {0};
    for (int i = 0; i < TREES; i++)
        compare_one(&st);
    is_int(st.trees, TREES, "random trees compared");
    is_int(st.doc_diffs, 0, "xg_doc_write equals xmlSaveDoc(FORMAT | NO_DECL, UTF-8) for every tree");
    is_int(st.node_diffs, 0, "the ASCII stream equals xmlNodeDump(level, format) for every subtree");
    is_int(st.stream_diffs, 0, "xg_stream_open/attr/close_to write what xg_doc_write writes, for every tree");
    ok(st.deepest > 31, "some trees are deeper than libxml2's indentation cap (deepest %d)", st.deepest);
    for (size_t i = 0; i < W3_ARRAY_LEN(marks); i++)
        ok(st.seen[i], "the trees exercised %s", marks[i]);
}

/* The details, spelled out, so a failure says which one moved. */
static void test_fixed(void)
{
    xg_doc_t *d = xg_doc_create();
    xg_node_t *root = xg_doc_root(d, "r");
    xg_node_t *a = xg_child(root, "a");
    xg_attr(a, "v", "$1 & <\"t\tn\nr\r'> Caf\xc3\xa9 \xf0\x9f\x98\x80");
    xg_attr_const(a, "t", "${x}");
    xg_node_t *b = xg_child(a, "b");
    xg_child_before(b, "first");
    xg_node_t *deep = root;
    for (int i = 0; i < 32; i++)
        deep = xg_child(deep, "d");
    w3_buf_t out = {0};
    xg_doc_write(d, &out);
    const char *head = "<r>\n  <a v=\"&#36;1 &amp; &lt;&quot;t&#9;n&#10;r&#13;'&gt; Caf\xc3\xa9 \xf0\x9f\x98\x80\" "
                       "t=\"${x}\">\n    <first/>\n    <b/>\n  </a>\n  <d>\n";
    ok(out.data && strncmp(out.data, head, strlen(head)) == 0, "escapes, '$' of a data value, UTF-8 as is, order");
    char deepest[160];
    snprintf(deepest, sizeof(deepest), "\n%60s<d/>\n%60s</d>\n", "", "");
    ok(out.data && strstr(out.data, deepest) != NULL, "indentation stops at 60 columns");
    ok(out.len > 5 && strcmp(out.data + out.len - 5, "</r>\n") == 0, "one final newline, no declaration");
    w3_buf_free(&out);

    xg_stream_t s;
    xg_stream_init(&s, &out, 2, true);
    xg_stream_open(&s, "a");
    xg_stream_attr(&s, "v", "$1 & <\"t\tn\nr\r'> Caf\xc3\xa9 \xf0\x9f\x98\x80");
    xg_stream_attr_const(&s, "t", "${x}");
    xg_stream_open(&s, "first");
    xg_stream_close(&s);
    xg_stream_open(&s, "b");
    xg_stream_close_to(&s, 0);
    is_str(out.data,
           "<a v=\"&#36;1 &amp; &lt;&quot;t&#9;n&#10;r&#13;'&gt; Caf&#xE9; &#x1F600;\" t=\"${x}\">\n"
           "      <first/>\n      <b/>\n    </a>",
           "the ASCII stream: first line not indented, non-ASCII as character references, no final newline");
    w3_buf_free(&out);
    xg_stream_init(&s, &out, 0, true);
    xg_stream_open(&s, "b");
    xg_stream_close(&s);
    is_str(out.data, "<b/>", "an empty element alone");
    w3_buf_free(&out);
    xg_doc_destroy(d);
    xg_doc_destroy(NULL);

    /* a value larger than an arena chunk gets a chunk of its own */
    d = xg_doc_create();
    root = xg_doc_root(d, "r");
    size_t big = 100000;
    char *v = xmalloc(big + 1);
    memset(v, 'v', big);
    v[big] = '\0';
    for (int i = 0; i < 3; i++)
        xg_attr(xg_child(root, "x"), "v", v);
    xg_doc_write(d, &out);
    ok(out.len == 3 * (big + 12) + 9, "three 100 KB values written whole (%zu bytes)", out.len);
    w3_buf_free(&out);
    free(v);
    xg_doc_destroy(d);
}

int main(void)
{
    test_fixed();
    test_random_trees();
    xmlCleanupParser();
    return tap_done();
}
