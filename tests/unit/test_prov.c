/* server/provision in-process (also under valgrind): prov_run on a real
 * database through db_prov.h — plan, refusal paths, tenants, dry run —
 * with every allocation of every path released. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal/db_sqlite.h"
#include "prov.h"
#include "tap.h"
#include "util.h"

#define DA "tenantA.edvoip.it"
#define SA1 "a5000000-0000-4000-8000-000000000001"

static db_conn_t *db;

static int run(prov_mode_t mode, db_pkind_t kind, const char *key, const char *body, bool dry, long long if_match,
               prov_result_t *res)
{
    json_t *b = body ? json_loads(body, JSON_REJECT_DUPLICATES, NULL) : NULL;
    prov_req_t rq = {.mode = mode,
                     .domain = mode == PROV_TENANT_PUT || mode == PROV_TENANT_DELETE ? key : DA,
                     .kind = kind,
                     .key = key,
                     .body = b,
                     .actor = "unit",
                     .dry_run = dry,
                     .if_match = if_match};
    db_tx_begin(db);
    int rc = prov_run(db, &rq, res);
    db_tx_commit(db);
    json_decref(b);
    return rc;
}

static long long count(const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(db_conn_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int main(void)
{
    char *dir = h_tmpdir();
    char *path = h_demo_db(dir, "prov.db");
    char *err = NULL;
    if (!ok(db_conn_open(path, false, 2000, &db, &err) == 0, "open the demo database"))
        return tap_done();
    prov_result_t res;
    long long g0 = count("SELECT gen FROM voip_config_gen WHERE tenant_id = 'a0000000-0000-4000-8000-00000000000a'");

    is_int(run(PROV_SNAPSHOT, 0, NULL, "{}", false, -1, &res), 0, "an empty snapshot body changes nothing");
    ok(res.nchanges == 0 && res.generation == g0, "  ...no change, generation %lld", res.generation);
    prov_result_free(&res);

    const char *ext = "{\"store_id\":\"" SA1 "\",\"user_id\":\"u-160\",\"password\":\"p160\"}";
    is_int(run(PROV_PUT, DB_PK_EXTENSIONS, "160", ext, true, -1, &res), 0, "dry run of a new extension");
    ok(res.nchanges == 1 && res.generation == g0 + 1 && res.json && strstr(res.json, "\"dry_run\":true"),
       "  ...one change, the generation it would have");
    prov_result_free(&res);
    is_int(count("SELECT count(*) FROM voip_extensions WHERE ext_number = '160'"), 0, "  ...and nothing written");

    is_int(run(PROV_PUT, DB_PK_EXTENSIONS, "160", ext, false, g0, &res), 0, "PUT of the extension with If-Match");
    char a1[33];
    h_md5("160:" DA ":p160", a1);
    char q[200];
    snprintf(q, sizeof(q), "SELECT count(*) FROM voip_extensions WHERE ext_number = '160' AND a1_hash = '%s'", a1);
    is_int(count(q), 1, "  ...stored with a1_hash = md5(160:domain:password)");
    ok(res.json && !strstr(res.json, "p160") && !strstr(res.json, a1), "  ...and neither secret in the answer");
    prov_result_free(&res);

    is_int(run(PROV_PUT, DB_PK_EXTENSIONS, "161", ext, false, g0, &res), -ESTALE, "a stale If-Match → -ESTALE");
    prov_result_free(&res);
    is_int(run(PROV_PUT, DB_PK_EXTENSIONS, "161", "{\"store_id\":\"nope\",\"user_id\":\"u\",\"password\":\"x\"}", false,
               -1, &res),
           -EINVAL, "a store that is not the tenant's → -EINVAL");
    is_str(res.field, "/store_id", "  ...its pointer");
    prov_result_free(&res);
    is_int(run(PROV_SNAPSHOT, 0, NULL, "{\"extensions\":[{\"bogus\":1}]}", false, -1, &res), -EINVAL,
           "an unknown field → -EINVAL");
    is_str(res.field, "/extensions/0/bogus", "  ...its pointer");
    prov_result_free(&res);
    is_int(run(PROV_DELETE, DB_PK_EXTENSIONS, "100", NULL, false, -1, &res), -EEXIST,
           "DELETE of an extension a DID routes to → -EEXIST");
    ok(strstr(res.message, "+39061234568") != NULL, "  ...naming the DID (%s)", res.message);
    prov_result_free(&res);
    is_int(run(PROV_DELETE, DB_PK_EXTENSIONS, "999", NULL, false, -1, &res), -ENOENT, "DELETE of nothing → -ENOENT");
    prov_result_free(&res);
    is_int(count("SELECT count(*) FROM voip_activity_log WHERE status = 'refused' AND actor = 'unit'"), 5,
           "five refusals, five 'refused' rows");

    is_int(
        run(PROV_TENANT_PUT, 0, "unit.example", "{\"tenant_id\":\"unit-t\",\"country_code\":\"41\"}", false, -1, &res),
        0, "a new tenant");
    prov_result_free(&res);
    is_int(count("SELECT count(*) FROM tenants WHERE sip_domain = 'unit.example' AND country_code = '41'"), 1,
           "  ...stored");
    is_int(run(PROV_TENANT_DELETE, 0, "unit.example", NULL, false, -1, &res), 0, "DELETE disables it");
    ok(res.nchanges == 1, "  ...one change");
    prov_result_free(&res);
    is_int(count("SELECT enabled FROM tenants WHERE sip_domain = 'unit.example'"), 0, "  ...enabled = 0");
    is_int(run(PROV_TENANT_DELETE, 0, "unit.example", NULL, false, -1, &res), 0, "DELETE again");
    ok(res.nchanges == 0, "  ...changes nothing");
    prov_result_free(&res);

    /* the HTTP layer saw the domain free; by the time the writer runs it is another tenant's */
    json_t *b = json_loads("{}", 0, NULL);
    prov_req_t rq = {.mode = PROV_SNAPSHOT,
                     .domain = DA,
                     .body = b,
                     .actor = "unit",
                     .if_match = -1,
                     .scope_tenant_id = "b0000000-0000-4000-8000-00000000000b",
                     .log_domain = "tenantB.edvoip.it"};
    db_tx_begin(db);
    is_int(prov_run(db, &rq, &res), -EPERM,
           "a tenant token whose tenant does not own the domain on the writer → -EPERM");
    db_tx_commit(db);
    prov_result_free(&res);
    json_decref(b);
    is_int(count("SELECT count(*) FROM voip_activity_log WHERE status = 'refused' AND sip_domain = 'tenantB.edvoip.it' "
                 "AND target = 'snapshot:" DA "'"),
           1, "  ...its refusal filed in the token's own domain");

    db_conn_close(db);
    h_rmrf(dir);
    free(dir);
    free(path);
    return tap_done();
}
