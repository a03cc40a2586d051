/* The W3 JSON API's reads (db.h, SPEC §9): JSON built by SQLite's JSON
 * functions on the reader's prepared statements. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/db_reader.h"
#include "util.h"

static int finish(sqlite3_stmt *st, int rc)
{
    return db_reader_finish(st, rc);
}

/* One JSON text column of a one-row statement. */
static int json_one(sqlite3_stmt *st, char **json)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return finish(st, -ENOENT);
    if (rc != SQLITE_ROW)
        return finish(st, -EIO);
    const unsigned char *v = sqlite3_column_text(st, 0);
    /* text the schema accepted may hold bytes that are not UTF-8 (CAST(x'ff'
     * AS TEXT)): the API answers valid JSON whatever the rows hold */
    w3_buf_t b = {0};
    if (v)
        w3_buf_add_utf8(&b, (const char *)v, (size_t)sqlite3_column_bytes(st, 0));
    else
        w3_buf_adds(&b, "null");
    *json = b.data;
    return finish(st, 0);
}

int db_api_snapshot(db_reader_t *r, const char *domain, char **json)
{
    static const struct {
        int st;
        const char *key;
    } parts[] = {{ST_API_TRUNKS, "trunks"}, {ST_API_DIDS, "dids"},         {ST_API_EXTS, "extensions"},
                 {ST_API_ROUTES, "routes"}, {ST_API_RINGS, "ring_groups"}, {ST_API_AGENTS, "ai_agents"},
                 {ST_API_STORES, "stores"}};
    w3_buf_t b = {0};
    w3_buf_adds(&b, "{");
    for (size_t i = 0; i < W3_ARRAY_LEN(parts); i++) {
        sqlite3_stmt *st = db_reader_st(r, parts[i].st);
        sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
        char *part = NULL;
        if (json_one(st, &part) != 0) {
            w3_buf_free(&b);
            return -EIO;
        }
        w3_buf_printf(&b, "%s\"%s\":%s", i ? "," : "", parts[i].key, part);
        free(part);
    }
    w3_buf_adds(&b, "}");
    *json = b.data;
    return 0;
}

int db_api_inbound(db_reader_t *r, const char *domain, const char *e164, char **json)
{
    sqlite3_stmt *st = db_reader_st(r, ST_API_INBOUND);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e164, -1, SQLITE_STATIC);
    return json_one(st, json);
}

int db_api_extension(db_reader_t *r, const char *domain, const char *ext, char **json)
{
    sqlite3_stmt *st = db_reader_st(r, ST_API_EXT);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
    return json_one(st, json);
}

/* Runs a paging statement (id, json) and wraps its rows. */
static int page(sqlite3_stmt *st, int limit, char **json)
{
    w3_buf_t b = {0};
    w3_buf_adds(&b, "{\"items\":[");
    int rc, n = 0;
    long long last = 0;
    bool more = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t row = (size_t)sqlite3_column_bytes(st, 1);
        /* one more than asked, or a page that would pass its byte budget
         * (a tenant's 1,000 rows of 1 MiB must not take gigabytes): there
         * is a next page */
        if (n == limit || (n > 0 && b.len + row > DB_PAGE_BYTES)) {
            more = true;
            break;
        }
        if (n)
            w3_buf_adds(&b, ",");
        w3_buf_add_utf8(&b, (const char *)sqlite3_column_text(st, 1), row);
        last = sqlite3_column_int64(st, 0);
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        w3_buf_free(&b);
        return finish(st, -EIO);
    }
    if (more)
        w3_buf_printf(&b, "],\"next_cursor\":\"%lld\"}", last);
    else
        w3_buf_adds(&b, "],\"next_cursor\":null}");
    *json = b.data;
    return finish(st, 0);
}

int db_api_cdr_list(db_reader_t *r, const char *domain, const char *from, const char *to, long long after_id, int limit,
                    bool with_meta, char **json)
{
    sqlite3_stmt *st = db_reader_st(r, ST_API_CDRS);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    if (from)
        sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
    if (to)
        sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, after_id);
    sqlite3_bind_int(st, 5, limit + 1);
    sqlite3_bind_int(st, 6, with_meta);
    return page(st, limit, json);
}

int db_api_activity(db_reader_t *r, const char *domain, long long after_id, int limit, char **json)
{
    sqlite3_stmt *st = db_reader_st(r, ST_API_ACTIVITY);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, after_id);
    sqlite3_bind_int(st, 3, limit + 1);
    return page(st, limit, json);
}
