/* w3voip export: the static files of tenants A and B, assembled as
 * FreeSWITCH's pre-processor would (include lines dropped), must choose the
 * same actions as the live server for the same requests. Requests to the
 * static dialplan carry what FreeSWITCH would have there: the context is
 * the user's user_context (the domain) and the caller's directory variables
 * (cos, store_id) come from the exported directory. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dp_eval.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

static h_server_t srv;
static char *outdir;
static char *static_doc;
static char *dir_a, *dir_b;

static char *read_out(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", outdir, rel);
    char *data = NULL;
    if (w3_read_file(path, 8 << 20, &data, NULL) != 0)
        return NULL;
    return data;
}

/* the pre-processor drops every line holding <include> or </include> */
static void add_included(w3_buf_t *b, const char *text)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        char *line = xstrndup(p, n);
        if (!strstr(line, "<include>") && !strstr(line, "</include>"))
            w3_buf_adds(b, line);
        free(line);
        p += n;
    }
}

static void assemble(void)
{
    w3_buf_t b = {0};
    w3_buf_adds(&b, "<document type=\"freeswitch/xml\">\n<section name=\"dialplan\">\n");
    static const char *const ctxs[] = {"dialplan/tenantA.edvoip.it.xml", "dialplan/tenantB.edvoip.it.xml"};
    for (int i = 0; i < 2; i++) {
        char *t = read_out(ctxs[i]);
        add_included(&b, t);
        free(t);
    }
    w3_buf_adds(&b, "<context name=\"public\">\n");
    static const char *const pubs[] = {"dialplan/public/tenantA.edvoip.it.xml", "dialplan/public/tenantB.edvoip.it.xml",
                                       "dialplan/public/zz-w3voipd-reject.xml"};
    for (int i = 0; i < 3; i++) {
        char *t = read_out(pubs[i]);
        add_included(&b, t);
        free(t);
    }
    w3_buf_adds(&b, "</context>\n</section>\n</document>\n");
    static_doc = b.data;
}

/* keep what decides the call; the caller's own ids are literal live and
 * ${store_id}/${user_id} in the static files */
static char *decisive(const dp_result_t *r)
{
    w3_buf_t b = {0};
    for (size_t i = 0; i < r->n; i++) {
        const char *app = r->actions[i].app, *data = r->actions[i].data;
        if (strcmp(app, "export") == 0 && (strncmp(data, "store_id=", 9) == 0 || strncmp(data, "user_id=", 8) == 0))
            continue;
        if (strcmp(app, "transfer") == 0) {
            /* the context differs by design (internal vs the domain's) */
            w3_buf_printf(&b, "%s %.*s\n", app, (int)strcspn(data, " "), data);
            continue;
        }
        w3_buf_printf(&b, "%s %s\n", app, data);
    }
    return b.data ? b.data : xstrdup("");
}

/* The static request: context = the caller's user_context, directory
 * variables from the exported directory. */
static char *static_request(const char *live)
{
    char *ctx = h_form_get(live, "Hunt-Context");
    if (ctx && strcmp(ctx, "public") == 0) {
        free(ctx);
        return xstrdup(live);
    }
    free(ctx);
    char *user = h_form_get(live, "variable_user_name");
    char *domain = h_form_get(live, "variable_domain_name");
    const char *dir = domain && strcmp(domain, "tenantB.edvoip.it") == 0 ? dir_b : dir_a;
    char xp[256];
    snprintf(xp, sizeof(xp), "//user[@id='%s']/variables/variable[@name='cos']/@value", user ? user : "");
    char *cos = h_xpath(dir, strlen(dir), xp);
    snprintf(xp, sizeof(xp), "//user[@id='%s']/variables/variable[@name='store_id']/@value", user ? user : "");
    char *store = h_xpath(dir, strlen(dir), xp);
    char *a = h_form_set(live, "Hunt-Context", domain);
    char *b = h_form_set(a, "variable_cos", cos);
    char *c = h_form_set(b, "variable_store_id", store);
    free(a);
    free(b);
    free(user);
    free(domain);
    free(cos);
    free(store);
    return c;
}

static void same(const char *name, char *live_body)
{
    h_resp_t r;
    dp_result_t live = {0}, stat = {0};
    h_fs_post(&srv, "/fs/xml", live_body, strlen(live_body), srv.user, srv.pass, &r);
    if (r.status == 200)
        dp_eval(r.body, r.body_len, live_body, &live);
    h_resp_free(&r);
    char *sbody = static_request(live_body);
    dp_eval(static_doc, strlen(static_doc), sbody, &stat);
    char *a = decisive(&live), *b = decisive(&stat);
    bool eq = live.n > 0 && strcmp(a, b) == 0;
    if (!ok(eq, "static export and live answer choose the same actions: %s", name))
        printf("# live:\n%s# static (extension %s):\n%s", a, stat.extension ? stat.extension : "none", b);
    free(a);
    free(b);
    free(sbody);
    dp_result_free(&live);
    dp_result_free(&stat);
    free(live_body);
}

static char *did(const char *n)
{
    return h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", n, "Caller-Destination-Number", n,
                     "variable_sip_to_user", n, NULL);
}

static char *dial(const char *user, const char *domain, const char *dest)
{
    return h_rewrite("dialplan-internal-outbound.form", "variable_user_name", user, "variable_domain_name", domain,
                     "Hunt-Destination-Number", dest, "Caller-Destination-Number", dest, "variable_tenant_id", NULL,
                     NULL);
}

int main(void)
{
    if (!ok(h_server_start(&srv, NULL, NULL) == 0, "w3voipd starts"))
        return tap_done();
    outdir = h_tmpdir();
    char cmd[1024], *out = NULL;
    setenv("W3_TRUNK_TENANTA_STORE02", "s3cret", 1);
    snprintf(cmd, sizeof(cmd), "%s export --db %s --domain tenantA.edvoip.it --out %s 2>&1", h_env("W3VOIP"), srv.db,
             outdir);
    int rc = h_run(cmd, &out);
    ok(rc == 0 && strstr(out, "3 users, 2 gateways"), "export tenant A (%s)", out);
    free(out);
    snprintf(cmd, sizeof(cmd), "%s export --db %s --domain tenantB.edvoip.it --out %s 2>&1", h_env("W3VOIP"), srv.db,
             outdir);
    rc = h_run(cmd, &out);
    ok(rc == 0 && strstr(out, "1 users, 1 gateways"), "export tenant B into the same tree (%s)", out);
    free(out);
    unsetenv("W3_TRUNK_TENANTA_STORE02");
    snprintf(cmd, sizeof(cmd), "%s export --db %s --domain tenantA.edvoip.it --out %s/partial 2>&1", h_env("W3VOIP"),
             srv.db, outdir);
    rc = h_run(cmd, &out);
    ok(rc == 1 && strstr(out, "tenantA_store02 left out"), "an unresolvable secret: exit 1, said on stderr");
    free(out);

    /* a user left out makes the export incomplete too (a copy of the demo
     * where 101's a1_hash got past the CHECK) */
    setenv("W3_TRUNK_TENANTA_STORE02", "s3cret", 1);
    char *unsafe = h_demo_db(outdir, "unsafe.db");
    is_int(h_sql(unsafe, "PRAGMA ignore_check_constraints=ON; UPDATE voip_extensions SET a1_hash='not-a-hash' "
                         "WHERE sip_domain='tenantA.edvoip.it' AND ext_number='101'"),
           0, "an extension whose a1_hash is not safe to render");
    snprintf(cmd, sizeof(cmd), "%s export --db %s --domain tenantA.edvoip.it --out %s/unsafe 2>&1", h_env("W3VOIP"),
             unsafe, outdir);
    rc = h_run(cmd, &out);
    is_int(rc, 1, "a user left out: exit 1");
    ok(strstr(out, "extension 101@tenantA.edvoip.it left out") != NULL, "  ...naming the extension on stderr");
    const char *summary = strstr(out, "tenantA.edvoip.it: ");
    ok(summary && strncmp(summary + 19, "2 users, 2 gateways (left out: 1 users, 0 gateways", 50) == 0,
       "  ...and counting it (%.*s)", summary ? (int)strcspn(summary, "\n") : 0, summary ? summary : "");
    free(out);
    free(unsafe);
    unsetenv("W3_TRUNK_TENANTA_STORE02");

    dir_a = read_out("directory/tenantA.edvoip.it.xml");
    dir_b = read_out("directory/tenantB.edvoip.it.xml");
    char *gw = read_out("sip_profiles/external/tenantA.edvoip.it.xml");
    ok(dir_a && strncmp(dir_a, "<include>\n", 10) == 0, "directory file is an <include> file");
    is_int(h_xpath_count(dir_a, strlen(dir_a), "/include/domain[@name='tenantA.edvoip.it']//users/user"), 3,
           "tenant A's three users exported");
    char *v = h_xpath(dir_a, strlen(dir_a), "//user[@id='100']/variables/variable[@name='user_context']/@value");
    is_str(v, "tenantA.edvoip.it", "exported users get user_context=<domain>");
    free(v);
    v = h_xpath(dir_a, strlen(dir_a), "//user[@id='100']/params/param[@name='a1-hash']/@value");
    is_str(v, "f86e925a96764ca893418337f6bf132c", "with the same a1-hash as the live answer");
    free(v);
    v = h_xpath(gw, strlen(gw), "/include/gateway[@name='tenantA_store02']/param[@name='password']/@value");
    is_str(v, "s3cret", "gateways in sip_profiles/external with resolved secrets");
    free(v);
    free(gw);

    assemble();
    ok(h_xpath_count(static_doc, strlen(static_doc), "/document/section/context") == 3,
       "assembled static dialplan parses (contexts A, B, public)");

    same("captured public DID", h_capture("dialplan-public-did.form", NULL));
    same("captured public DID without +", h_capture("dialplan-public-did-noplus.form", NULL));
    same("captured gw+ contact", h_capture("dialplan-public-gwplus-gateway-contact.form", NULL));
    same("national DID form", did("061234568"));
    same("00 DID form", did("0039061234568"));
    same("ring group DID", did("+39021234567"));
    same("AI DID", did("+39061234567"));
    same("tenant B's DID", did("+39067654321"));
    same("unknown DID", did("+39069999999"));
    same("AI stream started", h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "w3_ai_result",
                                        "variable_w3_did", "+39061234567", "variable_w3_fork", "+OK Success", NULL));
    same("AI stream failed", h_rewrite("dialplan-public-did.form", "Hunt-Destination-Number", "w3_ai_result",
                                       "variable_w3_did", "+39061234567", "variable_w3_fork", "-ERR no", NULL));
    same("captured internal 100 → 101", h_capture("dialplan-internal-ext.form", NULL));
    same("captured internal R-URI host IP", h_capture("dialplan-internal-ruri-host-ip.form", NULL));
    same("captured 100 → 200 (no-answer forwarding)", h_capture("dialplan-internal-ext-voicemail-fallback.form", NULL));
    same("captured outbound 9 + national", h_capture("dialplan-internal-outbound.form", NULL));
    same("captured tenant B 100 → 101", h_capture("dialplan-internal-tenantB-101-isolation.form", NULL));
    same("100 → 9 + international (cos refused)", dial("100", "tenantA.edvoip.it", "900442071234567"));
    same("101 → 9112 (emergency)", dial("101", "tenantA.edvoip.it", "9112"));
    same("101 → 112 (emergency, no 9)", dial("101", "tenantA.edvoip.it", "112"));
    same("200 → premium (refused)", dial("200", "tenantA.edvoip.it", "98991234"));
    same("200 → international via store02", dial("200", "tenantA.edvoip.it", "900442071234567"));
    same("100 → nothing (404)", dial("100", "tenantA.edvoip.it", "8888"));
    same("after bridge to 200: no answer",
         h_rewrite("dialplan-internal-ext-voicemail-fallback.form", "Hunt-Destination-Number", "w3_after_bridge",
                   "variable_w3_fwd_from", "200", "variable_originate_disposition", "NO_ANSWER", NULL));
    same("after bridge to 200: busy",
         h_rewrite("dialplan-internal-ext-voicemail-fallback.form", "Hunt-Destination-Number", "w3_after_bridge",
                   "variable_w3_fwd_from", "200", "variable_originate_disposition", "USER_BUSY", NULL));
    free(static_doc);
    free(dir_a);
    free(dir_b);
    h_rmrf(outdir);
    free(outdir);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
