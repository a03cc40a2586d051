/* Connection tracking of one worker. libevent 2.1.12 has neither a
 * connection limit nor a request deadline (a client trickling a byte every
 * 0.5 s outlives any idle timeout). Every connection's bufferevent is created
 * here (evhttp_set_bevcb): the socket (or TLS, tls.h), watched by the
 * strict framing check (framing.h), and tracked with an extra reference.
 * A periodic sweep
 *  - reaps the ones evhttp has let go (freeing clears all their callbacks),
 *  - counts each connection against its client address
 *    (--max-connections-per-ip, peers.h) and cuts those past it,
 *  - cuts the ones that have not sent a complete request within
 *    --header-timeout (since accepted, or since the request's first byte),
 *  - and the ones idle past --request-timeout since they were accepted or
 *    last answered, unless a request is being answered.
 * A connection accepted past --max-connections closes the oldest one of the
 * worker that is not being answered; when every one is, the newcomer is cut
 * (answered 503 if it sends a request first).
 *
 * Ownership: conn_table_create() returns a table owned by the caller, freed
 * by conn_table_destroy() (NULL is fine) after every evhttp attached to it
 * and before the event base. */
#ifndef W3_CONN_H
#define W3_CONN_H

#include <event2/http.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "peers.h"

typedef struct conn_table conn_table_t;
struct tls;

typedef struct conn_opts {
    atomic_int *total; /* the connections of every worker (shared limit) */
    int max;
    double request_timeout_s;
    double header_timeout_s;
    peers_t *peers;        /* shared by the workers */
    atomic_int *receiving; /* requests begun, not yet dispatched (framing.h) */
} conn_opts_t;

conn_table_t *conn_table_create(struct event_base *base, const conn_opts_t *o);
/* Connections of http are created by this table; over TLS when tls is not
 * NULL. */
void conn_table_attach(conn_table_t *t, struct evhttp *http, struct tls *tls);
void conn_table_destroy(conn_table_t *t);
/* true while a live connection has answer bytes not yet written out. */
bool conn_table_unsent(conn_table_t *t);

/* A request starts on req's connection: its deadline waits. false when the
 * connection is over the limit (the caller answers 503). */
bool conn_begin(conn_table_t *t, struct evhttp_request *req);
/* The request was answered: the deadline starts again. */
void conn_end(conn_table_t *t, struct evhttp_request *req);
/* See req_conn_watch(). */
bool conn_watch(conn_table_t *t, struct evhttp_request *req, void (*on_close)(void *arg), void *arg);
/* true when req came over TLS with a client certificate that verified
 * against --tls-client-ca. */
bool conn_client_verified(conn_table_t *t, struct evhttp_request *req);

#endif
