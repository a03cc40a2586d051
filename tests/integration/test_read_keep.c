/* A worker's read transaction left open from one lookup to the next
 * (db_reader_keep_open): taken up again only while nothing has committed
 * since its snapshot began, so an answer is never older than the last
 * commit; kept only while every WAL frame is in the database file (a quiet
 * second after the last write the checkpoint thread copies them); and
 * never in the way of a checkpoint that waits for readers. The answer
 * cache is off: every REGISTER below reads the database. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define DA "tenantA.edvoip.it"
#define NAME(user)                                                                                                     \
    "/document/section[@name='directory']/domain/groups/group/users/user[@id='" user "']/variables/"                   \
    "variable[@name='effective_caller_id_name']/@value"

static h_server_t srv;

static char *reg(const char *user)
{
    return h_register_xml(&srv, user);
}

static char *name_of(const char *user)
{
    char *xml = reg(user);
    char *v = h_xpath(xml, strlen(xml), strcmp(user, "100") == 0 ? NAME("100") : NAME("101"));
    free(xml);
    return v ? v : xstrdup("");
}

static long long kept(void)
{
    return h_metric(srv.port, "w3voipd_read_transactions_kept_total");
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Two REGISTERs back to back (a transaction is left open for 100 ms at
 * most), every 100 ms, until the second takes up the transaction the first
 * left open; the milliseconds it took, -1 past 5 s. */
static long until_kept(void)
{
    for (long ms = 0; ms < 5000; ms += 100) {
        long long k = kept();
        free(reg("100"));
        free(reg("100"));
        if (kept() > k)
            return ms;
        sleep_ms(100);
    }
    return -1;
}

int main(void)
{
    const char *extra[] = {"--workers", "1", "--answer-cache-bytes", "0", NULL};
    if (!ok(h_server_start(&srv, NULL, extra) == 0, "w3voipd starts (one worker, no answer cache)"))
        return tap_done();

    long ms = until_kept();
    ok(ms >= 0, "a REGISTER takes up the read transaction the one before left open (after %ld ms)", ms);
    char *v = name_of("101");
    ok(*v != '\0' && strcmp(v, "Renamed") != 0, "101's name before the change: '%s'", v);
    free(v);

    h_sql(srv.db,
          "UPDATE voip_extensions SET display_name = 'Renamed' WHERE sip_domain = '" DA "' AND ext_number = '101'");
    long long k1 = kept();
    v = name_of("101");
    is_str(v, "Renamed", "101 renamed with sqlite3: the very next REGISTER has the new name");
    free(v);
    is_int(kept(), k1, "  ...read in a transaction begun after the commit, not the one left open");

    ms = until_kept();
    ok(ms >= 0 && ms <= 4000, "a quiet second later the WAL is in the database file and one is kept again (%ld ms)",
       ms);
    v = name_of("101");
    is_str(v, "Renamed", "  ...and it reads the new name");
    free(v);

    /* a transaction is left open now: a checkpoint that waits for every
     * reader (TRUNCATE) must get past it */
    free(reg("100"));
    sqlite3 *h = NULL;
    ok(sqlite3_open(srv.db, &h) == SQLITE_OK, "sqlite3 session opened");
    sqlite3_busy_timeout(h, 4000);
    ok(sqlite3_exec(h, "UPDATE voip_extensions SET display_name = 'Again' WHERE ext_number = '101'", NULL, NULL,
                    NULL) == SQLITE_OK,
       "  ...writes");
    is_int(h_handle_int(h, "PRAGMA wal_checkpoint(TRUNCATE)"), 0,
           "  ...and its TRUNCATE checkpoint is not refused as busy by the worker's open transaction");
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", srv.db);
    is_int(h_file_size(wal), 0, "  ...the WAL is empty");
    sqlite3_close(h);
    v = name_of("101");
    is_str(v, "Again", "the REGISTER after it has the name written before the checkpoint");
    free(v);

    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
