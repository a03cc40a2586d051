/* The safe subset of route patterns (issue 10): patterns that POSIX ERE
 * (regexec, live) and PCRE (FreeSWITCH, the export) read the same way, and
 * that cannot make either backtrack for long: anchored ^…$; digits, '#' and
 * the escaped literals \+ \* \#; bracket classes of digits and digit ranges;
 * groups and '|' (inside a group); one quantifier ? * + {m} {m,n} (n <= 32)
 * per atom; no back-reference; no quantifier on a group that holds one; at
 * most 256 characters. A recursive descent over exactly that grammar:
 * whatever it does not know is refused. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lookup.h"

#define PATTERN_MAX 256
#define REPEAT_MAX 32
#define DEPTH_MAX 8

typedef struct ps {
    const char *start, *p, *end;
    char *why;
    size_t cap;
} ps_t;

__attribute__((format(printf, 2, 3))) static int fail(ps_t *s, const char *fmt, ...)
{
    if (s->why && s->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->why, s->cap, fmt, ap); /* a diagnostic: cutting it is harmless */
        va_end(ap);
    }
    return -EINVAL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int offset(const ps_t *s)
{
    return (int)(s->p - s->start);
}

static int alternatives(ps_t *s, int depth, bool *quantified);

static int bracket(ps_t *s)
{
    s->p++; /* '[' */
    if (s->p < s->end && *s->p == '^')
        return fail(s, "negated bracket class at offset %d", offset(s));
    int items = 0;
    while (s->p < s->end && *s->p != ']') {
        if (!is_digit(*s->p))
            return fail(s, "bracket class holds '%c' at offset %d (digits and digit ranges only)", *s->p, offset(s));
        char lo = *s->p++;
        if (s->p + 1 < s->end && *s->p == '-' && s->p[1] != ']') {
            char hi = s->p[1];
            if (!is_digit(hi) || hi < lo)
                return fail(s, "bad range in a bracket class at offset %d", offset(s));
            s->p += 2;
        }
        items++;
    }
    if (s->p >= s->end)
        return fail(s, "unterminated bracket class");
    if (items == 0)
        return fail(s, "empty bracket class at offset %d", offset(s));
    s->p++; /* ']' */
    return 0;
}

static int number(ps_t *s, int *out)
{
    int n = 0, digits = 0;
    while (s->p < s->end && is_digit(*s->p) && digits < 3) {
        n = n * 10 + (*s->p++ - '0');
        digits++;
    }
    if (digits == 0 || (s->p < s->end && is_digit(*s->p)))
        return fail(s, "bad repeat count at offset %d", offset(s));
    *out = n;
    return 0;
}

/* An optional quantifier after an atom; *present when there was one. */
static int quantifier(ps_t *s, bool *present)
{
    *present = false;
    if (s->p >= s->end)
        return 0;
    char c = *s->p;
    if (c == '?' || c == '*' || c == '+') {
        s->p++;
    } else if (c == '{') {
        s->p++;
        int m, n;
        if (number(s, &m) != 0)
            return -EINVAL;
        n = m;
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            if (s->p < s->end && *s->p == '}')
                return fail(s, "open repeat {%d,} at offset %d (give an upper bound <= %d)", m, offset(s), REPEAT_MAX);
            if (number(s, &n) != 0)
                return -EINVAL;
        }
        if (s->p >= s->end || *s->p != '}')
            return fail(s, "bad repeat at offset %d", offset(s));
        s->p++;
        if (n > REPEAT_MAX || m > n)
            return fail(s, "repeat {%d,%d} outside 0 <= m <= n <= %d", m, n, REPEAT_MAX);
    } else {
        return 0;
    }
    *present = true;
    /* PCRE reads a second quantifier as lazy (?) or possessive (+) */
    if (s->p < s->end && strchr("?*+{", *s->p))
        return fail(s, "two quantifiers in a row at offset %d", offset(s));
    return 0;
}

/* One alternative: a sequence of atoms, each with an optional quantifier. */
static int sequence(ps_t *s, int depth, bool *quantified)
{
    int atoms = 0;
    while (s->p < s->end && *s->p != '|' && *s->p != ')') {
        bool group_quantified = false, is_group = false;
        char c = *s->p;
        if (is_digit(c) || c == '#') {
            s->p++;
        } else if (c == '\\') {
            char e = s->p + 1 < s->end ? s->p[1] : '\0';
            if (is_digit(e))
                return fail(s, "back-reference at offset %d", offset(s));
            if (e != '+' && e != '*' && e != '#')
                return fail(s, "escape '\\%c' at offset %d (only \\+ \\* \\#)", e ? e : ' ', offset(s));
            s->p += 2;
        } else if (c == '[') {
            if (bracket(s) != 0)
                return -EINVAL;
        } else if (c == '(') {
            if (depth >= DEPTH_MAX)
                return fail(s, "groups nested deeper than %d", DEPTH_MAX);
            s->p++;
            is_group = true;
            if (alternatives(s, depth + 1, &group_quantified) != 0)
                return -EINVAL;
            if (s->p >= s->end || *s->p != ')')
                return fail(s, "unbalanced '('");
            s->p++;
        } else {
            return fail(s, "'%c' at offset %d is outside the safe subset", c, offset(s));
        }
        bool q;
        if (quantifier(s, &q) != 0)
            return -EINVAL;
        if (q && is_group && group_quantified)
            return fail(s, "quantifier on a group that holds a quantifier (offset %d)", offset(s));
        if (q || group_quantified)
            *quantified = true;
        atoms++;
    }
    if (atoms == 0)
        return fail(s, "empty alternative at offset %d", offset(s));
    return 0;
}

static int alternatives(ps_t *s, int depth, bool *quantified)
{
    for (;;) {
        if (sequence(s, depth, quantified) != 0)
            return -EINVAL;
        if (s->p >= s->end || *s->p != '|')
            return 0;
        if (depth == 0)
            return fail(s, "'|' outside a group at offset %d: the anchors would hold one alternative only", offset(s));
        s->p++;
    }
}

int lookup_pattern_safe(const char *pattern, char *why, size_t cap)
{
    ps_t s = {.start = pattern, .why = why, .cap = cap};
    if (why && cap)
        why[0] = '\0';
    if (pattern == NULL)
        return fail(&s, "no pattern");
    size_t len = strlen(pattern);
    if (len > PATTERN_MAX)
        return fail(&s, "longer than %d characters", PATTERN_MAX);
    if (len < 2 || pattern[0] != '^' || pattern[len - 1] != '$')
        return fail(&s, "not anchored at both ends (^…$)");
    s.p = pattern + 1;
    s.end = pattern + len - 1;
    bool quantified = false;
    if (alternatives(&s, 0, &quantified) != 0)
        return -EINVAL;
    if (s.p != s.end)
        return fail(&s, "unbalanced ')' at offset %d", offset(&s));
    return 0;
}
