#include "cdr.h"

#include <errno.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdr_json.h"
#include "form.h"
#include "util.h"

/* A parsed document seen through one interface, JSON or XML. */
typedef struct view {
    const char *text; /* the JSON text that parsed (kept as meta_json) */
    size_t text_len;
    cdr_json_t *json; /* JSON document (no DOM: jansson's was half the ingest CPU) */
    int vars;         /* its "variables" object */
    xmlDocPtr xml;    /* XML document */
    xmlNodePtr xvars; /* its <variables> */
    int jprof;        /* the current callflow entry's caller_profile (JSON) */
    xmlNodePtr xprof; /* the current <callflow>'s <caller_profile> (XML) */
} view_t;

/* Which callflow entry describes the call. FreeSWITCH (switch_ivr.c,
 * switch_ivr_generate_xml_cdr and switch_ivr_generate_json_cdr) walks the
 * channel's caller-profile list from its head, and switch_channel_set_caller_profile
 * pushes every new profile (transfer, second dialplan pass) at the head with
 * the next profile_index: both formats list the NEWEST profile first. Both
 * parsers take the entry with the highest profile_index (the current one, with
 * the final destination and context), the first entry when none has an index. */
static long profile_index(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    char *end;
    long n = strtol(s, &end, 10);
    return *end == '\0' && n > 0 ? n : 0;
}

/* s[0..n) with every byte that is not part of valid UTF-8 read as Latin-1
 * (0xE9 → U+00E9): FreeSWITCH passes a caller's display name through as the
 * phone sent it, and a CDR must never be lost for one byte. NULL when s is
 * valid already (nothing to repair); else a malloc'd copy, its length in
 * *outn. */
static char *latin1_repair(const char *s, size_t n, size_t *outn)
{
    if (w3_utf8_valid_prefix(s, n) == n)
        return NULL;
    w3_buf_t b = {0};
    w3_buf_add_utf8_repaired(&b, s, n, true);
    *outn = b.len;
    return b.data;
}

/* Decoded variable value (malloc'd) or NULL. */
static char *var(const view_t *v, const char *name)
{
    char *s = NULL;
    if (v->json) {
        s = cdr_json_string(v->json, cdr_json_get(v->json, v->vars, name), NULL);
    } else if (v->xvars) {
        for (xmlNodePtr n = v->xvars->children; n; n = n->next)
            if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
                xmlChar *xraw = xmlNodeGetContent(n);
                s = xraw ? xstrdup((const char *)xraw) : NULL;
                xmlFree(xraw);
                break;
            }
    }
    if (s == NULL || *s == '\0') {
        free(s);
        return NULL;
    }
    size_t n = form_pct_decode(s, strlen(s)), fixed_len;
    char *fixed = latin1_repair(s, n, &fixed_len); /* a %-encoded Latin-1 byte */
    if (fixed) {
        free(s);
        s = fixed;
    }
    return s;
}

static char *profile(const view_t *v, const char *name)
{
    if (v->json) {
        char *s = cdr_json_string(v->json, cdr_json_get(v->json, v->jprof, name), NULL);
        if (s && *s == '\0') {
            free(s);
            s = NULL;
        }
        return s;
    }
    for (xmlNodePtr n = v->xprof ? v->xprof->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
            xmlChar *c = xmlNodeGetContent(n);
            char *s = c && *c ? xstrdup((const char *)c) : NULL;
            xmlFree(c);
            return s;
        }
    return NULL;
}

/* Writes v in decimal, at least width digits; returns the end. */
static char *put_num(char *p, long long v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n < width)
        tmp[n++] = '0';
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
 * civil_from_days): gmtime_r() and strftime() cost three times a CDR's
 * share of this, for three timestamps per leg. */
static void civil(long long days, long long *y, int *m, int *d)
{
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

bool cdr_iso_from_uepoch(const char *uepoch, char out[32])
{
    if (uepoch == NULL)
        return false;
    char *end;
    long long us = strtoll(uepoch, &end, 10);
    if (*end || us <= 0)
        return false;
    long long secs = us / 1000000, days = secs / 86400, rem = secs % 86400, y;
    int m, d;
    civil(days, &y, &m, &d);
    /* at most 292278-12-31T23:59:59.999Z: 26 bytes and the NUL */
    char *p = put_num(out, y, 4);
    *p++ = '-';
    p = put_num(p, m, 2);
    *p++ = '-';
    p = put_num(p, d, 2);
    *p++ = 'T';
    p = put_num(p, rem / 3600, 2);
    *p++ = ':';
    p = put_num(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_num(p, rem % 60, 2);
    *p++ = '.';
    p = put_num(p, us / 1000 % 1000, 3);
    *p++ = 'Z';
    *p = '\0';
    return true;
}

static char *iso(const view_t *v, const char *name)
{
    char *u = var(v, name);
    char buf[32];
    bool ok = cdr_iso_from_uepoch(u, buf);
    free(u);
    return ok ? xstrdup(buf) : NULL;
}

static char *with_sip(char *uri)
{
    if (uri == NULL || strncmp(uri, "sip:", 4) == 0)
        return uri;
    size_t n = strlen(uri);
    char *s = xmalloc(n + 5);
    memcpy(s, "sip:", 4);
    memcpy(s + 4, uri, n + 1);
    free(uri);
    return s;
}

static const char *disposition(bool answered, const char *cause)
{
    if (answered)
        return "ANSWERED";
    if (cause == NULL)
        return "FAILED";
    if (strcmp(cause, "USER_BUSY") == 0)
        return "BUSY";
    static const char *const no_answer[] = {"NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL", "ALLOTTED_TIMEOUT",
                                            "NORMAL_CLEARING"};
    for (size_t i = 0; i < W3_ARRAY_LEN(no_answer); i++)
        if (strcmp(cause, no_answer[i]) == 0)
            return "NO ANSWER";
    return "FAILED";
}

static void fill(const view_t *v, const char *query, cdr_rec_t *r)
{
    r->fs_uuid = var(v, "uuid");
    if (r->fs_uuid == NULL && query) {
        /* ?uuid=<uuid> (mod_json_cdr) or ?uuid=a_<uuid> (prefix-a-leg) */
        const char *q = strstr(query, "uuid=");
        if (q) {
            q += 5;
            if (strncmp(q, "a_", 2) == 0 || strncmp(q, "b_", 2) == 0)
                q += 2;
            r->fs_uuid = xstrndup(q, strcspn(q, "&"));
        }
    }
    char *orig = var(v, "originating_leg_uuid");
    r->leg = xstrdup(orig ? "B" : "A");
    r->call_id = orig ? orig : (r->fs_uuid ? xstrdup(r->fs_uuid) : NULL);
    r->sip_call_id = var(v, "sip_call_id");
    r->from_uri = with_sip(var(v, "sip_from_uri"));
    r->to_uri = with_sip(var(v, "sip_req_uri"));
    r->did_e164 = var(v, "w3_did");
    r->ext_number = var(v, "w3_ext");
    r->user_id = var(v, "user_id");
    r->start_ts = iso(v, "start_uepoch");
    r->answer_ts = iso(v, "answer_uepoch");
    r->end_ts = iso(v, "end_uepoch");
    char *billsec = var(v, "billsec");
    r->billsec = billsec ? strtol(billsec, NULL, 10) : 0;
    if (r->billsec < 0)
        r->billsec = 0;
    free(billsec);
    r->hangup_cause = var(v, "hangup_cause");
    char *gen = var(v, "w3_config_gen"), *end = NULL;
    r->config_gen = -1;
    if (gen) {
        long long g = strtoll(gen, &end, 10);
        if (*gen && *end == '\0' && g >= 0)
            r->config_gen = g;
        free(gen);
    }
    r->disposition = xstrdup(disposition(r->answer_ts != NULL, r->hangup_cause));
    r->recording_url = var(v, "w3_recording_url");
    char *dir = var(v, "w3_direction");
    if (dir && (strcmp(dir, "inbound") == 0 || strcmp(dir, "outbound") == 0 || strcmp(dir, "internal") == 0)) {
        r->direction = dir;
    } else {
        free(dir);
        char *ctx = profile(v, "context");
        r->direction = xstrdup(ctx && strcmp(ctx, "public") == 0 ? "inbound" : "internal");
        free(ctx);
    }
    r->claim_tenant_id = var(v, "tenant_id");
    r->claim_store_id = var(v, "store_id");
    r->claim_sip_domain = var(v, "sip_domain");
    r->auth_domain = var(v, "domain_name");
    r->gateway = var(v, "sip_gateway");
    if (r->gateway == NULL)
        r->gateway = var(v, "sip_gateway_name");
}

static int parse_json(const char *text, size_t len, view_t *v, const char **why)
{
    const char *syntax;
    v->text = text;
    v->text_len = len;
    v->vars = v->jprof = CDR_JSON_NONE;
    /* jansson, and so cdr_json, accepts one NUL byte right after a number
     * or a literal; meta_json is a C string, cut there, and would no longer
     * parse as JSON: refused like any other bad body */
    if (memchr(text, '\0', len)) {
        *why = "JSON CDR with a NUL byte";
        return -EINVAL;
    }
    if (cdr_json_parse(text, len, &v->json, &syntax) != 0) {
        *why = "body is not a JSON object";
        return -EINVAL;
    }
    cdr_json_t *d = v->json;
    v->vars = cdr_json_get(d, CDR_JSON_ROOT, "variables");
    int cf = cdr_json_get(d, CDR_JSON_ROOT, "callflow");
    if (cdr_json_type(d, cf) == CDR_JSON_OBJECT) { /* one entry, not in an array */
        v->jprof = cdr_json_get(d, cf, "caller_profile");
    } else if (cdr_json_type(d, cf) == CDR_JSON_ARRAY) {
        long best = -1;
        for (int e = cdr_json_next(d, cf, CDR_JSON_NONE); e != CDR_JSON_NONE; e = cdr_json_next(d, cf, e)) {
            char *idx = cdr_json_string(d, cdr_json_get(d, e, "profile_index"), NULL);
            long n = profile_index(idx);
            free(idx);
            if (n > best) {
                best = n;
                v->jprof = cdr_json_get(d, e, "caller_profile");
            }
        }
    }
    if (cdr_json_type(d, v->vars) != CDR_JSON_OBJECT ||
        cdr_json_type(d, cdr_json_get(d, CDR_JSON_ROOT, "core-uuid")) != CDR_JSON_STRING) {
        *why = "JSON CDR without core-uuid or variables";
        return -EINVAL;
    }
    return 0;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static int parse_xml(const char *text, size_t len, view_t *v, const char **why)
{
    v->xml = xmlReadMemory(text, (int)len, "cdr.xml", NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOENT * 0);
    xmlNodePtr root = v->xml ? xmlDocGetRootElement(v->xml) : NULL;
    if (root == NULL || strcmp((const char *)root->name, "cdr") != 0) {
        *why = "body is not an XML <cdr> document";
        return -EINVAL;
    }
    v->xvars = child(root, "variables");
    long best = -1;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "callflow") != 0)
            continue;
        xmlChar *idx = xmlGetProp(c, BAD_CAST "profile_index");
        long n = profile_index((const char *)idx);
        xmlFree(idx);
        if (n > best) {
            best = n;
            v->xprof = child(c, "caller_profile");
        }
    }
    xmlChar *core = xmlGetProp(root, BAD_CAST "core-uuid");
    bool ok = core != NULL && v->xvars != NULL;
    xmlFree(core);
    if (!ok) {
        *why = "XML CDR without core-uuid or variables";
        return -EINVAL;
    }
    return 0;
}

/* Standard base64 (raw '+' and '/'), whitespace ignored. */
static char *b64_decode(const char *s, size_t n, size_t *outlen)
{
    char *clean = xmalloc(n + 4);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ')
            clean[k++] = s[i];
    while (k % 4)
        clean[k++] = '=';
    char *out = xmalloc(k / 4 * 3 + 1);
    int len = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)k);
    if (len < 0) {
        free(clean);
        free(out);
        return NULL;
    }
    for (size_t i = k; i > 0 && clean[i - 1] == '=' && len > 0; i--)
        len--;
    free(clean);
    out[len] = '\0';
    *outlen = (size_t)len;
    return out;
}

static void view_free(view_t *v)
{
    cdr_json_destroy(v->json);
    if (v->xml)
        xmlFreeDoc(v->xml);
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Parses the text of a document (JSON or XML) after repairing its bytes;
 * *fixed keeps the repaired copy alive as long as the view needs it. */
static int parse_doc(bool json, const char *text, size_t len, view_t *v, char **fixed, bool *repaired, const char **why)
{
    /* A JSON text the parser accepts is valid UTF-8 already (it checks every
     * string, and nothing else may hold a byte above 0x7F or follow the
     * object): the repair pass over the 12 KB runs only when it fails. */
    if (json) {
        int rc = parse_json(text, len, v, why);
        if (rc == 0 || w3_utf8_valid_prefix(text, len) == len)
            return rc;
        view_free(v);
        v->json = NULL;
    }
    size_t n = 0;
    char *copy = latin1_repair(text, len, &n);
    if (copy) {
        free(*fixed);
        *fixed = copy;
        *repaired = true;
        text = copy;
        len = n;
    }
    return json ? parse_json(text, len, v, why) : parse_xml(text, len, v, why);
}

int cdr_parse(const char *body, size_t len, const char *query, cdr_rec_t *r, const char **why)
{
    view_t v = {0};
    char *decoded = NULL, *fixed = NULL;
    bool repaired = false;
    size_t dlen = 0;
    int rc = -EINVAL;
    const char *end = body + len;
    const char *p = skip_ws(body, end);
    memset(r, 0, sizeof(*r));
    *why = "unrecognised CDR body (expected JSON, XML or a cdr= form)";

    if (p < end && *p == '{') {
        r->format = "json";
        rc = parse_doc(true, p, (size_t)(end - p), &v, &fixed, &repaired, why);
    } else if (p < end && *p == '<') {
        r->format = "xml";
        rc = parse_doc(false, p, (size_t)(end - p), &v, &fixed, &repaired, why);
    } else if ((size_t)(end - p) > 4 && strncmp(p, "cdr=", 4) == 0) {
        const char *val = p + 4;
        size_t vlen = (size_t)(end - val);
        const char *amp = memchr(val, '&', vlen);
        if (vlen >= 1 && *val == '<') {
            /* encode=false: raw XML, not form-safe: everything after cdr= */
            r->format = "xml-form-raw";
            rc = parse_doc(false, val, vlen, &v, &fixed, &repaired, why);
        } else if (vlen >= 3 && (strncasecmp(val, "%7B", 3) == 0 || strncasecmp(val, "%3C", 3) == 0)) {
            if (amp)
                vlen = (size_t)(amp - val);
            decoded = xstrndup(val, vlen);
            dlen = form_pct_decode(decoded, vlen);
            const char *d = skip_ws(decoded, decoded + dlen);
            if (*d == '{') {
                r->format = "json-form";
                rc = parse_doc(true, d, dlen - (size_t)(d - decoded), &v, &fixed, &repaired, why);
                if (rc)
                    *why = "cdr= form does not decode to JSON (json_cdr encode=true with encode-values=true "
                           "produces such bodies: use the raw default)";
            } else {
                r->format = "xml-form";
                rc = parse_doc(false, d, dlen - (size_t)(d - decoded), &v, &fixed, &repaired, why);
            }
        } else {
            if (amp)
                vlen = (size_t)(amp - val);
            decoded = b64_decode(val, vlen, &dlen);
            const char *d = decoded ? skip_ws(decoded, decoded + dlen) : NULL;
            if (d && *d == '{') {
                r->format = "json-base64";
                rc = parse_doc(true, d, dlen - (size_t)(d - decoded), &v, &fixed, &repaired, why);
            } else if (d && *d == '<') {
                r->format = "xml-base64";
                rc = parse_doc(false, d, dlen - (size_t)(d - decoded), &v, &fixed, &repaired, why);
            } else {
                *why = "cdr= value is neither %-encoded nor base64 JSON/XML";
            }
        }
    }
    if (rc == 0) {
        fill(&v, query, r);
        if (r->fs_uuid == NULL || r->call_id == NULL) {
            *why = "CDR without a leg uuid";
            rc = -EINVAL;
        }
    }
    if (rc == 0) {
        if (v.json) {
            r->fs_core_uuid = cdr_json_string(v.json, cdr_json_get(v.json, CDR_JSON_ROOT, "core-uuid"), NULL);
            /* the text as received: it parsed, so it is JSON, and
             * re-serialising it cost a fifth of the ingest CPU; not even
             * copied when it is the caller's body itself */
            if (v.text >= body && v.text + v.text_len == body + len) {
                r->meta_json = (char *)v.text;
                r->meta_json_borrowed = true;
            } else {
                r->meta_json = xstrndup(v.text, v.text_len);
            }
            r->meta_json_len = v.text_len;
        } else {
            xmlChar *core = xmlGetProp(xmlDocGetRootElement(v.xml), BAD_CAST "core-uuid");
            r->fs_core_uuid = xstrdup((const char *)core);
            xmlFree(core);
            /* the XML document itself, kept as a JSON string */
            xmlChar *dump = NULL;
            int n = 0;
            xmlDocDumpMemory(v.xml, &dump, &n);
            json_t *s = json_stringn((const char *)dump, (size_t)n);
            json_t *o = json_pack("{s:s,s:o}", "format", "xml", "document", s ? s : json_null());
            r->meta_json = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            xmlFree(dump);
            W3_CHECK_ALLOC(r->meta_json);
            r->meta_json_len = strlen(r->meta_json);
        }
        if (repaired) { /* the bytes as received, beside the repaired text */
            r->raw_body = xmalloc(len ? len : 1);
            memcpy(r->raw_body, body, len);
            r->raw_body_len = len;
        }
    } else {
        cdr_rec_free(r);
    }
    free(fixed);
    free(decoded);
    view_free(&v);
    return rc;
}

void cdr_rec_free(cdr_rec_t *r)
{
    if (r->meta_json_borrowed) {
        r->meta_json = NULL;
        r->meta_json_borrowed = false;
    }
    r->meta_json_len = 0;
    char **f[] = {&r->fs_core_uuid,     &r->fs_uuid,      &r->leg,       &r->call_id,         &r->sip_call_id,
                  &r->direction,        &r->from_uri,     &r->to_uri,    &r->did_e164,        &r->ext_number,
                  &r->user_id,          &r->start_ts,     &r->answer_ts, &r->end_ts,          &r->disposition,
                  &r->recording_url,    &r->hangup_cause, &r->meta_json, &r->claim_tenant_id, &r->claim_store_id,
                  &r->claim_sip_domain, &r->auth_domain,  &r->gateway};
    for (size_t i = 0; i < W3_ARRAY_LEN(f); i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
    free(r->raw_body);
    r->raw_body = NULL;
    r->raw_body_len = 0;
}
