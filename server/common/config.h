/* w3voipd settings: every flag has a matching W3_* environment variable; a
 * flag wins over the environment. Ownership: srv_config_free() releases the
 * strings srv_config_parse() duplicated. */
#ifndef W3_CONFIG_H
#define W3_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"
#include "secret.h"

typedef struct srv_config {
    char *db_path;
    char *listen_host;
    int listen_port;
    int workers;
    char *fs_user; /* static credentials for /fs/... (NULL = JWT only) */
    char *fs_pass;
    char *jwt_key_path;
    char *fs_credentials_path; /* where fs_user/fs_pass came from, if a file */
    char *secrets_dir;         /* secret_ref scope (secret.h) */
    char *secret_env_prefix;
    log_format_t log_format;
    char *log_file;
    char *pidfile;
    char *port_file;
    double idle_timeout_s;    /* evhttp read/write idle timeout */
    double request_timeout_s; /* per request: since accepted or last answered */
    int db_busy_timeout_ms;
    int writer_batch_max;
    double writer_delay_s;
    double shutdown_grace_s;
    size_t xml_body_max;
    size_t cdr_body_max;
    size_t api_body_max;
    size_t provision_body_max;
    size_t answer_cache_bytes; /* per worker; 0 = no answer cache */
    int max_connections;
    int cacheable_ms;
    long jwt_leeway_s;
    /* dialplan */
    char *fork_command; /* template, see --help */
    char *voice_gateway_url;
    char *announcement;
    /* FreeSWITCH event sockets told of every change (server/fsnode) */
    char **fs_nodes; /* "HOST:PORT", fs_nodes_n of them */
    int fs_nodes_n;
    bool fs_nodes_from_env;
    char *fs_node_password; /* mod_event_socket's password (wiped on free) */
    char *fs_gateway_profile;
    char *fs_phone_profile;
    int ai_max_seconds; /* without nodes: the longest parked AI call (0 = unbounded) */
    /* network safety (listen port -1 = --listen off) */
    double header_timeout_s;    /* a complete request within this long */
    int max_connections_per_ip; /* 0 = no per-address limit */
    char *tls_listen_host;      /* NULL = no TLS listener */
    int tls_listen_port;
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca; /* asks for a client cert; /fs/... then needs one */
} srv_config_t;

/* cacheable="ms" on directory users when nodes are configured and no
 * --cacheable is given (README, "FreeSWITCH follows every change"). */
#define SRV_CACHEABLE_WITH_NODES_MS 300000

/* 0 on success, with *printed true when --help/--version was printed (the
 * caller exits 0 without starting); -EINVAL with *err (malloc'd) naming the
 * bad flag or value. */
int srv_config_parse(srv_config_t *c, int argc, char **argv, bool *printed, char **err);
void srv_config_usage(FILE *f);
void srv_config_free(srv_config_t *c);
/* The scope of trunk secret_refs under these settings; forbidden is the
 * storage of its NULL-terminated list (valid while c is). */
void srv_config_secret_scope(const srv_config_t *c, secret_scope_t *scope, const char *forbidden[3]);
/* Fills defaults without reading argv or the environment (tests, CLI). */
void srv_config_defaults(srv_config_t *c);

#endif
