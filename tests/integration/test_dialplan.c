/* section=dialplan through a real w3voipd: captured FreeSWITCH requests
 * (and variants rewritten from them) are posted as FreeSWITCH posts them;
 * the answers are evaluated the way mod_dialplan_xml would (dp_eval.c) and
 * the executed actions are checked. Every rendered action is also checked
 * against the syntax of the FreeSWITCH application that runs it. */
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dp_eval.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"

static h_server_t srv;
static int syntax_checked, syntax_bad;

/* ---- FreeSWITCH application syntax, as the sources parse it ---------------
 * export/set: mod_dptools.c export_function/set_function split "var=value"
 *   at the first '='; the name is a channel variable name.
 * bridge: mod_dptools.c audio_bridge_function → switch_ivr_originate.c:
 *   legs joined by '|' (failover) or ',' (simultaneous), each optionally
 *   prefixed by [per-leg vars]; endpoints user/<ext>@<domain>
 *   (mod_dptools.c user_outgoing_channel) or sofia/gateway/<gw>/<number>.
 * respond: mod_dptools.c respond_function: "<code> <reason>".
 * transfer: mod_dptools.c transfer_function: "<exten> [<dialplan> <context>]".
 * voicemail: mod_voicemail.c voicemail_function:
 *   "[check] [auth] <profile> <domain> [<id>]".
 * hangup: mod_dptools.c hangup_function: a cause name (switch_channel.c
 *   CAUSE_CHART, upper case with underscores).
 * playback: mod_dptools.c playback_function: a file path.
 * answer, park: no argument.
 * set w3_fork=${uuid_audio_fork(...)}: mod_audio_fork FORK_API_SYNTAX
 *   "<uuid> start <wss-url> <mono|mixed|stereo> <8k|16k|…> [bugname]
 *   [metadata]"; arguments split on spaces, so metadata holds none. */
static bool matches(const char *s, const char *ere)
{
    regex_t re;
    if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok_ = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok_;
}

#define VAR "[A-Za-z_][A-Za-z0-9_]*"
#define LEGVARS "(\\[[A-Za-z_][A-Za-z0-9_]*=[^],]+(,[A-Za-z_][A-Za-z0-9_]*=[^],]+)*\\])?"
#define USERLEG "user/[0-9]+@[A-Za-z0-9.-]+"
#define GWLEG "sofia/gateway/[A-Za-z0-9_.-]+/[0-9+*#]+"
#define LEG LEGVARS "(" USERLEG "|" GWLEG ")"

static bool action_syntax_ok(const char *app, const char *data)
{
    if (strcmp(app, "export") == 0 || strcmp(app, "set") == 0) {
        if (strncmp(data, "w3_fork=${", 10) == 0)
            return matches(data, "^w3_fork=\\$\\{uuid_audio_fork\\(\\$\\{uuid\\} start wss?://[^ ]+ "
                                 "(mono|mixed|stereo) (8k|16k|8000|16000) [A-Za-z0-9_]+ \\{[^ ]*\\}\\)\\}$");
        return matches(data, "^" VAR "=[^\n]+$");
    }
    if (strcmp(app, "bridge") == 0)
        return matches(data, "^" LEG "(([|,])" LEG ")*$");
    if (strcmp(app, "respond") == 0)
        return matches(data, "^[3-6][0-9][0-9] [A-Za-z ]+$");
    if (strcmp(app, "transfer") == 0)
        return matches(data, "^[A-Za-z0-9_+*#]+ XML [A-Za-z0-9_.-]+$");
    if (strcmp(app, "sched_transfer") == 0) /* mod_dptools: [+]SECONDS EXTENSION DIALPLAN CONTEXT */
        return matches(data, "^\\+[0-9]+ [A-Za-z0-9_+*#]+ XML [A-Za-z0-9_.-]+$");
    if (strcmp(app, "voicemail") == 0)
        return matches(data, "^default [A-Za-z0-9.-]+ [0-9]+$");
    if (strcmp(app, "hangup") == 0)
        return matches(data, "^[A-Z_]+$");
    if (strcmp(app, "playback") == 0)
        return matches(data, "^[A-Za-z0-9_./-]+$");
    if (strcmp(app, "answer") == 0 || strcmp(app, "park") == 0)
        return data[0] == '\0';
    return false; /* an application this table does not know */
}

static void check_syntax(const dp_result_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        syntax_checked++;
        if (!action_syntax_ok(r->actions[i].app, r->actions[i].data)) {
            syntax_bad++;
            printf("# bad syntax: %s %s\n", r->actions[i].app, r->actions[i].data);
        }
    }
}

/* ---- requests ------------------------------------------------------------ */

/* Posts body, evaluates the answer; status in *status. */
static dp_result_t run(const char *body, int *status, char **xml)
{
    h_resp_t r;
    dp_result_t res = {0};
    h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
    *status = r.status;
    if (r.status == 200 && dp_eval(r.body, r.body_len, body, &res) == 0)
        check_syntax(&res);
    if (xml)
        *xml = r.body ? xstrdup(r.body) : NULL;
    h_resp_free(&r);
    return res;
}

static dp_result_t call(const char *body)
{
    int status;
    dp_result_t res = run(body, &status, NULL);
    if (status != 200)
        printf("# HTTP %d\n", status);
    return res;
}

static void show(const dp_result_t *r)
{
    char *d = dp_dump(r);
    printf("%s", d);
    free(d);
}

static bool has(const dp_result_t *r, const char *app, const char *data)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->actions[i].app, app) == 0 && strcmp(r->actions[i].data, data) == 0)
            return true;
    return false;
}

static bool any_mentions(const dp_result_t *r, const char *needle)
{
    for (size_t i = 0; i < r->n; i++)
        if (strstr(r->actions[i].data, needle))
            return true;
    return false;
}

/* index of the first action app (data prefix), or -1 */
static int pos(const dp_result_t *r, const char *app, const char *prefix)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->actions[i].app, app) == 0 && strncmp(r->actions[i].data, prefix, strlen(prefix)) == 0)
            return (int)i;
    return -1;
}

#define EXPECT(r, cond, ...)                                                                                           \
    do {                                                                                                               \
        if (!ok((cond), __VA_ARGS__))                                                                                  \
            show(&(r));                                                                                                \
    } while (0)

static char *did_request(const char *did)
{
    return h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", did, "Caller-Destination-Number", did,
                     "variable_sip_to_user", did, "variable_sip_req_user", did, "variable_destination_number", did,
                     NULL);
}

/* ---- public -------------------------------------------------------------- */

static void public_ext(void)
{
    char *body = h_capture("dialplan-public-did.form", NULL);
    dp_result_t r = call(body);
    EXPECT(r, r.found_context, "public DID: answer has the requested context");
    EXPECT(r, has(&r, "export", "tenant_id=" TA), "DID +39061234568: tenant A exported");
    EXPECT(r, has(&r, "export", "w3_direction=inbound"), "w3_direction=inbound");
    EXPECT(r, has(&r, "export", "w3_did=+39061234568"), "w3_did exported in E.164");
    EXPECT(r, has(&r, "export", "w3_target_type=ext") && has(&r, "export", "w3_target_ref=100"), "target ext 100");
    EXPECT(r, has(&r, "export", "store_id=a5000000-0000-4000-8000-000000000001"), "DID's store exported");
    int b = pos(&r, "bridge", "user/100@tenantA.edvoip.it");
    int vm = pos(&r, "voicemail", "default tenantA.edvoip.it 100");
    EXPECT(r, b >= 0 && vm > b, "bridge user/100@tenantA, then voicemail of 100 when nobody answers");
    EXPECT(r, pos(&r, "set", "continue_on_fail=") >= 0 && pos(&r, "set", "continue_on_fail=") < b,
           "continue_on_fail set before the bridge");
    const char *cof = dp_find(&r, "set", 1);
    EXPECT(r, cof && strstr(cof, "USER_NOT_REGISTERED") && strstr(cof, "SUBSCRIBER_ABSENT") && strstr(cof, "USER_BUSY"),
           "fallback on no answer, busy, USER_NOT_REGISTERED, SUBSCRIBER_ABSENT");
    dp_result_free(&r);
    free(body);

    body = h_capture("dialplan-public-did-noplus.form", NULL);
    r = call(body);
    EXPECT(r, has(&r, "bridge", "user/100@tenantA.edvoip.it") && has(&r, "export", "w3_did=+39061234568"),
           "DID without '+' (39061234568) normalised to +39061234568");
    dp_result_free(&r);
    free(body);

    body = did_request("061234568");
    r = call(body);
    EXPECT(r, has(&r, "bridge", "user/100@tenantA.edvoip.it"), "national form 061234568 + country code 39");
    dp_result_free(&r);
    free(body);

    body = did_request("0039061234568");
    r = call(body);
    EXPECT(r, has(&r, "bridge", "user/100@tenantA.edvoip.it"), "international 00 prefix normalised");
    dp_result_free(&r);
    free(body);

    body = h_capture("dialplan-public-gwplus-gateway-contact.form", NULL);
    r = call(body);
    EXPECT(r, has(&r, "bridge", "user/100@tenantA.edvoip.it"),
           "gw+ contact: destination 'FreeSWITCH', DID taken from the To user");
    dp_result_free(&r);
    free(body);

    body = did_request("+39067654321");
    r = call(body);
    EXPECT(r, has(&r, "export", "tenant_id=" TB) && has(&r, "bridge", "user/100@tenantB.edvoip.it"),
           "tenant B's DID reaches tenant B's 100");
    EXPECT(r, !any_mentions(&r, "tenantA"), "and nothing of tenant A");
    dp_result_free(&r);
    free(body);
}

static void public_reject(void)
{
    char *body = did_request("+39069999999");
    dp_result_t r = call(body);
    EXPECT(r, r.found_context && has(&r, "respond", "404 Not Found"), "unknown DID → respond 404 in context public");
    EXPECT(r, r.n >= 1 && strcmp(r.actions[r.n - 1].app, "respond") == 0, "the respond is the last action");
    EXPECT(r, !any_mentions(&r, "bridge"), "no bridge");
    dp_result_free(&r);
    free(body);

    h_sql(srv.db, "UPDATE voip_dids SET enabled = 0 WHERE e164 = '+39061234568'");
    body = h_capture("dialplan-public-did.form", NULL);
    r = call(body);
    EXPECT(r, has(&r, "respond", "404 Not Found"), "disabled DID → respond 404");
    dp_result_free(&r);
    free(body);
    h_sql(srv.db, "UPDATE voip_dids SET enabled = 1 WHERE e164 = '+39061234568'");

    /* tenant B's DID arriving through tenant A's trunk */
    body = h_rewrite("dialplan-public-gwplus-gateway-contact.form", "variable_sip_to_user", "+39067654321", NULL);
    r = call(body);
    EXPECT(r, has(&r, "respond", "403 Forbidden"), "tenant B's DID through tenantA_store01 → respond 403");
    EXPECT(r, !any_mentions(&r, TB) && !any_mentions(&r, "user/"), "nothing of tenant B is reached");
    dp_result_free(&r);
    free(body);

    /* ambiguous: +61234567 and +39 61234567 both exist */
    h_sql(srv.db, "INSERT INTO voip_dids (did_id, tenant_id, sip_domain, store_id, e164, route_target_type, "
                  "route_target_ref) VALUES ('amb1', '" TB "', 'tenantB.edvoip.it', "
                  "'b5000000-0000-4000-8000-000000000001', '+61234567', 'ext', '100'), ('amb2', '" TA
                  "', 'tenantA.edvoip.it', 'a5000000-0000-4000-8000-000000000001', '+3961234567', 'ext', '100')");
    body = did_request("61234567");
    r = call(body);
    EXPECT(r, has(&r, "respond", "404 Not Found") && !any_mentions(&r, "user/"),
           "ambiguous DID (+61234567 and +3961234567) → rejected");
    dp_result_free(&r);
    free(body);
    body = did_request("+61234567");
    r = call(body);
    EXPECT(r, has(&r, "bridge", "user/100@tenantB.edvoip.it"), "the same DID in E.164 is not ambiguous");
    dp_result_free(&r);
    free(body);
    h_sql(srv.db, "DELETE FROM voip_dids WHERE did_id IN ('amb1', 'amb2')");
}

static void public_ring_ai(void)
{
    char *body = did_request("+39021234567");
    dp_result_t r = call(body);
    EXPECT(r,
           has(&r, "bridge", "[leg_timeout=20]user/100@tenantA.edvoip.it,[leg_timeout=20]user/101@tenantA.edvoip.it"),
           "ring group simultaneous: ',' between members, leg_timeout per leg");
    EXPECT(r, has(&r, "export", "w3_target_type=ring") && has(&r, "export", "w3_target_ref=ring_store01"),
           "ring target exported");
    EXPECT(r, has(&r, "voicemail", "default tenantA.edvoip.it 100"), "ring group falls back to voicemail");
    dp_result_free(&r);
    h_sql(srv.db, "UPDATE voip_ring_groups SET strategy = 'sequential' WHERE ref = 'ring_store01'");
    r = call(body);
    EXPECT(r,
           has(&r, "bridge", "[leg_timeout=20]user/100@tenantA.edvoip.it|[leg_timeout=20]user/101@tenantA.edvoip.it"),
           "ring group sequential: '|' between members");
    dp_result_free(&r);
    h_sql(srv.db, "UPDATE voip_ring_groups SET strategy = 'simultaneous' WHERE ref = 'ring_store01'");
    free(body);

    body = did_request("+39061234567");
    r = call(body);
    EXPECT(r, has(&r, "export", "w3_target_type=ai") && has(&r, "export", "w3_target_ref=agent_voice_default"),
           "AI DID: target exported");
    int a = pos(&r, "answer", ""), f = pos(&r, "set", "w3_fork=${uuid_audio_fork(${uuid} start ");
    EXPECT(r, a >= 0 && f > a, "answer, then start the audio fork through variable expansion");
    const char *fork = f >= 0 ? r.actions[f].data : "";
    EXPECT(r, strstr(fork, "wss://voice-gateway/" TA "/agent_voice_default mono 16k") != NULL,
           "stream to the tenant's Voice Gateway: %s", fork);
    EXPECT(r, has(&r, "transfer", "w3_ai_result XML public"), "then back to w3voipd to check the result");
    dp_result_free(&r);
    free(body);

    body = h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "w3_ai_result", "Caller-Destination-Number",
                     "w3_ai_result", "variable_w3_did", "+39061234567", "variable_w3_fork", "+OK Success", NULL);
    r = call(body);
    EXPECT(r,
           r.n == 3 && pos(&r, "sched_transfer", "+1800 w3_ai_result XML public") == 0 &&
               pos(&r, "set", "w3_fork=-ERR AI call longer than 1800 s") == 1 && pos(&r, "park", "") == 2,
           "fork result +OK → park, bounded by --ai-max-seconds (1800) when no event-socket node watches the stream");
    dp_result_free(&r);
    char *b2 = h_form_set(body, "variable_w3_fork", "-ERR Failed to start");
    r = call(b2);
    EXPECT(r, !has(&r, "park", "") && pos(&r, "playback", "") >= 0 && pos(&r, "hangup", "") >= 0,
           "fork result not +OK → fallback (announcement, hangup)");
    dp_result_free(&r);
    free(b2);
    b2 = h_form_set(body, "variable_w3_did", "+39061234568");
    r = call(b2);
    EXPECT(r, has(&r, "respond", "404 Not Found"), "the AI check for a non-AI DID is refused");
    dp_result_free(&r);
    free(b2);
    free(body);
}

/* ---- internal ------------------------------------------------------------ */

static char *as_caller(const char *capture, const char *user, const char *domain, const char *dest)
{
    return h_rewrite(capture, "variable_user_name", user, "variable_domain_name", domain, "Hunt-Destination-Number",
                     dest, "Caller-Destination-Number", dest, "variable_tenant_id", NULL, NULL);
}

static void internal(void)
{
    char *body = h_capture("dialplan-internal-ext.form", NULL);
    dp_result_t r = call(body);
    EXPECT(r, has(&r, "bridge", "user/101@tenantA.edvoip.it"), "internal 100 → 101: bridge user/101@tenantA");
    EXPECT(r,
           has(&r, "export", "w3_direction=internal") &&
               has(&r, "export", "user_id=a1000000-0000-4000-8000-000000000100"),
           "internal call exports the caller's user_id and direction");
    EXPECT(r, has(&r, "voicemail", "default tenantA.edvoip.it 101"), "voicemail fallback of 101");
    dp_result_free(&r);
    free(body);

    body = h_capture("dialplan-internal-ruri-host-ip.form", NULL);
    r = call(body);
    EXPECT(r, has(&r, "bridge", "user/101@tenantA.edvoip.it"), "R-URI host is an IP: the caller's domain is used");
    dp_result_free(&r);
    free(body);

    body = h_capture("dialplan-internal-tenantB-101-isolation.form", NULL);
    r = call(body);
    EXPECT(r, has(&r, "respond", "404 Not Found") && !any_mentions(&r, "user/"),
           "tenant B's 100 dialling 101 (only in A) → 404");
    EXPECT(r, has(&r, "export", "w3_direction=internal") && has(&r, "export", "tenant_id=" TB),
           "the rejection exports direction and tenant B");
    dp_result_free(&r);
    free(body);

    body = h_capture("dialplan-internal-tenantB-caller-ruri-tenantA.form", NULL);
    r = call(body);
    EXPECT(r, has(&r, "respond", "404 Not Found") && !any_mentions(&r, "tenantA"),
           "tenant B's 100 dialling 101@tenantA → 404, tenant A unreachable");
    dp_result_free(&r);
    free(body);

    body = h_capture("dialplan-internal-user_context-from-directory.form", NULL);
    int ctx_status = 0;
    char *ctx_xml = NULL;
    r = run(body, &ctx_status, &ctx_xml);
    char *ctx_name =
        ctx_xml ? h_xpath(ctx_xml, strlen(ctx_xml), "/document/section[@name='dialplan']/context/@name") : NULL;
    is_str(ctx_name, "ctx_from_directory", "context name echoes Hunt-Context (ctx_from_directory)");
    is_int(ctx_xml ? h_xpath_count(ctx_xml, strlen(ctx_xml), "/document/section/context") : -1, 1,
           "exactly one context, no fallback to another");
    {
        /* the whole internal call 100@A → 101, as in context internal */
        /* the generation tenant A's configuration has reached in this database */
        char *gen_out = NULL, gen[64];
        w3_buf_t gen_cmd = {0};
        w3_buf_printf(&gen_cmd, "sqlite3 '%s' \"SELECT gen FROM voip_config_gen WHERE tenant_id = '" TA "'\"", srv.db);
        h_run(gen_cmd.data, &gen_out);
        snprintf(gen, sizeof(gen), "w3_config_gen=%ld", gen_out ? atol(gen_out) : -1L);
        free(gen_out);
        w3_buf_free(&gen_cmd);
        const char *const want[][2] = {
            {"export", "tenant_id=" TA},
            {"export", "store_id=a5000000-0000-4000-8000-000000000001"},
            {"export", "sip_domain=tenantA.edvoip.it"},
            {"export", "user_id=a1000000-0000-4000-8000-000000000100"},
            {"export", gen},
            {"export", "w3_direction=internal"},
            {"export", "w3_ext=101"},
            {"set", "hangup_after_bridge=true"},
            {"set", "continue_on_fail=NO_ANSWER,USER_BUSY,NO_USER_RESPONSE,USER_NOT_REGISTERED,SUBSCRIBER_ABSENT,"
                    "ALLOTTED_TIMEOUT,NORMAL_TEMPORARY_FAILURE,RECOVERY_ON_TIMER_EXPIRE,DESTINATION_OUT_OF_ORDER,"
                    "NO_ROUTE_DESTINATION,UNALLOCATED_NUMBER,CALL_REJECTED,NETWORK_OUT_OF_ORDER"},
            {"set", "call_timeout=30"},
            {"bridge", "user/101@tenantA.edvoip.it"},
            {"answer", ""},
            {"voicemail", "default tenantA.edvoip.it 101"},
        };
        bool same = ctx_status == 200 && r.found_context && r.n == W3_ARRAY_LEN(want);
        for (size_t i = 0; same && i < r.n; i++)
            same = strcmp(r.actions[i].app, want[i][0]) == 0 && strcmp(r.actions[i].data, want[i][1]) == 0;
        EXPECT(r, same,
               "ctx_from_directory runs exactly the 13 actions of 100 → 101 (exports with the config generation, "
               "bridge, voicemail)");
    }
    free(ctx_name);
    free(ctx_xml);
    dp_result_free(&r);
    free(body);

    /* spoofed caller id: From/caller-id say 101, the authenticated user is 100 */
    body = h_rewrite("dialplan-internal-outbound.form", "Caller-Caller-ID-Number", "101", "Hunt-Caller-ID-Number",
                     "101", "variable_sip_from_user", "101", "Caller-Username", "101", NULL);
    r = call(body);
    EXPECT(
        r,
        has(&r, "export", "user_id=a1000000-0000-4000-8000-000000000100") &&
            has(&r, "bridge", "[origination_caller_id_number=+390612345600]sofia/gateway/tenantA_store01/0612345678"),
        "spoofed caller-id 101: identity (and cos national) are still the authenticated 100's");
    dp_result_free(&r);
    free(body);

    body = h_rewrite("dialplan-internal-ext.form", "variable_sip_authorized", NULL, NULL);
    r = call(body);
    EXPECT(r, has(&r, "respond", "403 Forbidden") && !any_mentions(&r, "user/"), "unauthenticated caller → 403");
    dp_result_free(&r);
    free(body);

    body = h_rewrite("dialplan-internal-ext.form", "variable_tenant_id", TB, NULL);
    r = call(body);
    EXPECT(r, has(&r, "respond", "403 Forbidden"), "tenant_id variable contradicting the domain → 403");
    dp_result_free(&r);
    free(body);
}

static void routes_and_cos(void)
{
    char *body = h_capture("dialplan-internal-outbound.form", NULL);
    dp_result_t r = call(body);
    EXPECT(r, has(&r, "bridge", "[origination_caller_id_number=+390612345600]sofia/gateway/tenantA_store01/0612345678"),
           "9 + national for cos national: via the caller's store trunk, 9 stripped, trunk caller id");
    EXPECT(r, has(&r, "export", "w3_direction=outbound") && has(&r, "export", "w3_cos_class=national"),
           "outbound direction and class exported");
    dp_result_free(&r);
    free(body);

    static const struct {
        const char *user, *dest, *want, *name;
    } cases[] = {
        {"100", "900442071234567", "403", "9 + international refused for cos national"},
        {"100", "90033123456", "403", "short 00 number is international, not national, for cos national"},
        {"101", "9112", "sofia/gateway/tenantA_store01/112", "9112 allowed for cos internal (emergency)"},
        {"101", "112", "sofia/gateway/tenantA_store01/112", "112 without 9 allowed for cos internal"},
        {"101", "90612345678", "403", "9 + national refused for cos internal"},
        {"200", "98991234", "403", "premium refused for cos international"},
        {"200", "900442071234567", "sofia/gateway/tenantA_store02/00442071234567",
         "international allowed for cos international via store02's trunk"},
        {"100", "8888", "404", "no route, no extension → 404"},
    };
    for (size_t i = 0; i < W3_ARRAY_LEN(cases); i++) {
        body = as_caller("dialplan-internal-outbound.form", cases[i].user, "tenantA.edvoip.it", cases[i].dest);
        r = call(body);
        bool good;
        if (strcmp(cases[i].want, "403") == 0)
            good = has(&r, "respond", "403 Forbidden") && !any_mentions(&r, "sofia/gateway") &&
                   has(&r, "export", "w3_direction=outbound");
        else if (strcmp(cases[i].want, "404") == 0)
            good = has(&r, "respond", "404 Not Found") && !any_mentions(&r, "sofia/gateway");
        else
            good = any_mentions(&r, cases[i].want) && pos(&r, "bridge", "") >= 0;
        EXPECT(r, good, "%s (%s dials %s)", cases[i].name, cases[i].user, cases[i].dest);
        dp_result_free(&r);
        free(body);
    }

    /* several trunks: failover in priority order */
    h_sql(srv.db, "INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, gateway_name, proxy, priority, "
                  "caller_id_number) VALUES ('t-backup', '" TA "', 'tenantA.edvoip.it', "
                  "'a5000000-0000-4000-8000-000000000001', 'tenantA_store01_backup', '127.0.0.1', 5, '+390612345699')");
    body = h_capture("dialplan-internal-outbound.form", NULL);
    r = call(body);
    EXPECT(r,
           has(&r, "bridge",
               "[origination_caller_id_number=+390612345699]sofia/gateway/tenantA_store01_backup/0612345678|"
               "[origination_caller_id_number=+390612345600]sofia/gateway/tenantA_store01/0612345678"),
           "two trunks → failover '|' in priority order, each with its caller id");
    dp_result_free(&r);
    h_sql(srv.db, "UPDATE voip_trunks SET enabled = 0 WHERE store_id = 'a5000000-0000-4000-8000-000000000001'");
    r = call(body);
    EXPECT(r, has(&r, "respond", "503 Service Unavailable"), "no enabled trunk in the caller's store → 503");
    dp_result_free(&r);
    h_sql(srv.db, "DELETE FROM voip_trunks WHERE trunk_id = 't-backup'; UPDATE voip_trunks SET enabled = 1");
    free(body);
}

static void forwarding(void)
{
    /* 100 → 200: 200 forwards to 101 after 20 s without answer */
    char *body = h_capture("dialplan-internal-ext-voicemail-fallback.form", NULL);
    dp_result_t r = call(body);
    EXPECT(r, has(&r, "set", "call_timeout=20") && has(&r, "bridge", "user/200@tenantA.edvoip.it"),
           "200 rings for its no-answer timeout (20 s)");
    EXPECT(r, has(&r, "transfer", "w3_after_bridge XML internal") && has(&r, "export", "w3_fwd_from=200"),
           "then comes back to decide busy/no-answer forwarding");
    dp_result_free(&r);
    char *b2 = h_rewrite("dialplan-internal-ext-voicemail-fallback.form", "Hunt-Destination-Number", "w3_after_bridge",
                         "Caller-Destination-Number", "w3_after_bridge", "variable_w3_fwd_from", "200",
                         "variable_originate_disposition", "NO_ANSWER", NULL);
    r = call(b2);
    EXPECT(r, has(&r, "bridge", "user/101@tenantA.edvoip.it"), "no answer → forwarded to 101");
    EXPECT(r, !has(&r, "voicemail", "default tenantA.edvoip.it 200") && pos(&r, "hangup", "") >= 0,
           "200 has voicemail off: announcement and hangup after the forward");
    dp_result_free(&r);
    char *b3 = h_form_set(b2, "variable_originate_disposition", "USER_BUSY");
    r = call(b3);
    EXPECT(r, !any_mentions(&r, "user/101") && pos(&r, "hangup", "") >= 0,
           "busy → no busy forwarding configured → fallback, not the no-answer target");
    dp_result_free(&r);
    free(b3);
    /* a tenant B caller (100@B, its own tenant variables) coming back from a
     * bridge with w3_fwd_from=200: tenant B has no 200, tenant A's 200 (which
     * forwards to 101) must not be used */
    b3 = h_rewrite("dialplan-internal-ext-voicemail-fallback.form", "Hunt-Destination-Number", "w3_after_bridge",
                   "Caller-Destination-Number", "w3_after_bridge", "variable_w3_fwd_from", "200",
                   "variable_originate_disposition", "NO_ANSWER", "variable_domain_name", "tenantB.edvoip.it",
                   "variable_tenant_id", TB, "variable_store_id", "b5000000-0000-4000-8000-000000000001",
                   "variable_user_id", "b1000000-0000-4000-8000-000000000100", "variable_sip_domain",
                   "tenantB.edvoip.it", NULL);
    r = call(b3);
    EXPECT(
        r, has(&r, "respond", "404 Not Found") && has(&r, "set", "w3_reject_reason=forwarding extension not found"),
        "the forwarding step of a tenant B caller for 200 (only in A) → respond 404, forwarding extension not found");
    EXPECT(r,
           has(&r, "export", "sip_domain=tenantB.edvoip.it") && !any_mentions(&r, "tenantA") &&
               !any_mentions(&r, "user/") && pos(&r, "bridge", "") < 0,
           "and it never reaches tenant A's 200 nor its forward target");
    dp_result_free(&r);
    free(b3);
    /* the same step with tenant A's variables on a tenant B domain: refused
     * before any lookup */
    b3 = h_form_set(b2, "variable_w3_fwd_from", "100");
    char *b4 = h_form_set(b3, "variable_domain_name", "tenantB.edvoip.it");
    char *b5 = h_form_set(b4, "variable_w3_fwd_from", "200");
    r = call(b5);
    EXPECT(r,
           has(&r, "respond", "403 Forbidden") &&
               has(&r, "set", "w3_reject_reason=caller's tenant variable disagrees with its domain") &&
               !any_mentions(&r, "tenantA"),
           "a caller whose tenant variable (A) disagrees with its domain (B) → respond 403, nothing of tenant A");
    dp_result_free(&r);
    free(b3);
    free(b4);
    free(b5);
    free(b2);
    free(body);

    /* forward always to an external number: cos internal (101) refuses it */
    h_sql(srv.db, "UPDATE voip_extensions SET forwarding = '{\"always\":\"900442071234567\"}' WHERE sip_domain = "
                  "'tenantA.edvoip.it' AND ext_number = '101'");
    body = h_capture("dialplan-internal-ext.form", NULL);
    r = call(body);
    EXPECT(r,
           !any_mentions(&r, "sofia/gateway") && has(&r, "set", "w3_fwd_refused=cos") &&
               has(&r, "bridge", "user/101@tenantA.edvoip.it"),
           "forward-always to an international number refused by 101's cos: 101 rings instead");
    dp_result_free(&r);
    /* within its cos it goes through the forwarding extension's store trunk */
    h_sql(srv.db, "UPDATE voip_extensions SET forwarding = '{\"always\":\"90612345678\"}', cos = 'national' WHERE "
                  "sip_domain = 'tenantA.edvoip.it' AND ext_number = '101'");
    r = call(body);
    EXPECT(r,
           has(&r, "bridge", "[origination_caller_id_number=+390612345600]sofia/gateway/tenantA_store01/0612345678") &&
               !has(&r, "bridge", "user/101@tenantA.edvoip.it"),
           "forward-always within cos: through 101's store trunk, 101 not rung");
    dp_result_free(&r);
    h_sql(srv.db, "UPDATE voip_extensions SET forwarding = '{}', cos = 'internal' WHERE sip_domain = "
                  "'tenantA.edvoip.it' AND ext_number = '101'");
    free(body);
}

static void failures(void)
{
    char *body = h_capture("dialplan-internal-ext.form", NULL);
    h_sql(srv.db, "ALTER TABLE voip_extensions RENAME TO away");
    int status;
    dp_result_t r = run(body, &status, NULL);
    is_int(status, 200, "database failure on a dialplan lookup still answers 200");
    EXPECT(r, has(&r, "respond", "503 Service Unavailable"), "with respond 503 in the requested context");
    dp_result_free(&r);
    h_sql(srv.db, "ALTER TABLE away RENAME TO voip_extensions");

    char *b = h_form_set(body, "Hunt-Context", "bad context!");
    char *b2 = h_form_set(b, "Caller-Context", NULL);
    h_resp_t resp;
    h_fs_post(&srv, "/fs/xml", b2, strlen(b2), srv.user, srv.pass, &resp);
    is_int(resp.status, 400, "a dialplan request without a usable context → 400");
    h_resp_free(&resp);
    free(b);
    free(b2);
    free(body);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    public_ext();
    public_reject();
    public_ring_ai();
    internal();
    routes_and_cos();
    forwarding();
    failures();
    ok(syntax_checked > 100 && syntax_bad == 0,
       "every rendered action follows its application's syntax (%d checked, %d bad)", syntax_checked, syntax_bad);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
