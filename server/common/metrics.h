/* Process-wide counters for /metrics (Prometheus text format). Relaxed
 * atomics: a scrape may be a few requests behind, never torn. */
#ifndef W3_METRICS_H
#define W3_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "util.h"

typedef enum { MR_FS_XML, MR_FS_CDR, MR_API, MR_HEALTH, MR_METRICS, MR_OTHER, MR__N } metrics_route_t;
typedef enum { MS_NONE, MS_DIRECTORY, MS_DIALPLAN, MS_OTHER, MS__N } metrics_section_t;
typedef enum {
    MX_OK,         /* answered with content */
    MX_NOT_FOUND,  /* the not-found document */
    MX_REJECT,     /* dialplan rejection */
    MX_CLIENT_ERR, /* 4xx */
    MX_SERVER_ERR, /* 5xx */
    MX__N
} metrics_result_t;
typedef enum {
    MA_MISSING,
    MA_SCHEME,
    MA_MALFORMED,
    MA_BAD_CREDENTIALS,
    MA_TENANT_TOKEN,
    MA_TENANT_SCOPE,
    MA_ALG,
    MA_SIGNATURE,
    MA_EXPIRED,
    MA_NOT_YET_VALID,
    MA_OTHER,
    MA__N
} metrics_auth_t;

/* Read-side limits whose breach refuses a call (server/lookup): more rows
 * than the limit in the database (a trigger bypassed), or an answer that
 * does not fit its bounded builder. */
typedef enum { ML_RING_GROUP_MEMBERS, ML_ROUTES, ML_STORE_TRUNKS, ML_ANSWER_SIZE, ML__N } metrics_limit_t;

#define METRICS_BUCKETS 12
extern const double metrics_bucket_le[METRICS_BUCKETS]; /* seconds */

typedef struct metrics {
    _Atomic uint64_t requests[MR__N][MS__N][MX__N];
    _Atomic uint64_t latency_bucket[MS__N][METRICS_BUCKETS];
    _Atomic uint64_t latency_count[MS__N];
    _Atomic uint64_t latency_sum_us[MS__N];
    _Atomic uint64_t auth_failures[MA__N];
    _Atomic uint64_t limit_refusals[ML__N];
    _Atomic uint64_t route_patterns_skipped;
    _Atomic uint64_t db_errors;
    _Atomic uint64_t cdr_ingested;
    _Atomic uint64_t cdr_duplicate;
    _Atomic uint64_t cdr_rejected;
    _Atomic uint64_t gateways_skipped;
    _Atomic uint64_t unsafe_values;
    _Atomic uint64_t inconsistent_rows;
    _Atomic uint64_t gateway_doc_bytes;
    _Atomic uint64_t connections_open;
    _Atomic uint64_t connections_refused;
    _Atomic uint64_t connections_cut;
    _Atomic uint64_t answer_cache_hits;      /* lookups answered from the worker's cache */
    _Atomic uint64_t answer_cache_misses;    /* ... looked up (and then kept, when they may be) */
    _Atomic uint64_t lookup_memo_hits;       /* tenant or store rows a lookup took from its reader's memo */
    _Atomic uint64_t read_txn_kept;          /* read transactions taken up again (db_reader_keep_open) */
    _Atomic uint64_t prov_writes;            /* provisioning writes applied (or dry-run) */
    _Atomic uint64_t prov_refusals;          /* provisioning writes refused */
    _Atomic uint64_t prov_refusals_unlogged; /* ... past the activity log's rate limit */
} metrics_t;

extern metrics_t metrics;

void metrics_request(metrics_route_t r, metrics_section_t s, metrics_result_t x, uint64_t latency_us);
void metrics_auth_failure(const char *reason);
void metrics_limit_refusal(metrics_limit_t l);
#define METRICS_INC(field) atomic_fetch_add_explicit(&metrics.field, 1, memory_order_relaxed)
/* Appends the exposition text. */
void metrics_render(w3_buf_t *out);
/* Appends one unlabelled counter sample with its HELP and TYPE lines. */
void metrics_counter(w3_buf_t *o, const char *name, const char *help, uint64_t v);

#endif
