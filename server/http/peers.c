/* Connections per client address (peers.h). */
#include "peers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BUCKETS 4096

typedef struct peer {
    struct peer *next;
    int n;
    char addr[];
} peer_t;

struct peers {
    pthread_mutex_t lock;
    int max;
    peer_t *slots[BUCKETS];
};

static size_t slot_of(const char *s)
{
    size_t h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h % BUCKETS;
}

peers_t *peers_create(int max)
{
    peers_t *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->max = max;
    return p;
}

void peers_destroy(peers_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        while (p->slots[i]) {
            peer_t *e = p->slots[i];
            p->slots[i] = e->next;
            free(e);
        }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

bool peers_acquire(peers_t *p, const char *addr)
{
    size_t k = slot_of(addr);
    pthread_mutex_lock(&p->lock);
    peer_t *e = p->slots[k];
    while (e && strcmp(e->addr, addr) != 0)
        e = e->next;
    if (e == NULL) {
        size_t n = strlen(addr) + 1;
        e = xcalloc(1, sizeof(*e) + n);
        memcpy(e->addr, addr, n);
        e->next = p->slots[k];
        p->slots[k] = e;
    }
    int n = ++e->n;
    pthread_mutex_unlock(&p->lock);
    return p->max == 0 || n <= p->max;
}

void peers_release(peers_t *p, const char *addr)
{
    size_t k = slot_of(addr);
    pthread_mutex_lock(&p->lock);
    for (peer_t **pp = &p->slots[k]; *pp; pp = &(*pp)->next) {
        peer_t *e = *pp;
        if (strcmp(e->addr, addr) != 0)
            continue;
        if (--e->n == 0) {
            *pp = e->next;
            free(e);
        }
        break;
    }
    pthread_mutex_unlock(&p->lock);
}
