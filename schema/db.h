/* Data-access layer: schema migrations and the read-only connection each
 * worker owns. No HTTP and no XML here.
 *
 * Ownership: db_reader_create() returns a reader owned by one thread (the
 * worker that created it); db_reader_destroy(NULL) is a no-op. Row structs
 * are plain values filled by the caller-provided storage: nothing to free.
 * Return convention: 0 found / done, -ENOENT no such row, -EIO database
 * failure (busy past busy_timeout, I/O error, corrupt data), -EPROTO schema
 * newer than this binary. */
#ifndef W3_DB_H
#define W3_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct db_migration {
    int version;
    const char *name;
    const char *sql;
} db_migration_t;

extern const db_migration_t db_migrations[];
extern const int db_migrations_count;

/* Opens (creating if asked) a read-write connection: WAL, foreign_keys=ON,
 * synchronous=FULL, busy_timeout. *err (malloc'd) explains a failure. */
int db_open_rw(const char *path, bool create, int busy_ms, sqlite3 **out, char **err);
/* Applies every migration newer than PRAGMA user_version, each in its own
 * transaction. Refuses (-EPROTO) a database newer than this binary. */
int db_migrate(sqlite3 *db, int *from, int *to, char **err);
int db_schema_version(sqlite3 *db, int *version);
/* Finalizes every statement still prepared on db (the cached write
 * statements included) and closes it. Call on the thread that used it. */
void db_close(sqlite3 *db);

typedef struct db_tenant {
    char tenant_id[65];
    char sip_domain[254];
    char country_code[4];
    bool enabled;
} db_tenant_t;

typedef struct db_extension {
    char extension_id[65];
    char tenant_id[65];
    char sip_domain[254];
    char store_id[65];
    char user_id[65];
    char ext_number[11];
    char display_name[512];
    char a1_hash[33];
    char cos[16];
    char fwd_always[21];
    char fwd_busy[21];
    char fwd_no_answer[21];
    int fwd_no_answer_timeout; /* 0 = not set */
    char caller_id_number[21]; /* the store's first enabled trunk, "" when none */
    bool voicemail_enabled;
    bool enabled;
    bool tenant_enabled;
} db_extension_t;

typedef struct db_trunk {
    char tenant_id[65];
    char sip_domain[254];
    char store_id[65];
    char trunk_id[65];
    char gateway_name[65];
    char proxy[256];
    int port; /* 0 = default */
    char transport[4];
    bool reg;
    char username[129];
    char realm[256];
    char from_user[129];
    char from_domain[256];
    char secret_ref[1025];
    char caller_id_number[21];
    int priority;
} db_trunk_t;

typedef struct db_reader db_reader_t;

db_reader_t *db_reader_create(const char *path, int busy_ms, char **err);
void db_reader_destroy(db_reader_t *r);
/* One read transaction around all queries of a request: one snapshot, and
 * the statements skip the per-statement autocommit cost. */
int db_read_begin(db_reader_t *r);
void db_read_end(db_reader_t *r);
sqlite3 *db_reader_handle(db_reader_t *r);

int db_tenant_by_domain(db_reader_t *r, const char *domain, db_tenant_t *out);
int db_extension_get(db_reader_t *r, const char *domain, const char *ext, db_extension_t *out);

/* Walks enabled tenants (one domain when domain != NULL) in domain order and,
 * for each, its enabled trunks of enabled stores in (store, priority) order.
 * on_domain (may be NULL) is called once per tenant, on_trunk once per trunk; a non-zero
 * return from a callback stops the walk and is returned. */
typedef struct db_gateway_walk {
    int (*on_domain)(const db_tenant_t *t, void *arg);
    int (*on_trunk)(const db_trunk_t *tr, void *arg);
    void *arg;
} db_gateway_walk_t;
int db_gateways_walk(db_reader_t *r, const char *domain, const db_gateway_walk_t *w);

typedef struct db_did {
    char did_id[65];
    char tenant_id[65];
    char sip_domain[254];
    char store_id[65];
    char e164[17];
    char target_type[8];
    char target_ref[65];
    char fallback[16];
    bool enabled;
    bool tenant_enabled;
} db_did_t;

/* DIDs matching exact (an E.164 "+…") or, when national is not NULL, the
 * owner tenant's "+<country_code><national>". Up to max rows; *n is how many
 * exist (more than one = ambiguous). */
int db_did_find(db_reader_t *r, const char *exact, const char *national, db_did_t *rows, int max, int *n);
/* The owner of a sofia gateway name: -ENOENT when no trunk has it. */
int db_trunk_owner(db_reader_t *r, const char *gateway_name, char tenant_id[65]);

typedef struct db_agent {
    char ref[65];
    char ws_url[513];
    bool enabled;
} db_agent_t;
int db_agent_get(db_reader_t *r, const char *domain, const char *ref, db_agent_t *out);

typedef struct db_ring_member {
    char ext_number[11];
    bool enabled;
    bool voicemail_enabled;
} db_ring_member_t;
typedef struct db_ring_group {
    char ref[65];
    char strategy[16];
    int ring_timeout;
    bool enabled;
    int nmembers;
    db_ring_member_t members[32]; /* in position order; the rest is ignored */
} db_ring_group_t;
int db_ring_group_get(db_reader_t *r, const char *domain, const char *ref, db_ring_group_t *out);

typedef struct db_route {
    char route_id[65];
    char name[201];
    char pattern[257];
    int strip_digits;
    char prepend[21];
    char cos_class[16];
    int priority;
} db_route_t;
/* Enabled routes of a domain in priority order; *n (<= max) filled. */
int db_routes_list(db_reader_t *r, const char *domain, db_route_t *rows, int max, int *n);

/* Enabled trunks of an enabled store, in priority order. */
int db_store_trunks(db_reader_t *r, const char *store_id, db_trunk_t *rows, int max, int *n);

/* One CDR leg to store (SPEC §7). Strings are owned by whoever filled the
 * struct (server/cdr.c frees them with cdr_rec_free()). The claim_* and
 * auth_domain/gateway fields are what the call says about its tenant; the
 * store step checks them against the database before trusting them. */
typedef struct db_cdr {
    char *fs_core_uuid;
    char *fs_uuid;
    char *leg;
    char *call_id;
    char *sip_call_id;
    char *direction;
    char *from_uri;
    char *to_uri;
    char *did_e164;
    char *ext_number;
    char *user_id;
    char *start_ts;
    char *answer_ts;
    char *end_ts;
    long billsec;
    char *disposition;
    char *recording_url;
    char *hangup_cause;
    char *meta_json;
    char *claim_tenant_id;
    char *claim_store_id;
    char *claim_sip_domain;
    char *auth_domain;
    char *gateway;
    const char *format; /* which encoding was recognised (static string) */
} db_cdr_t;

typedef struct db_cdr_result {
    long long id;
    bool duplicate;
    bool attributed;
    char tenant_id[65];
    char sip_domain[254];
    char note[200];
} db_cdr_result_t;

/* Attributes (DID owner, then the authenticated domain, the sip_domain
 * variable, the gateway's owner, and only then a tenant_id variable that
 * names an existing tenant) and inserts on the writer connection. A leg
 * already stored (same core-uuid + uuid) is not stored again: 0 with
 * res->duplicate. -EIO on a database error. */
int db_cdr_store(sqlite3 *db, const db_cdr_t *c, db_cdr_result_t *res);
/* Keeps an unparseable body verbatim. */
int db_cdr_reject_store(sqlite3 *db, const char *reason, const char *content_type, const char *query,
                        const char *body, size_t len);

/* Lists for w3voip export: the keys of one domain's rows, in a stable
 * order, passed one by one to cb (a non-zero return stops the walk). */
typedef int (*db_key_cb)(const char *key, void *arg);
int db_list_extensions(db_reader_t *r, const char *domain, db_key_cb cb, void *arg); /* ext_number */
int db_list_dids(db_reader_t *r, const char *domain, db_key_cb cb, void *arg);       /* e164 */
int db_list_stores(db_reader_t *r, const char *tenant_id, db_key_cb cb, void *arg);  /* store_id */

/* W3 JSON API reads (SPEC §9): each fills *json with a malloc'd JSON text
 * built by SQLite's JSON functions. Never a1_hash, secret_ref or secrets.
 * 0, -ENOENT (nothing for that key), -EIO. */
int db_api_snapshot(db_reader_t *r, const char *domain, char **json);
int db_api_inbound(db_reader_t *r, const char *domain, const char *e164, char **json);
int db_api_extension(db_reader_t *r, const char *domain, const char *ext, char **json);
/* Pages in id order after after_id; *json = {"items":[…],"next_cursor":…}.
 * from/to (ISO-8601, may be NULL) bound start_ts as [from, to). */
int db_api_cdr_list(db_reader_t *r, const char *domain, const char *from, const char *to, long long after_id,
                    int limit, bool with_meta, char **json);
int db_api_activity(db_reader_t *r, const char *domain, long long after_id, int limit, char **json);

/* An API-posted CDR (POST /api/voip/cdr), idempotent on (sip_domain,
 * call_id, leg): 0 stored, 1 same key with the same body (duplicate), 2 same
 * key with another body (conflict), -EIO. */
typedef struct db_api_cdr {
    const char *tenant_id, *store_id, *sip_domain, *call_id, *leg, *direction, *from_uri, *to_uri, *did_e164,
        *ext_number, *start_ts, *answer_ts, *end_ts, *disposition, *recording_url, *meta_json, *body_sha256;
    long billsec;
} db_api_cdr_t;
int db_api_cdr_store(sqlite3 *db, const db_api_cdr_t *c, long long *id);

#endif
