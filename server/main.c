/* w3voipd: parse the configuration, start the server, run until signalled. */
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>

#include "srv.h"

int main(int argc, char **argv)
{
    srv_config_t cfg;
    char *err = NULL;
    bool printed = false;
    int rc = srv_config_parse(&cfg, argc, argv, &printed, &err);
    if (rc == 0 && printed) {
        srv_config_free(&cfg);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "w3voipd: %s\n", err);
        free(err);
        srv_config_free(&cfg);
        return 2;
    }
    if (log_open(cfg.log_file, cfg.log_format) != 0) {
        fprintf(stderr, "w3voipd: cannot open log file %s\n", cfg.log_file);
        srv_config_free(&cfg);
        return 2;
    }
    xmlInitParser();
    srv_t *s = srv_create(&cfg, &err);
    if (s == NULL) {
        fprintf(stderr, "w3voipd: %s\n", err);
        log_error("cannot start", "error", err, NULL);
        free(err);
        srv_config_free(&cfg);
        xmlCleanupParser();
        log_close();
        return 1;
    }
    rc = srv_run(s);
    srv_destroy(s);
    xmlCleanupParser();
    log_close();
    return rc;
}
