/* A fake FreeSWITCH event socket (mod_event_socket, inbound) for the tests:
 * its own thread on 127.0.0.1, speaking the framing of FreeSWITCH 1.10.12
 * (Content-Type: auth/request on connect; command/reply with Reply-Text;
 * api/response with Content-Length; text/disconnect-notice after a refused
 * password) and recording every api/bgapi command it receives, in order.
 *
 * Ownership: fesl_start() returns a node freed by fesl_stop() (which closes
 * every connection); fesl_cmd() returns a malloc'd copy. */
#ifndef W3_FAKE_ESL_H
#define W3_FAKE_ESL_H

#include <stdbool.h>

typedef struct fesl fesl_t;

typedef struct fesl_opts {
    int port;             /* 0 = any free port */
    const char *password; /* what "auth" must carry */
    bool silent;          /* accept connections and never send a byte */
    const char *fail;     /* a command containing this gets "-ERR simulated failure" */
    bool mute_api;        /* authenticates, then never answers an api command */
} fesl_opts_t;

fesl_t *fesl_start(const fesl_opts_t *o);
void fesl_stop(fesl_t *f);
int fesl_port(const fesl_t *f);
/* Commands received so far ("sofia profile external rescan", without the
 * "api " prefix; a bgapi one keeps "bgapi "). */
int fesl_count(fesl_t *f);
char *fesl_cmd(fesl_t *f, int i);
/* Waits until at least n commands were received; false after timeout_ms. */
bool fesl_wait(fesl_t *f, int n, int timeout_ms);
/* Connections accepted and auth attempts seen, and the monotonic time in
 * ms of the i-th connection. */
int fesl_connections(fesl_t *f);
int fesl_auth_attempts(fesl_t *f);
long long fesl_connection_ms(fesl_t *f, int i);
long long fesl_now_ms(void);
/* The last "event plain ..." subscription line (malloc'd), or NULL. */
char *fesl_subscription(fesl_t *f);
/* Sends a CUSTOM event (text/event-plain, values url-encoded as FreeSWITCH
 * does) to every subscribed client; returns how many got it. */
int fesl_emit(fesl_t *f, const char *subclass, const char *uuid);

#endif
