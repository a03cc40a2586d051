/* The JSON reader of the CDR ingest: one validating pass over mod_json_cdr's
 * text, no DOM. It accepts exactly what jansson 2.14's
 * json_loadb(text, len, 0, &err) accepts as an object (strict RFC 8259, the
 * same UTF-8, \u0000, surrogate, number-overflow and depth-2048 refusals, and
 * jansson's one quirk: a single NUL byte right after a number or a
 * true/false/null is skipped), and refuses everything else: the stored
 * meta_json is the raw text and is parsed again with jansson elsewhere.
 *
 * Only the members cdr.c reads are recorded (spans into the text, one
 * growable array per document): those of the top-level object, of its
 * "variables" object, of "callflow" (an object, or an array and its object
 * entries) and of each of those entries' "caller_profile" object. For any
 * other object or array cdr_json_get and cdr_json_next find nothing.
 * Strings are unescaped when read.
 *
 * Nodes are ints: CDR_JSON_ROOT is the top-level object, CDR_JSON_NONE
 * ("absent") is accepted everywhere and yields NONE/NULL again.
 *
 * Ownership: cdr_json_parse returns a document the caller frees with
 * cdr_json_destroy; it points into text, which the caller keeps alive and
 * unchanged until then. cdr_json_string and cdr_json_key return malloc'd,
 * NUL-terminated copies the caller frees. */
#ifndef W3_CDR_JSON_H
#define W3_CDR_JSON_H

#include <stddef.h>

typedef struct cdr_json cdr_json_t;

#define CDR_JSON_NONE (-1)
#define CDR_JSON_ROOT 0

typedef enum { CDR_JSON_STRING, CDR_JSON_OBJECT, CDR_JSON_ARRAY, CDR_JSON_OTHER } cdr_json_type_t;

/* 0 and *out, or -EINVAL with *why (static) when the text is not a JSON
 * object jansson would load (-E2BIG for a text over 1 GiB). */
int cdr_json_parse(const char *text, size_t len, cdr_json_t **out, const char **why);
void cdr_json_destroy(cdr_json_t *doc);

/* The LAST member of object obj whose (unescaped) key is name, as jansson
 * keeps the last of duplicate keys; CDR_JSON_NONE when there is none or obj
 * is not a recorded object. */
int cdr_json_get(const cdr_json_t *doc, int obj, const char *name);
/* The member or element after prev (CDR_JSON_NONE: the first) of recorded
 * container parent, in document order, duplicates included; CDR_JSON_NONE
 * at the end. */
int cdr_json_next(const cdr_json_t *doc, int parent, int prev);
/* CDR_JSON_OTHER for CDR_JSON_NONE too. */
cdr_json_type_t cdr_json_type(const cdr_json_t *doc, int node);
/* The value of a string node, unescaped (length in *len when len is not
 * NULL), or NULL when node is not a string. */
char *cdr_json_string(const cdr_json_t *doc, int node, size_t *len);
/* The key of an object member, unescaped, or NULL (array element, NONE). */
char *cdr_json_key(const cdr_json_t *doc, int node, size_t *len);

#endif
