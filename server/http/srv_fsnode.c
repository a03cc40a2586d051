/* Wires the event-socket client to the settings and the writer. */
#include "srv_fsnode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

typedef struct failed_job {
    char *node, *command, *reply, *domain;
} failed_job_t;

static int failed_store(db_conn_t *db, void *arg)
{
    failed_job_t *j = arg;
    return db_feed_failed_insert(db, j->node, j->command, j->reply, j->domain);
}

static void failed_done(void *arg, int rc)
{
    failed_job_t *j = arg;
    if (rc != 0)
        log_warn("cannot record a failed apply in the activity log", "node", j->node, "command", j->command, NULL);
    free(j->node);
    free(j->command);
    free(j->reply);
    free(j->domain);
    free(j);
}

/* On the fsnode thread: queued to the writer, never waited for. */
static void on_failed(const char *node, const char *command, const char *reply, const char *domain, void *arg)
{
    failed_job_t *j = xcalloc(1, sizeof(*j));
    j->node = xstrdup(node);
    j->command = xstrdup(command);
    j->reply = xstrdup(reply);
    j->domain = domain ? xstrdup(domain) : NULL;
    if (writer_submit(arg, NULL, failed_store, failed_done, j) != 0) {
        log_warn("write queue full: a failed apply is only logged", "node", node, "command", command, NULL);
        failed_done(j, 0);
    }
}

int srv_fsnode_create(const srv_config_t *cfg, writer_t *writer, fsnode_t **out, char **err)
{
    *out = NULL;
    if (cfg->fs_nodes_n == 0)
        return 0;
    fsnode_opts_t o = {
        .nodes = (const char *const *)cfg->fs_nodes,
        .nodes_n = cfg->fs_nodes_n,
        .password = cfg->fs_node_password,
        .gateway_profile = cfg->fs_gateway_profile,
        .phone_profile = cfg->fs_phone_profile,
        .db_path = cfg->db_path,
        .busy_ms = cfg->db_busy_timeout_ms,
        .failed = on_failed,
        .failed_arg = writer,
    };
    *out = fsnode_create(&o, err);
    return *out ? 0 : -EIO;
}
