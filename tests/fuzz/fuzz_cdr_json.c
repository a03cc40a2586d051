/* Fuzz target: server/ingest/cdr_json.h, the DOM-less JSON reader of the CDR
 * ingest, differentially against jansson (json_loadb, flags 0), the parser
 * it replaced. Input: any bytes. Property (tests/lib/cdr_json_diff.h): both
 * accept the same inputs as a JSON object, and on an accepted one read the
 * same top-level, "variables", "callflow" and "caller_profile" members, byte
 * for byte, the last of duplicate keys. */
#include "../lib/cdr_json_diff.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, not NUL-terminated: the reader must honour size */
    char *b = fuzz_dup(data, size);
    bool accepted = false;
    const char *diff = cdr_json_diff(b, size, &accepted);
    if (fuzz_verbose())
        fprintf(stderr, "fuzz_cdr_json: %s\n", diff ? diff : accepted ? "both accept" : "both refuse");
    if (diff)
        fprintf(stderr, "fuzz_cdr_json: %s\n", diff);
    FUZZ_CHECK(diff == NULL);
    free(b);
    return 0;
}
