/* Connection tracking (conn.h). */
#include "conn.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "metrics.h"
#include "util.h"

#define BUCKETS 1024

typedef struct conn {
    struct conn *next; /* hash chain, keyed by bufferevent */
    conn_table_t *t;
    struct bufferevent *bev;
    uint64_t since_us; /* accepted, or last answer sent */
    bool busy;         /* a request is being answered: never cut it */
    bool refused;      /* over the limit */
    bool cut;
    void (*on_close)(void *arg);
    void *on_close_arg;
} conn_t;

struct conn_table {
    conn_t *slots[BUCKETS];
    atomic_int *total;
    int max;
    uint64_t limit_us;
    struct event *sweep;
};

static size_t slot_of(const void *bev)
{
    return ((uintptr_t)bev >> 4) % BUCKETS;
}

static conn_t *find(conn_table_t *t, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (t == NULL || bev == NULL)
        return NULL;
    for (conn_t *c = t->slots[slot_of(bev)]; c; c = c->next)
        if (c->bev == bev)
            return c;
    return NULL;
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    conn_table_t *t = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    W3_CHECK_ALLOC(bev);
    bufferevent_incref(bev); /* ours, dropped by the sweep */
    conn_t *c = xcalloc(1, sizeof(*c));
    c->t = t;
    c->bev = bev;
    c->since_us = w3_now_us();
    if (atomic_fetch_add(t->total, 1) >= t->max) {
        c->refused = true;
        METRICS_INC(connections_refused);
    }
    size_t slot = slot_of(bev);
    c->next = t->slots[slot];
    t->slots[slot] = c;
    atomic_fetch_add_explicit(&metrics.connections_open, 1, memory_order_relaxed);
    return bev;
}

static void release(conn_table_t *t, conn_t *c)
{
    bufferevent_decref(c->bev);
    atomic_fetch_sub(t->total, 1);
    atomic_fetch_sub_explicit(&metrics.connections_open, 1, memory_order_relaxed);
    free(c);
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_table_t *t = arg;
    uint64_t now = w3_now_us();
    for (size_t i = 0; i < BUCKETS; i++) {
        for (conn_t **p = &t->slots[i]; *p;) {
            conn_t *c = *p;
            bufferevent_data_cb readcb = NULL, writecb = NULL;
            bufferevent_event_cb eventcb = NULL;
            bufferevent_getcb(c->bev, &readcb, &writecb, &eventcb, NULL);
            /* bufferevent_free() clears every callback; while evhttp waits
             * for a reply it only clears the read one */
            if (readcb == NULL && writecb == NULL && eventcb == NULL) {
                *p = c->next;
                release(t, c);
                continue;
            }
            if (!c->busy && !c->cut && (c->refused || now - c->since_us > t->limit_us)) {
                evutil_socket_t sfd = bufferevent_getfd(c->bev);
                if (sfd >= 0)
                    shutdown(sfd, SHUT_RDWR);
                c->cut = true;
                if (!c->refused)
                    METRICS_INC(connections_cut);
            }
            p = &c->next;
        }
    }
}

conn_table_t *conn_table_create(struct event_base *base, struct evhttp *http, atomic_int *total, int max,
                                double request_timeout_s)
{
    conn_table_t *t = xcalloc(1, sizeof(*t));
    t->total = total;
    t->max = max;
    t->limit_us = (uint64_t)(request_timeout_s * 1e6);
    t->sweep = event_new(base, -1, EV_PERSIST, sweep, t);
    W3_CHECK_ALLOC(t->sweep);
    struct timeval every = {0, 200 * 1000};
    event_add(t->sweep, &every);
    evhttp_set_bevcb(http, on_new_conn, t);
    return t;
}

void conn_table_destroy(conn_table_t *t)
{
    if (t == NULL)
        return;
    event_free(t->sweep);
    for (size_t k = 0; k < BUCKETS; k++)
        while (t->slots[k]) {
            conn_t *c = t->slots[k];
            t->slots[k] = c->next;
            release(t, c);
        }
    free(t);
}

bool conn_begin(conn_table_t *t, struct evhttp_request *req)
{
    conn_t *c = find(t, req);
    if (c == NULL)
        return true;
    c->busy = true;
    return !c->refused;
}

void conn_end(conn_table_t *t, struct evhttp_request *req)
{
    conn_t *c = find(t, req);
    if (c == NULL)
        return;
    c->busy = false;
    c->since_us = w3_now_us();
    c->on_close = NULL;
}

static void closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    conn_t *c = arg;
    if (c->on_close)
        c->on_close(c->on_close_arg);
    c->on_close = NULL;
}

bool conn_watch(conn_table_t *t, struct evhttp_request *req, void (*on_close)(void *arg), void *arg)
{
    conn_t *c = find(t, req);
    if (c == NULL)
        return false;
    c->on_close = on_close;
    c->on_close_arg = arg;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), closed, c);
    return true;
}
