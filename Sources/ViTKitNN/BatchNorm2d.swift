import ViTKitCore

/// BatchNorm2d on channels-last activations [rows × C] (rows = B·H·W), as `torch.nn.BatchNorm2d`:
/// training normalises with the batch's mean and biased variance and moves the running statistics by `momentum`
/// (the running variance with the unbiased batch variance); evaluation normalises with the running statistics.
///
/// Per-channel sums are made by each thread over its rows (in float over blocks of 64 rows, then in double) and
/// added in thread order: the result depends on the thread count only.
package enum BatchNorm2d {
    /// Scratch a layer call needs: `partials` doubles and `coefficients` floats.
    package static func partialsCount(threads: Int, channels: Int) -> Int { threads * 2 * channels }
    package static func coefficientsCount(channels: Int) -> Int { 3 * channels }

    /// The replicas of a synchronised BatchNorm (torch's `SyncBatchNorm`): `sum(values, count)` replaces the
    /// doubles with their sum over the replicas, each of which has the same number of rows. Forward, the channel
    /// sums become the whole batch's (mean and variance over replicas × rows); backward, the sums behind dx do
    /// too, while dw and db stay this replica's (the gradient all-reduce averages them as any other).
    package struct CrossReplica {
        package let replicas: Int
        package let sum: (UnsafeMutablePointer<Double>, Int) -> Void
        package init(replicas: Int, sum: @escaping (UnsafeMutablePointer<Double>, Int) -> Void) {
            self.replicas = replicas; self.sum = sum
        }
    }

    /// Training forward. out: [rows × C] = BN(inp) (+ residual when given); mean, rstd: [C] (written, for backward);
    /// runningMean, runningVar: [C] (updated); w, b: [C].
    package static func forwardTraining(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                       residual: UnsafePointer<Float>? = nil, w: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                       mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                                       runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
                                       rows: Int, channels c: Int, eps: Float, momentum: Float,
                                       partials: UnsafeMutablePointer<Double>, coefficients: UnsafeMutablePointer<Float>,
                                       sync: CrossReplica? = nil) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.batchNorm, timer) }
        let total = rows * (sync?.replicas ?? 1), n = Double(total)
        pool.run(ChannelSums(kind: .sum, x: inp, dy: nil, center: nil, partials: partials, rows: rows, channels: c))
        let sums = reduce(partials, threads: pool.threadCount, channels: c)
        sync?.sum(sums, c)
        for ch in 0..<c { mean[ch] = Float(sums[ch] / n) }
        pool.run(ChannelSums(kind: .squaredDeviation, x: inp, dy: nil, center: mean, partials: partials, rows: rows, channels: c))
        let sq = reduce(partials, threads: pool.threadCount, channels: c)
        sync?.sum(sq, c)
        let scale = coefficients, shift = coefficients + c
        for ch in 0..<c {
            let variance = sq[ch] / n
            rstd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
            runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean[ch]
            runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(total > 1 ? sq[ch] / (n - 1) : variance)
            scale[ch] = w[ch] * rstd[ch]
            shift[ch] = b[ch] - mean[ch] * scale[ch]
        }
        pool.run(Affine(out: out, x: inp, y: nil, residual: residual, multiplier: nil, a: scale, bx: nil, c: shift,
                        count: rows, channels: c))
    }

    /// Evaluation forward with the running statistics. out: [rows × C] (+ residual when given)
    package static func forwardEval(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                   residual: UnsafePointer<Float>? = nil, w: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                   runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>, rows: Int, channels c: Int,
                                   eps: Float, coefficients: UnsafeMutablePointer<Float>) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.batchNorm, timer) }
        let scale = coefficients, shift = coefficients + c
        for ch in 0..<c {
            scale[ch] = w[ch] / (runningVar[ch] + eps).squareRoot()
            shift[ch] = b[ch] - runningMean[ch] * scale[ch]
        }
        pool.run(Affine(out: out, x: inp, y: nil, residual: residual, multiplier: nil, a: scale, bx: nil, c: shift,
                        count: rows, channels: c))
    }

    /// Training backward. dinp: [rows × C] (written; times `multiplier` elementwise when given, which fuses the
    /// derivative of the activation before the norm); dw, db: [C] (written).
    ///   dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)),  x̂ = (x − μ)·rstd
    package static func backward(_ pool: ThreadPool, dinp: UnsafeMutablePointer<Float>, multiplier: UnsafePointer<Float>? = nil,
                                dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                w: UnsafePointer<Float>, rows: Int, channels c: Int,
                                partials: UnsafeMutablePointer<Double>, coefficients: UnsafeMutablePointer<Float>,
                                sync: CrossReplica? = nil) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.batchNorm, timer) }
        pool.run(ChannelSums(kind: .gradient, x: inp, dy: dout, center: mean, partials: partials, rows: rows, channels: c))
        let s = reduce(partials, threads: pool.threadCount, channels: c)
        for ch in 0..<c { db[ch] = Float(s[ch]); dw[ch] = Float(s[c + ch]) * rstd[ch] }
        sync?.sum(s, 2 * c)
        let n = Float(rows * (sync?.replicas ?? 1))
        let a = coefficients, bx = coefficients + c, cc = coefficients + 2 * c
        for ch in 0..<c {
            let sumDy = Float(s[ch]), sumDyXhat = Float(s[c + ch]) * rstd[ch]
            a[ch] = w[ch] * rstd[ch]
            bx[ch] = -a[ch] * rstd[ch] * sumDyXhat / n
            cc[ch] = -a[ch] * sumDy / n - bx[ch] * mean[ch]
        }
        pool.run(Affine(out: dinp, x: inp, y: dout, residual: nil, multiplier: multiplier, a: a, bx: bx, c: cc,
                        count: rows, channels: c))
    }

    /// Thread t's partial sums [2C] summed in thread order into thread 0's, which is returned.
    private static func reduce(_ partials: UnsafeMutablePointer<Double>, threads: Int, channels: Int) -> UnsafeMutablePointer<Double> {
        for t in 1..<max(threads, 1) {
            for i in 0..<(2 * channels) { partials[i] += partials[t * 2 * channels + i] }
        }
        return partials
    }

    /// Per thread, over its rows: Σx, Σ(x − center)², or (Σdy, Σdy·(x − center)).
    struct ChannelSums: ParallelJob {
        enum Kind { case sum, squaredDeviation, gradient }
        let kind: Kind
        let x: UnsafePointer<Float>, dy: UnsafePointer<Float>?, center: UnsafePointer<Float>?
        let partials: UnsafeMutablePointer<Double>, rows: Int, channels: Int

        func run(thread: Int, of threads: Int) {
            let c = channels, part = partials + thread * 2 * c
            part.update(repeating: 0, count: 2 * c)
            let rows = ThreadPool.chunk(self.rows, part: thread, of: threads)
            var ch = 0
            // 8 channels at a time, down all of this thread's rows in blocks of 64
            while ch < c {
                let lanes = min(8, c - ch)
                var lo = rows.lowerBound
                while lo < rows.upperBound {
                    let hi = min(lo + 64, rows.upperBound)
                    var s0 = F8(), s1 = F8()
                    if lanes == 8 {
                        let m = center.map { load8($0 + ch) } ?? F8()
                        for r in lo..<hi {
                            let v = load8(x + r * c + ch)
                            switch kind {
                            case .sum: s0 += v
                            case .squaredDeviation: let d = v - m; s0 = s0.addingProduct(d, d)
                            case .gradient: let g = load8(dy! + r * c + ch); s0 += g; s1 = s1.addingProduct(g, v - m)
                            }
                        }
                    } else {
                        for r in lo..<hi {
                            for l in 0..<lanes {
                                let v = x[r * c + ch + l], m = center?[ch + l] ?? 0
                                switch kind {
                                case .sum: s0[l] += v
                                case .squaredDeviation: s0[l] += (v - m) * (v - m)
                                case .gradient: let g = dy![r * c + ch + l]; s0[l] += g; s1[l] += g * (v - m)
                                }
                            }
                        }
                    }
                    for l in 0..<lanes { part[ch + l] += Double(s0[l]); part[c + ch + l] += Double(s1[l]) }
                    lo = hi
                }
                ch += 8
            }
        }
    }

    /// out = (y·a + x·bx + c) per channel (y·a term only with y, x·bx only with bx, x·a when there is no y),
    /// plus residual, times multiplier.
    struct Affine: ParallelRangeJob {
        let out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>?
        let residual: UnsafePointer<Float>?, multiplier: UnsafePointer<Float>?
        let a: UnsafePointer<Float>, bx: UnsafePointer<Float>?, c: UnsafePointer<Float>
        let count: Int, channels: Int
        var granule: Int { 4 }

        func run(_ rows: Range<Int>) {
            let nc = channels, vecEnd = nc / 8 * 8
            for r in rows {
                let base = r * nc
                var ch = 0
                while ch < vecEnd {
                    let i = base + ch
                    var v: F8
                    if let y {
                        v = load8(c + ch).addingProduct(load8(y + i), load8(a + ch))
                        v = v.addingProduct(load8(x + i), load8(bx! + ch))
                    } else {
                        v = load8(c + ch).addingProduct(load8(x + i), load8(a + ch))
                    }
                    if let residual { v += load8(residual + i) }
                    if let multiplier { v *= load8(multiplier + i) }
                    store8(out + i, v)
                    ch += 8
                }
                while ch < nc {
                    let i = base + ch
                    var v = y.map { c[ch] + $0[i] * a[ch] + x[i] * bx![ch] } ?? (c[ch] + x[i] * a[ch])
                    if let residual { v += residual[i] }
                    if let multiplier { v *= multiplier[i] }
                    out[i] = v
                    ch += 1
                }
            }
        }
    }
}
