/* bench_bare: "the limit" of the benchmark. A bare libevent evhttp server
 * built like server/http/srv.c (N worker threads, each with its own event_base,
 * its own evhttp and its own SO_REUSEPORT listening socket on the same port)
 * that answers every request with the same fixed 1 KB XML document: no
 * authentication, no form parsing, no database, no logging. Whatever
 * w3voipd does on top of this costs the difference.
 *
 * POST /fs/cdr is the limit of the CDR ingest: the whole body is copied out
 * of the evbuffer into memory of its own (as w3voipd does) and read once,
 * then the answer is a 201 with a JSON of the shape and size of w3voipd's
 * (status, leg, call_id = the uuid query value, attributed, id, tenant_id),
 * so that fs_post.lua's acked= option works against both servers. No JSON
 * parsing, no database, no fsync.
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
    unsigned long long cdrs; /* CDRs answered: the "id" of the next answer */
    unsigned long long sink; /* what reading the bodies added up to */
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

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "text/plain");
    evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
    evhttp_send_reply(req, code, reason, NULL);
}

/* the value of uuid= in the query, if it is 1..64 characters of [0-9a-zA-Z-]
 * (copied into out, so it can go into the JSON as it is) */
static int query_uuid(struct evhttp_request *req, char *out, size_t outsz)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    for (const char *p = q; p != NULL; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "uuid=", 5) != 0)
            continue;
        size_t n = 0;
        for (p += 5; p[n] != '\0' && p[n] != '&'; n++) {
            char c = p[n];
            if (n + 1 >= outsz ||
                !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
                return -1;
            out[n] = c;
        }
        out[n] = '\0';
        return n > 0 ? 0 : -1;
    }
    return -1;
}

/* POST /fs/cdr: read the body, answer 201 like w3voipd's stored CDR */
static void on_cdr(struct evhttp_request *req, worker_t *w)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char uuid[65];
    if (len == 0 || query_uuid(req, uuid, sizeof(uuid)) != 0) {
        evbuffer_drain(in, len);
        reply_text(req, 400, "Bad Request", "expected a CDR body and ?uuid=\n");
        return;
    }
    char *body = malloc(len + 1);
    if (body == NULL) {
        evbuffer_drain(in, len);
        reply_text(req, 503, "Service Unavailable", "out of memory\n");
        return;
    }
    if (evbuffer_remove(in, body, len) != (int)len) {
        free(body);
        reply_text(req, 500, "Internal Server Error", "cannot read the body\n");
        return;
    }
    body[len] = '\0';
    /* touch every byte (a JSON parser reads them all at least once) */
    unsigned long long sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = sum * 31 + (unsigned char)body[i];
    free(body);
    w->sink += sum;
    w->cdrs++;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evbuffer_add_printf(evhttp_request_get_output_buffer(req),
                        "{\"status\":\"stored\",\"leg\":\"A\",\"call_id\":\"%s\",\"attributed\":true,\"id\":%llu,"
                        "\"tenant_id\":\"a0000000-0000-4000-8000-00000000000a\"}",
                        uuid, w->cdrs);
    evhttp_send_reply(req, 201, "Created", NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    worker_t *w = arg;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
        if (path != NULL && strcmp(path, "/fs/cdr") == 0) {
            on_cdr(req, w);
            return;
        }
    }
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
               "Bare evhttp server answering a fixed 1 KB XML to every request (benchmark limit);\n"
               "POST /fs/cdr reads the body and answers 201 with a small JSON (the CDR ingest limit).\n");
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
    unsigned long long cdrs = 0, sink = 0;
    for (long i = 0; i < nworkers; i++) {
        pthread_join(ws[i].thread, NULL);
        cdrs += ws[i].cdrs;
        sink += ws[i].sink;
        evhttp_free(ws[i].http);
        event_base_free(ws[i].base);
    }
    if (cdrs > 0)
        fprintf(stderr, "bench_bare: %llu CDRs answered (body checksum %llx)\n", cdrs, sink);
    free(ws);
    return 0;
}
