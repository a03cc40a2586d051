/* w3voip init / a1 / token. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_jwt.h"
#include "cli.h"
#include "lookup.h"
#include "config.h"
#include "db.h"
#include "util.h"

int cli_parse(int argc, char **argv, const cli_opt_t *opts, int nopts, const char **pos, int maxpos, int *npos,
              bool *help)
{
    *npos = 0;
    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
            return 0;
        }
        if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            const cli_opt_t *o = NULL;
            for (int k = 0; k < nopts; k++)
                if (strlen(opts[k].name) == n && strncmp(opts[k].name, name, n) == 0)
                    o = &opts[k];
            if (o == NULL) {
                fprintf(stderr, "%s: unknown option %s (see --help)\n", argv[0], a);
                return -EINVAL;
            }
            if (o->flag) {
                *o->flag = true;
                continue;
            }
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL) {
                fprintf(stderr, "%s: %s needs a value\n", argv[0], a);
                return -EINVAL;
            }
            *o->value = v;
            continue;
        }
        if (*npos >= maxpos) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", argv[0], a);
            return -EINVAL;
        }
        pos[(*npos)++] = a;
    }
    return 0;
}

int cli_init(int argc, char **argv)
{
    const char *db_path = NULL;
    const cli_opt_t opts[] = {{"db", &db_path, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    if (cli_parse(argc, argv, opts, 1, pos, 0, &npos, &help) != 0)
        return 2;
    if (help) {
        printf("Usage: w3voip init --db FILE\n\n"
               "Creates the database if it does not exist and applies every schema\n"
               "migration it lacks (forward only; running it again changes nothing).\n"
               "Refuses a database whose schema is newer than this w3voip.\n"
               "Seed it afterwards with foreign keys on, e.g.: sqlite3 FILE < fixtures/demo.sql\n"
               "(its first line is PRAGMA foreign_keys = ON).\n"
               "Exit status: 0 created, migrated or up to date, 1 cannot open or migrate it\n"
               "(or its schema is newer), 2 usage error.\n");
        return 0;
    }
    if (db_path == NULL) {
        fprintf(stderr, "init: --db FILE is required\n");
        return 2;
    }
    db_conn_t *db = NULL;
    char *err = NULL;
    int from = 0, to = 0;
    int rc = db_conn_open(db_path, true, 5000, &db, &err);
    if (rc == 0)
        rc = db_migrate(db, &from, &to, &err);
    db_conn_close(db);
    if (rc != 0) {
        fprintf(stderr, "init: %s\n", err);
        free(err);
        return 1;
    }
    if (from == to)
        printf("%s: schema version %d, up to date\n", db_path, to);
    else
        printf("%s: schema migrated from version %d to %d\n", db_path, from, to);
    return 0;
}

int cli_a1(int argc, char **argv)
{
    const char *pos[3];
    int npos;
    bool help;
    if (cli_parse(argc, argv, NULL, 0, pos, 3, &npos, &help) != 0)
        return 2;
    if (help || npos < 2) {
        fprintf(help ? stdout : stderr, "Usage: w3voip a1 EXT DOMAIN [PASSWORD]\n\n"
                                        "Prints md5(EXT:DOMAIN:PASSWORD), the value of voip_extensions.a1_hash.\n"
                                        "Without PASSWORD the first line of standard input is read (keeps the\n"
                                        "password out of the shell history and ps). The domain is used exactly\n"
                                        "as written: the digest realm is case-sensitive, so write it as stored.\n"
                                        "Exit status: 0 printed, 2 usage error (also: no or empty password).\n");
        return help ? 0 : 2;
    }
    char line[1024];
    const char *pass = npos == 3 ? pos[2] : NULL;
    if (pass == NULL) {
        if (fgets(line, sizeof(line), stdin) == NULL) {
            fprintf(stderr, "a1: no password on standard input\n");
            return 2;
        }
        line[strcspn(line, "\r\n")] = '\0';
        pass = line;
    }
    if (*pass == '\0') {
        fprintf(stderr, "a1: empty password refused (FreeSWITCH would accept any digest)\n");
        return 2;
    }
    w3_buf_t b = {0};
    w3_buf_printf(&b, "%s:%s:%s", pos[0], pos[1], pass);
    char hex[33];
    w3_md5_hex(b.data, b.len, hex);
    explicit_bzero(b.data, b.len);
    w3_buf_free(&b);
    explicit_bzero(line, sizeof(line));
    printf("%s\n", hex);
    return 0;
}

int cli_token(int argc, char **argv)
{
    const char *key_path = NULL, *tenant = NULL, *domain = NULL, *client = NULL, *scope = NULL, *ttl = "3600",
               *nbf = "0";
    bool platform = false;
    const cli_opt_t opts[] = {{"key", &key_path, NULL},     {"tenant-id", &tenant, NULL}, {"sip-domain", &domain, NULL},
                              {"client-id", &client, NULL}, {"scope", &scope, NULL},      {"ttl", &ttl, NULL},
                              {"nbf", &nbf, NULL},          {"platform", NULL, &platform}};
    const char *pos[1];
    int npos;
    bool help;
    if (cli_parse(argc, argv, opts, (int)W3_ARRAY_LEN(opts), pos, 0, &npos, &help) != 0)
        return 2;
    if (help) {
        printf("Usage: w3voip token --key FILE --client-id ID (--tenant-id T --sip-domain D | --platform)\n"
               "                    [--scope S] [--ttl SECONDS] [--nbf SECONDS]\n\n"
               "Prints a signed JWT. The key decides the algorithm: a PEM RSA private key\n"
               "signs RS256, a PEM EC P-256 private key ES256, any other file is an HS256\n"
               "secret (w3voipd must be given the matching public key or the same secret).\n"
               "  --tenant-id, --sip-domain  a tenant token: reaches only that domain\n"
               "  --platform                 a platform token (scope \"pbx\"): PBX nodes, W3 itself\n"
               "  --scope S                  scope claim (default \"pbx\" with --platform)\n"
               "  --ttl SECONDS              lifetime (default 3600); exp is always set\n"
               "  --nbf SECONDS              not valid before now+SECONDS (default: no nbf)\n"
               "Exit status: 0 printed, 1 the key cannot be loaded or used, 2 usage error.\n");
        return 0;
    }
    if (key_path == NULL || client == NULL) {
        fprintf(stderr, "token: --key and --client-id are required (see --help)\n");
        return 2;
    }
    if (!platform && (tenant == NULL || domain == NULL)) {
        fprintf(stderr, "token: give --tenant-id and --sip-domain, or --platform\n");
        return 2;
    }
    char *end;
    long ttl_s = strtol(ttl, &end, 10);
    if (*end || ttl_s <= 0) {
        fprintf(stderr, "token: --ttl must be a positive number of seconds\n");
        return 2;
    }
    long nbf_s = strtol(nbf, &end, 10);
    if (*end) {
        fprintf(stderr, "token: --nbf must be a number of seconds\n");
        return 2;
    }
    auth_jwt_key_t key;
    const char *why = NULL;
    if (auth_jwt_key_load(key_path, true, &key, &why) != 0) {
        fprintf(stderr, "token: %s: %s\n", key_path, why);
        return 1;
    }
    auth_jwt_mint_req_t req = {.tenant_id = tenant,
                               .sip_domain = domain,
                               .client_id = client,
                               .scope = scope      ? scope
                                        : platform ? "pbx"
                                                   : NULL,
                               .ttl_s = ttl_s,
                               .nbf_offset_s = nbf_s,
                               .now = time(NULL)};
    char *tok = auth_jwt_mint(&key, &req, &why);
    auth_jwt_key_free(&key);
    if (tok == NULL) {
        fprintf(stderr, "token: %s\n", why);
        return 1;
    }
    printf("%s\n", tok);
    free(tok);
    return 0;
}

int cli_settings(const char *cmd, const char *db_path, srv_config_t *cfg)
{
    char *err = NULL;
    /* same settings as the server: the environment, then the database path.
     * No key is loaded (nothing here verifies tokens), but the server's key
     * path is kept when the environment names it: a secret_ref may never
     * point at it. */
    const char *key = getenv("W3_JWT_KEY");
    char *argv[] = {"w3voip", "--db", (char *)db_path, "--jwt-key", "/dev/null", NULL};
    bool printed = false;
    if (srv_config_parse(cfg, key && *key ? 3 : 5, argv, &printed, &err) != 0) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        free(err);
        srv_config_free(cfg);
        return -EINVAL;
    }
    return 0;
}

int cli_open(const char *cmd, const char *db_path, srv_config_t *cfg, db_reader_t **db, lookup_cache_t **cache)
{
    char *err = NULL;
    *db = NULL;
    *cache = NULL;
    if (cli_settings(cmd, db_path, cfg) != 0)
        return -EINVAL;
    *db = db_reader_create(db_path, cfg->db_busy_timeout_ms, &err);
    if (*db == NULL) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        free(err);
        srv_config_free(cfg);
        return -EIO;
    }
    *cache = lookup_cache_create(LOOKUP_CACHE_SIZE);
    return 0;
}

void cli_close(srv_config_t *cfg, db_reader_t *db, lookup_cache_t *cache)
{
    lookup_cache_destroy(cache);
    db_reader_destroy(db);
    srv_config_free(cfg);
}
