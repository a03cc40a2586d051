/* Connection tracking (conn.h). */
#include "conn.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "framing.h"
#include "metrics.h"
#include "tls.h"
#include "util.h"

#define BUCKETS 1024

typedef struct conn {
    struct conn *next; /* hash chain, keyed by bufferevent */
    conn_table_t *t;
    struct bufferevent *bev; /* the socket or TLS bufferevent */
    framing_t *fr;
    bool tls;
    uint64_t since_us; /* accepted, or last answer sent */
    bool busy;         /* a request is being answered: never cut it */
    bool refused;      /* over a limit */
    bool cut;
    char peer[INET6_ADDRSTRLEN]; /* counted in peers once known */
    void (*on_close)(void *arg);
    void *on_close_arg;
    bool gone;              /* evhttp closed it: its counts are given back at once */
    bool reaping;           /* on the table's reap list */
    struct conn *reap_next; /* that list */
} conn_t;

typedef struct attachment {
    struct attachment *next;
    conn_table_t *t;
    struct tls *tls;
} attachment_t;

struct conn_table {
    conn_t *slots[BUCKETS];
    conn_opts_t o;
    uint64_t limit_us, header_us;
    struct event *sweep;
    struct event *reap; /* releases what evhttp closed, once it is done */
    conn_t *reap_list;
    attachment_t *attached;
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

static void cut(conn_t *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR); /* evhttp sees the end and frees it */
    c->cut = true;
}

/* Gives back what an open connection counts (once). */
static void uncount(conn_table_t *t, conn_t *c)
{
    if (c->gone)
        return;
    c->gone = true;
    if (c->peer[0])
        peers_release(t->o.peers, c->peer);
    c->peer[0] = '\0';
    atomic_fetch_sub(t->o.total, 1);
    atomic_fetch_sub_explicit(&metrics.connections_open, 1, memory_order_relaxed);
}

static void release(conn_table_t *t, conn_t *c)
{
    framing_destroy(c->fr);
    bufferevent_decref(c->bev);
    uncount(t, c);
    free(c);
}

/* Over --max-connections: the oldest connection not being answered goes. */
static bool evict_oldest(conn_table_t *t)
{
    conn_t *oldest = NULL;
    for (size_t i = 0; i < BUCKETS; i++)
        for (conn_t *c = t->slots[i]; c; c = c->next)
            if (!c->busy && !c->cut && !c->gone && (oldest == NULL || c->since_us < oldest->since_us))
                oldest = c;
    if (oldest == NULL)
        return false;
    cut(oldest);
    return true;
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    attachment_t *a = arg;
    conn_table_t *t = a->t;
    conn_t *c = xcalloc(1, sizeof(*c));
    c->t = t;
    c->tls = a->tls != NULL;
    c->bev = a->tls ? tls_bufferevent_new(a->tls, base) : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    W3_CHECK_ALLOC(c->bev);
    bufferevent_incref(c->bev); /* ours, dropped by the sweep */
    c->fr = framing_attach(c->bev, t->o.receiving);
    c->since_us = w3_now_us();
    if (atomic_fetch_add(t->o.total, 1) >= t->o.max) {
        METRICS_INC(connections_refused);
        if (!evict_oldest(t))
            c->refused = true;
    }
    size_t slot = slot_of(c->bev);
    c->next = t->slots[slot];
    t->slots[slot] = c;
    atomic_fetch_add_explicit(&metrics.connections_open, 1, memory_order_relaxed);
    return c->bev;
}

/* Counts c against its address once its socket is known: known (the
 * numeric address evhttp wrote at accept) when a request is there, else
 * asked of the socket. */
static void count_peer(conn_table_t *t, conn_t *c, struct evhttp_request *req)
{
    if (c->peer[0] || c->cut || c->gone)
        return;
    char *known = NULL;
    ev_uint16_t port = 0;
    if (req)
        evhttp_connection_get_peer(evhttp_request_get_connection(req), &known, &port);
    if (known && *known) {
        if (!w3_strlcpy(c->peer, known, sizeof(c->peer))) {
            c->peer[0] = '\0';
            return;
        }
    } else {
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
            return;
        const void *addr = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                                    : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        if (inet_ntop(ss.ss_family, addr, c->peer, sizeof(c->peer)) == NULL) {
            c->peer[0] = '\0';
            return;
        }
    }
    if (!peers_acquire(t->o.peers, c->peer) && !c->refused) {
        c->refused = true;
        METRICS_INC(connections_refused);
    }
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
            if (c->reaping) { /* the reap event has it */
                p = &c->next;
                continue;
            }
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
            p = &c->next;
            count_peer(t, c, NULL);
            if (c->busy || c->cut)
                continue;
            uint64_t since = 0;
            bool waiting = framing_waiting(c->fr, &since);
            if (c->refused) {
                cut(c);
            } else if ((waiting && now - since > t->header_us) || now - c->since_us > t->limit_us) {
                cut(c);
                METRICS_INC(connections_cut);
            }
        }
    }
}

/* Runs after the loop iteration in which evhttp freed these connections:
 * our reference is the last one, so the socket closes now, not at the
 * next sweep. */
static void reap(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_table_t *t = arg;
    while (t->reap_list) {
        conn_t *c = t->reap_list;
        t->reap_list = c->reap_next;
        for (conn_t **p = &t->slots[slot_of(c->bev)]; *p; p = &(*p)->next)
            if (*p == c) {
                *p = c->next;
                break;
            }
        release(t, c);
    }
}

conn_table_t *conn_table_create(struct event_base *base, const conn_opts_t *o)
{
    conn_table_t *t = xcalloc(1, sizeof(*t));
    t->o = *o;
    t->limit_us = (uint64_t)(o->request_timeout_s * 1e6);
    t->header_us = (uint64_t)(o->header_timeout_s * 1e6);
    t->sweep = event_new(base, -1, EV_PERSIST, sweep, t);
    W3_CHECK_ALLOC(t->sweep);
    t->reap = event_new(base, -1, 0, reap, t);
    W3_CHECK_ALLOC(t->reap);
    struct timeval every = {0, 200 * 1000};
    event_add(t->sweep, &every);
    return t;
}

void conn_table_attach(conn_table_t *t, struct evhttp *http, struct tls *tls)
{
    attachment_t *a = xcalloc(1, sizeof(*a));
    a->t = t;
    a->tls = tls;
    a->next = t->attached;
    t->attached = a;
    evhttp_set_bevcb(http, on_new_conn, a);
}

void conn_table_destroy(conn_table_t *t)
{
    if (t == NULL)
        return;
    event_free(t->sweep);
    event_free(t->reap);
    t->reap_list = NULL; /* every one of them is in the slots */
    for (size_t k = 0; k < BUCKETS; k++)
        while (t->slots[k]) {
            conn_t *c = t->slots[k];
            t->slots[k] = c->next;
            release(t, c);
        }
    while (t->attached) {
        attachment_t *a = t->attached;
        t->attached = a->next;
        free(a);
    }
    free(t);
}

bool conn_table_unsent(conn_table_t *t)
{
    for (size_t i = 0; t && i < BUCKETS; i++)
        for (conn_t *c = t->slots[i]; c; c = c->next) {
            bufferevent_data_cb readcb = NULL, writecb = NULL;
            bufferevent_event_cb eventcb = NULL;
            bufferevent_getcb(c->bev, &readcb, &writecb, &eventcb, NULL);
            bool live = readcb || writecb || eventcb;
            if (live && !c->cut && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
                return true;
        }
    return false;
}

/* evhttp frees a connection (closed by either side): a client that opens
 * one connection per request (FreeSWITCH) must not count against the
 * limits until the next sweep. */
static void closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    conn_t *c = arg;
    uncount(c->t, c);
    if (c->on_close)
        c->on_close(c->on_close_arg);
    c->on_close = NULL;
    /* evhttp frees its bufferevent next; ours stays until the reap: it
     * must not wake for the peer's end of the stream meanwhile */
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    if (!c->reaping) {
        c->reaping = true;
        c->reap_next = c->t->reap_list;
        c->t->reap_list = c;
        event_active(c->t->reap, EV_TIMEOUT, 1);
    }
}

bool conn_begin(conn_table_t *t, struct evhttp_request *req)
{
    conn_t *c = find(t, req);
    if (c == NULL)
        return true;
    count_peer(t, c, req);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), closed, c);
    framing_dispatched(c->fr);
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

bool conn_client_verified(conn_table_t *t, struct evhttp_request *req)
{
    conn_t *c = find(t, req);
    return c && c->tls && tls_peer_verified(c->bev);
}
