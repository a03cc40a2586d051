/* Decoder for the application/x-www-form-urlencoded bodies FreeSWITCH posts
 * (mod_xml_curl). SPEC §6: split on '&', then on the first '=', then decode
 * each %XX exactly once. '+' is kept literal: FreeSWITCH encodes '+' as %2B,
 * so a raw '+' is data (a DID written by hand, a base64 CDR), never a space.
 * The five prefix fields (hostname, section, tag_name, key_name, key_value)
 * arrive unencoded and are not decoded when they lead the body.
 *
 * Ownership: form_parse() copies the body, form_parse_in_place() splits
 * and decodes the caller's buffer itself (which must outlive the form);
 * form_free() releases what the form allocated. Values returned by
 * form_get() live as long as the form (and, in place, the buffer). */
#ifndef W3_FORM_H
#define W3_FORM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct form_field {
    const char *name;
    char *value;    /* read it with form_get() or form_value() */
    bool undecoded; /* %XX still to decode: done at the first read */
    size_t hash;    /* of the name, for the index */
} form_field_t;

typedef struct form {
    char *store; /* the copy form_parse() made; NULL in place */
    form_field_t *fields;
    size_t n;
    /* index of the first field of each name: open addressing, 1 + position,
     * 0 = empty; a lookup reads a dozen fields of ~170 */
    unsigned *index;
    size_t index_cap; /* a power of two */
    /* When set, every form_get() is reported (the name, and the value or
     * NULL when absent): the answer cache learns what an answer depends on. */
    void (*on_read)(void *arg, const char *name, const char *value);
    void *on_read_arg;
} form_t;

/* 0 on success; -EINVAL when the body holds a NUL byte or a field without a
 * name ("=x"), with *why naming the problem (static string). */
int form_parse(form_t *f, const char *body, size_t len, const char **why);
/* The same on buf[0..len) itself, which it rewrites; buf[len] must be '\0'.
 * No copy: the request's own input buffer on the server's path. */
int form_parse_in_place(form_t *f, char *buf, size_t len, const char **why);
void form_free(form_t *f);
/* First value for name, or NULL. Empty values are returned as "". */
const char *form_get(const form_t *f, const char *name);
/* The value of field i (in body order), decoded; NULL past the end. */
const char *form_value(const form_t *f, size_t i);
/* Decodes %XX once in place (invalid escapes stay literal); returns new length. */
size_t form_pct_decode(char *s, size_t len);
/* The same with %00 decoded too: the result may hold a NUL byte before its
 * returned length, which the caller refuses or lets cut the string. */
size_t form_pct_decode_nul(char *s, size_t len);

#endif
