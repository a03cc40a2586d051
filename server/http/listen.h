/* Listening sockets and the file-descriptor budget.
 *
 * At start the soft RLIMIT_NOFILE is raised to the hard limit and
 * --max-connections is lowered below what the server's own descriptors
 * leave. When accept() fails for want of descriptors or memory (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM) the listener pauses 100 ms instead of spinning
 * on the ready socket, and says so at most once every 10 s.
 *
 * Ownership: listen_guard_create() returns a guard freed by
 * listen_guard_destroy() (NULL is fine) before its listener is removed
 * (evhttp_del_accept_socket, evhttp_free) and its event base. */
#ifndef W3_LISTEN_H
#define W3_LISTEN_H

#include <event2/http.h>
#include <event2/util.h>

typedef struct listen_guard listen_guard_t;

/* A bound, listening, non-blocking socket, or -1 with *err. */
evutil_socket_t listen_socket(const char *host, int port, char **err);
/* The port fd is bound to, or -errno. */
int listen_port_of(evutil_socket_t fd);
/* Raises the soft descriptor limit; returns the connection limit that fits
 * (at most want) when `reserved` descriptors are the server's own. */
int listen_fd_budget(int want, int reserved);
listen_guard_t *listen_guard_create(struct event_base *base, struct evhttp_bound_socket *bound);
void listen_guard_destroy(listen_guard_t *g);

#endif
