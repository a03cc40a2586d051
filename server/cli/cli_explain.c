/* w3voip explain: why a call goes where it goes. It builds the request
 * FreeSWITCH would send, runs it through the server's own lookup_answer()
 * with a narrator attached, and prints each decision and the actions
 * FreeSWITCH would execute. When the answer hands a runtime outcome back to
 * the server (busy/no answer, the AI stream result), the follow-up lookups
 * are explained too. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "lookup.h"
#include "util.h"

static void narrate(void *arg, const char *line)
{
    (void)arg;
    printf("  - %s\n", line);
}

static void add(w3_buf_t *b, const char *name, const char *value)
{
    w3_buf_printf(b, "%s%s=", b->len ? "&" : "", name);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._", *p))
            w3_buf_add(b, p, 1);
        else
            w3_buf_printf(b, "%%%02X", *p);
    }
}

static void print_actions(const lookup_result_t *res)
{
    xmlDocPtr doc = xmlReadMemory(res->body.data, (int)res->body.len, "answer.xml", NULL, XML_PARSE_NONET);
    printf("  FreeSWITCH executes:\n");
    xmlNodePtr n = doc ? xmlDocGetRootElement(doc) : NULL;
    /* document/section/context/extension/condition/action */
    for (int depth = 0; n && depth < 4; depth++) {
        n = n->children;
        while (n && n->type != XML_ELEMENT_NODE)
            n = n->next;
    }
    for (xmlNodePtr a = n ? n->children : NULL; a; a = a->next) {
        if (a->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *app = xmlGetProp(a, BAD_CAST "application");
        xmlChar *data = xmlGetProp(a, BAD_CAST "data");
        printf("      %s %s\n", app ? (char *)app : "?", data ? (char *)data : "");
        xmlFree(app);
        xmlFree(data);
    }
    xmlFreeDoc(doc);
}

/* Explains one request; returns the answer document (malloc'd) or NULL. */
static char *explain_one(const lookup_ctx_t *ctx, const char *title, const char *form, int *rc)
{
    lookup_result_t res;
    char *doc = NULL;
    printf("%s\n", title);
    lookup_answer(ctx, form, strlen(form), &res);
    if (res.rc != 0) {
        printf("  HTTP %d: %s\n", lookup_http_status(res.rc), res.error ? res.error : "");
        *rc = 1;
    } else {
        print_actions(&res);
        doc = xstrndup(res.body.data, res.body.len);
        if (res.result == MX_REJECT && *rc == 0)
            *rc = 3;
    }
    lookup_result_free(&res);
    return doc;
}

/* The value of "export NAME=value" in an answer, into out[cap]. */
static bool exported(const char *doc, const char *name, char *out, size_t cap)
{
    char needle[80];
    snprintf(needle, sizeof(needle), "data=\"%s=", name);
    const char *p = doc ? strstr(doc, needle) : NULL;
    if (p == NULL)
        return false;
    p += strlen(needle);
    size_t n = strcspn(p, "\"");
    if (n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static char *public_form(const char *dest, const char *did_var, const char *fork, const char *fwd_from,
                         const char *disposition)
{
    w3_buf_t b = {0};
    add(&b, "section", "dialplan");
    add(&b, "Hunt-Context", "public");
    add(&b, "Hunt-Destination-Number", dest);
    add(&b, "variable_sip_to_user", did_var ? did_var : dest);
    if (did_var)
        add(&b, "variable_w3_did", did_var);
    if (fork)
        add(&b, "variable_w3_fork", fork);
    if (fwd_from) {
        add(&b, "variable_w3_fwd_from", fwd_from);
        add(&b, "variable_originate_disposition", disposition);
    }
    return b.data;
}

static char *internal_form(const char *domain, const char *ext, const char *dest, const char *fwd_from,
                           const char *disposition)
{
    w3_buf_t b = {0};
    add(&b, "section", "dialplan");
    add(&b, "Hunt-Context", "internal");
    add(&b, "Hunt-Destination-Number", dest);
    add(&b, "variable_sip_authorized", "true");
    add(&b, "variable_user_name", ext);
    add(&b, "variable_domain_name", domain);
    if (fwd_from) {
        add(&b, "variable_w3_fwd_from", fwd_from);
        add(&b, "variable_originate_disposition", disposition);
    }
    return b.data;
}

/* Runtime outcomes handed back to the server: explain each. */
static void follow_ups(const lookup_ctx_t *ctx, const char *doc, const char *domain, const char *ext, int *rc)
{
    char did[40] = "", fwd[16] = "", title[200];
    bool has_did = exported(doc, "w3_did", did, sizeof(did));
    if (doc && strstr(doc, "w3_after_bridge") && exported(doc, "w3_fwd_from", fwd, sizeof(fwd))) {
        static const char *const outcomes[] = {"NO_ANSWER", "USER_BUSY"};
        for (int i = 0; i < 2; i++) {
            char *form = has_did ? public_form("w3_after_bridge", did, NULL, fwd, outcomes[i])
                                 : internal_form(domain, ext, "w3_after_bridge", fwd, outcomes[i]);
            snprintf(title, sizeof(title), "\nThen, if the bridge to %s ends with %s:", fwd, outcomes[i]);
            free(explain_one(ctx, title, form, rc));
            free(form);
        }
    }
    if (doc && strstr(doc, "w3_ai_result") && has_did) {
        static const char *const outcomes[] = {"+OK", "-ERR"};
        for (int i = 0; i < 2; i++) {
            char *form = public_form("w3_ai_result", did, outcomes[i], NULL, NULL);
            snprintf(title, sizeof(title), "\nThen, when the stream start answers %s:", outcomes[i]);
            free(explain_one(ctx, title, form, rc));
            free(form);
        }
    }
}

int cli_explain(int argc, char **argv)
{
    const char *db_path = NULL, *did = NULL, *domain = NULL, *ext = NULL, *dial = NULL;
    const cli_opt_t opts[] = {{"db", &db_path, NULL},
                              {"did", &did, NULL},
                              {"domain", &domain, NULL},
                              {"ext", &ext, NULL},
                              {"dial", &dial, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    if (cli_parse(argc, argv, opts, (int)W3_ARRAY_LEN(opts), pos, 0, &npos, &help) != 0)
        return 2;
    bool inbound = did != NULL, internal = domain && ext && dial;
    if (help || db_path == NULL || inbound == internal) {
        fprintf(help ? stdout : stderr,
                "Usage: w3voip explain --db FILE --did NUMBER\n"
                "       w3voip explain --db FILE --domain DOMAIN --ext EXT --dial NUMBER\n\n"
                "Explains, decision by decision, what w3voipd answers for an inbound call to a\n"
                "DID (as a carrier sends it: +39…, 0039… or national) or for extension EXT of\n"
                "DOMAIN dialling NUMBER (routes, class of service, trunks, forwarding and the\n"
                "fallback), then lists the actions FreeSWITCH would execute. Runtime outcomes\n"
                "(busy, no answer, the AI stream start) are explained as follow-ups.\n"
                "Exit status: 0 the call is routed, 3 it is rejected, 1 error, 2 usage.\n");
        return help ? 0 : 2;
    }
    srv_config_t cfg;
    db_reader_t *db;
    lookup_cache_t *cache;
    int open_rc = cli_open("explain", db_path, &cfg, &db, &cache);
    if (open_rc != 0)
        return open_rc == -EINVAL ? 2 : 1; /* bad settings: usage; cannot open: error */
    lookup_ctx_t ctx = {.db = db, .cfg = &cfg, .cache = cache, .trace = narrate};
    int rc = 0;
    char title[300];
    char *form = inbound ? public_form(did, NULL, NULL, NULL, NULL) : internal_form(domain, ext, dial, NULL, NULL);
    if (inbound)
        snprintf(title, sizeof(title), "Inbound call to %s (context public):", did);
    else
        snprintf(title, sizeof(title), "Extension %s@%s dials %s (context internal):", ext, domain, dial);
    char *doc = explain_one(&ctx, title, form, &rc);
    follow_ups(&ctx, doc, domain, ext, &rc);
    free(doc);
    free(form);
    cli_close(&cfg, db, cache);
    return rc;
}
