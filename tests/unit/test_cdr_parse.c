/* cdr.h in-process: which callflow entry the JSON and the XML parser read.
 *
 * FreeSWITCH 1.10.12 (src/switch_ivr.c, switch_ivr_generate_json_cdr and
 * switch_ivr_generate_xml_cdr) walks the channel's caller-profile list from
 * its head, and switch_channel_set_caller_profile() pushes each new profile
 * (a transfer, an execute_extension) at the head with the next profile_index:
 * the newest entry comes FIRST in both formats. The captures in
 * fixtures/captures/ all have one entry; this test builds, from the real
 * a-leg captures, a CDR with two entries (profile_index 2 in context public,
 * profile_index 1 in context internal) and checks that both parsers read the
 * same one, the newest, in FreeSWITCH's order and in the reverse order. The
 * context is what decides the direction when w3_direction is absent. */
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdr.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

typedef enum { ONE_PROFILE, NEWEST_FIRST, OLDEST_FIRST } shape_t;

static const char *const shape_names[] = {"one profile", "newest first (FreeSWITCH's order)", "oldest first"};

/* Parses body; the record's direction (malloc'd) or NULL, format in fmt. */
static char *parse_direction(const char *body, size_t len, const char *query, char fmt[16])
{
    cdr_rec_t r;
    const char *why = NULL;
    int rc = cdr_parse(body, len, query, &r, &why);
    if (rc != 0) {
        printf("# cdr_parse = %d (%s)\n", rc, why ? why : "?");
        return NULL;
    }
    snprintf(fmt, 16, "%s", r.format);
    char *dir = r.direction ? strdup(r.direction) : NULL;
    cdr_rec_free(&r);
    return dir;
}

/* The JSON a-leg capture without w3_direction, reshaped. */
static char *json_cdr(shape_t shape)
{
    size_t len;
    char *text = h_capture("cdr-json-a-leg.json", &len);
    json_error_t err;
    json_t *doc = json_loadb(text, len, 0, &err);
    free(text);
    if (doc == NULL)
        return NULL;
    json_object_del(json_object_get(doc, "variables"), "w3_direction");
    json_t *cf = json_object_get(doc, "callflow");
    json_t *oldest = json_array_get(cf, 0);
    if (shape != ONE_PROFILE) {
        json_t *newest = json_deep_copy(oldest);
        json_object_set_new(newest, "profile_index", json_string("2"));
        json_t *cp = json_object_get(newest, "caller_profile");
        json_object_set_new(cp, "context", json_string("public"));
        json_object_set_new(cp, "destination_number", json_string("+39061234568"));
        if (shape == NEWEST_FIRST)
            json_array_insert_new(cf, 0, newest);
        else
            json_array_append_new(cf, newest);
    }
    char *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return out;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* The XML a-leg capture (mod_xml_cdr, encode=textxml) without w3_direction,
 * reshaped. */
static char *xml_cdr(shape_t shape, size_t *len)
{
    size_t n;
    char *text = h_capture("cdr-xml-a-leg.xml", &n);
    xmlDocPtr doc = xmlReadMemory(text, (int)n, "cdr.xml", NULL, XML_PARSE_NONET);
    free(text);
    if (doc == NULL)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr dir = child(child(root, "variables"), "w3_direction");
    if (dir) {
        xmlUnlinkNode(dir);
        xmlFreeNode(dir);
    }
    xmlNodePtr oldest = child(root, "callflow");
    if (shape != ONE_PROFILE && oldest) {
        xmlNodePtr newest = xmlDocCopyNode(oldest, doc, 1);
        xmlSetProp(newest, BAD_CAST "profile_index", BAD_CAST "2");
        xmlNodePtr cp = child(newest, "caller_profile");
        xmlNodeSetContent(child(cp, "context"), BAD_CAST "public");
        xmlNodeSetContent(child(cp, "destination_number"), BAD_CAST "+39061234568");
        if (shape == NEWEST_FIRST)
            xmlAddPrevSibling(oldest, newest);
        else
            xmlAddNextSibling(oldest, newest);
    }
    xmlChar *dump = NULL;
    int dlen = 0;
    xmlDocDumpMemory(doc, &dump, &dlen);
    xmlFreeDoc(doc);
    char *out = malloc((size_t)dlen + 1);
    memcpy(out, dump, (size_t)dlen);
    out[dlen] = '\0';
    xmlFree(dump);
    *len = (size_t)dlen;
    return out;
}

/* The document kept as meta_json: the body itself when it is the raw JSON,
 * a copy when it had to be decoded; the same bytes either way. */
static void test_meta_json(void)
{
    size_t len;
    char *text = h_capture("cdr-json-a-leg.json", &len);
    char *exact = malloc(len); /* not NUL-terminated: only len counts */
    memcpy(exact, text, len);
    cdr_rec_t r;
    const char *why = NULL;
    if (ok(cdr_parse(exact, len, "uuid=df2ca423-c52d-4e77-9e81-2211975e94c9", &r, &why) == 0, "raw JSON parsed")) {
        ok(r.meta_json_borrowed && r.meta_json == exact, "raw JSON: meta_json is the body itself, not a copy");
        is_int(r.meta_json_len, len, "... all of it");
        cdr_rec_free(&r);
        ok(r.meta_json == NULL && !r.meta_json_borrowed && r.meta_json_len == 0, "freed: nothing left pointing at it");
    }
    w3_buf_t form = {0};
    w3_buf_adds(&form, "cdr=");
    for (size_t i = 0; i < len; i++)
        w3_buf_printf(&form, "%%%02X", (unsigned char)text[i]);
    if (ok(cdr_parse(form.data, form.len, NULL, &r, &why) == 0, "cdr= %%-encoded JSON parsed")) {
        ok(!r.meta_json_borrowed && r.meta_json != NULL, "decoded: meta_json is its own copy");
        ok(r.meta_json_len == len && memcmp(r.meta_json, text, len) == 0 && r.meta_json[len] == '\0',
           "... holding the same bytes as the raw body");
        cdr_rec_free(&r);
    }
    w3_buf_free(&form);
    free(exact);
    free(text);
}

int main(void)
{
    xmlInitParser();
    test_meta_json();
    /* with one entry: its context (internal) */
    static const char *const want[] = {"internal", "inbound", "inbound"};
    for (shape_t s = ONE_PROFILE; s <= OLDEST_FIRST; s++) {
        char label[160], fmt[16] = "";
        char *j = json_cdr(s);
        ok(j != NULL, "JSON CDR built (%s)", shape_names[s]);
        char *jdir = j ? parse_direction(j, strlen(j), "uuid=df2ca423-c52d-4e77-9e81-2211975e94c9", fmt) : NULL;
        snprintf(label, sizeof(label), "JSON, %s: direction from the newest profile's context", shape_names[s]);
        is_str(jdir, want[s], label);
        is_str(fmt, "json", "parsed as raw JSON");

        size_t xlen = 0;
        char *x = xml_cdr(s, &xlen);
        ok(x != NULL, "XML CDR built (%s)", shape_names[s]);
        if (s != ONE_PROFILE)
            is_int(h_xpath_count(x, xlen, "/cdr/callflow"), 2, "the XML CDR has two callflow entries");
        char *xdir = x ? parse_direction(x, xlen, "uuid=a_b7ddff57-00a9-4fcc-980e-60419326afc5", fmt) : NULL;
        snprintf(label, sizeof(label), "XML, %s: direction from the newest profile's context", shape_names[s]);
        is_str(xdir, want[s], label);
        is_str(fmt, "xml", "parsed as raw XML");
        snprintf(label, sizeof(label), "JSON and XML parsers read the same callflow entry (%s)", shape_names[s]);
        is_str(jdir, xdir, label);
        free(j);
        free(x);
        free(jdir);
        free(xdir);
    }

    /* an entry without profile_index: the first one (FreeSWITCH's newest) */
    const char *noidx = "{\"core-uuid\":\"c\",\"variables\":{\"uuid\":\"u1\"},\"callflow\":["
                        "{\"caller_profile\":{\"context\":\"public\"}},"
                        "{\"caller_profile\":{\"context\":\"internal\"}}]}";
    char fmt[16];
    char *d = parse_direction(noidx, strlen(noidx), NULL, fmt);
    is_str(d, "inbound", "JSON without profile_index: the first entry");
    free(d);
    const char *xnoidx = "<cdr core-uuid=\"c\"><variables><uuid>u1</uuid></variables>"
                         "<callflow><caller_profile><context>public</context></caller_profile></callflow>"
                         "<callflow><caller_profile><context>internal</context></caller_profile></callflow></cdr>";
    d = parse_direction(xnoidx, strlen(xnoidx), NULL, fmt);
    is_str(d, "inbound", "XML without profile_index: the first entry");
    free(d);
    /* a single callflow object (not an array) is read too */
    const char *obj = "{\"core-uuid\":\"c\",\"variables\":{\"uuid\":\"u1\"},"
                      "\"callflow\":{\"profile_index\":\"1\",\"caller_profile\":{\"context\":\"public\"}}}";
    d = parse_direction(obj, strlen(obj), NULL, fmt);
    is_str(d, "inbound", "JSON callflow as one object");
    free(d);

    /* cdr_iso_from_uepoch is a predicate */
    char iso[32];
    ok(cdr_iso_from_uepoch("1764000000123456", iso) == true, "uepoch converts");
    is_str(iso, "2025-11-24T16:00:00.123Z", "ISO-8601 UTC with milliseconds");
    ok(cdr_iso_from_uepoch("0", iso) == false, "0 is not a time");
    ok(cdr_iso_from_uepoch("12x", iso) == false, "garbage is not a time");
    ok(cdr_iso_from_uepoch(NULL, iso) == false, "NULL is not a time");

    /* the conversion against gmtime_r() + strftime(): leap days, century
     * years, the year 10000, the largest value, and 100,000 random ones */
    static const long long edges[] = {1,
                                      999999,
                                      86399999999LL,
                                      86400000000LL,
                                      951782400000000LL,    /* 2000-02-29 */
                                      951868800000000LL,    /* 2000-03-01 */
                                      4107456000000000LL,   /* 2100-02-28 */
                                      4107542400000000LL,   /* 2100-03-01 */
                                      13574563200000000LL,  /* 2400-02-29 */
                                      253402300799999999LL, /* 9999-12-31T23:59:59.999 */
                                      253402300800000000LL, /* 10000-01-01 */
                                      9223372036854775807LL};
    unsigned long long x = 88172645463325252ULL;
    int same = 0, n = 0;
    for (int i = 0; i < 100000 + (int)W3_ARRAY_LEN(edges); i++) {
        long long us;
        if (i < (int)W3_ARRAY_LEN(edges)) {
            us = edges[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* every magnitude, from microseconds to the largest value */
            us = (long long)(x >> (1 + x % 62));
            if (us <= 0)
                us = 1;
        }
        char in[32], ref[48], base[40];
        snprintf(in, sizeof(in), "%lld", us);
        time_t secs = (time_t)(us / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ref, sizeof(ref), "%s.%03dZ", base, (int)((us / 1000) % 1000));
        same += cdr_iso_from_uepoch(in, iso) && strcmp(iso, ref) == 0;
        n++;
        if (same != n) {
            printf("# %s: got %s, gmtime_r says %s\n", in, iso, ref);
            break;
        }
    }
    is_int(same, n, "uepoch to ISO-8601 as gmtime_r() and strftime() write it, on every value tried");

    xmlCleanupParser();
    return tap_done();
}
