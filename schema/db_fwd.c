/* An extension's forwarding object, read in C: the extension statement
 * returns the column as it is instead of four json_extract() and a
 * json_each() self-join (a third of a cache-missing REGISTER's SQLite time
 * when the extensions forward). */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <string.h>

#include "util.h"
#include "internal/db_reader.h"

/* A forwarding target: a JSON string, as the schema's CHECK wants it; a
 * value of another type (only a row written around the schema holds one)
 * is no target. Too long for its field: -EIO, as any column. */
static int fwd_target(json_t *o, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return 0;
    return w3_strlcpy(dst, json_string_value(v), cap) ? 0 : -EIO;
}

int db_forwarding_parse(const char *text, size_t n, db_extension_t *out, bool *dup)
{
    out->fwd_always[0] = out->fwd_busy[0] = out->fwd_no_answer[0] = '\0';
    out->fwd_no_answer_timeout = 0;
    *dup = false;
    if (text == NULL || (n == 2 && memcmp(text, "{}", 2) == 0))
        return 0;
    json_error_t e;
    json_t *v = json_loadb(text, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (v == NULL) {
        *dup = json_error_code(&e) == json_error_duplicate_key;
        return *dup ? 0 : -EIO;
    }
    int rc = 0;
    if (json_is_object(v)) {
        rc = fwd_target(v, "always", out->fwd_always, sizeof(out->fwd_always));
        rc = rc ? rc : fwd_target(v, "busy", out->fwd_busy, sizeof(out->fwd_busy));
        rc = rc ? rc : fwd_target(v, "no_answer", out->fwd_no_answer, sizeof(out->fwd_no_answer));
        json_t *t = json_object_get(v, "no_answer_timeout");
        if (json_is_integer(t) && json_integer_value(t) > 0 && json_integer_value(t) <= INT_MAX)
            out->fwd_no_answer_timeout = (int)json_integer_value(t);
    }
    json_decref(v);
    return rc;
}
