// One-thread OpenBLAS sgemm rates on the shapes a vit_tiny_patch2_32 training step at 64×64 (1025 tokens,
// batch 8, dim 192, head dim 64) runs, next to a large square product: how close the BLAS itself gets to the FMA
// peak that `vitkit bench` probes. Issue 18's record, docs/long-attention/gemm-rates.txt.
//
//   gcc -O2 scripts/gemm_rates.c -o /tmp/gemm_rates -lopenblas && OPENBLAS_NUM_THREADS=1 /tmp/gemm_rates
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *filled(long n) {
    float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
    for (long i = 0; i < n; i++) p[i] = 1e-3f * (float)(i % 13);
    return p;
}

// C[m×n] = op(A) op(B), row-major, leading dimensions as given; the best of `rounds` timings of `reps` calls.
static void rate(const char *name, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc, float beta,
                 int reps) {
    float *a = filled((long)(ta ? k : m) * lda), *b = filled((long)(tb ? n : k) * ldb), *c = filled((long)m * ldc);
    double best = 0;
    for (int round = 0; round < 3; round++) {
        double t0 = now();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1, a,
                        lda, b, ldb, beta, c, ldc);
        double g = 2.0 * m * n * k * reps / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    printf("%-44s %5d x %5d x %5d  %6.1f GFLOP/s\n", name, m, n, k, best);
    free(a); free(b); free(c);
}

int main(void) {
    const int t = 1025, rows = 8 * t, d = 192, hd = 64, ld = 3 * d, tile = 240, ls = 1040;
    rate("square", 0, 0, 2048, 2048, 2048, 2048, 2048, 2048, 0, 3);
    rate("linear fwd qkv (x W^T)", 0, 1, rows, 3 * d, d, d, d, 3 * d, 0, 5);
    rate("linear fwd fc1", 0, 1, rows, 4 * d, d, d, d, 4 * d, 0, 5);
    rate("linear fwd fc2", 0, 1, rows, d, 4 * d, 4 * d, 4 * d, d, 0, 5);
    rate("linear bwd input fc1 (dy W)", 0, 0, rows, d, 4 * d, 4 * d, d, d, 0, 5);
    rate("linear bwd weight fc1 (dy^T x)", 1, 0, 4 * d, d, rows, 4 * d, d, d, 0, 5);
    rate("attention tile S = Q K^T", 0, 1, tile, t, hd, ld, ld, ls, 0, 100);
    rate("attention tile O = P V", 0, 0, tile, hd, t, ls, ld, d, 0, 100);
    rate("attention tile dV += P^T dO", 1, 0, t, hd, tile, ls, d, ld, 1, 100);
    rate("attention tile dQ = dS K", 0, 0, tile, hd, t, ls, ld, ld, 0, 100);
    return 0;
}
