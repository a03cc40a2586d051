/* schema/db_fwd.c, an extension's forwarding object read in C: for every
 * object the schema's CHECK accepts, the targets and the timeout are what
 * SQLite's json_extract() reads (the statement did that before); a key
 * given twice, at any depth, is reported and nothing of it used; a value
 * of another type than the schema's is no target; a key written with an
 * escape is the key it spells; what is not JSON, or a target too long, is
 * an error. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "internal/db_reader.h"
#include "tap.h"
#include "util.h"

/* SQLite's reading of one key, as text ("" for NULL) */
static void sqlite_reads(sqlite3 *db, const char *json, const char *key, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    char path[64];
    snprintf(path, sizeof(path), "$.%s", key);
    sqlite3_prepare_v2(db, "SELECT json_extract(?1, ?2)", -1, &st, NULL);
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    const unsigned char *v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    snprintf(out, cap, "%s", v ? (const char *)v : "");
    sqlite3_finalize(st);
}

static int parse(const char *json, db_extension_t *e, bool *dup)
{
    memset(e, 'x', sizeof(*e)); /* every field is set by the parser */
    return db_forwarding_parse(json, json ? strlen(json) : 0, e, dup);
}

int main(void)
{
    sqlite3 *db = NULL;
    sqlite3_open(":memory:", &db);
    /* objects the schema accepts: what SQLite reads, key by key */
    static const char *const valid[] = {
        "{\"always\":\"3331234567\"}",
        "{\"no_answer\":\"101\",\"no_answer_timeout\":20}",
        "{\"busy\":\"+390612345678\",\"no_answer\":\"*97\",\"no_answer_timeout\":300}",
        "{ \"always\" : \"#1\" , \"busy\":\"200\", \"no_answer\":\"12345678901234567890\", \"no_answer_timeout\":5 }",
        "{\"always\":\"1\\u0030\\u0031\"}",
    };
    for (size_t i = 0; i < W3_ARRAY_LEN(valid); i++) {
        db_extension_t e;
        bool dup = true;
        int rc = parse(valid[i], &e, &dup);
        char a[64], b[64], n[64], t[64];
        sqlite_reads(db, valid[i], "always", a, sizeof(a));
        sqlite_reads(db, valid[i], "busy", b, sizeof(b));
        sqlite_reads(db, valid[i], "no_answer", n, sizeof(n));
        sqlite_reads(db, valid[i], "no_answer_timeout", t, sizeof(t));
        char mine[16];
        snprintf(mine, sizeof(mine), "%d", e.fwd_no_answer_timeout);
        ok(rc == 0 && !dup && strcmp(e.fwd_always, a) == 0 && strcmp(e.fwd_busy, b) == 0 &&
               strcmp(e.fwd_no_answer, n) == 0 && strcmp(t[0] ? t : "0", mine) == 0,
           "%s: always '%s' busy '%s' no_answer '%s' timeout %s, as SQLite reads it", valid[i], e.fwd_always,
           e.fwd_busy, e.fwd_no_answer, mine);
    }

    db_extension_t e;
    bool dup = true;
    is_int(parse(NULL, &e, &dup), 0, "NULL forwards nothing");
    ok(!dup && !e.fwd_always[0] && !e.fwd_busy[0] && !e.fwd_no_answer[0] && e.fwd_no_answer_timeout == 0,
       "NULL: every field cleared");
    is_int(parse("{}", &e, &dup), 0, "'{}' forwards nothing");
    ok(!e.fwd_always[0] && e.fwd_no_answer_timeout == 0, "'{}': every field cleared");

    /* before schema v4 a key could be given twice: which one counts would
     * depend on the reader, so none does */
    is_int(parse("{\"always\":\"200\",\"always\":\"100\"}", &e, &dup), 0, "a duplicated key is no error");
    ok(dup, "a duplicated key is reported");
    parse("{\"busy\":\"1\",\"x\":{\"k\":1,\"k\":2}}", &e, &dup);
    ok(dup, "a duplicated key inside a nested object too");

    /* written around the schema: other types are no target */
    is_int(parse("{\"always\":101,\"busy\":true,\"no_answer\":[\"1\"],\"no_answer_timeout\":\"20\"}", &e, &dup), 0,
           "targets of other types: no error");
    ok(!e.fwd_always[0] && !e.fwd_busy[0] && !e.fwd_no_answer[0] && e.fwd_no_answer_timeout == 0,
       "a number, a boolean or an array is no target, a string no timeout");
    parse("{\"no_answer\":\"101\",\"no_answer_timeout\":-5}", &e, &dup);
    ok(strcmp(e.fwd_no_answer, "101") == 0 && e.fwd_no_answer_timeout == 0, "a negative timeout is no timeout");
    parse("{\"no_answer\":\"101\",\"no_answer_timeout\":99999999999}", &e, &dup);
    is_int(e.fwd_no_answer_timeout, 0, "a timeout beyond an int is no timeout (never truncated)");
    /* SQLite 3.40's json_extract() compares a key's raw text, so the schema's
     * CHECK never saw this value; JSON says the key is no_answer, and the
     * value is checked where it is rendered, as every target is */
    is_int(parse("{\"no\\u005fanswer\":\"101\"}", &e, &dup), 0, "a key written with an escape: no error");
    is_str(e.fwd_no_answer, "101", "a key written with an escape is the key it spells");
    parse("{\"busy\":\"1\",\"bus\\u0079\":\"2\"}", &e, &dup);
    ok(dup, "the same key twice, once with an escape, is a duplicated key");
    is_int(parse("[\"always\"]", &e, &dup), 0, "an array is no forwarding object: nothing, no error");
    ok(!e.fwd_always[0], "an array: no target");

    is_int(parse("{\"always\":", &e, &dup), -EIO, "truncated JSON is an error");
    is_int(parse("{\"always\":\"123456789012345678901\"}", &e, &dup), -EIO,
           "a target of 21 characters does not fit its field: an error, never cut");
    sqlite3_close(db);
    return tap_done();
}
