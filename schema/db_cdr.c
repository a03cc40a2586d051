/* CDR writes, run on the writer thread's connection inside its batch
 * transaction. Statements are prepared with SQLITE_PREPARE_PERSISTENT and
 * cached by SQLite's own statement machinery per call (the writer owns one
 * connection, so a small static cache keyed by the handle is enough). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "internal/db_sqlite.h"

enum { Q_DID, Q_DOMAIN, Q_GATEWAY, Q_TENANT, Q_STORE, Q_USER, Q_INSERT, Q_REJECT, Q_API_INSERT, Q_API_SHA, Q_COUNT };

static const char *const sql[Q_COUNT] = {
    [Q_DID] = "SELECT tenant_id, sip_domain FROM voip_dids WHERE e164 = ?1",
    [Q_DOMAIN] = "SELECT tenant_id, sip_domain FROM tenants WHERE sip_domain = ?1",
    [Q_GATEWAY] = "SELECT tenant_id, sip_domain FROM voip_trunks WHERE gateway_name = ?1",
    [Q_TENANT] = "SELECT tenant_id, sip_domain FROM tenants WHERE tenant_id = ?1",
    [Q_STORE] = "SELECT 1 FROM stores WHERE store_id = ?1 AND tenant_id = ?2",
    [Q_USER] = "SELECT 1 FROM voip_extensions WHERE user_id = ?1 AND tenant_id = ?2",
    [Q_INSERT] = "INSERT INTO voip_cdr (tenant_id, store_id, sip_domain, call_id, leg, direction, from_uri, to_uri, "
                 "did_e164, ext_number, user_id, start_ts, answer_ts, end_ts, billsec, disposition, recording_url, "
                 "hangup_cause, sip_call_id, fs_core_uuid, fs_uuid, source, attributed, attribution_note, meta_json, "
                 "raw_body, config_gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                 "?17, ?18, ?19, ?20, ?21, 'fs', ?22, ?23, ?24, ?25, ?26) "
                 "ON CONFLICT (fs_core_uuid, fs_uuid) WHERE fs_uuid IS NOT NULL DO NOTHING",
    [Q_REJECT] = "INSERT INTO voip_cdr_rejects (reason, content_type, query, body) VALUES (?1, ?2, ?3, ?4)",
    [Q_API_INSERT] = "INSERT INTO voip_cdr (tenant_id, store_id, sip_domain, call_id, leg, direction, from_uri, "
                     "to_uri, did_e164, ext_number, start_ts, answer_ts, end_ts, billsec, disposition, recording_url, "
                     "meta_json, body_sha256, user_id, config_gen, source, attributed) VALUES (?1, ?2, ?3, ?4, ?5, "
                     "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, 'api', 1) "
                     "ON CONFLICT (sip_domain, call_id, leg) WHERE source = 'api' DO NOTHING",
    [Q_API_SHA] = ("SELECT body_sha256 FROM voip_cdr WHERE source = 'api' AND sip_domain = ?1 AND call_id = ?2 "
                   "AND leg = ?3"),
};

_Static_assert(Q_COUNT <= DB_CONN_CACHE, "db_conn_t caches every CDR statement");

/* The statement q of this connection, prepared on first use and reset. */
static sqlite3_stmt *stmt(db_conn_t *c, int q)
{
    sqlite3_stmt **st = &c->cache[q];
    if (*st == NULL && sqlite3_prepare_v3(c->h, sql[q], -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return *st;
}

/* Not copied (SQLITE_STATIC): every value bound here outlives the step
 * that reads it, and stmt() clears the bindings before the next use, so no
 * statement is ever stepped with a pointer its caller has freed. The copies
 * were ~5 % of the writer thread's time on a CDR flood. */
static void bind(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a lookup returning (tenant_id, sip_domain): 1 found, 0 none, -EIO. */
static int owner(db_conn_t *db, int q, const char *key, db_cdr_result_t *res)
{
    if (key == NULL || *key == '\0')
        return 0;
    sqlite3_stmt *st = stmt(db, q);
    if (st == NULL)
        return -EIO;
    bind(st, 1, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -EIO;
    w3_strlcpy(res->tenant_id, (const char *)sqlite3_column_text(st, 0), sizeof(res->tenant_id));
    w3_strlcpy(res->sip_domain, (const char *)sqlite3_column_text(st, 1), sizeof(res->sip_domain));
    sqlite3_reset(st);
    return 1;
}

static int exists2(db_conn_t *db, int q, const char *a, const char *b)
{
    if (a == NULL || *a == '\0')
        return 0;
    sqlite3_stmt *st = stmt(db, q);
    if (st == NULL)
        return -EIO;
    bind(st, 1, a);
    bind(st, 2, b);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

/* "sha256:<hex>" of the len bytes of doc, in out[72]. */
static void body_digest(const char *doc, size_t len, char out[72])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(doc ? doc : "", doc ? len : 0, md, &n, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

int db_cdr_store(db_conn_t *db, const db_cdr_t *c, db_cdr_result_t *res)
{
    memset(res, 0, sizeof(*res));
    /* the strongest evidence first: a DID has one owner, the authenticated
     * domain is FreeSWITCH's, the rest are our own exported variables */
    static const struct {
        int q;
        size_t off;
        const char *what;
    } sources[] = {
        {Q_DID, offsetof(db_cdr_t, did_e164), "DID"},
        {Q_DOMAIN, offsetof(db_cdr_t, auth_domain), "authenticated domain"},
        {Q_DOMAIN, offsetof(db_cdr_t, claim_sip_domain), "sip_domain variable"},
        {Q_GATEWAY, offsetof(db_cdr_t, gateway), "gateway"},
        {Q_TENANT, offsetof(db_cdr_t, claim_tenant_id), "tenant_id variable"},
    };
    const char *source = NULL;
    for (size_t i = 0; i < W3_ARRAY_LEN(sources) && source == NULL; i++) {
        const char *key = *(char *const *)((const char *)c + sources[i].off);
        int rc = owner(db, sources[i].q, key, res);
        if (rc < 0)
            return -EIO;
        if (rc == 1)
            source = sources[i].what;
    }
    res->attributed = source != NULL;
    if (!res->attributed)
        snprintf(res->note, sizeof(res->note), "unattributable: no known DID, domain, gateway or tenant");
    else if (c->claim_tenant_id && strcmp(c->claim_tenant_id, res->tenant_id) != 0)
        snprintf(res->note, sizeof(res->note), "tenant_id variable contradicts the %s: not trusted", source);

    const char *store = NULL, *user = NULL;
    if (res->attributed) {
        int rc = exists2(db, Q_STORE, c->claim_store_id, res->tenant_id);
        if (rc < 0)
            return -EIO;
        store = rc == 1 ? c->claim_store_id : NULL;
        rc = exists2(db, Q_USER, c->user_id, res->tenant_id);
        if (rc < 0)
            return -EIO;
        user = rc == 1 ? c->user_id : NULL;
    }

    sqlite3_stmt *st = stmt(db, Q_INSERT);
    if (st == NULL)
        return -EIO;
    bind(st, 1, res->attributed ? res->tenant_id : NULL);
    bind(st, 2, store);
    bind(st, 3, res->attributed ? res->sip_domain : NULL);
    bind(st, 4, c->call_id);
    bind(st, 5, c->leg);
    bind(st, 6, c->direction);
    bind(st, 7, c->from_uri);
    bind(st, 8, c->to_uri);
    bind(st, 9, c->did_e164);
    bind(st, 10, c->ext_number);
    bind(st, 11, user);
    bind(st, 12, c->start_ts);
    bind(st, 13, c->answer_ts);
    bind(st, 14, c->end_ts);
    sqlite3_bind_int64(st, 15, c->billsec);
    bind(st, 16, c->disposition);
    bind(st, 17, c->recording_url);
    bind(st, 18, c->hangup_cause);
    bind(st, 19, c->sip_call_id);
    /* FreeSWITCH never resends after a 400, so a leg without core-uuid or
     * uuid is stored too, under a key that is the same when it is posted
     * again: '' for the core, the digest of the document for the leg */
    char digest[72] = "";
    if (c->fs_uuid == NULL || *c->fs_uuid == '\0')
        body_digest(c->meta_json, c->meta_json_len, digest);
    sqlite3_bind_text(st, 20, c->fs_core_uuid ? c->fs_core_uuid : "", -1, SQLITE_STATIC);
    bind(st, 21, digest[0] ? digest : c->fs_uuid);
    sqlite3_bind_int(st, 22, res->attributed);
    bind(st, 23, res->note[0] ? res->note : NULL);
    /* the two large values (the whole CDR) are not copied: the caller's
     * record outlives this step, and the next use clears the bindings */
    if (c->meta_json && c->meta_json_len > 0)
        sqlite3_bind_text(st, 24, c->meta_json, (int)c->meta_json_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 24);
    if (c->raw_body)
        sqlite3_bind_blob(st, 25, c->raw_body, (int)c->raw_body_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 25);
    if (c->config_gen >= 0)
        sqlite3_bind_int64(st, 26, c->config_gen);
    else
        sqlite3_bind_null(st, 26);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    if (sqlite3_changes(db->h) == 0) {
        res->duplicate = true;
        return 0;
    }
    res->id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

int db_cdr_reject_store(db_conn_t *db, const char *reason, const char *content_type, const char *query,
                        const char *body, size_t len)
{
    sqlite3_stmt *st = stmt(db, Q_REJECT);
    if (st == NULL)
        return -EIO;
    bind(st, 1, reason);
    bind(st, 2, content_type);
    bind(st, 3, query);
    sqlite3_bind_blob(st, 4, body, (int)len, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int db_api_cdr_store(db_conn_t *db, const db_api_cdr_t *c, long long *id, db_api_cdr_outcome_t *outcome)
{
    /* the tenant on both sides of every reference */
    int rc = c->store_id ? exists2(db, Q_STORE, c->store_id, c->tenant_id) : 1;
    if (rc < 0)
        return -EIO;
    if (rc == 0) {
        *outcome = DB_API_CDR_BAD_STORE;
        return 0;
    }
    rc = c->user_id ? exists2(db, Q_USER, c->user_id, c->tenant_id) : 1;
    if (rc < 0)
        return -EIO;
    if (rc == 0) {
        *outcome = DB_API_CDR_BAD_USER;
        return 0;
    }
    sqlite3_stmt *st = stmt(db, Q_API_INSERT);
    if (st == NULL)
        return -EIO;
    const char *v[] = {c->tenant_id, c->store_id, c->sip_domain, c->call_id,  c->leg,       c->direction, c->from_uri,
                       c->to_uri,    c->did_e164, c->ext_number, c->start_ts, c->answer_ts, c->end_ts};
    for (int i = 0; i < 13; i++)
        bind(st, i + 1, v[i]);
    sqlite3_bind_int64(st, 14, c->billsec);
    bind(st, 15, c->disposition);
    bind(st, 16, c->recording_url);
    bind(st, 17, c->meta_json);
    bind(st, 18, c->body_sha256);
    bind(st, 19, c->user_id);
    if (c->config_gen >= 0)
        sqlite3_bind_int64(st, 20, c->config_gen);
    else
        sqlite3_bind_null(st, 20);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    if (sqlite3_changes(db->h) == 1) {
        *id = sqlite3_last_insert_rowid(db->h);
        *outcome = DB_API_CDR_STORED;
        return 0;
    }
    st = stmt(db, Q_API_SHA);
    if (st == NULL)
        return -EIO;
    bind(st, 1, c->sip_domain);
    bind(st, 2, c->call_id);
    bind(st, 3, c->leg);
    rc = sqlite3_step(st);
    int out = -EIO;
    if (rc == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(st, 0);
        *outcome = sha && strcmp(sha, c->body_sha256) == 0 ? DB_API_CDR_DUPLICATE : DB_API_CDR_CONFLICT;
        out = 0;
    }
    sqlite3_reset(st);
    return out;
}
