/* form.h: the mod_xml_curl body decoder (SPEC §6 "Decoding"). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "form.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

/* Parses a NUL-terminated body; the caller frees the form. */
static int parse(form_t *f, const char *body)
{
    const char *why = NULL;
    int rc = form_parse(f, body, strlen(body), &why);
    if (rc != 0)
        printf("# form_parse(\"%s\") = %d (%s)\n", body, rc, why ? why : "?");
    return rc;
}

/* Value of name in body (decoded by the library), compared with want. */
static void check_get(const char *body, const char *name, const char *want, const char *label)
{
    form_t f;
    int rc = parse(&f, body);
    if (!is_int(rc, 0, label)) {
        form_free(&f);
        return;
    }
    is_str(form_get(&f, name), want, label);
    form_free(&f);
}

/* Reference decoder, written independently of the library: %XX once, with
 * hex digits of either case; %00 and any other sequence stay literal. */
static char *ref_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        static const char hex[] = "0123456789abcdef0123456789ABCDEF";
        const char *a = NULL, *b = NULL;
        if (s[r] == '%' && r + 2 < n && s[r + 1] && s[r + 2] && (a = strchr(hex, s[r + 1])) != NULL &&
            (b = strchr(hex, s[r + 2])) != NULL) {
            int hi = (int)((a - hex) % 16), lo = (int)((b - hex) % 16);
            if (hi || lo) {
                out[w++] = (char)(hi * 16 + lo);
                r += 2;
                continue;
            }
        }
        out[w++] = s[r];
    }
    out[w] = '\0';
    return out;
}

/* Runs fn in a child process so a crash in the library is reported as one
 * failing check (with the signal) instead of ending the whole test program. */
static void in_child(int (*fn)(void), const char *label)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int st = 0;
    waitpid(pid, &st, 0);
    if (!ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", label)) {
        if (WIFSIGNALED(st))
            printf("#   the child was killed by signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
            printf("#   the child exited with %d\n", WEXITSTATUS(st));
    }
}

/* A field without '=' after the prefix fields: its value is "". */
static int child_field_without_eq(void)
{
    form_t f;
    const char *why = NULL;
    static const char body[] = "a=1&flag&b=2";
    if (form_parse(&f, body, strlen(body), &why) != 0)
        return 2;
    int bad = 0;
    const char *v = form_get(&f, "flag");
    if (v == NULL || strcmp(v, "") != 0)
        bad |= 4;
    v = form_get(&f, "b");
    if (v == NULL || strcmp(v, "2") != 0)
        bad |= 8;
    if (f.n != 3)
        bad |= 16;
    form_free(&f);
    return bad;
}

static int child_field_without_eq_last(void)
{
    form_t f;
    const char *why = NULL;
    static const char body[] = "hostname=vm&section=directory&tag_name=&key_name=&key_value=&Event-Name=X&lonely";
    if (form_parse(&f, body, strlen(body), &why) != 0)
        return 2;
    const char *v = form_get(&f, "lonely");
    int bad = (v == NULL || strcmp(v, "") != 0) ? 4 : 0;
    form_free(&f);
    return bad;
}

static void test_decoding(void)
{
    check_get("v=abc", "v", "abc", "plain value");
    check_get("v=50%2525", "v", "50%25", "%2525 decodes exactly once to %25");
    check_get("v=100%25", "v", "100%", "%25 decodes to %");
    check_get("v=a+b", "v", "a+b", "'+' stays literal (not a space)");
    check_get("v=%2B39061234568", "v", "+39061234568", "%2B decodes to '+'");
    check_get("v=%2b39", "v", "+39", "lower-case hex decodes too");
    check_get("v=a%20b", "v", "a b", "%20 is a space");
    check_get("v=%ZZ", "v", "%ZZ", "invalid escape %ZZ stays literal");
    check_get("v=x%G1y", "v", "x%G1y", "invalid escape %G1 stays literal");
    check_get("v=x%4", "v", "x%4", "trailing %4 stays literal");
    check_get("v=x%", "v", "x%", "trailing % stays literal");
    check_get("v=a%00b", "v", "a%00b", "%00 stays literal (no NUL cut)");
    check_get("v=%%41", "v", "%A", "'%' before a valid escape: only the escape decodes");
    check_get("v=%C3%A9", "v", "\xC3\xA9", "UTF-8 bytes decode");
    check_get("v=a%0D%0Ab", "v", "a\r\nb", "%0D%0A decodes to CRLF");
    check_get("v=%26x%3Dy", "v", "&x=y", "encoded & and = are data");
    check_get("v=b=c", "v", "b=c", "split on the first '=' only");
    check_get("a=1&v=", "v", "", "empty value gives \"\"");
    check_get("hostname=vm&section=directory&tag_name=&key_name=&key_value=", "tag_name", "", "tag_name= gives \"\"");
    check_get("a=1&a=2", "a", "1", "duplicate name: the first wins");
    check_get("a=%41&a=B", "a", "A", "duplicate name: the first wins (decoded)");
    check_get("Ab=1&ab=2", "ab", "2", "names are case-sensitive");
    check_get("a=1&b=2", "c", NULL, "absent name gives NULL");

    /* form_pct_decode directly */
    char buf[32];
    strcpy(buf, "%41%42c");
    is_int(form_pct_decode(buf, strlen(buf)), 3, "form_pct_decode returns the new length");
    is_str(buf, "ABc", "form_pct_decode decodes in place");
    strcpy(buf, "%4");
    is_int(form_pct_decode(buf, 2), 2, "form_pct_decode keeps a short escape");
    is_str(buf, "%4", "form_pct_decode: %4 literal");
    strcpy(buf, "%41%42");
    is_int(form_pct_decode(buf, 3), 1, "form_pct_decode honours len (stops at 3 bytes)");
    is_str(buf, "A", "form_pct_decode terminates at the new length");
    strcpy(buf, "%00%");
    is_int(form_pct_decode(buf, 4), 4, "form_pct_decode: %00 and a lone % kept");
    is_str(buf, "%00%", "form_pct_decode: %00% unchanged");
    /* form_pct_decode_nul: the same, %00 decoded (route_prov refuses it, the event socket cuts there) */
    memcpy(buf, "a%00b%2b%4", 11);
    is_int(form_pct_decode_nul(buf, 10), 6, "form_pct_decode_nul decodes %00 too");
    ok(memcmp(buf, "a\0b+%4", 7) == 0,
       "form_pct_decode_nul: a NUL inside, %%2b decoded, a short escape kept, terminated");
}

static void test_structure(void)
{
    form_t f;
    is_int(parse(&f, ""), 0, "empty body parses");
    is_int(f.n, 0, "empty body has no fields");
    form_free(&f);

    is_int(parse(&f, "&&a=1&&b=2&"), 0, "empty segments are skipped");
    is_int(f.n, 2, "two fields from &&a=1&&b=2&");
    is_str(f.n == 2 ? f.fields[1].name : NULL, "b", "field order kept");
    form_free(&f);

    /* a field without '=' (among the leading prefix fields) */
    is_int(parse(&f, "hostname&section=directory"), 0, "prefix field without '=' parses");
    is_str(form_get(&f, "hostname"), "", "prefix field without '=' gives \"\"");
    is_str(form_get(&f, "section"), "directory", "following field intact");
    form_free(&f);

    /* later fields without '=' (run in a child: a crash must not hide the rest) */
    in_child(child_field_without_eq, "a=1&flag&b=2: field without '=' gives \"\" (no crash)");
    in_child(child_field_without_eq_last, "last field without '=' after the prefix gives \"\" (no crash)");

    /* the body is copied: the caller's buffer is not modified */
    char body[] = "a=%41&b=c";
    is_int(parse(&f, body), 0, "parse of a stack buffer");
    is_str(body, "a=%41&b=c", "form_parse does not modify the caller's body");
    is_str(form_get(&f, "a"), "A", "and decodes into its own copy");
    form_free(&f);

    /* the length is honoured: bytes past len are ignored */
    const char *why = NULL;
    is_int(form_parse(&f, "a=1&b=2", 3, &why), 0, "parse with len 3");
    is_int(f.n, 1, "only the first len bytes are read");
    is_str(form_get(&f, "a"), "1", "a=1 within len");
    form_free(&f);
}

static void test_prefix_fields(void)
{
    form_t f;
    const char *body = "hostname=h%41&section=dir%20x&tag_name=t%2B&key_name=k%25&key_value=x%20y"
                       "&Event-Name=E%20N&key_value=z%20w&hostname=q%41";
    is_int(parse(&f, body), 0, "prefix body parses");
    is_str(form_get(&f, "hostname"), "h%41", "hostname (field 1) not decoded");
    is_str(form_get(&f, "section"), "dir%20x", "section (field 2) not decoded");
    is_str(form_get(&f, "tag_name"), "t%2B", "tag_name (field 3) not decoded");
    is_str(form_get(&f, "key_name"), "k%25", "key_name (field 4) not decoded");
    is_str(form_get(&f, "key_value"), "x%20y", "key_value (field 5) not decoded");
    is_str(form_get(&f, "Event-Name"), "E N", "field 6 decoded");
    is_int(f.n, 8, "eight fields");
    if (f.n == 8) {
        is_str(f.fields[6].name, "key_value", "later key_value kept as field 7");
        is_str(form_value(&f, 6), "z w", "a later key_value is decoded");
        is_str(form_value(&f, 7), "qA", "a later hostname is decoded");
    }
    form_free(&f);

    /* a prefix name past the fifth field is decoded even when it is the first of its name */
    is_int(parse(&f, "a=1&b=2&c=3&d=4&e=5&key_value=x%20y"), 0, "prefix name at field 6 parses");
    is_str(form_get(&f, "key_value"), "x y", "key_value at field 6 is decoded");
    form_free(&f);

    /* a non-prefix name among the first five is decoded */
    is_int(parse(&f, "hostname=vm&cdr=%7B%7D"), 0, "non-prefix field among the first five parses");
    is_str(form_get(&f, "cdr"), "{}", "non-prefix field among the first five is decoded");
    form_free(&f);
}

static void test_errors(void)
{
    form_t f;
    const char *why = NULL;
    static const char nul[] = "a=1\0b=2";
    is_int(form_parse(&f, nul, sizeof(nul) - 1, &why), -EINVAL, "body with a NUL byte: -EINVAL");
    ok(why != NULL && *why != '\0', "NUL byte: why is set (%s)", why ? why : "(null)");
    is_int(f.n, 0, "NUL byte: no fields");
    form_free(&f);

    why = NULL;
    is_int(form_parse(&f, "=x", 2, &why), -EINVAL, "\"=x\": -EINVAL");
    ok(why != NULL && *why != '\0', "\"=x\": why is set (%s)", why ? why : "(null)");
    form_free(&f);

    why = NULL;
    is_int(form_parse(&f, "a=1&b=2&=x&c=3", 14, &why), -EINVAL, "a later nameless field: -EINVAL");
    ok(why != NULL, "nameless field: why is set");
    ok(f.fields == NULL && f.store == NULL && f.n == 0, "failed parse leaves an empty form");
    form_free(&f);

    why = NULL;
    is_int(form_parse(&f, "=", 1, &why), -EINVAL, "\"=\": -EINVAL");
    form_free(&f);
}

struct known {
    const char *file, *name, *value;
};

static const struct known known[] = {
    {"directory-sip_auth-register.form", "hostname", "vm"},
    {"directory-sip_auth-register.form", "section", "directory"},
    {"directory-sip_auth-register.form", "tag_name", "domain"},
    {"directory-sip_auth-register.form", "key_name", "name"},
    {"directory-sip_auth-register.form", "key_value", "tenantA.edvoip.it"},
    {"directory-sip_auth-register.form", "action", "sip_auth"},
    {"directory-sip_auth-register.form", "user", "100"},
    {"directory-sip_auth-register.form", "domain", "tenantA.edvoip.it"},
    {"directory-sip_auth-register.form", "sip_auth_uri", "sip:127.0.0.1:5060"},
    {"directory-sip_auth-register.form", "Event-Date-Local", "2026-11-25 12:13:50"},
    {"directory-sip_auth-register.form", "Event-Date-GMT", "Wed, 25 Nov 2026 12:13:50 GMT"},
    {"directory-sip_auth-register.form", "FreeSWITCH-IPv6", "fd00::2"},
    {"directory-sip_auth-register.form", "sip_call_id", "1-6841@127.0.0.1"},
    {"directory-sip_auth-register.form", "sip_auth_method", "REGISTER"},
    {"directory-sip_auth-register.form", "ip", "127.0.0.1"},
    {"directory-gateways.form", "tag_name", ""},
    {"directory-gateways.form", "key_name", ""},
    {"directory-gateways.form", "key_value", ""},
    {"directory-gateways.form", "purpose", "gateways"},
    {"directory-gateways.form", "profile", "external"},
    {"directory-user_call.form", "action", "user_call"},
    {"directory-user_call.form", "export_vars", "tenant_id,store_id,sip_domain,w3_direction,w3_ext"},
    {"directory-user_call.form", "tenant_id", "a0000000-0000-4000-8000-00000000000a"},
    {"directory-user_call.form", "user", "101"},
    {"dialplan-public-did.form", "section", "dialplan"},
    {"dialplan-public-did.form", "Hunt-Destination-Number", "+39061234568"},
    {"dialplan-public-did.form", "variable_sip_to_user", "+39061234568"},
    {"dialplan-public-did.form", "Caller-Context", "public"},
    {"dialplan-public-did.form", "Channel-Name", "sofia/external/0611112222@127.0.0.1:5091"},
    {"dialplan-public-did-noplus.form", "Hunt-Destination-Number", "39061234568"},
    {"dialplan-internal-ext.form", "Hunt-Context", "internal"},
    {"dialplan-internal-ext.form", "Hunt-Destination-Number", "101"},
    {"dialplan-internal-ext.form", "variable_sip_authorized", "true"},
    {"dialplan-internal-ext.form", "variable_user_name", "100"},
    {"dialplan-internal-ext.form", "variable_domain_name", "tenantA.edvoip.it"},
    {"dialplan-internal-ext.form", "variable_user_id", "a1000000-0000-4000-8000-000000000100"},
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_captures(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/captures", h_env("W3_FIXTURES"));
    DIR *d = opendir(dir);
    if (!ok(d != NULL, "captures directory opens (%s)", dir))
        return;
    char *names[256];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nn < 256) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".form") == 0 &&
            (strncmp(e->d_name, "directory-", 10) == 0 || strncmp(e->d_name, "dialplan-", 9) == 0))
            names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof(names[0]), name_cmp);
    ok(nn >= 20, "at least 20 directory/dialplan captures found (%zu)", nn);

    for (size_t i = 0; i < nn; i++) {
        char rel[600];
        size_t len = 0;
        snprintf(rel, sizeof(rel), "captures/%s", names[i]);
        char *body = h_fixture(rel, &len);
        form_t f;
        const char *why = NULL;
        int rc = form_parse(&f, body, len, &why);
        if (!is_int(rc, 0, names[i])) {
            free(body);
            continue;
        }
        /* the five prefix fields, in order, raw */
        static const char *const prefix[] = {"hostname", "section", "tag_name", "key_name", "key_value"};
        bool prefix_ok = f.n >= 5;
        for (size_t k = 0; prefix_ok && k < 5; k++)
            prefix_ok = strcmp(f.fields[k].name, prefix[k]) == 0;
        ok(prefix_ok, "%s: the first five fields are the prefix fields", names[i]);
        const char *want_section = strncmp(names[i], "directory-", 10) == 0 ? "directory" : "dialplan";
        is_str(form_get(&f, "section"), want_section, names[i]);
        is_str(form_get(&f, "hostname"), "vm", names[i]);

        /* every field: count and value equal an independent decode of the raw text */
        size_t fields = 0, mismatches = 0;
        const char *p = body;
        while (p != NULL && p < body + len) {
            const char *amp = memchr(p, '&', (size_t)(body + len - p));
            size_t flen = amp ? (size_t)(amp - p) : (size_t)(body + len - p);
            if (flen > 0) {
                const char *eq = memchr(p, '=', flen);
                size_t nlen = eq ? (size_t)(eq - p) : flen;
                const char *raw = eq ? eq + 1 : p + flen;
                size_t vlen = eq ? flen - nlen - 1 : 0;
                char *want = fields < 5 ? strndup(raw, vlen) : ref_decode(raw, vlen);
                if (fields >= f.n || strlen(f.fields[fields].name) != nlen ||
                    strncmp(f.fields[fields].name, p, nlen) != 0 || strcmp(form_value(&f, fields), want) != 0) {
                    if (mismatches == 0)
                        printf("# %s field %zu: got '%s', want '%s'\n", names[i], fields,
                               fields < f.n ? form_value(&f, fields) : "(none)", want);
                    mismatches++;
                }
                free(want);
                fields++;
            }
            p = amp ? amp + 1 : NULL;
        }
        is_int(f.n, fields, "field count equals the '&'-separated segments");
        is_int(mismatches, 0, "every value equals an independent once-decode");
        for (size_t k = 0; k < W3_ARRAY_LEN(known); k++) {
            if (strcmp(known[k].file, names[i]) != 0)
                continue;
            char label[300];
            snprintf(label, sizeof(label), "%s: %s", names[i], known[k].name);
            is_str(form_get(&f, known[k].name), known[k].value, label);
        }
        form_free(&f);
        free(body);
    }
    /* every known value's file was seen */
    size_t missing = 0;
    for (size_t k = 0; k < W3_ARRAY_LEN(known); k++) {
        bool seen = false;
        for (size_t i = 0; i < nn; i++)
            seen |= strcmp(known[k].file, names[i]) == 0;
        missing += !seen;
    }
    is_int(missing, 0, "every capture with known values was decoded");
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
}

/* The name index: every one of 500 names found, the first of a repeated
 * one, and names that are not there (some hashing alike) absent. */
static void test_index(void)
{
    w3_buf_t b = {0};
    for (int i = 0; i < 500; i++)
        w3_buf_printf(&b, "%sname%d=v%d", i ? "&" : "", i, i);
    w3_buf_adds(&b, "&name7=later");
    form_t f;
    const char *why = NULL;
    int rc = form_parse(&f, b.data, b.len, &why);
    int found = 0, absent = 0;
    for (int i = 0; rc == 0 && i < 500; i++) {
        char n[16], v[16];
        snprintf(n, sizeof(n), "name%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        found += form_get(&f, n) && strcmp(form_get(&f, n), v) == 0;
        snprintf(n, sizeof(n), "Name%d", i);
        absent += form_get(&f, n) == NULL;
    }
    ok(rc == 0 && found == 500 && absent == 500, "500 fields: each name found with its value (%d), others absent (%d)",
       found, absent);
    is_str(rc == 0 ? form_get(&f, "name7") : NULL, "v7", "  ...a repeated name gives its first value");
    form_free(&f);
    w3_buf_free(&b);
}

/* The split, checked against the plain definition (fields between '&',
 * the name before the first '='), on 20,000 bodies drawn from an alphabet
 * where '&' and '=' are frequent, of every length across the 8-byte
 * steps of the scanner. */
static void test_split_differential(void)
{
    static const char alphabet[] = "gh=&=&x%";
    unsigned seed = 12345;
    int agree = 0, runs = 0;
    for (int run = 0; run < 20000; run++) {
        char body[80];
        size_t len = (size_t)(run % 70);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            body[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        body[len] = '\0';
        /* the reference: every non-empty field, its name and raw value */
        char names[80][80], values[80][80];
        int want = 0;
        bool bad = false;
        for (size_t i = 0; i <= len;) {
            size_t j = i;
            while (j < len && body[j] != '&')
                j++;
            if (j > i) {
                size_t e = i;
                while (e < j && body[e] != '=')
                    e++;
                bad = bad || e == i;
                snprintf(names[want], sizeof(names[want]), "%.*s", (int)(e - i), body + i);
                snprintf(values[want], sizeof(values[want]), "%.*s", e < j ? (int)(j - e - 1) : 0,
                         e < j ? body + e + 1 : "");
                want++;
            }
            i = j + 1;
        }
        form_t f;
        const char *why = NULL;
        int rc = form_parse(&f, body, len, &why);
        bool same = (rc == 0) == !bad;
        if (rc == 0) {
            same = same && (int)f.n == want;
            /* raw values: '%' decoding is checked elsewhere; here no '%' is
             * followed by two hex digits, so a value reads as written */
            for (int k = 0; same && k < want; k++)
                same = strcmp(f.fields[k].name, names[k]) == 0 && strcmp(form_value(&f, (size_t)k), values[k]) == 0;
            form_free(&f);
        }
        agree += same;
        runs++;
    }
    is_int(agree, runs, "20,000 random bodies split as the plain definition splits them");
}

int main(void)
{
    test_split_differential();
    test_index();
    test_decoding();
    test_structure();
    test_prefix_fields();
    test_errors();
    test_captures();
    return tap_done();
}
