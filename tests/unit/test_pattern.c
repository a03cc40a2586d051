/* lookup_pattern_safe(): the subset of route patterns that POSIX ERE (the
 * server) and PCRE (FreeSWITCH, the export) read alike and that cannot
 * stall a worker; and the bounded, evicting pattern cache. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lookup.h"
#include "tap.h"
#include "util.h"

static void safe(const char *p)
{
    char why[128];
    int rc = lookup_pattern_safe(p, why, sizeof(why));
    if (!ok(rc == 0, "safe: %s", p))
        printf("#   refused: %s\n", why);
    regex_t re;
    ok(regcomp(&re, p, REG_EXTENDED | REG_NOSUB) == 0, "and POSIX ERE compiles it: %s", p);
    regfree(&re);
}

static void unsafe(const char *p, const char *why_has)
{
    char why[128];
    int rc = lookup_pattern_safe(p, why, sizeof(why));
    if (!ok(rc == -EINVAL && strstr(why, why_has) != NULL, "refused: %s (%s)", p, why_has))
        printf("#   rc %d, why '%s'\n", rc, why);
}

static void subset(void)
{
    safe("^9(112|113|115|118)$");
    safe("^(112|113|115|118)$");
    safe("^9(80[03][0-9]{3,7})$");
    safe("^9(0[0-9]{5,10})$");
    safe("^9(89[0-9]{4,7}|144[0-9]*|166[0-9]*)$");
    safe("^\\+39[0-9]{6,11}$");
    safe("^\\*98#?$");
    safe("^#31#[0-9]+$");
    safe("^9?112$");
    safe("^[0-9]{32}$");
    safe("^[0-9]{0,32}$");
    safe("^((1|2)3)$"); /* groups without quantifiers nest freely */
    safe("^(12)+$");    /* a quantified group of literals */
    safe("^[123]$");
    safe("^[1-35-7]$");

    unsafe("^((0*)*\\2*)*\\1$", "quantifier"); /* issue 10's stall */
    unsafe("^(1)\\1$", "back-reference");
    unsafe("^(0*)*$", "group that holds a quantifier");
    unsafe("^((0)1*)+$", "group that holds a quantifier");
    unsafe("^(([0-9]+)1)*$", "group that holds a quantifier");
    unsafe("^9", "anchored");
    unsafe("9$", "anchored");
    unsafe(".*", "anchored");
    unsafe("^.*$", "outside the safe subset");
    unsafe("^1|2$", "'|' outside a group");
    unsafe("^[0-9]{1,33}$", "n <= 32");
    unsafe("^[0-9]{33}$", "n <= 32");
    unsafe("^[0-9]{5,2}$", "m <= n");
    unsafe("^[0-9]{3,}$", "upper bound");
    unsafe("^[0-9]+?$", "two quantifiers"); /* lazy in PCRE */
    unsafe("^[0-9]*+$", "two quantifiers"); /* possessive in PCRE */
    unsafe("^[^0-9]$", "negated");
    unsafe("^[a-z]$", "digits and digit ranges only");
    unsafe("^[9-1]$", "bad range");
    unsafe("^[]$", "empty bracket");
    unsafe("^[0-9$", "unterminated");
    unsafe("^(12$", "unbalanced '('");
    unsafe("^12)$", "unbalanced ')'");
    unsafe("^()$", "empty alternative");
    unsafe("^(1|)$", "empty alternative");
    unsafe("^$", "empty alternative");
    unsafe("^*1$", "outside the safe subset");
    unsafe("^1\\d$", "escape");
    unsafe("^1\\$", "escape");
    unsafe("^(?:1)$", "outside the safe subset");
    unsafe("^a$", "outside the safe subset");
    unsafe("^1^2$", "outside the safe subset");
    unsafe("^1$2$", "outside the safe subset");
    unsafe("^(((((((((1)))))))))$", "nested deeper");
    unsafe(NULL, "no pattern");

    w3_buf_t long_p = {0};
    w3_buf_adds(&long_p, "^");
    for (int i = 0; i < 254; i++)
        w3_buf_adds(&long_p, "1");
    w3_buf_adds(&long_p, "$");
    safe(long_p.data); /* 256 characters */
    w3_buf_free(&long_p);
    w3_buf_adds(&long_p, "^");
    for (int i = 0; i < 255; i++)
        w3_buf_adds(&long_p, "1");
    w3_buf_adds(&long_p, "$");
    unsafe(long_p.data, "longer than 256");
    w3_buf_free(&long_p);

    char small[8];
    ok(lookup_pattern_safe("^[a]$", small, sizeof(small)) == -EINVAL && strlen(small) == sizeof(small) - 1,
       "a small why buffer gets a cut (terminated) reason");
    ok(lookup_pattern_safe("^1$", NULL, 0) == 0 && lookup_pattern_safe("^a$", NULL, 0) == -EINVAL, "why may be NULL");
}

/* Every route pattern of the demo data and the bench generator is inside
 * the subset: no existing installation built from them loses a route. */
static void fixture_patterns(void)
{
    const char *files[] = {"demo.sql", "../tests/bench/gen_scale.sql"};
    regex_t lit;
    regcomp(&lit, "'(\\^[^']*\\$)'", REG_EXTENDED);
    for (size_t f = 0; f < W3_ARRAY_LEN(files); f++) {
        char *sql = h_fixture(files[f], NULL);
        int n = 0;
        regmatch_t m[2];
        for (const char *p = sql; regexec(&lit, p, 2, m, 0) == 0; p += m[0].rm_eo) {
            char *pat = xstrndup(p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
            char why[128];
            if (!ok(lookup_pattern_safe(pat, why, sizeof(why)) == 0, "%s: %s is safe", files[f], pat))
                printf("#   %s\n", why);
            free(pat);
            n++;
        }
        ok(n >= 7, "%s: %d route patterns checked", files[f], n);
        free(sql);
    }
    regfree(&lit);
}

/* Property: whatever the checker accepts, POSIX ERE compiles, and it
 * matches a long digit string quickly (no catastrophic backtracking). A
 * fixed-seed generator over the grammar's alphabet, so a failure repeats. */
static void property(void)
{
    static const char alphabet[] = "0123456789+*#\\[]-^(){},?|$.a";
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    int accepted = 0, compiled = 0, slow = 0;
    char subject[65];
    memset(subject, '0', 64);
    subject[64] = '\0';
    for (int i = 0; i < 200000; i++) {
        char p[24];
        size_t len = 2 + (size_t)(i % 14);
        p[0] = '^';
        for (size_t k = 1; k + 1 < len; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            p[k] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        p[len - 1] = '$';
        p[len] = '\0';
        if (lookup_pattern_safe(p, NULL, 0) != 0)
            continue;
        accepted++;
        regex_t re;
        if (regcomp(&re, p, REG_EXTENDED | REG_NOSUB) != 0) {
            printf("#   accepted but does not compile: %s\n", p);
            continue;
        }
        compiled++;
        uint64_t t0 = w3_now_us();
        regexec(&re, subject, 0, NULL, 0);
        if (w3_now_us() - t0 > 100000) {
            printf("#   slow: %s\n", p);
            slow++;
        }
        regfree(&re);
    }
    ok(accepted > 100, "random patterns: %d accepted", accepted);
    is_int(compiled, accepted, "every accepted pattern compiles");
    is_int(slow, 0, "none takes 100 ms on 64 digits");
}

static void cache(void)
{
    lookup_cache_t *c = lookup_cache_create(3);
    const regex_t *re;
    const char *why;
    ok(lookup_cache_get(c, "^9(0[0-9]{5,10})$", &re, &why) == 0 && re != NULL, "a safe pattern compiles");
    ok(regexec(re, "90612345678", 0, NULL, 0) == 0, "and matches");
    int rc = lookup_cache_get(c, "^((0*)*\\2*)*\\1$", &re, &why);
    ok(rc == -EINVAL && re == NULL && strstr(why, "quantifier"), "an unsafe pattern is refused with its reason (%s)",
       why);
    ok(lookup_cache_get(c, "^((0*)*\\2*)*\\1$", &re, &why) == -EINVAL, "refused again from the cache");
    rc = lookup_cache_get(c, "^9(", &re, &why);
    ok(rc == -EINVAL && why != NULL, "a broken pattern is refused (%s)", why);
    is_int(lookup_cache_count(c), 3, "three entries");
    /* touch the first so the refused one is the oldest, then add a fourth */
    lookup_cache_get(c, "^9(0[0-9]{5,10})$", &re, &why);
    lookup_cache_get(c, "^9(3[0-9]{8,9})$", &re, &why);
    is_int(lookup_cache_count(c), 3, "full: one entry evicted, not the whole cache");
    ok(lookup_cache_get(c, "^9(0[0-9]{5,10})$", &re, &why) == 0 && regexec(re, "90612345678", 0, NULL, 0) == 0,
       "the recently used entry survived");
    for (int i = 0; i < 100; i++) {
        char p[32];
        snprintf(p, sizeof(p), "^%d$", i);
        char subject[32];
        snprintf(subject, sizeof(subject), "%d", i);
        ok(lookup_cache_get(c, p, &re, &why) == 0 && regexec(re, subject, 0, NULL, 0) == 0, "churn %d", i);
    }
    is_int(lookup_cache_count(c), 3, "bounded under churn");
    lookup_cache_destroy(c);
    lookup_cache_destroy(NULL);

    /* the production size holds >9 tenants' routes without thrashing */
    c = lookup_cache_create(LOOKUP_CACHE_SIZE);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 20 * 40; i++) {
            char p[32];
            snprintf(p, sizeof(p), "^9%d[0-9]{3}$", i);
            lookup_cache_get(c, p, &re, &why);
        }
    is_int(lookup_cache_count(c), 800, "20 tenants x 40 routes stay cached");
    lookup_cache_destroy(c);
}

int main(void)
{
    subset();
    fixture_patterns();
    property();
    cache();
    return tap_done();
}
