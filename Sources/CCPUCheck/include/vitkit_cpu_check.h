#ifndef VITKIT_CPU_CHECK_H
#define VITKIT_CPU_CHECK_H

/// The first CPU feature the binary's code needs that this CPU lacks ("AVX2", "FMA"), or 0 when none is missing
/// (and always 0 off x86-64). VITKIT_PRETEND_MISSING_CPU_FEATURE=NAME stands for a CPU without NAME (tests).
const char *vitkit_missing_cpu_feature(void);

#endif
