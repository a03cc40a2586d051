/* Strict HTTP/1.1 framing, checked on the raw bytes as they reach evhttp's
 * input buffer, before evhttp parses them (libevent takes the first of two
 * Content-Length headers and cuts header values at a NUL byte, so what
 * follows could run as a smuggled request). Each header block is refused
 * when it has a NUL byte, two Content-Length, a Content-Length and a
 * Transfer-Encoding, a length that is not plain digits (signed, a list),
 * a Transfer-Encoding other than chunked, or a folded line: what is still
 * unparsed is then replaced by a line evhttp cannot parse, so evhttp
 * answers 400 with Connection: close and closes, and nothing after it is
 * read as a request. Bodies (Content-Length or chunked) are followed byte
 * for byte, so the next header block is found exactly.
 *
 * It also tells when the connection is waiting for a request to complete
 * (since it was accepted, or since the first byte of a later request), for
 * --header-timeout.
 *
 * Ownership: framing_attach() returns state the caller frees with
 * framing_destroy() (NULL is fine) once the bufferevent is gone or no
 * longer read. */
#ifndef W3_FRAMING_H
#define W3_FRAMING_H

#include <event2/bufferevent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct framing framing_t;

/* receiving counts the requests of every connection whose first byte has
 * arrived and that have not been dispatched yet (a graceful shutdown waits
 * for them too). */
framing_t *framing_attach(struct bufferevent *bev, atomic_int *receiving);
/* The request read so far reached a route. */
void framing_dispatched(framing_t *f);
void framing_destroy(framing_t *f);
/* Why a header block was refused, or NULL. */
const char *framing_error(const framing_t *f);
/* true while a request is incomplete; *since_us: when it started. */
bool framing_waiting(const framing_t *f, uint64_t *since_us);

#endif
