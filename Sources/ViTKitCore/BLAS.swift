#if canImport(Accelerate)
import Accelerate  // Apple platforms: BLAS and LAPACK from the system (untested here: see the README)
#else
import CBLAS  // elsewhere: OpenBLAS
#endif

/// Row-major single-precision GEMM through OpenBLAS (Accelerate on Apple platforms): `C = alpha * op(A) * op(B) + beta * C`.
package enum BLAS {
    /// Keeps the BLAS to one thread; ViTKit's ThreadPool does the parallel split itself.
    package static func setSingleThreaded() {
        #if canImport(Accelerate)
        // Accelerate has no portable switch before macOS 15; its GEMMs on the pool's small blocks stay on the caller
        #else
        openblas_set_num_threads(1)
        #endif
    }

    /// `C[M×N] = alpha * op(A)[M×K] * op(B)[K×N] + beta * C`, all row-major with leading dimensions.
    @inline(__always)
    package static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Double precision, dense row-major: `op(A)[M×K] · op(B)[K×N]` (for the inits' linear algebra).
    package static func dgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                              _ a: [Double], _ b: [Double]) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        if m == 0 || n == 0 { return c }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transA ? m : k), b, Int32(transB ? k : n), 0, &c, Int32(n))
        return c
    }
}

/// GEMM with the M rows of C split across the pool (each part a one-thread OpenBLAS call).
struct SplitGemm: ParallelRangeJob {
    let transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float
    let a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int
    let beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    var count: Int { m }
    var granule: Int { 16 }
    /// Each chunk packs all of B again: more chunks only when a chunk keeps 512 rows or more.
    var chunksPerThread: Int { chunks }
    let chunks: Int

    func run(_ rows: Range<Int>) {
        // row i of op(A) starts at a + i·lda (no transpose) or a + i (transposed)
        let aStart = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
        BLAS.gemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha, a: aStart, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
    }
}

extension ThreadPool {
    /// Chunks per thread for a GEMM split over `rows` rows of C: up to 4, each of at least 512 rows, since every
    /// chunk packs B again.
    package static func gemmChunks(rows: Int, threads: Int) -> Int { min(4, max(1, rows / (512 * threads))) }

    /// `C = alpha · op(A) op(B) + beta · C` with the rows of C split across the pool.
    package func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        run(SplitGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c, ldc: ldc, chunks: Self.gemmChunks(rows: m, threads: threadCount)))
    }
}
