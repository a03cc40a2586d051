/* The fake event socket (fake_esl.h): one poll() loop over the listening
 * socket and its clients. */
#include "fake_esl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define MAX_CMDS 8192
#define MAX_CONNS 256

typedef struct client {
    int fd;
    bool authed;
    bool subscribed; /* event plain CUSTOM ... */
    char buf[65536];
    size_t len;
} client_t;

struct fesl {
    fesl_opts_t o;
    char password[128];
    char fail[128];
    int lfd, port;
    int wake[2];
    pthread_t thread;
    pthread_mutex_t mu;
    client_t c[MAX_CLIENTS];
    char *cmds[MAX_CMDS];
    int ncmds;
    long long conn_ms[MAX_CONNS];
    int nconns, nauth;
    char subscription[512];
};

long long fesl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void api_response(int fd, const char *body)
{
    char msg[1024]; /* one write: headers and body in one segment, as FreeSWITCH's would be */
    snprintf(msg, sizeof(msg), "Content-Type: api/response\nContent-Length: %zu\n\n%s", strlen(body), body);
    put(fd, msg);
}

/* The replies a FreeSWITCH 1.10.12 gives (the protocol reference). */
static const char *reply_for(fesl_t *f, const char *cmd)
{
    if (f->fail[0] && strstr(cmd, f->fail))
        return "-ERR simulated failure\n";
    if (strstr(cmd, " rescan"))
        return "Reload XML [Success]\n+OK scan complete\n";
    if (strstr(cmd, " killgw "))
        return "+OK gateway marked for deletion.\n";
    if (strncmp(cmd, "xml_flush_cache", 15) == 0)
        return "+OK cleared 1 entries\n";
    if (strncmp(cmd, "uuid_setvar ", 12) == 0 || strncmp(cmd, "uuid_transfer ", 14) == 0)
        return "+OK\n";
    if (strstr(cmd, " flush_inbound_reg "))
        return "+OK flushing all registrations matching specified call_id\n";
    return "-ERR Command not found!\n";
}

static void drop(client_t *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->authed = false;
}

/* One "\n\n"-terminated command from a client. false: closed. */
static bool command(fesl_t *f, client_t *c, char *line)
{
    if (strncmp(line, "auth ", 5) == 0) {
        pthread_mutex_lock(&f->mu);
        f->nauth++;
        pthread_mutex_unlock(&f->mu);
        if (strcmp(line + 5, f->password) == 0) {
            c->authed = true;
            put(c->fd, "Content-Type: command/reply\nReply-Text: +OK accepted\n\n");
            return true;
        }
        put(c->fd, "Content-Type: command/reply\nReply-Text: -ERR invalid\n\n");
        put(c->fd, "Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
                   "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n");
        drop(c);
        return false;
    }
    if (!c->authed) {
        put(c->fd, "Content-Type: command/reply\nReply-Text: -ERR command not found\n\n");
        return true;
    }
    if (strncmp(line, "event plain ", 12) == 0) {
        pthread_mutex_lock(&f->mu);
        snprintf(f->subscription, sizeof(f->subscription), "%.500s", line);
        c->subscribed = true;
        pthread_mutex_unlock(&f->mu);
        put(c->fd, "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n");
        return true;
    }
    bool bg = strncmp(line, "bgapi ", 6) == 0;
    if (strncmp(line, "api ", 4) != 0 && !bg) {
        put(c->fd, "Content-Type: command/reply\nReply-Text: -ERR command not found\n\n");
        return true;
    }
    pthread_mutex_lock(&f->mu);
    if (f->ncmds < MAX_CMDS)
        f->cmds[f->ncmds++] = strdup(bg ? line : line + 4);
    pthread_mutex_unlock(&f->mu);
    if (f->o.mute_api)
        return true;
    if (bg)
        put(c->fd, "Content-Type: command/reply\nReply-Text: +OK Job-UUID: 7f4db78a-17d7-11dd-b7a0-db4edd065621\n"
                   "Job-UUID: 7f4db78a-17d7-11dd-b7a0-db4edd065621\n\n");
    else
        api_response(c->fd, reply_for(f, line + 4));
    return true;
}

static void readable(fesl_t *f, client_t *c)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
    if (n <= 0) {
        drop(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    char *end;
    while (c->fd >= 0 && (end = strstr(c->buf, "\n\n")) != NULL) {
        *end = '\0';
        char line[65536];
        snprintf(line, sizeof(line), "%s", c->buf);
        size_t used = (size_t)(end + 2 - c->buf);
        memmove(c->buf, end + 2, c->len - used + 1);
        c->len -= used;
        if (!command(f, c, line))
            return;
    }
}

static void *loop(void *arg)
{
    fesl_t *f = arg;
    for (;;) {
        struct pollfd p[MAX_CLIENTS + 2];
        int map[MAX_CLIENTS + 2], np = 0;
        p[np++] = (struct pollfd){.fd = f->wake[0], .events = POLLIN};
        p[np++] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (f->c[i].fd >= 0) {
                map[np] = i;
                p[np++] = (struct pollfd){.fd = f->c[i].fd, .events = f->o.silent ? 0 : POLLIN};
            }
        if (poll(p, (nfds_t)np, 1000) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents & POLLIN) {
            int fd = accept(f->lfd, NULL, NULL);
            int slot = -1;
            for (int i = 0; fd >= 0 && i < MAX_CLIENTS && slot < 0; i++)
                if (f->c[i].fd < 0)
                    slot = i;
            if (fd >= 0 && slot < 0)
                close(fd);
            else if (fd >= 0) {
                f->c[slot] = (client_t){.fd = fd};
                pthread_mutex_lock(&f->mu);
                if (f->nconns < MAX_CONNS)
                    f->conn_ms[f->nconns] = fesl_now_ms();
                f->nconns++;
                pthread_mutex_unlock(&f->mu);
                if (!f->o.silent)
                    put(fd, "Content-Type: auth/request\n\n");
            }
        }
        for (int k = 2; k < np; k++)
            if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
                readable(f, &f->c[map[k]]);
    }
    return NULL;
}

fesl_t *fesl_start(const fesl_opts_t *o)
{
    fesl_t *f = calloc(1, sizeof(*f));
    f->o = *o;
    snprintf(f->password, sizeof(f->password), "%s", o->password ? o->password : "ClueCon");
    snprintf(f->fail, sizeof(f->fail), "%s", o->fail ? o->fail : "");
    pthread_mutex_init(&f->mu, NULL);
    for (int i = 0; i < MAX_CLIENTS; i++)
        f->c[i].fd = -1;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &len) != 0 || pipe(f->wake) != 0) {
        fprintf(stderr, "fake_esl: cannot listen on port %d: %s\n", o->port, strerror(errno));
        close(f->lfd);
        free(f);
        return NULL;
    }
    f->port = ntohs(a.sin_port);
    pthread_create(&f->thread, NULL, loop, f);
    return f;
}

void fesl_stop(fesl_t *f)
{
    if (f == NULL)
        return;
    if (write(f->wake[1], "x", 1) != 1)
        fprintf(stderr, "fake_esl: cannot wake the loop\n");
    pthread_join(f->thread, NULL);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (f->c[i].fd >= 0)
            close(f->c[i].fd);
    close(f->lfd);
    close(f->wake[0]);
    close(f->wake[1]);
    for (int i = 0; i < f->ncmds; i++)
        free(f->cmds[i]);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

char *fesl_subscription(fesl_t *f)
{
    pthread_mutex_lock(&f->mu);
    char *s = f->subscription[0] ? strdup(f->subscription) : NULL;
    pthread_mutex_unlock(&f->mu);
    return s;
}

int fesl_emit(fesl_t *f, const char *subclass, const char *uuid)
{
    char body[1024], enc[256], msg[1200];
    size_t o = 0;
    for (const char *p = subclass; *p && o + 4 < sizeof(enc); p++) {
        if (*p == ':')
            o += (size_t)snprintf(enc + o, sizeof(enc) - o, "%%3A");
        else
            enc[o++] = *p;
    }
    enc[o] = '\0';
    int n = snprintf(body, sizeof(body),
                     "Event-Name: CUSTOM\nCore-UUID: 0c7ab1c5-1f3b-4b4e-9d6a-3c7e8d2f1a00\n"
                     "Event-Subclass: %s\nUnique-ID: %s\nChannel-Name: sofia/external/%%2B39061234567\n\n",
                     enc, uuid);
    snprintf(msg, sizeof(msg), "Content-Length: %d\nContent-Type: text/event-plain\n\n%s", n, body);
    int sent = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (f->c[i].fd >= 0 && f->c[i].authed && f->c[i].subscribed) {
            put(f->c[i].fd, msg);
            sent++;
        }
    pthread_mutex_unlock(&f->mu);
    return sent;
}

int fesl_port(const fesl_t *f)
{
    return f->port;
}

int fesl_count(fesl_t *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->ncmds;
    pthread_mutex_unlock(&f->mu);
    return n;
}

char *fesl_cmd(fesl_t *f, int i)
{
    pthread_mutex_lock(&f->mu);
    char *s = i >= 0 && i < f->ncmds ? strdup(f->cmds[i]) : NULL;
    pthread_mutex_unlock(&f->mu);
    return s;
}

bool fesl_wait(fesl_t *f, int n, int timeout_ms)
{
    long long until = fesl_now_ms() + timeout_ms;
    while (fesl_count(f) < n) {
        if (fesl_now_ms() >= until)
            return false;
        usleep(5000);
    }
    return true;
}

int fesl_connections(fesl_t *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->nconns;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fesl_auth_attempts(fesl_t *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->nauth;
    pthread_mutex_unlock(&f->mu);
    return n;
}

long long fesl_connection_ms(fesl_t *f, int i)
{
    pthread_mutex_lock(&f->mu);
    long long v = i >= 0 && i < f->nconns && i < MAX_CONNS ? f->conn_ms[i] : -1;
    pthread_mutex_unlock(&f->mu);
    return v;
}
