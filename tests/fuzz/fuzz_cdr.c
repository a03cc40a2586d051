/* Fuzz target: server/ingest/cdr.h, the parser of the CDRs FreeSWITCH posts (raw
 * JSON, cdr=%-encoded JSON or XML, cdr=base64, cdr=raw XML, raw XML).
 * Input: the POST body; an input that starts with '?' carries the request's
 * query string on its first line ("?uuid=a_<uuid>\n<body>"), since a CDR
 * body never starts with '?'. Properties: an accepted CDR has every
 * mandatory column, a known leg/direction/disposition, and meta_json that is
 * valid JSON; a refused one has a reason and no string left allocated. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "cdr.h"
#include "fuzz.h"

static int one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return 1;
    return 0;
}

static void check_ts(const char *ts)
{
    if (ts == NULL)
        return;
    size_t n = strlen(ts);
    FUZZ_CHECK(n >= 20 && n < 32);
    FUZZ_CHECK(ts[n - 1] == 'Z');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = NULL;
    const uint8_t *body = data;
    size_t len = size;
    if (size > 0 && data[0] == '?') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t qlen = nl ? (size_t)(nl - data) - 1 : size - 1;
        query = malloc(qlen + 1);
        FUZZ_CHECK(query != NULL);
        memcpy(query, data + 1, qlen);
        query[qlen] = '\0';
        body = nl ? nl + 1 : data + size;
        len = size - (size_t)(body - data);
    }
    /* an exact-size copy, not NUL-terminated: the parser must honour len */
    char *b = fuzz_dup(body, len);

    cdr_rec_t rec;
    const char *why = NULL;
    int rc = cdr_parse(b, len, query, &rec, &why);
    if (fuzz_verbose())
        fprintf(stderr, "fuzz_cdr: %s\n", rc ? why : rec.format);
    if (rc == 0) {
        static const char *const legs[] = {"A", "B"};
        static const char *const dirs[] = {"inbound", "outbound", "internal"};
        static const char *const disp[] = {"ANSWERED", "BUSY", "NO ANSWER", "FAILED"};
        FUZZ_CHECK(rec.format != NULL);
        FUZZ_CHECK(rec.fs_core_uuid != NULL && rec.fs_uuid != NULL && rec.call_id != NULL);
        FUZZ_CHECK(rec.leg != NULL && one_of(rec.leg, legs, 2));
        FUZZ_CHECK(rec.direction != NULL && one_of(rec.direction, dirs, 3));
        FUZZ_CHECK(rec.disposition != NULL && one_of(rec.disposition, disp, 4));
        FUZZ_CHECK(rec.billsec >= 0);
        FUZZ_CHECK(rec.from_uri == NULL || strncmp(rec.from_uri, "sip:", 4) == 0);
        FUZZ_CHECK(rec.to_uri == NULL || strncmp(rec.to_uri, "sip:", 4) == 0);
        FUZZ_CHECK((strcmp(rec.disposition, "ANSWERED") == 0) == (rec.answer_ts != NULL));
        check_ts(rec.start_ts);
        check_ts(rec.answer_ts);
        check_ts(rec.end_ts);
        /* meta_json is stored as is and served by the API: valid JSON */
        FUZZ_CHECK(rec.meta_json != NULL);
        json_error_t err;
        json_t *j = json_loadb(rec.meta_json, rec.meta_json_len, 0, &err);
        FUZZ_CHECK(j != NULL && json_is_object(j));
        json_decref(j);
    } else {
        FUZZ_CHECK(rc == -EINVAL);
        FUZZ_CHECK(why != NULL);
        FUZZ_CHECK(rec.fs_uuid == NULL && rec.call_id == NULL && rec.meta_json == NULL && rec.leg == NULL);
    }
    cdr_rec_free(&rec);
    cdr_rec_free(&rec); /* idempotent */
    free(b);
    free(query);
    return 0;
}
