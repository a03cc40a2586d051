#include "form.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t form_pct_decode(char *s, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        int hi, lo;
        if (s[r] == '%' && r + 2 < len && (hi = hexval(s[r + 1])) >= 0 && (lo = hexval(s[r + 2])) >= 0 &&
            (hi | lo) != 0) { /* %00 stays literal: a NUL would silently cut the value */
            s[w++] = (char)(hi * 16 + lo);
            r += 3;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

static bool is_prefix_field(const char *name)
{
    static const char *const prefix[] = {"hostname", "section", "tag_name", "key_name", "key_value"};
    for (size_t i = 0; i < W3_ARRAY_LEN(prefix); i++)
        if (strcmp(name, prefix[i]) == 0)
            return true;
    return false;
}

static size_t name_hash(const char *s)
{
    size_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The first field of each name wins, as form_get() has always answered. */
static void index_build(form_t *f)
{
    size_t cap = 16;
    while (cap < 2 * f->n)
        cap *= 2;
    f->index = xcalloc(cap, sizeof(*f->index));
    f->index_cap = cap;
    for (size_t i = 0; i < f->n; i++) {
        size_t k = name_hash(f->fields[i].name) & (cap - 1);
        while (f->index[k] && strcmp(f->fields[f->index[k] - 1].name, f->fields[i].name) != 0)
            k = (k + 1) & (cap - 1);
        if (f->index[k] == 0)
            f->index[k] = (unsigned)i + 1;
    }
}

int form_parse(form_t *f, const char *body, size_t len, const char **why)
{
    memset(f, 0, sizeof(*f));
    if (memchr(body, '\0', len) != NULL) {
        *why = "body contains a NUL byte";
        return -EINVAL;
    }
    f->store = xstrndup(body, len);
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += body[i] == '&';
    f->fields = xcalloc(cap, sizeof(*f->fields));

    char *p = f->store;
    size_t index = 0;
    while (p != NULL) {
        char *amp = strchr(p, '&');
        if (amp != NULL)
            *amp = '\0';
        if (*p != '\0') {
            char *eq = strchr(p, '=');
            /* a field without '=' has the empty value (its own NUL) */
            char *value = p + strlen(p);
            if (eq != NULL) {
                *eq = '\0';
                value = eq + 1;
            }
            if (*p == '\0') {
                *why = "form field without a name";
                form_free(f);
                return -EINVAL;
            }
            /* the leading prefix fields are written raw by mod_xml_curl */
            if (!(index < 5 && is_prefix_field(p)))
                form_pct_decode(value, strlen(value));
            f->fields[f->n].name = p;
            f->fields[f->n].value = value;
            f->n++;
            index++;
        }
        p = amp ? amp + 1 : NULL;
    }
    index_build(f);
    return 0;
}

void form_free(form_t *f)
{
    free(f->store);
    free(f->fields);
    free(f->index);
    memset(f, 0, sizeof(*f));
}

const char *form_get(const form_t *f, const char *name)
{
    const char *v = NULL;
    if (f->index_cap) {
        for (size_t k = name_hash(name) & (f->index_cap - 1); f->index[k]; k = (k + 1) & (f->index_cap - 1))
            if (strcmp(f->fields[f->index[k] - 1].name, name) == 0) {
                v = f->fields[f->index[k] - 1].value;
                break;
            }
    } else {
        for (size_t i = 0; i < f->n && v == NULL; i++)
            if (strcmp(f->fields[i].name, name) == 0)
                v = f->fields[i].value;
    }
    if (f->on_read)
        f->on_read(f->on_read_arg, name, v);
    return v;
}
