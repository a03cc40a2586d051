/* Open connections per client address, shared by every worker, for
 * --max-connections-per-ip: one address flooding idle sockets cannot take
 * the connection slots of the others (FreeSWITCH's lookups).
 *
 * Ownership: peers_create() returns a table the caller frees with
 * peers_destroy() (NULL is fine) once no worker runs. */
#ifndef W3_PEERS_H
#define W3_PEERS_H

#include <stdbool.h>

typedef struct peers peers_t;

/* max 0 = no per-address limit (counts are still kept). */
peers_t *peers_create(int max);
void peers_destroy(peers_t *p);
/* Counts one more connection from addr; false when that passes the limit
 * (the connection is counted all the same: release it like the others). */
bool peers_acquire(peers_t *p, const char *addr);
void peers_release(peers_t *p, const char *addr);

#endif
