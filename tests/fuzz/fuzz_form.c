/* Fuzz target: server/common/form.h, the decoder of every mod_xml_curl body.
 * The input is the raw request body. Properties checked besides memory
 * safety: a parsed form has only named fields, form_get() returns the first
 * occurrence, a refused body leaves the form empty with a reason. */
#include <errno.h>
#include <string.h>

#include "form.h"
#include "fuzz.h"

/* The fields the lookups read (lookup_directory.c, lookup_dialplan.c). */
static const char *const names[] = {
    "hostname",
    "section",
    "tag_name",
    "key_name",
    "key_value",
    "purpose",
    "user",
    "domain",
    "key",
    "action",
    "Hunt-Context",
    "Caller-Context",
    "Hunt-Destination-Number",
    "Caller-Destination-Number",
    "variable_sip_authorized",
    "variable_user_name",
    "variable_domain_name",
    "variable_sip_to_user",
    "variable_sip_gateway",
    "variable_w3_did",
    "variable_w3_fwd_from",
    "variable_w3_fork",
    "",
    "=",
    "%",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, not NUL-terminated: the parser must honour len */
    char *body = fuzz_dup(data, size);

    form_t f;
    const char *why = NULL;
    int rc = form_parse(&f, body, size, &why);
    if (rc == 0) {
        FUZZ_CHECK(size == 0 || f.store != NULL);
        for (size_t i = 0; i < f.n; i++) {
            const form_field_t *fl = &f.fields[i];
            FUZZ_CHECK(fl->name != NULL && fl->value != NULL);
            FUZZ_CHECK(fl->name[0] != '\0');
            FUZZ_CHECK(strlen(fl->name) + strlen(fl->value) <= size);
            FUZZ_CHECK(strchr(fl->name, '&') == NULL && strchr(fl->name, '=') == NULL);
            /* form_get answers the first field of that name */
            const char *v = form_get(&f, fl->name);
            FUZZ_CHECK(v != NULL);
            size_t first = 0;
            while (strcmp(f.fields[first].name, fl->name) != 0)
                first++;
            FUZZ_CHECK(v == f.fields[first].value);
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            const char *v = form_get(&f, names[i]);
            FUZZ_CHECK(v == NULL || strlen(v) <= size);
        }
        form_free(&f);
        FUZZ_CHECK(f.store == NULL && f.fields == NULL && f.n == 0);
        form_free(&f); /* idempotent */
    } else {
        FUZZ_CHECK(rc == -EINVAL);
        FUZZ_CHECK(why != NULL);
        FUZZ_CHECK(f.store == NULL && f.fields == NULL && f.n == 0);
    }

    /* the %XX decoder alone: never longer, always NUL-terminated */
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    size_t n = form_pct_decode(s, size);
    FUZZ_CHECK(n <= size);
    FUZZ_CHECK(s[n] == '\0');
    free(s);
    free(body);
    return 0;
}
