/* Subcommands of w3voip (one file per family). Each gets argv without the
 * program name (argv[0] is the command) and returns the exit code. */
#ifndef W3_CLI_H
#define W3_CLI_H

#include <stdbool.h>

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

/* Tiny option reader: --name VALUE or --name=VALUE; positional args are
 * collected in order. Returns -1 (message printed) on an unknown option. */
typedef struct cli_opt {
    const char *name;
    const char **value; /* NULL for a boolean flag */
    bool *flag;
} cli_opt_t;
int cli_parse(int argc, char **argv, const cli_opt_t *opts, int nopts, const char **pos, int maxpos, int *npos,
              bool *help);

#endif
