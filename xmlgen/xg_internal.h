/* Shared by the xmlgen/ files only. Documents are xg_tree.h streams or
 * trees; a finish call frees the document (or empties the buffer) it is
 * given. */
#ifndef W3_XG_INTERNAL_H
#define W3_XG_INTERNAL_H

#include "xg.h"
#include "xg_tree.h"

/* New <document type="freeswitch/xml"><section name=section>; returns section. */
xg_node_t *xg_doc_new(xg_doc_t **doc, const char *section);
/* Streamed documents (xg_tree.h's xg_stream_t, into buf): begin opens
 * <document type="freeswitch/xml"><section name=section>; finish closes
 * every element, checks the text as xg_doc_finish does and hands buf over
 * to out (buf is empty afterwards, whatever the result). */
void xg_sdoc_begin(xg_stream_t *s, w3_buf_t *buf, const char *section);
int xg_sdoc_finish(xg_stream_t *s, w3_buf_t *buf, xg_out_t *out, bool include_root);
/* <param name= value=/> and <variable name= value= [direction=]/> */
void xg_sparam(xg_stream_t *s, const char *name, const char *value);
void xg_svariable(xg_stream_t *s, const char *name, const char *value, const char *direction);
/* Serialises and frees doc. */
int xg_doc_finish(xg_doc_t *doc, xg_out_t *out);
/* Static conf files (w3voip export): <include> root, same safety rules. */
xg_node_t *xg_static_new(xg_doc_t **doc);
int xg_doc_finish_static(xg_doc_t *doc, xg_out_t *out);
/* true when s[0..len) is UTF-8 that an XML parser reads back: well-formed
 * (no overlong form, no surrogate, nothing above U+10FFFF) and without the
 * non-characters U+FFFE and U+FFFF. */
bool xg_utf8_ok(const char *s, size_t len);

#endif
