/* The element tree xmlgen/ renders and its serialiser: elements with
 * attributes, nothing else (no text, no comments, no namespaces), which is
 * all a FreeSWITCH configuration document holds.
 *
 * The writers produce byte for byte what libxml2 2.9 wrote for the same tree
 * (tests/unit/test_xg_tree.c compares them): two spaces of indentation per
 * depth (at most 60, as libxml2 caps it), "<x/>" for an empty element, one
 * element per line, attribute values escaped as xmlBufAttrSerializeTxtContent
 * does (& < > " as entities, TAB, LF and CR as &#9; &#10; &#13;).
 *
 * Ownership: an xg_doc_t owns every node and attribute built in it, in one
 * arena (a handful of mallocs a document, not one per node); they all die
 * with xg_doc_destroy(), which accepts NULL. Values are copied. Element and
 * attribute names are not: pass string literals. Out of memory aborts. */
#ifndef W3_XG_TREE_H
#define W3_XG_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef struct xg_doc xg_doc_t;
typedef struct xg_node xg_node_t;

xg_doc_t *xg_doc_create(void);
void xg_doc_destroy(xg_doc_t *d);
/* The document element (call once). */
xg_node_t *xg_doc_root(xg_doc_t *d, const char *name);
/* A new last child of parent. */
xg_node_t *xg_child(xg_node_t *parent, const char *name);
/* A new element inserted just before next, under next's parent (next is not
 * the document element). */
xg_node_t *xg_child_before(xg_node_t *next, const char *name);
/* Attributes are written in the order they are added. */
/* Constant template (may hold "${...}" runtime expansions on purpose). */
void xg_attr_const(xg_node_t *node, const char *name, const char *value);
/* Data value: every '$' is written as the character reference &#36; (see
 * xg.h). */
void xg_attr(xg_node_t *node, const char *name, const char *value);

/* Appends the document as xmlSaveDoc(XML_SAVE_FORMAT | XML_SAVE_NO_DECL) to
 * an "UTF-8" buffer wrote it: no declaration, the document element, "\n".
 * Non-ASCII bytes are copied as they are. It walks the tree through the
 * stream below: a tree deeper than XG_STREAM_DEPTH elements aborts. */
void xg_doc_write(const xg_doc_t *d, w3_buf_t *out);

/* The stream: elements written straight into a buffer in document order, as
 * they are opened — no tree, nothing copied — with the bytes of the writer
 * above (it is the stream, walking the tree). Names are not copied: pass
 * string literals (or strings that outlive the element). An element's
 * attributes come right after its open, before any child; the open
 * elements are closed innermost first. Breaking that order, or nesting more
 * than XG_STREAM_DEPTH elements, is a programming error: the process
 * aborts with file:line. level: the indentation of the first element (its
 * own line is not indented; level < 0 counts as 0); ascii: the elements as
 * xmlNodeDump(buf, doc, node, level, 1) wrote them for a document without
 * an encoding (each non-ASCII character as a hexadecimal character
 * reference, é → &#xE9;: the gateways document) instead of copied as
 * xg_doc_write does. No final "\n" after the first element closes.
 * The stream writes into out and owns nothing. */
#define XG_STREAM_DEPTH 64
typedef struct xg_stream {
    w3_buf_t *out;
    int level, depth;
    bool ascii, tag_open;
    struct {
        const char *name;
        size_t len;
    } open[XG_STREAM_DEPTH];
} xg_stream_t;

void xg_stream_init(xg_stream_t *s, w3_buf_t *out, int level, bool ascii);
void xg_stream_open(xg_stream_t *s, const char *name);
void xg_stream_open_n(xg_stream_t *s, const char *name, size_t len);
/* As xg_attr (data: '$' as &#36;) and xg_attr_const. */
void xg_stream_attr(xg_stream_t *s, const char *name, const char *value);
void xg_stream_attr_const(xg_stream_t *s, const char *name, const char *value);
void xg_stream_close(xg_stream_t *s);
/* Closes elements until depth of them are open. */
void xg_stream_close_to(xg_stream_t *s, int depth);

#endif
