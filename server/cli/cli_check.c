/* w3voip check: a consistency report of the data, for operators (SPEC §10).
 * The schema refuses most bad rows; these are the problems it cannot see
 * (a DID names its target by ref, a store may have no trunk, a secret may
 * not resolve here, a pattern may not compile) or that a sqlite3 session
 * with foreign keys off let through, and sets past the explicit limits
 * (written before schema v3, or with its triggers dropped). Exit 0 clean, 1 problems, 2 usage. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "lookup.h"
#include "secret.h"
#include "util.h"

struct report {
    secret_scope_t scope; /* as w3voipd would resolve secret_refs (its environment) */
    int problems;
    int warnings;
    bool quiet;
};

static void problem(struct report *r, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct report *r, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("PROBLEM %-22s ", kind);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    r->problems++;
}

static void on_problem(const char *kind, const char *message, void *arg)
{
    problem(arg, kind, "%s", message);
}

static void check_secret(const char *gw, const char *dom, const char *ref, bool reg, void *arg)
{
    struct report *r = arg;
    if (ref == NULL) {
        if (reg)
            problem(r, "trunk-secret", "gateway %s (%s) registers but has no secret_ref", gw, dom);
        return;
    }
    char *secret = NULL;
    const char *why = NULL;
    if (secret_resolve(&r->scope, ref, &secret, &why) != 0)
        problem(r, "trunk-secret",
                "gateway %s (%s): secret_ref %s does not resolve here (%s); w3voipd leaves it out of "
                "purpose=gateways",
                gw, dom, ref, why);
    secret_free(secret);
}

static void check_pattern(const char *name, const char *dom, const char *pattern, void *arg)
{
    regex_t re;
    int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &re, msg, sizeof(msg));
        problem(arg, "route-pattern", "route '%s' (%s): pattern %s does not compile: %s", name, dom, pattern, msg);
        return;
    }
    regfree(&re);
    char why[128];
    if (lookup_pattern_safe(pattern, why, sizeof(why)) != 0)
        problem(arg, "route-pattern", "route '%s' (%s): pattern %s is outside the safe subset, w3voipd skips it: %s",
                name, dom, pattern, why);
}

int cli_check(int argc, char **argv)
{
    const char *db_path = NULL;
    const cli_opt_t opts[] = {{"db", &db_path, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    if (cli_parse(argc, argv, opts, 1, pos, 0, &npos, &help) != 0)
        return 2;
    if (help || db_path == NULL) {
        fprintf(help ? stdout : stderr,
                "Usage: w3voip check --db FILE\n\n"
                "Reports what the schema cannot refuse by itself: DIDs whose extension, ring\n"
                "group or AI agent is missing or disabled, ring group members that are not\n"
                "extensions, stores without an enabled trunk, extensions without a valid\n"
                "a1-hash, trunk secret_refs that do not resolve (in this shell's environment:\n"
                "run it with w3voipd's), gateway names that clash, route patterns that do not\n"
                "compile, rows that foreign keys would have refused, and ring groups, tenants\n"
                "and stores past the limits the schema enforces on new writes (%d members per\n"
                "ring group, %d routes per tenant, %d trunks per store), by ref, domain or\n"
                "store name and id, with the count and the limit.\n"
                "Exit status: 0 nothing wrong, 1 problems found, 2 usage error, or the\n"
                "database cannot be read or has another schema version (run w3voip init).\n",
                DB_MAX_RING_GROUP_MEMBERS, DB_MAX_TENANT_ROUTES, DB_MAX_STORE_TRUNKS);
        return help ? 0 : 2;
    }
    char *err = NULL;
    db_reader_t *db = NULL;
    struct report r = {0};
    const char *forbidden[3];
    srv_config_t cfg;
    if (cli_settings("check", db_path, &cfg) != 0)
        return 2;
    srv_config_secret_scope(&cfg, &r.scope, forbidden);
    int version = -1;
    db_counts_t n;
    int rc = 2;
    if (db_file_schema_version(db_path, &version, &err) != 0) {
        fprintf(stderr, "check: %s\n", err);
        goto out;
    }
    if (version != db_migrations_count) {
        fprintf(stderr, "check: %s has schema version %d, expected %d (run w3voip init)\n", db_path, version,
                db_migrations_count);
        goto out;
    }
    db = db_reader_create(db_path, 5000, &err);
    if (db == NULL) {
        fprintf(stderr, "check: %s\n", err);
        goto out;
    }
    if (db_check_problems(db, on_problem, &r) != 0 || db_check_trunks(db, check_secret, &r) != 0 ||
        db_check_routes(db, check_pattern, &r) != 0 || db_check_counts(db, &n) != 0) {
        fprintf(stderr, "check: cannot read %s\n", db_path);
        goto out;
    }
    printf("checked %s: %d tenants, %d extensions, %d DIDs, %d trunks, %d routes: %d problem%s\n", db_path, n.tenants,
           n.extensions, n.dids, n.trunks, n.routes, r.problems, r.problems == 1 ? "" : "s");
    rc = r.problems ? 1 : 0;
out:
    free(err);
    db_reader_destroy(db);
    srv_config_free(&cfg);
    return rc;
}
