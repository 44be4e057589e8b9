import ViTKitCore

/// Fully connected layer, `y = x Wᵀ + b` (PyTorch's nn.Linear layout: W is [out × in]).
package enum Linear {
    /// out: [rows × outF], inp: [rows × inF], w: [outF × inF], b: [outF] or nil
    package static func forward(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               w: UnsafePointer<Float>, b: UnsafePointer<Float>?, rows: Int, inF: Int, outF: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.linearForward, timer) }
        pool.run(Forward(out: out, inp: inp, w: w, b: b, count: rows, inF: inF, outF: outF, threads: pool.threadCount))
    }

    /// dinp: [rows × inF] (written, or skipped when nil), dw: [outF × inF] (written), db: [outF] (written)
    package static func backward(_ pool: ThreadPool, dinp: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>,
                                db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                                w: UnsafePointer<Float>, rows: Int, inF: Int, outF: Int) {
        if let dinp { backwardInput(pool, dinp: dinp, dout: dout, w: w, rows: rows, inF: inF, outF: outF) }
        backwardWeights(pool, dw: dw, db: db, dout: dout, inp: inp, rows: rows, inF: inF, outF: outF)
    }

    /// dinp = dout · W: [rows × inF]
    package static func backwardInput(_ pool: ThreadPool, dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                     w: UnsafePointer<Float>, rows: Int, inF: Int, outF: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.linearBackward, timer) }
        pool.gemm(m: rows, n: inF, k: outF, a: dout, lda: outF, b: w, ldb: inF, c: dinp, ldc: inF)
    }

    /// dw = doutᵀ · inp: [outF × inF], db = column sums of dout (both written)
    package static func backwardWeights(_ pool: ThreadPool, dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                                       dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, rows: Int, inF: Int, outF: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.linearBackward, timer) }
        pool.gemm(transA: true, m: outF, n: inF, k: rows, a: dout, lda: outF, b: inp, ldb: inF, c: dw, ldc: inF)
        if let db { Kernels.columnSums(pool, db, dout, rows: rows, cols: outF) }
    }

    /// Rows split across threads: a GEMM and the bias add on each part while it is in cache.
    struct Forward: ParallelRangeJob {
        let out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, w: UnsafePointer<Float>
        let b: UnsafePointer<Float>?, count: Int, inF: Int, outF: Int, threads: Int
        var granule: Int { 16 }
        var chunksPerThread: Int { ThreadPool.gemmChunks(rows: count, threads: threads) }

        func run(_ r: Range<Int>) {
            BLAS.gemm(transB: true, m: r.count, n: outF, k: inF, a: inp + r.lowerBound * inF, lda: inF,
                      b: w, ldb: inF, c: out + r.lowerBound * outF, ldc: outF)
            if let b { Kernels.addRowVector(out + r.lowerBound * outF, b, rows: r.count, cols: outF) }
        }
    }
}
