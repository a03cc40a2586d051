/* w3voip render: the exact answer of w3voipd for a captured mod_xml_curl
 * body, through the same lookup_answer() the server runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "lookup.h"
#include "util.h"

int cli_render(int argc, char **argv)
{
    const char *db_path = NULL;
    const cli_opt_t opts[] = {{"db", &db_path, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    if (cli_parse(argc, argv, opts, 1, pos, 1, &npos, &help) != 0)
        return 2;
    if (help || db_path == NULL || npos != 1) {
        fprintf(help ? stdout : stderr, "Usage: w3voip render --db FILE REQUEST\n\n"
                                        "Prints the document w3voipd would answer to the mod_xml_curl request body\n"
                                        "in file REQUEST ('-' = standard input), e.g. one saved with\n"
                                        "fs_cli -x 'xml_curl debug_on' or a capture of the source tree such as\n"
                                        "fixtures/captures/directory-sip_auth-register.form. The HTTP status\n"
                                        "goes to standard error when it is not 200.\n"
                                        "Settings such as W3_CACHEABLE_MS or W3_FORK_COMMAND are read from the\n"
                                        "environment, as w3voipd reads them.\n"
                                        "Exit status: 0 the answer is 200, 1 any other status or the database cannot\n"
                                        "be read, 2 usage error (also: REQUEST cannot be read).\n");
        return help ? 0 : 2;
    }
    char *body = NULL;
    size_t len = 0;
    int rc;
    if (strcmp(pos[0], "-") == 0) {
        w3_buf_t b = {0};
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
            w3_buf_add(&b, chunk, n);
        body = b.data ? b.data : xstrdup("");
        len = b.len;
        rc = 0;
    } else {
        rc = w3_read_file(pos[0], 16 * 1024 * 1024, &body, &len);
    }
    if (rc != 0) {
        fprintf(stderr, "render: cannot read %s: %s\n", pos[0], strerror(-rc));
        return 2;
    }
    /* trailing newline of a file saved by hand is not part of the body */
    while (len && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        body[--len] = '\0';

    srv_config_t cfg;
    db_reader_t *db;
    lookup_cache_t *cache;
    rc = cli_open("render", db_path, &cfg, &db, &cache);
    if (rc != 0) {
        free(body);
        return rc == -EINVAL ? 2 : 1; /* bad settings: usage; cannot open: error */
    }
    lookup_ctx_t ctx = {.db = db, .cfg = &cfg, .cache = cache};
    lookup_result_t res;
    lookup_answer(&ctx, body, len, &res);
    if (res.rc == 0)
        fwrite(res.body.data, 1, res.body.len, stdout);
    else
        fprintf(stderr, "render: HTTP %d: %s\n", lookup_http_status(res.rc), res.error ? res.error : "");
    rc = res.rc == 0 ? 0 : 1;
    lookup_result_free(&res);
    cli_close(&cfg, db, cache);
    free(body);
    return rc;
}
