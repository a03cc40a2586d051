/* The answer cache's tree (server/lookup/lookup_answers.c) on its own: an
 * answer comes back only for the same values of the fields its lookup
 * read, at the same stamp; its arena stays under the bound (emptied past
 * it, then filled again); another stamp empties it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "lookup.h"
#include "tap.h"
#include "util.h"

#define BOUND (64 * 1024)

static void put(lookup_answers_t *c, const db_stamp_t *s, const char *user, const char *auth)
{
    lookup_reads_t reads = {.n = 0};
    lookup_reads_add(&reads, "section", "directory");
    lookup_reads_add(&reads, "user", user);
    lookup_reads_add(&reads, "sip_auth_method", auth);
    lookup_result_t res = {.rc = 0, .section = MS_DIRECTORY, .result = MX_OK, .what = "user"};
    w3_buf_t b = {0};
    w3_buf_printf(&b, "<document user=\"%s\" auth=\"%s\">%0900d</document>", user, auth ? auth : "-", 0);
    res.body.data = b.data;
    res.body.len = b.len;
    snprintf(res.key, sizeof(res.key), "%s", user);
    lookup_answers_put(c, s, &reads, &res);
    lookup_result_free(&res);
}

/* The body the cache answers for this request, or NULL (malloc'd). */
static char *get(lookup_answers_t *c, const db_stamp_t *s, const char *body)
{
    form_t f;
    const char *why = NULL;
    if (form_parse(&f, body, strlen(body), &why) != 0)
        return NULL;
    lookup_result_t res = {.rc = -1};
    char *out = NULL;
    if (lookup_answers_get(c, s, &f, &res))
        out = xstrdup(res.body.data);
    lookup_result_free(&res);
    form_free(&f);
    return out;
}

static bool answers_user(const char *body, const char *user)
{
    char want[64];
    snprintf(want, sizeof(want), "<document user=\"%s\"", user);
    return body && strncmp(body, want, strlen(want)) == 0;
}

int main(void)
{
    lookup_answers_t *c = lookup_answers_create(BOUND);
    db_stamp_t s1 = {.gen = 7, .schema = 3, .trusted = true}, s2 = {.gen = 8, .schema = 3, .trusted = true};
    put(c, &s1, "100", "REGISTER");
    put(c, &s1, "101", NULL);
    char *b = get(c, &s1, "section=directory&user=100&sip_auth_method=REGISTER&other=x");
    ok(answers_user(b, "100") && strstr(b, "auth=\"REGISTER\""), "an answer for the same values read: %.40s",
       b ? b : "(none)");
    free(b);
    b = get(c, &s1, "section=directory&user=100&sip_auth_method=INVITE");
    ok(b == NULL, "another value of a field it read: not that answer");
    free(b);
    b = get(c, &s1, "section=directory&user=101");
    ok(answers_user(b, "101") && strstr(b, "auth=\"-\""), "a field absent when put, absent now: its answer");
    free(b);
    b = get(c, &s1, "section=directory&user=101&sip_auth_method=");
    ok(b == NULL, "  ...present (even empty) now: not that answer");
    free(b);

    size_t most = 0;
    int held = 0;
    for (int i = 0; i < 400; i++) {
        char u[16];
        snprintf(u, sizeof(u), "%d", 1000 + i);
        put(c, &s1, u, "REGISTER");
        size_t n = lookup_answers_bytes(c);
        if (n > most)
            most = n;
    }
    ok(most > 0 && most <= BOUND, "400 answers of ~1 KB: the cache never holds more than its bound (%zu bytes)", most);
    for (int i = 0; i < 400; i++) {
        char q[96];
        snprintf(q, sizeof(q), "section=directory&user=%d&sip_auth_method=REGISTER", 1000 + i);
        char *a = get(c, &s1, q);
        held += a != NULL;
        free(a);
    }
    ok(held > 0 && held < 400, "  ...emptied past it and filled again: %d of the 400 are still there", held);
    b = get(c, &s1, "section=directory&user=1399&sip_auth_method=REGISTER");
    ok(answers_user(b, "1399"), "  ...the last one put among them");
    free(b);

    b = get(c, &s2, "section=directory&user=1399&sip_auth_method=REGISTER");
    ok(b == NULL, "another stamp: nothing of the one before");
    is_int((long long)lookup_answers_bytes(c), 0, "  ...the tree is emptied");
    lookup_answers_destroy(c);
    lookup_answers_destroy(NULL);
    return tap_done();
}
