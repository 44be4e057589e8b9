import Foundation

/// The machine's float32 FMA peak as this process sees it now: every pool thread runs independent chains of
/// SIMD8 fused multiply-adds (enough of them to cover the FMA latency on both pipes) for a fixed count, and the
/// operations done over the wall time are the rate. Run beside a benchmark, it turns "close to the limit" into a
/// share measured in the same machine state.
package enum PeakProbe {
    /// Float operations per second over `iterations` rounds per thread of 12 independent SIMD8 FMAs.
    package static func gflops(pool: ThreadPool, iterations: Int = 20_000_000) -> Double {
        let sink = AlignedBuffer(count: pool.threadCount * 8)
        let job = Job(iterations: iterations, sink: sink.pointer)
        pool.run(job)  // warm: the clocks ramp up and the threads wake
        let t0 = DispatchTime.now().uptimeNanoseconds
        pool.run(job)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return Double(pool.threadCount) * Double(iterations) * 12 * 8 * 2 / seconds / 1e9
    }

    struct Job: ParallelJob {
        let iterations: Int, sink: UnsafeMutablePointer<Float>

        func run(thread: Int, of threads: Int) {
            let m = SIMD8<Float>(repeating: 0.999_999), a = SIMD8<Float>(repeating: 1e-7)
            var c0 = SIMD8<Float>(repeating: 1), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3, c4 = c0 + 4, c5 = c0 + 5
            var c6 = c0 + 6, c7 = c0 + 7, c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11
            for _ in 0..<iterations {
                c0 = a.addingProduct(c0, m); c1 = a.addingProduct(c1, m); c2 = a.addingProduct(c2, m)
                c3 = a.addingProduct(c3, m); c4 = a.addingProduct(c4, m); c5 = a.addingProduct(c5, m)
                c6 = a.addingProduct(c6, m); c7 = a.addingProduct(c7, m); c8 = a.addingProduct(c8, m)
                c9 = a.addingProduct(c9, m); c10 = a.addingProduct(c10, m); c11 = a.addingProduct(c11, m)
            }
            let s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
            UnsafeMutableRawPointer(sink + thread * 8).storeBytes(of: s, as: SIMD8<Float>.self)
        }
    }
}
