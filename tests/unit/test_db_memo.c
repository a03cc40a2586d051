/* schema/db_memo.c, the reader's memo of tenant-level rows: a domain is
 * found whatever the case of its ASCII letters (SQLite's NOCASE) and only
 * so; a remembered absence answers as one; store entries are keyed on the
 * store and its tenant together; keys too long for a slot are never
 * remembered; clear forgets everything; past half its slots the memo
 * empties itself instead of growing. */
#include <stdio.h>
#include <string.h>

#include "internal/db_memo.h"
#include "tap.h"

static db_memo_tenant_t tenant(const char *id, const char *domain)
{
    db_memo_tenant_t v = {.found = true};
    snprintf(v.t.tenant_id, sizeof(v.t.tenant_id), "%s", id);
    snprintf(v.t.sip_domain, sizeof(v.t.sip_domain), "%s", domain);
    v.t.enabled = true;
    v.t.config_gen = 7;
    return v;
}

int main(void)
{
    db_memo_t *m = db_memo_create();
    ok(db_memo_tenant(m, "a.example") == NULL && db_memo_store(m, "s", "t") == NULL, "an empty memo knows nothing");

    db_memo_tenant_t a = tenant("ta", "TenantA.Example");
    db_memo_tenant_put(m, "TenantA.Example", &a);
    const db_memo_tenant_t *got = db_memo_tenant(m, "tenanta.EXAMPLE");
    ok(got && got->found && strcmp(got->t.tenant_id, "ta") == 0 && got->t.config_gen == 7,
       "a domain is found in another case of its ASCII letters");
    ok(db_memo_tenant(m, "tenanta.example.") == NULL && db_memo_tenant(m, "tenant\xc3\xa0.example") == NULL,
       "  ...and not as another domain (a dot more, a non-ASCII letter)");

    db_memo_tenant_t none = {.found = false};
    db_memo_tenant_put(m, "nobody.example", &none);
    got = db_memo_tenant(m, "NOBODY.example");
    ok(got && !got->found, "an unknown domain is remembered as unknown");

    db_memo_store_t s1 = {.store_ok = true};
    strcpy(s1.caller_id_number, "+3906111");
    db_memo_store_put(m, "store1", "ta", &s1);
    const db_memo_store_t *gs = db_memo_store(m, "store1", "ta");
    ok(gs && gs->store_ok && strcmp(gs->caller_id_number, "+3906111") == 0, "a store of a tenant is found");
    ok(db_memo_store(m, "store1", "tb") == NULL && db_memo_store(m, "STORE1", "ta") == NULL,
       "  ...not under another tenant, nor in another case");
    db_memo_store_t s2 = {.store_ok = false};
    db_memo_store_put(m, "store1", "ta", &s2);
    gs = db_memo_store(m, "store1", "ta");
    ok(gs && !gs->store_ok && gs->caller_id_number[0] == '\0', "a second put of a key replaces its value");

    char longdomain[300];
    memset(longdomain, 'd', sizeof(longdomain) - 1);
    longdomain[sizeof(longdomain) - 1] = '\0';
    db_memo_tenant_put(m, longdomain, &a);
    char longstore[80];
    memset(longstore, 's', sizeof(longstore) - 1);
    longstore[sizeof(longstore) - 1] = '\0';
    db_memo_store_put(m, longstore, "ta", &s1);
    ok(db_memo_tenant(m, longdomain) == NULL && db_memo_store(m, longstore, "ta") == NULL,
       "keys longer than a slot's are never remembered");

    db_memo_clear(m);
    ok(db_memo_tenant(m, "tenanta.example") == NULL && db_memo_store(m, "store1", "ta") == NULL,
       "clear forgets tenants and stores");

    /* 256 domains fit (half of the 512 slots); the 257th put empties it */
    char d[64];
    for (int i = 0; i < 256; i++) {
        snprintf(d, sizeof(d), "t%03d.example", i);
        db_memo_tenant_t v = tenant("x", d);
        db_memo_tenant_put(m, d, &v);
    }
    int known = 0;
    for (int i = 0; i < 256; i++) {
        snprintf(d, sizeof(d), "T%03d.EXAMPLE", i);
        known += db_memo_tenant(m, d) != NULL;
    }
    is_int(known, 256, "256 domains remembered, each found");
    db_memo_tenant_t again = tenant("z", "t005.example");
    db_memo_tenant_put(m, "t005.example", &again);
    got = db_memo_tenant(m, "t005.example");
    ok(got && strcmp(got->t.tenant_id, "z") == 0 && db_memo_tenant(m, "t000.example") != NULL,
       "  ...a known one put again is replaced, and nothing else is forgotten");
    char st[32];
    for (int i = 0; i < 513; i++) {
        snprintf(st, sizeof(st), "store%d", i);
        db_memo_store_put(m, st, "ta", &s1);
    }
    ok(db_memo_store(m, "store512", "ta") != NULL && db_memo_store(m, "store0", "ta") == NULL &&
           db_memo_tenant(m, "t000.example") != NULL,
       "513 stores: the stores start again, the tenants stay");
    db_memo_tenant_t v = tenant("y", "one-more.example");
    db_memo_tenant_put(m, "one-more.example", &v);
    ok(db_memo_tenant(m, "t000.example") == NULL && db_memo_tenant(m, "one-more.example") != NULL,
       "  ...one more: the memo is emptied and keeps the newest only");

    /* emptied many times over: nothing of an earlier fill comes back */
    for (int i = 0; i < 1000; i++) {
        db_memo_clear(m);
        snprintf(d, sizeof(d), "round%d.example", i);
        db_memo_tenant_t r = tenant("r", d);
        db_memo_tenant_put(m, d, &r);
    }
    ok(db_memo_tenant(m, "round998.example") == NULL && db_memo_tenant(m, "round999.example") != NULL &&
           db_memo_tenant(m, "one-more.example") == NULL,
       "after 1,000 clears only the last fill is known");

    db_memo_destroy(m);
    db_memo_destroy(NULL);
    return tap_done();
}
