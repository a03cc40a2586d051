#include "dp_eval.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"
#include "util.h"

/* Caller-profile fields a condition may name without ${} (switch_caller.c). */
static char *profile_field(const char *form, const char *field)
{
    static const struct {
        const char *field, *hdr;
    } map[] = {{"destination_number", "Hunt-Destination-Number"},
               {"caller_id_number", "Hunt-Caller-ID-Number"},
               {"caller_id_name", "Hunt-Caller-ID-Name"},
               {"ani", "Hunt-ANI"},
               {"network_addr", "Hunt-Network-Addr"},
               {"context", "Hunt-Context"},
               {"username", "Hunt-Username"},
               {"uuid", "Hunt-Unique-ID"},
               {"source", "Hunt-Source"},
               {"chan_name", "Hunt-Channel-Name"},
               {"dialplan", "Hunt-Dialplan"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(field, map[i].field) == 0)
            return h_form_get(form, map[i].hdr);
    if (field[0] == '$' && field[1] == '{') {
        char name[256];
        size_t n = strcspn(field + 2, "}");
        if (n >= sizeof(name) - 10)
            return NULL;
        snprintf(name, sizeof(name), "variable_%.*s", (int)n, field + 2);
        return h_form_get(form, name);
    }
    return NULL; /* FreeSWITCH would not find it either */
}

/* PCRE → POSIX ERE for the subset used: \d, and \X escapes kept. */
static char *to_ere(const char *re)
{
    w3_buf_t b = {0};
    for (const char *p = re; *p; p++) {
        if (p[0] == '\\' && p[1] == 'd') {
            w3_buf_adds(&b, "[0-9]");
            p++;
        } else if (p[0] == '\\' && p[1]) {
            w3_buf_printf(&b, "[%c]", p[1]);
            p++;
        } else {
            w3_buf_add(&b, p, 1);
        }
    }
    return b.data ? b.data : xstrdup("");
}

static void add_action(dp_result_t *r, xmlNodePtr a, const char *value, regmatch_t *m, int nm)
{
    xmlChar *app = xmlGetProp(a, BAD_CAST "application");
    xmlChar *data = xmlGetProp(a, BAD_CAST "data");
    w3_buf_t d = {0};
    for (const char *p = data ? (const char *)data : ""; *p; p++) {
        if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
            int k = p[1] - '0';
            if (value && k < nm && m[k].rm_so >= 0)
                w3_buf_add(&d, value + m[k].rm_so, (size_t)(m[k].rm_eo - m[k].rm_so));
            p++;
        } else {
            w3_buf_add(&d, p, 1);
        }
    }
    r->actions = xrealloc(r->actions, (r->n + 1) * sizeof(*r->actions));
    r->actions[r->n].app = xstrdup(app ? (const char *)app : "");
    r->actions[r->n].data = d.data ? d.data : xstrdup("");
    r->n++;
    xmlFree(app);
    xmlFree(data);
}

static bool is_el(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

int dp_eval(const char *xml, size_t len, const char *form, dp_result_t *out)
{
    memset(out, 0, sizeof(*out));
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "dp.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    if (doc == NULL)
        return -1;
    xmlNodePtr section = NULL;
    for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
        xmlChar *name = is_el(n, "section") ? xmlGetProp(n, BAD_CAST "name") : NULL;
        if (name && strcmp((char *)name, "dialplan") == 0)
            section = n;
        xmlFree(name);
    }
    if (section == NULL) {
        xmlFreeDoc(doc);
        return -1;
    }
    char *want = h_form_get(form, "Hunt-Context");
    xmlNodePtr ctx = NULL, global = NULL;
    for (xmlNodePtr n = section->children; n; n = n->next) {
        xmlChar *name = is_el(n, "context") ? xmlGetProp(n, BAD_CAST "name") : NULL;
        if (name && want && strcasecmp((char *)name, want) == 0 && ctx == NULL)
            ctx = n;
        if (name && strcasecmp((char *)name, "global") == 0)
            global = n;
        xmlFree(name);
    }
    free(want);
    if (ctx == NULL)
        ctx = global;
    out->found_context = ctx != NULL;
    for (xmlNodePtr ext = ctx ? ctx->children : NULL; ext; ext = ext->next) {
        if (!is_el(ext, "extension"))
            continue;
        bool matched = true, stop = false;
        regmatch_t m[10];
        char *value = NULL;
        int nm = 0;
        for (xmlNodePtr c = ext->children; c && !stop; c = c->next) {
            if (!is_el(c, "condition"))
                continue;
            xmlChar *field = xmlGetProp(c, BAD_CAST "field");
            xmlChar *expr = xmlGetProp(c, BAD_CAST "expression");
            xmlChar *brk = xmlGetProp(c, BAD_CAST "break");
            bool pass;
            if (field == NULL && expr == NULL) {
                pass = true; /* absolute condition */
            } else {
                free(value);
                value = field ? profile_field(form, (const char *)field) : NULL;
                char *ere = to_ere(expr ? (const char *)expr : "");
                regex_t re;
                pass = false;
                if (regcomp(&re, ere, REG_EXTENDED) == 0) {
                    pass = regexec(&re, value ? value : "", 10, m, 0) == 0;
                    nm = pass ? 10 : 0;
                    regfree(&re);
                }
                free(ere);
            }
            for (xmlNodePtr a = c->children; a; a = a->next)
                if ((pass && is_el(a, "action")) || (!pass && is_el(a, "anti-action")))
                    add_action(out, a, value, m, nm);
            const char *b = brk ? (const char *)brk : "on-false";
            if ((!pass && strcmp(b, "on-false") == 0) || (pass && strcmp(b, "on-true") == 0) ||
                strcmp(b, "always") == 0)
                stop = true;
            if (!pass)
                matched = false;
            xmlFree(field);
            xmlFree(expr);
            xmlFree(brk);
        }
        free(value);
        if (matched) {
            if (out->extension == NULL) {
                xmlChar *name = xmlGetProp(ext, BAD_CAST "name");
                out->extension = xstrdup(name ? (const char *)name : "");
                xmlFree(name);
            }
            xmlChar *cont = xmlGetProp(ext, BAD_CAST "continue");
            bool go_on = cont && strcmp((char *)cont, "true") == 0;
            xmlFree(cont);
            if (!go_on)
                break;
        }
    }
    xmlFreeDoc(doc);
    return 0;
}

void dp_result_free(dp_result_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->actions[i].app);
        free(r->actions[i].data);
    }
    free(r->actions);
    free(r->extension);
    memset(r, 0, sizeof(*r));
}

const char *dp_find(const dp_result_t *r, const char *app, int nth)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->actions[i].app, app) == 0 && nth-- == 0)
            return r->actions[i].data;
    return NULL;
}

char *dp_dump(const dp_result_t *r)
{
    w3_buf_t b = {0};
    for (size_t i = 0; i < r->n; i++)
        w3_buf_printf(&b, "#   %s %s\n", r->actions[i].app, r->actions[i].data);
    return b.data ? b.data : xstrdup("#   (no actions)\n");
}
