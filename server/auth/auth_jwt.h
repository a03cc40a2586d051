/* JWTs on libjwt 1.10 (Debian 12), which only checks signatures: this module
 * pins the algorithm to the key type before libjwt sees the token, refuses
 * "none", and checks exp (required), nbf and iat itself (SPEC §9).
 *
 * Ownership: auth_jwt_key_load() fills a key whose bytes are freed by
 * auth_jwt_key_free(); auth_jwt_mint() returns a malloc'd token. */
#ifndef W3_AUTH_JWT_H
#define W3_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef enum { AUTH_JWT_HS256 = 1, AUTH_JWT_RS256, AUTH_JWT_ES256 } auth_jwt_alg_t;

typedef struct auth_jwt_key {
    auth_jwt_alg_t alg;
    unsigned char *bytes; /* PEM text or the HS256 secret */
    size_t len;
} auth_jwt_key_t;

const char *auth_jwt_alg_name(auth_jwt_alg_t alg);
/* Loads a key file. private_key=false: a PEM public key (RSA → RS256, EC
 * P-256 → ES256) or an HS256 secret; true: a PEM private key or an HS256
 * secret (for minting). 0 or -EINVAL/-errno with *why. */
int auth_jwt_key_load(const char *path, bool private_key, auth_jwt_key_t *key, const char **why);
void auth_jwt_key_free(auth_jwt_key_t *key);

typedef struct auth_jwt_claims {
    char tenant_id[65];
    char sip_domain[254];
    char client_id[129];
    bool platform; /* scope contains "pbx" */
    long exp;
} auth_jwt_claims_t;

/* 0 when the token is valid now; otherwise -EACCES with *why a short reason
 * code: "malformed", "alg", "signature", "expired", "not_yet_valid",
 * "issued_in_future", "missing_exp", "missing_client", "missing_tenant". */
int auth_jwt_verify(const auth_jwt_key_t *key, const char *token, time_t now, long leeway, auth_jwt_claims_t *claims,
                    const char **why);

typedef struct auth_jwt_mint_req {
    const char *tenant_id;  /* NULL for a platform token */
    const char *sip_domain; /* idem */
    const char *client_id;  /* becomes "sub" */
    const char *scope;      /* e.g. "pbx"; NULL = none */
    long ttl_s;             /* lifetime */
    long nbf_offset_s;      /* nbf = now + offset (0 = now) */
    time_t now;
} auth_jwt_mint_req_t;
/* Returns a signed token, or NULL with *why. */
char *auth_jwt_mint(const auth_jwt_key_t *key, const auth_jwt_mint_req_t *req, const char **why);

#endif
