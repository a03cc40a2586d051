/* w3voip apply: a tenant's desired state from a file, through the same
 * code as PUT /api/voip/provision/snapshot (server/provision), in one
 * transaction of its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "prov.h"
#include "util.h"

static int help(void)
{
    printf("Usage: w3voip apply --db FILE --domain D [--dry-run] [--if-match N] SNAPSHOT.json\n\n"
           "Makes tenant D hold exactly what SNAPSHOT.json (\"-\" for standard input)\n"
           "holds, as PUT /api/voip/provision/snapshot does: the same JSON (what GET\n"
           "returns is accepted back), the same validation, one transaction, one\n"
           "configuration generation step, activity rows with actor 'cli'.\n"
           "Prints the answer ({\"generation\":N,\"changes\":[...]}) on standard output.\n"
           "  --dry-run      print the changes and the generation it would have; write nothing\n"
           "  --if-match N   refuse unless the tenant's generation is still N\n"
           "Exit status: 0 applied (or nothing to change), 1 refused (the reason and the\n"
           "JSON pointer of the field at fault on standard error) or the database failed,\n"
           "2 usage error.\n");
    return 0;
}

static json_t *load(const char *path)
{
    json_error_t err;
    json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &err)
                                       : json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        fprintf(stderr, "w3voip apply: %s: %s at line %d, column %d\n", path, prov_json_error(&err), err.line,
                err.column);
    return j;
}

int cli_apply(int argc, char **argv)
{
    const char *db_path = NULL, *domain = NULL, *if_match = NULL;
    bool dry_run = false, want_help = false;
    const cli_opt_t opts[] = {
        {"db", &db_path, NULL}, {"domain", &domain, NULL}, {"if-match", &if_match, NULL}, {"dry-run", NULL, &dry_run}};
    const char *pos[1];
    int npos = 0, exit_code = 1, version = 0;
    db_conn_t *db = NULL;
    json_t *body = NULL;
    char *err = NULL;
    prov_result_t res = {0};
    if (cli_parse(argc, argv, opts, (int)W3_ARRAY_LEN(opts), pos, 1, &npos, &want_help) != 0)
        return 2;
    if (want_help)
        return help();
    char *end = NULL;
    long long gen = if_match ? strtoll(if_match, &end, 10) : -1;
    if (db_path == NULL || domain == NULL || npos != 1 || (if_match && (*end || gen < 0))) {
        fprintf(stderr, "w3voip apply: needs --db FILE, --domain D and one SNAPSHOT.json (--if-match: a "
                        "generation number; see --help)\n");
        return 2;
    }
    if ((body = load(pos[0])) == NULL)
        goto out;
    if (db_conn_open(db_path, false, 5000, &db, &err) != 0) {
        fprintf(stderr, "w3voip apply: %s\n", err);
        goto out;
    }
    if (db_schema_version(db, &version) != 0 || version != db_migrations_count) {
        fprintf(stderr, "w3voip apply: %s has schema version %d, this w3voip needs %d: run w3voip init --db %s\n",
                db_path, version, db_migrations_count, db_path);
        goto out;
    }
    if (db_tx_begin(db) != 0) {
        fprintf(stderr, "w3voip apply: cannot start a transaction: %s\n", db_conn_error(db));
        goto out;
    }
    prov_req_t rq = {
        .mode = PROV_SNAPSHOT, .domain = domain, .body = body, .actor = "cli", .dry_run = dry_run, .if_match = gen};
    int rc = prov_run(db, &rq, &res);
    /* a refusal keeps its activity row: commit either way */
    if (db_tx_commit(db) != 0) {
        db_tx_rollback(db);
        fprintf(stderr, "w3voip apply: cannot commit: %s\n", db_conn_error(db));
        goto out;
    }
    if (rc != 0) {
        fprintf(stderr, "w3voip apply: refused: %s%s%s\n", res.message, res.field[0] ? " at " : "", res.field);
        goto out;
    }
    printf("%s\n", res.json);
    fprintf(stderr, "w3voip apply: %zu change%s%s, generation %lld\n", res.nchanges, res.nchanges == 1 ? "" : "s",
            dry_run ? " (dry run: nothing written)" : "", res.generation);
    exit_code = 0;
out:
    prov_result_free(&res);
    json_decref(body);
    db_conn_close(db);
    free(err);
    return exit_code;
}
