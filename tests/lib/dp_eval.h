/* A small evaluator of what FreeSWITCH's mod_dialplan_xml would execute for
 * a dialplan document and a request (mod_dialplan_xml.c dialplan_xml_locate/
 * parse_exten): pick <context name=Hunt-Context> (else "global"), walk the
 * extensions in order, evaluate each condition (absolute, or field +
 * expression; field "destination_number" etc. from the caller profile,
 * "${var}" from the channel variables), honour break (on-false default,
 * on-true, always, never), run actions of matching conditions and
 * anti-actions of failing ones, substitute $1..$9 from the last regex, and
 * stop after the first matching extension unless continue="true".
 * Regexes are POSIX ERE here (FreeSWITCH uses PCRE); the documents under
 * test use the common subset. */
#ifndef W3_DP_EVAL_H
#define W3_DP_EVAL_H

#include <stddef.h>

typedef struct dp_action {
    char *app;
    char *data; /* "" when absent */
} dp_action_t;

typedef struct dp_result {
    int found_context; /* 0 when neither the context nor "global" exists */
    char *extension;   /* name of the (first) matching extension */
    dp_action_t *actions;
    size_t n;
} dp_result_t;

/* form: the request body (the mod_xml_curl form). 0, or -1 when the XML
 * does not parse or has no dialplan section. */
int dp_eval(const char *xml, size_t len, const char *form, dp_result_t *out);
void dp_result_free(dp_result_t *r);
/* The data of the i-th action named app (0-based among those), or NULL. */
const char *dp_find(const dp_result_t *r, const char *app, int nth);
/* "app data\n" per action, for diagnostics; malloc'd. */
char *dp_dump(const dp_result_t *r);

#endif
