/* One inbound event-socket connection (mod_event_socket): on connect the
 * node sends "Content-Type: auth/request"; we answer "auth <password>\n\n"
 * and expect a command/reply whose Reply-Text starts with "+OK"; then each
 * command is "api <cmd>\n\n", answered by an api/response whose body is
 * Content-Length bytes. One command in flight per node; a reply not come
 * within the command timeout closes the connection (its framing is lost). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/util.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "internal.h"
#include "form.h"
#include "log.h"

#define HEADERS_MAX (64 * 1024)
#define BODY_MAX (16 * 1024 * 1024)

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void set_status(fsn_node_t *n, int connected, const char *error)
{
    pthread_mutex_lock(&n->f->mu);
    if (connected >= 0 && n->st.connected != (connected == 1)) {
        n->st.connected = connected == 1;
        n->st.since_ms = now_ms();
    }
    if (error)
        w3_strlcpy(n->st.last_error, error, sizeof(n->st.last_error));
    pthread_mutex_unlock(&n->f->mu);
}

static void arm(fsn_node_t *n, double s)
{
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
    evtimer_add(n->timeout, &tv);
}

void fsn_node_close(fsn_node_t *n)
{
    if (n->bev) {
        bufferevent_free(n->bev);
        n->bev = NULL;
    }
    if (n->timeout)
        evtimer_del(n->timeout);
    if (n->state != N_DOWN && n->state != N_CONNECTING && n->st.connected)
        log_warn("fs node disconnected", "node", n->addr, NULL);
    n->state = N_DOWN;
    set_status(n, 0, NULL);
}

/* Closes and retries after the current backoff, which then doubles. */
static void lost(fsn_node_t *n, const char *why)
{
    bool was_up = n->st.connected;
    fsn_node_close(n);
    set_status(n, 0, why);
    if (!was_up)
        log_warn("fs node unreachable", "node", n->addr, "error", why, NULL);
    struct timeval tv = {(time_t)n->backoff_s, (suseconds_t)((n->backoff_s - (double)(time_t)n->backoff_s) * 1e6)};
    evtimer_add(n->retry, &tv);
    n->backoff_s = n->backoff_s * 2 > FSNODE_RETRY_MAX_S ? FSNODE_RETRY_MAX_S : n->backoff_s * 2;
}

/* Any line of the reply that FreeSWITCH starts with -ERR, -USAGE or
 * Invalid (a rescan answers "Reload XML [Success]" first, its result after). */
static bool is_error(const char *cmd, const char *reply)
{
    if (strncmp(reply, "-ERR no such gateway", 20) == 0 && strstr(cmd, " killgw ") != NULL)
        return false; /* not loaded: nothing to remove */
    for (const char *l = reply; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, "-ERR", 4) == 0 || strncmp(l, "-USAGE", 6) == 0 || strncmp(l, "Invalid", 7) == 0)
            return true;
    return false;
}

/* The reply on one line for the log and the activity log: lines joined
 * with " / ", at most cap - 1 bytes. */
static void one_line(const char *text, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 1 < cap; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            if (p[1] == '\0' || o + 4 >= cap)
                break;
            memcpy(out + o, " / ", 3);
            o += 3;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* The head command got its reply (or never will: reply NULL = timeout). */
static void answered(fsn_node_t *n, const char *reply)
{
    fsnode_t *f = n->f;
    fsn_cmd_t *c = &n->q[n->q_head];
    const char *text = reply ? reply : "(no reply within the command timeout)";
    char first[256];
    one_line(text, first, sizeof(first));
    bool err = reply == NULL || is_error(c->text, reply);
    const char *result = reply == NULL ? "timeout" : err ? "error" : "ok";
    pthread_mutex_lock(&f->mu);
    if (reply == NULL)
        n->st.timeout++;
    else if (err)
        n->st.error++;
    else
        n->st.ok++;
    if (err)
        w3_strlcpy(n->st.last_error, first, sizeof(n->st.last_error));
    pthread_mutex_unlock(&f->mu);
    if (err) {
        log_warn("fs node apply failed", "node", n->addr, "command", c->text, "result", result, "reply", first, NULL);
        if (f->o.failed)
            f->o.failed(n->addr, c->text, first, c->domain, f->o.failed_arg);
    } else {
        log_info("fs node applied", "node", n->addr, "command", c->text, "reply", first, NULL);
    }
    fsn_cmd_free(c);
    n->q_head = (n->q_head + 1) % f->o.queue_max;
    n->q_len--;
    evtimer_del(n->timeout);
    n->state = N_READY;
}

void fsn_node_kick(fsn_node_t *n)
{
    fsnode_t *f = n->f;
    while (n->state == N_READY && n->q_len > 0) {
        fsn_cmd_t *c = &n->q[n->q_head];
        if (c->marker) {
            pthread_mutex_lock(&f->mu);
            n->st.applied_id = c->feed_id;
            if (c->gens) {
                free(n->st.generations);
                n->st.generations = c->gens;
                c->gens = NULL;
            }
            pthread_mutex_unlock(&f->mu);
            fsn_cmd_free(c);
            n->q_head = (n->q_head + 1) % f->o.queue_max;
            n->q_len--;
            continue;
        }
        struct evbuffer *out = bufferevent_get_output(n->bev);
        evbuffer_add_printf(out, "%s%s\n\n", c->raw ? "" : "api ", c->text);
        n->state = N_BUSY;
        arm(n, f->o.command_timeout_s);
    }
    pthread_mutex_lock(&f->mu);
    n->st.queued = n->q_len;
    pthread_mutex_unlock(&f->mu);
}

static void authenticated(fsn_node_t *n)
{
    evtimer_del(n->timeout);
    n->state = N_READY;
    n->backoff_s = FSNODE_RETRY_FIRST_S;
    set_status(n, 1, NULL);
    log_info("fs node connected", "node", n->addr, NULL);
    fsn_enqueue_resync(n);
    fsn_node_kick(n);
}

/* Value of header name in a header block (NUL-terminated, lines "\n"). */
static bool header(const char *block, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = block; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(dst, cap, "%.*s", (int)(len < cap ? len : cap - 1), v);
            return true;
        }
    }
    return false;
}

/* %XX decoding in place (event-plain header values are url-encoded). */
static void url_decode(char *s)
{
    form_pct_decode_nul(s, strlen(s)); /* a %00 cuts the value there, as it always has */
}

static bool uuid_ok(const char *u)
{
    size_t n = strlen(u);
    return n >= 8 && n <= 64 && strspn(u, "0123456789abcdefABCDEF-") == n;
}

/* A text/event-plain body: the headers of one event. */
static void ai_event(fsn_node_t *n, const char *body)
{
    char sub[128] = "", uuid[80] = "";
    header(body, "Event-Subclass", sub, sizeof(sub));
    header(body, "Unique-ID", uuid, sizeof(uuid));
    url_decode(sub);
    url_decode(uuid);
    if (strncmp(sub, "mod_audio_fork::", 16) != 0)
        return;
    log_info("fs node audio stream event", "node", n->addr, "event", sub, "uuid", uuid, NULL);
    if (strcmp(sub, "mod_audio_fork::connect_failed") != 0)
        return;
    if (!uuid_ok(uuid)) {
        log_warn("audio stream failure without a usable Unique-ID: nothing transferred", "node", n->addr, NULL);
        return;
    }
    log_warn("audio stream failed: the call goes to its DID's fallback", "node", n->addr, "uuid", uuid, NULL);
    fsn_enqueue_ai_fallback(n, uuid);
    fsn_node_kick(n);
}

/* One message (headers + body) is complete: act on it. false = closed. */
static bool message(fsn_node_t *n, const char *headers, const char *body)
{
    char type[64] = "", reply[256] = "";
    header(headers, "Content-Type", type, sizeof(type));
    if (strcmp(type, "auth/request") == 0 && n->state == N_AUTH_REQUEST) {
        evbuffer_add_printf(bufferevent_get_output(n->bev), "auth %s\n\n", n->f->password);
        n->state = N_AUTH_REPLY;
        return true;
    }
    if (strcmp(type, "command/reply") == 0 && n->state == N_AUTH_REPLY) {
        header(headers, "Reply-Text", reply, sizeof(reply));
        if (strncmp(reply, "+OK", 3) == 0) {
            authenticated(n);
            return true;
        }
        pthread_mutex_lock(&n->f->mu);
        n->st.auth_failures++;
        pthread_mutex_unlock(&n->f->mu);
        log_error("fs node refused the event socket password (--fs-node-password-file)", "node", n->addr, "reply",
                  reply, NULL);
        lost(n, "authentication refused");
        return false;
    }
    if (strcmp(type, "api/response") == 0 && n->state == N_BUSY && !n->q[n->q_head].raw) {
        answered(n, body);
        fsn_node_kick(n);
        return true;
    }
    if (strcmp(type, "command/reply") == 0 && n->state == N_BUSY && n->q[n->q_head].raw) {
        header(headers, "Reply-Text", reply, sizeof(reply));
        answered(n, reply);
        fsn_node_kick(n);
        return true;
    }
    if (strcmp(type, "text/event-plain") == 0) {
        ai_event(n, body);
        return true;
    }
    if (strcmp(type, "text/disconnect-notice") == 0) {
        lost(n, "disconnect notice");
        return false;
    }
    return true; /* events and anything else: not ours */
}

static void on_read(struct bufferevent *bev, void *arg)
{
    fsn_node_t *n = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        struct evbuffer_ptr end = evbuffer_search(in, "\n\n", 2, NULL);
        if (end.pos < 0) {
            if (evbuffer_get_length(in) > HEADERS_MAX)
                lost(n, "header block too large");
            return;
        }
        size_t hlen = (size_t)end.pos;
        char *headers = xmalloc(hlen + 1);
        evbuffer_copyout(in, headers, hlen);
        headers[hlen] = '\0';
        char cl[32] = "";
        long long blen = header(headers, "Content-Length", cl, sizeof(cl)) ? atoll(cl) : 0;
        if (blen < 0 || blen > BODY_MAX) {
            free(headers);
            lost(n, "bad Content-Length");
            return;
        }
        if (evbuffer_get_length(in) < hlen + 2 + (size_t)blen) {
            free(headers);
            return;
        }
        evbuffer_drain(in, hlen + 2);
        char *body = xmalloc((size_t)blen + 1);
        evbuffer_remove(in, body, (size_t)blen);
        body[blen] = '\0';
        bool open = message(n, headers, body);
        free(headers);
        free(body);
        if (!open)
            return;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    fsn_node_t *n = arg;
    if (what & BEV_EVENT_CONNECTED) {
        n->state = N_AUTH_REQUEST;
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        int e = EVUTIL_SOCKET_ERROR();
        lost(n, what & BEV_EVENT_EOF ? "connection closed by the node" : evutil_socket_error_to_string(e));
    }
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    fsn_node_t *n = arg;
    if (n->state == N_BUSY) {
        answered(n, NULL);
        lost(n, "command timeout");
    } else {
        log_warn("fs node did not authenticate in time", "node", n->addr, NULL);
        lost(n, "no auth/request or auth reply in time");
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    fsn_node_connect(arg);
}

void fsn_node_connect(fsn_node_t *n)
{
    fsnode_t *f = n->f;
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (n->retry == NULL) {
        n->retry = evtimer_new(f->base, on_retry, n);
        n->timeout = evtimer_new(f->base, on_timeout, n);
        W3_CHECK_ALLOC(n->retry);
        W3_CHECK_ALLOC(n->timeout);
        n->backoff_s = FSNODE_RETRY_FIRST_S;
    }
    if (evutil_getaddrinfo(n->host, n->port, &hints, &ai) != 0 || ai == NULL) {
        lost(n, "cannot resolve the host");
        goto out;
    }
    n->bev = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
    W3_CHECK_ALLOC(n->bev);
    bufferevent_setcb(n->bev, on_read, NULL, on_event, n);
    bufferevent_enable(n->bev, EV_READ | EV_WRITE);
    n->state = N_CONNECTING;
    arm(n, f->o.auth_timeout_s);
    if (bufferevent_socket_connect(n->bev, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
        lost(n, "cannot connect");
        goto out;
    }
    int one = 1; /* one small command at a time: no Nagle delay */
    setsockopt(bufferevent_getfd(n->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
out:
    if (ai)
        evutil_freeaddrinfo(ai);
}
