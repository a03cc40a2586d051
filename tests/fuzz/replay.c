/* Replays a libFuzzer target without libFuzzer: every file of the corpus
 * directories (or single files) given as arguments goes through
 * LLVMFuzzerTestOneInput() once, in name order, so that `make test` re-runs
 * the committed corpora and regressions under gcc, ASan+UBSan and valgrind.
 * Prints TAP: "ok N - <file>" after each input survives, "1..N" at the end.
 * A crash or a violated property aborts the program (the test fails); the
 * "# input:" line just above names the culprit. Files whose name starts
 * with '.' (.gitkeep) are skipped. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#pragma weak LLVMFuzzerInitialize

static int n_ok;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("not ok %d - %s: %s\n", ++n_ok, path, strerror(errno));
        return 1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf == NULL) {
        printf("not ok %d - %s: out of memory\n", ++n_ok, path);
        return 1;
    }
    /* an exact-size copy, so that a read past the input is caught */
    uint8_t *data = (uint8_t *)fuzz_dup((const uint8_t *)buf, len);
    free(buf);
    printf("# input: %s (%zu bytes)\n", path, len);
    fflush(stdout);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    printf("ok %d - %s\n", ++n_ok, path);
    fflush(stdout);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        printf("not ok %d - %s: %s\n", ++n_ok, dir, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (names == NULL)
                abort();
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (names[n] == NULL)
            abort();
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), by_name);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            failed |= run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            failed |= run_dir(argv[i]);
        else
            failed |= run_file(argv[i]);
    }
    printf("1..%d\n", n_ok);
    return failed;
}
