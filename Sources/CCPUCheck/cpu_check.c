// The vitkit binary is built with AVX2 and FMA code generation on x86-64 (-target-cpu haswell); on a CPU without
// them its first vector instruction would die with SIGILL. This constructor runs before main, and before any of
// that code, and exits with one line naming the missing feature. It is compiled without those flags.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vitkit_cpu_check.h"

const char *vitkit_missing_cpu_feature(void) {
    const char *pretend = getenv("VITKIT_PRETEND_MISSING_CPU_FEATURE");
    if (pretend && *pretend) return pretend;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) return "AVX2";
    if (!__builtin_cpu_supports("fma")) return "FMA";
#endif
    return 0;
}

__attribute__((constructor)) static void vitkit_check_cpu(void) {
    const char *missing = vitkit_missing_cpu_feature();
    if (!missing) return;
    char line[256];
    int n = snprintf(line, sizeof line,
                     "vitkit: this CPU lacks %s, which this x86-64 build needs (AVX2 and FMA: Intel Haswell, AMD "
                     "Excavator/Zen or newer)\n", missing);
    if (n > 0) (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    _exit(1);
}
