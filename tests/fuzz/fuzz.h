#pragma once

#include <glib.h>

/* The entry points of a fuzz harness: libFuzzer's when built with
 * -Dfuzzing=true, otherwise called by fuzz-replay.c for every file of the
 * harness' corpus.  A harness must not leak, crash or abort on any input. */
int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);
