/* Provisioning writes (server/provision): rows in and out as JSON objects in
 * the API's shape (GET /api/voip/provision/snapshot), so the layer above
 * never sees a column, a statement or a SQL type. Everything here runs on a
 * read-write connection inside the caller's transaction (the writer's job,
 * or `w3voip apply`'s).
 *
 * Ownership: *json results are malloc'd and freed by the caller; row_json
 * arguments are borrowed. Return convention as db.h: 0, -ENOENT, -EIO, and
 * -EINVAL when a constraint refused the row (db_conn_error() says which). */
#ifndef W3_DB_PROV_H
#define W3_DB_PROV_H

#include "db.h"

/* In dependency order: a kind refers only to kinds before it. */
typedef enum {
    DB_PK_STORES,
    DB_PK_TRUNKS,
    DB_PK_EXTENSIONS,
    DB_PK_RING_GROUPS,
    DB_PK_AI_AGENTS,
    DB_PK_DIDS,
    DB_PK_ROUTES,
    DB_PK__N
} db_pkind_t;

int db_prov_tenant(db_conn_t *c, const char *domain, db_tenant_t *out);
/* A tenant as the API shows it: tenant_id, sip_domain, name, country_code, enabled. */
int db_prov_tenant_json(db_conn_t *c, const char *domain, char **json);
/* Creates (exists false) or updates (by tenant_id) a tenant from its JSON object. */
int db_prov_tenant_put(db_conn_t *c, const char *row_json, bool exists);
/* The tenant_id that already holds domain, or tenant_id's domain. */
int db_prov_tenant_by_id(db_conn_t *c, const char *tenant_id, char domain[254]);

int db_prov_gen(db_conn_t *c, const char *tenant_id, long long *gen);
/* +1 for the tenant and for the global generation: one step per write. */
int db_prov_gen_step(db_conn_t *c, const char *tenant_id, long long *gen);

/* Every row of a kind that belongs to the tenant (tenant_id and, but for
 * stores, sip_domain agree), as a JSON array in the API's shape plus the
 * write-only a1_hash (extensions) and secret_ref (trunks); ring groups carry
 * their members. Ordered by the kind's natural key. */
int db_prov_load(db_conn_t *c, db_pkind_t k, const char *tenant_id, const char *domain, char **json);
/* Who holds a globally unique value: the kind's id (by_key false) or its
 * natural key when that is global (trunks' gateway_name, DIDs' e164).
 * 0 with owner filled, -ENOENT, -EIO. */
int db_prov_owner(db_conn_t *c, db_pkind_t k, bool by_key, const char *value, char owner[65]);

/* Inserts (exists false) or updates (by the kind's id) one row from its
 * JSON object; a ring group's members are written by db_prov_members_set. */
int db_prov_upsert(db_conn_t *c, db_pkind_t k, const char *row_json, bool exists);
/* Gives an extension a placeholder user_id, so that user_ids can move
 * between extensions in one write (UNIQUE (tenant_id, user_id) holds at
 * every row). */
int db_prov_park_user(db_conn_t *c, const char *extension_id);
int db_prov_delete(db_conn_t *c, db_pkind_t k, const char *id);
/* Replaces a ring group's members with members_json (an array of extension
 * numbers, in ring order); NULL removes them all. */
int db_prov_members_set(db_conn_t *c, const char *ring_group_id, const char *domain, const char *members_json);

/* A provisioning write: a savepoint inside the caller's transaction with the
 * actor set, so the activity triggers record who wrote and leave the
 * generation to db_prov_gen_step. db_prov_end keeps (keep) or undoes it. */
int db_prov_begin(db_conn_t *c, const char *actor);
int db_prov_end(db_conn_t *c, bool keep);
/* One activity row with status 'refused' (diff holds the reason). */
int db_prov_refusal(db_conn_t *c, const char *tenant_id, const char *domain, const char *actor, const char *target,
                    const char *op, const char *diff_json);

#endif
