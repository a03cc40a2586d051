/* bench_bare: "the limit" of the benchmark. A bare libevent evhttp server
 * built like server/http/srv.c (N worker threads, each with its own event_base,
 * its own evhttp and its own SO_REUSEPORT listening socket on the same port)
 * that answers every request with the same fixed 1 KB XML document: no
 * authentication, no form parsing, no database, no logging. Whatever
 * w3voipd does on top of this costs the difference.
 *
 *   bench_bare [--listen HOST:PORT] [--workers N] [--port-file FILE]
 *
 * Port 0 picks a free port (written to --port-file). SIGTERM/SIGINT stop it. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DOC_BYTES 1024

typedef struct worker {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    evutil_socket_t fd;
} worker_t;

static char doc[DOC_BYTES + 1];

/* A FreeSWITCH-looking not-found-sized directory document, padded to exactly
 * DOC_BYTES bytes (one element per line, like w3voipd's answers). */
static void make_doc(void)
{
    const char *head = "<document type=\"freeswitch/xml\">\n"
                       "  <section name=\"directory\">\n"
                       "    <domain name=\"tenantA.edvoip.it\">\n"
                       "      <groups>\n"
                       "        <group name=\"default\">\n"
                       "          <users>\n"
                       "            <user id=\"100\">\n"
                       "              <params>\n"
                       "                <param name=\"a1-hash\" value=\"f86e925a96764ca893418337f6bf132c\"/>\n"
                       "              </params>\n"
                       "              <variables>\n";
    const char *tail = "              </variables>\n"
                       "            </user>\n"
                       "          </users>\n"
                       "        </group>\n"
                       "      </groups>\n"
                       "    </domain>\n"
                       "  </section>\n"
                       "</document>\n";
    size_t n = (size_t)snprintf(doc, sizeof(doc), "%s", head);
    size_t tl = strlen(tail);
    const char *pad = "                <variable name=\"pad\" value=\"x\"/>\n";
    while (n + strlen(pad) + tl <= DOC_BYTES)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s", pad);
    /* fill the last few bytes inside a comment line so the size is exact */
    size_t left = DOC_BYTES - n - tl;
    if (left >= 8) {
        memcpy(doc + n, "<!--", 4);
        memset(doc + n + 4, '-', left - 8);
        memcpy(doc + n + left - 4, "-->\n", 4);
        n += left;
    } else {
        memset(doc + n, '\n', left);
        n += left;
    }
    memcpy(doc + n, tail, tl);
    doc[DOC_BYTES] = '\0';
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    evbuffer_drain(in, evbuffer_get_length(in));
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "text/xml");
    evhttp_add_header(out, "Cache-Control", "no-store");
    struct evbuffer *body = evhttp_request_get_output_buffer(req);
    evbuffer_add_reference(body, doc, DOC_BYTES, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static evutil_socket_t listen_on(const char *host, int port)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &ai) != 0)
        return -1;
    evutil_socket_t fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int bound_port(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: bench_bare [--listen HOST:PORT] [--workers N] [--port-file FILE]\n"
               "Bare evhttp server answering a fixed 1 KB XML to every request (benchmark limit).\n");
}

int main(int argc, char **argv)
{
    char host[256] = "127.0.0.1";
    int port = 0;
    long nworkers = sysconf(_SC_NPROCESSORS_ONLN);
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--listen") == 0 && v) {
            const char *colon = strrchr(v, ':');
            if (colon == NULL || (size_t)(colon - v) >= sizeof(host)) {
                usage(stderr);
                return 2;
            }
            memcpy(host, v, (size_t)(colon - v));
            host[colon - v] = '\0';
            port = atoi(colon + 1);
            i++;
        } else if (strcmp(a, "--workers") == 0 && v) {
            nworkers = atol(v);
            i++;
        } else if (strcmp(a, "--port-file") == 0 && v) {
            port_file = v;
            i++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (nworkers < 1 || nworkers > 256) {
        fprintf(stderr, "bench_bare: --workers must be between 1 and 256\n");
        return 2;
    }
    make_doc();
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();

    /* block the stop signals in every thread; main waits for them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    worker_t *ws = calloc((size_t)nworkers, sizeof(*ws));
    if (ws == NULL)
        return 1;
    int bound = port;
    for (long i = 0; i < nworkers; i++) {
        worker_t *w = &ws[i];
        w->fd = listen_on(host, i == 0 ? port : bound);
        if (w->fd < 0) {
            fprintf(stderr, "bench_bare: cannot listen on %s:%d: %s\n", host, i == 0 ? port : bound, strerror(errno));
            return 1;
        }
        if (i == 0)
            bound = bound_port(w->fd);
        w->base = event_base_new();
        w->http = w->base ? evhttp_new(w->base) : NULL;
        if (w->http == NULL) {
            fprintf(stderr, "bench_bare: cannot create an event loop\n");
            return 1;
        }
        evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
        evhttp_set_max_body_size(w->http, 4 * 1024 * 1024);
        evhttp_set_max_headers_size(w->http, 64 * 1024);
        evhttp_set_timeout(w->http, 5);
        evhttp_set_gencb(w->http, on_request, w);
        if (evhttp_accept_socket_with_handle(w->http, w->fd) == NULL) {
            fprintf(stderr, "bench_bare: cannot accept on the listening socket\n");
            return 1;
        }
    }
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f == NULL || fprintf(f, "%d\n", bound) < 0 || fclose(f) != 0) {
            fprintf(stderr, "bench_bare: cannot write %s\n", port_file);
            return 1;
        }
    }
    for (long i = 0; i < nworkers; i++)
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "bench_bare: cannot start a worker thread\n");
            return 1;
        }
    fprintf(stderr, "bench_bare: listening on %s:%d, %ld workers, %d-byte answer\n", host, bound, nworkers, DOC_BYTES);

    int sig = 0;
    sigwait(&stop, &sig);
    for (long i = 0; i < nworkers; i++)
        event_base_loopbreak(ws[i].base);
    for (long i = 0; i < nworkers; i++) {
        pthread_join(ws[i].thread, NULL);
        evhttp_free(ws[i].http);
        event_base_free(ws[i].base);
    }
    free(ws);
    return 0;
}
