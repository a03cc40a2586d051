/* w3voip export: one tenant as static FreeSWITCH files (the seed's push
 * mode A), in the layout a stock conf/ tree includes:
 *   directory/<domain>.xml                  users (user_context=<domain>)
 *   dialplan/<domain>.xml                   the tenant's own context
 *   dialplan/public/<domain>.xml            its DIDs, inside context public
 *   dialplan/public/zz-w3voipd-reject.xml   unknown DIDs refused, last
 *   sip_profiles/external/<domain>.xml      its gateways
 * Everything is rendered by the code that answers live lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "lookup.h"
#include "secret.h"
#include "util.h"

static int mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int write_out(const char *dir, const char *sub, const char *name, const xg_out_t *x)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    if (mkdirs(path) != 0) {
        fprintf(stderr, "export: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(x->data, 1, x->len, f) != x->len || fclose(f) != 0) {
        fprintf(stderr, "export: cannot write %s\n", path);
        return -1;
    }
    printf("wrote %s\n", path);
    return 0;
}

struct users {
    db_reader_t *db;
    const db_tenant_t *t;
    xg_static_t *x;
    int n;
    int skipped;
};

static int add_user(const char *num, void *arg)
{
    struct users *u = arg;
    db_extension_t e;
    if (db_extension_get(u->db, u->t->sip_domain, num, &e) != 0)
        return -EIO;
    if (!e.enabled)
        return 0;
    if (xg_static_user(u->x, &e) != 0) {
        fprintf(stderr, "export: extension %s@%s left out: a value is not safe to render\n", num, u->t->sip_domain);
        u->skipped++;
        return 0;
    }
    u->n++;
    return 0;
}

struct gws {
    xg_static_t *x;
    int n;
    int skipped;
    secret_scope_t scope;
    const char *forbidden[3];
};

static int gw_trunk(const db_trunk_t *tr, void *arg)
{
    struct gws *g = arg;
    char *secret = NULL;
    const char *why = NULL;
    if (tr->secret_ref[0] && secret_resolve(&g->scope, tr->secret_ref, &secret, &why) != 0) {
        fprintf(stderr, "export: gateway %s left out: secret_ref %s does not resolve (%s)\n", tr->gateway_name,
                tr->secret_ref, why);
        g->skipped++;
        return 0;
    }
    if (xg_static_gateway(g->x, tr, secret) != 0) {
        fprintf(stderr, "export: gateway %s left out: a value is not safe to render\n", tr->gateway_name);
        g->skipped++;
    } else {
        g->n++;
    }
    secret_free(secret);
    return 0;
}

/* A route the export cannot write as it is (lookup_export_dialplan). */
static void say_left_out(void *arg, const char *message)
{
    (void)arg;
    fprintf(stderr, "export: %s\n", message);
}

int cli_export(int argc, char **argv)
{
    const char *db_path = NULL, *domain = NULL, *out = NULL;
    const cli_opt_t opts[] = {{"db", &db_path, NULL}, {"domain", &domain, NULL}, {"out", &out, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    if (cli_parse(argc, argv, opts, 3, pos, 0, &npos, &help) != 0)
        return 2;
    if (help || !db_path || !domain || !out) {
        fprintf(help ? stdout : stderr,
                "Usage: w3voip export --db FILE --domain DOMAIN --out DIR\n\n"
                "Writes one tenant as static FreeSWITCH configuration, for a PBX that must run\n"
                "without w3voipd, in the layout the stock conf/ tree includes:\n"
                "  DIR/directory/DOMAIN.xml                 its users (user_context=DOMAIN)\n"
                "  DIR/dialplan/DOMAIN.xml                  its context (extensions, routes, COS)\n"
                "  DIR/dialplan/public/DOMAIN.xml           its DIDs (context public)\n"
                "  DIR/dialplan/public/zz-w3voipd-reject.xml  unknown DIDs refused\n"
                "  DIR/sip_profiles/external/DOMAIN.xml     its gateways (secrets resolved now,\n"
                "                                           from this shell's environment)\n"
                "Copy DIR over FreeSWITCH's conf/ and run: fs_cli -x reloadxml; fs_cli -x\n"
                "'sofia profile external rescan'. Several domains can be exported into the\n"
                "same DIR.\n"
                "Exit status: 0 complete, 1 something was left out (a user or a gateway\n"
                "with a value not safe to render, a gateway whose secret does not resolve;\n"
                "each named on stderr, the rest is written) or the database cannot be read\n"
                "or rendered, 2 usage error or no enabled tenant with that domain.\n");
        return help ? 0 : 2;
    }
    srv_config_t cfg;
    db_reader_t *db;
    lookup_cache_t *cache;
    int left_out = 0;
    int rc = cli_open("export", db_path, &cfg, &db, &cache);
    if (rc != 0)
        return rc == -EINVAL ? 2 : 1; /* bad settings: usage; cannot open: error */
    rc = 1;
    xg_out_t dir = {0}, ctxdoc = {0}, pubdoc = {0}, rejdoc = {0}, gwdoc = {0};
    db_tenant_t t;
    if (db_tenant_by_domain(db, domain, &t) != 0 || !t.enabled) {
        fprintf(stderr, "export: no enabled tenant with domain %s\n", domain);
        rc = 2;
        goto out;
    }
    xg_dir_opts_t o = {.dial_string = NULL, .cacheable_ms = 0, .user_context = t.sip_domain};
    struct users u = {.db = db, .t = &t, .x = xg_static_directory_create(&t, &o)};
    if (db_list_extensions(db, t.sip_domain, add_user, &u) != 0 || xg_static_finish(u.x, &dir) != 0) {
        fprintf(stderr, "export: cannot render the directory\n");
        goto out;
    }
    lookup_ctx_t ctx = {.db = db, .cfg = &cfg, .cache = cache};
    if (lookup_export_dialplan(&ctx, &t, &ctxdoc, &pubdoc, &rejdoc, say_left_out, NULL, &left_out) != 0) {
        fprintf(stderr, "export: cannot render the dialplan\n");
        goto out;
    }
    struct gws g = {.x = xg_static_gateways_create()};
    srv_config_secret_scope(&cfg, &g.scope, g.forbidden);
    db_gateway_walk_t walk = {.on_domain = NULL, .on_trunk = gw_trunk, .arg = &g};
    if (db_gateways_walk(db, t.sip_domain, &walk) != 0 || xg_static_finish(g.x, &gwdoc) != 0) {
        fprintf(stderr, "export: cannot render the gateways\n");
        goto out;
    }
    char file[300];
    snprintf(file, sizeof(file), "%s.xml", t.sip_domain);
    if (write_out(out, "directory", file, &dir) || write_out(out, "dialplan", file, &ctxdoc) ||
        write_out(out, "dialplan/public", file, &pubdoc) ||
        write_out(out, "dialplan/public", "zz-w3voipd-reject.xml", &rejdoc) ||
        write_out(out, "sip_profiles/external", file, &gwdoc))
        goto out;
    /* a user left out is as incomplete an export as a gateway left out: a
     * phone that can no longer register; a route left out, a call that
     * goes nowhere */
    printf("%s: %d users, %d gateways", t.sip_domain, u.n, g.n);
    if (u.skipped || g.skipped || left_out)
        printf(" (left out: %d users, %d gateways%s, see above)", u.skipped, g.skipped,
               left_out ? ", dialplan routes" : "");
    printf("\n");
    rc = u.skipped || g.skipped || left_out ? 1 : 0;
out:
    xg_out_free(&dir);
    xg_out_free(&ctxdoc);
    xg_out_free(&pubdoc);
    xg_out_free(&rejdoc);
    xg_out_free(&gwdoc);
    cli_close(&cfg, db, cache);
    return rc;
}
