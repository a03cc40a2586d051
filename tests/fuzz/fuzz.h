/* Shared declarations of the libFuzzer targets (fuzz_<name>.c) and of the
 * replay driver (replay.c) that runs them on the committed corpora without
 * libFuzzer, under gcc, ASan and valgrind. */
#ifndef W3_FUZZ_H
#define W3_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test that must hold for every input: a
 * violation is a finding, reported like a crash (abort → libFuzzer saves the
 * input, the replay test fails). */
#define FUZZ_CHECK(cond)                                                                                   \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            fprintf(stderr, "fuzz: property violated at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                                       \
        }                                                                                                  \
    } while (0)

#endif
