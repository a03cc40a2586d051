/* Data-access layer: schema migrations, the writer's read-write connection
 * and the read-only connection each worker owns. No HTTP and no XML here,
 * and nothing above this layer sees SQLite: db_conn_t and db_reader_t are
 * opaque, so a PostgreSQL backend can sit behind the same header.
 *
 * Ownership: db_reader_create() returns a reader owned by one thread (the
 * worker that created it); db_reader_destroy(NULL) is a no-op. Row structs
 * are plain values filled by the caller-provided storage: nothing to free.
 * Return convention: 0 found / done, -ENOENT no such row, -EIO database
 * failure (busy past busy_timeout, I/O error, corrupt data), -EPROTO schema
 * newer than this binary. */
#ifndef W3_DB_H
#define W3_DB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct db_migration {
    int version;
    const char *name;
    const char *sql;
} db_migration_t;

extern const db_migration_t db_migrations[];
extern const int db_migrations_count;

/* The explicit limits (schema v3, migrations/003_limits.sql): the triggers
 * there refuse a write past them with a message holding the number, and
 * `w3voip check` reports rows that got past them anyway. The SQL spells the
 * numbers out, so change both together (tests/unit/test_schema.c checks the
 * triggers against these). The lookups read one row past each, so data
 * beyond a limit (a trigger bypassed) is reported as -E2BIG and never used
 * as a silent prefix. */
#define DB_MAX_RING_GROUP_MEMBERS 64
#define DB_MAX_TENANT_ROUTES 256
#define DB_MAX_STORE_TRUNKS 16

/* How long an extension rings before its no-answer forwarding when the row
 * gives no forwarding.no_answer_timeout: what calls have always used (the
 * dialplan's ring time), and what the directory tells FreeSWITCH. */
#define DB_DEFAULT_NO_ANSWER_S 30

/* A read-write connection (the writer's, `w3voip init`'s). */
typedef struct db_conn db_conn_t;

/* Opens (creating if asked) a read-write connection: WAL, foreign_keys=ON,
 * synchronous=FULL, busy_timeout. *err (malloc'd) explains a failure. */
int db_conn_open(const char *path, bool create, int busy_ms, db_conn_t **out, char **err);
/* Finalizes every statement still prepared on the connection and closes it.
 * Call on the thread that used it; NULL is a no-op. */
void db_conn_close(db_conn_t *c);
/* Moves the WAL checkpoints of c (the writer's connection) to a thread with
 * its own connection to path, so that a commit does not copy the WAL into the
 * database file; c still checkpoints itself when the WAL passes ~4000 frames
 * (see db_ckpt.c). The thread stops in db_conn_close(c). 0, or -EIO/-EINVAL
 * with *err (malloc'd). */
int db_conn_checkpoint_offload(db_conn_t *c, const char *path, int busy_ms, char **err);
/* Checkpoints completed so far by that thread and by c's own commits. */
void db_conn_checkpoint_counts(db_conn_t *c, long long *background, long long *inline_runs);
/* The last error of the connection, for a log line (static or owned by c). */
const char *db_conn_error(db_conn_t *c);
/* Applies every migration newer than the stored schema version, each in its
 * own transaction. Refuses (-EPROTO) a database newer than this binary. */
int db_migrate(db_conn_t *c, int *from, int *to, char **err);
int db_schema_version(db_conn_t *c, int *version);

/* PRAGMA foreign_key_check: cb(table, rowid text, parent table) for each
 * row a foreign key would refuse (written by a sqlite3 session with foreign
 * keys off); *n counts them. 0, -EIO, or -EINTR when *stop became true
 * (stop may be NULL): on a large database the check takes seconds, and a
 * shutdown must not wait for it. */
typedef void (*db_fk_cb)(const char *table, const char *rowid, const char *parent, void *arg);
int db_foreign_key_check(db_conn_t *c, db_fk_cb cb, void *arg, long *n, const atomic_bool *stop);

/* The writer's transactions: one batch (BEGIN IMMEDIATE … COMMIT), one
 * savepoint per job inside it. 0, -EBUSY (locked past busy_timeout) or -EIO. */
int db_tx_begin(db_conn_t *c);
int db_tx_commit(db_conn_t *c);
void db_tx_rollback(db_conn_t *c);
int db_tx_savepoint(db_conn_t *c);
void db_tx_savepoint_undo(db_conn_t *c);
int db_tx_savepoint_release(db_conn_t *c);

typedef struct db_tenant {
    char tenant_id[65];
    char sip_domain[254];
    char country_code[4];
    bool enabled;
    long long config_gen; /* the tenant's configuration generation (schema v5) */
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
    long long config_gen; /* its tenant's configuration generation */
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
/* Lets db_read_end() leave the read transaction open, and the next
 * db_read_begin() take it up again while no transaction has committed
 * since its snapshot began (the WAL index says so; otherwise it ends and a
 * new one begins): a lookup then skips SQLite's read locks. kept(arg) is
 * called each time one is left open; the owner must then call
 * db_read_release() soon, as an open snapshot holds back the checkpoints
 * past it and the WAL's restart. Off (NULL) by default, and in a database
 * not in WAL mode. */
void db_reader_keep_open(db_reader_t *r, void (*kept)(void *arg), void *arg);
/* Ends the transaction db_read_end() left open, if any. NULL accepted. */
void db_read_release(db_reader_t *r);
/* The schema version of a database file, without preparing anything (so
 * an old file can be told apart from a broken one). */
int db_file_schema_version(const char *path, int *version, char **err);
/* The schema version as the reader sees it (/readyz). */
int db_reader_schema_version(db_reader_t *r, int *version);

int db_tenant_by_domain(db_reader_t *r, const char *domain, db_tenant_t *out);
/* The configuration generation of a tenant (tenant_id NULL: the global one,
 * which grows with every tenant's changes). 0 when none was recorded. */
int db_config_gen(db_reader_t *r, const char *tenant_id, long long *gen);
/* What an answer cached by the server depends on besides the request. */
typedef struct db_stamp {
    long long gen; /* the global configuration generation */
    /* PRAGMA schema_version: every DDL moves it. A sqlite3 session that drops
     * a generation trigger, writes and re-creates it leaves gen where it was,
     * not this. */
    int schema;
    /* false while any trigger that steps gen is missing: then nothing may be
     * cached on it */
    bool trusted;
} db_stamp_t;
int db_config_stamp(db_reader_t *r, db_stamp_t *out);
/* Outside a read transaction: true, with what the last db_config_stamp()
 * read, when no transaction has committed to the database since that stamp
 * (SQLite's shared WAL index says so: no lock, no statement, no system
 * call). false when that cannot be told: then take a stamp. */
bool db_config_unchanged(db_reader_t *r, db_stamp_t *out);
int db_extension_get(db_reader_t *r, const char *domain, const char *ext, db_extension_t *out);
/* db_extension_get() and the tenant of that row (db_tenant_by_domain()'s
 * answer for domain), in one call (the tenant usually from the reader's
 * memo): -ENOENT does not tell whether the domain is known. */
int db_user_get(db_reader_t *r, const char *domain, const char *ext, db_tenant_t *t, db_extension_t *out);

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
    long long config_gen; /* its tenant's configuration generation */
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
    db_ring_member_t members[DB_MAX_RING_GROUP_MEMBERS]; /* in position order */
} db_ring_group_t;
/* 0, -ENOENT, -EIO, or -E2BIG when the group has more than
 * DB_MAX_RING_GROUP_MEMBERS members (out is then not to be used). */
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
/* Enabled routes of a domain in priority order; *n (<= max) filled.
 * -E2BIG when the domain has more than max. */
int db_routes_list(db_reader_t *r, const char *domain, db_route_t *rows, int max, int *n);

/* Enabled trunks of an enabled store, in priority order, that belong to
 * tenant_id as their store does (a row that disagrees is skipped, logged
 * and counted); -E2BIG when the store has more than max. */
int db_store_trunks(db_reader_t *r, const char *store_id, const char *tenant_id, db_trunk_t *rows, int max, int *n);

/* One CDR leg to store (SPEC §7). Strings are owned by whoever filled the
 * struct (server/ingest/cdr.c frees them with cdr_rec_free()). The claim_* and
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
    /* the whole document, meta_json_len bytes (not necessarily followed by
     * a NUL); when meta_json_borrowed it points into the caller's body,
     * which outlives the record, and cdr_rec_free leaves it alone */
    char *meta_json;
    size_t meta_json_len;
    bool meta_json_borrowed;
    long long config_gen; /* the w3_config_gen the call carried, -1 when absent */
    char *raw_body;       /* the body as received when its text had to be repaired, else NULL */
    size_t raw_body_len;
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
int db_cdr_store(db_conn_t *db, const db_cdr_t *c, db_cdr_result_t *res);
/* Keeps an unparseable body verbatim. */
int db_cdr_reject_store(db_conn_t *db, const char *reason, const char *content_type, const char *query,
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
/* A listing page stops before it would pass this many bytes (it always
 * holds at least one row), and then says so with a next_cursor. */
#define DB_PAGE_BYTES ((size_t)2 << 20)
/* Pages in id order after after_id; *json = {"items":[…],"next_cursor":…}.
 * from/to (ISO-8601, may be NULL) bound start_ts as [from, to). */
int db_api_cdr_list(db_reader_t *r, const char *domain, const char *from, const char *to, long long after_id, int limit,
                    bool with_meta, char **json);
int db_api_activity(db_reader_t *r, const char *domain, long long after_id, int limit, char **json);

/* An API-posted CDR (POST /api/voip/cdr), idempotent on (sip_domain,
 * call_id, leg): 0 with *outcome (stored: *id set; the same key with the
 * same body: duplicate; with another body: conflict), or -EIO. */
typedef enum {
    DB_API_CDR_STORED,
    DB_API_CDR_DUPLICATE,
    DB_API_CDR_CONFLICT,
    DB_API_CDR_BAD_STORE, /* store_id is not a store of tenant_id: nothing stored */
    DB_API_CDR_BAD_USER,  /* user_id is not an extension's user of tenant_id */
} db_api_cdr_outcome_t;
typedef struct db_api_cdr {
    const char *tenant_id, *store_id, *user_id, *sip_domain, *call_id, *leg, *direction, *from_uri, *to_uri, *did_e164,
        *ext_number, *start_ts, *answer_ts, *end_ts, *disposition, *recording_url, *meta_json, *body_sha256;
    long billsec;
    long long config_gen; /* -1 when not given */
} db_api_cdr_t;
int db_api_cdr_store(db_conn_t *db, const db_api_cdr_t *c, long long *id, db_api_cdr_outcome_t *outcome);

/* w3voip check (schema/db_check.c). Each walk calls cb once per row and
 * returns 0 or -EIO. */
typedef void (*db_problem_cb)(const char *kind, const char *message, void *arg);
int db_check_problems(db_reader_t *r, db_problem_cb cb, void *arg);
typedef void (*db_check_trunk_cb)(const char *gateway_name, const char *sip_domain, const char *secret_ref, bool reg,
                                  void *arg);
int db_check_trunks(db_reader_t *r, db_check_trunk_cb cb, void *arg);
typedef void (*db_check_route_cb)(const char *name, const char *sip_domain, const char *pattern, void *arg);
int db_check_routes(db_reader_t *r, db_check_route_cb cb, void *arg);
typedef struct db_counts {
    int tenants, extensions, dids, trunks, routes;
} db_counts_t;
int db_check_counts(db_reader_t *r, db_counts_t *out);

/* The change feed (schema/db_feed.c): voip_activity_log read by id, as the
 * event-socket client (server/fsnode) polls it. Each row names the table
 * and op of one committed change and the columns it needs from the diff;
 * a column absent from the diff is "" (enabled: -1). Rows whose status is
 * not 'ok' (refused writes, failed applies) are skipped. */
typedef struct db_feed_row {
    long long id;
    char table[40];
    char op[8];
    char old_domain[254], new_domain[254];
    char old_key[65], new_key[65]; /* gateway_name (trunks), ext_number (extensions), store_id (stores) */
    int old_enabled, new_enabled;
} db_feed_row_t;
/* The newest row's id (0 for an empty log). 0 or -EIO. */
int db_feed_last_id(db_reader_t *r, long long *id);
/* Up to max rows with id > after, in id order; *n of them. 0 or -EIO. */
int db_feed_read(db_reader_t *r, long long after, db_feed_row_t *rows, int max, int *n);
/* The gateway_name of every trunk of a domain (enabled or not). */
int db_feed_domain_gateways(db_reader_t *r, const char *domain, db_key_cb cb, void *arg);
/* The gateway_name of every enabled trunk of a store. */
int db_feed_store_gateways(db_reader_t *r, const char *store_id, db_key_cb cb, void *arg);
/* {"<tenant_id>":<generation>,...} of every tenant (malloc'd). 0 or -EIO. */
int db_feed_generations(db_reader_t *r, char **json);
/* A change a FreeSWITCH node could not apply: one activity row, op
 * 'apply', status 'failed', target "fs_node:<node>", diff {"node",
 * "command", "reply"}; domain may be NULL. Writer connection only. */
int db_feed_failed_insert(db_conn_t *c, const char *node, const char *command, const char *reply, const char *domain);

#endif
