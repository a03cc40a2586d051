/* Listening sockets and the descriptor budget (listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define PAUSE_MS 100
#define LOG_EVERY_US (10 * 1000 * 1000ull)

struct listen_guard {
    struct listen_guard *next;
    struct evconnlistener *l;
    struct event *resume;
    uint64_t logged_us;
    unsigned long paused; /* since the last log line */
};

/* evconnlistener's error callback gets evhttp's argument, not ours: the
 * guards are found by their listener. */
static pthread_mutex_t guards_lock = PTHREAD_MUTEX_INITIALIZER;
static listen_guard_t *guards;

static listen_guard_t *guard_of(struct evconnlistener *l)
{
    pthread_mutex_lock(&guards_lock);
    listen_guard_t *g = guards;
    while (g && g->l != l)
        g = g->next;
    pthread_mutex_unlock(&guards_lock);
    return g;
}

static char *errf(const char *fmt, const char *a, const char *b)
{
    w3_buf_t buf = {0};
    w3_buf_printf(&buf, fmt, a, b);
    return buf.data;
}

evutil_socket_t listen_socket(const char *host, int port, char **err)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &ai);
    if (gai != 0) {
        *err = errf("bad listen address %s: %s", host, gai_strerror(gai));
        return -1;
    }
    evutil_socket_t fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        *err = errf("cannot listen on %s: %s", host, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

int listen_port_of(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -errno;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int listen_fd_budget(int want, int reserved)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    long room = rl.rlim_cur == RLIM_INFINITY ? (long)want + reserved : (long)rl.rlim_cur;
    long fit = room - reserved;
    if (fit < 8)
        fit = 8;
    int max = want < fit ? want : (int)fit;
    char limit[24], got[24], asked[24];
    snprintf(limit, sizeof(limit), "%ld", room);
    snprintf(got, sizeof(got), "%d", max);
    snprintf(asked, sizeof(asked), "%d", want);
    if (max < want)
        log_warn("--max-connections lowered to what the open-file limit leaves", "nofile", limit, "max_connections",
                 got, "asked", asked, NULL);
    else
        log_info("open-file limit", "nofile", limit, "max_connections", got, NULL);
    return max;
}

static void resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    listen_guard_t *g = arg;
    evconnlistener_enable(g->l);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)arg;
    int e = EVUTIL_SOCKET_ERROR();
    listen_guard_t *g = guard_of(l);
    /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the socket stays readable, and
     * retrying at once spins */
    evconnlistener_disable(l);
    if (g == NULL)
        return;
    struct timeval tv = {0, PAUSE_MS * 1000};
    evtimer_add(g->resume, &tv);
    g->paused++;
    uint64_t now = w3_now_us();
    if (g->logged_us == 0 || now - g->logged_us >= LOG_EVERY_US) {
        char n[24];
        snprintf(n, sizeof(n), "%lu", g->paused);
        log_warn("accept failed: listener paused 100 ms", "error", strerror(e), "pauses", n, NULL);
        g->logged_us = now;
        g->paused = 0;
    }
}

listen_guard_t *listen_guard_create(struct event_base *base, struct evhttp_bound_socket *bound)
{
    listen_guard_t *g = xcalloc(1, sizeof(*g));
    g->l = evhttp_bound_socket_get_listener(bound);
    g->resume = evtimer_new(base, resume, g);
    W3_CHECK_ALLOC(g->resume);
    pthread_mutex_lock(&guards_lock);
    g->next = guards;
    guards = g;
    pthread_mutex_unlock(&guards_lock);
    evconnlistener_set_error_cb(g->l, on_accept_error);
    return g;
}

void listen_guard_destroy(listen_guard_t *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&guards_lock);
    for (listen_guard_t **p = &guards; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
    pthread_mutex_unlock(&guards_lock);
    evconnlistener_set_error_cb(g->l, NULL);
    event_free(g->resume);
    free(g);
}
