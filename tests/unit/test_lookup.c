/* lookup.h in-process: the directory and dialplan decisions of
 * lookup_answer(), without HTTP. A temporary database is migrated and loaded
 * with fixtures/demo.sql (h_demo_db), one read-only reader is opened as a
 * worker opens it, and captured FreeSWITCH 1.10.12 bodies (or variants
 * rewritten from them) go through lookup_answer(). The answers are read with
 * XPath and checked value by value. */
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "harness.h"
#include "log.h"
#include "lookup.h"
#include "tap.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define SA2 "a5000000-0000-4000-8000-000000000002"
#define UA100 "a1000000-0000-4000-8000-000000000100"
#define DOMAIN_A "tenantA.edvoip.it"
#define USER_PATH "/document/section[@name='directory']/domain/groups/group/users/user"
#define ACTIONS "/document/section[@name='dialplan']/context/extension/condition/action"

static lookup_ctx_t ctx;

/* One answer: status, and the XML body (NUL-terminated copy) when 200. */
typedef struct answer {
    int status;
    char *xml;
    size_t len;
    metrics_result_t result;
} answer_t;

static answer_t ask(const char *body)
{
    lookup_result_t res;
    lookup_answer(&ctx, body, strlen(body), &res);
    answer_t a = {.status = lookup_http_status(res.rc), .result = res.result};
    if (res.rc == 0 && res.body.data) {
        a.xml = malloc(res.body.len + 1);
        memcpy(a.xml, res.body.data, res.body.len);
        a.xml[res.body.len] = '\0';
        a.len = res.body.len;
    } else {
        printf("# lookup_answer: %d %s\n", lookup_http_status(res.rc), res.error ? res.error : "");
    }
    lookup_result_free(&res);
    return a;
}

static answer_t ask_capture(const char *name)
{
    char *body = h_capture(name, NULL);
    answer_t a = ask(body);
    free(body);
    return a;
}

static void answer_free(answer_t *a)
{
    free(a->xml);
    a->xml = NULL;
}

static void is_xp(const answer_t *a, const char *expr, const char *want, const char *name)
{
    char *got = a->xml ? h_xpath(a->xml, a->len, expr) : NULL;
    if (!is_str(got, want, name) && a->xml)
        printf("#   expr: %s\n", expr);
    free(got);
}

static int xc(const answer_t *a, const char *expr)
{
    return a->xml ? h_xpath_count(a->xml, a->len, expr) : -1;
}

/* ---- directory ----------------------------------------------------------- */

static void directory_register(void)
{
    answer_t a = ask_capture("directory-sip_auth-register.form");
    is_int(a.status, 200, "REGISTER 100@tenantA (sip_auth): 200");
    is_int(a.result, MX_OK, "REGISTER 100@tenantA: result ok");
    is_int(xc(&a, "/document/section[@name='directory']/domain"), 1, "one domain element");
    is_xp(&a, "/document/section[@name='directory']/domain/@name", DOMAIN_A, "the domain is tenant A's");
    is_int(xc(&a, USER_PATH), 1, "one user");
    is_xp(&a, USER_PATH "/@id", "100", "user id 100");
    char a1[33];
    h_md5("100:" DOMAIN_A ":pass100A", a1);
    is_xp(&a, USER_PATH "/params/param[@name='a1-hash']/@value", a1,
          "a1-hash = md5(\"100:tenantA.edvoip.it:pass100A\")");
    is_int(xc(&a, "//param[@name='password']"), 0, "no clear password");
    is_xp(&a, USER_PATH "/variables/variable[@name='tenant_id']/@value", TA, "tenant_id variable");
    is_xp(&a, USER_PATH "/variables/variable[@name='store_id']/@value", SA1, "store_id variable");
    is_xp(&a, USER_PATH "/variables/variable[@name='user_id']/@value", UA100, "user_id variable");
    is_xp(&a, USER_PATH "/variables/variable[@name='sip_domain']/@value", DOMAIN_A, "sip_domain variable");
    is_xp(&a, USER_PATH "/variables/variable[@name='user_context']/@value", "internal", "user_context internal");
    answer_free(&a);

    /* tenant B's 100 has its own password and ids */
    a = ask_capture("directory-sip_auth-register-tenantB.form");
    h_md5("100:tenantB.edvoip.it:pass100B", a1);
    is_int(a.status, 200, "REGISTER 100@tenantB: 200");
    is_xp(&a, USER_PATH "/params/param[@name='a1-hash']/@value", a1, "tenant B's a1-hash");
    is_xp(&a, USER_PATH "/variables/variable[@name='tenant_id']/@value", TB, "tenant B's tenant_id");
    is_int(xc(&a, "//variable[@value='" TA "']"), 0, "nothing of tenant A in tenant B's user");
    answer_free(&a);
}

static void directory_not_found(void)
{
    char *body = h_rewrite("directory-sip_auth-register.form", "key_value", "unknown.example", "domain",
                           "unknown.example", "sip_auth_realm", "unknown.example", NULL);
    answer_t a = ask(body);
    is_int(a.status, 200, "unknown domain: answered (FreeSWITCH expects a document)");
    is_int(a.result, MX_NOT_FOUND, "unknown domain: result not_found");
    is_int(xc(&a, "/document/section[@name='result']/result[@status='not found']"), 1,
           "unknown domain: the not-found document");
    is_int(xc(&a, "//domain"), 0, "no domain in it");
    is_int(xc(&a, "//user"), 0, "no user in it");
    answer_free(&a);
    free(body);

    body = h_rewrite("directory-sip_auth-register.form", "user", "999", "sip_auth_username", "999", NULL);
    a = ask(body);
    is_int(a.result, MX_NOT_FOUND, "unknown user of a known domain: not_found");
    is_int(xc(&a, "/document/section[@name='result']/result[@status='not found']"), 1,
           "unknown user: the not-found document");
    answer_free(&a);
    free(body);
}

static void directory_gateways(void)
{
    answer_t a = ask_capture("directory-gateways.form");
    is_int(a.status, 200, "gateways (sofia profile start): 200");
    is_int(xc(&a, "/document/section[@name='directory']/domain"), 2, "both tenants' domains");
    is_int(xc(&a, "//gateway"), 3, "three gateways: tenant A's two stores, tenant B's one");
    is_xp(&a, "/document/section/domain[@name='" DOMAIN_A "']/groups/group/users/user/gateways/gateway[1]/@name",
          "tenantA_store01", "tenant A's first gateway: tenantA_store01");
    is_xp(&a, "//gateway[@name='tenantA_store01']/param[@name='proxy']/@value", "127.0.0.1:5090",
          "tenantA_store01 proxy");
    is_xp(&a, "//gateway[@name='tenantA_store01']/param[@name='register']/@value", "false",
          "tenantA_store01 does not register");
    is_xp(&a, "//gateway[@name='tenantA_store01']/param[@name='context']/@value", "public",
          "tenantA_store01 calls land in context public");
    is_xp(&a, "//gateway[@name='tenantA_store01']/variables/variable[@name='tenant_id'][@direction='inbound']/@value",
          TA, "tenantA_store01 tags inbound calls with tenant A");
    is_xp(&a, "//gateway[@name='tenantA_store02']/param[@name='password']/@value", "s3cr$t<&>",
          "tenantA_store02's secret comes from its secret_ref (env), unescaped by the parser");
    is_xp(&a, "//gateway[@name='tenantA_store02']/param[@name='register']/@value", "true", "tenantA_store02 registers");
    is_xp(&a, "//gateway[@name='tenantA_store02']/variables/variable[@name='store_id'][@direction='outbound']/@value",
          SA2, "tenantA_store02 belongs to store 02");
    is_xp(&a, "/document/section/domain[@name='tenantB.edvoip.it']//gateway/@name", "tenantB_store01",
          "tenant B's gateway: tenantB_store01");
    answer_free(&a);
}

/* ---- dialplan ------------------------------------------------------------ */

static void dialplan_public_did(void)
{
    answer_t a = ask_capture("dialplan-public-did.form");
    is_int(a.status, 200, "public DID +39061234568: 200");
    is_xp(&a, "/document/section[@name='dialplan']/context/@name", "public", "context public");
    is_int(xc(&a, ACTIONS "[@application='bridge']"), 1, "one bridge");
    is_xp(&a, ACTIONS "[@application='bridge']/@data", "user/100@" DOMAIN_A, "bridge user/100@tenantA.edvoip.it");
    is_int(xc(&a, ACTIONS "[@application='export'][@data='tenant_id=" TA "']"), 1, "exports tenant A");
    is_int(xc(&a, ACTIONS "[@application='export'][@data='w3_direction=inbound']"), 1, "exports w3_direction=inbound");
    is_int(xc(&a, ACTIONS "[@application='export'][@data='w3_did=+39061234568']"), 1, "exports the DID in E.164");
    is_xp(&a, ACTIONS "[@application='voicemail']/@data", "default " DOMAIN_A " 100", "voicemail of 100 after");
    answer_free(&a);

    char *body =
        h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "+39069999999", "Caller-Destination-Number",
                  "+39069999999", "variable_sip_to_user", "+39069999999", "variable_sip_req_user", "+39069999999",
                  "variable_destination_number", "+39069999999", NULL);
    a = ask(body);
    is_xp(&a, ACTIONS "[@application='respond']/@data", "404 Not Found", "unknown DID: respond 404 Not Found");
    is_int(xc(&a, ACTIONS "[@application='bridge']"), 0, "unknown DID: no bridge");
    answer_free(&a);
    free(body);
}

static void dialplan_internal(void)
{
    answer_t a = ask_capture("dialplan-internal-outbound.form");
    is_int(a.status, 200, "100@tenantA dials 90612345678: 200");
    is_xp(&a, "/document/section[@name='dialplan']/context/@name", "internal", "context internal");
    is_int(xc(&a, ACTIONS "[@application='bridge']"), 1, "one bridge");
    is_xp(&a, ACTIONS "[@application='bridge']/@data",
          "[origination_caller_id_number=+390612345600]sofia/gateway/tenantA_store01/0612345678",
          "bridge sofia/gateway/tenantA_store01/0612345678 (the 9 cut, the store's caller id)");
    is_int(xc(&a, ACTIONS "[@application='export'][@data='w3_direction=outbound']"), 1, "w3_direction=outbound");
    is_int(xc(&a, ACTIONS "[@application='export'][@data='user_id=" UA100 "']"), 1, "exports the caller's user_id");
    answer_free(&a);

    a = ask_capture("dialplan-internal-ext.form");
    is_xp(&a, ACTIONS "[@application='bridge']/@data", "user/101@" DOMAIN_A, "100@tenantA dials 101: user/101@A");
    answer_free(&a);
}

static void dialplan_isolation(void)
{
    answer_t a = ask_capture("dialplan-internal-tenantB-101-isolation.form");
    is_int(a.status, 200, "100@tenantB dials 101 (only in tenant A): 200");
    is_int(xc(&a, ACTIONS "[@application='respond']"), 1, "one respond");
    is_xp(&a, ACTIONS "[@application='respond']/@data", "404 Not Found", "respond 404 Not Found");
    is_int(xc(&a, ACTIONS "[@application='bridge']"), 0, "no bridge");
    is_int(xc(&a, ACTIONS "[contains(@data, 'tenantA')]"), 0, "nothing of tenant A");
    is_int(xc(&a, ACTIONS "[@application='export'][@data='tenant_id=" TB "']"), 1, "the rejection exports tenant B");
    answer_free(&a);
}

int main(void)
{
    /* one gateway's secret is an env: reference (fixtures/demo.sql) */
    setenv("W3_TRUNK_TENANTA_STORE02", "s3cr$t<&>", 1);
    log_open("/dev/null", LOG_FMT_LOGFMT);
    xmlInitParser();
    char *dir = h_tmpdir();
    char *db_path = h_demo_db(dir, "w3.db");
    srv_config_t cfg;
    srv_config_defaults(&cfg);
    char *err = NULL;
    db_reader_t *db = db_reader_create(db_path, cfg.db_busy_timeout_ms, &err);
    if (!ok(db != NULL, "reader on the demo database (%s)", err ? err : "ok")) {
        free(err);
        return tap_done();
    }
    /* designated: fields the context may gain keep their zero default */
    ctx = (lookup_ctx_t){.db = db, .cfg = &cfg};

    directory_register();
    directory_not_found();
    directory_gateways();
    dialplan_public_did();
    dialplan_internal();
    dialplan_isolation();

    db_reader_destroy(db);
    srv_config_free(&cfg);
    h_rmrf(dir);
    free(db_path);
    free(dir);
    xmlCleanupParser();
    log_close();
    return tap_done();
}
