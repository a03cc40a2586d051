/* TLS for the --tls-listen listener (OpenSSL 3, TLS 1.2 and 1.3 only):
 * the certificate and key, and with --tls-client-ca a request for a client
 * certificate (not a requirement: /healthz, /readyz, /metrics and /api/...
 * need none; /fs/... is served only to a certificate that verified, see
 * req_auth_fs). tls_reload() re-reads the files (SIGHUP): new connections
 * use them, open ones keep theirs.
 *
 * Ownership: tls_create() returns a context freed by tls_destroy() (NULL is
 * fine) after every connection using it; tls_bufferevent_new() returns a
 * bufferevent owning its SSL and its socket (BEV_OPT_CLOSE_ON_FREE). */
#ifndef W3_TLS_H
#define W3_TLS_H

#include <event2/bufferevent.h>
#include <stdbool.h>

typedef struct tls tls_t;

/* NULL with *err (malloc'd) when a file is unusable. client_ca may be NULL. */
tls_t *tls_create(const char *cert, const char *key, const char *client_ca, char **err);
void tls_destroy(tls_t *t);
/* 0, or -EINVAL with *err: the files in use stay as they were. */
int tls_reload(tls_t *t, char **err);
/* A server-side TLS bufferevent for an accepted socket set later (fd -1). */
struct bufferevent *tls_bufferevent_new(tls_t *t, struct event_base *base);
/* true when the peer of bev (from tls_bufferevent_new) presented a
 * certificate that verified against the client CA. */
bool tls_peer_verified(struct bufferevent *bev);

#endif
