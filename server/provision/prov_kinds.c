/* The kinds of the provisioning API and what each field may hold: the
 * schema's CHECKs and triggers again, in C, so that a bad body is refused
 * with its field's pointer before anything is written. The schema stays
 * the second line (a refusal there is also answered 422). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lookup.h"
#include "prov_internal.h"
#include "util.h"
#include "xg.h"

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define REF_CHARS ID_CHARS "."
#define DIGITS "0123456789"

static bool chars(const json_t *v, size_t min, size_t max, const char *allowed)
{
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    return n >= min && n <= max && strlen(s) == n && strspn(s, allowed) == n;
}

/* Free text that reaches FreeSWITCH (names): no control character and no
 * pre-processor or expansion trigger. */
/* Characters, as the schema's length() counts them (jansson's strings are UTF-8). */
static size_t chars_in(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static const char *text(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || chars_in(s) > max)
        return max == 100 ? "must be at most 100 characters" : "must be at most 200 characters";
    if (w3_utf8_valid_prefix(s, strlen(s)) != strlen(s) || !xg_value_safe(s))
        return "may not hold control characters, '${', '<?' or X-PRE-PROCESS";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 32 || *p == 127)
            return "may not hold control characters, '${', '<?' or X-PRE-PROCESS";
    return NULL;
}

static const char *c_id(const json_t *v)
{
    return chars(v, 1, 64, ID_CHARS) ? NULL : "must be 1 to 64 characters of A-Z a-z 0-9 _ -";
}
static const char *c_ref(const json_t *v)
{
    return chars(v, 1, 64, REF_CHARS) ? NULL : "must be 1 to 64 characters of A-Z a-z 0-9 _ . -";
}
static const char *c_name(const json_t *v)
{
    return text(v, 200);
}
static const char *c_route_name(const json_t *v)
{
    return json_string_length(v) == 0 ? "must not be empty: it is the route's key" : text(v, 200);
}
static const char *c_display(const json_t *v)
{
    return text(v, 100);
}
static const char *c_gateway(const json_t *v)
{
    return json_string_length(v) <= 64 && xg_gateway_name_ok(json_string_value(v))
               ? NULL
               : "must be 1 to 64 characters of A-Z a-z 0-9 _ . - (a sofia gateway name)";
}
static const char *c_proxy(const json_t *v)
{
    return chars(v, 1, 255, ID_CHARS ".:[]") ? NULL : "must be a host, host:port or [IPv6] (A-Z a-z 0-9 . : _ - [ ])";
}
static const char *c_port(const json_t *v)
{
    json_int_t p = json_integer_value(v);
    return p >= 1 && p <= 65535 ? NULL : "must be between 1 and 65535";
}
static bool one_of(const json_t *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(json_string_value(v), *set) == 0)
            return true;
    return false;
}
static const char *c_transport(const json_t *v)
{
    static const char *const set[] = {"udp", "tcp", "tls", NULL};
    return one_of(v, set) ? NULL : "must be udp, tcp or tls";
}
static const char *c_username(const json_t *v)
{
    return chars(v, 1, 128, ID_CHARS ".+*#@") ? NULL : "must be 1 to 128 characters of A-Z a-z 0-9 _ . + * # @ -";
}
static const char *c_host(const json_t *v)
{
    return chars(v, 1, 255, ID_CHARS ".:") ? NULL : "must be 1 to 255 characters of A-Z a-z 0-9 . : _ -";
}
static const char *c_from_user(const json_t *v)
{
    return chars(v, 1, 128, ID_CHARS ".+*#") ? NULL : "must be 1 to 128 characters of A-Z a-z 0-9 _ . + * # -";
}
static const char *c_cid(const json_t *v)
{
    return chars(v, 1, 20, DIGITS "+") ? NULL : "must be 1 to 20 digits or +";
}
static const char *c_secret_ref(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    bool form = (strncmp(s, "env:", 4) == 0 && strchr(ID_CHARS, s[4]) && s[4] && !strchr(DIGITS "-", s[4])) ||
                (strncmp(s, "file:/", 6) == 0 && n > 6) || (strncmp(s, "vault:", 6) == 0 && n > 6);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 32 || *p == 127)
            form = false;
    return form && n >= 5 && n <= 1024 && strlen(s) == n
               ? NULL
               : "must be env:NAME, file:/path or vault:path (no spaces, at most 1024 characters)";
}
static const char *c_priority(const json_t *v)
{
    json_int_t p = json_integer_value(v);
    return p >= -1000000 && p <= 1000000 ? NULL : "must be between -1000000 and 1000000";
}
static const char *c_ext_number(const json_t *v)
{
    return chars(v, 2, 10, DIGITS) ? NULL : "must be 2 to 10 digits";
}
static const char *c_a1(const json_t *v)
{
    return chars(v, 32, 32, DIGITS "abcdef") ? NULL : "must be 32 lowercase hex digits: md5(ext:domain:password)";
}
static const char *c_cos(const json_t *v)
{
    static const char *const set[] = {"internal", "local", "national", "mobile", "international", "premium", NULL};
    return one_of(v, set) ? NULL : "must be internal, local, national, mobile, international or premium";
}
static const char *c_forwarding(const json_t *v)
{
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        if (strcmp(k, "no_answer_timeout") == 0) {
            if (!json_is_null(x) && (!json_is_integer(x) || json_integer_value(x) < 5 || json_integer_value(x) > 300))
                return "no_answer_timeout must be an integer between 5 and 300 (seconds)";
        } else if (strcmp(k, "always") == 0 || strcmp(k, "busy") == 0 || strcmp(k, "no_answer") == 0) {
            if (!json_is_null(x) && !chars(x, 1, 20, DIGITS "+*#"))
                return "always, busy and no_answer must be 1 to 20 of 0-9 + * #";
        } else {
            return "may only hold always, busy, no_answer and no_answer_timeout";
        }
    }
    return NULL;
}
static const char *c_e164(const json_t *v)
{
    const char *s = json_string_value(v);
    return chars(v, 4, 16, DIGITS "+") && s[0] == '+' && s[1] >= '1' && s[1] <= '9' && !strchr(s + 1, '+')
               ? NULL
               : "must be E.164: + and 3 to 15 digits, the first not 0";
}
static const char *c_target_type(const json_t *v)
{
    static const char *const set[] = {"ext", "ring", "ai", NULL};
    return one_of(v, set) ? NULL : "must be ext, ring or ai";
}
static const char *c_fallback(const json_t *v)
{
    static const char *const set[] = {"voicemail", "announcement", "hangup", NULL};
    return one_of(v, set) ? NULL : "must be voicemail, announcement or hangup";
}
static const char *c_pattern(const json_t *v)
{
    static _Thread_local char why[200];
    char r[128];
    if (strlen(json_string_value(v)) != json_string_length(v))
        return "may not hold a NUL";
    if (lookup_pattern_safe(json_string_value(v), r, sizeof(r)) == 0)
        return NULL;
    snprintf(why, sizeof(why), "is outside the safe pattern subset: %s", r);
    return why;
}
static const char *c_strip(const json_t *v)
{
    json_int_t p = json_integer_value(v);
    return p >= 0 && p <= 20 ? NULL : "must be between 0 and 20";
}
static const char *c_prepend(const json_t *v)
{
    return chars(v, 0, 20, DIGITS "+*#") ? NULL : "must be at most 20 of 0-9 + * #";
}
static const char *c_cos_class(const json_t *v)
{
    static const char *const set[] = {"emergency", "internal",      "local",   "national",
                                      "mobile",    "international", "premium", NULL};
    return one_of(v, set) ? NULL : "must be emergency, internal, local, national, mobile, international or premium";
}
static const char *c_strategy(const json_t *v)
{
    static const char *const set[] = {"simultaneous", "sequential", NULL};
    return one_of(v, set) ? NULL : "must be simultaneous or sequential";
}
static const char *c_ring_timeout(const json_t *v)
{
    json_int_t p = json_integer_value(v);
    return p >= 5 && p <= 300 ? NULL : "must be between 5 and 300 (seconds)";
}
static const char *c_ws_url(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!chars(v, 6, 512, ID_CHARS "._~:/?#@!&*+=%"))
        return "must be a ws:// or wss:// URL of at most 512 characters without ( ) , ; ' or spaces";
    if (strncmp(s, "ws://", 5) != 0 && strncmp(s, "wss://", 6) != 0)
        return "must start with ws:// or wss://";
    return NULL;
}
static const char *c_members(const json_t *v)
{
    if (json_array_size(v) > DB_MAX_RING_GROUP_MEMBERS)
        return "a ring group has at most 64 members";
    size_t i;
    json_t *m;
    json_array_foreach(v, i,
                       m) if (!chars(m, 2, 10, DIGITS)) return "members must be extension numbers (2 to 10 digits)";
    return NULL;
}

#define ENABLED                                                                                                        \
    {                                                                                                                  \
        "enabled", V_BOOL, "true", NULL, 0                                                                             \
    }
#define TENANT                                                                                                         \
    {                                                                                                                  \
        "tenant_id", V_STR, "null", NULL, PF_TENANT | PF_NULL                                                          \
    }
#define DOMAIN                                                                                                         \
    {                                                                                                                  \
        "sip_domain", V_STR, "null", NULL, PF_DOMAIN | PF_NULL                                                         \
    }
#define END                                                                                                            \
    {                                                                                                                  \
        NULL, V_STR, NULL, NULL, 0                                                                                     \
    }

static const pfield_t stores_f[] = {
    {"store_id", V_STR, NULL, c_id, 0}, TENANT, DOMAIN, {"name", V_STR, "\"\"", c_name, 0}, ENABLED, END,
};
static const pfield_t trunks_f[] = {
    {"trunk_id", V_STR, NULL, c_id, 0},
    TENANT,
    DOMAIN,
    {"store_id", V_STR, NULL, c_id, 0},
    {"name", V_STR, "\"\"", c_name, 0},
    {"gateway_name", V_STR, NULL, c_gateway, 0},
    {"proxy", V_STR, NULL, c_proxy, 0},
    {"port", V_INT, "null", c_port, PF_NULL},
    {"transport", V_STR, "\"udp\"", c_transport, 0},
    {"register", V_BOOL, "false", NULL, 0},
    {"username", V_STR, "null", c_username, PF_NULL},
    {"realm", V_STR, "null", c_host, PF_NULL},
    {"from_user", V_STR, "null", c_from_user, PF_NULL},
    {"from_domain", V_STR, "null", c_host, PF_NULL},
    {"secret_ref", V_STR, "null", c_secret_ref, PF_NULL | PF_SECRET},
    {"caller_id_number", V_STR, "null", c_cid, PF_NULL},
    {"priority", V_INT, "0", c_priority, 0},
    ENABLED,
    END,
};
static const pfield_t extensions_f[] = {
    {"extension_id", V_STR, NULL, c_id, 0},
    TENANT,
    DOMAIN,
    {"store_id", V_STR, NULL, c_id, 0},
    {"user_id", V_STR, NULL, c_id, 0},
    {"ext_number", V_STR, NULL, c_ext_number, 0},
    {"display_name", V_STR, "\"\"", c_display, 0},
    {"a1_hash", V_STR, "null", c_a1, PF_SECRET},
    {"cos", V_STR, "\"internal\"", c_cos, 0},
    {"forwarding", V_OBJ, "{}", c_forwarding, 0},
    {"voicemail_enabled", V_BOOL, "true", NULL, 0},
    ENABLED,
    END,
};
static const pfield_t ring_groups_f[] = {
    {"ring_group_id", V_STR, NULL, c_id, 0},
    TENANT,
    DOMAIN,
    {"store_id", V_STR, NULL, c_id, 0},
    {"ref", V_STR, NULL, c_ref, 0},
    {"strategy", V_STR, "\"simultaneous\"", c_strategy, 0},
    {"ring_timeout", V_INT, "20", c_ring_timeout, 0},
    ENABLED,
    {"members", V_ARR, "[]", c_members, 0},
    END,
};
static const pfield_t ai_agents_f[] = {
    {"agent_id", V_STR, NULL, c_id, 0},
    TENANT,
    DOMAIN,
    {"ref", V_STR, NULL, c_ref, 0},
    {"name", V_STR, "\"\"", c_name, 0},
    {"ws_url", V_STR, "null", c_ws_url, PF_NULL},
    ENABLED,
    END,
};
static const pfield_t dids_f[] = {
    {"did_id", V_STR, NULL, c_id, 0},
    TENANT,
    DOMAIN,
    {"store_id", V_STR, NULL, c_id, 0},
    {"e164", V_STR, NULL, c_e164, 0},
    {"target_type", V_STR, NULL, c_target_type, 0},
    {"target_ref", V_STR, NULL, c_ref, 0},
    {"fallback", V_STR, "\"voicemail\"", c_fallback, 0},
    ENABLED,
    END,
};
static const pfield_t routes_f[] = {
    {"route_id", V_STR, NULL, c_id, 0},
    TENANT,
    DOMAIN,
    {"name", V_STR, NULL, c_route_name, 0},
    {"pattern", V_STR, NULL, c_pattern, 0},
    {"strip_digits", V_INT, "0", c_strip, 0},
    {"prepend", V_STR, "\"\"", c_prepend, 0},
    {"cos_class", V_STR, NULL, c_cos_class, 0},
    {"priority", V_INT, "100", c_priority, 0},
    ENABLED,
    END,
};

const pkind_t prov_kinds[DB_PK__N] = {
    [DB_PK_STORES] = {"stores", "stores", "store", "store_id", "store_id", stores_f},
    [DB_PK_TRUNKS] = {"trunks", "trunks", "trunk", "trunk_id", "gateway_name", trunks_f},
    [DB_PK_EXTENSIONS] = {"extensions", "extensions", "extension", "extension_id", "ext_number", extensions_f},
    [DB_PK_RING_GROUPS] = {"ring_groups", "ring-groups", "ring_group", "ring_group_id", "ref", ring_groups_f},
    [DB_PK_AI_AGENTS] = {"ai_agents", "ai-agents", "ai_agent", "agent_id", "ref", ai_agents_f},
    [DB_PK_DIDS] = {"dids", "dids", "did", "did_id", "e164", dids_f},
    [DB_PK_ROUTES] = {"routes", "routes", "route", "route_id", "name", routes_f},
};

const pfield_t *prov_field(const pkind_t *k, const char *name)
{
    for (const pfield_t *f = k->fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

int prov_kind_from_url(const char *segment)
{
    for (int k = 0; k < DB_PK__N; k++)
        if (strcmp(prov_kinds[k].url, segment) == 0)
            return k;
    return -1;
}

const char *prov_kind_name(db_pkind_t k)
{
    return prov_kinds[k].list;
}

const char *prov_check_password(const json_t *v)
{
    if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > 128)
        return "must be a string of 1 to 128 characters";
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || w3_utf8_valid_prefix(s, strlen(s)) != strlen(s))
        return "must be valid UTF-8 without NUL";
    return NULL;
}

const char *prov_check_tenant_field(const char *name, const json_t *v)
{
    if (strcmp(name, "tenant_id") == 0)
        return json_is_string(v) ? c_id(v) : "must be a string";
    if (strcmp(name, "name") == 0)
        return json_is_string(v) ? c_name(v) : "must be a string";
    if (strcmp(name, "country_code") == 0) {
        const char *s = json_string_value(v);
        return chars(v, 1, 3, DIGITS) && s[0] != '0' ? NULL : "must be 1 to 3 digits, the first not 0";
    }
    if (strcmp(name, "enabled") == 0)
        return json_is_boolean(v) ? NULL : "must be true or false";
    return "is not a field of a tenant (tenant_id, name, country_code, enabled)";
}

const char *prov_check_domain(const char *d)
{
    size_t n = strlen(d), label = 0;
    if (n < 1 || n > 253)
        return "must be 1 to 253 characters";
    for (size_t i = 0; i <= n; i++) {
        char c = d[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
                return "must be DNS labels of 1 to 63 characters (A-Z a-z 0-9 -, no - at either end) joined by dots";
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
            label++;
        } else {
            return "may only hold A-Z a-z 0-9 - and dots";
        }
    }
    return NULL;
}

const char *prov_json_error(const json_error_t *err)
{
    switch (json_error_code(err)) {
    case json_error_invalid_utf8:
        return "invalid UTF-8";
    case json_error_premature_end_of_input:
        return "the body ends too early";
    case json_error_end_of_input_expected:
        return "text after the JSON value";
    case json_error_null_character:
        return "a NUL character";
    case json_error_duplicate_key:
        return "a duplicated key";
    case json_error_wrong_type:
        return "not a JSON object";
    case json_error_invalid_format:
    case json_error_invalid_syntax:
    default:
        return "invalid JSON syntax";
    }
}
