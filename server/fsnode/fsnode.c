/* The fsnode thread: its loop, the per-node queues, the status snapshot and
 * the metrics. */
#include <errno.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "internal.h"
#include "log.h"

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

#define LOCK(f) pthread_mutex_lock(&(f)->mu)
#define UNLOCK(f) pthread_mutex_unlock(&(f)->mu)

void fsn_cmd_free(fsn_cmd_t *c)
{
    free(c->text);
    free(c->domain);
    free(c->gens);
    memset(c, 0, sizeof(*c));
}

static fsn_cmd_t *slot(fsn_node_t *n, int i)
{
    return &n->q[(n->q_head + i) % n->f->o.queue_max];
}

static void clear_queue(fsn_node_t *n)
{
    while (n->q_len > 0) {
        fsn_cmd_free(slot(n, 0));
        n->q_head = (n->q_head + 1) % n->f->o.queue_max;
        n->q_len--;
    }
}

/* Room for one more at the tail: a full queue is replaced by a resync (a
 * rescan and a flush of every user cover whatever was dropped, except the
 * killgw of a changed gateway, which is logged). */
static bool room(fsn_node_t *n)
{
    if (n->q_len < n->f->o.queue_max)
        return true;
    log_warn("fs node queue full: pending commands replaced by a resync", "node", n->addr, NULL);
    bool busy = n->state == N_BUSY;
    fsn_cmd_t keep = {0};
    if (busy) { /* the one in flight stays at the head */
        keep = *slot(n, 0);
        memset(slot(n, 0), 0, sizeof(keep));
    }
    clear_queue(n);
    n->q_head = 0;
    if (busy) {
        n->q[0] = keep;
        n->q_len = 1;
    }
    fsn_enqueue_resync(n);
    return n->q_len < n->f->o.queue_max;
}

void fsn_enqueue(fsn_node_t *n, const char *text, const char *domain)
{
    if (!room(n))
        return;
    fsn_cmd_t *c = slot(n, n->q_len++);
    c->text = xstrdup(text);
    c->domain = domain && *domain ? xstrdup(domain) : NULL;
}

void fsn_enqueue_marker(fsn_node_t *n, long long feed_id, const char *gens)
{
    if (!room(n))
        return;
    fsn_cmd_t *c = slot(n, n->q_len++);
    c->marker = true;
    c->feed_id = feed_id;
    c->gens = gens ? xstrdup(gens) : NULL;
}

/* At the head, behind the command in flight (if any). */
static void push_front(fsn_node_t *n, fsn_cmd_t c)
{
    int qmax = n->f->o.queue_max;
    if (n->q_len == qmax) { /* drop the newest: the resync covers it */
        fsn_cmd_free(slot(n, n->q_len - 1));
        n->q_len--;
    }
    int at = n->state == N_BUSY ? 1 : 0;
    n->q_head = (n->q_head + qmax - 1) % qmax;
    n->q_len++;
    for (int i = 0; i < at; i++)
        *slot(n, i) = *slot(n, i + 1);
    *slot(n, at) = c;
}

/* Drops the unsent commands of an earlier resync (a node that flaps must
 * not pile them up). */
static void drop_resync(fsn_node_t *n)
{
    int keep = 0;
    for (int i = 0; i < n->q_len; i++) {
        fsn_cmd_t *c = slot(n, i);
        if (c->resync && !(i == 0 && n->state == N_BUSY)) {
            fsn_cmd_free(c);
            continue;
        }
        if (keep != i) {
            *slot(n, keep) = *c;
            memset(c, 0, sizeof(*c));
        }
        keep++;
    }
    n->q_len = keep;
}

void fsn_enqueue_resync(fsn_node_t *n)
{
    fsnode_t *f = n->f;
    char *gens = NULL;
    w3_buf_t b = {0};
    drop_resync(n);
    if (db_feed_generations(f->db, &gens) != 0)
        gens = NULL;
    /* in reverse: the audio-fork subscription, the rescan, the flush, the
     * marker */
    push_front(n, (fsn_cmd_t){.resync = true, .marker = true, .feed_id = f->feed_id, .gens = gens});
    push_front(n, (fsn_cmd_t){.resync = true, .text = xstrdup("xml_flush_cache")});
    w3_buf_printf(&b, "sofia profile %s rescan", f->o.gateway_profile);
    push_front(n, (fsn_cmd_t){.resync = true, .text = b.data});
    push_front(n, (fsn_cmd_t){.resync = true, .raw = true, .text = xstrdup("event plain CUSTOM " FSNODE_AI_EVENTS)});
}

void fsn_enqueue_ai_fallback(fsn_node_t *n, const char *uuid)
{
    w3_buf_t set = {0}, go = {0};
    /* w3_ai_result parks a call whose w3_fork starts with +OK: say it failed */
    w3_buf_printf(&set, "uuid_setvar %s w3_fork -ERR audio stream connect_failed", uuid);
    w3_buf_printf(&go, "uuid_transfer %s w3_ai_result XML public", uuid);
    push_front(n, (fsn_cmd_t){.text = go.data});
    push_front(n, (fsn_cmd_t){.text = set.data});
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    fsnode_t *f = arg;
    bool more = fsn_feed_poll(f);
    struct timeval tv = {0, more ? 0 : (suseconds_t)(f->o.poll_s * 1e6)};
    if (!more && f->o.poll_s >= 1) {
        tv.tv_sec = (time_t)f->o.poll_s;
        tv.tv_usec = 0;
    }
    evtimer_add(f->poll, &tv);
}

/* Inside the loop: a loopbreak called before the loop started would be
 * forgotten (event_base_loop clears it), an active event is not. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(((fsnode_t *)arg)->base);
}

static void *fsnode_main(void *arg)
{
    fsnode_t *f = arg;
    for (int i = 0; i < f->n; i++)
        fsn_node_connect(&f->nodes[i]);
    on_poll(-1, 0, f);
    event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int split_addr(fsn_node_t *n, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || !w3_strlcpy(n->addr, addr, sizeof(n->addr)) ||
        !w3_strlcpy(n->port, colon + 1, sizeof(n->port)))
        return -EINVAL;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(n->host))
        return -EINVAL;
    memcpy(n->host, h, hl);
    n->host[hl] = '\0';
    return 0;
}

fsnode_t *fsnode_create(const fsnode_opts_t *o, char **err)
{
    fsnode_t *f = xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->o = *o;
    f->o.gateway_profile = xstrdup(o->gateway_profile ? o->gateway_profile : "external");
    f->o.phone_profile = xstrdup(o->phone_profile ? o->phone_profile : "internal");
    f->o.db_path = NULL;
    f->o.nodes = NULL;
    f->password = xstrdup(o->password ? o->password : "");
    if (f->o.poll_s <= 0)
        f->o.poll_s = 0.2;
    if (f->o.auth_timeout_s <= 0)
        f->o.auth_timeout_s = 2;
    if (f->o.command_timeout_s <= 0)
        f->o.command_timeout_s = FSNODE_COMMAND_TIMEOUT_S;
    if (f->o.queue_max < 16)
        f->o.queue_max = 4096;
    f->db = db_reader_create(o->db_path, o->busy_ms, err);
    if (f->db == NULL)
        goto fail;
    if (db_feed_last_id(f->db, &f->feed_id) != 0) {
        *err = xstrdup("cannot read the activity log (the change feed)");
        goto fail;
    }
    f->base = event_base_new();
    W3_CHECK_ALLOC(f->base);
    f->poll = evtimer_new(f->base, on_poll, f);
    f->stop = event_new(f->base, -1, 0, on_stop, f);
    W3_CHECK_ALLOC(f->poll);
    W3_CHECK_ALLOC(f->stop);
    f->n = o->nodes_n;
    f->nodes = xcalloc((size_t)f->n, sizeof(*f->nodes));
    for (int i = 0; i < f->n; i++) {
        fsn_node_t *n = &f->nodes[i];
        n->f = f;
        n->q = xcalloc((size_t)f->o.queue_max, sizeof(*n->q));
        if (split_addr(n, o->nodes[i]) != 0) {
            w3_buf_t b = {0};
            w3_buf_printf(&b, "bad event socket address '%s' (expected HOST:PORT)", o->nodes[i]);
            *err = b.data;
            goto fail;
        }
        w3_strlcpy(n->st.node, n->addr, sizeof(n->st.node));
        n->st.since_ms = now_ms(); /* down since the start */
    }
    if (pthread_create(&f->thread, NULL, fsnode_main, f) != 0) {
        *err = xstrdup("cannot start the event-socket thread");
        goto fail;
    }
    f->started = true;
    return f;
fail:
    fsnode_destroy(f);
    return NULL;
}

void fsnode_destroy(fsnode_t *f)
{
    if (f == NULL)
        return;
    if (f->started) {
        event_active(f->stop, EV_READ, 0);
        pthread_join(f->thread, NULL);
    }
    for (int i = 0; f->nodes && i < f->n; i++) {
        fsn_node_t *n = &f->nodes[i];
        if (n->q) {
            fsn_node_close(n);
            clear_queue(n);
        }
        if (n->retry)
            event_free(n->retry);
        if (n->timeout)
            event_free(n->timeout);
        free(n->q);
        free(n->st.generations);
    }
    free(f->nodes);
    if (f->poll)
        event_free(f->poll);
    if (f->stop)
        event_free(f->stop);
    if (f->base)
        event_base_free(f->base);
    db_reader_destroy(f->db);
    free((char *)f->o.gateway_profile);
    free((char *)f->o.phone_profile);
    if (f->password)
        explicit_bzero(f->password, strlen(f->password));
    free(f->password);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

fsnode_status_t *fsnode_status(fsnode_t *f, int *n)
{
    *n = f ? f->n : 0;
    if (*n == 0)
        return NULL;
    fsnode_status_t *s = xcalloc((size_t)*n, sizeof(*s));
    LOCK(f);
    for (int i = 0; i < *n; i++) {
        s[i] = f->nodes[i].st;
        s[i].generations = s[i].generations ? xstrdup(s[i].generations) : NULL;
    }
    UNLOCK(f);
    return s;
}

void fsnode_status_free(fsnode_status_t *s, int n)
{
    for (int i = 0; s && i < n; i++)
        free(s[i].generations);
    free(s);
}

void fsnode_metrics_render(fsnode_t *f, w3_buf_t *o)
{
    int n = 0;
    fsnode_status_t *s = fsnode_status(f, &n);
    if (n == 0)
        return;
    w3_buf_adds(o, "# HELP w3voipd_fs_node_connected 1 when the FreeSWITCH event socket is connected and "
                   "authenticated.\n# TYPE w3voipd_fs_node_connected gauge\n");
    for (int i = 0; i < n; i++)
        w3_buf_printf(o, "w3voipd_fs_node_connected{node=\"%s\"} %d\n", s[i].node, s[i].connected ? 1 : 0);
    w3_buf_adds(o, "# HELP w3voipd_fs_node_commands_total Commands sent to a FreeSWITCH node, by result.\n"
                   "# TYPE w3voipd_fs_node_commands_total counter\n");
    for (int i = 0; i < n; i++) {
        const char *names[3] = {"ok", "error", "timeout"};
        uint64_t v[3] = {s[i].ok, s[i].error, s[i].timeout};
        for (int k = 0; k < 3; k++)
            w3_buf_printf(o, "w3voipd_fs_node_commands_total{node=\"%s\",result=\"%s\"} %llu\n", s[i].node, names[k],
                          (unsigned long long)v[k]);
    }
    w3_buf_adds(o, "# HELP w3voipd_fs_node_auth_failures_total Event socket passwords a node refused.\n"
                   "# TYPE w3voipd_fs_node_auth_failures_total counter\n");
    for (int i = 0; i < n; i++)
        w3_buf_printf(o, "w3voipd_fs_node_auth_failures_total{node=\"%s\"} %llu\n", s[i].node,
                      (unsigned long long)s[i].auth_failures);
    fsnode_status_free(s, n);
}
