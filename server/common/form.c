#include "form.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "util.h"

static size_t pct_decode(char *s, size_t len, bool nul)
{
    size_t r = 0, w = 0;
    while (r < len) {
        int hi, lo;
        if (s[r] == '%' && r + 2 < len && (hi = w3_hex_digit(s[r + 1])) >= 0 && (lo = w3_hex_digit(s[r + 2])) >= 0 &&
            (nul || (hi | lo) != 0)) {
            s[w++] = (char)(hi * 16 + lo);
            r += 3;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

size_t form_pct_decode(char *s, size_t len)
{
    return pct_decode(s, len, false); /* %00 stays literal: a NUL would silently cut the value */
}

size_t form_pct_decode_nul(char *s, size_t len)
{
    return pct_decode(s, len, true);
}

static bool is_prefix_field(const char *name)
{
    static const char *const prefix[] = {"hostname", "section", "tag_name", "key_name", "key_value"};
    for (size_t i = 0; i < W3_ARRAY_LEN(prefix); i++)
        if (strcmp(name, prefix[i]) == 0)
            return true;
    return false;
}

/* Length and the first and last eight bytes: the names FreeSWITCH sends
 * share long prefixes ("variable_sip_") and differ at the end; a collision
 * only costs one more strcmp. */
static size_t name_hash(const char *s, size_t n)
{
    uint64_t a = 0, b = 0;
    memcpy(&a, s, n < 8 ? n : 8);
    if (n > 8)
        memcpy(&b, s + n - 8, 8);
    uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + n) * 0xc2b2ae3d27d4eb4fULL;
    return (size_t)(h ^ (h >> 31));
}

/* The first field of each name wins, as form_get() has always answered. */
static void index_add(form_t *f, size_t i)
{
    size_t k = f->fields[i].hash & (f->index_cap - 1);
    while (f->index[k]) {
        const form_field_t *o = &f->fields[f->index[k] - 1];
        if (o->hash == f->fields[i].hash && strcmp(o->name, f->fields[i].name) == 0)
            return;
        k = (k + 1) & (f->index_cap - 1);
    }
    f->index[k] = (unsigned)i + 1;
}

/* The end of the field at p (its '&', or end) and its first '=' (*eq, NULL
 * when none): one scan, eight bytes at a time, instead of two memchr()
 * calls per field (a dialplan request has ~170 fields of ~35 bytes). */
static char *field_end(char *p, char *end, char **eq)
{
    *eq = NULL;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t m = w3_swar_byte(v, '&') | (*eq ? 0 : w3_swar_byte(v, '='));
        if (m == 0) {
            p += 8;
            continue;
        }
        int first = w3_swar_first(m);
        char *hit = p + (first >= 0 ? first : 0);
        while (first < 0 && *hit != '&' && (*eq || *hit != '='))
            hit++;
        if (*hit == '&')
            return hit;
        *eq = hit;
        p = hit + 1;
    }
    for (; p < end; p++) {
        if (*p == '&')
            return p;
        if (*p == '=' && *eq == NULL)
            *eq = p;
    }
    return end;
}

/* One pass over s[0..len), s[len] == '\0': fields split and named in
 * place. Values are decoded when first read (a lookup reads a dozen of
 * ~170). The two arrays (~6 KB and 2 KB for a dialplan request) come from
 * w3_mem's per-thread cache (mem.h). */
static int parse(form_t *f, char *s, size_t len, const char **why)
{
    char *end = s + len;
    size_t cap = len / 32 + 8;
    f->fields = w3_mem_xmalloc(cap * sizeof(*f->fields));
    int rc = 0;
    for (char *p = s; p <= end;) {
        char *eq;
        char *amp = field_end(p, end, &eq);
        *amp = '\0';
        if (amp > p) {
            if (eq == p) {
                *why = "form field without a name";
                rc = -EINVAL;
                break;
            }
            /* a field without '=' has the empty value (its own NUL) */
            char *value = amp;
            size_t nlen = (size_t)(amp - p);
            if (eq != NULL) {
                *eq = '\0';
                value = eq + 1;
                nlen = (size_t)(eq - p);
            }
            if (f->n == cap) {
                cap *= 2;
                f->fields = w3_mem_xrealloc(f->fields, cap * sizeof(*f->fields));
            }
            /* the leading prefix fields are written raw by mod_xml_curl */
            bool raw = f->n < 5 && is_prefix_field(p);
            f->fields[f->n] = (form_field_t){.name = p, .value = value, .undecoded = !raw, .hash = name_hash(p, nlen)};
            f->n++;
        }
        p = amp + 1;
    }
    if (rc == 0) {
        size_t icap = 16;
        while (icap < 2 * f->n)
            icap *= 2;
        f->index = w3_mem_xmalloc(icap * sizeof(*f->index));
        memset(f->index, 0, icap * sizeof(*f->index));
        f->index_cap = icap;
        for (size_t i = 0; i < f->n; i++)
            index_add(f, i);
    }
    return rc;
}

static bool has_nul(const char *s, size_t len, const char **why)
{
    if (memchr(s, '\0', len) == NULL)
        return false;
    *why = "body contains a NUL byte";
    return true;
}

int form_parse(form_t *f, const char *body, size_t len, const char **why)
{
    memset(f, 0, sizeof(*f));
    if (has_nul(body, len, why))
        return -EINVAL;
    f->store = xstrndup(body, len);
    int rc = parse(f, f->store, len, why);
    if (rc != 0)
        form_free(f);
    return rc;
}

int form_parse_in_place(form_t *f, char *buf, size_t len, const char **why)
{
    memset(f, 0, sizeof(*f));
    if (has_nul(buf, len, why))
        return -EINVAL;
    int rc = parse(f, buf, len, why);
    if (rc != 0)
        form_free(f);
    return rc;
}

void form_free(form_t *f)
{
    free(f->store);
    w3_mem_free(f->fields);
    w3_mem_free(f->index);
    memset(f, 0, sizeof(*f));
}

/* Decodes a value the first time it is read. */
static const char *value_of(form_field_t *fl)
{
    if (fl->undecoded) {
        char *pct = strchr(fl->value, '%');
        if (pct != NULL)
            form_pct_decode(pct, strlen(pct));
        fl->undecoded = false;
    }
    return fl->value;
}

const char *form_value(const form_t *f, size_t i)
{
    return i < f->n ? value_of(&f->fields[i]) : NULL;
}

const char *form_get(const form_t *f, const char *name)
{
    const char *v = NULL;
    if (f->index_cap) {
        size_t h = name_hash(name, strlen(name));
        for (size_t k = h & (f->index_cap - 1); f->index[k]; k = (k + 1) & (f->index_cap - 1))
            if (f->fields[f->index[k] - 1].hash == h && strcmp(f->fields[f->index[k] - 1].name, name) == 0) {
                v = value_of(&f->fields[f->index[k] - 1]);
                break;
            }
    } else {
        for (size_t i = 0; i < f->n && v == NULL; i++)
            if (strcmp(f->fields[i].name, name) == 0)
                v = value_of(&f->fields[i]);
    }
    if (f->on_read)
        f->on_read(f->on_read_arg, name, v);
    return v;
}
