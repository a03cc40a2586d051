/* The change feed mapped to commands. One poll reads what was committed
 * since the last one and turns it into one plan, sent to every node in this
 * order: killgw of every changed, disabled or deleted gateway; one rescan
 * when a gateway was added or changed; xml_flush_cache per changed user
 * (one bare xml_flush_cache past FSNODE_FLUSH_MAX); flush_inbound_reg per
 * disabled or deleted user. Dialplan data needs nothing: FreeSWITCH fetches
 * it per call. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "log.h"

#define ROWS_PER_POLL 512
#define PAGES_PER_POLL 64

typedef struct list {
    char **v;
    int n;
} list_t;

typedef struct plan {
    fsnode_t *f;
    list_t kill;  /* gateway names */
    list_t flush; /* "ext domain" */
    list_t reg;   /* "ext@domain" */
    bool rescan;
    int dropped_kill, dropped_reg;
} plan_t;

static void add(list_t *l, const char *s, int cap, int *dropped)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return;
    if (cap > 0 && l->n >= cap) {
        (*dropped)++;
        return;
    }
    l->v = xrealloc(l->v, (size_t)(l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = xstrdup(s);
}

static void list_free(list_t *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void kill_gw(plan_t *p, const char *name)
{
    if (*name)
        add(&p->kill, name, FSNODE_KILL_MAX, &p->dropped_kill);
}

/* A user whose cached answer is stale; gone: its registration too. */
static void user(plan_t *p, const char *ext, const char *domain, bool gone)
{
    if (!*ext || !*domain)
        return;
    char k[400];
    int unused = 0;
    snprintf(k, sizeof(k), "%s %s", ext, domain);
    if (p->flush.n <= FSNODE_FLUSH_MAX) /* past it: one bare flush */
        add(&p->flush, k, 0, &unused);
    if (gone) {
        snprintf(k, sizeof(k), "%s@%s", ext, domain);
        add(&p->reg, k, FSNODE_REG_MAX, &p->dropped_reg);
    }
}

static int tenant_gw(const char *name, void *arg)
{
    kill_gw(arg, name);
    return 0;
}

struct tenant_users {
    plan_t *p;
    const char *domain;
};

static int tenant_user(const char *ext, void *arg)
{
    struct tenant_users *t = arg;
    user(t->p, ext, t->domain, true);
    return 0;
}

/* A tenant disabled or deleted: every gateway and user of its domain. */
static void tenant_off(plan_t *p, const char *domain)
{
    if (!*domain)
        return;
    struct tenant_users t = {p, domain};
    if (db_feed_domain_gateways(p->f->db, domain, tenant_gw, p) != 0 ||
        db_list_extensions(p->f->db, domain, tenant_user, &t) != 0)
        log_warn("change feed: cannot list a disabled tenant's trunks and users", "domain", domain, NULL);
}

static void row(plan_t *p, const db_feed_row_t *r)
{
    bool ins = strcmp(r->op, "insert") == 0, del = strcmp(r->op, "delete") == 0;
    bool was_on = r->old_enabled == 1, is_on = r->new_enabled == 1;
    if (strcmp(r->table, "voip_trunks") == 0) {
        if (!ins && was_on) /* changed, disabled or deleted: unload it */
            kill_gw(p, r->old_key);
        if (!del && is_on) /* added, changed or enabled: load it */
            p->rescan = true;
    } else if (strcmp(r->table, "voip_extensions") == 0) {
        if (ins)
            return; /* nothing cached yet */
        bool moved = !del && (strcmp(r->old_key, r->new_key) != 0 || strcasecmp(r->old_domain, r->new_domain) != 0);
        user(p, r->old_key, r->old_domain, del || (was_on && !is_on) || moved);
    } else if (strcmp(r->table, "stores") == 0) {
        /* a disabled store's trunks leave purpose=gateways */
        if ((del || (was_on && !is_on)) && *r->old_key &&
            db_feed_store_gateways(p->f->db, r->old_key, tenant_gw, p) != 0)
            log_warn("change feed: cannot list a disabled store's trunks", "store", r->old_key, NULL);
        if (!del && is_on && !was_on)
            p->rescan = true;
    } else if (strcmp(r->table, "tenants") == 0) {
        bool renamed = !ins && !del && strcasecmp(r->old_domain, r->new_domain) != 0;
        if (del || (was_on && !is_on) || (renamed && was_on))
            tenant_off(p, r->old_domain);
        if (!del && is_on && (!was_on || renamed))
            p->rescan = true; /* its trunks are served again */
    }
}

/* gens: the generations read before the rows, so never ahead of them */
static void send_plan(plan_t *p, long long feed_id, const char *gens)
{
    fsnode_t *f = p->f;
    w3_buf_t b = {0};
    bool bare = p->flush.n > FSNODE_FLUSH_MAX;
    for (int i = 0; i < f->n; i++) {
        fsn_node_t *n = &f->nodes[i];
        for (int k = 0; k < p->kill.n; k++) {
            b.len = 0;
            w3_buf_printf(&b, "sofia profile %s killgw %s", f->o.gateway_profile, p->kill.v[k]);
            fsn_enqueue(n, b.data, NULL);
        }
        if (p->rescan) {
            b.len = 0;
            w3_buf_printf(&b, "sofia profile %s rescan", f->o.gateway_profile);
            fsn_enqueue(n, b.data, NULL);
        }
        if (bare)
            fsn_enqueue(n, "xml_flush_cache", NULL);
        for (int k = 0; !bare && k < p->flush.n; k++) {
            b.len = 0;
            w3_buf_printf(&b, "xml_flush_cache id %s", p->flush.v[k]);
            fsn_enqueue(n, b.data, strchr(p->flush.v[k], ' ') + 1);
        }
        for (int k = 0; k < p->reg.n; k++) {
            b.len = 0;
            w3_buf_printf(&b, "sofia profile %s flush_inbound_reg %s", f->o.phone_profile, p->reg.v[k]);
            fsn_enqueue(n, b.data, strchr(p->reg.v[k], '@') + 1);
        }
        fsn_enqueue_marker(n, feed_id, gens);
        fsn_node_kick(n);
    }
    w3_buf_free(&b);
}

bool fsn_feed_poll(fsnode_t *f)
{
    db_feed_row_t *rows = xmalloc(ROWS_PER_POLL * sizeof(*rows));
    plan_t p = {.f = f};
    int n = 0, total = 0, pages = 0;
    bool more = false;
    char *gens = NULL;
    if (db_feed_generations(f->db, &gens) != 0)
        gens = NULL;
    /* a big transaction is read whole (up to PAGES_PER_POLL pages) into one
     * plan, so that it is coalesced once */
    do {
        if (db_feed_read(f->db, f->feed_id, rows, ROWS_PER_POLL, &n) != 0) {
            log_warn("change feed: cannot read the activity log", NULL);
            break;
        }
        for (int i = 0; i < n; i++)
            row(&p, &rows[i]);
        if (n > 0)
            f->feed_id = rows[n - 1].id;
        total += n;
        more = n == ROWS_PER_POLL;
    } while (more && ++pages < PAGES_PER_POLL);
    n = total;
    if (n == 0)
        goto out;
    if (p.dropped_kill || p.dropped_reg) {
        char k[16], r[16];
        snprintf(k, sizeof(k), "%d", p.dropped_kill);
        snprintf(r, sizeof(r), "%d", p.dropped_reg);
        log_warn("change feed: too many changes at once, some gateways/registrations left to expire", "killgw", k,
                 "flush_inbound_reg", r, NULL);
    }
    if (p.kill.n || p.rescan || p.flush.n || p.reg.n) {
        char rn[16], id[24];
        snprintf(rn, sizeof(rn), "%d", n);
        snprintf(id, sizeof(id), "%lld", f->feed_id);
        log_info("change feed: applying", "rows", rn, "through_id", id, NULL);
    }
    send_plan(&p, f->feed_id, gens); /* at least the marker: dialplan changes apply as they are */
out:
    free(gens);
    list_free(&p.kill);
    list_free(&p.flush);
    list_free(&p.reg);
    free(rows);
    return more;
}
