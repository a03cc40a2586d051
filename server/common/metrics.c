#include "metrics.h"

#include <string.h>

metrics_t metrics;

const double metrics_bucket_le[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

static const char *const route_names[MR__N] = {"fs_xml", "fs_cdr", "api", "health", "metrics", "other"};
static const char *const section_names[MS__N] = {"none", "directory", "dialplan", "other"};
static const char *const result_names[MX__N] = {"ok", "not_found", "reject", "client_error", "server_error"};
static const char *const auth_names[MA__N] = {"missing",      "scheme",        "malformed", "bad_credentials",
                                              "tenant_token", "tenant_scope",  "alg",       "signature",
                                              "expired",      "not_yet_valid", "other"};
static const char *const limit_names[ML__N] = {"ring_group_members", "routes", "store_trunks", "answer_size"};

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

void metrics_request(metrics_route_t r, metrics_section_t s, metrics_result_t x, uint64_t latency_us)
{
    ADD(metrics.requests[r][s][x], 1);
    if (r != MR_FS_XML && r != MR_FS_CDR && r != MR_API)
        return;
    double secs = (double)latency_us / 1e6;
    for (int i = 0; i < METRICS_BUCKETS; i++)
        if (secs <= metrics_bucket_le[i])
            ADD(metrics.latency_bucket[s][i], 1);
    ADD(metrics.latency_count[s], 1);
    ADD(metrics.latency_sum_us[s], latency_us);
}

void metrics_auth_failure(const char *reason)
{
    for (int i = 0; i < MA__N; i++)
        if (strcmp(reason, auth_names[i]) == 0) {
            ADD(metrics.auth_failures[i], 1);
            return;
        }
    ADD(metrics.auth_failures[MA_OTHER], 1);
}

void metrics_limit_refusal(metrics_limit_t l)
{
    ADD(metrics.limit_refusals[l < ML__N ? l : ML_ANSWER_SIZE], 1);
}

void metrics_counter(w3_buf_t *o, const char *name, const char *help, uint64_t v)
{
    w3_buf_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

void metrics_render(w3_buf_t *o)
{
    w3_buf_printf(o,
                  "# HELP w3voipd_build_info Build information.\n# TYPE w3voipd_build_info gauge\n"
                  "w3voipd_build_info{version=\"%s\"} 1\n",
                  W3_VERSION);
    w3_buf_adds(o, "# HELP w3voipd_requests_total HTTP requests by route, lookup section and result.\n"
                   "# TYPE w3voipd_requests_total counter\n");
    for (int r = 0; r < MR__N; r++)
        for (int s = 0; s < MS__N; s++)
            for (int x = 0; x < MX__N; x++) {
                uint64_t v = LOAD(metrics.requests[r][s][x]);
                if (v)
                    w3_buf_printf(o, "w3voipd_requests_total{route=\"%s\",section=\"%s\",result=\"%s\"} %llu\n",
                                  route_names[r], section_names[s], result_names[x], (unsigned long long)v);
            }
    w3_buf_adds(o, "# HELP w3voipd_request_duration_seconds Time to answer, by lookup section.\n"
                   "# TYPE w3voipd_request_duration_seconds histogram\n");
    for (int s = 0; s < MS__N; s++) {
        uint64_t count = LOAD(metrics.latency_count[s]);
        for (int i = 0; i < METRICS_BUCKETS; i++)
            w3_buf_printf(o, "w3voipd_request_duration_seconds_bucket{section=\"%s\",le=\"%g\"} %llu\n",
                          section_names[s], metrics_bucket_le[i],
                          (unsigned long long)LOAD(metrics.latency_bucket[s][i]));
        w3_buf_printf(o, "w3voipd_request_duration_seconds_bucket{section=\"%s\",le=\"+Inf\"} %llu\n", section_names[s],
                      (unsigned long long)count);
        w3_buf_printf(o, "w3voipd_request_duration_seconds_sum{section=\"%s\"} %.6f\n", section_names[s],
                      (double)LOAD(metrics.latency_sum_us[s]) / 1e6);
        w3_buf_printf(o, "w3voipd_request_duration_seconds_count{section=\"%s\"} %llu\n", section_names[s],
                      (unsigned long long)count);
    }
    w3_buf_adds(o, "# HELP w3voipd_auth_failures_total Refused credentials and tokens, by reason.\n"
                   "# TYPE w3voipd_auth_failures_total counter\n");
    for (int i = 0; i < MA__N; i++)
        w3_buf_printf(o, "w3voipd_auth_failures_total{reason=\"%s\"} %llu\n", auth_names[i],
                      (unsigned long long)LOAD(metrics.auth_failures[i]));
    w3_buf_adds(o, "# HELP w3voipd_limit_refusals_total Calls refused because data exceeded a read-side limit.\n"
                   "# TYPE w3voipd_limit_refusals_total counter\n");
    for (int i = 0; i < ML__N; i++)
        w3_buf_printf(o, "w3voipd_limit_refusals_total{limit=\"%s\"} %llu\n", limit_names[i],
                      (unsigned long long)LOAD(metrics.limit_refusals[i]));
    metrics_counter(o, "w3voipd_route_patterns_skipped_total",
                    "Route patterns skipped at lookup: outside the safe subset or not compiling.",
                    LOAD(metrics.route_patterns_skipped));
    metrics_counter(o, "w3voipd_db_errors_total", "Database failures seen while answering.", LOAD(metrics.db_errors));
    metrics_counter(o, "w3voipd_cdr_ingested_total", "CDR legs stored.", LOAD(metrics.cdr_ingested));
    metrics_counter(o, "w3voipd_cdr_duplicate_total", "CDR legs received again and not stored twice.",
                    LOAD(metrics.cdr_duplicate));
    metrics_counter(o, "w3voipd_cdr_rejected_total", "CDR bodies that did not parse (kept in voip_cdr_rejects).",
                    LOAD(metrics.cdr_rejected));
    metrics_counter(o, "w3voipd_gateways_skipped_total", "Gateways left out because their secret_ref did not resolve.",
                    LOAD(metrics.gateways_skipped));
    metrics_counter(o, "w3voipd_unsafe_values_total", "Data values refused at render time (pre-processor safety).",
                    LOAD(metrics.unsafe_values));
    metrics_counter(o, "w3voipd_inconsistent_rows_total",
                    "Rows never used because their tenant disagrees with what they reference (foreign keys were off).",
                    LOAD(metrics.inconsistent_rows));
    metrics_counter(o, "w3voipd_connections_refused_total",
                    "Connections closed because of --max-connections (the new one, or the oldest idle one for it) or "
                    "--max-connections-per-ip.",
                    LOAD(metrics.connections_refused));
    metrics_counter(o, "w3voipd_connections_cut_total", "Connections closed at their --request-timeout deadline.",
                    LOAD(metrics.connections_cut));
    metrics_counter(o, "w3voipd_answer_cache_hits_total", "Lookups answered from a worker's cache of rendered answers.",
                    LOAD(metrics.answer_cache_hits));
    metrics_counter(o, "w3voipd_answer_cache_misses_total", "Lookups the cache could not answer (looked up).",
                    LOAD(metrics.answer_cache_misses));
    metrics_counter(
        o, "w3voipd_lookup_memo_hits_total",
        "Tenant and store rows an extension lookup took from its worker's memo of them instead of querying.",
        LOAD(metrics.lookup_memo_hits));
    metrics_counter(o, "w3voipd_read_transactions_kept_total",
                    "Requests that took up the read transaction their worker left open (nothing committed since its "
                    "snapshot began) instead of beginning one.",
                    LOAD(metrics.read_txn_kept));
    metrics_counter(o, "w3voipd_provision_writes_total", "Provisioning writes applied (dry runs included).",
                    LOAD(metrics.prov_writes));
    metrics_counter(o, "w3voipd_provision_refusals_total", "Authenticated provisioning writes refused.",
                    LOAD(metrics.prov_refusals));
    metrics_counter(
        o, "w3voipd_provision_refusals_unlogged_total",
        "Refused provisioning writes past 10 per client per second, counted but not written to the activity log.",
        LOAD(metrics.prov_refusals_unlogged));
    w3_buf_printf(o,
                  "# HELP w3voipd_gateway_document_bytes Size of the last purpose=gateways answer.\n"
                  "# TYPE w3voipd_gateway_document_bytes gauge\nw3voipd_gateway_document_bytes %llu\n",
                  (unsigned long long)LOAD(metrics.gateway_doc_bytes));
    w3_buf_printf(o,
                  "# HELP w3voipd_connections_open Connections open now.\n"
                  "# TYPE w3voipd_connections_open gauge\nw3voipd_connections_open %llu\n",
                  (unsigned long long)LOAD(metrics.connections_open));
}
