/* Who may call what. /fs/... (FreeSWITCH: Basic only, SPEC §9): the operator's
 * static credentials, or Basic whose password is a platform JWT (scope pbx);
 * a tenant token there is refused (-EPERM, answered 403 by the HTTP layer) —
 * it would read every tenant's trunk secrets through purpose=gateways.
 * /api/...: Bearer JWT. These functions return 0 or a negative errno; only
 * server/http turns them into HTTP statuses (req.c, route_api.c).
 *
 * Ownership: auth_create() copies what it needs from the config; the caller
 * frees with auth_destroy() (NULL is fine). Thread-safe after creation. */
#ifndef W3_AUTH_H
#define W3_AUTH_H

#include <stddef.h>

#include "auth_jwt.h"
#include "config.h"

typedef struct auth auth_t;

auth_t *auth_create(const srv_config_t *c, char **err);
void auth_destroy(auth_t *a);

/* Checks an Authorization header value (may be NULL) for /fs/.... Returns 0,
 * -EACCES (no or bad credentials: the HTTP layer answers 401) or -EPERM (valid
 * tenant token, not allowed on /fs: 403); *reason is a short code for metrics and logs ("missing",
 * "scheme", "malformed", "bad_credentials", "tenant_token", or a JWT reason).
 * client receives the caller's id (Basic user name or the token's sub). */
int auth_fs(const auth_t *a, const char *header, char *client, size_t cap, const char **reason);
/* Bearer for /api/...: 0, or -EACCES with *reason (the HTTP layer answers
 * 401); claims filled on success. */
int auth_api(const auth_t *a, const char *header, auth_jwt_claims_t *claims, const char **reason);

const auth_jwt_key_t *auth_key(const auth_t *a);

#endif
