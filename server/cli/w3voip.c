/* w3voip — the operator's command line. Each subcommand is one function;
 * exit codes: 0 done, 1 the check/operation found a problem or failed, 2
 * usage error; explain adds 3 (the call is rejected). Each --help says its
 * own, and usage() sums them up. */
#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_jwt.h"
#include "cli.h"
#include "db.h"
#include "util.h"

static int usage(FILE *f)
{
    fprintf(f, "Usage: w3voip COMMAND [options]   (w3voip COMMAND --help for details)\n"
               "\n"
               "Commands:\n"
               "  init    --db FILE                 create or migrate a database (idempotent)\n"
               "  a1      EXT DOMAIN [PASSWORD]     digest a1-hash for voip_extensions.a1_hash\n"
               "  token   --key FILE [claims]       mint a JWT for the W3 API or /fs/...\n"
               "  render  --db FILE REQUEST         the exact XML w3voipd answers for a captured body\n"
               "  explain --db FILE --did N | --domain D --ext E --dial N\n"
               "                                    why a call goes where it goes\n"
               "  check   --db FILE                 consistency report of the data\n"
               "  export  --db FILE --domain D --out DIR\n"
               "                                    static FreeSWITCH XML for one domain\n"
               "  apply   --db FILE --domain D [--dry-run] SNAPSHOT.json\n"
               "                                    make a tenant hold exactly that desired state\n"
               "\n"
               "Exit status (each COMMAND --help has the details):\n"
               "  0  done: init, a1, token; render: the answer is 200; explain: the call is\n"
               "     routed; check: nothing wrong; export: complete\n"
               "  1  init, token: failed; render: another status; explain: error; check:\n"
               "     problems found; export: something was left out (files written);\n"
               "     apply: refused (reason on stderr)\n"
               "  2  usage error (unknown command or option, missing argument)\n"
               "  3  explain: the call is rejected\n");
    return f == stderr ? 2 : 0;
}

static const struct cli_command commands[] = {
    {"init", cli_init},   {"a1", cli_a1},           {"token", cli_token},   {"render", cli_render},
    {"check", cli_check}, {"explain", cli_explain}, {"export", cli_export}, {"apply", cli_apply},
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
        return usage(stdout);
    if (strcmp(argv[1], "--version") == 0) {
        printf("w3voip %s\n", W3_VERSION);
        return 0;
    }
    for (size_t i = 0; i < W3_ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            xmlInitParser();
            int rc = commands[i].run(argc - 1, argv + 1);
            xmlCleanupParser();
            return rc;
        }
    fprintf(stderr, "w3voip: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
