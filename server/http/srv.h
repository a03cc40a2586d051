/* The server: N worker threads, each with its own event_base, evhttp,
 * SO_REUSEPORT listening socket on the same port and read-only database
 * connection; one writer thread for every write (writer.h).
 *
 * Ownership: srv_create() takes over the config it is given (its strings
 * are the server's from then on) and returns a server owning its workers,
 * writer and auth; srv_destroy() frees it all and accepts NULL. */
#ifndef W3_SRV_H
#define W3_SRV_H

#include "config.h"

typedef struct srv srv_t;

/* Opens, migrates, binds and locks; NULL with *err (malloc'd) naming what
 * failed. */
srv_t *srv_create(srv_config_t *cfg, char **err);
/* Runs until SIGTERM/SIGINT, then shuts down gracefully. 0. */
int srv_run(srv_t *s);
void srv_destroy(srv_t *s);

#endif
