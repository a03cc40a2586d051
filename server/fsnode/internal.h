/* Private to server/fsnode: the node connections (fsnode_esl.c), the change
 * feed (fsnode_feed.c) and the lifecycle (fsnode.c) share these. Everything
 * but the status fields guarded by fsnode.mu is touched only on the fsnode
 * thread. */
#ifndef W3_FSNODE_INTERNAL_H
#define W3_FSNODE_INTERNAL_H

#include <event2/event.h>
#include <pthread.h>

#include "db.h"
#include "fsnode.h"

typedef struct fsn_cmd {
    char *text;   /* the api command, e.g. "sofia profile external rescan" */
    char *domain; /* the tenant it is for, or NULL */
    bool marker;  /* no command: everything before it was answered */
    bool raw;     /* sent as is (not "api ..."), answered by a command/reply */
    bool resync;  /* part of a resync: replaced by the next one */
    long long feed_id;
    char *gens; /* marker: generations as of feed_id */
} fsn_cmd_t;

typedef enum { N_DOWN, N_CONNECTING, N_AUTH_REQUEST, N_AUTH_REPLY, N_READY, N_BUSY } fsn_state_t;

typedef struct fsn_node {
    struct fsnode *f;
    char addr[300];
    char host[256];
    char port[8];
    fsn_state_t state;
    struct bufferevent *bev;
    struct event *retry;   /* reconnect */
    struct event *timeout; /* auth or command deadline */
    double backoff_s;
    fsn_cmd_t *q; /* ring of queue_max */
    int q_head, q_len;
    /* status (fsnode.mu) */
    fsnode_status_t st;
} fsn_node_t;

struct fsnode {
    fsnode_opts_t o;
    char *password;
    pthread_t thread;
    bool started;
    struct event_base *base;
    struct event *poll;
    struct event *stop; /* activated by fsnode_destroy (any thread) */
    db_reader_t *db;
    long long feed_id;
    fsn_node_t *nodes;
    int n;
    pthread_mutex_t mu;
};

/* fsnode_esl.c */
void fsn_node_connect(fsn_node_t *n);
void fsn_node_close(fsn_node_t *n);
/* Sends the head of the queue when the node is ready and idle. */
void fsn_node_kick(fsn_node_t *n);
/* fsnode.c */
void fsn_enqueue(fsn_node_t *n, const char *text, const char *domain);
void fsn_enqueue_marker(fsn_node_t *n, long long feed_id, const char *gens);
/* The resync at connect, put in front of what is queued. */
void fsn_enqueue_resync(fsn_node_t *n);
/* An audio stream that failed (mod_audio_fork::connect_failed): the call
 * is sent to its DID's fallback, ahead of anything queued. */
void fsn_enqueue_ai_fallback(fsn_node_t *n, const char *uuid);
void fsn_cmd_free(fsn_cmd_t *c);
/* fsnode_feed.c: one poll; true when more rows are waiting. */
bool fsn_feed_poll(struct fsnode *f);

#endif
