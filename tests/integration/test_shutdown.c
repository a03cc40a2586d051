/* Shutdown in order: SIGTERM under CDR and API load on keep-alive
 * connections. The listeners close, the requests in flight are answered,
 * the worker loops stop, and only then the writer (a request reaching a
 * destroyed writer is a use after free: under ASan the exit status shows
 * it; with --shutdown-grace 0 the old order failed 3 runs in 5). Every CDR
 * answered 201 is in the database. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

static h_server_t srv;
static char *cdr_body;
static char *token;
static atomic_int stored, answered, bad_status, gone;

/* Sends req on a keep-alive connection and reads one answer; its status,
 * or -1 when the connection ended. *closing: the answer said Connection: close. */
static int exchange(int fd, const char *req, size_t len, bool *closing)
{
    if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    char buf[8192];
    size_t have = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (end && cl && cl < end) {
            size_t body = strtoul(cl + 17, NULL, 10);
            if (have >= (size_t)(end + 4 - buf) + body) {
                *closing = strcasestr(buf, "\r\nConnection: close") != NULL;
                return atoi(buf + 9);
            }
        }
        if (have == sizeof(buf) - 1)
            return -1;
    }
}

static atomic_bool run;

static void *cdr_poster(void *arg)
{
    int id = (int)(intptr_t)arg;
    int seq = 0;
    while (atomic_load(&run)) {
        int fd = h_connect(srv.port);
        if (fd < 0) {
            atomic_fetch_add(&gone, 1);
            return NULL; /* the listener is closed */
        }
        bool closing = false;
        while (!closing) {
            char uuid[64];
            snprintf(uuid, sizeof(uuid), "5d000000-0000-4000-%04d-%012d", id, seq++);
            w3_buf_t b = {0}, req = {0};
            const char *orig = "df2ca423-c52d-4e77-9e81-2211975e94c9"; /* every copy of the call's uuid */
            for (const char *p = cdr_body, *at; *p; p = at + strlen(orig)) {
                at = strstr(p, orig);
                if (at == NULL) {
                    w3_buf_adds(&b, p);
                    break;
                }
                w3_buf_add(&b, p, (size_t)(at - p));
                w3_buf_adds(&b, uuid);
            }
            w3_buf_printf(&req,
                          "POST /fs/cdr HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ZnNub2RlOnNlY3JldA==\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                          b.len);
            w3_buf_add(&req, b.data, b.len);
            int st = exchange(fd, req.data, req.len, &closing);
            w3_buf_free(&b);
            w3_buf_free(&req);
            if (st < 0)
                break;
            atomic_fetch_add(&answered, 1);
            if (st == 201)
                atomic_fetch_add(&stored, 1);
            else if (st != 503)
                atomic_fetch_add(&bad_status, 1);
        }
        close(fd);
    }
    return NULL;
}

static void *api_getter(void *arg)
{
    (void)arg;
    while (atomic_load(&run)) {
        int fd = h_connect(srv.port);
        if (fd < 0)
            return NULL;
        bool closing = false;
        w3_buf_t req = {0};
        w3_buf_printf(&req,
                      "GET /api/voip/extensions/by-number?sip_domain=tenantA.edvoip.it&ext=100 HTTP/1.1\r\n"
                      "Host: x\r\nAuthorization: Bearer %s\r\n\r\n",
                      token);
        while (!closing) {
            int st = exchange(fd, req.data, req.len, &closing);
            if (st < 0)
                break;
            atomic_fetch_add(&answered, 1);
            if (st != 200 && st != 503)
                atomic_fetch_add(&bad_status, 1);
        }
        w3_buf_free(&req);
        close(fd);
    }
    return NULL;
}

static long long cdr_rows(void)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"SELECT count(*) FROM voip_cdr WHERE call_id LIKE '5d000000-%%'\"",
             srv.db);
    long long n = h_run(cmd, &out) == 0 && out ? atoll(out) : -1;
    free(out);
    return n;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    cdr_body = h_capture("cdr-json-a-leg.json", NULL);
    const char *extra[] = {"--workers", "4", "--shutdown-grace", "0", NULL};
    if (!ok(h_server_start(&srv, NULL, extra) == 0, "server started")) {
        free(cdr_body);
        return tap_done();
    }
    token = h_token(&srv, NULL, NULL);
    enum { CDR_T = 24, API_T = 8 };
    pthread_t th[CDR_T + API_T];
    atomic_store(&run, true);
    for (int i = 0; i < CDR_T; i++)
        pthread_create(&th[i], NULL, cdr_poster, (void *)(intptr_t)i);
    for (int i = 0; i < API_T; i++)
        pthread_create(&th[CDR_T + i], NULL, api_getter, NULL);
    struct timespec ts = {0, 700 * 1000000L};
    nanosleep(&ts, NULL);
    int before = atomic_load(&answered);
    kill(srv.pid, SIGTERM);
    nanosleep(&ts, NULL);
    atomic_store(&run, false);
    for (int i = 0; i < CDR_T + API_T; i++)
        pthread_join(th[i], NULL);
    ok(before > 50, "the load was running when SIGTERM came (%d answers)", before);
    int st = 0;
    while (waitpid(srv.pid, &st, 0) < 0 && errno == EINTR)
        ;
    srv.pid = 0; /* reaped here: h_server_stop only cleans up */
    is_int(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), 0,
           "w3voipd exited 0 after SIGTERM under load (ASan would make it non-zero)");
    is_int(atomic_load(&bad_status), 0, "every answer was a success or 503 (no 500, no error of a freed writer)");
    long long rows = cdr_rows();
    ok(rows > 0, "CDRs were stored (%lld)", rows);
    is_int(rows, atomic_load(&stored), "every CDR answered 201 is in the database, and nothing else");
    char *log = NULL;
    w3_read_file(srv.log, 1 << 24, &log, NULL);
    ok(log && strstr(log, "msg=stopped") != NULL, "the log ends with stopped");
    ok(log && strstr(log, "AddressSanitizer") == NULL, "no AddressSanitizer report");
    if (log && strstr(log, "AddressSanitizer"))
        fprintf(stderr, "%s\n", log);
    free(log);
    h_server_stop(&srv);
    free(token);
    free(cdr_body);
    return tap_done();
}
