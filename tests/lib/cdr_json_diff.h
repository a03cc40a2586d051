/* The differential check of server/ingest/cdr_json.h against jansson, the
 * parser it replaces: both must accept the same texts as a JSON object
 * (json_loadb(text, len, 0) + json_is_object), and on an accepted text agree
 * on every member cdr.c can read: the top-level members, every member of
 * "variables", of "callflow" (each entry when it is an array) and of each
 * entry's "caller_profile" (kind, and the bytes of every string), in both
 * directions, duplicates resolved to the last one like jansson does.
 * Used by tests/unit/test_cdr_json.c and tests/fuzz/fuzz_cdr_json.c.
 *
 * Ownership: cdr_json_diff returns NULL or a static message, overwritten by
 * the next call. */
#ifndef W3_CDR_JSON_DIFF_H
#define W3_CDR_JSON_DIFF_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdr_json.h"

static char cdr_json_diff_msg[512];

__attribute__((format(printf, 1, 2))) static inline const char *cdr_json_diff_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cdr_json_diff_msg, sizeof(cdr_json_diff_msg), fmt, ap);
    va_end(ap);
    return cdr_json_diff_msg;
}

static inline cdr_json_type_t cdr_json_diff_kind(const json_t *j)
{
    return json_is_string(j)   ? CDR_JSON_STRING
           : json_is_object(j) ? CDR_JSON_OBJECT
           : json_is_array(j)  ? CDR_JSON_ARRAY
                               : CDR_JSON_OTHER;
}

/* The same kind, and for a string the same bytes (json_string_value and
 * json_string_length against cdr_json_string). */
static inline bool cdr_json_diff_same(const json_t *j, const cdr_json_t *d, int node)
{
    if (j == NULL || cdr_json_diff_kind(j) != cdr_json_type(d, node))
        return false;
    if (!json_is_string(j))
        return true;
    size_t n = 0;
    char *m = cdr_json_string(d, node, &n);
    bool same = m && n == json_string_length(j) && memcmp(m, json_string_value(j), n) == 0 && m[n] == '\0';
    free(m);
    return same;
}

/* Object jo (jansson) against node mo (cdr_json): every jansson member found
 * by cdr_json_get with the same value, every cdr_json member known to jansson. */
static inline const char *cdr_json_diff_object(const char *what, json_t *jo, const cdr_json_t *d, int mo)
{
    if (json_is_object(jo) != (cdr_json_type(d, mo) == CDR_JSON_OBJECT))
        return cdr_json_diff_fail("%s: an object for one reader only", what);
    if (!json_is_object(jo))
        return NULL;
    const char *key;
    json_t *val;
    json_object_foreach(jo, key, val)
    {
        int m = cdr_json_get(d, mo, key);
        if (m == CDR_JSON_NONE)
            return cdr_json_diff_fail("%s: member '%.64s' missing from cdr_json", what, key);
        if (!cdr_json_diff_same(val, d, m))
            return cdr_json_diff_fail("%s: member '%.64s' differs", what, key);
    }
    for (int m = cdr_json_next(d, mo, CDR_JSON_NONE); m != CDR_JSON_NONE; m = cdr_json_next(d, mo, m)) {
        size_t n = 0;
        char *k = cdr_json_key(d, m, &n);
        bool known = k && strlen(k) == n && json_object_get(jo, k) != NULL;
        if (!known) {
            const char *msg = cdr_json_diff_fail("%s: member '%.64s' unknown to jansson", what, k ? k : "(null)");
            free(k);
            return msg;
        }
        free(k);
    }
    return NULL;
}

/* A callflow entry and its caller_profile. */
static inline const char *cdr_json_diff_entry(json_t *je, const cdr_json_t *d, int me)
{
    const char *r = cdr_json_diff_object("callflow entry", je, d, me);
    if (r == NULL && json_is_object(je))
        r = cdr_json_diff_object("caller_profile", json_object_get(je, "caller_profile"), d,
                                 cdr_json_get(d, me, "caller_profile"));
    return r;
}

/* NULL when both readers agree on text; *accepted (may be NULL) tells
 * whether jansson loaded it as an object. */
static inline const char *cdr_json_diff(const char *text, size_t len, bool *accepted)
{
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    bool jok = root != NULL && json_is_object(root);
    cdr_json_t *d = NULL;
    const char *why = NULL;
    bool mok = cdr_json_parse(text, len, &d, &why) == 0;
    const char *r = NULL;
    if (jok != mok) {
        r = cdr_json_diff_fail("jansson %s (%s), cdr_json %s (%s)", jok ? "accepts" : "refuses",
                               root == NULL ? err.text
                               : jok        ? "an object"
                                            : "not an object",
                               mok ? "accepts" : "refuses", mok ? "-" : why);
    } else if (jok) {
        r = cdr_json_diff_object("top level", root, d, CDR_JSON_ROOT);
        if (r == NULL)
            r = cdr_json_diff_object("variables", json_object_get(root, "variables"), d,
                                     cdr_json_get(d, CDR_JSON_ROOT, "variables"));
        json_t *jcf = json_object_get(root, "callflow");
        int mcf = cdr_json_get(d, CDR_JSON_ROOT, "callflow");
        if (r == NULL && json_is_object(jcf))
            r = cdr_json_diff_entry(jcf, d, mcf);
        if (r == NULL && json_is_array(jcf)) {
            size_t i = 0;
            int e = cdr_json_next(d, mcf, CDR_JSON_NONE);
            for (; r == NULL && i < json_array_size(jcf) && e != CDR_JSON_NONE; i++, e = cdr_json_next(d, mcf, e)) {
                json_t *je = json_array_get(jcf, i);
                if (!cdr_json_diff_same(je, d, e))
                    r = cdr_json_diff_fail("callflow[%zu] differs", i);
                else
                    r = cdr_json_diff_entry(je, d, e);
            }
            if (r == NULL && (i != json_array_size(jcf) || e != CDR_JSON_NONE))
                r = cdr_json_diff_fail("callflow: %zu entries for jansson, not for cdr_json", json_array_size(jcf));
        }
    }
    if (accepted)
        *accepted = jok;
    json_decref(root);
    cdr_json_destroy(d);
    return r;
}

#endif
