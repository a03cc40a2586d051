/* The reader's memo of tenant-level rows (schema/internal/db_memo.h): a
 * directory lookup that is not in the answer cache takes the extension's
 * tenant and store from it — and never a stale one. Every change below is
 * made with the sqlite3 CLI between two REGISTERs (a commit empties the
 * answer cache, so the REGISTER after it is looked up again, with the memo
 * it would meet); the answer must show it at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define DA "tenantA.edvoip.it"
#define TA "a0000000-0000-4000-8000-00000000000a"
#define TB "b0000000-0000-4000-8000-00000000000b"
#define SA1 "a5000000-0000-4000-8000-000000000001"
#define VAR(user, name)                                                                                                \
    "/document/section[@name='directory']/domain/groups/group/users/user[@id='" user "']/variables/"                   \
    "variable[@name='" name "']/@value"

static h_server_t srv;

static char *reg(const char *user)
{
    return h_register_xml(&srv, user);
}

/* The value at expr in the answer of user's REGISTER ("" when none). */
static char *reg_value(const char *user, const char *expr)
{
    char *xml = reg(user);
    char *v = h_xpath(xml, strlen(xml), expr);
    free(xml);
    return v ? v : xstrdup("");
}

static long long memo_hits(void)
{
    return h_metric(srv.port, "w3voipd_lookup_memo_hits_total");
}

static bool user_found(const char *user)
{
    char *xml = reg(user);
    bool found = strstr(xml, "<user id=\"") != NULL && strstr(xml, "not found") == NULL;
    free(xml);
    return found;
}

/* 200 with FreeSWITCH's "not found" (not a database error, not a user). */
static bool answered_not_found(const char *user)
{
    char *xml = reg(user); /* "" unless the status is 200 */
    bool nf = strstr(xml, "status=\"not found\"") && !strstr(xml, "<user id=");
    free(xml);
    return nf;
}

/* An extension of DA written with sqlite3 (foreign keys off) with these
 * tenant and store expressions. */
static void odd_extension(const char *number, const char *tenant_expr, const char *store_expr)
{
    w3_buf_t q = {0};
    w3_buf_printf(&q,
                  "INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, ext_number, "
                  "a1_hash) VALUES ('odd-%s', %s, '" DA "', %s, 'odd-user-%s', '%s', "
                  "'f86e925a96764ca893418337f6bf132c')",
                  number, tenant_expr, store_expr, number, number);
    ok(h_sql(srv.db, q.data) == 0, "sqlite3 writes extension %s (tenant %s, store %s)", number, tenant_expr,
       store_expr);
    w3_buf_free(&q);
}

int main(void)
{
    const char *extra[] = {"--workers", "1", NULL};
    if (!ok(h_server_start(&srv, NULL, extra) == 0, "w3voipd starts (one worker: one memo)"))
        return tap_done();

    char *v = reg_value("100", VAR("100", "outbound_caller_id_number"));
    is_str(v, "+390612345600", "100@" DA ": its store's caller id");
    free(v);
    long long m0 = memo_hits();
    v = reg_value("101", VAR("101", "tenant_id"));
    is_str(v, TA, "101, of the same store, right after (not in the answer cache): its own tenant");
    free(v);
    ok(memo_hits() == m0 + 2, "  ...its tenant and store taken from the memo (%lld hits)", memo_hits() - m0);

    h_sql(srv.db, "UPDATE voip_trunks SET caller_id_number = '+390611111111' WHERE store_id = '" SA1 "'");
    v = reg_value("101", VAR("101", "outbound_caller_id_number"));
    is_str(v, "+390611111111",
           "the store's trunk renumbered with sqlite3: the very next REGISTER has the new caller id");
    free(v);
    v = reg_value("100", VAR("100", "outbound_caller_id_number"));
    is_str(v, "+390611111111", "  ...and so has 100's, its store's other user");
    free(v);

    h_sql(srv.db, "UPDATE voip_trunks SET enabled = 0 WHERE store_id = '" SA1 "'");
    v = reg_value("100", VAR("100", "outbound_caller_id_number"));
    is_str(v, "", "the store's trunks disabled: the next answer carries no caller id");
    free(v);
    h_sql(srv.db, "UPDATE voip_trunks SET enabled = 1 WHERE store_id = '" SA1 "'");

    ok(user_found("100"), "100 answered before the tenant is disabled");
    h_sql(srv.db, "UPDATE tenants SET enabled = 0 WHERE tenant_id = '" TA "'");
    ok(!user_found("100") && !user_found("101"), "the tenant disabled with sqlite3: the very next REGISTERs fail");
    h_sql(srv.db, "UPDATE tenants SET enabled = 1 WHERE tenant_id = '" TA "'");
    ok(user_found("100"), "  ...enabled again: answered again");

    /* the CLI runs with foreign keys off: the store handed to tenant B */
    h_sql(srv.db, "UPDATE stores SET tenant_id = '" TB "' WHERE store_id = '" SA1 "'");
    ok(!user_found("100") && !user_found("101"),
       "the store moved to tenant B with sqlite3: its users of tenant A are refused at once");
    h_sql(srv.db, "UPDATE stores SET tenant_id = '" TA "' WHERE store_id = '" SA1 "'");
    ok(user_found("101"), "  ...moved back: answered again");

    h_sql(srv.db, "UPDATE tenants SET sip_domain = 'renamed.edvoip.it' WHERE tenant_id = '" TA "'");
    ok(!user_found("100"), "the tenant's domain renamed with sqlite3: " DA " is no longer its domain");
    h_sql(srv.db, "UPDATE tenants SET sip_domain = '" DA "' WHERE tenant_id = '" TA "'");
    ok(user_found("100"), "  ...renamed back: answered again");

    /* ids as SQL compares them: the memo's C strings must not make a row
     * match that the join refused (a BLOB id cannot be written: the
     * activity-log triggers refuse it) */
    odd_extension("151", "'" TA "' || char(0) || 'x'", "'" SA1 "'");
    ok(answered_not_found("151"), "  ...a tenant_id of tenant A's then a NUL: not found");
    odd_extension("152", "'" TA "' || printf('%070d', 0)", "'" SA1 "'");
    ok(answered_not_found("152"), "  ...a tenant_id too long for any tenant: not found, not a database error");
    odd_extension("153", "'" TA "'", "'" SA1 "' || char(0) || 'x'");
    ok(answered_not_found("153"), "  ...a store_id of tenant A's store then a NUL: not found");
    odd_extension("154", "'" TA "'", "'" SA1 "'");
    ok(user_found("154"), "  ...and the same extension with plain ids: answered");

    /* without a generation trigger no stamp is trusted: nothing memoised */
    free(reg("100"));
    h_sql(srv.db, "DROP TRIGGER log_voip_trunks_update");
    long long m1 = memo_hits();
    h_sql(srv.db, "UPDATE voip_trunks SET caller_id_number = '+390622222222' WHERE store_id = '" SA1 "'");
    v = reg_value("100", VAR("100", "outbound_caller_id_number"));
    is_str(v, "+390622222222", "a trunk's trigger dropped, the trunk changed: the very next answer has it");
    free(v);
    ok(memo_hits() == m1, "  ...and the memo answered nothing (%lld hits)", memo_hits() - m1);

    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
