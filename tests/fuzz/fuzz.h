/* Shared declarations of the libFuzzer targets (fuzz_<name>.c) and of the
 * replay driver (replay.c) that runs them on the committed corpora without
 * libFuzzer, under gcc, ASan and valgrind. */
#ifndef W3_FUZZ_H
#define W3_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test that must hold for every input: a
 * violation is a finding, reported like a crash (abort → libFuzzer saves the
 * input, the replay test fails). */
#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz: property violated at %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* W3_FUZZ_VERBOSE=1: the targets print what each input led to (stderr),
 * e.g. build/tests/fuzz/fuzz_replay_dispatch corpus/dispatch */
static inline int fuzz_verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("W3_FUZZ_VERBOSE") != NULL;
    return v;
}

/* An exact-size heap copy of the input (1 byte for an empty one), not
 * NUL-terminated: a read past size is caught by ASan and valgrind. */
static inline char *fuzz_dup(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    FUZZ_CHECK(p != NULL);
    if (size)
        memcpy(p, data, size);
    else
        p[0] = '\0';
    return p;
}

#endif
