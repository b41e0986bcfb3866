// libFuzzer's driver entry point (compiler-rt FuzzerInterface.h). SwiftPM links executables with
// its own `main`, so each fuzz target's main.swift calls the driver instead of letting
// libFuzzer's `main` run.
#include <stddef.h>
#include <stdint.h>

typedef int (*cairn_fuzz_callback)(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, cairn_fuzz_callback callback);
