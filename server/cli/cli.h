/* Subcommands of w3voip (one file per family). Each gets argv without the
 * program name (argv[0] is the command) and returns the exit code. */
#ifndef W3_CLI_H
#define W3_CLI_H

#include <stdbool.h>

#include "config.h"
#include "db.h"
#include "lookup.h"

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
};

int cli_init(int argc, char **argv);
int cli_a1(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_render(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_apply(int argc, char **argv);

/* The server's settings (environment, as w3voipd reads them), a read-only
 * connection and a route-pattern cache, for the subcommands that run the
 * server's lookup code. 0; -EINVAL when the settings are bad, -EIO when the
 * database cannot be opened (message printed on stderr, nothing left to
 * free). The caller maps these to its exit code (2 usage/settings, 1 cannot
 * open) and frees with cli_close() on success. */
/* The server's settings alone (cli_open() without the database): 0, or
 * -EINVAL with the message printed and nothing left to free. */
int cli_settings(const char *cmd, const char *db_path, srv_config_t *cfg);
int cli_open(const char *cmd, const char *db_path, srv_config_t *cfg, db_reader_t **db, lookup_cache_t **cache);
void cli_close(srv_config_t *cfg, db_reader_t *db, lookup_cache_t *cache);

/* Tiny option reader: --name VALUE or --name=VALUE; positional args are
 * collected in order. 0, or -EINVAL (message printed) on an unknown option,
 * a missing value or one positional argument too many. */
typedef struct cli_opt {
    const char *name;
    const char **value; /* NULL for a boolean flag */
    bool *flag;
} cli_opt_t;
int cli_parse(int argc, char **argv, const cli_opt_t *opts, int nopts, const char **pos, int maxpos, int *npos,
              bool *help);

#endif
