/* Log lines are valid UTF-8 whatever the caller sent (a REGISTER for user
 * %FF%FE, a dialled %C3%28): invalid bytes are escaped, \xFF in logfmt and
 * \u00ff in JSON; valid multi-byte characters pass as they are. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "tap.h"
#include "util.h"

/* Logs one event in fmt to a fresh file and returns the file's text. */
static char *log_once(const char *dir, log_format_t fmt, const char *value)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.log", dir, fmt == LOG_FMT_JSON ? "json" : "logfmt");
    remove(path);
    if (log_open(path, fmt) != 0)
        return NULL;
    log_info("lookup \xc3\x28", "user", value, "ok", "caf\xc3\xa9", NULL);
    log_close();
    char *data = NULL;
    return w3_read_file(path, 1 << 20, &data, NULL) == 0 ? data : NULL;
}

/* w3_utf8_valid_prefix reads ASCII eight bytes at a time: a bad or
 * multi-byte sequence at every offset of a long ASCII run is still found. */
static void valid_prefix(void)
{
    static const char *const seqs[] = {"\xff", "\xc3\x28", "\xed\xa0\x80", "\xe2\x82", "\xc3\xa9", "\xf0\x9f\x98\x80"};
    static const size_t good[] = {0, 0, 0, 0, 2, 4}; /* bytes of the sequence that are valid */
    size_t wrong = 0;
    for (size_t s = 0; s < W3_ARRAY_LEN(seqs); s++)
        for (size_t at = 0; at < 40; at++)
            for (size_t tail = 0; tail < 12; tail += 11) {
                char buf[64];
                memset(buf, 'a', sizeof(buf));
                size_t k = strlen(seqs[s]);
                memcpy(buf + at, seqs[s], k);
                size_t n = at + k + tail;
                size_t want = good[s] ? n : at;
                if (w3_utf8_valid_prefix(buf, n) != want)
                    wrong++;
            }
    is_int((int)wrong, 0, "w3_utf8_valid_prefix: bad and multi-byte sequences found at every offset of an ASCII run");
    is_int((int)w3_utf8_valid_prefix("abcdefgh\xc3", 9), 8, "a sequence cut at the end is not valid");
}

static int scheduled;
static void on_schedule(void *arg)
{
    (void)arg;
    scheduled++;
}

static size_t file_len(const char *path)
{
    char *data = NULL;
    size_t n = 0;
    if (w3_read_file(path, 1 << 20, &data, &n) != 0)
        return (size_t)-1;
    free(data);
    return n;
}

/* A batching thread's lines reach the file at log_thread_flush(), whole and
 * in order; schedule runs once per batch; a batch that would pass 16 KiB is
 * written first; unbatch writes what is left. */
static void batching(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/batch.log", dir);
    remove(path);
    if (log_open(path, LOG_FMT_LOGFMT) != 0) {
        ok(false, "log opened");
        return;
    }
    log_thread_batch(on_schedule, NULL);
    log_info("one", "n", "1", NULL);
    log_info("two", "n", "2", NULL);
    is_int((int)file_len(path), 0, "batched lines wait for the flush");
    is_int(scheduled, 1, "the flush is scheduled once for a batch of two lines");
    log_thread_flush();
    size_t after = file_len(path);
    char *data = NULL;
    w3_read_file(path, 1 << 20, &data, NULL);
    const char *one = data ? strstr(data, "msg=one") : NULL, *two = data ? strstr(data, "msg=two") : NULL;
    ok(one && two && one < two, "the flush writes both lines, in order");
    free(data);
    log_info("three", "n", "3", NULL);
    is_int(scheduled, 2, "the next line starts a new batch");
    char big[1024];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 20; i++) /* 20 KiB: more than one buffer holds */
        log_info("big", "v", big, NULL);
    ok(file_len(path) > after, "a full buffer is written without waiting for the flush");
    log_thread_unbatch();
    data = NULL;
    size_t n = 0;
    w3_read_file(path, 1 << 20, &data, &n);
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += data[i] == '\n';
    is_int(lines, 23, "unbatch writes the rest: every line is in the file once");
    free(data);
    log_info("four", "n", "4", NULL);
    ok(file_len(path) > n, "after unbatch a line is written at once");
    log_close();
}

int main(void)
{
    valid_prefix();
    char *dir = h_tmpdir();
    const char *bad = "\xff\xfe-\xc3\x28-\xed\xa0\x80-\xf4\x90\x80\x80-\xe2\x82"; /* none of it UTF-8 */

    char *l = log_once(dir, LOG_FMT_LOGFMT, bad);
    ok(l != NULL, "logfmt line written");
    if (l) {
        size_t n = strlen(l);
        is_int(w3_utf8_valid_prefix(l, n), n, "logfmt line is valid UTF-8");
        ok(strstr(l, "user=\"\\xFF\\xFE-\\xC3(-\\xED\\xA0\\x80-\\xF4\\x90\\x80\\x80-\\xE2\\x82\"") != NULL,
           "logfmt escapes each invalid byte as \\xHH");
        printf("# %s", l);
        ok(strstr(l, "msg=\"lookup \\xC3(\"") != NULL, "the message is escaped too");
        ok(strstr(l, "ok=\"caf\xc3\xa9\"") != NULL, "a valid é is kept as it is");
    }
    free(l);

    l = log_once(dir, LOG_FMT_JSON, bad);
    ok(l != NULL, "JSON line written");
    if (l) {
        size_t n = strlen(l);
        is_int(w3_utf8_valid_prefix(l, n), n, "JSON line is valid UTF-8");
        json_error_t err;
        json_t *j = json_loads(l, 0, &err);
        ok(j != NULL, "JSON line parses strictly: %s", j ? "yes" : err.text);
        is_str(json_string_value(json_object_get(j, "user")),
               "\xc3\xbf\xc3\xbe-\xc3\x83(-\xc3\xad\xc2\xa0\xc2\x80-\xc3\xb4\xc2\x90\xc2\x80\xc2\x80-\xc3\xa2\xc2\x82",
               "each invalid byte is \\u00XX in JSON");
        is_str(json_string_value(json_object_get(j, "ok")), "caf\xc3\xa9", "a valid é is kept in JSON");
        ok(strstr(l, "\\u00ff\\u00fe") != NULL, "escaped as \\u00ff");
        printf("# %s", l);
        json_decref(j);
    }
    free(l);
    batching(dir);
    h_rmrf(dir);
    free(dir);
    return tap_done();
}
