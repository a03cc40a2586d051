/* xg.h: the documents FreeSWITCH reads (SPEC §6 "Rendering rules").
 * Golden files live in tests/unit/golden/; W3_GOLDEN_WRITE=1 rewrites them from
 * the current output (then read them and commit only what is right). */
#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"
#include "xg.h"

#define TENANT_A "a0000000-0000-4000-8000-00000000000a"
#define TENANT_B "b0000000-0000-4000-8000-00000000000b"
#define STORE_A1 "a5000000-0000-4000-8000-000000000001"
#define STORE_A2 "a5000000-0000-4000-8000-000000000002"
#define STORE_B1 "b5000000-0000-4000-8000-000000000001"

static void tenant_a(db_tenant_t *t)
{
    memset(t, 0, sizeof(*t));
    strcpy(t->tenant_id, TENANT_A);
    strcpy(t->sip_domain, "tenantA.edvoip.it");
    strcpy(t->country_code, "39");
    t->enabled = true;
}

static void tenant_b(db_tenant_t *t)
{
    memset(t, 0, sizeof(*t));
    strcpy(t->tenant_id, TENANT_B);
    strcpy(t->sip_domain, "tenantB.edvoip.it");
    strcpy(t->country_code, "39");
    t->enabled = true;
}

/* Demo extension 100 of tenant A (fixtures/demo.sql). */
static void ext_100(db_extension_t *e)
{
    memset(e, 0, sizeof(*e));
    strcpy(e->extension_id, "a3000000-0000-4000-8000-000000000100");
    strcpy(e->tenant_id, TENANT_A);
    strcpy(e->sip_domain, "tenantA.edvoip.it");
    strcpy(e->store_id, STORE_A1);
    strcpy(e->user_id, "a1000000-0000-4000-8000-000000000100");
    strcpy(e->ext_number, "100");
    strcpy(e->display_name, "Ext 100");
    strcpy(e->a1_hash, "f86e925a96764ca893418337f6bf132c");
    strcpy(e->cos, "national");
    strcpy(e->caller_id_number, "+390612345600");
    e->voicemail_enabled = true;
    e->enabled = true;
    e->tenant_enabled = true;
}

static void trunk_a1(db_trunk_t *tr)
{
    memset(tr, 0, sizeof(*tr));
    strcpy(tr->tenant_id, TENANT_A);
    strcpy(tr->sip_domain, "tenantA.edvoip.it");
    strcpy(tr->store_id, STORE_A1);
    strcpy(tr->trunk_id, "a7000000-0000-4000-8000-000000000001");
    strcpy(tr->gateway_name, "tenantA_store01");
    strcpy(tr->proxy, "127.0.0.1");
    tr->port = 5090;
    strcpy(tr->transport, "udp");
    strcpy(tr->caller_id_number, "+390612345600");
    tr->priority = 10;
}

static void trunk_a2(db_trunk_t *tr)
{
    memset(tr, 0, sizeof(*tr));
    strcpy(tr->tenant_id, TENANT_A);
    strcpy(tr->sip_domain, "tenantA.edvoip.it");
    strcpy(tr->store_id, STORE_A2);
    strcpy(tr->trunk_id, "a7000000-0000-4000-8000-000000000002");
    strcpy(tr->gateway_name, "tenantA_store02");
    strcpy(tr->proxy, "sip.carrier.example");
    strcpy(tr->transport, "udp");
    tr->reg = true;
    strcpy(tr->username, "0298765432");
    strcpy(tr->realm, "sip.carrier.example");
    strcpy(tr->from_user, "0298765432");
    strcpy(tr->from_domain, "sip.carrier.example");
    strcpy(tr->secret_ref, "env:W3_TRUNK_TENANTA_STORE02");
    strcpy(tr->caller_id_number, "+390298765432");
    tr->priority = 10;
}

static void trunk_b1(db_trunk_t *tr)
{
    memset(tr, 0, sizeof(*tr));
    strcpy(tr->tenant_id, TENANT_B);
    strcpy(tr->sip_domain, "tenantB.edvoip.it");
    strcpy(tr->store_id, STORE_B1);
    strcpy(tr->trunk_id, "b7000000-0000-4000-8000-000000000001");
    strcpy(tr->gateway_name, "tenantB_store01");
    strcpy(tr->proxy, "127.0.0.1");
    tr->port = 5095;
    strcpy(tr->transport, "udp");
    strcpy(tr->caller_id_number, "+390676543200");
    tr->priority = 10;
}

/* s with control characters shown as \xNN (for one-line TAP labels). */
static const char *shown(const char *s, size_t len)
{
    static char buf[256];
    size_t w = 0;
    for (size_t i = 0; i < len && w + 5 < sizeof(buf); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            w += (size_t)snprintf(buf + w, sizeof(buf) - w, "\\x%02x", c);
        else
            buf[w++] = (char)c;
    }
    buf[w] = '\0';
    return buf;
}

/* Prints a document as TAP comment lines. */
static void diag_doc(const char *what, const char *doc)
{
    printf("#   %s:\n", what);
    for (const char *p = doc ? doc : "(null)"; *p;) {
        size_t n = strcspn(p, "\n");
        printf("#   | %.*s\n", (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
}

static bool parses(const xg_out_t *out)
{
    xmlDocPtr doc = xmlReadMemory(out->data, (int)out->len, "out.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    bool good = doc != NULL;
    xmlFreeDoc(doc);
    return good;
}

/* One element per line: every non-empty line, indentation aside, is exactly
 * one tag ("<...>"), and holds no other '<'. */
static bool one_element_per_line(const char *s, size_t len)
{
    size_t lines = 0;
    const char *end = s + len;
    for (const char *p = s; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *q = p;
        while (q < le && *q == ' ')
            q++;
        if (q < le) {
            size_t n = (size_t)(le - q);
            if (q[0] != '<' || q[n - 1] != '>' || memchr(q + 1, '<', n - 1) != NULL) {
                printf("#   not one element: '%.*s'\n", (int)n, q);
                return false;
            }
            lines++;
        }
        p = nl ? nl + 1 : end;
    }
    return lines > 0;
}

static bool no_declaration(const char *s, size_t len)
{
    if (len >= 2 && strncmp(s, "<?", 2) == 0)
        return false;
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '<' && s[i + 1] == '?')
            return false;
    return true;
}

/* The structural checks every rendered document must pass. */
static void check_shape(const xg_out_t *out, const char *what)
{
    ok(out->data != NULL && out->len == strlen(out->data), "%s: data NUL-terminated, len matches", what);
    if (out->data == NULL)
        return;
    ok(strncmp(out->data, "<document type=\"freeswitch/xml\">", 32) == 0, "%s: starts with <document>", what);
    ok(no_declaration(out->data, out->len), "%s: no XML declaration, no '<?'", what);
    ok(one_element_per_line(out->data, out->len), "%s: one element per line", what);
    ok(parses(out), "%s: parses with libxml2", what);
    ok(xg_output_safe(out->data, out->len), "%s: xg_output_safe accepts it", what);
    ok(strstr(out->data, "$${") == NULL, "%s: holds no $${", what);
}

static void golden(const xg_out_t *out, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", h_env("W3_GOLDEN"), name);
    const char *w = getenv("W3_GOLDEN_WRITE");
    if (w && strcmp(w, "1") == 0 && out->data) {
        FILE *f = fopen(path, "w");
        if (f) {
            fwrite(out->data, 1, out->len, f);
            fclose(f);
        }
        printf("# wrote %s\n", path);
    }
    char *want = NULL;
    size_t wlen = 0;
    int rc = w3_read_file(path, 1 << 20, &want, &wlen);
    if (!is_int(rc, 0, name)) {
        printf("#   cannot read golden %s\n", path);
        return;
    }
    bool same = out->data && out->len == wlen && memcmp(out->data, want, wlen) == 0;
    if (!ok(same, "%s: byte for byte equal to the golden file", name)) {
        diag_doc("got", out->data);
        diag_doc("want", want);
    }
    free(want);
}

static char *xp(const xg_out_t *out, const char *expr)
{
    return out->data ? h_xpath(out->data, out->len, expr) : NULL;
}

static int xpc(const xg_out_t *out, const char *expr)
{
    return out->data ? h_xpath_count(out->data, out->len, expr) : -1;
}

static void is_xpath(const xg_out_t *out, const char *expr, const char *want, const char *label)
{
    char *v = xp(out, expr);
    is_str(v, want, label);
    free(v);
}

#define UVAR(name) "/document/section/domain/groups/group/users/user/variables/variable[@name='" name "']/@value"

static void test_not_found(void)
{
    xg_out_t out = {0};
    is_int(xg_not_found(&out), 0, "xg_not_found returns 0");
    check_shape(&out, "not-found");
    is_xpath(&out, "/document/section/@name", "result", "not-found: section result");
    is_xpath(&out, "/document/section/result/@status", "not found", "not-found: status");
    golden(&out, "not-found.xml");
    xg_out_free(&out);
    ok(out.data == NULL && out.len == 0, "xg_out_free clears the output");
    xg_out_free(&out); /* twice: harmless */
    xg_out_free(NULL);
}

static void test_domain(void)
{
    db_tenant_t t;
    tenant_a(&t);
    xg_dir_opts_t o = {0};
    xg_out_t out = {0};
    is_int(xg_directory_domain(&t, &o, &out), 0, "xg_directory_domain returns 0");
    check_shape(&out, "directory-domain");
    is_xpath(&out, "/document/section[@name='directory']/domain/@name", "tenantA.edvoip.it", "domain name");
    is_xpath(&out, "/document/section/domain/params/param[@name='dial-string']/@value", xg_default_dial_string,
             "domain carries the default dial-string");
    is_int(xpc(&out, "//user"), 0, "domain answer holds no user");
    golden(&out, "directory-domain.xml");
    xg_out_free(&out);

    o.dial_string = "{presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(${dialed_user}@${dialed_domain})}";
    is_int(xg_directory_domain(&t, &o, &out), 0, "custom dial-string renders");
    is_xpath(&out, "//param[@name='dial-string']/@value", o.dial_string, "the dial-string option is used verbatim");
    xg_out_free(&out);

    o.dial_string = NULL;
    strcpy(t.sip_domain, "a${x}.example");
    out.data = NULL;
    is_int(xg_directory_domain(&t, &o, &out), -EINVAL, "domain holding ${ is refused");
    ok(out.data == NULL, "refused domain: no output");
    strcpy(t.sip_domain, "a<?x.example");
    is_int(xg_directory_domain(&t, &o, &out), -EINVAL, "domain holding <? is refused");
}

static void test_user(void)
{
    db_tenant_t t;
    db_extension_t e;
    tenant_a(&t);
    ext_100(&e);
    xg_dir_opts_t o = {0};
    xg_out_t out = {0};
    is_int(xg_directory_user(&t, &e, &o, &out), 0, "xg_directory_user returns 0");
    check_shape(&out, "directory-user");
    is_xpath(&out, "/document/section/domain/@name", "tenantA.edvoip.it", "user: domain name");
    is_xpath(&out, "/document/section/domain/params/param[@name='dial-string']/@value", xg_default_dial_string,
             "user: domain carries the dial-string");
    is_xpath(&out, "/document/section/domain/groups/group/users/user/@id", "100", "user id 100 in groups layout");
    is_xpath(&out, "/document/section/domain/groups/group/@name", "default", "group default");
    is_xpath(&out, "//user/params/param[@name='a1-hash']/@value", "f86e925a96764ca893418337f6bf132c", "a1-hash");
    is_xpath(&out, "//user/params/param[@name='allow-empty-password']/@value", "false", "allow-empty-password false");
    is_int(xpc(&out, "//param[@name='password']"), 0, "no clear password param");
    is_xpath(&out, UVAR("tenant_id"), TENANT_A, "variable tenant_id");
    is_xpath(&out, UVAR("store_id"), STORE_A1, "variable store_id");
    is_xpath(&out, UVAR("user_id"), "a1000000-0000-4000-8000-000000000100", "variable user_id");
    is_xpath(&out, UVAR("sip_domain"), "tenantA.edvoip.it", "variable sip_domain");
    is_xpath(&out, UVAR("user_context"), "internal", "variable user_context defaults to internal");
    is_xpath(&out, UVAR("effective_caller_id_name"), "Ext 100", "variable effective_caller_id_name");
    is_xpath(&out, UVAR("effective_caller_id_number"), "100", "variable effective_caller_id_number");
    is_xpath(&out, UVAR("outbound_caller_id_number"), "+390612345600", "variable outbound_caller_id_number");
    is_xpath(&out, UVAR("cos"), "national", "variable cos");
    is_xpath(&out, UVAR("w3_voicemail"), "true", "variable w3_voicemail");
    is_int(xpc(&out, "//variable[starts-with(@name, 'w3_fwd')]"), 0, "no forwarding variables without forwarding");
    is_int(xpc(&out, "//user/@cacheable"), 0, "cacheable_ms 0: no cacheable attribute");
    golden(&out, "directory-user.xml");
    xg_out_free(&out);

    /* cacheable */
    o.cacheable_ms = 60000;
    is_int(xg_directory_user(&t, &e, &o, &out), 0, "cacheable user renders");
    is_xpath(&out, "//user/@cacheable", "60000", "cacheable_ms 60000: cacheable=\"60000\"");
    ok(out.data && strstr(out.data, "<user id=\"100\" cacheable=\"60000\">") != NULL, "cacheable attribute text");
    xg_out_free(&out);
    o.cacheable_ms = 0;

    /* user_context option */
    o.user_context = "ctx_from_directory";
    is_int(xg_directory_user(&t, &e, &o, &out), 0, "user_context option renders");
    is_xpath(&out, UVAR("user_context"), "ctx_from_directory", "user_context option is used");
    xg_out_free(&out);
    o.user_context = NULL;

    /* forwarding (demo extension 200 shape) */
    db_extension_t f = e;
    strcpy(f.fwd_no_answer, "101");
    f.fwd_no_answer_timeout = 0;
    strcpy(f.fwd_always, "+390612345678");
    strcpy(f.fwd_busy, "12a"); /* not dialable: left out */
    f.voicemail_enabled = false;
    f.caller_id_number[0] = '\0';
    is_int(xg_directory_user(&t, &f, &o, &out), 0, "user with forwarding renders");
    is_xpath(&out, UVAR("w3_fwd_no_answer"), "101", "w3_fwd_no_answer");
    is_xpath(&out, UVAR("w3_fwd_no_answer_timeout"), "30", "no_answer timeout defaults to 30 (as the dialplan rings)");
    is_xpath(&out, UVAR("w3_fwd_always"), "+390612345678", "w3_fwd_always");
    is_int(xpc(&out, "//variable[@name='w3_fwd_busy']"), 0, "non-dialable forwarding target left out");
    is_xpath(&out, UVAR("w3_voicemail"), "false", "voicemail off");
    is_int(xpc(&out, "//variable[@name='outbound_caller_id_number']"), 0,
           "no caller id number when the store has none");
    xg_out_free(&out);
    f.fwd_no_answer_timeout = 45;
    is_int(xg_directory_user(&t, &f, &o, &out), 0, "user with a no_answer timeout renders");
    is_xpath(&out, UVAR("w3_fwd_no_answer_timeout"), "45", "no_answer timeout 45");
    xg_out_free(&out);

    /* display names */
    db_extension_t d = e;
    strcpy(d.display_name, "${x}");
    is_int(xg_directory_user(&t, &d, &o, &out), 0, "display_name ${x}: the user still renders");
    is_int(xpc(&out, "//variable[@name='effective_caller_id_name']"), 0, "display_name ${x}: caller id name left out");
    is_xpath(&out, UVAR("tenant_id"), TENANT_A, "display_name ${x}: the rest renders");
    is_xpath(&out, "//param[@name='a1-hash']/@value", "f86e925a96764ca893418337f6bf132c", "display_name ${x}: a1-hash");
    ok(out.data && strstr(out.data, "{x}") == NULL, "display_name ${x}: not in the text");
    xg_out_free(&out);

    strcpy(d.display_name, "$${foo}");
    is_int(xg_directory_user(&t, &d, &o, &out), 0, "display_name $${foo}: the user still renders");
    is_int(xpc(&out, "//variable[@name='effective_caller_id_name']"), 0, "display_name $${foo} (holds ${): left out");
    ok(out.data && strstr(out.data, "{foo}") == NULL, "display_name $${foo}: not in the text");
    xg_out_free(&out);

    strcpy(d.display_name, "Cash $$ {foo} $5");
    is_int(xg_directory_user(&t, &d, &o, &out), 0, "display_name with $$ renders");
    ok(out.data && strstr(out.data, "value=\"Cash &#36;&#36; {foo} &#36;5\"") != NULL,
       "every '$' of the display name is written as &#36;");
    is_xpath(&out, UVAR("effective_caller_id_name"), "Cash $$ {foo} $5", "display name with $ parses back exactly");
    check_shape(&out, "display name with $");
    xg_out_free(&out);

    strcpy(d.display_name, "A&B \"quoted\" <tag> 'x' Caf\xc3\xa9");
    is_int(xg_directory_user(&t, &d, &o, &out), 0, "display_name with markup characters renders");
    is_xpath(&out, UVAR("effective_caller_id_name"), "A&B \"quoted\" <tag> 'x' Caf\xc3\xa9",
             "markup characters and UTF-8 parse back exactly");
    check_shape(&out, "display name with markup");
    xg_out_free(&out);

    strcpy(d.display_name, "x-pre-process cmd");
    is_int(xg_directory_user(&t, &d, &o, &out), 0, "display_name x-pre-process: user renders");
    is_int(xpc(&out, "//variable[@name='effective_caller_id_name']"), 0, "display_name x-pre-process: left out");
    xg_out_free(&out);

    strcpy(d.display_name, "tab\there");
    is_int(xg_directory_user(&t, &d, &o, &out), 0, "display_name with a TAB: user renders");
    is_int(xpc(&out, "//variable[@name='effective_caller_id_name']"), 0, "display_name with a control char: left out");
    xg_out_free(&out);

    /* identifiers: the whole answer is refused */
    db_extension_t b = e;
    strcpy(b.a1_hash, "F86E925A96764CA893418337F6BF132C");
    out.data = NULL;
    is_int(xg_directory_user(&t, &b, &o, &out), -EINVAL, "upper-case a1_hash refused");
    ok(out.data == NULL, "refused user: no output");
    b = e;
    strcpy(b.a1_hash, "f86e925a96764ca893418337f6bf132");
    is_int(xg_directory_user(&t, &b, &o, &out), -EINVAL, "31-digit a1_hash refused");
    b = e;
    b.a1_hash[0] = '\0';
    is_int(xg_directory_user(&t, &b, &o, &out), -EINVAL, "empty a1_hash refused (never a user without secret)");
    b = e;
    strcpy(b.ext_number, "10a");
    is_int(xg_directory_user(&t, &b, &o, &out), -EINVAL, "non-digit ext_number refused");
    b = e;
    strcpy(b.tenant_id, "a${x}");
    is_int(xg_directory_user(&t, &b, &o, &out), -EINVAL, "tenant_id holding ${ refused");
    b = e;
    strcpy(b.user_id, "u\nser");
    is_int(xg_directory_user(&t, &b, &o, &out), -EINVAL, "user_id with a newline refused");
    b = e;
    db_tenant_t bt = t;
    strcpy(bt.sip_domain, "x<?y");
    is_int(xg_directory_user(&bt, &b, &o, &out), -EINVAL, "unsafe tenant domain refused");
    ok(out.data == NULL, "still no output");
}

#define GW(name) "//gateway[@name='" name "']"

static void test_gateways(void)
{
    db_tenant_t ta, tb;
    db_trunk_t a1, a2, b1;
    tenant_a(&ta);
    tenant_b(&tb);
    trunk_a1(&a1);
    trunk_a2(&a2);
    trunk_b1(&b1);
    xg_dir_opts_t o = {0};

    xg_gw_t *g = xg_gw_create(&o);
    ok(g != NULL, "xg_gw_create");
    is_int(xg_gw_trunk(g, &a1, NULL), -EINVAL, "a trunk before any domain is refused");
    xg_gw_domain(g, &ta);
    is_int(xg_gw_trunk(g, &a1, NULL), 0, "trunk tenantA_store01 added");
    is_int(xg_gw_trunk(g, &a2, "demo-secret"), 0, "trunk tenantA_store02 added");
    xg_gw_domain(g, &tb);
    is_int(xg_gw_trunk(g, &b1, NULL), 0, "trunk tenantB_store01 added");
    xg_out_t out = {0};
    is_int(xg_gw_finish(g, &out), 0, "xg_gw_finish returns 0");
    check_shape(&out, "gateways");
    is_int(xpc(&out, "/document/section/domain"), 2, "two domains");
    is_int(xpc(&out, "/document/section/domain/groups/group/users/user/gateways/gateway"), 3,
           "three gateways in the groups layout");
    is_int(xpc(&out, "/document/section/domain/users"), 0, "no flat <domain><users> (ignored by sofia)");
    is_int(xpc(&out, "/document/section/domain/params/param[@name='dial-string']"), 2,
           "every domain has a dial-string");
    is_xpath(&out, "/document/section/domain[@name='tenantA.edvoip.it']/groups/group/@name", "trunks", "group trunks");
    is_int(xpc(&out, "/document/section/domain[@name='tenantA.edvoip.it']//user"), 2, "one container user per store");
    is_xpath(&out, "/document/section/domain[@name='tenantA.edvoip.it']//user[1]/@id", "trunks-" STORE_A1,
             "container user id trunks-<store>");
    is_int(xpc(&out, "//user[params]"), 0, "container users carry no params (no secret)");
    is_xpath(&out, GW("tenantA_store01") "/param[@name='proxy']/@value", "127.0.0.1:5090", "proxy with port");
    is_xpath(&out, GW("tenantA_store01") "/param[@name='register']/@value", "false", "register false");
    is_int(xpc(&out, GW("tenantA_store01") "/param[@name='password']"), 0, "no password without a secret");
    is_int(xpc(&out, GW("tenantA_store01") "/param[@name='register-transport']"), 0,
           "no register-transport without registration");
    is_xpath(&out, GW("tenantA_store01") "/param[@name='context']/@value", "public", "context public");
    is_xpath(&out, GW("tenantA_store01") "/param[@name='extension']/@value", "auto_to_user", "extension auto_to_user");
    is_xpath(&out, GW("tenantA_store01") "/variables/variable[@name='tenant_id'][@direction='inbound']/@value",
             TENANT_A, "inbound tenant_id variable");
    is_xpath(&out, GW("tenantA_store01") "/variables/variable[@name='store_id'][@direction='outbound']/@value",
             STORE_A1, "outbound store_id variable");
    is_int(xpc(&out, GW("tenantA_store01") "/variables/variable"), 8, "four variables in each direction");
    is_xpath(&out, GW("tenantA_store02") "/param[@name='proxy']/@value", "sip.carrier.example", "proxy without port");
    is_xpath(&out, GW("tenantA_store02") "/param[@name='password']/@value", "demo-secret", "password = the secret");
    is_xpath(&out, GW("tenantA_store02") "/param[@name='username']/@value", "0298765432", "username");
    is_xpath(&out, GW("tenantA_store02") "/param[@name='register']/@value", "true", "register true");
    is_xpath(&out, GW("tenantA_store02") "/param[@name='register-transport']/@value", "udp", "register-transport");
    is_xpath(&out, GW("tenantA_store02") "/param[@name='realm']/@value", "sip.carrier.example", "realm");
    is_xpath(&out, "/document/section/domain[@name='tenantB.edvoip.it']//gateway/@name", "tenantB_store01",
             "tenant B's gateway under tenant B's domain");
    ok(out.data && strstr(out.data, "secret_ref") == NULL && strstr(out.data, "W3_TRUNK") == NULL,
       "the secret_ref is never rendered");
    golden(&out, "gateways.xml");
    xg_out_free(&out);

    /* two trunks of one store share one container user */
    db_trunk_t a1b = a1;
    strcpy(a1b.gateway_name, "tenantA_store01_backup");
    a1b.priority = 20;
    g = xg_gw_create(&o);
    xg_gw_domain(g, &ta);
    is_int(xg_gw_trunk(g, &a1, NULL), 0, "first trunk of store01");
    is_int(xg_gw_trunk(g, &a1b, NULL), 0, "second trunk of store01");
    is_int(xg_gw_finish(g, &out), 0, "finish");
    is_int(xpc(&out, "//user"), 1, "one container user for two trunks of one store");
    is_int(xpc(&out, "//user/gateways/gateway"), 2, "both gateways in it");
    xg_out_free(&out);

    /* a domain without trunks: domain and dial-string only */
    g = xg_gw_create(&o);
    xg_gw_domain(g, &tb);
    is_int(xg_gw_finish(g, &out), 0, "gateways with a trunkless domain");
    is_int(xpc(&out, "/document/section/domain[@name='tenantB.edvoip.it']/groups"), 0, "no groups without trunks");
    is_int(xpc(&out, "/document/section/domain/params/param[@name='dial-string']"), 1, "its dial-string");
    xg_out_free(&out);

    /* secrets with markup and pre-processor characters */
    static const char *const secrets[] = {"p$$w&\"<>'d", "$${foo}", "a$b$$c${d}", "<?xml x?>", "</include>"};
    for (size_t i = 0; i < W3_ARRAY_LEN(secrets); i++) {
        g = xg_gw_create(&o);
        xg_gw_domain(g, &ta);
        char label[200];
        snprintf(label, sizeof(label), "secret '%s' accepted", secrets[i]);
        is_int(xg_gw_trunk(g, &a2, secrets[i]), 0, label);
        snprintf(label, sizeof(label), "secret '%s' renders", secrets[i]);
        is_int(xg_gw_finish(g, &out), 0, label);
        snprintf(label, sizeof(label), "secret '%s' parses back exactly", secrets[i]);
        is_xpath(&out, GW("tenantA_store02") "/param[@name='password']/@value", secrets[i], label);
        snprintf(label, sizeof(label), "secret '%s'", secrets[i]);
        check_shape(&out, label);
        xg_out_free(&out);
    }
    g = xg_gw_create(&o);
    xg_gw_domain(g, &ta);
    is_int(xg_gw_trunk(g, &a2, "$${foo}"), 0, "secret $${foo}");
    is_int(xg_gw_finish(g, &out), 0, "secret $${foo} renders");
    ok(out.data && strstr(out.data, "value=\"&#36;&#36;{foo}\"") != NULL, "$${foo} is written as &#36;&#36;{foo}");
    xg_out_free(&out);

    /* unsafe values: -EINVAL and nothing added */
    g = xg_gw_create(&o);
    xg_gw_domain(g, &ta);
    is_int(xg_gw_trunk(g, &a2, "line\nbreak"), -EINVAL, "secret with a newline refused");
    is_int(xg_gw_trunk(g, &a2, "bell\x07"), -EINVAL, "secret with BEL refused");
    db_trunk_t bad = a1;
    strcpy(bad.gateway_name, "gw${x}");
    is_int(xg_gw_trunk(g, &bad, NULL), -EINVAL, "gateway_name holding ${ refused");
    bad = a1;
    bad.proxy[0] = '\0';
    is_int(xg_gw_trunk(g, &bad, NULL), -EINVAL, "empty proxy refused");
    bad = a1;
    bad.gateway_name[0] = '\0';
    is_int(xg_gw_trunk(g, &bad, NULL), -EINVAL, "empty gateway_name refused");
    bad = a2;
    strcpy(bad.username, "X-PRE-PROCESS");
    is_int(xg_gw_trunk(g, &bad, "s"), -EINVAL, "username X-PRE-PROCESS refused");
    bad = a2;
    strcpy(bad.from_domain, "x<?y");
    is_int(xg_gw_trunk(g, &bad, "s"), -EINVAL, "from_domain holding <? refused");
    is_int(xg_gw_trunk(g, &a1, NULL), 0, "a good trunk after refused ones");
    is_int(xg_gw_finish(g, &out), 0, "finish after refusals");
    is_int(xpc(&out, "//gateway"), 1, "refused trunks added nothing");
    is_int(xpc(&out, "//user"), 1, "refused trunks added no container user");
    xg_out_free(&out);

    /* an unfinished builder is released by destroy (valgrind checks the leak) */
    g = xg_gw_create(&o);
    xg_gw_domain(g, &ta);
    is_int(xg_gw_trunk(g, &a1, NULL), 0, "trunk added to a builder that is then destroyed");
    xg_gw_destroy(g);
    xg_gw_destroy(NULL);
}

static void test_value_safe(void)
{
    static const char *const good[] = {"",     "Ext 100", "tenantA.edvoip.it", "$5",          "a$b",  "{x}", "$ {x}",
                                       "100%", "<tag>",   "x-pre process",     "Caf\xc3\xa9", "a?b<c"};
    for (size_t i = 0; i < W3_ARRAY_LEN(good); i++)
        ok(xg_value_safe(good[i]), "xg_value_safe accepts '%s'", shown(good[i], strlen(good[i])));
    static const char *const bad[] = {
        "${x}", "a${", "$${foo}", "<?xml", "x<?y", "X-PRE-PROCESS", "x-pre-process", "X-Pre-Process cmd", "a\tb",
        "a\nb", "a\rb", "\x01", "a\x7f", "\x1b[0m",
        /* not UTF-8 an XML parser reads back: truncated, overlong, surrogate, U+FFFE, U+FFFF */
        "Caf\xc3", "\xc0\xaf", "\xed\xa0\x80", "a\xef\xbf\xbe", "\xef\xbf\xbfz"};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad); i++)
        ok(!xg_value_safe(bad[i]), "xg_value_safe refuses '%s'", shown(bad[i], strlen(bad[i])));

    ok(xg_value_allowed("+39*12#", "0123456789+*#"), "xg_value_allowed: dialable");
    ok(!xg_value_allowed("", "0123456789"), "xg_value_allowed: empty refused");
    ok(!xg_value_allowed("12a", "0123456789"), "xg_value_allowed: letter refused");
    ok(!xg_value_allowed("1 2", "0123456789"), "xg_value_allowed: space refused");
}

static void test_output_safe(void)
{
    static const char *const good[] = {"<document type=\"freeswitch/xml\">\n</document>\n",
                                       "<param value=\"${sofia_contact(x)}\"/>", "<param value=\"&#36;&#36;{x}\"/>",
                                       "<x>$ {</x>", "<x>$$</x>"};
    for (size_t i = 0; i < W3_ARRAY_LEN(good); i++)
        ok(xg_output_safe(good[i], strlen(good[i])), "xg_output_safe accepts '%s'", shown(good[i], strlen(good[i])));
    static const char *const bad[] = {"<x v=\"$${foo}\"/>",
                                      "<?xml version=\"1.0\"?>\n<x/>",
                                      "<x>\n<?y?>\n</x>",
                                      "<include>\n<x/>\n</include>",
                                      "<x/></include>",
                                      "<X-PRE-PROCESS cmd=\"set\"/>",
                                      "<x-pre-process cmd=\"exec\"/>",
                                      "<INCLUDE>",
                                      "<!--#include x-->"};
    for (size_t i = 0; i < W3_ARRAY_LEN(bad); i++)
        ok(!xg_output_safe(bad[i], strlen(bad[i])), "xg_output_safe refuses '%s'", shown(bad[i], strlen(bad[i])));
    /* at every offset of the two sixteen-byte blocks the scan reads and
     * across the end of each, in any case */
    static const char *const needles[] = {"$${", "<?", "<iNcLuDe", "</INCLUDE", "<!--#", "x-Pre-Process"};
    int missed = 0;
    for (size_t i = 0; i < W3_ARRAY_LEN(needles); i++)
        for (size_t at = 0; at < 40; at++) {
            char doc[96];
            snprintf(doc, sizeof(doc), "%.*s%s%.*s", (int)at, "<a b=\"xx$ {X-PRE\"/>\n  <c d=\"$-x<-\"/>\n  <e/>",
                     needles[i], (int)(at % 5), "yyyy");
            missed += xg_output_safe(doc, strlen(doc)) || xg_output_safe(doc, strlen(doc) - (at % 5)) ||
                      !xg_output_safe(doc, strlen(doc) - (at % 5) - 1);
        }
    is_int(missed, 0, "xg_output_safe finds each trigger at every offset, and not once it is cut short");
    /* the length bounds the scan */
    const char *tail = "<x/>$${foo}";
    ok(xg_output_safe(tail, 4), "xg_output_safe scans only len bytes");
    ok(!xg_output_safe(tail, strlen(tail)), "xg_output_safe finds $${ at the end");
}

int main(void)
{
    test_not_found();
    test_domain();
    test_user();
    test_gateways();
    test_value_safe();
    test_output_safe();
    xmlCleanupParser();
    return tap_done();
}
