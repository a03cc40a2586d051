/* section=directory through a real w3voipd: every lookup kind FreeSWITCH
 * 1.10.12 made in the captures, posted byte for byte as captured, plus
 * variants rewritten from them. Answers are checked with XPath on values. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SB1 "b5000000-0000-4000-8000-000000000001"
#define USER_PATH "/document/section[@name='directory']/domain/groups/group/users/user"

static h_server_t srv;

static h_resp_t post(const char *body)
{
    h_resp_t r;
    if (h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r) != 0)
        memset(&r, 0, sizeof(r));
    return r;
}

static h_resp_t post_capture(const char *name)
{
    char *body = h_capture(name, NULL);
    h_resp_t r = post(body);
    free(body);
    return r;
}

static char *xp(const h_resp_t *r, const char *expr)
{
    return r->body ? h_xpath(r->body, r->body_len, expr) : NULL;
}

static int xc(const h_resp_t *r, const char *expr)
{
    return r->body ? h_xpath_count(r->body, r->body_len, expr) : -1;
}

static void is_xp(const h_resp_t *r, const char *expr, const char *want, const char *name)
{
    char *got = xp(r, expr);
    is_str(got, want, name);
    free(got);
}

static bool is_not_found(const h_resp_t *r)
{
    return r->status == 200 && xc(r, "/document/section[@name='result']/result[@status='not found']") == 1 &&
           xc(r, "//domain") == 0;
}

/* Pre-processor safety of any answer: no declaration, no "<?", one element
 * per line. */
static void check_shape(const h_resp_t *r, const char *name)
{
    bool ok_shape = r->body && strstr(r->body, "<?") == NULL && strstr(r->body, "$${") == NULL &&
                    strncmp(r->body, "<document", 9) == 0;
    int lines = 0, elements = 0;
    for (const char *p = r->body ? r->body : ""; *p; p++) {
        lines += *p == '\n';
        elements += p[0] == '<' && p[1] != '/';
    }
    ok(ok_shape && elements <= lines, "%s: pre-processor safe, one element per line (%d elements, %d lines)", name,
       elements, lines);
}

static void check_user(const h_resp_t *r, const char *label, const char *ext, const char *domain, const char *pass,
                       const char *tenant, const char *store, const char *user_id)
{
    char a1src[256], a1[33], expr[256];
    snprintf(a1src, sizeof(a1src), "%s:%s:%s", ext, domain, pass);
    h_md5(a1src, a1);
    is_int(r->status, 200, label);
    check_shape(r, label);
    snprintf(expr, sizeof(expr), "count(/document/section[@name='directory']/domain[@name='%s'])", domain);
    is_int(xc(r, "/document/section[@name='directory']/domain"), 1, "one domain element");
    is_xp(r, "/document/section/domain/@name", domain, "domain name is the tenant's domain");
    ok(xc(r, "/document/section/domain/params/param[@name='dial-string']") == 1, "domain carries dial-string");
    snprintf(expr, sizeof(expr), USER_PATH "[@id='%s']", ext);
    is_int(xc(r, expr), 1, "user sits in domain/groups/group/users/user");
    is_xp(r, USER_PATH "/params/param[@name='a1-hash']/@value", a1, "a1-hash = md5(ext:domain:password)");
    is_int(xc(r, "//param[@name='password']"), 0, "no clear password param");
    is_int(xc(r, USER_PATH "/@cacheable"), 0, "cacheable off by default");
    is_xp(r, USER_PATH "/variables/variable[@name='tenant_id']/@value", tenant, "tenant_id variable");
    is_xp(r, USER_PATH "/variables/variable[@name='store_id']/@value", store, "store_id variable");
    is_xp(r, USER_PATH "/variables/variable[@name='user_id']/@value", user_id, "user_id variable");
    is_xp(r, USER_PATH "/variables/variable[@name='sip_domain']/@value", domain, "sip_domain variable");
    is_xp(r, USER_PATH "/variables/variable[@name='user_context']/@value", "internal", "user_context internal");
    is_xp(r, USER_PATH "/variables/variable[@name='effective_caller_id_number']/@value", ext,
          "caller id number is the extension");
}

static void captured_lookups(void)
{
    h_resp_t r = post_capture("directory-sip_auth-register.form");
    check_user(&r, "REGISTER 100@A", "100", "tenantA.edvoip.it", "pass100A", TA, SA1,
               "a1000000-0000-4000-8000-000000000100");
    is_xp(&r, USER_PATH "/variables/variable[@name='cos']/@value", "national", "cos of 100@A");
    h_resp_free(&r);

    r = post_capture("directory-sip_auth-register-tenantB.form");
    check_user(&r, "REGISTER 100@B", "100", "tenantB.edvoip.it", "pass100B", TB, SB1,
               "b1000000-0000-4000-8000-000000000100");
    h_resp_free(&r);

    r = post_capture("directory-sip_auth-register-wrong-password.form");
    check_user(&r, "REGISTER with wrong password gets the same user (FreeSWITCH checks the digest)", "100",
               "tenantA.edvoip.it", "pass100A", TA, SA1, "a1000000-0000-4000-8000-000000000100");
    h_resp_free(&r);

    r = post_capture("directory-sip_auth-invite.form");
    check_user(&r, "INVITE auth 100@A", "100", "tenantA.edvoip.it", "pass100A", TA, SA1,
               "a1000000-0000-4000-8000-000000000100");
    h_resp_free(&r);

    r = post_capture("directory-sip_auth-invite-ruri-host-ip.form");
    check_user(&r, "INVITE auth with R-URI host = IP", "100", "tenantA.edvoip.it", "pass100A", TA, SA1,
               "a1000000-0000-4000-8000-000000000100");
    h_resp_free(&r);

    r = post_capture("directory-sip_auth-invite-tenantB-to-tenantA-ruri.form");
    check_user(&r, "INVITE from 100@B to 101@A authenticates against tenant B", "100", "tenantB.edvoip.it", "pass100B",
               TB, SB1, "b1000000-0000-4000-8000-000000000100");
    is_int(xc(&r, "//variable[@value='" TA "']"), 0, "no tenant A id in tenant B's answer");
    h_resp_free(&r);

    r = post_capture("directory-user_call.form");
    check_user(&r, "bridge user/101@A (user_call)", "101", "tenantA.edvoip.it", "pass101A", TA, SA1,
               "a1000000-0000-4000-8000-000000000101");
    h_resp_free(&r);

    r = post_capture("directory-voicemail.form");
    check_user(&r, "voicemail-lookup 200@A", "200", "tenantA.edvoip.it", "pass200A", TA,
               "a5000000-0000-4000-8000-000000000002", "a1000000-0000-4000-8000-000000000200");
    is_xp(&r, USER_PATH "/variables/variable[@name='w3_voicemail']/@value", "false", "200 has voicemail off");
    is_xp(&r, USER_PATH "/variables/variable[@name='w3_fwd_no_answer']/@value", "101", "200 forwards to 101");
    is_xp(&r, USER_PATH "/variables/variable[@name='w3_fwd_no_answer_timeout']/@value", "20", "after 20 s");
    h_resp_free(&r);
    /* without a timeout of its own: the directory says what the dialplan
     * does, one default of 30 s */
    h_sql(srv.db, "UPDATE voip_extensions SET forwarding = '{\"no_answer\":\"101\"}' WHERE "
                  "sip_domain = 'tenantA.edvoip.it' AND ext_number = '200'");
    r = post_capture("directory-voicemail.form");
    is_xp(&r, USER_PATH "/variables/variable[@name='w3_fwd_no_answer_timeout']/@value", "30",
          "no timeout in the row: the directory says 30 s");
    h_resp_free(&r);
    r = post_capture("dialplan-internal-ext-voicemail-fallback.form");
    ok(r.body && strstr(r.body, "data=\"call_timeout=30\""), "  ...and the dialplan rings 200 for 30 s");
    h_resp_free(&r);
    h_sql(srv.db, "UPDATE voip_extensions SET forwarding = '{\"no_answer\":\"101\",\"no_answer_timeout\":20}' "
                  "WHERE sip_domain = 'tenantA.edvoip.it' AND ext_number = '200'");

    r = post_capture("directory-voicemail-message-count-on-register.form");
    check_user(&r, "message-count 101@A (after REGISTER)", "101", "tenantA.edvoip.it", "pass101A", TA, SA1,
               "a1000000-0000-4000-8000-000000000101");
    h_resp_free(&r);

    r = post_capture("directory-user_data-noaction.form");
    check_user(&r, "user_data without action", "101", "tenantA.edvoip.it", "pass101A", TA, SA1,
               "a1000000-0000-4000-8000-000000000101");
    h_resp_free(&r);

    r = post_capture("directory-user_data-number-alias-retry.form");
    check_user(&r, "user_data retry with key=number-alias", "101", "tenantA.edvoip.it", "pass101A", TA, SA1,
               "a1000000-0000-4000-8000-000000000101");
    h_resp_free(&r);

    r = post_capture("directory-acl-network-list.form");
    ok(is_not_found(&r), "purpose=network-list → not-found document with 200");
    check_shape(&r, "not-found");
    h_resp_free(&r);
}

#define GW(name)                                                                                                       \
    "/document/section[@name='directory']/domain/groups/group/users/user/gateways/gateway[@name='" name "']"

static void gateways(void)
{
    static const char *const files[] = {"directory-gateways.form", "directory-gateways-internal-profile.form",
                                        "directory-gateways-rescan.form"};
    for (size_t i = 0; i < 3; i++) {
        h_resp_t r = post_capture(files[i]);
        is_int(r.status, 200, files[i]);
        check_shape(&r, files[i]);
        is_int(xc(&r, "/document/section/domain"), 2, "both tenants' domains listed");
        is_int(xc(&r, GW("tenantA_store01")), 1, "tenantA_store01 sits where sofia reads it (groups layout)");
        is_int(xc(&r, "/document/section/domain[@name='tenantA.edvoip.it']//gateway[@name='tenantA_store01']"), 1,
               "tenantA_store01 under tenant A's domain");
        is_int(xc(&r, "/document/section/domain[@name='tenantB.edvoip.it']//gateway[@name='tenantB_store01']"), 1,
               "tenantB_store01 under tenant B's domain");
        is_int(xc(&r, "//domain/users//gateway"), 0, "no gateway in the flat layout sofia ignores");
        is_xp(&r, GW("tenantA_store01") "/param[@name='proxy']/@value", "127.0.0.1:5090", "proxy with port");
        is_xp(&r, GW("tenantA_store01") "/param[@name='register']/@value", "false", "register false");
        is_xp(&r, GW("tenantA_store01") "/param[@name='extension']/@value", "auto_to_user", "extension=auto_to_user");
        is_xp(&r, GW("tenantA_store01") "/param[@name='context']/@value", "public", "context public");
        is_xp(&r, GW("tenantA_store01") "/variables/variable[@name='tenant_id'][@direction='inbound']/@value", TA,
              "inbound tenant_id variable");
        is_xp(&r, GW("tenantB_store01") "/variables/variable[@name='tenant_id'][@direction='outbound']/@value", TB,
              "outbound tenant_id of B's gateway");
        is_int(xc(&r, GW("tenantA_store02")), 0,
               "tenantA_store02 left out: its secret_ref env var is not set (one bad secret skips one gateway)");
        h_resp_free(&r);
    }
}

static void gateways_with_secret(void)
{
    h_server_t saved = srv;
    setenv("W3_TRUNK_TENANTA_STORE02", "s3cr&t$$x", 1);
    if (h_server_start(&srv, NULL, NULL) != 0) {
        ok(0, "server with trunk secret starts");
        srv = saved;
        return;
    }
    unsetenv("W3_TRUNK_TENANTA_STORE02");
    h_resp_t r = post_capture("directory-gateways.form");
    is_int(xc(&r, GW("tenantA_store02")), 1, "tenantA_store02 present once its secret resolves");
    is_xp(&r, GW("tenantA_store02") "/param[@name='password']/@value", "s3cr&t$$x",
          "password resolved from env:, escaped and $ protected, parses back exactly");
    ok(strstr(r.body ? r.body : "", "$$") == NULL, "no raw '$$' reaches FreeSWITCH's pre-processor");
    is_xp(&r, GW("tenantA_store02") "/param[@name='username']/@value", "0298765432", "username");
    is_xp(&r, GW("tenantA_store02") "/param[@name='register']/@value", "true", "register true");
    h_resp_free(&r);

    /* the domain-specific form of the gateway fetch (<domain name=X parse=true>) */
    char *body = h_capture("directory-gateways.form", NULL);
    char *b1 = h_form_set(body, "tag_name", "domain");
    char *b2 = h_form_set(b1, "key_name", "name");
    char *b3 = h_form_set(b2, "key_value", "tenantB.edvoip.it");
    r = post(b3);
    is_int(xc(&r, "/document/section/domain"), 1, "domain-specific gateway fetch lists one domain");
    is_int(xc(&r, GW("tenantB_store01")), 1, "with tenant B's gateway");
    is_int(xc(&r, "//gateway[starts-with(@name,'tenantA')]"), 0, "and none of tenant A's");
    h_resp_free(&r);
    free(body);
    free(b1);
    free(b2);
    free(b3);
    is_int(h_server_stop(&srv), 0, "server with secret exits cleanly");
    srv = saved;
}

static void variants(void)
{
    char *reg = h_capture("directory-sip_auth-register.form", NULL);

    char *b = h_form_set(reg, "user", "999");
    h_resp_t r = post(b);
    ok(is_not_found(&r), "unknown user → not found (200)");
    h_resp_free(&r);
    free(b);

    char *b1 = h_form_set(reg, "key_value", "tenantX.edvoip.it");
    b = h_form_set(b1, "domain", "tenantX.edvoip.it");
    r = post(b);
    ok(is_not_found(&r), "unknown domain → not found (200)");
    h_resp_free(&r);
    free(b1);
    free(b);

    b = h_form_set(reg, "user", "nobody");
    r = post(b);
    ok(is_not_found(&r), "user 'nobody' (empty digest username) → not found");
    h_resp_free(&r);
    free(b);

    /* case-insensitive domain match: phones write the domain as they like */
    b1 = h_form_set(reg, "key_value", "TENANTA.edvoip.IT");
    b = h_form_set(b1, "domain", "TENANTA.edvoip.IT");
    r = post(b);
    is_int(xc(&r, USER_PATH "[@id='100']"), 1, "domain compared case-insensitively");
    h_resp_free(&r);
    free(b1);
    free(b);

    /* domain-only lookup (no user): the domain with its dial-string */
    b1 = h_form_set(reg, "user", NULL);
    b = h_form_set(b1, "key", NULL);
    r = post(b);
    is_int(r.status, 200, "domain-only lookup 200");
    is_int(xc(&r, "/document/section/domain[@name='tenantA.edvoip.it']/params/param[@name='dial-string']"), 1,
           "domain-only answer carries dial-string");
    is_int(xc(&r, "//user"), 0, "and no user");
    h_resp_free(&r);
    free(b1);
    free(b);

    /* a disabled extension disappears at once: no in-process cache */
    ok(h_sql(srv.db, "UPDATE voip_extensions SET enabled = 0 WHERE sip_domain = 'tenantA.edvoip.it' AND "
                     "ext_number = '100'") == 0,
       "disable 100@A with the sqlite3-style write");
    r = post(reg);
    ok(is_not_found(&r), "disabled extension → not found on the very next lookup");
    h_resp_free(&r);
    h_sql(srv.db, "UPDATE voip_extensions SET enabled = 1 WHERE ext_number = '100'");
    r = post(reg);
    is_int(xc(&r, USER_PATH "[@id='100']"), 1, "re-enabled extension is back");
    h_resp_free(&r);

    /* a disabled tenant: users, domain and gateways all gone */
    h_sql(srv.db, "UPDATE tenants SET enabled = 0 WHERE sip_domain = 'tenantA.edvoip.it'");
    r = post(reg);
    ok(is_not_found(&r), "disabled tenant → its users are not found");
    h_resp_free(&r);
    b1 = h_form_set(reg, "user", NULL);
    r = post(b1);
    ok(is_not_found(&r), "disabled tenant → its domain is not found");
    h_resp_free(&r);
    free(b1);
    r = post_capture("directory-gateways.form");
    is_int(xc(&r, "/document/section/domain[@name='tenantA.edvoip.it']"), 0, "disabled tenant left out of gateways");
    is_int(xc(&r, GW("tenantB_store01")), 1, "the other tenant's gateway is still there");
    h_resp_free(&r);
    h_sql(srv.db, "UPDATE tenants SET enabled = 1 WHERE sip_domain = 'tenantA.edvoip.it'");
    free(reg);
}

static void other_sections(void)
{
    char *reg = h_capture("directory-sip_auth-register.form", NULL);
    char *b = h_form_set(reg, "section", "configuration");
    h_resp_t r = post(b);
    ok(is_not_found(&r), "section=configuration → not found (FreeSWITCH keeps its files)");
    h_resp_free(&r);
    free(b);
    free(reg);
}

static void db_failure(void)
{
    /* a database that cannot answer (here: the extensions table renamed
     * away under the running server) must give 503 — FreeSWITCH then tries
     * the next binding — never a false not-found for a user who exists */
    char *reg = h_capture("directory-sip_auth-register.form", NULL);
    ok(h_sql(srv.db, "ALTER TABLE voip_extensions RENAME TO voip_extensions_away") == 0, "break the database");
    h_resp_t r = post(reg);
    is_int(r.status, 503, "database failure → 503");
    ok(r.body && strstr(r.body, "not found") == NULL, "503 body is not the not-found document");
    h_resp_free(&r);
    ok(h_sql(srv.db, "ALTER TABLE voip_extensions_away RENAME TO voip_extensions") == 0, "repair it");
    r = post(reg);
    is_int(xc(&r, USER_PATH "[@id='100']"), 1, "repaired database → the user again, no restart");
    h_resp_free(&r);
    free(reg);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts on a free port with the demo database"))
        return tap_done();
    captured_lookups();
    gateways();
    variants();
    other_sections();
    gateways_with_secret();
    db_failure();
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0 on SIGTERM (and leak-free under ASan)");
    return tap_done();
}
