/* bench_render: microseconds per render of the documents of xg.h, in-process
 * (no HTTP, no database): a directory user answer, a dialplan answer shaped
 * like an internal call to an extension, the not-found answer and a gateways
 * document of 1,000 tenants. Not a test: the numbers are for before/after
 * comparisons of xmlgen/ changes (run it under callgrind for instructions).
 *
 *   bench_render [ITERATIONS]   (default 20000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xg.h"

static void tenant(db_tenant_t *t, int i)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->tenant_id, sizeof(t->tenant_id), "a0000000-0000-4000-8000-%012d", i);
    snprintf(t->sip_domain, sizeof(t->sip_domain), "tenant%d.edvoip.it", i);
    t->config_gen = 42;
    t->enabled = true;
}

static void extension(db_extension_t *e)
{
    memset(e, 0, sizeof(*e));
    strcpy(e->tenant_id, "a0000000-0000-4000-8000-000000000000");
    strcpy(e->sip_domain, "tenant0.edvoip.it");
    strcpy(e->store_id, "a5000000-0000-4000-8000-000000000001");
    strcpy(e->user_id, "a1000000-0000-4000-8000-000000000100");
    strcpy(e->ext_number, "100");
    strcpy(e->display_name, "Ext 100 Caf\xc3\xa9");
    strcpy(e->a1_hash, "f86e925a96764ca893418337f6bf132c");
    strcpy(e->cos, "national");
    strcpy(e->caller_id_number, "+390612345600");
    strcpy(e->fwd_no_answer, "101");
    e->voicemail_enabled = true;
    e->enabled = true;
    e->tenant_enabled = true;
}

static size_t render_user(void)
{
    db_tenant_t t;
    db_extension_t e;
    tenant(&t, 0);
    extension(&e);
    xg_dir_opts_t o = {.cacheable_ms = 60000};
    xg_out_t out = {0};
    if (xg_directory_user(&t, &e, &o, &out) != 0)
        abort();
    size_t n = out.len;
    xg_out_free(&out);
    return n;
}

static size_t render_dialplan(void)
{
    xg_dp_t *d = xg_dp_create("internal");
    xg_dp_extension(d, "w3_ext", "101");
    static const char *const vars[] = {"tenant_id=a0000000-0000-4000-8000-000000000000",
                                       "store_id=a5000000-0000-4000-8000-000000000001",
                                       "sip_domain=tenant0.edvoip.it",
                                       "user_id=a1000000-0000-4000-8000-000000000100",
                                       "w3_config_gen=42",
                                       "w3_direction=internal",
                                       "w3_ext=101"};
    for (size_t i = 0; i < W3_ARRAY_LEN(vars); i++)
        if (xg_dp_action(d, "export", vars[i]) != 0)
            abort();
    xg_dp_action(d, "set", "call_timeout=30");
    xg_dp_action(d, "set", "continue_on_fail=true");
    xg_dp_action(d, "set", "hangup_after_bridge=true");
    xg_dp_action_template(d, "bridge", "user/101@${domain_name}");
    xg_dp_action(d, "answer", NULL);
    xg_dp_action(d, "voicemail", "default tenant0.edvoip.it 101");
    xg_out_t out = {0};
    if (xg_dp_finish(d, &out) != 0)
        abort();
    size_t n = out.len;
    xg_out_free(&out);
    return n;
}

static size_t render_not_found(void)
{
    xg_out_t out = {0};
    if (xg_not_found(&out) != 0)
        abort();
    size_t n = out.len;
    xg_out_free(&out);
    return n;
}

static size_t render_gateways(void)
{
    xg_dir_opts_t o = {0};
    xg_gw_t *g = xg_gw_create(&o);
    for (int i = 0; i < 1000; i++) {
        db_tenant_t t;
        tenant(&t, i);
        xg_gw_domain(g, &t);
        db_trunk_t tr;
        memset(&tr, 0, sizeof(tr));
        strcpy(tr.tenant_id, t.tenant_id);
        strcpy(tr.sip_domain, t.sip_domain);
        strcpy(tr.store_id, "a5000000-0000-4000-8000-000000000001");
        snprintf(tr.gateway_name, sizeof(tr.gateway_name), "tenant%d_store01", i);
        strcpy(tr.proxy, "sip.carrier.example");
        strcpy(tr.transport, "udp");
        strcpy(tr.username, "0298765432");
        tr.reg = true;
        if (xg_gw_trunk(g, &tr, "s3cr$t&<x>") != 0)
            abort();
    }
    xg_out_t out = {0};
    if (xg_gw_finish(g, &out) != 0)
        abort();
    size_t n = out.len;
    xg_out_free(&out);
    return n;
}

static void run(const char *name, size_t (*f)(void), long iterations)
{
    size_t bytes = f(); /* warm-up */
    uint64_t t0 = w3_now_us();
    for (long i = 0; i < iterations; i++)
        f();
    uint64_t dt = w3_now_us() - t0;
    printf("%-10s %6zu bytes  %8.2f us/render\n", name, bytes, (double)dt / (double)iterations);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    if (n <= 0)
        n = 1;
    run("user", render_user, n);
    run("dialplan", render_dialplan, n);
    run("not-found", render_not_found, n);
    run("gw-1000", render_gateways, n / 1000 > 0 ? n / 1000 : 1);
    return 0;
}
