/* The per-worker answer cache (issue 14): a lookup seen before is answered
 * from the cache, and never stale — the very next answer after a change made
 * with the API or the sqlite3 CLI reflects it; CDRs do not empty it; another
 * tenant's identical-looking request is another answer; purpose=gateways is
 * never kept; with a generation trigger dropped nothing is kept at all. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define DA "tenantA.edvoip.it"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define NAME_PATH                                                                                                      \
    "/document/section[@name='directory']/domain/groups/group/users/user[@id='100']/variables/"                        \
    "variable[@name='effective_caller_id_name']/@value"
#define A1_PATH                                                                                                        \
    "/document/section[@name='directory']/domain/groups/group/users/user[@id='100']/params/"                           \
    "param[@name='a1-hash']/@value"

static h_server_t srv;

static char *answer(char *body)
{
    h_resp_t r;
    h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
    char *xml = r.status == 200 && r.body ? xstrdup(r.body) : xstrdup("");
    h_resp_free(&r);
    free(body);
    return xml;
}

static char *xp(const char *xml, const char *expr)
{
    char *v = h_xpath(xml, strlen(xml), expr);
    return v ? v : xstrdup("");
}

static long long hits(void)
{
    return h_metric(srv.port, "w3voipd_answer_cache_hits_total");
}

static char *register_a(void)
{
    return answer(h_capture("directory-sip_auth-register.form", NULL));
}

static char *did_call(const char *did)
{
    return answer(h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", did, "Caller-Destination-Number",
                            did, "variable_sip_to_user", did, "variable_sip_req_user", did,
                            "variable_destination_number", did, NULL));
}

int main(void)
{
    const char *extra[] = {"--workers", "1", NULL};
    if (!ok(h_server_start(&srv, NULL, extra) == 0, "w3voipd starts (one worker: one cache)"))
        return tap_done();
    char *plat = h_token(&srv, NULL, NULL);

    char *a = register_a();
    long long h0 = hits();
    char *b = register_a();
    ok(hits() == h0 + 1 && strcmp(a, b) == 0 && strstr(a, "a1-hash"),
       "the same REGISTER again: a hit, the same answer");
    free(b);

    /* another Call-ID, another timestamp: fields the lookup never reads */
    b = answer(h_rewrite("directory-sip_auth-register.form", "Event-Date-Timestamp", "1", "sip_call_id", "other@x",
                         "Core-UUID", "00000000-0000-4000-8000-000000000000", NULL));
    ok(hits() == h0 + 2 && strcmp(a, b) == 0, "  ...and with other values in fields it never reads: a hit too");
    free(b);

    b = answer(h_capture("directory-sip_auth-register-tenantB.form", NULL));
    char *a1a = xp(a, A1_PATH), *a1b = h_xpath(b, strlen(b), "//param[@name='a1-hash']/@value");
    ok(a1b && strcmp(a1a, a1b) != 0 && strstr(b, "tenantB.edvoip.it") && !strstr(b, "tenantA.edvoip.it"),
       "100@tenantB right after 100@tenantA: tenant B's own answer, nothing of A's");
    free(a1b);
    free(b);

    h_sql(srv.db,
          "UPDATE voip_extensions SET display_name = 'Via sqlite3' WHERE ext_number = '100' AND sip_domain = '" DA "'");
    b = register_a();
    char *v = xp(b, NAME_PATH);
    is_str(v, "Via sqlite3", "a sqlite3 change: the very next REGISTER reflects it");
    free(v);
    free(b);

    h_resp_t r;
    h_api(srv.port, "PUT", "/api/voip/provision/extensions/100?sip_domain=" DA, plat,
          "{\"store_id\":\"" SA1 "\",\"user_id\":\"a1000000-0000-4000-8000-000000000100\",\"display_name\":\"Via "
          "API\",\"password\":\"fresh-100\",\"cos\":\"national\"}",
          &r);
    is_int(r.status, 200, "an API change (display name and password of 100)");
    h_resp_free(&r);
    b = register_a();
    v = xp(b, NAME_PATH);
    char *a1 = xp(b, A1_PATH), want[33];
    h_md5("100:" DA ":fresh-100", want);
    ok(strcmp(v, "Via API") == 0 && strcmp(a1, want) == 0, "  ...the very next REGISTER has the new name and a1-hash");
    free(v);
    free(a1);
    free(b);
    b = register_a();
    long long h1 = hits();
    free(b);
    size_t len;
    char *cdr = h_capture("cdr-json-a-leg.json", &len);
    const char *hdrs[] = {"Authorization: Basic ZnNub2RlOnNlY3JldA==", "Content-Type: application/json", NULL};
    h_request(srv.port, "POST", "/fs/cdr", hdrs, cdr, len, &r);
    is_int(r.status, 201, "a CDR is stored");
    h_resp_free(&r);
    free(cdr);
    b = register_a();
    ok(hits() == h1 + 1, "  ...and the REGISTER after it is still a hit (CDRs do not empty the cache)");
    free(b);

    char *d1 = did_call("+39061234568");
    long long h2 = hits();
    char *d2 = did_call("+39061234568");
    ok(hits() == h2 + 1 && strcmp(d1, d2) == 0, "a DID call again: a hit");
    free(d2);
    h_api(srv.port, "PUT", "/api/voip/provision/dids/%2B39061234568?sip_domain=" DA, plat,
          "{\"store_id\":\"" SA1 "\",\"target_type\":\"ext\",\"target_ref\":\"101\"}", &r);
    h_resp_free(&r);
    d2 = did_call("+39061234568");
    ok(strstr(d2, "user/101@" DA) && !strstr(d2, "user/100@" DA),
       "  ...the DID moved to 101: the very next call rings 101");
    free(d1);
    free(d2);

    long long h3 = hits();
    b = answer(h_capture("directory-gateways.form", NULL));
    free(answer(h_capture("directory-gateways.form", NULL)));
    ok(strstr(b, "gateway") && hits() == h3, "purpose=gateways twice: never from the cache (its secrets live outside)");
    free(b);

    /* the trigger dropped, a change written past it and the trigger put back,
     * all between two requests: the generation did not move, the schema did */
    free(register_a());
    long long hb = hits();
    char *trig = h_sql_text(srv.db, "SELECT sql FROM sqlite_master WHERE name = 'log_voip_extensions_update'");
    w3_buf_t sql = {0};
    w3_buf_printf(
        &sql,
        "DROP TRIGGER log_voip_extensions_update; UPDATE voip_extensions SET display_name = 'Behind the back' "
        "WHERE ext_number = '100' AND sip_domain = '" DA "'; %s;",
        trig ? trig : "");
    is_int(h_sql(srv.db, sql.data), 0, "a sqlite3 session drops the trigger, writes, and re-creates it");
    b = register_a();
    v = xp(b, NAME_PATH);
    ok(strcmp(v, "Behind the back") == 0 && hits() == hb,
       "the very next answer has that change: a schema change empties the cache (got '%s')", v);
    free(v);
    free(b);
    w3_buf_free(&sql);
    free(trig);

    h_sql(srv.db, "DROP TRIGGER log_voip_extensions_update");
    free(register_a());
    long long h4 = hits();
    h_sql(srv.db,
          "UPDATE voip_extensions SET display_name = 'No trigger' WHERE ext_number = '100' AND sip_domain = '" DA "'");
    b = register_a();
    v = xp(b, NAME_PATH);
    ok(strcmp(v, "No trigger") == 0 && hits() == h4,
       "a generation trigger dropped: nothing is kept, the change written without it is answered at once");
    free(v);
    free(b);
    free(a);
    free(a1a);
    free(plat);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");

    /* --answer-cache-bytes 0: every answer looked up, none counted */
    const char *off[] = {"--workers", "1", "--answer-cache-bytes", "0", NULL};
    if (ok(h_server_start(&srv, NULL, off) == 0, "w3voipd starts with --answer-cache-bytes 0")) {
        a = register_a();
        b = register_a();
        ok(strstr(a, "a1-hash") && strcmp(a, b) == 0, "  ...and answers the same REGISTER twice");
        long long misses = h_metric(srv.port, "w3voipd_answer_cache_misses_total");
        ok(hits() == 0 && misses == 0, "  ...with no cache: no hit, no miss counted (%lld, %lld)", hits(), misses);
        free(a);
        free(b);
        is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    }
    return tap_done();
}
