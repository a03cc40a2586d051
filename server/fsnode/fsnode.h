/* FreeSWITCH follows every change: the event-socket client. One thread with
 * its own event loop keeps one inbound connection per node (mod_event_socket:
 * auth, then `api` commands answered by api/response), polls the change feed
 * (the activity log, db_feed_read) every poll_s and sends each node the
 * commands a change needs, in order: killgw..., rescan, xml_flush_cache...,
 * flush_inbound_reg.... A node that connects is resynced first (rescan of the
 * gateway profile, a flush of every cached user). Nothing here ever runs on
 * a lookup's thread, so a slow, silent or dead node delays no answer.
 *
 * Ownership: fsnode_create() copies every string of its options; the caller
 * owns the fsnode_t and frees it with fsnode_destroy() (NULL is a no-op),
 * which stops the thread and closes the connections. fsnode_status() fills
 * a malloc'd array freed with fsnode_status_free(). */
#ifndef W3_FSNODE_H
#define W3_FSNODE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* A command a node answered with an error (or never answered within the
 * command timeout): called on the fsnode thread; domain may be NULL. */
typedef void (*fsnode_failed_fn)(const char *node, const char *command, const char *reply, const char *domain,
                                 void *arg);

typedef struct fsnode_opts {
    const char *const *nodes; /* "HOST:PORT" */
    int nodes_n;
    const char *password;
    const char *gateway_profile; /* sofia profile of the trunks (external) */
    const char *phone_profile;   /* sofia profile of the phones (internal) */
    const char *db_path;
    int busy_ms;
    double poll_s;            /* change feed poll interval (default 0.2) */
    double auth_timeout_s;    /* connect + auth/request + auth reply (default 2) */
    double command_timeout_s; /* one api command (default FSNODE_COMMAND_TIMEOUT_S) */
    int queue_max;            /* commands queued per node (default 4096) */
    fsnode_failed_fn failed;
    void *failed_arg;
} fsnode_opts_t;

#define FSNODE_COMMAND_TIMEOUT_S 5.0
#define FSNODE_RETRY_FIRST_S 0.5 /* a lost node is retried after this... */
#define FSNODE_RETRY_MAX_S 5.0   /* ...then with a doubling delay capped here */
/* Coalescing of one poll's changes: more extension flushes than this become
 * one bare xml_flush_cache; registrations and gateways past their caps are
 * left to expire (logged). */
#define FSNODE_FLUSH_MAX 32
#define FSNODE_REG_MAX 100
#define FSNODE_KILL_MAX 256
/* The mod_audio_fork events each node is subscribed to; on connect_failed
 * the call (the event's Unique-ID) is moved to its DID's fallback with
 * uuid_setvar + uuid_transfer <uuid> w3_ai_result XML public. */
#define FSNODE_AI_EVENTS "mod_audio_fork::connect mod_audio_fork::connect_failed mod_audio_fork::disconnect"

typedef struct fsnode fsnode_t;

/* Opens its read connection and starts its thread; NULL with *err. */
fsnode_t *fsnode_create(const fsnode_opts_t *o, char **err);
void fsnode_destroy(fsnode_t *f);

typedef struct fsnode_status {
    char node[300];
    bool connected;
    long long since_ms;   /* epoch ms of the last connect or loss (0 = never) */
    long long applied_id; /* activity-log id up to which every command was answered */
    char *generations;    /* JSON object tenant_id -> generation applied, or NULL */
    char last_error[256];
    uint64_t ok, error, timeout, auth_failures;
    int queued; /* commands waiting (the one in flight included) */
} fsnode_status_t;

/* A consistent copy of every node's state (any thread). *n nodes. */
fsnode_status_t *fsnode_status(fsnode_t *f, int *n);
void fsnode_status_free(fsnode_status_t *s, int n);
/* Appends w3voipd_fs_node_* samples (any thread; nothing when f is NULL). */
void fsnode_metrics_render(fsnode_t *f, w3_buf_t *out);

#endif
