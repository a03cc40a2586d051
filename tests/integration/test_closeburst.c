/* One connection per request, as mod_xml_curl opens them, far faster than
 * --max-connections-per-ip: a closed connection stops counting at once (not
 * at the next sweep), so a busy FreeSWITCH node is never refused. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

#define THREADS 4
#define PER_THREAD 150

static h_server_t srv;
static char *body;
static int ok200[THREADS];

static void *burst(void *arg)
{
    int *n = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        h_resp_t r;
        h_fs_post(&srv, "/fs/xml", body, strlen(body), srv.user, srv.pass, &r);
        *n += r.status == 200;
        h_resp_free(&r);
    }
    return NULL;
}

int main(void)
{
    const char *extra[] = {"--max-connections-per-ip", "20", "--max-connections", "50", "--workers", "1", NULL};
    if (!ok(h_server_start(&srv, NULL, extra) == 0, "w3voipd starts with --max-connections-per-ip 20"))
        return tap_done();
    body = h_capture("directory-sip_auth-register.form", NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, burst, &ok200[i]);
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += ok200[i];
    }
    is_int(total, THREADS * PER_THREAD, "600 lookups, each on its own connection, 4 at a time: every one answered 200");
    is_int(h_metric(srv.port, "w3voipd_connections_refused_total"), 0, "  ...none refused by a limit");
    free(body);
    is_int(h_server_stop(&srv), 0, "w3voipd exits 0");
    return tap_done();
}
