/* server/ingest/cdr_json.h against jansson 2.14 (json_loadb, flags 0), the
 * parser it replaced in cdr.c: the stored meta_json is the raw text, parsed
 * again with jansson elsewhere, so both must accept exactly the same texts
 * and read the same values (tests/lib/cdr_json_diff.h).
 *
 * Inputs: hand-written edge cases, each also pinned to jansson's verdict
 * (so a jansson that changes is noticed, not silently followed), every
 * fixtures/captures/cdr-json-*.json, and deterministic mutations of those:
 * byte changes, truncations, inserted escapes, surrogates, invalid UTF-8,
 * NULs, big numbers, duplicate and escaped keys, deep nesting. */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdr_json_diff.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#define MUTATIONS_PER_CAPTURE 300

typedef struct {
    const char *s;
    size_t n;
} snip_t;
#define SNIP(lit)                                                                                                      \
    {                                                                                                                  \
        lit, sizeof(lit) - 1                                                                                           \
    }

typedef struct {
    const char *name;
    snip_t text;
    bool jansson_accepts;
} edge_t;

static const edge_t edges[] = {
    {"empty object", SNIP("{}"), true},
    {"whitespace set", SNIP(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n1 \t\r\n} \t\r\n"), true},
    {"form feed is not whitespace", SNIP("{\f}"), false},
    {"top-level array", SNIP("[]"), false},
    {"top-level string", SNIP("\"a\""), false},
    {"empty", SNIP(""), false},
    {"trailing garbage", SNIP("{}x"), false},
    {"two objects", SNIP("{}{}"), false},
    {"trailing comma", SNIP("{\"a\":1,}"), false},
    {"array trailing comma", SNIP("{\"a\":[1,]}"), false},
    {"missing colon", SNIP("{\"a\" 1}"), false},
    {"unquoted key", SNIP("{a:1}"), false},
    {"single quotes", SNIP("{'a':1}"), false},
    {"literals", SNIP("{\"a\":[true,false,null]}"), true},
    {"bad literal", SNIP("{\"a\":tru}"), false},
    {"literal run", SNIP("{\"a\":truex}"), false},
    {"capital literal", SNIP("{\"a\":True}"), false},
    {"NUL after an integer (jansson loses it)", SNIP("{\"a\":1\0}"), true},
    {"NUL after a real", SNIP("{\"a\":1.5e3\0}"), true},
    {"NUL after true", SNIP("{\"a\":[true\0]}"), true},
    {"NUL after null, then space", SNIP("{\"a\":null\0 }"), true},
    {"two NULs after a number", SNIP("{\"a\":1\0\0}"), false},
    {"NUL after a string", SNIP("{\"a\":\"x\"\0}"), false},
    {"NUL after the object", SNIP("{\"a\":1}\0"), false},
    {"NUL as whitespace", SNIP("{\0\"a\":1}"), false},
    {"raw NUL in a string", SNIP("{\"a\":\"x\0y\"}"), false},
    {"\\u0000 in a value", SNIP("{\"a\":\"x\\u0000\"}"), false},
    {"\\u0000 in a key", SNIP("{\"\\u0000\":\"x\"}"), false},
    {"control character", SNIP("{\"a\":\"\x01\"}"), false},
    {"raw newline in a string", SNIP("{\"a\":\"\n\"}"), false},
    {"DEL in a string", SNIP("{\"a\":\"\x7f\"}"), true},
    {"all short escapes", SNIP("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"), true},
    {"bad escape", SNIP("{\"a\":\"\\x\"}"), false},
    {"short \\u", SNIP("{\"a\":\"\\u12\"}"), false},
    {"surrogate pair", SNIP("{\"a\":\"\\ud83d\\uDE00\"}"), true},
    {"lone high surrogate", SNIP("{\"a\":\"\\ud83d\"}"), false},
    {"high surrogate, then a letter", SNIP("{\"a\":\"\\ud83dx\"}"), false},
    {"high surrogate, then a BMP escape", SNIP("{\"a\":\"\\ud83d\\u0041\"}"), false},
    {"two high surrogates", SNIP("{\"a\":\"\\ud83d\\ud83d\"}"), false},
    {"lone low surrogate", SNIP("{\"a\":\"\\ude00\"}"), false},
    {"escaped key equal to a plain one", SNIP("{\"\\u0061\":\"1\",\"a\":\"2\"}"), true},
    {"valid UTF-8", SNIP("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), true},
    {"Latin-1 byte", SNIP("{\"a\":\"\xe9\"}"), false},
    {"overlong", SNIP("{\"a\":\"\xc0\x80\"}"), false},
    {"UTF-8 surrogate", SNIP("{\"a\":\"\xed\xa0\x80\"}"), false},
    {"above U+10FFFF", SNIP("{\"a\":\"\xf4\x90\x80\x80\"}"), false},
    {"truncated sequence", SNIP("{\"a\":\"\xe2\x82\"}"), false},
    {"UTF-8 outside a string", SNIP("{\"a\":1}\xc3\xa9"), false},
    {"max integer", SNIP("{\"a\":9223372036854775807}"), true},
    {"too big integer", SNIP("{\"a\":9223372036854775808}"), false},
    {"min integer", SNIP("{\"a\":-9223372036854775808}"), true},
    {"too small integer", SNIP("{\"a\":-9223372036854775809}"), false},
    {"20-digit integer", SNIP("{\"a\":10000000000000000000}"), false},
    {"big real is fine", SNIP("{\"a\":10000000000000000000.0}"), true},
    {"real overflow", SNIP("{\"a\":1e309}"), false},
    {"negative real overflow", SNIP("{\"a\":-1.5E+400}"), false},
    {"real underflow is accepted", SNIP("{\"a\":1e-400}"), true},
    {"negative zero", SNIP("{\"a\":-0}"), true},
    {"leading zero", SNIP("{\"a\":01}"), false},
    {"negative leading zero", SNIP("{\"a\":-01}"), false},
    {"lone minus", SNIP("{\"a\":-}"), false},
    {"plus sign", SNIP("{\"a\":+1}"), false},
    {"dot without digits", SNIP("{\"a\":1.}"), false},
    {"leading dot", SNIP("{\"a\":.5}"), false},
    {"exponent without digits", SNIP("{\"a\":1e+}"), false},
    {"hex", SNIP("{\"a\":0x1}"), false},
    {"fraction and exponent", SNIP("{\"a\":-0.5e-3}"), true},
    {"number then a letter", SNIP("{\"a\":1true}"), false},
};

/* A top-level object whose "deep" member nests k arrays, the innermost
 * holding a scalar or not; malloc'd. */
static char *deep(size_t k, bool scalar, bool objects, size_t *len)
{
    w3_buf_t b = {0};
    w3_buf_adds(&b, "{\"deep\":");
    for (size_t i = 0; i < k; i++)
        w3_buf_adds(&b, objects ? "{\"a\":" : "[");
    if (scalar || objects)
        w3_buf_adds(&b, "\"s\"");
    for (size_t i = 0; i < k; i++)
        w3_buf_adds(&b, objects ? "}" : "]");
    w3_buf_adds(&b, "}");
    *len = b.len;
    return b.data;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

/* Inserted at a random place, or right after a random quote (mostly inside
 * a string). */
static const snip_t inserts[] = {
    SNIP("\\u0000"),
    SNIP("\\ud800"),
    SNIP("\\udc00"),
    SNIP("\\ud800\\udc00"),
    SNIP("\\uD83D\\uDE00"),
    SNIP("\\ud800\\u0041"),
    SNIP("\\ud800x"),
    SNIP("\\u00e9"),
    SNIP("\\u12"),
    SNIP("\\x"),
    SNIP("\\"),
    SNIP("\\\""),
    SNIP("\\/\\b\\f\\n"),
    SNIP("\xc3"),
    SNIP("\xc3\xa9"),
    SNIP("\xc0\x80"),
    SNIP("\xed\xa0\x80"),
    SNIP("\xf4\x90\x80\x80"),
    SNIP("\xf0\x9f\x98\x80"),
    SNIP("\xff"),
    SNIP("\xe9"),
    SNIP("\x7f"),
    SNIP("\x01"),
    SNIP("\n"),
    SNIP("\t"),
    SNIP(" "),
    SNIP("\0"),
    SNIP(","),
    SNIP("}"),
    SNIP("{"),
    SNIP("]"),
    SNIP("["),
    SNIP(":"),
    SNIP("\""),
    SNIP("true"),
    SNIP("nul"),
    SNIP("1"),
    SNIP("-"),
    SNIP("01"),
    SNIP("1e309"),
    SNIP("9223372036854775808"),
    SNIP("\"a\":1,"),
    SNIP("\"uuid\":\"x\","),
};

/* Inserted right after "variables":{ — duplicates the later members win over. */
static const snip_t var_members[] = {
    SNIP("\"uuid\":\"dup-first\","),
    SNIP("\"uuid\":7,"),
    SNIP("\"\\u0075uid\":\"escaped key\","),
    SNIP("\"sip_call_id\":{\"a\":1},"),
    SNIP("\"x\":\"\\ud83d\\ude00\\u00e9\\n\\t\\\"\\\\\\/\","),
    SNIP("\"y\":\"%41%e9\","),
    SNIP("\"z\":-9223372036854775808,\"w\":[1e-400,null],"),
};

/* Appended as the last top-level members (they win over the capture's). */
static const snip_t top_members[] = {
    SNIP(",\"variables\":{\"uuid\":\"second\",\"uuid\":\"third\"}"),
    SNIP(",\"variables\":[]"),
    SNIP(",\"core-uuid\":\"other\""),
    SNIP(",\"core-uuid\":null"),
    SNIP(",\"c\\u006fre-uuid\":\"escaped\""),
    SNIP(",\"callflow\":{\"caller_profile\":{\"context\":\"public\",\"dup\":\"a\",\"dup\":\"b\"}}"),
    SNIP(",\"callflow\":[{\"profile_index\":\"2\",\"caller_profile\":{\"context\":\"x\"}},\"s\","
         "{\"profile_index\":\"3\",\"caller_profile\":5},{\"caller_profile\":{},\"caller_profile\":{\"a\":\"b\"}}]"),
    SNIP(",\"callflow\":7"),
    SNIP(",\"n\":1\0"),
    SNIP(",\"n\":true\0"),
    SNIP(",\"n\":1\0\0"),
    SNIP(",\"n\":9223372036854775807"),
    SNIP(",\"n\":-9223372036854775809"),
    SNIP(",\"n\":1e309"),
    SNIP(",\"n\":-0.0e+0"),
    SNIP(","),
};

/* Escaped spellings of the keys cdr.c looks for. */
static const struct {
    const char *plain, *escaped;
} key_escapes[] = {
    {"\"variables\"", "\"variabl\\u0065s\""},           {"\"callflow\"", "\"\\u0063allflow\""},
    {"\"caller_profile\"", "\"caller\\u005fprofile\""}, {"\"uuid\"", "\"uu\\u0069d\""},
    {"\"core-uuid\"", "\"core\\u002duuid\""},           {"\"context\"", "\"c\\/ontext\""},
};

/* out holds n bytes; s goes in at pos, the new length. */
static size_t insert_at(char *out, size_t n, size_t pos, const snip_t *s)
{
    memmove(out + pos + s->n, out + pos, n - pos);
    memcpy(out + pos, s->s, s->n);
    return n + s->n;
}

/* out (capacity n + 8192) = one mutation of src; its length, desc names it. */
static size_t mutate(const char *src, size_t n, char *out, char *desc, size_t dsz)
{
    size_t pos = below(n), len = n;
    memcpy(out, src, n);
    switch (rnd() % 9) {
    case 0:
        out[pos] = (char)rnd();
        snprintf(desc, dsz, "byte %zu set to 0x%02x", pos, (unsigned char)out[pos]);
        return len;
    case 1:
        out[pos] ^= (char)(1u << below(8));
        snprintf(desc, dsz, "bit flip at %zu", pos);
        return len;
    case 2:
        snprintf(desc, dsz, "truncated at %zu", pos);
        return pos;
    case 3:
    case 4: {
        const snip_t *s = &inserts[below(W3_ARRAY_LEN(inserts))];
        if (rnd() % 2) { /* after a quote */
            const char *q = memchr(src + pos, '"', n - pos);
            pos = q ? (size_t)(q - src) + 1 : pos;
        }
        snprintf(desc, dsz, "inserted snippet %zu at %zu", (size_t)(s - inserts), pos);
        return insert_at(out, n, pos, s);
    }
    case 5: {
        const snip_t *s = &var_members[below(W3_ARRAY_LEN(var_members))];
        const char *v = memmem(src, n, "\"variables\":{", 13);
        pos = v ? (size_t)(v - src) + 13 : pos;
        snprintf(desc, dsz, "variables member %zu at %zu", (size_t)(s - var_members), pos);
        return insert_at(out, n, pos, s);
    }
    case 6: {
        const snip_t *s = &top_members[below(W3_ARRAY_LEN(top_members))];
        const char *close = src + n;
        while (close > src && close[-1] != '}')
            close--;
        pos = close > src ? (size_t)(close - src) - 1 : 0;
        snprintf(desc, dsz, "top member %zu appended at %zu", (size_t)(s - top_members), pos);
        return insert_at(out, n, pos, s);
    }
    case 7: {
        size_t k = below(W3_ARRAY_LEN(key_escapes));
        const char *from = key_escapes[k].plain, *to = key_escapes[k].escaped;
        size_t fl = strlen(from), tl = strlen(to);
        const char *at = memmem(src + pos, n - pos, from, fl);
        if (at == NULL)
            at = memmem(src, n, from, fl);
        if (at == NULL) {
            snprintf(desc, dsz, "no %s to escape", from);
            return n;
        }
        pos = (size_t)(at - src);
        memcpy(out + pos, to, tl);
        memcpy(out + pos + tl, src + pos + fl, n - pos - fl);
        snprintf(desc, dsz, "key %s escaped at %zu", from, pos);
        return n - fl + tl;
    }
    default: { /* a NUL after a digit */
        size_t i = pos;
        while (i < n && !(src[i] >= '0' && src[i] <= '9'))
            i++;
        pos = i < n ? i + 1 : pos;
        memmove(out + pos + 1, out + pos, n - pos);
        out[pos] = '\0';
        snprintf(desc, dsz, "NUL inserted at %zu", pos);
        return n + 1;
    }
    }
}

static size_t total_accepted, total_refused;

static bool agree(const char *text, size_t len, const char *name, bool *accepted)
{
    const char *d = cdr_json_diff(text, len, accepted);
    if (d)
        printf("# %s: %s\n", name, d);
    if (*accepted)
        total_accepted++;
    else
        total_refused++;
    return d == NULL;
}

static void test_edges(void)
{
    for (size_t i = 0; i < W3_ARRAY_LEN(edges); i++) {
        const edge_t *e = &edges[i];
        char *copy = xmalloc(e->text.n ? e->text.n : 1); /* exact size: a read past len is caught */
        memcpy(copy, e->text.s, e->text.n);
        bool acc = false;
        bool same = agree(copy, e->text.n, e->name, &acc);
        ok(same && acc == e->jansson_accepts, "%s: jansson %s, cdr_json agrees", e->name,
           e->jansson_accepts ? "accepts" : "refuses");
        free(copy);
    }
}

/* The string scanner skips sixteen (SSE2) or eight plain bytes at a time
 * and stops at the first special one: each kind of special byte at every
 * offset of two vectors and a word, with plain bytes after it in the same
 * block, must be found exactly there. */
static void test_special_offsets(void)
{
    static const struct {
        const char *name, *bytes;
        bool accepted;
    } kinds[] = {
        {"closing quote", "\",\"y\":\"", true}, {"escape \\n", "\\n", true},   {"escape \\u00e9", "\\u00e9", true},
        {"UTF-8 e-acute", "\xc3\xa9", true},    {"DEL (plain)", "\x7f", true}, {"control 0x01", "\x01", false},
        {"byte 0xff", "\xff", false},           {"tab", "\t", false},
    };
    for (size_t k = 0; k < W3_ARRAY_LEN(kinds); k++) {
        size_t bad = 0;
        for (size_t pos = 0; pos < 40; pos++) {
            char text[128];
            int n = snprintf(text, sizeof(text), "{\"k\":\"%.*s%s%s\",\"z\":1}", (int)pos,
                             "abcdefghijklmnopqrstuvwxyz0123456789ABCD", kinds[k].bytes, "tail-of-the-vector");
            char *copy = xmalloc((size_t)n); /* exact size: a read past len is caught */
            memcpy(copy, text, (size_t)n);
            char name[96];
            snprintf(name, sizeof(name), "%s at offset %zu", kinds[k].name, pos);
            bool acc = false;
            if (!agree(copy, (size_t)n, name, &acc) || acc != kinds[k].accepted)
                bad++;
            free(copy);
        }
        ok(bad == 0, "%s at offsets 0-39 of a string: %s, cdr_json agrees with jansson (%zu differ)", kinds[k].name,
           kinds[k].accepted ? "accepted" : "refused", bad);
    }
}

static void test_depth(void)
{
    /* top object = depth 1, "deep"'s first container = 2: k containers put
     * the innermost at k + 1, a scalar inside at k + 2; the limit is 2048 */
    static const struct {
        size_t k;
        bool scalar, objects, accepted;
    } cases[] = {
        {2047, false, false, true}, {2048, false, false, false}, {2046, true, false, true},
        {2047, true, false, false}, {2046, true, true, true},    {2047, true, true, false},
    };
    for (size_t i = 0; i < W3_ARRAY_LEN(cases); i++) {
        size_t len;
        char *t = deep(cases[i].k, cases[i].scalar, cases[i].objects, &len);
        bool acc = false;
        char name[96];
        snprintf(name, sizeof(name), "%zu nested %s%s", cases[i].k, cases[i].objects ? "objects" : "arrays",
                 cases[i].scalar ? " around a string" : "");
        bool same = agree(t, len, name, &acc);
        ok(same && acc == cases[i].accepted, "%s: %s by both", name, cases[i].accepted ? "accepted" : "refused");
        free(t);
    }
}

static void test_capture(const char *file, uint64_t seed)
{
    size_t n;
    char *src = h_capture(file, &n);
    bool acc = false;
    ok(agree(src, n, file, &acc) && acc, "%s: accepted, same values", file);
    char *out = xmalloc(n + 8192);
    rng_state = seed;
    size_t bad = 0, accepted = 0;
    for (int i = 0; i < MUTATIONS_PER_CAPTURE; i++) {
        char desc[128];
        size_t len = mutate(src, n, out, desc, sizeof(desc));
        char *exact = xmalloc(len ? len : 1);
        memcpy(exact, out, len);
        char name[256];
        snprintf(name, sizeof(name), "%s mutation %d (%s)", file, i, desc);
        if (!agree(exact, len, bad < 5 ? name : "", &acc))
            bad++;
        accepted += acc;
        free(exact);
    }
    ok(bad == 0, "%s: %d mutations, readers agree on all (%zu accepted)", file, MUTATIONS_PER_CAPTURE, accepted);
    free(out);
    free(src);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* util.h w3_buf_add_json_string, the writer of the CDR answer: what it
 * writes parses (jansson, strictly) back to the string, escapes included;
 * a byte that is not UTF-8 comes back as U+FFFD. */
static void test_string_writer(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"a-leg", "a-leg"},
        {"q\"uo\\te", "q\"uo\\te"},
        {"\x01\x08\t\n\x0b\x0c\r\x1f\x7f", "\x01\x08\t\n\x0b\x0c\r\x1f\x7f"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"bad\xff\xc3(\xed\xa0\x80"
         "end",
         "bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
         "end"},
    };
    int wrong = 0;
    for (size_t i = 0; i < W3_ARRAY_LEN(cases); i++) {
        w3_buf_t b = {0};
        w3_buf_add_json_string(&b, cases[i].in);
        json_error_t err;
        json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, &err);
        if (v == NULL || !json_is_string(v) || strcmp(json_string_value(v), cases[i].want) != 0) {
            printf("# case %zu: wrote %s\n", i, b.data);
            wrong++;
        }
        json_decref(v);
        w3_buf_free(&b);
    }
    is_int(wrong, 0, "w3_buf_add_json_string: every case parses back to the string (invalid bytes as U+FFFD)");
    w3_buf_t b = {0};
    w3_buf_add_json_string(&b, "\x01\"");
    is_str(b.data, "\"\\u0001\\\"\"", "control characters as \\u00XX, quotes escaped");
    w3_buf_free(&b);
}

int main(void)
{
    test_string_writer();
    test_edges();
    test_special_offsets();
    test_depth();
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/captures", getenv("W3_FIXTURES") ? getenv("W3_FIXTURES") : "fixtures");
    DIR *d = opendir(dir);
    ok(d != NULL, "open %s", dir);
    size_t captures = 0;
    struct dirent *e;
    char *names[64];
    while (d && (e = readdir(d)) != NULL && captures < W3_ARRAY_LEN(names)) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "cdr-json-", 9) == 0 && l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
            names[captures++] = xstrdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, captures, sizeof(names[0]), by_name); /* the seeds follow the order */
    for (size_t i = 0; i < captures; i++) {
        test_capture(names[i], 0x9E3779B97F4A7C15ull * (i + 1));
        free(names[i]);
    }
    ok(captures >= 5, "%zu JSON captures", captures);
    /* the mutations must reach both verdicts often, or they test little */
    ok(total_accepted >= 300 && total_refused >= 1000, "mutations: %zu accepted, %zu refused", total_accepted,
       total_refused);
    return tap_done();
}
