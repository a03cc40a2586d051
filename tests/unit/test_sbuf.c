/* util.h w3_sbuf: the bounded builder of everything the dialplan renders.
 * Whole or refused: past max it is marked failed, keeps nothing new and
 * reports -E2BIG; it never hands out a cut value. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "util.h"

static void fits(void)
{
    w3_sbuf_t b;
    w3_sbuf_init(&b, 16);
    is_str(w3_sbuf_str(&b), "", "empty builder reads as \"\"");
    is_int(w3_sbuf_done(&b), 0, "empty builder is complete");
    w3_sbuf_adds(&b, "user/");
    w3_sbuf_printf(&b, "%d@%s", 100, "a.b");
    is_str(w3_sbuf_str(&b), "user/100@a.b", "appends and printf");
    is_int(w3_sbuf_len(&b), 12, "length");
    w3_sbuf_add(&b, "1234", 4);
    is_int(w3_sbuf_len(&b), 16, "exactly max bytes fit");
    is_int(w3_sbuf_done(&b), 0, "still complete at max");
    w3_sbuf_free(&b);
}

static void fails_closed(void)
{
    w3_sbuf_t b;
    w3_sbuf_init(&b, 10);
    w3_sbuf_adds(&b, "0123456789");
    w3_sbuf_adds(&b, "x");
    is_int(w3_sbuf_done(&b), -E2BIG, "one byte past max: -E2BIG");
    is_str(w3_sbuf_str(&b), "0123456789", "the overflowing append added nothing (no partial copy)");
    w3_sbuf_adds(&b, "");
    w3_sbuf_printf(&b, "%s", "");
    is_int(w3_sbuf_done(&b), -E2BIG, "stays failed, even after appends that would fit");
    w3_sbuf_free(&b);

    w3_sbuf_init(&b, 10);
    w3_sbuf_adds(&b, "abc");
    w3_sbuf_printf(&b, "%s", "0123456789");
    is_int(w3_sbuf_done(&b), -E2BIG, "printf past max: -E2BIG");
    is_str(w3_sbuf_str(&b), "abc", "printf added nothing");
    w3_sbuf_adds(&b, "d");
    is_str(w3_sbuf_str(&b), "abc", "appends after a failure are no-ops");
    w3_sbuf_free(&b);

    w3_sbuf_init(&b, 0);
    w3_sbuf_add(&b, "", 0);
    is_int(w3_sbuf_done(&b), 0, "max 0: an empty append fits");
    w3_sbuf_add(&b, "a", 1);
    is_int(w3_sbuf_done(&b), -E2BIG, "max 0: one byte does not");
    w3_sbuf_free(&b);

    w3_sbuf_init(&b, 8);
    w3_sbuf_add(&b, "a", (size_t)-1);
    is_int(w3_sbuf_done(&b), -E2BIG, "a length that would overflow size_t is refused, not wrapped");
    w3_sbuf_free(&b);
}

/* The issue-9 reproduction: 32 ten-digit extensions in a 58-character
 * domain used to render 23 legs. A builder big enough holds all 32; a small
 * one refuses instead of keeping 23. */
static void ring_group_repro(void)
{
    const char *domain = "long-customer-domain-for-the-ring-group-test.example.co.it";
    is_int(strlen(domain), 58, "a 58-character domain");
    for (int pass = 0; pass < 2; pass++) {
        w3_sbuf_t b;
        w3_sbuf_init(&b, pass == 0 ? 32 * 1024 : 2048);
        for (int i = 0; i < 32; i++)
            w3_sbuf_printf(&b, "%s[leg_timeout=20]user/%lld@%s", i ? "," : "", 3000000000LL + i, domain);
        if (pass == 0) {
            is_int(w3_sbuf_done(&b), 0, "32 legs fit a 32 KiB builder");
            int legs = 0;
            for (const char *p = w3_sbuf_str(&b); (p = strstr(p, "user/")) != NULL; p++)
                legs++;
            is_int(legs, 32, "all 32 legs are there");
            ok(strstr(w3_sbuf_str(&b), "user/3000000031@long-customer-domain-for-the-ring-group-test.example.co.it") !=
                   NULL,
               "the last leg carries the whole domain");
        } else {
            is_int(w3_sbuf_done(&b), -E2BIG, "a 2 KiB builder refuses 32 legs instead of keeping a prefix");
        }
        w3_sbuf_free(&b);
    }
}

int main(void)
{
    fits();
    fails_closed();
    ring_group_repro();
    return tap_done();
}
