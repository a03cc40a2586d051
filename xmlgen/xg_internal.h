/* Shared by the xmlgen/ files only. */
#ifndef W3_XG_INTERNAL_H
#define W3_XG_INTERNAL_H

#include <libxml/tree.h>

#include "xg.h"

/* New <document type="freeswitch/xml"><section name=section>; returns section. */
xmlNodePtr xg_doc_new(xmlDocPtr *doc, const char *section);
xmlNodePtr xg_child(xmlNodePtr parent, const char *name);
/* Data value: '$' becomes &#36; (see xg.h). */
void xg_attr(xmlNodePtr node, const char *name, const char *value);
/* Constant template (may hold "${...}" runtime expansions on purpose). */
void xg_attr_const(xmlNodePtr node, const char *name, const char *value);
/* <param name= value=/> and <variable name= value= [direction=]/> */
void xg_param(xmlNodePtr params, const char *name, const char *value);
void xg_variable(xmlNodePtr vars, const char *name, const char *value, const char *direction);
/* Serialises and frees doc. */
int xg_doc_finish(xmlDocPtr doc, xg_out_t *out);
/* Static conf files (w3voip export): <include> root, same safety rules. */
xmlNodePtr xg_static_new(xmlDocPtr *doc);
int xg_doc_finish_static(xmlDocPtr doc, xg_out_t *out);

#endif
