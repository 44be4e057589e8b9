// Counts malloc/calloc/realloc calls of a whole process (LD_PRELOAD) and prints "mallocs=N" at exit.
// Built and used by AllocationTests; not part of ViTKit.
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
static long count = 0;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
void *malloc(size_t n) { __sync_fetch_and_add(&count, 1); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { __sync_fetch_and_add(&count, 1); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { __sync_fetch_and_add(&count, 1); return __libc_realloc(p, n); }
__attribute__((destructor)) static void report(void) { fprintf(stderr, "mallocs=%ld\n", count); }
