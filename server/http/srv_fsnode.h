/* The server's event-socket client (server/fsnode) with its settings, and a
 * failed apply recorded in the activity log through the writer thread.
 *
 * Ownership: the caller owns the fsnode_t (fsnode_destroy); it must be
 * destroyed before the writer it was given. */
#ifndef W3_SRV_FSNODE_H
#define W3_SRV_FSNODE_H

#include "config.h"
#include "fsnode.h"
#include "writer.h"

/* 0 with *out NULL when no --fs-node is configured; -EIO with *err. */
int srv_fsnode_create(const srv_config_t *cfg, writer_t *writer, fsnode_t **out, char **err);

#endif
