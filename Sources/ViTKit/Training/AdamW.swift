/// AdamW exactly as torch.optim.AdamW computes it, over the whole flat parameter buffer in one loop:
///   p ← p·(1 − lr·wd);  m ← m + (1−β1)(g − m);  v ← β2·v + (1−β2)·g²
///   p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)
/// Weight decay is applied only where `ParameterInfo.decays` (ndim > 1, not a bias), as timm's param groups do.
public final class AdamW {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var step = 0
    public let m: AlignedBuffer, v: AlignedBuffer
    private let segments: [(range: Range<Int>, decays: Bool)]

    public init(table: ParameterTable, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0.01) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = AlignedBuffer(count: table.count); v = AlignedBuffer(count: table.count)
        segments = table.entries.map { ($0.offset..<($0.offset + $0.count), $0.decays) }
    }

    /// Restores the step count (when resuming).
    public func setStep(_ s: Int) { step = s }

    /// One update of `params` from `grads` at learning rate `lr`.
    public func update(_ pool: ThreadPool, params: AlignedBuffer, grads: AlignedBuffer, lr: Float) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.optimizer, timer) }
        step += 1
        let bc1 = 1 - Float(Double(beta1).power(step)), bc2 = 1 - Float(Double(beta2).power(step))
        let stepSize = lr / bc1, bc2Sqrt = bc2.squareRoot()
        let b1 = beta1, b2 = beta2, eps = eps, wd = weightDecay
        let p = params.pointer, g = grads.pointer, mp = m.pointer, vp = v.pointer
        let total = params.count
        pool.parallelFor(total, granule: 16) { chunk in
            for seg in segments {
                let lo = max(seg.range.lowerBound, chunk.lowerBound), hi = min(seg.range.upperBound, chunk.upperBound)
                if lo >= hi { continue }
                let decay = 1 - lr * (seg.decays ? wd : 0)
                for i in lo..<hi {
                    let gi = g[i]
                    let pi = p[i] * decay
                    let mi = mp[i] + (gi - mp[i]) * (1 - b1)
                    let vi = vp[i] * b2 + (1 - b2) * (gi * gi)
                    mp[i] = mi; vp[i] = vi
                    p[i] = pi - stepSize * (mi / (vi.squareRoot() / bc2Sqrt + eps))
                }
            }
        }
    }
}

extension Double {
    fileprivate func power(_ n: Int) -> Double { var r = 1.0; for _ in 0..<n { r *= self }; return r }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_).
/// Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ pool: ThreadPool, grads: AlignedBuffer, maxNorm: Float) -> Float {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.optimizer, timer) }
    let threads = pool.threadCount
    var partial = [Double](repeating: 0, count: 64)
    partial.withUnsafeMutableBufferPointer { part in
        let part = part.baseAddress!
        pool.run { t in
            let r = ThreadPool.chunk(grads.count, part: t, of: threads, granule: 16)
            part[t] = Kernels.sumOfSquares(grads.pointer + r.lowerBound, r.count)
        }
    }
    let norm = Float(partial.prefix(threads).reduce(0, +).squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        pool.parallelFor(grads.count, granule: 16) { r in Kernels.scale(grads.pointer + r.lowerBound, coef, r.count) }
    }
    return norm
}
