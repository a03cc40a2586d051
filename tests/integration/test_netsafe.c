/* Safe on a real network (issue 13): strict framing before routing (two
 * Content-Length, Content-Length with Transfer-Encoding, signed or listed
 * lengths, NUL bytes: 400, Connection: close, the smuggled rest never
 * answered); --header-timeout; the descriptor limit (soft = hard = 256 and
 * 300 idle sockets from 127.0.0.1, then 300 more so that accept() meets
 * EMFILE: a lookup is still answered within 3 s, at under half a core, with
 * little log); --max-connections-per-ip (80 idle
 * sockets from 127.0.0.2 never stop a lookup from 127.0.0.1). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/hmac.h>

#include "auth_jwt.h"
#include "harness.h"
#include "tap.h"
#include "util.h"

#ifdef __SANITIZE_ADDRESS__
#define SLOW 3
#else
#define SLOW 1
#endif

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A connection from src (an address of 127.0.0.0/8) to 127.0.0.1:port;
 * blocking when wait, else it may still be in the backlog. */
static int open_from(const char *src, int port, bool wait)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (wait ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        (connect(fd, (struct sockaddr *)&d, sizeof(d)) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Everything the server sends on fd until it closes (or 5 s). */
static char *read_all(int fd, bool *closed)
{
    w3_buf_t b = {0};
    *closed = false;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000 * SLOW) <= 0)
            break;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            *closed = true;
            break;
        }
        w3_buf_add(&b, buf, (size_t)n);
    }
    if (b.data == NULL)
        w3_buf_adds(&b, "");
    return b.data;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* piece > 0: the request goes out in pieces of that many bytes, 2 ms
 * apart, so that the head is checked across several reads */
static void refused_in(int port, const char *label, const char *req, size_t len, size_t piece)
{
    int fd = open_from("127.0.0.1", port, true);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (size_t off = 0; off < len;) {
        size_t m = piece && len - off > piece ? piece : len - off;
        send(fd, req + off, m, MSG_NOSIGNAL);
        off += m;
        if (piece)
            nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
    bool closed = false;
    char *out = read_all(fd, &closed);
    ok(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s: 400", label);
    ok(strcasestr(out, "\r\nConnection: close\r\n") != NULL, "%s: Connection: close", label);
    is_int(count(out, "HTTP/1."), 1, "one answer only: the rest is never read as a request");
    ok(strstr(out, "ok\n") == NULL && strstr(out, "ready") == NULL, "%s: the smuggled GET is not answered", label);
    ok(closed, "%s: the connection is closed", label);
    free(out);
    close(fd);
}

static void refused(int port, const char *label, const char *req, size_t len)
{
    refused_in(port, label, req, len, 0);
}

static void framing(void)
{
    h_server_t s;
    const char *extra[] = {"--idle-timeout", "10", NULL};
    if (!ok(h_server_start(&s, NULL, extra) == 0, "server started"))
        return;
    const char smuggle[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /fs/cdr HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: %zu\r\n\r\nabcd%s",
                     sizeof(smuggle) - 1 + 4, smuggle);
    refused(s.port, "two Content-Length (4, then 4 + a GET)", req, (size_t)n);
    refused_in(s.port, "two Content-Length sent 7 bytes at a time", req, (size_t)n, 7);
    n = snprintf(req, sizeof(req),
                 "POST /fs/xml HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\n%s",
                 smuggle);
    refused(s.port, "Content-Length and Transfer-Encoding", req, (size_t)n);
    n = snprintf(req, sizeof(req), "POST /fs/xml HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd%s", smuggle);
    refused(s.port, "signed Content-Length +4", req, (size_t)n);
    n = snprintf(req, sizeof(req), "POST /fs/xml HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd%s", smuggle);
    refused(s.port, "list-form Content-Length 4, 4", req, (size_t)n);
    n = snprintf(req, sizeof(req), "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Trace: a%cb\r\n\r\n%s", '\0', smuggle);
    refused(s.port, "NUL byte in a header", req, (size_t)n);
    refused_in(s.port, "NUL byte in a header sent 5 bytes at a time", req, (size_t)n, 5);
    n = snprintf(req, sizeof(req), "POST /fs/xml HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n%s",
                 smuggle);
    refused(s.port, "Transfer-Encoding other than chunked", req, (size_t)n);

    /* well-framed requests pipelined on one connection are all answered */
    const char good[] = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
                        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nabc\r\n0\r\n\r\n"
                        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = open_from("127.0.0.1", s.port, true);
    send(fd, good, sizeof(good) - 1, MSG_NOSIGNAL);
    bool closed = false;
    char *out = read_all(fd, &closed);
    is_int(count(out, "HTTP/1.1 405 "), 2, "a Content-Length body and a chunked one are followed (two 405 for POST)");
    ok(strstr(out, "HTTP/1.1 200 OK") && strstr(out, "ok\n"), "and the third request after them is answered");
    free(out);
    close(fd);
    h_resp_t r;
    h_request(s.port, "GET", "/healthz", NULL, NULL, 0, &r);
    is_int(r.status, 200, "the server still answers");
    h_resp_free(&r);
    is_int(h_server_stop(&s), 0, "server exits cleanly");
}

static void header_timeout(void)
{
    h_server_t s;
    const char *extra[] = {"--idle-timeout", "10", "--request-timeout", "30", NULL};
    if (!ok(h_server_start(&s, NULL, extra) == 0, "server with the default 2 s --header-timeout"))
        return;
    int idle = open_from("127.0.0.1", s.port, true);
    int partial = open_from("127.0.0.1", s.port, true);
    send(partial, "POST /fs/xml HTTP/1.1\r\nHost: x\r\n", 33, MSG_NOSIGNAL);
    int kept = open_from("127.0.0.1", s.port, true);
    const char hz[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    send(kept, hz, sizeof(hz) - 1, MSG_NOSIGNAL);
    char buf[512];
    struct pollfd p = {.fd = kept, .events = POLLIN};
    ok(poll(&p, 1, 2000) == 1 && recv(kept, buf, sizeof(buf), 0) > 0, "a keep-alive request answered");
    uint64_t t0 = w3_now_us();
    bool c1 = false, c2 = false;
    char *o1 = read_all(idle, &c1), *o2 = read_all(partial, &c2);
    double secs = (double)(w3_now_us() - t0) / 1e6;
    ok(c1 && c2, "a silent connection and one with half a head are closed (%.1f s)", secs);
    ok(secs > 1.5 && secs < 3.5 * SLOW, "at the 2 s header timeout (%.1f s)", secs);
    free(o1);
    free(o2);
    send(kept, hz, sizeof(hz) - 1, MSG_NOSIGNAL);
    p.revents = 0;
    ok(poll(&p, 1, 2000) == 1 && recv(kept, buf, sizeof(buf), 0) > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0,
       "an answered keep-alive connection idle as long still works (the idle timeout rules it)");
    close(idle);
    close(partial);
    close(kept);
    is_int(h_server_stop(&s), 0, "server exits cleanly");
}

static long cpu_ticks(pid_t pid)
{
    char path[64], *stat = NULL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (w3_read_file(path, 8192, &stat, NULL) != 0)
        return -1;
    const char *p = strrchr(stat, ')');
    long ut = 0, st = 0;
    /* fields after the command: state ppid pgrp session tty tpgid flags
     * minflt cminflt majflt cmajflt utime stime */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
        ut = st = -1;
    free(stat);
    return ut + st;
}

static int lookup(const h_server_t *s, double *secs)
{
    char *body = h_capture("directory-sip_auth-register.form", NULL);
    h_resp_t r;
    uint64_t t0 = w3_now_us();
    int st = h_fs_post(s, "/fs/xml", body, strlen(body), s->user, s->pass, &r) == 0 ? r.status : -1;
    *secs = (double)(w3_now_us() - t0) / 1e6;
    if (st == 200 && (r.body == NULL || h_xpath_count(r.body, r.body_len, "//domain/groups/group/users/user") != 1))
        st = -2;
    h_resp_free(&r);
    free(body);
    return st;
}

static void fd_limit(void)
{
    struct rlimit mine;
    getrlimit(RLIMIT_NOFILE, &mine);
    if (mine.rlim_cur < 2048) {
        mine.rlim_cur = mine.rlim_max < 2048 ? mine.rlim_max : 2048;
        setrlimit(RLIMIT_NOFILE, &mine); /* the test's own 300 sockets */
    }
    h_server_nofile = 256;
    h_server_t s;
    int started = h_server_start(&s, NULL, NULL);
    h_server_nofile = 0;
    if (!ok(started == 0, "server with soft = hard RLIMIT_NOFILE = 256"))
        return;
    enum { N = 300 };
    int fds[2 * N], opened = 0;
    long cpu0 = cpu_ticks(s.pid);
    uint64_t t0 = w3_now_us();
    for (int i = 0; i < N; i++)
        if ((fds[i] = open_from("127.0.0.1", s.port, false)) >= 0)
            opened++;
    is_int(opened, N, "300 idle sockets from 127.0.0.1");
    sleep_ms(300);
    double secs = 0;
    int st = lookup(&s, &secs);
    is_int(st, 200, "a lookup from 127.0.0.1 meanwhile is answered with the user");
    ok(secs < 3.0 * SLOW, "within 3 s (%.2f s)", secs);
    /* 300 more, faster than closed ones are reaped: accept() meets EMFILE */
    for (int i = N; i < 2 * N; i++)
        if ((fds[i] = open_from("127.0.0.1", s.port, false)) >= 0)
            opened++;
    is_int(opened, 2 * N, "300 more idle sockets");
    sleep_ms(300);
    st = lookup(&s, &secs);
    is_int(st, 200, "a lookup is still answered");
    ok(secs < 3.0 * SLOW, "within 3 s (%.2f s)", secs);
    sleep_ms(2500);
    double wall = (double)(w3_now_us() - t0) / 1e6;
    long cpu1 = cpu_ticks(s.pid);
    double core = (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK) / wall;
    ok(cpu0 >= 0 && core < 0.5 * SLOW, "the server used %.2f of a core over %.1f s (under half)", core, wall);
    for (int i = 0; i < 2 * N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    sleep_ms(300);
    st = lookup(&s, &secs);
    is_int(st, 200, "served as usual once they are gone");
    struct stat lst = {0};
    bool have = stat(s.log, &lst) == 0;
    ok(have && lst.st_size < 200 * 1024, "log under 200 KB (%lld bytes)", (long long)lst.st_size);
    char *log = NULL;
    w3_read_file(s.log, 1 << 20, &log, NULL);
    if (log && !strstr(log, "max-connections lowered"))
        printf("# %.300s\n", log);
    ok(log && strstr(log, "max-connections lowered") && strstr(log, "nofile=256"),
       "the lowered connection limit is logged");
    ok(log && strstr(log, "listener paused 100 ms") && strstr(log, "Too many open files"),
       "EMFILE paused the listener, and said so");
    long long refused = h_metric(s.port, "w3voipd_connections_refused_total ");
    ok(refused >= N - 256, "connections past the lowered limit made room (%lld counted)", refused);
    free(log);
    is_int(h_server_stop(&s), 0, "server exits cleanly");
}

static void per_ip(void)
{
    const char *extra[] = {"--max-connections",
                           "50",
                           "--max-connections-per-ip",
                           "20",
                           "--request-timeout",
                           "30",
                           "--header-timeout",
                           "30",
                           "--idle-timeout",
                           "30",
                           NULL};
    h_server_t s;
    if (!ok(h_server_start(&s, NULL, extra) == 0, "server with --max-connections 50 --max-connections-per-ip 20"))
        return;
    enum { N = 80 };
    int fds[N], opened = 0;
    for (int i = 0; i < N; i++)
        if ((fds[i] = open_from("127.0.0.2", s.port, true)) >= 0)
            opened++;
    is_int(opened, N, "80 idle sockets from 127.0.0.2");
    sleep_ms(700);
    int closed = 0;
    for (int i = 0; i < N; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        char c;
        if (fds[i] >= 0 && poll(&p, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0)
            closed++;
    }
    ok(closed >= N - 20, "all but 20 of them are closed (%d)", closed);
    for (int k = 0; k < 5; k++) {
        double secs = 0;
        int st = lookup(&s, &secs);
        char label[96];
        snprintf(label, sizeof(label), "lookup %d from 127.0.0.1 answered meanwhile", k + 1);
        is_int(st, 200, label);
    }
    ok(h_metric(s.port, "w3voipd_connections_refused_total ") >= N - 20, "the refusals are counted");
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    is_int(h_server_stop(&s), 0, "server exits cleanly");
}

static char *b64url(const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    w3_buf_t b = {0};
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], tab[v >> 6 & 63], tab[v & 63]};
        w3_buf_add(&b, q, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
    }
    return b.data;
}

/* An HS256 token over exactly this payload, signed with the server's key. */
static char *raw_token(const h_server_t *s, const char *payload)
{
    auth_jwt_key_t key;
    const char *why = NULL;
    if (auth_jwt_key_load(s->jwt_key, true, &key, &why) != 0)
        return NULL;
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *h = b64url(hdr, strlen(hdr)), *p = b64url(payload, strlen(payload));
    w3_buf_t t = {0};
    w3_buf_printf(&t, "%s.%s", h, p);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), key.bytes, (int)key.len, (const unsigned char *)t.data, t.len, mac, &maclen);
    char *sig = b64url(mac, maclen);
    w3_buf_printf(&t, ".%s", sig);
    free(sig);
    free(h);
    free(p);
    auth_jwt_key_free(&key);
    return t.data;
}

static void duplicate_claims(void)
{
    h_server_t s;
    if (!ok(h_server_start(&s, NULL, NULL) == 0, "server for the JWT checks"))
        return;
    const char *path = "/api/voip/extensions/by-number?sip_domain=tenantA.edvoip.it&ext=100";
    char payload[256];
    long exp = (long)time(NULL) + 300;
    snprintf(payload, sizeof(payload), "{\"sub\":\"ops\",\"scope\":\"pbx\",\"exp\":%ld}", exp);
    char *good = raw_token(&s, payload);
    snprintf(payload, sizeof(payload), "{\"sub\":\"ops\",\"scope\":\"none\",\"scope\":\"pbx\",\"exp\":%ld}", exp);
    char *dup = raw_token(&s, payload);
    h_resp_t r;
    h_api(s.port, "GET", path, good, NULL, &r);
    is_int(r.status, 200, "a hand-signed platform token is accepted (the signing is right)");
    h_resp_free(&r);
    h_api(s.port, "GET", path, dup, NULL, &r);
    is_int(r.status, 401, "the same with \"scope\":\"none\",\"scope\":\"pbx\" is refused: 401");
    h_resp_free(&r);
    free(good);
    free(dup);
    is_int(h_server_stop(&s), 0, "server exits cleanly");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    framing();
    header_timeout();
    fd_limit();
    per_ip();
    duplicate_claims();
    return tap_done();
}
