/* Fuzz target: the whole mod_xml_curl dispatcher, lookup_answer() (form
 * decoding, section routing, directory and dialplan lookups, rendering),
 * against a temporary database migrated and loaded with fixtures/demo.sql
 * and fuzz_extra.sql (edge cases, in tenants C and D of their own),
 * exactly as w3voipd serves it (one read-only reader, the read-write
 * connection kept open as the writer thread keeps it). Input: the raw
 * request body.
 *
 * Properties (the pre-processor safety invariant of the README): every 200
 * body parses as XML (libxml2), has no NUL byte, and contains no "<?"
 * (an XML declaration or a processing instruction), no "$${" and no
 * "X-PRE-PROCESS", in any letter case; a non-200 answer says why. */
#include <dirent.h>
#include <errno.h>
#include <libxml/parser.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "internal/db_sqlite.h"
#include "fuzz.h"
#include "log.h"
#include "lookup.h"
#include "util.h"

#ifndef W3_FIXTURES_DIR
#define W3_FIXTURES_DIR "fixtures"
#endif
/* tests/fuzz/fuzz_extra.sql: edge-case rows in tenants of their own */
#ifndef W3_FUZZ_EXTRA_SQL
#define W3_FUZZ_EXTRA_SQL "tests/fuzz/fuzz_extra.sql"
#endif

static char tmpdir[512];
static char dbpath[600];
static db_conn_t *rw;
static db_reader_t *reader;
static srv_config_t cfg;
static lookup_ctx_t ctx;

static const char *fixtures_dir(void)
{
    const char *v = getenv("W3_FIXTURES");
    return v && *v ? v : W3_FIXTURES_DIR;
}

static void cleanup(void)
{
    lookup_cache_destroy(ctx.cache);
    ctx.cache = NULL;
    db_reader_destroy(reader);
    reader = NULL;
    db_conn_close(rw);
    rw = NULL;
    srv_config_free(&cfg);
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char p[640];
        snprintf(p, sizeof(p), "%s%s", dbpath, suffix[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

static void load_sql(const char *path, const char *hint)
{
    char *sql = NULL;
    size_t len = 0;
    if (w3_read_file(path, 16 * 1024 * 1024, &sql, &len) != 0) {
        fprintf(stderr, "fuzz_dispatch: cannot read %s (%s)\n", path, hint);
        exit(1);
    }
    char *msg = NULL;
    if (sqlite3_exec(db_conn_sqlite(rw), sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "fuzz_dispatch: %s: %s\n", path, msg ? msg : sqlite3_errmsg(db_conn_sqlite(rw)));
        exit(1);
    }
    free(sql);
}

/* A run that crashed (or a libFuzzer job that was killed) cannot clean up:
 * remove the directories of processes that no longer exist. */
static void sweep_stale(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = 0;
        char rest[32];
        if (sscanf(e->d_name, "w3fuzz-dispatch-%ld-%31s", &pid, rest) != 2 || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
            errno != ESRCH)
            continue;
        char dir[600];
        snprintf(dir, sizeof(dir), "%s/%s", tmp, e->d_name);
        DIR *sub = opendir(dir);
        if (sub == NULL)
            continue;
        struct dirent *f;
        while ((f = readdir(sub)) != NULL) {
            if (strncmp(f->d_name, "w3.db", 5) == 0) {
                char p[900];
                snprintf(p, sizeof(p), "%s/%s", dir, f->d_name);
                unlink(p);
            }
        }
        closedir(sub);
        rmdir(dir);
    }
    closedir(d);
}

/* The trace narrator of `w3voip explain`: on, so its formatting runs too. */
static void trace(void *arg, const char *line)
{
    size_t *n = arg;
    *n += strlen(line);
}

static size_t traced;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* the log would print one line per refused gateway or unsafe value */
    if (getenv("W3_FUZZ_LOG") == NULL)
        log_open("/dev/null", LOG_FMT_LOGFMT);
    /* tenant A's registering trunk reads its secret from here ('$' and '<'
     * on purpose: they must come out escaped) */
    setenv("W3_TRUNK_TENANTA_STORE02", "s3cr$t<&>\"'${x}", 1);
    setenv("W3_FUZZ_C_PRIMARY", "p@ss]]>$${domain}<?x&#36;", 1); /* fuzz_extra.sql */

    const char *tmp = getenv("TMPDIR");
    tmp = tmp && *tmp ? tmp : "/tmp";
    sweep_stale(tmp);
    snprintf(tmpdir, sizeof(tmpdir), "%s/w3fuzz-dispatch-%ld-XXXXXX", tmp, (long)getpid());
    FUZZ_CHECK(mkdtemp(tmpdir) != NULL);
    snprintf(dbpath, sizeof(dbpath), "%s/w3.db", tmpdir);
    atexit(cleanup);

    char *err = NULL;
    int from, to;
    if (db_conn_open(dbpath, true, 5000, &rw, &err) != 0 || db_migrate(rw, &from, &to, &err) != 0) {
        fprintf(stderr, "fuzz_dispatch: %s\n", err ? err : "cannot create the database");
        exit(1);
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/demo.sql", fixtures_dir());
    load_sql(path, "set W3_FIXTURES to the fixtures directory");
    load_sql(W3_FUZZ_EXTRA_SQL, "the tests/fuzz directory has moved: rebuild");

    srv_config_defaults(&cfg);
    reader = db_reader_create(dbpath, cfg.db_busy_timeout_ms, &err);
    if (reader == NULL) {
        fprintf(stderr, "fuzz_dispatch: %s\n", err);
        exit(1);
    }
    ctx.db = reader;
    ctx.cfg = &cfg;
    /* small, so the fuzzer also drives the eviction */
    ctx.cache = lookup_cache_create(4);
    ctx.trace = trace;
    ctx.trace_arg = &traced;
    xmlInitParser();
    return 0;
}

static bool contains_ci(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > cfg.xml_body_max)
        return 0; /* the HTTP layer refuses bigger bodies */
    /* an exact-size copy, not NUL-terminated: the dispatcher must honour len */
    char *body = fuzz_dup(data, size);

    lookup_result_t res;
    lookup_answer(&ctx, body, size, &res);
    if (fuzz_verbose())
        fprintf(stderr, "fuzz_dispatch: %d %s %s domain=%s key=%s%s%s\n", lookup_http_status(res.rc),
                res.what ? res.what : "-",
                res.result == MX_OK          ? "ok"
                : res.result == MX_NOT_FOUND ? "not_found"
                                             : "other",
                res.domain, res.key, res.error ? " error=" : "", res.error ? res.error : "");
    FUZZ_CHECK(res.rc == 0 || res.rc == -EINVAL || res.rc == -EPROTO || res.rc == -EIO);
    if (res.rc == 0) {
        const char *doc = res.body.data;
        size_t n = res.body.len;
        FUZZ_CHECK(doc != NULL && n > 0);
        FUZZ_CHECK(memchr(doc, '\0', n) == NULL);
        FUZZ_CHECK(!contains_ci(doc, n, "<?"));
        FUZZ_CHECK(!contains_ci(doc, n, "$${"));
        FUZZ_CHECK(!contains_ci(doc, n, "X-PRE-PROCESS"));
        xmlDocPtr x =
            xmlReadMemory(doc, (int)n, "answer.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (x == NULL)
            fprintf(stderr, "fuzz_dispatch: the 200 answer is not XML:\n%.*s\n", (int)n, doc);
        FUZZ_CHECK(x != NULL);
        xmlNodePtr root = xmlDocGetRootElement(x);
        FUZZ_CHECK(root != NULL && strcmp((const char *)root->name, "document") == 0);
        xmlFreeDoc(x);
    } else {
        FUZZ_CHECK(res.error != NULL);
    }
    lookup_result_free(&res);
    free(body);
    return 0;
}
