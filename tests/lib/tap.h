/* Minimal TAP producer for the test programs (meson runs them with
 * protocol: 'tap'). Each check prints "ok N - name" or "not ok N - name"
 * with the details that make a failure readable. */
#ifndef W3_TAP_H
#define W3_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static inline bool tap_ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char name[1024];
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    /* a label quoting program output stays one TAP line */
    for (char *c = name; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    printf("%s %d - %s\n", cond ? "ok" : "not ok", ++tap_n, name);
    fflush(stdout);
    if (!cond)
        tap_failed++;
    return cond;
}

#define ok(cond, ...) tap_ok((cond), __VA_ARGS__)

static inline bool tap_is_str(const char *got, const char *want, const char *name, int line)
{
    bool same = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    if (!tap_ok(same, "%s", name))
        printf("#   line %d\n#   got:  '%s'\n#   want: '%s'\n", line, got ? got : "(null)", want ? want : "(null)");
    return same;
}
#define is_str(got, want, name) tap_is_str((got), (want), (name), __LINE__)

static inline bool tap_is_int(long long got, long long want, const char *name, int line)
{
    if (!tap_ok(got == want, "%s", name))
        printf("#   line %d\n#   got:  %lld\n#   want: %lld\n", line, got, want);
    return got == want;
}
#define is_int(got, want, name) tap_is_int((long long)(got), (long long)(want), (name), __LINE__)

static inline void tap_diag(const char *s)
{
    printf("# %s\n", s);
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    if (tap_failed)
        printf("# %d of %d checks failed\n", tap_failed, tap_n);
    return tap_failed ? 1 : 0;
}

#endif
