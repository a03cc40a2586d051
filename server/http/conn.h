/* Connection tracking of one worker. libevent 2.1.12 has neither a
 * connection limit nor a request deadline (a client trickling a byte every
 * 0.5 s outlives any idle timeout). Every connection's bufferevent is created
 * here (evhttp_set_bevcb) and tracked with an extra reference; a periodic
 * sweep then
 *  - reaps the ones evhttp has let go (freeing clears all their callbacks),
 *  - shuts down the ones idle past --request-timeout since they were accepted
 *    or last answered, unless a request is being answered,
 *  - and cuts the ones accepted past --max-connections (answered 503 if they
 *    send a request first).
 *
 * Ownership: conn_table_create() returns a table owned by the caller, freed
 * by conn_table_destroy() (NULL is fine) before the event base. */
#ifndef W3_CONN_H
#define W3_CONN_H

#include <event2/http.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct conn_table conn_table_t;

/* total counts the connections of every worker (shared limit). */
conn_table_t *conn_table_create(struct event_base *base, struct evhttp *http, atomic_int *total, int max,
                                double request_timeout_s);
void conn_table_destroy(conn_table_t *t);

/* A request starts on req's connection: its deadline waits. false when the
 * connection is over the limit (the caller answers 503). */
bool conn_begin(conn_table_t *t, struct evhttp_request *req);
/* The request was answered: the deadline starts again. */
void conn_end(conn_table_t *t, struct evhttp_request *req);
/* See req_conn_watch(). */
bool conn_watch(conn_table_t *t, struct evhttp_request *req, void (*on_close)(void *arg), void *arg);

#endif
